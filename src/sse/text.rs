//! [`Utf8Bytes`]: a cheaply cloneable, zero-copy string known to be UTF-8.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::Bytes;
use bytestring::ByteString;
use faststr::FastStr;

/// From this length on, text is checked with SIMD (`simdutf8`, through
/// `faststr`) rather than by std. Below it the two cost the same (`simdutf8`
/// itself hands runs under 64 bytes to std), and std's check leaves a plain
/// shared buffer; above it std's check slows to about 1 GB/s on text with
/// some non-ASCII characters, a tenth of the SIMD check, while the one small
/// allocation `faststr` makes per string no longer counts.
const SIMD_FROM: usize = 256;

/// Up to this length, text is copied into the value itself (`faststr`'s
/// inline form) rather than shared: copying 30 bytes costs less than the
/// two atomic reference-count operations a shared slice takes (one to
/// make, one to drop), and most event types, ids and delta texts fit.
const INLINE_MAX: usize = 30;

/// The longest text [`short_str`] checks.
pub(crate) const SHORT: usize = 64;

/// `bytes` (at most [`SHORT`] of them) as a string, if they are valid UTF-8,
/// borrowed from a zero-padded copy in `padded`.
///
/// The copy is checked in one SIMD pass whose cost does not depend on the
/// text: std's check runs byte by byte up to an aligned word, with a
/// branch per byte, and `simdutf8` hands inputs under 64 bytes to it. The
/// padding is ASCII, so the copy is valid exactly when the text is and the
/// text ends on a character boundary.
#[inline]
pub(crate) fn short_str<'a>(bytes: &[u8], padded: &'a mut [u8; SHORT]) -> Option<&'a str> {
    let len = bytes.len();
    // Zeroed whole (a fixed-size store), then the text over it.
    *padded = [0; SHORT];
    padded.get_mut(..len)?.copy_from_slice(bytes);
    simdutf8::basic::from_utf8(&padded[..]).ok()?.get(..len)
}

/// An immutable string that shares its storage with the buffer it was
/// decoded from (or, up to 30 bytes, holds a copy inline), and that is
/// known to be UTF-8.
///
/// The bytes are checked once, when the value is made (invalid sequences are
/// replaced with U+FFFD, the way the WHATWG event-stream rules decode them);
/// after that [`as_str`](Self::as_str) is free, and cloning or
/// [slicing](Self::slice_ref) never copies text longer than 30 bytes (shorter
/// text is held inline, which is cheaper than sharing it). The crate forbids
/// `unsafe` code, so the knowledge "these bytes are UTF-8" is held by two
/// well-kept crates that encapsulate it: `bytestring` (a `Bytes` checked by
/// std) and `faststr` (short text inline, and long text checked with SIMD).
///
/// ```
/// use agent37_stream::sse::Utf8Bytes;
/// use bytes::Bytes;
///
/// let text = Utf8Bytes::from_static("héllo, a string long enough to be shared");
/// assert!(text.starts_with("héllo"));
///
/// // A slice shares the buffer: no copy, no second check.
/// let tail = text.slice_ref(&text[3..]);
/// assert_eq!(tail, "llo, a string long enough to be shared");
/// assert_eq!(tail.as_bytes().as_ptr(), text.as_bytes()[3..].as_ptr());
///
/// // Short text is held inline: copying it is cheaper than sharing it.
/// let word = text.slice_ref(&text[..6]);
/// assert_eq!(word, "héllo");
///
/// // Invalid UTF-8 is replaced, never rejected.
/// let lossy = Utf8Bytes::from_utf8_lossy(Bytes::from_static(b"a\xFFb"));
/// assert_eq!(lossy, "a\u{FFFD}b");
/// ```
#[derive(Clone)]
pub struct Utf8Bytes(Repr);

#[derive(Clone)]
enum Repr {
    /// Checked by std: mid-sized text, and text made from a `String`.
    Shared(ByteString),
    /// Inline (up to [`INLINE_MAX`] bytes), or checked with SIMD (from
    /// [`SIMD_FROM`] bytes on).
    Fast(FastStr),
}

impl Utf8Bytes {
    /// The longest text held inline, copied rather than shared.
    pub(crate) const INLINE_MAX: usize = INLINE_MAX;

