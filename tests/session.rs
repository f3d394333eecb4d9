//! The session layer: whole messages with no copy, any split of the input
//! giving the same messages, corking, backpressure, bounded control
//! replies, the handshake in both roles, end of file, idle buffers.
#![cfg(feature = "alloc")]

mod support;

use proptest::prelude::*;
use support::*;
use wscore::handshake::ClientRequest;
use wscore::session::{Buffers, Handshake, Incoming, Message, ServerOptions, Session};
use wscore::{CloseCode, Config, Error, Instant, Outgoing, Role, State};

fn server() -> Session {
    Session::new(connection(Role::Server, Config::default()), Buffers::DEFAULT)
}

/// Everything `session` hands out from `input` fed in pieces of `cuts`.
fn incoming_chunked(session: &mut Session, input: &[u8], cuts: &[usize]) -> Vec<Incoming> {
    let mut got = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < input.len() {
        let n = cuts[i % cuts.len()].min(input.len() - at);
        session.receive_data(&input[at..at + n]);
        at += n;
        i += 1;
        while let Some(incoming) = session.next_incoming(Instant(0)).unwrap() {
            got.push(incoming);
        }
    }
    got
}

#[test]
fn a_single_frame_message_is_lent_from_the_read_buffer() {
    let mut s = server();
    let frame = from_client(0x82, &[9; 1000]);
    s.receive_data(&frame);
    let start = s.read_buffer().as_ptr() as usize;
    let Some(Incoming::Binary(data)) = s.next_incoming(Instant(0)).unwrap() else { panic!() };
    assert_eq!(&data[..], &[9; 1000][..]);
    assert_eq!(data.as_ptr() as usize, start + 8, "no copy: the payload after its 8-byte header");
}

#[test]
fn a_server_sends_a_large_message_by_reference() {
    let mut s = server();
    let payload = bytes::Bytes::from(vec![5u8; 100_000]);
    s.send_message(&Message::Binary(payload.clone())).unwrap();
    s.send_message(&Message::Text("small, copied".into())).unwrap();
    let chunks: Vec<&[u8]> = s.chunks_to_send().collect();
    assert_eq!(chunks.len(), 3, "header, the shared payload, the small frame");
    assert_eq!(chunks[1].as_ptr(), payload.as_ptr(), "no copy");
    let mut wire = Vec::new();
    while s.unsent() > 0 {
        let data = s.data_to_send();
        let n = data.len().min(7_777);
        wire.extend_from_slice(&data[..n]);
        s.advance(n);
    }
    assert_eq!(merged(server_frames(&wire)), vec![Ev::binary(&payload), Ev::text("small, copied")]);
}

#[test]
fn a_fragmented_message_is_gathered_once() {
    let mut s = server();
    let input = [from_client(0x01, "hé".as_bytes()), from_client(0x80, "llo".as_bytes())].concat();
    assert_eq!(incoming_chunked(&mut s, &input, &[3]), vec![Incoming::Text("héllo".into())]);
}

#[test]
fn replies_to_one_read_are_corked_into_one_write() {
    let mut s = server();
    let input =
        [from_client(0x81, b"a"), from_client(0x89, b"p"), from_client(0x81, b"b")].concat();
    s.receive_data(&input);
    let mut echoed = 0;
    while let Some(incoming) = s.next_incoming(Instant(0)).unwrap() {
        if let Incoming::Text(text) = incoming {
            s.send_text(&text).unwrap();
            echoed += 1;
            assert_eq!(s.should_flush(), echoed == 2, "write only once the input is used up");
        }
    }
    assert_eq!(s.data_to_send(), b"\x81\x01a\x8a\x01p\x81\x01b");
    s.advance(3);
    assert_eq!(s.data_to_send(), b"\x8a\x01p\x81\x01b");
    let n = s.unsent();
    s.advance(n);
    assert_eq!(s.unsent(), 0);
}

#[test]
fn sends_past_max_unsent_are_refused_until_written() {
    let mut s =
        Session::new(connection(Role::Server, Config::default()), Buffers { max_unsent: 100 });
    s.send_binary(&[0; 500]).unwrap(); // an empty buffer takes any message
    assert_eq!(s.send_binary(&[0; 10]), Err(Error::Backpressure { unsent: 504, limit: 100 }));
    s.advance(504);
    s.send_binary(&[0; 50]).unwrap();
    s.send_binary(&[0; 40]).unwrap();
    assert_eq!(s.send_binary(&[0; 40]), Err(Error::Backpressure { unsent: 94, limit: 100 }));
    assert_eq!(s.unsent(), 94, "the refused send queued nothing");
}

