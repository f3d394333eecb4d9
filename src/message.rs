//! Whole messages from data pieces (feature `alloc`).
//!
//! The connection hands out a message as pieces lent from the input buffer.
//! [`MessageAssembler`] gathers them into an owned [`Message`] for
//! applications that want whole messages, as Python's `recv()` gives them.
//! Its memory is bounded by the limit it is given (by default the
//! connection's `max_message_size`, which the connection already enforces
//! from frame headers, before any payload is buffered).

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::ProtocolError;
use crate::event::{DataKind, Event};

/// A whole data message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

impl Message {
    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(text) => Some(text),
            Message::Binary(_) => None,
        }
    }

    /// The message's bytes, whatever its kind.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(bytes) => bytes,
        }
    }

    /// The kind of message.
    pub fn kind(&self) -> DataKind {
        match self {
            Message::Text(_) => DataKind::Text,
            Message::Binary(_) => DataKind::Binary,
        }
    }
}

/// Gathers data pieces into whole [`Message`]s, up to a size limit.
///
/// ```
/// use wscore::message::{Message, MessageAssembler};
/// use wscore::{Config, Connection, Event, Instant, Role};
///
/// let mut conn = Connection::new(Role::Client, Config::default());
/// let mut messages = MessageAssembler::new(conn.config().max_message_size);
/// let mut input = vec![0x01, 0x03, b'H', b'e', b'l', 0x80, 0x02, b'l', b'o'];
/// let mut got = None;
/// while got.is_none() {
///     let d = conn.read(&mut input, Instant(0))?;
///     let consumed = d.consumed;
///     if let Some(event) = d.event {
///         got = messages.push_event(&event)?;
///     }
///     input.drain(..consumed);
/// }
/// assert_eq!(got, Some(Message::Text("Hello".into())));
/// # Ok::<(), wscore::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MessageAssembler {
    kind: Option<DataKind>,
    buf: Vec<u8>,
    max_size: u64,
}

impl MessageAssembler {
    /// An assembler that refuses messages over `max_size` bytes.
    pub fn new(max_size: u64) -> Self {
        MessageAssembler { kind: None, buf: Vec::new(), max_size }
    }

    /// Add a piece; the message is returned with its last piece. The kind of
    /// a message is that of its first piece.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::MessageTooLarge`] past the limit, and
    /// [`ProtocolError::InvalidUtf8`] for a text message that is not UTF-8
    /// (which a [`Connection`](crate::Connection) never hands out). Either
    /// way the partial message is dropped.
    pub fn push(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        fin: bool,
    ) -> Result<Option<Message>, ProtocolError> {
        let kind = *self.kind.get_or_insert(kind);
        let total = self.buf.len() as u64 + payload.len() as u64;
        if total > self.max_size {
            self.reset();
            return Err(ProtocolError::MessageTooLarge { max: self.max_size });
        }
        self.buf.extend_from_slice(payload);
        if !fin {
            return Ok(None);
        }
        self.kind = None;
        let bytes = core::mem::take(&mut self.buf);
        match kind {
            DataKind::Binary => Ok(Some(Message::Binary(bytes))),
            DataKind::Text => String::from_utf8(bytes)
                .map(|text| Some(Message::Text(text)))
                .map_err(|_| ProtocolError::InvalidUtf8),
        }
    }

    /// [`push`](Self::push) for an event; events other than data give `None`.
    ///
    /// # Errors
    ///
    /// As for [`push`](Self::push).
    pub fn push_event(&mut self, event: &Event<'_, '_>) -> Result<Option<Message>, ProtocolError> {
        match *event {
            Event::Data { kind, payload, fin } => self.push(kind, payload, fin),
            _ => Ok(None),
        }
    }

    /// Whether a message has started and not yet ended.
    pub fn in_progress(&self) -> bool {
        self.kind.is_some()
    }

    /// Drop any partial message.
    pub fn reset(&mut self) {
        self.kind = None;
        self.buf = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembles_pieces_of_both_kinds() {
        let mut a = MessageAssembler::new(100);
        assert_eq!(a.push(DataKind::Text, "h€".as_bytes().get(..2).unwrap(), false), Ok(None));
        assert!(a.in_progress());
        let rest = "h€".as_bytes().get(2..).unwrap();
        assert_eq!(a.push(DataKind::Text, rest, true), Ok(Some(Message::Text("h€".into()))));
        assert!(!a.in_progress());
        assert_eq!(
            a.push(DataKind::Binary, &[1, 2], true),
            Ok(Some(Message::Binary(std::vec![1, 2])))
        );
        assert_eq!(a.push(DataKind::Binary, &[], true), Ok(Some(Message::Binary(std::vec![]))));
    }

    #[test]
    fn refuses_past_the_limit_and_starts_over() {
        let mut a = MessageAssembler::new(4);
        assert_eq!(a.push(DataKind::Binary, &[0; 3], false), Ok(None));
        assert_eq!(
            a.push(DataKind::Binary, &[0; 2], false),
            Err(ProtocolError::MessageTooLarge { max: 4 })
        );
        assert!(!a.in_progress());
        assert_eq!(a.push(DataKind::Text, b"abcd", true), Ok(Some(Message::Text("abcd".into()))));
        assert_eq!(a.push(DataKind::Text, b"\xFF", true), Err(ProtocolError::InvalidUtf8));
    }
}
