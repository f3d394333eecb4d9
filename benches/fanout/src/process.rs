//! The server child process of one run: started with its plan, told to
//! go, watched (CPU time, memory, the line it prints when it has
//! published everything) and killed.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use crate::servers::Plan;
use crate::sys::{self, CpuTime};

/// A running server; killed when dropped.
pub struct ServerProcess {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    addr: SocketAddr,
    /// What the server printed once it had published everything.
    published: Option<String>,
}

/// The server's resident memory, bytes.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    /// `VmRSS`.
    pub rss: u64,
    /// `VmHWM`: the peak since [`ServerProcess::go`] reset it.
    pub peak: u64,
}

impl ServerProcess {
    /// Start server `name` for `plan` (pinned to `cpu`) and wait (10 s at
    /// most) for its address.
    pub fn start(name: &str, plan: Plan, cpu: Option<usize>) -> Result<ServerProcess, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut command = Command::new(exe);
        command.args(["server", name, "127.0.0.1:0", &plan.encode()]);
        if let Some(cpu) = cpu {
            command.arg(cpu.to_string());
        }
        command.stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = command.spawn().map_err(|e| format!("spawn: {e}"))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = lines.recv_timeout(Duration::from_secs(10));
        let addr = ready
            .as_deref()
            .ok()
            .and_then(|line| line.strip_prefix("ready "))
            .and_then(|addr| addr.parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("server did not start: {ready:?}"));
        };
        Ok(ServerProcess { child, stdin, lines, addr, published: None })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Reset the peak-memory mark, then tell the server to publish.
    pub fn go(&mut self) -> Result<(), String> {
        // "5" resets VmHWM to the current RSS (proc(5), clear_refs).
        let path = format!("/proc/{}/clear_refs", self.child.id());
        std::fs::write(path, "5").map_err(|e| format!("cannot reset the peak RSS: {e}"))?;
        writeln!(self.stdin, "go").and_then(|()| self.stdin.flush()).map_err(|e| e.to_string())
    }

    /// Has the server published everything? (Without waiting.)
    pub fn poll_published(&mut self) -> bool {
        while let Ok(line) = self.lines.try_recv() {
            if let Some(tally) = tally(&line) {
                self.published = Some(tally);
            }
        }
        self.published.is_some()
    }

    /// What the server printed when done publishing, waiting for it up to
    /// `limit`.
    pub fn published(&mut self, limit: Duration) -> Option<&str> {
        if self.published.is_none() {
            if let Ok(line) = self.lines.recv_timeout(limit) {
                self.published = tally(&line);
            }
        }
        self.published.as_deref()
    }

    /// The server's CPU time so far.
    pub fn cpu(&self) -> Result<CpuTime, String> {
        CpuTime::of(self.child.id()).map_err(|e| format!("server CPU time: {e}"))
    }

    /// The server's memory now.
    pub fn memory(&self) -> Result<Memory, String> {
        let pid = self.child.id();
        let rss = sys::rss(pid).map_err(|e| format!("server RSS: {e}"))?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"));
        let peak = status
            .ok()
            .and_then(|status| {
                let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
                line.trim().trim_end_matches("kB").trim().parse::<u64>().ok()
            })
            .ok_or("no VmHWM")?;
        Ok(Memory { rss, peak: peak * 1024 })
    }
}

/// The counts of a `published` line.
fn tally(line: &str) -> Option<String> {
    line.strip_prefix("published").map(|counts| counts.trim().to_owned())
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
