//! A local Blynk Platform API server with the documented semantics, in memory, for tests, demos and
//! offline development: the way moto and LocalStack stand in for AWS.
//!
//! # Modules
//!
//! | module | what it is for |
//! |---|---|
//! | `sim` | [`SimBuilder`] and the running [`BlynkSim`]: start, inspect, change, reset |
//! | `server` | the HTTP layer: routing by `blynk_api::operations`, the order of checks, encoding |
//! | `admin` | the `/__sim/...` endpoints ([`ENDPOINTS`]) |
//! | `auth` | `/oauth2/token`, bearer tokens, scopes and permissions |
//! | `ops` | the rules of each operation, one file per operation family |
//! | `org` | the organisation's state and the lookups the operations share |
//! | `history` | a datastream's history: stored points over an optional generated series |
//! | `query` | query strings and form bodies (on `form_urlencoded`) |
//! | `clock` | the simulator's clock and the one token bucket on it |
//! | [`faults`] | global faults: shares of requests, seeded |
//! | [`rules`] | fault rules per operation, device and call: scripted or probabilistic, seeded |
//! | `counters` | in-flight and per-operation counts |
//! | `log` | the request log: a ring buffer with body summaries |
//! | `validate` | every exchange checked against the embedded OpenAPI document |
//! | `seed`, `seed_builder`, `snapshot` | the starting organisation, its builder, and the state written back as a seed |
//! | `answer` | what an operation answers, free of HTTP |
//!
//! # What it simulates
//!
//! - All eight DataStreams operations and `POST /oauth2/token` (client credentials and one-time
//!   refresh tokens; tokens expire). Paths, operation ids, limits and property names come from
//!   `blynk_api::operations` and `blynk_api::limits`, so the simulator follows the document.
//! - A seeded organisation ([`Seed::demo`], [`Seed::builder`], or JSON): products, datastreams with
//!   types and ranges, devices with owners, organisation and user-scoped credentials, history
//!   (stored or generated on read).
//! - The rules the API reference states: devices per batch read, page sizes, type mismatches,
//!   batch-update reports, imports (points per request, points more than a month ahead skipped,
//!   a per-device rate limit answered with 429, visibility after a configurable delay), property
//!   names and formats, `OWN_`/`ORG_` scopes, the 2 MB body limit, `ErrorResponse` bodies.
//!
//! # What it offers tests
//!
//! - Fault rules ([`rules::FaultRule`]): per operation, device and nth call, scripted or
//!   probabilistic: a status with `Retry-After`, a delay, a drop before processing, **apply then
//!   drop**, a truncated body. Global faults ([`Faults`]) as shares of all requests.
//! - Counters: [`BlynkSim::in_flight`], [`BlynkSim::max_in_flight`], [`BlynkSim::calls`].
//! - A bounded request log ([`BlynkSim::requests`]), validation of every exchange against the
//!   document ([`BlynkSim::violations`], [`SimBuilder::strict`]), `Prefer: code=429` to pick a
//!   documented answer, [`BlynkSim::reset`] and [`BlynkSim::state`].
//! - A clock tests move ([`BlynkSim::advance_clock`]) instead of sleeping.
//! - [`BlynkSim`] and [`SimBuilder`] are `Send + Sync`.
//!
//! # Example
//!
//! ```
//! use blynk_sim::rules::{Action, FaultRule};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let sim = blynk_sim::BlynkSim::builder()
//!     .rule(FaultRule::operation("getDeviceDataStreamsV2").nth(2).then(Action::too_many_requests(Some(1))))
//!     .start()
//!     .await?;
//! let client = reqwest::Client::new();
//! let url = format!("{}/api/v2/organization/device/datastreams?deviceId=1", sim.base_url());
//! let first = client.get(&url).bearer_auth(blynk_sim::DEMO_TOKEN).send().await.unwrap();
//! let second = client.get(&url).bearer_auth(blynk_sim::DEMO_TOKEN).send().await.unwrap();
//! assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 429));
//! assert_eq!(sim.calls("getDeviceDataStreamsV2"), 2);
//! assert!(sim.violations().is_empty());
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod admin;
mod answer;
mod auth;
mod clock;
mod counters;
pub mod faults;
mod history;
mod log;
mod ops;
mod org;
mod query;
pub mod rules;
mod seed;
mod seed_builder;
mod server;
mod sim;
mod snapshot;
mod validate;

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub use admin::ENDPOINTS;
pub use auth::TOKEN_OPERATION;
pub use counters::Counters;
pub use faults::{FaultError, Faults, RateLimit};
pub use log::{
    BodySummary, DEFAULT_LOG_BODY_LIMIT, DEFAULT_LOG_CAPACITY, LOG_BODY_BUDGET, LoggedRequest,
};
pub use org::ImportLimit;
pub use seed::{
    Client, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TOKEN, DEMO_VIEWER_TOKEN, Datastream, Device,
    HistoryGenerator, MAX_TOKEN_TTL_SECS, Principal, Product, Scope, Seed, SeedError, SeedHistory,
    SeedProperty, SeedValue, StaticToken, ValueType,
};
pub use seed_builder::SeedBuilder;
pub use sim::{BlynkSim, SimBuilder};
pub use validate::{MAX_KEPT_VIOLATIONS, Violation};

/// Points more than this far ahead are silently skipped by imports (the documented "1 month",
/// `blynk_api::operations::IMPORT_FUTURE_WINDOW_SECS`).
pub const FUTURE_HORIZON: Duration =
    Duration::from_secs(blynk_api::operations::IMPORT_FUTURE_WINDOW_SECS);
/// Largest request body accepted (`blynk_api::operations::MAX_REQUEST_BYTES`).
pub const MAX_BODY_BYTES: usize = blynk_api::operations::MAX_REQUEST_BYTES;

/// Locks, going on with the data if another thread panicked while holding it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// This crate's README (its registry page) compiles as doc tests, so its examples stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeExamples;
