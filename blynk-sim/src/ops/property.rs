//! `updateDeviceDataStreamProperty`: a widget property of a datastream, by one of the document's
//! `PROPERTY_NAMES`, with values up to `MAX_PROPERTY_VALUE_CHARS` characters in the format the
//! property implies (colours, numbers, booleans, URLs).

use blynk_api::limits::MAX_PROPERTY_VALUE_CHARS;
use blynk_api::operations::PROPERTY_NAMES;
use serde_json::Value;

use super::Call;
use crate::answer::Answer;
use crate::org::{Org, int_field};
use crate::seed::Principal;

fn check_property(name: &str, value: &str) -> Result<(), String> {
    if value.chars().count() > MAX_PROPERTY_VALUE_CHARS {
        return Err(format!(
            "Property value is longer than {MAX_PROPERTY_VALUE_CHARS} characters"
        ));
    }
    let hex = |v: &str| {
        let v = v.strip_prefix('#').unwrap_or(v);
        v.len() == 6 && v.chars().all(|c| c.is_ascii_hexdigit())
    };
    let ok = match name {
        "color" | "onBackColor" | "offBackColor" | "onColor" | "offColor" | "backColor" => {
            hex(value)
        }
        "min" | "max" | "step" | "opacity" | "scale" | "rotation" => {
            value.parse::<f64>().is_ok_and(f64::is_finite)
        }
        "maximumFractionDigits" => value.parse::<u8>().is_ok_and(|d| d <= 10),
        "isOnPlay" | "isDisabled" | "isHidden" | "isMuted" | "loop" | "autoplay" => {
            value == "true" || value == "false"
        }
        "url" | "onImageUrl" | "offImageUrl" | "sound" => {
            value.starts_with("http://") || value.starts_with("https://")
        }
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("Invalid value '{value}' for property {name}"))
    }
}

pub(super) fn set(org: &mut Org, p: &Principal, call: &Call<'_>) -> Result<Answer, Answer> {
    Org::control(p)?;
    let body = call.body;
    let device_id = int_field(body, "deviceId")?;
    let ds_id = int_field(body, "dataStreamId")?;
    let name = body
        .get("property")
        .and_then(Value::as_str)
        .ok_or_else(|| Answer::error(400, "property is required"))?
        .to_string();
    if !PROPERTY_NAMES.contains(&name.as_str()) {
        return Err(Answer::error(400, format!("Unknown property {name}")));
    }
    let value = body
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| Answer::error(400, "value must be a string"))?
        .to_string();
    let device = org.device(p, device_id)?.clone();
    org.datastream(&device, ds_id)?;
    check_property(&name, &value).map_err(|m| Answer::error(400, m))?;
    org.properties.insert((device_id, ds_id, name), value);
    Ok(Answer::no_content())
}
