//! Shared helpers of the contract and end-to-end suites in `tests/tests/`.

#![forbid(unsafe_code)]

use std::path::PathBuf;

/// Path of the merged OpenAPI document the client is generated from.
pub fn merged_document_path() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/blynk-platform.json"
    ))
}
