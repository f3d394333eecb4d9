//! The seam between the core and whoever drives it: a reply encoded while
//! the event is held (plain and inflated payloads), whole frames up to a
//! caller's limit, streamed payloads accounted, and a Close's timer counted
//! from the next clock reading.

mod support;

use proptest::prelude::*;
use support::*;
use wscore::{
    CloseCode, CloseFrame, Config, DataKind, Decoded, Error, Event, Instant, Outgoing, Role, State,
};

/// Echo every data piece of `input` through the sender lent beside it.
fn echo_all(conn: &mut wscore::Connection, input: &mut Vec<u8>) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut out = vec![0u8; 1 << 16];
    loop {
        let Decoded { consumed, event, mut sender, .. } = conn.read(input, Instant(0)).unwrap();
        let Some(event) = event else {
            input.drain(..consumed);
            return wire;
        };
        if let Event::Data { kind, payload, fin } = event {
            let frame = Outgoing::Fragment { kind, payload, fin };
            let n = sender.encode(frame, &mut out).unwrap();
            wire.extend_from_slice(&out[..n]);
        }
        input.drain(..consumed);
    }
}

#[test]
fn an_echo_encodes_from_the_payload_it_holds() {
    let mut server = connection(Role::Server, Config::default());
    let mut input = [from_client(0x01, b"Hel"), from_client(0x80, b"lo")].concat();
    let wire = echo_all(&mut server, &mut input);
    assert_eq!(merged(server_frames(&wire)), vec![Ev::text("Hello")]);
}

#[test]
fn an_echo_replies_from_a_ping_or_close_payload_it_holds() {
    let mut server = connection(Role::Server, Config { auto_pong: false, ..Config::default() });
    let mut input = from_client(0x89, b"beat");
    let mut out = [0u8; 256];
    let Decoded { event, mut sender, .. } = server.read(&mut input, Instant(0)).unwrap();
    let Some(Event::Ping(payload)) = event else { panic!("a Ping") };
    let n = sender.encode(Outgoing::Pong(payload), &mut out).unwrap();
    assert_eq!(&out[..n], b"\x8a\x04beat");
}

#[cfg(feature = "deflate")]
#[test]
fn an_echo_of_an_inflated_payload_needs_no_copy_first() {
    use wscore::deflate::DeflateParams;
    let params = DeflateParams::default();
    let mut client = connection(Role::Client, Config::default());
    client.enable_deflate(params);
    let mut server = connection(Role::Server, Config::default());
    server.enable_deflate(params);
    let text = "compressible ".repeat(500);
    let mut input = encode(&mut client, Outgoing::Text(&text)).unwrap();
    assert!(input[0] & 0x40 != 0, "compressed (RSV1)");
    let wire = echo_all(&mut server, &mut input);
    let mut back = wire.clone();
    let mut got = Vec::new();
    loop {
        let d = client.read(&mut back, Instant(0)).unwrap();
        let consumed = d.consumed;
        match d.event {
            Some(Event::Data { payload, fin, .. }) => {
                got.extend_from_slice(payload);
                back.drain(..consumed);
                if fin {
                    break;
                }
            }
            Some(_) => {
                back.drain(..consumed);
            }
            None => panic!("the echo ended early"),
        }
    }
    assert_eq!(got, text.as_bytes());
}

#[test]
fn whole_frames_wait_for_all_their_bytes_and_say_how_many() {
    let mut client = connection(Role::Client, Config::default());
    client.set_whole_frame_limit(300);
    let frame = raw_frame(0x82, &[7; 200], None); // 4-byte header + 200
    let mut input = frame[..1].to_vec();
    let d = client.read(&mut input, Instant(0)).unwrap();
    assert_eq!((d.consumed, d.needed, d.event.is_none()), (0, 2, true), "the header's 2 bytes");
    input = frame[..50].to_vec();
    let d = client.read(&mut input, Instant(0)).unwrap();
    assert_eq!((d.consumed, d.needed, d.event.is_none()), (4, 200, true), "the whole payload");
    input = frame[4..].to_vec();
    let d = client.read(&mut input, Instant(0)).unwrap();
    assert_eq!(d.consumed, 200);
    assert_eq!(
        d.event,
        Some(Event::Data { kind: DataKind::Binary, payload: &[7; 200][..], fin: true })
    );
}

