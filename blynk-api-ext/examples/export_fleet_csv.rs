//! Export a fleet's current values to CSV: one row per device and datastream
//! (`device,datastream,label,value`), read 10 devices per request, several requests at once.
//!
//! A request that fails after its retries does not lose the others: the rows that were read are
//! written, the devices that could not be read are listed on stderr, and the exit status is 1.
//! Devices the server does not know (or the token may not see) are listed as missing.
//!
//! ```sh
//! # Against the embedded simulator (no BLYNK_SERVER): demo values are written first.
//! cargo run -p blynk-api-ext --example export_fleet_csv
//! # Against your organisation:
//! BLYNK_SERVER=fra1 BLYNK_TOKEN=... cargo run -p blynk-api-ext --example export_fleet_csv -- \
//!     --devices 1-500 --datastreams 1,2 --output fleet.csv
//! ```
//!
//! `BLYNK_SERVER` is a region (`fra1`, `lon1`, ...) or a URL; `BLYNK_TOKEN` an organisation token.

use std::error::Error;
use std::io::Write;
use std::path::PathBuf;

use blynk_api_ext::{BatchUpdate, BatchUpdateOptions, Blynk, Location, ReadOptions, Region, Value};
use blynk_sim::BlynkSim;
use clap::Parser;

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportArgs {
    /// The devices, in the order their rows are written.
    pub device_ids: Vec<i32>,
    /// Only these datastreams (all of each device's datastreams when `None`).
    pub datastream_ids: Option<Vec<i32>>,
    /// Batch reads in flight at once.
    pub concurrency: usize,
}

/// What an export wrote and what it could not read.
#[derive(Debug, Default)]
pub struct ExportSummary {
    /// Devices written.
    pub devices: usize,
    /// CSV rows written (header not counted).
    pub rows: u64,
    /// Batch read requests made.
    pub requests: usize,
    /// Devices the server skipped: unknown, or not visible to the token.
    pub missing: Vec<i32>,
    /// Devices whose request failed after its retries, with the error.
    pub failed: Vec<(Vec<i32>, String)>,
}

/// Reads the current values of `args.device_ids` and writes them to `out` as CSV with the header
/// `device,datastream,label,value`. A datastream without a value gets an empty `value`; a location
/// is written `lon,lat` (quoted by the CSV writer). Failed requests are in the summary, not an
/// error: only invalid input and I/O errors are.
pub async fn run(
    blynk: &Blynk,
    args: &ExportArgs,
    out: impl Write,
) -> Result<ExportSummary, Box<dyn Error>> {
    let mut options = ReadOptions::default().concurrency(args.concurrency);
    if let Some(ids) = &args.datastream_ids {
        options = options.datastreams(ids.clone());
    }
    let fleet = blynk.values_for_devices(&args.device_ids, options).await?;

    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(["device", "datastream", "label", "value"])?;
    let mut rows = 0;
    for device in &fleet.devices {
        for ds in &device.datastreams {
            let value = ds.value.as_ref().map(cell).unwrap_or_default();
            csv.write_record([
                device.device_id.to_string(),
                ds.id.to_string(),
                ds.label.clone(),
                value,
            ])?;
            rows += 1;
        }
    }
    csv.flush()?;

    Ok(ExportSummary {
        devices: fleet.devices.len(),
        rows,
        requests: fleet.requests,
        missing: fleet.missing,
        failed: fleet
            .failed
            .into_iter()
            .map(|f| (f.device_ids, f.error.to_string()))
            .collect(),
    })
}

/// A value as a CSV cell.
fn cell(value: &Value) -> String {
    match value {
        Value::Number(n) => n.to_string(),
        Value::Text(text) => text.clone(),
        Value::Location(Location { lon, lat }) => format!("{lon},{lat}"),
        // `Value` may grow; its debug form is better than nothing.
        #[allow(unreachable_patterns)]
        other => format!("{other:?}"),
    }
}

/// Parses a device list such as `1-40,101,103-105`.
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
#[command(about = "Export a fleet's current values to CSV (device,datastream,label,value)")]
struct Cli {
    /// Devices: ids and ranges, `1-40,101-105`.
    // `::std::vec::Vec`: one value parsed into a list, not one id per occurrence (clap's rule).
    #[arg(long, default_value = "1-40", value_parser = parse_ids)]
    devices: ::std::vec::Vec<i32>,
    /// Only these datastreams: `1,2`.
    #[arg(long, value_parser = parse_ids)]
    datastreams: Option<::std::vec::Vec<i32>>,
    /// Write to this file instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Batch reads in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let cli = Cli::parse();
    let (blynk, sim) = connect().await?;
    if sim.is_some() {
        write_demo_values(&blynk).await?;
    }
    let args = ExportArgs {
        device_ids: cli.devices,
        datastream_ids: cli.datastreams,
        concurrency: cli.concurrency,
    };
    let summary = match &cli.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            run(&blynk, &args, std::io::BufWriter::new(file)).await?
        }
        None => run(&blynk, &args, std::io::stdout().lock()).await?,
    };
    let counted = |n: u64, noun: &str| format!("{n} {noun}{}", if n == 1 { "" } else { "s" });
    eprintln!(
        "{} for {} in {}",
        counted(summary.rows, "row"),
        counted(summary.devices as u64, "device"),
        counted(summary.requests as u64, "request")
    );
    if !summary.missing.is_empty() {
        eprintln!("missing (unknown or not visible): {:?}", summary.missing);
    }
    for (devices, error) in &summary.failed {
        eprintln!("not read: devices {devices:?}: {error}");
    }
    if !summary.failed.is_empty() {
        // The rows read are written; the exit status still says the export is incomplete.
        return Err(format!(
            "incomplete: {} of {} requests failed",
            summary.failed.len(),
            summary.requests
        )
        .into());
    }
    Ok(())
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

/// Gives the simulator's 40 thermostats something to export, with one batch update.
async fn write_demo_values(blynk: &Blynk) -> Result<(), Box<dyn Error>> {
    let mut update = BatchUpdate::new(["Temperature", "Humidity", "Mode", "Location"]);
    for id in 1..=40 {
        update.push(
            id,
            [
                Some(Value::Number(18.0 + f64::from(id % 8) / 2.0)),
                Some(Value::Number(f64::from(30 + id))),
                Some(Value::from(if id % 3 == 0 { "eco" } else { "comfort" })),
                Some(Value::from(Location::new(
                    f64::from(2410 + id) / 100.0,
                    56.9,
                ))),
            ],
        )?;
    }
    blynk
        .batch_update(&update, BatchUpdateOptions::default())
        .await?;
    Ok(())
}
