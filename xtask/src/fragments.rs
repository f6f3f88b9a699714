//! The inputs of a merge: fragments read from `openapi/fragments/`, and the one-off split of the API
//! reference (Markdown with one JSON block per operation) into those fragments.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::document::{canonical, operations_of};
use crate::error::{MergeError, io_err};

/// One fragment: a file name (for messages) and its parsed JSON.
#[derive(Debug, Clone)]
pub struct Fragment {
    /// File name of the fragment, e.g. `getDeviceDataStreamsV2.json`.
    pub name: String,
    /// The fragment's document.
    pub doc: Value,
}

/// Reads every `*.json` file of `dir`, in file-name order.
pub fn load_fragments(dir: &Path) -> Result<Vec<Fragment>, MergeError> {
    let entries = fs::read_dir(dir).map_err(|e| io_err(dir, e))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| io_err(dir, e))?.path();
        if path.extension().is_some_and(|ext| ext == "json") {
            paths.push(path);
        }
    }
    paths.sort();
    if paths.is_empty() {
        return Err(MergeError::NoFragments {
            dir: dir.to_path_buf(),
        });
    }
    paths
        .iter()
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = fs::read_to_string(path).map_err(|e| io_err(path, e))?;
            let doc = serde_json::from_str(&text).map_err(|e| MergeError::InvalidJson {
                fragment: name.clone(),
                message: e.to_string(),
            })?;
            Ok(Fragment { name, doc })
        })
        .collect()
}

/// Splits the API reference (Markdown with one ```json block per operation) into fragments, each
/// named after its single operation's `operationId`.
pub fn split_seed(text: &str) -> Result<Vec<Fragment>, MergeError> {
    let mut fragments = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("```json") {
        let after = &rest[start + "```json".len()..];
        let Some(end) = after.find("```") else {
            return Err(MergeError::Seed {
                message: "unterminated ```json block".into(),
            });
        };
        let block = &after[..end];
        rest = &after[end + 3..];
        let doc: Value = serde_json::from_str(block.trim()).map_err(|e| MergeError::Seed {
            message: format!("json block {} is invalid: {e}", fragments.len() + 1),
        })?;
        let ids: Vec<String> = operations_of(&doc)
            .values()
            .filter_map(|op| op.get("operationId").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        let [id] = ids.as_slice() else {
            return Err(MergeError::Seed {
                message: format!(
                    "json block {} holds {} operations with an operationId, expected exactly 1",
                    fragments.len() + 1,
                    ids.len()
                ),
            });
        };
        fragments.push(Fragment {
            name: format!("{id}.json"),
            doc: canonical(doc),
        });
    }
    if fragments.is_empty() {
        return Err(MergeError::Seed {
            message: "no ```json block found".into(),
        });
    }
    Ok(fragments)
}
