//! The operation table: every fact the document states about each operation, read from it.
//!
//! For each operation: its id, method, path template, documented statuses, its query parameters and
//! body properties with their types and formats, and whether it only reads. Beside it, the names of
//! the widget properties (`DataStreamPropertyName`) and the platform facts the document states only
//! in prose (`PLATFORM`), each checked against the sentence that states it so that an edit of the
//! sentence fails the build instead of leaving a stale number. The build script renders all of it
//! as `blynk_api::operations`; the ext client, the simulator and the CLI read their paths, names
//! and limits from there.

#![allow(dead_code)]

use serde_json::Value;

/// A fact about the platform that the document states in prose, or not at all.
#[derive(Debug, Clone, Copy)]
pub struct PlatformFact {
    pub name: &'static str,
    pub ty: &'static str,
    pub value: &'static str,
    pub doc: &'static str,
    /// Operation whose description must contain `phrase`; empty when the document is silent and
    /// the source is Blynk's platform documentation.
    pub operation: &'static str,
    pub phrase: &'static str,
}

/// Facts the published Blynk documentation states outside the OpenAPI document, or in its prose.
pub const PLATFORM: &[PlatformFact] = &[
    PlatformFact {
        name: "MAX_REQUEST_BYTES",
        ty: "usize",
        value: "2_000_000",
        doc: "The largest request body the platform accepts. Blynk documents a 2 MB request limit \
              (outside the OpenAPI document); it is read as 2,000,000 bytes, the stricter reading.",
        operation: "",
        phrase: "",
    },
    PlatformFact {
        name: "IMPORT_FUTURE_WINDOW_SECS",
        ty: "u64",
        value: "30 * 24 * 60 * 60",
        doc: "How far in the future an imported point may lie: the import description says points \
              \"more than 1 month in the future are silently skipped\"; one month is read as 30 days.",
        operation: "importDeviceBatchData",
        phrase: "more than 1 month in the future are silently skipped",
    },
];

fn operations(doc: &Value) -> Vec<(&str, &str, &Value)> {
    let mut out = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            if let Some(item) = item.as_object() {
                for (method, op) in item {
                    out.push((path.as_str(), method.as_str(), op));
                }
            }
        }
    }
    out
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

fn screaming_snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn snake(camel: &str) -> String {
    screaming_snake(camel).to_ascii_lowercase()
}

/// The Rust spelling of a field's kind, from its schema.
fn kind(doc: &Value, schema: &Value) -> String {
    let schema = deref(doc, schema);
    if schema.get("oneOf").is_some() {
        return "Kind::Value".into();
    }
    let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
    match schema.get("type").and_then(Value::as_str).unwrap_or("") {
        "integer" if format == "int32" => "Kind::Int32".into(),
        "integer" => "Kind::Int64".into(),
        "number" => "Kind::Number".into(),
        "boolean" => "Kind::Boolean".into(),
        "string" if schema.get("enum").is_some() => "Kind::Enum".into(),
        "string" => "Kind::String".into(),
        "array" => {
            let items = schema.get("items").cloned().unwrap_or(Value::Null);
            format!("Kind::Array(&{})", kind(doc, &items))
        }
        _ => "Kind::Object".into(),
    }
}

fn field(doc: &Value, name: &str, schema: &Value, required: bool, location: &str) -> String {
    let schema = deref(doc, schema);
    let num = |k: &str| {
        schema
            .get(k)
            .and_then(Value::as_i64)
            .map_or("None".to_string(), |v| format!("Some({v})"))
    };
    format!(
        "Field {{ name: {name:?}, location: Location::{location}, kind: {}, required: {required}, \
         minimum: {}, maximum: {}, min_items: {}, max_items: {}, max_length: {} }}",
        kind(doc, schema),
        num("minimum"),
        num("maximum"),
        num("minItems"),
        num("maxItems"),
        num("maxLength"),
    )
}

