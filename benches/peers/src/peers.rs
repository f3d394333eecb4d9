//! Each crate decoding a workload in the server role and encoding one in the
//! client role, through its public API, the way a user of that crate would.

use futures_util::{SinkExt, StreamExt};
use tokio::runtime::Runtime;

use crate::io::{MemStream, SinkStream};
use crate::workloads::{self, Messages, Sink, Tally, Workload, OUT_BUF, READ_BUF};

/// The crates, in table order.
pub const CRATES: [&str; 5] =
    ["wscore", "wscore session", "tungstenite", "fastwebsockets", "tokio-websockets"];

/// Limits every crate is given, wscore's defaults: 64 MiB per message, 16
/// MiB per frame where a crate has that limit.
const MAX_MESSAGE: usize = 64 << 20;
const MAX_FRAME: usize = 16 << 20;

/// What the runs share and reuse: the current-thread runtime for the async
/// crates (built once, outside the timed loops) and wscore's buffers.
pub struct Ctx {
    pub rt: Runtime,
    pub read_buf: Vec<u8>,
    pub out_buf: Vec<u8>,
}

impl Ctx {
    pub fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
        Ctx { rt, read_buf: vec![0; READ_BUF], out_buf: vec![0; OUT_BUF] }
    }
}

/// Decode `stream` (the messages of `w`) with crate number `which`.
pub fn decode(which: usize, w: &Workload, stream: &[u8], ctx: &mut Ctx) -> Result<Tally, String> {
    match which {
        0 => Ok(workloads::wscore_decode(wscore::Role::Server, stream, &mut ctx.read_buf)),
        1 => Ok(workloads::wscore_session_decode(stream)),
        2 => decode_tungstenite(w, stream),
        3 => ctx.rt.block_on(decode_fastwebsockets(w, stream)),
        _ => ctx.rt.block_on(decode_tokio_websockets(w, stream)),
    }
}

/// Encode `messages` in the client role with crate number `which` into `sink`.
pub fn encode(
    which: usize,
    messages: &Messages,
    pre: &Prepared,
    sink: &mut Sink,
    ctx: &mut Ctx,
) -> Result<(), String> {
    match which {
        0 => {
            workloads::wscore_encode(wscore::Role::Client, messages, &mut ctx.out_buf, sink);
            Ok(())
        }
        1 => {
            workloads::wscore_session_encode(messages, sink);
            Ok(())
        }
        2 => encode_tungstenite(pre, sink),
        3 => ctx.rt.block_on(encode_fastwebsockets(messages, sink)),
        _ => ctx.rt.block_on(encode_tokio_websockets(pre, sink)),
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// tungstenite: `WebSocket::from_raw_socket` over a `Read + Write` stream,
/// then `read()` per message (it reassembles fragments itself).
fn decode_tungstenite(w: &Workload, stream: &[u8]) -> Result<Tally, String> {
    use tungstenite::protocol::{Role, WebSocketConfig};
    use tungstenite::{Message, WebSocket};
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_FRAME));
    let mut ws = WebSocket::from_raw_socket(MemStream::new(stream), Role::Server, Some(config));
    let mut tally = Tally::default();
    for _ in 0..w.messages {
        match ws.read().map_err(err)? {
            Message::Text(text) => tally.add(true, text.as_bytes()),
            Message::Binary(data) => tally.add(false, &data),
            other => return Err(format!("unexpected {other:?}")),
        }
    }
    Ok(tally)
}

/// fastwebsockets: `WebSocket::after_handshake` with auto-close and
/// auto-pong off, then `read_frame()`; through a `FragmentCollector` for the
/// fragmented workload (the plain socket hands out fragments as they come).
async fn decode_fastwebsockets(w: &Workload, stream: &[u8]) -> Result<Tally, String> {
    use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
    let mut ws = WebSocket::after_handshake(MemStream::new(stream), Role::Server);
    ws.set_auto_close(false);
    ws.set_auto_pong(false);
    ws.set_max_message_size(MAX_MESSAGE);
    let mut tally = Tally::default();
    if w.frames > 1 {
        let mut ws = FragmentCollector::new(ws);
        for _ in 0..w.messages {
            let frame = ws.read_frame().await.map_err(err)?;
            tally.add(frame.opcode == OpCode::Text, &frame.payload);
        }
    } else {
        for _ in 0..w.messages {
            let frame = ws.read_frame().await.map_err(err)?;
            if !frame.fin {
                return Err("a fragment where a whole message was expected".into());
            }
            tally.add(frame.opcode == OpCode::Text, &frame.payload);
        }
    }
    Ok(tally)
}

