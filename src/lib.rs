//! # agent37-stream
//!
//! Server-Sent Events done exactly, and the agent37 Responses streaming
//! contract on top of them.
//!
//! The crate has three layers, each usable on its own:
//!
//! 1. [`sse`]: a generic event-stream decoder, exact to the WHATWG rules
//!    whatever the chunking, zero-copy (an event's data is a slice of the
//!    bytes it came in) and incremental (no byte is scanned twice). Use it
//!    for any SSE API.
//! 2. [`protocol`]: the agent37 contract ([`protocol::contract`]) as types:
//!    the eight typed events (owning their data without copying it), the
//!    ordering state machine with stable rule codes, folding a stream into
//!    the final response, resuming it after a dropped connection, the two
//!    error envelopes, and the request body with its limits; one pipeline
//!    ([`protocol::pipeline`]) ties them together for every front.
//! 3. [`check`]: conformance diagnostics for recorded streams, as the
//!    `agent37-stream check` command prints them.
//!
//! ## Decoding any SSE stream
//!
//! ```
//! use agent37_stream::sse::ChunkDecoder;
//! use bytes::Bytes;
//!
//! let mut decoder = ChunkDecoder::new();
//! // A CR at the end of one read and an LF at the start of the next are one line end.
//! decoder.push(Bytes::from_static(b"event: greeting\r"));
//! decoder.push(Bytes::from_static(b"\ndata: hello\r\n\r\n"));
//! let event = decoder.next_event()?.expect("one event");
//! assert_eq!((event.event_type(), event.data()), ("greeting", "hello"));
//! # Ok::<(), agent37_stream::sse::DecodeError>(())
//! ```
//!
//! With tokio, [`sse::Decoder`] is a `tokio_util` codec for `FramedRead`, and
//! [`sse::EventStream`] adapts an HTTP client's `Stream` of `Bytes`.
//!
//! ## Following an agent37 turn
//!
//! [`protocol::stream::ResponseStream`] turns a response body into validated,
//! typed events and folds them into the final response, so a client writes
//! one loop; see its documentation for an example. Without a runtime, and
//! without ordering checks, [`protocol::decoder::ResponseDecoder`] takes
//! pushed chunks to typed events. Text read from the stream (event data,
//! typed string fields) was checked as UTF-8 once, when decoded, and costs
//! nothing to read.
//!
//! ## Features
//!
//! - `cli` (default): the `agent37-stream` binary and its `clap` dependency.
//!   Library users can turn it off with `default-features = false`.
//! - `serve`: `agent37-stream serve`, a local gateway replaying recordings
//!   over HTTP for client tests (the `serve` module).
//! - `client`: an async client of the agent37 API on reqwest with rustls
//!   (the `client` module), resuming dropped streams and retrying refused
//!   requests by itself, and `agent37-stream ask`.
//!
//! Without the `client` feature, [`ByteStreamExt`] gives any HTTP client's
//! body stream the SSE events or the typed turn in one call.
//!
//! The library forbids `unsafe` code; every buffer is bounded by
//! [`sse::Limits`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod check;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod client;
mod ext;
pub mod protocol;
#[cfg(feature = "serve")]
#[cfg_attr(docsrs, doc(cfg(feature = "serve")))]
pub mod serve;
pub mod sse;

pub use ext::ByteStreamExt;

// The README's examples run as doc tests, so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
