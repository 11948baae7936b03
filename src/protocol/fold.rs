//! Folding a stream of events into the final [`Response`], and resuming the
//! fold after a dropped connection (`PROTOCOL.md` §3 "Reconnect").
//!
//! - [`TurnBuilder`] turns typed events into a [`Turn`]: the response object
//!   plus what only the stream shows (reasoning, tool calls).
//! - [`ReplayGuard`] skips the replayed prefix of a reconnected stream,
//!   checking it equals what was received before.
//! - [`TurnTracker`] puts the [`Validator`], a [`TurnBuilder`] and a
//!   [`ReplayGuard`] together: one `push` per SSE event, across reconnects.
//!
//! ```
//! use agent37_stream::protocol::fold::{Step, TurnTracker};
//! use agent37_stream::protocol::response::Status;
//! use agent37_stream::sse::{Event, Position};
//!
//! let created = Event::new("response.created", r#"{"id":"c91d2a7e84f04b6f9a3d5e1c0b87f4a2","instance_id":"i","session_id":"s"}"#);
//! let delta = Event::new("response.output_text.delta", r#"{"text":"Hi"}"#);
//! let done = Event::new("response.completed", r#"{"output_text":"Hi","usage":null}"#);
//!
//! let mut tracker = TurnTracker::default();
//! // The first connection drops after two events ...
//! for event in [&created, &delta] {
//!     assert!(matches!(tracker.push(event), Step::New { .. }));
//! }
//! // ... the reconnected stream replays them, then goes on.
//! tracker.reconnect();
//! assert!(matches!(tracker.push(&created), Step::Replayed));
//! assert!(matches!(tracker.push(&delta), Step::Replayed));
//! assert!(matches!(tracker.push(&done), Step::New { .. }));
//! assert!(tracker.finish(Position::START).is_empty());
//!
//! let turn = tracker.into_turn();
//! assert_eq!(turn.response.status, Status::Completed);
//! assert_eq!(turn.response.output_text, "Hi");
//! ```

use std::hash::{DefaultHasher, Hasher};

use super::event::{PayloadError, ResponseEvent, ToolError};
use super::machine::{Finding, Rule, Validator, ValidatorOptions};
use super::response::{DEFAULT_AGENT, Response, Status};
use crate::sse::{self, Position};

/// What a server knows about a turn but its stream does not carry.
///
/// The defaults: agent `hermes`, no model, no provider, no metadata, and
/// `created` 0 (set it, e.g. from the time the request was sent).
#[derive(Clone, Debug, PartialEq)]
pub struct Seed {
    /// The agent running the turn.
    pub agent: String,
    /// The model, when known.
    pub model: Option<String>,
    /// The model's provider, when known.
    pub provider: Option<String>,
    /// The request's metadata, when known.
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// When the turn started, in milliseconds since the Unix epoch.
    pub created: u64,
}

impl Default for Seed {
    fn default() -> Self {
        Seed {
            agent: DEFAULT_AGENT.to_owned(),
            model: None,
            provider: None,
            metadata: None,
            created: 0,
        }
    }
}

/// A folded turn: the response object and what only the stream shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Turn {
    /// The response object, as `GET /v1/responses/{id}` would return it.
    pub response: Response,
    /// The instance from `response.created`, when it came.
    pub instance_id: Option<String>,
    /// The concatenated reasoning deltas.
    pub reasoning: String,
    /// Every tool call, in the order they started (a call closed without a
    /// start is placed where it closed).
    pub tool_calls: Vec<ToolCall>,
}

/// One tool call seen on the stream.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolCall {
    /// The tool's name.
    pub tool: String,
    /// The label of its `started` event; `None` when the call was closed
    /// without one (an `unmatched-tool-call`).
    pub label: Option<String>,
    /// How it ended, or that it has not.
    pub outcome: ToolOutcome,
}

/// How a tool call ended.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ToolOutcome {
    /// Still open: no `completed`/`failed` yet.
    Running,
    /// `response.tool_call.completed`.
    Completed {
        /// How long it took, in milliseconds.
        duration_ms: f64,
    },
    /// `response.tool_call.failed` (the turn goes on).
    Failed {
        /// Why.
        error: ToolError<'static>,
    },
}

