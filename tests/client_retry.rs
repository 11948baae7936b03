//! The client's waits, in real time, against a scripted HTTP server on
//! loopback: `Retry-After` (seconds, HTTP date, the body's `retryAfter`),
//! the stream's `retry:` field, `instance_not_running`, a cancelled turn
//! whose stream just stops, and TLS.
#![cfg(feature = "client")]

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use agent37_stream::client::{Client, ClientError, Notice, RetryPolicy};
use agent37_stream::protocol::error::{Envelope, ErrorCode};
use agent37_stream::protocol::request::CreateResponse;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const STEP: Duration = Duration::from_secs(30);
const ID: &str = "c91d2a7e84f04b6f9a3d5e1c0b87f4a2";

async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(STEP, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: no answer within {STEP:?}"),
    }
}

/// An HTTP/1.1 answer that closes its connection.
fn reply(status: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

/// An event stream that ends when the connection closes (no length).
fn sse(body: &str) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: text/event-stream\r\n\r\n{body}")
        .into_bytes()
}

fn rate_limited(headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    reply("429 Too Many Requests", headers, body)
}

const CREATED: &str = "event: response.created\ndata: {\"id\":\"c91d2a7e84f04b6f9a3d5e1c0b87f4a2\",\"instance_id\":\"i\",\"session_id\":\"s\"}\n\n";
const DELTA: &str = "event: response.output_text.delta\ndata: {\"text\":\"Hi\"}\n\n";
const DONE: &str = "event: response.completed\ndata: {\"output_text\":\"Hi\",\"usage\":null}\n\n";

fn whole_turn() -> Vec<u8> {
    sse(&format!("{CREATED}{DELTA}{DONE}"))
}

fn response_json(status: &str) -> String {
    format!(
        r#"{{"id":"{ID}","session_id":"s","status":"{status}","agent":"hermes","model":null,"provider":null,"output_text":"","usage":null,"error":null,"metadata":null,"created":1}}"#
    )
}

/// A server that answers each connection with the next scripted reply and
/// logs each request line with the time it arrived.
struct Script {
    url: String,
    log: Arc<Mutex<Vec<(String, Instant)>>>,
}

impl Script {
    async fn start(replies: Vec<Vec<u8>>) -> Script {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&log);
        tokio::spawn(async move {
            for reply in replies {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let line = read_request(&mut socket).await;
                seen.lock().unwrap().push((line, Instant::now()));
                let _ = socket.write_all(&reply).await;
                let _ = socket.shutdown().await;
            }
        });
        Script { url, log }
    }

    fn requests(&self) -> Vec<(String, Instant)> {
        self.log.lock().unwrap().clone()
    }

    /// The time between request `a` and request `b`.
    fn gap(&self, a: usize, b: usize) -> Duration {
        let log = self.requests();
        log[b].1 - log[a].1
    }
}

/// Reads one request (head and body); returns its request line.
async fn read_request(socket: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return String::new(),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    head.lines().next().unwrap_or_default().to_owned()
}

fn client(url: &str, notices: &Arc<Mutex<Vec<String>>>) -> Client {
    let seen = Arc::clone(notices);
    Client::builder()
        .base_url(url)
        .api_key("k")
        .retry_policy(
            RetryPolicy::default()
                .jitter(false)
                .backoff(Duration::from_millis(50), Duration::from_secs(2)),
        )
        .on_notice(move |notice| {
            if let Notice::Reconnecting { wait, .. } | Notice::Retrying { wait, .. } = notice {
                seen.lock().unwrap().push(format!("{}ms", wait.as_millis()));
            }
        })
        .build()
        .unwrap()
}

