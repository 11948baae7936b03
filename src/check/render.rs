//! The human format of `check`: each finding as a compiler diagnostic that
//! quotes the line it points at.
//!
//! ```text
//! error[missing-created]: first event is response.reasoning.delta, not response.created
//!  --> invalid/missing-created.sse:1:1
//!   |
//! 1 | event: response.reasoning.delta
//!   | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
//!   = event 0
//! ```

use std::fmt;

use super::Source;
use super::json::{Diagnostic, FileEntry, Summary};

/// Most characters of a line quoted; longer lines are cut around the column.
const QUOTE_WIDTH: usize = 100;
/// Characters kept before the column when a long line is cut.
const QUOTE_CONTEXT: usize = 30;

/// Renders one file's findings, each as a diagnostic quoting `source`.
///
/// Nothing is written for a file without findings.
///
/// ```
/// use agent37_stream::check::{Source, human};
/// use agent37_stream::check::json::{Diagnostic, FileEntry};
///
/// let bytes = b"event: x\ndata: {}\n\n";
/// let entry = FileEntry {
///     path: "t.sse".into(),
///     events: 1,
///     diagnostics: vec![Diagnostic {
///         code: "unknown-event".into(),
///         severity: "warning".into(),
///         message: "unknown event x".into(),
///         line: 1,
///         column: 1,
///         event_index: Some(0),
///     }],
/// };
/// let text = human(&entry, &Source::new(bytes)).to_string();
/// assert!(text.starts_with("warning[unknown-event]: unknown event x\n --> t.sse:1:1\n"));
/// assert!(text.contains("1 | event: x\n  | ^^^^^^^^\n"));
/// ```
pub fn human<'a>(entry: &'a FileEntry, source: &'a Source<'a>) -> impl fmt::Display + 'a {
    HumanFile { entry, source }
}

/// Renders the closing line of a run, e.g. `checked 3 files: 1 error, 2 warnings`.
///
/// ```
/// use agent37_stream::check::{json::Summary, human_summary};
///
/// let summary = Summary { files: 1, errors: 0, warnings: 1 };
/// assert_eq!(human_summary(&summary).to_string(), "checked 1 file: 0 errors, 1 warning");
/// ```
pub fn human_summary(summary: &Summary) -> impl fmt::Display + '_ {
    HumanSummary(summary)
}

struct HumanFile<'a> {
    entry: &'a FileEntry,
    source: &'a Source<'a>,
}

impl fmt::Display for HumanFile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in &self.entry.diagnostics {
            write_diagnostic(f, &self.entry.path, self.source, diagnostic)?;
            writeln!(f)?;
        }
        Ok(())
    }
}

fn write_diagnostic(
    f: &mut fmt::Formatter<'_>,
    path: &str,
    source: &Source<'_>,
    d: &Diagnostic,
) -> fmt::Result {
    writeln!(f, "{}[{}]: {}", d.severity, d.code, d.message)?;
    let gutter = " ".repeat(d.line.to_string().len());
    writeln!(f, "{gutter}--> {path}:{}:{}", d.line, d.column)?;
    writeln!(f, "{gutter} |")?;
    let text = source
        .line(d.line)
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
        .unwrap_or_default();
    let quote = Quote::new(&text, d.column);
    writeln!(f, "{} | {}", d.line, quote.text)?;
    writeln!(
        f,
        "{gutter} | {}{}",
        " ".repeat(quote.caret_at),
        "^".repeat(quote.caret_len)
    )?;
    if let Some(index) = d.event_index {
        writeln!(f, "{gutter} = event {index}")?;
    }
    Ok(())
}

/// The part of a line shown, and where the underline goes in it.
struct Quote {
    text: String,
    /// Characters before the first caret.
    caret_at: usize,
    caret_len: usize,
}

