//! `blynk import`: import a datastream's history from a CSV or JSON Lines file. The file is checked
//! whole first, with the library's own point checks, so a run is refused before anything is sent
//! rather than halfway through. A failure says exactly which command to run next: the same one
//! with `--resume-from` where every earlier point is settled, and `--skip-existing` whenever points
//! after that position are, or may be, stored already (an answer lost after the body was sent).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use blynk_api_ext::{Blynk, DEFAULT_RECONCILE_DEADLINE, ImportError, ImportOptions, ProgressFn};
use serde_json::json;

use super::Context;
use crate::config::ConnectionArgs;
use crate::fail::Failure;
use crate::input::{self, InputError, PointsFormat};
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
    /// Read what the datastream already stores over the file's time range first, and send only
    /// the points not stored yet (matched by timestamp). Makes it safe to run a whole import again
    /// after a failure or a crash, or to import overlapping files. Needs the file in time order.
    /// It sees what the server shows: after a failed run, wait a minute for the server to finish
    /// processing before running again.
    #[arg(long)]
    pub skip_existing: bool,
    /// After a request whose answer was lost, how long to wait for its points to show in the
    /// history before sending the missing ones again: 30s, 2m, ... (default 30s). Points are
    /// stored once when the server shows an import within this time.
    #[arg(long, value_name = "DURATION", value_parser = crate::time::parse_timeout)]
    pub reconcile_wait: Option<Duration>,
    /// Never send a point twice: when a lost answer's points are still not shown after
    /// --reconcile-wait, stop and name them instead of sending them again (re-run later with
    /// --skip-existing to finish).
    #[arg(long)]
    pub never_resend: bool,
}

/// The checked import.
#[derive(Debug)]
pub struct Plan {
    args: Args,
    format: PointsFormat,
    total: u64,
}

impl Args {
    /// Checks the whole file (and its time order with `--skip-existing`) and the resume position.
    pub fn plan(&self, ctx: &Context) -> Result<Plan, Failure> {
        let format = self
            .format
            .unwrap_or_else(|| PointsFormat::guess(&self.file));
        let total = input::check_points(&self.file, format, ctx.now, self.skip_existing)?;
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
            args: self.clone(),
            format,
            total,
        })
    }
}

