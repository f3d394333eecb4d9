//! A wscore client and a wscore server, each an [`Endpoint`] with 256 bytes
//! of input and 512 of output, talking over a [`Link`] whose directions hold
//! 256 bytes each, on one stack, in one thread:
//!
//! 1. the opening handshake: the client's request, [`Event::Request`] on the
//!    server, `accept` with the subprotocol `demo.v1`, [`Event::Response`]
//!    on the client;
//! 2. a text message and a binary message, echoed back by the server;
//! 3. a text message sent in three fragments, one of which splits a UTF-8
//!    code point, echoed back;
//! 4. a Ping, answered by the server's automatic Pong;
//! 5. a 3000-byte binary frame, larger than every buffer on the way:
//!    generated piece by piece straight into the client's output buffer,
//!    echoed back piece by piece as a fragmented message, and checked byte
//!    by byte as it returns;
//! 6. the closing handshake: the client's Close (1000, "bye"), the server's
//!    reply, the server closing the transport first, the client's end of file.
//!
//! Every outcome is checked; the first surprise is the [`Error`].

use heapless::Vec;
use wscore::frame::MAX_HEADER_LEN;
use wscore::handshake::{AcceptOptions, ClientRequest};
use wscore::{CloseCode, CloseFrame, Config, DataKind, Event, Instant, Outgoing, State};

use crate::pipe::Link;
use crate::{Endpoint, Error, Tx};

/// Each endpoint's input buffer: bounds the handshake head and data pieces.
pub const IN: usize = 256;
/// Each endpoint's output buffer: bounds a frame sent whole.
pub const OUT: usize = 512;
/// Each direction of the link, as a TCP stack's socket buffers would.
pub const PIPE: usize = 256;
/// The streamed binary frame.
pub const LARGE_LEN: usize = 3000;

/// Limits for a device with little memory. Messages are not buffered whole
/// (they come in pieces), so their limit is a policy, not a buffer size.
pub const CONFIG: Config = Config {
    max_frame_payload: 16 * 1024,
    max_message_size: 16 * 1024,
    // A head longer than the input buffer could never be parsed: have
    // wscore refuse it (431) rather than wait for it forever.
    max_handshake_head: IN,
    max_handshake_headers: 16,
    ..Config::DEFAULT
};

const HOST: &str = "device.local";
const PATH: &str = "/demo";
const SUBPROTOCOL: &str = "demo.v1";
const TEXT: &str = "hello from the client";
const BINARY: &[u8] = &[0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x00, 0x42];
/// "Grüße, Welt" in three pieces: the first ends inside the "ü".
const FRAGMENTED: &str = "Grüße, Welt";
const PIECES: [&[u8]; 3] = [b"Gr\xc3", b"\xbc\xc3\x9fe, ", b"Welt"];
const PING: &[u8] = b"are you there?";
const CLOSE_REASON: &str = "bye";
/// Ticks (milliseconds of the demo's clock) before the demo gives up.
const MAX_TICKS: u64 = 60_000;

/// The byte at `offset` of the streamed payload.
fn pattern(offset: usize) -> u8 {
    (offset % 251) as u8 ^ 0x5a
}

/// What a successful run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Report {
    /// Ticks of the demo's clock (one per round of both pumps).
    pub ticks: u64,
    /// Data messages the client sent and got back intact.
    pub messages: u32,
    /// Payload bytes the server echoed.
    pub echoed: u32,
    /// Pongs the client received.
    pub pongs: u32,
}

/// Run the demo over a link of [`PIPE`] bytes each way. `seed`: 32 bytes
/// for the client's mask keys and handshake nonce (from the hardware RNG on
/// a real device).
///
/// # Errors
///
/// The first thing that went wrong.
pub fn run(seed: [u8; 32]) -> Result<Report, Error> {
    run_over::<PIPE>(seed)
}

