//! The `POST /v1/responses` request body ([the request](super::contract#the-request)), its
//! builder, and the server's validation rules as typed [`ApiError`]s.
//!
//! A client builds a [`CreateResponse`] and checks it with
//! [`CreateResponse::validate`] (the builder's [`build`](CreateResponseBuilder::build)
//! does); a server reads a raw body with [`CreateResponse::from_body`]. Both report
//! a broken rule as the very [`ApiError`] the gateway sends: `payload_too_large`
//! (413) or `validation_error` (400) with `param` naming the field.
//!
//! ```
//! use agent37_stream::protocol::error::ErrorCode;
//! use agent37_stream::protocol::request::{CreateResponse, ReasoningEffort};
//!
//! let request = CreateResponse::builder("Research the top 3 EV makers, write a memo.")
//!     .session_id("7f3e0b6c52a949d2b1c4a8e9d0f31726")
//!     .stream(true)
//!     .reasoning_effort(ReasoningEffort::High)
//!     .metadata_entry("user", "u_42")
//!     .build()?;
//! let body = serde_json::to_vec(&request).unwrap();
//!
//! // The server side reads the same request back.
//! assert_eq!(CreateResponse::from_body(&body)?, request);
//!
//! // And rejects what the gateway rejects, with the field at fault.
//! let err = CreateResponse::from_body(br#"{"input": "hi", "mode": "goal"}"#).unwrap_err();
//! assert_eq!(err.code(), Some(&ErrorCode::ValidationError));
//! assert_eq!(err.param(), Some("mode"));
//! assert_eq!(err.status(), 400);
//! # Ok::<(), agent37_stream::protocol::error::ApiError>(())
//! ```
//!
//! # Rules, in the order they are checked
//!
//! 1. The body is at most [`MAX_BODY_BYTES`], else `payload_too_large`.
//! 2. It is JSON, and a JSON object (`validation_error`, no `param`).
//! 3. Each field has its type, in this order: `input` (a string, required),
//!    `session_id`, `stream` (boolean), `model`, `provider`, `reasoning_effort`
//!    (one of [`ReasoningEffort`]), `metadata` (an object), `agent` (`hermes`),
//!    `mode` (`chat` or `goal`), `instance_id`. `param` names the first bad one.
//!    An optional field given as `null` counts as absent.
//! 4. `metadata` has at most [`MAX_METADATA_PAIRS`] pairs and serializes to at most
//!    [`MAX_METADATA_BYTES`].
//! 5. `mode` is not `goal` (reserved).
//!
//! Unknown fields are ignored, so a client newer than the server's schema keeps
//! working (the same forward compatibility the event payloads have).

use std::io;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::error::{ApiError, ErrorCode};
use super::wire::{self, Vocabulary, wire_enum};

/// The largest request body the gateway accepts: 2 MB, read as 2 × 1024 × 1024
/// bytes. One byte more is `payload_too_large`.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The most `metadata` pairs a request may carry.
pub const MAX_METADATA_PAIRS: usize = 16;

/// The largest `metadata` object, 64 KB read as 64 × 1024 bytes, measured as the
/// compact JSON serde_json writes for it (no whitespace, UTF-8 text unescaped),
/// braces included. Whitespace or escapes in the sender's own formatting do not
/// count.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;

wire_enum! {
    /// How hard the model thinks (`reasoning_effort`).
    #[non_exhaustive]
    pub enum ReasoningEffort {
        error UnknownReasoningEffort("a reasoning effort");
        None = "none", "no reasoning";
        Minimal = "minimal", "the least reasoning";
        Low = "low", "light reasoning";
        Medium = "medium", "moderate reasoning";
        High = "high", "thorough reasoning";
        XHigh = "xhigh", "the most reasoning";
    }
}

