//! `blynk set-many`: write several datastreams of one device in one request.
//!
//! The API answers this request without saying which values it applied: it skips values of the
//! wrong type or out of range silently. So the command reports what it *sent*, not what was
//! updated; `blynk values DEVICE` shows what the server kept.

use blynk_api_ext::{Blynk, Value};
use serde_json::json;

use super::Context;
use super::set::{checked, parse_value};
use crate::fail::Failure;
use crate::output::count;

/// The arguments of `blynk set-many`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The device (its help text is `DEVICE_HELP`).
    #[arg(help = super::DEVICE_HELP)]
    pub device: i32,
    /// `DATASTREAM=VALUE` pairs, e.g. `1=21.5 3=eco 4=-74.0,40.7` (each datastream once).
    #[arg(required = true, value_name = "DATASTREAM=VALUE")]
    pub values: Vec<String>,
}

/// The checked pairs.
#[derive(Debug)]
pub struct Plan {
    device: i32,
    pairs: Vec<(i32, Value)>,
}

impl Args {
    /// Checks every pair; a datastream named twice is refused.
    pub fn plan(&self) -> Result<Plan, Failure> {
        let mut pairs: Vec<(i32, Value)> = Vec::with_capacity(self.values.len());
        for item in &self.values {
            let (id, value) = item.split_once('=').ok_or_else(|| {
                Failure::input(
                    format!("`{item}` is not DATASTREAM=VALUE"),
                    "write pairs like 1=21.5 3=eco",
                )
            })?;
            let id: i32 = id.trim().parse().map_err(|_| {
                Failure::input(
                    format!("`{id}` is not a datastream ID"),
                    "datastream IDs are integers",
                )
            })?;
            if pairs.iter().any(|(seen, _)| *seen == id) {
                return Err(Failure::input(
                    format!("datastream {id} is given twice"),
                    "give each datastream once: the API would keep only one of the values",
                ));
            }
            let value = checked(parse_value(value), &format!("datastream {id}"))?;
            pairs.push((id, value));
        }
        Ok(Plan {
            device: self.device,
            pairs,
        })
    }
}

impl Plan {
    /// Sends the values in one request.
    pub async fn run(self, blynk: &Blynk, ctx: &Context) -> Result<(), Failure> {
        let sent = self.pairs.len();
        blynk.set_values(self.device, self.pairs).await?;
        super::done(
            ctx,
            &format!(
                "device {}: {} sent in one request (the API skips values it refuses without saying \
                 which; `blynk values {}` shows what it kept)",
                self.device,
                count(sent as u64, "value"),
                self.device
            ),
            json!({"sent": sent}),
        )
    }
}
