//! Time, as the client sees it: when a token expires, how long to wait before a retry.
//!
//! The client reads time and sleeps only through a [`Clock`]. [`SystemClock`] (the default) is the
//! real one. [`ManualClock`] is a virtual clock for tests, yours and ours: it never waits, records
//! every sleep, and moves forward only when something sleeps on it or the test calls
//! [`ManualClock::advance`]. Backoff and token expiry can then be tested in microseconds and
//! without flakiness.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use blynk_api::hooks::BoxFuture;

/// A source of time and a way to wait.
pub trait Clock: Send + Sync + 'static {
    /// A monotonic reading, for deadlines and expiry.
    fn now(&self) -> Instant;
    /// Wall-clock time, for HTTP dates (`Retry-After`) and import timestamps.
    fn wall(&self) -> SystemTime;
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// The real clock: `Instant::now`, `SystemTime::now` and `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A virtual clock for tests: sleeping advances it instantly and is recorded.
///
/// Clones share the same time.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use blynk_api_ext::clock::{Clock, ManualClock};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let clock = ManualClock::new();
/// let start = clock.now();
/// clock.sleep(Duration::from_secs(30)).await; // returns at once
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(clock.now() - start, Duration::from_secs(35));
/// assert_eq!(clock.sleeps(), vec![Duration::from_secs(30)]);
/// # }
/// ```
#[derive(Clone)]
pub struct ManualClock {
    start: Instant,
    wall_start: SystemTime,
    state: Arc<Mutex<ManualState>>,
}

#[derive(Default)]
struct ManualState {
    elapsed: Duration,
    sleeps: Vec<Duration>,
}

impl ManualClock {
    /// A clock starting now, at the current wall-clock time.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            wall_start: SystemTime::now(),
            state: Arc::default(),
        }
    }

    /// Moves the clock forward without recording a sleep.
    pub fn advance(&self, by: Duration) {
        if let Ok(mut state) = self.state.lock() {
            state.elapsed += by;
        }
    }

    /// Every duration slept on this clock, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state
            .lock()
            .map(|s| s.sleeps.clone())
            .unwrap_or_default()
    }

    fn elapsed(&self) -> Duration {
        self.state.lock().map(|s| s.elapsed).unwrap_or_default()
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("elapsed", &self.elapsed())
            .finish()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + self.elapsed()
    }

    fn wall(&self) -> SystemTime {
        self.wall_start + self.elapsed()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        if let Ok(mut state) = self.state.lock() {
            state.elapsed += duration;
            state.sleeps.push(duration);
        }
        Box::pin(async {})
    }
}
