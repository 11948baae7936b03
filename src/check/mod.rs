//! Conformance checking of recorded streams (the contract's [rule codes](crate::protocol::contract#rule-codes)
//! and [command line](crate::protocol::contract#command-line)).
//!
//! A recording is the raw bytes of one streamed turn. A [`Checker`] takes
//! it in chunks (from a file, a pipe, a socket), decodes it with the
//! [SSE layer](crate::sse) — in smaller pieces when
//! [`CheckOptions::chunk_size`] is set, as a network client would — runs the
//! ordering [`Validator`](crate::protocol::machine::Validator) over the
//! events, and adds what only the framing shows: an unterminated last event
//! (`incomplete-event`) and events over the size limit (`event-too-large`).
//! The findings never depend on the chunk size.
//!
//! Memory stays bounded whatever the recording's size or shape: the
//! decoder's [`Limits`] bound its buffers, and of the recording itself only
//! the lines a finding may quote are kept, each cut to a width
//! ([`Checker::peak_buffered`] tells how much was held). [`check_reader`]
//! reads any [`std::io::Read`] through a [`Checker`]; [`check_bytes`] checks
//! bytes already in memory.
//!
//! The [`Report`] then becomes the JSON entry of `check --format json`
//! ([`Report::entry`], [`json`]) or compiler-style text ([`human`]).
//!
//! ```
//! use agent37_stream::check::{CheckOptions, check_bytes, human};
//!
//! let recording = b"event: response.reasoning.delta\ndata: {\"text\":\"hm\"}\n\n";
//! let report = check_bytes(recording, &CheckOptions::default());
//! assert_eq!(report.events, 1);
//! let codes: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
//! assert_eq!(codes, ["missing-created", "missing-terminal"]);
//!
//! let entry = report.entry("turn.sse");
//! assert_eq!((entry.diagnostics[1].line, entry.diagnostics[1].column), (4, 1));
//! let text = human(&entry, &report.excerpts).to_string();
//! assert!(text.starts_with("error[missing-created]: "));
//! assert!(text.contains(" --> turn.sse:1:1\n"));
//! ```

pub mod json;

mod lines;
mod pipeline;
mod render;

pub use render::{Human, human, human_summary};

use std::io::{self, Read};

use bytes::Bytes;

use crate::protocol::rules::{Finding, Severity};
use crate::sse::Limits;
use lines::Lines;
use pipeline::Pipeline;

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
    /// Feed the decoder this many bytes at a time (each chunk as pushed, or
    /// as read, when `None`), to reproduce chunk-boundary bugs. Findings must
    /// not depend on it.
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

    /// Sets the largest event accepted; the line limit follows it, down or
    /// up, unless it was set on its own (see [`Limits`]).
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
    /// For each finding (same index), its column and the line it points at,
    /// as far as it was kept.
    pub excerpts: Vec<Excerpt>,
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

    /// The report as one file entry of the JSON document.
    pub fn entry(&self, path: impl Into<String>) -> json::FileEntry {
        json::FileEntry {
            path: path.into(),
            events: self.events,
            diagnostics: self
                .findings
                .iter()
                .enumerate()
                .map(|(index, finding)| json::Diagnostic {
                    code: finding.rule,
                    severity: finding.severity,
                    message: finding.message.clone(),
                    line: finding.position.line,
                    column: self.excerpts.get(index).map_or(1, |e| e.column),
                    event_index: finding.event_index,
                })
                .collect(),
        }
    }
}

/// What a finding quotes: its 1-based column, and the line it points at as
/// far as the [`Checker`] kept it (invalid UTF-8 shown as U+FFFD, without the
/// line end).
///
/// A long line keeps only its head, or, at the end of the recording, its
/// tail: `skipped` characters of the line come before `text`, and `cut`
/// says more follow it. A line too far back (see [`Checker`]) keeps no text.
///
/// ```
/// use agent37_stream::check::Excerpt;
///
/// let excerpt = Excerpt::new("data: x", 7);
/// assert_eq!((excerpt.text.as_deref(), excerpt.column), (Some("data: x"), 7));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Excerpt {
    /// 1-based column of the finding, in characters.
    pub column: u64,
    /// What is kept of the line; `None` when none of it is.
    pub text: Option<String>,
    /// Characters of the line before `text`.
    pub skipped: u64,
    /// Whether the line goes on after `text`.
    pub cut: bool,
}

impl Excerpt {
    /// A whole line, with the finding at `column`.
    pub fn new(line: &str, column: u64) -> Self {
        Excerpt {
            column,
            text: Some(line.to_owned()),
            skipped: 0,
            cut: false,
        }
    }
}

