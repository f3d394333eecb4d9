//! The `Sec-WebSocket-Extensions` grammar (RFC 6455 section 9.1):
//!
//! ```text
//! extension-list  = 1#extension
//! extension       = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```
//!
//! with optional whitespace around the separators. RFC 6455 requires a
//! quoted value to be a token once unquoted; wscore accepts exactly
//! `"token"` and hands out the token without its quotes, so values borrow
//! from the input. (A quoted-pair escape such as `"\1\5"` would need a copy
//! to unescape; no known client sends one, and it is rejected as invalid.)

use super::headers::{is_tchar, Headers};

/// A parse position inside one header value.
#[derive(Clone)]
struct Cursor<'b> {
    rest: &'b [u8],
}

impl<'b> Cursor<'b> {
    fn skip_ows(&mut self) {
        while let [b' ' | b'\t', rest @ ..] = self.rest {
            self.rest = rest;
        }
    }

    /// Consumes `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        match self.rest {
            [b, rest @ ..] if *b == byte => {
                self.rest = rest;
                true
            }
            _ => false,
        }
    }

    /// Consumes a non-empty token.
    fn token(&mut self) -> Option<&'b str> {
        let len = self.rest.iter().position(|&b| !is_tchar(b)).unwrap_or(self.rest.len());
        if len == 0 {
            return None;
        }
        let (token, rest) = self.rest.split_at_checked(len)?;
        self.rest = rest;
        core::str::from_utf8(token).ok()
    }

    /// Consumes a token or a quoted token, giving the token.
    fn value(&mut self) -> Option<&'b str> {
        if self.eat(b'"') {
            let token = self.token()?;
            self.eat(b'"').then_some(token)
        } else {
            self.token()
        }
    }

    /// Consumes one `; name[=value]` parameter. `None` at the end of the
    /// extension (end of input or a comma, left unconsumed); `Some(Err)` on
    /// a syntax error.
    fn param(&mut self) -> Option<Result<(&'b str, Option<&'b str>), ()>> {
        self.skip_ows();
        if self.rest.is_empty() || self.rest.first() == Some(&b',') {
            return None;
        }
        if !self.eat(b';') {
            return Some(Err(()));
        }
        self.skip_ows();
        let Some(name) = self.token() else {
            return Some(Err(()));
        };
        self.skip_ows();
        if !self.eat(b'=') {
            return Some(Ok((name, None)));
        }
        self.skip_ows();
        Some(self.value().map(|v| (name, Some(v))).ok_or(()))
    }

    /// Consumes one extension and the comma after it. `None` when the list
    /// holds nothing more; `Some(Err)` on a syntax error.
    fn extension(&mut self) -> Option<Result<Extension<'b>, ()>> {
        loop {
            self.skip_ows();
            if !self.eat(b',') {
                break;
            }
        }
        if self.rest.is_empty() {
            return None;
        }
        let Some(name) = self.token() else {
            return Some(Err(()));
        };
        let params_start = self.rest;
        loop {
            match self.param() {
                None => break,
                Some(Ok(_)) => {}
                Some(Err(())) => return Some(Err(())),
            }
        }
        let params_len = params_start.len().saturating_sub(self.rest.len());
        let params = params_start.get(..params_len).unwrap_or_default();
        self.eat(b',');
        Some(Ok(Extension { name, params }))
    }
}

/// Whether `value` is a valid extension list (an empty or all-commas value
/// counts as valid and empty).
pub(crate) fn is_valid_list(value: &[u8]) -> bool {
    let mut cursor = Cursor { rest: value };
    loop {
        match cursor.extension() {
            None => return true,
            Some(Ok(_)) => {}
            Some(Err(())) => return false,
        }
    }
}

/// One extension in a `Sec-WebSocket-Extensions` list: its name and its
/// parameters, borrowed from the head.
///
/// ```
/// use wscore::handshake::Extensions;
///
/// let value = b"permessage-deflate; client_max_window_bits; server_max_window_bits=\"10\"";
/// let ext = Extensions::from_value(value).next().unwrap();
/// assert_eq!(ext.name(), "permessage-deflate");
/// let params: Vec<_> = ext.params().collect();
/// assert_eq!(
///     params,
///     [("client_max_window_bits", None), ("server_max_window_bits", Some("10"))]
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'b> {
    name: &'b str,
    params: &'b [u8],
}

impl<'b> Extension<'b> {
    /// The extension's name (`permessage-deflate`).
    pub fn name(&self) -> &'b str {
        self.name
    }

    /// The parameters, in order: `(name, None)` for a bare `; name`,
    /// `(name, Some(value))` for `; name=value` or `; name="value"` (quotes
    /// removed).
    pub fn params(&self) -> Params<'b> {
        Params { cursor: Cursor { rest: self.params } }
    }

    /// The first parameter called `name` (ASCII case-insensitive): `None` if
    /// absent, `Some(None)` if present without a value.
    pub fn param(&self, name: &str) -> Option<Option<&'b str>> {
        self.params().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }
}

/// Iterator over an [`Extension`]'s parameters, from
/// [`Extension::params`].
#[derive(Clone)]
pub struct Params<'b> {
    cursor: Cursor<'b>,
}