wire_enum! {
    /// Which agent runs the turn (`agent`). `hermes` is the default and, today,
    /// the only one.
    ///
    /// The vocabulary is open, because a response names the agent that ran
    /// the turn and a newer server may name one this crate does not know: it
    /// reads as [`Agent::Other`] and writes back the same name, so a client
    /// keeps working. A request, though, must name a known agent:
    /// [`CreateResponse::validate`] and [`CreateResponse::from_body`] refuse
    /// any other, as the gateway does.
    ///
    /// ```
    /// use agent37_stream::protocol::request::{Agent, CreateResponse};
    ///
    /// let agent: Agent = "openclaw".parse().unwrap();
    /// assert!(!agent.is_known());
    /// assert_eq!(serde_json::to_string(&agent).unwrap(), r#""openclaw""#);
    ///
    /// let request = CreateResponse::builder("hi").agent(agent).build_unchecked();
    /// assert_eq!(request.validate().unwrap_err().param(), Some("agent"));
    /// ```
    #[derive(Default)]
    #[non_exhaustive]
    pub enum Agent {
        open Other(OtherAgent);
        #[default]
        Hermes = "hermes", "the agent every turn runs today; the default";
    }
}

wire_enum! {
    /// How the turn runs (`mode`). `goal` parses, but
    /// [`CreateResponse::validate`] rejects it as the gateway does today.
    #[derive(Default)]
    #[non_exhaustive]
    pub enum Mode {
        error UnknownMode("a mode");
        #[default]
        Chat = "chat", "one turn, one reply; the default";
        Goal = "goal", "reserved: the gateway does not accept it yet";
    }
}

/// The body of `POST /v1/responses`.
///
/// Build one with [`CreateResponse::builder`] (or [`CreateResponse::new`]); read
/// one from raw bytes with [`CreateResponse::from_body`]. Serializing writes only
/// what differs from the defaults: absent options, `stream: false`, the default
/// `agent` and `mode` are left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CreateResponse {
    /// The message or task (required; text only).
    pub input: String,
    /// The conversation to continue; absent starts a new one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// `true` for a Server-Sent Events stream, `false` (the default) for one JSON
    /// body.
    #[serde(skip_serializing_if = "is_false")]
    pub stream: bool,
    /// The LLM for this turn; absent keeps the session's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The model's provider, e.g. `anthropic`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// How hard the model thinks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Key/value pairs echoed back on the response, never interpreted. Values may
    /// be any JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// Which agent runs the turn.
    #[serde(skip_serializing_if = "is_default")]
    pub agent: Agent,
    /// How the turn runs.
    #[serde(skip_serializing_if = "is_default")]
    pub mode: Mode,
    /// Accepted and ignored by the gateway: the URL names the instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

impl CreateResponse {
    /// A request with only `input`; every other field at its default.
    pub fn new(input: impl Into<String>) -> CreateResponse {
        CreateResponse {
            input: input.into(),
            session_id: None,
            stream: false,
            model: None,
            provider: None,
            reasoning_effort: None,
            metadata: None,
            agent: Agent::Hermes,
            mode: Mode::Chat,
            instance_id: None,
        }
    }

    /// Starts a builder for a request with this `input`.
    pub fn builder(input: impl Into<String>) -> CreateResponseBuilder {
        CreateResponseBuilder {
            request: CreateResponse::new(input),
        }
    }

    /// Checks the request against the gateway's rules, as the gateway would see its
    /// serialized body: the error is the one it would send.
    ///
    /// ```
    /// use agent37_stream::protocol::request::{CreateResponse, MAX_METADATA_PAIRS};
    ///
    /// let mut request = CreateResponse::new("hi");
    /// for i in 0..=MAX_METADATA_PAIRS {
    ///     request.metadata.get_or_insert_default().insert(format!("k{i}"), "v".into());
    /// }
    /// let err = request.validate().unwrap_err();
    /// assert_eq!(err.param(), Some("metadata"));
    /// ```
    pub fn validate(&self) -> Result<(), ApiError> {
        let len = serialized_len(self);
        if len > MAX_BODY_BYTES {
            return Err(too_large(len));
        }
        self.check_limits()
    }

