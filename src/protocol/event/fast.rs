//! The fast paths: a delta's `{"text":"…"}`, the hottest payload, and the
//! `output_text` of `response.completed`, the longest.
//!
//! Servers write a delta as exactly `{"text":"…"}`. When the text between
//! the quotes holds no quote, backslash or control character, that is valid
//! JSON whose text is those very bytes, so the text is a slice of the data
//! and no JSON reader runs. When it holds escapes that are all well formed
//! (`\n`, `\"`, `\u00e9`, a surrogate pair, …), they are decoded here, into
//! a buffer shared by many texts (see [`unescaped`]). Any other shape
//! (spaces, more fields, a lone surrogate, broken JSON) goes to the general
//! reader, so the two give the same value or the same errors for every input.
//!
//! A `response.completed` that starts `{"output_text":"` has that string,
//! often the whole answer and megabytes long, read here with `memchr`; the
//! rest of the payload (`usage`) is read by the general reader, on a copy of
//! the payload with the string emptied. Anything the general reader would
//! judge differently (a broken string, a second `output_text`, an error in
//! the rest) goes to the general reader whole.

use std::cell::RefCell;

use bytes::{Buf, BytesMut};

use super::de;
use super::{Completed, EventKind, PayloadErrors, TextDelta};
use crate::sse::{Buffer, Parser, RawEvent, SHORT, Span, Utf8Bytes, short_str};

const HEAD: &str = r#"{"text":""#;
const TAIL: &str = r#""}"#;
const COMPLETED_HEAD: &str = r#"{"output_text":""#;

/// Reads a delta payload.
#[inline]
pub(super) fn text_delta(data: &Utf8Bytes) -> Result<TextDelta, PayloadErrors> {
    match plain_shape(data).and_then(|body| text_of(data, body)) {
        Some(text) => Ok(TextDelta { text }),
        None => general(data),
    }
}

/// The general reader, for every shape the fast path does not take.
pub(super) fn general(data: &Utf8Bytes) -> Result<TextDelta, PayloadErrors> {
    de::parse::<de::TextFields>(data.as_bytes(), data)
}

/// Reads a `response.completed` payload.
pub(super) fn completed(data: &Utf8Bytes) -> Result<Completed, PayloadErrors> {
    match completed_fast(data) {
        Some(completed) => Ok(completed),
        None => general_completed(data),
    }
}

/// The general reader of `response.completed`.
pub(super) fn general_completed(data: &Utf8Bytes) -> Result<Completed, PayloadErrors> {
    de::parse::<de::CompletedFields>(data.as_bytes(), data)
}

/// `{"output_text":"…"` read here, the rest by the general reader.
fn completed_fast(data: &Utf8Bytes) -> Option<Completed> {
    let string = data.strip_prefix(COMPLETED_HEAD)?;
    let end = string_end(string.as_bytes())?;
    let (body, rest) = (string.get(..end)?, string.get(end + 1..)?);
    // A later `output_text` would win over this one (and an occurrence of
    // the name inside a string only sends the payload the long way).
    if memchr::memmem::find(rest.as_bytes(), br#""output_text""#).is_some() {
        return None;
    }
    // No early exit: on a long text this compiles to a vector loop.
    let control = body.bytes().fold(false, |found, b| found | (b < 0x20));
    if control {
        return None;
    }
    let output_text = match memchr::memchr(b'\\', body.as_bytes()).is_some() {
        true => {
            let mut decoded = String::with_capacity(body.len());
            decode(body, &mut decoded)?;
            Utf8Bytes::from(decoded)
        }
        false => data.try_slice_ref(body)?,
    };
    let skeleton = format!("{COMPLETED_HEAD}\"{rest}");
    let usage = de::parse::<de::CompletedFields>(skeleton.as_bytes(), &Utf8Bytes::new())
        .ok()?
        .usage;
    Some(Completed { output_text, usage })
}

/// The text of a delta read straight from a dispatched block, before it
/// is made: either ready, or the span of the block it is (made by
/// narrowing the block's bytes, once nothing else needs them).
pub(crate) enum BlockText {
    /// Already made (held inline, cut out of a chunk checked whole, or
    /// decoded from escapes).
    Ready(Utf8Bytes),
    /// The block's bytes in this span, known to be UTF-8.
    Span(Span),
}

