//! The two error envelopes (`docs/contract.md`, *Error envelopes*) read, classified and written by
//! `ApiError`, including bodies that carry no envelope at all.

use std::time::Duration;

use agent37_stream::protocol::error::{ApiError, Envelope, ErrorCode};
use proptest::prelude::*;
use serde_json::json;

/// The gateway table of the user's error page: code, HTTP status, retryable, billing.
const GATEWAY: &[(&str, u16, bool, bool)] = &[
    ("invalid_api_key", 401, false, false),
    ("insufficient_balance", 402, false, true),
    ("instance_cap_reached", 402, false, true),
    ("instance_not_found", 404, false, false),
    ("session_not_found", 404, false, false),
    ("instance_not_running", 409, false, false),
    ("session_busy", 409, false, false),
    ("payload_too_large", 413, false, false),
    ("rate_limited", 429, true, false),
    ("validation_error", 400, false, false),
    ("insufficient_capacity", 503, true, false),
];

/// The Agents SDK codes with the status each is sent with, retryable, and the
/// status `ErrorCode::http_status` documents (none where the SDK page is ambiguous).
const AGENTS_SDK: &[(&str, u16, bool, Option<u16>)] = &[
    ("invalid_request", 400, false, Some(400)),
    ("unauthorized", 401, false, Some(401)),
    ("forbidden", 403, false, Some(403)),
    ("not_found", 404, false, Some(404)),
    ("rate_limit_exceeded", 429, true, Some(429)),
    ("sandbox_error", 500, false, None),
    ("budget_exceeded", 400, false, None),
    ("stream_active", 409, false, Some(409)),
];

fn body(value: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&value).unwrap()
}

#[test]
fn every_gateway_code_parses_classifies_and_round_trips() {
    for &(text, status, retryable, billing) in GATEWAY {
        let raw = body(json!({"error": {
            "code": text,
            "message": format!("{text} happened"),
            "hint": "Try again later.",
        }}));
        let err = ApiError::from_response(status, None, &raw);

        let code = err.code().unwrap_or_else(|| panic!("{text}: no code"));
        assert!(code.is_known(), "{text}");
        assert_eq!(code.as_str(), text);
        assert_eq!(code.to_string(), text);
        assert_eq!(code.http_status(), Some(status), "{text}");
        assert_eq!(code.envelope(), Some(Envelope::Gateway), "{text}");
        assert_eq!(err.envelope(), Some(Envelope::Gateway), "{text}");
        assert_eq!(err.status(), status);
        assert_eq!(err.message(), format!("{text} happened"));
        assert_eq!(err.hint(), Some("Try again later."));
        assert_eq!(err.param(), None);
        assert_eq!(err.body_status(), None);
        assert_eq!(err.is_retryable(), retryable, "{text}");
        assert_eq!(err.is_billing(), billing, "{text}");
        assert_eq!(code.is_billing(), billing, "{text}");
        assert!(!(err.is_billing() && err.is_retryable()), "{text}");

        let built = ApiError::gateway(code.clone(), format!("{text} happened"))
            .with_hint("Try again later.");
        assert_eq!(built.status(), status, "{text}");
        assert_eq!(built, err, "{text}");
        let again = ApiError::from_response(built.status(), None, built.to_json().as_bytes());
        assert_eq!(again, err, "{text}");
    }
}

