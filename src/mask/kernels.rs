//! Every masking kernel of this build, as values: the dispatcher picks one,
//! the tests and the benchmarks run each. Hidden from the documentation and
//! outside semver: the public API is [`apply_mask`](super::apply_mask) and
//! [`copy_and_mask`](super::copy_and_mask).

use super::{portable, rotate_key};

#[cfg(all(target_arch = "aarch64", target_feature = "neon", not(miri)))]
use super::aarch64::neon;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2", not(miri)))]
use super::x86_64;

/// A masking kernel that this CPU can run. Only [`portable`](fn@portable), [`selected`]
/// and [`available`] make one, so holding a `Kernel` means it is safe to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kernel(Imp);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Imp {
    Portable,
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2", not(miri)))]
    X86(x86_64::Isa),
    #[cfg(all(target_arch = "aarch64", target_feature = "neon", not(miri)))]
    Neon,
}

impl Kernel {
    /// `"portable"`, `"sse2"`, `"avx2"`, `"avx512"` or `"neon"`.
    pub fn name(self) -> &'static str {
        match self.0 {
            Imp::Portable => "portable",
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2", not(miri)))]
            Imp::X86(isa) => isa.name(),
            #[cfg(all(target_arch = "aarch64", target_feature = "neon", not(miri)))]
            Imp::Neon => "neon",
        }
    }

    /// [`apply_mask`](super::apply_mask) with this kernel.
    #[inline(always)]
    pub fn apply_mask(self, buf: &mut [u8], key: [u8; 4], phase: usize) -> usize {
        let key = rotate_key(key, phase);
        match self.0 {
            Imp::Portable => portable::apply_mask(buf, key),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2", not(miri)))]
            Imp::X86(isa) => isa.apply_mask(buf, key),
            #[cfg(all(target_arch = "aarch64", target_feature = "neon", not(miri)))]
            Imp::Neon => neon::apply_mask(buf, key),
        }
        phase.wrapping_add(buf.len()) & 3
    }

    /// [`copy_and_mask`](super::copy_and_mask) with this kernel.
    ///
    /// # Panics
    ///
    /// If `dst` is shorter than `src`.
    #[inline(always)]
    pub fn copy_and_mask(self, dst: &mut [u8], src: &[u8], key: [u8; 4], phase: usize) -> usize {
        let key = rotate_key(key, phase);
        match self.0 {
            Imp::Portable => portable::copy_and_mask(dst, src, key),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2", not(miri)))]
            Imp::X86(isa) => isa.copy_and_mask(dst, src, key),
            #[cfg(all(target_arch = "aarch64", target_feature = "neon", not(miri)))]
            Imp::Neon => neon::copy_and_mask(dst, src, key),
        }
        phase.wrapping_add(src.len()) & 3
    }
}

/// The portable kernel: safe Rust, on every target.
pub fn portable() -> Kernel {
    Kernel(Imp::Portable)
}

/// The kernel [`apply_mask`](super::apply_mask) uses: the widest this CPU
/// supports (detected once and cached, with `std` on x86-64), the portable
/// one where there is no vector kernel, and always the portable one under Miri.
#[inline(always)]
pub fn selected() -> Kernel {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2", not(miri)))]
    let imp = Imp::X86(x86_64::best());
    #[cfg(all(target_arch = "aarch64", target_feature = "neon", not(miri)))]
    let imp = Imp::Neon;
    #[cfg(not(any(
        all(target_arch = "x86_64", target_feature = "sse2", not(miri)),
        all(target_arch = "aarch64", target_feature = "neon", not(miri)),
    )))]
    let imp = Imp::Portable;
    Kernel(imp)
}

/// Every kernel this CPU can run, the portable one first and then from the
/// narrowest vectors to the widest; the last is the [`selected`] one.
pub fn available() -> impl Iterator<Item = Kernel> {
    #[allow(unused_mut)] // only portable on targets with no vector kernel
    let mut all = [Some(portable()), None, None, None];
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2", not(miri)))]
    for (slot, isa) in all[1..].iter_mut().zip(x86_64::available()) {
        *slot = isa.map(|isa| Kernel(Imp::X86(isa)));
    }
    #[cfg(all(target_arch = "aarch64", target_feature = "neon", not(miri)))]
    {
        all[1] = Some(Kernel(Imp::Neon));
    }
    all.into_iter().flatten()
}
