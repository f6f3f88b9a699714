//! The simulator's clock (the wall clock plus an offset tests move forward) and the one token
//! bucket on it, used by the fault rate limit and the per-device import limit alike.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The wall clock plus an offset that only grows ([`crate::BlynkSim::advance_clock`]), or, when
/// frozen ([`crate::SimBuilder::frozen_clock`]), a fixed start plus that offset: then time moves
/// only when a test moves it, so nothing a test checks depends on how fast the machine runs.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset_nanos: AtomicU64,
    frozen_at: Option<SystemTime>,
}

impl Clock {
    /// A clock that stands still at `start` until advanced.
    pub(crate) fn frozen_at(start: SystemTime) -> Self {
        Self {
            offset_nanos: AtomicU64::new(0),
            frozen_at: Some(start),
        }
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.frozen_at.unwrap_or_else(SystemTime::now)
            + Duration::from_nanos(self.offset_nanos.load(Ordering::SeqCst))
    }

    pub(crate) fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update never fails with a closure that always returns Some.
        let _ = self
            .offset_nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                Some(o.saturating_add(nanos))
            });
    }
}

/// Milliseconds since the epoch (the API's timestamps).
pub(crate) fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A token bucket: `capacity` at once, refilled at `per_second`, on the simulator's clock.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    at: SystemTime,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(capacity: u32, per_second: f64, now: SystemTime) -> Self {
        Self {
            capacity: f64::from(capacity),
            per_second,
            tokens: f64::from(capacity),
            at: now,
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn take(&mut self, now: SystemTime) -> bool {
        let elapsed = now
            .duration_since(self.at)
            .unwrap_or_default()
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.at = self.at.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// How early tokio's timer is asked to wake before an injected delay ends; the rest is slept on a
/// blocking thread.
const COARSE_MARGIN: Duration = Duration::from_millis(2);

/// Waits `delay` of real time (injected latency and `delay` rules), as closely as the OS allows.
///
/// tokio's timer works in whole milliseconds and rounds a deadline up: with a plain
/// `tokio::time::sleep`, a read against a 20 ms latency took 21.3–21.8 ms in the `bulk-read`
/// benchmark (20.3–20.6 ms now), a simulated latency 7–9% longer than asked, which a client
/// benchmark would be billed for. Here the timer wakes about
/// [`COARSE_MARGIN`] early and a blocking thread sleeps the rest, which the OS ends close to the
/// deadline (Linux's default timer slack is 50 µs). The wait is never shorter than `delay`.
pub(crate) async fn sleep_precisely(delay: Duration) {
    // A delay past what `Instant` can hold (`latency_ms: u64::MAX`) is forever, as tokio's own
    // timer takes it; adding it would overflow.
    let Some(deadline) = std::time::Instant::now().checked_add(delay) else {
        tokio::time::sleep(delay).await;
        return;
    };
    if delay > COARSE_MARGIN {
        tokio::time::sleep_until((deadline - COARSE_MARGIN).into()).await;
    }
    let rest = deadline.saturating_duration_since(std::time::Instant::now());
    if rest.is_zero() {
        return;
    }
    // The blocking pool is part of every tokio runtime; if it cannot take the task (the runtime
    // is shutting down), fall back to the coarse timer rather than block a worker.
    if tokio::task::spawn_blocking(move || std::thread::sleep(rest))
        .await
        .is_err()
    {
        tokio::time::sleep_until(deadline.into()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_refills_as_the_clock_advances() {
        let clock = Clock::default();
        let mut bucket = TokenBucket::new(2, 1.0, clock.now());
        assert!(bucket.take(clock.now()));
        assert!(bucket.take(clock.now()));
        assert!(!bucket.take(clock.now()));
        clock.advance(Duration::from_secs(1));
        assert!(bucket.take(clock.now()));
        clock.advance(Duration::from_secs(3600));
        assert!(bucket.take(clock.now()) && bucket.take(clock.now()));
        assert!(!bucket.take(clock.now()), "never above capacity");
    }

    /// Only lower bounds are asserted: how late a wait ends depends on the machine's load.
    #[test]
    fn a_precise_sleep_is_never_shorter_than_asked() {
        for flavour in ["current_thread", "multi_thread"] {
            let runtime = match flavour {
                "current_thread" => tokio::runtime::Builder::new_current_thread(),
                _ => tokio::runtime::Builder::new_multi_thread(),
            }
            .enable_all()
            .build()
            .unwrap();
            runtime.block_on(async {
                // Too long to add to an instant: waits (forever), does not panic.
                let forever = tokio::time::timeout(
                    Duration::from_millis(30),
                    sleep_precisely(Duration::from_millis(u64::MAX)),
                )
                .await;
                assert!(forever.is_err(), "{flavour}: u64::MAX ms ended");
                for ms in [0u64, 1, 2, 3, 25] {
                    let asked = Duration::from_millis(ms);
                    let start = std::time::Instant::now();
                    sleep_precisely(asked).await;
                    assert!(start.elapsed() >= asked, "{flavour}: {ms} ms");
                }
            });
        }
    }
}
