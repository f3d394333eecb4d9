//! What a session hands out: whole messages and control frames, owned,
//! in reference-counted buffers.

use alloc::string::String;
use core::fmt;
use core::ops::Deref;

use bytes::Bytes;

use crate::close::CloseCode;

/// A message or control frame, owned: what [`Session::next_incoming`] and
/// the drivers' `read` / `next` hand back.
///
/// A message that arrived in one frame is lent from the read buffer with no
/// copy ([`Bytes`] shares it); one that arrived in pieces is gathered once.
///
/// [`Session::next_incoming`]: super::Session::next_incoming
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A whole text message.
    Text(Utf8Bytes),
    /// A whole binary message.
    Binary(Bytes),
    /// A Ping; its Pong is already queued to be sent.
    Ping(Bytes),
    /// A Pong (an answer to a Ping, or a heartbeat).
    Pong(Bytes),
    /// The peer closed (`None`: without a status code). The reply is queued;
    /// the connection ends once it is written.
    Close(Option<CloseInfo>),
}

/// A message to send, in reference-counted buffers: what
/// [`Session::send_message`](super::Session::send_message) takes. A
/// server sends a large one by reference, with no copy: an echo hands back
/// what it received.
///
/// ```
/// use wscore::session::{Incoming, Message};
/// let echo = |incoming: Incoming| incoming.into_message(); // Text and Binary only
/// assert_eq!(echo(Incoming::Text("hi".into())), Some(Message::Text("hi".into())));
/// assert_eq!(Message::from(vec![1, 2]), Message::Binary(vec![1, 2].into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// The message's bytes.
    pub fn as_bytes(&self) -> &Bytes {
        match self {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(data) => data,
        }
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::Text(text.into())
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::Text(text.into())
    }
}

impl From<Utf8Bytes> for Message {
    fn from(text: Utf8Bytes) -> Self {
        Message::Text(text)
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Self {
        Message::Binary(data)
    }
}

impl From<alloc::vec::Vec<u8>> for Message {
    fn from(data: alloc::vec::Vec<u8>) -> Self {
        Message::Binary(data.into())
    }
}

impl Incoming {
    /// The data message, for sending on (an echo, a relay); `None` for
    /// control frames.
    pub fn into_message(self) -> Option<Message> {
        match self {
            Incoming::Text(text) => Some(Message::Text(text)),
            Incoming::Binary(data) => Some(Message::Binary(data)),
            _ => None,
        }
    }
}

/// A close status and reason, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    /// The close code.
    pub code: CloseCode,
    /// The reason, often empty.
    pub reason: String,
}

/// Text in a reference-counted buffer: UTF-8, checked by the connection as
/// it arrived. Derefs to `str`.
///
/// ```
/// use wscore::session::Utf8Bytes;
/// let text = Utf8Bytes::from("héllo");
/// assert_eq!(text.len(), 6);
/// assert!(text.starts_with("hé")); // any `str` method
/// assert_eq!(text, "héllo");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Text from bytes the receiver has already validated.
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        Utf8Bytes(bytes)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Every constructor takes a `str` or bytes the connection checked as
        // UTF-8, so this check (SIMD, a fraction of the copy it replaces)
        // always succeeds; it keeps the crate free of `unsafe` here.
        simdutf8::basic::from_utf8(&self.0).unwrap_or_default()
    }

    /// The bytes, sharing the buffer.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The bytes, sharing the buffer.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for Utf8Bytes {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Utf8Bytes {
    fn from(text: &str) -> Self {
        Utf8Bytes(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl From<String> for Utf8Bytes {
    fn from(text: String) -> Self {
        Utf8Bytes(Bytes::from(text))
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<String> for Utf8Bytes {
    fn eq(&self, other: &String) -> bool {
        self.0 == other.as_bytes()
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
