//! A session: a [`Connection`] with its buffers, for people writing their
//! own transport (feature `alloc`). The drivers ([`blocking`], `tokio`) are
//! byte movers over it.
//!
//! The shape is that of Python websockets' sans-I/O layer: bytes in, events
//! out, send calls in, bytes out, and time in. The session owns a read
//! buffer and a write buffer, so a transport only moves bytes:
//!
//! * **in**: [`receive_data`](Session::receive_data) (or read straight into
//!   [`read_buffer`](Session::read_buffer) / [`read_space`](Session::read_space)),
//!   [`receive_eof`](Session::receive_eof);
//! * **events**: [`next_incoming`](Session::next_incoming) gives whole
//!   messages and control frames, owned ([`Incoming`]). A message that
//!   arrived in one frame, the common case, is handed out with no copy: the
//!   session reads frames whole (up to `Config::max_frame_payload`) and lends
//!   the frame's bytes from its read buffer as [`bytes::Bytes`];
//! * **out**: [`send_text`](Session::send_text), [`send_binary`](Session::send_binary),
//!   [`send_ping`](Session::send_ping), [`close`](Session::close), ... queue
//!   frames; [`data_to_send`](Session::data_to_send) gives everything queued
//!   since the last write, in one slice (corked), and
//!   [`advance`](Session::advance) says how much of it was written. Pongs,
//!   Close replies and keepalive Pings join the queue on their own;
//! * **time**: [`poll_timeout`](Session::poll_timeout) and
//!   [`handle_timeout`](Session::handle_timeout).
//!
//! ```
//! use wscore::session::{Buffers, Incoming, Session};
//! use wscore::{Config, Connection, Instant, Role};
//!
//! let mut server = Session::new(Connection::new(Role::Server, Config::default()), Buffers::DEFAULT);
//! // Two masked frames from a client, in one read: "Hello" and a Ping.
//! server.receive_data(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
//! server.receive_data(&[0x89, 0x80, 1, 2, 3, 4]);
//! while let Some(incoming) = server.next_incoming(Instant(0))? {
//!     if let Incoming::Text(text) = incoming {
//!         server.send_text(&text)?; // an echo
//!     }
//! }
//! // The echo and the automatic Pong, corked into one write.
//! assert_eq!(server.data_to_send(), b"\x81\x05Hello\x8a\x00");
//! let n = server.data_to_send().len();
//! server.advance(n);
//! # Ok::<(), wscore::Error>(())
//! ```
//!
//! # Limits and backpressure
//!
//! The read buffer holds at most one frame beyond what is being read (so
//! `Config::max_frame_payload`) plus what the transport delivered with it; a
//! message in pieces is gathered up to `Config::max_message_size`. The
//! write buffer holds at most [`Buffers::max_unsent`] bytes: a send that
//! would pass it is refused with [`Error::Backpressure`] and queues nothing
//! (a send into an empty buffer is always taken, so any message can go
//! out). Pongs and Close replies never take the buffer past the bound:
//! they wait, bounded, inside the connection until there is room. Buffers
//! are given back with [`release_idle`](Session::release_idle).
//!
//! [`blocking`]: crate::blocking

mod incoming;
mod output;

use alloc::collections::VecDeque;
use alloc::string::String;

use bytes::{Buf, Bytes, BytesMut};

pub use incoming::{CloseInfo, Incoming, Message, Utf8Bytes};
use output::Outbound;

use crate::close::{CloseCode, CloseFrame};
use crate::config::{Config, Instant, Role};
use crate::connection::{Connection, Outgoing, State};
use crate::error::Error;
use crate::event::{DataKind, Event};
use crate::handshake::{AcceptOptions, ClientRequest, Request};
use crate::prepared::{Prepared, Wire};

/// How much a session buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffers {
    /// The most bytes queued to be written: past it, sends are refused with
    /// [`Error::Backpressure`] until the transport writes some out. A send
    /// into an empty write buffer is always taken. Default 1 MiB.
    pub max_unsent: usize,
}

impl Buffers {
    /// The defaults, usable in `const` contexts.
    pub const DEFAULT: Buffers = Buffers { max_unsent: 1 << 20 };
}

impl Default for Buffers {
    fn default() -> Self {
        Buffers::DEFAULT
    }
}

/// How a server answers handshakes: the policy [`Session::accept`] applies.
#[derive(Debug, Clone, Copy)]
pub struct ServerOptions<'a> {
    /// Limits and timers.
    pub config: Config,
    /// Buffer bounds.
    pub buffers: Buffers,
    /// Subprotocols this server speaks: the first one the client offers
    /// (in the client's order of preference) is chosen.
    pub subprotocols: &'a [&'a str],
    /// When set, requests whose `Origin` is not in the list get 403 (a
    /// browser page from another site). Requests without `Origin` (not
    /// from a browser) pass.
    pub allowed_origins: Option<&'a [&'a str]>,
    /// More response headers.
    pub headers: &'a [(&'a str, &'a str)],
}

