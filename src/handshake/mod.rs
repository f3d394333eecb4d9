//! The opening handshake (RFC 6455 section 4), usable on its own.
//!
//! A server parses and checks the client's HTTP upgrade request and writes a
//! `101 Switching Protocols` answer or a rejection; a client writes the
//! request and checks the answer. No I/O, no allocation, no copy: parsing
//! borrows from the caller's buffer, writing goes into the caller's buffer.
//! The connection state machine uses this module for its handshake phase;
//! users who upgrade through another HTTP stack (hyper, an HTTP/2 server)
//! can use [`accept_key`], [`write_accept_key`] and [`Extensions::from_value`]
//! directly.
//!
//! # Parsing: scratch slots in, a view of the input out
//!
//! Heads are parsed with [httparse](https://docs.rs/httparse) into
//! caller-provided header slots (`[EMPTY_HEADER; N]`, usually on the stack);
//! their number is the header limit. The result is a *view* that borrows
//! only the input bytes, not the slots: it keeps the whole validated head
//! plus the fields already extracted, and `header(name)` / `headers()`
//! re-scan the head lazily (a line scan that agrees with httparse on every
//! head httparse accepts). So a caller can parse with a temporary slot array
//! and still hand the view out, in an event say.
//!
//! Every view has `head_len()`: the bytes of the head including its blank
//! line. What follows in the buffer (`buf[head_len..]`) belongs to the frame
//! stream and must go to the frame decoder; a peer may send its first frames
//! in the same packet as its head.
//!
//! # Partial input and limits
//!
//! Parsing a head that has not fully arrived gives [`Status::Partial`]: read
//! more bytes, append them, and parse the whole buffer again. Feeding a head
//! in any chunking gives `Partial` for every prefix and then the same result
//! as feeding it at once.
//!
//! Limits are parameters: `max_head_len` (8 KiB by default,
//! [`DEFAULT_MAX_HEAD_LEN`]) and the number of slots (32 by default,
//! [`DEFAULT_MAX_HEADERS`]). A head that has not ended within `max_head_len`
//! bytes (a head that never ends, or a single over-long header line) is
//! [`HandshakeError::HeadTooLarge`] rather than `Partial` forever; more
//! header lines than slots is [`HandshakeError::TooManyHeaders`]; both
//! answer 431.
//!
//! # Two steps: parse, then validate
//!
//! Both sides parse in two steps, so that a message which is valid HTTP but
//! not a valid handshake stays readable:
//!
//! * Server: [`RequestHead::parse`] gives any HTTP/1.x request;
//!   [`RequestHead::validate`] checks the WebSocket rules and gives a
//!   [`Request`]. A plain `GET /` from a browser fails validation with
//!   [`HandshakeError::NotWebSocket`] (or check
//!   [`RequestHead::is_websocket_upgrade`] first) and the application can
//!   still read its path and headers to serve a page. [`parse_request`]
//!   takes both steps at once.
//! * Client: [`ResponseHead::parse`] gives any HTTP/1.x response;
//!   [`ResponseHead::validate`] checks it against the [`ClientKey`] and
//!   [`ClientRequest`] sent and gives a [`Response`]. A non-101 answer fails
//!   with [`HandshakeError::UnexpectedStatus`] and the `ResponseHead` still
//!   gives its `Location` or `WWW-Authenticate`. [`parse_response`] takes
//!   both steps at once.
//!
//! Each [`HandshakeError`] names what the peer did wrong; on the server side
//! [`HandshakeError::status`] is the status to answer (400, 426 or 431) and
//! [`write_error_response`] writes that answer.
//!
//! # Writing
//!
//! [`write_request`], [`write_accept`], [`write_accept_key`],
//! [`write_reject`] and [`write_error_response`] check everything first
//! (header names are tokens, values hold no CR, LF or other control
//! character, subprotocols are tokens, extension lists are well-formed),
//! then measure, then write: on [`WriteError::BufferTooSmall`] the output is
//! untouched and the error carries the exact size needed.
//!
//! # Example: a server
//!
//! ```
//! use wscore::handshake::{
//!     parse_request, write_accept, write_error_response, AcceptOptions, HandshakeError, Status,
//!     DEFAULT_MAX_HEADERS, DEFAULT_MAX_HEAD_LEN, EMPTY_HEADER,
//! };
//!
//! let buf = b"GET /chat HTTP/1.1\r\n\
//!     Host: example.com\r\n\
//!     Upgrade: websocket\r\n\
//!     Connection: keep-alive, Upgrade\r\n\
//!     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//!     Sec-WebSocket-Version: 13\r\n\
//!     Sec-WebSocket-Protocol: v2.chat, v1.chat\r\n\
//!     \r\n\
//!     \x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"; // a first frame may come along
//!
//! let mut slots = [EMPTY_HEADER; DEFAULT_MAX_HEADERS];
//! let mut out = [0u8; 1024];
//! match parse_request(buf, &mut slots, DEFAULT_MAX_HEAD_LEN) {
//!     Ok(Status::Complete(request)) => {
//!         let chosen = request.subprotocols().find(|p| *p == "v1.chat");
//!         let options = AcceptOptions { subprotocol: chosen, ..AcceptOptions::default() };
//!         let n = write_accept(&request, &options, &mut out).unwrap();
//!         // send out[..n]; then the frames start at buf[request.head_len()..]
//!         assert!(out[..n].starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
//!         assert_eq!(buf.len() - request.head_len(), 11);
//!     }
//!     Ok(Status::Partial) => { /* read more bytes, append, parse again */ }
//!     Err(HandshakeError::NotWebSocket) => { /* serve it as plain HTTP */ }
//!     Err(error) => {
//!         let n = write_error_response(&error, &mut out).unwrap();
//!         // send out[..n], then close the connection
//!         # let _ = n;
//!     }
//! }
//! ```
//!
//! # Example: a client
//!
//! ```
//! use wscore::handshake::{
//!     parse_response, write_request, ClientKey, ClientRequest, HandshakeError, Status,
//!     EMPTY_HEADER,
//! };
//!
//! // 16 bytes from a good random source, fresh for each handshake
//! let key = ClientKey::from_random(*b"the sample nonce");
//! let request = ClientRequest {
//!     extensions: Some("permessage-deflate; client_max_window_bits"),
//!     extra_headers: &[("Origin", "https://example.com")],
//!     ..ClientRequest::new("example.com", "/chat")
//! };
//! let mut out = [0u8; 1024];
//! let n = write_request(&request, &key, &mut out).unwrap();
//! // send out[..n], then read the answer:
//! # let _ = n;
//! let answer = b"HTTP/1.1 101 Switching Protocols\r\n\
//!     Upgrade: websocket\r\n\
//!     Connection: Upgrade\r\n\
//!     Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
//!     Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=15\r\n\
//!     \r\n";
//! let mut slots = [EMPTY_HEADER; 32];
//! match parse_response(answer, &mut slots, 8192, &key, &request) {
//!     Ok(Status::Complete(response)) => {
//!         let deflate = response.extensions().next().unwrap();
//!         assert_eq!(deflate.param("client_max_window_bits"), Some(Some("15")));
//!     }
//!     Ok(Status::Partial) => { /* read more */ }
//!     Err(HandshakeError::UnexpectedStatus(code)) => {
//!         // parse with ResponseHead::parse + validate to read its headers
//!         # let _ = code;
//!     }
//!     Err(error) => panic!("{error}"),
//! }
//! ```
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

