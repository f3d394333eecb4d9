//! Prepared frames (broadcast): framed once, sent by many connections, and
//! decoded at each peer exactly as if every connection had encoded them.
#![cfg(feature = "alloc")]

mod support;

use proptest::prelude::*;
use support::{connection, encode, events, merged, Ev};
use wscore::prepared::{Fallback, Prepared, Wire};
use wscore::{CloseCode, CloseFrame, Config, Connection, DataKind, Error, Outgoing, Role};

/// One thing the server does.
#[derive(Debug, Clone)]
enum Op {
    /// Send prepared frame `i` of the pool.
    Prepared(usize),
    Text(String),
    Binary(Vec<u8>),
    /// A piece of a fragmented binary message of the server's own.
    Fragment(Vec<u8>, bool),
    Ping(Vec<u8>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..4usize).prop_map(Op::Prepared),
        1 => "[a-zé€]{0,40}".prop_map(Op::Text),
        1 => proptest::collection::vec(any::<u8>(), 0..300).prop_map(Op::Binary),
        // (Non-empty: an empty first piece is not an event.)
        1 => (proptest::collection::vec(any::<u8>(), 1..50), any::<bool>())
            .prop_map(|(p, fin)| Op::Fragment(p, fin)),
        1 => proptest::collection::vec(any::<u8>(), 0..20).prop_map(Op::Ping),
    ]
}

/// Prepared frames of every header length, text and binary.
fn pool() -> Vec<Prepared<bytes::Bytes>> {
    vec![
        Prepared::text("tick"),
        Prepared::text(&"héllo ".repeat(50)),
        Prepared::binary(&[0xab; 70_000]),
        Prepared::binary(b""),
    ]
}

/// Run `ops` on `server`: the bytes it sends and the messages the peer
/// should see (a prepared frame in the middle of a fragmented message is
/// refused, and not expected).
fn run(server: &mut Connection, ops: &[Op], pool: &[Prepared<bytes::Bytes>]) -> (Vec<u8>, Vec<Ev>) {
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    let mut open = false;
    for op in ops {
        match op {
            Op::Prepared(i) => {
                let p = &pool[*i];
                let mut out = vec![0u8; p.payload().len() + 64];
                match server.sender().send_prepared(p, &mut out) {
                    Ok(Wire::Frame(bytes)) => wire.extend_from_slice(bytes),
                    Ok(Wire::Encoded(n)) => wire.extend_from_slice(&out[..n]),
                    Err(e) => {
                        assert!(open, "refused outside a fragmented message: {e}");
                        assert_eq!(e, Error::MessageInProgress);
                        continue;
                    }
                }
                assert!(!open, "taken inside a fragmented message");
                expected.push(Ev::Data {
                    kind: p.kind(),
                    payload: p.payload().to_vec(),
                    fin: true,
                });
            }
            Op::Text(t) if !open => {
                wire.extend(encode(server, Outgoing::Text(t)).unwrap());
                expected.push(Ev::text(t));
            }
            Op::Binary(b) if !open => {
                wire.extend(encode(server, Outgoing::Binary(b)).unwrap());
                expected.push(Ev::binary(b));
            }
            Op::Text(_) | Op::Binary(_) => {}
            Op::Fragment(payload, fin) => {
                let frame = Outgoing::Fragment { kind: DataKind::Binary, payload, fin: *fin };
                wire.extend(encode(server, frame).unwrap());
                match expected.last_mut() {
                    Some(Ev::Data { payload: all, fin: f, .. }) if open => {
                        all.extend_from_slice(payload);
                        *f = *fin;
                    }
                    _ => expected.push(Ev::Data {
                        kind: DataKind::Binary,
                        payload: payload.clone(),
                        fin: *fin,
                    }),
                }
                open = !fin;
            }
            Op::Ping(p) => {
                wire.extend(encode(server, Outgoing::Ping(p)).unwrap());
                expected.push(Ev::Ping(p.clone()));
            }
        }
    }
    (wire, expected)
}

/// The peer's events, with a message left open at the end counted as is.
fn received(client: &mut Connection, wire: &[u8]) -> Vec<Ev> {
    merged(events(client, wire))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Any mix of prepared frames and ordinary sends decodes at the peer
    /// exactly as the sends were made; the same prepared bytes serve every
    /// connection.
    #[test]
    fn prepared_and_ordinary_sends_mix(ops in proptest::collection::vec(op(), 0..30)) {
        let pool = pool();
        let mut server = connection(Role::Server, Config::default());
        let (wire, expected) = run(&mut server, &ops, &pool);
        let mut client = connection(Role::Client, Config::default());
        prop_assert_eq!(received(&mut client, &wire), expected);
    }
}

#[test]
fn every_connection_sends_the_same_shared_bytes() {
    let p = Prepared::text("to all");
    let frames: Vec<*const u8> = (0..3)
        .map(|_| {
            let mut server = connection(Role::Server, Config::default());
            match server.sender().send_prepared(&p, &mut []).unwrap() {
                Wire::Frame(bytes) => bytes.as_ptr(),
                Wire::Encoded(_) => panic!("a plain connection compressed"),
            }
        })
        .collect();
    assert!(frames.iter().all(|&ptr| ptr == p.frame().as_ptr()), "no copy per connection");
}

