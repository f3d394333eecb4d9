//! wscore beside tungstenite, fastwebsockets and tokio-websockets, in one
//! process, on the workloads of `BENCHMARKS.md`:
//!
//! * **decode**: a server reading masked client frames from memory (every
//!   message counted and checksummed; each crate must agree with the tally
//!   made when the stream was built, a mismatch is printed as an error);
//! * **encode**: a client sending 16-byte and 64 KiB messages (masked) into an
//!   in-memory sink; each crate's output is decoded back and checked once;
//! * **mask**: `wscore::mask::apply_mask` beside `fastwebsockets::unmask`, and
//!   the physical limits: `copy_from_slice` (memcpy) and an in-place XOR
//!   compiled for the widest vector extension of this CPU.
//!
//! Every figure is a median over `--reps` samples (at least 5; each sample
//! runs the work enough times to last about `--sample-ms`), printed with the
//! min and max, as Markdown tables.
//!
//! ```text
//! cd benches/peers
//! cargo run --release                         # everything (about 3 minutes)
//! cargo run --release -- decode --reps 9      # one section, more samples
//! ```

mod io;
mod peers;
mod workloads;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use peers::{Ctx, Prepared, CRATES};
use workloads::{client_stream, copy_only, Messages, Sink, Workload, DECODE, ENCODE};

// ---------------------------------------------------------------------------
// Allocations, counted per thread
// ---------------------------------------------------------------------------

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting allocations and reallocations of this
/// thread (a thread-local add: no measurable cost).
struct Counting;

fn count_one() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call goes to `System` with the caller's arguments; counting
// touches only a thread-local integer and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Run `f`, returning its value and the allocations it made on this thread.
fn allocations<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    let value = f();
    (value, ALLOCATIONS.with(Cell::get) - before)
}

// ---------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------

/// Seconds per run of a piece of work: min, median and max over the samples.
#[derive(Clone, Copy, Debug)]
struct Stats {
    min: f64,
    median: f64,
    max: f64,
}

struct Timer {
    reps: usize,
    sample: Duration,
}

impl Timer {
    /// Time pieces of work `0..n`, where `run(i, count)` does piece `i`
    /// `count` times (its own loop, so the choice of `i` costs nothing per
    /// run): warm each up and find how many runs fill a sample, then take
    /// `reps` samples of each, interleaved (a sample of every one, then the
    /// next round), so that whatever else the machine does at some moment
    /// touches all of them alike.
    fn measure_each(&self, n: usize, mut run: impl FnMut(usize, u64)) -> Vec<Stats> {
        let batches: Vec<u64> = (0..n)
            .map(|i| {
                let mut batch = 1u64;
                let per_run = loop {
                    let start = Instant::now();
                    run(i, batch);
                    let elapsed = start.elapsed();
                    if elapsed >= self.sample / 8 || batch >= 1 << 40 {
                        break elapsed.as_secs_f64() / batch as f64;
                    }
                    batch *= if elapsed < self.sample / 1000 { 16 } else { 2 };
                };
                ((self.sample.as_secs_f64() / per_run) as u64).max(1)
            })
            .collect();
        let mut samples = vec![Vec::with_capacity(self.reps); n];
        for _ in 0..self.reps {
            for (i, &batch) in batches.iter().enumerate() {
                let start = Instant::now();
                run(i, batch);
                samples[i].push(start.elapsed().as_secs_f64() / batch as f64);
            }
        }
        samples
            .into_iter()
            .map(|mut s| {
                s.sort_by(f64::total_cmp);
                Stats { min: s[0], median: s[s.len() / 2], max: s[s.len() - 1] }
            })
            .collect()
    }
}

/// `units` per second from seconds per run, scaled by `scale`: median
/// [min-max] (the fastest sample gives the max).
fn rate(units: f64, scale: f64, s: Stats) -> String {
    let r = |t: f64| units / t / scale;
    let digits = |v: f64| {
        if v >= 100.0 {
            0
        } else if v >= 10.0 {
            1
        } else {
            2
        }
    };
    let f = |v: f64| format!("{v:.*}", digits(v));
    format!("{} [{}-{}]", f(r(s.median)), f(r(s.max)), f(r(s.min)))
}

