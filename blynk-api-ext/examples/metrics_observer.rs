//! Metrics through the observer hook: an [`Observer`] set once on the builder sees every attempt
//! of every request, and feeds counters per operation and outcome (status, or `connect`,
//! `timeout`, `transport`), a latency histogram per operation, retries, and the time spent in
//! backoff and held back by the client-wide pacing. The program runs a small read-only workload
//! (a fleet read, one device, a datastream's history) and prints the metrics at the end in the
//! Prometheus text format, ready for a scrape endpoint or a push gateway.
//!
//! ```sh
//! # Against the embedded simulator (no BLYNK_SERVER), which answers one batch read with 429
//! # (Retry-After: 1) and one history page with 503, so retries and backoff show:
//! cargo run -p blynk-api-ext --example metrics_observer
//! # Against your organisation:
//! BLYNK_SERVER=fra1 BLYNK_TOKEN=... cargo run -p blynk-api-ext --example metrics_observer -- \
//!     --devices 1-100 --history 1:1
//! ```

use std::collections::BTreeMap;
use std::error::Error;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use blynk_api_ext::api::operations::{
    GET_BATCH_DEVICE_DATA_STREAMS, GET_DEVICE_DATA_STREAM_HISTORY,
};
use blynk_api_ext::{Attempt, Blynk, HistoryQuery, Observer, ReadOptions, Region};
use blynk_sim::BlynkSim;
use blynk_sim::rules::{Action, FaultRule};
use clap::Parser;
use futures::StreamExt;

/// Upper bounds of the latency buckets, in seconds (Prometheus' default buckets).
pub const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The latency of one operation's attempts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Attempts at or under each of [`BUCKETS`] (not cumulative).
    pub buckets: [u64; BUCKETS.len()],
    /// Attempts over the last bucket.
    pub over: u64,
    /// All attempts.
    pub count: u64,
    /// Their total duration.
    pub sum: Duration,
}

impl Histogram {
    fn record(&mut self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        match BUCKETS.iter().position(|&le| seconds <= le) {
            Some(i) => self.buckets[i] += 1,
            None => self.over += 1,
        }
        self.count += 1;
        self.sum += duration;
    }
}

/// Everything recorded so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Attempts by operation id and outcome (`"200"`, `"429"`, `"connect"`, `"timeout"`, ...).
    pub attempts: BTreeMap<(&'static str, String), u64>,
    /// Latency by operation id.
    pub latency: BTreeMap<&'static str, Histogram>,
    /// Attempts after the first, by operation id.
    pub retries: BTreeMap<&'static str, u64>,
    /// Time waited in backoff before retries (`Retry-After` included).
    pub backoff: Duration,
    /// Time the client-wide pacing held attempts back.
    pub pacing: Duration,
}

/// Metrics of one client's requests; share it with [`MetricsObserver`].
#[derive(Debug, Default)]
pub struct Metrics(Mutex<Snapshot>);

impl Metrics {
    /// Records one attempt.
    pub fn record(&self, attempt: &Attempt) {
        let outcome = match attempt.outcome.status() {
            Some(status) => status.to_string(),
            None => attempt.outcome.error_kind().unwrap_or("other").to_string(),
        };
        let operation = attempt.operation.id;
        // A panic elsewhere while holding the lock leaves counts that are still counts.
        let mut m = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *m.attempts.entry((operation, outcome)).or_default() += 1;
        m.latency
            .entry(operation)
            .or_default()
            .record(attempt.duration);
        if attempt.attempt > 1 {
            *m.retries.entry(operation).or_default() += 1;
        }
        m.backoff += attempt.backoff;
        m.pacing += attempt.pacing_delay;
    }

