//! An async driver on tokio (feature `tokio`): the core over any
//! `AsyncRead + AsyncWrite` stream.
//!
//! Like the [blocking](crate::blocking) driver, it only moves bytes between
//! the stream and a [`Session`], which buffers,
//! hands out whole messages (in [`bytes::Bytes`], with no copy when a
//! message came in one frame) and answers Pings and Closes; the driver
//! drives keepalive and the closing handshake's timeout with `tokio::time`.
//!
//! # Corking
//!
//! The replies to everything one read delivered go out in one write: while
//! more messages from the same read wait to be handed out,
//! [`WebSocket::send_text`] and friends queue their frame, and the next
//! [`WebSocket::next`] that would wait for the peer writes them all.
//! [`WebSocket::flush`] writes at once.
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
//! (in a `tokio::select!`, say) loses no data: bytes read stay buffered and
//! the next call carries on. Dropping a send future leaves the frame either
//! wholly queued (it goes out with the next call that writes) or not queued
//! at all, never half written.

use std::boxed::Box;
use std::format;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll, Wake, Waker};
use std::vec::Vec;

use ::tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use ::tokio::net::TcpStream;
use ::tokio::time::{Instant as TokioInstant, Sleep};
use bytes::Bytes;

pub use crate::driver::{
    Buffers, ClientOptions, CloseInfo, Error, Incoming, Message, ServerOptions, Utf8Bytes, WhenFull,
};

use crate::close::CloseCode;
use crate::config::Config;
use crate::connection::Outgoing;
use crate::driver::{client_handshake_error, io_slices, Clock, Epoch, WRITE_SLICES};
use crate::handshake::ClientRequest;
use crate::prepared::Prepared;
use crate::session::{Handshake, Latest, Session};
use crate::url::Url;

impl Epoch for TokioInstant {
    fn now() -> Self {
        TokioInstant::now()
    }

    fn elapsed(&self) -> std::time::Duration {
        TokioInstant::elapsed(self)
    }
}

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
    client_handshake(Inner::client(stream, options.config, &request, options.buffers)?).await
}

/// Run the client handshake over any stream (a TLS stream, say).
///
/// # Errors
///
/// As for [`connect`].
pub async fn client<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    request: &ClientRequest<'_>,
    config: Config,
) -> Result<WebSocket<S>, Error> {
    client_handshake(Inner::client(stream, config, request, Buffers::DEFAULT)?).await
}

async fn client_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    mut inner: Box<Inner<S>>,
) -> Result<WebSocket<S>, Error> {
    inner.flush().await?; // the request
    loop {
        match inner.session.handshake(inner.clock.now()) {
            Ok(Handshake::Done) => return Ok(WebSocket { inner }),
            Ok(_) => poll_fn(|cx| inner.poll_fill(cx)).await?,
            Err(e) => return Err(client_handshake_error(e, inner.session.buffered())),
        }
    }
}

/// Run the server handshake on an accepted stream: any path, no
/// subprotocol, default limits.
///
/// # Errors
///
/// As for [`blocking::WebSocket::accept`](crate::blocking::WebSocket::accept).
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(stream: S) -> Result<WebSocket<S>, Error> {
    accept_with(stream, &[], &ServerOptions::DEFAULT).await
}

/// [`accept`] with subprotocols, an `Origin` check and a config, after
/// `prefix` (bytes already read from the stream, if any, of any length).
///
/// # Errors
///
/// As for [`accept`]; a refused `Origin` is [`Error::Rejected`] with 403.
pub async fn accept_with<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    prefix: &[u8],
    options: &ServerOptions<'_>,
) -> Result<WebSocket<S>, Error> {
    let mut inner = Inner::server(stream, prefix, options);
    loop {
        match inner.session.serve_handshake(inner.clock.now(), options) {
            Ok(true) => {
                inner.flush().await?; // the 101
                return Ok(WebSocket { inner });
            }
            Ok(false) => poll_fn(|cx| inner.poll_fill(cx)).await?,
            Err(e) => {
                inner.flush().await?; // the 400 / 403 / 426 / 431
                return Err(e.into());
            }
        }
    }
}

