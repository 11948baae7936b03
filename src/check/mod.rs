//! Conformance checking of recorded streams (`PROTOCOL.md` §5–§6).
//!
//! A recording is the raw bytes of one streamed turn. [`check_bytes`] decodes
//! it with the [SSE layer](crate::sse) — as a network client would, in chunks
//! when [`CheckOptions::chunk_size`] is set — runs the ordering
//! [`Validator`] over the events, and adds what only the framing shows: an
//! unterminated last event (`incomplete-event`) and events over the size
//! limit (`event-too-large`). The findings never depend on the chunk size.
//!
//! The [`Report`] then becomes the JSON entry of `check --format json`
//! ([`Report::entry`], [`json`]) or compiler-style text ([`human`]).
//!
//! ```
//! use agent37_stream::check::{CheckOptions, Source, check_bytes, human};
//!
//! let recording = b"event: response.reasoning.delta\ndata: {\"text\":\"hm\"}\n\n";
//! let report = check_bytes(recording, &CheckOptions::default());
//! assert_eq!(report.events, 1);
//! let codes: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
//! assert_eq!(codes, ["missing-created", "missing-terminal"]);
//!
//! let source = Source::new(recording);
//! let entry = report.entry("turn.sse", &source);
//! assert_eq!((entry.diagnostics[1].line, entry.diagnostics[1].column), (4, 1));
//! let text = human(&entry, &source).to_string();
//! assert!(text.starts_with("error[missing-created]: "));
//! assert!(text.contains(" --> turn.sse:1:1\n"));
//! ```

pub mod json;

mod render;
mod source;

pub use render::{human, human_summary};
pub use source::Source;

use crate::protocol::machine::ValidatorOptions;
use crate::protocol::pipeline::{Pipeline, PipelineOptions};
use crate::protocol::rules::{Finding, Severity};
use crate::sse::Limits;

/// How [`check_bytes`] reads and judges a recording.
///
/// ```
/// use agent37_stream::check::CheckOptions;
///
/// let options = CheckOptions::default().strict(true).chunk_size(7).max_event_bytes(1024);
/// assert_eq!(options.limits.max_event_bytes, 1024);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckOptions {
    /// Strict mode: `unknown-event` is an error, not a warning.
    pub strict: bool,
    /// Feed the decoder this many bytes at a time (all at once when `None`),
    /// to reproduce chunk-boundary bugs. Findings must not depend on it.
    pub chunk_size: Option<usize>,
    /// The decoder's size limits; an event over them is `event-too-large`.
    pub limits: Limits,
}

impl CheckOptions {
    /// Sets strict mode.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Feeds the decoder `bytes` bytes at a time (0 counts as 1).
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = Some(bytes.max(1));
        self
    }

    /// Sets the largest event accepted (and lowers the line limit to it).
    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        self.limits = self.limits.max_event_bytes(bytes);
        self
    }

    /// Sets the decoder's limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// What checking one recording found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Events in the recording: those dispatched, plus any the decoder
    /// dropped for exceeding the size limit (they keep their index).
    pub events: usize,
    /// The findings, in the order the stream revealed them.
    pub findings: Vec<Finding>,
}

impl Report {
    /// How many findings are errors.
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    /// How many findings are warnings.
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// The report as one file entry of the JSON document, with columns
    /// resolved against the recording's `source`.
    pub fn entry(&self, path: impl Into<String>, source: &Source<'_>) -> json::FileEntry {
        json::FileEntry {
            path: path.into(),
            events: self.events,
            diagnostics: self
                .findings
                .iter()
                .map(|finding| json::Diagnostic {
                    code: finding.rule.as_str().to_owned(),
                    severity: finding.severity.as_str().to_owned(),
                    message: finding.message.clone(),
                    line: finding.position.line,
                    column: source.column(finding.position),
                    event_index: finding.event_index,
                })
                .collect(),
        }
    }
}

