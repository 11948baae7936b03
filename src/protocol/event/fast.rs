//! The fast path for the hottest payload, a delta's `{"text":"…"}`.
//!
//! Servers write a delta as exactly `{"text":"…"}`. When the text between
//! the quotes holds no quote, backslash or control character, that is valid
//! JSON whose text is those very bytes, so the text is a slice of the data
//! and no JSON reader runs. Any other shape (spaces, escapes, more fields,
//! broken JSON) goes to the general reader, so the two give the same value
//! or the same errors for every input.

use super::de;
use super::{PayloadErrors, TextDelta};
use crate::sse::Utf8Bytes;

const HEAD: &[u8] = br#"{"text":""#;
const TAIL: &[u8] = br#""}"#;

/// Reads a delta payload.
#[inline]
pub(super) fn text_delta(data: &Utf8Bytes) -> Result<TextDelta, PayloadErrors> {
    match plain_text(data) {
        Some(text) => Ok(TextDelta { text }),
        None => de::parse::<de::TextFields>(data.as_bytes(), data),
    }
}

/// The text of a delta in the plain shape, as a slice of `data`.
#[inline]
fn plain_text(data: &Utf8Bytes) -> Option<Utf8Bytes> {
    let bytes = data.as_bytes();
    let body = bytes.strip_prefix(HEAD)?.strip_suffix(TAIL)?;
    // No early exit: this form compiles to a vector loop.
    let special = body.iter().fold(false, |special, &b| {
        special | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if special {
        return None;
    }
    // The cuts fall next to ASCII bytes, so on character boundaries.
    let text = data.get(HEAD.len()..bytes.len() - TAIL.len())?;
    data.try_slice_ref(text)
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
        Some((
            text_delta(&data),
            de::parse::<de::TextFields>(data.as_bytes(), &data),
        ))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]
        #[test]
        fn the_fast_path_agrees_with_the_general_reader(
            text in "(\\PC|[\"\\\\\u{0}-\u{1f}\u{7f}])*",
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24),
            junk in "[ \t\n{}\":,a-z0-9\\\\]{0,12}",
        ) {
            let json = serde_json::json!({ "text": text }).to_string();
            for data in [
                json.clone().into_bytes(),
                [HEAD, &raw, TAIL].concat(),
                [HEAD, junk.as_bytes(), TAIL].concat(),
                format!("{json}{junk}").into_bytes(),
                format!("{junk}{json}").into_bytes(),
                raw,
            ] {
                if let Some((fast, general)) = both(&data) {
                    proptest::prop_assert_eq!(fast, general);
                }
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
            "{\"text\":\"a\u{7f}\"}",
        ] {
            let (fast, general) = both(data.as_bytes()).unwrap();
            assert_eq!(fast, general, "{data}");
        }
        let data = Utf8Bytes::from(r#"{"text":"zero-copy text"}"#);
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
}
