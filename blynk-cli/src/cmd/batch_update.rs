//! `blynk batch-update`: update many devices from a CSV (`deviceId,<label>,...`), in requests of
//! the size the API allows, with the server's report of skipped rows. A run that stops says which
//! data rows were sent and where to resume.

use std::path::PathBuf;

use blynk_api_ext::{BatchUpdate, Blynk};
use serde_json::json;

use super::Context;
use crate::fail::Failure;
use crate::input;
use crate::output::{count, print, print_json, table};

/// The arguments of `blynk batch-update`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// CSV with the header `deviceId,<datastream label>,...`, one row per device; an empty cell
    /// leaves that datastream unchanged, numbers are numbers, anything else text.
    pub file: PathBuf,
    /// Ask the server for a skip reason per row instead of counters.
    #[arg(long)]
    pub debug: bool,
    /// Skip the file's first N data rows: after a failure, the number the error reported.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub resume_from: usize,
}

/// The checked update.
#[derive(Debug)]
pub struct Plan {
    update: BatchUpdate,
    resume_from: usize,
}

impl Args {
    /// Reads and checks the whole file, and the resume position.
    pub fn plan(&self) -> Result<Plan, Failure> {
        let all = input::batch_update(&self.file, self.debug)?;
        let rows = all.rows().len();
        if self.resume_from > rows {
            return Err(Failure::input(
                format!(
                    "--resume-from {} is past the end of the file ({})",
                    self.resume_from,
                    count(rows as u64, "data row")
                ),
                "use the number the failed batch update reported",
            ));
        }
        let update = if self.resume_from == 0 {
            all
        } else {
            let mut rest = BatchUpdate::new(all.labels().to_vec()).debug(self.debug);
            for (device, cells) in &all.rows()[self.resume_from..] {
                rest.push(*device, cells.iter().cloned())
                    .map_err(|e| Failure::input(e.to_string(), "fix the file; nothing was sent"))?;
            }
            rest
        };
        Ok(Plan {
            update,
            resume_from: self.resume_from,
        })
    }
}

impl Plan {
    /// Sends the rows and prints the server's report.
    pub async fn run(self, blynk: &Blynk, ctx: &Context) -> Result<(), Failure> {
        let first = self.resume_from;
        let summary = match blynk
            .batch_update(&self.update, blynk_api_ext::BatchUpdateOptions::default())
            .await
        {
            Ok(s) => s,
            Err(e) => {
                let retryable = e.source.is_retryable();
                let sent = first + e.resume_from;
                let mut failure = Failure::from(e.source);
                failure.message = format!(
                    "batch update stopped after {} sent in this run: {}",
                    count(e.summary.rows, "row"),
                    failure.message
                );
                failure.hint = if e.resume_from == 0 && !retryable {
                    format!("{}; no row of this run was sent", failure.hint)
                } else if e.resume_from == 0 {
                    "no row of this run was sent; run the same command again later".to_string()
                } else {
                    format!(
                        "data rows 1-{sent} were sent; to send the rest, run with --resume-from {sent}{}",
                        if retryable {
                            ""
                        } else {
                            " after fixing the cause"
                        }
                    )
                };
                return Err(failure);
            }
        };
        // Rows count from 1 after the header, over the whole file.
        let data_row = |row: usize| first + row + 1;
        let c = summary.counters;
        if ctx.json {
            let skipped: Vec<_> = summary
                .skipped
                .iter()
                .map(|s| json!({"dataRow": s.row.map(data_row), "reason": s.reason}))
                .collect();
            return print_json(&json!({
                "rows": summary.rows, "requests": summary.requests, "allApplied": summary.all_applied(),
                "counters": {"invalidRowSize": c.invalid_row_size, "nullDeviceId": c.null_device_id,
                    "nonNumericDeviceId": c.non_numeric_device_id, "deviceNotFound": c.device_not_found,
                    "noAccessToDevice": c.no_access_to_device, "wrongProduct": c.wrong_product},
                "skipped": skipped
            }));
        }
        let mut text = format!(
            "{} in {}: {}\n",
            count(summary.rows, "row"),
            count(summary.requests, "request"),
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
            text.push_str(&table(&["SKIPPED", "ROWS"], &rows));
        }
        for s in &summary.skipped {
            let reason = crate::screen::escape(&s.reason);
            match s.row {
                Some(row) => text.push_str(&format!("data row {}: {reason}\n", data_row(row))),
                None => text.push_str(&format!("{reason}\n")),
            }
        }
        print(&text)
    }
}
