//! The contract's event names: [`EventKind`] and the role each plays.

use serde::{Deserialize, Serialize};

use crate::protocol::wire::wire_enum;
use crate::sse;

/// The role an event plays in the ordering rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum EventClass {
    /// `response.created`: first, exactly once.
    Start,
    /// A reasoning or output text chunk.
    Delta,
    /// A tool call starting, completing or failing.
    Tool,
    /// `response.completed` or `response.failed`: exactly once, last.
    Terminal,
}

wire_enum! {
    /// Which of the contract's events a name denotes, without its payload.
    ///
    /// The ordering rules depend only on this, so a checker can apply them
    /// even to an event whose payload is broken. A name outside the table
    /// has no kind (`None`).
    ///
    /// ```
    /// use agent37_stream::protocol::event::{EventClass, EventKind};
    ///
    /// let kind = EventKind::from_name("response.completed");
    /// assert_eq!(kind, Some(EventKind::Completed));
    /// assert_eq!(EventKind::Completed.class(), EventClass::Terminal);
    /// assert_eq!(EventKind::from_name("response.queued"), None);
    /// ```
    #[non_exhaustive]
    pub enum EventKind {
        error UnknownEventName("an event name of the contract");
        [info: EventClass]
        Created = "response.created", "the turn started" => EventClass::Start;
        ReasoningDelta = "response.reasoning.delta", "a chunk of the agent's thinking" => EventClass::Delta;
        OutputTextDelta = "response.output_text.delta", "a chunk of the visible answer" => EventClass::Delta;
        ToolCallStarted = "response.tool_call.started", "the agent called a tool" => EventClass::Tool;
        ToolCallCompleted = "response.tool_call.completed", "a tool call returned" => EventClass::Tool;
        ToolCallFailed = "response.tool_call.failed", "a tool call failed; the run continues" => EventClass::Tool;
        Completed = "response.completed", "the turn ended with its answer" => EventClass::Terminal;
        Failed = "response.failed", "the turn ended on an error" => EventClass::Terminal;
    }
}

impl EventKind {
    /// The kind an event name denotes, `None` outside the table.
    #[inline]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::from_wire(name)
    }

    /// The kind of an SSE event: `None` when it has no `event:` name or one
    /// outside the table.
    #[inline]
    pub fn of_sse(event: &sse::Event) -> Option<Self> {
        event.explicit_type().and_then(Self::from_wire)
    }

    /// The event name.
    pub const fn name(self) -> &'static str {
        self.as_str()
    }

    /// The kind's role in the ordering rules.
    pub const fn class(self) -> EventClass {
        *self.info()
    }

    /// Whether the kind ends the stream (`response.completed` or `response.failed`).
    pub const fn is_terminal(self) -> bool {
        matches!(self.class(), EventClass::Terminal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips_and_only_explicit_names_count() {
        for &kind in EventKind::ALL {
            assert_eq!(EventKind::from_name(kind.name()), Some(kind));
            let event = sse::Event::new(kind.name(), "{}");
            assert_eq!(EventKind::of_sse(&event), Some(kind));
        }
        assert_eq!(EventKind::ALL.len(), 8);
        assert_eq!(EventKind::from_name("message"), None);
        assert_eq!(EventKind::of_sse(&sse::Event::new("", "{}")), None);
        assert_eq!(EventKind::of_sse(&sse::Event::new("message", "{}")), None);
        let terminal: Vec<_> = EventKind::ALL.iter().filter(|k| k.is_terminal()).collect();
        assert_eq!(terminal, [&EventKind::Completed, &EventKind::Failed]);
    }
}
