//! Fault injection: the ways a gateway misbehaves on purpose so that clients
//! can be tested against slow, fragmented, dropped and refused streams.

use std::fmt;
use std::num::NonZeroUsize;
use std::str::FromStr;
use std::time::Duration;

use crate::protocol::error::{ApiError, ErrorCode};

/// The error the first requests get with [`Faults::fail_first`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum FailStatus {
    /// 429 `rate_limited`, with a `Retry-After` header.
    #[default]
    RateLimited,
    /// 503 `insufficient_capacity` (retry with backoff; no header).
    InsufficientCapacity,
}

impl FailStatus {
    /// The HTTP status: 429 or 503.
    pub fn http_status(self) -> u16 {
        match self {
            FailStatus::RateLimited => 429,
            FailStatus::InsufficientCapacity => 503,
        }
    }
}

impl fmt::Display for FailStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.http_status())
    }
}

/// A `--fail-status` value other than `429` and `503`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the failure status must be 429 or 503, not {0:?}")]
pub struct ParseFailStatusError(String);

impl FromStr for FailStatus {
    type Err = ParseFailStatusError;

    /// Reads `429` or `503` (or the code names `rate_limited`,
    /// `insufficient_capacity`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "429" | "rate_limited" => Ok(FailStatus::RateLimited),
            "503" | "insufficient_capacity" => Ok(FailStatus::InsufficientCapacity),
            other => Err(ParseFailStatusError(other.to_owned())),
        }
    }
}

/// How a gateway misbehaves. The default misbehaves in no way.
///
/// ```
/// use agent37_stream::serve::{FailStatus, Faults};
/// use std::time::Duration;
///
/// let mut faults = Faults::default();
/// faults.chunk_size = std::num::NonZeroUsize::new(1); // one byte per write
/// faults.fail_first = 2;
/// faults.fail_status = FailStatus::InsufficientCapacity;
/// faults.retry_after = Duration::from_secs(3);
/// # let _ = faults;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Faults {
    /// Writes a stream's bytes in pieces of this many bytes (across event
    /// boundaries when several events are ready at once). `None`: one write
    /// per batch of ready events.
    pub chunk_size: Option<NonZeroUsize>,
    /// Pause after each write of a stream.
    pub chunk_delay: Duration,
    /// Breaks the connection of a `POST /v1/responses` stream after this many
    /// events, halfway through the next one, when the turn has one. The turn
    /// runs on, so `GET /v1/responses/{id}/stream` replays it. Replays are
    /// never broken, so a client that resumes always gets to the end.
    pub drop_after_events: Option<usize>,
    /// Writes a `: keep-alive` comment when a stream has been idle this long.
    pub heartbeat: Option<Duration>,
    /// The first this many requests (of any endpoint, before authentication)
    /// fail with [`Faults::fail_status`].
    pub fail_first: u64,
    /// The error of the failed first requests.
    pub fail_status: FailStatus,
    /// The `Retry-After` of the injected 429, in whole seconds (rounded up).
    pub retry_after: Duration,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            chunk_size: None,
            chunk_delay: Duration::ZERO,
            drop_after_events: None,
            heartbeat: None,
            fail_first: 0,
            fail_status: FailStatus::RateLimited,
            retry_after: Duration::from_secs(1),
        }
    }
}

impl Faults {
    /// The error the request numbered `seen` (0-based, in arrival order) is
    /// refused with, if any.
    pub(crate) fn injected_failure(&self, seen: u64) -> Option<ApiError> {
        if seen >= self.fail_first {
            return None;
        }
        Some(match self.fail_status {
            FailStatus::RateLimited => ApiError::gateway(
                ErrorCode::RateLimited,
                "Too many requests; retry after the Retry-After delay.",
            )
            .with_retry_after(self.retry_after),
            FailStatus::InsufficientCapacity => ApiError::gateway(
                ErrorCode::InsufficientCapacity,
                "No room to provision right now. Safe to retry.",
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_requests_fail() {
        let faults = Faults {
            fail_first: 2,
            retry_after: Duration::from_secs(7),
            ..Faults::default()
        };
        let first = faults.injected_failure(0).unwrap();
        assert_eq!(first.status(), 429);
        assert_eq!(first.code(), Some(&ErrorCode::RateLimited));
        assert_eq!(first.retry_after_header_value().as_deref(), Some("7"));
        assert!(faults.injected_failure(1).is_some());
        assert!(faults.injected_failure(2).is_none());
        assert!(Faults::default().injected_failure(0).is_none());
    }

    #[test]
    fn capacity_failure_is_503_without_retry_after() {
        let faults = Faults {
            fail_first: 1,
            fail_status: FailStatus::InsufficientCapacity,
            ..Faults::default()
        };
        let err = faults.injected_failure(0).unwrap();
        assert_eq!(err.status(), 503);
        assert_eq!(err.code(), Some(&ErrorCode::InsufficientCapacity));
        assert_eq!(err.retry_after_header_value(), None);
    }

    #[test]
    fn fail_status_parses_both_spellings() {
        assert_eq!("429".parse(), Ok(FailStatus::RateLimited));
        assert_eq!(
            "insufficient_capacity".parse(),
            Ok(FailStatus::InsufficientCapacity)
        );
        assert!("500".parse::<FailStatus>().is_err());
        assert_eq!(FailStatus::InsufficientCapacity.to_string(), "503");
    }
}
