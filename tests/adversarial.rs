//! Hostile input. Each test asserts the exact outcome (the error, the close
//! code sent, the state after) and that memory stays bounded: a counting
//! global allocator, per thread, shows that the core (`read`,
//! `poll_transmit`, `encode`, `accept`, handshake parsing, `handle_timeout`)
//! allocates nothing while it is fed. Input streams are built before a
//! measurement starts and fed from that buffer in place, the way a transport
//! would deliver them; the harness inside a measurement does not allocate
//! either (fixed arrays, no `Vec` growth, no `drain`).

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use support::*;
use wscore::handshake::{AcceptOptions, ClientRequest, HandshakeError};
use wscore::{
    CloseCode, CloseFrame, Config, Connection, DataKind, Error, Event, Instant, Outgoing,
    ProtocolError, Role, State,
};

// ---------------------------------------------------------------------------
// A counting allocator, per thread
// ---------------------------------------------------------------------------

/// The system allocator, counting each allocation (and reallocation) and its
/// bytes on the thread that makes it.
struct CountingAllocator;

thread_local! {
    // `const` initialisers of a type without `Drop`: the slots need neither
    // lazy initialisation nor a registered destructor, so touching them from
    // inside the allocator never allocates (and cannot recurse into it).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    static ALLOCATED_BYTES: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation(bytes: usize) {
    // `try_with`: a thread being torn down may still free or allocate.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get().wrapping_add(1)));
    let _ = ALLOCATED_BYTES.try_with(|n| n.set(n.get().wrapping_add(bytes)));
}

// SAFETY: every call is forwarded unchanged to `System`; the counting
// touches only this thread's counters and never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation(new_size);
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Allocations and bytes allocated by this thread so far.
fn allocation_counts() -> (usize, usize) {
    (ALLOCATIONS.with(Cell::get), ALLOCATED_BYTES.with(Cell::get))
}

/// Run `f` and return its value with the number of allocations (count,
/// bytes) this thread made meanwhile. Dropping the value happens after.
fn allocations_during<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let (count, bytes) = allocation_counts();
    let value = f();
    let (count_after, bytes_after) = allocation_counts();
    (value, count_after - count, bytes_after - bytes)
}

/// `allocations_during`, asserting there were none.
fn without_allocating<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let (value, count, bytes) = allocations_during(f);
    assert_eq!((count, bytes), (0, 0), "{what}: {count} allocations, {bytes} bytes");
    value
}

/// Allocations summed over several measured calls.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Meter {
    count: usize,
    bytes: usize,
}

impl Meter {
    fn add_since(&mut self, (count, bytes): (usize, usize)) {
        let (count_now, bytes_now) = allocation_counts();
        self.count += count_now - count;
        self.bytes += bytes_now - bytes;
    }
}

// ---------------------------------------------------------------------------
// A transport over a pre-built stream
// ---------------------------------------------------------------------------

/// What the driver hands on: events, and the bytes the connection wrote.
trait Sink {
    fn event(&mut self, event: Event<'_, '_>);
    fn sent(&mut self, bytes: &[u8]);
}

/// Every event, owned, and every byte sent. Allocates: compare outside
/// measurements (the core's own calls are metered separately in [`Fed`]).
#[derive(Debug, Default)]
struct Transcript {
    events: Vec<Ev>,
    sent: Vec<u8>,
}

impl Sink for Transcript {
    fn event(&mut self, event: Event<'_, '_>) {
        self.events.push(owned(event));
    }
    fn sent(&mut self, bytes: &[u8]) {
        self.sent.extend_from_slice(bytes);
    }
}

/// Counts and the first bytes of what was seen, in fixed arrays: recording
/// never allocates, so a whole feed can be measured.
struct Tally {
    requests: usize,
    data_events: usize,
    data_bytes: usize,
    fins: usize,
    /// The first `data.len()` data bytes.
    data: [u8; 256],
    /// Whether every text piece ended on valid UTF-8 or inside a code point
    /// that may still be finished (checked on the bytes kept in `data`).
    text_prefixes_valid: bool,
    pings: usize,
    pongs: usize,
    /// The payload of the last Ping or Pong.
    last_control: [u8; 125],
    last_control_len: usize,
    closes: usize,
    /// The code of the last Close event (`Some(None)`: no status).
    last_close: Option<Option<u16>>,
    writes: usize,
    sent_bytes: usize,
    /// The first `sent.len()` bytes sent.
    sent: [u8; 1024],
}

impl Tally {
    fn new() -> Self {
        Tally {
            requests: 0,
            data_events: 0,
            data_bytes: 0,
            fins: 0,
            data: [0; 256],
            text_prefixes_valid: true,
            pings: 0,
            pongs: 0,
            last_control: [0; 125],
            last_control_len: 0,
            closes: 0,
            last_close: None,
            writes: 0,
            sent_bytes: 0,
            sent: [0; 1024],
        }
    }

    fn data(&self) -> &[u8] {
        &self.data[..self.data_bytes.min(self.data.len())]
    }

    fn sent(&self) -> &[u8] {
        &self.sent[..self.sent_bytes.min(self.sent.len())]
    }

    fn last_control(&self) -> &[u8] {
        &self.last_control[..self.last_control_len]
    }

    fn control(&mut self, payload: &[u8]) {
        self.last_control[..payload.len()].copy_from_slice(payload);
        self.last_control_len = payload.len();
    }
}

/// Copy as much of `src` as fits into `dst` from `at` on.
fn keep(dst: &mut [u8], at: usize, src: &[u8]) {
    if let Some(room) = dst.get_mut(at..) {
        let n = room.len().min(src.len());
        room[..n].copy_from_slice(&src[..n]);
    }
}

impl Sink for Tally {
    fn event(&mut self, event: Event<'_, '_>) {
        match event {
            Event::Data { kind, payload, fin } => {
                keep(&mut self.data, self.data_bytes, payload);
                self.data_events += 1;
                self.data_bytes += payload.len();
                self.fins += usize::from(fin);
                if kind == DataKind::Text && self.data_bytes <= self.data.len() {
                    if let Err(e) = core::str::from_utf8(self.data()) {
                        self.text_prefixes_valid &= e.error_len().is_none() && !fin;
                    }
                }
            }
            Event::Ping(payload) => {
                self.pings += 1;
                self.control(payload);
            }
            Event::Pong(payload) => {
                self.pongs += 1;
                self.control(payload);
            }
            Event::Close(body) => {
                self.closes += 1;
                self.last_close = Some(body.map(|b| b.code.0));
            }
            Event::Request(_) => self.requests += 1,
            Event::Response(_) => unreachable!("these tests run servers and open clients"),
        }
    }

    fn sent(&mut self, bytes: &[u8]) {
        keep(&mut self.sent, self.sent_bytes, bytes);
        self.writes += 1;
        self.sent_bytes += bytes.len();
    }
}

/// How the transport delivers a stream.
#[derive(Debug, Clone, Copy)]
struct Drive<'a> {
    /// Bytes per delivery, cycled (0 counts as 1).
    sizes: &'a [usize],
    now: Instant,
    /// Drain `poll_transmit` after every event and every error.
    flush: bool,
    /// Send each data piece back with `encode` (as the README's echo does).
    echo: bool,
}

const AT_ONCE: &[usize] = &[usize::MAX];
const BYTE_BY_BYTE: &[usize] = &[1];