impl ServerOptions<'_> {
    /// The defaults, usable in `const` contexts: default limits, any
    /// origin, no subprotocol, no extra header.
    pub const DEFAULT: ServerOptions<'static> = ServerOptions {
        config: Config::DEFAULT,
        buffers: Buffers::DEFAULT,
        subprotocols: &[],
        allowed_origins: None,
        headers: &[],
    };
}

impl Default for ServerOptions<'_> {
    fn default() -> Self {
        ServerOptions::DEFAULT
    }
}

/// Room kept for a read beyond the frame being waited for: a few small
/// frames' worth, what a socket usually has ready.
const READ_CHUNK: usize = 16 * 1024;
/// Room for a read during the opening handshake: a typical head.
const HEAD_CHUNK: usize = 1024;
/// The most room `read_space` zeroes for one read.
const MAX_READ: usize = 64 * 1024;
/// Room taken for a frame header beyond its payload.
const HEADER_ROOM: usize = crate::frame::MAX_HEADER_LEN;
/// Once this much is queued, a driver writes even while more input waits.
const CORK_LIMIT: usize = 256 * 1024;
/// Payloads from this size up are queued by reference by a server
/// ([`Session::send_message`]); smaller ones are cheaper to copy.
const SHARE_MIN: usize = 4 * 1024;

/// A [`Connection`] with its read and write buffers. See the [module
/// documentation](self).
#[derive(Debug)]
pub struct Session {
    conn: Connection,
    /// Received bytes not yet decoded.
    input: BytesMut,
    /// How many bytes `input` must hold for decoding to make progress.
    needed: usize,
    /// The kind of the message being gathered from pieces, if any.
    partial_kind: Option<DataKind>,
    partial: BytesMut,
    /// What waits to be written.
    out: Outbound,
    /// The newest message per key, held while the write buffer is full
    /// ([`Session::send_latest`]), in the order the keys were first held.
    held: VecDeque<(u64, Prepared<Bytes>)>,
    buffers: Buffers,
    peer_close: Option<CloseInfo>,
    subprotocol: Option<String>,
    /// The length of the request head waiting for `accept` or `reject`.
    pending_request: Option<usize>,
    /// Where the room `read_space` gave starts.
    space_at: Option<usize>,
    /// The transport reached end of file, and the connection was told.
    eof: bool,
    eof_told: bool,
}

impl Session {
    /// A session over `conn`, open or in its handshake.
    pub fn new(conn: Connection, buffers: Buffers) -> Self {
        let mut conn = conn;
        let max_frame = conn.config().max_frame_payload;
        conn.set_whole_frame_limit(usize::try_from(max_frame).unwrap_or(usize::MAX));
        Session {
            conn,
            input: BytesMut::new(),
            needed: 1,
            partial_kind: None,
            partial: BytesMut::new(),
            out: Outbound::default(),
            held: VecDeque::new(),
            buffers,
            peer_close: None,
            subprotocol: None,
            pending_request: None,
            space_at: None,
            eof: false,
            eof_told: false,
        }
    }

    /// A server session waiting for the client's request: feed it bytes and
    /// call [`accept`](Self::accept).
    pub fn server(config: Config, buffers: Buffers) -> Self {
        Session::new(Connection::server(config), buffers)
    }

    /// A client session with its request (and a fresh key from the OS)
    /// queued in [`data_to_send`](Self::data_to_send): write it, feed the
    /// answer, and call [`handshake`](Self::handshake).
    ///
    /// # Errors
    ///
    /// As for [`Connection::client`].
    #[cfg(feature = "std")]
    pub fn client(
        config: Config,
        request: &ClientRequest<'_>,
        buffers: Buffers,
    ) -> Result<Self, Error> {
        Session::client_from(buffers, |out| Connection::client(config, request, out))
    }

    /// [`client`](Self::client) with the mask keys and the handshake nonce
    /// drawn from `seed` (see [`Connection::with_seed`]).
    ///
    /// # Errors
    ///
    /// As for [`Connection::client`].
    pub fn client_with_seed(
        config: Config,
        seed: [u8; 32],
        request: &ClientRequest<'_>,
        buffers: Buffers,
    ) -> Result<Self, Error> {
        Session::client_from(buffers, |out| {
            Connection::client_with_seed(config, seed, request, out)
        })
    }

