//! Input files: points (`ts,value` CSV or JSON Lines) and batch updates (`deviceId,<label>,...`
//! CSV). Every error names the line and column, and files are checked whole before anything is
//! sent.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use blynk_api_ext::{BatchUpdate, Location, Point, Value};

use crate::time::{from_millis, parse_millis};

/// A problem at a position of an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line (0 when the file could not be opened).
    pub line: u64,
    /// 1-based column: the field number in CSV, the character in JSON Lines.
    pub column: u64,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

/// The format of a points file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PointsFormat {
    /// `ts,value` with a header line.
    Csv,
    /// One `{"ts": ..., "value": ...}` object per line.
    Jsonl,
}

impl PointsFormat {
    /// From the file extension: `.jsonl`/`.ndjson` are JSON Lines, anything else CSV.
    pub fn guess(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("jsonl" | "ndjson") => PointsFormat::Jsonl,
            _ => PointsFormat::Csv,
        }
    }
}

fn err(path: &Path, line: u64, column: u64, message: impl Into<String>) -> InputError {
    InputError {
        path: path.to_path_buf(),
        line,
        column,
        message: message.into(),
    }
}

/// A CSV reader (fields trimmed, rows of any width so that the width error names its line) and
/// its header.
fn open_csv(
    path: &Path,
    file: File,
) -> Result<(csv::Reader<BufReader<File>>, csv::StringRecord), InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(BufReader::new(file));
    let headers = reader
        .headers()
        .map_err(|e| err(path, 1, 1, format!("unreadable header: {e}")))?
        .clone();
    Ok((reader, headers))
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Reads the points of a file lazily; each item is a point or the first error.
pub fn points(
    path: &Path,
    format: PointsFormat,
) -> Result<Box<dyn Iterator<Item = Result<Point, InputError>> + Send>, InputError> {
    let file = File::open(path).map_err(|e| err(path, 0, 0, format!("cannot open: {e}")))?;
    let owned = path.to_path_buf();
    match format {
        PointsFormat::Csv => {
            let (reader, headers) = open_csv(path, file)?;
            let names: Vec<&str> = headers.iter().collect();
            if names != ["ts", "value"] {
                let column = names
                    .iter()
                    .zip(["ts", "value"])
                    .position(|(got, want)| *got != want)
                    .unwrap_or(names.len().min(2));
                return Err(err(
                    path,
                    1,
                    column as u64 + 1,
                    format!("the header must be `ts,value`, found `{}`", names.join(",")),
                ));
            }
            let iter = reader.into_records().map(move |record| {
                let record = record.map_err(|e| {
                    let line = e.position().map_or(0, |p| p.line());
                    err(&owned, line, 1, format!("unreadable CSV: {e}"))
                })?;
                let line = record.position().map_or(0, |p| p.line());
                if record.len() != 2 {
                    return Err(err(
                        &owned,
                        line,
                        record.len().min(2) as u64 + 1,
                        format!("expected 2 fields (ts,value), found {}", record.len()),
                    ));
                }
                let ts = parse_millis(&record[0])
                    .map_err(|m| err(&owned, line, 1, format!("bad timestamp: {m}")))?;
                let value = number(&record[1])
                    .ok_or_else(|| err(&owned, line, 2, format!("bad number: `{}`", &record[1])))?;
                Ok(Point::new(from_millis(ts), value))
            });
            Ok(Box::new(iter))
        }
        PointsFormat::Jsonl => {
            let lines = BufReader::new(file).lines().enumerate();
            let iter = lines
                .filter(|(_, l)| l.as_ref().map_or(true, |l| !l.trim().is_empty()))
                .map(move |(index, line)| {
                    let n = index as u64 + 1;
                    let line =
                        line.map_err(|e| err(&owned, n, 1, format!("unreadable line: {e}")))?;
                    let json: serde_json::Value = serde_json::from_str(&line)
                        .map_err(|e| err(&owned, n, e.column() as u64, format!("bad JSON: {e}")))?;
                    let column_of =
                        |key: &str| line.find(&format!("\"{key}\"")).map_or(1, |c| c as u64 + 1);
                    let ts = match &json["ts"] {
                        serde_json::Value::Number(n) => {
                            n.as_i64().ok_or_else(|| "not an integer".to_string())
                        }
                        serde_json::Value::String(s) => parse_millis(s),
                        serde_json::Value::Null => Err("missing".to_string()),
                        other => Err(format!("`{other}` is not a time")),
                    }
                    .map_err(|m| err(&owned, n, column_of("ts"), format!("bad timestamp: {m}")))?;
                    let value = match &json["value"] {
                        serde_json::Value::Number(v) => {
                            v.as_f64().filter(|v| v.is_finite()).map(Value::Number)
                        }
                        serde_json::Value::String(s) => Some(Value::Text(s.clone())),
                        serde_json::Value::Array(a) if a.len() == 2 => {
                            match (a[0].as_f64(), a[1].as_f64()) {
                                (Some(lon), Some(lat)) => {
                                    Some(Value::Location(Location::new(lon, lat)))
                                }
                                _ => None,
                            }
                        }
                        _ => None,
                    }
                    .ok_or_else(|| {
                        err(
                            &owned,
                            n,
                            column_of("value"),
                            format!("bad value: `{}`", json["value"]),
                        )
                    })?;
                    Ok(Point::new(from_millis(ts), value))
                });
            Ok(Box::new(iter))
        }
    }
}

