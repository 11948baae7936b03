//! The decoder against the plain reference model of the WHATWG rules
//! (`tests/common/reference.rs`): same events `(type, data, id)`, same
//! final `retry`, for any bytes, decoded whole and byte by byte.
#![no_main]

mod common;

#[path = "../../tests/common/reference.rs"]
mod reference;

use agent37_stream::sse::Limits;
use common::{Item, pieces, via_chunks, via_codec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let (expected, retry) = reference::decode(input);

    let check = |outcome: common::Outcome, how: &str| {
        let events: Vec<(String, String, String)> = outcome
            .items
            .into_iter()
            .map(|item| match item {
                Item::Event(event_type, data, id, _, _) => {
                    let event_type = event_type.unwrap_or_else(|| "message".to_owned());
                    (event_type, data, id)
                }
                Item::Error(error) => panic!("{how}: no limit can be reached here: {error}"),
            })
            .collect();
        assert_eq!(events, expected, "{how}: events differ from the reference");
        assert_eq!(
            outcome.retry, retry,
            "{how}: retry differs from the reference"
        );
    };

    check(
        via_chunks(input, &[], Limits::default()),
        "push decoder, whole",
    );
    let bytewise: Vec<usize> = (1..input.len()).collect();
    check(
        via_codec(&pieces(input, &bytewise), Limits::default(), |_| {}),
        "codec, byte by byte",
    );
});
