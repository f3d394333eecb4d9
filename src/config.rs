//! Roles, the caller's clock, and the limits and timers of a connection.

use core::time::Duration;

/// Which end of the connection this is. Clients mask what they send; servers
/// must not, and each side requires the opposite of the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The side that opened the connection.
    Client,
    /// The side that accepted it.
    Server,
}

/// A point on the caller's monotonic clock, in milliseconds from any origin
/// the caller likes (boot, process start, a test's zero).
///
/// The connection never reads a clock itself: the caller passes `now` in, and
/// learns from [`Connection::poll_timeout`](crate::Connection::poll_timeout)
/// when to call again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(pub u64);

impl Instant {
    /// Milliseconds since the caller's origin.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// This instant plus `d`, saturating at the end of time.
    pub fn saturating_add(self, d: Duration) -> Instant {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(ms))
    }

    /// How long after `earlier` this is (zero if it is not after it).
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

/// Keepalive: send a Ping every `interval`, and fail the connection when no
/// Pong comes back within `timeout` of a Ping. Both are kept to the
/// millisecond, up to about 49 days. These are websocket-client's
/// `ping_interval` and `ping_timeout`, and Python websockets' `ping_interval`
/// and `ping_timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Time between keepalive Pings.
    pub interval: Duration,
    /// How long to wait for the Pong before giving up on the peer. Zero
    /// never gives up: the Pings only keep the path alive (Python's
    /// `ping_timeout=None`).
    pub timeout: Duration,
}

impl Keepalive {
    /// Python websockets' defaults: a Ping every 20 s, 20 s for its Pong.
    pub const DEFAULT: Keepalive =
        Keepalive { interval: Duration::from_secs(20), timeout: Duration::from_secs(20) };
}

/// Limits and behaviour of a [`Connection`](crate::Connection).
///
/// Every limit protects the memory and time a peer can make this side spend.
/// Change a few fields and keep the rest:
///
/// ```
/// use core::time::Duration;
/// use wscore::{Config, Keepalive};
/// let config = Config {
///     max_message_size: 1 << 20,
///     keepalive: Some(Keepalive { interval: Duration::from_secs(20), timeout: Duration::from_secs(10) }),
///     ..Config::default()
/// };
/// assert_eq!(config.max_frame_payload, 16 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The largest frame payload accepted. A header announcing more fails the
    /// connection with 1009 before any of the payload is read. Default 16 MiB.
    pub max_frame_payload: u64,
    /// The largest message accepted, all fragments together. A frame that
    /// would take a message past it fails the connection with 1009 as soon as
    /// its header arrives. Default 64 MiB.
    pub max_message_size: u64,
    /// Answer each Ping with a Pong automatically. Default `true`.
    pub auto_pong: bool,
    /// Keepalive Pings and their timeout. Default [`Keepalive::DEFAULT`]:
    /// a Ping every 20 s, and the connection fails (1011) when its Pong is
    /// 20 s late, as Python websockets does, so that a peer that vanished
    /// without a word (a closed laptop, a lost network) is noticed. `None`
    /// turns it off. Pings go out only when the application drives the
    /// clock ([`Connection::handle_timeout`](crate::Connection::handle_timeout);
    /// the drivers do).
    pub keepalive: Option<Keepalive>,
    /// How long to wait for the peer's Close after sending ours (and, for a
    /// client, for the server to close the transport after the closing
    /// handshake). Default 5 s. Kept to the millisecond, up to about 49 days.
    pub close_timeout: Duration,
    /// How long the opening handshake of a connection made by
    /// [`Connection::server`] or [`Connection::client`] may take, from the
    /// first time the connection sees the clock: a peer that opens a TCP
    /// connection and says nothing is dropped then. Default 10 s (Python
    /// websockets' `open_timeout`).
    ///
    /// [`Connection::server`]: crate::Connection::server
    /// [`Connection::client`]: crate::Connection::client
    pub handshake_timeout: Duration,
    /// The longest opening-handshake head (request or response line, headers
    /// and the blank line) a connection made by [`Connection::server`] or
    /// [`Connection::client`] reads. Default 8 KiB; over it the handshake
    /// fails (a server answers 431).
    ///
    /// [`Connection::server`]: crate::Connection::server
    /// [`Connection::client`]: crate::Connection::client
    pub max_handshake_head: usize,
    /// The most header lines in a handshake head, at most
    /// [`MAX_HANDSHAKE_HEADERS`]. Default 32; over it the handshake fails (a
    /// server answers 431).
    pub max_handshake_headers: usize,
    /// permessage-deflate (RFC 7692): offered by a client, accepted by a
    /// server, for connections made by [`Connection::server`] and
    /// [`Connection::client`]. Takes effect with the `deflate` feature
    /// (without it, the extension is never offered or accepted). Default
    /// `None` (off).
    ///
    /// [`Connection::server`]: crate::Connection::server
    /// [`Connection::client`]: crate::Connection::client
    pub deflate: Option<crate::deflate::DeflateConfig>,
}

