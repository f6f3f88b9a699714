//! Fault injection: latency, rate limiting, server errors, dropped connections and truncated bodies,
//! decided by a seeded random generator so that a run can be replayed exactly.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// How to answer 429 `Too many requests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RateLimit {
    /// A fraction of requests (0.0..=1.0), at random.
    Fraction {
        /// Share of requests answered 429.
        fraction: f64,
        /// `Retry-After` seconds to send, if any.
        #[serde(default)]
        retry_after_secs: Option<u64>,
    },
    /// A token bucket: `capacity` requests at once, refilled at `per_second`.
    TokenBucket {
        /// Burst size.
        capacity: u32,
        /// Refill rate.
        per_second: f64,
        /// `Retry-After` seconds to send, if any.
        #[serde(default)]
        retry_after_secs: Option<u64>,
    },
}

/// The faults to inject. All off by default.
///
/// ```
/// use blynk_sim::{Faults, RateLimit};
///
/// let faults = Faults {
///     latency_ms: 20,
///     rate_limit: Some(RateLimit::Fraction { fraction: 0.1, retry_after_secs: Some(1) }),
///     server_error_fraction: 0.05,
///     seed: 42,
///     ..Faults::default()
/// };
/// # let _ = faults;
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Added to every API response.
    pub latency_ms: u64,
    /// 429 answers.
    pub rate_limit: Option<RateLimit>,
    /// Share of requests answered 500 with an error body.
    pub server_error_fraction: f64,
    /// Share of requests whose connection is closed without a complete response.
    pub drop_fraction: f64,
    /// Share of responses cut off halfway through the body.
    pub truncate_fraction: f64,
    /// Seed of the random decisions.
    pub seed: u64,
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Serve { truncate: bool },
    RateLimited { retry_after_secs: Option<u64> },
    ServerError,
    Drop,
}

pub(crate) struct FaultState {
    pub(crate) faults: Faults,
    rng: fastrand::Rng,
    tokens: f64,
    refilled: Instant,
}

impl FaultState {
    pub(crate) fn new(faults: Faults) -> Self {
        let rng = fastrand::Rng::with_seed(faults.seed);
        let tokens = match &faults.rate_limit {
            Some(RateLimit::TokenBucket { capacity, .. }) => f64::from(*capacity),
            _ => 0.0,
        };
        Self {
            faults,
            rng,
            tokens,
            refilled: Instant::now(),
        }
    }

    pub(crate) fn latency(&self) -> Duration {
        Duration::from_millis(self.faults.latency_ms)
    }

    fn roll(&mut self, fraction: f64) -> bool {
        fraction > 0.0 && self.rng.f64() < fraction
    }

    pub(crate) fn decide(&mut self) -> Decision {
        match self.faults.rate_limit.clone() {
            Some(RateLimit::Fraction {
                fraction,
                retry_after_secs,
            }) if self.roll(fraction) => {
                return Decision::RateLimited { retry_after_secs };
            }
            Some(RateLimit::Fraction { .. }) => {}
            Some(RateLimit::TokenBucket {
                capacity,
                per_second,
                retry_after_secs,
            }) => {
                let now = Instant::now();
                let elapsed = now.duration_since(self.refilled).as_secs_f64();
                self.refilled = now;
                self.tokens = (self.tokens + elapsed * per_second).min(f64::from(capacity));
                if self.tokens < 1.0 {
                    return Decision::RateLimited { retry_after_secs };
                }
                self.tokens -= 1.0;
            }
            None => {}
        }
        let (server_error, drop, truncate) = (
            self.faults.server_error_fraction,
            self.faults.drop_fraction,
            self.faults.truncate_fraction,
        );
        if self.roll(server_error) {
            return Decision::ServerError;
        }
        if self.roll(drop) {
            return Decision::Drop;
        }
        Decision::Serve {
            truncate: self.roll(truncate),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_replay_under_the_same_seed() {
        let faults = Faults {
            server_error_fraction: 0.3,
            drop_fraction: 0.2,
            truncate_fraction: 0.2,
            rate_limit: Some(RateLimit::Fraction {
                fraction: 0.2,
                retry_after_secs: None,
            }),
            seed: 7,
            ..Faults::default()
        };
        let run = || {
            let mut state = FaultState::new(faults.clone());
            (0..200).map(|_| state.decide()).collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        assert!(first.contains(&Decision::ServerError));
        assert!(first.contains(&Decision::Drop));
        assert!(first.contains(&Decision::Serve { truncate: true }));
        assert!(first.contains(&Decision::Serve { truncate: false }));
    }

    #[test]
    fn a_token_bucket_allows_its_burst_then_limits() {
        let mut state = FaultState::new(Faults {
            rate_limit: Some(RateLimit::TokenBucket {
                capacity: 3,
                per_second: 0.001,
                retry_after_secs: Some(2),
            }),
            ..Faults::default()
        });
        let decisions: Vec<_> = (0..5).map(|_| state.decide()).collect();
        assert_eq!(
            decisions,
            [
                Decision::Serve { truncate: false },
                Decision::Serve { truncate: false },
                Decision::Serve { truncate: false },
                Decision::RateLimited {
                    retry_after_secs: Some(2)
                },
                Decision::RateLimited {
                    retry_after_secs: Some(2)
                },
            ]
        );
    }
}
