//! The opening handshake inside the connection: a server reads the request
//! and answers it, a client writes the request and reads the answer, both
//! through the same `read` / `poll_transmit` interface as frames.

use super::{Connection, Decoded, Phase};
use crate::close::CloseCode;
use crate::config::{Config, Role, MAX_HANDSHAKE_HEADERS};
use crate::error::{BufferTooSmall, Error};
use crate::event::Event;
use crate::handshake::{
    parse_request, write_accept, write_error_response, write_reject, write_request, AcceptOptions,
    ClientKey, ClientRequest, HandshakeError, Request, Response, ResponseHead, Status, WriteError,
    EMPTY_HEADER,
};
use crate::rng::KeyStream;

/// Room for what a client offered, kept to check the server's choice.
const OFFER_LEN: usize = 64;
/// The most subprotocols a client connection can offer.
const MAX_SUBPROTOCOLS: usize = 16;

/// What a client sent in its request and must check the response against.
#[derive(Debug, Clone)]
pub(super) struct ClientOffer {
    key: ClientKey,
    /// The subprotocols offered, joined by commas.
    subprotocols: [u8; OFFER_LEN],
    subprotocols_len: u8,
    /// The raw `Sec-WebSocket-Extensions` offer (empty: none), without
    /// permessage-deflate's.
    extensions: [u8; OFFER_LEN],
    extensions_len: u8,
    /// permessage-deflate was offered too (`Config::deflate`).
    #[cfg(feature = "deflate")]
    deflate: bool,
}

impl ClientOffer {
    fn new(key: ClientKey, request: &ClientRequest<'_>, config: &Config) -> Result<Self, Error> {
        let _ = config; // read with the `deflate` feature only
        let mut offer = ClientOffer {
            key,
            subprotocols: [0; OFFER_LEN],
            subprotocols_len: 0,
            extensions: [0; OFFER_LEN],
            extensions_len: 0,
            #[cfg(feature = "deflate")]
            deflate: config.deflate.is_some(),
        };
        if request.subprotocols.len() > MAX_SUBPROTOCOLS {
            return Err(Error::OfferTooLong);
        }
        let mut len = 0;
        for (i, protocol) in request.subprotocols.iter().enumerate() {
            let sep = usize::from(i > 0);
            let end = len + sep + protocol.len();
            let slot = offer.subprotocols.get_mut(len..end).ok_or(Error::OfferTooLong)?;
            slot[..sep].copy_from_slice(&b","[..sep]);
            slot[sep..].copy_from_slice(protocol.as_bytes());
            len = end;
        }
        offer.subprotocols_len = len as u8;
        let extensions = request.extensions.unwrap_or("").as_bytes();
        let slot = offer.extensions.get_mut(..extensions.len()).ok_or(Error::OfferTooLong)?;
        slot.copy_from_slice(extensions);
        offer.extensions_len = extensions.len() as u8;
        Ok(offer)
    }

    /// Check `head` against the offer, as `ResponseHead::validate` does.
    fn validate<'b>(&self, head: &ResponseHead<'b>) -> Result<Response<'b>, HandshakeError> {
        // Both fields were copied from `&str`s cut at ASCII commas.
        let joined = core::str::from_utf8(&self.subprotocols[..usize::from(self.subprotocols_len)])
            .unwrap_or("");
        let mut protocols = [""; MAX_SUBPROTOCOLS];
        let mut count = 0;
        for (slot, protocol) in
            protocols.iter_mut().zip(joined.split(',').filter(|p| !p.is_empty()))
        {
            *slot = protocol;
            count += 1;
        }
        let extensions = core::str::from_utf8(&self.extensions[..usize::from(self.extensions_len)])
            .unwrap_or("");
        #[cfg(feature = "deflate")]
        let mut joined = [0; OFFER_LEN + 2 + crate::deflate::EXTENSION_NAME.len()];
        #[cfg(feature = "deflate")]
        let extensions = match self.deflate {
            true => join_extensions(extensions, crate::deflate::EXTENSION_NAME, &mut joined)
                .unwrap_or(extensions),
            false => extensions,
        };
        let request = ClientRequest {
            subprotocols: &protocols[..count],
            extensions: (!extensions.is_empty()).then_some(extensions),
            ..ClientRequest::new("", "/")
        };
        head.validate(&self.key, &request)
    }
}

