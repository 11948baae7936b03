//! The decoder against the plain reference model of the WHATWG rules
//! (`tests/common/reference.rs`): same events `(type, data, id)` at the
//! same positions, same final `retry` and last event id, for any bytes,
//! decoded whole and byte by byte.
#![no_main]

mod common;

#[path = "../../tests/common/reference.rs"]
mod reference;

use agent37_stream::sse::Limits;
use common::{Item, pieces, via_chunks, via_codec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let model = reference::model(input);

    let check = |outcome: common::Outcome, how: &str| {
        let (events, positions): (Vec<(String, String, String)>, Vec<(u64, u64)>) = outcome
            .items
            .into_iter()
            .map(|item| match item {
                Item::Event(event_type, data, id, offset, line) => {
                    let event_type = event_type.unwrap_or_else(|| "message".to_owned());
                    ((event_type, data, id), (offset, line))
                }
                Item::Error(error) => panic!("{how}: no limit can be reached here: {error}"),
            })
            .unzip();
        assert_eq!(events, model.events, "{how}: events differ from the reference");
        assert_eq!(
            positions, model.positions,
            "{how}: positions differ from the reference"
        );
        assert_eq!(
            outcome.retry, model.retry,
            "{how}: retry differs from the reference"
        );
        assert_eq!(
            outcome.last_id, model.last_event_id,
            "{how}: last event id differs from the reference"
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
