//! The eight typed events of the contract and their payloads.
//!
//! [`ResponseEvent::from_sse`] reads an [`sse::Event`]'s name and JSON data
//! into a [`ResponseEvent`] that owns its data (`'static`, `Send`) without
//! copying it: a string field is a slice of the event's data when its JSON
//! needs no unescaping, and a buffer of the exact size when it does. The
//! hottest payload, a `{"text":"…"}` delta, is read by a fast path that
//! gives the same value or the same errors as the general reader (a
//! property test and a fuzz target hold them equal). Names outside the
//! table become [`ResponseEvent::Unknown`], kept raw: clients must tolerate
//! new events. Extra payload fields are ignored.
//!
//! A payload that breaks the contract gives [`PayloadErrors`]: every broken
//! field, each naming the field and why, mapped to its rule code by
//! [`PayloadError::rule`].
//!
//! ```
//! use agent37_stream::protocol::event::{PayloadErrors, ResponseEvent};
//! use agent37_stream::protocol::rules::Rule;
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
//! assert_eq!(err.rule(), Rule::InvalidValue);
//! assert_eq!(err.field(), Some("duration_ms"));
//! # Ok::<(), PayloadErrors>(())
//! ```

mod de;
mod error;
mod fast;
mod kind;

pub(crate) use fast::block_delta;

use std::borrow::Cow;

use serde::{Deserialize, Serialize, Serializer};

pub use error::{JsonType, PayloadError, PayloadErrors};
pub use kind::{EventClass, EventKind, UnknownEventName};

use super::response::{ErrorObject, Usage};
use crate::sse::{self, Utf8Bytes};

/// One event of the contract, with its payload.
///
/// It owns its data, sharing the buffer the event was decoded from, so it is
/// `'static` and `Send` and costs no copy. With serde it is written as
/// `{"event": name, "data": payload}`, and read back the same way (the data
/// is checked as the contract requires).
///
/// The payloads of the rare events are boxed, so the enum is the size of a
/// delta (48 bytes, not 120): the events of a turn are nearly all deltas,
/// and every step of the pipeline moves them. Each payload converts into
/// its event with `into()`.
///
/// ```
/// use agent37_stream::protocol::event::{ResponseEvent, ToolCallStarted};
///
/// let event: ResponseEvent = ToolCallStarted { tool: "browser".into(), label: "Searching".into() }.into();
/// assert_eq!(event.name(), "response.tool_call.started");
/// assert!(std::mem::size_of::<ResponseEvent>() <= 48);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ResponseEvent {
    /// `response.created`: the turn started.
    Created(Box<Created>),
    /// `response.reasoning.delta`: a chunk of the agent's thinking.
    ReasoningDelta(TextDelta),
    /// `response.output_text.delta`: a chunk of the visible answer.
    OutputTextDelta(TextDelta),
    /// `response.tool_call.started`: the agent called a tool.
    ToolCallStarted(Box<ToolCallStarted>),
    /// `response.tool_call.completed`: a tool call returned.
    ToolCallCompleted(Box<ToolCallCompleted>),
    /// `response.tool_call.failed`: a tool call failed; the run continues.
    ToolCallFailed(Box<ToolCallFailed>),
    /// `response.completed`: terminal success.
    Completed(Box<Completed>),
    /// `response.failed`: terminal error.
    Failed(Box<Failed>),
    /// An event whose name is outside the contract's table (an event with no
    /// `event:` name has the SSE default name `message`), kept as it came.
    Unknown(Box<UnknownEvent>),
}

/// An event whose name is outside the contract's table, kept as it came.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UnknownEvent {
    /// The event name.
    pub name: Utf8Bytes,
    /// The raw data, not parsed.
    pub data: Utf8Bytes,
}

/// `payload.into()`: the event that carries it.
macro_rules! boxed_payloads {
    ($($payload:ident),+) => {$(
        impl From<$payload> for ResponseEvent {
            fn from(payload: $payload) -> Self {
                ResponseEvent::$payload(Box::new(payload))
            }
        }
    )+};
}