    /// Reads a raw `POST /v1/responses` body the way the gateway does, applying
    /// every rule (see the [module docs](self)).
    ///
    /// ```
    /// use agent37_stream::protocol::request::CreateResponse;
    ///
    /// let err = CreateResponse::from_body(br#"{"input": 42}"#).unwrap_err();
    /// assert_eq!(err.param(), Some("input"));
    /// assert_eq!(err.to_json(), r#"{"error":{"code":"validation_error","message":"`input` must be a string, not a number","param":"input"}}"#);
    /// ```
    pub fn from_body(body: &[u8]) -> Result<CreateResponse, ApiError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(too_large(body.len()));
        }
        let value: Value = serde_json::from_slice(body)
            .map_err(|err| invalid(None, format!("the request body is not valid JSON: {err}")))?;
        let request = CreateResponse::from_value(&value)?;
        request.check_limits()?;
        Ok(request)
    }

    /// Rules 2 and 3: the shape and the field types.
    fn from_value(value: &Value) -> Result<CreateResponse, ApiError> {
        let Value::Object(body) = value else {
            return Err(invalid(
                None,
                format!(
                    "the request body must be a JSON object, not {}",
                    json_type(value)
                ),
            ));
        };
        let field = |name: &str| body.get(name).filter(|value| !value.is_null());
        let input = match body.get("input") {
            None => return Err(invalid(Some("input"), "`input` is required".to_owned())),
            Some(value) => string("input", value)?,
        };
        let text = |name: &str| field(name).map(|value| string(name, value)).transpose();
        let session_id = text("session_id")?;
        let stream = match field("stream") {
            None => false,
            Some(Value::Bool(stream)) => *stream,
            Some(other) => return Err(wrong_type("stream", "a boolean", other)),
        };
        let model = text("model")?;
        let provider = text("provider")?;
        let reasoning_effort = field("reasoning_effort")
            .map(|value| choice("reasoning_effort", value))
            .transpose()?;
        let metadata = match field("metadata") {
            None => None,
            Some(Value::Object(metadata)) => Some(metadata.clone()),
            Some(other) => return Err(wrong_type("metadata", "an object", other)),
        };
        let agent = field("agent")
            .map(|value| choice("agent", value))
            .transpose()?
            .unwrap_or_default();
        let mode = field("mode")
            .map(|value| choice("mode", value))
            .transpose()?
            .unwrap_or_default();
        let instance_id = text("instance_id")?;
        Ok(CreateResponse {
            input,
            session_id,
            stream,
            model,
            provider,
            reasoning_effort,
            metadata,
            agent,
            mode,
            instance_id,
        })
    }

    /// Rules 4 and 5, which a well-typed request can still break, and rule 3 for
    /// an `agent` this crate does not know.
    fn check_limits(&self) -> Result<(), ApiError> {
        // Only a request built in code gets here with an unknown agent (`from_value`
        // refuses one), and the gateway reads it as a rule 3 failure: so it comes first.
        if let Agent::Other(name) = &self.agent {
            return Err(not_one_of::<Agent>("agent", name.as_str()));
        }
        if let Some(metadata) = &self.metadata {
            if metadata.len() > MAX_METADATA_PAIRS {
                return Err(invalid(
                    Some("metadata"),
                    format!(
                        "`metadata` has {} pairs, more than the {MAX_METADATA_PAIRS} allowed",
                        metadata.len()
                    ),
                ));
            }
            let len = serialized_len(metadata);
            if len > MAX_METADATA_BYTES {
                return Err(invalid(
                    Some("metadata"),
                    format!(
                        "`metadata` is {len} bytes serialized, over the {MAX_METADATA_BYTES}-byte limit"
                    ),
                ));
            }
        }
        if self.mode == Mode::Goal {
            return Err(invalid(
                Some("mode"),
                "`mode` \"goal\" is reserved and not accepted yet; use \"chat\"".to_owned(),
            ));
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for CreateResponse {
    /// Applies the shape and type rules of [`CreateResponse::from_body`] (not the
    /// size limits, nor the `goal` rejection).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        CreateResponse::from_value(&value).map_err(|err| serde::de::Error::custom(err.message()))
    }
}

/// Builds a [`CreateResponse`]; start with [`CreateResponse::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct CreateResponseBuilder {
    request: CreateResponse,
}

impl CreateResponseBuilder {
    /// Continues this conversation.
    pub fn session_id(mut self, session_id: impl Into<String>) -> Self {
        self.request.session_id = Some(session_id.into());
        self
    }

