//! permessage-deflate (RFC 7692): negotiation through the connection, the
//! RFC's byte examples, the frame rules, the bounds and streaming.
#![cfg(feature = "deflate")]

mod support;

use proptest::prelude::*;
use support::{connection, encode, events, events_chunked, merged, raw_frame, Ev, Feeder};
use wscore::deflate::{DeflateConfig, DeflateParams, NegotiationError};
use wscore::handshake::{AcceptOptions, ClientRequest, HandshakeError};
use wscore::{
    CloseCode, Config, Connection, DataKind, Error, Event, Instant, Outgoing, ProtocolError, Role,
};

fn with_deflate(deflate: DeflateConfig) -> Config {
    Config { deflate: Some(deflate), ..Config::default() }
}

/// A client and a server that ran the opening handshake in memory.
fn handshake(client: Config, server: Config) -> (Connection, Connection) {
    let mut out = [0u8; 1024];
    let request = ClientRequest::new("example.com", "/");
    let (mut client, n) =
        Connection::client_with_seed(client, [7; 32], &request, &mut out).unwrap();
    let mut server_conn = Connection::server(server);
    let mut input = out[..n].to_vec();
    let decoded = server_conn.read(&mut input, Instant(0)).unwrap();
    let Some(Event::Request(req)) = decoded.event else { panic!("no request") };
    let n = server_conn.accept(&req, &AcceptOptions::default(), &mut out).unwrap();
    let mut input = out[..n].to_vec();
    let decoded = client.read(&mut input, Instant(0)).unwrap();
    assert!(matches!(decoded.event, Some(Event::Response(_))));
    (client, server_conn)
}

/// Open connections with permessage-deflate on, without a handshake.
fn open_pair(params: DeflateParams) -> (Connection, Connection) {
    let mut client = connection(Role::Client, Config::default());
    let mut server = connection(Role::Server, Config::default());
    client.enable_deflate(params);
    server.enable_deflate(params);
    (client, server)
}

