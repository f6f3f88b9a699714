//! `blynk import`: import a datastream's history from a CSV or JSON Lines file. The file is checked
//! whole first, with the library's own point checks, so a run is refused before anything is sent
//! rather than halfway through; a failure on the server's side says where to resume.

use std::io::IsTerminal;
use std::path::PathBuf;

use blynk_api_ext::{Blynk, ImportOptions, ProgressFn};
use serde_json::json;

use super::Context;
use crate::fail::Failure;
use crate::input::{self, PointsFormat};
use crate::output::count;

/// The arguments of `blynk import`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The device (its help text is `DEVICE_HELP`).
    #[arg(help = super::DEVICE_HELP)]
    pub device: i32,
    /// The datastream (its help text is `DATASTREAM_HELP`).
    #[arg(help = super::DATASTREAM_HELP)]
    pub datastream: i32,
    /// The points: CSV with the header `ts,value`, or JSON Lines (`{"ts": ..., "value": ...}`);
    /// times in the forms --from of `blynk history` takes.
    pub file: PathBuf,
    /// File format (default: from the extension, `.jsonl`/`.ndjson` or CSV).
    #[arg(long, value_enum)]
    pub format: Option<PointsFormat>,
    /// Skip the file's first N points: after a failure, the position the error reported.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub resume_from: u64,
}

/// The checked import.
#[derive(Debug)]
pub struct Plan {
    device: i32,
    datastream: i32,
    file: PathBuf,
    format: PointsFormat,
    resume_from: u64,
    total: u64,
    now: jiff::Timestamp,
}

impl Args {
    /// Checks the whole file and the resume position.
    pub fn plan(&self, ctx: &Context) -> Result<Plan, Failure> {
        let format = self
            .format
            .unwrap_or_else(|| PointsFormat::guess(&self.file));
        let total = input::check_points(&self.file, format, ctx.now)?;
        if self.resume_from > total {
            return Err(Failure::input(
                format!(
                    "--resume-from {} is past the end of the file ({})",
                    self.resume_from,
                    count(total, "point")
                ),
                "use the position the failed import reported",
            ));
        }
        Ok(Plan {
            device: self.device,
            datastream: self.datastream,
            file: self.file.clone(),
            format,
            resume_from: self.resume_from,
            total,
            now: ctx.now,
        })
    }
}

impl Plan {
    /// Sends the points in requests of the size the API allows.
    pub async fn run(self, blynk: &Blynk, ctx: &Context) -> Result<(), Failure> {
        let points = input::points(&self.file, self.format, self.now)?
            .skip(usize::try_from(self.resume_from).unwrap_or(usize::MAX))
            .map_while(Result::ok);
        let mut options = ImportOptions::default().offset(self.resume_from);
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(self.total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} points {per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_position(self.resume_from);
            bar
        });
        if let Some(bar) = &bar {
            let bar = bar.clone();
            options = options.progress(ProgressFn::new(move |p| bar.set_position(p.done)));
        }
        let result = blynk
            .import_history(self.device, self.datastream, points, options)
            .await;
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        let report = result.map_err(|e| {
            let retryable = e.source.is_retryable();
            let mut failure = Failure::from(e.source);
            failure.message = format!(
                "import stopped after {} accepted: {}",
                count(e.accepted, "point"),
                failure.message
            );
            if e.resume_from > self.resume_from || retryable {
                failure.hint = if retryable {
                    format!(
                        "run the same command with --resume-from {} to continue without loss or duplicates",
                        e.resume_from
                    )
                } else {
                    format!(
                        "{}; then continue with --resume-from {}",
                        failure.hint, e.resume_from
                    )
                };
            } else {
                failure.hint = format!("{}; no point was imported", failure.hint);
            }
            failure
        })?;
        if ctx.json {
            return crate::output::print_json(&json!({
                "accepted": report.accepted,
                "skippedFuture": report.skipped_future,
                "requests": report.requests,
                "end": report.end,
            }));
        }
        crate::output::print(&format!(
            "imported {} in {} ({} skipped as more than {} days ahead)\n",
            count(report.accepted, "point"),
            count(report.requests, "request"),
            report.skipped_future,
            blynk_api_ext::api::operations::IMPORT_FUTURE_WINDOW_SECS / 86_400,
        ))
    }
}
