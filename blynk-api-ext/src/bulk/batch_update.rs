//! Updating datastreams of many devices: [`Blynk::batch_update`] sends any number of rows in
//! chunks of at most [`limits::MAX_ROWS_PER_BATCH_UPDATE`](crate::limits::MAX_ROWS_PER_BATCH_UPDATE) rows and [`MAX_REQUEST_BYTES`], merges
//! the reports of all chunks and maps skip reasons back to the caller's row numbers.

use std::ops::Range;

use crate::BatchUpdateReport;
use crate::bulk::progress::{ProgressFn, report};
use crate::client::Blynk;
use crate::error::Error;
use crate::model::BatchUpdate;
use crate::ops::BATCH_UPDATE;
use crate::validate;
use crate::wire::{self, MAX_REQUEST_BYTES, Pushed};

/// Options of [`Blynk::batch_update`].
///
/// ```
/// use blynk_api_ext::{BatchUpdateOptions, ProgressFn};
///
/// let options = BatchUpdateOptions::default()
///     .max_request_bytes(500_000)
///     .progress(ProgressFn::new(|p| eprintln!("{} rows sent", p.done)));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct BatchUpdateOptions {
    max_request_bytes: usize,
    progress: Option<ProgressFn>,
}

impl Default for BatchUpdateOptions {
    fn default() -> Self {
        Self {
            max_request_bytes: MAX_REQUEST_BYTES,
            progress: None,
        }
    }
}

impl BatchUpdateOptions {
    /// A smaller body limit than [`MAX_REQUEST_BYTES`] (a larger one is capped).
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_request_bytes = bytes.min(MAX_REQUEST_BYTES);
        self
    }

    /// Report rows sent.
    pub fn progress(mut self, progress: ProgressFn) -> Self {
        self.progress = Some(progress);
        self
    }
}

/// One row the server skipped, with its position in the caller's [`BatchUpdate`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedRow {
    /// The caller's row index, when the server's reason names a row (`Row N: ...`, N counted
    /// within the request).
    pub row: Option<usize>,
    /// The server's reason, as sent.
    pub reason: String,
}

/// Counters of skipped rows, summed over all requests (counter mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
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

/// What a batch update did, over all its requests. A request that failed after its retries
/// does not discard the others: its rows are listed in [`failed`](Self::failed) and the update
/// goes on.
///
/// All-or-nothing is one call away: [`into_complete`](Self::into_complete).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct BatchUpdateSummary {
    /// Rows sent in requests that succeeded.
    pub rows: u64,
    /// Requests that succeeded.
    pub requests: u64,
    /// Requests answered `204` (every row applied).
    pub fully_applied_requests: u64,
    /// Counters summed over the requests answered `200` in counter mode.
    pub counters: SkipCounters,
    /// Skip reasons of debug mode, mapped to the caller's row numbers where the reason names one.
    pub skipped: Vec<SkippedRow>,
    /// Requests that failed after their retries: their rows and why, in row order. Resending
    /// exactly these rows completes the update.
    pub failed: Vec<FailedRows>,
}

/// The rows of one batch-update request that failed after its retries, and why.
#[derive(Debug)]
#[non_exhaustive]
pub struct FailedRows {
    /// The caller's row indices the request carried.
    pub rows: Range<usize>,
    /// Why it failed.
    pub error: Error,
}

impl BatchUpdateSummary {
    /// Whether every request succeeded and answered `204`: every row was applied.
    pub fn all_applied(&self) -> bool {
        self.failed.is_empty() && self.requests == self.fully_applied_requests
    }

    /// Whether every request succeeded (rows may still have been skipped by the server).
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }

    /// All or nothing: `self` if every request succeeded, otherwise the error of the first
    /// failed request.
    pub fn into_complete(mut self) -> Result<Self, Error> {
        if self.failed.is_empty() {
            return Ok(self);
        }
        Err(self.failed.swap_remove(0).error)
    }
}

