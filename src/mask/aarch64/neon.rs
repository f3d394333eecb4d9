//! The NEON kernel: 16-byte vectors, four per step of the body.
//!
//! Shape (see the [module docs](crate::mask)): pieces under 16 bytes go to
//! the portable short path; longer ones load their first and last vectors,
//! mask the body from the first 16-byte-aligned address, then store the
//! first and last vectors.
//!
//! NEON is enabled at compile time wherever this module is compiled (see
//! `aarch64/mod.rs`), so the safe wrappers need no token or detection: the
//! check was made by `cfg`. Vectors are loaded and stored as bytes
//! (`vld1q_u8`), so the kernel is the same on big-endian aarch64.

use core::arch::aarch64::{uint8x16_t, veorq_u8, vld1q_u8, vst1q_u8};

use crate::mask::{portable, rotate_key};

/// Bytes per vector.
const V: usize = 16;
/// Vectors per step of the body.
const UNROLL: usize = 4;

/// Mask `buf` with a key already rotated to `buf[0]`'s phase.
#[inline(always)]
pub(crate) fn apply_mask(buf: &mut [u8], key: [u8; 4]) {
    const { assert!(cfg!(target_feature = "neon")) };
    // SAFETY: NEON is enabled for the whole build (this module's cfg).
    unsafe { apply_mask_unchecked(buf, key) }
}

/// `dst[..src.len()] = src ^ mask`, key rotated to `src[0]`'s phase.
/// Panics if `dst` is shorter than `src`.
#[inline(always)]
pub(crate) fn copy_and_mask(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    const { assert!(cfg!(target_feature = "neon")) };
    // SAFETY: NEON is enabled for the whole build (this module's cfg).
    unsafe { copy_and_mask_unchecked(dst, src, key) }
}

/// The key, starting at `key[0]`, in every 4-byte lane.
#[inline]
#[target_feature(enable = "neon")]
fn splat(key: [u8; 4]) -> uint8x16_t {
    let bytes: [u8; V] = core::array::from_fn(|i| key[i % 4]);
    // SAFETY: `bytes` holds the 16 bytes read.
    unsafe { vld1q_u8(bytes.as_ptr()) }
}

/// Mask `buf` with a key already rotated to `buf[0]`'s phase.
///
/// # Safety
///
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn apply_mask_unchecked(buf: &mut [u8], key: [u8; 4]) {
    let len = buf.len();
    if len < V {
        return portable::apply_mask_short(buf, key);
    }
    let p = buf.as_mut_ptr();
    // SAFETY: `len >= V`, so `[0, V)` and `[len - V, len)` are inside `buf`;
    // `vld1q_u8` takes any alignment. They are read before anything is
    // written.
    let (head, tail) = unsafe { (vld1q_u8(p), vld1q_u8(p.add(len - V))) };
    // The body: from the first aligned address (1..=V bytes in, the head
    // covers what is before) while a whole vector is left (the tail covers
    // what is after). `i <= V <= len` throughout, so `len - i` cannot wrap.
    let mut i = V - p.addr() % V;
    let k = splat(rotate_key(key, i));
    while len - i >= UNROLL * V {
        // SAFETY: `i + UNROLL * V <= len`: the four vectors are inside `buf`.
        unsafe {
            let at = p.add(i);
            let a = vld1q_u8(at);
            let b = vld1q_u8(at.add(V));
            let c = vld1q_u8(at.add(2 * V));
            let d = vld1q_u8(at.add(3 * V));
            vst1q_u8(at, veorq_u8(a, k));
            vst1q_u8(at.add(V), veorq_u8(b, k));
            vst1q_u8(at.add(2 * V), veorq_u8(c, k));
            vst1q_u8(at.add(3 * V), veorq_u8(d, k));
        }
        i += UNROLL * V;
    }
    while len - i >= V {
        // SAFETY: `i + V <= len`.
        unsafe {
            let at = p.add(i);
            vst1q_u8(at, veorq_u8(vld1q_u8(at), k));
        }
        i += V;
    }
    // The ends last: their overlap with the body gets the same bytes again,
    // computed from the data as it was before the body ran.
    let head = veorq_u8(head, splat(key));
    let tail = veorq_u8(tail, splat(rotate_key(key, len - V)));
    // SAFETY: the same two in-bounds vectors as loaded above.
    unsafe {
        vst1q_u8(p, head);
        vst1q_u8(p.add(len - V), tail);
    }
}

/// `dst[..src.len()] = src ^ mask`, with the key rotated to `src[0]`'s phase.
/// Panics if `dst` is shorter than `src`.
///
/// # Safety
///
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn copy_and_mask_unchecked(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    let len = src.len();
    let dst = &mut dst[..len];
    if len < V {
        return portable::copy_and_mask_short(dst, src, key);
    }
    let (d, s) = (dst.as_mut_ptr(), src.as_ptr());
    // The source does not change, so the ends go first.
    // SAFETY: `dst` and `src` both hold `len >= V` bytes, so the first and
    // last vectors are inside both; NEON loads and stores take any alignment.
    unsafe {
        vst1q_u8(d, veorq_u8(vld1q_u8(s), splat(key)));
        let tail = veorq_u8(vld1q_u8(s.add(len - V)), splat(rotate_key(key, len - V)));
        vst1q_u8(d.add(len - V), tail);
    }
    // The body is aligned on the destination.
    let mut i = V - d.addr() % V;
    let k = splat(rotate_key(key, i));
    while len - i >= UNROLL * V {
        // SAFETY: `i + UNROLL * V <= len` for both slices.
        unsafe {
            let (to, from) = (d.add(i), s.add(i));
            let a = vld1q_u8(from);
            let b = vld1q_u8(from.add(V));
            let c = vld1q_u8(from.add(2 * V));
            let e = vld1q_u8(from.add(3 * V));
            vst1q_u8(to, veorq_u8(a, k));
            vst1q_u8(to.add(V), veorq_u8(b, k));
            vst1q_u8(to.add(2 * V), veorq_u8(c, k));
            vst1q_u8(to.add(3 * V), veorq_u8(e, k));
        }
        i += UNROLL * V;
    }
    while len - i >= V {
        // SAFETY: `i + V <= len` for both slices.
        unsafe { vst1q_u8(d.add(i), veorq_u8(vld1q_u8(s.add(i)), k)) }
        i += V;
    }
}
