//! `blynk`: read, write, import and export Blynk datastreams from shells and scripts.
//!
//! Connection settings come from flags, then the environment (`BLYNK_SERVER` or `BLYNK_REGION`,
//! `BLYNK_TOKEN`, or `BLYNK_CLIENT_ID` with `BLYNK_CLIENT_SECRET`), then a config file. `blynk demo`
//! needs none of them: it runs the whole library against an in-process simulator.

// Doc comments of the argument structs are clap help texts: URLs stay bare there.
#![allow(rustdoc::bare_urls)]

mod config;
mod demo;
mod fail;
mod input;
mod output;
mod time;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use blynk_api_ext::{
    Blynk, HistoryQuery, ImportOptions, Location, ProgressFn, Property, ReadOptions, Value,
    to_millis,
};
use clap::{Parser, Subcommand, ValueEnum};
use futures::StreamExt;
use serde_json::json;

use crate::config::ConnectionArgs;
use crate::fail::Failure;
use crate::input::PointsFormat;
use crate::output::{datastream_json, datastream_rows, table};

/// Read, write, import and export Blynk datastreams.
#[derive(Debug, Parser)]
#[command(name = "blynk", version, about, after_help = EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Print JSON for machines instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 ok, 2 usage, 3 configuration, 4 bad input, 5 authentication, \
6 permission, 7 not found, 8 rate limited, 9 server error, 10 network, 1 other.";

#[derive(Debug, Subcommand)]
enum Command {
    /// Current values of one device, or of many (`--devices 1-250,300`, 10 per request).
    Values {
        /// The device (or use --devices).
        device: Option<i32>,
        /// Devices: IDs and ranges, e.g. `1-250,300`.
        #[arg(long, conflicts_with = "device")]
        devices: Option<String>,
        /// Only these datastreams, e.g. `1,2`.
        #[arg(long, value_delimiter = ',')]
        datastreams: Vec<i32>,
        /// Requests in flight at once, for --devices.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Write one value: a number, `lon,lat` for a location, or text (`--text` forces text).
    Set {
        device: i32,
        datastream: i32,
        value: String,
        /// Send the value as text even if it looks like a number.
        #[arg(long)]
        text: bool,
    },
    /// Write several datastreams of one device: `ID=VALUE ...`.
    SetMany {
        device: i32,
        /// `datastream=value` pairs, e.g. `1=21.5 3=eco 4=24.1,56.9`.
        #[arg(required = true)]
        values: Vec<String>,
    },
    /// Stream a datastream's history to stdout.
    History {
        device: i32,
        datastream: i32,
        /// Start: RFC 3339 or epoch milliseconds.
        #[arg(long)]
        from: String,
        /// End: RFC 3339 or epoch milliseconds (default: now).
        #[arg(long)]
        to: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = HistoryFormat::Csv)]
        format: HistoryFormat,
        /// Points per page (1..=1000).
        #[arg(long, default_value_t = 1000)]
        page_size: u32,
        /// Pages requested ahead.
        #[arg(long, default_value_t = 2)]
        read_ahead: usize,
    },
    /// Import a datastream's history from a CSV (`ts,value`) or JSON Lines file.
    Import {
        device: i32,
        datastream: i32,
        file: PathBuf,
        /// File format (default: from the extension, `.jsonl` or CSV).
        #[arg(long, value_enum)]
        format: Option<PointsFormat>,
        /// Continue after a failure from the input position the error reported.
        #[arg(long, default_value_t = 0)]
        resume_from: u64,
    },
    /// Update many devices from a CSV with the header `deviceId,<label>,...`.
    BatchUpdate {
        file: PathBuf,
        /// Ask for per-row skip reasons.
        #[arg(long)]
        debug: bool,
    },
    /// Update a widget property of a datastream.
    Property {
        device: i32,
        datastream: i32,
        /// Property name, e.g. label, color, min, max.
        property: String,
        value: String,
    },
    /// Run the whole library against an in-process simulator: no account needed.
    Demo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum HistoryFormat {
    Csv,
    Jsonl,
    Table,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return Failure::new(1, format!("cannot start the runtime: {e}"), "report this")
                .report();
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    if let Command::Demo = cli.command {
        return demo::run().await;
    }
    let blynk = cli.connection.client()?;
    match cli.command {
        Command::Values {
            device,
            devices,
            datastreams,
            concurrency,
        } => values(&blynk, device, devices, datastreams, concurrency, cli.json).await,
        Command::Set {
            device,
            datastream,
            value,
            text,
        } => {
            let value = if text {
                Value::Text(value)
            } else {
                parse_value(&value)
            };
            blynk.set_value(device, datastream, value).await?;
            done(
                cli.json,
                &format!("device {device}, datastream {datastream} updated"),
            )
        }
        Command::SetMany { device, values } => {
            let mut pairs = Vec::with_capacity(values.len());
            for item in &values {
                let (id, value) = item.split_once('=').ok_or_else(|| {
                    Failure::input(
                        format!("`{item}` is not ID=VALUE"),
                        "write pairs like 1=21.5 3=eco",
                    )
                })?;
                let id: i32 = id.trim().parse().map_err(|_| {
                    Failure::input(
                        format!("`{id}` is not a datastream ID"),
                        "datastream IDs are integers",
                    )
                })?;
                pairs.push((id, parse_value(value)));
            }
            let count = pairs.len();
            blynk.set_values(device, pairs).await?;
            done(
                cli.json,
                &format!("device {device}: {count} datastreams updated"),
            )
        }
        Command::History {
            device,
            datastream,
            from,
            to,
            format,
            page_size,
            read_ahead,
        } => {
            history(
                &blynk,
                device,
                datastream,
                &from,
                to.as_deref(),
                format,
                page_size,
                read_ahead,
            )
            .await
        }
        Command::Import {
            device,
            datastream,
            file,
            format,
            resume_from,
        } => {
            import(
                &blynk,
                device,
                datastream,
                &file,
                format,
                resume_from,
                cli.json,
            )
            .await
        }
        Command::BatchUpdate { file, debug } => batch_update(&blynk, &file, debug, cli.json).await,
        Command::Property {
            device,
            datastream,
            property,
            value,
        } => {
            let name: Property = property.parse().map_err(|_| {
                Failure::input(
                    format!("unknown property `{property}`"),
                    "use a widget property such as label, color, min, max, onLabel, isHidden",
                )
            })?;
            blynk.set_property(device, datastream, name, &value).await?;
            done(
                cli.json,
                &format!("device {device}, datastream {datastream}: {property} updated"),
            )
        }
        Command::Demo => Ok(()),
    }
}

