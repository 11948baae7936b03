//! [`TurnStream`]: one turn's events across as many connections as it takes.

use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use super::{Client, ClientError, Notice, path_segment};
use crate::protocol::event::ResponseEvent;
use crate::protocol::fold::Turn;
use crate::protocol::response::{Response, Status};
use crate::protocol::rules::{Finding, Rule};
use crate::protocol::stream::{ResponseStream, StreamError, StreamEvent, StreamOptions};

type Body = Pin<Box<dyn Stream<Item = Result<Bytes, reqwest::Error>> + Send>>;
type Reconnect = Pin<Box<dyn Future<Output = Result<Reopened, ClientError>> + Send>>;

/// What a reconnection found.
enum Reopened {
    /// The replay, and the retries it took.
    Replay(Body, u32),
    /// The turn was cancelled: its stream ends with no terminal event, so
    /// there is nothing to resume.
    Cancelled(Box<Response>),
}

/// The validated, typed events of one turn, from [`Client::create_stream`]
/// or [`Client::replay`]: a `Stream` of `Result<StreamEvent, ClientError>`
/// that ends after the terminal event.
///
/// When the connection ends before the terminal event (a transport error,
/// a read timeout, a clean close), the stream waits, reconnects to
/// `GET /v1/responses/{id}/stream` and resumes on it
/// ([`ResponseStream::resume`]): the replayed events already yielded are
/// skipped, so every event comes exactly once, with the same
/// [`index`](StreamEvent::index). It gives up with
/// [`ClientError::Disconnected`] after the policy's reconnections, or at
/// once when the connection ended before `response.created` (no id to
/// resume). A turn cancelled meanwhile ([`Client::cancel`]) ends the stream
/// with [`ClientError::Cancelled`].
///
/// Contract errors ([`ClientError::Contract`], [`ClientError::Payload`],
/// an oversized event among them) are yielded and the stream goes on; after a
/// `replay-diverged` one, it ends. Dropping the stream closes the
/// connection (the turn goes on server-side: see [`Client::cancel`]).
pub struct TurnStream {
    client: Client,
    events: ResponseStream<Body>,
    reconnect: Option<Reconnect>,
    response_id: Option<String>,
    reconnects: u32,
    retries: u32,
    recording: Arc<Mutex<Recording>>,
    finished: bool,
}

impl fmt::Debug for TurnStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TurnStream")
            .field("response_id", &self.response_id)
            .field("reconnects", &self.reconnects)
            .field("retries", &self.retries)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

/// The raw bytes of the current connection, when asked for.
#[derive(Debug, Default)]
struct Recording {
    limit: Option<usize>,
    bytes: Vec<u8>,
    overflowed: bool,
}

impl Recording {
    fn push(&mut self, chunk: &[u8]) {
        let Some(limit) = self.limit else { return };
        if self.overflowed || self.bytes.len() + chunk.len() > limit {
            self.overflowed = true;
            self.bytes = Vec::new();
        } else {
            self.bytes.extend_from_slice(chunk);
        }
    }

    fn restart(&mut self) {
        self.bytes.clear();
        self.overflowed = false;
    }
}

/// A body with no bytes.
struct Empty;

impl Stream for Empty {
    type Item = Result<Bytes, reqwest::Error>;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(None)
    }
}

/// Copies a connection's bytes into the shared [`Recording`] as they pass.
struct Tap {
    body: Body,
    recording: Arc<Mutex<Recording>>,
}

impl Stream for Tap {
    type Item = Result<Bytes, reqwest::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.body.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            lock(&self.recording).push(chunk);
        }
        polled
    }
}

fn lock(recording: &Mutex<Recording>) -> std::sync::MutexGuard<'_, Recording> {
    // The data is plain bytes: a panic elsewhere cannot leave it broken.
    recording.lock().unwrap_or_else(PoisonError::into_inner)
}

fn tapped(response: reqwest::Response, recording: &Arc<Mutex<Recording>>) -> Body {
    lock(recording).restart();
    Box::pin(Tap {
        body: Box::pin(response.bytes_stream()),
        recording: Arc::clone(recording),
    })
}

impl TurnStream {
    pub(super) fn new(
        client: Client,
        response: reqwest::Response,
        options: StreamOptions,
        response_id: Option<String>,
        retries: u32,
    ) -> Self {
        let recording = Arc::new(Mutex::new(Recording::default()));
        let body = tapped(response, &recording);
        TurnStream {
            client,
            events: ResponseStream::with_options(body, options),
            reconnect: None,
            response_id,
            reconnects: 0,
            retries,
            recording,
            finished: false,
        }
    }

    /// Keeps the raw bytes of the current connection, up to `max_bytes`
    /// (the stream that completes the turn, after a reconnection the replay,
    /// which holds the whole turn): see [`recorded`](Self::recorded). Call it
    /// before the first poll.
    #[must_use]
    pub fn record(self, max_bytes: usize) -> Self {
        lock(&self.recording).limit = Some(max_bytes);
        self
    }

    /// The bytes of the current connection so far (of the one that
    /// completed the turn, once it has), when [`record`](Self::record)ing
    /// and under the limit; `None` otherwise.
    pub fn recorded(&self) -> Option<Vec<u8>> {
        let recording = lock(&self.recording);
        (recording.limit.is_some() && !recording.overflowed).then(|| recording.bytes.clone())
    }

    /// The turn folded from the events so far.
    pub fn turn(&self) -> &Turn {
        self.events.turn()
    }

    /// The folded turn.
    pub fn into_turn(self) -> Turn {
        self.events.into_turn()
    }

    /// Whether the terminal event was yielded.
    pub fn is_terminated(&self) -> bool {
        self.events.is_terminated()
    }

