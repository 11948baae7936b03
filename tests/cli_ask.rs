//! `agent37-stream ask` end to end against a local gateway: what it prints,
//! its `--format json` document, its `--record` file and its exit codes.
#![cfg(all(feature = "client", feature = "serve"))]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use agent37_stream::check::{CheckOptions, check_bytes};
use agent37_stream::serve::{
    FailStatus, Faults, Gateway, GatewayConfig, GatewayHandle, Recording, Recordings,
};

const BIN: &str = env!("CARGO_BIN_EXE_agent37-stream");
const VALID: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/recordings/valid");
const KEY: &str = "sk_test_ask";

struct Server {
    url: String,
    handle: GatewayHandle,
}

async fn start(config: GatewayConfig) -> Server {
    let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    let (bound, handle) = Gateway::new(config).bind(addr).await.expect("bind");
    Server {
        url: format!("http://{bound}"),
        handle,
    }
}

fn valid() -> Recordings {
    Recordings::load_dir(VALID).expect("recordings")
}

/// Runs `ask` with `args` (the key from the environment), off the runtime.
async fn ask(url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command
        .arg("ask")
        .arg("--base-url")
        .arg(url)
        .args(args)
        .env("AGENT37_API_KEY", KEY)
        .env_remove("AGENT37_BASE_URL")
        .env_remove("NO_COLOR");
    for (name, value) in env {
        command.env(name, value);
    }
    tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || command.output().expect("the binary runs")),
    )
    .await
    .expect("ask finishes")
    .expect("joined")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli_ask");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_cut_and_refused_still_completes_and_records_the_whole_turn() {
    let mut faults = Faults::default();
    faults.drop_after_events = Some(4);
    faults.fail_first = 1;
    faults.fail_status = FailStatus::RateLimited;
    faults.retry_after = Duration::ZERO;
    let server = start(GatewayConfig::new(valid()).api_key(KEY).faults(faults)).await;
    let record = scratch("cut.sse");
    let out = ask(
        &server.url,
        &[
            "--record",
            record.to_str().unwrap(),
            "tool-calls-overlapping",
        ],
        &[],
    )
    .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Top 3 EV makers by 2024 deliveries:"),
        "{stdout}"
    );
    assert!(stdout.contains("▸ web_search: Searching: EV deliveries 2024 by maker"));
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("[completed: 5213 input tokens, 644 output tokens"),
        "{stdout}"
    );
    assert!(!stdout.contains('\x1b'), "no colour off a terminal");
    assert!(
        stderr.contains("rate_limited") && stderr.contains("retry 1"),
        "{stderr}"
    );
    assert!(stderr.contains("resuming response"), "{stderr}");
    // The answer's text once: nothing shown twice after the reconnection.
    assert_eq!(stdout.matches("Top 3 EV makers").count(), 1);

    let recorded = std::fs::read(&record).expect("recorded");
    let report = check_bytes(&recorded, &CheckOptions::default());
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(report.events, 19, "the replay holds the whole turn");
    let check = Command::new(BIN)
        .arg("check")
        .arg(&record)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stdout));
    server.handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_format_prints_the_folded_turn_and_a_failed_turn_exits_1() {
    let server = start(GatewayConfig::new(valid()).api_key(KEY)).await;
    let out = ask(&server.url, &["--format", "json", "simple-answer"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["response"]["status"], "completed");
    assert_eq!(doc["response"]["id"].as_str().unwrap().len(), 32);
    assert!(
        doc["response"]["output_text"]
            .as_str()
            .unwrap()
            .contains("Canberra")
    );
    assert!(doc["tool_calls"].as_array().unwrap().is_empty());

    let out = ask(&server.url, &["--format", "json", "failed-turn"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["response"]["status"], "failed");
    assert_eq!(doc["response"]["error"]["code"], "budget_exceeded");
    assert_eq!(doc["tool_calls"][0]["outcome"]["status"], "completed");

    // A session continues.
    let session = doc["response"]["session_id"].as_str().unwrap().to_owned();
    let out = ask(
        &server.url,
        &["--format", "json", "--session-id", &session, "unicode"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["response"]["session_id"], session.as_str());
    server.handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_breaks_the_contract_is_reported_as_check_does_and_exits_1() {
    let sse = "event: response.created\ndata: {\"id\":\"r\",\"instance_id\":\"i\",\"session_id\":\"s\"}\n\n\
               event: response.output_text.delta\ndata: {not json\n\n\
               event: response.output_text.delta\ndata: {\"text\":\"ok\"}\n\n\
               event: response.completed\ndata: {\"output_text\":\"ok\",\"usage\":null}\n\n";
    let recording = Recording::parse("broken", sse.as_bytes()).unwrap();
    let recordings = Recordings::new(vec![recording]).unwrap();
    let server = start(GatewayConfig::new(recordings).api_key(KEY)).await;
    let record = scratch("broken.sse");
    let out = ask(
        &server.url,
        &["--record", record.to_str().unwrap(), "broken"],
        &[],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error[invalid-json]"), "{stderr}");
    assert!(
        stderr.contains(&format!(" --> {}:", record.display())),
        "{stderr}"
    );
    let check = Command::new(BIN)
        .arg("check")
        .arg(&record)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1));
    assert!(text(&check.stdout).contains("error[invalid-json]"));
    server.handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_auth_and_connection_errors_exit_2() {
    let server = start(GatewayConfig::new(valid()).api_key(KEY)).await;
    let out = ask(&server.url, &["--api-key", "sk_wrong", "hi"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("invalid_api_key"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());

    // Refused more times than the retries allow.
    let mut faults = Faults::default();
    faults.fail_first = 100;
    faults.fail_status = FailStatus::RateLimited;
    faults.retry_after = Duration::ZERO;
    let refusing = start(GatewayConfig::new(valid()).api_key(KEY).faults(faults)).await;
    let out = ask(&refusing.url, &["hi"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr).matches("rate_limited").count(),
        6,
        "{}",
        text(&out.stderr)
    );
    refusing.handle.shutdown().await.unwrap();

    let no_url = Command::new(BIN)
        .args(["ask", "hi"])
        .env_remove("AGENT37_BASE_URL")
        .env("AGENT37_API_KEY", KEY)
        .output()
        .unwrap();
    assert_eq!(no_url.status.code(), Some(2));
    assert!(text(&no_url.stderr).contains("AGENT37_BASE_URL"));
    let no_key = Command::new(BIN)
        .args(["ask", "hi"])
        .env("AGENT37_BASE_URL", &server.url)
        .env_remove("AGENT37_API_KEY")
        .output()
        .unwrap();
    assert_eq!(no_key.status.code(), Some(2));
    assert!(text(&no_key.stderr).contains("AGENT37_API_KEY"));
    let no_message = Command::new(BIN).arg("ask").output().unwrap();
    assert_eq!(no_message.status.code(), Some(2));

    let url = server.url.clone();
    server.handle.shutdown().await.unwrap();
    let out = ask(&url, &["hi"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "nothing listens any more");
}
