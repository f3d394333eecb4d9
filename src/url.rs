//! `ws://` and `wss://` URLs (RFC 6455 section 3), parsed without allocating.

use core::fmt;

/// A parsed WebSocket URL, borrowing from the text.
///
/// ```
/// use wscore::url::Url;
/// let url = Url::parse("ws://example.com:8080/chat?room=1")?;
/// assert_eq!((url.secure, url.host, url.port), (false, "example.com", 8080));
/// assert_eq!((url.authority, url.resource), ("example.com:8080", "/chat?room=1"));
/// let url = Url::parse("wss://[::1]")?;
/// assert_eq!((url.host, url.port, url.resource), ("::1", 443, "/"));
/// # Ok::<(), wscore::url::UrlError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Url<'a> {
    /// `wss` (TLS) rather than `ws`.
    pub secure: bool,
    /// The host to connect to, without the brackets of an IPv6 literal.
    pub host: &'a str,
    /// The port: as written, or 80 for `ws` and 443 for `wss`.
    pub port: u16,
    /// The authority as written (`host[:port]`), for the `Host` header.
    pub authority: &'a str,
    /// Path and query to request; `/` when the URL has none.
    pub resource: &'a str,
}

/// Why a WebSocket URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// The scheme is not `ws://` or `wss://`.
    UnsupportedScheme,
    /// There is no host after the scheme.
    MissingHost,
    /// The port is not a number from 1 to 65535.
    InvalidPort,
    /// A `user:password@` part: send credentials in an `Authorization` header.
    UserInfo,
    /// A `#fragment`: WebSocket URLs must not have one (RFC 6455 section 3).
    Fragment,
    /// A query with no path before it (`ws://host?x`): write `ws://host/?x`.
    QueryWithoutPath,
    /// A character that cannot appear in a URL (space, control, non-ASCII):
    /// percent-encode it.
    InvalidCharacter,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlError::UnsupportedScheme => "URL must start with ws:// or wss://",
            UrlError::MissingHost => "URL has no host",
            UrlError::InvalidPort => "URL port must be a number from 1 to 65535",
            UrlError::UserInfo => {
                "URL has user info (user@host); send credentials in an Authorization header"
            }
            UrlError::Fragment => "WebSocket URLs cannot have a #fragment",
            UrlError::QueryWithoutPath => "URL has a query but no path: write ws://host/?query",
            UrlError::InvalidCharacter => {
                "URL holds a space, control or non-ASCII character: percent-encode it"
            }
        })
    }
}

impl core::error::Error for UrlError {}

impl<'a> Url<'a> {
    /// Parse `text`.
    ///
    /// # Errors
    ///
    /// A [`UrlError`] naming what is wrong.
    pub fn parse(text: &'a str) -> Result<Url<'a>, UrlError> {
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(UrlError::InvalidCharacter);
        }
        if text.contains('#') {
            return Err(UrlError::Fragment);
        }
        let (secure, rest) = match text.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("ws") => (false, rest),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("wss") => (true, rest),
            _ => return Err(UrlError::UnsupportedScheme),
        };
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, resource) = rest.split_at(end);
        if resource.starts_with('?') {
            return Err(UrlError::QueryWithoutPath);
        }
        if authority.contains('@') {
            return Err(UrlError::UserInfo);
        }
        let (host, port) = split_port(authority)?;
        if host.is_empty() {
            return Err(UrlError::MissingHost);
        }
        let default_port = if secure { 443 } else { 80 };
        Ok(Url {
            secure,
            host,
            port: port.unwrap_or(default_port),
            authority,
            resource: if resource.is_empty() { "/" } else { resource },
        })
    }
}

/// Split `host[:port]` (or `[v6]:port`); the port, if written, must be valid.
fn split_port(authority: &str) -> Result<(&str, Option<u16>), UrlError> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']').ok_or(UrlError::MissingHost)?;
            match after {
                "" => (host, None),
                _ => (host, Some(after.strip_prefix(':').ok_or(UrlError::InvalidPort)?)),
            }
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = match port {
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return Err(UrlError::InvalidPort),
        },
        None => None,
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_urls() {
        let u = Url::parse("WS://Example.com").unwrap();
        assert_eq!(
            (u.secure, u.host, u.port, u.authority, u.resource),
            (false, "Example.com", 80, "Example.com", "/")
        );
        let u = Url::parse("wss://h:9/a/b?c=d&e").unwrap();
        assert_eq!((u.secure, u.host, u.port, u.resource), (true, "h", 9, "/a/b?c=d&e"));
        let u = Url::parse("ws://[2001:db8::1]:9001/x").unwrap();
        assert_eq!((u.host, u.port, u.authority), ("2001:db8::1", 9001, "[2001:db8::1]:9001"));
        let u = Url::parse("ws://127.0.0.1:9001").unwrap();
        assert_eq!((u.host, u.port), ("127.0.0.1", 9001));
    }

    #[test]
    fn bad_urls_say_why() {
        for (text, e) in [
            ("http://h/", UrlError::UnsupportedScheme),
            ("h:80", UrlError::UnsupportedScheme),
            ("ws://", UrlError::MissingHost),
            ("ws://:80/", UrlError::MissingHost),
            ("ws://h:0/", UrlError::InvalidPort),
            ("ws://h:65536/", UrlError::InvalidPort),
            ("ws://h:+80/", UrlError::InvalidPort),
            ("ws://h:/", UrlError::InvalidPort),
            ("ws://[::1]x/", UrlError::InvalidPort),
            ("ws://u:p@h/", UrlError::UserInfo),
            ("ws://h/#top", UrlError::Fragment),
            ("ws://h?x", UrlError::QueryWithoutPath),
            ("ws://h/a b", UrlError::InvalidCharacter),
            ("ws://hé/", UrlError::InvalidCharacter),
        ] {
            assert_eq!(Url::parse(text), Err(e), "{text}");
        }
    }
}
