//! The session's write queue: encoded frames in one reused buffer, and
//! shared payloads ([`Bytes`]) queued by reference between them, so a large
//! payload a server already holds goes out with no copy.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use bytes::Bytes;

use crate::error::Error;

/// The most entries of an empty queue of shared payloads that
/// [`Outbound::release`] keeps (40 bytes each).
const KEPT_SHARED: usize = 4;

/// Bytes waiting to be written, in order: `buf[written..queued]` with the
/// `shared` payloads spliced in at their positions in `buf`.
///
/// Invariants, kept by every method and relied on by every slice below
/// (none can panic while they hold): `written <= queued <= buf.len()`;
/// every `shared` entry has `written <= at <= queued`, the entries in
/// rising order of `at` (`advance` never moves `written` past the front
/// entry's `at`), and `sent < bytes.len()` (empty payloads are never
/// queued, finished ones are popped).
#[derive(Debug, Default)]
pub(super) struct Outbound {
    /// Encoded frames. Bytes past `queued` are initialised and reused, so
    /// encoding never zeroes memory twice.
    buf: Vec<u8>,
    queued: usize,
    written: usize,
    /// Payloads queued by reference, each after `buf[..at]`.
    shared: VecDeque<Shared>,
    /// Bytes of `shared` not yet written.
    shared_unsent: usize,
}

#[derive(Debug)]
struct Shared {
    /// Its place in the stream: after `buf[..at]`.
    at: usize,
    bytes: Bytes,
    sent: usize,
}

impl Outbound {
    /// An outbound queue holding `buf[..queued]` (a handshake request).
    pub(super) fn with(buf: Vec<u8>, queued: usize) -> Self {
        Outbound { buf, queued, ..Outbound::default() }
    }

    /// Bytes queued and not yet written.
    pub(super) fn unsent(&self) -> usize {
        self.queued - self.written + self.shared_unsent
    }

    /// The next bytes to write: a run of encoded frames, or a shared payload.
    pub(super) fn data(&self) -> &[u8] {
        match self.shared.front() {
            // In bounds by the invariants (see the type's docs).
            Some(s) if s.at == self.written => &s.bytes[s.sent..],
            Some(s) => &self.buf[self.written..s.at],
            None => &self.buf[self.written..self.queued],
        }
    }

