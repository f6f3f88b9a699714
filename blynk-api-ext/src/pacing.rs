//! Client-wide pacing: one limiter per client, shared by every call and bulk job, so that a fleet
//! read at concurrency 10 and a web handler's single call slow down together when the server
//! says "too many requests".
//!
//! - **Adaptive rate** (on by default), as the adaptive retry mode of the AWS SDKs: no limit until
//!   the first 429; then a token bucket whose rate drops to 85% of the measured sending rate at
//!   a 429 (once per congestion event: 429s to requests sent before the last cut do not cut
//!   again) and grows back along a cubic curve (CUBIC congestion control) while requests
//!   succeed, so the client settles just under the server's limit. A server that answers 429 at
//!   random, whatever the rate, drags this rate down: turn it off there
//!   ([`Pacing::adaptive_rate`]).
//! - **`Retry-After` pauses everyone**: a 429 or 503 with `Retry-After` holds every request of the
//!   client until then, not only the call that got it.
//! - **A fixed ceiling** ([`Pacing::max_requests_per_second`], off by default).
//! - **A retry budget** ([`Pacing::retry_budget`]), as smithy's retry token bucket: 500 tokens, a
//!   retry costs 5 (10 after a timeout), a success returns 1, a successful retry returns its cost.
//!   With the bucket empty, failures are returned instead of retried, so a storm of failures
//!   cannot multiply the load. Retries after a 429 cost nothing: the server processed nothing,
//!   and slowing down for it is the limiter's job.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::clock::Clock;

/// How the client paces its requests. On by default ([`Pacing::adaptive`]).
///
/// ```
/// use blynk_api_ext::{Blynk, Pacing};
///
/// let blynk = Blynk::builder()
///     .token("my-token")
///     .pacing(Pacing::adaptive().max_requests_per_second(40.0))
///     .build()?;
/// # let _ = blynk;
/// # Ok::<(), blynk_api_ext::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Pacing {
    adaptive: bool,
    shared_pause: bool,
    max_rate: Option<f64>,
    retry_budget: Option<u32>,
}

impl Default for Pacing {
    fn default() -> Self {
        Self::adaptive()
    }
}

/// Tokens of the retry budget by default.
pub const DEFAULT_RETRY_BUDGET: u32 = 500;
/// Tokens a retry costs.
pub const RETRY_COST: u32 = 5;
/// Tokens a retry after a timeout costs.
pub const RETRY_TIMEOUT_COST: u32 = 10;

impl Pacing {
    /// The default: adaptive rate, `Retry-After` pausing every call, no fixed ceiling, a retry
    /// budget of [`DEFAULT_RETRY_BUDGET`] tokens.
    pub fn adaptive() -> Self {
        Self {
            adaptive: true,
            shared_pause: true,
            max_rate: None,
            retry_budget: Some(DEFAULT_RETRY_BUDGET),
        }
    }

    /// No pacing and no retry budget: every call retries as its [`RetryConfig`](crate::RetryConfig)
    /// allows, whatever the others do.
    pub fn disabled() -> Self {
        Self {
            adaptive: false,
            shared_pause: false,
            max_rate: None,
            retry_budget: None,
        }
    }

    /// Turns the adaptive rate on or off (the `Retry-After` pause and the ceiling stay).
    pub fn adaptive_rate(mut self, on: bool) -> Self {
        self.adaptive = on;
        self
    }

    /// Whether a `Retry-After` on a 429 or 503 holds every call of the client until then (on
    /// by default), or only the call that got it.
    pub fn shared_retry_after(mut self, on: bool) -> Self {
        self.shared_pause = on;
        self
    }

    /// Never more than this many requests per second, from this client (values below 0.1 are
    /// read as 0.1).
    pub fn max_requests_per_second(mut self, rate: f64) -> Self {
        self.max_rate = Some(if rate.is_finite() { rate.max(0.1) } else { 0.1 });
        self
    }

