//! The sending half: frames the application sends, and the frames the
//! protocol queues on its own (Pong, Close reply, keepalive Ping).

use super::timers::Timers;
use super::{Connection, ControlPayload, State};
use crate::close::{CloseCode, CloseFrame, MAX_REASON_LEN};
use crate::config::{Config, Limits, Role};
use crate::error::{BufferTooSmall, Error};
use crate::event::DataKind;
use crate::frame::{FrameHeader, OpCode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use crate::mask::{apply_mask, copy_and_mask};
use crate::prepared::{Prepared, Wire};
use crate::rng::KeyStream;
use crate::utf8::Utf8Validator;

/// A frame for [`Connection::encode`] to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outgoing<'a> {
    /// A whole text message in one frame.
    Text(&'a str),
    /// A whole binary message in one frame.
    Binary(&'a [u8]),
    /// One piece of a fragmented message. The first piece opens the message
    /// with `kind`; the pieces after it name the same kind and go out as
    /// continuation frames; the piece with `fin` ends it. Text pieces may
    /// split a code point; the whole must be UTF-8, which is checked as the
    /// pieces go.
    Fragment {
        /// Text or binary: the kind of the whole message.
        kind: DataKind,
        /// The piece's bytes.
        payload: &'a [u8],
        /// Whether this piece ends the message.
        fin: bool,
    },
    /// A Ping (at most 125 bytes of payload).
    Ping(&'a [u8]),
    /// An unsolicited Pong, used as a one-way heartbeat (at most 125 bytes).
    /// Replies to Pings are sent automatically unless `Config::auto_pong` is off.
    Pong(&'a [u8]),
    /// Start the closing handshake, with a status (`None` sends an empty
    /// Close). The peer's reply arrives as [`Event::Close`](crate::Event::Close).
    Close(Option<CloseFrame<'a>>),
}

/// A frame header ready to send, from [`Sender::encode_header`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodedHeader {
    bytes: [u8; MAX_HEADER_LEN],
    len: u8,
}

impl EncodedHeader {
    /// The header's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Frames the protocol queued, waiting for `poll_transmit`. Bounded: a
/// newer Ping's Pong replaces an unsent older one (RFC 6455 section 5.5.3).
#[derive(Debug, Clone, Default)]
pub(super) struct Outbox {
    pong: Option<ControlPayload>,
    /// A keepalive Ping is due; its payload is `Timers::ping_payload`.
    keepalive_ping: bool,
    close: Option<QueuedClose>,
}

#[derive(Debug, Clone, Copy)]
struct QueuedClose {
    code: Option<CloseCode>,
    reason: &'static str,
}

impl Outbox {
    pub(super) fn queue_pong(&mut self, payload: ControlPayload) {
        self.pong = Some(payload);
    }

    pub(super) fn queue_keepalive_ping(&mut self) {
        self.keepalive_ping = true;
    }

    pub(super) fn queue_close(&mut self, code: Option<CloseCode>, reason: &'static str) {
        self.close = Some(QueuedClose { code, reason });
    }

    pub(super) fn has_close(&self) -> bool {
        self.close.is_some()
    }

    pub(super) fn drop_keepalive_ping(&mut self) {
        self.keepalive_ping = false;
    }

    fn is_empty(&self) -> bool {
        self.pong.is_none() && !self.keepalive_ping && self.close.is_none()
    }

    pub(super) fn drop_all(&mut self) {
        *self = Outbox::default();
    }
}

/// A payload announced by `encode_header` that the caller is sending.
#[derive(Debug, Clone, Copy, Default)]
struct Streaming {
    /// Bytes still to send; 0 when no payload is being sent.
    remaining: u64,
    /// The mask key (a client's; a server's payload is not masked).
    key: [u8; 4],
    /// Bytes already sent, modulo 4: where the mask continues.
    phase: u8,
}

/// Everything a connection keeps but the receiver: what sending needs, the
/// timers, and where the connection is in its life. A [`Sender`] borrows it
/// while an event borrows the receiver.
#[derive(Debug)]
pub(super) struct Transmit {
    pub(super) role: Role,
    pub(super) config: Limits,
    /// `None` while open or closing; the outcome once closed.
    pub(super) closed: Option<CloseCode>,
    /// This side's Close frame was sent or is queued.
    pub(super) close_sent: bool,
    /// A client saw the end of the transport (or gave up waiting for it).
    pub(super) transport_ended: bool,
    /// The connection failed (protocol error, timeout, lost transport,
    /// refused handshake) rather than closing cleanly.
    pub(super) failed: bool,
    /// The opening handshake is over (or happened elsewhere): frames flow.
    pub(super) frames: bool,
    /// The kind of the fragmented message being sent, if one is open.
    send_message: Option<DataKind>,
    /// Checks the text message being sent; `None` once a piece of it went
    /// out through `encode_header`, unseen.
    pub(super) send_utf8: Option<Utf8Validator>,
    /// The payload `encode_header` announced, while bytes of it are unsent.
    streaming: Streaming,
    pub(super) outbox: Outbox,
    pub(super) timers: Timers,
    keys: KeyStream,
    /// permessage-deflate, when `Config::deflate` asks for it.
    #[cfg(feature = "deflate")]
    pub(super) deflate: Option<alloc::boxed::Box<super::deflate::Deflating>>,
}

impl Transmit {
    pub(super) fn new(role: Role, config: Config, keys: KeyStream) -> Self {
        Transmit {
            role,
            config: config.into(),
            closed: None,
            close_sent: false,
            transport_ended: false,
            failed: false,
            frames: false,
            send_message: None,
            send_utf8: Some(Utf8Validator::new()),
            streaming: Streaming::default(),
            outbox: Outbox::default(),
            timers: Timers::default(),
            keys,
            #[cfg(feature = "deflate")]
            deflate: config.deflate.map(super::deflate::Deflating::new),
        }
    }

    pub(super) fn state(&self) -> State {
        match (self.closed, self.close_sent, self.frames) {
            (Some(code), _, _) => State::Closed(code),
            (None, _, false) => State::Handshake,
            (None, true, true) => State::Closing,
            (None, false, true) => State::Open,
        }
    }

    /// Enter the closed state with `code`.
    pub(super) fn finish(&mut self, code: CloseCode) {
        self.closed = Some(code);
        self.outbox.drop_keepalive_ping();
        self.timers.stop_keepalive();
    }

    /// Fail the connection (RFC 6455 section 7.1.7): drop what was queued,
    /// queue a Close with `code` unless ours was already sent, and close;
    /// the transport is to be closed once that Close is flushed.
    pub(super) fn fail_with(&mut self, code: CloseCode, reason: &'static str) {
        if !self.close_sent {
            self.close_sent = true;
            self.outbox.drop_all();
            self.outbox.queue_close(Some(code), reason);
        }
        self.streaming.remaining = 0; // the frame will never be finished
        self.transport_ended = true;
        self.failed = true;
        self.finish(code);
    }

    fn check_can_send(&self) -> Result<(), Error> {
        if self.closed.is_none() && !self.frames {
            Err(Error::Handshaking)
        } else if self.closed.is_some() {
            Err(Error::Closed)
        } else if self.streaming.remaining > 0 {
            Err(Error::PayloadInProgress { remaining: self.streaming.remaining })
        } else if self.close_sent {
            Err(Error::CloseSent)
        } else {
            Ok(())
        }
    }

    fn encode(&mut self, frame: Outgoing<'_>, out: &mut [u8]) -> Result<usize, Error> {
        self.check_can_send()?;
        match frame {
            Outgoing::Text(text) => self.encode_message(DataKind::Text, text.as_bytes(), out),
            Outgoing::Binary(data) => self.encode_message(DataKind::Binary, data, out),
            Outgoing::Fragment { kind, payload, fin } => {
                let opcode = self.fragment_opcode(kind)?;
                let utf8 = self.outgoing_utf8(kind, payload, fin)?;
                #[cfg(feature = "deflate")]
                let n = match self.compresses_fragment(opcode, payload.len()) {
                    true => self.write_compressed(opcode, fin, payload, out)?,
                    false => self.write_frame(opcode, fin, payload, out)?,
                };
                #[cfg(not(feature = "deflate"))]
                let n = self.write_frame(opcode, fin, payload, out)?;
                self.send_utf8 = utf8;
                self.end_fragment(kind, fin);
                Ok(n)
            }
            Outgoing::Ping(payload) => {
                check_control_len(payload.len())?;
                Ok(self.write_frame(OpCode::Ping, true, payload, out)?)
            }
            Outgoing::Pong(payload) => {
                check_control_len(payload.len())?;
                Ok(self.write_frame(OpCode::Pong, true, payload, out)?)
            }
            Outgoing::Close(body) => {
                let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
                let len = close_payload(body, &mut payload)?;
                let n = self.write_frame(OpCode::Close, true, &payload[..len], out)?;
                self.close_sent = true;
                self.outbox.drop_all();
                // `encode` has no clock: the deadline counts from the next
                // reading, however long the application went without one.
                self.timers.set_close_deadline_from_next_clock(self.config.close_timeout);
                self.timers.stop_keepalive();
                Ok(n)
            }
        }
    }

    fn encode_header(
        &mut self,
        kind: DataKind,
        len: u64,
        fin: bool,
    ) -> Result<EncodedHeader, Error> {
        self.check_can_send()?;
        if len >> 63 != 0 {
            return Err(Error::PayloadTooLong { len });
        }
        let opcode = self.fragment_opcode(kind)?;
        #[cfg(feature = "deflate")]
        self.stream_uncompressed(opcode)?;
        let mask = self.next_mask();
        let header = FrameHeader { fin, rsv: 0, opcode, mask, payload_len: len };
        let mut bytes = [0; MAX_HEADER_LEN];
        let n = header.encode(&mut bytes)?;
        self.end_fragment(kind, fin);
        if kind == DataKind::Text {
            self.send_utf8 = fin.then(Utf8Validator::new);
        }
        self.streaming = Streaming { remaining: len, key: mask.unwrap_or_default(), phase: 0 };
        Ok(EncodedHeader { bytes, len: n as u8 })
    }

    /// Account for `len` payload bytes; returns the mask key (a client's)
    /// and the phase to apply it at.
    fn take_payload(&mut self, len: usize) -> Result<(Option<[u8; 4]>, usize), Error> {
        let s = &mut self.streaming;
        if len as u64 > s.remaining {
            return Err(Error::PayloadOverrun { remaining: s.remaining, len });
        }
        let key = (self.role == Role::Client).then_some(s.key);
        let phase = usize::from(s.phase);
        s.remaining -= len as u64;
        s.phase = ((phase + len) % 4) as u8;
        Ok((key, phase))
    }

    fn send_prepared<'p, B: AsRef<[u8]>>(
        &mut self,
        prepared: &'p Prepared<B>,
        out: &mut [u8],
    ) -> Result<Wire<'p, B>, Error> {
        if self.role == Role::Client {
            return Err(Error::PreparedByClient);
        }
        self.check_can_send()?;
        if self.send_message.is_some() {
            return Err(Error::MessageInProgress);
        }
        #[cfg(feature = "deflate")]
        if let Some(wire) = self.prepared_wire(prepared, out)? {
            return Ok(wire);
        }
        #[cfg(not(feature = "deflate"))]
        let _ = out;
        Ok(Wire::Frame(prepared.frame()))
    }

    fn mask_payload(&mut self, piece: &mut [u8]) -> Result<(), Error> {
        if let (Some(key), phase) = self.take_payload(piece.len())? {
            apply_mask(piece, key, phase);
        }
        Ok(())
    }

    fn copy_payload(&mut self, dst: &mut [u8], src: &[u8]) -> Result<usize, Error> {
        let dst = dst.get_mut(..src.len()).ok_or(BufferTooSmall { needed: src.len() })?;
        match self.take_payload(src.len())? {
            (Some(key), phase) => {
                copy_and_mask(dst, src, key, phase);
            }
            (None, _) => dst.copy_from_slice(src),
        }
        Ok(src.len())
    }

    fn payload_sent(&mut self, len: usize) -> Result<(), Error> {
        if self.role == Role::Client && len > 0 {
            return Err(Error::PayloadNotMasked);
        }
        self.take_payload(len).map(|_| ())
    }

    fn poll_transmit(&mut self, out: &mut [u8]) -> Result<Option<usize>, Error> {
        let remaining = self.streaming.remaining;
        if remaining > 0 {
            return match self.outbox.is_empty() {
                true => Ok(None),
                false => Err(Error::PayloadInProgress { remaining }),
            };
        }
        if let Some(pong) = self.outbox.pong {
            let n = self.write_frame(OpCode::Pong, true, pong.as_slice(), out)?;
            self.outbox.pong = None;
            return Ok(Some(n));
        }
        if self.outbox.keepalive_ping {
            let n = self.write_frame(OpCode::Ping, true, &self.timers.ping_payload(), out)?;
            self.outbox.keepalive_ping = false;
            return Ok(Some(n));
        }
        if let Some(close) = self.outbox.close {
            let body = close.code.map(|code| CloseFrame { code, reason: close.reason });
            let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
            // Queued codes are the peer's (already validated) or our own.
            let len = close_payload(body, &mut payload).unwrap_or(0);
            let n = self.write_frame(OpCode::Close, true, &payload[..len], out)?;
            self.outbox.close = None;
            if self.closed.is_none() {
                self.timers.set_close_deadline_from_next_clock(self.config.close_timeout);
            }
            return Ok(Some(n));
        }
        Ok(None)
    }

    fn encode_message(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        if self.send_message.is_some() {
            return Err(Error::MessageInProgress);
        }
        let opcode = if kind == DataKind::Text { OpCode::Text } else { OpCode::Binary };
        #[cfg(feature = "deflate")]
        if self.compresses(payload.len()) {
            return self.write_compressed(opcode, true, payload, out);
        }
        Ok(self.write_frame(opcode, true, payload, out)?)
    }

    /// The opcode for the next fragment of a `kind` message.
    fn fragment_opcode(&self, kind: DataKind) -> Result<OpCode, Error> {
        match self.send_message {
            None if kind == DataKind::Text => Ok(OpCode::Text),
            None => Ok(OpCode::Binary),
            Some(open) if open == kind => Ok(OpCode::Continuation),
            Some(open) => Err(Error::FragmentKindMismatch { open }),
        }
    }

    /// The outgoing text validator after `payload`, checked on a copy so a
    /// failed call changes nothing.
    fn outgoing_utf8(
        &self,
        kind: DataKind,
        payload: &[u8],
        fin: bool,
    ) -> Result<Option<Utf8Validator>, Error> {
        let Some(mut utf8) = self.send_utf8 else {
            // A piece of this message went out unseen (`encode_header`):
            // checking the rest could only give false alarms. Check again
            // from the next message on.
            return Ok(fin.then(Utf8Validator::new));
        };
        if kind == DataKind::Text {
            utf8.feed(payload).map_err(|_| Error::InvalidUtf8)?;
            if fin {
                utf8.finish().map_err(|_| Error::InvalidUtf8)?;
            }
        }
        Ok(Some(utf8))
    }

    fn end_fragment(&mut self, kind: DataKind, fin: bool) {
        self.send_message = if fin { None } else { Some(kind) };
    }

    pub(super) fn next_mask(&mut self) -> Option<[u8; 4]> {
        match self.role {
            Role::Client => Some(self.keys.mask_key()),
            Role::Server => None,
        }
    }

    /// Header and payload into `out`, masked for clients. Checks the room
    /// first: on error nothing is written and no mask key is drawn.
    fn write_frame(
        &mut self,
        opcode: OpCode,
        fin: bool,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, BufferTooSmall> {
        let mut header =
            FrameHeader { fin, rsv: 0, opcode, mask: None, payload_len: payload.len() as u64 };
        if self.role == Role::Client {
            header.mask = Some([0; 4]);
        }
        let header_len = header.encoded_len();
        let needed = header_len.saturating_add(payload.len());
        if out.len() < needed {
            return Err(BufferTooSmall { needed });
        }
        header.mask = self.next_mask();
        header.encode(out)?;
        let body = &mut out[header_len..needed];
        match header.mask {
            Some(key) => {
                copy_and_mask(body, payload, key, 0);
            }
            None => body.copy_from_slice(payload),
        }
        Ok(needed)
    }
}

/// The sending operations, borrowed from a [`Connection`]: from
/// [`Connection::sender`], or from [`Decoded::sender`](super::Decoded::sender)
/// next to the event it came with, so that a reply can be encoded straight
/// from the event's payload.
///
/// ```
/// use wscore::{Config, Connection, Decoded, Event, Instant, Outgoing, Role};
///
/// let mut server = Connection::new(Role::Server, Config::default());
/// let mut input = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let mut out = [0u8; 64];
/// let Decoded { event, mut sender, .. } = server.read(&mut input, Instant(0))?;
/// if let Some(Event::Data { payload, .. }) = event {
///     let n = sender.encode(Outgoing::Binary(payload), &mut out)?; // an echo, no copy first
///     assert_eq!(&out[..n], b"\x82\x05Hello");
/// }
/// # Ok::<(), wscore::Error>(())
/// ```
#[derive(Debug)]
pub struct Sender<'c> {
    tx: &'c mut Transmit,
}

impl<'c> Sender<'c> {
    pub(super) fn new(tx: &'c mut Transmit) -> Self {
        Sender { tx }
    }

    /// Write one frame into `out` and return its length. Client frames are
    /// masked with a fresh key while they are copied: one pass over the data.
    ///
    /// # Errors
    ///
    /// Nothing is written and the connection is unchanged when:
    /// [`Error::BufferTooSmall`] (it says how many bytes are needed);
    /// [`Error::ControlPayloadTooLong`], [`Error::InvalidCloseCode`],
    /// [`Error::InvalidUtf8`], [`Error::MessageInProgress`] or
    /// [`Error::FragmentKindMismatch`] for what RFC 6455 forbids;
    /// [`Error::PayloadInProgress`] while a payload announced by
    /// [`encode_header`](Self::encode_header) is unfinished;
    /// [`Error::CloseSent`] after this side's Close; [`Error::Closed`] once
    /// the connection is closed; [`Error::Handshaking`] before the opening
    /// handshake is over.
    ///
    /// A Close starts the closing handshake's timer (`Config::close_timeout`)
    /// from the next clock reading the connection gets.
    ///
    /// ```
    /// use wscore::{CloseCode, CloseFrame, Config, Connection, DataKind, Outgoing, Role, State};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// let mut out = [0u8; 256];
    /// let mut sender = client.sender();
    /// let n = sender.encode(Outgoing::Fragment { kind: DataKind::Text, payload: b"Hel", fin: false }, &mut out)?;
    /// assert_eq!((out[0], out[1], n), (0x01, 0x83, 2 + 4 + 3)); // FIN clear, masked
    /// let n = sender.encode(Outgoing::Fragment { kind: DataKind::Text, payload: b"lo", fin: true }, &mut out)?;
    /// assert_eq!((out[0], n), (0x80, 2 + 4 + 2)); // a final continuation frame
    /// sender.encode(Outgoing::Close(Some(CloseFrame::new(CloseCode::NORMAL))), &mut out)?;
    /// assert_eq!(client.state(), State::Closing);
    /// # Ok::<(), wscore::Error>(())
    /// ```
    pub fn encode(&mut self, frame: Outgoing<'_>, out: &mut [u8]) -> Result<usize, Error> {
        self.tx.encode(frame, out)
    }

    /// Encode only the header of a data frame whose `len`-byte payload the
    /// caller sends itself (a vectored write, or a large payload streamed
    /// from elsewhere). Fragment rules are those of [`Outgoing::Fragment`].
    ///
    /// Every byte of the payload must then pass through
    /// [`mask_payload`](Self::mask_payload) (in place) or
    /// [`copy_payload`](Self::copy_payload) (copied into an output buffer),
    /// which mask it for a client, or, for a server's payload that goes
    /// out untouched, be counted with [`payload_sent`](Self::payload_sent).
    /// Until the last byte has, nothing else can be sent:
    /// [`encode`](Self::encode), `encode_header` and
    /// [`poll_transmit`](Self::poll_transmit) refuse with
    /// [`Error::PayloadInProgress`], so no other frame can land inside the
    /// payload. A text payload is not checked here: its UTF-8 is the
    /// caller's to guarantee (and the rest of that text message is not
    /// checked either).
    ///
    /// ```
    /// use wscore::{Config, Connection, DataKind, Error, Outgoing, Role};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// let mut out = [0u8; 64];
    /// let mut sender = client.sender();
    /// let header = sender.encode_header(DataKind::Binary, 6, true)?;
    /// assert_eq!(header.as_bytes().len(), 2 + 4);
    /// let mut payload = *b"abcdef";
    /// sender.mask_payload(&mut payload[..4])?;
    /// assert_eq!(sender.encode(Outgoing::Ping(b""), &mut out), Err(Error::PayloadInProgress { remaining: 2 }));
    /// sender.mask_payload(&mut payload[4..])?; // done: other frames may follow
    /// sender.encode(Outgoing::Ping(b""), &mut out)?;
    /// # Ok::<(), wscore::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::PayloadTooLong`] for a length of 2^63 or more (the most a
    /// frame can announce); [`Error::CompressedMessageOpen`] to continue a
    /// message whose first fragment `encode` compressed (permessage-deflate:
    /// streamed payloads go out uncompressed, so a message is streamed from
    /// its first frame or not at all); otherwise as for
    /// [`encode`](Self::encode).
    pub fn encode_header(
        &mut self,
        kind: DataKind,
        len: u64,
        fin: bool,
    ) -> Result<EncodedHeader, Error> {
        self.tx.encode_header(kind, len, fin)
    }

    /// Send a [`Prepared`] frame, framed (and compressed) once for many
    /// connections: returns what to write, as a [`Wire`]. Usually
    /// [`Wire::Frame`], the shared bytes themselves, to be written as they
    /// are; [`Wire::Encoded`] when this permessage-deflate connection
    /// compressed the payload itself into `out` (the frame's
    /// [`Fallback::Compress`](crate::prepared::Fallback::Compress); `out`
    /// is not touched otherwise). See the [`prepared`](crate::prepared)
    /// module for which copy a connection takes.
    ///
    /// ```
    /// # #[cfg(feature = "alloc")] {
    /// use wscore::prepared::{Prepared, Wire};
    /// use wscore::{Config, Connection, Error, Outgoing, DataKind, Role};
    ///
    /// let hello = Prepared::text("Hello");
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// let mut sender = server.sender();
    /// assert_eq!(sender.send_prepared(&hello, &mut [])?, Wire::Frame(hello.frame()));
    /// // Not in the middle of a fragmented message of this connection's own:
    /// let mut out = [0u8; 16];
    /// sender.encode(Outgoing::Fragment { kind: DataKind::Text, payload: b"a", fin: false }, &mut out)?;
    /// assert_eq!(sender.send_prepared(&hello, &mut []), Err(Error::MessageInProgress));
    /// # }
    /// # Ok::<(), wscore::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::PreparedByClient`] for a client, whose frames are masked;
    /// [`Error::MessageInProgress`] while a fragmented message is open;
    /// [`Error::PayloadInProgress`], [`Error::CloseSent`],
    /// [`Error::Closed`], [`Error::Handshaking`] as for
    /// [`encode`](Self::encode); with [`Fallback::Compress`], as for
    /// `encode` too ([`Error::BufferTooSmall`]). Nothing changes on error.
    ///
    /// [`Fallback::Compress`]: crate::prepared::Fallback::Compress
    pub fn send_prepared<'p, B: AsRef<[u8]>>(
        &mut self,
        prepared: &'p Prepared<B>,
        out: &mut [u8],
    ) -> Result<Wire<'p, B>, Error> {
        self.tx.send_prepared(prepared, out)
    }

    /// Mask the next piece of the payload announced by
    /// [`encode_header`](Self::encode_header), in place (a client's; a
    /// server's is left as it is), and count it as sent.
    ///
    /// # Errors
    ///
    /// [`Error::PayloadOverrun`] when `piece` is longer than what is left of
    /// the payload; nothing is masked.
    pub fn mask_payload(&mut self, piece: &mut [u8]) -> Result<(), Error> {
        self.tx.mask_payload(piece)
    }

    /// Copy the next piece of the payload announced by
    /// [`encode_header`](Self::encode_header) into `dst`, masking it on the
    /// way for a client, and count it as sent. Returns `src.len()`.
    ///
    /// # Errors
    ///
    /// [`Error::BufferTooSmall`] when `dst` is shorter than `src`;
    /// [`Error::PayloadOverrun`] when `src` is longer than what is left of
    /// the payload. Nothing is written either way.
    pub fn copy_payload(&mut self, dst: &mut [u8], src: &[u8]) -> Result<usize, Error> {
        self.tx.copy_payload(dst, src)
    }

    /// Count `len` bytes of a server's payload as sent, for a payload that
    /// goes out as it is (from a shared buffer, with a vectored write).
    ///
    /// # Errors
    ///
    /// [`Error::PayloadNotMasked`] for a client, whose payloads must be
    /// masked; [`Error::PayloadOverrun`] as for
    /// [`mask_payload`](Self::mask_payload).
    pub fn payload_sent(&mut self, len: usize) -> Result<(), Error> {
        self.tx.payload_sent(len)
    }

    /// Where the connection is in its life (as [`Connection::state`]).
    pub fn state(&self) -> State {
        self.tx.state()
    }

    /// Bytes of the payload announced by [`encode_header`](Self::encode_header)
    /// still to send (0 when none is being sent).
    pub fn payload_remaining(&self) -> u64 {
        self.tx.streaming.remaining
    }

    /// Write the next frame the protocol itself wants sent: a Pong answering
    /// a Ping, a keepalive Ping, or a Close (the reply to the peer's Close,
    /// or the Close after a protocol failure). Call it until it returns
    /// `Ok(None)` and send the bytes after every `read` that gave an event
    /// or an error, and after every `handle_timeout`. 133 bytes hold any
    /// frame it writes.
    ///
    /// What is queued stays bounded whenever it is drained: one Pong (a
    /// newer Ping's replaces an unsent older one, as RFC 6455 section 5.5.3
    /// allows), one keepalive Ping and one Close. A Pong still queued when
    /// this side sends its Close is dropped.
    ///
    /// # Errors
    ///
    /// [`Error::BufferTooSmall`] when `out` cannot hold the frame;
    /// [`Error::PayloadInProgress`] while a payload announced by
    /// [`encode_header`](Self::encode_header) is unfinished and a frame is
    /// queued (it waits). Nothing is written either way.
    pub fn poll_transmit(&mut self, out: &mut [u8]) -> Result<Option<usize>, Error> {
        self.tx.poll_transmit(out)
    }
}

impl Connection {
    /// A whole data message whose text, if it is text, is known to be
    /// UTF-8 (the session's `Utf8Bytes`).
    #[cfg(feature = "alloc")]
    pub(crate) fn encode_data(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        self.tx.check_can_send()?;
        self.tx.encode_message(kind, payload, out)
    }

    /// The sending operations ([`Sender`]) on their own.
    pub fn sender(&mut self) -> Sender<'_> {
        Sender::new(&mut self.tx)
    }

    /// [`Sender::encode`]: write one frame into `out`.
    ///
    /// ```
    /// use wscore::{Config, Connection, Outgoing, Role};
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// let mut out = [0u8; 64];
    /// let n = server.encode(Outgoing::Text("Hello"), &mut out)?;
    /// assert_eq!(&out[..n], b"\x81\x05Hello");
    /// # Ok::<(), wscore::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`Sender::encode`].
    pub fn encode(&mut self, frame: Outgoing<'_>, out: &mut [u8]) -> Result<usize, Error> {
        self.tx.encode(frame, out)
    }

    /// [`Sender::poll_transmit`], and before the frames, a server's
    /// handshake rejection (which may need a few hundred bytes).
    ///
    /// # Errors
    ///
    /// As for [`Sender::poll_transmit`].
    pub fn poll_transmit(&mut self, out: &mut [u8]) -> Result<Option<usize>, Error> {
        if let Some(n) = self.poll_rejection(out)? {
            return Ok(Some(n));
        }
        self.tx.poll_transmit(out)
    }
}

fn check_control_len(len: usize) -> Result<(), Error> {
    if len > MAX_CONTROL_PAYLOAD {
        return Err(Error::ControlPayloadTooLong { len });
    }
    Ok(())
}

/// Lay out a Close payload (code, then reason) in `buf`; return its length.
fn close_payload(
    body: Option<CloseFrame<'_>>,
    buf: &mut [u8; MAX_CONTROL_PAYLOAD],
) -> Result<usize, Error> {
    let Some(CloseFrame { code, reason }) = body else {
        return Ok(0);
    };
    if !code.is_valid_on_wire() {
        return Err(Error::InvalidCloseCode(code.0));
    }
    if reason.len() > MAX_REASON_LEN {
        return Err(Error::ControlPayloadTooLong { len: 2 + reason.len() });
    }
    buf[..2].copy_from_slice(&code.0.to_be_bytes());
    buf[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
    Ok(2 + reason.len())
}
