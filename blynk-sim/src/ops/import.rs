//! `importDeviceBatchData`: `MIN_POINTS_PER_IMPORT..=MAX_POINTS_PER_IMPORT` points of one datastream,
//! a per-device rate limit answered with 429, points more than `IMPORT_FUTURE_WINDOW_SECS` ahead
//! skipped silently. The document says imports are "accepted and processing asynchronously": the
//! points become visible to history reads after the configured delay on the simulator's clock.

use std::time::Duration;

use blynk_api::limits::{MAX_POINTS_PER_IMPORT, MIN_POINTS_PER_IMPORT};
use blynk_api::operations::IMPORT_FUTURE_WINDOW_SECS;
use serde_json::Value;

use super::Call;
use crate::answer::{Answer, Wait};
use crate::clock::{TokenBucket, millis};
use crate::org::{Org, PendingImport, check_value, int_field};
use crate::seed::Principal;

/// `Retry-After` of the import rate limit's 429.
const RATE_LIMIT_RETRY_AFTER_SECS: u64 = 1;

pub(super) fn apply(org: &mut Org, p: &Principal, call: &Call<'_>) -> Result<Answer, Answer> {
    Org::import_allowed(p)?;
    let body = call.body;
    let device_id = int_field(body, "deviceId")?;
    let ds_id = int_field(body, "dataStreamId")?;
    let values = body
        .get("values")
        .and_then(Value::as_array)
        .ok_or_else(|| Answer::error(400, "values must be an array"))?;
    if !(MIN_POINTS_PER_IMPORT..=MAX_POINTS_PER_IMPORT).contains(&values.len()) {
        return Err(Answer::error(
            400,
            format!(
                "values must hold {MIN_POINTS_PER_IMPORT} to {MAX_POINTS_PER_IMPORT} points, got {}",
                values.len()
            ),
        ));
    }
    let device = org.device(p, device_id)?.clone();
    let ds = org.datastream(&device, ds_id)?.clone();
    let mut points = Vec::with_capacity(values.len());
    for (i, point) in values.iter().enumerate() {
        let ts = point
            .get("ts")
            .and_then(Value::as_i64)
            .ok_or_else(|| Answer::error(400, format!("values[{i}].ts must be an integer")))?;
        let value = point
            .get("value")
            .ok_or_else(|| Answer::error(400, format!("values[{i}].value is required")))?;
        points.push((ts, value));
    }
    let now = org.now();
    let limit = org.import_limit;
    let bucket = org
        .import_buckets
        .entry(device_id)
        .or_insert_with(|| TokenBucket::new(limit.burst, limit.per_second, now));
    if !bucket.take(now) {
        return Err(Answer::too_many(Some(Wait::Seconds(
            RATE_LIMIT_RETRY_AFTER_SECS,
        ))));
    }
    let horizon = millis(now + Duration::from_secs(IMPORT_FUTURE_WINDOW_SECS));
    // More than a month ahead, or of the wrong type: silently skipped, as documented.
    let accepted: Vec<(i64, f64)> = points
        .into_iter()
        .filter(|(ts, value)| *ts <= horizon && check_value(&ds, value).is_ok())
        .filter_map(|(ts, value)| value.as_f64().map(|n| (ts, n)))
        .collect();
    org.pending.push_back(PendingImport {
        visible_at: now + org.import_visibility_delay,
        device_id,
        datastream_id: ds_id,
        points: accepted,
    });
    org.settle_imports();
    Ok(Answer::no_content())
}
