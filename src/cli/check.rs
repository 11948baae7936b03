//! `agent37-stream check` (PROTOCOL.md §6).

use std::process::ExitCode;

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Recordings: files, or directories searched for `*.sse` files.
    #[arg(required = true)]
    pub paths: Vec<std::path::PathBuf>,
}

/// Runs `check`.
pub fn run(_args: CheckArgs) -> ExitCode {
    ExitCode::from(2)
}
