//! Fan-out benchmark over loopback TCP: one publisher on a tokio server
//! broadcasts 1 KiB text messages to many WebSocket subscribers; wscore
//! (as used before prepared frames, and with them; and coalescing for slow
//! subscribers) beside tokio-tungstenite, tokio-websockets and
//! fastwebsockets.
//!
//! Each run starts a fresh server in a child process (this binary, as
//! `fanout server <name> <addr> <plan>`), pinned to CPU 0, so that its CPU
//! time and memory are its own; this process is the load client, one
//! thread pinned to CPU 1 (see `client.rs`). Once every subscriber has
//! its `101`, the client tells the server to go; the run ends when every
//! subscriber that reads has every message. The table gives the server's
//! CPU time (user + system) from `go` to the last delivery divided by the
//! messages delivered (messages × subscribers), its ratio to the best
//! peer's, deliveries per second, and the server's resident memory at
//! `go` (the connections) and its peak (`VmHWM`, reset at `go`).
//!
//! Cells:
//!
//! * `1k-full`: 1,000 subscribers, 1,000 messages published as fast as
//!   the subscribers take them: the publisher waits for a subscriber whose
//!   buffer is full, and every subscriber gets every message.
//! * `10k-10hz`: 10,000 subscribers, 10 messages per second for 10 s
//!   (every subscriber gets every message here too). On a small machine
//!   the servers may not keep up with 100,000 deliveries per second: then
//!   the publisher falls behind its ticks and the cell runs longer.
//! * `1k-full-deflate`, `10k-10hz-deflate`: the same with
//!   permessage-deflate; only wscore's servers take part (none of the
//!   peers' versions has it), and the ratio is to `wscore-clone`,
//!   compressing for each connection.
//! * `slow`: 1,000 subscribers that read and 10 that complete the
//!   handshake and never read, 50 messages per second for 12 s; the same
//!   run without the 10 comes first, and a second table compares the two:
//!   the readers' deliveries per second and share of the messages, and
//!   the server's peak memory growth. Here publishers shed slow
//!   subscribers instead of waiting for them. The peers and `wscore-clone`
//!   give each connection a bounded channel (64 messages) drained by its
//!   own task; the publisher `try_send`s, dropping the message for a
//!   subscriber whose channel is full. `wscore-prepared` uses
//!   `WhenFull::Close` (1013 "too slow") once a connection has 64 KiB
//!   unsent, about what the peers' channels hold. `wscore-latest`, which
//!   runs in this cell alone, is `wscore-prepared` with
//!   `WhenFull::KeepLatest` instead: message `n` has key `n % 8` (eight
//!   symbols of a price feed), and a connection with 64 KiB unsent stays
//!   open, holding the newest message of each key until it has room; its
//!   report sums `broadcast`'s: messages `held`, stale ones `replaced`
//!   (dropped unsent), sends `failed`. (In the other cells the peers use
//!   the same channels with `send().await`.) So that a slow
//!   subscriber backs up into the server within seconds, the kernel is
//!   given less room than loopback's autotuning would (up to 4 MB per
//!   connection): every server's accepted sockets get `SO_SNDBUF` 32 KiB
//!   (64 KiB once Linux doubles it), and the slow subscribers `SO_RCVBUF`
//!   16 KiB; the kernel then holds about 100 KiB for each.
//!
//! `--quick` publishes 200 messages in the `1k` cells, and runs `10k` for
//! 3 s and `slow` for 5 s.
//!
//! ```text
//! cd benches/fanout
//! cargo run --release                                     # everything
//! cargo run --release -- --quick                          # smoke test
//! cargo run --release -- --only wscore-prepared,tokio-websockets --cells 1k-full,slow
//! cargo run --release -- --quick --cells slow --only wscore-prepared,wscore-latest
//! # one server alone: subscribers/messages/rate/plain|deflate/wait|shed/SO_SNDBUF;
//! # it publishes once told `go` on stdin and that many subscribers are in
//! cargo run --release -- server wscore-clone 127.0.0.1:9001 1000/1000/0/plain/wait/0
//! ```
//!
//! `--no-pin`: no CPU affinity. Output is Markdown on stdout; progress goes
//! to stderr. A run with no delivery for 10 s fails and says so.

mod client;
mod frames;
mod payload;
mod process;
mod report;
mod servers;
#[path = "../../e2e/src/sys.rs"]
mod sys;

