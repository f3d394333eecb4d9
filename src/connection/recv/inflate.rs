//! Receiving compressed messages (permessage-deflate, RFC 7692 section
//! 7.2.2): each data frame's payload is unmasked in place and inflated into
//! a bounded buffer; after the last frame, the stripped `00 00 ff ff` tail is
//! fed back, and what is still inside the inflater is drained.

use super::{check_text, Context, InFrame, Receiver, Step};
use crate::deflate::codec::{Inflater, Progress, TAIL};
use crate::error::ProtocolError;
use crate::event::DataKind;
use crate::frame::{FrameHeader, OpCode};
use crate::mask::apply_mask;

/// RSV1: the first frame of a compressed message.
const RSV1: u8 = 0b100;

/// Inflate state of a connection that negotiated permessage-deflate.
#[derive(Debug)]
pub(in crate::connection) struct Inflating {
    /// The inflate buffer's size, for when the inflater is made.
    buffer: usize,
    /// Made by the first compressed message.
    inflater: Option<Inflater>,
    /// A compressed message is open.
    open: bool,
    /// Its last frame's payload is all in: the tail and the drain remain.
    last_frame_in: bool,
    /// The last step filled the buffer: output may still wait inside.
    pending: bool,
    /// How much of the tail the inflater has taken.
    tail_fed: u8,
    /// Compressed payload bytes taken so far in the message.
    compressed: u64,
    /// Bytes inflated so far in the message.
    inflated: u64,
}

impl Inflating {
    pub(in crate::connection) fn new(buffer: usize) -> Self {
        Inflating {
            buffer,
            inflater: None,
            open: false,
            last_frame_in: false,
            pending: false,
            tail_fed: 0,
            compressed: 0,
            inflated: 0,
        }
    }
}

impl Receiver {
    /// A receiver for a connection that agreed on permessage-deflate.
    pub(in crate::connection) fn with_deflate(inflating: Inflating) -> Self {
        Receiver { deflate: Some(alloc::boxed::Box::new(inflating)), ..Receiver::default() }
    }

    /// RSV bits: RSV1 only on the first frame of a message, and only with
    /// permessage-deflate; RSV2 and RSV3 never.
    pub(super) fn check_rsv(&self, header: &FrameHeader) -> Result<(), ProtocolError> {
        match header.rsv {
            0 => Ok(()),
            RSV1 if self.deflate.is_some() => match header.opcode {
                OpCode::Text | OpCode::Binary => Ok(()),
                _ => Err(ProtocolError::MisplacedCompressedBit),
            },
            bits => Err(ProtocolError::ReservedBits(bits)),
        }
    }

    /// A text or binary frame opened a message: compressed if RSV1 is set.
    pub(super) fn start_message(&mut self, rsv: u8) {
        if let Some(z) = self.deflate.as_deref_mut() {
            z.open = rsv & RSV1 != 0;
        }
    }

    /// Whether the open message is compressed.
    pub(super) fn compressed_message(&self) -> bool {
        self.deflate.as_deref().is_some_and(|z| z.open)
    }

    /// Whether the next step belongs to a compressed message: output still
    /// inside the inflater, a payload of one of its frames to inflate, or
    /// its tail to feed.
    pub(super) fn inflating(&self) -> bool {
        self.deflate.as_deref().is_some_and(|z| {
            let data_frame = self.frame.is_some_and(|f| !f.opcode.is_control());
            z.open && (z.pending || z.last_frame_in || data_frame)
        })
    }

    /// The first `len` bytes of the inflate buffer.
    pub(in crate::connection) fn inflated(&self, len: usize) -> &[u8] {
        match self.deflate.as_deref().and_then(|z| z.inflater.as_ref()) {
            Some(inflater) => inflater.output(len),
            None => &[],
        }
    }

