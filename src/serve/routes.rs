//! The endpoints of spec 001, and the checks every request goes through:
//! injected failures, then the API key, then the size of the request's head,
//! then the route. Every error answer is a JSON envelope.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State as Shared};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::{get, post};
use bytes::{Bytes, BytesMut};
use http_body::Body as HttpBody;

use super::body::sse_body;
use super::conn::Peer;
use super::limits::{MAX_HEADER_BYTES, MAX_HEADERS, MAX_URI_BYTES};
use super::state::{State, Turn, run_turn};
use crate::protocol::error::{ApiError, ErrorCode};
use crate::protocol::request::{CreateResponse, MAX_BODY_BYTES};
use crate::protocol::response::Response;

/// Where access log lines go (a `tracing` target).
pub(crate) const ACCESS_LOG: &str = "agent37_stream::serve::access";

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/v1/responses", post(create))
        .route("/v1/responses/{id}", get(fetch))
        .route("/v1/responses/{id}/stream", get(replay))
        .route("/v1/responses/{id}/cancel", post(cancel))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(Arc::clone(&state), gate))
        .with_state(state)
}

/// Every request: admitted (injected failures, then the API key) and its
/// head checked before it is routed; logged when asked.
async fn gate(Shared(state): Shared<Arc<State>>, request: Request, next: Next) -> HttpResponse {
    let started = Instant::now();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let peer = request.extensions().get::<Peer>().map(|peer| peer.0);
    let checked = admit(&state, request.headers()).and_then(|()| check_head(&request));
    let response = match checked {
        Ok(()) => next.run(request).await,
        Err(err) => error_reply(&err),
    };
    if state.config.access_log {
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let peer = peer.map_or_else(String::new, |peer| peer.to_string());
        tracing::info!(
            target: ACCESS_LOG,
            "{peer} {method} {path} {} {}ms",
            response.status().as_u16(),
            started.elapsed().as_millis()
        );
    }
    response
}

/// 414 for a request target over [`MAX_URI_BYTES`], 431 for headers over
/// [`MAX_HEADER_BYTES`] or [`MAX_HEADERS`].
fn check_head(request: &Request) -> Result<(), ApiError> {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return Err(ApiError::gateway(
            ErrorCode::from("uri_too_long"),
            format!("The request target is over the {MAX_URI_BYTES}-byte limit."),
        )
        .with_status(414));
    }
    let headers = request.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return Err(ApiError::gateway(
            ErrorCode::from("headers_too_large"),
            format!(
                "The request headers are over the limit of {MAX_HEADERS} headers and {MAX_HEADER_BYTES} bytes."
            ),
        )
        .with_status(431));
    }
    Ok(())
}

async fn not_found(request: Request) -> HttpResponse {
    error_reply(
        &ApiError::gateway(
            ErrorCode::NotFound,
            format!("No endpoint at {}.", request.uri().path()),
        )
        .with_hint("The endpoints are POST /v1/responses and GET /v1/responses/{id}[/stream].")
        .with_status(404),
    )
}

async fn method_not_allowed(request: Request) -> HttpResponse {
    error_reply(
        &ApiError::gateway(
            ErrorCode::from("method_not_allowed"),
            format!(
                "{} is not allowed on {}.",
                request.method(),
                request.uri().path()
            ),
        )
        .with_status(405),
    )
}

/// The response id of the path, or 400 `invalid_request` for a bad one (not
/// UTF-8 once percent-decoded).
fn path_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    match path {
        Ok(Path(id)) => Ok(id),
        Err(rejection) => Err(ApiError::gateway(
            ErrorCode::InvalidRequest,
            format!("The URL is not valid: {}", rejection.body_text()),
        )
        .with_status(400)),
    }
}

/// `POST /v1/responses`: starts a turn; streams it or answers when it ends.
async fn create(Shared(state): Shared<Arc<State>>, headers: HeaderMap, body: Body) -> HttpResponse {
    let body = match read_body(body, &headers, state.config.connections.body_timeout).await {
        Ok(body) => body,
        // Whatever is left of the body is not read: the connection closes
        // after the answer, so no client can make the gateway buffer more.
        Err(err) => return closing(error_reply(&err)),
    };
    let started = CreateResponse::from_body(&body).and_then(|request| {
        state
            .start_turn(&request)
            .map(|(turn, events)| (request.stream, turn, events))
    });
    let (stream, turn, events) = match started {
        Ok(started) => started,
        Err(err) => return error_reply(&err),
    };
    tokio::spawn(run_turn(Arc::clone(&state), Arc::clone(&turn), events));
    if stream {
        event_stream(&state, turn, true)
    } else {
        json_reply(&finished(&state, &turn).await)
    }
}

