//! Integration tests of `wscore::handshake`: every accepted and rejected
//! input with its exact outcome, and the writers' exact bytes.

use wscore::handshake::{
    accept_key, parse_request, parse_response, write_accept, write_accept_key,
    write_error_response, write_reject, write_request, AcceptOptions, ClientKey, ClientRequest,
    HandshakeError, Request, RequestHead, Response, ResponseHead, Status, WriteError,
    DEFAULT_MAX_HEADERS, DEFAULT_MAX_HEAD_LEN, EMPTY_HEADER,
};

// ---------------------------------------------------------------- helpers

fn request(buf: &[u8]) -> Result<Status<Request<'_>>, HandshakeError> {
    let mut slots = [EMPTY_HEADER; DEFAULT_MAX_HEADERS];
    parse_request(buf, &mut slots, DEFAULT_MAX_HEAD_LEN)
}

fn complete_request(buf: &[u8]) -> Request<'_> {
    match request(buf) {
        Ok(Status::Complete(req)) => req,
        other => panic!("expected a valid request, got {other:?}"),
    }
}

fn request_error(buf: &[u8]) -> HandshakeError {
    match request(buf) {
        Err(e) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn request_head(buf: &[u8]) -> RequestHead<'_> {
    let mut slots = [EMPTY_HEADER; DEFAULT_MAX_HEADERS];
    match RequestHead::parse(buf, &mut slots, DEFAULT_MAX_HEAD_LEN) {
        Ok(Status::Complete(head)) => head,
        other => panic!("expected a complete head, got {other:?}"),
    }
}

/// A valid request with `extra` header lines inserted before the blank line.
fn valid_request_with(extra: &str) -> String {
    format!(
        "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// A valid request with one header line replaced (or dropped if `line` is
/// empty). `name` is matched at the start of a line.
fn request_replacing(name: &str, line: &str) -> String {
    let base = valid_request_with("");
    let mut out = String::new();
    for l in base.split_inclusive("\r\n") {
        if l.starts_with(name) {
            out.push_str(line);
        } else {
            out.push_str(l);
        }
    }
    out
}

const RFC_KEY: [u8; 16] = *b"the sample nonce";
const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn response<'b>(
    buf: &'b [u8],
    key: &ClientKey,
    offer: &ClientRequest<'_>,
) -> Result<Status<Response<'b>>, HandshakeError> {
    let mut slots = [EMPTY_HEADER; DEFAULT_MAX_HEADERS];
    parse_response(buf, &mut slots, DEFAULT_MAX_HEAD_LEN, key, offer)
}

fn response_error(buf: &[u8], offer: &ClientRequest<'_>) -> HandshakeError {
    match response(buf, &ClientKey::from_random(RFC_KEY), offer) {
        Err(e) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// A 101 answer to the RFC key with `extra` header lines.
fn answer_with(extra: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {RFC_ACCEPT}\r\n{extra}\r\n"
    )
}

// ---------------------------------------------------------------- accept key

#[test]
fn rfc_6455_accept_key_example() {
    assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ==").as_str(), RFC_ACCEPT);
    let key = ClientKey::from_random(RFC_KEY);
    assert_eq!(key.as_str(), "dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(key.accept_key().as_str(), RFC_ACCEPT);
    let key = ClientKey::from_random(core::array::from_fn(|i| i as u8));
    assert_eq!(key.as_str(), "AAECAwQFBgcICQoLDA0ODw==");
    assert_eq!(key.accept_key().as_str(), "Bz3qJYTGdOe8gUSpLosEdiLKDrk=");
}

// ---------------------------------------------------------------- server: accepted

#[test]
fn rfc_6455_request_example() {
    let buf = b"GET /chat HTTP/1.1\r\n\
        Host: server.example.com\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";
    let req = complete_request(buf);
    assert_eq!(req.path(), "/chat");
    assert_eq!(req.host(), "server.example.com");
    assert_eq!(req.origin(), Some("http://example.com"));
    assert_eq!(req.key(), "dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(req.accept_key().as_str(), RFC_ACCEPT);
    assert_eq!(req.subprotocols().collect::<Vec<_>>(), ["chat", "superchat"]);
    assert_eq!(req.extensions().count(), 0);
    assert_eq!(req.head_len(), buf.len());

    let mut out = [0u8; 256];
    let options = AcceptOptions { subprotocol: Some("chat"), ..AcceptOptions::default() };
    let n = write_accept(&req, &options, &mut out).unwrap();
    assert_eq!(
        std::str::from_utf8(&out[..n]).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
         Sec-WebSocket-Protocol: chat\r\n\r\n"
    );
}

const CHROME_REQUEST: &[u8] = b"GET /chat?room=lobby&x=%20 HTTP/1.1\r\n\
    Host: localhost:9001\r\n\
    Connection: Upgrade\r\n\
    Pragma: no-cache\r\n\
    Cache-Control: no-cache\r\n\
    User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
    Upgrade: websocket\r\n\
    Origin: http://localhost:9001\r\n\
    Sec-WebSocket-Version: 13\r\n\
    Accept-Encoding: gzip, deflate, br, zstd\r\n\
    Accept-Language: en-US,en;q=0.9\r\n\
    Cookie: session=abc; theme=dark\r\n\
    Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\
    Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
    \r\n";

#[test]
fn chrome_like_request_is_accepted_with_every_field() {
    let req = complete_request(CHROME_REQUEST);
    assert_eq!(req.path(), "/chat?room=lobby&x=%20");
    assert_eq!(req.host(), "localhost:9001");
    assert_eq!(req.origin(), Some("http://localhost:9001"));
    assert_eq!(req.key(), "x3JJHMbDL1EzLkh9GBhXDw==");
    assert_eq!(req.accept_key().as_str(), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
    assert_eq!(req.subprotocols().count(), 0);
    let offers: Vec<_> =
        req.extensions().map(|e| (e.name(), e.params().collect::<Vec<_>>())).collect();
    assert_eq!(offers, [("permessage-deflate", vec![("client_max_window_bits", None)])]);
    assert_eq!(req.header("cookie"), Some(&b"session=abc; theme=dark"[..]));
    assert_eq!(req.header("USER-AGENT").map(<[u8]>::len), Some(101));
    assert_eq!(req.header("X-Missing"), None);
    assert_eq!(req.headers().count(), 13);
    assert_eq!(req.headers().nth(2).map(|h| (h.name, h.value)), Some(("Pragma", &b"no-cache"[..])));
    assert_eq!(req.head_len(), CHROME_REQUEST.len());

    let mut out = [0u8; 512];
    let options = AcceptOptions {
        extensions: Some("permessage-deflate; server_no_context_takeover"),
        extra_headers: &[("Server", "wscore-test")],
        ..AcceptOptions::default()
    };
    let n = write_accept(&req, &options, &mut out).unwrap();
    assert_eq!(
        std::str::from_utf8(&out[..n]).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\
         Server: wscore-test\r\n\r\n"
    );
}

#[test]
fn firefox_connection_list_is_accepted() {
    let buf = request_replacing("Connection:", "Connection: keep-alive, Upgrade\r\n");
    assert_eq!(complete_request(buf.as_bytes()).host(), "example.com");
}

#[test]
fn repeated_connection_headers_are_accepted() {
    let buf = request_replacing("Connection:", "Connection: keep-alive\r\nconnection: UPGRADE\r\n");
    assert_eq!(complete_request(buf.as_bytes()).path(), "/chat");
}

#[test]
fn upgrade_list_and_case_are_accepted() {
    let buf = request_replacing("Upgrade:", "Upgrade: h2c, WebSocket\r\n");
    assert_eq!(complete_request(buf.as_bytes()).path(), "/chat");
}

#[test]
fn subprotocols_across_repeated_headers() {
    let buf = valid_request_with(
        "Sec-WebSocket-Protocol: v2.chat, v1.chat\r\nX-Other: 1\r\nSec-WebSocket-Protocol: ,mqtt,\r\n",
    );
    let req = complete_request(buf.as_bytes());
    assert_eq!(req.subprotocols().collect::<Vec<_>>(), ["v2.chat", "v1.chat", "mqtt"]);
}

#[test]
fn extensions_with_quoted_values_and_repeated_headers() {
    let buf = valid_request_with(
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=\"10\"; \
         server_no_context_takeover, permessage-deflate\r\n\
         Sec-WebSocket-Extensions: x-custom; a=b\r\n",
    );
    let req = complete_request(buf.as_bytes());
    let offers: Vec<_> =
        req.extensions().map(|e| (e.name(), e.params().collect::<Vec<_>>())).collect();
    assert_eq!(
        offers,
        [
            (
                "permessage-deflate",
                vec![("client_max_window_bits", Some("10")), ("server_no_context_takeover", None)]
            ),
            ("permessage-deflate", vec![]),
            ("x-custom", vec![("a", Some("b"))]),
        ]
    );
}

#[test]
fn bytes_after_the_head_are_preserved() {
    let mut buf = valid_request_with("").into_bytes();
    let head_len = buf.len();
    buf.extend_from_slice(b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58GET / HTTP/1.1\r\n\r\n");
    let req = complete_request(&buf);
    assert_eq!(req.head_len(), head_len);
    assert_eq!(&buf[req.head_len()..][..11], b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
}

#[test]
fn bare_lf_head_and_bytes_after_it() {
    let buf = b"GET /lf HTTP/1.1\nHost: h\nUpgrade: websocket\nConnection: Upgrade\n\
                Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\
                Sec-WebSocket-Protocol: a\n\n\x81\x00";
    let req = complete_request(buf);
    assert_eq!(req.head_len(), buf.len() - 2);
    assert_eq!(&buf[req.head_len()..], b"\x81\x00");
    assert_eq!(req.host(), "h");
    assert_eq!(req.subprotocols().collect::<Vec<_>>(), ["a"]);
    assert_eq!(req.header("sec-websocket-version"), Some(&b"13"[..]));
}

#[test]
fn empty_lines_before_the_request_line_are_part_of_the_head() {
    let buf = format!("\r\n\n{}XYZ", valid_request_with("X: 1\r\n"));
    let req = complete_request(buf.as_bytes());
    assert_eq!(&buf[req.head_len()..], "XYZ");
    assert_eq!(req.header("x"), Some(&b"1"[..]));
    assert_eq!(req.headers().next().map(|h| h.name), Some("Host"));
}

#[test]
fn non_utf8_values_in_other_headers_are_fine() {
    let mut buf = valid_request_with("").into_bytes();
    let at = buf.len() - 2;
    buf.splice(at..at, b"X-Latin1: caf\xe9\r\n".iter().copied());
    let req = complete_request(&buf);
    assert_eq!(req.header("x-latin1"), Some(&b"caf\xe9"[..]));
}

#[test]
fn absent_origin_is_none() {
    let buf = valid_request_with("");
    assert_eq!(complete_request(buf.as_bytes()).origin(), None);
}

// ---------------------------------------------------------------- server: partial

#[test]
fn an_unfinished_head_is_partial() {
    let buf = valid_request_with("");
    for len in [0, 1, 5, buf.len() / 2, buf.len() - 2, buf.len() - 1] {
        assert_eq!(request(&buf.as_bytes()[..len]).ok(), Some(Status::Partial), "{len}");
    }
}

// ---------------------------------------------------------------- server: rejected

fn assert_request_error(buf: &[u8], error: HandshakeError, status: u16) {
    assert_eq!(request_error(buf), error);
    assert_eq!(error.status(), status);
}

#[test]
fn header_line_over_the_limit_is_431() {
    let long = format!("X-Long: {}\r\n", "a".repeat(DEFAULT_MAX_HEAD_LEN));
    let buf = valid_request_with(&long);
    assert_request_error(buf.as_bytes(), HandshakeError::HeadTooLarge { limit: 8192 }, 431);
    // The error comes as soon as the limit is reached, not at the end.
    assert_eq!(
        request_error(&buf.as_bytes()[..DEFAULT_MAX_HEAD_LEN]),
        HandshakeError::HeadTooLarge { limit: 8192 }
    );
    assert_eq!(request(&buf.as_bytes()[..DEFAULT_MAX_HEAD_LEN - 1]).ok(), Some(Status::Partial));
}

#[test]
fn a_head_that_never_ends_is_431() {
    // A request line that goes on and on.
    let buf = format!("GET /{}", "a".repeat(10_000));
    assert_request_error(buf.as_bytes(), HandshakeError::HeadTooLarge { limit: 8192 }, 431);
    // Many short header lines, with enough slots that only the length counts.
    let mut buf = String::from("GET / HTTP/1.1\r\n");
    while buf.len() < 9000 {
        buf.push_str("X-Filler: 0123456789\r\n");
    }
    let mut slots = vec![EMPTY_HEADER; 1000];
    assert_eq!(
        parse_request(buf.as_bytes(), &mut slots, 4096).err(),
        Some(HandshakeError::HeadTooLarge { limit: 4096 })
    );
}

#[test]
fn a_head_of_exactly_the_limit_is_accepted() {
    let buf = valid_request_with("");
    let mut slots = [EMPTY_HEADER; 8];
    let ok = parse_request(buf.as_bytes(), &mut slots, buf.len());
    assert!(matches!(ok, Ok(Status::Complete(r)) if r.head_len() == buf.len()));
    let mut slots = [EMPTY_HEADER; 8];
    assert_eq!(
        parse_request(buf.as_bytes(), &mut slots, buf.len() - 1).err(),
        Some(HandshakeError::HeadTooLarge { limit: buf.len() - 1 })
    );
}

#[test]
fn too_many_headers_is_431() {
    let extra: String = (0..27).map(|i| format!("X-H{i}: v\r\n")).collect();
    // 5 required headers + 27 = 32: fits.
    let buf = valid_request_with(&extra);
    assert_eq!(complete_request(buf.as_bytes()).headers().count(), 32);
    // One more does not.
    let extra: String = (0..28).map(|i| format!("X-H{i}: v\r\n")).collect();
    let buf = valid_request_with(&extra);
    assert_request_error(buf.as_bytes(), HandshakeError::TooManyHeaders { limit: 32 }, 431);
    let mut slots = [EMPTY_HEADER; 3];
    assert_eq!(
        parse_request(valid_request_with("").as_bytes(), &mut slots, 8192).err(),
        Some(HandshakeError::TooManyHeaders { limit: 3 })
    );
}

#[test]
fn ssh_preface_is_malformed() {
    assert_request_error(
        b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n",
        HandshakeError::MalformedHttp,
        400,
    );
    assert_request_error(b"SSH-2.0-OpenSSH_9.6\r\n", HandshakeError::MalformedHttp, 400);
}

#[test]
fn http2_prior_knowledge_preface_is_malformed() {
    assert_request_error(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", HandshakeError::MalformedHttp, 400);
}

#[test]
fn tls_client_hello_is_detected() {
    let hello: &[u8] =
        &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x5b, 0x2c, 0x9a];
    assert_request_error(hello, HandshakeError::UnexpectedTls, 400);
    // Already on its first byte.
    assert_request_error(&hello[..1], HandshakeError::UnexpectedTls, 400);
}

#[test]
fn garbage_is_malformed() {
    for buf in [
        &b"\0\0\0\0"[..],
        b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Name: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
        b"GET / HTTP/1.2\r\n\r\n",
        b"GET  / HTTP/1.1\r\n\r\n",
    ] {
        assert_request_error(buf, HandshakeError::MalformedHttp, 400);
    }
}

#[test]
fn http_1_0_is_rejected() {
    let buf = valid_request_with("").replace("HTTP/1.1", "HTTP/1.0");
    assert_request_error(buf.as_bytes(), HandshakeError::UnsupportedHttpVersion, 400);
}

#[test]
fn post_is_rejected() {
    let buf = valid_request_with("").replace("GET", "POST");
    assert_request_error(buf.as_bytes(), HandshakeError::MethodNotGet, 400);
}

#[test]
fn keys_that_are_not_16_bytes_of_base64_are_rejected() {
    for key in [
        "dGhlIHNhbXBsZQ==",             // 10 bytes
        "dGhlIHNhbXBsZSBub25jZSEh",     // 18 bytes, no padding
        "dGhlIHNhbXBsZSBub25jZQ",       // padding missing
        "dGhlIHNhbXBsZSBub25jZQ*=",     // not base64
        "dGhl IHNhbXBsZSBub25jZQ=",     // a space inside
        "dGhlIHNhbXBsZSBub25jZR==",     // not canonical
        "",                             // empty
        "dGhlIHNhbXBsZSBub25jZQ==dGhl", // too long
    ] {
        let buf = request_replacing("Sec-WebSocket-Key:", &format!("Sec-WebSocket-Key: {key}\r\n"));
        assert_request_error(buf.as_bytes(), HandshakeError::InvalidKey, 400);
    }
    let mut buf = valid_request_with("").into_bytes();
    let at = buf.windows(4).position(|w| w == b"ZQ==").unwrap();
    buf[at] = 0xff;
    assert_request_error(&buf, HandshakeError::InvalidKey, 400);
}

#[test]
fn missing_key_is_rejected() {
    let buf = request_replacing("Sec-WebSocket-Key:", "");
    assert_request_error(buf.as_bytes(), HandshakeError::MissingKey, 400);
}

#[test]
fn missing_host_is_rejected() {
    let buf = request_replacing("Host:", "");
    assert_request_error(buf.as_bytes(), HandshakeError::MissingHost, 400);
}

#[test]
fn invalid_host_is_rejected() {
    for line in ["Host:\r\n", "Host: a b\r\n", "Host: h\u{e9}\r\n"] {
        let buf = request_replacing("Host:", line);
        assert_request_error(buf.as_bytes(), HandshakeError::InvalidHost, 400);
    }
}

#[test]
fn duplicate_host_is_rejected() {
    let buf = valid_request_with("Host: evil.example\r\n");
    assert_request_error(buf.as_bytes(), HandshakeError::DuplicateHeader { name: "Host" }, 400);
}

#[test]
fn invalid_origin_is_rejected() {
    let buf = valid_request_with("Origin: http://caf\u{e9}.example\r\n");
    assert_request_error(buf.as_bytes(), HandshakeError::InvalidOrigin, 400);
}

#[test]
fn version_8_is_426() {
    let buf = request_replacing("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 8\r\n");
    assert_request_error(buf.as_bytes(), HandshakeError::UnsupportedVersion, 426);
    let buf = request_replacing("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 13, 8\r\n");
    assert_request_error(buf.as_bytes(), HandshakeError::UnsupportedVersion, 426);
}

#[test]
fn missing_version_is_426() {
    let buf = request_replacing("Sec-WebSocket-Version:", "");
    assert_request_error(buf.as_bytes(), HandshakeError::MissingVersion, 426);
}

#[test]
fn upgrade_h2c_is_not_websocket() {
    let buf = request_replacing("Upgrade:", "Upgrade: h2c\r\n");
    assert_request_error(buf.as_bytes(), HandshakeError::NotWebSocket, 400);
}

#[test]
fn plain_get_is_not_websocket_and_stays_readable() {
    let buf = b"GET /index.html?lang=en HTTP/1.1\r\nHost: example.com\r\n\
                Accept: text/html\r\n\r\n";
    assert_request_error(buf, HandshakeError::NotWebSocket, 400);
    let head = request_head(buf);
    assert!(!head.is_websocket_upgrade());
    assert_eq!(head.method(), "GET");
    assert_eq!(head.path(), "/index.html?lang=en");
    assert_eq!(head.version(), 1);
    assert_eq!(head.header("accept"), Some(&b"text/html"[..]));
    assert_eq!(head.head_len(), buf.len());
    assert_eq!(head.validate().err(), Some(HandshakeError::NotWebSocket));
    // A plain HTTP/1.0 or POST request is "not WebSocket" too, not a
    // version or method error.
    assert_request_error(b"GET / HTTP/1.0\r\n\r\n", HandshakeError::NotWebSocket, 400);
    assert_request_error(
        b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
        HandshakeError::NotWebSocket,
        400,
    );
}

#[test]
fn connection_keep_alive_without_upgrade_is_rejected() {
    let buf = request_replacing("Connection:", "Connection: keep-alive\r\n");
    assert_request_error(buf.as_bytes(), HandshakeError::MissingConnectionUpgrade, 400);
    let buf = request_replacing("Connection:", "");
    assert_request_error(buf.as_bytes(), HandshakeError::MissingConnectionUpgrade, 400);
    let head = request_head(buf.as_bytes());
    assert!(head.is_websocket_upgrade());
}

#[test]
fn malformed_subprotocol_and_extension_lists_are_rejected() {
    let buf = valid_request_with("Sec-WebSocket-Protocol: chat, super chat\r\n");
    assert_request_error(buf.as_bytes(), HandshakeError::InvalidSubprotocols, 400);
    let buf = valid_request_with("Sec-WebSocket-Extensions: permessage-deflate; =1\r\n");
    assert_request_error(buf.as_bytes(), HandshakeError::InvalidExtensions, 400);
}

#[test]
fn error_messages_are_actionable() {
    assert_eq!(
        HandshakeError::UnsupportedVersion.to_string(),
        "unsupported WebSocket version; this server speaks `Sec-WebSocket-Version: 13`"
    );
    assert_eq!(
        HandshakeError::HeadTooLarge { limit: 8192 }.to_string(),
        "the HTTP head did not end within 8192 bytes; send fewer or shorter headers"
    );
    assert_eq!(
        HandshakeError::UnexpectedStatus(401).to_string(),
        "the server answered with status 401 instead of 101 Switching Protocols"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(HandshakeError::InvalidKey);
    assert!(boxed.to_string().contains("Sec-WebSocket-Key"));
}

// ---------------------------------------------------------------- server: writers

#[test]
fn write_accept_reports_the_size_and_leaves_the_buffer_untouched() {
    let req = complete_request(CHROME_REQUEST);
    let options = AcceptOptions::default();
    let mut big = [0u8; 256];
    let needed = write_accept(&req, &options, &mut big).unwrap();
    assert_eq!(needed, 129);
    let mut small = vec![0xAA; needed - 1];
    assert_eq!(
        write_accept(&req, &options, &mut small),
        Err(WriteError::BufferTooSmall { needed })
    );
    assert!(small.iter().all(|&b| b == 0xAA));
    let mut exact = vec![0xAA; needed];
    assert_eq!(write_accept(&req, &options, &mut exact), Ok(needed));
    assert_eq!(exact, big[..needed]);
    assert_eq!(write_accept(&req, &options, &mut []), Err(WriteError::BufferTooSmall { needed }));
}

#[test]
fn write_accept_refuses_injection_and_unoffered_choices() {
    let buf = valid_request_with(
        "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n",
    );
    let req = complete_request(buf.as_bytes());
    let mut out = [0xAAu8; 512];
    let cases: [(AcceptOptions<'_>, WriteError); 8] = [
        (
            AcceptOptions {
                extra_headers: &[("Server", "x"), ("X-Evil", "1\r\nSet-Cookie: a=b")],
                ..AcceptOptions::default()
            },
            WriteError::InvalidHeaderValue { index: 1 },
        ),
        (
            AcceptOptions {
                extra_headers: &[("X-Evil\r\nSet-Cookie", "a=b")],
                ..AcceptOptions::default()
            },
            WriteError::InvalidHeaderName { index: 0 },
        ),
        (
            AcceptOptions {
                extra_headers: &[("sec-websocket-accept", "forged")],
                ..AcceptOptions::default()
            },
            WriteError::ReservedHeader { index: 0 },
        ),
        (
            AcceptOptions { subprotocol: Some("chat\r\nX-Evil: 1"), ..AcceptOptions::default() },
            WriteError::InvalidSubprotocol,
        ),
        (
            AcceptOptions { subprotocol: Some(""), ..AcceptOptions::default() },
            WriteError::InvalidSubprotocol,
        ),
        (
            AcceptOptions { subprotocol: Some("superchat"), ..AcceptOptions::default() },
            WriteError::SubprotocolNotOffered,
        ),
        (
            AcceptOptions {
                extensions: Some("permessage-deflate\r\nX-Evil: 1"),
                ..AcceptOptions::default()
            },
            WriteError::InvalidExtensions,
        ),
        (
            AcceptOptions {
                extensions: Some("x-webkit-deflate-frame"),
                ..AcceptOptions::default()
            },
            WriteError::ExtensionNotOffered,
        ),
    ];
    for (options, error) in cases {
        assert_eq!(write_accept(&req, &options, &mut out), Err(error));
        assert!(out.iter().all(|&b| b == 0xAA));
    }
}

#[test]
fn write_accept_key_for_a_foreign_parser() {
    let mut out = [0u8; 256];
    let accept = accept_key(b"dGhlIHNhbXBsZSBub25jZQ==");
    let options = AcceptOptions {
        subprotocol: Some("anything"),
        extensions: Some(" "),
        ..AcceptOptions::default()
    };
    let n = write_accept_key(&accept, &options, &mut out).unwrap();
    assert_eq!(
        std::str::from_utf8(&out[..n]).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
         Sec-WebSocket-Protocol: anything\r\n\r\n"
    );
}

fn reject(status: u16, extra: &[(&str, &str)]) -> Result<String, WriteError> {
    let mut out = [0u8; 512];
    let n = write_reject(status, extra, &mut out)?;
    Ok(String::from_utf8(out[..n].to_vec()).unwrap())
}

#[test]
fn write_reject_outputs() {
    assert_eq!(
        reject(400, &[]).unwrap(),
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(
        reject(403, &[]).unwrap(),
        "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(
        reject(426, &[]).unwrap(),
        "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n\
         Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(
        reject(431, &[]).unwrap(),
        "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\
         Content-Length: 0\r\n\r\n"
    );
    assert_eq!(
        reject(308, &[("Location", "wss://example.com/chat")]).unwrap(),
        "HTTP/1.1 308 Permanent Redirect\r\nConnection: close\r\nContent-Length: 0\r\n\
         Location: wss://example.com/chat\r\n\r\n"
    );
    assert_eq!(reject(101, &[]), Err(WriteError::InvalidStatus(101)));
    assert_eq!(reject(200, &[]), Err(WriteError::InvalidStatus(200)));
    assert_eq!(reject(400, &[("X", "a\nb")]), Err(WriteError::InvalidHeaderValue { index: 0 }));
    assert_eq!(
        reject(400, &[("Content-Length", "5")]),
        Err(WriteError::ReservedHeader { index: 0 })
    );
    assert_eq!(
        reject(426, &[("sec-websocket-version", "8")]),
        Err(WriteError::ReservedHeader { index: 0 })
    );
    assert_eq!(reject(400, &[("Sec-WebSocket-Version", "13")]).map(|s| s.len()), Ok(93));
}

#[test]
fn write_reject_reports_the_size_and_leaves_the_buffer_untouched() {
    let mut out = [0x55u8; 60];
    assert_eq!(write_reject(431, &[], &mut out), Err(WriteError::BufferTooSmall { needed: 86 }));
    assert!(out.iter().all(|&b| b == 0x55));
}

#[test]
fn write_error_response_outputs() {
    let mut out = [0u8; 512];
    let n = write_error_response(&HandshakeError::InvalidKey, &mut out).unwrap();
    assert_eq!(
        std::str::from_utf8(&out[..n]).unwrap(),
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Length: 70\r\n\r\n\
         `Sec-WebSocket-Key` must be 16 random bytes in base64 (24 characters)\n"
    );
    let n = write_error_response(&HandshakeError::MissingVersion, &mut out).unwrap();
    let text = std::str::from_utf8(&out[..n]).unwrap();
    assert!(text.starts_with(
        "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n\
         Connection: Upgrade, close\r\nSec-WebSocket-Version: 13\r\n"
    ));
    let n = write_error_response(&HandshakeError::TooManyHeaders { limit: 32 }, &mut out).unwrap();
    let text = std::str::from_utf8(&out[..n]).unwrap();
    assert!(text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
    assert!(
        text.ends_with("\r\n\r\nthe HTTP head has more than 32 header lines; send fewer headers\n")
    );
    // The body length announced is the body length sent.
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.ends_with(&format!("\r\nContent-Length: {}", body.len())));

    let mut small = [0u8; 100];
    assert_eq!(
        write_error_response(&HandshakeError::TooManyHeaders { limit: 32 }, &mut small),
        Err(WriteError::BufferTooSmall { needed: n })
    );
    assert!(small.iter().all(|&b| b == 0));
}

// ---------------------------------------------------------------- client: request writer

#[test]
fn write_request_is_byte_exact() {
    let key = ClientKey::from_random(RFC_KEY);
    let request = ClientRequest {
        host: "server.example.com",
        path: "/chat?room=1",
        subprotocols: &["chat", "superchat"],
        extensions: Some("permessage-deflate; client_max_window_bits"),
        extra_headers: &[
            ("Origin", "http://example.com"),
            ("Authorization", "Bearer abc.def"),
            ("Cookie", "a=1; b=2"),
        ],
    };
    let mut out = [0u8; 1024];
    let n = write_request(&request, &key, &mut out).unwrap();
    assert_eq!(
        std::str::from_utf8(&out[..n]).unwrap(),
        "GET /chat?room=1 HTTP/1.1\r\n\
         Host: server.example.com\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: chat, superchat\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
         Origin: http://example.com\r\n\
         Authorization: Bearer abc.def\r\n\
         Cookie: a=1; b=2\r\n\r\n"
    );

    // Our own server accepts it with every field intact.
    let req = complete_request(&out[..n]);
    assert_eq!(req.path(), "/chat?room=1");
    assert_eq!(req.origin(), Some("http://example.com"));
    assert_eq!(req.subprotocols().collect::<Vec<_>>(), ["chat", "superchat"]);
    assert_eq!(req.accept_key(), key.accept_key());
}

#[test]
fn write_request_minimal() {
    let key = ClientKey::from_random([0; 16]);
    let mut out = [0u8; 256];
    let n = write_request(&ClientRequest::new("h", "/"), &key, &mut out).unwrap();
    assert_eq!(
        std::str::from_utf8(&out[..n]).unwrap(),
        "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
}

#[test]
fn write_request_reports_the_size_and_leaves_the_buffer_untouched() {
    let key = ClientKey::from_random([0; 16]);
    let request = ClientRequest::new("h", "/");
    let mut out = [7u8; 100];
    assert_eq!(
        write_request(&request, &key, &mut out),
        Err(WriteError::BufferTooSmall { needed: 140 })
    );
    assert!(out.iter().all(|&b| b == 7));
}

#[test]
fn write_request_refuses_bad_input() {
    let key = ClientKey::from_random([0; 16]);
    let base = ClientRequest::new("example.com", "/chat");
    let cases = [
        (ClientRequest { host: "example.com\r\nX-Evil: 1", ..base }, WriteError::InvalidHost),
        (ClientRequest { host: "", ..base }, WriteError::InvalidHost),
        (ClientRequest { path: "/chat HTTP/1.1\r\nX-Evil: 1", ..base }, WriteError::InvalidPath),
        (ClientRequest { path: "chat", ..base }, WriteError::InvalidPath),
        (ClientRequest { path: "/caf\u{e9}", ..base }, WriteError::InvalidPath),
        (ClientRequest { subprotocols: &["chat", "a,b"], ..base }, WriteError::InvalidSubprotocol),
        (
            ClientRequest { subprotocols: &["chat", "mqtt", "chat"], ..base },
            WriteError::DuplicateSubprotocol,
        ),
        (
            ClientRequest { extensions: Some("permessage-deflate\r\nX-Evil: 1"), ..base },
            WriteError::InvalidExtensions,
        ),
        (
            ClientRequest { extra_headers: &[("Origin", "http://a\r\nX-Evil: 1")], ..base },
            WriteError::InvalidHeaderValue { index: 0 },
        ),
        (
            ClientRequest { extra_headers: &[("Origin", "o"), ("", "x")], ..base },
            WriteError::InvalidHeaderName { index: 1 },
        ),
        (
            ClientRequest { extra_headers: &[("Sec-WebSocket-Key", "forged")], ..base },
            WriteError::ReservedHeader { index: 0 },
        ),
    ];
    for (request, error) in cases {
        let mut out = [0xAAu8; 512];
        assert_eq!(write_request(&request, &key, &mut out), Err(error), "{request:?}");
        assert!(out.iter().all(|&b| b == 0xAA));
    }
}

// ---------------------------------------------------------------- client: response check

#[test]
fn rfc_6455_response_example() {
    let offer = ClientRequest {
        subprotocols: &["chat", "superchat"],
        ..ClientRequest::new("server.example.com", "/chat")
    };
    let buf = answer_with("Sec-WebSocket-Protocol: chat\r\n");
    let res = match response(buf.as_bytes(), &ClientKey::from_random(RFC_KEY), &offer) {
        Ok(Status::Complete(res)) => res,
        other => panic!("{other:?}"),
    };
    assert_eq!(res.status(), 101);
    assert_eq!(res.subprotocol(), Some("chat"));
    assert_eq!(res.extensions().count(), 0);
    assert_eq!(res.header("sec-websocket-accept"), Some(RFC_ACCEPT.as_bytes()));
    assert_eq!(res.headers().count(), 4);
    assert_eq!(res.head_len(), buf.len());
}

#[test]
fn response_bytes_after_the_head_are_preserved() {
    let offer = ClientRequest::new("h", "/");
    let key = ClientKey::from_random(RFC_KEY);
    let mut buf = answer_with("").into_bytes();
    let head_len = buf.len();
    buf.extend_from_slice(b"\x81\x05Hello");
    let Ok(Status::Complete(res)) = response(&buf, &key, &offer) else { panic!() };
    assert_eq!(res.head_len(), head_len);
    assert_eq!(&buf[res.head_len()..], b"\x81\x05Hello");
    assert_eq!(res.subprotocol(), None);

    // The same with bare LF line ends.
    let lf = answer_with("").replace("\r\n", "\n") + "\x01\x00";
    let Ok(Status::Complete(res)) = response(lf.as_bytes(), &key, &offer) else { panic!() };
    assert_eq!(&lf.as_bytes()[res.head_len()..], b"\x01\x00");
    assert_eq!(res.header("upgrade"), Some(&b"websocket"[..]));
}

#[test]
fn accepted_extension_with_parameters() {
    let offer = ClientRequest {
        extensions: Some("permessage-deflate; client_max_window_bits, x-webkit-deflate-frame"),
        ..ClientRequest::new("h", "/")
    };
    let buf = answer_with(
        "Sec-WebSocket-Extensions: Permessage-Deflate; server_no_context_takeover; \
         client_max_window_bits=\"12\"\r\n",
    );
    let Ok(Status::Complete(res)) =
        response(buf.as_bytes(), &ClientKey::from_random(RFC_KEY), &offer)
    else {
        panic!()
    };
    let ext: Vec<_> =
        res.extensions().map(|e| (e.name(), e.params().collect::<Vec<_>>())).collect();
    assert_eq!(
        ext,
        [(
            "Permessage-Deflate",
            vec![("server_no_context_takeover", None), ("client_max_window_bits", Some("12"))]
        )]
    );
}

#[test]
fn wrong_accept_is_rejected() {
    let offer = ClientRequest::new("h", "/");
    let buf = answer_with("").replace(RFC_ACCEPT, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
    let error = response_error(buf.as_bytes(), &offer);
    assert_eq!(error, HandshakeError::AcceptMismatch);
    assert_eq!(error.status(), 502);
    // Accepting another client's key is a mismatch too.
    let buf = answer_with("");
    let other_key = ClientKey::from_random([1; 16]);
    assert_eq!(
        response(buf.as_bytes(), &other_key, &offer).err(),
        Some(HandshakeError::AcceptMismatch)
    );
}

#[test]
fn missing_or_duplicate_accept_is_rejected() {
    let offer = ClientRequest::new("h", "/");
    let buf =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    assert_eq!(response_error(buf.as_bytes(), &offer), HandshakeError::MissingAccept);
    let buf = answer_with(&format!("Sec-WebSocket-Accept: {RFC_ACCEPT}\r\n"));
    assert_eq!(
        response_error(buf.as_bytes(), &offer),
        HandshakeError::DuplicateHeader { name: "Sec-WebSocket-Accept" }
    );
}

#[test]
fn missing_upgrade_or_connection_in_the_answer_is_rejected() {
    let offer = ClientRequest::new("h", "/");
    let buf = answer_with("").replace("Upgrade: websocket\r\n", "");
    assert_eq!(response_error(buf.as_bytes(), &offer), HandshakeError::MissingUpgrade);
    let buf = answer_with("").replace("Upgrade: websocket\r\n", "Upgrade: h2c\r\n");
    assert_eq!(response_error(buf.as_bytes(), &offer), HandshakeError::MissingUpgrade);
    let buf = answer_with("").replace("Connection: Upgrade\r\n", "Connection: keep-alive\r\n");
    assert_eq!(response_error(buf.as_bytes(), &offer), HandshakeError::MissingConnectionUpgrade);
}

#[test]
fn redirect_is_an_error_with_readable_location() {
    let key = ClientKey::from_random(RFC_KEY);
    let offer = ClientRequest::new("example.com", "/chat");
    let buf = b"HTTP/1.1 301 Moved Permanently\r\nLocation: wss://example.com/chat\r\n\
                Content-Length: 0\r\n\r\n";
    assert_eq!(response_error(buf, &offer), HandshakeError::UnexpectedStatus(301));
    let mut slots = [EMPTY_HEADER; 16];
    let Ok(Status::Complete(head)) = ResponseHead::parse(buf, &mut slots, 8192) else { panic!() };
    assert_eq!(head.validate(&key, &offer).err(), Some(HandshakeError::UnexpectedStatus(301)));
    assert_eq!(head.status(), 301);
    assert_eq!(head.reason(), "Moved Permanently");
    assert_eq!(head.version(), 1);
    assert_eq!(head.header("Location"), Some(&b"wss://example.com/chat"[..]));
    assert_eq!(head.head_len(), buf.len());
}

#[test]
fn unauthorized_is_an_error_with_readable_challenge() {
    let key = ClientKey::from_random(RFC_KEY);
    let offer = ClientRequest::new("example.com", "/chat");
    let buf = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"chat\"\r\n\
                Content-Length: 12\r\n\r\nunauthorized";
    let mut slots = [EMPTY_HEADER; 16];
    let Ok(Status::Complete(head)) = ResponseHead::parse(buf, &mut slots, 8192) else { panic!() };
    assert_eq!(head.validate(&key, &offer).err(), Some(HandshakeError::UnexpectedStatus(401)));
    assert_eq!(head.header("www-authenticate"), Some(&b"Basic realm=\"chat\""[..]));
    assert_eq!(&buf[head.head_len()..], b"unauthorized");
}

#[test]
fn unoffered_subprotocol_is_rejected() {
    let offer = ClientRequest { subprotocols: &["chat"], ..ClientRequest::new("h", "/") };
    let buf = answer_with("Sec-WebSocket-Protocol: superchat\r\n");
    let error = response_error(buf.as_bytes(), &offer);
    assert_eq!(error, HandshakeError::SubprotocolNotOffered);
    assert_eq!(error.status(), 502);
    // Case matters for subprotocols.
    let buf = answer_with("Sec-WebSocket-Protocol: Chat\r\n");
    assert_eq!(response_error(buf.as_bytes(), &offer), HandshakeError::SubprotocolNotOffered);
    // Nothing offered, something chosen.
    let buf = answer_with("Sec-WebSocket-Protocol: chat\r\n");
    assert_eq!(
        response_error(buf.as_bytes(), &ClientRequest::new("h", "/")),
        HandshakeError::SubprotocolNotOffered
    );
}

#[test]
fn more_than_one_subprotocol_is_rejected() {
    let offer =
        ClientRequest { subprotocols: &["chat", "superchat"], ..ClientRequest::new("h", "/") };
    let buf = answer_with("Sec-WebSocket-Protocol: chat, superchat\r\n");
    assert_eq!(response_error(buf.as_bytes(), &offer), HandshakeError::MultipleSubprotocols);
    let buf = answer_with("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n");
    assert_eq!(response_error(buf.as_bytes(), &offer), HandshakeError::MultipleSubprotocols);
    let buf = answer_with("Sec-WebSocket-Protocol: chat/1\r\n");
    assert_eq!(response_error(buf.as_bytes(), &offer), HandshakeError::InvalidSubprotocols);
}

#[test]
fn unoffered_extension_is_rejected() {
    let offer =
        ClientRequest { extensions: Some("permessage-deflate"), ..ClientRequest::new("h", "/") };
    let buf = answer_with("Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n");
    let error = response_error(buf.as_bytes(), &offer);
    assert_eq!(error, HandshakeError::ExtensionNotOffered);
    assert_eq!(error.status(), 502);
    let buf = answer_with("Sec-WebSocket-Extensions: permessage-deflate\r\n");
    assert_eq!(
        response_error(buf.as_bytes(), &ClientRequest::new("h", "/")),
        HandshakeError::ExtensionNotOffered
    );
    let buf = answer_with("Sec-WebSocket-Extensions: permessage-deflate;;\r\n");
    assert_eq!(response_error(buf.as_bytes(), &offer), HandshakeError::InvalidExtensions);
}

#[test]
fn http_1_0_answer_and_tls_alert_are_rejected() {
    let offer = ClientRequest::new("h", "/");
    let buf = answer_with("").replace("HTTP/1.1", "HTTP/1.0");
    assert_eq!(response_error(buf.as_bytes(), &offer), HandshakeError::UnsupportedHttpVersion);
    assert_eq!(
        response_error(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46], &offer),
        HandshakeError::UnexpectedTls
    );
    assert_eq!(response_error(b"SSH-2.0-OpenSSH_9.6\r\n", &offer), HandshakeError::MalformedHttp);
}

#[test]
fn response_limits() {
    let offer = ClientRequest::new("h", "/");
    let key = ClientKey::from_random(RFC_KEY);
    let buf = answer_with(&format!("X: {}\r\n", "b".repeat(100)));
    let mut slots = [EMPTY_HEADER; 32];
    assert_eq!(
        parse_response(buf.as_bytes(), &mut slots, 100, &key, &offer).err(),
        Some(HandshakeError::HeadTooLarge { limit: 100 })
    );
    let mut slots = [EMPTY_HEADER; 2];
    assert_eq!(
        parse_response(buf.as_bytes(), &mut slots, 8192, &key, &offer).err(),
        Some(HandshakeError::TooManyHeaders { limit: 2 })
    );
    let mut slots = [EMPTY_HEADER; 32];
    assert_eq!(
        parse_response(&buf.as_bytes()[..50], &mut slots, 8192, &key, &offer).ok(),
        Some(Status::Partial)
    );
}

// ---------------------------------------------------------------- both sides together

#[test]
fn client_and_server_agree() {
    let key = ClientKey::from_random(*b"0123456789abcdef");
    let offer = ClientRequest {
        subprotocols: &["v2.chat", "v1.chat"],
        extensions: Some("permessage-deflate; client_max_window_bits"),
        extra_headers: &[("Origin", "https://example.com")],
        ..ClientRequest::new("example.com:8443", "/ws?token=abc")
    };
    let mut request_buf = [0u8; 1024];
    let n = write_request(&offer, &key, &mut request_buf).unwrap();

    let req = complete_request(&request_buf[..n]);
    assert_eq!(req.host(), "example.com:8443");
    let chosen = req.subprotocols().find(|p| p.starts_with("v1"));
    let deflate = req.extensions().find(|e| e.name() == "permessage-deflate");
    assert!(deflate.is_some());
    let options = AcceptOptions {
        subprotocol: chosen,
        extensions: Some("permessage-deflate; client_max_window_bits=15"),
        ..AcceptOptions::default()
    };
    let mut response_buf = [0u8; 1024];
    let m = write_accept(&req, &options, &mut response_buf).unwrap();

    let Ok(Status::Complete(res)) = response(&response_buf[..m], &key, &offer) else { panic!() };
    assert_eq!(res.subprotocol(), Some("v1.chat"));
    let ext = res.extensions().next().unwrap();
    assert_eq!(ext.param("client_max_window_bits"), Some(Some("15")));
    assert_eq!(res.head_len(), m);
}