/// The best working peer's time over that of wscore's column `which` (the
/// core, or the session), as "N.NNx", from the medians (`pick` =
/// `|s| s.median`) or the fastest samples (`|s| s.min`).
fn ratio_to_best_peer(
    ok: &[bool],
    stats: &[Stats],
    which: usize,
    pick: fn(&Stats) -> f64,
) -> String {
    let peers = (WSCORE_COLUMNS..ok.len()).filter(|&i| ok[i]);
    let best = peers.map(|i| pick(&stats[i])).fold(f64::INFINITY, f64::min);
    if ok[which] && best.is_finite() {
        format!("{:.2}x", best / pick(&stats[which]))
    } else {
        "n/a".into()
    }
}

/// The columns that are wscore's (the core, then the session); the peers
/// follow.
const WSCORE_COLUMNS: usize = 2;

// ---------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------

fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(c, &w)| format!("{c:<w$}")).collect();
        println!("| {} |", padded.join(" | "));
    };
    line(header.iter().map(|h| h.to_string()).collect());
    line(widths.iter().map(|&w| "-".repeat(w)).collect());
    for row in rows {
        line(row.clone());
    }
    println!();
}

// ---------------------------------------------------------------------------
// Decode
// ---------------------------------------------------------------------------

/// The same workloads with fewer messages, so that the whole stream (at most
/// about 2 MiB) stays in the caches between runs: what each decoder costs
/// when the source is not read from DRAM. Not the specified workloads: a
/// supplement that separates code from memory bandwidth.
fn resident(workloads: &[Workload]) -> Vec<Workload> {
    workloads
        .iter()
        .filter(|w| w.messages * w.len > 2 << 20)
        .map(|w| {
            let messages = w.messages.min((2 << 20) / w.len);
            let title = format!(
                "{} x {}",
                thousands(messages),
                w.title.split_once(" x ").map_or(w.title, |t| t.1)
            );
            Workload { messages, title: Box::leak(title.into_boxed_str()), ..*w }
        })
        .collect()
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn decode_section(title: &str, workloads: &[Workload], timer: &Timer, ctx: &mut Ctx) {
    println!("## {title}\n");
    println!(
        "Payload MB/s (decimal), median [min-max] of {} samples. The ratio is the best \
         peer's time over wscore's, from the medians, then from each one's fastest sample \
         (the least disturbed by the rest of a shared machine).\n",
        timer.reps
    );
    let mut rows = Vec::new();
    let mut msg_rows = Vec::new();
    let mut alloc_rows = Vec::new();
    let mut errors = Vec::new();
    for w in workloads {
        let stream = client_stream(w);
        let bytes = w.payload_bytes() as f64;
        // Once each, untimed: the tally must match, and allocations are counted.
        let mut ok = [true; CRATES.len()];
        let mut allocs = [0; CRATES.len()];
        for (which, name) in CRATES.iter().enumerate() {
            let (checked, count) = allocations(|| peers::decode(which, w, &stream.bytes, ctx));
            allocs[which] = count;
            match checked {
                Ok(tally) if tally == stream.expected => {}
                Ok(tally) => errors.push(format!(
                    "ERROR {name} on {}: got {tally:?}, expected {:?}",
                    w.title, stream.expected
                )),
                Err(e) => {
                    errors.push(format!("ERROR {name} on {}: {e}", w.title));
                    ok[which] = false;
                }
            }
        }
        let mut mismatch = [false; CRATES.len()];
        let stats = timer.measure_each(CRATES.len() + 1, |which, count| {
            for _ in 0..count {
                if which == CRATES.len() {
                    black_box(copy_only(black_box(&stream.bytes), &mut ctx.read_buf));
                } else if ok[which] {
                    let tally = peers::decode(which, w, black_box(&stream.bytes), ctx);
                    mismatch[which] |= tally.as_ref() != Ok(&stream.expected);
                }
            }
        });
        let mut row = vec![w.title.to_string()];
        let mut msg_row = vec![w.title.to_string()];
        let mut alloc_row = vec![w.title.to_string()];
        for (which, name) in CRATES.iter().enumerate() {
            if mismatch[which] {
                errors.push(format!("ERROR {name} on {}: a timed run disagreed", w.title));
            }
            if ok[which] {
                row.push(rate(bytes, 1e6, stats[which]));
                msg_row.push(rate(w.messages as f64, 1e6, stats[which]));
                alloc_row.push(format!("{:.2}", allocs[which] as f64 / w.messages as f64));
            } else {
                row.push("error".into());
                msg_row.push("error".into());
                alloc_row.push("error".into());
            }
        }
        let ratio = ratio_to_best_peer(&ok, &stats, 0, |s| s.median);
        row.push(ratio.clone());
        row.push(ratio_to_best_peer(&ok, &stats, 0, |s| s.min));
        row.push(ratio_to_best_peer(&ok, &stats, 1, |s| s.median));
        row.push(rate(bytes, 1e6, stats[CRATES.len()]));
        msg_row.push(ratio);
        rows.push(row);
        msg_rows.push(msg_row);
        alloc_rows.push(alloc_row);
    }
    let mut header = vec!["workload"];
    header.extend(CRATES);
    header.push("wscore / best peer");
    header.push("same, fastest samples");
    header.push("session / best peer");
    header.push("copy alone");
    print_table(&header, &rows);
    println!(
        "`copy alone`: the copy of the stream into wscore's 64 KiB input buffer alone (its \
         stand-in for the socket read, included in wscore's figure; the peers copy from their \
         stream into their own buffers).\n"
    );
    println!("Messages per second (millions), same samples:\n");
    print_table(&header[..header.len() - 2], &msg_rows);
    println!("Allocations per message (one whole decode, connection setup included):\n");
    print_table(&header[..header.len() - 3], &alloc_rows);
    for e in &errors {
        println!("{e}\n");
    }
}

// ---------------------------------------------------------------------------
// Encode
// ---------------------------------------------------------------------------

fn encode_section(title: &str, workloads: &[Workload], timer: &Timer, ctx: &mut Ctx) {
    println!("## {title}\n");
    println!(
        "Payload MB/s (decimal), median [min-max] of {} samples. The ratio is the best \
         peer's time over wscore's, from the medians, then from each one's fastest sample \
         (the least disturbed by the rest of a shared machine).\n",
        timer.reps
    );
    let mut rows = Vec::new();
    let mut alloc_rows = Vec::new();
    let mut errors = Vec::new();
    for w in workloads {
        let messages = Messages::of(w);
        let pre = Prepared::new(&messages);
        let expected = messages.tally();
        let bytes = w.payload_bytes() as f64;
        let mut ok = [true; CRATES.len()];
        let mut allocs = [0; CRATES.len()];
        for (which, name) in CRATES.iter().enumerate() {
            // Once into a capturing sink: the output must decode (at a wscore
            // server) to the messages sent.
            let mut sink = Sink::capturing();
            let sent = peers::encode(which, &messages, &pre, &mut sink, ctx);
            let wire = sink.capture.take().unwrap_or_default();
            let decoded = sent.and_then(|()| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    workloads::wscore_decode(wscore::Role::Server, &wire, &mut ctx.read_buf)
                }))
                .map_err(|_| "its output does not decode".to_string())
            });
            match decoded {
                Ok(tally) if tally == expected => {}
                Ok(tally) => errors
                    .push(format!("ERROR {name} on {}: {tally:?}, expected {expected:?}", w.title)),
                Err(e) => {
                    errors.push(format!("ERROR {name} on {}: {e}", w.title));
                    ok[which] = false;
                }
            }
            // Then once more into a plain sink, counting allocations.
            let (_, count) = allocations(|| {
                peers::encode(which, &messages, &pre, &mut Sink::default(), ctx).ok()
            });
            allocs[which] = count;
        }
        let mut failed = [false; CRATES.len()];
        let stats = timer.measure_each(CRATES.len(), |which, count| {
            for _ in 0..count {
                if ok[which] {
                    let mut sink = Sink::default();
                    let sent = peers::encode(which, black_box(&messages), &pre, &mut sink, ctx);
                    failed[which] |= sent.is_err();
                    black_box((sink.bytes, sink.check));
                }
            }
        });
        let mut row = vec![w.title.to_string()];
        let mut alloc_row = vec![w.title.to_string()];
        for (which, name) in CRATES.iter().enumerate() {
            if failed[which] {
                errors.push(format!("ERROR {name} on {}: a timed run failed", w.title));
            }
            if ok[which] {
                row.push(rate(bytes, 1e6, stats[which]));
                alloc_row.push(format!("{:.2}", allocs[which] as f64 / w.messages as f64));
            } else {
                row.push("error".into());
                alloc_row.push("error".into());
            }
        }
        row.push(ratio_to_best_peer(&ok, &stats, 0, |s| s.median));
        row.push(ratio_to_best_peer(&ok, &stats, 0, |s| s.min));
        row.push(ratio_to_best_peer(&ok, &stats, 1, |s| s.median));
        row.push(format!("{:.1}", w.messages as f64 / stats[0].median / 1e6));
        rows.push(row);
        alloc_rows.push(alloc_row);
    }
    let mut header = vec!["workload"];
    header.extend(CRATES);
    header.push("wscore / best peer");
    header.push("same, fastest samples");
    header.push("session / best peer");
    header.push("wscore Mmsg/s");
    print_table(&header, &rows);
    println!("Allocations per message (one whole encode, connection setup included):\n");
    print_table(&header[..header.len() - 3], &alloc_rows);
    for e in &errors {
        println!("{e}\n");
    }
}

