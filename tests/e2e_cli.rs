//! `agent37-stream serve` as a process: it prints its URL, serves the
//! endpoints with the fault flags in force, takes its key from the
//! environment, logs requests when asked, stops within its shutdown deadline
//! on Ctrl-C (at once on a second one), and refuses bad setups with exit
//! status 2.
#![cfg(feature = "serve")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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
    let mut command = Command::new(BIN);
    command.arg("serve").args(args).stderr(Stdio::null());
    start_command(command)
}

fn start_command(mut command: Command) -> (Serve, String) {
    let mut child = command
        .stdout(Stdio::piped())
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
    // The recording's own bytes: it starts with a heartbeat comment.
    assert!(
        text.starts_with(": keep-alive\n\nevent: response.created\n"),
        "{text}"
    );
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

/// Sends SIGINT (what Ctrl-C sends) to the server.
fn interrupt(serve: &Serve) {
    let status = Command::new("kill")
        .args(["-INT", &serve.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Waits for the server to exit: its exit code, and when it exited.
fn exited(serve: &mut Serve, within: Duration) -> (Option<i32>, Instant) {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = serve.0.try_wait().expect("waitable") {
            return (status.code(), Instant::now());
        }
        assert!(Instant::now() < deadline, "still running after {within:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A client that sends half a request head and then nothing.
fn stalled_client(url: &str) -> TcpStream {
    let mut stream = TcpStream::connect(url.trim_start_matches("http://")).expect("connect");
    stream
        .write_all(b"POST /v1/responses HTTP/1.1\r\nHost: gateway\r\n")
        .expect("write");
    stream
}

#[test]
fn ctrl_c_exits_within_the_deadline_despite_a_stalled_client() {
    let (mut serve, url) = start(&[
        "--recordings",
        VALID,
        "--addr",
        "127.0.0.1:0",
        "--header-timeout",
        "60s",
        "--shutdown-grace",
        "300ms",
    ]);
    let _stalled = stalled_client(&url);
    // Let the server take the connection in before it is told to stop.
    std::thread::sleep(Duration::from_millis(100));
    let sent = Instant::now();
    interrupt(&serve);
    let (code, at) = exited(&mut serve, WAIT);
    assert_eq!(code, Some(0));
    assert!(at - sent < Duration::from_secs(3), "took {:?}", at - sent);
}

#[test]
fn a_second_ctrl_c_exits_at_once() {
    let (mut serve, url) = start(&[
        "--recordings",
        VALID,
        "--addr",
        "127.0.0.1:0",
        "--shutdown-grace",
        "60s",
        "--event-interval-ms",
        "1000",
    ]);
    // A stream in flight that the grace period would wait for.
    let mut stream = TcpStream::connect(url.trim_start_matches("http://")).expect("connect");
    let body = r#"{"input":"large-output","stream":true}"#;
    let request = format!(
        "POST /v1/responses HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer k\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut first = [0u8; 64];
    stream.read_exact(&mut first).expect("the stream has begun");
    interrupt(&serve);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        serve.0.try_wait().expect("waitable").is_none(),
        "the grace period holds"
    );
    let sent = Instant::now();
    interrupt(&serve);
    let (code, at) = exited(&mut serve, WAIT);
    assert_eq!(code, Some(130));
    assert!(at - sent < Duration::from_secs(3), "took {:?}", at - sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_comes_from_the_environment_and_requests_are_logged() {
    let mut command = Command::new(BIN);
    command
        .args([
            "serve",
            "--recordings",
            VALID,
            "--addr",
            "127.0.0.1:0",
            "--access-log",
        ])
        .env("AGENT37_API_KEY", "sk_from_env")
        .stderr(Stdio::piped());
    let (mut serve, url) = start_command(command);
    let http = reqwest::Client::new();
    let fetch = |key: &'static str| {
        http.get(format!("{url}/v1/responses/nope"))
            .bearer_auth(key)
            .timeout(WAIT)
            .send()
    };
    assert_eq!(fetch("other").await.expect("answered").status(), 401);
    assert_eq!(fetch("sk_from_env").await.expect("answered").status(), 404);
    interrupt(&serve);
    exited(&mut serve, WAIT);
    let mut stderr = String::new();
    serve
        .0
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut stderr)
        .expect("readable");
    assert!(stderr.contains("GET /v1/responses/nope 401"), "{stderr}");
    assert!(stderr.contains("GET /v1/responses/nope 404"), "{stderr}");
    assert!(!stderr.contains("sk_from_env"), "the key is never logged");
}
