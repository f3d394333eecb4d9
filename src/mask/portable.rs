//! Portable masking: safe Rust, no target-specific code. It is the kernel on
//! targets without a vector kernel and under Miri, and its short-piece
//! functions finish the pieces shorter than one vector for the other kernels.
//!
//! The body works on 32-byte arrays as four 8-byte words, which LLVM turns
//! into the target's vectors (two SSE2 or NEON registers, one AVX2 register;
//! it unrolls the loop to 64 bytes a step on x86-64) or into word operations
//! elsewhere, with no bounds checks left in the loop. The algorithm is the one every kernel
//! uses (see the [module docs](super)): the first and last 32 bytes are read
//! before the body, which starts at the first 32-byte-aligned address, and
//! are written back masked at the end.

use super::rotate_key;

/// Bytes per step of the body.
const STEP: usize = 32;

/// Mask `buf` with a key already rotated to `buf[0]`'s phase.
#[inline]
pub(crate) fn apply_mask(buf: &mut [u8], key: [u8; 4]) {
    let len = buf.len();
    if len < STEP {
        return apply_mask_short(buf, key);
    }
    // Read before the body changes any of their bytes; written last.
    let head: [u8; STEP] = read(&buf[..STEP]);
    let tail: [u8; STEP] = read(&buf[len - STEP..]);
    // The body starts at the first aligned address after buf[0], in 1..=STEP
    // (the head covers the bytes before it) and ends where fewer than STEP
    // bytes are left (the tail covers those).
    let start = STEP - buf.as_ptr().addr() % STEP;
    let body_key = rotate_key(key, start);
    for chunk in buf[start..].chunks_exact_mut(STEP) {
        write(chunk, xor(read::<STEP>(chunk), body_key));
    }
    write(&mut buf[..STEP], xor(head, key));
    write(&mut buf[len - STEP..], xor(tail, rotate_key(key, len - STEP)));
}

/// `dst[..src.len()] = src ^ mask`, with the key already rotated to `src[0]`'s
/// phase. Panics if `dst` is shorter than `src`.
#[inline]
pub(crate) fn copy_and_mask(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    let len = src.len();
    let dst = &mut dst[..len];
    if len < STEP {
        return copy_and_mask_short(dst, src, key);
    }
    // Here the source does not change, so the ends can go first. The body is
    // aligned on the destination: a store that splits a cache line costs
    // more than a load that does.
    write(&mut dst[..STEP], xor(read::<STEP>(&src[..STEP]), key));
    let last = len - STEP;
    write(&mut dst[last..], xor(read::<STEP>(&src[last..]), rotate_key(key, last)));
    let start = STEP - dst.as_ptr().addr() % STEP;
    let body_key = rotate_key(key, start);
    for (out, inp) in dst[start..].chunks_exact_mut(STEP).zip(src[start..].chunks_exact(STEP)) {
        write(out, xor(read::<STEP>(inp), body_key));
    }
}

/// [`apply_mask`] for `buf.len() < 32`, with no loop over the length: two
/// overlapping reads and writes of the largest word that fits (16, 8 or 4
/// bytes), or up to three single bytes. Every vector kernel finishes its
/// shortest pieces here.
///
/// A longer `buf` would be masked only at its ends (a bug, not unsoundness).
#[inline]
pub(crate) fn apply_mask_short(buf: &mut [u8], key: [u8; 4]) {
    debug_assert!(buf.len() < 32);
    match buf.len() {
        16.. => apply_ends::<16>(buf, key),
        8.. => apply_ends::<8>(buf, key),
        4.. => apply_ends::<4>(buf, key),
        _ => {
            for (byte, k) in buf.iter_mut().zip(key) {
                *byte ^= k;
            }
        }
    }
}

/// [`copy_and_mask`] for `src.len() < 32`, in the manner of
/// [`apply_mask_short`]. `dst` and `src` have the same length.
#[inline]
pub(crate) fn copy_and_mask_short(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    debug_assert!(src.len() < 32 && dst.len() == src.len());
    match src.len() {
        16.. => copy_ends::<16>(dst, src, key),
        8.. => copy_ends::<8>(dst, src, key),
        4.. => copy_ends::<4>(dst, src, key),
        _ => {
            for ((out, inp), k) in dst.iter_mut().zip(src).zip(key) {
                *out = inp ^ k;
            }
        }
    }
}

/// Mask the first and the last `N` bytes of `buf`, `N <= buf.len() <= 2 * N`,
/// reading both before writing either.
#[inline(always)]
fn apply_ends<const N: usize>(buf: &mut [u8], key: [u8; 4]) {
    let last = buf.len() - N;
    let head: [u8; N] = read(&buf[..N]);
    let tail: [u8; N] = read(&buf[last..]);
    write(&mut buf[..N], xor(head, key));
    write(&mut buf[last..], xor(tail, rotate_key(key, last)));
}

/// Copy and mask the first and the last `N` bytes, `N <= src.len() <= 2 * N`.
#[inline(always)]
fn copy_ends<const N: usize>(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    let last = src.len() - N;
    write(&mut dst[..N], xor(read::<N>(&src[..N]), key));
    write(&mut dst[last..], xor(read::<N>(&src[last..]), rotate_key(key, last)));
}

/// The key twice over: the mask for 8 bytes that start at `key[0]`. (Both
/// halves are equal, so this holds in either byte order.)
#[inline(always)]
fn wide(key: [u8; 4]) -> u64 {
    let k = u64::from(u32::from_ne_bytes(key));
    k | k << 32
}

/// XOR `data`, taken as 8-byte words (`N` is 4 or a multiple of 8), with the
/// mask that starts at `key[0]`. Word operations on fixed-size arrays:
/// LLVM turns them into vector or register operations, with no loop.
#[inline(always)]
fn xor<const N: usize>(mut data: [u8; N], key: [u8; 4]) -> [u8; N] {
    if N == 4 {
        for (byte, k) in data.iter_mut().zip(key) {
            *byte ^= k;
        }
        return data;
    }
    let k = wide(key);
    for word in data.chunks_exact_mut(8) {
        let masked = u64::from_ne_bytes(read(word)) ^ k;
        word.copy_from_slice(&masked.to_ne_bytes());
    }
    data
}

/// The `N` bytes of a slice of length `N`.
#[inline(always)]
fn read<const N: usize>(bytes: &[u8]) -> [u8; N] {
    bytes.try_into().expect("a slice of N bytes")
}

#[inline(always)]
fn write<const N: usize>(bytes: &mut [u8], value: [u8; N]) {
    bytes.copy_from_slice(&value);
}
