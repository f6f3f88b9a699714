//! `blynk history`: stream a datastream's history to stdout, page by page, as CSV, JSON Lines or
//! a table. Nothing is written before the arguments are checked and the first page has arrived,
//! so a failed run leaves no half-written header.

use std::io::Write;

use blynk_api_ext::{Blynk, HistoryQuery, from_millis, limits, to_millis};
use futures::StreamExt;
use serde_json::json;

use super::Context;
use crate::fail::Failure;
use crate::output::table;
use crate::time::{TIME_FORMS, format_millis, parse_millis};

/// The output formats of `blynk history`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `ts,value` with a header line; `ts` in epoch milliseconds.
    Csv,
    /// One `{"ts": ..., "value": ...}` object per line.
    Jsonl,
    /// An aligned table with RFC 3339 times.
    Table,
}

/// The arguments of `blynk history`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The device (its help text is `DEVICE_HELP`).
    #[arg(help = super::DEVICE_HELP)]
    pub device: i32,
    /// The datastream (its help text is `DATASTREAM_HELP`).
    #[arg(help = super::DATASTREAM_HELP)]
    pub datastream: i32,
    /// Start: RFC 3339 with Z or an offset (2024-01-01T00:00:00Z), epoch milliseconds
    /// (1704067200000; 0 or less: from the first point), now, or a span before now (-1h, -7d,
    /// -1h30m).
    #[arg(long, allow_hyphen_values = true, value_name = "TIME")]
    pub from: String,
    /// End, in the same forms (default: now).
    #[arg(long, allow_hyphen_values = true, value_name = "TIME")]
    pub to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Points per page (default and maximum: the API's largest page).
    #[arg(long, value_name = "N")]
    pub page_size: Option<u32>,
    /// Pages requested ahead while the current one is written.
    #[arg(long, default_value_t = 2, value_name = "PAGES")]
    pub read_ahead: usize,
}

/// The checked query.
#[derive(Debug)]
pub struct Plan {
    query: HistoryQuery,
    format: Format,
    page_size: u32,
    read_ahead: usize,
}

impl Args {
    /// Checks the times and the page size.
    pub fn plan(&self, ctx: &Context) -> Result<Plan, Failure> {
        let time = |label: &str, text: &str| {
            parse_millis(text, ctx.now)
                .map_err(|m| Failure::input(format!("--{label}: {m}"), format!("use {TIME_FORMS}")))
        };
        let from = time("from", &self.from)?;
        let to = match &self.to {
            Some(t) => time("to", t)?,
            None => ctx.now.as_millisecond(),
        };
        // Nothing is stored before 1970: an earlier start reads from the first point.
        let from = from.max(0);
        if to < 0 {
            return Err(Failure::input(
                "--to is before 1970: the API stores nothing that early",
                "use a later --to, or leave it out to read up to now",
            ));
        }
        if from > to {
            return Err(Failure::input(
                format!(
                    "--from {} is after --to {}",
                    format_millis(from),
                    format_millis(to)
                ),
                "swap them, or leave --to out to read up to now",
            ));
        }
        let page_size = self.page_size.unwrap_or(limits::MAX_HISTORY_PAGE_SIZE);
        let allowed = limits::MIN_HISTORY_PAGE_SIZE..=limits::MAX_HISTORY_PAGE_SIZE;
        if !allowed.contains(&page_size) {
            return Err(Failure::input(
                format!(
                    "--page-size {page_size} is outside {}..={}",
                    allowed.start(),
                    allowed.end()
                ),
                format!(
                    "the API serves pages of {} to {} points",
                    allowed.start(),
                    allowed.end()
                ),
            ));
        }
        Ok(Plan {
            query: HistoryQuery {
                device_id: self.device,
                datastream_id: self.datastream,
                from: from_millis(from),
                to: from_millis(to),
            },
            format: self.format,
            page_size,
            read_ahead: self.read_ahead,
        })
    }
}

impl Plan {
    /// Streams the pages to stdout.
    pub async fn run(self, blynk: &Blynk, _ctx: &Context) -> Result<(), Failure> {
        let mut stream = blynk
            .history(self.query)
            .page_size(self.page_size)
            .read_ahead(self.read_ahead)
            .into_stream();
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let mut rows = Vec::new();
        let mut started = false;
        let header = |out: &mut std::io::BufWriter<_>, started: &mut bool| {
            if !*started && self.format == Format::Csv {
                *started = true;
                writeln!(out, "ts,value").map_err(Failure::output)?;
            }
            *started = true;
            Ok::<(), Failure>(())
        };
        while let Some(point) = stream.next().await {
            let point = point?;
            header(&mut out, &mut started)?;
            let ts = to_millis(point.at).unwrap_or_default();
            match self.format {
                Format::Csv => writeln!(out, "{ts},{}", point.value),
                Format::Jsonl => writeln!(out, "{}", json!({"ts": ts, "value": point.value})),
                Format::Table => {
                    rows.push(vec![format_millis(ts), point.value.to_string()]);
                    Ok(())
                }
            }
            .map_err(Failure::output)?;
        }
        header(&mut out, &mut started)?;
        if self.format == Format::Table {
            write!(out, "{}", table(&["TIME", "VALUE"], &rows)).map_err(Failure::output)?;
        }
        out.flush().map_err(Failure::output)
    }
}
