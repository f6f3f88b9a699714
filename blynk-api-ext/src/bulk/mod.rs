//! Bulk operations: the API's per-request limits made invisible, without losing or duplicating
//! anything. One file per feature, each with its options, its report, its error and its
//! `impl Blynk` block:
//!
//! - [`fleet`]: [`Blynk::values_for_devices`](crate::Blynk::values_for_devices), any number of
//!   devices read 10 per request, concurrently.
//! - [`import`]: [`Blynk::import_history`](crate::Blynk::import_history) and
//!   [`Blynk::import_stream`](crate::Blynk::import_stream), one datastream's history in chunks.
//! - [`import_many`]: [`Blynk::import_many`](crate::Blynk::import_many), many datastreams and
//!   devices at once.
//! - [`batch_update`]: [`Blynk::batch_update`](crate::Blynk::batch_update), any number of rows,
//!   chunked, reports merged.
//! - [`history`]: [`Blynk::history`](crate::Blynk::history), a lazy stream over all pages.
//! - [`progress`]: the [`Progress`](progress::Progress) callback all of them accept.
//!
//! Chunking is done by the one encoder of [`crate::wire`], which hands back each full body.

pub(crate) mod batch_update;
pub(crate) mod fleet;
pub(crate) mod history;
pub(crate) mod import;
pub(crate) mod import_many;
pub(crate) mod progress;
