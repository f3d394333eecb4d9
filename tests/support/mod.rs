//! Test support: a raw frame builder independent of the encoder, a driver
//! that feeds a connection in chunks, and a client/server pair joined in
//! memory with a virtual clock.
#![allow(dead_code)] // each test file uses its own part of this module

use wscore::{
    mask, CloseCode, Config, Connection, DataKind, Error, Event, Instant, Outgoing, Role,
};

/// A connection whose client mask keys come from a per-test seed, so the
/// tests run with and without the `std` feature.
pub fn connection(role: Role, config: Config) -> Connection {
    use std::sync::atomic::{AtomicU8, Ordering};
    static NEXT: AtomicU8 = AtomicU8::new(1);
    Connection::with_seed(role, config, [NEXT.fetch_add(1, Ordering::Relaxed); 32])
}

/// A frame's bytes, written by hand from the RFC layout.
pub fn raw_frame(first_byte: u8, payload: &[u8], mask_key: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![first_byte];
    let mask_bit = if mask_key.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(mask_bit | n as u8),
        n @ 126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let mut body = payload.to_vec();
    if let Some(key) = mask_key {
        out.extend_from_slice(&key);
        mask::reference::apply_mask(&mut body, key, 0);
    }
    out.extend_from_slice(&body);
    out
}

pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A frame as a client sends it (masked), for a server to read.
pub fn from_client(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(first_byte, payload, Some(KEY))
}

/// An event with owned data, or the error that ended the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    Data {
        kind: DataKind,
        payload: Vec<u8>,
        fin: bool,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<(u16, String)>),
    /// A handshake request: its path.
    Request(String),
    /// A handshake response: the chosen subprotocol.
    Response(Option<String>),
    Err(Error),
}

impl Ev {
    pub fn text(s: &str) -> Ev {
        Ev::Data { kind: DataKind::Text, payload: s.as_bytes().to_vec(), fin: true }
    }
    pub fn binary(b: &[u8]) -> Ev {
        Ev::Data { kind: DataKind::Binary, payload: b.to_vec(), fin: true }
    }
    pub fn close(code: u16, reason: &str) -> Ev {
        Ev::Close(Some((code, reason.to_string())))
    }
}

pub fn owned(event: Event<'_, '_>) -> Ev {
    match event {
        Event::Data { kind, payload, fin } => Ev::Data { kind, payload: payload.to_vec(), fin },
        Event::Ping(p) => Ev::Ping(p.to_vec()),
        Event::Pong(p) => Ev::Pong(p.to_vec()),
        Event::Close(c) => Ev::Close(c.map(|c| (c.code.0, c.reason.to_string()))),
        Event::Request(r) => Ev::Request(r.path().to_string()),
        Event::Response(r) => Ev::Response(r.subprotocol().map(str::to_string)),
    }
}

/// Feeds bytes to a connection the way a transport does: appends what
/// arrives to a buffer, reads events until none, drops what was consumed.
pub struct Feeder {
    pub buf: Vec<u8>,
    pub events: Vec<Ev>,
    pub now: Instant,
}

impl Feeder {
    pub fn new() -> Self {
        Feeder { buf: Vec::new(), events: Vec::new(), now: Instant(0) }
    }

    /// Deliver `bytes`; returns false once the connection reported an error.
    pub fn push(&mut self, conn: &mut Connection, bytes: &[u8]) -> bool {
        self.buf.extend_from_slice(bytes);
        loop {
            match conn.read(&mut self.buf, self.now) {
                Ok(decoded) => {
                    let consumed = decoded.consumed;
                    let event = decoded.event.map(owned);
                    self.buf.drain(..consumed);
                    match event {
                        Some(e) => self.events.push(e),
                        None => return true,
                    }
                }
                Err(e) => {
                    self.events.push(Ev::Err(e));
                    return false;
                }
            }
        }
    }
}

/// All events from `stream` fed in one piece.
pub fn events(conn: &mut Connection, stream: &[u8]) -> Vec<Ev> {
    let mut feeder = Feeder::new();
    feeder.push(conn, stream);
    feeder.events
}

/// All events from `stream` fed in pieces of the given sizes (cycled).
pub fn events_chunked(conn: &mut Connection, stream: &[u8], sizes: &[usize]) -> Vec<Ev> {
    let mut feeder = Feeder::new();
    let mut rest = stream;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap()).clamp(1, rest.len());
        let (piece, tail) = rest.split_at(n);
        rest = tail;
        if !feeder.push(conn, piece) {
            break;
        }
    }
    feeder.events
}

