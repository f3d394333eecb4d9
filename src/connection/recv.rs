//! The receiving half: frames in, events out, decoded in place.

use super::send::{Sender, Transmit};
use super::{Connection, ControlPayload, Phase};
use crate::close::{self, CloseCode, ClosePayloadError};
use crate::config::{Instant, Limits, Role};
use crate::error::{Error, ProtocolError};
use crate::event::{DataKind, Event};
use crate::frame::{FrameHeader, OpCode, Parsed};
use crate::mask::apply_mask;
use crate::utf8::Utf8Validator;

#[cfg(feature = "deflate")]
mod inflate;
#[cfg(feature = "deflate")]
pub(super) use inflate::Inflating;

/// The result of one [`Connection::read`] call: the bytes used, at most one
/// event, and the sending operations, which can be used while the event is
/// held (to echo its payload, say).
#[derive(Debug)]
#[must_use = "`consumed` bytes must be dropped from the input before the next read"]
pub struct Decoded<'c, 'b> {
    /// How many bytes at the front of the input were used. Drop them and
    /// keep the rest for the next call, whether or not there is an event:
    /// a frame header or part of a control payload can be used up without
    /// one.
    pub consumed: usize,
    /// With no event: how many bytes the input must hold, counted from its
    /// front once the `consumed` ones are dropped, before the next call can
    /// make progress. A frame read whole
    /// ([`Connection::set_whole_frame_limit`]) asks for its whole payload,
    /// so the caller can size its buffer for it at once; otherwise this is
    /// small (the rest of a header, or 1). It is 0 when there is an event.
    pub needed: usize,
    /// What happened, if anything. `None` means the input held no whole
    /// event: read more bytes from the transport, append them to what was not
    /// consumed, and call again.
    pub event: Option<Event<'c, 'b>>,
    /// The sending operations, borrowed beside the event: encode a reply
    /// from the event's payload without copying it first.
    pub sender: Sender<'c>,
}

/// Receive-side state once frames flow: the frame being read, the message
/// it belongs to, and the control payload being gathered.
#[derive(Debug, Default)]
pub(super) struct Receiver {
    /// The frame whose payload is being read, if its header has been parsed.
    frame: Option<InFrame>,
    /// The kind of the data message in progress, if one is open.
    message: Option<DataKind>,
    /// Bytes announced so far by the open message's frames.
    message_len: u64,
    utf8: Utf8Validator,
    /// The payload of the control frame in progress (or last completed).
    control: ControlPayload,
    /// permessage-deflate, when negotiated.
    #[cfg(feature = "deflate")]
    deflate: Option<alloc::boxed::Box<Inflating>>,
}

impl Default for ControlPayload {
    fn default() -> Self {
        ControlPayload::EMPTY
    }
}

#[derive(Debug, Clone, Copy)]
struct InFrame {
    opcode: OpCode,
    fin: bool,
    mask: Option<[u8; 4]>,
    /// Payload bytes still to come.
    remaining: u64,
    /// Payload bytes already read, modulo 4: where the mask continues.
    phase: u8,
    /// Read whole (`Config`'s whole-frame limit): the payload is handed out
    /// once it is all in the input, and is not consumed before.
    whole: bool,
    /// Of a frame read whole: payload bytes at the front of the input
    /// already unmasked and checked.
    ahead: u32,
}

/// What the connection tells the decoder about itself.
#[derive(Debug, Clone, Copy)]
pub(super) struct Context<'l> {
    pub(super) role: Role,
    pub(super) limits: &'l Limits,
    /// This side sent its Close: discard data, Pings and Pongs.
    pub(super) closing: bool,
}

/// What one decoding step found.
pub(super) enum Step {
    /// The input holds no whole event: it must hold this many bytes from
    /// the consumed position for the next step to make progress.
    Need(usize),
    /// A data piece at `input[start..start + len]`, unmasked and checked.
    Data { start: usize, len: usize, fin: bool, kind: DataKind },
    /// An inflated data piece: the first `len` bytes of the inflate buffer.
    #[cfg(feature = "deflate")]
    Inflated { len: usize, fin: bool, kind: DataKind },
    /// A control frame is complete; its payload is [`Receiver::control`].
    Control(OpCode),
    /// The peer broke the protocol.
    Violation(ProtocolError),
}

