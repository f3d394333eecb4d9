//! Server side: parse and check a client's upgrade request
//! ([`RequestHead`] → [`Request`], or [`parse_request`] for both steps), and
//! write the answer ([`write_accept`], [`write_reject`],
//! [`write_error_response`]).

use super::accept::{accept_key, is_valid_key, AcceptKey};
use super::extensions::{self, Extensions};
use super::headers::{self, is_token, is_visible_ascii, Headers, Subprotocols};
use super::write::{check_extra_headers, emit, is_safe_value, Sink};
use super::{head, HandshakeError, Header, Status, WriteError};

/// An HTTP/1.x request head, parsed but not yet checked as a WebSocket
/// upgrade.
///
/// This is the first of the two steps [`parse_request`] takes. Stop here to
/// route plain HTTP requests (a browser's `GET /`) before asking for a
/// WebSocket: [`is_websocket_upgrade`](Self::is_websocket_upgrade) tells them
/// apart, [`validate`](Self::validate) checks the rest.
///
/// Borrows only the input bytes, not the header slots used to parse it.
///
/// ```
/// use wscore::handshake::{HandshakeError, RequestHead, Status, EMPTY_HEADER};
///
/// let buf = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";
/// let mut slots = [EMPTY_HEADER; 32];
/// let Ok(Status::Complete(head)) = RequestHead::parse(buf, &mut slots, 8192) else {
///     panic!("a complete request")
/// };
/// assert!(!head.is_websocket_upgrade());
/// assert_eq!(head.path(), "/index.html"); // serve the page
/// assert_eq!(head.validate().err(), Some(HandshakeError::NotWebSocket));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHead<'b> {
    head: &'b [u8],
    method: &'b str,
    path: &'b str,
    version: u8,
}

impl<'b> RequestHead<'b> {
    /// Parses the request head at the start of `buf` with httparse, using
    /// `slots` as scratch space (their number is the header limit).
    ///
    /// Returns [`Status::Partial`] while the head has not ended and fits in
    /// `max_head_len` bytes; once `max_head_len` bytes have arrived without
    /// the head ending, [`HandshakeError::HeadTooLarge`]. More header lines
    /// than slots give [`HandshakeError::TooManyHeaders`], bytes that are not
    /// HTTP [`HandshakeError::MalformedHttp`] or
    /// [`HandshakeError::UnexpectedTls`]. Bytes after the head are not looked
    /// at.
    pub fn parse(
        buf: &'b [u8],
        slots: &mut [Header<'b>],
        max_head_len: usize,
    ) -> Result<Status<Self>, HandshakeError> {
        Ok(head::parse_request(buf, slots, max_head_len)?.map(|raw| Self {
            head: raw.head,
            method: raw.method,
            path: raw.path,
            version: raw.version,
        }))
    }

    /// The request method (`GET`).
    pub fn method(&self) -> &'b str {
        self.method
    }

