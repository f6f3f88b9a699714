//! The organisation's state and the API's rules, free of HTTP: what each operation does to the
//! state and what it answers. The HTTP layer (`server.rs`) only parses and encodes.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::seed::{Datastream, Device, Principal, Scope, Seed, ValueType};

/// An API answer: status and optional JSON body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Option<Value>,
    pub(crate) retry_after: Option<u64>,
}

impl Answer {
    pub(crate) fn ok(body: Value) -> Self {
        Self {
            status: 200,
            body: Some(body),
            retry_after: None,
        }
    }

    pub(crate) fn no_content() -> Self {
        Self {
            status: 204,
            body: None,
            retry_after: None,
        }
    }

    pub(crate) fn error(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            body: Some(json!({"error": {"message": message.into()}})),
            retry_after: None,
        }
    }

    pub(crate) fn bare(status: u16) -> Self {
        Self {
            status,
            body: None,
            retry_after: None,
        }
    }
}

/// Points more than this far ahead are silently skipped by imports (the documented "1 month").
pub const FUTURE_HORIZON: Duration = Duration::from_secs(30 * 24 * 3600);
/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 2_000_000;

struct IssuedToken {
    principal: Principal,
    expires_at: SystemTime,
}

/// Per-device import rate limit: a token bucket.
#[derive(Debug, Clone, Copy)]
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
    seed: Seed,
    devices: HashMap<i32, Device>,
    datastreams: HashMap<i32, (i32, Datastream)>,
    values: HashMap<(i32, i32), (Value, i64)>,
    history: HashMap<(i32, i32), BTreeMap<i64, f64>>,
    properties: HashMap<(i32, i32, String), String>,
    issued: HashMap<String, IssuedToken>,
    refresh: HashMap<String, String>,
    counter: u64,
    import_buckets: HashMap<i32, (f64, SystemTime)>,
    pub(crate) import_limit: ImportLimit,
    /// Added to the wall clock, for tests of expiry.
    pub(crate) clock_offset: Duration,
}

fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The result of a query parameter lookup.
pub(crate) type Query = Vec<(String, String)>;

fn param<'a>(query: &'a Query, name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn int_param<T: std::str::FromStr>(
    query: &Query,
    name: &str,
    required: bool,
) -> Result<Option<T>, Answer> {
    match param(query, name) {
        None if required => Err(Answer::error(
            400,
            format!("Query parameter {name} is required"),
        )),
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            Answer::error(
                400,
                format!("Query parameter {name} is not a valid integer: {v}"),
            )
        }),
    }
}

fn int_list(query: &Query, name: &str) -> Result<Vec<i32>, Answer> {
    query
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| {
            v.parse().map_err(|_| {
                Answer::error(
                    400,
                    format!("{name} holds a value that is not an integer: {v}"),
                )
            })
        })
        .collect()
}

fn not_found(device_id: i32) -> Answer {
    Answer::error(
        404,
        format!(
            "Device with identifier {device_id} is not found or belong to another organization."
        ),
    )
}

/// Whether `value` fits a datastream of `ds`'s type (and range, for numbers).
fn check_value(ds: &Datastream, value: &Value) -> Result<(), String> {
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

fn check_property(name: &str, value: &str) -> Result<(), String> {
    if value.chars().count() > 200 {
        return Err("Property value is longer than 200 characters".into());
    }
    let hex = |v: &str| {
        let v = v.strip_prefix('#').unwrap_or(v);
        v.len() == 6 && v.chars().all(|c| c.is_ascii_hexdigit())
    };
    let ok = match name {
        "color" | "onBackColor" | "offBackColor" | "onColor" | "offColor" | "backColor" => {
            hex(value)
        }
        "min" | "max" | "step" | "opacity" | "scale" | "rotation" => {
            value.parse::<f64>().is_ok_and(f64::is_finite)
        }
        "maximumFractionDigits" => value.parse::<u8>().is_ok_and(|d| d <= 10),
        "isOnPlay" | "isDisabled" | "isHidden" | "isMuted" | "loop" | "autoplay" => {
            value == "true" || value == "false"
        }
        "url" | "onImageUrl" | "offImageUrl" | "sound" => {
            value.starts_with("http://") || value.starts_with("https://")
        }
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("Invalid value '{value}' for property {name}"))
    }
}

