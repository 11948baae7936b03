//! The gateway's bounds over real loopback TCP: slow, stalled and idle
//! connections closed within their timeouts while others are served, bodies
//! refused as soon as they cross the limit, a cap on connections, and every
//! error answer in the JSON envelope.
#![cfg(feature = "serve")]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use agent37_stream::protocol::request::MAX_BODY_BYTES;
use agent37_stream::serve::{ConnectionLimits, Gateway, GatewayConfig, GatewayHandle, Recordings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const KEY: &str = "sk_test_limits";
/// No single step may take longer than this.
const STEP: Duration = Duration::from_secs(20);

fn recordings() -> Recordings {
    static LOADED: OnceLock<Recordings> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/recordings/valid");
            Recordings::load_dir(dir).expect("the valid recordings load")
        })
        .clone()
}

fn limits(timeout: Duration) -> ConnectionLimits {
    let mut limits = ConnectionLimits::default();
    limits.header_timeout = timeout;
    limits.body_timeout = timeout;
    limits.idle_timeout = timeout;
    limits.shutdown_grace = Duration::from_millis(100);
    limits
}

async fn start(limits: ConnectionLimits) -> (SocketAddr, GatewayHandle) {
    let config = GatewayConfig::new(recordings())
        .api_key(KEY)
        .connection_limits(limits);
    Gateway::new(config)
        .bind(([127, 0, 0, 1], 0).into())
        .await
        .expect("bind")
}

/// Reads until the peer closes (or `STEP` passes): what came, and when the
/// connection closed.
async fn read_to_close(stream: &mut TcpStream) -> (Vec<u8>, Instant) {
    let mut got = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return (got, Instant::now()),
            Ok(Ok(n)) => got.extend_from_slice(&buffer[..n]),
            Err(_) => panic!("the connection is still open after {STEP:?}"),
        }
    }
}

/// One request on a fresh connection, answered with `Connection: close`:
/// the status and the JSON body.
async fn request(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, serde_json::Value) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write");
    let (answer, _) = read_to_close(&mut stream).await;
    parse_answer(&answer)
}

fn parse_answer(answer: &[u8]) -> (u16, serde_json::Value) {
    let text = String::from_utf8_lossy(answer);
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    let split = text.find("\r\n\r\n").expect("a head") + 4;
    let head = text[..split].to_ascii_lowercase();
    assert!(head.contains("content-type: application/json"), "{text}");
    let json = serde_json::from_str(&text[split..])
        .unwrap_or_else(|err| panic!("not a JSON body ({err}): {text:?}"));
    (status, json)
}

/// The gateway envelope: `{"error": {"code", "message", ...}}`.
fn assert_envelope(json: &serde_json::Value, code: &str) -> String {
    assert_eq!(json.as_object().map(|o| o.len()), Some(1), "{json}");
    assert_eq!(json["error"]["code"], code, "{json}");
    let message = json["error"]["message"].as_str().expect("a message");
    assert!(!message.is_empty());
    message.to_owned()
}

fn head(method: &str, target: &str, extra: &str) -> String {
    format!(
        "{method} {target} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {KEY}\r\nConnection: close\r\n{extra}\r\n"
    )
}

