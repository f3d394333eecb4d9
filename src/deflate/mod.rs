//! permessage-deflate (RFC 7692): compressed messages.
//!
//! Browsers and Python's `websockets` offer permessage-deflate on every
//! connection. Set [`Config::deflate`](crate::Config::deflate) and, with the
//! `deflate` feature, a [`Connection`](crate::Connection) negotiates it in
//! its opening handshake (both roles), inflates compressed messages as they
//! arrive and compresses the messages it sends:
//!
//! ```
//! # #[cfg(feature = "deflate")] {
//! use wscore::deflate::DeflateConfig;
//! use wscore::handshake::ClientRequest;
//! use wscore::{Config, Connection};
//!
//! let config = Config { deflate: Some(DeflateConfig::default()), ..Config::default() };
//! let mut out = [0u8; 512];
//! let (_client, n) = Connection::client(config, &ClientRequest::new("example.com", "/"), &mut out)?;
//! let request = std::str::from_utf8(&out[..n]).unwrap();
//! assert!(request.contains("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"));
//! # }
//! # Ok::<(), wscore::Error>(())
//! ```
//!
//! Nothing changes for the application: `Event::Data` pieces are the
//! inflated bytes, `encode` compresses. What the extension does:
//!
//! * **Negotiation**: [`accept_offer`] (server) picks the first acceptable
//!   offer and [`check_answer`] (client) checks the server's choice against
//!   the offer, per RFC 7692 section 7.1; both are usable alone by an
//!   application that runs the handshake through another HTTP library.
//! * **Frames**: RSV1 marks the first frame of a compressed message; RSV1 on
//!   a continuation or control frame, or without the extension, fails the
//!   connection with 1002. The `00 00 ff ff` tail of each message is
//!   stripped on sending and restored on receiving.
//! * **Bounds**: `Config::max_message_size` applies to the inflated size,
//!   checked while inflating: a small message that inflates past it fails
//!   with 1009 without its output ever being held whole. Data comes out in
//!   pieces of at most [`DeflateConfig::inflate_buffer`] bytes, so a
//!   compressed message is received fragment by fragment like any other,
//!   and compressed text is checked as UTF-8 as it is inflated (1007 at the
//!   first bad byte). A corrupt compressed stream fails with 1007.
//!
//! # Memory
//!
//! The compression engine is `miniz_oxide` (safe Rust, `no_std` with
//! `alloc`). Its state has a fixed size whatever the window negotiated:
//! about 42 KiB to inflate (a 32 KiB window) and 312 KiB to compress
//! (measured: `tests/adversarial.rs`). Each is allocated the first time it is needed, not at the handshake: a
//! connection whose peer never compresses holds no inflate state, and a
//! [`DeflateConfig::level`] of 0 never allocates a compressor (messages go
//! out uncompressed, which RFC 7692 allows per message). Context takeover
//! costs no extra memory; without it, the compressor forgets its history
//! after every message (clearing its 128 KiB of hash tables).
//! [`inflate_buffer`](DeflateConfig::inflate_buffer) (16 KiB by default) is
//! added to the inflate side. The window sizes negotiated do not change
//! these figures: `miniz_oxide` has no smaller configuration (`zlib-rs`,
//! which has, needs `std` for its allocator, see the crate choice below).
//!
//! # Window sizes
//!
//! Every window size RFC 7692 allows (8 to 15 bits) is honoured. Inflating
//! always uses a 32 KiB window, which reads any peer's stream. When this
//! side must compress with a window under 32 KiB, its compressor forgets
//! its history (a full flush) every 2^bits bytes of input, so no
//! back-reference reaches further than the window; compression is weaker
//! and slower then, but never wrong. (Each full flush clears 128 KiB of
//! hash tables: at 8 bits, every 256 bytes. A peer that asks for a small
//! window pays for it only in the CPU this side spends on what it sends.) A test inflates the output for every
//! window size with zlib set to exactly that window, which refuses any
//! reference beyond it.
//!
//! # Why `miniz_oxide`
//!
//! Correctness first: it is safe Rust (`#![forbid(unsafe_code)]`), the
//! DEFLATE implementation behind `flate2`'s default backend, and its full
//! flush gives exact control over how far back references reach, which is
//! what honouring every window size needs. Then `no_std`: it needs only
//! `alloc`, so the feature works on embedded targets. `zlib-rs` (a port of
//! zlib-ng) compresses faster and sizes its memory by window, but its Rust
//! allocator requires `std`: it does not build for `thumbv7em-none-eabihf`.
//! The tests check `miniz_oxide`'s output against `zlib-rs` both ways.