boxed_payloads!(
    Created,
    ToolCallStarted,
    ToolCallCompleted,
    ToolCallFailed,
    Completed,
    Failed
);

impl From<UnknownEvent> for ResponseEvent {
    fn from(event: UnknownEvent) -> Self {
        ResponseEvent::Unknown(Box::new(event))
    }
}

/// Payload of `response.created`: `{ id, instance_id, session_id }`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Created {
    /// The response id (32 hex characters by contract).
    pub id: Utf8Bytes,
    /// The instance running the turn.
    pub instance_id: Utf8Bytes,
    /// The conversation the turn belongs to.
    pub session_id: Utf8Bytes,
}

/// Payload of the two delta events: `{ text }`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TextDelta {
    /// The chunk of text.
    pub text: Utf8Bytes,
}

/// Payload of `response.tool_call.started`: `{ tool, label }`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ToolCallStarted {
    /// The tool's name; the later `completed`/`failed` carries the same name.
    pub tool: Utf8Bytes,
    /// A human-readable description of the call.
    pub label: Utf8Bytes,
}

/// Payload of `response.tool_call.completed`: `{ tool, duration_ms }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCallCompleted {
    /// The tool's name: this closes the oldest open call of that tool.
    pub tool: Utf8Bytes,
    /// How long the call took, in milliseconds (non-negative).
    #[serde(serialize_with = "serialize_millis")]
    pub duration_ms: f64,
}

/// Payload of `response.tool_call.failed`: `{ tool, error }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCallFailed {
    /// The tool's name: this closes the oldest open call of that tool.
    pub tool: Utf8Bytes,
    /// Why the call failed.
    pub error: ToolError,
}

/// The `error` of a failed tool call: a string or an object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ToolError {
    /// A plain message.
    Message(Utf8Bytes),
    /// A structured error, kept whole.
    Object(serde_json::Map<String, serde_json::Value>),
}

impl ToolError {
    /// A message for a human: the string, or the object's `message` field.
    pub fn message(&self) -> Option<&str> {
        match self {
            ToolError::Message(message) => Some(message),
            ToolError::Object(object) => object.get("message")?.as_str(),
        }
    }
}

/// Payload of `response.completed`: `{ output_text, usage }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completed {
    /// The final answer.
    pub output_text: Utf8Bytes,
    /// Token counts and cost; `None` when the payload had `null`.
    pub usage: Option<Usage>,
}

/// Payload of `response.failed`: `{ error: { code, message, … } }`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Failed {
    /// Why the turn failed.
    pub error: ErrorObject,
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

impl ResponseEvent {
    /// Reads an SSE event: its type names the event, its data is the JSON
    /// payload. Names outside the table give [`ResponseEvent::Unknown`]
    /// (data not parsed). The event's strings are shared, not copied.
    ///
    /// This does not check the explicit `event:` field; an event without one
    /// is an `Unknown` named `message` here, and the
    /// [`Validator`](super::machine::Validator) reports it as `untyped-event`.
    pub fn from_sse(event: &sse::Event) -> Result<Self, PayloadErrors> {
        Self::from_sse_of(EventKind::of_sse(event), event)
    }

    /// [`from_sse`](Self::from_sse) for an event whose kind the caller
    /// already looked up.
    #[inline]
    pub(crate) fn from_sse_of(
        kind: Option<EventKind>,
        event: &sse::Event,
    ) -> Result<Self, PayloadErrors> {
        match kind {
            Some(kind) => Self::parse_known(kind, event.data_text()),
            None => Ok(UnknownEvent {
                name: event
                    .explicit_type_text()
                    .unwrap_or(Utf8Bytes::from_static("message")),
                data: event.data_text().clone(),
            }
            .into()),
        }
    }

