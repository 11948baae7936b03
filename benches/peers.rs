//! This crate's decoder beside the other SSE decoders on crates.io, on the
//! same corpora (`benches/corpus`) in the same chunks.
//!
//! Every decoder gets the corpus as a stream of `Bytes` chunks (or, for the
//! codecs, an `AsyncRead` that returns one chunk per read) and is driven by
//! `futures_lite::future::block_on`, a minimal executor: the chunks are
//! always ready, so what is measured is the decoder. Ceilings frame the
//! figures: a bare `memchr2` scan for line ends (the least work any decoder
//! must do), the same scan plus a UTF-8 check of every chunk (the least a
//! decoder that validates must do, in the two passes the library makes),
//! `fused-avx2`, both in one pass (a bench-only prototype in
//! `benches/fused`, measured where the CPU has AVX2: what fusing the passes
//! would gain), and a `memcpy` of the chunks.
//!
//! Before timing, every decoder's event count and total data length are
//! checked against the corpus: a decoder that dropped events would look
//! fast for the wrong reason. Each timed run asserts the count again.
//!
//! Groups: `peers-bytes/<corpus>/<chunking>` (MB/s) for every corpus in
//! 4 KiB reads, 64 KiB reads and one chunk per server write;
//! `peers-events/deltas/<chunking>` (events/s) for the small deltas.
//!
//! `cargo bench --bench peers`; filter with e.g. `-- peers-bytes/large`.

#[path = "corpus/mod.rs"]
mod corpus;
#[path = "fused/mod.rs"]
mod fused;

use std::convert::Infallible;
use std::hint::black_box;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group};
use futures_lite::StreamExt;
use futures_lite::future::block_on;

use corpus::{Chunking, Corpus};

/// What a run produced: events and total data bytes.
type Tally = (usize, usize);

fn byte_stream(
    chunks: &[Bytes],
) -> impl futures_lite::Stream<Item = Result<Bytes, Infallible>> + Unpin + '_ {
    futures_lite::stream::iter(chunks.iter().cloned().map(Ok))
}

/// An `AsyncRead` (tokio's and futures') that returns the chunks one per
/// read, or as much of one as the caller's buffer takes.
struct ChunkReader<'a> {
    chunks: std::slice::Iter<'a, Bytes>,
    current: Bytes,
}

impl<'a> ChunkReader<'a> {
    fn new(chunks: &'a [Bytes]) -> Self {
        ChunkReader {
            chunks: chunks.iter(),
            current: Bytes::new(),
        }
    }

    /// The next piece of at most `max` bytes (empty at the end).
    fn next_piece(&mut self, max: usize) -> Bytes {
        if self.current.is_empty() {
            match self.chunks.next() {
                Some(chunk) => self.current = chunk.clone(),
                None => return Bytes::new(),
            }
        }
        let n = self.current.len().min(max);
        self.current.split_to(n)
    }
}

impl tokio::io::AsyncRead for ChunkReader<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // `put_slice`, not `initialize_unfilled`: zeroing the caller's
        // spare capacity on every read would be charged to the decoder.
        let piece = self.get_mut().next_piece(buf.remaining());
        buf.put_slice(&piece);
        Poll::Ready(Ok(()))
    }
}

impl futures_lite::AsyncRead for ChunkReader<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let piece = self.get_mut().next_piece(buf.len());
        buf[..piece.len()].copy_from_slice(&piece);
        Poll::Ready(Ok(piece.len()))
    }
}

/// This crate's `EventStream` over the chunk stream (the chunk-aware path).
fn ours_stream(chunks: &[Bytes]) -> Tally {
    block_on(async {
        let mut events = agent37_stream::sse::EventStream::new(byte_stream(chunks));
        let mut tally = (0, 0);
        while let Some(event) = events.next().await {
            let event = event.expect("corpus within limits");
            tally.0 += 1;
            tally.1 += black_box(event).data_bytes().len();
        }
        tally
    })
}

/// This crate's codec in `tokio_util`'s `FramedRead` (the codec path).
fn ours_codec(chunks: &[Bytes]) -> Tally {
    block_on(async {
        let mut events = tokio_util::codec::FramedRead::new(
            ChunkReader::new(chunks),
            agent37_stream::sse::Decoder::new(),
        );
        let mut tally = (0, 0);
        while let Some(event) = events.next().await {
            let event = event.expect("corpus within limits");
            tally.0 += 1;
            tally.1 += black_box(event).data_bytes().len();
        }
        tally
    })
}

fn sse_stream(chunks: &[Bytes]) -> Tally {
    block_on(async {
        let mut events = sse_stream::SseByteStream::new(byte_stream(chunks));
        let mut tally = (0, 0);
        while let Some(block) = events.next().await {
            // It yields every block, metadata-only ones too; an event is a
            // block with data.
            if let Some(data) = black_box(block.expect("valid corpus")).data {
                tally.0 += 1;
                tally.1 += data.len();
            }
        }
        tally
    })
}

