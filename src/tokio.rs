//! An async driver on tokio (feature `tokio`): the core over any
//! `AsyncRead + AsyncWrite` stream.
//!
//! Like the [blocking](crate::blocking) driver, it owns no protocol logic: it
//! moves bytes between the stream and a [`Connection`], answers Pings and
//! Closes through [`Connection::poll_transmit`], and drives keepalive and the
//! closing handshake's timeout with `tokio::time`.
//!
//! ```no_run
//! use wscore::tokio::{connect, Incoming};
//!
//! # async fn run() -> Result<(), wscore::tokio::Error> {
//! let mut ws = connect("ws://127.0.0.1:9001/").await?;
//! ws.send_text("hello").await?;
//! while let Some(incoming) = ws.next().await {
//!     if let Incoming::Text(text) = incoming? {
//!         println!("{text}");
//!         ws.close(wscore::CloseCode::NORMAL, "done").await?;
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Reading and writing from different tasks
//!
//! [`WebSocket::split`] gives a [`Reader`] and a [`Writer`]. The `Writer` is
//! `Clone`: hand copies to every task that sends. Keep one task reading: the
//! reader is what answers Pings, runs keepalive and notices the peer's
//! Close.
//!
//! # Cancellation
//!
//! Every `async fn` here is cancel-safe. Dropping a [`Reader::next`] future
//! (in a `tokio::select!`, say) loses no data: bytes read stay buffered,
//! decoded messages wait in a queue, and the next call carries on. Dropping
//! a send future leaves the frame either wholly queued (it goes out with the
//! next call that writes) or not queued at all, never half written.

use std::boxed::Box;
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::string::String;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::vec::Vec;
use std::{format, vec};

use ::tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use ::tokio::net::TcpStream;
use ::tokio::time::Instant as TokioInstant;

pub use crate::driver::{ClientOptions, CloseInfo, Error, Incoming, ServerOptions};

use crate::close::{CloseCode, CloseFrame};
use crate::config::{Config, Instant};
use crate::connection::{Connection, Outgoing};
use crate::driver::{answer, response_headers, Gather};
use crate::event::Event;
use crate::handshake::{ClientRequest, HandshakeError};
use crate::url::Url;

/// Bytes read from the stream at a time, at least. The core needs no more
/// than a frame header to make progress, or a whole handshake head.
const READ_BUFFER: usize = 8 * 1024;
/// Outgoing bytes kept allocated between messages; a larger message's
/// buffer is given back once it is sent.
const RETAINED_OUTPUT: usize = 64 * 1024;

/// Connect to a `ws://` URL and run the opening handshake.
///
/// # Errors
///
/// As for [`blocking::WebSocket::connect`](crate::blocking::WebSocket::connect).
pub async fn connect(url: &str) -> Result<WebSocket<TcpStream>, Error> {
    connect_with(url, &ClientOptions::default()).await
}

/// [`connect`] with subprotocols, headers, a connect timeout and a config.
///
/// # Errors
///
/// As for [`connect`].
pub async fn connect_with(
    url: &str,
    options: &ClientOptions<'_>,
) -> Result<WebSocket<TcpStream>, Error> {
    let url = Url::parse(url)?;
    if url.secure {
        return Err(Error::TlsRequired);
    }
    let connecting = TcpStream::connect((url.host, url.port));
    let connected = match options.connect_timeout {
        None => connecting.await,
        Some(limit) => ::tokio::time::timeout(limit, connecting)
            .await
            .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into())),
    };
    let addr = || format!("{}:{}", url.host, url.port);
    let stream = connected.map_err(|source| Error::Connect { addr: addr(), source })?;
    stream.set_nodelay(true)?;
    let request = ClientRequest {
        subprotocols: options.subprotocols,
        extra_headers: options.headers,
        ..ClientRequest::new(url.authority, url.resource)
    };
    client(stream, &request, options.config).await
}

