//! Importing one datastream's history from any number of points: [`Blynk::import_history`] and
//! [`Blynk::import_stream`] send them in chunks of at most
//! [`limits::MAX_POINTS_PER_IMPORT`](crate::limits::MAX_POINTS_PER_IMPORT) points and
//! [`MAX_REQUEST_BYTES`], in order, in memory bounded by one window of points.
//!
//! The import API has no idempotency key and processes imports asynchronously, so a connection
//! that breaks after the body was sent leaves the chunk's fate unknown. Such a chunk is
//! *reconciled*: the datastream's history over the chunk's time range is read back (waiting, up to
//! [`ImportOptions::reconcile_deadline`], for the server to process it) and only the points not
//! there are sent again. Chunks known not applied (429, other 4xx, a connection never made) are
//! not read back. With [`ImportOptions::skip_existing`] the target range is read first and points
//! already stored are not sent at all.
//!
//! The work is split as: this file (options, report, error, the public methods), `run` (the window
//! loop: reading, sending, reconciling) and `matching` (the bookkeeping free of I/O).

mod matching;
mod run;

use std::time::{Duration, SystemTime};

use futures::stream::{self, Stream};

use crate::bulk::progress::ProgressFn;
use crate::client::Blynk;
use crate::error::{Error, Result};
use crate::model::Point;
use crate::ops::IMPORT;
use crate::wire::{self, MAX_REQUEST_BYTES, Pushed};
use blynk_api::{limits, operations};

/// What to do with points more than [`ImportOptions::future_horizon`] ahead, which the server
/// drops silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FuturePoints {
    /// Leave them out and count them in [`ImportReport::skipped_future`] (default).
    #[default]
    Skip,
    /// Stop the import with an [`Error::InvalidInput`] naming the point.
    Fail,
}

/// Options of the import operations.
///
/// ```
/// use std::time::Duration;
/// use blynk_api_ext::{FuturePoints, ImportOptions};
///
/// // Re-run an import that stopped at input position 20,000: points already stored are not sent.
/// let options = ImportOptions::default()
///     .offset(20_000)
///     .skip_existing(true)
///     .reconcile_deadline(Duration::from_secs(60))
///     .future_points(FuturePoints::Fail)
///     .future_horizon(Duration::from_secs(7 * 86_400));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub(crate) future: FuturePoints,
    pub(crate) horizon: Duration,
    offset: u64,
    max_request_bytes: usize,
    progress: Option<ProgressFn>,
    skip_existing: bool,
    reconcile_deadline: Duration,
    reconcile_poll: Duration,
    max_unknown_sends: u32,
    resend_after_deadline: bool,
}

/// Default of [`ImportOptions::reconcile_deadline`].
pub const DEFAULT_RECONCILE_DEADLINE: Duration = Duration::from_secs(30);
/// Default of [`ImportOptions::reconcile_poll`].
pub const DEFAULT_RECONCILE_POLL: Duration = Duration::from_millis(500);
/// Default of [`ImportOptions::max_unknown_sends`].
pub const DEFAULT_MAX_UNKNOWN_SENDS: u32 = 8;

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            future: FuturePoints::Skip,
            horizon: Duration::from_secs(operations::IMPORT_FUTURE_WINDOW_SECS),
            offset: 0,
            max_request_bytes: MAX_REQUEST_BYTES,
            progress: None,
            skip_existing: false,
            reconcile_deadline: DEFAULT_RECONCILE_DEADLINE,
            reconcile_poll: DEFAULT_RECONCILE_POLL,
            max_unknown_sends: DEFAULT_MAX_UNKNOWN_SENDS,
            resend_after_deadline: true,
        }
    }
}

impl ImportOptions {
    /// Skip (default) or refuse points too far in the future.
    pub fn future_points(mut self, policy: FuturePoints) -> Self {
        self.future = policy;
        self
    }

    /// How far ahead of now a point may be (default 30 days, the server's "one month");
    /// `Duration::MAX` for no limit.
    pub fn future_horizon(mut self, horizon: Duration) -> Self {
        self.horizon = horizon;
        self
    }

