//! Helpers shared by the SSE behaviour tests.
#![allow(dead_code)]

use agent37_stream::sse::{ChunkDecoder, DecodeError, Decoder, Event, EventReader, Limits};
use bytes::{Bytes, BytesMut};
use tokio_util::codec::Decoder as _;

/// What a decoded stream comes to: events as `(type, data, id)`, where each
/// starts, the errors, and the reconnection time and last event id left at
/// the end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub events: Vec<(String, String, String)>,
    pub positions: Vec<(u64, u64)>,
    pub retry: Option<u64>,
    pub last_event_id: String,
    pub errors: Vec<String>,
}

impl Outcome {
    fn push(&mut self, event: &Event) {
        self.events.push(triple(event));
        let position = event.position();
        self.positions.push((position.offset, position.line));
    }
}

pub fn triple(e: &Event) -> (String, String, String) {
    (
        e.event_type().to_owned(),
        e.data().to_owned(),
        e.id().to_owned(),
    )
}

fn push_result(out: &mut Outcome, r: Result<Event, DecodeError>) {
    match r {
        Ok(e) => out.push(&e),
        Err(e) => out.errors.push(e.to_string()),
    }
}

/// Feeds `input` to the codec (`tokio_util` `Decoder`) in pieces cut at `cuts`.
pub fn via_codec(input: &[u8], cuts: &[usize], limits: Limits) -> Outcome {
    let mut decoder = Decoder::with_limits(limits);
    let mut buf = BytesMut::new();
    let mut out = Outcome::default();
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&input.len())) {
        buf.extend_from_slice(&input[from..to]);
        from = to;
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(e)) => out.push(&e),
                Ok(None) => break,
                Err(e) => out.errors.push(e.to_string()),
            }
        }
    }
    loop {
        match decoder.decode_eof(&mut buf) {
            Ok(Some(e)) => out.push(&e),
            Ok(None) => break,
            Err(e) => out.errors.push(e.to_string()),
        }
    }
    out.retry = decoder.retry();
    out.last_event_id = decoder.last_event_id().to_string();
    out
}

/// Pushes `input` to a [`ChunkDecoder`] as `Bytes` chunks cut at `cuts`.
pub fn via_chunks(input: &[u8], cuts: &[usize], limits: Limits) -> Outcome {
    let mut decoder = ChunkDecoder::with_limits(limits);
    let mut out = Outcome::default();
    let input = Bytes::copy_from_slice(input);
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&input.len())) {
        decoder.push(input.slice(from..to));
        from = to;
        while let Some(r) = decoder.next_event().transpose() {
            push_result(&mut out, r);
        }
    }
    decoder.finish();
    while let Some(r) = decoder.next_event().transpose() {
        push_result(&mut out, r);
    }
    out.retry = decoder.retry();
    out.last_event_id = decoder.last_event_id().to_string();
    out
}

/// Reads `input` through [`EventReader`], whose reader returns the pieces
/// cut at `cuts` one read at a time.
pub fn via_reader(input: &[u8], cuts: &[usize], limits: Limits) -> Outcome {
    struct Pieces {
        pieces: std::collections::VecDeque<Vec<u8>>,
    }
    impl std::io::Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some(mut piece) = self.pieces.pop_front() else {
                return Ok(0);
            };
            let n = piece.len().min(buf.len());
            buf[..n].copy_from_slice(&piece[..n]);
            if n < piece.len() {
                self.pieces.push_front(piece.split_off(n));
            }
            Ok(n)
        }
    }
    let mut pieces = std::collections::VecDeque::new();
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&input.len())) {
        if to > from {
            pieces.push_back(input[from..to].to_vec());
        }
        from = to;
    }
    let mut reader = EventReader::with_limits(Pieces { pieces }, limits);
    let mut out = Outcome::default();
    for r in reader.by_ref() {
        push_result(&mut out, r);
    }
    out.retry = reader.retry();
    out.last_event_id = reader.last_event_id().to_string();
    out
}

/// Cut points for pieces of `size` bytes.
pub fn every(size: usize, len: usize) -> Vec<usize> {
    (1..len.div_ceil(size)).map(|i| i * size).collect()
}

pub fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("bad base64 byte {c}"),
        }
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for group in digits.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in group.iter().enumerate() {
            n |= value(c) << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..group.len()]);
    }
    out
}

pub struct Vector {
    pub name: String,
    pub input: Vec<u8>,
    pub expected: Vec<(String, String, String)>,
    pub retry: Option<u64>,
}

pub fn vectors() -> Vec<Vector> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/conformance/sse-vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("read vectors");
    let items: Vec<serde_json::Value> = serde_json::from_str(&text).expect("vectors are JSON");
    items
        .iter()
        .map(|v| Vector {
            name: v["name"].as_str().unwrap().to_owned(),
            input: base64_decode(v["input_b64"].as_str().unwrap()),
            expected: v["expected"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["type"].as_str().unwrap().to_owned(),
                        e["data"].as_str().unwrap().to_owned(),
                        e["id"].as_str().unwrap().to_owned(),
                    )
                })
                .collect(),
            retry: v["retry"].as_u64(),
        })
        .collect()
}

pub mod reference;
