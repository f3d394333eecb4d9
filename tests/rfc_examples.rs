//! RFC 6455 section 5.7's byte-exact examples, read and written.

mod support;
use support::*;
use wscore::frame::{FrameHeader, OpCode};
use wscore::{Config, Connection, DataKind, Outgoing, Role};

const HELLO_UNMASKED: [u8; 7] = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
const HELLO_MASKED: [u8; 11] = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];

fn client() -> Connection {
    connection(Role::Client, Config::default())
}
fn server() -> Connection {
    connection(Role::Server, Config::default())
}

#[test]
fn single_frame_unmasked_text() {
    assert_eq!(events(&mut client(), &HELLO_UNMASKED), vec![Ev::text("Hello")]);
    assert_eq!(encode(&mut server(), Outgoing::Text("Hello")).unwrap(), HELLO_UNMASKED);
}

#[test]
fn single_frame_masked_text() {
    assert_eq!(events(&mut server(), &HELLO_MASKED), vec![Ev::text("Hello")]);
    // The same bytes from the header encoder and the mask kernel.
    let header =
        FrameHeader { fin: true, rsv: 0, opcode: OpCode::Text, mask: Some(KEY), payload_len: 5 };
    let mut out = [0u8; 11];
    let n = header.encode(&mut out).unwrap();
    out[n..].copy_from_slice(b"Hello");
    wscore::mask::apply_mask(&mut out[n..], KEY, 0);
    assert_eq!(out, HELLO_MASKED);
}

#[test]
fn client_encoding_is_masked_hello() {
    let bytes = encode(&mut client(), Outgoing::Text("Hello")).unwrap();
    assert_eq!(bytes.len(), 11);
    assert_eq!(&bytes[..2], &[0x81, 0x85]);
    assert_eq!(client_frames(&bytes), vec![Ev::text("Hello")]);
}

#[test]
fn fragmented_unmasked_text() {
    let stream = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
    let got = events(&mut client(), &stream);
    assert_eq!(
        got,
        vec![
            Ev::Data { kind: DataKind::Text, payload: b"Hel".to_vec(), fin: false },
            Ev::Data { kind: DataKind::Text, payload: b"lo".to_vec(), fin: true },
        ]
    );
    let mut s = server();
    let first =
        encode(&mut s, Outgoing::Fragment { kind: DataKind::Text, payload: b"Hel", fin: false });
    let last =
        encode(&mut s, Outgoing::Fragment { kind: DataKind::Text, payload: b"lo", fin: true });
    assert_eq!([first.unwrap(), last.unwrap()].concat(), stream);
}

#[test]
fn unmasked_ping_and_masked_pong() {
    let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let mut c = client();
    assert_eq!(events(&mut c, &ping), vec![Ev::Ping(b"Hello".to_vec())]);
    // The automatic reply is a masked Pong with the same payload.
    let pong = transmit(&mut c);
    assert_eq!(&pong[..2], &[0x8a, 0x85]);
    assert_eq!(client_frames(&pong), vec![Ev::Pong(b"Hello".to_vec())]);
    assert_eq!(encode(&mut server(), Outgoing::Ping(b"Hello")).unwrap(), ping);
    let masked_pong = [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    assert_eq!(events(&mut server(), &masked_pong), vec![Ev::Pong(b"Hello".to_vec())]);
}

#[test]
fn binary_256_bytes_and_64_kib() {
    let data: Vec<u8> = (0..65536u32).map(|i| (i % 251) as u8).collect();
    let small = [&[0x82, 0x7E, 0x01, 0x00][..], &data[..256]].concat();
    assert_eq!(merged(events(&mut client(), &small)), vec![Ev::binary(&data[..256])]);
    assert_eq!(encode(&mut server(), Outgoing::Binary(&data[..256])).unwrap(), small);

    let big = [&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0][..], &data[..]].concat();
    assert_eq!(merged(events(&mut client(), &big)), vec![Ev::binary(&data)]);
    let mut out = vec![0u8; 65546];
    let n = server().encode(Outgoing::Binary(&data), &mut out).unwrap();
    assert_eq!(&out[..n], &big[..]);
}
