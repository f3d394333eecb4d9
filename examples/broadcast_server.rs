//! A shared counter, the classic broadcast example (Python websockets'
//! "counter"): every client sees one value and the number of users online,
//! and any client can move the value.
//!
//! ```sh
//! cargo run --features tokio --example broadcast_server -- 127.0.0.1:9002
//! ```
//!
//! Open <http://127.0.0.1:9002/> in a few browser tabs: the page (served on
//! the same port, by a plain `GET /`) has − and + buttons, the value and
//! "N users online". Clients send `{"action":"minus"}` or
//! `{"action":"plus"}`; every change of the value or of the user count goes
//! to all of them as `{"type":"value","value":N}` or
//! `{"type":"users","count":N}`.
//!
//! On the tokio driver. Each connection is split: its task reads what the
//! client sends, and a second task owns its [`Writer`] and forwards every
//! change from a `tokio::sync::broadcast` channel. Changes are applied and
//! announced under one lock, so every client sees them in the same order,
//! and a slow client only delays itself: when it falls a whole channel
//! behind, it is sent the current state and carries on from there.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::{self, error::RecvError, Receiver};
use wscore::handshake::{RequestHead, Status, EMPTY_HEADER};
use wscore::tokio::{accept_with, Error, Incoming, ServerOptions, Writer};
use wscore::{Config, Keepalive, MAX_HANDSHAKE_HEADERS};

const PAGE: &str = include_str!("broadcast_page.html");
/// Python websockets' defaults: a Ping every 20 s, and a client that has not
/// answered 20 s later is gone (a closed laptop, a lost network).
const CONFIG: Config = Config {
    keepalive: Some(Keepalive {
        interval: Duration::from_secs(20),
        timeout: Duration::from_secs(20),
    }),
    ..Config::DEFAULT
};
/// Changes kept for clients that are behind, before they are skipped ahead.
const BACKLOG: usize = 64;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9002".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("counter on ws://{addr}/ (page: http://{addr}/)");
    let hub = Arc::new(Hub::new());
    for id in 1u64.. {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let hub = Arc::clone(&hub);
        let who = format!("#{id} {peer}");
        tokio::spawn(async move {
            if let Err(e) = serve(stream, &who, hub).await {
                println!("{who}: {e}");
            }
        });
    }
    Ok(())
}

/// The state all connections share.
struct Hub {
    state: Mutex<Counter>,
    /// Every change, as the JSON sent to clients.
    changes: broadcast::Sender<String>,
}

struct Counter {
    value: i64,
    users: usize,
}

impl Hub {
    fn new() -> Self {
        let (changes, _) = broadcast::channel(BACKLOG);
        Hub { state: Mutex::new(Counter { value: 0, users: 0 }), changes }
    }

    /// Change the counter and announce the change, under the lock: two
    /// changes are announced in the order they were made.
    fn update(&self, change: impl FnOnce(&mut Counter) -> String) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let message = change(&mut state);
        let _ = self.changes.send(message); // Err: nobody is listening
    }

    /// A new user: announce it, then give the user the changes to come and
    /// the state they start from.
    fn join(&self) -> (Receiver<String>, [String; 2]) {
        self.update(|c| {
            c.users += 1;
            users_json(c.users)
        });
        self.subscribe()
    }

    fn leave(&self) {
        self.update(|c| {
            c.users -= 1;
            users_json(c.users)
        });
    }

    /// The changes from now on, and the state now: taken under the lock,
    /// so that no change falls between the two.
    fn subscribe(&self) -> (Receiver<String>, [String; 2]) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        (self.changes.subscribe(), [value_json(state.value), users_json(state.users)])
    }
}

