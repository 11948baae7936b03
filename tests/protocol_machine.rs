//! The ordering state machine on recordings and on generated streams: valid
//! streams give no findings, each mutation gives the finding it should.

use std::path::{Path, PathBuf};

use agent37_stream::protocol::event::{
    Completed, Created, ResponseEvent, TextDelta, ToolCallCompleted, ToolCallStarted,
};
use agent37_stream::protocol::machine::{Validator, ValidatorOptions, validate};
use agent37_stream::protocol::response::Usage;
use agent37_stream::protocol::rules::{Finding, Rule, Severity};
use agent37_stream::sse::{ChunkDecoder, Event, Limits, Position};
use bytes::Bytes;
use proptest::prelude::*;

fn recordings(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/recordings")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "sse"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Where a stream of bytes ends: its length and the line after its last line end.
fn end_of(bytes: &[u8]) -> Position {
    let mut lines = 1;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' => {
                lines += 1;
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => lines += 1,
            _ => {}
        }
        i += 1;
    }
    Position {
        offset: bytes.len() as u64,
        line: lines,
    }
}

/// Checks a recording the way a conformance checker does: decode, validate,
/// report SSE-level findings.
fn check(bytes: &[u8], limits: Limits, options: ValidatorOptions) -> Vec<Finding> {
    let mut decoder = ChunkDecoder::with_limits(limits);
    decoder.push(Bytes::copy_from_slice(bytes));
    decoder.finish();
    let mut validator = Validator::new(options);
    let mut findings = Vec::new();
    loop {
        match decoder.next_event() {
            Ok(Some(event)) => findings.extend(validator.push(&event).findings),
            Ok(None) => break,
            Err(error) => {
                let index = validator.skip_event();
                findings.extend(Finding::from_decode_error(&error, Some(index)));
            }
        }
    }
    if let Some(incomplete) = decoder.incomplete() {
        findings.push(Finding::incomplete_event(incomplete.position));
    }
    findings.extend(validator.finish(end_of(bytes)));
    findings
}

#[test]
fn valid_recordings_have_no_findings() {
    let files = recordings("valid");
    assert!(files.len() >= 10, "recordings missing: {files:?}");
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let findings = check(
            &bytes,
            Limits::default(),
            ValidatorOptions::default().with_strict(true),
        );
        assert!(findings.is_empty(), "{}: {findings:#?}", path.display());
    }
}

#[test]
fn each_invalid_recording_breaks_its_rule() {
    let files = recordings("invalid");
    assert!(files.len() >= 17, "recordings missing: {files:?}");
    let mut covered = std::collections::BTreeSet::new();
    for path in files {
        let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let bytes = std::fs::read(&path).unwrap();
        let limits = if stem == "event-too-large" {
            Limits::default().max_event_bytes(1024)
        } else {
            Limits::default()
        };
        let findings = check(&bytes, limits, ValidatorOptions::default());
        assert!(!findings.is_empty(), "{stem}: no findings");
        let Ok(rule) = stem.parse::<Rule>() else {
            // multi-* recordings: several findings, at least one error.
            assert!(
                findings.iter().any(Finding::is_error),
                "{stem}: {findings:#?}"
            );
            continue;
        };
        covered.insert(rule);
        // The file's rule, and (these files are minimal) no other rule.
        assert!(
            findings.iter().all(|f| f.rule == rule),
            "{stem}: {findings:#?}"
        );
        for finding in &findings {
            assert_eq!(finding.severity, rule.default_severity(), "{stem}");
            match rule {
                Rule::MissingTerminal | Rule::IncompleteEvent => {
                    assert_eq!(finding.event_index, None)
                }
                _ => assert!(finding.event_index.is_some(), "{stem}"),
            }
        }
    }
    let missing: Vec<Rule> = Rule::ALL
        .iter()
        .copied()
        .filter(|r| !covered.contains(r) && *r != Rule::ReplayDiverged)
        .collect();
    assert!(missing.is_empty(), "rules without a recording: {missing:?}");
}

#[test]
fn invalid_recordings_point_at_the_documented_event() {
    // From testdata/recordings/README.md.
    for (stem, index) in [
        ("untyped-event", 1),
        ("unknown-event", 1),
        ("invalid-json", 1),
        ("not-an-object", 1),
        ("missing-field", 1),
        ("wrong-type", 1),
        ("invalid-value", 2),
        ("duplicate-created", 2),
        ("event-after-terminal", 3),
        ("unmatched-tool-call", 3),
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/recordings/invalid")
            .join(format!("{stem}.sse"));
        let bytes = std::fs::read(&path).unwrap();
        let findings = check(&bytes, Limits::default(), ValidatorOptions::default());
        assert_eq!(
            findings[0].event_index,
            Some(index),
            "{stem}: {findings:#?}"
        );
    }
}