/// The first read of an idle connection, into the stack: a small message,
/// or the start of a larger one.
const PROBE: usize = 4096;

/// A send call on the session, made again after a write when the write
/// buffer is full.
type SendFn<'a> = dyn FnMut(&mut Session) -> Result<(), crate::Error> + Send + 'a;

/// The stream, the session and the timer: everything a WebSocket is. The
/// reader and the writers of a split WebSocket share one behind a mutex,
/// held only while a poll runs, never across an await.
struct Inner<S> {
    io: S,
    session: Session,
    clock: Clock<TokioInstant>,
    /// The sleep for the session's next deadline, made when there is one.
    sleep: Option<Pin<Box<Sleep>>>,
    /// The stream was shut down, or failed: nothing more is read.
    ended: bool,
    /// The reader's task while it waits for the peer: a broadcast wakes it
    /// to write what it queued.
    reader: Option<Waker>,
    /// A broadcast woke the reader.
    woken_to_write: bool,
    /// After the end of the input, how long what is queued may take to go.
    drain: Option<Pin<Box<Sleep>>>,
    /// A timeout (keepalive, closing handshake) closed the connection.
    timed_out: bool,
    /// Split: everyone waiting for the stream to take bytes.
    write_wakers: Option<WriteWakers>,
}

/// Who waits for the stream to take more bytes, once a WebSocket is split:
/// the reader (for Pongs and what broadcasts queued) and any writer. A
/// stream keeps one waker per direction, the last one given, so it is
/// given this one, which wakes them all.
struct WriteWakers {
    waiting: Arc<Waiting>,
    waker: Waker,
}

#[derive(Default)]
struct Waiting(Mutex<Vec<Waker>>);

impl Wake for Waiting {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waiting = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        waiting.into_iter().for_each(Waker::wake);
    }
}

impl WriteWakers {
    fn new() -> Self {
        let waiting = Arc::new(Waiting::default());
        WriteWakers { waker: Waker::from(Arc::clone(&waiting)), waiting }
    }

    /// Count `waker` among those to wake.
    fn join(&self, waker: &Waker) {
        let mut waiting = self.waiting.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !waiting.iter().any(|w| w.will_wake(waker)) {
            waiting.push(waker.clone());
        }
    }
}

/// Poll a write to the stream: split, with the waker that wakes everyone
/// waiting, and `cx`'s joining them only if it must wait (so the list holds
/// only tasks that wait). The second poll, after joining, catches the
/// stream becoming ready in between.
fn poll_shared<T>(
    wakers: &Option<WriteWakers>,
    cx: &mut Context<'_>,
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<io::Result<T>>,
) -> Poll<io::Result<T>> {
    let Some(wakers) = wakers else { return poll(cx) };
    let shared = &mut Context::from_waker(&wakers.waker);
    if let Poll::Ready(done) = poll(shared) {
        return Poll::Ready(done);
    }
    wakers.join(cx.waker());
    poll(shared)
}

impl<S: AsyncRead + AsyncWrite + Unpin> Inner<S> {
    fn new(io: S, session: Session) -> Box<Self> {
        Box::new(Inner {
            io,
            session,
            clock: Clock::start(),
            sleep: None,
            ended: false,
            reader: None,
            woken_to_write: false,
            drain: None,
            timed_out: false,
            write_wakers: None,
        })
    }

    /// A server waiting for the request, after `prefix`. (Made outside the
    /// handshake's future, which then holds only the box.)
    fn server(io: S, prefix: &[u8], options: &ServerOptions<'_>) -> Box<Self> {
        let mut session = Session::server(options.config, options.buffers);
        session.receive_data(prefix);
        Inner::new(io, session)
    }

    /// A client with its request queued.
    fn client(
        io: S,
        config: Config,
        request: &ClientRequest<'_>,
        buffers: Buffers,
    ) -> Result<Box<Self>, Error> {
        Ok(Inner::new(io, Session::client(config, request, buffers)?))
    }

