//! Errors: what the peer did wrong ([`ProtocolError`], each with the close code
//! it earns) and what went wrong locally ([`Error`]).

use core::fmt;

use crate::close::CloseCode;
use crate::event::DataKind;
use crate::handshake::{HandshakeError, WriteError};

/// The peer broke RFC 6455. Each variant maps to the close code the
/// connection sends before it fails ([`close_code`](Self::close_code)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An opcode RFC 6455 reserves (3-7, 0xB-0xF).
    ReservedOpcode(u8),
    /// RSV bits set that no negotiated extension defines (bits as `0b[RSV1][RSV2][RSV3]`).
    ReservedBits(u8),
    /// A Close, Ping or Pong frame with FIN clear: control frames cannot be fragmented.
    FragmentedControlFrame,
    /// A control frame with a payload over 125 bytes.
    ControlFrameTooLong,
    /// A 64-bit payload length with its most significant bit set.
    LengthTopBitSet,
    /// A server received a frame that is not masked: clients must mask every frame.
    UnmaskedFrame,
    /// A client received a masked frame: servers must not mask.
    MaskedFrame,
    /// A continuation frame arrived with no fragmented message open.
    UnexpectedContinuation,
    /// A new text or binary frame arrived while a fragmented message was still open.
    ExpectedContinuation,
    /// A frame's payload is longer than `Config::max_frame_payload`.
    FrameTooLarge {
        /// The length the header announced.
        len: u64,
        /// The configured limit.
        max: u64,
    },
    /// A message grew past `Config::max_message_size`.
    MessageTooLarge {
        /// The configured limit.
        max: u64,
    },
    /// A text message, or a fragment of one, is not valid UTF-8.
    InvalidUtf8,
    /// A Close frame with a 1-byte payload: too short to hold a status code.
    ClosePayloadTooShort,
    /// A Close frame with a code that may not be sent (below 1000, 1004-1006,
    /// 1015, unassigned 1016-2999, 5000 and up).
    InvalidCloseCode(u16),
    /// A Close frame whose reason is not valid UTF-8.
    InvalidCloseReason,
    /// RSV1 (permessage-deflate's "compressed" bit) on a continuation or
    /// control frame: only a message's first frame may carry it.
    MisplacedCompressedBit,
    /// A compressed message is not a valid DEFLATE stream.
    InvalidCompressedData,
}

impl ProtocolError {
    /// The close code this violation is answered with: 1007 for bad UTF-8
    /// or compressed data, 1009 for size limits, 1002 for everything else.
    pub const fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8
            | ProtocolError::InvalidCloseReason
            | ProtocolError::InvalidCompressedData => CloseCode::INVALID_PAYLOAD,
            ProtocolError::FrameTooLarge { .. } | ProtocolError::MessageTooLarge { .. } => {
                CloseCode::MESSAGE_TOO_BIG
            }
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// A short reason for the Close frame sent to the peer (always under 123 bytes).
    pub const fn close_reason(&self) -> &'static str {
        match self {
            ProtocolError::ReservedOpcode(_) => "reserved opcode",
            ProtocolError::ReservedBits(_) => "reserved bits set",
            ProtocolError::FragmentedControlFrame => "fragmented control frame",
            ProtocolError::ControlFrameTooLong => "control frame over 125 bytes",
            ProtocolError::LengthTopBitSet => "invalid payload length",
            ProtocolError::UnmaskedFrame => "frame not masked",
            ProtocolError::MaskedFrame => "frame masked",
            ProtocolError::UnexpectedContinuation => "continuation without a message",
            ProtocolError::ExpectedContinuation => "expected a continuation frame",
            ProtocolError::FrameTooLarge { .. } => "frame too large",
            ProtocolError::MessageTooLarge { .. } => "message too large",
            ProtocolError::InvalidUtf8 => "invalid UTF-8 in text",
            ProtocolError::ClosePayloadTooShort => "close payload of 1 byte",
            ProtocolError::InvalidCloseCode(_) => "invalid close code",
            ProtocolError::InvalidCloseReason => "invalid UTF-8 in close reason",
            ProtocolError::MisplacedCompressedBit => "RSV1 on a continuation or control frame",
            ProtocolError::InvalidCompressedData => "invalid compressed data",
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::ReservedOpcode(op) => write!(f, "peer sent reserved opcode {op:#x}"),
            ProtocolError::ReservedBits(bits) => write!(
                f,
                "peer set reserved bits {bits:#05b} (RSV1-3) without a negotiated extension"
            ),
            ProtocolError::FrameTooLarge { len, max } => write!(
                f,
                "peer sent a frame of {len} bytes, over the limit of {max} (Config::max_frame_payload)"
            ),
            ProtocolError::MessageTooLarge { max } => write!(
                f,
                "peer sent a message over the limit of {max} bytes (Config::max_message_size)"
            ),
            ProtocolError::InvalidCloseCode(code) => {
                write!(f, "peer sent close code {code}, which may not be sent on the wire")
            }
            other => write!(f, "peer error: {}", other.close_reason()),
        }?;
        write!(f, " (close code {})", self.close_code())
    }
}

