//! Findings and the ordering state machine of the Responses contract
//! (the contract's [ordering](super::contract#ordering) and
//! [rule codes](super::contract#rule-codes)).
//!
//! A [`Validator`] is fed one [`sse::Event`] at a time and reports each
//! broken rule as a [`Finding`] with a stable [`Rule`] code; [`Validator::finish`]
//! adds what only the end of the stream shows. It never panics, whatever it
//! is fed, and keeps only the open tool calls and a fixed-size digest of the
//! output text: its memory does not grow with the number of events.
//!
//! Where each finding points (`position` is always a block start of
//! the contract's rule table, `event_index` the 0-based index among dispatched events):
//!
//! | rule | position and event index |
//! |---|---|
//! | `untyped-event`, `unknown-event` | the event |
//! | `invalid-json`, `not-an-object`, `missing-field`, `wrong-type`, `invalid-value` | the event whose payload is broken |
//! | `missing-created` | the first event (index 0) |
//! | `duplicate-created` | the second (third, …) `response.created` |
//! | `event-after-terminal` | each event after the terminal one |
//! | `unmatched-tool-call` | the `completed`/`failed` event that closes nothing |
//! | `unclosed-tool-call` | the `started` event left open (reported when the terminal event arrives) |
//! | `output-text-mismatch` | the `response.completed` event |
//! | `id-format` | the `response.created` event |
//! | `missing-terminal` | the end of the stream (the position given to [`Validator::finish`]), no index |
//! | `incomplete-event` | the discarded bytes at the end ([`Finding::incomplete_event`]), no index |
//! | `event-too-large` | the oversized event's block ([`Finding::event_too_large`]) |
//! | `replay-diverged` | the replayed event that differs ([`ReplayGuard`](super::replay::ReplayGuard)) |
//!
//! # Example: parse → validate → fold
//!
//! ```
//! use agent37_stream::protocol::event::ResponseEvent;
//! use agent37_stream::protocol::fold::TurnBuilder;
//! use agent37_stream::protocol::rules::Rule;
//! use agent37_stream::protocol::machine::{Validator, ValidatorOptions};
//! use agent37_stream::protocol::response::Status;
//! use agent37_stream::sse::{Event, Position};
//!
//! let stream = [
//!     Event::new("response.created", r#"{"id":"c91d2a7e84f04b6f9a3d5e1c0b87f4a2","instance_id":"inst_x7","session_id":"s1"}"#),
//!     Event::new("response.output_text.delta", r#"{"text":"Hel"}"#),
//!     Event::new("response.output_text.delta", r#"{"text":"lo"}"#),
//!     Event::new("response.completed", r#"{"output_text":"Hello","usage":{"input_tokens":5,"output_tokens":2}}"#),
//! ];
//!
//! let mut validator = Validator::new(ValidatorOptions::default());
//! let mut turn = TurnBuilder::default();
//! let mut findings = Vec::new();
//! for sse in &stream {
//!     let checked = validator.push(sse);
//!     findings.extend(checked.findings);
//!     if let Ok(event) = checked.event {
//!         turn.push(&event);
//!     }
//! }
//! findings.extend(validator.finish(Position::START));
//! assert!(findings.is_empty(), "{findings:?}");
//!
//! let turn = turn.finish();
//! assert_eq!(turn.response.status, Status::Completed);
//! assert_eq!(turn.response.output_text, "Hello");
//!
//! // A stream cut short is reported at its end.
//! let mut validator = Validator::new(ValidatorOptions::default());
//! assert!(validator.push(&stream[0]).findings.is_empty());
//! let end = validator.finish(Position { offset: 120, line: 3 });
//! assert_eq!(end[0].rule, Rule::MissingTerminal);
//! ```

use super::calls::OpenCalls;
use super::event::{EventKind, PayloadErrors, ResponseEvent, lenient_tool_name};
use super::rules::{Finding, Rule};
use crate::sse::Utf8Bytes;
use crate::sse::{self, Position};

/// How the [`Validator`] judges.
///
/// ```
/// use agent37_stream::protocol::machine::ValidatorOptions;
///
/// let options = ValidatorOptions::default().with_strict(true);
/// assert!(options.strict);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ValidatorOptions {
    /// Strict mode: `unknown-event` is an error instead of a warning.
    pub strict: bool,
}

impl ValidatorOptions {
    /// Sets strict mode.
    pub const fn with_strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }
}

/// Whether `id` has the documented form of a response id: 32 hex characters.
///
/// ```
/// use agent37_stream::protocol::machine::is_response_id;
///
/// assert!(is_response_id("c91d2a7e84f04b6f9a3d5e1c0b87f4a2"));
/// assert!(!is_response_id("resp_123"));
/// ```
pub fn is_response_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Where an event was seen, for messages about later events.
#[derive(Clone, Copy, Debug)]
struct Seen {
    index: usize,
    position: Position,
    kind: Option<EventKind>,
}

/// A `response.tool_call.started` not yet closed.
#[derive(Clone, Copy, Debug)]
struct OpenCall {
    index: usize,
    position: Position,
}

