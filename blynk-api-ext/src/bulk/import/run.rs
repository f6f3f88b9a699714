//! One import call: the input read one window at a time (at most
//! [`limits::MAX_POINTS_PER_IMPORT`] points, extended to the end of its last timestamp while the
//! input is in time order, so no timestamp straddles two windows), each window settled before
//! the next is read: points already stored skipped ([`ImportOptions::skip_existing`]), the rest
//! sent in chunks, and every chunk whose outcome is unknown reconciled against the history before
//! anything else is sent.

use std::time::{Duration, SystemTime};

use futures::stream::{Stream, StreamExt};

use super::matching::{Item, Observed, Outcome, State, match_existing, match_unknown, outcome_of};
use super::{ImportError, ImportOptions, ImportReport, UnresolvedPoint};
use crate::bulk::progress::report;
use crate::client::Blynk;
use crate::error::Error;
use crate::model::{HistoryQuery, Point, from_millis, to_millis};
use crate::ops::{HISTORY, IMPORT};
use crate::validate::{self, PointVerdict};
use crate::wire::{self, Pushed};
use blynk_api::limits;

/// Points per window.
const WINDOW: usize = limits::MAX_POINTS_PER_IMPORT;
/// A window grows past [`WINDOW`] to the end of its last timestamp, up to this many points; a
/// timestamp with more points than that is split between windows.
const WINDOW_CAP: usize = 4 * WINDOW;
/// Times a range is read again from its first page because the history changed under the read.
const MAX_REREADS: u32 = 5;

/// Why sending a window's points stopped.
enum Stop {
    /// A request was not applied (or never sent): the import stops.
    NotApplied(Error),
    /// A request's outcome is unknown: reconcile, then go on.
    Unknown(Error),
}

/// Which reads a range read counts as.
#[derive(Clone, Copy)]
enum Reads {
    Existing,
    Reconcile,
}

/// The longest wait between two reads of a reconciliation.
const MAX_RECONCILE_POLL: Duration = Duration::from_secs(60);

/// The state of one import call.
pub(super) struct Run<'a> {
    blynk: &'a Blynk,
    /// Sends the import requests: `blynk` itself, or, if its retry policy retries writes on
    /// server errors, a clone that does not. Such a request's outcome is unknown, and this run
    /// settles it against the history; a retry the engine made blindly could store the chunk
    /// twice.
    writer: Blynk,
    device_id: i32,
    datastream_id: i32,
    options: ImportOptions,
    total: Option<u64>,
    report: ImportReport,
    now: SystemTime,
    previous_ts: Option<i64>,
    in_order: bool,
}

impl<'a> Run<'a> {
    pub(super) fn new(
        blynk: &'a Blynk,
        device_id: i32,
        datastream_id: i32,
        options: ImportOptions,
        total: Option<u64>,
    ) -> Self {
        let report = ImportReport {
            end: options.offset,
            ..ImportReport::default()
        };
        let retry = &blynk.inner.engine.retry;
        let writer = if retry.retries_writes_on_server_errors() {
            blynk.with_retry(retry.clone().retry_writes_on_server_errors(false))
        } else {
            blynk.clone()
        };
        Self {
            blynk,
            writer,
            device_id,
            datastream_id,
            now: blynk.clock().wall(),
            options,
            total,
            report,
            previous_ts: None,
            in_order: true,
        }
    }

    pub(super) async fn import(
        mut self,
        points: impl Stream<Item = Point>,
    ) -> Result<ImportReport, ImportError> {
        let mut points = std::pin::pin!(points);
        let mut lookahead: Option<Item> = None;
        loop {
            let mut items: Vec<Item> = lookahead.take().into_iter().collect();
            let mut exhausted = false;
            loop {
                let Some(point) = points.next().await else {
                    exhausted = true;
                    break;
                };
                let position = self.report.end;
                self.report.end += 1;
                let item = match self.check(point, position) {
                    Ok(Some(item)) => item,
                    Ok(None) => continue,
                    Err(e) => return Err(self.fail(&items, position, e)),
                };
                let same_ts = items.last().is_some_and(|last| last.ts == item.ts);
                if items.len() >= WINDOW && !(self.in_order && same_ts && items.len() < WINDOW_CAP)
                {
                    lookahead = Some(item);
                    break;
                }
                items.push(item);
            }
            if !items.is_empty()
                && let Err(e) = self.settle(&mut items).await
            {
                let fallback = items.first().map_or(self.report.end, |i| i.position);
                return Err(self.fail(&items, fallback, e));
            }
            let done = self.report.end - u64::from(lookahead.is_some());
            report(&self.options.progress, done, self.total);
            if exhausted {
                return Ok(self.report);
            }
        }
    }

