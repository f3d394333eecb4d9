//! The tokio driver over real loopback sockets: round trips, many
//! concurrent connections, split halves, keepalive, cancellation safety.
#![cfg(feature = "tokio")]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wscore::handshake::{parse_request, write_accept, AcceptOptions, Status, EMPTY_HEADER};
use wscore::tokio::{
    accept_with, connect, connect_with, ClientOptions, Error, Incoming, ServerOptions,
};
use wscore::{CloseCode, Config, Keepalive};

/// An echo server on an ephemeral port; returns its URL.
async fn echo_server() -> String {
    echo_server_with(Config::default()).await
}

/// An echo server whose connections use `config`.
async fn echo_server_with(config: Config) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let options = ServerOptions { config, ..ServerOptions::default() };
                let Ok(mut ws) = accept_with(stream, &[], &options).await else { return };
                while let Some(Ok(incoming)) = ws.next().await {
                    let sent = match incoming {
                        Incoming::Text(text) => ws.send_text(&text).await,
                        Incoming::Binary(data) => ws.send_binary(&data).await,
                        _ => Ok(()),
                    };
                    if sent.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("ws://{addr}/")
}

/// The next data message, skipping control frames.
async fn next_message(ws: &mut wscore::tokio::WebSocket<TcpStream>) -> Incoming {
    loop {
        match ws.next().await.expect("connection ended").expect("read failed") {
            Incoming::Ping(_) | Incoming::Pong(_) => {}
            other => return other,
        }
    }
}

#[cfg(feature = "deflate")]
#[tokio::test]
async fn compressed_round_trips_through_the_driver() {
    use wscore::deflate::DeflateConfig;
    let config = Config { deflate: Some(DeflateConfig::default()), ..Config::default() };
    let url = echo_server_with(config).await;
    let options = ClientOptions { config, ..ClientOptions::default() };
    let mut ws = connect_with(&url, &options).await.unwrap();
    for len in [0usize, 1, 1000, 65536, 1 << 20] {
        let text: String = (0..len).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        ws.send_text(&text).await.unwrap();
        assert_eq!(next_message(&mut ws).await, Incoming::Text(text.into()), "text {len}");
        let data: Vec<u8> = (0..len).map(|i| (i * i % 251) as u8).collect();
        ws.send_binary(&data).await.unwrap();
        assert_eq!(next_message(&mut ws).await, Incoming::Binary(data.into()), "binary {len}");
    }
    ws.close(CloseCode::NORMAL, "done").await.unwrap();
}

#[tokio::test]
async fn echo_round_trips_at_the_length_boundaries() {
    let url = echo_server().await;
    let mut ws = connect(&url).await.unwrap();
    for len in [0usize, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20] {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        ws.send_binary(&data).await.unwrap();
        assert_eq!(next_message(&mut ws).await, Incoming::Binary(data.into()), "binary {len}");
        let text: String = (0..len).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        ws.send_text(&text).await.unwrap();
        assert_eq!(next_message(&mut ws).await, Incoming::Text(text.into()), "text {len}");
    }
    ws.close(CloseCode::NORMAL, "done").await.unwrap();
    assert_eq!(
        ws.next().await.map(|r| r.unwrap()),
        Some(Incoming::Close(Some(wscore::tokio::CloseInfo {
            code: CloseCode::NORMAL,
            reason: String::new()
        })))
    );
    assert!(ws.next().await.is_none(), "the stream ends after the closing handshake");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_connections_echo_ten_messages_each() {
    let url = echo_server().await;
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..1000 {
        let url = url.clone();
        clients.spawn(async move {
            let mut ws = connect(&url).await?;
            for m in 0..10 {
                let text = format!("client {c} message {m}");
                ws.send_text(&text).await?;
                assert_eq!(next_message(&mut ws).await, Incoming::Text(text.into()));
            }
            ws.close(CloseCode::NORMAL, "").await?;
            while ws.next().await.is_some() {}
            Ok::<_, Error>(())
        });
    }
    let done = tokio::time::timeout(Duration::from_secs(60), async {
        let mut ok = 0;
        while let Some(result) = clients.join_next().await {
            result.unwrap().unwrap();
            ok += 1;
        }
        ok
    });
    assert_eq!(done.await.expect("1,000 connections within 60 s"), 1000);
}

#[tokio::test]
async fn split_halves_work_from_different_tasks() {
    let url = echo_server().await;
    let (mut reader, writer) = connect(&url).await.unwrap().split();
    let sender = tokio::spawn({
        let writer = writer.clone();
        async move {
            for i in 0..100 {
                writer.send_text(&format!("{i}")).await.unwrap();
            }
        }
    });
    for i in 0..100 {
        match reader.next().await.unwrap().unwrap() {
            Incoming::Text(text) => assert_eq!(text, format!("{i}")),
            other => panic!("{other:?}"),
        }
    }
    sender.await.unwrap();
    writer.close(CloseCode::NORMAL, "").await.unwrap();
    while let Some(item) = reader.next().await {
        item.unwrap();
    }
}

/// A server that completes the handshake and then sends `count` numbered
/// messages (each frame in two halves, `pause` apart when given), then reads
/// and discards until the client goes away (and never answers a Ping).
async fn raw_server(count: u32, pause: Option<Duration>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 8192];
        let mut filled = 0;
        let head_len = loop {
            filled += stream.read(&mut buf[filled..]).await.unwrap();
            let mut slots = [EMPTY_HEADER; 32];
            if let Ok(Status::Complete(request)) = parse_request(&buf[..filled], &mut slots, 8192) {
                let mut out = [0u8; 512];
                let n = write_accept(&request, &AcceptOptions::default(), &mut out).unwrap();
                stream.write_all(&out[..n]).await.unwrap();
                break request.head_len();
            }
        };
        assert_eq!(head_len, filled);
        let mut frames = Vec::new();
        for i in 0..count {
            let text = format!("message {i:05}");
            let mut frame = vec![0x81, text.len() as u8];
            frame.extend_from_slice(text.as_bytes());
            match pause {
                None => frames.extend_from_slice(&frame),
                Some(pause) => {
                    let (head, tail) = frame.split_at(5);
                    stream.write_all(head).await.unwrap();
                    tokio::time::sleep(pause).await;
                    stream.write_all(tail).await.unwrap();
                }
            }
        }
        stream.write_all(&frames).await.unwrap();
        // Then read and discard until the client goes away.
        while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
    });
    format!("ws://{addr}/")
}

