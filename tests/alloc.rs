//! Heap allocations per event, counted by a global allocator that wraps the
//! system one.
//!
//! The counts are per thread, so tests running in parallel do not disturb
//! each other. Each measurement decodes a corpus (`benches/corpus`, the same
//! bytes the benches use) with the events dropped as they are consumed, and
//! counts what the decoder allocates in steady state: after the first tenth
//! of the input, whose allocations (buffers reaching their working size)
//! happen once per stream.
//!
//! `cargo test --release --test alloc -- --nocapture` prints the table.

#[path = "../benches/typed/clients.rs"]
mod clients;
#[path = "../benches/corpus/mod.rs"]
mod corpus;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};

use agent37_stream::protocol::event::{EventClass, EventKind, ResponseEvent};
use agent37_stream::protocol::fold::Seed;
use agent37_stream::protocol::machine::ValidatorOptions;
use agent37_stream::protocol::pipeline::{Step, TurnTracker};
use agent37_stream::protocol::rules::{Finding, Rule};
use agent37_stream::sse::{ChunkDecoder, Decoder, Event, EventReader, Position};
use bytes::{Bytes, BytesMut};
use tokio_util::codec::Decoder as _;

use clients::Outcome;
use corpus::turn::Turn;
use corpus::{Chunking, Corpus};

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static ALLOCATED_BYTES: Cell<u64> = const { Cell::new(0) };
}

/// Counts every allocation and reallocation of the calling thread.
struct Counting;

