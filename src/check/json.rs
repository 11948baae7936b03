//! The JSON document of `check --format json` (the contract's [command line](crate::protocol::contract#command-line)).
//!
//! Scripts and CI parse it, so the field names and shapes are the contract:
//!
//! ```json
//! {"files": [{"path": "...", "events": 7, "diagnostics": [
//!     {"code": "missing-created", "severity": "error", "message": "...",
//!      "line": 1, "column": 1, "event_index": 0}]}],
//!  "summary": {"files": 1, "errors": 1, "warnings": 0}}
//! ```

use serde::{Deserialize, Serialize};

use crate::protocol::rules::{Rule, Severity};

/// The whole output of one `check` run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// One entry per checked recording, in the order checked.
    pub files: Vec<FileEntry>,
    /// Totals over all files.
    pub summary: Summary,
}

/// The findings of one recording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The path as given (or as found under a given directory).
    pub path: String,
    /// How many SSE events the recording dispatched.
    pub events: usize,
    /// The findings, in stream order.
    pub diagnostics: Vec<Diagnostic>,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The stable rule code, e.g. `missing-created`.
    pub code: Rule,
    /// `error` or `warning`.
    pub severity: Severity,
    /// What is wrong, for a human.
    pub message: String,
    /// 1-based line where the event's block starts (for findings about the
    /// stream as a whole: the end of the recording).
    pub line: u64,
    /// 1-based column, in characters.
    pub column: u64,
    /// 0-based index of the event concerned; `null` when the finding is about
    /// bytes that never became an event (an unterminated or oversized block)
    /// or about the stream as a whole.
    pub event_index: Option<usize>,
}

/// Totals of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Recordings checked.
    pub files: usize,
    /// Findings of severity `error`.
    pub errors: usize,
    /// Findings of severity `warning`.
    pub warnings: usize,
}

impl Document {
    /// Adds a file's entry and counts its findings into the summary.
    pub fn push(&mut self, entry: FileEntry) {
        self.summary.files += 1;
        for diagnostic in &entry.diagnostics {
            match diagnostic.severity {
                Severity::Error => self.summary.errors += 1,
                Severity::Warning => self.summary.warnings += 1,
            }
        }
        self.files.push(entry);
    }
}

/// The `severity` string of a warning.
pub const WARNING: &str = "warning";
