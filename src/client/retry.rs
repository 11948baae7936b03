//! When to try again and how long to wait: pure functions of the policy, the
//! error or the stream's `retry:` field, the attempt number and a jitter
//! draw, so that every wait can be tested without a clock.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::protocol::error::{ApiError, ErrorCode};

/// How a [`Client`](super::Client) retries refused requests and reconnects
/// dropped streams.
///
/// - A 429, a 503 and `insufficient_capacity` are retried after the
///   `Retry-After` header (delta-seconds or an HTTP date) or the body's
///   `retryAfter`, else with exponential backoff; a server asking for more
///   than [`max_wait`](Self::max_wait) is not waited for (the error is
///   returned). `instance_not_running` is retried with backoff. Validation,
///   authentication, billing and every other error are never retried.
/// - A stream cut mid-turn reconnects after the stream's `retry:` time (or
///   [`reconnect_delay`](Self::reconnect_delay)), doubled on each further
///   attempt, capped at [`max_backoff`](Self::max_backoff).
/// - Backoff waits get up to 25% more at random (jitter), so that clients cut
///   at once do not come back at once. A server-given `Retry-After` is waited
///   exactly.
///
/// ```
/// use agent37_stream::client::RetryPolicy;
/// use std::time::Duration;
///
/// let policy = RetryPolicy::default()
///     .max_retries(3)
///     .max_reconnects(10)
///     .backoff(Duration::from_millis(100), Duration::from_secs(5));
/// // The first reconnect waits the stream's `retry: 2000`, the next twice that.
/// assert_eq!(policy.reconnect_wait(0, Some(2000), 0.0), Duration::from_secs(2));
/// assert_eq!(policy.reconnect_wait(1, Some(2000), 0.0), Duration::from_secs(4));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries of one request after retryable errors (0: none).
    pub max_retries: u32,
    /// Reconnections of one streamed turn (0: none).
    pub max_reconnects: u32,
    /// The first backoff wait; each further attempt doubles it.
    pub base_backoff: Duration,
    /// The longest backoff or reconnection wait.
    pub max_backoff: Duration,
    /// The reconnection time when the stream set no `retry:`.
    pub reconnect_delay: Duration,
    /// The longest `Retry-After` obeyed; a longer one gives up at once.
    pub max_wait: Duration,
    /// Whether backoff waits get random jitter.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            max_reconnects: 5,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            reconnect_delay: Duration::from_secs(1),
            max_wait: Duration::from_secs(120),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries nor reconnects.
    pub fn never() -> Self {
        RetryPolicy::default().max_retries(0).max_reconnects(0)
    }

    /// Sets the retries of one request.
    #[must_use]
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Sets the reconnections of one turn.
    #[must_use]
    pub fn max_reconnects(mut self, reconnects: u32) -> Self {
        self.max_reconnects = reconnects;
        self
    }

    /// Sets the first backoff wait and the longest one.
    #[must_use]
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_backoff = base;
        self.max_backoff = max;
        self
    }

    /// Sets the reconnection time used when the stream set none.
    #[must_use]
    pub fn reconnect_delay(mut self, delay: Duration) -> Self {
        self.reconnect_delay = delay;
        self
    }

    /// Sets the longest `Retry-After` obeyed.
    #[must_use]
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// Turns jitter on or off.
    #[must_use]
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The wait before retrying a request refused with `error`, after
    /// `retries` retries already made; `None` when it must not be retried.
    /// `draw` is a random number in `[0, 1)` for the jitter.
    ///
    /// ```
    /// use agent37_stream::client::RetryPolicy;
    /// use agent37_stream::protocol::error::ApiError;
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::default();
    /// let limited = ApiError::from_response(429, Some("7"), b"");
    /// assert_eq!(policy.retry_wait(&limited, 0, 0.5), Some(Duration::from_secs(7)));
    /// let invalid = ApiError::from_response(401, None, br#"{"error":{"code":"invalid_api_key","message":"no"}}"#);
    /// assert_eq!(policy.retry_wait(&invalid, 0, 0.5), None);
    /// ```
    pub fn retry_wait(&self, error: &ApiError, retries: u32, draw: f64) -> Option<Duration> {
        if retries >= self.max_retries || error.is_billing() {
            return None;
        }
        if error.is_retryable() {
            return match error.retry_after() {
                Some(wait) if wait > self.max_wait => None,
                Some(wait) => Some(wait),
                None => Some(self.backoff_wait(retries, draw)),
            };
        }
        // Spec 000: "wait for running, then retry"; the instance starts on
        // its own, so waiting longer each time is all a client can do.
        if error.code() == Some(&ErrorCode::InstanceNotRunning) {
            return Some(self.backoff_wait(retries, draw));
        }
        None
    }

    /// The backoff wait of attempt `attempt` (0-based): the base doubled
    /// `attempt` times, capped, plus jitter.
    pub fn backoff_wait(&self, attempt: u32, draw: f64) -> Duration {
        self.jittered(doubled(self.base_backoff, attempt, self.max_backoff), draw)
    }

    /// The wait before reconnection `attempt` (0-based) of a stream whose
    /// `retry:` field was `retry_ms` (the last one seen): that time (or
    /// [`reconnect_delay`](Self::reconnect_delay)) doubled `attempt` times,
    /// capped at [`max_backoff`](Self::max_backoff), plus jitter.
    pub fn reconnect_wait(&self, attempt: u32, retry_ms: Option<u64>, draw: f64) -> Duration {
        let base = retry_ms.map_or(self.reconnect_delay, Duration::from_millis);
        self.jittered(doubled(base, attempt, self.max_backoff), draw)
    }

    fn jittered(&self, wait: Duration, draw: f64) -> Duration {
        if !self.jitter {
            return wait;
        }
        // Up, never down: the wait stays at least what was asked for.
        wait + wait.mul_f64(draw.clamp(0.0, 1.0) / 4.0)
    }
}

