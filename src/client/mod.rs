//! An async client of the agent37 API (feature `client`): reqwest, with TLS
//! by rustls on the `ring` provider.
//!
//! [`Client`] sends `POST /v1/responses` to an instance's own base URL
//! (`https://{instanceId}.agent37.app`) and reads every non-2xx answer into
//! the typed [`ApiError`]. [`Client::create_stream`] returns a
//! [`TurnStream`]: the validated, typed events of the turn, folded as they
//! come, which survives what a network does to a long stream:
//!
//! - a connection cut mid-turn is resumed on the replay endpoint
//!   (`GET /v1/responses/{id}/stream`) after the stream's `retry:` time, with
//!   backoff and jitter; what was already yielded is skipped, so nothing is
//!   lost and nothing comes twice;
//! - 429, 503 and `insufficient_capacity` are retried after `Retry-After`
//!   (or the body's `retryAfter`), `instance_not_running` with backoff;
//!   validation, authentication and billing errors never are ([`RetryPolicy`]);
//! - each retry and reconnection is told to the [`ClientBuilder::on_notice`]
//!   callback, if any, and counted on the stream; nothing needs handling.
//!
//! Dropping a [`TurnStream`] closes its connection; the turn itself runs on
//! until [`Client::cancel`] asks the server to stop it.
//!
//! ```no_run
//! use agent37_stream::client::Client;
//! use agent37_stream::protocol::event::ResponseEvent;
//! use agent37_stream::protocol::request::CreateResponse;
//! use futures_util::StreamExt;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The key from AGENT37_API_KEY; the base URL from the instance id.
//! let client = Client::builder().instance_id("ab12cd34ef").build()?;
//! let mut turn = client.create_stream(CreateResponse::new("Summarize the news")).await?;
//! while let Some(event) = turn.next().await {
//!     if let ResponseEvent::OutputTextDelta(delta) = event?.event {
//!         print!("{}", &*delta.text);
//!     }
//! }
//! println!("\n{:?}", turn.turn().response.usage);
//! # Ok(()) }
//! ```

mod error;
mod retry;
mod turn;

use std::fmt;
use std::sync::{Arc, Once};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::de::DeserializeOwned;

pub use error::ClientError;
pub use retry::RetryPolicy;
pub use turn::TurnStream;

use crate::protocol::error::ApiError;
use crate::protocol::fold::Seed;
use crate::protocol::request::CreateResponse;
use crate::protocol::response::Response;
use crate::protocol::stream::StreamOptions;
use retry::Jitter;

/// The environment variable [`ClientBuilder::build`] reads the API key from
/// when none was given.
pub const API_KEY_ENV: &str = "AGENT37_API_KEY";

/// Something the client did on its own that a caller may want to show.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Notice<'a> {
    /// A request was refused with a retryable error; it is sent again after
    /// `wait`.
    Retrying {
        /// The refusal.
        error: &'a ApiError,
        /// Which retry this is (1-based).
        retry: u32,
        /// The wait before it.
        wait: Duration,
    },
    /// A turn's connection ended before its terminal event; the client
    /// reconnects to the replay after `wait`.
    Reconnecting {
        /// The turn's response id.
        response_id: &'a str,
        /// Which reconnection this is (1-based).
        attempt: u32,
        /// The wait before it.
        wait: Duration,
        /// Why the connection ended.
        reason: &'a str,
    },
}

impl fmt::Display for Notice<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::Retrying { error, retry, wait } => {
                write!(f, "{error} (retry {retry} in {} ms)", wait.as_millis())
            }
            Notice::Reconnecting {
                response_id,
                attempt,
                wait,
                reason,
            } => write!(
                f,
                "connection lost ({reason}); resuming response {response_id} \
                 (attempt {attempt} in {} ms)",
                wait.as_millis()
            ),
        }
    }
}