#[test]
fn a_close_fits_a_full_buffer() {
    let mut s =
        Session::new(connection(Role::Server, Config::default()), Buffers { max_unsent: 100 });
    s.send_binary(&[0; 500]).unwrap();
    assert!(matches!(s.send_ping(b""), Err(Error::Backpressure { .. })));
    s.close(CloseCode(1013), "too slow").unwrap(); // how a stuck peer is ended
    s.advance(504);
    assert_eq!(server_frames(s.data_to_send()), vec![Ev::close(1013, "too slow")]);
}

#[test]
fn held_messages_keep_the_newest_per_key_and_their_first_order() {
    use wscore::prepared::Prepared;
    use wscore::session::Latest;
    let mut s =
        Session::new(connection(Role::Server, Config::default()), Buffers { max_unsent: 4 });
    let tick = |key: u64, n: u32| Prepared::text(&format!("{key}:{n}"));
    assert_eq!(s.send_latest(0, &tick(0, 0)).unwrap(), Latest::Queued);
    assert_eq!(s.send_latest(1, &tick(1, 0)).unwrap(), Latest::Held); // full
    assert_eq!(s.send_latest(0, &tick(0, 1)).unwrap(), Latest::Held);
    assert_eq!(s.send_latest(1, &tick(1, 1)).unwrap(), Latest::Replaced);
    assert_eq!(s.send_latest(0, &tick(0, 2)).unwrap(), Latest::Replaced);
    assert_eq!(s.held(), 2);
    let mut sent = Vec::new();
    while s.unsent() > 0 {
        sent.extend_from_slice(s.data_to_send());
        let n = s.data_to_send().len();
        s.advance(n); // room: the held ones join the queue, one per write here
    }
    assert_eq!(server_frames(&sent), vec![Ev::text("0:0"), Ev::text("1:1"), Ev::text("0:2")]);
    // Held messages never go out after a Close.
    s.send_latest(0, &tick(0, 3)).unwrap();
    s.send_latest(0, &tick(0, 4)).unwrap();
    s.close(CloseCode::NORMAL, "").unwrap();
    let n = s.unsent();
    s.advance(n);
    assert_eq!((s.unsent(), s.held()), (0, 0));
}

#[test]
fn a_ping_flood_that_is_never_written_stays_bounded() {
    let mut s =
        Session::new(connection(Role::Server, Config::default()), Buffers { max_unsent: 1000 });
    for i in 0..20_000u32 {
        s.receive_data(&from_client(0x89, &[i as u8; 100]));
        while s.next_incoming(Instant(0)).unwrap().is_some() {}
    }
    assert!(s.unsent() <= 1000 + 102, "{} bytes queued", s.unsent());
    // Once written, the newest Pong that waited goes out.
    let n = s.unsent();
    s.advance(n);
    let frames = server_frames(s.data_to_send());
    assert_eq!(frames, vec![Ev::Pong(vec![(19_999u32) as u8; 100])]);
}

#[test]
fn a_frame_cut_by_end_of_file_is_an_abnormal_closure() {
    let mut s = server();
    s.receive_data(&from_client(0x82, &[1; 100])[..50]);
    assert_eq!(s.next_incoming(Instant(0)), Ok(None));
    s.receive_eof();
    assert_eq!(s.next_incoming(Instant(0)), Err(Error::UnexpectedEof));
    assert_eq!(s.state(), State::Closed(CloseCode::ABNORMAL));
    assert!(s.close_expected());
}

#[test]
fn messages_received_before_end_of_file_are_still_handed_out() {
    let mut s = server();
    s.receive_data(&[from_client(0x81, b"last words"), from_client(0x88, &[0x03, 0xE8])].concat());
    s.receive_eof();
    assert_eq!(s.next_incoming(Instant(0)), Ok(Some(Incoming::Text("last words".into()))));
    assert!(matches!(s.next_incoming(Instant(0)), Ok(Some(Incoming::Close(Some(_))))));
    assert_eq!(s.next_incoming(Instant(0)), Ok(None), "a clean end");
}

#[test]
fn a_protocol_error_queues_its_close_and_drops_the_rest() {
    let mut s = server();
    s.receive_data(&[raw_frame(0x81, b"unmasked", None), from_client(0x81, b"after")].concat());
    assert!(matches!(s.next_incoming(Instant(0)), Err(Error::Protocol(_))));
    assert_eq!(server_frames(s.data_to_send()), vec![Ev::close(1002, "frame not masked")]);
    assert_eq!(s.buffered(), b"");
}

