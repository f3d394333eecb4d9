//! A blocking driver (feature `std`): the core over any `Read + Write`
//! stream, one message at a time.
//!
//! [`WebSocket`] moves bytes between a stream and a [`Connection`] and owns
//! no protocol logic: it reads into a fixed buffer, hands the bytes to the
//! core, writes what the core encodes, answers Pings and Closes through
//! [`Connection::poll_transmit`], and drives the core's keepalive and close
//! timers with the socket's read timeout.
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
use std::string::String;
use std::time::Duration;
use std::vec::Vec;
use std::{fmt, format, vec};

pub use crate::driver::{ClientOptions, CloseInfo, Error, Incoming, ServerOptions};

use crate::close::{CloseCode, CloseFrame};
use crate::config::{Config, Instant};
use crate::connection::{Connection, Outgoing, State};
use crate::driver::{answer, response_headers, Gather};
use crate::event::{DataKind, Event};
use crate::handshake::{ClientRequest, HandshakeError};
use crate::url::Url;

/// Bytes read from the stream at a time. The core needs no more than a frame
/// header to make progress, so messages of any size pass through it.
const READ_BUFFER: usize = 64 * 1024;
/// The output buffer: frames the core writes go through it.
const WRITE_BUFFER: usize = 64 * 1024;
/// Payloads up to this size are sent with their header in one write; larger
/// ones are streamed after it.
const SMALL_PAYLOAD: usize = WRITE_BUFFER - crate::frame::MAX_HEADER_LEN;

/// Sets the stream's read timeout; `None` blocks without one.
pub type SetReadTimeout<S> = fn(&S, Option<Duration>) -> io::Result<()>;

/// A WebSocket over a blocking stream.
pub struct WebSocket<S> {
    stream: S,
    conn: Connection,
    input: Vec<u8>,
    start: usize,
    filled: usize,
    out: Vec<u8>,
    gather: Gather,
    epoch: std::time::Instant,
    set_read_timeout: Option<SetReadTimeout<S>>,
    /// The read timeout last set on the stream, to skip needless calls.
    read_timeout_set: Option<Duration>,
    subprotocol: Option<String>,
}

