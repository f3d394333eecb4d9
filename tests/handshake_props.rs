//! Property tests of `wscore::handshake`: chunking does not change the
//! outcome, arbitrary input never panics, the header scanner agrees with
//! httparse, and what the writers write parses back.

use proptest::collection::vec;
use proptest::prelude::*;
use wscore::handshake::{
    parse_request, parse_response, write_accept, write_request, AcceptOptions, ClientKey,
    ClientRequest, Header, Request, RequestHead, Response, ResponseHead, Status, EMPTY_HEADER,
};

const MAX: usize = 8192;

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,12}"
}

/// Extension offers: `name; p; q=v; r="w"`, rendered.
fn extension_list() -> impl Strategy<Value = Option<String>> {
    let param =
        (token(), prop::option::of((token(), any::<bool>()))).prop_map(
            |(name, value)| match value {
                None => name,
                Some((v, false)) => format!("{name}={v}"),
                Some((v, true)) => format!("{name} = \"{v}\""),
            },
        );
    let ext = (token(), vec(param, 0..3)).prop_map(|(name, params)| {
        std::iter::once(name).chain(params).collect::<Vec<_>>().join("; ")
    });
    prop::option::of(vec(ext, 1..4).prop_map(|exts| exts.join(", ")))
}

/// Everything a client may put in its request, owned.
#[derive(Debug, Clone)]
struct Offer {
    host: String,
    path: String,
    subprotocols: Vec<String>,
    extensions: Option<String>,
    extra: Vec<(String, String)>,
    key: [u8; 16],
    bare_lf: bool,
    trailing: Vec<u8>,
}

impl Offer {
    fn with_request<R>(&self, f: impl FnOnce(&ClientRequest<'_>) -> R) -> R {
        let subprotocols: Vec<&str> = self.subprotocols.iter().map(String::as_str).collect();
        let extra: Vec<(&str, &str)> =
            self.extra.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        f(&ClientRequest {
            host: &self.host,
            path: &self.path,
            subprotocols: &subprotocols,
            extensions: self.extensions.as_deref(),
            extra_headers: &extra,
        })
    }

    /// The request bytes (head, then trailing bytes) and the head length.
    fn bytes(&self) -> (Vec<u8>, usize) {
        let mut out = vec![0u8; 4096];
        let n = self
            .with_request(|r| write_request(r, &ClientKey::from_random(self.key), &mut out))
            .expect("generated offers are valid");
        let mut head = out[..n].to_vec();
        if self.bare_lf {
            head = String::from_utf8(head).expect("ASCII").replace("\r\n", "\n").into_bytes();
        }
        let head_len = head.len();
        head.extend_from_slice(&self.trailing);
        (head, head_len)
    }
}

fn offer() -> impl Strategy<Value = Offer> {
    (
        "[a-z0-9.-]{1,20}(:[0-9]{1,5})?",
        "/[!-~]{0,30}",
        vec(token(), 0..4),
        extension_list(),
        vec(("X-[a-zA-Z0-9-]{1,10}", "[ -~]{0,20}"), 0..4),
        any::<[u8; 16]>(),
        any::<bool>(),
        vec(any::<u8>(), 0..16),
    )
        .prop_map(
            |(host, path, mut subprotocols, extensions, extra, key, bare_lf, trailing)| {
                subprotocols.sort();
                subprotocols.dedup();
                Offer { host, path, subprotocols, extensions, extra, key, bare_lf, trailing }
            },
        )
}

fn parse_req(buf: &[u8]) -> Result<Status<Request<'_>>, wscore::handshake::HandshakeError> {
    let mut slots = [EMPTY_HEADER; 32];
    parse_request(buf, &mut slots, MAX)
}

/// Calls every accessor of a request head and its validated view, so that
/// arbitrary input exercises the lazy scanners too.
fn exercise_request_head(head: &RequestHead<'_>) {
    let _ = (head.method(), head.path(), head.version(), head.head_len());
    let _ = head.headers().count();
    let _ = head.header("host");
    let _ = head.is_websocket_upgrade();
    if let Ok(req) = head.validate() {
        exercise_request(&req);
    }
}

fn exercise_request(req: &Request<'_>) {
    let _ = (req.path(), req.host(), req.origin(), req.key(), req.accept_key());
    let _ = req.subprotocols().count();
    for ext in req.extensions() {
        let _ = (ext.name(), ext.params().count(), ext.param("x"));
    }
    let _ = req.headers().count();
}

fn exercise_response(res: &Response<'_>) {
    let _ = (res.status(), res.subprotocol(), res.head_len());
    for ext in res.extensions() {
        let _ = (ext.name(), ext.params().count());
    }
    let _ = res.headers().count();
    let _ = res.header("upgrade");
}

/// The headers httparse stored in the slots (filled from the front).
fn slot_headers<'b>(slots: &[Header<'b>]) -> Vec<(&'b str, &'b [u8])> {
    slots.iter().take_while(|h| !h.name.is_empty()).map(|h| (h.name, h.value)).collect()
}

