//! The broadcast servers and what they share: the plan of a run, the
//! child process's protocol, and the publisher's loop.
//!
//! Each server runs in a child process (`fanout server <name> <addr>
//! <plan>`) on a current-thread tokio runtime: one core's worth of work
//! whatever the crate, and no cross-thread wake-ups. The child prints
//! `ready <addr>`, accepts connections (each one's handshake and tasks are
//! the crate's, see [`Fanout`]), and on a `go` line on its stdin waits for
//! all the subscribers the plan names, publishes the plan's messages, and
//! prints `published` with its [`Tally`] (`dropped=<n> closed=<n> ...`).
//! It serves until killed.

mod peers;
mod queue;
mod wscore;

use std::cell::RefCell;
use std::io::{self, BufRead, Write};
use std::net::TcpListener;
use std::rc::Rc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::{interval, sleep, MissedTickBehavior};

use crate::payload;

/// What one run asks of a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Connections to wait for before publishing (fast and slow).
    pub subscribers: usize,
    /// Messages to publish.
    pub messages: u64,
    /// Messages per second; 0: as fast as the subscribers take them.
    pub rate: u32,
    /// permessage-deflate offered by the clients and accepted (wscore only).
    pub deflate: bool,
    /// What the publisher does about a subscriber that is not keeping up.
    pub policy: Policy,
    /// `SO_SNDBUF` for every accepted socket, bytes (0: the kernel's
    /// autotuning, up to `tcp_wmem`'s 4 MB on loopback).
    pub send_buffer: usize,
}

/// What the publisher does about a subscriber whose buffer is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Wait for it: every subscriber gets every message.
    Wait,
    /// Shed it: the peers (and wscore-clone) drop the message for that
    /// subscriber, wscore-prepared closes the connection (1013), and
    /// wscore-latest keeps only the newest message per key.
    Shed,
}

impl Plan {
    /// The plan as one command-line argument.
    pub fn encode(&self) -> String {
        let policy = match self.policy {
            Policy::Wait => "wait",
            Policy::Shed => "shed",
        };
        let deflate = if self.deflate { "deflate" } else { "plain" };
        let (subscribers, messages, rate) = (self.subscribers, self.messages, self.rate);
        format!("{subscribers}/{messages}/{rate}/{deflate}/{policy}/{}", self.send_buffer)
    }

    /// The plan from [`encode`](Self::encode)'s output.
    pub fn decode(text: &str) -> Option<Plan> {
        let fields: Vec<&str> = text.split('/').collect();
        let [subscribers, messages, rate, deflate, policy, send_buffer] = fields[..] else {
            return None;
        };
        Some(Plan {
            subscribers: subscribers.parse().ok()?,
            messages: messages.parse().ok()?,
            rate: rate.parse().ok()?,
            deflate: match deflate {
                "deflate" => true,
                "plain" => false,
                _ => return None,
            },
            policy: match policy {
                "wait" => Policy::Wait,
                "shed" => Policy::Shed,
                _ => return None,
            },
            send_buffer: send_buffer.parse().ok()?,
        })
    }
}

/// What a publisher could not deliver, summed over the run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    /// Messages dropped for a subscriber whose queue was full.
    pub dropped: u64,
    /// Connections closed for being too slow.
    pub closed: u64,
    /// Sends refused by a connection already gone.
    pub failed: u64,
    /// A publisher that coalesces (`WhenFull::KeepLatest`): messages held
    /// for their key while a connection was full, and the older ones
    /// those replaced (dropped unsent).
    pub coalesced: Option<Coalesced>,
}

/// What `WhenFull::KeepLatest` did, summed over the run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Coalesced {
    pub held: u64,
    pub replaced: u64,
}

impl std::fmt::Display for Tally {
    /// ` name=count` for each count that is not zero, and a coalescing
    /// publisher's `held`, `replaced` and `failed` even when they are.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Coalesced { held, replaced } = self.coalesced.unwrap_or_default();
        let always = self.coalesced.is_some();
        let counts = [
            ("dropped", self.dropped, false),
            ("closed", self.closed, false),
            ("held", held, always),
            ("replaced", replaced, always),
            ("failed", self.failed, always),
        ];
        for (name, count, shown) in counts {
            if count > 0 || shown {
                write!(f, " {name}={count}")?;
            }
        }
        Ok(())
    }
}

/// A broadcast server written with one crate, the way its users write one.
pub trait Fanout: Sized + 'static {
    /// What the publisher keeps of one subscriber.
    type Subscriber: 'static;

    /// Run the handshake on an accepted connection and start its tasks;
    /// `None` if the handshake failed.
    async fn join(stream: TcpStream, plan: Plan) -> Option<Self::Subscriber>;

    /// The publisher, once every subscriber has joined.
    fn publisher(subscribers: Vec<Self::Subscriber>, plan: Plan) -> Self;

    /// Send `text` to every subscriber.
    async fn publish(&mut self, text: &str);

    /// What could not be delivered so far.
    fn tally(&self) -> Tally;
}