type NoticeFn = dyn Fn(&Notice<'_>) + Send + Sync;

/// An async client of one agent37 instance. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
    policy: RetryPolicy,
    request_timeout: Option<Duration>,
    on_notice: Option<Arc<NoticeFn>>,
    stream_options: StreamOptions,
    jitter: Jitter,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key stays out of logs.
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`]: where, with which key, how patiently.
#[derive(Clone, Default)]
#[must_use]
pub struct ClientBuilder {
    base_url: Option<String>,
    instance_id: Option<String>,
    api_key: Option<String>,
    policy: RetryPolicy,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    on_notice: Option<Arc<NoticeFn>>,
    stream_options: StreamOptions,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("instance_id", &self.instance_id)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The instance's base URL, e.g. `https://ab12cd34ef.agent37.app` (or a
    /// local `http://127.0.0.1:8037`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The instance whose base URL is `https://{instance_id}.agent37.app`
    /// (ignored when [`base_url`](Self::base_url) is set).
    pub fn instance_id(mut self, instance_id: impl Into<String>) -> Self {
        self.instance_id = Some(instance_id.into());
        self
    }

    /// The API key (`sk_live_…`). Without one, [`build`](Self::build) reads
    /// [`API_KEY_ENV`].
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// How refused requests are retried and dropped streams resumed.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The longest wait for a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The longest silence on a connection, between two reads (default
    /// 5 minutes). A stream silent for longer is treated as dropped and
    /// resumed.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = Some(timeout);
        self
    }

    /// The longest a whole non-streaming call may take (default: no limit;
    /// a non-streaming `create` lasts as long as the turn).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Called on each retry and reconnection ([`Notice`]), e.g. to tell a
    /// user why an answer pauses.
    pub fn on_notice(mut self, callback: impl Fn(&Notice<'_>) + Send + Sync + 'static) -> Self {
        self.on_notice = Some(Arc::new(callback));
        self
    }

    /// How streams are read and judged (strict mode, decoder limits).
    pub fn stream_options(mut self, options: StreamOptions) -> Self {
        self.stream_options = options;
        self
    }

    /// The client, or a [`ClientError::Config`] when the key or the URL is
    /// missing or malformed.
    pub fn build(self) -> Result<Client, ClientError> {
        let base_url = match (self.base_url, self.instance_id) {
            (Some(url), _) => checked_base_url(&url)?,
            (None, Some(id)) => instance_url(&id)?,
            (None, None) => {
                return Err(ClientError::Config(
                    "no base URL: set the instance's URL or its instance id".to_owned(),
                ));
            }
        };
        let api_key = match self.api_key {
            Some(key) => key,
            None => std::env::var(API_KEY_ENV).map_err(|_| {
                ClientError::Config(format!("no API key: set one or the {API_KEY_ENV} variable"))
            })?,
        };
        if api_key.trim().is_empty() {
            return Err(ClientError::Config("the API key is empty".to_owned()));
        }
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout.unwrap_or(Duration::from_secs(10)))
            .read_timeout(self.read_timeout.unwrap_or(Duration::from_secs(300)))
            .user_agent(concat!("agent37-stream/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                api_key,
                policy: self.policy,
                request_timeout: self.request_timeout,
                on_notice: self.on_notice,
                stream_options: self.stream_options,
                jitter: Jitter::new(),
            }),
        })
    }
}

/// Makes rustls's `ring` provider the process default, unless one is
/// installed already; [`ClientBuilder::build`] calls it.
///
/// The `client` feature builds reqwest with rustls but without reqwest's own
/// provider choice (aws-lc-rs, which needs cmake and nasm to build). In a
/// program where no other crate enables one, any *other* `reqwest::Client`
/// built before the first agent37 [`Client`] panics for want of a provider:
/// call this first.
///
/// ```
/// agent37_stream::client::install_crypto_provider();
/// let http = reqwest::Client::new(); // fine now
/// # drop(http);
/// ```
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An error means a provider is already installed, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn checked_base_url(url: &str) -> Result<String, ClientError> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['?', '#', ' ']) => Ok(url.to_owned()),
        _ => Err(ClientError::Config(format!(
            "the base URL must be http(s)://host[:port], not {url:?}"
        ))),
    }
}