    fn client_from(
        buffers: Buffers,
        mut make: impl FnMut(&mut [u8]) -> Result<(Connection, usize), Error>,
    ) -> Result<Self, Error> {
        let mut out = alloc::vec![0; 1024];
        let (conn, n) = loop {
            match make(&mut out) {
                Err(Error::BufferTooSmall { needed }) => out.resize(needed, 0),
                other => break other?,
            }
        };
        let mut session = Session::new(conn, buffers);
        session.out = Outbound::with(out, n);
        Ok(session)
    }

    // ---- input ------------------------------------------------------------

    /// Bytes received from the transport.
    pub fn receive_data(&mut self, data: &[u8]) {
        self.input.extend_from_slice(data);
    }

    /// The read buffer, with room reserved for the next read (the rest of
    /// the frame being read and a little more): append what the transport
    /// receives (tokio's `read_buf` reads into the spare capacity), and
    /// only append.
    pub fn read_buffer(&mut self) -> &mut BytesMut {
        let want = self.read_size();
        self.input.reserve(want);
        &mut self.input
    }

    /// Whether the read buffer was given back ([`release_idle`](Self::release_idle))
    /// and holds nothing. A transport may then read into a small buffer of
    /// its own and hand what came to [`receive_data`](Self::receive_data),
    /// so that a wake-up with nothing to read allocates nothing.
    pub fn read_buffer_released(&self) -> bool {
        self.input.capacity() == 0
    }

    /// Room for the next read, initialised, for readers that need a `&mut
    /// [u8]` (`std::io::Read`): read into it, then call
    /// [`commit`](Self::commit) with the number of bytes read.
    pub fn read_space(&mut self) -> &mut [u8] {
        let at = self.input.len();
        let want = self.read_size();
        self.input.reserve(want); // the whole frame's room at once: no regrowth
                                  // Room to zero, then read into: what one read takes, at most.
        self.input.resize(at + want.min(MAX_READ), 0);
        self.space_at = Some(at);
        &mut self.input[at..]
    }

    /// Keep `n` bytes of the room [`read_space`](Self::read_space) gave
    /// (the rest is dropped).
    pub fn commit(&mut self, n: usize) {
        if let Some(at) = self.space_at.take() {
            let end = self.input.len();
            self.input.truncate(at.saturating_add(n).min(end));
        }
    }

    /// The room to have for the next read: the rest of the frame being
    /// waited for, plus [`READ_CHUNK`] for what follows it, so the buffer
    /// grows once per large frame and never while the frame completes.
    fn read_size(&self) -> usize {
        // A handshake head is small: a small buffer for it, so that many
        // connections in their handshake at once touch little memory.
        let chunk = match self.conn.state() {
            State::Handshake => HEAD_CHUNK,
            _ => READ_CHUNK,
        };
        self.needed.saturating_sub(self.input.len()).saturating_add(chunk)
    }

    /// The transport reached end of file. What was received before it is
    /// still decoded; then [`next_incoming`](Self::next_incoming) (or
    /// [`handshake`](Self::handshake)) reports [`Error::UnexpectedEof`] if
    /// the connection ended before its closing handshake. What is queued
    /// to be written stays queued: a peer that shut down only its sending
    /// side (TCP's half-close) still reads it.
    pub fn receive_eof(&mut self) {
        self.eof = true;
    }

    /// Past the end of the input: tell the connection, once.
    fn end_of_input(&mut self) -> Result<(), Error> {
        if !self.eof || self.eof_told {
            return Ok(());
        }
        self.eof_told = true;
        self.input.clear(); // a frame cut short: never completed
        self.partial_kind = None;
        // What is queued stays: a peer that only shut down its sending
        // side (TCP's half-close) still reads it.
        self.conn.read_eof()
    }

    /// Whether the transport's end of file was received
    /// ([`receive_eof`](Self::receive_eof)): nothing more is to be read,
    /// though what is queued may still be written.
    pub fn input_ended(&self) -> bool {
        self.eof
    }

    /// Whether the read buffer may hold another event: decoding can go on
    /// without reading from the transport.
    pub fn input_ready(&self) -> bool {
        !self.input.is_empty() && self.input.len() >= self.needed
    }

    /// The bytes received and not yet used: after a client's handshake
    /// failed with [`HandshakeError::UnexpectedStatus`], the server's
    /// answer (its `Location`, say).
    ///
    /// [`HandshakeError::UnexpectedStatus`]: crate::handshake::HandshakeError::UnexpectedStatus
    pub fn buffered(&self) -> &[u8] {
        &self.input
    }

    // ---- the opening handshake -------------------------------------------

