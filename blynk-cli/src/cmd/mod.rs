//! The commands of `blynk`, one file each. Every command is a clap struct whose `plan` does every
//! check that needs no server (arguments, input files) and returns a plan whose `run` talks to
//! the server. Nothing is sent before the plan is complete.

pub mod batch_update;
#[cfg(feature = "demo")]
pub mod demo;
pub mod history;
pub mod import;
pub mod property;
pub mod set;
pub mod set_many;
pub mod values;

use blynk_api_ext::Blynk;
use clap::Subcommand;
use jiff::Timestamp;

use crate::config::{ConnectionArgs, Env};
use crate::fail::Failure;

/// What every command needs besides its arguments.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// `--json`: print JSON for machines.
    pub json: bool,
    /// The time relative forms (`now`, `-1h`) count from, read once per run.
    pub now: Timestamp,
}

impl Context {
    /// A context at the current time.
    pub fn new(json: bool) -> Self {
        Self {
            json,
            now: Timestamp::now(),
        }
    }
}

/// A command of `blynk`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Current values of one device, or of many (`--devices 1-250,300`).
    Values(values::Args),
    /// Write one value: a number, `lon,lat` for a location, or text (`--text` forces text).
    Set(set::Args),
    /// Write several datastreams of one device in one request: `DATASTREAM=VALUE ...`.
    SetMany(set_many::Args),
    /// Stream a datastream's history to stdout (CSV, JSON Lines or a table).
    History(history::Args),
    /// Import a datastream's history from a CSV (`ts,value`) or JSON Lines file.
    Import(import::Args),
    /// Update many devices from a CSV with the header `deviceId,<label>,...`.
    BatchUpdate(batch_update::Args),
    /// Update a widget property of a datastream.
    Property(property::Args),
    /// Run the whole library against an in-process simulator: no account needed.
    #[cfg(feature = "demo")]
    Demo,
}

/// A command whose arguments and input files have been checked.
#[derive(Debug)]
pub enum Plan {
    /// See [`values`].
    Values(values::Plan),
    /// See [`set`].
    Set(set::Plan),
    /// See [`set_many`].
    SetMany(set_many::Plan),
    /// See [`history`].
    History(history::Plan),
    /// See [`import`].
    Import(import::Plan),
    /// See [`batch_update`].
    BatchUpdate(batch_update::Plan),
    /// See [`property`].
    Property(property::Plan),
    /// See [`demo`].
    #[cfg(feature = "demo")]
    Demo,
}

impl Command {
    /// Every check that needs no server: arguments and input files.
    pub fn plan(&self, ctx: &Context) -> Result<Plan, Failure> {
        Ok(match self {
            Command::Values(a) => Plan::Values(a.plan()?),
            Command::Set(a) => Plan::Set(a.plan()?),
            Command::SetMany(a) => Plan::SetMany(a.plan()?),
            Command::History(a) => Plan::History(a.plan(ctx)?),
            Command::Import(a) => Plan::Import(a.plan(ctx)?),
            Command::BatchUpdate(a) => Plan::BatchUpdate(a.plan()?),
            Command::Property(a) => Plan::Property(a.plan()?),
            #[cfg(feature = "demo")]
            Command::Demo => Plan::Demo,
        })
    }
}

impl Plan {
    /// Connects (except for `demo`) and carries the plan out.
    pub async fn run(
        self,
        connection: &ConnectionArgs,
        env: Env<'_>,
        ctx: &Context,
    ) -> Result<(), Failure> {
        #[cfg(feature = "demo")]
        if let Plan::Demo = self {
            return demo::run().await;
        }
        let blynk: Blynk = connection.client(env)?;
        match self {
            Plan::Values(p) => p.run(&blynk, ctx).await,
            Plan::Set(p) => p.run(&blynk, ctx).await,
            Plan::SetMany(p) => p.run(&blynk, ctx).await,
            Plan::History(p) => p.run(&blynk, ctx).await,
            Plan::Import(p) => p.run(&blynk, ctx, connection).await,
            Plan::BatchUpdate(p) => p.run(&blynk, ctx).await,
            Plan::Property(p) => p.run(&blynk, ctx).await,
            #[cfg(feature = "demo")]
            Plan::Demo => Ok(()),
        }
    }
}

/// Prints `message`, or `{"ok": true, ...extra}` under `--json`.
pub fn done(ctx: &Context, message: &str, extra: serde_json::Value) -> Result<(), Failure> {
    if ctx.json {
        let mut out = serde_json::json!({"ok": true});
        if let (Some(out), serde_json::Value::Object(extra)) = (out.as_object_mut(), extra) {
            out.extend(extra);
        }
        crate::output::print_json(&out)
    } else {
        crate::output::print(&format!("{}\n", crate::screen::escape(message)))
    }
}

/// Writes a line to stderr (notes beside the output, such as missing devices).
pub fn note(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{}", crate::screen::escape(line));
}

/// Help text of the DEVICE argument.
pub const DEVICE_HELP: &str = "The device's ID (an integer, as in the Blynk console)";
/// Help text of the DATASTREAM argument.
pub const DATASTREAM_HELP: &str =
    "The datastream's ID (an integer; `blynk values DEVICE` lists them)";
