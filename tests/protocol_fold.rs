//! Folding: a generated turn, written as SSE bytes and read back in
//! arbitrary chunks, folds to the turn it was generated from with no
//! findings; recorded turns fold to what their events say; the response
//! object round-trips through JSON.

use std::path::Path;

use agent37_stream::protocol::event::{
    Completed, Created, Failed, ResponseEvent, TextDelta, ToolCallCompleted, ToolCallFailed,
    ToolCallStarted, ToolError,
};
use agent37_stream::protocol::fold::{Seed, ToolCall, ToolOutcome, Turn, TurnBuilder};
use agent37_stream::protocol::machine::{Validator, ValidatorOptions};
use agent37_stream::protocol::response::{ErrorObject, Response, Status, Usage};
use agent37_stream::sse::{ChunkDecoder, Encoder, Event, Position};
use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

const TOOLS: [&str; 3] = ["browser", "web_search", "terminal"];

/// A generated turn: the events a server sends and the turn they describe.
#[derive(Clone, Debug)]
struct Generated {
    events: Vec<ResponseEvent>,
    expected: Turn,
}

#[derive(Clone, Debug)]
enum Op {
    Reasoning(String),
    Output(String),
    Start(usize, String),
    /// Closes a call of the open tool picked by the index: completed with a
    /// duration, or failed with a message.
    Close(prop::sample::Index, Result<f64, String>),
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z ,.]{0,16}",
        "\\PC{0,8}",
        "[\"\\\\\n\r\t\u{0}\u{1f}é😀]{0,6}",
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let outcome = prop_oneof![
        (0u32..100_000).prop_map(|ms| Ok(f64::from(ms))),
        // Fractions that read back exactly (serde_json's default float
        // reading is not exact for every double).
        (0u32..10_000_000).prop_map(|k| Ok(f64::from(k) / 1000.0)),
        text().prop_map(Err),
    ];
    prop_oneof![
        3 => text().prop_map(Op::Reasoning),
        4 => text().prop_map(Op::Output),
        2 => (0..TOOLS.len(), text()).prop_map(|(t, l)| Op::Start(t, l)),
        2 => (any::<prop::sample::Index>(), outcome).prop_map(|(i, o)| Op::Close(i, o)),
    ]
}

fn usage() -> impl Strategy<Value = Option<Usage>> {
    let cost = prop_oneof![
        Just(None),
        Just(Some(None)),
        (0u64..1000).prop_map(|c| Some(Some(serde_json::Number::from(c)))),
        // Values that print and read back exactly (serde_json's default
        // float reading is not exact for every double).
        (0u32..100_000).prop_map(|c| Some(serde_json::Number::from_f64(f64::from(c) / 1000.0))),
    ];
    prop_oneof![
        Just(None),
        (any::<u64>(), any::<u64>(), cost).prop_map(|(i, o, c)| Some(Usage {
            input_tokens: i,
            output_tokens: o,
            cost_usd: c,
        })),
    ]
}

fn terminal() -> impl Strategy<Value = Result<Option<Usage>, ErrorObject>> {
    prop_oneof![
        3 => usage().prop_map(Ok),
        1 => (
            "[a-z_]{1,12}",
            text(),
            prop::option::of(text()),
            prop::option::of(text())
        )
            .prop_map(|(code, message, param, hint)| Err(ErrorObject { code: code.into(), message, param, hint })),
    ]
}

fn seed() -> impl Strategy<Value = Seed> {
    (
        prop::option::of("[a-z0-9-]{1,12}"),
        prop::option::of("[a-z]{1,10}"),
        any::<u64>(),
    )
        .prop_map(|(model, provider, created)| Seed {
            model,
            provider,
            created,
            ..Seed::default()
        })
}

fn generated() -> impl Strategy<Value = (Generated, Seed)> {
    (
        "[0-9a-f]{32}",
        "[0-9a-f]{32}",
        prop::collection::vec(op(), 0..40),
        any::<bool>(),
        terminal(),
        seed(),
    )
        .prop_map(|(id, session, ops, close_all, terminal, seed)| {
            (build(id, session, ops, close_all, terminal, &seed), seed)
        })
}

