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
//! client sends, and the hub keeps its [`Writer`]. Every change is framed
//! once, as a [`Prepared`] frame, and [`broadcast`] queues the same bytes
//! to every connection (no copy, no encoding per connection); each
//! connection's task writes them. Changes are applied and announced under
//! one lock, so every client sees them in the same order. A slow client
//! only delays itself: while its buffer is full, it keeps just the newest
//! value and the newest user count ([`WhenFull::KeepLatest`]), which is all
//! the page shows.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use wscore::handshake::{RequestHead, Status, EMPTY_HEADER};
use wscore::prepared::Prepared;
use wscore::tokio::{
    accept_with, broadcast, Buffers, Error, Incoming, ServerOptions, WhenFull, Writer,
};
use wscore::{Config, MAX_HANDSHAKE_HEADERS};

const PAGE: &str = include_str!("broadcast_page.html");
/// The defaults: among them a keepalive Ping every 20 s, and a client that
/// has not answered 20 s later is gone (a closed laptop, a lost network).
const CONFIG: Config = Config::DEFAULT;
/// What a client that does not keep up may have waiting; past it, only the
/// newest message of each kind is kept.
const BUFFERS: Buffers = Buffers { max_unsent: 64 * 1024 };
/// The kinds of message, for keeping the newest of each.
const VALUE: u64 = 0;
const USERS: u64 = 1;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9002".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("counter on ws://{addr}/ (page: http://{addr}/)");
    let hub = Arc::new(Hub::default());
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
            if let Err(e) = serve(stream, id, &who, hub).await {
                println!("{who}: {e}");
            }
        });
    }
    Ok(())
}

/// The state all connections share, and their writers.
#[derive(Default)]
struct Hub {
    state: Mutex<Counter>,
}

#[derive(Default)]
struct Counter {
    value: i64,
    users: Vec<(u64, Writer<TcpStream>)>,
}

impl Counter {
    /// Announce `message` (of `kind`) to every user: framed once.
    async fn announce(&self, kind: u64, message: String) {
        let frame = Prepared::text(&message);
        let writers = self.users.iter().map(|(_, writer)| writer);
        broadcast(writers, &frame, WhenFull::KeepLatest { key: kind }).await;
    }
}

impl Hub {
    /// Move the counter by `step` and announce the new value, under the
    /// lock: two changes are announced in the order they were made.
    async fn add(&self, step: i64) {
        let mut state = self.state.lock().await;
        state.value += step;
        state.announce(VALUE, value_json(state.value)).await;
    }

    /// A new user: it gets the value, and everyone the new user count.
    async fn join(&self, id: u64, writer: Writer<TcpStream>) {
        let mut state = self.state.lock().await;
        let now = Prepared::text(&value_json(state.value));
        let _ = writer.offer(&now, WhenFull::KeepLatest { key: VALUE }).await;
        state.users.push((id, writer));
        state.announce(USERS, users_json(state.users.len())).await;
    }

    async fn leave(&self, id: u64) {
        let mut state = self.state.lock().await;
        state.users.retain(|(user, _)| *user != id);
        state.announce(USERS, users_json(state.users.len())).await;
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
async fn serve(mut stream: TcpStream, id: u64, who: &str, hub: Arc<Hub>) -> Result<(), Error> {
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
    let options = ServerOptions { config: CONFIG, buffers: BUFFERS, ..ServerOptions::default() };
    let ws = accept_with(stream, &head, &options).await?;
    let (mut reader, writer) = ws.split();
    hub.join(id, writer).await;
    println!("{who} joined");

    // Read until the client goes; this task also writes what the hub queues.
    let ended = loop {
        match reader.next().await {
            Some(Ok(Incoming::Text(text))) => match field(&text, "action") {
                Some("minus") => hub.add(-1).await,
                Some("plus") => hub.add(1).await,
                _ => println!("{who} unsupported event: {text}"),
            },
            Some(Ok(_)) => {} // binary, Ping (answered), Pong, Close (answered)
            Some(Err(e)) => break e.to_string(),
            None => break "closed".to_string(),
        }
    };
    hub.leave(id).await;
    println!("{who} left: {ended}");
    Ok(())
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
