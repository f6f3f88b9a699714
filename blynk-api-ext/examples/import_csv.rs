//! Import a `ts,value` CSV (epoch milliseconds, a number) into one datastream's history, with a
//! progress bar, resumable.
//!
//! The whole file is checked first (numbers, timestamps, the server's one-month future limit),
//! so a bad line stops the import before anything is sent, naming the line. The points then go
//! out 10,000 per request (at most 2 MB each), in order; a request whose outcome is unknown is
//! reconciled by the library, so no point is stored twice.
//!
//! If the import stops, the error says where to resume: `--resume-from N` (and
//! `--skip-existing` when some later points may already be stored). Re-running the whole file
//! with `--skip-existing` is always safe: the target range is read first and only the points not
//! stored are sent.
//!
//! ```sh
//! # Against the embedded simulator (no BLYNK_SERVER): a generated CSV, imported, then re-run
//! # with --skip-existing, which finds every point stored and sends none.
//! cargo run -p blynk-api-ext --example import_csv
//! # Against your organisation:
//! BLYNK_SERVER=fra1 BLYNK_TOKEN=... cargo run -p blynk-api-ext --example import_csv -- \
//!     --device 101 --datastream 1 history.csv --skip-existing
//! ```

use std::error::Error;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use blynk_api_ext::validate::import_point;
use blynk_api_ext::{
    Blynk, ImportError, ImportOptions, ImportReport, Point, ProgressFn, Region, from_millis,
    to_millis,
};
use blynk_sim::BlynkSim;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

/// Where to import, and how.
#[derive(Debug, Clone)]
pub struct ImportArgs {
    /// The device.
    pub device_id: i32,
    /// The datastream (a number datastream).
    pub datastream_id: i32,
    /// Read the target range first and send only the points not stored yet.
    pub skip_existing: bool,
    /// Data rows of the file to skip: the `resume_from` an earlier failed run reported.
    pub resume_from: u64,
    /// Shows points done out of the points in the file.
    pub progress: ProgressBar,
}

/// Reads `input` (a `ts,value` CSV), checks every row, imports the points and writes a one-line
/// summary to `out`. A bad row is an error naming its line, before anything is sent; an import
/// that stops is an [`ImportError`] (boxed: downcast it for `resume_from`).
pub async fn run(
    blynk: &Blynk,
    args: &ImportArgs,
    input: impl Read,
    mut out: impl Write,
) -> Result<ImportReport, Box<dyn Error>> {
    let bar = args.progress.clone();
    let options = ImportOptions::default()
        .offset(args.resume_from)
        .skip_existing(args.skip_existing)
        .progress(ProgressFn::new(move |p| bar.set_position(p.done)));
    // Text from the file is escaped in errors: a control character cannot reach the terminal.
    let points = read_points(input, args.resume_from, args.skip_existing, &options)?;

    args.progress
        .set_length(args.resume_from + points.len() as u64);
    args.progress.set_position(args.resume_from);
    let result = blynk
        .import_history(args.device_id, args.datastream_id, points, options)
        .await;
    // The summary line follows on the same terminal: leave no bar behind.
    args.progress.finish_and_clear();
    let report = result?;
    writeln!(
        out,
        "device {}, datastream {}: {} stored in {}; {} already stored, {} too far in the future \
         (skipped)",
        args.device_id,
        args.datastream_id,
        counted(report.accepted, "point"),
        counted(report.requests, "request"),
        report.skipped_existing,
        report.skipped_future
    )?;
    Ok(report)
}

