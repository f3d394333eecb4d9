//! The masking kernel (RFC 6455 section 5.3).
//!
//! Every byte of a masked payload is XORed with `key[(i + phase) % 4]`, where
//! `i` counts bytes from the start of the frame payload. Payloads reach us in
//! pieces, so each call takes the *phase*: how many payload bytes of this frame
//! came before the piece (only its value modulo 4 matters). Feeding a payload
//! in any number of pieces, each with the running phase, gives the same bytes
//! as masking it whole.
//!
//! Masking is an involution: applying the same key and phase twice restores the
//! input, so one function serves both senders and receivers.
//!
//! This module is the crate's hot kernel. The functions here are the portable
//! word-at-a-time implementation; [`reference`](mod@reference) is the one-byte loop every
//! faster path is tested against.

mod portable;

/// XOR `buf` in place with the mask `key`, starting at `phase` bytes into the
/// mask (`phase` counts payload bytes already processed; only `phase % 4`
/// matters).
///
/// Returns the phase for the next piece of the same payload,
/// `(phase + buf.len()) % 4`.
///
/// ```
/// // RFC 6455 section 5.7: "Hello" masked with 37 fa 21 3d.
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut payload = *b"Hello";
/// wscore::mask::apply_mask(&mut payload, key, 0);
/// assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// // In two pieces, continuing the phase:
/// let mut again = *b"Hello";
/// let (a, b) = again.split_at_mut(3);
/// let phase = wscore::mask::apply_mask(a, key, 0);
/// wscore::mask::apply_mask(b, key, phase);
/// assert_eq!(again, payload);
/// ```
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], phase: usize) -> usize {
    portable::apply_mask(buf, rotate_key(key, phase));
    (phase + buf.len()) & 3
}

/// Copy `src` into the front of `dst` while masking it: one pass over the data,
/// as a client does when it writes a payload into its output buffer.
///
/// Returns the next phase, as [`apply_mask`] does.
///
/// # Panics
///
/// If `dst` is shorter than `src`. (The connection checks sizes before it
/// calls this, and reports a too-small buffer as an error.)
#[inline]
pub fn copy_and_mask(dst: &mut [u8], src: &[u8], key: [u8; 4], phase: usize) -> usize {
    portable::copy_and_mask(&mut dst[..src.len()], src, rotate_key(key, phase));
    (phase + src.len()) & 3
}

/// The key as it applies from byte 0 of a piece that starts `phase` bytes into
/// the payload.
#[inline]
fn rotate_key(key: [u8; 4], phase: usize) -> [u8; 4] {
    let word = u32::from_le_bytes(key);
    word.rotate_right(8 * (phase as u32 & 3)).to_le_bytes()
}

/// The one-byte loop: the specification of masking, and the oracle every
/// faster path is tested against.
pub mod reference {
    /// Mask `buf` in place one byte at a time. Same contract as
    /// [`apply_mask`](super::apply_mask).
    pub fn apply_mask(buf: &mut [u8], key: [u8; 4], phase: usize) -> usize {
        for (i, byte) in buf.iter_mut().enumerate() {
            *byte ^= key[(phase + i) & 3];
        }
        (phase + buf.len()) & 3
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    fn pattern(len: usize) -> std::vec::Vec<u8> {
        (0..len).map(|i| (i * 31 + 7) as u8).collect()
    }

    #[test]
    fn rfc_hello_example() {
        let mut payload = *b"Hello";
        assert_eq!(apply_mask(&mut payload, KEY, 0), 1);
        assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    fn matches_reference_for_every_length_offset_and_phase() {
        // Miri checks the logic on a smaller sweep; natively, all of it.
        let (max_len, offsets) = if cfg!(miri) { (40, 8) } else { (300, 64) };
        let data = pattern(max_len + offsets);
        for len in 0..=max_len {
            for offset in 0..offsets {
                for phase in 0..4 {
                    let mut fast = data.clone();
                    let mut slow = data.clone();
                    let a = apply_mask(&mut fast[offset..offset + len], KEY, phase);
                    let b = reference::apply_mask(&mut slow[offset..offset + len], KEY, phase);
                    assert_eq!(a, b);
                    assert_eq!(fast, slow, "len {len} offset {offset} phase {phase}");
                }
            }
        }
    }

    #[test]
    fn copy_and_mask_matches_reference() {
        let data = pattern(1000);
        for len in [0, 1, 3, 7, 8, 9, 31, 64, 65, 999] {
            for phase in 0..4 {
                let mut expected = data[..len].to_vec();
                reference::apply_mask(&mut expected, KEY, phase);
                let mut out = std::vec![0xAAu8; len + 5];
                assert_eq!(copy_and_mask(&mut out, &data[..len], KEY, phase), (phase + len) & 3);
                assert_eq!(&out[..len], &expected[..]);
                assert!(out[len..].iter().all(|&b| b == 0xAA), "wrote past src.len()");
            }
        }
    }

    proptest! {
        #[test]
        fn any_split_equals_whole(data in proptest::collection::vec(any::<u8>(), 0..2048),
                                  key in any::<[u8; 4]>(),
                                  cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
            let mut whole = data.clone();
            apply_mask(&mut whole, key, 0);
            let mut pieces = data.clone();
            let mut bounds: std::vec::Vec<usize> =
                cuts.iter().map(|c| c % (data.len() + 1)).collect();
            bounds.push(0);
            bounds.push(data.len());
            bounds.sort_unstable();
            let mut phase = 0;
            for w in bounds.windows(2) {
                phase = apply_mask(&mut pieces[w[0]..w[1]], key, phase);
            }
            prop_assert_eq!(&pieces, &whole);
            apply_mask(&mut whole, key, 0);
            prop_assert_eq!(whole, data);
        }
    }
}
