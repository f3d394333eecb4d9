//! A read-only price feed pushed to every subscriber: ticks
//! `{"seq":N,"symbol":"BTC-USD","price":64012.34}`, one a second by
//! default, `seq` counting up by one per symbol and the price taking a
//! pseudo-random walk (seeded with a constant).
//!
//! ```sh
//! cargo run --features tokio --example price_push_server -- 127.0.0.1:9003 \
//!     [--rate N] [--symbols N] [--drop-every N] [--skip-every N]
//! ```
//!
//! * `--rate N`: ticks per second, over all symbols (default 1; 0 = as fast
//!   as the subscribers take them);
//! * `--symbols N`: how many symbols the ticks go round (default 1:
//!   BTC-USD; then ETH-USD, SOL-USD, ...).
//!
//! Each tick is framed once and [`broadcast`] to every subscriber: the same
//! bytes are queued to every connection, no copy, no encoding per
//! connection. A subscriber that falls behind by more than 64 KiB gets, when
//! it catches up, only the newest price of each symbol
//! ([`WhenFull::KeepLatest`], keyed by symbol), not a queue of stale ones;
//! its `seq` then jumps, as a client that follows it sees. Every 10 seconds
//! the server logs how many ticks it queued, and how many stale ones it
//! dropped for slow subscribers.
//!
//! The feed is one-way: a client that sends a message is closed with 1008
//! (policy violation), reason "this feed is read-only". Connects and
//! disconnects are logged.
//!
//! Two options misbehave on purpose, to exercise a client's recovery (see
//! the `feed_client` example):
//!
//! * `--drop-every N`: N ticks' time after a subscriber connects, drop it:
//!   the TCP connection closes with no Close frame, as when a server
//!   crashes or a load balancer gives up.
//! * `--skip-every N`: every N ticks, one sequence number is left out, as
//!   when an update is lost upstream.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use wscore::prepared::Prepared;
use wscore::tokio::{
    accept_with, broadcast, Broadcast, Buffers, Error, Incoming, ServerOptions, WhenFull, Writer,
};
use wscore::{CloseCode, Config};

const USAGE: &str = "usage: price_push_server HOST:PORT [--rate N] [--symbols N] \
                     [--drop-every N] [--skip-every N]";
const SYMBOLS: [&str; 8] =
    ["BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD", "ADA-USD", "DOGE-USD", "DOT-USD", "LTC-USD"];
const REPORT_EVERY: Duration = Duration::from_secs(10);
const OPTIONS: ServerOptions<'static> = ServerOptions {
    // The defaults: subscribers that vanish are noticed by keepalive (a
    // Ping every 20 s, 20 s to answer).
    config: Config::DEFAULT,
    // Past this, a slow subscriber keeps only the newest tick per symbol.
    buffers: Buffers { max_unsent: 64 * 1024 },
    ..ServerOptions::DEFAULT
};

/// What the command line asked for.
#[derive(Clone, Copy)]
struct Options {
    /// Ticks per second; 0: as fast as possible.
    rate: u32,
    symbols: usize,
    /// Misbehaviour, 0 is off.
    drop_every: u64,
    skip_every: u64,
}

/// The subscribers' writers, by connection number.
type Subscribers = Arc<Mutex<Vec<(u64, Writer<TcpStream>)>>>;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let (addr, options) = parse_args().unwrap_or_else(|message| {
        eprintln!("price_push_server: {message}\n{USAGE}");
        std::process::exit(2);
    });
    let listener = TcpListener::bind(&addr).await?;
    println!("price feed on ws://{addr}/");
    let subscribers = Subscribers::default();
    tokio::spawn(publish(Arc::clone(&subscribers), options));
    for id in 1.. {
        let Ok((stream, peer)) = listener.accept().await else { continue };
        let subscribers = Arc::clone(&subscribers);
        tokio::spawn(async move {
            println!("#{id} {peer} connected");
            let why = subscribe(stream, id, &subscribers, options).await;
            subscribers.lock().unwrap_or_else(PoisonError::into_inner).retain(|(s, _)| *s != id);
            match why {
                Ok(why) => println!("#{id} {peer} disconnected: {why}"),
                Err(e) => println!("#{id} {peer} disconnected: {e}"),
            }
        });
    }
    Ok(())
}