/// Run the client handshake over any stream (a TLS stream, say).
///
/// # Errors
///
/// As for [`connect`].
pub async fn client<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &ClientRequest<'_>,
    config: Config,
) -> Result<WebSocket<S>, Error> {
    let mut out = vec![0u8; 4096];
    let (conn, n) = match Connection::client(config, request, &mut out) {
        Err(crate::Error::BufferTooSmall { needed }) => {
            out.resize(needed, 0);
            Connection::client(config, request, &mut out)?
        }
        other => other?,
    };
    out.truncate(n);
    stream.write_all(&out).await?;
    stream.flush().await?;
    let mut hs = Handshake::new(stream, conn);
    loop {
        let now = hs.now();
        let input = &mut hs.input[hs.start..hs.filled];
        match hs.conn.read(input, now) {
            Ok(decoded) => {
                hs.start += decoded.consumed;
                if let Some(Event::Response(response)) = decoded.event {
                    let subprotocol = response.subprotocol().map(String::from);
                    return Ok(hs.into_websocket(subprotocol));
                }
            }
            Err(crate::Error::Handshake(HandshakeError::UnexpectedStatus(status))) => {
                let headers = response_headers(&hs.input[hs.start..hs.filled]);
                return Err(Error::Rejected { status, headers });
            }
            Err(e) => return Err(e.into()),
        }
        hs.fill().await?;
    }
}

/// Run the server handshake on an accepted stream: any path, no
/// subprotocol, default limits.
///
/// # Errors
///
/// As for [`blocking::WebSocket::accept`](crate::blocking::WebSocket::accept).
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(stream: S) -> Result<WebSocket<S>, Error> {
    accept_with(stream, &[], &ServerOptions::default()).await
}

/// [`accept`] with subprotocols, an `Origin` check and a config, after
/// `prefix` (bytes already read from the stream, if any).
///
/// # Errors
///
/// As for [`accept`]; a refused `Origin` is [`Error::Rejected`] with 403.
pub async fn accept_with<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    prefix: &[u8],
    options: &ServerOptions<'_>,
) -> Result<WebSocket<S>, Error> {
    let mut hs = Handshake::new(stream, Connection::server(options.config));
    hs.input[..prefix.len()].copy_from_slice(prefix); // `new` made room for a head
    hs.filled = prefix.len();
    let mut out = vec![0u8; 4096];
    loop {
        let now = hs.now();
        let input = &mut hs.input[hs.start..hs.filled];
        match hs.conn.read(input, now) {
            Ok(decoded) => {
                hs.start += decoded.consumed;
                if let Some(Event::Request(request)) = decoded.event {
                    let (n, outcome) = answer(&mut hs.conn, &request, options, &mut out)?;
                    hs.stream.write_all(&out[..n]).await?;
                    hs.stream.flush().await?;
                    return outcome.map(|subprotocol| hs.into_websocket(subprotocol));
                }
            }
            Err(e) => {
                // A rejection (400 / 426 / 431) is queued: send it.
                while let Ok(Some(n)) = hs.conn.poll_transmit(&mut out) {
                    hs.stream.write_all(&out[..n]).await?;
                }
                hs.stream.flush().await?;
                return Err(e.into());
            }
        }
        hs.fill().await?;
    }
}

/// A stream and a connection during the opening handshake.
struct Handshake<S> {
    stream: S,
    conn: Connection,
    input: Vec<u8>,
    start: usize,
    filled: usize,
    epoch: TokioInstant,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Handshake<S> {
    fn new(stream: S, conn: Connection) -> Self {
        // Room for the longest head and one byte more, so that a head over
        // the limit is seen as such rather than as a full buffer.
        let size = READ_BUFFER.max(conn.config().max_handshake_head + 1);
        let epoch = TokioInstant::now();
        Handshake { stream, conn, input: vec![0; size], start: 0, filled: 0, epoch }
    }

    fn now(&self) -> Instant {
        millis_since(self.epoch)
    }

    /// Read more, up to the handshake's deadline.
    async fn fill(&mut self) -> Result<(), Error> {
        let read = self.stream.read(&mut self.input[self.filled..]);
        match until(self.epoch, self.conn.poll_timeout(), read).await {
            Some(Ok(0)) => {
                let _ = self.conn.read_eof(); // an end before the handshake finished
                Err(Error::Protocol(crate::Error::UnexpectedEof))
            }
            Some(Ok(n)) => {
                self.filled += n;
                Ok(())
            }
            Some(Err(e)) => Err(e.into()),
            None => {
                let now = self.now();
                self.conn.handle_timeout(now).map_err(Error::from)
            }
        }
    }

    fn into_websocket(self, subprotocol: Option<String>) -> WebSocket<S> {
        let leftover = &self.input[self.start..self.filled];
        let (read, write) = ::tokio::io::split(self.stream);
        let max_message = self.conn.config().max_message_size;
        let shared = Arc::new(Shared {
            conn: Mutex::new(self.conn),
            out: ::tokio::sync::Mutex::new(Outbound { io: write, pending: Vec::new(), written: 0 }),
            epoch: self.epoch,
        });
        let mut input = vec![0u8; READ_BUFFER.max(leftover.len())];
        input[..leftover.len()].copy_from_slice(leftover);
        let reader = Reader {
            shared: Arc::clone(&shared),
            io: read,
            input,
            start: 0,
            filled: leftover.len(),
            gather: Gather::new(max_message),
            ready: VecDeque::new(),
            must_flush: false,
            ended: false,
        };
        WebSocket { reader, writer: Writer { shared }, subprotocol }
    }
}

/// Milliseconds since `epoch`: the core's clock.
fn millis_since(epoch: TokioInstant) -> Instant {
    Instant(u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX))
}