fn count(bytes: usize) {
    // `try_with`: an allocation during thread teardown must not panic.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    let _ = ALLOCATED_BYTES.try_with(|n| n.set(n.get() + bytes as u64));
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the counters are thread-local cells that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: `ptr` and `layout` came from this allocator, which is `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `realloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> (u64, u64) {
    (ALLOCATIONS.with(Cell::get), ALLOCATED_BYTES.with(Cell::get))
}

/// What one measured run found.
#[derive(Debug, Clone, Copy)]
struct Measure {
    /// Events over the whole run.
    events: usize,
    /// Events dispatched in steady state (after the warm-up tenth).
    steady_events: usize,
    /// Allocations in steady state.
    steady_allocations: u64,
    steady_bytes: u64,
    /// Allocations over the whole run (up to the stop), warm-up included.
    total_allocations: u64,
}

impl Measure {
    fn per_event(&self) -> f64 {
        self.steady_allocations as f64 / self.steady_events.max(1) as f64
    }

    fn bytes_per_event(&self) -> f64 {
        self.steady_bytes as f64 / self.steady_events.max(1) as f64
    }
}

/// Tracks a run: events seen, and the counters at the end of the warm-up.
struct Meter {
    start: (u64, u64),
    warm: Option<((u64, u64), usize)>,
    /// Where the count stopped, when it stopped before the end.
    stop: Option<((u64, u64), usize)>,
    events: usize,
}

impl Meter {
    fn start() -> Self {
        Meter {
            start: allocations(),
            warm: None,
            stop: None,
            events: 0,
        }
    }

    /// Ends the count here (the rest of the run is not steady state).
    fn stop(&mut self) {
        self.stop = Some((allocations(), self.events));
    }

    /// Called before piece `index` of `pieces`: the warm-up ends at the
    /// first piece past a tenth of them.
    fn piece(&mut self, index: usize, pieces: usize) {
        if self.warm.is_none() && index >= pieces / 10 {
            self.warm = Some((allocations(), self.events));
        }
    }

    fn finish(self) -> Measure {
        let (end, end_events) = self.stop.unwrap_or((allocations(), self.events));
        let ((warm_allocations, warm_bytes), warm_events) = self.warm.unwrap_or((self.start, 0));
        Measure {
            events: self.events,
            steady_events: end_events - warm_events,
            steady_allocations: end.0 - warm_allocations,
            steady_bytes: end.1 - warm_bytes,
            total_allocations: end.0 - self.start.0,
        }
    }
}

/// The codec, its `BytesMut` filled `read` bytes at a time as `FramedRead`
/// fills it.
fn codec(corpus: &Corpus, read: usize) -> Measure {
    let pieces: Vec<&[u8]> = corpus.bytes.chunks(read).collect();
    let mut meter = Meter::start();
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    for (index, piece) in pieces.iter().enumerate() {
        meter.piece(index, pieces.len());
        buf.reserve(piece.len());
        buf.extend_from_slice(piece);
        while let Some(event) = decoder.decode(&mut buf).expect("corpus within limits") {
            meter.events += 1;
            drop(event);
        }
    }
    while let Some(event) = decoder.decode_eof(&mut buf).expect("corpus within limits") {
        meter.events += 1;
        drop(event);
    }
    meter.finish()
}

/// The push decoder fed `Bytes` chunks. The chunks are cut before the
/// count starts: they are the HTTP client's allocations, not the decoder's.
fn chunked(corpus: &Corpus, chunking: Chunking) -> Measure {
    chunked_into(corpus, chunking, drop)
}

/// The push decoder, each event handed to `consume` (a layer above).
fn chunked_into(corpus: &Corpus, chunking: Chunking, mut consume: impl FnMut(Event)) -> Measure {
    let chunks: Vec<Bytes> = corpus.chunks(chunking);
    let mut meter = Meter::start();
    let mut decoder = ChunkDecoder::new();
    let total = chunks.len();
    for (index, chunk) in chunks.into_iter().enumerate() {
        meter.piece(index, total);
        decoder.push(chunk);
        while let Some(event) = decoder.next_event().expect("corpus within limits") {
            meter.events += 1;
            consume(event);
        }
    }
    decoder.finish();
    while let Some(event) = decoder.next_event().expect("corpus within limits") {
        meter.events += 1;
        consume(event);
    }
    meter.finish()
}

/// The typed layer: each event's payload parsed into a `ResponseEvent`.
fn typed(corpus: &Corpus) -> Measure {
    chunked_into(corpus, Chunking::Writes, |event| {
        let parsed = ResponseEvent::from_sse(&event);
        assert!(parsed.is_ok(), "{:?}", parsed.err());
    })
}

/// The validate+fold layer: each event through a `TurnTracker` (replay
/// guard, parse, ordering state machine, fold into the turn).
fn validate_fold(corpus: &Corpus) -> (Measure, Vec<Finding>) {
    let mut tracker = TurnTracker::new(Seed::default(), ValidatorOptions::default());
    let mut findings = Vec::new();
    let measure = chunked_into(corpus, Chunking::Writes, |event| {
        if let Step::New {
            findings: found, ..
        } = tracker.push(&event)
        {
            findings.extend(found);
        }
    });
    findings.extend(tracker.finish(Position::START));
    (measure, findings)
}

/// The blocking reader over an in-memory `Read` (64 KiB reads).
fn reader(corpus: &Corpus) -> Measure {
    let mut meter = Meter::start();
    let mut events = EventReader::new(&corpus.bytes[..]);
    // The reader hides its reads, so the warm-up is a tenth of the events.
    let warm_after = corpus.events / 10;
    for event in events.by_ref() {
        if meter.events == warm_after {
            meter.piece(1, 10);
        }
        drop(event.expect("corpus within limits"));
        meter.events += 1;
    }
    meter.finish()
}

struct Row {
    corpus: &'static str,
    path: String,
    measure: Measure,
}

fn measure_all() -> Vec<Row> {
    let mut rows = Vec::new();
    for corpus in corpus::all() {
        let mut add = |path: String, measure: Measure| {
            assert_eq!(measure.events, corpus.events, "{path} on {}", corpus.name);
            rows.push(Row {
                corpus: corpus.name,
                path,
                measure,
            });
        };
        for read in [4096, 64 * 1024] {
            add(
                format!("codec {}", Chunking::Read(read)),
                codec(&corpus, read),
            );
        }
        for chunking in [
            Chunking::Read(4096),
            Chunking::Read(64 * 1024),
            Chunking::Writes,
        ] {
            add(format!("chunk {chunking}"), chunked(&corpus, chunking));
        }
        add("reader read64k".to_owned(), reader(&corpus));
        add("typed, chunk per-write".to_owned(), typed(&corpus));
        add(
            "validate+fold, chunk per-write".to_owned(),
            validate_fold(&corpus).0,
        );
    }
    rows
}

fn print(rows: &[Row]) {
    println!();
    println!("| corpus | bytes | events | bytes/event | events with a JSON escape |");
    println!("|---|---:|---:|---:|---:|");
    for corpus in corpus::all() {
        let (mut escaped, mut events) = (0, 0);
        let mut decoder = ChunkDecoder::new();
        decoder.push(corpus.bytes.clone());
        while let Ok(Some(event)) = decoder.next_event() {
            events += 1;
            escaped += usize::from(event.data().contains('\\'));
        }
        println!(
            "| {} | {} | {events} | {:.0} | {escaped} |",
            corpus.name,
            corpus.bytes.len(),
            corpus.bytes.len() as f64 / events as f64
        );
    }
    println!();
    println!("| corpus | path | allocations/event | bytes/event | allocations in all |");
    println!("|---|---|---:|---:|---:|");
    for row in rows {
        println!(
            "| {} | {} | {:.4} | {:.1} | {} |",
            row.corpus,
            row.path,
            row.measure.per_event(),
            row.measure.bytes_per_event(),
            row.measure.total_allocations
        );
    }
}

#[test]
fn allocation_report() {
    let rows = measure_all();
    print(&rows);
    // Every path of every corpus was measured on a full decode.
    assert_eq!(rows.len(), 5 * 8);
}

/// Goal: an event whose data is one line, inside one chunk, is sliced out
/// of the chunk with no allocation at all; data of 256 bytes or more, checked
/// with SIMD, costs one small allocation (the shared handle `faststr` keeps)
/// and nothing else.
#[test]
fn chunk_path_allocates_nothing_for_single_line_events_in_whole_chunks() {
    let large = corpus::large();
    let measure = chunked(&large, Chunking::Writes);
    assert_eq!(measure.events, large.events);
    assert!(
        // Plus, once, the cached event type's first share.
        measure.steady_allocations <= measure.steady_events as u64 + 1
            && measure.steady_bytes <= 64 * measure.steady_events as u64,
        "large: {} allocations ({} bytes) over {} events",
        measure.steady_allocations,
        measure.steady_bytes,
        measure.steady_events
    );
    for corpus in [corpus::deltas(), corpus::crlf(), corpus::comments()] {
        let measure = chunked(&corpus, Chunking::Writes);
        assert_eq!(measure.events, corpus.events);
        assert!(measure.steady_events > 0);
        // None per event: at most the first share of each event type the
        // decoder caches (a handful in all, whatever the number of events).
        assert!(
            measure.steady_allocations <= 8,
            "{}: {} allocations ({} bytes) over {} events",
            corpus.name,
            measure.steady_allocations,
            measure.steady_bytes,
            measure.steady_events
        );
    }
}

/// Goal: the codec path allocates at most once per read buffer: at most
/// 0.02 allocations per event on the deltas in 4 KiB and 64 KiB reads.
#[test]
fn codec_path_allocates_at_most_once_per_read_on_deltas() {
    let corpus = corpus::deltas();
    for read in [4096, 64 * 1024] {
        let measure = codec(&corpus, read);
        assert_eq!(measure.events, corpus.events);
        let reads = corpus.bytes.len().div_ceil(read) as u64;
        assert!(
            measure.per_event() <= 0.02 && measure.total_allocations <= reads,
            "codec in {read}-byte reads: {:.4} allocations per event, {} in all for {reads} reads",
            measure.per_event(),
            measure.total_allocations
        );
    }
}

/// Multi-line data is joined once, into one buffer of the exact size (and
/// from 256 bytes on, checked with SIMD and held behind one small shared
/// handle): one or two allocations per event, not one per line; and the
/// counter itself works, since it sees them. A read that holds several
/// events is checked as UTF-8 whole once (one more handle): at most one
/// more allocation per read.
#[test]
fn multi_line_data_is_joined_once() {
    let corpus = corpus::multiline();
    for chunking in [Chunking::Writes, Chunking::Read(4096)] {
        let measure = chunked(&corpus, chunking);
        let reads = corpus.chunks(chunking).len() as f64 / corpus.events as f64;
        let extra = if matches!(chunking, Chunking::Writes) {
            0.0
        } else {
            reads
        };
        // All but the first and last events of the corpus have several
        // `data` lines.
        let per_event = measure.per_event();
        assert!(
            // Plus, once, the cached event type's first share.
            (0.99..=2.001 + extra).contains(&per_event),
            "{chunking}: {per_event:.4} allocations per multi-line event"
        );
    }
}

/// The corpora are contract-valid streams, so the validate+fold figures are
/// those of the happy path: the only finding allowed is the summary that
/// the deltas corpora put in `output_text` instead of the whole text.
#[test]
fn corpora_are_valid_turns() {
    for corpus in corpus::all() {
        let (_, findings) = validate_fold(&corpus);
        let unexpected: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.rule != Rule::OutputTextMismatch)
            .collect();
        assert!(unexpected.is_empty(), "{}: {unexpected:#?}", corpus.name);
    }
}