/// tokio-websockets: `ServerBuilder::new().limits(..).serve(stream)` (a
/// stream whose handshake is done), then `StreamExt::next()` per message.
async fn decode_tokio_websockets(w: &Workload, stream: &[u8]) -> Result<Tally, String> {
    use tokio_websockets::{Limits, ServerBuilder};
    let limits = Limits::default().max_payload_len(Some(MAX_MESSAGE));
    let mut ws = ServerBuilder::new().limits(limits).serve(MemStream::new(stream));
    let mut tally = Tally::default();
    for _ in 0..w.messages {
        let message = ws.next().await.ok_or("the stream ended early")?.map_err(err)?;
        if !(message.is_text() || message.is_binary()) {
            return Err(format!("unexpected {message:?}"));
        }
        tally.add(message.is_text(), message.as_payload());
    }
    Ok(tally)
}

/// Messages as the peers that take owned payloads want them, made before the
/// timed loop; each send takes a cheap clone (a reference count).
pub struct Prepared {
    tungstenite: Vec<tungstenite::Message>,
    tokio_websockets: Vec<tokio_websockets::Message>,
}

impl Prepared {
    pub fn new(messages: &Messages) -> Self {
        let bytes = || messages.iter().map(bytes::Bytes::copy_from_slice);
        let text = messages.is_text();
        let tungstenite = bytes()
            .map(|b| match text {
                true => tungstenite::Message::Text(b.try_into().expect("UTF-8")),
                false => tungstenite::Message::Binary(b),
            })
            .collect();
        let tokio_websockets = bytes()
            .map(|b| match text {
                true => tokio_websockets::Message::text(tokio_websockets::Payload::from(b)),
                false => tokio_websockets::Message::binary(tokio_websockets::Payload::from(b)),
            })
            .collect();
        Prepared { tungstenite, tokio_websockets }
    }
}

/// tungstenite: `write()` per message (buffered, masked into its write
/// buffer), `flush()` at the end.
fn encode_tungstenite(pre: &Prepared, sink: &mut Sink) -> Result<(), String> {
    use tungstenite::protocol::Role;
    let mut ws = tungstenite::WebSocket::from_raw_socket(SinkStream(sink), Role::Client, None);
    for message in &pre.tungstenite {
        ws.write(message.clone()).map_err(err)?;
    }
    ws.flush().map_err(err)
}

/// fastwebsockets: `write_frame()` per message, from a borrowed payload
/// (which its client masks in an owned copy).
async fn encode_fastwebsockets(messages: &Messages, sink: &mut Sink) -> Result<(), String> {
    use fastwebsockets::{Frame, OpCode, Payload, Role, WebSocket};
    let mut ws = WebSocket::after_handshake(SinkStream(sink), Role::Client);
    let opcode = if messages.is_text() { OpCode::Text } else { OpCode::Binary };
    for message in messages.iter() {
        let frame = Frame::new(true, opcode, None, Payload::Borrowed(message));
        ws.write_frame(frame).await.map_err(err)?;
    }
    ws.flush().await.map_err(err)
}

/// tokio-websockets: `ClientBuilder::take_over` (a stream whose handshake is
/// done), `SinkExt::feed()` per message, `flush()` at the end.
async fn encode_tokio_websockets(pre: &Prepared, sink: &mut Sink) -> Result<(), String> {
    let mut ws = tokio_websockets::ClientBuilder::new().take_over(SinkStream(sink));
    for message in &pre.tokio_websockets {
        ws.feed(message.clone()).await.map_err(err)?;
    }
    ws.flush().await.map_err(err)
}
