//! The two error envelopes of the agent37 APIs ([error envelopes](super::contract#error-envelopes)) as one typed
//! [`ApiError`].
//!
//! The gateway / hosting API answers `{"error": {"code", "message", "param"?, "hint"?}}`;
//! the Agents SDK answers `{"error": {"code", "message", "status", "retryAfter"?}}`.
//! Both carry a stable `code`, which is what a client should branch on: see
//! [`ErrorCode`]. [`ApiError::from_response`] reads either envelope (and bodies that
//! carry none, such as a proxy's HTML error page) without ever failing, and
//! [`ApiError::gateway`] / [`ApiError::agents_sdk`] build one for a server to send.
//!
//! ```
//! use agent37_stream::protocol::error::{ApiError, ErrorCode};
//! use std::time::Duration;
//!
//! let body = br#"{"error":{"code":"rate_limited","message":"Too many requests."}}"#;
//! let err = ApiError::from_response(429, Some("30"), body);
//!
//! assert_eq!(err.code(), Some(&ErrorCode::RateLimited));
//! assert!(err.is_retryable());
//! assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
//! match err.code() {
//!     Some(ErrorCode::SessionBusy) => { /* cancel the running turn first */ }
//!     Some(code) if code.is_billing() => { /* send the user to the dashboard */ }
//!     _ if err.is_retryable() => { /* back off, then retry */ }
//!     _ => { /* show err.message() */ }
//! }
//! ```

use std::convert::Infallible;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Declares [`ErrorCode`] from one table: each row's variant, wire code,
/// envelope and documented HTTP status.
macro_rules! error_codes {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $wire:literal, $envelope:ident, $status:expr;
    )+) => {
        /// The stable, machine-readable `error.code` of either envelope.
        ///
        /// Unknown codes are kept exactly as they came in [`ErrorCode::Other`]; parsing
        /// never fails. Build one with [`ErrorCode::from`] or [`str::parse`] rather than
        /// writing `Other(..)` by hand, so that a known code gets its own variant.
        /// Equality and hashing compare [`ErrorCode::as_str`], so a hand-made
        /// `Other("rate_limited")` still equals [`ErrorCode::RateLimited`].
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)+
            /// A code neither vocabulary documents, kept exactly as received.
            Other(String),
        }

        impl ErrorCode {
            /// The code as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ErrorCode::$variant => $wire,)+
                    ErrorCode::Other(code) => code,
                }
            }

            /// The code's variant when it is a known one, without allocating.
            fn known(code: &str) -> Option<ErrorCode> {
                Some(match code {
                    $($wire => ErrorCode::$variant,)+
                    _ => return None,
                })
            }

            /// Which envelope's vocabulary documents this code; `None` for [`ErrorCode::Other`].
            pub fn envelope(&self) -> Option<Envelope> {
                match self {
                    $(ErrorCode::$variant => Some(Envelope::$envelope),)+
                    ErrorCode::Other(_) => None,
                }
            }

            /// The HTTP status the documentation gives this code.
            ///
            /// The gateway table names a status per code. The Agents SDK documents its
            /// statuses and codes in two separate tables; a code gets the status whose
            /// description matches it. `sandbox_error` (500 or 503) and `budget_exceeded`
            /// (no status documented) have none, nor has [`ErrorCode::Other`].
            pub fn http_status(&self) -> Option<u16> {
                match self {
                    $(ErrorCode::$variant => $status,)+
                    ErrorCode::Other(_) => None,
                }
            }
        }
    };
}

