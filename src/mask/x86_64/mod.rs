//! The x86-64 kernels, and the choice among them.
//!
//! Each kernel's file has a zero-sized token type that only a support check
//! (or an `unsafe` promise) makes; its safe methods call the
//! `#[target_feature]` kernel. SSE2 is the x86-64 baseline (this module is
//! compiled only where it is enabled). With `std`, AVX2 and AVX-512 are
//! detected at run time, once, and the answer is cached in [`BEST`]; without
//! `std` a kernel exists only if its features are enabled at compile time,
//! because code for instructions the target does not enable may not even
//! compile for it (`x86_64-unknown-none` cannot have SSE2 code).
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

#[cfg(any(feature = "std", target_feature = "avx2"))]
pub(crate) mod avx2;
#[cfg(any(feature = "std", all(target_feature = "avx512f", target_feature = "avx512bw")))]
pub(crate) mod avx512;
pub(crate) mod sse2;

/// An x86-64 kernel, holding the token that proves the CPU supports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    Sse2(sse2::Sse2),
    #[cfg(any(feature = "std", target_feature = "avx2"))]
    Avx2(avx2::Avx2),
    #[cfg(any(feature = "std", all(target_feature = "avx512f", target_feature = "avx512bw")))]
    Avx512(avx512::Avx512),
}

impl Isa {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Isa::Sse2(_) => "sse2",
            #[cfg(any(feature = "std", target_feature = "avx2"))]
            Isa::Avx2(_) => "avx2",
            #[cfg(any(
                feature = "std",
                all(target_feature = "avx512f", target_feature = "avx512bw")
            ))]
            Isa::Avx512(_) => "avx512",
        }
    }

    /// Mask `buf` with a key already rotated to `buf[0]`'s phase.
    #[inline(always)]
    pub(crate) fn apply_mask(self, buf: &mut [u8], key: [u8; 4]) {
        match self {
            Isa::Sse2(token) => token.apply_mask(buf, key),
            #[cfg(any(feature = "std", target_feature = "avx2"))]
            Isa::Avx2(token) => token.apply_mask(buf, key),
            #[cfg(any(
                feature = "std",
                all(target_feature = "avx512f", target_feature = "avx512bw")
            ))]
            Isa::Avx512(token) => token.apply_mask(buf, key),
        }
    }

    /// `dst[..src.len()] = src ^ mask`, key rotated to `src[0]`'s phase.
    /// Panics if `dst` is shorter than `src`.
    #[inline(always)]
    pub(crate) fn copy_and_mask(self, dst: &mut [u8], src: &[u8], key: [u8; 4]) {
        match self {
            Isa::Sse2(token) => token.copy_and_mask(dst, src, key),
            #[cfg(any(feature = "std", target_feature = "avx2"))]
            Isa::Avx2(token) => token.copy_and_mask(dst, src, key),
            #[cfg(any(
                feature = "std",
                all(target_feature = "avx512f", target_feature = "avx512bw")
            ))]
            Isa::Avx512(token) => token.copy_and_mask(dst, src, key),
        }
    }
}

/// Every kernel the CPU supports, narrowest first.
pub(crate) fn available() -> [Option<Isa>; 3] {
    [
        Some(Isa::Sse2(sse2::Sse2::new())),
        #[cfg(any(feature = "std", target_feature = "avx2"))]
        avx2::Avx2::new().map(Isa::Avx2),
        #[cfg(not(any(feature = "std", target_feature = "avx2")))]
        None,
        #[cfg(any(feature = "std", all(target_feature = "avx512f", target_feature = "avx512bw")))]
        avx512::Avx512::new().map(Isa::Avx512),
        #[cfg(not(any(
            feature = "std",
            all(target_feature = "avx512f", target_feature = "avx512bw")
        )))]
        None,
    ]
}

/// The widest kernel the CPU supports: AVX-512, then AVX2, then SSE2.
fn detect() -> Isa {
    #[cfg(any(feature = "std", all(target_feature = "avx512f", target_feature = "avx512bw")))]
    if let Some(token) = avx512::Avx512::new() {
        return Isa::Avx512(token);
    }
    #[cfg(any(feature = "std", target_feature = "avx2"))]
    if let Some(token) = avx2::Avx2::new() {
        return Isa::Avx2(token);
    }
    Isa::Sse2(sse2::Sse2::new())
}

/// The widest kernel the CPU supports. Without `std`, a constant.
#[cfg(not(feature = "std"))]
#[inline(always)]
pub(crate) fn best() -> Isa {
    detect()
}

/// The cached result of [`detect`]: one of the constants below.
#[cfg(feature = "std")]
static BEST: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(UNKNOWN);

#[cfg(feature = "std")]
const UNKNOWN: u8 = 0;
#[cfg(feature = "std")]
const SSE2: u8 = 1;
#[cfg(feature = "std")]
const AVX2: u8 = 2;
#[cfg(feature = "std")]
const AVX512: u8 = 3;

/// The widest kernel the CPU supports: one relaxed atomic load after the
/// first call. (Threads racing on the first call each detect and store the
/// same answer; the byte guards no other data, so `Relaxed` is enough.)
#[cfg(feature = "std")]
#[inline(always)]
pub(crate) fn best() -> Isa {
    use core::sync::atomic::Ordering::Relaxed;
    match BEST.load(Relaxed) {
        // SAFETY: `BEST` holds AVX512 only after `detect` made an AVX-512
        // token, that is after `Avx512::new` found the CPU supports it.
        AVX512 => Isa::Avx512(unsafe { avx512::Avx512::new_unchecked() }),
        // SAFETY: likewise, after `Avx2::new` found AVX2.
        AVX2 => Isa::Avx2(unsafe { avx2::Avx2::new_unchecked() }),
        SSE2 => Isa::Sse2(sse2::Sse2::new()),
        _ => detect_and_cache(),
    }
}

#[cfg(feature = "std")]
#[cold]
#[inline(never)]
fn detect_and_cache() -> Isa {
    let isa = detect();
    let code = match isa {
        Isa::Sse2(_) => SSE2,
        Isa::Avx2(_) => AVX2,
        Isa::Avx512(_) => AVX512,
    };
    BEST.store(code, core::sync::atomic::Ordering::Relaxed);
    isa
}
