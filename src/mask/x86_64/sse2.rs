//! The SSE2 kernel: 16-byte vectors, four per step of the body. SSE2 is the
//! x86-64 baseline, so this is the kernel of CPUs without AVX2.
//!
//! Shape (see the [module docs](crate::mask)): pieces under 16 bytes go to
//! the portable short path; longer ones load their first and last vectors,
//! mask the body from the first 16-byte-aligned address, then store the
//! first and last vectors.

use core::arch::x86_64::{
    __m128i, _mm_loadu_si128, _mm_set1_epi32, _mm_storeu_si128, _mm_xor_si128,
};

use crate::mask::{portable, rotate_key};

/// Bytes per vector.
const V: usize = 16;
/// Vectors per step of the body.
const UNROLL: usize = 4;

/// Proof that the CPU supports SSE2. This module is compiled only where SSE2
/// is enabled at compile time (the x86-64 baseline), so [`Sse2::new`] always
/// succeeds: the check was made by `cfg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sse2(());

impl Sse2 {
    /// The token: SSE2 is enabled for the whole build (see `x86_64/mod.rs`).
    #[inline(always)]
    pub(crate) const fn new() -> Self {
        const { assert!(cfg!(target_feature = "sse2")) };
        Self(())
    }

    /// Mask `buf` with a key already rotated to `buf[0]`'s phase.
    #[inline(always)]
    pub(crate) fn apply_mask(self, buf: &mut [u8], key: [u8; 4]) {
        // SAFETY: the token proves the CPU supports SSE2.
        unsafe { apply_mask_unchecked(buf, key) }
    }

    /// `dst[..src.len()] = src ^ mask`, key rotated to `src[0]`'s phase.
    /// Panics if `dst` is shorter than `src`.
    #[inline(always)]
    pub(crate) fn copy_and_mask(self, dst: &mut [u8], src: &[u8], key: [u8; 4]) {
        // SAFETY: the token proves the CPU supports SSE2.
        unsafe { copy_and_mask_unchecked(dst, src, key) }
    }
}

/// The key, starting at `key[0]`, in every 4-byte lane.
#[inline]
#[target_feature(enable = "sse2")]
fn splat(key: [u8; 4]) -> __m128i {
    _mm_set1_epi32(i32::from_ne_bytes(key))
}

/// Mask `buf` with a key already rotated to `buf[0]`'s phase.
///
/// # Safety
///
/// The CPU must support SSE2.
#[target_feature(enable = "sse2")]
pub(crate) unsafe fn apply_mask_unchecked(buf: &mut [u8], key: [u8; 4]) {
    let len = buf.len();
    if len < V {
        return portable::apply_mask_short(buf, key);
    }
    let p = buf.as_mut_ptr();
    // SAFETY: `len >= V`, so `[0, V)` and `[len - V, len)` are inside `buf`;
    // `loadu` takes any alignment. They are read before anything is written.
    let (head, tail) =
        unsafe { (_mm_loadu_si128(p.cast()), _mm_loadu_si128(p.add(len - V).cast())) };
    // The body: from the first aligned address (1..=V bytes in, the head
    // covers what is before) while a whole vector is left (the tail covers
    // what is after). `i <= V <= len` throughout, so `len - i` cannot wrap.
    let mut i = V - p.addr() % V;
    let k = splat(rotate_key(key, i));
    while len - i >= UNROLL * V {
        // SAFETY: `i + UNROLL * V <= len`: the four vectors are inside `buf`.
        unsafe {
            let at = p.add(i);
            let a = _mm_loadu_si128(at.cast());
            let b = _mm_loadu_si128(at.add(V).cast());
            let c = _mm_loadu_si128(at.add(2 * V).cast());
            let d = _mm_loadu_si128(at.add(3 * V).cast());
            _mm_storeu_si128(at.cast(), _mm_xor_si128(a, k));
            _mm_storeu_si128(at.add(V).cast(), _mm_xor_si128(b, k));
            _mm_storeu_si128(at.add(2 * V).cast(), _mm_xor_si128(c, k));
            _mm_storeu_si128(at.add(3 * V).cast(), _mm_xor_si128(d, k));
        }
        i += UNROLL * V;
    }
    while len - i >= V {
        // SAFETY: `i + V <= len`.
        unsafe {
            let at = p.add(i);
            _mm_storeu_si128(at.cast(), _mm_xor_si128(_mm_loadu_si128(at.cast()), k));
        }
        i += V;
    }
    // The ends last: their overlap with the body gets the same bytes again,
    // computed from the data as it was before the body ran.
    let head = _mm_xor_si128(head, splat(key));
    let tail = _mm_xor_si128(tail, splat(rotate_key(key, len - V)));
    // SAFETY: the same two in-bounds vectors as loaded above.
    unsafe {
        _mm_storeu_si128(p.cast(), head);
        _mm_storeu_si128(p.add(len - V).cast(), tail);
    }
}

/// `dst[..src.len()] = src ^ mask`, with the key rotated to `src[0]`'s phase.
/// Panics if `dst` is shorter than `src`.
///
/// # Safety
///
/// The CPU must support SSE2.
#[target_feature(enable = "sse2")]
pub(crate) unsafe fn copy_and_mask_unchecked(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    let len = src.len();
    let dst = &mut dst[..len];
    if len < V {
        return portable::copy_and_mask_short(dst, src, key);
    }
    let (d, s) = (dst.as_mut_ptr(), src.as_ptr());
    // The source does not change, so the ends go first.
    // SAFETY: `dst` and `src` both hold `len >= V` bytes, so the first and
    // last vectors are inside both; `loadu`/`storeu` take any alignment.
    unsafe {
        let head = _mm_loadu_si128(s.cast());
        let tail = _mm_loadu_si128(s.add(len - V).cast());
        _mm_storeu_si128(d.cast(), _mm_xor_si128(head, splat(key)));
        let tail = _mm_xor_si128(tail, splat(rotate_key(key, len - V)));
        _mm_storeu_si128(d.add(len - V).cast(), tail);
    }
    // The body is aligned on the destination: a split store costs more than
    // a split load.
    let mut i = V - d.addr() % V;
    let k = splat(rotate_key(key, i));
    while len - i >= UNROLL * V {
        // SAFETY: `i + UNROLL * V <= len` for both slices.
        unsafe {
            let (to, from) = (d.add(i), s.add(i));
            let a = _mm_loadu_si128(from.cast());
            let b = _mm_loadu_si128(from.add(V).cast());
            let c = _mm_loadu_si128(from.add(2 * V).cast());
            let e = _mm_loadu_si128(from.add(3 * V).cast());
            _mm_storeu_si128(to.cast(), _mm_xor_si128(a, k));
            _mm_storeu_si128(to.add(V).cast(), _mm_xor_si128(b, k));
            _mm_storeu_si128(to.add(2 * V).cast(), _mm_xor_si128(c, k));
            _mm_storeu_si128(to.add(3 * V).cast(), _mm_xor_si128(e, k));
        }
        i += UNROLL * V;
    }
    while len - i >= V {
        // SAFETY: `i + V <= len` for both slices.
        unsafe {
            let x = _mm_loadu_si128(s.add(i).cast());
            _mm_storeu_si128(d.add(i).cast(), _mm_xor_si128(x, k));
        }
        i += V;
    }
}