/// Accumulates typed events into a [`Turn`].
///
/// - `response.created` sets `id`, `session_id` (and the turn's `instance_id`);
///   a second one is ignored.
/// - Output deltas are appended to `output_text`, reasoning deltas to `reasoning`.
/// - Tool events open and close [`ToolCall`]s, a close taking the oldest open
///   call of its tool.
/// - `response.completed` sets status `completed`, `output_text` (its value
///   wins over the deltas) and `usage`; `response.failed` sets status
///   `failed` and `error`, keeping the deltas' text as `output_text`.
/// - Events after the terminal one, and unknown events, change nothing.
///
/// Fields the stream does not carry come from the [`Seed`]. A fold that
/// never saw a terminal event stays `in_progress`.
#[derive(Clone, Debug)]
pub struct TurnBuilder {
    turn: Turn,
    created: bool,
    terminated: bool,
    /// Indices into `turn.tool_calls` of the calls still running, oldest first.
    open: Vec<usize>,
}

impl Default for TurnBuilder {
    fn default() -> Self {
        TurnBuilder::new(Seed::default())
    }
}

impl TurnBuilder {
    /// An empty fold: status `in_progress`, the seed's fields set.
    pub fn new(seed: Seed) -> Self {
        TurnBuilder {
            turn: Turn {
                response: Response {
                    id: String::new(),
                    session_id: String::new(),
                    status: Status::InProgress,
                    agent: seed.agent,
                    model: seed.model,
                    provider: seed.provider,
                    output_text: String::new(),
                    usage: None,
                    error: None,
                    metadata: seed.metadata,
                    created: seed.created,
                },
                instance_id: None,
                reasoning: String::new(),
                tool_calls: Vec::new(),
            },
            created: false,
            terminated: false,
            open: Vec::new(),
        }
    }

    /// Folds one event in.
    pub fn push(&mut self, event: &ResponseEvent<'_>) {
        if self.terminated {
            return;
        }
        let turn = &mut self.turn;
        match event {
            ResponseEvent::Created(created) => {
                if !self.created {
                    self.created = true;
                    turn.response.id = created.id.to_string();
                    turn.response.session_id = created.session_id.to_string();
                    turn.instance_id = Some(created.instance_id.to_string());
                }
            }
            ResponseEvent::OutputTextDelta(delta) => {
                turn.response.output_text.push_str(&delta.text)
            }
            ResponseEvent::ReasoningDelta(delta) => turn.reasoning.push_str(&delta.text),
            ResponseEvent::ToolCallStarted(started) => {
                self.open.push(turn.tool_calls.len());
                turn.tool_calls.push(ToolCall {
                    tool: started.tool.to_string(),
                    label: Some(started.label.to_string()),
                    outcome: ToolOutcome::Running,
                });
            }
            ResponseEvent::ToolCallCompleted(completed) => {
                let outcome = ToolOutcome::Completed {
                    duration_ms: completed.duration_ms,
                };
                self.close(&completed.tool, outcome);
            }
            ResponseEvent::ToolCallFailed(failed) => {
                let outcome = ToolOutcome::Failed {
                    error: failed.error.clone().into_owned(),
                };
                self.close(&failed.tool, outcome);
            }
            ResponseEvent::Completed(completed) => {
                self.terminated = true;
                turn.response.status = Status::Completed;
                turn.response.output_text.clear();
                turn.response.output_text.push_str(&completed.output_text);
                turn.response.usage = completed.usage.clone();
            }
            ResponseEvent::Failed(failed) => {
                self.terminated = true;
                turn.response.status = Status::Failed;
                turn.response.error = Some(failed.error.clone());
            }
            ResponseEvent::Unknown { .. } => {}
        }
    }

    /// Parses an SSE event and folds it in; a payload that breaks the
    /// contract is returned as the error and changes nothing.
    pub fn push_sse(&mut self, event: &sse::Event) -> Result<(), PayloadError> {
        self.push(&ResponseEvent::from_sse(event)?);
        Ok(())
    }