impl BlockText {
    /// The text, taking the block's bytes if it is a span of them.
    #[inline]
    pub(crate) fn make<B: Buffer>(self, block: &mut RawEvent<'_, B>) -> Utf8Bytes {
        match self {
            BlockText::Ready(text) => text,
            BlockText::Span((s, e)) => {
                // Narrowed, not sliced: no reference count to raise and drop.
                let mut bytes = block.take();
                bytes.truncate(e);
                bytes.advance(s);
                // Checked by `block_delta`: this check cannot fail (and,
                // unlike the lossy one, keeps no copy of the bytes in case
                // it did).
                Utf8Bytes::from_utf8(bytes).unwrap_or_default()
            }
        }
    }
}

/// A delta in its plain shape (`event:` one of the two delta names, one
/// `data` line `{"text":"…"}` in valid UTF-8), read from the block's bytes
/// without making an [`sse::Event`](crate::sse::Event) first: the same
/// kind and text `ResponseEvent::from_sse` gives for the event the block
/// makes. `None` for any other block.
#[inline]
pub(crate) fn block_delta<B: Buffer>(
    parser: &Parser,
    block: &RawEvent<'_, B>,
) -> Option<(EventKind, BlockText)> {
    let name = block.event_type()?;
    let kind = if name == EventKind::OutputTextDelta.name().as_bytes() {
        EventKind::OutputTextDelta
    } else if name == EventKind::ReasoningDelta.name().as_bytes() {
        EventKind::ReasoningDelta
    } else {
        return None;
    };
    let (s, e) = block.single_data()?;
    let data = &block.bytes()[s..e];
    let body = data
        .strip_prefix(HEAD.as_bytes())?
        .strip_suffix(TAIL.as_bytes())?;
    let body_start = s + HEAD.len();
    let special = Specials::of(body);
    if special.control {
        return None;
    }
    let text = if special.backslash && body.len() <= SHORT {
        // A short body (most deltas) is decoded on the stack, and the text
        // checked once.
        let mut decoded = [0; SHORT];
        let len = unescape_short(body, &mut decoded)?;
        let mut padded = [0; SHORT];
        let text = short_str(&decoded[..len], &mut padded)?;
        BlockText::Ready(match len <= Utf8Bytes::INLINE_MAX {
            true => Utf8Bytes::from(text),
            false => TEXTS.with(|texts| in_block(&mut texts.borrow_mut().1, text))?,
        })
    } else if special.backslash {
        BlockText::Ready(unescaped(std::str::from_utf8(body).ok()?)?)
    } else if special.quote {
        return None;
    } else if let Some(text) = parser.checked_part(body) {
        BlockText::Ready(text)
    } else if body.len() <= Utf8Bytes::INLINE_MAX {
        BlockText::Ready(Utf8Bytes::short(body)?)
    } else {
        // Checked here, so that narrowing the bytes to it cannot fail
        // (ASCII, the usual case, a word at a time).
        if !body.is_ascii() {
            std::str::from_utf8(body).ok()?;
        }
        BlockText::Span((body_start, body_start + body.len()))
    };
    Some((kind, text))
}

/// Where the JSON string whose body starts `bytes` ends: the index of its
/// closing quote (the first one no backslash escapes).
fn string_end(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let found = at + memchr::memchr2(b'"', b'\\', bytes.get(at..)?)?;
        if bytes[found] == b'"' {
            return Some(found);
        }
        // The escaped byte is never the end, whatever it is.
        at = found + 2;
    }
}

/// The text between the quotes of `{"text":"…"}`.
#[inline]
fn plain_shape(data: &Utf8Bytes) -> Option<&str> {
    data.strip_prefix(HEAD)?.strip_suffix(TAIL)
}

