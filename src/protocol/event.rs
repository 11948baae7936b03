//! The eight typed events of the Responses contract (`PROTOCOL.md` §3) and
//! their payloads.
//!
//! [`ResponseEvent::from_sse`] reads an [`sse::Event`](crate::sse::Event)'s
//! name and JSON data into a [`ResponseEvent`]. Strings borrow from the
//! event's bytes when they hold no JSON escapes, so the hot path (a
//! `{"text":"…"}` delta) allocates nothing. Names outside the table become
//! [`ResponseEvent::Unknown`], kept raw: clients must tolerate new events.
//! Extra payload fields are ignored.
//!
//! A payload that breaks the contract gives a [`PayloadError`] naming the
//! field and why, mapped to its rule code by [`PayloadError::rule`].
//!
//! ```
//! use agent37_stream::protocol::event::{PayloadError, ResponseEvent};
//! use agent37_stream::sse::Event;
//!
//! let sse = Event::new("response.output_text.delta", r#"{"text":"Hel"}"#);
//! match ResponseEvent::from_sse(&sse)? {
//!     ResponseEvent::OutputTextDelta(delta) => assert_eq!(delta.text, "Hel"),
//!     other => panic!("unexpected {other:?}"),
//! }
//!
//! let bad = Event::new("response.tool_call.completed", r#"{"tool":"browser","duration_ms":-5}"#);
//! let err = ResponseEvent::from_sse(&bad).unwrap_err();
//! assert_eq!(err.rule().as_str(), "invalid-value");
//! assert_eq!(err.field(), Some("duration_ms"));
//! # Ok::<(), PayloadError>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::machine::Rule;
use super::response::{ErrorObject, Usage};
use crate::sse;

/// Which of the contract's events a name denotes, without its payload.
///
/// The ordering rules depend only on this, so a checker can apply them even
/// to an event whose payload is broken.
///
/// ```
/// use agent37_stream::protocol::event::{EventClass, EventKind};
///
/// let kind = EventKind::from_name("response.completed");
/// assert_eq!(kind, EventKind::Completed);
/// assert_eq!(kind.class(), Some(EventClass::Terminal));
/// assert_eq!(EventKind::from_name("response.queued"), EventKind::Unknown);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// `response.created`
    Created,
    /// `response.reasoning.delta`
    ReasoningDelta,
    /// `response.output_text.delta`
    OutputTextDelta,
    /// `response.tool_call.started`
    ToolCallStarted,
    /// `response.tool_call.completed`
    ToolCallCompleted,
    /// `response.tool_call.failed`
    ToolCallFailed,
    /// `response.completed`
    Completed,
    /// `response.failed`
    Failed,
    /// Any other name.
    Unknown,
}

/// The role an event plays in the ordering rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventClass {
    /// `response.created`: first, exactly once.
    Start,
    /// A reasoning or output text chunk.
    Delta,
    /// A tool call starting, completing or failing.
    Tool,
    /// `response.completed` or `response.failed`: exactly once, last.
    Terminal,
}

impl EventKind {
    /// Every known kind, in the order of the contract's table.
    pub const KNOWN: [EventKind; 8] = [
        EventKind::Created,
        EventKind::ReasoningDelta,
        EventKind::OutputTextDelta,
        EventKind::ToolCallStarted,
        EventKind::ToolCallCompleted,
        EventKind::ToolCallFailed,
        EventKind::Completed,
        EventKind::Failed,
    ];

    /// The kind an event name denotes ([`EventKind::Unknown`] outside the table).
    pub fn from_name(name: &str) -> Self {
        Self::from_name_bytes(name.as_bytes())
    }

    /// The kind of an SSE event: [`EventKind::Unknown`] when it has no
    /// `event:` name. Reads the name's bytes, so the hot path does not check
    /// its UTF-8 again.
    pub fn of_sse(event: &sse::Event) -> Self {
        event.explicit_type().map_or(EventKind::Unknown, |name| {
            Self::from_name_bytes(name.as_bytes())
        })
    }

    fn from_name_bytes(name: &[u8]) -> Self {
        match name {
            b"response.created" => EventKind::Created,
            b"response.reasoning.delta" => EventKind::ReasoningDelta,
            b"response.output_text.delta" => EventKind::OutputTextDelta,
            b"response.tool_call.started" => EventKind::ToolCallStarted,
            b"response.tool_call.completed" => EventKind::ToolCallCompleted,
            b"response.tool_call.failed" => EventKind::ToolCallFailed,
            b"response.completed" => EventKind::Completed,
            b"response.failed" => EventKind::Failed,
            _ => EventKind::Unknown,
        }
    }

    /// The event name, `None` for [`EventKind::Unknown`].
    pub const fn name(self) -> Option<&'static str> {
        Some(match self {
            EventKind::Created => "response.created",
            EventKind::ReasoningDelta => "response.reasoning.delta",
            EventKind::OutputTextDelta => "response.output_text.delta",
            EventKind::ToolCallStarted => "response.tool_call.started",
            EventKind::ToolCallCompleted => "response.tool_call.completed",
            EventKind::ToolCallFailed => "response.tool_call.failed",
            EventKind::Completed => "response.completed",
            EventKind::Failed => "response.failed",
            EventKind::Unknown => return None,
        })
    }

    /// The kind's role in the ordering rules, `None` for [`EventKind::Unknown`].
    pub const fn class(self) -> Option<EventClass> {
        Some(match self {
            EventKind::Created => EventClass::Start,
            EventKind::ReasoningDelta | EventKind::OutputTextDelta => EventClass::Delta,
            EventKind::ToolCallStarted
            | EventKind::ToolCallCompleted
            | EventKind::ToolCallFailed => EventClass::Tool,
            EventKind::Completed | EventKind::Failed => EventClass::Terminal,
            EventKind::Unknown => return None,
        })
    }

    /// Whether the kind ends the stream (`response.completed` or `response.failed`).
    pub const fn is_terminal(self) -> bool {
        matches!(self, EventKind::Completed | EventKind::Failed)
    }
}

