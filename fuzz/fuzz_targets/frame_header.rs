//! Frame header parsing: never panics; a parsed header re-encodes to a
//! header that parses back to itself, and never claims more bytes than given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscore::frame::{FrameHeader, Parsed, MAX_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    match FrameHeader::parse(data) {
        Ok(Parsed::Complete(header, len)) => {
            assert!(len <= data.len() && len <= MAX_HEADER_LEN);
            let mut out = [0u8; MAX_HEADER_LEN];
            let n = header.encode(&mut out).expect("14 bytes hold any header");
            assert!(n <= len, "the encoder uses the shortest length form");
            assert_eq!(FrameHeader::parse(&out[..n]), Ok(Parsed::Complete(header, n)));
        }
        Ok(Parsed::Incomplete { needed }) => {
            assert!(needed > 0 && data.len() + needed <= MAX_HEADER_LEN)
        }
        Err(e) => assert_eq!(e.close_code().0, 1002),
    }
});
