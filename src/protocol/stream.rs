//! [`ResponseStream`]: from an HTTP body to validated typed events, in one
//! loop.
//!
//! It is a thin front over the [pipeline](super::pipeline): the bytes are
//! decoded, each event typed, checked against the contract and folded into
//! the turn; it ends after the terminal event. Events are yielded without a
//! copy: each owns a share of the bytes it came in. After a dropped
//! connection, [`ResponseStream::resume`] continues on the replay stream,
//! skipping what was already yielded.
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

use super::event::PayloadErrors;
use super::fold::Turn;
use super::pipeline::{Pipeline, Step};
use super::rules::{Finding, Severity};

pub use super::pipeline::{PipelineOptions as StreamOptions, StreamEvent};

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
    /// An event's payload breaks the contract; the event is not yielded.
    #[error("{errors}")]
    Payload {
        /// The findings (`invalid-json`, `missing-field`, …), one per
        /// reason, with the event's index and position.
        findings: Vec<Finding>,
        /// What is wrong, field by field, in the same order.
        errors: PayloadErrors,
    },
    /// An error-severity rule was broken: events out of order
    /// (`missing-created`, `duplicate-created`, `unmatched-tool-call`), an
    /// untyped event, an unknown one in strict mode, an event over the size
    /// limit (`event-too-large`, skipped), a stream that ended with no
    /// terminal event (`missing-terminal`), or a replay that diverged
    /// (`replay-diverged`).
    #[error("{0}")]
    Violation(Finding),
}

impl<E> StreamError<E> {
    /// The first finding behind a contract error, `None` for transport errors.
    pub fn finding(&self) -> Option<&Finding> {
        match self {
            StreamError::Payload { findings, .. } => findings.first(),
            StreamError::Violation(finding) => Some(finding),
            StreamError::Transport(_) => None,
        }
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
    pipeline: Pipeline,
    warnings: Vec<Finding>,
    pending: VecDeque<PendingItem>,
    done: bool,
}

/// An item waiting to be yielded (several can come from one SSE event).
#[derive(Debug)]
enum PendingItem {
    Event(StreamEvent),
    Payload(Vec<Finding>, PayloadErrors),
    Violation(Finding),
}

impl<S> ResponseStream<S> {
    /// Reads a turn with the default options.
    pub fn new(body: S) -> Self {
        Self::with_options(body, StreamOptions::default())
    }

    /// Reads a turn with the given options.
    pub fn with_options(body: S, options: StreamOptions) -> Self {
        Self::start(body, Pipeline::new(options))
    }

    /// Continues a turn on a new connection (`GET /v1/responses/{id}/stream`)
    /// after `previous` was cut (it ended without its terminal event, or its
    /// byte stream failed): the replayed events already yielded are skipped
    /// (and checked to be the same: else a `replay-diverged` violation ends
    /// the stream), the rest are yielded as usual, with the same indices. The
    /// warnings and any items `previous` had not yielded yet carry over.
    pub fn resume<P>(body: S, previous: ResponseStream<P>) -> Self {
        let mut pipeline = previous.pipeline;
        pipeline.reconnect();
        let mut stream = Self::start(body, pipeline);
        stream.warnings = previous.warnings;
        stream.pending = previous.pending;
        stream
    }

    fn start(body: S, pipeline: Pipeline) -> Self {
        ResponseStream {
            body,
            body_done: false,
            pipeline,
            warnings: Vec::new(),
            pending: VecDeque::new(),
            done: false,
        }
    }

    /// Whether the terminal event was yielded: the turn is over.
    pub fn is_terminated(&self) -> bool {
        self.pipeline.is_terminated()
    }

    /// The turn folded from the events so far.
    pub fn turn(&self) -> &Turn {
        self.pipeline.turn()
    }

    /// The folded turn.
    pub fn into_turn(self) -> Turn {
        self.pipeline.into_turn()
    }

    /// The warnings so far (severity [`Severity::Warning`]).
    pub fn warnings(&self) -> &[Finding] {
        &self.warnings
    }

    /// The last event id of the current connection (empty when none was set).
    pub fn last_event_id(&self) -> &str {
        self.pipeline.decoder().last_event_id().as_str()
    }

    /// The reconnection time the server asked for, in milliseconds.
    pub fn retry(&self) -> Option<u64> {
        self.pipeline.decoder().retry()
    }

    /// How many events of the turn were taken so far (an oversized one
    /// included): a client that reconnects has this many to skip.
    pub fn events(&self) -> usize {
        self.pipeline.events()
    }

    /// Sorts a step's findings: warnings are kept, errors are yielded.
    fn record(&mut self, step: Step) {
        match step {
            Step::New {
                index,
                position,
                id,
                event,
                findings,
            } => {
                let mut payload = Vec::new();
                for finding in findings {
                    if finding.severity == Severity::Warning {
                        self.warnings.push(finding);
                    } else if finding.rule.is_payload_rule() {
                        payload.push(finding);
                    } else {
                        self.pending.push_back(PendingItem::Violation(finding));
                    }
                }
                match event {
                    Ok(event) => self.pending.push_back(PendingItem::Event(StreamEvent {
                        event,
                        index,
                        position,
                        id,
                    })),
                    Err(errors) => self
                        .pending
                        .push_back(PendingItem::Payload(payload, errors)),
                }
            }
            Step::Oversized(finding) => self.pending.push_back(PendingItem::Violation(finding)),
            Step::Replayed => {}
            Step::Diverged(diverged) => {
                self.pending
                    .push_back(PendingItem::Violation(diverged.to_finding()));
                self.done = true;
            }
            Step::Ended(findings) => {
                self.done = true;
                for finding in findings {
                    if finding.severity == Severity::Warning {
                        self.warnings.push(finding);
                    } else {
                        self.pending.push_back(PendingItem::Violation(finding));
                    }
                }
            }
        }
        if self.pipeline.is_terminated() {
            self.done = true;
        }
    }
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
                    PendingItem::Payload(findings, errors) => {
                        Err(StreamError::Payload { findings, errors })
                    }
                    PendingItem::Violation(finding) => Err(StreamError::Violation(finding)),
                }));
            }
            if this.done {
                return Poll::Ready(None);
            }
            match this.pipeline.next_step() {
                // The common case, straight out: no queue to pass through.
                Some(Step::New {
                    index,
                    position,
                    id,
                    event: Ok(event),
                    findings,
                }) if findings.is_empty() => {
                    this.done |= this.pipeline.is_terminated();
                    return Poll::Ready(Some(Ok(StreamEvent {
                        event,
                        index,
                        position,
                        id,
                    })));
                }
                Some(step) => {
                    this.record(step);
                    continue;
                }
                None if this.body_done => {
                    this.done = true;
                    continue;
                }
                None => {}
            }
            match Pin::new(&mut this.body).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => this.pipeline.push(chunk),
                Poll::Ready(Some(Err(error))) => {
                    return Poll::Ready(Some(Err(StreamError::Transport(error))));
                }
                Poll::Ready(None) => {
                    this.body_done = true;
                    this.pipeline.end_input();
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