    /// Reads an event from its name and JSON data.
    ///
    /// ```
    /// use agent37_stream::protocol::event::ResponseEvent;
    ///
    /// let event = ResponseEvent::parse("response.tool_call.started", r#"{"tool":"browser","label":"Searching"}"#)?;
    /// assert_eq!(event.name(), "response.tool_call.started");
    /// # Ok::<(), agent37_stream::protocol::event::PayloadErrors>(())
    /// ```
    pub fn parse(
        name: impl Into<Utf8Bytes>,
        data: impl Into<Utf8Bytes>,
    ) -> Result<Self, PayloadErrors> {
        let (name, data) = (name.into(), data.into());
        match EventKind::from_name(&name) {
            Some(kind) => Self::parse_known(kind, &data),
            None => Ok(UnknownEvent { name, data }.into()),
        }
    }

    /// Parses the payload of a known kind out of `data`.
    pub(crate) fn parse_known(kind: EventKind, data: &Utf8Bytes) -> Result<Self, PayloadErrors> {
        let bytes = data.as_bytes();
        match kind {
            EventKind::Created => de::parse::<de::CreatedFields>(bytes, data).map(Self::from),
            EventKind::ReasoningDelta => fast::text_delta(data).map(Self::ReasoningDelta),
            EventKind::OutputTextDelta => fast::text_delta(data).map(Self::OutputTextDelta),
            EventKind::ToolCallStarted => {
                de::parse::<de::StartedFields>(bytes, data).map(Self::from)
            }
            EventKind::ToolCallCompleted => {
                de::parse::<de::ToolCompletedFields>(bytes, data).map(Self::from)
            }
            EventKind::ToolCallFailed => {
                de::parse::<de::ToolFailedFields>(bytes, data).map(Self::from)
            }
            EventKind::Completed => fast::completed(data).map(Self::from),
            EventKind::Failed => de::parse::<de::FailedFields>(bytes, data).map(Self::from),
        }
    }

    /// The delta event of `kind`, which is one of the two delta kinds (any
    /// other is taken for the output text's), with `text`.
    #[inline]
    pub(crate) fn delta(kind: EventKind, text: Utf8Bytes) -> Self {
        let delta = TextDelta { text };
        match kind {
            EventKind::ReasoningDelta => Self::ReasoningDelta(delta),
            _ => Self::OutputTextDelta(delta),
        }
    }

    /// Which event this is; `None` for [`ResponseEvent::Unknown`].
    pub fn kind(&self) -> Option<EventKind> {
        Some(match self {
            ResponseEvent::Created(_) => EventKind::Created,
            ResponseEvent::ReasoningDelta(_) => EventKind::ReasoningDelta,
            ResponseEvent::OutputTextDelta(_) => EventKind::OutputTextDelta,
            ResponseEvent::ToolCallStarted(_) => EventKind::ToolCallStarted,
            ResponseEvent::ToolCallCompleted(_) => EventKind::ToolCallCompleted,
            ResponseEvent::ToolCallFailed(_) => EventKind::ToolCallFailed,
            ResponseEvent::Completed(_) => EventKind::Completed,
            ResponseEvent::Failed(_) => EventKind::Failed,
            ResponseEvent::Unknown(_) => return None,
        })
    }

    /// The event name (the raw name for [`ResponseEvent::Unknown`]).
    pub fn name(&self) -> &str {
        match self {
            ResponseEvent::Unknown(unknown) => &unknown.name,
            known => known.kind().map_or("", EventKind::name),
        }
    }

    /// Whether this event ends the stream.
    pub fn is_terminal(&self) -> bool {
        self.kind().is_some_and(EventKind::is_terminal)
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
            ResponseEvent::Unknown(unknown) => return unknown.data.to_string(),
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
        let name = match self {
            ResponseEvent::Unknown(unknown) => unknown.name.clone(),
            known => Utf8Bytes::from_static(known.name_static()),
        };
        sse::Event::new(name, self.data_json())
    }

    fn name_static(&self) -> &'static str {
        self.kind().map_or("message", EventKind::name)
    }
}

