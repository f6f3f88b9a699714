//! Hand-written ergonomics over the generated [`blynk_api`] client.
//!
//! This crate is where the Blynk Platform API's limits become invisible: batch reads are split at
//! [`blynk_api::limits::MAX_DEVICES_PER_BATCH_READ`] devices, imports at
//! [`blynk_api::limits::MAX_POINTS_PER_IMPORT`] points, batch updates at
//! [`blynk_api::limits::MAX_ROWS_PER_BATCH_UPDATE`] rows, and history is a stream over all pages.
//! It also holds the one configured client (regions, OAuth2, retries, typed errors). Those parts are
//! being built; for now the crate re-exports the generated client.
//!
//! # Example
//!
//! ```
//! use blynk_api_ext::api;
//!
//! let client = api::Client::new("https://blynk.cloud", api::hooks::Hooks::none());
//! assert_eq!(api::limits::MAX_DEVICES_PER_BATCH_READ, 10);
//! # let _ = client;
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

/// The generated client this crate builds on.
pub use blynk_api as api;