fn sseer(chunks: &[Bytes]) -> Tally {
    block_on(async {
        let mut events = sseer::EventStream::new(byte_stream(chunks));
        let mut tally = (0, 0);
        while let Some(event) = events.next().await {
            let event = black_box(event.expect("valid corpus"));
            tally.0 += 1;
            tally.1 += event.data.len();
        }
        tally
    })
}

fn eventsource_stream(chunks: &[Bytes]) -> Tally {
    use eventsource_stream::Eventsource;
    block_on(async {
        let mut events = byte_stream(chunks).eventsource();
        let mut tally = (0, 0);
        while let Some(event) = events.next().await {
            let event = black_box(event.expect("valid corpus"));
            tally.0 += 1;
            tally.1 += event.data.len();
        }
        tally
    })
}

fn sse_codec(chunks: &[Bytes]) -> Tally {
    block_on(async {
        let mut events = sse_codec::decode_stream(ChunkReader::new(chunks));
        let mut tally = (0, 0);
        while let Some(event) = events.next().await {
            if let sse_codec::Event::Message { data, .. } = black_box(event.expect("valid corpus"))
            {
                tally.0 += 1;
                tally.1 += data.len();
            }
        }
        tally
    })
}

/// The floor of any decoder's work: find every line end.
fn memchr_scan(chunks: &[Bytes]) -> usize {
    chunks
        .iter()
        .map(|chunk| memchr::memchr2_iter(b'\n', b'\r', chunk).count())
        .sum()
}

/// The floor of a decoder that checks UTF-8, as the WHATWG rules require
/// (and as `sse-stream` does): find every line end and validate every chunk,
/// one pass each.
fn memchr_utf8_scan(chunks: &[Bytes]) -> usize {
    chunks
        .iter()
        .map(|chunk| {
            // A read may cut a character in two: the result does not matter,
            // the pass does.
            black_box(simdutf8::basic::from_utf8(chunk).is_ok());
            memchr::memchr2_iter(b'\n', b'\r', chunk).count()
        })
        .sum()
}

/// The same work in one pass, with the bench-only AVX2 prototype in
/// `benches/fused`: what the library would gain by fusing its line-end
/// search and its UTF-8 check (at the cost of `unsafe` code of its own).
fn fused_scan(chunks: &[Bytes]) -> usize {
    chunks
        .iter()
        .map(|chunk| {
            let mut line_ends = 0;
            let mut rest = &chunk[..];
            loop {
                let end = match fused::scan(rest) {
                    fused::Scan::Line(end) => end,
                    fused::Scan::NoLine => break,
                    // A read that cut a character in two: this line's end
                    // the plain way.
                    fused::Scan::Invalid => match memchr::memchr2(b'\n', b'\r', rest) {
                        Some(end) => end,
                        None => break,
                    },
                };
                line_ends += 1;
                rest = &rest[end + 1..];
            }
            line_ends
        })
        .sum()
}

/// Touching every byte once: a copy of each chunk.
fn memcpy(chunks: &[Bytes], dst: &mut [u8]) -> usize {
    let mut at = 0;
    for chunk in chunks {
        dst[at..at + chunk.len()].copy_from_slice(chunk);
        at += chunk.len();
    }
    black_box(&dst[..at]).len()
}

type Run = fn(&[Bytes]) -> Tally;

/// The decoders, this crate's first.
const DECODERS: &[(&str, Run)] = &[
    ("agent37-stream", ours_stream),
    ("agent37-codec", ours_codec),
    ("sse-stream", sse_stream),
    ("sseer", sseer),
    ("eventsource-stream", eventsource_stream),
    ("sse-codec", sse_codec),
];

/// A ceiling: counts the line ends of the chunks.
type Ceiling = fn(&[Bytes]) -> usize;

/// The ceilings that `PEERS_ONCE` can time, by their names in the groups.
const CEILINGS: &[(&str, Ceiling)] = &[
    ("memchr2-scan", memchr_scan),
    ("memchr2+utf8", memchr_utf8_scan),
    ("fused-avx2", fused_scan),
];

const CHUNKINGS: [Chunking; 3] = [
    Chunking::Read(4096),
    Chunking::Read(64 * 1024),
    Chunking::Writes,
];

fn check(corpus: &Corpus, chunking: Chunking, chunks: &[Bytes]) {
    for (name, run) in DECODERS {
        assert_eq!(
            run(chunks),
            (corpus.events, corpus.data_bytes),
            "{name} on {} in {chunking} chunks",
            corpus.name
        );
    }
}