/// One server of the comparison.
#[derive(Clone, Copy, Debug)]
pub struct Server {
    /// Its name on the command line and in the table.
    pub name: &'static str,
    /// One of wscore's: left out of the "best peer" baseline.
    pub wscore: bool,
    /// The cells it takes part in.
    cells: Cells,
    run: fn(TcpListener, Plan) -> io::Result<()>,
}

/// Which cells a server takes part in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cells {
    /// All but the permessage-deflate cells.
    Plain,
    /// Every cell.
    All,
    /// The plain cells that shed slow subscribers (`slow`).
    Shed,
}

impl Server {
    /// Does it take part in a cell with these settings?
    pub fn takes_part(&self, deflate: bool, policy: Policy) -> bool {
        match self.cells {
            Cells::All => true,
            Cells::Plain => !deflate,
            Cells::Shed => !deflate && policy == Policy::Shed,
        }
    }
}

/// Every server, in table order.
pub const SERVERS: &[Server] = &[
    Server {
        name: "tokio-tungstenite",
        wscore: false,
        cells: Cells::Plain,
        run: run::<queue::Queued<peers::TokioTungstenite>>,
    },
    Server {
        name: "tokio-websockets",
        wscore: false,
        cells: Cells::Plain,
        run: run::<queue::Queued<peers::TokioWebsockets>>,
    },
    Server {
        name: "fastwebsockets",
        wscore: false,
        cells: Cells::Plain,
        run: run::<queue::Queued<peers::FastWebsockets>>,
    },
    Server { name: "wscore-clone", wscore: true, cells: Cells::All, run: wscore::clone },
    Server {
        name: "wscore-prepared",
        wscore: true,
        cells: Cells::All,
        run: run::<wscore::Prepared<false>>,
    },
    Server {
        name: "wscore-latest",
        wscore: true,
        cells: Cells::Shed,
        run: run::<wscore::Prepared<true>>,
    },
];

/// The child process: bind `addr`, print `ready <bound address>`, and
/// serve `plan` until killed.
pub fn serve(name: &str, addr: &str, plan: Plan) -> io::Result<()> {
    let server = SERVERS
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| io::Error::other(format!("no server named {name}")))?;
    let listener = TcpListener::bind(addr)?;
    say(&format!("ready {}", listener.local_addr()?))?;
    (server.run)(listener, plan)
}

/// A line to the benchmark, on stdout.
fn say(line: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

/// Accept subscribers with `F`, and publish once told to.
fn run<F: Fanout>(listener: TcpListener, plan: Plan) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let tasks = tokio::task::LocalSet::new();
    tasks.block_on(&runtime, async move {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let joined: Rc<RefCell<Vec<F::Subscriber>>> = Rc::default();
        tokio::task::spawn_local(accept::<F>(listener, plan, Rc::clone(&joined)));
        go().await?;
        // The load client saw every 101; the last tasks may not have
        // registered yet.
        while joined.borrow().len() < plan.subscribers {
            sleep(Duration::from_millis(1)).await;
        }
        let mut publisher = F::publisher(joined.take(), plan);
        let mut ticks = (plan.rate > 0).then(|| {
            let mut ticks = interval(Duration::from_secs(1) / plan.rate);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Burst); // keep the count
            ticks
        });
        for seq in 0..plan.messages {
            if let Some(ticks) = &mut ticks {
                ticks.tick().await;
            }
            publisher.publish(&payload::message(seq)).await;
        }
        say(&format!("published{}", publisher.tally()))?;
        std::future::pending().await
    })
}

/// Accept connections for ever, each joining in a task of its own. Every
/// server gets the same socket options: `TCP_NODELAY`, and the plan's
/// `SO_SNDBUF`.
async fn accept<F: Fanout>(
    listener: tokio::net::TcpListener,
    plan: Plan,
    joined: Rc<RefCell<Vec<F::Subscriber>>>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors, say: the run stalls and says so.
            sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        if plan.send_buffer > 0 {
            let _ = socket2::SockRef::from(&stream).set_send_buffer_size(plan.send_buffer);
        }
        let joined = Rc::clone(&joined);
        tokio::task::spawn_local(async move {
            if let Some(subscriber) = F::join(stream, plan).await {
                joined.borrow_mut().push(subscriber);
            }
        });
    }
}

/// Wait for the `go` line on stdin (read by a thread of its own).
async fn go() -> io::Result<()> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = io::stdin().lock().read_line(&mut line);
        let _ = tx.send(line);
    });
    match rx.await {
        Ok(line) if line.trim() == "go" => Ok(()),
        _ => Err(io::Error::other("expected `go` on stdin")),
    }
}

#[cfg(test)]
mod tests {
    use super::{Coalesced, Tally};

    #[test]
    fn a_tally_names_what_it_counted() {
        let shed = Tally { dropped: 3, ..Tally::default() };
        assert_eq!(shed.to_string(), " dropped=3");
        assert_eq!(Tally::default().to_string(), "");
        let coalesced = Tally { coalesced: Some(Coalesced { held: 9, replaced: 1 }), ..shed };
        assert_eq!(coalesced.to_string(), " dropped=3 held=9 replaced=1 failed=0");
    }
}