#[test]
fn both_handshakes_through_sessions() {
    let request = ClientRequest { subprotocols: &["chat"], ..ClientRequest::new("h", "/x") };
    let mut client =
        Session::client_with_seed(Config::default(), [3; 32], &request, Buffers::DEFAULT).unwrap();
    let mut server = Session::server(Config::default(), Buffers::DEFAULT);
    // The request arrives a byte at a time, with the first frame behind it.
    client.send_text("early").unwrap_err(); // not before the handshake
    let hello = client.data_to_send().to_vec();
    let n = client.unsent();
    client.advance(n);
    for byte in &hello[..hello.len() - 1] {
        server.receive_data(&[*byte]);
        assert_eq!(server.handshake(Instant(0)), Ok(Handshake::Pending));
    }
    server.receive_data(&hello[hello.len() - 1..]);
    assert_eq!(server.handshake(Instant(0)), Ok(Handshake::Request));
    assert_eq!(server.request().map(|r| r.path()), Some("/x"));
    let options = ServerOptions { subprotocols: &["chat"], ..ServerOptions::default() };
    server.accept(&options).unwrap();
    assert_eq!(server.subprotocol(), Some("chat"));
    client.receive_data(server.data_to_send());
    let n = server.unsent();
    server.advance(n);
    assert_eq!(client.handshake(Instant(0)), Ok(Handshake::Done));
    assert_eq!(client.subprotocol(), Some("chat"));
    client.send_text("hi").unwrap();
    server.receive_data(client.data_to_send());
    assert_eq!(server.next_incoming(Instant(0)), Ok(Some(Incoming::Text("hi".into()))));
}

#[test]
fn a_refused_origin_and_a_large_rejection_are_queued_whole() {
    let head = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
        Origin: https://elsewhere\r\n\r\n";
    let mut s = Session::server(Config::default(), Buffers::DEFAULT);
    s.receive_data(head);
    assert_eq!(s.handshake(Instant(0)), Ok(Handshake::Request));
    let options = ServerOptions { allowed_origins: Some(&["https://here"]), ..Default::default() };
    assert_eq!(s.accept(&options), Err(Error::Refused { status: 403 }));
    assert!(s.data_to_send().starts_with(b"HTTP/1.1 403 "));

    let mut s = Session::server(Config::default(), Buffers::DEFAULT);
    s.receive_data(head);
    s.handshake(Instant(0)).unwrap();
    let location = format!("https://example.com/{}", "x".repeat(6000));
    s.reject(302, &[("Location", &location)]).unwrap();
    let answer = String::from_utf8(s.data_to_send().to_vec()).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 302 ") && answer.contains(&location),
        "{} bytes",
        answer.len()
    );
}

#[test]
fn idle_buffers_are_given_back() {
    let mut s = server();
    s.receive_data(&from_client(0x82, &[1; 5000]));
    let Some(Incoming::Binary(data)) = s.next_incoming(Instant(0)).unwrap() else { panic!() };
    s.send_binary(&data).unwrap();
    s.release_idle();
    assert!(s.unsent() > 5000, "queued output is kept");
    assert!(s.buffer_capacity() > 5000);
    let n = s.unsent();
    s.advance(n);
    s.release_idle();
    assert_eq!(s.buffer_capacity(), 0, "an idle session holds no buffer");
    assert!(s.read_buffer().capacity() >= 16 * 1024, "reserved again on demand");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any split of the input gives the same messages, in order.
    #[test]
    fn any_split_gives_the_same_messages(
        messages in prop::collection::vec((any::<bool>(), 0usize..5000, 1usize..4), 1..10),
        cuts in prop::collection::vec(1usize..3000, 1..6),
    ) {
        let mut input = Vec::new();
        let mut expected = Vec::new();
        for (i, &(text, len, pieces)) in messages.iter().enumerate() {
            let body: Vec<u8> = (0..len).map(|j| b'a' + ((i + j) % 26) as u8).collect();
            let step = len.div_ceil(pieces).max(1);
            let chunks: Vec<&[u8]> = if len == 0 { vec![&body[..]] } else { body.chunks(step).collect() };
            for (k, chunk) in chunks.iter().enumerate() {
                let first = if k == 0 { if text { 0x1 } else { 0x2 } } else { 0x0 };
                let fin = if k + 1 == chunks.len() { 0x80 } else { 0 };
                input.extend(from_client(first | fin, chunk));
                if k == 0 {
                    input.extend(from_client(0x89, b"between"));
                }
            }
            expected.push(if text {
                Incoming::Text(String::from_utf8(body).unwrap().into())
            } else {
                Incoming::Binary(body.into())
            });
        }
        let got: Vec<Incoming> = incoming_chunked(&mut server(), &input, &cuts)
            .into_iter()
            .filter(|m| !matches!(m, Incoming::Ping(_)))
            .collect();
        prop_assert_eq!(got, expected);
    }

    /// Any mix of copied and shared sends, written in any sizes, decodes
    /// at the peer as sent, in both roles.
    #[test]
    fn sends_decode_at_the_peer_as_sent(
        sends in prop::collection::vec((0usize..70_000, any::<bool>()), 1..8),
        client in any::<bool>(),
        write in 1usize..20_000,
    ) {
        let role = if client { Role::Client } else { Role::Server };
        let limit = Buffers { max_unsent: 100_000 };
        let mut s = Session::new(connection(role, Config::default()), limit);
        let mut wire = Vec::new();
        let drain = |s: &mut Session, wire: &mut Vec<u8>| {
            while s.unsent() > 0 {
                let data = s.data_to_send();
                let n = data.len().min(write);
                wire.extend_from_slice(&data[..n]);
                s.advance(n);
            }
        };
        for (i, &(len, shared)) in sends.iter().enumerate() {
            let payload = vec![i as u8; len];
            loop {
                let sent = match shared {
                    true => s.send_message(&Message::Binary(payload.clone().into())),
                    false => s.send(Outgoing::Binary(&payload)),
                };
                match sent {
                    Err(Error::Backpressure { .. }) => drain(&mut s, &mut wire),
                    other => break other.unwrap(),
                }
            }
        }
        drain(&mut s, &mut wire);
        let expected: Vec<Ev> =
            sends.iter().enumerate().map(|(i, &(len, _))| Ev::binary(&vec![i as u8; len])).collect();
        let got = if client { client_frames(&wire) } else { server_frames(&wire) };
        prop_assert_eq!(merged(got), expected);
    }
}

