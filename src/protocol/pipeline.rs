//! The one pipeline every front end shares: decode → replay guard →
//! validate → fold.
//!
//! [`Pipeline`] takes a turn's bytes, connection by connection, and gives
//! one [`Step`] per event: each rule is applied here once, whichever front
//! reads the steps. An event over the size limit is dropped by the decoder
//! and counted (so indices never drift); a replayed event is skipped after a
//! [`reconnect`](Pipeline::reconnect); a new one is typed, validated and
//! folded; the end of a connection's bytes gives the end-of-stream findings.
//!
//! A delta in its plain shape (`{"text":"…"}`, the bulk of a turn) is read
//! straight from its block's bytes, its kind, text and replay fingerprint
//! with it, and goes through the same steps; every other event goes
//! through an [`sse::Event`]. The two ways give the same steps for any
//! input (`tests/pipeline_paths.rs`, and the `typed_paths` fuzz target).
//!
//! The fronts are thin: [`ResponseStream`](super::stream::ResponseStream)
//! (an async stream of typed events), [`TurnTracker`] (events decoded
//! elsewhere) and [`check`](crate::check) (diagnostics for recordings).
//!
//! ```
//! use agent37_stream::protocol::pipeline::{Pipeline, PipelineOptions, Step};
//! use agent37_stream::protocol::rules::Rule;
//! use bytes::Bytes;
//!
//! let mut pipeline = Pipeline::new(PipelineOptions::default());
//! pipeline.push(Bytes::from_static(
//!     b"event: response.created\ndata: {\"id\":\"c91d2a7e84f04b6f9a3d5e1c0b87f4a2\",\"instance_id\":\"i\",\"session_id\":\"s\"}\n\n\
//!       event: response.output_text.delta\ndata: {\"text\":\"Hi\"}\n\n",
//! ));
//! pipeline.end_input();
//! let mut rules = Vec::new();
//! while let Some(step) = pipeline.next_step() {
//!     rules.extend(step.findings().map(|f| f.rule));
//! }
//! assert_eq!(rules, [Rule::MissingTerminal]);
//! assert_eq!(pipeline.turn().response.output_text, "Hi");
//! assert_eq!(pipeline.events(), 2);
//! ```

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::event::{EventKind, PayloadErrors, ResponseEvent, block_delta};
use super::fold::{Seed, Turn, TurnBuilder};
use super::machine::{Source, Validator, ValidatorOptions};
use super::replay::{Admission, Name, ReplayDiverged, ReplayGuard, fingerprint_of};
use super::rules::Finding;
use crate::sse::{self, Buffer, ChunkDecoder, Emit, Limits, Parser, Position, RawEvent, Utf8Bytes};

/// How a [`Pipeline`] decodes and judges.
///
/// ```
/// use agent37_stream::protocol::machine::ValidatorOptions;
/// use agent37_stream::protocol::pipeline::PipelineOptions;
/// use agent37_stream::sse::Limits;
///
/// let options = PipelineOptions::default()
///     .with_validator(ValidatorOptions::default().with_strict(true))
///     .with_limits(Limits::default().max_event_bytes(1 << 20));
/// assert!(options.validator.strict);
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct PipelineOptions {
    /// How the contract is judged (strict mode).
    pub validator: ValidatorOptions,
    /// The decoder's size limits.
    pub limits: Limits,
    /// The response fields the stream does not carry.
    pub seed: Seed,
}

impl PipelineOptions {
    /// Sets the validator options.
    pub fn with_validator(mut self, validator: ValidatorOptions) -> Self {
        self.validator = validator;
        self
    }

    /// Sets the decoder's limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the seed of the folded response.
    pub fn with_seed(mut self, seed: Seed) -> Self {
        self.seed = seed;
        self
    }
}

