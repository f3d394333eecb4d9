//! The sending half: frames the application sends, and the frames the
//! protocol queues on its own (Pong, Close reply, keepalive Ping).

use super::{Connection, ControlPayload};
use crate::close::{CloseCode, CloseFrame, MAX_REASON_LEN};
use crate::config::Role;
use crate::error::{BufferTooSmall, Error};
use crate::event::DataKind;
use crate::frame::{FrameHeader, OpCode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use crate::mask::{apply_mask, copy_and_mask};
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

/// A frame header ready to send, from [`Connection::encode_header`].
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

/// Masks a payload that the caller sends itself after an
/// [`EncodedHeader`], piece by piece. A no-op for servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadMasker {
    key: Option<[u8; 4]>,
    phase: usize,
}

impl PayloadMasker {
    /// Mask the next piece of the payload in place.
    pub fn mask(&mut self, piece: &mut [u8]) {
        if let Some(key) = self.key {
            self.phase = apply_mask(piece, key, self.phase);
        }
    }

    /// Copy the next piece of the payload into `dst`, masking it on the way.
    /// Returns the bytes written (`src.len()`).
    ///
    /// # Errors
    ///
    /// [`BufferTooSmall`] when `dst` is shorter than `src`; nothing is written.
    pub fn copy_masked(&mut self, dst: &mut [u8], src: &[u8]) -> Result<usize, BufferTooSmall> {
        let dst = dst.get_mut(..src.len()).ok_or(BufferTooSmall { needed: src.len() })?;
        match self.key {
            Some(key) => self.phase = copy_and_mask(dst, src, key, self.phase),
            None => dst.copy_from_slice(src),
        }
        Ok(src.len())
    }
}

/// Frames the protocol queued, waiting for `poll_transmit`. Bounded: a
/// newer Ping's Pong replaces an unsent older one (RFC 6455 section 5.5.3).
#[derive(Debug, Clone, Default)]
pub(super) struct Outbox {
    pong: Option<ControlPayload>,
    keepalive_ping: Option<[u8; 4]>,
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

    pub(super) fn queue_keepalive_ping(&mut self, payload: [u8; 4]) {
        self.keepalive_ping = Some(payload);
    }

    pub(super) fn queue_close(&mut self, code: Option<CloseCode>, reason: &'static str) {
        self.close = Some(QueuedClose { code, reason });
    }

    pub(super) fn has_close(&self) -> bool {
        self.close.is_some()
    }

    pub(super) fn drop_keepalive_ping(&mut self) {
        self.keepalive_ping = None;
    }

    pub(super) fn drop_all(&mut self) {
        *self = Outbox::default();
    }
}

impl Connection {
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
    /// [`Error::CloseSent`] after this side's Close; [`Error::Closed`] once
    /// the connection is closed.
    ///
    /// ```
    /// use wscore::{CloseCode, CloseFrame, Config, Connection, DataKind, Outgoing, Role, State};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// let mut out = [0u8; 256];
    /// let n = client.encode(Outgoing::Fragment { kind: DataKind::Text, payload: b"Hel", fin: false }, &mut out)?;
    /// assert_eq!((out[0], out[1], n), (0x01, 0x83, 2 + 4 + 3)); // FIN clear, masked
    /// let n = client.encode(Outgoing::Fragment { kind: DataKind::Text, payload: b"lo", fin: true }, &mut out)?;
    /// assert_eq!((out[0], n), (0x80, 2 + 4 + 2)); // a final continuation frame
    /// client.encode(Outgoing::Close(Some(CloseFrame::new(CloseCode::NORMAL))), &mut out)?;
    /// assert_eq!(client.state(), State::Closing);
    /// # Ok::<(), wscore::Error>(())
    /// ```
    pub fn encode(&mut self, frame: Outgoing<'_>, out: &mut [u8]) -> Result<usize, Error> {
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
                self.timers.set_close_deadline(self.config.close_timeout);
                self.timers.stop_keepalive();
                Ok(n)
            }
        }
    }

    /// Encode only the header of a data frame whose `len`-byte payload the
    /// caller sends itself (a vectored write, or a large payload streamed
    /// from elsewhere). The payload must then be passed through the returned
    /// [`PayloadMasker`] (a no-op for servers) and sent right after the
    /// header. Fragment rules are those of [`Outgoing::Fragment`]; a text
    /// payload is not seen here, so its UTF-8 is the caller's to guarantee
    /// (and the rest of that text message is not checked either).
    ///
    /// **Until all `len` bytes are sent, send nothing else**: no frame from
    /// [`encode`](Self::encode) or [`poll_transmit`](Self::poll_transmit)
    /// may go between the header and the end of its payload.
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
    ) -> Result<(EncodedHeader, PayloadMasker), Error> {
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
        Ok((EncodedHeader { bytes, len: n as u8 }, PayloadMasker { key: mask, phase: 0 }))
    }

    /// Write the next frame the protocol itself wants sent: a Pong answering
    /// a Ping, a keepalive Ping, or a Close (the reply to the peer's Close,
    /// or the Close after a protocol failure), or a server's handshake
    /// rejection. Call it until it returns `Ok(None)` and send the bytes
    /// after every `read` that gave an event or an error, and after every
    /// `handle_timeout`: each Ping then gets its own Pong (if several Pings
    /// are read before a flush, only the latest is answered, as RFC 6455
    /// section 5.5.3 allows). 133 bytes hold any frame it writes; a
    /// handshake rejection may need a few hundred.
    ///
    /// A Pong still queued when this side sends its Close is dropped.
    ///
    /// # Errors
    ///
    /// [`BufferTooSmall`] when `out` cannot hold the frame; nothing is
    /// written and the frame stays queued.
    pub fn poll_transmit(&mut self, out: &mut [u8]) -> Result<Option<usize>, BufferTooSmall> {
        if let Some(n) = self.poll_rejection(out)? {
            return Ok(Some(n));
        }
        if let Some(pong) = self.outbox.pong {
            let n = self.write_frame(OpCode::Pong, true, pong.as_slice(), out)?;
            self.outbox.pong = None;
            return Ok(Some(n));
        }
        if let Some(ping) = self.outbox.keepalive_ping {
            let n = self.write_frame(OpCode::Ping, true, &ping, out)?;
            self.outbox.keepalive_ping = None;
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
                self.timers.set_close_deadline(self.config.close_timeout);
            }
            return Ok(Some(n));
        }
        Ok(None)
    }

    fn check_can_send(&self) -> Result<(), Error> {
        if self.closed.is_none() && self.phase.is_handshake() {
            Err(Error::Handshaking)
        } else if self.closed.is_some() {
            Err(Error::Closed)
        } else if self.close_sent {
            Err(Error::CloseSent)
        } else {
            Ok(())
        }
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