/// Checks one recording: decodes `bytes` as SSE and validates the events
/// against the Responses contract.
///
/// ```
/// use agent37_stream::check::{CheckOptions, check_bytes};
///
/// let recording = concat!(
///     "event: response.created\n",
///     "data: {\"id\":\"c91d2a7e84f04b6f9a3d5e1c0b87f4a2\",\"instance_id\":\"i\",\"session_id\":\"s\"}\n\n",
///     ": keep-alive\n\n",
///     "event: response.completed\n",
///     "data: {\"output_text\":\"\",\"usage\":null}\n\n",
/// );
/// let report = check_bytes(recording.as_bytes(), &CheckOptions::default().chunk_size(3));
/// assert_eq!(report.events, 2);
/// assert!(report.findings.is_empty());
/// ```
pub fn check_bytes(bytes: &[u8], options: &CheckOptions) -> Report {
    let mut pipeline = Pipeline::new(
        PipelineOptions::default()
            .with_limits(options.limits)
            .with_validator(ValidatorOptions::default().with_strict(options.strict)),
    );
    let mut findings = Vec::new();
    let all = bytes::Bytes::copy_from_slice(bytes);
    let step = options.chunk_size.unwrap_or(all.len()).max(1);
    let mut start = 0;
    loop {
        while let Some(step) = pipeline.next_step() {
            findings.extend(step.into_findings());
        }
        if start >= all.len() {
            break;
        }
        let end = start.saturating_add(step).min(all.len());
        pipeline.push(all.slice(start..end));
        start = end;
    }
    pipeline.end_input();
    while let Some(step) = pipeline.next_step() {
        findings.extend(step.into_findings());
    }
    Report {
        events: pipeline.events(),
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATED: &str = "event: response.created\r\ndata: {\"id\":\"c91d2a7e84f04b6f9a3d5e1c0b87f4a2\",\"instance_id\":\"i\",\"session_id\":\"s\"}\r\n\r\n";

    fn diagnostics(bytes: &[u8], options: CheckOptions) -> Vec<(String, u64, u64, Option<usize>)> {
        let report = check_bytes(bytes, &options);
        report
            .entry("t.sse", &Source::new(bytes))
            .diagnostics
            .into_iter()
            .map(|d| (d.code, d.line, d.column, d.event_index))
            .collect()
    }

    #[test]
    fn positions_agree_with_the_decoder_across_line_end_kinds_and_a_bom() {
        let bytes = format!(
            "\u{FEFF}{CREATED}: hb\r\revent: response.queued\rdata: {{}}\r\r\nevent: x\ndata: tail"
        );
        let expected = vec![
            ("unknown-event".to_owned(), 6, 1, Some(1)),
            ("incomplete-event".to_owned(), 9, 1, None),
            ("missing-terminal".to_owned(), 10, 11, None),
        ];
        for size in [None, Some(1), Some(2), Some(5)] {
            let options = CheckOptions {
                chunk_size: size,
                ..CheckOptions::default()
            };
            assert_eq!(diagnostics(bytes.as_bytes(), options), expected, "{size:?}");
        }
    }

    #[test]
    fn oversized_events_keep_their_index() {
        let big = format!(
            "event: response.reasoning.delta\ndata: {{\"text\":\"{}\"}}\n\n",
            "x".repeat(200)
        );
        let bytes = format!(
            "{CREATED}{big}event: response.failed\ndata: {{\"error\":{{\"code\":\"c\",\"message\":\"m\"}}}}\n\n"
        );
        let options = CheckOptions::default().max_event_bytes(150);
        let report = check_bytes(bytes.as_bytes(), &options);
        assert_eq!(report.events, 3);
        assert_eq!((report.errors(), report.warnings()), (1, 0));
        assert_eq!(
            diagnostics(bytes.as_bytes(), options),
            [("event-too-large".to_owned(), 4, 1, Some(1))]
        );
        assert!(
            check_bytes(bytes.as_bytes(), &CheckOptions::default())
                .findings
                .is_empty()
        );
    }

    #[test]
    fn empty_recording_misses_everything_at_line_one() {
        assert_eq!(
            diagnostics(b"", CheckOptions::default()),
            [("missing-terminal".to_owned(), 1, 1, None)]
        );
        assert_eq!(check_bytes(b"", &CheckOptions::default()).events, 0);
    }
}