fn too_large() -> ApiError {
    ApiError::gateway(
        ErrorCode::PayloadTooLarge,
        format!("the request body is over the {MAX_BODY_BYTES}-byte limit"),
    )
}

/// The longest declared body over [`MAX_BODY_BYTES`] that is still read
/// (and thrown away) before the 413: a client that sent a little too much
/// then reads the answer, not a connection reset in mid-upload.
const DRAIN_AT_MOST: u64 = 2 * MAX_BODY_BYTES as u64;

/// The request body, refused with 413 when it is over [`MAX_BODY_BYTES`],
/// and with 408 when it takes longer than `timeout` (zero: no limit).
///
/// A `Content-Length` over the limit is refused once that many bytes were
/// read, without keeping them, if it is at most [`DRAIN_AT_MOST`], and at
/// once if it is more. A body of unknown length is refused as soon as it
/// crosses the limit.
async fn read_body(
    mut body: Body,
    headers: &HeaderMap,
    timeout: std::time::Duration,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > DRAIN_AT_MOST) {
        return Err(too_large());
    }
    let draining = declared.is_some_and(|length| length > MAX_BODY_BYTES as u64);
    let read = async {
        let mut buffer = BytesMut::new();
        while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            let frame = frame.map_err(|err| {
                ApiError::gateway(
                    ErrorCode::InvalidRequest,
                    format!("the request body could not be read: {err}"),
                )
            })?;
            if let Ok(data) = frame.into_data() {
                if draining {
                    // HTTP ends the body at its declared length.
                    continue;
                }
                if buffer.len() + data.len() > MAX_BODY_BYTES {
                    return Err(too_large());
                }
                buffer.extend_from_slice(&data);
            }
        }
        match draining {
            true => Err(too_large()),
            false => Ok(buffer.freeze()),
        }
    };
    if timeout.is_zero() {
        return read.await;
    }
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::gateway(
                ErrorCode::from("request_timeout"),
                format!(
                    "The request body did not arrive within {} s.",
                    timeout.as_secs_f64()
                ),
            )
            .with_status(408))
        })
}

/// Closes the connection after this answer.
fn closing(mut reply: HttpResponse) -> HttpResponse {
    reply
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    reply
}

/// `GET /v1/responses/{id}`: the response object as it stands.
async fn fetch(
    Shared(state): Shared<Arc<State>>,
    path: Result<Path<String>, PathRejection>,
) -> HttpResponse {
    match path_id(path).and_then(|id| state.turn(&id)) {
        Ok(turn) => json_reply(&turn.response()),
        Err(err) => error_reply(&err),
    }
}

/// `GET /v1/responses/{id}/stream`: every event so far, then live.
async fn replay(
    Shared(state): Shared<Arc<State>>,
    path: Result<Path<String>, PathRejection>,
) -> HttpResponse {
    match path_id(path).and_then(|id| state.turn(&id)) {
        Ok(turn) => event_stream(&state, turn, false),
        Err(err) => error_reply(&err),
    }
}

/// `POST /v1/responses/{id}/cancel`: stops a running turn; a finished one is
/// returned as it is.
async fn cancel(
    Shared(state): Shared<Arc<State>>,
    path: Result<Path<String>, PathRejection>,
) -> HttpResponse {
    match path_id(path).and_then(|id| state.turn(&id)) {
        Ok(turn) => json_reply(&state.cancel(&turn)),
        Err(err) => error_reply(&err),
    }
}

/// Injected failures first (a rate limiter sits in front of everything), then
/// the API key.
fn admit(state: &State, headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(err) = state.injected_failure() {
        return Err(err);
    }
    authorize(headers.get(AUTHORIZATION), state.config.api_key.as_deref())
}

