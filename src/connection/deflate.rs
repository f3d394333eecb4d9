//! permessage-deflate in the connection (feature `deflate`): negotiation in
//! the opening handshake and compression of outgoing messages. Inflating is
//! the receiver's (`recv/inflate.rs`).

use alloc::boxed::Box;

use super::recv::{Inflating, Receiver};
use super::send::Transmit;
use super::Connection;
use crate::close::CloseCode;
use crate::config::Role;
use crate::deflate::codec::{Compressor, TAIL};
use crate::deflate::{
    accept_offer, check_answer, Accepted, DeflateConfig, DeflateParams, NegotiationError,
    EXTENSION_NAME,
};
use crate::error::{BufferTooSmall, Error};
use crate::event::DataKind;
use crate::frame::{FrameHeader, OpCode};
use crate::handshake::{Extensions, HandshakeError, Request};
use crate::mask::apply_mask;
use crate::prepared::{Fallback, Prepared, Wire};

/// RSV1: the first frame of a compressed message.
const RSV1: u8 = 0b100;

/// A connection's permessage-deflate state: the settings, what was agreed,
/// and the compressor (made by the first compressed message).
#[derive(Debug)]
pub(super) struct Deflating {
    config: DeflateConfig,
    params: Option<DeflateParams>,
    compressor: Option<Compressor>,
    /// The fragmented message being sent is compressed.
    compressing_message: bool,
    /// A shared compressed message went out that the compressor did not
    /// see: it must forget its context before its next message, whose
    /// back-references would otherwise miscount.
    forget_context: bool,
}

impl Deflating {
    pub(super) fn new(config: DeflateConfig) -> Box<Self> {
        Box::new(Deflating {
            config,
            params: None,
            compressor: None,
            compressing_message: false,
            forget_context: false,
        })
    }

    pub(super) fn config(&self) -> DeflateConfig {
        self.config
    }
}

impl Connection {
    /// The permessage-deflate parameters in force, if the extension was
    /// negotiated (feature `deflate`).
    ///
    /// ```
    /// use wscore::deflate::DeflateConfig;
    /// use wscore::handshake::AcceptOptions;
    /// use wscore::{Config, Connection, Event, Instant};
    ///
    /// let config = Config { deflate: Some(DeflateConfig::default()), ..Config::default() };
    /// let mut server = Connection::server(config);
    /// let mut input = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    ///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
    ///     Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n".to_vec();
    /// let Some(Event::Request(request)) = server.read(&mut input, Instant(0))?.event else { panic!() };
    /// let mut out = [0u8; 512];
    /// let n = server.accept(&request, &AcceptOptions::default(), &mut out)?;
    /// assert!(std::str::from_utf8(&out[..n]).unwrap().contains("Sec-WebSocket-Extensions: permessage-deflate\r\n"));
    /// assert_eq!(server.deflate().map(|p| p.server_max_window_bits), Some(15));
    /// # Ok::<(), wscore::Error>(())
    /// ```
    pub fn deflate(&self) -> Option<DeflateParams> {
        self.tx.deflate.as_deref().and_then(|z| z.params)
    }

    /// Turn permessage-deflate on with `params`, for a connection made by
    /// [`new`](Self::new) or [`with_seed`](Self::with_seed) whose handshake
    /// ran elsewhere (with [`accept_offer`] or [`check_answer`]). Call it
    /// before any frame is read or sent. The compressor settings are those
    /// of `Config::deflate`, or the defaults.
    pub fn enable_deflate(&mut self, params: DeflateParams) {
        let config = self.tx.deflate.as_deref().map_or(DeflateConfig::DEFAULT, Deflating::config);
        let mut deflating = Deflating::new(config);
        deflating.params = Some(params);
        self.tx.deflate = Some(deflating);
        if matches!(self.phase, super::Phase::Frames(_)) {
            self.phase = super::Phase::Frames(self.frame_receiver());
        }
    }

    /// The receiver for frames once the handshake is over: with inflating
    /// when permessage-deflate was agreed.
    pub(super) fn frame_receiver(&self) -> Receiver {
        match self.tx.deflate.as_deref() {
            Some(z) if z.params.is_some() => {
                Receiver::with_deflate(Inflating::new(z.config.inflate_buffer))
            }
            _ => Receiver::default(),
        }
    }

    /// Server: the client's permessage-deflate offer this side accepts, if
    /// any (recorded by [`agree`](Self::agree) once the answer is written).
    pub(super) fn negotiate_offer(&self, request: &Request<'_>) -> Option<Accepted> {
        let z = self.tx.deflate.as_deref()?;
        accept_offer(request.extensions(), &z.config)
    }

    /// The handshake agreed on `params`.
    pub(super) fn agree(&mut self, params: DeflateParams) {
        if let Some(z) = self.tx.deflate.as_deref_mut() {
            z.params = Some(params);
        }
    }

    /// Client: check the server's answer among `answered` extensions and
    /// record the parameters.
    pub(super) fn check_deflate_answer(
        &mut self,
        answered: Extensions<'_>,
    ) -> Result<(), HandshakeError> {
        let Some(z) = self.tx.deflate.as_deref_mut() else {
            return Ok(());
        };
        let mut ours = answered.filter(|e| e.name().eq_ignore_ascii_case(EXTENSION_NAME));
        let Some(answer) = ours.next() else {
            return Ok(()); // declined: messages go uncompressed
        };
        if ours.next().is_some() {
            return Err(HandshakeError::Deflate(NegotiationError::Repeated));
        }
        z.params = Some(check_answer(&answer, &z.config).map_err(HandshakeError::Deflate)?);
        Ok(())
    }
}