/// One new event of a turn: typed, validated and folded in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamEvent {
    /// The typed event.
    pub event: ResponseEvent,
    /// Its 0-based index in the turn (the same across reconnects).
    pub index: usize,
    /// Where its block starts in the current connection's bytes.
    pub position: Position,
    /// The last event id in force when it was dispatched.
    pub id: Utf8Bytes,
}

/// What the pipeline made of one event, or of the end of the input.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Step {
    /// A new event, validated and (when its payload is readable) folded in.
    New {
        /// Its 0-based index in the turn.
        index: usize,
        /// Where its block starts in the current connection's bytes.
        position: Position,
        /// The last event id in force when it was dispatched.
        id: Utf8Bytes,
        /// The typed event, or every reason its payload is broken (each one
        /// is also among `findings`, under its payload rule).
        event: Result<ResponseEvent, PayloadErrors>,
        /// What the validator found about it (usually nothing). A boxed
        /// slice, not a `Vec`: a step is then 128 bytes, which is moved
        /// without a call to `memcpy`.
        findings: Box<[Finding]>,
    },
    /// An event over the size limit, dropped by the decoder and counted:
    /// the `event-too-large` finding, with the index it took.
    Oversized(Finding),
    /// A replay of an event already processed: skipped.
    Replayed,
    /// The replay differs from what was received: the fold no longer
    /// matches the server, and nothing more is taken on this connection.
    Diverged(ReplayDiverged),
    /// The connection's bytes ended: what only the end shows
    /// (`incomplete-event`, and `missing-terminal` when no terminal event
    /// came).
    Ended(Vec<Finding>),
}

impl Step {
    /// The findings this step carries, in order.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        let (many, one): (&[Finding], Option<&Finding>) = match self {
            Step::New { findings, .. } => (findings, None),
            Step::Ended(findings) => (findings, None),
            Step::Oversized(finding) => (&[], Some(finding)),
            Step::Replayed | Step::Diverged(_) => (&[], None),
        };
        many.iter().chain(one)
    }

    /// The step's findings, owned; a divergence gives its `replay-diverged`.
    pub fn into_findings(self) -> Vec<Finding> {
        match self {
            Step::New { findings, .. } => findings.into_vec(),
            Step::Ended(findings) => findings,
            Step::Oversized(finding) => vec![finding],
            Step::Diverged(diverged) => vec![diverged.to_finding()],
            Step::Replayed => Vec::new(),
        }
    }
}

/// Decode → replay guard → validate → fold, for one turn across its
/// connections. See the [module docs](self).
#[derive(Debug)]
pub struct Pipeline {
    decoder: ChunkDecoder,
    intake: Intake,
    /// The current connection's bytes ended.
    input_done: bool,
}

/// Everything past the decoder: the replay guard, the validator and the
/// fold. It takes each block as the decoder dispatches it ([`Emit`]), so a
/// delta in its plain shape is read straight from its bytes, and any other
/// event through an [`sse::Event`].
#[derive(Debug)]
struct Intake {
    guard: ReplayGuard,
    validator: Validator,
    builder: TurnBuilder,
    /// The connection's end was reported (or it diverged): no more steps
    /// until a reconnect.
    connection_over: bool,
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline::new(PipelineOptions::default())
    }
}

impl Pipeline {
    /// A pipeline at the start of a turn's first connection.
    pub fn new(options: PipelineOptions) -> Self {
        Pipeline {
            decoder: ChunkDecoder::with_limits(options.limits),
            intake: Intake {
                guard: ReplayGuard::new(),
                validator: Validator::new(options.validator).with_text_folded_by_caller(),
                builder: TurnBuilder::new(options.seed),
                connection_over: false,
            },
            input_done: false,
        }
    }

    /// Takes the next bytes of the current connection.
    pub fn push(&mut self, chunk: Bytes) {
        self.decoder.push(chunk);
    }

    /// The current connection's bytes ended.
    pub fn end_input(&mut self) {
        self.input_done = true;
        self.decoder.finish();
    }