mod negotiate;

#[cfg(feature = "deflate")]
pub(crate) mod codec;

pub use negotiate::{
    accept_offer, check_answer, offer, Accepted, ExtensionValue, NegotiationError,
};

/// The extension's name in `Sec-WebSocket-Extensions`.
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// How this side negotiates and uses permessage-deflate: its policy for the
/// handshake and its compressor settings. Role-neutral: "own" parameters
/// are `client_*` for a client and `server_*` for a server.
///
/// ```
/// use wscore::deflate::DeflateConfig;
///
/// // Compress harder, never below 256 bytes, and ask the peer not to keep
/// // context between messages.
/// let config = DeflateConfig {
///     level: 6,
///     min_size: 256,
///     peer_no_context_takeover: true,
///     ..DeflateConfig::default()
/// };
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeflateConfig {
    /// Compression level for the messages this side sends, 0 to 9 (higher
    /// values are taken as 9). 0 never compresses, and never allocates a
    /// compressor; the extension is still negotiated, so the peer may
    /// compress. Default 1 (fastest; JSON and text still shrink 3-5x).
    pub level: u8,
    /// Messages shorter than this are sent uncompressed (RFC 7692 allows
    /// it per message). Default 0: every message is compressed, as browsers
    /// and Python's `websockets` do, and as some peers expect.
    pub min_size: usize,
    /// The largest LZ77 window this side compresses with, 8 to 15 bits
    /// (clamped). Sent as the own `*_max_window_bits` when under 15. Default 15.
    pub max_window_bits: u8,
    /// Reset this side's compressor after every message (and say so in the
    /// handshake). Default `false`: later messages refer to earlier ones.
    pub no_context_takeover: bool,
    /// Ask the peer to reset its compressor after every message. Default
    /// `false`.
    pub peer_no_context_takeover: bool,
    /// Ask the peer to compress with a window of at most this many bits, 8
    /// to 15 (clamped; 15 asks nothing). Default 15.
    pub peer_max_window_bits: u8,
    /// The largest piece of inflated data one `Event::Data` carries, in
    /// bytes (at least 1 KiB). Default 16 KiB.
    pub inflate_buffer: usize,
}

impl DeflateConfig {
    /// The defaults, usable in `const` contexts.
    pub const DEFAULT: DeflateConfig = DeflateConfig {
        level: 1,
        min_size: 0,
        max_window_bits: 15,
        no_context_takeover: false,
        peer_no_context_takeover: false,
        peer_max_window_bits: 15,
        inflate_buffer: 16 * 1024,
    };
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig::DEFAULT
    }
}

/// The parameters both sides agreed on in the handshake, by their RFC 7692
/// names. A window of 15 bits is also what an absent `*_max_window_bits`
/// means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeflateParams {
    /// The server resets its compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message.
    pub client_no_context_takeover: bool,
    /// The server compresses with a window of at most this many bits.
    pub server_max_window_bits: u8,
    /// The client compresses with a window of at most this many bits.
    pub client_max_window_bits: u8,
}

impl Default for DeflateParams {
    /// No parameter: context takeover both ways, 32 KiB windows.
    fn default() -> Self {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }
}

/// The smallest and largest window sizes RFC 7692 allows, in bits.
const WINDOW_BITS: core::ops::RangeInclusive<u8> = 8..=15;

/// `bits` brought into 8..=15.
fn clamp_window(bits: u8) -> u8 {
    bits.clamp(*WINDOW_BITS.start(), *WINDOW_BITS.end())
}