    fn close(&mut self, tool: &str, outcome: ToolOutcome) {
        let calls = &mut self.turn.tool_calls;
        let open = self
            .open
            .iter()
            .position(|&i| calls.get(i).is_some_and(|call| call.tool == tool));
        match open
            .map(|slot| self.open.remove(slot))
            .and_then(|i| calls.get_mut(i))
        {
            Some(call) => call.outcome = outcome,
            None => calls.push(ToolCall {
                tool: tool.to_owned(),
                label: None,
                outcome,
            }),
        }
    }

    /// The turn so far.
    pub fn turn(&self) -> &Turn {
        &self.turn
    }

    /// Whether the terminal event was folded in.
    pub fn is_terminated(&self) -> bool {
        self.terminated
    }

    /// The folded turn.
    pub fn finish(self) -> Turn {
        self.turn
    }
}

/// Whether a [`ReplayGuard`] let an event through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Admission {
    /// Not received before: process it.
    New,
    /// A replay of an event already received (and equal to it): skip it.
    Replayed,
}

/// A reconnected stream's replay differs from what was received before.
#[derive(Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("replayed event {index} at {position} differs from the event {index} received before")]
pub struct ReplayDiverged {
    /// The index of the differing event (the same in both streams).
    pub index: usize,
    /// Where it starts in the reconnected stream.
    pub position: Position,
}

impl ReplayDiverged {
    /// The `replay-diverged` finding for this error.
    pub fn to_finding(&self) -> Finding {
        Finding::with_default_severity(
            Rule::ReplayDiverged,
            format!(
                "replayed event {} differs from the event {} received before the reconnect",
                self.index, self.index
            ),
            self.position,
            Some(self.index),
        )
    }
}

/// Skips the replayed prefix of a reconnected stream.
///
/// `GET /v1/responses/{id}/stream` replays every event so far, then goes on
/// live. The guard keeps a 64-bit fingerprint of each event received (its
/// type and data, not its id or position); after [`reconnect`](Self::reconnect)
/// the first events of the new stream must match those fingerprints one by
/// one and are reported [`Admission::Replayed`], the rest are
/// [`Admission::New`]. A connection that drops again during the replay is
/// handled by calling `reconnect` again.
///
/// Once a replay diverges the guard refuses every event (the same error)
/// until the next `reconnect`: what was folded no longer matches the server.
///
/// ```
/// use agent37_stream::protocol::fold::{Admission, ReplayGuard};
/// use agent37_stream::sse::Event;
///
/// let a = Event::new("response.output_text.delta", r#"{"text":"a"}"#);
/// let b = Event::new("response.output_text.delta", r#"{"text":"b"}"#);
/// let mut guard = ReplayGuard::new();
/// assert_eq!(guard.admit(&a), Ok(Admission::New));
/// guard.reconnect();
/// assert_eq!(guard.admit(&a), Ok(Admission::Replayed));
/// assert_eq!(guard.admit(&b), Ok(Admission::New));
/// guard.reconnect();
/// assert!(guard.admit(&b).is_err()); // the replay must start with `a`
/// ```
#[derive(Clone, Debug, Default)]
pub struct ReplayGuard {
    received: Vec<u64>,
    /// While replaying: how many replayed events matched so far.
    cursor: Option<usize>,
    diverged: Option<ReplayDiverged>,
}

impl ReplayGuard {
    /// A guard that has received nothing.
    pub fn new() -> Self {
        ReplayGuard::default()
    }

    /// How many distinct events were received.
    pub fn received(&self) -> usize {
        self.received.len()
    }

    /// Whether the next event is expected to be a replayed one.
    pub fn is_replaying(&self) -> bool {
        self.cursor.is_some()
    }

    /// Whether the replay diverged since the last reconnect.
    pub fn diverged(&self) -> Option<&ReplayDiverged> {
        self.diverged.as_ref()
    }

    /// A new connection starts: its first [`received`](Self::received)
    /// events must be the ones already received.
    pub fn reconnect(&mut self) {
        self.diverged = None;
        self.cursor = (!self.received.is_empty()).then_some(0);
    }