    /// The request target as sent, query included (`/chat?room=1`).
    pub fn path(&self) -> &'b str {
        self.path
    }

    /// The HTTP minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Whether the request asks for a WebSocket (an `Upgrade` header with the
    /// token `websocket`). `false` means a plain HTTP request, which
    /// [`validate`](Self::validate) rejects as
    /// [`HandshakeError::NotWebSocket`].
    pub fn is_websocket_upgrade(&self) -> bool {
        headers::any_list_contains(self.head, "upgrade", b"websocket")
    }

    /// Checks every RFC 6455 rule of section 4.2.1 and returns the
    /// WebSocket view of the request.
    ///
    /// In order: `Upgrade: websocket` ([`NotWebSocket`]), method `GET`,
    /// HTTP/1.1, exactly one valid `Host`, `Connection: upgrade`, exactly one
    /// `Sec-WebSocket-Version: 13` (426), exactly one `Sec-WebSocket-Key`
    /// that decodes to 16 bytes, at most one ASCII `Origin`, well-formed
    /// `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions` lists.
    ///
    /// [`NotWebSocket`]: HandshakeError::NotWebSocket
    pub fn validate(&self) -> Result<Request<'b>, HandshakeError> {
        let mut fields = RequestFields::default();
        for h in Headers::new(self.head) {
            fields.add(h);
        }
        if !fields.upgrade {
            return Err(HandshakeError::NotWebSocket);
        }
        if self.method != "GET" {
            return Err(HandshakeError::MethodNotGet);
        }
        if self.version < 1 {
            return Err(HandshakeError::UnsupportedHttpVersion);
        }
        let host = single(fields.host, "Host")?.ok_or(HandshakeError::MissingHost)?;
        let host = ascii_str(host, is_visible_ascii).ok_or(HandshakeError::InvalidHost)?;
        if !fields.connection {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        let version = single(fields.version, "Sec-WebSocket-Version")?
            .ok_or(HandshakeError::MissingVersion)?;
        if version != b"13" {
            return Err(HandshakeError::UnsupportedVersion);
        }
        let key = single(fields.key, "Sec-WebSocket-Key")?.ok_or(HandshakeError::MissingKey)?;
        let key = ascii_str(key, is_valid_key).ok_or(HandshakeError::InvalidKey)?;
        let origin = match single(fields.origin, "Origin")? {
            Some(origin) => Some(
                ascii_str(origin, |o| o.iter().all(|b| (0x20..0x7f).contains(b)))
                    .ok_or(HandshakeError::InvalidOrigin)?,
            ),
            None => None,
        };
        if !fields.subprotocols_valid {
            return Err(HandshakeError::InvalidSubprotocols);
        }
        if !fields.extensions_valid {
            return Err(HandshakeError::InvalidExtensions);
        }
        Ok(Request { head: self.head, path: self.path, host, origin, key })
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

/// What one pass over the request headers found.
struct RequestFields<'b> {
    upgrade: bool,
    connection: bool,
    host: Seen<'b>,
    key: Seen<'b>,
    version: Seen<'b>,
    origin: Seen<'b>,
    subprotocols_valid: bool,
    extensions_valid: bool,
}

/// A header that must appear at most once.
#[derive(Default, Clone, Copy)]
enum Seen<'b> {
    #[default]
    No,
    Once(&'b [u8]),
    Twice,
}

impl<'b> Seen<'b> {
    fn add(&mut self, value: &'b [u8]) {
        *self = match self {
            Self::No => Self::Once(value),
            _ => Self::Twice,
        };
    }
}

/// The value of a header that must appear at most once.
fn single<'b>(seen: Seen<'b>, name: &'static str) -> Result<Option<&'b [u8]>, HandshakeError> {
    match seen {
        Seen::No => Ok(None),
        Seen::Once(value) => Ok(Some(value)),
        Seen::Twice => Err(HandshakeError::DuplicateHeader { name }),
    }
}

/// `value` as text, if `check` accepts it (checks only accept ASCII).
fn ascii_str(value: &[u8], check: impl Fn(&[u8]) -> bool) -> Option<&str> {
    if check(value) {
        core::str::from_utf8(value).ok()
    } else {
        None
    }
}

impl Default for RequestFields<'_> {
    fn default() -> Self {
        Self {
            upgrade: false,
            connection: false,
            host: Seen::No,
            key: Seen::No,
            version: Seen::No,
            origin: Seen::No,
            // Valid until a header proves otherwise; absent lists are fine.
            subprotocols_valid: true,
            extensions_valid: true,
        }
    }
}

impl<'b> RequestFields<'b> {
    fn add(&mut self, h: Header<'b>) {
        let name = h.name;
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("host") {
            self.host.add(h.value);
        } else if is("upgrade") {
            self.upgrade |= headers::list_contains(h.value, b"websocket");
        } else if is("connection") {
            self.connection |= headers::list_contains(h.value, b"upgrade");
        } else if is("sec-websocket-key") {
            self.key.add(h.value);
        } else if is("sec-websocket-version") {
            self.version.add(h.value);
        } else if is("origin") {
            self.origin.add(h.value);
        } else if is("sec-websocket-protocol") {
            self.subprotocols_valid &= headers::is_token_list(h.value);
        } else if is("sec-websocket-extensions") {
            self.extensions_valid &= extensions::is_valid_list(h.value);
        }
    }
}

