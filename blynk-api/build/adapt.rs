//! In-memory adaptations of the published OpenAPI document, applied by the build script only.
//!
//! Progenitor 0.15 accepts one success type and one error type per operation and panics otherwise.
//! The Blynk document mixes typed and body-less responses, so the build script rewrites a copy of it
//! before generating code. Every adaptation is data (a name, the reason, a function) in one list, keeps
//! the requests the client sends as they are, and never touches the committed `openapi/` files.
//! After adapting, [`preflight`] checks what progenitor requires, so that a future spec update the
//! adaptations cannot handle fails the build with one sentence naming the operation, not a panic.
//!
//! This file is shared by `build.rs` and `tests/adaptations.rs`; it depends on `serde_json` only.

#![allow(dead_code)]

use serde_json::{Map, Value, json};

/// One rewrite of the document: what it is called, why it exists, and what it does.
pub struct Adaptation {
    /// Short name used in messages and tests.
    pub name: &'static str,
    /// Why code generation needs it, and why it does not change the wire format.
    pub reason: &'static str,
    /// The rewrite. Errors name the operation and the problem.
    pub apply: fn(&mut Value) -> Result<(), String>,
}

/// Success bodies that are declared inline but must be reachable under a stable name:
/// (operationId, status, component schema name).
pub const NAMED_SUCCESS_BODIES: &[(&str, &str, &str)] =
    &[("batchUpdateDeviceDataStreams", "200", "BatchUpdateReport")];

/// Hoists inline success schemas listed in [`NAMED_SUCCESS_BODIES`] into named components.
pub const NAME_SUCCESS_BODIES: Adaptation = Adaptation {
    name: "name-success-bodies",
    reason: "batch-update's 200 report is declared inline; once its success becomes a raw body \
             (see raw-mixed-success-bodies) the report would have no generated type left to decode \
             it with, so it is moved to components.schemas under a stable name. A $ref to an \
             identical schema describes identical JSON.",
    apply: name_success_bodies,
};

/// Removes error responses that have no body from operations that also declare typed errors.
pub const DROP_BODYLESS_ERRORS: Adaptation = Adaptation {
    name: "drop-bodyless-errors",
    reason: "progenitor allows one error type per operation; 403 and 429 have no body while \
             400/404/500 carry ErrorResponse. Undeclared statuses become \
             Error::UnexpectedResponse(reqwest::Response), which keeps the status and headers \
             (Retry-After stays readable). Only response decoding changes.",
    apply: drop_bodyless_errors,
};

/// Makes the successes of an operation that mixes a JSON body and no body one raw-body kind.
pub const RAW_MIXED_SUCCESS_BODIES: Adaptation = Adaptation {
    name: "raw-mixed-success-bodies",
    reason: "progenitor allows one success type per operation; batch-update answers 200 with a JSON \
             report or 204 with nothing. Declaring both as raw bodies makes both successes \
             (ResponseValue<ByteStream>) and the caller decodes a 200 with the named report type. \
             Only response decoding changes; the Accept header is restored by the client hooks.",
    apply: raw_mixed_success_bodies,
};

/// What the generated client is built from, in order.
pub const FOR_CLIENT: &[Adaptation] = &[
    NAME_SUCCESS_BODIES,
    DROP_BODYLESS_ERRORS,
    RAW_MIXED_SUCCESS_BODIES,
];

/// What the typed httpmock helpers are built from: they can describe every documented response,
/// 403 and 429 included, so only the naming is needed for their types to match the client's.
pub const FOR_MOCKS: &[Adaptation] = &[NAME_SUCCESS_BODIES];

/// Applies `adaptations` to a copy of `published`, then checks the result with [`preflight`].
pub fn adapt(published: &Value, adaptations: &[Adaptation]) -> Result<Value, String> {
    let mut doc = published.clone();
    for adaptation in adaptations {
        (adaptation.apply)(&mut doc)
            .map_err(|e| format!("adaptation `{}` failed: {e}", adaptation.name))?;
    }
    Ok(doc)
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every operation of the document: (operationId, method, path, operation object).
fn operations_mut(doc: &mut Value) -> Vec<(String, &mut Map<String, Value>)> {
    let mut out = Vec::new();
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return out;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            if let Some(op) = op.as_object_mut() {
                let id = op.get("operationId").and_then(Value::as_str).map_or_else(
                    || format!("{} {path}", method.to_uppercase()),
                    str::to_string,
                );
                out.push((id, op));
            }
        }
    }
    out
}