    /// Checks one point: `None` if it is skipped as too far ahead.
    fn check(&mut self, point: Point, position: u64) -> Result<Option<Item>, Error> {
        let ts = match validate::import_point(&point, position, &self.options, self.now)? {
            PointVerdict::Send { ts } => ts,
            PointVerdict::SkipFuture => {
                self.report.skipped_future += 1;
                return Ok(None);
            }
        };
        if self.previous_ts.is_some_and(|previous| ts < previous) {
            if self.options.skip_existing {
                return Err(Error::invalid(
                    IMPORT,
                    format!("points[{position}].at"),
                    "is earlier than the point before it; skip_existing needs the points in \
                     time order",
                ));
            }
            self.in_order = false;
        }
        self.previous_ts = Some(ts);
        Ok(Some(Item {
            position,
            ts,
            value: point.value,
            state: State::Unsent,
            unknown_sends: 0,
        }))
    }

    /// Stores every point of the window exactly once, or says why not.
    async fn settle(&mut self, items: &mut [Item]) -> Result<(), Error> {
        let mut baseline = Observed::default();
        if self.options.skip_existing {
            let (lo, hi) = range(items.iter());
            let mut observed = Observed::of(items.iter().map(|i| i.ts));
            self.read_range(lo, hi, &mut observed, Reads::Existing)
                .await?;
            self.report.skipped_existing += match_existing(items, &observed);
            baseline = observed;
        }
        loop {
            match self.send_unsent(items).await {
                Ok(()) => return Ok(()),
                Err(Stop::NotApplied(e)) => return Err(e),
                Err(Stop::Unknown(e)) => {
                    self.report.unknown_outcomes += 1;
                    if !self.reconcile(items, &baseline).await? {
                        // Deadline passed and resending is off: the points still unknown are
                        // named in the error.
                        return Err(e);
                    }
                    let max = self.options.max_unknown_sends;
                    if items
                        .iter()
                        .any(|i| i.state == State::Unsent && i.unknown_sends >= max)
                    {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Sends the window's unsent points in chunks, in order, until all are sent or one chunk
    /// fails.
    async fn send_unsent(&mut self, items: &mut [Item]) -> Result<(), Stop> {
        let mut encoder = wire::import_encoder(
            self.device_id,
            self.datastream_id,
            self.options.max_request_bytes,
        );
        let mut in_body: Vec<usize> = Vec::new();
        for index in 0..items.len() {
            let item = &items[index];
            if item.state != State::Unsent {
                continue;
            }
            match encoder.push_point(item.ts, &item.value) {
                Pushed::Added => in_body.push(index),
                Pushed::Full { body, .. } => {
                    let chunk = std::mem::replace(&mut in_body, vec![index]);
                    self.send_chunk(items, &chunk, body).await?;
                }
                Pushed::TooLarge | Pushed::Unencodable => {
                    // One point alone passes the byte limit: it can never be sent.
                    return Err(Stop::NotApplied(Error::invalid(
                        IMPORT,
                        format!("points[{}].value", item.position),
                        format!(
                            "encodes to more than {} bytes",
                            self.options.max_request_bytes
                        ),
                    )));
                }
            }
        }
        if let Some((body, _)) = encoder.finish() {
            self.send_chunk(items, &in_body, body).await?;
        }
        Ok(())
    }

    async fn send_chunk(
        &mut self,
        items: &mut [Item],
        chunk: &[usize],
        body: Vec<u8>,
    ) -> Result<(), Stop> {
        self.report.requests += 1;
        self.report.resent += chunk
            .iter()
            .filter(|&&i| items[i].unknown_sends > 0)
            .count() as u64;
        match self.writer.post_json(IMPORT, body).await {
            Ok(_) => {
                for &i in chunk {
                    items[i].state = State::Stored;
                }
                self.report.accepted += chunk.len() as u64;
                Ok(())
            }
            Err(e) => match outcome_of(&e) {
                Outcome::NotApplied => Err(Stop::NotApplied(e)),
                Outcome::Unknown => {
                    for &i in chunk {
                        items[i].state = State::Unknown;
                        items[i].unknown_sends += 1;
                    }
                    Err(Stop::Unknown(e))
                }
            },
        }
    }

    /// Settles the window's unknown points: reads the history over their range until all are
    /// there or the deadline passes; those there are stored, the others are to be sent again.
    /// If the history cannot be read, they stay unknown and the error is returned. Returns `false`
    /// when the deadline passed with points missing and
    /// [`ImportOptions::resend_after_deadline`] is off: those stay unknown.
    async fn reconcile(&mut self, items: &mut [Item], baseline: &Observed) -> Result<bool, Error> {
        let unknown = || items.iter().filter(|i| i.state == State::Unknown);
        let (lo, hi) = range(unknown());
        let clock = self.blynk.clock();
        // A deadline past what a clock can hold (`Duration::MAX`: "wait as long as it takes")
        // never passes.
        let deadline = clock.now().checked_add(self.options.reconcile_deadline);
        let mut wait = self.options.reconcile_poll;
        loop {
            let mut observed = Observed::of(unknown().map(|i| i.ts));
            self.read_range(lo, hi, &mut observed, Reads::Reconcile)
                .await?;
            let (present, missing) = match_unknown(items, &observed, baseline);
            let now = clock.now();
            if missing.is_empty() || deadline.is_some_and(|d| now >= d) {
                for &i in &present {
                    items[i].state = State::Stored;
                }
                let resend = self.options.resend_after_deadline;
                if resend {
                    for &i in &missing {
                        items[i].state = State::Unsent;
                    }
                }
                self.report.accepted += present.len() as u64;
                self.report.reconciled_present += present.len() as u64;
                return Ok(resend || missing.is_empty());
            }
            clock
                .sleep(deadline.map_or(wait, |d| wait.min(d - now)))
                .await;
            wait = wait.saturating_mul(2).min(MAX_RECONCILE_POLL);
        }
    }

    /// Reads the history over `lo..=hi` (milliseconds) page by page into `observed`, counting the
    /// pages. If the total changes between pages (an import became visible meanwhile), pages may
    /// have shifted, so the range is read again from the start.
    async fn read_range(
        &mut self,
        lo: i64,
        hi: i64,
        observed: &mut Observed,
        reads: Reads,
    ) -> Result<(), Error> {
        // One millisecond wider on each side, so the range holds `lo` and `hi` whether the server
        // reads its bounds as inclusive or not; points at other timestamps are not counted.
        let query = HistoryQuery {
            device_id: self.device_id,
            datastream_id: self.datastream_id,
            from: from_millis(lo.saturating_sub(1).max(0)),
            to: from_millis(hi.saturating_add(1)),
        };
        let size = limits::MAX_HISTORY_PAGE_SIZE;
        'read: for _ in 0..=MAX_REREADS {
            *observed = observed.cleared();
            let mut page = i32::try_from(limits::FIRST_HISTORY_PAGE).unwrap_or(0);
            let mut total = None;
            let mut seen = 0u64;
            loop {
                let answer = self.blynk.history_page(&query, page, size).await?;
                match reads {
                    Reads::Existing => self.report.existing_reads += 1,
                    Reads::Reconcile => self.report.reconcile_reads += 1,
                }
                if *total.get_or_insert(answer.total) != answer.total {
                    continue 'read;
                }
                let n = answer.points.len() as u64;
                for point in answer.points {
                    if let Some(ts) = to_millis(point.at) {
                        observed.add(ts, point.value);
                    }
                }
                seen += n;
                if n == 0 || seen >= answer.total {
                    return Ok(());
                }
                page = page.saturating_add(1);
            }
        }
        Err(Error::Decode {
            operation: HISTORY,
            message: format!(
                "the history of {lo}..={hi} ms kept changing while it was read \
                 ({} attempts)",
                MAX_REREADS + 1
            ),
        })
    }

    /// The error for a stop with the window in `items`; `fallback` is the position to resume
    /// from if every point of the window is settled.
    fn fail(&self, items: &[Item], fallback: u64, source: Error) -> ImportError {
        let resume_from = items
            .iter()
            .find(|i| matches!(i.state, State::Unsent | State::Unknown))
            .map_or(fallback, |i| i.position);
        ImportError {
            device_id: self.device_id,
            datastream_id: self.datastream_id,
            accepted: self.report.accepted,
            resume_from,
            stored_after_resume: items
                .iter()
                .filter(|i| {
                    i.position > resume_from && matches!(i.state, State::Stored | State::Existing)
                })
                .count() as u64,
            unresolved: items
                .iter()
                .filter(|i| i.state == State::Unknown)
                .map(|i| UnresolvedPoint {
                    position: i.position,
                    at: from_millis(i.ts),
                })
                .collect(),
            report: Box::new(self.report),
            source,
        }
    }
}

/// The smallest and largest timestamp of `items` (0, 0 if none).
fn range<'i>(items: impl Iterator<Item = &'i Item>) -> (i64, i64) {
    items
        .fold(None, |acc: Option<(i64, i64)>, i| match acc {
            None => Some((i.ts, i.ts)),
            Some((lo, hi)) => Some((lo.min(i.ts), hi.max(i.ts))),
        })
        .unwrap_or((0, 0))
}
