//! The typed paths against the event path. `ResponseDecoder` and
//! `Pipeline` read a delta in its plain shape (`event:` one of the two
//! delta names, one `data:` line `{"text":"…"}`) straight from the block's
//! bytes, and every other block through an `sse::Event`; whatever the
//! bytes and the chunking, they must give what the event path gives
//! (`ChunkDecoder` events, typed by `ResponseEvent::from_sse` or pushed
//! into a `TurnTracker`). The property-test version is
//! `tests/pipeline_paths.rs`.
//!
//! Input: byte 0 picks the chunking (see `common::cuts`); byte 1 picks the
//! typed decoder's limits (bits 0–1, see `common::limits`), which delta
//! name comes first in the wrapped stream (bit 2) and whether that stream
//! ends with a `response.completed` (bit 3); the rest is read twice: as
//! the stream itself, and wrapped so it likely takes the plain shape: a
//! `response.created`, then one delta per piece of the rest split at each
//! 0x1E byte (output text and reasoning in turn), the piece the body of its
//! `{"text":"…"}`, and maybe a `response.completed` whose `output_text` is
//! the output pieces joined.
//!
//! Checks, for each stream cut into the same chunks:
//! - `ResponseDecoder` gives, chunk by chunk and after `finish`, the same
//!   `(event, position, id)` as `ChunkDecoder` with `ResponseEvent::from_sse`,
//!   the same decode errors (by their text), the same `incomplete()` and the
//!   same last event id;
//! - `Pipeline` gives, chunk by chunk and after `end_input` (its final
//!   `Step::Ended` left out), the same steps as a `TurnTracker` fed the
//!   `ChunkDecoder`'s events (default limits; a stream whose decode breaks
//!   a limit is not compared); then, after a `reconnect` of both, the whole
//!   stream again as one chunk gives the same steps (replays), and both end
//!   with the same turn.
#![no_main]

mod common;

use agent37_stream::protocol::decoder::ResponseDecoder;
use agent37_stream::protocol::event::{PayloadErrors, ResponseEvent};
use agent37_stream::protocol::pipeline::{Pipeline, Step, TurnTracker};
use agent37_stream::sse::{ChunkDecoder, Limits, Position, Utf8Bytes};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

/// The first event of a turn, so the deltas after it are in order.
const CREATED: &[u8] = b"event: response.created\ndata: {\"id\":\"c91d2a7e84f04b6f9a3d5e1c0b87f4a2\",\"instance_id\":\"i\",\"session_id\":\"s\"}\n\n";

/// The byte that splits the rest into the texts of the wrapped deltas: one
/// that SSE and JSON give no meaning to.
const SEPARATOR: u8 = 0x1E;

/// What one read of either decoder gives: `(event, position, id)`, or a
/// decode error's text (which carries its position).
type Item = Result<(Result<ResponseEvent, PayloadErrors>, Position, Utf8Bytes), String>;

/// `rest` wrapped as the deltas of a turn (see the module docs).
fn wrapped(rest: &[u8], reasoning_first: bool, completed: bool) -> Vec<u8> {
    let mut stream = CREATED.to_vec();
    let mut output_text = Vec::new();
    for (i, text) in rest.split(|&b| b == SEPARATOR).enumerate() {
        let reasoning = (i % 2 == 0) == reasoning_first;
        let name = if reasoning {
            "response.reasoning.delta"
        } else {
            output_text.extend_from_slice(text);
            "response.output_text.delta"
        };
        stream.extend_from_slice(b"event: ");
        stream.extend_from_slice(name.as_bytes());
        stream.extend_from_slice(b"\ndata: {\"text\":\"");
        stream.extend_from_slice(text);
        stream.extend_from_slice(b"\"}\n\n");
    }
    if completed {
        // The folded text, as the terminal event carries it: the validator
        // compares the two (equal when each piece is a well-formed JSON
        // string body).
        stream.extend_from_slice(b"event: response.completed\ndata: {\"output_text\":\"");
        stream.extend_from_slice(&output_text);
        stream.extend_from_slice(b"\",\"usage\":null}\n\n");
    }
    stream
}

/// `stream` in pieces cut at `cuts`: slices of one buffer, as a network
/// read hands them over.
fn chunks(stream: &Bytes, cuts: &[usize]) -> Vec<Bytes> {
    let mut from = 0;
    let mut out = Vec::with_capacity(cuts.len() + 1);
    for &to in cuts.iter().chain(std::iter::once(&stream.len())) {
        out.push(stream.slice(from..to));
        from = to;
    }
    out
}

/// Everything the typed decoder has ready.
fn drain_typed(decoder: &mut ResponseDecoder) -> Vec<Item> {
    let mut items = Vec::new();
    while let Some(result) = decoder.next_event().transpose() {
        items.push(
            result
                .map(|decoded| (decoded.event, decoded.position, decoded.id))
                .map_err(|error| error.to_string()),
        );
    }
    items
}

