//! End to end over real loopback TCP: `agent37_stream::serve` gateways started
//! and stopped by each test, and the hand-written client of `tests/common/example_client.rs` (reqwest +
//! the library) against them.
#![cfg(feature = "serve")]

#[path = "common/example_client.rs"]
#[allow(dead_code)]
mod client;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use agent37_stream::protocol::error::{ApiError, ErrorCode};
use agent37_stream::protocol::event::ResponseEvent;
use agent37_stream::protocol::fold::Turn;
use agent37_stream::protocol::request::{CreateResponse, MAX_BODY_BYTES, Mode};
use agent37_stream::protocol::response::{Response, Status};
use agent37_stream::protocol::stream::ResponseStream;
use agent37_stream::serve::{
    ConnectionLimits, FailStatus, Faults, Gateway, GatewayConfig, GatewayHandle, Recordings,
};
use bytes::Bytes;
use client::{Client, ClientError, Notice, Outcome};
use futures_util::StreamExt;

const VALID: &str = "testdata/recordings/valid";
const KEY: &str = "sk_test_e2e";
/// No single test step may take longer than this.
const STEP: Duration = Duration::from_secs(30);

/// Fails the test (rather than hanging it) when `future` takes too long.
async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(STEP, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: no answer within {STEP:?}"),
    }
}

fn recordings() -> Recordings {
    static LOADED: OnceLock<Recordings> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(VALID);
            Recordings::load_dir(dir).expect("the valid recordings load")
        })
        .clone()
}

fn recording_bytes(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(VALID)
        .join(format!("{name}.sse"));
    std::fs::read(path).expect("recording readable")
}

/// A gateway on a free loopback port.
struct Server {
    url: String,
    handle: GatewayHandle,
}

impl Server {
    async fn start(config: GatewayConfig) -> Server {
        let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
        let (bound, handle) = Gateway::new(config).bind(addr).await.expect("bind");
        assert!(bound.ip().is_loopback());
        Server {
            url: format!("http://{bound}"),
            handle,
        }
    }

    async fn with_faults(faults: Faults) -> Server {
        Server::start(config().faults(faults)).await
    }

    fn client(&self) -> Client {
        let mut client = Client::with_http(&self.url, KEY, http());
        client.backoff = Duration::from_millis(10);
        client
    }

    async fn stop(self) {
        bounded("shutdown", self.handle.shutdown())
            .await
            .expect("clean shutdown");
    }
}

/// An HTTP client whose every request (body included) is bounded in time.
fn http() -> reqwest::Client {
    // With the `client` feature, reqwest has TLS but no provider of its own.
    #[cfg(feature = "client")]
    agent37_stream::client::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(STEP)
        .build()
        .expect("a plain HTTP client")
}

fn config() -> GatewayConfig {
    GatewayConfig::new(recordings()).api_key(KEY)
}

fn faults() -> Faults {
    Faults::default()
}

/// The turn the recording's bytes fold to, read straight from the file (no
/// server), with the ids the gateway minted for `like`.
async fn reference(name: &str, like: &Response) -> Turn {
    let bytes = Bytes::from(recording_bytes(name));
    let mut stream = ResponseStream::new(futures_util::stream::iter([Ok::<_, Infallible>(bytes)]));
    while let Some(item) = stream.next().await {
        item.unwrap_or_else(|err| panic!("{name}: the recording is valid: {err}"));
    }
    let mut turn = stream.into_turn();
    turn.response.id.clone_from(&like.id);
    turn.response.session_id.clone_from(&like.session_id);
    turn
}

fn is_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Streams one turn, recording the index of every event the caller is shown.
async fn stream_turn(client: &Client, input: &str) -> Result<(Outcome, Vec<usize>), ClientError> {
    let request = CreateResponse::builder(input)
        .build()
        .expect("valid request");
    let mut shown = Vec::new();
    let outcome = bounded(
        input,
        client.stream(&request, |notice| {
            if let Notice::Event(event) = notice {
                shown.push(event.index);
            }
        }),
    )
    .await?;
    Ok((outcome, shown))
}

