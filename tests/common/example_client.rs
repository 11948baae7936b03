//! A streaming agent37 client: sends a message, prints the agent's reasoning,
//! answer and tool activity as they arrive, survives dropped connections and
//! rate limits, and prints the final usage.
//!
//! - The request is built with [`CreateResponse`]'s builder (checked locally
//!   against the gateway's rules before it is sent).
//! - The body goes through [`ResponseStream`]: SSE decoding, typed events,
//!   the contract's ordering rules and the fold into the response object.
//! - When the connection drops mid-turn, it reconnects to
//!   `GET /v1/responses/{id}/stream` and [`ResponseStream::resume`]s: the
//!   replayed events already received are skipped, after checking they are
//!   the same (else a `replay-diverged` error), so nothing is lost or shown
//!   twice.
//! - A 429 is retried after its `Retry-After`, a 503 with exponential backoff,
//!   as the errors page says; other errors come back as a typed [`ApiError`]
//!   (branch on its `code`).
//!
//! The library's own client is `agent37_stream::client` (feature `client`);
//! this hand-written one is kept for the gateway's end-to-end tests
//! (`tests/e2e.rs`), which test the server through it.

use std::fmt;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Duration;

use agent37_stream::protocol::error::ApiError;
use agent37_stream::protocol::event::{ResponseEvent, ToolError};
use agent37_stream::protocol::fold::Turn;
use agent37_stream::protocol::request::CreateResponse;
use agent37_stream::protocol::response::Response;
use agent37_stream::protocol::rules::{Finding, Rule};
use agent37_stream::protocol::stream::{ResponseStream, StreamError, StreamEvent};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

/// An HTTP response body as a stream of chunks.
pub type Body = Pin<Box<dyn Stream<Item = Result<Bytes, reqwest::Error>> + Send>>;

/// A client of one agent37 gateway.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
    /// Attempts per request when the gateway answers 429 or 503.
    pub max_attempts: u32,
    /// Reconnects per turn before giving up.
    pub max_reconnects: u32,
    /// The first backoff after a 503 (doubled each time).
    pub backoff: Duration,
    /// The longest wait a `Retry-After` is obeyed for.
    pub max_wait: Duration,
}

