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
//!   whether to try again later.
//! - **Safe by default**: https off loopback, secrets redacted from `Debug`, never in URLs, and
//!   `Authorization` never follows a redirect to another host.
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
#![warn(missing_docs)]
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
mod ops;
mod retry;
mod wire;

pub use auth::Secret;
pub use blynk_api as api;
pub use blynk_api::batch_update::BatchUpdateOutcome;
pub use blynk_api::limits;
pub use blynk_api::types::BatchUpdateReport;
pub use bulk::{
    BatchUpdateError, BatchUpdateSummary, FleetValues, FuturePoints, HistoryRequest, HistoryStream,
    ImportError, ImportJob, ImportOptions, ImportReport, Progress, ProgressFn, ReadOptions,
    SkipCounters, SkippedRow,
};
pub use client::{
    Blynk, BlynkBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, Region, USER_AGENT,
};
pub use error::{AuthError, BuildError, Error, Result};
pub use model::{
    BatchUpdate, DatastreamValue, DeviceValues, HistoryPage, HistoryPoint, HistoryQuery, Location,
    Point, Value, from_millis, to_millis,
};
pub use ops::Property;
pub use retry::RetryConfig;
pub use wire::MAX_REQUEST_BYTES;
