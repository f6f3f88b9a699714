//! Output for people (aligned tables) and for machines (`--json`).

use std::time::SystemTime;

use blynk_api_ext::{DatastreamValue, Value, to_millis};
use serde_json::json;

use crate::time::format_millis;

/// An aligned table: columns padded to their widest cell, two spaces apart, no trailing spaces.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                let pad = widths[i] - cell.chars().count() + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(headers.to_vec());
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// A value as people read it.
pub fn show_value(value: &Option<Value>) -> String {
    match value {
        None => "-".to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Text(s)) => s.clone(),
        Some(Value::Location(l)) => format!("{},{}", l.lon, l.lat),
    }
}

/// A value as JSON.
pub fn json_value(value: &Option<Value>) -> serde_json::Value {
    match value {
        None => serde_json::Value::Null,
        Some(Value::Number(n)) => json!(n),
        Some(Value::Text(s)) => json!(s),
        Some(Value::Location(l)) => json!([l.lon, l.lat]),
    }
}

pub fn show_time(at: Option<SystemTime>) -> String {
    at.and_then(to_millis)
        .map_or_else(|| "-".to_string(), format_millis)
}

/// Rows of a datastream table, optionally prefixed with the device ID.
pub fn datastream_rows(device: Option<i32>, values: &[DatastreamValue]) -> Vec<Vec<String>> {
    values
        .iter()
        .map(|v| {
            let mut row = Vec::with_capacity(6);
            if let Some(d) = device {
                row.push(d.to_string());
            }
            row.extend([
                v.id.to_string(),
                v.pin.clone(),
                v.label.clone(),
                show_value(&v.value),
                show_time(v.updated_at),
            ]);
            row
        })
        .collect()
}

pub fn datastream_json(device: Option<i32>, v: &DatastreamValue) -> serde_json::Value {
    let mut out = json!({
        "id": v.id,
        "pin": v.pin,
        "label": v.label,
        "alias": v.alias,
        "value": json_value(&v.value),
        "updatedAt": v.updated_at.and_then(to_millis),
    });
    if let Some(d) = device {
        out["deviceId"] = json!(d);
    }
    out
}