/// Make ticks and broadcast them, for ever.
async fn publish(subscribers: Subscribers, options: Options) {
    let mut walks: Vec<PriceWalk> = (0..options.symbols).map(PriceWalk::new).collect();
    let mut seqs = vec![0u64; options.symbols];
    let mut clock = (options.rate > 0).then(|| {
        let mut ticks = tokio::time::interval(Duration::from_secs(1) / options.rate);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        ticks
    });
    let mut total = Broadcast::default();
    let mut reported = Instant::now();
    for tick in 1u64.. {
        match &mut clock {
            Some(clock) => {
                clock.tick().await;
            }
            None => tokio::task::yield_now().await,
        }
        let writers: Vec<Writer<TcpStream>> = {
            let list = subscribers.lock().unwrap_or_else(PoisonError::into_inner);
            list.iter().map(|(_, writer)| writer.clone()).collect()
        };
        if writers.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await; // nobody to tell
            continue;
        }
        let symbol = (tick % options.symbols as u64) as usize;
        seqs[symbol] += 1;
        if options.skip_every > 0 && tick % options.skip_every == 0 {
            seqs[symbol] += 1; // the number before this one is never sent
        }
        let (dollars, cents) = walks[symbol].step();
        let frame = Prepared::text(&format!(
            r#"{{"seq":{},"symbol":"{}","price":{dollars}.{cents:02}}}"#,
            seqs[symbol], SYMBOLS[symbol]
        ));
        let sent = broadcast(&writers, &frame, WhenFull::KeepLatest { key: symbol as u64 }).await;
        total = Broadcast {
            queued: total.queued + sent.queued,
            held: total.held + sent.held,
            replaced: total.replaced + sent.replaced,
            closed: total.closed + sent.closed,
            failed: total.failed + sent.failed,
        };
        if reported.elapsed() >= REPORT_EVERY {
            println!(
                "{} subscribers; last {}s: {} ticks queued, {} held for slow subscribers, {} stale ones dropped",
                writers.len(),
                REPORT_EVERY.as_secs(),
                total.queued,
                total.held,
                total.replaced
            );
            (total, reported) = (Broadcast::default(), Instant::now());
        }
    }
}

/// One subscriber: add its writer to the list and read until it goes, is
/// sent away, or is dropped (`--drop-every`); says why it ended.
async fn subscribe(
    stream: TcpStream,
    id: u64,
    subscribers: &Subscribers,
    options: Options,
) -> Result<String, Error> {
    let ws = accept_with(stream, &[], &OPTIONS).await?;
    let (mut reader, writer) = ws.split();
    subscribers.lock().unwrap_or_else(PoisonError::into_inner).push((id, writer.clone()));
    // `--drop-every`: this subscriber's time is up after that many ticks.
    let lifetime = match (options.drop_every, options.rate) {
        (0, _) | (_, 0) => Duration::MAX,
        (n, rate) => Duration::from_secs(n) / rate,
    };
    let deadline = tokio::time::sleep(lifetime.min(Duration::from_secs(86_400 * 365)));
    tokio::pin!(deadline);
    loop {
        // This task reads, and writes what the publisher queues.
        let incoming = tokio::select! {
            incoming = reader.next() => incoming,
            () = &mut deadline => {
                // Drop both halves: the socket closes with no Close frame.
                return Ok(format!("dropped after {} ticks (--drop-every)", options.drop_every));
            }
        };
        match incoming {
            Some(Ok(Incoming::Text(_) | Incoming::Binary(_))) => {
                writer.close(CloseCode::POLICY_VIOLATION, "this feed is read-only").await?;
                return Ok("sent a message: closed with 1008".into());
            }
            Some(Ok(Incoming::Close(info))) => {
                let code = info.map_or_else(|| "no code".into(), |i| i.code.to_string());
                return Ok(format!("closed by the client ({code})"));
            }
            Some(Ok(_)) => {} // Pings are answered by the driver
            Some(Err(e)) => return Err(e),
            None => return Ok("closed".into()),
        }
    }
}

/// A deterministic random walk per symbol: xorshift64 picks each step, up
/// to ±$25.
struct PriceWalk {
    state: u64,
    cents: u64,
}

impl PriceWalk {
    fn new(symbol: usize) -> Self {
        let start = [6_400_000, 340_000, 15_000, 60, 45, 12, 700, 8_500];
        PriceWalk { state: 0x9e37_79b9_7f4a_7c15 + symbol as u64, cents: start[symbol % 8] }
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

fn parse_args() -> Result<(String, Options), String> {
    let mut args = std::env::args().skip(1);
    let mut addr = None;
    let mut options = Options { rate: 1, symbols: 1, drop_every: 0, skip_every: 0 };
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let value = args.next().ok_or(format!("{name} needs a value"))?;
            value.parse().map_err(|_| format!("{name} {value:?}: expected a number"))
        };
        match arg.as_str() {
            "--rate" => {
                let rate = number("--rate")?;
                options.rate = u32::try_from(rate).map_err(|_| "--rate: too large")?;
            }
            "--symbols" => match number("--symbols")? {
                n @ 1..=8 => options.symbols = n as usize,
                _ => return Err("--symbols: 1 to 8".into()),
            },
            "--drop-every" => options.drop_every = number("--drop-every")?,
            "--skip-every" => options.skip_every = number("--skip-every")?,
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}")),
            _ if addr.is_none() => addr = Some(arg),
            _ => return Err("more than one address given".into()),
        }
    }
    Ok((addr.unwrap_or_else(|| "127.0.0.1:9003".into()), options))
}
