//! Client-wide pacing: one limiter per client, shared by every call and bulk job, so that a fleet
//! read at concurrency 10 and a web handler's single call slow down together when the server
//! says "too many requests".
//!
//! - **Adaptive rate** (on by default), after the adaptive retry mode of the AWS SDKs: no limit
//!   until the first 429; then a token bucket whose rate drops at a 429 and grows back along a
//!   cubic curve (CUBIC congestion control) while requests succeed, so the client settles just
//!   under the server's limit. What differs from the AWS SDKs is how a 429 is read:
//!   - a cut needs evidence: at least 30 responses to requests sent since the last cut, with a
//!     share of 429s above the server's *background* share (below), by more than two standard
//!     deviations of that share plus one response (one cut per congestion event, as TCP makes one
//!     per window; 429s to requests sent before a cut never cut again);
//!   - a cut goes to 90% of the rate the server *accepted* (non-429 answers per second, recent
//!     half-seconds, net of the background share), or of the rate we sent at if lower: far above
//!     a limit, one cut lands just under it instead of many 15% steps;
//!   - random refusals are recognised: when a window sent at most 85% of the previous window's
//!     rate and its share of 429s is the same within the two windows' noise, sending slower did
//!     not help. The 429s are not about our rate: the cut is undone (the previous rate restored)
//!     and that share becomes the background, which later windows must exceed to cut. A window of
//!     120 responses closes without a cut, and a background it no longer sees decays by half.
//!
//!   A server that refuses 30% of requests at random whatever the rate therefore costs a cut or
//!   two, then is ignored; a server-side token bucket is found within a few windows.
//! - **`Retry-After` pauses everyone**: a 429 or 503 with `Retry-After` holds every request of the
//!   client until then, not only the call that got it, for at most the client's
//!   [`RetryConfig::max_elapsed`](crate::RetryConfig::max_elapsed) (60 s by default): no call
//!   would wait longer for its own retry, so none is held longer for another's.
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
    /// by default; for at most the client's
    /// [`RetryConfig::max_elapsed`](crate::RetryConfig::max_elapsed)), or only the call that got
    /// it.
    pub fn shared_retry_after(mut self, on: bool) -> Self {
        self.shared_pause = on;
        self
    }

    /// Never more than this many requests per second, from this client (values below 0.1 are
    /// read as 0.1; an infinite rate, or NaN, means no ceiling).
    pub fn max_requests_per_second(mut self, rate: f64) -> Self {
        self.max_rate = rate.is_finite().then(|| rate.max(0.1));
        self
    }

    /// The size of the retry budget in tokens, or `None` for no budget.
    pub fn retry_budget(mut self, tokens: Option<u32>) -> Self {
        self.retry_budget = tokens;
        self
    }
}

// The constants of the AWS SDKs' adaptive mode (smithy-rs `client_rate_limiter.rs`), except the
// cut (see `State::cut`).
const MIN_FILL_RATE: f64 = 0.5;
const MIN_CAPACITY: f64 = 1.0;
const SMOOTH: f64 = 0.8;
const SCALE_CONSTANT: f64 = 0.4;
/// A cut sets the rate to this share of the rate the server accepted.
const BETA: f64 = 0.9;
/// Requests saved up while idle may start at once, up to this many seconds' worth of the rate
/// (the AWS SDKs allow a second's worth; a server's own bucket is often smaller).
const BURST_SECS: f64 = 0.25;
/// Responses (to requests sent since the last cut) needed before a 429 may cut again.
const MIN_WINDOW: u32 = 30;
/// A window this long closes without a cut, so that the comparison stays recent.
const MAX_WINDOW: u32 = 120;
/// Two windows are compared only if the later one sent at most this share of the earlier's rate.
const SLOWER: f64 = 0.85;

/// The limiter of one client.
pub(crate) struct Pacer {
    config: Pacing,
    /// The longest a `Retry-After` holds every call.
    max_pause: Duration,
    state: Mutex<State>,
}

/// Responses to the requests sent since the last cut.
#[derive(Clone, Copy)]
struct Window {
    /// Requests sent at or after this time count.
    start: f64,
    /// The earliest send time among them.
    began: f64,
    responses: u32,
    throttled: u32,
}

impl Window {
    fn new(start: f64) -> Self {
        Self {
            start,
            began: f64::INFINITY,
            responses: 0,
            throttled: 0,
        }
    }

    fn share(&self) -> f64 {
        f64::from(self.throttled) / f64::from(self.responses.max(1))
    }

