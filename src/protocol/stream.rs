//! [`ResponseStream`]: from an HTTP body to validated typed events, in one
//! loop.
//!
//! It decodes the bytes (a [`sse::ChunkDecoder`], as [`sse::EventStream`] does), types each event, checks the
//! contract ([`Validator`](super::machine::Validator)) and folds the turn
//! ([`TurnBuilder`](super::fold::TurnBuilder)); it ends after the terminal
//! event. After a dropped connection, [`ResponseStream::resume`] continues
//! on the replay stream, skipping what was already yielded.
//!
//! ```
//! use agent37_stream::protocol::event::ResponseEvent;
//! use agent37_stream::protocol::stream::ResponseStream;
//! use bytes::Bytes;
//! use futures_util::{StreamExt, stream};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let body = stream::iter([
//!     Ok::<_, std::io::Error>(Bytes::from_static(b"event: response.created\ndata: {\"id\":\"c91d2a7e84f04b6f9a3d5e1c0b87f4a2\",\"instance_id\":\"i\",\"session_id\":\"s\"}\n\n")),
//!     Ok(Bytes::from_static(b"event: response.output_text.delta\ndata: {\"text\":\"Hi\"}\n\n")),
//!     Ok(Bytes::from_static(b"event: response.completed\ndata: {\"output_text\":\"Hi\",\"usage\":null}\n\n")),
//! ]);
//! let mut events = ResponseStream::new(body);
//! let mut text = String::new();
//! while let Some(item) = events.next().await {
//!     match item?.event {
//!         ResponseEvent::OutputTextDelta(delta) => text.push_str(&delta.text),
//!         ResponseEvent::Completed(done) => assert_eq!(done.output_text, text),
//!         _ => {}
//!     }
//! }
//! assert!(events.is_terminated());
//! assert_eq!(events.turn().response.output_text, "Hi");
//! # Ok(())
//! # }
//! ```

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use super::event::{PayloadError, ResponseEvent};
use super::fold::{Seed, Step, Turn, TurnTracker};
use super::machine::{Finding, Rule, Severity, ValidatorOptions};
use crate::sse::{self, ChunkDecoder, DecodeError, Limits, Position};

/// One validated event of a [`ResponseStream`].
#[derive(Clone, Debug, PartialEq)]
pub struct StreamEvent {
    /// The typed event.
    pub event: ResponseEvent<'static>,
    /// Its 0-based index in the turn (the same across reconnects).
    pub index: usize,
    /// Where its block starts in the current connection's bytes.
    pub position: Position,
    /// The last event id in force when it was dispatched.
    pub id: sse::Utf8Bytes,
}

/// Why a [`ResponseStream`] yielded an error instead of an event.
///
/// The stream goes on after an error (stop reading for fail-fast), except
/// after a diverged replay, which ends it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError<E> {
    /// The byte stream failed (the connection dropped): see
    /// [`ResponseStream::resume`].
    #[error("the byte stream failed: {0}")]
    Transport(#[source] E),
    /// The bytes broke a decoder limit (an oversized event, which is skipped).
    #[error(transparent)]
    Decode(DecodeError),
    /// An event's payload breaks the contract; the event is not yielded.
    #[error("{finding}")]
    Payload {
        /// The finding (`invalid-json`, `missing-field`, …) with the event's
        /// index and position.
        finding: Finding,
        /// What is wrong, field by field.
        error: PayloadError,
    },
    /// An error-severity rule was broken: events out of order
    /// (`missing-created`, `duplicate-created`, `unmatched-tool-call`), an
    /// untyped event, an unknown one in strict mode, a stream that ended with
    /// no terminal event (`missing-terminal`), or a replay that diverged
    /// (`replay-diverged`).
    #[error("{0}")]
    Violation(Finding),
}

impl<E> StreamError<E> {
    /// The finding behind a contract error, `None` for transport and decode
    /// errors.
    pub fn finding(&self) -> Option<&Finding> {
        match self {
            StreamError::Payload { finding, .. } | StreamError::Violation(finding) => Some(finding),
            StreamError::Transport(_) | StreamError::Decode(_) => None,
        }
    }
}

/// How a [`ResponseStream`] reads and judges.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct StreamOptions {
    /// The validator's options (strict mode).
    pub validator: ValidatorOptions,
    /// The decoder's limits.
    pub limits: Limits,
    /// The response fields the stream does not carry.
    pub seed: Seed,
}

impl StreamOptions {
    /// Sets the validator's options.
    pub fn with_validator(mut self, validator: ValidatorOptions) -> Self {
        self.validator = validator;
        self
    }

    /// Sets the decoder's limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the seed of the folded response.
    pub fn with_seed(mut self, seed: Seed) -> Self {
        self.seed = seed;
        self
    }
}

/// Validated typed events of one turn from a stream of `Bytes` chunks (an
/// HTTP response body), ending after the terminal event.
///
/// Each item is a [`StreamEvent`] or a [`StreamError`]. Warnings (unknown
/// events outside strict mode, an unclosed tool call, an `output_text`
/// mismatch, an id of the wrong form, an unterminated last event) do not
/// interrupt the stream; they are kept in [`warnings`](Self::warnings).
///
/// The byte stream must be [`Unpin`] (pin one that is not with `Box::pin`).
#[derive(Debug)]
pub struct ResponseStream<S> {
    body: S,
    body_done: bool,
    decoder: ChunkDecoder,
    tracker: TurnTracker,
    warnings: Vec<Finding>,
    pending: VecDeque<PendingItem>,
    done: bool,
}

/// An item waiting to be yielded (several can come from one SSE event).
#[derive(Debug)]
enum PendingItem {
    Event(StreamEvent),
    Payload(Finding, PayloadError),
    Violation(Finding),
}