impl core::error::Error for ProtocolError {}

/// An output buffer is too small; nothing was written to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferTooSmall {
    /// The bytes the output needs.
    pub needed: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "output buffer too small: {} bytes needed", self.needed)
    }
}

impl core::error::Error for BufferTooSmall {}

/// Everything that can go wrong in a [`Connection`](crate::Connection) call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke the protocol. The connection has failed: a Close frame
    /// with [`ProtocolError::close_code`] is queued for
    /// [`poll_transmit`](crate::Connection::poll_transmit), and the transport
    /// should be closed once it is flushed.
    Protocol(ProtocolError),
    /// The output buffer is too small; nothing was written and the connection
    /// is unchanged. Call again with at least `needed` bytes.
    BufferTooSmall {
        /// The bytes the output needs.
        needed: usize,
    },
    /// A Ping, Pong or Close payload over 125 bytes (a close reason over 123).
    ControlPayloadTooLong {
        /// The payload length given.
        len: usize,
    },
    /// A frame length of 2^63 or more: more than a frame header can announce.
    PayloadTooLong {
        /// The length given.
        len: u64,
    },
    /// A close code that may not be sent (see [`CloseCode::is_valid_on_wire`]).
    InvalidCloseCode(u16),
    /// A text fragment to send is not valid UTF-8 (or a text message ended
    /// inside a code point).
    InvalidUtf8,
    /// A whole message was sent while a fragmented one is still open; finish
    /// it first (a fragment with `fin: true`).
    MessageInProgress,
    /// A fragment names a different kind than the message it continues.
    FragmentKindMismatch {
        /// The kind of the open message.
        open: DataKind,
    },
    /// This side already sent a Close frame: no data may follow it.
    CloseSent,
    /// The connection is closed: it takes no more input and sends nothing.
    Closed,
    /// No Pong answered the keepalive Ping within `Keepalive::timeout`: the
    /// peer or the path to it is gone. The connection is closed.
    KeepaliveTimeout,
    /// The peer did not answer our Close within `Config::close_timeout`. The
    /// connection is closed and the transport may be dropped.
    CloseTimeout,
    /// The transport ended before the closing handshake (abnormal closure, 1006).
    UnexpectedEof,
    /// The peer's opening handshake broke RFC 6455 (or, for a client, the
    /// server answered with another status than 101). The connection is
    /// closed; a server has the rejection queued in `poll_transmit`. The
    /// input was not consumed, so the head can still be read (with
    /// [`RequestHead::parse`](crate::handshake::RequestHead::parse) or
    /// [`ResponseHead::parse`](crate::handshake::ResponseHead::parse)), for
    /// a redirect's `Location` say.
    Handshake(HandshakeError),
    /// The handshake request or answer to write is invalid (see the error).
    HandshakeWrite(WriteError),
    /// The opening handshake is not finished: frames can be neither read nor
    /// sent yet. A server must [`accept`](crate::Connection::accept) or
    /// [`reject`](crate::Connection::reject) the request first.
    Handshaking,
    /// `accept` or `reject` was called with no request waiting for an answer.
    NoRequestPending,
    /// The opening handshake did not finish within
    /// `Config::handshake_timeout`. The connection is closed.
    HandshakeTimeout,
    /// The subprotocols or extensions offered are too long for
    /// [`Connection::client`](crate::Connection::client) to remember (at most
    /// 16 subprotocols in 64 bytes, and 64 bytes of extension offer). Use
    /// [`handshake::write_request`](crate::handshake::write_request) and
    /// [`handshake::parse_response`](crate::handshake::parse_response), then
    /// [`Connection::new`](crate::Connection::new).
    OfferTooLong,
    /// The compressor failed (an internal error, not the peer's doing). The
    /// connection has failed with close code 1011.
    CompressionFailed,
    /// `encode_header` cannot continue a message whose first fragment
    /// `encode` compressed: its payload would go out uncompressed inside a
    /// compressed message. Send the rest with `encode`.
    CompressedMessageOpen,
    /// A payload announced by `encode_header` is still being sent: nothing
    /// else may go out until its last byte has passed through
    /// [`Sender::mask_payload`], [`Sender::copy_payload`] or
    /// [`Sender::payload_sent`](crate::Sender::payload_sent).
    ///
    /// [`Sender::mask_payload`]: crate::Sender::mask_payload
    /// [`Sender::copy_payload`]: crate::Sender::copy_payload
    PayloadInProgress {
        /// Payload bytes still to send.
        remaining: u64,
    },
    /// A payload piece longer than what is left of the payload that
    /// `encode_header` announced (or no such payload is being sent).
    PayloadOverrun {
        /// Payload bytes still to send.
        remaining: u64,
        /// The length of the piece given.
        len: usize,
    },
    /// A client's payload must be masked: pass it through `mask_payload` or
    /// `copy_payload`, not `payload_sent`.
    PayloadNotMasked,
    /// [`Prepared::from_frame`](crate::prepared::Prepared::from_frame) was
    /// given something other than one whole, unmasked text or binary frame
    /// (FIN set, no RSV bit, the length in the fewest bytes, the payload its
    /// header announces, text in UTF-8).
    InvalidPreparedFrame,
    /// A client cannot send a prepared frame: its frames are masked, each
    /// with a key of its own, so none can be shared.
    PreparedByClient,
    /// (Session) Queuing this frame would take the bytes waiting to be
    /// written past the session's `max_unsent`: write out what is queued
    /// (`data_to_send`, then `advance`) and send again. Nothing was queued.
    Backpressure {
        /// Bytes queued and not yet written.
        unsent: usize,
        /// The bound (`Buffers::max_unsent`).
        limit: usize,
    },
    /// (Session, server) The request was refused with this HTTP status by
    /// the server's own policy (an `Origin` not allowed: 403), and the
    /// refusal is queued to be written.
    Refused {
        /// The status sent.
        status: u16,
    },
}

