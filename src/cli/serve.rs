//! `agent37-stream serve`: a local gateway that plays recordings, for testing
//! clients (see `agent37_stream::serve`).

use std::io::Write;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use agent37_stream::serve::{
    ConnectionLimits, FailStatus, Faults, Gateway, GatewayConfig, Recordings, StoreLimits,
};

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Recordings are replayed byte for byte (line ends, comments, BOM, retry and id \
fields), only the ids in response.created's data changed; --normalize writes \
the events anew. Finished turns are kept up to --max-stored-turns and \
--store-budget, least recently used evicted first (an evicted id answers 404, \
saying it expired); running turns are never evicted. Durations take a unit: \
500ms, 30s, 2m (a bare number is seconds; 0 turns a timeout off). Ctrl-C \
stops accepting and gives streams in flight --shutdown-grace; a second Ctrl-C \
exits at once.")]
pub struct ServeArgs {
    /// Directory of `*.sse` recordings. A request whose `input` equals a file's
    /// stem plays that file; any other input plays the first in name order.
    #[arg(long, value_name = "DIR")]
    pub recordings: PathBuf,
    /// Loopback address to listen on (port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8037")]
    pub addr: SocketAddr,
    /// Require `Authorization: Bearer KEY`; without it any bearer token passes.
    #[arg(
        long,
        value_name = "KEY",
        env = "AGENT37_API_KEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,
    /// Write events anew (LF line ends, no comments, BOM or `retry`) instead
    /// of the recordings' own bytes.
    #[arg(long)]
    pub normalize: bool,
    /// The most finished turns kept.
    #[arg(long, value_name = "N", default_value_t = StoreLimits::default().max_turns)]
    pub max_stored_turns: usize,
    /// The most bytes of finished turns kept (units: B, KiB, MiB, GiB).
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = parse_size)]
    pub store_budget: usize,
    /// Time a client has to send a request's head; then the connection closes.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub header_timeout: Duration,
    /// Time a client has to send a request's body; then 408 and close.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub body_timeout: Duration,
    /// Time a keep-alive connection may wait idle for its next request.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// The most connections served at once; more wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// On Ctrl-C, time given to requests and streams in flight before they are cut.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// Log one line per request (peer, method, path, status, time) to stderr.
    #[arg(long)]
    pub access_log: bool,
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

    fn store_limits(&self) -> StoreLimits {
        let mut limits = StoreLimits::default();
        limits.max_turns = self.max_stored_turns;
        limits.max_bytes = self.store_budget;
        limits
    }

    fn connection_limits(&self) -> ConnectionLimits {
        let mut limits = ConnectionLimits::default();
        limits.header_timeout = self.header_timeout;
        limits.body_timeout = self.body_timeout;
        limits.idle_timeout = self.idle_timeout;
        limits.max_connections = self.max_connections as usize;
        limits.shutdown_grace = self.shutdown_grace;
        limits
    }
}

/// `500ms`, `30s`, `2m`, or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 500ms, 30s or 2m"))?;
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(number)),
        "" | "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number.saturating_mul(60))),
        other => Err(format!("unknown duration unit {other:?} (ms, s or m)")),
    }
}

/// `1000`, `64KiB`, `256MiB`, `1GiB` (`B`, `K`, `M`, `G` too).
fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 1000, 64KiB or 256MiB"))?;
    let shift = match unit.trim() {
        "" | "B" => 0,
        "K" | "KiB" => 10,
        "M" | "MiB" => 20,
        "G" | "GiB" => 30,
        other => return Err(format!("unknown size unit {other:?} (B, KiB, MiB or GiB)")),
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
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
    if args.access_log {
        // Plain lines on stderr; stdout holds only the URL.
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_target(false)
            .try_init();
    }
    let mut config = GatewayConfig::new(recordings)
        .event_interval(Duration::from_millis(args.event_interval_ms))
        .faults(args.faults())
        .normalize(args.normalize)
        .store_limits(args.store_limits())
        .connection_limits(args.connection_limits())
        .access_log(args.access_log);
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
        eprintln!(
            "agent37-stream serve: shutting down (streams in flight get {:?}; Ctrl-C again exits now)",
            args.shutdown_grace
        );
        tokio::select! {
            stopped = handle.shutdown() => match stopped {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => fail(&err),
            },
            _ = tokio::signal::ctrl_c() => {
                eprintln!("agent37-stream serve: stopped at once");
                // The runtime's tasks would wait for the connections still
                // open: leave without them.
                std::process::exit(130)
            }
        }
    })
}

fn fail(err: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("agent37-stream serve: {err}");
    ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_parse_with_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("s").is_err());
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("1TiB").is_err());
    }
}
