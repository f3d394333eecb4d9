//! An in-memory stand-in for a TCP socket of an embedded stack (a smoltcp
//! `TcpSocket`, an embassy-net `TcpSocket`): two fixed-capacity byte queues,
//! one per direction, behind the `embedded-io` traits.
//!
//! Like a socket's transmit and receive buffers, each direction holds at most
//! `N` bytes: a writer that finds it full must wait for the reader to drain
//! it ([`WriteReady`] says when), a reader that finds it empty must wait for
//! the writer ([`ReadReady`]). [`Socket::close`] is TCP's FIN: the peer reads
//! what was already queued, then end of file.

use embedded_io::{ErrorKind, ErrorType, Read, ReadReady, Write, WriteReady};
use heapless::Deque;

/// One direction: the bytes in flight and whether the writer closed it.
struct Pipe<const N: usize> {
    bytes: Deque<u8, N>,
    closed: bool,
}

impl<const N: usize> Pipe<N> {
    const fn new() -> Self {
        Pipe { bytes: Deque::new(), closed: false }
    }
}

/// A connected pair of sockets: the client's and the server's end.
pub struct Link<const N: usize> {
    to_server: Pipe<N>,
    to_client: Pipe<N>,
}

impl<const N: usize> Link<N> {
    /// Two empty, open directions of `N` bytes each.
    pub const fn new() -> Self {
        Link { to_server: Pipe::new(), to_client: Pipe::new() }
    }

    /// The client's end: reads what the server wrote, writes to the server.
    pub fn client(&mut self) -> Socket<'_, N> {
        Socket { rx: &mut self.to_client, tx: &mut self.to_server }
    }

    /// The server's end.
    pub fn server(&mut self) -> Socket<'_, N> {
        Socket { rx: &mut self.to_server, tx: &mut self.to_client }
    }
}

impl<const N: usize> Default for Link<N> {
    fn default() -> Self {
        Link::new()
    }
}

/// One end of a [`Link`], borrowed for as long as it is driven.
pub struct Socket<'a, const N: usize> {
    rx: &'a mut Pipe<N>,
    tx: &'a mut Pipe<N>,
}

impl<const N: usize> Socket<'_, N> {
    /// Close this end's sending direction (TCP's FIN): the peer reads what
    /// was queued, then end of file. Writing afterwards is `BrokenPipe`.
    pub fn close(&mut self) {
        self.tx.closed = true;
    }

    /// Whether this end was closed.
    pub fn is_closed(&self) -> bool {
        self.tx.closed
    }
}

impl<const N: usize> ErrorType for Socket<'_, N> {
    type Error = ErrorKind;
}

impl<const N: usize> Read for Socket<'_, N> {
    /// Up to `buf.len()` queued bytes; `Ok(0)` at end of file. A real
    /// socket would block on an empty queue; this single-threaded stand-in
    /// cannot, so it reports `TimedOut` instead (check [`ReadReady`] first).
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.rx.bytes.is_empty() {
            return if self.rx.closed { Ok(0) } else { Err(ErrorKind::TimedOut) };
        }
        let mut n = 0;
        for slot in buf.iter_mut() {
            match self.rx.bytes.pop_front() {
                Some(byte) => *slot = byte,
                None => break,
            }
            n += 1;
        }
        Ok(n)
    }
}

impl<const N: usize> ReadReady for Socket<'_, N> {
    fn read_ready(&mut self) -> Result<bool, ErrorKind> {
        Ok(!self.rx.bytes.is_empty() || self.rx.closed)
    }
}

impl<const N: usize> Write for Socket<'_, N> {
    /// Queue as many bytes as there is room for. A full queue is
    /// `WriteZero` (a real socket would block; check [`WriteReady`] first).
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        if self.tx.closed {
            return Err(ErrorKind::BrokenPipe);
        }
        let mut n = 0;
        for &byte in buf {
            if self.tx.bytes.push_back(byte).is_err() {
                break;
            }
            n += 1;
        }
        if n == 0 && !buf.is_empty() {
            return Err(ErrorKind::WriteZero);
        }
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(()) // nothing is buffered beyond the queue itself
    }
}

impl<const N: usize> WriteReady for Socket<'_, N> {
    fn write_ready(&mut self) -> Result<bool, ErrorKind> {
        // A closed end is "ready": the write fails at once instead of blocking.
        Ok(!self.tx.bytes.is_full() || self.tx.closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_flow_both_ways_and_close_is_eof_after_the_queue() {
        let mut link: Link<4> = Link::new();
        assert_eq!(link.client().write(b"hello"), Ok(4)); // room for 4
        assert_eq!(link.client().write(b"o"), Err(ErrorKind::WriteZero));
        assert_eq!(link.client().write_ready(), Ok(false));
        let mut buf = [0u8; 8];
        assert_eq!(link.server().read_ready(), Ok(true));
        assert_eq!(link.server().read(&mut buf), Ok(4));
        assert_eq!(&buf[..4], b"hell");
        assert_eq!(link.server().read_ready(), Ok(false));
        assert_eq!(link.server().read(&mut buf), Err(ErrorKind::TimedOut));
        assert_eq!(link.server().write(b"ok"), Ok(2));
        link.server().close();
        assert_eq!(link.server().write(b"x"), Err(ErrorKind::BrokenPipe));
        assert_eq!(link.client().read(&mut buf), Ok(2));
        assert_eq!(link.client().read_ready(), Ok(true)); // end of file
        assert_eq!(link.client().read(&mut buf), Ok(0));
    }
}