/// What [`Validator::push`] made of one event.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Checked {
    /// The typed event, or every reason its payload is broken (each one is
    /// also among `findings`, as a payload rule).
    pub event: Result<ResponseEvent, PayloadErrors>,
    /// The findings about this event, in the order the rules were applied;
    /// empty (no allocation) for a clean event.
    pub findings: Vec<Finding>,
}

/// A running digest of concatenated text: the same for any split of the
/// same text, so deltas can be compared with `output_text` without keeping
/// them. The bytes are mixed eight at a time as one stream (the bytes of a
/// split word wait in `pending`), plus the length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TextDigest {
    hash: u64,
    len: u64,
    /// The bytes of an unfinished word, little-endian; the rest are zero.
    pending: u64,
    /// How many bits of `pending` are bytes of the text (0 to 56).
    pending_bits: u32,
}

impl TextDigest {
    const fn new() -> Self {
        TextDigest {
            hash: 0x243f_6a88_85a3_08d3,
            len: 0,
            pending: 0,
            pending_bits: 0,
        }
    }

    fn mix(&mut self, word: u64) {
        let mixed = (self.hash ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.hash = mixed ^ (mixed >> 29);
    }

    fn update(&mut self, text: &str) {
        let bytes = text.as_bytes();
        self.len = self.len.saturating_add(bytes.len() as u64);
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut le = [0; 8];
            le.copy_from_slice(word);
            self.append(u64::from_le_bytes(le), 64);
        }
        let tail = words.remainder();
        if tail.is_empty() {
            return;
        }
        // The tail as the low bytes of a word, without a copy of variable
        // length: the last eight bytes shifted down, when there are eight.
        let word = match bytes.len().checked_sub(8) {
            Some(start) => {
                let mut le = [0; 8];
                le.copy_from_slice(&bytes[start..]);
                u64::from_le_bytes(le) >> (64 - 8 * tail.len())
            }
            None => tail
                .iter()
                .rev()
                .fold(0, |word, &byte| word << 8 | u64::from(byte)),
        };
        self.append(word, 8 * tail.len() as u32);
    }

    /// Appends the low `bits` bits of `word` (the rest zero) to the stream.
    fn append(&mut self, word: u64, bits: u32) {
        let have = self.pending_bits;
        let joined = self.pending | word << have;
        if have + bits < 64 {
            self.pending = joined;
            self.pending_bits = have + bits;
            return;
        }
        self.mix(joined);
        // What did not fit: the high `have` bits of `word`.
        self.pending = word.checked_shr(64 - have).unwrap_or(0);
        self.pending_bits = have + bits - 64;
    }

    fn of(text: &str) -> Self {
        let mut digest = TextDigest::new();
        digest.update(text);
        digest
    }
}

/// The ordering state machine of the contract ([ordering](super::contract#ordering)).
///
/// Feed it every dispatched event in order with [`push`](Self::push), which
/// parses the event and gives back the typed event with the findings it
/// made (an empty `Vec`, no allocation, when there are none), then call
/// [`finish`](Self::finish) at the end of the stream; see the
/// [module docs](self) for where each finding points.
///
/// Ordering follows event names, not payloads: a `response.completed` with a
/// broken payload still ends the stream, and a tool event whose payload is
/// broken still pairs by its `tool` field when that one is readable, so one
/// mistake gives one finding, not a cascade.
#[derive(Clone, Debug)]
pub struct Validator {
    options: ValidatorOptions,
    next_index: usize,
    created: Option<Seen>,
    terminal: Option<Seen>,
    open_calls: OpenCalls<OpenCall>,
    /// The output text's deltas so far (`Some` once one came), kept as a
    /// digest unless the caller folds the text itself.
    output_deltas: Option<TextDigest>,
    /// The caller folds the output text and hands it over at the terminal
    /// event (the pipeline does): no digest of it is kept here.
    text_folded_by_caller: bool,
    finished: bool,
    findings: Vec<Finding>,
}

impl Default for Validator {
    fn default() -> Self {
        Validator::new(ValidatorOptions::default())
    }
}

impl Validator {
    /// A validator at the start of a stream.
    pub fn new(options: ValidatorOptions) -> Self {
        Validator {
            options,
            next_index: 0,
            created: None,
            terminal: None,
            open_calls: OpenCalls::default(),
            output_deltas: None,
            text_folded_by_caller: false,
            finished: false,
            findings: Vec::new(),
        }
    }

    /// A validator whose caller folds the output text and hands it to
    /// [`push_folded`](Self::push_folded) with each event, so that it need
    /// not keep a digest of its own.
    pub(crate) fn with_text_folded_by_caller(mut self) -> Self {
        self.text_folded_by_caller = true;
        self
    }

    /// The options in force.
    pub fn options(&self) -> ValidatorOptions {
        self.options
    }

    /// How many events were pushed (the index the next one gets).
    pub fn events_seen(&self) -> usize {
        self.next_index
    }

    /// Whether a `response.created` was seen.
    pub fn has_created(&self) -> bool {
        self.created.is_some()
    }

