//! The opening handshake inside the connection: both roles through the same
//! `read` / `poll_transmit` interface as frames, then frames.

mod support;
use proptest::prelude::*;
use support::*;
use wscore::handshake::{
    AcceptOptions, ClientRequest, HandshakeError, ResponseHead, Status, EMPTY_HEADER,
};
use wscore::{CloseCode, Config, Connection, Error, Instant, Keepalive, Outgoing, State};

const REQUEST: &[u8] = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v2.chat, v1.chat\r\n\r\n";

fn client(request: &ClientRequest<'_>) -> (Connection, Vec<u8>) {
    let mut out = vec![0u8; 1024];
    let (conn, n) =
        Connection::client_with_seed(Config::default(), [9; 32], request, &mut out).unwrap();
    out.truncate(n);
    (conn, out)
}

/// Run a server over `request_bytes` until it gives the request event;
/// accept with `options` and return the 101's bytes.
fn accept(server: &mut Connection, input: &mut Vec<u8>, options: &AcceptOptions<'_>) -> Vec<u8> {
    accept_at(server, input, options, Instant(0))
}

fn accept_at(
    server: &mut Connection,
    input: &mut Vec<u8>,
    options: &AcceptOptions<'_>,
    now: Instant,
) -> Vec<u8> {
    let decoded = server.read(input, now).unwrap();
    let consumed = decoded.consumed;
    let Some(wscore::Event::Request(request)) = decoded.event else { panic!("no request event") };
    let mut out = vec![0u8; 1024];
    let n = server.accept(&request, options, &mut out).unwrap();
    input.drain(..consumed);
    out.truncate(n);
    out
}

#[test]
fn server_reads_the_request_accepts_and_reads_the_frames_behind_it() {
    let mut server = Connection::server(Config::default());
    assert_eq!(server.state(), State::Handshake);
    let mut input = [REQUEST, &from_client(0x81, b"first frame")].concat();
    let reply = accept(
        &mut server,
        &mut input,
        &AcceptOptions { subprotocol: Some("v1.chat"), ..Default::default() },
    );
    assert_eq!(
        reply,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: v1.chat\r\n\r\n"
    );
    assert_eq!(server.state(), State::Open);
    assert_eq!(events(&mut server, &input), vec![Ev::text("first frame")]);
}

#[test]
fn nothing_moves_until_the_request_is_answered() {
    let mut server = Connection::server(Config::default());
    let mut input = REQUEST.to_vec();
    let d = server.read(&mut input, Instant(0)).unwrap();
    assert!(matches!(d.event, Some(wscore::Event::Request(_))));
    assert_eq!(server.read(&mut [], Instant(0)).unwrap_err(), Error::Handshaking);
    let mut out = [0u8; 64];
    assert_eq!(server.encode(Outgoing::Text("early"), &mut out), Err(Error::Handshaking));
    // A too-small buffer leaves the request waiting.
    let mut parsed = [EMPTY_HEADER; 16];
    let Ok(Status::Complete(request)) =
        wscore::handshake::parse_request(REQUEST, &mut parsed, 8192)
    else {
        panic!()
    };
    assert!(matches!(
        server.accept(&request, &AcceptOptions::default(), &mut out),
        Err(Error::BufferTooSmall { .. })
    ));
    let mut out = [0u8; 256];
    assert!(server.accept(&request, &AcceptOptions::default(), &mut out).is_ok());
    assert_eq!(
        server.accept(&request, &AcceptOptions::default(), &mut out),
        Err(Error::NoRequestPending)
    );
}