    /// A copy of everything recorded so far.
    pub fn snapshot(&self) -> Snapshot {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Writes the metrics in the Prometheus text exposition format.
    pub fn write_prometheus(&self, mut out: impl Write) -> std::io::Result<()> {
        let m = self.snapshot();
        writeln!(
            out,
            "# HELP blynk_attempts_total Request attempts by operation and outcome."
        )?;
        writeln!(out, "# TYPE blynk_attempts_total counter")?;
        for ((operation, outcome), n) in &m.attempts {
            writeln!(
                out,
                "blynk_attempts_total{{operation=\"{operation}\",outcome=\"{outcome}\"}} {n}"
            )?;
        }
        writeln!(
            out,
            "# HELP blynk_retries_total Attempts after the first, by operation."
        )?;
        writeln!(out, "# TYPE blynk_retries_total counter")?;
        for (operation, n) in &m.retries {
            writeln!(out, "blynk_retries_total{{operation=\"{operation}\"}} {n}")?;
        }
        writeln!(
            out,
            "# HELP blynk_attempt_duration_seconds From sending a request to its response headers."
        )?;
        writeln!(out, "# TYPE blynk_attempt_duration_seconds histogram")?;
        for (operation, h) in &m.latency {
            let mut cumulative = 0;
            for (le, n) in BUCKETS.iter().zip(h.buckets) {
                cumulative += n;
                writeln!(
                    out,
                    "blynk_attempt_duration_seconds_bucket{{operation=\"{operation}\",le=\"{le}\"}} {cumulative}"
                )?;
            }
            writeln!(
                out,
                "blynk_attempt_duration_seconds_bucket{{operation=\"{operation}\",le=\"+Inf\"}} {}",
                h.count
            )?;
            writeln!(
                out,
                "blynk_attempt_duration_seconds_sum{{operation=\"{operation}\"}} {}",
                h.sum.as_secs_f64()
            )?;
            writeln!(
                out,
                "blynk_attempt_duration_seconds_count{{operation=\"{operation}\"}} {}",
                h.count
            )?;
        }
        writeln!(
            out,
            "# HELP blynk_backoff_seconds_total Time waited before retries."
        )?;
        writeln!(out, "# TYPE blynk_backoff_seconds_total counter")?;
        writeln!(
            out,
            "blynk_backoff_seconds_total {}",
            m.backoff.as_secs_f64()
        )?;
        writeln!(
            out,
            "# HELP blynk_pacing_delay_seconds_total Time the client-wide pacing held attempts back."
        )?;
        writeln!(out, "# TYPE blynk_pacing_delay_seconds_total counter")?;
        writeln!(
            out,
            "blynk_pacing_delay_seconds_total {}",
            m.pacing.as_secs_f64()
        )?;
        Ok(())
    }
}

/// The observer to set on the builder: `.observer(MetricsObserver(metrics.clone()))`.
#[derive(Debug, Clone)]
pub struct MetricsObserver(pub Arc<Metrics>);

impl Observer for MetricsObserver {
    fn attempt(&self, attempt: &Attempt) {
        self.0.record(attempt);
    }
}

/// The requests to make.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Devices to read the current values of (10 per request).
    pub device_ids: Vec<i32>,
    /// A device and datastream whose whole history to read.
    pub history: Option<(i32, i32)>,
}

/// Runs the workload on `blynk` (whose observer feeds `metrics`), then writes the metrics to
/// `out`. Failed requests are not errors here: they are what the metrics count.
pub async fn run(
    blynk: &Blynk,
    metrics: &Metrics,
    workload: &Workload,
    mut out: impl Write,
) -> Result<(), Box<dyn Error>> {
    let fleet = blynk
        .values_for_devices(&workload.device_ids, ReadOptions::default())
        .await?;
    if let Some(first) = fleet.devices.first() {
        let _ = blynk.device_values(first.device_id).await;
    }
    if let Some((device_id, datastream_id)) = workload.history {
        let query = HistoryQuery {
            device_id,
            datastream_id,
            from: UNIX_EPOCH,
            to: SystemTime::now(),
        };
        let mut points = blynk.history(query).into_stream();
        while let Some(point) = points.next().await {
            if point.is_err() {
                break;
            }
        }
    }
    metrics.write_prometheus(&mut out)?;
    out.flush()?;
    Ok(())
}