#[test]
fn strict_mode_raises_unknown_events_only() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/recordings/invalid/unknown-event.sse");
    let bytes = std::fs::read(path).unwrap();
    let lax = check(&bytes, Limits::default(), ValidatorOptions::default());
    let strict = check(
        &bytes,
        Limits::default(),
        ValidatorOptions::default().with_strict(true),
    );
    assert_eq!(lax.len(), strict.len());
    assert!(lax.iter().all(|f| f.severity == Severity::Warning));
    assert!(strict.iter().all(|f| f.severity == Severity::Error));
}

// ---- Generated streams ----------------------------------------------------

const TOOLS: [&str; 3] = ["browser", "web_search", "terminal"];

/// A step of a generated turn, before it becomes events.
#[derive(Clone, Debug)]
enum Op {
    Reasoning(String),
    Output(String),
    Start(usize, String),
    /// Closes the oldest open call of the tool with this open-call slot.
    Close(usize, u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        ".{0,12}".prop_map(Op::Reasoning),
        ".{0,12}".prop_map(Op::Output),
        (0..TOOLS.len(), "[a-z ]{0,8}").prop_map(|(t, l)| Op::Start(t, l)),
        (any::<usize>(), 0u32..5000).prop_map(|(s, d)| Op::Close(s, d)),
    ]
}

/// A valid turn as typed events: created, the ops (closes only of open
/// calls), closes of what is still open, completed with the deltas' text.
fn valid_turn() -> impl Strategy<Value = Vec<ResponseEvent>> {
    (prop::collection::vec(op(), 0..30), "[0-9a-f]{32}").prop_map(|(ops, id)| {
        let mut events = vec![ResponseEvent::from(Created {
            id: id.into(),
            instance_id: "inst".into(),
            session_id: "sess".into(),
        })];
        let mut open: Vec<usize> = Vec::new();
        let mut text = String::new();
        let close = |tool: usize, duration: u32| {
            ResponseEvent::from(ToolCallCompleted {
                tool: TOOLS[tool].into(),
                duration_ms: f64::from(duration),
            })
        };
        for op in ops {
            match op {
                Op::Reasoning(t) => {
                    events.push(ResponseEvent::ReasoningDelta(TextDelta { text: t.into() }))
                }
                Op::Output(t) => {
                    text.push_str(&t);
                    events.push(ResponseEvent::OutputTextDelta(TextDelta { text: t.into() }));
                }
                Op::Start(tool, label) => {
                    open.push(tool);
                    events.push(ResponseEvent::from(ToolCallStarted {
                        tool: TOOLS[tool].into(),
                        label: label.into(),
                    }));
                }
                Op::Close(slot, duration) => {
                    if !open.is_empty() {
                        let tool = open.remove(slot % open.len());
                        events.push(close(tool, duration));
                    }
                }
            }
        }
        for tool in open {
            events.push(close(tool, 1));
        }
        events.push(ResponseEvent::from(Completed {
            output_text: text.into(),
            usage: Some(Usage::new(3, 4)),
        }));
        events
    })
}

fn to_sse(events: &[ResponseEvent]) -> Vec<Event> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            e.to_sse().with_position(Position {
                offset: i as u64 * 10,
                line: i as u64 * 3 + 1,
            })
        })
        .collect()
}

fn run(events: &[Event]) -> Vec<Finding> {
    validate(
        events,
        Position {
            offset: 1 << 20,
            line: 1 << 16,
        },
        ValidatorOptions::default(),
    )
}

fn has(findings: &[Finding], rule: Rule, index: Option<usize>) -> bool {
    findings
        .iter()
        .any(|f| f.rule == rule && f.event_index == index)
}