/// What happened on the way, for the caller to show.
#[derive(Debug)]
pub enum Notice<'a> {
    /// A new event of the turn.
    Event(&'a StreamEvent),
    /// A retryable error: the request is sent again after `wait`.
    Retry {
        /// The error.
        error: &'a ApiError,
        /// The wait before the next attempt.
        wait: Duration,
    },
    /// The connection dropped (or ended early); reconnecting to the replay.
    Reconnect {
        /// The response id.
        response_id: &'a str,
        /// Why.
        reason: String,
    },
    /// A contract warning (the stream goes on).
    Warning(&'a Finding),
}

/// A streamed turn, to the end.
#[derive(Debug)]
pub struct Outcome {
    /// The folded turn: the response object, reasoning, tool calls.
    pub turn: Turn,
    /// How many times the stream was resumed on a new connection.
    pub reconnects: u32,
    /// How many requests were sent again after a 429 or 503.
    pub retries: u32,
    /// Contract warnings and skipped broken events.
    pub findings: Vec<Finding>,
}

/// Why a turn could not be completed.
#[derive(Debug)]
pub enum ClientError {
    /// The gateway refused the request: branch on `code()`.
    Api(ApiError),
    /// The HTTP exchange failed.
    Http(reqwest::Error),
    /// The stream broke the contract in a way that cannot be resumed from
    /// (such as a replay that differs from what was received).
    Contract(Finding),
    /// The connection dropped before `response.created` arrived: the response
    /// id is unknown, so there is no stream to reconnect to (and sending the
    /// request again would start a second turn).
    NoResponseId(String),
    /// The connection kept dropping.
    TooManyReconnects(u32),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Api(err) => write!(f, "{err}"),
            ClientError::Http(err) => write!(f, "HTTP: {err}"),
            ClientError::Contract(finding) => write!(f, "{}: {}", finding.rule, finding.message),
            ClientError::NoResponseId(reason) => write!(
                f,
                "the stream broke before `response.created` ({reason}); the response id is unknown"
            ),
            ClientError::TooManyReconnects(n) => write!(f, "gave up after {n} reconnects"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<reqwest::Error> for ClientError {
    fn from(err: reqwest::Error) -> Self {
        ClientError::Http(err)
    }
}

impl Client {
    /// A client of the gateway at `base_url` (e.g. `http://127.0.0.1:8037`).
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Client {
        Client::with_http(base_url, api_key, reqwest::Client::new())
    }

    /// The same, over a configured `reqwest` client (timeouts, proxies, …).
    pub fn with_http(
        base_url: impl Into<String>,
        api_key: impl Into<String>,
        http: reqwest::Client,
    ) -> Client {
        Client {
            http,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            api_key: api_key.into(),
            max_attempts: 5,
            max_reconnects: 5,
            backoff: Duration::from_millis(200),
            max_wait: Duration::from_secs(60),
        }
    }

    /// Sends `request` with `stream: true` and follows the turn to its end,
    /// reconnecting when the connection drops.
    pub async fn stream(
        &self,
        request: &CreateResponse,
        mut notify: impl FnMut(Notice<'_>),
    ) -> Result<Outcome, ClientError> {
        let mut request = request.clone();
        request.stream = true;
        let body = serde_json::to_vec(&request).unwrap_or_default();
        let url = format!("{}/v1/responses", self.base_url);
        let (response, mut retries) = self
            .send(|| self.http.post(&url).body(body.clone()), &mut notify)
            .await?;
        let mut events = ResponseStream::new(body_of(response));
        let mut response_id: Option<String> = None;
        let mut reconnects = 0;
        let mut findings = Vec::new();
        loop {
            let broke = match events.next().await {
                Some(Ok(event)) => {
                    if let ResponseEvent::Created(created) = &event.event {
                        response_id = Some(created.id.to_string());
                    }
                    notify(Notice::Event(&event));
                    continue;
                }
                None => break,
                Some(Err(StreamError::Transport(err))) => err.to_string(),
                // A clean end before the terminal event: resume too.
                Some(Err(StreamError::Violation(finding)))
                    if finding.rule == Rule::MissingTerminal =>
                {
                    finding.message
                }
                Some(Err(StreamError::Violation(finding))) => {
                    return Err(ClientError::Contract(finding));
                }
                Some(Err(StreamError::Payload {
                    findings: found, ..
                })) => {
                    // The broken event is skipped; the turn goes on.
                    for finding in found {
                        notify(Notice::Warning(&finding));
                        findings.push(finding);
                    }
                    continue;
                }
                Some(Err(other)) => other.to_string(),
            };
            let Some(id) = &response_id else {
                return Err(ClientError::NoResponseId(broke));
            };
            if reconnects == self.max_reconnects {
                return Err(ClientError::TooManyReconnects(reconnects));
            }
            reconnects += 1;
            notify(Notice::Reconnect {
                response_id: id,
                reason: broke,
            });
            let url = format!("{}/v1/responses/{id}/stream", self.base_url);
            let (response, more) = self.send(|| self.http.get(&url), &mut notify).await?;
            retries += more;
            events = ResponseStream::resume(body_of(response), events);
        }
        for warning in events.warnings() {
            notify(Notice::Warning(warning));
        }
        findings.extend(events.warnings().iter().cloned());
        Ok(Outcome {
            turn: events.into_turn(),
            reconnects,
            retries,
            findings,
        })
    }

    /// Sends `request` with `stream: false`: the finished response object.
    pub async fn create(&self, request: &CreateResponse) -> Result<Response, ClientError> {
        let mut request = request.clone();
        request.stream = false;
        let body = serde_json::to_vec(&request).unwrap_or_default();
        let url = format!("{}/v1/responses", self.base_url);
        let (response, _) = self
            .send(|| self.http.post(&url).body(body.clone()), &mut |_| {})
            .await?;
        response.json_bytes().await
    }

    /// `GET /v1/responses/{id}`.
    pub async fn fetch(&self, response_id: &str) -> Result<Response, ClientError> {
        let url = format!("{}/v1/responses/{response_id}", self.base_url);
        let (response, _) = self.send(|| self.http.get(&url), &mut |_| {}).await?;
        response.json_bytes().await
    }

    /// `POST /v1/responses/{id}/cancel`.
    pub async fn cancel(&self, response_id: &str) -> Result<Response, ClientError> {
        let url = format!("{}/v1/responses/{response_id}/cancel", self.base_url);
        let (response, _) = self.send(|| self.http.post(&url), &mut |_| {}).await?;
        response.json_bytes().await
    }

    /// Sends a request until it succeeds or fails for good, retrying 429
    /// (after `Retry-After`) and 503 (with backoff). Returns the response and
    /// how many retries it took.
    async fn send(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
        notify: &mut impl FnMut(Notice<'_>),
    ) -> Result<(reqwest::Response, u32), ClientError> {
        let mut backoff = self.backoff;
        let mut retries = 0;
        loop {
            let response = build()
                .bearer_auth(&self.api_key)
                .header("content-type", "application/json")
                .send()
                .await?;
            if response.status().is_success() {
                return Ok((response, retries));
            }
            let error = api_error(response).await;
            if !error.is_retryable() || retries + 1 >= self.max_attempts {
                return Err(ClientError::Api(error));
            }
            let wait = error.retry_after().unwrap_or(backoff).min(self.max_wait);
            backoff = backoff.saturating_mul(2);
            notify(Notice::Retry {
                error: &error,
                wait,
            });
            tokio::time::sleep(wait).await;
            retries += 1;
        }
    }
}

/// Reads a failed response into the typed error.
pub async fn api_error(response: reqwest::Response) -> ApiError {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response.bytes().await.unwrap_or_default();
    ApiError::from_response(status, retry_after.as_deref(), &body)
}

fn body_of(response: reqwest::Response) -> Body {
    Box::pin(response.bytes_stream())
}

/// `reqwest` without its `json` feature: read the bytes, then parse.
trait JsonBytes {
    async fn json_bytes<T: serde::de::DeserializeOwned>(self) -> Result<T, ClientError>;
}

impl JsonBytes for reqwest::Response {
    async fn json_bytes<T: serde::de::DeserializeOwned>(self) -> Result<T, ClientError> {
        let status = self.status().as_u16();
        let bytes = self.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|err| {
            ClientError::Api(ApiError::from_response(
                status,
                None,
                format!("unreadable response object: {err}").as_bytes(),
            ))
        })
    }
}

/// Prints a turn as it happens.
#[derive(Default)]
struct Printer {
    /// What the last text printed was, to start a new section on a change.
    section: Option<&'static str>,
}

impl Printer {
    fn notice(&mut self, notice: Notice<'_>) {
        match notice {
            Notice::Event(event) => self.event(&event.event),
            Notice::Retry { error, wait } => {
                self.line(format!("[{error}; retrying in {wait:?}]"));
            }
            Notice::Reconnect {
                response_id,
                reason,
            } => self.line(format!(
                "[connection lost ({reason}); resuming /v1/responses/{response_id}/stream]"
            )),
            Notice::Warning(finding) => {
                self.line(format!("[warning {}: {}]", finding.rule, finding.message));
            }
        }
    }

    fn event(&mut self, event: &ResponseEvent) {
        match event {
            ResponseEvent::Created(created) => self.line(format!(
                "[response {} in session {}]",
                created.id, created.session_id
            )),
            ResponseEvent::ReasoningDelta(delta) => self.text("thinking", &delta.text),
            ResponseEvent::OutputTextDelta(delta) => self.text("answer", &delta.text),
            ResponseEvent::ToolCallStarted(call) => {
                self.line(format!("[{}] {}", call.tool, call.label));
            }
            ResponseEvent::ToolCallCompleted(call) => {
                self.line(format!("[{}] done in {} ms", call.tool, call.duration_ms));
            }
            ResponseEvent::ToolCallFailed(call) => {
                let why = match &call.error {
                    ToolError::Message(message) => message.to_string(),
                    ToolError::Object(object) => {
                        serde_json::Value::from(object.clone()).to_string()
                    }
                };
                self.line(format!("[{}] failed: {why}", call.tool));
            }
            ResponseEvent::Completed(done) => match &done.usage {
                Some(usage) => {
                    let cost = usage.cost().map_or(String::new(), |c| format!(", ${c}"));
                    self.line(format!(
                        "[done: {} tokens in, {} out{cost}]",
                        usage.input_tokens, usage.output_tokens
                    ));
                }
                None => self.line("[done: no usage reported]".to_owned()),
            },
            ResponseEvent::Failed(failed) => self.line(format!("[turn failed: {}]", failed.error)),
            _ => {}
        }
    }

    fn text(&mut self, section: &'static str, text: &str) {
        if self.section != Some(section) {
            print!("\n{section}: ");
            self.section = Some(section);
        }
        print!("{text}");
    }

    fn line(&mut self, line: String) {
        if self.section.take().is_some() {
            println!();
        }
        println!("{line}");
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let base_url =
        std::env::var("AGENT37_URL").unwrap_or_else(|_| "http://127.0.0.1:8037".to_owned());
    let api_key = std::env::var("AGENT37_API_KEY").unwrap_or_else(|_| "sk_test".to_owned());
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut session = None;
    if let Some(at) = args.iter().position(|arg| arg == "--session") {
        session = args.get(at + 1).cloned();
        args.drain(at..(at + 2).min(args.len()));
    }
    let input = if args.is_empty() {
        "Research the top 3 EV makers, write a memo.".to_owned()
    } else {
        args.join(" ")
    };
    let mut builder = CreateResponse::builder(input).stream(true);
    if let Some(session) = session {
        builder = builder.session_id(session);
    }
    let request = match builder.build() {
        Ok(request) => request,
        Err(err) => {
            eprintln!("invalid request: {err}");
            return ExitCode::from(2);
        }
    };
    let client = Client::new(base_url, api_key);
    let mut printer = Printer::default();
    match client
        .stream(&request, |notice| printer.notice(notice))
        .await
    {
        Ok(outcome) => {
            let response = &outcome.turn.response;
            println!(
                "status {} ({} reconnects, {} retries); continue with --session {}",
                response.status, outcome.reconnects, outcome.retries, response.session_id
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("\nerror: {err}");
            ExitCode::FAILURE
        }
    }
}