/// The text of a body: a slice of `data` when it needs no unescaping, its
/// decoded escapes otherwise; `None` for anything the general reader must
/// judge (a bare quote or control character, a malformed escape).
#[inline]
fn text_of(data: &Utf8Bytes, body: &str) -> Option<Utf8Bytes> {
    let special = Specials::of(body.as_bytes());
    if special.control {
        return None;
    }
    if special.backslash {
        // A quote is fine where an escape makes it one: `decode` judges.
        return unescaped(body);
    }
    if special.quote {
        return None;
    }
    data.try_slice_ref(body)
}

/// Which bytes that JSON treats specially inside a string a body holds.
#[derive(Debug, PartialEq)]
struct Specials {
    /// A control character (below U+0020): never allowed raw.
    control: bool,
    /// A quote: it would end the string, unless escaped.
    quote: bool,
    /// A backslash: an escape.
    backslash: bool,
}

impl Specials {
    /// Looks eight bytes at a time, with no early exit: deltas are short,
    /// and a vector loop would not start before 32 bytes.
    #[inline]
    fn of(bytes: &[u8]) -> Self {
        const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
        const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
        // Nonzero exactly when some byte of `word` is below `n` (n ≤ 0x80).
        let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH;
        let (mut control, mut quote, mut backslash) = (0, 0, 0);
        let mut scan = |word: u64| {
            control |= below(word, 0x20);
            quote |= below(word ^ (ONES * u64::from(b'"')), 1);
            backslash |= below(word ^ (ONES * u64::from(b'\\')), 1);
        };
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            scan(word_of(word));
        }
        match words.remainder() {
            [] => {}
            // The last eight bytes again: the overlap was already clean
            // or already counted.
            _ if bytes.len() >= 8 => scan(word_of(&bytes[bytes.len() - 8..])),
            rest => {
                let mut padded = [b'a'; 8];
                padded[..rest.len()].copy_from_slice(rest);
                scan(u64::from_ne_bytes(padded));
            }
        }
        Specials {
            control: control != 0,
            quote: quote != 0,
            backslash: backslash != 0,
        }
    }
}

/// The first eight bytes of `bytes` (at least eight) as a word.
#[inline]
fn word_of(bytes: &[u8]) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_ne_bytes(word)
}

thread_local! {
    /// Where escapes are decoded, and the block unescaped texts too long to
    /// hold inline are copied into, one after another, and split off as
    /// shared slices: a delta with an escape costs no allocation of its
    /// own, only its share of a block of [`BLOCK`] bytes.
    static TEXTS: RefCell<(String, BytesMut)> = RefCell::new((String::new(), BytesMut::new()));
}

/// The size of a block of unescaped texts.
const BLOCK: usize = 16 * 1024;

/// Past this many bytes left to decode, `decode` searches with `memchr`.
const LONG: usize = 64;

/// The decoded text of a body with escapes.
fn unescaped(body: &str) -> Option<Utf8Bytes> {
    TEXTS.with(|texts| {
        let (decoded, block) = &mut *texts.borrow_mut();
        decoded.clear();
        decode(body, decoded)?;
        if decoded.len() <= Utf8Bytes::INLINE_MAX {
            // Text, not bytes: no check, and no block space.
            return Some(Utf8Bytes::from(decoded.as_str()));
        }
        let text = in_block(block, decoded);
        if decoded.capacity() > BLOCK {
            // A rare long text: its room is not kept for the short ones.
            *decoded = String::new();
        }
        text
    })
}

/// `text`, too long to hold inline, copied into the block of decoded
/// texts and shared from there.
fn in_block(block: &mut BytesMut, text: &str) -> Option<Utf8Bytes> {
    if block.capacity() - block.len() < text.len() {
        *block = BytesMut::with_capacity(BLOCK.max(text.len()));
    }
    block.extend_from_slice(text.as_bytes());
    Utf8Bytes::from_utf8(block.split().freeze()).ok()
}