    /// Run the opening handshake on what was received.
    ///
    /// # Errors
    ///
    /// [`Error::Handshake`] when the peer's head breaks RFC 6455 (a server
    /// has its rejection queued in [`data_to_send`](Self::data_to_send));
    /// a client's `HandshakeError::UnexpectedStatus` leaves the answer in
    /// [`buffered`](Self::buffered). [`Error::HandshakeTimeout`] comes
    /// from [`handle_timeout`](Self::handle_timeout).
    pub fn handshake(&mut self, now: Instant) -> Result<Handshake, Error> {
        if self.pending_request.is_some() {
            return Ok(Handshake::Request);
        }
        if self.conn.state() != State::Handshake {
            return Ok(Handshake::Done);
        }
        let decoded = match self.conn.read(&mut self.input[..], now) {
            Ok(decoded) => decoded,
            Err(e) => {
                self.queue_protocol(); // a server's 400 / 426 / 431
                return Err(e);
            }
        };
        let consumed = decoded.consumed;
        match decoded.event {
            Some(Event::Request(_)) => {
                // Kept in the buffer for `request`, `accept` and `reject`.
                self.pending_request = Some(consumed);
                Ok(Handshake::Request)
            }
            Some(Event::Response(response)) => {
                self.subprotocol = response.subprotocol().map(String::from);
                self.input.advance(consumed);
                Ok(Handshake::Done)
            }
            _ => {
                self.needed = decoded.needed;
                self.end_of_input()?;
                Ok(Handshake::Pending)
            }
        }
    }

    /// (Server) Run the handshake as `options` say: the request is answered
    /// with [`accept`](Self::accept) as soon as it is all in. `Ok(true)`
    /// once frames flow, `Ok(false)` while more bytes are needed.
    ///
    /// # Errors
    ///
    /// As for [`handshake`](Self::handshake) and [`accept`](Self::accept);
    /// a refusal is queued in [`data_to_send`](Self::data_to_send) either
    /// way: write it, then close.
    pub fn serve_handshake(
        &mut self,
        now: Instant,
        options: &ServerOptions<'_>,
    ) -> Result<bool, Error> {
        match self.handshake(now)? {
            Handshake::Request => self.accept(options).map(|()| true),
            Handshake::Done => Ok(true),
            Handshake::Pending => Ok(false),
        }
    }

