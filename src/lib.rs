//! wscore: a Sans-IO WebSocket protocol core (crate docs written with the core).
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod close;
mod config;
mod connection;
mod error;
mod event;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod rng;
pub mod utf8;

pub use close::{CloseCode, CloseFrame};
pub use config::{Config, Instant, Keepalive, Role};
pub use connection::{Connection, Decoded, EncodedHeader, Outgoing, PayloadMasker, State};
pub use error::{BufferTooSmall, Error, ProtocolError};
pub use event::{DataKind, Event};
