//! The Markdown report: the machine, one table with every run, and the
//! `slow` cell's comparison with and without its slow subscribers.

use crate::{sys, Options, Run, Sample};

/// Deliveries per second, from `go` to the last delivery.
pub fn rate(s: &Sample) -> f64 {
    s.receipt.delivered as f64 / s.receipt.wall.as_secs_f64().max(1e-9)
}

/// The server's CPU time per delivered message, µs.
pub fn cpu_per_delivery_us(s: &Sample) -> f64 {
    s.cpu.total.as_secs_f64() * 1e6 / s.receipt.delivered.max(1) as f64
}

fn growth(s: &Sample) -> u64 {
    s.memory.peak.saturating_sub(s.rss_at_go)
}

pub fn print(options: &Options, pin: bool, load: &str, runs: &[Run]) {
    println!("## Fan-out: one publisher, 1 KiB text messages, many subscribers\n");
    println!("Machine: {}, {} online CPUs; {load}.", cpu_model(), sys::cpus());
    println!(
        "Server in a child process on a current-thread tokio runtime; load client one thread \
         with epoll; {}. {}\n",
        if pin { "server pinned to CPU 0, client to CPU 1" } else { "no CPU pinning" },
        if options.quick { "`--quick`: short runs." } else { "" },
    );
    println!(
        "\"server CPU\" is the server's user + system time from `go` to the last delivery, \
         per message delivered; \"× best peer\" divides it by the lowest of the peers in the \
         same cell (the deflate cells have no peer: by `wscore-clone`'s). \"busy\" is CPU time \
         over wall time (\"sys\": the kernel's share of the server's). \"at go\" is the \
         server's RSS with every subscriber connected; \"peak\" is `VmHWM` since `go`. \
         `slow:N` is the `slow` cell with N subscribers that never read. The server's \
         report counts messages `dropped` for a full channel, connections `closed` for being \
         too slow, and sends `failed` on a closed connection (each message after the Close); \
         those that are not zero, and for `wscore-latest` (`WhenFull::KeepLatest` over 8 \
         keys) always its `held` (messages held for their key while a connection was \
         full, summed over the broadcasts), `replaced` (stale held messages dropped for a \
         newer one) and `failed`.\n"
    );
    println!(
        "| cell | server | delivered | server CPU µs/delivery | × best peer | deliveries/s \
         | server busy (sys) | client busy | RSS at go MiB | peak RSS MiB | server's report |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for run in runs {
        let cell = match run.cell.slow {
            0 => run.cell.id.to_owned(),
            _ => format!("{}:{}", run.cell.id, run.slow),
        };
        let s = match &run.result {
            Ok(s) => s,
            Err(e) => {
                println!("| {cell} | {} | failed: {e} | | | | | | | | |", run.server.name);
                continue;
            }
        };
        let wall = s.receipt.wall.as_secs_f64().max(1e-9);
        let ratio = match baseline(runs, run) {
            Some(best) => format!("{:.2}", cpu_per_delivery_us(s) / best),
            None => "-".into(),
        };
        println!(
            "| {cell} | {} | {} | {} | {ratio} | {} | {:.0}% ({:.0}%) | {:.0}% | {} | {} | {} |",
            run.server.name,
            delivered(s),
            micros(cpu_per_delivery_us(s)),
            thousands(rate(s) as u64),
            100.0 * s.cpu.total.as_secs_f64() / wall,
            100.0 * s.cpu.sys_share(),
            100.0 * s.receipt.client.as_secs_f64() / wall,
            mib(s.rss_at_go),
            mib(s.memory.peak),
            tally(&s.tally),
        );
    }
    println!();
    slow_table(runs);
}

/// The `slow` cell with and without its slow subscribers, server by server.
fn slow_table(runs: &[Run]) {
    let pairs: Vec<(&Run, &Run)> = runs
        .iter()
        .filter(|r| r.cell.slow > 0 && r.slow > 0)
        .filter_map(|with| {
            let without = runs.iter().find(|r| {
                r.slow == 0 && r.cell.id == with.cell.id && r.server.name == with.server.name
            })?;
            Some((without, with))
        })
        .collect();
    if pairs.is_empty() {
        return;
    }
    println!("### Slow subscribers\n");
    println!(
        "The readers' deliveries per second and share of the messages, and the server's peak \
         RSS growth since `go`, without and with the subscribers that never read.\n"
    );
    println!(
        "| server | deliveries/s without | with | with ÷ without | delivered with | growth MiB \
         without | growth MiB with | readers closed with |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (without, with) in pairs {
        let (Ok(a), Ok(b)) = (&without.result, &with.result) else {
            println!("| {} | failed | | | | | | |", with.server.name);
            continue;
        };
        println!(
            "| {} | {} | {} | {:.2} | {} | {} | {} | {} |",
            with.server.name,
            thousands(rate(a) as u64),
            thousands(rate(b) as u64),
            rate(b) / rate(a),
            delivered(b),
            mib(growth(a)),
            mib(growth(b)),
            b.receipt.closed,
        );
    }
    println!();
}

/// The CPU per delivery `run` is compared with: the best peer's in the
/// same cell and slow count, or `wscore-clone`'s where no peer ran.
fn baseline(runs: &[Run], run: &Run) -> Option<f64> {
    let same = || {
        runs.iter().filter(|r| r.cell.id == run.cell.id && r.slow == run.slow).filter_map(|r| {
            let s = r.result.as_ref().ok()?;
            Some((r, cpu_per_delivery_us(s)))
        })
    };
    let best_peer = same().filter(|(r, _)| !r.server.wscore).map(|(_, us)| us).reduce(f64::min);
    best_peer.or_else(|| same().find(|(r, _)| r.server.name == "wscore-clone").map(|(_, us)| us))
}

/// The server's `name=count` pairs (those it reports: see `Tally`).
fn tally(report: &str) -> String {
    report.split_whitespace().collect::<Vec<_>>().join(", ")
}

fn delivered(s: &Sample) -> String {
    let share = 100.0 * s.receipt.delivered as f64 / s.receipt.expected.max(1) as f64;
    if s.receipt.delivered == s.receipt.expected {
        "100%".into()
    } else {
        format!("{share:.1}%")
    }
}

/// The CPU's model name, from `/proc/cpuinfo`.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("model name"))?;
            Some(line.split_once(':')?.1.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1 << 20) as f64)
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    match n {
        0..=999 => n.to_string(),
        _ => format!("{},{:03}", thousands(n / 1000), n % 1000),
    }
}

/// Three significant digits or so: no decimals from 100 up, one from 10.
fn micros(us: f64) -> String {
    let decimals = usize::from(us < 100.0) + usize::from(us < 10.0);
    format!("{us:.decimals$}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_numbers() {
        let grouped: Vec<String> = [0, 999, 1000, 1_002_003].map(super::thousands).into();
        assert_eq!(grouped, ["0", "999", "1,000", "1,002,003"]);
        let us: Vec<String> = [0.123, 12.34, 123.4].map(super::micros).into();
        assert_eq!(us, ["0.12", "12.3", "123"]);
    }
}