#[tokio::test]
async fn dropping_read_futures_loses_no_data() {
    // Frames arrive in halves, so many `next` futures are waiting on the
    // socket, mid-frame, when a very short timeout cancels them.
    let url = raw_server(300, Some(Duration::from_millis(1))).await;
    let mut ws = connect(&url).await.unwrap();
    let mut received = 0u32;
    let mut cancelled = 0u32;
    while received < 300 {
        // A timeout this short cancels many `next` futures mid-way.
        match tokio::time::timeout(Duration::from_micros(20), ws.next()).await {
            Err(_) => cancelled += 1,
            Ok(item) => {
                let Incoming::Text(text) = item.unwrap().unwrap() else { panic!("not text") };
                assert_eq!(text, format!("message {received:05}"), "lost or reordered");
                received += 1;
            }
        }
    }
    assert!(cancelled >= 100, "only {cancelled} reads were cancelled: the test proved little");
}

#[tokio::test]
async fn keepalive_detects_a_peer_that_stops_answering() {
    let url = raw_server(0, None).await; // never answers a Ping
    let keepalive =
        Keepalive { interval: Duration::from_millis(200), timeout: Duration::from_millis(300) };
    let options = ClientOptions {
        config: Config { keepalive: Some(keepalive), ..Config::default() },
        ..ClientOptions::default()
    };
    let mut ws = connect_with(&url, &options).await.unwrap();
    let started = tokio::time::Instant::now();
    let outcome =
        tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("gave up in time");
    let took = started.elapsed();
    assert!(
        matches!(outcome, Some(Err(Error::Protocol(wscore::Error::KeepaliveTimeout)))),
        "{outcome:?}"
    );
    assert!(took >= Duration::from_millis(450) && took < Duration::from_secs(2), "{took:?}");
    assert!(ws.next().await.is_none());
}

#[tokio::test]
async fn keepalive_is_quiet_when_the_peer_answers() {
    let url = echo_server().await;
    let keepalive =
        Keepalive { interval: Duration::from_millis(100), timeout: Duration::from_millis(300) };
    let options = ClientOptions {
        config: Config { keepalive: Some(keepalive), ..Config::default() },
        ..ClientOptions::default()
    };
    let mut ws = connect_with(&url, &options).await.unwrap();
    let mut pongs = 0;
    let quiet = tokio::time::timeout(Duration::from_millis(700), async {
        while let Some(item) = ws.next().await {
            match item.unwrap() {
                Incoming::Pong(_) => pongs += 1,
                other => panic!("{other:?}"),
            }
        }
    });
    assert!(quiet.await.is_err(), "the connection stayed open");
    assert!(pongs >= 4, "{pongs} keepalive Pongs in 700 ms");
}