error_codes! {
    // Gateway / hosting API.
    /// `invalid_api_key` (401): missing, malformed or revoked key.
    InvalidApiKey = "invalid_api_key", Gateway, Some(401);
    /// `insufficient_balance` (402): the balance cannot cover this. Billing.
    InsufficientBalance = "insufficient_balance", Gateway, Some(402);
    /// `instance_cap_reached` (402): the instance hit its managed-usage cap. Billing.
    InstanceCapReached = "instance_cap_reached", Gateway, Some(402);
    /// `instance_not_found` (404): no instance with that id on the account.
    InstanceNotFound = "instance_not_found", Gateway, Some(404);
    /// `session_not_found` (404): unknown `session_id`.
    SessionNotFound = "session_not_found", Gateway, Some(404);
    /// `instance_not_running` (409): wait for the instance to run, then retry.
    InstanceNotRunning = "instance_not_running", Gateway, Some(409);
    /// `session_busy` (409): a response is already running on this session.
    SessionBusy = "session_busy", Gateway, Some(409);
    /// `payload_too_large` (413): the request body is over the size limit.
    PayloadTooLarge = "payload_too_large", Gateway, Some(413);
    /// `rate_limited` (429): retry after the `Retry-After` header.
    RateLimited = "rate_limited", Gateway, Some(429);
    /// `validation_error` (400): a request field was invalid; `param` names it.
    ValidationError = "validation_error", Gateway, Some(400);
    /// `insufficient_capacity` (503): no room to provision right now; retryable.
    InsufficientCapacity = "insufficient_capacity", Gateway, Some(503);
    // Agents SDK.
    /// `invalid_request` (400): the body is malformed or misses required fields.
    InvalidRequest = "invalid_request", AgentsSdk, Some(400);
    /// `unauthorized` (401): the API key is invalid, expired or missing.
    Unauthorized = "unauthorized", AgentsSdk, Some(401);
    /// `forbidden` (403): the key lacks permission for this operation.
    Forbidden = "forbidden", AgentsSdk, Some(403);
    /// `not_found` (404): the resource does not exist.
    NotFound = "not_found", AgentsSdk, Some(404);
    /// `rate_limit_exceeded` (429): retry after `retryAfter` seconds.
    RateLimitExceeded = "rate_limit_exceeded", AgentsSdk, Some(429);
    /// `sandbox_error`: the sandbox hit a runtime error (500, or 503 when the
    /// runtime is temporarily unavailable, which is retryable).
    SandboxError = "sandbox_error", AgentsSdk, None;
    /// `budget_exceeded`: the request exceeded its `maxBudgetUsd` limit.
    BudgetExceeded = "budget_exceeded", AgentsSdk, None;
    /// `stream_active` (409): a stream is already active for this sandbox.
    StreamActive = "stream_active", AgentsSdk, Some(409);
}

/// Which of the two error envelopes a body used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Envelope {
    /// `{"error": {"code", "message", "param"?, "hint"?}}` (gateway, hosting API).
    Gateway,
    /// `{"error": {"code", "message", "status", "retryAfter"?}}` (Agents SDK).
    AgentsSdk,
}

impl ErrorCode {
    /// Whether the code is one of the documented ones (not [`ErrorCode::Other`]).
    pub fn is_known(&self) -> bool {
        self.envelope().is_some()
    }

    /// Whether the code alone says a retry (after a wait) may succeed:
    /// `rate_limited`, `rate_limit_exceeded` and `insufficient_capacity`.
    ///
    /// `sandbox_error` is retryable only with status 503, which the code alone
    /// cannot tell: [`ApiError::is_retryable`] looks at the status too.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ErrorCode::RateLimited | ErrorCode::RateLimitExceeded | ErrorCode::InsufficientCapacity
        )
    }

    /// Whether the code is a billing limit (the 402 codes `insufficient_balance` and
    /// `instance_cap_reached`): not a bug, never retried; point the user to the
    /// dashboard.
    pub fn is_billing(&self) -> bool {
        matches!(
            self,
            ErrorCode::InsufficientBalance | ErrorCode::InstanceCapReached
        )
    }
}

impl FromStr for ErrorCode {
    type Err = Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ErrorCode::from(s))
    }
}

impl From<&str> for ErrorCode {
    fn from(code: &str) -> Self {
        ErrorCode::known(code).unwrap_or_else(|| ErrorCode::Other(code.to_owned()))
    }
}