// ---------------------------------------------------------------------------
// Masking kernels
// ---------------------------------------------------------------------------

const MASK_SIZES: [usize; 6] = [16, 125, 1 << 10, 16 << 10, 256 << 10, 4 << 20];
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Pieces of `len` bytes, each starting `offset` bytes past a 64-byte
/// boundary, taken in turn: up to 64 of them within 32 KiB (L1-resident),
/// one for large sizes. Masking the same bytes call after call would time
/// each call waiting for the previous call's stores to reach its loads
/// (store-to-load forwarding, which AVX-512 masked stores do not get on
/// every CPU): a chain a receiver never builds, since each piece it masks
/// is fresh.
struct Pieces {
    storage: Vec<u8>,
    starts: Vec<usize>,
    len: usize,
}

impl Pieces {
    fn new(len: usize, offset: usize) -> Self {
        let stride = (len + 64).next_multiple_of(64);
        let fit = ((32 << 10) / stride).clamp(1, 64);
        let count = 1 << fit.ilog2(); // a power of two, to take them in turn with a mask
        let storage: Vec<u8> = (0..count * stride + 128).map(|i| (i * 131 + 17) as u8).collect();
        let base = (64 - storage.as_ptr() as usize % 64) % 64 + offset;
        let starts = (0..count).map(|i| base + i * stride).collect();
        Pieces { storage, starts, len }
    }

