//! Bulk operations: the API's per-request limits made invisible, without losing or duplicating
//! anything.
//!
//! - [`Blynk::values_for_devices`]: any number of devices, read 10 per request, concurrently,
//!   returned in the caller's order, with the devices the server skipped listed as missing.
//! - [`Blynk::import_history`] / [`Blynk::import_stream`]: any number of points, in chunks of at
//!   most 10,000 points and 2 MB, sent in order, in memory bounded by one chunk; points the server
//!   would silently drop (more than a month ahead) are counted; a failure says how many points were
//!   accepted and where to resume.
//! - [`Blynk::import_many`]: many datastreams and devices at once, concurrent across devices and
//!   sequential per device (the rate limit is per device).
//! - [`Blynk::batch_update`]: any number of rows, chunked at 10,000 rows and 2 MB, with the reports
//!   of all chunks merged and skip reasons mapped back to the caller's row numbers.
//! - [`Blynk::history`]: a lazy stream of points over all pages, with optional read-ahead.
//!
//! Every bulk operation can report [`Progress`] to a callback, for a progress bar.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::stream::{self, BoxStream, Stream, StreamExt};

use crate::client::Blynk;
use crate::error::{Error, Result};
use crate::model::{
    BatchUpdate, DeviceValues, HistoryPoint, HistoryQuery, Point, Value, to_millis,
};
use crate::wire::{self, MAX_REQUEST_BYTES};
use blynk_api::limits;

const BATCH_READ: &str = "getBatchDeviceDataStreams";
const IMPORT: &str = "importDeviceBatchData";
const BATCH_UPDATE: &str = "batchUpdateDeviceDataStreams";
const IMPORT_PATH: &str = "/api/v1/organization/device/import/batch";
const BATCH_UPDATE_PATH: &str = "/api/v1/organization/product/devices/batch-update";

/// How far a bulk operation has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

    fn report(&self, done: u64, total: Option<u64>) {
        (self.0)(Progress { done, total });
    }
}

impl fmt::Debug for ProgressFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressFn")
    }
}

fn report(progress: &Option<ProgressFn>, done: u64, total: Option<u64>) {
    if let Some(p) = progress {
        p.report(done, total);
    }
}

// ---------------------------------------------------------------------------------------------
// Values for any number of devices
// ---------------------------------------------------------------------------------------------

/// Options of [`Blynk::values_for_devices`].
///
/// ```
/// use blynk_api_ext::{ProgressFn, ReadOptions};
///
/// let options = ReadOptions::default()
///     .concurrency(8)
///     .datastreams([1, 2])
///     .progress(ProgressFn::new(|p| eprintln!("{}/{:?} devices", p.done, p.total)));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct ReadOptions {
    concurrency: usize,
    datastream_ids: Option<Vec<i32>>,
    progress: Option<ProgressFn>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            datastream_ids: None,
            progress: None,
        }
    }
}

impl ReadOptions {
    /// Requests in flight at once (default 4, at least 1).
    pub fn concurrency(mut self, requests: usize) -> Self {
        self.concurrency = requests.max(1);
        self
    }

    /// Read only these datastreams.
    pub fn datastreams(mut self, ids: impl Into<Vec<i32>>) -> Self {
        self.datastream_ids = Some(ids.into());
        self
    }

    /// Report devices read.
    pub fn progress(mut self, progress: ProgressFn) -> Self {
        self.progress = Some(progress);
        self
    }
}

/// The values of many devices.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetValues {
    /// Devices the server answered for, in the caller's order, each once.
    pub devices: Vec<DeviceValues>,
    /// Devices the server skipped (unknown, or not visible to the token), in the caller's order.
    pub missing: Vec<i32>,
    /// Requests made.
    pub requests: usize,
}

