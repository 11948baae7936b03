//! The typed layer beside the code a user writes today on a peer crate, on
//! a realistic agent turn (`benches/corpus/turn.rs`: ~100 k events,
//! 1–4-word deltas with escapes and non-ASCII text, tool calls, a terminal
//! event carrying the whole answer).
//!
//! Clients (`benches/typed/clients.rs`), each folding the output text and
//! the reasoning:
//!
//! - `sse-stream+serde`, the baseline: `sse-stream` + `serde_json` into
//!   owned `#[derive(Deserialize)]` structs chosen by the event name, the
//!   text folded by hand (`push_str`);
//! - `eventsource-stream+serde`: the same on `eventsource-stream`;
//! - `agent37-typed`: `ChunkDecoder` + `ResponseEvent::from_sse`, folded by
//!   hand;
//! - `agent37-decoder`: `ResponseDecoder` (the same events in one loop, a
//!   plain delta read straight from its block's bytes), folded by hand;
//! - `agent37-response-stream`: `ResponseStream` (typed, validated, folded,
//!   replay-safe).
//!
//! Every client gets the same chunks, driven by `futures_lite`'s
//! `block_on` as in `benches/peers.rs`. Before timing, each one's result is
//! checked against the corpus (event counts, the folded output text and
//! reasoning, the terminal `output_text`): a client that skipped work would
//! look fast for the wrong reason.
//!
//! Group: `typed-events/turn/<chunking>/<client>` (events/s), chunkings
//! `per-write` (one event per chunk) and `read4k`.
//!
//! `cargo bench --bench typed`. For a quick comparison,
//! `TYPED_ONCE=<client>/<chunking> TYPED_REPEAT=20 cargo bench --bench typed`
//! times one client alone and prints its fastest run; `TYPED_DUMP=<file>`
//! writes the turn corpus out.

#[path = "typed/clients.rs"]
mod clients;
#[path = "corpus/mod.rs"]
mod corpus;

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group};

use clients::Outcome;
use corpus::Chunking;
use corpus::turn::Turn;

/// One client's read of the turn.
type Run = fn(&[Bytes]) -> Outcome;

fn chunk_iter(chunks: &[Bytes]) -> std::iter::Cloned<std::slice::Iter<'_, Bytes>> {
    chunks.iter().cloned()
}

fn sse_stream_serde(chunks: &[Bytes]) -> Outcome {
    clients::sse_stream_serde(chunk_iter(chunks), || {})
}

fn eventsource_serde(chunks: &[Bytes]) -> Outcome {
    clients::eventsource_serde(chunk_iter(chunks), || {})
}

/// Ours, typed only (see `clients::ours_typed`).
fn ours_typed(chunks: &[Bytes]) -> Outcome {
    clients::ours_typed(chunk_iter(chunks), || {})
}

/// Ours, typed only, in one loop (see `clients::ours_decoder`).
fn ours_decoder(chunks: &[Bytes]) -> Outcome {
    clients::ours_decoder(chunk_iter(chunks), || {})
}

/// Ours, `ResponseStream` (see `clients::ours_stream`).
fn ours_stream(chunks: &[Bytes]) -> Outcome {
    clients::ours_stream(chunk_iter(chunks), || {})
}

/// The clients, the baseline first.
const CLIENTS: &[(&str, Run)] = &[
    ("sse-stream+serde", sse_stream_serde),
    ("eventsource-stream+serde", eventsource_serde),
    ("agent37-typed", ours_typed),
    ("agent37-decoder", ours_decoder),
    ("agent37-response-stream", ours_stream),
];

const CHUNKINGS: [Chunking; 2] = [Chunking::Writes, Chunking::Read(4096)];