/// Decodes the escapes of a string body of at most [`SHORT`] bytes (no
/// control character) into `out`, as [`decode`] does: its length, or
/// `None` where `decode` gives `None`.
///
/// The bytes between escapes are copied as they are: if they are not UTF-8,
/// neither is the output (an escape decodes to whole characters, each
/// starting with a lead byte, which no broken sequence before it can
/// absorb), and the caller's check of the output refuses it.
fn unescape_short(body: &[u8], out: &mut [u8; SHORT]) -> Option<usize> {
    // Each escape is longer than what it decodes to, so the output never
    // passes the input: `len <= at`.
    let (mut at, mut len) = (0, 0);
    while let Some(&byte) = body.get(at) {
        if byte == b'"' {
            return None;
        }
        if byte != b'\\' {
            *out.get_mut(len)? = byte;
            len += 1;
            at += 1;
            continue;
        }
        let (c, used) = escape(body.get(at + 1..)?)?;
        at += 1 + used;
        len += c.encode_utf8(out.get_mut(len..)?).len();
    }
    Some(len)
}

/// Decodes the escapes of a JSON string body (no control character) into
/// `out`; `None` at a quote no escape makes (the string would end there),
/// or at the first escape JSON does not allow or that is not a whole
/// character (a lone surrogate).
fn decode(body: &str, out: &mut String) -> Option<()> {
    // A delta's few words are scanned byte by byte; a long text jumps from
    // one special byte to the next with `memchr`.
    if body.len() > LONG {
        decode_with(body, out, |bytes| memchr::memchr2(b'\\', b'"', bytes))
    } else {
        decode_with(body, out, |bytes| {
            bytes.iter().position(|&b| b == b'\\' || b == b'"')
        })
    }
}

/// [`decode`], finding the next backslash or quote with `next`.
#[inline]
fn decode_with(body: &str, out: &mut String, next: impl Fn(&[u8]) -> Option<usize>) -> Option<()> {
    let bytes = body.as_bytes();
    let (mut verbatim, mut at) = (0, 0);
    while let Some(found) = next(&bytes[at..]).map(|skip| at + skip) {
        if bytes[found] == b'"' {
            return None;
        }
        out.push_str(body.get(verbatim..found)?);
        let (c, used) = escape(bytes.get(found + 1..)?)?;
        at = found + 1 + used;
        out.push(c);
        verbatim = at;
    }
    out.push_str(body.get(verbatim..)?);
    Some(())
}

/// The character of the escape whose backslash `rest` follows, and how
/// many bytes of `rest` it took; `None` for an escape JSON does not allow
/// or that is not a whole character (a lone surrogate).
#[inline]
fn escape(rest: &[u8]) -> Option<(char, usize)> {
    let c = match *rest.first()? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let (c, used) = unicode_escape(&rest[1..])?;
            return Some((c, 1 + used));
        }
        _ => return None,
    };
    Some((c, 1))
}

/// The character of `XXXX` (after `\u`) and how many bytes it took; a
/// high surrogate must be followed by `\uYYYY` with a low one.
fn unicode_escape(rest: &[u8]) -> Option<(char, usize)> {
    let first = hex4(rest)?;
    match first {
        0xD800..=0xDBFF => {
            let second = hex4(rest.get(4..)?.strip_prefix(b"\\u")?)?;
            if !(0xDC00..=0xDFFF).contains(&second) {
                return None;
            }
            let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
            Some((char::from_u32(code)?, 10))
        }
        0xDC00..=0xDFFF => None,
        code => Some((char::from_u32(code)?, 4)),
    }
}

