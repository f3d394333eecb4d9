//! A read-only price feed: every second, each client gets a tick
//! `{"seq":N,"symbol":"BTC-USD","price":64012.34}`, `seq` counting up from 1
//! on each connection and the price taking a pseudo-random walk (the same
//! walk for every connection: it is seeded with a constant).
//!
//! ```sh
//! cargo run --example price_push_server -- 127.0.0.1:9003 [--drop-every N] [--skip-every N]
//! ```
//!
//! The feed is one-way: a client that sends a message is closed with 1008
//! (policy violation), reason "this feed is read-only". Connects and
//! disconnects are logged.
//!
//! Two options misbehave on purpose, to exercise a client's recovery (see
//! the `feed_client` example):
//!
//! * `--drop-every N`: after every N ticks of a connection, drop it: the TCP
//!   connection closes with no Close frame, as when a server crashes or a
//!   load balancer gives up.
//! * `--skip-every N`: every N ticks, one sequence number is left out, as
//!   when an update is lost upstream.
//!
//! One thread per connection, on the blocking driver: `read_timeout` waits
//! for the client until the next tick is due.

use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use wscore::blocking::{Error, Incoming, WebSocket};
use wscore::CloseCode;

const USAGE: &str = "usage: price_push_server HOST:PORT [--drop-every N] [--skip-every N]";
const TICK: Duration = Duration::from_secs(1);

/// The misbehaviour asked for on the command line; 0 is off.
#[derive(Clone, Copy)]
struct Faults {
    drop_every: u64,
    skip_every: u64,
}

fn main() -> std::io::Result<()> {
    let (addr, faults) = parse_args().unwrap_or_else(|message| {
        eprintln!("price_push_server: {message}\n{USAGE}");
        std::process::exit(2);
    });
    let listener = TcpListener::bind(&addr)?;
    println!("price feed on ws://{addr}/");
    for (id, stream) in (1..).zip(listener.incoming()) {
        let Ok(stream) = stream else { continue };
        std::thread::spawn(move || {
            let peer = stream.peer_addr().map_or_else(|_| "?".into(), |p| p.to_string());
            println!("#{id} {peer} connected");
            match feed(stream, faults) {
                Ok(why) => println!("#{id} {peer} disconnected: {why}"),
                Err(e) => println!("#{id} {peer} disconnected: {e}"),
            }
        });
    }
    Ok(())
}

/// Push ticks to one client until it goes, or is sent away; says why it ended.
fn feed(stream: TcpStream, faults: Faults) -> Result<String, Error> {
    let mut ws = WebSocket::accept(stream)?;
    let mut walk = PriceWalk::new();
    let (mut ticks, mut seq) = (0u64, 0u64);
    let mut next_tick = Instant::now() + TICK;
    loop {
        // Wait for the client, but no later than the next tick.
        let wait = next_tick.saturating_duration_since(Instant::now());
        match ws.read_timeout(wait) {
            Ok(None) => {} // time for a tick
            Ok(Some(Incoming::Text(_) | Incoming::Binary(_))) => {
                ws.close(CloseCode::POLICY_VIOLATION, "this feed is read-only")?;
                return Ok("sent a message: closed with 1008".into());
            }
            // Pongs are answered by the driver; after the client's Close the
            // next read ends with `Closed`.
            Ok(Some(_)) => continue,
            Err(Error::Closed(info)) => {
                let code = info.map_or_else(|| "no code".into(), |i| i.code.to_string());
                return Ok(format!("closed by the client ({code}) after {ticks} ticks"));
            }
            Err(e) => return Err(e),
        }
        ticks += 1;
        seq += 1;
        if faults.skip_every > 0 && ticks % faults.skip_every == 0 {
            seq += 1; // the number before this one is never sent
        }
        let (dollars, cents) = walk.step();
        ws.send_text(&format!(
            r#"{{"seq":{seq},"symbol":"BTC-USD","price":{dollars}.{cents:02}}}"#
        ))?;
        if faults.drop_every > 0 && ticks % faults.drop_every == 0 {
            drop(ws); // closes the socket: no Close frame, no closing handshake
            return Ok(format!("dropped after {ticks} ticks (--drop-every)"));
        }
        next_tick += TICK;
    }
}

/// A deterministic random walk: xorshift64 picks each step, up to ±$25.
struct PriceWalk {
    state: u64,
    cents: u64,
}

impl PriceWalk {
    fn new() -> Self {
        PriceWalk { state: 0x9e37_79b9_7f4a_7c15, cents: 6_400_000 }
    }

    /// The next price, as dollars and cents.
    fn step(&mut self) -> (u64, u64) {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let delta = (self.state % 5_001) as i64 - 2_500; // -25.00 ..= +25.00
        self.cents = self.cents.saturating_add_signed(delta).max(100);
        (self.cents / 100, self.cents % 100)
    }
}

fn parse_args() -> Result<(String, Faults), String> {
    let mut args = std::env::args().skip(1);
    let mut addr = None;
    let mut faults = Faults { drop_every: 0, skip_every: 0 };
    while let Some(arg) = args.next() {
        let mut count = |name: &str| -> Result<u64, String> {
            let value = args.next().ok_or(format!("{name} needs a value"))?;
            value.parse().map_err(|_| format!("{name} {value:?}: expected a number of ticks"))
        };
        match arg.as_str() {
            "--drop-every" => faults.drop_every = count("--drop-every")?,
            "--skip-every" => faults.skip_every = count("--skip-every")?,
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}")),
            _ if addr.is_none() => addr = Some(arg),
            _ => return Err("more than one address given".into()),
        }
    }
    Ok((addr.unwrap_or_else(|| "127.0.0.1:9003".into()), faults))
}
