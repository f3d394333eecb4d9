//! The AVX2 kernel: 32-byte vectors, four per step of the body.
//!
//! Shape (see the [module docs](crate::mask)): pieces under 32 bytes go to
//! the portable short path; longer ones load their first and last vectors,
//! mask the body from the first 32-byte-aligned address, then store the
//! first and last vectors.

use core::arch::x86_64::{
    __m256i, _mm256_loadu_si256, _mm256_set1_epi32, _mm256_storeu_si256, _mm256_xor_si256,
};

use crate::mask::{portable, rotate_key};

/// Bytes per vector.
const V: usize = 32;
/// Vectors per step of the body.
const UNROLL: usize = 4;

/// Proof that the CPU supports AVX2: only [`Avx2::new`], which checks, and
/// [`Avx2::new_unchecked`] make one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Avx2(());

impl Avx2 {
    /// A token if the CPU supports AVX2: detected at run time with `std`,
    /// from the compile-time target features without.
    #[inline]
    pub(crate) fn new() -> Option<Self> {
        #[cfg(feature = "std")]
        let supported = std::is_x86_feature_detected!("avx2");
        #[cfg(not(feature = "std"))]
        let supported = cfg!(target_feature = "avx2");
        // SAFETY: support was just checked.
        supported.then(|| unsafe { Self::new_unchecked() })
    }

    /// A token without a check.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX2.
    #[inline(always)]
    pub(crate) const unsafe fn new_unchecked() -> Self {
        Self(())
    }

    /// Mask `buf` with a key already rotated to `buf[0]`'s phase.
    #[inline(always)]
    pub(crate) fn apply_mask(self, buf: &mut [u8], key: [u8; 4]) {
        // SAFETY: the token proves the CPU supports AVX2.
        unsafe { apply_mask_unchecked(buf, key) }
    }

    /// `dst[..src.len()] = src ^ mask`, key rotated to `src[0]`'s phase.
    /// Panics if `dst` is shorter than `src`.
    #[inline(always)]
    pub(crate) fn copy_and_mask(self, dst: &mut [u8], src: &[u8], key: [u8; 4]) {
        // SAFETY: the token proves the CPU supports AVX2.
        unsafe { copy_and_mask_unchecked(dst, src, key) }
    }
}

/// The key, starting at `key[0]`, in every 4-byte lane.
#[inline]
#[target_feature(enable = "avx2")]
fn splat(key: [u8; 4]) -> __m256i {
    _mm256_set1_epi32(i32::from_ne_bytes(key))
}

/// Mask `buf` with a key already rotated to `buf[0]`'s phase.
///
/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn apply_mask_unchecked(buf: &mut [u8], key: [u8; 4]) {
    let len = buf.len();
    if len < V {
        return portable::apply_mask_short(buf, key);
    }
    let p = buf.as_mut_ptr();
    // SAFETY: `len >= V`, so `[0, V)` and `[len - V, len)` are inside `buf`;
    // `loadu` takes any alignment. They are read before anything is written.
    let (head, tail) =
        unsafe { (_mm256_loadu_si256(p.cast()), _mm256_loadu_si256(p.add(len - V).cast())) };
    // The body: from the first aligned address (1..=V bytes in, the head
    // covers what is before) while a whole vector is left (the tail covers
    // what is after). `i <= V <= len` throughout, so `len - i` cannot wrap.
    let mut i = V - p.addr() % V;
    let k = splat(rotate_key(key, i));
    while len - i >= UNROLL * V {
        // SAFETY: `i + UNROLL * V <= len`: the four vectors are inside `buf`.
        unsafe {
            let at = p.add(i);
            let a = _mm256_loadu_si256(at.cast());
            let b = _mm256_loadu_si256(at.add(V).cast());
            let c = _mm256_loadu_si256(at.add(2 * V).cast());
            let d = _mm256_loadu_si256(at.add(3 * V).cast());
            _mm256_storeu_si256(at.cast(), _mm256_xor_si256(a, k));
            _mm256_storeu_si256(at.add(V).cast(), _mm256_xor_si256(b, k));
            _mm256_storeu_si256(at.add(2 * V).cast(), _mm256_xor_si256(c, k));
            _mm256_storeu_si256(at.add(3 * V).cast(), _mm256_xor_si256(d, k));
        }
        i += UNROLL * V;
    }
    while len - i >= V {
        // SAFETY: `i + V <= len`.
        unsafe {
            let at = p.add(i);
            _mm256_storeu_si256(at.cast(), _mm256_xor_si256(_mm256_loadu_si256(at.cast()), k));
        }
        i += V;
    }
    // The ends last: their overlap with the body gets the same bytes again,
    // computed from the data as it was before the body ran.
    let head = _mm256_xor_si256(head, splat(key));
    let tail = _mm256_xor_si256(tail, splat(rotate_key(key, len - V)));
    // SAFETY: the same two in-bounds vectors as loaded above.
    unsafe {
        _mm256_storeu_si256(p.cast(), head);
        _mm256_storeu_si256(p.add(len - V).cast(), tail);
    }
}

/// `dst[..src.len()] = src ^ mask`, with the key rotated to `src[0]`'s phase.
/// Panics if `dst` is shorter than `src`.
///
/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
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
        let head = _mm256_loadu_si256(s.cast());
        let tail = _mm256_loadu_si256(s.add(len - V).cast());
        _mm256_storeu_si256(d.cast(), _mm256_xor_si256(head, splat(key)));
        let tail = _mm256_xor_si256(tail, splat(rotate_key(key, len - V)));
        _mm256_storeu_si256(d.add(len - V).cast(), tail);
    }
    // The body is aligned on the destination: a split store costs more than
    // a split load.
    let mut i = V - d.addr() % V;
    let k = splat(rotate_key(key, i));
    while len - i >= UNROLL * V {
        // SAFETY: `i + UNROLL * V <= len` for both slices.
        unsafe {
            let (to, from) = (d.add(i), s.add(i));
            let a = _mm256_loadu_si256(from.cast());
            let b = _mm256_loadu_si256(from.add(V).cast());
            let c = _mm256_loadu_si256(from.add(2 * V).cast());
            let e = _mm256_loadu_si256(from.add(3 * V).cast());
            _mm256_storeu_si256(to.cast(), _mm256_xor_si256(a, k));
            _mm256_storeu_si256(to.add(V).cast(), _mm256_xor_si256(b, k));
            _mm256_storeu_si256(to.add(2 * V).cast(), _mm256_xor_si256(c, k));
            _mm256_storeu_si256(to.add(3 * V).cast(), _mm256_xor_si256(e, k));
        }
        i += UNROLL * V;
    }
    while len - i >= V {
        // SAFETY: `i + V <= len` for both slices.
        unsafe {
            let x = _mm256_loadu_si256(s.add(i).cast());
            _mm256_storeu_si256(d.add(i).cast(), _mm256_xor_si256(x, k));
        }
        i += V;
    }
}
