//! Arbitrary bytes through the whole contract pipeline: decoder → typed
//! events → ordering state machine → fold.
//!
//! Input: byte 0 picks the chunking (and the reconnect point), byte 1 the
//! decoder limits (see `common::limits`), the rest is the stream.
//!
//! Checks: nothing panics; the checker's report does not depend on how the
//! bytes are chunked; strict mode changes severities only; folding the
//! events gives the same turn and findings whatever the chunking; and a
//! reconnect that replays a prefix is skipped exactly, leaving the same
//! turn as one unbroken connection.
#![no_main]

mod common;

use agent37_stream::check::{CheckOptions, check_bytes};
use agent37_stream::protocol::pipeline::{Step, TurnTracker};
use agent37_stream::protocol::fold::Turn;
use agent37_stream::protocol::rules::Finding;
use agent37_stream::sse::{ChunkDecoder, Event, Limits, Position};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

/// The events of `stream` pushed in pieces cut at `cuts` (errors skipped).
fn events(stream: &Bytes, cuts: &[usize], limits: Limits) -> Vec<Event> {
    let mut decoder = ChunkDecoder::with_limits(limits);
    let mut out = Vec::new();
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&stream.len())) {
        decoder.push(stream.slice(from..to));
        from = to;
        while let Some(result) = decoder.next_event().transpose() {
            out.extend(result.ok());
        }
    }
    decoder.finish();
    while let Some(result) = decoder.next_event().transpose() {
        out.extend(result.ok());
    }
    out
}

/// Folds `events`, reconnecting (and replaying the first `replayed`
/// events) after the first `replayed` when `replayed` is `Some`.
fn fold(events: &[Event], replayed: Option<usize>) -> (Turn, Vec<Finding>) {
    let mut tracker = TurnTracker::default();
    let mut findings = Vec::new();
    let push =
        |tracker: &mut TurnTracker, event: &Event, findings: &mut Vec<Finding>| match tracker
            .push(event)
        {
            Step::New {
                findings: found, ..
            } => findings.extend(found),
            other => panic!("a first delivery was not new: {other:?}"),
        };
    let mut rest = events;
    if let Some(k) = replayed {
        let (first, _) = events.split_at(k.min(events.len()));
        for event in first {
            push(&mut tracker, event, &mut findings);
        }
        tracker.reconnect();
        for event in first {
            let step = tracker.push(event);
            assert!(
                matches!(step, Step::Replayed),
                "a replayed event was {step:?}"
            );
        }
        rest = &events[first.len()..];
    }
    for event in rest {
        push(&mut tracker, event, &mut findings);
    }
    findings.extend(tracker.finish(Position::START));
    (tracker.into_turn(), findings)
}

fuzz_target!(|input: &[u8]| {
    let [control, limit_control, stream @ ..] = input else {
        return;
    };
    let limits = common::limits(*limit_control);
    let options = CheckOptions::default().limits(limits);

    let whole = check_bytes(stream, &options);
    let chunk = usize::from(*control % 64) + 1;
    let chunked = check_bytes(stream, &options.chunk_size(chunk));
    assert_eq!(chunked, whole, "the report depends on {chunk}-byte chunks");

    let strict = check_bytes(stream, &options.strict(true));
    assert_eq!(strict.events, whole.events);
    let rules = |report: &agent37_stream::check::Report| -> Vec<_> {
        report
            .findings
            .iter()
            .map(|f| (f.rule, f.position, f.event_index))
            .collect()
    };
    assert_eq!(
        rules(&strict),
        rules(&whole),
        "strict mode changed more than severities"
    );

    let stream = Bytes::copy_from_slice(stream);
    let all = events(&stream, &[], limits);
    let split = events(&stream, &common::cuts(*control, stream.len()), limits);
    assert_eq!(split, all, "the decoder depends on the chunking");

    let (turn, findings) = fold(&all, None);
    let replay_point = usize::from(*control) % (all.len() + 1);
    let (replayed_turn, replayed_findings) = fold(&all, Some(replay_point));
    assert_eq!(
        replayed_turn, turn,
        "a reconnect after {replay_point} events changed the turn"
    );
    assert_eq!(
        replayed_findings, findings,
        "a reconnect changed the findings"
    );
});
