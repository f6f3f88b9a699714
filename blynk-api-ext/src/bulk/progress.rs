//! Progress of a bulk operation, reported to a callback (for a progress bar).

use std::fmt;
use std::sync::Arc;

/// How far a bulk operation has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Items done: devices read, points imported or skipped, rows sent, points received.
    pub done: u64,
    /// Items in all, when known.
    pub total: Option<u64>,
}

/// A progress callback. Called from the task running the operation; keep it quick.
#[derive(Clone)]
pub struct ProgressFn(Arc<dyn Fn(Progress) + Send + Sync>);

impl ProgressFn {
    /// Wraps a callback.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use blynk_api_ext::ProgressFn;
    ///
    /// let seen = Arc::new(AtomicU64::new(0));
    /// let s = seen.clone();
    /// let progress = ProgressFn::new(move |p| s.store(p.done, Ordering::Relaxed));
    /// # let _ = progress;
    /// ```
    pub fn new(f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    pub(crate) fn report(&self, done: u64, total: Option<u64>) {
        (self.0)(Progress { done, total });
    }
}

impl fmt::Debug for ProgressFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressFn")
    }
}

pub(crate) fn report(progress: &Option<ProgressFn>, done: u64, total: Option<u64>) {
    if let Some(p) = progress {
        p.report(done, total);
    }
}
