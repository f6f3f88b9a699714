//! The canonical form of an OpenAPI document (sorted keys, two-space indentation, trailing newline)
//! and the views of a document the other modules share: its operations and its components, keyed so
//! that two documents can be compared entry by entry.

use std::collections::BTreeMap;

use serde_json::Value;

/// HTTP methods an OpenAPI path item can hold.
pub(crate) const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Rebuilds every object with sorted keys, whatever map type serde_json was compiled with.
pub fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// Renders a document the way it is committed: canonical, pretty, with a trailing newline.
pub fn render(doc: &Value) -> String {
    let mut text = serde_json::to_string_pretty(&canonical(doc.clone())).unwrap_or_default();
    text.push('\n');
    text
}

/// Every operation of `doc`, keyed `METHOD /path (operationId)`.
pub(crate) fn operations_of(doc: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (path, item) in doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for (method, op) in item.as_object().into_iter().flatten() {
            if METHODS.contains(&method.as_str()) {
                let id = op.get("operationId").and_then(Value::as_str).unwrap_or("?");
                out.insert(
                    format!("{} {path} ({id})", method.to_uppercase()),
                    op.clone(),
                );
            }
        }
    }
    out
}

/// Every component of `doc`, keyed `kind/name`.
pub(crate) fn components_of(doc: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (kind, entries) in doc
        .get("components")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for (name, def) in entries.as_object().into_iter().flatten() {
            out.insert(format!("{kind}/{name}"), def.clone());
        }
    }
    out
}