/// A turn played to the end on its own connection: the time it took.
async fn served(addr: SocketAddr) -> Duration {
    let started = Instant::now();
    let body = r#"{"input":"simple-answer"}"#;
    let head = head(
        "POST",
        "/v1/responses",
        &format!("Content-Length: {}\r\n", body.len()),
    );
    let (status, json) = request(addr, &head, body.as_bytes()).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["status"], "completed");
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_stalled_and_idle_clients_are_closed_while_others_are_served() {
    let timeout = Duration::from_millis(400);
    let (addr, handle) = start(limits(timeout)).await;
    let opened = Instant::now();

    // A head that stops halfway.
    let mut stalled_head = TcpStream::connect(addr).await.expect("connect");
    stalled_head
        .write_all(b"POST /v1/responses HTTP/1.1\r\nHost: gateway\r\n")
        .await
        .expect("write");
    // A head sent a byte at a time, never finished in time.
    let mut dripping = TcpStream::connect(addr).await.expect("connect");
    let drip = tokio::spawn(async move {
        for byte in b"GET /v1/responses/x HTTP/1.1\r\nHost: gateway\r\nX-Slow: "
            .iter()
            .cycle()
        {
            if dripping.write_all(&[*byte]).await.is_err() {
                return Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        unreachable!()
    });
    // A body that stops halfway.
    let mut stalled_body = TcpStream::connect(addr).await.expect("connect");
    stalled_body
        .write_all(head("POST", "/v1/responses", "Content-Length: 100\r\n").as_bytes())
        .await
        .expect("write");
    stalled_body.write_all(b"{\"input\":").await.expect("write");
    // A keep-alive connection that asks once, then says nothing.
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    idle.write_all(
        format!("GET /v1/responses/x HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer {KEY}\r\n\r\n")
            .as_bytes(),
    )
    .await
    .expect("write");
    // A connection that never sends a byte.
    let mut silent = TcpStream::connect(addr).await.expect("connect");

    // Closed within the timeout, give or take the scheduling of a busy
    // machine; far sooner than the 30 s default or never.
    let bound = timeout * 4;
    // Meanwhile, others are served, before the stalled ones are closed.
    for _ in 0..5 {
        assert!(served(addr).await < timeout);
    }

    let (bytes, closed) = read_to_close(&mut stalled_head).await;
    assert!(bytes.is_empty(), "{:?}", String::from_utf8_lossy(&bytes));
    assert!(
        closed - opened < bound,
        "stalled head open {:?}",
        closed - opened
    );

    let (bytes, closed) = read_to_close(&mut stalled_body).await;
    let (status, json) = parse_answer(&bytes);
    assert_eq!(status, 408);
    assert_envelope(&json, "request_timeout");
    assert!(
        closed - opened < bound,
        "stalled body open {:?}",
        closed - opened
    );

    let (bytes, closed) = read_to_close(&mut idle).await;
    assert!(String::from_utf8_lossy(&bytes).starts_with("HTTP/1.1 404"));
    assert!(closed - opened < bound, "idle open {:?}", closed - opened);

    let (_, closed) = read_to_close(&mut silent).await;
    assert!(closed - opened < bound, "silent open {:?}", closed - opened);

    let closed = tokio::time::timeout(STEP, drip)
        .await
        .expect("the dripping client is cut")
        .expect("ran");
    assert!(
        closed - opened < bound + timeout,
        "dripping open {:?}",
        closed - opened
    );

    handle.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_refused_with_413() {
    // Timeouts far longer than the test: only the size can end these.
    let (addr, handle) = start(limits(Duration::from_secs(60))).await;

    // Declared far too large: refused before a byte of it is read.
    let declared = head(
        "POST",
        "/v1/responses",
        &format!("Content-Length: {}\r\n", 2 * MAX_BODY_BYTES + 1),
    );
    let (status, json) = tokio::time::timeout(STEP, request(addr, &declared, b""))
        .await
        .expect("answered at once");
    assert_eq!(status, 413);
    assert_envelope(&json, "payload_too_large");

    // Declared a little too large: read to its end, not kept, then refused,
    // so the client that sent it all reads the answer.
    let declared = head(
        "POST",
        "/v1/responses",
        &format!("Content-Length: {}\r\n", MAX_BODY_BYTES + 1),
    );
    let body = vec![b'a'; MAX_BODY_BYTES + 1];
    let (status, json) = tokio::time::timeout(STEP, request(addr, &declared, &body))
        .await
        .expect("answered once read");
    assert_eq!(status, 413);
    assert_envelope(&json, "payload_too_large");

    // Chunked, with no length: refused once the bytes cross the limit, while
    // the client holds the rest back.
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let chunked = head("POST", "/v1/responses", "Transfer-Encoding: chunked\r\n");
    stream.write_all(chunked.as_bytes()).await.expect("write");
    let piece = vec![b'a'; 64 << 10];
    let mut sent = 0;
    while sent <= MAX_BODY_BYTES {
        let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
        chunk.extend_from_slice(&piece);
        chunk.extend_from_slice(b"\r\n");
        stream.write_all(&chunk).await.expect("write");
        sent += piece.len();
    }
    let (answer, _) = read_to_close(&mut stream).await;
    let (status, json) = parse_answer(&answer);
    assert_eq!(status, 413);
    assert_envelope(&json, "payload_too_large");
    handle.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let mut limits = limits(Duration::from_secs(60));
    limits.max_connections = 2;
    let (addr, handle) = start(limits).await;
    let hold = |addr| async move {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(b"GET /").await.expect("write");
        stream
    };
    let first = hold(addr).await;
    let _second = hold(addr).await;
    let third = tokio::spawn(served(addr));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!third.is_finished(), "a third connection was served");
    drop(first);
    tokio::time::timeout(STEP, third)
        .await
        .expect("served once a slot is free")
        .expect("ran");
    handle.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_answer_is_a_json_envelope_and_auth_comes_first() {
    let (addr, handle) = start(limits(Duration::from_secs(2))).await;
    let long = format!("/v1/responses/{}", "a".repeat(9000));
    let many: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    let big = format!("X-Big: {}\r\n", "b".repeat(20_000));
    let cases = [
        (head("GET", "/nowhere", ""), 404, "not_found"),
        (head("GET", "/v1/responses", ""), 405, "method_not_allowed"),
        (
            head("DELETE", "/v1/responses/abc", ""),
            405,
            "method_not_allowed",
        ),
        (
            head("POST", "/v1/responses", "Content-Length: 5000000\r\n"),
            413,
            "payload_too_large",
        ),
        (head("GET", &long, ""), 414, "uri_too_long"),
        (
            head("GET", "/v1/responses/abc", &many),
            431,
            "headers_too_large",
        ),
        (
            head("GET", "/v1/responses/abc", &big),
            431,
            "headers_too_large",
        ),
        (
            head("GET", "/v1/responses/%FF%FE/stream", ""),
            400,
            "invalid_request",
        ),
        (
            head("GET", "/v1/responses/0123", ""),
            404,
            "response_not_found",
        ),
    ];
    for (request_head, status, code) in &cases {
        let (got, json) = request(addr, request_head, b"").await;
        assert_eq!(got, *status, "{code}: {json}");
        assert_envelope(&json, code);
        // Without the key, every one of them is a 401 first.
        let anonymous = request_head.replace(&format!("Authorization: Bearer {KEY}\r\n"), "");
        let (got, json) = request(addr, &anonymous, b"").await;
        assert_eq!(got, 401, "{code} without a key: {json}");
        assert_envelope(&json, "invalid_api_key");
    }
    handle.shutdown().await.expect("clean shutdown");
}