    /// The input position of the first point given, when resuming (so positions in reports and
    /// errors stay those of the original input).
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// A smaller body limit than [`MAX_REQUEST_BYTES`] (a larger one is capped).
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_request_bytes = bytes.min(MAX_REQUEST_BYTES);
        self
    }

    /// Report input points done.
    pub fn progress(mut self, progress: ProgressFn) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Read the target range first and send only the points not already stored (default off).
    ///
    /// Makes re-running a whole import after a crash, resuming after an [`ImportError`] that
    /// [`needs skip_existing`](ImportError::resume_needs_skip_existing), or importing overlapping
    /// files safe. Points are matched by timestamp, counting points that share one: an input with
    /// two points at one timestamp where one is stored sends one. Values only choose which.
    ///
    /// The input must be in time order (equal timestamps allowed): it is read one window of at
    /// most [`limits::MAX_POINTS_PER_IMPORT`] points (plus the rest of the last timestamp) at a
    /// time, and each window's range is read page by page and merged against it, so memory stays
    /// bounded by one window however large the range. A point earlier than the one before it
    /// stops the import with [`Error::InvalidInput`] before its window is sent.
    ///
    /// It sees what the server shows: points of an earlier import the server has not processed
    /// yet are not seen, so wait for it to settle (seconds) before re-running.
    pub fn skip_existing(mut self, skip: bool) -> Self {
        self.skip_existing = skip;
        self
    }

    /// How long to wait, after an import request whose outcome is unknown, for its points to
    /// become visible in the history before treating those not visible as not stored and sending
    /// them again (default [`DEFAULT_RECONCILE_DEADLINE`], 30 s). Exactly-once holds when the
    /// server makes an applied import visible within this time. `Duration::MAX` waits as long as
    /// it takes.
    pub fn reconcile_deadline(mut self, deadline: Duration) -> Self {
        self.reconcile_deadline = deadline;
        self
    }

    /// The first wait between two reads of a reconciliation (default [`DEFAULT_RECONCILE_POLL`],
    /// 500 ms); it doubles after each read, up to the deadline and at most a minute.
    pub fn reconcile_poll(mut self, interval: Duration) -> Self {
        self.reconcile_poll = interval;
        self
    }

    /// How many times a point may be sent with an unknown outcome before the import gives up on
    /// it (default [`DEFAULT_MAX_UNKNOWN_SENDS`], at least 1).
    pub fn max_unknown_sends(mut self, sends: u32) -> Self {
        self.max_unknown_sends = sends.max(1);
        self
    }

    /// What to do with points of an unknown-outcome request still not visible when the
    /// [reconcile deadline](Self::reconcile_deadline) passes.
    ///
    /// `true` (default): treat them as not stored and send them again, so the call finishes even
    /// when a request was lost before the server processed it; a server slower than the deadline
    /// then stores them twice. `false`: stop with an [`ImportError`] whose
    /// [`unresolved`](ImportError::unresolved) names exactly those points, so nothing is ever
    /// sent twice; re-run later with [`skip_existing`](Self::skip_existing) to finish.
    pub fn resend_after_deadline(mut self, resend: bool) -> Self {
        self.resend_after_deadline = resend;
        self
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ImportReport {
    /// Points this call stored: sent and acknowledged, or found stored by a reconciliation.
    pub accepted: u64,
    /// Points left out because they were too far in the future.
    pub skipped_future: u64,
    /// Points left out because they were already stored ([`ImportOptions::skip_existing`]).
    pub skipped_existing: u64,
    /// Import requests made.
    pub requests: u64,
    /// Input position after the last point read (`offset` + points read).
    pub end: u64,
    /// Import requests whose outcome was unknown (the connection broke after the body was sent,
    /// a timeout, a 5xx), each one reconciled.
    pub unknown_outcomes: u64,
    /// Points an unknown outcome had in fact stored, found by reconciliation.
    pub reconciled_present: u64,
    /// Points sent again because reconciliation did not find them.
    pub resent: u64,
    /// History pages read to reconcile unknown outcomes (the only extra reads without
    /// [`ImportOptions::skip_existing`]).
    pub reconcile_reads: u64,
    /// History pages read by [`ImportOptions::skip_existing`].
    pub existing_reads: u64,
}

/// A point whose fate an [`ImportError`] could not settle: it may or may not be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnresolvedPoint {
    /// Its input position.
    pub position: u64,
    /// Its timestamp.
    pub at: SystemTime,
}

