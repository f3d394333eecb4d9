//! The messages the publisher sends: 1 KiB of JSON-like text, a batch of
//! quotes with new numbers in every message (so that a compressor keeping
//! context between messages finds the structure again, not the whole
//! message), made from the message's sequence number alone so that the
//! load client can rebuild any of them.

use std::fmt::Write as _;

/// Length of every message, in bytes.
pub const LEN: usize = 1024;

/// Instrument names the quotes draw from.
const SYMBOLS: [&str; 8] = ["ALDER", "BIRCH", "CEDAR", "DAPHNE", "ELM", "FIR", "GINKGO", "HAZEL"];

/// Message number `seq`: exactly [`LEN`] bytes of ASCII.
pub fn message(seq: u64) -> String {
    let mut state = seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut random = move || {
        // xorshift64: cheap, and the same on both sides.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut text = String::with_capacity(LEN);
    let _ = write!(text, r#"{{"seq":{seq},"quotes":["#);
    let mut quote = String::new();
    loop {
        let r = random();
        quote.clear();
        let _ = write!(
            quote,
            r#"{{"sym":"{}","bid":{}.{:02},"ask":{}.{:02},"size":{}}}"#,
            SYMBOLS[(r % 8) as usize],
            (r >> 8) & 0x3ff,
            (r >> 20) % 100,
            ((r >> 8) & 0x3ff) + 1,
            (r >> 28) % 100,
            (r >> 36) & 0xffff,
        );
        // Room for a comma before the quote and "]}" after the last one.
        if text.len() + 1 + quote.len() + 2 > LEN {
            break;
        }
        if !text.ends_with('[') {
            text.push(',');
        }
        text.push_str(&quote);
    }
    while text.len() < LEN - 2 {
        text.push(' ');
    }
    text.push_str("]}");
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_message_is_exactly_len_bytes_and_differs() {
        let (a, b) = (super::message(0), super::message(1));
        assert_eq!((a.len(), b.len()), (super::LEN, super::LEN));
        assert_ne!(a, b);
        assert_eq!(a, super::message(0));
    }
}
