//! The organisation the simulator starts with: products and their datastreams, devices, credentials,
//! current values, properties and history (stored points or a [`HistoryGenerator`]).
//! [`Seed::demo`] is built in; [`Seed::from_json`] reads one from a file (and `GET /__sim/state`
//! writes one); [`Seed::builder`](crate::SeedBuilder) makes one in a test.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// A seed that cannot load, with what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SeedError {
    /// Not JSON of the seed's shape.
    #[error("the seed is not valid JSON of the expected shape: {0}")]
    Json(String),
    /// Two entries with one id.
    #[error("two {0}s have the id {1}")]
    Duplicate(&'static str, i32),
    /// A reference to something the seed lacks.
    #[error("unknown {what} {id}, referred to by {by}")]
    Unknown {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: i32,
        /// Who refers to it.
        by: String,
    },
    /// A history generator that cannot generate.
    #[error("history generator: {0}")]
    Generator(String),
    /// A token lifetime longer than [`MAX_TOKEN_TTL_SECS`].
    #[error("token_ttl_secs must be at most {MAX_TOKEN_TTL_SECS} (100 years), got {0}")]
    TokenTtl(u64),
}

/// The longest access-token lifetime a seed may give: 100 years (an expiry beyond what a clock
/// can hold would overflow).
pub const MAX_TOKEN_TTL_SECS: u64 = 100 * 365 * 24 * 3600;

/// The type of a datastream's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    /// Numbers (double, integer or enum datastreams).
    Number,
    /// Strings.
    String,
    /// `[lon, lat]` locations.
    Location,
}

/// A datastream of a product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Datastream {
    /// Datastream ID, unique within the organisation.
    pub id: i32,
    /// Pin, e.g. `V1`.
    pub pin: String,
    /// Label, e.g. `Temperature` (batch updates address datastreams by label).
    pub label: String,
    /// Alias.
    pub alias: String,
    /// Type of its values.
    #[serde(rename = "type")]
    pub value_type: ValueType,
    /// Smallest number accepted (numbers only).
    #[serde(default)]
    pub min: Option<f64>,
    /// Largest number accepted (numbers only).
    #[serde(default)]
    pub max: Option<f64>,
}

/// A product: a template of datastreams.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// Product ID.
    pub id: i32,
    /// Name.
    pub name: String,
    /// Its datastreams.
    pub datastreams: Vec<Datastream>,
}

/// A device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// Device ID.
    pub id: i32,
    /// The product it belongs to.
    pub product_id: i32,
    /// Name.
    pub name: String,
    /// The user owning it, if any (user-scoped tokens see owned devices).
    #[serde(default)]
    pub owner: Option<String>,
}

/// A permission of a user-scoped token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Scope {
    /// Read owned devices.
    OwnDevicesView,
    /// Read every device of the organisation.
    OrgDevicesView,
    /// Write datastreams and properties.
    OrgDevicesControl,
    /// Import history.
    OrgDeviceDataImport,
}

/// Who a credential acts as: the organisation (every permission), or a user with scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    /// The user, for user-scoped credentials; `None` for organisation credentials.
    #[serde(default)]
    pub user: Option<String>,
    /// The user's permissions (ignored for organisation credentials).
    #[serde(default)]
    pub scopes: Vec<Scope>,
}

impl Principal {
    /// Organisation-level: every permission, every device.
    pub fn organisation() -> Self {
        Self {
            user: None,
            scopes: Vec::new(),
        }
    }

    /// A user with these scopes.
    pub fn user(name: impl Into<String>, scopes: impl Into<Vec<Scope>>) -> Self {
        Self {
            user: Some(name.into()),
            scopes: scopes.into(),
        }
    }

    /// Whether this principal holds `scope`.
    pub fn has(&self, scope: Scope) -> bool {
        self.user.is_none() || self.scopes.contains(&scope)
    }
}

/// OAuth2 client credentials accepted at `/oauth2/token`. In seed JSON: `client_id`,
/// `client_secret`, and for a user-scoped client `user` and `scopes`; any other key is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ClientFields")]
pub struct Client {
    /// Client ID.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Who its tokens act as.
    #[serde(flatten)]
    pub principal: Principal,
}

/// A bearer token that never expires. In seed JSON: `token`, and for a user-scoped token `user`
/// and `scopes`; any other key is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StaticTokenFields")]
pub struct StaticToken {
    /// The token.
    pub token: String,
    /// Who it acts as.
    #[serde(flatten)]
    pub principal: Principal,
}

/// The JSON shape of a [`Client`]: its principal's fields inline, every key known. (Serde's
/// `flatten`, which the serialised form uses, cannot refuse unknown keys, so a misspelt `scopes`
/// would silently give a user no permissions.)
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFields {
    client_id: String,
    client_secret: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    scopes: Vec<Scope>,
}

impl From<ClientFields> for Client {
    fn from(f: ClientFields) -> Self {
        Self {
            client_id: f.client_id,
            client_secret: f.client_secret,
            principal: Principal {
                user: f.user,
                scopes: f.scopes,
            },
        }
    }
}