    /// Whether the terminal event was seen: a client stops reading here.
    pub fn is_terminated(&self) -> bool {
        self.terminal.is_some()
    }

    /// The tools of the calls started and not yet closed, oldest first.
    pub fn open_tool_calls(&self) -> Vec<&str> {
        let mut open: Vec<_> = self.open_calls.iter().collect();
        open.sort_unstable_by_key(|(_, call)| call.index);
        open.into_iter().map(|(tool, _)| tool.as_str()).collect()
    }

    /// How many calls are started and not yet closed.
    pub fn open_tool_call_count(&self) -> usize {
        self.open_calls.len()
    }

    /// Checks one event: parses its payload (the one way events are parsed,
    /// [`ResponseEvent::from_sse`]) and applies every rule.
    pub fn push(&mut self, event: &sse::Event) -> Checked {
        self.push_folded(event, None)
    }

    /// [`push`](Self::push), with the output text folded so far by the
    /// caller, if it folds it (see
    /// [`with_text_folded_by_caller`](Self::with_text_folded_by_caller)).
    pub(crate) fn push_folded(&mut self, event: &sse::Event, folded: Option<&str>) -> Checked {
        let kind = EventKind::of_sse(event);
        let parsed = ResponseEvent::from_sse_of(kind, event);
        let findings = self.check(Source::of(event), kind, parsed.as_ref(), folded);
        Checked {
            event: parsed,
            findings,
        }
    }

    /// [`push`](Self::push) for an event already read (the pipeline reads
    /// a plain delta straight from its bytes): its findings.
    #[inline]
    pub(crate) fn push_read(
        &mut self,
        source: Source<'_>,
        kind: Option<EventKind>,
        parsed: Result<&ResponseEvent, &PayloadErrors>,
    ) -> Vec<Finding> {
        // A terminal event goes through `push_folded`, with the text.
        debug_assert!(!kind.is_some_and(EventKind::is_terminal));
        self.check(source, kind, parsed, None)
    }

    /// Counts an event that could not be read (an oversized one the decoder
    /// skipped), so later indices match the recording. Returns its index.
    ///
    /// Its kind is unknown, so no ordering rule is applied to it; if it was
    /// the first event, `missing-created` is not reported for the next one.
    pub fn skip_event(&mut self) -> usize {
        let index = self.next_index;
        self.next_index = self.next_index.saturating_add(1);
        index
    }

    /// Ends the stream: reports `missing-terminal` at `end` (where the
    /// recording ends) when no terminal event came. Later calls report nothing.
    pub fn finish(&mut self, end: Position) -> Vec<Finding> {
        let findings = match self.finished {
            true => Vec::new(),
            false => self.missing_terminal(end).into_iter().collect(),
        };
        self.finished = true;
        findings
    }

    /// The `missing-terminal` finding at `end` if the stream ended now,
    /// without ending it (a connection that drops may be resumed).
    pub fn missing_terminal(&self, end: Position) -> Option<Finding> {
        if self.terminal.is_some() {
            return None;
        }
        let message = if self.next_index == 0 {
            "the stream has no events: expected `response.created`, then a terminal event"
                .to_owned()
        } else {
            format!(
                "the stream ends after {} event(s) without a terminal event \
                 (`response.completed` or `response.failed`)",
                self.next_index
            )
        };
        let rule = Rule::MissingTerminal;
        Some(Finding::new(
            rule,
            rule.severity(self.options.strict),
            message,
            end,
            None,
        ))
    }

    fn emit(&mut self, rule: Rule, message: String, position: Position, index: Option<usize>) {
        let severity = rule.severity(self.options.strict);
        self.findings
            .push(Finding::new(rule, severity, message, position, index));
    }

    fn check(
        &mut self,
        event: Source<'_>,
        kind: Option<EventKind>,
        parsed: Result<&ResponseEvent, &PayloadErrors>,
        folded: Option<&str>,
    ) -> Vec<Finding> {
        self.findings.clear();
        let index = self.skip_event();
        let position = event.position;
        let name = || event.event_type();
        let at = Some(index);

        if event.name.is_none() {
            self.emit(
                Rule::UntypedEvent,
                "event has no `event:` name (it would be dispatched as `message`)".to_owned(),
                position,
                at,
            );
        } else if kind.is_none() {
            self.emit(
                Rule::UnknownEvent,
                format!("unknown event {}", quote(name())),
                position,
                at,
            );
        }
        if let Err(errors) = parsed {
            for error in errors {
                self.emit(error.rule(), format!("`{}`: {error}", name()), position, at);
            }
        }

        if let Some(terminal) = self.terminal {
            let message = format!(
                "{} after the terminal event `{}` (event {}, {})",
                quote(name()),
                terminal.kind.map_or("", EventKind::name),
                terminal.index,
                terminal.position
            );
            self.emit(Rule::EventAfterTerminal, message, position, at);
            return self.drain();
        }
        if index == 0 && kind != Some(EventKind::Created) {
            self.emit(
                Rule::MissingCreated,
                format!(
                    "the first event is {}, expected `response.created`",
                    quote(name())
                ),
                position,
                at,
            );
        }
        let seen = Seen {
            index,
            position,
            kind,
        };
        let payload = parsed.ok();
        let Some(kind) = kind else {
            return self.drain();
        };
        match kind {
            EventKind::Created => self.on_created(seen, payload),
            EventKind::OutputTextDelta => {
                if let Some(ResponseEvent::OutputTextDelta(delta)) = payload {
                    let digest = self.output_deltas.get_or_insert_with(TextDigest::new);
                    if !self.text_folded_by_caller {
                        digest.update(&delta.text);
                    }
                }
            }
            EventKind::ToolCallStarted => {
                if let Some(tool) = tool_name(event, payload) {
                    self.open_calls.open(tool, OpenCall { index, position });
                }
            }
            EventKind::ToolCallCompleted | EventKind::ToolCallFailed => {
                if let Some(tool) = tool_name(event, payload) {
                    self.on_tool_closed(seen, event.event_type(), &tool);
                }
            }
            EventKind::Completed | EventKind::Failed => self.on_terminal(seen, payload, folded),
            _ => {}
        }
        self.drain()
    }