/// The serde form: `{"event": name, "data": payload}`.
#[derive(Serialize, Deserialize)]
struct Tagged<'a> {
    event: Cow<'a, str>,
    data: Box<serde_json::value::RawValue>,
}

impl Serialize for ResponseEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Unknown data is kept as it came: written as a JSON string.
        let json = match self {
            ResponseEvent::Unknown(unknown) => {
                serde_json::to_string(unknown.data.as_str()).map_err(serde::ser::Error::custom)?
            }
            known => known.data_json(),
        };
        let data =
            serde_json::value::RawValue::from_string(json).map_err(serde::ser::Error::custom)?;
        Tagged {
            event: Cow::Borrowed(self.name()),
            data,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ResponseEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let tagged = Tagged::deserialize(deserializer)?;
        let raw = tagged.data.get();
        match EventKind::from_name(&tagged.event) {
            Some(kind) => ResponseEvent::parse_known(kind, &Utf8Bytes::from(raw))
                .map_err(serde::de::Error::custom),
            None => {
                let data: String = serde_json::from_str(raw).map_err(serde::de::Error::custom)?;
                Ok(UnknownEvent {
                    name: Utf8Bytes::from(tagged.event.into_owned()),
                    data: Utf8Bytes::from(data),
                }
                .into())
            }
        }
    }
}

/// Both readers of a delta's payload: the fast path's result, then the
/// general reader's. They must always be equal; the `delta_fast_path` fuzz
/// target holds them to it. Not part of the API.
#[doc(hidden)]
pub fn __delta_readers(
    data: &Utf8Bytes,
) -> (
    Result<TextDelta, PayloadErrors>,
    Result<TextDelta, PayloadErrors>,
) {
    (fast::text_delta(data), fast::general(data))
}

/// Both readers of a `response.completed` payload, as
/// [`__delta_readers`]; the same fuzz target holds them equal. Not part of
/// the API.
#[doc(hidden)]
pub fn __completed_readers(
    data: &Utf8Bytes,
) -> (
    Result<Completed, PayloadErrors>,
    Result<Completed, PayloadErrors>,
) {
    (fast::completed(data), fast::general_completed(data))
}

