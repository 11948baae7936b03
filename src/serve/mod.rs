//! A local agent37 gateway that plays recorded turns over real HTTP (feature
//! `serve`), for testing clients end to end.
//!
//! It serves the endpoints of `POST /v1/responses` (spec 001) on a loopback
//! address: a request whose `input` equals a recording's name plays that
//! recording, any other input plays the first one. The gateway mints the
//! response and session ids and puts them into `response.created`; sessions,
//! `session_busy`, cancel, replay by `GET /v1/responses/{id}/stream`, the
//! request validation of [`protocol::request`](crate::protocol::request) and
//! the error envelopes behave as documented. [`Faults`] make it misbehave on
//! purpose: small and slow writes, dropped connections, heartbeats, refused
//! first requests.
//!
//! # What a client gets
//!
//! - **The recording's bytes.** A stream is the file as it is on disk (line
//!   ends, comments, a BOM, `retry` and `id` fields), up to its first
//!   terminal event's block and what follows it, with only the `id` and
//!   `session_id` strings of `response.created`'s data replaced by the minted
//!   ids. [`GatewayConfig::normalize`] (`--normalize`) writes the events anew
//!   instead. Small writes and broken connections ([`Faults`]) cut these
//!   bytes: a stream dropped after N events holds the bytes of the first N
//!   events' blocks and half of the next block.
//! - **Every error in the JSON envelope** `{"error": {"code", "message", …}}`:
//!   injected failures (429/503) first, then the API key (401, compared in
//!   constant time), then the request head (414 `uri_too_long` past 8 KiB of
//!   target, 431 `headers_too_large` past 100 headers or 16 KiB), then the
//!   route (404 `not_found`, 405 `method_not_allowed`, 400 `invalid_request`
//!   for a bad URL), then the body (413 `payload_too_large` past 2 MiB: at
//!   once for a body of unknown length or a `Content-Length` over 4 MiB, and
//!   after reading it, unkept, for a `Content-Length` up to 4 MiB, so that a
//!   client that sent a little too much gets the answer rather than a reset
//!   connection; 408 `request_timeout`). Heads over 128 KiB are refused by
//!   the HTTP parser itself, with a bare 431.
//!
//! # Bounds, with their defaults and `serve` flags
//!
//! | bound | default | flag |
//! |---|---|---|
//! | finished turns kept ([`StoreLimits::max_turns`]) | 10,000 | `--max-stored-turns` |
//! | bytes of finished turns kept ([`StoreLimits::max_bytes`]) | 256 MiB | `--store-budget` |
//! | time to send a request head ([`ConnectionLimits::header_timeout`]) | 30 s | `--header-timeout` |
//! | time to send a request body ([`ConnectionLimits::body_timeout`]) | 30 s | `--body-timeout` |
//! | idle time between requests ([`ConnectionLimits::idle_timeout`]) | 10 s | `--idle-timeout` |
//! | connections at once ([`ConnectionLimits::max_connections`]) | 1,024 | `--max-connections` |
//! | shutdown grace for requests in flight ([`ConnectionLimits::shutdown_grace`]) | 5 s | `--shutdown-grace` |
//!
//! Past the store's limits the least recently used finished turn is evicted;
//! its id then answers 404 `response_not_found`, saying it expired (and a
//! session whose turns are all evicted answers `session_not_found`, saying
//! so too). Running turns are never evicted, so memory stays bounded by the
//! budget plus the turns in flight. The API key may also come from the
//! `AGENT37_API_KEY` environment variable; `--access-log` logs one line per
//! request to stderr (see [`GatewayConfig::access_log`]).
//!
//! ```no_run
//! use agent37_stream::serve::{Gateway, GatewayConfig, Recordings, StoreLimits};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let recordings = Recordings::load_dir("testdata/recordings/valid")?;
//! let mut store = StoreLimits::default();
//! store.max_bytes = 64 << 20;
//! let config = GatewayConfig::new(recordings).api_key("sk_test").store_limits(store);
//! let (addr, handle) = Gateway::new(config).bind(([127, 0, 0, 1], 0).into()).await?;
//! println!("POST http://{addr}/v1/responses");
//! // … run a client against it …
//! println!("{} finished turns kept", handle.stored().finished_turns);
//! handle.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! Modules: [`recordings`](Recordings) (what is played), `wire` (a
//! recording's bytes cut per event), `state` (sessions, the store of turns,
//! ids), `routes` (the endpoints and the checks before them), `conn` (the
//! connection loop, its timeouts and shutdown), `body` (the SSE writer),
//! [`limits`](StoreLimits) and [`faults`](Faults).

mod body;
mod conn;
mod faults;
mod limits;
mod recordings;
mod routes;
mod state;
mod wire;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use faults::{FailStatus, Faults, ParseFailStatusError};
pub use limits::{ConnectionLimits, StoreLimits};
pub use recordings::{LoadError, Recording, RecordingError, Recordings};
pub use state::StoreStats;

