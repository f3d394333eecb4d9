//! wscore: a Sans-IO WebSocket protocol core (crate docs written with the core).
#![no_std]
#![deny(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod handshake;
