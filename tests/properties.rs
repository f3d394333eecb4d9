//! Property tests: encode→decode is the identity in both directions; any
//! chunking of the input gives the same events; arbitrary bytes never panic.

mod support;
use proptest::prelude::*;
use support::*;
use wscore::{CloseCode, CloseFrame, Config, Connection, DataKind, Error, Instant, Outgoing, Role};

#[derive(Debug, Clone)]
enum Msg {
    /// A data message, sent whole (no cuts) or as fragments split at `cuts`,
    /// with a Ping after the first fragment when `ping_inside`.
    Data {
        kind: DataKind,
        payload: Vec<u8>,
        cuts: Vec<usize>,
        ping_inside: bool,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

fn msg() -> impl Strategy<Value = Msg> {
    let text = "\\PC{0,60}".prop_map(|s| (DataKind::Text, s.into_bytes()));
    let binary = proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| (DataKind::Binary, b));
    let big = (0usize..3, any::<u8>())
        .prop_map(|(i, b)| (DataKind::Binary, vec![b; [126, 65535, 70_000][i]]));
    let data = (
        prop_oneof![4 => text, 4 => binary, 1 => big],
        proptest::collection::vec(any::<usize>(), 0..4),
        any::<bool>(),
    )
        .prop_map(|((kind, payload), cuts, ping_inside)| {
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (payload.len() + 1)).collect();
            cuts.sort_unstable();
            Msg::Data { kind, payload, cuts, ping_inside }
        });
    let control = proptest::collection::vec(any::<u8>(), 0..=125);
    prop_oneof![6 => data, 1 => control.clone().prop_map(Msg::Ping), 1 => control.prop_map(Msg::Pong)]
}

fn close_frame() -> impl Strategy<Value = Option<(u16, String)>> {
    proptest::option::of((
        prop_oneof![1000u16..=1003, 1007u16..=1014, 3000u16..=4999],
        "\\PC{0,30}",
    ))
}

/// Encode `msgs` (and an optional Close) with `sender`; return the bytes and
/// the merged events the receiver must report.
fn script(
    sender: &mut Connection,
    msgs: &[Msg],
    close: &Option<(u16, String)>,
) -> (Vec<u8>, Vec<Ev>) {
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    let mut send = |frame: Outgoing<'_>| wire.extend(encode(sender, frame).expect("valid frame"));
    for m in msgs {
        match m {
            Msg::Data { kind, payload, cuts, ping_inside } if cuts.is_empty() => {
                match kind {
                    DataKind::Text => send(Outgoing::Text(std::str::from_utf8(payload).unwrap())),
                    DataKind::Binary => send(Outgoing::Binary(payload)),
                }
                let _ = ping_inside;
                expected.push(Ev::Data { kind: *kind, payload: payload.clone(), fin: true });
            }
            Msg::Data { kind, payload, cuts, ping_inside } => {
                let mut bounds = vec![0];
                bounds.extend(cuts);
                bounds.push(payload.len());
                for (i, w) in bounds.windows(2).enumerate() {
                    let fin = i == bounds.len() - 2;
                    send(Outgoing::Fragment { kind: *kind, payload: &payload[w[0]..w[1]], fin });
                    if i == 0 && *ping_inside && !fin {
                        send(Outgoing::Ping(b"inside"));
                        if w[1] > 0 {
                            expected.push(Ev::Data {
                                kind: *kind,
                                payload: payload[..w[1]].to_vec(),
                                fin: false,
                            });
                        }
                        expected.push(Ev::Ping(b"inside".to_vec()));
                        expected.push(Ev::Data {
                            kind: *kind,
                            payload: payload[w[1]..].to_vec(),
                            fin: true,
                        });
                    }
                }
                if !(*ping_inside && bounds.len() > 2) {
                    expected.push(Ev::Data { kind: *kind, payload: payload.clone(), fin: true });
                }
            }
            Msg::Ping(p) => {
                send(Outgoing::Ping(p));
                expected.push(Ev::Ping(p.clone()));
            }
            Msg::Pong(p) => {
                send(Outgoing::Pong(p));
                expected.push(Ev::Pong(p.clone()));
            }
        }
    }
    if let Some((code, reason)) = close {
        send(Outgoing::Close(Some(CloseFrame { code: CloseCode(*code), reason })));
        expected.push(Ev::close(*code, reason));
    }
    (wire, merged(expected))
}