/// Checks a whole points file; returns how many points it holds.
pub fn check_points(path: &Path, format: PointsFormat) -> Result<u64, InputError> {
    let mut count = 0;
    for point in points(path, format)? {
        point?;
        count += 1;
    }
    Ok(count)
}

/// Reads a batch-update CSV: header `deviceId,<label>,...`, then one row per device. Empty cells
/// are `null` (left unchanged), numbers are numbers, anything else is text.
pub fn batch_update(path: &Path, debug: bool) -> Result<BatchUpdate, InputError> {
    let file = File::open(path).map_err(|e| err(path, 0, 0, format!("cannot open: {e}")))?;
    let (mut reader, headers) = open_csv(path, file)?;
    if headers.get(0) != Some("deviceId") {
        return Err(err(
            path,
            1,
            1,
            format!(
                "the header must start with `deviceId`, found `{}`",
                headers.get(0).unwrap_or("")
            ),
        ));
    }
    if headers.len() < 2 {
        return Err(err(
            path,
            1,
            2,
            "the header needs at least one datastream label after deviceId",
        ));
    }
    if let Some(i) = headers.iter().position(str::is_empty) {
        return Err(err(path, 1, i as u64 + 1, "empty datastream label"));
    }
    let labels: Vec<String> = headers.iter().skip(1).map(str::to_string).collect();
    let mut update = BatchUpdate::new(labels).debug(debug);
    for record in reader.records() {
        let record = record.map_err(|e| {
            err(
                path,
                e.position().map_or(0, |p| p.line()),
                1,
                format!("unreadable CSV: {e}"),
            )
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != headers.len() {
            return Err(err(
                path,
                line,
                record.len().min(headers.len()) as u64 + 1,
                format!("expected {} fields, found {}", headers.len(), record.len()),
            ));
        }
        let device: i32 = record[0]
            .parse()
            .map_err(|_| err(path, line, 1, format!("bad device ID: `{}`", &record[0])))?;
        let cells: Vec<Option<Value>> = record
            .iter()
            .skip(1)
            .map(|cell| {
                if cell.is_empty() {
                    None
                } else if let Some(n) = number(cell) {
                    Some(Value::Number(n))
                } else {
                    Some(Value::Text(cell.to_string()))
                }
            })
            .collect();
        update
            .push(device, cells)
            .map_err(|e| err(path, line, 1, e.to_string()))?;
    }
    Ok(update)
}
