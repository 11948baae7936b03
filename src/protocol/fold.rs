//! Folding a stream of events into the final [`Response`]: [`TurnBuilder`]
//! turns typed events into a [`Turn`], the response object plus what only
//! the stream shows (reasoning, tool calls).
//!
//! The [pipeline](super::pipeline) puts it behind the replay guard and the
//! validator; [`TurnTracker`](super::pipeline::TurnTracker) is its front for
//! events decoded elsewhere:
//!
//! ```
//! use agent37_stream::protocol::pipeline::{Step, TurnTracker};
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

use serde::{Deserialize, Serialize};

use super::calls::OpenCalls;
use super::event::{PayloadErrors, ResponseEvent, ToolError};
use super::request::Agent;
use super::response::{Response, Status};
use crate::sse;

/// What a server knows about a turn but its stream does not carry.
///
/// The defaults: agent `hermes`, no model, no provider, no metadata, and
/// `created` 0 (set it, e.g. from the time the request was sent).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Seed {
    /// The agent running the turn.
    pub agent: Agent,
    /// The model, when known.
    pub model: Option<String>,
    /// The model's provider, when known.
    pub provider: Option<String>,
    /// The request's metadata, when known.
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// When the turn started, in milliseconds since the Unix epoch.
    pub created: u64,
}

/// A folded turn: the response object and what only the stream shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
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
        error: ToolError,
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
    /// Indices into `turn.tool_calls` of the calls still running.
    open: OpenCalls<usize>,
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
            open: OpenCalls::default(),
        }
    }

    /// Folds one event in.
    pub fn push(&mut self, event: &ResponseEvent) {
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
                self.open.open(started.tool.clone(), turn.tool_calls.len());
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
                    error: failed.error.clone(),
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
            ResponseEvent::Unknown(_) => {}
        }
    }

    /// Parses an SSE event and folds it in; a payload that breaks the
    /// contract is returned as the error and changes nothing.
    pub fn push_sse(&mut self, event: &sse::Event) -> Result<(), PayloadErrors> {
        self.push(&ResponseEvent::from_sse(event)?);
        Ok(())
    }

    fn close(&mut self, tool: &str, outcome: ToolOutcome) {
        let calls = &mut self.turn.tool_calls;
        match self.open.close(tool).and_then(|i| calls.get_mut(i)) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::response::{ErrorObject, Usage};
    use crate::protocol::rules::Rule;

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
}
