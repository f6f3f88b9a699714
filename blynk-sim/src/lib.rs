//! A local Blynk Platform API server with the documented semantics, in memory, for tests, demos and
//! offline development: the way moto and LocalStack stand in for AWS.
//!
//! - All eight DataStreams operations and `POST /oauth2/token` (client credentials and one-time
//!   refresh tokens; tokens expire).
//! - A seeded organisation ([`Seed::demo`] or your own, from JSON): products, datastreams with
//!   types and ranges, devices with owners, organisation and user-scoped credentials, history.
//! - The rules the API reference states: 10 devices per batch read, page sizes 1..=1000, type
//!   mismatches (400 for one value, skipped in multiple updates), batch-update reports (counters or
//!   debug reasons, 204 when every row applies, 400 when no device is valid), imports (10,000 points,
//!   points more than a month ahead skipped, a per-device rate limit answered with 429), property
//!   names and formats, `OWN_`/`ORG_` scopes, the 2 MB body limit, `ErrorResponse` bodies.
//! - Fault injection ([`Faults`]): latency, 429 (random share or token bucket, with or without
//!   `Retry-After`), 500s, dropped connections and truncated bodies; seeded, changeable at run time.
//! - A request log ([`BlynkSim::requests`]) of what was received and answered, in order.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let sim = blynk_sim::BlynkSim::start().await?; // demo organisation, 127.0.0.1, any free port
//! let body = reqwest::Client::new()
//!     .get(format!("{}/api/v2/organization/device/datastreams?deviceId=1", sim.base_url()))
//!     .bearer_auth(blynk_sim::DEMO_TOKEN)
//!     .send()
//!     .await
//!     .unwrap()
//!     .text()
//!     .await
//!     .unwrap();
//! assert!(body.contains("Temperature"));
//! assert_eq!(sim.requests().len(), 1);
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod faults;
mod seed;
mod server;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use faults::{Faults, RateLimit};
pub use seed::{
    Client, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TOKEN, DEMO_VIEWER_TOKEN, Datastream, Device,
    Principal, Product, Scope, Seed, SeedHistory, StaticToken, ValueType,
};
pub use server::LoggedRequest;
pub use state::{FUTURE_HORIZON, ImportLimit, MAX_BODY_BYTES};

use server::{Shared, lock};

/// A running simulator. It stops when dropped.
pub struct BlynkSim {
    base_url: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for BlynkSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlynkSim")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Configures a [`BlynkSim`].
///
/// ```
/// use blynk_sim::{BlynkSim, Faults, ImportLimit, Seed};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let sim = BlynkSim::builder()
///     .seed(Seed::demo())
///     .faults(Faults { latency_ms: 5, ..Faults::default() })
///     .import_limit(ImportLimit { burst: 5, per_second: 1.0 })
///     .start()
///     .await?;
/// assert!(sim.base_url().starts_with("http://127.0.0.1:"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SimBuilder {
    seed: Seed,
    faults: Faults,
    import_limit: ImportLimit,
    addr: SocketAddr,
}

impl Default for SimBuilder {
    fn default() -> Self {
        Self {
            seed: Seed::demo(),
            faults: Faults::default(),
            import_limit: ImportLimit::default(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

impl SimBuilder {
    /// The organisation to start with (default [`Seed::demo`]).
    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = seed;
        self
    }

    /// Faults to inject from the start (default none).
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// The per-device import rate limit (default 20 at once, 10 a second).
    pub fn import_limit(mut self, limit: ImportLimit) -> Self {
        self.import_limit = limit;
        self
    }

    /// Listen on this port of 127.0.0.1 (default 0: a port the OS assigns).
    pub fn port(mut self, port: u16) -> Self {
        self.addr = SocketAddr::from(([127, 0, 0, 1], port));
        self
    }

    /// Listen on this address (loopback is the safe choice).
    pub fn address(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Binds and starts serving in the background of the current tokio runtime.
    pub async fn start(self) -> std::io::Result<BlynkSim> {
        let shared = Arc::new(Shared {
            org: Mutex::new(state::Org::new(self.seed, self.import_limit)),
            faults: Mutex::new(faults::FaultState::new(self.faults)),
            log: Mutex::default(),
        });
        let app = axum::Router::new()
            .fallback(server::handle)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(self.addr).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(BlynkSim {
            base_url: format!("http://{addr}"),
            addr,
            shared,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

impl BlynkSim {
    /// Starts the demo organisation on 127.0.0.1, on a port the OS assigns.
    pub async fn start() -> std::io::Result<Self> {
        SimBuilder::default().start().await
    }

    /// A builder.
    pub fn builder() -> SimBuilder {
        SimBuilder::default()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.shared.log).clone()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// Replaces the faults (and restarts their random sequence from their seed).
    /// Over HTTP: `PUT /__sim/faults` with the same JSON.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.faults) = faults::FaultState::new(faults);
    }

    /// Moves the simulator's clock forward (token expiry, the future-point horizon, rate limits).
    pub fn advance_clock(&self, by: Duration) {
        lock(&self.shared.org).clock_offset += by;
    }

    /// The current value of a datastream, as JSON.
    pub fn value(&self, device_id: i32, datastream_id: i32) -> Option<serde_json::Value> {
        lock(&self.shared.org)
            .current(device_id, datastream_id)
            .map(|(v, _)| v)
    }

    /// The history of a datastream: `(ts, value)` in time order.
    pub fn history(&self, device_id: i32, datastream_id: i32) -> Vec<(i64, f64)> {
        lock(&self.shared.org).history_of(device_id, datastream_id)
    }

    /// A widget property set through the API.
    pub fn property(&self, device_id: i32, datastream_id: i32, name: &str) -> Option<String> {
        lock(&self.shared.org).property_of(device_id, datastream_id, name)
    }

    /// Serves until the task ends (for the binary).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for BlynkSim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
