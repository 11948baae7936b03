//! Byte-faithful replay over real loopback TCP: every recording's bytes as
//! they are on disk, only the ids in `response.created` changed, on the
//! stream, on its replay, in small writes and up to a broken connection;
//! `normalize` writes the events anew.
#![cfg(feature = "serve")]

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agent37_stream::serve::{Faults, Gateway, GatewayConfig, GatewayHandle, Recordings};
use agent37_stream::sse::ChunkDecoder;
use bytes::Bytes;

const KEY: &str = "sk_test_replay";
const STEP: Duration = Duration::from_secs(30);

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/recordings/valid")
}

struct Server {
    url: String,
    handle: GatewayHandle,
    http: reqwest::Client,
}

impl Server {
    async fn start(config: GatewayConfig) -> Server {
        let recordings_config = config.api_key(KEY);
        let (addr, handle) = Gateway::new(recordings_config)
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

    /// A streamed turn's bytes (or the bytes before the connection broke).
    async fn stream(&self, input: &str) -> Vec<u8> {
        let response = self
            .http
            .post(format!("{}/v1/responses", self.url))
            .bearer_auth(KEY)
            .body(serde_json::json!({"input": input, "stream": true}).to_string())
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), 200);
        read_all(response).await
    }

    async fn replay(&self, id: &str) -> Vec<u8> {
        let response = self
            .http
            .get(format!("{}/v1/responses/{id}/stream", self.url))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), 200);
        read_all(response).await
    }
}

/// The body's bytes up to its end or a break.
async fn read_all(mut response: reqwest::Response) -> Vec<u8> {
    let mut got = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        got.extend_from_slice(&chunk);
    }
    got
}

fn config() -> GatewayConfig {
    GatewayConfig::new(Recordings::load_dir(dir()).expect("recordings load"))
}

fn names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .expect("readable")
        .filter_map(|entry| {
            let path = entry.expect("entry").path();
            (path.extension()? == "sse").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    names
}

/// `response.created`'s `id` and `session_id` in SSE bytes.
fn created_ids(sse: &[u8]) -> (String, String) {
    let mut decoder = ChunkDecoder::new();
    decoder.push(Bytes::copy_from_slice(sse));
    decoder.finish();
    let created = decoder
        .next_event()
        .expect("decodes")
        .expect("an event first");
    assert_eq!(created.event_type(), "response.created");
    let json: serde_json::Value = serde_json::from_str(created.data()).expect("JSON");
    let id = |key: &str| json[key].as_str().expect("a string id").to_owned();
    (id("id"), id("session_id"))
}

/// The file with its recorded ids replaced by the minted ones (their first
/// occurrence, which is in `response.created`).
fn expected(file: &[u8], minted: &(String, String)) -> Vec<u8> {
    let recorded = created_ids(file);
    let mut text = String::from_utf8(file.to_vec()).expect("the recordings are UTF-8");
    for (old, new) in [(&recorded.0, &minted.0), (&recorded.1, &minted.1)] {
        let quoted = format!("\"{old}\"");
        assert!(text.contains(&quoted));
        text = text.replacen(&quoted, &format!("\"{new}\""), 1);
    }
    text.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_and_replays_are_the_recordings_bytes_but_for_the_ids() {
    let server = Server::start(config()).await;
    for name in names() {
        let file = std::fs::read(dir().join(format!("{name}.sse"))).expect("readable");
        let streamed = server.stream(&name).await;
        let minted = created_ids(&streamed);
        assert_ne!(minted, created_ids(&file), "{name}: the ids are minted");
        assert!(
            streamed == expected(&file, &minted),
            "{name}: the stream differs from the file:\n{:?}",
            String::from_utf8_lossy(&streamed)
        );
        let replayed = server.replay(&minted.0).await;
        assert!(replayed == streamed, "{name}: the replay differs");
    }
    server.handle.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_writes_and_broken_connections_cut_the_raw_bytes() {
    let mut faults = Faults::default();
    faults.chunk_size = NonZeroUsize::new(7);
    let server = Server::start(config().faults(faults)).await;
    for name in ["framing-edges", "crlf", "lone-cr", "retry-and-ids"] {
        let file = std::fs::read(dir().join(format!("{name}.sse"))).expect("readable");
        let streamed = server.stream(name).await;
        assert!(
            streamed == expected(&file, &created_ids(&streamed)),
            "{name}"
        );
    }
    server.handle.shutdown().await.expect("clean shutdown");

    for at in [1, 2, 3] {
        let mut faults = Faults::default();
        faults.drop_after_events = Some(at);
        let server = Server::start(config().faults(faults)).await;
        for name in ["framing-edges", "crlf", "lone-cr", "mixed-line-endings"] {
            let file = std::fs::read(dir().join(format!("{name}.sse"))).expect("readable");
            let broken = server.stream(name).await;
            let whole = expected(&file, &created_ids(&broken));
            assert!(whole.starts_with(&broken), "{name} @{at}: not a prefix");
            assert!(broken.len() < whole.len(), "{name} @{at}: not broken");
            // Exactly `at` events got through; the next one is cut halfway.
            let mut decoder = ChunkDecoder::new();
            decoder.push(Bytes::from(broken));
            decoder.finish();
            let mut events = 0;
            while decoder.next_event().expect("decodes").is_some() {
                events += 1;
            }
            assert_eq!(events, at, "{name} dropped after {at}");
            assert!(decoder.incomplete().is_some(), "{name} @{at}: nothing cut");
        }
        server.handle.shutdown().await.expect("clean shutdown");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normalize_writes_the_events_anew() {
    let server = Server::start(config().normalize(true)).await;
    let streamed = server.stream("crlf").await;
    assert!(!streamed.contains(&b'\r'));
    assert!(streamed.starts_with(b"event: response.created\n"));
    let framing = server.stream("framing-edges").await;
    assert!(!framing.starts_with("\u{feff}".as_bytes()));
    assert!(!framing.windows(2).any(|w| w == b"\n:"), "no comments");
    let retry = server.stream("retry-and-ids").await;
    assert!(!retry.windows(6).any(|w| w == b"retry:"));
    server.handle.shutdown().await.expect("clean shutdown");
}