fn build(
    id: String,
    session: String,
    ops: Vec<Op>,
    close_all: bool,
    terminal: Result<Option<Usage>, ErrorObject>,
    seed: &Seed,
) -> Generated {
    let mut events = vec![ResponseEvent::from(Created {
        id: id.clone().into(),
        instance_id: "ab12cd34ef".into(),
        session_id: session.clone().into(),
    })];
    let mut output = String::new();
    let mut reasoning = String::new();
    let mut calls: Vec<ToolCall> = Vec::new();
    // (call index, tool) of the open calls, oldest first.
    let mut open: Vec<(usize, usize)> = Vec::new();
    let close = |events: &mut Vec<ResponseEvent>,
                 calls: &mut Vec<ToolCall>,
                 open: &mut Vec<(usize, usize)>,
                 pick: usize,
                 outcome: Result<f64, String>| {
        // A close names only the tool: it ends the oldest open call of it.
        let tool = open[pick].1;
        let slot = open.iter().position(|&(_, t)| t == tool).unwrap();
        let (call, _) = open.remove(slot);
        match outcome {
            Ok(duration_ms) => {
                calls[call].outcome = ToolOutcome::Completed { duration_ms };
                events.push(ResponseEvent::from(ToolCallCompleted {
                    tool: TOOLS[tool].into(),
                    duration_ms,
                }));
            }
            Err(message) => {
                calls[call].outcome = ToolOutcome::Failed {
                    error: ToolError::Message(message.clone().into()),
                };
                events.push(ResponseEvent::from(ToolCallFailed {
                    tool: TOOLS[tool].into(),
                    error: ToolError::Message(message.into()),
                }));
            }
        }
    };
    for op in ops {
        match op {
            Op::Reasoning(t) => {
                reasoning.push_str(&t);
                events.push(ResponseEvent::ReasoningDelta(TextDelta { text: t.into() }));
            }
            Op::Output(t) => {
                output.push_str(&t);
                events.push(ResponseEvent::OutputTextDelta(TextDelta { text: t.into() }));
            }
            Op::Start(tool, label) => {
                open.push((calls.len(), tool));
                calls.push(ToolCall {
                    tool: TOOLS[tool].to_owned(),
                    label: Some(label.clone()),
                    outcome: ToolOutcome::Running,
                });
                events.push(ResponseEvent::from(ToolCallStarted {
                    tool: TOOLS[tool].into(),
                    label: label.into(),
                }));
            }
            Op::Close(pick, outcome) => {
                if !open.is_empty() {
                    let pick = pick.index(open.len());
                    close(&mut events, &mut calls, &mut open, pick, outcome);
                }
            }
        }
    }
    if close_all {
        while !open.is_empty() {
            close(&mut events, &mut calls, &mut open, 0, Ok(1.0));
        }
    }
    let (status, usage, error) = match terminal {
        Ok(usage) => {
            events.push(ResponseEvent::from(Completed {
                output_text: output.clone().into(),
                usage: usage.clone(),
            }));
            (Status::Completed, usage, None)
        }
        Err(error) => {
            events.push(ResponseEvent::from(Failed {
                error: error.clone(),
            }));
            (Status::Failed, None, Some(error))
        }
    };
    let expected = Turn {
        response: Response {
            id,
            session_id: session,
            status,
            agent: seed.agent.clone(),
            model: seed.model.clone(),
            provider: seed.provider.clone(),
            output_text: output,
            usage,
            error,
            metadata: seed.metadata.clone(),
            created: seed.created,
        },
        instance_id: Some("ab12cd34ef".to_owned()),
        reasoning,
        tool_calls: calls,
    };
    Generated { events, expected }
}