impl<'a> Drive<'a> {
    fn new(sizes: &'a [usize]) -> Self {
        Drive { sizes, now: Instant(0), flush: true, echo: false }
    }
}

/// How a feed ended.
#[derive(Debug)]
struct Fed {
    /// The error `read` gave, if any (the feed stops there).
    error: Option<Error>,
    /// Bytes delivered to the connection when it stopped (at the error, or
    /// the whole stream).
    revealed: usize,
    /// Bytes the connection consumed.
    consumed: usize,
    /// Allocations inside the connection's own calls.
    core: Meter,
}

/// Deliver `stream` to `conn` as a transport would, `drive.sizes` bytes at a
/// time, from the buffer itself: the bytes not yet consumed stay in place
/// and the next delivery extends them (`read` only changes bytes it
/// consumes). After each delivery, `read` until no event, dropping the
/// consumed bytes every time. A handshake request is accepted with the
/// default options. Allocates nothing but what `sink` does.
fn feed(conn: &mut Connection, stream: &mut [u8], drive: Drive<'_>, sink: &mut impl Sink) -> Fed {
    let mut out = [0u8; 4096];
    let mut core = Meter::default();
    let (mut start, mut end) = (0, 0);
    let mut sizes = drive.sizes.iter().cycle();
    let mut error = None;
    'transport: while end < stream.len() {
        let size = sizes.next().copied().unwrap_or(usize::MAX).max(1);
        end = end.saturating_add(size).min(stream.len());
        loop {
            let mark = allocation_counts();
            let result = conn.read(&mut stream[start..end], drive.now);
            core.add_since(mark);
            let decoded = match result {
                Ok(decoded) => decoded,
                Err(e) => {
                    error = Some(e);
                    break 'transport;
                }
            };
            start += decoded.consumed;
            let Some(event) = decoded.event else { break };
            match event {
                Event::Request(request) => {
                    sink.event(Event::Request(request));
                    let mark = allocation_counts();
                    let n = conn.accept(&request, &AcceptOptions::default(), &mut out);
                    core.add_since(mark);
                    sink.sent(&out[..n.expect("accept")]);
                }
                Event::Data { kind, payload, fin } if drive.echo => {
                    sink.event(Event::Data { kind, payload, fin });
                    // The payload borrows the connection, which sends the echo.
                    let payload = payload.to_vec();
                    let mark = allocation_counts();
                    let n =
                        conn.encode(Outgoing::Fragment { kind, payload: &payload, fin }, &mut out);
                    core.add_since(mark);
                    sink.sent(&out[..n.expect("echo")]);
                }
                event => sink.event(event),
            }
            if drive.flush {
                flush(conn, &mut out, &mut core, sink);
            }
        }
    }
    if error.is_some() && drive.flush {
        flush(conn, &mut out, &mut core, sink);
    }
    Fed { error, revealed: end, consumed: start, core }
}

fn flush(conn: &mut Connection, out: &mut [u8], core: &mut Meter, sink: &mut impl Sink) {
    loop {
        let mark = allocation_counts();
        let polled = conn.poll_transmit(out);
        core.add_since(mark);
        match polled.expect("4 KiB holds whatever poll_transmit writes") {
            Some(n) => sink.sent(&out[..n]),
            None => return,
        }
    }
}

/// Feed into a [`Tally`], asserting that nothing at all was allocated.
fn feed_tallied(conn: &mut Connection, stream: &mut [u8], drive: Drive<'_>) -> (Fed, Tally) {
    let mut tally = Tally::new();
    let fed = without_allocating("feeding", || feed(conn, stream, drive, &mut tally));
    (fed, tally)
}

// ---------------------------------------------------------------------------
// Frames and outcomes
// ---------------------------------------------------------------------------

/// A frame as the peer of a `to` connection sends it: masked to a server,
/// unmasked to a client.
fn frame_to(to: Role, first_byte: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(first_byte, payload, (to == Role::Server).then_some(KEY))
}

/// Only the header of a frame announcing `len` bytes in the 64-bit form,
/// masked for a server; no payload follows.
fn header64(to: Role, first_byte: u8, len: u64) -> Vec<u8> {
    let mut header = vec![first_byte, 127];
    header.extend_from_slice(&len.to_be_bytes());
    if to == Role::Server {
        header[1] |= 0x80;
        header.extend_from_slice(&KEY);
    }
    header
}

/// The opcode byte and the payload of the single control frame `frame`
/// (unmasked in place when masked). Panics unless `frame` is exactly one
/// frame with a short payload.
fn control_frame(frame: &mut [u8]) -> (u8, &[u8]) {
    assert!(frame.len() >= 2, "not a frame: {frame:?}");
    let len = usize::from(frame[1] & 0x7F);
    assert!(len <= 125, "control payload length {len}");
    let (first, masked) = (frame[0], frame[1] & 0x80 != 0);
    let at = if masked { 6 } else { 2 };
    assert_eq!(frame.len(), at + len, "one frame: {frame:?}");
    if masked {
        let key = [frame[2], frame[3], frame[4], frame[5]];
        for (i, byte) in frame[at..].iter_mut().enumerate() {
            *byte ^= key[i % 4];
        }
    }
    (first, &frame[at..])
}

/// A Close payload: the code, then the reason.
fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    [&code.to_be_bytes()[..], reason.as_bytes()].concat()
}

/// The feed failed with `expected`: the connection is closed with the
/// mapped code, exactly one Close with that code (and the error's reason)
/// went out, nothing more is queued, the transport may be closed, more input
/// is refused, and the core allocated nothing.
fn assert_failed(conn: &mut Connection, fed: &Fed, sent: &[u8], expected: ProtocolError) {
    assert_eq!(fed.error, Some(Error::Protocol(expected)), "{fed:?}");
    assert_eq!(fed.core, Meter::default(), "allocations in the core");
    let code = expected.close_code();
    assert_eq!(conn.state(), State::Closed(code));
    let mut frame = sent.to_vec();
    let (first_byte, payload) = control_frame(&mut frame);
    assert_eq!(first_byte, 0x88, "a Close frame");
    assert_eq!(payload, close_payload(code.0, expected.close_reason()));
    assert_eq!(conn.poll_transmit(&mut [0; 256]), Ok(None), "the Close goes out once");
    assert!(conn.close_expected());
    let mut more = frame_to(conn.role(), 0x81, b"more");
    assert_eq!(conn.read(&mut more, Instant(0)).map(|d| d.consumed), Err(Error::Closed));
}

/// A valid upgrade request (RFC 6455 section 1.3's key).
const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Origin: http://example.com\r\nSec-WebSocket-Version: 13\r\n\r\n";

// ---------------------------------------------------------------------------
// The measuring itself
// ---------------------------------------------------------------------------

#[test]
fn the_counting_allocator_counts_this_thread_only() {
    let (v, count, bytes) = allocations_during(|| Vec::<u8>::with_capacity(1000));
    assert_eq!((count, bytes), (1, 1000));
    let (v, count, bytes) = allocations_during(move || {
        let mut v = v;
        v.reserve_exact(3000); // a reallocation counts, with its new size
        v
    });
    assert_eq!((count, bytes), (1, 3000));
    drop(v);

    // Another thread allocating meanwhile is not counted here.
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let progress = Arc::new(AtomicUsize::new(0));
    let theirs = Arc::clone(&progress);
    let other = std::thread::spawn(move || {
        for i in 1..=1000 {
            drop(std::hint::black_box(vec![0u8; 64]));
            theirs.store(i, Ordering::Release);
        }
        allocation_counts().0
    });
    let ((), count, bytes) = allocations_during(|| {
        while progress.load(Ordering::Acquire) < 1000 {
            std::hint::spin_loop();
        }
    });
    assert_eq!((count, bytes), (0, 0));
    assert!(other.join().unwrap() >= 1000);
}

