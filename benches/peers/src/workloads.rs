//! The workloads of `BENCHMARKS.md` and wscore's drivers for them, shared by
//! the criterion benches of the root crate (`benches/decode.rs` and
//! `benches/encode.rs` include this file with `#[path]`) and by the peers
//! comparison (`benches/peers`), so that both time the same bytes through the
//! same code.
//!
//! A decode workload is a stream of masked client frames, what a server
//! reads, built once from fixed seeds. Every message a decoder delivers is
//! counted and checksummed into a [`Tally`] (message count, payload bytes, and
//! an order-sensitive hash of each message's byte sum, which does not depend
//! on how a message is cut into pieces), so no decoder can skip work and all
//! of them must agree with the tally made while the stream was built.
#![allow(dead_code)] // each bench uses a part of it

use std::hint::black_box;

use wscore::{Config, Connection, DataKind, Event, Instant, Outgoing, Role};

/// The wscore driver's input buffer: it reads the stream this many bytes at a
/// time, as a transport reads a socket (the README's echo server uses the same
/// size). The copy into it stands for the socket read, which every decoder
/// pays: the peers copy from their stream into their own buffers too.
pub const READ_BUF: usize = 64 * 1024;

/// The wscore driver's output buffer: one 64 KiB frame with its 14-byte header.
pub const OUT_BUF: usize = 64 * 1024 + 14;

/// What the messages of a workload hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content {
    /// Printable ASCII text.
    Ascii,
    /// Text mixing ASCII with 2-, 3- and 4-byte UTF-8 sequences.
    MixedText,
    /// Pseudo-random bytes.
    Binary,
}

/// A run of messages, all of one length and content.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// Short id for criterion and command lines.
    pub id: &'static str,
    /// Name in tables.
    pub title: &'static str,
    /// How many messages.
    pub messages: usize,
    /// Bytes per message.
    pub len: usize,
    /// Frames per message: 1, or that many continuation fragments of equal size.
    pub frames: usize,
    /// What the messages hold.
    pub content: Content,
}

impl Workload {
    /// Whether the messages are text.
    pub fn is_text(&self) -> bool {
        self.content != Content::Binary
    }

    /// Payload bytes over all messages.
    pub fn payload_bytes(&self) -> u64 {
        (self.messages * self.len) as u64
    }
}

/// The decode workloads, in the order of the tables.
pub const DECODE: [Workload; 5] = [
    Workload {
        id: "16B-text",
        title: "10,000 x 16 B text (ASCII)",
        messages: 10_000,
        len: 16,
        frames: 1,
        content: Content::Ascii,
    },
    Workload {
        id: "1KiB-mixed-text",
        title: "10,000 x 1 KiB text (mixed UTF-8)",
        messages: 10_000,
        len: 1 << 10,
        frames: 1,
        content: Content::MixedText,
    },
    Workload {
        id: "64KiB-binary",
        title: "1,000 x 64 KiB binary",
        messages: 1_000,
        len: 64 << 10,
        frames: 1,
        content: Content::Binary,
    },
    Workload {
        id: "1MiB-binary",
        title: "100 x 1 MiB binary",
        messages: 100,
        len: 1 << 20,
        frames: 1,
        content: Content::Binary,
    },
    Workload {
        id: "64KiB-text-16-fragments",
        title: "1,000 x 64 KiB text, 16 x 4 KiB fragments",
        messages: 1_000,
        len: 64 << 10,
        frames: 16,
        content: Content::MixedText,
    },
];

/// The encode workloads: the 16-byte and 64 KiB ones, sent whole.
pub const ENCODE: [Workload; 2] = [DECODE[0], DECODE[2]];

/// Message count, payload bytes and a checksum of a run of messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Whole messages seen.
    pub messages: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// An order-sensitive hash of every message's byte sum.
    pub checksum: u64,
}

