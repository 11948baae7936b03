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

use super::Excerpt;
use super::json::{Diagnostic, FileEntry, Summary};
use crate::protocol::rules::Severity;

/// Most characters of a line quoted; longer lines are cut around the column.
pub(crate) const QUOTE_WIDTH: usize = 100;
/// Characters kept before the column when a long line is cut.
pub(crate) const QUOTE_CONTEXT: usize = 30;

/// Renders one file's findings, each as a diagnostic quoting its line from
/// `excerpts` (one per diagnostic, in order: [`Report::excerpts`](super::Report::excerpts)).
///
/// Nothing is written for a file without findings. Plain text by default;
/// [`Human::color`] adds terminal colours.
///
/// ```
/// use agent37_stream::check::{CheckOptions, check_bytes, human};
///
/// let report = check_bytes(b"event: x\ndata: {}\n\n", &CheckOptions::default());
/// let entry = report.entry("t.sse");
/// let text = human(&entry, &report.excerpts).to_string();
/// assert!(text.starts_with("warning[unknown-event]: unknown event \"x\"\n --> t.sse:1:1\n"));
/// assert!(text.contains("1 | event: x\n  | ^^^^^^^^\n"));
///
/// let colored = human(&entry, &report.excerpts).color(true).to_string();
/// assert!(colored.starts_with("\x1b[1;33mwarning[unknown-event]\x1b[0m"));
/// ```
pub fn human<'a>(entry: &'a FileEntry, excerpts: &'a [Excerpt]) -> Human<'a> {
    Human {
        entry,
        excerpts,
        color: false,
    }
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

/// One file's findings as compiler-style diagnostics (see [`human`]).
#[derive(Clone, Copy, Debug)]
pub struct Human<'a> {
    entry: &'a FileEntry,
    excerpts: &'a [Excerpt],
    color: bool,
}

impl Human<'_> {
    /// Colours the diagnostics with ANSI escapes, as rustc does on a
    /// terminal: errors red, warnings yellow, the gutter blue.
    pub fn color(mut self, on: bool) -> Self {
        self.color = on;
        self
    }
}

impl fmt::Display for Human<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let palette = if self.color { COLORS } else { PLAIN };
        for (index, diagnostic) in self.entry.diagnostics.iter().enumerate() {
            let excerpt = self.excerpts.get(index);
            write_diagnostic(f, &self.entry.path, excerpt, diagnostic, &palette)?;
            writeln!(f)?;
        }
        Ok(())
    }
}

/// The escapes around each part of a diagnostic.
struct Palette {
    error: &'static str,
    warning: &'static str,
    bold: &'static str,
    gutter: &'static str,
    reset: &'static str,
}

const PLAIN: Palette = Palette {
    error: "",
    warning: "",
    bold: "",
    gutter: "",
    reset: "",
};

const COLORS: Palette = Palette {
    error: "\x1b[1;31m",
    warning: "\x1b[1;33m",
    bold: "\x1b[1m",
    gutter: "\x1b[1;34m",
    reset: "\x1b[0m",
};

