//! Merging `paths`: path items from different fragments are united, but one path and method may be
//! defined once only, every operation needs an `operationId`, and no two operations share one.
//! Non-method fields of a path item (`parameters`, `summary`, ...) may repeat only if identical.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::document::METHODS;
use crate::error::MergeError;
use crate::fragments::Fragment;

/// The paths merged so far, and where each entry came from.
#[derive(Default)]
pub(super) struct Paths {
    items: Map<String, Value>,
    /// `(path, key)` to the fragment that defined it.
    origin: BTreeMap<(String, String), String>,
    /// `operationId` to the fragment that defined it.
    operation_ids: BTreeMap<String, String>,
    operations: usize,
}

impl Paths {
    /// Adds every path item of `fragment`.
    pub(super) fn add(&mut self, fragment: &Fragment) -> Result<(), MergeError> {
        let items = fragment.doc.get("paths").and_then(Value::as_object);
        for (path, item) in items.into_iter().flatten() {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (key, value) in item {
                self.add_entry(fragment, path, key, value)?;
            }
        }
        Ok(())
    }

    /// Adds one field (`key`) of the path item `path`: an operation if `key` is a method.
    fn add_entry(
        &mut self,
        fragment: &Fragment,
        path: &str,
        key: &str,
        value: &Value,
    ) -> Result<(), MergeError> {
        let is_method = METHODS.contains(&key);
        let origin_key = (path.to_string(), key.to_string());
        let merged_item = self
            .items
            .entry(path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(merged_item) = merged_item else {
            return Ok(());
        };
        if let Some(existing) = merged_item.get(key) {
            let first = self.origin.get(&origin_key).cloned().unwrap_or_default();
            if is_method {
                return Err(MergeError::DuplicatePathMethod {
                    method: key.to_string(),
                    path: path.to_string(),
                    first,
                    second: fragment.name.clone(),
                });
            }
            if existing != value {
                return Err(MergeError::Disagreement {
                    field: format!("paths[{path}].{key}"),
                    first,
                    second: fragment.name.clone(),
                });
            }
            return Ok(());
        }
        merged_item.insert(key.to_string(), value.clone());
        if is_method {
            self.claim_operation_id(fragment, path, key, value)?;
        }
        self.origin.insert(origin_key, fragment.name.clone());
        Ok(())
    }

    /// Records the `operationId` of a new operation, refusing a missing or repeated one.
    fn claim_operation_id(
        &mut self,
        fragment: &Fragment,
        path: &str,
        method: &str,
        operation: &Value,
    ) -> Result<(), MergeError> {
        self.operations += 1;
        let Some(id) = operation.get("operationId").and_then(Value::as_str) else {
            return Err(MergeError::MissingOperationId {
                method: method.to_string(),
                path: path.to_string(),
                fragment: fragment.name.clone(),
            });
        };
        if let Some(first) = self.operation_ids.get(id) {
            return Err(MergeError::DuplicateOperationId {
                operation_id: id.to_string(),
                first: first.clone(),
                second: fragment.name.clone(),
            });
        }
        self.operation_ids
            .insert(id.to_string(), fragment.name.clone());
        Ok(())
    }

    /// Number of operations (path + method pairs) merged.
    pub(super) fn operations(&self) -> usize {
        self.operations
    }

    /// The merged `paths` object.
    pub(super) fn finish(self) -> Map<String, Value> {
        self.items
    }
}