impl Plan {
    /// Sends the points in requests of the size the API allows.
    pub async fn run(
        self,
        blynk: &Blynk,
        ctx: &Context,
        connection: &ConnectionArgs,
    ) -> Result<(), Failure> {
        let args = &self.args;
        // The file was checked whole in `plan`; if reading it again fails (it changed, or the
        // disk did), the import must not take the end of what it could read for the end of the
        // file. The first error is kept and reported after the points before it are stored.
        let read_error = Arc::new(Mutex::new(None::<InputError>));
        let keep = read_error.clone();
        let points = input::points(&args.file, self.format, ctx.now)?
            .skip(usize::try_from(args.resume_from).unwrap_or(usize::MAX))
            .map_while(move |point| {
                point
                    .map_err(|e| {
                        if let Ok(mut slot) = keep.lock() {
                            slot.get_or_insert(e);
                        }
                    })
                    .ok()
            });
        let wait = args.reconcile_wait.unwrap_or(DEFAULT_RECONCILE_DEADLINE);
        let mut options = ImportOptions::default()
            .offset(args.resume_from)
            .skip_existing(args.skip_existing)
            .reconcile_deadline(wait)
            .resend_after_deadline(!args.never_resend);
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(self.total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} points {per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_position(args.resume_from);
            bar
        });
        if let Some(bar) = &bar {
            let bar = bar.clone();
            options = options.progress(ProgressFn::new(move |p| bar.set_position(p.done)));
        }
        let result = blynk
            .import_history(args.device, args.datastream, points, options)
            .await;
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        let report = result.map_err(|e| self.failure(e, ctx, connection))?;
        let read_error = read_error.lock().ok().and_then(|mut slot| slot.take());
        if let Some(e) = read_error {
            let mut failure = Failure::from(e);
            failure.message = format!(
                "the file changed after it was checked: {}; the points before input position {} \
                 are imported",
                failure.message, report.end,
            );
            let next = self.command(report.end, args.skip_existing, ctx, connection);
            failure.hint = format!("fix the file, then finish with `{next}`");
            failure.next = Some(next);
            return Err(failure);
        }
        if ctx.json {
            return crate::output::print_json(&json!({
                "accepted": report.accepted,
                "skippedFuture": report.skipped_future,
                "skippedExisting": report.skipped_existing,
                "requests": report.requests,
                "end": report.end,
                "unknownOutcomes": report.unknown_outcomes,
                "reconciledPresent": report.reconciled_present,
                "resent": report.resent,
                "reconcileReads": report.reconcile_reads,
                "existingReads": report.existing_reads,
            }));
        }
        let mut text = format!(
            "imported {} in {} ({} skipped as more than {} days ahead)",
            count(report.accepted, "point"),
            count(report.requests, "request"),
            report.skipped_future,
            blynk_api_ext::api::operations::IMPORT_FUTURE_WINDOW_SECS / 86_400,
        );
        if args.skip_existing {
            text.push_str(&format!(
                "; {} already stored and not sent ({} read)",
                report.skipped_existing,
                count(report.existing_reads, "history page"),
            ));
        }
        if report.unknown_outcomes > 0 {
            text.push_str(&format!(
                "; {} without an answer, checked against the history ({} read): {} \
                 points found stored, {} sent again",
                count(report.unknown_outcomes, "request"),
                count(report.reconcile_reads, "history page"),
                report.reconciled_present,
                report.resent,
            ));
        }
        if report.resent > 0 {
            text.push_str(&format!(
                " (not shown within {}: a server slower than that stores them twice; \
                 --never-resend stops instead)",
                duration_text(wait)
            ));
        }
        text.push('\n');
        crate::output::print(&text)
    }

    /// The failure of a stopped import, with the exact command that finishes it.
    fn failure(&self, e: ImportError, ctx: &Context, connection: &ConnectionArgs) -> Failure {
        let args = &self.args;
        // Points after `resume_from` may already be stored: stored by this run out of order,
        // unresolved, or sent again after a lost answer and shown late. Only --skip-existing
        // resumes those without storing anything twice.
        let skip =
            args.skip_existing || e.resume_needs_skip_existing() || e.report.unknown_outcomes > 0;
        let next = self.command(e.resume_from, skip, ctx, connection);
        let unresolved = e.unresolved.len();
        let retryable = e.source.is_retryable();
        let rate_limited = matches!(e.source, blynk_api_ext::Error::RateLimited { .. });
        let untouched =
            e.accepted == 0 && e.resume_from == args.resume_from && !e.resume_needs_skip_existing();
        let mut failure = Failure::from(e.source);
        let mut message = format!(
            "import stopped after {} stored by this run",
            count(e.accepted, "point")
        );
        if unresolved > 0 {
            message.push_str(&format!(
                ", {} whose outcome is unknown (input positions {}; they may be stored)",
                count(unresolved as u64, "point"),
                positions(e.unresolved.iter().map(|p| p.position)),
            ));
        }
        failure.message = format!("{message}: {}", failure.message);
        failure.hint = if unresolved > 0 || e.report.unknown_outcomes > 0 {
            let wait = if rate_limited {
                "the server limits imports per device: wait a minute".to_string()
            } else if retryable {
                "wait a minute for the server to finish processing".to_string()
            } else {
                format!(
                    "{}; wait a minute for the server to finish processing",
                    failure.hint
                )
            };
            format!(
                "an answer was lost after points were sent, so some may be stored; {wait}, then \
                 run `{next}`: it reads what is stored and sends only the rest"
            )
        } else if untouched {
            format!(
                "{}; no point was imported, so once that is fixed run `{next}` again",
                failure.hint
            )
        } else if rate_limited {
            format!(
                "the server limits imports per device: wait a minute, then continue with `{next}`"
            )
        } else if retryable {
            format!("wait a little, then continue with `{next}`")
        } else {
            format!("{}; then continue with `{next}`", failure.hint)
        };
        failure.next = Some(next);
        failure
    }

    /// `blynk ... import ...` resuming at `resume_from`, with the connection flags this run was
    /// given on the command line (secrets as placeholders: they are never printed).
    fn command(
        &self,
        resume_from: u64,
        skip_existing: bool,
        ctx: &Context,
        connection: &ConnectionArgs,
    ) -> String {
        let args = &self.args;
        let mut words = vec!["blynk".to_string()];
        let mut flag = |name: &str, value: Option<String>| {
            words.push(format!("--{name}"));
            words.extend(value);
        };
        if let Some(server) = &connection.server {
            flag("server", Some(shell_word(server)));
        }
        if let Some(region) = &connection.region {
            flag("region", Some(shell_word(region)));
        }
        if connection.token.is_some() {
            flag("token", Some("TOKEN".into()));
        }
        if let Some(id) = &connection.client_id {
            flag("client-id", Some(shell_word(id)));
        }
        if connection.client_secret.is_some() {
            flag("client-secret", Some("SECRET".into()));
        }
        if let Some(config) = &connection.config {
            flag("config", Some(path_word(config)));
        }
        if connection.allow_insecure_http {
            flag("allow-insecure-http", None);
        }
        if let Some(timeout) = connection.timeout {
            flag("timeout", Some(duration_text(timeout)));
        }
        if ctx.json {
            flag("json", None);
        }
        words.push("import".into());
        words.push(args.device.to_string());
        words.push(args.datastream.to_string());
        words.push(path_word(&args.file));
        if let Some(format) = args.format {
            let name = match format {
                PointsFormat::Csv => "csv",
                PointsFormat::Jsonl => "jsonl",
            };
            words.extend(["--format".to_string(), name.to_string()]);
        }
        if resume_from > 0 {
            words.extend(["--resume-from".to_string(), resume_from.to_string()]);
        }
        if skip_existing {
            words.push("--skip-existing".into());
        }
        if let Some(wait) = args.reconcile_wait {
            words.extend(["--reconcile-wait".to_string(), duration_text(wait)]);
        }
        if args.never_resend {
            words.push("--never-resend".into());
        }
        words.join(" ")
    }
}

