//! The blocking driver over real loopback TCP (127.0.0.1, ephemeral ports):
//! echo round trips up to the 16 MiB frame limit, fragmented messages sent
//! with the core, Ping/Pong, both closing handshakes, peers that vanish
//! mid-frame, keepalive against a silent and a live peer, and the opening
//! handshake's refusals (connection refused, `wss://`, a redirect, `Origin`,
//! subprotocols).
//!
//! Every test runs under a watchdog ([`bounded`]) and every socket read that
//! the test itself does has a timeout, so a regression fails instead of
//! hanging; a passing test has joined every thread it started.
//!
#![cfg(feature = "std")]

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant as StdInstant};

use wscore::blocking::{ClientOptions, CloseInfo, Error, Incoming, ServerOptions, WebSocket};
use wscore::handshake::{
    parse_request, write_accept, write_request, AcceptOptions, ClientKey, ClientRequest, Status,
    DEFAULT_MAX_HEADERS, DEFAULT_MAX_HEAD_LEN, EMPTY_HEADER,
};
use wscore::{
    CloseCode, CloseFrame, Config, Connection, DataKind, Event, Instant, Keepalive, Outgoing, Role,
    State,
};

// ---------------------------------------------------------------------------
// Harness: watchdog, listeners, the echo server, raw peers
// ---------------------------------------------------------------------------

/// How long any socket read done by the tests themselves may block.
const IO_LIMIT: Duration = Duration::from_secs(10);

/// Run `body` on its own thread and fail the test if it has not finished
/// within `limit` (a hang), re-raising its panic if it panicked.
fn bounded(limit: Duration, body: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let worker = thread::spawn(move || {
        body();
        let _ = done.send(());
    });
    match finished.recv_timeout(limit) {
        Ok(()) => worker.join().expect("the body finished"),
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the body ends by sending or by panicking"),
        },
        Err(RecvTimeoutError::Timeout) => panic!("test still running after {limit:?}: it hangs"),
    }
}

/// A listener on an ephemeral loopback port, and its port.
fn listen() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    (listener, port)
}

/// Accept one connection, giving up after [`IO_LIMIT`] so that an acceptor
/// thread never outlives a test whose client failed before connecting.
fn accept_one(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).expect("non-blocking listener");
    let deadline = StdInstant::now() + IO_LIMIT;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).expect("blocking stream");
                return stream;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                assert!(StdInstant::now() < deadline, "no client connected within {IO_LIMIT:?}");
                thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("accept failed: {e}"),
        }
    }
}

fn url(port: u16) -> String {
    format!("ws://127.0.0.1:{port}/")
}

/// What a server-side test session does with its connection.
#[derive(Debug, Clone, Copy)]
enum Script {
    /// Echo text and binary until the connection ends.
    Echo,
    /// Wait for the first text message, then close with this code and reason.
    CloseOnText(CloseCode, &'static str),
    /// Echo, but Ping each text message's bytes back before echoing it.
    PingBack,
}

/// What one server connection saw, for the test to check afterwards.
#[derive(Debug)]
struct Session {
    subprotocol: Option<String>,
    /// Everything `read` returned, in order.
    seen: Vec<Incoming>,
    /// How it ended: the error `read` finally returned (`Error::Closed` for a
    /// clean end) or, for [`Script::CloseOnText`], the result of `close`.
    end: Result<(), Error>,
}

/// Run `script` on an accepted connection: `WebSocket::accept_with` and then
/// a read loop, like examples/echo_server.rs.
fn serve(stream: TcpStream, options: &ServerOptions<'_>, script: Script) -> Result<Session, Error> {
    let mut ws = WebSocket::accept_with(stream, options)?;
    let mut session =
        Session { subprotocol: ws.subprotocol().map(String::from), seen: Vec::new(), end: Ok(()) };
    loop {
        let incoming = match ws.read() {
            Ok(incoming) => incoming,
            Err(e) => {
                session.end = Err(e);
                return Ok(session);
            }
        };
        let sent = match (&incoming, script) {
            (Incoming::Text(_), Script::CloseOnText(code, reason)) => {
                session.seen.push(incoming);
                session.end = ws.close(code, reason);
                return Ok(session);
            }
            (Incoming::Text(text), Script::Echo) => ws.send_text(text),
            (Incoming::Text(text), Script::PingBack) => {
                ws.ping(text.as_bytes()).and_then(|()| ws.send_text(text))
            }
            (Incoming::Binary(data), Script::Echo | Script::PingBack) => ws.send_binary(data),
            _ => Ok(()), // Pongs and Close replies are automatic
        };
        session.seen.push(incoming);
        if let Err(e) = sent {
            session.end = Err(e);
            return Ok(session);
        }
    }
}

/// A server thread that accepts `connections` clients in turn on an
/// ephemeral port, serving each on a thread of its own; joining it gives one
/// outcome per connection, in the order they were accepted.
struct Server {
    port: u16,
    acceptor: JoinHandle<Vec<Result<Session, Error>>>,
}

impl Server {
    fn start(options: ServerOptions<'static>, script: Script, connections: usize) -> Server {
        let (listener, port) = listen();
        let acceptor = thread::spawn(move || {
            let workers: Vec<_> = (0..connections)
                .map(|_| {
                    let stream = accept_one(&listener);
                    thread::spawn(move || serve(stream, &options, script))
                })
                .collect();
            workers.into_iter().map(|w| w.join().expect("server thread panicked")).collect()
        });
        Server { port, acceptor }
    }

    fn echo() -> Server {
        Server::start(ServerOptions::default(), Script::Echo, 1)
    }

    fn url(&self) -> String {
        url(self.port)
    }

    /// Wait for every connection to end and hand back what each saw.
    fn finish(self) -> Vec<Result<Session, Error>> {
        self.acceptor.join().expect("acceptor thread panicked")
    }

    /// [`finish`](Self::finish) for a server of one connection, which must
    /// have passed the handshake.
    fn session(self) -> Session {
        let mut sessions = self.finish();
        assert_eq!(sessions.len(), 1);
        sessions.pop().unwrap().expect("the server accepted the handshake")
    }
}

/// Read from `stream` until `buf` holds a complete HTTP head; return the
/// head's length (bytes after it stay in `buf`).
fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> usize {
    stream.set_read_timeout(Some(IO_LIMIT)).expect("read timeout");
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return at + 4;
        }
        let n = stream.read(&mut chunk).expect("read the head");
        assert!(n > 0, "the peer closed before its head ended");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Play the server's half of the opening handshake by hand: parse the
/// request with `parse_request`, answer with `write_accept`.
fn raw_accept(stream: &mut TcpStream) {
    let mut buf = Vec::new();
    let head_len = read_head(stream, &mut buf);
    assert_eq!(head_len, buf.len(), "the client sent nothing after its request");
    let mut slots = [EMPTY_HEADER; DEFAULT_MAX_HEADERS];
    let Ok(Status::Complete(request)) = parse_request(&buf, &mut slots, DEFAULT_MAX_HEAD_LEN)
    else {
        panic!("not a valid upgrade request: {:?}", String::from_utf8_lossy(&buf));
    };
    let mut out = [0u8; 1024];
    let n = write_accept(&request, &AcceptOptions::default(), &mut out).expect("write the 101");
    stream.write_all(&out[..n]).expect("send the 101");
}

/// Play the client's half of the opening handshake by hand (`write_request`,
/// then the 101 read back); the stream is positioned at the first frame.
fn raw_connect(port: u16) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let host = format!("127.0.0.1:{port}");
    let key = ClientKey::from_random(*b"sixteen  random.");
    let mut out = [0u8; 1024];
    let n = write_request(&ClientRequest::new(&host, "/"), &key, &mut out).expect("request");
    stream.write_all(&out[..n]).expect("send the request");
    let mut response = Vec::new();
    let head_len = read_head(&mut stream, &mut response);
    assert!(response.starts_with(b"HTTP/1.1 101 "), "{:?}", String::from_utf8_lossy(&response));
    assert_eq!(head_len, response.len(), "no frame before the client's first");
    stream
}