/// Which class of response a status key is, as progenitor sorts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Success,
    Error,
    /// `default` counts as both.
    Both,
    Other,
}

pub fn class_of(status: &str) -> Class {
    if status == "default" {
        return Class::Both;
    }
    let upper = status.to_ascii_uppercase();
    if upper == "2XX" || upper == "101" {
        return Class::Success;
    }
    if upper == "4XX" || upper == "5XX" {
        return Class::Error;
    }
    match status.parse::<u16>() {
        Ok(200..=299) => Class::Success,
        Ok(400..=599) => Class::Error,
        _ => Class::Other,
    }
}

/// How progenitor will decode a response body.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `application/json` with this schema (identical `$ref`s are one type; inline schemas are not).
    Json(Value),
    /// Any other content type: a byte stream.
    Raw,
    /// No content.
    None,
}

fn resolve<'a>(root: &'a Value, value: &'a Value) -> &'a Value {
    match value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
    {
        Some(pointer) => root.pointer(pointer).unwrap_or(value),
        None => value,
    }
}

/// The decoding kind of one response object. Errors describe shapes progenitor cannot generate.
pub fn kind_of(root: &Value, response: &Value) -> Result<Kind, String> {
    let response = resolve(root, response);
    let content = response.get("content").and_then(Value::as_object);
    let Some(content) = content.filter(|c| !c.is_empty()) else {
        return Ok(Kind::None);
    };
    let json = content
        .iter()
        .find(|(mt, _)| *mt == "application/json" || mt.starts_with("application/json;"));
    match json {
        Some((mt, media)) => {
            if media
                .get("encoding")
                .and_then(Value::as_object)
                .is_some_and(|e| !e.is_empty())
            {
                return Err(format!("the {mt} response declares an encoding"));
            }
            match media.get("schema") {
                Some(schema) => Ok(Kind::Json(schema.clone())),
                None => Err(format!("the {mt} response has no schema")),
            }
        }
        None => Ok(Kind::Raw),
    }
}

fn is_named(kind: &Kind) -> bool {
    matches!(kind, Kind::Json(schema) if schema.get("$ref").is_some())
}

fn name_success_bodies(doc: &mut Value) -> Result<(), String> {
    for (op_id, status, name) in NAMED_SUCCESS_BODIES {
        let pointer = find_operation_pointer(doc, op_id)
            .ok_or_else(|| format!("operation {op_id} is not in the document"))?;
        let schema_pointer =
            format!("{pointer}/responses/{status}/content/application~1json/schema");
        let Some(schema) = doc.pointer(&schema_pointer).cloned() else {
            return Err(format!(
                "operation {op_id} has no application/json body for status {status}"
            ));
        };
        let reference = format!("#/components/schemas/{name}");
        if schema.get("$ref").and_then(Value::as_str) == Some(reference.as_str()) {
            continue;
        }
        let schemas = doc
            .as_object_mut()
            .ok_or("the document is not an object")?
            .entry("components")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .ok_or("components is not an object")?
            .entry("schemas")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .ok_or("components.schemas is not an object")?;
        match schemas.get(*name) {
            Some(existing) if *existing != schema => {
                return Err(format!(
                    "operation {op_id}: schema name {name} is already taken by a different schema"
                ));
            }
            Some(_) => {}
            None => {
                schemas.insert((*name).to_string(), schema);
            }
        }
        if let Some(slot) = doc.pointer_mut(&schema_pointer) {
            *slot = json!({ "$ref": reference });
        }
    }
    Ok(())
}

fn find_operation_pointer(doc: &Value, op_id: &str) -> Option<String> {
    let paths = doc.get("paths")?.as_object()?;
    for (path, item) in paths {
        for (method, op) in item.as_object()? {
            if op.get("operationId").and_then(Value::as_str) == Some(op_id) {
                let escaped = path.replace('~', "~0").replace('/', "~1");
                return Some(format!("/paths/{escaped}/{method}"));
            }
        }
    }
    None
}