impl Tally {
    /// Count a whole message, text or binary, of `len` bytes whose bytes add
    /// up to `sum`.
    #[inline]
    pub fn message(&mut self, text: bool, sum: u64, len: usize) {
        self.messages += 1;
        self.bytes += len as u64;
        let word = sum << 1 | u64::from(text);
        self.checksum = (self.checksum.rotate_left(7) ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    /// Count `payload` as a whole message.
    #[inline]
    pub fn add(&mut self, text: bool, payload: &[u8]) {
        self.message(text, byte_sum(payload), payload.len());
    }
}

/// The sum of the bytes: the checksum's reading of every payload byte. On
/// x86-64 it is SSE2's `psadbw`, 64 bytes per step and then 16 (SSE2 is the
/// baseline, so every decoder gets the same code): a small fraction of a
/// decoder's work.
#[inline]
pub fn byte_sum(bytes: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_add_epi64, _mm_loadu_si128, _mm_sad_epu8, _mm_setzero_si128,
        };
        let mut chunks = bytes.chunks_exact(64);
        let mut blocks = chunks.remainder().chunks_exact(16);
        // SAFETY: SSE2 is enabled on every x86-64 target; each 16-byte load
        // is inside `chunk` or `block`, and `loadu` takes any alignment; any
        // 16 bytes are a valid `[u64; 2]`.
        let lanes = unsafe {
            let zero = _mm_setzero_si128();
            let (mut a, mut b) = (zero, zero);
            for chunk in &mut chunks {
                let p = chunk.as_ptr().cast::<__m128i>();
                let w = _mm_sad_epu8(_mm_loadu_si128(p), zero);
                let x = _mm_sad_epu8(_mm_loadu_si128(p.add(1)), zero);
                let y = _mm_sad_epu8(_mm_loadu_si128(p.add(2)), zero);
                let z = _mm_sad_epu8(_mm_loadu_si128(p.add(3)), zero);
                a = _mm_add_epi64(a, _mm_add_epi64(w, x));
                b = _mm_add_epi64(b, _mm_add_epi64(y, z));
            }
            for block in &mut blocks {
                a = _mm_add_epi64(a, _mm_sad_epu8(_mm_loadu_si128(block.as_ptr().cast()), zero));
            }
            std::mem::transmute::<__m128i, [u64; 2]>(_mm_add_epi64(a, b))
        };
        lanes[0] + lanes[1] + blocks.remainder().iter().map(|&b| u64::from(b)).sum::<u64>()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        bytes.iter().map(|&b| u64::from(b)).sum()
    }
}

/// xorshift64*: fixed seeds give the same workloads on every run.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value; zero is replaced).
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Words and symbols for mixed text, drawn uniformly: about 45% of the bytes
/// ASCII, the rest 2-byte (Latin, Greek, Cyrillic), 3-byte (CJK, symbols)
/// and 4-byte (emoji) sequences.
const PIECES: [&str; 20] = [
    "the ",
    "price ",
    "is ",
    "42 ",
    "ok, ",
    "message ",
    "über ",
    "café ",
    "señor ",
    "Straße ",
    "Ελλάδα ",
    "привет ",
    "€ ",
    "→ ",
    "株価 ",
    "東京 ",
    "日本語 ",
    "😀 ",
    "𝄞 ",
    "🚀 ",
];

/// The payload of message `index` of `w`: deterministic, and different for
/// every message.
pub fn payload(w: &Workload, index: usize) -> Vec<u8> {
    let seed = (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (w.len as u64) << 32;
    let mut rng = Rng::new(seed);
    match w.content {
        Content::Ascii => (0..w.len).map(|_| b' ' + (rng.next_u64() % 95) as u8).collect(),
        Content::Binary => {
            let mut bytes = Vec::with_capacity(w.len + 8);
            while bytes.len() < w.len {
                bytes.extend_from_slice(&rng.next_u64().to_le_bytes());
            }
            bytes.truncate(w.len);
            bytes
        }
        Content::MixedText => {
            let mut text = String::with_capacity(w.len);
            loop {
                let piece = PIECES[(rng.next_u64() % PIECES.len() as u64) as usize];
                if text.len() + piece.len() > w.len {
                    break;
                }
                text.push_str(piece);
            }
            while text.len() < w.len {
                text.push('.');
            }
            text.into_bytes()
        }
    }
}

/// Every payload of `w`, in order.
pub fn payloads(w: &Workload) -> Vec<Vec<u8>> {
    (0..w.messages).map(|i| payload(w, i)).collect()
}

/// A stream of frames and the tally its messages must give.
pub struct Stream {
    /// The frames, back to back.
    pub bytes: Vec<u8>,
    /// What decoding it must give.
    pub expected: Tally,
}

/// Append one masked frame (the RFC 6455 layout, a client's).
fn push_frame(out: &mut Vec<u8>, fin: bool, opcode: u8, payload: &[u8], key: [u8; 4]) {
    out.push(u8::from(fin) << 7 | opcode);
    match payload.len() {
        len @ 0..=125 => out.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, &b)| b ^ key[i % 4]));
}