/// The bytes a server writes for `events`, with heartbeats and ids between.
fn encode(events: &[ResponseEvent], heartbeats: bool) -> Vec<u8> {
    let mut encoder = Encoder::new();
    let mut out = BytesMut::new();
    for (i, event) in events.iter().enumerate() {
        if heartbeats && i % 3 == 1 {
            encoder.comment("keep-alive", &mut out);
        }
        let sse = event.to_sse().with_id(format!("{i}"));
        encoder.encode(&sse, &mut out).unwrap();
    }
    out.to_vec()
}

/// Decodes `bytes` fed in pieces of the given sizes (cycled).
fn decode(bytes: &[u8], sizes: &[usize]) -> Vec<Event> {
    let mut decoder = ChunkDecoder::new();
    let mut events = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < bytes.len() {
        let size = sizes
            .get(i % sizes.len().max(1))
            .copied()
            .unwrap_or(bytes.len())
            .max(1);
        let end = (at + size).min(bytes.len());
        decoder.push(Bytes::copy_from_slice(&bytes[at..end]));
        while let Some(event) = decoder.next_event().unwrap() {
            events.push(event);
        }
        at = end;
        i += 1;
    }
    decoder.finish();
    while let Some(event) = decoder.next_event().unwrap() {
        events.push(event);
    }
    assert!(decoder.incomplete().is_none());
    events
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_turns_fold_back_from_chunked_bytes(
        (generated, seed) in generated(),
        sizes in prop::collection::vec(1usize..64, 1..8),
        heartbeats in any::<bool>(),
    ) {
        let bytes = encode(&generated.events, heartbeats);
        let events = decode(&bytes, &sizes);
        prop_assert_eq!(events.len(), generated.events.len());

        let mut validator = Validator::new(ValidatorOptions::default().with_strict(true));
        let mut builder = TurnBuilder::new(seed);
        let mut findings = Vec::new();
        for event in &events {
            let checked = validator.push(event);
            findings.extend(checked.findings);
            builder.push(&checked.event.unwrap());
        }
        findings.extend(validator.finish(Position::START));
        // Calls left open are the only thing the contract warns about here.
        let unclosed = generated.expected.tool_calls.iter().filter(|c| c.outcome == ToolOutcome::Running).count();
        prop_assert_eq!(findings.len(), unclosed, "{:#?}", findings);
        prop_assert!(findings.iter().all(|f| !f.is_error()));

        let turn = builder.finish();
        prop_assert_eq!(&turn, &generated.expected);

        // The folded response object survives JSON.
        let json = serde_json::to_string(&turn.response).unwrap();
        let back: Response = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &turn.response);
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }

    #[test]
    fn folding_is_independent_of_chunking((generated, _) in generated(), sizes in prop::collection::vec(1usize..16, 1..5)) {
        let bytes = encode(&generated.events, true);
        let fold = |events: Vec<Event>| {
            let mut builder = TurnBuilder::default();
            for e in &events {
                builder.push_sse(e).unwrap();
            }
            builder.finish()
        };
        prop_assert_eq!(fold(decode(&bytes, &sizes)), fold(decode(&bytes, &[bytes.len()])));
    }
}

fn recording(name: &str) -> Vec<Event> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/recordings/valid")
        .join(name);
    decode(&std::fs::read(path).unwrap(), &[4096])
}

fn fold(events: &[Event]) -> Turn {
    let mut builder = TurnBuilder::default();
    for event in events {
        builder.push_sse(event).unwrap();
    }
    builder.finish()
}

