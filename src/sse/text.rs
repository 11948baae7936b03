//! [`Utf8Bytes`]: a cheaply cloneable, zero-copy UTF-8 string backed by [`Bytes`].

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// An immutable UTF-8 string that shares its storage with the buffer it was
/// decoded from.
///
/// Cloning is a reference-count increment. The bytes are checked to be UTF-8
/// when the value is made (invalid sequences are replaced with U+FFFD, the way
/// the WHATWG event-stream rules decode them), so [`as_str`](Self::as_str)
/// never fails.
///
/// ```
/// use agent37_stream::sse::Utf8Bytes;
///
/// let text = Utf8Bytes::from_static("héllo");
/// assert_eq!(text.as_str(), "héllo");
/// assert_eq!(text, "héllo");
///
/// // Invalid UTF-8 is replaced, never rejected.
/// let lossy = Utf8Bytes::from_utf8_lossy(bytes::Bytes::from_static(b"a\xFFb"));
/// assert_eq!(lossy, "a\u{FFFD}b");
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// An empty string. Does not allocate.
    pub const fn new() -> Self {
        Utf8Bytes(Bytes::new())
    }

    /// Wraps a `'static` string without copying it.
    pub const fn from_static(s: &'static str) -> Self {
        Utf8Bytes(Bytes::from_static(s.as_bytes()))
    }

    /// Takes `bytes` if they are valid UTF-8 (no copy), or a copy with every
    /// invalid sequence replaced by U+FFFD (the WHATWG "UTF-8 decode" rule).
    pub fn from_utf8_lossy(bytes: Bytes) -> Self {
        match simdutf8::basic::from_utf8(&bytes) {
            Ok(_) => Utf8Bytes(bytes),
            Err(_) => Utf8Bytes(Bytes::from(
                String::from_utf8_lossy(&bytes).into_owned().into_bytes(),
            )),
        }
    }

    /// Wraps bytes the caller has already checked to be UTF-8.
    pub(crate) fn from_checked(bytes: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Utf8Bytes(bytes)
    }

    /// Takes `bytes` if they are valid UTF-8, without copying them.
    pub fn try_from_bytes(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        if simdutf8::basic::from_utf8(&bytes).is_err() {
            // The fast check says only whether; std's says where.
            std::str::from_utf8(&bytes)?;
        }
        Ok(Utf8Bytes(bytes))
    }

    /// The string.
    ///
    /// The bytes were checked when the value was made; this checks them
    /// again (with SIMD, at memory speed) because the crate forbids `unsafe`. Hot paths
    /// that only need bytes (JSON parsing, hashing) should use
    /// [`as_bytes`](Self::as_bytes).
    pub fn as_str(&self) -> &str {
        // The invariant holds by construction, so the fallback is unreachable.
        simdutf8::basic::from_utf8(&self.0).unwrap_or_default()
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The shared buffer behind the string.
    pub fn as_bytes_shared(&self) -> &Bytes {
        &self.0
    }

    /// Unwraps the shared buffer.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Utf8Bytes(Bytes::from(s.into_bytes()))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Self {
        Utf8Bytes(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(s: Utf8Bytes) -> Bytes {
        s.0
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<String> for Utf8Bytes {
    fn eq(&self, other: &String) -> bool {
        self.0 == other.as_bytes()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Utf8Bytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_utf8_is_not_copied() {
        let src = Bytes::from_static(b"data");
        let text = Utf8Bytes::from_utf8_lossy(src.clone());
        assert_eq!(text.as_bytes().as_ptr(), src.as_ptr());
    }

    #[test]
    fn invalid_utf8_is_replaced_per_maximal_subpart() {
        // F0 9F 98 is a truncated 4-byte sequence: one U+FFFD, then 'x'.
        let text = Utf8Bytes::from_utf8_lossy(Bytes::from_static(b"\xF0\x9F\x98x\xC0\xAF"));
        assert_eq!(text, "\u{FFFD}x\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn try_from_bytes_rejects_invalid() {
        assert!(Utf8Bytes::try_from_bytes(Bytes::from_static(b"\xFF")).is_err());
    }
}
