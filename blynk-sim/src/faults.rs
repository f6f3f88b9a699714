//! Global faults: latency, rate limiting, server errors, dropped connections and truncated bodies
//! as shares of every API request, decided by a seeded random generator so that a run can be
//! replayed exactly. Faults aimed at one operation, device or call are [`crate::rules`].

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::clock::TokenBucket;

/// How to answer 429 `Too many requests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
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
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every API response, in real time: never less. In the `bulk-read` benchmark a
    /// 20 ms latency made a read take 20.5 ms at p50, request included (with tokio's
    /// millisecond timer alone it took 21.4 ms).
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

/// A fault configuration that cannot apply, with what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FaultError {
    /// A share outside `0.0..=1.0`, or NaN.
    #[error("{name} must be a share between 0 and 1, got {value}")]
    Fraction {
        /// The field (`server_error_fraction`, ...).
        name: &'static str,
        /// What was given.
        value: f64,
    },
    /// A refill rate that is negative, infinite or NaN.
    #[error("{name} must be a finite rate of at least 0 per second, got {value}")]
    Rate {
        /// The field.
        name: &'static str,
        /// What was given.
        value: f64,
    },
    /// Rules that are not valid JSON of the documented shape.
    #[error("rules are not valid JSON of the expected shape: {0}")]
    Json(String),
    /// A rule naming an operation the document does not have.
    #[error(
        "unknown operation id {0:?} (expected one of the document's operationIds, or oauth2Token)"
    )]
    UnknownOperation(String),
    /// A rule that cannot fire as written.
    #[error("rule {index}: {problem}")]
    Rule {
        /// Its position in the list, from 0.
        index: usize,
        /// What is wrong.
        problem: String,
    },
}

/// Checks a share: `0.0..=1.0`, not NaN.
pub(crate) fn check_fraction(name: &'static str, value: f64) -> Result<(), FaultError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(FaultError::Fraction { name, value })
    }
}

/// Checks a refill rate: finite, not negative.
pub(crate) fn check_rate(name: &'static str, value: f64) -> Result<(), FaultError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(FaultError::Rate { name, value })
    }
}

impl Faults {
    /// Refuses shares outside `0..=1`, NaN, and rates that are negative or not finite.
    pub fn validate(&self) -> Result<(), FaultError> {
        check_fraction("server_error_fraction", self.server_error_fraction)?;
        check_fraction("drop_fraction", self.drop_fraction)?;
        check_fraction("truncate_fraction", self.truncate_fraction)?;
        match &self.rate_limit {
            Some(RateLimit::Fraction { fraction, .. }) => {
                check_fraction("rate_limit.fraction", *fraction)
            }
            Some(RateLimit::TokenBucket { per_second, .. }) => {
                check_rate("rate_limit.per_second", *per_second)
            }
            None => Ok(()),
        }
    }
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
    bucket: Option<TokenBucket>,
}

impl FaultState {
    pub(crate) fn new(faults: Faults, now: SystemTime) -> Self {
        let rng = fastrand::Rng::with_seed(faults.seed);
        let bucket = match &faults.rate_limit {
            Some(RateLimit::TokenBucket {
                capacity,
                per_second,
                ..
            }) => Some(TokenBucket::new(*capacity, *per_second, now)),
            _ => None,
        };
        Self {
            faults,
            rng,
            bucket,
        }
    }

    pub(crate) fn latency(&self) -> Duration {
        Duration::from_millis(self.faults.latency_ms)
    }

    fn roll(&mut self, fraction: f64) -> bool {
        fraction > 0.0 && self.rng.f64() < fraction
    }

    pub(crate) fn decide(&mut self, now: SystemTime) -> Decision {
        match self.faults.rate_limit.clone() {
            Some(RateLimit::Fraction {
                fraction,
                retry_after_secs,
            }) if self.roll(fraction) => {
                return Decision::RateLimited { retry_after_secs };
            }
            Some(RateLimit::TokenBucket {
                retry_after_secs, ..
            }) if !self.bucket.as_mut().is_some_and(|b| b.take(now)) => {
                return Decision::RateLimited { retry_after_secs };
            }
            _ => {}
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
            let now = SystemTime::now();
            let mut state = FaultState::new(faults.clone(), now);
            (0..200).map(|_| state.decide(now)).collect::<Vec<_>>()
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
        let now = SystemTime::now();
        let mut state = FaultState::new(
            Faults {
                rate_limit: Some(RateLimit::TokenBucket {
                    capacity: 3,
                    per_second: 0.001,
                    retry_after_secs: Some(2),
                }),
                ..Faults::default()
            },
            now,
        );
        let decisions: Vec<_> = (0..5).map(|_| state.decide(now)).collect();
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

    #[test]
    fn shares_outside_0_to_1_and_nan_are_refused() {
        for bad in [f64::NAN, -0.1, 5.0, f64::INFINITY] {
            let faults = Faults {
                drop_fraction: bad,
                ..Faults::default()
            };
            let err = faults.validate().unwrap_err();
            assert!(err.to_string().contains("drop_fraction"), "{err}");
        }
        let rate = Faults {
            rate_limit: Some(RateLimit::Fraction {
                fraction: f64::NAN,
                retry_after_secs: None,
            }),
            ..Faults::default()
        };
        assert!(rate.validate().is_err());
        assert!(Faults::default().validate().is_ok());
    }
}
