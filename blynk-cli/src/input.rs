//! Input files: points (`ts,value` CSV or JSON Lines) and batch updates (`deviceId,<label>,...`
//! CSV). Every error names the line and column. [`check_points`] and [`batch_update`] check a file
//! whole, with the checks the library runs before sending, so a file that passes is not refused
//! halfway through for its content.

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use std::time::SystemTime;

use blynk_api_ext::{
    BatchUpdate, Error, ImportOptions, Location, Point, Value, from_millis, validate,
};
use jiff::Timestamp;

use crate::time::{TIME_FORMS, parse_millis};

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

impl From<InputError> for crate::fail::Failure {
    fn from(e: InputError) -> Self {
        let hint = if e.line == 0 {
            "check the file's path and permissions; nothing was sent"
        } else {
            "fix the file at that line and column; nothing was sent"
        };
        crate::fail::Failure::input(e.to_string(), hint)
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

fn open(path: &Path) -> Result<std::fs::File, InputError> {
    std::fs::File::open(path).map_err(|e| err(path, 0, 0, format!("cannot open: {e}")))
}

/// A CSV reader (fields trimmed, rows of any width so that the width error names its line) and
/// its header.
fn open_csv<R: Read>(
    path: &Path,
    input: R,
) -> Result<(csv::Reader<R>, csv::StringRecord), InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| err(path, 1, 1, format!("unreadable header: {e}")))?
        .clone();
    Ok((reader, headers))
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The library's own check of an import point ([`validate::import_point`]), so that a file that
/// passes here is not refused halfway through the import. Returns the column at fault (1 for the
/// time, 2 for the value) and the reason.
fn check_point(point: &Point, position: u64, now: SystemTime) -> Result<(), (u64, String)> {
    match validate::import_point(point, position, &ImportOptions::default(), now) {
        Ok(_) => Ok(()),
        Err(Error::InvalidInput { field, reason, .. }) if field.ends_with(".value") => {
            Err((2, format!("bad value: {reason}")))
        }
        Err(Error::InvalidInput { reason, .. }) => Err((1, format!("bad timestamp: {reason}"))),
        Err(other) => Err((1, other.to_string())),
    }
}

/// The points of `input`, lazily; each item is a point or the first error. Relative times count
/// from `now`.
pub fn points_from<R: Read + Send + 'static>(
    path: &Path,
    input: R,
    format: PointsFormat,
    now: Timestamp,
) -> Result<Box<dyn Iterator<Item = Result<Point, InputError>> + Send>, InputError> {
    let iter = located_points_from(path, input, format, now)?;
    Ok(Box::new(iter.map(|item| item.map(|(_, point)| point))))
}

/// A point and the line it is on.
type Located = Result<(u64, Point), InputError>;

/// Like [`points_from`], each point with its line.
fn located_points_from<R: Read + Send + 'static>(
    path: &Path,
    input: R,
    format: PointsFormat,
    now: Timestamp,
) -> Result<Box<dyn Iterator<Item = Located> + Send>, InputError> {
    let owned = path.to_path_buf();
    let wall = SystemTime::from(now);
    let mut position = 0u64;
    let mut checked = move |point: Point, line: u64| {
        let this = position;
        position += 1;
        check_point(&point, this, wall)
            .map(|()| (line, point))
            .map_err(|(column, message)| err(&owned, line, column, message))
    };
    let owned = path.to_path_buf();
    match format {
        PointsFormat::Csv => {
            let (reader, headers) = open_csv(path, input)?;
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
                let ts = parse_millis(&record[0], now).map_err(|m| {
                    err(
                        &owned,
                        line,
                        1,
                        format!("bad timestamp: {m}; use {TIME_FORMS}"),
                    )
                })?;
                let value = number(&record[1])
                    .ok_or_else(|| err(&owned, line, 2, format!("bad number: `{}`", &record[1])))?;
                checked(Point::new(from_millis(ts), value), line)
            });
            Ok(Box::new(iter))
        }
        PointsFormat::Jsonl => {
            let lines = BufReader::new(input).lines().enumerate();
            let iter = lines
                .filter(|(_, l)| l.as_ref().map_or(true, |l| !l.trim().is_empty()))
                .map(move |(index, line)| {
                    let n = index as u64 + 1;
                    let line =
                        line.map_err(|e| err(&owned, n, 1, format!("unreadable line: {e}")))?;
                    let this = position;
                    position += 1;
                    json_point(&line, now, this)
                        .map(|point| (n, point))
                        .map_err(|(c, m)| err(&owned, n, c, m))
                });
            Ok(Box::new(iter))
        }
    }
}

