//! Throughput of the SSE layer on the named corpora (`benches/corpus`).
//!
//! Groups:
//! - `sse-bytes/<corpus>`: MB/s of the codec path (`Decoder` over a
//!   `BytesMut` filled read by read) and the chunk path (`ChunkDecoder` fed
//!   `Bytes`), in 4 KiB and 64 KiB reads, and for `large` also one chunk per
//!   event as the server wrote it.
//! - `sse-events/<corpus>`: the same runs counted in events/s.
//! - `sse-linear`: byte-at-a-time feeding against whole-buffer decoding of a
//!   1 MiB (and a 256 KiB) deltas stream; equal MB/s at both sizes means the
//!   cost is linear in the input.
//!
//! `cargo bench --bench sse`; pass `-- --measurement-time 5` for steadier
//! figures, or a filter such as `-- sse-bytes/deltas`.

#[path = "corpus/mod.rs"]
mod corpus;

use std::hint::black_box;

use agent37_stream::sse::{ChunkDecoder, Decoder};
use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tokio_util::codec::Decoder as _;

use corpus::{Chunking, Corpus};

/// Decodes `input` through the codec, `read` bytes at a time, the way
/// `FramedRead` fills its buffer; returns (events, data bytes).
fn codec(input: &[u8], read: usize) -> (usize, usize) {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    let (mut events, mut data) = (0, 0);
    for piece in input.chunks(read) {
        buf.reserve(piece.len());
        buf.extend_from_slice(piece);
        while let Some(event) = decoder.decode(&mut buf).expect("corpus within limits") {
            events += 1;
            data += black_box(event).data_bytes().len();
        }
    }
    while let Some(event) = decoder.decode_eof(&mut buf).expect("corpus within limits") {
        events += 1;
        data += black_box(event).data_bytes().len();
    }
    (events, data)
}

/// Decodes `chunks` through the push decoder; returns (events, data bytes).
fn chunked(chunks: &[Bytes]) -> (usize, usize) {
    let mut decoder = ChunkDecoder::new();
    let (mut events, mut data) = (0, 0);
    for chunk in chunks {
        decoder.push(chunk.clone());
        while let Some(event) = decoder.next_event().expect("corpus within limits") {
            events += 1;
            data += black_box(event).data_bytes().len();
        }
    }
    decoder.finish();
    while let Some(event) = decoder.next_event().expect("corpus within limits") {
        events += 1;
        data += black_box(event).data_bytes().len();
    }
    (events, data)
}

/// The chunkings measured for a corpus.
fn chunkings(corpus: &Corpus) -> Vec<Chunking> {
    let mut list = vec![Chunking::Read(4096), Chunking::Read(64 * 1024)];
    if corpus.name == "large" {
        list.push(Chunking::Writes);
    }
    list
}

/// Checks, before timing anything, that both paths decode the whole corpus.
fn check(corpus: &Corpus) {
    let expected = (corpus.events, corpus.data_bytes);
    for chunking in chunkings(corpus) {
        if let Chunking::Read(size) = chunking {
            assert_eq!(
                codec(&corpus.bytes, size),
                expected,
                "codec {chunking} on {}",
                corpus.name
            );
        }
        let chunks = corpus.chunks(chunking);
        assert_eq!(
            chunked(&chunks),
            expected,
            "chunk {chunking} on {}",
            corpus.name
        );
    }
}

fn decode_group(c: &mut Criterion, corpus: &Corpus, unit: &str, throughput: Throughput) {
    let mut group = c.benchmark_group(format!("sse-{unit}/{}", corpus.name));
    group.throughput(throughput);
    let expected = (corpus.events, corpus.data_bytes);
    for chunking in chunkings(corpus) {
        if let Chunking::Read(size) = chunking {
            group.bench_function(BenchmarkId::new("codec", chunking), |b| {
                b.iter(|| assert_eq!(codec(black_box(&corpus.bytes), size), expected))
            });
        }
        let chunks = corpus.chunks(chunking);
        group.bench_function(BenchmarkId::new("chunk", chunking), |b| {
            b.iter(|| assert_eq!(chunked(black_box(&chunks)), expected))
        });
    }
    group.finish();
}

fn decode(c: &mut Criterion) {
    for corpus in corpus::all() {
        check(&corpus);
        decode_group(
            c,
            &corpus,
            "bytes",
            Throughput::Bytes(corpus.bytes.len() as u64),
        );
        decode_group(
            c,
            &corpus,
            "events",
            Throughput::Elements(corpus.events as u64),
        );
    }
}

/// Feeds the codec one byte per read.
fn codec_bytewise(input: &[u8]) -> usize {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::with_capacity(8 * 1024);
    let mut events = 0;
    for &byte in input {
        buf.extend_from_slice(&[byte]);
        while let Some(event) = decoder.decode(&mut buf).expect("corpus within limits") {
            black_box(event);
            events += 1;
        }
    }
    while let Some(event) = decoder.decode_eof(&mut buf).expect("corpus within limits") {
        black_box(event);
        events += 1;
    }
    events
}

fn linear(c: &mut Criterion) {
    let mut group = c.benchmark_group("sse-linear");
    for size in [256 * 1024, 1024 * 1024] {
        let corpus = corpus::deltas_of_size(size);
        let label = format!("{}KiB", size / 1024);
        let bytewise: Vec<Bytes> = corpus.reads(1);
        let whole = vec![corpus.bytes.clone()];
        let events = corpus.events;
        assert_eq!(codec_bytewise(&corpus.bytes), events);
        assert_eq!(chunked(&bytewise).0, events);
        assert_eq!(codec(&corpus.bytes, corpus.bytes.len()).0, events);
        assert_eq!(chunked(&whole).0, events);

        group.throughput(Throughput::Bytes(corpus.bytes.len() as u64));
        group.bench_function(BenchmarkId::new("codec-whole", &label), |b| {
            b.iter(|| {
                assert_eq!(
                    codec(black_box(&corpus.bytes), corpus.bytes.len()).0,
                    events
                )
            })
        });
        group.bench_function(BenchmarkId::new("codec-bytewise", &label), |b| {
            b.iter(|| assert_eq!(codec_bytewise(black_box(&corpus.bytes)), events))
        });
        group.bench_function(BenchmarkId::new("chunk-whole", &label), |b| {
            b.iter(|| assert_eq!(chunked(black_box(&whole)).0, events))
        });
        group.bench_function(BenchmarkId::new("chunk-bytewise", &label), |b| {
            b.iter(|| assert_eq!(chunked(black_box(&bytewise)).0, events))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = corpus::criterion_config();
    targets = decode, linear
}
criterion_main!(benches);
