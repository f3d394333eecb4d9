//! Unpredictable bytes for client mask keys and handshake nonces.
//!
//! RFC 6455 section 5.3 requires each mask key to be fresh and unpredictable
//! from the keys before it, since the keys travel in the clear. A system call
//! per frame would cost more than masking a small frame, so each connection
//! runs ChaCha20 (RFC 8439) keyed with a 32-byte seed: under `std` from the
//! operating system, otherwise from the caller's own entropy source.
//!
//! The stream runs ChaCha with 12 rounds (as `rand`'s `StdRng` does; the best
//! known attacks reach 7) and keeps 32 bytes of each block, eight mask keys:
//! a trade of a little speed for a small connection (536 bytes in all).

/// Rounds per block.
const ROUNDS: usize = 12;
/// Bytes of each block kept for use.
const BUFFERED: usize = 32;

/// A ChaCha keystream used as a cryptographically secure generator.
///
/// Not `Clone`: a copy would repeat the original's keys.
pub struct KeyStream {
    key: [u32; 8],
    counter: u64,
    block: [u8; BUFFERED],
    used: u8,
}

impl core::fmt::Debug for KeyStream {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KeyStream { .. }") // never print the key
    }
}

impl KeyStream {
    /// A stream keyed by `seed`. The seed must come from a strong entropy
    /// source and must not be reused across connections.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let mut key = [0u32; 8];
        for (word, bytes) in key.iter_mut().zip(seed.chunks_exact(4)) {
            *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        KeyStream { key, counter: 0, block: [0; BUFFERED], used: BUFFERED as u8 }
    }

    /// A stream seeded from the operating system.
    ///
    /// # Panics
    ///
    /// If the operating system has no entropy to give (`getrandom` fails),
    /// which a client cannot work without.
    #[cfg(feature = "std")]
    pub fn from_os() -> Self {
        let mut seed = [0u8; 32];
        if let Err(e) = getrandom::fill(&mut seed) {
            panic!("wscore: the OS random source failed ({e}); client mask keys need it");
        }
        KeyStream::from_seed(seed)
    }

    /// Fill `out` with the next bytes of the stream.
    pub fn fill(&mut self, out: &mut [u8]) {
        for byte in out {
            if usize::from(self.used) == BUFFERED {
                let nonce = [(self.counter >> 32) as u32, 0, 0];
                let block = chacha_block::<ROUNDS>(&self.key, self.counter as u32, nonce);
                self.block.copy_from_slice(&block[..BUFFERED]);
                self.counter = self.counter.wrapping_add(1);
                self.used = 0;
            }
            *byte = self.block[usize::from(self.used)];
            self.used += 1;
        }
    }

    /// A fresh mask key.
    #[inline]
    pub fn mask_key(&mut self) -> [u8; 4] {
        let at = usize::from(self.used);
        if let Some(&[a, b, c, d]) = self.block.get(at..at + 4) {
            self.used += 4;
            return [a, b, c, d]; // the common case: four buffered bytes at once
        }
        let mut key = [0; 4];
        self.fill(&mut key);
        key
    }
}

fn quarter_round(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(16);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(12);
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(8);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(7);
}

/// The ChaCha block function of RFC 8439 section 2.3, with `R` rounds
/// (RFC 8439's ChaCha20 is `R = 20`).
fn chacha_block<const R: usize>(key: &[u32; 8], counter: u32, nonce: [u32; 3]) -> [u8; 64] {
    let mut init = [0u32; 16];
    init[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
    init[4..12].copy_from_slice(key);
    init[12] = counter;
    init[13..].copy_from_slice(&nonce);
    let mut s = init;
    for _ in 0..R / 2 {
        quarter_round(&mut s, 0, 4, 8, 12);
        quarter_round(&mut s, 1, 5, 9, 13);
        quarter_round(&mut s, 2, 6, 10, 14);
        quarter_round(&mut s, 3, 7, 11, 15);
        quarter_round(&mut s, 0, 5, 10, 15);
        quarter_round(&mut s, 1, 6, 11, 12);
        quarter_round(&mut s, 2, 7, 8, 13);
        quarter_round(&mut s, 3, 4, 9, 14);
    }
    let mut out = [0u8; 64];
    for ((chunk, word), first) in out.chunks_exact_mut(4).zip(s).zip(init) {
        chunk.copy_from_slice(&word.wrapping_add(first).to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8439_block_test_vector() {
        // RFC 8439 section 2.3.2.
        let mut key = [0u32; 8];
        for (i, w) in key.iter_mut().enumerate() {
            let b = 4 * i as u8;
            *w = u32::from_le_bytes([b, b + 1, b + 2, b + 3]);
        }
        let nonce = [0x0900_0000, 0x4a00_0000, 0];
        let block = chacha_block::<20>(&key, 1, nonce);
        let expected: [u8; 64] = [
            0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20,
            0x71, 0xc4, 0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03, 0x04, 0x22, 0xaa, 0x9a,
            0xc3, 0xd4, 0x6c, 0x4e, 0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa, 0x09, 0x14, 0xc2,
            0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2, 0xb5, 0x12, 0x9c, 0xd1, 0xde, 0x16, 0x4e, 0xb9,
            0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e,
        ];
        assert_eq!(block, expected);
    }

    #[test]
    fn keys_differ_and_streams_are_reproducible_from_a_seed() {
        let mut a = KeyStream::from_seed([7; 32]);
        let mut b = KeyStream::from_seed([7; 32]);
        let keys: std::vec::Vec<[u8; 4]> = (0..40).map(|_| a.mask_key()).collect();
        let again: std::vec::Vec<[u8; 4]> = (0..40).map(|_| b.mask_key()).collect();
        assert_eq!(keys, again);
        let distinct: std::collections::BTreeSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len());
    }

    #[test]
    #[cfg(feature = "std")]
    fn os_seeded_streams_differ() {
        let (mut a, mut b) = (KeyStream::from_os(), KeyStream::from_os());
        let (mut x, mut y) = ([0u8; 32], [0u8; 32]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_ne!(x, y);
    }
}