#[test]
fn a_connection_refuses_what_it_may_not_send() {
    let p = Prepared::binary(b"x");
    let mut client = connection(Role::Client, Config::default());
    assert_eq!(client.sender().send_prepared(&p, &mut []), Err(Error::PreparedByClient));

    let mut handshaking = Connection::server(Config::default());
    assert_eq!(handshaking.sender().send_prepared(&p, &mut []), Err(Error::Handshaking));

    let mut closing = connection(Role::Server, Config::default());
    encode(&mut closing, Outgoing::Close(Some(CloseFrame::new(CloseCode::NORMAL)))).unwrap();
    assert_eq!(closing.sender().send_prepared(&p, &mut []), Err(Error::CloseSent));

    let mut streaming = connection(Role::Server, Config::default());
    streaming.sender().encode_header(DataKind::Binary, 10, true).unwrap();
    assert_eq!(
        streaming.sender().send_prepared(&p, &mut []),
        Err(Error::PayloadInProgress { remaining: 10 })
    );
}

#[cfg(feature = "deflate")]
mod deflate {
    use super::*;
    use wscore::deflate::DeflateParams;
    use wscore::prepared::Compressor;

    fn params(takeover: bool, bits: u8) -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: !takeover,
            server_max_window_bits: bits,
            ..DeflateParams::default()
        }
    }

    fn pair(params: DeflateParams) -> (Connection, Connection) {
        let mut client = connection(Role::Client, Config::default());
        let mut server = connection(Role::Server, Config::default());
        client.enable_deflate(params);
        server.enable_deflate(params);
        (client, server)
    }

    /// Text that compresses well and repeats across messages, so a
    /// compressor that keeps context refers back to earlier ones.
    fn news(i: usize) -> String {
        let bids = "[97000.5,1.25],[96999.0,3.5],".repeat(4);
        format!("{{\"symbol\":\"BTC-USD\",\"seq\":{i},\"bids\":[{bids}[0,0]]}}")
    }

    fn compressed_pool(bits: u8, fallback: Fallback) -> Vec<Prepared<bytes::Bytes>> {
        let mut z = Compressor::new(1, bits);
        (0..4)
            .map(|i| Prepared::text(&news(i)).compressed(&mut z).with_fallback(fallback))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

        /// Own compressed messages (with or without context takeover)
        /// and shared compressed ones, in any order, with any window the
        /// connection agreed and either fallback, inflate at the peer to
        /// what was sent.
        #[test]
        fn shared_and_own_compression_mix(
            ops in proptest::collection::vec(op(), 0..30),
            takeover in any::<bool>(),
            conn_bits in 9u8..=15,
            shared_bits in prop_oneof![Just(9u8), Just(15u8)],
            compress in any::<bool>(),
        ) {
            let fallback = if compress { Fallback::Compress } else { Fallback::Plain };
            let pool = compressed_pool(shared_bits, fallback);
            let (mut client, mut server) = pair(params(takeover, conn_bits));
            // Some repetitive text of the connection's own between shared ones.
            let ops: Vec<Op> = ops
                .into_iter()
                .enumerate()
                .map(|(i, op)| match op { Op::Text(_) => Op::Text(news(i)), other => other })
                .collect();
            let (wire, expected) = run(&mut server, &ops, &pool);
            prop_assert_eq!(received(&mut client, &wire), expected);
        }
    }

    #[test]
    fn a_connection_takes_the_compressed_copy_when_its_window_fits() {
        let mut z = Compressor::new(1, 12);
        let p = Prepared::text(&news(0)).compressed(&mut z);
        let shared = p.compressed_frame().unwrap();
        assert_eq!(shared[0], 0xc1, "FIN, RSV1, text");
        assert!(shared.len() < p.frame().len());

        for (bits, compressed) in [(15, true), (12, true), (11, false)] {
            let (_, mut server) = pair(params(true, bits));
            let wire = server.sender().send_prepared(&p, &mut []).unwrap();
            let expected = if compressed { shared } else { p.frame() };
            assert_eq!(wire, Wire::Frame(expected), "window {bits}");
        }
        // A connection without the extension takes the plain frame.
        let mut plain = connection(Role::Server, Config::default());
        assert_eq!(plain.sender().send_prepared(&p, &mut []).unwrap(), Wire::Frame(p.frame()));
    }

    #[test]
    fn the_compress_fallback_compresses_with_the_connections_own_compressor() {
        let p = Prepared::text(&news(0)).with_fallback(Fallback::Compress);
        let (mut client, mut server) = pair(params(true, 15));
        let mut out = vec![0u8; 256];
        let Wire::Encoded(n) = server.sender().send_prepared(&p, &mut out).unwrap() else {
            panic!("no compressed copy: the connection compresses");
        };
        assert_eq!(out[0], 0xc1);
        assert_eq!(received(&mut client, &out[..n]), vec![Ev::text(&news(0))]);
        // Too little room changes nothing.
        assert!(matches!(
            server.sender().send_prepared(&p, &mut [0u8; 4]),
            Err(Error::BufferTooSmall { .. })
        ));
    }
}
