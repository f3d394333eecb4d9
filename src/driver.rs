//! What the drivers share (feature `std`): owned messages, errors, and the
//! options of the opening handshake. [`blocking`](crate::blocking) and
//! [`tokio`](crate::tokio) re-export them.

use std::fmt;
use std::io;
use std::string::String;
use std::time::Duration;
use std::vec::Vec;

use crate::close::CloseCode;
use crate::config::Config;
use crate::connection::Connection;
use crate::event::Event;
use crate::handshake::{
    AcceptOptions, HandshakeError, Request, ResponseHead, Status, EMPTY_HEADER,
};
use crate::message::{Message, MessageAssembler};
use crate::url::UrlError;

/// A message or control frame, owned: what the drivers' `read` hands back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A whole text message.
    Text(String),
    /// A whole binary message.
    Binary(Vec<u8>),
    /// A Ping; its Pong has already been sent.
    Ping(Vec<u8>),
    /// A Pong (an answer to a Ping, or a heartbeat).
    Pong(Vec<u8>),
    /// The peer closed (`None`: without a status code). The reply has been
    /// sent; the next `read` waits for the end of the connection and then
    /// returns [`Error::Closed`].
    Close(Option<CloseInfo>),
}

/// A close status and reason, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    /// The close code.
    pub code: CloseCode,
    /// The reason, often empty.
    pub reason: String,
}

/// Why a driver call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading from or writing to the stream failed (reset, broken pipe, ...).
    Io(io::Error),
    /// The TCP connection to the server could not be made (refused, no
    /// route, unknown host, timed out).
    Connect {
        /// `host:port` as given in the URL.
        addr: String,
        /// Why.
        source: io::Error,
    },
    /// The URL given to `connect` is not a valid WebSocket URL.
    Url(UrlError),
    /// A `wss://` URL: the drivers speak plain TCP. Connect a TLS stream
    /// yourself (rustls, native-tls) and run the client handshake over it
    /// (`client` in either driver): `examples/wss_client.rs` shows how.
    TlsRequired,
    /// The server answered the handshake with another status than 101:
    /// a redirect (`Location`), 401 (`WWW-Authenticate`), 403, 404, ...
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The response's headers, as sent.
        headers: Vec<(String, String)>,
    },
    /// The peer's handshake broke RFC 6455 (or a server refused a request:
    /// the rejection has been sent).
    Handshake(HandshakeError),
    /// A protocol error (the peer's, with the close code that was sent) or a
    /// misuse of the connection, from the core.
    Protocol(crate::Error),
    /// The connection is closed; the close code and reason are those the
    /// peer sent, if it sent any.
    Closed(Option<CloseInfo>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Connect { addr, source } => write!(f, "cannot connect to {addr}: {source}"),
            Error::Url(e) => write!(f, "invalid URL: {e}"),
            Error::TlsRequired => f.write_str(
                "wss:// needs TLS, which this driver does not do: connect a TLS stream \
                 (rustls, native-tls) and run the driver's client handshake over it",
            ),
            Error::Rejected { status, headers } => {
                write!(f, "the server refused the WebSocket handshake with HTTP {status}")?;
                let location = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("location"));
                match location {
                    Some((_, to)) => write!(f, " (redirect to {to})"),
                    None => Ok(()),
                }
            }
            Error::Handshake(e) => write!(f, "handshake failed: {e}"),
            Error::Protocol(e) => e.fmt(f),
            Error::Closed(Some(info)) => {
                write!(f, "the connection is closed (code {}", info.code)?;
                match info.reason.is_empty() {
                    true => f.write_str(")"),
                    false => write!(f, ", reason {:?})", info.reason),
                }
            }
            Error::Closed(None) => f.write_str("the connection is closed"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Connect { source, .. } => Some(source),
            Error::Url(e) => Some(e),
            Error::Handshake(e) => Some(e),
            Error::Protocol(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<crate::Error> for Error {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Handshake(h) => Error::Handshake(h),
            other => Error::Protocol(other),
        }
    }
}

impl From<UrlError> for Error {
    fn from(e: UrlError) -> Self {
        Error::Url(e)
    }
}

