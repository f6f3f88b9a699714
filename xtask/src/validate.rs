//! Checks on a finished merged document: every `$ref` resolves inside it, and it parses as OpenAPI
//! 3.0 (with `openapiv3`, the parser code generation uses), so a merge that passes here also loads in
//! `blynk-api`'s build script.

use serde_json::Value;

use crate::error::MergeError;

/// Runs every check on `document`.
pub(crate) fn check(document: &Value) -> Result<(), MergeError> {
    check_refs(document, document, &mut String::new())?;
    serde_json::from_value::<openapiv3::OpenAPI>(document.clone()).map_err(|e| {
        MergeError::NotOpenApi {
            message: e.to_string(),
        }
    })?;
    Ok(())
}

/// Refuses the first `$ref` under `value` that does not resolve in `root`; `at` is the JSON pointer
/// of `value`, grown and shrunk while walking.
fn check_refs(root: &Value, value: &Value, at: &mut String) -> Result<(), MergeError> {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                let resolves = reference
                    .strip_prefix('#')
                    .is_some_and(|pointer| root.pointer(pointer).is_some());
                if !resolves {
                    return Err(MergeError::UnresolvedRef {
                        reference: reference.clone(),
                        at: if at.is_empty() {
                            "/".into()
                        } else {
                            at.clone()
                        },
                    });
                }
            }
            for (key, child) in map {
                let len = at.len();
                at.push('/');
                at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                check_refs(root, child, at)?;
                at.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = at.len();
                at.push_str(&format!("/{i}"));
                check_refs(root, child, at)?;
                at.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}
