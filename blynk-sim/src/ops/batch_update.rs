//! `batchUpdateDeviceDataStreams`: rows of `[deviceId, value, ...]` under `fields` labels. The
//! product comes from the first valid device; rows that cannot apply are skipped and counted by
//! kind (or listed, at most 100 reasons, in debug mode); 204 when every row applies, 400 when no
//! device is valid.

use std::collections::BTreeMap;

use blynk_api::limits::{MAX_ROWS_PER_BATCH_UPDATE, MIN_FIELDS_PER_BATCH_UPDATE};
use serde_json::{Value, json};

use super::Call;
use crate::answer::Answer;
use crate::clock::millis;
use crate::org::{Org, check_value};
use crate::seed::{Datastream, Principal};

/// Most reasons a debug report lists.
const MAX_DEBUG_REASONS: usize = 100;

/// Why a row was skipped: the report's counter name and a sentence.
type Skip = (&'static str, String);

struct Request {
    fields: Vec<String>,
    rows: Vec<Value>,
    debug: bool,
}

fn parse(body: &Value) -> Result<Request, Answer> {
    let fields: Vec<String> = body
        .get("fields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|f| f.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .ok_or_else(|| Answer::error(400, "fields must be an array of strings"))?;
    if fields.len() < MIN_FIELDS_PER_BATCH_UPDATE || fields[0] != "deviceId" {
        return Err(Answer::error(
            400,
            "fields must start with \"deviceId\" followed by at least one label",
        ));
    }
    let rows = body
        .get("updates")
        .and_then(Value::as_array)
        .ok_or_else(|| Answer::error(400, "updates must be an array"))?
        .clone();
    if rows.is_empty() || rows.len() > MAX_ROWS_PER_BATCH_UPDATE {
        return Err(Answer::error(
            400,
            format!(
                "updates must hold 1 to {MAX_ROWS_PER_BATCH_UPDATE} rows, got {}",
                rows.len()
            ),
        ));
    }
    let debug = body.get("debug").and_then(Value::as_bool).unwrap_or(false);
    Ok(Request {
        fields,
        rows,
        debug,
    })
}

/// The datastreams the labels name, in the product of the first valid device.
fn columns(org: &Org, p: &Principal, request: &Request) -> Result<(i32, Vec<Datastream>), Answer> {
    let width = request.fields.len();
    let product_id = request
        .rows
        .iter()
        .filter(|r| r.as_array().is_some_and(|a| a.len() == width))
        .filter_map(|r| r.get(0).and_then(Value::as_i64))
        .filter_map(|id| i32::try_from(id).ok())
        .find_map(|id| org.device(p, id).ok().map(|d| d.product_id))
        .ok_or_else(|| Answer::error(400, "No valid device found to derive the product"))?;
    let mut columns = Vec::with_capacity(width - 1);
    for label in &request.fields[1..] {
        let ds = org
            .datastreams_of(product_id)
            .into_iter()
            .find(|ds| &ds.label == label)
            .cloned()
            .ok_or_else(|| {
                Answer::error(
                    400,
                    format!("Unknown datastream label {label} for product {product_id}"),
                )
            })?;
        columns.push(ds);
    }
    Ok((product_id, columns))
}

/// The device of a row that may apply, or why it is skipped.
fn row_device<'r>(
    org: &Org,
    p: &Principal,
    product_id: i32,
    width: usize,
    row: &'r Value,
) -> Result<(i32, &'r [Value]), Skip> {
    let cells = row
        .as_array()
        .filter(|a| a.len() == width)
        .ok_or(("invalidRowSize", "invalid row size".to_string()))?;
    let device_id = match &cells[0] {
        Value::Null => return Err(("nullDeviceId", "device ID is null".into())),
        v => v
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| {
                (
                    "nonNumericDeviceId",
                    format!("device ID {v} is not numeric"),
                )
            })?,
    };
    let device = org
        .devices
        .get(&device_id)
        .ok_or_else(|| ("deviceNotFound", format!("device {device_id} not found")))?;
    if !Org::visible(p, device) {
        return Err((
            "noAccessToDevice",
            format!("no access to device {device_id}"),
        ));
    }
    if device.product_id != product_id {
        return Err((
            "wrongProduct",
            format!("device {device_id} belongs to another product"),
        ));
    }
    Ok((device_id, &cells[1..]))
}

pub(super) fn apply(org: &mut Org, p: &Principal, call: &Call<'_>) -> Result<Answer, Answer> {
    Org::control(p)?;
    let request = parse(call.body)?;
    let (product_id, columns) = columns(org, p, &request)?;
    let width = request.fields.len();
    let mut counters: BTreeMap<&str, u64> = BTreeMap::new();
    let mut reasons = Vec::new();
    let now = millis(org.now());
    for (index, row) in request.rows.iter().enumerate() {
        match row_device(org, p, product_id, width, row) {
            Ok((device_id, cells)) => {
                for (ds, cell) in columns.iter().zip(cells) {
                    if !cell.is_null() && check_value(ds, cell).is_ok() {
                        org.write(device_id, ds.id, cell.clone(), now);
                    }
                }
            }
            Err((kind, reason)) => {
                *counters.entry(kind).or_default() += 1;
                if reasons.len() < MAX_DEBUG_REASONS {
                    reasons.push(format!("Row {index}: {reason}"));
                }
            }
        }
    }
    if counters.is_empty() {
        return Ok(Answer::no_content());
    }
    let report = if request.debug {
        json!({"skippedRows": reasons})
    } else {
        Value::Object(
            counters
                .into_iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect(),
        )
    };
    Ok(Answer::ok(report))
}