    /// Everything to write, in order, as slices (for a vectored write).
    pub(super) fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        let mut from = self.written;
        let mut shared = self.shared.iter();
        let mut next = shared.next();
        let mut done = false;
        core::iter::from_fn(move || loop {
            if done {
                return None;
            }
            match next {
                Some(s) if s.at == from => {
                    next = shared.next();
                    let rest = &s.bytes[s.sent.min(s.bytes.len())..];
                    if !rest.is_empty() {
                        return Some(rest);
                    }
                }
                Some(s) => {
                    let run = &self.buf[from..s.at];
                    from = s.at;
                    return Some(run);
                }
                None => {
                    done = true;
                    let run = &self.buf[from..self.queued];
                    if !run.is_empty() {
                        return Some(run);
                    }
                }
            }
        })
    }

    /// `n` bytes, from the front, were written.
    pub(super) fn advance(&mut self, mut n: usize) {
        while n > 0 {
            match self.shared.front_mut() {
                Some(s) if s.at == self.written => {
                    let step = n.min(s.bytes.len() - s.sent);
                    s.sent += step;
                    self.shared_unsent -= step;
                    n -= step;
                    if s.sent == s.bytes.len() {
                        self.shared.pop_front();
                    }
                    if step == 0 {
                        break;
                    }
                }
                front => {
                    let last = front.is_none();
                    let end = front.map_or(self.queued, |s| s.at);
                    let step = n.min(end - self.written);
                    self.written += step;
                    n -= step;
                    if step == 0 && last {
                        break; // more than was queued: ignore the excess
                    }
                }
            }
        }
        if self.unsent() == 0 {
            self.clear();
        }
    }

    /// Queue `bytes` by reference after what is queued.
    pub(super) fn push_shared(&mut self, bytes: Bytes) {
        self.shared_unsent += bytes.len();
        if !bytes.is_empty() {
            self.shared.push_back(Shared { at: self.queued, bytes, sent: 0 });
        }
    }

    /// Append what `write` puts into room of `room` bytes (more if it asks).
    pub(super) fn encode(
        &mut self,
        room: usize,
        mut write: impl FnMut(&mut [u8]) -> Result<usize, Error>,
    ) -> Result<(), Error> {
        self.encode_optional(room, |buf| write(buf).map(Some)).map(|_| ())
    }

    /// [`encode`](Self::encode) for a writer that may have nothing to write.
    pub(super) fn encode_optional(
        &mut self,
        mut room: usize,
        mut write: impl FnMut(&mut [u8]) -> Result<Option<usize>, Error>,
    ) -> Result<bool, Error> {
        self.compact();
        loop {
            let end = self.queued.saturating_add(room);
            if self.buf.len() < end {
                self.buf.resize(end, 0); // zeroes new room only, once
            }
            // `queued <= buf.len()`: the resize above made room past it.
            match write(&mut self.buf[self.queued..]) {
                Ok(Some(n)) => {
                    self.queued += n;
                    return Ok(true);
                }
                Ok(None) => return Ok(false),
                Err(Error::BufferTooSmall { needed }) if needed > room => room = needed,
                Err(e) => return Err(e),
            }
        }
    }

    /// Move unsent frames to the front once most of the buffer is written.
    fn compact(&mut self) {
        let skip = match self.shared.front() {
            Some(s) => s.at.min(self.written),
            None => self.written,
        };
        if skip > 0 && skip >= self.buf.len() / 2 {
            self.buf.copy_within(skip..self.queued, 0);
            self.queued -= skip;
            self.written -= skip;
            for s in &mut self.shared {
                s.at -= skip;
            }
        }
    }

    /// Drop everything queued (the buffer is kept).
    pub(super) fn clear(&mut self) {
        self.queued = 0;
        self.written = 0;
        self.shared.clear();
        self.shared_unsent = 0;
    }

    /// Give the buffer back if nothing waits in it. A small queue of
    /// shared payloads is kept: a broadcast subscriber would otherwise
    /// allocate it anew for every message.
    pub(super) fn release(&mut self) {
        if self.unsent() == 0 {
            let shared = core::mem::take(&mut self.shared);
            *self = Outbound::default();
            if shared.capacity() <= KEPT_SHARED {
                self.shared = shared;
            }
        }
    }

    pub(super) fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn written(out: &mut Outbound, step: usize) -> Vec<u8> {
        let mut all = Vec::new();
        while out.unsent() > 0 {
            let data = out.data();
            let n = data.len().min(step);
            all.extend_from_slice(&data[..n]);
            out.advance(n);
        }
        all
    }

    #[test]
    fn shared_payloads_keep_their_place_in_any_write_size() {
        for step in [1, 2, 3, 5, 100] {
            let mut out = Outbound::default();
            out.encode(8, |buf| {
                buf[..2].copy_from_slice(b"h1");
                Ok(2)
            })
            .unwrap();
            out.push_shared(Bytes::from_static(b"PAYLOAD"));
            out.encode(8, |buf| {
                buf[..3].copy_from_slice(b"h2x");
                Ok(3)
            })
            .unwrap();
            out.push_shared(Bytes::from_static(b"MORE"));
            assert_eq!(out.unsent(), 16);
            let chunks: Vec<&[u8]> = out.chunks().collect();
            assert_eq!(chunks, vec![&b"h1"[..], b"PAYLOAD", b"h2x", b"MORE"]);
            assert_eq!(written(&mut out, step), b"h1PAYLOADh2xMORE", "step {step}");
            assert_eq!(out.unsent(), 0);
        }
    }

    #[test]
    fn compaction_moves_shared_positions_along() {
        let mut out = Outbound::default();
        out.encode(64, |buf| {
            buf[..60].fill(b'a');
            Ok(60)
        })
        .unwrap();
        out.advance(50);
        out.push_shared(Bytes::from_static(b"S"));
        out.encode(4, |buf| {
            buf[..1].copy_from_slice(b"b");
            Ok(1)
        })
        .unwrap(); // compacts: 50 of 64 written
        assert_eq!(written(&mut out, 7), b"aaaaaaaaaaSb");
    }
}
