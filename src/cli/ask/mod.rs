//! `agent37-stream ask`: send one message to an agent37 instance and follow
//! the turn live (feature `client`).

#[cfg(feature = "client")]
mod render;
#[cfg(feature = "client")]
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use super::check::Format;

/// Arguments of `ask`.
#[derive(Debug, clap::Args)]
pub struct AskArgs {
    /// The instance's base URL, e.g. `https://ab12cd34ef.agent37.app` (else
    /// `AGENT37_BASE_URL`).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// The API key (else `AGENT37_API_KEY`).
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,
    /// Continue this conversation.
    #[arg(long, value_name = "ID")]
    pub session_id: Option<String>,
    /// Write the raw bytes of the stream that completed the turn to FILE
    /// (after a reconnection, the replay, which holds the whole turn), for
    /// `agent37-stream check FILE`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// `human`: the turn live, then its usage; `json`: the folded turn as one
    /// JSON document.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// The message.
    pub message: String,
}

/// Exit status when the turn failed or broke the contract.
#[cfg_attr(not(feature = "client"), allow(dead_code))]
const FAILED: u8 = 1;
/// Exit status for usage, I/O and HTTP errors.
const TROUBLE: u8 = 2;

/// Runs `ask`.
#[cfg(feature = "client")]
pub fn run(args: AskArgs) -> ExitCode {
    run::run(args)
}

/// Without the client, `ask` only says how to get it.
#[cfg(not(feature = "client"))]
pub fn run(args: AskArgs) -> ExitCode {
    let _ = args;
    eprintln!(
        "agent37-stream ask: this build has no HTTP client; \
         build with `cargo build --features client`"
    );
    ExitCode::from(TROUBLE)
}