/// An import that stopped.
///
/// Every point before [`resume_from`](Self::resume_from) is stored exactly once (or was skipped).
/// From there on, points are not stored except
/// [`stored_after_resume`](Self::stored_after_resume) of them, known stored, and the
/// [`unresolved`](Self::unresolved) ones, whose fate is unknown. Resume with the input from `resume_from` on and
/// [`ImportOptions::offset`]`(resume_from)`, adding [`ImportOptions::skip_existing`]`(true)` when
/// [`resume_needs_skip_existing`](Self::resume_needs_skip_existing) says so; then each point ends
/// up stored once.
#[derive(Debug, thiserror::Error)]
#[error(
    "import into device {device_id}, datastream {datastream_id} stopped: {accepted} points \
     stored; resume from input position {resume_from}{}{}: {source}",
    if self.resume_needs_skip_existing() { " with skip_existing" } else { "" },
    unresolved_text(unresolved)
)]
#[non_exhaustive]
pub struct ImportError {
    /// The device.
    pub device_id: i32,
    /// The datastream.
    pub datastream_id: i32,
    /// Points stored by this call before it stopped.
    pub accepted: u64,
    /// The input position to resume from: every point before it is settled.
    pub resume_from: u64,
    /// Points after `resume_from` known stored: by this call, or before it (found by
    /// [`ImportOptions::skip_existing`]).
    pub stored_after_resume: u64,
    /// Points whose fate is unknown (a request's outcome was unknown and the history could not
    /// be read back to settle it), in input order. They are at or after `resume_from`.
    pub unresolved: Box<[UnresolvedPoint]>,
    /// Everything the call did before it stopped: points skipped, requests, history reads
    /// (boxed to keep the error small).
    pub report: Box<ImportReport>,
    /// Why it stopped.
    #[source]
    pub source: Error,
}

impl ImportError {
    /// Whether resuming from [`resume_from`](Self::resume_from) must use
    /// [`ImportOptions::skip_existing`] to store each point once: some points after it are, or
    /// may be, stored already.
    pub fn resume_needs_skip_existing(&self) -> bool {
        self.stored_after_resume > 0 || !self.unresolved.is_empty()
    }
}

fn unresolved_text(unresolved: &[UnresolvedPoint]) -> String {
    const SHOWN: usize = 5;
    if unresolved.is_empty() {
        return String::new();
    }
    let mut positions: Vec<String> = unresolved
        .iter()
        .take(SHOWN)
        .map(|p| p.position.to_string())
        .collect();
    if unresolved.len() > SHOWN {
        positions.push("…".to_string());
    }
    format!(
        "; {} points unresolved, possibly stored (input positions {})",
        unresolved.len(),
        positions.join(", ")
    )
}

