//! Client side: write the upgrade request ([`write_request`]) and check the
//! server's answer ([`ResponseHead`] → [`Response`], or [`parse_response`]
//! for both steps).

use super::accept::ClientKey;
use super::extensions::{self, Extensions};
use super::headers::{self, is_token, is_visible_ascii, next_list_item, Headers};
use super::server::is_valid_extensions_value;
use super::write::{check_extra_headers, emit};
use super::{head, HandshakeError, Header, Status, WriteError};

/// What a client asks for: where, which subprotocols and extensions, and any
/// extra headers. [`write_request`] writes it; [`ResponseHead::validate`]
/// checks the answer against it.
///
/// ```
/// use wscore::handshake::ClientRequest;
///
/// let request = ClientRequest {
///     subprotocols: &["chat", "superchat"],
///     extra_headers: &[("Origin", "http://example.com")],
///     ..ClientRequest::new("server.example.com", "/chat")
/// };
/// # let _ = request;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ClientRequest<'a> {
    /// The `Host` header: the authority of the URI (`example.com:8080`).
    pub host: &'a str,
    /// The request target: path and query (`/chat?room=1`), percent-encoded.
    pub path: &'a str,
    /// The subprotocols offered, most preferred first (HTTP tokens).
    pub subprotocols: &'a [&'a str],
    /// The raw `Sec-WebSocket-Extensions` offer
    /// (`permessage-deflate; client_max_window_bits`).
    pub extensions: Option<&'a str>,
    /// More headers: `Origin`, `Authorization`, `Cookie`, `User-Agent`, ...
    pub extra_headers: &'a [(&'a str, &'a str)],
}

impl<'a> ClientRequest<'a> {
    /// A request for `path` on `host` with no subprotocol, extension or
    /// extra header.
    pub const fn new(host: &'a str, path: &'a str) -> Self {
        Self { host, path, subprotocols: &[], extensions: None, extra_headers: &[] }
    }

    /// Whether the extension list offered names `name`.
    fn offers_extension(&self, name: &str) -> bool {
        let offer = self.extensions.unwrap_or_default();
        Extensions::from_value(offer.as_bytes()).any(|e| e.name().eq_ignore_ascii_case(name))
    }
}

/// Headers [`write_request`] writes itself.
const REQUEST_RESERVED: &[&str] = &[
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
    "content-length",
    "transfer-encoding",
];

/// Writes the upgrade request into `out` and returns its length.
///
/// Checks, before writing anything, that the host and path are visible
/// ASCII (the path starting with `/`), that the subprotocols are distinct
/// tokens, that the extension offer is well-formed, and that extra headers
/// are valid and hold no control character (no header injection). On
/// [`WriteError::BufferTooSmall`], `out` is untouched and the error says how
/// many bytes are needed.
///
/// ```
/// use wscore::handshake::{write_request, ClientKey, ClientRequest};
///
/// let key = ClientKey::from_random(*b"the sample nonce");
/// let request = ClientRequest {
///     subprotocols: &["chat"],
///     ..ClientRequest::new("example.com", "/chat")
/// };
/// let mut out = [0u8; 512];
/// let n = write_request(&request, &key, &mut out).unwrap();
/// assert_eq!(
///     &out[..n],
///     b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
///       Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///       Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
/// );
/// ```
pub fn write_request(
    request: &ClientRequest<'_>,
    key: &ClientKey,
    out: &mut [u8],
) -> Result<usize, WriteError> {
    if !is_visible_ascii(request.host.as_bytes()) {
        return Err(WriteError::InvalidHost);
    }
    if !request.path.starts_with('/') || !is_visible_ascii(request.path.as_bytes()) {
        return Err(WriteError::InvalidPath);
    }
    for (i, protocol) in request.subprotocols.iter().enumerate() {
        if !is_token(protocol.as_bytes()) {
            return Err(WriteError::InvalidSubprotocol);
        }
        let earlier = request.subprotocols.get(..i).unwrap_or_default();
        if earlier.contains(protocol) {
            return Err(WriteError::DuplicateSubprotocol);
        }
    }
    let extensions = match request.extensions {
        Some(offer) if !is_valid_extensions_value(offer) => {
            return Err(WriteError::InvalidExtensions)
        }
        // An offer with no extension in it is no offer.
        Some(offer) if Extensions::from_value(offer.as_bytes()).next().is_some() => Some(offer),
        _ => None,
    };
    check_extra_headers(request.extra_headers, REQUEST_RESERVED)?;
    emit(out, |s| {
        s.put(b"GET ");
        s.put_str(request.path);
        s.put(b" HTTP/1.1\r\n");
        s.header("Host", request.host.as_bytes());
        s.put(b"Upgrade: websocket\r\n");
        s.put(b"Connection: Upgrade\r\n");
        s.header("Sec-WebSocket-Key", key.as_bytes());
        s.put(b"Sec-WebSocket-Version: 13\r\n");
        if let Some((first, rest)) = request.subprotocols.split_first() {
            s.put(b"Sec-WebSocket-Protocol: ");
            s.put_str(first);
            for protocol in rest {
                s.put(b", ");
                s.put_str(protocol);
            }
            s.put(b"\r\n");
        }
        if let Some(offer) = extensions {
            s.header("Sec-WebSocket-Extensions", offer.as_bytes());
        }
        s.extra_headers(request.extra_headers);
        s.put(b"\r\n");
    })
}

