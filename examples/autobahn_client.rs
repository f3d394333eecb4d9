//! Runs every case of an Autobahn fuzzing server (the `fuzzingserver` mode
//! of the Autobahn testsuite or of `kosoku`), then asks it to write reports.
//!
//! ```sh
//! cargo run --release --example autobahn_client -- ws://127.0.0.1:9001 [--jobs N]
//! ```
//!
//! `--jobs N` runs N cases at a time (default 1).
//!
//! The Autobahn client convention: `/getCaseCount` sends the number of
//! cases; `/runCase?case=N&agent=A` runs case N, in which the client echoes
//! every message back; `/updateReports?agent=A` writes the reports.
//!
//! Every connection offers permessage-deflate (RFC 7692); the server
//! accepts it in the cases that test it (12.* and 13.*).

use std::sync::atomic::{AtomicU32, Ordering};

use wscore::blocking::{ClientOptions, Error, Incoming, WebSocket};
use wscore::deflate::DeflateConfig;
use wscore::{CloseCode, Config};

const AGENT: &str = "wscore";

fn main() {
    let mut base = "ws://127.0.0.1:9001".to_string();
    let mut jobs = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--jobs" => match args.next().and_then(|n| n.parse().ok()).filter(|&n| n > 0) {
                Some(n) => jobs = n,
                None => usage(),
            },
            flag if flag.starts_with("--") => usage(),
            _ => base = arg,
        }
    }
    let base = base.trim_end_matches('/');
    if let Err(e) = run(base, jobs) {
        eprintln!("autobahn_client: {e}");
        std::process::exit(1);
    }
}

fn usage() -> ! {
    eprintln!("usage: autobahn_client [ws://HOST:PORT] [--jobs N]");
    std::process::exit(2);
}

fn run(base: &str, jobs: u32) -> Result<(), Error> {
    let count = case_count(base)?;
    println!("{count} cases, {jobs} at a time");
    let next = AtomicU32::new(1);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let case = next.fetch_add(1, Ordering::Relaxed);
                if case > count {
                    break;
                }
                let url = format!("{base}/runCase?case={case}&agent={AGENT}");
                match echo(&url) {
                    Ok(()) => {}
                    // Many cases break the protocol on purpose; the server judges.
                    Err(e) => println!("case {case}: {e}"),
                }
            });
        }
    });
    let mut ws = WebSocket::connect(&format!("{base}/updateReports?agent={AGENT}"))?;
    // The server writes the reports and may hang up without a Close.
    match ws.close(CloseCode::NORMAL, "") {
        Ok(()) | Err(Error::Protocol(wscore::Error::UnexpectedEof)) => {}
        Err(e) => return Err(e),
    }
    println!("reports updated");
    Ok(())
}

fn case_count(base: &str) -> Result<u32, Error> {
    let mut ws = WebSocket::connect(&format!("{base}/getCaseCount"))?;
    loop {
        match ws.read()? {
            Incoming::Text(text) => {
                let count = text.trim().parse().unwrap_or(0);
                let _ = ws.close(CloseCode::NORMAL, "");
                return Ok(count);
            }
            Incoming::Close(_) => return Ok(0),
            _ => {}
        }
    }
}

/// Echo every message of one case until the server closes.
fn echo(url: &str) -> Result<(), Error> {
    // Offering `client_no_context_takeover` (a promise to compress each
    // message on its own) lets the server ask for it, as cases 13.2, 13.5
    // and 13.6 do; Autobahn's own client offers it too.
    let deflate = DeflateConfig { no_context_takeover: true, ..DeflateConfig::default() };
    let config = Config { deflate: Some(deflate), ..Config::default() };
    let options = ClientOptions { config, ..ClientOptions::default() };
    let mut ws = WebSocket::connect_with(url, &options)?;
    loop {
        match ws.read() {
            Ok(Incoming::Text(text)) => ws.send_text(&text)?,
            Ok(Incoming::Binary(data)) => ws.send_binary(&data)?,
            Ok(Incoming::Ping(_) | Incoming::Pong(_) | Incoming::Close(_)) => {}
            Err(Error::Closed(_)) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