/// Everything the event path has ready: each event typed by `from_sse`.
fn drain_events(decoder: &mut ChunkDecoder) -> Vec<Item> {
    let mut items = Vec::new();
    while let Some(result) = decoder.next_event().transpose() {
        items.push(
            result
                .map(|event| {
                    (
                        ResponseEvent::from_sse(&event),
                        event.position(),
                        event.id_bytes().clone(),
                    )
                })
                .map_err(|error| error.to_string()),
        );
    }
    items
}

/// Check 1: the typed decoder and the event path, fed the same chunks.
fn typed_against_events(chunks: &[Bytes], limits: Limits, how: &str) {
    let mut typed = ResponseDecoder::with_limits(limits);
    let mut decoder = ChunkDecoder::with_limits(limits);
    // Compared after each chunk, so an event given a chunk late shows too.
    for (i, chunk) in chunks.iter().enumerate() {
        typed.push(chunk.clone());
        decoder.push(chunk.clone());
        assert_eq!(
            drain_typed(&mut typed),
            drain_events(&mut decoder),
            "{how}: the typed decoder differs from the event path after chunk {i}"
        );
    }
    typed.finish();
    decoder.finish();
    assert_eq!(
        drain_typed(&mut typed),
        drain_events(&mut decoder),
        "{how}: the typed decoder differs from the event path after finish"
    );
    assert_eq!(
        typed.incomplete(),
        decoder.incomplete(),
        "{how}: the discarded tail differs"
    );
    assert_eq!(
        typed.last_event_id(),
        decoder.last_event_id(),
        "{how}: the last event id differs"
    );
}

/// Everything the pipeline has ready.
fn drain_pipeline(pipeline: &mut Pipeline) -> Vec<Step> {
    std::iter::from_fn(|| pipeline.next_step()).collect()
}

/// Everything the decoder has ready, pushed into the tracker; `None` when
/// the decoder reports a decode error (this check does not compare those).
fn drain_tracker(tracker: &mut TurnTracker, decoder: &mut ChunkDecoder) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    while let Some(event) = decoder.next_event().ok()? {
        steps.push(tracker.push(&event));
    }
    Some(steps)
}

/// Check 2, for one connection: the pipeline and the tracker, fed the same
/// chunks. `false` when the decode broke a limit and nothing was compared.
fn pipeline_against_tracker(
    pipeline: &mut Pipeline,
    tracker: &mut TurnTracker,
    chunks: &[Bytes],
    how: &str,
) -> bool {
    let mut decoder = ChunkDecoder::new();
    for (i, chunk) in chunks.iter().enumerate() {
        pipeline.push(chunk.clone());
        decoder.push(chunk.clone());
        let Some(want) = drain_tracker(tracker, &mut decoder) else {
            return false;
        };
        assert_eq!(
            drain_pipeline(pipeline),
            want,
            "{how}: the pipeline differs from the tracker after chunk {i}"
        );
    }
    pipeline.end_input();
    decoder.finish();
    let Some(want) = drain_tracker(tracker, &mut decoder) else {
        return false;
    };
    // The end of the input is the pipeline's own step: the tracker has none.
    let mut got = drain_pipeline(pipeline);
    got.retain(|step| !matches!(step, Step::Ended(_)));
    assert_eq!(
        got, want,
        "{how}: the pipeline differs from the tracker at the end of the input"
    );
    true
}

/// Both checks on one stream.
fn check(stream: Vec<u8>, control: u8, limits: Limits, how: &str) {
    let stream = Bytes::from(stream);
    let chunks = chunks(&stream, &common::cuts(control, stream.len()));
    typed_against_events(&chunks, limits, how);

    let mut pipeline = Pipeline::default();
    let mut tracker = TurnTracker::default();
    if !pipeline_against_tracker(&mut pipeline, &mut tracker, &chunks, how) {
        return;
    }
    assert_eq!(pipeline.turn(), tracker.turn(), "{how}: the turns differ");
    // A reconnect that replays the whole stream, in one chunk this time:
    // each event is recognised as a replay (or not) alike.
    pipeline.reconnect();
    tracker.reconnect();
    let replay = format!("{how}, replayed whole");
    if !pipeline_against_tracker(&mut pipeline, &mut tracker, &[stream], &replay) {
        return;
    }
    assert_eq!(
        pipeline.turn(),
        tracker.turn(),
        "{replay}: the turns differ"
    );
    assert_eq!(
        pipeline.events(),
        tracker.events(),
        "{replay}: the event counts differ"
    );
}

fuzz_target!(|input: &[u8]| {
    let [control, flags, rest @ ..] = input else {
        return;
    };
    let limits = common::limits(*flags);
    check(rest.to_vec(), *control, limits, "the stream");
    let reasoning_first = flags & 0b100 != 0;
    let completed = flags & 0b1000 != 0;
    check(
        wrapped(rest, reasoning_first, completed),
        *control,
        limits,
        "the wrapped stream",
    );
});
