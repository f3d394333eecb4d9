//! The aarch64 kernel. NEON is the aarch64 baseline: this module is compiled
//! only where it is enabled at compile time, so there is nothing to detect.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

pub(crate) mod neon;
