//! `agent37-stream`: decode SSE streams and check recorded agent37 turns.
//!
//! A thin layer over the library: each subcommand lives in `src/cli/`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// Decode Server-Sent Events and check recorded agent37 streams.
#[derive(Debug, Parser)]
#[command(name = "agent37-stream", version, about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode an SSE stream into one JSON object per dispatched event (NDJSON).
    Decode(cli::decode::DecodeArgs),
    /// Check recorded agent37 streams against the Responses contract.
    Check(cli::check::CheckArgs),
    /// Send a message to an agent37 instance and follow the turn live
    /// (needs the `client` feature).
    Ask(cli::ask::AskArgs),
    /// Serve recordings as a local agent37 gateway (for client tests).
    #[cfg(feature = "serve")]
    Serve(cli::serve::ServeArgs),
    /// Serve recordings as a local agent37 gateway (not in this build: it
    /// needs the `serve` feature).
    #[cfg(not(feature = "serve"))]
    #[command(disable_help_flag = true)]
    Serve(NoServe),
}

/// `serve` in a build without it: whatever follows is accepted, so the
/// message says how to get it rather than what is wrong with the arguments.
#[cfg(not(feature = "serve"))]
#[derive(Debug, clap::Args)]
struct NoServe {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    _args: Vec<std::ffi::OsString>,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(err) => {
            // clap prints help/version to stdout with success; usage errors exit 2.
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    match args.command {
        Command::Decode(a) => cli::decode::run(a),
        Command::Check(a) => cli::check::run(a),
        Command::Ask(a) => cli::ask::run(a),
        #[cfg(feature = "serve")]
        Command::Serve(a) => cli::serve::run(a),
        #[cfg(not(feature = "serve"))]
        Command::Serve(_) => {
            eprintln!(
                "agent37-stream serve: this build has no `serve`; \
                 rebuild with `cargo install agent37-stream --features serve` \
                 (or `cargo build --features serve`)"
            );
            ExitCode::from(2)
        }
    }
}