    /// An empty string. Does not allocate.
    pub const fn new() -> Self {
        Utf8Bytes(Repr::Shared(ByteString::new()))
    }

    /// Wraps a `'static` string without copying it.
    pub const fn from_static(s: &'static str) -> Self {
        Utf8Bytes(Repr::Shared(ByteString::from_static(s)))
    }

    /// Takes `bytes` if they are valid UTF-8, without copying them (text of
    /// up to 30 bytes is copied inline).
    ///
    /// ```
    /// use agent37_stream::sse::Utf8Bytes;
    /// use bytes::Bytes;
    ///
    /// assert_eq!(Utf8Bytes::from_utf8(Bytes::from_static(b"ok")).unwrap(), "ok");
    /// let err = Utf8Bytes::from_utf8(Bytes::from_static(b"o\xFFk")).unwrap_err();
    /// assert_eq!(err.valid_up_to(), 1);
    /// ```
    pub fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        if bytes.len() <= INLINE_MAX {
            if let Some(text) = Self::short(&bytes) {
                return Ok(text);
            }
            // Invalid: std's check says where.
            return std::str::from_utf8(&bytes).map(Self::inline);
        }
        if bytes.len() < SIMD_FROM {
            return ByteString::try_from(bytes).map(|text| Utf8Bytes(Repr::Shared(text)));
        }
        match FastStr::from_bytes(bytes.clone()) {
            Ok(text) => Ok(Utf8Bytes(Repr::Fast(text))),
            // The SIMD check says only whether; std's says where.
            Err(_) => ByteString::try_from(bytes).map(|text| Utf8Bytes(Repr::Shared(text))),
        }
    }

    /// Takes `bytes` if they are valid UTF-8 (no copy past 30 bytes), or a
    /// copy with every invalid sequence replaced by U+FFFD (the WHATWG "UTF-8
    /// decode" rule).
    pub fn from_utf8_lossy(bytes: Bytes) -> Self {
        if bytes.len() <= INLINE_MAX {
            return Self::copy_lossy(&bytes);
        }
        // `bytestring` and `faststr` drop the bytes they refuse, and the
        // replacement needs them: hence the clone.
        if bytes.len() < SIMD_FROM {
            return match ByteString::try_from(bytes.clone()) {
                Ok(text) => Utf8Bytes(Repr::Shared(text)),
                Err(_) => Self::replaced(&bytes),
            };
        }
        match FastStr::from_bytes(bytes.clone()) {
            Ok(text) => Utf8Bytes(Repr::Fast(text)),
            Err(_) => Self::replaced(&bytes),
        }
    }

    /// Takes `bytes` if they are valid UTF-8 (no copy), or a copy with every
    /// invalid sequence replaced by U+FFFD.
    ///
    /// From [`SIMD_FROM`] bytes on (the joined data of a multi-line event),
    /// the bytes are checked with SIMD and kept behind `faststr`'s handle,
    /// one more small allocation: std's check, at a tenth of the speed on
    /// text with some non-ASCII, took half the time of such an event.
    pub(crate) fn from_utf8_vec_lossy(bytes: Vec<u8>) -> Self {
        if bytes.len() >= SIMD_FROM && simdutf8::basic::from_utf8(&bytes).is_ok() {
            // Checked just above (`faststr` checks again as it takes the
            // bytes, which it cannot give back on failure).
            return FastStr::from_vec_u8(bytes)
                .map_or_else(|_| Self::new(), |text| Utf8Bytes(Repr::Fast(text)));
        }
        match String::from_utf8(bytes) {
            Ok(text) => text.into(),
            Err(error) => Self::replaced(error.as_bytes()),
        }
    }

    /// Text of at most [`INLINE_MAX`] bytes, held inline.
    #[inline]
    fn inline(text: &str) -> Self {
        debug_assert!(text.len() <= INLINE_MAX);
        Utf8Bytes(Repr::Fast(FastStr::new(text)))
    }

    /// Text of at most [`INLINE_MAX`] bytes, held inline, if `bytes` are
    /// valid UTF-8 (checked by [`short_str`]).
    #[inline]
    pub(crate) fn short(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > INLINE_MAX {
            return None;
        }
        let mut padded = [0; SHORT];
        short_str(bytes, &mut padded).map(Self::inline)
    }

    /// A copy of `bytes`, with every invalid sequence replaced by U+FFFD.
    pub(crate) fn copy_lossy(bytes: &[u8]) -> Self {
        if let Some(text) = Self::short(bytes) {
            return text;
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => text.into(),
            Err(_) => Self::replaced(bytes),
        }
    }

    #[cold]
    fn replaced(bytes: &[u8]) -> Self {
        String::from_utf8_lossy(bytes).into_owned().into()
    }

    /// `bytes` as one string checked with SIMD, if it is valid UTF-8: a
    /// chunk the decoder then cuts many values out of with
    /// [`sub`](Self::sub), each without a check of its own.
    pub(crate) fn checked_whole(bytes: Bytes) -> Option<Self> {
        FastStr::from_bytes(bytes)
            .ok()
            .map(|text| Utf8Bytes(Repr::Fast(text)))
    }

    /// The part of this string that `bytes` are, when they lie inside it:
    /// shared, not copied or checked again.
    #[inline]
    pub(crate) fn sub(&self, bytes: &[u8]) -> Option<Self> {
        let whole = self.as_str();
        let start = (bytes.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
        let part = whole.get(start..start.checked_add(bytes.len())?)?;
        // Equal addresses and lengths: `part` is `bytes`.
        self.try_slice_ref(part)
    }

    /// A slice of this string that `subset` borrows, sharing its storage (or,
    /// up to 30 bytes, copying it inline): no check.
    ///
    /// # Panics
    ///
    /// When `subset` does not lie inside this string (as
    /// [`Bytes::slice_ref`]). Use [`try_slice_ref`](Self::try_slice_ref) to
    /// get `None` instead.
    pub fn slice_ref(&self, subset: &str) -> Self {
        self.try_slice_ref(subset)
            .expect("Utf8Bytes::slice_ref: the subset does not lie inside the string")
    }

    /// A slice of this string that `subset` borrows, or `None` when
    /// `subset` does not lie inside it.
    pub fn try_slice_ref(&self, subset: &str) -> Option<Self> {
        let whole = self.as_bytes().as_ptr_range();
        let part = subset.as_bytes().as_ptr_range();
        if subset.is_empty() {
            return Some(Self::new());
        }
        if part.start < whole.start || part.end > whole.end {
            return None;
        }
        if subset.len() <= INLINE_MAX {
            return Some(Self::inline(subset));
        }
        Some(Utf8Bytes(match &self.0 {
            Repr::Shared(text) => Repr::Shared(text.slice_ref(subset)),
            Repr::Fast(text) => Repr::Fast(text.slice_ref(subset)),
        }))
    }

    /// The string. Free: the bytes were checked when the value was made.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Shared(text) => text,
            Repr::Fast(text) => text.as_str(),
        }
    }

    /// The UTF-8 bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.as_str().as_bytes()
    }

    /// The bytes as a [`Bytes`], sharing the storage.
    pub fn into_bytes(self) -> Bytes {
        match self.0 {
            Repr::Shared(text) => text.into_bytes(),
            Repr::Fast(text) => text.into_bytes(),
        }
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.as_str().len()
    }

    /// Whether the string is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An event type, as an [`Event`](super::Event) holds it: inline up to 30
