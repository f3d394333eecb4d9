//! The AVX-512 kernel (AVX-512F and AVX-512BW): 64-byte vectors, four per
//! step of the body.
//!
//! Shape (see the [module docs](crate::mask)): a piece under 64 bytes is one
//! masked load and one masked store (AVX-512BW byte masks; masked-off bytes
//! are neither read nor written, so nothing outside the piece is touched);
//! longer ones load their first and last vectors, mask the body from the
//! first 64-byte-aligned address (no access then splits a cache line), then
//! store the first and last vectors.
//!
//! The intrinsics are stable since Rust 1.89.

use core::arch::x86_64::{
    __m512i, __mmask64, _mm512_loadu_si512, _mm512_mask_storeu_epi8, _mm512_maskz_loadu_epi8,
    _mm512_set1_epi32, _mm512_storeu_si512, _mm512_xor_si512,
};

use crate::mask::rotate_key;

/// Bytes per vector.
const V: usize = 64;
/// Vectors per step of the body.
const UNROLL: usize = 4;

/// Proof that the CPU supports AVX-512F and AVX-512BW: only [`Avx512::new`],
/// which checks, and [`Avx512::new_unchecked`] make one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Avx512(());

impl Avx512 {
    /// A token if the CPU supports AVX-512F and AVX-512BW: detected at run
    /// time with `std`, from the compile-time target features without.
    #[inline]
    pub(crate) fn new() -> Option<Self> {
        #[cfg(feature = "std")]
        let supported =
            std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw");
        #[cfg(not(feature = "std"))]
        let supported = cfg!(all(target_feature = "avx512f", target_feature = "avx512bw"));
        // SAFETY: support was just checked.
        supported.then(|| unsafe { Self::new_unchecked() })
    }

    /// A token without a check.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX-512F and AVX-512BW.
    #[inline(always)]
    pub(crate) const unsafe fn new_unchecked() -> Self {
        Self(())
    }

    /// Mask `buf` with a key already rotated to `buf[0]`'s phase.
    #[inline(always)]
    pub(crate) fn apply_mask(self, buf: &mut [u8], key: [u8; 4]) {
        // SAFETY: the token proves the CPU supports AVX-512F and AVX-512BW.
        unsafe { apply_mask_unchecked(buf, key) }
    }

    /// `dst[..src.len()] = src ^ mask`, key rotated to `src[0]`'s phase.
    /// Panics if `dst` is shorter than `src`.
    #[inline(always)]
    pub(crate) fn copy_and_mask(self, dst: &mut [u8], src: &[u8], key: [u8; 4]) {
        // SAFETY: the token proves the CPU supports AVX-512F and AVX-512BW.
        unsafe { copy_and_mask_unchecked(dst, src, key) }
    }
}

/// The key, starting at `key[0]`, in every 4-byte lane.
#[inline]
#[target_feature(enable = "avx512f")]
fn splat(key: [u8; 4]) -> __m512i {
    _mm512_set1_epi32(i32::from_ne_bytes(key))
}

/// The byte mask of the first `len` lanes, `len < 64`.
#[inline(always)]
fn first(len: usize) -> __mmask64 {
    debug_assert!(len < V);
    (1u64 << len) - 1
}