/// A checked WebSocket upgrade request (RFC 6455 section 4.2.1).
///
/// Made by [`parse_request`] or [`RequestHead::validate`]. Borrows only the
/// input bytes; header lookups re-scan the validated head.
///
/// ```
/// use wscore::handshake::{parse_request, Status, EMPTY_HEADER};
///
/// let buf = b"GET /chat?room=1 HTTP/1.1\r\n\
///             Host: server.example.com\r\n\
///             Upgrade: websocket\r\n\
///             Connection: Upgrade\r\n\
///             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///             Origin: http://example.com\r\n\
///             Sec-WebSocket-Protocol: chat, superchat\r\n\
///             Sec-WebSocket-Version: 13\r\n\r\n";
/// let mut slots = [EMPTY_HEADER; 32];
/// let Ok(Status::Complete(req)) = parse_request(buf, &mut slots, 8192) else {
///     panic!("a valid request")
/// };
/// assert_eq!(req.path(), "/chat?room=1");
/// assert_eq!(req.host(), "server.example.com");
/// assert_eq!(req.origin(), Some("http://example.com"));
/// assert_eq!(req.accept_key().as_str(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// assert!(req.subprotocols().eq(["chat", "superchat"]));
/// assert_eq!(req.head_len(), buf.len());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'b> {
    head: &'b [u8],
    path: &'b str,
    host: &'b str,
    origin: Option<&'b str>,
    key: &'b str,
}

impl<'b> Request<'b> {
    /// The request target as sent, query included (`/chat?room=1`).
    pub fn path(&self) -> &'b str {
        self.path
    }

    /// The `Host` header.
    pub fn host(&self) -> &'b str {
        self.host
    }

    /// The `Origin` header, if any: browsers always send it, so check it
    /// against the origins allowed to connect (answer 403 otherwise).
    pub fn origin(&self) -> Option<&'b str> {
        self.origin
    }

    /// The `Sec-WebSocket-Key` header (24 base64 characters).
    pub fn key(&self) -> &'b str {
        self.key
    }

    /// The `Sec-WebSocket-Accept` value answering this request's key.
    pub fn accept_key(&self) -> AcceptKey {
        accept_key(self.key.as_bytes())
    }

    /// The subprotocols offered, in the client's order of preference, across
    /// repeated `Sec-WebSocket-Protocol` headers and comma lists.
    pub fn subprotocols(&self) -> Subprotocols<'b> {
        Subprotocols::new(self.head)
    }

    /// The extensions offered, in order, across repeated
    /// `Sec-WebSocket-Extensions` headers and comma lists.
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

/// Parses and checks a WebSocket upgrade request at the start of `buf`:
/// [`RequestHead::parse`] then [`RequestHead::validate`].
///
/// `slots` is scratch space for httparse; its length is the header limit
/// (32 by default, [`DEFAULT_MAX_HEADERS`](super::DEFAULT_MAX_HEADERS)). The
/// returned view borrows only `buf`. `max_head_len` bounds the head
/// ([`DEFAULT_MAX_HEAD_LEN`](super::DEFAULT_MAX_HEAD_LEN)).
///
/// On an error, answer with [`write_error_response`] (or route a
/// [`HandshakeError::NotWebSocket`] request to plain HTTP) and close the
/// connection.
pub fn parse_request<'b>(
    buf: &'b [u8],
    slots: &mut [Header<'b>],
    max_head_len: usize,
) -> Result<Status<Request<'b>>, HandshakeError> {
    match RequestHead::parse(buf, slots, max_head_len)? {
        Status::Complete(head) => head.validate().map(Status::Complete),
        Status::Partial => Ok(Status::Partial),
    }
}

