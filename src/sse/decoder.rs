//! [`Decoder`]: the `tokio_util` codec over a read buffer.

use bytes::BytesMut;

use super::parser::{Incomplete, Parser};
use super::{DecodeError, Event, Limits, Utf8Bytes};

/// An incremental event-stream decoder for [`tokio_util::codec::FramedRead`].
///
/// Events borrow from the read buffer: the data of an event with one `data`
/// line is a slice of it, not a copy. Bytes already searched for line ends
/// are not searched again when more arrive, so feeding a stream one byte at
/// a time costs time linear in its length.
///
/// ```
/// use agent37_stream::sse::Decoder;
/// use futures_util::StreamExt;
/// use tokio_util::codec::FramedRead;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), agent37_stream::sse::DecodeError> {
/// let body: &[u8] = b"event: greeting\ndata: hello\n\n: keep-alive\n\ndata: world\n\n";
/// let mut events = FramedRead::new(body, Decoder::new());
///
/// let first = events.next().await.unwrap()?;
/// assert_eq!((first.event_type(), first.data()), ("greeting", "hello"));
/// let second = events.next().await.unwrap()?;
/// assert_eq!((second.event_type(), second.data()), ("message", "world"));
/// assert!(events.next().await.is_none());
/// # Ok(()) }
/// ```
///
/// Over an HTTP client's body, wrap the byte stream in
/// [`tokio_util::io::StreamReader`] (or use [`EventStream`](super::EventStream),
/// which slices events out of the body's own chunks without copying them).
#[derive(Debug)]
pub struct Decoder {
    parser: Parser,
}

impl Decoder {
    /// A decoder with the default [`Limits`].
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// A decoder with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        Decoder {
            parser: Parser::new(limits),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.parser.limits()
    }

    /// The last event id: what a client sends as `Last-Event-ID` when it
    /// reconnects. Empty when the stream never set one.
    pub fn last_event_id(&self) -> &Utf8Bytes {
        self.parser.last_event_id()
    }

    /// The reconnection time in milliseconds set by the last valid `retry`
    /// field, if any.
    pub fn retry(&self) -> Option<u64> {
        self.parser.retry()
    }

    /// After the end of the stream: the unterminated last event that the
    /// rules discarded, if there was one.
    pub fn incomplete(&self) -> Option<Incomplete> {
        self.parser.incomplete()
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl tokio_util::codec::Decoder for Decoder {
    type Item = Event;
    type Error = DecodeError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Event>, DecodeError> {
        self.parser.next_event(src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Event>, DecodeError> {
        match self.parser.next_event(src)? {
            Some(event) => Ok(Some(event)),
            None => {
                self.parser.finish(src);
                Ok(None)
            }
        }
    }
}
