//! `agent37-stream serve`: a local gateway that plays recordings, for testing
//! clients (see `agent37_stream::serve`).

use std::io::Write;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use agent37_stream::serve::{FailStatus, Faults, Gateway, GatewayConfig, Recordings};

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Directory of `*.sse` recordings. A request whose `input` equals a file's
    /// stem plays that file; any other input plays the first in name order.
    #[arg(long, value_name = "DIR")]
    pub recordings: PathBuf,
    /// Loopback address to listen on (port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8037")]
    pub addr: SocketAddr,
    /// Require `Authorization: Bearer KEY`; without it any bearer token passes.
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,
    /// Milliseconds a turn takes between two events.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub event_interval_ms: u64,
    /// Write the SSE bytes N bytes at a time.
    #[arg(long, value_name = "N")]
    pub chunk_size: Option<NonZeroUsize>,
    /// Milliseconds to wait after each write.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub delay_ms: u64,
    /// Break the connection of a `POST /v1/responses` stream after N events
    /// (halfway through the next); the turn runs on, replays are not broken.
    #[arg(long, value_name = "N")]
    pub drop_after_events: Option<usize>,
    /// Send a `: keep-alive` comment when a stream is idle for N milliseconds.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub heartbeat_ms: Option<u64>,
    /// Refuse the first K requests with `--fail-status`.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub fail_first: u64,
    /// 429 (`rate_limited`, with `Retry-After`) or 503 (`insufficient_capacity`).
    #[arg(long, value_name = "STATUS", default_value = "429")]
    pub fail_status: FailStatus,
    /// The `Retry-After` of an injected 429, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 1)]
    pub retry_after: u64,
}

impl ServeArgs {
    fn faults(&self) -> Faults {
        let mut faults = Faults::default();
        faults.chunk_size = self.chunk_size;
        faults.chunk_delay = Duration::from_millis(self.delay_ms);
        faults.drop_after_events = self.drop_after_events;
        faults.heartbeat = self.heartbeat_ms.map(Duration::from_millis);
        faults.fail_first = self.fail_first;
        faults.fail_status = self.fail_status;
        faults.retry_after = Duration::from_secs(self.retry_after);
        faults
    }
}

/// Runs `serve` until interrupted (Ctrl-C). Exit status 2 when the recordings
/// cannot be loaded or the address cannot be bound.
pub fn run(args: ServeArgs) -> ExitCode {
    let recordings = match Recordings::load_dir(&args.recordings) {
        Ok(recordings) => recordings,
        Err(err) => return fail(&err),
    };
    let names: Vec<&str> = recordings.iter().map(|r| r.name()).collect();
    eprintln!(
        "agent37-stream serve: {} recordings ({}); default: {}",
        names.len(),
        names.join(", "),
        recordings.select("").name()
    );
    let mut config = GatewayConfig::new(recordings)
        .event_interval(Duration::from_millis(args.event_interval_ms))
        .faults(args.faults());
    if let Some(key) = &args.api_key {
        config = config.api_key(key.clone());
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return fail(&err),
    };
    runtime.block_on(async {
        let (addr, handle) = match Gateway::new(config).bind(args.addr).await {
            Ok(bound) => bound,
            Err(err) => return fail(&format!("cannot listen on {}: {err}", args.addr)),
        };
        // The one line on stdout, so a script that asked for port 0 learns the port.
        println!("http://{addr}");
        let _ = std::io::stdout().flush();
        eprintln!("agent37-stream serve: listening on http://{addr} (Ctrl-C stops)");
        if let Err(err) = tokio::signal::ctrl_c().await {
            eprintln!("agent37-stream serve: cannot wait for Ctrl-C: {err}");
        }
        eprintln!("agent37-stream serve: shutting down");
        match handle.shutdown().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => fail(&err),
        }
    })
}

fn fail(err: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("agent37-stream serve: {err}");
    ExitCode::from(2)
}
