//! Typed events: every recorded event parses, typed events survive a round
//! trip through SSE, each field's JSON type is judged right, and the hot
//! path (a delta without escapes) does not allocate.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

use agent37_stream::protocol::event::{JsonType, PayloadError, ResponseEvent};
use agent37_stream::protocol::machine::Validator;
use agent37_stream::protocol::rules::Rule;
use agent37_stream::sse::{ChunkDecoder, Event};
use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Counts this thread's allocations, so a test can show a path allocates
/// nothing (other test threads do not disturb the count).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; the count is
// a thread-local `Cell` with a const initializer, which does not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn delta_without_escapes_parses_and_validates_without_allocating() {
    let created = Event::new(
        "response.created",
        r#"{"id":"c91d2a7e84f04b6f9a3d5e1c0b87f4a2","instance_id":"i","session_id":"s"}"#,
    );
    let delta = Event::new(
        "response.output_text.delta",
        r#"{"text":"Tesla delivered 1.79 million cars in 2024."}"#,
    );
    // Extra fields one level deep are skipped without allocating too (deeper
    // nesting uses the JSON parser's scratch buffer).
    let reasoning = Event::new(
        "response.reasoning.delta",
        r#"{"text":"ok","seq":7,"extra":[1,2],"meta":{"a":"b"},"n":null}"#,
    );
    let mut validator = Validator::default();
    assert!(validator.push(&created).findings.is_empty());
    let data = delta.data().as_bytes().as_ptr_range();
    // The first share of a buffer made from a `Vec` (as `Event::new` makes
    // it) turns it into a shared one: once per buffer, not per event. A
    // decoder's events share buffers that are shared already.
    for event in [&delta, &reasoning] {
        drop(event.data_text().clone());
    }

    let count = allocations_in(|| {
        for _ in 0..100 {
            let parsed = ResponseEvent::from_sse(&delta).unwrap();
            assert!(
                matches!(&parsed, ResponseEvent::OutputTextDelta(d) if data.contains(&d.text.as_bytes().as_ptr()))
            );
            let checked = validator.push(&reasoning);
            assert!(checked.findings.is_empty());
            assert!(checked.event.is_ok());
            assert!(validator.push(&delta).findings.is_empty());
        }
    });
    assert_eq!(count, 0);
}

#[test]
fn escaped_delta_allocates_a_little() {
    let delta = Event::new("response.output_text.delta", r#"{"text":"line\nbreak"}"#);
    let count = allocations_in(|| {
        let parsed = ResponseEvent::from_sse(&delta).unwrap();
        assert!(matches!(&parsed, ResponseEvent::OutputTextDelta(d) if d.text == "line\nbreak"));
    });
    // The parser's scratch buffer, and the unescaped copy.
    assert!((1..=3).contains(&count), "{count}");
}

/// Every event of every recording, decoded.
fn recorded_events(kind: &str) -> Vec<(String, Event)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/recordings")
        .join(kind);
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for path in paths
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "sse"))
    {
        let mut decoder = ChunkDecoder::new();
        decoder.push(Bytes::from(std::fs::read(&path).unwrap()));
        decoder.finish();
        while let Ok(Some(event)) = decoder.next_event() {
            out.push((path.display().to_string(), event));
        }
    }
    out
}

#[test]
fn every_valid_recorded_event_parses_and_round_trips() {
    let events = recorded_events("valid");
    assert!(events.len() > 100);
    for (path, event) in &events {
        let typed = ResponseEvent::from_sse(event)
            .unwrap_or_else(|e| panic!("{path}: {} {:?}: {e}", event.event_type(), event.data()));
        assert_eq!(typed.name(), event.event_type());
        let again = typed.to_sse();
        assert_eq!(ResponseEvent::from_sse(&again).unwrap(), typed, "{path}");
    }
}

#[test]
fn recorded_payload_errors_name_the_field() {
    let events = recorded_events("invalid");
    let errors: Vec<(String, Rule, Option<&str>)> = events
        .iter()
        .filter(|(path, _)| path.ends_with("multi-bad-payloads.sse"))
        .filter_map(|(_, e)| {
            ResponseEvent::from_sse(e)
                .err()
                .map(|err| (e.event_type().to_owned(), err.rule(), err.field()))
        })
        .collect();
    let expected = [
        ("response.created", Rule::WrongType, Some("session_id")),
        (
            "response.tool_call.started",
            Rule::MissingField,
            Some("label"),
        ),
        (
            "response.tool_call.completed",
            Rule::WrongType,
            Some("duration_ms"),
        ),
        (
            "response.tool_call.failed",
            Rule::MissingField,
            Some("error"),
        ),
        ("response.output_text.delta", Rule::NotAnObject, None),
        ("response.failed", Rule::MissingField, Some("error.message")),
    ];
    let errors: Vec<(&str, Rule, Option<&str>)> = errors
        .iter()
        .map(|(n, r, f)| (n.as_str(), *r, *f))
        .collect();
    assert_eq!(errors, expected);
}

