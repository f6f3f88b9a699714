//! `blynk set`: write one value of one datastream.

use blynk_api_ext::{Blynk, Location, Value};
use serde_json::json;

use super::Context;
use crate::fail::Failure;

/// The arguments of `blynk set`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The device (its help text is `DEVICE_HELP`).
    #[arg(help = super::DEVICE_HELP)]
    pub device: i32,
    /// The datastream (its help text is `DATASTREAM_HELP`).
    #[arg(help = super::DATASTREAM_HELP)]
    pub datastream: i32,
    /// The value: a number (`22.5`, `-5`), a location as `lon,lat` (`-74.0,40.7`), or text.
    #[arg(allow_hyphen_values = true)]
    pub value: String,
    /// Send the value as text even if it looks like a number or a location.
    #[arg(long)]
    pub text: bool,
}

/// The checked write.
#[derive(Debug)]
pub struct Plan {
    device: i32,
    datastream: i32,
    value: Value,
}

/// A number, `lon,lat`, or text.
pub fn parse_value(text: &str) -> Value {
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

/// `value` checked as the library checks it before sending; `what` names it in the error.
pub fn checked(value: Value, what: &str) -> Result<Value, Failure> {
    value.check().map_err(|reason| {
        Failure::input(
            format!("{what}: {reason}"),
            "numbers must be finite, locations lon,lat within -180..=180,-90..=90 (--text sends text)",
        )
    })?;
    Ok(value)
}

impl Args {
    /// Checks the value.
    pub fn plan(&self) -> Result<Plan, Failure> {
        let value = if self.text {
            Value::Text(self.value.clone())
        } else {
            parse_value(&self.value)
        };
        Ok(Plan {
            device: self.device,
            datastream: self.datastream,
            value: checked(value, "the value")?,
        })
    }
}

impl Plan {
    /// Sends the value.
    pub async fn run(self, blynk: &Blynk, ctx: &Context) -> Result<(), Failure> {
        blynk
            .set_value(self.device, self.datastream, self.value)
            .await?;
        super::done(
            ctx,
            &format!(
                "device {}, datastream {} updated",
                self.device, self.datastream
            ),
            json!({}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_numbers_locations_or_text() {
        assert_eq!(parse_value("21.5"), Value::Number(21.5));
        assert_eq!(parse_value("-5"), Value::Number(-5.0));
        assert_eq!(
            parse_value("-74.0,40.7"),
            Value::Location(Location::new(-74.0, 40.7))
        );
        assert_eq!(parse_value("eco"), Value::Text("eco".into()));
    }
}
