//! The client's check of the server's response, standalone and inside a
//! connection: never panics; only a 101 with the right accept key passes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscore::deflate::DeflateConfig;
use wscore::handshake::{ClientKey, ClientRequest, ResponseHead, Status, EMPTY_HEADER};
use wscore::{Config, Connection, Error, Event, Instant};

fuzz_target!(|data: &[u8]| {
    // The RFC's sample nonce: the seeds carry its accept key.
    let key = ClientKey::from_random(*b"the sample nonce");
    let request = ClientRequest {
        subprotocols: &["chat", "superchat"],
        extensions: Some("permessage-deflate; client_max_window_bits"),
        ..ClientRequest::new("example.com", "/chat")
    };
    let mut slots = [EMPTY_HEADER; 16];
    if let Ok(Status::Complete(head)) = ResponseHead::parse(data, &mut slots, 4096) {
        assert!(head.head_len() <= data.len());
        let _ = (head.status(), head.reason());
        if let Ok(response) = head.validate(&key, &request) {
            assert_eq!(head.status(), 101);
            if let Some(p) = response.subprotocol() {
                assert!(request.subprotocols.contains(&p));
            }
            for e in response.extensions() {
                assert!(e.name().eq_ignore_ascii_case("permessage-deflate"));
            }
        }
    }

    // A connection offering permessage-deflate itself checks the answer.
    let config = Config { deflate: Some(DeflateConfig::default()), ..Config::default() };
    let request = ClientRequest { extensions: None, ..request };
    let mut out = [0u8; 1024];
    let (mut conn, _) =
        Connection::client_with_seed(config, [3; 32], &request, &mut out).expect("a valid request");
    let mut input = data.to_vec();
    match conn.read(&mut input, Instant(0)) {
        Ok(d) => {
            if let Some(Event::Response(r)) = d.event {
                assert_eq!(d.consumed, r.head_len());
            }
        }
        Err(Error::Handshake(_)) => assert!(conn.close_expected()),
        Err(other) => panic!("unexpected error {other:?}"),
    }
});