    /// The next message or control frame; `None` once the connection is
    /// over.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Incoming, Error>>> {
        loop {
            if self.ended {
                return Poll::Ready(None);
            }
            match self.session.next_incoming(self.clock.now()) {
                Ok(Some(incoming)) => {
                    if self.session.should_flush_after(&incoming) {
                        let _ = self.poll_write_out(cx)?; // what does not go now waits
                    }
                    return Poll::Ready(Some(Ok(incoming)));
                }
                Ok(None) => {}
                Err(e) => {
                    self.ended = true; // the Close with 1002 / 1007 / 1009 goes out, if it can
                    let _ = self.poll_write_out(cx);
                    return Poll::Ready(Some(Err(e.into())));
                }
            }
            // Everything queued goes out before waiting for the peer. A write
            // that must wait does not stop reading: the peer may be waiting
            // for us to read before it reads.
            let written = self.poll_write_out(cx);
            if let Poll::Ready(Err(e)) = written {
                self.ended = true;
                return Poll::Ready(Some(Err(e)));
            }
            if self.session.close_expected() {
                // Done: shut the stream down (a TLS stream sends its
                // `close_notify`; TCP sends FIN). Best effort: the peer may be gone.
                ready!(Pin::new(&mut self.io).poll_shutdown(cx)).ok();
                self.ended = true;
                continue;
            }
            if self.session.input_ended() || self.timed_out {
                // Nothing more comes in; what is queued still goes out (a
                // peer that half-closed reads it), for `close_timeout` at
                // most.
                if written.is_ready() || self.poll_drain_deadline(cx).is_ready() {
                    self.ended = true;
                    continue;
                }
                return Poll::Pending;
            }
            if let Err(e) = ready!(self.poll_fill(cx)) {
                // A timeout closed the connection: what is queued (its
                // Close) gets `close_timeout` to go, as after end of file.
                self.timed_out = self.session.connection().is_closed();
                self.ended = !matches!(e, Error::Protocol(_)) || self.session.close_expected();
                let _ = self.poll_write_out(cx);
                return Poll::Ready(Some(Err(e)));
            }
        }
    }

    /// After the end of the input: `Ready` once `close_timeout` has passed
    /// since it, and what is still queued is given up.
    fn poll_drain_deadline(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let limit = self.session.connection().config().close_timeout;
        let drain = self.drain.get_or_insert_with(|| Box::pin(::tokio::time::sleep(limit)));
        drain.as_mut().poll(cx)
    }

    /// Read more bytes, or handle the session's deadline or the end of the
    /// stream: `Ready` once something happened.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if let Some(at) = self.session.poll_timeout() {
            let deadline = self.clock.instant(at);
            let sleep =
                self.sleep.get_or_insert_with(|| Box::pin(::tokio::time::sleep_until(deadline)));
            if sleep.deadline() != deadline {
                sleep.as_mut().reset(deadline);
            }
            if sleep.as_mut().poll(cx).is_ready() {
                let ticked = self.session.handle_timeout(self.clock.now());
                let _ = self.poll_write_out(cx); // a keepalive Ping, the Close 1011
                return Poll::Ready(ticked.map_err(Error::from));
            }
        } else {
            self.sleep = None;
        }
        let read =
            if std::mem::take(&mut self.woken_to_write) && self.session.read_buffer_released() {
                // Woken to write what a broadcast queued, most likely with
                // nothing to read: look with a small buffer of the stack's, so
                // that an idle connection allocates nothing.
                let mut probe = [std::mem::MaybeUninit::uninit(); PROBE];
                let mut buf = ReadBuf::uninit(&mut probe);
                Pin::new(&mut self.io).poll_read(cx, &mut buf).map_ok(|()| {
                    self.session.receive_data(buf.filled());
                    buf.filled().len()
                })
            } else {
                let read = self.io.read_buf(self.session.read_buffer());
                std::pin::pin!(read).poll(cx)
            };
        match read {
            Poll::Pending => {
                self.session.release_idle(); // an idle connection holds no buffer
                Poll::Pending
            }
            Poll::Ready(Ok(0)) => {
                self.session.receive_eof();
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Ok(_)) => Poll::Ready(Ok(())),
            // TLS reports a peer that hung up without `close_notify` as an
            // error; after a finished closing handshake it is just the end.
            Poll::Ready(Err(e))
                if e.kind() == io::ErrorKind::UnexpectedEof
                    && self.session.connection().is_closed() =>
            {
                self.session.receive_eof();
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => {
                self.ended = true;
                Poll::Ready(Err(e.into()))
            }
        }
    }

    /// Write everything queued, then flush the stream.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.session.unsent() == 0 {
            return Poll::Ready(Ok(()));
        }
        while self.session.unsent() > 0 {
            let mut slots = [io::IoSlice::new(&[]); WRITE_SLICES];
            let count = io_slices(&self.session, &mut slots); // at most `slots.len()`
            let slots = &slots[..count];
            let io = &mut self.io;
            let n = ready!(poll_shared(&self.write_wakers, cx, |cx| {
                Pin::new(&mut *io).poll_write_vectored(cx, slots)
            }))?;
            if n == 0 {
                return Poll::Ready(Err(Error::Io(io::ErrorKind::WriteZero.into())));
            }
            self.session.advance(n);
        }
        let io = &mut self.io;
        ready!(poll_shared(&self.write_wakers, cx, |cx| Pin::new(&mut *io).poll_flush(cx)))?;
        Poll::Ready(Ok(()))
    }

    /// Queue a prepared frame under `policy`; the reader writes it (or
    /// this call does, when no reader waits).
    fn poll_offer(
        &mut self,
        cx: &mut Context<'_>,
        frame: &Prepared<Bytes>,
        policy: WhenFull,
    ) -> Poll<Result<Delivery, Error>> {
        let delivery = loop {
            let offered = match policy {
                WhenFull::KeepLatest { key } => {
                    self.session.send_latest(key, frame).map(Into::into)
                }
                _ => self.session.send_prepared(frame).map(|()| Delivery::Queued),
            };
            match (offered, policy) {
                (Ok(delivery), _) => break delivery,
                (Err(crate::Error::Backpressure { .. }), WhenFull::Wait) => {
                    ready!(self.poll_write_out(cx))?;
                }
                (Err(crate::Error::Backpressure { .. }), WhenFull::Close { code, reason }) => {
                    self.session.close(code, reason)?;
                    break Delivery::Closed;
                }
                (Err(e), _) => return Poll::Ready(Err(e.into())),
            }
        };
        match &self.reader {
            // The reader writes: wake it, once until it has run.
            Some(reader) if !self.woken_to_write => {
                reader.wake_by_ref();
                self.woken_to_write = true;
            }
            Some(_) => {}
            // No reader waits: write what the stream takes now; the rest
            // goes with the next offer or send.
            None => {
                let _ = self.poll_write_out(cx)?;
            }
        }
        Poll::Ready(Ok(delivery))
    }

    async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_write_out(cx)).await
    }

    /// Queue a frame with `send`, writing first while the write buffer is
    /// full; then write unless `cork` and replies are being gathered.
    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        send: &mut SendFn<'_>,
        queued: &mut bool,
        cork: bool,
    ) -> Poll<Result<(), Error>> {
        while !*queued {
            match send(&mut self.session) {
                Err(crate::Error::Backpressure { .. }) => ready!(self.poll_write_out(cx))?,
                other => {
                    other?;
                    *queued = true;
                }
            }
        }
        if cork && !self.session.should_flush() {
            return Poll::Ready(Ok(()));
        }
        self.poll_write_out(cx)
    }
}

