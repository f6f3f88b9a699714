//! The Blynk Platform API client that production code uses: one configured [`Blynk`] client with
//! regions, OAuth2 client credentials, retries, typed errors and validation, over the generated
//! [`blynk_api`] client.
//!
//! - **Configure once**: [`Blynk::builder`] takes the server ([`Region`] or URL), the credentials (a
//!   token, or OAuth2 client credentials renewed automatically, one renewal at a time), timeouts
//!   and a [`RetryConfig`]. The client is cheap to clone and `Send + Sync`.
//! - **Every operation** as a method in Rust types: [`Value`], [`Location`], [`Point`],
//!   `SystemTime` timestamps, [`Property`].
//! - **Checked input**: limits the API document states (10 devices, 10,000 rows or points, page
//!   size 1..=1000, 200-character properties) and values JSON cannot carry are refused with
//!   [`Error::InvalidInput`] before anything is sent.
//! - **Errors to match on**: [`Error`] names the operation, and [`Error::is_retryable`] says
//!   whether to try again later. Bulk operations keep what succeeded beside what failed
//!   ([`FleetValues::failed`], [`ImportManyReport::failed`], [`BatchUpdateSummary::failed`]);
//!   `into_complete()?` makes them all-or-nothing.
//! - **A bad day**: one [`Pacing`] limiter per client (adaptive rate after 429s, shared
//!   `Retry-After`, optional ceiling, retry budget), retries that cover the token endpoint, an
//!   [`Observer`] for metrics, and per-call overrides ([`Blynk::with_retry`],
//!   [`Blynk::with_timeout`]).
//! - **Spawnable**: every operation's future is `Send`; the client is `Clone + Send + Sync`.
//! - **Safe by default**: https off loopback, secrets redacted from `Debug`, never in URLs, and
//!   `Authorization` never follows a redirect to another host.
//!
//! # Modules
//!
//! - `client`: [`Blynk`], [`BlynkBuilder`], [`Region`]: where, who, how patient.
//! - `engine`: the one door every request goes through (token, retries, spans).
//! - `auth`: tokens and their renewal ([`Secret`]); `retry`: [`RetryConfig`], what to retry and
//!   how long to wait; `pacing`: [`Pacing`], the client-wide limiter and retry budget;
//!   `observe`: the [`Observer`] hook; [`clock`]: time as the client sees it
//!   ([`clock::ManualClock`] for tests).
//! - `ops`: one method per operation of the API; `model`: the Rust types they take and return.
//! - `bulk`: operations over any number of items, one file per feature (fleet reads, import,
//!   import-many, batch update, history, progress).
//! - [`validate`]: the per-item checks of the bulk writes, public so callers can run them first.
//! - `wire`: the one chunk encoder that cuts request bodies at the item and byte limits.
//! - `error`: [`Error`], [`AuthError`], [`BuildError`].
//!
//! # Example
//!
//! ```no_run
//! use blynk_api_ext::{Blynk, Region};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let blynk = Blynk::builder()
//!     .region(Region::Fra1)
//!     .client_credentials("client-id", "client-secret")
//!     .build()?;
//!
//! blynk.set_value(101, 1, 22.5).await?;
//! for device in blynk.batch_values(&[101, 102], None).await? {
//!     println!("{}: {} datastreams", device.device_id, device.datastreams.len());
//! }
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod auth;
mod bulk;
mod client;
pub mod clock;
mod engine;
mod error;
mod model;
mod observe;
mod ops;
mod pacing;
mod retry;
pub mod validate;
mod wire;

pub use auth::Secret;
pub use blynk_api as api;
pub use blynk_api::batch_update::BatchUpdateOutcome;
pub use blynk_api::limits;
pub use blynk_api::types::BatchUpdateReport;
pub use bulk::batch_update::{
    BatchUpdateError, BatchUpdateOptions, BatchUpdateSummary, FailedRows, SkipCounters, SkippedRow,
};
pub use bulk::fleet::{FailedDevices, FleetValues, ReadOptions};
pub use bulk::history::{HistoryRequest, HistoryStream};
pub use bulk::import::{
    DEFAULT_MAX_UNKNOWN_SENDS, DEFAULT_RECONCILE_DEADLINE, DEFAULT_RECONCILE_POLL, FuturePoints,
    ImportError, ImportOptions, ImportReport, UnresolvedPoint,
};
pub use bulk::import_many::{ImportJob, ImportManyReport, JobOutcome};
pub use bulk::progress::{Progress, ProgressFn};
pub use client::{
    Blynk, BlynkBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, Region, USER_AGENT,
};
pub use error::{AuthError, BuildError, Error, Result};
pub use model::{
    BatchUpdate, DatastreamValue, DeviceValues, HistoryPage, HistoryPoint, HistoryQuery, Location,
    Point, Value, from_millis, to_millis,
};
pub use observe::{Attempt, AttemptOutcome, Observer};
pub use ops::Property;
pub use pacing::{DEFAULT_RETRY_BUDGET, Pacing, RETRY_COST, RETRY_TIMEOUT_COST};
pub use retry::RetryConfig;

// The README's Rust examples compile as doc tests, so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;

/// Not public API: entry points for the benchmarks in `benches/`. May change without notice.
#[doc(hidden)]
pub mod internals {
    use crate::model::{Point, to_millis};
    use crate::wire;

    /// Encodes `points` into import bodies with the chunk encoder
    /// [`Blynk::import_history`](crate::Blynk::import_history) uses, calling `sink` with each
    /// body; returns the number of bodies. Points with no JSON form or too large for any body
    /// are left out (the import refuses them).
    pub fn encode_import_bodies(
        device_id: i32,
        datastream_id: i32,
        points: &[Point],
        mut sink: impl FnMut(Vec<u8>),
    ) -> usize {
        let mut encoder = wire::import_encoder(device_id, datastream_id, crate::MAX_REQUEST_BYTES);
        let mut bodies = 0;
        for p in points {
            if let wire::Pushed::Full { body, .. } =
                encoder.push_point(to_millis(p.at).unwrap_or_default(), &p.value)
            {
                sink(body);
                bodies += 1;
            }
        }
        if let Some((body, _)) = encoder.finish() {
            sink(body);
            bodies += 1;
        }
        bodies
    }
}
pub use wire::MAX_REQUEST_BYTES;

// This crate's README (its registry page) compiles as doc tests, so its examples stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeExamples;