/// A batch update that stopped: a row was refused before its request was sent, or a request
/// failed in a way every later request would too (credentials refused, permission missing,
/// redirected to another region). Rows before [`resume_from`](Self::resume_from) were sent
/// (their outcome is in `summary`, failed requests included); resending from there sends
/// nothing twice.
#[derive(Debug, thiserror::Error)]
#[error("batch update stopped after {} rows; resume from row {resume_from}: {source}", summary.rows)]
#[non_exhaustive]
pub struct BatchUpdateError {
    /// What the requests made before stopping did.
    pub summary: BatchUpdateSummary,
    /// The first row not sent.
    pub resume_from: usize,
    /// Why it stopped.
    #[source]
    pub source: Error,
}

/// Whether a failed request means every later request of the update would fail too.
fn stops_everything(error: &Error) -> bool {
    matches!(
        error,
        Error::Auth { .. }
            | Error::Unauthorized { .. }
            | Error::Forbidden { .. }
            | Error::Redirected { .. }
            | Error::InvalidInput { .. }
    )
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
    /// in requests of at most [`limits::MAX_ROWS_PER_BATCH_UPDATE`](crate::limits::MAX_ROWS_PER_BATCH_UPDATE) rows and
    /// [`BatchUpdateOptions::max_request_bytes`], sent in order. Each row is checked
    /// ([`validate::batch_row`]) before its chunk is sent. The reports of all requests are merged:
    /// counters summed, skip reasons of debug mode mapped to the caller's row numbers, `204`
    /// counted as every row applied.
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> Result<(), Box<dyn std::error::Error>> {
    /// use blynk_api_ext::{BatchUpdate, BatchUpdateOptions};
    ///
    /// let mut update = BatchUpdate::new(["Temperature", "Mode"]);
    /// for device in 1..=25_000 {
    ///     update.push(device, [Some(21.0.into()), None])?;
    /// }
    /// let summary = blynk.batch_update(&update, BatchUpdateOptions::default()).await?;
    /// println!("{} rows in {} requests, all applied: {}", summary.rows, summary.requests, summary.all_applied());
    /// # Ok(()) }
    /// ```
    pub async fn batch_update(
        &self,
        update: &BatchUpdate,
        options: BatchUpdateOptions,
    ) -> Result<BatchUpdateSummary, BatchUpdateError> {
        let mut summary = BatchUpdateSummary::default();
        let stop = |summary: &mut BatchUpdateSummary, resume_from: usize, source: Error| {
            BatchUpdateError {
                summary: std::mem::take(summary),
                resume_from,
                source,
            }
        };
        let labels = update.labels();
        if labels.is_empty() {
            let e = Error::invalid(BATCH_UPDATE, "labels", "at least 1 label is needed");
            return Err(stop(&mut summary, 0, e));
        }
        let rows = update.rows();
        let total = Some(rows.len() as u64);
        let max_bytes = options.max_request_bytes;
        let mut encoder = wire::batch_update_encoder(labels, update.is_debug(), max_bytes);
        // The caller's index of the first row of the chunk being filled.
        let mut start = 0usize;
        for (index, (device_id, cells)) in rows.iter().enumerate() {
            if let Err(e) = validate::batch_row(labels, index, cells) {
                return Err(stop(&mut summary, start, e));
            }
            let row = wire::WireRow {
                device_id: *device_id,
                cells,
            };
            match encoder.push(&row) {
                Pushed::Added => {}
                Pushed::Full { body, items } => {
                    if let Err(e) = self.send_chunk(&mut summary, body, start, items).await {
                        return Err(stop(&mut summary, start, e));
                    }
                    start = index;
                    report(&options.progress, start as u64, total);
                }
                Pushed::TooLarge | Pushed::Unencodable => {
                    return Err(stop(
                        &mut summary,
                        start,
                        Error::invalid(
                            BATCH_UPDATE,
                            format!("rows[{index}]"),
                            format!("encodes to more than {max_bytes} bytes"),
                        ),
                    ));
                }
            }
        }
        if let Some((body, items)) = encoder.finish() {
            if let Err(e) = self.send_chunk(&mut summary, body, start, items).await {
                return Err(stop(&mut summary, start, e));
            }
            report(&options.progress, rows.len() as u64, total);
        }
        Ok(summary)
    }

    /// Sends one chunk of `items` rows starting at the caller's row `start` and merges its
    /// outcome into `summary`: its report, or its rows in [`BatchUpdateSummary::failed`]. An
    /// error that every later request would meet too is returned instead, to stop the update.
    async fn send_chunk(
        &self,
        summary: &mut BatchUpdateSummary,
        body: Vec<u8>,
        start: usize,
        items: usize,
    ) -> Result<(), Error> {
        match self.send_one_chunk(body).await {
            Ok(outcome) => {
                summary.requests += 1;
                summary.rows += items as u64;
                match outcome {
                    None => summary.fully_applied_requests += 1,
                    Some(report) => merge_report(summary, &report, start..start + items),
                }
                Ok(())
            }
            Err(error) if stops_everything(&error) => Err(error),
            Err(error) => {
                summary.failed.push(FailedRows {
                    rows: start..start + items,
                    error,
                });
                Ok(())
            }
        }
    }

    /// One request: `None` for `204` (every row applied), or the `200` report.
    async fn send_one_chunk(&self, body: Vec<u8>) -> Result<Option<BatchUpdateReport>, Error> {
        let response = self.post_json(BATCH_UPDATE, body).await?;
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let bytes = response.bytes().await.map_err(|source| Error::Transport {
            operation: BATCH_UPDATE,
            timeout: source.is_timeout(),
            source,
        })?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Decode {
                operation: BATCH_UPDATE,
                message: e.to_string(),
            })
    }
}