fn done(json: bool, message: &str) -> Result<(), Failure> {
    if json {
        println!("{}", json!({"ok": true}));
    } else {
        println!("{message}");
    }
    Ok(())
}

/// A number, `lon,lat`, or text.
fn parse_value(text: &str) -> Value {
    if let Ok(n) = text.trim().parse::<f64>() {
        return Value::Number(n);
    }
    if let Some((lon, lat)) = text.split_once(',')
        && let (Ok(lon), Ok(lat)) = (lon.trim().parse::<f64>(), lat.trim().parse::<f64>())
    {
        return Value::Location(Location::new(lon, lat));
    }
    Value::Text(text.to_string())
}

/// `1-250,300` into IDs, in order.
fn parse_devices(spec: &str) -> Result<Vec<i32>, Failure> {
    let bad = |part: &str| {
        Failure::input(
            format!("`{part}` in --devices is not an ID or a range"),
            "write IDs and ranges like 1-250,300",
        )
    };
    let mut ids = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (i32, i32) = (
                    a.trim().parse().map_err(|_| bad(part))?,
                    b.trim().parse().map_err(|_| bad(part))?,
                );
                if a > b || b - a > 1_000_000 {
                    return Err(bad(part));
                }
                ids.extend(a..=b);
            }
            None => ids.push(part.parse().map_err(|_| bad(part))?),
        }
    }
    if ids.is_empty() {
        return Err(Failure::input(
            "--devices names no device",
            "write IDs and ranges like 1-250,300",
        ));
    }
    Ok(ids)
}