/// The value of the four hex digits `rest` starts with.
fn hex4(rest: &[u8]) -> Option<u32> {
    let digits = rest.first_chunk::<4>()?;
    digits.iter().try_fold(0, |value, &digit| {
        Some(value * 16 + char::from(digit).to_digit(16)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::event::PayloadError;

    fn both(
        data: &[u8],
    ) -> Option<(
        Result<TextDelta, PayloadErrors>,
        Result<TextDelta, PayloadErrors>,
    )> {
        let data = Utf8Bytes::from_utf8(bytes::Bytes::copy_from_slice(data)).ok()?;
        Some((text_delta(&data), general(&data)))
    }

    #[test]
    fn specials_are_found_at_every_length_and_place() {
        let naive = |bytes: &[u8]| Specials {
            control: bytes.iter().any(|&b| b < 0x20),
            quote: bytes.contains(&b'"'),
            backslash: bytes.contains(&b'\\'),
        };
        // Each special byte, and the bytes next to them in value (a borrow
        // across bytes must not make a false positive).
        let probes = [
            0x00, 0x1F, 0x20, 0x21, b'"', b'#', b'[', b'\\', b']', 0x7F, 0x80, 0xFF,
        ];
        for len in 0..40 {
            let clean = vec![b'a'; len];
            assert_eq!(Specials::of(&clean), naive(&clean), "{len}");
            for at in 0..len {
                for &probe in &probes {
                    for &before in &[b'a', 0x00, 0x21, 0xFF] {
                        let mut bytes = clean.clone();
                        bytes[at] = probe;
                        if at > 0 {
                            bytes[at - 1] = before;
                        }
                        assert_eq!(Specials::of(&bytes), naive(&bytes), "{bytes:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_completed_payload_takes_the_fast_path_when_it_can() {
        let long = format!(r#"{}\n\"q\" caf\u00e9 \ud83d\ude42"#, "word ".repeat(40));
        for (body, usage) in [
            ("plain answer", r#"null"#),
            (
                long.as_str(),
                r#"{"input_tokens":3,"output_tokens":4,"cost_usd":0.5}"#,
            ),
        ] {
            let data = Utf8Bytes::from(format!(r#"{{"output_text":"{body}","usage":{usage}}}"#));
            let fast = completed_fast(&data).expect("the fast path takes it");
            assert_eq!(Ok(fast), general_completed(&data));
        }
        // A second `output_text` wins in the general reader: left to it.
        let twice = Utf8Bytes::from(r#"{"output_text":"a","usage":null,"output_text":""}"#);
        assert!(completed_fast(&twice).is_none());
        assert_eq!(completed(&twice).unwrap().output_text, "");
        // An error in the rest is the general reader's, with its position.
        let broken = Utf8Bytes::from(r#"{"output_text":"a","usage":{"input_tokens":-1}}"#);
        assert!(completed_fast(&broken).is_none());
        assert_eq!(completed(&broken), general_completed(&broken));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]
        #[test]
        fn the_fast_path_agrees_with_the_general_reader(
            text in "(\\PC|[\"\\\\\u{0}-\u{1f}\u{7f}\u{e9}\u{1F642}])*",
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24),
            escapes in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::Just("\\n".to_owned()),
                    proptest::prelude::Just("\\\"".to_owned()),
                    proptest::prelude::Just("\\\\".to_owned()),
                    proptest::prelude::Just("\\/".to_owned()),
                    proptest::prelude::Just("\\x".to_owned()),
                    proptest::prelude::Just("\\".to_owned()),
                    "\\\\u[0-9a-fA-F]{0,4}",
                    "\\\\u[dD][89abAB][0-9a-f]{2}(\\\\u[dD][c-fC-F][0-9a-f]{2})?",
                    "\\\\u[dD][c-fC-F][0-9a-f]{2}",
                    "[a-z é]{0,3}",
                ],
                0..8,
            ),
            junk in "[ \t\n{}\":,a-z0-9\\\\]{0,12}",
        ) {
            let json = serde_json::json!({ "text": text }).to_string();
            let escaped: String = escapes.concat();
            for data in [
                json.clone().into_bytes(),
                [HEAD.as_bytes(), &raw, TAIL.as_bytes()].concat(),
                [HEAD.as_bytes(), escaped.as_bytes(), TAIL.as_bytes()].concat(),
                [HEAD.as_bytes(), junk.as_bytes(), TAIL.as_bytes()].concat(),
                format!("{json}{junk}").into_bytes(),
                format!("{junk}{json}").into_bytes(),
                raw,
            ] {
                if let Some((fast, general)) = both(&data) {
                    proptest::prop_assert_eq!(fast, general, "{}", String::from_utf8_lossy(&data));
                }
            }
        }

        #[test]
        fn the_completed_fast_path_agrees_with_the_general_reader(
            text in "(\\PC|[\"\\\\\u{0}-\u{1f}\u{7f}\u{e9}\u{1F642}])*",
            escapes in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::Just("\\n".to_owned()),
                    proptest::prelude::Just("\\\"".to_owned()),
                    proptest::prelude::Just("\\\\".to_owned()),
                    proptest::prelude::Just("\\x".to_owned()),
                    proptest::prelude::Just("\\".to_owned()),
                    proptest::prelude::Just("\"".to_owned()),
                    "\\\\u[0-9a-fA-F]{0,4}",
                    "\\\\u[dD][89abAB][0-9a-f]{2}(\\\\u[dD][c-fC-F][0-9a-f]{2})?",
                    "[a-z é]{0,40}",
                ],
                0..12,
            ),
            rest in proptest::prop_oneof![
                proptest::prelude::Just(r#","usage":null}"#.to_owned()),
                proptest::prelude::Just(r#","usage":{"input_tokens":1,"output_tokens":2,"cost_usd":0.1}}"#.to_owned()),
                proptest::prelude::Just(r#","usage":{"input_tokens":-1,"output_tokens":2}}"#.to_owned()),
                proptest::prelude::Just(r#"}"#.to_owned()),
                proptest::prelude::Just(r#","usage":null,"output_text":""}"#.to_owned()),
                proptest::prelude::Just(r#","usage":null,"note":"\"output_text\""}"#.to_owned()),
                "[ \t\n{}\":,a-z0-9\\\\]{0,16}",
            ],
            repeat in 1usize..40,
        ) {
            let json = serde_json::to_string(&text).unwrap();
            let escaped: String = escapes.concat();
            for body in [&json[1..json.len() - 1], escaped.as_str(), &escaped.repeat(repeat)] {
                let data = Utf8Bytes::from(format!("{COMPLETED_HEAD}{body}\"{rest}"));
                proptest::prop_assert_eq!(
                    completed(&data),
                    general_completed(&data),
                    "{}",
                    data
                );
            }
        }
    }

    #[test]
    fn edges_agree_and_the_plain_shape_is_sliced() {
        for data in [
            r#"{"text":""}"#,
            r#"{"text":"}"#,
            r#"{"text":"a"}"}"#,
            r#"{"text":"a"} "#,
            r#" {"text":"a"}"#,
            r#"{"text":"\u0041"}"#,
            r#"{"text":"a\"}"#,
            r#"{"text":"é日🙂"}"#,
            r#"{"text":"\ud83d\ude42 \u00E9\n\t\/\\\"\b\f\r"}"#,
            r#"{"text":"\ud83d"}"#,
            r#"{"text":"\ude42"}"#,
            r#"{"text":"\ud83d\u0041"}"#,
            r#"{"text":"\u00g1"}"#,
            r#"{"text":"\u0000"}"#,
            "{\"text\":\"a\u{7f}\"}",
        ] {
            let (fast, general) = both(data.as_bytes()).unwrap();
            assert_eq!(fast, general, "{data}");
        }
        let data = Utf8Bytes::from(r#"{"text":"zero-copy text, too long to hold inline"}"#);
        let delta = text_delta(&data).unwrap();
        assert_eq!(
            delta.text.as_bytes().as_ptr(),
            data.as_bytes()[9..].as_ptr()
        );
        let broken = Utf8Bytes::from(r#"{"text":1}"#);
        assert!(matches!(
            text_delta(&broken).unwrap_err().first(),
            PayloadError::WrongType { field: "text", .. }
        ));
    }

    #[test]
    fn unescaped_texts_share_blocks() {
        let texts: Vec<_> = (0..100)
            .map(|i| {
                let data = Utf8Bytes::from(format!(
                    r#"{{"text":"line {i}\nthen a next line long enough to share"}}"#
                ));
                text_delta(&data).unwrap().text
            })
            .collect();
        for (i, text) in texts.iter().enumerate() {
            assert_eq!(
                text,
                &format!("line {i}\nthen a next line long enough to share")
            );
        }
        // Consecutive texts sit next to each other in one block.
        let (a, b) = (&texts[50], &texts[51]);
        assert_eq!(a.as_bytes().as_ptr_range().end, b.as_bytes().as_ptr());
    }
}
