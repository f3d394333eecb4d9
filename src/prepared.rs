//! Prepared frames: a server's data message framed once, and compressed
//! once, for many connections to send.
//!
//! A server that broadcasts (a chat room, a price pushed to every
//! subscriber) would otherwise encode, copy and, with permessage-deflate,
//! compress the same message once per connection. A [`Prepared`] frame
//! holds the message's wire bytes, header and payload together, in a buffer
//! of the caller's type `B` (`bytes::Bytes` with the `alloc` feature, which
//! makes a share a reference count). Each connection checks that it may
//! send it and hands back the bytes to write: no copy, no compression, no
//! masking (a server's frames are not masked, which is why only a server
//! can share frames).
//!
//! [`Sender::send_prepared`](crate::Sender::send_prepared) accepts a
//! prepared frame when the connection is open, has not sent its Close and
//! has no fragmented message of its own in progress (the frame would land
//! inside it). With permessage-deflate:
//!
//! * a connection that did not negotiate it takes the plain frame;
//! * a connection that did takes the compressed copy, when there is one and
//!   its window fits what the connection agreed (`server_max_window_bits`).
//!   The copy is compressed with no context takeover, so any peer inflates
//!   it, whatever it kept from earlier messages; a connection that keeps
//!   its own compressor's context forgets it before its next own message
//!   (whose back-references would otherwise count the shared message
//!   wrongly);
//! * otherwise the frame's [`Fallback`] decides: the plain frame (RFC 7692
//!   lets any message go uncompressed), or the connection compresses the
//!   payload itself.
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use wscore::prepared::{Prepared, Wire};
//! use wscore::{Config, Connection, Role};
//!
//! let price = Prepared::text(r#"{"BTC":97000}"#);
//! let mut out = [0u8; 64];
//! for _ in 0..3 {
//!     let mut server = Connection::new(Role::Server, Config::default()); // open, as after a handshake
//!     let Wire::Frame(bytes) = server.sender().send_prepared(&price, &mut out)? else { unreachable!() };
//!     assert_eq!(&bytes[..2], b"\x81\x0d"); // the same shared bytes for every connection
//! }
//! # }
//! # Ok::<(), wscore::Error>(())
//! ```

use crate::error::{BufferTooSmall, Error};
use crate::event::DataKind;
use crate::frame::{FrameHeader, OpCode, Parsed};

#[cfg(feature = "alloc")]
use bytes::Bytes;

/// A server data message framed once: its whole frame, and optionally a
/// compressed copy for permessage-deflate connections. See the [module
/// documentation](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared<B> {
    kind: DataKind,
    /// The plain frame: header, then payload.
    plain: B,
    header_len: u8,
    compressed: Option<Compressed<B>>,
    fallback: Fallback,
}

/// A compressed copy: its frame (RSV1 set) and the window it was made with.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Compressed<B> {
    frame: B,
    window_bits: u8,
}

/// What a permessage-deflate connection sends when it cannot take a
/// prepared frame's compressed copy (there is none, or its window is larger
/// than the connection agreed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Fallback {
    /// The plain frame: no work for the connection, more bytes on the wire.
    #[default]
    Plain,
    /// The connection compresses the payload with its own compressor: the
    /// cost per connection that prepared frames exist to save.
    Compress,
}

/// What a connection sends for a prepared frame, from
/// [`Sender::send_prepared`](crate::Sender::send_prepared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire<'p, B> {
    /// Write these bytes, shared with the other connections, as they are.
    Frame(&'p B),
    /// The connection compressed the payload itself ([`Fallback::Compress`])
    /// into the output buffer: write its first `n` bytes.
    Encoded(usize),
}