/// Checks a recording pushed in chunks, in bounded memory.
///
/// Memory holds what the decoder's [`Limits`] allow (one unfinished event),
/// the head of each line a later finding may quote (a block's first field
/// line, a line over the line limit), a few hundred bytes of the line being
/// read, and the findings. The kept lines have a fixed budget of a few MiB:
/// a finding about a line further back (an `unclosed-tool-call` opened
/// tens of thousands of events earlier) keeps its position but not its quote.
///
/// ```
/// use agent37_stream::check::{CheckOptions, Checker};
/// use bytes::Bytes;
///
/// let mut checker = Checker::new(&CheckOptions::default());
/// checker.push(Bytes::from_static(b"event: response.created\ndata: {\"id\":\"c91d2a7e"));
/// checker.push(Bytes::from_static(b"84f04b6f9a3d5e1c0b87f4a2\",\"instance_id\":\"i\",\"session_id\":\"s\"}\n\n"));
/// assert!(checker.peak_buffered() < 1024);
/// let report = checker.finish();
/// assert_eq!(report.events, 1);
/// let codes: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
/// assert_eq!(codes, ["missing-terminal"]);
/// ```
#[derive(Debug)]
pub struct Checker {
    chunk_size: Option<usize>,
    pipeline: Pipeline,
    lines: Lines,
    found: Found,
    peak: usize,
}

impl Checker {
    /// A checker for one recording.
    pub fn new(options: &CheckOptions) -> Self {
        Checker {
            chunk_size: options.chunk_size,
            pipeline: Pipeline::new(options),
            lines: Lines::new(options.limits.max_line_bytes),
            found: Found::default(),
            peak: 0,
        }
    }

    /// Checks the next chunk of the recording.
    pub fn push(&mut self, chunk: Bytes) {
        let piece = self.chunk_size.unwrap_or(usize::MAX);
        let mut rest = chunk;
        while !rest.is_empty() {
            let next = rest.split_to(piece.min(rest.len()));
            // The lines a finding may quote are read before the decoder can
            // report a finding about them.
            self.lines.feed(&next);
            self.found.settle(&self.lines, false);
            self.pipeline
                .push(next, &mut |finding| self.found.record(&self.lines, finding));
            self.peak = self
                .peak
                .max(self.pipeline.buffered() + self.lines.retained());
        }
    }

    /// The most bytes held at once so far: the decoder's buffers and the
    /// kept lines (not the findings).
    pub fn peak_buffered(&self) -> usize {
        self.peak
    }

    /// Ends the recording and returns what was found.
    pub fn finish(mut self) -> Report {
        self.lines.finish();
        self.pipeline
            .finish(&mut |finding| self.found.record(&self.lines, finding));
        self.found.settle(&self.lines, true);
        Report {
            events: self.pipeline.events(),
            findings: self.found.findings,
            excerpts: self.found.excerpts,
        }
    }
}

/// The findings so far, each with its excerpt.
#[derive(Debug, Default)]
struct Found {
    findings: Vec<Finding>,
    excerpts: Vec<Excerpt>,
    /// Findings about the line still being read (a line over the limit is
    /// reported before it ends): quoted once it has ended, whole.
    pending: Vec<usize>,
}

impl Found {
    fn record(&mut self, lines: &Lines, finding: Finding) {
        if finding.position.line >= lines.line() {
            self.pending.push(self.findings.len());
            self.excerpts.push(Excerpt::default());
        } else {
            self.excerpts.push(lines.excerpt(finding.position));
        }
        self.findings.push(finding);
    }

    /// Quotes the pending findings whose line has ended (all of them at the
    /// end of the recording).
    fn settle(&mut self, lines: &Lines, end: bool) {
        let (findings, excerpts) = (&self.findings, &mut self.excerpts);
        self.pending.retain(|&index| {
            let position = findings[index].position;
            let ready = end || position.line < lines.line();
            if ready {
                excerpts[index] = lines.excerpt(position);
            }
            !ready
        });
    }
}

/// Bytes read at a time by [`check_reader`] and fed at a time by [`check_bytes`].
const READ_SIZE: usize = 64 * 1024;

/// Checks a recording read from `reader` to its end, in bounded memory
/// (see [`Checker`]). Fails only when reading fails.
///
/// ```
/// use agent37_stream::check::{CheckOptions, check_reader};
///
/// let recording: &[u8] = b"event: response.failed\ndata: {\"error\":{\"code\":\"c\",\"message\":\"m\"}}\n\n";
/// let report = check_reader(recording, &CheckOptions::default())?;
/// assert_eq!(report.findings[0].rule.as_str(), "missing-created");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn check_reader(mut reader: impl Read, options: &CheckOptions) -> io::Result<Report> {
    let mut checker = Checker::new(options);
    let mut buf = vec![0; READ_SIZE];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(checker.finish()),
            Ok(n) => checker.push(Bytes::copy_from_slice(&buf[..n])),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

/// Checks one recording already in memory: decodes `bytes` as SSE and
/// validates the events against the Responses contract.
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
    let mut checker = Checker::new(options);
    for chunk in bytes.chunks(READ_SIZE) {
        checker.push(Bytes::copy_from_slice(chunk));
    }
    checker.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATED: &str = "event: response.created\r\ndata: {\"id\":\"c91d2a7e84f04b6f9a3d5e1c0b87f4a2\",\"instance_id\":\"i\",\"session_id\":\"s\"}\r\n\r\n";

    fn diagnostics(bytes: &[u8], options: CheckOptions) -> Vec<(String, u64, u64, Option<usize>)> {
        let report = check_bytes(bytes, &options);
        report
            .entry("t.sse")
            .diagnostics
            .into_iter()
            .map(|d| (d.code.to_string(), d.line, d.column, d.event_index))
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