#[test]
fn every_agents_sdk_code_parses_classifies_and_round_trips() {
    for &(text, status, retryable, documented) in AGENTS_SDK {
        let raw = body(json!({"error": {
            "code": text,
            "message": "It failed.",
            "status": status,
        }}));
        let err = ApiError::from_response(status, None, &raw);

        let code = err.code().unwrap_or_else(|| panic!("{text}: no code"));
        assert!(code.is_known(), "{text}");
        assert_eq!(code.as_str(), text);
        assert_eq!(code.http_status(), documented, "{text}");
        assert_eq!(code.envelope(), Some(Envelope::AgentsSdk), "{text}");
        assert_eq!(err.envelope(), Some(Envelope::AgentsSdk), "{text}");
        assert_eq!(err.body_status(), Some(status));
        assert_eq!(err.message(), "It failed.");
        assert_eq!(err.is_retryable(), retryable, "{text}");
        assert!(!err.is_billing(), "{text}");

        let built = ApiError::agents_sdk(code.clone(), "It failed.").with_status(status);
        assert_eq!(built, err, "{text}");
        assert_eq!(
            built.to_json(),
            format!(r#"{{"error":{{"code":"{text}","message":"It failed.","status":{status}}}}}"#)
        );
        let again = ApiError::from_response(status, None, built.to_json().as_bytes());
        assert_eq!(again, err, "{text}");
    }
}

#[test]
fn agents_sdk_codes_without_a_status_in_the_body_are_still_recognised() {
    let err = ApiError::from_response(
        404,
        None,
        br#"{"error":{"code":"not_found","message":"x"}}"#,
    );
    assert_eq!(err.envelope(), Some(Envelope::AgentsSdk));
    assert_eq!(err.body_status(), None);
    // Written back, the SDK envelope gets its status from the HTTP status.
    assert_eq!(
        err.to_json(),
        r#"{"error":{"code":"not_found","message":"x","status":404}}"#
    );
}

#[test]
fn the_documented_examples_parse() {
    let balance = br#"{
      "error": {
        "code": "insufficient_balance",
        "message": "Balance cannot cover a new instance.",
        "hint": "Add funds to your balance in the dashboard."
      }
    }"#;
    let err = ApiError::from_response(402, None, balance);
    assert_eq!(err.code(), Some(&ErrorCode::InsufficientBalance));
    assert_eq!(
        err.hint(),
        Some("Add funds to your balance in the dashboard.")
    );
    assert!(err.is_billing());
    assert!(!err.is_retryable());

    let sdk = br#"{
      "error": {
        "code": "rate_limit_exceeded",
        "message": "Too many requests. Please retry after 60 seconds.",
        "status": 429,
        "retryAfter": 60
      }
    }"#;
    let err = ApiError::from_response(429, None, sdk);
    assert_eq!(err.code(), Some(&ErrorCode::RateLimitExceeded));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
    assert!(err.is_retryable());
}

#[test]
fn sandbox_error_is_retryable_only_when_the_runtime_is_unavailable() {
    let at = |http: u16, body_status: u16| {
        let raw = body(
            json!({"error": {"code": "sandbox_error", "message": "boom", "status": body_status}}),
        );
        ApiError::from_response(http, None, &raw)
    };
    assert!(!at(500, 500).is_retryable());
    assert!(at(503, 503).is_retryable());
    // Either status saying 503 is enough.
    assert!(at(500, 503).is_retryable());
    assert!(at(503, 500).is_retryable());

    let built = ApiError::agents_sdk(ErrorCode::SandboxError, "runtime unavailable");
    assert_eq!(built.status(), 500);
    assert!(!built.is_retryable());
    let built = built.with_status(503);
    assert_eq!(built.body_status(), Some(503));
    assert!(built.is_retryable());
}

