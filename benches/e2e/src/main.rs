//! End-to-end echo benchmark over loopback TCP: wscore's tokio and blocking
//! servers beside tokio-websockets, fastwebsockets, sockudo-ws,
//! tokio-tungstenite, tungstenite and nexus-web.
//!
//! Each server runs in a child process (this binary, as `e2e server <name>
//! <addr>`), pinned to CPU 0; this process is the load client, one thread
//! pinned to CPU 1 (see `client.rs`). Each connection keeps 64 messages in
//! flight. For every cell the tables give messages per second and the
//! server's CPU time per echoed message (user + system, over the measured
//! window, read from the child's CPU-time clock), and its ratio to the
//! cheapest server of the cell. "server CPU" near 100% means the server
//! saturated its core; "sys" is the share of its time spent in the kernel;
//! "client CPU" near 100% means the load client, not the server, was the
//! limit. On loopback a `write` also pays for the peer's TCP receive path,
//! so per-message `write`s cost far more than the WebSocket work itself.
//! The last table is the server's resident memory per idle connection
//! (`VmRSS` before and after opening `--idle-conns` connections).
//!
//! Cells: `16b` (16 B text, 10 connections), `1k` (1 KiB text, 100),
//! `64k` (64 KiB binary, 10), `1m` (1 MiB binary, 2) and `idle`.
//!
//! ```text
//! cd benches/e2e
//! cargo run --release                                   # everything (about 2 minutes)
//! cargo run --release -- --quick                        # smoke test, every server
//! cargo run --release -- --only wscore-tokio,sockudo-ws --cells 16b,1k
//! cargo run --release -- --warmup-ms 1000 --measure-ms 5000 --idle-conns 2000
//! cargo run --release -- server wscore-tokio 127.0.0.1:9001   # one server alone
//! ```
//!
//! Other flags: `--in-flight N` (messages outstanding per connection),
//! `--no-pin` (no CPU affinity). Output is Markdown on stdout; progress goes
//! to stderr. Every step is bounded: connects and handshakes time out after
//! 5 s, a cell with no echo for 10 s fails (its server is restarted), and
//! servers die with this process.

mod client;
mod servers;
mod sys;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use client::{Sample, Timing, Workload};
use servers::{Server, SERVERS};

/// One load cell.
struct Cell {
    id: &'static str,
    label: &'static str,
    len: usize,
    text: bool,
    conns: usize,
}

const CELLS: &[Cell] = &[
    Cell { id: "16b", label: "16 B text, 10 connections", len: 16, text: true, conns: 10 },
    Cell { id: "1k", label: "1 KiB text, 100 connections", len: 1024, text: true, conns: 100 },
    Cell {
        id: "64k",
        label: "64 KiB binary, 10 connections",
        len: 64 << 10,
        text: false,
        conns: 10,
    },
    Cell { id: "1m", label: "1 MiB binary, 2 connections", len: 1 << 20, text: false, conns: 2 },
];

/// The idle-memory measurement's name in `--cells`.
const IDLE: &str = "idle";

/// A cell with no echo for this long has failed.
const STALL: Duration = Duration::from_secs(10);