impl From<String> for ErrorCode {
    fn from(code: String) -> Self {
        ErrorCode::known(&code).unwrap_or(ErrorCode::Other(code))
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for ErrorCode {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ErrorCode {}

impl Hash for ErrorCode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = ErrorCode;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an error code string")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ErrorCode, E> {
                Ok(ErrorCode::from(v))
            }

            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<ErrorCode, E> {
                Ok(ErrorCode::from(v))
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}

/// How many characters of a body without an envelope [`ApiError`] keeps.
const EXCERPT_CHARS: usize = 200;

/// The code a body without an envelope is given when it is serialized again.
const NO_ENVELOPE_CODE: &str = "http_error";

/// The one typed error a client gets from a failed HTTP call to either agent37 API,
/// and the error a server sends.
///
/// Read one with [`ApiError::from_response`]; build one with [`ApiError::gateway`]
/// or [`ApiError::agents_sdk`] and send [`ApiError::to_json`] with
/// [`ApiError::status`]. Branch on [`ApiError::code`]; show
/// [`ApiError::message`] to a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError(Box<Repr>);

// Boxed so that `Result<T, ApiError>` stays one pointer wide on the happy path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Repr {
    status: u16,
    retry_after_header: Option<RetryAfter>,
    body: Body,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Body {
    Envelope(Envelope, Fields),
    Missing(Missing),
}

/// The fields of either envelope; each is kept whatever envelope it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fields {
    code: ErrorCode,
    message: String,
    param: Option<String>,
    hint: Option<String>,
    status: Option<u16>,
    retry_after: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Missing {
    reason: MissingReason,
    excerpt: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MissingReason {
    Empty,
    NotJson,
    NoErrorObject,
}

impl MissingReason {
    fn message(self) -> &'static str {
        match self {
            MissingReason::Empty => "the response body is empty",
            MissingReason::NotJson => "the response body is not JSON",
            MissingReason::NoErrorObject => {
                "the response body has no `error` object with a string `code`"
            }
        }
    }
}

/// A parsed `Retry-After` header: delta-seconds or an HTTP-date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RetryAfter {
    Delay(Duration),
    At(SystemTime),
}

impl ApiError {
    /// Reads the error of a failed HTTP response: its status, its `Retry-After`
    /// header (if any) and its body.
    ///
    /// Understands both envelopes. A body with `status` or `retryAfter` in its
    /// `error` object is the Agents SDK envelope; one with `param` or `hint` is the
    /// gateway envelope; otherwise the code's vocabulary decides, and an unknown
    /// code with neither is taken as the gateway envelope. Fields of the wrong JSON
    /// type are dropped rather than failing the parse.
    ///
    /// Never fails: a body with no envelope (empty, not JSON, an HTML page from a
    /// proxy, JSON with no `error` object carrying a string `code`) gives an error
    /// with no [`code`](ApiError::code), the HTTP status, and a short excerpt of
    /// the body ([`ApiError::body_excerpt`]).
    ///
    /// ```
    /// use agent37_stream::protocol::error::{ApiError, Envelope, ErrorCode};
    ///
    /// let body = br#"{"error":{"code":"validation_error","message":"input is required","param":"input"}}"#;
    /// let err = ApiError::from_response(400, None, body);
    /// assert_eq!(err.envelope(), Some(Envelope::Gateway));
    /// assert_eq!(err.code(), Some(&ErrorCode::ValidationError));
    /// assert_eq!(err.param(), Some("input"));
    ///
    /// let html = b"<html><body><h1>502 Bad Gateway</h1></body></html>";
    /// let err = ApiError::from_response(502, None, html);
    /// assert_eq!(err.code(), None);
    /// assert_eq!(err.status(), 502);
    /// assert!(err.body_excerpt().unwrap().contains("502 Bad Gateway"));
    /// ```
    pub fn from_response(status: u16, retry_after_header: Option<&str>, body: &[u8]) -> ApiError {
        ApiError(Box::new(Repr {
            status,
            retry_after_header: retry_after_header.and_then(parse_retry_after),
            body: parse_body(body),
        }))
    }