async fn values(
    blynk: &Blynk,
    device: Option<i32>,
    devices: Option<String>,
    datastreams: Vec<i32>,
    concurrency: usize,
    json: bool,
) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let write_err = |e: std::io::Error| {
        Failure::new(1, format!("cannot write the output: {e}"), "check stdout")
    };
    match (device, devices) {
        (Some(device), _) => {
            let values = if datastreams.is_empty() {
                blynk.device_values(device).await?
            } else {
                blynk.device_values_of(device, &datastreams).await?
            };
            if json {
                let list: Vec<_> = values.iter().map(|v| datastream_json(None, v)).collect();
                writeln!(out, "{}", serde_json::Value::Array(list)).map_err(write_err)?;
            } else {
                let text = table(
                    &["ID", "PIN", "LABEL", "VALUE", "UPDATED"],
                    &datastream_rows(None, &values),
                );
                write!(out, "{text}").map_err(write_err)?;
            }
        }
        (None, Some(spec)) => {
            let ids = parse_devices(&spec)?;
            let mut options = ReadOptions::default().concurrency(concurrency);
            if !datastreams.is_empty() {
                options = options.datastreams(datastreams);
            }
            let fleet = blynk.values_for_devices(&ids, options).await?;
            if json {
                let devices: Vec<_> = fleet
                    .devices
                    .iter()
                    .map(|d| json!({"deviceId": d.device_id, "dataStreams": d.datastreams.iter().map(|v| datastream_json(None, v)).collect::<Vec<_>>()}))
                    .collect();
                writeln!(out, "{}", json!({"devices": devices, "missing": fleet.missing, "requests": fleet.requests}))
                    .map_err(write_err)?;
            } else {
                let rows: Vec<Vec<String>> = fleet
                    .devices
                    .iter()
                    .flat_map(|d| datastream_rows(Some(d.device_id), &d.datastreams))
                    .collect();
                write!(
                    out,
                    "{}",
                    table(&["DEVICE", "ID", "PIN", "LABEL", "VALUE", "UPDATED"], &rows)
                )
                .map_err(write_err)?;
                if !fleet.missing.is_empty() {
                    let list: Vec<String> = fleet.missing.iter().map(ToString::to_string).collect();
                    eprintln!(
                        "missing (unknown or not visible to the token): {}",
                        list.join(",")
                    );
                }
            }
        }
        (None, None) => {
            return Err(Failure::input(
                "no device given",
                "name a device, or use --devices 1-250,300",
            ));
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn history(
    blynk: &Blynk,
    device: i32,
    datastream: i32,
    from: &str,
    to: Option<&str>,
    format: HistoryFormat,
    page_size: u32,
    read_ahead: usize,
) -> Result<(), Failure> {
    let time = |label: &str, text: &str| {
        time::parse_millis(text).map_err(|m| {
            Failure::input(
                format!("--{label}: {m}"),
                "use RFC 3339 (2024-01-01T00:00:00Z) or epoch milliseconds",
            )
        })
    };
    let from = time::from_millis(time("from", from)?);
    let to = match to {
        Some(t) => time::from_millis(time("to", t)?),
        None => std::time::SystemTime::now(),
    };
    let query = HistoryQuery {
        device_id: device,
        datastream_id: datastream,
        from,
        to,
    };
    let mut stream = blynk
        .history(query)
        .page_size(page_size)
        .read_ahead(read_ahead)
        .into_stream();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let write_err = |e: std::io::Error| {
        Failure::new(1, format!("cannot write the output: {e}"), "check stdout")
    };
    let mut rows = Vec::new();
    if format == HistoryFormat::Csv {
        writeln!(out, "ts,value").map_err(write_err)?;
    }
    while let Some(point) = stream.next().await {
        let point = point?;
        let ts = to_millis(point.at).unwrap_or_default();
        match format {
            HistoryFormat::Csv => writeln!(out, "{ts},{}", point.value).map_err(write_err)?,
            HistoryFormat::Jsonl => {
                writeln!(out, "{}", json!({"ts": ts, "value": point.value})).map_err(write_err)?
            }
            HistoryFormat::Table => {
                rows.push(vec![time::format_millis(ts), point.value.to_string()])
            }
        }
    }
    if format == HistoryFormat::Table {
        write!(out, "{}", table(&["TIME", "VALUE"], &rows)).map_err(write_err)?;
    }
    out.flush().map_err(write_err)
}

async fn import(
    blynk: &Blynk,
    device: i32,
    datastream: i32,
    file: &std::path::Path,
    format: Option<PointsFormat>,
    resume_from: u64,
    json: bool,
) -> Result<(), Failure> {
    let format = format.unwrap_or_else(|| PointsFormat::guess(file));
    // The whole file is checked before anything is sent.
    let total = input::check_points(file, format)?;
    if resume_from > total {
        return Err(Failure::input(
            format!("--resume-from {resume_from} is past the end of the file ({total} points)"),
            "use the position the failed import reported",
        ));
    }
    let points = input::points(file, format)?
        .skip(usize::try_from(resume_from).unwrap_or(usize::MAX))
        .map_while(Result::ok);
    let mut options = ImportOptions::default().offset(resume_from);
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} points {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_position(resume_from);
        bar
    });
    if let Some(bar) = &bar {
        let bar = bar.clone();
        options = options.progress(ProgressFn::new(move |p| bar.set_position(p.done)));
    }
    let result = blynk
        .import_history(device, datastream, points, options)
        .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    match result {
        Ok(report) => {
            if json {
                println!(
                    "{}",
                    json!({"accepted": report.accepted, "skippedFuture": report.skipped_future, "requests": report.requests, "end": report.end})
                );
            } else {
                println!(
                    "imported {} points in {} requests ({} skipped as more than 30 days ahead)",
                    report.accepted, report.requests, report.skipped_future
                );
            }
            Ok(())
        }
        Err(e) => {
            let mut failure = Failure::from(e.source);
            failure.message = format!(
                "import stopped after {} accepted points: {}",
                e.accepted, failure.message
            );
            failure.hint = format!(
                "run the same command with --resume-from {} to continue without loss or duplicates",
                e.resume_from
            );
            Err(failure)
        }
    }
}

