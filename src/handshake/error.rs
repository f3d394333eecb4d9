//! Errors of the opening handshake: what the peer got wrong when parsing
//! ([`HandshakeError`]), and why a writer refused to write ([`WriteError`]).

use core::fmt;

/// What the peer did wrong in its opening handshake.
///
/// Errors found in a *request* (server side) map to the HTTP status a server
/// should answer with, see [`status`](HandshakeError::status) and
/// [`write_error_response`](super::write_error_response). Errors found in a
/// *response* (client side) are reported to the application; the client
/// just drops the connection.
///
/// The enum is `Copy` and carries no borrowed data, so it can be stored or
/// sent anywhere; a [`ResponseHead`](super::ResponseHead) that failed
/// validation stays readable for the details (a `Location` header, say).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandshakeError {
    // ---- HTTP framing (both sides) -------------------------------------
    /// The head (start line, header lines and the blank line) did not end
    /// within `limit` bytes. A single over-long header line ends up here too.
    /// Status 431.
    HeadTooLarge {
        /// The `max_head_len` the head was parsed with.
        limit: usize,
    },
    /// The head has more header lines than the `limit` header slots given to
    /// the parser. Status 431.
    TooManyHeaders {
        /// The number of header slots the head was parsed with.
        limit: usize,
    },
    /// The bytes are a TLS record (a ClientHello or an alert), not HTTP: the
    /// peer speaks TLS to a plain-text endpoint (`wss://` against `ws://`,
    /// or the other way round). Status 400.
    UnexpectedTls,
    /// The bytes are not a well-formed HTTP/1.x head (another protocol such as
    /// SSH, HTTP/2 prior knowledge, a stray byte, a bad header line).
    /// Status 400.
    MalformedHttp,
    /// The message is HTTP/1.0; the WebSocket handshake needs HTTP/1.1.
    /// Status 400.
    UnsupportedHttpVersion,
    /// A header that must appear at most once appeared several times
    /// (`Host`, `Origin`, `Sec-WebSocket-Key`, `Sec-WebSocket-Version`,
    /// `Sec-WebSocket-Accept`). Status 400.
    DuplicateHeader {
        /// The header's name, in its usual spelling.
        name: &'static str,
    },
    /// The `Connection` header(s) do not contain the token `upgrade`.
    /// Status 400.
    MissingConnectionUpgrade,
    /// A `Sec-WebSocket-Protocol` header holds something other than a comma
    /// list of tokens. Status 400.
    InvalidSubprotocols,
    /// A `Sec-WebSocket-Extensions` header does not follow the grammar of
    /// RFC 6455 section 9.1 (`name; param=value, name2`). Status 400.
    InvalidExtensions,

    // ---- request (server side) -----------------------------------------
    /// No `Upgrade` header containing the token `websocket`: an ordinary HTTP
    /// request (a browser loading a page, a health check) or an upgrade to
    /// another protocol such as `h2c`. An application may serve it as plain
    /// HTTP; a WebSocket-only endpoint answers 400.
    NotWebSocket,
    /// The request method is not `GET`. Status 400.
    MethodNotGet,
    /// The request has no `Host` header. Status 400.
    MissingHost,
    /// The `Host` header is empty or holds bytes other than visible ASCII.
    /// Status 400.
    InvalidHost,
    /// The `Origin` header holds bytes other than ASCII. Status 400.
    InvalidOrigin,
    /// The request has no `Sec-WebSocket-Key` header. Status 400.
    MissingKey,
    /// The `Sec-WebSocket-Key` is not the base64 encoding of exactly 16 bytes
    /// (24 characters ending in `==`). Status 400.
    InvalidKey,
    /// The request has no `Sec-WebSocket-Version` header. Status 426, with
    /// `Sec-WebSocket-Version: 13` in the answer.
    MissingVersion,
    /// `Sec-WebSocket-Version` is not `13` (an old draft's `8`, say).
    /// Status 426, with `Sec-WebSocket-Version: 13` in the answer.
    UnsupportedVersion,
    /// The request's head did not arrive within `Config::handshake_timeout`
    /// (a client that sends it a byte at a time, or not at all). Status 408.
    HeadTimeout,

    // ---- response (client side) ----------------------------------------
    /// The server answered with this status instead of `101 Switching
    /// Protocols`: a redirect (read `Location`), `401` (read
    /// `WWW-Authenticate`), a rejection. The [`ResponseHead`](super::ResponseHead)
    /// that was validated still gives access to its headers.
    UnexpectedStatus(u16),
    /// The 101 response has no `Upgrade` header containing `websocket`.
    MissingUpgrade,
    /// The 101 response has no `Sec-WebSocket-Accept` header.
    MissingAccept,
    /// `Sec-WebSocket-Accept` is not the hash of the key this client sent:
    /// the server (or a proxy on the way) did not process this handshake.
    AcceptMismatch,
    /// The server chose a subprotocol the client did not offer.
    SubprotocolNotOffered,
    /// The server named more than one subprotocol; it must choose at most one.
    MultipleSubprotocols,
    /// The server answered with an extension the client did not offer.
    ExtensionNotOffered,
    /// The server's permessage-deflate answer does not fit the client's
    /// offer (RFC 7692 section 7.1).
    Deflate(crate::deflate::NegotiationError),
}

