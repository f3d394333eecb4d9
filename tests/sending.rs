//! What the encoder writes, and what RFC 6455 forbids a sender to do:
//! errors, never panics, and a failed call changes nothing.

mod support;
use support::*;
use wscore::{CloseCode, CloseFrame, Config, Connection, DataKind, Error, Outgoing, Role, State};

fn server() -> Connection {
    connection(Role::Server, Config::default())
}
fn client() -> Connection {
    connection(Role::Client, Config::default())
}

#[test]
fn control_payloads_over_125_bytes_are_refused() {
    let long = [0u8; 126];
    for frame in [Outgoing::Ping(&long), Outgoing::Pong(&long)] {
        assert_eq!(encode(&mut server(), frame), Err(Error::ControlPayloadTooLong { len: 126 }));
    }
    let reason = "r".repeat(124);
    let close = Outgoing::Close(Some(CloseFrame { code: NORMAL, reason: &reason }));
    assert_eq!(encode(&mut server(), close), Err(Error::ControlPayloadTooLong { len: 126 }));
    let reason = "r".repeat(123);
    let close = Outgoing::Close(Some(CloseFrame { code: NORMAL, reason: &reason }));
    assert_eq!(
        server_frames(&encode(&mut server(), close).unwrap()),
        vec![Ev::close(1000, &reason)]
    );
}

#[test]
fn close_codes_that_may_not_be_sent_are_refused() {
    for code in [0u16, 1004, 1005, 1006, 1015, 2000, 5000] {
        let mut conn = server();
        let close = Outgoing::Close(Some(CloseFrame::new(CloseCode(code))));
        assert_eq!(encode(&mut conn, close), Err(Error::InvalidCloseCode(code)));
        assert_eq!(conn.state(), State::Open);
    }
}

#[test]
fn nothing_but_nothing_after_close() {
    let mut conn = client();
    let close = encode(
        &mut conn,
        Outgoing::Close(Some(CloseFrame { code: CloseCode(4001), reason: "bye" })),
    );
    assert_eq!(client_frames(&close.unwrap()), vec![Ev::close(4001, "bye")]);
    assert_eq!(encode(&mut conn, Outgoing::Text("late")), Err(Error::CloseSent));
    assert_eq!(encode(&mut conn, Outgoing::Ping(b"")), Err(Error::CloseSent));
    assert_eq!(encode(&mut conn, Outgoing::Close(None)), Err(Error::CloseSent));
}

#[test]
fn fragment_rules() {
    let mut conn = server();
    let open = Outgoing::Fragment { kind: DataKind::Binary, payload: b"a", fin: false };
    assert_eq!(encode(&mut conn, open).unwrap()[0], 0x02);
    assert_eq!(encode(&mut conn, Outgoing::Text("whole")), Err(Error::MessageInProgress));
    let wrong = Outgoing::Fragment { kind: DataKind::Text, payload: b"b", fin: true };
    assert_eq!(
        encode(&mut conn, wrong),
        Err(Error::FragmentKindMismatch { open: DataKind::Binary })
    );
    // Control frames may go between fragments.
    assert_eq!(encode(&mut conn, Outgoing::Ping(b"p")).unwrap()[0], 0x89);
    let more = Outgoing::Fragment { kind: DataKind::Binary, payload: b"b", fin: false };
    assert_eq!(encode(&mut conn, more).unwrap()[0], 0x00);
    let last = Outgoing::Fragment { kind: DataKind::Binary, payload: b"c", fin: true };
    assert_eq!(encode(&mut conn, last).unwrap()[0], 0x80);
    assert_eq!(encode(&mut conn, Outgoing::Binary(b"next")).unwrap()[0], 0x82);
}

#[test]
fn text_fragments_may_split_a_code_point_but_must_be_utf8() {
    let euro = "€".as_bytes();
    let mut conn = server();
    let first = encode(
        &mut conn,
        Outgoing::Fragment { kind: DataKind::Text, payload: &euro[..1], fin: false },
    );
    let last = encode(
        &mut conn,
        Outgoing::Fragment { kind: DataKind::Text, payload: &euro[1..], fin: true },
    );
    let got = merged(server_frames(&[first.unwrap(), last.unwrap()].concat()));
    assert_eq!(got, vec![Ev::text("€")]);

    let mut conn = server();
    let bad = Outgoing::Fragment { kind: DataKind::Text, payload: b"\xFF", fin: false };
    assert_eq!(encode(&mut conn, bad), Err(Error::InvalidUtf8));
    let unfinished = Outgoing::Fragment { kind: DataKind::Text, payload: &euro[..2], fin: true };
    assert_eq!(encode(&mut conn, unfinished), Err(Error::InvalidUtf8));
    // Failed calls opened nothing: a whole message may still be sent.
    assert!(encode(&mut conn, Outgoing::Text("ok")).is_ok());
}

