//! The `POST /v1/responses` body: building it, and every server rule reproduced as
//! the typed error the gateway sends.

use agent37_stream::protocol::error::{ApiError, Envelope, ErrorCode};
use agent37_stream::protocol::request::{
    Agent, CreateResponse, MAX_BODY_BYTES, MAX_METADATA_BYTES, MAX_METADATA_PAIRS, Mode,
    ReasoningEffort,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn reject(body: &[u8]) -> ApiError {
    match CreateResponse::from_body(body) {
        Ok(request) => panic!("accepted {:?}: {request:?}", String::from_utf8_lossy(body)),
        Err(err) => err,
    }
}

fn reject_json(value: Value) -> ApiError {
    reject(&serde_json::to_vec(&value).unwrap())
}

fn assert_validation(err: &ApiError, param: Option<&str>) {
    assert_eq!(err.code(), Some(&ErrorCode::ValidationError), "{err}");
    assert_eq!(err.status(), 400, "{err}");
    assert_eq!(err.envelope(), Some(Envelope::Gateway), "{err}");
    assert_eq!(err.param(), param, "{err}");
    assert!(!err.is_retryable());
}

/// A metadata object whose compact JSON is exactly `len` bytes.
fn metadata_of_len(len: usize) -> Map<String, Value> {
    // {"k":"…"} is 8 bytes around the value.
    let mut map = Map::new();
    map.insert("k".into(), Value::String("v".repeat(len - 8)));
    assert_eq!(serde_json::to_vec(&map).unwrap().len(), len);
    map
}

fn metadata_of_pairs(pairs: usize) -> Map<String, Value> {
    (0..pairs)
        .map(|i| (format!("key{i:02}"), json!(i)))
        .collect()
}

#[test]
fn builder_writes_the_documented_body() {
    let request = CreateResponse::builder("Make it shorter, add a quote.")
        .session_id("7f3e0b6c52a949d2b1c4a8e9d0f31726")
        .stream(true)
        .model("claude-sonnet-4")
        .provider("anthropic")
        .reasoning_effort(ReasoningEffort::XHigh)
        .metadata_entry("user", "u_42")
        .metadata_entry("attempt", 2)
        .agent(Agent::Hermes)
        .mode(Mode::Chat)
        .instance_id("inst_x7")
        .build()
        .unwrap();
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({
            "input": "Make it shorter, add a quote.",
            "session_id": "7f3e0b6c52a949d2b1c4a8e9d0f31726",
            "stream": true,
            "model": "claude-sonnet-4",
            "provider": "anthropic",
            "reasoning_effort": "xhigh",
            "metadata": {"user": "u_42", "attempt": 2},
            "instance_id": "inst_x7",
        })
    );
    let body = serde_json::to_vec(&request).unwrap();
    assert_eq!(CreateResponse::from_body(&body).unwrap(), request);
    assert_eq!(
        serde_json::from_slice::<CreateResponse>(&body).unwrap(),
        request
    );
}

#[test]
fn the_minimal_documented_body_is_accepted_with_defaults() {
    let request =
        CreateResponse::from_body(br#"{"input": "Research the top 3 EV makers, write a memo."}"#)
            .unwrap();
    assert_eq!(request.input, "Research the top 3 EV makers, write a memo.");
    assert!(!request.stream);
    assert_eq!(request.agent, Agent::Hermes);
    assert_eq!(request.mode, Mode::Chat);
    assert_eq!(request.session_id, None);
    assert_eq!(request.metadata, None);
    assert_eq!(
        request,
        CreateResponse::new("Research the top 3 EV makers, write a memo.")
    );
}

#[test]
fn explicit_defaults_nulls_and_unknown_fields_are_accepted() {
    let request = CreateResponse::from_body(
        br#"{"input": "hi", "stream": false, "agent": "hermes", "mode": "chat",
             "session_id": null, "model": null, "provider": null, "reasoning_effort": null,
             "metadata": null, "instance_id": null, "stream_options": {"x": 1}, "future": [1]}"#,
    )
    .unwrap();
    assert_eq!(request, CreateResponse::new("hi"));
}

