//! The echo servers, each run in a child process (`e2e server <name>
//! <addr>`): async ones on a current-thread tokio runtime with one task per
//! connection, blocking ones with one thread per connection.
//!
//! Every server sets `TCP_NODELAY` on accepted sockets, echoes Text and
//! Binary messages, and drops a connection on its first error (the load
//! client resets its connections at the end of every cell).

mod peers;
mod wscore;

use std::future::Future;
use std::io::{self, Write};
use std::net::{TcpListener, TcpStream as StdTcpStream};
use std::pin::Pin;
use std::thread;

/// What a connection handler returns; errors end the connection, silently.
pub type Result = std::result::Result<(), Box<dyn std::error::Error>>;

/// An async connection handler (boxed: one signature for every crate).
pub type AsyncHandler = fn(tokio::net::TcpStream) -> Pin<Box<dyn Future<Output = Result>>>;

/// How a server runs its connections.
#[derive(Clone, Copy, Debug)]
pub enum Model {
    /// A current-thread tokio runtime, one task per connection.
    Async(AsyncHandler),
    /// One OS thread per connection, blocking I/O.
    Threads(fn(StdTcpStream) -> Result),
}

/// One server of the comparison.
#[derive(Clone, Copy, Debug)]
pub struct Server {
    /// Its name on the command line and in the tables.
    pub name: &'static str,
    /// Its handler.
    pub model: Model,
}

macro_rules! async_server {
    ($name:literal, $handler:path) => {
        Server { name: $name, model: Model::Async(|stream| Box::pin($handler(stream))) }
    };
}

/// Every server, in table order.
pub const SERVERS: &[Server] = &[
    async_server!("wscore-tokio", wscore::tokio),
    async_server!("tokio-websockets", peers::tokio_websockets),
    async_server!("fastwebsockets", peers::fastwebsockets),
    async_server!("sockudo-ws", peers::sockudo),
    async_server!("tokio-tungstenite", peers::tokio_tungstenite),
    Server { name: "wscore-blocking", model: Model::Threads(wscore::blocking) },
    Server { name: "tungstenite", model: Model::Threads(peers::tungstenite) },
    Server { name: "nexus-web", model: Model::Threads(peers::nexus) },
];

/// The child process: bind `addr`, print `ready <bound address>` on
/// stdout, and serve until killed.
pub fn serve(name: &str, addr: &str) -> io::Result<()> {
    let server = SERVERS
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| io::Error::other(format!("no server named {name}")))?;
    let listener = TcpListener::bind(addr)?;
    let mut out = io::stdout().lock();
    writeln!(out, "ready {}", listener.local_addr()?)?;
    out.flush()?;
    match server.model {
        Model::Async(handler) => serve_async(listener, handler),
        Model::Threads(handler) => serve_threads(listener, handler),
    }
}

fn serve_async(listener: TcpListener, handler: AsyncHandler) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let tasks = tokio::task::LocalSet::new();
    tasks.block_on(&runtime, async move {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::task::spawn_local(async move {
                let _ = handler(stream).await;
            });
        }
    })
}

fn serve_threads(listener: TcpListener, handler: fn(StdTcpStream) -> Result) -> io::Result<()> {
    for stream in listener.incoming() {
        let stream = stream?;
        stream.set_nodelay(true)?;
        thread::spawn(move || {
            let _ = handler(stream);
        });
    }
    Ok(())
}