/// `Authorization: Bearer KEY`, with the configured key, or any non-empty
/// token when none is configured.
fn authorize(header: Option<&HeaderValue>, api_key: Option<&str>) -> Result<(), ApiError> {
    let invalid = |message: &str| {
        Err(ApiError::gateway(ErrorCode::InvalidApiKey, message)
            .with_hint("Send Authorization: Bearer sk_live_... and keep the key server-side."))
    };
    let Some(header) = header else {
        return invalid("The Authorization header is missing.");
    };
    let token = header
        .to_str()
        .ok()
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty());
    match (token, api_key) {
        (None, _) => invalid("The Authorization header is not `Bearer <key>`."),
        (Some(token), Some(key)) if !constant_time_eq(token.as_bytes(), key.as_bytes()) => {
            invalid("The API key is not valid.")
        }
        (Some(_), _) => Ok(()),
    }
}

/// Whether `a` equals `b`, in a time that depends on their lengths only, not
/// on where they differ: a client timing the answers learns nothing of the
/// key's bytes.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

/// The response once the turn has ended (or the gateway shuts down).
async fn finished(state: &State, turn: &Turn) -> Response {
    let mut published = turn.subscribe();
    let mut shutdown = state.shutdown.clone();
    loop {
        let response = turn.response();
        if response.is_terminal() {
            return response;
        }
        tokio::select! {
            changed = published.changed() => if changed.is_err() { return response },
            _ = shutdown.wait_for(|down| *down) => return response,
        }
    }
}

fn event_stream(state: &State, turn: Arc<Turn>, breakable: bool) -> HttpResponse {
    let body = sse_body(
        turn,
        state.config.faults.clone(),
        breakable,
        state.shutdown.clone(),
    );
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("text/event-stream")),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

fn json_reply(response: &Response) -> HttpResponse {
    match serde_json::to_vec(response) {
        Ok(json) => ([(CONTENT_TYPE, "application/json")], json).into_response(),
        Err(err) => error_reply(
            &ApiError::gateway(
                ErrorCode::from("internal_error"),
                format!("the response could not be serialized: {err}"),
            )
            .with_status(500),
        ),
    }
}

/// The error's envelope with its status (and `Retry-After`, when it has one).
fn error_reply(err: &ApiError) -> HttpResponse {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut reply = (status, [(CONTENT_TYPE, "application/json")], err.to_json()).into_response();
    let retry_after = err
        .retry_after_header_value()
        .and_then(|value| HeaderValue::from_str(&value).ok());
    if let Some(value) = retry_after {
        reply.headers_mut().insert(RETRY_AFTER, value);
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(value: &str) -> HeaderValue {
        HeaderValue::from_str(value).unwrap()
    }

    #[test]
    fn bearer_token_must_match_the_configured_key() {
        assert!(authorize(Some(&header("Bearer k1")), Some("k1")).is_ok());
        assert!(authorize(Some(&header("bearer k1")), Some("k1")).is_ok());
        for bad in ["Bearer k2", "Bearer ", "Basic k1", "k1", "Bearer"] {
            let err = authorize(Some(&header(bad)), Some("k1")).unwrap_err();
            assert_eq!(err.code(), Some(&ErrorCode::InvalidApiKey), "{bad}");
            assert_eq!(err.status(), 401);
        }
        assert!(authorize(None, Some("k1")).is_err());
    }

    #[test]
    fn constant_time_eq_compares_whole_slices() {
        assert!(constant_time_eq(b"sk_test", b"sk_test"));
        assert!(constant_time_eq(b"", b""));
        for other in [&b"sk_tesT"[..], b"sk_tes", b"sk_test_", b"", b"xk_test"] {
            assert!(!constant_time_eq(b"sk_test", other), "{other:?}");
            assert!(!constant_time_eq(other, b"sk_test"), "{other:?}");
        }
        // A prefix padded with NULs is still a different key.
        assert!(!constant_time_eq(b"ab\0", b"ab"));
    }

    #[test]
    fn any_bearer_token_passes_without_a_configured_key() {
        assert!(authorize(Some(&header("Bearer whatever")), None).is_ok());
        assert!(authorize(Some(&header("Bearer  ")), None).is_err());
        assert!(authorize(None, None).is_err());
    }

    #[test]
    fn error_reply_carries_status_envelope_and_retry_after() {
        let err = ApiError::gateway(ErrorCode::RateLimited, "slow down")
            .with_retry_after(std::time::Duration::from_secs(2));
        let reply = error_reply(&err);
        assert_eq!(reply.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(reply.headers()[RETRY_AFTER], "2");
        assert_eq!(reply.headers()[CONTENT_TYPE], "application/json");
    }
}
