//! `agent37-stream check` (PROTOCOL.md §6).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use agent37_stream::check::json::Document;
use agent37_stream::check::{self, CheckOptions, Source};

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Treat unknown event names as errors, not warnings.
    #[arg(long)]
    pub strict: bool,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Feed the decoder N bytes at a time (findings must not depend on it).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub chunk_size: Option<u64>,
    /// Largest event accepted, in bytes; larger ones are `event-too-large`.
    #[arg(long, value_name = "N")]
    pub max_event_bytes: Option<usize>,
    /// Recordings: files, or directories searched for `*.sse` files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// How `check` prints its findings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Compiler-style diagnostics quoting the offending line.
    #[default]
    Human,
    /// One JSON document (PROTOCOL.md §6).
    Json,
}

/// Exit status when the findings fail the check.
const FAILED: u8 = 1;
/// Exit status for usage and I/O errors.
const TROUBLE: u8 = 2;

/// Runs `check`.
pub fn run(args: CheckArgs) -> ExitCode {
    let files = match recordings(&args.paths) {
        Ok(files) => files,
        Err(message) => {
            eprintln!("agent37-stream check: {message}");
            return ExitCode::from(TROUBLE);
        }
    };
    let options = options(&args);
    let mut document = Document::default();
    let mut out = io::stdout().lock();
    let mut trouble = false;
    for path in &files {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(err) => {
                eprintln!("agent37-stream check: {}: {err}", path.display());
                trouble = true;
                continue;
            }
        };
        let source = Source::new(&bytes);
        let entry = check::check_bytes(&bytes, &options).entry(path.display().to_string(), &source);
        if args.format == Format::Human && write!(out, "{}", check::human(&entry, &source)).is_err()
        {
            return ExitCode::from(TROUBLE);
        }
        document.push(entry);
    }
    let written = match args.format {
        Format::Human => writeln!(out, "{}", check::human_summary(&document.summary)),
        Format::Json => serde_json::to_writer_pretty(&mut out, &document)
            .map_err(io::Error::from)
            .and_then(|()| writeln!(out)),
    };
    let summary = document.summary;
    if trouble || written.is_err() {
        ExitCode::from(TROUBLE)
    } else if summary.errors > 0 || (args.deny_warnings && summary.warnings > 0) {
        ExitCode::from(FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

fn options(args: &CheckArgs) -> CheckOptions {
    let mut options = CheckOptions::default().strict(args.strict);
    if let Some(size) = args.chunk_size {
        options = options.chunk_size(usize::try_from(size).unwrap_or(usize::MAX));
    }
    if let Some(limit) = args.max_event_bytes {
        options = options.max_event_bytes(limit);
    }
    options
}

/// The files to check: each path given, in order; a directory contributes
/// its `*.sse` files, recursively, in sorted order.
fn recordings(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        let metadata = fs::metadata(path).map_err(|err| format!("{}: {err}", path.display()))?;
        if metadata.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|err| format!("{}: {err}", dir.display()))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|err| format!("{}: {err}", path.display()))?;
        // Symlinked directories are not followed, so a link loop cannot
        // make the walk endless; symlinked files are checked.
        if kind.is_dir() {
            walk(&path, found)?;
        } else if path.extension().is_some_and(|ext| ext == "sse") && path.is_file() {
            found.push(path);
        }
    }
    Ok(())
}