/// The client's fold equals the recording's, every event was shown exactly
/// once and in order, and no contract finding came up.
async fn assert_faithful(name: &str, outcome: &Outcome, shown: &[usize], context: &str) {
    let expected = reference(name, &outcome.turn.response).await;
    assert_eq!(
        outcome.turn, expected,
        "{name} {context}: folded turn differs"
    );
    let all: Vec<usize> = (0..shown.len()).collect();
    assert_eq!(
        shown, all,
        "{name} {context}: events lost, repeated or reordered"
    );
    assert!(
        outcome.findings.is_empty(),
        "{name} {context}: {:?}",
        outcome.findings
    );
    assert!(
        is_id(&outcome.turn.response.id),
        "{}",
        outcome.turn.response.id
    );
    assert!(is_id(&outcome.turn.response.session_id));
}

fn event_count(name: &str) -> usize {
    recordings()
        .iter()
        .find(|r| r.name() == name)
        .map(|r| r.events().len())
        .expect("recording exists")
}

/// Where to break the first connection of a recording: every point, except in
/// the huge one, where a sample does.
fn drop_points(name: &str) -> Vec<usize> {
    let n = event_count(name);
    if n <= 64 {
        (1..n).collect()
    } else {
        vec![1, n / 2, n - 1]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_drop_point_resumes_with_nothing_lost_or_repeated() {
    let names: Vec<String> = recordings().iter().map(|r| r.name().to_owned()).collect();
    for name in &names {
        for (at, chunk) in drop_points(name)
            .into_iter()
            .zip([None, NonZeroUsize::new(5)].into_iter().cycle())
        {
            let mut faults = faults();
            faults.drop_after_events = Some(at);
            faults.chunk_size = chunk;
            let server = Server::with_faults(faults).await;
            let (outcome, shown) = stream_turn(&server.client(), name)
                .await
                .unwrap_or_else(|err| panic!("{name} dropped after {at}: {err}"));
            let context = format!("dropped after {at} events, chunks {chunk:?}");
            assert_eq!(outcome.reconnects, 1, "{name} {context}");
            assert_faithful(name, &outcome, &shown, &context).await;
            server.stop().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_before_created_is_reported_not_retried() {
    let mut faults = faults();
    faults.drop_after_events = Some(0);
    let server = Server::with_faults(faults).await;
    let err = stream_turn(&server.client(), "simple-answer")
        .await
        .expect_err("no response id to resume with");
    assert!(matches!(err, ClientError::NoResponseId(_)), "{err}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byte_at_a_time_chunking_gives_the_same_turns() {
    // The 600 KB recording a byte at a time would take most of the test
    // budget; 13-byte writes still cut its lines and events at odd places.
    for (size, large) in [(1, false), (13, true)] {
        let mut faults = faults();
        faults.chunk_size = NonZeroUsize::new(size);
        let server = Server::with_faults(faults).await;
        let client = server.client();
        for recording in recordings().iter() {
            let name = recording.name();
            if (name == "large-output") != large {
                continue;
            }
            let (outcome, shown) = stream_turn(&client, name)
                .await
                .unwrap_or_else(|err| panic!("{name}: {err}"));
            assert_eq!(outcome.reconnects, 0);
            assert_faithful(name, &outcome, &shown, &format!("{size}-byte writes")).await;
        }
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_streams_all_complete() {
    let mut faults = faults();
    faults.chunk_size = NonZeroUsize::new(64);
    faults.chunk_delay = Duration::from_millis(1);
    faults.heartbeat = Some(Duration::from_millis(5));
    let server = Server::start(
        config()
            .faults(faults)
            .event_interval(Duration::from_millis(5)),
    )
    .await;
    let names: Vec<String> = recordings()
        .iter()
        .map(|r| r.name().to_owned())
        .filter(|name| name != "large-output")
        .collect();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let client = server.client();
        let name = names[i % names.len()].clone();
        tasks.push(tokio::spawn(async move {
            let result = stream_turn(&client, &name).await;
            (name, result)
        }));
    }
    let mut sessions = std::collections::HashSet::new();
    for task in tasks {
        let (name, result) = bounded("join", task).await.expect("task ran");
        let (outcome, shown) = result.unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_faithful(&name, &outcome, &shown, "concurrent").await;
        assert!(sessions.insert(outcome.turn.response.session_id.clone()));
    }
    assert_eq!(sessions.len(), 200, "every turn got its own session");
    server.stop().await;
}

/// Sends a raw request; returns status, `Retry-After` and the parsed body.
async fn raw(
    request: reqwest::RequestBuilder,
) -> (u16, Option<String>, serde_json::Value, ApiError) {
    let response = bounded("raw request", request.send()).await.expect("sent");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().expect("ascii").to_owned());
    assert_eq!(
        response.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
    let body = response.bytes().await.expect("body");
    let json = serde_json::from_slice(&body).expect("JSON body");
    let typed = ApiError::from_response(status, retry_after.as_deref(), &body);
    (status, retry_after, json, typed)
}

/// The gateway envelope: `{"error": {"code", "message", ...}}` and nothing else.
fn assert_envelope(json: &serde_json::Value, code: &str, param: Option<&str>) {
    let object = json.as_object().expect("object");
    assert_eq!(object.len(), 1, "{json}");
    let error = json["error"].as_object().expect("error object");
    assert_eq!(error["code"], code, "{json}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{json}"
    );
    assert_eq!(error.get("param").and_then(|p| p.as_str()), param, "{json}");
    for key in error.keys() {
        assert!(
            ["code", "message", "param", "hint"].contains(&key.as_str()),
            "{json}"
        );
    }
}

fn api(err: ClientError) -> ApiError {
    match err {
        ClientError::Api(err) => err,
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_and_validation_errors_have_the_documented_envelopes() {
    let server = Server::start(config()).await;
    let http = http();
    let url = format!("{}/v1/responses", server.url);
    let body = r#"{"input":"hi"}"#;

    // 401: missing, malformed, wrong key.
    for auth in [None, Some("Basic abc"), Some("Bearer wrong")] {
        let mut request = http.post(&url).body(body);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let (status, _, json, typed) = raw(request).await;
        assert_eq!(status, 401, "{auth:?}");
        assert_envelope(&json, "invalid_api_key", None);
        assert_eq!(typed.code(), Some(&ErrorCode::InvalidApiKey));
    }
    let wrong = Client::with_http(&server.url, "wrong", http.clone());
    let err = api(stream_turn(&wrong, "hi").await.expect_err("401"));
    assert_eq!(
        (err.status(), err.code()),
        (401, Some(&ErrorCode::InvalidApiKey))
    );
    assert!(!err.is_retryable());

    // 400 with `param`: the very error the protocol layer gives for the body.
    for (body, param) in [
        (r#"{"input": 42}"#.to_owned(), Some("input")),
        (r#"{"stream": true}"#.to_owned(), Some("input")),
        (
            r#"{"input": "hi", "reasoning_effort": "max"}"#.to_owned(),
            Some("reasoning_effort"),
        ),
        (
            r#"{"input": "hi", "agent": "codex"}"#.to_owned(),
            Some("agent"),
        ),
        (r#"[1, 2]"#.to_owned(), None),
        ("not json".to_owned(), None),
    ] {
        let request = http.post(&url).bearer_auth(KEY).body(body.clone());
        let (status, _, json, typed) = raw(request).await;
        assert_eq!(status, 400, "{body}");
        assert_envelope(&json, "validation_error", param);
        let local = CreateResponse::from_body(body.as_bytes()).expect_err("invalid");
        assert_eq!(typed, local, "{body}");
    }
    let goal = CreateResponse::builder("hi")
        .mode(Mode::Goal)
        .build_unchecked();
    let err = api(server
        .client()
        .stream(&goal, |_| {})
        .await
        .expect_err("goal is reserved"));
    assert_eq!(err.code(), Some(&ErrorCode::ValidationError));
    assert_eq!((err.status(), err.param()), (400, Some("mode")));

    // 413: one byte over 2 MB.
    let mut big = br#"{"input":""#.to_vec();
    big.resize(MAX_BODY_BYTES - 1, b'a');
    big.extend_from_slice(br#""}"#);
    assert_eq!(big.len(), MAX_BODY_BYTES + 1);
    let (status, _, json, typed) = raw(http.post(&url).bearer_auth(KEY).body(big)).await;
    assert_eq!(status, 413);
    assert_envelope(&json, "payload_too_large", None);
    assert_eq!(typed.code(), Some(&ErrorCode::PayloadTooLarge));
    // Exactly 2 MB is accepted.
    let mut fits = br#"{"input":""#.to_vec();
    fits.resize(MAX_BODY_BYTES - 2, b'a');
    fits.extend_from_slice(br#""}"#);
    let response = http
        .post(&url)
        .bearer_auth(KEY)
        .body(fits)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_are_404() {
    let server = Server::start(config()).await;
    let client = server.client();
    let request = CreateResponse::builder("hi")
        .session_id("0123456789abcdef0123456789abcdef")
        .build()
        .expect("valid");
    let err = api(client.create(&request).await.expect_err("unknown session"));
    assert_eq!(
        (err.status(), err.code()),
        (404, Some(&ErrorCode::SessionNotFound))
    );

    let http = http();
    let id = "fedcba9876543210fedcba9876543210";
    for request in [
        http.get(format!("{}/v1/responses/{id}", server.url)),
        http.get(format!("{}/v1/responses/{id}/stream", server.url)),
        http.post(format!("{}/v1/responses/{id}/cancel", server.url)),
    ] {
        let (status, _, json, typed) = raw(request.bearer_auth(KEY)).await;
        assert_eq!(status, 404);
        assert_envelope(&json, "response_not_found", None);
        assert_eq!(typed.code(), Some(&ErrorCode::from("response_not_found")));
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_session_is_409_until_the_turn_is_cancelled() {
    let server = Server::start(config().event_interval(Duration::from_millis(200))).await;
    let client = server.client();
    let http = http();

    // Start a slow turn and read just its `response.created`.
    let response = http
        .post(format!("{}/v1/responses", server.url))
        .bearer_auth(KEY)
        .body(r#"{"input":"tool-calls-overlapping","stream":true}"#)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        response.headers()["content-type"].as_bytes(),
        b"text/event-stream"
    );
    let mut events = ResponseStream::new(Box::pin(response.bytes_stream()));
    let first = bounded("created", events.next())
        .await
        .expect("an event")
        .expect("valid");
    let ResponseEvent::Created(created) = first.event else {
        panic!("first event is {:?}", first.event);
    };
    assert!(is_id(&created.id) && is_id(&created.session_id));

    // The response object is in progress meanwhile.
    let running = client.fetch(&created.id).await.expect("fetch");
    assert_eq!(running.status, Status::InProgress);
    assert_eq!(running.session_id, created.session_id);

    let next = CreateResponse::builder("simple-answer")
        .session_id(created.session_id.to_string())
        .build()
        .expect("valid");
    let err = api(client.create(&next).await.expect_err("busy"));
    assert_eq!(
        (err.status(), err.code()),
        (409, Some(&ErrorCode::SessionBusy))
    );
    assert!(!err.is_retryable());

    // Cancel: the object says cancelled, the open stream ends with a terminal event.
    let cancelled = client.cancel(&created.id).await.expect("cancel");
    assert_eq!(cancelled.status, Status::Cancelled);
    let mut last = None;
    while let Some(item) = bounded("stream end", events.next()).await {
        last = Some(item.expect("valid events").event);
    }
    match last {
        Some(ResponseEvent::Failed(failed)) => assert_eq!(failed.error.code, "cancelled"),
        other => panic!("the stream ended with {other:?}"),
    }
    // Cancelling again is a no-op that returns the terminal state.
    let again = client.cancel(&created.id).await.expect("cancel again");
    assert_eq!(again.status, Status::Cancelled);

    // The session is free again, and keeps its conversation going.
    let done = bounded("next turn", client.create(&next))
        .await
        .expect("session free");
    assert_eq!(done.status, Status::Completed);
    assert_eq!(done.session_id, created.session_id.as_ref());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_429_carries_retry_after_and_the_client_waits_for_it() {
    let mut faults = faults();
    faults.fail_first = 2;
    faults.fail_status = FailStatus::RateLimited;
    faults.retry_after = Duration::from_secs(1);
    let server = Server::with_faults(faults).await;
    let http = http();

    // The first refusal, seen raw (before authentication, like a rate limiter).
    let (status, retry_after, json, typed) =
        raw(http.post(format!("{}/v1/responses", server.url)).body("{}")).await;
    assert_eq!(status, 429);
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_envelope(&json, "rate_limited", None);
    assert_eq!(typed.code(), Some(&ErrorCode::RateLimited));
    assert_eq!(typed.retry_after(), Some(Duration::from_secs(1)));
    assert!(typed.is_retryable());

    // The second one the client absorbs, waiting as told.
    let started = Instant::now();
    let (outcome, shown) = stream_turn(&server.client(), "simple-answer")
        .await
        .expect("retried to success");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(outcome.retries, 1);
    assert_faithful("simple-answer", &outcome, &shown, "after a 429").await;
    server.stop().await;

    // A client that may not retry gets the typed error.
    let mut faults = self::faults();
    faults.fail_first = 1;
    let server = Server::with_faults(faults).await;
    let mut client = server.client();
    client.max_attempts = 1;
    let err = api(stream_turn(&client, "simple-answer")
        .await
        .expect_err("429"));
    assert_eq!(
        (err.status(), err.code()),
        (429, Some(&ErrorCode::RateLimited))
    );
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_503_is_retried_with_backoff() {
    let mut faults = faults();
    faults.fail_first = 3;
    faults.fail_status = FailStatus::InsufficientCapacity;
    let server = Server::with_faults(faults).await;
    let http = http();
    let (status, retry_after, json, typed) = raw(http
        .get(format!("{}/v1/responses/x", server.url))
        .bearer_auth(KEY))
    .await;
    assert_eq!((status, retry_after), (503, None));
    assert_envelope(&json, "insufficient_capacity", None);
    assert_eq!(typed.code(), Some(&ErrorCode::InsufficientCapacity));
    assert!(typed.is_retryable());

    let (outcome, shown) = stream_turn(&server.client(), "unicode")
        .await
        .expect("retried to success");
    assert_eq!(outcome.retries, 2);
    assert_faithful("unicode", &outcome, &shown, "after 503s").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_streamed_fetched_and_replayed_turns_agree() {
    let server = Server::start(config()).await;
    let client = server.client();
    let request = CreateResponse::builder("tool-calls-overlapping")
        .model("claude-sonnet-4")
        .provider("anthropic")
        .metadata_entry("user", "u_42")
        .build()
        .expect("valid");

    // `stream: false`: the folded response object, with what the request set.
    let before = agent37_stream_now_ms();
    let response = bounded("create", client.create(&request))
        .await
        .expect("created");
    assert!(is_id(&response.id) && is_id(&response.session_id));
    assert_eq!(response.status, Status::Completed);
    assert_eq!(response.model.as_deref(), Some("claude-sonnet-4"));
    assert_eq!(response.provider.as_deref(), Some("anthropic"));
    assert_eq!(
        response.metadata.as_ref().map(|m| m["user"].clone()),
        Some("u_42".into())
    );
    assert!(response.created >= before);
    let mut expected = reference("tool-calls-overlapping", &response)
        .await
        .response;
    expected.model.clone_from(&response.model);
    expected.provider.clone_from(&response.provider);
    expected.metadata.clone_from(&response.metadata);
    expected.created = response.created;
    assert_eq!(response, expected);

    // Fetched again: the same object.
    assert_eq!(client.fetch(&response.id).await.expect("fetch"), response);

    // Replayed after the end: every event, then the stream ends.
    let replay = http()
        .get(format!(
            "{}/v1/responses/{}/stream",
            server.url, response.id
        ))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("sent");
    let mut events = ResponseStream::new(Box::pin(replay.bytes_stream()));
    let mut count = 0;
    while let Some(item) = bounded("replay", events.next()).await {
        item.expect("valid replay");
        count += 1;
    }
    assert_eq!(count, event_count("tool-calls-overlapping"));
    assert_eq!(events.turn().response.output_text, response.output_text);
    assert_eq!(events.turn().response.id, response.id);

    // Cancelling a finished turn changes nothing.
    assert_eq!(client.cancel(&response.id).await.expect("cancel"), response);

    // The session remembers the model for the next turn.
    let next = CreateResponse::builder("simple-answer")
        .session_id(response.session_id.clone())
        .build()
        .expect("valid");
    let second = client.create(&next).await.expect("continued");
    assert_eq!(second.session_id, response.session_id);
    assert_ne!(second.id, response.id);
    assert_eq!(second.model.as_deref(), Some("claude-sonnet-4"));
    assert_eq!(second.metadata, None);
    server.stop().await;
}

fn agent37_stream_now_ms() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    u64::try_from(now.as_millis()).expect("fits")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_attaches_live_and_heartbeats_keep_idle_streams_alive() {
    let mut faults = faults();
    faults.heartbeat = Some(Duration::from_millis(20));
    let server = Server::start(
        config()
            .faults(faults)
            .event_interval(Duration::from_millis(80)),
    )
    .await;
    let client = server.client();
    let http = http();
    let response = http
        .post(format!("{}/v1/responses", server.url))
        .bearer_auth(KEY)
        .body(r#"{"input":"simple-answer","stream":true}"#)
        .send()
        .await
        .expect("sent");
    let mut first = ResponseStream::new(Box::pin(response.bytes_stream()));
    let created = bounded("created", first.next())
        .await
        .expect("event")
        .expect("valid");
    let ResponseEvent::Created(created) = created.event else {
        panic!("not created first");
    };

    // A second reader attaches mid-turn through the replay endpoint and reads
    // the raw bytes: heartbeats, then the whole turn.
    let replay = http
        .get(format!("{}/v1/responses/{}/stream", server.url, created.id))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("sent");
    let raw = bounded("replay body", replay.bytes()).await.expect("body");
    let text = String::from_utf8(raw.to_vec()).expect("UTF-8");
    assert!(text.contains(": keep-alive\n\n"), "{text}");
    let mut replayed = ResponseStream::new(futures_util::stream::iter([Ok::<_, Infallible>(raw)]));
    while let Some(item) = replayed.next().await {
        item.expect("valid replay");
    }
    while let Some(item) = bounded("first stream", first.next()).await {
        item.expect("valid stream");
    }
    assert!(first.is_terminated() && replayed.is_terminated());
    assert_eq!(first.turn(), replayed.turn());
    let fetched = client.fetch(&created.id).await.expect("fetch");
    assert_eq!(fetched.status, Status::Completed);
    assert_eq!(fetched.output_text, first.turn().response.output_text);
    assert_eq!(fetched.usage, first.turn().response.usage);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_open_streams() {
    // Streams in flight get the grace period to finish, then are cut.
    let mut limits = ConnectionLimits::default();
    limits.shutdown_grace = Duration::from_millis(200);
    let server = Server::start(
        config()
            .event_interval(Duration::from_secs(5))
            .connection_limits(limits),
    )
    .await;
    let response = http()
        .post(format!("{}/v1/responses", server.url))
        .bearer_auth(KEY)
        .body(r#"{"input":"simple-answer","stream":true}"#)
        .send()
        .await
        .expect("sent");
    let mut events = ResponseStream::new(Box::pin(response.bytes_stream()));
    bounded("created", events.next())
        .await
        .expect("event")
        .expect("valid");
    let url = server.url.clone();
    let started = Instant::now();
    server.stop().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    // The stream ends early (no terminal event), and nothing listens any more.
    let rest: Vec<_> = bounded("end", events.collect::<Vec<_>>()).await;
    assert!(rest.iter().any(|item| item.is_err()), "{rest:?}");
    assert!(http().get(&url).send().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_streams_in_flight_finish_within_the_grace_period() {
    let mut limits = ConnectionLimits::default();
    limits.shutdown_grace = Duration::from_secs(20);
    let server = Server::start(
        config()
            .event_interval(Duration::from_millis(40))
            .connection_limits(limits),
    )
    .await;
    let response = http()
        .post(format!("{}/v1/responses", server.url))
        .bearer_auth(KEY)
        .body(r#"{"input":"simple-answer","stream":true}"#)
        .send()
        .await
        .expect("sent");
    let mut events = ResponseStream::new(Box::pin(response.bytes_stream()));
    bounded("created", events.next())
        .await
        .expect("event")
        .expect("valid");
    let started = Instant::now();
    let stopping = tokio::spawn(server.stop());
    // The turn plays to its end on the open stream, and the gateway stops
    // once it has, well before the deadline.
    let rest: Vec<_> = bounded("end", events.collect::<Vec<_>>()).await;
    assert!(rest.iter().all(Result::is_ok), "{rest:?}");
    let last = rest.last().expect("events").as_ref().expect("valid");
    assert!(last.event.is_terminal(), "{last:?}");
    bounded("stop", stopping).await.expect("stopped");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_loopback_addresses_are_served() {
    let addr: SocketAddr = ([0, 0, 0, 0], 0).into();
    let err = Gateway::new(config())
        .bind(addr)
        .await
        .expect_err("not loopback");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_other_input_plays_the_first_recording_by_name() {
    let server = Server::start(config()).await;
    let first = recordings().iter().next().expect("one").name().to_owned();
    let (outcome, shown) = stream_turn(&server.client(), "Research the top 3 EV makers.")
        .await
        .expect("streamed");
    assert_faithful(&first, &outcome, &shown, "fallback").await;
    server.stop().await;
}
