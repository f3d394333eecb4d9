//! A blocking driver (feature `std`): the core over any `Read + Write`
//! stream, one message at a time.
//!
//! [`WebSocket`] moves bytes between a stream and a [`Session`], which does
//! the rest: buffering, whole messages, the handshake policy, Pongs and
//! Close replies. It reads into the session's buffer, writes what the
//! session queued (the replies to everything one read delivered go out in
//! one write), and drives keepalive and the close timer with the socket's
//! read timeout.
//!
//! ```no_run
//! use wscore::blocking::{Incoming, WebSocket};
//!
//! let mut ws = WebSocket::connect("ws://127.0.0.1:9001/")?;
//! ws.send_text("hello")?;
//! if let Incoming::Text(reply) = ws.read()? {
//!     println!("{reply}");
//! }
//! ws.close(wscore::CloseCode::NORMAL, "done")?;
//! # Ok::<(), wscore::blocking::Error>(())
//! ```
//!
//! A server, one thread per connection:
//!
//! ```no_run
//! use wscore::blocking::{Incoming, WebSocket};
//!
//! let listener = std::net::TcpListener::bind("127.0.0.1:9001")?;
//! for stream in listener.incoming() {
//!     std::thread::spawn(move || -> Result<(), wscore::blocking::Error> {
//!         let mut ws = WebSocket::accept(stream?)?;
//!         loop {
//!             match ws.read()? {
//!                 Incoming::Text(text) => ws.send_text(&text)?,
//!                 Incoming::Binary(data) => ws.send_binary(&data)?,
//!                 Incoming::Close(_) => return Ok(()),
//!                 Incoming::Ping(_) | Incoming::Pong(_) => {} // Pongs are automatic
//!             }
//!         }
//!     });
//! }
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use std::{fmt, format};

pub use crate::driver::{
    Buffers, ClientOptions, CloseInfo, Error, Incoming, Message, ServerOptions, Utf8Bytes,
};

use crate::close::CloseCode;
use crate::config::{Config, Instant};
use crate::connection::{Connection, State};
use crate::driver::{client_handshake_error, io_slices, Clock, WRITE_SLICES};
use crate::handshake::ClientRequest;
use crate::session::{Handshake, Session};
use crate::url::Url;

/// Sets the stream's read timeout; `None` blocks without one.
pub type SetReadTimeout<S> = fn(&S, Option<Duration>) -> io::Result<()>;

/// A WebSocket over a blocking stream.
pub struct WebSocket<S> {
    stream: S,
    session: Session,
    clock: Clock<std::time::Instant>,
    set_read_timeout: Option<SetReadTimeout<S>>,
    /// The read timeout last set on the stream, to skip needless calls.
    read_timeout_set: Option<Duration>,
}

impl<S> fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("state", &self.session.state())
            .field("subprotocol", &self.session.subprotocol())
            .finish_non_exhaustive()
    }
}

fn tcp_read_timeout(stream: &TcpStream, timeout: Option<Duration>) -> io::Result<()> {
    stream.set_read_timeout(timeout)
}

impl WebSocket<TcpStream> {
    /// Connect to a `ws://` URL and run the opening handshake.
    ///
    /// # Errors
    ///
    /// [`Error::Url`] for a bad URL, [`Error::TlsRequired`] for `wss://`,
    /// [`Error::Connect`] when the TCP connection cannot be made,
    /// [`Error::Rejected`] when the server answers with another status than
    /// 101, [`Error::Handshake`] for an invalid answer,
    /// [`Error::Protocol`] with [`crate::Error::HandshakeTimeout`] when the
    /// server does not answer within `Config::handshake_timeout`.
    pub fn connect(url: &str) -> Result<Self, Error> {
        WebSocket::connect_with(url, &ClientOptions::default())
    }

    /// [`connect`](Self::connect) with subprotocols, headers and a config.
    ///
    /// # Errors
    ///
    /// As for [`connect`](Self::connect).
    pub fn connect_with(url: &str, options: &ClientOptions<'_>) -> Result<Self, Error> {
        let url = Url::parse(url)?;
        if url.secure {
            return Err(Error::TlsRequired);
        }
        let stream =
            connect_tcp(url.host, url.port, options.connect_timeout).map_err(|source| {
                Error::Connect { addr: format!("{}:{}", url.host, url.port), source }
            })?;
        let request = ClientRequest {
            subprotocols: options.subprotocols,
            extra_headers: options.headers,
            ..ClientRequest::new(url.authority, url.resource)
        };
        let session = Session::client(options.config, &request, options.buffers)?;
        WebSocket::wrap(stream, session, Some(tcp_read_timeout)).client_handshake()
    }

