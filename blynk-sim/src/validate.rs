//! Runtime validation of every exchange against the OpenAPI document the client is generated from
//! (embedded at build time): query parameters against the operation table's fields, JSON bodies
//! and answers against the document's schemas (with `jsonschema`), statuses against the documented
//! ones. Violations are kept (the newest [`MAX_KEPT_VIOLATIONS`]) and counted; in strict mode a
//! request that breaks the document is answered 400 naming the rule.

use std::collections::{HashMap, VecDeque};
use std::sync::OnceLock;

use blynk_api::operations::{self, Field, Kind, Location, Operation};
use serde::Serialize;
use serde_json::Value;

use crate::query::Query;

/// The merged document `blynk-api` is generated from (shipped in its package).
const DOCUMENT: &str = blynk_api::DOCUMENT;

/// Violations kept for `GET /__sim/violations` (all are counted).
pub const MAX_KEPT_VIOLATIONS: usize = 1_000;
/// Longest rendering of an offending value.
const MAX_VALUE_CHARS: usize = 200;

/// One way an exchange broke the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Violation {
    /// `request` or `response`.
    pub direction: &'static str,
    /// The `operationId`.
    pub operation: &'static str,
    /// The rule broken: a schema keyword (`maxItems`, `type`, `required`, ...) or `status`.
    pub rule: String,
    /// Where: a query parameter, a JSON pointer into the body, or the status.
    pub at: String,
    /// The offending value, shortened.
    pub value: String,
    /// What the validator said.
    pub message: String,
}

impl Violation {
    /// One sentence naming the rule, for strict mode's 400.
    pub fn sentence(&self) -> String {
        format!(
            "{} {} breaks the document's rule {:?} at {}: {}",
            self.operation, self.direction, self.rule, self.at, self.message
        )
    }
}

fn shorten(value: &str) -> String {
    if value.chars().count() <= MAX_VALUE_CHARS {
        value.to_string()
    } else {
        let mut s: String = value.chars().take(MAX_VALUE_CHARS).collect();
        s.push('…');
        s
    }
}

/// The violations seen: the newest kept, all counted.
#[derive(Debug, Default)]
pub(crate) struct Violations {
    kept: VecDeque<Violation>,
    total: u64,
}

/// `GET /__sim/violations`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ViolationReport {
    pub(crate) total: u64,
    pub(crate) violations: Vec<Violation>,
}

impl Violations {
    pub(crate) fn extend(&mut self, new: Vec<Violation>) {
        for v in new {
            self.total += 1;
            if self.kept.len() == MAX_KEPT_VIOLATIONS {
                self.kept.pop_front();
            }
            self.kept.push_back(v);
        }
    }

    pub(crate) fn list(&self) -> Vec<Violation> {
        self.kept.iter().cloned().collect()
    }

    pub(crate) fn report(&self) -> ViolationReport {
        ViolationReport {
            total: self.total,
            violations: self.list(),
        }
    }

    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    Request,
    Response(u16),
}

