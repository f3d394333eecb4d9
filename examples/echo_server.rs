//! An echo server: every text and binary message comes back as it was sent.
//!
//! ```sh
//! cargo run --release --example echo_server -- 127.0.0.1:9001
//! cargo run --release --example echo_server -- 127.0.0.1:9001 --deflate
//! ```
//!
//! `--deflate` accepts permessage-deflate (RFC 7692) when the client offers
//! it, as browsers and Python's `websockets` do: messages then travel
//! compressed both ways.
//!
//! Open <http://127.0.0.1:9001/> in a browser for a page that talks to it,
//! or point a WebSocket client (or the Autobahn fuzzing client) at
//! `ws://127.0.0.1:9001/`. One thread per connection, on the blocking driver.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

use wscore::blocking::{Error, Incoming, ServerOptions, WebSocket};
use wscore::deflate::DeflateConfig;
use wscore::handshake::{RequestHead, Status, EMPTY_HEADER};
use wscore::{Config, MAX_HANDSHAKE_HEADERS};

const PAGE: &str = include_str!("echo_page.html");

fn main() -> std::io::Result<()> {
    let mut addr = "127.0.0.1:9001".to_string();
    let mut config = Config::default();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--deflate" => config.deflate = Some(DeflateConfig::default()),
            flag if flag.starts_with("--") => {
                eprintln!("usage: echo_server [ADDR] [--deflate]");
                std::process::exit(2);
            }
            _ => addr = arg,
        }
    }
    let listener = TcpListener::bind(&addr)?;
    let compression = if config.deflate.is_some() { ", permessage-deflate on" } else { "" };
    println!("echo server on ws://{addr}/ (page: http://{addr}/){compression}");
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        std::thread::spawn(move || {
            let peer = stream.peer_addr().ok();
            if let Err(e) = serve(stream, peer, config) {
                println!("{} closed: {e}", show(peer));
            }
        });
    }
    Ok(())
}

fn show(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "?".into(), |p| p.to_string())
}

/// Read the request head; upgrade it, or answer it as plain HTTP.
fn serve(mut stream: TcpStream, peer: Option<SocketAddr>, config: Config) -> Result<(), Error> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(()); // closed before sending a request
        }
        head.extend_from_slice(&chunk[..n]);
        let mut slots = [EMPTY_HEADER; MAX_HANDSHAKE_HEADERS];
        match RequestHead::parse(&head, &mut slots, config.max_handshake_head) {
            Ok(Status::Complete(request)) if !request.is_websocket_upgrade() => {
                let path = request.path().to_string();
                return serve_http(&mut stream, &path);
            }
            Ok(Status::Partial) => continue,
            // An upgrade, or a bad request the handshake will answer.
            Ok(Status::Complete(_)) | Err(_) => break,
        }
    }
    let options = ServerOptions { config, ..ServerOptions::default() };
    let mut ws = WebSocket::accept_buffered(stream, &head, &options)?;
    println!("{} opened", show(peer));
    loop {
        match ws.read() {
            Ok(Incoming::Text(text)) => ws.send_text(&text)?,
            Ok(Incoming::Binary(data)) => ws.send_binary(&data)?,
            Ok(Incoming::Ping(_) | Incoming::Pong(_)) => {}
            Ok(Incoming::Close(info)) => {
                let code = info.map_or_else(|| "none".into(), |i| i.code.to_string());
                println!("{} closed by peer, code {code}", show(peer));
            }
            Err(Error::Closed(_)) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// The page for a browser's `GET /`; 404 for anything else.
fn serve_http(stream: &mut TcpStream, path: &str) -> Result<(), Error> {
    let (status, body) = match path {
        "/" | "/index.html" => ("200 OK", PAGE),
        _ => ("404 Not Found", "not found\n"),
    };
    let kind = if status.starts_with("200") { "text/html" } else { "text/plain" };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    Ok(())
}
