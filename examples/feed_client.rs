//! A client for a sequenced feed (an exchange's order-book or ticker
//! updates) that survives what goes wrong with long-lived connections:
//! lost updates, dropped connections, silent ones, and servers that are
//! down for a while.
//!
//! ```sh
//! cargo run --features tokio --example price_push_server -- 127.0.0.1:9003 --drop-every 5 &  # or --skip-every 4
//! cargo run --example feed_client -- ws://127.0.0.1:9003/ [--max-reconnects N]
//! ```
//!
//! Each message carries a `seq` that goes up by one. The client:
//!
//! * follows `seq`: a number missing means an update was lost and the local
//!   state cannot be trusted, so it logs the gap, closes, and subscribes
//!   again on a new connection (a real client would fetch a snapshot then);
//! * takes the connection for dead on a read error, an end of stream without
//!   a Close frame, or no data for 3 × the feed's 1 s interval (`read_timeout`
//!   catches the connection that stays up but goes quiet);
//! * reconnects with exponential backoff, 0.5 s doubling up to 30 s, with a
//!   little jitter from the clock so that many clients do not come back in
//!   lockstep; the delay starts again from 0.5 s after a connection that
//!   delivered data;
//! * runs [`subscribe`] after every connect: adapt it to your feed. The
//!   symbol goes in the URL's query (`?symbol=BTC-USD`), which is all
//!   `price_push_server` needs: it is read-only and would close the
//!   connection (1008) on any message, so `subscribe` only prints what it
//!   would send.
//!
//! `--max-reconnects N` gives up (exit 1) after N reconnects in a row that
//! got no data; without it the client retries forever.

use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wscore::blocking::{ClientOptions, CloseInfo, Error, Incoming, WebSocket};
use wscore::CloseCode;

const USAGE: &str = "usage: feed_client ws://HOST:PORT/path [--max-reconnects N]";
const SYMBOL: &str = "BTC-USD";
/// How often the feed sends (`price_push_server`: a tick a second) ...
const INTERVAL: Duration = Duration::from_secs(1);
/// ... and how long without data before the connection is presumed dead.
const STALE_AFTER: Duration = Duration::from_secs(3 * INTERVAL.as_secs());
const FIRST_DELAY: Duration = Duration::from_millis(500);
const MAX_DELAY: Duration = Duration::from_secs(30);

type Ws = WebSocket<TcpStream>;

/// Print a line with the time since the program started.
macro_rules! log {
    ($($arg:tt)*) => {
        println!("[{:8.3}s] {}", uptime().as_secs_f64(), format_args!($($arg)*))
    };
}

