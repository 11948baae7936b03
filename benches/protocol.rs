//! What the agent37 layers cost on top of the SSE layer, on the small-delta
//! corpus (`benches/corpus`), one chunk per server write:
//!
//! - `raw`: `ChunkDecoder` alone (the SSE figure);
//! - `typed`: plus `ResponseEvent::from_sse` on every event (JSON parsing);
//! - `validate+fold`: plus `TurnTracker::push` (replay guard, ordering state
//!   machine, fold into the final response).
//!
//! Reported in events/s (`protocol-events/deltas`). The ratio of
//! `validate+fold` to `typed` is what the state machine costs on top of the
//! JSON parsing.
//!
//! `cargo bench --bench protocol`.

#[path = "corpus/mod.rs"]
mod corpus;

use std::hint::black_box;

use agent37_stream::protocol::event::ResponseEvent;
use agent37_stream::protocol::pipeline::{Step, TurnTracker};
use agent37_stream::sse::{ChunkDecoder, Event};
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use corpus::Chunking;

/// One layer's run over the corpus chunks, returning the events it saw.
type Run = fn(&[Bytes]) -> usize;

/// Decodes `chunks` and hands each event to `each`; returns the event count.
fn decode(chunks: &[Bytes], mut each: impl FnMut(&Event)) -> usize {
    let mut decoder = ChunkDecoder::new();
    let mut events = 0;
    for chunk in chunks {
        decoder.push(chunk.clone());
        while let Some(event) = decoder.next_event().expect("corpus within limits") {
            events += 1;
            each(black_box(&event));
        }
    }
    events
}

fn raw(chunks: &[Bytes]) -> usize {
    decode(chunks, |_| {})
}

fn typed(chunks: &[Bytes]) -> usize {
    decode(chunks, |event| {
        let typed = ResponseEvent::from_sse(event).expect("valid payloads");
        black_box(&typed);
    })
}

fn validate_and_fold(chunks: &[Bytes]) -> usize {
    let mut tracker = TurnTracker::default();
    let events = decode(chunks, |event| {
        let step = tracker.push(event);
        assert!(matches!(step, Step::New { .. }), "every event is new");
        black_box(&step);
    });
    assert!(tracker.is_terminated(), "the turn ends");
    black_box(tracker.into_turn());
    events
}

fn layers(c: &mut Criterion) {
    let corpus = corpus::deltas();
    let chunks = corpus.chunks(Chunking::Writes);
    let runs: [(&str, Run); 3] = [
        ("raw", raw),
        ("typed", typed),
        ("validate+fold", validate_and_fold),
    ];
    for (name, run) in runs {
        assert_eq!(run(&chunks), corpus.events, "{name} sees every event");
    }
    let mut group = c.benchmark_group("protocol-events/deltas");
    group.throughput(Throughput::Elements(corpus.events as u64));
    for (name, run) in runs {
        group.bench_function(name, |b| b.iter(|| run(black_box(&chunks))));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = corpus::criterion_config();
    targets = layers
}
criterion_main!(benches);