    /// Run `f` on `count` pieces in turn. The index lives in a register:
    /// `black_box` in `f` makes the compiler reload anything in memory, and
    /// an index kept in `self` would chain every call to the previous one.
    #[inline(always)]
    fn each(&mut self, count: u64, mut f: impl FnMut(&mut [u8])) {
        let (len, mask) = (self.len, self.starts.len() - 1);
        let (starts, storage) = (&self.starts[..], &mut self.storage[..]);
        let mut k = 0;
        for _ in 0..count {
            let start = starts[k];
            f(&mut storage[start..start + len]);
            k = (k + 1) & mask;
        }
    }

    /// The first piece.
    fn first(&mut self) -> &mut [u8] {
        let start = self.starts[0];
        &mut self.storage[start..start + self.len]
    }
}

/// A source and a destination of `len` bytes, both `offset` bytes past a
/// 64-byte boundary, in one allocation, the source 2 KiB further in its
/// 4 KiB page than the destination: loads then never wait on the previous
/// copy's stores to an address with the same low 12 bits (4K aliasing),
/// which would time the CPU's disambiguation rather than the copy.
struct CopyPair {
    storage: Vec<u8>,
    dst: usize,
    src: usize,
    len: usize,
}

impl CopyPair {
    fn new(len: usize, offset: usize) -> Self {
        let storage: Vec<u8> = (0..2 * len + 8192).map(|i| (i * 7 + 3) as u8).collect();
        let dst = (64 - storage.as_ptr() as usize % 64) % 64 + offset;
        let src = dst + len.next_multiple_of(4096) + 2048;
        CopyPair { storage, dst, src, len }
    }