/// One event of the Responses contract, with its payload.
///
/// `'a` is the lifetime of the [`sse::Event`] it was parsed from; use
/// [`into_owned`](Self::into_owned) to keep it longer.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ResponseEvent<'a> {
    /// `response.created`: the turn started.
    Created(Created<'a>),
    /// `response.reasoning.delta`: a chunk of the agent's thinking.
    ReasoningDelta(TextDelta<'a>),
    /// `response.output_text.delta`: a chunk of the visible answer.
    OutputTextDelta(TextDelta<'a>),
    /// `response.tool_call.started`: the agent called a tool.
    ToolCallStarted(ToolCallStarted<'a>),
    /// `response.tool_call.completed`: a tool call returned.
    ToolCallCompleted(ToolCallCompleted<'a>),
    /// `response.tool_call.failed`: a tool call failed; the run continues.
    ToolCallFailed(ToolCallFailed<'a>),
    /// `response.completed`: terminal success.
    Completed(Completed<'a>),
    /// `response.failed`: terminal error.
    Failed(Failed),
    /// An event whose name is outside the contract's table (an event with no
    /// `event:` name has the SSE default name `message`), kept as it came.
    Unknown {
        /// The event name.
        name: Cow<'a, str>,
        /// The raw data, not parsed.
        data: Cow<'a, str>,
    },
}

/// Payload of `response.created`: `{ id, instance_id, session_id }`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Created<'a> {
    /// The response id (32 hex characters by contract).
    pub id: Cow<'a, str>,
    /// The instance running the turn.
    pub instance_id: Cow<'a, str>,
    /// The conversation the turn belongs to.
    pub session_id: Cow<'a, str>,
}

/// Payload of the two delta events: `{ text }`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct TextDelta<'a> {
    /// The chunk of text.
    pub text: Cow<'a, str>,
}

/// Payload of `response.tool_call.started`: `{ tool, label }`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ToolCallStarted<'a> {
    /// The tool's name; the later `completed`/`failed` carries the same name.
    pub tool: Cow<'a, str>,
    /// A human-readable description of the call.
    pub label: Cow<'a, str>,
}

/// Payload of `response.tool_call.completed`: `{ tool, duration_ms }`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ToolCallCompleted<'a> {
    /// The tool's name: this closes the oldest open call of that tool.
    pub tool: Cow<'a, str>,
    /// How long the call took, in milliseconds (non-negative).
    #[serde(serialize_with = "serialize_millis")]
    pub duration_ms: f64,
}

/// Payload of `response.tool_call.failed`: `{ tool, error }`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ToolCallFailed<'a> {
    /// The tool's name: this closes the oldest open call of that tool.
    pub tool: Cow<'a, str>,
    /// Why the call failed.
    pub error: ToolError<'a>,
}

/// The `error` of a failed tool call: a string or an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolError<'a> {
    /// A plain message.
    Message(Cow<'a, str>),
    /// A structured error, kept whole.
    Object(serde_json::Map<String, serde_json::Value>),
}

impl ToolError<'_> {
    /// A message for a human: the string, or the object's `message` field.
    pub fn message(&self) -> Option<&str> {
        match self {
            ToolError::Message(message) => Some(message),
            ToolError::Object(object) => object.get("message")?.as_str(),
        }
    }

    /// The same error, owning its strings.
    pub fn into_owned(self) -> ToolError<'static> {
        match self {
            ToolError::Message(message) => ToolError::Message(owned(message)),
            ToolError::Object(object) => ToolError::Object(object),
        }
    }
}

impl Serialize for ToolError<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ToolError::Message(message) => serializer.serialize_str(message),
            ToolError::Object(object) => object.serialize(serializer),
        }
    }
}

/// Payload of `response.completed`: `{ output_text, usage }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Completed<'a> {
    /// The final answer.
    pub output_text: Cow<'a, str>,
    /// Token counts and cost; `None` when the payload had `null`.
    pub usage: Option<Usage>,
}

/// Payload of `response.failed`: `{ error: { code, message, … } }`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Failed {
    /// Why the turn failed.
    pub error: ErrorObject,
}

fn owned(text: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(text.into_owned())
}

/// Writes a whole number of milliseconds as an integer (`12`, not `12.0`),
/// the way servers send it.
fn serialize_millis<S: Serializer>(millis: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    let whole = millis.fract() == 0.0 && *millis >= 0.0 && *millis < 9_007_199_254_740_992.0;
    if whole {
        // Exact: the value is a whole number below 2^53.
        serializer.serialize_u64(*millis as u64)
    } else {
        serializer.serialize_f64(*millis)
    }
}

impl<'a> ResponseEvent<'a> {
    /// Reads an SSE event: its type names the event, its data is the JSON
    /// payload. Names outside the table give [`ResponseEvent::Unknown`]
    /// (data not parsed).
    ///
    /// This does not check the explicit `event:` field; an event without one
    /// is an `Unknown` named `message` here, and the
    /// [`Validator`](super::machine::Validator) reports it as `untyped-event`.
    pub fn from_sse(event: &'a sse::Event) -> Result<Self, PayloadError> {
        // Bytes, not `event_type()`/`data()`, which would check UTF-8 again.
        Self::parse_known(EventKind::of_sse(event), event.data_bytes()).unwrap_or_else(|| {
            Ok(ResponseEvent::Unknown {
                name: Cow::Borrowed(event.event_type()),
                data: Cow::Borrowed(event.data()),
            })
        })
    }

    /// Reads an event from its name and JSON data.
    ///
    /// ```
    /// use agent37_stream::protocol::event::ResponseEvent;
    ///
    /// let event = ResponseEvent::parse("response.tool_call.started", r#"{"tool":"browser","label":"Searching"}"#)?;
    /// assert_eq!(event.name(), "response.tool_call.started");
    /// # Ok::<(), agent37_stream::protocol::event::PayloadError>(())
    /// ```
    pub fn parse(name: &'a str, data: &'a str) -> Result<Self, PayloadError> {
        Self::parse_known(EventKind::from_name(name), data.as_bytes()).unwrap_or(Ok(
            ResponseEvent::Unknown {
                name: Cow::Borrowed(name),
                data: Cow::Borrowed(data),
            },
        ))
    }

    /// Parses the payload of a known kind; `None` for [`EventKind::Unknown`].
    fn parse_known(kind: EventKind, data: &'a [u8]) -> Option<Result<Self, PayloadError>> {
        Some(match kind {
            EventKind::Created => payload::parse::<CreatedFields>(data).map(ResponseEvent::Created),
            EventKind::ReasoningDelta => parse_delta(data).map(ResponseEvent::ReasoningDelta),
            EventKind::OutputTextDelta => parse_delta(data).map(ResponseEvent::OutputTextDelta),
            EventKind::ToolCallStarted => {
                payload::parse::<StartedFields>(data).map(ResponseEvent::ToolCallStarted)
            }
            EventKind::ToolCallCompleted => {
                payload::parse::<ToolCompletedFields>(data).map(ResponseEvent::ToolCallCompleted)
            }
            EventKind::ToolCallFailed => {
                payload::parse::<ToolFailedFields>(data).map(ResponseEvent::ToolCallFailed)
            }
            EventKind::Completed => {
                payload::parse::<CompletedFields>(data).map(ResponseEvent::Completed)
            }
            EventKind::Failed => payload::parse::<FailedFields>(data).map(ResponseEvent::Failed),
            EventKind::Unknown => return None,
        })
    }

    /// Which event this is.
    pub fn kind(&self) -> EventKind {
        match self {
            ResponseEvent::Created(_) => EventKind::Created,
            ResponseEvent::ReasoningDelta(_) => EventKind::ReasoningDelta,
            ResponseEvent::OutputTextDelta(_) => EventKind::OutputTextDelta,
            ResponseEvent::ToolCallStarted(_) => EventKind::ToolCallStarted,
            ResponseEvent::ToolCallCompleted(_) => EventKind::ToolCallCompleted,
            ResponseEvent::ToolCallFailed(_) => EventKind::ToolCallFailed,
            ResponseEvent::Completed(_) => EventKind::Completed,
            ResponseEvent::Failed(_) => EventKind::Failed,
            ResponseEvent::Unknown { .. } => EventKind::Unknown,
        }
    }

    /// The event name (the raw name for [`ResponseEvent::Unknown`]).
    pub fn name(&self) -> &str {
        match self {
            ResponseEvent::Unknown { name, .. } => name,
            known => known.kind().name().unwrap_or_default(),
        }
    }

    /// Whether this event ends the stream.
    pub fn is_terminal(&self) -> bool {
        self.kind().is_terminal()
    }

    /// The payload as compact JSON (the raw data for [`ResponseEvent::Unknown`]).
    pub fn data_json(&self) -> String {
        // Serializing these types cannot fail: every map key is a string.
        let json = match self {
            ResponseEvent::Created(p) => serde_json::to_string(p),
            ResponseEvent::ReasoningDelta(p) | ResponseEvent::OutputTextDelta(p) => {
                serde_json::to_string(p)
            }
            ResponseEvent::ToolCallStarted(p) => serde_json::to_string(p),
            ResponseEvent::ToolCallCompleted(p) => serde_json::to_string(p),
            ResponseEvent::ToolCallFailed(p) => serde_json::to_string(p),
            ResponseEvent::Completed(p) => serde_json::to_string(p),
            ResponseEvent::Failed(p) => serde_json::to_string(p),
            ResponseEvent::Unknown { data, .. } => return data.clone().into_owned(),
        };
        json.unwrap_or_default()
    }

