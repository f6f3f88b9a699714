//! Rust-native types for what the API carries: values, locations, points, timestamps.
//!
//! Timestamps are [`std::time::SystemTime`]: the API's are milliseconds since the Unix epoch, which
//! `SystemTime` holds exactly, it is in `std` (no date library forced on users), and it converts to
//! and from chrono, time and jiff in one call. Use [`to_millis`] and [`from_millis`] when you need
//! the raw number.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use blynk_api::types::DataStreamRawValue;

/// A datastream value: a number, a string or a location.
///
/// Integers become numbers: the API stores every number as a double, so integers beyond ±2^53
/// lose precision.
///
/// ```
/// use blynk_api_ext::{Location, Value};
///
/// assert_eq!(Value::from(21), Value::Number(21.0));
/// assert_eq!(Value::from("on"), Value::Text("on".into()));
/// assert_eq!(
///     Value::from(Location::new(24.1, 56.9)),
///     Value::Location(Location { lon: 24.1, lat: 56.9 })
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number (double, integer or enum datastreams).
    Number(f64),
    /// A string.
    Text(String),
    /// A location.
    Location(Location),
}

/// A position: longitude then latitude, in degrees, as the API orders them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    /// Longitude, -180..=180.
    pub lon: f64,
    /// Latitude, -90..=90.
    pub lat: f64,
}

impl Location {
    /// A location from longitude and latitude.
    pub fn new(lon: f64, lat: f64) -> Self {
        Self { lon, lat }
    }
}

macro_rules! number_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Self {
                Value::Number(n as f64)
            }
        }
    )*};
}
number_from!(f64, f32, i8, i16, i32, i64, u8, u16, u32, u64);

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<Location> for Value {
    fn from(l: Location) -> Self {
        Value::Location(l)
    }
}

impl Value {
    /// Checks that the value has a JSON form the API accepts: finite numbers, and a location
    /// within -180..=180 longitude and -90..=90 latitude. Returns the reason otherwise.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Value::Number(n) if !n.is_finite() => Err(format!(
                "{n} is not a finite number (JSON has no NaN or infinity)"
            )),
            Value::Location(Location { lon, lat }) => {
                if !lon.is_finite() || !(-180.0..=180.0).contains(lon) {
                    Err(format!("longitude {lon} is outside -180..=180"))
                } else if !lat.is_finite() || !(-90.0..=90.0).contains(lat) {
                    Err(format!("latitude {lat} is outside -90..=90"))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn to_raw(&self) -> DataStreamRawValue {
        match self {
            Value::Number(n) => DataStreamRawValue::Double(*n),
            Value::Text(s) => DataStreamRawValue::String(s.clone()),
            Value::Location(l) => DataStreamRawValue::Array([l.lon, l.lat]),
        }
    }

    pub(crate) fn from_raw(raw: DataStreamRawValue) -> Self {
        match raw {
            DataStreamRawValue::Double(n) => Value::Number(n),
            DataStreamRawValue::String(s) => Value::Text(s),
            DataStreamRawValue::Array([lon, lat]) => Value::Location(Location { lon, lat }),
        }
    }
}

/// Milliseconds since the Unix epoch, as the API counts time. Times before 1970 or beyond
/// `i64` milliseconds are `None`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// assert_eq!(blynk_api_ext::to_millis(UNIX_EPOCH + Duration::from_millis(1500)), Some(1500));
/// ```
pub fn to_millis(time: SystemTime) -> Option<i64> {
    let since = time.duration_since(UNIX_EPOCH).ok()?;
    i64::try_from(since.as_secs())
        .ok()?
        .checked_mul(1000)?
        .checked_add(i64::from(since.subsec_millis()))
}

/// The time `millis` milliseconds after the Unix epoch (negative values count backwards).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// assert_eq!(blynk_api_ext::from_millis(1500), UNIX_EPOCH + Duration::from_millis(1500));
/// ```
pub fn from_millis(millis: i64) -> SystemTime {
    if millis >= 0 {
        UNIX_EPOCH + Duration::from_millis(millis.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_millis(millis.unsigned_abs())
    }
}

/// The current value of one datastream of a device.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DatastreamValue {
    /// Datastream ID.
    pub id: i32,
    /// Pin, e.g. `V1`.
    pub pin: String,
    /// Label, e.g. `Temperature`.
    pub label: String,
    /// Alias.
    pub alias: String,
    /// The value; `None` if the datastream has none yet.
    pub value: Option<Value>,
    /// When the value was last updated, if known.
    pub updated_at: Option<SystemTime>,
}

impl From<blynk_api::types::DataStreamValue> for DatastreamValue {
    fn from(v: blynk_api::types::DataStreamValue) -> Self {
        Self {
            id: v.data_stream_id,
            pin: v.pin,
            label: v.data_stream_label,
            alias: v.data_stream_alias,
            value: v.value.map(Value::from_raw),
            updated_at: v.updated_at.map(from_millis),
        }
    }
}

/// The current values of one device.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeviceValues {
    /// Device ID.
    pub device_id: i32,
    /// Its datastreams.
    pub datastreams: Vec<DatastreamValue>,
}

