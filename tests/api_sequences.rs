//! Random interleavings of every API call on a client and a server joined
//! in memory: sends of every kind (valid or not), partial deliveries,
//! garbage, timers, end of file. Every byte either side puts on the wire is
//! checked: well-formed headers, masking by role, RSV clear, fragment order,
//! nothing after a Close.

mod support;
use proptest::prelude::*;
use std::time::Duration;
use support::*;
use wscore::frame::{FrameHeader, OpCode, Parsed};
use wscore::{
    CloseCode, CloseFrame, Config, Connection, DataKind, Instant, Keepalive, Outgoing, Role,
};

#[derive(Debug, Clone)]
enum Op {
    Send { client: bool, which: u8, len: usize, fin: bool, code: u16 },
    Flush { client: bool },
    Deliver { to_client: bool, upto: usize },
    Time(u64),
    Eof { client: bool },
    Garbage { to_client: bool, bytes: Vec<u8> },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), 0u8..8, 0usize..300, any::<bool>(), prop_oneof![Just(1000u16), Just(4000), Just(1005), 0u16..5000])
            .prop_map(|(client, which, len, fin, code)| Op::Send { client, which, len, fin, code }),
        3 => any::<bool>().prop_map(|client| Op::Flush { client }),
        3 => (any::<bool>(), 0usize..400).prop_map(|(to_client, upto)| Op::Deliver { to_client, upto }),
        2 => (0u64..8000).prop_map(Op::Time),
        1 => any::<bool>().prop_map(|client| Op::Eof { client }),
        1 => (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..20)).prop_map(|(to_client, bytes)| Op::Garbage { to_client, bytes }),
    ]
}

/// Check a side's output stream: frame-by-frame headers; nothing after Close;
/// client frames masked, server frames not; control <= 125; rsv 0.
fn check_stream(bytes: &[u8], client: bool) -> Result<(), String> {
    let mut pos = 0;
    let mut closed = false;
    let mut open: Option<OpCode> = None;
    while pos < bytes.len() {
        let (h, n) = match FrameHeader::parse(&bytes[pos..]) {
            Ok(Parsed::Complete(h, n)) => (h, n),
            other => return Err(format!("bad header at {pos}: {other:?}")),
        };
        if closed {
            return Err(format!("frame after Close: {h:?}"));
        }
        if h.mask.is_some() != client {
            return Err(format!("masking wrong: {h:?}"));
        }
        if h.rsv != 0 {
            return Err("rsv".into());
        }
        match h.opcode {
            OpCode::Close => closed = true,
            OpCode::Continuation => {
                if open.is_none() {
                    return Err("continuation without message".into());
                }
                if h.fin {
                    open = None;
                }
            }
            OpCode::Text | OpCode::Binary => {
                if open.is_some() {
                    return Err("new message inside fragmented".into());
                }
                if !h.fin {
                    open = Some(h.opcode);
                }
            }
            _ => {}
        }
        pos += n + h.payload_len as usize;
        if pos > bytes.len() {
            return Err("truncated".into());
        }
    }
    Ok(())
}

struct Side {
    conn: Connection,
    sent: Vec<u8>,    // everything this side put on the wire
    delivered: usize, // how much of `sent` the peer has read
    inbuf: Vec<u8>,
    dead: bool,
}

fn feed(side: &mut Side, now: Instant) {
    if side.dead {
        return;
    }
    loop {
        match side.conn.read(&mut side.inbuf, now) {
            Ok(d) => {
                let c = d.consumed;
                let done = d.event.is_none();
                side.inbuf.drain(..c);
                if done {
                    break;
                }
            }
            Err(_) => {
                side.dead = true;
                break;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]
    #[test]
    fn random_api_sequences(ops in proptest::collection::vec(op(), 0..40)) {
        let cfg = Config {
            keepalive: Some(Keepalive { interval: Duration::from_millis(1000), timeout: Duration::from_millis(500) }),
            close_timeout: Duration::from_millis(2000),
            ..Config::default()
        };
        let mut sides = [
            Side { conn: connection(Role::Client, cfg), sent: vec![], delivered: 0, inbuf: vec![], dead: false },
            Side { conn: connection(Role::Server, cfg), sent: vec![], delivered: 0, inbuf: vec![], dead: false },
        ];
        let mut now = 0u64;
        let payload = vec![b'a'; 300];
        for o in ops {
            match o {
                Op::Send { client, which, len, fin, code } => {
                    let s = &mut sides[if client { 0 } else { 1 }];
                    let p = &payload[..len];
                    let frame = match which {
                        0 => Outgoing::Text(std::str::from_utf8(p).unwrap()),
                        1 => Outgoing::Binary(p),
                        2 => Outgoing::Fragment { kind: DataKind::Text, payload: p, fin },
                        3 => Outgoing::Fragment { kind: DataKind::Binary, payload: p, fin },
                        4 => Outgoing::Ping(&p[..len.min(130)]),
                        5 => Outgoing::Pong(&p[..len.min(130)]),
                        6 => Outgoing::Close(if fin { None } else { Some(CloseFrame { code: CloseCode(code), reason: std::str::from_utf8(&p[..len.min(125)]).unwrap() }) }),
                        _ => {
                            let kind = if fin { DataKind::Text } else { DataKind::Binary };
                            if let Ok(h) = s.conn.sender().encode_header(kind, len as u64, true) {
                                s.sent.extend_from_slice(h.as_bytes());
                                let mut body = p.to_vec();
                                s.conn.sender().mask_payload(&mut body).unwrap();
                                s.sent.extend(body);
                            }
                            continue;
                        }
                    };
                    if let Ok(bytes) = encode(&mut s.conn, frame) {
                        s.sent.extend(bytes);
                    }
                }
                Op::Flush { client } => {
                    let s = &mut sides[if client { 0 } else { 1 }];
                    let mut out = [0u8; 133];
                    while let Some(n) = s.conn.poll_transmit(&mut out).expect("133 suffices") {
                        s.sent.extend_from_slice(&out[..n]);
                    }
                }
                Op::Deliver { to_client, upto } => {
                    let (a, b) = sides.split_at_mut(1);
                    let (from, to) = if to_client { (&mut b[0], &mut a[0]) } else { (&mut a[0], &mut b[0]) };
                    let end = (from.delivered + upto).min(from.sent.len());
                    to.inbuf.extend_from_slice(&from.sent[from.delivered..end]);
                    from.delivered = end;
                    feed(to, Instant(now));
                }
                Op::Time(dt) => {
                    now += dt;
                    for s in sides.iter_mut() {
                        let _ = s.conn.handle_timeout(Instant(now));
                        let _ = s.conn.poll_timeout();
                    }
                }
                Op::Eof { client } => {
                    let _ = sides[if client { 0 } else { 1 }].conn.read_eof();
                }
                Op::Garbage { to_client, bytes } => {
                    let s = &mut sides[if to_client { 0 } else { 1 }];
                    s.inbuf.extend(bytes);
                    feed(s, Instant(now));
                }
            }
            for (i, s) in sides.iter().enumerate() {
                let _ = s.conn.state();
                let _ = s.conn.close_expected();
                if let Err(e) = check_stream(&s.sent, i == 0) {
                    prop_assert!(false, "side {} ({}): {}", i, if i == 0 {"client"} else {"server"}, e);
                }
            }
        }
    }
}