    /// The size of the retry budget in tokens, or `None` for no budget.
    pub fn retry_budget(mut self, tokens: Option<u32>) -> Self {
        self.retry_budget = tokens;
        self
    }
}

// The constants of the AWS SDKs' adaptive mode (smithy-rs `client_rate_limiter.rs`), except the
// cut: 0.85 instead of 0.7. Against a 50 requests/s server limit (the fleet-paced benchmark) the
// client settled at 0.84x of the limit with 0.7 and 0.89x with 0.85, under 1% of requests
// answered 429 either way; a faster cubic (scale 1.0) gave 0.90x, no real gain, so AWS's 0.4
// stays.
const MIN_FILL_RATE: f64 = 0.5;
const MIN_CAPACITY: f64 = 1.0;
const SMOOTH: f64 = 0.8;
const BETA: f64 = 0.85;
const SCALE_CONSTANT: f64 = 0.4;

/// The limiter of one client.
pub(crate) struct Pacer {
    config: Pacing,
    state: Mutex<State>,
}

struct State {
    origin: Instant,
    // Adaptive token bucket.
    enabled: bool,
    fill_rate: f64,
    max_capacity: f64,
    capacity: f64,
    last_refill: f64,
    measured_rate: f64,
    rate_bucket: f64,
    request_count: f64,
    last_max_rate: f64,
    last_throttle: f64,
    time_window: f64,
    // Fixed ceiling: the earliest time the next request may start.
    next_slot: f64,
    // Retry-After: nobody starts before this.
    paused_until: f64,
    // Retry budget.
    budget: u32,
}

