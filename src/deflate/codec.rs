//! The raw DEFLATE streams of one connection, over `miniz_oxide`: an
//! inflater that writes into a bounded buffer, and a compressor that keeps
//! its back-references inside the negotiated window.

use alloc::boxed::Box;
use alloc::vec;
use miniz_oxide::deflate::core::{create_comp_flags_from_zip_params, CompressorOxide};
use miniz_oxide::inflate::stream::{InflateState, MinReset};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

/// What RFC 7692 strips from the end of every compressed message: the
/// empty stored block a sync flush ends with.
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The inflate side: a raw DEFLATE stream read into a fixed buffer.
pub(crate) struct Inflater {
    state: Box<InflateState>,
    out: Box<[u8]>,
    /// A block with BFINAL set ended the stream: the rest of the message
    /// is ignored, and the next message starts a new stream.
    ended: bool,
}

/// What one [`Inflater::inflate`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Input bytes taken.
    pub(crate) used: usize,
    /// Output bytes written (on corruption, those before it).
    pub(crate) written: usize,
    /// The stream is not valid DEFLATE: nothing more comes out.
    pub(crate) corrupt: bool,
}

impl Inflater {
    /// An inflater whose output buffer holds `buffer` bytes (at least 1 KiB).
    pub(crate) fn new(buffer: usize) -> Self {
        Inflater {
            state: InflateState::new_boxed(DataFormat::Raw),
            out: vec![0; buffer.max(1024)].into_boxed_slice(),
            ended: false,
        }
    }

    /// The output buffer's size.
    pub(crate) fn capacity(&self) -> usize {
        self.out.len()
    }

    /// Inflates from `input` into the output buffer from `filled` on.
    /// Stops when the input is used up or the buffer is full (output still
    /// pending inside comes out on the next call, even with no input), or
    /// at corrupt data.
    pub(crate) fn inflate(&mut self, input: &[u8], filled: usize) -> Progress {
        if self.ended {
            return Progress { used: input.len(), written: 0, corrupt: false };
        }
        let out = &mut self.out[filled..];
        let r = miniz_oxide::inflate::stream::inflate(&mut self.state, input, out, MZFlush::None);
        let corrupt = match r.status {
            // A sender may end a message with a BFINAL block (as zlib's
            // `Z_FINISH` does) instead of a sync flush.
            Ok(MZStatus::StreamEnd) => {
                self.ended = true;
                false
            }
            Ok(_) | Err(MZError::Buf) => false, // input used up or buffer full
            Err(_) => true,
        };
        Progress { used: r.bytes_consumed, written: r.bytes_written, corrupt }
    }

    /// The message is over: if its stream ended, the next one starts anew.
    pub(crate) fn end_message(&mut self) {
        if self.ended {
            self.state.reset_as(MinReset);
            self.ended = false;
        }
    }

    /// The first `len` bytes of the output buffer.
    pub(crate) fn output(&self, len: usize) -> &[u8] {
        &self.out[..len]
    }
}

impl core::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Inflater").field("buffer", &self.out.len()).finish_non_exhaustive()
    }
}

/// The compress side: a raw DEFLATE stream, flushed at the end of every
/// message, whose back-references stay within `2^window_bits` bytes.
pub(crate) struct Compressor {
    state: Box<CompressorOxide>,
    /// The most input between two full flushes, which make the compressor
    /// forget its history: so no back-reference spans more than the window.
    window: usize,
    /// Input bytes since the compressor last forgot its history.
    since_forget: usize,
}

/// The compressor ran out of room: `out` was smaller than [`Compressor::bound`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutOfRoom;

impl Compressor {
    /// A compressor at `level` (1 to 9) whose window is `window_bits` (8 to 15).
    pub(crate) fn new(level: u8, window_bits: u8) -> Self {
        let flags = create_comp_flags_from_zip_params(i32::from(level.clamp(1, 9)), -15, 0);
        // miniz_oxide's own window is 32 KiB: a 15-bit window needs no help.
        let window = if window_bits >= 15 { usize::MAX } else { 1 << window_bits };
        Compressor { state: Box::new(CompressorOxide::new(flags)), window, since_forget: 0 }
    }