#[test]
fn too_small_a_buffer_says_how_much_and_changes_nothing() {
    let mut conn = client();
    let mut out = [0xEEu8; 10];
    let frag = Outgoing::Fragment { kind: DataKind::Text, payload: b"hello", fin: false };
    assert_eq!(conn.encode(frag, &mut out), Err(Error::BufferTooSmall { needed: 11 }));
    assert_eq!(out, [0xEE; 10]);
    // The fragment did not open a message.
    assert!(encode(&mut conn, Outgoing::Binary(b"x")).is_ok());
    let mut out = [0u8; 5];
    let mut conn = server();
    events(&mut conn, &from_client(0x89, b"ping!"));
    assert_eq!(conn.poll_transmit(&mut out), Err(Error::BufferTooSmall { needed: 7 }));
    assert_eq!(server_frames(&transmit(&mut conn)), vec![Ev::Pong(b"ping!".to_vec())]);
}

#[test]
fn client_masks_every_frame_with_a_fresh_key() {
    let mut conn = client();
    let keys: std::collections::HashSet<[u8; 4]> = (0..200)
        .map(|_| {
            let bytes = encode(&mut conn, Outgoing::Binary(b"same payload")).unwrap();
            assert_eq!(bytes[1] & 0x80, 0x80);
            [bytes[2], bytes[3], bytes[4], bytes[5]]
        })
        .collect();
    assert!(keys.len() >= 199, "mask keys repeat: {} distinct of 200", keys.len());
}

#[test]
fn header_only_encoding_for_large_payloads() {
    for role in [Role::Client, Role::Server] {
        let mut conn = connection(role, Config::default());
        let payload: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
        let header =
            conn.sender().encode_header(DataKind::Binary, payload.len() as u64, true).unwrap();
        let mut wire = header.as_bytes().to_vec();
        for chunk in payload.chunks(4093) {
            let mut piece = chunk.to_vec();
            conn.sender().mask_payload(&mut piece).unwrap();
            wire.extend_from_slice(&piece);
        }
        let got = match role {
            Role::Client => client_frames(&wire),
            Role::Server => server_frames(&wire),
        };
        assert_eq!(merged(got), vec![Ev::binary(&payload)]);
    }
}

#[test]
fn whole_round_trip_at_the_length_boundaries() {
    for len in [0usize, 1, 125, 126, 127, 65535, 65536, 70000] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let mut out = vec![0u8; len + 14];
        let n = client().encode(Outgoing::Binary(&data), &mut out).unwrap();
        let header = match len {
            0..=125 => 2,
            126..=65535 => 4,
            _ => 10,
        };
        assert_eq!(n, header + 4 + len);
        assert_eq!(merged(client_frames(&out[..n])), vec![Ev::binary(&data)]);
    }
}

#[test]
fn header_only_encoding_refuses_lengths_a_frame_cannot_carry() {
    let mut conn = server();
    assert_eq!(
        conn.sender().encode_header(DataKind::Binary, 1 << 63, true).err(),
        Some(Error::PayloadTooLong { len: 1 << 63 })
    );
    assert!(conn.sender().encode_header(DataKind::Binary, (1 << 63) - 1, true).is_ok());
}

#[test]
fn header_only_text_pieces_do_not_confuse_the_utf8_check() {
    let mut conn = server();
    let first = encode(
        &mut conn,
        Outgoing::Fragment { kind: DataKind::Text, payload: b"\xE2", fin: false },
    )
    .unwrap();
    let header = conn.sender().encode_header(DataKind::Text, 2, false).unwrap();
    conn.sender().payload_sent(2).unwrap(); // the server's payload goes out as it is
    let last =
        encode(&mut conn, Outgoing::Fragment { kind: DataKind::Text, payload: b"a", fin: true })
            .unwrap();
    let wire = [first, header.as_bytes().to_vec(), b"\x82\xAC".to_vec(), last].concat();
    assert_eq!(merged(server_frames(&wire)), vec![Ev::text("€a")]);
    // The next message is checked again.
    let bad = Outgoing::Fragment { kind: DataKind::Text, payload: b"\xFF", fin: true };
    assert_eq!(encode(&mut conn, bad), Err(Error::InvalidUtf8));
}
