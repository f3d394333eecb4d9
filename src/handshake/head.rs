//! Running httparse under the handshake's limits: at most `max_head_len`
//! bytes looked at, at most `slots.len()` headers, "incomplete" as
//! [`Status::Partial`] until the limit is reached, then an error.
//!
//! Only the prefix of the input matters to every answer, so feeding a head in
//! any chunking gives `Partial` on the prefixes and the same final outcome.

use super::{HandshakeError, Header, Status};

/// A request head that httparse accepted.
pub(crate) struct RawRequest<'b> {
    pub(crate) head: &'b [u8],
    pub(crate) method: &'b str,
    pub(crate) path: &'b str,
    pub(crate) version: u8,
}

/// A response head that httparse accepted.
pub(crate) struct RawResponse<'b> {
    pub(crate) head: &'b [u8],
    pub(crate) code: u16,
    pub(crate) reason: &'b str,
    pub(crate) version: u8,
}

/// The part of `buf` the parser may look at.
fn window(buf: &[u8], max_head_len: usize) -> &[u8] {
    buf.get(..max_head_len).unwrap_or(buf)
}

/// Maps an httparse outcome to the handshake's, applying the limits.
fn outcome(
    parsed: httparse::Result<usize>,
    window: &[u8],
    max_head_len: usize,
    slots: usize,
) -> Result<Status<usize>, HandshakeError> {
    match parsed {
        Ok(httparse::Status::Complete(len)) => Ok(Status::Complete(len)),
        // The window is full and the head has still not ended.
        Ok(httparse::Status::Partial) if window.len() >= max_head_len => {
            Err(HandshakeError::HeadTooLarge { limit: max_head_len })
        }
        Ok(httparse::Status::Partial) => Ok(Status::Partial),
        Err(httparse::Error::TooManyHeaders) => {
            Err(HandshakeError::TooManyHeaders { limit: slots })
        }
        Err(_) => Err(HandshakeError::MalformedHttp),
    }
}

/// Parses a request head from the start of `buf`.
pub(crate) fn parse_request<'b>(
    buf: &'b [u8],
    slots: &mut [Header<'b>],
    max_head_len: usize,
) -> Result<Status<RawRequest<'b>>, HandshakeError> {
    // A TLS record starts with its content type: 0x16 is a handshake
    // (ClientHello). No HTTP request starts with that byte.
    if buf.first() == Some(&0x16) {
        return Err(HandshakeError::UnexpectedTls);
    }
    let window = window(buf, max_head_len);
    let slot_count = slots.len();
    let mut req = httparse::Request::new(slots);
    let parsed = req.parse(window);
    let Status::Complete(len) = outcome(parsed, window, max_head_len, slot_count)? else {
        return Ok(Status::Partial);
    };
    match (window.get(..len), req.method, req.path, req.version) {
        (Some(head), Some(method), Some(path), Some(version)) => {
            Ok(Status::Complete(RawRequest { head, method, path, version }))
        }
        _ => Err(HandshakeError::MalformedHttp),
    }
}

/// Parses a response head from the start of `buf`.
pub(crate) fn parse_response<'b>(
    buf: &'b [u8],
    slots: &mut [Header<'b>],
    max_head_len: usize,
) -> Result<Status<RawResponse<'b>>, HandshakeError> {
    // 0x15 is a TLS alert (a TLS server refusing plain text), 0x16 a
    // TLS handshake record.
    if matches!(buf.first(), Some(0x15 | 0x16)) {
        return Err(HandshakeError::UnexpectedTls);
    }
    let window = window(buf, max_head_len);
    let slot_count = slots.len();
    let mut res = httparse::Response::new(slots);
    let parsed = res.parse(window);
    let Status::Complete(len) = outcome(parsed, window, max_head_len, slot_count)? else {
        return Ok(Status::Partial);
    };
    match (window.get(..len), res.code, res.reason, res.version) {
        (Some(head), Some(code), Some(reason), Some(version)) => {
            Ok(Status::Complete(RawResponse { head, code, reason, version }))
        }
        _ => Err(HandshakeError::MalformedHttp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::EMPTY_HEADER;

    extern crate std;

    fn request(buf: &[u8], slots: usize, max: usize) -> Result<Status<usize>, HandshakeError> {
        let mut slots = std::vec![EMPTY_HEADER; slots];
        parse_request(buf, &mut slots, max).map(|s| s.map(|raw| raw.head.len()))
    }

    #[test]
    fn the_window_decides_partial_or_too_large() {
        let head = b"GET / HTTP/1.1\r\nA: b\r\n\r\n";
        let len = head.len();
        assert_eq!(request(head, 8, len), Ok(Status::Complete(len)));
        assert_eq!(request(head, 8, usize::MAX), Ok(Status::Complete(len)));
        assert_eq!(request(&head[..len - 1], 8, len), Ok(Status::Partial));
        assert_eq!(
            request(&head[..len - 1], 8, len - 1),
            Err(HandshakeError::HeadTooLarge { limit: len - 1 })
        );
        assert_eq!(request(head, 8, 0), Err(HandshakeError::HeadTooLarge { limit: 0 }));
    }

    #[test]
    fn slots_bound_the_headers() {
        let head = b"GET / HTTP/1.1\r\nA: b\r\nC: d\r\n\r\n";
        assert_eq!(request(head, 2, 100), Ok(Status::Complete(head.len())));
        assert_eq!(request(head, 1, 100), Err(HandshakeError::TooManyHeaders { limit: 1 }));
        assert_eq!(request(head, 0, 100), Err(HandshakeError::TooManyHeaders { limit: 0 }));
        // Known only once the second header line is complete.
        assert_eq!(request(&head[..26], 1, 100), Ok(Status::Partial));
    }

    #[test]
    fn tls_bytes_are_recognised_on_the_first_byte() {
        let mut slots = [EMPTY_HEADER; 4];
        assert!(matches!(
            parse_request(&[0x16], &mut slots, 100),
            Err(HandshakeError::UnexpectedTls)
        ));
        // An alert is not how a client starts, only how a server refuses.
        assert!(matches!(
            parse_request(&[0x15], &mut slots, 100),
            Err(HandshakeError::MalformedHttp)
        ));
        for first in [0x15, 0x16] {
            let mut slots = [EMPTY_HEADER; 4];
            assert!(matches!(
                parse_response(&[first, 0x03], &mut slots, 100),
                Err(HandshakeError::UnexpectedTls)
            ));
        }
    }

    #[test]
    fn response_fields() {
        let mut slots = [EMPTY_HEADER; 4];
        let Ok(Status::Complete(raw)) =
            parse_response(b"HTTP/1.0 404\r\nA: b\r\n\r\nbody", &mut slots, 100)
        else {
            panic!("a complete response")
        };
        assert_eq!((raw.head.len(), raw.code, raw.reason, raw.version), (22, 404, "", 0));
    }
}