fn instance_url(id: &str) -> Result<String, ClientError> {
    let valid = !id.is_empty()
        && id.len() <= 63
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !valid {
        return Err(ClientError::Config(format!(
            "an instance id is letters, digits and dashes, not {id:?}"
        )));
    }
    Ok(format!("https://{}.agent37.app", id.to_ascii_lowercase()))
}

/// A response id as one path segment: ids are hex, but a stray `/` or `?`
/// must not reach another endpoint.
fn path_segment(id: &str) -> Result<String, ClientError> {
    if id.is_empty() {
        return Err(ClientError::Config("the response id is empty".to_owned()));
    }
    let mut segment = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            segment.push(char::from(byte));
        } else {
            segment.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(segment)
}

impl Client {
    /// Starts a [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client of the instance at `base_url` with `api_key` and the default
    /// options.
    pub fn new(
        base_url: impl Into<String>,
        api_key: impl Into<String>,
    ) -> Result<Client, ClientError> {
        Client::builder()
            .base_url(base_url)
            .api_key(api_key)
            .build()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.policy
    }

    /// `POST /v1/responses` with `stream: false`: waits for the turn to end
    /// and returns the response object. The request is validated first (a
    /// local `validation_error` is never sent).
    pub async fn create(&self, mut request: CreateResponse) -> Result<Response, ClientError> {
        request.stream = false;
        request.validate()?;
        let body = Bytes::from(serde_json::to_vec(&request).map_err(ClientError::Body)?);
        let url = format!("{}/v1/responses", self.inner.base_url);
        let (response, _) = self
            .send(|| self.timed(self.json_post(&url, &body)))
            .await?;
        json(response).await
    }

    /// `POST /v1/responses` with `stream: true`: the turn as a
    /// [`TurnStream`] of validated, typed events, resumed by itself when the
    /// connection drops. The request is validated first.
    pub async fn create_stream(
        &self,
        mut request: CreateResponse,
    ) -> Result<TurnStream, ClientError> {
        request.stream = true;
        request.validate()?;
        let body = Bytes::from(serde_json::to_vec(&request).map_err(ClientError::Body)?);
        let url = format!("{}/v1/responses", self.inner.base_url);
        let (response, retries) = self.send(|| self.json_post(&url, &body)).await?;
        let options = self.inner.stream_options.clone().with_seed(seed(&request));
        Ok(TurnStream::new(
            self.clone(),
            response,
            options,
            None,
            retries,
        ))
    }

    /// `GET /v1/responses/{id}`: the response object as it stands.
    pub async fn get(&self, response_id: &str) -> Result<Response, ClientError> {
        let url = self.response_url(response_id, "")?;
        let (response, _) = self.send(|| self.timed(self.inner.http.get(&url))).await?;
        json(response).await
    }

    /// `POST /v1/responses/{id}/cancel`: asks the server to stop the turn;
    /// returns the response object (a finished turn comes back as it is).
    pub async fn cancel(&self, response_id: &str) -> Result<Response, ClientError> {
        let url = self.response_url(response_id, "/cancel")?;
        let (response, _) = self.send(|| self.timed(self.inner.http.post(&url))).await?;
        json(response).await
    }

    /// `GET /v1/responses/{id}/stream`: the turn's events from the first,
    /// then live until it ends, as a [`TurnStream`] (resumed likewise).
    pub async fn replay(&self, response_id: &str) -> Result<TurnStream, ClientError> {
        let url = self.response_url(response_id, "/stream")?;
        let (response, retries) = self.send(|| self.inner.http.get(&url)).await?;
        let options = self.inner.stream_options.clone();
        Ok(TurnStream::new(
            self.clone(),
            response,
            options,
            Some(response_id.to_owned()),
            retries,
        ))
    }

    fn response_url(&self, response_id: &str, tail: &str) -> Result<String, ClientError> {
        Ok(format!(
            "{}/v1/responses/{}{tail}",
            self.inner.base_url,
            path_segment(response_id)?
        ))
    }

