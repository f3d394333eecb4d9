//! The server handshake, standalone and inside a connection: never panics;
//! a complete request's head length is within the input; a permessage-deflate
//! answer is one a client accepts; a connection accepts a valid request and
//! queues a rejection with the error's status for an invalid one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscore::deflate::{accept_offer, check_answer, DeflateConfig};
use wscore::handshake::{
    parse_request, AcceptOptions, Extensions, RequestHead, Status, EMPTY_HEADER,
};
use wscore::{Config, Connection, Error, Event, Instant};

fuzz_target!(|data: &[u8]| {
    let mut slots = [EMPTY_HEADER; 16];
    match parse_request(data, &mut slots, 4096) {
        Ok(Status::Complete(request)) => {
            assert!(request.head_len() <= data.len());
            let _ = (request.path(), request.host(), request.origin(), request.key());
            for p in request.subprotocols() {
                assert!(!p.is_empty());
            }
            for e in request.extensions() {
                for _ in e.params() {}
            }
            for _ in request.headers() {}
            let config = DeflateConfig::default();
            if let Some(accepted) = accept_offer(request.extensions(), &config) {
                let value = accepted.response.as_str().as_bytes();
                let answer = Extensions::from_value(value).next().expect("one extension");
                assert_eq!(check_answer(&answer, &config), Ok(accepted.params));
            }
        }
        Ok(Status::Partial) => assert!(data.len() < 4096),
        Err(e) => assert!(matches!(e.status(), 400 | 426 | 431)),
    }
    if let Ok(Status::Complete(head)) = RequestHead::parse(data, &mut slots, 4096) {
        let _ = (head.method(), head.path(), head.is_websocket_upgrade(), head.validate());
    }

    let config = Config {
        max_handshake_head: 4096,
        deflate: Some(DeflateConfig::default()),
        ..Config::default()
    };
    let mut conn = Connection::server(config);
    let mut input = data.to_vec();
    match conn.read(&mut input, Instant(0)) {
        Ok(d) => {
            if let Some(Event::Request(r)) = d.event {
                assert_eq!(d.consumed, r.head_len());
                let mut out = [0u8; 1024];
                conn.accept(&r, &AcceptOptions::default(), &mut out).expect("accepted");
            }
        }
        Err(Error::Handshake(e)) => {
            let mut out = [0u8; 1024];
            let n = conn.poll_transmit(&mut out).expect("1 KiB holds a rejection").expect("queued");
            let status = format!(" {} ", e.status());
            assert!(out[..n].windows(status.len()).any(|w| w == status.as_bytes()));
            assert!(conn.close_expected());
        }
        Err(other) => panic!("unexpected error {other:?}"),
    }
});
