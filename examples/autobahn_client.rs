//! Runs every case of an Autobahn fuzzing server (the `fuzzingserver` mode
//! of the Autobahn testsuite or of `kosoku`), then asks it to write reports.
//!
//! ```sh
//! cargo run --release --example autobahn_client -- ws://127.0.0.1:9001
//! ```
//!
//! The Autobahn client convention: `/getCaseCount` sends the number of
//! cases; `/runCase?case=N&agent=A` runs case N, in which the client echoes
//! every message back; `/updateReports?agent=A` writes the reports.

use wscore::blocking::{Error, Incoming, WebSocket};
use wscore::CloseCode;

const AGENT: &str = "wscore";

fn main() {
    let base = std::env::args().nth(1).unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let base = base.trim_end_matches('/');
    if let Err(e) = run(base) {
        eprintln!("autobahn_client: {e}");
        std::process::exit(1);
    }
}

fn run(base: &str) -> Result<(), Error> {
    let count = case_count(base)?;
    println!("{count} cases");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={AGENT}");
        match echo(&url) {
            Ok(()) => {}
            // Many cases break the protocol on purpose; the server judges.
            Err(e) => println!("case {case}: {e}"),
        }
    }
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
    let mut ws = WebSocket::connect(url)?;
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