/// One JSON Lines point; errors carry their column.
fn json_point(line: &str, now: Timestamp, position: u64) -> Result<Point, (u64, String)> {
    let json: serde_json::Value =
        serde_json::from_str(line).map_err(|e| (e.column() as u64, format!("bad JSON: {e}")))?;
    let column_of = |key: &str| {
        line.find(&format!("\"{key}\""))
            .map_or(1, |c| line[..c].chars().count() as u64 + 1)
    };
    let ts = match &json["ts"] {
        serde_json::Value::Number(n) => n.as_i64().ok_or_else(|| "not an integer".to_string()),
        serde_json::Value::String(s) => {
            parse_millis(s, now).map_err(|m| format!("{m}; use {TIME_FORMS}"))
        }
        serde_json::Value::Null => Err("missing".to_string()),
        other => Err(format!("`{other}` is not a time")),
    }
    .map_err(|m| (column_of("ts"), format!("bad timestamp: {m}")))?;
    let ts = Timestamp::from_millisecond(ts)
        .map(|t| t.as_millisecond())
        .map_err(|_| {
            (
                column_of("ts"),
                format!("bad timestamp: {ts} is outside the years -9999..=9999"),
            )
        })?;
    let value = match &json["value"] {
        serde_json::Value::Number(v) => v.as_f64().filter(|v| v.is_finite()).map(Value::Number),
        serde_json::Value::String(s) => Some(Value::Text(s.clone())),
        serde_json::Value::Array(a) if a.len() == 2 => match (a[0].as_f64(), a[1].as_f64()) {
            (Some(lon), Some(lat)) => Some(Value::Location(Location::new(lon, lat))),
            _ => None,
        },
        _ => None,
    }
    .ok_or_else(|| {
        (
            column_of("value"),
            format!("bad value: `{}`", json["value"]),
        )
    })?;
    let point = Point::new(from_millis(ts), value);
    check_point(&point, position, SystemTime::from(now)).map_err(|(column, message)| {
        let key = if column == 1 { "ts" } else { "value" };
        (column_of(key), message)
    })?;
    Ok(point)
}

/// The points of the file at `path`.
pub fn points(
    path: &Path,
    format: PointsFormat,
    now: Timestamp,
) -> Result<Box<dyn Iterator<Item = Result<Point, InputError>> + Send>, InputError> {
    points_from(path, BufReader::new(open(path)?), format, now)
}

/// Checks all of `input`; returns how many points it holds.
pub fn check_points_from<R: Read + Send + 'static>(
    path: &Path,
    input: R,
    format: PointsFormat,
    now: Timestamp,
) -> Result<u64, InputError> {
    check_located(path, input, format, now, false)
}

/// Checks the whole file at `path`; returns how many points it holds. With `in_order`, a point
/// earlier than the one before it is an error too (what the library's
/// [`ImportOptions::skip_existing`] refuses, found here before anything is sent).
pub fn check_points(
    path: &Path,
    format: PointsFormat,
    now: Timestamp,
    in_order: bool,
) -> Result<u64, InputError> {
    check_located(path, BufReader::new(open(path)?), format, now, in_order)
}

fn check_located<R: Read + Send + 'static>(
    path: &Path,
    input: R,
    format: PointsFormat,
    now: Timestamp,
    in_order: bool,
) -> Result<u64, InputError> {
    let mut count = 0;
    let mut previous: Option<SystemTime> = None;
    for point in located_points_from(path, input, format, now)? {
        let (line, point) = point?;
        if in_order && previous.is_some_and(|p| point.at < p) {
            return Err(err(
                path,
                line,
                1,
                "this point is earlier than the one before it; --skip-existing needs the \
                 points in time order",
            ));
        }
        previous = Some(point.at);
        count += 1;
    }
    Ok(count)
}

/// Reads a batch update from `input`: header `deviceId,<label>,...`, then one row per device.
/// Empty cells are `null` (left unchanged), numbers are numbers, anything else is text. Each row
/// passes the library's own row check ([`BatchUpdate::push`]).
pub fn batch_update_from<R: Read>(
    path: &Path,
    input: R,
    debug: bool,
) -> Result<BatchUpdate, InputError> {
    let (mut reader, headers) = open_csv(path, input)?;
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

/// Reads the batch-update file at `path`.
pub fn batch_update(path: &Path, debug: bool) -> Result<BatchUpdate, InputError> {
    batch_update_from(path, BufReader::new(open(path)?), debug)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::from_millisecond(1_704_067_200_000).unwrap()
    }

    fn check(format: PointsFormat, text: &str) -> Result<u64, InputError> {
        check_points_from(
            Path::new("f"),
            std::io::Cursor::new(text.to_string()),
            format,
            now(),
        )
    }

    #[test]
    fn the_file_check_refuses_what_the_library_would_refuse() {
        let mut csv = String::from("ts,value\n");
        for i in 0..15_000 {
            csv.push_str(&format!("{},{i}\n", 1_700_000_000_000i64 + i * 1000));
        }
        assert_eq!(check(PointsFormat::Csv, &csv), Ok(15_000));
        csv.push_str("-1000,1\n");
        let e = check(PointsFormat::Csv, &csv).unwrap_err();
        assert_eq!((e.line, e.column), (15_002, 1), "{e}");
        assert!(e.message.contains("1970"), "{e}");

        let mut jsonl = String::new();
        for i in 0..15_000 {
            jsonl.push_str(&format!(
                "{{\"ts\": {}, \"value\": 1}}\n",
                1_700_000_000_000i64 + i
            ));
        }
        jsonl.push_str("{\"ts\": 1700000000000, \"value\": [500,500]}\n");
        let e = check(PointsFormat::Jsonl, &jsonl).unwrap_err();
        assert_eq!((e.line, e.column), (15_001, 23), "{e}");
        assert!(e.message.contains("longitude"), "{e}");
    }

    #[test]
    fn multi_byte_timestamps_are_refused_not_a_panic() {
        let e = check(PointsFormat::Csv, "ts,value\n2024-01-01T00:00:00+0é00,1\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1));
        let e = check(
            PointsFormat::Jsonl,
            "{\"é\":1, \"ts\": \"2024-01-01T00:00:00+0é00\", \"value\": 1}\n",
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (1, 9), "{e}");
    }
}
