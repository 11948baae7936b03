//! Resuming after a dropped connection (`docs/contract.md`, *Reconnect and replay*): cut
//! every recording at every event boundary and inside events, reconnect to
//! the full replay, and the folded turn and the events handed over must be
//! those of the uninterrupted stream: nothing lost, nothing twice.

use std::path::Path;

use agent37_stream::protocol::event::ResponseEvent;
use agent37_stream::protocol::fold::Turn;
use agent37_stream::protocol::pipeline::{Step, TurnTracker};
use agent37_stream::protocol::rules::{Finding, Rule};
use agent37_stream::protocol::stream::{ResponseStream, StreamError};
use agent37_stream::sse::{ChunkDecoder, Event, Position};
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use proptest::prelude::*;

/// What a client ends up with: the events it processed (type, data), the
/// findings, the replays it skipped, and the folded turn.
#[derive(Debug, PartialEq)]
struct Outcome {
    events: Vec<(String, String)>,
    findings: Vec<Finding>,
    turn: Turn,
}

/// Feeds one connection's bytes (in `chunk`-sized pieces) to the tracker,
/// then ends it (an unterminated last event is discarded, as SSE says).
/// Returns how many replayed events were skipped, or the divergence.
fn connection(
    tracker: &mut TurnTracker,
    bytes: &[u8],
    chunk: usize,
    events: &mut Vec<(String, String)>,
    findings: &mut Vec<Finding>,
) -> Result<usize, Finding> {
    let mut decoder = ChunkDecoder::new();
    let mut replayed = 0;
    let mut drain = |decoder: &mut ChunkDecoder| -> Result<(), Finding> {
        while let Some(event) = decoder.next_event().unwrap() {
            match tracker.push(&event) {
                Step::New {
                    event: parsed,
                    findings: found,
                    ..
                } => {
                    assert!(parsed.is_ok());
                    events.push((event.event_type().to_owned(), event.data().to_owned()));
                    findings.extend(found);
                }
                Step::Replayed => replayed += 1,
                Step::Diverged(diverged) => return Err(diverged.to_finding()),
                other => panic!("unexpected step {other:?}"),
            }
        }
        Ok(())
    };
    for piece in bytes.chunks(chunk.max(1)) {
        decoder.push(Bytes::copy_from_slice(piece));
        drain(&mut decoder)?;
    }
    decoder.finish();
    drain(&mut decoder)?;
    Ok(replayed)
}

/// The client's view when connections deliver these prefixes of the full
/// stream in turn, then the whole stream.
fn run(bytes: &[u8], prefixes: &[usize], chunk: usize) -> Outcome {
    let mut tracker = TurnTracker::default();
    let mut events = Vec::new();
    let mut findings = Vec::new();
    let mut received = 0;
    for &cut in prefixes {
        let replayed = connection(
            &mut tracker,
            &bytes[..cut.min(bytes.len())],
            chunk,
            &mut events,
            &mut findings,
        )
        .expect("an honest replay never diverges");
        // Every event already had is replayed first (or the connection
        // dropped during the replay).
        assert!(replayed <= received);
        received = events.len();
        tracker.reconnect();
    }
    connection(&mut tracker, bytes, chunk, &mut events, &mut findings).expect("no divergence");
    findings.extend(tracker.finish(Position::START));
    Outcome {
        events,
        findings,
        turn: tracker.into_turn(),
    }
}

