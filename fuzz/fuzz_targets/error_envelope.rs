//! Arbitrary HTTP error responses into `ApiError::from_response`.
//!
//! Input: bytes 0–1 the HTTP status (big-endian), byte 2 the length of a
//! `Retry-After` header value taken from what follows (0xFF: no header),
//! the rest the body.
//!
//! Checks: nothing panics; every accessor answers; the status is kept; a
//! body excerpt stays short; billing is never retryable; and the JSON the
//! error writes reads back as the same code, message, param and hint.
#![no_main]

use agent37_stream::protocol::error::ApiError;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let [hi, lo, header_len, rest @ ..] = input else {
        return;
    };
    let status = u16::from_be_bytes([*hi, *lo]);
    let (header, body) = if *header_len == 0xFF {
        (None, rest)
    } else {
        let n = usize::from(*header_len).min(rest.len());
        let (header, body) = rest.split_at(n);
        (Some(String::from_utf8_lossy(header).into_owned()), body)
    };

    let error = ApiError::from_response(status, header.as_deref(), body);
    assert_eq!(error.status(), status);
    let _ = (error.envelope(), error.body_status(), error.retry_after());
    let _ = error.retry_after_header_value();
    // An envelope without `message` reads as an empty one: not asserted.
    let _ = error.message();
    assert!(!error.to_string().is_empty());
    if let Some(excerpt) = error.body_excerpt() {
        assert!(
            excerpt.chars().count() <= 201,
            "excerpt of {} chars",
            excerpt.chars().count()
        );
    }
    if error.is_billing() {
        assert!(
            !error.is_retryable(),
            "a billing error is retryable: {error:?}"
        );
    }

    let json = error.to_json();
    let value: serde_json::Value = serde_json::from_str(&json).expect("to_json writes JSON");
    assert!(value["error"]["code"].is_string(), "no code in {json}");
    let again = ApiError::from_response(status, None, json.as_bytes());
    match error.code() {
        Some(code) => {
            assert_eq!(again.code(), Some(code), "code lost in {json}");
            assert_eq!(again.message(), error.message(), "message lost in {json}");
            assert_eq!(again.param(), error.param(), "param lost in {json}");
            assert_eq!(again.hint(), error.hint(), "hint lost in {json}");
        }
        None => assert_eq!(
            again.code().map(|code| code.as_str()),
            Some("http_error"),
            "a body without an envelope is written with code http_error"
        ),
    }
});
