//! [`Event`]: one dispatched server-sent event, and [`Position`].

use std::fmt;

use super::Utf8Bytes;
use super::text::TypeName;

/// Where something starts in a stream: a byte offset and a 1-based line.
///
/// Offsets count raw stream bytes (a leading BOM included); lines count line
/// ends of any kind (CRLF, LF or a lone CR) plus one.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Position {
    /// Bytes from the start of the stream.
    pub offset: u64,
    /// 1-based line number.
    pub line: u64,
}

impl Position {
    /// The start of a stream: offset 0, line 1.
    pub const START: Position = Position { offset: 0, line: 1 };
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} (byte {})", self.line, self.offset)
    }
}

/// One event dispatched by the decoder.
///
/// The data shares storage with the bytes the event was decoded from: an
/// event whose data came from a single `data` line holds a slice of the read
/// buffer, not a copy (data of at most 30 bytes is held inline, which costs
/// less than sharing). The type, the id and the data were checked to be
/// UTF-8 once, when the event was decoded, so reading them as `&str` costs
/// nothing (see [`Utf8Bytes`]).
///
/// ```
/// use agent37_stream::sse::Event;
///
/// let event = Event::new("response.output_text.delta", r#"{"text":"Hi"}"#).with_id("7");
/// assert_eq!(event.event_type(), "response.output_text.delta");
/// assert_eq!(event.data(), r#"{"text":"Hi"}"#);
/// assert_eq!(event.id(), "7");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Event {
    pub(crate) event_type: Option<TypeName>,
    pub(crate) data: Utf8Bytes,
    pub(crate) id: Utf8Bytes,
    pub(crate) position: Position,
}

impl Event {
    /// An event of type `event_type` (empty means `message`) with `data`,
    /// no id, at [`Position::START`].
    pub fn new(event_type: impl Into<Utf8Bytes>, data: impl Into<Utf8Bytes>) -> Self {
        let event_type = TypeName::from(event_type.into());
        Event {
            event_type: (!event_type.is_empty()).then_some(event_type),
            data: data.into(),
            id: Utf8Bytes::new(),
            position: Position::START,
        }
    }

    /// Sets the last event id in force for this event.
    pub fn with_id(mut self, id: impl Into<Utf8Bytes>) -> Self {
        self.id = id.into();
        self
    }

    /// Sets where the event starts in its stream.
    pub fn with_position(mut self, position: Position) -> Self {
        self.position = position;
        self
    }

    /// The event type: the last `event` field's value, or `message` when the
    /// event had none (or an empty one).
    #[inline]
    pub fn event_type(&self) -> &str {
        self.event_type.as_ref().map_or("message", |t| t.as_str())
    }

    /// The `event` field's value, `None` when the event had no (or an empty)
    /// `event` field. A checker uses this to tell an untyped event from one
    /// explicitly named `message`.
    #[inline]
    pub fn explicit_type(&self) -> Option<&str> {
        self.event_type.as_ref().map(TypeName::as_str)
    }

    /// The `event` field's value as a shared string (a copy only of the
    /// short names held inline).
    pub(crate) fn explicit_type_text(&self) -> Option<Utf8Bytes> {
        self.event_type.clone().map(Utf8Bytes::from)
    }

    /// The data: every `data` line's value joined by `\n`. Free: checked to
    /// be UTF-8 when the event was decoded.
    #[inline]
    pub fn data(&self) -> &str {
        self.data.as_str()
    }

    /// The data's bytes (for parsers that take bytes, such as
    /// `serde_json::from_slice`); the same cost as [`data`](Self::data).
    #[inline]
    pub fn data_bytes(&self) -> &[u8] {
        self.data.as_bytes()
    }

    /// The data as a shared string: clone it to keep the data beyond the
    /// event, or [slice](Utf8Bytes::slice_ref) it, without copying.
    #[inline]
    pub fn data_text(&self) -> &Utf8Bytes {
        &self.data
    }

    /// The last event id in force when the event was dispatched (empty when
    /// none was ever set). It persists across events until an `id` field
    /// changes it.
    #[inline]
    pub fn id(&self) -> &str {
        self.id.as_str()
    }

    /// The id as a shared string.
    pub fn id_bytes(&self) -> &Utf8Bytes {
        &self.id
    }

    /// Where the event's block starts: its first field line (comments before
    /// it do not count).
    pub fn position(&self) -> Position {
        self.position
    }

    /// Takes the event apart: `(explicit type, data, id)`.
    pub fn into_parts(self) -> (Option<Utf8Bytes>, Utf8Bytes, Utf8Bytes) {
        (self.event_type.map(Utf8Bytes::from), self.data, self.id)
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("event_type", &self.event_type())
            .field("data", &self.data())
            .field("id", &self.id)
            .field("position", &self.position)
            .finish()
    }
}
