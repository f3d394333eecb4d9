//! The opening handshake, server side, for a request as a browser sends it
//! (Chrome's headers: a user agent, an origin, cookies, a permessage-deflate
//! offer, which the server declines by not answering it).
//!
//! Ids:
//!
//! * `handshake/server/parse+validate+write_accept`: `RequestHead::parse`,
//!   `RequestHead::validate`, `write_accept` (the standalone functions, as
//!   used behind another HTTP stack);
//! * `handshake/server/parse_request+write_accept`: the same through
//!   `parse_request`, which takes both parsing steps at once;
//! * `handshake/server/Connection::server+read+accept`: a fresh
//!   `Connection::server`, `read` giving `Event::Request`, `accept`;
//! * `handshake/server/accept_key`: the SHA-1 and base64 of the
//!   `Sec-WebSocket-Accept` value alone, the part of every path above that
//!   is arithmetic rather than parsing.
//!
//! Throughput is in handshakes (elements/s).
//!
//! ```text
//! cargo bench --bench handshake -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wscore::handshake::{
    accept_key, parse_request, write_accept, AcceptOptions, RequestHead, Status,
    DEFAULT_MAX_HEADERS, DEFAULT_MAX_HEAD_LEN, EMPTY_HEADER,
};
use wscore::{Config, Connection, Event, Instant};

/// What Chrome sends to open `new WebSocket("wss://example.com/chat")` from a
/// page of that origin (590 bytes).
const BROWSER_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: example.com\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: https://example.com\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9,fr;q=0.8\r\n\
Cookie: session=4f2a9c1e7b3d48a0b6e5c2d1f0a9b8c7; theme=dark; _ga=GA1.1.1234567890.1700000000\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
\r\n";

/// The answer every path must write.
const ACCEPT: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

fn two_steps(input: &[u8], out: &mut [u8]) -> usize {
    let mut slots = [EMPTY_HEADER; DEFAULT_MAX_HEADERS];
    let Ok(Status::Complete(head)) = RequestHead::parse(input, &mut slots, DEFAULT_MAX_HEAD_LEN)
    else {
        panic!("a complete request head")
    };
    let request = head.validate().expect("a valid upgrade");
    write_accept(&request, &AcceptOptions::default(), out).expect("room for the answer")
}

fn one_step(input: &[u8], out: &mut [u8]) -> usize {
    let mut slots = [EMPTY_HEADER; DEFAULT_MAX_HEADERS];
    let Ok(Status::Complete(request)) = parse_request(input, &mut slots, DEFAULT_MAX_HEAD_LEN)
    else {
        panic!("a valid upgrade")
    };
    write_accept(&request, &AcceptOptions::default(), out).expect("room for the answer")
}

fn connection(input: &mut [u8], out: &mut [u8]) -> usize {
    let mut conn = Connection::server(Config::default());
    let decoded = conn.read(input, Instant(0)).expect("a valid upgrade");
    assert_eq!(decoded.consumed, BROWSER_REQUEST.len());
    let Some(Event::Request(request)) = decoded.event else { panic!("a request event") };
    conn.accept(&request, &AcceptOptions::default(), out).expect("room for the answer")
}

fn handshake(c: &mut Criterion) {
    let mut out = [0u8; 512];
    let mut input = BROWSER_REQUEST.to_vec();
    for path in [two_steps, one_step] {
        let n = path(BROWSER_REQUEST, &mut out);
        assert_eq!(&out[..n], ACCEPT);
    }
    let n = connection(&mut input, &mut out);
    assert_eq!(&out[..n], ACCEPT);

    let mut group = c.benchmark_group("handshake/server");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse+validate+write_accept", |b| {
        b.iter(|| two_steps(black_box(BROWSER_REQUEST), &mut out))
    });
    group.bench_function("parse_request+write_accept", |b| {
        b.iter(|| one_step(black_box(BROWSER_REQUEST), &mut out))
    });
    // `read` takes the input mutably (frames are unmasked in place) but does
    // not change a handshake head, so the same bytes serve every iteration.
    group.bench_function("Connection::server+read+accept", |b| {
        b.iter(|| connection(black_box(&mut input), &mut out))
    });
    group.bench_function("accept_key", |b| {
        b.iter(|| accept_key(black_box(b"dGhlIHNhbXBsZSBub25jZQ==")))
    });
    group.finish();
}

criterion_group!(benches, handshake);
criterion_main!(benches);
