//! The fast paths (a delta's `{"text":"…"}`, and the `output_text` of
//! `response.completed`) against the general payload reader.
//!
//! Input: any bytes, taken as an event's data when they are UTF-8 (as the
//! decoder would hand them over), and also wrapped as the body of the
//! shapes the fast paths take: `{"text":"…"}`, and `{"output_text":"…` with
//! the input's first line as the string and the rest after it.
//!
//! Checks: for every input each fast path and the general reader give the
//! same typed value or the same errors.
#![no_main]

use agent37_stream::protocol::event::{__completed_readers, __delta_readers};
use agent37_stream::sse::Utf8Bytes;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let wrapped = [br#"{"text":""#.as_slice(), input, br#""}"#].concat();
    for data in [input.to_vec(), wrapped] {
        let Ok(data) = Utf8Bytes::from_utf8(Bytes::from(data)) else {
            continue;
        };
        let (fast, general) = __delta_readers(&data);
        assert_eq!(fast, general, "{data:?}");
    }
    // `{"output_text":"<first line>"<rest>`, and, as often on the wire,
    // `{"output_text":"<input>","usage":null}`.
    let (body, rest) = match input.iter().position(|&b| b == b'\n') {
        Some(at) => (&input[..at], &input[at + 1..]),
        None => (input, br#","usage":null}"#.as_slice()),
    };
    let completed = [br#"{"output_text":""#.as_slice(), body, b"\"", rest].concat();
    if let Ok(data) = Utf8Bytes::from_utf8(Bytes::from(completed)) {
        let (fast, general) = __completed_readers(&data);
        assert_eq!(fast, general, "{data:?}");
    }
});
