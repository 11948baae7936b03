//! The gateway's bounded store of turns, over real loopback TCP: many turns
//! under a small budget stay within it, the least recently used go first,
//! running turns stay, and an evicted id answers 404 saying it expired.
#![cfg(feature = "serve")]

use std::path::Path;
use std::time::Duration;

use agent37_stream::serve::{Gateway, GatewayConfig, GatewayHandle, Recordings, StoreLimits};

const KEY: &str = "sk_test_store";
const STEP: Duration = Duration::from_secs(30);

struct Server {
    url: String,
    handle: GatewayHandle,
    http: reqwest::Client,
}

impl Server {
    async fn start(config: GatewayConfig) -> Server {
        let (addr, handle) = Gateway::new(config.api_key(KEY))
            .bind(([127, 0, 0, 1], 0).into())
            .await
            .expect("bind");
        // With the `client` feature, reqwest has TLS but no provider of its own.
        #[cfg(feature = "client")]
        agent37_stream::client::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(STEP)
            .build()
            .expect("client");
        Server {
            url: format!("http://{addr}"),
            handle,
            http,
        }
    }

    /// Plays a turn to its end (not streamed): its response id.
    async fn turn(&self, input: &str) -> String {
        let response = self
            .http
            .post(format!("{}/v1/responses", self.url))
            .bearer_auth(KEY)
            .body(serde_json::json!({ "input": input }).to_string())
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), 200);
        let json: serde_json::Value = body_json(response).await;
        json["id"].as_str().expect("an id").to_owned()
    }

    /// `GET /v1/responses/{id}`: the status and body.
    async fn fetch(&self, id: &str) -> (u16, serde_json::Value) {
        let response = self
            .http
            .get(format!("{}/v1/responses/{id}", self.url))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("answered");
        let status = response.status().as_u16();
        (status, body_json(response).await)
    }
}

async fn body_json(response: reqwest::Response) -> serde_json::Value {
    let bytes = response.bytes().await.expect("a body");
    serde_json::from_slice(&bytes).expect("JSON")
}

fn config(max_turns: usize, max_bytes: usize) -> GatewayConfig {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/recordings/valid");
    let mut limits = StoreLimits::default();
    limits.max_turns = max_turns;
    limits.max_bytes = max_bytes;
    GatewayConfig::new(Recordings::load_dir(dir).expect("recordings load")).store_limits(limits)
}

fn assert_expired(status: u16, json: &serde_json::Value) {
    assert_eq!(status, 404, "{json}");
    assert_eq!(json["error"]["code"], "response_not_found", "{json}");
    let message = json["error"]["message"].as_str().expect("a message");
    assert!(message.contains("expired"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_large_turns_stay_within_a_small_byte_budget() {
    let budget = 4 << 20;
    let server = Server::start(config(10_000, budget)).await;
    let mut ids = Vec::new();
    for _ in 0..40 {
        ids.push(server.turn("large-output").await);
        let stored = server.handle.stored();
        assert!(stored.finished_bytes <= budget, "{stored:?}");
    }
    let stored = server.handle.stored();
    // Each large turn is charged well over 100 KB: 40 of them do not fit.
    assert!(stored.evicted > 0, "{stored:?}");
    assert!(
        stored.finished_turns < 40 && stored.finished_turns > 0,
        "{stored:?}"
    );
    assert_eq!(stored.turns, stored.finished_turns, "nothing is running");

    let (status, json) = server.fetch(&ids[0]).await;
    assert_expired(status, &json);
    let (status, json) = server.fetch(ids.last().expect("one")).await;
    assert_eq!((status, &json["status"]), (200, &"completed".into()));
    // An id the gateway never minted is merely unknown.
    let (status, json) = server.fetch("fedcba9876543210fedcba9876543210").await;
    assert_eq!(status, 404);
    assert!(
        !json["error"]["message"]
            .as_str()
            .expect("message")
            .contains("expired")
    );
    server.handle.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_least_recently_used_turn_goes_first_and_running_ones_stay() {
    let server =
        Server::start(config(2, usize::MAX).event_interval(Duration::from_millis(300))).await;
    // A streamed turn that runs for seconds: never evicted while it runs.
    let running = server
        .http
        .post(format!("{}/v1/responses", server.url))
        .bearer_auth(KEY)
        .body(r#"{"input":"tool-calls-overlapping","stream":true}"#)
        .send()
        .await
        .expect("answered");
    assert_eq!(running.status(), 200);
    let a = server.turn("no-text-deltas").await;
    let b = server.turn("no-text-deltas").await;
    // `a` used after `b`: `b` is the least recently used.
    assert_eq!(server.fetch(&a).await.0, 200);
    let c = server.turn("no-text-deltas").await;
    let (status, json) = server.fetch(&b).await;
    assert_expired(status, &json);
    assert_eq!(server.fetch(&a).await.0, 200);
    assert_eq!(server.fetch(&c).await.0, 200);
    let stored = server.handle.stored();
    assert_eq!((stored.finished_turns, stored.turns), (2, 3), "{stored:?}");
    drop(running);
    server.handle.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_whose_turns_all_expired_says_so() {
    let server = Server::start(config(1, usize::MAX)).await;
    let first = server.turn("simple-answer").await;
    let (_, json) = server.fetch(&first).await;
    let session = json["session_id"].as_str().expect("a session").to_owned();
    server.turn("simple-answer").await;
    let response = server
        .http
        .post(format!("{}/v1/responses", server.url))
        .bearer_auth(KEY)
        .body(serde_json::json!({"input": "hi", "session_id": session}).to_string())
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 404);
    let json: serde_json::Value = body_json(response).await;
    assert_eq!(json["error"]["code"], "session_not_found");
    assert!(
        json["error"]["message"]
            .as_str()
            .expect("message")
            .contains("expired")
    );
    server.handle.shutdown().await.expect("clean shutdown");
}
