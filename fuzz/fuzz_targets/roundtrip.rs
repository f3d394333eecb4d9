//! Arbitrary frame sequences encoded by one role and decoded by the other
//! give back what was sent.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wscore::{CloseCode, CloseFrame, Config, Connection, DataKind, Event, Instant, Outgoing, Role};

#[derive(Arbitrary, Debug)]
enum Frame {
    Text(String),
    Binary(Vec<u8>),
    Fragments { text: bool, pieces: Vec<Vec<u8>> },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Script {
    client_sends: bool,
    frames: Vec<Frame>,
    close: Option<(u16, String)>,
}

#[derive(Debug, PartialEq)]
enum Seen {
    Message(DataKind, Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<(u16, String)>),
}

fuzz_target!(|script: Script| {
    let (from, to) = if script.client_sends {
        (Role::Client, Role::Server)
    } else {
        (Role::Server, Role::Client)
    };
    let mut sender = Connection::with_seed(from, Config::default(), [5; 32]);
    let mut receiver = Connection::with_seed(to, Config::default(), [6; 32]);
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    let mut out = vec![0u8; 1 << 16];
    let mut send = |sender: &mut Connection, frame: Outgoing<'_>| -> bool {
        match sender.encode(frame, &mut out) {
            Ok(n) => {
                wire.extend_from_slice(&out[..n]);
                true
            }
            Err(_) => false, // refused (too long, invalid): nothing was written
        }
    };
    for frame in &script.frames {
        match frame {
            Frame::Text(t) if send(&mut sender, Outgoing::Text(t)) => {
                expected.push(Seen::Message(DataKind::Text, t.as_bytes().to_vec()))
            }
            Frame::Binary(b) if send(&mut sender, Outgoing::Binary(b)) => {
                expected.push(Seen::Message(DataKind::Binary, b.clone()))
            }
            Frame::Fragments { text, pieces } => {
                let kind = if *text { DataKind::Text } else { DataKind::Binary };
                let whole: Vec<u8> = pieces.concat();
                if *text && std::str::from_utf8(&whole).is_err() {
                    continue;
                }
                let mut sent_all = true;
                for (i, piece) in pieces.iter().enumerate() {
                    let fin = i + 1 == pieces.len();
                    sent_all &= send(&mut sender, Outgoing::Fragment { kind, payload: piece, fin });
                }
                if !pieces.is_empty() {
                    assert!(sent_all, "valid fragments were refused");
                    expected.push(Seen::Message(kind, whole));
                }
            }
            Frame::Ping(p) if send(&mut sender, Outgoing::Ping(p)) => {
                expected.push(Seen::Ping(p.clone()))
            }
            Frame::Pong(p) if send(&mut sender, Outgoing::Pong(p)) => {
                expected.push(Seen::Pong(p.clone()))
            }
            _ => {}
        }
    }
    if let Some((code, reason)) = &script.close {
        let body = CloseFrame { code: CloseCode(*code), reason };
        if send(&mut sender, Outgoing::Close(Some(body))) {
            expected.push(Seen::Close(Some((*code, reason.clone()))));
        }
    }

    let mut seen = Vec::new();
    let mut message = Vec::new();
    let mut pos = 0;
    loop {
        let d = receiver.read(&mut wire[pos..], Instant(0)).expect("a valid stream");
        pos += d.consumed;
        match d.event {
            None => break,
            Some(Event::Data { kind, payload, fin }) => {
                message.extend_from_slice(payload);
                if fin {
                    seen.push(Seen::Message(kind, std::mem::take(&mut message)));
                }
            }
            Some(Event::Ping(p)) => seen.push(Seen::Ping(p.to_vec())),
            Some(Event::Pong(p)) => seen.push(Seen::Pong(p.to_vec())),
            Some(Event::Close(c)) => {
                seen.push(Seen::Close(c.map(|c| (c.code.0, c.reason.to_string()))))
            }
            Some(_) => unreachable!("no handshake on an open connection"),
        }
    }
    assert_eq!(pos, wire.len());
    assert_eq!(seen, expected);
});
