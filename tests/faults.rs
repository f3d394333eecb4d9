//! The blocking driver over a stream that misbehaves on a schedule: short
//! reads and writes of any length, `Interrupted`, `WouldBlock`, and an end
//! of file or a reset in the middle of a frame or of the handshake head.
//! Whatever the schedule, the server gets the client's messages whole and
//! in order, and every echo it reported as sent reaches the client exactly
//! once; or, when the stream is cut, it gets a prefix of them and an error
//! that names the cause. No panic, no hang.
#![cfg(feature = "std")]

mod support;

use std::io::{self, Read, Write};

use proptest::prelude::*;
use support::{connection, encode, Ev, Feeder};
use wscore::blocking::{Error, ServerOptions, WebSocket};
use wscore::{CloseCode, CloseFrame, Config, Outgoing, Role};

/// What the stream does on one call.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Move at most this many bytes (at least one).
    Short(usize),
    Interrupted,
    WouldBlock,
}

/// How the input ends.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cut {
    /// All of it, then end of file.
    None,
    /// End of file after this many bytes.
    Eof(usize),
    /// `ConnectionReset` after this many bytes.
    Reset(usize),
}

/// A stream whose peer sent `input` and reads everything written, with a
/// fault schedule for reads and one for writes (each cycled).
struct Faulty {
    input: Vec<u8>,
    read: usize,
    cut: Cut,
    output: Vec<u8>,
    reads: Vec<Fault>,
    writes: Vec<Fault>,
    calls: (usize, usize),
}