/// Run `future` until the core's `deadline` (on the clock that started at
/// `epoch`); `None` when the deadline came first.
async fn until<F: std::future::Future>(
    epoch: TokioInstant,
    deadline: Option<Instant>,
    future: F,
) -> Option<F::Output> {
    match deadline {
        None => Some(future.await),
        Some(at) => {
            let at = epoch + std::time::Duration::from_millis(at.0);
            ::tokio::time::timeout_at(at, future).await.ok()
        }
    }
}

/// What the reader and the writers share.
struct Shared<S> {
    conn: Mutex<Connection>,
    out: ::tokio::sync::Mutex<Outbound<S>>,
    epoch: TokioInstant,
}

impl<S> Shared<S> {
    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic elsewhere while holding the lock cannot leave the core in a
        // torn state (its methods do not panic): carry on.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> Instant {
        millis_since(self.epoch)
    }
}

/// The write half, with the bytes waiting to go out.
struct Outbound<S> {
    io: WriteHalf<S>,
    pending: Vec<u8>,
    /// How much of `pending` is written: kept here, not in a local, so a
    /// cancelled flush resumes where it stopped.
    written: usize,
}

impl<S: AsyncWrite> Outbound<S> {
    /// Append what `write` puts into a buffer of the size it asks for.
    fn append<E>(
        &mut self,
        mut write: impl FnMut(&mut [u8]) -> Result<Option<usize>, E>,
        needed: impl Fn(&E) -> Option<usize>,
    ) -> Result<bool, E> {
        let at = self.pending.len();
        let mut room = 256;
        loop {
            self.pending.resize(at + room, 0);
            match write(&mut self.pending[at..]) {
                Ok(Some(n)) => {
                    self.pending.truncate(at + n);
                    return Ok(true);
                }
                Ok(None) => {
                    self.pending.truncate(at);
                    return Ok(false);
                }
                Err(e) => {
                    self.pending.truncate(at);
                    room = needed(&e).ok_or(e)?;
                }
            }
        }
    }

    /// Queue every frame the core wants to send on its own.
    fn queue_protocol(&mut self, conn: &mut Connection) {
        let needed = |e: &crate::BufferTooSmall| Some(e.needed);
        while let Ok(true) = self.append(|buf| conn.poll_transmit(buf), needed) {}
    }

    /// Queue one frame from the application.
    fn queue_frame(&mut self, conn: &mut Connection, frame: Outgoing<'_>) -> Result<(), Error> {
        let needed = |e: &crate::Error| match e {
            crate::Error::BufferTooSmall { needed } => Some(*needed),
            _ => None,
        };
        self.append(|buf| conn.encode(frame, buf).map(Some), needed)?;
        Ok(())
    }