impl<B: AsRef<[u8]>> Prepared<B> {
    /// A prepared frame from `frame`, the wire bytes of one whole, unmasked
    /// text or binary frame (FIN set, no RSV bit, its length in the fewest
    /// bytes, exactly the payload its header announces), as
    /// [`Prepared::encode`] writes them. Text is
    /// checked to be UTF-8. Works without an allocator: `B` can be a
    /// `&[u8]` or an array.
    ///
    /// ```
    /// use wscore::prepared::Prepared;
    /// let mut buf = [0u8; 16];
    /// let n = Prepared::<&[u8]>::encode(wscore::DataKind::Text, b"tick", &mut buf)?;
    /// let tick = Prepared::from_frame(&buf[..n])?;
    /// assert_eq!(tick.payload(), b"tick");
    /// # Ok::<(), wscore::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPreparedFrame`] when `frame` is anything else.
    pub fn from_frame(frame: B) -> Result<Self, Error> {
        let bytes = frame.as_ref();
        let Ok(Parsed::Complete(header, header_len)) = FrameHeader::parse(bytes) else {
            return Err(Error::InvalidPreparedFrame);
        };
        let kind = match header.opcode {
            OpCode::Text => DataKind::Text,
            OpCode::Binary => DataKind::Binary,
            _ => return Err(Error::InvalidPreparedFrame),
        };
        let whole = header.payload_len == (bytes.len() - header_len) as u64;
        // RFC 6455 section 5.2: the length in the fewest bytes that hold it.
        let minimal = header_len == header.encoded_len();
        if !header.fin || header.rsv != 0 || header.mask.is_some() || !whole || !minimal {
            return Err(Error::InvalidPreparedFrame);
        }
        if kind == DataKind::Text && simdutf8::basic::from_utf8(&bytes[header_len..]).is_err() {
            return Err(Error::InvalidPreparedFrame);
        }
        Ok(Prepared {
            kind,
            plain: frame,
            header_len: header_len as u8,
            compressed: None,
            fallback: Fallback::Plain,
        })
    }

    /// Write a server's frame for `payload` into `out` (for
    /// [`from_frame`](Self::from_frame)) and return its length.
    ///
    /// # Errors
    ///
    /// [`Error::BufferTooSmall`] when `out` is shorter than the payload and
    /// its header (at most 10 bytes).
    pub fn encode(kind: DataKind, payload: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let header = server_header(kind, 0, payload.len());
        let header_len = header.encoded_len();
        let needed = header_len + payload.len();
        let out = out.get_mut(..needed).ok_or(BufferTooSmall { needed })?;
        header.encode(out)?;
        out[header_len..].copy_from_slice(payload);
        Ok(needed)
    }

    /// Text or binary.
    pub fn kind(&self) -> DataKind {
        self.kind
    }

    /// The message's payload (uncompressed).
    pub fn payload(&self) -> &[u8] {
        &self.plain.as_ref()[usize::from(self.header_len)..]
    }

    /// The plain frame: header and payload.
    pub fn frame(&self) -> &B {
        &self.plain
    }

    /// The compressed copy's frame, if one was made.
    pub fn compressed_frame(&self) -> Option<&B> {
        self.compressed.as_ref().map(|c| &c.frame)
    }

    /// What a permessage-deflate connection that cannot take the
    /// compressed copy sends instead (default: [`Fallback::Plain`]).
    #[must_use]
    pub fn with_fallback(mut self, fallback: Fallback) -> Self {
        self.fallback = fallback;
        self
    }

    /// The fallback in force.
    pub fn fallback(&self) -> Fallback {
        self.fallback
    }

    /// The compressed copy, if a connection whose compressor's window is
    /// `window_bits` may send it.
    #[cfg(feature = "deflate")]
    pub(crate) fn compressed_for(&self, window_bits: u8) -> Option<&B> {
        self.compressed.as_ref().filter(|c| c.window_bits <= window_bits).map(|c| &c.frame)
    }
}

/// The header of a server's whole data frame.
fn server_header(kind: DataKind, rsv: u8, len: usize) -> FrameHeader {
    let opcode = match kind {
        DataKind::Text => OpCode::Text,
        DataKind::Binary => OpCode::Binary,
    };
    FrameHeader { fin: true, rsv, opcode, mask: None, payload_len: len as u64 }
}

#[cfg(feature = "alloc")]
impl Prepared<Bytes> {
    /// A text message, framed.
    pub fn text(text: &str) -> Self {
        Prepared::framed(DataKind::Text, text.as_bytes())
    }

    /// A binary message, framed.
    pub fn binary(data: &[u8]) -> Self {
        Prepared::framed(DataKind::Binary, data)
    }

    fn framed(kind: DataKind, payload: &[u8]) -> Self {
        let header = server_header(kind, 0, payload.len());
        let header_len = header.encoded_len();
        let mut frame = alloc::vec![0; header_len + payload.len()];
        // The room is exactly the header's and the payload's.
        let _ = header.encode(&mut frame);
        frame[header_len..].copy_from_slice(payload);
        Prepared {
            kind,
            plain: Bytes::from(frame),
            header_len: header_len as u8,
            compressed: None,
            fallback: Fallback::Plain,
        }
    }