    /// Run the server handshake on an accepted TCP connection: any path,
    /// no subprotocol, default limits.
    ///
    /// # Errors
    ///
    /// [`Error::Handshake`] for a request that is not a valid WebSocket
    /// upgrade (the rejection has been sent), [`Error::Io`].
    pub fn accept(stream: TcpStream) -> Result<Self, Error> {
        WebSocket::accept_with(stream, &ServerOptions::DEFAULT)
    }

    /// [`accept`](Self::accept) with subprotocols, an `Origin` check and a
    /// config.
    ///
    /// # Errors
    ///
    /// As for [`accept`](Self::accept); a refused `Origin` is
    /// [`Error::Rejected`] with status 403.
    pub fn accept_with(stream: TcpStream, options: &ServerOptions<'_>) -> Result<Self, Error> {
        WebSocket::accept_buffered(stream, &[], options)
    }

    /// [`accept_with`](Self::accept_with) for a server that already read
    /// the first bytes (`prefix`) from the stream, to tell a WebSocket
    /// upgrade from a plain HTTP request, say. The prefix may be of any
    /// length.
    ///
    /// # Errors
    ///
    /// As for [`accept_with`](Self::accept_with).
    pub fn accept_buffered(
        stream: TcpStream,
        prefix: &[u8],
        options: &ServerOptions<'_>,
    ) -> Result<Self, Error> {
        stream.set_nodelay(true)?;
        WebSocket::server_with_timeouts(stream, prefix, options, Some(tcp_read_timeout))
    }
}

fn connect_tcp(host: &str, port: u16, timeout: Option<Duration>) -> io::Result<TcpStream> {
    use std::net::ToSocketAddrs;
    let stream = match timeout {
        None => TcpStream::connect((host, port))?,
        Some(timeout) => {
            let mut last = io::Error::new(io::ErrorKind::NotFound, "host has no address");
            let mut connected = None;
            for addr in (host, port).to_socket_addrs()? {
                match TcpStream::connect_timeout(&addr, timeout) {
                    Ok(s) => {
                        connected = Some(s);
                        break;
                    }
                    Err(e) => last = e,
                }
            }
            connected.ok_or(last)?
        }
    };
    stream.set_nodelay(true)?;
    Ok(stream)
}

impl<S: Read + Write> WebSocket<S> {
    /// Run the client handshake over any stream (a TLS stream, a Unix
    /// socket, an in-memory pipe). Timers run only while data arrives; use
    /// [`client_with_timeouts`](Self::client_with_timeouts) to drive them
    /// from the stream's read timeout.
    ///
    /// # Errors
    ///
    /// As for [`WebSocket::connect`].
    pub fn client(stream: S, request: &ClientRequest<'_>, config: Config) -> Result<Self, Error> {
        WebSocket::client_with_timeouts(stream, request, config, None)
    }

    /// [`client`](Self::client), with the function that sets the stream's
    /// read timeout, which drives keepalive and the close timeout.
    ///
    /// # Errors
    ///
    /// As for [`WebSocket::connect`].
    pub fn client_with_timeouts(
        stream: S,
        request: &ClientRequest<'_>,
        config: Config,
        set_read_timeout: Option<SetReadTimeout<S>>,
    ) -> Result<Self, Error> {
        let session = Session::client(config, request, Buffers::DEFAULT)?;
        WebSocket::wrap(stream, session, set_read_timeout).client_handshake()
    }

    fn client_handshake(mut self) -> Result<Self, Error> {
        self.flush()?; // the request
        loop {
            match self.session.handshake(self.clock.now()) {
                Ok(Handshake::Done) => return Ok(self),
                Ok(_) => self.fill(None)?,
                Err(e) => return Err(client_handshake_error(e, self.session.buffered())),
            }
        }
    }

    /// Run the server handshake over any stream, after `prefix` (bytes
    /// already read from it, if any).
    ///
    /// # Errors
    ///
    /// As for [`WebSocket::accept_with`].
    pub fn server(stream: S, prefix: &[u8], options: &ServerOptions<'_>) -> Result<Self, Error> {
        WebSocket::server_with_timeouts(stream, prefix, options, None)
    }

    /// [`server`](Self::server), with the function that sets the stream's
    /// read timeout, which drives keepalive and the close timeout.
    ///
    /// # Errors
    ///
    /// As for [`WebSocket::accept_with`].
    pub fn server_with_timeouts(
        stream: S,
        prefix: &[u8],
        options: &ServerOptions<'_>,
        set_read_timeout: Option<SetReadTimeout<S>>,
    ) -> Result<Self, Error> {
        let mut session = Session::server(options.config, options.buffers);
        session.receive_data(prefix);
        let mut ws = WebSocket::wrap(stream, session, set_read_timeout);
        loop {
            match ws.session.serve_handshake(ws.clock.now(), options) {
                Ok(true) => {
                    ws.flush()?; // the 101
                    return Ok(ws);
                }
                Ok(false) => ws.fill(None)?,
                Err(e) => {
                    ws.flush()?; // the 400 / 403 / 426 / 431
                    return Err(e.into());
                }
            }
        }
    }