/// Merge consecutive data pieces of one message: events are equal "up to
/// how the input was split" when their merged forms are equal.
pub fn merged(events: Vec<Ev>) -> Vec<Ev> {
    let mut out: Vec<Ev> = Vec::new();
    for e in events {
        if let (
            Some(Ev::Data { kind: k0, payload: p0, fin: false }),
            Ev::Data { kind, payload, fin },
        ) = (out.last_mut(), &e)
        {
            if k0 == kind {
                p0.extend_from_slice(payload);
                let done = *fin;
                if let Some(Ev::Data { fin: f, .. }) = out.last_mut() {
                    *f = done;
                }
                continue;
            }
        }
        out.push(e);
    }
    out
}

/// Every frame `conn` wants to send on its own, as bytes.
pub fn transmit(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    while let Some(n) = conn.poll_transmit(&mut buf).expect("256 bytes hold any control frame") {
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// The frames in `bytes` a client would read (unmasked server frames),
/// decoded by a fresh client connection.
pub fn server_frames(bytes: &[u8]) -> Vec<Ev> {
    events(&mut connection(Role::Client, Config::default()), bytes)
}

/// The frames in `bytes` a server would read (masked client frames).
pub fn client_frames(bytes: &[u8]) -> Vec<Ev> {
    events(&mut connection(Role::Server, Config::default()), bytes)
}

/// Encode `frame` into a fresh Vec.
/// Encode `frame` into a fresh Vec, growing it to the size the connection
/// asks for when the first guess is too small.
pub fn encode(conn: &mut Connection, frame: Outgoing<'_>) -> Result<Vec<u8>, Error> {
    let mut out = vec![0u8; 1 << 10];
    let n = match conn.encode(frame, &mut out) {
        Err(Error::BufferTooSmall { needed }) => {
            out.resize(needed, 0);
            conn.encode(frame, &mut out)?
        }
        other => other?,
    };
    out.truncate(n);
    Ok(out)
}

/// A client and a server joined in memory, with a virtual clock that jumps
/// to the next deadline: timer tests run without sleeping.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    pub client_in: Feeder,
    pub server_in: Feeder,
    pub now: Instant,
    /// When false, the server's bytes are lost (a dead peer or path).
    pub server_alive: bool,
}

impl Pair {
    pub fn new(client: Config, server: Config) -> Self {
        Pair {
            client: connection(Role::Client, client),
            server: connection(Role::Server, server),
            client_in: Feeder::new(),
            server_in: Feeder::new(),
            now: Instant(0),
            server_alive: true,
        }
    }

    /// Move every queued protocol frame across, both ways, until quiet.
    pub fn flush(&mut self) {
        loop {
            let to_server = transmit(&mut self.client);
            let to_client = transmit(&mut self.server);
            if to_server.is_empty() && to_client.is_empty() {
                return;
            }
            self.client_in.now = self.now;
            self.server_in.now = self.now;
            if self.server_alive {
                self.server_in.push(&mut self.server, &to_server);
                self.client_in.push(&mut self.client, &to_client);
            }
        }
    }

    pub fn client_sends(&mut self, frame: Outgoing<'_>) -> Result<(), Error> {
        let bytes = encode(&mut self.client, frame)?;
        self.server_in.now = self.now;
        if self.server_alive {
            self.server_in.push(&mut self.server, &bytes);
        }
        self.flush();
        Ok(())
    }

    pub fn server_sends(&mut self, frame: Outgoing<'_>) -> Result<(), Error> {
        let bytes = encode(&mut self.server, frame)?;
        self.client_in.now = self.now;
        if self.server_alive {
            self.client_in.push(&mut self.client, &bytes);
        }
        self.flush();
        Ok(())
    }

    /// Jump the clock to the earliest deadline of either side and fire it.
    /// Returns the errors each side's `handle_timeout` gave, or None when no
    /// timer is running.
    pub fn next_timeout(&mut self) -> Option<(Result<(), Error>, Result<(), Error>)> {
        let next =
            [self.client.poll_timeout(), self.server.poll_timeout()].into_iter().flatten().min()?;
        self.now = self.now.max(next);
        let c = self.client.handle_timeout(self.now);
        let s = self.server.handle_timeout(self.now);
        self.flush();
        Some((c, s))
    }
}

pub fn close_code_of(frame_events: &[Ev]) -> Option<u16> {
    frame_events.iter().find_map(|e| match e {
        Ev::Close(Some((code, _))) => Some(*code),
        _ => None,
    })
}

pub const NORMAL: CloseCode = CloseCode::NORMAL;