impl<'b> Iterator for Params<'b> {
    type Item = (&'b str, Option<&'b str>);

    fn next(&mut self) -> Option<Self::Item> {
        match self.cursor.param()? {
            Ok(param) => Some(param),
            Err(()) => {
                self.cursor.rest = &[];
                None
            }
        }
    }
}

impl core::fmt::Debug for Params<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Params").field("rest", &self.cursor.rest).finish()
    }
}

/// Iterator over the extensions of `Sec-WebSocket-Extensions` headers, across
/// repeated headers and comma lists, in order.
///
/// Returned by [`Request::extensions`](super::Request::extensions) (the
/// client's offers) and [`Response::extensions`](super::Response::extensions)
/// (the server's answer); [`Extensions::from_value`] reads one header value
/// obtained elsewhere. A syntax error ends the iteration (the views have
/// already rejected invalid lists).
#[derive(Clone)]
pub struct Extensions<'b> {
    headers: Option<Headers<'b>>,
    cursor: Cursor<'b>,
}

impl<'b> Extensions<'b> {
    /// Reads the headers called `Sec-WebSocket-Extensions` of a head.
    pub(crate) fn from_head(head: &'b [u8]) -> Self {
        Self { headers: Some(Headers::new(head)), cursor: Cursor { rest: &[] } }
    }

    /// Reads one `Sec-WebSocket-Extensions` value, for a handshake parsed
    /// elsewhere (by an HTTP library, say).
    pub fn from_value(value: &'b [u8]) -> Self {
        Self { headers: None, cursor: Cursor { rest: value } }
    }
}

impl<'b> Iterator for Extensions<'b> {
    type Item = Extension<'b>;

    fn next(&mut self) -> Option<Extension<'b>> {
        loop {
            match self.cursor.extension() {
                Some(Ok(ext)) => return Some(ext),
                Some(Err(())) => {
                    self.cursor.rest = &[];
                    self.headers = None;
                    return None;
                }
                None => {
                    let header = self
                        .headers
                        .as_mut()?
                        .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-extensions"))?;
                    self.cursor.rest = header.value;
                }
            }
        }
    }
}

impl core::fmt::Debug for Extensions<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Extensions").field("rest", &self.cursor.rest).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    type Parsed<'a> = Vec<(&'a str, Vec<(&'a str, Option<&'a str>)>)>;

    fn parse(value: &[u8]) -> Parsed<'_> {
        Extensions::from_value(value).map(|e| (e.name(), e.params().collect())).collect()
    }

    #[test]
    fn chrome_offer() {
        let value = b"permessage-deflate; client_max_window_bits";
        assert!(is_valid_list(value));
        assert_eq!(
            parse(value),
            [("permessage-deflate", std::vec![("client_max_window_bits", None)])]
        );
    }

    #[test]
    fn several_offers_with_values_and_whitespace() {
        let value =
            b" ,permessage-deflate ;server_no_context_takeover; client_max_window_bits = \"10\" ,\
                      x-webkit-deflate-frame, foo;a=1;b ,";
        assert!(is_valid_list(value));
        assert_eq!(
            parse(value),
            [
                (
                    "permessage-deflate",
                    std::vec![
                        ("server_no_context_takeover", None),
                        ("client_max_window_bits", Some("10"))
                    ]
                ),
                ("x-webkit-deflate-frame", std::vec![]),
                ("foo", std::vec![("a", Some("1")), ("b", None)]),
            ]
        );
    }

    #[test]
    fn empty_lists_are_valid_and_empty() {
        for value in [&b""[..], b" ", b",", b" , ,"] {
            assert!(is_valid_list(value));
            assert_eq!(parse(value), []);
        }
    }

    #[test]
    fn invalid_lists() {
        for value in [
            &b";a"[..],
            b"a;",
            b"a;=1",
            b"a;b=",
            b"a;b=\"1",
            b"a;b=\"\"",
            b"a;b=\"1 2\"",
            b"a;b=\"\\1\"",
            b"a b",
            b"a;b=1 2",
            b"a/b",
            b"a;b==1",
            b"\"a\"",
            b"a;b;;c",
            b"a;b=1\r\n",
        ] {
            assert!(!is_valid_list(value), "{:?}", core::str::from_utf8(value));
        }
    }

    #[test]
    fn a_syntax_error_ends_iteration() {
        assert_eq!(parse(b"a, b c, d"), [("a", std::vec![])]);
        let ext =
            Extensions::from_value(b"a; x=1; y z").next().map(|e| e.params().collect::<Vec<_>>());
        // the extension itself is invalid, so it is not handed out
        assert_eq!(ext, None);
    }

    #[test]
    fn param_lookup() {
        let ext = Extensions::from_value(b"pmd; A=1; b").next();
        let ext = ext.map(|e| (e.param("a"), e.param("B"), e.param("c")));
        assert_eq!(ext, Some((Some(Some("1")), Some(None), None)));
    }

    #[test]
    fn across_headers() {
        let head = b"GET / HTTP/1.1\r\nSec-WebSocket-Extensions: a; x\r\nHost: h\r\n\
                     sec-websocket-extensions: b, c\r\n\r\n";
        let names: Vec<_> = Extensions::from_head(head).map(|e| e.name()).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }
}