struct Schemas {
    validators: HashMap<(&'static str, Target), jsonschema::Validator>,
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn schemas() -> Option<&'static Schemas> {
    static SCHEMAS: OnceLock<Option<Schemas>> = OnceLock::new();
    SCHEMAS
        .get_or_init(|| {
            let doc: Value = serde_json::from_str(DOCUMENT).ok()?;
            let mut validators = HashMap::new();
            for op in operations::ALL {
                let base = format!(
                    "/paths/{}/{}",
                    escape(op.path),
                    op.method.as_str().to_ascii_lowercase()
                );
                let mut targets = vec![(
                    Target::Request,
                    format!("{base}/requestBody/content/application~1json/schema"),
                )];
                for status in op.statuses {
                    targets.push((
                        Target::Response(*status),
                        format!("{base}/responses/{status}/content/application~1json/schema"),
                    ));
                }
                for (target, pointer) in targets {
                    if doc.pointer(&pointer).is_none() {
                        continue;
                    }
                    // The document is the root schema so every `$ref` resolves; the root `$ref`
                    // selects the schema. OpenAPI 3.0 schemas are a draft-4 dialect.
                    let mut root = doc.clone();
                    root["$ref"] = Value::String(format!("#{pointer}"));
                    if let Ok(v) = jsonschema::draft4::new(&root) {
                        validators.insert((op.id, target), v);
                    }
                }
            }
            Some(Schemas { validators })
        })
        .as_ref()
}

fn check(
    op: &'static Operation,
    target: Target,
    body: &Value,
    direction: &'static str,
) -> Vec<Violation> {
    let Some(validator) = schemas().and_then(|s| s.validators.get(&(op.id, target))) else {
        return Vec::new();
    };
    validator
        .iter_errors(body)
        .map(|e| Violation {
            direction,
            operation: op.id,
            rule: e.kind().keyword().to_string(),
            at: format!("body{}", e.instance_path()),
            value: shorten(&e.instance().to_string()),
            message: shorten(&e.to_string()),
        })
        .collect()
}

fn query_violation(
    op: &'static Operation,
    field: &Field,
    rule: &str,
    value: &str,
    message: String,
) -> Violation {
    Violation {
        direction: "request",
        operation: op.id,
        rule: rule.to_string(),
        at: format!("query parameter {}", field.name),
        value: shorten(value),
        message,
    }
}

fn check_query(op: &'static Operation, query: &Query) -> Vec<Violation> {
    let mut out = Vec::new();
    for field in op.fields.iter().filter(|f| f.location == Location::Query) {
        let values: Vec<&str> = query
            .iter()
            .filter(|(k, _)| k == field.name)
            .map(|(_, v)| v.as_str())
            .collect();
        if values.is_empty() {
            if field.required {
                out.push(query_violation(
                    op,
                    field,
                    "required",
                    "",
                    format!("{} is required", field.name),
                ));
            }
            continue;
        }
        let (item_kind, is_array) = match field.kind {
            Kind::Array(inner) => (*inner, true),
            other => (other, false),
        };
        if is_array {
            let n = i64::try_from(values.len()).unwrap_or(i64::MAX);
            if let Some(max) = field.max_items.filter(|m| n > *m) {
                out.push(query_violation(
                    op,
                    field,
                    "maxItems",
                    &values.join(","),
                    format!("{n} values, at most {max} allowed"),
                ));
            }
            if let Some(min) = field.min_items.filter(|m| n < *m) {
                out.push(query_violation(
                    op,
                    field,
                    "minItems",
                    &values.join(","),
                    format!("{n} values, at least {min} required"),
                ));
            }
        } else if values.len() > 1 {
            out.push(query_violation(
                op,
                field,
                "type",
                &values.join(","),
                format!("{} is given {} times", field.name, values.len()),
            ));
        }
        for value in values {
            let number = match item_kind {
                Kind::Int32 => value.parse::<i32>().ok().map(i64::from),
                Kind::Int64 => value.parse::<i64>().ok(),
                _ => continue,
            };
            let Some(n) = number else {
                out.push(query_violation(
                    op,
                    field,
                    "type",
                    value,
                    format!("{value:?} is not an integer of {:?}", item_kind),
                ));
                continue;
            };
            if let Some(min) = field.minimum.filter(|m| n < *m) {
                out.push(query_violation(
                    op,
                    field,
                    "minimum",
                    value,
                    format!("{n} is below the minimum {min}"),
                ));
            }
            if let Some(max) = field.maximum.filter(|m| n > *m) {
                out.push(query_violation(
                    op,
                    field,
                    "maximum",
                    value,
                    format!("{n} is above the maximum {max}"),
                ));
            }
        }
    }
    out
}

/// The ways a request breaks the document.
pub(crate) fn request(
    op: &'static Operation,
    query: &Query,
    json: Option<&Value>,
    bytes: &[u8],
) -> Vec<Violation> {
    let mut out = check_query(op, query);
    let has_body_schema =
        schemas().is_some_and(|s| s.validators.contains_key(&(op.id, Target::Request)));
    match json {
        Some(body) if has_body_schema => out.extend(check(op, Target::Request, body, "request")),
        None if has_body_schema => out.push(Violation {
            direction: "request",
            operation: op.id,
            rule: "requestBody".into(),
            at: "body".into(),
            value: shorten(&String::from_utf8_lossy(bytes)),
            message: "the document requires a JSON body".into(),
        }),
        _ => {}
    }
    out
}

/// The ways an answer breaks the document. 401 is the bearer security scheme's answer, not an
/// operation's, and is not checked.
pub(crate) fn response(
    op: &'static Operation,
    status: u16,
    body: Option<&Value>,
) -> Vec<Violation> {
    if status == 401 {
        return Vec::new();
    }
    let violation = |rule: &str, value: String, message: String| Violation {
        direction: "response",
        operation: op.id,
        rule: rule.to_string(),
        at: "status".into(),
        value,
        message,
    };
    if !op.documents(status) {
        return vec![violation(
            "status",
            status.to_string(),
            format!(
                "status {status} is not documented (documented: {:?})",
                op.statuses
            ),
        )];
    }
    let has_schema = schemas().is_some_and(|s| {
        s.validators
            .contains_key(&(op.id, Target::Response(status)))
    });
    match (body, has_schema) {
        (Some(body), true) => check(op, Target::Response(status), body, "response"),
        (None, true) => vec![violation(
            "content",
            String::new(),
            format!("status {status} documents a JSON body; none was sent"),
        )],
        (Some(body), false) => vec![violation(
            "content",
            shorten(&body.to_string()),
            format!("status {status} documents no body; one was sent"),
        )],
        (None, false) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const IMPORT: &Operation = &operations::IMPORT_DEVICE_BATCH_DATA;

    #[test]
    fn the_embedded_document_compiles_for_every_operation() {
        let s = schemas().unwrap();
        for op in operations::ALL {
            assert!(
                op.statuses.iter().any(|st| s
                    .validators
                    .contains_key(&(op.id, Target::Response(*st)))
                    || !matches!(st, 200)),
                "{}",
                op.id
            );
        }
        assert!(s.validators.contains_key(&(IMPORT.id, Target::Request)));
    }

    #[test]
    fn a_request_body_over_the_documented_limit_is_a_violation_naming_the_rule() {
        let values: Vec<Value> = (0..10_001).map(|i| json!({"ts": i, "value": 1})).collect();
        let body = json!({"deviceId": 1, "dataStreamId": 1, "values": values});
        let found = request(IMPORT, &Vec::new(), Some(&body), b"");
        assert!(
            found
                .iter()
                .any(|v| v.rule == "maxItems" && v.at == "body/values"),
            "{found:?}"
        );
    }

    #[test]
    fn query_parameters_are_checked_against_the_table() {
        let op = &operations::GET_DEVICE_DATA_STREAM_HISTORY;
        let q: Query = crate::query::parse(b"deviceId=x&dataStreamId=1&from=0&to=1&size=5000");
        let rules: Vec<String> = request(op, &q, None, b"")
            .into_iter()
            .map(|v| v.rule)
            .collect();
        assert_eq!(rules, ["type", "maximum"]);
    }

    #[test]
    fn undocumented_statuses_and_bodies_are_violations() {
        let op = &operations::GET_BATCH_DEVICE_DATA_STREAMS;
        assert_eq!(response(op, 418, None)[0].rule, "status");
        assert!(response(op, 200, Some(&json!([]))).is_empty());
        assert!(!response(op, 200, Some(&json!({"no": 1}))).is_empty());
        assert!(response(op, 401, None).is_empty());
    }
}
