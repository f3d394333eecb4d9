//! Every receiver rule of RFC 6455 (DESIGN.md, "RFC 6455 receiver rules"),
//! each with its exact outcome: the event, or the error, the close code sent
//! and the state after.

mod support;
use support::*;
use wscore::{CloseCode, Config, Connection, DataKind, Error, Instant, ProtocolError, Role, State};

fn server() -> Connection {
    connection(Role::Server, Config::default())
}
fn client() -> Connection {
    connection(Role::Client, Config::default())
}

/// Feed `stream` to `conn`; assert it fails with `expected`, closes with the
/// mapped code, queues exactly that Close, and refuses further input.
fn assert_fails(mut conn: Connection, stream: &[u8], expected: ProtocolError) {
    let got = events(&mut conn, stream);
    assert_eq!(got.last(), Some(&Ev::Err(Error::Protocol(expected))), "{got:?}");
    let code = expected.close_code();
    assert_eq!(conn.state(), State::Closed(code));
    let sent = transmit(&mut conn);
    let frames = match conn.role() {
        Role::Server => server_frames(&sent),
        Role::Client => client_frames(&sent),
    };
    assert_eq!(close_code_of(&frames), Some(code.0), "queued close: {frames:?}");
    assert!(conn.close_expected());
    let mut more = from_client(0x81, b"x");
    assert_eq!(conn.read(&mut more, Instant(0)).unwrap_err(), Error::Closed);
}

#[test]
fn rsv_bits_without_extension_are_1002() {
    for rsv in 1..8u8 {
        assert_fails(
            server(),
            &from_client(0x81 | rsv << 4, b"x"),
            ProtocolError::ReservedBits(rsv),
        );
    }
}

#[test]
fn reserved_opcodes_are_1002() {
    for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        assert_fails(server(), &from_client(0x80 | op, b""), ProtocolError::ReservedOpcode(op));
    }
}

#[test]
fn fragmented_or_long_control_frames_are_1002() {
    for op in [0x08, 0x09, 0x0A] {
        assert_fails(server(), &from_client(op, b""), ProtocolError::FragmentedControlFrame);
        let long = vec![0u8; 126];
        assert_fails(server(), &from_client(0x80 | op, &long), ProtocolError::ControlFrameTooLong);
    }
    // 125 bytes is fine.
    let ping = vec![7u8; 125];
    assert_eq!(events(&mut server(), &from_client(0x89, &ping)), vec![Ev::Ping(ping)]);
}

#[test]
fn masking_is_required_of_clients_and_forbidden_to_servers() {
    assert_fails(server(), &raw_frame(0x81, b"hi", None), ProtocolError::UnmaskedFrame);
    assert_fails(client(), &raw_frame(0x81, b"hi", Some(KEY)), ProtocolError::MaskedFrame);
}

#[test]
fn length_with_top_bit_is_1002() {
    let header = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4];
    assert_fails(server(), &header, ProtocolError::LengthTopBitSet);
}

#[test]
fn frame_over_max_frame_payload_is_1009_from_the_header_alone() {
    let config = Config { max_frame_payload: 1000, ..Config::default() };
    // Only the header: 1001 bytes announced, none sent.
    let header = [0x82, 0xFE, 0x03, 0xE9, 1, 2, 3, 4];
    assert_fails(
        connection(Role::Server, config),
        &header,
        ProtocolError::FrameTooLarge { len: 1001, max: 1000 },
    );
    // Exactly the limit passes.
    let ok = from_client(0x82, &[0u8; 1000]);
    let got = merged(events(&mut connection(Role::Server, config), &ok));
    assert_eq!(got, vec![Ev::binary(&[0u8; 1000])]);
}

#[test]
fn message_over_max_message_size_is_1009_at_the_frame_that_crosses_it() {
    let config = Config { max_message_size: 10, ..Config::default() };
    let mut stream = from_client(0x01, b"12345");
    stream.extend(from_client(0x00, b"12345"));
    stream.extend(from_client(0x80, b"1")); // the 11th byte
    let mut conn = connection(Role::Server, config);
    let got = events(&mut conn, &stream);
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[2], Ev::Err(Error::Protocol(ProtocolError::MessageTooLarge { max: 10 })));
    assert_eq!(conn.state(), State::Closed(CloseCode::MESSAGE_TOO_BIG));
}

