//! The operation table: what the API document states about each operation, read from it at build
//! time.
//!
//! One [`Operation`] constant per operation (its id, method, path template, documented statuses and
//! the names, kinds and limits of its parameters and body properties), [`ALL`] of them,
//! [`PROPERTY_NAMES`], and the platform facts the document gives only in prose
//! ([`MAX_REQUEST_BYTES`], [`IMPORT_FUTURE_WINDOW_SECS`]). Code that needs a path, a status or a
//! name reads it here, so a change of the document changes every user of it at once.
//!
//! ```
//! use blynk_api::operations::{self, Method};
//!
//! let import = &operations::IMPORT_DEVICE_BATCH_DATA;
//! assert_eq!(import.method, Method::Post);
//! assert_eq!(import.path, "/api/v1/organization/device/import/batch");
//! assert!(import.documents(429));
//! assert_eq!(operations::route("POST", import.path), Some(import));
//! ```

/// An HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
    /// `PATCH`.
    Patch,
}

impl Method {
    /// The method as it appears on the wire (`"GET"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a field of a request lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Location {
    /// A query parameter.
    Query,
    /// A path parameter.
    Path,
    /// A top-level property of the JSON request body.
    Body,
}

/// The type and format of a field, as the document's schema gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// `integer`, format `int32`.
    Int32,
    /// `integer`, format `int64` (or no format).
    Int64,
    /// `number`.
    Number,
    /// `boolean`.
    Boolean,
    /// `string`.
    String,
    /// `string` with an `enum` of allowed values.
    Enum,
    /// A datastream value (`DataStreamRawValue`: a string, a number or a `[lon, lat]` pair).
    Value,
    /// `array` of the given kind.
    Array(&'static Kind),
    /// `object`.
    Object,
}

/// One query parameter or body property of an operation, with the limits its schema states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Field {
    /// The name on the wire (`deviceIds`, `dataStreamId`).
    pub name: &'static str,
    /// Query, path or body.
    pub location: Location,
    /// Type and format.
    pub kind: Kind,
    /// Whether the document marks it required.
    pub required: bool,
    /// `minimum`, when stated.
    pub minimum: Option<i64>,
    /// `maximum`, when stated.
    pub maximum: Option<i64>,
    /// `minItems`, when stated.
    pub min_items: Option<i64>,
    /// `maxItems`, when stated.
    pub max_items: Option<i64>,
    /// `maxLength`, when stated.
    pub max_length: Option<i64>,
}

/// One operation of the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Operation {
    /// The document's `operationId` (`importDeviceBatchData`): the one name of the operation in
    /// errors, spans and logs.
    pub id: &'static str,
    /// The id in snake case (`import_device_batch_data`), the generated client's method name.
    pub span_name: &'static str,
    /// HTTP method.
    pub method: Method,
    /// Path template (this API has no path parameters, so it is also the path).
    pub path: &'static str,
    /// Every status the document documents for it, ascending.
    pub statuses: &'static [u16],
    /// Its query parameters and body properties.
    pub fields: &'static [Field],
}

impl Operation {
    /// Whether the document documents `status` for this operation.
    pub fn documents(&self, status: u16) -> bool {
        self.statuses.contains(&status)
    }

    /// Whether the operation only reads (a `GET`), so repeating it changes nothing.
    pub const fn is_read(&self) -> bool {
        matches!(self.method, Method::Get)
    }

    /// The field called `name` (query parameter or body property).
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

/// An operation compares equal to its `operationId`, so code that names operations by id keeps
/// reading naturally: `op == "importDeviceBatchData"`.
impl PartialEq<str> for Operation {
    fn eq(&self, id: &str) -> bool {
        self.id == id
    }
}

impl PartialEq<&str> for Operation {
    fn eq(&self, id: &&str) -> bool {
        self.id == *id
    }
}

/// The operation with this `operationId`.
pub fn by_id(id: &str) -> Option<&'static Operation> {
    ALL.iter().copied().find(|op| op.id == id)
}

/// The operation served at this method (any case) and path.
pub fn route(method: &str, path: &str) -> Option<&'static Operation> {
    ALL.iter()
        .copied()
        .find(|op| op.method.as_str().eq_ignore_ascii_case(method) && op.path == path)
}

include!(concat!(env!("OUT_DIR"), "/operations.rs"));