impl Receiver {
    /// Decode from the front of `input` up to the first event; return the
    /// bytes consumed and what was found.
    pub(super) fn decode(&mut self, input: &mut [u8], cx: &Context<'_>) -> (usize, Step) {
        let mut pos = 0;
        loop {
            #[cfg(feature = "deflate")]
            if self.inflating() {
                match self.inflate_step(input, &mut pos, cx) {
                    Some(step) => return (pos, step),
                    None => continue,
                }
            }
            let frame = match self.frame {
                Some(frame) => frame,
                None => match FrameHeader::parse(&input[pos..]) {
                    Ok(Parsed::Complete(header, len)) => {
                        if let Err(e) = self.check_header(&header, cx) {
                            return (pos, Step::Violation(e));
                        }
                        pos += len;
                        let frame = self.start_frame(&header, cx.limits);
                        #[cfg(feature = "deflate")]
                        {
                            self.frame = Some(frame);
                            if self.inflating() {
                                continue;
                            }
                        }
                        frame
                    }
                    Ok(Parsed::Incomplete { needed }) => {
                        return (pos, Step::Need(input.len() - pos + needed))
                    }
                    Err(e) => return (pos, Step::Violation(e)),
                },
            };
            if frame.whole {
                match self.whole_step(frame, input, &mut pos, cx) {
                    Some(step) => return (pos, step),
                    None => continue, // a frame discarded after our Close
                }
            }
            let available = input.len() - pos;
            let len = usize::try_from(frame.remaining).map_or(available, |r| r.min(available));
            let piece = &mut input[pos..pos + len];
            pos += len;
            let done = self.advance_frame(frame, piece);
            if frame.opcode.is_control() {
                match (done, frame.opcode) {
                    // At most 125 bytes.
                    (false, _) => return (pos, Step::Need(frame.remaining as usize - len)),
                    // After our Close, only the peer's Close matters.
                    (true, OpCode::Ping | OpCode::Pong) if cx.closing => continue,
                    (true, opcode) => return (pos, Step::Control(opcode)),
                }
            }
            if len == 0 && !done {
                return (pos, Step::Need(1)); // the payload has not started arriving
            }
            let fin = done && frame.fin;
            let kind = self.message.unwrap_or(DataKind::Binary);
            if fin {
                self.message = None;
            }
            if cx.closing {
                continue; // after our Close, data is discarded (RFC 6455 section 1.4)
            }
            if kind == DataKind::Text {
                if let Err(e) = check_text(&mut self.utf8, &input[pos - len..pos], fin) {
                    return (pos, Step::Violation(e));
                }
            }
            if len > 0 || fin {
                return (pos, Step::Data { start: pos - len, len, fin, kind });
            }
        }
    }

    /// The payload of the last complete control frame.
    pub(super) fn control(&self) -> &[u8] {
        self.control.as_slice()
    }