    /// The SSE event a server sends for this event (no id, at
    /// [`Position::START`](crate::sse::Position::START)).
    ///
    /// ```
    /// use agent37_stream::protocol::event::{ResponseEvent, TextDelta};
    ///
    /// let event = ResponseEvent::OutputTextDelta(TextDelta { text: "Hi".into() });
    /// let sse = event.to_sse();
    /// assert_eq!(sse.event_type(), "response.output_text.delta");
    /// assert_eq!(sse.data(), r#"{"text":"Hi"}"#);
    /// assert_eq!(ResponseEvent::from_sse(&sse).unwrap(), event);
    /// ```
    pub fn to_sse(&self) -> sse::Event {
        let name = match self.kind().name() {
            Some(name) => sse::Utf8Bytes::from_static(name),
            None => sse::Utf8Bytes::from(self.name()),
        };
        sse::Event::new(name, self.data_json())
    }

    /// The same event, owning its strings (for async streams and storage).
    pub fn into_owned(self) -> ResponseEvent<'static> {
        match self {
            ResponseEvent::Created(p) => ResponseEvent::Created(p.into_owned()),
            ResponseEvent::ReasoningDelta(p) => ResponseEvent::ReasoningDelta(p.into_owned()),
            ResponseEvent::OutputTextDelta(p) => ResponseEvent::OutputTextDelta(p.into_owned()),
            ResponseEvent::ToolCallStarted(p) => ResponseEvent::ToolCallStarted(p.into_owned()),
            ResponseEvent::ToolCallCompleted(p) => ResponseEvent::ToolCallCompleted(p.into_owned()),
            ResponseEvent::ToolCallFailed(p) => ResponseEvent::ToolCallFailed(p.into_owned()),
            ResponseEvent::Completed(p) => ResponseEvent::Completed(p.into_owned()),
            ResponseEvent::Failed(p) => ResponseEvent::Failed(p),
            ResponseEvent::Unknown { name, data } => ResponseEvent::Unknown {
                name: owned(name),
                data: owned(data),
            },
        }
    }
}

impl Created<'_> {
    /// The same payload, owning its strings.
    pub fn into_owned(self) -> Created<'static> {
        Created {
            id: owned(self.id),
            instance_id: owned(self.instance_id),
            session_id: owned(self.session_id),
        }
    }
}

impl TextDelta<'_> {
    /// The same payload, owning its text.
    pub fn into_owned(self) -> TextDelta<'static> {
        TextDelta {
            text: owned(self.text),
        }
    }
}

impl ToolCallStarted<'_> {
    /// The same payload, owning its strings.
    pub fn into_owned(self) -> ToolCallStarted<'static> {
        ToolCallStarted {
            tool: owned(self.tool),
            label: owned(self.label),
        }
    }
}

impl ToolCallCompleted<'_> {
    /// The same payload, owning its strings.
    pub fn into_owned(self) -> ToolCallCompleted<'static> {
        ToolCallCompleted {
            tool: owned(self.tool),
            duration_ms: self.duration_ms,
        }
    }
}

impl ToolCallFailed<'_> {
    /// The same payload, owning its strings.
    pub fn into_owned(self) -> ToolCallFailed<'static> {
        ToolCallFailed {
            tool: owned(self.tool),
            error: self.error.into_owned(),
        }
    }
}

impl Completed<'_> {
    /// The same payload, owning its strings.
    pub fn into_owned(self) -> Completed<'static> {
        Completed {
            output_text: owned(self.output_text),
            usage: self.usage,
        }
    }
}

/// The JSON type of a value, for messages about the wrong one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JsonType {
    /// `null`
    Null,
    /// `true` or `false`
    Boolean,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl JsonType {
    /// The type's name (`null`, `boolean`, `number`, `string`, `array`, `object`).
    pub const fn as_str(self) -> &'static str {
        match self {
            JsonType::Null => "null",
            JsonType::Boolean => "boolean",
            JsonType::Number => "number",
            JsonType::String => "string",
            JsonType::Array => "array",
            JsonType::Object => "object",
        }
    }
}

impl fmt::Display for JsonType {
    /// Writes the type with its article, as a message uses it ("a string", "null").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonType::Null => "null",
            JsonType::Boolean => "a boolean",
            JsonType::Number => "a number",
            JsonType::String => "a string",
            JsonType::Array => "an array",
            JsonType::Object => "an object",
        })
    }
}

/// Why an event's data is not the payload its name requires.
///
/// Each variant maps to one rule code of `PROTOCOL.md` §5 ([`rule`](Self::rule)).
/// Field names are paths from the payload's root (`usage.input_tokens`).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// `invalid-json`: the data is not JSON.
    #[error("data is not valid JSON: {message}")]
    InvalidJson {
        /// The parser's message (with its line and column).
        message: String,
        /// 1-based line in the data where parsing failed.
        line: usize,
        /// 1-based column in the data where parsing failed.
        column: usize,
    },
    /// `not-an-object`: the data is JSON but not an object.
    #[error("data is {found}, expected a JSON object")]
    NotAnObject {
        /// What the data is.
        found: JsonType,
    },
    /// `missing-field`: a required field is absent.
    #[error("missing required field `{field}`")]
    MissingField {
        /// The absent field.
        field: &'static str,
    },
    /// `wrong-type`: a field has the wrong JSON type.
    #[error("field `{field}` is {found}, expected {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// What the contract requires ("a string", "an object or null", …).
        expected: &'static str,
        /// What it is.
        found: JsonType,
    },
    /// `invalid-value`: right type, impossible value (a negative count, …).
    #[error("field `{field}` is {value}, expected {expected}")]
    InvalidValue {
        /// The field.
        field: &'static str,
        /// The value as it came (a number, written back as JSON).
        value: String,
        /// What the contract requires.
        expected: &'static str,
    },
}

impl PayloadError {
    /// The rule code this error is reported under.
    pub fn rule(&self) -> Rule {
        match self {
            PayloadError::InvalidJson { .. } => Rule::InvalidJson,
            PayloadError::NotAnObject { .. } => Rule::NotAnObject,
            PayloadError::MissingField { .. } => Rule::MissingField,
            PayloadError::WrongType { .. } => Rule::WrongType,
            PayloadError::InvalidValue { .. } => Rule::InvalidValue,
        }
    }

    /// The field concerned, when the error is about one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            PayloadError::MissingField { field }
            | PayloadError::WrongType { field, .. }
            | PayloadError::InvalidValue { field, .. } => Some(field),
            PayloadError::InvalidJson { .. } | PayloadError::NotAnObject { .. } => None,
        }
    }

    fn invalid_json(error: &serde_json::Error) -> Self {
        PayloadError::InvalidJson {
            message: error.to_string(),
            line: error.line(),
            column: error.column(),
        }
    }
}

/// Reads a delta payload. Servers write it as exactly `{"text":"…"}`; when
/// the text between the quotes holds no quote, backslash or control
/// character, that is valid JSON whose text is those very bytes, so it is
/// taken as is. Anything else goes through the full parser.
fn parse_delta(data: &[u8]) -> Result<TextDelta<'_>, PayloadError> {
    const HEAD: &[u8] = br#"{"text":""#;
    const TAIL: &[u8] = br#""}"#;
    let plain = data
        .strip_prefix(HEAD)
        .and_then(|rest| rest.strip_suffix(TAIL))
        .filter(|text| {
            // No early exit: this form compiles to a vector loop.
            !text.iter().fold(false, |special, &b| {
                special | (b < 0x20) | (b == b'"') | (b == b'\\')
            })
        })
        .and_then(|text| std::str::from_utf8(text).ok());
    match plain {
        Some(text) => Ok(TextDelta {
            text: Cow::Borrowed(text),
        }),
        None => payload::parse::<TextFields>(data),
    }
}

