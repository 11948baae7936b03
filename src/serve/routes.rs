//! The endpoints of spec 001, and the checks every request goes through.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State as Shared};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::{get, post};

use super::body::sse_body;
use super::state::{State, Turn, run_turn};
use crate::protocol::error::{ApiError, ErrorCode};
use crate::protocol::request::{CreateResponse, MAX_BODY_BYTES};
use crate::protocol::response::Response;

/// The most request body bytes read before answering 413. Reading past the
/// 2 MB limit (rather than stopping at it) lets a client that sends a little
/// too much finish sending and read the 413, instead of seeing a reset.
const READ_LIMIT: usize = 4 * MAX_BODY_BYTES;

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/v1/responses", post(create))
        .route("/v1/responses/{id}", get(fetch))
        .route("/v1/responses/{id}/stream", get(replay))
        .route("/v1/responses/{id}/cancel", post(cancel))
        .with_state(state)
}

/// `POST /v1/responses`: starts a turn; streams it or answers when it ends.
async fn create(Shared(state): Shared<Arc<State>>, headers: HeaderMap, body: Body) -> HttpResponse {
    if let Err(err) = admit(&state, &headers) {
        return error_reply(&err);
    }
    let request = match axum::body::to_bytes(body, READ_LIMIT).await {
        Ok(bytes) => CreateResponse::from_body(&bytes),
        Err(_) => Err(ApiError::gateway(
            ErrorCode::PayloadTooLarge,
            format!("the request body is over the {MAX_BODY_BYTES}-byte limit"),
        )),
    };
    let started = request.and_then(|request| {
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

/// `GET /v1/responses/{id}`: the response object as it stands.
async fn fetch(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> HttpResponse {
    match admit(&state, &headers).and_then(|()| state.turn(&id)) {
        Ok(turn) => json_reply(&turn.response()),
        Err(err) => error_reply(&err),
    }
}

/// `GET /v1/responses/{id}/stream`: every event so far, then live.
async fn replay(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> HttpResponse {
    match admit(&state, &headers).and_then(|()| state.turn(&id)) {
        Ok(turn) => event_stream(&state, turn, false),
        Err(err) => error_reply(&err),
    }
}

/// `POST /v1/responses/{id}/cancel`: stops a running turn; a finished one is
/// returned as it is.
async fn cancel(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> HttpResponse {
    match admit(&state, &headers).and_then(|()| state.turn(&id)) {
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
        (Some(token), Some(key)) if token != key => invalid("The API key is not valid."),
        (Some(_), _) => Ok(()),
    }
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