impl Transmit {
    /// Whether a message (or fragmented message) that starts with `len`
    /// bytes goes out compressed.
    pub(super) fn compresses(&self, len: usize) -> bool {
        self.deflate
            .as_deref()
            .is_some_and(|z| z.params.is_some() && z.config.level > 0 && len >= z.config.min_size)
    }

    /// Whether the fragment with `opcode` belongs to a compressed message;
    /// the first fragment decides, from its length.
    pub(super) fn compresses_fragment(&mut self, opcode: OpCode, len: usize) -> bool {
        let first = opcode != OpCode::Continuation;
        let compress = if first { self.compresses(len) } else { self.compressing_message() };
        if first {
            if let Some(z) = self.deflate.as_deref_mut() {
                z.compressing_message = compress;
            }
        }
        compress
    }

    /// `encode_header` sends a frame with `opcode` uncompressed: it starts
    /// a message that is not compressed, and cannot continue one that is.
    pub(super) fn stream_uncompressed(&mut self, opcode: OpCode) -> Result<(), Error> {
        let Some(z) = self.deflate.as_deref_mut() else { return Ok(()) };
        match opcode {
            OpCode::Continuation if z.compressing_message => Err(Error::CompressedMessageOpen),
            _ => {
                z.compressing_message = false;
                Ok(())
            }
        }
    }

    fn compressing_message(&self) -> bool {
        self.deflate.as_deref().is_some_and(|z| z.compressing_message)
    }

    /// A permessage-deflate connection's choice for a prepared frame: its
    /// compressed copy when the window fits, or the fallback's; `None` for
    /// the plain frame.
    pub(super) fn prepared_wire<'p, B: AsRef<[u8]>>(
        &mut self,
        prepared: &'p Prepared<B>,
        out: &mut [u8],
    ) -> Result<Option<Wire<'p, B>>, Error> {
        let Some(z) = self.deflate.as_deref_mut() else { return Ok(None) };
        let Some(params) = z.params else { return Ok(None) };
        if let Some(frame) = prepared.compressed_for(params.server_max_window_bits) {
            // The peer's window now holds a message the compressor never saw.
            z.forget_context |= !params.server_no_context_takeover && z.compressor.is_some();
            return Ok(Some(Wire::Frame(frame)));
        }
        if prepared.fallback() == Fallback::Plain || z.config.level == 0 {
            return Ok(None);
        }
        let opcode = match prepared.kind() {
            DataKind::Text => OpCode::Text,
            DataKind::Binary => OpCode::Binary,
        };
        self.write_compressed(opcode, true, prepared.payload(), out).map(|n| Some(Wire::Encoded(n)))
    }

    /// Write a data frame whose payload is `payload` compressed: RSV1 on a
    /// message's first frame, the tail stripped from its last (RFC 7692
    /// section 7.2.1). Checks the room first, for the most the payload can
    /// compress to: on [`Error::BufferTooSmall`] nothing changed.
    pub(super) fn write_compressed(
        &mut self,
        opcode: OpCode,
        fin: bool,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let role = self.role;
        let Some(z) = self.deflate.as_deref_mut() else { return Err(Error::CompressionFailed) };
        let Some(params) = z.params else { return Err(Error::CompressionFailed) };
        let (bits, forget) = match role {
            Role::Server => (params.server_max_window_bits, params.server_no_context_takeover),
            Role::Client => (params.client_max_window_bits, params.client_no_context_takeover),
        };
        let level = z.config.level;
        let compressor = z.compressor.get_or_insert_with(|| Compressor::new(level, bits));
        if z.forget_context && opcode != OpCode::Continuation {
            compressor.reset();
            z.forget_context = false;
        }
        let bound = compressor.bound(payload.len());
        let mut header = FrameHeader { fin, rsv: 0, opcode, mask: None, payload_len: bound as u64 };
        if role == Role::Client {
            header.mask = Some([0; 4]);
        }
        let room = header.encoded_len();
        let needed = room.saturating_add(bound);
        if out.len() < needed {
            return Err(BufferTooSmall { needed }.into());
        }
        let Ok(n) = compressor.compress(payload, &mut out[room..needed], fin && forget) else {
            // The compressor's state is lost: nothing sent after would
            // inflate. Cannot happen with the room checked above.
            self.fail_with(CloseCode::INTERNAL_ERROR, "compression failed");
            return Err(Error::CompressionFailed);
        };
        let compressed = &out[room..room + n];
        let len = if fin && compressed.ends_with(&TAIL) { n - TAIL.len() } else { n };
        header.rsv = if opcode == OpCode::Continuation { 0 } else { RSV1 };
        header.payload_len = len as u64;
        header.mask = self.next_mask();
        let header_len = header.encoded_len();
        out.copy_within(room..room + len, header_len);
        header.encode(out)?;
        if let Some(key) = header.mask {
            apply_mask(&mut out[header_len..header_len + len], key, 0);
        }
        Ok(header_len + len)
    }
}
