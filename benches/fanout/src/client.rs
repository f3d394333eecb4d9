//! The load client: the subscribers, on raw TCP, driven by one thread with
//! edge-triggered epoll (mio's `Poll`).
//!
//! It is kept as cheap as possible so that the server dominates: the
//! handshake is a fixed request (a fixed key; the `101` is checked, and
//! with deflate that the server accepted `permessage-deflate`), and after
//! it a subscriber only reads, in 256 KiB gulps, walking the frame headers
//! (see `frames.rs`). Slow subscribers complete the handshake and then
//! never read. Every socket is closed with a reset (`SO_LINGER` 0), so
//! that ten thousand connections per run leave no `TIME_WAIT` behind.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use socket2::{Domain, Protocol, Socket, Type};

use crate::frames::{Frames, Rules};
use crate::sys::thread_cpu;

/// Connect, handshake and blocking-read timeout.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// A run with no delivery for this long has failed (a stuck server).
pub const STALL: Duration = Duration::from_secs(10);

/// Once everything is published, what has not arrived after this long of
/// silence never will (a shedding server dropped it).
pub const DRAIN: Duration = Duration::from_secs(2);

/// The opening handshake: always the same key (RFC 6455's sample).
const REQUEST: &str = "GET / HTTP/1.1\r\n\
Host: 127.0.0.1\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n";

/// What a browser offers, for the deflate cells.
const DEFLATE_OFFER: &str =
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";

/// The subscribers of one run.
pub struct Subscribers {
    fast: Vec<Subscriber>,
    /// Connected, never read.
    _slow: Vec<TcpStream>,
    poll: Poll,
    rules: Rules,
}

/// A subscriber that reads everything.
struct Subscriber {
    stream: mio::net::TcpStream,
    frames: Frames,
}

/// What the fast subscribers received.
#[derive(Clone, Copy, Debug)]
pub struct Receipt {
    /// Messages delivered, all fast subscribers together.
    pub delivered: u64,
    /// Messages published times fast subscribers.
    pub expected: u64,
    /// From `go` to the last delivery.
    pub wall: Duration,
    /// Fast subscribers the server closed.
    pub closed: usize,
    /// This thread's CPU time over the run.
    pub client: Duration,
}

impl Subscribers {
    /// Open `fast` reading and `slow` idle subscribers to `addr`, each with
    /// its handshake done.
    pub fn connect(
        addr: SocketAddr,
        fast: usize,
        slow: usize,
        deflate: bool,
    ) -> Result<Subscribers, String> {
        let poll = Poll::new().map_err(|e| format!("epoll: {e}"))?;
        let mut subscribers = Vec::with_capacity(fast);
        for i in 0..fast {
            let stream =
                handshake(addr, deflate, false).map_err(|e| format!("subscriber {i}: {e}"))?;
            stream.set_nonblocking(true).map_err(|e| e.to_string())?;
            let mut stream = mio::net::TcpStream::from_std(stream);
            poll.registry()
                .register(&mut stream, Token(i), Interest::READABLE)
                .map_err(|e| format!("epoll_ctl: {e}"))?;
            subscribers.push(Subscriber { stream, frames: Frames::new() });
        }
        let slow = (0..slow)
            .map(|i| {
                handshake(addr, deflate, true).map_err(|e| format!("slow subscriber {i}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Subscribers { fast: subscribers, _slow: slow, poll, rules: Rules::new(deflate) })
    }

    /// Read until every fast subscriber has its `messages`. With `shed`,
    /// the server may drop messages and close subscribers: once
    /// `published()` says it is done, the run ends after [`DRAIN`] of
    /// silence. Without, either is an error.
    pub fn receive(
        &mut self,
        messages: u64,
        shed: bool,
        published: &mut dyn FnMut() -> bool,
    ) -> Result<Receipt, String> {
        let expected = messages * self.fast.len() as u64;
        let mut buf = vec![0u8; 256 * 1024];
        let mut events = Events::with_capacity(1024);
        let (start, cpu) = (Instant::now(), thread_cpu());
        let (mut last, mut delivered, mut done) = (start, 0, false);
        while delivered < expected {
            match self.poll.poll(&mut events, Some(Duration::from_millis(20))) {
                Err(e) if e.kind() != io::ErrorKind::Interrupted => {
                    return Err(format!("epoll_wait: {e}"))
                }
                _ => {}
            }
            let before = delivered;
            for event in &events {
                let subscriber = &mut self.fast[event.token().0];
                delivered += subscriber.read(&mut buf, &self.rules)?;
                if subscriber.frames.messages > messages {
                    return Err(format!("a subscriber got more than {messages} messages"));
                }
            }
            let now = Instant::now();
            if delivered > before {
                last = now;
            }
            done = done || published();
            if done && now - last >= DRAIN {
                break;
            }
            if now - last >= STALL {
                return Err(format!(
                    "no delivery for {} s ({delivered} of {expected} delivered)",
                    STALL.as_secs()
                ));
            }
        }
        let closed = self.fast.iter().filter(|s| s.frames.closed).count();
        if !shed && closed > 0 {
            return Err(format!("the server closed {closed} subscribers"));
        }
        if !shed && delivered < expected {
            return Err(format!("{} messages lost", expected - delivered));
        }
        let client = thread_cpu().saturating_sub(cpu);
        Ok(Receipt { delivered, expected, wall: last - start, closed, client })
    }
}

impl Subscriber {
    /// Read until the socket would block: the messages completed.
    fn read(&mut self, buf: &mut [u8], rules: &Rules) -> Result<u64, String> {
        let mut complete = 0;
        loop {
            match self.stream.read(buf) {
                Ok(0) => {
                    self.frames.closed = true; // no Close frame first: counted alike
                    return Ok(complete);
                }
                Ok(n) => complete += self.frames.feed(&buf[..n], rules)?,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(complete),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    self.frames.closed = true;
                    return Ok(complete);
                }
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    }
}

/// Connect to `addr` and run the opening handshake (blocking, with
/// timeouts); the stream is left blocking, set to reset when closed. A
/// `slow` subscriber keeps a small receive buffer (`SO_RCVBUF` 16 KiB),
/// so that what it does not read soon backs up into the server.
fn handshake(addr: SocketAddr, deflate: bool, slow: bool) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_linger(Some(Duration::ZERO))?;
    if slow {
        socket.set_recv_buffer_size(16 * 1024)?;
    }
    socket.connect_timeout(&addr.into(), IO_TIMEOUT)?;
    let mut stream = TcpStream::from(socket);
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let offer = if deflate { DEFLATE_OFFER } else { "" };
    stream.write_all(format!("{REQUEST}{offer}\r\n").as_bytes())?;
    // The server sends nothing after its head until the publisher starts,
    // so reads cannot take more than the head (1 KiB at most here).
    let (mut head, mut len) = ([0u8; 1024], 0);
    while !head[..len].ends_with(b"\r\n\r\n") {
        match stream.read(&mut head[len..])? {
            0 => return Err(io::Error::other("handshake: connection closed, or head too long")),
            n => len += n,
        }
    }
    let head = String::from_utf8_lossy(&head[..len]);
    if head.get(8..13) != Some(" 101 ") {
        let line = head.lines().next().unwrap_or_default();
        return Err(io::Error::other(format!("handshake refused: {line}")));
    }
    if deflate && !head.to_ascii_lowercase().contains("permessage-deflate") {
        return Err(io::Error::other("permessage-deflate not accepted"));
    }
    Ok(stream)
}