async fn batch_update(
    blynk: &Blynk,
    file: &std::path::Path,
    debug: bool,
    json: bool,
) -> Result<(), Failure> {
    let update = input::batch_update(file, debug)?;
    let summary = match blynk
        .batch_update(&update, blynk_api_ext::BatchUpdateOptions::default())
        .await
    {
        Ok(s) => s,
        Err(e) => {
            let mut failure = Failure::from(e.source);
            failure.message = format!(
                "batch update stopped after {} rows: {}",
                e.summary.rows, failure.message
            );
            failure.hint = format!(
                "rows before data row {} were sent; fix the cause and send the rest",
                e.resume_from + 1
            );
            return Err(failure);
        }
    };
    let c = summary.counters;
    if json {
        let skipped: Vec<_> = summary
            .skipped
            .iter()
            .map(|s| json!({"row": s.row, "reason": s.reason}))
            .collect();
        println!(
            "{}",
            json!({
                "rows": summary.rows, "requests": summary.requests, "allApplied": summary.all_applied(),
                "counters": {"invalidRowSize": c.invalid_row_size, "nullDeviceId": c.null_device_id,
                    "nonNumericDeviceId": c.non_numeric_device_id, "deviceNotFound": c.device_not_found,
                    "noAccessToDevice": c.no_access_to_device, "wrongProduct": c.wrong_product},
                "skipped": skipped
            })
        );
        return Ok(());
    }
    println!(
        "{} rows in {} requests: {}",
        summary.rows,
        summary.requests,
        if summary.all_applied() {
            "all applied"
        } else {
            "some rows skipped"
        }
    );
    let counters = [
        ("device not found", c.device_not_found),
        ("no access to device", c.no_access_to_device),
        ("wrong product", c.wrong_product),
        ("invalid row size", c.invalid_row_size),
        ("null device ID", c.null_device_id),
        ("non-numeric device ID", c.non_numeric_device_id),
    ];
    let rows: Vec<Vec<String>> = counters
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| vec![k.to_string(), n.to_string()])
        .collect();
    if !rows.is_empty() {
        print!("{}", table(&["SKIPPED", "ROWS"], &rows));
    }
    for s in &summary.skipped {
        match s.row {
            // Data rows count from 1, after the header.
            Some(row) => println!("data row {}: {}", row + 1, s.reason),
            None => println!("{}", s.reason),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_lists_expand_ranges_in_order() {
        assert_eq!(parse_devices("1-3,7, 5-5").unwrap(), [1, 2, 3, 7, 5]);
        assert!(parse_devices("3-1").is_err());
        assert!(parse_devices("a").is_err());
        assert!(parse_devices(",").is_err());
    }

    #[test]
    fn values_are_numbers_locations_or_text() {
        assert_eq!(parse_value("21.5"), Value::Number(21.5));
        assert_eq!(
            parse_value("24.1,56.9"),
            Value::Location(Location::new(24.1, 56.9))
        );
        assert_eq!(parse_value("eco"), Value::Text("eco".into()));
    }
}