/// `w` as a client sends it: every message masked with its own key, split
/// into `w.frames` fragments.
pub fn client_stream(w: &Workload) -> Stream {
    let header = 14 * w.frames;
    let mut bytes = Vec::with_capacity(w.messages * (w.len + header));
    let mut expected = Tally::default();
    let mut keys = Rng::new(0x5eed_0f3a_5c00_ffee);
    for i in 0..w.messages {
        let payload = payload(w, i);
        expected.add(w.is_text(), &payload);
        let pieces = payload.chunks(w.len / w.frames);
        let last = pieces.len() - 1;
        for (f, piece) in pieces.enumerate() {
            let opcode = match (f, w.is_text()) {
                (0, true) => 0x1,
                (0, false) => 0x2,
                _ => 0x0,
            };
            let key = (keys.next_u64() as u32).to_le_bytes();
            push_frame(&mut bytes, f == last, opcode, piece, key);
        }
    }
    Stream { bytes, expected }
}

/// Decode `stream` in `role` through the core API, the way a transport author
/// drives it (the README's loop): copy the next `buf.len()` bytes of the
/// stream into `buf` behind what is left there (the socket read), call
/// `Connection::read` until it has no event, drop the consumed bytes, repeat.
/// Payloads are unmasked in place in `buf` and lent out as `Event::Data`
/// pieces; each piece goes into its message's byte sum.
///
/// # Panics
///
/// On a protocol error, an event other than data, or a stream that ends
/// inside a frame.
pub fn wscore_decode(role: Role, stream: &[u8], buf: &mut [u8]) -> Tally {
    wscore_decode_with(Connection::with_seed(role, Config::default(), [0; 32]), stream, buf)
}