    /// Add a copy compressed by `compressor`, for the connections that
    /// negotiated permessage-deflate (feature `deflate`). Compressing once
    /// costs what one connection's own compression would (and clears the
    /// compressor's history, about 5 µs with `miniz_oxide`); every
    /// connection that takes the copy then costs nothing more.
    ///
    /// ```
    /// use wscore::prepared::{Compressor, Prepared};
    /// let mut compressor = Compressor::new(1, 15);
    /// let news = Prepared::text(&"all quiet. ".repeat(100)).compressed(&mut compressor);
    /// assert!(news.compressed_frame().unwrap().len() < 100);
    /// ```
    #[cfg(feature = "deflate")]
    #[must_use]
    pub fn compressed(mut self, compressor: &mut Compressor) -> Self {
        let payload = self.payload();
        let mut frame =
            alloc::vec![0; crate::frame::MAX_HEADER_LEN + compressor.0.bound(payload.len())];
        let room = crate::frame::MAX_HEADER_LEN;
        // `bound` is room enough: the compressor cannot run out. Should it,
        // it forgets what it saw (no peer saw it), and no copy is made.
        let tail = crate::deflate::codec::TAIL;
        let compressed = compressor.0.compress(payload, &mut frame[room..], true);
        let Some(n) = compressed.ok().filter(|&n| frame[room..room + n].ends_with(&tail)) else {
            compressor.0.reset();
            return self;
        };
        let len = n - tail.len(); // the flush's tail, stripped (RFC 7692 section 7.2.1)
        let header = server_header(self.kind, 0b100, len); // RSV1: compressed
        let header_len = header.encoded_len();
        frame.copy_within(room..room + len, header_len);
        let _ = header.encode(&mut frame); // fits in MAX_HEADER_LEN
        frame.truncate(header_len + len);
        let window_bits = compressor.1;
        self.compressed = Some(Compressed { frame: Bytes::from(frame), window_bits });
        self
    }
}

/// A compressor for prepared frames' compressed copies (feature
/// `deflate`): one for all the messages a server broadcasts. Each message
/// is compressed on its own (no context takeover), so that any peer can
/// inflate it.
#[cfg(feature = "deflate")]
#[derive(Debug)]
pub struct Compressor(crate::deflate::codec::Compressor, u8);

#[cfg(feature = "deflate")]
impl Compressor {
    /// A compressor at `level` (1 to 9; 0 is taken as 1) with a window of
    /// `window_bits` (8 to 15, clamped). Connections that agreed a smaller
    /// `server_max_window_bits` cannot take its output and use the
    /// frame's [`Fallback`]. About 312 KiB.
    pub fn new(level: u8, window_bits: u8) -> Self {
        let bits = window_bits.clamp(8, 15);
        Compressor(crate::deflate::codec::Compressor::new(level, bits), bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_frame_takes_only_whole_unmasked_data_frames() {
        let ok: &[u8] = b"\x82\x03abc";
        assert_eq!(Prepared::from_frame(ok).map(|p| p.payload().to_vec()), Ok(b"abc".to_vec()));
        for bad in [
            &b"\x02\x03abc"[..],         // FIN clear
            b"\xc2\x03abc",              // RSV1
            b"\x82\x83abcd\x00\x00\x00", // masked
            b"\x82\x04abc",              // short
            b"\x82\x02abc",              // long
            b"\x89\x03abc",              // a Ping
            b"\x80\x03abc",              // a continuation
            b"\x81\x02\xc3\x28",         // text, not UTF-8
            b"\x82",                     // no header
        ] {
            assert_eq!(Prepared::from_frame(bad), Err(Error::InvalidPreparedFrame), "{bad:x?}");
        }
    }

    #[test]
    fn encode_writes_what_from_frame_takes() {
        let all = [7u8; 65536];
        let mut out = [0u8; 65536 + 10];
        for len in [0, 125, 126, 65535, 65536] {
            let payload = &all[..len];
            let n = Prepared::<&[u8]>::encode(DataKind::Binary, payload, &mut out).unwrap();
            let p = Prepared::from_frame(&out[..n]).unwrap();
            assert_eq!((p.kind(), p.payload()), (DataKind::Binary, payload));
            assert_eq!(
                Prepared::<&[u8]>::encode(DataKind::Binary, payload, &mut out[..n - 1]),
                Err(Error::BufferTooSmall { needed: n })
            );
        }
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn text_and_binary_frame_like_a_server() {
        let p = Prepared::text("Hello");
        assert_eq!(&p.frame()[..], b"\x81\x05Hello"); // RFC 6455 section 5.7
        assert_eq!(Prepared::from_frame(p.frame().clone()), Ok(p));
        let big = Prepared::binary(&[1; 256]);
        assert_eq!(&big.frame()[..4], &[0x82, 0x7e, 0x01, 0x00]);
        assert_eq!(big.payload(), &[1; 256]);
    }
}
