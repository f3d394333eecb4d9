//! Reading header fields back out of a head that httparse already validated:
//! the line scanner ([`Headers`]), comma lists, HTTP tokens, and the
//! subprotocol list ([`Subprotocols`]).
//!
//! The views ([`Request`](super::Request), [`Response`](super::Response), ...)
//! keep only the head bytes, not httparse's header slots, so every lookup
//! re-scans the head. The head is small and bounded by `max_head_len`, and
//! httparse has already rejected anything irregular (a header name that is
//! not a token, a colon preceded by space, obsolete line folding, a bare CR),
//! so a line scan gives exactly the fields httparse saw; a property test
//! checks that against httparse itself.

use super::Header;

/// Whether `b` may appear in an HTTP token (RFC 7230 section 3.2.6 `tchar`).
pub(crate) const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.'
        | b'^' | b'_' | b'`' | b'|' | b'~'
        | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Whether `s` is a non-empty HTTP token.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Whether `s` is non-empty and made only of visible ASCII (no space).
pub(crate) fn is_visible_ascii(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| b.is_ascii_graphic())
}

/// `s` without leading and trailing optional whitespace (space, tab).
pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Splits the first line off `s`: returns the line without its terminator
/// (`\n` or `\r\n`) and the rest after it. Without a `\n`, the whole input is
/// the line.
fn split_line(s: &[u8]) -> (&[u8], &[u8]) {
    let (line, rest) = match s.iter().position(|&b| b == b'\n') {
        Some(i) => (s.get(..i).unwrap_or_default(), s.get(i.saturating_add(1)..)),
        None => (s, None),
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    (line, rest.unwrap_or_default())
}

/// Iterator over the header fields of a validated head, in order, as
/// [`Header`]s: the name as sent, the value without surrounding whitespace.
///
/// Returned by `headers()` on every view. Repeated headers come out once per
/// line, exactly as sent.
///
/// ```
/// use wscore::handshake::{RequestHead, Status, EMPTY_HEADER};
///
/// let buf = b"GET / HTTP/1.1\r\nHost: a\r\nX-Tag:  one \r\nx-tag: two\r\n\r\n";
/// let mut slots = [EMPTY_HEADER; 8];
/// let Ok(Status::Complete(head)) = RequestHead::parse(buf, &mut slots, 1024) else {
///     panic!("valid head")
/// };
/// let tags: Vec<&[u8]> = head
///     .headers()
///     .filter(|h| h.name.eq_ignore_ascii_case("x-tag"))
///     .map(|h| h.value)
///     .collect();
/// assert_eq!(tags, [&b"one"[..], &b"two"[..]]);
/// ```
#[derive(Debug, Clone)]
pub struct Headers<'b> {
    rest: &'b [u8],
}

impl<'b> Headers<'b> {
    /// Starts after the start line (request or status line) of `head`,
    /// skipping the empty lines httparse tolerates before it.
    pub(crate) fn new(head: &'b [u8]) -> Self {
        let mut rest = head;
        loop {
            let (line, after) = split_line(rest);
            rest = after;
            if !line.is_empty() || rest.is_empty() {
                break;
            }
        }
        Self { rest }
    }
}

impl<'b> Iterator for Headers<'b> {
    type Item = Header<'b>;

    fn next(&mut self) -> Option<Header<'b>> {
        let (line, rest) = split_line(self.rest);
        let colon = line.iter().position(|&b| b == b':');
        let header = colon.and_then(|i| {
            let name = core::str::from_utf8(line.get(..i)?).ok()?;
            let value = trim_ows(line.get(i.saturating_add(1)..)?);
            Some(Header { name, value })
        });
        // The blank line ends the head; anything unexpected ends the scan.
        self.rest = if header.is_some() { rest } else { &[] };
        header
    }
}

/// The value of the first header called `name` (ASCII case-insensitive).
pub(crate) fn find<'b>(head: &'b [u8], name: &str) -> Option<&'b [u8]> {
    Headers::new(head).find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
}

/// Pops the next non-empty element of a comma list (`#rule`, RFC 7230
/// section 7), trimmed; `None` when the list is exhausted.
pub(crate) fn next_list_item<'b>(list: &mut &'b [u8]) -> Option<&'b [u8]> {
    loop {
        if list.is_empty() {
            return None;
        }
        let (item, rest) = match list.iter().position(|&b| b == b',') {
            Some(i) => (
                list.get(..i).unwrap_or_default(),
                list.get(i.saturating_add(1)..).unwrap_or_default(),
            ),
            None => (*list, &[][..]),
        };
        *list = rest;
        let item = trim_ows(item);
        if !item.is_empty() {
            return Some(item);
        }
    }
}

