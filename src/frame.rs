//! Frame headers (RFC 6455 section 5.2): parse and encode, stateless.
//!
//! ```text
//!  0               1               2               3
//!  0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! ```
//!
//! [`FrameHeader::parse`] applies the rules that need no context: reserved
//! opcodes, control frames that are fragmented or longer than 125 bytes, and a
//! 64-bit length with its top bit set. Rules that depend on the connection
//! (who must mask, which RSV bits an extension allows, fragment order, size
//! limits) belong to [`Connection`](crate::Connection).

use crate::error::{BufferTooSmall, ProtocolError};

/// The most bytes a frame header takes: 2 + 8 (64-bit length) + 4 (mask key).
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload of a control frame (Close, Ping, Pong).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame's opcode. Reserved opcodes (3-7, 0xB-0xF) are rejected by
/// [`FrameHeader::parse`] and cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: the first frame of a text message.
    Text,
    /// 0x2: the first frame of a binary message.
    Binary,
    /// 0x8: close the connection.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl OpCode {
    /// Decode the 4-bit opcode; `None` for reserved values.
    pub const fn from_u8(value: u8) -> Option<OpCode> {
        Some(match value {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub const fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Close, Ping and Pong are control frames.
    pub const fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// A parsed or to-be-encoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Whether this is the last frame of its message.
    pub fin: bool,
    /// RSV1, RSV2, RSV3 as the low three bits (RSV1 = `0b100`).
    pub rsv: u8,
    /// What the frame carries.
    pub opcode: OpCode,
    /// The masking key, present when the frame is masked (client to server).
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes.
    pub payload_len: u64,
}

/// The outcome of parsing a header from the bytes at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// A whole header, and how many bytes it took.
    Complete(FrameHeader, usize),
    /// The header is not all there: at least `needed` more bytes are required
    /// before it can be parsed. Nothing was consumed.
    Incomplete {
        /// The least number of further bytes to wait for.
        needed: usize,
    },
}

impl FrameHeader {
    /// Parse a header from the start of `buf`.
    ///
    /// ```
    /// use wscore::frame::{FrameHeader, OpCode, Parsed};
    /// // RFC 6455 section 5.7: a masked "Hello" from a client.
    /// let bytes = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    /// let Parsed::Complete(h, len) = FrameHeader::parse(&bytes)? else { panic!() };
    /// assert_eq!((h.fin, h.opcode, h.mask, h.payload_len, len),
    ///            (true, OpCode::Text, Some([0x37, 0xfa, 0x21, 0x3d]), 5, 6));
    /// assert_eq!(FrameHeader::parse(&bytes[..3])?, Parsed::Incomplete { needed: 3 });
    /// # Ok::<(), wscore::ProtocolError>(())
    /// ```
    #[inline]
    pub fn parse(buf: &[u8]) -> Result<Parsed, ProtocolError> {
        let (b0, b1) = match *buf {
            [b0, b1, ..] => (b0, b1),
            _ => return Ok(Parsed::Incomplete { needed: 2 - buf.len() }),
        };
        let opcode = OpCode::from_u8(b0 & 0x0F).ok_or(ProtocolError::ReservedOpcode(b0 & 0x0F))?;
        let fin = b0 & 0x80 != 0;
        let masked = b1 & 0x80 != 0;
        let short_len = b1 & 0x7F;
        if opcode.is_control() {
            if !fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            if usize::from(short_len) > MAX_CONTROL_PAYLOAD {
                return Err(ProtocolError::ControlFrameTooLong);
            }
        }
        let len_bytes = match short_len {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let header_len = 2 + len_bytes + if masked { 4 } else { 0 };
        if buf.len() < header_len {
            return Ok(Parsed::Incomplete { needed: header_len - buf.len() });
        }
        let payload_len = match len_bytes {
            2 => u64::from(u16::from_be_bytes([buf[2], buf[3]])),
            8 => {
                let mut be = [0; 8];
                be.copy_from_slice(&buf[2..10]);
                let len = u64::from_be_bytes(be);
                if len >> 63 != 0 {
                    return Err(ProtocolError::LengthTopBitSet);
                }
                len
            }
            _ => u64::from(short_len),
        };
        let mask = masked.then(|| {
            let at = 2 + len_bytes;
            [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]
        });
        let header = FrameHeader { fin, rsv: (b0 >> 4) & 0b111, opcode, mask, payload_len };
        Ok(Parsed::Complete(header, header_len))
    }

    /// How many bytes [`encode`](Self::encode) writes for this header: the
    /// shortest length form that holds `payload_len`, plus the mask key.
    #[inline]
    pub const fn encoded_len(&self) -> usize {
        let len_bytes = match self.payload_len {
            0..=125 => 0,
            126..=0xFFFF => 2,
            _ => 8,
        };
        2 + len_bytes + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Write the header to the start of `out` and return its length. Uses the
    /// minimal length encoding, as RFC 6455 requires of senders. When `out` is
    /// too short, nothing is written and the error says how much room is needed.
    ///
    /// The header is written as given: rules such as "control frames carry at
    /// most 125 bytes" are checked by the [`Connection`](crate::Connection)
    /// that sends it, not here.
    ///
    /// ```
    /// use wscore::frame::{FrameHeader, OpCode};
    /// let h = FrameHeader { fin: true, rsv: 0, opcode: OpCode::Binary, mask: None, payload_len: 256 };
    /// let mut out = [0u8; 14];
    /// let n = h.encode(&mut out)?;
    /// assert_eq!(&out[..n], &[0x82, 0x7E, 0x01, 0x00]); // RFC 6455 section 5.7
    /// # Ok::<(), wscore::BufferTooSmall>(())
    /// ```
    #[inline]
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let len = self.encoded_len();
        let out = out.get_mut(..len).ok_or(BufferTooSmall { needed: len })?;
        out[0] = u8::from(self.fin) << 7 | (self.rsv & 0b111) << 4 | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let key_at = match self.payload_len {
            0..=125 => {
                out[1] = mask_bit | self.payload_len as u8;
                2
            }
            126..=0xFFFF => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(self.payload_len as u16).to_be_bytes());
                4
            }
            _ => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&self.payload_len.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[key_at..key_at + 4].copy_from_slice(&key);
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(bytes: &[u8]) -> (FrameHeader, usize) {
        match FrameHeader::parse(bytes) {
            Ok(Parsed::Complete(h, n)) => (h, n),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rfc_examples() {
        // Unmasked "Hello", fragmented "Hel" + "lo", ping, 256 and 65536 bytes.
        let (h, n) = parse_all(&[0x81, 0x05, b'H']);
        assert_eq!((h.fin, h.opcode, h.mask, h.payload_len, n), (true, OpCode::Text, None, 5, 2));
        let (h, _) = parse_all(&[0x01, 0x03]);
        assert_eq!((h.fin, h.opcode), (false, OpCode::Text));
        let (h, _) = parse_all(&[0x80, 0x02]);
        assert_eq!((h.fin, h.opcode), (true, OpCode::Continuation));
        let (h, _) = parse_all(&[0x89, 0x05]);
        assert_eq!(h.opcode, OpCode::Ping);
        let (h, n) = parse_all(&[0x82, 0x7E, 0x01, 0x00]);
        assert_eq!((h.payload_len, n), (256, 4));
        let (h, n) = parse_all(&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!((h.payload_len, n), (65536, 10));
    }

    #[test]
    fn incomplete_headers_say_what_they_need() {
        let full = [0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4];
        for have in 0..full.len() {
            let expected = if have < 2 { 2 - have } else { full.len() - have };
            assert_eq!(
                FrameHeader::parse(&full[..have]),
                Ok(Parsed::Incomplete { needed: expected })
            );
        }
        assert_eq!(parse_all(&full).1, 14);
    }

    #[test]
    fn context_free_rules() {
        for op in [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            assert_eq!(FrameHeader::parse(&[0x80 | op, 0]), Err(ProtocolError::ReservedOpcode(op)));
        }
        assert_eq!(FrameHeader::parse(&[0x09, 0]), Err(ProtocolError::FragmentedControlFrame));
        assert_eq!(FrameHeader::parse(&[0x89, 126]), Err(ProtocolError::ControlFrameTooLong));
        assert_eq!(
            FrameHeader::parse(&[0x88, 125]).map(|p| matches!(p, Parsed::Complete(..))),
            Ok(true)
        );
        let top = [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(FrameHeader::parse(&top), Err(ProtocolError::LengthTopBitSet));
        let max = [0x82, 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(parse_all(&max).0.payload_len, (1 << 63) - 1);
    }

    #[test]
    fn encode_reports_room_needed_and_writes_nothing() {
        let h = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: OpCode::Text,
            mask: Some([1, 2, 3, 4]),
            payload_len: 70000,
        };
        let mut out = [0xEEu8; 13];
        assert_eq!(h.encode(&mut out), Err(BufferTooSmall { needed: 14 }));
        assert_eq!(out, [0xEE; 13]);
    }

    fn any_header() -> impl Strategy<Value = FrameHeader> {
        let opcodes = prop_oneof![
            Just(OpCode::Continuation),
            Just(OpCode::Text),
            Just(OpCode::Binary),
            Just(OpCode::Close),
            Just(OpCode::Ping),
            Just(OpCode::Pong)
        ];
        let lengths = prop_oneof![0u64..=125, 126u64..=0xFFFF, 0x1_0000u64..(1 << 63)];
        (any::<bool>(), 0u8..8, opcodes, any::<Option<[u8; 4]>>(), lengths).prop_map(
            |(fin, rsv, opcode, mask, len)| {
                let control = opcode.is_control();
                FrameHeader {
                    fin: fin || control,
                    rsv,
                    opcode,
                    mask,
                    payload_len: if control { len % 126 } else { len },
                }
            },
        )
    }

    proptest! {
        #[test]
        fn encode_parse_round_trip(h in any_header()) {
            let mut out = [0u8; MAX_HEADER_LEN];
            let n = h.encode(&mut out).unwrap();
            prop_assert_eq!(n, h.encoded_len());
            prop_assert_eq!(FrameHeader::parse(&out[..n]), Ok(Parsed::Complete(h, n)));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..20)) {
            if let Ok(Parsed::Complete(_, n)) = FrameHeader::parse(&bytes) {
                prop_assert!(n <= bytes.len() && n <= MAX_HEADER_LEN);
            }
        }
    }
}