/// What a server puts in its `101 Switching Protocols` answer besides the
/// mandatory headers.
///
/// ```
/// use wscore::handshake::AcceptOptions;
///
/// let options = AcceptOptions {
///     subprotocol: Some("chat"),
///     extra_headers: &[("Server", "wscore")],
///     ..AcceptOptions::default()
/// };
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptOptions<'a> {
    /// The subprotocol chosen among the client's offers (an HTTP token).
    pub subprotocol: Option<&'a str>,
    /// The raw `Sec-WebSocket-Extensions` answer, for the extensions accepted
    /// among the client's offers (`permessage-deflate; server_no_context_takeover`).
    pub extensions: Option<&'a str>,
    /// More headers (`Set-Cookie`, `Server`, ...).
    pub extra_headers: &'a [(&'a str, &'a str)],
}

/// Headers [`write_accept`] writes itself (or must not send in a 101).
const ACCEPT_RESERVED: &[&str] = &[
    "upgrade",
    "connection",
    "sec-websocket-accept",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
    "content-length",
    "transfer-encoding",
];

/// Writes the `101 Switching Protocols` answer to `request` into `out` and
/// returns its length.
///
/// Checks, before writing anything, that the subprotocol is a token the
/// client offered, that every extension answered was offered (by name), and
/// that no header value holds a control character. On
/// [`WriteError::BufferTooSmall`], `out` is untouched and the error says how
/// many bytes are needed.
///
/// ```
/// use wscore::handshake::{parse_request, write_accept, AcceptOptions, Status, EMPTY_HEADER};
///
/// let buf = b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\
///             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///             Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Version: 13\r\n\r\n";
/// let mut slots = [EMPTY_HEADER; 32];
/// let Ok(Status::Complete(req)) = parse_request(buf, &mut slots, 8192) else { panic!() };
///
/// let mut out = [0u8; 256];
/// let options = AcceptOptions { subprotocol: Some("chat"), ..AcceptOptions::default() };
/// let n = write_accept(&req, &options, &mut out).unwrap();
/// assert_eq!(
///     &out[..n],
///     b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///       Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
///       Sec-WebSocket-Protocol: chat\r\n\r\n"
/// );
/// ```
pub fn write_accept(
    request: &Request<'_>,
    options: &AcceptOptions<'_>,
    out: &mut [u8],
) -> Result<usize, WriteError> {
    if let Some(chosen) = options.subprotocol {
        if !is_token(chosen.as_bytes()) {
            return Err(WriteError::InvalidSubprotocol);
        }
        if !request.subprotocols().any(|offered| offered == chosen) {
            return Err(WriteError::SubprotocolNotOffered);
        }
    }
    if let Some(answer) = options.extensions {
        if !is_valid_extensions_value(answer) {
            return Err(WriteError::InvalidExtensions);
        }
        let offered =
            |name: &str| request.extensions().any(|offer| offer.name().eq_ignore_ascii_case(name));
        if !Extensions::from_value(answer.as_bytes()).all(|ext| offered(ext.name())) {
            return Err(WriteError::ExtensionNotOffered);
        }
    }
    write_accept_key(&request.accept_key(), options, out)
}

/// Whether `value` can be written as a `Sec-WebSocket-Extensions` value.
pub(crate) fn is_valid_extensions_value(value: &str) -> bool {
    is_safe_value(value.as_bytes()) && extensions::is_valid_list(value.as_bytes())
}

/// Writes a `101 Switching Protocols` answer carrying `accept`, for a
/// request parsed elsewhere (by an HTTP library): compute `accept` with
/// [`accept_key`](super::accept_key) from the request's `Sec-WebSocket-Key`.
///
/// Same checks as [`write_accept`], except that whether the subprotocol and
/// extensions were offered is left to the caller.
pub fn write_accept_key(
    accept: &AcceptKey,
    options: &AcceptOptions<'_>,
    out: &mut [u8],
) -> Result<usize, WriteError> {
    if let Some(chosen) = options.subprotocol {
        if !is_token(chosen.as_bytes()) {
            return Err(WriteError::InvalidSubprotocol);
        }
    }
    if let Some(answer) = options.extensions {
        if !is_valid_extensions_value(answer) {
            return Err(WriteError::InvalidExtensions);
        }
    }
    // An answer with no extension in it is no answer.
    let extensions = options
        .extensions
        .filter(|answer| Extensions::from_value(answer.as_bytes()).next().is_some());
    check_extra_headers(options.extra_headers, ACCEPT_RESERVED)?;
    emit(out, |s| {
        s.put(b"HTTP/1.1 101 Switching Protocols\r\n");
        s.put(b"Upgrade: websocket\r\n");
        s.put(b"Connection: Upgrade\r\n");
        s.header("Sec-WebSocket-Accept", accept.as_bytes());
        if let Some(chosen) = options.subprotocol {
            s.header("Sec-WebSocket-Protocol", chosen.as_bytes());
        }
        if let Some(answer) = extensions {
            s.header("Sec-WebSocket-Extensions", answer.as_bytes());
        }
        s.extra_headers(options.extra_headers);
        s.put(b"\r\n");
    })
}

