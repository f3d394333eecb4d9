//! The connection state machine: one per WebSocket, for either role.
//!
//! [`Connection`] consumes bytes and time and produces events and bytes. It
//! never performs I/O, reads a clock or allocates:
//!
//! * input: [`read`](Connection::read) decodes frames in place in the
//!   caller's buffer and returns at most one [`Event`] per call;
//!   [`read_eof`](Connection::read_eof) reports the end of the transport;
//! * output: [`encode`](Connection::encode) writes the frames the application
//!   sends; [`poll_transmit`](Connection::poll_transmit) writes the frames the
//!   protocol itself sends (Pong replies, the Close reply or the Close after a
//!   failure, keepalive Pings);
//! * time: [`poll_timeout`](Connection::poll_timeout) says when to call
//!   [`handle_timeout`](Connection::handle_timeout) next.

#[cfg(feature = "deflate")]
mod deflate;
mod handshake;
mod recv;
mod send;
mod timers;

use crate::close::CloseCode;
use crate::config::{Config, Role};
use crate::frame::MAX_CONTROL_PAYLOAD;
use crate::rng::KeyStream;

pub use recv::Decoded;
pub use send::{EncodedHeader, Outgoing, Sender};

/// Where a connection is in its life.
///
/// [`State::Handshake`] while a connection made by [`Connection::server`] or
/// [`Connection::client`] runs the opening handshake (a connection made by
/// [`Connection::new`] starts open).
///
/// [`State::Open`] until a Close frame is sent or received.
/// [`State::Closing`] after this side sent its Close: incoming data is
/// discarded while it waits for the peer's Close, at most
/// `Config::close_timeout`. [`State::Closed`] once the peer's Close arrived,
/// or the connection failed, timed out or lost its transport. Then
/// [`close_expected`](Connection::close_expected) says when the transport may
/// be closed: at once for a server (RFC 6455 has the server close TCP first),
/// after the server's end of file or `close_timeout` for a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The opening handshake is under way (a connection made by
    /// [`Connection::server`] or [`Connection::client`]).
    Handshake,
    /// Messages flow both ways.
    Open,
    /// This side sent a Close and waits for the peer's; incoming data is
    /// discarded and nothing but the peer's Close is reported.
    Closing,
    /// No more frames either way (a queued Close reply may still need
    /// flushing). The code is the peer's close code, [`CloseCode::NO_STATUS`]
    /// when its Close carried none, the code this side sent when the peer
    /// broke the protocol, or [`CloseCode::ABNORMAL`] when the transport
    /// ended or a timer ran out without a closing handshake.
    Closed(CloseCode),
}

/// A WebSocket connection's protocol state, for either role.
///
/// ```
/// use wscore::{Config, Connection, Event, Instant, Outgoing, Role};
///
/// let mut server = Connection::new(Role::Server, Config::default());
/// // A masked text frame "Hello" from a client (RFC 6455 section 5.7).
/// let mut input = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let decoded = server.read(&mut input, Instant(0))?;
/// assert_eq!(decoded.consumed, 11);
/// let Some(Event::Data { payload, fin: true, .. }) = decoded.event else { panic!() };
/// assert_eq!(payload, b"Hello"); // unmasked in place, lent from `input`
///
/// let mut out = [0u8; 64];
/// let n = server.encode(Outgoing::Text("Hello"), &mut out)?;
/// assert_eq!(&out[..n], &[0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
/// # Ok::<(), wscore::Error>(())
/// ```
///
/// A connection is deliberately not `Clone`: a copy would draw the same
/// mask keys as the original.
#[derive(Debug)]
pub struct Connection {
    /// What is being read: the handshake, or frames (the receiver, whose
    /// buffers events borrow).
    phase: Phase,
    /// Everything else: what sending needs and the connection's life. Kept
    /// apart from `phase` so that a [`Sender`] can borrow it while an event
    /// borrows the receiver.
    tx: send::Transmit,
}

impl Connection {
    /// An open connection (the opening handshake happened elsewhere). Client
    /// mask keys are seeded from the operating system.
    ///
    /// # Panics
    ///
    /// For a client, if the OS random source fails (see [`KeyStream::from_os`]).
    #[cfg(feature = "std")]
    pub fn new(role: Role, config: Config) -> Self {
        let keys = match role {
            Role::Client => KeyStream::from_os(),
            Role::Server => KeyStream::from_seed([0; 32]), // servers never mask
        };
        Connection::open_with_keys(role, config, keys)
    }

    /// An open connection whose client mask keys come from `seed`: 32 bytes
    /// from a strong entropy source (a hardware RNG on embedded targets),
    /// never reused. Servers do not mask and may pass any seed.
    pub fn with_seed(role: Role, config: Config, seed: [u8; 32]) -> Self {
        Connection::open_with_keys(role, config, KeyStream::from_seed(seed))
    }

    fn open_with_keys(role: Role, config: Config, keys: KeyStream) -> Self {
        let mut connection = Connection::with_keys(role, config, keys, Phase::AwaitingRequest);
        connection.open();
        connection
    }

    /// A connection starting in `phase`, its timers not yet running.
    fn with_keys(role: Role, config: Config, keys: KeyStream, phase: Phase) -> Self {
        Connection { phase, tx: send::Transmit::new(role, config, keys) }
    }