fn json_type(value: &Value) -> JsonType {
    match value {
        Value::Null => JsonType::Null,
        Value::Bool(_) => JsonType::Boolean,
        Value::Number(_) => JsonType::Number,
        Value::String(_) => JsonType::String,
        Value::Array(_) => JsonType::Array,
        Value::Object(_) => JsonType::Object,
    }
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        ".{0,10}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// What the contract says a string field holding `value` is.
fn expect_string(value: &Value, field: &'static str) -> Result<(), PayloadError> {
    match value {
        Value::String(_) => Ok(()),
        other => Err(PayloadError::WrongType {
            field,
            expected: "a string",
            found: json_type(other),
        }),
    }
}

/// The typed event, or the first reason its payload is broken (the model
/// below says why one field fails; every reason is tested in the unit tests).
fn parse_json(name: &str, payload: &Value) -> Result<ResponseEvent, PayloadError> {
    let event = Event::new(name.to_owned(), payload.to_string());
    ResponseEvent::from_sse(&event).map_err(|errors| errors.first().clone())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_round_trips(text in "\\PC*|[\"\\\\\n\r\t\u{0}-\u{1f}]*") {
        let data = json!({ "text": text }).to_string();
        let event = Event::new("response.output_text.delta", data.as_str());
        let parsed = ResponseEvent::from_sse(&event).unwrap();
        let ResponseEvent::OutputTextDelta(delta) = &parsed else { panic!("kind") };
        prop_assert_eq!(delta.text.as_str(), text.as_str());
        // A slice of the event's data exactly when the JSON needed no escape
        // and the text is too long to hold inline (over 30 bytes).
        let escaped = data.len() != text.len() + 11;
        let shared = event.data().as_bytes().as_ptr_range().contains(&delta.text.as_bytes().as_ptr());
        prop_assert_eq!(shared, !escaped && text.len() > 30);
    }

    #[test]
    fn string_fields_judge_any_json_type(value in any_json(), field in 0..4usize) {
        let (name, key) = [
            ("response.output_text.delta", "text"),
            ("response.tool_call.started", "label"),
            ("response.created", "session_id"),
            ("response.completed", "output_text"),
        ][field];
        let mut payload = json!({
            "text": "t", "tool": "x", "label": "l", "id": "i", "instance_id": "n",
            "session_id": "s", "output_text": "o", "usage": null,
        });
        payload[key] = value.clone();
        let got = parse_json(name, &payload).map(|_| ());
        prop_assert_eq!(got, expect_string(&value, key));
    }

    #[test]
    fn token_counts_judge_any_json(value in any_json()) {
        let payload = json!({ "output_text": "", "usage": { "input_tokens": value.clone(), "output_tokens": 1 } });
        let got = parse_json("response.completed", &payload);
        let field = "usage.input_tokens";
        match &value {
            Value::Number(n) if n.as_u64().is_some() => {
                let Ok(ResponseEvent::Completed(c)) = got else { panic!("{got:?}") };
                prop_assert_eq!(c.usage.unwrap().input_tokens, n.as_u64().unwrap());
            }
            Value::Number(n) => {
                // Negative or fractional (whole floats are accepted).
                let f = n.as_f64().unwrap();
                if f >= 0.0 && f.fract() == 0.0 {
                    prop_assert!(got.is_ok());
                } else {
                    prop_assert_eq!(got.unwrap_err().rule(), Rule::InvalidValue);
                }
            }
            other => prop_assert_eq!(
                got.unwrap_err(),
                PayloadError::WrongType { field, expected: "a non-negative integer", found: json_type(other) }
            ),
        }
    }

    #[test]
    fn usage_and_tool_error_judge_any_json(value in any_json()) {
        // As serde_json reads it back (its float parsing is not exact by
        // default): the object kept must equal what the JSON says.
        let value: Value = serde_json::from_str(&value.to_string()).unwrap();
        let completed = parse_json("response.completed", &json!({ "output_text": "", "usage": value.clone() }));
        let failed = parse_json("response.tool_call.failed", &json!({ "tool": "t", "error": value.clone() }));
        match &value {
            Value::Null => {
                prop_assert!(completed.is_ok());
                prop_assert_eq!(failed.unwrap_err().rule(), Rule::WrongType);
            }
            Value::String(_) => {
                prop_assert_eq!(completed.unwrap_err().rule(), Rule::WrongType);
                prop_assert!(failed.is_ok());
            }
            Value::Object(_) => {
                // A random object lacks the token counts.
                prop_assert_eq!(completed.unwrap_err().rule(), Rule::MissingField);
                let Ok(ResponseEvent::ToolCallFailed(f)) = failed else { panic!("{failed:?}") };
                let agent37_stream::protocol::event::ToolError::Object(object) = f.error else { panic!("not kept") };
                prop_assert_eq!(Value::Object(object), value);
            }
            _ => {
                prop_assert_eq!(completed.unwrap_err().rule(), Rule::WrongType);
                prop_assert_eq!(failed.unwrap_err().rule(), Rule::WrongType);
            }
        }
    }

    #[test]
    fn extra_fields_never_matter(extra in prop::collection::btree_map("[a-z_]{1,8}", any_json(), 0..5)) {
        let mut payload = json!({ "tool": "browser", "duration_ms": 12.5 });
        for (k, v) in extra {
            if k != "tool" && k != "duration_ms" {
                payload[k] = v;
            }
        }
        let parsed = parse_json("response.tool_call.completed", &payload).unwrap();
        let ResponseEvent::ToolCallCompleted(c) = parsed else { panic!("kind") };
        prop_assert_eq!((c.tool.as_ref(), c.duration_ms), ("browser", 12.5));
    }

    #[test]
    fn arbitrary_data_never_panics(data in prop::collection::vec(any::<u8>(), 0..64), kind in 0..8usize) {
        let names = [
            "response.created", "response.reasoning.delta", "response.output_text.delta",
            "response.tool_call.started", "response.tool_call.completed", "response.tool_call.failed",
            "response.completed", "response.failed",
        ];
        let data = String::from_utf8_lossy(&data).into_owned();
        let event = Event::new(names[kind], data);
        if let Err(error) = ResponseEvent::from_sse(&event) {
            prop_assert!(!error.to_string().is_empty());
        }
    }
}