impl Read for Faulty {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let end = match self.cut {
            Cut::None => self.input.len(),
            Cut::Eof(at) | Cut::Reset(at) => at.min(self.input.len()),
        };
        if self.read == end {
            return match self.cut {
                Cut::Reset(_) => Err(io::ErrorKind::ConnectionReset.into()),
                _ => Ok(0),
            };
        }
        let fault = self.reads[self.calls.0 % self.reads.len()];
        self.calls.0 += 1;
        match fault {
            Fault::Short(n) => {
                let n = n.max(1).min(buf.len()).min(end - self.read);
                buf[..n].copy_from_slice(&self.input[self.read..self.read + n]);
                self.read += n;
                Ok(n)
            }
            Fault::Interrupted => Err(io::ErrorKind::Interrupted.into()),
            Fault::WouldBlock => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl Write for Faulty {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut fault = self.writes[self.calls.1 % self.writes.len()];
        self.calls.1 += 1;
        if !self.output.windows(4).any(|w| w == b"\r\n\r\n") {
            // A handshake whose answer cannot be written fails (the driver
            // cannot hand back a half-open WebSocket): no `WouldBlock`
            // until the 101 is out.
            if let Fault::WouldBlock = fault {
                fault = Fault::Short(1);
            }
        }
        match fault {
            Fault::Short(n) => {
                let n = n.max(1).min(buf.len());
                self.output.extend_from_slice(&buf[..n]);
                Ok(n)
            }
            Fault::Interrupted => Err(io::ErrorKind::Interrupted.into()),
            Fault::WouldBlock => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        6 => (1usize..2000).prop_map(Fault::Short),
        2 => (1usize..8).prop_map(Fault::Short),
        1 => Just(Fault::Interrupted),
        1 => Just(Fault::WouldBlock),
    ]
}

/// Faults with at least one that moves bytes, so the stream progresses.
fn schedule() -> impl Strategy<Value = Vec<Fault>> {
    (proptest::collection::vec(fault(), 0..12), 1usize..3000).prop_map(|(mut faults, n)| {
        faults.push(Fault::Short(n));
        faults
    })
}

fn message() -> impl Strategy<Value = Ev> {
    prop_oneof![
        "[a-zé€]{0,300}".prop_map(|t| Ev::text(&t)),
        proptest::collection::vec(any::<u8>(), 0..5000).prop_map(|b| Ev::binary(&b)),
    ]
}

const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// The client's side of the wire: the request, the messages, a Close.
fn client_bytes(messages: &[Ev]) -> Vec<u8> {
    let mut client = connection(Role::Client, Config::default());
    let mut bytes = REQUEST.to_vec();
    for m in messages {
        let Ev::Data { kind, payload, .. } = m else { unreachable!() };
        let frame = Outgoing::Fragment { kind: *kind, payload, fin: true };
        bytes.extend(encode(&mut client, frame).unwrap());
    }
    let close = Outgoing::Close(Some(CloseFrame::new(CloseCode::NORMAL)));
    bytes.extend(encode(&mut client, close).unwrap());
    bytes
}

/// Retry a call that failed with `WouldBlock` (what the stream said; the
/// frame stays queued) until it goes through.
fn retrying<T>(mut call: impl FnMut() -> Result<T, Error>) -> Result<T, Error> {
    for _ in 0..100_000 {
        match call() {
            Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => continue,
            other => return other,
        }
    }
    panic!("no progress after 100,000 tries")
}

/// An echo server over `stream`: what it received, whether each echo was
/// reported sent, and how it ended.
fn echo(stream: Faulty) -> (Vec<Ev>, Result<(), Error>, Vec<u8>) {
    let options = ServerOptions {
        config: Config { keepalive: None, ..Config::default() },
        ..ServerOptions::DEFAULT
    };
    let mut ws = match WebSocket::server(stream, &[], &options) {
        Ok(ws) => ws,
        Err(e) => return (Vec::new(), Err(e), Vec::new()),
    };
    let mut received = Vec::new();
    let end = loop {
        match ws.read() {
            Ok(incoming) => {
                let Some(message) = incoming.into_message() else { continue };
                received.push(match &message {
                    wscore::blocking::Message::Text(t) => Ev::text(t),
                    wscore::blocking::Message::Binary(b) => Ev::binary(b),
                });
                // A send that failed with `WouldBlock` left its frame queued:
                // flushing sends it (once).
                let sent = match ws.send_message(&message) {
                    Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                        retrying(|| ws.flush())
                    }
                    other => other,
                };
                if let Err(e) = sent {
                    break Err(e);
                }
            }
            Err(Error::Closed(_)) => break Ok(()),
            Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => break Err(e),
        }
    };
    let _ = retrying(|| ws.flush());
    (received, end, ws.get_ref().output.clone())
}

/// What a client decodes from the server's bytes after the 101.
fn echoes(output: &[u8]) -> Vec<Ev> {
    let Some(head) = output.windows(4).position(|w| w == b"\r\n\r\n") else { return Vec::new() };
    assert!(output.starts_with(b"HTTP/1.1 101 "), "{:?}", String::from_utf8_lossy(output));
    let mut client = connection(Role::Client, Config::default());
    let mut feeder = Feeder::new();
    feeder.push(&mut client, &output[head + 4..]);
    feeder.events.into_iter().filter(|e| matches!(e, Ev::Data { .. })).collect()
}

/// An echo server over a faulty stream: what it received, how it ended,
/// and what it wrote.
type Echo = fn(Faulty) -> (Vec<Ev>, Result<(), Error>, Vec<u8>);

/// The stream delivers everything: every message once, in order, and every
/// echo once.
fn every_message_once_and_in_order(
    echo: Echo,
    messages: Vec<Ev>,
    reads: Vec<Fault>,
    writes: Vec<Fault>,
) -> Result<(), TestCaseError> {
    let input = client_bytes(&messages);
    let stream =
        Faulty { input, read: 0, cut: Cut::None, output: Vec::new(), reads, writes, calls: (0, 0) };
    let (received, end, output) = echo(stream);
    prop_assert!(end.is_ok(), "{:?}", end);
    prop_assert_eq!(&received, &messages);
    prop_assert_eq!(echoes(&output), messages);
    Ok(())
}

/// The stream is cut at `cut_at`: a prefix of the messages, their echoes,
/// and an error that says what happened.
fn a_prefix_and_a_named_error(
    echo: Echo,
    messages: Vec<Ev>,
    reads: Vec<Fault>,
    writes: Vec<Fault>,
    cut_at: prop::sample::Index,
    reset: bool,
) -> Result<(), TestCaseError> {
    let input = client_bytes(&messages);
    let at = cut_at.index(input.len());
    let cut = if reset { Cut::Reset(at) } else { Cut::Eof(at) };
    let stream = Faulty { input, read: 0, cut, output: Vec::new(), reads, writes, calls: (0, 0) };
    let (received, end, output) = echo(stream);
    prop_assert!(messages.starts_with(&received), "not a prefix");
    prop_assert_eq!(echoes(&output), received);
    // The input never reaches the Close: the end is an error.
    let e = end.expect_err("the stream was cut");
    let named = match &e {
        Error::Io(io) => io.kind() == io::ErrorKind::ConnectionReset,
        Error::Protocol(wscore::Error::UnexpectedEof) => !reset,
        Error::Closed(Some(info)) => info.code == CloseCode::ABNORMAL,
        _ => false,
    };
    prop_assert!(named, "{e:?} for {:?}", cut);
    Ok(())
}

/// Both properties, for a driver's echo server, with `cases` cases each.
macro_rules! fault_properties {
    ($echo:expr, $cases:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: $cases, ..ProptestConfig::default() })]

            #[test]
            fn any_fault_schedule_gives_every_message_once_and_in_order(
                messages in proptest::collection::vec(message(), 0..12),
                reads in schedule(),
                writes in schedule(),
            ) {
                every_message_once_and_in_order($echo, messages, reads, writes)?;
            }

            #[test]
            fn a_stream_cut_anywhere_gives_a_prefix_and_a_named_error(
                messages in proptest::collection::vec(message(), 0..8),
                reads in schedule(),
                writes in schedule(),
                cut_at in any::<prop::sample::Index>(),
                reset in any::<bool>(),
            ) {
                a_prefix_and_a_named_error($echo, messages, reads, writes, cut_at, reset)?;
            }
        }
    };
}