    /// Hands the step's findings over. `Vec::new()` does not allocate, so a
    /// clean event costs nothing here.
    fn drain(&mut self) -> Vec<Finding> {
        std::mem::take(&mut self.findings)
    }

    fn on_created(&mut self, seen: Seen, payload: Option<&ResponseEvent>) {
        if let Some(first) = self.created {
            let message = format!(
                "second `response.created` (the first is event {}, {})",
                first.index, first.position
            );
            self.emit(
                Rule::DuplicateCreated,
                message,
                seen.position,
                Some(seen.index),
            );
            return;
        }
        self.created = Some(seen);
        if let Some(ResponseEvent::Created(created)) = payload {
            if !is_response_id(&created.id) {
                let message = format!(
                    "response id {} is not 32 hex characters",
                    quote(&created.id)
                );
                self.emit(Rule::IdFormat, message, seen.position, Some(seen.index));
            }
        }
    }

    fn on_tool_closed(&mut self, seen: Seen, name: &str, tool: &str) {
        // No call id: the oldest open call of the same tool is the one closed.
        match self.open_calls.close(tool) {
            Some(_) => {}
            None => {
                let message = format!(
                    "`{name}` for tool {} with no open `response.tool_call.started`",
                    quote(tool)
                );
                self.emit(
                    Rule::UnmatchedToolCall,
                    message,
                    seen.position,
                    Some(seen.index),
                );
            }
        }
    }

    fn on_terminal(&mut self, seen: Seen, payload: Option<&ResponseEvent>, folded: Option<&str>) {
        self.terminal = Some(seen);
        let terminal_name = seen.kind.map_or("", EventKind::name);
        let mut unclosed: Vec<_> = self.open_calls.drain().collect();
        unclosed.sort_unstable_by_key(|(_, call)| call.index);
        for (tool, call) in unclosed {
            let message = format!(
                "tool call {} is still open at the terminal event `{terminal_name}` (event {}, {})",
                quote(&tool),
                seen.index,
                seen.position
            );
            self.emit(
                Rule::UnclosedToolCall,
                message,
                call.position,
                Some(call.index),
            );
        }
        if let (Some(deltas), Some(ResponseEvent::Completed(completed))) =
            (self.output_deltas, payload)
        {
            let final_text = &completed.output_text;
            let compared = match (self.text_folded_by_caller, folded) {
                (false, _) => Some((TextDigest::of(final_text) != deltas, deltas.len)),
                (true, Some(folded)) => Some((folded != final_text.as_str(), folded.len() as u64)),
                // Nothing to compare with: the caller did not hand it over.
                (true, None) => None,
            };
            if let Some((true, deltas_len)) = compared {
                let message = format!(
                    "`output_text` ({} bytes) differs from the concatenated \
                     `response.output_text.delta` texts ({deltas_len} bytes)",
                    final_text.len()
                );
                self.emit(
                    Rule::OutputTextMismatch,
                    message,
                    seen.position,
                    Some(seen.index),
                );
            }
        }
    }
}

/// The `tool` of a tool event: from the typed payload, or read leniently
/// from a payload that is broken elsewhere.
fn tool_name(event: Source<'_>, payload: Option<&ResponseEvent>) -> Option<Utf8Bytes> {
    match payload {
        Some(ResponseEvent::ToolCallStarted(p)) => Some(p.tool.clone()),
        Some(ResponseEvent::ToolCallCompleted(p)) => Some(p.tool.clone()),
        Some(ResponseEvent::ToolCallFailed(p)) => Some(p.tool.clone()),
        _ => event.data.and_then(lenient_tool_name),
    }
}

/// What the rules read of an event besides its typed payload.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Source<'a> {
    /// Where its block starts.
    pub(crate) position: Position,
    /// Its `event:` name, `None` when it has none.
    pub(crate) name: Option<&'a str>,
    /// Its data, when at hand: a broken tool-call payload is searched for
    /// the tool's name. (A delta read straight from its bytes has none.)
    pub(crate) data: Option<&'a Utf8Bytes>,
}

