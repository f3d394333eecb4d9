//! wscore on a microcontroller: the transport-agnostic driver and a demo.
//!
//! * [`Endpoint`] holds one [`wscore::Connection`] and its two fixed buffers
//!   (input `[u8; IN]`, output `[u8; OUT]`), and [`Endpoint::pump`] moves
//!   bytes between them and any non-blocking `embedded-io` transport
//!   (`Read + Write + ReadReady + WriteReady`: a smoltcp TCP socket behind
//!   those traits, a UART, a TLS session), following the rules of the core's
//!   docs: feed input, drop what was consumed, drain `poll_transmit` after
//!   every event, run the timers.
//! * [`pipe`] is an in-memory socket pair standing in for a TCP stack.
//! * [`demo`] runs a client and a server against each other over it.
//!
//! No allocator anywhere: wscore is built with no features, and every
//! buffer has a size fixed at compile time.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(test)]
extern crate std;

pub mod demo;
pub mod pipe;

use embedded_io::{Read, ReadReady, Write, WriteReady};
use wscore::frame::MAX_HEADER_LEN;
use wscore::handshake::{AcceptOptions, ClientRequest, Request};
use wscore::{Config, Connection, DataKind, Decoded, Event, Instant, Outgoing, Sender, State};

/// What can stop an [`Endpoint`] (or the demo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The transport failed.
    Io(embedded_io::ErrorKind),
    /// The WebSocket connection failed or refused a call. After a protocol
    /// error the Close frame wscore queued has already been flushed.
    Ws(wscore::Error),
    /// The output buffer has no room for a frame of `needed` bytes (after
    /// flushing what the transport would take).
    OutputFull {
        /// The frame's size.
        needed: usize,
    },
    /// The input buffer is full and holds no whole event: a handshake head
    /// longer than it (set `Config::max_handshake_head` to the input size
    /// to have wscore refuse such a head instead).
    InputFull,
    /// A frame was sent while a streamed payload (see
    /// [`Endpoint::start_stream`]) is still going out.
    Streaming,
    /// The demo saw something other than what it expected.
    Unexpected(&'static str),
    /// The demo made no progress within its time budget.
    Stalled,
}

impl From<wscore::Error> for Error {
    fn from(e: wscore::Error) -> Self {
        match e {
            wscore::Error::BufferTooSmall { needed } => Error::OutputFull { needed },
            e => Error::Ws(e),
        }
    }
}

/// A transport error, by kind (`embedded-io` errors are the transport's
/// own types; the kind is what a driver can act on).
fn io_error<E: embedded_io::Error>(e: E) -> Error {
    Error::Io(e.kind())
}

/// Bytes waiting for the transport, at `buf[start..end]`.
struct Output<const N: usize> {
    buf: [u8; N],
    start: usize,
    end: usize,
}

impl<const N: usize> Output<N> {
    fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Room at the end, after moving what is pending to the front.
    fn room(&mut self) -> &mut [u8] {
        let (buf, end) = self.parts();
        &mut buf[*end..]
    }

    /// The buffer and its end of data, what is pending moved to the front.
    fn parts(&mut self) -> (&mut [u8], &mut usize) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        (&mut self.buf, &mut self.end)
    }

    fn free(&self) -> usize {
        N - (self.end - self.start)
    }

    /// Write what the transport takes without blocking.
    fn flush<T: Write + WriteReady>(&mut self, io: &mut T) -> Result<(), Error> {
        while self.start < self.end && io.write_ready().map_err(io_error)? {
            let n = io.write(self.pending()).map_err(io_error)?;
            self.start += n;
        }
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        Ok(())
    }
}