/// Block starts of every event, and each event's first byte + 1 and middle:
/// the cut points that matter.
fn cut_points(bytes: &[u8]) -> Vec<usize> {
    let mut decoder = ChunkDecoder::new();
    decoder.push(Bytes::copy_from_slice(bytes));
    decoder.finish();
    let mut starts = Vec::new();
    while let Some(event) = decoder.next_event().unwrap() {
        starts.push(event.position().offset as usize);
    }
    starts.push(bytes.len());
    let mut cuts = vec![0];
    for pair in starts.windows(2) {
        let (start, next) = (pair[0], pair[1]);
        cuts.extend([
            start,
            start + 1,
            (start + next) / 2,
            next.saturating_sub(1),
            next,
        ]);
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts.retain(|&c| c <= bytes.len());
    cuts
}

/// About `n` of `cuts`, spread evenly, always with the first and last few.
fn sample(cuts: Vec<usize>, n: usize) -> Vec<usize> {
    if cuts.len() <= n {
        return cuts;
    }
    let step = cuts.len() / n;
    let mut picked: Vec<usize> = cuts.iter().step_by(step).copied().collect();
    picked.extend(cuts.iter().take(6));
    picked.extend(cuts.iter().rev().take(6));
    picked.sort_unstable();
    picked.dedup();
    picked
}

fn recordings() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/recordings/valid");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sse"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert!(files.len() >= 10);
    files
}

#[test]
fn every_recording_resumes_at_every_boundary_and_inside_events() {
    for (name, bytes) in recordings() {
        let whole = run(&bytes, &[], 4096);
        assert!(whole.findings.is_empty(), "{name}: {:#?}", whole.findings);
        assert!(whole.turn.response.is_terminal(), "{name}");
        // Small recordings: every byte; the large one: a sample of the cut
        // points that matter (each cut replays the whole 600 KB).
        let cuts: Vec<usize> = if bytes.len() <= 8 * 1024 {
            (0..=bytes.len()).collect()
        } else {
            sample(cut_points(&bytes), 60)
        };
        for cut in cuts {
            let resumed = run(&bytes, &[cut], 4096);
            assert_eq!(resumed, whole, "{name} cut at byte {cut}");
        }
    }
}

#[test]
fn a_drop_during_the_replay_is_resumed_too() {
    for (name, bytes) in recordings()
        .into_iter()
        .filter(|(_, b)| b.len() <= 8 * 1024)
    {
        let whole = run(&bytes, &[], 64);
        let cuts = cut_points(&bytes);
        for &first in &cuts {
            for &second in cuts.iter().step_by(3) {
                let resumed = run(&bytes, &[first, second], 7);
                assert_eq!(resumed, whole, "{name} cut at {first} then {second}");
            }
        }
    }
}

#[test]
fn a_replay_that_differs_is_reported_at_the_first_difference() {
    let first = b"event: response.created\ndata: {\"id\":\"c91d2a7e84f04b6f9a3d5e1c0b87f4a2\",\"instance_id\":\"i\",\"session_id\":\"s\"}\n\n\
event: response.output_text.delta\ndata: {\"text\":\"Hel\"}\n\n\
event: response.output_text.delta\ndata: {\"text\":\"lo\"}\n\n";
    let replay = b"event: response.created\ndata: {\"id\":\"c91d2a7e84f04b6f9a3d5e1c0b87f4a2\",\"instance_id\":\"i\",\"session_id\":\"s\"}\n\n\
event: response.output_text.delta\ndata: {\"text\":\"Help\"}\n\n";
    let mut tracker = TurnTracker::default();
    let (mut events, mut findings) = (Vec::new(), Vec::new());
    assert_eq!(
        connection(&mut tracker, first, 16, &mut events, &mut findings),
        Ok(0)
    );
    tracker.reconnect();
    let diverged = connection(&mut tracker, replay, 16, &mut events, &mut findings).unwrap_err();
    assert_eq!(diverged.rule, Rule::ReplayDiverged);
    assert_eq!(diverged.event_index, Some(1));
    // The replay's second event starts on line 4 of the new connection.
    assert_eq!(diverged.position.line, 4);
    assert_eq!(tracker.turn().response.output_text, "Hello");
}

// ---- Generated turns, random drops ----------------------------------------