/// An HTTP/1.x response head, parsed but not yet checked as a WebSocket
/// handshake answer.
///
/// This is the first of the two steps [`parse_response`] takes. Stop here
/// to handle answers other than 101: [`validate`](Self::validate) fails with
/// [`HandshakeError::UnexpectedStatus`] and this head still gives the
/// `Location` of a redirect or the `WWW-Authenticate` of a 401.
///
/// ```
/// use wscore::handshake::{ClientKey, ClientRequest, HandshakeError, ResponseHead, Status, EMPTY_HEADER};
///
/// let key = ClientKey::from_random([7; 16]);
/// let request = ClientRequest::new("example.com", "/chat");
/// let buf = b"HTTP/1.1 301 Moved Permanently\r\nLocation: wss://example.com/chat\r\n\r\n";
/// let mut slots = [EMPTY_HEADER; 32];
/// let Ok(Status::Complete(head)) = ResponseHead::parse(buf, &mut slots, 8192) else {
///     panic!("a complete response")
/// };
/// match head.validate(&key, &request) {
///     Err(HandshakeError::UnexpectedStatus(301)) => {
///         assert_eq!(head.header("location"), Some(&b"wss://example.com/chat"[..]));
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead<'b> {
    head: &'b [u8],
    status: u16,
    reason: &'b str,
    version: u8,
}

impl<'b> ResponseHead<'b> {
    /// Parses the response head at the start of `buf` with httparse, using
    /// `slots` as scratch space (their number is the header limit).
    ///
    /// [`Status::Partial`] while the head has not ended and fits in
    /// `max_head_len` bytes, then [`HandshakeError::HeadTooLarge`]; more
    /// header lines than slots give [`HandshakeError::TooManyHeaders`], bytes
    /// that are not HTTP [`HandshakeError::MalformedHttp`] or
    /// [`HandshakeError::UnexpectedTls`]. Bytes after the head are not looked
    /// at.
    pub fn parse(
        buf: &'b [u8],
        slots: &mut [Header<'b>],
        max_head_len: usize,
    ) -> Result<Status<Self>, HandshakeError> {
        Ok(head::parse_response(buf, slots, max_head_len)?.map(|raw| Self {
            head: raw.head,
            status: raw.code,
            reason: raw.reason,
            version: raw.version,
        }))
    }

    /// The status code (101 for a successful handshake).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase (`Switching Protocols`), possibly empty.
    pub fn reason(&self) -> &'b str {
        self.reason
    }