/// A WebSocket over an async stream. [`split`](Self::split) it to read and
/// write from different tasks.
pub struct WebSocket<S> {
    /// Boxed: a task that holds a WebSocket (and its handshake's future)
    /// stays small, and an idle connection costs little more than its state.
    inner: Box<Inner<S>>,
}

impl<S> std::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("subprotocol", &self.inner.session.subprotocol())
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// The next message or control frame; `None` once the connection has
    /// closed. Pongs, the Close reply and the frames sent since the last
    /// write go out before it waits for the peer. Cancel-safe.
    pub async fn next(&mut self) -> Option<Result<Incoming, Error>> {
        poll_fn(|cx| self.inner.poll_next(cx)).await
    }

    /// Send a text message (corked: see the [module docs](self#corking)).
    ///
    /// # Errors
    ///
    /// As for [`Writer::send_text`].
    pub async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send(&mut |s| s.send_text(text)).await
    }

    /// Send a binary message (corked: see the [module docs](self#corking)).
    ///
    /// # Errors
    ///
    /// As for [`Writer::send_text`].
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send(&mut |s| s.send_binary(data)).await
    }

    /// Send a message held in a reference-counted buffer (corked): an echo
    /// sends back what it received (`incoming.into_message()`); a server
    /// sends a large one with no copy.
    ///
    /// # Errors
    ///
    /// As for [`Writer::send_text`].
    pub async fn send_message(&mut self, message: &Message) -> Result<(), Error> {
        self.send(&mut |s| s.send_message(message)).await
    }

    /// Send a Ping.
    ///
    /// # Errors
    ///
    /// As for [`Writer::send_text`].
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send(&mut |s| s.send_ping(payload)).await
    }

    /// Send a Close; [`next`](Self::next) then gives what is still in
    /// flight and `None` once the peer answered.
    ///
    /// # Errors
    ///
    /// As for [`Writer::close`].
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.send(&mut |s| s.close(code, reason)).await?;
        self.flush().await
    }

    /// Write everything queued.
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    pub async fn flush(&mut self) -> Result<(), Error> {
        self.inner.flush().await
    }

    async fn send(&mut self, send: &mut SendFn<'_>) -> Result<(), Error> {
        let mut queued = false;
        poll_fn(|cx| self.inner.poll_send(cx, send, &mut queued, true)).await
    }

    /// The subprotocol the handshake settled on, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.inner.session.subprotocol()
    }

    /// A reader and a writer that can live in different tasks.
    pub fn split(self) -> (Reader<S>, Writer<S>) {
        let mut inner = *self.inner;
        inner.write_wakers = Some(WriteWakers::new());
        let shared = Arc::new(Shared(Mutex::new(inner)));
        (Reader { shared: Arc::clone(&shared) }, Writer { shared })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_core::Stream for WebSocket<S> {
    type Item = Result<Incoming, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().inner.poll_next(cx)
    }
}