/// A duration as the flags take it: `30s`, `1500ms`.
fn duration_text(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// `text` as one shell word: bare when it holds only characters no shell treats specially,
/// single-quoted otherwise.
fn shell_word(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./,:=@+%".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// A file path as one shell word that the command line cannot take for a flag.
fn path_word(path: &std::path::Path) -> String {
    let text = path.to_string_lossy();
    if text.starts_with('-') {
        shell_word(&format!("./{text}"))
    } else {
        shell_word(&text)
    }
}

/// Input positions as ranges, the first few only: `10000-19999`, `3,5-7, ...`.
fn positions(sorted: impl Iterator<Item = u64>) -> String {
    const SHOWN: usize = 4;
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for p in sorted {
        match runs.last_mut() {
            Some((_, end)) if p == *end + 1 => *end = p,
            _ => runs.push((p, p)),
        }
    }
    let mut parts: Vec<String> = runs
        .iter()
        .take(SHOWN)
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    if runs.len() > SHOWN {
        parts.push("...".to_string());
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("points.csv"), "points.csv");
        assert_eq!(shell_word("my points.csv"), "'my points.csv'");
        assert_eq!(shell_word("it's.csv"), r"'it'\''s.csv'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(path_word(std::path::Path::new("-p.csv")), "./-p.csv");
    }

    #[test]
    fn positions_are_ranges() {
        assert_eq!(positions(10_000..20_000), "10000-19999");
        assert_eq!(positions([1, 3, 4, 5, 9].into_iter()), "1,3-5,9");
        assert_eq!(positions([1, 3, 5, 7, 9].into_iter()), "1,3,5,7,...");
    }

    fn plan(file: &str) -> Plan {
        Plan {
            args: Args {
                device: 11,
                datastream: 2,
                file: PathBuf::from(file),
                format: Some(PointsFormat::Jsonl),
                resume_from: 0,
                skip_existing: false,
                reconcile_wait: Some(Duration::from_secs(90)),
                never_resend: false,
            },
            format: PointsFormat::Jsonl,
            total: 0,
        }
    }

    #[test]
    fn the_next_command_repeats_the_flags_given_but_never_a_secret() {
        let connection = ConnectionArgs {
            server: Some("http://127.0.0.1:8080".into()),
            token: Some("s3cret-token".into()),
            client_secret: Some("s3cret-secret".into()),
            timeout: Some(Duration::from_millis(2500)),
            ..ConnectionArgs::default()
        };
        let ctx = Context {
            json: true,
            now: jiff::Timestamp::UNIX_EPOCH,
        };
        let command = plan("my points.jsonl").command(20_000, true, &ctx, &connection);
        assert_eq!(
            command,
            "blynk --server http://127.0.0.1:8080 --token TOKEN --client-secret SECRET \
             --timeout 2500ms --json import 11 2 'my points.jsonl' --format jsonl \
             --resume-from 20000 --skip-existing --reconcile-wait 90s"
        );
        assert!(!command.contains("s3cret"));
        let plain =
            plan("p.csv").command(0, false, &Context::new(false), &ConnectionArgs::default());
        assert_eq!(
            plain,
            "blynk import 11 2 p.csv --format jsonl --reconcile-wait 90s"
        );
    }

    #[test]
    fn durations_read_back_as_flags_take_them() {
        for d in [Duration::from_secs(30), Duration::from_millis(1500)] {
            assert_eq!(crate::time::parse_timeout(&duration_text(d)), Ok(d));
        }
    }
}
