//! Importing one datastream's history from any number of points: [`Blynk::import_history`] and
//! [`Blynk::import_stream`] send them in chunks of at most [`limits::MAX_POINTS_PER_IMPORT`](crate::limits::MAX_POINTS_PER_IMPORT) points
//! and [`MAX_REQUEST_BYTES`], in order, in memory bounded by one chunk. Points the server would
//! silently drop (more than a month ahead) are counted; a failure says how many points were
//! accepted and where to resume.

use std::time::Duration;

use futures::stream::{self, Stream, StreamExt};

use crate::bulk::progress::{ProgressFn, report};
use crate::client::Blynk;
use crate::error::{Error, Result};
use crate::model::Point;
use crate::ops::IMPORT;
use crate::validate::{self, PointVerdict};
use crate::wire::{self, MAX_REQUEST_BYTES, Pushed};
use blynk_api::operations;

/// What to do with points more than [`ImportOptions::future_horizon`] ahead, which the server
/// drops silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
/// // Resume an import that stopped at input position 20,000, refusing points from the future.
/// let options = ImportOptions::default()
///     .offset(20_000)
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
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            future: FuturePoints::Skip,
            horizon: Duration::from_secs(operations::IMPORT_FUTURE_WINDOW_SECS),
            offset: 0,
            max_request_bytes: MAX_REQUEST_BYTES,
            progress: None,
        }
    }
}

impl ImportOptions {
    /// Skip (default) or refuse points too far in the future.
    pub fn future_points(mut self, policy: FuturePoints) -> Self {
        self.future = policy;
        self
    }

    /// How far ahead of now a point may be (default 30 days, the server's "one month").
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
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportReport {
    /// Points sent and accepted by the server.
    pub accepted: u64,
    /// Points left out because they were too far in the future.
    pub skipped_future: u64,
    /// Requests made.
    pub requests: u64,
    /// Input position after the last point read (`offset` + points read).
    pub end: u64,
}

/// An import that stopped. Resuming from [`resume_from`](Self::resume_from) (the input position
/// of the first point not accepted) loses nothing and sends nothing twice.
#[derive(Debug, thiserror::Error)]
#[error(
    "import into device {device_id}, datastream {datastream_id} stopped: {accepted} points \
     accepted; resume from input position {resume_from}: {source}"
)]
pub struct ImportError {
    /// The device.
    pub device_id: i32,
    /// The datastream.
    pub datastream_id: i32,
    /// Points accepted before the failure.
    pub accepted: u64,
    /// Points skipped as too far in the future before the failure.
    pub skipped_future: u64,
    /// The input position to resume from (pass it to [`ImportOptions::offset`] with the input
    /// from that position on).
    pub resume_from: u64,
    /// Why it stopped.
    #[source]
    pub source: Error,
}

impl Blynk {
    /// Imports one datastream's history from any iterator of points (`importDeviceBatchData`),
    /// in chunks of at most [`limits::MAX_POINTS_PER_IMPORT`](crate::limits::MAX_POINTS_PER_IMPORT) points and [`MAX_REQUEST_BYTES`],
    /// sent in order. Memory stays bounded by one chunk, whatever the input's length.
    ///
    /// Each point is checked as it is read (finite number, valid location, not before 1970); a bad
    /// point stops the import before its chunk is sent, with the position to resume from.
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> Result<(), blynk_api_ext::ImportError> {
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use blynk_api_ext::{ImportOptions, Point};
    ///
    /// let points = (0..1_000_000u64)
    ///     .map(|i| Point::new(UNIX_EPOCH + Duration::from_secs(1_600_000_000 + i), i as f64));
    /// let report = blynk.import_history(101, 1, points, ImportOptions::default()).await?;
    /// println!("{} points in {} requests", report.accepted, report.requests);
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
        self.import_inner(device_id, datastream_id, stream::iter(iter), total, options)
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
        self.import_inner(device_id, datastream_id, points, None, options)
            .await
    }

    async fn import_inner(
        &self,
        device_id: i32,
        datastream_id: i32,
        points: impl Stream<Item = Point>,
        total: Option<u64>,
        options: ImportOptions,
    ) -> Result<ImportReport, ImportError> {
        let mut points = std::pin::pin!(points);
        let now = self.clock().wall();
        let mut encoder = wire::import_encoder(device_id, datastream_id, options.max_request_bytes);
        let mut report = ImportReport {
            end: options.offset,
            ..ImportReport::default()
        };
        // Input position of the first point of the chunk being filled.
        let mut chunk_start = options.offset;
        // Points skipped within the current chunk (not yet committed to the report).
        let mut chunk_skipped = 0u64;
        let fail = |report: &ImportReport, resume_from: u64, source: Error| ImportError {
            device_id,
            datastream_id,
            accepted: report.accepted,
            skipped_future: report.skipped_future,
            resume_from,
            source,
        };
        while let Some(point) = points.next().await {
            let position = report.end;
            let ts = match validate::import_point(&point, position, &options, now) {
                Ok(PointVerdict::Send { ts }) => ts,
                Ok(PointVerdict::SkipFuture) => {
                    chunk_skipped += 1;
                    report.end += 1;
                    continue;
                }
                Err(e) => return Err(fail(&report, chunk_start, e)),
            };
            match encoder.push_point(ts, &point.value) {
                Pushed::Added => {}
                Pushed::Full { body, items } => {
                    // The full chunk goes out; this point opens the next one.
                    if let Err(e) = self.post_json(IMPORT, body).await {
                        return Err(fail(&report, chunk_start, e));
                    }
                    report.requests += 1;
                    report.accepted += items as u64;
                    report.skipped_future += chunk_skipped;
                    chunk_skipped = 0;
                    chunk_start = position;
                    report_progress(&options.progress, &report, total);
                }
                Pushed::TooLarge | Pushed::Unencodable => {
                    // One point alone passes the byte limit: it can never be sent.
                    return Err(fail(
                        &report,
                        chunk_start,
                        Error::invalid(
                            IMPORT,
                            format!("points[{position}].value"),
                            format!("encodes to more than {} bytes", options.max_request_bytes),
                        ),
                    ));
                }
            }
            report.end += 1;
        }
        if let Some((body, items)) = encoder.finish() {
            if let Err(e) = self.post_json(IMPORT, body).await {
                return Err(fail(&report, chunk_start, e));
            }
            report.requests += 1;
            report.accepted += items as u64;
        }
        report.skipped_future += chunk_skipped;
        report_progress(&options.progress, &report, total);
        Ok(report)
    }
}

fn report_progress(progress: &Option<ProgressFn>, done: &ImportReport, total: Option<u64>) {
    report(progress, done.end, total);
}