    /// Write out what is pending.
    async fn flush(&mut self) -> io::Result<()>
    where
        S: AsyncWrite,
    {
        while self.written < self.pending.len() {
            let n = self.io.write(&self.pending[self.written..]).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        self.pending.shrink_to(RETAINED_OUTPUT);
        self.io.flush().await
    }
}

/// A WebSocket over an async stream. [`split`](Self::split) it to read and
/// write from different tasks.
pub struct WebSocket<S> {
    reader: Reader<S>,
    writer: Writer<S>,
    subprotocol: Option<String>,
}

impl<S> std::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket").field("subprotocol", &self.subprotocol).finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite> WebSocket<S> {
    /// The next message or control frame; `None` once the connection has
    /// closed. Cancel-safe.
    pub async fn next(&mut self) -> Option<Result<Incoming, Error>> {
        self.reader.next().await
    }

    /// Send a text message.
    ///
    /// # Errors
    ///
    /// As for [`Writer::send_text`].
    pub async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.writer.send_text(text).await
    }

    /// Send a binary message.
    ///
    /// # Errors
    ///
    /// As for [`Writer::send_text`].
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.writer.send_binary(data).await
    }

    /// Send a Ping.
    ///
    /// # Errors
    ///
    /// As for [`Writer::send_text`].
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.writer.ping(payload).await
    }

    /// Send a Close; [`next`](Self::next) then gives what is still in
    /// flight and `None` once the peer answered.
    ///
    /// # Errors
    ///
    /// As for [`Writer::close`].
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.writer.close(code, reason).await
    }

    /// The subprotocol the handshake settled on, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// A reader and a writer that can live in different tasks.
    pub fn split(self) -> (Reader<S>, Writer<S>) {
        (self.reader, self.writer)
    }
}

/// The reading half: messages in, and the protocol's own answers out.
pub struct Reader<S> {
    shared: Arc<Shared<S>>,
    io: ReadHalf<S>,
    input: Vec<u8>,
    start: usize,
    filled: usize,
    gather: Gather,
    /// Decoded, waiting to be handed out.
    ready: VecDeque<Result<Incoming, Error>>,
    /// The core may have queued something (a Pong, a Close) to send.
    must_flush: bool,
    /// The connection is over; nothing more will be read.
    ended: bool,
}

impl<S> std::fmt::Debug for Reader<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").field("ended", &self.ended).finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite> Reader<S> {
    /// The next message or control frame; `None` once the connection has
    /// closed. Pongs and the Close reply go out on the way; keepalive Pings
    /// when due. Cancel-safe.
    pub async fn next(&mut self) -> Option<Result<Incoming, Error>> {
        loop {
            if self.must_flush {
                let mut out = self.shared.out.lock().await;
                out.queue_protocol(&mut self.shared.conn());
                if let Err(e) = out.flush().await {
                    self.ended = true;
                    return Some(Err(e.into()));
                }
                self.must_flush = false;
            }
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            if self.ended || self.decode() {
                if self.ended && !self.must_flush {
                    return None;
                }
                continue;
            }
            if self.shared.conn().close_expected() {
                // Done: shut the stream down (a TLS stream sends its
                // `close_notify`; TCP sends FIN). Best effort: the peer may be gone.
                let mut out = self.shared.out.lock().await;
                let _ = out.io.shutdown().await;
                self.ended = true;
                continue;
            }
            self.fill().await;
        }
    }

    /// Decode buffered input up to one event. Returns whether anything
    /// happened (an event, an error).
    fn decode(&mut self) -> bool {
        let now = self.shared.now();
        let mut conn = self.shared.conn();
        let decoded = match conn.read(&mut self.input[self.start..self.filled], now) {
            Ok(decoded) => decoded,
            Err(e) => {
                self.start = self.filled; // nothing more will be read from it
                self.ready.push_back(Err(e.into()));
                self.must_flush = true; // the Close with 1002 / 1007 / 1009
                return true;
            }
        };
        self.start += decoded.consumed;
        let Some(event) = decoded.event else { return false };
        match self.gather.event(event) {
            Ok(Some(incoming)) => self.ready.push_back(Ok(incoming)),
            Ok(None) => {}
            Err(e) => self.ready.push_back(Err(e)),
        }
        self.must_flush = true; // a Pong per Ping, the Close reply
        true
    }

    /// Read more bytes, up to the core's next deadline; handle the
    /// deadline and the end of the stream.
    async fn fill(&mut self) {
        if self.start > 0 {
            self.input.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
        let deadline = self.shared.conn().poll_timeout();
        let read = self.io.read(&mut self.input[self.filled..]);
        let outcome = until(self.shared.epoch, deadline, read).await;
        let mut conn = self.shared.conn();
        let failed = match outcome {
            Some(Ok(0)) => conn.read_eof().err(),
            Some(Ok(n)) => {
                self.filled += n;
                return;
            }
            // TLS reports a peer that hung up without `close_notify` as an
            // error; after a finished closing handshake it is just the end.
            Some(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof && conn.is_closed() => {
                conn.read_eof().err()
            }
            Some(Err(e)) => {
                self.ended = true;
                self.ready.push_back(Err(e.into()));
                return;
            }
            None => conn.handle_timeout(self.shared.now()).err(),
        };
        self.must_flush = true; // a keepalive Ping, the Close 1011
        if let Some(e) = failed {
            self.ended = true;
            self.ready.push_back(Err(e.into()));
        }
    }

    /// The incoming messages as a [`futures_core::Stream`], for stream
    /// combinators.
    pub fn into_stream(self) -> impl futures_core::Stream<Item = Result<Incoming, Error>>
    where
        S: Send + 'static,
    {
        ReaderStream { reader: Some(self), next: None }
    }
}

type NextFuture<S> =
    Pin<Box<dyn std::future::Future<Output = (Reader<S>, Option<Result<Incoming, Error>>)> + Send>>;

/// [`Reader::into_stream`]: the reader moves into each `next` future and
/// back out of it.
struct ReaderStream<S> {
    reader: Option<Reader<S>>,
    next: Option<NextFuture<S>>,
}

impl<S: AsyncRead + AsyncWrite + Send + 'static> futures_core::Stream for ReaderStream<S> {
    type Item = Result<Incoming, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.next.is_none() {
            let Some(mut reader) = self.reader.take() else { return Poll::Ready(None) };
            self.next = Some(Box::pin(async move {
                let item = reader.next().await;
                (reader, item)
            }));
        }
        let Some(next) = self.next.as_mut() else { return Poll::Ready(None) };
        match next.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready((reader, item)) => {
                self.next = None;
                self.reader = Some(reader);
                Poll::Ready(item)
            }
        }
    }
}