/// What a client asks for beyond the URL.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientOptions<'a> {
    /// Limits and timers (keepalive: `ping_interval` / `ping_timeout`).
    pub config: Config,
    /// Subprotocols to offer, most preferred first.
    pub subprotocols: &'a [&'a str],
    /// More request headers: `Origin`, `Authorization`, `Cookie`, ...
    pub headers: &'a [(&'a str, &'a str)],
    /// How long to wait for the TCP connection (`None`: the OS default).
    pub connect_timeout: Option<Duration>,
}

/// How a server answers handshakes.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerOptions<'a> {
    /// Limits and timers.
    pub config: Config,
    /// Subprotocols this server speaks: the first one the client offers
    /// (in the client's order of preference) is chosen.
    pub subprotocols: &'a [&'a str],
    /// When set, requests whose `Origin` is not in the list get 403 (a
    /// browser page from another site). Requests without `Origin` (not
    /// from a browser) pass.
    pub allowed_origins: Option<&'a [&'a str]>,
    /// More response headers.
    pub headers: &'a [(&'a str, &'a str)],
}

/// Accept or refuse `request` as `options` say; returns the bytes written
/// and either the chosen subprotocol or the refusal.
pub(crate) fn answer(
    conn: &mut Connection,
    request: &Request<'_>,
    options: &ServerOptions<'_>,
    out: &mut [u8],
) -> Result<(usize, Result<Option<String>, Error>), Error> {
    if let (Some(allowed), Some(origin)) = (options.allowed_origins, request.origin()) {
        if !allowed.contains(&origin) {
            let n = conn.reject(403, &[], out)?;
            return Ok((n, Err(Error::Rejected { status: 403, headers: Vec::new() })));
        }
    }
    let subprotocol = request.subprotocols().find(|p| options.subprotocols.contains(p));
    let accept = AcceptOptions { subprotocol, extensions: None, extra_headers: options.headers };
    let n = conn.accept(request, &accept, out)?;
    Ok((n, Ok(subprotocol.map(String::from))))
}

/// The headers of the (non-101) response at the front of `input`.
pub(crate) fn response_headers(input: &[u8]) -> Vec<(String, String)> {
    let mut slots = [EMPTY_HEADER; crate::MAX_HANDSHAKE_HEADERS];
    match ResponseHead::parse(input, &mut slots, usize::MAX) {
        Ok(Status::Complete(head)) => head
            .headers()
            .map(|h| (h.name.into(), String::from_utf8_lossy(h.value).into_owned()))
            .collect(),
        _ => Vec::new(),
    }
}

/// Turns the core's events into owned [`Incoming`]s: data pieces gathered
/// into whole messages, the peer's Close remembered.
#[derive(Debug)]
pub(crate) struct Gather {
    messages: MessageAssembler,
    pub(crate) peer_close: Option<CloseInfo>,
}

impl Gather {
    pub(crate) fn new(max_message_size: u64) -> Self {
        Gather { messages: MessageAssembler::new(max_message_size), peer_close: None }
    }

    /// What `event` means for the application: a whole message, a control
    /// frame, or nothing yet (a piece of a message, a handshake event).
    pub(crate) fn event(&mut self, event: Event<'_, '_>) -> Result<Option<Incoming>, Error> {
        Ok(match event {
            Event::Data { kind, payload, fin } => {
                match self.messages.push(kind, payload, fin).map_err(crate::Error::from)? {
                    Some(Message::Text(text)) => Some(Incoming::Text(text)),
                    Some(Message::Binary(data)) => Some(Incoming::Binary(data)),
                    None => None,
                }
            }
            Event::Ping(payload) => Some(Incoming::Ping(payload.to_vec())),
            Event::Pong(payload) => Some(Incoming::Pong(payload.to_vec())),
            Event::Close(frame) => {
                let info = frame.map(|f| CloseInfo { code: f.code, reason: f.reason.into() });
                self.peer_close = info.clone();
                Some(Incoming::Close(info))
            }
            Event::Request(_) | Event::Response(_) => None,
        })
    }
}