fn pair_for(sender: Role) -> (Connection, Connection) {
    let receiver = if sender == Role::Client { Role::Server } else { Role::Client };
    (connection(sender, Config::default()), connection(receiver, Config::default()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_is_the_identity(
        msgs in proptest::collection::vec(msg(), 0..8),
        close in close_frame(),
        client_sends in any::<bool>(),
    ) {
        let sender_role = if client_sends { Role::Client } else { Role::Server };
        let (mut sender, mut receiver) = pair_for(sender_role);
        let (wire, expected) = script(&mut sender, &msgs, &close);
        prop_assert_eq!(merged(events(&mut receiver, &wire)), expected);
    }

    #[test]
    fn any_chunking_gives_the_same_events(
        msgs in proptest::collection::vec(msg(), 1..6),
        close in close_frame(),
        client_sends in any::<bool>(),
        sizes in proptest::collection::vec(1usize..40, 1..8),
    ) {
        let sender_role = if client_sends { Role::Client } else { Role::Server };
        let (mut sender, mut receiver) = pair_for(sender_role);
        let (wire, expected) = script(&mut sender, &msgs, &close);
        let (_, mut fresh) = pair_for(sender_role);
        prop_assert_eq!(merged(events_chunked(&mut receiver, &wire, &sizes)), expected.clone());
        // Down to single bytes.
        if wire.len() < 4096 {
            prop_assert_eq!(merged(events_chunked(&mut fresh, &wire, &[1])), expected);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        sizes in proptest::collection::vec(1usize..64, 1..6),
        server in any::<bool>(),
    ) {
        let role = if server { Role::Server } else { Role::Client };
        let config = Config { max_frame_payload: 256, max_message_size: 512, ..Config::default() };
        let mut conn = connection(role, config);
        let evs = events_chunked(&mut conn, &bytes, &sizes);
        if let Some(Ev::Err(Error::Protocol(e))) = evs.last() {
            prop_assert_eq!(conn.state(), wscore::State::Closed(e.close_code()));
            let mut more = vec![0x81, 0x80, 0, 0, 0, 0];
            prop_assert_eq!(conn.read(&mut more, Instant(0)).unwrap_err(), Error::Closed);
        }
        // What the connection queued on its own: at most a Pong and a Close,
        // and after a failure exactly one Close carrying the mapped code.
        let out = transmit(&mut conn);
        let frames = match role {
            Role::Server => server_frames(&out),
            Role::Client => client_frames(&out),
        };
        prop_assert!(frames.len() <= 2, "{:?}", frames);
        if let Some(Ev::Err(Error::Protocol(e))) = evs.last() {
            prop_assert_eq!(close_code_of(&frames), Some(e.close_code().0));
        }
    }

    #[test]
    fn frames_of_arbitrary_headers_never_panic(
        frames in proptest::collection::vec((any::<u8>(), 0usize..200, any::<bool>()), 0..12),
        server in any::<bool>(),
    ) {
        // Structured noise: any first byte, plausible lengths, masked or not.
        let mut wire = Vec::new();
        for (first, len, masked) in frames {
            wire.extend(raw_frame(first, &vec![b'a'; len], masked.then_some(KEY)));
        }
        let role = if server { Role::Server } else { Role::Client };
        let mut conn = connection(role, Config::default());
        let whole = events(&mut conn, &wire);
        let mut again = connection(role, Config::default());
        prop_assert_eq!(merged(events_chunked(&mut again, &wire, &[3, 1, 7])), merged(whole));
    }
}