/// Read until the peer ends the connection (or [`IO_LIMIT`] passes);
/// return all it sent.
fn drain(stream: &mut TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(IO_LIMIT)).expect("read timeout");
    let mut all = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&chunk[..n]),
            Err(e) => panic!("the peer neither closed nor kept quiet: {e}"),
        }
    }
}

/// A frame's bytes, written by hand from the RFC 6455 layout (masked when a
/// key is given), independently of the encoder under test.
fn raw_frame(
    first_byte: u8,
    announced_len: usize,
    payload: &[u8],
    key: Option<[u8; 4]>,
) -> Vec<u8> {
    let mask_bit = if key.is_some() { 0x80 } else { 0 };
    let mut frame = vec![first_byte];
    match announced_len {
        n @ 0..=125 => frame.push(mask_bit | n as u8),
        n @ 126..=0xFFFF => {
            frame.push(mask_bit | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(mask_bit | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match key {
        Some(key) => {
            frame.extend_from_slice(&key);
            frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => frame.extend_from_slice(payload),
    }
    frame
}

/// What a peer decoded, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Frame {
    /// A whole message, its pieces put back together.
    Message(DataKind, Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<(u16, String)>),
}

/// Decode everything in `bytes` as `conn` sees it: whole messages, control
/// frames, or the error that stopped the decoding.
fn decode_all(conn: &mut Connection, mut bytes: Vec<u8>) -> Result<Vec<Frame>, wscore::Error> {
    let mut frames = Vec::new();
    let mut message = Vec::new();
    let mut start = 0;
    loop {
        let decoded = conn.read(&mut bytes[start..], Instant(0))?;
        let consumed = decoded.consumed;
        let frame = match decoded.event {
            None if consumed == 0 => return Ok(frames),
            None => None,
            Some(event) => owned(event, &mut message),
        };
        start += consumed;
        frames.extend(frame);
    }
}

/// An event as an owned [`Frame`]; data pieces gather in `message` until
/// the last one.
fn owned(event: Event<'_, '_>, message: &mut Vec<u8>) -> Option<Frame> {
    match event {
        Event::Data { kind, payload, fin } => {
            message.extend_from_slice(payload);
            fin.then(|| Frame::Message(kind, std::mem::take(message)))
        }
        Event::Ping(p) => Some(Frame::Ping(p.to_vec())),
        Event::Pong(p) => Some(Frame::Pong(p.to_vec())),
        Event::Close(c) => Some(Frame::Close(c.map(|c| (c.code.0, c.reason.to_string())))),
        Event::Request(_) | Event::Response(_) => panic!("a handshake event after the handshake"),
    }
}

/// A client driven by hand with the core (`Connection::client`) over a raw
/// `TcpStream`: for what the blocking driver cannot send, fragments.
struct CoreClient {
    stream: TcpStream,
    conn: Connection,
    input: Vec<u8>,
    start: usize,
    filled: usize,
    message: Vec<u8>,
    out: Vec<u8>,
    epoch: StdInstant,
}

impl CoreClient {
    fn connect(port: u16) -> CoreClient {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(IO_LIMIT)).expect("read timeout");
        let host = format!("127.0.0.1:{port}");
        let mut out = vec![0u8; 64 * 1024];
        let request = ClientRequest::new(&host, "/");
        let (conn, n) = Connection::client(Config::default(), &request, &mut out).expect("request");
        stream.write_all(&out[..n]).expect("send the request");
        let mut client = CoreClient {
            stream,
            conn,
            input: vec![0u8; 64 * 1024],
            start: 0,
            filled: 0,
            message: Vec::new(),
            out,
            epoch: StdInstant::now(),
        };
        loop {
            let now = client.now();
            let input = &mut client.input[client.start..client.filled];
            let decoded = client.conn.read(input, now).expect("the server accepts");
            client.start += decoded.consumed;
            match decoded.event {
                Some(Event::Response(response)) => {
                    assert_eq!(response.status(), 101);
                    break;
                }
                Some(other) => panic!("{other:?} before the handshake's end"),
                None => assert!(client.fill(), "the server closed during the handshake"),
            }
        }
        assert_eq!(client.conn.state(), State::Open);
        client
    }

    fn now(&self) -> Instant {
        Instant(self.epoch.elapsed().as_millis() as u64)
    }

    /// Read more bytes; false at end of file.
    fn fill(&mut self) -> bool {
        self.input.copy_within(self.start..self.filled, 0);
        self.filled -= self.start;
        self.start = 0;
        let n = self.stream.read(&mut self.input[self.filled..]).expect("read from the server");
        self.filled += n;
        n > 0
    }

    fn send(&mut self, frame: Outgoing<'_>) {
        let n = self.conn.encode(frame, &mut self.out).expect("encode");
        self.stream.write_all(&self.out[..n]).expect("send");
    }

    /// Write what the core queued itself (Pongs, the Close reply).
    fn flush(&mut self) {
        while let Some(n) = self.conn.poll_transmit(&mut self.out).expect("64 KiB is enough") {
            self.stream.write_all(&self.out[..n]).expect("send");
        }
    }

    /// The next whole message or control frame; `Err` with what `read_eof`
    /// said when the server ends the connection first.
    fn next(&mut self) -> Result<Frame, Result<(), wscore::Error>> {
        loop {
            let now = self.now();
            let input = &mut self.input[self.start..self.filled];
            let decoded = self.conn.read(input, now).expect("no protocol error");
            let consumed = decoded.consumed;
            let frame = match decoded.event {
                None if consumed == 0 => {
                    if !self.fill() {
                        return Err(self.conn.read_eof());
                    }
                    None
                }
                None => None,
                Some(event) => owned(event, &mut self.message),
            };
            self.start += consumed;
            self.flush();
            if let Some(frame) = frame {
                return Ok(frame);
            }
        }
    }
}

/// `n` bytes of valid UTF-8, with 1- to 4-byte characters all through.
fn text_of_len(n: usize) -> String {
    const CHARS: [char; 7] = ['a', 'é', ' ', '€', 'z', '😀', 'ß'];
    let mut text = String::with_capacity(n);
    let mut i = 0;
    while text.len() < n {
        let c = CHARS[i % CHARS.len()];
        i += 1;
        text.push(if text.len() + c.len_utf8() <= n { c } else { 'x' });
    }
    assert_eq!(text.len(), n);
    text
}

/// `n` pseudo-random bytes (xorshift), every byte value likely.
fn bytes_of_len(n: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64 ^ n as u64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Equality of large buffers, reporting the first difference rather than
/// printing megabytes.
fn assert_same(got: &[u8], sent: &[u8], what: &str) {
    assert_eq!(got.len(), sent.len(), "{what}: length");
    if let Some(at) = got.iter().zip(sent).position(|(a, b)| a != b) {
        panic!("{what}: first difference at byte {at}: {} != {}", got[at], sent[at]);
    }
}

/// The kind and length of each message a server saw, for large messages.
fn shape(seen: &[Incoming]) -> Vec<(&'static str, usize)> {
    seen.iter()
        .map(|incoming| match incoming {
            Incoming::Text(t) => ("text", t.len()),
            Incoming::Binary(b) => ("binary", b.len()),
            Incoming::Ping(p) => ("ping", p.len()),
            Incoming::Pong(p) => ("pong", p.len()),
            Incoming::Close(_) => ("close", 0),
        })
        .collect()
}

fn info(code: u16, reason: &str) -> CloseInfo {
    CloseInfo { code: CloseCode(code), reason: reason.into() }
}

/// The end of a clean session: `read` after the peer's Close.
fn assert_closed(end: &Result<(), Error>, expected: Option<CloseInfo>) {
    match end {
        Err(Error::Closed(info)) => assert_eq!(*info, expected),
        other => panic!("expected Error::Closed({expected:?}), got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// 1. Echo round trips
// ---------------------------------------------------------------------------

/// Sizes around every length encoding (7-bit, 16-bit, 64-bit), either side
/// of the driver's switch from one write to a header and a streamed payload
/// (65522: its 64 KiB buffer less a 14-byte header), and exactly the 16 MiB
/// frame limit.
const SIZES: [usize; 8] = [0, 125, 126, 65522, 65523, 65535, 65536, 16 << 20];

#[test]
fn echo_text_and_binary_round_trips_up_to_the_frame_limit() {
    bounded(Duration::from_secs(120), || {
        let server = Server::echo();
        let mut ws = WebSocket::connect(&server.url()).expect("connect");
        let mut expected_shape = Vec::new();
        for size in SIZES {
            let text = text_of_len(size);
            ws.send_text(&text).expect("send text");
            match ws.read().expect("text echo") {
                Incoming::Text(got) => assert_same(got.as_bytes(), text.as_bytes(), "text"),
                other => panic!("expected text of {size} bytes, got {:?}", shape(&[other])),
            }
            let data = bytes_of_len(size);
            ws.send_binary(&data).expect("send binary");
            match ws.read().expect("binary echo") {
                Incoming::Binary(got) => assert_same(&got, &data, "binary"),
                other => panic!("expected binary of {size} bytes, got {:?}", shape(&[other])),
            }
            expected_shape.extend([("text", size), ("binary", size)]);
        }
        ws.close(CloseCode::NORMAL, "").expect("close");
        drop(ws);

        let session = server.session();
        expected_shape.push(("close", 0));
        assert_eq!(shape(&session.seen), expected_shape);
        assert_eq!(session.seen.last(), Some(&Incoming::Close(Some(info(1000, "")))));
        assert_closed(&session.end, Some(info(1000, "")));
    });
}

#[cfg(feature = "deflate")]
#[test]
fn compressed_echo_round_trips_through_the_blocking_driver() {
    use wscore::deflate::DeflateConfig;
    bounded(Duration::from_secs(120), || {
        let config = Config { deflate: Some(DeflateConfig::default()), ..Config::default() };
        let server =
            Server::start(ServerOptions { config, ..ServerOptions::default() }, Script::Echo, 1);
        let options = ClientOptions { config, ..ClientOptions::default() };
        let mut ws = WebSocket::connect_with(&server.url(), &options).expect("connect");
        // Past the write buffer too: compressed messages are built whole.
        for size in [0, 1, 1000, 70_000, 1 << 20] {
            let text = text_of_len(size);
            ws.send_text(&text).expect("send text");
            match ws.read().expect("text echo") {
                Incoming::Text(got) => assert_same(got.as_bytes(), text.as_bytes(), "text"),
                other => panic!("expected text of {size} bytes, got {:?}", shape(&[other])),
            }
        }
        ws.close(CloseCode::NORMAL, "").expect("close");
        drop(ws);
        assert_closed(&server.session().end, Some(info(1000, "")));
    });
}

#[test]
fn a_message_over_the_frame_limit_is_refused_with_1009() {
    bounded(Duration::from_secs(120), || {
        let (listener, port) = listen();
        let server = thread::spawn(move || {
            let mut ws = WebSocket::accept(accept_one(&listener)).expect("accept");
            let result = ws.read();
            // The Close 1009 is out; end our half and swallow the rest of
            // the payload and the client's Close reply, so that no reset
            // races the client's reading of our Close.
            ws.get_ref().shutdown(Shutdown::Write).expect("shutdown");
            let rest = drain(ws.get_mut());
            (result, rest.len())
        });
        let mut ws = WebSocket::connect(&url(port)).expect("connect");
        // The driver sends a message as one frame: one byte over 16 MiB.
        ws.send_binary(&bytes_of_len((16 << 20) + 1)).expect("send");
        let refusal = info(1009, "frame too large");
        assert_eq!(ws.read().expect("the server's Close"), Incoming::Close(Some(refusal.clone())));
        match ws.read() {
            Err(Error::Closed(got)) => assert_eq!(got, Some(refusal)),
            other => panic!("read after the server's Close: {other:?}"),
        }
        drop(ws);

        let (result, rest) = server.join().expect("server thread");
        let too_large = wscore::ProtocolError::FrameTooLarge { len: (16 << 20) + 1, max: 16 << 20 };
        match result {
            Err(Error::Protocol(wscore::Error::Protocol(e))) => assert_eq!(e, too_large),
            other => panic!("expected Protocol(FrameTooLarge), got {other:?}"),
        }
        assert!(rest > 0, "the client's Close reply follows the payload");
    });
}

// ---------------------------------------------------------------------------
// 2. A fragmented message, sent with the core
// ---------------------------------------------------------------------------

#[test]
fn fragmented_messages_with_a_ping_between_fragments_come_back_whole() {
    bounded(Duration::from_secs(20), || {
        let server = Server::echo();
        let mut client = CoreClient::connect(server.port);

        // 'é' is bytes 1..3, '€' bytes 4..7, '😀' bytes 8..12: each cut
        // below falls inside one of them.
        let text = "hé!€ 😀 done";
        let bytes = text.as_bytes();
        assert_eq!((text.find('é'), text.find('€'), text.find('😀')), (Some(1), Some(4), Some(8)));
        let cuts = [(0, 2), (2, 6), (6, 11), (11, bytes.len())];
        for (i, &(from, to)) in cuts.iter().enumerate() {
            let fin = i == cuts.len() - 1;
            let payload = &bytes[from..to];
            client.send(Outgoing::Fragment { kind: DataKind::Text, payload, fin });
            if i == 0 {
                client.send(Outgoing::Ping(b"between"));
            }
        }
        // Binary in three pieces, an empty one in the middle, a Pong between.
        let data = bytes_of_len(300);
        client.send(Outgoing::Fragment {
            kind: DataKind::Binary,
            payload: &data[..100],
            fin: false,
        });
        client.send(Outgoing::Fragment { kind: DataKind::Binary, payload: &[], fin: false });
        client.send(Outgoing::Pong(b"heartbeat"));
        client.send(Outgoing::Fragment {
            kind: DataKind::Binary,
            payload: &data[100..],
            fin: true,
        });

        assert_eq!(client.next(), Ok(Frame::Pong(b"between".to_vec())));
        assert_eq!(client.next(), Ok(Frame::Message(DataKind::Text, bytes.to_vec())));
        assert_eq!(client.next(), Ok(Frame::Message(DataKind::Binary, data.clone())));

        client.send(Outgoing::Close(Some(CloseFrame::new(CloseCode::NORMAL))));
        assert_eq!(client.next(), Ok(Frame::Close(Some((1000, String::new())))));
        assert_eq!(client.next(), Err(Ok(())), "the server ends the TCP connection");
        assert_eq!(client.conn.state(), State::Closed(CloseCode::NORMAL));
        assert!(client.conn.close_expected());
        drop(client);

        let session = server.session();
        assert_eq!(
            session.seen,
            [
                Incoming::Ping(b"between".to_vec().into()),
                Incoming::Text(text.into()),
                Incoming::Pong(b"heartbeat".to_vec().into()),
                Incoming::Binary(data.into()),
                Incoming::Close(Some(info(1000, ""))),
            ]
        );
        assert_closed(&session.end, Some(info(1000, "")));
    });
}

#[test]
fn a_first_frame_in_the_same_packet_as_the_101_is_read() {
    bounded(Duration::from_secs(20), || {
        let (listener, port) = listen();
        let server = thread::spawn(move || {
            let mut stream = accept_one(&listener);
            let mut buf = Vec::new();
            read_head(&mut stream, &mut buf);
            let mut slots = [EMPTY_HEADER; DEFAULT_MAX_HEADERS];
            let Ok(Status::Complete(request)) =
                parse_request(&buf, &mut slots, DEFAULT_MAX_HEAD_LEN)
            else {
                panic!("not an upgrade request");
            };
            let mut out = vec![0u8; 1024];
            let n = write_accept(&request, &AcceptOptions::default(), &mut out).expect("101");
            out.truncate(n);
            out.extend(raw_frame(0x81, 5, b"hello", None));
            out.extend(raw_frame(0x88, 2, &1000u16.to_be_bytes(), None));
            stream.write_all(&out).expect("one write: the 101 and two frames");
            drain(&mut stream)
        });
        let mut ws = WebSocket::connect(&url(port)).expect("connect");
        assert_eq!(ws.read().expect("the first frame"), Incoming::Text("hello".into()));
        assert_eq!(ws.read().expect("the Close"), Incoming::Close(Some(info(1000, ""))));
        drop(ws); // the client's Close reply is out; the server does not hang up
        let sent = server.join().expect("raw server");
        let mut decoder = Connection::new(Role::Server, Config::default());
        assert_eq!(
            decode_all(&mut decoder, sent),
            Ok(vec![Frame::Close(Some((1000, String::new())))])
        );
    });
}

#[test]
fn frames_in_the_same_packet_as_the_request_are_read() {
    bounded(Duration::from_secs(20), || {
        let server = Server::echo();
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
        let host = format!("127.0.0.1:{}", server.port);
        let key = ClientKey::from_random(*b"sixteen  random.");
        let mut out = vec![0u8; 1024];
        let n = write_request(&ClientRequest::new(&host, "/"), &key, &mut out).expect("request");
        out.truncate(n);
        out.extend(raw_frame(0x81, 5, b"hello", Some([9, 8, 7, 6])));
        out.extend(raw_frame(0x88, 2, &1000u16.to_be_bytes(), Some([1, 2, 3, 4])));
        stream.write_all(&out).expect("one write: the request and two frames");
        let mut received = Vec::new();
        let head_len = read_head(&mut stream, &mut received);
        assert!(received.starts_with(b"HTTP/1.1 101 "), "{:?}", String::from_utf8_lossy(&received));
        received.drain(..head_len);
        received.extend(drain(&mut stream)); // the server hangs up after the Close
        let mut decoder = Connection::new(Role::Client, Config::default());
        assert_eq!(
            decode_all(&mut decoder, received),
            Ok(vec![
                Frame::Message(DataKind::Text, b"hello".to_vec()),
                Frame::Close(Some((1000, String::new()))),
            ])
        );
        drop(stream);

        let session = server.session();
        let close = Incoming::Close(Some(info(1000, "")));
        assert_eq!(session.seen, [Incoming::Text("hello".into()), close]);
        assert_closed(&session.end, Some(info(1000, "")));
    });
}

// ---------------------------------------------------------------------------
// 3. Ping and Pong
// ---------------------------------------------------------------------------

#[test]
fn ping_gets_its_pong_and_the_server_sees_the_ping() {
    bounded(Duration::from_secs(20), || {
        let server = Server::echo();
        let mut ws = WebSocket::connect(&server.url()).expect("connect");
        ws.ping(b"abc").expect("ping");
        assert_eq!(ws.read().expect("pong"), Incoming::Pong(b"abc".to_vec().into()));
        ws.ping(b"").expect("empty ping");
        assert_eq!(ws.read().expect("pong"), Incoming::Pong(Vec::new().into()));
        let largest = [0x5a; 125];
        ws.ping(&largest).expect("125-byte ping");
        assert_eq!(ws.read().expect("pong"), Incoming::Pong(largest.to_vec().into()));
        // An unsolicited Pong is delivered, and gets no answer.
        ws.pong(b"one-way").expect("pong");
        ws.send_text("after").expect("text");
        assert_eq!(ws.read().expect("echo"), Incoming::Text("after".into()));
        ws.close(CloseCode::NORMAL, "").expect("close");
        drop(ws);

        let session = server.session();
        assert_eq!(
            session.seen,
            [
                Incoming::Ping(b"abc".to_vec().into()),
                Incoming::Ping(Vec::new().into()),
                Incoming::Ping(largest.to_vec().into()),
                Incoming::Pong(b"one-way".to_vec().into()),
                Incoming::Text("after".into()),
                Incoming::Close(Some(info(1000, ""))),
            ]
        );
        assert_closed(&session.end, Some(info(1000, "")));
    });
}

#[test]
fn server_ping_gets_the_clients_automatic_pong() {
    bounded(Duration::from_secs(20), || {
        let server = Server::start(ServerOptions::default(), Script::PingBack, 1);
        let mut ws = WebSocket::connect(&server.url()).expect("connect");
        ws.send_text("ping me").expect("send");
        assert_eq!(
            ws.read().expect("the server's Ping"),
            Incoming::Ping(b"ping me".to_vec().into())
        );
        assert_eq!(ws.read().expect("echo"), Incoming::Text("ping me".into()));
        ws.close(CloseCode::NORMAL, "").expect("close");
        drop(ws);

        let session = server.session();
        assert_eq!(
            session.seen,
            [
                Incoming::Text("ping me".into()),
                Incoming::Pong(b"ping me".to_vec().into()),
                Incoming::Close(Some(info(1000, ""))),
            ]
        );
        assert_closed(&session.end, Some(info(1000, "")));
    });
}

// ---------------------------------------------------------------------------
// 4. Closing handshakes
// ---------------------------------------------------------------------------

/// The client closes with `code` and `reason`; both sides end with
/// `Error::Closed` carrying what the peer sent.
fn client_close(code: u16, reason: &'static str) {
    let server = Server::echo();
    let mut ws = WebSocket::connect(&server.url()).expect("connect");
    ws.close(CloseCode(code), reason).expect("close");
    assert_eq!(ws.connection().state(), State::Closed(CloseCode(code)));
    // The server's reply echoes the code, without a reason.
    match ws.read() {
        Err(Error::Closed(got)) => assert_eq!(got, Some(info(code, ""))),
        other => panic!("read after close: {other:?}"),
    }
    match ws.send_text("too late") {
        Err(Error::Protocol(wscore::Error::Closed)) => {}
        other => panic!("send after close: {other:?}"),
    }
    drop(ws);

    let session = server.session();
    assert_eq!(session.seen, [Incoming::Close(Some(info(code, reason)))]);
    assert_closed(&session.end, Some(info(code, reason)));
}

#[test]
fn client_closes_with_1000() {
    bounded(Duration::from_secs(20), || client_close(1000, ""));
}

#[test]
fn client_closes_with_4000_and_a_reason() {
    bounded(Duration::from_secs(20), || client_close(4000, "bye"));
}

#[test]
fn server_closes_and_the_client_sees_its_code() {
    bounded(Duration::from_secs(20), || {
        let reason = "server says bye";
        let script = Script::CloseOnText(CloseCode(4001), reason);
        let server = Server::start(ServerOptions::default(), script, 1);
        let mut ws = WebSocket::connect(&server.url()).expect("connect");
        ws.send_text("close, please").expect("send");
        assert_eq!(
            ws.read().expect("the server's Close"),
            Incoming::Close(Some(info(4001, reason)))
        );
        match ws.read() {
            Err(Error::Closed(got)) => assert_eq!(got, Some(info(4001, reason))),
            other => panic!("read after the server's Close: {other:?}"),
        }
        assert_eq!(ws.connection().state(), State::Closed(CloseCode(4001)));
        assert!(ws.connection().close_expected());
        drop(ws);

        let session = server.session();
        assert_eq!(session.seen, [Incoming::Text("close, please".into())]);
        assert!(session.end.is_ok(), "the server's close: {:?}", session.end);
    });
}

#[test]
fn simultaneous_close_completes_on_both_sides() {
    bounded(Duration::from_secs(20), || {
        let script = Script::CloseOnText(CloseCode(4001), "server");
        let server = Server::start(ServerOptions::default(), script, 1);
        let mut ws = WebSocket::connect(&server.url()).expect("connect");
        // The client sends its Close without reading, so both Closes cross.
        ws.send_text("close now").expect("send");
        ws.close(CloseCode(4000), "client").expect("close");
        // Each side's state holds the code the peer sent.
        assert_eq!(ws.connection().state(), State::Closed(CloseCode(4001)));
        match ws.read() {
            Err(Error::Closed(got)) => assert_eq!(got, Some(info(4001, "server"))),
            other => panic!("read after close: {other:?}"),
        }
        drop(ws);

        let session = server.session();
        assert_eq!(session.seen, [Incoming::Text("close now".into())]);
        assert!(session.end.is_ok(), "the server's close: {:?}", session.end);
    });
}

// ---------------------------------------------------------------------------
// 5. A peer that vanishes mid-frame
// ---------------------------------------------------------------------------

#[test]
fn server_vanishing_mid_frame_is_an_unexpected_eof_for_the_client() {
    bounded(Duration::from_secs(20), || {
        let (listener, port) = listen();
        let server = thread::spawn(move || {
            let mut stream = accept_one(&listener);
            raw_accept(&mut stream);
            // A binary frame announcing 1000 bytes, and only 10 of them.
            let half = raw_frame(0x82, 1000, &[7; 10], None);
            stream.write_all(&half).expect("send half a frame");
            stream.shutdown(Shutdown::Both).expect("shutdown");
        });
        let mut ws = WebSocket::connect(&url(port)).expect("connect");
        let started = StdInstant::now();
        match ws.read() {
            Err(Error::Protocol(wscore::Error::UnexpectedEof)) => {}
            other => panic!("expected Protocol(UnexpectedEof), got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
        assert_eq!(ws.connection().state(), State::Closed(CloseCode::ABNORMAL));
        match ws.read() {
            Err(Error::Closed(None)) => {}
            other => panic!("read after the error: {other:?}"),
        }
        server.join().expect("raw server");
    });
}

#[test]
fn client_vanishing_mid_frame_is_an_unexpected_eof_for_the_server() {
    bounded(Duration::from_secs(20), || {
        let (listener, port) = listen();
        let server = thread::spawn(move || {
            let stream = accept_one(&listener);
            let mut ws = WebSocket::accept(stream).expect("accept");
            let started = StdInstant::now();
            let result = ws.read();
            (result, started.elapsed(), ws.connection().state())
        });
        let mut stream = raw_connect(port);
        let half = raw_frame(0x81, 1000, b"0123456789", Some([1, 2, 3, 4]));
        stream.write_all(&half).expect("send half a frame");
        stream.shutdown(Shutdown::Both).expect("shutdown");
        drop(stream);

        let (result, took, state) = server.join().expect("server thread");
        match result {
            Err(Error::Protocol(wscore::Error::UnexpectedEof)) => {}
            other => panic!("expected Protocol(UnexpectedEof), got {other:?}"),
        }
        assert!(took < Duration::from_secs(2), "took {took:?}");
        assert_eq!(state, State::Closed(CloseCode::ABNORMAL));
    });
}

/// A raw server that sends a text frame that is not UTF-8 ("ok" and a lone
/// continuation byte) and returns what the client sent back.
fn bad_utf8_server() -> (u16, JoinHandle<Vec<u8>>) {
    let (listener, port) = listen();
    let server = thread::spawn(move || {
        let mut stream = accept_one(&listener);
        raw_accept(&mut stream);
        stream.write_all(&raw_frame(0x81, 3, b"ok\x80", None)).expect("send");
        drain(&mut stream)
    });
    (port, server)
}

#[test]
fn invalid_utf8_from_the_server_fails_the_client_with_1007() {
    bounded(Duration::from_secs(20), || {
        let (port, server) = bad_utf8_server();
        let mut ws = WebSocket::connect(&url(port)).expect("connect");
        match ws.read() {
            Err(Error::Protocol(wscore::Error::Protocol(wscore::ProtocolError::InvalidUtf8))) => {}
            other => panic!("expected Protocol(InvalidUtf8), got {other:?}"),
        }
        assert_eq!(ws.connection().state(), State::Closed(CloseCode::INVALID_PAYLOAD));
        assert!(ws.connection().close_expected());
        drop(ws);
        let sent = server.join().expect("raw server");
        let mut decoder = Connection::new(Role::Server, Config::default());
        assert_eq!(
            decode_all(&mut decoder, sent),
            Ok(vec![Frame::Close(Some((1007, "invalid UTF-8 in text".into())))])
        );
    });
}

/// After a failure `read` is `Error::Closed`, as it is after a keepalive
/// timeout or a lost transport (see the mid-frame tests), whether or not
/// bytes of the offending frame are still buffered.
#[test]
fn read_after_a_protocol_failure_is_closed() {
    bounded(Duration::from_secs(20), || {
        let (port, server) = bad_utf8_server();
        let mut ws = WebSocket::connect(&url(port)).expect("connect");
        assert!(matches!(ws.read(), Err(Error::Protocol(_))));
        let second = ws.read();
        drop(ws);
        server.join().expect("raw server");
        match second {
            Err(Error::Closed(None)) => {}
            other => panic!("read after the failure: expected Closed(None), got {other:?}"),
        }
    });
}

// ---------------------------------------------------------------------------
// 6. Keepalive
// ---------------------------------------------------------------------------

const KEEPALIVE: Keepalive =
    Keepalive { interval: Duration::from_millis(200), timeout: Duration::from_millis(300) };

fn keepalive_options() -> ClientOptions<'static> {
    ClientOptions {
        config: Config { keepalive: Some(KEEPALIVE), ..Config::default() },
        ..ClientOptions::default()
    }
}

#[test]
fn keepalive_gives_up_on_a_silent_server() {
    bounded(Duration::from_secs(20), || {
        let (listener, port) = listen();
        let server = thread::spawn(move || {
            let mut stream = accept_one(&listener);
            raw_accept(&mut stream);
            drain(&mut stream) // reads and discards, answers nothing
        });
        let mut ws = WebSocket::connect_with(&url(port), &keepalive_options()).expect("connect");
        let started = StdInstant::now();
        match ws.read() {
            Err(Error::Protocol(wscore::Error::KeepaliveTimeout)) => {}
            other => panic!("expected Protocol(KeepaliveTimeout), got {other:?}"),
        }
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(450), "gave up after only {took:?}");
        assert!(took < Duration::from_secs(2), "gave up only after {took:?}");
        assert_eq!(ws.connection().state(), State::Closed(CloseCode::INTERNAL_ERROR));
        drop(ws);

        // The silent server got one keepalive Ping (payload: Ping number 1),
        // then the Close with 1011.
        let sent = server.join().expect("raw server");
        let mut decoder = Connection::new(Role::Server, Config::default());
        assert_eq!(
            decode_all(&mut decoder, sent),
            Ok(vec![
                Frame::Ping(1u32.to_be_bytes().to_vec()),
                Frame::Close(Some((1011, "keepalive timeout".into()))),
            ])
        );
    });
}

#[test]
fn keepalive_is_answered_by_a_live_server() {
    bounded(Duration::from_secs(20), || {
        let server = Server::echo();
        let mut ws = WebSocket::connect_with(&server.url(), &keepalive_options()).expect("connect");
        let started = StdInstant::now();
        let mut pongs = Vec::new();
        while started.elapsed() < Duration::from_secs(1) {
            match ws.read_timeout(Duration::from_millis(700)) {
                Ok(None) => {}
                Ok(Some(Incoming::Pong(payload))) => pongs.push(payload),
                other => panic!("at {:?}: {other:?}", started.elapsed()),
            }
        }
        // A Ping every 200 ms, each answered: Pings 1, 2, 3, ... in order.
        assert!(pongs.len() >= 3, "only {} keepalive Pongs in 1 s", pongs.len());
        let numbered: Vec<Vec<u8>> =
            (1..=pongs.len() as u32).map(|i| i.to_be_bytes().to_vec()).collect();
        assert_eq!(pongs, numbered);
        assert_eq!(ws.connection().state(), State::Open);
        ws.close(CloseCode::NORMAL, "").expect("close");
        drop(ws);

        // The server saw nothing but the keepalive Pings (a Ping may have
        // gone out after the last Pong the client read) and the Close.
        let session = server.session();
        let (last, pings) = session.seen.split_last().expect("something seen");
        assert_eq!(*last, Incoming::Close(Some(info(1000, ""))));
        assert!(pings.len() == pongs.len() || pings.len() == pongs.len() + 1, "{pings:?}");
        for (i, ping) in pings.iter().enumerate() {
            assert_eq!(*ping, Incoming::Ping((i as u32 + 1).to_be_bytes().to_vec().into()));
        }
        assert_closed(&session.end, Some(info(1000, "")));
    });
}

#[test]
fn server_keepalive_gives_up_on_a_silent_client() {
    bounded(Duration::from_secs(20), || {
        let (listener, port) = listen();
        let server = thread::spawn(move || {
            let options = ServerOptions {
                config: Config { keepalive: Some(KEEPALIVE), ..Config::default() },
                ..ServerOptions::default()
            };
            let mut ws = WebSocket::accept_with(accept_one(&listener), &options).expect("accept");
            let started = StdInstant::now();
            let result = ws.read();
            (result, started.elapsed(), ws.connection().state())
        });
        let mut stream = raw_connect(port);
        let sent = drain(&mut stream); // answers nothing; the server hangs up

        let (result, took, state) = server.join().expect("server thread");
        match result {
            Err(Error::Protocol(wscore::Error::KeepaliveTimeout)) => {}
            other => panic!("expected Protocol(KeepaliveTimeout), got {other:?}"),
        }
        assert!(took >= Duration::from_millis(450), "gave up after only {took:?}");
        assert!(took < Duration::from_secs(2), "gave up only after {took:?}");
        assert_eq!(state, State::Closed(CloseCode::INTERNAL_ERROR));
        let mut decoder = Connection::new(Role::Client, Config::default());
        assert_eq!(
            decode_all(&mut decoder, sent),
            Ok(vec![
                Frame::Ping(1u32.to_be_bytes().to_vec()),
                Frame::Close(Some((1011, "keepalive timeout".into()))),
            ])
        );
    });
}

// ---------------------------------------------------------------------------
// Close timeout
// ---------------------------------------------------------------------------

const CLOSE_TIMEOUT: Duration = Duration::from_millis(300);

fn short_close_timeout() -> ClientOptions<'static> {
    ClientOptions {
        config: Config { close_timeout: CLOSE_TIMEOUT, ..Config::default() },
        ..ClientOptions::default()
    }
}

/// A raw server that reads the client's Close (8 bytes: header, mask key,
/// code 1000), answers it with `reply` (if any) but keeps the connection
/// open until the client hangs up; it returns the client's Close, decoded.
fn unresponsive_server(reply: Option<&'static [u8]>) -> (u16, JoinHandle<Vec<Frame>>) {
    let (listener, port) = listen();
    let server = thread::spawn(move || {
        let mut stream = accept_one(&listener);
        raw_accept(&mut stream);
        let mut close = [0u8; 8];
        stream.read_exact(&mut close).expect("the client's Close");
        if let Some(reply) = reply {
            stream.write_all(reply).expect("send the Close reply");
        }
        assert_eq!(drain(&mut stream), b"", "nothing after the Close");
        let mut decoder = Connection::new(Role::Server, Config::default());
        decode_all(&mut decoder, close.to_vec()).expect("a valid frame")
    });
    (port, server)
}

#[test]
fn close_times_out_when_the_server_never_answers() {
    bounded(Duration::from_secs(20), || {
        let (port, server) = unresponsive_server(None);
        let mut ws = WebSocket::connect_with(&url(port), &short_close_timeout()).expect("connect");
        let started = StdInstant::now();
        match ws.close(CloseCode::NORMAL, "") {
            Err(Error::Protocol(wscore::Error::CloseTimeout)) => {}
            other => panic!("expected Protocol(CloseTimeout), got {other:?}"),
        }
        let took = started.elapsed();
        assert!(took >= CLOSE_TIMEOUT - Duration::from_millis(50), "gave up after only {took:?}");
        assert!(took < Duration::from_secs(2), "gave up only after {took:?}");
        assert_eq!(ws.connection().state(), State::Closed(CloseCode::ABNORMAL));
        match ws.read() {
            Err(Error::Closed(None)) => {}
            other => panic!("read after the timeout: {other:?}"),
        }
        drop(ws);
        let close = server.join().expect("raw server");
        assert_eq!(close, [Frame::Close(Some((1000, String::new())))]);
    });
}

#[test]
fn client_waits_for_the_servers_end_of_stream_at_most_the_close_timeout() {
    bounded(Duration::from_secs(20), || {
        // The server answers the Close (1000) but never closes TCP, though
        // RFC 6455 section 7.1.1 has the server close it first.
        let (port, server) = unresponsive_server(Some(&[0x88, 0x02, 0x03, 0xe8]));
        let mut ws = WebSocket::connect_with(&url(port), &short_close_timeout()).expect("connect");
        let started = StdInstant::now();
        ws.close(CloseCode::NORMAL, "").expect("the closing handshake completed");
        let took = started.elapsed();
        assert!(took >= CLOSE_TIMEOUT - Duration::from_millis(50), "returned after only {took:?}");
        assert!(took < Duration::from_secs(2), "returned only after {took:?}");
        assert_eq!(ws.connection().state(), State::Closed(CloseCode::NORMAL));
        match ws.read() {
            Err(Error::Closed(got)) => assert_eq!(got, Some(info(1000, ""))),
            other => panic!("read after close: {other:?}"),
        }
        drop(ws);
        let close = server.join().expect("raw server");
        assert_eq!(close, [Frame::Close(Some((1000, String::new())))]);
    });
}

/// The close timeout counts from the moment `close` is called, however
/// long the connection was idle before.
#[test]
fn close_after_an_idle_spell_waits_for_the_reply() {
    bounded(Duration::from_secs(20), || {
        let server = Server::echo();
        let mut ws =
            WebSocket::connect_with(&server.url(), &short_close_timeout()).expect("connect");
        thread::sleep(CLOSE_TIMEOUT + Duration::from_millis(100)); // idle, not reading
        let result = ws.close(CloseCode::NORMAL, "");
        drop(ws);
        let session = server.session();
        assert!(result.is_ok(), "close after an idle spell: {result:?}");
        assert_eq!(session.seen, [Incoming::Close(Some(info(1000, "")))]);
    });
}

#[test]
fn close_with_an_invalid_code_or_reason_is_refused_and_the_connection_stays_open() {
    bounded(Duration::from_secs(20), || {
        let server = Server::echo();
        let mut ws = WebSocket::connect(&server.url()).expect("connect");
        for code in [1005, 1006, 1015, 999, 5000] {
            match ws.close(CloseCode(code), "") {
                Err(Error::Protocol(wscore::Error::InvalidCloseCode(c))) => assert_eq!(c, code),
                other => panic!("close({code}): expected InvalidCloseCode, got {other:?}"),
            }
        }
        let long = "r".repeat(124);
        match ws.close(CloseCode::NORMAL, &long) {
            Err(Error::Protocol(wscore::Error::ControlPayloadTooLong { .. })) => {}
            other => panic!("close with a 124-byte reason: {other:?}"),
        }
        assert_eq!(ws.connection().state(), State::Open);
        ws.send_text("still open").expect("send");
        assert_eq!(ws.read().expect("echo"), Incoming::Text("still open".into()));
        // 123 bytes is the longest reason that fits.
        let longest = "r".repeat(123);
        ws.close(CloseCode::NORMAL, &longest).expect("close");
        drop(ws);

        let session = server.session();
        let close = Incoming::Close(Some(info(1000, &longest)));
        assert_eq!(session.seen, [Incoming::Text("still open".into()), close]);
        assert_closed(&session.end, Some(info(1000, &longest)));
    });
}

// ---------------------------------------------------------------------------
// 7. The opening handshake
// ---------------------------------------------------------------------------

#[test]
fn connect_to_a_closed_port_is_an_io_error() {
    bounded(Duration::from_secs(20), || {
        let (listener, port) = listen();
        drop(listener); // nothing listens there any more
        match WebSocket::connect(&url(port)) {
            Err(Error::Connect { addr, source }) => {
                assert_eq!(source.kind(), io::ErrorKind::ConnectionRefused, "{source}");
                assert_eq!(addr, format!("127.0.0.1:{port}"));
            }
            other => panic!("expected Connect(ConnectionRefused), got {other:?}"),
        }
        let timeout = Some(Duration::from_secs(5));
        let options = ClientOptions { connect_timeout: timeout, ..ClientOptions::default() };
        match WebSocket::connect_with(&url(port), &options) {
            Err(Error::Connect { source, .. }) => {
                assert_eq!(source.kind(), io::ErrorKind::ConnectionRefused, "{source}")
            }
            other => {
                panic!("with a connect timeout: expected Io(ConnectionRefused), got {other:?}")
            }
        }
    });
}

#[test]
fn wss_needs_tls() {
    bounded(Duration::from_secs(20), || {
        // A listener that must see no connection: wss:// fails before connecting.
        let (listener, port) = listen();
        match WebSocket::connect(&format!("wss://127.0.0.1:{port}/")) {
            Err(Error::TlsRequired) => {}
            other => panic!("expected TlsRequired, got {other:?}"),
        }
        listener.set_nonblocking(true).expect("non-blocking");
        assert!(matches!(listener.accept(), Err(e) if e.kind() == io::ErrorKind::WouldBlock));
    });
}

#[test]
fn a_redirect_is_rejected_with_its_status_and_location() {
    bounded(Duration::from_secs(20), || {
        let (listener, port) = listen();
        let server = thread::spawn(move || {
            let mut stream = accept_one(&listener);
            let mut request = Vec::new();
            read_head(&mut stream, &mut request);
            stream
                .write_all(
                    b"HTTP/1.1 302 Found\r\nLocation: ws://elsewhere/\r\nContent-Length: 0\r\n\r\n",
                )
                .expect("send the redirect");
            drain(&mut stream) // until the client hangs up
        });
        match WebSocket::connect(&url(port)) {
            Err(Error::Rejected { status, headers }) => {
                assert_eq!(status, 302);
                let expected = [("Location", "ws://elsewhere/"), ("Content-Length", "0")];
                let expected: Vec<(String, String)> =
                    expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                assert_eq!(headers, expected);
            }
            other => panic!("expected Rejected {{ status: 302, .. }}, got {other:?}"),
        }
        assert_eq!(server.join().expect("raw server"), b"", "the client sent nothing more");
    });
}

#[test]
fn origin_check_refuses_other_sites_with_403() {
    bounded(Duration::from_secs(20), || {
        let options = ServerOptions {
            allowed_origins: Some(&["https://good.example"]),
            ..ServerOptions::default()
        };
        let server = Server::start(options, Script::Echo, 3);
        let client = |headers: &'static [(&'static str, &'static str)]| {
            WebSocket::connect_with(&server.url(), &ClientOptions { headers, ..Default::default() })
        };

        match client(&[("Origin", "https://evil.example")]) {
            Err(Error::Rejected { status: 403, .. }) => {}
            other => panic!("expected Rejected {{ status: 403, .. }}, got {other:?}"),
        }
        for headers in [&[("Origin", "https://good.example")][..], &[]] {
            let mut ws = client(headers).expect("accepted");
            ws.send_text("hi").expect("send");
            assert_eq!(ws.read().expect("echo"), Incoming::Text("hi".into()));
            ws.close(CloseCode::NORMAL, "").expect("close");
        }

        let mut sessions = server.finish().into_iter();
        match sessions.next() {
            Some(Err(Error::Rejected { status: 403, .. })) => {}
            other => panic!("the server's view of the evil origin: {other:?}"),
        }
        for session in sessions {
            let session = session.expect("accepted");
            let close = Incoming::Close(Some(info(1000, "")));
            assert_eq!(session.seen, [Incoming::Text("hi".into()), close]);
        }
    });
}

#[test]
fn subprotocol_is_the_first_client_offer_the_server_speaks() {
    bounded(Duration::from_secs(20), || {
        let cases: [(&'static [&'static str], Option<&str>); 4] = [
            (&["v1", "v2"], Some("v1")),
            (&["v3", "v2", "v1"], Some("v2")),
            (&["v3"], None),
            (&[], None),
        ];
        let options = ServerOptions { subprotocols: &["v2", "v1"], ..ServerOptions::default() };
        let server = Server::start(options, Script::Echo, cases.len());
        for (offer, chosen) in cases {
            let options = ClientOptions { subprotocols: offer, ..ClientOptions::default() };
            let mut ws = WebSocket::connect_with(&server.url(), &options).expect("connect");
            assert_eq!(ws.subprotocol(), chosen, "client offering {offer:?}");
            ws.close(CloseCode::NORMAL, "").expect("close");
        }
        let sessions = server.finish();
        for (session, (offer, chosen)) in sessions.into_iter().zip(cases) {
            let session = session.expect("accepted");
            assert_eq!(session.subprotocol.as_deref(), chosen, "server, client offering {offer:?}");
        }
    });
}

#[test]
fn a_wrong_accept_key_fails_the_handshake() {
    bounded(Duration::from_secs(20), || {
        let (listener, port) = listen();
        let server = thread::spawn(move || {
            let mut stream = accept_one(&listener);
            let mut request = Vec::new();
            read_head(&mut stream, &mut request);
            // The RFC's sample answer, for another key than the client's.
            let answer = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
            stream.write_all(answer).expect("send the 101");
            drain(&mut stream)
        });
        match WebSocket::connect(&url(port)) {
            Err(Error::Handshake(wscore::handshake::HandshakeError::AcceptMismatch)) => {}
            other => panic!("expected Handshake(AcceptMismatch), got {other:?}"),
        }
        assert_eq!(server.join().expect("raw server"), b"", "no frame after a failed handshake");
    });
}

#[test]
fn an_oversized_request_head_is_refused_with_431() {
    bounded(Duration::from_secs(20), || {
        let server = Server::echo();
        let cookie = "c".repeat(9000); // over the 8 KiB head limit
        let headers = [("Cookie", cookie.as_str())];
        match WebSocket::connect_with(
            &server.url(),
            &ClientOptions { headers: &headers, ..Default::default() },
        ) {
            Err(Error::Rejected { status: 431, .. }) => {}
            other => panic!("expected Rejected {{ status: 431, .. }}, got {other:?}"),
        }
        match server.finish().pop() {
            Some(Err(Error::Handshake(wscore::handshake::HandshakeError::HeadTooLarge {
                limit,
            }))) => {
                assert_eq!(limit, DEFAULT_MAX_HEAD_LEN)
            }
            other => panic!("the server's view: {other:?}"),
        }
    });
}

#[test]
fn a_subprotocol_the_client_did_not_offer_fails_the_handshake() {
    bounded(Duration::from_secs(20), || {
        let (listener, port) = listen();
        let server = thread::spawn(move || {
            let mut stream = accept_one(&listener);
            let mut buf = Vec::new();
            read_head(&mut stream, &mut buf);
            let mut slots = [EMPTY_HEADER; DEFAULT_MAX_HEADERS];
            let Ok(Status::Complete(request)) =
                parse_request(&buf, &mut slots, DEFAULT_MAX_HEAD_LEN)
            else {
                panic!("not an upgrade request");
            };
            // write_accept_key does not check the choice against the offer.
            let options = AcceptOptions { subprotocol: Some("v9"), ..AcceptOptions::default() };
            let mut out = [0u8; 1024];
            let n = wscore::handshake::write_accept_key(&request.accept_key(), &options, &mut out)
                .expect("101");
            stream.write_all(&out[..n]).expect("send the 101");
            drain(&mut stream)
        });
        let options = ClientOptions { subprotocols: &["v1", "v2"], ..ClientOptions::default() };
        match WebSocket::connect_with(&url(port), &options) {
            Err(Error::Handshake(wscore::handshake::HandshakeError::SubprotocolNotOffered)) => {}
            other => panic!("expected Handshake(SubprotocolNotOffered), got {other:?}"),
        }
        assert_eq!(server.join().expect("raw server"), b"", "no frame after a failed handshake");
    });
}

#[test]
fn a_server_that_never_answers_the_handshake_times_out() {
    bounded(Duration::from_secs(20), || {
        let (listener, port) = listen();
        let silent = thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            thread::sleep(Duration::from_millis(1500)); // accepts TCP, says nothing
            drop(stream);
        });
        let config = Config { handshake_timeout: Duration::from_millis(300), ..Config::default() };
        let options = ClientOptions { config, ..ClientOptions::default() };
        let started = std::time::Instant::now();
        match WebSocket::connect_with(&url(port), &options) {
            Err(Error::Protocol(wscore::Error::HandshakeTimeout)) => {}
            other => panic!("expected HandshakeTimeout, got {other:?}"),
        }
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(290) && took < Duration::from_millis(1200),
            "{took:?}"
        );
        silent.join().unwrap();
    });
}

/// The replies to everything one read delivered go out in one write: ten
/// messages sent in one packet come back in the client's first read.
#[test]
fn replies_to_one_read_are_corked_into_one_write() {
    bounded(Duration::from_secs(20), || {
        let server = Server::echo();
        let mut stream = raw_connect(server.port);
        let burst: Vec<u8> =
            (0..10u8).flat_map(|i| raw_frame(0x82, 10, &[i; 10], Some([1, 2, 3, 4]))).collect();
        stream.write_all(&burst).expect("send ten frames at once");
        stream.set_read_timeout(Some(IO_LIMIT)).expect("read timeout");
        let mut replies = [0u8; 240];
        let n = stream.read(&mut replies).expect("the echoes");
        let expected: Vec<u8> =
            (0..10u8).flat_map(|i| raw_frame(0x82, 10, &[i; 10], None)).collect();
        assert_eq!(&replies[..n], &expected[..], "all ten replies in the first read");
        stream.write_all(&raw_frame(0x88, 2, &[0x03, 0xE8], Some([1, 2, 3, 4]))).expect("close");
        drain(&mut stream);
        server.finish();
    });
}
