//! The response object of `POST /v1/responses` and `GET /v1/responses/{id}`
//! ([the response object](super::contract#the-response-object)), and the [`Usage`] and [`ErrorObject`] it
//! shares with the streamed events.
//!
//! The types serialize back to the JSON they were read from: fields in the
//! documented order, `null` kept as `null`, `cost_usd` absent when it was
//! absent. (`metadata` is a [`serde_json::Map`]: its keys keep their order
//! only when `serde_json`'s `preserve_order` feature is on.)
//!
//! ```
//! use agent37_stream::protocol::request::Agent;
//! use agent37_stream::protocol::response::{Response, Status};
//!
//! let json = r#"{"id":"c91d2a7e84f04b6f9a3d5e1c0b87f4a2","session_id":"7f3e0b6c52a949d2b1c4a8e9d0f31726","status":"completed","agent":"hermes","model":null,"provider":null,"output_text":"Done.","usage":{"input_tokens":12,"output_tokens":3},"error":null,"metadata":null,"created":1718000000000}"#;
//! let response: Response = serde_json::from_str(json)?;
//! assert_eq!(response.status, Status::Completed);
//! assert_eq!(response.agent, Agent::Hermes);
//! assert_eq!(serde_json::to_string(&response)?, json);
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::ErrorCode;
use super::request::Agent;
use super::wire::wire_enum;

/// The response object: one agentic turn.
///
/// Field order is the documented one, and serialization writes every field,
/// `null` included, so a response read from JSON writes back the same JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The response id (32 hex characters): used to fetch, reconnect or cancel.
    pub id: String,
    /// The conversation the turn belongs to.
    pub session_id: String,
    /// Where the turn is: [`Status::InProgress`], then exactly one terminal status.
    pub status: Status,
    /// The agent that ran the turn (`hermes` today). One a newer server names
    /// and this crate does not know is kept as [`Agent::Other`], and written
    /// back as it came.
    pub agent: Agent,
    /// The model the turn ran on, `None` (`null`) when none was set.
    pub model: Option<String>,
    /// The model's provider, `None` (`null`) when none was set.
    pub provider: Option<String>,
    /// The final answer; empty when the turn produced none.
    pub output_text: String,
    /// Token counts and cost, `None` (`null`) when not reported.
    pub usage: Option<Usage>,
    /// Why the turn failed; set when `status` is [`Status::Failed`].
    pub error: Option<ErrorObject>,
    /// The request's metadata, echoed back.
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// When the turn started, in milliseconds since the Unix epoch.
    pub created: u64,
}

impl Response {
    /// Whether the turn has reached its final status.
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }
}

wire_enum! {
    /// The status of a turn: `in_progress`, then exactly one terminal status.
    ///
    /// ```
    /// use agent37_stream::protocol::response::Status;
    ///
    /// let status: Status = "failed".parse().unwrap();
    /// assert!(status.is_terminal());
    /// assert_eq!(status.to_string(), "failed");
    /// ```
    #[non_exhaustive]
    pub enum Status {
        error UnknownStatus("a response status");
        InProgress = "in_progress", "the turn is running";
        Completed = "completed", "the turn finished and `output_text` holds the answer";
        Failed = "failed", "the turn ended on an error; `error` says why";
        Cancelled = "cancelled", "the turn was stopped by a cancel request";
    }
}

impl Status {
    /// Whether the status is final (anything but `in_progress`).
    pub const fn is_terminal(self) -> bool {
        !matches!(self, Status::InProgress)
    }
}

/// Token counts and cost of a turn: `{ input_tokens, output_tokens, cost_usd }`.
///
/// `cost_usd` has three states, because the API sends it absent or `null`
/// when the provider reported no cost and a round trip must keep which:
/// `None` = absent, `Some(None)` = `null`, `Some(Some(n))` = a number (kept
/// as [`serde_json::Number`] so `1` stays `1` and `0.25` stays `0.25`).
///
/// ```
/// use agent37_stream::protocol::response::Usage;
///
/// let usage: Usage = serde_json::from_str(r#"{"input_tokens":10,"output_tokens":2,"cost_usd":0.25}"#)?;
/// assert_eq!(usage.cost(), Some(0.25));
/// let no_cost: Usage = serde_json::from_str(r#"{"input_tokens":10,"output_tokens":2,"cost_usd":null}"#)?;
/// assert_eq!(no_cost.cost(), None);
/// assert_eq!(serde_json::to_string(&no_cost)?, r#"{"input_tokens":10,"output_tokens":2,"cost_usd":null}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens read by the model.
    pub input_tokens: u64,
    /// Tokens written by the model.
    pub output_tokens: u64,
    /// The cost in US dollars: absent (`None`), `null` (`Some(None)`) or a
    /// non-negative number.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "present_or_null"
    )]
    pub cost_usd: Option<Option<serde_json::Number>>,
}

impl Usage {
    /// Usage with the two token counts and no `cost_usd` field.
    pub const fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Usage {
            input_tokens,
            output_tokens,
            cost_usd: None,
        }
    }

    /// The reported cost in US dollars, when there is one.
    pub fn cost(&self) -> Option<f64> {
        self.cost_usd.as_ref()?.as_ref()?.as_f64()
    }
}