    /// The rules for a header that depend on the connection: masking by
    /// role, RSV bits, fragment order and size limits.
    fn check_header(&self, header: &FrameHeader, cx: &Context<'_>) -> Result<(), ProtocolError> {
        self.check_rsv(header)?;
        match (cx.role, header.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        let message_len = match header.opcode {
            OpCode::Continuation if self.message.is_none() => {
                return Err(ProtocolError::UnexpectedContinuation)
            }
            OpCode::Text | OpCode::Binary if self.message.is_some() => {
                return Err(ProtocolError::ExpectedContinuation)
            }
            OpCode::Continuation => self.message_len.saturating_add(header.payload_len),
            OpCode::Text | OpCode::Binary => header.payload_len,
            OpCode::Close | OpCode::Ping | OpCode::Pong => return Ok(()),
        };
        let max = cx.limits.max_frame_payload;
        if header.payload_len > max {
            return Err(ProtocolError::FrameTooLarge { len: header.payload_len, max });
        }
        if message_len > cx.limits.max_message_size {
            return Err(ProtocolError::MessageTooLarge { max: cx.limits.max_message_size });
        }
        Ok(())
    }

    /// A frame read whole: unmask and check the payload bytes that arrived
    /// since the last call, in place and without consuming them (fail fast
    /// on bad UTF-8), and hand the payload out once it is all there. `None`
    /// when the frame is done but discarded (after our Close).
    fn whole_step(
        &mut self,
        mut frame: InFrame,
        input: &mut [u8],
        pos: &mut usize,
        cx: &Context<'_>,
    ) -> Option<Step> {
        // At most `whole_frame_limit`, a `u32`: fits a `usize`.
        let remaining = frame.remaining as usize;
        let end = remaining.min(input.len() - *pos);
        // Bytes already checked; fewer may come back only from a caller who
        // dropped unconsumed input: no panic then, only garbage in.
        let seen = (*pos + frame.ahead as usize).min(*pos + end);
        if let Some(key) = frame.mask {
            let fresh = &mut input[seen..*pos + end];
            frame.phase = apply_mask(fresh, key, usize::from(frame.phase)) as u8;
        }
        let kind = self.message.unwrap_or(DataKind::Binary);
        let done = end == remaining;
        let fin = done && frame.fin;
        if kind == DataKind::Text && !cx.closing {
            if let Err(e) = check_text(&mut self.utf8, &input[seen..*pos + end], fin) {
                return Some(Step::Violation(e));
            }
        }
        frame.ahead = frame.ahead.max(end as u32);
        if !done {
            self.frame = Some(frame);
            return Some(Step::Need(remaining)); // the payload, from its first byte
        }
        self.frame = None;
        *pos += remaining;
        if fin {
            self.message = None;
        }
        if cx.closing {
            return None; // after our Close, data is discarded (RFC 6455 section 1.4)
        }
        Some(Step::Data { start: *pos - remaining, len: remaining, fin, kind })
    }

    fn start_frame(&mut self, header: &FrameHeader, limits: &Limits) -> InFrame {
        match header.opcode {
            OpCode::Text | OpCode::Binary => {
                let kind =
                    if header.opcode == OpCode::Text { DataKind::Text } else { DataKind::Binary };
                self.message = Some(kind);
                self.message_len = header.payload_len;
                #[cfg(feature = "deflate")]
                self.start_message(header.rsv);
            }
            OpCode::Continuation => {
                self.message_len = self.message_len.saturating_add(header.payload_len)
            }
            OpCode::Close | OpCode::Ping | OpCode::Pong => self.control.len = 0,
        }
        let whole = !header.opcode.is_control()
            && header.payload_len != 0
            && header.payload_len <= u64::from(limits.whole_frame_limit)
            && !self.compressed_message(); // inflated into the connection anyway
        InFrame {
            opcode: header.opcode,
            fin: header.fin,
            mask: header.mask,
            remaining: header.payload_len,
            phase: 0,
            whole,
            ahead: 0,
        }
    }

    /// Unmask the next `piece` of the current frame's payload (gathering it
    /// for control frames). Returns whether the frame's payload is complete.
    fn advance_frame(&mut self, mut frame: InFrame, piece: &mut [u8]) -> bool {
        let piece = if frame.opcode.is_control() {
            let control = &mut self.control;
            let start = usize::from(control.len);
            // `FrameHeader::parse` keeps control payloads within 125 bytes.
            let slot = &mut control.bytes[start..start + piece.len()];
            slot.copy_from_slice(piece);
            control.len += piece.len() as u8;
            slot
        } else {
            piece
        };
        if let Some(key) = frame.mask {
            frame.phase = apply_mask(piece, key, usize::from(frame.phase)) as u8;
        }
        frame.remaining -= piece.len() as u64;
        let done = frame.remaining == 0;
        self.frame = if done { None } else { Some(frame) };
        done
    }

    /// Whether the open message is compressed (never, without `deflate`).
    #[cfg(not(feature = "deflate"))]
    fn compressed_message(&self) -> bool {
        false
    }

    /// RSV bits: all clear, but for RSV1 on the first frame of a message
    /// when permessage-deflate is on.
    #[cfg(not(feature = "deflate"))]
    fn check_rsv(&self, header: &FrameHeader) -> Result<(), ProtocolError> {
        match header.rsv {
            0 => Ok(()),
            bits => Err(ProtocolError::ReservedBits(bits)),
        }
    }
}

/// Feed a piece of a text message to its validator.
fn check_text(utf8: &mut Utf8Validator, piece: &[u8], fin: bool) -> Result<(), ProtocolError> {
    utf8.feed(piece).map_err(|_| ProtocolError::InvalidUtf8)?;
    if fin {
        utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
    }
    Ok(())
}

impl Connection {
    /// Decode the frames at the front of `input`, unmasking payloads in
    /// place, and return how many bytes were used and at most one event.
    ///
    /// Data payloads are lent straight out of `input` (zero copy): such a
    /// piece is always the last `payload.len()` bytes of the `consumed`
    /// ones, so a caller that needs the connection while it holds the
    /// payload (to echo it) can take it from its input again. A message
    /// compressed with permessage-deflate is inflated into the connection's
    /// buffer instead, in pieces of at most `DeflateConfig::inflate_buffer`
    /// bytes. A frame
    /// whose payload is only partly there yields the part that is, so the
    /// input buffer never needs to hold a whole frame, only a whole header
    /// (at most 14 bytes). Control payloads (at most 125 bytes) are gathered
    /// inside the connection. Any split of the byte stream into calls gives
    /// the same events, except that data may come in more, smaller pieces.
    ///
    /// `now` is the caller's clock; it starts the keepalive timer on first
    /// use.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] when the peer broke RFC 6455: the connection is
    /// now closed and a Close frame with the matching code waits in
    /// [`poll_transmit`](Self::poll_transmit): send it before closing the
    /// transport. [`Error::Closed`] for bytes that arrive after the
    /// connection failed. (After a clean closing handshake, bytes behind the
    /// peer's Close are consumed and dropped.)
    ///
    /// ```
    /// use wscore::{Config, Connection, Event, Instant, Role};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// // "Hel" then "lo" as two unmasked fragments (RFC 6455 section 5.7).
    /// let mut input = vec![0x01, 0x03, b'H', b'e', b'l', 0x80, 0x02, b'l', b'o'];
    /// let mut text = Vec::new();
    /// loop {
    ///     let d = client.read(&mut input, Instant(0))?;
    ///     let consumed = d.consumed;
    ///     let Some(Event::Data { payload, fin, .. }) = d.event else { break };
    ///     text.extend_from_slice(payload);
    ///     input.drain(..consumed);
    ///     if fin { break; }
    /// }
    /// assert_eq!(text, b"Hello");
    /// # Ok::<(), wscore::Error>(())
    /// ```
    pub fn read<'c, 'b: 'c>(
        &'c mut self,
        input: &'b mut [u8],
        now: Instant,
    ) -> Result<Decoded<'c, 'b>, Error> {
        self.observe_time(now);
        if self.tx.closed.is_some() {
            // After a clean close, what the peer sent behind its Close is of
            // no use (RFC 6455 section 5.5.1): consume and drop it. After a
            // failure, refuse it.
            if self.tx.failed && !input.is_empty() {
                return Err(Error::Closed);
            }
            return Ok(Decoded::new(input.len(), 1, None, &mut self.tx));
        }
        let cx =
            Context { role: self.tx.role, limits: &self.tx.config, closing: self.tx.close_sent };
        let Phase::Frames(recv) = &mut self.phase else {
            return self.read_handshake(input);
        };
        let (consumed, step) = recv.decode(input, &cx);
        let input: &'b [u8] = input;
        let event = match step {
            Step::Need(needed) => return Ok(Decoded::new(consumed, needed, None, &mut self.tx)),
            Step::Data { start, len, fin, kind } => {
                Event::Data { kind, payload: &input[start..start + len], fin }
            }
            #[cfg(feature = "deflate")]
            Step::Inflated { len, fin, kind } => {
                let Connection { phase, tx } = self;
                let payload = phase.receiver().map_or(&[][..], |recv| recv.inflated(len));
                let event = Event::Data { kind, payload, fin };
                return Ok(Decoded::new(consumed, 0, Some(event), tx));
            }
            Step::Control(opcode) => {
                if let Err(e) = self.on_control(opcode) {
                    return Err(self.fail(e));
                }
                let Connection { phase, tx } = self;
                let payload = phase.receiver().map_or(&[][..], Receiver::control);
                let event = control_event(opcode, payload);
                return Ok(Decoded::new(consumed, 0, Some(event), tx));
            }
            Step::Violation(e) => return Err(self.fail(e)),
        };
        Ok(Decoded::new(consumed, 0, Some(event), &mut self.tx))
    }