/// The `tool` of a tool event whose payload is otherwise broken, so the
/// ordering rules can still pair the call (and not report a cascade).
pub(crate) fn lenient_tool_name(data: &[u8]) -> Option<Cow<'_, str>> {
    payload::parse::<ToolNameFields>(data).ok().flatten()
}

/// The payload parser.
///
/// Each payload is read in one pass by a visitor that takes every known
/// field as a [`payload::Loose`] value (any JSON type, strings borrowed) and
/// skips the others, then checks the fields in the table's order. Because the
/// visitor never fails on a field's type or value, serde's error only ever
/// means broken JSON, and our own error can name the field. A derive with
/// `#[serde(borrow)]` could not do that: its errors are strings.
mod payload {
    use super::*;

    /// The fields of one payload: which names it reads and how it checks them.
    pub(super) trait Fields<'de>: Default {
        /// The field names, in the order they are checked.
        const NAMES: &'static [&'static str];
        /// The checked payload.
        type Out;
        /// Reads the value of the field `NAMES[slot]` from `map`.
        fn set<A: MapAccess<'de>>(&mut self, slot: usize, map: &mut A) -> Result<(), A::Error>;
        /// Checks the fields read.
        fn finish(self) -> Result<Self::Out, PayloadError>;
    }

    /// Parses `data` as the payload `F`.
    pub(super) fn parse<'de, F: Fields<'de>>(data: &'de [u8]) -> Result<F::Out, PayloadError> {
        match serde_json::from_slice::<Object<'de, F>>(data) {
            Ok(Object::Fields(checked)) => checked,
            Ok(Object::Other(found)) => Err(PayloadError::NotAnObject { found }),
            Err(error) => Err(PayloadError::invalid_json(&error)),
        }
    }

    /// A JSON value that should be the object `F`, or whatever type it was.
    pub(super) enum Object<'de, F: Fields<'de>> {
        Fields(Result<F::Out, PayloadError>),
        Other(JsonType),
    }

    impl<'de, F: Fields<'de>> Object<'de, F> {
        /// Checks a nested object field (`usage`, `error`): absent, `null`
        /// when `nullable`, or an object.
        pub(super) fn nested(
            value: Option<Self>,
            field: &'static str,
            nullable: bool,
        ) -> Result<Option<F::Out>, PayloadError> {
            match value {
                None => Err(PayloadError::MissingField { field }),
                Some(Object::Fields(checked)) => checked.map(Some),
                Some(Object::Other(JsonType::Null)) if nullable => Ok(None),
                Some(Object::Other(found)) => Err(PayloadError::WrongType {
                    field,
                    expected: if nullable {
                        "an object or null"
                    } else {
                        "an object"
                    },
                    found,
                }),
            }
        }
    }

    impl<'de, F: Fields<'de>> Deserialize<'de> for Object<'de, F> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(ObjectVisitor(PhantomData))
        }
    }

    struct ObjectVisitor<'de, F>(PhantomData<fn() -> (&'de (), F)>);

    impl<'de, F: Fields<'de>> Visitor<'de> for ObjectVisitor<'de, F> {
        type Value = Object<'de, F>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut fields = F::default();
            while let Some(slot) = map.next_key_seed(KeySeed(F::NAMES))? {
                match slot {
                    Some(slot) => fields.set(slot, &mut map)?,
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(Object::Fields(fields.finish()))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq)?;
            Ok(Object::Other(JsonType::Array))
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Object::Other(JsonType::Boolean))
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Object::Other(JsonType::Number))
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Object::Other(JsonType::Number))
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Object::Other(JsonType::Number))
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Object::Other(JsonType::String))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Object::Other(JsonType::Null))
        }
    }

    fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    /// Reads an object key as its slot in a field table, without allocating.
    struct KeySeed(&'static [&'static str]);

    impl<'de> DeserializeSeed<'de> for KeySeed {
        type Value = Option<usize>;

        fn deserialize<D: Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for KeySeed {
        type Value = Option<usize>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a field name")
        }

        fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
            Ok(self.0.iter().position(|name| *name == key))
        }
    }

    /// Any JSON value: strings and numbers kept, the rest only typed.
    pub(super) enum Loose<'de> {
        Str(Cow<'de, str>),
        UInt(u64),
        Int(i64),
        Float(f64),
        Other(JsonType),
    }

    impl Loose<'_> {
        fn json_type(&self) -> JsonType {
            match self {
                Loose::Str(_) => JsonType::String,
                Loose::UInt(_) | Loose::Int(_) | Loose::Float(_) => JsonType::Number,
                Loose::Other(found) => *found,
            }
        }

        /// The number written back as JSON, for messages.
        fn number_text(&self) -> String {
            match self {
                Loose::UInt(n) => n.to_string(),
                Loose::Int(n) => n.to_string(),
                Loose::Float(n) => n.to_string(),
                Loose::Str(_) | Loose::Other(_) => String::new(),
            }
        }
    }

    impl<'de> Deserialize<'de> for Loose<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(LooseVisitor)
        }
    }

    struct LooseVisitor;

    impl<'de> Visitor<'de> for LooseVisitor {
        type Value = Loose<'de>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }

        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Loose::Str(Cow::Borrowed(v)))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Loose::Str(Cow::Owned(v.to_owned())))
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Loose::Str(Cow::Owned(v)))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Loose::UInt(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Loose::Int(v))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Loose::Float(v))
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Loose::Other(JsonType::Boolean))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Loose::Other(JsonType::Null))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq)?;
            Ok(Loose::Other(JsonType::Array))
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            drain_map(map)?;
            Ok(Loose::Other(JsonType::Object))
        }
    }

    /// A string or an object (kept whole): the `error` of a failed tool call.
    pub(super) enum StrOrObject<'de> {
        Known(ToolError<'de>),
        Other(JsonType),
    }

    impl<'de> Deserialize<'de> for StrOrObject<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(StrOrObjectVisitor)
        }
    }

    struct StrOrObjectVisitor;

    impl<'de> Visitor<'de> for StrOrObjectVisitor {
        type Value = StrOrObject<'de>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut object = serde_json::Map::new();
            while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
                object.insert(key, value);
            }
            Ok(StrOrObject::Known(ToolError::Object(object)))
        }

        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(StrOrObject::Known(ToolError::Message(Cow::Borrowed(v))))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(StrOrObject::Known(ToolError::Message(Cow::Owned(
                v.to_owned(),
            ))))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq)?;
            Ok(StrOrObject::Other(JsonType::Array))
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(StrOrObject::Other(JsonType::Boolean))
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(StrOrObject::Other(JsonType::Number))
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(StrOrObject::Other(JsonType::Number))
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(StrOrObject::Other(JsonType::Number))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(StrOrObject::Other(JsonType::Null))
        }
    }

    /// A required string.
    pub(super) fn string<'de>(
        field: &'static str,
        value: Option<Loose<'de>>,
    ) -> Result<Cow<'de, str>, PayloadError> {
        match value {
            None => Err(PayloadError::MissingField { field }),
            Some(Loose::Str(text)) => Ok(text),
            Some(other) => Err(PayloadError::WrongType {
                field,
                expected: "a string",
                found: other.json_type(),
            }),
        }
    }

    /// An optional string: absent or `null` is `None`.
    pub(super) fn optional_string<'de>(
        field: &'static str,
        value: Option<Loose<'de>>,
    ) -> Result<Option<Cow<'de, str>>, PayloadError> {
        match value {
            None | Some(Loose::Other(JsonType::Null)) => Ok(None),
            Some(value) => string(field, Some(value)).map(Some),
        }
    }

    /// A required non-negative number.
    pub(super) fn non_negative_number(
        field: &'static str,
        value: Option<Loose<'_>>,
    ) -> Result<f64, PayloadError> {
        const EXPECTED: &str = "a non-negative number";
        match value {
            None => Err(PayloadError::MissingField { field }),
            Some(Loose::UInt(n)) => Ok(n as f64),
            Some(Loose::Float(n)) if n >= 0.0 => Ok(n),
            Some(Loose::Int(n)) if n >= 0 => Ok(n as f64),
            Some(number @ (Loose::Int(_) | Loose::Float(_))) => Err(PayloadError::InvalidValue {
                field,
                value: number.number_text(),
                expected: EXPECTED,
            }),
            Some(other) => Err(PayloadError::WrongType {
                field,
                expected: EXPECTED,
                found: other.json_type(),
            }),
        }
    }

    /// A required non-negative integer (a whole float such as `3.0` counts:
    /// JSON has one number type).
    pub(super) fn non_negative_integer(
        field: &'static str,
        value: Option<Loose<'_>>,
    ) -> Result<u64, PayloadError> {
        const EXPECTED: &str = "a non-negative integer";
        // 2^64: the first float past u64::MAX.
        const LIMIT: f64 = 18_446_744_073_709_551_616.0;
        match value {
            None => Err(PayloadError::MissingField { field }),
            Some(Loose::UInt(n)) => Ok(n),
            Some(Loose::Int(n)) if n >= 0 => Ok(n.unsigned_abs()),
            Some(Loose::Float(n)) if n >= 0.0 && n.fract() == 0.0 && n < LIMIT => Ok(n as u64),
            Some(number @ (Loose::Int(_) | Loose::Float(_))) => Err(PayloadError::InvalidValue {
                field,
                value: number.number_text(),
                expected: EXPECTED,
            }),
            Some(other) => Err(PayloadError::WrongType {
                field,
                expected: EXPECTED,
                found: other.json_type(),
            }),
        }
    }

    /// An optional non-negative number kept as written: absent is `None`,
    /// `null` is `Some(None)`.
    pub(super) fn optional_cost(
        field: &'static str,
        value: Option<Loose<'_>>,
    ) -> Result<Option<Option<serde_json::Number>>, PayloadError> {
        match value {
            None => Ok(None),
            Some(Loose::Other(JsonType::Null)) => Ok(Some(None)),
            Some(Loose::UInt(n)) => Ok(Some(Some(serde_json::Number::from(n)))),
            Some(Loose::Float(n)) if n >= 0.0 => Ok(Some(serde_json::Number::from_f64(n))),
            Some(Loose::Int(n)) if n >= 0 => Ok(Some(Some(serde_json::Number::from(n)))),
            Some(number @ (Loose::Int(_) | Loose::Float(_))) => Err(PayloadError::InvalidValue {
                field,
                value: number.number_text(),
                expected: "a non-negative number or null",
            }),
            Some(other) => Err(PayloadError::WrongType {
                field,
                expected: "a number or null",
                found: other.json_type(),
            }),
        }
    }
}

