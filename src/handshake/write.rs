//! Writing heads into caller buffers: measure first, then write, so a buffer
//! that is too small is reported with the exact size needed and left
//! untouched; plus the checks that keep caller-supplied strings from breaking
//! the head (header injection).

use super::headers::is_token;
use super::WriteError;
use core::fmt;

/// Where head bytes go: nowhere (first pass, counting) or into the output
/// (second pass). Either way `len` counts the bytes put.
pub(crate) struct Sink<'o> {
    out: Option<&'o mut [u8]>,
    len: usize,
}

impl<'o> Sink<'o> {
    /// A sink that only counts.
    pub(crate) fn counter() -> Self {
        Self { out: None, len: 0 }
    }

    /// The number of bytes put so far (saturating).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn put(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        if let Some(out) = self.out.as_deref_mut() {
            // The counting pass sized `out`, so this always fits.
            if let Some(dst) = out.get_mut(self.len..end) {
                dst.copy_from_slice(bytes);
            }
        }
        self.len = end;
    }

    pub(crate) fn put_str(&mut self, s: &str) {
        self.put(s.as_bytes());
    }

    /// Writes `name: value` and the line end.
    pub(crate) fn header(&mut self, name: &str, value: &[u8]) {
        self.put_str(name);
        self.put(b": ");
        self.put(value);
        self.put(b"\r\n");
    }

    /// Writes a three-digit status code.
    pub(crate) fn status_code(&mut self, code: u16) {
        let digits = [
            b'0'.saturating_add((code / 100 % 10) as u8),
            b'0'.saturating_add((code / 10 % 10) as u8),
            b'0'.saturating_add((code % 10) as u8),
        ];
        self.put(&digits);
    }

    /// Writes the checked extra headers.
    pub(crate) fn extra_headers(&mut self, headers: &[(&str, &str)]) {
        for (name, value) in headers {
            self.header(name, value.as_bytes());
        }
    }
}

impl fmt::Write for Sink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.put_str(s);
        Ok(())
    }
}

/// Runs `emit` once to measure and, if `out` is big enough, once to write.
/// Returns the number of bytes written.
pub(crate) fn emit(out: &mut [u8], emit: impl Fn(&mut Sink<'_>)) -> Result<usize, WriteError> {
    let mut counter = Sink::counter();
    emit(&mut counter);
    let needed = counter.len();
    let Some(out) = out.get_mut(..needed) else {
        return Err(WriteError::BufferTooSmall { needed });
    };
    emit(&mut Sink { out: Some(out), len: 0 });
    Ok(needed)
}

/// Whether `value` may be written as a header value: no control character
/// but tab (so no CR or LF), no DEL.
pub(crate) fn is_safe_value(value: &[u8]) -> bool {
    value.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// Checks caller-supplied extra headers: names are tokens and not in
/// `reserved` (ASCII case-insensitive), values are safe.
pub(crate) fn check_extra_headers(
    headers: &[(&str, &str)],
    reserved: &[&str],
) -> Result<(), WriteError> {
    for (index, (name, value)) in headers.iter().enumerate() {
        if !is_token(name.as_bytes()) {
            return Err(WriteError::InvalidHeaderName { index });
        }
        if reserved.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            return Err(WriteError::ReservedHeader { index });
        }
        if !is_safe_value(value.as_bytes()) {
            return Err(WriteError::InvalidHeaderValue { index });
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use core::fmt::Write as _;

    #[test]
    fn measures_then_writes() {
        let mut out = [b'#'; 16];
        let emit_fn = |s: &mut Sink<'_>| {
            s.put(b"ab");
            s.status_code(426);
            let _ = write!(s, "{}", 7);
        };
        assert_eq!(emit(&mut out, emit_fn), Ok(6));
        assert_eq!(&out, b"ab4267##########");
        let mut small = [b'#'; 5];
        assert_eq!(emit(&mut small, emit_fn), Err(WriteError::BufferTooSmall { needed: 6 }));
        assert_eq!(&small, b"#####");
    }

    #[test]
    fn status_codes_are_three_digits() {
        let mut out = [0u8; 3];
        for (code, text) in [(101, b"101"), (400, b"400"), (599, b"599"), (305, b"305")] {
            assert_eq!(emit(&mut out, |s| s.status_code(code)), Ok(3));
            assert_eq!(&out, text);
        }
    }

    #[test]
    fn safe_values() {
        assert!(is_safe_value(b"a b\tc \xff"));
        assert!(is_safe_value(b""));
        assert!(!is_safe_value(b"a\r\nX-Evil: 1"));
        assert!(!is_safe_value(b"a\nb"));
        assert!(!is_safe_value(b"a\rb"));
        assert!(!is_safe_value(b"a\0b"));
        assert!(!is_safe_value(b"a\x7fb"));
    }

    #[test]
    fn extra_header_checks() {
        let reserved = ["Upgrade"];
        assert_eq!(check_extra_headers(&[("X-A", "1"), ("B", "")], &reserved), Ok(()));
        assert_eq!(
            check_extra_headers(&[("X-A", "1"), ("Bad Name", "2")], &reserved),
            Err(WriteError::InvalidHeaderName { index: 1 })
        );
        assert_eq!(
            check_extra_headers(&[("X:A", "1")], &reserved),
            Err(WriteError::InvalidHeaderName { index: 0 })
        );
        assert_eq!(
            check_extra_headers(&[("upgrade", "h2c")], &reserved),
            Err(WriteError::ReservedHeader { index: 0 })
        );
        assert_eq!(
            check_extra_headers(&[("X", "1\r\nSet-Cookie: a=b")], &reserved),
            Err(WriteError::InvalidHeaderValue { index: 0 })
        );
    }
}
