//! A connection in either role, with or without permessage-deflate, fed
//! arbitrary bytes, split where the input says: never panics, consumes no
//! more than it is given, reports the same data whatever the split, and
//! after an error queues exactly one Close with the error's code and refuses
//! further input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscore::deflate::{DeflateConfig, DeflateParams};
use wscore::{Config, Connection, Error, Event, Instant, Role};

/// Data bytes and the last error, from feeding `stream` in pieces whose
/// sizes come from `cuts` (cycled).
fn run(
    role: Role,
    config: Config,
    deflate: Option<DeflateParams>,
    stream: &[u8],
    cuts: &[u8],
) -> (Vec<u8>, Vec<u8>, Option<Error>) {
    let mut conn = Connection::with_seed(role, config, [7; 32]);
    if let Some(params) = deflate {
        conn.enable_deflate(params);
    }
    let mut buf = Vec::new();
    let mut data = Vec::new();
    let mut controls = Vec::new();
    let mut rest = stream;
    let mut cut = cuts.iter().cycle();
    while !rest.is_empty() {
        let n = usize::from(*cut.next().unwrap_or(&255)).clamp(1, rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            let len = buf.len();
            match conn.read(&mut buf, Instant(0)) {
                Ok(d) => {
                    assert!(d.consumed <= len);
                    let consumed = d.consumed;
                    let more = d.event.is_some();
                    match d.event {
                        Some(Event::Data { payload, .. }) => data.extend_from_slice(payload),
                        Some(Event::Ping(p) | Event::Pong(p)) => controls.extend_from_slice(p),
                        _ => {}
                    }
                    buf.drain(..consumed);
                    if !more {
                        break;
                    }
                }
                Err(e) => {
                    check_failed(&mut conn, e);
                    return (data, controls, Some(e));
                }
            }
        }
    }
    (data, controls, None)
}

fn check_failed(conn: &mut Connection, e: Error) {
    let mut out = [0u8; 256];
    let mut closes = 0;
    while let Some(n) = conn.poll_transmit(&mut out).expect("256 bytes hold a control frame") {
        if out[0] & 0x0F == 0x8 {
            closes += 1;
            if let Error::Protocol(p) = e {
                let at = if out[1] & 0x80 != 0 { 6 } else { 2 }; // masked client frames
                let mut code = [out[at], out[at + 1]];
                if at == 6 {
                    for (i, b) in code.iter_mut().enumerate() {
                        *b ^= out[2 + i];
                    }
                }
                assert_eq!(u16::from_be_bytes(code), p.close_code().0);
            }
        }
        assert!(n <= 133);
    }
    assert!(closes <= 1);
    let mut more = [0x81u8, 0x80, 0, 0, 0, 0];
    assert_eq!(conn.read(&mut more, Instant(0)).unwrap_err(), Error::Closed);
}

fuzz_target!(|input: &[u8]| {
    let Some((&control, rest)) = input.split_first() else { return };
    let role = if control & 1 == 0 { Role::Server } else { Role::Client };
    // A small inflate buffer, so that large outputs come in several pieces.
    let deflate_config = DeflateConfig { inflate_buffer: 1024, ..DeflateConfig::default() };
    let config = Config {
        max_frame_payload: 1 << 12,
        max_message_size: 1 << 14,
        deflate: Some(deflate_config),
        ..Config::default()
    };
    let deflate = (control & 2 != 0).then_some(DeflateParams::default());
    // The first up-to-8 bytes after the control byte choose the split sizes.
    let (cuts, stream) = rest.split_at(rest.len().min(usize::from(control >> 5) + 1));
    let (data, controls, err) = run(role, config, deflate, stream, cuts);
    let (whole_data, whole_controls, whole_err) = run(role, config, deflate, stream, &[255]);
    // Splitting changes neither the outcome nor the control frames seen.
    // (Inflating, which error comes first can depend on the split: the
    // inflater loses output still inside it when it meets corrupt data.)
    match deflate {
        None => assert_eq!(err, whole_err),
        Some(_) => assert_eq!(err.is_some(), whole_err.is_some()),
    }
    assert_eq!(controls, whole_controls);
    // Data is the same. On an error, each run hands out the valid data up to
    // the piece holding the bad byte, which depends on the split: one run's
    // data is then a prefix of the other's, never different bytes.
    match err {
        None => assert_eq!(data, whole_data),
        Some(_) => assert!(
            data.starts_with(&whole_data) || whole_data.starts_with(&data),
            "{data:?} vs {whole_data:?}"
        ),
    }
});
