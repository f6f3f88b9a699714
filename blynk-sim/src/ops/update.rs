//! `updateDeviceDataStream` (one value: 400 on a type mismatch) and
//! `updateMultipleDeviceDataStreams` (several values of one device: unknown ids and mismatched
//! types skipped silently, as documented).

use serde_json::Value;

use super::Call;
use crate::answer::Answer;
use crate::clock::millis;
use crate::org::{Org, check_value, int_field};
use crate::seed::Principal;

pub(super) fn one(org: &mut Org, p: &Principal, call: &Call<'_>) -> Result<Answer, Answer> {
    Org::control(p)?;
    let body = call.body;
    let device_id = int_field(body, "deviceId")?;
    let ds_id = int_field(body, "dataStreamId")?;
    let value = body
        .get("value")
        .cloned()
        .ok_or_else(|| Answer::error(400, "value is required"))?;
    let device = org.device(p, device_id)?.clone();
    let ds = org.datastream(&device, ds_id)?.clone();
    check_value(&ds, &value).map_err(|m| Answer::error(400, m))?;
    let now = millis(org.now());
    org.write(device_id, ds_id, value, now);
    Ok(Answer::no_content())
}

pub(super) fn many(org: &mut Org, p: &Principal, call: &Call<'_>) -> Result<Answer, Answer> {
    Org::control(p)?;
    let body = call.body;
    let device_id = int_field(body, "deviceId")?;
    let values = body
        .get("values")
        .and_then(Value::as_object)
        .ok_or_else(|| Answer::error(400, "values must be an object"))?;
    let device = org.device(p, device_id)?.clone();
    let now = millis(org.now());
    for (key, value) in values {
        // Invalid IDs and mismatched types are skipped silently, as documented.
        let Ok(ds_id) = key.parse::<i32>() else {
            continue;
        };
        let Ok(ds) = org.datastream(&device, ds_id).cloned() else {
            continue;
        };
        if check_value(&ds, value).is_ok() {
            org.write(device_id, ds_id, value.clone(), now);
        }
    }
    Ok(Answer::no_content())
}