/// The JSON shape of a [`StaticToken`], as [`ClientFields`] is of a [`Client`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StaticTokenFields {
    token: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    scopes: Vec<Scope>,
}

impl From<StaticTokenFields> for StaticToken {
    fn from(f: StaticTokenFields) -> Self {
        Self {
            token: f.token,
            principal: Principal {
                user: f.user,
                scopes: f.scopes,
            },
        }
    }
}

/// A history computed on read instead of stored: point `i` (from 0) is at
/// `start_ms + i * step_ms` with value `first_value + i * value_step`, for `i < count`.
///
/// ```
/// use blynk_sim::HistoryGenerator;
///
/// // A million points, one a second, value i: a few bytes of memory.
/// let g = HistoryGenerator::counting(1_700_000_000_000, 1000, 1_000_000);
/// assert_eq!((g.first_value, g.value_step), (0.0, 1.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryGenerator {
    /// Timestamp of point 0, epoch milliseconds.
    pub start_ms: i64,
    /// Milliseconds between points (at least 1).
    pub step_ms: i64,
    /// Number of points.
    pub count: u64,
    /// Value of point 0.
    #[serde(default)]
    pub first_value: f64,
    /// Added to the value per point.
    #[serde(default)]
    pub value_step: f64,
}

impl HistoryGenerator {
    /// `count` points from `start_ms`, `step_ms` apart, point `i` having value `i`.
    pub fn counting(start_ms: i64, step_ms: i64, count: u64) -> Self {
        Self {
            start_ms,
            step_ms,
            count,
            first_value: 0.0,
            value_step: 1.0,
        }
    }
}

/// Points of history to start with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedHistory {
    /// Device.
    pub device_id: i32,
    /// Datastream.
    pub datastream_id: i32,
    /// `(ts, value)` pairs, epoch milliseconds.
    #[serde(default)]
    pub points: Vec<(i64, f64)>,
    /// Points computed on read; a stored point at the same timestamp replaces a generated one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<HistoryGenerator>,
}

/// A current value to start with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedValue {
    /// Device.
    pub device_id: i32,
    /// Datastream.
    pub datastream_id: i32,
    /// The value (a number, a string or `[lon, lat]`).
    pub value: serde_json::Value,
    /// When it was set, epoch milliseconds.
    pub updated_at: i64,
}

/// A widget property to start with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedProperty {
    /// Device.
    pub device_id: i32,
    /// Datastream.
    pub datastream_id: i32,
    /// Property name (`label`, `color`, ...).
    pub property: String,
    /// Its value.
    pub value: String,
}

/// The whole organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// Products.
    pub products: Vec<Product>,
    /// Devices.
    pub devices: Vec<Device>,
    /// OAuth2 clients.
    #[serde(default)]
    pub clients: Vec<Client>,
    /// Static tokens.
    #[serde(default)]
    pub tokens: Vec<StaticToken>,
    /// History.
    #[serde(default)]
    pub history: Vec<SeedHistory>,
    /// Current values. When absent, the last point of each history is current; when given, it is
    /// the complete list (as `GET /__sim/state` writes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<SeedValue>>,
    /// Widget properties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<SeedProperty>,
    /// Lifetime of issued access tokens, in seconds.
    #[serde(default = "default_token_ttl")]
    pub token_ttl_secs: u64,
}

pub(crate) fn default_token_ttl() -> u64 {
    3600
}

/// The demo organisation's OAuth2 client ID.
pub const DEMO_CLIENT_ID: &str = "demo-client";
/// The demo organisation's OAuth2 client secret.
pub const DEMO_CLIENT_SECRET: &str = "demo-secret";
/// A static organisation token of the demo seed.
pub const DEMO_TOKEN: &str = "demo-token";
/// A static token of user `alice` with `OWN_DEVICES_VIEW` only (she owns devices 1 to 5).
pub const DEMO_VIEWER_TOKEN: &str = "demo-viewer-token";

fn datastream(
    id: i32,
    pin: &str,
    label: &str,
    value_type: ValueType,
    min: Option<f64>,
    max: Option<f64>,
) -> Datastream {
    Datastream {
        id,
        pin: pin.to_string(),
        label: label.to_string(),
        alias: label.to_lowercase(),
        value_type,
        min,
        max,
    }
}

