//! A Sans-IO WebSocket (RFC 6455) protocol core: `no_std`, zero-copy, and no
//! allocation on the hot path. It never touches a socket, a clock or the
//! heap; you hand it bytes and the time, it hands back events and bytes.
//!
//! ```
//! use wscore::{Config, Connection, Decoded, Event, Instant, Outgoing, Role};
//!
//! let mut conn = Connection::new(Role::Server, Config::default()); // handshake done
//! let mut input = vec![0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
//! let mut out = [0u8; 1024];
//! let mut to_send = Vec::new();
//! loop {
//!     // Unmasks in place; lends the event and the sending half side by side.
//!     let Decoded { consumed, event, mut sender, .. } = conn.read(&mut input, Instant(0))?;
//!     match event {
//!         Some(Event::Data { kind, payload, fin: true }) => {
//!             // An echo: the payload goes back with no copy first.
//!             let n = sender.encode(Outgoing::Fragment { kind, payload, fin: true }, &mut out)?;
//!             to_send.extend_from_slice(&out[..n]);
//!         }
//!         Some(_) => {}      // pieces of larger messages, Ping, Pong, Close
//!         None => {          // need more bytes from the transport; what was
//!             input.drain(..consumed); // consumed (a header, say) is still used up
//!             break;
//!         }
//!     }
//!     input.drain(..consumed);
//! }
//! while let Some(n) = conn.poll_transmit(&mut out)? { // Pongs, Close replies
//!     to_send.extend_from_slice(&out[..n]);
//! }
//! assert_eq!(to_send, b"\x81\x05Hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layers
//!
//! | module | job |
//! |---|---|
//! | [`frame`] | frame header parse and encode, stateless |
//! | [`mask`] | the masking kernel, in place and fused with a copy |
//! | [`utf8`] | incremental UTF-8 validation, failing at the first bad byte |
//! | [`close`] | close codes and the Close payload |
//! | [`handshake`] | the opening handshake, usable alone (for hyper or h2 users) |
//! | [`Connection`] | the state machine: fragments, control frames, closing, timers |
//! | [`deflate`] | permessage-deflate (RFC 7692): negotiation, and compression with feature `deflate` |
//! | [`prepared`] | a server's message framed (and compressed) once, sent by many connections |
//! | [`session`] | the connection with its buffers: whole messages, corking, backpressure (feature `alloc`) |
//! | [`rng`] | mask keys from a per-connection ChaCha stream |
//! | [`url`] | `ws://` / `wss://` URLs |
//! | [`blocking`] | a driver over blocking `Read + Write` streams, on the session (feature `std`) |
//! | `tokio` | an async driver on tokio, on the session (feature `tokio`) |
//!
//! # Driving a connection
//!
//! * **Input**: append bytes from the transport to a buffer and call
//!   [`Connection::read`] until it returns no event; drop the `consumed`
//!   bytes each time, *with or without an event* (a frame header or part of
//!   a control frame may be used up without one). At end of file call
//!   [`Connection::read_eof`].
//! * **Output**: [`Connection::encode`] writes what the application sends,
//!   or [`Decoded::sender`]'s [`Sender::encode`] while an event is held;
//!   after every `read`, `handle_timeout` and `read_eof`, drain
//!   [`Connection::poll_transmit`] (Pongs, the Close reply, keepalive Pings).
//! * **Whole frames**: with [`Connection::set_whole_frame_limit`], frames up
//!   to that size wait until they are all in the input ([`Decoded::needed`]
//!   says how many bytes) and arrive as one piece.
//! * **Time**: sleep or wait for input at most until
//!   [`Connection::poll_timeout`], then call [`Connection::handle_timeout`].
//! * **Closing**: once [`Connection::close_expected`] is true, close the
//!   transport.
//! * **Broadcast**: a server frames a message once ([`prepared::Prepared`])
//!   and [`Sender::send_prepared`] gives each connection the shared bytes
//!   to write.
//!
//! Peer errors do not panic or abort: they fail the connection with the
//! close code RFC 6455 assigns (1002, 1007, 1009), queue that Close, and
//! come back as [`Error::Protocol`].
//!
//! A transport that would rather not keep buffers itself uses
//! [`session::Session`], which does all of the above around a read buffer
//! and a write buffer; the drivers are built on it.
//!
//! # Features
//!
//! * `std` (default): [`Connection::new`] seeds client mask keys from the OS
//!   (`getrandom`). Implies `alloc`.
//! * `alloc`: [`session::Session`], a connection with its buffers for
//!   transport authors (the drivers' layer): whole messages in
//!   [`bytes::Bytes`].
//! * Without either, the crate is `no_std` with no allocator: seed client
//!   keys with [`Connection::with_seed`] from a hardware RNG.
//!
//! # Limits
//!
//! Every limit is a [`Config`] field: frame payload (16 MiB), message size
//! (64 MiB), control payloads (125 bytes, fixed by the RFC), the closing
//! handshake (5 s). A [`Connection`] holds its state inline, 536 bytes at
//! most, whatever the peer sends; permessage-deflate's, when negotiated, is
//! allocated once per connection (see [`deflate`]).
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(feature = "std")]
pub mod blocking;
pub mod close;
mod config;
mod connection;
pub mod deflate;
#[cfg(feature = "std")]
pub mod driver;
mod error;
mod event;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod prepared;
pub mod rng;
#[cfg(feature = "alloc")]
pub mod session;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod url;
pub mod utf8;

pub use close::{CloseCode, CloseFrame};
pub use config::{Config, Instant, Keepalive, Role, MAX_HANDSHAKE_HEADERS};
pub use connection::{Connection, Decoded, EncodedHeader, Outgoing, Sender, State};
pub use error::{BufferTooSmall, Error, ProtocolError};
pub use event::{DataKind, Event};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
