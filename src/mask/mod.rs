//! The masking kernel (RFC 6455 section 5.3).
//!
//! Every byte of a masked payload is XORed with `key[(i + phase) % 4]`, where
//! `i` counts bytes from the start of the frame payload. Payloads reach us in
//! pieces, so each call takes the *phase*: how many payload bytes of this frame
//! came before the piece (only its value modulo 4 matters). Feeding a payload
//! in any number of pieces, each with the running phase, gives the same bytes
//! as masking it whole.
//!
//! Masking is an involution: applying the same key and phase twice restores the
//! input, so one function serves both senders and receivers.
//!
//! # Design
//!
//! This module is the crate's hot kernel. [`apply_mask`] and [`copy_and_mask`]
//! rotate the key to the piece's phase, so that the kernel always starts at
//! `key[0]`, and hand the piece to the best kernel this build and this CPU
//! have. The kernels live one file per instruction set:
//!
//! | file | kernel | chosen when |
//! |---|---|---|
//! | `portable.rs` | safe Rust, 32 bytes per step | no other applies; always under Miri |
//! | `x86_64/sse2.rs` | 16-byte SSE2 vectors | x86-64 baseline |
//! | `x86_64/avx2.rs` | 32-byte AVX2 vectors | the CPU has AVX2 |
//! | `x86_64/avx512.rs` | 64-byte AVX-512 vectors, masked short tails | the CPU has AVX-512F and AVX-512BW |
//! | `aarch64/neon.rs` | 16-byte NEON vectors | aarch64 baseline |
//!
//! On x86-64 with the `std` feature the choice is made at run time, once:
//! the first call detects the CPU's features and caches the answer in an
//! atomic byte, and every later call reads that byte and calls the kernel
//! directly. Without `std` the choice is made at compile time from the
//! enabled target features (`-C target-cpu` or `-C target-feature`); SSE2 is
//! the x86-64 baseline, and a target without it (such as
//! `x86_64-unknown-none`) gets the portable kernel. NEON is the aarch64
//! baseline. Under Miri the portable kernel is always used: Miri checks the
//! logic, and the tests and the fuzzer compare every vector kernel with
//! [`reference`](mod@reference).
//!
//! Every kernel has the same shape, with no byte loop before the body and no
//! penalty for a start that is not aligned:
//!
//! * a piece shorter than one vector is masked with two overlapping reads
//!   and writes of the widest word that fits (16, 8 or 4 bytes; single bytes
//!   below 4), or on AVX-512 with one masked load and one masked store;
//! * otherwise the first and the last vector of the piece are loaded first;
//!   the body runs from the first vector-aligned address, four vectors per
//!   step, so no load or store of the body splits a cache line; then the
//!   first and last vectors are XORed with the key rotated to their phase
//!   and stored. They overlap the body, but were loaded before the body
//!   changed any byte, so each byte is masked exactly once. (The fused copy
//!   aligns the body on the destination; its source is read unaligned.)
//!
//! `unsafe` code exists only in the per-instruction-set files. Each
//! `#[target_feature]` kernel is reached through a zero-sized token that is
//! made only after the CPU check (AVX2, AVX-512), or from a module compiled
//! only where its instructions are enabled at compile time (SSE2, NEON).

#[doc(hidden)]
pub mod kernels;
mod portable;
#[cfg(test)]
mod tests;

#[cfg(all(target_arch = "x86_64", target_feature = "sse2", not(miri)))]
#[allow(unsafe_code)]
mod x86_64;

#[cfg(all(target_arch = "aarch64", target_feature = "neon", not(miri)))]
#[allow(unsafe_code)]
mod aarch64;

/// XOR `buf` in place with the mask `key`, starting at `phase` bytes into the
/// mask (`phase` counts payload bytes already processed; only `phase % 4`
/// matters).
///
/// Returns the phase for the next piece of the same payload,
/// `(phase + buf.len()) % 4` (computed without overflow).
///
/// ```
/// // RFC 6455 section 5.7: "Hello" masked with 37 fa 21 3d.
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut payload = *b"Hello";
/// wscore::mask::apply_mask(&mut payload, key, 0);
/// assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// // In two pieces, continuing the phase:
/// let mut again = *b"Hello";
/// let (a, b) = again.split_at_mut(3);
/// let phase = wscore::mask::apply_mask(a, key, 0);
/// wscore::mask::apply_mask(b, key, phase);
/// assert_eq!(again, payload);
/// ```
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], phase: usize) -> usize {
    kernels::selected().apply_mask(buf, key, phase)
}

/// Copy `src` into the front of `dst` while masking it: one pass over the data,
/// as a client does when it writes a payload into its output buffer.
///
/// Returns the next phase, as [`apply_mask`] does. Bytes of `dst` past
/// `src.len()` are left as they were.
///
/// # Panics
///
/// If `dst` is shorter than `src`. (The connection checks sizes before it
/// calls this, and reports a too-small buffer as an error.)
#[inline]
pub fn copy_and_mask(dst: &mut [u8], src: &[u8], key: [u8; 4], phase: usize) -> usize {
    kernels::selected().copy_and_mask(dst, src, key, phase)
}

/// The key as it applies from byte 0 of a piece that starts `phase` bytes into
/// the payload.
#[inline(always)]
fn rotate_key(key: [u8; 4], phase: usize) -> [u8; 4] {
    let word = u32::from_le_bytes(key);
    word.rotate_right(8 * (phase as u32 & 3)).to_le_bytes()
}

/// The one-byte loop: the specification of masking, and the oracle every
/// faster path is tested against.
pub mod reference {
    /// Mask `buf` in place one byte at a time. Same contract as
    /// [`apply_mask`](super::apply_mask).
    pub fn apply_mask(buf: &mut [u8], key: [u8; 4], phase: usize) -> usize {
        for (i, byte) in buf.iter_mut().enumerate() {
            *byte ^= key[phase.wrapping_add(i) & 3];
        }
        phase.wrapping_add(buf.len()) & 3
    }
}