impl Quote {
    /// Quotes `line`, underlining from `column` (1-based) to the end of the
    /// line's visible text: a finding points at the start of an event block,
    /// and the rest of that line (its `event:` or `data:` field) is what it is
    /// about.
    fn new(line: &str, column: u64) -> Self {
        // Tabs and control characters would shift the caret line on a
        // terminal; show each as one visible character.
        let chars: Vec<char> = line
            .chars()
            .map(|c| match c {
                '\t' => ' ',
                c if c.is_control() => '\u{FFFD}',
                c => c,
            })
            .collect();
        let column = usize::try_from(column.saturating_sub(1)).unwrap_or(usize::MAX);
        let column = column.min(chars.len());
        let (start, lead) = if chars.len() > QUOTE_WIDTH && column > QUOTE_CONTEXT {
            (column - QUOTE_CONTEXT, "…")
        } else {
            (0, "")
        };
        let end = (start + QUOTE_WIDTH).min(chars.len());
        let tail = if end < chars.len() { "…" } else { "" };
        let shown: String = chars.get(start..end).unwrap_or_default().iter().collect();
        let visible_end = start + shown.trim_end().chars().count();
        let lead_len = lead.chars().count();
        Quote {
            text: format!("{lead}{shown}{tail}"),
            caret_at: lead_len + (column - start),
            caret_len: visible_end.saturating_sub(column).max(1),
        }
    }
}

struct HumanSummary<'a>(&'a Summary);

impl fmt::Display for HumanSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Summary {
            files,
            errors,
            warnings,
        } = *self.0;
        write!(
            f,
            "checked {files} {}: {errors} {}, {warnings} {}",
            plural(files, "file", "files"),
            plural(errors, "error", "errors"),
            plural(warnings, "warning", "warnings"),
        )
    }
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnostic(line: u64, column: u64, event_index: Option<usize>) -> Diagnostic {
        Diagnostic {
            code: "missing-terminal".into(),
            severity: "error".into(),
            message: "the stream ends with no terminal event".into(),
            line,
            column,
            event_index,
        }
    }

    fn render(bytes: &[u8], d: Diagnostic) -> String {
        let entry = FileEntry {
            path: "x.sse".into(),
            events: 0,
            diagnostics: vec![d],
        };
        human(&entry, &Source::new(bytes)).to_string()
    }

    #[test]
    fn quotes_the_line_and_underlines_from_the_column() {
        let text = render(b"a\r\nevent: b  \r\n\r\n", diagnostic(2, 1, Some(3)));
        let expected = "error[missing-terminal]: the stream ends with no terminal event\n \
                        --> x.sse:2:1\n  |\n2 | event: b  \n  | ^^^^^^^^\n  = event 3\n\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn end_of_recording_gets_one_caret_on_the_empty_last_line() {
        let text = render(b"data: x\n\n", diagnostic(3, 1, None));
        assert!(text.ends_with("3 | \n  | ^\n\n"), "{text}");
        assert!(!text.contains("= event"));
    }

    #[test]
    fn wide_gutter_for_long_line_numbers() {
        let bytes = "\n".repeat(120);
        let text = render(bytes.as_bytes(), diagnostic(121, 1, None));
        assert!(
            text.contains("\n   --> x.sse:121:1\n    |\n121 | \n    | ^\n"),
            "{text}"
        );
    }

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let line = format!("data: {}", "x".repeat(500));
        let q = Quote::new(&line, 200);
        assert!(q.text.starts_with('…') && q.text.ends_with('…'));
        assert_eq!(q.text.chars().count(), QUOTE_WIDTH + 2);
        assert_eq!(q.caret_at, 1 + QUOTE_CONTEXT);
        let short = Quote::new("data: é🚀\tz", 7);
        assert_eq!(short.text, "data: é🚀 z");
        assert_eq!((short.caret_at, short.caret_len), (6, 4));
    }

    #[test]
    fn columns_past_the_line_end_are_clamped() {
        let q = Quote::new("ab", 40);
        assert_eq!((q.caret_at, q.caret_len), (2, 1));
        let q = Quote::new("", 0);
        assert_eq!((q.caret_at, q.caret_len), (0, 1));
    }

    #[test]
    fn summary_pluralises() {
        let s = Summary {
            files: 2,
            errors: 1,
            warnings: 0,
        };
        assert_eq!(
            human_summary(&s).to_string(),
            "checked 2 files: 1 error, 0 warnings"
        );
    }
}