#[test]
fn a_connection_fits_in_536_bytes() {
    let size = core::mem::size_of::<Connection>();
    println!("size_of::<Connection>() = {size}");
    assert!(size <= 536, "Connection is {size} bytes");
}

// ---------------------------------------------------------------------------
// Lengths
// ---------------------------------------------------------------------------

#[test]
fn a_length_of_2_pow_63_minus_1_is_1009_from_the_header_alone() {
    for role in [Role::Server, Role::Client] {
        let len = (1u64 << 63) - 1;
        let expected = ProtocolError::FrameTooLarge { len, max: 16 << 20 };
        for sizes in [AT_ONCE, BYTE_BY_BYTE] {
            let mut conn = connection(role, Config::default());
            let mut header = header64(role, 0x82, len);
            let (fed, tally) = feed_tallied(&mut conn, &mut header, Drive::new(sizes));
            // Decided when the header's last byte arrives; nothing consumed.
            assert_eq!((fed.revealed, fed.consumed), (header.len(), 0), "{role:?}");
            assert_eq!(tally.data_events, 0);
            assert_failed(&mut conn, &fed, tally.sent(), expected);
        }
    }
}

#[test]
fn a_length_of_max_frame_payload_plus_one_is_1009_and_the_limit_itself_passes() {
    let max = Config::default().max_frame_payload;
    for role in [Role::Server, Role::Client] {
        // One over, as the first frame and as a continuation.
        let expected = ProtocolError::FrameTooLarge { len: max + 1, max };
        let mut conn = connection(role, Config::default());
        let mut header = header64(role, 0x82, max + 1);
        let (fed, tally) = feed_tallied(&mut conn, &mut header, Drive::new(BYTE_BY_BYTE));
        assert_eq!(fed.revealed, header.len());
        assert_failed(&mut conn, &fed, tally.sent(), expected);

        let mut conn = connection(role, Config::default());
        let first = frame_to(role, 0x01, b"a");
        let mut stream = [first.clone(), header64(role, 0x80, max + 1)].concat();
        let (fed, tally) = feed_tallied(&mut conn, &mut stream, Drive::new(AT_ONCE));
        assert_eq!((tally.data(), fed.consumed), (&b"a"[..], first.len()));
        assert_failed(&mut conn, &fed, tally.sent(), expected);

        // Exactly the limit: the header is taken, the payload awaited.
        let mut conn = connection(role, Config::default());
        let mut header = header64(role, 0x82, max);
        let (fed, tally) = feed_tallied(&mut conn, &mut header, Drive::new(BYTE_BY_BYTE));
        assert_eq!(fed.error, None);
        assert_eq!((fed.consumed, tally.data_events, tally.writes), (header.len(), 0, 0));
        assert_eq!(conn.state(), State::Open);
    }
}

#[test]
fn a_length_with_the_top_bit_set_is_1002() {
    for role in [Role::Server, Role::Client] {
        for len in [1u64 << 63, u64::MAX] {
            let mut conn = connection(role, Config::default());
            let mut header = header64(role, 0x82, len);
            let (fed, tally) = feed_tallied(&mut conn, &mut header, Drive::new(BYTE_BY_BYTE));
            assert_eq!((fed.revealed, fed.consumed), (header.len(), 0));
            assert_failed(&mut conn, &fed, tally.sent(), ProtocolError::LengthTopBitSet);
        }
    }
}

#[test]
fn a_million_one_byte_fragments_fail_at_the_one_that_crosses_max_message_size() {
    const FRAGMENTS: usize = 1_000_000;
    const FRAME: usize = 2 + 4 + 1;
    let max = 999_999;
    let config = Config { max_message_size: max, ..Config::default() };
    // A text message: 'x', then 999_999 continuations of one 'x' each.
    let x = b'x' ^ KEY[0];
    let mut stream = Vec::with_capacity(FRAGMENTS * FRAME);
    for i in 0..FRAGMENTS {
        let opcode = if i == 0 { 0x01 } else { 0x00 };
        stream.extend_from_slice(&[opcode, 0x81, KEY[0], KEY[1], KEY[2], KEY[3], x]);
    }
    let mut conn = connection(Role::Server, config);
    let started = std::time::Instant::now();
    let (fed, tally) = feed_tallied(&mut conn, &mut stream, Drive::new(AT_ONCE));
    let elapsed = started.elapsed();
    println!("{FRAGMENTS} fragments ({} bytes) fed in {elapsed:?}", stream.len());
    // Every byte up to the limit was delivered; the fragment that would be
    // byte 1_000_000 fails from its header.
    assert_eq!(tally.data_bytes, 999_999);
    assert_eq!(tally.data_events, 999_999);
    assert_eq!(tally.fins, 0);
    assert!(tally.text_prefixes_valid);
    assert_eq!(fed.consumed, 999_999 * FRAME);
    assert_failed(&mut conn, &fed, tally.sent(), ProtocolError::MessageTooLarge { max });
    // Linear work: a quadratic decoder would take hours, not seconds.
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
}

// ---------------------------------------------------------------------------
// Control frames
// ---------------------------------------------------------------------------

#[test]
fn a_control_frame_of_126_bytes_is_1002_from_its_second_byte() {
    for role in [Role::Server, Role::Client] {
        for opcode in [0x88, 0x89, 0x8A] {
            // The 16-bit and the 64-bit length forms.
            for mut stream in [frame_to(role, opcode, &[b'p'; 126]), header64(role, opcode, 126)] {
                let mut conn = connection(role, Config::default());
                let (fed, tally) = feed_tallied(&mut conn, &mut stream, Drive::new(BYTE_BY_BYTE));
                assert_eq!((fed.revealed, fed.consumed), (2, 0), "{role:?} {opcode:#x}");
                assert_eq!(tally.pings + tally.pongs + tally.closes, 0);
                assert_failed(&mut conn, &fed, tally.sent(), ProtocolError::ControlFrameTooLong);
            }
        }
    }
}

