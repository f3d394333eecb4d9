//! Close codes and the Close frame payload (RFC 6455 sections 5.5.1 and 7.4).

use core::fmt;

use crate::utf8::InvalidUtf8;

/// A close status code.
///
/// Any `u16` can be held; [`is_valid_on_wire`](Self::is_valid_on_wire) says
/// whether it may appear in a Close frame.
///
/// ```
/// use wscore::CloseCode;
/// assert!(CloseCode::NORMAL.is_valid_on_wire());
/// assert!(CloseCode(4000).is_valid_on_wire());       // application range
/// assert!(!CloseCode::ABNORMAL.is_valid_on_wire());  // 1006 is local only
/// assert!(!CloseCode(2000).is_valid_on_wire());      // unassigned
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection was fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigated away).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept (say, binary to a text-only app).
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: no status code was present. Never sent; reported locally.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: the connection closed without a Close frame. Never sent.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: a text message or close reason was not valid UTF-8.
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a frame or message was too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: (client) the server did not negotiate an extension the client requires.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting.
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later (temporary overload).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: a gateway received an invalid response upstream.
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: the TLS handshake failed. Never sent.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Whether this code may be sent or received in a Close frame: 1000-1003,
    /// 1007-1014 (registered) and 3000-4999 (libraries and applications).
    /// Codes below 1000, 1004-1006, 1015, the unassigned rest of 1000-2999
    /// and 5000 up are not.
    pub const fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The longest close reason: a control payload holds 125 bytes, two of which
/// are the code.
pub const MAX_REASON_LEN: usize = 123;

/// The body of a Close frame that carries a status: a code and a UTF-8 reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseFrame<'a> {
    /// The status code.
    pub code: CloseCode,
    /// Why, for people: at most [`MAX_REASON_LEN`] bytes of UTF-8, often empty.
    pub reason: &'a str,
}

impl<'a> CloseFrame<'a> {
    /// A Close body with `code` and an empty reason.
    pub const fn new(code: CloseCode) -> Self {
        CloseFrame { code, reason: "" }
    }
}

/// Why a received Close payload is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosePayloadError {
    /// One byte: too short for a code, and not empty.
    OneByte,
    /// The code may not be sent on the wire.
    InvalidCode(u16),
    /// The reason is not UTF-8.
    InvalidReason(InvalidUtf8),
}

/// Parse a received Close payload: `None` when it is empty (no status).
///
/// ```
/// use wscore::close::{parse_payload, ClosePayloadError};
/// use wscore::CloseCode;
/// let body = parse_payload(b"\x03\xe8bye").unwrap().unwrap();
/// assert_eq!((body.code, body.reason), (CloseCode::NORMAL, "bye"));
/// assert_eq!(parse_payload(b""), Ok(None));
/// assert_eq!(parse_payload(b"\x03"), Err(ClosePayloadError::OneByte));
/// ```
pub fn parse_payload(payload: &[u8]) -> Result<Option<CloseFrame<'_>>, ClosePayloadError> {
    match payload {
        [] => Ok(None),
        [_] => Err(ClosePayloadError::OneByte),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !CloseCode(code).is_valid_on_wire() {
                return Err(ClosePayloadError::InvalidCode(code));
            }
            let reason = core::str::from_utf8(reason)
                .map_err(|_| ClosePayloadError::InvalidReason(InvalidUtf8))?;
            Ok(Some(CloseFrame { code: CloseCode(code), reason }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_validity_of_every_code() {
        for code in 0..=u16::MAX {
            let expected = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            assert_eq!(CloseCode(code).is_valid_on_wire(), expected, "{code}");
        }
    }

    #[test]
    fn parse_rejects_bad_payloads() {
        assert_eq!(parse_payload(&[0x03, 0xED]), Err(ClosePayloadError::InvalidCode(1005)));
        assert_eq!(parse_payload(&[0x13, 0x88]), Err(ClosePayloadError::InvalidCode(5000)));
        assert_eq!(
            parse_payload(&[0x03, 0xE8, 0xFF]),
            Err(ClosePayloadError::InvalidReason(InvalidUtf8))
        );
        let ok = parse_payload(&[0x0F, 0xA0]).unwrap().unwrap();
        assert_eq!(ok, CloseFrame::new(CloseCode(4000)));
    }
}