use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use client::{Receipt, Subscribers};
use process::{Memory, ServerProcess};
use servers::{Plan, Policy, Server, SERVERS};
use sys::CpuTime;

/// One load cell.
#[derive(Debug)]
pub struct Cell {
    pub id: &'static str,
    /// Subscribers that read everything.
    pub fast: usize,
    /// Subscribers that never read (the cell also runs without them).
    pub slow: usize,
    /// Messages published, and with `--quick`.
    messages: u64,
    quick_messages: u64,
    /// Messages per second (0: as fast as they are taken).
    pub rate: u32,
    pub deflate: bool,
    pub policy: Policy,
    /// The server's `SO_SNDBUF` on every connection (0: autotuned).
    pub send_buffer: usize,
}

impl Cell {
    pub fn messages(&self, quick: bool) -> u64 {
        if quick {
            self.quick_messages
        } else {
            self.messages
        }
    }
}

/// Messages per second in the `slow` cell.
const SLOW_RATE: u32 = 50;

const CELLS: &[Cell] = &[
    Cell {
        id: "1k-full",
        fast: 1000,
        slow: 0,
        messages: 1000,
        quick_messages: 200,
        rate: 0,
        deflate: false,
        policy: Policy::Wait,
        send_buffer: 0,
    },
    Cell {
        id: "10k-10hz",
        fast: 10_000,
        slow: 0,
        messages: 100,
        quick_messages: 30,
        rate: 10,
        deflate: false,
        policy: Policy::Wait,
        send_buffer: 0,
    },
    Cell {
        id: "1k-full-deflate",
        fast: 1000,
        slow: 0,
        messages: 1000,
        quick_messages: 200,
        rate: 0,
        deflate: true,
        policy: Policy::Wait,
        send_buffer: 0,
    },
    Cell {
        id: "10k-10hz-deflate",
        fast: 10_000,
        slow: 0,
        messages: 100,
        quick_messages: 30,
        rate: 10,
        deflate: true,
        policy: Policy::Wait,
        send_buffer: 0,
    },
    Cell {
        id: "slow",
        fast: 1000,
        slow: 10,
        messages: SLOW_RATE as u64 * 12,
        quick_messages: SLOW_RATE as u64 * 5,
        rate: SLOW_RATE,
        deflate: false,
        policy: Policy::Shed,
        send_buffer: 32 * 1024,
    },
];

/// The command line, resolved.
pub struct Options {
    pub servers: Vec<&'static Server>,
    pub cells: Vec<&'static Cell>,
    pub quick: bool,
    pub pin: bool,
}

/// One measured run: a server, a cell, and how many slow subscribers.
pub struct Run {
    pub cell: &'static Cell,
    pub server: &'static Server,
    pub slow: usize,
    pub result: Result<Sample, String>,
}

/// What a run measured.
#[derive(Debug)]
pub struct Sample {
    pub receipt: Receipt,
    /// The server's CPU time from `go` to the end.
    pub cpu: CpuTime,
    /// The server's RSS at `go`, bytes.
    pub rss_at_go: u64,
    /// Its memory at the end (the peak since `go`).
    pub memory: Memory,
    /// The server's own account: messages dropped, connections closed.
    pub tally: String,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.split_first() {
        Some((command, rest)) if command == "server" => server(rest),
        _ => parse(&args)
            .map(|options| bench(&options))
            .map_err(|problem| format!("{problem}\n\n{}", usage())),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// `fanout server <name> <addr> <plan> [cpu]`: one server, until killed.
fn server(args: &[String]) -> Result<(), String> {
    sys::die_with_parent();
    let _ = sys::raise_nofile();
    let usage = "usage: fanout server <name> <addr> \
                 <subscribers/messages/rate/plain|deflate/wait|shed/sndbuf> [cpu]";
    let [name, addr, plan, cpu @ ..] = args else {
        return Err(usage.into());
    };
    let plan = Plan::decode(plan).ok_or(usage)?;
    if let Some(cpu) = cpu.first().and_then(|c| c.parse().ok()) {
        let _ = sys::pin_to(cpu);
    }
    servers::serve(name, addr, plan).map_err(|e| format!("server {name}: {e}"))
}

fn usage() -> String {
    let cells: Vec<&str> = CELLS.iter().map(Named::name).collect();
    let servers: Vec<&str> = SERVERS.iter().map(Named::name).collect();
    format!(
        "usage: fanout [--quick] [--only a,b] [--cells {}] [--no-pin]\nservers: {}",
        cells.join(","),
        servers.join(", ")
    )
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        servers: SERVERS.iter().collect(),
        cells: CELLS.iter().collect(),
        quick: false,
        pin: true,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut list = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--quick" => options.quick = true,
            "--no-pin" => options.pin = false,
            "--only" => options.servers = pick(SERVERS, list()?)?,
            "--cells" => options.cells = pick(CELLS, list()?)?,
            "-h" | "--help" => return Err("fanout: loopback WebSocket broadcast benchmark".into()),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    Ok(options)
}

/// A server or a cell, by the name `--only` or `--cells` gives it.
trait Named: 'static {
    const KIND: &'static str;
    fn name(&self) -> &'static str;
}

impl Named for Server {
    const KIND: &'static str = "server";
    fn name(&self) -> &'static str {
        self.name
    }
}