impl<S> ResponseStream<S> {
    /// Reads a turn with the default options.
    pub fn new(body: S) -> Self {
        Self::with_options(body, StreamOptions::default())
    }

    /// Reads a turn with the given options.
    pub fn with_options(body: S, options: StreamOptions) -> Self {
        let tracker = TurnTracker::new(options.seed, options.validator);
        Self::start(body, options.limits, tracker)
    }

    /// Continues a turn on a new connection (`GET /v1/responses/{id}/stream`)
    /// after `previous` was cut (it ended without its terminal event, or its
    /// byte stream failed): the replayed events already yielded are skipped
    /// (and checked to be the same: else a `replay-diverged` violation ends
    /// the stream), the rest are yielded as usual, with the same indices. The
    /// warnings and any items `previous` had not yielded yet carry over.
    pub fn resume<P>(body: S, previous: ResponseStream<P>) -> Self {
        let limits = previous.decoder.limits();
        let mut stream = Self::start(body, limits, previous.tracker);
        stream.warnings = previous.warnings;
        stream.pending = previous.pending;
        stream.tracker.reconnect();
        stream
    }

    fn start(body: S, limits: Limits, tracker: TurnTracker) -> Self {
        ResponseStream {
            body,
            body_done: false,
            decoder: ChunkDecoder::with_limits(limits),
            tracker,
            warnings: Vec::new(),
            pending: VecDeque::new(),
            done: false,
        }
    }

    /// Whether the terminal event was yielded: the turn is over.
    pub fn is_terminated(&self) -> bool {
        self.tracker.is_terminated()
    }

    /// The turn folded from the events so far.
    pub fn turn(&self) -> &Turn {
        self.tracker.turn()
    }

    /// The folded turn.
    pub fn into_turn(self) -> Turn {
        self.tracker.into_turn()
    }

    /// The warnings so far (severity [`Severity::Warning`]).
    pub fn warnings(&self) -> &[Finding] {
        &self.warnings
    }

    /// The last event id of the current connection (empty when none was set).
    pub fn last_event_id(&self) -> &str {
        self.decoder.last_event_id().as_str()
    }

    /// The reconnection time the server asked for, in milliseconds.
    pub fn retry(&self) -> Option<u64> {
        self.decoder.retry()
    }

    fn record(&mut self, event: &sse::Event) {
        let index = self.tracker.events();
        match self.tracker.push(event) {
            Step::Replayed => {}
            Step::Diverged(diverged) => {
                self.pending
                    .push_back(PendingItem::Violation(diverged.to_finding()));
                self.done = true;
            }
            Step::New {
                event: parsed,
                findings,
            } => {
                let mut payload_error = parsed.as_ref().err().cloned();
                for finding in findings {
                    if finding.severity == Severity::Warning {
                        self.warnings.push(finding);
                    } else if is_payload_rule(finding.rule) && payload_error.is_some() {
                        if let Some(error) = payload_error.take() {
                            self.pending.push_back(PendingItem::Payload(finding, error));
                        }
                    } else {
                        self.pending.push_back(PendingItem::Violation(finding));
                    }
                }
                if let Ok(typed) = parsed {
                    self.pending.push_back(PendingItem::Event(StreamEvent {
                        event: typed.into_owned(),
                        index,
                        position: event.position(),
                        id: event.id_bytes().clone(),
                    }));
                }
            }
        }
        if self.tracker.is_terminated() {
            self.done = true;
        }
    }

    fn end_of_body(&mut self) {
        self.done = true;
        let end = self.decoder.end_position().unwrap_or_default();
        if let Some(incomplete) = self.decoder.incomplete() {
            self.warnings
                .push(Finding::incomplete_event(incomplete.position));
        }
        if !self.tracker.is_terminated() {
            let message = format!(
                "the stream ended after {} event(s) without a terminal event \
                 (`response.completed` or `response.failed`); reconnect to resume",
                self.tracker.events()
            );
            self.pending
                .push_back(PendingItem::Violation(Finding::with_default_severity(
                    Rule::MissingTerminal,
                    message,
                    end,
                    None,
                )));
        }
    }
}

fn is_payload_rule(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::InvalidJson
            | Rule::NotAnObject
            | Rule::MissingField
            | Rule::WrongType
            | Rule::InvalidValue
    )
}

impl<S, E> Stream for ResponseStream<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<StreamEvent, StreamError<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.pending.pop_front() {
                return Poll::Ready(Some(match item {
                    PendingItem::Event(event) => Ok(event),
                    PendingItem::Payload(finding, error) => {
                        Err(StreamError::Payload { finding, error })
                    }
                    PendingItem::Violation(finding) => Err(StreamError::Violation(finding)),
                }));
            }
            if this.done {
                return Poll::Ready(None);
            }
            match this.decoder.next_event() {
                Ok(Some(event)) => {
                    this.record(&event);
                    continue;
                }
                Err(error) => return Poll::Ready(Some(Err(StreamError::Decode(error)))),
                Ok(None) if this.body_done => {
                    this.end_of_body();
                    continue;
                }
                Ok(None) => {}
            }
            match Pin::new(&mut this.body).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => this.decoder.push(chunk),
                Poll::Ready(Some(Err(error))) => {
                    return Poll::Ready(Some(Err(StreamError::Transport(error))));
                }
                Poll::Ready(None) => {
                    this.body_done = true;
                    this.decoder.finish();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_can_cross_threads() {
        fn assert_send<T: Send>() {}
        type Body = futures_util::stream::Iter<std::vec::IntoIter<Result<Bytes, std::io::Error>>>;
        assert_send::<ResponseStream<Body>>();
        assert_send::<StreamError<std::io::Error>>();
        assert_send::<StreamEvent>();
    }
}