    /// The next step, or `None` when the pipeline needs more bytes (or,
    /// after [`end_input`](Self::end_input), when the connection is over).
    #[inline]
    pub fn next_step(&mut self) -> Option<Step> {
        // Between chunks (every other call) the answer is known without
        // entering the decoding loop and its large frame.
        if self.intake.connection_over || (!self.input_done && self.decoder.is_drained()) {
            return None;
        }
        self.decode_step()
    }

    fn decode_step(&mut self) -> Option<Step> {
        loop {
            match self.decoder.next_emitted(&mut self.intake) {
                Ok(Some(step)) => return Some(step),
                Err(error) => {
                    // A chunk decoder fails only on limits (an I/O error,
                    // its only other kind, is not about the stream).
                    if let Some(finding) = Finding::from_decode_error(&error, None) {
                        return Some(self.intake.oversized(finding));
                    }
                }
                Ok(None) if self.input_done => {
                    self.intake.connection_over = true;
                    let end = self.decoder.end_position().unwrap_or_default();
                    let mut findings = Vec::new();
                    if let Some(incomplete) = self.decoder.incomplete() {
                        findings.push(Finding::incomplete_event(incomplete.position));
                    }
                    findings.extend(self.intake.validator.missing_terminal(end));
                    return Some(Step::Ended(findings));
                }
                Ok(None) => return None,
            }
        }
    }

    /// Takes an event decoded elsewhere (as [`TurnTracker`] does): the
    /// replay guard, then the validator and the fold.
    pub fn push_event(&mut self, event: &sse::Event) -> Step {
        self.intake.push_event(event)
    }

    /// A new connection starts (the replay endpoint's stream, which replays
    /// everything so far): a fresh decoder with the same limits, and the
    /// replay guard set to skip what was already taken.
    pub fn reconnect(&mut self) {
        self.decoder = ChunkDecoder::with_limits(self.decoder.limits());
        self.intake.guard.reconnect();
        self.input_done = false;
        self.intake.connection_over = false;
    }

    /// The end-of-stream finding for a stream that ended for good at `end`
    /// without a terminal event (`missing-terminal`), for events pushed with
    /// [`push_event`](Self::push_event).
    pub fn finish_at(&mut self, end: Position) -> Vec<Finding> {
        self.intake.validator.finish(end)
    }

    /// Whether the terminal event was taken: the turn is over.
    pub fn is_terminated(&self) -> bool {
        self.intake.validator.is_terminated()
    }

    /// How many events of the turn were taken, an oversized one included.
    pub fn events(&self) -> usize {
        self.intake.validator.events_seen()
    }

    /// The turn folded so far.
    pub fn turn(&self) -> &Turn {
        self.intake.builder.turn()
    }

    /// The folded turn.
    pub fn into_turn(self) -> Turn {
        self.intake.builder.finish()
    }

    /// The validator, for its state (open tool calls, …). It leaves
    /// comparing the terminal `output_text` with the deltas to the
    /// pipeline, which folds that text anyway: a clone of it does not
    /// report `output-text-mismatch`.
    pub fn validator(&self) -> &Validator {
        &self.intake.validator
    }

    /// The current connection's decoder (last event id, `retry`, limits).
    pub fn decoder(&self) -> &ChunkDecoder {
        &self.decoder
    }
}

impl Intake {
    /// Takes an event decoded elsewhere (as [`TurnTracker`] does): the
    /// replay guard, then the validator and the fold.
    // Always inlined: the step is built where `next_step` returns it.
    #[inline(always)]
    fn push_event(&mut self, event: &sse::Event) -> Step {
        match self.guard.admit(event) {
            Err(diverged) => self.diverged(diverged),
            Ok(Admission::Replayed) => Step::Replayed,
            Ok(Admission::New) => {
                let index = self.validator.events_seen();
                let folded = &self.builder.turn().response.output_text;
                let checked = self.validator.push_folded(event, Some(folded));
                if let Ok(typed) = &checked.event {
                    self.builder.push(typed);
                }
                Step::New {
                    index,
                    position: event.position(),
                    id: event.id_bytes().clone(),
                    event: checked.event,
                    findings: checked.findings.into_boxed_slice(),
                }
            }
        }
    }

