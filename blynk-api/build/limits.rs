//! The limits the document states, read from it so that a spec update changes them in one place.
//!
//! Each limit is a row of [`LIMITS`]: where in which operation the number lives. The build script
//! renders them as `pub const` items of `blynk_api::limits`; a limit that disappears from the
//! document fails the build with a sentence naming the operation and the keyword.

#![allow(dead_code)]

use serde_json::Value;

/// Where a number lives inside an operation.
#[derive(Debug, Clone, Copy)]
pub enum Location {
    /// The schema of a query parameter.
    Query(&'static str),
    /// A top-level property of the JSON request body.
    Body(&'static str),
}

/// One limit: the constant's name, type and documentation, and where to read it.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub name: &'static str,
    pub ty: &'static str,
    pub doc: &'static str,
    pub operation: &'static str,
    pub location: Location,
    pub keyword: &'static str,
}

pub const LIMITS: &[Limit] = &[
    Limit {
        name: "MAX_DEVICES_PER_BATCH_READ",
        ty: "usize",
        doc: "Most device IDs one batch read (`getBatchDeviceDataStreams`) accepts.",
        operation: "getBatchDeviceDataStreams",
        location: Location::Query("deviceIds"),
        keyword: "maxItems",
    },
    Limit {
        name: "MAX_ROWS_PER_BATCH_UPDATE",
        ty: "usize",
        doc: "Most rows one batch update (`batchUpdateDeviceDataStreams`) accepts.",
        operation: "batchUpdateDeviceDataStreams",
        location: Location::Body("updates"),
        keyword: "maxItems",
    },
    Limit {
        name: "MIN_FIELDS_PER_BATCH_UPDATE",
        ty: "usize",
        doc: "Fewest entries of a batch update's `fields` (`deviceId` and at least one label).",
        operation: "batchUpdateDeviceDataStreams",
        location: Location::Body("fields"),
        keyword: "minItems",
    },
    Limit {
        name: "MAX_POINTS_PER_IMPORT",
        ty: "usize",
        doc: "Most points one history import (`importDeviceBatchData`) accepts.",
        operation: "importDeviceBatchData",
        location: Location::Body("values"),
        keyword: "maxItems",
    },
    Limit {
        name: "MIN_POINTS_PER_IMPORT",
        ty: "usize",
        doc: "Fewest points one history import (`importDeviceBatchData`) accepts.",
        operation: "importDeviceBatchData",
        location: Location::Body("values"),
        keyword: "minItems",
    },
    Limit {
        name: "MIN_HISTORY_PAGE_SIZE",
        ty: "u32",
        doc: "Smallest history page size (`getDeviceDataStreamHistory`, `size`).",
        operation: "getDeviceDataStreamHistory",
        location: Location::Query("size"),
        keyword: "minimum",
    },
    Limit {
        name: "MAX_HISTORY_PAGE_SIZE",
        ty: "u32",
        doc: "Largest history page size (`getDeviceDataStreamHistory`, `size`).",
        operation: "getDeviceDataStreamHistory",
        location: Location::Query("size"),
        keyword: "maximum",
    },
    Limit {
        name: "DEFAULT_HISTORY_PAGE_SIZE",
        ty: "u32",
        doc: "History page size the server uses when none is sent.",
        operation: "getDeviceDataStreamHistory",
        location: Location::Query("size"),
        keyword: "default",
    },
    Limit {
        name: "FIRST_HISTORY_PAGE",
        ty: "u32",
        doc: "Number of the first history page (pages are numbered from it upwards).",
        operation: "getDeviceDataStreamHistory",
        location: Location::Query("page"),
        keyword: "minimum",
    },
    Limit {
        name: "MAX_PROPERTY_VALUE_CHARS",
        ty: "usize",
        doc: "Longest widget property value, in characters (`updateDeviceDataStreamProperty`).",
        operation: "updateDeviceDataStreamProperty",
        location: Location::Body("value"),
        keyword: "maxLength",
    },
];

fn operation<'a>(doc: &'a Value, op_id: &str) -> Option<&'a Value> {
    doc.get("paths")?
        .as_object()?
        .values()
        .filter_map(Value::as_object)
        .flat_map(|item| item.values())
        .find(|op| op.get("operationId").and_then(Value::as_str) == Some(op_id))
}

fn deref<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
    {
        Some(pointer) => doc.pointer(pointer).unwrap_or(value),
        None => value,
    }
}

/// Reads one limit from the document.
pub fn read(doc: &Value, limit: &Limit) -> Result<u64, String> {
    let op = operation(doc, limit.operation).ok_or_else(|| {
        format!(
            "limit {}: operation {} is not in the document",
            limit.name, limit.operation
        )
    })?;
    let schema = match limit.location {
        Location::Query(name) => op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| deref(doc, p))
            .find(|p| {
                p.get("in").and_then(Value::as_str) == Some("query")
                    && p.get("name").and_then(Value::as_str) == Some(name)
            })
            .and_then(|p| p.get("schema")),
        Location::Body(name) => op
            .pointer("/requestBody/content/application~1json/schema")
            .map(|s| deref(doc, s))
            .and_then(|s| s.get("properties"))
            .and_then(|p| p.get(name)),
    };
    let place = match limit.location {
        Location::Query(name) => format!("query parameter `{name}`"),
        Location::Body(name) => format!("body property `{name}`"),
    };
    schema
        .map(|s| deref(doc, s))
        .and_then(|s| s.get(limit.keyword))
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            format!(
                "limit {}: operation {}, {place} has no non-negative integer `{}`",
                limit.name, limit.operation, limit.keyword
            )
        })
}

/// Renders every limit as documented Rust constants.
pub fn render(doc: &Value) -> Result<String, String> {
    let mut out = String::new();
    for limit in LIMITS {
        let value = read(doc, limit)?;
        let place = match limit.location {
            Location::Query(name) => format!("query parameter `{name}`"),
            Location::Body(name) => format!("body property `{name}`"),
        };
        out.push_str(&format!(
            "/// {}\n///\n/// Read at build time from `{}`, {place}, `{}` in `openapi/blynk-platform.json`.\npub const {}: {} = {value};\n\n",
            limit.doc, limit.operation, limit.keyword, limit.name, limit.ty
        ));
    }
    Ok(out)
}