impl Blynk {
    /// Imports one datastream's history from any iterator of points (`importDeviceBatchData`),
    /// in chunks of at most [`limits::MAX_POINTS_PER_IMPORT`](crate::limits::MAX_POINTS_PER_IMPORT)
    /// points and [`MAX_REQUEST_BYTES`], sent in order. Memory stays bounded by one window of
    /// points, whatever the input's length.
    ///
    /// Each point is checked as it is read (finite number, valid location, not before 1970); a bad
    /// point stops the import before its window is sent, with the position to resume from.
    ///
    /// A request whose outcome is unknown (the connection broke after the body was sent, a
    /// timeout, a 5xx) is reconciled: the history over its time range is read back, waiting up
    /// to [`ImportOptions::reconcile_deadline`] for the server to process it, and only the points
    /// not there are sent again. So the call ends with every point stored exactly once, or with an
    /// [`ImportError`] saying which are settled and naming the unresolved ones. This holds when:
    /// the server makes an applied import visible within the deadline, and no point at the same
    /// timestamp is stored by someone else meanwhile. (Import requests are never retried blindly
    /// on a server error, even when the client's
    /// [`retry_writes_on_server_errors`](crate::RetryConfig::retry_writes_on_server_errors) is
    /// on: that outcome is settled as above.) Without
    /// [`ImportOptions::skip_existing`], points stored before the import at the timestamps of a
    /// reconciled chunk are taken for the chunk's, and for input not in time order a timestamp
    /// repeated in two windows is counted for the later one; turn it on for an exact answer then.
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> Result<(), blynk_api_ext::ImportError> {
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use blynk_api_ext::{ImportOptions, Point};
    ///
    /// let points = (0..1_000_000u64)
    ///     .map(|i| Point::new(UNIX_EPOCH + Duration::from_secs(1_600_000_000 + i), i as f64));
    /// let report = blynk.import_history(101, 1, points, ImportOptions::default()).await?;
    /// println!(
    ///     "{} points in {} requests; {} unknown outcomes reconciled with {} history reads",
    ///     report.accepted, report.requests, report.unknown_outcomes, report.reconcile_reads
    /// );
    /// # Ok(()) }
    /// ```
    pub async fn import_history(
        &self,
        device_id: i32,
        datastream_id: i32,
        points: impl IntoIterator<Item = Point>,
        options: ImportOptions,
    ) -> Result<ImportReport, ImportError> {
        let iter = points.into_iter();
        let total = match iter.size_hint() {
            (lower, Some(upper)) if lower == upper => Some(options.offset + lower as u64),
            _ => None,
        };
        run::Run::new(self, device_id, datastream_id, options, total)
            .import(stream::iter(iter))
            .await
    }

    /// Like [`import_history`](Self::import_history), from a stream of points.
    pub async fn import_stream(
        &self,
        device_id: i32,
        datastream_id: i32,
        points: impl Stream<Item = Point>,
        options: ImportOptions,
    ) -> Result<ImportReport, ImportError> {
        run::Run::new(self, device_id, datastream_id, options, None)
            .import(points)
            .await
    }
}

/// The body of one import request ([`Blynk::import`]) for `points`, checked: 1 to
/// [`limits::MAX_POINTS_PER_IMPORT`] points, each valid, and at most [`MAX_REQUEST_BYTES`] in all.
/// Anything else is refused with [`Error::InvalidInput`] before a request is sent.
pub(crate) fn single_import_body(
    device_id: i32,
    datastream_id: i32,
    points: &[Point],
) -> Result<Vec<u8>> {
    if points.len() < limits::MIN_POINTS_PER_IMPORT {
        return Err(Error::invalid(IMPORT, "points", "must not be empty"));
    }
    if points.len() > limits::MAX_POINTS_PER_IMPORT {
        return Err(Error::invalid(
            IMPORT,
            "points",
            format!(
                "{} points given, the API accepts at most {} per request",
                points.len(),
                limits::MAX_POINTS_PER_IMPORT
            ),
        ));
    }
    let too_large = || {
        Error::invalid(
            IMPORT,
            "points",
            format!(
                "the request body would pass {MAX_REQUEST_BYTES} bytes, the API's limit; \
                 use import_history, which splits it"
            ),
        )
    };
    let mut encoder = wire::import_encoder(device_id, datastream_id, MAX_REQUEST_BYTES);
    for (index, point) in points.iter().enumerate() {
        let ts = crate::validate::point_ts(point, index as u64)?;
        match encoder.push_point(ts, &point.value) {
            Pushed::Added => {}
            Pushed::Full { .. } | Pushed::TooLarge => return Err(too_large()),
            Pushed::Unencodable => {
                return Err(Error::invalid(
                    IMPORT,
                    format!("points[{index}].value"),
                    "has no JSON form",
                ));
            }
        }
    }
    encoder.finish().map(|(body, _)| body).ok_or_else(too_large)
}