impl Blynk {
    /// The current values of any number of devices: duplicates removed, split into requests of
    /// [`limits::MAX_DEVICES_PER_BATCH_READ`] devices run concurrently, results in the caller's
    /// order, and the devices the server skipped listed in [`FleetValues::missing`].
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> blynk_api_ext::Result<()> {
    /// use blynk_api_ext::ReadOptions;
    ///
    /// let ids: Vec<i32> = (1..=250).collect();
    /// let fleet = blynk.values_for_devices(&ids, ReadOptions::default().concurrency(8)).await?;
    /// println!("{} devices read in {} requests, {} missing", fleet.devices.len(), fleet.requests, fleet.missing.len());
    /// # Ok(()) }
    /// ```
    pub async fn values_for_devices(
        &self,
        device_ids: &[i32],
        options: ReadOptions,
    ) -> Result<FleetValues> {
        let mut seen = HashSet::with_capacity(device_ids.len());
        let unique: Vec<i32> = device_ids
            .iter()
            .copied()
            .filter(|id| seen.insert(*id))
            .collect();
        if let Some(ids) = &options.datastream_ids
            && ids.is_empty()
        {
            return Err(Error::invalid(
                BATCH_READ,
                "datastream_ids",
                "must not be empty",
            ));
        }
        let total = unique.len() as u64;
        // Owned chunks: a closure taking `&[i32]` would make the future depend on a
        // higher-ranked lifetime and stop it from being `Send` inside `tokio::spawn`.
        let chunks: Vec<Vec<i32>> = unique
            .chunks(limits::MAX_DEVICES_PER_BATCH_READ)
            .map(<[i32]>::to_vec)
            .collect();
        let requests = chunks.len();
        let filter = options.datastream_ids.as_deref();
        let mut pending = stream::iter(chunks)
            .map(|chunk| async move { (chunk.len(), self.batch_values(&chunk, filter).await) })
            .buffer_unordered(options.concurrency);
        let mut found: HashMap<i32, DeviceValues> = HashMap::with_capacity(unique.len());
        let mut done = 0u64;
        while let Some((asked, result)) = pending.next().await {
            for device in result? {
                found.entry(device.device_id).or_insert(device);
            }
            done += asked as u64;
            report(&options.progress, done, Some(total));
        }
        let mut devices = Vec::with_capacity(found.len());
        let mut missing = Vec::new();
        for &id in &unique {
            match found.remove(&id) {
                Some(device) => devices.push(device),
                None => missing.push(id),
            }
        }
        Ok(FleetValues {
            devices,
            missing,
            requests,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------

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
    future: FuturePoints,
    horizon: Duration,
    offset: u64,
    max_request_bytes: usize,
    progress: Option<ProgressFn>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            future: FuturePoints::Skip,
            horizon: Duration::from_secs(30 * 24 * 3600),
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
    /// in chunks of at most [`limits::MAX_POINTS_PER_IMPORT`] points and [`MAX_REQUEST_BYTES`],
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
        let horizon = self.clock().wall() + options.horizon;
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
        let mut carry: Option<Point> = None;
        loop {
            let point = match carry.take() {
                Some(p) => Some(p),
                None => points.next().await,
            };
            let Some(point) = point else {
                break;
            };
            let position = report.end;
            let ts = match check_point(&point, position, horizon, options.future) {
                Ok(ts) => ts,
                Err(PointCheck::Skip) => {
                    chunk_skipped += 1;
                    report.end += 1;
                    continue;
                }
                Err(PointCheck::Invalid(e)) => return Err(fail(&report, chunk_start, e)),
            };
            if encoder.push_point(ts, &point.value) {
                report.end += 1;
                continue;
            }
            if encoder.is_empty() {
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
            // The chunk is full: send it, then retry this point in a fresh chunk.
            let sent = encoder.items() as u64;
            let body = encoder.finish(wire::IMPORT_SUFFIX);
            if let Err(e) = self
                .post_json(IMPORT, "import_device_batch_data", IMPORT_PATH, body)
                .await
            {
                return Err(fail(&report, chunk_start, e));
            }
            report.requests += 1;
            report.accepted += sent;
            report.skipped_future += chunk_skipped;
            chunk_skipped = 0;
            chunk_start = position;
            report_progress(&options.progress, &report, total);
            carry = Some(point);
        }
        if !encoder.is_empty() {
            let sent = encoder.items() as u64;
            let body = encoder.finish(wire::IMPORT_SUFFIX);
            if let Err(e) = self
                .post_json(IMPORT, "import_device_batch_data", IMPORT_PATH, body)
                .await
            {
                return Err(fail(&report, chunk_start, e));
            }
            report.requests += 1;
            report.accepted += sent;
        }
        report.skipped_future += chunk_skipped;
        report_progress(&options.progress, &report, total);
        Ok(report)
    }
}

fn report_progress(progress: &Option<ProgressFn>, done: &ImportReport, total: Option<u64>) {
    report(progress, done.end, total);
}

enum PointCheck {
    Skip,
    Invalid(Error),
}

fn check_point(
    point: &Point,
    position: u64,
    horizon: SystemTime,
    future: FuturePoints,
) -> std::result::Result<i64, PointCheck> {
    point.value.check().map_err(|reason| {
        PointCheck::Invalid(Error::invalid(
            IMPORT,
            format!("points[{position}].value"),
            reason,
        ))
    })?;
    let Some(ts) = to_millis(point.at) else {
        return Err(PointCheck::Invalid(Error::invalid(
            IMPORT,
            format!("points[{position}].at"),
            "is before 1970",
        )));
    };
    if point.at > horizon {
        return Err(match future {
            FuturePoints::Skip => PointCheck::Skip,
            FuturePoints::Fail => PointCheck::Invalid(Error::invalid(
                IMPORT,
                format!("points[{position}].at"),
                "is more than the future horizon ahead; the server would drop it",
            )),
        });
    }
    Ok(ts)
}

/// One datastream's import for [`Blynk::import_many`].
pub struct ImportJob {
    /// The device.
    pub device_id: i32,
    /// The datastream.
    pub datastream_id: i32,
    /// Its points.
    pub points: BoxStream<'static, Point>,
}

impl ImportJob {
    /// A job from any iterator of points.
    pub fn new(
        device_id: i32,
        datastream_id: i32,
        points: impl IntoIterator<Item = Point, IntoIter: Send + 'static>,
    ) -> Self {
        Self {
            device_id,
            datastream_id,
            points: stream::iter(points).boxed(),
        }
    }
}

impl fmt::Debug for ImportJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportJob")
            .field("device_id", &self.device_id)
            .field("datastream_id", &self.datastream_id)
            .finish_non_exhaustive()
    }
}

impl Blynk {
    /// Runs many imports: concurrently across devices (at most `concurrency` devices at once),
    /// one after the other for the datastreams of one device, since Blynk rate-limits imports per
    /// device. Results come back in the order of `jobs`; one failure does not stop the others.
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk, points: Vec<blynk_api_ext::Point>) {
    /// use blynk_api_ext::{ImportJob, ImportOptions};
    ///
    /// let jobs = vec![
    ///     ImportJob::new(101, 1, points.clone()),
    ///     ImportJob::new(101, 2, points.clone()),
    ///     ImportJob::new(102, 1, points),
    /// ];
    /// for result in blynk.import_many(jobs, 4, ImportOptions::default()).await {
    ///     println!("{result:?}");
    /// }
    /// # }
    /// ```
    pub async fn import_many(
        &self,
        jobs: Vec<ImportJob>,
        concurrency: usize,
        options: ImportOptions,
    ) -> Vec<Result<ImportReport, ImportError>> {
        let count = jobs.len();
        let mut by_device: Vec<(i32, Vec<(usize, ImportJob)>)> = Vec::new();
        for (index, job) in jobs.into_iter().enumerate() {
            match by_device.iter_mut().find(|(d, _)| *d == job.device_id) {
                Some((_, list)) => list.push((index, job)),
                None => by_device.push((job.device_id, vec![(index, job)])),
            }
        }
        let options = &options;
        let per_device = stream::iter(by_device)
            .map(|(_, list)| async move {
                let mut results = Vec::with_capacity(list.len());
                for (index, job) in list {
                    let result = self
                        .import_stream(
                            job.device_id,
                            job.datastream_id,
                            job.points,
                            options.clone(),
                        )
                        .await;
                    results.push((index, result));
                }
                results
            })
            .buffer_unordered(concurrency.max(1));
        let mut slots: Vec<Option<Result<ImportReport, ImportError>>> =
            (0..count).map(|_| None).collect();
        let mut per_device = std::pin::pin!(per_device);
        while let Some(results) = per_device.next().await {
            for (index, result) in results {
                if let Some(slot) = slots.get_mut(index) {
                    *slot = Some(result);
                }
            }
        }
        slots.into_iter().flatten().collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Batch update
// ---------------------------------------------------------------------------------------------

/// One row the server skipped, with its position in the caller's [`BatchUpdate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    /// The caller's row index, when the server's reason names a row (`Row N: ...`, N counted
    /// within the request).
    pub row: Option<usize>,
    /// The server's reason, as sent.
    pub reason: String,
}

/// Counters of skipped rows, summed over all requests (counter mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SkipCounters {
    /// Rows whose length did not match the fields.
    pub invalid_row_size: u64,
    /// Rows with a null device ID.
    pub null_device_id: u64,
    /// Rows with a device ID that is not a number.
    pub non_numeric_device_id: u64,
    /// Rows for devices not found (or not in the organisation).
    pub device_not_found: u64,
    /// Rows for devices the token may not access.
    pub no_access_to_device: u64,
    /// Rows for devices of another product.
    pub wrong_product: u64,
}

impl SkipCounters {
    /// Rows skipped in all, by the counters.
    pub fn total(&self) -> u64 {
        self.invalid_row_size
            + self.null_device_id
            + self.non_numeric_device_id
            + self.device_not_found
            + self.no_access_to_device
            + self.wrong_product
    }
}

/// What a batch update did, over all its requests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchUpdateSummary {
    /// Rows sent.
    pub rows: u64,
    /// Requests made.
    pub requests: u64,
    /// Requests answered `204` (every row applied).
    pub fully_applied_requests: u64,
    /// Counters summed over the requests answered `200` in counter mode.
    pub counters: SkipCounters,
    /// Skip reasons of debug mode, mapped to the caller's row numbers where the reason names one.
    pub skipped: Vec<SkippedRow>,
}

impl BatchUpdateSummary {
    /// Whether every request answered `204`: every row was applied.
    pub fn all_applied(&self) -> bool {
        self.requests == self.fully_applied_requests
    }
}

/// A batch update that stopped. Rows before [`resume_from`](Self::resume_from) were sent (their
/// outcome is in `summary`); resending from there sends nothing twice.
#[derive(Debug, thiserror::Error)]
#[error("batch update stopped after {} rows; resume from row {resume_from}: {source}", summary.rows)]
pub struct BatchUpdateError {
    /// What the completed requests did.
    pub summary: BatchUpdateSummary,
    /// The first row not sent.
    pub resume_from: usize,
    /// Why it stopped.
    #[source]
    pub source: Error,
}

/// Parses `Row N` at the start of a skip reason (any case).
fn row_in_reason(reason: &str) -> Option<usize> {
    let rest = reason.trim_start();
    let head = rest.get(..3)?;
    if !head.eq_ignore_ascii_case("row") {
        return None;
    }
    let digits: String = rest[3..]
        .trim_start_matches([' ', '#'])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

impl Blynk {
    /// Updates datastreams of many devices (`batchUpdateDeviceDataStreams`): any number of rows,
    /// in requests of at most [`limits::MAX_ROWS_PER_BATCH_UPDATE`] rows and [`MAX_REQUEST_BYTES`],
    /// sent in order. The reports of all requests are merged: counters summed, skip reasons of
    /// debug mode mapped to the caller's row numbers, `204` counted as every row applied.
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> Result<(), Box<dyn std::error::Error>> {
    /// use blynk_api_ext::BatchUpdate;
    ///
    /// let mut update = BatchUpdate::new(["Temperature", "Mode"]);
    /// for device in 1..=25_000 {
    ///     update.push(device, [Some(21.0.into()), None])?;
    /// }
    /// let summary = blynk.batch_update(&update).await?;
    /// println!("{} rows in {} requests, all applied: {}", summary.rows, summary.requests, summary.all_applied());
    /// # Ok(()) }
    /// ```
    pub async fn batch_update(
        &self,
        update: &BatchUpdate,
    ) -> Result<BatchUpdateSummary, BatchUpdateError> {
        self.batch_update_with(update, MAX_REQUEST_BYTES, None)
            .await
    }

    /// [`batch_update`](Self::batch_update) with a smaller body limit and a progress callback.
    pub async fn batch_update_with(
        &self,
        update: &BatchUpdate,
        max_request_bytes: usize,
        progress: Option<ProgressFn>,
    ) -> Result<BatchUpdateSummary, BatchUpdateError> {
        let mut summary = BatchUpdateSummary::default();
        let stop =
            |summary: &BatchUpdateSummary, resume_from: usize, source: Error| BatchUpdateError {
                summary: summary.clone(),
                resume_from,
                source,
            };
        if update.labels().is_empty() {
            return Err(stop(
                &summary,
                0,
                Error::invalid(BATCH_UPDATE, "labels", "at least 1 label is needed"),
            ));
        }
        let rows = update.rows();
        let total = Some(rows.len() as u64);
        let mut encoder =
            wire::batch_update_encoder(update.labels(), max_request_bytes.min(MAX_REQUEST_BYTES));
        let suffix = if update.is_debug() {
            wire::BATCH_UPDATE_SUFFIX_TRUE
        } else {
            wire::BATCH_UPDATE_SUFFIX_FALSE
        };
        let mut start = 0usize;
        let mut index = 0usize;
        while index <= rows.len() {
            let pushed = rows.get(index).is_some_and(|(device_id, cells)| {
                encoder.push(&wire::WireRow {
                    device_id: *device_id,
                    cells,
                })
            });
            if pushed {
                index += 1;
                continue;
            }
            if encoder.is_empty() {
                if index == rows.len() {
                    break;
                }
                return Err(stop(
                    &summary,
                    start,
                    Error::invalid(
                        BATCH_UPDATE,
                        format!("rows[{index}]"),
                        format!("encodes to more than {max_request_bytes} bytes"),
                    ),
                ));
            }
            let body = encoder.finish(suffix);
            let response = match self
                .post_json(
                    BATCH_UPDATE,
                    "batch_update_device_data_streams",
                    BATCH_UPDATE_PATH,
                    body,
                )
                .await
            {
                Ok(r) => r,
                Err(e) => return Err(stop(&summary, start, e)),
            };
            let status = response.status();
            let bytes = response.bytes().await.map_err(|source| {
                stop(
                    &summary,
                    start,
                    Error::Transport {
                        operation: BATCH_UPDATE,
                        timeout: source.is_timeout(),
                        source,
                    },
                )
            })?;
            summary.requests += 1;
            summary.rows += (index - start) as u64;
            if status == reqwest::StatusCode::NO_CONTENT {
                summary.fully_applied_requests += 1;
            } else {
                let report: crate::BatchUpdateReport =
                    serde_json::from_slice(&bytes).map_err(|e| {
                        stop(
                            &summary,
                            index,
                            Error::Decode {
                                operation: BATCH_UPDATE,
                                message: e.to_string(),
                            },
                        )
                    })?;
                merge_report(&mut summary, &report, start);
            }
            report(&progress, index as u64, total);
            start = index;
            if index == rows.len() {
                break;
            }
        }
        Ok(summary)
    }
}

fn merge_report(
    summary: &mut BatchUpdateSummary,
    report: &crate::BatchUpdateReport,
    offset: usize,
) {
    let n = |v: Option<i64>| u64::try_from(v.unwrap_or(0)).unwrap_or(0);
    let c = &mut summary.counters;
    c.invalid_row_size += n(report.invalid_row_size);
    c.null_device_id += n(report.null_device_id);
    c.non_numeric_device_id += n(report.non_numeric_device_id);
    c.device_not_found += n(report.device_not_found);
    c.no_access_to_device += n(report.no_access_to_device);
    c.wrong_product += n(report.wrong_product);
    summary
        .skipped
        .extend(report.skipped_rows.iter().map(|reason| SkippedRow {
            row: row_in_reason(reason).map(|r| r + offset),
            reason: reason.clone(),
        }));
}

// ---------------------------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------------------------

/// A history read over all pages; see [`Blynk::history`].
#[derive(Debug, Clone)]
pub struct HistoryRequest {
    blynk: Blynk,
    query: HistoryQuery,
    page_size: u32,
    read_ahead: usize,
    progress: Option<ProgressFn>,
}

impl Blynk {
    /// A datastream's history over all pages, as a lazy stream: pages of
    /// [`limits::MAX_HISTORY_PAGE_SIZE`] points by default, requested as the stream is read (with
    /// optional read-ahead), ending exactly at the server's `totalElements`. Dropping the stream
    /// cancels the requests in flight.
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> blynk_api_ext::Result<()> {
    /// use std::time::{Duration, SystemTime};
    /// use futures::StreamExt;
    /// use blynk_api_ext::HistoryQuery;
    ///
    /// let to = SystemTime::now();
    /// let query = HistoryQuery { device_id: 101, datastream_id: 1, from: to - Duration::from_secs(30 * 86_400), to };
    /// let mut points = blynk.history(query).read_ahead(2).into_stream();
    /// while let Some(point) = points.next().await {
    ///     let point = point?;
    ///     println!("{:?} {}", point.at, point.value);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn history(&self, query: HistoryQuery) -> HistoryRequest {
        HistoryRequest {
            blynk: self.clone(),
            query,
            page_size: limits::MAX_HISTORY_PAGE_SIZE,
            read_ahead: 0,
            progress: None,
        }
    }
}

/// A stream of history points.
pub struct HistoryStream {
    inner: Pin<Box<dyn Stream<Item = Result<HistoryPoint>> + Send>>,
}

impl fmt::Debug for HistoryStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HistoryStream")
    }
}

impl Stream for HistoryStream {
    type Item = Result<HistoryPoint>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl HistoryRequest {
    /// Points per page (default and maximum [`limits::MAX_HISTORY_PAGE_SIZE`]).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size;
        self
    }

