//! Typed async client for the DataStreams operations of the Blynk Platform HTTPS API.
//!
//! Everything in this crate except [`hooks`], [`batch_update`] and the types of [`operations`] is generated at build time by
//! [progenitor](https://github.com/oxidecomputer/progenitor) from `openapi/blynk-platform.json`, the
//! merged OpenAPI document of the workspace. Each operation is a builder on [`Client`]:
//!
//! | operation | method |
//! |---|---|
//! | read one device's values | [`Client::get_device_data_streams_v2`] |
//! | read up to 10 devices' values | [`Client::get_batch_device_data_streams`] |
//! | page through history | [`Client::get_device_data_stream_history`] |
//! | write one value | [`Client::update_device_data_stream`] |
//! | write several values of one device | [`Client::update_multiple_device_data_streams`] |
//! | batch-update rows across devices | [`Client::batch_update_device_data_streams`] |
//! | import historical points | [`Client::import_device_batch_data`] |
//! | update a widget property | [`Client::update_device_data_stream_property`] |
//!
//! Responses the document describes with a body decode to [`types`]; `400`, `404` and `500` arrive as
//! [`Error::ErrorResponse`] holding [`types::ErrorResponse`]; `403`, `429` and any undocumented status
//! arrive as [`Error::UnexpectedResponse`] with the status and headers intact (so `Retry-After` is
//! readable). Batch-update answers `204` or a `200` report: decode it with
//! [`batch_update::BatchUpdateOutcome::from_response`].
//!
//! This crate is the faithful, low-level layer. Authentication, regions, retries, validation and
//! chunking live in `blynk-api-ext`, which acts on this client through [`hooks`].
//!
//! # Stability
//!
//! The generated items ([`Client`]'s builders and [`types`]) follow the document: when the API
//! reference adds, renames or removes a field, parameter or operation, they change with it, and that
//! change is released as a breaking one under semver whenever it breaks callers (a new required
//! field, a removed operation). Their structs are exhaustive so that callers can build request
//! bodies with struct literals, as the document's shapes are what the server checks.
//! [`batch_update::BatchUpdateOutcome`] mirrors the two documented successes (`200`, `204`) and
//! changes only with them. The hand-written descriptions of the document ([`operations`]) are
//! `#[non_exhaustive]`: new facts about an operation may be added in a minor release.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> Result<(), blynk_api::Error<blynk_api::types::ErrorResponse>> {
//! use blynk_api::{Client, hooks::Hooks};
//!
//! let client = Client::new("https://blynk.cloud", Hooks::none());
//! let values = client
//!     .get_batch_device_data_streams()
//!     .device_ids(vec![101, 102])
//!     .send()
//!     .await?
//!     .into_inner();
//! for device in values {
//!     println!("device {} has {} datastreams", device.device_id, device.data_streams.len());
//! }
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

// The hand-written modules are documented in full; the generated code below is not.
#[deny(missing_docs)]
pub mod batch_update;
#[deny(missing_docs)]
pub mod hooks;
#[deny(missing_docs)]
pub mod operations;

include!(concat!(env!("OUT_DIR"), "/codegen.rs"));

/// The OpenAPI document this crate is generated from, as JSON text: the package's copy of the
/// workspace's `openapi/blynk-platform.json` (`cargo xtask regen` keeps the two equal), so
/// dependents such as a simulator validating exchanges read the same document without reaching
/// outside their own package.
///
/// ```
/// let doc: serde_json::Value = serde_json::from_str(blynk_api::DOCUMENT).unwrap();
/// for operation in blynk_api::operations::ALL {
///     assert!(doc["paths"].get(operation.path).is_some(), "{}", operation.id);
/// }
/// ```
pub const DOCUMENT: &str = include_str!("../openapi/blynk-platform.json");

/// Limits the API document states, read from it at build time.
///
/// ```
/// assert_eq!(blynk_api::limits::MAX_DEVICES_PER_BATCH_READ, 10);
/// ```
pub mod limits {
    include!(concat!(env!("OUT_DIR"), "/limits.rs"));
}

/// Typed [httpmock](https://docs.rs/httpmock) helpers, one per operation (feature `mock`).
///
/// [`mock::MockServerExt`] adds a method per operation to `httpmock::MockServer`; each takes a
/// closure receiving typed `When` and `Then` wrappers from [`mock::operations`]: `When` has a
/// method per parameter (array parameters match the repeated values exactly, in order), `Then` a
/// method per documented status (`ok`, `no_content`, `bad_request`, `forbidden`, `not_found`,
/// `too_many_requests`, `internal_server_error`). `into_inner()` gives the plain httpmock value, for
/// a header such as `Retry-After` or an off-spec answer.
///
/// # Example: a test of your own code, with Blynk.Cloud mocked
///
/// ```
/// use blynk_api::mock::MockServerExt;
/// use blynk_api::types::{DataStreamRawValue, DataStreamValue, GetBatchDeviceDataStreamsResponseItem};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let server = httpmock::MockServer::start_async().await;
/// let mock = server.get_batch_device_data_streams(|when, then| {
///     when.device_ids(&vec![101, 102]);
///     then.ok(&vec![GetBatchDeviceDataStreamsResponseItem {
///         device_id: 101,
///         data_streams: vec![DataStreamValue {
///             data_stream_id: 1,
///             pin: "V1".into(),
///             data_stream_label: "Temperature".into(),
///             data_stream_alias: "temp".into(),
///             value: Some(DataStreamRawValue::Double(21.5)),
///             updated_at: None,
///         }],
///     }]);
/// });
///
/// // The code under test, pointed at the mock server.
/// let client = blynk_api::Client::new(&server.base_url(), blynk_api::hooks::Hooks::none());
/// let devices = client
///     .get_batch_device_data_streams()
///     .device_ids(vec![101, 102])
///     .send()
///     .await
///     .unwrap()
///     .into_inner();
///
/// assert_eq!(devices[0].data_streams[0].value, Some(DataStreamRawValue::Double(21.5)));
/// mock.assert();
/// # }
/// ```
#[cfg(feature = "mock")]
#[doc(hidden)]
pub mod mock_support;

#[cfg(feature = "mock")]
#[allow(clippy::all, missing_docs)] // generated
pub mod mock {
    include!(concat!(env!("OUT_DIR"), "/mocks.rs"));
}

// This crate's README (its registry page) compiles as doc tests, so its examples stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeExamples;