    /// Wrap a [`Connection`] already open (a handshake done by another HTTP
    /// library), with the bytes read after the handshake, if any.
    pub fn from_connection(stream: S, conn: Connection, leftover: &[u8]) -> Self {
        let mut session = Session::new(conn, Buffers::DEFAULT);
        session.receive_data(leftover);
        WebSocket::wrap(stream, session, None)
    }

    fn wrap(stream: S, session: Session, set_read_timeout: Option<SetReadTimeout<S>>) -> Self {
        WebSocket {
            stream,
            session,
            clock: Clock::start(),
            set_read_timeout,
            read_timeout_set: None,
        }
    }

    /// The next message or control frame, blocking until one arrives.
    /// Pongs and Close replies are sent on the way; keepalive Pings go out
    /// when due.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] once the connection is closed (after
    /// [`Incoming::Close`], or after [`close`](Self::close));
    /// [`Error::Protocol`] when the peer broke the protocol (the Close with
    /// the matching code has been sent) or keepalive found the peer gone;
    /// [`Error::Io`].
    pub fn read(&mut self) -> Result<Incoming, Error> {
        loop {
            if let Some(incoming) = self.read_until(None)? {
                return Ok(incoming);
            }
        }
    }

    /// [`read`](Self::read), giving up after `timeout` with `Ok(None)`:
    /// for programs that wait on other things too (a terminal, a queue).
    /// Needs the stream's read timeout (set up by [`connect`] and
    /// [`accept`]); without it, this waits like `read`.
    ///
    /// [`connect`]: WebSocket::connect
    /// [`accept`]: WebSocket::accept
    ///
    /// # Errors
    ///
    /// As for [`read`](Self::read).
    pub fn read_timeout(&mut self, timeout: Duration) -> Result<Option<Incoming>, Error> {
        let give_up = self.clock.now().saturating_add(timeout);
        loop {
            if let Some(incoming) = self.read_until(Some(give_up))? {
                return Ok(Some(incoming));
            }
            if self.clock.now() >= give_up {
                return Ok(None);
            }
        }
    }

    /// Decode what is buffered; if that gives nothing, write what is queued
    /// and read from the stream once, waiting at most until `give_up`.
    fn read_until(&mut self, give_up: Option<Instant>) -> Result<Option<Incoming>, Error> {
        match self.session.next_incoming(self.clock.now()) {
            Ok(Some(incoming)) => {
                if self.session.should_flush_after(&incoming) {
                    self.flush()?; // a Pong, the Close reply, replies so far
                }
                return Ok(Some(incoming));
            }
            Ok(None) => {}
            Err(e) => {
                self.flush()?; // the Close with 1002 / 1007 / 1009
                return Err(e.into());
            }
        }
        self.flush()?; // everything queued before waiting for the peer
        if self.session.close_expected() {
            return Err(Error::Closed(self.session.peer_close().cloned()));
        }
        self.fill(give_up)?;
        Ok(None)
    }