impl Pacer {
    pub(crate) fn new(config: Pacing, now: Instant) -> Self {
        let budget = config.retry_budget.unwrap_or(0);
        Self {
            config,
            state: Mutex::new(State {
                origin: now,
                enabled: false,
                fill_rate: 0.0,
                max_capacity: 0.0,
                capacity: 0.0,
                last_refill: 0.0,
                measured_rate: 0.0,
                rate_bucket: 0.0,
                request_count: 0.0,
                last_max_rate: 0.0,
                last_throttle: 0.0,
                time_window: 0.0,
                next_slot: 0.0,
                paused_until: 0.0,
                budget,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Waits until a request may start; returns how long it waited.
    pub(crate) async fn acquire(&self, clock: &dyn Clock) -> Duration {
        let wait = {
            let mut s = self.lock();
            let now = s.secs(clock.now());
            let mut start = now.max(s.paused_until);
            if let Some(rate) = self.config.max_rate {
                start = start.max(s.next_slot);
                s.next_slot = start + 1.0 / rate;
            }
            if self.config.adaptive && s.enabled {
                s.refill(now);
                // Take the token now (the balance may go negative): the debt is what this
                // request waits, and later requests queue behind it.
                s.capacity -= 1.0;
                if s.capacity < 0.0 {
                    start = start.max(now + -s.capacity / s.fill_rate);
                }
            }
            start - now
        };
        if wait <= 0.0 {
            return Duration::ZERO;
        }
        let wait = Duration::from_secs_f64(wait);
        clock.sleep(wait).await;
        wait
    }

    /// Tells the limiter how an attempt sent at `sent` ended: `throttled` for a 429,
    /// `retry_after` if the server asked everyone to wait.
    pub(crate) fn record(
        &self,
        clock: &dyn Clock,
        sent: Instant,
        throttled: bool,
        retry_after: Option<Duration>,
    ) {
        let mut s = self.lock();
        let now = s.secs(clock.now());
        if let Some(wait) = retry_after.filter(|_| self.config.shared_pause) {
            s.paused_until = s.paused_until.max(now + wait.as_secs_f64());
        }
        if self.config.adaptive {
            // One cut per congestion event, as TCP makes one per window: a 429 to a request sent
            // before the last cut was already answered by that cut. Without this, the requests
            // in flight when the server's limit is reached all come back 429 and cut the rate
            // once each, far below the limit.
            let stale = throttled && s.enabled && s.secs(sent) < s.last_throttle;
            if stale {
                s.update_measured_rate(now);
            } else {
                s.update_rate(now, throttled);
            }
        }
    }

    /// Takes the cost of one retry from the budget; `false` if it is spent.
    pub(crate) fn try_retry(&self, after_timeout: bool) -> bool {
        if self.config.retry_budget.is_none() {
            return true;
        }
        let cost = if after_timeout {
            RETRY_TIMEOUT_COST
        } else {
            RETRY_COST
        };
        let mut s = self.lock();
        if s.budget < cost {
            return false;
        }
        s.budget -= cost;
        true
    }

    /// A call succeeded: a first attempt returns 1 token, a retry returns what it cost.
    pub(crate) fn succeeded(&self, retried: bool, retry_cost: u32) {
        if let Some(max) = self.config.retry_budget {
            let mut s = self.lock();
            let back = if retried { retry_cost } else { 1 };
            s.budget = (s.budget + back).min(max);
        }
    }

    /// Tokens left in the retry budget (for tests and metrics).
    pub(crate) fn budget_left(&self) -> Option<u32> {
        self.config.retry_budget.map(|_| self.lock().budget)
    }

    /// The adaptive rate in force, if 429s have switched it on (for tests and metrics).
    pub(crate) fn current_rate(&self) -> Option<f64> {
        let s = self.lock();
        (self.config.adaptive && s.enabled).then_some(s.fill_rate)
    }
}

impl State {
    fn secs(&self, now: Instant) -> f64 {
        now.saturating_duration_since(self.origin).as_secs_f64()
    }

    fn refill(&mut self, now: f64) {
        let elapsed = (now - self.last_refill).max(0.0);
        self.capacity = (self.capacity + elapsed * self.fill_rate).min(self.max_capacity);
        self.last_refill = now;
    }

    fn update_rate(&mut self, now: f64, throttled: bool) {
        self.update_measured_rate(now);
        // Before the first half-second bucket completes there is no measurement: estimate from
        // the requests of the current bucket rather than read it as zero (the AWS SDKs would then
        // drop to their minimum of 0.5 requests/s after a single early 429).
        let measured = if self.measured_rate > 0.0 {
            self.measured_rate
        } else {
            (self.request_count / 0.5).max(MIN_CAPACITY)
        };
        let calculated = if throttled {
            let rate = if self.enabled {
                measured.min(self.fill_rate)
            } else {
                measured
            };
            self.last_max_rate = rate;
            self.time_window = (self.last_max_rate * (1.0 - BETA) / SCALE_CONSTANT).cbrt();
            self.last_throttle = now;
            self.enabled = true;
            rate * BETA
        } else {
            self.time_window = (self.last_max_rate * (1.0 - BETA) / SCALE_CONSTANT).cbrt();
            let t = now - self.last_throttle - self.time_window;
            SCALE_CONSTANT * t * t * t + self.last_max_rate
        };
        let new_rate = calculated.min(2.0 * measured);
        if self.enabled {
            self.refill(now);
            self.fill_rate = new_rate.max(MIN_FILL_RATE);
            self.max_capacity = new_rate.max(MIN_CAPACITY);
            self.capacity = self.capacity.min(self.max_capacity);
        }
    }

    fn update_measured_rate(&mut self, now: f64) {
        let bucket = (now * 2.0).floor() / 2.0;
        self.request_count += 1.0;
        if bucket > self.rate_bucket {
            let current = self.request_count / (bucket - self.rate_bucket);
            self.measured_rate = current * SMOOTH + self.measured_rate * (1.0 - SMOOTH);
            self.request_count = 0.0;
            self.rate_bucket = bucket;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[tokio::test]
    async fn nothing_waits_before_the_first_throttle() {
        let clock = ManualClock::new();
        let pacer = Pacer::new(Pacing::adaptive(), clock.now());
        for _ in 0..1000 {
            assert_eq!(pacer.acquire(&clock).await, Duration::ZERO);
            pacer.record(&clock, clock.now(), false, None);
        }
        assert_eq!(pacer.current_rate(), None);
    }

    #[tokio::test]
    async fn a_throttle_lowers_the_rate_and_success_raises_it_again() {
        let clock = ManualClock::new();
        let pacer = Pacer::new(Pacing::adaptive(), clock.now());
        // 100 requests a second for two seconds, then a 429.
        for _ in 0..200 {
            pacer.acquire(&clock).await;
            pacer.record(&clock, clock.now(), false, None);
            clock.advance(Duration::from_millis(10));
        }
        pacer.record(&clock, clock.now(), true, None);
        let throttled = pacer.current_rate().unwrap();
        assert!(throttled < 100.0 && throttled > 40.0, "{throttled}");
        // Successes over the next seconds bring the rate back up.
        for _ in 0..400 {
            pacer.acquire(&clock).await;
            pacer.record(&clock, clock.now(), false, None);
        }
        let recovered = pacer.current_rate().unwrap();
        assert!(recovered > throttled, "{recovered} <= {throttled}");
    }

    #[tokio::test]
    async fn throttles_of_requests_sent_before_a_cut_do_not_cut_again() {
        let clock = ManualClock::new();
        let pacer = Pacer::new(Pacing::adaptive(), clock.now());
        for _ in 0..200 {
            pacer.acquire(&clock).await;
            pacer.record(&clock, clock.now(), false, None);
            clock.advance(Duration::from_millis(10));
        }
        // Four requests in flight together; all four come back 429.
        let sent = clock.now();
        clock.advance(Duration::from_millis(5));
        pacer.record(&clock, sent, true, None);
        let once = pacer.current_rate().unwrap();
        for _ in 0..3 {
            pacer.record(&clock, sent, true, None);
        }
        assert_eq!(pacer.current_rate(), Some(once));
        // A request sent after the cut and throttled is news: it cuts again.
        pacer.record(&clock, clock.now(), true, None);
        assert!(pacer.current_rate().unwrap() < once);
    }

    #[tokio::test]
    async fn retry_after_pauses_every_caller() {
        let clock = ManualClock::new();
        let pacer = Pacer::new(Pacing::adaptive().adaptive_rate(false), clock.now());
        pacer.record(&clock, clock.now(), true, Some(Duration::from_secs(2)));
        assert_eq!(pacer.acquire(&clock).await, Duration::from_secs(2));
        assert_eq!(pacer.acquire(&clock).await, Duration::ZERO);
        let off = Pacer::new(Pacing::disabled(), clock.now());
        off.record(&clock, clock.now(), true, Some(Duration::from_secs(2)));
        assert_eq!(off.acquire(&clock).await, Duration::ZERO);
    }

    #[tokio::test]
    async fn a_fixed_ceiling_spaces_requests() {
        let clock = ManualClock::new();
        let pacer = Pacer::new(Pacing::disabled().max_requests_per_second(4.0), clock.now());
        let start = clock.now();
        for _ in 0..9 {
            pacer.acquire(&clock).await;
        }
        assert_eq!(clock.now() - start, Duration::from_secs(2));
    }

    #[test]
    fn the_retry_budget_runs_out_and_refills_on_success() {
        let pacer = Pacer::new(Pacing::adaptive().retry_budget(Some(12)), Instant::now());
        assert!(pacer.try_retry(false));
        assert!(pacer.try_retry(false));
        assert!(!pacer.try_retry(false));
        assert_eq!(pacer.budget_left(), Some(2));
        pacer.succeeded(true, RETRY_COST);
        assert_eq!(pacer.budget_left(), Some(7));
        pacer.succeeded(false, 0);
        assert_eq!(pacer.budget_left(), Some(8));
        let unlimited = Pacer::new(Pacing::disabled(), Instant::now());
        assert!((0..1000).all(|_| unlimited.try_retry(true)));
    }
}