/// The chunks of a turn, handed to a client one by one, telling the meter
/// where the warm-up ends.
struct Metered<'a> {
    chunks: std::vec::IntoIter<Bytes>,
    index: usize,
    total: usize,
    meter: &'a RefCell<Meter>,
}

impl Iterator for Metered<'_> {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        self.meter.borrow_mut().piece(self.index, self.total);
        self.index += 1;
        self.chunks.next()
    }
}

/// A typed client (`benches/typed/clients.rs`) reading a turn: allocations
/// per event from the end of the warm-up to the last delta. The terminal
/// event, whose `output_text` is the whole answer (a megabyte, unescaped
/// into a `String` by every client), is left out: the figure is that of
/// the deltas and tool calls. The result is checked as the bench checks it.
fn typed_client(
    turn: &Turn,
    chunking: Chunking,
    client: impl FnOnce(Metered<'_>, &mut dyn FnMut()) -> Outcome,
) -> Measure {
    let chunks = turn.corpus.chunks(chunking);
    let total = chunks.len();
    let meter = RefCell::new(Meter::start());
    let last_delta = turn.corpus.events - 1;
    let mut on_event = || {
        let mut meter = meter.borrow_mut();
        meter.events += 1;
        if meter.events == last_delta {
            meter.stop();
        }
    };
    let body = Metered {
        chunks: chunks.into_iter(),
        index: 0,
        total,
        meter: &meter,
    };
    let outcome = client(body, &mut on_event);
    let measure = meter.into_inner().finish();
    let at = format!("{} in {chunking} chunks", turn.corpus.name);
    assert_eq!(outcome.events, turn.corpus.events, "{at}");
    assert_eq!(
        (outcome.deltas, outcome.tool_events),
        (turn.deltas, turn.tool_events),
        "{at}"
    );
    assert!(outcome.output_text == turn.output_text, "{at}: output text");
    assert!(outcome.reasoning == turn.reasoning, "{at}: reasoning");
    assert!(
        outcome.completed_text == turn.output_text,
        "{at}: terminal output_text"
    );
    assert!(measure.steady_events > turn.corpus.events / 2, "{at}");
    measure
}

/// Measures a client on the deltas-only turn in both chunkings and prints
/// the rows. (The turn with tool calls gives the same figures to within
/// 0.03 allocations per event: tool calls are 2 % of its events.)
/// Columns: client, corpus, chunks, allocations per event, bytes per event;
/// `cargo test --release --test alloc typed_ -- --nocapture --test-threads 1`.
fn typed_report(
    name: &str,
    client: impl Fn(Metered<'_>, &mut dyn FnMut()) -> Outcome,
) -> Vec<(&'static str, Chunking, Measure)> {
    let turn = corpus::turn::turn_deltas();
    let mut rows = Vec::new();
    for chunking in [Chunking::Writes, Chunking::Read(4096)] {
        let measure = typed_client(&turn, chunking, &client);
        println!(
            "| {name} | {} | {chunking} | {:.4} | {:.1} | {} of {} deltas escaped |",
            turn.corpus.name,
            measure.per_event(),
            measure.bytes_per_event(),
            turn.escaped_deltas,
            turn.deltas,
        );
        rows.push((turn.corpus.name, chunking, measure));
    }
    rows
}

/// The baseline: owned structs allocate each payload's strings, on top of
/// the decoder's own allocations (`sse-stream` owns each event's name and
/// data): at least one allocation per event.
#[test]
fn typed_allocations_sse_stream_serde() {
    for (corpus, chunking, measure) in typed_report("sse-stream+serde", |chunks, on_event| {
        clients::sse_stream_serde(chunks, on_event)
    }) {
        assert!(
            measure.per_event() >= 1.0,
            "{corpus} {chunking}: {:.4}",
            measure.per_event()
        );
    }
}

/// `eventsource-stream` with owned structs: the same shape as the baseline.
#[test]
fn typed_allocations_eventsource_serde() {
    for (corpus, chunking, measure) in
        typed_report("eventsource-stream+serde", |chunks, on_event| {
            clients::eventsource_serde(chunks, on_event)
        })
    {
        assert!(
            measure.per_event() >= 1.0,
            "{corpus} {chunking}: {:.4}",
            measure.per_event()
        );
    }
}

/// Ours, typed only. What holds today is the SSE layer's part: with one
/// event per chunk it allocates nothing, so what the typed figure shows is
/// the typed layer's (the escaped deltas' owned text, the hand fold).
#[test]
fn typed_allocations_ours_typed() {
    typed_report("agent37-typed", |chunks, on_event| {
        clients::ours_typed(chunks, on_event)
    });
    let turn = corpus::turn::turn_deltas();
    let sse = chunked(&turn.corpus, Chunking::Writes);
    assert_eq!(sse.events, turn.corpus.events);
    // Nothing per event: a buffer's first share or the odd long value
    // (SIMD-checked text keeps a small shared handle) at most.
    assert!(
        sse.steady_allocations * 1000 <= sse.steady_events as u64,
        "the SSE layer under the typed one: {} allocations over {} events",
        sse.steady_allocations,
        sse.steady_events
    );
    // Where the typed layer's allocations go: `from_sse` alone, on deltas
    // with and without a JSON escape.
    let mut split = [(0u64, 0usize); 2];
    chunked_into(&turn.corpus, Chunking::Writes, |event| {
        if !EventKind::of_sse(&event).is_some_and(|k| k.class() == EventClass::Delta) {
            return;
        }
        let before = allocations().0;
        let parsed = ResponseEvent::from_sse(&event);
        let spent = allocations().0 - before;
        assert!(parsed.is_ok(), "{:?}", parsed.err());
        drop(parsed);
        let bucket = &mut split[usize::from(event.data().contains('\\'))];
        bucket.0 += spent;
        bucket.1 += 1;
    });
    for (bucket, (spent, deltas)) in ["plain", "escaped"].iter().zip(split) {
        println!(
            "| agent37-typed, from_sse only | {} | {bucket} deltas | {:.4} | | {deltas} deltas |",
            turn.corpus.name,
            spent as f64 / deltas as f64
        );
    }
    assert_eq!(split[0].1 + split[1].1, turn.deltas);
    assert_eq!(split[1].1, turn.escaped_deltas);
    // `from_sse`'s documented promise: text with no escape is a slice of
    // the data, and escaped text a slice of a shared block.
    assert_eq!(split[0].0, 0, "allocations on plain deltas");
    assert!(
        split[1].0 * 100 <= split[1].1 as u64,
        "{} allocations on {} escaped deltas",
        split[1].0,
        split[1].1
    );
}

/// Ours, typed only in one loop (`ResponseDecoder`): the hand fold's
/// strings grow by doubling, and escaped text goes to shared blocks, so
/// next to nothing is allocated per event.
#[test]
fn typed_allocations_ours_decoder() {
    for (corpus, chunking, measure) in typed_report("agent37-decoder", |chunks, on_event| {
        clients::ours_decoder(chunks, on_event)
    }) {
        assert!(
            measure.per_event() <= 0.05,
            "{corpus} {chunking}: {:.4} allocations per event",
            measure.per_event()
        );
    }
}

/// Ours, `ResponseStream`: typed, validated, folded; the figure is printed.
#[test]
fn typed_allocations_ours_response_stream() {
    // Goal: typed, validated, folded and replay-safe at no more than 0.05
    // allocations per event, escaped deltas included (their text is decoded
    // into shared blocks; the fold's strings grow by doubling).
    for (corpus, chunking, measure) in
        typed_report("agent37-response-stream", |chunks, on_event| {
            clients::ours_stream(chunks, on_event)
        })
    {
        assert!(
            measure.per_event() <= 0.05,
            "{corpus} {chunking}: {:.4} allocations per event",
            measure.per_event()
        );
    }
}
