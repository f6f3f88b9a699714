//! When to try a request again, and how long to wait first.
//!
//! Every call counts against the organisation's monthly message quota and Blynk has no idempotency
//! key, so the default policy retries only what cannot do harm twice:
//!
//! - reads (`GET`) on 429, 500, 502, 503, 504 and transport errors (a read is safe to repeat);
//! - writes on 429 only (the server processed nothing), and on connection failures, where the
//!   request never left the machine;
//! - writes on 5xx and on transport errors after sending (timeouts, resets) only when
//!   [`RetryConfig::retry_writes_on_server_errors`] is set.
//!
//! The wait is the server's `Retry-After` when it sends one (seconds or an HTTP date; more than a
//! day is read as a day), otherwise
//! exponential backoff with full jitter: a uniformly random delay between zero and
//! `min(max_backoff, initial_backoff × 2^(attempt − 1))`. Retrying stops at `max_attempts`, or
//! when the next wait would pass `max_elapsed`.
//!
//! A 429 answer to a read does not count against `max_attempts`: the server processed nothing,
//! and under a server that refuses requests at random, counting them fails reads that a patient
//! client completes. Such reads stop at `max_elapsed`, at three times `max_attempts` attempts in
//! all, or when their other failures reach `max_attempts`.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How the client retries failed requests. Plain configuration with sensible defaults.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use blynk_api_ext::RetryConfig;
///
/// let patient = RetryConfig::standard()
///     .max_attempts(6)
///     .max_elapsed(Duration::from_secs(120));
/// let never = RetryConfig::disabled();
/// assert_eq!(never.get_max_attempts(), 1);
/// # let _ = patient;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryConfig {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_elapsed: Duration,
    retry_writes_on_server_errors: bool,
    jitter_seed: Option<u64>,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self::standard()
    }
}

impl RetryConfig {
    /// Up to 4 attempts, backoff from 200 ms capped at 20 s, at most 60 s in all; writes are not
    /// retried on server errors.
    pub fn standard() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
            max_elapsed: Duration::from_secs(60),
            retry_writes_on_server_errors: false,
            jitter_seed: None,
        }
    }

    /// One attempt, no retries.
    pub fn disabled() -> Self {
        Self::standard().max_attempts(1)
    }

    /// Attempts in all, the first included (at least 1); 429 answers to reads do not count, up
    /// to three times this many attempts in all.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff ceiling of the first retry; it doubles with each attempt.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The largest backoff (without `Retry-After`).
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The most time spent on one call, waits included, before giving up.
    pub fn max_elapsed(mut self, elapsed: Duration) -> Self {
        self.max_elapsed = elapsed;
        self
    }

    /// Also retry writes on 500, 502, 503, 504 and on transport errors after the request may
    /// have left (timeouts, resets, broken bodies). A write the server applied before failing is
    /// then applied twice, and each attempt counts against the message quota.
    /// History imports ([`Blynk::import_history`](crate::Blynk::import_history) and the calls
    /// built on it) never retry this way: they settle such outcomes against the history instead.
    pub fn retry_writes_on_server_errors(mut self, retry: bool) -> Self {
        self.retry_writes_on_server_errors = retry;
        self
    }

    /// Whether writes are retried on server errors and timeouts.
    pub(crate) fn retries_writes_on_server_errors(&self) -> bool {
        self.retry_writes_on_server_errors
    }

    /// Seeds the jitter, for reproducible delays in tests.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Attempts in all.
    pub fn get_max_attempts(&self) -> u32 {
        self.max_attempts
    }

    pub(crate) fn max_elapsed_time(&self) -> Duration {
        self.max_elapsed
    }

    pub(crate) fn seed(&self) -> Option<u64> {
        self.jitter_seed
    }

    /// The wait before attempt `attempt + 1`, or `None` to stop. `server_wait` is the response's
    /// `Retry-After`, parsed ([`retry_after`]); `throttled` how many of the `attempt` attempts
    /// so far were answered 429; `elapsed` is the time spent on this call so far.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn next_delay(
        &self,
        outcome: Outcome,
        server_wait: Option<Duration>,
        idempotent: bool,
        attempt: u32,
        throttled: u32,
        elapsed: Duration,
        rng: &mut fastrand::Rng,
    ) -> Option<Duration> {
        let counted = if idempotent {
            attempt.saturating_sub(throttled)
        } else {
            attempt
        };
        if counted >= self.max_attempts
            || attempt >= self.max_attempts.saturating_mul(3)
            || !self.should_retry(outcome, idempotent)
        {
            return None;
        }
        let server_says = match outcome {
            Outcome::Response(status)
                if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() =>
            {
                server_wait
            }
            _ => None,
        };
        let delay = server_says.unwrap_or_else(|| self.backoff(attempt, rng));
        (elapsed.saturating_add(delay) <= self.max_elapsed).then_some(delay)
    }

    /// Whether `outcome` may be retried at all, whatever the attempt count.
    pub(crate) fn should_retry(&self, outcome: Outcome, idempotent: bool) -> bool {
        let writes_too = idempotent || self.retry_writes_on_server_errors;
        match outcome {
            Outcome::Response(status) => match status.as_u16() {
                429 => true,
                500 | 502..=504 => writes_too,
                _ => false,
            },
            // Nothing was sent: safe for any request.
            Outcome::ConnectFailed => true,
            Outcome::OtherTransport => writes_too,
        }
    }

    /// Full jitter: uniform in `[0, min(max_backoff, initial × 2^(attempt−1))]`.
    pub(crate) fn backoff(&self, attempt: u32, rng: &mut fastrand::Rng) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let ceiling = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.u64(0..=nanos))
    }
}

