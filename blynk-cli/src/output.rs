//! Output for people (aligned tables, counted nouns, ID ranges) and for machines (`--json`).
//! Every cell that comes from the server passes through [`screen::escape`].

use std::io::Write;
use std::time::SystemTime;

use blynk_api_ext::{DatastreamValue, Value, to_millis};
use serde_json::json;

use crate::fail::Failure;
use crate::screen;
use crate::time::format_millis;

/// Writes `text` to stdout; a reader that went away ends the run quietly.
pub fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Failure::output)
}

/// Writes one JSON value as a line of stdout.
pub fn print_json(value: &serde_json::Value) -> Result<(), Failure> {
    print(&format!("{}\n", screen::json_line(value)))
}

/// `1 point`, `2 points`: `noun` with an `s` unless `n` is one.
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Sorted IDs written as ranges: `1-12,15,20-21`.
pub fn ranges(ids: &[i32]) -> String {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && i64::from(sorted[i + 1]) == i64::from(end) + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// An aligned table: columns padded to their widest cell, two spaces apart, no trailing spaces.
/// Cells are escaped for the terminal.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|c| screen::escape(c).into_owned()).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                let width = widths.get(i).copied().unwrap_or(0);
                let pad = width.saturating_sub(cell.chars().count()) + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(headers.to_vec());
    out.push('\n');
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// A value as people read it (escaped later, with its table).
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

/// A time as RFC 3339 in UTC, or `-`.
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

/// One datastream's value as JSON.
pub fn datastream_json(v: &DatastreamValue) -> serde_json::Value {
    json!({
        "id": v.id,
        "pin": v.pin,
        "label": v.label,
        "alias": v.alias,
        "value": json_value(&v.value),
        "updatedAt": v.updated_at.and_then(to_millis),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nouns_are_counted() {
        assert_eq!(count(1u64, "request"), "1 request");
        assert_eq!(count(0u64, "point"), "0 points");
        assert_eq!(count(3u64, "row"), "3 rows");
    }

    #[test]
    fn ids_are_compressed_to_ranges() {
        assert_eq!(ranges(&[3, 1, 2, 7, 9, 8, 20]), "1-3,7-9,20");
        assert_eq!(ranges(&[5]), "5");
        assert_eq!(
            ranges(&[i32::MAX, i32::MAX - 1, i32::MIN]),
            format!("{},{}-{}", i32::MIN, i32::MAX - 1, i32::MAX)
        );
        assert_eq!(ranges(&[]), "");
    }

    #[test]
    fn table_cells_from_the_server_cannot_reach_the_terminal_raw() {
        let text = table(&["LABEL"], &[vec!["a\nb\u{1b}[31m".to_string()]]);
        assert_eq!(text, "LABEL\na\\nb\\u{1b}[31m\n");
    }
}