fn index_of(events: &[Event], name: &str) -> Vec<usize> {
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.event_type() == name)
        .map(|(i, _)| i)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_valid_turns_have_no_findings(turn in valid_turn()) {
        let findings = run(&to_sse(&turn));
        prop_assert!(findings.is_empty(), "{:#?}", findings);
    }

    #[test]
    fn dropping_created_is_missing_created(turn in valid_turn()) {
        let mut events = to_sse(&turn);
        events.remove(0);
        let findings = run(&events);
        prop_assert!(has(&findings, Rule::MissingCreated, Some(0)), "{:#?}", findings);
        prop_assert_eq!(findings.iter().filter(|f| f.is_error()).count(), 1);
    }

    #[test]
    fn duplicating_created_is_duplicate_created(turn in valid_turn(), at in any::<prop::sample::Index>()) {
        let mut events = to_sse(&turn);
        let at = 1 + at.index(events.len());
        let copy = events[0].clone();
        events.insert(at, copy);
        let findings = run(&events);
        let expected = if at == events.len() - 1 {
            // After the terminal event it is reported as such.
            Rule::EventAfterTerminal
        } else {
            Rule::DuplicateCreated
        };
        prop_assert_eq!(findings.len(), 1, "{:#?}", findings);
        prop_assert!(has(&findings, expected, Some(at)), "{:#?}", findings);
    }

    #[test]
    fn dropping_the_terminal_is_missing_terminal(turn in valid_turn()) {
        let mut events = to_sse(&turn);
        events.pop();
        let findings = run(&events);
        prop_assert_eq!(findings.len(), 1);
        prop_assert!(has(&findings, Rule::MissingTerminal, None));
        prop_assert_eq!(findings[0].position, Position { offset: 1 << 20, line: 1 << 16 });
    }

    #[test]
    fn anything_after_the_terminal_is_reported(turn in valid_turn(), pick in any::<prop::sample::Index>()) {
        let mut events = to_sse(&turn);
        let extra = events[pick.index(events.len())].clone();
        events.push(extra);
        let findings = run(&events);
        prop_assert_eq!(findings.len(), 1);
        prop_assert!(has(&findings, Rule::EventAfterTerminal, Some(events.len() - 1)));
    }

    #[test]
    fn moving_the_terminal_earlier_cuts_the_stream(turn in valid_turn(), at in any::<prop::sample::Index>()) {
        let mut events = to_sse(&turn);
        prop_assume!(events.len() > 2);
        let terminal = events.pop().unwrap();
        let at = 1 + at.index(events.len() - 1);
        events.insert(at, terminal);
        let findings = run(&events);
        let after: Vec<Option<usize>> = findings
            .iter()
            .filter(|f| f.rule == Rule::EventAfterTerminal)
            .map(|f| f.event_index)
            .collect();
        let expected: Vec<Option<usize>> = (at + 1..events.len()).map(Some).collect();
        prop_assert_eq!(after, expected);
        // Nothing else is an error: a short turn is still a well-formed turn.
        prop_assert!(findings.iter().filter(|f| f.is_error()).all(|f| f.rule == Rule::EventAfterTerminal));
    }

    #[test]
    fn corrupting_a_payload_names_the_event(turn in valid_turn(), pick in any::<prop::sample::Index>(), how in 0..3usize) {
        let mut events = to_sse(&turn);
        let at = pick.index(events.len());
        let (data, rule) = match how {
            0 => ("{\"text\":", Rule::InvalidJson),
            1 => ("[]", Rule::NotAnObject),
            _ => ("{}", Rule::MissingField),
        };
        events[at] = Event::new(events[at].event_type().to_owned(), data).with_position(events[at].position());
        let findings = run(&events);
        prop_assert!(has(&findings, rule, Some(at)), "{:#?}", findings);
        let line = at as u64 * 3 + 1;
        prop_assert!(findings.iter().filter(|f| f.rule == rule).all(|f| f.position.line == line));
    }

    #[test]
    fn dropping_a_tool_start_is_unmatched(turn in valid_turn(), pick in any::<prop::sample::Index>()) {
        let mut events = to_sse(&turn);
        let starts = index_of(&events, "response.tool_call.started");
        prop_assume!(!starts.is_empty());
        events.remove(starts[pick.index(starts.len())]);
        let findings = run(&events);
        prop_assert_eq!(findings.len(), 1, "{:#?}", findings);
        prop_assert_eq!(findings[0].rule, Rule::UnmatchedToolCall);
    }

    #[test]
    fn dropping_a_tool_close_is_unclosed(turn in valid_turn(), pick in any::<prop::sample::Index>()) {
        let mut events = to_sse(&turn);
        let closes = index_of(&events, "response.tool_call.completed");
        prop_assume!(!closes.is_empty());
        events.remove(closes[pick.index(closes.len())]);
        let findings = run(&events);
        prop_assert_eq!(findings.len(), 1, "{:#?}", findings);
        prop_assert_eq!(findings[0].rule, Rule::UnclosedToolCall);
        prop_assert_eq!(findings[0].severity, Severity::Warning);
        let at = findings[0].event_index.unwrap();
        prop_assert_eq!(events[at].event_type(), "response.tool_call.started");
    }

    #[test]
    fn dropping_a_nonempty_delta_is_a_mismatch(turn in valid_turn(), pick in any::<prop::sample::Index>()) {
        let mut events = to_sse(&turn);
        let all = index_of(&events, "response.output_text.delta");
        // With no delta left there is nothing to compare.
        prop_assume!(all.len() >= 2);
        let deltas: Vec<usize> = all
            .into_iter()
            .filter(|&i| events[i].data() != r#"{"text":""}"#)
            .collect();
        prop_assume!(!deltas.is_empty());
        events.remove(deltas[pick.index(deltas.len())]);
        let findings = run(&events);
        prop_assert_eq!(findings.len(), 1, "{:#?}", findings);
        prop_assert!(has(&findings, Rule::OutputTextMismatch, Some(events.len() - 1)));
    }

    #[test]
    fn validator_never_panics(events in prop::collection::vec((".{0,30}", ".{0,40}", any::<bool>()), 0..20)) {
        let names = [
            "response.created", "response.output_text.delta", "response.tool_call.started",
            "response.tool_call.completed", "response.completed", "response.failed",
        ];
        let events: Vec<Event> = events
            .into_iter()
            .enumerate()
            .map(|(i, (name, data, known))| {
                let name = if known { names[i % names.len()].to_owned() } else { name };
                Event::new(name, data)
            })
            .collect();
        let findings = run(&events);
        for f in findings {
            prop_assert!(f.event_index.is_none_or(|i| i < events.len()));
        }
    }
}