impl<S> fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("state", &self.conn.state())
            .field("subprotocol", &self.subprotocol)
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
        WebSocket::client_with_timeouts(stream, &request, options.config, Some(tcp_read_timeout))
    }

    /// Run the server handshake on an accepted TCP connection: any path,
    /// no subprotocol, default limits.
    ///
    /// # Errors
    ///
    /// [`Error::Handshake`] for a request that is not a valid WebSocket
    /// upgrade (the rejection has been sent), [`Error::Io`].
    pub fn accept(stream: TcpStream) -> Result<Self, Error> {
        WebSocket::accept_with(stream, &ServerOptions::default())
    }

    /// [`accept`](Self::accept) with subprotocols, an `Origin` check and a
    /// config.
    ///
    /// # Errors
    ///
    /// As for [`accept`](Self::accept); a refused `Origin` is
    /// [`Error::Rejected`] with status 403.
    pub fn accept_with(stream: TcpStream, options: &ServerOptions<'_>) -> Result<Self, Error> {
        stream.set_nodelay(true)?;
        WebSocket::server_with_timeouts(stream, &[], options, Some(tcp_read_timeout))
    }

    /// [`accept_with`](Self::accept_with) for a server that already read
    /// the first bytes (`prefix`) from the stream, to tell a WebSocket
    /// upgrade from a plain HTTP request, say.
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
        let mut out = vec![0u8; WRITE_BUFFER];
        let (conn, n) = Connection::client(config, request, &mut out)?;
        let mut ws = WebSocket::wrap(stream, conn, &[], set_read_timeout, out);
        ws.stream.write_all(&ws.out[..n])?;
        ws.stream.flush()?;
        loop {
            let now = ws.now();
            match ws.conn.read(&mut ws.input[ws.start..ws.filled], now) {
                Ok(decoded) => {
                    ws.start += decoded.consumed;
                    if let Some(Event::Response(response)) = decoded.event {
                        ws.subprotocol = response.subprotocol().map(String::from);
                        return Ok(ws);
                    }
                }
                Err(crate::Error::Handshake(HandshakeError::UnexpectedStatus(status))) => {
                    return Err(Error::Rejected {
                        status,
                        headers: response_headers(&ws.input[ws.start..ws.filled]),
                    });
                }
                Err(e) => return Err(e.into()),
            }
            ws.fill(None)?;
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
        let conn = Connection::server(options.config);
        let out = vec![0u8; WRITE_BUFFER];
        let mut ws = WebSocket::wrap(stream, conn, prefix, set_read_timeout, out);
        loop {
            let now = ws.now();
            match ws.conn.read(&mut ws.input[ws.start..ws.filled], now) {
                Ok(decoded) => {
                    ws.start += decoded.consumed;
                    if let Some(Event::Request(request)) = decoded.event {
                        let answered = answer(&mut ws.conn, &request, options, &mut ws.out);
                        let (n, outcome) = answered?;
                        ws.stream.write_all(&ws.out[..n])?;
                        ws.stream.flush()?;
                        return outcome.map(|subprotocol| {
                            ws.subprotocol = subprotocol;
                            ws
                        });
                    }
                }
                Err(e) => {
                    ws.flush_protocol()?; // the 400 / 426 / 431 rejection
                    return Err(e.into());
                }
            }
            ws.fill(None)?;
        }
    }

    /// Wrap a [`Connection`] already open (a handshake done by another HTTP
    /// library), with the bytes read after the handshake, if any.
    pub fn from_connection(stream: S, conn: Connection, leftover: &[u8]) -> Self {
        WebSocket::wrap(stream, conn, leftover, None, vec![0u8; WRITE_BUFFER])
    }

    fn wrap(
        stream: S,
        conn: Connection,
        prefix: &[u8],
        set_read_timeout: Option<SetReadTimeout<S>>,
        out: Vec<u8>,
    ) -> Self {
        let mut input = vec![0u8; READ_BUFFER.max(prefix.len())];
        input[..prefix.len()].copy_from_slice(prefix);
        let max_message = conn.config().max_message_size;
        WebSocket {
            stream,
            conn,
            input,
            start: 0,
            filled: prefix.len(),
            out,
            gather: Gather::new(max_message),
            epoch: std::time::Instant::now(),
            set_read_timeout,
            read_timeout_set: None,
            subprotocol: None,
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
        let give_up = self.now().saturating_add(timeout);
        loop {
            if let Some(incoming) = self.read_until(Some(give_up))? {
                return Ok(Some(incoming));
            }
            if self.now() >= give_up {
                return Ok(None);
            }
        }
    }

    /// Decode what is buffered; if that gives nothing, read from the stream
    /// once, waiting at most until `give_up`.
    fn read_until(&mut self, give_up: Option<Instant>) -> Result<Option<Incoming>, Error> {
        if let Some(incoming) = self.next_buffered()? {
            return Ok(Some(incoming));
        }
        if self.conn.close_expected() {
            return Err(Error::Closed(self.gather.peer_close.clone()));
        }
        self.fill(give_up)?;
        Ok(None)
    }

    /// Send a text message.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] after a Close ([`crate::Error::CloseSent`] or
    /// [`crate::Error::Closed`]); [`Error::Io`].
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        match self.streamed(text.len()) {
            false => self.send_frame(Outgoing::Text(text)),
            true => self.send_large(DataKind::Text, text.as_bytes()),
        }
    }

    /// Send a binary message.
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        match self.streamed(data.len()) {
            false => self.send_frame(Outgoing::Binary(data)),
            true => self.send_large(DataKind::Binary, data),
        }
    }

    /// Send a Ping (at most 125 bytes of payload); its Pong comes back
    /// through [`read`](Self::read).
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_frame(Outgoing::Ping(payload))
    }

    /// Send an unsolicited Pong, a one-way heartbeat.
    ///
    /// # Errors
    ///
    /// As for [`send_text`](Self::send_text).
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_frame(Outgoing::Pong(payload))
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
        if self.conn.state() == State::Open {
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
        // The close timeout counts from the core's clock: bring it up to date
        // after however long the application went without reading.
        let now = self.now();
        let ticked = self.conn.handle_timeout(now);
        self.flush_protocol()?;
        ticked?;
        self.send_frame(Outgoing::Close(Some(CloseFrame { code, reason })))
    }

    /// The subprotocol the handshake settled on, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The protocol state.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, mutably (writing to it directly corrupts the connection).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Milliseconds since this WebSocket was made: the core's clock.
    fn now(&self) -> Instant {
        Instant(u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// Decode what is buffered, up to the next thing for the caller.
    fn next_buffered(&mut self) -> Result<Option<Incoming>, Error> {
        loop {
            let now = self.now();
            let decoded = match self.conn.read(&mut self.input[self.start..self.filled], now) {
                Ok(decoded) => decoded,
                Err(e) => {
                    self.start = self.filled; // nothing more will be read from it
                    self.flush_protocol()?; // the Close with 1002 / 1007 / 1009
                    return Err(e.into());
                }
            };
            self.start += decoded.consumed;
            let Some(event) = decoded.event else { return Ok(None) };
            let incoming = self.gather.event(event)?;
            self.flush_protocol()?; // a Pong per Ping, the Close reply
            if incoming.is_some() {
                return Ok(incoming);
            }
        }
    }

    /// Read more bytes from the stream, waiting at most until the core's
    /// next deadline (or `give_up`), and handle timers and the end of the
    /// stream.
    fn fill(&mut self, give_up: Option<Instant>) -> Result<(), Error> {
        if self.start > 0 {
            self.input.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
        if self.filled == self.input.len() {
            // The core always consumes a whole header or handshake head that
            // fits; a full buffer means a head over the handshake limit.
            let grown = self.input.len() * 2;
            self.input.resize(grown, 0);
        }
        let now = self.now();
        let deadline = self.conn.poll_timeout();
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
        match self.stream.read(&mut self.input[self.filled..]) {
            Ok(0) => {
                let result = self.conn.read_eof();
                self.flush_protocol()?;
                match result {
                    Ok(()) => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
            Ok(n) => {
                self.filled += n;
                Ok(())
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                match deadline.is_some_and(|at| at <= self.now()) {
                    true => self.on_timeout(),
                    false => Ok(()), // the caller's own time limit
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            // TLS reports a peer that hung up without `close_notify` as an
            // error; after a finished closing handshake it is just the end.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && self.conn.is_closed() => {
                self.conn.read_eof().map_err(Error::from)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn on_timeout(&mut self) -> Result<(), Error> {
        let result = self.conn.handle_timeout(self.now());
        self.flush_protocol()?; // a keepalive Ping, or the Close 1011
        result.map_err(Error::from)
    }

    /// Write every frame the core queued on its own.
    fn flush_protocol(&mut self) -> Result<(), Error> {
        let mut wrote = false;
        loop {
            match self.conn.poll_transmit(&mut self.out) {
                Ok(Some(n)) => {
                    self.stream.write_all(&self.out[..n])?;
                    wrote = true;
                }
                Ok(None) => break,
                Err(too_small) => self.out.resize(too_small.needed, 0),
            }
        }
        if wrote {
            self.stream.flush()?;
        }
        Ok(())
    }

    fn send_frame(&mut self, frame: Outgoing<'_>) -> Result<(), Error> {
        let n = match self.conn.encode(frame, &mut self.out) {
            Err(crate::Error::BufferTooSmall { needed }) => {
                self.out.resize(needed, 0);
                self.conn.encode(frame, &mut self.out)?
            }
            other => other?,
        };
        self.stream.write_all(&self.out[..n])?;
        self.stream.flush()?;
        Ok(())
    }

    /// Whether a `len`-byte message goes out as a header and a streamed
    /// payload: one too large for the write buffer, unless permessage-deflate
    /// compresses it (which builds the whole frame; the buffer grows).
    fn streamed(&self, len: usize) -> bool {
        #[cfg(feature = "deflate")]
        if self.conn.deflate().is_some() {
            return false;
        }
        len > SMALL_PAYLOAD
    }

    /// A message too large for one write: the header, then the payload
    /// streamed (masked in chunks for clients, as is for servers).
    fn send_large(&mut self, kind: DataKind, payload: &[u8]) -> Result<(), Error> {
        let (header, mut masker) = self.conn.encode_header(kind, payload.len() as u64, true)?;
        self.stream.write_all(header.as_bytes())?;
        if self.conn.role() == crate::Role::Server {
            self.stream.write_all(payload)?; // servers do not mask: zero copy
        } else {
            for chunk in payload.chunks(WRITE_BUFFER) {
                let n = masker.copy_masked(&mut self.out, chunk).map_err(crate::Error::from)?;
                self.stream.write_all(&self.out[..n])?;
            }
        }
        self.stream.flush()?;
        Ok(())
    }
}
