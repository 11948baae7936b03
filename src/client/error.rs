//! [`ClientError`]: why a call of the [`Client`](super::Client) failed.

use crate::protocol::error::ApiError;
use crate::protocol::event::PayloadErrors;
use crate::protocol::response::Response;
use crate::protocol::rules::Finding;

/// Why a call of the [`Client`](super::Client), or an item of a
/// [`TurnStream`](super::TurnStream), failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The API answered with an error (after the retries the policy allows,
    /// for retryable ones), or the request failed local validation: branch on
    /// [`ApiError::code`].
    #[error(transparent)]
    Api(ApiError),
    /// The HTTP exchange failed: no connection, a timeout, a broken body.
    /// Not retried for a request (a `POST` that may have reached the server
    /// must not start a second turn); a stream's reconnection that fails so
    /// counts as one of its attempts.
    #[error("HTTP: {0}")]
    Http(#[source] reqwest::Error),
    /// A 2xx answer whose body is not the expected JSON object.
    #[error("unreadable response body: {0}")]
    Body(#[source] serde_json::Error),
    /// The stream broke the contract. The stream goes on (the offending event
    /// is skipped), except after a `replay-diverged` finding, which ends it.
    #[error("{0}")]
    Contract(Finding),
    /// An event's payload broke the contract; the event is skipped.
    #[error("{errors}")]
    Payload {
        /// The findings, one per reason, with the event's index and position.
        findings: Vec<Finding>,
        /// What is wrong, field by field, in the same order.
        errors: PayloadErrors,
    },
    /// The connection dropped and the turn could not be resumed: before
    /// `response.created` (no response id to reconnect to; sending the
    /// request again would start a second turn), or after the reconnections
    /// the policy allows.
    #[error("the stream dropped ({reason}) and could not be resumed: {}", match response_id {
        Some(id) => format!("gave up after {reconnects} reconnection(s) to response {id}"),
        None => "no response.created yet, so no response id to reconnect to".to_owned(),
    })]
    Disconnected {
        /// The response id, when `response.created` had come.
        response_id: Option<String>,
        /// The reconnections made.
        reconnects: u32,
        /// Why the last connection ended.
        reason: String,
    },
    /// The turn was cancelled (`POST /v1/responses/{id}/cancel`) before its
    /// terminal event: its stream ended with none. The response object, with
    /// status `cancelled`.
    #[error("the turn was cancelled (response {})", .0.id)]
    Cancelled(Box<Response>),
    /// The client is misconfigured: no API key, a base URL that is not
    /// `http(s)://…`, an empty or malformed id.
    #[error("{0}")]
    Config(String),
}

impl ClientError {
    /// The API error, when the API refused the call.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            ClientError::Api(err) => Some(err),
            _ => None,
        }
    }

    /// The contract finding, for [`Contract`](Self::Contract) and
    /// [`Payload`](Self::Payload) errors.
    pub fn finding(&self) -> Option<&Finding> {
        match self {
            ClientError::Contract(finding) => Some(finding),
            ClientError::Payload { findings, .. } => findings.first(),
            _ => None,
        }
    }
}

impl From<ApiError> for ClientError {
    fn from(err: ApiError) -> Self {
        ClientError::Api(err)
    }
}

impl From<reqwest::Error> for ClientError {
    fn from(err: reqwest::Error) -> Self {
        ClientError::Http(err)
    }
}