use payload::{Fields, Loose, Object, StrOrObject};

/// Reads the next value into `slot`, last occurrence winning (as most JSON
/// readers do with a repeated key).
fn read<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    slot: &mut Option<T>,
    map: &mut A,
) -> Result<(), A::Error> {
    *slot = Some(map.next_value()?);
    Ok(())
}

#[derive(Default)]
struct TextFields<'de> {
    text: Option<Loose<'de>>,
}

impl<'de> Fields<'de> for TextFields<'de> {
    const NAMES: &'static [&'static str] = &["text"];
    type Out = TextDelta<'de>;

    fn set<A: MapAccess<'de>>(&mut self, _slot: usize, map: &mut A) -> Result<(), A::Error> {
        read(&mut self.text, map)
    }

    fn finish(self) -> Result<Self::Out, PayloadError> {
        Ok(TextDelta {
            text: payload::string("text", self.text)?,
        })
    }
}

#[derive(Default)]
struct CreatedFields<'de> {
    id: Option<Loose<'de>>,
    instance_id: Option<Loose<'de>>,
    session_id: Option<Loose<'de>>,
}

impl<'de> Fields<'de> for CreatedFields<'de> {
    const NAMES: &'static [&'static str] = &["id", "instance_id", "session_id"];
    type Out = Created<'de>;

    fn set<A: MapAccess<'de>>(&mut self, slot: usize, map: &mut A) -> Result<(), A::Error> {
        match slot {
            0 => read(&mut self.id, map),
            1 => read(&mut self.instance_id, map),
            _ => read(&mut self.session_id, map),
        }
    }

    fn finish(self) -> Result<Self::Out, PayloadError> {
        Ok(Created {
            id: payload::string("id", self.id)?,
            instance_id: payload::string("instance_id", self.instance_id)?,
            session_id: payload::string("session_id", self.session_id)?,
        })
    }
}

#[derive(Default)]
struct StartedFields<'de> {
    tool: Option<Loose<'de>>,
    label: Option<Loose<'de>>,
}

impl<'de> Fields<'de> for StartedFields<'de> {
    const NAMES: &'static [&'static str] = &["tool", "label"];
    type Out = ToolCallStarted<'de>;

    fn set<A: MapAccess<'de>>(&mut self, slot: usize, map: &mut A) -> Result<(), A::Error> {
        match slot {
            0 => read(&mut self.tool, map),
            _ => read(&mut self.label, map),
        }
    }

    fn finish(self) -> Result<Self::Out, PayloadError> {
        Ok(ToolCallStarted {
            tool: payload::string("tool", self.tool)?,
            label: payload::string("label", self.label)?,
        })
    }
}

#[derive(Default)]
struct ToolCompletedFields<'de> {
    tool: Option<Loose<'de>>,
    duration_ms: Option<Loose<'de>>,
}

impl<'de> Fields<'de> for ToolCompletedFields<'de> {
    const NAMES: &'static [&'static str] = &["tool", "duration_ms"];
    type Out = ToolCallCompleted<'de>;

    fn set<A: MapAccess<'de>>(&mut self, slot: usize, map: &mut A) -> Result<(), A::Error> {
        match slot {
            0 => read(&mut self.tool, map),
            _ => read(&mut self.duration_ms, map),
        }
    }

    fn finish(self) -> Result<Self::Out, PayloadError> {
        Ok(ToolCallCompleted {
            tool: payload::string("tool", self.tool)?,
            duration_ms: payload::non_negative_number("duration_ms", self.duration_ms)?,
        })
    }
}

#[derive(Default)]
struct ToolFailedFields<'de> {
    tool: Option<Loose<'de>>,
    error: Option<StrOrObject<'de>>,
}

impl<'de> Fields<'de> for ToolFailedFields<'de> {
    const NAMES: &'static [&'static str] = &["tool", "error"];
    type Out = ToolCallFailed<'de>;

    fn set<A: MapAccess<'de>>(&mut self, slot: usize, map: &mut A) -> Result<(), A::Error> {
        match slot {
            0 => read(&mut self.tool, map),
            _ => read(&mut self.error, map),
        }
    }

    fn finish(self) -> Result<Self::Out, PayloadError> {
        let tool = payload::string("tool", self.tool)?;
        let error = match self.error {
            None => return Err(PayloadError::MissingField { field: "error" }),
            Some(StrOrObject::Known(error)) => error,
            Some(StrOrObject::Other(found)) => {
                return Err(PayloadError::WrongType {
                    field: "error",
                    expected: "a string or an object",
                    found,
                });
            }
        };
        Ok(ToolCallFailed { tool, error })
    }
}