    /// Lets an event through, or says it is a replay to skip.
    pub fn admit(&mut self, event: &sse::Event) -> Result<Admission, ReplayDiverged> {
        if let Some(diverged) = &self.diverged {
            return Err(diverged.clone());
        }
        let fingerprint = fingerprint(event);
        let Some(cursor) = self.cursor else {
            self.received.push(fingerprint);
            return Ok(Admission::New);
        };
        if self.received.get(cursor) == Some(&fingerprint) {
            let next = cursor + 1;
            self.cursor = (next < self.received.len()).then_some(next);
            Ok(Admission::Replayed)
        } else {
            let diverged = ReplayDiverged {
                index: cursor,
                position: event.position(),
            };
            self.diverged = Some(diverged.clone());
            Err(diverged)
        }
    }
}

/// A fingerprint of what a replay must repeat: the type (and whether it was
/// explicit) and the data. `DefaultHasher::new()` has fixed keys, so it is
/// the same across connections.
fn fingerprint(event: &sse::Event) -> u64 {
    let mut hasher = DefaultHasher::new();
    match event.explicit_type() {
        Some(name) => {
            hasher.write_u8(1);
            hasher.write_usize(name.len());
            hasher.write(name.as_bytes());
        }
        None => hasher.write_u8(0),
    }
    hasher.write_usize(event.data_bytes().len());
    hasher.write(event.data_bytes());
    hasher.finish()
}

/// What [`TurnTracker::push`] did with an event.
#[derive(Debug)]
pub enum Step<'e> {
    /// A new event, validated and folded in.
    New {
        /// The typed event, or why its payload breaks the contract.
        event: Result<ResponseEvent<'e>, PayloadError>,
        /// What the validator found (usually nothing).
        findings: Vec<Finding>,
    },
    /// A replay of an event already processed: skipped.
    Replayed,
    /// The replay differs from what was received: the fold no longer
    /// matches the server. Its [`to_finding`](ReplayDiverged::to_finding) is
    /// the `replay-diverged` finding.
    Diverged(ReplayDiverged),
}

/// Validates and folds one turn's events, across reconnects.
///
/// Each SSE event goes through the [`ReplayGuard`] (replays are skipped),
/// then the [`Validator`] and the [`TurnBuilder`]. Call
/// [`reconnect`](Self::reconnect) when a new connection starts, and
/// [`finish`](Self::finish) when the stream ends for good.
#[derive(Clone, Debug, Default)]
pub struct TurnTracker {
    guard: ReplayGuard,
    validator: Validator,
    builder: TurnBuilder,
}

impl TurnTracker {
    /// A tracker with a seed for the response fields the stream does not
    /// carry, and validator options.
    pub fn new(seed: Seed, options: ValidatorOptions) -> Self {
        TurnTracker {
            guard: ReplayGuard::new(),
            validator: Validator::new(options),
            builder: TurnBuilder::new(seed),
        }
    }