#[test]
fn unknown_codes_are_kept_exactly_and_classified_by_status() {
    for text in [
        "quota_exhausted",
        "Rate_Limited",
        "rate_limited ",
        "",
        "ünïcode",
    ] {
        let code: ErrorCode = text.parse().unwrap();
        assert_eq!(code, ErrorCode::Other(text.to_owned()));
        assert!(!code.is_known());
        assert_eq!(code.http_status(), None);
        assert_eq!(code.envelope(), None);
        assert_eq!(code.as_str(), text);

        let raw = body(json!({"error": {"code": text, "message": "m"}}));
        let err = ApiError::from_response(418, None, &raw);
        assert_eq!(err.code().map(ErrorCode::as_str), Some(text));
        assert_eq!(err.envelope(), Some(Envelope::Gateway));
        assert!(!err.is_retryable());
        assert!(!err.is_billing());
    }
    let retry = ApiError::from_response(
        503,
        None,
        br#"{"error":{"code":"overloaded","message":""}}"#,
    );
    assert!(retry.is_retryable());
    let retry =
        ApiError::from_response(429, None, br#"{"error":{"code":"slow_down","message":""}}"#);
    assert!(retry.is_retryable());
    let billing = ApiError::from_response(
        402,
        None,
        br#"{"error":{"code":"card_declined","message":""}}"#,
    );
    assert!(billing.is_billing());
    assert!(!billing.is_retryable());
    // An unknown code with an SDK-only field is read as the SDK envelope.
    let sdk = ApiError::from_response(
        400,
        None,
        br#"{"error":{"code":"sandbox_gone","message":"","status":410}}"#,
    );
    assert_eq!(sdk.envelope(), Some(Envelope::AgentsSdk));
    assert_eq!(sdk.body_status(), Some(410));
}

#[test]
fn known_codes_do_not_fall_back_on_status() {
    // A session_busy is never blindly retried, whatever status it came with.
    let err = ApiError::from_response(
        503,
        None,
        br#"{"error":{"code":"session_busy","message":""}}"#,
    );
    assert!(!err.is_retryable());
    // Billing is never retried, even with a retryable status.
    let err = ApiError::from_response(
        503,
        Some("5"),
        br#"{"error":{"code":"instance_cap_reached","message":""}}"#,
    );
    assert!(err.is_billing());
    assert!(!err.is_retryable());
    // A budget_exceeded sent as 402 is billing through its status.
    let err = ApiError::from_response(
        402,
        None,
        br#"{"error":{"code":"budget_exceeded","message":"","status":402}}"#,
    );
    assert!(err.is_billing());
}

#[test]
fn error_codes_parse_display_and_serialize_as_strings() {
    for text in GATEWAY
        .iter()
        .map(|row| row.0)
        .chain(AGENTS_SDK.iter().map(|row| row.0))
        .chain(["something_new"])
    {
        let code: ErrorCode = text.parse().unwrap();
        assert_eq!(ErrorCode::from(text.to_owned()), code);
        assert_eq!(code, text);
        assert_eq!(format!("{code}"), text);
        assert_eq!(serde_json::to_value(&code).unwrap(), json!(text));
        let back: ErrorCode = serde_json::from_value(json!(text)).unwrap();
        assert_eq!(back, code);
        assert_eq!(back.is_known(), text != "something_new");
    }
    assert!(serde_json::from_value::<ErrorCode>(json!(429)).is_err());
}

#[test]
fn a_proxy_html_page_gives_a_typed_error_with_an_excerpt() {
    let html = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    let err = ApiError::from_response(502, None, html);
    assert_eq!(err.status(), 502);
    assert_eq!(err.code(), None);
    assert_eq!(err.envelope(), None);
    assert_eq!(err.param(), None);
    assert_eq!(err.message(), "the response body is not JSON");
    assert_eq!(
        err.body_excerpt(),
        Some(
            "<html> <head><title>502 Bad Gateway</title></head> <body> <center><h1>502 Bad Gateway</h1></center> <hr><center>nginx</center> </body> </html>"
        )
    );
    // POST /v1/responses is not idempotent: a 502 is not retried blindly.
    assert!(!err.is_retryable());
    let shown = err.to_string();
    assert!(
        shown.starts_with("HTTP 502 without an error envelope"),
        "{shown}"
    );
    assert!(shown.contains("502 Bad Gateway"), "{shown}");

    let unavailable = ApiError::from_response(503, Some("10"), b"<html>Service Unavailable</html>");
    assert!(unavailable.is_retryable());
    assert_eq!(unavailable.retry_after(), Some(Duration::from_secs(10)));
}

#[test]
fn bodies_without_an_envelope_say_what_they_were() {
    let cases: &[(&[u8], &str, Option<&str>)] = &[
        (b"", "the response body is empty", None),
        (b" \r\n\t", "the response body is empty", None),
        (
            b"{\"error\": {\"code\": \"rate_",
            "the response body is not JSON",
            Some("{\"error\": {\"code\": \"rate_"),
        ),
        (
            b"[1, 2]",
            "the response body has no `error` object with a string `code`",
            Some("[1, 2]"),
        ),
        (
            b"{\"message\": \"nope\"}",
            "the response body has no `error` object with a string `code`",
            Some("{\"message\": \"nope\"}"),
        ),
        (
            b"{\"error\": \"nope\"}",
            "the response body has no `error` object with a string `code`",
            Some("{\"error\": \"nope\"}"),
        ),
        (
            b"{\"error\": {\"message\": \"no code\"}}",
            "the response body has no `error` object with a string `code`",
            Some("{\"error\": {\"message\": \"no code\"}}"),
        ),
        (
            b"{\"error\": {\"code\": 429}}",
            "the response body has no `error` object with a string `code`",
            Some("{\"error\": {\"code\": 429}}"),
        ),
        (
            b"null",
            "the response body has no `error` object with a string `code`",
            Some("null"),
        ),
        (
            b"\xff\xfe garbage",
            "the response body is not JSON",
            Some("\u{fffd}\u{fffd} garbage"),
        ),
    ];
    for &(raw, message, excerpt) in cases {
        let err = ApiError::from_response(500, None, raw);
        assert_eq!(err.code(), None, "{raw:?}");
        assert_eq!(err.status(), 500);
        assert_eq!(err.message(), message, "{raw:?}");
        assert_eq!(err.body_excerpt(), excerpt, "{raw:?}");
        assert!(!err.is_retryable());
        // Written back it becomes a gateway envelope a client can still branch on.
        let again = ApiError::from_response(500, None, err.to_json().as_bytes());
        assert_eq!(again.code().map(ErrorCode::as_str), Some("http_error"));
        assert_eq!(again.message(), message);
    }
}

#[test]
fn empty_429_with_retry_after_is_retryable() {
    let err = ApiError::from_response(429, Some("7"), b"");
    assert_eq!(err.code(), None);
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(
        err.to_string(),
        "HTTP 429 without an error envelope: the response body is empty"
    );
}

#[test]
fn retry_after_header_wins_over_the_body() {
    let sdk =
        br#"{"error":{"code":"rate_limit_exceeded","message":"","status":429,"retryAfter":60}}"#;
    let secs =
        |header: Option<&str>, raw: &[u8]| ApiError::from_response(429, header, raw).retry_after();
    assert_eq!(secs(Some("5"), sdk), Some(Duration::from_secs(5)));
    assert_eq!(secs(None, sdk), Some(Duration::from_secs(60)));
    // A header that is neither delta-seconds nor an HTTP-date is ignored.
    assert_eq!(secs(Some("soon"), sdk), Some(Duration::from_secs(60)));
    assert_eq!(secs(Some("-5"), sdk), Some(Duration::from_secs(60)));
    assert_eq!(secs(Some(" 12 "), sdk), Some(Duration::from_secs(12)));
    // A date in the past means no wait.
    assert_eq!(
        secs(Some("Sun, 06 Nov 1994 08:49:37 GMT"), sdk),
        Some(Duration::ZERO)
    );
    // A date far in the future is a long wait.
    let far = secs(Some("Fri, 31 Dec 9999 23:59:59 GMT"), sdk).unwrap();
    assert!(far > Duration::from_secs(100 * 365 * 86_400), "{far:?}");

    let gateway = br#"{"error":{"code":"rate_limited","message":"Too many requests."}}"#;
    assert_eq!(secs(None, gateway), None);
    assert_eq!(secs(Some("30"), gateway), Some(Duration::from_secs(30)));

    let fraction = br#"{"error":{"code":"rate_limit_exceeded","message":"","retryAfter":0.25}}"#;
    assert_eq!(secs(None, fraction), Some(Duration::from_millis(250)));
    for bad in [r#""60""#, "-1", "null", "true"] {
        let raw = format!(
            r#"{{"error":{{"code":"rate_limit_exceeded","message":"","retryAfter":{bad}}}}}"#
        );
        assert_eq!(secs(None, raw.as_bytes()), None, "{bad}");
    }
}

#[test]
fn fields_of_the_wrong_type_are_dropped_not_fatal() {
    let raw = br#"{"error":{"code":"validation_error","message":5,"param":["input"],"hint":null,"status":"400"}}"#;
    let err = ApiError::from_response(400, None, raw);
    assert_eq!(err.code(), Some(&ErrorCode::ValidationError));
    assert_eq!(err.message(), "");
    assert_eq!(err.param(), None);
    assert_eq!(err.hint(), None);
    assert_eq!(err.body_status(), None);
    assert_eq!(err.to_string(), "validation_error (HTTP 400)");

    let out_of_range = br#"{"error":{"code":"forbidden","message":"","status":70000}}"#;
    assert_eq!(
        ApiError::from_response(403, None, out_of_range).body_status(),
        None
    );
}

#[test]
fn gateway_json_omits_absent_fields_and_keeps_field_order() {
    let err = ApiError::gateway(ErrorCode::ValidationError, "`input` is required");
    assert_eq!(
        err.to_json(),
        r#"{"error":{"code":"validation_error","message":"`input` is required"}}"#
    );
    let err = err.with_param("input").with_hint("Send a string.");
    assert_eq!(
        err.to_json(),
        r#"{"error":{"code":"validation_error","message":"`input` is required","param":"input","hint":"Send a string."}}"#
    );
    assert_eq!(serde_json::to_string(&err).unwrap(), err.to_json());
    assert_eq!(
        err.to_string(),
        "validation_error (HTTP 400, param `input`): `input` is required (hint: Send a string.)"
    );
}

#[test]
fn gateway_retry_after_travels_in_the_header() {
    let err = ApiError::gateway(ErrorCode::RateLimited, "Too many requests.")
        .with_retry_after(Duration::from_secs(30));
    assert_eq!(err.status(), 429);
    assert!(!err.to_json().contains("retryAfter"));
    assert_eq!(err.retry_after_header_value().as_deref(), Some("30"));
    let header = err.retry_after_header_value();
    let again = ApiError::from_response(err.status(), header.as_deref(), err.to_json().as_bytes());
    assert_eq!(again, err);
    assert_eq!(again.retry_after(), Some(Duration::from_secs(30)));
}

#[test]
fn agents_sdk_retry_after_travels_in_the_body() {
    let err = ApiError::agents_sdk(ErrorCode::RateLimitExceeded, "slow down")
        .with_retry_after(Duration::from_secs(60));
    let again = ApiError::from_response(429, None, err.to_json().as_bytes());
    assert_eq!(again, err);
    assert_eq!(again.retry_after(), Some(Duration::from_secs(60)));
}

#[test]
fn codes_without_a_documented_status_default_to_500() {
    let err = ApiError::gateway(ErrorCode::from("teapot"), "short and stout");
    assert_eq!(err.status(), 500);
    assert_eq!(err.with_status(418).status(), 418);
    let err = ApiError::agents_sdk(ErrorCode::BudgetExceeded, "over maxBudgetUsd");
    assert_eq!(err.status(), 500);
    assert_eq!(err.body_status(), Some(500));
}

#[test]
fn api_error_is_a_std_error() {
    fn fails() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Err(ApiError::gateway(ErrorCode::SessionBusy, "busy"))?
    }
    let err = fails().unwrap_err();
    assert_eq!(err.to_string(), "session_busy (HTTP 409): busy");
    assert!(err.downcast_ref::<ApiError>().is_some());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        status in any::<u16>(),
        header in proptest::option::of(any::<String>()),
        raw in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let err = ApiError::from_response(status, header.as_deref(), &raw);
        prop_assert_eq!(err.status(), status);
        let _ = err.to_string();
        let _ = err.retry_after();
        let _ = err.retry_after_header_value();
        let _ = (err.is_retryable(), err.is_billing());
        // Whatever came in, what goes out is an envelope.
        let again = ApiError::from_response(status, None, err.to_json().as_bytes());
        prop_assert!(again.code().is_some());
    }

    #[test]
    fn arbitrary_envelopes_keep_their_strings(
        code in any::<String>(),
        message in any::<String>(),
        param in proptest::option::of(any::<String>()),
        status in proptest::option::of(100u16..600),
    ) {
        let mut error = serde_json::Map::new();
        error.insert("code".into(), json!(code));
        error.insert("message".into(), json!(message));
        if let Some(param) = &param {
            error.insert("param".into(), json!(param));
        }
        if let Some(status) = status {
            error.insert("status".into(), json!(status));
        }
        let raw = body(json!({"error": error}));
        let err = ApiError::from_response(status.unwrap_or(400), None, &raw);
        prop_assert_eq!(err.code().map(ErrorCode::as_str), Some(code.as_str()));
        prop_assert_eq!(err.message(), message.as_str());
        prop_assert_eq!(err.param(), param.as_deref());
        prop_assert_eq!(err.body_status(), status);
        let again = ApiError::from_response(err.status(), None, err.to_json().as_bytes());
        prop_assert_eq!(again, err);
    }
}
