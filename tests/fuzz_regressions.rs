//! Inputs the fuzzers found, kept as regression tests.

use wscore::{Config, Connection, Error, Event, Instant, ProtocolError, Role};

/// Feed `stream` to a client in pieces of the given sizes (cycled); return
/// the data handed out and how it ended.
fn run(stream: &[u8], sizes: &[usize]) -> (Vec<u8>, Option<Error>) {
    let config =
        Config { max_frame_payload: 1 << 12, max_message_size: 1 << 14, ..Config::default() };
    let mut conn = Connection::with_seed(Role::Client, config, [7; 32]);
    let (mut buf, mut data) = (Vec::new(), Vec::new());
    let mut rest = stream;
    let mut size = sizes.iter().cycle();
    while !rest.is_empty() {
        let n = (*size.next().unwrap()).clamp(1, rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            match conn.read(&mut buf, Instant(0)) {
                Ok(d) => {
                    let (consumed, more) = (d.consumed, d.event.is_some());
                    if let Some(Event::Data { payload, .. }) = d.event {
                        data.extend_from_slice(payload);
                    }
                    buf.drain(..consumed);
                    if !more {
                        break;
                    }
                }
                Err(e) => return (data, Some(e)),
            }
        }
    }
    (data, None)
}

/// The `connection` fuzzer's first find (a harness bug, not a library one):
/// a text message of zeros whose UTF-8 breaks a few bytes later. How much of
/// the valid part is handed out before the error depends on where the input
/// is split; what is handed out is always the same bytes.
#[test]
fn valid_data_before_a_utf8_error_depends_only_on_the_split() {
    let input = include_bytes!("fuzz_regressions/connection_split_utf8_error.bin");
    let stream = &input[3..]; // the fuzzer's control and split bytes come first
    let (split, split_err) = run(stream, &[13, 1]);
    let (whole, whole_err) = run(stream, &[255]);
    let utf8 = Some(Error::Protocol(ProtocolError::InvalidUtf8));
    assert_eq!((&split_err, &whole_err), (&utf8, &utf8));
    assert_eq!((split.len(), whole.len()), (44, 47));
    assert!(whole.starts_with(&split) && split.iter().all(|&b| b == 0));
}