/// Heads whose header lines mix valid `name: value` lines with bytes that
/// make scanning interesting: separators, whitespace, line ends, controls,
/// high bytes.
fn header_soup() -> impl Strategy<Value = Vec<u8>> {
    let soup = |n: usize| {
        vec(
            prop_oneof![
                8 => proptest::sample::select(b"aZ9-_:;,= \t\"\\".to_vec()),
                1 => proptest::sample::select(b"\r\n\x00\x7f\x80\xff".to_vec()),
            ],
            0..n,
        )
    };
    let line = prop_oneof![
        4 => ("[a-zA-Z0-9-]{1,8}", "[ \t]{0,2}", soup(16)).prop_map(|(name, ows, value)| {
            let mut line = format!("{name}:{ows}").into_bytes();
            line.extend_from_slice(&value);
            line
        }),
        1 => soup(24),
    ];
    vec(line, 0..8).prop_map(|lines| {
        let mut out = b"GET /x HTTP/1.1\r\n".to_vec();
        for l in lines {
            out.extend_from_slice(&l);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Feeding a valid request in growing prefixes (any chunking, down to
    /// single bytes) gives Partial until the head is complete, then the same
    /// request, whatever follows.
    #[test]
    fn request_chunking_gives_partial_then_the_same_request(offer in offer()) {
        let (buf, head_len) = offer.bytes();
        let whole = match parse_req(&buf) {
            Ok(Status::Complete(req)) => req,
            other => panic!("{other:?}"),
        };
        prop_assert_eq!(whole.head_len(), head_len);
        prop_assert_eq!(whole.host(), offer.host.as_str());
        prop_assert_eq!(whole.path(), offer.path.as_str());
        let key = ClientKey::from_random(offer.key);
        prop_assert_eq!(whole.key(), key.as_str());
        prop_assert!(whole.subprotocols().eq(offer.subprotocols.iter().map(String::as_str)));
        let offered_names: Vec<&str> = offer
            .extensions
            .as_deref()
            .map(|e| e.split(", ").map(|x| x.split(';').next().unwrap_or("")).collect())
            .unwrap_or_default();
        prop_assert!(whole.extensions().map(|e| e.name()).eq(offered_names));
        let extra: Vec<(&str, &[u8])> = whole
            .headers()
            .filter(|h| h.name.starts_with("X-"))
            .map(|h| (h.name, h.value))
            .collect();
        let expected: Vec<(&str, &[u8])> = offer
            .extra
            .iter()
            .map(|(n, v)| (n.as_str(), v.trim_matches([' ', '\t']).as_bytes()))
            .collect();
        prop_assert_eq!(extra, expected);
        for len in 0..head_len {
            prop_assert_eq!(parse_req(&buf[..len]), Ok(Status::Partial), "prefix {}", len);
        }
        for len in head_len..=buf.len() {
            prop_assert_eq!(parse_req(&buf[..len]), Ok(Status::Complete(whole)));
        }
    }

    /// The same for the server's answer, checked by the client.
    #[test]
    fn response_chunking_gives_partial_then_the_same_response(
        offer in offer(),
        pick in any::<prop::sample::Index>(),
        choose in any::<bool>(),
        trailing in vec(any::<u8>(), 0..16),
    ) {
        let (buf, _) = offer.bytes();
        let req = match parse_req(&buf) {
            Ok(Status::Complete(req)) => req,
            other => panic!("{other:?}"),
        };
        let subprotocol = if choose && !offer.subprotocols.is_empty() {
            Some(pick.get(&offer.subprotocols).as_str())
        } else {
            None
        };
        let first_ext = req.extensions().next().map(|e| e.name());
        let options = AcceptOptions {
            subprotocol,
            extensions: if choose { first_ext } else { None },
            extra_headers: &[("Server", "wscore")],
        };
        let mut out = vec![0u8; 4096];
        let n = write_accept(&req, &options, &mut out).expect("valid answer");
        let mut answer = out[..n].to_vec();
        answer.extend_from_slice(&trailing);

        let key = ClientKey::from_random(offer.key);
        offer.with_request(|request| {
            let parse = |len: usize| {
                let mut slots = [EMPTY_HEADER; 32];
                parse_response(&answer[..len], &mut slots, MAX, &key, request)
            };
            let whole = match parse(answer.len()) {
                Ok(Status::Complete(res)) => res,
                other => panic!("{other:?}"),
            };
            prop_assert_eq!(whole.head_len(), n);
            prop_assert_eq!(whole.subprotocol(), subprotocol);
            prop_assert!(whole.extensions().map(|e| e.name()).eq(options.extensions));
            for len in 0..n {
                prop_assert_eq!(parse(len), Ok(Status::Partial), "prefix {}", len);
            }
            for len in n..=answer.len() {
                prop_assert_eq!(parse(len), Ok(Status::Complete(whole)));
            }
            Ok::<(), TestCaseError>(())
        })?;
    }

    /// Arbitrary bytes, limits and slot counts never panic, and a complete
    /// head never exceeds the limit or the input.
    #[test]
    fn arbitrary_bytes_never_panic(
        buf in vec(any::<u8>(), 0..600),
        slots in 0usize..40,
        max in 0usize..700,
        key in any::<[u8; 16]>(),
    ) {
        let mut slot_buf = vec![EMPTY_HEADER; slots];
        match RequestHead::parse(&buf, &mut slot_buf, max) {
            Ok(Status::Complete(head)) => {
                prop_assert!(head.head_len() <= max.min(buf.len()));
                exercise_request_head(&head);
            }
            Ok(Status::Partial) => prop_assert!(buf.len() < max),
            Err(e) => {
                let _ = (e.status(), e.to_string());
            }
        }
        let mut slot_buf = vec![EMPTY_HEADER; slots];
        let _ = parse_request(&buf, &mut slot_buf, max);

        let key = ClientKey::from_random(key);
        let offer = ClientRequest {
            subprotocols: &["chat", "a"],
            extensions: Some("permessage-deflate, x"),
            ..ClientRequest::new("h", "/")
        };
        let mut slot_buf = vec![EMPTY_HEADER; slots];
        if let Ok(Status::Complete(head)) = ResponseHead::parse(&buf, &mut slot_buf, max) {
            prop_assert!(head.head_len() <= max.min(buf.len()));
            let _ = (head.status(), head.reason(), head.headers().count());
            if let Ok(res) = head.validate(&key, &offer) {
                exercise_response(&res);
            }
        }
        let mut slot_buf = vec![EMPTY_HEADER; slots];
        let _ = parse_response(&buf, &mut slot_buf, max, &key, &offer);
    }

    /// Valid requests with random damage (bytes replaced, inserted, removed)
    /// never panic, and whatever still parses is fully readable.
    #[test]
    fn damaged_requests_never_panic(
        offer in offer(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let (mut buf, _) = offer.bytes();
        for (at, byte, kind) in edits {
            if buf.is_empty() {
                break;
            }
            let i = at.index(buf.len());
            match kind {
                0 => buf[i] = byte,
                1 => buf.insert(i, byte),
                _ => {
                    buf.remove(i);
                }
            }
        }
        let mut slots = [EMPTY_HEADER; 32];
        if let Ok(Status::Complete(head)) = RequestHead::parse(&buf, &mut slots, MAX) {
            exercise_request_head(&head);
        }
        if let Ok(Status::Complete(req)) = parse_req(&buf) {
            exercise_request(&req);
        }
    }

    /// The lazy header scanner sees exactly the headers httparse parsed.
    #[test]
    fn header_scanner_agrees_with_httparse(soup in header_soup(), lf in any::<bool>()) {
        let buf = if lf {
            soup.iter().copied().filter(|&b| b != b'\r').collect()
        } else {
            soup
        };
        let mut slots = [EMPTY_HEADER; 16];
        let parsed = RequestHead::parse(&buf, &mut slots, MAX);
        if let Ok(Status::Complete(head)) = parsed {
            let scanned: Vec<_> = head.headers().map(|h| (h.name, h.value)).collect();
            prop_assert_eq!(scanned, slot_headers(&slots));
        }
    }

    /// What `write_request` accepts parses back; what it refuses it does not
    /// write. Arbitrary strings never panic.
    #[test]
    fn write_request_output_parses_back(
        host in "\\PC{0,12}|[ -~]{0,12}",
        path in "/\\PC{0,12}|/[ -~]{0,12}|[\\x00-\\x7f]{0,12}",
        subprotocols in vec("[\\x00-\\x7f]{0,6}", 0..3),
        extensions in prop::option::of("[\\x00-\\x7f]{0,24}"),
        extra in vec(("[\\x00-\\x7f]{0,8}", "\\PC{0,12}|[\\x00-\\x7f]{0,12}"), 0..3),
        key in any::<[u8; 16]>(),
    ) {
        let subprotocols: Vec<&str> = subprotocols.iter().map(String::as_str).collect();
        let extra: Vec<(&str, &str)> = extra.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let request = ClientRequest {
            host: &host,
            path: &path,
            subprotocols: &subprotocols,
            extensions: extensions.as_deref(),
            extra_headers: &extra,
        };
        let mut out = vec![0xA5u8; 2048];
        match write_request(&request, &ClientKey::from_random(key), &mut out) {
            Ok(n) => {
                let mut slots = [EMPTY_HEADER; 32];
                let head = match RequestHead::parse(&out[..n], &mut slots, MAX) {
                    Ok(Status::Complete(head)) => head,
                    other => panic!("{other:?}"),
                };
                prop_assert_eq!(head.head_len(), n);
                prop_assert_eq!(head.path(), path.as_str());
                prop_assert!(head.is_websocket_upgrade());
                let names: Vec<&str> = head.headers().map(|h| h.name).collect();
                prop_assert_eq!(names.len(), 5
                    + usize::from(!subprotocols.is_empty())
                    + usize::from(head.header("sec-websocket-extensions").is_some())
                    + extra.len());
                prop_assert!(out[n..].iter().all(|&b| b == 0xA5));
            }
            Err(_) => prop_assert!(out.iter().all(|&b| b == 0xA5)),
        }
    }
}