    /// The most bytes [`compress`](Self::compress) can write for `len` input
    /// bytes. Incompressible input goes out in stored blocks of 5 bytes of
    /// header each (`miniz_oxide`'s fast level cuts them every 5-6 KiB;
    /// reckoned here at one per KiB), and every flush ends a block and adds
    /// an empty one (up to 11 bytes in all).
    pub(crate) fn bound(&self, len: usize) -> usize {
        let flushes = len / self.window + 2;
        let stored_blocks = len / 1024 + 1;
        len.saturating_add(11 * flushes + 5 * stored_blocks + 16)
    }

    /// Forget everything seen: the next message refers to nothing before it.
    pub(crate) fn reset(&mut self) {
        self.state.reset();
        self.since_forget = 0;
    }

    /// Compresses `input` into `out` and flushes, so that the output ends on
    /// a byte boundary with the `00 00 ff ff` tail. With `forget`, the
    /// compressor then forgets what it has seen (no context takeover).
    /// Returns the bytes written.
    pub(crate) fn compress(
        &mut self,
        mut input: &[u8],
        out: &mut [u8],
        forget: bool,
    ) -> Result<usize, OutOfRoom> {
        let mut written = 0;
        loop {
            let take = input.len().min(self.window - self.since_forget);
            let (piece, rest) = input.split_at(take);
            self.since_forget += take;
            let last = rest.is_empty();
            // A full flush also forgets history: at the window's end, and at
            // the message's end without context takeover.
            let full = self.since_forget == self.window || (last && forget);
            let flush = if full { MZFlush::Full } else { MZFlush::Sync };
            let room = out.get_mut(written..).ok_or(OutOfRoom)?;
            let r = miniz_oxide::deflate::stream::deflate(&mut self.state, piece, room, flush);
            written += r.bytes_written;
            // A full output buffer may hide an unfinished flush.
            if r.status.is_err() || r.bytes_consumed != take || written >= out.len() {
                return Err(OutOfRoom);
            }
            if full {
                self.since_forget = 0;
            }
            input = rest;
            if last {
                return Ok(written);
            }
        }
    }
}