fn doubled(base: Duration, times: u32, cap: Duration) -> Duration {
    let factor = 1u32.checked_shl(times.min(31)).unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(cap)
}

/// Random draws in `[0, 1)` for jitter (splitmix64, seeded per process):
/// jitter needs spread, not unpredictability.
#[derive(Debug)]
pub(crate) struct Jitter(AtomicU64);

impl Jitter {
    pub(crate) fn new() -> Self {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(0x5eed);
        Jitter(AtomicU64::new(hasher.finish()))
    }

    pub(crate) fn draw(&self) -> f64 {
        let seed = self
            .0
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // 53 random bits: every value exact in an f64, strictly below 1.
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: u16, retry_after: Option<&str>, body: &str) -> ApiError {
        ApiError::from_response(status, retry_after, body.as_bytes())
    }

    fn gateway(status: u16, code: &str) -> ApiError {
        error(
            status,
            None,
            &format!(r#"{{"error":{{"code":"{code}","message":"m"}}}}"#),
        )
    }

    fn exact() -> RetryPolicy {
        RetryPolicy::default()
            .jitter(false)
            .backoff(Duration::from_millis(100), Duration::from_secs(1))
    }

    #[test]
    fn retry_after_header_is_waited_exactly_in_both_forms() {
        let policy = RetryPolicy::default();
        let secs = error(429, Some("3"), "");
        assert_eq!(
            policy.retry_wait(&secs, 0, 0.9),
            Some(Duration::from_secs(3))
        );
        let past = error(429, Some("Wed, 21 Oct 2015 07:28:00 GMT"), "");
        assert_eq!(policy.retry_wait(&past, 0, 0.9), Some(Duration::ZERO));
        let far = error(429, Some("Fri, 31 Dec 2100 23:59:59 GMT"), "");
        assert_eq!(policy.retry_wait(&far, 0, 0.9), None, "beyond max_wait");
    }

    #[test]
    fn body_retry_after_is_used_without_a_header() {
        let sdk = error(
            429,
            None,
            r#"{"error":{"code":"rate_limit_exceeded","message":"m","status":429,"retryAfter":60}}"#,
        );
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.retry_wait(&sdk, 0, 0.0),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            policy
                .max_wait(Duration::from_secs(59))
                .retry_wait(&sdk, 0, 0.0),
            None
        );
    }