impl HandshakeError {
    /// The HTTP status a server answers this error with: 431 for the size
    /// limits, 426 for a missing or unsupported `Sec-WebSocket-Version`, 408
    /// for a head that did not arrive in time, 400 for every other request
    /// error.
    ///
    /// Errors that only a client finds in a server's response have no one to
    /// answer; they give 502 (Bad Gateway), which is what a gateway relaying
    /// the handshake would say.
    ///
    /// ```
    /// use wscore::handshake::HandshakeError;
    ///
    /// assert_eq!(HandshakeError::UnsupportedVersion.status(), 426);
    /// assert_eq!(HandshakeError::HeadTooLarge { limit: 8192 }.status(), 431);
    /// assert_eq!(HandshakeError::InvalidKey.status(), 400);
    /// ```
    pub const fn status(&self) -> u16 {
        match self {
            Self::HeadTooLarge { .. } | Self::TooManyHeaders { .. } => 431,
            Self::MissingVersion | Self::UnsupportedVersion => 426,
            Self::HeadTimeout => 408,
            Self::UnexpectedStatus(_)
            | Self::MissingUpgrade
            | Self::MissingAccept
            | Self::AcceptMismatch
            | Self::SubprotocolNotOffered
            | Self::MultipleSubprotocols
            | Self::ExtensionNotOffered
            | Self::Deflate(_) => 502,
            _ => 400,
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HeadTooLarge { limit } => write!(
                f,
                "the HTTP head did not end within {limit} bytes; send fewer or shorter headers"
            ),
            Self::TooManyHeaders { limit } => {
                write!(f, "the HTTP head has more than {limit} header lines; send fewer headers")
            }
            Self::UnexpectedTls => f.write_str(
                "received TLS bytes on a plain-text endpoint; use ws:// here, \
                 or wss:// against a TLS endpoint",
            ),
            Self::MalformedHttp => f.write_str(
                "the bytes are not a well-formed HTTP/1.1 head; \
                 is the peer speaking another protocol?",
            ),
            Self::UnsupportedHttpVersion => {
                f.write_str("the WebSocket handshake needs HTTP/1.1, not HTTP/1.0")
            }
            Self::DuplicateHeader { name } => {
                write!(f, "the `{name}` header must appear only once")
            }
            Self::MissingConnectionUpgrade => {
                f.write_str("the `Connection` header must contain the token `upgrade`")
            }
            Self::InvalidSubprotocols => {
                f.write_str("`Sec-WebSocket-Protocol` must be a comma-separated list of tokens")
            }
            Self::InvalidExtensions => f.write_str(
                "`Sec-WebSocket-Extensions` must be a comma-separated list of \
                 `name; param=value` entries (RFC 6455 section 9.1)",
            ),
            Self::NotWebSocket => f.write_str(
                "not a WebSocket upgrade: the request needs `Upgrade: websocket` \
                 and `Connection: Upgrade`",
            ),
            Self::MethodNotGet => f.write_str("a WebSocket handshake must use the GET method"),
            Self::MissingHost => f.write_str("the request must carry a `Host` header"),
            Self::InvalidHost => f.write_str("the `Host` header must be non-empty visible ASCII"),
            Self::InvalidOrigin => f.write_str("the `Origin` header must be ASCII"),
            Self::MissingKey => f.write_str("the request must carry a `Sec-WebSocket-Key` header"),
            Self::InvalidKey => {
                f.write_str("`Sec-WebSocket-Key` must be 16 random bytes in base64 (24 characters)")
            }
            Self::MissingVersion => {
                f.write_str("the request must carry `Sec-WebSocket-Version: 13`")
            }
            Self::UnsupportedVersion => f.write_str(
                "unsupported WebSocket version; this server speaks `Sec-WebSocket-Version: 13`",
            ),
            Self::HeadTimeout => f.write_str(
                "the request head did not arrive within the handshake timeout (Config::handshake_timeout)",
            ),
            Self::UnexpectedStatus(code) => write!(
                f,
                "the server answered with status {code} instead of 101 Switching Protocols"
            ),
            Self::MissingUpgrade => {
                f.write_str("the server's 101 response lacks `Upgrade: websocket`")
            }
            Self::MissingAccept => {
                f.write_str("the server's 101 response lacks `Sec-WebSocket-Accept`")
            }
            Self::AcceptMismatch => f.write_str(
                "`Sec-WebSocket-Accept` does not match the key sent; \
                 the server or a proxy did not process this handshake",
            ),
            Self::SubprotocolNotOffered => {
                f.write_str("the server chose a subprotocol the client did not offer")
            }
            Self::MultipleSubprotocols => f.write_str("the server named more than one subprotocol"),
            Self::ExtensionNotOffered => {
                f.write_str("the server answered with an extension the client did not offer")
            }
            Self::Deflate(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for HandshakeError {}

/// Why a handshake writer wrote nothing.
///
/// Writers check everything before writing a byte: on any error the output
/// buffer is left untouched.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteError {
    /// The output buffer is too small; `needed` bytes would fit the message.
    BufferTooSmall {
        /// The exact length of the message that would have been written.
        needed: usize,
    },
    /// `extra_headers[index]` has a name that is not an HTTP token.
    InvalidHeaderName {
        /// Position in `extra_headers`.
        index: usize,
    },
    /// `extra_headers[index]` has a value with a control character (CR and
    /// LF included: this is what stops header injection).
    InvalidHeaderValue {
        /// Position in `extra_headers`.
        index: usize,
    },
    /// `extra_headers[index]` names a header the writer itself writes
    /// (`Upgrade`, `Connection`, `Sec-WebSocket-*`, `Content-Length`, ...).
    ReservedHeader {
        /// Position in `extra_headers`.
        index: usize,
    },
    /// A subprotocol is not an HTTP token (empty, or holds a separator,
    /// space or control character).
    InvalidSubprotocol,
    /// The same subprotocol is offered twice.
    DuplicateSubprotocol,
    /// The chosen subprotocol is not one the client offered.
    SubprotocolNotOffered,
    /// The extensions value does not follow RFC 6455 section 9.1, or holds a
    /// control character.
    InvalidExtensions,
    /// The extensions answer names an extension the client did not offer.
    ExtensionNotOffered,
    /// The host is empty or holds bytes other than visible ASCII.
    InvalidHost,
    /// The path does not start with `/` or holds bytes other than visible
    /// ASCII (percent-encode them).
    InvalidPath,
    /// The status cannot be written by a rejection (only 300 to 599 can).
    InvalidStatus(u16),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
            Self::InvalidHeaderName { index } => {
                write!(f, "extra header #{index} has a name that is not an HTTP token")
            }
            Self::InvalidHeaderValue { index } => {
                write!(f, "extra header #{index} has a value with a control character (CR/LF?)")
            }
            Self::ReservedHeader { index } => {
                write!(f, "extra header #{index} is one the handshake writer writes itself")
            }
            Self::InvalidSubprotocol => f.write_str("a subprotocol must be an HTTP token"),
            Self::DuplicateSubprotocol => f.write_str("a subprotocol is offered twice"),
            Self::SubprotocolNotOffered => {
                f.write_str("the chosen subprotocol was not offered by the client")
            }
            Self::InvalidExtensions => f.write_str(
                "the extensions value must follow RFC 6455 section 9.1 \
                 (`name; param=value, name2`)",
            ),
            Self::ExtensionNotOffered => {
                f.write_str("the extensions answer names an extension the client did not offer")
            }
            Self::InvalidHost => f.write_str("the host must be non-empty visible ASCII"),
            Self::InvalidPath => f.write_str(
                "the path must start with `/` and be visible ASCII (percent-encode the rest)",
            ),
            Self::InvalidStatus(code) => {
                write!(f, "status {code} cannot be written as a rejection (300-599)")
            }
        }
    }
}

impl core::error::Error for WriteError {}