#[test]
fn recorded_overlapping_tool_calls_fold_oldest_first() {
    let turn = fold(&recording("tool-calls-overlapping.sse"));
    let calls: Vec<(&str, &str, String)> = turn
        .tool_calls
        .iter()
        .map(|c| {
            let outcome = match &c.outcome {
                ToolOutcome::Completed { duration_ms } => format!("ok {duration_ms}"),
                ToolOutcome::Failed { error } => {
                    format!("failed {}", error.message().unwrap_or("?"))
                }
                other => format!("{other:?}"),
            };
            (c.tool.as_str(), c.label.as_deref().unwrap_or(""), outcome)
        })
        .collect();
    assert_eq!(
        calls,
        [
            (
                "web_search",
                "Searching: EV deliveries 2024 by maker",
                "ok 1840".to_owned()
            ),
            (
                "browser",
                "Opening ev-volumes.com",
                "failed page did not load within 30 s".to_owned()
            ),
            (
                "web_search",
                "Searching: BYD 2024 BEV deliveries",
                "ok 2275.5".to_owned()
            ),
            (
                "terminal",
                "python3 rank.py",
                "failed exit status 1: ModuleNotFoundError: No module named 'pandas'".to_owned()
            ),
            (
                "terminal",
                "pip install pandas && python3 rank.py",
                "ok 0".to_owned()
            ),
        ]
    );
    assert_eq!(turn.response.status, Status::Completed);
    assert_eq!(
        turn.response.usage.as_ref().and_then(Usage::cost),
        Some(0.0231)
    );
    assert!(turn.reasoning.starts_with("I need delivery figures"));
}

#[test]
fn every_valid_recording_folds_to_a_terminal_response() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/recordings/valid");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".sse"))
        .collect();
    names.sort();
    assert!(names.len() >= 10);
    for name in names {
        let events = recording(&name);
        let turn = fold(&events);
        let deltas: String = events
            .iter()
            .filter_map(|e| match ResponseEvent::from_sse(e).unwrap() {
                ResponseEvent::OutputTextDelta(d) => Some(d.text.to_string()),
                _ => None,
            })
            .collect();
        let response = &turn.response;
        assert!(response.is_terminal(), "{name}");
        assert_eq!(response.id.len(), 32, "{name}");
        assert!(!response.session_id.is_empty(), "{name}");
        match response.status {
            Status::Completed => {
                assert!(
                    deltas.is_empty() || response.output_text == deltas,
                    "{name}"
                );
                assert_eq!(response.error, None, "{name}");
            }
            Status::Failed => {
                assert_eq!(response.output_text, deltas, "{name}");
                assert!(response.error.is_some(), "{name}");
            }
            other => panic!("{name}: {other}"),
        }
        assert!(
            turn.tool_calls
                .iter()
                .all(|c| c.outcome != ToolOutcome::Running),
            "{name}"
        );
        let json = serde_json::to_string(response).unwrap();
        assert_eq!(
            serde_json::from_str::<Response>(&json).unwrap(),
            *response,
            "{name}"
        );
    }
}

#[test]
fn spec_001_example_round_trips_exactly() {
    // The shape documented in spec 001, fields in its order.
    for json in [
        r#"{"id":"c91d2a7e84f04b6f9a3d5e1c0b87f4a2","session_id":"7f3e0b6c52a949d2b1c4a8e9d0f31726","status":"completed","agent":"hermes","model":"claude-sonnet-4","provider":"anthropic","output_text":"Memo: ...","usage":{"input_tokens":5213,"output_tokens":644,"cost_usd":0.0231},"error":null,"metadata":{"customer":"acme","ticket":"T-1"},"created":1718000000000}"#,
        r#"{"id":"c91d2a7e84f04b6f9a3d5e1c0b87f4a2","session_id":"7f3e0b6c52a949d2b1c4a8e9d0f31726","status":"in_progress","agent":"hermes","model":null,"provider":null,"output_text":"","usage":null,"error":null,"metadata":null,"created":1718000000000}"#,
        r#"{"id":"c91d2a7e84f04b6f9a3d5e1c0b87f4a2","session_id":"7f3e0b6c52a949d2b1c4a8e9d0f31726","status":"cancelled","agent":"hermes","model":null,"provider":null,"output_text":"partial","usage":{"input_tokens":1,"output_tokens":0},"error":null,"metadata":{},"created":0}"#,
        r#"{"id":"c91d2a7e84f04b6f9a3d5e1c0b87f4a2","session_id":"7f3e0b6c52a949d2b1c4a8e9d0f31726","status":"failed","agent":"hermes","model":"m","provider":null,"output_text":"","usage":null,"error":{"code":"validation_error","message":"mode goal is reserved","param":"mode"},"metadata":null,"created":1}"#,
    ] {
        let response: Response = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&response).unwrap(), json);
    }
}