async fn whole(client: &Client) -> Result<String, ClientError> {
    let mut stream = client.create_stream(CreateResponse::new("hi")).await?;
    while let Some(event) = stream.next().await {
        event?;
    }
    Ok(stream.into_turn().response.output_text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_in_seconds_as_a_date_and_in_the_body_is_waited() {
    // Whole seconds on the wire: a date 3 s ahead is 2 to 3 s ahead.
    let in_three_seconds = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3));
    let cases = [
        (
            "seconds",
            rate_limited(&[("retry-after", "1")], ""),
            Duration::from_secs(1),
        ),
        (
            "date",
            rate_limited(&[("retry-after", &in_three_seconds)], ""),
            Duration::from_millis(1500),
        ),
        (
            "body",
            rate_limited(
                &[],
                r#"{"error":{"code":"rate_limit_exceeded","message":"slow","status":429,"retryAfter":1}}"#,
            ),
            Duration::from_secs(1),
        ),
    ];
    let runs = cases
        .into_iter()
        .map(|(what, refusal, at_least)| async move {
            let script = Script::start(vec![refusal, whole_turn()]).await;
            let notices = Arc::new(Mutex::new(Vec::new()));
            let text = bounded(what, whole(&client(&script.url, &notices)))
                .await
                .unwrap();
            assert_eq!(text, "Hi");
            let gap = script.gap(0, 1);
            assert!(gap >= at_least, "{what}: retried after {gap:?}");
            assert!(gap < at_least + Duration::from_secs(2), "{what}: {gap:?}");
            assert_eq!(notices.lock().unwrap().len(), 1, "{what}");
        });
    futures_util::future::join_all(runs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_retry_field_sets_the_reconnection_wait() {
    let script = Script::start(vec![
        sse(&format!("retry: 400\n{CREATED}{DELTA}")),
        reply(
            "200 OK",
            &[("content-type", "application/json")],
            &response_json("in_progress"),
        ),
        whole_turn(),
    ])
    .await;
    let notices = Arc::new(Mutex::new(Vec::new()));
    let text = bounded("retry", whole(&client(&script.url, &notices)))
        .await
        .unwrap();
    assert_eq!(text, "Hi");
    let lines: Vec<String> = script
        .requests()
        .into_iter()
        .map(|(line, _)| line)
        .collect();
    assert_eq!(
        lines,
        [
            "POST /v1/responses HTTP/1.1".to_owned(),
            format!("GET /v1/responses/{ID} HTTP/1.1"),
            format!("GET /v1/responses/{ID}/stream HTTP/1.1"),
        ]
    );
    assert_eq!(*notices.lock().unwrap(), ["400ms"]);
    let gap = script.gap(0, 1);
    assert!(
        gap >= Duration::from_millis(400),
        "reconnected after {gap:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_not_running_is_retried_with_backoff() {
    let not_running = reply(
        "409 Conflict",
        &[],
        r#"{"error":{"code":"instance_not_running","message":"The instance is not running."}}"#,
    );
    let script = Script::start(vec![not_running.clone(), not_running, whole_turn()]).await;
    let notices = Arc::new(Mutex::new(Vec::new()));
    let text = bounded("409", whole(&client(&script.url, &notices)))
        .await
        .unwrap();
    assert_eq!(text, "Hi");
    assert_eq!(*notices.lock().unwrap(), ["50ms", "100ms"]);
    assert!(script.gap(1, 2) >= Duration::from_millis(100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_stops_on_a_cancelled_turn_ends_with_cancelled() {
    let script = Script::start(vec![
        sse(&format!("{CREATED}{DELTA}")),
        reply(
            "200 OK",
            &[("content-type", "application/json")],
            &response_json("cancelled"),
        ),
    ])
    .await;
    let notices = Arc::new(Mutex::new(Vec::new()));
    let client = client(&script.url, &notices);
    let err = bounded("cancelled", whole(&client)).await.unwrap_err();
    match err {
        ClientError::Cancelled(response) => assert_eq!(response.id, ID),
        other => panic!("{other}"),
    }
    assert_eq!(script.requests().len(), 2, "no replay of a cancelled turn");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_urls_speak_tls() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let first_byte = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut byte = [0u8; 1];
        socket.read_exact(&mut byte).await.unwrap();
        byte[0]
    });
    let client = Client::builder()
        .base_url(url)
        .api_key("k")
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let err = bounded("tls", client.get(ID)).await.unwrap_err();
    assert!(matches!(err, ClientError::Http(_)), "{err}");
    // 0x16: a TLS handshake record, the ClientHello.
    assert_eq!(bounded("hello", first_byte).await.unwrap(), 0x16);
}

/// Under tokio's paused clock the waits cost no real time: a long
/// `Retry-After` and a long `retry:` are waited in full, on the virtual
/// clock, in a test that takes milliseconds.
#[tokio::test(start_paused = true)]
async fn long_waits_are_waited_in_full_on_a_paused_clock() {
    let script = Script::start(vec![
        rate_limited(&[("retry-after", "90")], ""),
        sse(&format!("retry: 45000\n{CREATED}{DELTA}")),
        reply(
            "200 OK",
            &[("content-type", "application/json")],
            &response_json("in_progress"),
        ),
        whole_turn(),
    ])
    .await;
    // The default policy: `retry: 45000` is capped at its 30 s max_backoff.
    let client = Client::builder()
        .base_url(&script.url)
        .api_key("k")
        .retry_policy(RetryPolicy::default().jitter(false))
        .build()
        .unwrap();
    let virtual_start = tokio::time::Instant::now();
    let real_start = Instant::now();
    assert_eq!(whole(&client).await.unwrap(), "Hi");
    let waited = virtual_start.elapsed();
    assert!(waited >= Duration::from_secs(90 + 30), "{waited:?}");
    assert!(waited < Duration::from_secs(90 + 30 + 1), "{waited:?}");
    assert!(real_start.elapsed() < Duration::from_secs(20));
    assert_eq!(script.requests().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_stream_closes_the_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let closed = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        read_request(&mut socket).await;
        // The turn starts, then the server has all the time in the world.
        let head = sse(&format!("{CREATED}{DELTA}"));
        socket.write_all(&head).await.unwrap();
        let mut rest = [0u8; 64];
        // Returns 0 (end of file) once the client closes its side.
        socket.read(&mut rest).await.unwrap_or(0)
    });
    let notices = Arc::new(Mutex::new(Vec::new()));
    let client = client(&url, &notices);
    let mut stream = bounded("create", client.create_stream(CreateResponse::new("hi")))
        .await
        .unwrap();
    bounded("created", stream.next()).await.unwrap().unwrap();
    bounded("delta", stream.next()).await.unwrap().unwrap();
    drop(stream);
    assert_eq!(bounded("close", closed).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_sdk_errors_are_typed_and_only_retryable_ones_retried() {
    let unauthorized = reply(
        "401 Unauthorized",
        &[],
        r#"{"error":{"code":"unauthorized","message":"API key expired","status":401}}"#,
    );
    let script = Script::start(vec![unauthorized, whole_turn()]).await;
    let notices = Arc::new(Mutex::new(Vec::new()));
    let err = bounded("401", whole(&client(&script.url, &notices)))
        .await
        .unwrap_err();
    let api = err.api_error().unwrap_or_else(|| panic!("{err}"));
    assert_eq!(api.envelope(), Some(Envelope::AgentsSdk));
    assert_eq!(api.code(), Some(&ErrorCode::Unauthorized));
    assert_eq!(api.message(), "API key expired");
    assert!(notices.lock().unwrap().is_empty());
    assert_eq!(script.requests().len(), 1, "not retried");
}