/// `1 point`, `2 points`.
fn counted(n: u64, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// The points of a `ts,value` CSV from data row `skip` on, each checked as the import will check
/// it. Errors name the line.
pub fn read_points(
    input: impl Read,
    skip: u64,
    in_time_order: bool,
    options: &ImportOptions,
) -> Result<Vec<Point>, Box<dyn Error>> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let header = csv.headers()?;
    if header.len() != 2 || &header[0] != "ts" || &header[1] != "value" {
        return Err(format!(
            "line 1: the header must be `ts,value`, not `{}`",
            header.iter().collect::<Vec<_>>().join(",").escape_debug()
        )
        .into());
    }
    let now = SystemTime::now();
    let mut points = Vec::new();
    let mut last_ts = None;
    let mut rows = 0;
    for (position, record) in csv.records().enumerate() {
        let record = record?;
        let position = position as u64;
        rows += 1;
        if position < skip {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != 2 {
            return Err(format!(
                "line {line}: {} fields, expected 2 (ts,value)",
                record.len()
            )
            .into());
        }
        let ts: i64 = record[0].parse().map_err(|_| {
            format!(
                "line {line}: ts `{}` is not epoch milliseconds",
                record[0].escape_debug()
            )
        })?;
        let value: f64 = record[1].parse().map_err(|_| {
            format!(
                "line {line}: value `{}` is not a number",
                record[1].escape_debug()
            )
        })?;
        if ts < 0 {
            return Err(format!("line {line}: ts {ts} is before 1970").into());
        }
        if in_time_order && last_ts.is_some_and(|last| ts < last) {
            return Err(format!(
                "line {line}: ts {ts} is earlier than the line before; --skip-existing needs the \
                 file in time order"
            )
            .into());
        }
        last_ts = Some(ts);
        let point = Point::new(from_millis(ts), value);
        // A point too far ahead passes (the import counts it in `skipped_future`).
        import_point(&point, position, options, now).map_err(|e| format!("line {line}: {e}"))?;
        points.push(point);
    }
    if skip > rows {
        return Err(
            format!("the file has {rows} data rows: nothing to resume from row {skip}").into(),
        );
    }
    Ok(points)
}

#[derive(Parser)]
#[command(about = "Import a ts,value CSV (epoch ms, number) into a datastream's history")]
struct Cli {
    /// The device.
    #[arg(long, default_value_t = 2)]
    device: i32,
    /// The datastream.
    #[arg(long, default_value_t = 1)]
    datastream: i32,
    /// The CSV file (generated, with the embedded simulator, when left out).
    file: Option<PathBuf>,
    /// Send only the points the datastream does not have yet (safe to re-run).
    #[arg(long)]
    skip_existing: bool,
    /// Skip this many data rows: the position a failed run reported.
    #[arg(long, default_value_t = 0)]
    resume_from: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let cli = Cli::parse();
    let (blynk, sim) = connect().await?;
    let input: Vec<u8> = match (&cli.file, &sim) {
        (Some(path), _) => {
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?
        }
        (None, Some(_)) => demo_csv(25_000),
        (None, None) => return Err("give the CSV file to import".into()),
    };
    let mut args = ImportArgs {
        device_id: cli.device,
        datastream_id: cli.datastream,
        skip_existing: cli.skip_existing,
        resume_from: cli.resume_from,
        progress: progress_bar()?,
    };
    if let Err(e) = run(&blynk, &args, input.as_slice(), std::io::stdout().lock()).await {
        if let Some(stopped) = e.downcast_ref::<ImportError>() {
            let skip = if stopped.resume_needs_skip_existing() || cli.skip_existing {
                " --skip-existing"
            } else {
                ""
            };
            eprintln!("to resume: --resume-from {}{skip}", stopped.resume_from);
        }
        return Err(e);
    }
    if sim.is_some() && cli.file.is_none() {
        eprintln!("demo: the same file again, with --skip-existing");
        args.skip_existing = true;
        args.resume_from = 0;
        args.progress = progress_bar()?;
        run(&blynk, &args, input.as_slice(), std::io::stdout().lock()).await?;
    }
    Ok(())
}

fn progress_bar() -> Result<ProgressBar, Box<dyn Error>> {
    // Drawn on stderr, and only when it is a terminal.
    Ok(ProgressBar::new(0).with_style(ProgressStyle::with_template(
        "{bar:40} {human_pos}/{human_len} points, eta {eta}",
    )?))
}

/// `n` points one minute apart, the last an hour ago: a day's temperature curve, repeated.
fn demo_csv(n: u64) -> Vec<u8> {
    let end = to_millis(SystemTime::now() - Duration::from_secs(3600))
        .unwrap_or_else(|| to_millis(UNIX_EPOCH).unwrap_or_default());
    let mut csv = String::from("ts,value\n");
    for i in 0..n {
        let ts = end - (n - 1 - i) as i64 * 60_000;
        let value = 20.0 + ((i % 1440) as f64 / 1440.0 * std::f64::consts::TAU).sin() * 4.0;
        csv.push_str(&format!("{ts},{value:.2}\n"));
    }
    csv.into_bytes()
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