    /// This side's role.
    pub fn role(&self) -> Role {
        self.tx.role
    }

    /// The limits and timers in force (durations to the millisecond).
    pub fn config(&self) -> Config {
        #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
        let mut config = Config::from(self.tx.config);
        #[cfg(feature = "deflate")]
        {
            config.deflate = self.tx.deflate.as_deref().map(deflate::Deflating::config);
        }
        config
    }

    /// Hand out data frames with a payload of at most `limit` bytes whole,
    /// as one [`Event::Data`](crate::Event::Data) lent from the input:
    /// once such a frame's header is read, [`read`](Self::read) consumes no
    /// more of it until its whole payload is in the input, and says in
    /// [`Decoded::needed`] how many bytes that takes, so a single-frame
    /// message (the common case) arrives in one piece, with no copy. The
    /// bytes that arrived meanwhile are unmasked and checked in place as
    /// they come (bad UTF-8 still fails at once): hand them back unchanged
    /// with the rest. Larger frames stream in pieces as their bytes
    /// arrive, so memory stays bounded by what the caller chooses. The
    /// default, 0, streams every frame, and any input buffer of 14 bytes or
    /// more works. Compressed frames (permessage-deflate) always stream.
    /// Kept up to `u32::MAX`.
    ///
    /// ```
    /// use wscore::{Config, Connection, DataKind, Event, Instant, Role};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// client.set_whole_frame_limit(64 * 1024);
    /// let mut input = vec![0x82, 0x04, 1, 2]; // a 4-byte binary frame, half there
    /// let d = client.read(&mut input, Instant(0))?;
    /// assert_eq!((d.consumed, d.needed, d.event), (2, 4, None)); // the header; 4 bytes wanted
    /// input.drain(..2);
    /// input.extend_from_slice(&[3, 4]);
    /// let d = client.read(&mut input, Instant(0))?;
    /// assert_eq!(d.event, Some(Event::Data { kind: DataKind::Binary, payload: &[1, 2, 3, 4][..], fin: true }));
    /// # Ok::<(), wscore::Error>(())
    /// ```
    pub fn set_whole_frame_limit(&mut self, limit: usize) {
        self.tx.config.whole_frame_limit = u32::try_from(limit).unwrap_or(u32::MAX);
    }

    /// The limit set by [`set_whole_frame_limit`](Self::set_whole_frame_limit).
    pub fn whole_frame_limit(&self) -> usize {
        self.tx.config.whole_frame_limit as usize
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        self.tx.state()
    }

    /// Whether the connection is closed ([`State::Closed`]).
    pub fn is_closed(&self) -> bool {
        self.tx.closed.is_some()
    }

    /// Whether the transport may be closed now: the connection is closed and
    /// its last frame flushed, and either this is the server (which closes
    /// first), or the connection failed, or a client has seen the server
    /// close the transport or waited `close_timeout` for it.
    pub fn close_expected(&self) -> bool {
        self.tx.closed.is_some()
            && !self.tx.outbox.has_close()
            && !matches!(self.phase, Phase::Rejecting(_))
            && (self.tx.role == Role::Server || self.tx.transport_ended)
    }

    /// The peer broke the protocol: queue a Close with the mapped code (unless
    /// ours was already sent), close, and hand back the error for the caller.
    fn fail(&mut self, e: crate::ProtocolError) -> crate::Error {
        self.tx.fail_with(e.close_code(), e.close_reason());
        crate::Error::Protocol(e)
    }
}

/// What the connection is reading: the opening handshake, or frames. The
/// variants share memory, so a client's handshake offer costs no room once
/// frames flow.
#[derive(Debug)]
enum Phase {
    /// Server: waiting for the client's request.
    AwaitingRequest,
    /// Server: the request went out as an event; waiting for `accept` or `reject`.
    AwaitingAnswer,
    /// Server: the request was refused; this rejection is to be sent.
    Rejecting(crate::handshake::HandshakeError),
    /// Client: the request was written; waiting for the response.
    AwaitingResponse(handshake::ClientOffer),
    /// The handshake failed; nothing more is read or sent.
    HandshakeFailed,
    /// The handshake is done (or happened elsewhere): frames flow.
    Frames(recv::Receiver),
}

impl Phase {
    fn is_handshake(&self) -> bool {
        !matches!(self, Phase::Frames(_))
    }

    fn receiver(&self) -> Option<&recv::Receiver> {
        match self {
            Phase::Frames(recv) => Some(recv),
            _ => None,
        }
    }
}

/// Bytes for a control frame payload, held by the connection.
#[derive(Clone, Copy)]
struct ControlPayload {
    len: u8,
    bytes: [u8; MAX_CONTROL_PAYLOAD],
}

impl ControlPayload {
    const EMPTY: ControlPayload = ControlPayload { len: 0, bytes: [0; MAX_CONTROL_PAYLOAD] };

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// A copy of `payload`, at most 125 bytes (longer input is cut there).
    fn copy_of(payload: &[u8]) -> Self {
        let len = payload.len().min(MAX_CONTROL_PAYLOAD);
        let mut copy = ControlPayload::EMPTY;
        copy.bytes[..len].copy_from_slice(&payload[..len]);
        copy.len = len as u8;
        copy
    }
}

impl core::fmt::Debug for ControlPayload {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.as_slice().fmt(f)
    }
}
