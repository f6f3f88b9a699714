//! A datastream's history over all pages: [`Blynk::history`] gives a lazy stream of points,
//! pages requested as it is read (with optional read-ahead), ending exactly at the server's
//! `totalElements`.

use std::fmt;
use std::pin::Pin;

use futures::stream::{self, Stream, StreamExt};

use crate::bulk::progress::{ProgressFn, report};
use crate::client::Blynk;
use crate::error::{Error, Result};
use crate::model::{HistoryPoint, HistoryQuery, Point, Value, to_millis};
use crate::ops::HISTORY;
use blynk_api::limits;

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
            operation: HISTORY,
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
