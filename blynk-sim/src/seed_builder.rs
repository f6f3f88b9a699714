//! [`SeedBuilder`]: an organisation for a test in a few lines — products with datastreams, N
//! devices, history from a generator, organisation or user-scoped tokens with scopes — checked
//! when built.

use std::time::Duration;

use serde_json::Value;

use crate::seed::{
    Client, Datastream, Device, HistoryGenerator, Principal, Product, Seed, SeedError, SeedHistory,
    SeedValue, StaticToken, ValueType, default_token_ttl,
};

impl Datastream {
    fn of(id: i32, pin: &str, label: &str, value_type: ValueType) -> Self {
        Self {
            id,
            pin: pin.to_string(),
            label: label.to_string(),
            alias: label.to_lowercase(),
            value_type,
            min: None,
            max: None,
        }
    }

    /// A number datastream, without a range.
    pub fn number(id: i32, pin: &str, label: &str) -> Self {
        Self::of(id, pin, label, ValueType::Number)
    }

    /// A string datastream.
    pub fn string(id: i32, pin: &str, label: &str) -> Self {
        Self::of(id, pin, label, ValueType::String)
    }

    /// A location (`[lon, lat]`) datastream.
    pub fn location(id: i32, pin: &str, label: &str) -> Self {
        Self::of(id, pin, label, ValueType::Location)
    }

    /// Numbers outside `min..=max` are refused.
    pub fn range(mut self, min: f64, max: f64) -> Self {
        self.min = Some(min);
        self.max = Some(max);
        self
    }
}

/// Builds a [`Seed`]. Start from [`Seed::builder`] (empty) or [`SeedBuilder::from`] a seed.
///
/// ```
/// use blynk_sim::{BlynkSim, Datastream, HistoryGenerator, Principal, Scope, Seed};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let seed = Seed::builder()
///     .product(7, "Meter", [Datastream::number(70, "V0", "Power").range(0.0, 10_000.0)])
///     .devices(7, 1..=100)
///     .history(1, 70, HistoryGenerator::counting(1_700_000_000_000, 1000, 50_000))
///     .token("org-token", Principal::organisation())
///     .token("viewer", Principal::user("bob", [Scope::OrgDevicesView]))
///     .build()?;
/// let sim = BlynkSim::builder().seed(seed).start().await?;
/// assert_eq!(sim.history(1, 70).len(), 50_000);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SeedBuilder {
    seed: Seed,
}

impl From<Seed> for SeedBuilder {
    fn from(seed: Seed) -> Self {
        Self { seed }
    }
}

impl Seed {
    /// An organisation with nothing in it.
    pub fn empty() -> Self {
        Seed {
            products: Vec::new(),
            devices: Vec::new(),
            clients: Vec::new(),
            tokens: Vec::new(),
            history: Vec::new(),
            values: None,
            properties: Vec::new(),
            token_ttl_secs: default_token_ttl(),
        }
    }

    /// A builder starting from an empty organisation.
    pub fn builder() -> SeedBuilder {
        SeedBuilder::from(Seed::empty())
    }
}

impl SeedBuilder {
    /// A product with its datastreams (datastream ids are unique across the organisation).
    pub fn product(
        mut self,
        id: i32,
        name: &str,
        datastreams: impl IntoIterator<Item = Datastream>,
    ) -> Self {
        self.seed.products.push(Product {
            id,
            name: name.to_string(),
            datastreams: datastreams.into_iter().collect(),
        });
        self
    }

    /// Devices of a product with these ids, named `"<product name> <id>"`.
    pub fn devices(mut self, product_id: i32, ids: impl IntoIterator<Item = i32>) -> Self {
        let name = self
            .seed
            .products
            .iter()
            .find(|p| p.id == product_id)
            .map_or_else(|| "Device".to_string(), |p| p.name.clone());
        self.seed.devices.extend(ids.into_iter().map(|id| Device {
            id,
            product_id,
            name: format!("{name} {id}"),
            owner: None,
        }));
        self
    }

    /// One device, as given.
    pub fn device(mut self, device: Device) -> Self {
        self.seed.devices.push(device);
        self
    }

    /// Makes `user` the owner of these devices (user tokens with `OWN_DEVICES_VIEW` see them).
    pub fn owner(mut self, user: &str, ids: impl IntoIterator<Item = i32>) -> Self {
        let ids: Vec<i32> = ids.into_iter().collect();
        for d in self.seed.devices.iter_mut().filter(|d| ids.contains(&d.id)) {
            d.owner = Some(user.to_string());
        }
        self
    }

    /// A generated history for a datastream of a device (computed on read, not stored).
    pub fn history(
        mut self,
        device_id: i32,
        datastream_id: i32,
        generator: HistoryGenerator,
    ) -> Self {
        self.seed.history.push(SeedHistory {
            device_id,
            datastream_id,
            points: Vec::new(),
            generated: Some(generator),
        });
        self
    }

    /// Stored history points `(ts, value)` for a datastream of a device.
    pub fn points(
        mut self,
        device_id: i32,
        datastream_id: i32,
        points: impl IntoIterator<Item = (i64, f64)>,
    ) -> Self {
        self.seed.history.push(SeedHistory {
            device_id,
            datastream_id,
            points: points.into_iter().collect(),
            generated: None,
        });
        self
    }

    /// A current value, set at `updated_at` (epoch milliseconds). Once one is given, the list of
    /// values is complete: histories no longer make their last point current.
    pub fn value(
        mut self,
        device_id: i32,
        datastream_id: i32,
        value: Value,
        updated_at: i64,
    ) -> Self {
        self.seed
            .values
            .get_or_insert_with(Vec::new)
            .push(SeedValue {
                device_id,
                datastream_id,
                value,
                updated_at,
            });
        self
    }

    /// A static bearer token acting as `principal`.
    pub fn token(mut self, token: &str, principal: Principal) -> Self {
        self.seed.tokens.push(StaticToken {
            token: token.to_string(),
            principal,
        });
        self
    }

    /// OAuth2 client credentials whose tokens act as `principal`.
    pub fn client(mut self, client_id: &str, client_secret: &str, principal: Principal) -> Self {
        self.seed.clients.push(Client {
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            principal,
        });
        self
    }

    /// Lifetime of access tokens issued at `/oauth2/token` (whole seconds).
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.seed.token_ttl_secs = ttl.as_secs();
        self
    }

    /// The seed, checked with [`Seed::check`].
    pub fn build(self) -> Result<Seed, SeedError> {
        self.seed.check()?;
        Ok(self.seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_to_a_missing_datastream_is_refused_naming_it() {
        let err = Seed::builder()
            .product(1, "P", [Datastream::number(10, "V0", "A")])
            .devices(1, 1..=3)
            .history(2, 99, HistoryGenerator::counting(0, 1000, 10))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("99"), "{err}");
        let err = Seed::builder().devices(5, [1]).build().unwrap_err();
        assert!(err.to_string().contains("product 5"), "{err}");
    }

    #[test]
    fn the_demo_seed_passes_its_own_check() {
        Seed::demo().check().unwrap();
    }
}