impl<'a> Source<'a> {
    pub(crate) fn of(event: &'a sse::Event) -> Self {
        Source {
            position: event.position(),
            name: event.explicit_type(),
            data: Some(event.data_text()),
        }
    }

    /// The name an SSE client dispatches it under.
    fn event_type(&self) -> &'a str {
        self.name.unwrap_or("message")
    }
}

/// A string quoted for a message, cut to a readable length.
fn quote(text: &str) -> String {
    const MAX_CHARS: usize = 64;
    match text.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{:?}…", text.get(..cut).unwrap_or_default()),
        None => format!("{text:?}"),
    }
}

/// Checks a whole stream: every event in order, then the end at `end`.
///
/// ```
/// use agent37_stream::protocol::machine::{validate, ValidatorOptions};
/// use agent37_stream::protocol::rules::Rule;
/// use agent37_stream::sse::{Event, Position};
///
/// let events = [Event::new("response.output_text.delta", r#"{"text":"hi"}"#)];
/// let findings = validate(&events, Position::START, ValidatorOptions::default());
/// let rules: Vec<Rule> = findings.iter().map(|f| f.rule).collect();
/// assert_eq!(rules, [Rule::MissingCreated, Rule::MissingTerminal]);
/// ```
pub fn validate<'e>(
    events: impl IntoIterator<Item = &'e sse::Event>,
    end: Position,
    options: ValidatorOptions,
) -> Vec<Finding> {
    let mut validator = Validator::new(options);
    let mut findings = Vec::new();
    for event in events {
        findings.extend(validator.push(event).findings);
    }
    findings.extend(validator.finish(end));
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::rules::{Severity, UnknownRule};

    const ID: &str = "c91d2a7e84f04b6f9a3d5e1c0b87f4a2";

    fn created() -> sse::Event {
        created_with_id(ID)
    }

    fn created_with_id(id: &str) -> sse::Event {
        sse::Event::new(
            "response.created",
            format!(r#"{{"id":"{id}","instance_id":"inst","session_id":"sess"}}"#),
        )
    }

    fn delta(text: &str) -> sse::Event {
        sse::Event::new(
            "response.output_text.delta",
            format!(r#"{{"text":"{text}"}}"#),
        )
    }

    fn started(tool: &str) -> sse::Event {
        sse::Event::new(
            "response.tool_call.started",
            format!(r#"{{"tool":"{tool}","label":"doing {tool}"}}"#),
        )
    }

    fn tool_done(tool: &str) -> sse::Event {
        sse::Event::new(
            "response.tool_call.completed",
            format!(r#"{{"tool":"{tool}","duration_ms":5}}"#),
        )
    }

    fn tool_failed(tool: &str) -> sse::Event {
        sse::Event::new(
            "response.tool_call.failed",
            format!(r#"{{"tool":"{tool}","error":"boom"}}"#),
        )
    }

    fn completed(text: &str) -> sse::Event {
        sse::Event::new(
            "response.completed",
            format!(r#"{{"output_text":"{text}","usage":null}}"#),
        )
    }

    fn failed() -> sse::Event {
        sse::Event::new(
            "response.failed",
            r#"{"error":{"code":"internal","message":"boom"}}"#,
        )
    }

    /// Places events one line apart so positions tell them apart.
    fn placed(events: Vec<sse::Event>) -> Vec<sse::Event> {
        events
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                e.with_position(Position {
                    offset: i as u64 * 100,
                    line: i as u64 * 3 + 1,
                })
            })
            .collect()
    }

    fn run(events: Vec<sse::Event>) -> Vec<Finding> {
        run_with(events, ValidatorOptions::default())
    }

    fn run_with(events: Vec<sse::Event>, options: ValidatorOptions) -> Vec<Finding> {
        validate(
            &placed(events),
            Position {
                offset: 9999,
                line: 999,
            },
            options,
        )
    }

    fn rules(findings: &[Finding]) -> Vec<(Rule, Option<usize>)> {
        findings.iter().map(|f| (f.rule, f.event_index)).collect()
    }

    #[test]
    fn rule_codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for &rule in Rule::ALL {
            assert!(seen.insert(rule.as_str()));
            assert_eq!(rule.as_str().parse::<Rule>().unwrap(), rule);
            assert_eq!(rule.to_string(), rule.as_str());
            assert!(!rule.description().is_empty());
            assert_eq!(
                serde_json::to_string(&rule).unwrap(),
                format!("\"{}\"", rule.as_str())
            );
        }
        assert_eq!(
            "no-such-rule".parse::<Rule>(),
            Err(UnknownRule("no-such-rule".into()))
        );
    }

    #[test]
    fn severities_match_the_table() {
        let warnings: Vec<Rule> = Rule::ALL
            .iter()
            .copied()
            .filter(|r| r.default_severity() == Severity::Warning)
            .collect();
        assert_eq!(
            warnings,
            [
                Rule::UnknownEvent,
                Rule::UnclosedToolCall,
                Rule::OutputTextMismatch,
                Rule::IdFormat,
                Rule::IncompleteEvent
            ]
        );
        for &rule in Rule::ALL {
            let strict = rule.severity(true);
            if rule == Rule::UnknownEvent {
                assert_eq!(strict, Severity::Error);
            } else {
                assert_eq!(strict, rule.default_severity());
            }
        }
        assert!(Severity::Warning < Severity::Error);
        assert_eq!("error".parse::<Severity>(), Ok(Severity::Error));
        assert!("fatal".parse::<Severity>().is_err());
    }

    #[test]
    fn valid_stream_has_no_findings() {
        let findings = run(vec![
            created(),
            delta("Hel"),
            started("browser"),
            sse::Event::new("response.reasoning.delta", r#"{"text":"hmm"}"#),
            tool_done("browser"),
            delta("lo"),
            completed("Hello"),
        ]);
        assert!(findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn failed_terminal_is_valid() {
        assert!(run(vec![created(), delta("x"), failed()]).is_empty());
    }

    #[test]
    fn missing_created_on_the_first_event_only() {
        let findings = run(vec![delta("a"), delta("b"), completed("ab")]);
        assert_eq!(rules(&findings), [(Rule::MissingCreated, Some(0))]);
        assert_eq!(findings[0].position, Position { offset: 0, line: 1 });
        assert_eq!(findings[0].severity, Severity::Error);
    }

    #[test]
    fn late_created_is_not_a_duplicate() {
        let findings = run(vec![delta("a"), created(), completed("a")]);
        assert_eq!(rules(&findings), [(Rule::MissingCreated, Some(0))]);
    }

    #[test]
    fn duplicate_created_points_at_the_second() {
        let findings = run(vec![created(), created(), completed("")]);
        assert_eq!(rules(&findings), [(Rule::DuplicateCreated, Some(1))]);
        assert_eq!(findings[0].position.line, 4);
        assert!(findings[0].message.contains("event 0"));
    }

    #[test]
    fn events_after_terminal_each_reported() {
        let findings = run(vec![created(), completed(""), delta("x"), failed()]);
        assert_eq!(
            rules(&findings),
            [
                (Rule::EventAfterTerminal, Some(2)),
                (Rule::EventAfterTerminal, Some(3))
            ]
        );
        assert!(findings[1].message.contains("response.completed"));
    }

    #[test]
    fn missing_terminal_points_at_the_end() {
        let findings = run(vec![created(), delta("x")]);
        assert_eq!(rules(&findings), [(Rule::MissingTerminal, None)]);
        assert_eq!(
            findings[0].position,
            Position {
                offset: 9999,
                line: 999
            }
        );
        let empty = run(vec![]);
        assert_eq!(rules(&empty), [(Rule::MissingTerminal, None)]);
        assert!(empty[0].message.contains("no events"));
    }

    #[test]
    fn finish_reports_once() {
        let mut validator = Validator::default();
        assert_eq!(validator.finish(Position::START).len(), 1);
        assert!(validator.finish(Position::START).is_empty());
    }

    #[test]
    fn tool_calls_pair_oldest_first_and_may_overlap() {
        let findings = run(vec![
            created(),
            started("a"),
            started("b"),
            started("a"),
            tool_done("a"),
            tool_failed("b"),
            tool_done("a"),
            completed(""),
        ]);
        assert!(findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn unmatched_tool_call() {
        let findings = run(vec![
            created(),
            started("a"),
            tool_done("b"),
            tool_done("a"),
            tool_failed("a"),
            completed(""),
        ]);
        assert_eq!(
            rules(&findings),
            [
                (Rule::UnmatchedToolCall, Some(2)),
                (Rule::UnmatchedToolCall, Some(4))
            ]
        );
        assert!(findings[0].message.contains("\"b\""));
    }

    #[test]
    fn unclosed_tool_call_points_at_the_start() {
        let findings = run(vec![
            created(),
            started("a"),
            started("b"),
            tool_done("a"),
            started("c"),
            completed(""),
        ]);
        assert_eq!(
            rules(&findings),
            [
                (Rule::UnclosedToolCall, Some(2)),
                (Rule::UnclosedToolCall, Some(4))
            ]
        );
        assert_eq!(findings[0].severity, Severity::Warning);
        assert_eq!(findings[0].position.line, 7);
        assert!(findings[0].message.contains("event 5"));
    }

    #[test]
    fn no_unclosed_when_no_terminal() {
        let findings = run(vec![created(), started("a")]);
        assert_eq!(rules(&findings), [(Rule::MissingTerminal, None)]);
    }

    #[test]
    fn output_text_mismatch_only_with_deltas() {
        let findings = run(vec![
            created(),
            delta("Hel"),
            delta("lo"),
            completed("Help"),
        ]);
        assert_eq!(rules(&findings), [(Rule::OutputTextMismatch, Some(3))]);
        assert_eq!(findings[0].severity, Severity::Warning);
        // No deltas: nothing to compare.
        assert!(run(vec![created(), completed("anything")]).is_empty());
        // Reasoning deltas do not count.
        let reasoning = sse::Event::new("response.reasoning.delta", r#"{"text":"x"}"#);
        assert!(run(vec![created(), reasoning, completed("y")]).is_empty());
        // Same length, different text.
        let findings = run(vec![created(), delta("ab"), completed("ba")]);
        assert_eq!(rules(&findings), [(Rule::OutputTextMismatch, Some(2))]);
        // Empty deltas compare with empty output.
        assert!(run(vec![created(), delta(""), completed("")]).is_empty());
    }

    #[test]
    fn id_format_warning() {
        for bad in [
            "resp_1",
            "C91D2A7E84F04B6F9A3D5E1C0B87F4A",
            "g91d2a7e84f04b6f9a3d5e1c0b87f4a2",
        ] {
            let findings = run(vec![created_with_id(bad), completed("")]);
            assert_eq!(rules(&findings), [(Rule::IdFormat, Some(0))], "{bad}");
            assert_eq!(findings[0].severity, Severity::Warning);
        }
        let upper = "C91D2A7E84F04B6F9A3D5E1C0B87F4A2";
        assert!(run(vec![created_with_id(upper), completed("")]).is_empty());
    }

    #[test]
    fn untyped_event() {
        let untyped = sse::Event::new("", r#"{"text":"x"}"#);
        let findings = run(vec![created(), untyped, completed("")]);
        assert_eq!(rules(&findings), [(Rule::UntypedEvent, Some(1))]);
        // An untyped first event is also a missing `response.created`.
        let untyped = sse::Event::new("", r#"{"id":"x"}"#);
        let findings = run(vec![untyped, completed("")]);
        assert_eq!(
            rules(&findings),
            [
                (Rule::UntypedEvent, Some(0)),
                (Rule::MissingCreated, Some(0))
            ]
        );
    }

    #[test]
    fn unknown_event_warning_or_strict_error() {
        let unknown = || sse::Event::new("response.queued", "whatever");
        let findings = run(vec![created(), unknown(), completed("")]);
        assert_eq!(rules(&findings), [(Rule::UnknownEvent, Some(1))]);
        assert_eq!(findings[0].severity, Severity::Warning);
        let strict = ValidatorOptions::default().with_strict(true);
        let findings = run_with(vec![created(), unknown(), completed("")], strict);
        assert_eq!(findings[0].severity, Severity::Error);
        // An explicit `message` is unknown, not untyped.
        let message = sse::Event::new("message", "{}");
        let findings = run(vec![created(), message, completed("")]);
        assert_eq!(rules(&findings), [(Rule::UnknownEvent, Some(1))]);
    }

    #[test]
    fn payload_rules_carry_the_event() {
        for (data, rule) in [
            ("nope", Rule::InvalidJson),
            ("[]", Rule::NotAnObject),
            ("{}", Rule::MissingField),
            (r#"{"text":1}"#, Rule::WrongType),
        ] {
            let bad = sse::Event::new("response.output_text.delta", data);
            let findings = run(vec![created(), bad, completed("")]);
            assert_eq!(rules(&findings), [(rule, Some(1))], "{data}");
            assert_eq!(findings[0].position.line, 4);
            assert!(findings[0].message.contains("response.output_text.delta"));
        }
        let bad = sse::Event::new(
            "response.completed",
            r#"{"output_text":"","usage":{"input_tokens":-1,"output_tokens":0}}"#,
        );
        let findings = run(vec![created(), bad]);
        assert_eq!(rules(&findings), [(Rule::InvalidValue, Some(1))]);
        assert!(findings[0].message.contains("usage.input_tokens"));
    }

    #[test]
    fn broken_terminal_still_terminates() {
        let bad = sse::Event::new("response.completed", "{");
        let findings = run(vec![created(), bad, delta("x")]);
        assert_eq!(
            rules(&findings),
            [
                (Rule::InvalidJson, Some(1)),
                (Rule::EventAfterTerminal, Some(2))
            ]
        );
    }

    #[test]
    fn broken_tool_payload_still_pairs() {
        let bad_done = sse::Event::new(
            "response.tool_call.completed",
            r#"{"tool":"a","duration_ms":-4}"#,
        );
        let bad_start = sse::Event::new("response.tool_call.started", r#"{"tool":"b"}"#);
        let findings = run(vec![
            created(),
            started("a"),
            bad_done,
            bad_start,
            tool_done("b"),
            completed(""),
        ]);
        assert_eq!(
            rules(&findings),
            [(Rule::InvalidValue, Some(2)), (Rule::MissingField, Some(3))]
        );
    }

    #[test]
    fn push_returns_the_typed_event() {
        let mut validator = Validator::default();
        let checked = validator.push(&created());
        assert!(checked.findings.is_empty());
        assert!(matches!(checked.event, Ok(ResponseEvent::Created(_))));
        assert!(validator.has_created());
        assert_eq!(validator.events_seen(), 1);
        let checked = validator.push(&started("t"));
        assert!(checked.findings.is_empty());
        assert_eq!(validator.open_tool_calls(), ["t"]);
        assert_eq!(validator.open_tool_call_count(), 1);
    }

    #[test]
    fn every_payload_error_of_an_event_is_a_finding() {
        let mut validator = Validator::default();
        let bad = sse::Event::new(
            "response.created",
            r#"{"id":"c91d2a7e84f04b6f9a3d5e1c0b87f4a2","instance_id":7}"#,
        );
        let checked = validator.push(&bad);
        let rules: Vec<Rule> = checked.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, [Rule::WrongType, Rule::MissingField]);
        assert_eq!(checked.event.unwrap_err().len(), 2);
    }

    #[test]
    fn tool_calls_close_in_constant_time_per_event() {
        // N starts, then N closes in reverse name order: each close finds its
        // tool's queue directly (a linear search made this quadratic).
        const N: usize = 20_000;
        let mut validator = Validator::default();
        assert!(validator.push(&created()).findings.is_empty());
        for i in 0..N {
            assert!(
                validator
                    .push(&started(&format!("tool-{i}")))
                    .findings
                    .is_empty()
            );
        }
        for i in (0..N).rev() {
            assert!(
                validator
                    .push(&tool_done(&format!("tool-{i}")))
                    .findings
                    .is_empty()
            );
        }
        assert_eq!(validator.open_tool_call_count(), 0);
        // The same tool twice: the oldest closes first; unclosed ones are
        // reported oldest first at the terminal event.
        for tool in ["a", "b", "a"] {
            validator.push(&started(tool));
        }
        assert!(validator.push(&tool_done("a")).findings.is_empty());
        let end = validator.push(&completed(""));
        let unclosed: Vec<_> = end
            .findings
            .iter()
            .filter(|f| f.rule == Rule::UnclosedToolCall)
            .map(|f| f.event_index.unwrap())
            .collect();
        assert_eq!(unclosed, [2 * N + 2, 2 * N + 3]);
    }

    #[test]
    fn skipped_event_keeps_indices_aligned() {
        let mut validator = Validator::default();
        assert_eq!(validator.skip_event(), 0);
        let findings = validator.push(&delta("x")).findings;
        assert!(findings.is_empty(), "{findings:?}");
        let findings = validator.push(&failed()).findings;
        assert!(findings.is_empty());
        assert_eq!(validator.events_seen(), 3);
    }

    #[test]
    fn sse_level_constructors() {
        let at = Position {
            offset: 10,
            line: 2,
        };
        let finding = Finding::incomplete_event(at);
        assert_eq!(
            (
                finding.rule,
                finding.severity,
                finding.position,
                finding.event_index
            ),
            (Rule::IncompleteEvent, Severity::Warning, at, None)
        );
        let finding = Finding::event_too_large(64, at, Some(3));
        assert_eq!(finding.rule, Rule::EventTooLarge);
        assert!(finding.is_error());
        assert!(finding.message.contains("64"));
        let error = sse::DecodeError::EventTooLarge {
            limit: 8,
            position: at,
        };
        assert_eq!(
            Finding::from_decode_error(&error, None).map(|f| f.rule),
            Some(Rule::EventTooLarge)
        );
        let io = sse::DecodeError::Io(std::io::Error::other("x"));
        assert_eq!(Finding::from_decode_error(&io, None), None);
        assert_eq!(
            Finding::incomplete_event(at).to_string(),
            "warning[incomplete-event] at line 2 (byte 10): the stream ends inside an event \
             (no blank line after it): its bytes are discarded"
        );
    }

    #[test]
    fn long_names_are_cut_in_messages() {
        let name = "x".repeat(10_000);
        let findings = run(vec![
            created(),
            sse::Event::new(name.as_str(), "{}"),
            completed(""),
        ]);
        assert!(findings[0].message.len() < 200);
    }

    #[test]
    fn text_digest_ignores_splits() {
        let mut split = TextDigest::new();
        split.update("héllo ");
        split.update("");
        split.update("wörld");
        assert_eq!(split, TextDigest::of("héllo wörld"));
        assert_ne!(TextDigest::of("ab"), TextDigest::of("ba"));
        assert_ne!(TextDigest::of("abcdefgh"), TextDigest::of("abcdefgh\0"));
        let text = "0123456789abcdefghijklmnopq";
        for i in 0..=text.len() {
            for j in i..=text.len() {
                let mut digest = TextDigest::new();
                digest.update(&text[..i]);
                digest.update(&text[i..j]);
                digest.update(&text[j..]);
                assert_eq!(digest, TextDigest::of(text), "{i} {j}");
            }
        }
    }

    #[test]
    fn no_allocation_for_a_clean_event() {
        let mut validator = Validator::default();
        let first = created();
        assert!(validator.push(&first).findings.is_empty());
        for _ in 0..100 {
            let findings = validator.push(&delta("x")).findings;
            assert_eq!(findings.capacity(), 0);
        }
    }
}