impl Connection {
    /// A server connection that starts with the opening handshake: `read`
    /// gives [`Event::Request`], which the application answers with
    /// [`accept`](Self::accept) or [`reject`](Self::reject); then frames flow.
    ///
    /// ```
    /// use wscore::handshake::AcceptOptions;
    /// use wscore::{Config, Connection, Event, Instant, State};
    ///
    /// let mut server = Connection::server(Config::default());
    /// let mut input = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    ///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    ///     Sec-WebSocket-Version: 13\r\n\r\n".to_vec();
    /// let mut out = [0u8; 256];
    /// let decoded = server.read(&mut input, Instant(0))?;
    /// let Some(Event::Request(request)) = decoded.event else { panic!() };
    /// assert_eq!(request.path(), "/chat");
    /// let n = server.accept(&request, &AcceptOptions::default(), &mut out)?;
    /// assert!(out[..n].starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    /// assert_eq!(server.state(), State::Open);
    /// # Ok::<(), wscore::Error>(())
    /// ```
    pub fn server(config: Config) -> Self {
        let keys = KeyStream::from_seed([0; 32]); // servers never mask
        let mut connection =
            Connection::with_keys(Role::Server, config, keys, Phase::AwaitingRequest);
        connection.tx.timers.set_close_deadline(connection.tx.config.handshake_timeout);
        connection
    }

    /// A client connection that starts with the opening handshake: writes
    /// `request` into `out` (with a fresh `Sec-WebSocket-Key` from the OS
    /// random source) and returns the connection and the request's length.
    /// Send the request; `read` then gives [`Event::Response`] once the
    /// server accepted, and frames flow.
    ///
    /// # Errors
    ///
    /// [`Error::HandshakeWrite`] for an invalid request,
    /// [`Error::BufferTooSmall`] when `out` cannot hold it,
    /// [`Error::OfferTooLong`] for an offer too long to remember.
    ///
    /// # Panics
    ///
    /// If the OS random source fails (see [`KeyStream::from_os`]).
    ///
    /// ```
    /// use wscore::handshake::ClientRequest;
    /// use wscore::{Config, Connection};
    ///
    /// let mut out = [0u8; 512];
    /// let request = ClientRequest { subprotocols: &["chat"], ..ClientRequest::new("example.com", "/chat") };
    /// let (client, n) = Connection::client(Config::default(), &request, &mut out)?;
    /// assert!(out[..n].starts_with(b"GET /chat HTTP/1.1\r\nHost: example.com\r\n"));
    /// # Ok::<(), wscore::Error>(())
    /// ```
    #[cfg(feature = "std")]
    pub fn client(
        config: Config,
        request: &ClientRequest<'_>,
        out: &mut [u8],
    ) -> Result<(Self, usize), Error> {
        Connection::client_with_keys(config, KeyStream::from_os(), request, out)
    }

    /// [`client`](Self::client) with the mask keys and handshake nonce drawn
    /// from `seed` (see [`with_seed`](Self::with_seed)), for `no_std`.
    ///
    /// # Errors
    ///
    /// As for [`client`](Self::client).
    pub fn client_with_seed(
        config: Config,
        seed: [u8; 32],
        request: &ClientRequest<'_>,
        out: &mut [u8],
    ) -> Result<(Self, usize), Error> {
        Connection::client_with_keys(config, KeyStream::from_seed(seed), request, out)
    }

