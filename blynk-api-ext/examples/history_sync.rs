//! A periodic history sync: appends the points of each device × datastream that are new since
//! the last run to a CSV (`device,datastream,ts,value`, `ts` in epoch milliseconds), and keeps a
//! checkpoint file with the last synced timestamp of each, so each run fetches only what is new.
//! One run per invocation (schedule it with cron or a timer), or `--every SECS` to loop.
//!
//! Delivery is at least once: the output is flushed before the checkpoint is written (atomically,
//! by rename), so a crash in between makes the next run fetch those points again; deduplicate on
//! `(device, datastream, ts)` downstream if that matters. A stream whose read fails keeps its
//! checkpoint and is fetched again next run; the others go on. A point that arrives later with a
//! timestamp at or before a stream's checkpoint (a late import, say) is not seen: this sync
//! follows time, not arrival.
//!
//! ```sh
//! # Against the embedded simulator (no BLYNK_SERVER): two runs, with 3 new points in between.
//! cargo run -p blynk-api-ext --example history_sync
//! # Against your organisation, every 5 minutes:
//! BLYNK_SERVER=fra1 BLYNK_TOKEN=... cargo run -p blynk-api-ext --example history_sync -- \
//!     --devices 1-20 --datastreams 1,2 --checkpoint sync.json --output history.csv --every 300
//! ```

use std::collections::BTreeMap;
use std::error::Error;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use blynk_api_ext::{Blynk, HistoryQuery, Point, Region, from_millis, to_millis};
use blynk_sim::BlynkSim;
use clap::Parser;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

/// What to sync.
#[derive(Debug, Clone)]
pub struct SyncArgs {
    /// The checkpoint file (created when missing).
    pub checkpoint: PathBuf,
    /// Device × datastream pairs.
    pub streams: Vec<(i32, i32)>,
    /// Where a stream with no checkpoint yet starts.
    pub since: SystemTime,
    /// The end of the range read (normally now).
    pub until: SystemTime,
}

/// What one stream's sync did.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSync {
    /// The device.
    pub device_id: i32,
    /// The datastream.
    pub datastream_id: i32,
    /// The start of the range read, epoch ms.
    pub from_ms: i64,
    /// Points written.
    pub fetched: u64,
    /// The checkpoint after the run, epoch ms (`None`: nothing synced yet).
    pub checkpoint_ms: Option<i64>,
    /// Why the read failed (its checkpoint was kept).
    pub error: Option<String>,
}

/// The checkpoint file: the last synced timestamp of each stream.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Checkpoint {
    streams: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    device: i32,
    datastream: i32,
    last_ts: i64,
}

impl Checkpoint {
    fn load(path: &Path) -> Result<BTreeMap<(i32, i32), i64>, Box<dyn Error>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display()).into()),
        };
        // A damaged checkpoint stops the sync: starting over would fetch everything again.
        let file: Checkpoint = serde_json::from_str(&text)
            .map_err(|e| format!("checkpoint {} is damaged: {e}", path.display()))?;
        Ok(file
            .streams
            .into_iter()
            .map(|e| ((e.device, e.datastream), e.last_ts))
            .collect())
    }

    fn save(path: &Path, last: &BTreeMap<(i32, i32), i64>) -> Result<(), Box<dyn Error>> {
        let file = Checkpoint {
            streams: last
                .iter()
                .map(|(&(device, datastream), &last_ts)| Entry {
                    device,
                    datastream,
                    last_ts,
                })
                .collect(),
        };
        // Write beside, then rename: a crash leaves the old checkpoint or the new one, whole.
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        std::fs::write(&temporary, serde_json::to_vec_pretty(&file)?)
            .map_err(|e| format!("cannot write {}: {e}", temporary.display()))?;
        std::fs::rename(&temporary, path)
            .map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
        Ok(())
    }
}