#[test]
fn a_frame_read_whole_still_fails_fast_on_bad_utf8() {
    // Autobahn 6.4.3: the bad byte must end the connection before the rest
    // of the frame arrives.
    let mut server = connection(Role::Server, Config::default());
    server.set_whole_frame_limit(1 << 20);
    let mut text = "κόσμε".repeat(100).into_bytes();
    text[20] = 0xFF;
    let frame = from_client(0x81, &text);
    let mut feeder = Feeder::new();
    assert!(feeder.push(&mut server, &frame[..10]));
    assert!(!feeder.push(&mut server, &frame[10..40]), "failed at the bad byte");
    assert_eq!(feeder.events, vec![Ev::Err(Error::Protocol(wscore::ProtocolError::InvalidUtf8))]);
}

#[test]
fn frames_over_the_whole_frame_limit_still_stream() {
    let mut client = connection(Role::Client, Config::default());
    client.set_whole_frame_limit(100);
    let frame = raw_frame(0x82, &[7; 200], None);
    let mut input = frame[..50].to_vec();
    let d = client.read(&mut input, Instant(0)).unwrap();
    assert_eq!(d.consumed, 50, "header and the first 46 bytes");
    assert_eq!(
        d.event.map(|e| owned(e)),
        Some(Ev::Data { kind: DataKind::Binary, payload: vec![7; 46], fin: false })
    );
}

#[test]
fn control_frames_between_whole_fragments_keep_their_order() {
    let mut server = connection(Role::Server, Config::default());
    server.set_whole_frame_limit(1 << 20);
    let stream = [
        from_client(0x01, b"one "),
        from_client(0x89, b"p"),
        from_client(0x80, b"two"),
        from_client(0x88, &1000u16.to_be_bytes()),
    ]
    .concat();
    assert_eq!(
        events_chunked(&mut server, &stream, &[1, 3, 7]),
        vec![
            Ev::Data { kind: DataKind::Text, payload: b"one ".to_vec(), fin: false },
            Ev::Ping(b"p".to_vec()),
            Ev::Data { kind: DataKind::Text, payload: b"two".to_vec(), fin: true },
            Ev::close(1000, ""),
        ]
    );
}

proptest! {
    /// With whole frames on, any split of the input gives the same events,
    /// and every frame within the limit arrives as exactly one piece.
    #[test]
    fn whole_frames_arrive_whole_however_the_bytes_are_split(
        sizes in prop::collection::vec(0usize..3000, 1..12),
        limit in 0usize..4000,
        cuts in prop::collection::vec(1usize..700, 1..8),
    ) {
        let frames: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, &n)| {
            from_client(0x82, &vec![i as u8; n])
        }).collect();
        let stream = frames.concat();
        let mut server = connection(Role::Server, Config::default());
        server.set_whole_frame_limit(limit);
        let got = events_chunked(&mut server, &stream, &cuts);
        let mut whole = connection(Role::Server, Config::default());
        prop_assert_eq!(merged(got.clone()), merged(events(&mut whole, &stream)));
        for (i, &n) in sizes.iter().enumerate() {
            if n <= limit && n > 0 {
                let piece = Ev::Data { kind: DataKind::Binary, payload: vec![i as u8; n], fin: true };
                prop_assert!(got.contains(&piece), "frame {} of {} bytes came in pieces", i, n);
            }
        }
    }
}

#[test]
fn nothing_lands_inside_a_streamed_payload() {
    let mut server = connection(Role::Server, Config::default());
    events(&mut server, &from_client(0x89, b"ping"));
    let header = server.sender().encode_header(DataKind::Binary, 10, true).unwrap();
    assert_eq!(header.as_bytes(), [0x82, 10]);
    let mut out = [0u8; 256];
    // The Pong waits; other sends are refused while bytes are owed.
    assert_eq!(server.poll_transmit(&mut out), Err(Error::PayloadInProgress { remaining: 10 }));
    assert_eq!(
        server.encode(Outgoing::Text("x"), &mut out),
        Err(Error::PayloadInProgress { remaining: 10 })
    );
    assert_eq!(
        server.sender().encode_header(DataKind::Binary, 1, true),
        Err(Error::PayloadInProgress { remaining: 10 })
    );
    server.sender().payload_sent(4).unwrap();
    assert_eq!(server.sender().payload_remaining(), 6);
    assert_eq!(
        server.sender().payload_sent(7),
        Err(Error::PayloadOverrun { remaining: 6, len: 7 })
    );
    server.sender().payload_sent(6).unwrap();
    // Done: the Pong goes out, then anything else.
    let n = server.poll_transmit(&mut out).unwrap().unwrap();
    assert_eq!(&out[..n], b"\x8a\x04ping");
    assert!(server.encode(Outgoing::Text("x"), &mut out).is_ok());
}