    /// A gateway-envelope error, with the status the code is documented with (500
    /// for a code that has none; see [`ApiError::with_status`]).
    ///
    /// ```
    /// use agent37_stream::protocol::error::{ApiError, ErrorCode};
    ///
    /// let err = ApiError::gateway(ErrorCode::ValidationError, "input is required")
    ///     .with_param("input");
    /// assert_eq!(err.status(), 400);
    /// assert_eq!(
    ///     err.to_json(),
    ///     r#"{"error":{"code":"validation_error","message":"input is required","param":"input"}}"#
    /// );
    /// ```
    pub fn gateway(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::with_envelope(Envelope::Gateway, code, message.into())
    }

    /// An Agents SDK-envelope error. Its body `status` and HTTP status are the one
    /// the code is documented with (500 for a code that has none; see
    /// [`ApiError::with_status`]).
    ///
    /// ```
    /// use agent37_stream::protocol::error::{ApiError, ErrorCode};
    /// use std::time::Duration;
    ///
    /// let err = ApiError::agents_sdk(ErrorCode::RateLimitExceeded, "Too many requests.")
    ///     .with_retry_after(Duration::from_secs(60));
    /// assert_eq!(
    ///     err.to_json(),
    ///     r#"{"error":{"code":"rate_limit_exceeded","message":"Too many requests.","status":429,"retryAfter":60}}"#
    /// );
    /// ```
    pub fn agents_sdk(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::with_envelope(Envelope::AgentsSdk, code, message.into())
    }

    fn with_envelope(envelope: Envelope, code: ErrorCode, message: String) -> ApiError {
        let status = code.http_status().unwrap_or(500);
        let body_status = match envelope {
            Envelope::AgentsSdk => Some(status),
            Envelope::Gateway => None,
        };
        ApiError(Box::new(Repr {
            status,
            retry_after_header: None,
            body: Body::Envelope(
                envelope,
                Fields {
                    code,
                    message,
                    param: None,
                    hint: None,
                    status: body_status,
                    retry_after: None,
                },
            ),
        }))
    }

    /// Sets `param`, the request field at fault. No effect on an error without an
    /// envelope.
    #[must_use]
    pub fn with_param(mut self, param: impl Into<String>) -> ApiError {
        if let Some(fields) = self.fields_mut() {
            fields.param = Some(param.into());
        }
        self
    }

    /// Sets `hint`, a suggested next step. No effect on an error without an envelope.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> ApiError {
        if let Some(fields) = self.fields_mut() {
            fields.hint = Some(hint.into());
        }
        self
    }

    /// Sets the HTTP status (and the body `status` of an Agents SDK envelope), e.g.
    /// 503 for a `sandbox_error` whose runtime is temporarily unavailable.
    #[must_use]
    pub fn with_status(mut self, status: u16) -> ApiError {
        self.0.status = status;
        if let Body::Envelope(Envelope::AgentsSdk, fields) = &mut self.0.body {
            fields.status = Some(status);
        }
        self
    }

    /// Sets how long the client should wait before retrying: the `Retry-After`
    /// header of a gateway error (see [`ApiError::retry_after_header_value`]), the
    /// `retryAfter` body field of an Agents SDK error.
    #[must_use]
    pub fn with_retry_after(mut self, delay: Duration) -> ApiError {
        match &mut self.0.body {
            Body::Envelope(Envelope::AgentsSdk, fields) => fields.retry_after = Some(delay),
            _ => self.0.retry_after_header = Some(RetryAfter::Delay(delay)),
        }
        self
    }

    fn fields(&self) -> Option<&Fields> {
        match &self.0.body {
            Body::Envelope(_, fields) => Some(fields),
            Body::Missing(_) => None,
        }
    }

    fn fields_mut(&mut self) -> Option<&mut Fields> {
        match &mut self.0.body {
            Body::Envelope(_, fields) => Some(fields),
            Body::Missing(_) => None,
        }
    }

    /// The HTTP status of the response.
    pub fn status(&self) -> u16 {
        self.0.status
    }