    /// Asks for a Server-Sent Events stream (`true`) or one JSON body (`false`).
    pub fn stream(mut self, stream: bool) -> Self {
        self.request.stream = stream;
        self
    }

    /// Runs the turn on this model.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.request.model = Some(model.into());
        self
    }

    /// Sets the model's provider.
    pub fn provider(mut self, provider: impl Into<String>) -> Self {
        self.request.provider = Some(provider.into());
        self
    }

    /// Sets how hard the model thinks.
    pub fn reasoning_effort(mut self, effort: ReasoningEffort) -> Self {
        self.request.reasoning_effort = Some(effort);
        self
    }

    /// Replaces the whole `metadata` object.
    pub fn metadata(mut self, metadata: Map<String, Value>) -> Self {
        self.request.metadata = Some(metadata);
        self
    }

    /// Adds (or replaces) one `metadata` pair.
    pub fn metadata_entry(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.request
            .metadata
            .get_or_insert_default()
            .insert(key.into(), value.into());
        self
    }

    /// Chooses the agent.
    pub fn agent(mut self, agent: Agent) -> Self {
        self.request.agent = agent;
        self
    }

    /// Chooses the mode.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.request.mode = mode;
        self
    }

    /// Sets `instance_id`, which the gateway accepts and ignores.
    pub fn instance_id(mut self, instance_id: impl Into<String>) -> Self {
        self.request.instance_id = Some(instance_id.into());
        self
    }

    /// The request, checked with [`CreateResponse::validate`].
    pub fn build(self) -> Result<CreateResponse, ApiError> {
        self.request.validate()?;
        Ok(self.request)
    }

    /// The request as it stands, unchecked (e.g. to test that a server rejects it).
    pub fn build_unchecked(self) -> CreateResponse {
        self.request
    }
}

fn invalid(param: Option<&str>, message: String) -> ApiError {
    let err = ApiError::gateway(ErrorCode::ValidationError, message);
    match param {
        Some(param) => err.with_param(param),
        None => err,
    }
}

fn too_large(len: usize) -> ApiError {
    ApiError::gateway(
        ErrorCode::PayloadTooLarge,
        format!("the request body is {len} bytes, over the {MAX_BODY_BYTES}-byte limit"),
    )
}

fn wrong_type(name: &str, expected: &str, value: &Value) -> ApiError {
    invalid(
        Some(name),
        format!("`{name}` must be {expected}, not {}", json_type(value)),
    )
}

fn string(name: &str, value: &Value) -> Result<String, ApiError> {
    match value {
        Value::String(text) => Ok(text.clone()),
        other => Err(wrong_type(name, "a string", other)),
    }
}

/// A field that holds one of a table's names; a name outside the table is a
/// validation error, even in an open vocabulary such as [`Agent`].
fn choice<T: Vocabulary>(name: &str, value: &Value) -> Result<T, ApiError> {
    match value {
        Value::String(text) => T::lookup(text).ok_or_else(|| not_one_of::<T>(name, text)),
        other => Err(wrong_type(name, "a string", other)),
    }
}