    /// Pages requested ahead of the reader (default 0: one page at a time).
    pub fn read_ahead(mut self, pages: usize) -> Self {
        self.read_ahead = pages;
        self
    }

    /// Report points received, out of `totalElements`.
    pub fn progress(mut self, progress: ProgressFn) -> Self {
        self.progress = Some(progress);
        self
    }

    /// The points, lazily.
    pub fn into_stream(self) -> HistoryStream {
        let HistoryRequest {
            blynk,
            query,
            page_size,
            read_ahead,
            progress,
        } = self;
        let fetch = move |page: i32| {
            let blynk = blynk.clone();
            async move { blynk.history_page(&query, page, page_size).await }
        };
        let first_fetch = fetch.clone();
        let pages =
            stream::once(async move { first_fetch(0).await }).flat_map(move |first| match first {
                Err(e) => stream::once(async move { (0, Err(e)) }).boxed(),
                Ok(page) => {
                    let total = page.total;
                    let pages = total.div_ceil(u64::from(page_size.max(1)));
                    let last = i32::try_from(pages).unwrap_or(i32::MAX);
                    let rest = stream::iter(1..last)
                        .map(fetch.clone())
                        .buffered(read_ahead + 1)
                        .map(move |r| (total, r));
                    stream::once(async move { (total, Ok(page)) })
                        .chain(rest)
                        .boxed()
                }
            });
        let points = pages
            .flat_map(|(total, page)| match page {
                Ok(page) => {
                    stream::iter(page.points.into_iter().map(move |p| (total, Ok(p)))).boxed()
                }
                Err(e) => stream::once(async move { (total, Err(e)) }).boxed(),
            })
            // Stop exactly at totalElements, or after the first error.
            .scan((0u64, false), move |(yielded, failed), (total, item)| {
                let next = if *failed || (item.is_ok() && *yielded >= total) {
                    None
                } else {
                    if item.is_ok() {
                        *yielded += 1;
                        report(&progress, *yielded, Some(total));
                    } else {
                        *failed = true;
                    }
                    Some(item)
                };
                futures::future::ready(next)
            });
        HistoryStream {
            inner: Box::pin(points),
        }
    }