/// [`run`] over a link of `P` bytes each way.
///
/// # Errors
///
/// The first thing that went wrong.
pub fn run_over<const P: usize>(seed: [u8; 32]) -> Result<Report, Error> {
    let mut link: Link<P> = Link::new();
    let request = ClientRequest { subprotocols: &[SUBPROTOCOL], ..ClientRequest::new(HOST, PATH) };
    let mut client: Endpoint<IN, OUT> = Endpoint::client(CONFIG, seed, &request)?;
    let mut server: Endpoint<IN, OUT> = Endpoint::server(CONFIG);
    let mut script = Script::default();
    let mut echo = Echo::default();
    for tick in 0..MAX_TICKS {
        let now = Instant(tick);
        script.act(&mut client)?;
        // The client only checks what it receives: it needs no output room
        // to handle an event. The server echoes each piece it gets.
        client.pump(&mut link.client(), now, 0, &mut |event, tx| script.on_event(event, tx))?;
        server.pump(&mut link.server(), now, IN + MAX_HEADER_LEN, &mut |event, tx| {
            echo.on_event(event, tx)
        })?;
        // RFC 6455: the server closes the TCP connection first.
        if server.close_expected() && !link.server().is_closed() {
            link.server().close();
        }
        if client.close_expected() {
            link.client().close();
            script.report.ticks = tick + 1;
            return finish(&script, &echo, &client, &server);
        }
    }
    Err(Error::Stalled)
}

/// The checks once the client may close the transport.
fn finish(
    script: &Script,
    echo: &Echo,
    client: &Endpoint<IN, OUT>,
    server: &Endpoint<IN, OUT>,
) -> Result<Report, Error> {
    let normal = State::Closed(CloseCode::NORMAL);
    if script.step != Step::Eof {
        return Err(Error::Unexpected("client closed before the script ended"));
    }
    if client.connection().state() != normal || server.connection().state() != normal {
        return Err(Error::Unexpected("connection not closed with 1000"));
    }
    if echo.close != Some(CloseCode::NORMAL) || echo.pings != 1 || !echo.accepted {
        return Err(Error::Unexpected("server saw something else"));
    }
    let sent = TEXT.len() + BINARY.len() + FRAGMENTED.len() + LARGE_LEN;
    if echo.echoed as usize != sent || script.report.messages != 4 || script.report.pongs != 1 {
        return Err(Error::Unexpected("wrong counts"));
    }
    Ok(Report { echoed: echo.echoed, ..script.report })
}

/// Where the client's script is: each step sends, then waits for its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Step {
    #[default]
    Handshake,
    Text,
    Binary,
    Fragmented,
    Ping,
    Large,
    Close,
    /// Waiting for the server to close the transport.
    Eof,
}

impl Step {
    fn next(self) -> Step {
        match self {
            Step::Handshake => Step::Text,
            Step::Text => Step::Binary,
            Step::Binary => Step::Fragmented,
            Step::Fragmented => Step::Ping,
            Step::Ping => Step::Large,
            Step::Large => Step::Close,
            Step::Close | Step::Eof => Step::Eof,
        }
    }
}

/// The client's side of the demo.
#[derive(Default)]
struct Script {
    step: Step,
    /// The current step's frames were sent (its stream started).
    sent: bool,
    /// The echo of the current message so far.
    echo: Vec<u8, 64>,
    echo_kind: Option<DataKind>,
    echo_len: usize,
    /// Bytes of the streamed payload written.
    streamed: usize,
    report: Report,
}

impl Script {
    /// Send what the current step sends, once.
    fn act(&mut self, client: &mut Endpoint<IN, OUT>) -> Result<(), Error> {
        if self.step == Step::Large {
            return self.stream(client);
        }
        if self.sent || matches!(self.step, Step::Handshake | Step::Eof) {
            return Ok(());
        }
        let mut tx = client.tx();
        match self.step {
            Step::Text => tx.send(Outgoing::Text(TEXT))?,
            Step::Binary => tx.send(Outgoing::Binary(BINARY))?,
            Step::Fragmented => {
                for (i, piece) in PIECES.iter().enumerate() {
                    let fin = i == PIECES.len() - 1;
                    tx.send(Outgoing::Fragment { kind: DataKind::Text, payload: piece, fin })?;
                }
            }
            Step::Ping => tx.send(Outgoing::Ping(PING))?,
            Step::Close => {
                let close = CloseFrame { code: CloseCode::NORMAL, reason: CLOSE_REASON };
                tx.send(Outgoing::Close(Some(close)))?;
                if tx.state() != State::Closing {
                    return Err(Error::Unexpected("not closing after sending Close"));
                }
            }
            Step::Handshake | Step::Large | Step::Eof => {}
        }
        self.sent = true;
        Ok(())
    }

