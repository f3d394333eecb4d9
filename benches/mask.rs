//! Masking throughput: the dispatched functions, every kernel this CPU can
//! run, and two physical limits: an in-place XOR of one byte compiled for
//! the widest vector extension available (the most an in-place kernel can
//! do), and `copy_from_slice` (memcpy, the most a fused copy can do).
//!
//! Sizes from a 16-byte message to a 4 MiB frame, each with the piece
//! starting 64-byte aligned (offset 0) and 1..=7 bytes past that. For copies,
//! both source and destination start at that offset. Small in-place pieces
//! rotate through a ring of buffers (see [`Ring`]). Throughput is in bytes
//! (decimal: GB/s).
//!
//! ```text
//! cargo bench --bench mask                                    # everything
//! cargo bench --bench mask -- --warm-up-time 1 --measurement-time 2
//! cargo bench --bench mask -- 'apply_mask/(1024|16384)/'      # a subset
//! ```
//!
//! Ids are `apply_mask/<size>/<kernel>/<offset>` and
//! `copy_and_mask/<size>/<kernel>/<offset>`, where `<kernel>` is
//! `dispatched`, `portable`, `sse2`, `avx2`, `avx512`, `neon`, or the limit
//! (`xor-<isa>` in place, `memcpy` for copies).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use wscore::mask::{self, kernels, reference};

const SIZES: [usize; 6] = [16, 125, 1 << 10, 16 << 10, 256 << 10, 4 << 20];
const OFFSETS: std::ops::RangeInclusive<usize> = 0..=7;
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A buffer with room for `len` bytes starting `offset` bytes past a
/// 64-byte boundary; returns it and the start index.
fn buffer(len: usize, offset: usize) -> (Vec<u8>, usize) {
    let storage: Vec<u8> = (0..len + 128).map(|i| (i * 31 + 7) as u8).collect();
    let start = (64 - storage.as_ptr().addr() % 64) % 64 + offset;
    (storage, start)
}

/// XOR every byte with one constant: the in-place limit, a loop the
/// compiler vectorises with whatever registers it may use.
#[inline(always)]
fn xor_plain(buf: &mut [u8], k: u8) {
    for byte in buf {
        *byte ^= k;
    }
}

/// The in-place limit for the widest vector extension this CPU has: its
/// name and the function.
#[cfg(target_arch = "x86_64")]
fn xor_limit() -> (&'static str, fn(&mut [u8], u8)) {
    #[target_feature(enable = "avx512f,avx512bw")]
    fn avx512(buf: &mut [u8], k: u8) {
        xor_plain(buf, k)
    }
    #[target_feature(enable = "avx2")]
    fn avx2(buf: &mut [u8], k: u8) {
        xor_plain(buf, k)
    }
    if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw") {
        // SAFETY: the CPU supports AVX-512F and AVX-512BW, just checked.
        return ("xor-avx512", |buf, k| unsafe { avx512(buf, k) });
    }
    if is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, just checked.
        return ("xor-avx2", |buf, k| unsafe { avx2(buf, k) });
    }
    ("xor-sse2", xor_plain)
}

/// The in-place limit with the target's baseline vectors.
#[cfg(not(target_arch = "x86_64"))]
fn xor_limit() -> (&'static str, fn(&mut [u8], u8)) {
    (if cfg!(target_arch = "aarch64") { "xor-neon" } else { "xor" }, xor_plain)
}

/// Every kernel gives the reference's bytes, so no broken kernel is timed.
fn sanity_check() {
    let (data, _) = buffer(4099, 0);
    let mut expected = data.clone();
    reference::apply_mask(&mut expected, KEY, 3);
    for kernel in kernels::available() {
        let mut buf = data.clone();
        kernel.apply_mask(&mut buf, KEY, 3);
        assert!(buf == expected, "{} disagrees with the reference", kernel.name());
        let mut out = vec![0; data.len()];
        kernel.copy_and_mask(&mut out, &data, KEY, 3);
        assert!(out == expected, "{} copy disagrees with the reference", kernel.name());
    }
}

/// For in-place masking of small pieces, a ring of pieces that the
/// iterations take in turn, each at the same `offset` past a 64-byte
/// boundary: masking one buffer over and over would time a chain of loads
/// waiting for the previous iteration's stores (store-to-load forwarding,
/// which a masked store does not do on some CPUs), not what a receiver
/// does with fresh data. Up to 64 pieces within 16 KiB (L1-resident);
/// large pieces get a ring of one.
struct Ring {
    storage: Vec<u8>,
    starts: Vec<usize>,
    next: usize,
    len: usize,
}

impl Ring {
    fn new(len: usize, offset: usize) -> Self {
        let count = ((16 << 10) / len).clamp(1, 64);
        let stride = (len + 64).next_multiple_of(64);
        let (storage, first) = buffer(count * stride, offset);
        let starts = (0..count).map(|i| first + i * stride).collect();
        Ring { storage, starts, next: 0, len }
    }

    #[inline(always)]
    fn next(&mut self) -> &mut [u8] {
        let start = self.starts[self.next];
        self.next = if self.next + 1 == self.starts.len() { 0 } else { self.next + 1 };
        &mut self.storage[start..start + self.len]
    }
}

fn in_place(c: &mut Criterion) {
    sanity_check();
    let (limit_name, limit) = xor_limit();
    for size in SIZES {
        let mut group = c.benchmark_group(format!("apply_mask/{size}"));
        group.throughput(Throughput::BytesDecimal(size as u64));
        for offset in OFFSETS {
            let mut ring = Ring::new(size, offset);
            group.bench_function(BenchmarkId::new("dispatched", offset), |b| {
                b.iter(|| mask::apply_mask(black_box(ring.next()), KEY, black_box(1)))
            });
            for kernel in kernels::available() {
                group.bench_function(BenchmarkId::new(kernel.name(), offset), |b| {
                    b.iter(|| kernel.apply_mask(black_box(ring.next()), KEY, black_box(1)))
                });
            }
            group.bench_function(BenchmarkId::new(limit_name, offset), |b| {
                b.iter(|| limit(black_box(ring.next()), black_box(0x5a)))
            });
        }
        group.finish();
    }
}

fn fused_copy(c: &mut Criterion) {
    for size in SIZES {
        let mut group = c.benchmark_group(format!("copy_and_mask/{size}"));
        group.throughput(Throughput::BytesDecimal(size as u64));
        for offset in OFFSETS {
            let (src_storage, src_start) = buffer(size, offset);
            let src = &src_storage[src_start..src_start + size];
            let (mut dst_storage, dst_start) = buffer(size, offset);
            let dst = &mut dst_storage[dst_start..dst_start + size];
            group.bench_function(BenchmarkId::new("dispatched", offset), |b| {
                b.iter(|| mask::copy_and_mask(black_box(&mut *dst), black_box(src), KEY, 1))
            });
            for kernel in kernels::available() {
                group.bench_function(BenchmarkId::new(kernel.name(), offset), |b| {
                    b.iter(|| kernel.copy_and_mask(black_box(&mut *dst), black_box(src), KEY, 1))
                });
            }
            group.bench_function(BenchmarkId::new("memcpy", offset), |b| {
                b.iter(|| black_box(&mut *dst).copy_from_slice(black_box(src)))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, in_place, fused_copy);
criterion_main!(benches);
