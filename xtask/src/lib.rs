//! Merging the per-operation OpenAPI fragments into the one document the client is generated from.
//!
//! The API reference publishes every operation as a self-contained OpenAPI document. We keep those
//! documents unchanged in `openapi/fragments/` and merge them here, refusing anything that would make
//! the merged document ambiguous: two definitions of one schema, one `operationId` used twice, the same
//! path and method in two fragments, fragments that disagree on `info`, `servers` or security, or a
//! `$ref` that points nowhere. The output is canonical (sorted keys, two-space indentation, trailing
//! newline), so running the merge twice gives byte-identical files and `--check` can compare bytes.
//!
//! # Modules
//!
//! - `fragments`: the inputs: reading `openapi/fragments/*.json`, splitting the API reference into
//!   fragments (`import-seed`).
//! - `merge`: the merge rules, one collector per part of the document (`merge/paths.rs`,
//!   `merge/components.rs`; tags and header fields in `merge/mod.rs`).
//! - `validate`: checks on the merged document (`$ref`s resolve, it parses as OpenAPI 3.0).
//! - `document`: the canonical rendering, and the operation and component views of a document.
//! - `staleness`: `regen --check`, saying what differs between the committed and a fresh document.
//! - `layout`: where the files live, and reading and writing them.
//! - `error`: [`MergeError`], the error of everything above, naming the culprit of every failure.
//! - `msrv`: `cargo xtask msrv`, no locked dependency needs a newer Rust than `rust-version`.
//!
//! Everything public is re-exported here; the binary (`src/main.rs`) is argument parsing, running
//! `cargo metadata`, and output.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod document;
mod error;
mod fragments;
mod layout;
mod merge;
mod msrv;
mod staleness;
mod validate;

pub use document::{canonical, render};
pub use error::MergeError;
pub use fragments::{Fragment, load_fragments, split_seed};
pub use layout::{Layout, read_committed, read_if_present, regenerate, write};
pub use merge::{Merged, merge};
pub use msrv::{MsrvError, MsrvReport, RustVersion, TooNew, check_msrv};
pub use staleness::{Staleness, staleness};