/// One WebSocket connection with its fixed input (`IN` bytes) and output
/// (`OUT` bytes) buffers.
///
/// `IN` bounds the handshake head and the size of data pieces, not
/// messages: a frame's payload is handed out piece by piece as it arrives,
/// so a 1 MiB message goes through a 256-byte input buffer. `OUT` bounds the
/// largest frame [`Tx::send`] can write at once; larger payloads go out in
/// pieces with [`Endpoint::start_stream`].
pub struct Endpoint<const IN: usize, const OUT: usize> {
    conn: Connection,
    input: [u8; IN],
    filled: usize,
    output: Output<OUT>,
    /// Bytes of a streamed payload still to write (see `start_stream`).
    stream: u64,
    /// The transport reported end of file.
    eof: bool,
    /// `read_eof` was called.
    eof_seen: bool,
}

/// What a handler may do while it looks at an event: send frames (its
/// payload among them: the event and the sender are borrowed apart), accept
/// the handshake. Frames go into the endpoint's output buffer.
pub struct Tx<'a> {
    link: Link<'a>,
    /// The output buffer; frames go at `buf[*end..]`.
    buf: &'a mut [u8],
    end: &'a mut usize,
    streaming: bool,
}

/// The connection, whole (between events and during the handshake, whose
/// events borrow only the input), or its sending half (beside a frame event).
enum Link<'a> {
    Whole(&'a mut Connection),
    Sender(Sender<'a>),
}

/// `accept` or `reject` beside a frame event: no request waits.
const NOT_NOW: Error = Error::Ws(wscore::Error::NoRequestPending);

impl Tx<'_> {
    /// Encode `frame` into the output buffer.
    ///
    /// # Errors
    ///
    /// [`Error::OutputFull`] without room for it, [`Error::Streaming`]
    /// during a streamed payload, [`Error::Ws`] for what wscore refuses.
    pub fn send(&mut self, frame: Outgoing<'_>) -> Result<(), Error> {
        if self.streaming {
            return Err(Error::Streaming);
        }
        let out = &mut self.buf[*self.end..];
        let n = match &mut self.link {
            Link::Whole(conn) => conn.encode(frame, out)?,
            Link::Sender(sender) => sender.encode(frame, out)?,
        };
        *self.end += n;
        Ok(())
    }


    /// Accept the handshake request `request` (server).
    ///
    /// # Errors
    ///
    /// As for [`send`](Self::send).
    pub fn accept(
        &mut self,
        request: &Request<'_>,
        options: &AcceptOptions<'_>,
    ) -> Result<(), Error> {
        let Link::Whole(conn) = &mut self.link else { return Err(NOT_NOW) };
        let n = conn.accept(request, options, &mut self.buf[*self.end..])?;
        *self.end += n;
        Ok(())
    }

    /// Refuse the handshake request with `status` (server).
    ///
    /// # Errors
    ///
    /// As for [`send`](Self::send).
    pub fn reject(&mut self, status: u16) -> Result<(), Error> {
        let Link::Whole(conn) = &mut self.link else { return Err(NOT_NOW) };
        let n = conn.reject(status, &[], &mut self.buf[*self.end..])?;
        *self.end += n;
        Ok(())
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        match &self.link {
            Link::Whole(conn) => conn.state(),
            Link::Sender(sender) => sender.state(),
        }
    }
}

impl<const IN: usize, const OUT: usize> Endpoint<IN, OUT> {
    /// A server waiting for the client's handshake request.
    pub fn server(config: Config) -> Self {
        Endpoint::with(Connection::server(config))
    }

    /// A client whose handshake `request` is already in the output buffer.
    /// `seed`: 32 bytes from the hardware RNG, never reused (the mask keys
    /// and the handshake nonce are drawn from it).
    ///
    /// # Errors
    ///
    /// [`Error::OutputFull`] if `OUT` cannot hold the request; [`Error::Ws`]
    /// for an invalid request.
    pub fn client(
        config: Config,
        seed: [u8; 32],
        request: &ClientRequest<'_>,
    ) -> Result<Self, Error> {
        let mut buf = [0u8; OUT];
        let (conn, n) = Connection::client_with_seed(config, seed, request, &mut buf)?;
        let mut endpoint = Endpoint::with(conn);
        endpoint.output.buf = buf;
        endpoint.output.end = n;
        Ok(endpoint)
    }