#[derive(Default)]
struct UsageFields<'de> {
    input_tokens: Option<Loose<'de>>,
    output_tokens: Option<Loose<'de>>,
    cost_usd: Option<Loose<'de>>,
}

impl<'de> Fields<'de> for UsageFields<'de> {
    const NAMES: &'static [&'static str] = &["input_tokens", "output_tokens", "cost_usd"];
    type Out = Usage;

    fn set<A: MapAccess<'de>>(&mut self, slot: usize, map: &mut A) -> Result<(), A::Error> {
        match slot {
            0 => read(&mut self.input_tokens, map),
            1 => read(&mut self.output_tokens, map),
            _ => read(&mut self.cost_usd, map),
        }
    }

    fn finish(self) -> Result<Self::Out, PayloadError> {
        Ok(Usage {
            input_tokens: payload::non_negative_integer("usage.input_tokens", self.input_tokens)?,
            output_tokens: payload::non_negative_integer(
                "usage.output_tokens",
                self.output_tokens,
            )?,
            cost_usd: payload::optional_cost("usage.cost_usd", self.cost_usd)?,
        })
    }
}

#[derive(Default)]
struct CompletedFields<'de> {
    output_text: Option<Loose<'de>>,
    usage: Option<Object<'de, UsageFields<'de>>>,
}

impl<'de> Fields<'de> for CompletedFields<'de> {
    const NAMES: &'static [&'static str] = &["output_text", "usage"];
    type Out = Completed<'de>;

    fn set<A: MapAccess<'de>>(&mut self, slot: usize, map: &mut A) -> Result<(), A::Error> {
        match slot {
            0 => read(&mut self.output_text, map),
            _ => read(&mut self.usage, map),
        }
    }

    fn finish(self) -> Result<Self::Out, PayloadError> {
        Ok(Completed {
            output_text: payload::string("output_text", self.output_text)?,
            usage: Object::nested(self.usage, "usage", true)?,
        })
    }
}

#[derive(Default)]
struct ErrorFields<'de> {
    code: Option<Loose<'de>>,
    message: Option<Loose<'de>>,
    param: Option<Loose<'de>>,
    hint: Option<Loose<'de>>,
}

impl<'de> Fields<'de> for ErrorFields<'de> {
    const NAMES: &'static [&'static str] = &["code", "message", "param", "hint"];
    type Out = ErrorObject;

    fn set<A: MapAccess<'de>>(&mut self, slot: usize, map: &mut A) -> Result<(), A::Error> {
        match slot {
            0 => read(&mut self.code, map),
            1 => read(&mut self.message, map),
            2 => read(&mut self.param, map),
            _ => read(&mut self.hint, map),
        }
    }

    fn finish(self) -> Result<Self::Out, PayloadError> {
        Ok(ErrorObject {
            code: payload::string("error.code", self.code)?.into_owned(),
            message: payload::string("error.message", self.message)?.into_owned(),
            param: payload::optional_string("error.param", self.param)?.map(Cow::into_owned),
            hint: payload::optional_string("error.hint", self.hint)?.map(Cow::into_owned),
        })
    }
}

#[derive(Default)]
struct FailedFields<'de> {
    error: Option<Object<'de, ErrorFields<'de>>>,
}

impl<'de> Fields<'de> for FailedFields<'de> {
    const NAMES: &'static [&'static str] = &["error"];
    type Out = Failed;

    fn set<A: MapAccess<'de>>(&mut self, _slot: usize, map: &mut A) -> Result<(), A::Error> {
        read(&mut self.error, map)
    }

    fn finish(self) -> Result<Self::Out, PayloadError> {
        match Object::nested(self.error, "error", false)? {
            Some(error) => Ok(Failed { error }),
            // `nested` with nullable = false never gives `None`.
            None => Err(PayloadError::MissingField { field: "error" }),
        }
    }
}

#[derive(Default)]
struct ToolNameFields<'de> {
    tool: Option<Loose<'de>>,
}