/// The reason phrase written for `code`.
fn reason_phrase(code: u16) -> &'static str {
    match code {
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => match code / 100 {
            3 => "Redirection",
            4 => "Client Error",
            _ => "Server Error",
        },
    }
}

/// Headers every rejection writes itself.
const REJECT_RESERVED: &[&str] = &["connection", "content-length", "transfer-encoding"];

/// Headers a 426 rejection writes in addition.
const REJECT_426_RESERVED: &[&str] =
    &["connection", "content-length", "transfer-encoding", "upgrade", "sec-websocket-version"];

/// Writes a rejection with an optional plain-text body.
fn write_rejection(
    status: u16,
    extra_headers: &[(&str, &str)],
    body: Option<&dyn core::fmt::Display>,
    out: &mut [u8],
) -> Result<usize, WriteError> {
    if !(300..=599).contains(&status) {
        return Err(WriteError::InvalidStatus(status));
    }
    let reserved = if status == 426 { REJECT_426_RESERVED } else { REJECT_RESERVED };
    check_extra_headers(extra_headers, reserved)?;
    // The body's length goes in a header before it: measure it first.
    let body_len = match body {
        Some(body) => {
            let mut counter = Sink::counter();
            let _ = core::fmt::write(&mut counter, format_args!("{body}\n"));
            counter.len()
        }
        None => 0,
    };
    let mut len_digits = [0u8; 20];
    let len_text = decimal(body_len, &mut len_digits);
    emit(out, |s| {
        s.put(b"HTTP/1.1 ");
        s.status_code(status);
        s.put(b" ");
        s.put_str(reason_phrase(status));
        s.put(b"\r\n");
        if status == 426 {
            s.put(b"Upgrade: websocket\r\n");
            s.put(b"Connection: Upgrade, close\r\n");
            s.put(b"Sec-WebSocket-Version: 13\r\n");
        } else {
            s.put(b"Connection: close\r\n");
        }
        if body.is_some() {
            s.put(b"Content-Type: text/plain; charset=utf-8\r\n");
        }
        s.header("Content-Length", len_text);
        s.extra_headers(extra_headers);
        s.put(b"\r\n");
        if let Some(body) = body {
            let _ = core::fmt::write(s, format_args!("{body}\n"));
        }
    })
}