/// Serde glue that tells an absent field (`None`, via `#[serde(default)]`)
/// from an explicit `null` (`Some(None)`).
mod present_or_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        value: &Option<Option<T>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

/// The error of a failed turn: `{ code, message, param?, hint? }`.
///
/// `code` is kept as the string that came (unknown codes are never a parse
/// failure); branch on it, show `message` to a human.
///
/// ```
/// use agent37_stream::protocol::response::ErrorObject;
///
/// let error = ErrorObject::new("rate_limited", "Too many requests.");
/// assert_eq!(serde_json::to_string(&error)?, r#"{"code":"rate_limited","message":"Too many requests."}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The stable, machine-readable error code (an unknown one kept as it came).
    pub code: ErrorCode,
    /// A human-readable description.
    pub message: String,
    /// The request field that was invalid, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// A suggested next step, when one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl ErrorObject {
    /// An error with a code and a message, no `param` or `hint`.
    pub fn new(code: impl Into<ErrorCode>, message: impl Into<String>) -> Self {
        ErrorObject {
            code: code.into(),
            message: message.into(),
            param: None,
            hint: None,
        }
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(json: &str) {
        let parsed: Response = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), json);
    }

    #[test]
    fn completed_response_round_trips_exactly() {
        round_trip(
            r#"{"id":"c91d2a7e84f04b6f9a3d5e1c0b87f4a2","session_id":"7f3e0b6c52a949d2b1c4a8e9d0f31726","status":"completed","agent":"hermes","model":"claude-sonnet-4","provider":"anthropic","output_text":"Memo attached.","usage":{"input_tokens":1520,"output_tokens":340,"cost_usd":0.0123},"error":null,"metadata":{"team":"ev","user":"u_42"},"created":1718000000000}"#,
        );
    }

    #[test]
    fn failed_response_with_nulls_round_trips_exactly() {
        round_trip(
            r#"{"id":"c91d2a7e84f04b6f9a3d5e1c0b87f4a2","session_id":"7f3e0b6c52a949d2b1c4a8e9d0f31726","status":"failed","agent":"hermes","model":null,"provider":null,"output_text":"","usage":null,"error":{"code":"rate_limited","message":"Too many requests.","hint":"Retry later."},"metadata":null,"created":1718000000001}"#,
        );
    }

    #[test]
    fn an_agent_from_a_newer_server_round_trips() {
        let json = r#"{"id":"c91d2a7e84f04b6f9a3d5e1c0b87f4a2","session_id":"7f3e0b6c52a949d2b1c4a8e9d0f31726","status":"completed","agent":"openclaw-2","model":null,"provider":null,"output_text":"","usage":null,"error":null,"metadata":null,"created":1}"#;
        let parsed: Response = serde_json::from_str(json).unwrap();
        assert!(matches!(&parsed.agent, Agent::Other(name) if name.as_str() == "openclaw-2"));
        assert_eq!(parsed.agent, "openclaw-2");
        round_trip(json);
        let hermes: Response = serde_json::from_str(&json.replace("openclaw-2", "hermes")).unwrap();
        assert_eq!(hermes.agent, Agent::Hermes);
    }

    #[test]
    fn cost_absent_null_and_integer_are_kept_apart() {
        for json in [
            r#"{"input_tokens":1,"output_tokens":2}"#,
            r#"{"input_tokens":1,"output_tokens":2,"cost_usd":null}"#,
            r#"{"input_tokens":1,"output_tokens":2,"cost_usd":1}"#,
            r#"{"input_tokens":1,"output_tokens":2,"cost_usd":1.5}"#,
        ] {
            let usage: Usage = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::to_string(&usage).unwrap(), json);
        }
    }

    #[test]
    fn pretty_spec_style_json_parses() {
        let json = r#"{
            "id": "c91d2a7e84f04b6f9a3d5e1c0b87f4a2",
            "session_id": "7f3e0b6c52a949d2b1c4a8e9d0f31726",
            "status": "in_progress",
            "agent": "hermes",
            "model": null,
            "provider": null,
            "output_text": "",
            "usage": null,
            "error": null,
            "metadata": {"k": "v"},
            "created": 5
        }"#;
        let parsed: Response = serde_json::from_str(json).unwrap();
        assert_eq!(parsed.status, Status::InProgress);
        assert!(!parsed.is_terminal());
        assert_eq!(parsed.metadata.unwrap()["k"], "v");
    }

    #[test]
    fn status_names_round_trip() {
        for status in [
            Status::InProgress,
            Status::Completed,
            Status::Failed,
            Status::Cancelled,
        ] {
            assert_eq!(status.as_str().parse::<Status>().unwrap(), status);
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{status}\""));
        }
        assert_eq!(
            "done".parse::<Status>(),
            Err(UnknownStatus("done".to_owned()))
        );
    }

    #[test]
    fn missing_required_field_is_rejected() {
        let json = r#"{"id":"a","status":"completed"}"#;
        assert!(serde_json::from_str::<Response>(json).is_err());
    }
}