    fn client_with_keys(
        config: Config,
        mut keys: KeyStream,
        request: &ClientRequest<'_>,
        out: &mut [u8],
    ) -> Result<(Self, usize), Error> {
        let mut nonce = [0; 16];
        keys.fill(&mut nonce);
        let key = ClientKey::from_random(nonce);
        let offer = ClientOffer::new(key, request, &config)?;
        #[cfg(feature = "deflate")]
        let n = match config.deflate {
            Some(deflate) => {
                let ours = crate::deflate::offer(&deflate);
                let mut joined = [0; OFFER_LEN + 2 + 128];
                let theirs = request.extensions.unwrap_or("");
                let extensions = join_extensions(theirs, ours.as_str(), &mut joined)?;
                write_request(
                    &ClientRequest { extensions: Some(extensions), ..*request },
                    &key,
                    out,
                )?
            }
            None => write_request(request, &key, out)?,
        };
        #[cfg(not(feature = "deflate"))]
        let n = write_request(request, &key, out)?;
        let phase = Phase::AwaitingResponse(offer);
        let mut connection = Connection::with_keys(Role::Client, config, keys, phase);
        connection.tx.timers.set_close_deadline(connection.tx.config.handshake_timeout);
        Ok((connection, n))
    }

    /// Accept the request that [`Event::Request`] gave: write the `101
    /// Switching Protocols` answer into `out` (with the chosen subprotocol,
    /// the extension answer and extra headers of `options`) and return its
    /// length. Frames flow from here on; bytes after the request head are
    /// already frames.
    ///
    /// # Errors
    ///
    /// [`Error::NoRequestPending`] when no request waits for an answer;
    /// [`Error::HandshakeWrite`] for invalid options (a subprotocol the
    /// client did not offer, say), [`Error::OfferTooLong`] when the
    /// extensions of `options` and permessage-deflate's answer together
    /// pass 512 bytes, and [`Error::BufferTooSmall`]: then nothing is
    /// written and the request still waits.
    pub fn accept(
        &mut self,
        request: &Request<'_>,
        options: &AcceptOptions<'_>,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        if !matches!(self.phase, Phase::AwaitingAnswer) {
            return Err(Error::NoRequestPending);
        }
        #[cfg(feature = "deflate")]
        if let Some(accepted) = self.negotiate_offer(request) {
            let mut joined = [0; 512];
            let theirs = options.extensions.unwrap_or("");
            let extensions = join_extensions(theirs, accepted.response.as_str(), &mut joined)?;
            let options = AcceptOptions { extensions: Some(extensions), ..*options };
            let n = write_accept(request, &options, out)?;
            self.agree(accepted.params);
            self.open();
            return Ok(n);
        }
        let n = write_accept(request, options, out)?;
        self.open();
        Ok(n)
    }

    /// Refuse the request that [`Event::Request`] gave: write a rejection
    /// with `status` (403 for an `Origin` the application refuses, 3xx with
    /// a `Location` extra header to redirect, ...) into `out` and return its
    /// length. Send it, then close the transport: the connection is closed.
    ///
    /// # Errors
    ///
    /// As for [`accept`](Self::accept); a status outside 300-599 is
    /// [`Error::HandshakeWrite`].
    pub fn reject(
        &mut self,
        status: u16,
        extra_headers: &[(&str, &str)],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        if !matches!(self.phase, Phase::AwaitingAnswer) {
            return Err(Error::NoRequestPending);
        }
        let n = write_reject(status, extra_headers, out)?;
        self.handshake_failed(Phase::HandshakeFailed);
        Ok(n)
    }

    /// Read the handshake head at the front of `input`.
    pub(super) fn read_handshake<'c, 'b>(
        &'c mut self,
        input: &'b mut [u8],
    ) -> Result<Decoded<'c, 'b>, Error> {
        let input: &'b [u8] = input;
        let max_head = self.tx.config.max_handshake_head as usize;
        let mut slots = [EMPTY_HEADER; MAX_HANDSHAKE_HEADERS];
        let slots = &mut slots[..usize::from(self.tx.config.max_handshake_headers)];
        let parsed = match &self.phase {
            Phase::AwaitingRequest => match parse_request(input, slots, max_head) {
                Ok(Status::Complete(request)) => {
                    self.phase = Phase::AwaitingAnswer;
                    let consumed = request.head_len();
                    let event = Some(Event::Request(request));
                    return Ok(Decoded::new(consumed, 0, event, &mut self.tx));
                }
                Ok(Status::Partial) => {
                    return Ok(Decoded::new(0, input.len() + 1, None, &mut self.tx))
                }
                Err(e) => {
                    self.handshake_failed(Phase::Rejecting(e));
                    return Err(Error::Handshake(e));
                }
            },
            Phase::AwaitingResponse(offer) => match ResponseHead::parse(input, slots, max_head) {
                Ok(Status::Complete(head)) => offer.validate(&head),
                Ok(Status::Partial) => {
                    return Ok(Decoded::new(0, input.len() + 1, None, &mut self.tx))
                }
                Err(e) => Err(e),
            },
            _ => return Err(Error::Handshaking),
        };
        #[cfg(feature = "deflate")]
        let parsed = parsed.and_then(|response| {
            self.check_deflate_answer(response.extensions())?;
            Ok(response)
        });
        match parsed {
            Ok(response) => {
                self.open();
                let consumed = response.head_len();
                Ok(Decoded::new(consumed, 0, Some(Event::Response(response)), &mut self.tx))
            }
            Err(e) => {
                self.handshake_failed(Phase::HandshakeFailed);
                Err(Error::Handshake(e))
            }
        }
    }

    /// Write a queued handshake rejection, if there is one.
    pub(super) fn poll_rejection(
        &mut self,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let Phase::Rejecting(error) = self.phase else {
            return Ok(None);
        };
        let written = match write_error_response(&error, out) {
            Ok(n) => Some(n),
            Err(WriteError::BufferTooSmall { needed }) => return Err(BufferTooSmall { needed }),
            // Cannot happen for a rejection made from our own error; if it
            // did, sending nothing is the safe answer.
            Err(_) => None,
        };
        self.phase = Phase::HandshakeFailed;
        Ok(written)
    }

    /// Frames flow from here on.
    pub(super) fn open(&mut self) {
        self.phase = Phase::Frames(self.frame_receiver());
        self.tx.frames = true;
        self.tx.timers.clear_close_deadline(); // the handshake's
        self.start_keepalive();
    }

    /// The handshake failed or was refused: nothing more is read or sent
    /// (but for a queued rejection), and the transport is to be closed.
    pub(super) fn handshake_failed(&mut self, phase: Phase) {
        self.phase = phase;
        self.tx.close_sent = true;
        self.tx.transport_ended = true;
        self.tx.failed = true;
        self.tx.closed = Some(CloseCode::ABNORMAL);
    }
}

/// `first` and `second` joined into one extension list in `buf`.
#[cfg(feature = "deflate")]
fn join_extensions<'a>(first: &str, second: &str, buf: &'a mut [u8]) -> Result<&'a str, Error> {
    let first = first.trim_matches(|c: char| c == ' ' || c == ',');
    let sep = if first.is_empty() { "" } else { ", " };
    let len = first.len() + sep.len() + second.len();
    let out = buf.get_mut(..len).ok_or(Error::OfferTooLong)?;
    let (a, rest) = out.split_at_mut(first.len());
    a.copy_from_slice(first.as_bytes());
    let (b, c) = rest.split_at_mut(sep.len());
    b.copy_from_slice(sep.as_bytes());
    c.copy_from_slice(second.as_bytes());
    // Joined from `&str`s: always UTF-8.
    core::str::from_utf8(out).map_err(|_| Error::OfferTooLong)
}

#[cfg(not(feature = "deflate"))]
impl Connection {
    /// The receiver for frames once the handshake is over.
    fn frame_receiver(&self) -> super::recv::Receiver {
        super::recv::Receiver::default()
    }
}