    /// Processes one event of the current connection.
    pub fn push<'e>(&mut self, event: &'e sse::Event) -> Step<'e> {
        match self.guard.admit(event) {
            Err(diverged) => Step::Diverged(diverged),
            Ok(Admission::Replayed) => Step::Replayed,
            Ok(Admission::New) => {
                let (parsed, findings) = self.validator.parse_and_push(event);
                if let Ok(typed) = &parsed {
                    self.builder.push(typed);
                }
                Step::New {
                    event: parsed,
                    findings,
                }
            }
        }
    }

    /// A new connection starts (it replays everything so far).
    pub fn reconnect(&mut self) {
        self.guard.reconnect();
    }

    /// Whether the terminal event was processed: the turn is over.
    pub fn is_terminated(&self) -> bool {
        self.validator.is_terminated()
    }

    /// How many distinct events were processed.
    pub fn events(&self) -> usize {
        self.guard.received()
    }

    /// The turn so far.
    pub fn turn(&self) -> &Turn {
        self.builder.turn()
    }

    /// The validator, for its state.
    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// The stream ended for good at `end`: the validator's end-of-stream
    /// findings (`missing-terminal`).
    pub fn finish(&mut self, end: Position) -> Vec<Finding> {
        self.validator.finish(end)
    }

    /// The folded turn.
    pub fn into_turn(self) -> Turn {
        self.builder.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::response::{ErrorObject, Usage};

    fn ev(name: &str, data: &str) -> sse::Event {
        sse::Event::new(name, data)
    }

    fn fold(events: &[sse::Event]) -> Turn {
        let mut builder = TurnBuilder::default();
        for event in events {
            builder.push_sse(event).unwrap();
        }
        builder.finish()
    }

    fn created() -> sse::Event {
        ev(
            "response.created",
            r#"{"id":"c91d2a7e84f04b6f9a3d5e1c0b87f4a2","instance_id":"inst","session_id":"sess"}"#,
        )
    }

    #[test]
    fn completed_turn() {
        let turn = fold(&[
            created(),
            ev("response.reasoning.delta", r#"{"text":"think "}"#),
            ev("response.reasoning.delta", r#"{"text":"more"}"#),
            ev("response.output_text.delta", r#"{"text":"Hel"}"#),
            ev("response.output_text.delta", r#"{"text":"lo"}"#),
            ev(
                "response.completed",
                r#"{"output_text":"Hello!","usage":{"input_tokens":3,"output_tokens":2,"cost_usd":null}}"#,
            ),
        ]);
        let response = &turn.response;
        assert_eq!(response.id, "c91d2a7e84f04b6f9a3d5e1c0b87f4a2");
        assert_eq!(response.session_id, "sess");
        assert_eq!(response.status, Status::Completed);
        assert_eq!(response.agent, "hermes");
        assert_eq!(response.output_text, "Hello!");
        assert_eq!(
            response.usage,
            Some(Usage {
                input_tokens: 3,
                output_tokens: 2,
                cost_usd: Some(None)
            })
        );
        assert_eq!(response.error, None);
        assert_eq!(turn.instance_id.as_deref(), Some("inst"));
        assert_eq!(turn.reasoning, "think more");
    }

    #[test]
    fn failed_turn_keeps_deltas_text() {
        let turn = fold(&[
            created(),
            ev("response.output_text.delta", r#"{"text":"partial"}"#),
            ev(
                "response.failed",
                r#"{"error":{"code":"internal","message":"boom"}}"#,
            ),
            ev("response.output_text.delta", r#"{"text":" ignored"}"#),
        ]);
        assert_eq!(turn.response.status, Status::Failed);
        assert_eq!(turn.response.output_text, "partial");
        assert_eq!(
            turn.response.error,
            Some(ErrorObject::new("internal", "boom"))
        );
        assert_eq!(turn.response.usage, None);
    }

    #[test]
    fn tool_calls_close_oldest_of_same_tool() {
        let turn = fold(&[
            created(),
            ev(
                "response.tool_call.started",
                r#"{"tool":"a","label":"first"}"#,
            ),
            ev(
                "response.tool_call.started",
                r#"{"tool":"b","label":"other"}"#,
            ),
            ev(
                "response.tool_call.started",
                r#"{"tool":"a","label":"second"}"#,
            ),
            ev(
                "response.tool_call.completed",
                r#"{"tool":"a","duration_ms":7}"#,
            ),
            ev(
                "response.tool_call.failed",
                r#"{"tool":"a","error":"nope"}"#,
            ),
            ev(
                "response.tool_call.completed",
                r#"{"tool":"z","duration_ms":1.5}"#,
            ),
        ]);
        let calls: Vec<(&str, Option<&str>, &ToolOutcome)> = turn
            .tool_calls
            .iter()
            .map(|c| (c.tool.as_str(), c.label.as_deref(), &c.outcome))
            .collect();
        assert_eq!(
            calls,
            [
                (
                    "a",
                    Some("first"),
                    &ToolOutcome::Completed { duration_ms: 7.0 }
                ),
                ("b", Some("other"), &ToolOutcome::Running),
                (
                    "a",
                    Some("second"),
                    &ToolOutcome::Failed {
                        error: ToolError::Message("nope".into())
                    }
                ),
                ("z", None, &ToolOutcome::Completed { duration_ms: 1.5 }),
            ]
        );
        assert_eq!(turn.response.status, Status::InProgress);
    }

    #[test]
    fn seed_fills_what_the_stream_lacks() {
        let mut metadata = serde_json::Map::new();
        metadata.insert("k".into(), "v".into());
        let seed = Seed {
            model: Some("m".into()),
            provider: Some("p".into()),
            metadata: Some(metadata.clone()),
            created: 42,
            ..Seed::default()
        };
        let mut builder = TurnBuilder::new(seed);
        builder.push_sse(&created()).unwrap();
        let response = builder.finish().response;
        assert_eq!(response.agent, "hermes");
        assert_eq!(response.model.as_deref(), Some("m"));
        assert_eq!(response.provider.as_deref(), Some("p"));
        assert_eq!(response.metadata, Some(metadata));
        assert_eq!(response.created, 42);
    }

    #[test]
    fn second_created_and_unknown_events_change_nothing() {
        let turn = fold(&[
            created(),
            ev(
                "response.created",
                r#"{"id":"00000000000000000000000000000000","instance_id":"x","session_id":"y"}"#,
            ),
            ev("response.queued", "{}"),
        ]);
        assert_eq!(turn.response.id, "c91d2a7e84f04b6f9a3d5e1c0b87f4a2");
        assert_eq!(turn.response.session_id, "sess");
    }

    #[test]
    fn push_sse_reports_payload_errors() {
        let mut builder = TurnBuilder::default();
        let err = builder
            .push_sse(&ev("response.output_text.delta", "{}"))
            .unwrap_err();
        assert_eq!(err.rule(), Rule::MissingField);
        assert_eq!(builder.turn().response.output_text, "");
    }

    #[test]
    fn guard_skips_replay_and_detects_divergence() {
        let a = ev("response.output_text.delta", r#"{"text":"a"}"#);
        let b = ev("response.output_text.delta", r#"{"text":"b"}"#);
        let c = ev("response.output_text.delta", r#"{"text":"c"}"#);
        let mut guard = ReplayGuard::new();
        guard.reconnect(); // nothing received: nothing to replay
        assert!(!guard.is_replaying());
        assert_eq!(guard.admit(&a), Ok(Admission::New));
        assert_eq!(guard.admit(&b), Ok(Admission::New));
        guard.reconnect();
        assert_eq!(guard.admit(&a), Ok(Admission::Replayed));
        // Dropped again mid-replay.
        guard.reconnect();
        assert_eq!(guard.admit(&a), Ok(Admission::Replayed));
        assert_eq!(guard.admit(&b), Ok(Admission::Replayed));
        assert_eq!(guard.admit(&c), Ok(Admission::New));
        assert_eq!(guard.received(), 3);

        guard.reconnect();
        assert_eq!(guard.admit(&a), Ok(Admission::Replayed));
        let moved = c.clone().with_position(Position {
            offset: 50,
            line: 4,
        });
        let err = guard.admit(&moved).unwrap_err();
        assert_eq!(
            err,
            ReplayDiverged {
                index: 1,
                position: Position {
                    offset: 50,
                    line: 4
                }
            }
        );
        assert_eq!(guard.admit(&b), Err(err.clone()));
        let finding = err.to_finding();
        assert_eq!(finding.rule, Rule::ReplayDiverged);
        assert_eq!(finding.event_index, Some(1));
        assert!(finding.is_error());
    }

    #[test]
    fn fingerprint_ignores_id_and_position_but_not_type() {
        let a = ev("response.output_text.delta", r#"{"text":"a"}"#);
        let moved = a
            .clone()
            .with_id("9")
            .with_position(Position { offset: 7, line: 2 });
        assert_eq!(fingerprint(&a), fingerprint(&moved));
        let other_type = ev("response.reasoning.delta", r#"{"text":"a"}"#);
        assert_ne!(fingerprint(&a), fingerprint(&other_type));
        let untyped = ev("", "x");
        let message = ev("message", "x");
        assert_ne!(fingerprint(&untyped), fingerprint(&message));
    }

    #[test]
    fn tracker_reports_divergence_as_a_step() {
        let a = ev("response.output_text.delta", r#"{"text":"a"}"#);
        let b = ev("response.output_text.delta", r#"{"text":"b"}"#);
        let mut tracker = TurnTracker::default();
        assert!(matches!(tracker.push(&created()), Step::New { .. }));
        assert!(matches!(tracker.push(&a), Step::New { .. }));
        tracker.reconnect();
        assert!(matches!(tracker.push(&created()), Step::Replayed));
        let Step::Diverged(diverged) = tracker.push(&b) else {
            panic!("not diverged");
        };
        assert_eq!(diverged.index, 1);
        assert_eq!(tracker.turn().response.output_text, "a");
        assert_eq!(tracker.events(), 2);
    }
}