    /// The HTTP minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Checks the answer against the client's key and offers (RFC 6455
    /// section 4.1, the client's checks) and returns the WebSocket view.
    ///
    /// In order: status 101 ([`UnexpectedStatus`] otherwise), HTTP/1.1,
    /// `Upgrade: websocket`, `Connection: upgrade`, exactly one
    /// `Sec-WebSocket-Accept` equal to [`key.accept_key()`](ClientKey::accept_key),
    /// well-formed `Sec-WebSocket-Protocol`, at most one subprotocol and one
    /// the client offered (compared exactly), well-formed
    /// `Sec-WebSocket-Extensions` naming only extensions the client offered
    /// (names compared ASCII case-insensitively).
    ///
    /// [`UnexpectedStatus`]: HandshakeError::UnexpectedStatus
    pub fn validate(
        &self,
        key: &ClientKey,
        request: &ClientRequest<'_>,
    ) -> Result<Response<'b>, HandshakeError> {
        if self.status != 101 {
            return Err(HandshakeError::UnexpectedStatus(self.status));
        }
        if self.version < 1 {
            return Err(HandshakeError::UnsupportedHttpVersion);
        }
        let mut upgrade = false;
        let mut connection = false;
        let mut accept = None;
        let mut accept_count = 0usize;
        let mut subprotocol = None;
        let mut subprotocol_count = 0usize;
        let mut subprotocols_valid = true;
        let mut extensions_valid = true;
        for h in Headers::new(self.head) {
            let is = |n: &str| h.name.eq_ignore_ascii_case(n);
            if is("upgrade") {
                upgrade |= headers::list_contains(h.value, b"websocket");
            } else if is("connection") {
                connection |= headers::list_contains(h.value, b"upgrade");
            } else if is("sec-websocket-accept") {
                accept = accept.or(Some(h.value));
                accept_count = accept_count.saturating_add(1);
            } else if is("sec-websocket-protocol") {
                let mut list = h.value;
                while let Some(item) = next_list_item(&mut list) {
                    subprotocols_valid &= is_token(item);
                    subprotocol = subprotocol.or(Some(item));
                    subprotocol_count = subprotocol_count.saturating_add(1);
                }
            } else if is("sec-websocket-extensions") {
                extensions_valid &= extensions::is_valid_list(h.value);
            }
        }
        if !upgrade {
            return Err(HandshakeError::MissingUpgrade);
        }
        if !connection {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        if accept_count > 1 {
            return Err(HandshakeError::DuplicateHeader { name: "Sec-WebSocket-Accept" });
        }
        let accept = accept.ok_or(HandshakeError::MissingAccept)?;
        if accept != key.accept_key().as_bytes() {
            return Err(HandshakeError::AcceptMismatch);
        }
        if !subprotocols_valid {
            return Err(HandshakeError::InvalidSubprotocols);
        }
        if subprotocol_count > 1 {
            return Err(HandshakeError::MultipleSubprotocols);
        }
        // Validation made the subprotocol a token, hence ASCII.
        let subprotocol = subprotocol.and_then(|p| core::str::from_utf8(p).ok());
        if let Some(chosen) = subprotocol {
            if !request.subprotocols.contains(&chosen) {
                return Err(HandshakeError::SubprotocolNotOffered);
            }
        }
        if !extensions_valid {
            return Err(HandshakeError::InvalidExtensions);
        }
        if !Extensions::from_head(self.head).all(|e| request.offers_extension(e.name())) {
            return Err(HandshakeError::ExtensionNotOffered);
        }
        Ok(Response { head: self.head, status: self.status, subprotocol })
    }

    /// The value of the first header called `name` (ASCII case-insensitive),
    /// without surrounding whitespace.
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        headers::find(self.head, name)
    }

    /// All header fields, in order.
    pub fn headers(&self) -> Headers<'b> {
        Headers::new(self.head)
    }

    /// The head's length in bytes, blank line included: the frame stream
    /// starts at `buf[head_len()..]`.
    pub fn head_len(&self) -> usize {
        self.head.len()
    }

    /// The head's bytes, blank line included.
    pub fn head(&self) -> &'b [u8] {
        self.head
    }
}

/// A checked `101 Switching Protocols` answer: the WebSocket is open.
///
/// Made by [`parse_response`] or [`ResponseHead::validate`]. Borrows only the
/// input bytes; header lookups re-scan the validated head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response<'b> {
    head: &'b [u8],
    status: u16,
    subprotocol: Option<&'b str>,
}

impl<'b> Response<'b> {
    /// The status code: always 101.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The subprotocol the server chose among the client's offers, if any.
    pub fn subprotocol(&self) -> Option<&'b str> {
        self.subprotocol
    }

    /// The extensions the server accepted, with their parameters, in order.
    pub fn extensions(&self) -> Extensions<'b> {
        Extensions::from_head(self.head)
    }

    /// The value of the first header called `name` (ASCII case-insensitive),
    /// without surrounding whitespace.
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        headers::find(self.head, name)
    }

    /// All header fields, in order.
    pub fn headers(&self) -> Headers<'b> {
        Headers::new(self.head)
    }

    /// The head's length in bytes, blank line included: the frame stream
    /// starts at `buf[head_len()..]`.
    pub fn head_len(&self) -> usize {
        self.head.len()
    }

    /// The head's bytes, blank line included.
    pub fn head(&self) -> &'b [u8] {
        self.head
    }
}

