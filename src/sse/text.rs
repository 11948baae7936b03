//! [`Utf8Bytes`]: a cheaply cloneable, zero-copy UTF-8 string backed by [`Bytes`].

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::Bytes;

/// Strings up to this many bytes are stored inline rather than shared.
const INLINE_CAPACITY: usize = 31;

/// An immutable UTF-8 string that shares its storage with the buffer it was
/// decoded from, or, when it is short, holds its bytes inline.
///
/// Event data is always shared: an event's data is a slice of the buffer it
/// was decoded from, never a copy. Short values (event types, ids: up to 31
/// bytes) are copied inline instead, because copying a few bytes costs less
/// than raising and dropping a shared buffer's atomic reference count. Either
/// way cloning never allocates.
///
/// The bytes are checked to be UTF-8 when the value is made (invalid
/// sequences are replaced with U+FFFD, the way the WHATWG event-stream rules
/// decode them), so [`as_str`](Self::as_str) never fails.
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
#[derive(Clone)]
pub struct Utf8Bytes(Repr);

#[derive(Clone)]
enum Repr {
    Shared(Bytes),
    Inline(Inline),
}

/// A short string's bytes. Aligned like `Bytes`, so that moving either
/// variant moves whole words: byte-aligned fields make the compiler copy
/// across field boundaries, which stalls store forwarding.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct Inline {
    /// The string is `bytes[..len]`; what follows is unspecified.
    bytes: [u8; INLINE_CAPACITY],
    len: u8,
}

impl Inline {
    const EMPTY: Inline = Inline {
        bytes: [0; INLINE_CAPACITY],
        len: 0,
    };

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl Utf8Bytes {
    /// An empty string. Does not allocate.
    pub const fn new() -> Self {
        Utf8Bytes(Repr::Inline(Inline::EMPTY))
    }

    /// Wraps a `'static` string without copying it.
    pub const fn from_static(s: &'static str) -> Self {
        Utf8Bytes(Repr::Shared(Bytes::from_static(s.as_bytes())))
    }

    /// Takes `bytes` if they are valid UTF-8 (no copy), or a copy with every
    /// invalid sequence replaced by U+FFFD (the WHATWG "UTF-8 decode" rule).
    pub fn from_utf8_lossy(bytes: Bytes) -> Self {
        match simdutf8::basic::from_utf8(&bytes) {
            Ok(_) => Utf8Bytes(Repr::Shared(bytes)),
            Err(_) => String::from_utf8_lossy(&bytes).into_owned().into(),
        }
    }

    /// A copy of `bytes`, with every invalid sequence replaced by U+FFFD.
    pub(crate) fn copy_lossy(bytes: &[u8]) -> Self {
        match simdutf8::basic::from_utf8(bytes) {
            Ok(text) => text.into(),
            Err(_) => String::from_utf8_lossy(bytes).into_owned().into(),
        }
    }

    /// Wraps bytes the caller has already checked to be UTF-8.
    pub(crate) fn from_checked(bytes: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Utf8Bytes(Repr::Shared(bytes))
    }

    /// `bytes[range]`, which the caller has already checked to be UTF-8:
    /// copied inline when short, else shared.
    pub(crate) fn short_or_slice(bytes: &Bytes, (start, end): (usize, usize)) -> Self {
        let len = end - start;
        if len > INLINE_CAPACITY {
            return Self::from_checked(bytes.slice(start..end));
        }
        // A fixed-size copy is a few vector moves; a copy of exactly `len`
        // bytes would be a call to `memcpy`. Bytes past `len` are not part
        // of the string.
        match bytes.get(start..start + INLINE_CAPACITY) {
            Some(window) => {
                let mut inline = Inline::EMPTY;
                inline.bytes.copy_from_slice(window);
                inline.len = len as u8;
                Utf8Bytes(Repr::Inline(inline))
            }
            None => Self::inline(&bytes[start..end]).unwrap_or_default(),
        }
    }

    /// `value` stored inline, if it fits.
    fn inline(value: &[u8]) -> Option<Self> {
        if value.len() > INLINE_CAPACITY {
            return None;
        }
        let mut inline = Inline::EMPTY;
        inline.bytes[..value.len()].copy_from_slice(value);
        inline.len = value.len() as u8;
        Some(Utf8Bytes(Repr::Inline(inline)))
    }

    /// Takes `bytes` if they are valid UTF-8, without copying them.
    pub fn try_from_bytes(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        if simdutf8::basic::from_utf8(&bytes).is_err() {
            // The fast check says only whether; std's says where.
            std::str::from_utf8(&bytes)?;
        }
        Ok(Utf8Bytes(Repr::Shared(bytes)))
    }

    /// The string.
    ///
    /// The bytes were checked when the value was made; this checks them
    /// again (with SIMD, at memory speed) because the crate forbids `unsafe`. Hot paths
    /// that only need bytes (JSON parsing, hashing) should use
    /// [`as_bytes`](Self::as_bytes).
    pub fn as_str(&self) -> &str {
        // The invariant holds by construction, so the fallback is unreachable.
        match &self.0 {
            Repr::Shared(bytes) => simdutf8::basic::from_utf8(bytes).unwrap_or_default(),
            Repr::Inline(inline) => std::str::from_utf8(inline.as_bytes()).unwrap_or_default(),
        }
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Shared(bytes) => bytes,
            Repr::Inline(inline) => inline.as_bytes(),
        }
    }

