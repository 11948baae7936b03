//! The library client (`agent37_stream::client`) against a local gateway
//! (`agent37_stream::serve`) over loopback, under each fault the gateway can
//! inject: the folded turn is the recording's, every event comes once, and
//! the recorded stream passes `check`.
#![cfg(all(feature = "client", feature = "serve"))]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use agent37_stream::ByteStreamExt;
use agent37_stream::check::{CheckOptions, check_bytes};
use agent37_stream::client::{Client, ClientError, Notice, RetryPolicy, TurnStream};
use agent37_stream::protocol::error::ErrorCode;
use agent37_stream::protocol::event::ResponseEvent;
use agent37_stream::protocol::fold::Turn;
use agent37_stream::protocol::request::{CreateResponse, MAX_METADATA_PAIRS};
use agent37_stream::protocol::response::Status;
use agent37_stream::serve::{
    FailStatus, Faults, Gateway, GatewayConfig, GatewayHandle, Recordings,
};
use bytes::Bytes;
use futures_util::StreamExt;

const VALID: &str = "testdata/recordings/valid";
const KEY: &str = "sk_test_client";
const STEP: Duration = Duration::from_secs(30);
const RECORD_LIMIT: usize = 64 << 20;

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

fn event_count(name: &str) -> usize {
    recordings()
        .iter()
        .find(|r| r.name() == name)
        .map(|r| r.events().len())
        .expect("recording exists")
}

struct Server {
    url: String,
    handle: GatewayHandle,
}

impl Server {
    async fn start(config: GatewayConfig) -> Server {
        let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
        let (bound, handle) = Gateway::new(config).bind(addr).await.expect("bind");
        Server {
            url: format!("http://{bound}"),
            handle,
        }
    }

    async fn with_faults(faults: Faults) -> Server {
        Server::start(GatewayConfig::new(recordings()).api_key(KEY).faults(faults)).await
    }

    async fn stop(self) {
        bounded("shutdown", self.handle.shutdown())
            .await
            .expect("clean shutdown");
    }
}

/// Fast waits, no jitter: the tests measure behaviour, not patience.
fn policy() -> RetryPolicy {
    RetryPolicy::default()
        .jitter(false)
        .backoff(Duration::from_millis(5), Duration::from_millis(20))
        .reconnect_delay(Duration::from_millis(5))
}

/// A client of `server` and the notices it gives.
fn connect(server: &Server, policy: RetryPolicy) -> (Client, Arc<Mutex<Vec<String>>>) {
    let notices = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&notices);
    let client = Client::builder()
        .base_url(&server.url)
        .api_key(KEY)
        .retry_policy(policy)
        .read_timeout(STEP)
        .on_notice(move |notice| {
            let kind = match notice {
                Notice::Retrying { .. } => "retry",
                Notice::Reconnecting { .. } => "reconnect",
                _ => "other",
            };
            seen.lock().unwrap().push(format!("{kind}: {notice}"));
        })
        .build()
        .expect("client");
    (client, notices)
}

/// The turn a recording's own bytes fold to (no server), with the ids and
/// creation time of `like`.
async fn reference(name: &str, like: &Turn) -> Turn {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(VALID)
        .join(format!("{name}.sse"));
    let bytes = Bytes::from(std::fs::read(path).expect("recording readable"));
    fold(bytes, like).await
}

async fn fold(bytes: Bytes, like: &Turn) -> Turn {
    let mut stream = futures_util::stream::iter([Ok::<_, Infallible>(bytes)]).response_events();
    while let Some(item) = stream.next().await {
        item.expect("a valid stream");
    }
    let mut turn = stream.into_turn();
    turn.response.id.clone_from(&like.response.id);
    turn.response
        .session_id
        .clone_from(&like.response.session_id);
    turn.response.created = like.response.created;
    turn
}

/// A streamed turn, its recorded bytes and the indices of the events shown.
struct Run {
    turn: Turn,
    shown: Vec<usize>,
    recorded: Vec<u8>,
    reconnects: u32,
    retries: u32,
}

