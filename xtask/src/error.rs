//! The one error type of the tooling: why a merge, a check or the files around them failed, each
//! variant naming its culprit (a fragment, a path, a reference) so the message alone says what to fix.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a merge (or loading its inputs) failed. Every variant names the culprit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeError {
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        message: String,
    },
    /// A fragment is not valid JSON.
    InvalidJson {
        /// The fragment's file name.
        fragment: String,
        /// What the JSON parser said.
        message: String,
    },
    /// The fragment directory holds no fragment.
    NoFragments {
        /// The directory searched.
        dir: PathBuf,
    },
    /// Two fragments define the same component differently.
    ConflictingComponent {
        /// The component kind, e.g. `schemas`.
        kind: String,
        /// The component's name.
        name: String,
        /// The fragment that defined it first.
        first: String,
        /// The fragment that defined it differently.
        second: String,
    },
    /// Two operations share an `operationId`.
    DuplicateOperationId {
        /// The shared id.
        operation_id: String,
        /// The fragment that used it first.
        first: String,
        /// The fragment that used it again.
        second: String,
    },
    /// Two fragments define the same path and method.
    DuplicatePathMethod {
        /// The method, lower case as in the document.
        method: String,
        /// The path template.
        path: String,
        /// The fragment that defined it first.
        first: String,
        /// The fragment that defined it again.
        second: String,
    },
    /// Two fragments disagree on a field that must be common to all.
    Disagreement {
        /// The field, e.g. `info` or `components.securitySchemes`.
        field: String,
        /// The fragment whose value was taken first.
        first: String,
        /// The fragment that disagrees.
        second: String,
    },
    /// An operation has no `operationId`.
    MissingOperationId {
        /// The method, lower case as in the document.
        method: String,
        /// The path template.
        path: String,
        /// The fragment holding the operation.
        fragment: String,
    },
    /// A `$ref` does not resolve inside the merged document.
    UnresolvedRef {
        /// The reference as written.
        reference: String,
        /// JSON pointer of the object holding it.
        at: String,
    },
    /// The merged document does not parse as OpenAPI 3.0.
    NotOpenApi {
        /// What the OpenAPI parser said.
        message: String,
    },
    /// The seed file is not in the expected shape.
    Seed {
        /// What is wrong with it.
        message: String,
    },
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, message } => write!(f, "{}: {message}", path.display()),
            Self::InvalidJson { fragment, message } => {
                write!(f, "fragment {fragment} is not valid JSON: {message}")
            }
            Self::NoFragments { dir } => write!(f, "no *.json fragment in {}", dir.display()),
            Self::ConflictingComponent {
                kind,
                name,
                first,
                second,
            } => write!(
                f,
                "component {kind} `{name}` is defined differently in {first} and {second}"
            ),
            Self::DuplicateOperationId {
                operation_id,
                first,
                second,
            } => write!(
                f,
                "operationId `{operation_id}` is used in both {first} and {second}"
            ),
            Self::DuplicatePathMethod {
                method,
                path,
                first,
                second,
            } => write!(
                f,
                "{} {path} is defined in both {first} and {second}",
                method.to_uppercase()
            ),
            Self::Disagreement {
                field,
                first,
                second,
            } => write!(f, "`{field}` differs between {first} and {second}"),
            Self::MissingOperationId {
                method,
                path,
                fragment,
            } => write!(
                f,
                "{} {path} in {fragment} has no operationId",
                method.to_uppercase()
            ),
            Self::UnresolvedRef { reference, at } => {
                write!(f, "$ref `{reference}` at {at} does not resolve")
            }
            Self::NotOpenApi { message } => {
                write!(f, "merged document is not valid OpenAPI 3.0: {message}")
            }
            Self::Seed { message } => write!(f, "seed: {message}"),
        }
    }
}

impl std::error::Error for MergeError {}

/// An I/O failure on `path`.
pub(crate) fn io_err(path: &Path, e: std::io::Error) -> MergeError {
    MergeError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}
