//! The findings vocabulary: [`Rule`] codes, their [`Severity`], and the
//! [`Finding`] that reports one.
//!
//! Both vocabularies are written once, as tables (see the contract's rule
//! table in the [`protocol`](super) module docs). Everything above this
//! module (the ordering machine, the pipeline, the checker) imports it; it
//! imports nothing of theirs.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::wire::wire_enum;
use crate::sse::{self, Position};

/// A rule's further columns in the contract's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuleInfo {
    /// The severity outside strict mode.
    pub severity: Severity,
}

const fn error() -> RuleInfo {
    RuleInfo {
        severity: Severity::Error,
    }
}

const fn warning() -> RuleInfo {
    RuleInfo {
        severity: Severity::Warning,
    }
}

wire_enum! {
    /// The stable rule codes a checker reports (the contract's rule table).
    ///
    /// ```
    /// use agent37_stream::protocol::rules::{Rule, Severity};
    ///
    /// let rule: Rule = "unknown-event".parse().unwrap();
    /// assert_eq!(rule, Rule::UnknownEvent);
    /// assert_eq!(rule.to_string(), "unknown-event");
    /// assert_eq!(rule.severity(false), Severity::Warning);
    /// assert_eq!(rule.severity(true), Severity::Error);
    /// assert!("no-such-rule".parse::<Rule>().is_err());
    /// ```
    #[non_exhaustive]
    pub enum Rule {
        error UnknownRule("a rule code");
        [info: RuleInfo]
        UntypedEvent = "untyped-event", "an event with no `event:` name" => error();
        UnknownEvent = "unknown-event", "an event name outside the table (an error in strict mode)" => warning();
        InvalidJson = "invalid-json", "`data` is not JSON" => error();
        NotAnObject = "not-an-object", "`data` is JSON but not an object" => error();
        MissingField = "missing-field", "a required payload field is absent" => error();
        WrongType = "wrong-type", "a payload field has the wrong JSON type" => error();
        InvalidValue = "invalid-value", "right type, impossible value (negative tokens, …)" => error();
        MissingCreated = "missing-created", "the first event is not `response.created`" => error();
        DuplicateCreated = "duplicate-created", "a second `response.created`" => error();
        EventAfterTerminal = "event-after-terminal", "any event after the terminal event" => error();
        MissingTerminal = "missing-terminal", "the stream ends with no terminal event" => error();
        UnmatchedToolCall = "unmatched-tool-call", "a tool `completed`/`failed` with no open `started`" => error();
        UnclosedToolCall = "unclosed-tool-call", "a `started` still open at the terminal event" => warning();
        OutputTextMismatch = "output-text-mismatch", "`response.completed.output_text` differs from the concatenated `output_text` deltas (only when there were deltas)" => warning();
        IdFormat = "id-format", "a response id that is not 32 hex characters" => warning();
        IncompleteEvent = "incomplete-event", "bytes after the last blank line (discarded by SSE rules)" => warning();
        EventTooLarge = "event-too-large", "one event exceeds the configured size limit" => error();
        ReplayDiverged = "replay-diverged", "a replayed prefix differs from what was received before" => error();
    }
}

impl Rule {
    /// The severity outside strict mode.
    pub const fn default_severity(self) -> Severity {
        self.info().severity
    }

    /// The severity in force: strict mode makes `unknown-event` an error.
    pub const fn severity(self, strict: bool) -> Severity {
        match self {
            Rule::UnknownEvent if strict => Severity::Error,
            _ => self.default_severity(),
        }
    }

    /// Whether the rule is about one event's payload (its JSON): the rules
    /// a [`PayloadError`](super::event::PayloadError) maps to.
    pub const fn is_payload_rule(self) -> bool {
        matches!(
            self,
            Rule::InvalidJson
                | Rule::NotAnObject
                | Rule::MissingField
                | Rule::WrongType
                | Rule::InvalidValue
        )
    }
}

wire_enum! {
    /// How bad a finding is. Orders `Warning < Error`.
    pub enum Severity {
        error UnknownSeverity("a severity (`warning` or `error`)");
        Warning = "warning", "the stream is usable, but something is off";
        Error = "error", "the stream breaks the contract";
    }
}

/// One broken rule: what, how bad, and where.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Finding {
    /// The rule code.
    pub rule: Rule,
    /// The severity in force (strict mode may raise it).
    pub severity: Severity,
    /// What happened, for a human, naming events and fields.
    pub message: String,
    /// Where the event concerned starts (its first field line), or the end of
    /// the stream for stream-level findings.
    pub position: Position,
    /// The 0-based index of the event concerned; `None` for stream-level findings.
    pub event_index: Option<usize>,
}

impl Finding {
    /// A finding with an explicit severity.
    pub fn new(
        rule: Rule,
        severity: Severity,
        message: impl Into<String>,
        position: Position,
        event_index: Option<usize>,
    ) -> Self {
        Finding {
            rule,
            severity,
            message: message.into(),
            position,
            event_index,
        }
    }

    /// A finding with the rule's [default severity](Rule::default_severity).
    pub fn with_default_severity(
        rule: Rule,
        message: impl Into<String>,
        position: Position,
        event_index: Option<usize>,
    ) -> Self {
        Finding::new(
            rule,
            rule.default_severity(),
            message,
            position,
            event_index,
        )
    }

    /// `incomplete-event`: bytes after the last blank line were discarded;
    /// `position` is where they start.
    pub fn incomplete_event(position: Position) -> Self {
        Finding::with_default_severity(
            Rule::IncompleteEvent,
            "the stream ends inside an event (no blank line after it): its bytes are discarded",
            position,
            None,
        )
    }

    /// `event-too-large`: the event starting at `position` is over `limit` bytes.
    pub fn event_too_large(limit: usize, position: Position, event_index: Option<usize>) -> Self {
        Finding::with_default_severity(
            Rule::EventTooLarge,
            format!("event exceeds the limit of {limit} bytes"),
            position,
            event_index,
        )
    }

    /// The finding for a decoder error about the input (`event-too-large` for
    /// an oversized event or line); `None` for I/O errors, which are not
    /// about the stream's content.
    pub fn from_decode_error(error: &sse::DecodeError, event_index: Option<usize>) -> Option<Self> {
        match error {
            sse::DecodeError::EventTooLarge { limit, position } => {
                Some(Finding::event_too_large(*limit, *position, event_index))
            }
            sse::DecodeError::LineTooLarge { limit, position } => {
                Some(Finding::with_default_severity(
                    Rule::EventTooLarge,
                    format!("a line of this event exceeds the limit of {limit} bytes"),
                    *position,
                    event_index,
                ))
            }
            _ => None,
        }
    }

    /// Whether the finding is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}] at {}", self.severity, self.rule, self.position)?;
        if let Some(index) = self.event_index {
            write!(f, ", event {index}")?;
        }
        write!(f, ": {}", self.message)
    }
}
