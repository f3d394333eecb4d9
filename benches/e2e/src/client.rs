//! The load client: one thread, raw TCP, edge-triggered epoll.
//!
//! It is kept as cheap as possible so that the server dominates: the
//! handshake is a fixed request (a fixed key; only the `101` is checked),
//! every outgoing frame is encoded and masked once up front and then written
//! from a prepared buffer, and echoed frames are parsed just enough to count
//! them. Each connection keeps `in_flight` messages outstanding: one more is
//! sent for every echo that comes back.
//!
//! Every echoed frame header is checked (FIN, opcode, unmasked, the length
//! sent); during the warm-up every payload is checksummed as well.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use crate::sys::{thread_cpu, CpuTime};

/// Connect, handshake and read-write timeout.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The opening handshake: always the same key (RFC 6455's sample).
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\n\
Host: 127.0.0.1\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

/// The client's mask key, the same for every frame.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Bytes written by one `write` call at most (a batch of small frames).
const WRITE_CHUNK: usize = 64 * 1024;

/// What one cell sends.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// Payload length of every message.
    pub len: usize,
    /// Text (ASCII) or binary.
    pub text: bool,
    /// Connections, all driven by this one thread.
    pub conns: usize,
    /// Messages outstanding per connection.
    pub in_flight: u64,
}

/// How long a cell runs.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Load before the measured window.
    pub warmup: Duration,
    /// The measured window.
    pub measure: Duration,
    /// A cell that completes no message for this long has failed.
    pub stall: Duration,
}

/// What the measured window saw.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Echoes completed.
    pub msgs: u64,
    /// Wall time of the window.
    pub wall: Duration,
    /// The server's CPU time over the window.
    pub server: CpuTime,
    /// This thread's CPU time over the window.
    pub client: Duration,
}

/// Open a TCP connection and run the opening handshake (blocking, with
/// timeouts). The stream is left blocking.
pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    stream.write_all(REQUEST)?;
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        // Byte by byte would be slow; the server sends nothing after the
        // head before we send a frame, so a read cannot overshoot it.
        let n = stream.read(&mut buf)?;
        if n == 0 || head.len() > 8192 {
            return Err(io::Error::other("connection closed during the handshake"));
        }
        head.extend_from_slice(&buf[..n]);
    }
    if head.get(8..13) != Some(b" 101 ") {
        let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
        let line = String::from_utf8_lossy(line);
        return Err(io::Error::other(format!("handshake refused: {line}")));
    }
    Ok(stream)
}

/// Open `n` connections and complete their handshakes; they stay open
/// (and idle) as long as the returned streams live.
pub fn idle(addr: SocketAddr, n: usize) -> io::Result<Vec<TcpStream>> {
    (0..n).map(|_| connect(addr)).collect()
}