#[test]
fn continuation_without_message_is_1002() {
    assert_fails(server(), &from_client(0x80, b"x"), ProtocolError::UnexpectedContinuation);
}

#[test]
fn new_message_inside_fragmented_message_is_1002() {
    for op in [0x81, 0x82, 0x01, 0x02] {
        let stream = [from_client(0x01, b"ab"), from_client(op, b"cd")].concat();
        assert_fails(server(), &stream, ProtocolError::ExpectedContinuation);
    }
}

#[test]
fn invalid_utf8_fails_at_the_first_bad_byte_before_the_frame_ends() {
    // A 100-byte text frame of which only "ab\xFF" has arrived.
    let frame = from_client(0x81, &[&b"ab\xFF"[..], &[b'c'; 97]].concat());
    let partial = &frame[..2 + 4 + 3];
    assert_fails(server(), partial, ProtocolError::InvalidUtf8);
    // Fragmented: the bad byte is in the first fragment, the message unfinished.
    assert_fails(server(), &from_client(0x01, b"ok\xC0"), ProtocolError::InvalidUtf8);
    // A message that ends inside a code point.
    let stream = [from_client(0x01, b"\xE2\x82"), from_client(0x80, b"")].concat();
    assert_fails(server(), &stream, ProtocolError::InvalidUtf8);
}

#[test]
fn binary_is_not_utf8_checked() {
    assert_eq!(
        events(&mut server(), &from_client(0x82, b"\xFF\xFE")),
        vec![Ev::binary(b"\xFF\xFE")]
    );
}

#[test]
fn control_frames_between_fragments() {
    let stream = [
        from_client(0x01, b"He"),
        from_client(0x89, b"p1"),
        from_client(0x00, b"ll"),
        from_client(0x8A, b"p2"),
        from_client(0x80, b"o"),
        from_client(0x88, &[0x03, 0xE8]),
    ]
    .concat();
    let mut conn = server();
    let got = events(&mut conn, &stream);
    let text = |p: &[u8], fin| Ev::Data { kind: DataKind::Text, payload: p.to_vec(), fin };
    assert_eq!(
        got,
        vec![
            text(b"He", false),
            Ev::Ping(b"p1".to_vec()),
            text(b"ll", false),
            Ev::Pong(b"p2".to_vec()),
            text(b"o", true),
            Ev::close(1000, ""),
        ]
    );
    // Pong for p1, then the close reply echoing 1000.
    let sent = server_frames(&transmit(&mut conn));
    assert_eq!(sent, vec![Ev::Pong(b"p1".to_vec()), Ev::close(1000, "")]);
}

#[test]
fn control_payload_split_across_reads_is_buffered() {
    let frame = from_client(0x89, b"heartbeat-123");
    for sizes in [&[1usize][..], &[2, 3], &[7, 100]] {
        assert_eq!(
            events_chunked(&mut server(), &frame, sizes),
            vec![Ev::Ping(b"heartbeat-123".to_vec())]
        );
    }
}

#[test]
fn close_with_one_byte_payload_is_1002() {
    assert_fails(server(), &from_client(0x88, &[0x03]), ProtocolError::ClosePayloadTooShort);
}