/// Whether the comma list `value` contains `token` (ASCII case-insensitive).
pub(crate) fn list_contains(mut value: &[u8], token: &[u8]) -> bool {
    while let Some(item) = next_list_item(&mut value) {
        if item.eq_ignore_ascii_case(token) {
            return true;
        }
    }
    false
}

/// Whether every element of the comma list `value` is a token.
pub(crate) fn is_token_list(mut value: &[u8]) -> bool {
    while let Some(item) = next_list_item(&mut value) {
        if !is_token(item) {
            return false;
        }
    }
    true
}

/// Whether any header called `name` has `token` in its comma list.
pub(crate) fn any_list_contains(head: &[u8], name: &str, token: &[u8]) -> bool {
    Headers::new(head)
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .any(|h| list_contains(h.value, token))
}

/// Iterator over the subprotocols a client offers, across repeated
/// `Sec-WebSocket-Protocol` headers and comma lists, in order.
///
/// Returned by [`Request::subprotocols`](super::Request::subprotocols).
#[derive(Debug, Clone)]
pub struct Subprotocols<'b> {
    headers: Headers<'b>,
    current: &'b [u8],
}

impl<'b> Subprotocols<'b> {
    pub(crate) fn new(head: &'b [u8]) -> Self {
        Self { headers: Headers::new(head), current: &[] }
    }
}

impl<'b> Iterator for Subprotocols<'b> {
    type Item = &'b str;

    fn next(&mut self) -> Option<&'b str> {
        loop {
            if let Some(item) = next_list_item(&mut self.current) {
                // Validation made every item a token, hence ASCII.
                if let Ok(item) = core::str::from_utf8(item) {
                    return Some(item);
                }
                continue;
            }
            let header =
                self.headers.find(|h| h.name.eq_ignore_ascii_case("sec-websocket-protocol"))?;
            self.current = header.value;
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    fn collect(head: &[u8]) -> Vec<(&str, &[u8])> {
        Headers::new(head).map(|h| (h.name, h.value)).collect()
    }

    #[test]
    fn scans_crlf_and_bare_lf_heads() {
        let expected: [(&str, &[u8]); 2] = [("Host", b"a"), ("X", b"")];
        assert_eq!(collect(b"GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n"), expected);
        assert_eq!(collect(b"GET / HTTP/1.1\nHost: a\nX:\n\n"), expected);
        assert_eq!(collect(b"GET / HTTP/1.1\r\nHost: a\nX:\r\n\n"), expected);
    }

    #[test]
    fn skips_leading_empty_lines_and_trims_values() {
        assert_eq!(
            collect(b"\r\n\nGET / HTTP/1.1\r\nA:\t x y \t\r\nB:c:d\r\n\r\n"),
            [("A", &b"x y"[..]), ("B", &b"c:d"[..])]
        );
    }

    #[test]
    fn stops_at_the_blank_line() {
        assert_eq!(collect(b"HTTP/1.1 101 OK\r\nA: 1\r\n\r\nB: 2\r\n\r\n"), [("A", &b"1"[..])]);
        assert_eq!(collect(b"HTTP/1.1 101 OK\r\n\r\n"), []);
        assert_eq!(collect(b""), []);
    }

    #[test]
    fn find_is_case_insensitive_and_first() {
        let head = b"GET / HTTP/1.1\r\nhOsT: one\r\nHost: two\r\n\r\n";
        assert_eq!(find(head, "Host"), Some(&b"one"[..]));
        assert_eq!(find(head, "Origin"), None);
    }

    #[test]
    fn comma_lists() {
        assert!(list_contains(b"keep-alive, Upgrade", b"upgrade"));
        assert!(list_contains(b" ,,UPGRADE ,", b"upgrade"));
        assert!(!list_contains(b"keep-alive", b"upgrade"));
        assert!(!list_contains(b"upgrade-ish", b"upgrade"));
        assert!(!list_contains(b"", b"upgrade"));
        assert!(is_token_list(b"chat, superchat,,"));
        assert!(!is_token_list(b"chat, super chat"));
        assert!(!is_token_list(b"a/b"));
    }

    #[test]
    fn subprotocols_across_headers() {
        let head = b"GET / HTTP/1.1\r\nSec-WebSocket-Protocol: a, b\r\nX: c\r\n\
                     sec-websocket-protocol: ,d\r\n\r\n";
        assert_eq!(Subprotocols::new(head).collect::<Vec<_>>(), ["a", "b", "d"]);
    }

    #[test]
    fn tokens() {
        assert!(is_token(b"permessage-deflate"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b"a\"b"));
        assert!(is_visible_ascii(b"[::1]:80"));
        assert!(!is_visible_ascii(b"a b"));
        assert!(!is_visible_ascii(b"\xc3\xa9"));
        assert_eq!(trim_ows(b" \t a b\t "), b"a b");
        assert_eq!(trim_ows(b"  "), b"");
    }
}
