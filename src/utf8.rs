//! Incremental UTF-8 validation for text messages that arrive in pieces.
//!
//! A text message may be split anywhere, inside a code point too, across
//! frames and across reads. [`Utf8Validator`] checks each piece as it comes and
//! keeps at most three bytes of a code point that the piece left unfinished.
//! It fails on the first byte that cannot belong to valid UTF-8, even in the
//! middle of a message: a truncated prefix such as `F4 90` is rejected as soon
//! as the `90` arrives, since no continuation could make it valid. Only at the
//! end of the message ([`Utf8Validator::finish`]) is an unfinished code point an
//! error.
//!
//! Validation itself is `simdutf8`'s SIMD validator (with runtime CPU
//! detection under `std`, the compile-time target features otherwise), which
//! runs at memory speed on ASCII and reports the same error positions as
//! `core::str::from_utf8`.

use core::fmt;

/// A text payload is not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

impl fmt::Display for InvalidUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("text is not valid UTF-8")
    }
}

impl core::error::Error for InvalidUtf8 {}

/// Validates a UTF-8 stream fed in arbitrary pieces.
///
/// ```
/// use wscore::utf8::Utf8Validator;
/// let euro = "€".as_bytes(); // E2 82 AC
/// let mut v = Utf8Validator::new();
/// assert!(v.feed(&euro[..1]).is_ok());
/// assert!(v.feed(&euro[1..]).is_ok());
/// assert!(v.finish().is_ok());
///
/// let mut v = Utf8Validator::new();
/// assert!(v.feed(&[0xF4]).is_ok());  // could still become valid
/// assert!(v.feed(&[0x90]).is_err()); // above U+10FFFF: fails at once
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Utf8Validator {
    /// The first bytes of an unfinished code point.
    partial: [u8; 4],
    /// How many bytes of `partial` are in use (0 to 3).
    partial_len: u8,
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub const fn new() -> Self {
        Utf8Validator { partial: [0; 4], partial_len: 0 }
    }

    /// Check the next piece of the stream.
    ///
    /// After an error the validator's state is unspecified; call
    /// [`reset`](Self::reset) before reusing it.
    pub fn feed(&mut self, mut input: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            input = self.complete_partial(input)?;
            if self.partial_len > 0 {
                return Ok(()); // `input` was used up and the code point is still unfinished
            }
        }
        // Short pieces (a chat line, a price tick) are mostly ASCII, and the
        // SIMD validator hands inputs under 64 bytes to a slower path.
        if input.len() < 64 && input.is_ascii() {
            return Ok(());
        }
        match simdutf8::compat::from_utf8(input) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                // A valid prefix of a code point runs to the end of `input`.
                let tail = &input[e.valid_up_to()..];
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len() as u8;
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// The message ended: it is valid only if no code point is left unfinished.
    /// Resets the validator for the next message.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let unfinished = self.partial_len != 0;
        self.reset();
        if unfinished {
            Err(InvalidUtf8)
        } else {
            Ok(())
        }
    }

    /// Forget any unfinished code point: start a new stream.
    pub fn reset(&mut self) {
        self.partial_len = 0;
    }

    /// Whether the bytes fed so far end inside a code point.
    pub fn is_mid_code_point(&self) -> bool {
        self.partial_len != 0
    }

    /// Extend the stored partial code point with bytes from `input`; return
    /// what is left of `input` after it.
    fn complete_partial<'a>(&mut self, input: &'a [u8]) -> Result<&'a [u8], InvalidUtf8> {
        let have = usize::from(self.partial_len);
        let width = sequence_width(self.partial[0]);
        let take = (width - have).min(input.len());
        self.partial[have..have + take].copy_from_slice(&input[..take]);
        let filled = have + take;
        match core::str::from_utf8(&self.partial[..filled]) {
            Ok(_) => {
                self.partial_len = 0;
                Ok(&input[take..])
            }
            // Still a valid prefix: wait for more.
            Err(e) if e.error_len().is_none() && filled < width => {
                self.partial_len = filled as u8;
                Ok(&input[take..])
            }
            Err(_) => Err(InvalidUtf8),
        }
    }
}

/// The length of the sequence a stored lead byte starts. Only lead bytes of
/// valid prefixes are ever stored, so other values cannot occur; they map to 4,
/// which `from_utf8` then rejects.
fn sequence_width(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn feed_split(data: &[u8], cuts: &[usize]) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::new();
        let mut start = 0;
        for &cut in cuts {
            v.feed(&data[start..cut])?;
            start = cut;
        }
        v.feed(&data[start..])?;
        v.finish()
    }

    #[test]
    fn four_byte_code_point_split_at_every_position() {
        let s = "a𝄞b".as_bytes(); // U+1D11E is F0 9D 84 9E
        for i in 0..=s.len() {
            for j in i..=s.len() {
                assert_eq!(feed_split(s, &[i, j]), Ok(()), "cuts {i} {j}");
            }
        }
    }

    #[test]
    fn fails_fast_on_impossible_prefixes() {
        for bad in [&[0xF4, 0x90][..], &[0xC0], &[0xED, 0xA0], &[0xE0, 0x80], &[0xF8], &[0x80]] {
            let mut v = Utf8Validator::new();
            let mut failed_at = None;
            for (i, b) in bad.iter().enumerate() {
                if v.feed(core::slice::from_ref(b)).is_err() {
                    failed_at = Some(i);
                    break;
                }
            }
            assert_eq!(failed_at, Some(bad.len() - 1), "{bad:02x?}");
        }
    }

    #[test]
    fn unfinished_code_point_fails_only_at_finish() {
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[b'a', 0xE2, 0x82]), Ok(()));
        assert!(v.is_mid_code_point());
        assert_eq!(v.finish(), Err(InvalidUtf8));
        assert!(!v.is_mid_code_point());
    }

    #[test]
    fn overlong_surrogate_and_out_of_range_rejected() {
        for bad in
            [&[0xC0, 0xAF][..], &[0xE0, 0x80, 0xAF], &[0xED, 0xA0, 0x80], &[0xF4, 0x90, 0x80, 0x80]]
        {
            assert_eq!(feed_split(bad, &[]), Err(InvalidUtf8));
            for cut in 1..bad.len() {
                assert_eq!(feed_split(bad, &[cut]), Err(InvalidUtf8));
            }
        }
    }

    proptest! {
        #[test]
        fn agrees_with_core_for_any_split(data in proptest::collection::vec(
            prop_oneof![any::<u8>(), Just(0x80u8), Just(0xE2), Just(0xF0), Just(b'a')], 0..64),
            cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
            let mut cuts: std::vec::Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
            cuts.sort_unstable();
            let expected = core::str::from_utf8(&data).is_ok();
            prop_assert_eq!(feed_split(&data, &cuts).is_ok(), expected);
        }

        #[test]
        fn valid_text_in_any_split(s in "\\PC{0,40}", cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
            let data = s.as_bytes();
            let mut cuts: std::vec::Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
            cuts.sort_unstable();
            prop_assert_eq!(feed_split(data, &cuts), Ok(()));
        }
    }
}