/// What the reader and the writers share.
struct Shared<S>(Mutex<Inner<S>>);

impl<S> Shared<S> {
    fn lock(&self) -> MutexGuard<'_, Inner<S>> {
        // A panic elsewhere while holding the lock cannot leave the session
        // torn (its methods do not panic): carry on.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Shared<S> {
    /// The reader's poll: while it waits, broadcasts wake it to write.
    fn poll_read(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Incoming, Error>>> {
        let mut inner = self.lock();
        let polled = inner.poll_next(cx);
        match (&polled, &inner.reader) {
            (Poll::Pending, Some(reader)) if reader.will_wake(cx.waker()) => {}
            (Poll::Pending, _) => inner.reader = Some(cx.waker().clone()),
            (Poll::Ready(_), _) => inner.reader = None,
        }
        polled
    }
}

/// The reading half: messages in, and the protocol's own answers out.
pub struct Reader<S> {
    shared: Arc<Shared<S>>,
}

impl<S> std::fmt::Debug for Reader<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Reader<S> {
    /// The next message or control frame; `None` once the connection has
    /// closed. Pongs and the Close reply go out on the way; keepalive Pings
    /// when due. Cancel-safe.
    pub async fn next(&mut self) -> Option<Result<Incoming, Error>> {
        // Dropped before it finished (a `select!` took another branch): the
        // reader no longer waits, and offers must write for themselves.
        let unpark = Unpark(&self.shared);
        poll_fn(|cx| unpark.0.poll_read(cx)).await
    }

