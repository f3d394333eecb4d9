//! What a [`Connection`](crate::Connection) hands back from its input.

use crate::close::CloseFrame;
use crate::handshake::{Request, Response};

/// Which kind of data message: text (UTF-8) or binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// UTF-8 text. Every piece handed out has been validated up to its end
    /// (a piece may stop inside a code point that the next piece finishes).
    Text,
    /// Arbitrary bytes.
    Binary,
}

/// One thing that happened on the connection.
///
/// `'b` borrows the caller's input buffer (handshake heads); `'c` borrows
/// the connection, and the input too (`'b: 'c`): data payloads are lent
/// from the input, decoded in place, or, for a message compressed with
/// permessage-deflate, from the connection's inflate buffer; control
/// payloads are buffered whole in the connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'c, 'b> {
    /// A piece of a data message: unmasked in place in the caller's buffer,
    /// or inflated into the connection's buffer when the message was
    /// compressed (permessage-deflate, feature `deflate`).
    ///
    /// A message arrives as one or more pieces; `fin` marks the last. Pieces
    /// follow the bytes as they come in, not frame boundaries: one frame may
    /// give several pieces when its payload arrives over several reads, and
    /// an empty message gives one empty piece with `fin` set.
    Data {
        /// Text or binary (the kind of the message's first frame).
        kind: DataKind,
        /// The bytes, unmasked (and inflated), valid UTF-8 so far for text.
        payload: &'c [u8],
        /// Whether this piece ends the message.
        fin: bool,
    },
    /// The peer sent a Ping. With `Config::auto_pong` (the default) the Pong
    /// is already queued for [`poll_transmit`](crate::Connection::poll_transmit).
    Ping(&'c [u8]),
    /// The peer sent a Pong (an answer to our Ping, or unsolicited).
    Pong(&'c [u8]),
    /// The peer sent a Close frame (`None` when it carried no status code).
    /// The reply is queued for [`poll_transmit`](crate::Connection::poll_transmit)
    /// unless this side had already sent its own Close.
    Close(Option<CloseFrame<'c>>),
    /// (Server, during the handshake) A valid WebSocket upgrade request, lent
    /// from the input. Answer it with [`Connection::accept`] (choosing a
    /// subprotocol, checking the `Origin`) or [`Connection::reject`].
    ///
    /// [`Connection::accept`]: crate::Connection::accept
    /// [`Connection::reject`]: crate::Connection::reject
    Request(Request<'b>),
    /// (Client, during the handshake) The server accepted: its response,
    /// already checked, with the chosen subprotocol and extensions. Frames
    /// flow from here on.
    Response(Response<'b>),
}