#[tokio::test]
async fn the_stream_adapter_yields_every_message() {
    use std::future::poll_fn;
    use std::pin::pin;
    let url = raw_server(50, None).await;
    let (reader, _writer) = connect(&url).await.unwrap().split();
    let mut stream = pin!(reader.into_stream());
    for i in 0..50 {
        let item = poll_fn(|cx| futures_core::Stream::poll_next(stream.as_mut(), cx)).await;
        assert_eq!(item.unwrap().unwrap(), Incoming::Text(format!("message {i:05}").into()));
    }
}

#[tokio::test]
async fn connection_errors_name_their_cause() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    match connect(&format!("ws://127.0.0.1:{port}/")).await {
        Err(Error::Connect { addr, source }) => {
            assert_eq!(addr, format!("127.0.0.1:{port}"));
            assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(connect("wss://example.com/").await, Err(Error::TlsRequired)));
    assert!(matches!(connect("http://example.com/").await, Err(Error::Url(_))));
}

const UPGRADE: &[u8] =
    b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// A masked client frame (key 1, 2, 3, 4), by hand.
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut out = vec![0x80 | opcode, 0x80 | payload.len() as u8, 1, 2, 3, 4];
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ [1, 2, 3, 4][i % 4]));
    out
}

#[tokio::test]
async fn accept_takes_a_prefix_longer_than_any_buffer() {
    // Regression: a prefix over the handshake buffer (8 KiB + 1) panicked.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut sent = UPGRADE.to_vec();
    for i in 0..200u8 {
        sent.extend(client_frame(0x2, &[i; 100]));
    }
    let total = sent.len();
    assert!(total > 20_000);
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut prefix = vec![0u8; total];
        stream.read_exact(&mut prefix).await.unwrap(); // the application read it all first
        let mut ws = accept_with(stream, &prefix, &ServerOptions::default()).await.unwrap();
        for i in 0..200u8 {
            assert_eq!(next_message(&mut ws).await, Incoming::Binary(vec![i; 100].into()));
        }
    });
    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(&sent).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), server).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_refused_handshake_gets_its_whole_answer() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        accept_with(stream, &[], &ServerOptions::default()).await.err()
    });
    let mut client = TcpStream::connect(addr).await.unwrap();
    let old_version =
        String::from_utf8(UPGRADE.to_vec()).unwrap().replace("Version: 13", "Version: 8");
    client.write_all(old_version.as_bytes()).await.unwrap();
    let failed = server.await.unwrap();
    assert!(matches!(failed, Some(Error::Handshake(_))), "{failed:?}");
    let mut answer = String::new();
    client.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 426 "), "{answer}");
    assert!(answer.contains("Sec-WebSocket-Version: 13\r\n"), "{answer}");
}

#[tokio::test]
async fn replies_to_one_read_go_out_in_one_write() {
    // Ten messages in one packet: the echo server's ten replies come back
    // in one read (corked), not ten.
    let url = echo_server().await;
    let addr = url.trim_start_matches("ws://").trim_end_matches('/').to_string();
    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(UPGRADE).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(client.read_u8().await.unwrap());
    }
    assert!(head.starts_with(b"HTTP/1.1 101 "));
    let burst: Vec<u8> = (0..10u8).flat_map(|i| client_frame(0x2, &[i; 10])).collect();
    client.write_all(&burst).await.unwrap();
    let mut replies = vec![0u8; 10 * 12];
    let n = tokio::time::timeout(Duration::from_secs(5), client.read(&mut replies))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 120, "all ten replies in the first read");
    let expected: Vec<u8> =
        (0..10u8).flat_map(|i| [vec![0x82, 10], vec![i; 10]].concat()).collect();
    assert_eq!(replies, expected);
}

/// A head sent a byte at a time (slowloris) is cut at the handshake
/// timeout, with a 408 the client can still read.
#[tokio::test]
async fn a_slow_head_gets_408_at_the_handshake_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let config = Config { handshake_timeout: Duration::from_millis(300), ..Config::default() };
        let options = ServerOptions { config, ..ServerOptions::default() };
        accept_with(stream, &[], &options).await.map(|_| ())
    });
    let mut client = TcpStream::connect(addr).await.unwrap();
    for byte in b"GET / HTTP/1.1\r\nHost: x\r\n".iter().take(4) {
        client.write_all(&[*byte]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut answer))
        .await
        .expect("the server closes")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{answer}");
    let e = server.await.unwrap().unwrap_err();
    assert!(matches!(e, Error::Protocol(wscore::Error::HandshakeTimeout)), "{e}");
}