#[test]
fn a_client_masks_a_streamed_payload_across_pieces_and_may_not_skip_it() {
    let mut client = connection(Role::Client, Config::default());
    let payload: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
    let header =
        client.sender().encode_header(DataKind::Binary, payload.len() as u64, true).unwrap();
    assert_eq!(client.sender().payload_sent(1), Err(Error::PayloadNotMasked));
    let mut wire = header.as_bytes().to_vec();
    let mut out = [0u8; 333];
    for (i, chunk) in payload.chunks(333).enumerate() {
        if i % 2 == 0 {
            let n = client.sender().copy_payload(&mut out, chunk).unwrap();
            wire.extend_from_slice(&out[..n]);
        } else {
            let mut piece = chunk.to_vec();
            client.sender().mask_payload(&mut piece).unwrap();
            wire.extend_from_slice(&piece);
        }
    }
    assert_eq!(
        client.sender().mask_payload(&mut [0]),
        Err(Error::PayloadOverrun { remaining: 0, len: 1 })
    );
    assert_eq!(client_frames(&wire), vec![Ev::binary(&payload)]);
}

#[test]
fn a_close_sent_between_clock_readings_times_out_from_the_next_one() {
    let config = Config { close_timeout: core::time::Duration::from_secs(1), ..Config::default() };
    let mut client = connection(Role::Client, config);
    client.handle_timeout(Instant(10)).unwrap();
    // Ten minutes without a clock reading, then a Close.
    let mut out = [0u8; 64];
    client.encode(Outgoing::Close(Some(CloseFrame::new(CloseCode::NORMAL))), &mut out).unwrap();
    assert_eq!(client.poll_timeout(), Some(Instant(10)), "asks for a reading at once");
    client.handle_timeout(Instant(600_010)).unwrap();
    assert_eq!(client.state(), State::Closing, "not timed out by the stale clock");
    assert_eq!(client.poll_timeout(), Some(Instant(601_010)));
    assert_eq!(client.handle_timeout(Instant(601_010)), Err(Error::CloseTimeout));
}

#[test]
fn unflushed_control_replies_stay_bounded() {
    let mut server = connection(Role::Server, Config::default());
    let mut stream = Vec::new();
    let pings = if cfg!(miri) { 20 } else { 10_000u32 };
    for i in 0..pings {
        stream.extend(from_client(0x89, &i.to_be_bytes()));
    }
    stream.extend(from_client(0x88, &1001u16.to_be_bytes()));
    events(&mut server, &stream); // never drained meanwhile
    let replies = transmit(&mut server);
    assert_eq!(
        server_frames(&replies),
        vec![Ev::Pong((pings - 1).to_be_bytes().to_vec()), Ev::close(1001, "")],
        "the latest Pong and the Close reply, nothing lost, nothing piled up"
    );
}

#[test]
fn a_caller_that_drops_unconsumed_bytes_gets_no_panic() {
    let mut client = connection(Role::Client, Config::default());
    client.set_whole_frame_limit(1000);
    let frame = raw_frame(0x82, &[7; 500], None);
    let mut input = frame[..300].to_vec();
    let d = client.read(&mut input, Instant(0)).unwrap();
    assert_eq!((d.consumed, d.needed), (4, 500));
    // Against the rules: hand back fewer bytes than were left.
    let mut shorter = frame[4..100].to_vec();
    let d = client.read(&mut shorter, Instant(0)).unwrap();
    assert_eq!((d.consumed, d.needed, d.event), (0, 500, None));
}