/// The command line, resolved.
struct Options {
    servers: Vec<&'static Server>,
    cells: Vec<&'static Cell>,
    idle: bool,
    timing: Timing,
    idle_conns: usize,
    in_flight: u64,
    pin: bool,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("server") {
        return server_main(&args[1..]);
    }
    let options = match parse(&args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!(
                "{message}\n\nusage: e2e [--quick] [--only a,b] [--cells {}] \
                [--warmup-ms N] [--measure-ms N] [--idle-conns N] [--in-flight N] [--no-pin]\n\
                servers: {}",
                cell_ids().join(","),
                SERVERS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
            );
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = sys::raise_nofile() {
        eprintln!("warning: RLIMIT_NOFILE not raised: {e}");
    }
    bench(&options);
    ExitCode::SUCCESS
}

/// `e2e server <name> <addr> [cpu]`: one server, until killed.
fn server_main(args: &[String]) -> ExitCode {
    sys::die_with_parent();
    let _ = sys::raise_nofile();
    if let Some(cpu) = args.get(2).and_then(|c| c.parse().ok()) {
        let _ = sys::pin_to(cpu);
    }
    let (Some(name), Some(addr)) = (args.first(), args.get(1)) else {
        eprintln!("usage: e2e server <name> <addr> [cpu]");
        return ExitCode::FAILURE;
    };
    match servers::serve(name, addr) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn cell_ids() -> Vec<&'static str> {
    CELLS.iter().map(|c| c.id).chain([IDLE]).collect()
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut quick = false;
    let (mut warmup, mut measure, mut idle_conns) = (None, None, None);
    let (mut only, mut cells) = (None, None);
    let mut in_flight = 64;
    let mut pin = true;
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number =
            |v: &String| v.parse::<u64>().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--quick" => quick = true,
            "--no-pin" => pin = false,
            "--only" => only = Some(value()?.clone()),
            "--cells" => cells = Some(value()?.clone()),
            "--warmup-ms" => warmup = Some(number(value()?)?),
            "--measure-ms" => measure = Some(number(value()?)?),
            "--idle-conns" => idle_conns = Some(number(value()?)? as usize),
            "--in-flight" => in_flight = number(value()?)?.max(1),
            "-h" | "--help" => return Err("e2e: loopback WebSocket echo benchmark".into()),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    let servers = match &only {
        None => SERVERS.iter().collect(),
        Some(list) => list
            .split(',')
            .map(|name| SERVERS.iter().find(|s| s.name == name).ok_or(format!("no server {name}")))
            .collect::<Result<_, _>>()?,
    };
    let selected = cells.unwrap_or_else(|| cell_ids().join(","));
    let selected: Vec<&str> = selected.split(',').collect();
    if let Some(bad) = selected.iter().find(|id| !cell_ids().contains(id)) {
        return Err(format!("no cell {bad}"));
    }
    let (default_warmup, default_measure, default_idle) =
        if quick { (100, 300, 200) } else { (500, 2000, 1000) };
    Ok(Options {
        servers,
        cells: CELLS.iter().filter(|c| selected.contains(&c.id)).collect(),
        idle: selected.contains(&IDLE),
        timing: Timing {
            warmup: Duration::from_millis(warmup.unwrap_or(default_warmup)),
            measure: Duration::from_millis(measure.unwrap_or(default_measure)),
            stall: STALL,
        },
        idle_conns: idle_conns.unwrap_or(default_idle),
        in_flight,
        pin,
    })
}

/// A running server child; killed when dropped.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServerProcess {
    /// Start server `name` (pinned to `cpu`) and wait (10 s at most) for
    /// its address.
    fn start(name: &str, cpu: Option<usize>) -> Result<ServerProcess, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut command = Command::new(exe);
        command.args(["server", name, "127.0.0.1:0"]).stdin(Stdio::null()).stdout(Stdio::piped());
        if let Some(cpu) = cpu {
            command.arg(cpu.to_string());
        }
        let mut child = command.spawn().map_err(|e| format!("spawn: {e}"))?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut process = ServerProcess { child, addr: SocketAddr::from(([127, 0, 0, 1], 0)) };
        let line = rx.recv_timeout(Duration::from_secs(10)).map_err(|_| "server did not start")?;
        process.addr = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|addr| addr.parse().ok())
            .ok_or(format!("server did not start: {line:?}"))?;
        Ok(process)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of a server before and after opening idle connections.
struct Idle {
    before: u64,
    after: u64,
    conns: usize,
}

/// Start a fresh server, open `conns` connections, and read its RSS.
fn idle_memory(name: &str, conns: usize, cpu: Option<usize>) -> Result<Idle, String> {
    let server = ServerProcess::start(name, cpu)?;
    thread::sleep(Duration::from_millis(300));
    let before = sys::rss(server.pid()).map_err(|e| e.to_string())?;
    let open = client::idle(server.addr, conns).map_err(|e| format!("connect: {e}"))?;
    thread::sleep(Duration::from_secs(1));
    let after = sys::rss(server.pid()).map_err(|e| e.to_string())?;
    drop(open);
    Ok(Idle { before, after, conns })
}

