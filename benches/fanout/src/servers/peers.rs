//! The other crates' connections, as their documentation shows them: the
//! handshake, a split into a writing half fed from the subscriber's channel
//! and a reading half read until the connection ends. Default settings
//! throughout. None of these versions has permessage-deflate, so they sit
//! out the deflate cells.

use std::error::Error;
use std::future::ready;
use std::io;

use bytes::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{unbounded_channel, Receiver};
use tokio::task::spawn_local;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::queue::Peer;
use super::Plan;

/// tokio-tungstenite: `accept_async`, `StreamExt::split`, `SinkExt::send`.
pub struct TokioTungstenite;

impl Peer for TokioTungstenite {
    type Message = tokio_tungstenite::tungstenite::Message;

    fn message(text: &str) -> Self::Message {
        Self::Message::text(text)
    }

    async fn join(
        stream: TcpStream,
        _plan: Plan,
        messages: Receiver<Self::Message>,
    ) -> Result<(), Box<dyn Error>> {
        let (sink, incoming) = tokio_tungstenite::accept_async(stream).await?.split();
        pump(sink, incoming, messages);
        Ok(())
    }
}

/// tokio-websockets: `ServerBuilder::accept`, `StreamExt::split`,
/// `SinkExt::send`.
pub struct TokioWebsockets;

impl Peer for TokioWebsockets {
    type Message = tokio_websockets::Message;

    fn message(text: &str) -> Self::Message {
        Self::Message::text(text.to_owned())
    }

    async fn join(
        stream: TcpStream,
        _plan: Plan,
        messages: Receiver<Self::Message>,
    ) -> Result<(), Box<dyn Error>> {
        let (_request, ws) = tokio_websockets::ServerBuilder::new().accept(stream).await?;
        let (sink, incoming) = ws.split();
        pump(sink, incoming, messages);
        Ok(())
    }
}

/// fastwebsockets: our own HTTP upgrade (the crate's needs hyper), then
/// `WebSocket::split` (feature `unstable-split`) with `tokio::io::split`.
/// The writing task takes the subscriber's messages and the frames the
/// reading half must send (Pongs, the Close reply), which it hands over
/// through a second channel, as the crate's `read_frame` asks.
pub struct FastWebsockets;

impl Peer for FastWebsockets {
    type Message = Bytes;

    fn message(text: &str) -> Self::Message {
        Bytes::copy_from_slice(text.as_bytes())
    }

    async fn join(
        mut stream: TcpStream,
        _plan: Plan,
        mut messages: Receiver<Self::Message>,
    ) -> Result<(), Box<dyn Error>> {
        use fastwebsockets::{FragmentCollectorRead, Frame, Payload, Role, WebSocket};
        upgrade(&mut stream).await?;
        let ws = WebSocket::after_handshake(stream, Role::Server);
        let (reader, mut writer) = ws.split(tokio::io::split);
        let mut reader = FragmentCollectorRead::new(reader);
        let (obligated, mut obligations) = unbounded_channel::<Frame<'static>>();
        spawn_local(async move {
            loop {
                let written = tokio::select! {
                    biased;
                    Some(frame) = obligations.recv() => writer.write_frame(frame).await,
                    message = messages.recv() => match message {
                        Some(text) => writer.write_frame(Frame::text(Payload::Borrowed(&text))).await,
                        None => break,
                    },
                };
                if written.is_err() {
                    break;
                }
            }
        });
        spawn_local(async move {
            let mut send = |frame: Frame<'static>| {
                ready(obligated.send(frame).map_err(|_| io::Error::other("writer gone")))
            };
            while reader.read_frame(&mut send).await.is_ok() {}
        });
        Ok(())
    }
}

/// A connection split into `Sink` and `Stream` halves: one task sends what
/// arrives on `messages`, the other reads until the connection ends (the
/// crates answer Pings and Closes as they read).
fn pump<M, W, R, T, E>(mut sink: W, mut incoming: R, mut messages: Receiver<M>)
where
    M: 'static,
    W: Sink<M> + Unpin + 'static,
    R: Stream<Item = Result<T, E>> + Unpin + 'static,
{
    spawn_local(async move {
        while let Some(message) = messages.recv().await {
            if sink.send(message).await.is_err() {
                break;
            }
        }
    });
    spawn_local(async move { while let Some(Ok(_)) = incoming.next().await {} });
}

/// Read an HTTP upgrade request and answer `101` (for fastwebsockets),
/// with tungstenite's `derive_accept_key`.
async fn upgrade(stream: &mut TcpStream) -> Result<(), Box<dyn Error>> {
    let mut request = Vec::with_capacity(512);
    while !request.ends_with(b"\r\n\r\n") {
        if request.len() > 8192 || stream.read_buf(&mut request).await? == 0 {
            return Err("incomplete upgrade request".into());
        }
    }
    let key = String::from_utf8_lossy(&request).lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        let key = name.trim().eq_ignore_ascii_case("sec-websocket-key");
        key.then(|| derive_accept_key(value.trim().as_bytes()))
    });
    let accept = key.ok_or("no Sec-WebSocket-Key")?;
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(response.as_bytes()).await?;
    Ok(())
}