/// The `tool` of a tool event whose payload is otherwise broken, so the
/// ordering rules can still pair the call (and not report a cascade).
pub(crate) fn lenient_tool_name(data: &Utf8Bytes) -> Option<Utf8Bytes> {
    de::parse::<de::ToolNameFields>(data.as_bytes(), data)
        .ok()
        .flatten()
        .map(|name| de::text(data, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::protocol::error::ErrorCode;
    use crate::protocol::rules::Rule;

    fn parse(name: &str, data: &str) -> Result<ResponseEvent, PayloadErrors> {
        ResponseEvent::parse(name, data)
    }

    /// The one reason `data` is broken.
    fn error(name: &str, data: &str) -> PayloadError {
        match parse(name, data) {
            Ok(event) => panic!("{data} parsed as {event:?}"),
            Err(errors) => {
                assert_eq!(errors.len(), 1, "{data}: {errors}");
                errors.first().clone()
            }
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
    fn strings_without_escapes_share_the_event_data() {
        let sse = sse::Event::new(
            "response.tool_call.started",
            r#"{"tool":"a-tool-with-a-long-name-not-inlined","label":"Sear\"ch"}"#,
        );
        let ResponseEvent::ToolCallStarted(call) = ResponseEvent::from_sse(&sse).unwrap() else {
            panic!("wrong kind");
        };
        let data = sse.data().as_bytes().as_ptr_range();
        assert!(data.contains(&call.tool.as_bytes().as_ptr()));
        assert_eq!(call.label, "Sear\"ch");
        assert!(
            !data.contains(&call.label.as_bytes().as_ptr()),
            "unescaped: its own buffer"
        );
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
            ResponseEvent::from(ToolCallStarted {
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
            ResponseEvent::from(Completed {
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
        let cost = |event: ResponseEvent| match event {
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
            ResponseEvent::from(Failed {
                error: ErrorObject {
                    code: ErrorCode::RateLimited,
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
            UnknownEvent {
                name: "response.queued".into(),
                data: "not json at all".into()
            }
            .into()
        );
        assert_eq!(event.name(), "response.queued");
        assert_eq!(event.kind(), None);
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
    fn every_broken_field_is_reported_in_table_order() {
        let errors = parse("response.created", r#"{"session_id":1,"instance_id":7}"#).unwrap_err();
        assert_eq!(
            errors.into_vec(),
            [
                PayloadError::MissingField { field: "id" },
                PayloadError::WrongType {
                    field: "instance_id",
                    expected: "a string",
                    found: JsonType::Number
                },
                PayloadError::WrongType {
                    field: "session_id",
                    expected: "a string",
                    found: JsonType::Number
                },
            ]
        );
        let errors = parse(
            "response.completed",
            r#"{"output_text":1,"usage":{"input_tokens":-1}}"#,
        )
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field().unwrap()).collect();
        assert_eq!(
            fields,
            ["output_text", "usage.input_tokens", "usage.output_tokens"]
        );
        assert_eq!(
            errors.to_string(),
            "field `output_text` is a number, expected a string; \
             field `usage.input_tokens` is -1, expected a non-negative integer; \
             missing required field `usage.output_tokens`"
        );
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
        let name = |data: &str| lenient_tool_name(&Utf8Bytes::from(data));
        assert_eq!(
            name(r#"{"tool":"browser","duration_ms":-1}"#).as_deref(),
            Some("browser")
        );
        assert_eq!(name(r#"{"tool":3}"#), None);
        assert_eq!(name("nope"), None);
    }

    #[test]
    fn typed_events_serialize_and_reparse() {
        let events = [
            ResponseEvent::from(Created {
                id: "0123456789abcdef0123456789abcdef".into(),
                instance_id: "inst".into(),
                session_id: "sess".into(),
            }),
            ResponseEvent::from(ToolCallCompleted {
                tool: "t".into(),
                duration_ms: 12.0,
            }),
            ResponseEvent::from(ToolCallCompleted {
                tool: "t".into(),
                duration_ms: 0.25,
            }),
            ResponseEvent::from(ToolCallFailed {
                tool: "t".into(),
                error: ToolError::Message("x\"y".into()),
            }),
            ResponseEvent::from(Completed {
                output_text: "line\nbreak".into(),
                usage: Some(Usage::new(1, 2)),
            }),
            ResponseEvent::from(Failed {
                error: ErrorObject::new("c", "m"),
            }),
        ];
        for event in events {
            let sse = event.to_sse();
            assert_eq!(ResponseEvent::from_sse(&sse).unwrap(), event);
        }
        let millis = ResponseEvent::from(ToolCallCompleted {
            tool: "t".into(),
            duration_ms: 12.0,
        });
        assert_eq!(millis.data_json(), r#"{"tool":"t","duration_ms":12}"#);
    }

    #[test]
    fn serde_writes_name_and_payload_and_reads_them_back() {
        let events = [
            parse("response.output_text.delta", r#"{"text":"a\"b"}"#).unwrap(),
            parse("response.tool_call.failed", r#"{"tool":"t","error":{"code":5}}"#).unwrap(),
            parse(
                "response.completed",
                r#"{"output_text":"x","usage":{"input_tokens":1,"output_tokens":2,"cost_usd":null}}"#,
            )
            .unwrap(),
            parse("response.queued", "not json").unwrap(),
        ];
        for event in events {
            let json = serde_json::to_string(&event).unwrap();
            assert!(json.starts_with(&format!(r#"{{"event":"{}","data":"#, event.name())));
            assert_eq!(
                serde_json::from_str::<ResponseEvent>(&json).unwrap(),
                event,
                "{json}"
            );
        }
        let broken = r#"{"event":"response.output_text.delta","data":{"text":1}}"#;
        let error = serde_json::from_str::<ResponseEvent>(broken).unwrap_err();
        assert!(error.to_string().contains("`text`"), "{error}");
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