    /// All the points, in order.
    pub async fn collect_points(self) -> Result<Vec<HistoryPoint>> {
        let mut stream = self.into_stream();
        let mut points = Vec::new();
        while let Some(point) = stream.next().await {
            points.push(point?);
        }
        Ok(points)
    }

    /// Writes the points as CSV (`ts,value`, `ts` in epoch milliseconds) to `out`; returns how many
    /// were written.
    pub async fn write_csv(self, out: &mut impl std::io::Write) -> Result<u64> {
        let io = |source: std::io::Error| Error::Io {
            operation: "getDeviceDataStreamHistory",
            source,
        };
        writeln!(out, "ts,value").map_err(io)?;
        let mut stream = self.into_stream();
        let mut written = 0;
        while let Some(point) = stream.next().await {
            let point = point?;
            writeln!(
                out,
                "{},{}",
                to_millis(point.at).unwrap_or_default(),
                point.value
            )
            .map_err(io)?;
            written += 1;
        }
        out.flush().map_err(io)?;
        Ok(written)
    }
}

/// A point to import from a history point (for copying history between datastreams).
impl From<HistoryPoint> for Point {
    fn from(p: HistoryPoint) -> Self {
        Point {
            at: p.at,
            value: Value::Number(p.value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::row_in_reason;

    #[test]
    fn row_numbers_are_read_from_skip_reasons() {
        assert_eq!(row_in_reason("Row 3: device 9 not found"), Some(3));
        assert_eq!(row_in_reason("row #12 wrong product"), Some(12));
        assert_eq!(row_in_reason("device 9 not found"), None);
        assert_eq!(row_in_reason("Row: x"), None);
        assert_eq!(row_in_reason("ro"), None);
    }
}