    /// The bytes as a [`Bytes`]: the shared buffer itself, or a copy of a
    /// short string held inline.
    pub fn into_bytes(self) -> Bytes {
        match self.0 {
            Repr::Shared(bytes) => bytes,
            Repr::Inline(inline) => Bytes::copy_from_slice(inline.as_bytes()),
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for Utf8Bytes {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for Utf8Bytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Utf8Bytes {}

impl PartialOrd for Utf8Bytes {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Utf8Bytes {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for Utf8Bytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
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
        self.as_bytes()
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Self::inline(s.as_bytes()).unwrap_or_else(|| Utf8Bytes(Repr::Shared(Bytes::from(s))))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Self {
        Self::inline(s.as_bytes())
            .unwrap_or_else(|| Utf8Bytes(Repr::Shared(Bytes::copy_from_slice(s.as_bytes()))))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(s: Utf8Bytes) -> Bytes {
        s.into_bytes()
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<String> for Utf8Bytes {
    fn eq(&self, other: &String) -> bool {
        self.as_bytes() == other.as_bytes()
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
    fn short_strings_are_inline_and_compare_like_shared_ones() {
        assert!(std::mem::size_of::<Utf8Bytes>() <= 40);
        let long = "x".repeat(INLINE_CAPACITY + 1);
        for text in ["", "id-7", &long[1..], &long] {
            let inline = Utf8Bytes::from(text);
            let shared = Utf8Bytes::from_utf8_lossy(Bytes::copy_from_slice(text.as_bytes()));
            assert_eq!(inline, shared);
            assert_eq!(inline.as_str(), text);
            assert_eq!(inline.len(), text.len());
            assert_eq!(inline.cmp(&shared), std::cmp::Ordering::Equal);
            assert_eq!(inline.clone().into_bytes(), text.as_bytes());
        }
        assert!(matches!(Utf8Bytes::from(&long[1..]).0, Repr::Inline(_)));
        assert!(matches!(Utf8Bytes::from(long.as_str()).0, Repr::Shared(_)));
        let (inline, shared) = (Utf8Bytes::from("a"), Utf8Bytes::from_static("b"));
        assert!(inline < shared);
    }

    #[test]
    fn try_from_bytes_rejects_invalid() {
        assert!(Utf8Bytes::try_from_bytes(Bytes::from_static(b"\xFF")).is_err());
    }
}
