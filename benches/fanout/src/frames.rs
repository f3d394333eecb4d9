//! One subscriber's incoming bytes, as the load client sees them: frames
//! walked header by header, every header checked, whole messages counted,
//! and the first message's payload compared with what the publisher sent
//! (inflated first when it came compressed). Later payloads are skipped
//! unread: with context takeover only a subscriber's own inflater could
//! read them, and checking costs the client time the server should have.

use crate::payload;

/// The end of a sync-flushed DEFLATE stream, which permessage-deflate
/// strips from every message (RFC 7692, 7.2.2), then an empty final block
/// (fixed Huffman: `BFINAL`, `BTYPE` 01, end-of-block) so that a one-shot
/// inflate sees a complete stream.
const TAIL: [u8; 6] = [0x00, 0x00, 0xff, 0xff, 0x03, 0x00];

/// What the frames of a run must be.
#[derive(Clone, Debug)]
pub struct Rules {
    /// permessage-deflate was negotiated: the first message must come
    /// compressed (RSV1), later ones may.
    pub deflate: bool,
    /// The first message's payload, as published.
    pub first: Vec<u8>,
}

impl Rules {
    pub fn new(deflate: bool) -> Rules {
        Rules { deflate, first: payload::message(0).into_bytes() }
    }
}

/// Where one subscriber is in its stream.
#[derive(Debug)]
pub struct Frames {
    /// The frame header so far, and how long it is.
    head: [u8; 10],
    have: usize,
    /// Payload bytes of the current frame still to come (`None`: in a
    /// header).
    left: Option<u64>,
    /// The current frame is a Close.
    close: bool,
    /// The current frame has RSV1 set.
    compressed: bool,
    /// The first message's payload, while it arrives.
    first: Vec<u8>,
    /// Whole messages received.
    pub messages: u64,
    /// The server sent a Close.
    pub closed: bool,
}

impl Frames {
    pub fn new() -> Frames {
        Frames {
            head: [0; 10],
            have: 0,
            left: None,
            close: false,
            compressed: false,
            first: Vec::new(),
            messages: 0,
            closed: false,
        }
    }

    /// Walk `data`: the number of messages it completed.
    pub fn feed(&mut self, mut data: &[u8], rules: &Rules) -> Result<u64, String> {
        let mut complete = 0;
        while let Some((&byte, rest)) = data.split_first() {
            match self.left {
                None => {
                    // A header, a byte at a time: two to four per message.
                    self.head[self.have] = byte;
                    self.have += 1;
                    data = rest;
                    let Some(len) = payload_len(&self.head[..self.have]) else {
                        continue;
                    };
                    self.check_header(len, rules)?;
                    (self.have, self.left) = (0, Some(len));
                }
                Some(left) => {
                    let take = data.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let (payload, rest) = data.split_at(take);
                    if self.messages == 0 && !self.close {
                        self.first.extend_from_slice(payload);
                    }
                    (data, self.left) = (rest, Some(left - take as u64));
                }
            }
            if self.left == Some(0) {
                self.left = None;
                complete += self.end_frame(rules)?;
            }
        }
        Ok(complete)
    }

    /// FIN, no mask, a text message (RSV1 only with deflate; 1 KiB when
    /// not compressed) or a Close.
    fn check_header(&mut self, len: u64, rules: &Rules) -> Result<(), String> {
        let (first, second) = (self.head[0], self.head[1]);
        let bad = |why: &str| Err(format!("{why}: frame header {:02x?}", &self.head[..self.have]));
        if first & 0x80 == 0 || second & 0x80 != 0 || first & 0x30 != 0 {
            return bad("fragmented, masked, or RSV2/RSV3 set");
        }
        let compressed = first & 0x40 != 0;
        match first & 0x0f {
            0x1 if compressed && !rules.deflate => bad("RSV1 without permessage-deflate"),
            0x1 if !compressed && len != payload::LEN as u64 => bad("wrong length"),
            0x1 if !compressed && rules.deflate && self.messages == 0 => {
                bad("first message not compressed")
            }
            0x1 => {
                (self.close, self.compressed) = (false, compressed);
                Ok(())
            }
            0x8 if !compressed => {
                self.close = true;
                Ok(())
            }
            _ => bad("not a text message"),
        }
    }

    /// The current frame is complete: the number of messages it ended.
    fn end_frame(&mut self, rules: &Rules) -> Result<u64, String> {
        if self.close {
            self.closed = true;
            return Ok(0);
        }
        if self.messages == 0 {
            let received = std::mem::take(&mut self.first);
            let payload = if self.compressed { inflate(received)? } else { received };
            if payload != rules.first {
                return Err("the first message differs from the one published".into());
            }
        }
        self.messages += 1;
        Ok(1)
    }
}

/// The payload length, once `head` is a whole header (a server's: no
/// mask key).
fn payload_len(head: &[u8]) -> Option<u64> {
    let short = *head.get(1)? & 0x7f;
    let extended = &head[2..];
    match (short, extended.len()) {
        (0..=125, _) => Some(u64::from(short)),
        (126, 2) => Some(u64::from(u16::from_be_bytes([extended[0], extended[1]]))),
        (127, 8) => extended.try_into().ok().map(u64::from_be_bytes),
        _ => None,
    }
}

/// A permessage-deflate payload, inflated.
fn inflate(mut compressed: Vec<u8>) -> Result<Vec<u8>, String> {
    compressed.extend_from_slice(&TAIL);
    miniz_oxide::inflate::decompress_to_vec_with_limit(&compressed, 1 << 16)
        .map_err(|e| format!("the first message does not inflate: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![first];
        match payload.len() {
            n @ 0..=125 => frame.push(n as u8),
            n => {
                frame.push(126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        frame.extend_from_slice(payload);
        frame
    }

    #[test]
    fn counts_messages_fed_byte_by_byte() {
        let rules = Rules::new(false);
        let mut stream = frame(0x81, &rules.first);
        stream.extend(frame(0x81, payload::message(1).as_bytes()));
        stream.extend(frame(0x88, &[0x03, 0xf5]));
        let mut frames = Frames::new();
        let counted: u64 = stream.chunks(1).map(|b| frames.feed(b, &rules).unwrap()).sum();
        assert_eq!((counted, frames.closed), (2, true));
    }

    #[test]
    fn reads_every_length_encoding() {
        assert_eq!(payload_len(&[0x81]), None);
        assert_eq!(payload_len(&[0x81, 125]), Some(125));
        assert_eq!(payload_len(&[0x81, 126, 0x04]), None);
        assert_eq!(payload_len(&[0x81, 126, 0x04, 0x00]), Some(1024));
        let mut long = vec![0x82, 127];
        long.extend_from_slice(&(1u64 << 20).to_be_bytes());
        assert_eq!(payload_len(&long[..9]), None);
        assert_eq!(payload_len(&long), Some(1 << 20));
    }

    #[test]
    fn inflates_the_first_compressed_message() {
        let rules = Rules::new(true);
        // A stored block with the message, then the header of the empty
        // stored block a sync flush ends with (its `00 00 ff ff` stripped).
        let len = rules.first.len() as u16;
        let mut deflated = vec![0x00];
        deflated.extend_from_slice(&len.to_le_bytes());
        deflated.extend_from_slice(&(!len).to_le_bytes());
        deflated.extend_from_slice(&rules.first);
        deflated.push(0x00);
        let mut frames = Frames::new();
        assert_eq!(frames.feed(&frame(0xc1, &deflated), &rules), Ok(1));
        let mut plain = Frames::new();
        assert!(plain.feed(&frame(0x81, &rules.first), &rules).is_err());
    }
}