    #[inline(always)]
    fn run(&mut self) {
        let (head, tail) = self.storage.split_at_mut(self.src);
        let dst = &mut head[self.dst..self.dst + self.len];
        black_box(dst).copy_from_slice(black_box(&tail[..self.len]));
    }
}

/// XOR every byte with `k`: a loop the compiler vectorises with whatever
/// registers the function may use.
#[inline(always)]
fn xor_bytes(buf: &mut [u8], k: u8) {
    for b in buf {
        *b ^= k;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
fn xor_avx512(buf: &mut [u8], k: u8) {
    xor_bytes(buf, k)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn xor_avx2(buf: &mut [u8], k: u8) {
    xor_bytes(buf, k)
}

/// The in-place limit: the XOR loop for the widest vectors this CPU has.
fn xor_limit() -> (&'static str, fn(&mut [u8], u8)) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw") {
            // SAFETY: the CPU has AVX-512F and AVX-512BW, just checked.
            return ("xor-avx512", |b, k| unsafe { xor_avx512(b, k) });
        }
        if is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, just checked.
            return ("xor-avx2", |b, k| unsafe { xor_avx2(b, k) });
        }
    }
    ("xor-baseline", xor_bytes)
}

fn mask_section(timer: &Timer) {
    let (limit_name, limit) = xor_limit();
    // Both kernels give the one-byte loop's bytes, so no broken kernel is timed.
    for len in [0, 1, 3, 4, 15, 16, 17, 63, 64, 65, 127, 1000, 4099] {
        for offset in 0..8 {
            let mut piece = Pieces::new(len, offset);
            let original = piece.first().to_vec();
            let mut expected = original.clone();
            wscore::mask::reference::apply_mask(&mut expected, KEY, 0);
            fastwebsockets::unmask(piece.first(), KEY);
            assert!(piece.first() == expected, "fastwebsockets::unmask at {len}+{offset}");
            piece.first().copy_from_slice(&original);
            wscore::mask::apply_mask(piece.first(), KEY, 0);
            assert!(piece.first() == expected, "wscore apply_mask at {len}+{offset}");
        }
    }
    println!("## Masking kernels, in place (memcpy: a copy)\n");
    println!(
        "GB/s (decimal), median [min-max] of {} samples; each piece starts `offset` bytes past \
         a 64-byte boundary (a copy's source and destination both); in-place calls take \
         pieces in turn from a ring of up to 64 within 32 KiB. wscore dispatches to its \
         `{}` kernel here. The in-place limit is `{limit_name}` on 64-byte-aligned pieces \
         (offset 0) in every row: the compiler's loop does not align itself, so at other \
         offsets its own speed is lower and would flatter any kernel that does. The four \
         columns of a row are sampled in turn.\n",
        timer.reps,
        wscore::mask::kernels::selected().name()
    );
    let mut rows = Vec::new();
    for len in MASK_SIZES {
        for offset in 0..8 {
            let mut ring = Pieces::new(len, offset);
            let mut aligned = Pieces::new(len, 0);
            let mut copy = CopyPair::new(len, offset);
            let stats = timer.measure_each(4, |kernel, count| match kernel {
                0 => ring.each(count, |p| fastwebsockets::unmask(black_box(p), KEY)),
                1 => ring.each(count, |p| {
                    black_box(wscore::mask::apply_mask(black_box(p), KEY, 0));
                }),
                2 => aligned.each(count, |p| limit(black_box(p), black_box(0x5a))),
                _ => (0..count).for_each(|_| copy.run()),
            });
            let [fws, ws, xor, memcpy] = [stats[0], stats[1], stats[2], stats[3]];
            rows.push(vec![
                len.to_string(),
                offset.to_string(),
                rate(len as f64, 1e9, fws),
                rate(len as f64, 1e9, ws),
                format!("{:.2}x", fws.median / ws.median),
                rate(len as f64, 1e9, xor),
                format!("{:.0}%", 100.0 * xor.median / ws.median),
                rate(len as f64, 1e9, memcpy),
            ]);
        }
    }
    let limit_column = format!("{limit_name} at offset 0");
    print_table(
        &[
            "bytes",
            "offset",
            "fastwebsockets::unmask",
            "wscore apply_mask",
            "wscore / fastwebsockets",
            &limit_column,
            "wscore / XOR limit",
            "memcpy",
        ],
        &rows,
    );
}