    /// The incoming messages as a [`futures_core::Stream`], for stream
    /// combinators (the reader is one already).
    pub fn into_stream(self) -> impl futures_core::Stream<Item = Result<Incoming, Error>> {
        self
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_core::Stream for Reader<S> {
    type Item = Result<Incoming, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.shared.poll_read(cx)
    }
}

/// Forgets the reader's waker when a [`Reader::next`] ends, finished or not.
struct Unpark<'a, S>(&'a Shared<S>);

impl<S> Drop for Unpark<'_, S> {
    fn drop(&mut self) {
        let mut inner = self.0.lock();
        inner.reader = None;
        inner.woken_to_write = false;
    }
}

impl<S> Drop for Reader<S> {
    fn drop(&mut self) {
        self.shared.lock().reader = None; // writers write for themselves now
    }
}

/// The writing half. Clone it for every task that sends; sends are
/// serialised, each message going out whole, and each is written before
/// its call returns.
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

impl<S: AsyncRead + AsyncWrite + Unpin> Writer<S> {
    /// Send a text message.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] after a Close ([`crate::Error::CloseSent`] or
    /// [`crate::Error::Closed`]); [`Error::Io`].
    pub async fn send_text(&self, text: &str) -> Result<(), Error> {
        self.send(&mut |s| s.send_text(text)).await
    }

    /// Send a binary message.
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub async fn send_binary(&self, data: &[u8]) -> Result<(), Error> {
        self.send(&mut |s| s.send_binary(data)).await
    }

    /// Send a message held in a reference-counted buffer; a server sends a
    /// large one with no copy.
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub async fn send_message(&self, message: &Message) -> Result<(), Error> {
        self.send(&mut |s| s.send_message(message)).await
    }

    /// Send a Ping (at most 125 bytes); its Pong comes to the reader.
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub async fn ping(&self, payload: &[u8]) -> Result<(), Error> {
        self.send(&mut |s| s.send_ping(payload)).await
    }

    /// Send an unsolicited Pong, a one-way heartbeat.
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub async fn pong(&self, payload: &[u8]) -> Result<(), Error> {
        self.send(&mut |s| s.send_pong(payload)).await
    }

    /// Send a Close. The reader then gives what is still in flight, the
    /// peer's Close, and `None`; it gives up after `Config::close_timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] for an invalid code or a reason over 123 bytes;
    /// as for [`send_text`](Self::send_text).
    pub async fn close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.send(&mut |s| s.close(code, reason)).await
    }

    /// Send any frame (fragments of a message, say).
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub async fn send_frame(&self, frame: Outgoing<'_>) -> Result<(), Error> {
        self.send(&mut |s| s.send(frame)).await
    }

    /// Send a [`Prepared`] frame (a server's): its shared bytes, framed
    /// and compressed once for every connection, with no copy. Written
    /// before the call returns, as [`send_text`](Self::send_text).
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] with [`crate::Error::PreparedByClient`] for a
    /// client; as for [`send_text`](Self::send_text).
    pub async fn send_prepared(&self, frame: &Prepared<Bytes>) -> Result<(), Error> {
        self.send(&mut |s| s.send_prepared(frame)).await
    }

    /// Bytes queued and not yet written, and messages held for their key
    /// ([`WhenFull::KeepLatest`]): what this peer's slowness costs.
    pub fn backlog(&self) -> (usize, usize) {
        let inner = self.shared.lock();
        (inner.session.unsent(), inner.session.held())
    }

    /// Queue a [`Prepared`] frame for the reader's task to write, corked
    /// with whatever else it writes; when the write buffer is full, do
    /// what `policy` says. Returns without waiting for the write (except
    /// with [`WhenFull::Wait`] and a full buffer). This is what
    /// [`broadcast`] does for each writer.
    ///
    /// A WebSocket whose reader is polled by a task writes what is queued
    /// from that task, many messages in one write when they pile up; with
    /// no reader waiting, this call writes what the stream takes at once
    /// and the rest goes out with the next offer or send (so keep a task
    /// reading).
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] with [`crate::Error::Backpressure`] for
    /// [`WhenFull::Fail`] and a full buffer; as for
    /// [`send_prepared`](Self::send_prepared).
    pub async fn offer(
        &self,
        frame: &Prepared<Bytes>,
        policy: WhenFull,
    ) -> Result<Delivery, Error> {
        poll_fn(|cx| self.shared.lock().poll_offer(cx, frame, policy)).await
    }

    async fn send(&self, send: &mut SendFn<'_>) -> Result<(), Error> {
        let mut queued = false;
        poll_fn(|cx| self.shared.lock().poll_send(cx, send, &mut queued, false)).await
    }
}