fn peers(c: &mut Criterion) {
    for corpus in corpus::all() {
        let mut dst = vec![0u8; corpus.bytes.len()];
        let line_ends = memchr_scan(&corpus.reads(corpus.bytes.len()));
        for chunking in CHUNKINGS {
            let chunks = corpus.chunks(chunking);
            check(&corpus, chunking, &chunks);
            let mut group = c.benchmark_group(format!("peers-bytes/{}/{chunking}", corpus.name));
            // A slow peer takes seconds per run: no ramp of iteration counts.
            group.sampling_mode(SamplingMode::Flat);
            group.throughput(Throughput::Bytes(corpus.bytes.len() as u64));
            for (name, run) in DECODERS {
                let expected = corpus.events;
                group.bench_function(*name, |b| {
                    b.iter(|| assert_eq!(run(black_box(&chunks)).0, expected))
                });
            }
            group.bench_function("memchr2-scan", |b| {
                b.iter(|| assert_eq!(memchr_scan(black_box(&chunks)), line_ends))
            });
            group.bench_function("memchr2+utf8", |b| {
                b.iter(|| assert_eq!(memchr_utf8_scan(black_box(&chunks)), line_ends))
            });
            if fused::available() {
                group.bench_function("fused-avx2", |b| {
                    b.iter(|| assert_eq!(fused_scan(black_box(&chunks)), line_ends))
                });
            }
            group.bench_function("memcpy", |b| {
                b.iter(|| memcpy(black_box(&chunks), &mut dst))
            });
            group.finish();
        }
    }

    let deltas = corpus::deltas();
    for chunking in CHUNKINGS {
        let chunks = deltas.chunks(chunking);
        let mut group = c.benchmark_group(format!("peers-events/deltas/{chunking}"));
        group.sampling_mode(SamplingMode::Flat);
        group.throughput(Throughput::Elements(deltas.events as u64));
        for (name, run) in DECODERS {
            group.bench_with_input(BenchmarkId::from_parameter(name), &chunks, |b, chunks| {
                b.iter(|| assert_eq!(run(black_box(chunks)).0, deltas.events))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = corpus::criterion_config();
    targets = peers
}

/// One decode, out of line so that a profiler can count it alone:
/// `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='peers::measured'`.
#[inline(never)]
fn measured(run: Run, chunks: &[Bytes]) -> Tally {
    run(black_box(chunks))
}

/// `PEERS_ONCE=<decoder>/<corpus>/<chunking>` (e.g.
/// `sse-stream/deltas/per-write`, or a ceiling: `fused-avx2/large/per-write`):
/// decodes once (`PEERS_REPEAT` times), checks the count, prints it with the
/// fastest decode's speed, and exits; for instruction counts under
/// callgrind, where a timed bench would take hours, for `perf record`
/// profiles of one decoder alone, and for fastest-of-N comparisons that a
/// busy machine disturbs less than criterion's means.
fn once(spec: &str) {
    let mut parts = spec.splitn(3, '/');
    let (Some(decoder), Some(corpus_name), Some(chunking)) =
        (parts.next(), parts.next(), parts.next())
    else {
        panic!("PEERS_ONCE={spec}: expected <decoder or ceiling>/<corpus>/<chunking>");
    };
    let corpus = match corpus_name {
        "deltas" => corpus::deltas(),
        "large" => corpus::large(),
        "multiline" => corpus::multiline(),
        "crlf" => corpus::crlf(),
        "comments" => corpus::comments(),
        other => panic!("no corpus {other}"),
    };
    let chunking = CHUNKINGS
        .into_iter()
        .find(|c| c.to_string() == chunking)
        .unwrap_or_else(|| panic!("no chunking {chunking}"));
    let chunks = corpus.chunks(chunking);
    let repeat: usize =
        std::env::var("PEERS_REPEAT").map_or(1, |n| n.parse().expect("PEERS_REPEAT: a count"));
    let decoder_run = DECODERS.iter().find(|(name, _)| *name == decoder);
    let ceiling = CEILINGS.iter().find(|(name, _)| *name == decoder);
    // A ceiling counts line ends; it is checked against memchr's count.
    let line_ends = ceiling.map(|_| memchr_scan(&chunks));
    let run = |chunks: &[Bytes]| -> Tally {
        match (decoder_run, ceiling) {
            (Some((_, run)), _) => measured(*run, chunks),
            (None, Some((_, scan))) => {
                assert_eq!(Some(scan(black_box(chunks))), line_ends, "{decoder}");
                (corpus.events, corpus.data_bytes)
            }
            (None, None) => panic!("no decoder or ceiling {decoder}"),
        }
    };
    let mut fastest = std::time::Duration::MAX;
    let mut tally = (0, 0);
    for _ in 0..repeat.max(1) {
        let started = std::time::Instant::now();
        tally = run(&chunks);
        fastest = fastest.min(started.elapsed());
    }
    assert_eq!(tally, (corpus.events, corpus.data_bytes), "{decoder}");
    // The fastest of the repeats: the run least disturbed by the machine.
    let seconds = fastest.as_secs_f64();
    println!(
        "{decoder} {} {chunking}: {} events, {} bytes; fastest of {repeat}: {:.1} ns/event, {:.2} M events/s, {:.0} MiB/s",
        corpus.name,
        tally.0,
        corpus.bytes.len(),
        seconds * 1e9 / tally.0 as f64,
        tally.0 as f64 / seconds / 1e6,
        corpus.bytes.len() as f64 / seconds / (1024.0 * 1024.0),
    );
}

fn main() {
    if let Ok(spec) = std::env::var("PEERS_ONCE") {
        once(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
