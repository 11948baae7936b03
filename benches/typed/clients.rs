//! Five ways to read an agent turn into typed events and fold its text,
//! shared by `benches/typed.rs` and `tests/alloc.rs` (`#[path]`-included).
//!
//! Each client takes the body as an iterator of chunks and calls
//! `on_event` after handling each event (the allocation test's hook; the
//! bench passes a no-op that compiles away). Each folds the output text
//! and the reasoning, counts the events, and keeps the terminal event's
//! `output_text`, so a caller can check that it read the whole turn.
//!
//! The peers' clients are the code a user writes today: owned
//! `#[derive(Deserialize)]` structs picked by the event name, the text
//! folded by hand.
#![allow(dead_code)]

use std::convert::Infallible;
use std::hint::black_box;

use agent37_stream::protocol::decoder::ResponseDecoder;
use agent37_stream::protocol::event::ResponseEvent;
use agent37_stream::protocol::stream::ResponseStream;
use agent37_stream::sse::ChunkDecoder;
use bytes::Bytes;
use futures_lite::StreamExt;
use futures_lite::future::block_on;
use serde::Deserialize;

/// What a client made of a turn.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub events: usize,
    pub deltas: usize,
    pub tool_events: usize,
    /// The output text deltas, concatenated.
    pub output_text: String,
    /// The reasoning deltas, concatenated.
    pub reasoning: String,
    /// The terminal event's `output_text`.
    pub completed_text: String,
}

fn body(
    chunks: impl Iterator<Item = Bytes>,
) -> impl futures_lite::Stream<Item = Result<Bytes, Infallible>> + Unpin {
    futures_lite::stream::iter(chunks.map(Ok))
}

/// The payloads as a peer crate's user declares them.
mod owned {
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub struct Created {
        pub id: String,
        pub instance_id: String,
        pub session_id: String,
    }

    #[derive(Deserialize)]
    pub struct TextDelta {
        pub text: String,
    }

    #[derive(Deserialize)]
    pub struct ToolCallStarted {
        pub tool: String,
        pub label: String,
    }

    #[derive(Deserialize)]
    pub struct ToolCallCompleted {
        pub tool: String,
        pub duration_ms: f64,
    }

    #[derive(Deserialize)]
    pub struct ToolCallFailed {
        pub tool: String,
        pub error: String,
    }

    #[derive(Deserialize)]
    pub struct Usage {
        pub input_tokens: u64,
        pub output_tokens: u64,
        pub cost_usd: Option<f64>,
    }

    #[derive(Deserialize)]
    pub struct Completed {
        pub output_text: String,
        pub usage: Option<Usage>,
    }
}

/// The user's event enum, chosen by the SSE event name.
enum OwnedEvent {
    Created(owned::Created),
    ReasoningDelta(owned::TextDelta),
    OutputTextDelta(owned::TextDelta),
    ToolCallStarted(owned::ToolCallStarted),
    ToolCallCompleted(owned::ToolCallCompleted),
    ToolCallFailed(owned::ToolCallFailed),
    Completed(owned::Completed),
    Other,
}

fn json<'a, T: Deserialize<'a>>(data: &'a str) -> T {
    serde_json::from_str(data).expect("valid payload")
}

fn parse_owned(name: &str, data: &str) -> OwnedEvent {
    match name {
        "response.created" => OwnedEvent::Created(json(data)),
        "response.reasoning.delta" => OwnedEvent::ReasoningDelta(json(data)),
        "response.output_text.delta" => OwnedEvent::OutputTextDelta(json(data)),
        "response.tool_call.started" => OwnedEvent::ToolCallStarted(json(data)),
        "response.tool_call.completed" => OwnedEvent::ToolCallCompleted(json(data)),
        "response.tool_call.failed" => OwnedEvent::ToolCallFailed(json(data)),
        "response.completed" => OwnedEvent::Completed(json(data)),
        _ => OwnedEvent::Other,
    }
}

/// The hand fold of the peers' clients (the async-openai pattern).
fn fold_owned(outcome: &mut Outcome, event: OwnedEvent) {
    outcome.events += 1;
    match black_box(event) {
        OwnedEvent::OutputTextDelta(delta) => {
            outcome.deltas += 1;
            outcome.output_text.push_str(&delta.text);
        }
        OwnedEvent::ReasoningDelta(delta) => {
            outcome.deltas += 1;
            outcome.reasoning.push_str(&delta.text);
        }
        OwnedEvent::ToolCallStarted(_)
        | OwnedEvent::ToolCallCompleted(_)
        | OwnedEvent::ToolCallFailed(_) => outcome.tool_events += 1,
        OwnedEvent::Completed(done) => outcome.completed_text = done.output_text,
        OwnedEvent::Created(_) | OwnedEvent::Other => {}
    }
}

