//! A long-running client with a heartbeat, in the shape of Python
//! websocket-client's
//! `WebSocketApp(url, on_open=..., on_message=..., on_error=..., on_close=...)`
//! `.run_forever(ping_interval=10, ping_timeout=5)`.
//!
//! ```sh
//! cargo run --example echo_server -- 127.0.0.1:9001 &
//! cargo run --example heartbeat_client -- ws://127.0.0.1:9001/ [--ping-interval SECS] [--ping-timeout SECS]
//! ```
//!
//! The callbacks are the methods of a small trait, [`App`]; `run_forever`
//! connects, calls them as things happen, and returns when the connection
//! ends. Keepalive is wscore's own (`Config::keepalive`): a Ping every
//! `--ping-interval` seconds (default 10), and the connection is given up
//! when its Pong has not come back within `--ping-timeout` seconds (default
//! 5). Each Pong is printed as it arrives.
//!
//! To see a dead peer detected, freeze the server so that TCP stays up but
//! nothing answers: `kill -STOP <server pid>`. Within `--ping-timeout`
//! seconds of the next Ping the client prints
//! `peer did not answer the ping within 5s: connection dead` and exits 1
//! (resume the server with `kill -CONT`). A server that closes, or a
//! connection that breaks, ends the run too: exit 0 after a clean close,
//! 1 otherwise.

use std::convert::Infallible;
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use wscore::blocking::{ClientOptions, CloseInfo, Error, Incoming, WebSocket};
use wscore::{Config, Keepalive};

const USAGE: &str =
    "usage: heartbeat_client ws://HOST:PORT/path [--ping-interval SECS] [--ping-timeout SECS]";

type Ws = WebSocket<TcpStream>;

/// `WebSocketApp`'s callbacks. Each has a default that does nothing, so an
/// application writes only the ones it needs.
trait App {
    /// The handshake is done: a good place to send a first message.
    fn on_open(&mut self, _ws: &mut Ws) -> Result<(), Error> {
        Ok(())
    }
    /// A message arrived (a binary one as text, invalid UTF-8 replaced).
    fn on_message(&mut self, _ws: &mut Ws, _text: &str) -> Result<(), Error> {
        Ok(())
    }
    /// A Pong arrived: the answer to a keepalive Ping, here.
    fn on_pong(&mut self, _payload: &[u8]) {}
    /// The connection failed: it is over, and `on_close` comes next.
    fn on_error(&mut self, _error: &Error) {}
    /// The connection ended; `info` is the peer's close code and reason,
    /// when it sent a Close.
    fn on_close(&mut self, _info: Option<&CloseInfo>) {}
}

/// Connect, call `app`'s callbacks until the connection ends, and return
/// `Ok` after a clean close, the error otherwise. Pings are answered and
/// keepalive Pings sent inside `ws.read()`, by the driver.
fn run_forever(url: &str, keepalive: Keepalive, app: &mut impl App) -> Result<(), Error> {
    let options = ClientOptions {
        config: Config { keepalive: Some(keepalive), ..Config::default() },
        connect_timeout: Some(Duration::from_secs(10)),
        ..ClientOptions::default()
    };
    let ended = match WebSocket::connect_with(url, &options) {
        Ok(mut ws) => {
            let Err(ended) = dispatch(&mut ws, app);
            ended
        }
        Err(e) => e,
    };
    match ended {
        Error::Closed(info) => {
            app.on_close(info.as_ref());
            Ok(())
        }
        e => {
            app.on_error(&e);
            app.on_close(None);
            Err(e)
        }
    }
}

/// Hand each message to its callback until the connection ends (the error
/// says how: `Closed` after a clean close).
fn dispatch(ws: &mut Ws, app: &mut impl App) -> Result<Infallible, Error> {
    app.on_open(ws)?;
    loop {
        match ws.read()? {
            Incoming::Text(text) => app.on_message(ws, &text)?,
            Incoming::Binary(data) => app.on_message(ws, &String::from_utf8_lossy(&data))?,
            Incoming::Pong(payload) => app.on_pong(&payload),
            // Its Pong is already sent.
            Incoming::Ping(_) => {}
            // The reply is already sent: the next read ends with `Closed`
            // once the closing handshake is over.
            Incoming::Close(_) => {}
        }
    }
}

/// This program's callbacks: log everything with the time since start.
struct Logger {
    started: Instant,
    keepalive: Keepalive,
    last_pong: Option<Instant>,
}

impl Logger {
    fn log(&self, line: &str) {
        println!("[{:7.3}s] {line}", self.started.elapsed().as_secs_f64());
    }
}

impl App for Logger {
    fn on_open(&mut self, ws: &mut Ws) -> Result<(), Error> {
        let Keepalive { interval, timeout } = self.keepalive;
        self.log(&format!("open: ping every {interval:?}, pong due within {timeout:?}"));
        ws.send_text("hello from heartbeat_client")
    }

    fn on_message(&mut self, _ws: &mut Ws, text: &str) -> Result<(), Error> {
        self.log(&format!("message: {text}"));
        Ok(())
    }

    fn on_pong(&mut self, payload: &[u8]) {
        // wscore's keepalive Pings carry a 4-byte counter.
        let number = <[u8; 4]>::try_from(payload).map_or(0, u32::from_be_bytes);
        self.log(&format!("pong #{number}"));
        self.last_pong = Some(Instant::now());
    }

    fn on_error(&mut self, error: &Error) {
        match error {
            Error::Protocol(wscore::Error::KeepaliveTimeout) => {
                let secs = self.keepalive.timeout.as_secs_f64();
                self.log(&format!("peer did not answer the ping within {secs}s: connection dead"));
                if let Some(at) = self.last_pong {
                    self.log(&format!("(last pong {:.3}s ago)", at.elapsed().as_secs_f64()));
                }
            }
            other => self.log(&format!("error: {other}")),
        }
    }

    fn on_close(&mut self, info: Option<&CloseInfo>) {
        match info {
            Some(CloseInfo { code, reason }) => self.log(&format!("closed: {code} {reason:?}")),
            None => self.log("closed"),
        }
    }
}

fn main() -> ExitCode {
    let (url, keepalive) = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("heartbeat_client: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut app = Logger { started: Instant::now(), keepalive, last_pong: None };
    match run_forever(&url, keepalive, &mut app) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE, // on_error has told what happened
    }
}

fn parse_args() -> Result<(String, Keepalive), String> {
    let mut args = std::env::args().skip(1);
    let (mut url, mut interval, mut timeout) = (None, 10.0, 5.0);
    while let Some(arg) = args.next() {
        let mut secs = |name: &str| -> Result<f64, String> {
            let value = args.next().ok_or(format!("{name} needs a value"))?;
            match value.parse::<f64>() {
                Ok(secs) if secs.is_finite() && secs >= 0.0 => Ok(secs),
                _ => Err(format!("{name} {value:?}: expected seconds")),
            }
        };
        match arg.as_str() {
            "--ping-interval" => interval = secs("--ping-interval")?,
            "--ping-timeout" => timeout = secs("--ping-timeout")?,
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}")),
            _ if url.is_none() => url = Some(arg),
            _ => return Err("more than one URL given".into()),
        }
    }
    let url = url.ok_or("no URL given")?;
    let (interval, timeout) = (Duration::from_secs_f64(interval), Duration::from_secs_f64(timeout));
    Ok((url, Keepalive { interval, timeout }))
}