// ---------------------------------------------------------------------------

/// `name version` of a package in this crate's lock file.
fn locked_version(name: &str) -> String {
    let lock = include_str!("../Cargo.lock");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{name}\"") {
            if let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = ")) {
                return format!("{name} {}", v.trim_matches('"'));
            }
        }
    }
    format!("{name} (not locked)")
}

fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info.lines().find_map(|l| l.strip_prefix("model name")?.split(':').nth(1));
    model.map_or_else(|| "unknown CPU".into(), |m| m.trim().to_string())
}

fn main() {
    let mut sections = Vec::new();
    let mut timer = Timer { reps: 7, sample: Duration::from_millis(150) };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |what: &str| -> u64 {
            let value = args.next().and_then(|v| v.parse().ok());
            value.unwrap_or_else(|| panic!("{what} takes a number"))
        };
        match arg.as_str() {
            "--reps" => timer.reps = (number("--reps") as usize).max(5),
            "--sample-ms" => timer.sample = Duration::from_millis(number("--sample-ms")),
            "decode" | "encode" | "mask" => sections.push(arg),
            other => panic!(
                "unknown argument {other}: decode | encode | mask | --reps N | --sample-ms M"
            ),
        }
    }
    if sections.is_empty() {
        sections = vec!["decode".into(), "encode".into(), "mask".into()];
    }
    println!("# wscore and its peers\n");
    println!("CPU: {}; {}", cpu_model(), std::env::consts::ARCH);
    let versions: Vec<String> =
        ["wscore", "tungstenite", "fastwebsockets", "tokio-websockets", "tokio"]
            .iter()
            .map(|n| locked_version(n))
            .collect();
    println!("Crates: {}\n", versions.join(", "));
    let mut ctx = Ctx::new();
    for section in &sections {
        let start = Instant::now();
        match section.as_str() {
            "decode" => {
                let title = "Decode: server role, masked client frames from memory";
                decode_section(title, &DECODE, &timer, &mut ctx);
                let title = "Decode, cache-resident streams (supplement: fewer messages)";
                decode_section(title, &resident(&DECODE), &timer, &mut ctx);
            }
            "encode" => {
                let title = "Encode: client role (masked) into an in-memory sink";
                encode_section(title, &ENCODE, &timer, &mut ctx);
                let title = "Encode, cache-resident payloads (supplement: fewer messages)";
                encode_section(title, &resident(&ENCODE), &timer, &mut ctx);
            }
            // Each kernel call is short: shorter samples keep the section
            // under a minute with the same number of them.
            _ => mask_section(&Timer { reps: timer.reps, sample: timer.sample / 5 }),
        }
        eprintln!("({section}: {:.0} s)", start.elapsed().as_secs_f64());
    }
}
