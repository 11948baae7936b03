//! The bounds a gateway keeps: on the turns it remembers, and on the
//! connections it serves.

use std::time::Duration;

/// How many finished turns a gateway keeps, and how many bytes of them.
///
/// Past either limit the least recently used finished turn (created, fetched,
/// replayed or cancelled last) is evicted: its id then answers 404
/// `response_not_found`, saying it expired. Running turns are never evicted
/// and do not count. A turn is charged for the bytes of its stream, its
/// bookkeeping and its response object.
///
/// ```
/// use agent37_stream::serve::StoreLimits;
///
/// let mut limits = StoreLimits::default();
/// assert_eq!(limits.max_bytes, 256 << 20);
/// limits.max_turns = 100;
/// # let _ = limits;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreLimits {
    /// The most finished turns kept. Default: 10,000.
    pub max_turns: usize,
    /// The most bytes of finished turns kept. Default: 256 MiB.
    pub max_bytes: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            max_turns: 10_000,
            max_bytes: 256 << 20,
        }
    }
}

/// The timeouts and limits of a gateway's connections.
///
/// ```
/// use agent37_stream::serve::ConnectionLimits;
/// use std::time::Duration;
///
/// let mut limits = ConnectionLimits::default();
/// assert_eq!(limits.header_timeout, Duration::from_secs(30));
/// limits.idle_timeout = Duration::from_secs(1);
/// # let _ = limits;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionLimits {
    /// The time a client has to send a request's head (line and headers),
    /// from the moment the connection waits for it; past it the connection
    /// is closed without an answer. Default: 30 s.
    pub header_timeout: Duration,
    /// The time a client has to send a request's body once its head is in;
    /// past it the answer is 408 `request_timeout` and the connection is
    /// closed. Default: 30 s.
    pub body_timeout: Duration,
    /// How long a connection may wait, between requests, for the next one
    /// before it is closed. Default: 10 s.
    pub idle_timeout: Duration,
    /// The most connections served at once; more wait to be accepted.
    /// Default: 1,024.
    pub max_connections: usize,
    /// On shutdown, how long requests and streams in flight are given to
    /// finish before they are cut. Default: 5 s.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(10),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// The longest request target answered; longer ones get 414.
pub(crate) const MAX_URI_BYTES: usize = 8 << 10;

/// The most bytes of request headers answered; more get 431.
pub(crate) const MAX_HEADER_BYTES: usize = 16 << 10;

/// The most request headers answered; more get 431.
pub(crate) const MAX_HEADERS: usize = 100;

/// What the HTTP parser buffers for a request head. Heads between the limits
/// above and this get the JSON envelope; larger ones get the parser's own
/// bare 431.
pub(crate) const MAX_HEAD_BUFFER: usize = 128 << 10;

/// The headers the parser accepts (the limit above answers past
/// [`MAX_HEADERS`]).
pub(crate) const PARSER_MAX_HEADERS: usize = 400;