/// [`wscore_decode`] through `conn` (one with permessage-deflate on, say).
pub fn wscore_decode_with(mut conn: Connection, stream: &[u8], buf: &mut [u8]) -> Tally {
    let mut tally = Tally::default();
    let (mut sum, mut len) = (0u64, 0usize);
    let (mut src, mut filled) = (0, 0);
    while src < stream.len() {
        let n = (buf.len() - filled).min(stream.len() - src);
        buf[filled..filled + n].copy_from_slice(&stream[src..src + n]);
        src += n;
        filled += n;
        let mut start = 0;
        loop {
            let decoded = conn.read(&mut buf[start..filled], Instant(0)).expect("a valid stream");
            start += decoded.consumed;
            match decoded.event {
                Some(Event::Data { kind, payload, fin }) => {
                    sum += byte_sum(payload);
                    len += payload.len();
                    if fin {
                        tally.message(kind == DataKind::Text, sum, len);
                        (sum, len) = (0, 0);
                    }
                }
                Some(other) => panic!("unexpected event {other:?}"),
                None => break,
            }
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
    }
    assert_eq!(filled, 0, "the stream ends inside a frame");
    tally
}

/// Whole messages through `wscore::session::Session`, as the tokio driver
/// gets them: each read appends at most 64 KiB (a socket's worth) and at
/// most the room the session reserved (as `read_buf` does), and every
/// message comes out whole, lent from that buffer when it came in one
/// frame.
///
/// # Panics
///
/// On a protocol error or an event other than a message.
pub fn wscore_session_decode(stream: &[u8]) -> Tally {
    use wscore::session::{Buffers, Incoming, Session};
    let conn = Connection::with_seed(Role::Server, Config::default(), [0; 32]);
    let mut session = Session::new(conn, Buffers::DEFAULT);
    let mut tally = Tally::default();
    let mut src = 0;
    while src < stream.len() {
        let buf = session.read_buffer();
        let n = (buf.capacity() - buf.len()).min(READ_BUF).min(stream.len() - src);
        buf.extend_from_slice(&stream[src..src + n]);
        src += n;
        while let Some(incoming) = session.next_incoming(Instant(0)).expect("a valid stream") {
            match incoming {
                Incoming::Text(text) => tally.add(true, text.as_bytes()),
                Incoming::Binary(data) => tally.add(false, &data),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    tally
}

/// Every message sent whole through a client `Session`, corked: its write
/// buffer goes to `sink` when the next frame would take it past
/// `max_unsent` (1 MiB), as a driver writes.
pub fn wscore_session_encode(messages: &Messages, sink: &mut Sink) {
    use wscore::session::{Buffers, Session};
    let conn = Connection::with_seed(Role::Client, Config::default(), [7; 32]);
    let mut session = Session::new(conn, Buffers::DEFAULT);
    let mut send = |frame: Outgoing<'_>| loop {
        match session.send(frame) {
            Err(wscore::Error::Backpressure { .. }) => {
                sink.write(session.data_to_send());
                let n = session.unsent();
                session.advance(n);
            }
            other => break other.expect("a valid message"),
        }
    };
    match messages {
        Messages::Text(texts) => texts.iter().for_each(|t| send(Outgoing::Text(t))),
        Messages::Binary(data) => data.iter().for_each(|b| send(Outgoing::Binary(b))),
    }
    sink.write(session.data_to_send());
}

/// The transport's part of [`wscore_decode`] alone: the stream copied into
/// `buf`, `buf.len()` bytes at a time. Returns a byte of each copy.
pub fn copy_only(stream: &[u8], buf: &mut [u8]) -> u64 {
    let mut seen = 0;
    for chunk in stream.chunks(buf.len()) {
        buf[..chunk.len()].copy_from_slice(chunk);
        seen += u64::from(black_box(&*buf)[0]);
    }
    seen
}

/// Where encoders send their bytes: it counts them and folds the first and
/// last byte of every write into a check value (after a `black_box`, so the
/// bytes must exist), and copies them only when asked to capture.
#[derive(Debug, Default)]
pub struct Sink {
    /// Bytes written.
    pub bytes: u64,
    /// A fold of every write's ends.
    pub check: u64,
    /// Everything written, when capturing (to check an encoder's output).
    pub capture: Option<Vec<u8>>,
}

impl Sink {
    /// A sink that keeps what it is given.
    pub fn capturing() -> Self {
        Sink { capture: Some(Vec::new()), ..Sink::default() }
    }

    /// Take `data`.
    #[inline]
    pub fn write(&mut self, data: &[u8]) {
        let data = black_box(data);
        if let (Some(first), Some(last)) = (data.first(), data.last()) {
            self.bytes += data.len() as u64;
            self.check = self.check.rotate_left(3) ^ u64::from(*first) << 8 ^ u64::from(*last);
        }
        if let Some(capture) = &mut self.capture {
            capture.extend_from_slice(data);
        }
    }
}

/// The messages of an encode workload, as an application holds them.
pub enum Messages {
    /// Text messages.
    Text(Vec<String>),
    /// Binary messages.
    Binary(Vec<Vec<u8>>),
}

impl Messages {
    /// The messages of `w`.
    pub fn of(w: &Workload) -> Self {
        let payloads = payloads(w);
        if w.is_text() {
            let text = payloads.into_iter().map(|p| String::from_utf8(p).expect("UTF-8 text"));
            Messages::Text(text.collect())
        } else {
            Messages::Binary(payloads)
        }
    }

    /// The bytes of every message.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let (text, binary) = match self {
            Messages::Text(v) => (&v[..], &[][..]),
            Messages::Binary(v) => (&[][..], &v[..]),
        };
        text.iter().map(|s| s.as_bytes()).chain(binary.iter().map(|b| &b[..]))
    }

    /// Whether they are text.
    pub fn is_text(&self) -> bool {
        matches!(self, Messages::Text(_))
    }

    /// What decoding them must give.
    pub fn tally(&self) -> Tally {
        let mut tally = Tally::default();
        for m in self.iter() {
            tally.add(self.is_text(), m);
        }
        tally
    }
}

/// Encode every message whole in `role` (client frames masked, with keys from
/// a ChaCha stream seeded once) into `out`, frames back to back, as a
/// transport batches its writes: when a frame does not fit behind the others
/// (`Error::BufferTooSmall`, nothing written), hand `out` to `sink` and encode
/// it again at the front; hand over the rest at the end.
///
/// # Panics
///
/// If a frame does not fit in `out` even alone.
pub fn wscore_encode(role: Role, messages: &Messages, out: &mut [u8], sink: &mut Sink) {
    wscore_encode_with(Connection::with_seed(role, Config::default(), [7; 32]), messages, out, sink)
}

/// [`wscore_encode`] through `conn` (one with permessage-deflate on, say).
/// A frame that needs more room than `out` has even alone (a compressed
/// frame reserves room for the worst case) goes out through a buffer of
/// its own.
pub fn wscore_encode_with(
    mut conn: Connection,
    messages: &Messages,
    out: &mut [u8],
    sink: &mut Sink,
) {
    let mut filled = 0;
    let mut send = |frame: Outgoing<'_>| match conn.encode(frame, &mut out[filled..]) {
        Ok(n) => filled += n,
        Err(wscore::Error::BufferTooSmall { needed }) => {
            sink.write(&out[..filled]);
            filled = 0;
            if needed <= out.len() {
                filled = conn.encode(frame, out).expect("room for one frame");
            } else {
                let mut own = vec![0; needed];
                let n = conn.encode(frame, &mut own).expect("room for one frame");
                sink.write(&own[..n]);
            }
        }
        Err(e) => panic!("{e}"),
    };
    match messages {
        Messages::Text(texts) => texts.iter().for_each(|t| send(Outgoing::Text(t))),
        Messages::Binary(data) => data.iter().for_each(|b| send(Outgoing::Binary(b))),
    }
    sink.write(&out[..filled]);
}