/// bytes (every name the agent37 contract uses fits), shared beyond.
///
/// One representation, where [`Utf8Bytes`] has two, so it takes 32 bytes
/// and an `Option` of it too: an event then takes 128 bytes, which the
/// compiler moves with a few vector moves rather than a call to `memcpy`.
/// A type name is short and comes from the parser's cache of recent types,
/// so it never needs the zero-copy slice of the read buffer that data does.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TypeName(FastStr);

impl TypeName {
    /// `bytes` as a name, every invalid sequence replaced by U+FFFD.
    pub(crate) fn copy_lossy(bytes: &[u8]) -> Self {
        TypeName(FastStr::new(String::from_utf8_lossy(bytes)))
    }

    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        self.0.as_str()
    }

    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Utf8Bytes> for TypeName {
    fn from(text: Utf8Bytes) -> Self {
        match text.0 {
            Repr::Fast(text) => TypeName(text),
            Repr::Shared(text) => TypeName(FastStr::new(&*text)),
        }
    }
}

impl From<TypeName> for Utf8Bytes {
    #[inline]
    fn from(name: TypeName) -> Self {
        Utf8Bytes(Repr::Fast(name.0))
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
        self.as_str().hash(state);
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    #[inline]
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

impl std::borrow::Borrow<str> for Utf8Bytes {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Utf8Bytes(Repr::Shared(ByteString::from(s)))
    }
}

impl From<Box<str>> for Utf8Bytes {
    fn from(s: Box<str>) -> Self {
        Utf8Bytes(Repr::Shared(ByteString::from(s)))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Self {
        if s.len() <= INLINE_MAX {
            return Self::inline(s);
        }
        Utf8Bytes(Repr::Shared(ByteString::from(s)))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(s: Utf8Bytes) -> Bytes {
        s.into_bytes()
    }
}

impl From<Utf8Bytes> for String {
    fn from(s: Utf8Bytes) -> String {
        s.as_str().to_owned()
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = std::str::Utf8Error;
    fn try_from(bytes: Bytes) -> Result<Self, Self::Error> {
        Self::from_utf8(bytes)
    }
}

impl std::str::FromStr for Utf8Bytes {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(s.into())
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

impl PartialEq<Utf8Bytes> for str {
    fn eq(&self, other: &Utf8Bytes) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<Utf8Bytes> for String {
    fn eq(&self, other: &Utf8Bytes) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<Utf8Bytes> for &str {
    fn eq(&self, other: &Utf8Bytes) -> bool {
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

impl<'de> serde::Deserialize<'de> for Utf8Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Utf8Bytes::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_short_check_agrees_with_std_on_any_bytes() {
        // Every length up to the inline limit and one past it; pieces that
        // are valid or not, cut anywhere (a character cut by the end, a
        // stray continuation byte, an overlong form, a surrogate).
        let pieces: [&[u8]; 9] = [
            b"a",
            b"\xC3\xA9",
            b"\xE2\x82\xAC",
            b"\xF0\x9F\x99\x82",
            b"\x80",
            b"\xC0\xAF",
            b"\xED\xA0\x80",
            b"\xFF",
            b"\x00",
        ];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            let mut bytes = Vec::new();
            while bytes.len() < SHORT + 4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                bytes.extend_from_slice(pieces[(state % 9) as usize]);
            }
            bytes.truncate((state >> 32) as usize % (SHORT + 2));
            let std = std::str::from_utf8(&bytes).ok();
            let mut padded = [0xFF; SHORT];
            let want = std.filter(|_| bytes.len() <= SHORT);
            assert_eq!(short_str(&bytes, &mut padded), want, "{bytes:?}");
            let want = std.filter(|_| bytes.len() <= INLINE_MAX);
            assert_eq!(Utf8Bytes::short(&bytes).as_deref(), want, "{bytes:?}");
        }
    }

    #[test]
    fn a_joined_buffer_is_taken_whole_or_replaced_like_std() {
        // Around the length from which it is checked with SIMD: valid text,
        // and text with an invalid byte or a character cut at its end.
        for len in [
            SIMD_FROM - 2,
            SIMD_FROM - 1,
            SIMD_FROM,
            SIMD_FROM + 1,
            4 * SIMD_FROM,
        ] {
            let valid = "é".repeat(len / 2) + &"x".repeat(len % 2);
            let mut broken = valid.clone().into_bytes();
            broken[len / 3] = 0xFF;
            let mut cut = valid.clone().into_bytes();
            cut.push(0xC3);
            for bytes in [valid.into_bytes(), broken, cut] {
                let want = String::from_utf8_lossy(&bytes).into_owned();
                let text = Utf8Bytes::from_utf8_vec_lossy(bytes);
                assert_eq!(text.as_str(), want, "{len}");
            }
        }
    }

    #[test]
    fn valid_utf8_is_shared_unless_short_enough_to_hold_inline() {
        for len in [
            0,
            5,
            INLINE_MAX,
            INLINE_MAX + 1,
            SIMD_FROM - 1,
            SIMD_FROM,
            4 * SIMD_FROM,
        ] {
            let src = Bytes::from("é".repeat(len / 2) + &"x".repeat(len % 2));
            let text = Utf8Bytes::from_utf8_lossy(src.clone());
            assert_eq!(text.as_bytes(), &src[..]);
            if len > 0 {
                let shared = text.as_bytes().as_ptr() == src.as_ptr();
                assert_eq!(shared, len > INLINE_MAX, "{len}");
            }
            assert_eq!(Utf8Bytes::from_utf8(src.clone()).unwrap(), text);
        }
    }

    #[test]
    fn short_slices_are_inline_and_long_ones_shared() {
        let text = Utf8Bytes::from_utf8(Bytes::from("ab".repeat(100))).unwrap();
        let short = text.slice_ref(&text[..INLINE_MAX]);
        assert!(matches!(short.0, Repr::Fast(_)));
        assert_ne!(short.as_bytes().as_ptr(), text.as_bytes().as_ptr());
        let long = text.slice_ref(&text[..=INLINE_MAX]);
        assert_eq!(long.as_bytes().as_ptr(), text.as_bytes().as_ptr());
        assert_eq!(long.len(), INLINE_MAX + 1);
    }

    #[test]
    fn invalid_utf8_is_replaced_per_maximal_subpart_at_every_size() {
        // F0 9F 98 is a truncated 4-byte sequence: one U+FFFD, then 'x'.
        let text = Utf8Bytes::from_utf8_lossy(Bytes::from_static(b"\xF0\x9F\x98x\xC0\xAF"));
        assert_eq!(text, "\u{FFFD}x\u{FFFD}\u{FFFD}");
        for len in [1, SIMD_FROM - 1, SIMD_FROM, 3 * SIMD_FROM] {
            let mut bad = vec![b'a'; len];
            bad[len / 2] = 0xFF;
            let want = String::from_utf8_lossy(&bad).into_owned();
            let bytes = Bytes::from(bad);
            assert_eq!(Utf8Bytes::from_utf8_lossy(bytes.clone()), want.as_str());
            assert_eq!(
                Utf8Bytes::from_utf8(bytes.clone()).unwrap_err(),
                std::str::from_utf8(&bytes).unwrap_err(),
                "{len}"
            );
        }
    }

    #[test]
    fn slices_share_the_buffer_and_refuse_foreign_text() {
        for len in [30, 4 * SIMD_FROM] {
            let text = Utf8Bytes::from_utf8(Bytes::from("ab".repeat(len))).unwrap();
            // Long enough that no storage copies it inline.
            let part = &text[2..42];
            let slice = text.slice_ref(part);
            assert_eq!(slice, "ab".repeat(20));
            assert_eq!(slice.as_bytes().as_ptr(), part.as_ptr());
            assert_eq!(text.slice_ref(&text[1..3]), "ba");
            assert!(text.try_slice_ref("elsewhere").is_none());
            assert_eq!(text.slice_ref(""), "");
        }
    }

    #[test]
    fn equal_text_compares_and_hashes_equal_whatever_its_storage() {
        use std::collections::hash_map::DefaultHasher;
        let long = "x".repeat(SIMD_FROM * 2);
        let a = Utf8Bytes::from(long.as_str());
        let b = Utf8Bytes::from_utf8(Bytes::from(long.clone())).unwrap();
        assert!(matches!(b.0, Repr::Fast(_)));
        assert_eq!(a, b);
        assert_eq!(a.cmp(&b), std::cmp::Ordering::Equal);
        let hash = |v: &Utf8Bytes| {
            let mut h = DefaultHasher::new();
            v.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&a), hash(&b));
        let (a, b) = (Utf8Bytes::from("a"), Utf8Bytes::from_static("b"));
        assert!(a < b);
    }

    #[test]
    fn serde_round_trip() {
        let text = Utf8Bytes::from("qu\"ote");
        let json = serde_json::to_string(&text).unwrap();
        assert_eq!(json, r#""qu\"ote""#);
        assert_eq!(serde_json::from_str::<Utf8Bytes>(&json).unwrap(), text);
    }
}