impl Named for Cell {
    const KIND: &'static str = "cell";
    fn name(&self) -> &'static str {
        self.id
    }
}

/// Those of `all` that the comma-separated `list` names, in its order.
fn pick<T: Named>(all: &'static [T], list: &str) -> Result<Vec<&'static T>, String> {
    list.split(',')
        .map(|name| all.iter().find(|t| t.name() == name).ok_or(format!("no {} {name}", T::KIND)))
        .collect()
}

fn bench(options: &Options) {
    if let Err(e) = sys::raise_nofile() {
        eprintln!("warning: RLIMIT_NOFILE not raised: {e}");
    }
    // The server on CPU 0, this thread on CPU 1, when there are two.
    let server_cpu = (options.pin && sys::cpus() >= 2).then_some(0);
    if let Some(Err(e)) = server_cpu.map(|_| sys::pin_to(1)) {
        eprintln!("warning: client not pinned: {e}");
    }
    let load_before = sys::load_average();
    let mut runs = Vec::new();
    for &cell in &options.cells {
        for &server in options.servers.iter().filter(|s| s.takes_part(cell.deflate, cell.policy)) {
            let slow_counts: &[usize] = if cell.slow > 0 { &[0, cell.slow] } else { &[0] };
            for &slow in slow_counts {
                let result = measure(server, cell, slow, options.quick, server_cpu);
                match &result {
                    Ok(s) => eprintln!(
                        "{:>17} {:>16} +{slow:<2} slow: {:>9.0} deliveries/s, {:.2} µs/delivery",
                        server.name,
                        cell.id,
                        report::rate(s),
                        report::cpu_per_delivery_us(s),
                    ),
                    Err(e) => eprintln!(
                        "{:>17} {:>16} +{slow:<2} slow: FAILED: {e}",
                        server.name, cell.id
                    ),
                }
                runs.push(Run { cell, server, slow, result });
                // Let the kernel tear the last run's sockets down.
                thread::sleep(Duration::from_millis(500));
            }
        }
    }
    let load = format!("load average {load_before} before the run, {} after", sys::load_average());
    report::print(options, server_cpu.is_some(), &load, &runs);
}

/// One run: a fresh server, its subscribers, `go`, and the figures.
fn measure(
    server: &Server,
    cell: &Cell,
    slow: usize,
    quick: bool,
    server_cpu: Option<usize>,
) -> Result<Sample, String> {
    let messages = cell.messages(quick);
    let plan = Plan {
        subscribers: cell.fast + slow,
        messages,
        rate: cell.rate,
        deflate: cell.deflate,
        policy: cell.policy,
        send_buffer: cell.send_buffer,
    };
    let mut process = ServerProcess::start(server.name, plan, server_cpu)?;
    let mut subscribers = Subscribers::connect(process.addr(), cell.fast, slow, cell.deflate)?;
    let (cpu, rss_at_go) = (process.cpu()?, process.memory()?.rss);
    process.go()?;
    let shed = cell.policy == Policy::Shed;
    let receipt = subscribers.receive(messages, shed, &mut || process.poll_published())?;
    let cpu = process.cpu()?.since(cpu);
    let memory = process.memory()?;
    let tally = process.published(Duration::from_secs(1)).unwrap_or("(no report)").to_owned();
    Ok(Sample { receipt, cpu, rss_at_go, memory, tally })
}