/// Parses an id list such as `1-40,101,103-105`.
pub fn parse_ids(list: &str) -> Result<Vec<i32>, String> {
    let mut ids = Vec::new();
    for part in list.split(',').map(str::trim) {
        let number = |s: &str| {
            s.trim()
                .parse::<i32>()
                .map_err(|_| format!("`{s}` in `{list}` is not a device id"))
        };
        match part.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (number(first)?, number(last)?);
                if first > last {
                    return Err(format!("range `{part}` runs backwards"));
                }
                ids.extend(first..=last);
            }
            None => ids.push(number(part)?),
        }
    }
    Ok(ids)
}

/// Parses `DEVICE:DATASTREAM`.
fn parse_stream(s: &str) -> Result<(i32, i32), String> {
    let bad = || format!("`{s}` is not DEVICE:DATASTREAM (two integers)");
    let (device, datastream) = s.split_once(':').ok_or_else(bad)?;
    Ok((
        device.trim().parse().map_err(|_| bad())?,
        datastream.trim().parse().map_err(|_| bad())?,
    ))
}

#[derive(Parser)]
#[command(about = "Read a fleet and a history, then print the client's metrics (Prometheus text)")]
struct Cli {
    /// Devices: ids and ranges, `1-40,101-105`.
    #[arg(long, default_value = "1-40", value_parser = parse_ids)]
    devices: ::std::vec::Vec<i32>,
    /// The history to read, `DEVICE:DATASTREAM`.
    #[arg(long, default_value = "1:1", value_parser = parse_stream)]
    history: (i32, i32),
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let cli = Cli::parse();
    let metrics = Arc::new(Metrics::default());
    let (blynk, _sim) = connect(MetricsObserver(metrics.clone())).await?;
    let workload = Workload {
        device_ids: cli.devices,
        history: Some(cli.history),
    };
    run(&blynk, &metrics, &workload, std::io::stdout().lock()).await
}

/// The client with the observer: `BLYNK_SERVER` (a region such as `fra1`, or a URL) and
/// `BLYNK_TOKEN`, or, without `BLYNK_SERVER`, the embedded simulator's demo organisation with two
/// faults (returned too, to keep it running).
async fn connect(observer: MetricsObserver) -> Result<(Blynk, Option<BlynkSim>), Box<dyn Error>> {
    match std::env::var("BLYNK_SERVER") {
        Ok(server) if !server.is_empty() => {
            let token = std::env::var("BLYNK_TOKEN")
                .map_err(|_| "BLYNK_SERVER is set but BLYNK_TOKEN is not")?;
            let builder = match server.parse::<Region>() {
                Ok(region) => Blynk::builder().region(region),
                Err(_) => Blynk::builder().base_url(server),
            };
            Ok((builder.token(token).observer(observer).build()?, None))
        }
        Err(std::env::VarError::NotUnicode(_)) => Err("BLYNK_SERVER is not valid UTF-8".into()),
        _ => {
            let sim = BlynkSim::builder()
                .rule(
                    FaultRule::operation(GET_BATCH_DEVICE_DATA_STREAMS.id)
                        .nth(2)
                        .then(Action::too_many_requests(Some(1))),
                )
                .rule(
                    FaultRule::operation(GET_DEVICE_DATA_STREAM_HISTORY.id)
                        .nth(2)
                        .then(Action::Status {
                            status: 503,
                            retry_after: None,
                        }),
                )
                .start()
                .await?;
            eprintln!(
                "BLYNK_SERVER not set: using the embedded simulator at {}; it answers the 2nd \
                 batch read with 429 (Retry-After: 1) and the 2nd history page with 503",
                sim.base_url()
            );
            let blynk = Blynk::builder()
                .base_url(sim.base_url())
                .token(blynk_sim::DEMO_TOKEN)
                .observer(observer)
                .build()?;
            Ok((blynk, Some(sim)))
        }
    }
}
