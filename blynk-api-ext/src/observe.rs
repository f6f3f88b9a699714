//! Metrics without parsing logs: an [`Observer`] set once on the builder sees every attempt of
//! every request (operation, attempt number, status or error kind, duration, backoff and pacing
//! waited). The default observer does nothing.
//!
//! Each attempt is also a tracing span, `blynk.attempt`, with the operation id and OpenTelemetry's
//! HTTP field names: `operation`, `attempt`, `http.request.method`, `url.path`,
//! `http.response.status_code`, and `error.type` when no response arrived.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use blynk_api::operations::Operation;

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// A response arrived with this status.
    Status(u16),
    /// No connection could be made: the request was not sent.
    ConnectFailed,
    /// The connect or request timeout expired.
    TimedOut,
    /// Anything else on the way: a reset, a broken body.
    Transport,
}

impl AttemptOutcome {
    /// The status, if a response arrived.
    pub fn status(self) -> Option<u16> {
        match self {
            Self::Status(status) => Some(status),
            _ => None,
        }
    }

    /// A short name of the error kind (`"429"`-style statuses are not errors here):
    /// `connect`, `timeout`, `transport`, or `None` when a response arrived. This is the
    /// `error.type` of the span.
    pub fn error_kind(self) -> Option<&'static str> {
        match self {
            Self::Status(_) => None,
            Self::ConnectFailed => Some("connect"),
            Self::TimedOut => Some("timeout"),
            Self::Transport => Some("transport"),
        }
    }
}

/// One attempt of one request, as an [`Observer`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempt {
    /// The operation, from the operation table (displays as its `operationId`).
    pub operation: &'static Operation,
    /// The attempt number, from 1.
    pub attempt: u32,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// From sending the request to its response headers (or the failure).
    pub duration: Duration,
    /// The backoff waited before this attempt (zero for the first).
    pub backoff: Duration,
    /// The time the client-wide [`Pacing`](crate::Pacing) held this attempt back.
    pub pacing_delay: Duration,
    /// Whether the client will try again.
    pub will_retry: bool,
}

/// Receives every attempt of every request of a client. Called on the task making the request:
/// keep it quick (update a counter or a histogram).
///
/// Any `Fn(&Attempt) + Send + Sync + 'static` is an observer.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use blynk_api_ext::{Attempt, Blynk};
///
/// let throttled = Arc::new(AtomicU64::new(0));
/// let counter = throttled.clone();
/// let blynk = Blynk::builder()
///     .token("my-token")
///     .observer(move |attempt: &Attempt| {
///         if attempt.outcome.status() == Some(429) {
///             counter.fetch_add(1, Ordering::Relaxed);
///         }
///     })
///     .build()?;
/// # let _ = blynk;
/// # Ok::<(), blynk_api_ext::BuildError>(())
/// ```
pub trait Observer: Send + Sync + 'static {
    /// One attempt ended.
    fn attempt(&self, attempt: &Attempt);
}

impl<F> Observer for F
where
    F: Fn(&Attempt) + Send + Sync + 'static,
{
    fn attempt(&self, attempt: &Attempt) {
        self(attempt)
    }
}

/// The observer a client carries (none by default).
#[derive(Clone, Default)]
pub(crate) struct Observers(Option<Arc<dyn Observer>>);

impl Observers {
    pub(crate) fn new(observer: impl Observer) -> Self {
        Self(Some(Arc::new(observer)))
    }

    pub(crate) fn attempt(&self, attempt: &Attempt) {
        if let Some(observer) = &self.0 {
            observer.attempt(attempt);
        }
    }
}

impl fmt::Debug for Observers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Observer(installed)"
        } else {
            "Observer(none)"
        })
    }
}
