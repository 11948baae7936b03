//! What the SSE fuzz targets share: cutting an input into pieces, running
//! it through each front end, and what a run comes to.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::Read;

use agent37_stream::sse::{ChunkDecoder, DecodeError, Decoder, Event, EventReader, Limits};
use bytes::{Bytes, BytesMut};
use tokio_util::codec::Decoder as _;

/// One thing a decoder produced: an event `(explicit type, data, id,
/// position)` or an error's text (which carries its position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Event(Option<String>, String, String, u64, u64),
    Error(String),
}

/// Everything observable about a decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub items: Vec<Item>,
    pub retry: Option<u64>,
    pub last_id: String,
    pub incomplete: Option<(u64, u64, u64)>,
}

fn event_item(event: &Event) -> Item {
    Item::Event(
        event.explicit_type().map(str::to_owned),
        event.data().to_owned(),
        event.id().to_owned(),
        event.position().offset,
        event.position().line,
    )
}

fn item(result: Result<Event, DecodeError>) -> Item {
    match result {
        Ok(event) => event_item(&event),
        Err(error) => Item::Error(error.to_string()),
    }
}

/// Cut points for `len` bytes chosen by `control`: 0 is no cut at all, and
/// any other value seeds a generator of piece lengths from 1 up to a bound
/// that `control` also picks (1, so byte by byte, up to 129).
pub fn cuts(control: u8, len: usize) -> Vec<usize> {
    if control == 0 {
        return Vec::new();
    }
    let max = 1 + (usize::from(control) * 37) % 129;
    let mut state = u32::from(control).wrapping_mul(0x9E37_79B1) | 1;
    let mut at = 0;
    let mut cuts = Vec::new();
    loop {
        // xorshift32
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        at += 1 + state as usize % max;
        if at >= len {
            return cuts;
        }
        cuts.push(at);
    }
}

/// The pieces of `input` between `cuts`.
pub fn pieces<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut from = 0;
    let mut out = Vec::with_capacity(cuts.len() + 1);
    for &to in cuts.iter().chain(std::iter::once(&input.len())) {
        out.push(&input[from..to]);
        from = to;
    }
    out
}

/// Small limits picked by `control`, so the fuzzer reaches them.
pub fn limits(control: u8) -> Limits {
    match control % 4 {
        0 => Limits::default().max_event_bytes(64).max_line_bytes(32),
        1 => Limits::default().max_event_bytes(256).max_line_bytes(256),
        2 => Limits::default().max_event_bytes(1024).max_line_bytes(100),
        _ => Limits::default(),
    }
}

/// The codec fed the pieces read by read. `after_read` sees the buffer
/// each time the decoder has taken all it can from it.
pub fn via_codec(
    pieces: &[&[u8]],
    limits: Limits,
    mut after_read: impl FnMut(&BytesMut),
) -> Outcome {
    let mut decoder = Decoder::with_limits(limits);
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(event)) => items.push(event_item(&event)),
                Ok(None) => break,
                Err(error) => items.push(Item::Error(error.to_string())),
            }
        }
        after_read(&buf);
    }
    loop {
        match decoder.decode_eof(&mut buf) {
            Ok(Some(event)) => items.push(event_item(&event)),
            Ok(None) => break,
            Err(error) => items.push(Item::Error(error.to_string())),
        }
    }
    Outcome {
        items,
        retry: decoder.retry(),
        last_id: decoder.last_event_id().as_str().to_owned(),
        incomplete: decoder
            .incomplete()
            .map(|i| (i.position.offset, i.position.line, i.bytes)),
    }
}

/// The push decoder fed the pieces as `Bytes` chunks of one buffer.
pub fn via_chunks(input: &[u8], cuts: &[usize], limits: Limits) -> Outcome {
    let input = Bytes::copy_from_slice(input);
    let mut decoder = ChunkDecoder::with_limits(limits);
    let mut items = Vec::new();
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&input.len())) {
        decoder.push(input.slice(from..to));
        from = to;
        while let Some(result) = decoder.next_event().transpose() {
            items.push(item(result));
        }
    }
    decoder.finish();
    while let Some(result) = decoder.next_event().transpose() {
        items.push(item(result));
    }
    Outcome {
        items,
        retry: decoder.retry(),
        last_id: decoder.last_event_id().as_str().to_owned(),
        incomplete: decoder
            .incomplete()
            .map(|i| (i.position.offset, i.position.line, i.bytes)),
    }
}

/// A reader that returns the pieces one per read.
struct Pieces(VecDeque<Vec<u8>>);

impl Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some(mut piece) = self.0.pop_front() else {
            return Ok(0);
        };
        let n = piece.len().min(buf.len());
        buf[..n].copy_from_slice(&piece[..n]);
        if n < piece.len() {
            self.0.push_front(piece.split_off(n));
        }
        Ok(n)
    }
}

/// The blocking reader over a `Read` that returns the pieces.
pub fn via_reader(pieces: &[&[u8]], limits: Limits) -> Outcome {
    let queue = pieces
        .iter()
        .filter(|piece| !piece.is_empty())
        .map(|piece| piece.to_vec())
        .collect();
    let mut reader = EventReader::with_limits(Pieces(queue), limits);
    let items = reader.by_ref().map(item).collect();
    Outcome {
        items,
        retry: reader.retry(),
        last_id: reader.last_event_id().as_str().to_owned(),
        incomplete: reader
            .incomplete()
            .map(|i| (i.position.offset, i.position.line, i.bytes)),
    }
}