    /// Which envelope the body used; `None` when it had none.
    pub fn envelope(&self) -> Option<Envelope> {
        match &self.0.body {
            Body::Envelope(envelope, _) => Some(*envelope),
            Body::Missing(_) => None,
        }
    }

    /// The `error.code`; `None` when the body had no envelope (then only
    /// [`ApiError::status`] tells what happened).
    pub fn code(&self) -> Option<&ErrorCode> {
        self.fields().map(|fields| &fields.code)
    }

    /// The human-readable `error.message`; when the body had no envelope, a short
    /// description of what the body was instead.
    pub fn message(&self) -> &str {
        match &self.0.body {
            Body::Envelope(_, fields) => &fields.message,
            Body::Missing(missing) => missing.reason.message(),
        }
    }

    /// The request field that was invalid (`error.param`), when given.
    pub fn param(&self) -> Option<&str> {
        self.fields().and_then(|fields| fields.param.as_deref())
    }

    /// The suggested next step (`error.hint`), when given.
    pub fn hint(&self) -> Option<&str> {
        self.fields().and_then(|fields| fields.hint.as_deref())
    }

    /// The `error.status` of an Agents SDK body, when given.
    pub fn body_status(&self) -> Option<u16> {
        self.fields().and_then(|fields| fields.status)
    }

    /// The start of a body that carried no envelope, whitespace collapsed, at most
    /// 200 characters (an ellipsis marks a cut). `None` for an envelope or an empty
    /// body.
    pub fn body_excerpt(&self) -> Option<&str> {
        match &self.0.body {
            Body::Missing(missing) if !missing.excerpt.is_empty() => Some(&missing.excerpt),
            _ => None,
        }
    }

    /// How long to wait before retrying: the `Retry-After` header (delta-seconds, or
    /// an IMF-fixdate HTTP-date measured from now), else the body's `retryAfter`.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after_at(SystemTime::now())
    }

    fn retry_after_at(&self, now: SystemTime) -> Option<Duration> {
        match self.0.retry_after_header {
            Some(RetryAfter::Delay(delay)) => Some(delay),
            Some(RetryAfter::At(at)) => Some(at.duration_since(now).unwrap_or(Duration::ZERO)),
            None => self.fields().and_then(|fields| fields.retry_after),
        }
    }

    /// The `Retry-After` header a server should send with this error, in whole
    /// seconds rounded up; `None` when no wait is set.
    pub fn retry_after_header_value(&self) -> Option<String> {
        self.retry_after().map(|delay| {
            let secs = delay
                .as_secs()
                .saturating_add(u64::from(delay.subsec_nanos() > 0));
            secs.to_string()
        })
    }

    /// Whether the status is one of `status` (HTTP) or the body's `status`.
    fn has_status(&self, status: u16) -> bool {
        self.0.status == status || self.body_status() == Some(status)
    }

    /// Whether the call may succeed if retried after a wait
    /// ([`ApiError::retry_after`], else with backoff).
    ///
    /// True for the retryable codes ([`ErrorCode::is_retryable`]) and a
    /// `sandbox_error` with status 503. A code outside both vocabularies, or no
    /// envelope at all, falls back on the status: 429 and 503 are retryable. Other
    /// statuses (a proxy's 502 or 504 included) are not: the request may have
    /// reached the gateway and started a turn, and `POST /v1/responses` is not
    /// idempotent. Billing errors are never retryable.
    pub fn is_retryable(&self) -> bool {
        if self.is_billing() {
            return false;
        }
        match self.code() {
            Some(ErrorCode::SandboxError) => self.has_status(503),
            Some(code) if code.is_known() => code.is_retryable(),
            _ => self.has_status(429) || self.has_status(503),
        }
    }

    /// Whether this is a billing limit: a billing code ([`ErrorCode::is_billing`]) or
    /// any error with status 402. Never retried.
    pub fn is_billing(&self) -> bool {
        self.code().is_some_and(ErrorCode::is_billing) || self.has_status(402)
    }

    /// The envelope as JSON, for a server to send with [`ApiError::status`].
    ///
    /// The gateway form is `{"error":{"code","message","param"?,"hint"?}}` and the
    /// Agents SDK form `{"error":{"code","message","status","retryAfter"?}}`; absent
    /// optional fields are omitted, and a field the other envelope defines is
    /// written only if this error carries it. An error read from a body with no
    /// envelope is written as a gateway envelope with code `http_error`.
    pub fn to_json(&self) -> String {
        // Every field is a string or an integer, so serde_json cannot fail here.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Serialize for ApiError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            error: WireFields<'a>,
        }

        #[derive(Serialize)]
        struct WireFields<'a> {
            code: &'a str,
            message: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            param: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            hint: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            status: Option<u16>,
            #[serde(rename = "retryAfter", skip_serializing_if = "Option::is_none")]
            retry_after: Option<Seconds>,
        }

        let error = match &self.0.body {
            Body::Envelope(envelope, fields) => WireFields {
                code: fields.code.as_str(),
                message: &fields.message,
                param: fields.param.as_deref(),
                hint: fields.hint.as_deref(),
                status: match envelope {
                    // The SDK envelope always carries its status.
                    Envelope::AgentsSdk => Some(fields.status.unwrap_or(self.0.status)),
                    Envelope::Gateway => fields.status,
                },
                retry_after: fields.retry_after.map(Seconds),
            },
            Body::Missing(missing) => WireFields {
                code: NO_ENVELOPE_CODE,
                message: missing.reason.message(),
                param: None,
                hint: None,
                status: None,
                retry_after: None,
            },
        };
        Wire { error }.serialize(serializer)
    }
}