    /// The transport reached end of file.
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedEof`] when it ended before the closing handshake
    /// (abnormal closure): the state becomes `Closed(1006)`.
    pub fn read_eof(&mut self) -> Result<(), Error> {
        self.tx.transport_ended = true;
        self.tx.outbox.drop_all(); // nothing can reach the peer any more
        if matches!(self.phase, Phase::Rejecting(_)) {
            self.phase = Phase::HandshakeFailed;
        }
        if self.tx.closed.is_some() {
            return Ok(());
        }
        self.tx.close_sent = true;
        self.tx.failed = true;
        self.tx.finish(CloseCode::ABNORMAL);
        Err(Error::UnexpectedEof)
    }

    /// The payload of the last complete control frame.
    fn control_payload(&self) -> &[u8] {
        self.phase.receiver().map_or(&[], Receiver::control)
    }

    /// Act on a complete control frame.
    fn on_control(&mut self, opcode: OpCode) -> Result<(), ProtocolError> {
        match opcode {
            OpCode::Close => {
                let code = match close::parse_payload(self.control_payload()) {
                    Ok(body) => body.map(|b| b.code),
                    Err(ClosePayloadError::OneByte) => {
                        return Err(ProtocolError::ClosePayloadTooShort)
                    }
                    Err(ClosePayloadError::InvalidCode(code)) => {
                        return Err(ProtocolError::InvalidCloseCode(code))
                    }
                    Err(ClosePayloadError::InvalidReason(_)) => {
                        return Err(ProtocolError::InvalidCloseReason)
                    }
                };
                self.close_received(code);
            }
            OpCode::Ping if self.tx.config.auto_pong => {
                let pong = ControlPayload::copy_of(self.control_payload());
                self.tx.outbox.queue_pong(pong);
            }
            OpCode::Pong => {
                let Phase::Frames(recv) = &self.phase else {
                    return Ok(());
                };
                self.tx.timers.pong_received(recv.control());
            }
            _ => {}
        }
        Ok(())
    }

    /// The peer's Close arrived: answer it (echoing its code) unless ours
    /// was already sent, and close.
    fn close_received(&mut self, code: Option<CloseCode>) {
        if !self.tx.close_sent {
            self.tx.close_sent = true;
            self.tx.outbox.queue_close(code, "");
        }
        self.tx.finish(code.unwrap_or(CloseCode::NO_STATUS));
        if self.tx.role == Role::Client {
            self.tx.timers.set_close_deadline(self.tx.config.close_timeout);
        }
    }
}

/// The event for a complete control frame with `payload`.
fn control_event(opcode: OpCode, payload: &[u8]) -> Event<'_, 'static> {
    match opcode {
        OpCode::Ping => Event::Ping(payload),
        OpCode::Pong => Event::Pong(payload),
        // Validated by `on_control` before the event is built.
        _ => Event::Close(close::parse_payload(payload).ok().flatten()),
    }
}

impl<'c, 'b> Decoded<'c, 'b> {
    pub(super) fn new(
        consumed: usize,
        needed: usize,
        event: Option<Event<'c, 'b>>,
        tx: &'c mut Transmit,
    ) -> Self {
        Decoded { consumed, needed, event, sender: Sender::new(tx) }
    }
}