    /// An event the decoder dropped for its size, `finding` its
    /// `event-too-large` without an index yet.
    fn oversized(&mut self, mut finding: Finding) -> Step {
        match self.guard.admit_oversized(finding.position) {
            Err(diverged) => self.diverged(diverged),
            Ok(Admission::Replayed) => Step::Replayed,
            Ok(Admission::New) => {
                finding.event_index = Some(self.validator.skip_event());
                Step::Oversized(finding)
            }
        }
    }

    fn diverged(&mut self, diverged: ReplayDiverged) -> Step {
        self.connection_over = true;
        Step::Diverged(diverged)
    }

    /// A delta read straight from its block (see [`Emit`]): the same steps
    /// as [`push_event`](Self::push_event), from what was read. (Written
    /// out, not shared with it through a closure: that form measured 5 %
    /// slower per event through `ResponseStream`.)
    #[inline(always)]
    fn push_read(
        &mut self,
        fingerprint: u64,
        kind: EventKind,
        event: ResponseEvent,
        position: Position,
        id: &Utf8Bytes,
    ) -> Step {
        match self.guard.admit_fingerprint(fingerprint, position) {
            Err(diverged) => self.diverged(diverged),
            Ok(Admission::Replayed) => Step::Replayed,
            Ok(Admission::New) => {
                let index = self.validator.events_seen();
                let source = Source {
                    position,
                    name: Some(kind.name()),
                    data: None,
                };
                let findings = self
                    .validator
                    .push_read(source, Some(kind), Ok(&event))
                    .into_boxed_slice();
                self.builder.push(&event);
                Step::New {
                    index,
                    position,
                    id: id.clone(),
                    event: Ok(event),
                    findings,
                }
            }
        }
    }
}

impl Emit for Intake {
    type Output = Step;

    #[inline(always)]
    fn emit<B: Buffer>(&mut self, parser: &mut Parser, block: &mut RawEvent<'_, B>) -> Step {
        if let Some((kind, text)) = block_delta(parser, block) {
            let data = block
                .single_data()
                .map_or(&[][..], |(s, e)| &block.bytes()[s..e]);
            let fingerprint = fingerprint_of(Name::Known(kind), data);
            let event = ResponseEvent::delta(kind, text.make(block));
            return self.push_read(
                fingerprint,
                kind,
                event,
                block.position,
                parser.last_event_id(),
            );
        }
        // By reference: moving the event out would copy it.
        let event = parser.event_of(block);
        self.push_event(&event)
    }
}

/// The pipeline's front for events decoded elsewhere: one
/// [`push`](Self::push) per SSE event, across reconnects.
///
/// ```
/// use agent37_stream::protocol::pipeline::{Step, TurnTracker};
/// use agent37_stream::sse::{Event, Position};
///
/// let created = Event::new("response.created", r#"{"id":"c91d2a7e84f04b6f9a3d5e1c0b87f4a2","instance_id":"i","session_id":"s"}"#);
/// let mut tracker = TurnTracker::default();
/// assert!(matches!(tracker.push(&created), Step::New { .. }));
/// tracker.reconnect();
/// assert!(matches!(tracker.push(&created), Step::Replayed));
/// let end = tracker.finish(Position::START);
/// assert_eq!(end[0].rule.as_str(), "missing-terminal");
/// ```
#[derive(Debug, Default)]
pub struct TurnTracker {
    pipeline: Pipeline,
}

impl TurnTracker {
    /// A tracker with a seed for the response fields the stream does not
    /// carry, and validator options.
    pub fn new(seed: Seed, options: ValidatorOptions) -> Self {
        TurnTracker {
            pipeline: Pipeline::new(
                PipelineOptions::default()
                    .with_seed(seed)
                    .with_validator(options),
            ),
        }
    }