/// The gateway's error for a `field` whose `value` is not in `T`'s table, listing
/// the table's names.
fn not_one_of<T: Vocabulary>(field: &str, value: &str) -> ApiError {
    let expected = wire::names::<T>().collect::<Vec<_>>().join(", ");
    invalid(
        Some(field),
        format!("`{field}` must be one of {expected}; got {value:?}"),
    )
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The length of `value`'s compact JSON, counted without keeping the bytes.
fn serialized_len(value: &impl Serialize) -> usize {
    struct Counter(usize);

    impl io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 = self.0.saturating_add(buf.len());
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    let mut counter = Counter(0);
    // Maps with string keys, strings, numbers and booleans always serialize; were
    // it ever to fail, counting it as too large errs on the side the server takes.
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => usize::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serialized_len_counts_compact_json() {
        assert_eq!(serialized_len(&json!({"a": "b"})), br#"{"a":"b"}"#.len());
        assert_eq!(serialized_len(&json!({})), 2);
        // Non-ASCII text is written raw, so it counts its UTF-8 bytes.
        assert_eq!(serialized_len(&json!("é")), 4);
    }

    #[test]
    fn wire_enums_round_trip_every_value() {
        for &effort in ReasoningEffort::ALL {
            let text = effort.as_str();
            assert_eq!(text.parse::<ReasoningEffort>(), Ok(effort));
            assert_eq!(effort.to_string(), text);
            assert_eq!(serde_json::to_value(effort).unwrap(), json!(text));
            assert_eq!(
                serde_json::from_value::<ReasoningEffort>(json!(text)).unwrap(),
                effort
            );
        }
        for agent in Agent::ALL {
            assert_eq!(agent.as_str().parse::<Agent>().as_ref(), Ok(agent));
            assert_eq!(agent.to_string(), agent.as_str());
            assert_eq!(serde_json::to_value(agent).unwrap(), json!(agent.as_str()));
            assert_eq!(
                &serde_json::from_value::<Agent>(json!(agent.as_str())).unwrap(),
                agent
            );
        }
        for &mode in Mode::ALL {
            assert_eq!(mode.as_str().parse::<Mode>(), Ok(mode));
            assert_eq!(serde_json::to_value(mode).unwrap(), json!(mode.as_str()));
        }
        let names = |all: Vec<&str>| all.join(" ");
        assert_eq!(
            names(wire::names::<ReasoningEffort>().collect()),
            "none minimal low medium high xhigh"
        );
        assert_eq!(names(wire::names::<Agent>().collect()), "hermes");
        assert_eq!(names(wire::names::<Mode>().collect()), "chat goal");
        assert_eq!(Agent::default(), Agent::Hermes);
        assert_eq!(Mode::default(), Mode::Chat);
    }

    #[test]
    fn closed_wire_enums_reject_near_misses() {
        for bad in ["High", "x-high", "xHigh", " high", "", "extreme"] {
            assert_eq!(
                bad.parse::<ReasoningEffort>(),
                Err(UnknownReasoningEffort(bad.to_owned()))
            );
        }
        assert!(serde_json::from_value::<Mode>(json!("Chat")).is_err());
    }

    #[test]
    fn an_unknown_agent_parses_but_a_request_refuses_it() {
        let agent: Agent = serde_json::from_value(json!("openclaw")).unwrap();
        assert!(matches!(&agent, Agent::Other(name) if name.as_str() == "openclaw"));
        assert_eq!(serde_json::to_value(&agent).unwrap(), json!("openclaw"));
        let near_miss: Agent = "Hermes".parse().unwrap();
        assert!(!near_miss.is_known());
        let err = choice::<Agent>("agent", &json!("openclaw")).unwrap_err();
        assert_eq!(err.param(), Some("agent"));
        assert_eq!(
            err.message(),
            r#"`agent` must be one of hermes; got "openclaw""#
        );
    }

    #[test]
    fn not_one_of_lists_the_table() {
        let err = not_one_of::<Mode>("mode", "agentic");
        assert_eq!(err.code(), Some(&ErrorCode::ValidationError));
        assert_eq!(
            err.message(),
            r#"`mode` must be one of chat, goal; got "agentic""#
        );
        let err = not_one_of::<ReasoningEffort>("reasoning_effort", "a\"b");
        let listed = ReasoningEffort::ALL
            .iter()
            .map(|effort| effort.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        assert!(err.message().contains(&listed), "{}", err.message());
        assert!(
            err.message().ends_with(r#"got "a\"b""#),
            "{}",
            err.message()
        );
    }

    #[test]
    fn json_type_names_every_kind() {
        let kinds: Vec<_> = [
            json!(null),
            json!(true),
            json!(1),
            json!("s"),
            json!([]),
            json!({}),
        ]
        .iter()
        .map(json_type)
        .collect();
        assert_eq!(
            kinds,
            [
                "null",
                "a boolean",
                "a number",
                "a string",
                "an array",
                "an object"
            ]
        );
    }

    #[test]
    fn defaults_are_left_out_of_the_body() {
        let body = serde_json::to_value(CreateResponse::new("hi")).unwrap();
        assert_eq!(body, json!({"input": "hi"}));
    }
}