/// What became of a prepared frame offered to one connection
/// ([`Writer::offer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Queued to be written.
    Queued,
    /// Held as the newest for its key until there is room
    /// ([`WhenFull::KeepLatest`]).
    Held,
    /// Held in place of an older message for its key, now dropped.
    Replaced,
    /// The buffer was full: the connection is closing
    /// ([`WhenFull::Close`]); the frame was not queued.
    Closed,
}

impl From<Latest> for Delivery {
    fn from(latest: Latest) -> Self {
        match latest {
            Latest::Queued => Delivery::Queued,
            Latest::Held => Delivery::Held,
            Latest::Replaced => Delivery::Replaced,
        }
    }
}

/// What a [`broadcast`] did, connection by connection, summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Broadcast {
    /// Connections the frame was queued to.
    pub queued: usize,
    /// Connections that hold it as the newest for its key
    /// ([`WhenFull::KeepLatest`]), including those where it replaced an
    /// older one.
    pub held: usize,
    /// Older messages dropped in its favour ([`WhenFull::KeepLatest`]).
    pub replaced: usize,
    /// Connections closed because their buffer was full ([`WhenFull::Close`]).
    pub closed: usize,
    /// Connections that refused it: closed already, or full with
    /// [`WhenFull::Fail`].
    pub failed: usize,
}

/// Send one [`Prepared`] frame to every writer: each connection queues the
/// same shared bytes (a reference count, no copy, no encoding, no
/// compression per connection) and its reader's task writes them, corked
/// with what else it sends. A connection whose buffer is full is dealt
/// with as `policy` says; with [`WhenFull::Wait`] this waits for each slow
/// one in turn.
///
/// ```no_run
/// use wscore::prepared::Prepared;
/// use wscore::tokio::{broadcast, WhenFull, Writer};
/// use wscore::CloseCode;
///
/// # async fn run(subscribers: Vec<Writer<tokio::net::TcpStream>>) {
/// let price = Prepared::text(r#"{"BTC":97000}"#);
/// let slow = WhenFull::Close { code: CloseCode(1013), reason: "too slow" };
/// let report = broadcast(&subscribers, &price, slow).await;
/// println!("{} queued, {} closed", report.queued, report.closed);
/// # }
/// ```
pub fn broadcast<'w, S, W>(
    writers: W,
    frame: &'w Prepared<Bytes>,
    policy: WhenFull,
) -> impl Future<Output = Broadcast> + Send + 'w
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'w,
    W: IntoIterator<Item = &'w Writer<S>>,
{
    // Gathered before the future starts: an iterator with closures in it
    // would otherwise live across its awaits and cost it `Send` (Rust's
    // higher-ranked lifetimes), and a task could not hold it.
    let writers: Vec<&'w Writer<S>> = writers.into_iter().collect();
    async move {
        let mut report = Broadcast::default();
        for writer in writers {
            match writer.offer(frame, policy).await {
                Ok(Delivery::Queued) => report.queued += 1,
                Ok(Delivery::Held) => report.held += 1,
                Ok(Delivery::Replaced) => {
                    report.held += 1;
                    report.replaced += 1;
                }
                Ok(Delivery::Closed) => report.closed += 1,
                Err(_) => report.failed += 1,
            }
        }
        report
    }
}
