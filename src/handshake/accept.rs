//! The key exchange of RFC 6455 section 4: the client's random
//! `Sec-WebSocket-Key` and the server's `Sec-WebSocket-Accept` proof.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use core::fmt;

/// The GUID every server appends to the client's key before hashing
/// (RFC 6455 section 1.3).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// A `Sec-WebSocket-Accept` value: base64 of the SHA-1 of the client key
/// followed by [`GUID`]. Always 28 ASCII bytes.
///
/// Made by [`accept_key`] or [`ClientKey::accept_key`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AcceptKey([u8; 28]);

impl AcceptKey {
    /// The value as text, ready for a `Sec-WebSocket-Accept` header.
    pub fn as_str(&self) -> &str {
        // Base64 output is ASCII, so this never falls back.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The value as its 28 ASCII bytes.
    pub const fn as_bytes(&self) -> &[u8; 28] {
        &self.0
    }
}

impl AsRef<str> for AcceptKey {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for AcceptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AcceptKey").field(&self.as_str()).finish()
    }
}

impl fmt::Display for AcceptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Computes the `Sec-WebSocket-Accept` value for a client's
/// `Sec-WebSocket-Key` (the header value as sent, without surrounding
/// whitespace).
///
/// Any bytes are hashed; checking that the key is valid is the request
/// validator's job.
///
/// ```
/// use wscore::handshake::accept_key;
///
/// // RFC 6455 section 1.3
/// let accept = accept_key(b"dGhlIHNhbXBsZSBub25jZQ==");
/// assert_eq!(accept.as_str(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &[u8]) -> AcceptKey {
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    let digest = sha.digest().bytes();
    let mut out = [0u8; 28];
    // 20 bytes always encode to exactly 28 characters (with one `=`).
    let _ = STANDARD.encode_slice(digest, &mut out);
    AcceptKey(out)
}

/// Whether `key` is a valid `Sec-WebSocket-Key`: the canonical base64
/// encoding of exactly 16 bytes (24 characters, the last two `==`).
pub(crate) fn is_valid_key(key: &[u8]) -> bool {
    let mut decoded = [0u8; 18];
    key.len() == 24 && matches!(STANDARD.decode_slice(key, &mut decoded), Ok(16))
}

/// A client's `Sec-WebSocket-Key`: 16 random bytes in base64 (24 ASCII bytes).
///
/// The randomness comes from the caller, so the type works without an OS.
/// Use a fresh key for every handshake.
///
/// ```
/// use wscore::handshake::ClientKey;
///
/// let key = ClientKey::from_random(*b"the sample nonce");
/// assert_eq!(key.as_str(), "dGhlIHNhbXBsZSBub25jZQ==");
/// assert_eq!(key.accept_key().as_str(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey([u8; 24]);

impl ClientKey {
    /// Encodes 16 random bytes as a key.
    pub fn from_random(random: [u8; 16]) -> Self {
        let mut out = [0u8; 24];
        // 16 bytes always encode to exactly 24 characters (with `==`).
        let _ = STANDARD.encode_slice(random, &mut out);
        Self(out)
    }

    /// The key as text, ready for a `Sec-WebSocket-Key` header.
    pub fn as_str(&self) -> &str {
        // Base64 output is ASCII, so this never falls back.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The key as its 24 ASCII bytes.
    pub const fn as_bytes(&self) -> &[u8; 24] {
        &self.0
    }

    /// The `Sec-WebSocket-Accept` value a server must answer this key with.
    pub fn accept_key(&self) -> AcceptKey {
        accept_key(&self.0)
    }
}

impl AsRef<str> for ClientKey {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientKey").field(&self.as_str()).finish()
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::format;

    #[test]
    fn rfc_6455_section_1_3_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ==").as_str(),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn client_key_encodes_16_bytes() {
        let key = ClientKey::from_random([0u8; 16]);
        assert_eq!(key.as_str(), "AAAAAAAAAAAAAAAAAAAAAA==");
        let key = ClientKey::from_random([0xff; 16]);
        assert_eq!(key.as_str(), "/////////////////////w==");
        assert!(is_valid_key(key.as_bytes()));
    }

    #[test]
    fn key_validation() {
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        // 15 bytes and 17 bytes
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25j"));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ==AA=="));
        // 24 characters but 18 bytes, no padding
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQAA"));
        // a character outside the alphabet
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ!="));
        // non-zero trailing bits: not the canonical encoding of 16 bytes
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZR=="));
        // URL-safe alphabet
        assert!(!is_valid_key(b"_____________________w=="));
        assert!(!is_valid_key(b""));
    }

    #[test]
    fn display_and_debug() {
        let key = ClientKey::from_random(*b"the sample nonce");
        assert_eq!(
            format!("{key} {key:?}"),
            "dGhlIHNhbXBsZSBub25jZQ== ClientKey(\"dGhlIHNhbXBsZSBub25jZQ==\")"
        );
        let accept = key.accept_key();
        assert_eq!(
            format!("{accept} {accept:?}"),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo= AcceptKey(\"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\")"
        );
    }
}