async fn stream_turn(client: &Client, input: &str) -> Result<Run, ClientError> {
    bounded(input, async {
        let request = CreateResponse::new(input);
        let mut stream = client.create_stream(request).await?.record(RECORD_LIMIT);
        let mut shown = Vec::new();
        while let Some(event) = stream.next().await {
            shown.push(event?.index);
        }
        assert!(
            stream.is_terminated(),
            "{input}: ended without its terminal event"
        );
        assert!(
            stream.warnings().is_empty(),
            "{input}: {:?}",
            stream.warnings()
        );
        let recorded = stream.recorded().expect("recorded under the limit");
        let (reconnects, retries) = (stream.reconnects(), stream.retries());
        let turn = stream.into_turn();
        Ok(Run {
            turn,
            shown,
            recorded,
            reconnects,
            retries,
        })
    })
    .await
}

/// The fold equals the recording's, each event was shown once in order, and
/// the recorded bytes pass `check` and fold to the same turn.
async fn assert_faithful(name: &str, run: &Run, context: &str) {
    let expected = reference(name, &run.turn).await;
    assert_eq!(run.turn, expected, "{name} {context}: folded turn differs");
    let all: Vec<usize> = (0..event_count(name)).collect();
    assert_eq!(
        run.shown, all,
        "{name} {context}: events lost, repeated or reordered"
    );
    let report = check_bytes(&run.recorded, &CheckOptions::default());
    assert!(
        report.findings.is_empty(),
        "{name} {context}: {:?}",
        report.findings
    );
    assert_eq!(
        report.events,
        all.len(),
        "{name} {context}: the recording is not the whole turn"
    );
    let refolded = fold(Bytes::from(run.recorded.clone()), &run.turn).await;
    assert_eq!(
        refolded, expected,
        "{name} {context}: the recording folds differently"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_after_every_event_resumes_with_nothing_lost_or_repeated() {
    for name in ["tool-calls-overlapping", "retry-and-ids"] {
        for at in 1..event_count(name) {
            let chunk = if at % 2 == 0 {
                NonZeroUsize::new(7)
            } else {
                None
            };
            let mut faults = Faults::default();
            faults.drop_after_events = Some(at);
            faults.chunk_size = chunk;
            let server = Server::with_faults(faults).await;
            let (client, notices) = connect(&server, policy());
            let run = stream_turn(&client, name)
                .await
                .unwrap_or_else(|e| panic!("{name} @{at}: {e}"));
            assert_eq!(run.reconnects, 1, "{name} @{at}");
            let notices = notices.lock().unwrap().clone();
            assert_eq!(notices.len(), 1, "{notices:?}");
            assert!(notices[0].starts_with("reconnect: "), "{notices:?}");
            assert_faithful(name, &run, &format!("drop after {at}, chunk {chunk:?}")).await;
            server.stop().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_flag_gives_the_recorded_turn() {
    let mut cases: Vec<(&str, Faults)> = Vec::new();
    let mut f = Faults::default();
    f.fail_first = 2;
    f.fail_status = FailStatus::RateLimited;
    f.retry_after = Duration::ZERO;
    cases.push(("fail-first 429", f));
    let mut f = Faults::default();
    f.fail_first = 2;
    f.fail_status = FailStatus::InsufficientCapacity;
    cases.push(("fail-first 503", f));
    let mut f = Faults::default();
    f.chunk_size = NonZeroUsize::new(1);
    cases.push(("chunk-size 1", f));
    let mut f = Faults::default();
    f.chunk_size = NonZeroUsize::new(16);
    f.chunk_delay = Duration::from_millis(1);
    cases.push(("delay", f));
    let mut f = Faults::default();
    f.heartbeat = Some(Duration::from_millis(2));
    cases.push(("heartbeat", f));
    let mut f = Faults::default();
    f.drop_after_events = Some(3);
    f.chunk_size = NonZeroUsize::new(3);
    f.fail_first = 1;
    cases.push(("all at once", f));
    for (what, faults) in cases {
        let heartbeat = faults.heartbeat.is_some();
        let fail_first = faults.fail_first;
        let mut config = GatewayConfig::new(recordings()).api_key(KEY).faults(faults);
        if heartbeat {
            // Idle gaps for the heartbeats to fill.
            config = config.event_interval(Duration::from_millis(6));
        }
        let server = Server::start(config).await;
        let (client, _) = connect(&server, policy());
        let mut retries = 0;
        for name in ["tool-calls-overlapping", "unicode", "failed-turn"] {
            let run = stream_turn(&client, name)
                .await
                .unwrap_or_else(|e| panic!("{what} {name}: {e}"));
            assert_faithful(name, &run, what).await;
            retries += u64::from(run.retries);
        }
        // Each refused request was sent again once, and only those.
        assert_eq!(retries, fail_first, "{what}");
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_are_retried_then_given_up_with_the_typed_error() {
    let mut faults = Faults::default();
    faults.fail_first = 2;
    faults.retry_after = Duration::ZERO;
    let server = Server::with_faults(faults).await;
    let (client, notices) = connect(&server, policy());
    let run = stream_turn(&client, "simple-answer")
        .await
        .expect("retried to success");
    assert_eq!(run.retries, 2);
    assert_eq!(notices.lock().unwrap().len(), 2);
    server.stop().await;

    for status in [FailStatus::RateLimited, FailStatus::InsufficientCapacity] {
        let mut faults = Faults::default();
        faults.fail_first = 10;
        faults.fail_status = status;
        faults.retry_after = Duration::ZERO;
        let server = Server::with_faults(faults).await;
        let (client, notices) = connect(&server, policy().max_retries(3));
        let err = stream_turn(&client, "simple-answer")
            .await
            .err()
            .expect("gives up");
        let api = err.api_error().unwrap_or_else(|| panic!("{err}"));
        assert_eq!(api.status(), status.http_status());
        assert_eq!(
            notices.lock().unwrap().len(),
            3,
            "{status}: three retries, then the error"
        );
        // Non-streaming calls retry the same way.
        let err = bounded("get", client.get("0123")).await.unwrap_err();
        assert_eq!(
            err.api_error().map(|e| e.status()),
            Some(status.http_status())
        );
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_and_validation_errors_are_not_retried() {
    let server = Server::with_faults(Faults::default()).await;
    let (good, notices) = connect(&server, policy());
    let bad = Client::builder()
        .base_url(&server.url)
        .api_key("sk_wrong")
        .retry_policy(policy())
        .build()
        .unwrap();
    let err = bounded("auth", bad.create_stream(CreateResponse::new("x")))
        .await
        .unwrap_err();
    let api = err.api_error().expect("typed");
    assert_eq!(
        (api.status(), api.code()),
        (401, Some(&ErrorCode::InvalidApiKey))
    );
    assert!(api.hint().is_some());

    // Caught before sending: no request reaches the server.
    let mut request = CreateResponse::new("x");
    for i in 0..=MAX_METADATA_PAIRS {
        request
            .metadata
            .get_or_insert_default()
            .insert(format!("k{i}"), "v".into());
    }
    let err = bounded("metadata", good.create(request)).await.unwrap_err();
    let api = err.api_error().expect("typed");
    assert_eq!(api.code(), Some(&ErrorCode::ValidationError));
    assert_eq!(api.param(), Some("metadata"));

    let request = CreateResponse::builder("x")
        .session_id("nope")
        .build()
        .unwrap();
    let err = bounded("session", good.create_stream(request))
        .await
        .unwrap_err();
    let api = err.api_error().expect("typed");
    assert_eq!(
        (api.status(), api.code()),
        (404, Some(&ErrorCode::SessionNotFound))
    );
    let err = bounded("get", good.get("0123456789abcdef0123456789abcdef"))
        .await
        .unwrap_err();
    assert_eq!(err.api_error().map(|e| e.status()), Some(404));
    assert!(notices.lock().unwrap().is_empty(), "nothing was retried");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_before_created_or_past_the_reconnect_limit_is_an_error() {
    let mut faults = Faults::default();
    faults.drop_after_events = Some(0);
    let server = Server::with_faults(faults).await;
    let (client, _) = connect(&server, policy());
    match stream_turn(&client, "simple-answer").await {
        Err(ClientError::Disconnected {
            response_id: None,
            reconnects: 0,
            ..
        }) => {}
        other => panic!("{:?}", other.err()),
    }
    server.stop().await;

    let mut faults = Faults::default();
    faults.drop_after_events = Some(2);
    let server = Server::with_faults(faults).await;
    let (client, _) = connect(&server, policy().max_reconnects(0));
    match stream_turn(&client, "simple-answer").await {
        Err(ClientError::Disconnected {
            response_id: Some(id),
            reconnects: 0,
            ..
        }) => {
            assert_eq!(id.len(), 32);
        }
        other => panic!("{:?}", other.err()),
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_running_turn() {
    let config = GatewayConfig::new(recordings())
        .api_key(KEY)
        .event_interval(Duration::from_millis(40));
    let server = Server::start(config).await;
    let (client, _) = connect(&server, policy());
    let name = "tool-calls-overlapping";
    let mut stream: TurnStream = bounded("create", client.create_stream(CreateResponse::new(name)))
        .await
        .unwrap();
    bounded("first", stream.next())
        .await
        .expect("an event")
        .expect("valid");
    let id = stream.response_id().expect("created came first").to_owned();
    let cancelled = bounded("cancel", client.cancel(&id)).await.unwrap();
    assert_eq!(cancelled.status, Status::Cancelled);
    // The gateway ends a cancelled turn's stream with `response.failed`
    // (code `cancelled`); a stream that just stops is covered in client_retry.
    let mut seen = 1;
    let mut last = None;
    while let Some(event) = bounded("rest", stream.next()).await {
        last = Some(event.expect("valid").event);
        seen += 1;
    }
    match last {
        Some(ResponseEvent::Failed(failed)) => assert_eq!(failed.error.code, "cancelled"),
        other => panic!("{other:?}"),
    }
    assert!(seen < event_count(name), "the turn went on to its end");
    assert!(stream.is_terminated());
    assert_eq!(
        bounded("get", client.get(&id)).await.unwrap().status,
        Status::Cancelled
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_get_and_replay_agree_with_the_stream() {
    let server = Server::with_faults(Faults::default()).await;
    let (client, _) = connect(&server, policy());
    let name = "tool-calls-overlapping";
    let streamed = stream_turn(&client, name).await.unwrap();
    let id = streamed.turn.response.id.clone();
    let fetched = bounded("get", client.get(&id)).await.unwrap();
    assert_eq!(fetched.output_text, streamed.turn.response.output_text);
    assert_eq!(fetched.status, Status::Completed);
    let mut replay = bounded("replay", client.replay(&id))
        .await
        .unwrap()
        .record(RECORD_LIMIT);
    let mut count = 0;
    while let Some(event) = bounded("replay event", replay.next()).await {
        assert_eq!(event.unwrap().index, count);
        count += 1;
    }
    assert_eq!(count, event_count(name));
    assert_eq!(replay.recorded(), Some(streamed.recorded.clone()));
    let created = bounded("create", client.create(CreateResponse::new(name)))
        .await
        .unwrap();
    assert_eq!(created.status, Status::Completed);
    assert_eq!(created.output_text, fetched.output_text);
    assert_ne!(created.id, id);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_over_its_limit_is_dropped_not_grown() {
    let server = Server::with_faults(Faults::default()).await;
    let (client, _) = connect(&server, policy());
    let mut stream = bounded(
        "create",
        client.create_stream(CreateResponse::new("unicode")),
    )
    .await
    .unwrap()
    .record(16);
    while let Some(event) = bounded("event", stream.next()).await {
        event.unwrap();
    }
    assert_eq!(stream.recorded(), None);
    server.stop().await;
}
