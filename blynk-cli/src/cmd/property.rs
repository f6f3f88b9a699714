//! `blynk property`: update a widget property of a datastream.

use blynk_api_ext::{Blynk, Property};
use serde_json::json;

use super::Context;
use crate::fail::Failure;

/// The arguments of `blynk property`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The device (its help text is `DEVICE_HELP`).
    #[arg(help = super::DEVICE_HELP)]
    pub device: i32,
    /// The datastream (its help text is `DATASTREAM_HELP`).
    #[arg(help = super::DATASTREAM_HELP)]
    pub datastream: i32,
    /// Property name, e.g. label, color, min, max, onLabel, isHidden.
    pub property: String,
    /// The new value, as text (`"Living room"`, `#00FF00`, `-10`).
    #[arg(allow_hyphen_values = true)]
    pub value: String,
}

/// The checked update.
#[derive(Debug)]
pub struct Plan {
    device: i32,
    datastream: i32,
    name: Property,
    shown: String,
    value: String,
}

impl Args {
    /// Checks the property name.
    pub fn plan(&self) -> Result<Plan, Failure> {
        let name: Property = self.property.parse().map_err(|_| {
            Failure::input(
                format!("unknown property `{}`", self.property),
                "use a widget property such as label, color, min, max, onLabel, isHidden",
            )
        })?;
        Ok(Plan {
            device: self.device,
            datastream: self.datastream,
            name,
            shown: self.property.clone(),
            value: self.value.clone(),
        })
    }
}

impl Plan {
    /// Sends the update.
    pub async fn run(self, blynk: &Blynk, ctx: &Context) -> Result<(), Failure> {
        blynk
            .set_property(self.device, self.datastream, self.name, &self.value)
            .await?;
        super::done(
            ctx,
            &format!(
                "device {}, datastream {}: {} updated",
                self.device, self.datastream, self.shown
            ),
            json!({}),
        )
    }
}