    /// (Server) The request waiting for [`accept`](Self::accept) or
    /// [`reject`](Self::reject), for the application to read its path,
    /// headers and `Origin`.
    pub fn request(&self) -> Option<Request<'_>> {
        let head = self.input.get(..self.pending_request?)?;
        let mut slots = [crate::handshake::EMPTY_HEADER; crate::MAX_HANDSHAKE_HEADERS];
        let max = usize::MAX;
        match crate::handshake::parse_request(head, &mut slots, max) {
            Ok(crate::handshake::Status::Complete(request)) => Some(request),
            _ => None, // it parsed once already, the same way
        }
    }

    /// (Server) Answer the waiting request as `options` say: refuse an
    /// `Origin` not allowed with 403, choose a subprotocol, accept. The
    /// answer is queued in [`data_to_send`](Self::data_to_send). Only the
    /// policy fields of `options` are used; the limits were set when the
    /// session was made.
    ///
    /// # Errors
    ///
    /// [`Error::Refused`] with 403 for an `Origin` not allowed (the refusal
    /// is queued: write it, then close); [`Error::NoRequestPending`]; as for
    /// [`Connection::accept`].
    pub fn accept(&mut self, options: &ServerOptions<'_>) -> Result<(), Error> {
        let head_len = self.pending_request.ok_or(Error::NoRequestPending)?;
        let mut slots = [crate::handshake::EMPTY_HEADER; crate::MAX_HANDSHAKE_HEADERS];
        let head = self.input.get(..head_len).unwrap_or_default();
        let request = match crate::handshake::parse_request(head, &mut slots, usize::MAX) {
            Ok(crate::handshake::Status::Complete(request)) => request,
            _ => return Err(Error::NoRequestPending),
        };
        let out = &mut self.out;
        if let (Some(allowed), Some(origin)) = (options.allowed_origins, request.origin()) {
            if !allowed.contains(&origin) {
                out.encode(512, |buf| self.conn.reject(403, &[], buf))?;
                self.pending_request = None;
                return Err(Error::Refused { status: 403 });
            }
        }
        let subprotocol = request.subprotocols().find(|p| options.subprotocols.contains(p));
        let answer =
            AcceptOptions { subprotocol, extensions: None, extra_headers: options.headers };
        out.encode(512, |buf| self.conn.accept(&request, &answer, buf))?;
        self.subprotocol = subprotocol.map(String::from);
        self.pending_request = None;
        self.input.advance(head_len);
        Ok(())
    }

    /// (Server) Refuse the waiting request with `status` (and headers,
    /// a `Location` for a redirect say); the refusal is queued in
    /// [`data_to_send`](Self::data_to_send). Write it, then close.
    ///
    /// # Errors
    ///
    /// As for [`Connection::reject`].
    pub fn reject(&mut self, status: u16, headers: &[(&str, &str)]) -> Result<(), Error> {
        if self.pending_request.is_none() {
            return Err(Error::NoRequestPending);
        }
        self.out.encode(512, |buf| self.conn.reject(status, headers, buf))?;
        self.pending_request = None;
        Ok(())
    }

    /// The subprotocol the handshake settled on, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    // ---- events -----------------------------------------------------------

    /// The next message or control frame from what was received, or `None`
    /// when more bytes are needed. Pongs and the Close reply are queued on
    /// the way.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] when the peer broke RFC 6455: the Close with the
    /// matching code is queued, write it and close the transport;
    /// [`Error::Handshaking`] before the handshake is done;
    /// [`Error::Closed`] for bytes received after a failure.
    pub fn next_incoming(&mut self, now: Instant) -> Result<Option<Incoming>, Error> {
        if self.conn.state() == State::Handshake {
            return Err(Error::Handshaking);
        }
        loop {
            match self.decode_one(now) {
                Ok(Decode::More) => {
                    self.end_of_input()?;
                    return Ok(None);
                }
                Ok(Decode::Piece) => continue,
                Ok(Decode::Ready(incoming)) => {
                    if matches!(incoming, Incoming::Ping(_) | Incoming::Close(_)) {
                        self.queue_protocol(); // its Pong, the Close reply
                    }
                    return Ok(Some(incoming));
                }
                Err(e) => {
                    self.input.clear(); // nothing more is read from it
                    self.partial_kind = None;
                    self.partial = BytesMut::new();
                    self.queue_protocol(); // the Close with 1002 / 1007 / 1009
                    return Err(e);
                }
            }
        }
    }

    fn decode_one(&mut self, now: Instant) -> Result<Decode, Error> {
        let start = self.input.as_ptr() as usize;
        let span = start..start + self.input.len();
        let decoded = self.conn.read(&mut self.input[..], now)?;
        let consumed = decoded.consumed;
        let found = match decoded.event {
            None => {
                self.needed = decoded.needed;
                Found::Nothing
            }
            Some(Event::Data { kind, payload, fin }) => {
                let at = payload.as_ptr() as usize;
                let lent =
                    payload.is_empty() || (span.contains(&at) && at + payload.len() <= span.end);
                if fin && lent && self.partial_kind.is_none() {
                    Found::Whole { kind, len: payload.len() }
                } else {
                    self.partial.extend_from_slice(payload);
                    Found::Piece { kind, fin }
                }
            }
            Some(Event::Ping(payload)) => {
                Found::Ready(Incoming::Ping(Bytes::copy_from_slice(payload)))
            }
            Some(Event::Pong(payload)) => {
                Found::Ready(Incoming::Pong(Bytes::copy_from_slice(payload)))
            }
            Some(Event::Close(frame)) => {
                let info = frame.map(|f| CloseInfo { code: f.code, reason: f.reason.into() });
                self.peer_close.clone_from(&info);
                Found::Ready(Incoming::Close(info))
            }
            // Handshake events: the handshake is over when this is called.
            Some(Event::Request(_) | Event::Response(_)) => Found::Nothing,
        };
        self.needed = if matches!(found, Found::Nothing) { self.needed } else { 0 };
        Ok(match found {
            Found::Nothing => {
                self.input.advance(consumed);
                Decode::More
            }
            Found::Whole { kind, len } => {
                // The frame's payload ends the consumed bytes: lend it.
                let mut frame = self.input.split_to(consumed);
                frame.advance(consumed - len);
                Decode::Ready(message(kind, frame.freeze()))
            }
            Found::Piece { kind, fin } => {
                self.input.advance(consumed);
                let kind = *self.partial_kind.get_or_insert(kind);
                if !fin {
                    return Ok(Decode::Piece);
                }
                self.partial_kind = None;
                Decode::Ready(message(kind, self.partial.split().freeze()))
            }
            Found::Ready(incoming) => {
                self.input.advance(consumed);
                Decode::Ready(incoming)
            }
        })
    }

    /// The peer's Close, once it arrived (`Some(None)`: without a status).
    pub fn peer_close(&self) -> Option<&CloseInfo> {
        self.peer_close.as_ref()
    }

    // ---- time -------------------------------------------------------------

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.conn.poll_timeout()
    }

    /// Advance the timers: a keepalive Ping is queued when due.
    ///
    /// # Errors
    ///
    /// As for [`Connection::handle_timeout`].
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        let result = self.conn.handle_timeout(now);
        self.queue_protocol();
        result
    }

    // ---- sending ----------------------------------------------------------

    /// Queue a text message.
    ///
    /// # Errors
    ///
    /// [`Error::Backpressure`] when the write buffer is full (nothing is
    /// queued); as for [`Connection::encode`].
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send(Outgoing::Text(text))
    }

    /// Queue a binary message.
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send(Outgoing::Binary(data))
    }

    /// Queue a Ping (at most 125 bytes); its Pong comes back as
    /// [`Incoming::Pong`].
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send(Outgoing::Ping(payload))
    }

    /// Queue an unsolicited Pong, a one-way heartbeat.
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send(Outgoing::Pong(payload))
    }

    /// Queue a Close with `code` and `reason` (at most 123 bytes): the
    /// closing handshake starts, and its timer runs from the next clock
    /// reading the session gets.
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text); [`Error::InvalidCloseCode`].
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.send(Outgoing::Close(Some(CloseFrame { code, reason })))
    }

    /// Queue a message held in a reference-counted buffer. A server queues
    /// a large payload by reference, with no copy (unless
    /// permessage-deflate compresses it); a client's is masked while it is
    /// copied, as always.
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub fn send_message(&mut self, message: &Message) -> Result<(), Error> {
        let bytes = message.as_bytes();
        let by_reference =
            bytes.len() >= SHARE_MIN && self.conn.role() == Role::Server && !self.may_compress();
        let kind = match message {
            Message::Text(_) => DataKind::Text,
            Message::Binary(_) => DataKind::Binary,
        };
        self.check_room(bytes.len())?;
        if !by_reference {
            // Text in a `Utf8Bytes` is UTF-8 already: no second check.
            let room = bytes.len().saturating_add(HEADER_ROOM);
            return self.out.encode(room, |buf| self.conn.encode_data(kind, bytes, buf));
        }
        let conn = &mut self.conn;
        let len = bytes.len();
        self.out.encode(HEADER_ROOM, |buf| {
            let header = conn.sender().encode_header(kind, len as u64, true)?;
            let header = header.as_bytes();
            buf[..header.len()].copy_from_slice(header); // `buf` has HEADER_ROOM bytes
            Ok(header.len())
        })?;
        // The payload goes out as it is, right behind its header.
        self.conn.sender().payload_sent(len)?;
        self.out.push_shared(bytes.clone());
        Ok(())
    }

    /// Queue a [`Prepared`] frame, framed (and compressed) once for many
    /// connections: its shared bytes are queued by reference, with no copy
    /// and no compression (see [`Sender::send_prepared`] for which copy a
    /// connection takes). A server's; corked with everything else queued.
    ///
    /// ```
    /// use wscore::prepared::Prepared;
    /// use wscore::session::{Buffers, Session};
    /// use wscore::{Config, Connection, Role};
    ///
    /// let tick = Prepared::text("tick");
    /// let mut sessions: Vec<Session> = (0..3)
    ///     .map(|_| Session::new(Connection::new(Role::Server, Config::default()), Buffers::DEFAULT))
    ///     .collect();
    /// for session in &mut sessions {
    ///     session.send_prepared(&tick)?;
    ///     assert_eq!(session.data_to_send(), b"\x81\x04tick");
    /// }
    /// # Ok::<(), wscore::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Backpressure`] when the write buffer is full (nothing is
    /// queued); as for [`Sender::send_prepared`].
    ///
    /// [`Sender::send_prepared`]: crate::Sender::send_prepared
    pub fn send_prepared(&mut self, frame: &Prepared<Bytes>) -> Result<(), Error> {
        if self.state() == State::Open {
            self.check_room(frame.frame().len())?;
        } // otherwise the connection says why it refuses
        self.queue_prepared(frame)
    }

    /// Queue a prepared frame; or, while the write buffer is full (or
    /// other messages are already held), hold it as the newest message for
    /// `key`, in place of the one held for that key before. A price feed
    /// sends each symbol's price with the symbol as the key: a subscriber
    /// that reads slowly gets the latest price of every symbol when it
    /// catches up, not a queue of stale ones. Held messages join the write
    /// buffer as [`advance`](Self::advance) makes room, in the order their
    /// keys were first held; what is held costs a reference count per key,
    /// and finding a key scans the keys held.
    ///
    /// ```
    /// use wscore::prepared::Prepared;
    /// use wscore::session::{Buffers, Latest, Session};
    /// use wscore::{Config, Connection, Role};
    ///
    /// let buffers = Buffers { max_unsent: 8 };
    /// let mut session = Session::new(Connection::new(Role::Server, Config::default()), buffers);
    /// assert_eq!(session.send_latest(1, &Prepared::text("BTC 97000"))?, Latest::Queued);
    /// assert_eq!(session.send_latest(1, &Prepared::text("BTC 97001"))?, Latest::Held);
    /// assert_eq!(session.send_latest(1, &Prepared::text("BTC 97002"))?, Latest::Replaced);
    /// let n = session.unsent();
    /// session.advance(n); // written: the newest held price joins the queue
    /// assert_eq!(session.data_to_send(), b"\x81\x09BTC 97002");
    /// # Ok::<(), wscore::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`send_prepared`](Self::send_prepared), but never
    /// [`Error::Backpressure`].
    pub fn send_latest(&mut self, key: u64, frame: &Prepared<Bytes>) -> Result<Latest, Error> {
        let full = self.check_room(frame.frame().len()).is_err();
        let open = self.state() == State::Open && self.conn.role() == Role::Server;
        if (!full && self.held.is_empty()) || !open {
            // Queued now, or refused now for the reason the connection gives.
            return self.queue_prepared(frame).map(|()| Latest::Queued);
        }
        match self.held.iter_mut().find(|(k, _)| *k == key) {
            Some((_, stale)) => {
                *stale = frame.clone();
                Ok(Latest::Replaced)
            }
            None => {
                self.held.push_back((key, frame.clone()));
                Ok(Latest::Held)
            }
        }
    }

    /// Messages held by [`send_latest`](Self::send_latest), one per key.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    fn queue_prepared(&mut self, frame: &Prepared<Bytes>) -> Result<(), Error> {
        let conn = &mut self.conn;
        let mut shared = None;
        // Room is asked for only by a connection that compresses the
        // payload itself (`Fallback::Compress`).
        self.out.encode_optional(0, |buf| match conn.sender().send_prepared(frame, buf)? {
            Wire::Frame(bytes) => {
                shared = Some(bytes.clone());
                Ok(None)
            }
            Wire::Encoded(n) => Ok(Some(n)),
        })?;
        if let Some(bytes) = shared {
            self.out.push_shared(bytes);
        }
        Ok(())
    }

    /// Move held messages into the write buffer while they fit.
    fn queue_held(&mut self) {
        while let Some((_, frame)) = self.held.front() {
            if self.check_room(frame.frame().len()).is_err() {
                return;
            }
            let Some((key, frame)) = self.held.pop_front() else { return };
            match self.queue_prepared(&frame) {
                Ok(()) => {}
                // The application's own message or payload is half sent:
                // the held ones wait for its end.
                Err(Error::MessageInProgress | Error::PayloadInProgress { .. }) => {
                    self.held.push_front((key, frame));
                    return;
                }
                Err(_) => {
                    self.held.clear(); // closed: nothing more goes out
                    return;
                }
            }
        }
    }

    /// Whether permessage-deflate may compress what is sent.
    fn may_compress(&self) -> bool {
        #[cfg(feature = "deflate")]
        return self.conn.deflate().is_some();
        #[cfg(not(feature = "deflate"))]
        false
    }

    /// A send of `payload` bytes fits under `max_unsent` (or the queue is
    /// empty).
    fn check_room(&self, payload: usize) -> Result<(), Error> {
        let unsent = self.unsent();
        if unsent > 0 && unsent.saturating_add(payload) > self.buffers.max_unsent {
            return Err(Error::Backpressure { unsent, limit: self.buffers.max_unsent });
        }
        Ok(())
    }

    /// Queue any frame: fragments of a message, say.
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub fn send(&mut self, frame: Outgoing<'_>) -> Result<(), Error> {
        let payload = match frame {
            Outgoing::Text(text) => text.len(),
            Outgoing::Binary(data) | Outgoing::Fragment { payload: data, .. } => data.len(),
            _ => 0,
        };
        // A Close always fits: it is how a connection stuck behind a full
        // buffer is ended (and at most 131 bytes).
        if !matches!(frame, Outgoing::Close(_)) {
            self.check_room(payload)?;
        }
        let room = payload.saturating_add(HEADER_ROOM);
        self.out.encode(room, |buf| self.conn.encode(frame, buf))
    }

    // ---- output -----------------------------------------------------------

    /// The next bytes to write: everything queued since the last write, in
    /// one slice, unless a payload queued by reference
    /// ([`send_message`](Self::send_message)) splits it; write it (or a
    /// part of it), call [`advance`](Self::advance), and ask again while
    /// [`unsent`](Self::unsent) is not 0. Or write
    /// [`chunks_to_send`](Self::chunks_to_send) with one vectored write.
    pub fn data_to_send(&self) -> &[u8] {
        self.out.data()
    }

    /// Everything queued, in order, as slices for a vectored write.
    pub fn chunks_to_send(&self) -> impl Iterator<Item = &[u8]> {
        self.out.chunks()
    }

    /// Bytes queued and not yet written.
    pub fn unsent(&self) -> usize {
        self.out.unsent()
    }

    /// `n` bytes from the front of what is queued were written.
    pub fn advance(&mut self, n: usize) {
        self.out.advance(n);
        if self.out.unsent() == 0 || !self.held.is_empty() {
            // What waited for room: the protocol's own frames (a Pong, a
            // Close) first, so held messages cannot keep them out.
            self.queue_protocol();
        }
        if !self.held.is_empty() {
            self.queue_held();
        }
    }

    /// Whether a driver should write now, after a send: something is queued
    /// and either no more input waits to be decoded (so the replies to a
    /// whole read go out in one write) or enough is queued to be worth a
    /// write anyway.
    pub fn should_flush(&self) -> bool {
        let unsent = self.unsent();
        unsent > 0 && (!self.input_ready() || unsent >= CORK_LIMIT)
    }

    /// Whether a driver should write now, as it hands out `incoming`: when
    /// the session answered it (a Pong, the Close reply) and nothing more
    /// waits to be decoded, since the application may stop reading after a
    /// Close; or when enough is queued. Replies to data are left for the
    /// application's send, which [`should_flush`](Self::should_flush)
    /// times, so a read's worth of replies goes out in one write.
    pub fn should_flush_after(&self, incoming: &Incoming) -> bool {
        let answered = matches!(incoming, Incoming::Ping(_) | Incoming::Close(_));
        self.should_flush() && (answered || self.unsent() >= CORK_LIMIT)
    }

    /// Whether the transport may be closed: the connection is over and
    /// everything queued was written.
    pub fn close_expected(&self) -> bool {
        self.conn.close_expected() && self.unsent() == 0
    }

    /// Give back buffers that hold nothing: the read buffer when no input
    /// waits, the write buffer when everything was written. For a
    /// connection about to wait for its peer, so an idle one holds none.
    pub fn release_idle(&mut self) {
        if self.input.is_empty() && self.space_at.is_none() {
            self.input = BytesMut::new();
        }
        if self.partial_kind.is_none() {
            self.partial = BytesMut::new();
        }
        self.out.release();
    }

    /// Bytes the session's buffers hold allocated (a message handed out
    /// with no copy keeps its share of the read buffer alive apart from
    /// this): for watching memory per connection.
    pub fn buffer_capacity(&self) -> usize {
        self.input.capacity() + self.partial.capacity() + self.out.capacity()
    }

    /// The protocol state.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        self.conn.state()
    }

    /// Move the frames the connection queued on its own (Pongs, Close,
    /// keepalive Pings, a rejection) into the write buffer while there is
    /// room; what does not fit waits in the connection, bounded.
    fn queue_protocol(&mut self) {
        while self.unsent() < self.buffers.max_unsent {
            let conn = &mut self.conn;
            match self.out.encode_optional(256, |buf| conn.poll_transmit(buf)) {
                Ok(true) => {}
                Ok(false) | Err(_) => break,
            }
        }
    }
}

/// What [`Session::send_latest`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latest {
    /// Queued to be written.
    Queued,
    /// Held, the first for its key, until the write buffer has room.
    Held,
    /// Held in place of an older message for its key, which will never be
    /// sent (coalesced).
    Replaced,
}

/// Progress of the opening handshake ([`Session::handshake`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    /// More bytes are needed.
    Pending,
    /// (Server) A request waits: read it with [`Session::request`], answer
    /// with [`Session::accept`] or [`Session::reject`].
    Request,
    /// Frames flow.
    Done,
}

/// What one decoding step gave.
enum Decode {
    /// More input is needed.
    More,
    /// A piece of a message was gathered.
    Piece,
    Ready(Incoming),
}

enum Found {
    Nothing,
    Whole { kind: DataKind, len: usize },
    Piece { kind: DataKind, fin: bool },
    Ready(Incoming),
}

fn message(kind: DataKind, bytes: Bytes) -> Incoming {
    match kind {
        DataKind::Text => Incoming::Text(Utf8Bytes::from_validated(bytes)),
        DataKind::Binary => Incoming::Binary(bytes),
    }
}