/// A delay written as JSON seconds: an integer when whole, else a fraction.
struct Seconds(Duration);

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.subsec_nanos() == 0 {
            serializer.serialize_u64(self.0.as_secs())
        } else {
            serializer.serialize_f64(self.0.as_secs_f64())
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.body {
            Body::Envelope(_, fields) => {
                write!(f, "{} (HTTP {}", fields.code, self.0.status)?;
                if let Some(param) = &fields.param {
                    write!(f, ", param `{param}`")?;
                }
                f.write_str(")")?;
                if !fields.message.is_empty() {
                    write!(f, ": {}", fields.message)?;
                }
                if let Some(hint) = &fields.hint {
                    write!(f, " (hint: {hint})")?;
                }
                Ok(())
            }
            Body::Missing(missing) => {
                write!(
                    f,
                    "HTTP {} without an error envelope: {}",
                    self.0.status,
                    missing.reason.message()
                )?;
                if !missing.excerpt.is_empty() {
                    write!(f, ": {}", missing.excerpt)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ApiError {}

fn parse_body(body: &[u8]) -> Body {
    let missing = |reason| {
        Body::Missing(Missing {
            reason,
            excerpt: excerpt(body),
        })
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return missing(MissingReason::Empty);
    }
    // A BOM is not JSON, but some proxies and frameworks prepend one to JSON bodies.
    let json = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let Ok(value) = serde_json::from_slice::<Value>(json) else {
        return missing(MissingReason::NotJson);
    };
    let Some(error) = value.get("error").and_then(Value::as_object) else {
        return missing(MissingReason::NoErrorObject);
    };
    let Some(code) = error.get("code").and_then(Value::as_str) else {
        return missing(MissingReason::NoErrorObject);
    };
    let code = ErrorCode::from(code);
    let text = |name: &str| error.get(name).and_then(Value::as_str).map(str::to_owned);
    let fields = Fields {
        message: text("message").unwrap_or_default(),
        param: text("param"),
        hint: text("hint"),
        status: error
            .get("status")
            .and_then(Value::as_u64)
            .and_then(|status| u16::try_from(status).ok()),
        retry_after: error.get("retryAfter").and_then(seconds),
        code,
    };
    let envelope = if error.contains_key("status") || error.contains_key("retryAfter") {
        Envelope::AgentsSdk
    } else if error.contains_key("param") || error.contains_key("hint") {
        Envelope::Gateway
    } else {
        fields.code.envelope().unwrap_or(Envelope::Gateway)
    };
    Body::Envelope(envelope, fields)
}

/// A JSON number of seconds as a delay; negative or non-numbers are dropped, and
/// one too large for a `Duration` saturates.
fn seconds(value: &Value) -> Option<Duration> {
    if let Some(secs) = value.as_u64() {
        return Some(Duration::from_secs(secs));
    }
    let secs = value.as_f64()?;
    if secs.is_nan() || secs < 0.0 {
        return None;
    }
    Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

/// The start of `body` on one line, for a human to recognise what came back.
fn excerpt(body: &[u8]) -> String {
    // Four bytes per character at most: enough input for the excerpt, without
    // decoding a whole multi-megabyte page.
    let head = body.get(..EXCERPT_CHARS * 4).unwrap_or(body);
    let text = String::from_utf8_lossy(head);
    let mut out = String::new();
    let mut chars = 0;
    for word in text.split_whitespace() {
        for ch in (!out.is_empty())
            .then_some(' ')
            .into_iter()
            .chain(word.chars())
        {
            if chars == EXCERPT_CHARS {
                out.push('…');
                return out;
            }
            // Control characters (terminal escapes included) would reach whoever
            // prints the error.
            out.push(if ch.is_control() { '\u{fffd}' } else { ch });
            chars += 1;
        }
    }
    if head.len() < body.len() {
        out.push('…');
    }
    out
}

/// A `Retry-After` value: delta-seconds, or an HTTP-date in IMF-fixdate form.
/// Anything else is ignored (the body's `retryAfter` then applies).
fn parse_retry_after(value: &str) -> Option<RetryAfter> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Only digits, so the one way to fail is overflow: wait "forever".
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(RetryAfter::Delay(Duration::from_secs(secs)));
    }
    parse_imf_fixdate(value).map(RetryAfter::At)
}

/// Parses `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7). The obsolete RFC 850
/// and asctime forms are not accepted.
fn parse_imf_fixdate(value: &str) -> Option<SystemTime> {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut parts = value.split(' ');
    let day_name = parts.next()?.strip_suffix(',')?;
    let day = parts.next()?;
    let month = parts.next()?;
    let year = parts.next()?;
    let time = parts.next()?;
    if parts.next()? != "GMT" || parts.next().is_some() || !DAYS.contains(&day_name) {
        return None;
    }
    let number = |text: &str, len: usize| -> Option<u32> {
        (text.len() == len && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse().ok())
            .flatten()
    };
    let day = number(day, 2)?;
    let month = MONTHS.iter().position(|name| *name == month)? + 1;
    let year = number(year, 4)?;
    let mut clock = time.split(':');
    let hour = number(clock.next()?, 2)?;
    let minute = number(clock.next()?, 2)?;
    let second = number(clock.next()?, 2)?;
    if clock.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let month = u32::try_from(month).ok()?;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    // A date before the epoch is in the past all the same: no wait.
    let secs = u64::try_from(secs).unwrap_or(0);
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date, counting in
/// 400-year eras from a March-based year so leap days fall at a year's end.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        // RFC 9110's example date is 784111777 seconds after the epoch.
        assert_eq!(days_from_civil(1994, 11, 6), 9_075);
    }

    #[test]
    fn imf_fixdate_parses_the_rfc_example() {
        assert_eq!(
            parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(at(784_111_777))
        );
        assert_eq!(
            parse_imf_fixdate("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(SystemTime::UNIX_EPOCH)
        );
        assert_eq!(
            parse_imf_fixdate("Tue, 29 Feb 2000 00:00:00 GMT"),
            Some(at(11_016 * 86_400))
        );
    }

    #[test]
    fn imf_fixdate_rejects_other_forms_and_impossible_dates() {
        for bad in [
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37 gmt",
            "Sun, 06 Nov 1994 08:49:37 GMT extra",
            "Sun,  06 Nov 1994 08:49:37 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 29 Feb 1900 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08:49:37:01 GMT",
            "Sun, 06 Nov +994 08:49:37 GMT",
            "",
        ] {
            assert_eq!(parse_imf_fixdate(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_date_is_measured_from_now() {
        let err = ApiError::from_response(429, Some("Sun, 06 Nov 1994 08:49:37 GMT"), b"");
        assert_eq!(
            err.retry_after_at(at(784_111_700)),
            Some(Duration::from_secs(77))
        );
        assert_eq!(err.retry_after_at(at(784_111_800)), Some(Duration::ZERO));
        // Measured against the real clock, 1994 is long past.
        assert_eq!(err.retry_after(), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_delta_seconds_saturates_on_overflow() {
        assert_eq!(
            parse_retry_after(" 120 "),
            Some(RetryAfter::Delay(Duration::from_secs(120)))
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999"),
            Some(RetryAfter::Delay(Duration::from_secs(u64::MAX)))
        );
        assert_eq!(parse_retry_after("-5"), None);
        assert_eq!(parse_retry_after("1.5"), None);
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after(""), None);
    }

    #[test]
    fn body_seconds_accept_fractions_and_drop_nonsense() {
        let secs = |json: &str| seconds(&serde_json::from_str(json).unwrap());
        assert_eq!(secs("60"), Some(Duration::from_secs(60)));
        assert_eq!(secs("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(secs("1e300"), Some(Duration::MAX));
        assert_eq!(secs("-1"), None);
        assert_eq!(secs("\"60\""), None);
        assert_eq!(secs("null"), None);
    }

    #[test]
    fn fractional_retry_after_serializes_as_a_fraction() {
        let err = ApiError::agents_sdk(ErrorCode::RateLimitExceeded, "slow down")
            .with_retry_after(Duration::from_millis(2500));
        assert!(
            err.to_json().contains(r#""retryAfter":2.5"#),
            "{}",
            err.to_json()
        );
        assert_eq!(err.retry_after_header_value().as_deref(), Some("3"));
    }

    #[test]
    fn excerpt_collapses_whitespace_and_marks_cuts() {
        assert_eq!(
            excerpt(b"  <h1>\r\n502\tBad   Gateway</h1>\n"),
            "<h1> 502 Bad Gateway</h1>"
        );
        assert_eq!(excerpt(b""), "");

        let long = "word ".repeat(100);
        let cut = excerpt(long.as_bytes());
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert!(cut.starts_with("word word"));

        let accents = "é".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(accents.as_bytes()), accents);

        // A long single line is cut at the byte budget before decoding.
        let huge = vec![b'x'; 1 << 20];
        let cut = excerpt(&huge);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
    }

    #[test]
    fn excerpt_replaces_invalid_utf8_and_control_characters() {
        assert_eq!(excerpt(b"bad \xff byte"), "bad \u{fffd} byte");
        assert_eq!(excerpt(b"\x1b[31mred\x00"), "\u{fffd}[31mred\u{fffd}");
    }

    #[test]
    fn a_leading_bom_does_not_hide_the_envelope() {
        let err = ApiError::from_response(
            409,
            None,
            b"\xEF\xBB\xBF{\"error\":{\"code\":\"session_busy\",\"message\":\"busy\"}}",
        );
        assert_eq!(err.code(), Some(&ErrorCode::SessionBusy));
    }

    #[test]
    fn deeply_nested_json_is_not_json_rather_than_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        let err = ApiError::from_response(500, None, deep.as_bytes());
        assert_eq!(err.code(), None);
        assert_eq!(err.message(), MissingReason::NotJson.message());
    }

    #[test]
    fn hand_made_other_equals_the_known_variant() {
        let hand_made = ErrorCode::Other("rate_limited".to_owned());
        assert_eq!(hand_made, ErrorCode::RateLimited);
        let hash = |code: &ErrorCode| {
            use std::collections::hash_map::DefaultHasher;
            let mut hasher = DefaultHasher::new();
            code.hash(&mut hasher);
            hasher.finish()
        };
        assert_eq!(hash(&hand_made), hash(&ErrorCode::RateLimited));
    }
}