    /// Send a text message. When messages from the same read are still
    /// waiting to be read, the frame is queued and goes out with the
    /// replies to them, in one write, at the next [`read`](Self::read) that
    /// would wait (or [`flush`](Self::flush)); otherwise it is written now.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] after a Close ([`crate::Error::CloseSent`] or
    /// [`crate::Error::Closed`]); [`Error::Io`] when writing failed. The
    /// frame was queued before the write: after a transient error (a write
    /// timeout's `WouldBlock` or `TimedOut`), [`flush`](Self::flush) sends
    /// it; sending it again would send it twice.
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send_with(|s| s.send_text(text))
    }

    /// Send a binary message, as [`send_text`](Self::send_text) does.
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send_with(|s| s.send_binary(data))
    }

    /// Send a message held in a reference-counted buffer: an echo sends
    /// back what it received (`incoming.into_message()`); a server sends a
    /// large one with no copy.
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub fn send_message(&mut self, message: &Message) -> Result<(), Error> {
        self.send_with(|s| s.send_message(message))
    }

    /// Send a [`Prepared`](crate::prepared::Prepared) frame (a server's):
    /// its shared bytes, framed and compressed once for many connections,
    /// queued with no copy (corked, as [`send_text`](Self::send_text)).
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] with [`crate::Error::PreparedByClient`] for a
    /// client; as for [`send_text`](Self::send_text).
    pub fn send_prepared(
        &mut self,
        frame: &crate::prepared::Prepared<bytes::Bytes>,
    ) -> Result<(), Error> {
        self.send_with(|s| s.send_prepared(frame))
    }

    /// Send a Ping (at most 125 bytes of payload); its Pong comes back
    /// through [`read`](Self::read).
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_with(|s| s.send_ping(payload))
    }

    /// Send an unsolicited Pong, a one-way heartbeat.
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_with(|s| s.send_pong(payload))
    }

    /// Close: send a Close with `code` and `reason`, then wait (at most
    /// `Config::close_timeout`) for the peer's Close and the end of the
    /// connection, discarding messages that arrive meanwhile. After
    /// [`Incoming::Close`] (the peer closed first, and the reply is sent)
    /// it only waits for the end, and `code` and `reason` are not used.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] for an invalid code or a reason over 123 bytes,
    /// or if the peer did not answer in time ([`crate::Error::CloseTimeout`]);
    /// [`Error::Io`].
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        if self.session.state() == State::Open {
            self.send_close(code, reason)?;
        }
        loop {
            match self.read() {
                Ok(_) => {}
                Err(Error::Closed(_)) => return Ok(()),
                Err(Error::Io(e)) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// Send a Close with `code` and `reason` and return at once: keep calling
    /// [`read`](Self::read) for the messages still in flight, up to the
    /// peer's Close and then [`Error::Closed`]. ([`close`](Self::close)
    /// sends and waits, discarding what arrives.)
    ///
    /// # Errors
    ///
    /// As for [`close`](Self::close), but for the wait.
    pub fn send_close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.session.close(code, reason)?;
        self.flush()
    }

    /// Write everything queued.
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    pub fn flush(&mut self) -> Result<(), Error> {
        if self.session.unsent() == 0 {
            return Ok(());
        }
        while self.session.unsent() > 0 {
            let mut slots = [io::IoSlice::new(&[]); WRITE_SLICES];
            let n = io_slices(&self.session, &mut slots); // at most `slots.len()`
            match self.stream.write_vectored(&slots[..n]) {
                Ok(0) => return Err(Error::Io(io::ErrorKind::WriteZero.into())),
                Ok(n) => self.session.advance(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.stream.flush()?;
        Ok(())
    }

    /// The subprotocol the handshake settled on, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.session.subprotocol()
    }

    /// The protocol state.
    pub fn connection(&self) -> &Connection {
        self.session.connection()
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, mutably (writing to it directly corrupts the connection).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Queue with `send`, writing first when the write buffer is full, and
    /// write unless replies are being corked.
    fn send_with(
        &mut self,
        mut send: impl FnMut(&mut Session) -> Result<(), crate::Error>,
    ) -> Result<(), Error> {
        loop {
            match send(&mut self.session) {
                Err(crate::Error::Backpressure { .. }) => self.flush()?,
                other => break other?,
            }
        }
        match self.session.should_flush() {
            true => self.flush(),
            false => Ok(()),
        }
    }

    /// Read more bytes from the stream, waiting at most until the session's
    /// next deadline (or `give_up`), and handle timers and the end of the
    /// stream.
    fn fill(&mut self, give_up: Option<Instant>) -> Result<(), Error> {
        let now = self.clock.now();
        let deadline = self.session.poll_timeout();
        if deadline.is_some_and(|at| at <= now) {
            return self.on_timeout();
        }
        let until = match (deadline, give_up) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // A zero timeout means "block forever" to the OS: wait 1 ms at least.
        let wait = until.map(|at| at.saturating_duration_since(now).max(Duration::from_millis(1)));
        if let Some(set) = self.set_read_timeout {
            if wait != self.read_timeout_set {
                set(&self.stream, wait)?;
                self.read_timeout_set = wait;
            }
        }
        let read = self.stream.read(self.session.read_space());
        self.session.commit(*read.as_ref().unwrap_or(&0));
        match read {
            Ok(0) => {
                self.session.receive_eof();
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                match deadline.is_some_and(|at| at <= self.clock.now()) {
                    true => self.on_timeout(),
                    false => Ok(()), // the caller's own time limit
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            // TLS reports a peer that hung up without `close_notify` as an
            // error; after a finished closing handshake it is just the end.
            Err(e)
                if e.kind() == io::ErrorKind::UnexpectedEof
                    && self.session.connection().is_closed() =>
            {
                self.session.receive_eof();
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    fn on_timeout(&mut self) -> Result<(), Error> {
        let result = self.session.handle_timeout(self.clock.now());
        self.flush()?; // a keepalive Ping, or the Close 1011
        result.map_err(Error::from)
    }
}