impl Org {
    pub(crate) fn new(seed: Seed, import_limit: ImportLimit) -> Self {
        let devices = seed.devices.iter().map(|d| (d.id, d.clone())).collect();
        let datastreams = seed
            .products
            .iter()
            .flat_map(|p| p.datastreams.iter().map(|d| (d.id, (p.id, d.clone()))))
            .collect();
        let mut history: HashMap<(i32, i32), BTreeMap<i64, f64>> = HashMap::new();
        for h in &seed.history {
            history
                .entry((h.device_id, h.datastream_id))
                .or_default()
                .extend(h.points.iter().copied());
        }
        let mut values = HashMap::new();
        for ((device, ds), points) in &history {
            if let Some((ts, v)) = points.iter().next_back() {
                values.insert((*device, *ds), (json!(v), *ts));
            }
        }
        Self {
            seed,
            devices,
            datastreams,
            values,
            history,
            properties: HashMap::new(),
            issued: HashMap::new(),
            refresh: HashMap::new(),
            counter: 0,
            import_buckets: HashMap::new(),
            import_limit,
            clock_offset: Duration::ZERO,
        }
    }

    pub(crate) fn now(&self) -> SystemTime {
        SystemTime::now() + self.clock_offset
    }

    // -----------------------------------------------------------------------------------------
    // Authentication
    // -----------------------------------------------------------------------------------------