/// Parses and checks the server's answer at the start of `buf`:
/// [`ResponseHead::parse`] then [`ResponseHead::validate`] against the `key`
/// and `request` this client sent.
///
/// `slots` is scratch space for httparse (its length is the header limit);
/// the returned view borrows only `buf`. To read the headers of a non-101
/// answer (a redirect, a 401), take the two steps yourself.
///
/// ```
/// use wscore::handshake::{parse_response, ClientKey, ClientRequest, Status, EMPTY_HEADER};
///
/// let key = ClientKey::from_random(*b"the sample nonce");
/// let request = ClientRequest {
///     subprotocols: &["chat", "superchat"],
///     ..ClientRequest::new("server.example.com", "/chat")
/// };
/// let buf = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
///             Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
///             Sec-WebSocket-Protocol: chat\r\n\r\n\x81\x05Hello";
/// let mut slots = [EMPTY_HEADER; 32];
/// let Ok(Status::Complete(res)) = parse_response(buf, &mut slots, 8192, &key, &request) else {
///     panic!("a valid answer")
/// };
/// assert_eq!(res.subprotocol(), Some("chat"));
/// assert_eq!(&buf[res.head_len()..], b"\x81\x05Hello"); // the first frame
/// ```
pub fn parse_response<'b>(
    buf: &'b [u8],
    slots: &mut [Header<'b>],
    max_head_len: usize,
    key: &ClientKey,
    request: &ClientRequest<'_>,
) -> Result<Status<Response<'b>>, HandshakeError> {
    match ResponseHead::parse(buf, slots, max_head_len)? {
        Status::Complete(head) => head.validate(key, request).map(Status::Complete),
        Status::Partial => Ok(Status::Partial),
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::handshake::EMPTY_HEADER;
    extern crate std;

    const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    fn check(buf: &[u8], request: &ClientRequest<'_>) -> Result<u16, HandshakeError> {
        let mut slots = [EMPTY_HEADER; 16];
        let key = ClientKey::from_random(*b"the sample nonce");
        match parse_response(buf, &mut slots, 4096, &key, request)? {
            Status::Complete(res) => Ok(res.status()),
            Status::Partial => Err(HandshakeError::MalformedHttp),
        }
    }

    #[test]
    fn the_status_is_checked_first() {
        let request = ClientRequest::new("h", "/");
        assert_eq!(
            check(b"HTTP/1.0 200 OK\r\n\r\n", &request),
            Err(HandshakeError::UnexpectedStatus(200))
        );
        assert_eq!(
            check(b"HTTP/1.1 101 Switching Protocols\r\n\r\n", &request),
            Err(HandshakeError::MissingUpgrade)
        );
    }

    #[test]
    fn header_values_are_compared_after_trimming() {
        let request = ClientRequest::new("h", "/");
        let buf = b"HTTP/1.1 101 \r\nupgrade:WebSocket\r\nCONNECTION: upgrade \r\n\
                    sec-websocket-accept: \ts3pPLMBiTxaQ9kYGzzhZRbK+xOo=\t\r\n\r\n";
        assert_eq!(check(buf, &request), Ok(101));
    }

    #[test]
    fn accept_compare_is_exact() {
        let request = ClientRequest::new("h", "/");
        let lower = ACCEPT.to_ascii_lowercase();
        let mut buf = [0u8; 256];
        let mut n = 0;
        for part in [
            "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
            "Sec-WebSocket-Accept: ",
            lower.as_str(),
            "\r\n\r\n",
        ] {
            buf[n..n + part.len()].copy_from_slice(part.as_bytes());
            n += part.len();
        }
        assert_eq!(check(&buf[..n], &request), Err(HandshakeError::AcceptMismatch));
    }

    #[test]
    fn extension_names_offered() {
        let request = ClientRequest {
            extensions: Some("permessage-deflate; client_max_window_bits, x-foo"),
            ..ClientRequest::new("h", "/")
        };
        assert!(request.offers_extension("permessage-deflate"));
        assert!(request.offers_extension("PERMESSAGE-DEFLATE"));
        assert!(request.offers_extension("x-foo"));
        assert!(!request.offers_extension("client_max_window_bits"));
        assert!(!ClientRequest::new("h", "/").offers_extension("x-foo"));
    }

    #[test]
    fn an_empty_extension_offer_is_not_written() {
        let request = ClientRequest { extensions: Some(" , "), ..ClientRequest::new("h", "/") };
        let mut out = [0u8; 256];
        let key = ClientKey::from_random([0; 16]);
        let n = write_request(&request, &key, &mut out);
        assert_eq!(n, Ok(140));
    }
}