#[test]
fn a_bad_request_is_answered_with_the_right_status_then_closed() {
    let bad = String::from_utf8(REQUEST.to_vec()).unwrap().replace("Version: 13", "Version: 8");
    let mut server = Connection::server(Config::default());
    let got = events(&mut server, bad.as_bytes());
    assert_eq!(got, vec![Ev::Err(Error::Handshake(HandshakeError::UnsupportedVersion))]);
    assert_eq!(server.state(), State::Closed(CloseCode::ABNORMAL));
    assert!(!server.close_expected(), "the rejection is not flushed yet");
    let answer = String::from_utf8(transmit(&mut server)).unwrap();
    assert!(answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"), "{answer}");
    assert!(answer.contains("Sec-WebSocket-Version: 13\r\n"), "{answer}");
    assert!(server.close_expected());
    assert!(transmit(&mut server).is_empty());
}

#[test]
fn the_application_can_refuse_an_origin() {
    let mut server = Connection::server(Config::default());
    let mut input = REQUEST.to_vec();
    let d = server.read(&mut input, Instant(0)).unwrap();
    assert!(matches!(d.event, Some(wscore::Event::Request(_))));
    let mut out = [0u8; 256];
    let n = server.reject(403, &[], &mut out).unwrap();
    assert!(out[..n].starts_with(b"HTTP/1.1 403 Forbidden\r\n"));
    assert!(server.close_expected());
}

#[test]
fn handshake_limits_come_from_the_config() {
    let config = Config { max_handshake_head: 100, ..Config::default() };
    let mut server = Connection::server(config);
    let got = events(&mut server, REQUEST);
    assert_eq!(got, vec![Ev::Err(Error::Handshake(HandshakeError::HeadTooLarge { limit: 100 }))]);
    assert!(transmit(&mut server).starts_with(b"HTTP/1.1 431 "));

    let config = Config { max_handshake_headers: 3, ..Config::default() };
    let mut server = Connection::server(config);
    let got = events(&mut server, REQUEST);
    assert_eq!(got, vec![Ev::Err(Error::Handshake(HandshakeError::TooManyHeaders { limit: 3 }))]);
}

#[test]
fn client_and_server_connect_in_memory_and_exchange_frames() {
    let request =
        ClientRequest { subprotocols: &["v2", "v1"], ..ClientRequest::new("example.com", "/feed") };
    let (mut client, request_bytes) = client(&request);
    assert_eq!(client.state(), State::Handshake);
    let mut server = Connection::server(Config::default());
    let mut input = request_bytes;
    let answer = accept(
        &mut server,
        &mut input,
        &AcceptOptions { subprotocol: Some("v1"), ..Default::default() },
    );
    // The 101 and a first frame arrive in one packet.
    let first = encode(&mut server, Outgoing::Text("welcome")).unwrap();
    let got = events(&mut client, &[answer, first].concat());
    assert_eq!(got, vec![Ev::Response(Some("v1".into())), Ev::text("welcome")]);
    assert_eq!(client.state(), State::Open);
    let reply = encode(&mut client, Outgoing::Text("thanks")).unwrap();
    assert_eq!(events(&mut server, &reply), vec![Ev::text("thanks")]);
}

#[test]
fn a_redirect_fails_the_handshake_and_leaves_the_response_readable() {
    let (mut client, _) = client(&ClientRequest::new("example.com", "/"));
    let mut answer =
        b"HTTP/1.1 302 Found\r\nLocation: wss://example.net/\r\nContent-Length: 0\r\n\r\n".to_vec();
    assert_eq!(
        client.read(&mut answer, Instant(0)).unwrap_err(),
        Error::Handshake(HandshakeError::UnexpectedStatus(302))
    );
    assert_eq!(client.state(), State::Closed(CloseCode::ABNORMAL));
    assert!(client.close_expected());
    let mut slots = [EMPTY_HEADER; 8];
    let Ok(Status::Complete(head)) = ResponseHead::parse(&answer, &mut slots, 8192) else {
        panic!()
    };
    assert_eq!(head.header("location"), Some(&b"wss://example.net/"[..]));
}

#[test]
fn the_client_checks_the_servers_choices() {
    let request = ClientRequest { subprotocols: &["chat"], ..ClientRequest::new("h", "/") };
    let (mut c, _) = client(&request);
    // A correct accept key for this client's nonce is needed to reach the
    // subprotocol check: take it from a server that accepts.
    let mut server = Connection::server(Config::default());
    let (_, mut request_bytes) = client(&request);
    let answer = accept(&mut server, &mut request_bytes, &AcceptOptions::default());
    let forged = String::from_utf8(answer)
        .unwrap()
        .replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: other\r\n\r\n");
    assert_eq!(
        events(&mut c, forged.as_bytes()),
        vec![Ev::Err(Error::Handshake(HandshakeError::SubprotocolNotOffered))]
    );
    let (mut c, _) = client(&request);
    let wrong_key =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    assert_eq!(
        events(&mut c, wrong_key),
        vec![Ev::Err(Error::Handshake(HandshakeError::AcceptMismatch))]
    );
}

#[test]
fn offers_too_long_to_remember_are_refused_up_front() {
    let many: Vec<String> = (0..17).map(|i| format!("p{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let request = ClientRequest { subprotocols: &many, ..ClientRequest::new("h", "/") };
    let mut out = [0u8; 1024];
    assert_eq!(
        Connection::client_with_seed(Config::default(), [1; 32], &request, &mut out).err(),
        Some(Error::OfferTooLong)
    );
}

#[test]
fn keepalive_starts_only_once_the_connection_is_open() {
    let config = Config {
        keepalive: Some(Keepalive {
            interval: std::time::Duration::from_secs(1),
            timeout: std::time::Duration::from_secs(1),
        }),
        ..Config::default()
    };
    let mut server = Connection::server(config);
    server.handle_timeout(Instant(10_000)).unwrap();
    // Only the handshake deadline (10 s) runs, and no Ping goes out.
    assert_eq!(server.poll_timeout(), Some(Instant(20_000)));
    assert!(transmit(&mut server).is_empty(), "no Ping before the handshake is done");
    let mut input = REQUEST.to_vec();
    accept_at(&mut server, &mut input, &AcceptOptions::default(), Instant(10_000));
    assert_eq!(server.poll_timeout(), Some(Instant(11_000)));
}

#[test]
fn eof_during_the_handshake_is_abnormal() {
    let mut server = Connection::server(Config::default());
    events(&mut server, &REQUEST[..20]);
    assert_eq!(server.read_eof(), Err(Error::UnexpectedEof));
    assert_eq!(server.state(), State::Closed(CloseCode::ABNORMAL));
}

proptest! {
    #[test]
    fn any_chunking_of_the_handshake_and_frames_gives_the_same_events(
        sizes in proptest::collection::vec(1usize..30, 1..6),
    ) {
        let stream = [REQUEST, &from_client(0x81, b"hello"), &from_client(0x88, b"\x03\xe8")].concat();
        let whole = {
            let mut server = Connection::server(Config::default());
            handshake_then_frames(&mut server, &stream, &[stream.len()])
        };
        let mut server = Connection::server(Config::default());
        prop_assert_eq!(handshake_then_frames(&mut server, &stream, &sizes), whole.clone());
        let mut server = Connection::server(Config::default());
        prop_assert_eq!(handshake_then_frames(&mut server, &stream, &[1]), whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic_in_either_handshake(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut server = Connection::server(Config::default());
        let _ = events_chunked(&mut server, &bytes, &[7]);
        let _ = transmit(&mut server);
        let (mut c, _) = client(&ClientRequest::new("h", "/"));
        let _ = events_chunked(&mut c, &bytes, &[5]);
    }
}

/// Feed `stream` in chunks, accepting the request when it appears; return
/// the merged events.
fn handshake_then_frames(server: &mut Connection, stream: &[u8], sizes: &[usize]) -> Vec<Ev> {
    let mut buf = Vec::new();
    let mut out = vec![0u8; 1024];
    let mut seen = Vec::new();
    let mut rest = stream;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap()).clamp(1, rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            let d = server.read(&mut buf, Instant(0)).unwrap();
            let consumed = d.consumed;
            match d.event {
                Some(wscore::Event::Request(request)) => {
                    seen.push(Ev::Request(request.path().into()));
                    server.accept(&request, &AcceptOptions::default(), &mut out).unwrap();
                }
                Some(other) => seen.push(owned(other)),
                None => {
                    buf.drain(..consumed); // a header or part of a control frame
                    break;
                }
            }
            buf.drain(..consumed);
        }
    }
    merged(seen)
}

#[test]
fn a_silent_peer_times_out_the_handshake() {
    let config =
        Config { handshake_timeout: std::time::Duration::from_secs(2), ..Config::default() };
    let mut server = Connection::server(config);
    assert_eq!(server.poll_timeout(), Some(Instant(0)), "asks for the clock");
    server.handle_timeout(Instant(1_000)).unwrap();
    assert_eq!(server.poll_timeout(), Some(Instant(3_000)));
    events(&mut server, &REQUEST[..30]); // a slow start does not extend it
    assert_eq!(server.handle_timeout(Instant(2_999)), Ok(()));
    assert_eq!(server.handle_timeout(Instant(3_000)), Err(Error::HandshakeTimeout));
    assert_eq!(server.state(), State::Closed(CloseCode::ABNORMAL));
    // A head cut by the timeout gets a 408 before the transport is closed.
    let answer = transmit(&mut server);
    assert!(answer.starts_with(b"HTTP/1.1 408 Request Timeout\r\n"), "{answer:?}");
    assert!(server.close_expected());
    assert!(transmit(&mut server).is_empty());

    let (mut c, _) = client(&ClientRequest::new("h", "/"));
    c.handle_timeout(Instant(0)).unwrap();
    assert_eq!(c.handle_timeout(Instant(10_000)), Err(Error::HandshakeTimeout));
}

#[test]
fn the_handshake_deadline_ends_with_the_handshake() {
    let mut server = Connection::server(Config { keepalive: None, ..Config::default() });
    let mut input = REQUEST.to_vec();
    accept_at(&mut server, &mut input, &AcceptOptions::default(), Instant(500));
    assert_eq!(server.poll_timeout(), None);
    assert_eq!(server.handle_timeout(Instant(60_000)), Ok(()));
    assert_eq!(server.state(), State::Open);

    // By default, the next deadline is the first keepalive Ping's, 20 s on.
    let mut server = Connection::server(Config::default());
    let mut input = REQUEST.to_vec();
    accept_at(&mut server, &mut input, &AcceptOptions::default(), Instant(500));
    assert_eq!(server.poll_timeout(), Some(Instant(20_500)));
}
