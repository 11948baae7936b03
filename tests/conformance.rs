//! Every vector of `testdata/conformance/sse-vectors.json`, through every
//! front end, at every chunking: whole, one byte at a time, and every
//! two-way split.

mod common;

use agent37_stream::sse::Limits;
use common::{Outcome, every, vectors, via_chunks, via_codec, via_reader};

type FrontEnd = fn(&[u8], &[usize], Limits) -> Outcome;
const FRONT_ENDS: [(&str, FrontEnd); 3] = [
    ("codec", via_codec),
    ("chunks", via_chunks),
    ("reader", via_reader),
];

fn expect(name: &str, how: &str, got: Outcome, vector: &common::Vector) -> Result<(), String> {
    // The vectors give events and retry; where each event starts and the
    // last id come from the reference model.
    let model = common::reference::model(&vector.input);
    let want = Outcome {
        events: vector.expected.clone(),
        positions: model.positions,
        retry: vector.retry,
        last_event_id: model.last_event_id,
        errors: vec![],
    };
    if got == want {
        Ok(())
    } else {
        Err(format!("{name} ({how}):\n  want {want:?}\n   got {got:?}"))
    }
}

#[test]
fn vectors_are_all_here() {
    assert_eq!(vectors().len(), 133);
}

#[test]
fn every_vector_whole_and_byte_at_a_time() {
    let mut failures = vec![];
    for vector in vectors() {
        for (front, decode) in FRONT_ENDS {
            let whole = decode(&vector.input, &[], Limits::default());
            failures.extend(expect(&vector.name, &format!("{front}, whole"), whole, &vector).err());
            let cuts = every(1, vector.input.len());
            let bytes = decode(&vector.input, &cuts, Limits::default());
            failures
                .extend(expect(&vector.name, &format!("{front}, 1 byte"), bytes, &vector).err());
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_vector_at_every_two_way_split() {
    let mut failures = vec![];
    for vector in vectors() {
        // The largest vectors are split at a stride so the test stays fast;
        // every split of every vector under 4 KiB is tried.
        let stride = (vector.input.len() / 4096).max(1);
        for cut in (0..=vector.input.len()).step_by(stride) {
            for (front, decode) in FRONT_ENDS {
                let got = decode(&vector.input, &[cut], Limits::default());
                if let Err(e) = expect(
                    &vector.name,
                    &format!("{front}, split at {cut}"),
                    got,
                    &vector,
                ) {
                    failures.push(e);
                    break;
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