fn generated_stream() -> impl Strategy<Value = Vec<u8>> {
    let delta = "[a-zA-Z \\n\"é]{0,12}";
    prop::collection::vec((0..3usize, delta), 0..25).prop_map(|items| {
        let mut events = vec![Event::new(
            "response.created",
            r#"{"id":"c91d2a7e84f04b6f9a3d5e1c0b87f4a2","instance_id":"i","session_id":"s"}"#,
        )];
        let mut text = String::new();
        for (kind, t) in items {
            let data = serde_json::json!({ "text": t }).to_string();
            match kind {
                0 => {
                    text.push_str(&t);
                    events.push(Event::new("response.output_text.delta", data));
                }
                1 => events.push(Event::new("response.reasoning.delta", data)),
                // The same delta twice in a row: a replay guard must count,
                // not just compare.
                _ => {
                    text.push_str(&t);
                    text.push_str(&t);
                    events.push(Event::new("response.output_text.delta", data.clone()));
                    events.push(Event::new("response.output_text.delta", data));
                }
            }
        }
        let done = serde_json::json!({ "output_text": text, "usage": null }).to_string();
        events.push(Event::new("response.completed", done));
        let mut encoder = agent37_stream::sse::Encoder::new();
        let mut out = bytes::BytesMut::new();
        for (i, event) in events.iter().enumerate() {
            if i % 4 == 2 {
                encoder.comment("keep-alive", &mut out);
            }
            encoder.encode(event, &mut out).unwrap();
        }
        out.to_vec()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_drops_lose_nothing_and_repeat_nothing(
        bytes in generated_stream(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..5),
        chunk in 1usize..40,
    ) {
        let whole = run(&bytes, &[], bytes.len().max(1));
        prop_assert!(whole.findings.is_empty(), "{:#?}", whole.findings);
        let cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        prop_assert_eq!(run(&bytes, &cuts, chunk), whole);
    }
}

// ---- The async stream ------------------------------------------------------

/// A body that delivers `bytes` in `chunk`-sized pieces, then fails (a
/// dropped connection) when `drop` is set.
fn body(
    bytes: &[u8],
    chunk: usize,
    drop: bool,
) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
    let mut items: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(chunk.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    if drop {
        items.push(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        )));
    }
    stream::iter(items)
}

/// Reads the turn through `ResponseStream`, the connection dropping after
/// each prefix in `cuts`; returns the events yielded (as SSE) and the turn.
async fn read_async(
    bytes: &[u8],
    cuts: &[usize],
    chunk: usize,
) -> (Vec<(String, String, usize)>, Turn) {
    let mut seen = Vec::new();
    let mut connections = cuts
        .iter()
        .map(|&c| (c, true))
        .chain(std::iter::once((bytes.len(), false)));
    let (cut, drop) = connections.next().unwrap();
    let mut stream = ResponseStream::new(body(&bytes[..cut], chunk, drop));
    loop {
        while let Some(item) = stream.next().await {
            match item {
                Ok(event) => {
                    let sse = event.event.to_sse();
                    seen.push((
                        sse.event_type().to_owned(),
                        sse.data().to_owned(),
                        event.index,
                    ));
                }
                Err(StreamError::Transport(_)) => break,
                Err(StreamError::Violation(finding)) if finding.rule == Rule::MissingTerminal => {
                    break;
                }
                Err(other) => panic!("unexpected {other}"),
            }
        }
        if stream.is_terminated() {
            break;
        }
        let Some((cut, drop)) = connections.next() else {
            break;
        };
        stream = ResponseStream::resume(body(&bytes[..cut], chunk, drop), stream);
    }
    assert!(
        stream.warnings().is_empty()
            || stream
                .warnings()
                .iter()
                .all(|w| w.rule == Rule::IncompleteEvent)
    );
    (seen, stream.into_turn())
}