/// Mask `buf` with a key already rotated to `buf[0]`'s phase.
///
/// # Safety
///
/// The CPU must support AVX-512F and AVX-512BW.
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) unsafe fn apply_mask_unchecked(buf: &mut [u8], key: [u8; 4]) {
    let len = buf.len();
    let p = buf.as_mut_ptr();
    if len < V {
        if len == 0 {
            return;
        }
        let m = first(len);
        // SAFETY: the mask selects bytes `[0, len)`, all inside `buf`; the
        // masked-off bytes are not accessed (their faults are suppressed).
        unsafe {
            let x = _mm512_maskz_loadu_epi8(m, p.cast());
            _mm512_mask_storeu_epi8(p.cast(), m, _mm512_xor_si512(x, splat(key)));
        }
        return;
    }
    // SAFETY: `len >= V`, so `[0, V)` and `[len - V, len)` are inside `buf`;
    // `loadu` takes any alignment. They are read before anything is written.
    let (head, tail) =
        unsafe { (_mm512_loadu_si512(p.cast()), _mm512_loadu_si512(p.add(len - V).cast())) };
    // The body: from the first aligned address (1..=V bytes in, the head
    // covers what is before) while a whole vector is left (the tail covers
    // what is after). `i <= V <= len` throughout, so `len - i` cannot wrap.
    let mut i = V - p.addr() % V;
    let k = splat(rotate_key(key, i));
    while len - i >= UNROLL * V {
        // SAFETY: `i + UNROLL * V <= len`: the four vectors are inside `buf`.
        unsafe {
            let at = p.add(i);
            let a = _mm512_loadu_si512(at.cast());
            let b = _mm512_loadu_si512(at.add(V).cast());
            let c = _mm512_loadu_si512(at.add(2 * V).cast());
            let d = _mm512_loadu_si512(at.add(3 * V).cast());
            _mm512_storeu_si512(at.cast(), _mm512_xor_si512(a, k));
            _mm512_storeu_si512(at.add(V).cast(), _mm512_xor_si512(b, k));
            _mm512_storeu_si512(at.add(2 * V).cast(), _mm512_xor_si512(c, k));
            _mm512_storeu_si512(at.add(3 * V).cast(), _mm512_xor_si512(d, k));
        }
        i += UNROLL * V;
    }
    while len - i >= V {
        // SAFETY: `i + V <= len`.
        unsafe {
            let at = p.add(i);
            _mm512_storeu_si512(at.cast(), _mm512_xor_si512(_mm512_loadu_si512(at.cast()), k));
        }
        i += V;
    }
    // The ends last: their overlap with the body gets the same bytes again,
    // computed from the data as it was before the body ran.
    let head = _mm512_xor_si512(head, splat(key));
    let tail = _mm512_xor_si512(tail, splat(rotate_key(key, len - V)));
    // SAFETY: the same two in-bounds vectors as loaded above.
    unsafe {
        _mm512_storeu_si512(p.cast(), head);
        _mm512_storeu_si512(p.add(len - V).cast(), tail);
    }
}

/// `dst[..src.len()] = src ^ mask`, with the key rotated to `src[0]`'s phase.
/// Panics if `dst` is shorter than `src`.
///
/// # Safety
///
/// The CPU must support AVX-512F and AVX-512BW.
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) unsafe fn copy_and_mask_unchecked(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    let len = src.len();
    let dst = &mut dst[..len];
    let (d, s) = (dst.as_mut_ptr(), src.as_ptr());
    if len < V {
        if len == 0 {
            return;
        }
        let m = first(len);
        // SAFETY: the mask selects bytes `[0, len)`, inside both slices; the
        // masked-off bytes are not accessed (their faults are suppressed).
        unsafe {
            let x = _mm512_maskz_loadu_epi8(m, s.cast());
            _mm512_mask_storeu_epi8(d.cast(), m, _mm512_xor_si512(x, splat(key)));
        }
        return;
    }
    // The source does not change, so the ends go first.
    // SAFETY: `dst` and `src` both hold `len >= V` bytes, so the first and
    // last vectors are inside both; `loadu`/`storeu` take any alignment.
    unsafe {
        let head = _mm512_loadu_si512(s.cast());
        let tail = _mm512_loadu_si512(s.add(len - V).cast());
        _mm512_storeu_si512(d.cast(), _mm512_xor_si512(head, splat(key)));
        let tail = _mm512_xor_si512(tail, splat(rotate_key(key, len - V)));
        _mm512_storeu_si512(d.add(len - V).cast(), tail);
    }
    // The body is aligned on the destination: a split store costs more than
    // a split load.
    let mut i = V - d.addr() % V;
    let k = splat(rotate_key(key, i));
    while len - i >= UNROLL * V {
        // SAFETY: `i + UNROLL * V <= len` for both slices.
        unsafe {
            let (to, from) = (d.add(i), s.add(i));
            let a = _mm512_loadu_si512(from.cast());
            let b = _mm512_loadu_si512(from.add(V).cast());
            let c = _mm512_loadu_si512(from.add(2 * V).cast());
            let e = _mm512_loadu_si512(from.add(3 * V).cast());
            _mm512_storeu_si512(to.cast(), _mm512_xor_si512(a, k));
            _mm512_storeu_si512(to.add(V).cast(), _mm512_xor_si512(b, k));
            _mm512_storeu_si512(to.add(2 * V).cast(), _mm512_xor_si512(c, k));
            _mm512_storeu_si512(to.add(3 * V).cast(), _mm512_xor_si512(e, k));
        }
        i += UNROLL * V;
    }
    while len - i >= V {
        // SAFETY: `i + V <= len` for both slices.
        unsafe {
            let x = _mm512_loadu_si512(s.add(i).cast());
            _mm512_storeu_si512(d.add(i).cast(), _mm512_xor_si512(x, k));
        }
        i += V;
    }
}