/// Renders the operation table as Rust items.
pub fn render(doc: &Value) -> Result<String, String> {
    let mut ops = operations(doc);
    ops.sort_by_key(|(_, _, op)| op.get("operationId").and_then(Value::as_str).unwrap_or(""));
    let mut out = String::new();
    let mut consts = Vec::new();
    for (path, method, op) in &ops {
        let id = op
            .get("operationId")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{method} {path} has no operationId"))?;
        let method_variant = match *method {
            "get" => "Get",
            "post" => "Post",
            "put" => "Put",
            "delete" => "Delete",
            "patch" => "Patch",
            other => return Err(format!("operation {id}: method {other} is not supported")),
        };
        let mut statuses: Vec<u16> = op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(code, _)| {
                code.parse::<u16>()
                    .map_err(|_| format!("operation {id}: response `{code}` is not a status code"))
            })
            .collect::<Result<_, _>>()?;
        statuses.sort_unstable();
        let mut fields = Vec::new();
        for param in op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let param = deref(doc, param);
            let location = match param.get("in").and_then(Value::as_str) {
                Some("query") => "Query",
                Some("path") => "Path",
                _ => continue,
            };
            let name = param
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("operation {id}: a parameter has no name"))?;
            let required = param
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let schema = param.get("schema").cloned().unwrap_or(Value::Null);
            fields.push(field(doc, name, &schema, required, location));
        }
        if let Some(body) = op.pointer("/requestBody/content/application~1json/schema") {
            let body = deref(doc, body);
            let required: Vec<&str> = body
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if let Some(props) = body.get("properties").and_then(Value::as_object) {
                for (name, schema) in props {
                    fields.push(field(
                        doc,
                        name,
                        schema,
                        required.contains(&name.as_str()),
                        "Body",
                    ));
                }
            }
        }
        let summary = op
            .get("summary")
            .and_then(Value::as_str)
            .unwrap_or(id)
            .replace('\n', " ");
        let konst = screaming_snake(id);
        out.push_str(&format!(
            "/// `{id}`: {summary}\n///\n/// `{} {path}`, read at build time from `openapi/blynk-platform.json`.\n\
             pub const {konst}: Operation = Operation {{\n    id: {id:?},\n    span_name: {:?},\n    \
             method: Method::{method_variant},\n    path: {path:?},\n    statuses: &{statuses:?},\n    \
             fields: &[\n        {}\n    ],\n}};\n\n",
            method.to_ascii_uppercase(),
            snake(id),
            fields.join(",\n        "),
        ));
        consts.push(konst);
    }
    out.push_str(&format!(
        "/// Every operation of the document, in operation-id order.\npub const ALL: [&Operation; {}] = [{}];\n\n",
        consts.len(),
        consts
            .iter()
            .map(|c| format!("&{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    let names: Vec<String> = doc
        .pointer("/components/schemas/DataStreamPropertyName/enum")
        .and_then(Value::as_array)
        .ok_or("components.schemas.DataStreamPropertyName has no `enum` of property names")?
        .iter()
        .map(|v| {
            v.as_str()
                .map(|s| format!("{s:?}"))
                .ok_or("a DataStreamPropertyName is not a string")
        })
        .collect::<Result<_, _>>()?;
    out.push_str(&format!(
        "/// The widget property names `updateDeviceDataStreamProperty` accepts\n/// \
         (`components.schemas.DataStreamPropertyName`), in the document's order.\n\
         pub const PROPERTY_NAMES: [&str; {}] = [{}];\n\n",
        names.len(),
        names.join(", ")
    ));

    for fact in PLATFORM {
        if !fact.operation.is_empty() {
            let (_, _, op) = ops
                .iter()
                .find(|(_, _, op)| {
                    op.get("operationId").and_then(Value::as_str) == Some(fact.operation)
                })
                .ok_or_else(|| {
                    format!(
                        "platform fact {}: operation {} is not in the document",
                        fact.name, fact.operation
                    )
                })?;
            let description = op.get("description").and_then(Value::as_str).unwrap_or("");
            if !description.contains(fact.phrase) {
                return Err(format!(
                    "platform fact {}: the description of {} no longer says \"{}\"; update \
                     blynk-api/build/operations.rs",
                    fact.name, fact.operation, fact.phrase
                ));
            }
        }
        out.push_str(&format!(
            "/// {}\npub const {}: {} = {};\n\n",
            fact.doc, fact.name, fact.ty, fact.value
        ));
    }
    Ok(out)
}