/// Run one cell against the server at `addr` (process `pid`): warm up,
/// then measure.
pub fn run(addr: SocketAddr, pid: u32, load: Workload, timing: Timing) -> Result<Sample, String> {
    let frame = masked_frame(load.len, load.text);
    let per_write = (WRITE_CHUNK / frame.len()).clamp(1, load.in_flight.max(1) as usize);
    let batch = frame.repeat(per_write);
    let expect = Expect {
        first: 0x80 | if load.text { 0x1 } else { 0x2 },
        len: load.len as u64,
        sum: payload(load.len, load.text).iter().map(|&b| u64::from(b)).sum(),
    };

    let poll = Epoll::new().map_err(|e| format!("epoll: {e}"))?;
    let mut conns = Vec::with_capacity(load.conns);
    for i in 0..load.conns {
        let stream = connect(addr).map_err(|e| format!("connection {i}: {e}"))?;
        stream.set_nonblocking(true).map_err(|e| e.to_string())?;
        poll.add(stream.as_raw_fd(), i as u64).map_err(|e| format!("epoll_ctl: {e}"))?;
        conns.push(Conn::new(stream, load.in_flight));
    }

    let mut buf = vec![0u8; 256 * 1024];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
    let mut done: u64 = 0;
    let start = Instant::now();
    let mut last_progress = start;
    let mut window: Option<(Instant, u64, CpuTime, Duration)> = None;
    let cpu = || CpuTime::of(pid).map_err(|e| format!("server CPU time: {e}"));
    for conn in &mut conns {
        conn.write(&batch, frame.len(), per_write).map_err(|e| format!("write: {e}"))?;
    }
    loop {
        let ready = poll.wait(&mut events, 20).map_err(|e| format!("epoll_wait: {e}"))?;
        let check = window.is_none();
        let before = done;
        for event in &events[..ready] {
            let conn = &mut conns[event.u64 as usize];
            if event.events & (libc::EPOLLIN | libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0 {
                let echoed = conn.read(&mut buf, &expect, check)?;
                conn.credit += echoed;
                done += echoed;
            }
            conn.write(&batch, frame.len(), per_write).map_err(|e| format!("write: {e}"))?;
        }
        let now = Instant::now();
        if done != before {
            last_progress = now;
        } else if now - last_progress > timing.stall {
            return Err(format!("no echo for {} s", timing.stall.as_secs()));
        }
        match window {
            None if now - start >= timing.warmup => {
                window = Some((now, done, cpu()?, thread_cpu()));
            }
            Some((t0, done0, server0, client0)) if now - t0 >= timing.measure => {
                return Ok(Sample {
                    msgs: done - done0,
                    wall: now - t0,
                    server: cpu()?.since(server0),
                    client: thread_cpu().saturating_sub(client0),
                });
            }
            _ => {}
        }
    }
}

/// What every echoed frame must be.
struct Expect {
    /// First header byte: FIN and the opcode.
    first: u8,
    /// Payload length.
    len: u64,
    /// Sum of the payload's bytes.
    sum: u64,
}

/// One connection: what it still owes the server, and where its reader is.
struct Conn {
    stream: TcpStream,
    /// Frames to send that are not yet in the current chunk.
    credit: u64,
    /// End of the current chunk of `batch` being written, and how far.
    chunk: usize,
    written: usize,
    /// The incoming frame header so far, and how long it is.
    head: [u8; 10],
    have: usize,
    need: usize,
    /// Payload bytes of the current frame still to come (`None`: in a header).
    left: Option<u64>,
    /// Running byte sum of the current payload (warm-up check).
    sum: u64,
}

impl Conn {
    fn new(stream: TcpStream, in_flight: u64) -> Conn {
        Conn {
            stream,
            credit: in_flight,
            chunk: 0,
            written: 0,
            head: [0; 10],
            have: 0,
            need: 2,
            left: None,
            sum: 0,
        }
    }

    /// Write owed frames until the socket would block or nothing is owed.
    fn write(&mut self, batch: &[u8], frame_len: usize, per_write: usize) -> io::Result<()> {
        loop {
            if self.written == self.chunk {
                if self.credit == 0 {
                    return Ok(());
                }
                let frames = self.credit.min(per_write as u64);
                self.credit -= frames;
                self.chunk = frames as usize * frame_len;
                self.written = 0;
            }
            match self.stream.write(&batch[self.written..self.chunk]) {
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Read until the socket would block; the number of whole echoes seen.
    fn read(&mut self, buf: &mut [u8], expect: &Expect, check: bool) -> Result<u64, String> {
        let mut echoed = 0;
        loop {
            match self.stream.read(buf) {
                Ok(0) => return Err("the server closed a connection".into()),
                Ok(n) => echoed += self.parse(&buf[..n], expect, check)?,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(echoed),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    }

    /// Walk `data`: skip payloads, check headers; the frames completed.
    fn parse(&mut self, mut data: &[u8], expect: &Expect, check: bool) -> Result<u64, String> {
        let mut complete = 0;
        while !data.is_empty() {
            if let Some(left) = self.left {
                let take = left.min(data.len() as u64) as usize;
                if check {
                    self.sum += data[..take].iter().map(|&b| u64::from(b)).sum::<u64>();
                }
                data = &data[take..];
                if take as u64 == left {
                    if check && self.sum != expect.sum {
                        return Err("echoed payload differs from the one sent".into());
                    }
                    (self.left, self.sum) = (None, 0);
                    complete += 1;
                } else {
                    self.left = Some(left - take as u64);
                }
                continue;
            }
            let take = (self.need - self.have).min(data.len());
            self.head[self.have..self.have + take].copy_from_slice(&data[..take]);
            self.have += take;
            data = &data[take..];
            if self.have < self.need {
                continue;
            }
            if self.need == 2 {
                self.need = match self.head[1] {
                    126 => 4,
                    127 => 10,
                    _ => 2,
                };
                if self.need > 2 {
                    continue;
                }
            }
            let len = match self.need {
                4 => u64::from(u16::from_be_bytes([self.head[2], self.head[3]])),
                10 => u64::from_be_bytes(self.head[2..10].try_into().expect("8 bytes")),
                _ => u64::from(self.head[1]), // masked frames (bit 7) fail below
            };
            if self.head[0] != expect.first || self.head[1] & 0x80 != 0 || len != expect.len {
                let head = &self.head[..self.need];
                return Err(format!("unexpected frame header {head:02x?}"));
            }
            (self.have, self.need) = (0, 2);
            if len == 0 {
                complete += 1;
            } else {
                self.left = Some(len);
            }
        }
        Ok(complete)
    }
}

/// The payload of every message: ASCII letters for text, all byte values
/// for binary.
fn payload(len: usize, text: bool) -> Vec<u8> {
    (0..len).map(|i| if text { b'a' + (i % 26) as u8 } else { (i * 7 + i / 256) as u8 }).collect()
}

/// One client frame: FIN, the opcode, the length, [`MASK`], the payload
/// masked.
fn masked_frame(len: usize, text: bool) -> Vec<u8> {
    let mut frame = vec![0x80 | if text { 0x1 } else { 0x2 }];
    match len {
        0..=125 => frame.push(0x80 | len as u8),
        126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&MASK);
    frame.extend(payload(len, text).iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    frame
}

/// An edge-triggered epoll set.
struct Epoll(RawFd);

impl Epoll {
    fn new() -> io::Result<Epoll> {
        // SAFETY: no pointers; the result is checked.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Epoll(fd))
    }

    /// Watch `fd` for input and output; events carry `token`.
    fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let flags = libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLET;
        let mut event = libc::epoll_event { events: flags as u32, u64: token };
        // SAFETY: `event` is a valid epoll_event for the duration of the call.
        if unsafe { libc::epoll_ctl(self.0, libc::EPOLL_CTL_ADD, fd, &mut event) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Wait up to `timeout_ms`; the number of `events` filled.
    fn wait(&self, events: &mut [libc::epoll_event], timeout_ms: i32) -> io::Result<usize> {
        let max = i32::try_from(events.len()).unwrap_or(i32::MAX);
        // SAFETY: `events` is writable for `max` entries.
        let n = unsafe { libc::epoll_wait(self.0, events.as_mut_ptr(), max, timeout_ms) };
        match n {
            n if n >= 0 => Ok(n as usize),
            _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => Ok(0),
            _ => Err(io::Error::last_os_error()),
        }
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        unsafe { libc::close(self.0) };
    }
}