#[test]
fn a_fragmented_control_frame_is_1002_from_its_second_byte() {
    for role in [Role::Server, Role::Client] {
        for opcode in [0x08, 0x09, 0x0A] {
            // Alone, and inside a fragmented message.
            let text = frame_to(role, 0x01, b"He");
            for prefix in [&[][..], &text] {
                let mut conn = connection(role, Config::default());
                let mut stream = [prefix, &frame_to(role, opcode, b"p")].concat();
                let (fed, tally) = feed_tallied(&mut conn, &mut stream, Drive::new(BYTE_BY_BYTE));
                assert_eq!((fed.revealed, fed.consumed), (prefix.len() + 2, prefix.len()));
                assert_eq!(tally.pings + tally.pongs + tally.closes, 0);
                let expected = ProtocolError::FragmentedControlFrame;
                assert_failed(&mut conn, &fed, tally.sent(), expected);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// UTF-8
// ---------------------------------------------------------------------------

/// Frames carrying `text` cut at the byte positions `cuts`: a text frame,
/// then continuations, the last with FIN. With `noisy`, a Ping goes between
/// each two frames and the message ends with an empty FIN continuation.
fn text_frames(text: &[u8], cuts: &[usize], noisy: bool) -> Vec<u8> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(text.len());
    let pieces: Vec<&[u8]> = bounds.windows(2).map(|w| &text[w[0]..w[1]]).collect();
    let mut stream = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let opcode = if i == 0 { 0x01 } else { 0x00 };
        let fin = if i + 1 == pieces.len() && !noisy { 0x80 } else { 0 };
        if i > 0 && noisy {
            stream.extend(from_client(0x89, b"ping"));
        }
        stream.extend(from_client(fin | opcode, piece));
    }
    if noisy {
        stream.extend(from_client(0x80, b""));
    }
    stream
}

#[test]
fn a_code_point_split_anywhere_across_frames_and_reads_is_valid() {
    let text = "a😀b".as_bytes(); // 61 F0 9F 98 80 62
    let mut runs = 0;
    for layout in 0u32..1 << (text.len() - 1) {
        let cuts: Vec<usize> = (1..text.len()).filter(|i| layout & 1 << (i - 1) != 0).collect();
        for noisy in [false, true] {
            let stream = text_frames(text, &cuts, noisy);
            // At once, byte by byte, and cut in two at every position.
            let mut splits: Vec<Vec<usize>> = vec![AT_ONCE.to_vec(), BYTE_BY_BYTE.to_vec()];
            splits.extend((1..stream.len()).map(|at| vec![at, usize::MAX]));
            for sizes in &splits {
                let mut copy = stream.clone();
                let mut conn = connection(Role::Server, Config::default());
                let (fed, tally) = feed_tallied(&mut conn, &mut copy, Drive::new(sizes));
                let context = format!("cuts {cuts:?}, noisy {noisy}, reads {sizes:?}");
                assert_eq!(fed.error, None, "{context}");
                assert_eq!(fed.consumed, stream.len(), "{context}");
                assert_eq!(tally.data(), text, "{context}");
                assert_eq!(tally.fins, 1, "{context}");
                assert!(tally.text_prefixes_valid, "{context}");
                assert_eq!(tally.pings, if noisy { cuts.len() } else { 0 }, "{context}");
                assert_eq!(conn.state(), State::Open);
                runs += 1;
            }
        }
    }
    println!("{runs} splits, none allocating");
}

/// Byte sequences that no continuation can make valid, and the index of the
/// first byte that makes them impossible.
fn impossible_sequences() -> Vec<(Vec<u8>, usize)> {
    let mut cases = vec![
        (vec![0xC0, 0xAF], 0),       // overlong '/', two bytes (C0, C1 never occur)
        (vec![0xC1, 0xBF], 0),       // overlong, two bytes
        (vec![0xE0, 0x80, 0xAF], 1), // overlong, three bytes: E0 needs A0..BF next
        (vec![0xF0, 0x80, 0x80, 0xAF], 1), // overlong, four bytes: F0 needs 90..BF next
        (vec![0xED, 0xA0, 0x80], 1), // U+D800, the first surrogate
        (vec![0xED, 0xBF, 0xBF], 1), // U+DFFF, the last surrogate
        (vec![0xF4, 0x90, 0x80, 0x80], 1), // U+110000, above the last code point
        (vec![0x80], 0),             // a continuation byte with no lead
        (vec![0xE2, 0x82, 0x41], 2), // a code point cut short by ASCII
    ];
    // F5..FF can never start anything.
    cases.extend((0xF5..=0xFF).map(|lead| (vec![lead, 0x80, 0x80, 0x80], 0)));
    cases
}

#[test]
fn invalid_utf8_fails_at_the_first_impossible_byte_in_an_unfinished_message() {
    for (bad, at) in impossible_sequences() {
        // "ok", the bad bytes, then more: a text frame without FIN, so
        // neither the frame nor the message is finished when it fails.
        let payload = [&b"ok"[..], &bad, &[b'z'; 40]].concat();
        let frame = from_client(0x01, &payload);
        let header = 2 + 4;
        let failing_byte = header + 2 + at;

        let mut stream = frame.clone();
        let mut conn = connection(Role::Server, Config::default());
        let (fed, tally) = feed_tallied(&mut conn, &mut stream, Drive::new(BYTE_BY_BYTE));
        assert_eq!(fed.revealed, failing_byte + 1, "{bad:02X?}");
        assert_eq!(fed.consumed, failing_byte, "{bad:02X?}");
        // Everything before the impossible byte was delivered.
        assert_eq!(tally.data(), &payload[..2 + at], "{bad:02X?}");
        assert!(tally.text_prefixes_valid);
        assert_failed(&mut conn, &fed, tally.sent(), ProtocolError::InvalidUtf8);

        // At once, the piece holding the bad byte is refused whole.
        let mut stream = frame.clone();
        let mut conn = connection(Role::Server, Config::default());
        let (fed, tally) = feed_tallied(&mut conn, &mut stream, Drive::new(AT_ONCE));
        assert_eq!((fed.consumed, tally.data_events), (0, 0), "{bad:02X?}");
        assert_failed(&mut conn, &fed, tally.sent(), ProtocolError::InvalidUtf8);
    }
}

#[test]
fn invalid_utf8_split_across_fragments_fails_at_the_first_impossible_byte() {
    for (bad, at) in impossible_sequences() {
        // The valid start of the sequence ends one fragment; the impossible
        // byte starts the next, which is not the last either.
        let first = from_client(0x01, &[&b"ok"[..], &bad[..at]].concat());
        let second = from_client(0x00, &[&bad[at..], &b"zzzz"[..]].concat());
        let failing_byte = first.len() + 2 + 4;
        for sizes in [BYTE_BY_BYTE, AT_ONCE] {
            let mut stream = [first.as_slice(), &second].concat();
            let mut conn = connection(Role::Server, Config::default());
            let (fed, tally) = feed_tallied(&mut conn, &mut stream, Drive::new(sizes));
            if sizes == BYTE_BY_BYTE {
                assert_eq!(fed.revealed, failing_byte + 1, "{bad:02X?}");
                assert_eq!(fed.consumed, failing_byte, "{bad:02X?}");
            } else {
                assert_eq!(fed.consumed, first.len(), "{bad:02X?}");
            }
            assert_eq!(tally.data(), [&b"ok"[..], &bad[..at]].concat(), "{bad:02X?}");
            assert_failed(&mut conn, &fed, tally.sent(), ProtocolError::InvalidUtf8);
        }
    }
}

// ---------------------------------------------------------------------------
// Close frames
// ---------------------------------------------------------------------------

#[test]
fn a_close_with_a_one_byte_payload_is_1002() {
    for role in [Role::Server, Role::Client] {
        for sizes in [AT_ONCE, BYTE_BY_BYTE] {
            let mut stream = frame_to(role, 0x88, &[0x03]);
            let mut conn = connection(role, Config::default());
            let (fed, tally) = feed_tallied(&mut conn, &mut stream, Drive::new(sizes));
            assert_eq!(fed.revealed, stream.len());
            assert_eq!(tally.closes, 0);
            assert_failed(&mut conn, &fed, tally.sent(), ProtocolError::ClosePayloadTooShort);
        }
    }
}

#[test]
fn a_close_reason_that_is_not_utf8_is_1007() {
    for role in [Role::Server, Role::Client] {
        for sizes in [AT_ONCE, BYTE_BY_BYTE] {
            let payload = [&close_payload(1000, "bye")[..], b"\xED\xA0\x80"].concat();
            let mut stream = frame_to(role, 0x88, &payload);
            let mut conn = connection(role, Config::default());
            let (fed, tally) = feed_tallied(&mut conn, &mut stream, Drive::new(sizes));
            assert_eq!((fed.revealed, tally.closes), (stream.len(), 0));
            assert_failed(&mut conn, &fed, tally.sent(), ProtocolError::InvalidCloseReason);
        }
    }
}

#[test]
fn every_close_code_is_echoed_or_refused_with_1002() {
    for role in [Role::Server, Role::Client] {
        let (valid, refused) = without_allocating("65536 closes", || {
            let (mut valid, mut refused) = (0, 0);
            for code in 0..=u16::MAX {
                let mut conn = connection(role, Config::default());
                let [hi, lo] = code.to_be_bytes();
                let mut masked =
                    [0x88, 0x82, KEY[0], KEY[1], KEY[2], KEY[3], hi ^ KEY[0], lo ^ KEY[1]];
                let mut unmasked = [0x88, 0x02, hi, lo];
                let frame: &mut [u8] = match role {
                    Role::Server => &mut masked,
                    Role::Client => &mut unmasked,
                };
                let frame_len = frame.len();
                let result = conn.read(frame, Instant(0)).map(|d| match d.event {
                    Some(Event::Close(Some(CloseFrame { code, reason: "" }))) => (d.consumed, code),
                    other => panic!("{code}: {other:?}"),
                });
                let mut out = [0u8; 256];
                let n = conn.poll_transmit(&mut out).unwrap().expect("a Close goes out");
                assert_eq!(conn.poll_transmit(&mut [0u8; 256]), Ok(None));
                let (first_byte, payload) = control_frame(&mut out[..n]);
                assert_eq!(first_byte, 0x88);
                if CloseCode(code).is_valid_on_wire() {
                    // The echo of the code, the connection closed with it.
                    assert_eq!(result, Ok((frame_len, CloseCode(code))));
                    assert_eq!(payload, [hi, lo]);
                    assert_eq!(conn.state(), State::Closed(CloseCode(code)));
                    valid += 1;
                } else {
                    let e = ProtocolError::InvalidCloseCode(code);
                    assert_eq!(result, Err(Error::Protocol(e)));
                    assert_eq!(&payload[..2], [0x03, 0xEA], "{code}: a Close 1002");
                    assert_eq!(&payload[2..], e.close_reason().as_bytes());
                    assert_eq!(conn.state(), State::Closed(CloseCode::PROTOCOL_ERROR));
                    refused += 1;
                }
            }
            (valid, refused)
        });
        // 1000-1003, 1007-1014, 3000-4999.
        assert_eq!((valid, refused), (4 + 8 + 2000, 65536 - 2012), "{role:?}");
    }
}

// ---------------------------------------------------------------------------
// The opening handshake
// ---------------------------------------------------------------------------

/// A request head whose header lines go on and on (300-byte lines, so the
/// size limit comes before the 32-header limit).
fn endless_head(len: usize) -> Vec<u8> {
    let mut stream = b"GET /chat HTTP/1.1\r\nHost: example.com\r\n".to_vec();
    let line = [&b"X-Filler: "[..], &[b'a'; 288], b"\r\n"].concat();
    while stream.len() < len {
        stream.extend_from_slice(&line);
    }
    stream
}

/// The handshake failed with `expected`: the answer sent is exactly one
/// response with `status`, the connection is closed and refuses more input.
fn assert_refused(conn: &mut Connection, fed: &Fed, tally: &Tally, expected: HandshakeError) {
    assert_eq!(fed.error, Some(Error::Handshake(expected)), "{fed:?}");
    assert_eq!(fed.core, Meter::default());
    assert_eq!(fed.consumed, 0, "the head is left in the input");
    let status = format!("HTTP/1.1 {} ", expected.status());
    let sent = String::from_utf8_lossy(tally.sent()).into_owned();
    assert!(sent.starts_with(&status), "{sent:?}");
    // One whole response: the head, then as many bytes as it announces.
    assert!(tally.sent_bytes < tally.sent.len(), "{sent:?}");
    let body_at = sent.find("\r\n\r\n").expect("a whole head") + 4;
    let length = sent[..body_at]
        .lines()
        .find_map(|line| line.strip_prefix("Content-Length: "))
        .map_or(0, |n| n.parse().expect("a length"));
    assert_eq!(sent.len(), body_at + length, "{sent:?}");
    assert_eq!(tally.writes, 1);
    assert_eq!(conn.state(), State::Closed(CloseCode::ABNORMAL));
    assert_eq!(conn.poll_transmit(&mut [0; 1024]), Ok(None));
    assert!(conn.close_expected());
    assert_eq!(
        conn.read(&mut b"more".to_vec(), Instant(0)).map(|d| d.consumed),
        Err(Error::Closed)
    );
}

#[test]
fn a_handshake_head_that_never_ends_is_431_once_8_kib_arrived() {
    let limit = 8192;
    let stream = endless_head(3 * limit);
    let expected = HandshakeError::HeadTooLarge { limit };
    assert_eq!(expected.status(), 431);
    // Whatever the deliveries, the head fails with the first one that
    // brings the input to 8 KiB: 8191 bytes are still a head in progress.
    for sizes in [&[64usize][..], &[300], &[1000], &[8191, 1], &[limit], AT_ONCE] {
        let mut copy = stream.clone();
        let mut conn = Connection::server(Config::default());
        let (fed, tally) = feed_tallied(&mut conn, &mut copy, Drive::new(sizes));
        let expected_revealed = match sizes {
            [8191, 1] => limit,
            [n] => limit.div_ceil(*n).saturating_mul(*n).min(stream.len()),
            _ => unreachable!(),
        };
        assert_eq!(fed.revealed, expected_revealed, "deliveries of {sizes:?}");
        assert_eq!(tally.requests, 0);
        assert_refused(&mut conn, &fed, &tally, expected);
    }
    // A smaller limit is kept as exactly.
    let config = Config { max_handshake_head: 1024, ..Config::default() };
    let mut copy = stream.clone();
    let mut conn = Connection::server(config);
    let (fed, tally) = feed_tallied(&mut conn, &mut copy, Drive::new(&[1023, 1]));
    assert_eq!(fed.revealed, 1024);
    assert_refused(&mut conn, &fed, &tally, HandshakeError::HeadTooLarge { limit: 1024 });
}

#[test]
fn a_head_of_exactly_8_kib_is_accepted_and_one_byte_more_is_431() {
    let limit = 8192;
    // REQUEST with an `X-Pad` header that brings it to `len` bytes.
    let padded = |len: usize| {
        let pad = len - REQUEST.len() - b"X-Pad: \r\n".len();
        let body = &REQUEST[..REQUEST.len() - 2];
        [body, b"X-Pad: ", &vec![b'a'; pad], b"\r\n\r\n"].concat()
    };
    for sizes in [&[limit - 1, 1][..], AT_ONCE] {
        let mut head = padded(limit);
        assert_eq!(head.len(), limit);
        let mut conn = Connection::server(Config::default());
        let (fed, tally) = feed_tallied(&mut conn, &mut head, Drive::new(sizes));
        assert_eq!((fed.error, fed.consumed, tally.requests), (None, limit, 1), "{sizes:?}");
        assert!(tally.sent().starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
        assert_eq!(conn.state(), State::Open);

        let mut head = padded(limit + 1);
        let mut conn = Connection::server(Config::default());
        let (fed, tally) = feed_tallied(&mut conn, &mut head, Drive::new(sizes));
        assert_eq!(fed.revealed, if sizes == AT_ONCE { limit + 1 } else { limit });
        assert_refused(&mut conn, &fed, &tally, HandshakeError::HeadTooLarge { limit });
    }
}

#[test]
fn a_response_head_that_never_ends_fails_a_client_once_8_kib_arrived() {
    let limit = 8192;
    let mut stream = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
    stream.extend_from_slice(&endless_head(3 * limit)[b"GET /chat HTTP/1.1\r\n".len()..]);
    let request = ClientRequest::new("example.com", "/chat");
    let mut out = [0u8; 512];
    let (mut client, _) = without_allocating("Connection::client_with_seed", || {
        Connection::client_with_seed(Config::default(), [7; 32], &request, &mut out)
    })
    .unwrap();
    let (fed, tally) = feed_tallied(&mut client, &mut stream, Drive::new(&[64]));
    assert_eq!(fed.error, Some(Error::Handshake(HandshakeError::HeadTooLarge { limit })));
    assert_eq!((fed.revealed, fed.consumed), (limit, 0));
    assert_eq!(tally.writes, 0, "a client answers nothing");
    assert_eq!(client.state(), State::Closed(CloseCode::ABNORMAL));
    assert!(client.close_expected());
    assert_eq!(client.read(&mut stream, Instant(0)).map(|d| d.consumed), Err(Error::Closed));
}

#[test]
fn ten_thousand_headers_are_431() {
    let start = b"GET /chat HTTP/1.1\r\nHost: example.com\r\n";
    let line = b"X-H: v\r\n";
    let mut stream = start.to_vec();
    for _ in 0..10_000 {
        stream.extend_from_slice(line);
    }
    stream.extend_from_slice(b"\r\n");

    // 32 slots: Host and 31 more fit; the 33rd header line fails the head
    // once it is complete, long before the 8 KiB limit.
    let end_of_33rd = start.len() + 32 * line.len();
    for (sizes, revealed) in [(AT_ONCE, stream.len()), (BYTE_BY_BYTE, end_of_33rd)] {
        let mut copy = stream.clone();
        let mut conn = Connection::server(Config::default());
        let (fed, tally) = feed_tallied(&mut conn, &mut copy, Drive::new(sizes));
        assert_eq!(fed.revealed, revealed, "{sizes:?}");
        assert_refused(&mut conn, &fed, &tally, HandshakeError::TooManyHeaders { limit: 32 });
    }

    // Asking for 10,000 slots gets the ceiling, 128 (slots live on the
    // stack), even with the head limit out of the way.
    let config =
        Config { max_handshake_headers: 10_000, max_handshake_head: 1 << 20, ..Config::default() };
    assert_eq!(wscore::MAX_HANDSHAKE_HEADERS, 128);
    let mut copy = stream.clone();
    let mut conn = Connection::server(config);
    let (fed, tally) = feed_tallied(&mut conn, &mut copy, Drive::new(AT_ONCE));
    assert_refused(&mut conn, &fed, &tally, HandshakeError::TooManyHeaders { limit: 128 });
}

/// A whole session from a client: the handshake, then frames of every kind,
/// fragments split inside a code point, and the Close.
fn session() -> Vec<u8> {
    let binary: Vec<u8> = (0..300).map(|i| i as u8).collect();
    [
        REQUEST,
        &from_client(0x81, b"Hello"),
        &from_client(0x01, b"a\xF0\x9F"),
        &from_client(0x89, b"p1"),
        &from_client(0x00, b"\x98"),
        &from_client(0x80, b"\x80b"),
        &from_client(0x82, &binary),
        &from_client(0x8A, b"p2"),
        &from_client(0x88, &close_payload(1000, "bye")),
    ]
    .concat()
}

#[test]
fn a_peer_sending_one_byte_at_a_time_gets_the_same_events_as_all_at_once() {
    let stream = session();
    let binary: Vec<u8> = (0..300).map(|i| i as u8).collect();
    let text =
        |payload: &[u8], fin| Ev::Data { kind: DataKind::Text, payload: payload.to_vec(), fin };
    let expected_events = vec![
        Ev::Request("/chat".into()),
        Ev::text("Hello"),
        text(b"a\xF0\x9F", false),
        Ev::Ping(b"p1".to_vec()),
        text(b"\x98\x80b", true),
        Ev::binary(&binary),
        Ev::Pong(b"p2".to_vec()),
        Ev::close(1000, "bye"),
    ];
    // What goes back: the 101, the echoes, the Pong between the fragments,
    // and the Close reply.
    let expected_sent = vec![
        text(b"Hello", true),
        text(b"a\xF0\x9F", false),
        Ev::Pong(b"p1".to_vec()),
        text(b"\x98\x80b", true),
        Ev::binary(&binary),
        Ev::close(1000, ""),
    ];
    let accept =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    let chunkings: [&[usize]; 9] =
        [AT_ONCE, BYTE_BY_BYTE, &[2], &[3], &[5], &[7], &[13], &[64], &[1, 2, 3, 5, 8]];
    for sizes in chunkings {
        let mut copy = stream.clone();
        let mut conn = Connection::server(Config::default());
        let mut transcript = Transcript::default();
        let drive = Drive { echo: true, ..Drive::new(sizes) };
        let fed = feed(&mut conn, &mut copy, drive, &mut transcript);
        assert_eq!(fed.error, None, "{sizes:?}");
        assert_eq!(fed.core, Meter::default(), "allocations in the core, {sizes:?}");
        assert_eq!(fed.consumed, stream.len());
        assert_eq!(merged(transcript.events), expected_events, "{sizes:?}");
        let (head, frames) = transcript.sent.split_at(accept.len());
        assert_eq!(head, accept, "{sizes:?}");
        assert_eq!(merged(server_frames(frames)), expected_sent, "{sizes:?}");
        assert_eq!(conn.state(), State::Closed(CloseCode::NORMAL));
        assert!(conn.close_expected());
    }
}

#[test]
fn a_slowloris_handshake_times_out() {
    let config = Config { handshake_timeout: Duration::from_secs(1), ..Config::default() };
    let mut conn = without_allocating("Connection::server", || Connection::server(config));
    let mut stream = REQUEST.to_vec();
    // One byte every 10 ms on a virtual clock starting at 5 s: the 200-byte
    // request would take 2 s.
    let (t0, tick) = (5_000, 10);
    let deadline = Instant(t0 + 1_000);
    let (arrived, at, error) = without_allocating("the trickle", || {
        for k in 0..stream.len() {
            let now = Instant(t0 + tick * k as u64);
            let read = conn.read(&mut stream[..=k], now).map(|d| (d.consumed, d.event.is_none()));
            assert_eq!(read, Ok((0, true)), "byte {k}: the head is not complete");
            assert_eq!(conn.poll_timeout(), Some(deadline));
            if let Err(e) = conn.handle_timeout(now) {
                return (k + 1, now, e);
            }
            assert_eq!(conn.poll_transmit(&mut [0; 1024]), Ok(None));
        }
        panic!("the handshake never timed out")
    });
    assert_eq!((arrived, at, error), (101, deadline, Error::HandshakeTimeout));
    assert_eq!(conn.state(), State::Closed(CloseCode::ABNORMAL));
    let mut answer = [0; 1024];
    let n = conn.poll_transmit(&mut answer).unwrap().expect("a 408 for the client");
    assert!(answer[..n].starts_with(b"HTTP/1.1 408 "), "{:?}", &answer[..n]);
    assert_eq!(conn.poll_transmit(&mut answer), Ok(None), "and nothing more");
    assert!(conn.close_expected());
    assert_eq!(conn.poll_timeout(), None);
    assert_eq!(conn.read(&mut stream, deadline).map(|d| d.consumed), Err(Error::Closed));

    // A server trickling its answer to a client fares the same.
    let mut out = [0u8; 512];
    let request = ClientRequest::new("example.com", "/chat");
    let (mut client, _) =
        Connection::client_with_seed(config, [3; 32], &request, &mut out).unwrap();
    let mut answer = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        .to_vec();
    let (arrived, error) = without_allocating("the client's trickle", || {
        for k in 0..answer.len() {
            let now = Instant(t0 + tick * k as u64);
            let read = client.read(&mut answer[..=k], now).map(|d| (d.consumed, d.event.is_none()));
            assert_eq!(read, Ok((0, true)), "byte {k}");
            if let Err(e) = client.handle_timeout(now) {
                return (k + 1, e);
            }
        }
        panic!("the handshake never timed out")
    });
    assert_eq!((arrived, error), (101, Error::HandshakeTimeout));
    assert_eq!(client.state(), State::Closed(CloseCode::ABNORMAL));
    assert!(client.close_expected());
}

// ---------------------------------------------------------------------------
// Frames after the end, frames of the wrong side
// ---------------------------------------------------------------------------

#[test]
fn bytes_after_the_peers_close_are_dropped_and_the_reply_goes_out_once() {
    for role in [Role::Server, Role::Client] {
        let close = frame_to(role, 0x88, &close_payload(1000, "bye"));
        let after = [
            frame_to(role, 0x81, b"after the close"),
            frame_to(role, 0x89, b"ping"),
            frame_to(role, 0x82, &[0; 300]),
            frame_to(role, 0x88, &close_payload(1001, "")),
            vec![0xFF; 20], // not even frames
        ]
        .concat();
        let stream = [close.as_slice(), &after].concat();
        for sizes in [AT_ONCE, BYTE_BY_BYTE, &[3]] {
            let mut copy = stream.clone();
            let mut conn = connection(role, Config::default());
            let (fed, tally) = feed_tallied(&mut conn, &mut copy, Drive::new(sizes));
            assert_eq!(fed.error, None, "{role:?} {sizes:?}");
            assert_eq!(fed.consumed, stream.len());
            assert_eq!((tally.closes, tally.last_close), (1, Some(Some(1000))));
            assert_eq!(tally.data_events + tally.pings + tally.pongs, 0);
            assert_eq!(tally.writes, 1, "one Close reply");
            let mut reply = tally.sent().to_vec();
            assert_eq!(control_frame(&mut reply), (0x88, &[0x03, 0xE8][..]));
            assert_eq!(conn.state(), State::Closed(CloseCode::NORMAL));

            // More, later: consumed, dropped, nothing sent.
            let mut later = after.clone();
            let (fed, tally) = feed_tallied(&mut conn, &mut later, Drive::new(AT_ONCE));
            assert_eq!((fed.error, fed.consumed), (None, after.len()));
            assert_eq!((tally.closes, tally.writes), (0, 0));
        }
    }
}

#[test]
fn a_masked_frame_at_a_client_is_1002_from_its_header() {
    let mut stream = raw_frame(0x81, b"from a server", Some(KEY));
    let mut conn = connection(Role::Client, Config::default());
    let (fed, tally) = feed_tallied(&mut conn, &mut stream, Drive::new(BYTE_BY_BYTE));
    assert_eq!((fed.revealed, fed.consumed), (2 + 4, 0));
    assert_eq!(tally.data_events, 0);
    assert_failed(&mut conn, &fed, tally.sent(), ProtocolError::MaskedFrame);
}

#[test]
fn an_unmasked_frame_at_a_server_is_1002_from_its_header() {
    let mut stream = raw_frame(0x81, b"from a client", None);
    let mut conn = connection(Role::Server, Config::default());
    let (fed, tally) = feed_tallied(&mut conn, &mut stream, Drive::new(BYTE_BY_BYTE));
    assert_eq!((fed.revealed, fed.consumed), (2, 0));
    assert_eq!(tally.data_events, 0);
    assert_failed(&mut conn, &fed, tally.sent(), ProtocolError::UnmaskedFrame);
}

// ---------------------------------------------------------------------------
// Floods and idleness
// ---------------------------------------------------------------------------

#[test]
fn a_flood_of_pings_never_flushed_leaves_one_pong() {
    const PINGS: u32 = 100_000;
    let mut stream = Vec::with_capacity(PINGS as usize * 10);
    for i in 0..PINGS {
        let payload = i.to_be_bytes();
        stream.extend_from_slice(&[0x89, 0x84, KEY[0], KEY[1], KEY[2], KEY[3]]);
        stream.extend(payload.iter().zip(KEY).map(|(b, k)| b ^ k));
    }
    let last = (PINGS - 1).to_be_bytes();
    // At once, and in reads that cut headers and payloads.
    for sizes in [AT_ONCE, &[7], &[4096]] {
        let mut copy = stream.clone();
        let mut conn = connection(Role::Server, Config::default());
        let drive = Drive { flush: false, ..Drive::new(sizes) };
        let (fed, tally) = feed_tallied(&mut conn, &mut copy, drive);
        assert_eq!((fed.error, fed.consumed), (None, stream.len()), "{sizes:?}");
        assert_eq!((tally.pings, tally.writes), (PINGS as usize, 0));
        assert_eq!(tally.last_control(), last);

        let mut out = [0u8; 256];
        let polls = without_allocating("draining", || {
            let first = conn.poll_transmit(&mut out);
            let second = conn.poll_transmit(&mut [0u8; 256]);
            (first, second)
        });
        assert_eq!(polls, (Ok(Some(6)), Ok(None)), "exactly one frame queued");
        assert_eq!(control_frame(&mut out[..6]), (0x8A, &last[..]), "the Pong of the last Ping");
        assert_eq!(conn.state(), State::Open);
    }
}

#[test]
fn a_peer_that_ignores_our_close_is_dropped_after_close_timeout() {
    const ROUNDS: usize = 10_000;
    // After our Close the peer floods text that is not even UTF-8, and
    // Pings: all of it is discarded, nothing answered, until the deadline.
    let flood = [from_client(0x81, b"\xFF\xFE not text"), from_client(0x89, b"ping")].concat();
    let mut stream = Vec::with_capacity(ROUNDS * flood.len());
    for _ in 0..ROUNDS {
        stream.extend_from_slice(&flood);
    }
    let mut conn = connection(Role::Server, Config::default()); // close_timeout 5 s
    let mut out = [0u8; 256];
    let sent = without_allocating("our Close", || {
        conn.handle_timeout(Instant(1_000)).unwrap();
        conn.encode(Outgoing::Close(Some(CloseFrame::new(CloseCode::GOING_AWAY))), &mut out)
    });
    assert_eq!(sent, Ok(4));
    assert_eq!(&out[..4], [0x88, 0x02, 0x03, 0xE9]);
    assert_eq!(conn.state(), State::Closing);

    let drive = Drive { now: Instant(2_000), ..Drive::new(&[4096]) };
    let (fed, tally) = feed_tallied(&mut conn, &mut stream, drive);
    assert_eq!((fed.error, fed.consumed), (None, stream.len()));
    assert_eq!(tally.data_events + tally.pings + tally.closes + tally.writes, 0);
    assert_eq!(conn.state(), State::Closing);

    // `encode` takes no clock: the 5 s count from the next reading (2 s).
    let deadline = Instant(7_000);
    let timeouts = without_allocating("the deadline", || {
        assert_eq!(conn.poll_timeout(), Some(deadline));
        let early = conn.handle_timeout(Instant(6_999));
        (early, conn.handle_timeout(deadline))
    });
    assert_eq!(timeouts, (Ok(()), Err(Error::CloseTimeout)));
    assert_eq!(conn.state(), State::Closed(CloseCode::ABNORMAL));
    assert!(conn.close_expected());
    assert_eq!(conn.poll_transmit(&mut out), Ok(None));
}

#[test]
fn an_idle_connection_without_keepalive_never_allocates() {
    for role in [Role::Server, Role::Client] {
        let mut conn = connection(role, Config { keepalive: None, ..Config::default() });
        let mut out = [0u8; 256];
        let calls = without_allocating("100,000 timeouts", || {
            // A call a minute for about 69 days.
            for minute in 0..100_000u64 {
                assert_eq!(conn.handle_timeout(Instant(minute * 60_000)), Ok(()));
                assert_eq!(conn.poll_timeout(), None);
                assert_eq!(conn.poll_transmit(&mut out), Ok(None));
            }
            100_000
        });
        assert_eq!(calls, 100_000);
        assert_eq!(conn.state(), State::Open, "{role:?}");
    }
}

/// The benchmark workloads (BENCHMARKS.md): decoding them in the server role
/// and encoding them in the client role through the core API allocates
/// nothing, per message or otherwise.
#[test]
fn the_benchmark_workloads_decode_and_encode_without_allocating() {
    use wscore::{DataKind, Outgoing};
    let mixed_text: String = "price €42, 株価 ↑ ok ".repeat(64).chars().take(1000).collect();
    let kib = |n: usize| -> Vec<u8> { (0..n * 1024).map(|i| (i * 7) as u8).collect() };
    // (name, stream of masked client frames, expected messages, expected payload bytes)
    let mut workloads: Vec<(&str, Vec<u8>, usize, usize)> = Vec::new();
    let mut add = |name, frames: Vec<Vec<u8>>, messages, bytes| {
        workloads.push((name, frames.concat(), messages, bytes))
    };
    add(
        "16 B text",
        (0..10_000).map(|_| from_client(0x81, b"0123456789abcdef")).collect(),
        10_000,
        160_000,
    );
    let t = mixed_text.as_bytes();
    add(
        "1 KiB text",
        (0..10_000).map(|_| from_client(0x81, t)).collect(),
        10_000,
        10_000 * t.len(),
    );
    let b64 = kib(64);
    add(
        "64 KiB binary",
        (0..1_000).map(|_| from_client(0x82, &b64)).collect(),
        1_000,
        1_000 * b64.len(),
    );
    let b1m = kib(1024);
    add("1 MiB binary", (0..100).map(|_| from_client(0x82, &b1m)).collect(), 100, 100 * b1m.len());
    let piece = "tick ".repeat(820).into_bytes()[..4096].to_vec();
    let fragmented: Vec<Vec<u8>> = (0..1_000)
        .flat_map(|_| {
            (0..16).map(|i| {
                from_client(
                    if i == 0 {
                        0x01
                    } else if i == 15 {
                        0x80
                    } else {
                        0x00
                    },
                    &piece,
                )
            })
        })
        .collect();
    add("64 KiB text in 16 fragments", fragmented, 1_000, 1_000 * 16 * 4096);

    for (name, mut stream, messages, bytes) in workloads {
        let mut conn = connection(Role::Server, Config::default());
        let (seen, data) = without_allocating(name, || {
            let (mut pos, mut seen, mut data) = (0, 0, 0);
            loop {
                let decoded = conn.read(&mut stream[pos..], Instant(0)).expect("valid stream");
                pos += decoded.consumed;
                match decoded.event {
                    Some(wscore::Event::Data { payload, fin, .. }) => {
                        data += payload.len();
                        seen += usize::from(fin);
                    }
                    Some(_) => {}
                    None => return (seen, data),
                }
            }
        });
        assert_eq!((seen, data), (messages, bytes), "{name}");
    }

    let mut client = connection(Role::Client, Config::default());
    let mut out = vec![0u8; 70 * 1024];
    let b64 = kib(64);
    without_allocating("encode", || {
        for _ in 0..10_000 {
            client.encode(Outgoing::Text("0123456789abcdef"), &mut out).unwrap();
        }
        for _ in 0..1_000 {
            client.encode(Outgoing::Binary(&b64), &mut out).unwrap();
            let frag = Outgoing::Fragment { kind: DataKind::Text, payload: b"tick", fin: true };
            client.encode(frag, &mut out).unwrap();
        }
    });
}

/// permessage-deflate's memory per connection, measured: what a connection
/// allocates for the extension, the first compressed message each way, and
/// nothing after that, with and without context takeover.
#[cfg(feature = "deflate")]
#[test]
fn deflate_memory_per_connection_is_bounded_and_allocated_once() {
    use wscore::deflate::{DeflateConfig, DeflateParams};
    let text = "{\"symbol\":\"BTC-USD\",\"price\":97000.5,\"size\":0.25} ".repeat(20);
    let config = Config { deflate: Some(DeflateConfig::default()), ..Config::default() };
    for no_context_takeover in [false, true] {
        let params = DeflateParams {
            server_no_context_takeover: no_context_takeover,
            client_no_context_takeover: no_context_takeover,
            ..DeflateParams::default()
        };
        // The peer's two compressed messages, made before measuring.
        let mut client = support::connection(Role::Client, config);
        client.enable_deflate(params);
        let mut wire = vec![0u8; 4096];
        let first = client.encode(Outgoing::Text(&text), &mut wire).unwrap();
        let second = client.encode(Outgoing::Text(&text), &mut wire[first..]).unwrap();
        let mut out = vec![0u8; 4096];

        let (mut server, _, setup) = allocations_during(|| {
            let mut server = support::connection(Role::Server, config);
            server.enable_deflate(params);
            server
        });
        let (_, _, inflate) = allocations_during(|| {
            let d = server.read(&mut wire[..first], Instant(0)).unwrap();
            assert!(matches!(d.event, Some(Event::Data { fin: true, .. })));
        });
        let (_, _, compress) = allocations_during(|| {
            server.encode(Outgoing::Text(&text), &mut out).unwrap();
        });
        without_allocating("the second message each way", || {
            let d = server.read(&mut wire[first..first + second], Instant(0)).unwrap();
            assert!(matches!(d.event, Some(Event::Data { fin: true, .. })));
            server.encode(Outgoing::Text(&text), &mut out).unwrap();
        });
        println!(
            "deflate, no context takeover {no_context_takeover}: connection {} B + extension \
             {setup} B; inflate state {inflate} B; compressor {compress} B",
            std::mem::size_of::<Connection>(),
        );
        // About 43 KiB of miniz_oxide inflate state plus the 16 KiB buffer.
        assert!(inflate <= 64 << 10, "inflate: {inflate} B");
        // miniz_oxide's compressor: about 312 KiB, whatever the window.
        assert!(compress <= 320 << 10, "compressor: {compress} B");
        assert!(setup <= 256, "extension state: {setup} B");
    }
}
