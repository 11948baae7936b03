//! `agent37-stream serve` as a process: it prints its URL, serves the
//! endpoints with the fault flags in force, and refuses bad setups with exit
//! status 2.
#![cfg(feature = "serve")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_agent37-stream");
const VALID: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/recordings/valid");
const INVALID: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/recordings/invalid");
const WAIT: Duration = Duration::from_secs(30);

/// The server process; killed when dropped, so a failing test leaves none behind.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` with `args` and returns it with the URL it printed.
fn start(args: &[&str]) -> (Serve, String) {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let serve = Serve(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(WAIT).expect("the URL is printed");
    let url = line.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
    (serve, url)
}

/// Runs `serve` expecting it to fail at once.
fn refused(args: &[&str]) -> Output {
    let output = Command::new(BIN)
        .arg("serve")
        .args(args)
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty());
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_recordings_with_the_fault_flags_in_force() {
    let (_serve, url) = start(&[
        "--recordings",
        VALID,
        "--addr",
        "127.0.0.1:0",
        "--api-key",
        "k",
        "--fail-first",
        "1",
        "--fail-status",
        "503",
        "--chunk-size",
        "3",
        "--heartbeat-ms",
        "10",
        "--event-interval-ms",
        "30",
    ]);
    // With the `client` feature, reqwest has TLS but no provider of its own.
    #[cfg(feature = "client")]
    agent37_stream::client::install_crypto_provider();
    let http = reqwest::Client::new();
    let post = || {
        http.post(format!("{url}/v1/responses"))
            .bearer_auth("k")
            .body(r#"{"input":"simple-answer","stream":true}"#)
            .timeout(WAIT)
            .send()
    };
    let refused = post().await.expect("answered");
    assert_eq!(refused.status(), 503);
    let streamed = post().await.expect("answered");
    assert_eq!(streamed.status(), 200);
    assert_eq!(streamed.headers()["content-type"], "text/event-stream");
    let text = String::from_utf8(streamed.bytes().await.expect("body").to_vec()).expect("UTF-8");
    assert!(text.starts_with("event: response.created\n"), "{text}");
    assert!(text.contains(": keep-alive\n\n"), "{text}");
    assert!(text.contains("Canberra"), "{text}");
    assert!(text.ends_with("\n\n"));

    let wrong_key = http
        .get(format!("{url}/v1/responses/x"))
        .bearer_auth("other")
        .timeout(WAIT)
        .send()
        .await
        .expect("answered");
    assert_eq!(wrong_key.status(), 401);
}

#[test]
fn bad_setups_exit_with_status_2() {
    let missing = refused(&["--recordings", "/nonexistent/recordings"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/recordings"));

    let remote = refused(&["--recordings", VALID, "--addr", "0.0.0.0:0"]);
    assert!(String::from_utf8_lossy(&remote.stderr).contains("loopback"));

    // An unplayable recording is named, with the reason.
    let invalid = refused(&["--recordings", INVALID, "--addr", "127.0.0.1:0"]);
    let stderr = String::from_utf8_lossy(&invalid.stderr);
    assert!(stderr.contains(".sse"), "{stderr}");

    let status = refused(&["--recordings", VALID, "--fail-status", "500"]);
    assert!(String::from_utf8_lossy(&status.stderr).contains("429 or 503"));
}