mod accept;
mod client;
mod error;
mod extensions;
mod head;
mod headers;
mod server;
mod write;

pub use accept::{accept_key, AcceptKey, ClientKey, GUID};
pub use client::{parse_response, write_request, ClientRequest, Response, ResponseHead};
pub use error::{HandshakeError, WriteError};
pub use extensions::{Extension, Extensions, Params};
pub use headers::{Headers, Subprotocols};
pub use httparse::{Header, EMPTY_HEADER};
pub use server::{
    parse_request, write_accept, write_accept_key, write_error_response, write_reject,
    AcceptOptions, Request, RequestHead,
};

/// Default bound on the length of a handshake head, blank line included:
/// 8 KiB.
pub const DEFAULT_MAX_HEAD_LEN: usize = 8 * 1024;

/// Default number of header slots, hence of header lines in a head: 32.
pub const DEFAULT_MAX_HEADERS: usize = 32;

/// The outcome of parsing input that may not have fully arrived yet.
///
/// Incomplete input is not an error: read more bytes, append them, and
/// parse the whole buffer again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status<T> {
    /// The head is complete; here is what it parsed to.
    Complete(T),
    /// The head has not ended yet (and is still under the length limit).
    Partial,
}

impl<T> Status<T> {
    /// Whether the input was complete.
    pub const fn is_complete(&self) -> bool {
        matches!(self, Self::Complete(_))
    }

    /// Whether more input is needed.
    pub const fn is_partial(&self) -> bool {
        matches!(self, Self::Partial)
    }

    /// The value, if complete.
    pub fn complete(self) -> Option<T> {
        match self {
            Self::Complete(value) => Some(value),
            Self::Partial => None,
        }
    }

    /// Maps the complete value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Status<U> {
        match self {
            Self::Complete(value) => Status::Complete(f(value)),
            Self::Partial => Status::Partial,
        }
    }
}
