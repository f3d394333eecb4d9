//! Broadcast over the tokio driver and real loopback sockets: prepared
//! frames to many subscribers, and what each backpressure policy does with
//! a subscriber that never reads while the others keep up.
#![cfg(feature = "tokio")]

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Mutex;
use wscore::prepared::Prepared;
use wscore::tokio::{
    accept_with, broadcast, connect, Buffers, Delivery, Incoming, ServerOptions, WhenFull, Writer,
};
use wscore::{CloseCode, Config};

/// Subscribers' writers, as the server's accept loop adds them.
type Subscribers = Arc<Mutex<Vec<Writer<TcpStream>>>>;

/// A server that splits every connection, keeps its writer and reads until
/// the connection ends; returns its address and the writers.
async fn server(buffers: Buffers, config: Config) -> (String, Subscribers) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let subscribers = Subscribers::default();
    let list = Arc::clone(&subscribers);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let list = Arc::clone(&list);
            tokio::spawn(async move {
                let options = ServerOptions { buffers, config, ..ServerOptions::DEFAULT };
                let Ok(ws) = accept_with(stream, &[], &options).await else { return };
                let (mut reader, writer) = ws.split();
                list.lock().await.push(writer);
                while let Some(Ok(_)) = reader.next().await {}
            });
        }
    });
    (addr, subscribers)
}

async fn wait_for(subscribers: &Subscribers, count: usize) {
    while subscribers.lock().await.len() < count {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A subscriber that reads every text message, as `(key, seq)` pairs.
fn fast_subscriber(url: String, last: usize) -> tokio::task::JoinHandle<Vec<(usize, usize)>> {
    tokio::spawn(async move {
        let mut ws = connect(&url).await.unwrap();
        let mut seen = Vec::new();
        while let Some(incoming) = ws.next().await {
            if let Incoming::Text(text) = incoming.unwrap() {
                let (key, seq) = text[..text.find(' ').unwrap()].split_once(':').unwrap();
                let (key, seq) = (key.parse().unwrap(), seq.parse().unwrap());
                seen.push((key, seq));
                if seq == last {
                    break;
                }
            }
        }
        seen
    })
}

/// A subscriber that handshakes, then never reads (a small receive
/// buffer, so that the server's queue fills fast).
async fn stuck_subscriber(addr: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr.parse().unwrap()).await.unwrap();
    let request = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.unwrap());
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
    stream
}