/// The ceiling of [`Config::max_handshake_headers`]: header slots live on the
/// stack while a head is parsed (32 bytes each).
pub const MAX_HANDSHAKE_HEADERS: usize = 128;

impl Config {
    /// The defaults, usable in `const` contexts.
    pub const DEFAULT: Config = Config {
        max_frame_payload: 16 << 20,
        max_message_size: 64 << 20,
        auto_pong: true,
        keepalive: Some(Keepalive::DEFAULT),
        close_timeout: Duration::from_secs(5),
        handshake_timeout: Duration::from_secs(10),
        max_handshake_head: 8 * 1024,
        max_handshake_headers: 32,
        deflate: None,
    };
}

impl Default for Config {
    fn default() -> Self {
        Config::DEFAULT
    }
}

/// [`Config`] as a connection keeps it: durations in milliseconds (at most
/// `u32::MAX`, about 49 days) and small integers, to keep the connection small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) max_frame_payload: u64,
    pub(crate) max_message_size: u64,
    /// Keepalive interval and timeout in milliseconds; interval 0 is off.
    pub(crate) keepalive_interval: u32,
    pub(crate) keepalive_timeout: u32,
    pub(crate) close_timeout: u32,
    pub(crate) handshake_timeout: u32,
    pub(crate) max_handshake_head: u32,
    pub(crate) max_handshake_headers: u8,
    pub(crate) auto_pong: bool,
    /// Data frames with a payload up to this size are read whole
    /// ([`Connection::set_whole_frame_limit`](crate::Connection::set_whole_frame_limit)).
    pub(crate) whole_frame_limit: u32,
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

impl From<Config> for Limits {
    fn from(c: Config) -> Self {
        let (interval, timeout) = match c.keepalive {
            // An interval of zero would ping on every call: take it as 1 ms.
            Some(k) => (millis(k.interval).max(1), millis(k.timeout)),
            None => (0, 0),
        };
        Limits {
            max_frame_payload: c.max_frame_payload,
            max_message_size: c.max_message_size,
            keepalive_interval: interval,
            keepalive_timeout: timeout,
            close_timeout: millis(c.close_timeout),
            handshake_timeout: millis(c.handshake_timeout),
            max_handshake_head: u32::try_from(c.max_handshake_head).unwrap_or(u32::MAX),
            max_handshake_headers: c.max_handshake_headers.min(MAX_HANDSHAKE_HEADERS) as u8,
            auto_pong: c.auto_pong,
            whole_frame_limit: 0,
        }
    }
}

impl From<Limits> for Config {
    fn from(l: Limits) -> Self {
        let ms = |v: u32| Duration::from_millis(u64::from(v));
        Config {
            max_frame_payload: l.max_frame_payload,
            max_message_size: l.max_message_size,
            auto_pong: l.auto_pong,
            keepalive: (l.keepalive_interval > 0).then(|| Keepalive {
                interval: ms(l.keepalive_interval),
                timeout: ms(l.keepalive_timeout),
            }),
            close_timeout: ms(l.close_timeout),
            handshake_timeout: ms(l.handshake_timeout),
            max_handshake_head: l.max_handshake_head as usize,
            max_handshake_headers: usize::from(l.max_handshake_headers),
            deflate: None, // kept by the connection itself
        }
    }
}
