//! Counters for tests and benchmarks: requests in flight now and at most, and calls per operation,
//! so a test can assert "at most 4 imports at once" or "exactly 3 batch reads" without a fake server.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use crate::lock;

/// A snapshot of the counters (`GET /__sim/counters`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct Counters {
    /// API and token requests being handled now.
    pub in_flight: usize,
    /// The most handled at once since the start or the last reset.
    pub max_in_flight: usize,
    /// Requests received per operation (`importDeviceBatchData`, `oauth2Token`, ...).
    pub calls: BTreeMap<String, u64>,
}

#[derive(Default)]
pub(crate) struct Live {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    calls: Mutex<BTreeMap<&'static str, u64>>,
}

/// Counts a request as in flight until dropped.
pub(crate) struct InFlight<'a>(&'a Live);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Live {
    /// Counts a call of `operation` and holds it in flight.
    pub(crate) fn enter(&self, operation: &'static str) -> InFlight<'_> {
        *lock(&self.calls).entry(operation).or_default() += 1;
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(self)
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    pub(crate) fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    pub(crate) fn calls(&self, operation: &str) -> u64 {
        lock(&self.calls).get(operation).copied().unwrap_or(0)
    }

    pub(crate) fn snapshot(&self) -> Counters {
        Counters {
            in_flight: self.in_flight(),
            max_in_flight: self.max_in_flight(),
            calls: lock(&self.calls)
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
        }
    }

    /// Zeroes the per-operation counts and the maximum (which restarts from what is in flight).
    pub(crate) fn reset(&self) {
        lock(&self.calls).clear();
        self.max_in_flight.store(self.in_flight(), Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_rises_and_falls_and_the_maximum_stays() {
        let live = Live::default();
        let a = live.enter("x");
        let b = live.enter("x");
        assert_eq!((live.in_flight(), live.max_in_flight()), (2, 2));
        drop(a);
        drop(b);
        let _c = live.enter("y");
        assert_eq!((live.in_flight(), live.max_in_flight()), (1, 2));
        assert_eq!(
            (live.calls("x"), live.calls("y"), live.calls("z")),
            (2, 1, 0)
        );
        live.reset();
        assert_eq!((live.max_in_flight(), live.calls("x")), (1, 0));
    }
}