    /// Write as much of the large frame as the output buffer takes.
    fn stream(&mut self, client: &mut Endpoint<IN, OUT>) -> Result<(), Error> {
        if !self.sent {
            client.start_stream(DataKind::Binary, LARGE_LEN as u64, true)?;
            self.sent = true;
        }
        while self.streamed < LARGE_LEN {
            let offset = self.streamed;
            let n = client.stream_with(|piece| {
                for (i, byte) in piece.iter_mut().enumerate() {
                    *byte = pattern(offset + i);
                }
            });
            if n == 0 {
                break; // the output buffer is full: pump first
            }
            self.streamed += n;
        }
        if self.streamed == LARGE_LEN && client.is_streaming() {
            return Err(Error::Unexpected("stream not finished"));
        }
        Ok(())
    }

    fn advance(&mut self) {
        self.step = self.step.next();
        self.sent = false;
    }

    fn on_event(&mut self, event: Event<'_, '_>, _tx: &mut Tx<'_>) -> Result<(), Error> {
        match (self.step, event) {
            (Step::Handshake, Event::Response(response)) => {
                if response.subprotocol() != Some(SUBPROTOCOL) {
                    return Err(Error::Unexpected("subprotocol not chosen"));
                }
                self.advance();
            }
            (
                Step::Text | Step::Binary | Step::Fragmented | Step::Large,
                Event::Data { kind, payload, fin },
            ) => {
                self.on_data(kind, payload, fin)?;
            }
            (Step::Ping, Event::Pong(payload)) => {
                if payload != PING {
                    return Err(Error::Unexpected("Pong payload differs from the Ping's"));
                }
                self.report.pongs += 1;
                self.advance();
            }
            (Step::Close, Event::Close(Some(CloseFrame { code, .. }))) => {
                if code != CloseCode::NORMAL {
                    return Err(Error::Unexpected("server closed with another code"));
                }
                self.advance();
            }
            _ => return Err(Error::Unexpected("event out of turn")),
        }
        Ok(())
    }

    /// A piece of the echo of the current message.
    fn on_data(&mut self, kind: DataKind, payload: &[u8], fin: bool) -> Result<(), Error> {
        let (expected_kind, expected) = match self.step {
            Step::Text => (DataKind::Text, TEXT.as_bytes()),
            Step::Binary => (DataKind::Binary, BINARY),
            Step::Fragmented => (DataKind::Text, FRAGMENTED.as_bytes()),
            _ => (DataKind::Binary, &[][..]), // Step::Large: checked against the pattern
        };
        if kind != expected_kind || *self.echo_kind.get_or_insert(kind) != kind {
            return Err(Error::Unexpected("echo of the wrong kind"));
        }
        if self.step == Step::Large {
            let offset = self.echo_len;
            if payload.iter().enumerate().any(|(i, &byte)| byte != pattern(offset + i)) {
                return Err(Error::Unexpected("streamed echo corrupted"));
            }
        } else if self.echo.extend_from_slice(payload).is_err() {
            return Err(Error::Unexpected("echo longer than the message"));
        }
        self.echo_len += payload.len();
        if fin {
            let whole = if self.step == Step::Large {
                self.echo_len == LARGE_LEN
            } else {
                self.echo == expected
            };
            if !whole {
                return Err(Error::Unexpected("echo differs from the message"));
            }
            self.report.messages += 1;
            self.echo.clear();
            self.echo_kind = None;
            self.echo_len = 0;
            self.advance();
        }
        Ok(())
    }
}

/// The server's side: accept `demo.v1` on `/demo`, echo every data piece.
#[derive(Default)]
struct Echo {
    accepted: bool,
    echoed: u32,
    pings: u32,
    close: Option<CloseCode>,
}