/// Baseline: `sse-stream` + `serde_json` into owned structs.
pub fn sse_stream_serde(
    chunks: impl Iterator<Item = Bytes>,
    mut on_event: impl FnMut(),
) -> Outcome {
    block_on(async {
        let mut blocks = sse_stream::SseByteStream::new(body(chunks));
        let mut outcome = Outcome::default();
        while let Some(block) = blocks.next().await {
            let block = block.expect("valid stream");
            // It yields every block; an event is one with data.
            let (Some(name), Some(data)) = (block.event, block.data) else {
                continue;
            };
            fold_owned(&mut outcome, parse_owned(&name, &data));
            on_event();
        }
        outcome
    })
}

/// `eventsource-stream` + `serde_json` into owned structs.
pub fn eventsource_serde(
    chunks: impl Iterator<Item = Bytes>,
    mut on_event: impl FnMut(),
) -> Outcome {
    use eventsource_stream::Eventsource;
    block_on(async {
        let mut events = body(chunks).eventsource();
        let mut outcome = Outcome::default();
        while let Some(event) = events.next().await {
            let event = event.expect("valid stream");
            fold_owned(&mut outcome, parse_owned(&event.event, &event.data));
            on_event();
        }
        outcome
    })
}

/// The hand fold of our typed-only clients.
#[inline(always)]
fn fold_typed(outcome: &mut Outcome, event: ResponseEvent) {
    match event {
        ResponseEvent::OutputTextDelta(delta) => {
            outcome.deltas += 1;
            outcome.output_text.push_str(&delta.text);
        }
        ResponseEvent::ReasoningDelta(delta) => {
            outcome.deltas += 1;
            outcome.reasoning.push_str(&delta.text);
        }
        ResponseEvent::ToolCallStarted(_)
        | ResponseEvent::ToolCallCompleted(_)
        | ResponseEvent::ToolCallFailed(_) => outcome.tool_events += 1,
        ResponseEvent::Completed(done) => {
            outcome.completed_text = done.output_text.to_string();
        }
        _ => {}
    }
}

/// Ours, typed only: `ChunkDecoder` + `ResponseEvent::from_sse`, folded by
/// hand. No ordering checks, no replay guard.
pub fn ours_typed(chunks: impl Iterator<Item = Bytes>, mut on_event: impl FnMut()) -> Outcome {
    let mut decoder = ChunkDecoder::new();
    let mut outcome = Outcome::default();
    let mut handle = |decoder: &mut ChunkDecoder, outcome: &mut Outcome| {
        while let Some(event) = decoder.next_event().expect("corpus within limits") {
            outcome.events += 1;
            fold_typed(
                outcome,
                black_box(ResponseEvent::from_sse(&event).expect("valid payload")),
            );
            on_event();
        }
    };
    for chunk in chunks {
        decoder.push(chunk);
        handle(&mut decoder, &mut outcome);
    }
    decoder.finish();
    handle(&mut decoder, &mut outcome);
    outcome
}

/// Ours, typed only, in one loop: `ResponseDecoder` (a plain delta is read
/// straight from its block's bytes), folded by hand. No ordering checks, no
/// replay guard.
pub fn ours_decoder(chunks: impl Iterator<Item = Bytes>, mut on_event: impl FnMut()) -> Outcome {
    let mut decoder = ResponseDecoder::new();
    let mut outcome = Outcome::default();
    let mut handle = |decoder: &mut ResponseDecoder, outcome: &mut Outcome| {
        while let Some(decoded) = decoder.next_event().expect("corpus within limits") {
            outcome.events += 1;
            fold_typed(outcome, black_box(decoded.event.expect("valid payload")));
            on_event();
        }
    };
    for chunk in chunks {
        decoder.push(chunk);
        handle(&mut decoder, &mut outcome);
    }
    decoder.finish();
    handle(&mut decoder, &mut outcome);
    outcome
}

/// Ours, `ResponseStream`: typed, validated, folded, replay-safe. The text
/// comes from its fold (`into_turn`), not the caller's.
pub fn ours_stream(chunks: impl Iterator<Item = Bytes>, mut on_event: impl FnMut()) -> Outcome {
    block_on(async {
        let mut events = ResponseStream::new(body(chunks));
        let mut outcome = Outcome::default();
        while let Some(item) = events.next().await {
            let item = item.expect("a valid turn");
            outcome.events += 1;
            match black_box(item.event) {
                ResponseEvent::OutputTextDelta(_) | ResponseEvent::ReasoningDelta(_) => {
                    outcome.deltas += 1;
                }
                ResponseEvent::ToolCallStarted(_)
                | ResponseEvent::ToolCallCompleted(_)
                | ResponseEvent::ToolCallFailed(_) => outcome.tool_events += 1,
                ResponseEvent::Completed(done) => {
                    outcome.completed_text = done.output_text.to_string();
                }
                _ => {}
            }
            on_event();
        }
        assert!(events.is_terminated(), "the turn ends");
        assert!(events.warnings().is_empty(), "{:?}", events.warnings());
        let turn = events.into_turn();
        outcome.output_text = turn.response.output_text;
        outcome.reasoning = turn.reasoning;
        outcome
    })
}