    fn span(&self, now: f64) -> f64 {
        (now - self.began).max(0.01)
    }
}

/// What a closed window measured.
#[derive(Clone, Copy)]
struct Summary {
    /// Responses per second.
    rate: f64,
    share: f64,
    responses: u32,
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
    accepted_rate: f64,
    rate_bucket: f64,
    request_count: f64,
    accepted_count: f64,
    first_response: Option<f64>,
    last_max_rate: f64,
    last_throttle: f64,
    time_window: f64,
    // Whether 429s follow our rate.
    window: Window,
    previous: Option<Summary>,
    background: f64,
    // Fixed ceiling: the earliest time the next request may start.
    next_slot: f64,
    // Retry-After: nobody starts before this.
    paused_until: f64,
    // Retry budget.
    budget: u32,
}

impl Pacer {
    /// A limiter for a client whose calls give up on waits past `max_pause` (its
    /// [`RetryConfig::max_elapsed`](crate::RetryConfig::max_elapsed)).
    pub(crate) fn new(config: Pacing, now: Instant, max_pause: Duration) -> Self {
        let budget = config.retry_budget.unwrap_or(0);
        Self {
            config,
            max_pause,
            state: Mutex::new(State {
                origin: now,
                enabled: false,
                fill_rate: 0.0,
                max_capacity: 0.0,
                capacity: 0.0,
                last_refill: 0.0,
                measured_rate: 0.0,
                accepted_rate: 0.0,
                rate_bucket: 0.0,
                request_count: 0.0,
                accepted_count: 0.0,
                first_response: None,
                last_max_rate: 0.0,
                last_throttle: 0.0,
                time_window: 0.0,
                window: Window::new(0.0),
                previous: None,
                background: 0.0,
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
        if !self.config.paces() {
            return Duration::ZERO;
        }
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
        let wait = Duration::try_from_secs_f64(wait).unwrap_or(self.max_pause);
        clock.sleep(wait).await;
        wait
    }

    /// Tells the limiter how an attempt sent at `sent` ended at `ended`: `throttled` for a 429,
    /// `retry_after` if the server asked everyone to wait.
    pub(crate) fn record(
        &self,
        ended: Instant,
        sent: Instant,
        throttled: bool,
        retry_after: Option<Duration>,
    ) {
        let shared_pause = retry_after.filter(|_| self.config.shared_pause);
        if !self.config.adaptive && shared_pause.is_none() {
            return;
        }
        let mut s = self.lock();
        let now = s.secs(ended);
        if let Some(wait) = shared_pause {
            let wait = wait.min(self.max_pause);
            s.paused_until = s.paused_until.max(now + wait.as_secs_f64());
        }
        if self.config.adaptive {
            let sent = s.secs(sent);
            s.observe(now, sent, throttled);
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
            s.budget = s.budget.saturating_add(back).min(max);
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

impl Pacing {
    /// Whether `acquire` can ever make a request wait.
    fn paces(&self) -> bool {
        self.adaptive || self.shared_pause || self.max_rate.is_some()
    }
}

/// Two standard deviations of a share measured over `n` responses, plus one response's worth.
fn noise(share: f64, n: f64) -> f64 {
    2.0 * (share * (1.0 - share) / n).sqrt() + 1.0 / n
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

    /// One response, to a request sent at `sent`.
    fn observe(&mut self, now: f64, sent: f64, throttled: bool) {
        self.update_measured_rate(now, throttled);
        if sent >= self.window.start {
            self.window.responses += 1;
            self.window.throttled += u32::from(throttled);
            self.window.began = self.window.began.min(sent);
        }
        if !throttled {
            if self.enabled {
                self.grow(now);
            }
            self.close_long_window(now);
            return;
        }
        if !self.enabled {
            // The first 429: start pacing just under the rate we were sending at.
            let base = self.measured(now);
            self.enabled = true;
            self.last_refill = now;
            self.capacity = 0.0;
            self.set_rate(now, base, BETA * base);
            self.roll_window(now);
            return;
        }
        // One cut per congestion event, as TCP makes one per window: a 429 to a request sent
        // before the last cut was already answered by that cut.
        if sent < self.last_throttle || self.window.responses < MIN_WINDOW {
            return;
        }
        let n = f64::from(self.window.responses);
        let share = self.window.share();
        if share <= self.background + noise(self.background, n) {
            // No more refusals than the server gives whatever our rate.
            self.close_long_window(now);
            return;
        }
        let rate = n / self.window.span(now);
        if let Some(previous) = self.previous
            && previous.responses >= MIN_WINDOW
            && rate <= SLOWER * previous.rate
        {
            let m = f64::from(previous.responses);
            let pooled = (share * n + previous.share * m) / (n + m);
            let spread = 2.0 * (pooled * (1.0 - pooled) * (1.0 / n + 1.0 / m)).sqrt();
            if (share - previous.share).abs() <= spread {
                // Sending slower did not lower the share of 429s: they are not about our rate.
                // Undo the cut and take that share as the server's background.
                self.background = pooled;
                // Aim the curve back at the previous rate.
                let target = previous.rate.max(self.fill_rate);
                let current = self.fill_rate;
                self.set_rate(now, target, current);
                self.roll_window(now);
                return;
            }
        }
        // The server limits our rate: go just under the rate it accepted, net of its
        // background refusals (far above a limit that is much lower than what we send).
        let base = self.measured(now).min(self.fill_rate);
        let accepted = if self.accepted_rate > 0.0 {
            self.accepted_rate
        } else {
            f64::from(self.window.responses - self.window.throttled) / self.window.span(now)
        };
        let accepted = accepted.max(MIN_FILL_RATE) / (1.0 - self.background).max(0.05);
        let ceiling = base.min(accepted);
        self.set_rate(now, ceiling, BETA * ceiling);
        self.roll_window(now);
    }

    /// Starts a new window at `now`, keeping what the closed one measured.
    fn roll_window(&mut self, now: f64) {
        if self.window.responses > 0 {
            self.previous = Some(Summary {
                rate: f64::from(self.window.responses) / self.window.span(now),
                share: self.window.share(),
                responses: self.window.responses,
            });
        }
        self.window = Window::new(now);
    }

    /// Closes a long window without a cut; a background share it no longer sees decays.
    fn close_long_window(&mut self, now: f64) {
        if self.window.responses >= MAX_WINDOW {
            let share = self.window.share();
            if share < self.background {
                self.background = (self.background + share) / 2.0;
            }
            self.roll_window(now);
        }
    }

    /// The rate we have been sending at: the smoothed half-second measurement, or before the
    /// first half-second completes, the responses so far over the time they took.
    fn measured(&self, now: f64) -> f64 {
        if self.measured_rate > 0.0 {
            return self.measured_rate;
        }
        let since = self.first_response.unwrap_or(now).max(self.rate_bucket);
        (self.request_count / (now - since).max(0.01)).max(MIN_CAPACITY)
    }

    /// Sets the rate to `rate`, on a cubic curve that climbs back to `max_rate` and beyond. The
    /// tokens saved up at the old rate are dropped: a burst is what the server just refused.
    fn set_rate(&mut self, now: f64, max_rate: f64, rate: f64) {
        self.last_max_rate = max_rate;
        self.time_window = ((max_rate - rate).max(0.0) / SCALE_CONSTANT).cbrt();
        self.last_throttle = now;
        self.apply(now, rate);
        self.capacity = self.capacity.min(MIN_CAPACITY);
    }

    /// A success: the rate grows along the cubic curve (CUBIC congestion control).
    fn grow(&mut self, now: f64) {
        let t = now - self.last_throttle - self.time_window;
        let calculated = SCALE_CONSTANT * t * t * t + self.last_max_rate;
        let rate = calculated.min(2.0 * self.measured(now));
        self.apply(now, rate);
    }

    fn apply(&mut self, now: f64, rate: f64) {
        self.refill(now);
        self.fill_rate = rate.max(MIN_FILL_RATE);
        self.max_capacity = (rate * BURST_SECS).max(MIN_CAPACITY);
        self.capacity = self.capacity.min(self.max_capacity);
    }

    fn update_measured_rate(&mut self, now: f64, throttled: bool) {
        self.first_response.get_or_insert(now);
        let bucket = (now * 2.0).floor() / 2.0;
        self.request_count += 1.0;
        self.accepted_count += f64::from(u8::from(!throttled));
        if bucket > self.rate_bucket {
            let span = bucket - self.rate_bucket;
            let current = self.request_count / span;
            self.measured_rate = current * SMOOTH + self.measured_rate * (1.0 - SMOOTH);
            let accepted = self.accepted_count / span;
            self.accepted_rate = accepted * SMOOTH + self.accepted_rate * (1.0 - SMOOTH);
            self.request_count = 0.0;
            self.accepted_count = 0.0;
            self.rate_bucket = bucket;
        }
    }
}

#[cfg(test)]
mod tests;