impl Seed {
    /// The built-in demo organisation:
    /// - product 1 "Thermostat": Temperature (1, V1, number -40..=85), Humidity (2, V2, number
    ///   0..=100), Mode (3, V3, string), Location (4, V4, location); devices 1 to 40, devices 1 to 5
    ///   owned by `alice`;
    /// - product 2 "Tracker": Speed (10, V1, number 0..=300), Position (11, V2, location); devices
    ///   101 to 105;
    /// - credentials [`DEMO_CLIENT_ID`]/[`DEMO_CLIENT_SECRET`], [`DEMO_TOKEN`] (organisation) and
    ///   [`DEMO_VIEWER_TOKEN`] (alice, `OWN_DEVICES_VIEW`);
    /// - 1,440 points of Temperature history for device 1, one a minute, from 2024-01-01.
    pub fn demo() -> Self {
        let thermostat = Product {
            id: 1,
            name: "Thermostat".into(),
            datastreams: vec![
                datastream(
                    1,
                    "V1",
                    "Temperature",
                    ValueType::Number,
                    Some(-40.0),
                    Some(85.0),
                ),
                datastream(
                    2,
                    "V2",
                    "Humidity",
                    ValueType::Number,
                    Some(0.0),
                    Some(100.0),
                ),
                datastream(3, "V3", "Mode", ValueType::String, None, None),
                datastream(4, "V4", "Location", ValueType::Location, None, None),
            ],
        };
        let tracker = Product {
            id: 2,
            name: "Tracker".into(),
            datastreams: vec![
                datastream(10, "V1", "Speed", ValueType::Number, Some(0.0), Some(300.0)),
                datastream(11, "V2", "Position", ValueType::Location, None, None),
            ],
        };
        let mut devices: Vec<Device> = (1..=40)
            .map(|id| Device {
                id,
                product_id: 1,
                name: format!("Thermostat {id}"),
                owner: (id <= 5).then(|| "alice".to_string()),
            })
            .collect();
        devices.extend((101..=105).map(|id| Device {
            id,
            product_id: 2,
            name: format!("Tracker {id}"),
            owner: None,
        }));
        let start = 1_704_067_200_000i64; // 2024-01-01T00:00:00Z
        let points = (0..1440)
            .map(|i| {
                (
                    start + i * 60_000,
                    20.0 + ((i % 120) as f64 - 60.0).abs() / 10.0,
                )
            })
            .collect();
        Seed {
            products: vec![thermostat, tracker],
            devices,
            clients: vec![Client {
                client_id: DEMO_CLIENT_ID.into(),
                client_secret: DEMO_CLIENT_SECRET.into(),
                principal: Principal::organisation(),
            }],
            tokens: vec![
                StaticToken {
                    token: DEMO_TOKEN.into(),
                    principal: Principal::organisation(),
                },
                StaticToken {
                    token: DEMO_VIEWER_TOKEN.into(),
                    principal: Principal::user("alice", [Scope::OwnDevicesView]),
                },
            ],
            history: vec![SeedHistory {
                device_id: 1,
                datastream_id: 1,
                points,
                generated: None,
            }],
            values: None,
            properties: Vec::new(),
            token_ttl_secs: default_token_ttl(),
        }
    }

    /// Reads a seed from JSON (the shape of [`Seed`]'s serde form) and checks it with
    /// [`Seed::check`].
    pub fn from_json(text: &str) -> Result<Self, SeedError> {
        let seed: Seed = serde_json::from_str(text).map_err(|e| SeedError::Json(e.to_string()))?;
        seed.check()?;
        Ok(seed)
    }

    /// Checks that every reference resolves: unique product, datastream and device ids, devices
    /// of known products, values, properties and history of known devices and their products'
    /// datastreams, generators with a step of at least 1 ms.
    pub fn check(&self) -> Result<(), SeedError> {
        if self.token_ttl_secs > MAX_TOKEN_TTL_SECS {
            return Err(SeedError::TokenTtl(self.token_ttl_secs));
        }
        let mut products = HashSet::new();
        let mut datastreams = HashMap::new();
        for p in &self.products {
            if !products.insert(p.id) {
                return Err(SeedError::Duplicate("product", p.id));
            }
            for ds in &p.datastreams {
                if datastreams.insert(ds.id, p.id).is_some() {
                    return Err(SeedError::Duplicate("datastream", ds.id));
                }
            }
        }
        let mut devices = HashMap::new();
        for d in &self.devices {
            if !products.contains(&d.product_id) {
                return Err(SeedError::Unknown {
                    what: "product",
                    id: d.product_id,
                    by: format!("device {}", d.id),
                });
            }
            if devices.insert(d.id, d.product_id).is_some() {
                return Err(SeedError::Duplicate("device", d.id));
            }
        }
        let refs = self
            .history
            .iter()
            .map(|h| (h.device_id, h.datastream_id, "history"))
            .chain(
                self.values
                    .iter()
                    .flatten()
                    .map(|v| (v.device_id, v.datastream_id, "value")),
            )
            .chain(
                self.properties
                    .iter()
                    .map(|p| (p.device_id, p.datastream_id, "property")),
            );
        for (device, ds, what) in refs {
            let by = format!("a {what} of device {device}, datastream {ds}");
            let product = devices.get(&device).ok_or_else(|| SeedError::Unknown {
                what: "device",
                id: device,
                by: by.clone(),
            })?;
            if datastreams.get(&ds) != Some(product) {
                return Err(SeedError::Unknown {
                    what: "datastream of the device's product",
                    id: ds,
                    by,
                });
            }
        }
        for h in &self.history {
            if let Some(g) = h.generated
                && g.step_ms < 1
            {
                return Err(SeedError::Generator(format!(
                    "step_ms must be at least 1, got {} (device {}, datastream {})",
                    g.step_ms, h.device_id, h.datastream_id
                )));
            }
        }
        Ok(())
    }
}