impl Echo {
    fn on_event(&mut self, event: Event<'_, '_>, tx: &mut Tx<'_>) -> Result<(), Error> {
        match event {
            Event::Request(request) => {
                if request.path() != PATH || request.host() != HOST {
                    tx.reject(404)?;
                    return Err(Error::Unexpected("request for another resource"));
                }
                let Some(chosen) = request.subprotocols().find(|p| *p == SUBPROTOCOL) else {
                    tx.reject(400)?;
                    return Err(Error::Unexpected("subprotocol not offered"));
                };
                let options =
                    AcceptOptions { subprotocol: Some(chosen), ..AcceptOptions::default() };
                tx.accept(&request, &options)?;
                self.accepted = true;
            }
            // Zero copy in, one copy out: each piece goes back as a fragment.
            Event::Data { kind, payload, fin } => {
                tx.send(Outgoing::Fragment { kind, payload, fin })?;
                self.echoed += payload.len() as u32;
            }
            Event::Ping(_) => self.pings += 1, // the Pong is automatic
            Event::Close(frame) => self.close = frame.map(|f| f.code), // so is the reply
            Event::Pong(_) | Event::Response(_) => return Err(Error::Unexpected("server event")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::Link;
    use embedded_io::Write;

    const SEED: [u8; 32] = *b"not a seed; use the hardware RNG";

    #[test]
    fn the_demo_succeeds() {
        let report = run(SEED).expect("demo");
        assert_eq!(report.messages, 4);
        assert_eq!(report.pongs, 1);
        assert_eq!(
            report.echoed as usize,
            TEXT.len() + BINARY.len() + FRAGMENTED.len() + LARGE_LEN
        );
        std::println!("{report:?}");
    }

    #[test]
    fn any_seed_and_any_transport_chunking_give_the_same_outcome() {
        let expected = run(SEED).expect("demo");
        for seed in 0..8u8 {
            let report = run([seed; 32]).expect("demo");
            assert_eq!(report, expected, "seed {seed}");
        }
        // Links of 1, 3 and 14 bytes split every frame and head everywhere.
        for report in
            [run_over::<1>(SEED), run_over::<3>(SEED), run_over::<14>(SEED), run_over::<4096>(SEED)]
        {
            let report = report.expect("demo");
            assert_eq!((report.messages, report.pongs, report.echoed), (4, 1, expected.echoed));
        }
    }

    #[test]
    fn the_fragments_make_the_message() {
        let joined: std::vec::Vec<u8> = PIECES.concat();
        assert_eq!(joined, FRAGMENTED.as_bytes());
        assert!(core::str::from_utf8(PIECES[0]).is_err()); // it does split a code point
    }

    #[test]
    fn a_refused_handshake_fails_the_client() {
        let mut link: Link<PIPE> = Link::new();
        let request = ClientRequest::new(HOST, "/elsewhere");
        let mut client: Endpoint<IN, OUT> = Endpoint::client(CONFIG, SEED, &request).unwrap();
        let mut server: Endpoint<IN, OUT> = Endpoint::server(CONFIG);
        let mut echo = Echo::default();
        let mut script = Script::default();
        client
            .pump(&mut link.client(), Instant(0), 0, &mut |e, tx| script.on_event(e, tx))
            .unwrap();
        let refused =
            server.pump(&mut link.server(), Instant(0), 0, &mut |e, tx| echo.on_event(e, tx));
        assert_eq!(refused, Err(Error::Unexpected("request for another resource")));
        let failed =
            client.pump(&mut link.client(), Instant(1), 0, &mut |e, tx| script.on_event(e, tx));
        assert!(matches!(failed, Err(Error::Ws(wscore::Error::Handshake(_)))), "{failed:?}");
        assert!(client.close_expected() && server.close_expected());
    }

    #[test]
    fn a_protocol_violation_sends_its_close_before_failing() {
        let mut link: Link<PIPE> = Link::new();
        let request =
            ClientRequest { subprotocols: &[SUBPROTOCOL], ..ClientRequest::new(HOST, PATH) };
        let mut client: Endpoint<IN, OUT> = Endpoint::client(CONFIG, SEED, &request).unwrap();
        let mut server: Endpoint<IN, OUT> = Endpoint::server(CONFIG);
        let mut echo = Echo::default();
        let mut script = Script::default();
        client
            .pump(&mut link.client(), Instant(0), 0, &mut |e, tx| script.on_event(e, tx))
            .unwrap();
        server.pump(&mut link.server(), Instant(0), 0, &mut |e, tx| echo.on_event(e, tx)).unwrap();
        client
            .pump(&mut link.client(), Instant(1), 0, &mut |e, tx| script.on_event(e, tx))
            .unwrap();
        assert_eq!(client.connection().state(), State::Open);
        // An unmasked text frame from the "client": servers must refuse it.
        link.client().write_all(b"\x81\x02hi").unwrap();
        let failed =
            server.pump(&mut link.server(), Instant(2), 0, &mut |e, tx| echo.on_event(e, tx));
        assert!(matches!(failed, Err(Error::Ws(wscore::Error::Protocol(_)))), "{failed:?}");
        assert!(server.close_expected()); // the Close 1002 went out
        let mut seen = None;
        let _ = client.pump(&mut link.client(), Instant(3), 0, &mut |e, _| {
            if let Event::Close(Some(frame)) = e {
                seen = Some(frame.code);
            }
            Ok(())
        });
        assert_eq!(seen, Some(CloseCode::PROTOCOL_ERROR));
    }

    #[test]
    fn a_head_longer_than_the_input_buffer_is_refused_with_431() {
        let mut link: Link<PIPE> = Link::new();
        let long = "x".repeat(200);
        let headers = [("Authorization", long.as_str())];
        let request = ClientRequest { extra_headers: &headers, ..ClientRequest::new(HOST, PATH) };
        let mut client: Endpoint<IN, OUT> = Endpoint::client(CONFIG, SEED, &request).unwrap();
        let mut server: Endpoint<IN, OUT> = Endpoint::server(CONFIG);
        let mut script = Script::default();
        let mut echo = Echo::default();
        client
            .pump(&mut link.client(), Instant(0), 0, &mut |e, tx| script.on_event(e, tx))
            .unwrap();
        let refused =
            server.pump(&mut link.server(), Instant(0), 0, &mut |e, tx| echo.on_event(e, tx));
        assert!(
            matches!(
                refused,
                Err(Error::Ws(wscore::Error::Handshake(
                    wscore::handshake::HandshakeError::HeadTooLarge { .. }
                )))
            ),
            "{refused:?}"
        );
        assert!(server.close_expected()); // the 431 went out
        let failed =
            client.pump(&mut link.client(), Instant(1), 0, &mut |e, tx| script.on_event(e, tx));
        assert!(matches!(failed, Err(Error::Ws(wscore::Error::Handshake(_)))), "{failed:?}");
    }

    #[test]
    fn a_dropped_transport_is_an_abnormal_closure() {
        let mut link: Link<PIPE> = Link::new();
        let request =
            ClientRequest { subprotocols: &[SUBPROTOCOL], ..ClientRequest::new(HOST, PATH) };
        let mut client: Endpoint<IN, OUT> = Endpoint::client(CONFIG, SEED, &request).unwrap();
        let mut server: Endpoint<IN, OUT> = Endpoint::server(CONFIG);
        let mut script = Script::default();
        let mut echo = Echo::default();
        client
            .pump(&mut link.client(), Instant(0), 0, &mut |e, tx| script.on_event(e, tx))
            .unwrap();
        server.pump(&mut link.server(), Instant(0), 0, &mut |e, tx| echo.on_event(e, tx)).unwrap();
        // Half a frame, then the server's end goes away.
        link.server().write_all(b"\x81\x05he").unwrap();
        link.server().close();
        let mut pieces = 0;
        let mut pump = |now| {
            client.pump(&mut link.client(), Instant(now), 0, &mut |e, _| {
                pieces += usize::from(matches!(e, Event::Data { .. }));
                Ok(())
            })
        };
        assert_eq!(pump(1), Ok(())); // the 101, then the piece "he"
        assert_eq!(pump(2), Err(Error::Ws(wscore::Error::UnexpectedEof)));
        assert_eq!(pieces, 1);
        assert_eq!(client.connection().state(), State::Closed(CloseCode::ABNORMAL));
        assert!(client.close_expected());
    }
}
