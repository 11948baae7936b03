//! [`ResponseDecoder`]: bytes in, typed events out, in one loop, with no
//! async runtime and no ordering checks.
//!
//! It is [`sse::ChunkDecoder`] and [`ResponseEvent::from_sse`] in one step,
//! and gives the same events, but reads a delta in its plain shape
//! (`{"text":"…"}`, the bulk of a turn) straight from the block's bytes:
//! no [`sse::Event`] is made for it, only its text is checked as UTF-8,
//! not the whole data, and text of up to 30 bytes is checked in one SIMD
//! pass as it is copied inline.
//! For ordering checks, the fold and resumption, use
//! [`ResponseStream`](super::stream::ResponseStream) or
//! [`Pipeline`](super::pipeline::Pipeline), which read blocks the same way.

use bytes::Bytes;

use super::event::{PayloadErrors, ResponseEvent, block_delta};
use crate::sse::{
    self, Buffer, ChunkDecoder, DecodeError, Emit, Incomplete, Limits, Parser, Position, RawEvent,
    Utf8Bytes,
};

/// A push decoder from SSE bytes to typed events.
///
/// ```
/// use agent37_stream::protocol::decoder::ResponseDecoder;
/// use agent37_stream::protocol::event::ResponseEvent;
/// use bytes::Bytes;
///
/// let mut decoder = ResponseDecoder::new();
/// decoder.push(Bytes::from_static(b"event: response.output_text.delta\ndata: {\"text\":\"Hel"));
/// assert!(decoder.next_event()?.is_none()); // the event is not finished yet
/// decoder.push(Bytes::from_static(b"lo\"}\n\n"));
///
/// let mut text = String::new();
/// while let Some(decoded) = decoder.next_event()? {
///     if let Ok(ResponseEvent::OutputTextDelta(delta)) = &decoded.event {
///         text.push_str(&delta.text);
///     }
/// }
/// assert_eq!(text, "Hello");
/// # Ok::<(), agent37_stream::sse::DecodeError>(())
/// ```
#[derive(Debug, Default)]
pub struct ResponseDecoder {
    decoder: ChunkDecoder,
}

/// One event read by a [`ResponseDecoder`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DecodedEvent {
    /// The typed event, or every reason its payload is broken.
    pub event: Result<ResponseEvent, PayloadErrors>,
    /// Where its block starts.
    pub position: Position,
    /// The last event id in force when it was dispatched.
    pub id: Utf8Bytes,
}

impl ResponseDecoder {
    /// A decoder with the default [`Limits`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        ResponseDecoder {
            decoder: ChunkDecoder::with_limits(limits),
        }
    }

    /// Hands the decoder the next chunk of the stream.
    pub fn push(&mut self, chunk: Bytes) {
        self.decoder.push(chunk);
    }

    /// Marks the end of the stream (see [`ChunkDecoder::finish`]).
    pub fn finish(&mut self) {
        self.decoder.finish();
    }

    /// The next complete event, or `None` when the pushed bytes hold no
    /// more. An error is a limit the stream broke (see
    /// [`ChunkDecoder::next_event`]); decoding can go on after it.
    #[inline]
    pub fn next_event(&mut self) -> Result<Option<DecodedEvent>, DecodeError> {
        self.decoder.next_emitted(&mut Typed)
    }

    /// After [`finish`](Self::finish): the unterminated last event that was
    /// discarded, if any.
    pub fn incomplete(&self) -> Option<Incomplete> {
        self.decoder.incomplete()
    }

    /// The last event id (what a client sends as `Last-Event-ID`).
    pub fn last_event_id(&self) -> &Utf8Bytes {
        self.decoder.last_event_id()
    }

    /// The reconnection time in milliseconds, if a `retry` field set one.
    pub fn retry(&self) -> Option<u64> {
        self.decoder.retry()
    }

    /// After [`finish`](Self::finish) and the last event: the position just
    /// past the stream's last byte.
    pub fn end_position(&self) -> Option<Position> {
        self.decoder.end_position()
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.decoder.limits()
    }

    /// Bytes held (see [`ChunkDecoder::buffered_len`]).
    pub fn buffered_len(&self) -> usize {
        self.decoder.buffered_len()
    }
}

/// Makes each block a [`DecodedEvent`].
struct Typed;

impl Emit for Typed {
    type Output = DecodedEvent;

    #[inline(always)]
    fn emit<B: Buffer>(
        &mut self,
        parser: &mut Parser,
        block: &mut RawEvent<'_, B>,
    ) -> DecodedEvent {
        let position = block.position;
        let event = match block_delta(parser, block) {
            Some((kind, text)) => Ok(ResponseEvent::delta(kind, text.make(block))),
            None => {
                let event: sse::Event = parser.event_of(block);
                ResponseEvent::from_sse(&event)
            }
        };
        DecodedEvent {
            event,
            position,
            id: parser.last_event_id().clone(),
        }
    }
}
