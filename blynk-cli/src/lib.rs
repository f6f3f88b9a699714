//! The implementation of `blynk`: read, write, import and export Blynk datastreams from shells and
//! scripts. The binary (`src/main.rs`) calls [`main`]; the library exists so that tests and the
//! fuzz target can drive argument parsing and the input checks in-process ([`precheck`]). It is
//! not a stable API.
//!
//! Modules:
//! - [`cmd`]: one file per command, each a clap struct with its `plan` (every check that needs no
//!   server) and `run`.
//! - [`exit`]: the exit codes, from which the tables in `--help` and the README are derived.
//! - [`fail`]: failures (message, hint, exit code), on one line or as JSON.
//! - [`config`]: connection settings from flags, environment and config file.
//! - [`network`]: what went wrong on the wire, in words a user can act on.
//! - [`input`]: points and batch-update files, checked whole before anything is sent.
//! - [`output`]: tables, counts, ID ranges, JSON.
//! - [`screen`]: the one function server text passes through before a terminal.
//! - [`time`]: timestamps and durations (`jiff`).
//! - [`logging`]: `-v` and `RUST_LOG` to stderr.

// Doc comments of the argument structs are clap help texts: URLs stay bare there.
#![allow(rustdoc::bare_urls)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod cmd;
pub mod config;
pub mod exit;
pub mod fail;
pub mod input;
pub mod logging;
pub mod network;
pub mod output;
pub mod screen;
pub mod time;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser};

use crate::config::{ConnectionArgs, Env};
use crate::exit::Exit;
use crate::fail::Failure;

/// Read, write, import and export Blynk datastreams.
#[derive(Debug, Parser)]
#[command(name = "blynk", version, about)]
pub struct Cli {
    /// Where to connect and with what.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Print JSON for machines instead of tables (errors too, on stderr).
    #[arg(long, global = true, help_heading = "Output")]
    pub json: bool,
    /// Show what the client does on stderr: -v each request, -vv the HTTP layer too, -vvv all
    /// (RUST_LOG adds its own directives).
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = "Output")]
    pub verbose: u8,
    /// The command to run.
    #[command(subcommand)]
    pub command: cmd::Command,
}

/// Whether `--json` is among the arguments, before `--` (to render usage errors as JSON).
fn wants_json(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| a.as_os_str() != "--")
        .any(|a| a.as_os_str() == "--json")
}

/// The clap command. The global flags (connection and output) are shown once, in a section of
/// `blynk --help` rendered from their definitions, instead of in the help of every subcommand.
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    let globals: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for arg in &globals {
        let heading = arg.get_help_heading().unwrap_or("Options").to_string();
        let mut flag = match (arg.get_short(), arg.get_long()) {
            (Some(s), Some(l)) => format!("-{s}, --{l}"),
            (None, Some(l)) => format!("    --{l}"),
            (Some(s), None) => format!("-{s}"),
            (None, None) => continue,
        };
        if arg.get_action().takes_values()
            && let Some(names) = arg.get_value_names()
        {
            for name in names {
                flag.push_str(&format!(" <{name}>"));
            }
        }
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        match sections.iter_mut().find(|(h, _)| *h == heading) {
            Some((_, rows)) => rows.push((flag, help)),
            None => sections.push((heading, vec![(flag, help)])),
        }
        cmd = cmd.mut_arg(arg.get_id().clone(), |a| a.hide(true));
    }
    let width = sections
        .iter()
        .flat_map(|(_, rows)| rows.iter().map(|(f, _)| f.len()))
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for (heading, rows) in sections {
        text.push_str(&format!("{heading}:\n"));
        for (flag, help) in rows {
            text.push_str(&format!("  {flag:<width$}  {help}\n"));
        }
        text.push('\n');
    }
    text.push_str(&Exit::help_table());
    cmd = cmd.after_help(text);
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, |sub| {
            sub.after_help(
                "Connection and output flags (--server, --token, --json, -v, ...) and exit codes: \
                 see blynk --help.",
            )
        });
    }
    cmd
}

/// Parses the arguments. Help and version requests come back as a [`Failure`] of kind
/// [`Exit::Ok`] carrying the text to print; everything else clap refuses is [`Exit::Usage`].
pub fn parse(args: &[OsString]) -> Result<Cli, (Failure, Option<clap::Error>)> {
    let matches = command()
        .try_get_matches_from(args)
        .map_err(|e| clap_failure(e, args))?;
    Cli::from_arg_matches(&matches).map_err(|e| clap_failure(e, args))
}

fn clap_failure(e: clap::Error, args: &[OsString]) -> (Failure, Option<clap::Error>) {
    use clap::error::ErrorKind;
    let exit = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Exit::Ok,
        _ => Exit::Usage,
    };
    if exit == Exit::Ok || !wants_json(args) {
        return (Failure::new(exit, "", ""), Some(e));
    }
    let text = e.render().to_string();
    let message = text
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("error: ")
        .to_string();
    (
        Failure::new(
            Exit::Usage,
            message,
            "see blynk --help, or blynk <command> --help",
        ),
        None,
    )
}

/// Everything `blynk` checks before it connects: the arguments and the input files. Returns the
/// exit code a run would end with if it stopped there (`Ok` when it would go on to connect).
/// Prints nothing; used by the property tests and the fuzz target.
pub fn precheck(args: &[OsString]) -> Exit {
    let cli = match parse(args) {
        Ok(cli) => cli,
        Err((failure, _)) => return failure.exit,
    };
    let ctx = cmd::Context::new(cli.json);
    match cli.command.plan(&ctx) {
        Ok(_) => Exit::Ok,
        Err(failure) => failure.exit,
    }
}

/// Runs `blynk` with the process's arguments and environment.
pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let json = wants_json(&args);
    let cli = match parse(&args) {
        Ok(cli) => cli,
        Err((failure, Some(e))) => {
            // Help, version, and usage errors in clap's own words.
            let _ = e.print();
            return failure.exit.into();
        }
        Err((failure, None)) => return failure.report(json).into(),
    };
    let env = |name: &str| std::env::var(name).ok();
    logging::init(cli.verbose, env("RUST_LOG").as_deref());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return Failure::new(
                Exit::Other,
                format!("cannot start the runtime: {e}"),
                "check the process limits (threads, memory)",
            )
            .report(json)
            .into();
        }
    };
    match runtime.block_on(run(cli, &env)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(json).into(),
    }
}

async fn run(cli: Cli, env: Env<'_>) -> Result<(), Failure> {
    let ctx = cmd::Context::new(cli.json);
    let plan = cli.command.plan(&ctx)?;
    plan.run(&cli.connection, env, &ctx).await
}
