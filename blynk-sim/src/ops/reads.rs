//! `getDeviceDataStreamsV2` and `getBatchDeviceDataStreams`: current values of one device, or of up
//! to `MAX_DEVICES_PER_BATCH_READ` devices (unknown and inaccessible ones left out).

use blynk_api::limits::MAX_DEVICES_PER_BATCH_READ;
use serde_json::{Value, json};

use super::Call;
use crate::answer::Answer;
use crate::org::Org;
use crate::query::{int_list, int_param};
use crate::seed::Principal;

pub(super) fn device_values(
    org: &mut Org,
    p: &Principal,
    call: &Call<'_>,
) -> Result<Answer, Answer> {
    Org::view(p)?;
    let id: i32 = int_param(call.query, "deviceId", true)?.unwrap_or_default();
    let filter = int_list(call.query, "dataStreamIds")?;
    let device = org.device(p, id)?;
    let list: Vec<Value> = org
        .datastreams_of(device.product_id)
        .into_iter()
        .filter(|ds| filter.is_empty() || filter.contains(&ds.id))
        .map(|ds| org.value_json(id, ds))
        .collect();
    Ok(Answer::ok(json!({"dataStreams": list})))
}

pub(super) fn batch_values(
    org: &mut Org,
    p: &Principal,
    call: &Call<'_>,
) -> Result<Answer, Answer> {
    Org::view(p)?;
    let ids = int_list(call.query, "deviceIds")?;
    if ids.is_empty() {
        return Err(Answer::error(400, "deviceIds is required"));
    }
    if ids.len() > MAX_DEVICES_PER_BATCH_READ {
        return Err(Answer::error(
            400,
            format!(
                "Maximum of {MAX_DEVICES_PER_BATCH_READ} devices per request, got {}",
                ids.len()
            ),
        ));
    }
    let filter = int_list(call.query, "dataStreamIds")?;
    let list: Vec<Value> = ids
        .iter()
        .filter_map(|id| org.device(p, *id).ok())
        .map(|device| {
            let streams: Vec<Value> = org
                .datastreams_of(device.product_id)
                .into_iter()
                .filter(|ds| filter.is_empty() || filter.contains(&ds.id))
                .map(|ds| org.value_json(device.id, ds))
                .collect();
            json!({"deviceId": device.id, "dataStreams": streams})
        })
        .collect();
    Ok(Answer::ok(Value::Array(list)))
}
