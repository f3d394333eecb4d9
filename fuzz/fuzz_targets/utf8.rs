//! The incremental UTF-8 validator against `core::str::from_utf8`, over any
//! split of any bytes; an error is reported no later than the piece that
//! holds the first invalid byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscore::utf8::Utf8Validator;

fuzz_target!(|input: (Vec<u8>, &[u8])| {
    let (cuts, data) = input;
    let expected = core::str::from_utf8(data);
    // The end of the valid prefix, past which no valid text can follow.
    let bad_at = match expected {
        Ok(_) => None,
        Err(e) => e.error_len().map(|len| e.valid_up_to() + len),
    };
    let mut v = Utf8Validator::new();
    let mut start = 0;
    let mut failed_at = None;
    for &cut in cuts.iter().chain(core::iter::once(&255)) {
        let end = (start + usize::from(cut)).min(data.len());
        if v.feed(&data[start..end]).is_err() {
            failed_at = Some(end);
            break;
        }
        start = end;
        if start == data.len() {
            break;
        }
    }
    // Whatever is left goes in one piece.
    if failed_at.is_none() && start < data.len() && v.feed(&data[start..]).is_err() {
        failed_at = Some(data.len());
    }
    let result = match failed_at {
        Some(_) => Err(()),
        None => v.finish().map_err(|_| ()),
    };
    assert_eq!(result.is_ok(), expected.is_ok());
    if let (Some(failed), Some(bad)) = (failed_at, bad_at) {
        assert!(failed >= bad, "failed at {failed} before the bad byte ending at {bad}");
    }
});