fn write_diagnostic(
    f: &mut fmt::Formatter<'_>,
    path: &str,
    excerpt: Option<&Excerpt>,
    d: &Diagnostic,
    p: &Palette,
) -> fmt::Result {
    let Palette {
        bold,
        gutter: blue,
        reset,
        ..
    } = *p;
    let severity = if d.severity == Severity::Error {
        p.error
    } else {
        p.warning
    };
    writeln!(
        f,
        "{severity}{}[{}]{reset}{bold}: {}{reset}",
        d.severity, d.code, d.message
    )?;
    let gutter = " ".repeat(d.line.to_string().len());
    writeln!(f, "{gutter}{blue}-->{reset} {path}:{}:{}", d.line, d.column)?;
    match excerpt.and_then(|e| e.text.as_deref().map(|text| (e, text))) {
        Some((excerpt, text)) => {
            let quote = Quote::new(text, excerpt.skipped, excerpt.cut, d.column);
            writeln!(f, "{blue}{gutter} |{reset}")?;
            writeln!(f, "{blue}{} |{reset} {}", d.line, quote.text)?;
            writeln!(
                f,
                "{blue}{gutter} |{reset} {}{severity}{}{reset}",
                " ".repeat(quote.caret_at),
                "^".repeat(quote.caret_len)
            )?;
        }
        None => writeln!(
            f,
            "{blue}{gutter} ={reset} note: line {} is too far back to quote",
            d.line
        )?,
    }
    if let Some(index) = d.event_index {
        writeln!(f, "{blue}{gutter} ={reset} event {index}")?;
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
    /// Quotes a line of which `kept` is known, `skipped` characters into it
    /// (more follows when `cut`), underlining from `column` (1-based) to the
    /// end of the line's visible text: a finding points at the start of an
    /// event block, and the rest of that line (its `event:` or `data:`
    /// field) is what it is about.
    fn new(kept: &str, skipped: u64, cut: bool, column: u64) -> Self {
        // Tabs and control characters would shift the caret line on a
        // terminal; show each as one visible character.
        let chars: Vec<char> = kept
            .chars()
            .map(|c| match c {
                '\t' => ' ',
                c if c.is_control() => '\u{FFFD}',
                c => c,
            })
            .collect();
        // Line coordinates: the kept characters are `first..known`.
        let first = usize::try_from(skipped).unwrap_or(usize::MAX);
        let known = first.saturating_add(chars.len());
        let long = cut || known > QUOTE_WIDTH;
        let column = usize::try_from(column.saturating_sub(1)).unwrap_or(usize::MAX);
        let column = column.clamp(first.min(known), known);
        let start = if long && column > QUOTE_CONTEXT {
            (column - QUOTE_CONTEXT).max(first)
        } else {
            first
        };
        let lead = if start > 0 { "…" } else { "" };
        let end = start.saturating_add(QUOTE_WIDTH).min(known);
        let tail = if end < known || cut { "…" } else { "" };
        let shown: String = chars
            .get(start - first..end - first)
            .unwrap_or_default()
            .iter()
            .collect();
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
    use crate::protocol::rules::Rule;

    fn diagnostic(line: u64, column: u64, event_index: Option<usize>) -> Diagnostic {
        Diagnostic {
            code: Rule::MissingTerminal,
            severity: Severity::Error,
            message: "the stream ends with no terminal event".into(),
            line,
            column,
            event_index,
        }
    }

    fn render(line: &str, d: Diagnostic) -> String {
        let excerpt = Excerpt::new(line, d.column);
        let entry = FileEntry {
            path: "x.sse".into(),
            events: 0,
            diagnostics: vec![d],
        };
        human(&entry, &[excerpt]).to_string()
    }

    fn quote(line: &str, column: u64) -> Quote {
        Quote::new(line, 0, false, column)
    }

    #[test]
    fn quotes_the_line_and_underlines_from_the_column() {
        let text = render("event: b  ", diagnostic(2, 1, Some(3)));
        let expected = "error[missing-terminal]: the stream ends with no terminal event\n \
                        --> x.sse:2:1\n  |\n2 | event: b  \n  | ^^^^^^^^\n  = event 3\n\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn end_of_recording_gets_one_caret_on_the_empty_last_line() {
        let text = render("", diagnostic(3, 1, None));
        assert!(text.ends_with("3 | \n  | ^\n\n"), "{text}");
        assert!(!text.contains("= event"));
    }

    #[test]
    fn wide_gutter_for_long_line_numbers() {
        let text = render("", diagnostic(121, 1, None));
        assert!(
            text.contains("\n   --> x.sse:121:1\n    |\n121 | \n    | ^\n"),
            "{text}"
        );
    }

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let line = format!("data: {}", "x".repeat(500));
        let q = quote(&line, 200);
        assert!(q.text.starts_with('…') && q.text.ends_with('…'));
        assert_eq!(q.text.chars().count(), QUOTE_WIDTH + 2);
        assert_eq!(q.caret_at, 1 + QUOTE_CONTEXT);
        let short = quote("data: é🚀\tz", 7);
        assert_eq!(short.text, "data: é🚀 z");
        assert_eq!((short.caret_at, short.caret_len), (6, 4));
    }

    #[test]
    fn a_kept_head_or_tail_quotes_as_the_whole_line_would() {
        let line = format!("data: {}", "y".repeat(500));
        let whole = quote(&line, 1);
        let head = Quote::new(&line[..200], 0, true, 1);
        assert_eq!(
            (head.text, head.caret_at, head.caret_len),
            (whole.text, whole.caret_at, whole.caret_len)
        );
        let whole = quote(&line, 507);
        let tail = Quote::new(&line[440..], 440, false, 507);
        assert_eq!(
            (tail.text, tail.caret_at, tail.caret_len),
            (whole.text, whole.caret_at, whole.caret_len)
        );
    }

    #[test]
    fn columns_past_the_line_end_are_clamped() {
        let q = quote("ab", 40);
        assert_eq!((q.caret_at, q.caret_len), (2, 1));
        let q = quote("", 0);
        assert_eq!((q.caret_at, q.caret_len), (0, 1));
    }

    #[test]
    fn a_line_not_kept_gets_a_note_instead_of_a_quote() {
        let entry = FileEntry {
            path: "x.sse".into(),
            events: 0,
            diagnostics: vec![diagnostic(7, 1, Some(2))],
        };
        let text = human(&entry, &[Excerpt::default()]).to_string();
        assert!(
            text.ends_with(
                " --> x.sse:7:1\n  = note: line 7 is too far back to quote\n  = event 2\n\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn colors_severity_gutter_and_carets() {
        let entry = FileEntry {
            path: "x.sse".into(),
            events: 0,
            diagnostics: vec![Diagnostic {
                severity: Severity::Warning,
                ..diagnostic(1, 1, None)
            }],
        };
        let excerpts = [Excerpt::new("event: x", 1)];
        let text = human(&entry, &excerpts).color(true).to_string();
        let expected = "\x1b[1;33mwarning[missing-terminal]\x1b[0m\x1b[1m: the stream ends with no terminal event\x1b[0m\n \
                        \x1b[1;34m-->\x1b[0m x.sse:1:1\n\x1b[1;34m  |\x1b[0m\n\x1b[1;34m1 |\x1b[0m event: x\n\
                        \x1b[1;34m  |\x1b[0m \x1b[1;33m^^^^^^^^\x1b[0m\n\n";
        assert_eq!(text, expected);
        assert!(!human(&entry, &excerpts).to_string().contains('\x1b'));
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