    /// Processes one event of the current connection.
    pub fn push(&mut self, event: &sse::Event) -> Step {
        self.pipeline.push_event(event)
    }

    /// A new connection starts (it replays everything so far).
    pub fn reconnect(&mut self) {
        self.pipeline.reconnect();
    }

    /// Whether the terminal event was processed: the turn is over.
    pub fn is_terminated(&self) -> bool {
        self.pipeline.is_terminated()
    }

    /// How many distinct events were processed.
    pub fn events(&self) -> usize {
        self.pipeline.events()
    }

    /// The turn so far.
    pub fn turn(&self) -> &Turn {
        self.pipeline.turn()
    }

    /// The validator, for its state (see [`Pipeline::validator`]).
    pub fn validator(&self) -> &Validator {
        self.pipeline.validator()
    }

    /// The stream ended for good at `end`: `missing-terminal` when no
    /// terminal event came.
    pub fn finish(&mut self, end: Position) -> Vec<Finding> {
        self.pipeline.finish_at(end)
    }

    /// The folded turn.
    pub fn into_turn(self) -> Turn {
        self.pipeline.into_turn()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::rules::Rule;

    #[test]
    fn tracker_reports_divergence_as_a_step() {
        let created = sse::Event::new(
            "response.created",
            r#"{"id":"c91d2a7e84f04b6f9a3d5e1c0b87f4a2","instance_id":"inst","session_id":"sess"}"#,
        );
        let a = sse::Event::new("response.output_text.delta", r#"{"text":"a"}"#);
        let b = sse::Event::new("response.output_text.delta", r#"{"text":"b"}"#);
        let mut tracker = TurnTracker::default();
        assert!(matches!(tracker.push(&created), Step::New { .. }));
        assert!(matches!(tracker.push(&a), Step::New { .. }));
        tracker.reconnect();
        assert!(matches!(tracker.push(&created), Step::Replayed));
        let Step::Diverged(diverged) = tracker.push(&b) else {
            panic!("not diverged");
        };
        assert_eq!(diverged.index, 1);
        assert_eq!(tracker.turn().response.output_text, "a");
        assert_eq!(tracker.events(), 2);
    }

    #[test]
    fn oversized_events_keep_their_index_across_reconnects() {
        let big = format!(
            "event: response.reasoning.delta\ndata: {{\"text\":\"{}\"}}\n\n",
            "x".repeat(300)
        );
        let created = "event: response.created\ndata: {\"id\":\"c91d2a7e84f04b6f9a3d5e1c0b87f4a2\",\"instance_id\":\"i\",\"session_id\":\"s\"}\n\n";
        let delta = "event: response.output_text.delta\ndata: {\"text\":\"a\"}\n\n";
        let first = format!("{created}{big}");
        let replay = format!("{created}{big}{delta}");
        let options =
            PipelineOptions::default().with_limits(Limits::default().max_event_bytes(200));
        let mut pipeline = Pipeline::new(options);
        let mut steps = Vec::new();
        pipeline.push(Bytes::from(first));
        pipeline.end_input();
        while let Some(step) = pipeline.next_step() {
            steps.push(step);
        }
        assert!(
            matches!(&steps[1], Step::Oversized(f) if f.rule == Rule::EventTooLarge && f.event_index == Some(1))
        );
        assert!(matches!(&steps[2], Step::Ended(f) if f[0].rule == Rule::MissingTerminal));
        pipeline.reconnect();
        pipeline.push(Bytes::from(replay));
        let mut again = Vec::new();
        while let Some(step) = pipeline.next_step() {
            again.push(step);
        }
        assert_eq!(&again[..2], [Step::Replayed, Step::Replayed]);
        let Step::New { index, .. } = &again[2] else {
            panic!("{again:?}");
        };
        assert_eq!(*index, 2);
        assert_eq!(pipeline.events(), 3);
        assert_eq!(pipeline.turn().response.output_text, "a");
    }
}