fault_properties!(echo, 300);

/// The tokio driver over the same schedules: `WouldBlock` and
/// `Interrupted` become `Pending` (a tokio stream retries `EINTR` itself),
/// woken at once.
#[cfg(feature = "tokio")]
mod tokio_driver {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use wscore::tokio::{accept_with, Message};

    /// `WouldBlock` and `Interrupted` as a tokio stream gives them: `Pending`,
    /// woken at once.
    fn pending_on_retry<T>(cx: &mut Context<'_>, done: io::Result<T>) -> Poll<io::Result<T>> {
        match done {
            Err(e)
                if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) =>
            {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            other => Poll::Ready(other),
        }
    }

    impl AsyncRead for Faulty {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let read = pending_on_retry(cx, Read::read(self.get_mut(), buf.initialize_unfilled()));
            read.map_ok(|n| buf.advance(n))
        }
    }

    impl AsyncWrite for Faulty {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            pending_on_retry(cx, Write::write(self.get_mut(), buf))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// The tokio echo server over `stream`, as `echo` above.
    async fn echo_async(stream: Faulty) -> (Vec<Ev>, Result<(), Error>) {
        let config = Config { keepalive: None, ..Config::default() };
        let options = ServerOptions { config, ..ServerOptions::DEFAULT };
        let mut ws = match accept_with(stream, &[], &options).await {
            Ok(ws) => ws,
            Err(e) => return (Vec::new(), Err(e)),
        };
        let mut received = Vec::new();
        let end = loop {
            match ws.next().await {
                Some(Ok(incoming)) => {
                    let Some(message) = incoming.into_message() else { continue };
                    received.push(match &message {
                        Message::Text(t) => Ev::text(t),
                        Message::Binary(b) => Ev::binary(b),
                    });
                    if let Err(e) = ws.send_message(&message).await {
                        break Err(e);
                    }
                }
                Some(Err(e)) => break Err(e),
                None => break Ok(()),
            }
        };
        let _ = ws.flush().await;
        (received, end)
    }

    thread_local! {
        /// What the last `Faulty` dropped had been written (the tokio
        /// WebSocket owns its stream and drops it with itself).
        static WRITTEN: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    impl Drop for Faulty {
        fn drop(&mut self) {
            WRITTEN.with(|w| *w.borrow_mut() = std::mem::take(&mut self.output));
        }
    }

    fn run(stream: Faulty) -> (Vec<Ev>, Result<(), Error>, Vec<u8>) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let (received, end) = rt.block_on(echo_async(stream));
        let output = WRITTEN.with(|w| w.take()); // the stream was dropped with the WebSocket
        (received, end, output)
    }

    fault_properties!(run, 200);
}