impl<'de> Fields<'de> for ToolNameFields<'de> {
    const NAMES: &'static [&'static str] = &["tool"];
    type Out = Option<Cow<'de, str>>;

    fn set<A: MapAccess<'de>>(&mut self, _slot: usize, map: &mut A) -> Result<(), A::Error> {
        read(&mut self.tool, map)
    }

    fn finish(self) -> Result<Self::Out, PayloadError> {
        Ok(payload::string("tool", self.tool).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(
        name: &'static str,
        data: &'static str,
    ) -> Result<ResponseEvent<'static>, PayloadError> {
        ResponseEvent::parse(name, data)
    }

    fn error(name: &'static str, data: &'static str) -> PayloadError {
        match parse(name, data) {
            Ok(event) => panic!("{data} parsed as {event:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn every_known_name_round_trips() {
        for kind in EventKind::KNOWN {
            let name = kind.name().unwrap();
            assert_eq!(EventKind::from_name(name), kind);
            assert!(kind.class().is_some());
        }
        assert_eq!(EventKind::from_name("message"), EventKind::Unknown);
        assert_eq!(EventKind::Unknown.name(), None);
    }

    #[test]
    fn delta_without_escapes_borrows() {
        let data = r#"{"text":"Hello, world"}"#;
        let event = ResponseEvent::parse("response.output_text.delta", data).unwrap();
        let ResponseEvent::OutputTextDelta(delta) = event else {
            panic!("wrong kind");
        };
        assert!(matches!(delta.text, Cow::Borrowed(_)));
        assert_eq!(delta.text, "Hello, world");
    }

    proptest::proptest! {
        #[test]
        fn delta_fast_path_agrees_with_the_parser(
            text in "(\\PC|[\"\\\\\u{0}-\u{1f}\u{7f}])*",
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24),
        ) {
            let json = serde_json::json!({ "text": text }).to_string();
            for data in [json.into_bytes(), [br#"{"text":""#.as_slice(), &raw, br#""}"#].concat(), raw] {
                let fast = parse_delta(&data);
                let full = payload::parse::<TextFields>(&data);
                proptest::prop_assert_eq!(fast, full);
            }
        }
    }

    #[test]
    fn delta_fast_path_edges() {
        for data in [
            r#"{"text":""}"#,
            r#"{"text":"}"#,
            r#"{"text":"a"}"}"#,
            r#"{"text":"a"} "#,
            r#"{"text":"\u0041"}"#,
        ] {
            assert_eq!(
                parse_delta(data.as_bytes()),
                payload::parse::<TextFields>(data.as_bytes()),
                "{data}"
            );
        }
    }

    #[test]
    fn delta_with_escapes_is_unescaped() {
        let event = parse("response.reasoning.delta", r#"{"text":"a\n\"b\"\u00e9"}"#).unwrap();
        assert_eq!(
            event,
            ResponseEvent::ReasoningDelta(TextDelta {
                text: "a\n\"b\"é".into()
            })
        );
    }

    #[test]
    fn from_sse_borrows_from_the_event() {
        let sse = sse::Event::new("response.output_text.delta", r#"{"text":"abc"}"#);
        let ResponseEvent::OutputTextDelta(delta) = ResponseEvent::from_sse(&sse).unwrap() else {
            panic!("wrong kind");
        };
        let Cow::Borrowed(text) = delta.text else {
            panic!("copied");
        };
        let data = sse.data().as_bytes().as_ptr_range();
        assert!(data.contains(&text.as_ptr()));
    }

    #[test]
    fn extra_fields_are_ignored() {
        let event = parse(
            "response.tool_call.started",
            r#"{"id":7,"tool":"browser","nested":{"a":[1,{"b":null}]},"label":"Search","tool_version":"2"}"#,
        )
        .unwrap();
        assert_eq!(
            event,
            ResponseEvent::ToolCallStarted(ToolCallStarted {
                tool: "browser".into(),
                label: "Search".into()
            })
        );
    }

    #[test]
    fn repeated_key_last_wins() {
        let event = parse("response.output_text.delta", r#"{"text":"a","text":"b"}"#).unwrap();
        assert_eq!(
            event,
            ResponseEvent::OutputTextDelta(TextDelta { text: "b".into() })
        );
    }

    #[test]
    fn created_payload() {
        let event = parse(
            "response.created",
            r#"{"id":"c91d2a7e84f04b6f9a3d5e1c0b87f4a2","instance_id":"inst_x7","session_id":"s1"}"#,
        )
        .unwrap();
        let ResponseEvent::Created(created) = event else {
            panic!("wrong kind");
        };
        assert_eq!(created.id, "c91d2a7e84f04b6f9a3d5e1c0b87f4a2");
        assert_eq!(created.instance_id, "inst_x7");
        assert_eq!(created.session_id, "s1");
    }

    #[test]
    fn completed_with_usage_and_null_usage() {
        let event = parse(
            "response.completed",
            r#"{"output_text":"Done","usage":{"input_tokens":10,"output_tokens":3.0,"cost_usd":0.5}}"#,
        )
        .unwrap();
        let ResponseEvent::Completed(completed) = event else {
            panic!("wrong kind");
        };
        assert_eq!(completed.output_text, "Done");
        let usage = completed.usage.unwrap();
        assert_eq!((usage.input_tokens, usage.output_tokens), (10, 3));
        assert_eq!(usage.cost(), Some(0.5));

        let event = parse("response.completed", r#"{"output_text":"","usage":null}"#).unwrap();
        assert_eq!(
            event,
            ResponseEvent::Completed(Completed {
                output_text: "".into(),
                usage: None
            })
        );
    }

    #[test]
    fn cost_absent_and_null_are_told_apart() {
        let absent = parse(
            "response.completed",
            r#"{"output_text":"","usage":{"input_tokens":1,"output_tokens":2}}"#,
        )
        .unwrap();
        let null = parse(
            "response.completed",
            r#"{"output_text":"","usage":{"input_tokens":1,"output_tokens":2,"cost_usd":null}}"#,
        )
        .unwrap();
        let cost = |event: ResponseEvent<'_>| match event {
            ResponseEvent::Completed(c) => c.usage.unwrap().cost_usd,
            _ => panic!("wrong kind"),
        };
        assert_eq!(cost(absent), None);
        assert_eq!(cost(null), Some(None));
    }

    #[test]
    fn failed_payload_with_optional_fields() {
        let event = parse(
            "response.failed",
            r#"{"error":{"code":"rate_limited","message":"Slow down","hint":"Retry","param":null,"extra":1}}"#,
        )
        .unwrap();
        assert_eq!(
            event,
            ResponseEvent::Failed(Failed {
                error: ErrorObject {
                    code: "rate_limited".into(),
                    message: "Slow down".into(),
                    param: None,
                    hint: Some("Retry".into()),
                }
            })
        );
    }

    #[test]
    fn tool_failed_error_string_or_object() {
        let event = parse(
            "response.tool_call.failed",
            r#"{"tool":"t","error":"boom"}"#,
        )
        .unwrap();
        let ResponseEvent::ToolCallFailed(failed) = event else {
            panic!("wrong kind");
        };
        assert_eq!(failed.error.message(), Some("boom"));

        let event = parse(
            "response.tool_call.failed",
            r#"{"tool":"t","error":{"message":"timeout","code":504}}"#,
        )
        .unwrap();
        let ResponseEvent::ToolCallFailed(failed) = event else {
            panic!("wrong kind");
        };
        assert_eq!(failed.error.message(), Some("timeout"));
        let ToolError::Object(object) = &failed.error else {
            panic!("not an object");
        };
        assert_eq!(object["code"], 504);
    }

    #[test]
    fn unknown_event_is_kept_raw_and_not_parsed() {
        let event = parse("response.queued", "not json at all").unwrap();
        assert_eq!(
            event,
            ResponseEvent::Unknown {
                name: "response.queued".into(),
                data: "not json at all".into()
            }
        );
        assert_eq!(event.name(), "response.queued");
        assert_eq!(event.kind(), EventKind::Unknown);
    }

    #[test]
    fn kind_of_sse_needs_an_explicit_name() {
        assert_eq!(
            EventKind::of_sse(&sse::Event::new("", "{}")),
            EventKind::Unknown
        );
        assert_eq!(
            EventKind::of_sse(&sse::Event::new("message", "{}")),
            EventKind::Unknown
        );
        for kind in EventKind::KNOWN {
            let event = sse::Event::new(kind.name().unwrap(), "{}");
            assert_eq!(EventKind::of_sse(&event), kind);
        }
    }

    #[test]
    fn untyped_sse_event_is_unknown_message() {
        let sse = sse::Event::new("", r#"{"text":"x"}"#);
        let event = ResponseEvent::from_sse(&sse).unwrap();
        assert_eq!(event.name(), "message");
    }

    #[test]
    fn invalid_json_reports_location() {
        let err = error("response.output_text.delta", "{\"text\": \"a\",\n oops}");
        assert_eq!(err.rule(), Rule::InvalidJson);
        let PayloadError::InvalidJson { line, column, .. } = err else {
            panic!("wrong error");
        };
        assert_eq!(line, 2);
        assert!(column > 0);
        for data in ["", "{", r#"{"text":"a"} x"#, r#"{"text":"\ud800"}"#, "[1,]"] {
            assert_eq!(
                error("response.output_text.delta", data).rule(),
                Rule::InvalidJson,
                "{data:?}"
            );
        }
    }

    #[test]
    fn non_objects_are_reported_with_their_type() {
        for (data, found) in [
            ("[1,{\"text\":\"a\"}]", JsonType::Array),
            ("\"text\"", JsonType::String),
            ("12", JsonType::Number),
            ("-1.5", JsonType::Number),
            ("true", JsonType::Boolean),
            ("null", JsonType::Null),
        ] {
            let err = error("response.output_text.delta", data);
            assert_eq!(err, PayloadError::NotAnObject { found }, "{data}");
            assert_eq!(err.rule(), Rule::NotAnObject);
        }
    }

    #[test]
    fn missing_fields_are_named() {
        for (name, data, field) in [
            (
                "response.created",
                r#"{"id":"a","session_id":"s"}"#,
                "instance_id",
            ),
            ("response.output_text.delta", "{}", "text"),
            ("response.reasoning.delta", r#"{"txt":"a"}"#, "text"),
            ("response.tool_call.started", r#"{"tool":"t"}"#, "label"),
            (
                "response.tool_call.completed",
                r#"{"duration_ms":1}"#,
                "tool",
            ),
            (
                "response.tool_call.completed",
                r#"{"tool":"t"}"#,
                "duration_ms",
            ),
            ("response.tool_call.failed", r#"{"tool":"t"}"#, "error"),
            ("response.completed", r#"{"usage":null}"#, "output_text"),
            ("response.completed", r#"{"output_text":""}"#, "usage"),
            (
                "response.completed",
                r#"{"output_text":"","usage":{"input_tokens":1}}"#,
                "usage.output_tokens",
            ),
            ("response.failed", "{}", "error"),
            (
                "response.failed",
                r#"{"error":{"code":"x"}}"#,
                "error.message",
            ),
            (
                "response.failed",
                r#"{"error":{"message":"x"}}"#,
                "error.code",
            ),
        ] {
            let err = error(name, data);
            assert_eq!(err, PayloadError::MissingField { field }, "{name} {data}");
            assert_eq!(err.rule(), Rule::MissingField);
            assert_eq!(err.field(), Some(field));
        }
    }

    #[test]
    fn wrong_types_are_named() {
        for (name, data, field, found) in [
            (
                "response.created",
                r#"{"id":5,"instance_id":"i","session_id":"s"}"#,
                "id",
                JsonType::Number,
            ),
            (
                "response.output_text.delta",
                r#"{"text":null}"#,
                "text",
                JsonType::Null,
            ),
            (
                "response.output_text.delta",
                r#"{"text":["a"]}"#,
                "text",
                JsonType::Array,
            ),
            (
                "response.tool_call.started",
                r#"{"tool":"t","label":{}}"#,
                "label",
                JsonType::Object,
            ),
            (
                "response.tool_call.completed",
                r#"{"tool":"t","duration_ms":"5"}"#,
                "duration_ms",
                JsonType::String,
            ),
            (
                "response.tool_call.failed",
                r#"{"tool":"t","error":404}"#,
                "error",
                JsonType::Number,
            ),
            (
                "response.tool_call.failed",
                r#"{"tool":"t","error":null}"#,
                "error",
                JsonType::Null,
            ),
            (
                "response.completed",
                r#"{"output_text":"","usage":"none"}"#,
                "usage",
                JsonType::String,
            ),
            (
                "response.completed",
                r#"{"output_text":"","usage":[]}"#,
                "usage",
                JsonType::Array,
            ),
            (
                "response.completed",
                r#"{"output_text":"","usage":{"input_tokens":"1","output_tokens":1}}"#,
                "usage.input_tokens",
                JsonType::String,
            ),
            (
                "response.completed",
                r#"{"output_text":"","usage":{"input_tokens":1,"output_tokens":1,"cost_usd":"0.1"}}"#,
                "usage.cost_usd",
                JsonType::String,
            ),
            (
                "response.failed",
                r#"{"error":"boom"}"#,
                "error",
                JsonType::String,
            ),
            (
                "response.failed",
                r#"{"error":null}"#,
                "error",
                JsonType::Null,
            ),
            (
                "response.failed",
                r#"{"error":{"code":1,"message":"m"}}"#,
                "error.code",
                JsonType::Number,
            ),
            (
                "response.failed",
                r#"{"error":{"code":"c","message":"m","hint":true}}"#,
                "error.hint",
                JsonType::Boolean,
            ),
        ] {
            let err = error(name, data);
            assert_eq!(err.rule(), Rule::WrongType, "{name} {data}");
            let PayloadError::WrongType {
                field: f, found: t, ..
            } = err
            else {
                unreachable!()
            };
            assert_eq!((f, t), (field, found), "{name} {data}");
        }
    }

    #[test]
    fn impossible_values_are_named() {
        for (name, data, field, value) in [
            (
                "response.tool_call.completed",
                r#"{"tool":"t","duration_ms":-1}"#,
                "duration_ms",
                "-1",
            ),
            (
                "response.tool_call.completed",
                r#"{"tool":"t","duration_ms":-0.5}"#,
                "duration_ms",
                "-0.5",
            ),
            (
                "response.completed",
                r#"{"output_text":"","usage":{"input_tokens":-3,"output_tokens":1}}"#,
                "usage.input_tokens",
                "-3",
            ),
            (
                "response.completed",
                r#"{"output_text":"","usage":{"input_tokens":1,"output_tokens":1.5}}"#,
                "usage.output_tokens",
                "1.5",
            ),
            (
                "response.completed",
                r#"{"output_text":"","usage":{"input_tokens":1e20,"output_tokens":1}}"#,
                "usage.input_tokens",
                "100000000000000000000",
            ),
            (
                "response.completed",
                r#"{"output_text":"","usage":{"input_tokens":1,"output_tokens":1,"cost_usd":-0.01}}"#,
                "usage.cost_usd",
                "-0.01",
            ),
        ] {
            let err = error(name, data);
            assert_eq!(err.rule(), Rule::InvalidValue, "{name} {data}");
            let PayloadError::InvalidValue {
                field: f, value: v, ..
            } = &err
            else {
                unreachable!()
            };
            assert_eq!((*f, v.as_str()), (field, value), "{name} {data}");
            assert!(err.to_string().contains(field));
        }
    }

    #[test]
    fn first_problem_in_table_order_wins() {
        let err = error("response.created", r#"{"session_id":1}"#);
        assert_eq!(err, PayloadError::MissingField { field: "id" });
    }

    #[test]
    fn error_messages_name_field_and_type() {
        let err = error("response.output_text.delta", r#"{"text":1}"#);
        assert_eq!(
            err.to_string(),
            "field `text` is a number, expected a string"
        );
        let err = error("response.output_text.delta", "[]");
        assert_eq!(err.to_string(), "data is an array, expected a JSON object");
    }

    #[test]
    fn lenient_tool_name_survives_other_errors() {
        assert_eq!(
            lenient_tool_name(br#"{"tool":"browser","duration_ms":-1}"#).as_deref(),
            Some("browser")
        );
        assert_eq!(lenient_tool_name(br#"{"tool":3}"#), None);
        assert_eq!(lenient_tool_name(b"nope"), None);
    }

    #[test]
    fn typed_events_serialize_and_reparse() {
        let events = [
            ResponseEvent::Created(Created {
                id: "0123456789abcdef0123456789abcdef".into(),
                instance_id: "inst".into(),
                session_id: "sess".into(),
            }),
            ResponseEvent::ToolCallCompleted(ToolCallCompleted {
                tool: "t".into(),
                duration_ms: 12.0,
            }),
            ResponseEvent::ToolCallCompleted(ToolCallCompleted {
                tool: "t".into(),
                duration_ms: 0.25,
            }),
            ResponseEvent::ToolCallFailed(ToolCallFailed {
                tool: "t".into(),
                error: ToolError::Message("x\"y".into()),
            }),
            ResponseEvent::Completed(Completed {
                output_text: "line\nbreak".into(),
                usage: Some(Usage::new(1, 2)),
            }),
            ResponseEvent::Failed(Failed {
                error: ErrorObject::new("c", "m"),
            }),
        ];
        for event in events {
            let sse = event.to_sse();
            assert_eq!(ResponseEvent::from_sse(&sse).unwrap(), event);
        }
        let millis = ResponseEvent::ToolCallCompleted(ToolCallCompleted {
            tool: "t".into(),
            duration_ms: 12.0,
        });
        assert_eq!(millis.data_json(), r#"{"tool":"t","duration_ms":12}"#);
    }

    #[test]
    fn into_owned_keeps_the_event() {
        let data = String::from(r#"{"tool":"t","label":"l"}"#);
        let owned = ResponseEvent::parse("response.tool_call.started", &data)
            .unwrap()
            .into_owned();
        drop(data);
        assert_eq!(
            owned,
            ResponseEvent::ToolCallStarted(ToolCallStarted {
                tool: "t".into(),
                label: "l".into()
            })
        );
    }

    #[test]
    fn deep_nesting_does_not_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        // Skipped fields are skipped without recursion: fine.
        let data = format!(r#"{{"text":"a","x":{deep}}}"#);
        let sse = sse::Event::new("response.output_text.delta", data);
        assert!(ResponseEvent::from_sse(&sse).is_ok());
        // In a known field it is the wrong type.
        let data = format!(r#"{{"text":{deep}}}"#);
        let sse = sse::Event::new("response.output_text.delta", data);
        assert_eq!(
            ResponseEvent::from_sse(&sse).unwrap_err().rule(),
            Rule::WrongType
        );
        // As a tool error object it hits the parser's depth limit: invalid JSON, no crash.
        let data = format!(r#"{{"tool":"t","error":{{"a":{deep}}}}}"#);
        let sse = sse::Event::new("response.tool_call.failed", data);
        assert_eq!(
            ResponseEvent::from_sse(&sse).unwrap_err().rule(),
            Rule::InvalidJson
        );
    }
}