/// A message of about 1 KiB: `key:seq ` and padding.
fn message(key: usize, seq: usize) -> Prepared<bytes::Bytes> {
    Prepared::text(&format!("{key}:{seq} {}", "x".repeat(1000)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscriber_gets_every_message_in_order() {
    let (addr, subscribers) = server(Buffers::DEFAULT, Config::default()).await;
    let readers: Vec<_> = (0..20).map(|_| fast_subscriber(format!("ws://{addr}/"), 499)).collect();
    wait_for(&subscribers, 20).await;
    let writers = subscribers.lock().await.clone();
    for seq in 0..500 {
        let report = broadcast(&writers, &message(0, seq), WhenFull::Wait).await;
        assert_eq!(report.queued, 20);
    }
    for reader in readers {
        let seen = reader.await.unwrap();
        assert_eq!(seen, (0..500).map(|seq| (0, seq)).collect::<Vec<_>>());
    }
}

/// Publish `count` messages (keys `0..keys`) to four fast subscribers and
/// one stuck one under `policy`, pacing so the fast ones keep up; returns
/// what the fast ones saw, the stuck one's largest backlog, and the reports.
async fn publish_with_a_stuck_subscriber(
    policy: impl Fn(usize) -> WhenFull,
    count: usize,
    keys: usize,
    max_unsent: usize,
) -> (Vec<Vec<(usize, usize)>>, (usize, usize), Vec<wscore::tokio::Broadcast>) {
    let config = Config { close_timeout: Duration::from_millis(500), ..Config::default() };
    let (addr, subscribers) = server(Buffers { max_unsent }, config).await;
    let _stuck = stuck_subscriber(&addr).await;
    wait_for(&subscribers, 1).await;
    let fast: Vec<_> =
        (0..4).map(|_| fast_subscriber(format!("ws://{addr}/"), count - 1)).collect();
    wait_for(&subscribers, 5).await;
    let writers = subscribers.lock().await.clone();
    let mut worst = (0, 0);
    let mut reports = Vec::new();
    for seq in 0..count {
        reports.push(broadcast(&writers, &message(seq % keys, seq), policy(seq % keys)).await);
        let (unsent, held) = writers[0].backlog();
        worst = (worst.0.max(unsent), worst.1.max(held));
        if seq % 8 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await; // a feed, not a flood
        }
    }
    let mut seen = Vec::new();
    for reader in fast {
        seen.push(tokio::time::timeout(Duration::from_secs(20), reader).await.unwrap().unwrap());
    }
    (seen, worst, reports)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_latest_bounds_a_stuck_subscriber_and_coalesces_per_key() {
    const COUNT: usize = 3000;
    const KEYS: usize = 8;
    const BOUND: usize = 64 * 1024;
    let (seen, (unsent, held), reports) = publish_with_a_stuck_subscriber(
        |key| WhenFull::KeepLatest { key: key as u64 },
        COUNT,
        KEYS,
        BOUND,
    )
    .await;
    // The stuck one holds at most the bound (plus the message that was
    // let in under it) and one message per key.
    assert!(unsent <= BOUND + 1100, "{unsent} bytes queued");
    assert!(held <= KEYS, "{held} held");
    assert!(reports.iter().map(|r| r.replaced).sum::<usize>() > 0, "nothing was coalesced");
    for messages in seen {
        // Fast subscribers see every key's messages in order and the last
        // one of every key (some may be coalesced if they fell behind).
        for key in 0..KEYS {
            let seqs: Vec<usize> =
                messages.iter().filter(|(k, _)| *k == key).map(|(_, s)| *s).collect();
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "key {key} out of order");
        }
        assert_eq!(messages.last(), Some(&((COUNT - 1) % KEYS, COUNT - 1)));
        assert!(
            messages.len() * 10 >= COUNT * 9,
            "a fast subscriber got {} of {COUNT}",
            messages.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_ends_a_stuck_subscriber_and_spares_the_others() {
    const COUNT: usize = 3000;
    const BOUND: usize = 128 * 1024;
    let policy = |_| WhenFull::Close { code: CloseCode(1013), reason: "too slow" };
    let (seen, (unsent, _), reports) =
        publish_with_a_stuck_subscriber(policy, COUNT, 1, BOUND).await;
    assert!(unsent <= BOUND + 1100, "{unsent} bytes queued");
    assert_eq!(reports.iter().map(|r| r.closed).sum::<usize>(), 1, "only the stuck one closed");
    // Once closed, the stuck one refuses every later message.
    assert!(reports.last().unwrap().failed == 1);
    for messages in seen {
        assert_eq!(messages, (0..COUNT).map(|seq| (0, seq)).collect::<Vec<_>>());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_refuses_and_wait_waits() {
    let (addr, subscribers) = server(Buffers { max_unsent: 16 * 1024 }, Config::default()).await;
    let _stuck = stuck_subscriber(&addr).await;
    wait_for(&subscribers, 1).await;
    let writer = subscribers.lock().await[0].clone();
    // Fill the buffer until refused, over and over: the reader's task
    // writes what the stream takes in between (a loopback socket takes
    // megabytes), until the stream takes nothing and a round is refused
    // at once.
    let mut refused = None;
    for _ in 0..500 {
        let mut taken = 0;
        while taken < 2000 {
            match writer.offer(&message(0, taken), WhenFull::Fail).await {
                Ok(delivery) => assert_eq!(delivery, Delivery::Queued),
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
            taken += 1;
        }
        if taken == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused = refused.expect("the buffer never filled");
    assert!(
        matches!(refused, wscore::tokio::Error::Protocol(wscore::Error::Backpressure { .. })),
        "{refused}"
    );
    assert!(writer.backlog().0 <= 16 * 1024);
    // Wait does not return while the peer reads nothing.
    let one_more = message(0, 0);
    let waiting = writer.offer(&one_more, WhenFull::Wait);
    assert!(tokio::time::timeout(Duration::from_millis(200), waiting).await.is_err());
}

/// A writer waiting for a full stream and the reader answering a Ping both
/// wait for the stream to take bytes: both must be woken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_and_the_reader_both_waiting_to_write_are_both_woken() {
    let (addr, subscribers) = server(Buffers::DEFAULT, Config::default()).await;
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(addr.parse().unwrap()).await.unwrap();
    let request = wscore::handshake::ClientRequest::new("x", "/");
    let mut client = wscore::tokio::client(stream, &request, Config::default()).await.unwrap();
    wait_for(&subscribers, 1).await;
    let writer = subscribers.lock().await[0].clone();
    let big = Prepared::binary(&vec![7u8; 4 << 20]);
    let sending = tokio::spawn(async move { writer.send_prepared(&big).await });
    tokio::time::sleep(Duration::from_millis(100)).await; // the writer waits for the stream
    client.ping(b"are you there").await.unwrap(); // the reader queues a Pong behind it
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut got = 0;
    while got < 4 << 20 {
        match client.next().await.unwrap().unwrap() {
            Incoming::Binary(data) => got += data.len(),
            Incoming::Pong(_) => {}
            other => panic!("{other:?}"),
        }
    }
    tokio::time::timeout(Duration::from_secs(5), sending)
        .await
        .expect("the writer was never woken")
        .unwrap()
        .unwrap();
}

mod review {
    //! Regressions from a review: offers that stranded bytes, a Close that
    //! never ended a stuck connection.
    use super::*;
    use wscore::tokio::{Delivery, Reader};

    /// A listener whose accepted sockets have a small send buffer.
    async fn small_listener() -> (TcpListener, String) {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_send_buffer_size(4096).unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(16).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        (listener, addr)
    }

    async fn accept_split(
        listener: &TcpListener,
        config: Config,
        max_unsent: usize,
    ) -> (Reader<TcpStream>, Writer<TcpStream>) {
        let (stream, _) = listener.accept().await.unwrap();
        let options =
            ServerOptions { buffers: Buffers { max_unsent }, config, ..ServerOptions::DEFAULT };
        accept_with(stream, &[], &options).await.unwrap().split()
    }

    /// With no reader, every offer writes what the stream takes: a frame
    /// offered after a partial write still goes out.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn offers_without_a_reader_still_write() {
        let (listener, addr) = small_listener().await;
        let client = tokio::spawn(async move { stuck_subscriber(&addr).await });
        let (reader, writer) = accept_split(&listener, Config::default(), 256 * 1024).await;
        drop(reader);
        let mut client = client.await.unwrap();
        for i in 0..2000 {
            writer
                .offer(&message(i % 8, i), WhenFull::KeepLatest { key: (i % 8) as u64 })
                .await
                .unwrap();
            if writer.backlog().0 > 0 && i > 100 {
                break; // the stream is full
            }
        }
        let reading = tokio::spawn(async move {
            let mut all = Vec::new();
            let mut buf = vec![0u8; 65536];
            while !all.windows(4).any(|w| w == b"LAST") {
                match tokio::time::timeout(Duration::from_secs(3), client.read(&mut buf)).await {
                    Ok(Ok(n)) if n > 0 => all.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
            all
        });
        // The peer reads now; offers keep writing what it takes.
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            writer.offer(&Prepared::text("tick"), WhenFull::KeepLatest { key: 98 }).await.unwrap();
        }
        writer.offer(&Prepared::text("LAST"), WhenFull::KeepLatest { key: 99 }).await.unwrap();
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            // The peer hangs up once it has LAST: these may fail.
            let _ = writer.offer(&Prepared::text("tick"), WhenFull::KeepLatest { key: 98 }).await;
        }
        let all = reading.await.unwrap();
        assert!(all.windows(4).any(|w| w == b"LAST"), "LAST never written");
    }

    /// `WhenFull::Close` on a stuck peer, keepalive off: the connection ends
    /// within `close_timeout`, and the reader ends for good.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn close_ends_a_stuck_connection_within_close_timeout() {
        let (listener, addr) = small_listener().await;
        let client = tokio::spawn(async move { stuck_subscriber(&addr).await });
        let config = Config {
            close_timeout: Duration::from_millis(300),
            keepalive: None,
            ..Config::default()
        };
        let (mut reader, writer) = accept_split(&listener, config, 16 * 1024).await;
        let _client = client.await.unwrap();
        let ended = tokio::spawn(async move {
            while let Some(Ok(_)) = reader.next().await {}
            // Ended: it stays ended.
            tokio::time::timeout(Duration::from_secs(2), reader.next()).await
        });
        let policy = WhenFull::Close { code: CloseCode(1013), reason: "too slow" };
        let mut closed = false;
        for i in 0..20_000 {
            match writer.offer(&message(0, i), policy).await {
                Ok(Delivery::Closed) => {
                    closed = true;
                    break;
                }
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
            if i % 64 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        assert!(closed, "the buffer never filled");
        let again = tokio::time::timeout(Duration::from_secs(3), ended)
            .await
            .expect("the reader did not end within 3 s (close_timeout 300 ms)")
            .unwrap();
        assert!(matches!(again, Ok(None)), "after the end, next() gave {again:?}");
    }

    /// A `Reader::next` cancelled while its task does other work: an offer
    /// writes for itself.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_offer_writes_while_the_reader_is_not_waiting() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let client = tokio::spawn(async move { stuck_subscriber(&addr).await });
        let (mut reader, writer) = accept_split(&listener, Config::default(), 256 * 1024).await;
        let mut client = client.await.unwrap();
        let _ = tokio::time::timeout(Duration::from_millis(20), reader.next()).await; // cancelled
        writer.offer(&Prepared::text("HELLO"), WhenFull::Wait).await.unwrap();
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_secs(1), client.read(&mut buf))
            .await
            .expect("the offer was never written")
            .unwrap();
        assert_eq!(&buf[..n], b"\x81\x05HELLO");
        drop(reader);
    }
}