/// The writing half. Clone it for every task that sends; sends are
/// serialised, each message going out whole.
pub struct Writer<S> {
    shared: Arc<Shared<S>>,
}

impl<S> Clone for Writer<S> {
    fn clone(&self) -> Self {
        Writer { shared: Arc::clone(&self.shared) }
    }
}

impl<S> std::fmt::Debug for Writer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl<S: AsyncWrite> Writer<S> {
    /// Send a text message.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] after a Close ([`crate::Error::CloseSent`] or
    /// [`crate::Error::Closed`]); [`Error::Io`].
    pub async fn send_text(&self, text: &str) -> Result<(), Error> {
        self.send(Outgoing::Text(text)).await
    }

    /// Send a binary message.
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub async fn send_binary(&self, data: &[u8]) -> Result<(), Error> {
        self.send(Outgoing::Binary(data)).await
    }

    /// Send a Ping (at most 125 bytes); its Pong comes to the reader.
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub async fn ping(&self, payload: &[u8]) -> Result<(), Error> {
        self.send(Outgoing::Ping(payload)).await
    }

    /// Send an unsolicited Pong, a one-way heartbeat.
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub async fn pong(&self, payload: &[u8]) -> Result<(), Error> {
        self.send(Outgoing::Pong(payload)).await
    }

    /// Send a Close. The reader then gives what is still in flight, the
    /// peer's Close, and `None`; it gives up after `Config::close_timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] for an invalid code or a reason over 123 bytes;
    /// as for [`send_text`](Self::send_text).
    pub async fn close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.send(Outgoing::Close(Some(CloseFrame { code, reason }))).await
    }

    async fn send(&self, frame: Outgoing<'_>) -> Result<(), Error> {
        let mut out = self.shared.out.lock().await;
        {
            let mut conn = self.shared.conn();
            if matches!(frame, Outgoing::Close(_)) {
                // The close timeout counts from the core's clock: bring it
                // up to date. (A timer error here is the reader's to report.)
                let _ = conn.handle_timeout(self.shared.now());
                out.queue_protocol(&mut conn);
            }
            out.queue_frame(&mut conn, frame)?;
        }
        out.flush().await?;
        Ok(())
    }
}
