//! `agent37-stream check` (the command-line contract in docs/contract.md).

use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use agent37_stream::check::json::Document;
use agent37_stream::check::{self, CheckOptions};

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
    /// The longest line accepted follows it, up or down.
    #[arg(long, value_name = "N")]
    pub max_event_bytes: Option<usize>,
    /// Colour the human format: `auto` colours a terminal unless `NO_COLOR`
    /// is set.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = Color::Auto)]
    pub color: Color,
    /// Recordings: files, directories searched for `*.sse` files, or `-`
    /// for standard input.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// When `check` colours its human format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    /// On a terminal, unless the `NO_COLOR` environment variable is set
    /// (and not empty).
    #[default]
    Auto,
    /// Always, even into a pipe or with `NO_COLOR`.
    Always,
    /// Never.
    Never,
}

impl Color {
    /// Whether to colour output going to a terminal (or not), given the
    /// value of `NO_COLOR`, which only an empty value leaves unset.
    fn enabled(self, terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => terminal && no_color.is_none_or(|v| v.is_empty()),
        }
    }
}

/// How `check` prints its findings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Compiler-style diagnostics quoting the offending line.
    #[default]
    Human,
    /// One JSON document: files, their diagnostics, a summary.
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
    let stdout = io::stdout();
    let color = args.color.enabled(
        stdout.is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let mut out = io::BufWriter::new(stdout.lock());
    let mut document = Document::default();
    let mut trouble = false;
    for file in &files {
        let checked = match file {
            Recording::Stdin => check::check_reader(io::stdin().lock(), &options),
            Recording::File(path) => {
                fs::File::open(path).and_then(|file| check::check_reader(file, &options))
            }
        };
        let report = match checked {
            Ok(report) => report,
            Err(err) => {
                eprintln!("agent37-stream check: {file}: {err}");
                trouble = true;
                continue;
            }
        };
        let entry = report.entry(file.to_string());
        if args.format == Format::Human {
            let written = write!(
                out,
                "{}",
                check::human(&entry, &report.excerpts).color(color)
            )
            // Each file's diagnostics show as soon as it is checked.
            .and_then(|()| out.flush());
            if let Err(err) = written {
                document.push(entry);
                return write_failed(&err, &document, &args);
            }
        }
        document.push(entry);
    }
    let written = match args.format {
        Format::Human => writeln!(out, "{}", check::human_summary(&document.summary)),
        Format::Json => serde_json::to_writer_pretty(&mut out, &document)
            .map_err(io::Error::from)
            .and_then(|()| writeln!(out)),
    }
    .and_then(|()| out.flush());
    if let Err(err) = written {
        return write_failed(&err, &document, &args);
    }
    if trouble {
        ExitCode::from(TROUBLE)
    } else {
        verdict(&document, &args)
    }
}

/// Exit 1 when the findings fail the check, 0 when they pass.
fn verdict(document: &Document, args: &CheckArgs) -> ExitCode {
    let summary = document.summary;
    if summary.errors > 0 || (args.deny_warnings && summary.warnings > 0) {
        ExitCode::from(FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// Output could not be written. A reader that went away (`check … | head`)
/// is no error: `check` stops quietly, with the verdict of what it checked.
fn write_failed(err: &io::Error, document: &Document, args: &CheckArgs) -> ExitCode {
    if err.kind() == io::ErrorKind::BrokenPipe {
        return verdict(document, args);
    }
    eprintln!("agent37-stream check: cannot write output: {err}");
    ExitCode::from(TROUBLE)
}

/// One recording to check.
#[derive(Debug)]
enum Recording {
    Stdin,
    File(PathBuf),
}

impl std::fmt::Display for Recording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recording::Stdin => f.write_str("<stdin>"),
            Recording::File(path) => path.display().fmt(f),
        }
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

/// The recordings to check: each path given, in order; `-` is standard
/// input; a directory contributes its `*.sse` files, recursively, in sorted
/// order, and is an error when it holds none.
fn recordings(paths: &[PathBuf]) -> Result<Vec<Recording>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            files.push(Recording::Stdin);
            continue;
        }
        let metadata = fs::metadata(path).map_err(|err| format!("{}: {err}", path.display()))?;
        if metadata.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            if found.is_empty() {
                return Err(format!(
                    "{}: no recordings (`*.sse` files) in this directory",
                    path.display()
                ));
            }
            found.sort();
            files.extend(found.into_iter().map(Recording::File));
        } else {
            files.push(Recording::File(path.clone()));
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

#[cfg(test)]
mod tests {
    use super::Color;
    use std::ffi::OsStr;

    #[test]
    fn auto_colours_a_terminal_unless_no_color_is_set() {
        assert!(Color::Auto.enabled(true, None));
        assert!(Color::Auto.enabled(true, Some(OsStr::new(""))));
        assert!(!Color::Auto.enabled(true, Some(OsStr::new("1"))));
        assert!(!Color::Auto.enabled(false, None));
        assert!(Color::Always.enabled(false, Some(OsStr::new("1"))));
        assert!(!Color::Never.enabled(true, None));
    }
}