fn bench(options: &Options) {
    let pin = options.pin && sys::cpus() >= 2;
    let server_cpu = pin.then_some(0);
    if pin {
        if let Err(e) = sys::pin_to(1) {
            eprintln!("warning: client not pinned: {e}");
        }
    }
    let load_before = sys::load_average();
    let mut loads: Vec<Vec<Result<Sample, String>>> = vec![Vec::new(); options.cells.len()];
    let mut idles = Vec::new();
    for server in &options.servers {
        let mut process: Option<ServerProcess> = None;
        for (i, cell) in options.cells.iter().enumerate() {
            let work = Workload {
                len: cell.len,
                text: cell.text,
                conns: cell.conns,
                in_flight: options.in_flight,
            };
            let started = match process.take() {
                Some(p) => Ok(p),
                None => ServerProcess::start(server.name, server_cpu),
            };
            let result = started.and_then(|p| {
                let sample = client::run(p.addr, p.pid(), work, options.timing);
                // A failed cell may leave the server wedged: restart it.
                if sample.is_ok() {
                    process = Some(p);
                }
                sample
            });
            match &result {
                Ok(s) => eprintln!("{:>18} {:>4}: {:>10.0} msgs/s", server.name, cell.id, rate(s)),
                Err(e) => eprintln!("{:>18} {:>4}: FAILED: {e}", server.name, cell.id),
            }
            loads[i].push(result);
            // Let the server reap the connections just reset.
            thread::sleep(Duration::from_millis(200));
        }
        drop(process);
        if options.idle {
            let result = idle_memory(server.name, options.idle_conns, server_cpu);
            match &result {
                Ok(idle) => eprintln!("{:>18} idle: {} B/conn", server.name, per_conn(idle)),
                Err(e) => eprintln!("{:>18} idle: FAILED: {e}", server.name),
            }
            idles.push(result);
        }
    }
    let load = format!("load average {load_before} before the run, {} after", sys::load_average());
    report(options, pin, &load, &loads, &idles);
}

fn rate(s: &Sample) -> f64 {
    s.msgs as f64 / s.wall.as_secs_f64()
}

fn cpu_per_msg_us(s: &Sample) -> f64 {
    s.server.total.as_secs_f64() * 1e6 / s.msgs.max(1) as f64
}

fn per_conn(idle: &Idle) -> i64 {
    (idle.after as i64 - idle.before as i64) / idle.conns.max(1) as i64
}

/// The Markdown tables.
fn report(
    options: &Options,
    pin: bool,
    load: &str,
    loads: &[Vec<Result<Sample, String>>],
    idles: &[Result<Idle, String>],
) {
    let t = options.timing;
    println!(
        "Loopback echo, {} messages in flight per connection; warm-up {} ms, measured {} ms; {}; {load}.\n",
        options.in_flight,
        t.warmup.as_millis(),
        t.measure.as_millis(),
        if pin { "server pinned to CPU 0, client to CPU 1" } else { "no CPU pinning" },
    );
    for (cell, results) in options.cells.iter().zip(loads) {
        println!("### {}\n", cell.label);
        println!(
            "| server | msgs/s | server CPU µs/msg | × best | server CPU | sys | client CPU |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        let best = results.iter().flatten().map(cpu_per_msg_us).fold(f64::INFINITY, f64::min);
        for (server, result) in options.servers.iter().zip(results) {
            match result {
                Ok(s) => {
                    let wall = s.wall.as_secs_f64();
                    let percent = |share: f64| format!("{:.0}%", 100.0 * share);
                    println!(
                        "| {} | {} | {} | {:.2} | {} | {} | {} |",
                        server.name,
                        thousands(rate(s) as u64),
                        micros(cpu_per_msg_us(s)),
                        cpu_per_msg_us(s) / best,
                        percent(s.server.total.as_secs_f64() / wall),
                        percent(s.server.sys_share()),
                        percent(s.client.as_secs_f64() / wall),
                    );
                }
                Err(e) => println!("| {} | failed: {e} | | | | | |", server.name),
            }
        }
        println!();
    }
    if options.idle {
        println!("### Memory per idle connection ({} connections)\n", options.idle_conns);
        println!("| server | RSS idle | RSS with connections | bytes per connection |");
        println!("|---|---:|---:|---:|");
        for (server, result) in options.servers.iter().zip(idles) {
            match result {
                Ok(idle) => println!(
                    "| {} | {} KiB | {} KiB | {} |",
                    server.name,
                    thousands(idle.before / 1024),
                    thousands(idle.after / 1024),
                    thousands(per_conn(idle).max(0) as u64),
                ),
                Err(e) => println!("| {} | failed: {e} | | |", server.name),
            }
        }
        println!();
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
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

/// Three significant digits or so.
fn micros(us: f64) -> String {
    match us {
        us if us >= 100.0 => format!("{us:.0}"),
        us if us >= 10.0 => format!("{us:.1}"),
        us => format!("{us:.2}"),
    }
}