/// Writes `n` in decimal into `buf`, returning the digits.
fn decimal(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    while let Some(i) = start.checked_sub(1) {
        start = i;
        if let Some(digit) = buf.get_mut(i) {
            *digit = b'0'.saturating_add((n % 10) as u8);
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.get(start..).unwrap_or_default()
}

/// Writes an empty-bodied rejection (`Content-Length: 0`, `Connection:
/// close`) with `status` (300 to 599) into `out` and returns its length.
///
/// Use 400 for a bad request, 403 when the application refuses the `Origin`,
/// 426 for an unsupported version (adds `Upgrade: websocket` and
/// `Sec-WebSocket-Version: 13`, as RFC 6455 section 4.4 and RFC 7231 section
/// 6.5.15 ask), 431 for a head over the limits, a 3xx with a `Location`
/// extra header to redirect. Close the connection after sending it.
///
/// ```
/// use wscore::handshake::write_reject;
///
/// let mut out = [0u8; 128];
/// let n = write_reject(403, &[], &mut out).unwrap();
/// assert_eq!(
///     &out[..n],
///     b"HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
/// );
/// ```
pub fn write_reject(
    status: u16,
    extra_headers: &[(&str, &str)],
    out: &mut [u8],
) -> Result<usize, WriteError> {
    write_rejection(status, extra_headers, None, out)
}

/// Writes the rejection that answers `error` into `out` and returns its
/// length: status [`error.status()`](HandshakeError::status), the headers of
/// [`write_reject`], and the error's message as a `text/plain` body so a
/// human with curl or a browser sees what went wrong.
///
/// ```
/// use wscore::handshake::{write_error_response, HandshakeError};
///
/// let mut out = [0u8; 256];
/// let n = write_error_response(&HandshakeError::UnsupportedVersion, &mut out).unwrap();
/// assert!(out[..n].starts_with(b"HTTP/1.1 426 Upgrade Required\r\n"));
/// ```
pub fn write_error_response(error: &HandshakeError, out: &mut [u8]) -> Result<usize, WriteError> {
    write_rejection(error.status(), &[], Some(error), out)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::handshake::EMPTY_HEADER;
    extern crate std;
    use std::format;
    use std::string::ToString;

    const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
        Host: server.example.com\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";

    fn parse(buf: &[u8]) -> Result<Status<Request<'_>>, HandshakeError> {
        let mut slots = [EMPTY_HEADER; 32];
        parse_request(buf, &mut slots, 8192)
    }

    fn parse_err(buf: &[u8]) -> HandshakeError {
        match parse(buf) {
            Err(e) => e,
            Ok(_) => panic!("expected an error"),
        }
    }

    #[test]
    fn rfc_example_request() {
        let Ok(Status::Complete(req)) = parse(RFC_REQUEST) else { panic!("valid request") };
        assert_eq!(req.path(), "/chat");
        assert_eq!(req.host(), "server.example.com");
        assert_eq!(req.origin(), Some("http://example.com"));
        assert_eq!(req.key(), "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(req.accept_key().as_str(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert!(req.subprotocols().eq(["chat", "superchat"]));
        assert_eq!(req.extensions().count(), 0);
        assert_eq!(req.head_len(), RFC_REQUEST.len());
    }

    #[test]
    fn the_list_flags_start_true() {
        // A request without any Sec-WebSocket-Protocol header is valid.
        let req = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\
                    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        assert!(matches!(parse(req), Ok(Status::Complete(_))));
    }

    #[test]
    fn duplicate_single_headers() {
        let base = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\
                    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
        for (extra, name) in [
            ("Host: h\r\n", "Host"),
            ("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "Sec-WebSocket-Key"),
            ("Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version"),
            ("Origin: a\r\nOrigin: b\r\n", "Origin"),
        ] {
            let req = format!("{base}{extra}\r\n");
            assert_eq!(parse_err(req.as_bytes()), HandshakeError::DuplicateHeader { name });
        }
    }

    #[test]
    fn decimal_digits() {
        let mut buf = [0u8; 20];
        assert_eq!(decimal(0, &mut buf), b"0");
        assert_eq!(decimal(7, &mut buf), b"7");
        assert_eq!(decimal(1234, &mut buf), b"1234");
        assert_eq!(decimal(usize::MAX, &mut buf), usize::MAX.to_string().as_bytes());
    }

    #[test]
    fn reason_phrases() {
        assert_eq!(reason_phrase(431), "Request Header Fields Too Large");
        assert_eq!(reason_phrase(418), "Client Error");
        assert_eq!(reason_phrase(399), "Redirection");
        assert_eq!(reason_phrase(599), "Server Error");
    }

    #[test]
    fn reject_rejects_bad_statuses() {
        let mut out = [0u8; 128];
        for status in [0, 101, 200, 299, 600, 999, u16::MAX] {
            assert_eq!(write_reject(status, &[], &mut out), Err(WriteError::InvalidStatus(status)));
        }
    }
}