/// Send `messages` from `from` to `to`, returning what `to` received,
/// each message whole, and the bytes on the wire.
fn send_all(
    from: &mut Connection,
    to: &mut Connection,
    messages: &[Outgoing<'_>],
) -> (Vec<Ev>, usize) {
    let mut wire = Vec::new();
    for m in messages {
        wire.extend(encode(from, *m).unwrap());
    }
    (merged(events(to, &wire)), wire.len())
}

#[test]
fn both_sides_agree_in_the_handshake() {
    let (client, server) = handshake(
        with_deflate(DeflateConfig::default()),
        with_deflate(DeflateConfig { peer_max_window_bits: 10, ..DeflateConfig::default() }),
    );
    let params = client.deflate().expect("negotiated");
    assert_eq!(server.deflate(), Some(params));
    assert_eq!(params.client_max_window_bits, 10);
    assert_eq!(params.server_max_window_bits, 15);
}

#[test]
fn nothing_is_negotiated_unless_both_want_it() {
    let (client, server) = handshake(with_deflate(DeflateConfig::default()), Config::default());
    assert_eq!((client.deflate(), server.deflate()), (None, None));
    let (client, server) = handshake(Config::default(), with_deflate(DeflateConfig::default()));
    assert_eq!((client.deflate(), server.deflate()), (None, None));
}

#[test]
fn messages_round_trip_compressed_both_ways() {
    let text = "{\"type\":\"ticker\",\"product_id\":\"BTC-USD\",\"price\":\"97000.51\"}".repeat(20);
    let binary: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    for (nct, bits) in [(false, 15), (true, 15), (false, 9), (true, 8)] {
        let deflate = DeflateConfig {
            no_context_takeover: nct,
            max_window_bits: bits,
            peer_max_window_bits: bits,
            ..DeflateConfig::default()
        };
        let (mut client, mut server) = handshake(with_deflate(deflate), with_deflate(deflate));
        let messages = [
            Outgoing::Text(&text),
            Outgoing::Text(&text),
            Outgoing::Binary(&binary),
            Outgoing::Text(""),
            Outgoing::Text("short"),
            Outgoing::Binary(&binary[..40]),
        ];
        let expected = vec![
            Ev::text(&text),
            Ev::text(&text),
            Ev::binary(&binary),
            Ev::text(""),
            Ev::text("short"),
            Ev::binary(&binary[..40]),
        ];
        let (got, wire) = send_all(&mut client, &mut server, &messages);
        assert_eq!(got, expected, "client to server, nct {nct} bits {bits}");
        if bits == 15 {
            assert!(wire < (2 * text.len() + binary.len()) / 20, "compressed: {wire} bytes");
        }
        let (got, _) = send_all(&mut server, &mut client, &messages);
        assert_eq!(got, expected, "server to client, nct {nct} bits {bits}");
    }
}

#[test]
fn rsv1_marks_compressed_messages_only() {
    let (mut client, _) = open_pair(DeflateParams::default());
    let min_32 = DeflateConfig { min_size: 32, ..DeflateConfig::default() };
    let mut server = connection(Role::Server, with_deflate(min_32));
    server.enable_deflate(DeflateParams::default());
    // From `min_size` up: compressed, RSV1 set; under it: plain.
    let long = encode(&mut server, Outgoing::Text(&"a".repeat(100))).unwrap();
    assert_eq!(long[0], 0xc1);
    let short = encode(&mut server, Outgoing::Text("hi")).unwrap();
    assert_eq!(short, [0x81, 0x02, b'h', b'i']);
    // Control frames never.
    let ping = encode(&mut server, Outgoing::Ping(&[b'p'; 100])).unwrap();
    assert_eq!(ping[0], 0x89);
    // Fragments: RSV1 on the first frame only.
    let piece = vec![b'x'; 64];
    let first = encode(
        &mut server,
        Outgoing::Fragment { kind: DataKind::Binary, payload: &piece, fin: false },
    )
    .unwrap();
    let last = encode(
        &mut server,
        Outgoing::Fragment { kind: DataKind::Binary, payload: &piece, fin: true },
    )
    .unwrap();
    assert_eq!((first[0], last[0]), (0x42, 0x80));
    let mut wire = first;
    wire.extend(last);
    assert_eq!(merged(events(&mut client, &wire)), [Ev::binary(&[b'x'; 128])]);
}

#[test]
fn level_zero_never_compresses_but_reads_compressed() {
    let quiet = DeflateConfig { level: 0, ..DeflateConfig::default() };
    let (mut client, mut server) =
        handshake(with_deflate(quiet), with_deflate(DeflateConfig::default()));
    let text = "abc".repeat(100);
    let frame = encode(&mut client, Outgoing::Text(&text)).unwrap();
    assert_eq!(frame[0], 0x81, "sent plain");
    assert_eq!(events(&mut server, &frame), [Ev::text(&text)]);
    let frame = encode(&mut server, Outgoing::Text(&text)).unwrap();
    assert_eq!(frame[0], 0xc1, "the peer still compresses");
    assert_eq!(merged(events(&mut client, &frame)), [Ev::text(&text)]);
}

// ---- RFC 7692 section 7.2.3: the byte examples, read by a client -------

fn rfc_client() -> Connection {
    let mut client = connection(Role::Client, Config::default());
    client.enable_deflate(DeflateParams::default());
    client
}

#[test]
fn rfc_7692_hello_compressed() {
    // 7.2.3.1: "Hello" in one compressed frame.
    let frame = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(merged(events(&mut rfc_client(), &frame)), [Ev::text("Hello")]);
    // The same, fragmented: RSV1 on the first frame only.
    let frames = [0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(merged(events(&mut rfc_client(), &frames)), [Ev::text("Hello")]);
}

#[test]
fn rfc_7692_sharing_the_window() {
    // 7.2.3.2: the second "Hello" refers back to the first.
    let mut client = rfc_client();
    let stream = [
        0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00,
        0x00,
    ];
    assert_eq!(merged(events(&mut client, &stream)), [Ev::text("Hello"), Ev::text("Hello")]);
    // And our compressor does the same with context takeover.
    let mut server = connection(Role::Server, Config::default());
    server.enable_deflate(DeflateParams::default());
    let first = encode(&mut server, Outgoing::Text(&"Hello".repeat(8))).unwrap();
    let second = encode(&mut server, Outgoing::Text(&"Hello".repeat(8))).unwrap();
    assert!(second.len() < first.len(), "{second:?} vs {first:?}");
}

#[test]
fn rfc_7692_uncompressed_block_final_block_and_two_blocks() {
    // 7.2.3.3: a stored (uncompressed) DEFLATE block.
    let stored = [0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00];
    // 7.2.3.4: a block with BFINAL set.
    let final_block = [0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    // 7.2.3.5: two DEFLATE blocks in one message.
    let two_blocks =
        [0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00];
    for frame in [&stored[..], &final_block, &two_blocks] {
        assert_eq!(merged(events(&mut rfc_client(), frame)), [Ev::text("Hello")], "{frame:x?}");
    }
    // One after the other on one connection: the final block ends a stream
    // and the next message starts a new one.
    let mut client = rfc_client();
    let stream = [&final_block[..], &stored, &final_block, &two_blocks].concat();
    assert_eq!(merged(events(&mut client, &stream)), vec![Ev::text("Hello"); 4]);
}

// ---- frame rules -------------------------------------------------------

fn protocol_error(events: &[Ev]) -> Option<ProtocolError> {
    match events.last() {
        Some(Ev::Err(Error::Protocol(e))) => Some(*e),
        _ => None,
    }
}

#[test]
fn rsv1_where_it_does_not_belong_fails_with_1002() {
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    // Without the extension.
    let mut plain = connection(Role::Client, Config::default());
    let got = events(&mut plain, &raw_frame(0xc1, &hello, None));
    assert_eq!(protocol_error(&got), Some(ProtocolError::ReservedBits(0b100)));
    // On a continuation frame.
    let stream = [raw_frame(0x41, &hello[..3], None), raw_frame(0xc0, &hello[3..], None)].concat();
    let got = events(&mut rfc_client(), &stream);
    assert_eq!(protocol_error(&got), Some(ProtocolError::MisplacedCompressedBit));
    // On control frames.
    for first in [0xc9, 0xca, 0xc8] {
        let got = events(&mut rfc_client(), &raw_frame(first, b"", None));
        assert_eq!(protocol_error(&got), Some(ProtocolError::MisplacedCompressedBit), "{first:x}");
    }
    // RSV2 and RSV3 stay reserved.
    for first in [0xa1, 0x91, 0xe1] {
        let got = events(&mut rfc_client(), &raw_frame(first, &hello, None));
        assert!(matches!(protocol_error(&got), Some(ProtocolError::ReservedBits(_))), "{first:x}");
    }
    let mut client = rfc_client();
    let _ = events(&mut client, &raw_frame(0xc9, b"", None));
    assert_eq!(client.state(), wscore::State::Closed(CloseCode::PROTOCOL_ERROR));
}

#[test]
fn corrupt_compressed_data_fails_with_1007() {
    let mut client = rfc_client();
    let got = events(&mut client, &raw_frame(0xc2, &[0xff, 0xff, 0xff, 0xff], None));
    assert_eq!(protocol_error(&got), Some(ProtocolError::InvalidCompressedData));
    assert_eq!(client.state(), wscore::State::Closed(CloseCode::INVALID_PAYLOAD));
}

/// `data` compressed as a peer would send it (tail stripped), by zlib.
fn zlib_compressed(data: &[u8]) -> Vec<u8> {
    let mut zlib = zlib_rs::Deflate::new(9, false, 15);
    let mut out = vec![0; data.len() + 1024];
    zlib.compress(data, &mut out, zlib_rs::DeflateFlush::SyncFlush).unwrap();
    out.truncate(zlib.total_out() as usize - 4);
    out
}

#[test]
fn a_decompression_bomb_fails_with_1009_while_inflating() {
    // 1 MiB of zeros compresses to about a kilobyte.
    let bomb = zlib_compressed(&vec![0; 1 << 20]);
    assert!(bomb.len() < 2048, "{}", bomb.len());
    let limit = 64 << 10;
    let mut client =
        connection(Role::Client, Config { max_message_size: limit, ..Config::default() });
    client.enable_deflate(DeflateParams::default());
    let got = events(&mut client, &raw_frame(0xc2, &bomb, None));
    assert_eq!(protocol_error(&got), Some(ProtocolError::MessageTooLarge { max: limit }));
    assert_eq!(client.state(), wscore::State::Closed(CloseCode::MESSAGE_TOO_BIG));
    // It failed within one inflate buffer past the limit, handing out at
    // most a buffer at a time: the whole output was never held.
    let pieces: Vec<usize> = got
        .iter()
        .filter_map(|e| match e {
            Ev::Data { payload, .. } => Some(payload.len()),
            _ => None,
        })
        .collect();
    assert!(pieces.iter().all(|&n| n <= DeflateConfig::DEFAULT.inflate_buffer), "{pieces:?}");
    assert!(pieces.iter().sum::<usize>() <= limit as usize, "{pieces:?}");
}

#[test]
fn the_size_limit_counts_the_last_piece_too() {
    // 30 KiB inflated in two steps of the 16 KiB buffer, over a 20 KiB
    // limit that only the second, final, step crosses.
    let limit = 20 << 10;
    let frame = raw_frame(0xc2, &zlib_compressed(&vec![0; 30 << 10]), None);
    let mut client =
        connection(Role::Client, Config { max_message_size: limit, ..Config::default() });
    client.enable_deflate(DeflateParams::default());
    let got = events(&mut client, &frame);
    assert_eq!(protocol_error(&got), Some(ProtocolError::MessageTooLarge { max: limit }));
    // At the limit exactly, it passes.
    let frame = raw_frame(0xc2, &zlib_compressed(&vec![0; 20 << 10]), None);
    let mut client =
        connection(Role::Client, Config { max_message_size: limit, ..Config::default() });
    client.enable_deflate(DeflateParams::default());
    assert_eq!(merged(events(&mut client, &frame)), [Ev::binary(&vec![0; 20 << 10])]);
}

#[test]
fn a_character_cut_by_the_size_limit_is_1009_not_1007() {
    let text = format!("{}€", "a".repeat(999)); // 1002 bytes, cut at 1000
    let frame = raw_frame(0xc1, &zlib_compressed(text.as_bytes()), None);
    let mut client =
        connection(Role::Client, Config { max_message_size: 1000, ..Config::default() });
    client.enable_deflate(DeflateParams::default());
    let got = events(&mut client, &frame);
    assert_eq!(protocol_error(&got), Some(ProtocolError::MessageTooLarge { max: 1000 }));
}

#[test]
fn an_empty_compressed_payload_is_an_empty_message() {
    // RSV1 with no payload at all: nothing to inflate, and the stream
    // stays usable for the next message.
    let hello = raw_frame(0xc1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], None);
    let stream =
        [raw_frame(0xc1, b"", None), hello.clone(), raw_frame(0xc2, b"", None), hello].concat();
    let got = merged(events(&mut rfc_client(), &stream));
    assert_eq!(got, [Ev::text(""), Ev::text("Hello"), Ev::binary(b""), Ev::text("Hello")]);
}

#[test]
fn streamed_frames_never_mix_with_compressed_ones() {
    let (mut client, mut server) = open_pair(DeflateParams::default());
    let piece = vec![b'z'; 64];
    let fragment = |fin| Outgoing::Fragment { kind: DataKind::Binary, payload: &piece, fin };
    // A compressed first fragment cannot be continued by `encode_header`.
    let mut wire = encode(&mut client, fragment(false)).unwrap();
    assert_eq!(
        client.sender().encode_header(DataKind::Binary, 64, true),
        Err(Error::CompressedMessageOpen)
    );
    wire.extend(encode(&mut client, fragment(true)).unwrap());
    // A streamed message after it is plain, all its frames.
    let header = client.sender().encode_header(DataKind::Binary, 64, false).unwrap();
    assert_eq!(header.as_bytes()[0], 0x02, "no RSV1");
    wire.extend_from_slice(header.as_bytes());
    let mut body = piece.clone();
    client.sender().mask_payload(&mut body).unwrap();
    wire.extend(body);
    let last = encode(&mut client, fragment(true)).unwrap();
    assert_eq!(last[0], 0x80, "a plain continuation");
    wire.extend(last);
    let got = merged(events(&mut server, &wire));
    assert_eq!(got, [Ev::binary(&[b'z'; 128]), Ev::binary(&[b'z'; 128])]);
}

#[test]
fn invalid_utf8_in_compressed_text_fails_fast_with_1007() {
    // A bad byte first, then a megabyte of valid text.
    let mut text = vec![0xff];
    text.extend(std::iter::repeat_n(b'a', 1 << 20));
    let frame = raw_frame(0xc1, &zlib_compressed(&text), None);
    let mut client = rfc_client();
    let got = events(&mut client, &frame);
    assert_eq!(got, [Ev::Err(Error::Protocol(ProtocolError::InvalidUtf8))]);
    assert_eq!(client.state(), wscore::State::Closed(CloseCode::INVALID_PAYLOAD));
}

#[test]
fn errors_are_reported_in_the_order_of_the_bytes() {
    // Bad UTF-8, then a corrupt block, inflated in one call: the UTF-8 error
    // comes first, as it would if the bytes arrived one by one.
    let mut payload = zlib_compressed(b"ok \xff then more");
    payload.extend_from_slice(&[0xff, 0xff, 0xff]); // BTYPE 11: reserved
    for sizes in [&[4096][..], &[1][..]] {
        let got = events_chunked(&mut rfc_client(), &raw_frame(0xc1, &payload, None), sizes);
        assert_eq!(protocol_error(&got), Some(ProtocolError::InvalidUtf8), "{sizes:?}");
    }
    // Valid text past the size limit, then bad UTF-8: the limit first.
    let text = [vec![b'a'; 100], vec![0xff]].concat();
    let frame = raw_frame(0xc1, &zlib_compressed(&text), None);
    let mut client = connection(Role::Client, Config { max_message_size: 50, ..Config::default() });
    client.enable_deflate(DeflateParams::default());
    let got = events(&mut client, &frame);
    assert_eq!(protocol_error(&got), Some(ProtocolError::MessageTooLarge { max: 50 }));
}

#[test]
fn compressed_messages_arrive_piece_by_piece() {
    let text: String = (0..20_000).map(|i| char::from(b'a' + (i * 7 % 26) as u8)).collect();
    let compressed = zlib_compressed(text.as_bytes());
    // Three fragments, fed a few bytes at a time.
    let third = compressed.len() / 3;
    let stream = [
        raw_frame(0x41, &compressed[..third], None),
        raw_frame(0x00, &compressed[third..2 * third], None),
        raw_frame(0x80, &compressed[2 * third..], None),
    ]
    .concat();
    let config = DeflateConfig { inflate_buffer: 1024, ..DeflateConfig::default() };
    let mut client = connection(Role::Client, with_deflate(config));
    client.enable_deflate(DeflateParams::default());
    let got = events_chunked(&mut client, &stream, &[3, 50, 7]);
    assert!(got.len() > 20, "{} pieces", got.len());
    assert_eq!(merged(got), [Ev::text(&text)]);
}

#[test]
fn a_server_unmasks_and_inflates_in_pieces() {
    // Masked frames, fed in odd chunks with a small inflate buffer: the
    // bytes the inflater leaves are re-masked for the next read.
    let data: Vec<u8> = (0..50_000u32).map(|i| (i * i % 7) as u8).collect();
    let compressed = zlib_compressed(&data);
    let frame = raw_frame(0xc2, &compressed, Some(support::KEY));
    let config = DeflateConfig { inflate_buffer: 1024, ..DeflateConfig::default() };
    let mut server = connection(Role::Server, with_deflate(config));
    server.enable_deflate(DeflateParams::default());
    assert_eq!(merged(events_chunked(&mut server, &frame, &[5, 1000, 13])), [Ev::binary(&data)]);
}

#[test]
fn control_frames_between_compressed_fragments() {
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let stream = [
        raw_frame(0x41, &hello[..3], None),
        raw_frame(0x89, b"ping", None),
        raw_frame(0x80, &hello[3..], None),
    ]
    .concat();
    let got = merged(events(&mut rfc_client(), &stream));
    let data: Vec<u8> = got
        .iter()
        .filter_map(|e| match e {
            Ev::Data { payload, .. } => Some(payload.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(data, b"Hello");
    assert!(got.contains(&Ev::Ping(b"ping".to_vec())));
    assert!(matches!(got.last(), Some(Ev::Data { fin: true, .. })));
}

#[test]
fn a_client_refuses_an_answer_it_did_not_ask_for() {
    let config =
        with_deflate(DeflateConfig { peer_no_context_takeover: true, ..DeflateConfig::default() });
    let mut out = [0u8; 1024];
    let request = ClientRequest::new("example.com", "/");
    let (mut client, n) =
        Connection::client_with_seed(config, [1; 32], &request, &mut out).unwrap();
    let mut response =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Accept: ACCEPT\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
            .to_vec();
    let request_text = std::str::from_utf8(&out[..n]).unwrap();
    let key = request_text.lines().find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ")).unwrap();
    let accept = wscore::handshake::accept_key(key.as_bytes());
    let at = response.windows(6).position(|w| w == b"ACCEPT").unwrap();
    response.splice(at..at + 6, accept.as_str().bytes());
    let err = client.read(&mut response, Instant(0)).unwrap_err();
    assert_eq!(err, Error::Handshake(HandshakeError::Deflate(NegotiationError::MissingParameter)));
}

#[test]
fn a_too_small_buffer_changes_nothing() {
    let (mut client, mut server) = open_pair(DeflateParams::default());
    let text = "compress me ".repeat(50);
    let mut small = [0u8; 16];
    let err = client.encode(Outgoing::Text(&text), &mut small).unwrap_err();
    let Error::BufferTooSmall { needed } = err else { panic!("{err:?}") };
    let mut out = vec![0; needed];
    let n = client.encode(Outgoing::Text(&text), &mut out).unwrap();
    assert!(n < text.len() / 4);
    assert_eq!(merged(events(&mut server, &out[..n])), [Ev::text(&text)]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any split of the input gives the same messages, and what one side
    /// compresses the other inflates, whatever the parameters.
    #[test]
    fn any_chunking_gives_the_same_messages(
        messages in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..3000), 1..6),
        sizes in proptest::collection::vec(1usize..600, 1..8),
        nct in any::<bool>(),
        bits in 8u8..=15,
    ) {
        let params = DeflateParams {
            server_no_context_takeover: nct,
            client_no_context_takeover: nct,
            server_max_window_bits: bits,
            client_max_window_bits: bits,
        };
        let (mut client, _) = open_pair(params);
        let mut wire = Vec::new();
        for m in &messages {
            wire.extend(encode(&mut client, Outgoing::Binary(m)).unwrap());
        }
        let expected: Vec<Ev> = messages.iter().map(|m| Ev::binary(m)).collect();
        let mut server = connection(Role::Server, with_deflate(DeflateConfig { inflate_buffer: 1024, ..DeflateConfig::default() }));
        server.enable_deflate(params);
        prop_assert_eq!(merged(events_chunked(&mut server, &wire, &sizes)), expected);
    }

    /// Arbitrary bytes in compressed frames never panic: the connection
    /// gives data or fails with a protocol error.
    #[test]
    fn arbitrary_compressed_payloads_never_panic(
        payload in proptest::collection::vec(any::<u8>(), 0..300),
        first in prop_oneof![Just(0xc1u8), Just(0xc2), Just(0x41), Just(0x42)],
    ) {
        let mut client = rfc_client();
        let mut feeder = Feeder::new();
        feeder.push(&mut client, &raw_frame(first, &payload, None));
        for e in feeder.events {
            prop_assert!(matches!(e, Ev::Data { .. } | Ev::Err(Error::Protocol(_))), "{:?}", e);
        }
    }
}

#[test]
fn data_after_a_final_block_is_skipped_in_one_read() {
    // A final block, then bytes of the same message that no longer count
    // (found by the `connection` fuzzer): the whole input at once gives the
    // same as byte by byte.
    let frame = raw_frame(0xc1, &[0x03, 0x00, 0xcd, 0xc9, 0xc9, 0x07, 0x00], None);
    let stream =
        [frame, raw_frame(0xc1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], None)].concat();
    let whole = merged(events(&mut rfc_client(), &stream));
    assert_eq!(whole, [Ev::text(""), Ev::text("Hello")]);
    assert_eq!(merged(events_chunked(&mut rfc_client(), &stream, &[1])), whole);
}

#[test]
fn output_left_in_the_inflater_comes_out_before_the_next_frame() {
    // A first fragment that inflates to 50 x the inflate buffer, and no
    // second fragment yet: everything it holds is handed out now (found
    // by the `connection` fuzzer), not when more input comes.
    let zeros = vec![0u8; 50 << 10];
    let frame = raw_frame(0x42, &zlib_compressed(&zeros), None);
    let config = DeflateConfig { inflate_buffer: 1024, ..DeflateConfig::default() };
    let mut client = connection(Role::Client, with_deflate(config));
    client.enable_deflate(DeflateParams::default());
    let got = merged(events(&mut client, &frame));
    assert_eq!(got, [Ev::Data { kind: DataKind::Binary, payload: zeros, fin: false }]);
}