    /// One step of a compressed message: inflate what has arrived of the
    /// current frame's payload (and, after the last frame, the tail) into
    /// the inflate buffer. `None` when a frame ended without output and the
    /// next header is to be read.
    pub(super) fn inflate_step(
        &mut self,
        input: &mut [u8],
        pos: &mut usize,
        cx: &Context<'_>,
    ) -> Option<Step> {
        let kind = self.message.unwrap_or(DataKind::Binary);
        let z = self.deflate.as_deref_mut()?;
        let inflater = z.inflater.get_or_insert_with(|| Inflater::new(z.buffer));
        let capacity = inflater.capacity();
        let mut filled = 0;
        let mut corrupt = false;
        if z.pending && !cx.closing {
            // What did not fit last time comes first.
            let progress = inflater.inflate(&[], 0);
            (filled, corrupt) = (progress.written, progress.corrupt);
        }
        if let Some(frame) = self.frame.filter(|_| !corrupt && filled < capacity) {
            let available = input.len() - *pos;
            let len = usize::try_from(frame.remaining).map_or(available, |r| r.min(available));
            let piece = &mut input[*pos..*pos + len];
            let used = if cx.closing {
                len // after our Close, data is discarded unread
            } else {
                let progress = inflate_payload(inflater, frame, piece, filled);
                filled += progress.written;
                corrupt = progress.corrupt;
                progress.used
            };
            *pos += used;
            z.compressed += used as u64;
            self.frame = advance(frame, used);
            if self.frame.is_none() && frame.fin {
                z.last_frame_in = true;
                if z.compressed == 0 {
                    // An empty compressed message: nothing to inflate, and
                    // the tail alone would leave the inflater inside a
                    // block header.
                    z.tail_fed = TAIL.len() as u8;
                }
            }
        }
        if z.last_frame_in && !cx.closing && !corrupt {
            // The tail, then whatever the inflater still holds.
            while filled < capacity {
                let progress = inflater.inflate(&TAIL[usize::from(z.tail_fed)..], filled);
                z.tail_fed += progress.used as u8;
                filled += progress.written;
                corrupt = progress.corrupt;
                if corrupt || progress.used + progress.written == 0 {
                    break;
                }
            }
            // An inflater that takes no more of the tail, with room to
            // write, can never finish.
            corrupt |= z.tail_fed < 4 && filled < capacity;
        }
        // Nothing is left inside once the input is used up with room to spare.
        z.pending = filled == capacity;
        let fin =
            z.last_frame_in && !corrupt && (cx.closing || (z.tail_fed == 4 && filled < capacity));
        if cx.closing {
            if fin {
                self.end_compressed_message();
            }
            return if self.frame.is_some() { Some(Step::Need(1)) } else { None };
        }
        // The checks in the order of the bytes: UTF-8 up to the size limit,
        // the limit, then the corruption that stopped the inflater.
        let room = cx.limits.max_message_size.saturating_sub(z.inflated);
        let within = usize::try_from(room).map_or(filled, |room| room.min(filled));
        z.inflated += filled as u64;
        if kind == DataKind::Text {
            let output = self.inflated(within);
            // A borrow of `self.deflate` and one of `self.utf8`: disjoint.
            let mut utf8 = self.utf8;
            // A piece cut at the limit is not the end of the text.
            if let Err(e) = check_text(&mut utf8, output, fin && within == filled) {
                return Some(Step::Violation(e));
            }
            self.utf8 = utf8;
        }
        if within < filled {
            let max = cx.limits.max_message_size;
            return Some(Step::Violation(ProtocolError::MessageTooLarge { max }));
        }
        if corrupt {
            return Some(Step::Violation(ProtocolError::InvalidCompressedData));
        }
        if fin {
            self.end_compressed_message();
        }
        if filled > 0 || fin {
            Some(Step::Inflated { len: filled, fin, kind })
        } else if self.frame.is_none() {
            None // a frame ended with no output yet: read the next one
        } else {
            Some(Step::Need(1)) // wait for more of the payload
        }
    }
}

impl Receiver {
    /// The compressed message is over: ready for the next, keeping the
    /// inflater (its history carries over between messages: context
    /// takeover) and what it just wrote.
    fn end_compressed_message(&mut self) {
        self.message = None;
        if let Some(z) = self.deflate.as_deref_mut() {
            let mut inflater = z.inflater.take();
            if let Some(inflater) = &mut inflater {
                inflater.end_message();
            }
            *z = Inflating { inflater, ..Inflating::new(z.buffer) };
        }
    }
}

/// Unmask `piece` (the part of `frame`'s payload that has arrived) and
/// inflate from it, into the buffer from `filled` on, until it is used up,
/// the buffer is full or the data is corrupt; the bytes the inflater did not take are masked again, so the
/// caller finds them as they were.
fn inflate_payload(
    inflater: &mut Inflater,
    frame: InFrame,
    piece: &mut [u8],
    filled: usize,
) -> Progress {
    let phase = usize::from(frame.phase);
    if let Some(key) = frame.mask {
        apply_mask(piece, key, phase);
    }
    let mut total = Progress { used: 0, written: 0, corrupt: false };
    while total.used < piece.len() && filled + total.written < inflater.capacity() {
        let progress = inflater.inflate(&piece[total.used..], filled + total.written);
        total.used += progress.used;
        total.written += progress.written;
        // With room in the buffer, an inflater that takes nothing is stuck.
        if progress.corrupt || progress.used + progress.written == 0 {
            total.corrupt = true;
            break;
        }
    }
    if let Some(key) = frame.mask {
        apply_mask(&mut piece[total.used..], key, phase + total.used);
    }
    total
}

/// `frame` after `used` more payload bytes: `None` once it is complete.
fn advance(mut frame: InFrame, used: usize) -> Option<InFrame> {
    frame.remaining -= used as u64;
    frame.phase = ((usize::from(frame.phase) + used) % 4) as u8;
    (frame.remaining > 0).then_some(frame)
}