    #[test]
    fn capacity_and_not_running_back_off_exponentially_to_the_cap() {
        let policy = exact();
        for code in [
            (503, "insufficient_capacity"),
            (409, "instance_not_running"),
        ] {
            let err = gateway(code.0, code.1);
            let waits: Vec<_> = (0..5)
                .map(|n| policy.retry_wait(&err, n, 0.0).unwrap().as_millis())
                .collect();
            assert_eq!(waits, [100, 200, 400, 800, 1000], "{code:?}");
        }
        // A bare 503 from a proxy, no envelope: retryable by its status.
        assert!(
            policy
                .retry_wait(&error(503, None, "<html>"), 0, 0.0)
                .is_some()
        );
    }

    #[test]
    fn retries_stop_at_the_limit() {
        let policy = exact().max_retries(2);
        let err = gateway(503, "insufficient_capacity");
        assert!(policy.retry_wait(&err, 1, 0.0).is_some());
        assert_eq!(policy.retry_wait(&err, 2, 0.0), None);
        assert_eq!(RetryPolicy::never().retry_wait(&err, 0, 0.0), None);
    }

    #[test]
    fn validation_auth_billing_and_others_are_never_retried() {
        let policy = RetryPolicy::default();
        for (status, code) in [
            (400, "validation_error"),
            (401, "invalid_api_key"),
            (402, "insufficient_balance"),
            (402, "instance_cap_reached"),
            (404, "session_not_found"),
            (409, "session_busy"),
            (413, "payload_too_large"),
            (401, "unauthorized"),
        ] {
            assert_eq!(
                policy.retry_wait(&gateway(status, code), 0, 0.0),
                None,
                "{code}"
            );
        }
        assert_eq!(policy.retry_wait(&error(502, None, ""), 0, 0.0), None);
    }

    #[test]
    fn reconnects_wait_retry_field_or_default_doubled_and_capped() {
        let policy = exact().reconnect_delay(Duration::from_millis(300));
        assert_eq!(
            policy.reconnect_wait(0, None, 0.0),
            Duration::from_millis(300)
        );
        assert_eq!(
            policy.reconnect_wait(0, Some(50), 0.0),
            Duration::from_millis(50)
        );
        assert_eq!(
            policy.reconnect_wait(2, Some(50), 0.0),
            Duration::from_millis(200)
        );
        assert_eq!(
            policy.reconnect_wait(9, Some(50), 0.0),
            Duration::from_secs(1)
        );
        assert_eq!(policy.reconnect_wait(40, None, 0.0), Duration::from_secs(1));
    }

    #[test]
    fn jitter_adds_up_to_a_quarter_never_less() {
        let policy = exact().jitter(true);
        assert_eq!(policy.backoff_wait(0, 0.0), Duration::from_millis(100));
        assert_eq!(policy.backoff_wait(0, 0.5), Duration::from_micros(112_500));
        assert!(policy.backoff_wait(0, 0.999_999) < Duration::from_millis(125));
        let jitter = Jitter::new();
        let draws: Vec<f64> = (0..1000).map(|_| jitter.draw()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let low = draws.iter().filter(|d| **d < 0.5).count();
        assert!((350..650).contains(&low), "{low} of 1000 below 0.5");
        // A server-given wait is not jittered.
        let err = error(429, Some("2"), "");
        assert_eq!(
            policy.retry_wait(&err, 0, 0.99),
            Some(Duration::from_secs(2))
        );
    }
}