#[test]
fn close_codes_not_allowed_on_the_wire_are_1002() {
    let invalid = [0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
    for code in invalid {
        let stream = from_client(0x88, &code.to_be_bytes());
        assert_fails(server(), &stream, ProtocolError::InvalidCloseCode(code));
    }
    for code in
        [1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999]
    {
        let got = events(&mut server(), &from_client(0x88, &code.to_be_bytes()));
        assert_eq!(got, vec![Ev::close(code, "")]);
    }
}

#[test]
fn close_reason_must_be_utf8() {
    assert_fails(
        server(),
        &from_client(0x88, b"\x03\xE8bad \xFF"),
        ProtocolError::InvalidCloseReason,
    );
}

#[test]
fn close_is_answered_with_the_same_code_then_closed() {
    let mut conn = server();
    let got = events(&mut conn, &from_client(0x88, b"\x0F\xA0going"));
    assert_eq!(got, vec![Ev::close(4000, "going")]);
    assert_eq!(conn.state(), State::Closed(CloseCode(4000)));
    assert!(!conn.close_expected(), "the reply is not flushed yet");
    let reply = transmit(&mut conn);
    assert_eq!(reply, [0x88, 0x02, 0x0F, 0xA0]);
    assert!(conn.close_expected(), "the server closes TCP first");
    // An empty Close is answered with an empty Close.
    let mut conn = server();
    assert_eq!(events(&mut conn, &from_client(0x88, b"")), vec![Ev::Close(None)]);
    assert_eq!(conn.state(), State::Closed(CloseCode::NO_STATUS));
    assert_eq!(transmit(&mut conn), [0x88, 0x00]);
}

#[test]
fn bytes_behind_the_peers_close_are_dropped_and_the_reply_still_goes_out() {
    // Autobahn 7.1.2-7.1.5: a Close and another frame in one segment.
    let mut conn = server();
    let stream =
        [from_client(0x88, b"\x03\xE8"), from_client(0x81, b"late"), from_client(0x88, b"")]
            .concat();
    let mut input = stream.clone();
    let d = conn.read(&mut input, Instant(0)).unwrap();
    let consumed = d.consumed;
    assert_eq!(d.event.map(owned), Some(Ev::close(1000, "")));
    let mut rest = input[consumed..].to_vec();
    let rest_len = rest.len();
    let d = conn.read(&mut rest, Instant(0)).unwrap();
    assert_eq!((d.consumed, d.event), (rest_len, None));
    assert_eq!(transmit(&mut conn), [0x88, 0x02, 0x03, 0xE8]);
    assert!(conn.close_expected());
}

#[test]
fn after_a_failure_further_input_is_refused() {
    let mut conn = server();
    events(&mut conn, &from_client(0x83, b""));
    let mut more = from_client(0x81, b"x");
    assert_eq!(conn.read(&mut more, Instant(0)).unwrap_err(), Error::Closed);
    assert!(conn.read(&mut [], Instant(0)).unwrap().event.is_none());
}

#[test]
fn a_close_inside_a_fragmented_message_ends_it() {
    let mut conn = server();
    let stream = [from_client(0x01, b"half"), from_client(0x88, b"\x03\xE9")].concat();
    let got = events(&mut conn, &stream);
    assert_eq!(got[1], Ev::close(1001, ""));
    assert_eq!(server_frames(&transmit(&mut conn)), vec![Ev::close(1001, "")]);
}

#[test]
fn utf8_fails_fast_across_a_frame_boundary() {
    // "a" F4 | 90: no code point starts F4 90, so the second frame fails
    // before the message ends.
    let stream = [from_client(0x01, b"a\xF4"), from_client(0x00, b"\x90zzz")].concat();
    let got = events(&mut server(), &stream);
    assert_eq!(got.last(), Some(&Ev::Err(Error::Protocol(ProtocolError::InvalidUtf8))));
}

#[test]
fn eof_while_closing_is_abnormal_and_drops_what_was_queued() {
    let mut conn = server();
    encode(&mut conn, wscore::Outgoing::Close(None)).unwrap();
    assert_eq!(conn.read_eof(), Err(Error::UnexpectedEof));
    assert_eq!(conn.state(), State::Closed(CloseCode::ABNORMAL));
    // A failure's Close cannot be sent once the transport is gone.
    let mut conn = server();
    events(&mut conn, &from_client(0x83, b""));
    assert!(!conn.close_expected(), "the 1002 Close waits to be sent");
    assert_eq!(conn.read_eof(), Ok(()));
    assert!(conn.close_expected());
    assert!(transmit(&mut conn).is_empty());
}

#[test]
fn after_sending_close_data_is_dropped_but_the_close_is_seen() {
    let mut conn = client();
    encode(&mut conn, wscore::Outgoing::Close(Some(wscore::CloseFrame::new(NORMAL)))).unwrap();
    assert_eq!(conn.state(), State::Closing);
    let stream = [
        raw_frame(0x81, b"dropped", None),
        raw_frame(0x89, b"dropped ping", None),
        raw_frame(0x88, &[0x03, 0xE8], None),
    ]
    .concat();
    assert_eq!(events(&mut conn, &stream), vec![Ev::close(1000, "")]);
    assert_eq!(conn.state(), State::Closed(NORMAL));
    assert!(transmit(&mut conn).is_empty(), "no second Close, no Pong after Close");
    // The client waits for the server to close TCP.
    assert!(!conn.close_expected());
    conn.read_eof().unwrap();
    assert!(conn.close_expected());
}

#[test]
fn each_ping_gets_its_pong_when_output_is_flushed_after_each_event() {
    // Autobahn 2.10: ten Pings in one segment, ten Pongs expected.
    let mut conn = server();
    let stream: Vec<u8> =
        (0..10).flat_map(|i| from_client(0x89, format!("payload-{i}").as_bytes())).collect();
    let mut input = stream;
    let mut pongs = Vec::new();
    loop {
        let d = conn.read(&mut input, Instant(0)).unwrap();
        let (consumed, got) = (d.consumed, d.event.is_some());
        input.drain(..consumed);
        pongs.extend(server_frames(&transmit(&mut conn)));
        if !got {
            break;
        }
    }
    let expected: Vec<Ev> =
        (0..10).map(|i| Ev::Pong(format!("payload-{i}").into_bytes())).collect();
    assert_eq!(pongs, expected);
}

#[test]
fn pings_read_without_a_flush_between_get_one_pong_for_the_latest() {
    let mut conn = server();
    let stream =
        [from_client(0x89, b"one"), from_client(0x89, b"two"), from_client(0x89, b"three")]
            .concat();
    assert_eq!(events(&mut conn, &stream).len(), 3);
    assert_eq!(server_frames(&transmit(&mut conn)), vec![Ev::Pong(b"three".to_vec())]);
}

#[test]
fn auto_pong_can_be_turned_off() {
    let mut conn = connection(Role::Server, Config { auto_pong: false, ..Config::default() });
    assert_eq!(events(&mut conn, &from_client(0x89, b"p")), vec![Ev::Ping(b"p".to_vec())]);
    assert!(transmit(&mut conn).is_empty());
}

#[test]
fn unsolicited_pong_is_fine() {
    let mut conn = server();
    assert_eq!(events(&mut conn, &from_client(0x8A, b"hb")), vec![Ev::Pong(b"hb".to_vec())]);
    assert_eq!(conn.state(), State::Open);
    assert!(transmit(&mut conn).is_empty());
}

#[test]
fn eof_before_close_is_abnormal() {
    let mut conn = server();
    events(&mut conn, &from_client(0x01, b"half a mess"));
    assert_eq!(conn.read_eof(), Err(Error::UnexpectedEof));
    assert_eq!(conn.state(), State::Closed(CloseCode::ABNORMAL));
    assert!(conn.close_expected());
    assert!(transmit(&mut conn).is_empty());
}

#[test]
fn empty_messages_give_one_empty_final_piece() {
    let stream = [from_client(0x81, b""), from_client(0x02, b""), from_client(0x80, b"")].concat();
    assert_eq!(events(&mut server(), &stream), vec![Ev::text(""), Ev::binary(b"")]);
}

#[test]
fn a_header_split_anywhere_consumes_nothing_until_whole() {
    let frame = from_client(0x82, &[9u8; 300]);
    let mut conn = server();
    for cut in 0..8 {
        let mut partial = frame[..cut].to_vec();
        let d = conn.read(&mut partial, Instant(0)).unwrap();
        assert_eq!((d.consumed, d.event), (0, None), "cut {cut}");
    }
}
