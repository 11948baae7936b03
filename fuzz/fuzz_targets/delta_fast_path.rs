//! The delta fast path against the general payload reader.
//!
//! Input: any bytes, taken as an event's data when they are UTF-8 (as the
//! decoder would hand them over), and also wrapped as the body of
//! `{"text":"…"}`, the shape the fast path takes.
//!
//! Checks: for every input the fast path and the general reader give the
//! same typed value or the same errors.
#![no_main]

use agent37_stream::protocol::event::__delta_readers;
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
});