#[test]
fn every_reasoning_effort_is_accepted() {
    for text in ["none", "minimal", "low", "medium", "high", "xhigh"] {
        let request = CreateResponse::from_body(
            format!(r#"{{"input":"hi","reasoning_effort":"{text}"}}"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(
            request.reasoning_effort.map(ReasoningEffort::as_str),
            Some(text)
        );
    }
}

#[test]
fn input_is_required_and_must_be_a_string() {
    let err = reject_json(json!({"stream": true}));
    assert_validation(&err, Some("input"));
    assert_eq!(err.message(), "`input` is required");
    for bad in [
        json!(null),
        json!(42),
        json!(["hi"]),
        json!({"text": "hi"}),
        json!(true),
    ] {
        assert_validation(&reject_json(json!({"input": bad})), Some("input"));
    }
    let err = reject_json(json!({"input": null}));
    assert_eq!(err.message(), "`input` must be a string, not null");
}

#[test]
fn each_ill_typed_field_is_named() {
    let cases = [
        ("session_id", json!(7)),
        ("stream", json!("true")),
        ("stream", json!(1)),
        ("model", json!(["gpt"])),
        ("provider", json!({"name": "anthropic"})),
        ("reasoning_effort", json!("extreme")),
        ("reasoning_effort", json!("High")),
        ("reasoning_effort", json!(3)),
        ("metadata", json!(["a", "b"])),
        ("metadata", json!("k=v")),
        ("agent", json!("openclaw")),
        ("agent", json!(1)),
        ("mode", json!("goal")),
        ("mode", json!("agentic")),
        ("mode", json!(false)),
        ("instance_id", json!(12)),
    ];
    for (field, value) in cases {
        let err = reject_json(json!({"input": "hi", field: value}));
        assert_validation(&err, Some(field));
        assert!(err.message().contains(field), "{field}: {}", err.message());
    }
}

#[test]
fn messages_say_what_was_wrong() {
    let err = reject_json(json!({"input": "hi", "reasoning_effort": "extreme"}));
    assert_eq!(
        err.message(),
        r#"`reasoning_effort` must be one of none, minimal, low, medium, high, xhigh; got "extreme""#
    );
    let err = reject_json(json!({"input": "hi", "stream": "yes"}));
    assert_eq!(err.message(), "`stream` must be a boolean, not a string");
    let err = reject_json(json!({"input": "hi", "mode": "goal"}));
    assert!(err.message().contains("reserved"), "{}", err.message());
    let err = reject_json(json!({"input": "hi", "mode": "Chat"}));
    assert_eq!(
        err.message(),
        r#"`mode` must be one of chat, goal; got "Chat""#
    );
    let err = reject_json(json!({"input": "hi", "agent": "codex"}));
    assert_eq!(
        err.message(),
        r#"`agent` must be one of hermes; got "codex""#
    );
}

#[test]
fn an_unknown_agent_is_refused_by_validate_as_by_from_body() {
    let agent: Agent = "openclaw".parse().unwrap();
    assert!(matches!(&agent, Agent::Other(name) if name.as_str() == "openclaw"));
    let err = CreateResponse::builder("hi")
        .agent(agent.clone())
        .build()
        .unwrap_err();
    assert_validation(&err, Some("agent"));
    assert_eq!(
        err.message(),
        r#"`agent` must be one of hermes; got "openclaw""#
    );

    let unchecked = CreateResponse::builder("hi").agent(agent).build_unchecked();
    let body = serde_json::to_vec(&unchecked).unwrap();
    assert_eq!(body, br#"{"input":"hi","agent":"openclaw"}"#);
    assert_eq!(CreateResponse::from_body(&body).unwrap_err(), err);
    assert!(serde_json::from_slice::<CreateResponse>(&body).is_err());

    // The agent is a type rule: it comes before the metadata limits and `goal`.
    let both = CreateResponse::builder("hi")
        .agent(Agent::from("Hermes"))
        .metadata(metadata_of_pairs(17))
        .mode(Mode::Goal)
        .build_unchecked();
    let err = both.validate().unwrap_err();
    assert_eq!(err.param(), Some("agent"));
    let body = serde_json::to_vec(&both).unwrap();
    assert_eq!(CreateResponse::from_body(&body).unwrap_err(), err);
}

#[test]
fn the_first_bad_field_in_documented_order_is_reported() {
    let err = reject_json(json!({"mode": 1, "agent": 1, "input": 1}));
    assert_eq!(err.param(), Some("input"));
    let err = reject_json(json!({"input": "hi", "mode": 1, "agent": 1}));
    assert_eq!(err.param(), Some("agent"));
    // Type rules come before the metadata limits and the goal rule.
    let err = reject_json(
        json!({"input": "hi", "mode": "goal", "metadata": metadata_of_pairs(17), "instance_id": 1}),
    );
    assert_eq!(err.param(), Some("instance_id"));
    let err =
        reject_json(json!({"input": "hi", "mode": "goal", "metadata": metadata_of_pairs(17)}));
    assert_eq!(err.param(), Some("metadata"));
}

#[test]
fn bodies_that_are_not_a_json_object_are_rejected_without_param() {
    let not_json: &[&[u8]] = &[
        b"",
        b"input=hi",
        b"{\"input\": \"hi\"",
        b"{\"input\": \"hi\"} x",
        b"\xff",
    ];
    for raw in not_json {
        let err = reject(raw);
        assert_validation(&err, None);
        assert!(
            err.message()
                .starts_with("the request body is not valid JSON"),
            "{}",
            err.message()
        );
    }
    for (raw, kind) in [
        (&b"[\"hi\"]"[..], "an array"),
        (b"\"hi\"", "a string"),
        (b"42", "a number"),
        (b"null", "null"),
        (b"true", "a boolean"),
    ] {
        let err = reject(raw);
        assert_validation(&err, None);
        assert_eq!(
            err.message(),
            format!("the request body must be a JSON object, not {kind}")
        );
    }
}

#[test]
fn body_size_limit_is_exactly_two_mebibytes() {
    assert_eq!(MAX_BODY_BYTES, 2_097_152);
    let body_of_len = |len: usize| format!(r#"{{"input":"{}"}}"#, "a".repeat(len - 12));

    let at_limit = body_of_len(MAX_BODY_BYTES);
    assert_eq!(at_limit.len(), MAX_BODY_BYTES);
    assert!(CreateResponse::from_body(at_limit.as_bytes()).is_ok());

    let over = body_of_len(MAX_BODY_BYTES + 1);
    let err = reject(over.as_bytes());
    assert_eq!(err.code(), Some(&ErrorCode::PayloadTooLarge));
    assert_eq!(err.status(), 413);
    assert_eq!(err.param(), None);
    assert_eq!(
        err.to_json(),
        r#"{"error":{"code":"payload_too_large","message":"the request body is 2097153 bytes, over the 2097152-byte limit"}}"#
    );

    // Size is checked before anything else, even before JSON.
    let garbage = vec![b'<'; MAX_BODY_BYTES + 1];
    assert_eq!(reject(&garbage).code(), Some(&ErrorCode::PayloadTooLarge));
}

#[test]
fn validate_applies_the_body_limit_to_the_serialized_request() {
    let fits = CreateResponse::new("a".repeat(MAX_BODY_BYTES - 12));
    assert_eq!(serde_json::to_vec(&fits).unwrap().len(), MAX_BODY_BYTES);
    assert_eq!(fits.validate(), Ok(()));

    let over = CreateResponse::new("a".repeat(MAX_BODY_BYTES - 11));
    let err = over.validate().unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::PayloadTooLarge));
    // Escapes count: a quote in the input takes two bytes on the wire.
    let escaped = CreateResponse::new("\"".repeat(MAX_BODY_BYTES / 2));
    assert_eq!(escaped.validate().unwrap_err().status(), 413);
}

#[test]
fn metadata_pair_limit_is_sixteen() {
    assert_eq!(MAX_METADATA_PAIRS, 16);
    let ok = json!({"input": "hi", "metadata": metadata_of_pairs(16)});
    let request = CreateResponse::from_body(&serde_json::to_vec(&ok).unwrap()).unwrap();
    assert_eq!(request.metadata.as_ref().map(Map::len), Some(16));

    let err = reject_json(json!({"input": "hi", "metadata": metadata_of_pairs(17)}));
    assert_validation(&err, Some("metadata"));
    assert_eq!(
        err.message(),
        "`metadata` has 17 pairs, more than the 16 allowed"
    );

    let mut request = CreateResponse::new("hi");
    request.metadata = Some(metadata_of_pairs(16));
    assert_eq!(request.validate(), Ok(()));
    request.metadata = Some(metadata_of_pairs(17));
    assert_validation(&request.validate().unwrap_err(), Some("metadata"));
}

#[test]
fn duplicate_metadata_keys_count_once() {
    // JSON objects with repeated keys keep the last value, as serde_json reads them.
    let mut raw = String::from(r#"{"input":"hi","metadata":{"#);
    for i in 0..16 {
        raw.push_str(&format!(r#""key{i}":{i},"#));
    }
    raw.push_str(r#""key0":"again"}}"#);
    let request = CreateResponse::from_body(raw.as_bytes()).unwrap();
    let metadata = request.metadata.unwrap();
    assert_eq!(metadata.len(), 16);
    assert_eq!(metadata["key0"], json!("again"));
}

#[test]
fn metadata_byte_limit_is_exactly_64_kibibytes() {
    assert_eq!(MAX_METADATA_BYTES, 65_536);
    let ok = json!({"input": "hi", "metadata": metadata_of_len(MAX_METADATA_BYTES)});
    assert!(CreateResponse::from_body(&serde_json::to_vec(&ok).unwrap()).is_ok());

    let err =
        reject_json(json!({"input": "hi", "metadata": metadata_of_len(MAX_METADATA_BYTES + 1)}));
    assert_validation(&err, Some("metadata"));
    assert_eq!(
        err.message(),
        "`metadata` is 65537 bytes serialized, over the 65536-byte limit"
    );

    let mut request = CreateResponse::new("hi");
    request.metadata = Some(metadata_of_len(MAX_METADATA_BYTES));
    assert_eq!(request.validate(), Ok(()));
    request.metadata = Some(metadata_of_len(MAX_METADATA_BYTES + 1));
    assert_validation(&request.validate().unwrap_err(), Some("metadata"));
}

#[test]
fn metadata_bytes_ignore_the_senders_whitespace() {
    let metadata = metadata_of_len(MAX_METADATA_BYTES);
    let pretty = serde_json::to_vec_pretty(&json!({"input": "hi", "metadata": metadata})).unwrap();
    assert!(CreateResponse::from_body(&pretty).is_ok());
}

#[test]
fn metadata_values_may_be_any_json() {
    let metadata = json!({
        "s": "text", "n": 1.5, "i": -3, "b": true, "z": null,
        "a": [1, "two", {"three": 3}], "o": {"nested": {"deep": []}},
    });
    let request = CreateResponse::from_body(
        &serde_json::to_vec(&json!({"input": "hi", "metadata": metadata})).unwrap(),
    )
    .unwrap();
    assert_eq!(Value::Object(request.metadata.clone().unwrap()), metadata);
    let again = CreateResponse::from_body(&serde_json::to_vec(&request).unwrap()).unwrap();
    assert_eq!(again, request);
}

#[test]
fn goal_mode_parses_but_is_rejected() {
    assert_eq!("goal".parse::<Mode>(), Ok(Mode::Goal));
    let err = CreateResponse::builder("hi")
        .mode(Mode::Goal)
        .build()
        .unwrap_err();
    assert_validation(&err, Some("mode"));

    let unchecked = CreateResponse::builder("hi")
        .mode(Mode::Goal)
        .build_unchecked();
    assert_eq!(unchecked.mode, Mode::Goal);
    let body = serde_json::to_vec(&unchecked).unwrap();
    assert_eq!(body, br#"{"input":"hi","mode":"goal"}"#);
    assert_eq!(CreateResponse::from_body(&body).unwrap_err(), err);
    // Deserialize reads the shape only; the reserved value is the validator's job.
    assert_eq!(
        serde_json::from_slice::<CreateResponse>(&body).unwrap(),
        unchecked
    );
}

#[test]
fn deserialize_reports_type_errors() {
    let err =
        serde_json::from_str::<CreateResponse>(r#"{"input": "hi", "agent": "codex"}"#).unwrap_err();
    assert!(
        err.to_string().contains("`agent` must be one of hermes"),
        "{err}"
    );
    assert!(serde_json::from_str::<CreateResponse>("[]").is_err());
}

#[test]
fn rejections_serialize_as_the_gateway_envelope() {
    let err = reject_json(json!({"input": "hi", "metadata": "x"}));
    let sent = ApiError::from_response(err.status(), None, err.to_json().as_bytes());
    assert_eq!(sent, err);
    assert_eq!(
        serde_json::from_str::<Value>(&err.to_json()).unwrap(),
        json!({"error": {
            "code": "validation_error",
            "message": "`metadata` must be an object, not a string",
            "param": "metadata",
        }})
    );
}

fn metadata_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

fn arbitrary_request() -> impl Strategy<Value = CreateResponse> {
    let effort = proptest::sample::select(ReasoningEffort::ALL);
    // Mostly the default, sometimes a name a newer server might know.
    let agent = prop_oneof![
        3 => Just(Agent::Hermes),
        1 => "[a-zA-Z_-]{0,10}".prop_map(|name| Agent::from(name.as_str())),
    ];
    (
        any::<String>(),
        proptest::option::of(any::<String>()),
        any::<bool>(),
        proptest::option::of(any::<String>()),
        proptest::option::of(effort),
        proptest::option::of(proptest::collection::btree_map(
            any::<String>(),
            metadata_value(),
            0..20,
        )),
        agent,
        proptest::sample::select(Mode::ALL),
        proptest::option::of("[a-z_0-9]{0,12}"),
    )
        .prop_map(
            |(input, session_id, stream, model, effort, metadata, agent, mode, instance_id)| {
                let mut builder = CreateResponse::builder(input)
                    .stream(stream)
                    .agent(agent)
                    .mode(mode);
                if let Some(session_id) = session_id {
                    builder = builder.session_id(session_id);
                }
                if let Some(model) = model {
                    builder = builder.model(model).provider("anthropic");
                }
                if let Some(effort) = effort {
                    builder = builder.reasoning_effort(effort);
                }
                if let Some(metadata) = metadata {
                    builder = builder.metadata(metadata.into_iter().collect());
                }
                if let Some(instance_id) = instance_id {
                    builder = builder.instance_id(instance_id);
                }
                builder.build_unchecked()
            },
        )
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Err(err) = CreateResponse::from_body(&raw) {
            prop_assert_eq!(err.code(), Some(&ErrorCode::ValidationError));
        }
    }

    #[test]
    fn arbitrary_json_objects_never_panic(
        fields in proptest::collection::btree_map(
            prop_oneof![
                Just("input".to_owned()), Just("stream".to_owned()), Just("metadata".to_owned()),
                Just("mode".to_owned()), Just("agent".to_owned()), Just("reasoning_effort".to_owned()),
                Just("session_id".to_owned()), any::<String>(),
            ],
            prop_oneof![
                metadata_value(),
                proptest::collection::vec(metadata_value(), 0..3).prop_map(Value::from),
                proptest::collection::btree_map(any::<String>(), metadata_value(), 0..20)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ],
            0..8,
        )
    ) {
        let body = serde_json::to_vec(&fields).unwrap();
        match CreateResponse::from_body(&body) {
            Ok(request) => {
                prop_assert_eq!(Some(&Value::from(request.input.clone())), fields.get("input"));
            }
            Err(err) => {
                prop_assert_eq!(err.code(), Some(&ErrorCode::ValidationError));
                prop_assert!(err.param().is_some(), "{}", err);
            }
        }
    }

    /// What the client's validator says is what the server's reader says about the
    /// body the client sends.
    #[test]
    fn validate_agrees_with_from_body(request in arbitrary_request()) {
        let body = serde_json::to_vec(&request).unwrap();
        let server = CreateResponse::from_body(&body);
        match request.validate() {
            Ok(()) => prop_assert_eq!(server, Ok(request)),
            Err(err) => prop_assert_eq!(server, Err(err)),
        }
    }
}

#[test]
fn deeply_nested_json_is_rejected_not_a_stack_overflow() {
    let deep = format!(
        r#"{{"input":"hi","metadata":{{"k":{}}}}}"#,
        "[".repeat(100_000)
    );
    assert_validation(&reject(deep.as_bytes()), None);
}

/// Found by the `request` fuzz target: without exact float parsing in
/// `serde_json`, a metadata number written as 1533.3333333333335 read back
/// as 1533.3333333333337, so a request did not survive its own round trip.
#[test]
fn metadata_numbers_survive_a_round_trip_exactly() {
    let body = br#"{"input":"hi","metadata":{"n":1533.3333333333335,"m":0.1,"e":1e-7}}"#;
    let request = CreateResponse::from_body(body).unwrap();
    let written = serde_json::to_vec(&request).unwrap();
    assert_eq!(CreateResponse::from_body(&written).unwrap(), request);
    assert!(
        String::from_utf8(written)
            .unwrap()
            .contains("1533.3333333333335")
    );
}