/// Adds one chunk's report (the chunk held the caller's rows `rows`) to `summary`. The numbers
/// come from the server: counters add saturating, and a row number outside the chunk is not
/// taken for one of the caller's rows.
fn merge_report(summary: &mut BatchUpdateSummary, report: &BatchUpdateReport, rows: Range<usize>) {
    let add = |total: &mut u64, v: Option<i64>| {
        *total = total.saturating_add(u64::try_from(v.unwrap_or(0)).unwrap_or(0));
    };
    let c = &mut summary.counters;
    add(&mut c.invalid_row_size, report.invalid_row_size);
    add(&mut c.null_device_id, report.null_device_id);
    add(&mut c.non_numeric_device_id, report.non_numeric_device_id);
    add(&mut c.device_not_found, report.device_not_found);
    add(&mut c.no_access_to_device, report.no_access_to_device);
    add(&mut c.wrong_product, report.wrong_product);
    summary
        .skipped
        .extend(report.skipped_rows.iter().map(|reason| {
            SkippedRow {
                row: row_in_reason(reason)
                    .and_then(|r| rows.start.checked_add(r))
                    .filter(|row| rows.contains(row)),
                reason: reason.clone(),
            }
        }));
}

#[cfg(test)]
mod tests {
    use super::{BatchUpdateSummary, merge_report, row_in_reason};
    use crate::BatchUpdateReport;

    /// The server's numbers are not trusted: a row outside the chunk (or past `usize`) names none
    /// of the caller's rows, and counters summed over chunks saturate.
    #[test]
    fn a_report_naming_rows_outside_its_chunk_or_huge_counts_is_merged_safely() {
        let report: BatchUpdateReport = serde_json::from_value(serde_json::json!({
            "deviceNotFound": i64::MAX,
            "skippedRows": [
                "Row 2: device not found",
                "Row 10: device not found",
                "Row 99999999999999999999999: device not found"
            ]
        }))
        .unwrap();
        let mut summary = BatchUpdateSummary::default();
        for _ in 0..3 {
            merge_report(&mut summary, &report, 100..110);
        }
        let rows: Vec<Option<usize>> = summary.skipped[..3].iter().map(|r| r.row).collect();
        assert_eq!(rows, [Some(102), None, None]);
        assert_eq!(summary.counters.device_not_found, u64::MAX);
        merge_report(&mut summary, &report, usize::MAX - 1..usize::MAX);
        assert_eq!(summary.skipped[9].row, None);
    }

    #[test]
    fn row_numbers_are_read_from_skip_reasons() {
        assert_eq!(row_in_reason("Row 3: device 9 not found"), Some(3));
        assert_eq!(row_in_reason("row #12 wrong product"), Some(12));
        assert_eq!(row_in_reason("device 9 not found"), None);
        assert_eq!(row_in_reason("Row: x"), None);
        assert_eq!(row_in_reason("ro"), None);
    }
}