impl Error {
    /// The peer's violation, when that is what this error is.
    pub const fn protocol(&self) -> Option<ProtocolError> {
        match self {
            Error::Protocol(e) => Some(*e),
            _ => None,
        }
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}

impl From<WriteError> for Error {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::BufferTooSmall { needed } => Error::BufferTooSmall { needed },
            other => Error::HandshakeWrite(other),
        }
    }
}

impl From<BufferTooSmall> for Error {
    fn from(e: BufferTooSmall) -> Self {
        Error::BufferTooSmall { needed: e.needed }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Protocol(e) => e.fmt(f),
            Error::BufferTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
            Error::ControlPayloadTooLong { len } => write!(
                f,
                "control payload of {len} bytes: Ping, Pong and Close carry at most 125 (a close reason at most 123)"
            ),
            Error::PayloadTooLong { len } => {
                write!(f, "frame length {len} is over the 2^63 - 1 a frame can carry")
            }
            Error::InvalidCloseCode(code) => write!(
                f,
                "close code {code} may not be sent: use 1000-1003, 1007-1014 or 3000-4999"
            ),
            Error::InvalidUtf8 => f.write_str("text to send is not valid UTF-8"),
            Error::MessageInProgress => f.write_str(
                "a fragmented message is still open: send its last fragment (fin: true) first",
            ),
            Error::FragmentKindMismatch { open } => {
                write!(f, "fragment kind differs from the open {open:?} message")
            }
            Error::CloseSent => f.write_str("a Close frame was already sent: no data may follow"),
            Error::Closed => f.write_str("the connection is closed"),
            Error::KeepaliveTimeout => f.write_str("no Pong answered the keepalive Ping in time"),
            Error::CloseTimeout => f.write_str("the peer did not answer the Close frame in time"),
            Error::UnexpectedEof => {
                f.write_str("the transport closed before the closing handshake (code 1006)")
            }
            Error::Handshake(e) => write!(f, "opening handshake failed: {e}"),
            Error::HandshakeWrite(e) => write!(f, "cannot write the handshake: {e}"),
            Error::Handshaking => f.write_str(
                "the opening handshake is not finished (a server must accept or reject the request first)",
            ),
            Error::NoRequestPending => f.write_str("no handshake request is waiting for an answer"),
            Error::HandshakeTimeout => {
                f.write_str("the opening handshake did not finish in time (Config::handshake_timeout)")
            }
            Error::CompressedMessageOpen => f.write_str(
                "encode_header cannot continue a compressed message; send its fragments with encode",
            ),
            Error::CompressionFailed => f.write_str(
                "compressing a message failed (internal error); the connection is closed with 1011",
            ),
            Error::PayloadInProgress { remaining } => write!(
                f,
                "{remaining} bytes of the payload announced by encode_header are still to send: finish it first"
            ),
            Error::PayloadOverrun { remaining, len } => write!(
                f,
                "a payload piece of {len} bytes, but only {remaining} bytes of the announced payload are left"
            ),
            Error::PayloadNotMasked => f.write_str(
                "a client's payload must be masked: use mask_payload or copy_payload, not payload_sent",
            ),
            Error::InvalidPreparedFrame => f.write_str(
                "a prepared frame must be one whole unmasked text or binary frame (FIN set, no RSV bit, a minimal length field, the announced length, text in UTF-8)",
            ),
            Error::PreparedByClient => f.write_str(
                "only a server can send a prepared frame: a client masks each frame with a key of its own",
            ),
            Error::Backpressure { unsent, limit } => write!(
                f,
                "{unsent} bytes wait to be written and the session holds at most {limit} (max_unsent): write them out, then send again"
            ),
            Error::Refused { status } => {
                write!(f, "the handshake request was refused with HTTP {status}")
            }
            Error::OfferTooLong => f.write_str(
                "subprotocol or extension offer too long for Connection::client (64 bytes each); use the handshake module directly",
            ),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Protocol(e) => Some(e),
            Error::Handshake(e) => Some(e),
            Error::HandshakeWrite(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_follow_the_rfc_mapping() {
        assert_eq!(ProtocolError::InvalidUtf8.close_code(), CloseCode(1007));
        assert_eq!(ProtocolError::InvalidCloseReason.close_code(), CloseCode(1007));
        assert_eq!(ProtocolError::MessageTooLarge { max: 1 }.close_code(), CloseCode(1009));
        assert_eq!(ProtocolError::FrameTooLarge { len: 2, max: 1 }.close_code(), CloseCode(1009));
        assert_eq!(ProtocolError::MaskedFrame.close_code(), CloseCode(1002));
        assert_eq!(ProtocolError::ReservedBits(4).close_code(), CloseCode(1002));
    }

    #[test]
    fn messages_name_the_problem_and_code() {
        let msg = std::format!("{}", ProtocolError::FrameTooLarge { len: 20, max: 10 });
        assert!(
            msg.contains("20") && msg.contains("max_frame_payload") && msg.contains("1009"),
            "{msg}"
        );
    }
}