fn uptime() -> Duration {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// Why a connection ended.
enum Ended {
    /// A sequence number went missing: resubscribe.
    Gap { expected: u64, got: u64 },
    /// Nothing for `STALE_AFTER`.
    Silent,
    /// The server closed with a closing handshake.
    Closed(Option<CloseInfo>),
    /// The connection could not be made, or broke.
    Failed(Error),
}

fn main() -> ExitCode {
    log!("feed_client starting"); // starts the clock
    let (url, max_reconnects) = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("feed_client: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut delay = FIRST_DELAY;
    let mut reconnects = 0; // since the last connection that delivered data
    loop {
        let (ended, received) = session(&url);
        match ended {
            Ended::Gap { expected, got } => {
                log!("gap: expected seq {expected}, got {got}: resubscribing");
            }
            Ended::Silent => log!("no data for {STALE_AFTER:?}: connection presumed dead"),
            Ended::Closed(Some(CloseInfo { code, reason })) => {
                log!("server closed the connection: {code} {reason:?}");
            }
            Ended::Closed(None) => log!("server closed the connection"),
            Ended::Failed(e) => log!("connection lost: {e}"),
        }
        if received > 0 {
            delay = FIRST_DELAY; // it worked for a while: start over
            reconnects = 0;
        }
        if max_reconnects.is_some_and(|max| reconnects >= max) {
            log!("giving up: {reconnects} reconnects in a row without data");
            return ExitCode::FAILURE;
        }
        reconnects += 1;
        let wait = with_jitter(delay);
        log!("reconnecting in {:.2}s", wait.as_secs_f64());
        std::thread::sleep(wait);
        delay = (delay * 2).min(MAX_DELAY);
    }
}

/// One connection, from connect to its end; how it ended and how many
/// updates it delivered.
fn session(url: &str) -> (Ended, u64) {
    let options =
        ClientOptions { connect_timeout: Some(Duration::from_secs(5)), ..ClientOptions::default() };
    let mut ws = match WebSocket::connect_with(url, &options) {
        Ok(ws) => ws,
        Err(e) => return (Ended::Failed(e), 0),
    };
    log!("connected to {url}");
    if let Err(e) = subscribe(&mut ws) {
        return (Ended::Failed(e), 0);
    }
    let mut received = 0;
    let ended = follow(&mut ws, &mut received);
    (ended, received)
}

/// ADAPT THIS: what to send after every (re)connect to get the updates.
///
/// Exchanges typically want a message such as
/// `{"op":"subscribe","channel":"ticker","symbol":"BTC-USD"}`; send it here
/// with `ws.send_text(..)`, and fetch a snapshot if the feed sends only
/// changes. `price_push_server` takes the symbol from the URL and closes
/// the connection on any message, so this sends nothing.
fn subscribe(_ws: &mut Ws) -> Result<(), Error> {
    let request = format!(r#"{{"op":"subscribe","channel":"ticker","symbol":"{SYMBOL}"}}"#);
    log!("subscribe: would send {request} (read-only feed: nothing sent)");
    Ok(())
}

/// Apply updates in order until the connection ends or a gap shows up.
fn follow(ws: &mut Ws, received: &mut u64) -> Ended {
    let mut last_seq = None;
    let mut last_data = Instant::now();
    loop {
        // Pings and Pongs do not count as data: wait only what is left.
        let left = STALE_AFTER.saturating_sub(last_data.elapsed());
        let text = match ws.read_timeout(left) {
            Ok(Some(Incoming::Text(text))) => text,
            // A Ping (answered), a Pong, binary data, or the server's Close
            // (answered; the next read gives `Closed`).
            Ok(Some(_)) => continue,
            Ok(None) => return Ended::Silent,
            Err(Error::Closed(info)) => return Ended::Closed(info),
            Err(e) => return Ended::Failed(e),
        };
        last_data = Instant::now();
        let Some(seq) = field(&text, "seq").and_then(|v| v.parse::<u64>().ok()) else {
            log!("no seq, skipped: {text}");
            continue;
        };
        match last_seq {
            Some(last) if seq <= last => {
                log!("seq {seq} again (at {last}): duplicate skipped");
                continue;
            }
            Some(last) if seq > last + 1 => {
                // Close properly (the server sees a normal goodbye), then
                // start over on a fresh connection.
                let _ = ws.close(CloseCode::NORMAL, "resubscribing");
                return Ended::Gap { expected: last + 1, got: seq };
            }
            _ => {}
        }
        last_seq = Some(seq);
        *received += 1;
        let price = field(&text, "price").unwrap_or("?");
        let symbol = field(&text, "symbol").unwrap_or("?");
        log!("seq {seq:>4}  {symbol} {price}");
    }
}

/// `delay` plus up to 20% more, taken from the clock's nanoseconds: no RNG
/// needed to keep clients that lost the same server from returning in step.
fn with_jitter(delay: Duration) -> Duration {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    delay + delay.mul_f64(f64::from(nanos % 1000) / 5000.0)
}

/// The value of `"key":` in a flat JSON object, without quotes: enough for
/// `{"seq":12,"symbol":"BTC-USD","price":64012.34}`. (Use a JSON parser for
/// anything nested or escaped.)
fn field<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let start = json.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = json[start..].trim_start();
    match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next(),
        None => rest.split([',', '}']).next().map(str::trim),
    }
}

/// The URL, with a path if it had none and the symbol as its query if it
/// had no query.
fn subscription_url(url: &str) -> String {
    let has_path = url.split_once("://").is_some_and(|(_, rest)| rest.contains('/'));
    let url = if has_path { url.to_string() } else { format!("{url}/") };
    match url.contains('?') {
        true => url,
        false => format!("{url}?symbol={SYMBOL}"),
    }
}

fn parse_args() -> Result<(String, Option<u32>), String> {
    let mut args = std::env::args().skip(1);
    let (mut url, mut max_reconnects) = (None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--max-reconnects" => {
                let value = args.next().ok_or("--max-reconnects needs a value")?;
                let n = value.parse().map_err(|_| format!("--max-reconnects {value:?}"))?;
                max_reconnects = Some(n);
            }
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}")),
            _ if url.is_none() => url = Some(subscription_url(&arg)),
            _ => return Err("more than one URL given".into()),
        }
    }
    Ok((url.ok_or("no URL given")?, max_reconnects))
}