/// Whether `outcome` is the whole turn, read right.
fn check(name: &str, chunking: Chunking, turn: &Turn, outcome: &Outcome) {
    let at = format!("{name} on {} in {chunking} chunks", turn.corpus.name);
    assert_eq!(outcome.events, turn.corpus.events, "{at}: events");
    assert_eq!(outcome.deltas, turn.deltas, "{at}: deltas");
    assert_eq!(outcome.tool_events, turn.tool_events, "{at}: tool events");
    assert!(
        outcome.output_text == turn.output_text,
        "{at}: folded output text"
    );
    assert!(outcome.reasoning == turn.reasoning, "{at}: reasoning");
    assert!(
        outcome.completed_text == turn.output_text,
        "{at}: terminal output_text"
    );
}

fn typed(c: &mut Criterion) {
    let turn = corpus::turn::turn();
    for chunking in CHUNKINGS {
        let chunks = turn.corpus.chunks(chunking);
        for (name, run) in CLIENTS {
            check(name, chunking, &turn, &run(&chunks));
        }
        let mut group = c.benchmark_group(format!("typed-events/{}/{chunking}", turn.corpus.name));
        group.sampling_mode(SamplingMode::Flat);
        group.throughput(Throughput::Elements(turn.corpus.events as u64));
        for (name, run) in CLIENTS {
            let expected = turn.corpus.events;
            group.bench_with_input(BenchmarkId::from_parameter(name), &chunks, |b, chunks| {
                b.iter(|| assert_eq!(run(black_box(chunks)).events, expected))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = corpus::criterion_config();
    targets = typed
}

/// One read, out of line so that a profiler can count it alone:
/// `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='typed::measured'`.
#[inline(never)]
fn measured(run: Run, chunks: &[Bytes]) -> Outcome {
    run(black_box(chunks))
}

/// `TYPED_ONCE=<client>/<chunking>` (e.g. `agent37-typed/per-write`):
/// reads the turn `TYPED_REPEAT` times (default 1), checks the result,
/// prints the fastest run's speed, and exits; for fastest-of-N
/// comparisons, which a busy machine disturbs less than criterion's means,
/// and for profiling one client alone.
fn once(spec: &str) {
    let Some((client, chunking)) = spec.split_once('/') else {
        panic!("TYPED_ONCE={spec}: expected <client>/<chunking>");
    };
    let (_, run) = CLIENTS
        .iter()
        .find(|(name, _)| *name == client)
        .unwrap_or_else(|| panic!("no client {client}"));
    let chunking = CHUNKINGS
        .into_iter()
        .find(|c| c.to_string() == chunking)
        .unwrap_or_else(|| panic!("no chunking {chunking}"));
    let repeat: usize =
        std::env::var("TYPED_REPEAT").map_or(1, |n| n.parse().expect("TYPED_REPEAT: a count"));
    let turn = corpus::turn::turn();
    let chunks = turn.corpus.chunks(chunking);
    let mut fastest = std::time::Duration::MAX;
    let mut outcome = Outcome::default();
    for _ in 0..repeat.max(1) {
        let started = std::time::Instant::now();
        outcome = measured(*run, &chunks);
        fastest = fastest.min(started.elapsed());
    }
    check(client, chunking, &turn, &outcome);
    let seconds = fastest.as_secs_f64();
    let events = turn.corpus.events;
    println!(
        "{client} {} {chunking}: {events} events, {} bytes; fastest of {repeat}: {:.1} ns/event, {:.2} M events/s",
        turn.corpus.name,
        turn.corpus.bytes.len(),
        seconds * 1e9 / events as f64,
        events as f64 / seconds / 1e6,
    );
}

fn main() {
    // `TYPED_DUMP=<file>`: writes the turn out (to read it, or check it with
    // `agent37-stream check`) and exits.
    if let Some(path) = std::env::var_os("TYPED_DUMP") {
        std::fs::write(&path, &corpus::turn::turn().corpus.bytes).expect("TYPED_DUMP: writable");
        return;
    }
    if let Ok(spec) = std::env::var("TYPED_ONCE") {
        once(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
