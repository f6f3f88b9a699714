//! The organisation's state (devices, datastreams, current values, history, properties, issued
//! tokens) and the lookups every operation shares: a device the caller may see, a datastream of
//! its product, a value that fits a datastream. The operations themselves live in `ops/`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::answer::Answer;
use crate::auth::IssuedToken;
use crate::clock::{Clock, TokenBucket};
use crate::history::Series;
use crate::seed::{Datastream, Device, Principal, Seed, ValueType};

/// Per-device import rate limit: a token bucket.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImportLimit {
    /// Imports allowed at once per device.
    pub burst: u32,
    /// Refill, imports per second per device.
    pub per_second: f64,
}

impl Default for ImportLimit {
    fn default() -> Self {
        Self {
            burst: 20,
            per_second: 10.0,
        }
    }
}

pub(crate) struct Org {
    pub(crate) seed: Seed,
    pub(crate) devices: HashMap<i32, Device>,
    pub(crate) datastreams: HashMap<i32, (i32, Datastream)>,
    pub(crate) values: HashMap<(i32, i32), (Value, i64)>,
    pub(crate) history: HashMap<(i32, i32), Series>,
    pub(crate) properties: HashMap<(i32, i32, String), String>,
    pub(crate) issued: HashMap<String, IssuedToken>,
    pub(crate) refresh: HashMap<String, String>,
    pub(crate) counter: u64,
    pub(crate) import_buckets: HashMap<i32, TokenBucket>,
    pub(crate) import_limit: ImportLimit,
    pub(crate) import_visibility_delay: Duration,
    /// Imports accepted but not yet visible, oldest first.
    pub(crate) pending: VecDeque<PendingImport>,
    pub(crate) clock: Arc<Clock>,
}

/// Points of an accepted import, visible to reads from `visible_at` on.
pub(crate) struct PendingImport {
    pub(crate) visible_at: SystemTime,
    pub(crate) device_id: i32,
    pub(crate) datastream_id: i32,
    pub(crate) points: Vec<(i64, f64)>,
}

pub(crate) fn not_found(device_id: i32) -> Answer {
    Answer::error(
        404,
        format!(
            "Device with identifier {device_id} is not found or belong to another organization."
        ),
    )
}

/// Whether `value` fits a datastream of `ds`'s type (and range, for numbers).
pub(crate) fn check_value(ds: &Datastream, value: &Value) -> Result<(), String> {
    match (ds.value_type, value) {
        (ValueType::Number, Value::Number(n)) => {
            let n = n.as_f64().unwrap_or(f64::NAN);
            if ds.min.is_some_and(|min| n < min) || ds.max.is_some_and(|max| n > max) {
                return Err(format!(
                    "Value {n} is outside the range of datastream {} ({}..{})",
                    ds.id,
                    ds.min.map_or("-inf".into(), |m| m.to_string()),
                    ds.max.map_or("inf".into(), |m| m.to_string())
                ));
            }
            Ok(())
        }
        (ValueType::String, Value::String(_)) => Ok(()),
        (ValueType::Location, Value::Array(a))
            if a.len() == 2 && a.iter().all(|v| v.as_f64().is_some_and(f64::is_finite)) =>
        {
            Ok(())
        }
        (expected, got) => Err(format!(
            "Value {got} does not match the type of datastream {} ({expected:?})",
            ds.id
        )),
    }
}

/// A required integer property of a JSON body; 400 naming it otherwise.
pub(crate) fn int_field(body: &Value, name: &str) -> Result<i32, Answer> {
    body.get(name)
        .and_then(Value::as_i64)
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| Answer::error(400, format!("{name} must be an integer")))
}