mod held {
    //! `send_latest` with a peer that reads slowly (review findings).
    use super::*;
    use wscore::prepared::Prepared;
    use wscore::session::Latest;
    use wscore::DataKind;

    fn tick(seq: u64) -> Prepared<bytes::Bytes> {
        Prepared::text(&format!("{seq:04}{}", "x".repeat(1016)))
    }

    /// The peer takes 1,000 bytes a round while the feed sends two ticks:
    /// a Ping's Pong still goes out, ahead of the held ticks.
    #[test]
    fn a_pong_is_not_starved_by_held_messages() {
        let mut s =
            Session::new(connection(Role::Server, Config::default()), Buffers { max_unsent: 4096 });
        let mut seq = 0;
        while s.held() == 0 {
            s.send_latest(seq % 8, &tick(seq)).unwrap();
            seq += 1;
        }
        s.receive_data(&from_client(0x89, b"PING"));
        assert!(matches!(s.next_incoming(Instant(0)), Ok(Some(Incoming::Ping(_)))));
        let mut written = Vec::new();
        for _ in 0..20 {
            let mut round = 0;
            while round < 1000 && s.unsent() > 0 {
                let n = s.data_to_send().len().min(1000 - round);
                written.extend_from_slice(&s.data_to_send()[..n]);
                s.advance(n);
                round += n;
            }
            for _ in 0..2 {
                s.send_latest(seq % 8, &tick(seq)).unwrap();
                seq += 1;
            }
        }
        assert!(written.windows(6).any(|w| w == b"\x8a\x04PING"), "no Pong");
    }

    #[test]
    fn a_client_cannot_hold_prepared_frames() {
        let mut s =
            Session::new(connection(Role::Client, Config::default()), Buffers { max_unsent: 8 });
        s.send_text("0123456789").unwrap();
        assert_eq!(s.send_latest(1, &Prepared::text("later")), Err(Error::PreparedByClient));
        assert_eq!(s.held(), 0);
    }

    /// Held messages wait for the end of the application's own fragmented
    /// message; they are not dropped.
    #[test]
    fn held_messages_wait_for_an_open_fragmented_message() {
        let mut s =
            Session::new(connection(Role::Server, Config::default()), Buffers { max_unsent: 64 });
        assert_eq!(s.send_latest(1, &Prepared::text(&"a".repeat(60))).unwrap(), Latest::Queued);
        assert_eq!(s.send_latest(2, &Prepared::text("held")).unwrap(), Latest::Held);
        let piece = |payload: &'static [u8], fin| Outgoing::Fragment {
            kind: DataKind::Binary,
            payload,
            fin,
        };
        s.send(piece(b"f1", false)).unwrap();
        let mut all: Vec<u8> = s.chunks_to_send().flatten().copied().collect();
        let n = s.unsent();
        s.advance(n);
        assert_eq!(s.held(), 1, "kept while the fragmented message is open");
        s.send(piece(b"f2", true)).unwrap();
        while s.unsent() > 0 {
            all.extend_from_slice(s.data_to_send());
            let n = s.data_to_send().len();
            s.advance(n);
        }
        let frames = server_frames(&all);
        assert_eq!(frames.last(), Some(&Ev::text("held")), "{frames:?}");
    }
}