/// Syncs each stream once: reads its history from just after its checkpoint (or from
/// `args.since`) to `args.until`, writes the points to `out` as `device,datastream,ts,value`
/// rows (no header), then moves its checkpoint to the latest point written. A stream whose read
/// fails is reported in its [`StreamSync::error`]; errors of the checkpoint file or of `out` stop
/// the run.
pub async fn run(
    blynk: &Blynk,
    args: &SyncArgs,
    mut out: impl Write,
) -> Result<Vec<StreamSync>, Box<dyn Error>> {
    let mut last = Checkpoint::load(&args.checkpoint)?;
    let since = to_millis(args.since).ok_or("--since is before 1970")?;
    let until = to_millis(args.until).ok_or("the end of the range is before 1970")?;
    let mut report = Vec::with_capacity(args.streams.len());
    for &(device_id, datastream_id) in &args.streams {
        let previous = last.get(&(device_id, datastream_id)).copied();
        let from_ms = previous.map_or(since, |ts| ts.saturating_add(1));
        let mut sync = StreamSync {
            device_id,
            datastream_id,
            from_ms,
            fetched: 0,
            checkpoint_ms: previous,
            error: None,
        };
        if from_ms > until {
            report.push(sync);
            continue;
        }
        let query = HistoryQuery {
            device_id,
            datastream_id,
            from: from_millis(from_ms),
            to: from_millis(until),
        };
        let mut points = blynk.history(query).read_ahead(1).into_stream();
        let mut newest = previous;
        while let Some(point) = points.next().await {
            match point {
                Ok(point) => {
                    let ts = to_millis(point.at).unwrap_or_default();
                    writeln!(out, "{device_id},{datastream_id},{ts},{}", point.value)?;
                    sync.fetched += 1;
                    newest = newest.max(Some(ts));
                }
                Err(e) => {
                    sync.error = Some(e.to_string());
                    break;
                }
            }
        }
        out.flush()?;
        if sync.error.is_none()
            && let Some(ts) = newest
            && newest != previous
        {
            last.insert((device_id, datastream_id), ts);
            Checkpoint::save(&args.checkpoint, &last)?;
            sync.checkpoint_ms = Some(ts);
        }
        report.push(sync);
    }
    Ok(report)
}