/// What a [`Gateway`] plays and how it behaves.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    recordings: Recordings,
    api_key: Option<String>,
    event_interval: Duration,
    faults: Faults,
    normalize: bool,
    store: StoreLimits,
    connections: ConnectionLimits,
    access_log: bool,
}

impl GatewayConfig {
    /// Plays `recordings` byte for byte, accepts any bearer token, publishes
    /// a turn's events as fast as it can, misbehaves in no way, and keeps the
    /// [default](StoreLimits::default) store and
    /// [connection](ConnectionLimits::default) limits.
    pub fn new(recordings: Recordings) -> GatewayConfig {
        GatewayConfig {
            recordings,
            api_key: None,
            event_interval: Duration::ZERO,
            faults: Faults::default(),
            normalize: false,
            store: StoreLimits::default(),
            connections: ConnectionLimits::default(),
            access_log: false,
        }
    }

    /// Requires `Authorization: Bearer <key>` with this key (else 401
    /// `invalid_api_key`). Without one, any non-empty bearer token passes.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> GatewayConfig {
        self.api_key = Some(key.into());
        self
    }

    /// The time a turn takes between two events (the agent "working"). With
    /// it, a turn stays `in_progress` long enough to be fetched, replayed
    /// live, cancelled, or to make its session busy.
    #[must_use]
    pub fn event_interval(mut self, interval: Duration) -> GatewayConfig {
        self.event_interval = interval;
        self
    }

    /// How the gateway misbehaves.
    #[must_use]
    pub fn faults(mut self, faults: Faults) -> GatewayConfig {
        self.faults = faults;
        self
    }

    /// Writes every event anew with [`Encoder`](crate::sse::Encoder) (LF line
    /// ends, no comments, BOM or `retry`) instead of the recording's own
    /// bytes.
    #[must_use]
    pub fn normalize(mut self, normalize: bool) -> GatewayConfig {
        self.normalize = normalize;
        self
    }

    /// How many finished turns, and how many of their bytes, are kept.
    #[must_use]
    pub fn store_limits(mut self, limits: StoreLimits) -> GatewayConfig {
        self.store = limits;
        self
    }

    /// The timeouts and limits of connections.
    #[must_use]
    pub fn connection_limits(mut self, limits: ConnectionLimits) -> GatewayConfig {
        self.connections = limits;
        self
    }

    /// Logs one line per request (method, path, status, time taken, peer)
    /// as a `tracing` event of target `agent37_stream::serve::access`.
    #[must_use]
    pub fn access_log(mut self, on: bool) -> GatewayConfig {
        self.access_log = on;
        self
    }

    /// The recordings played.
    pub fn recordings(&self) -> &Recordings {
        &self.recordings
    }
}

/// A local agent37 gateway. [`bind`](Gateway::bind) it to start serving.
#[derive(Debug, Clone)]
pub struct Gateway {
    config: GatewayConfig,
}

impl Gateway {
    /// A gateway with this configuration, not yet serving.
    pub fn new(config: GatewayConfig) -> Gateway {
        Gateway { config }
    }

    /// Starts serving on `addr`, which must be a loopback address (port 0
    /// picks a free port). Returns the address bound and a handle that stops
    /// the gateway; dropping the handle stops it too.
    ///
    /// Must be called inside a Tokio runtime.
    pub async fn bind(self, addr: SocketAddr) -> io::Result<(SocketAddr, GatewayHandle)> {
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{addr} is not a loopback address: the gateway serves this machine only"),
            ));
        }
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let (hard_stop, shutdown) = watch::channel(false);
        let limits = self.config.connections.clone();
        let state = Arc::new(state::State::new(self.config, shutdown));
        let app = routes::router(Arc::clone(&state));
        let task = tokio::spawn(conn::serve(listener, app, limits, stopped, hard_stop));
        Ok((local_addr, GatewayHandle { stop, task, state }))
    }
}

/// Stops a running [`Gateway`].
pub struct GatewayHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    state: Arc<state::State>,
}

impl std::fmt::Debug for GatewayHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayHandle")
            .field("stored", &self.stored())
            .finish_non_exhaustive()
    }
}

impl GatewayHandle {
    /// Stops accepting connections, closes idle ones, and gives the requests
    /// and streams in flight [`ConnectionLimits::shutdown_grace`] to finish;
    /// then ends open streams and running turns and drops every connection.
    pub async fn shutdown(self) -> io::Result<()> {
        self.stop.send_replace(true);
        self.task.await.map_err(io::Error::other)
    }

    /// How much the store of turns holds now.
    pub fn stored(&self) -> StoreStats {
        self.state.stats()
    }
}