    /// The contract warnings so far (they do not interrupt the stream).
    pub fn warnings(&self) -> &[Finding] {
        self.events.warnings()
    }

    /// The response id, once `response.created` came (or given to
    /// [`Client::replay`]).
    pub fn response_id(&self) -> Option<&str> {
        self.response_id.as_deref()
    }

    /// How many times the turn was resumed on a new connection.
    pub fn reconnects(&self) -> u32 {
        self.reconnects
    }

    /// How many requests were sent again after a retryable error.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// Waits, then opens the replay; or gives up. After a clean close
    /// (`closed`), asks for the turn's status first: a cancelled turn's
    /// stream ends that way for good.
    fn start_reconnect(&mut self, reason: String, closed: bool) -> Result<(), ClientError> {
        let policy = &self.client.inner.policy;
        let response_id = match &self.response_id {
            Some(id) if self.reconnects < policy.max_reconnects => id.clone(),
            _ => {
                return Err(ClientError::Disconnected {
                    response_id: self.response_id.clone(),
                    reconnects: self.reconnects,
                    reason,
                });
            }
        };
        let retry_ms = self.events.retry();
        let wait =
            policy.reconnect_wait(self.reconnects, retry_ms, self.client.inner.jitter.draw());
        self.reconnects += 1;
        self.client.notify(&Notice::Reconnecting {
            response_id: &response_id,
            attempt: self.reconnects,
            wait,
            reason: &reason,
        });
        let client = self.client.clone();
        let recording = Arc::clone(&self.recording);
        self.reconnect = Some(Box::pin(async move {
            tokio::time::sleep(wait).await;
            if closed {
                let response = client.get(&response_id).await?;
                if response.status == Status::Cancelled {
                    return Ok(Reopened::Cancelled(Box::new(response)));
                }
            }
            let url = format!(
                "{}/v1/responses/{}/stream",
                client.inner.base_url,
                path_segment(&response_id)?
            );
            let (response, retries) = client.send(|| client.inner.http.get(&url)).await?;
            Ok(Reopened::Replay(tapped(response, &recording), retries))
        }));
        Ok(())
    }

    fn fail(&mut self, error: ClientError) -> Poll<Option<Result<StreamEvent, ClientError>>> {
        self.finished = true;
        Poll::Ready(Some(Err(error)))
    }
}

impl Stream for TurnStream {
    type Item = Result<StreamEvent, ClientError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.finished {
                return Poll::Ready(None);
            }
            if let Some(reconnect) = &mut this.reconnect {
                let result = match reconnect.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(result) => result,
                };
                this.reconnect = None;
                match result {
                    Ok(Reopened::Cancelled(response)) => {
                        return this.fail(ClientError::Cancelled(response));
                    }
                    Ok(Reopened::Replay(body, retries)) => {
                        this.retries += retries;
                        // `resume` takes the cut stream by value; an empty
                        // one stands in for the instant of the swap.
                        let empty: Body = Box::pin(Empty);
                        let previous = mem::replace(&mut this.events, ResponseStream::new(empty));
                        this.events = ResponseStream::resume(body, previous);
                    }
                    // The replay could not be reached: that is one more
                    // failed attempt, not the end, while attempts remain.
                    Err(ClientError::Http(err)) => {
                        if let Err(gave_up) = this.start_reconnect(err.to_string(), false) {
                            return this.fail(gave_up);
                        }
                    }
                    Err(err) => return this.fail(err),
                }
                continue;
            }
            let item = match Pin::new(&mut this.events).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    this.finished = true;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(item)) => item,
            };
            let (reason, closed) = match item {
                Ok(event) => {
                    if let ResponseEvent::Created(created) = &event.event {
                        this.response_id
                            .get_or_insert_with(|| created.id.to_string());
                    }
                    return Poll::Ready(Some(Ok(event)));
                }
                Err(StreamError::Transport(err)) => (err.to_string(), false),
                // A clean close before the terminal event is a drop too.
                Err(StreamError::Violation(finding)) if finding.rule == Rule::MissingTerminal => (
                    "the connection closed before the terminal event".to_owned(),
                    true,
                ),
                Err(other) => return Poll::Ready(Some(Err(from_stream(other)))),
            };
            if let Err(gave_up) = this.start_reconnect(reason, closed) {
                return this.fail(gave_up);
            }
        }
    }
}

fn from_stream(error: StreamError<reqwest::Error>) -> ClientError {
    match error {
        StreamError::Transport(err) => ClientError::Http(err),
        StreamError::Payload { findings, errors } => ClientError::Payload { findings, errors },
        StreamError::Violation(finding) => ClientError::Contract(finding),
        // The enum is non-exhaustive: a future kind of error is a contract error
        // if it carries a finding.
        #[allow(unreachable_patterns)]
        other => match other.finding() {
            Some(finding) => ClientError::Contract(finding.clone()),
            None => ClientError::Config(other.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_and_streams_can_cross_threads() {
        fn assert_send<T: Send>() {}
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send::<TurnStream>();
        assert_send_sync::<Client>();
        assert_send_sync::<ClientError>();
    }

    #[test]
    fn a_recording_restarts_with_each_connection_and_stops_at_its_limit() {
        let mut recording = Recording::default();
        recording.push(b"ignored: not recording");
        assert!(recording.bytes.is_empty());
        recording.limit = Some(8);
        recording.push(b"abcd");
        recording.push(b"efgh");
        assert_eq!(recording.bytes, b"abcdefgh");
        recording.push(b"i");
        assert!(recording.overflowed && recording.bytes.is_empty());
        recording.push(b"j");
        assert!(
            recording.bytes.is_empty(),
            "no partial recording after an overflow"
        );
        recording.restart();
        recording.push(b"new");
        assert_eq!(recording.bytes, b"new");
    }
}