impl Org {
    pub(crate) fn new(seed: Seed, import_limit: ImportLimit, clock: Arc<Clock>) -> Self {
        let devices = seed.devices.iter().map(|d| (d.id, d.clone())).collect();
        let datastreams = seed
            .products
            .iter()
            .flat_map(|p| p.datastreams.iter().map(|d| (d.id, (p.id, d.clone()))))
            .collect();
        let mut history: HashMap<(i32, i32), Series> = HashMap::new();
        for h in &seed.history {
            let series = history.entry((h.device_id, h.datastream_id)).or_default();
            if let Some(generator) = h.generated {
                series.set_generator(generator);
            }
            series.insert_many(h.points.clone());
        }
        let values = match &seed.values {
            Some(list) => list
                .iter()
                .map(|v| {
                    (
                        (v.device_id, v.datastream_id),
                        (v.value.clone(), v.updated_at),
                    )
                })
                .collect(),
            None => history
                .iter()
                .filter_map(|(key, series)| series.last().map(|(ts, v)| (*key, (json!(v), ts))))
                .collect(),
        };
        let properties = seed
            .properties
            .iter()
            .map(|p| {
                (
                    (p.device_id, p.datastream_id, p.property.clone()),
                    p.value.clone(),
                )
            })
            .collect();
        Self {
            seed,
            devices,
            datastreams,
            values,
            history,
            properties,
            issued: HashMap::new(),
            refresh: HashMap::new(),
            counter: 0,
            import_buckets: HashMap::new(),
            import_limit,
            import_visibility_delay: Duration::ZERO,
            pending: VecDeque::new(),
            clock,
        }
    }

    /// Moves the imports whose delay has passed into the history.
    pub(crate) fn settle_imports(&mut self) {
        let now = self.now();
        while self.pending.front().is_some_and(|p| p.visible_at <= now) {
            if let Some(done) = self.pending.pop_front() {
                self.history
                    .entry((done.device_id, done.datastream_id))
                    .or_default()
                    .insert_many(done.points);
            }
        }
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The device if it exists and the principal may see it; 404 otherwise.
    pub(crate) fn device(&self, p: &Principal, id: i32) -> Result<&Device, Answer> {
        match self.devices.get(&id) {
            Some(d) if Self::visible(p, d) => Ok(d),
            _ => Err(not_found(id)),
        }
    }

    /// The datastream `id` of the device's product; 404 otherwise.
    pub(crate) fn datastream(&self, device: &Device, id: i32) -> Result<&Datastream, Answer> {
        match self.datastreams.get(&id) {
            Some((product, ds)) if *product == device.product_id => Ok(ds),
            _ => Err(Answer::error(
                404,
                format!(
                    "DataStream with id {id} is not found for device {}.",
                    device.id
                ),
            )),
        }
    }

    pub(crate) fn datastreams_of(&self, product_id: i32) -> Vec<&Datastream> {
        self.seed
            .products
            .iter()
            .filter(|p| p.id == product_id)
            .flat_map(|p| p.datastreams.iter())
            .collect()
    }

    /// A datastream's entry in a values answer (`DataStreamValue`).
    pub(crate) fn value_json(&self, device_id: i32, ds: &Datastream) -> Value {
        let mut v = json!({
            "dataStreamId": ds.id,
            "pin": ds.pin,
            "dataStreamLabel": ds.label,
            "dataStreamAlias": ds.alias,
        });
        if let Some((value, ts)) = self.values.get(&(device_id, ds.id)) {
            v["value"] = value.clone();
            v["updatedAt"] = json!(ts);
        }
        v
    }

    /// Sets the current value; numbers also go to the history.
    pub(crate) fn write(&mut self, device_id: i32, ds_id: i32, value: Value, ts: i64) {
        if let Some(n) = value.as_f64() {
            self.history
                .entry((device_id, ds_id))
                .or_default()
                .insert(ts, n);
        }
        self.values.insert((device_id, ds_id), (value, ts));
    }

    // Inspection, for tests.

    pub(crate) fn current(&self, device_id: i32, ds_id: i32) -> Option<(Value, i64)> {
        self.values.get(&(device_id, ds_id)).cloned()
    }

    pub(crate) fn history_of(&mut self, device_id: i32, ds_id: i32) -> Vec<(i64, f64)> {
        self.settle_imports();
        self.history
            .get(&(device_id, ds_id))
            .map(|h| h.range(i64::MIN, i64::MAX).collect())
            .unwrap_or_default()
    }

    pub(crate) fn property_of(&self, device_id: i32, ds_id: i32, name: &str) -> Option<String> {
        self.properties
            .get(&(device_id, ds_id, name.to_string()))
            .cloned()
    }
}
