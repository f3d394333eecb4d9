//! Portable masking, eight bytes at a time, with no `unsafe` and no
//! target-specific code. The compiler vectorises the word loop where the
//! target allows it.

/// Mask `buf` with a key already rotated to `buf[0]`'s phase.
#[inline]
pub(super) fn apply_mask(buf: &mut [u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]]);
    let mut words = buf.chunks_exact_mut(8);
    for word in &mut words {
        let bytes: &mut [u8; 8] = word.try_into().expect("chunks_exact_mut yields 8 bytes");
        *bytes = (u64::from_ne_bytes(*bytes) ^ wide).to_ne_bytes();
    }
    // Whole words keep the phase, so the tail starts at key[0].
    for (byte, k) in words.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
}

/// `dst = src ^ mask`, with `dst.len() == src.len()`.
#[inline]
pub(super) fn copy_and_mask(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]]);
    let mut out_words = dst.chunks_exact_mut(8);
    let mut in_words = src.chunks_exact(8);
    for (out, inp) in (&mut out_words).zip(&mut in_words) {
        let inp: [u8; 8] = inp.try_into().expect("chunks_exact yields 8 bytes");
        out.copy_from_slice(&(u64::from_ne_bytes(inp) ^ wide).to_ne_bytes());
    }
    let tail = in_words.remainder().iter().zip(key.iter().cycle());
    for (out, (inp, k)) in out_words.into_remainder().iter_mut().zip(tail) {
        *out = inp ^ k;
    }
}
