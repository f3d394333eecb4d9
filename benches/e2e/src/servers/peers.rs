//! The other crates' echo servers, each written the way its documentation
//! shows, with the crate's default limits and settings.

use std::io;
use std::net::TcpStream as StdTcpStream;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Result;

/// tokio-websockets: `ServerBuilder`, then its `Stream`/`Sink`, every
/// reply sent (flushed).
pub async fn tokio_websockets(stream: TcpStream) -> Result {
    let (_request, mut ws) = tokio_websockets::ServerBuilder::new().accept(stream).await?;
    while let Some(msg) = ws.next().await {
        let msg = msg?;
        if msg.is_text() || msg.is_binary() {
            ws.send(msg).await?;
        }
    }
    Ok(())
}

/// fastwebsockets: our own HTTP upgrade (the crate's needs hyper), then
/// `WebSocket::after_handshake` under a `FragmentCollector`, with automatic
/// Close and Pong replies (its defaults, set anyway).
pub async fn fastwebsockets(mut stream: TcpStream) -> Result {
    use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
    upgrade(&mut stream).await?;
    let mut ws = WebSocket::after_handshake(stream, Role::Server);
    ws.set_auto_close(true);
    ws.set_auto_pong(true);
    let mut ws = FragmentCollector::new(ws);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            OpCode::Close => return Ok(()),
            _ => {}
        }
    }
}

/// sockudo-ws, corked: replies are queued with `feed` (no flush) while more
/// input is already buffered, and flushed once per read batch.
pub async fn sockudo(stream: TcpStream) -> Result {
    use sockudo_ws::{server::WebSocketServer, Config, Http1, Message};
    let server = WebSocketServer::<Http1>::new(Config::default());
    let (mut ws, _handshake) = server.accept_raw(stream).await?;
    while let Some(msg) = ws.next().await {
        match msg? {
            msg @ (Message::Text(_) | Message::Binary(_)) => ws.feed(msg).await?,
            Message::Close(_) => break,
            _ => {}
        }
        if ws.read_buffer_len() == 0 {
            ws.flush().await?;
        }
    }
    Ok(())
}

/// tokio-tungstenite: `accept_async`, then `SinkExt::send` per reply.
pub async fn tokio_tungstenite(stream: TcpStream) -> Result {
    let mut ws = tokio_tungstenite::accept_async(stream).await?;
    while let Some(msg) = ws.next().await {
        let msg = msg?;
        if msg.is_text() || msg.is_binary() {
            ws.send(msg).await?;
        }
    }
    Ok(())
}

/// tungstenite: `accept`, `read`, `send`.
pub fn tungstenite(stream: StdTcpStream) -> Result {
    let mut ws = tungstenite::accept(stream).map_err(|e| e.to_string())?;
    loop {
        let msg = ws.read()?;
        if msg.is_text() || msg.is_binary() {
            ws.send(msg)?;
        }
    }
}

/// nexus-web: its blocking `ClientBuilder::accept` (the server side of its
/// I/O wrapper), `recv`, `send_text`/`send_binary`.
///
/// Its write buffer has a fixed size (64 KiB by default; a larger message
/// panics), so it is made 2 MiB here, enough for the 1 MiB cell (allocated
/// zeroed: untouched pages cost no memory).
pub fn nexus(stream: StdTcpStream) -> Result {
    use nexus_web::ws::{ClientBuilder, Message};
    let mut ws = ClientBuilder::new().write_buffer_capacity(2 << 20).accept(stream)?;
    // Replies are encoded from the borrowed message: copy the payload out
    // first (one memcpy; `recv` borrows the client).
    let mut reply = Vec::new();
    loop {
        let text = match ws.recv()? {
            Some(Message::Text(text)) => {
                reply.clear();
                reply.extend_from_slice(text.as_bytes());
                true
            }
            Some(Message::Binary(data)) => {
                reply.clear();
                reply.extend_from_slice(data);
                false
            }
            Some(Message::Ping(payload)) => {
                let payload = payload.to_vec();
                ws.send_pong(&payload)?;
                continue;
            }
            Some(Message::Close(_)) | None => return Ok(()),
            Some(Message::Pong(_)) => continue,
        };
        if text {
            // The bytes were a validated `&str` a moment ago.
            ws.send_text(std::str::from_utf8(&reply)?)?;
        } else {
            ws.send_binary(&reply)?;
        }
    }
}

/// Read an HTTP upgrade request and answer `101` (for fastwebsockets).
async fn upgrade(stream: &mut TcpStream) -> Result {
    const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    let mut head = Vec::with_capacity(512);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192 || stream.read_buf(&mut head).await? == 0 {
            return Err(io::Error::other("bad upgrade request").into());
        }
    }
    let head = std::str::from_utf8(&head)?;
    let key = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("sec-websocket-key"))
        .map(|(_, value)| value.trim())
        .ok_or("no Sec-WebSocket-Key")?;
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(GUID.as_bytes());
    let accept = base64::engine::general_purpose::STANDARD.encode(sha1.digest().bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(response.as_bytes()).await?;
    Ok(())
}