/// The random source of backoff jitter for the attempts of one client, or of one token
/// endpoint; seeded by [`RetryConfig::jitter_seed`] when that is set.
#[derive(Debug)]
pub(crate) struct Jitter(Mutex<fastrand::Rng>);

impl Jitter {
    pub(crate) fn new(retry: &RetryConfig) -> Self {
        Self(Mutex::new(
            retry
                .seed()
                .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed),
        ))
    }

    /// Runs `f` with the generator. A panic elsewhere while it was held cannot poison it for
    /// good: a generator's state is valid whatever it was doing.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut fastrand::Rng) -> T) -> T {
        let mut rng = match self.0.lock() {
            Ok(rng) => rng,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut rng)
    }
}

/// What an attempt produced, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A response arrived.
    Response(StatusCode),
    /// The connection could not be made: the request was not sent.
    ConnectFailed,
    /// Anything else: a timeout, a reset mid-way, a broken body.
    OtherTransport,
}

/// The longest `Retry-After` taken at its word: a day. A server's larger value (up to
/// `u64::MAX` seconds) is read as this, so that no sum of waits can overflow.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Reads `Retry-After`, in seconds or as an HTTP date (a date in the past means now), at most
/// [`MAX_RETRY_AFTER`]. The one place the header is parsed: the engine calls it once per
/// response.
pub(crate) fn retry_after(headers: &HeaderMap, wall: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = httpdate::parse_http_date(value).ok()?;
            at.duration_since(wall).unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).unwrap());
        h
    }

    fn delay(
        config: &RetryConfig,
        status: u16,
        h: &HeaderMap,
        idempotent: bool,
    ) -> Option<Duration> {
        let mut rng = fastrand::Rng::with_seed(1);
        config.next_delay(
            Outcome::Response(StatusCode::from_u16(status).unwrap()),
            retry_after(h, SystemTime::UNIX_EPOCH),
            idempotent,
            1,
            0,
            Duration::ZERO,
            &mut rng,
        )
    }

    #[test]
    fn retry_after_seconds_is_honoured() {
        let d = delay(&RetryConfig::standard(), 429, &headers("7"), false);
        assert_eq!(d, Some(Duration::from_secs(7)));
    }

    #[test]
    fn retry_after_http_date_is_honoured() {
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let h = headers(&httpdate::fmt_http_date(wall + Duration::from_secs(42)));
        assert_eq!(retry_after(&h, wall), Some(Duration::from_secs(42)));
        assert_eq!(
            retry_after(&h, wall + Duration::from_secs(100)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn unparseable_retry_after_falls_back_to_backoff() {
        assert_eq!(retry_after(&headers("soon"), SystemTime::UNIX_EPOCH), None);
        let d = delay(&RetryConfig::standard(), 429, &headers("soon"), true).unwrap();
        assert!(d <= Duration::from_millis(200));
    }

    #[test]
    fn writes_are_not_retried_on_server_errors_by_default() {
        let none = HeaderMap::new();
        for status in [500, 502, 503, 504] {
            assert_eq!(
                delay(&RetryConfig::standard(), status, &none, false),
                None,
                "{status}"
            );
        }
        let opt_in = RetryConfig::standard().retry_writes_on_server_errors(true);
        for status in [500, 502, 503, 504] {
            assert!(delay(&opt_in, status, &none, false).is_some(), "{status}");
        }
    }

    #[test]
    fn reads_are_retried_on_server_and_gateway_errors() {
        let none = HeaderMap::new();
        for status in [429, 500, 502, 503, 504] {
            assert!(
                delay(&RetryConfig::standard(), status, &none, true).is_some(),
                "{status}"
            );
        }
        for status in [400, 401, 403, 404, 501] {
            assert_eq!(
                delay(&RetryConfig::standard(), status, &none, true),
                None,
                "{status}"
            );
        }
    }

    #[test]
    fn backoff_is_full_jitter_capped() {
        let config = RetryConfig::standard()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_secs(1));
        let mut rng = fastrand::Rng::with_seed(7);
        let mut max_seen = Duration::ZERO;
        for attempt in 1..=10 {
            let ceiling =
                (Duration::from_millis(100) * 2u32.pow(attempt - 1)).min(Duration::from_secs(1));
            for _ in 0..200 {
                let d = config.backoff(attempt, &mut rng);
                assert!(d <= ceiling, "attempt {attempt}: {d:?} > {ceiling:?}");
                max_seen = max_seen.max(d);
            }
        }
        // Jitter spreads over the range rather than sitting at the ceiling or at zero.
        assert!(max_seen > Duration::from_millis(900));
    }

    #[test]
    fn attempts_and_elapsed_time_bound_retries() {
        let config = RetryConfig::standard()
            .max_attempts(3)
            .max_elapsed(Duration::from_secs(10));
        let h = headers("4");
        let mut rng = fastrand::Rng::with_seed(1);
        let status = StatusCode::TOO_MANY_REQUESTS;
        let wall = SystemTime::UNIX_EPOCH;
        assert!(
            config
                .next_delay(
                    Outcome::Response(status),
                    retry_after(&h, wall),
                    true,
                    2,
                    0,
                    Duration::ZERO,
                    &mut rng
                )
                .is_some()
        );
        assert!(
            config
                .next_delay(
                    Outcome::Response(status),
                    retry_after(&h, wall),
                    true,
                    3,
                    0,
                    Duration::ZERO,
                    &mut rng
                )
                .is_none()
        );
        assert!(
            config
                .next_delay(
                    Outcome::Response(status),
                    retry_after(&h, wall),
                    true,
                    1,
                    0,
                    Duration::from_secs(7),
                    &mut rng
                )
                .is_none()
        );
    }

    #[test]
    fn a_429_to_a_read_does_not_count_against_max_attempts() {
        let config = RetryConfig::standard().max_attempts(2);
        let mut rng = fastrand::Rng::with_seed(1);
        let throttled = Outcome::Response(StatusCode::TOO_MANY_REQUESTS);
        let next = |attempt, throttled_so_far, idempotent, rng: &mut fastrand::Rng| {
            config.next_delay(
                throttled,
                None,
                idempotent,
                attempt,
                throttled_so_far,
                Duration::ZERO,
                rng,
            )
        };
        // A read: two 429s and a 500 leave one counted attempt; six attempts in all at most.
        assert!(next(3, 2, true, &mut rng).is_some());
        assert!(next(5, 4, true, &mut rng).is_some());
        assert!(next(6, 6, true, &mut rng).is_none());
        assert!(next(3, 1, true, &mut rng).is_none());
        // A write counts every attempt.
        assert!(next(2, 2, false, &mut rng).is_none());
    }

    #[test]
    fn connection_failures_are_retried_even_for_writes() {
        let config = RetryConfig::standard();
        let mut rng = fastrand::Rng::with_seed(1);
        assert!(
            config
                .next_delay(
                    Outcome::ConnectFailed,
                    None,
                    false,
                    1,
                    0,
                    Duration::ZERO,
                    &mut rng
                )
                .is_some()
        );
        assert!(
            config
                .next_delay(
                    Outcome::OtherTransport,
                    None,
                    false,
                    1,
                    0,
                    Duration::ZERO,
                    &mut rng
                )
                .is_none()
        );
        assert!(
            config
                .next_delay(
                    Outcome::OtherTransport,
                    None,
                    true,
                    1,
                    0,
                    Duration::ZERO,
                    &mut rng
                )
                .is_some()
        );
    }
}
