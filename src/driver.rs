//! What the drivers share (feature `std`): errors, connect options, and the
//! clock. The buffering, the handshake policy and the messages are the
//! [`session`](crate::session)'s; [`blocking`](crate::blocking) and
//! [`tokio`](crate::tokio) only move bytes and re-export these.

use std::fmt;
use std::io;
use std::string::String;
use std::time::Duration;
use std::vec::Vec;

use crate::config::{Config, Instant};
use crate::handshake::{HandshakeError, ResponseHead, Status, EMPTY_HEADER};
pub use crate::session::{Buffers, CloseInfo, Incoming, Message, ServerOptions, Utf8Bytes};
use crate::url::UrlError;

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
            crate::Error::Refused { status } => Error::Rejected { status, headers: Vec::new() },
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
    /// Buffer bounds.
    pub buffers: Buffers,
    /// Subprotocols to offer, most preferred first.
    pub subprotocols: &'a [&'a str],
    /// More request headers: `Origin`, `Authorization`, `Cookie`, ...
    pub headers: &'a [(&'a str, &'a str)],
    /// How long to wait for the TCP connection (`None`: the OS default).
    pub connect_timeout: Option<Duration>,
}

/// What a send does when the connection's write buffer is full
/// ([`Buffers::max_unsent`] bytes wait to be written): a slow or stuck
/// peer must not sink a server that sends to many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WhenFull {
    /// Wait until the peer has taken enough (the default for one writer;
    /// in a broadcast, one stuck peer holds everyone up).
    #[default]
    Wait,
    /// Fail the send with [`Error::Protocol`]`(`[`crate::Error::Backpressure`]`)`;
    /// nothing is queued.
    Fail,
    /// Close the connection with `code` (1008 "policy violation", or 1013
    /// "try again later") and `reason`. Nothing more is queued for it; the
    /// Close goes out behind what is queued, and if the peer does not take
    /// it within `Config::close_timeout`, the connection is dropped.
    Close {
        /// The status sent.
        code: crate::CloseCode,
        /// Why (at most 123 bytes).
        reason: &'static str,
    },
    /// Keep only the newest message per `key` until there is room
    /// ([`Session::send_latest`](crate::session::Session::send_latest)): a
    /// price feed wants the latest price, not a queue of stale ones. For
    /// prepared frames.
    KeepLatest {
        /// What the message is the latest of: a symbol, a topic.
        key: u64,
    },
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

/// The error for a client handshake that failed: a non-101 answer becomes
/// [`Error::Rejected`] with the answer's headers (still in the session).
pub(crate) fn client_handshake_error(e: crate::Error, buffered: &[u8]) -> Error {
    match e {
        crate::Error::Handshake(HandshakeError::UnexpectedStatus(status)) => {
            Error::Rejected { status, headers: response_headers(buffered) }
        }
        other => other.into(),
    }
}

/// Slices of what `session` has queued, for one vectored write.
pub(crate) fn io_slices<'a>(
    session: &'a crate::session::Session,
    slots: &mut [io::IoSlice<'a>; WRITE_SLICES],
) -> usize {
    let mut n = 0;
    for (slot, chunk) in slots.iter_mut().zip(session.chunks_to_send()) {
        *slot = io::IoSlice::new(chunk);
        n += 1;
    }
    n
}

/// The most slices one vectored write takes.
pub(crate) const WRITE_SLICES: usize = 64;

/// The session's clock: milliseconds since the connection was made, on a
/// monotonic clock (`std`'s or tokio's, which tests can pause).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock<I> {
    epoch: I,
}

/// A monotonic instant the clock counts from.
pub(crate) trait Epoch: Copy + core::ops::Add<Duration, Output = Self> {
    fn now() -> Self;
    fn elapsed(&self) -> Duration;
}

impl Epoch for std::time::Instant {
    fn now() -> Self {
        std::time::Instant::now()
    }

    fn elapsed(&self) -> Duration {
        std::time::Instant::elapsed(self)
    }
}

impl<I: Epoch> Clock<I> {
    pub(crate) fn start() -> Self {
        Clock { epoch: I::now() }
    }

    /// Now, on the session's clock.
    pub(crate) fn now(&self) -> Instant {
        Instant(u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// `at` on the session's clock, as an instant of the monotonic clock.
    #[cfg(feature = "tokio")]
    pub(crate) fn instant(&self, at: Instant) -> I {
        self.epoch + Duration::from_millis(at.0)
    }
}