impl core::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Compressor").field("window", &self.window).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Compress `messages` one by one, tails stripped, as a sender would.
    fn compress_all(c: &mut Compressor, messages: &[&[u8]], forget: bool) -> Vec<Vec<u8>> {
        messages
            .iter()
            .map(|m| {
                let mut out = vec![0; c.bound(m.len())];
                let n = c.compress(m, &mut out, forget).unwrap();
                assert_eq!(&out[n - 4..n], &TAIL, "ends with the sync tail");
                out.truncate(n - 4);
                out
            })
            .collect()
    }

    /// Inflate each compressed message (tail restored) into one Vec each.
    fn inflate_all(inflater: &mut Inflater, messages: &[Vec<u8>]) -> Vec<Vec<u8>> {
        messages
            .iter()
            .map(|m| {
                let mut plain = Vec::new();
                for input in [&m[..], &TAIL[..]] {
                    let mut input = input;
                    loop {
                        let p = inflater.inflate(input, 0);
                        assert!(!p.corrupt);
                        plain.extend_from_slice(inflater.output(p.written));
                        input = &input[p.used..];
                        if input.is_empty() && p.written < inflater.capacity() {
                            break;
                        }
                    }
                }
                inflater.end_message();
                plain
            })
            .collect()
    }

    #[test]
    fn round_trip_with_and_without_context_takeover() {
        let text = b"{\"symbol\":\"BTC-USD\",\"price\":97000.5,\"size\":0.25}";
        let messages: Vec<&[u8]> = vec![&text[..], &text[..], b"", &[7u8; 100_000][..], &text[..]];
        for forget in [false, true] {
            let mut c = Compressor::new(1, 15);
            let compressed = compress_all(&mut c, &messages, forget);
            let mut inflater = Inflater::new(1024);
            let plain = inflate_all(&mut inflater, &compressed);
            assert_eq!(plain, messages.iter().map(|m| m.to_vec()).collect::<Vec<_>>());
            if !forget {
                // The repeat refers to the first copy: much smaller.
                assert!(compressed[1].len() < compressed[0].len() / 2, "{compressed:?}");
            } else {
                assert_eq!(compressed[1], compressed[0]);
            }
        }
    }

    /// Text whose repeats lie far apart: 64-byte phrases, each used again
    /// about 4 KiB later.
    fn distant_repeats(len: usize) -> Vec<u8> {
        let mut seed = 0x2545_f491_u32;
        let phrases: Vec<Vec<u8>> = (0..64)
            .map(|_| {
                (0..64)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 17;
                        seed ^= seed << 5;
                        b'a' + (seed % 26) as u8
                    })
                    .collect()
            })
            .collect();
        phrases.iter().cycle().flatten().copied().take(len).collect()
    }

    #[test]
    fn every_window_size_is_honoured() {
        // zlib (as zlib-rs) inflating with a window of `bits` refuses any
        // reference that reaches further back ("invalid distance too far
        // back"): the stream must inflate with exactly that window.
        let data = distant_repeats(100_000);
        for (bits, level) in (8..=15u8).flat_map(|bits| [(bits, 1), (bits, 6)]) {
            for forget in [false, true] {
                let mut c = Compressor::new(level, bits);
                let messages: Vec<&[u8]> = vec![&data[..], &data[..5000], &data[3000..]];
                let compressed = compress_all(&mut c, &messages, forget);
                let mut zlib = zlib_rs::Inflate::new(false, bits);
                for (message, original) in compressed.iter().zip(&messages) {
                    let mut input = message.clone();
                    input.extend_from_slice(&TAIL);
                    let mut out = vec![0; original.len() + 64];
                    let before = zlib.total_out();
                    let status =
                        zlib.decompress(&input, &mut out, zlib_rs::InflateFlush::SyncFlush);
                    assert!(status.is_ok(), "bits {bits}: {status:?}");
                    let n = (zlib.total_out() - before) as usize;
                    assert_eq!(&out[..n], *original, "bits {bits}");
                }
            }
        }
        // With the whole window the repeats are found: real compression.
        let mut c = Compressor::new(6, 15);
        let compressed = compress_all(&mut c, &[&data[..]], false);
        assert!(compressed[0].len() < data.len() / 10, "{}", compressed[0].len());
    }

    #[test]
    fn reads_what_zlib_writes() {
        let data = distant_repeats(50_000);
        for bits in [9u8, 15] {
            let mut zlib = zlib_rs::Deflate::new(6, false, bits);
            let mut compressed = vec![0; 60_000];
            zlib.compress(&data, &mut compressed, zlib_rs::DeflateFlush::SyncFlush).unwrap();
            compressed.truncate(zlib.total_out() as usize);
            assert!(compressed.ends_with(&TAIL));
            compressed.truncate(compressed.len() - 4);
            let mut inflater = Inflater::new(4096);
            assert_eq!(inflate_all(&mut inflater, &[compressed]), core::slice::from_ref(&data));
        }
    }

    #[test]
    fn a_final_block_starts_a_new_stream() {
        // Two messages each ending in a BFINAL block (zlib's `Finish`).
        let mut inflater = Inflater::new(1024);
        for message in [&b"first"[..], b"second"] {
            let mut zlib = zlib_rs::Deflate::new(6, false, 15);
            let mut compressed = vec![0; 64];
            zlib.compress(message, &mut compressed, zlib_rs::DeflateFlush::Finish).unwrap();
            compressed.truncate(zlib.total_out() as usize);
            assert_eq!(inflate_all(&mut inflater, &[compressed]), [message.to_vec()]);
        }
    }

    #[test]
    fn corrupt_input_is_refused() {
        let mut inflater = Inflater::new(1024);
        // BTYPE 11 is reserved.
        assert!(inflater.inflate(&[0xff, 0xff, 0xff], 0).corrupt);
    }

    #[test]
    fn the_bound_holds_for_incompressible_input() {
        let mut seed = 1u64;
        let noise: Vec<u8> = (0..200_000)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (seed >> 56) as u8
            })
            .collect();
        for level in [1, 6, 9] {
            for bits in [8u8, 12, 15] {
                for len in [0, 1, 255, 256, 257, 65_536, 200_000] {
                    let mut c = Compressor::new(level, bits);
                    let mut out = vec![0; c.bound(len)];
                    let result = c.compress(&noise[..len], &mut out, false);
                    assert!(result.is_ok(), "level {level} bits {bits} len {len}");
                }
            }
        }
        let mut c = Compressor::new(1, 15);
        assert_eq!(c.compress(&noise[..1000], &mut [0; 100], false), Err(OutOfRoom));
    }
}
