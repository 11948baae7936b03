//! [`ByteStreamExt`]: the library in one call on any HTTP client's body.

use bytes::Bytes;
use futures_core::Stream;

use crate::protocol::stream::{ResponseStream, StreamOptions};
use crate::sse::EventStream;

/// Adapters for a stream of `Bytes` chunks (an HTTP response body from
/// reqwest, hyper, …): SSE events, or the validated, typed events of an
/// agent37 turn.
///
/// Implemented for every `Stream<Item = Result<Bytes, E>> + Unpin`; pin a
/// stream that is not `Unpin` with `Box::pin` first.
///
/// ```
/// use agent37_stream::ByteStreamExt;
/// use bytes::Bytes;
/// use futures_util::{StreamExt, stream};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let body = || stream::iter([
///     Ok::<_, std::io::Error>(Bytes::from_static(b"event: response.created\ndata: {\"id\":\"c91d2a7e84f04b6f9a3d5e1c0b87f4a2\",\"instance_id\":\"i\",\"session_id\":\"s\"}\n\n")),
///     Ok(Bytes::from_static(b"event: response.completed\ndata: {\"output_text\":\"Hi\",\"usage\":null}\n\n")),
/// ]);
///
/// // Raw SSE events:
/// let mut names = Vec::new();
/// let mut events = body().sse_events();
/// while let Some(event) = events.next().await {
///     names.push(event?.event_type().to_owned());
/// }
/// assert_eq!(names, ["response.created", "response.completed"]);
///
/// // The typed, checked and folded turn:
/// let mut events = body().response_events();
/// while let Some(event) = events.next().await {
///     event?;
/// }
/// assert_eq!(events.turn().response.output_text, "Hi");
/// # Ok(())
/// # }
/// ```
pub trait ByteStreamExt: Sized {
    /// The SSE events of the body ([`EventStream`], default limits).
    fn sse_events(self) -> EventStream<Self>;

    /// The validated, typed events of an agent37 turn ([`ResponseStream`],
    /// default options).
    fn response_events(self) -> ResponseStream<Self>;

    /// The same, with options (strict mode, limits, the response's seed).
    fn response_events_with(self, options: StreamOptions) -> ResponseStream<Self>;
}

impl<S, E> ByteStreamExt for S
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    fn sse_events(self) -> EventStream<Self> {
        EventStream::new(self)
    }

    fn response_events(self) -> ResponseStream<Self> {
        ResponseStream::new(self)
    }

    fn response_events_with(self, options: StreamOptions) -> ResponseStream<Self> {
        ResponseStream::with_options(self, options)
    }
}