/// One point of history, as the history operation returns it (numbers only).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct HistoryPoint {
    /// When it was recorded.
    pub at: SystemTime,
    /// The value.
    pub value: f64,
}

/// One page of history.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HistoryPage {
    /// The points of this page.
    pub points: Vec<HistoryPoint>,
    /// How many points the whole query has, over all pages.
    pub total: u64,
}

/// A point to import.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Its timestamp.
    pub at: SystemTime,
    /// Its value.
    pub value: Value,
}

impl Point {
    /// A point.
    pub fn new(at: SystemTime, value: impl Into<Value>) -> Self {
        Self {
            at,
            value: value.into(),
        }
    }
}

/// A time range and datastream to read history from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Device ID.
    pub device_id: i32,
    /// Datastream ID.
    pub datastream_id: i32,
    /// Start of the range.
    pub from: SystemTime,
    /// End of the range.
    pub to: SystemTime,
}

/// The rows of a batch update: labels of the columns, then one row per device, checked as they
/// are added (width, finite numbers, valid locations).
///
/// A `None` cell leaves that datastream of that device unchanged (it is sent as `null`).
///
/// ```
/// use blynk_api_ext::BatchUpdate;
///
/// let update = BatchUpdate::new(["Temperature", "Mode"])
///     .row(101, [Some(21.5.into()), None])?
///     .row(102, [Some(19.0.into()), Some("eco".into())])?;
/// assert_eq!(update.rows().len(), 2);
///
/// // A row of the wrong width is refused when it is added.
/// let err = BatchUpdate::new(["Temperature"]).row(103, [None, None]).unwrap_err();
/// assert!(err.to_string().contains("2 cells for 1 labels"));
/// # Ok::<(), blynk_api_ext::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BatchUpdate {
    labels: Vec<String>,
    rows: Vec<(i32, Vec<Option<Value>>)>,
    debug: bool,
}

impl BatchUpdate {
    /// A batch update of these datastream labels.
    pub fn new<I, S>(labels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            labels: labels.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
            debug: false,
        }
    }

    /// Adds a row: a device and one cell per label.
    pub fn push(
        &mut self,
        device_id: i32,
        cells: impl IntoIterator<Item = Option<Value>>,
    ) -> Result<&mut Self, crate::Error> {
        let cells: Vec<Option<Value>> = cells.into_iter().collect();
        crate::validate::batch_row(&self.labels, self.rows.len(), &cells)?;
        self.rows.push((device_id, cells));
        Ok(self)
    }

    /// Adds a row, builder style.
    pub fn row(
        mut self,
        device_id: i32,
        cells: impl IntoIterator<Item = Option<Value>>,
    ) -> Result<Self, crate::Error> {
        self.push(device_id, cells)?;
        Ok(self)
    }

    /// Asks the server for per-row skip reasons instead of counters.
    pub fn debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    /// The labels.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The rows.
    pub fn rows(&self) -> &[(i32, Vec<Option<Value>>)] {
        &self.rows
    }

    /// Whether debug mode is on.
    pub fn is_debug(&self) -> bool {
        self.debug
    }
}