/// Parses an id list such as `1-40,101,103-105`.
pub fn parse_ids(list: &str) -> Result<Vec<i32>, String> {
    let mut ids = Vec::new();
    for part in list.split(',').map(str::trim) {
        let number = |s: &str| {
            s.trim()
                .parse::<i32>()
                .map_err(|_| format!("`{s}` in `{list}` is not a device or datastream id"))
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

#[derive(Parser)]
#[command(about = "Append each datastream's new history to a CSV, keeping a checkpoint file")]
struct Cli {
    /// Devices: ids and ranges, `1-40,101-105`.
    #[arg(long, default_value = "1", value_parser = parse_ids)]
    devices: ::std::vec::Vec<i32>,
    /// Datastreams of each device: `1,2`.
    #[arg(long, default_value = "1", value_parser = parse_ids)]
    datastreams: ::std::vec::Vec<i32>,
    /// The checkpoint file (default `history_sync.checkpoint.json`; a temporary one with the
    /// embedded simulator).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Append to this CSV file instead of writing to stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Where streams without a checkpoint start, epoch milliseconds.
    #[arg(long, default_value_t = 0)]
    since: i64,
    /// Run again every this many seconds, until interrupted.
    #[arg(long)]
    every: Option<u64>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let cli = Cli::parse();
    let (blynk, sim) = connect().await?;
    let temporary = tempfile::tempdir()?;
    let checkpoint = match (&cli.checkpoint, &sim) {
        (Some(path), _) => path.clone(),
        (None, Some(_)) => temporary.path().join("history_sync.checkpoint.json"),
        (None, None) => PathBuf::from("history_sync.checkpoint.json"),
    };
    if cli.since < 0 {
        return Err("--since must be epoch milliseconds from 1970".into());
    }
    let streams = cli
        .devices
        .iter()
        .flat_map(|&d| cli.datastreams.iter().map(move |&s| (d, s)))
        .collect();
    let mut args = SyncArgs {
        checkpoint,
        streams,
        since: from_millis(cli.since),
        until: SystemTime::now(),
    };
    let demo = sim.is_some() && cli.every.is_none();
    for round in 1.. {
        args.until = SystemTime::now();
        let report = sync_once(&blynk, &args, cli.output.as_deref(), round == 1).await?;
        if demo && round == 1 {
            let (device, datastream) = args.streams.first().copied().unwrap_or((1, 1));
            let newest = report.first().and_then(|s| s.checkpoint_ms).unwrap_or(0);
            let points: Vec<Point> = (1..=3)
                .map(|i| Point::new(from_millis(newest + i * 60_000), 20.0 + i as f64))
                .collect();
            blynk.import(device, datastream, &points).await?;
            eprintln!("demo: imported 3 new points into device {device}, datastream {datastream}");
            continue;
        }
        match cli.every {
            Some(seconds) => tokio::time::sleep(Duration::from_secs(seconds)).await,
            None => {
                let failed = report.iter().filter(|s| s.error.is_some()).count();
                if failed > 0 {
                    // For cron: the run is incomplete (the next one fetches those streams again).
                    return Err(
                        format!("{failed} streams failed; their checkpoints were kept").into(),
                    );
                }
                break;
            }
        }
    }
    Ok(())
}

/// One run, with its output (appended to `output`, or stdout) and a report on stderr.
async fn sync_once(
    blynk: &Blynk,
    args: &SyncArgs,
    output: Option<&Path>,
    first: bool,
) -> Result<Vec<StreamSync>, Box<dyn Error>> {
    const HEADER: &str = "device,datastream,ts,value";
    let report = match output {
        Some(path) => {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            if file.metadata()?.len() == 0 {
                writeln!(file, "{HEADER}")?;
            }
            run(blynk, args, std::io::BufWriter::new(file)).await?
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            if first {
                writeln!(stdout, "{HEADER}")?;
            }
            run(blynk, args, stdout).await?
        }
    };
    let fetched: u64 = report.iter().map(|s| s.fetched).sum();
    eprintln!("synced {} streams: {fetched} new points", report.len());
    for failed in report.iter().filter(|s| s.error.is_some()) {
        eprintln!(
            "device {}, datastream {}: {} (checkpoint kept)",
            failed.device_id,
            failed.datastream_id,
            failed.error.as_deref().unwrap_or_default()
        );
    }
    Ok(report)
}

/// The client: `BLYNK_SERVER` (a region such as `fra1`, or a URL) and `BLYNK_TOKEN`, or, without
/// `BLYNK_SERVER`, the embedded simulator's demo organisation (returned too, to keep it running).
async fn connect() -> Result<(Blynk, Option<BlynkSim>), Box<dyn Error>> {
    match std::env::var("BLYNK_SERVER") {
        Ok(server) if !server.is_empty() => {
            let token = std::env::var("BLYNK_TOKEN")
                .map_err(|_| "BLYNK_SERVER is set but BLYNK_TOKEN is not")?;
            let builder = match server.parse::<Region>() {
                Ok(region) => Blynk::builder().region(region),
                Err(_) => Blynk::builder().base_url(server),
            };
            Ok((builder.token(token).build()?, None))
        }
        Err(std::env::VarError::NotUnicode(_)) => Err("BLYNK_SERVER is not valid UTF-8".into()),
        _ => {
            let sim = BlynkSim::start().await?;
            eprintln!(
                "BLYNK_SERVER not set: using the embedded simulator at {}",
                sim.base_url()
            );
            let blynk = Blynk::builder()
                .base_url(sim.base_url())
                .token(blynk_sim::DEMO_TOKEN)
                .build()?;
            Ok((blynk, Some(sim)))
        }
    }
}