fn value_json(value: i64) -> String {
    format!(r#"{{"type":"value","value":{value}}}"#)
}

fn users_json(count: usize) -> String {
    format!(r#"{{"type":"users","count":{count}}}"#)
}

/// One TCP connection: the page for a plain GET, the counter for a
/// WebSocket upgrade.
async fn serve(mut stream: TcpStream, who: &str, hub: Arc<Hub>) -> Result<(), Error> {
    // A connection that never finishes its request is dropped after 10 s.
    let head = match tokio::time::timeout(Duration::from_secs(10), read_head(&mut stream)).await {
        Ok(head) => head?,
        Err(_) => return Ok(()),
    };
    let Some(head) = head else {
        return Ok(()); // the page was served, or nothing was asked
    };
    // Browsers send cookies with cross-site WebSocket requests: a server
    // with users to protect sets `allowed_origins` (or checks `Origin`).
    let options = ServerOptions { config: CONFIG, ..ServerOptions::default() };
    let ws = accept_with(stream, &head, &options).await?;
    let (mut reader, writer) = ws.split();
    let (changes, now) = hub.join();
    println!("{who} joined");
    let forwarding = tokio::spawn(forward(writer, changes, now, Arc::clone(&hub)));

    // Read until the client goes; the forwarding task does all the sending.
    let ended = loop {
        match reader.next().await {
            Some(Ok(Incoming::Text(text))) => match field(&text, "action") {
                Some("minus") => hub.update(|c| {
                    c.value -= 1;
                    value_json(c.value)
                }),
                Some("plus") => hub.update(|c| {
                    c.value += 1;
                    value_json(c.value)
                }),
                _ => println!("{who} unsupported event: {text}"),
            },
            Some(Ok(_)) => {} // binary, Ping (answered), Pong, Close (answered)
            Some(Err(e)) => break e.to_string(),
            None => break "closed".to_string(),
        }
    };
    forwarding.abort();
    hub.leave();
    println!("{who} left: {ended}");
    Ok(())
}

/// Send a client the state it starts from, then every change, until the
/// client is gone.
async fn forward(
    writer: Writer<TcpStream>,
    mut changes: Receiver<String>,
    mut catch_up: [String; 2],
    hub: Arc<Hub>,
) {
    loop {
        for message in &catch_up {
            if writer.send_text(message).await.is_err() {
                return;
            }
        }
        loop {
            let message = match changes.recv().await {
                Ok(message) => message,
                // Too slow to take every change: skip to the present.
                Err(RecvError::Lagged(_)) => break,
                Err(RecvError::Closed) => return,
            };
            if writer.send_text(&message).await.is_err() {
                return; // the reading task sees the connection end too
            }
        }
        (changes, catch_up) = hub.subscribe();
    }
}

/// Read the request head. A plain HTTP request is answered here (`None`);
/// an upgrade, or a request the handshake will refuse, comes back as the
/// bytes read so far, to hand to `accept_with`.
async fn read_head(stream: &mut TcpStream) -> Result<Option<Vec<u8>>, Error> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None); // closed before sending a request
        }
        head.extend_from_slice(&chunk[..n]);
        let path = {
            let mut slots = [EMPTY_HEADER; MAX_HANDSHAKE_HEADERS];
            match RequestHead::parse(&head, &mut slots, CONFIG.max_handshake_head) {
                Ok(Status::Complete(request)) if !request.is_websocket_upgrade() => {
                    request.path().to_string()
                }
                Ok(Status::Partial) => continue,
                Ok(Status::Complete(_)) | Err(_) => return Ok(Some(head)),
            }
        };
        let (status, kind, body) = match path.as_str() {
            "/" | "/index.html" => ("200 OK", "text/html", PAGE),
            _ => ("404 Not Found", "text/plain", "not found\n"),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {kind}; charset=utf-8\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).await?;
        return Ok(None);
    }
}

/// The string value of `"key":` in a flat JSON object such as
/// `{"action":"plus"}`. (Use a JSON parser for anything nested or escaped.)
fn field<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let start = json.find(&format!("\"{key}\":"))? + key.len() + 3;
    json[start..].trim_start().strip_prefix('"')?.split('"').next()
}