    /// The principal of a bearer token, or the 401 to answer.
    pub(crate) fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, Answer> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| Answer::error(401, "Missing bearer token"))?;
        if let Some(t) = self.seed.tokens.iter().find(|t| t.token == token) {
            return Ok(t.principal.clone());
        }
        match self.issued.get(token) {
            Some(t) if t.expires_at > self.now() => Ok(t.principal.clone()),
            Some(_) => Err(Answer::error(401, "Token expired")),
            None => Err(Answer::error(401, "Invalid token")),
        }
    }

    /// `POST /oauth2/token`: client credentials or refresh token, with HTTP Basic client auth.
    pub(crate) fn token(
        &mut self,
        client: Option<(String, String)>,
        grant: Option<&str>,
        refresh_token: Option<&str>,
    ) -> Answer {
        let oauth_error = |code: &str, description: &str| Answer {
            status: 400,
            body: Some(json!({"error": code, "error_description": description})),
            retry_after: None,
        };
        let Some((id, secret)) = client else {
            return oauth_error(
                "invalid_client",
                "HTTP Basic client authentication is required",
            );
        };
        let Some(known) = self
            .seed
            .clients
            .iter()
            .find(|c| c.client_id == id && c.client_secret == secret)
            .cloned()
        else {
            return oauth_error("invalid_client", "Unknown client or wrong secret");
        };
        match grant {
            Some("client_credentials") => {}
            Some("refresh_token") => {
                let Some(refresh) = refresh_token else {
                    return oauth_error("invalid_request", "refresh_token is required");
                };
                // A refresh token works once.
                match self.refresh.remove(refresh) {
                    Some(owner) if owner == id => {}
                    _ => {
                        return oauth_error(
                            "invalid_grant",
                            "Refresh token is invalid or already used",
                        );
                    }
                }
            }
            Some(_) => {
                return oauth_error(
                    "unsupported_grant_type",
                    "Use client_credentials or refresh_token",
                );
            }
            None => return oauth_error("invalid_request", "grant_type is required"),
        }
        self.counter += 1;
        let access = format!("sim-access-{}-{}", self.counter, fastrand::u64(..));
        let refresh = format!("sim-refresh-{}-{}", self.counter, fastrand::u64(..));
        let ttl = self.seed.token_ttl_secs;
        self.issued.insert(
            access.clone(),
            IssuedToken {
                principal: known.principal.clone(),
                expires_at: self.now() + Duration::from_secs(ttl),
            },
        );
        self.refresh.insert(refresh.clone(), id);
        Answer::ok(json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ttl,
            "refresh_token": refresh,
        }))
    }

    // -----------------------------------------------------------------------------------------
    // Permissions
    // -----------------------------------------------------------------------------------------

    fn may_view_any(p: &Principal) -> bool {
        p.has(Scope::OwnDevicesView) || p.has(Scope::OrgDevicesView)
    }

    fn visible(&self, p: &Principal, device: &Device) -> bool {
        p.user.is_none()
            || p.has(Scope::OrgDevicesView)
            || (p.has(Scope::OwnDevicesView) && device.owner.as_deref() == p.user.as_deref())
    }

    fn forbidden() -> Answer {
        Answer::bare(403)
    }

    /// The device if it exists and the principal may see it; 404 otherwise.
    fn device(&self, p: &Principal, id: i32) -> Result<&Device, Answer> {
        match self.devices.get(&id) {
            Some(d) if self.visible(p, d) => Ok(d),
            _ => Err(not_found(id)),
        }
    }

    fn datastream(&self, device: &Device, id: i32) -> Result<&Datastream, Answer> {
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

    fn datastreams_of(&self, product_id: i32) -> Vec<&Datastream> {
        self.seed
            .products
            .iter()
            .filter(|p| p.id == product_id)
            .flat_map(|p| p.datastreams.iter())
            .collect()
    }

    fn value_json(&self, device_id: i32, ds: &Datastream) -> Value {
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

    fn write(&mut self, device_id: i32, ds_id: i32, value: Value, ts: i64) {
        if let Some(n) = value.as_f64() {
            self.history
                .entry((device_id, ds_id))
                .or_default()
                .insert(ts, n);
        }
        self.values.insert((device_id, ds_id), (value, ts));
    }

    // -----------------------------------------------------------------------------------------
    // Operations
    // -----------------------------------------------------------------------------------------

    pub(crate) fn get_values(&self, p: &Principal, query: &Query) -> Result<Answer, Answer> {
        if !Self::may_view_any(p) {
            return Err(Self::forbidden());
        }
        let id: i32 = int_param(query, "deviceId", true)?.unwrap_or_default();
        let filter = int_list(query, "dataStreamIds")?;
        let device = self.device(p, id)?;
        let list: Vec<Value> = self
            .datastreams_of(device.product_id)
            .into_iter()
            .filter(|ds| filter.is_empty() || filter.contains(&ds.id))
            .map(|ds| self.value_json(id, ds))
            .collect();
        Ok(Answer::ok(json!({"dataStreams": list})))
    }

    pub(crate) fn get_batch(&self, p: &Principal, query: &Query) -> Result<Answer, Answer> {
        if !Self::may_view_any(p) {
            return Err(Self::forbidden());
        }
        let ids = int_list(query, "deviceIds")?;
        if ids.is_empty() {
            return Err(Answer::error(400, "deviceIds is required"));
        }
        if ids.len() > 10 {
            return Err(Answer::error(
                400,
                format!("Maximum of 10 devices per request, got {}", ids.len()),
            ));
        }
        let filter = int_list(query, "dataStreamIds")?;
        let list: Vec<Value> = ids
            .iter()
            .filter_map(|id| self.device(p, *id).ok())
            .map(|device| {
                let streams: Vec<Value> = self
                    .datastreams_of(device.product_id)
                    .into_iter()
                    .filter(|ds| filter.is_empty() || filter.contains(&ds.id))
                    .map(|ds| self.value_json(device.id, ds))
                    .collect();
                json!({"deviceId": device.id, "dataStreams": streams})
            })
            .collect();
        Ok(Answer::ok(Value::Array(list)))
    }

    pub(crate) fn get_history(&self, p: &Principal, query: &Query) -> Result<Answer, Answer> {
        if !Self::may_view_any(p) {
            return Err(Self::forbidden());
        }
        let device_id: i32 = int_param(query, "deviceId", true)?.unwrap_or_default();
        let ds_id: i32 = int_param(query, "dataStreamId", true)?.unwrap_or_default();
        let from: i64 = int_param(query, "from", true)?.unwrap_or_default();
        let to: i64 = int_param(query, "to", true)?.unwrap_or_default();
        let page: i64 = int_param(query, "page", false)?.unwrap_or(0);
        let size: i64 = int_param(query, "size", false)?.unwrap_or(50);
        if !(1..=1000).contains(&size) {
            return Err(Answer::error(
                400,
                format!("Page size must be between 1 and 1000, got {size}"),
            ));
        }
        if page < 0 {
            return Err(Answer::error(
                400,
                format!("Page must not be negative, got {page}"),
            ));
        }
        if from > to {
            return Err(Answer::error(400, "from must not be later than to"));
        }
        let device = self.device(p, device_id)?;
        self.datastream(device, ds_id)?;
        let empty = BTreeMap::new();
        let points = self.history.get(&(device_id, ds_id)).unwrap_or(&empty);
        let in_range = points.range(from..=to);
        let total = in_range.clone().count();
        let skip = usize::try_from(page.saturating_mul(size)).unwrap_or(usize::MAX);
        let content: Vec<Value> = in_range
            .skip(skip)
            .take(usize::try_from(size).unwrap_or(0))
            .map(|(ts, v)| json!({"value": v, "createdAt": ts}))
            .collect();
        Ok(Answer::ok(
            json!({"content": content, "totalElements": total}),
        ))
    }

    fn control(&self, p: &Principal) -> Result<(), Answer> {
        if p.has(Scope::OrgDevicesControl) && Self::may_view_any(p) {
            Ok(())
        } else {
            Err(Self::forbidden())
        }
    }

    pub(crate) fn update_one(&mut self, p: &Principal, body: &Value) -> Result<Answer, Answer> {
        self.control(p)?;
        let device_id = int_field(body, "deviceId")?;
        let ds_id = int_field(body, "dataStreamId")?;
        let value = body
            .get("value")
            .cloned()
            .ok_or_else(|| Answer::error(400, "value is required"))?;
        let device = self.device(p, device_id)?.clone();
        let ds = self.datastream(&device, ds_id)?.clone();
        check_value(&ds, &value).map_err(|m| Answer::error(400, m))?;
        let now = millis(self.now());
        self.write(device_id, ds_id, value, now);
        Ok(Answer::no_content())
    }

    pub(crate) fn update_many(&mut self, p: &Principal, body: &Value) -> Result<Answer, Answer> {
        self.control(p)?;
        let device_id = int_field(body, "deviceId")?;
        let values = body
            .get("values")
            .and_then(Value::as_object)
            .ok_or_else(|| Answer::error(400, "values must be an object"))?
            .clone();
        let device = self.device(p, device_id)?.clone();
        let now = millis(self.now());
        for (key, value) in values {
            // Invalid IDs and mismatched types are skipped silently, as documented.
            let Ok(ds_id) = key.parse::<i32>() else {
                continue;
            };
            let Ok(ds) = self.datastream(&device, ds_id).cloned() else {
                continue;
            };
            if check_value(&ds, &value).is_ok() {
                self.write(device_id, ds_id, value, now);
            }
        }
        Ok(Answer::no_content())
    }

    pub(crate) fn batch_update(&mut self, p: &Principal, body: &Value) -> Result<Answer, Answer> {
        self.control(p)?;
        let fields: Vec<String> = body
            .get("fields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|f| f.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .ok_or_else(|| Answer::error(400, "fields must be an array of strings"))?;
        if fields.len() < 2 || fields[0] != "deviceId" {
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
        if rows.is_empty() || rows.len() > 10_000 {
            return Err(Answer::error(
                400,
                format!("updates must hold 1 to 10000 rows, got {}", rows.len()),
            ));
        }
        let debug = body.get("debug").and_then(Value::as_bool).unwrap_or(false);

        // The product comes from the first valid device.
        let product_id = rows
            .iter()
            .filter(|r| r.as_array().is_some_and(|a| a.len() == fields.len()))
            .filter_map(|r| r.get(0).and_then(Value::as_i64))
            .filter_map(|id| i32::try_from(id).ok())
            .find_map(|id| self.device(p, id).ok().map(|d| d.product_id))
            .ok_or_else(|| Answer::error(400, "No valid device found to derive the product"))?;
        let mut columns = Vec::with_capacity(fields.len() - 1);
        for label in &fields[1..] {
            let ds = self
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

        let mut counters: BTreeMap<&str, u64> = BTreeMap::new();
        let mut reasons = Vec::new();
        let now = millis(self.now());
        for (index, row) in rows.iter().enumerate() {
            let skip = |kind: &'static str,
                        reason: String,
                        counters: &mut BTreeMap<&str, u64>,
                        reasons: &mut Vec<String>| {
                *counters.entry(kind).or_default() += 1;
                reasons.push(format!("Row {index}: {reason}"));
            };
            let Some(cells) = row.as_array().filter(|a| a.len() == fields.len()) else {
                skip(
                    "invalidRowSize",
                    "invalid row size".into(),
                    &mut counters,
                    &mut reasons,
                );
                continue;
            };
            let device_id = match &cells[0] {
                Value::Null => {
                    skip(
                        "nullDeviceId",
                        "device ID is null".into(),
                        &mut counters,
                        &mut reasons,
                    );
                    continue;
                }
                v => match v.as_i64().and_then(|n| i32::try_from(n).ok()) {
                    Some(id) => id,
                    None => {
                        skip(
                            "nonNumericDeviceId",
                            format!("device ID {v} is not numeric"),
                            &mut counters,
                            &mut reasons,
                        );
                        continue;
                    }
                },
            };
            let Some(device) = self.devices.get(&device_id).cloned() else {
                skip(
                    "deviceNotFound",
                    format!("device {device_id} not found"),
                    &mut counters,
                    &mut reasons,
                );
                continue;
            };
            if !self.visible(p, &device) {
                skip(
                    "noAccessToDevice",
                    format!("no access to device {device_id}"),
                    &mut counters,
                    &mut reasons,
                );
                continue;
            }
            if device.product_id != product_id {
                skip(
                    "wrongProduct",
                    format!("device {device_id} belongs to another product"),
                    &mut counters,
                    &mut reasons,
                );
                continue;
            }
            for (ds, cell) in columns.iter().zip(&cells[1..]) {
                if !cell.is_null() && check_value(ds, cell).is_ok() {
                    self.write(device_id, ds.id, cell.clone(), now);
                }
            }
        }
        if counters.is_empty() {
            return Ok(Answer::no_content());
        }
        let report = if debug {
            reasons.truncate(100);
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

    pub(crate) fn import(&mut self, p: &Principal, body: &Value) -> Result<Answer, Answer> {
        if !(p.has(Scope::OrgDeviceDataImport) && Self::may_view_any(p)) {
            return Err(Self::forbidden());
        }
        let device_id = int_field(body, "deviceId")?;
        let ds_id = int_field(body, "dataStreamId")?;
        let values = body
            .get("values")
            .and_then(Value::as_array)
            .ok_or_else(|| Answer::error(400, "values must be an array"))?;
        if values.is_empty() || values.len() > 10_000 {
            return Err(Answer::error(
                400,
                format!("values must hold 1 to 10000 points, got {}", values.len()),
            ));
        }
        let device = self.device(p, device_id)?.clone();
        let ds = self.datastream(&device, ds_id)?.clone();
        let mut points = Vec::with_capacity(values.len());
        for (i, point) in values.iter().enumerate() {
            let ts = point
                .get("ts")
                .and_then(Value::as_i64)
                .ok_or_else(|| Answer::error(400, format!("values[{i}].ts must be an integer")))?;
            let value = point
                .get("value")
                .cloned()
                .ok_or_else(|| Answer::error(400, format!("values[{i}].value is required")))?;
            points.push((ts, value));
        }
        if !self.take_import_token(device_id) {
            return Err(Answer {
                status: 429,
                body: None,
                retry_after: Some(1),
            });
        }
        let horizon = millis(self.now() + FUTURE_HORIZON);
        for (ts, value) in points {
            // More than a month ahead: silently skipped, as documented.
            if ts > horizon || check_value(&ds, &value).is_err() {
                continue;
            }
            if let Some(n) = value.as_f64() {
                self.history
                    .entry((device_id, ds_id))
                    .or_default()
                    .insert(ts, n);
            }
        }
        Ok(Answer::no_content())
    }

    fn take_import_token(&mut self, device_id: i32) -> bool {
        let now = self.now();
        let limit = self.import_limit;
        let (tokens, at) = self
            .import_buckets
            .entry(device_id)
            .or_insert((f64::from(limit.burst), now));
        let elapsed = now.duration_since(*at).unwrap_or_default().as_secs_f64();
        *tokens = (*tokens + elapsed * limit.per_second).min(f64::from(limit.burst));
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    pub(crate) fn property(&mut self, p: &Principal, body: &Value) -> Result<Answer, Answer> {
        self.control(p)?;
        let device_id = int_field(body, "deviceId")?;
        let ds_id = int_field(body, "dataStreamId")?;
        let name = body
            .get("property")
            .and_then(Value::as_str)
            .ok_or_else(|| Answer::error(400, "property is required"))?
            .to_string();
        const NAMES: [&str; 34] = [
            "label",
            "color",
            "onBackColor",
            "offBackColor",
            "onColor",
            "offColor",
            "onLabel",
            "offLabel",
            "labels",
            "min",
            "max",
            "isOnPlay",
            "url",
            "urls",
            "step",
            "valueFormatting",
            "suffix",
            "maximumFractionDigits",
            "opacity",
            "scale",
            "rotation",
            "sortType",
            "isDisabled",
            "isHidden",
            "icons",
            "onImageUrl",
            "offImageUrl",
            "page",
            "sound",
            "isMuted",
            "loop",
            "autoplay",
            "contentDesign",
            "backColor",
        ];
        if !NAMES.contains(&name.as_str()) {
            return Err(Answer::error(400, format!("Unknown property {name}")));
        }
        let value = body
            .get("value")
            .and_then(Value::as_str)
            .ok_or_else(|| Answer::error(400, "value must be a string"))?
            .to_string();
        let device = self.device(p, device_id)?.clone();
        self.datastream(&device, ds_id)?;
        check_property(&name, &value).map_err(|m| Answer::error(400, m))?;
        self.properties.insert((device_id, ds_id, name), value);
        Ok(Answer::no_content())
    }

    // -----------------------------------------------------------------------------------------
    // Inspection, for tests
    // -----------------------------------------------------------------------------------------

    pub(crate) fn current(&self, device_id: i32, ds_id: i32) -> Option<(Value, i64)> {
        self.values.get(&(device_id, ds_id)).cloned()
    }

    pub(crate) fn history_of(&self, device_id: i32, ds_id: i32) -> Vec<(i64, f64)> {
        self.history
            .get(&(device_id, ds_id))
            .map(|h| h.iter().map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default()
    }

    pub(crate) fn property_of(&self, device_id: i32, ds_id: i32, name: &str) -> Option<String> {
        self.properties
            .get(&(device_id, ds_id, name.to_string()))
            .cloned()
    }
}

fn int_field(body: &Value, name: &str) -> Result<i32, Answer> {
    body.get(name)
        .and_then(Value::as_i64)
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| Answer::error(400, format!("{name} must be an integer")))
}