    fn json_post(&self, url: &str, body: &Bytes) -> reqwest::RequestBuilder {
        self.inner
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            // A clone of `Bytes` shares the buffer: retries copy nothing.
            .body(body.clone())
    }

    fn timed(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.inner.request_timeout {
            Some(timeout) => request.timeout(timeout),
            None => request,
        }
    }

    fn notify(&self, notice: &Notice<'_>) {
        if let Some(callback) = &self.inner.on_notice {
            callback(notice);
        }
    }

    /// Sends a request until it succeeds, or fails in a way the policy does
    /// not retry. Returns the response and the retries it took.
    async fn send(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(reqwest::Response, u32), ClientError> {
        let mut retries = 0;
        loop {
            let response = build().bearer_auth(&self.inner.api_key).send().await?;
            if response.status().is_success() {
                return Ok((response, retries));
            }
            let error = api_error(response).await;
            let draw = self.inner.jitter.draw();
            let Some(wait) = self.inner.policy.retry_wait(&error, retries, draw) else {
                return Err(ClientError::Api(error));
            };
            retries += 1;
            self.notify(&Notice::Retrying {
                error: &error,
                retry: retries,
                wait,
            });
            tokio::time::sleep(wait).await;
        }
    }
}

/// Reads a non-2xx answer into the typed error (both envelopes,
/// `Retry-After`).
async fn api_error(response: reqwest::Response) -> ApiError {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    // A body cut short still leaves the status and the header to go on.
    let body = response.bytes().await.unwrap_or_else(|_| Bytes::new());
    ApiError::from_response(status, retry_after.as_deref(), &body)
}

async fn json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ClientError> {
    let bytes = response.bytes().await?;
    serde_json::from_slice(&bytes).map_err(ClientError::Body)
}

/// What the stream does not carry, from the request.
fn seed(request: &CreateResponse) -> Seed {
    let mut seed = Seed::default();
    seed.model.clone_from(&request.model);
    seed.provider.clone_from(&request.provider);
    seed.metadata.clone_from(&request.metadata);
    seed.created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
    seed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_is_given_whole_or_derived_from_the_instance_id() {
        let client = Client::builder()
            .instance_id("AB12cd34ef")
            .api_key("k")
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "https://ab12cd34ef.agent37.app");
        let client = Client::new("http://127.0.0.1:8037/", "k").unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:8037");
        for bad in ["ftp://x", "127.0.0.1:8037", "https://", "http://h?x=1"] {
            assert!(
                matches!(Client::new(bad, "k"), Err(ClientError::Config(_))),
                "{bad}"
            );
        }
        let bad_id = Client::builder().instance_id("a.b/c").api_key("k").build();
        assert!(matches!(bad_id, Err(ClientError::Config(_))));
        let nothing = Client::builder().api_key("k").build();
        assert!(matches!(nothing, Err(ClientError::Config(_))));
        let empty_key = Client::new("http://h", " ");
        assert!(matches!(empty_key, Err(ClientError::Config(_))));
    }

    #[test]
    fn ids_cannot_leave_their_path_segment() {
        assert_eq!(path_segment("c91d2a7e").unwrap(), "c91d2a7e");
        assert_eq!(path_segment("../x?y").unwrap(), "..%2Fx%3Fy");
        assert!(path_segment("").is_err());
    }

    #[test]
    fn debug_output_hides_the_key() {
        let client = Client::new("http://h", "sk_live_secret").unwrap();
        assert!(!format!("{client:?}").contains("secret"));
    }

    #[test]
    fn seed_carries_the_request_fields() {
        let request = CreateResponse::builder("hi")
            .model("m")
            .provider("p")
            .build()
            .unwrap();
        let seed = seed(&request);
        assert_eq!(seed.model.as_deref(), Some("m"));
        assert_eq!(seed.provider.as_deref(), Some("p"));
        assert!(seed.created > 1_600_000_000_000);
    }
}
