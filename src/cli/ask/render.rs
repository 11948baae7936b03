//! What `ask` shows: the turn live, its usage, or the folded turn as JSON.
//!
//! [`Renderer::event`] is the one place that reads events' fields.

use std::io::{self, Write};

use agent37_stream::protocol::event::ResponseEvent;
use agent37_stream::protocol::fold::Turn;
use agent37_stream::protocol::response::Response;
use serde_json::Value;

/// Colours, or none: on a terminal, unless `NO_COLOR` is set (no-color.org).
#[derive(Clone, Copy, Debug)]
pub(super) struct Style {
    colour: bool,
}

const DIM: &str = "\x1b[2m";
const CYAN: &str = "\x1b[36m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

impl Style {
    pub(super) fn detect(terminal: bool) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        Style {
            colour: terminal && !no_color,
        }
    }

    fn paint(self, colour: &str, text: &str) -> String {
        if self.colour {
            format!("{colour}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }

    /// A retry or reconnection, for stderr.
    pub(super) fn notice(self, text: &str) -> String {
        self.paint(YELLOW, &format!("agent37-stream ask: {text}"))
    }

    /// The last line of a human report.
    pub(super) fn usage(self, response: &Response) -> String {
        let usage = match &response.usage {
            Some(usage) => {
                let cost = usage
                    .cost()
                    .map_or(String::new(), |cost| format!(", ${cost}"));
                format!(
                    "{} input tokens, {} output tokens{cost}",
                    usage.input_tokens, usage.output_tokens
                )
            }
            None => "no usage reported".to_owned(),
        };
        self.paint(
            BOLD,
            &format!(
                "[{}: {usage}; session {}]",
                response.status, response.session_id
            ),
        )
    }
}

/// Which kind of streamed text was written last, to start a new paragraph
/// when it changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Reasoning,
    Answer,
}

/// Writes a turn's events as they come.
pub(super) struct Renderer<W> {
    out: W,
    style: Style,
    section: Option<Section>,
}

impl<W: Write> Renderer<W> {
    pub(super) fn new(out: W, style: Style) -> Self {
        Renderer {
            out,
            style,
            section: None,
        }
    }

    /// Renders one event (string fields are only ever read as `&str`).
    pub(super) fn event(&mut self, event: &ResponseEvent) -> io::Result<()> {
        match event {
            ResponseEvent::ReasoningDelta(delta) => self.text(Section::Reasoning, &delta.text),
            ResponseEvent::OutputTextDelta(delta) => self.text(Section::Answer, &delta.text),
            ResponseEvent::ToolCallStarted(call) => {
                self.line(CYAN, &format!("▸ {}: {}", call.tool, call.label))
            }
            ResponseEvent::ToolCallCompleted(call) => {
                self.line(CYAN, &format!("✓ {} ({} ms)", call.tool, call.duration_ms))
            }
            ResponseEvent::ToolCallFailed(call) => {
                let why = match call.error.message() {
                    Some(message) => message.to_owned(),
                    None => serde_json::to_string(&call.error).unwrap_or_default(),
                };
                self.line(RED, &format!("✗ {}: {why}", call.tool))
            }
            ResponseEvent::Failed(failed) => {
                self.line(RED, &format!("turn failed: {}", failed.error))
            }
            ResponseEvent::Unknown(unknown) => {
                self.line(DIM, &format!("(unknown event {})", unknown.name))
            }
            // `created` and `completed` add nothing the end does not say.
            _ => Ok(()),
        }
    }

    fn text(&mut self, section: Section, text: &str) -> io::Result<()> {
        if self.section != Some(section) {
            self.pause()?;
            self.section = Some(section);
        }
        let painted = match section {
            Section::Reasoning => self.style.paint(DIM, text),
            Section::Answer => text.to_owned(),
        };
        self.out.write_all(painted.as_bytes())?;
        self.out.flush()
    }

    fn line(&mut self, colour: &str, line: &str) -> io::Result<()> {
        self.pause()?;
        writeln!(self.out, "{}", self.style.paint(colour, line))?;
        self.out.flush()
    }

    /// Ends the streamed text's line, if one is open.
    pub(super) fn pause(&mut self) -> io::Result<()> {
        if self.section.take().is_some() {
            writeln!(self.out)?;
        }
        self.out.flush()
    }
}

/// The folded turn as one JSON document: `Turn`'s own serde form.
pub(super) fn turn_json(turn: &Turn) -> Value {
    // Serializing a turn cannot fail: every map key is a string.
    serde_json::to_value(turn).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(events: &[&str]) -> String {
        let mut out = Vec::new();
        let mut renderer = Renderer::new(&mut out, Style { colour: false });
        for data in events {
            let (name, payload) = data.split_once(' ').unwrap();
            let event =
                agent37_stream::protocol::event::ResponseEvent::parse(name, payload).unwrap();
            renderer.event(&event).unwrap();
        }
        renderer.pause().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn sections_start_on_a_new_line_and_tools_get_their_own() {
        let text = render(&[
            r#"response.reasoning.delta {"text":"think"}"#,
            r#"response.reasoning.delta {"text":"ing"}"#,
            r#"response.tool_call.started {"tool":"web","label":"Searching"}"#,
            r#"response.output_text.delta {"text":"Hi"}"#,
            r#"response.tool_call.failed {"tool":"web","error":{"message":"down"}}"#,
        ]);
        assert_eq!(text, "thinking\n▸ web: Searching\nHi\n✗ web: down\n");
    }

    #[test]
    fn colour_only_on_a_terminal() {
        assert!(Style { colour: true }.paint(RED, "x").contains("\x1b[31m"));
        assert_eq!(Style::detect(false).paint(RED, "x"), "x");
    }
}
