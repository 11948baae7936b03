//! [`EventStream`]: events from any stream of `Bytes` chunks (an HTTP body).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use super::{ChunkDecoder, DecodeError, Event, Limits};

/// Why an [`EventStream`] stopped: the bytes, or the transport under them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventStreamError<E> {
    /// The bytes broke a decoder limit.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The underlying byte stream failed.
    #[error("the byte stream failed: {0}")]
    Transport(#[source] E),
}

/// Decodes events from a stream of `Bytes` chunks, such as an HTTP client's
/// response body (`reqwest::Response::bytes_stream()`, a hyper `Body` turned
/// into a data stream, …).
///
/// Built on [`ChunkDecoder`], so an event inside one chunk is sliced out of
/// it without a copy. The stream must be [`Unpin`]; pin a stream that is not
/// with `Box::pin`.
///
/// ```
/// use agent37_stream::sse::EventStream;
/// use bytes::Bytes;
/// use futures_util::{StreamExt, stream};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let body = stream::iter([
///     Ok::<_, std::io::Error>(Bytes::from_static(b"data: one\r")),
///     Ok(Bytes::from_static(b"\n\r\ndata: two\n\n")),
/// ]);
/// let data: Vec<String> = EventStream::new(body)
///     .map(|event| event.unwrap().data().to_owned())
///     .collect()
///     .await;
/// assert_eq!(data, ["one", "two"]);
/// # }
/// ```
#[derive(Debug)]
pub struct EventStream<S> {
    inner: S,
    decoder: ChunkDecoder,
    inner_done: bool,
}

impl<S> EventStream<S> {
    /// Decodes `inner` with the default [`Limits`].
    pub fn new(inner: S) -> Self {
        Self::with_limits(inner, Limits::default())
    }

    /// Decodes `inner` with the given limits.
    pub fn with_limits(inner: S, limits: Limits) -> Self {
        EventStream {
            inner,
            decoder: ChunkDecoder::with_limits(limits),
            inner_done: false,
        }
    }

    /// The decoder: its last event id, reconnection time, and (after the
    /// end) the discarded unterminated event.
    pub fn decoder(&self) -> &ChunkDecoder {
        &self.decoder
    }

    /// Gives back the byte stream.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, E> Stream for EventStream<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<Event, EventStreamError<E>>;

    #[inline]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        // An event already in the pushed chunks (most calls, in reads
        // larger than an event) is returned here, small enough to inline
        // into the caller's loop, so the event is built where the caller
        // keeps it; pulling more bytes is out of line.
        match this.decoder.next_event() {
            Ok(Some(event)) => Poll::Ready(Some(Ok(event))),
            Err(error) => Poll::Ready(Some(Err(error.into()))),
            Ok(None) => this.pull(cx),
        }
    }
}

impl<S, E> EventStream<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    /// Pulls chunks until an event is complete, the stream ends or the byte
    /// stream is pending.
    #[inline(never)]
    fn pull(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Event, EventStreamError<E>>>> {
        loop {
            if self.inner_done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => self.decoder.push(chunk),
                Poll::Ready(Some(Err(error))) => {
                    return Poll::Ready(Some(Err(EventStreamError::Transport(error))));
                }
                Poll::Ready(None) => {
                    self.inner_done = true;
                    self.decoder.finish();
                }
            }
            match self.decoder.next_event() {
                Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                Err(error) => return Poll::Ready(Some(Err(error.into()))),
                Ok(None) => {}
            }
        }
    }
}
