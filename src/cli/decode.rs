//! `agent37-stream decode` (PROTOCOL.md §6).

use std::process::ExitCode;

/// Arguments of `decode`.
#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// Feed the decoder N bytes at a time (output must not depend on it).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub chunk_size: Option<u64>,
    /// Largest event accepted, in bytes.
    #[arg(long, value_name = "N")]
    pub max_event_bytes: Option<usize>,
    /// The stream to decode; `-` or nothing reads standard input.
    pub file: Option<std::path::PathBuf>,
}

/// Runs `decode`.
pub fn run(_args: DecodeArgs) -> ExitCode {
    ExitCode::from(2)
}