fn drop_bodyless_errors(doc: &mut Value) -> Result<(), String> {
    let root = doc.clone();
    for (_, op) in operations_mut(doc) {
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            continue;
        };
        let mut typed = false;
        let mut bodyless = Vec::new();
        for (status, response) in responses.iter() {
            if class_of(status) != Class::Error {
                continue;
            }
            match kind_of(&root, response) {
                Ok(Kind::None) => bodyless.push(status.clone()),
                _ => typed = true,
            }
        }
        if typed {
            for status in bodyless {
                responses.remove(&status);
            }
        }
    }
    Ok(())
}

fn raw_mixed_success_bodies(doc: &mut Value) -> Result<(), String> {
    let root = doc.clone();
    for (op_id, op) in operations_mut(doc) {
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            continue;
        };
        let mut kinds = Vec::new();
        for (status, response) in responses.iter() {
            if class_of(status) == Class::Success {
                kinds.push((status.clone(), kind_of(&root, response)?));
            }
        }
        let has_json = kinds.iter().any(|(_, k)| matches!(k, Kind::Json(_)));
        let has_none = kinds.iter().any(|(_, k)| *k == Kind::None);
        if !(has_json && has_none) {
            continue;
        }
        if let Some((status, _)) = kinds
            .iter()
            .find(|(_, k)| matches!(k, Kind::Json(_)) && !is_named(k))
        {
            return Err(format!(
                "operation {op_id}: its {status} success body is inline, so no named type would be \
                 left to decode it; add it to NAMED_SUCCESS_BODIES"
            ));
        }
        for (status, _) in kinds {
            if let Some(response) = responses.get_mut(&status).and_then(Value::as_object_mut) {
                response.insert(
                    "content".to_string(),
                    json!({ "application/octet-stream": {} }),
                );
            }
        }
    }
    Ok(())
}

/// Checks what progenitor 0.15 requires of every operation, so that a shape it would panic on fails
/// the build with one sentence that names the operation and the problem.
pub fn preflight(doc: &Value) -> Result<(), String> {
    let version = doc.get("openapi").and_then(Value::as_str).unwrap_or("");
    if !version.starts_with("3.0.") {
        return Err(format!(
            "the document is OpenAPI `{version}`; progenitor 0.15 reads 3.0.x only"
        ));
    }
    let mut doc = doc.clone();
    let root = doc.clone();
    for (op_id, op) in operations_mut(&mut doc) {
        if op.get("operationId").is_none() {
            return Err(format!("operation {op_id} has no operationId"));
        }
        let responses = op.get("responses").and_then(Value::as_object);
        let mut success: Vec<(String, Kind)> = Vec::new();
        let mut error: Vec<(String, Kind)> = Vec::new();
        for (status, response) in responses.into_iter().flatten() {
            let kind = kind_of(&root, response)
                .map_err(|e| format!("operation {op_id}, status {status}: {e}"))?;
            match class_of(status) {
                Class::Success => success.push((status.clone(), kind)),
                Class::Error => error.push((status.clone(), kind)),
                Class::Both => {
                    success.push((status.clone(), kind.clone()));
                    error.push((status.clone(), kind));
                }
                Class::Other => {}
            }
        }
        for (what, list) in [("success", &success), ("error", &error)] {
            if let Some(problem) = mixed(list) {
                return Err(format!(
                    "operation {op_id} declares {what} responses of different kinds ({problem}); \
                     progenitor 0.15 accepts one {what} type per operation: extend the adaptations \
                     in blynk-api/build/adapt.rs"
                ));
            }
        }
    }
    Ok(())
}

fn mixed(list: &[(String, Kind)]) -> Option<String> {
    let first = list.first()?;
    let different = list.iter().skip(1).find(|(_, kind)| {
        // Two JSON kinds are one type only when both are the same $ref.
        match (kind, &first.1) {
            (Kind::Json(a), Kind::Json(b)) => !(a == b && a.get("$ref").is_some()),
            (a, b) => a != b,
        }
    });
    let (status, kind) = different?;
    Some(format!(
        "{} is {}, {status} is {}",
        first.0,
        describe(&first.1),
        describe(kind)
    ))
}

fn describe(kind: &Kind) -> String {
    match kind {
        Kind::Json(schema) => match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => format!("JSON {r}"),
            None => "an inline JSON schema".to_string(),
        },
        Kind::Raw => "a raw body".to_string(),
        Kind::None => "without a body".to_string(),
    }
}