    fn with(conn: Connection) -> Self {
        Endpoint {
            conn,
            input: [0; IN],
            filled: 0,
            output: Output { buf: [0; OUT], start: 0, end: 0 },
            stream: 0,
            eof: false,
            eof_seen: false,
        }
    }

    /// The connection, to look at its state.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Whether the transport may be closed now: the connection says so and
    /// every byte went out.
    pub fn close_expected(&self) -> bool {
        self.conn.close_expected() && self.output.pending().is_empty()
    }

    /// Send frames from the application, between pumps.
    pub fn tx(&mut self) -> Tx<'_> {
        let (buf, end) = self.output.parts();
        Tx { link: Link::Whole(&mut self.conn), buf, end, streaming: self.stream > 0 }
    }

    /// Room in the output buffer.
    pub fn free(&self) -> usize {
        self.output.free()
    }

    /// Start a data frame of `len` bytes whose payload the application then
    /// writes piece by piece with [`stream_with`](Self::stream_with), straight
    /// into the output buffer: a frame larger than the buffer. Until the
    /// last byte is written nothing else is sent, not even an automatic Pong.
    ///
    /// # Errors
    ///
    /// [`Error::Streaming`] during another streamed payload, otherwise as
    /// for [`Tx::send`].
    pub fn start_stream(&mut self, kind: DataKind, len: u64, fin: bool) -> Result<(), Error> {
        if self.stream > 0 {
            return Err(Error::Streaming);
        }
        let room = self.output.room();
        if room.len() < MAX_HEADER_LEN {
            return Err(Error::OutputFull { needed: MAX_HEADER_LEN });
        }
        let header = self.conn.sender().encode_header(kind, len, fin)?;
        let header = header.as_bytes();
        room[..header.len()].copy_from_slice(header);
        self.output.end += header.len();
        self.stream = len;
        Ok(())
    }

    /// Let `fill` write the next piece of the streamed payload into the
    /// output buffer (as much as there is room for and is left, passed as
    /// the slice to fill), mask it in place and return its length. `0` when
    /// the output buffer is full (pump, then call again) or no payload is
    /// being streamed.
    pub fn stream_with(&mut self, fill: impl FnOnce(&mut [u8])) -> usize {
        let room = self.output.room();
        let n = room.len().min(usize::try_from(self.stream).unwrap_or(usize::MAX));
        let piece = &mut room[..n];
        fill(piece);
        // At most what is left of the payload: cannot fail.
        if self.conn.sender().mask_payload(piece).is_err() {
            return 0;
        }
        self.output.end += n;
        self.stream -= n as u64;
        n
    }

    /// Whether a streamed payload is still going out.
    pub fn is_streaming(&self) -> bool {
        self.stream > 0
    }

    /// One round of I/O without blocking: run due timers, read what the
    /// transport has (once), decode every event in the input and hand it to
    /// `handler` with a [`Tx`] to answer it, queue what the protocol sends on
    /// its own (Pongs, the Close reply), and write what the transport takes.
    ///
    /// `reserve` is the output room `handler` needs to answer one event:
    /// decoding waits (and the input stays queued) while there is less, so a
    /// slow peer slows this side down instead of overflowing it. An echo
    /// needs `IN + 14` (a data piece is at most `IN` bytes); a handler that
    /// never sends, `0`.
    ///
    /// The handler's [`Tx`] is the connection's sending half, borrowed
    /// beside the event: it may answer from the event's payload with no
    /// copy (an echo).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] from the transport, [`Error::Ws`] when the connection
    /// failed (its Close frame, if any, is flushed first as far as the
    /// transport takes it), [`Error::InputFull`], and whatever `handler`
    /// returns.
    pub fn pump<T, H>(
        &mut self,
        io: &mut T,
        now: Instant,
        reserve: usize,
        handler: &mut H,
    ) -> Result<(), Error>
    where
        T: Read + Write + ReadReady + WriteReady,
        H: FnMut(Event<'_, '_>, &mut Tx<'_>) -> Result<(), Error>,
    {
        let mut failure = None;
        if self.conn.poll_timeout().is_some_and(|due| due <= now) {
            if let Err(e) = self.conn.handle_timeout(now) {
                failure = Some(Error::from(e));
            }
        }
        if failure.is_none() {
            failure = self.receive(io, now, reserve, handler).err();
        }
        // Pongs, the Close reply or the Close after a failure; none in the
        // middle of a streamed payload. A frame with no room stays queued.
        while self.stream == 0 {
            match self.conn.poll_transmit(self.output.room()) {
                Ok(Some(n)) => self.output.end += n,
                Ok(None) | Err(_) => break,
            }
        }
        self.output.flush(io)?;
        failure.map_or(Ok(()), Err)
    }

    /// Read once from the transport and decode what the input holds.
    fn receive<T, H>(
        &mut self,
        io: &mut T,
        now: Instant,
        reserve: usize,
        handler: &mut H,
    ) -> Result<(), Error>
    where
        T: Read + ReadReady,
        H: FnMut(Event<'_, '_>, &mut Tx<'_>) -> Result<(), Error>,
    {
        if !self.eof && self.filled < IN && io.read_ready().map_err(io_error)? {
            match io.read(&mut self.input[self.filled..]).map_err(io_error)? {
                0 => self.eof = true,
                n => self.filled += n,
            }
        }
        let Endpoint { conn, input, filled, output, stream, .. } = self;
        let mut start = 0;
        let mut result = Ok(());
        // Whether decoding stopped for want of input (not of output room).
        let mut starved = false;
        loop {
            if start == *filled {
                starved = true;
                break;
            }
            if output.free() < reserve {
                break;
            }
            let streaming = *stream > 0;
            let (buf, end) = output.parts();
            let handled = match conn.read(&mut input[start..*filled], now) {
                Err(e) => Err(e.into()),
                Ok(Decoded { consumed, event: None, .. }) => {
                    start += consumed;
                    starved = true;
                    break;
                }
                Ok(Decoded { consumed, event: Some(event), sender, .. }) => {
                    start += consumed;
                    match event {
                        // A handshake event borrows only the input: the
                        // handler gets the whole connection, to accept.
                        Event::Request(request) => {
                            let mut tx = Tx { link: Link::Whole(&mut *conn), buf, end, streaming };
                            handler(Event::Request(request), &mut tx)
                        }
                        Event::Response(response) => {
                            let mut tx = Tx { link: Link::Whole(&mut *conn), buf, end, streaming };
                            handler(Event::Response(response), &mut tx)
                        }
                        event => {
                            let mut tx = Tx { link: Link::Sender(sender), buf, end, streaming };
                            handler(event, &mut tx)
                        }
                    }
                }
            };
            if let Err(e) = handled {
                result = Err(e);
                break;
            }
            // A Pong or Close reply goes out right after what answered the
            // event, before the next event is decoded.
            while *stream == 0 {
                match conn.poll_transmit(output.room()) {
                    Ok(Some(n)) => output.end += n,
                    Ok(None) | Err(_) => break,
                }
            }
        }
        input.copy_within(start..*filled, 0);
        *filled -= start;
        result?;
        if starved && *filled == IN {
            return Err(Error::InputFull);
        }
        // At end of file with nothing more to decode (an incomplete frame
        // left over is an abnormal closure, wscore decides).
        if starved && self.eof && !self.eof_seen {
            self.eof_seen = true;
            self.conn.read_eof()?;
        }
        Ok(())
    }
}