#[tokio::test]
async fn response_stream_resumes_every_recording() {
    for (name, bytes) in recordings() {
        let (whole, turn) = read_async(&bytes, &[], 512).await;
        let indices: Vec<usize> = whole.iter().map(|e| e.2).collect();
        assert_eq!(indices, (0..whole.len()).collect::<Vec<_>>(), "{name}");
        assert!(turn.response.is_terminal(), "{name}");
        let cuts = cut_points(&bytes);
        let cuts = if bytes.len() <= 8 * 1024 {
            cuts
        } else {
            sample(cuts, 20)
        };
        for cut in cuts {
            let (resumed, resumed_turn) = read_async(&bytes, &[cut], 97).await;
            assert_eq!(resumed, whole, "{name} cut at {cut}");
            assert_eq!(resumed_turn, turn, "{name} cut at {cut}");
        }
    }
}

#[tokio::test]
async fn response_stream_reports_a_diverged_replay_and_stops() {
    let first = b"event: response.created\ndata: {\"id\":\"c91d2a7e84f04b6f9a3d5e1c0b87f4a2\",\"instance_id\":\"i\",\"session_id\":\"s\"}\n\n";
    let replay = b"event: response.created\ndata: {\"id\":\"00000000000000000000000000000000\",\"instance_id\":\"i\",\"session_id\":\"s\"}\n\n\
event: response.completed\ndata: {\"output_text\":\"\",\"usage\":null}\n\n";
    let mut stream = ResponseStream::new(body(first, 1000, false));
    assert!(matches!(stream.next().await, Some(Ok(_))));
    let Some(Err(StreamError::Violation(missing))) = stream.next().await else {
        panic!("no missing-terminal")
    };
    assert_eq!(missing.rule, Rule::MissingTerminal);
    assert_eq!(
        missing.position,
        Position {
            offset: first.len() as u64,
            line: 4
        }
    );
    assert!(stream.next().await.is_none());

    let mut stream = ResponseStream::resume(body(replay, 1000, false), stream);
    let Some(Err(error)) = stream.next().await else {
        panic!("no error")
    };
    assert_eq!(
        error.finding().map(|f| (f.rule, f.event_index)),
        Some((Rule::ReplayDiverged, Some(0)))
    );
    assert!(stream.next().await.is_none());
    assert!(!stream.is_terminated());
}

#[tokio::test]
async fn response_stream_types_errors_and_keeps_warnings() {
    let bytes = b"event: response.created\ndata: {\"id\":\"resp_1\",\"instance_id\":\"i\",\"session_id\":\"s\"}\n\n\
event: response.output_text.delta\ndata: {\"text\":1}\n\n\
event: response.tool_call.completed\ndata: {\"tool\":\"t\",\"duration_ms\":1}\n\n\
event: response.queued\ndata: {}\n\n\
event: response.completed\ndata: {\"output_text\":\"\",\"usage\":null}\n\n\
event: response.output_text.delta\ndata: {\"text\":\"never read\"}\n\n";
    let mut stream = ResponseStream::new(body(bytes, 10, false));
    let mut kinds = Vec::new();
    while let Some(item) = stream.next().await {
        kinds.push(match item {
            Ok(event) => event.event.name().to_owned(),
            Err(StreamError::Payload { findings, errors }) => {
                assert_eq!(findings.len(), errors.len());
                format!("payload {} {:?}", findings[0].rule, errors.field())
            }
            Err(StreamError::Violation(finding)) => format!("violation {}", finding.rule),
            Err(other) => format!("other {other}"),
        });
    }
    assert_eq!(
        kinds,
        [
            "response.created",
            "payload wrong-type Some(\"text\")",
            "violation unmatched-tool-call",
            "response.tool_call.completed",
            "response.queued",
            "response.completed",
        ]
    );
    let warnings: Vec<Rule> = stream.warnings().iter().map(|w| w.rule).collect();
    assert_eq!(warnings, [Rule::IdFormat, Rule::UnknownEvent]);
    assert!(stream.is_terminated());
    assert_eq!(stream.turn().response.id, "resp_1");
    assert!(matches!(
        ResponseEvent::from_sse(&Event::new(
            "response.completed",
            r#"{"output_text":"","usage":null}"#
        )),
        Ok(ResponseEvent::Completed(_))
    ));
}
