//! Merging the per-operation OpenAPI fragments into the one document the client is generated from.
//!
//! The API reference publishes every operation as a self-contained OpenAPI document. We keep those
//! documents unchanged in `openapi/fragments/` and merge them here, refusing anything that would make
//! the merged document ambiguous: two definitions of one schema, one `operationId` used twice, the same
//! path and method in two fragments, fragments that disagree on `info`, `servers` or security, or a
//! `$ref` that points nowhere. The output is canonical (sorted keys, two-space indentation, trailing
//! newline), so running the merge twice gives byte-identical files and `--check` can compare bytes.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// HTTP methods an OpenAPI path item can hold.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Top-level fields every fragment must state identically.
const MUST_AGREE: [&str; 4] = ["openapi", "info", "servers", "security"];

/// One fragment: a file name (for messages) and its parsed JSON.
#[derive(Debug, Clone)]
pub struct Fragment {
    /// File name of the fragment, e.g. `getDeviceDataStreamsV2.json`.
    pub name: String,
    /// The fragment's document.
    pub doc: Value,
}

/// The merged document and what it holds.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The merged OpenAPI document.
    pub document: Value,
    /// Number of operations (path + method pairs).
    pub operations: usize,
    /// Number of component schemas.
    pub schemas: usize,
    /// Number of fragments merged.
    pub fragments: usize,
}

impl Merged {
    /// The one-line summary both `regen` modes print.
    pub fn summary(&self) -> String {
        format!(
            "{} operations, {} schemas, from {} fragments",
            self.operations, self.schemas, self.fragments
        )
    }
}

/// Why a merge (or loading its inputs) failed. Every variant names the culprit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeError {
    /// A file could not be read or written.
    Io { path: PathBuf, message: String },
    /// A fragment is not valid JSON.
    InvalidJson { fragment: String, message: String },
    /// The fragment directory holds no fragment.
    NoFragments { dir: PathBuf },
    /// Two fragments define the same component differently.
    ConflictingComponent {
        kind: String,
        name: String,
        first: String,
        second: String,
    },
    /// Two operations share an `operationId`.
    DuplicateOperationId {
        operation_id: String,
        first: String,
        second: String,
    },
    /// Two fragments define the same path and method.
    DuplicatePathMethod {
        method: String,
        path: String,
        first: String,
        second: String,
    },
    /// Two fragments disagree on a field that must be common to all.
    Disagreement {
        field: String,
        first: String,
        second: String,
    },
    /// An operation has no `operationId`.
    MissingOperationId {
        method: String,
        path: String,
        fragment: String,
    },
    /// A `$ref` does not resolve inside the merged document.
    UnresolvedRef { reference: String, at: String },
    /// The merged document does not parse as OpenAPI 3.0.
    NotOpenApi { message: String },
    /// The seed file is not in the expected shape.
    Seed { message: String },
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

fn io_err(path: &Path, e: std::io::Error) -> MergeError {
    MergeError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
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

/// Merges fragments into one document, following the rules in the module documentation.
pub fn merge(fragments: &[Fragment]) -> Result<Merged, MergeError> {
    let Some(first) = fragments.first() else {
        return Err(MergeError::NoFragments {
            dir: PathBuf::from("(none)"),
        });
    };

    let mut doc = Map::new();
    for field in MUST_AGREE {
        if let Some(v) = first.doc.get(field) {
            doc.insert(field.to_string(), v.clone());
        }
    }

    // Where each merged item came from, for messages.
    let mut path_origin: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut op_ids: BTreeMap<String, String> = BTreeMap::new();
    let mut component_origin: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut tag_origin: BTreeMap<String, String> = BTreeMap::new();
    let mut security_schemes: Option<(Value, String)> = None;

    let mut paths = Map::new();
    let mut components: Map<String, Value> = Map::new();
    let mut tags: BTreeMap<String, Value> = BTreeMap::new();
    let mut operations = 0;

    for frag in fragments {
        for field in MUST_AGREE {
            if frag.doc.get(field) != first.doc.get(field) {
                return Err(MergeError::Disagreement {
                    field: field.to_string(),
                    first: first.name.clone(),
                    second: frag.name.clone(),
                });
            }
        }

        for tag in frag
            .doc
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = tag
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            match tags.get(&name) {
                Some(existing) if existing != tag => {
                    return Err(MergeError::Disagreement {
                        field: format!("tags[{name}]"),
                        first: tag_origin.get(&name).cloned().unwrap_or_default(),
                        second: frag.name.clone(),
                    });
                }
                Some(_) => {}
                None => {
                    tags.insert(name.clone(), tag.clone());
                    tag_origin.insert(name, frag.name.clone());
                }
            }
        }

        let frag_paths = frag.doc.get("paths").and_then(Value::as_object);
        for (path, item) in frag_paths.into_iter().flatten() {
            let Some(item) = item.as_object() else {
                continue;
            };
            let merged_item = paths
                .entry(path.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(merged_item) = merged_item else {
                continue;
            };
            for (key, value) in item {
                let key_is_method = METHODS.contains(&key.as_str());
                let origin_key = (path.clone(), key.clone());
                if let Some(existing) = merged_item.get(key) {
                    let first = path_origin.get(&origin_key).cloned().unwrap_or_default();
                    if key_is_method {
                        return Err(MergeError::DuplicatePathMethod {
                            method: key.clone(),
                            path: path.clone(),
                            first,
                            second: frag.name.clone(),
                        });
                    }
                    if existing != value {
                        return Err(MergeError::Disagreement {
                            field: format!("paths[{path}].{key}"),
                            first,
                            second: frag.name.clone(),
                        });
                    }
                    continue;
                }
                if key_is_method {
                    operations += 1;
                    let Some(op_id) = value.get("operationId").and_then(Value::as_str) else {
                        return Err(MergeError::MissingOperationId {
                            method: key.clone(),
                            path: path.clone(),
                            fragment: frag.name.clone(),
                        });
                    };
                    if let Some(first) = op_ids.get(op_id) {
                        return Err(MergeError::DuplicateOperationId {
                            operation_id: op_id.to_string(),
                            first: first.clone(),
                            second: frag.name.clone(),
                        });
                    }
                    op_ids.insert(op_id.to_string(), frag.name.clone());
                }
                merged_item.insert(key.clone(), value.clone());
                path_origin.insert(origin_key, frag.name.clone());
            }
        }

        let frag_components = frag.doc.get("components").and_then(Value::as_object);
        for (kind, entries) in frag_components.into_iter().flatten() {
            if kind == "securitySchemes" {
                match &security_schemes {
                    Some((existing, origin)) if existing != entries => {
                        return Err(MergeError::Disagreement {
                            field: "components.securitySchemes".to_string(),
                            first: origin.clone(),
                            second: frag.name.clone(),
                        });
                    }
                    Some(_) => {}
                    None => security_schemes = Some((entries.clone(), frag.name.clone())),
                }
                continue;
            }
            let merged_kind = components
                .entry(kind.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let (Value::Object(merged_kind), Some(entries)) = (merged_kind, entries.as_object())
            else {
                continue;
            };
            for (name, def) in entries {
                let origin_key = (kind.clone(), name.clone());
                match merged_kind.get(name) {
                    Some(existing) if existing != def => {
                        return Err(MergeError::ConflictingComponent {
                            kind: kind.clone(),
                            name: name.clone(),
                            first: component_origin
                                .get(&origin_key)
                                .cloned()
                                .unwrap_or_default(),
                            second: frag.name.clone(),
                        });
                    }
                    Some(_) => {}
                    None => {
                        merged_kind.insert(name.clone(), def.clone());
                        component_origin.insert(origin_key, frag.name.clone());
                    }
                }
            }
        }
        // A fragment without securitySchemes disagrees with one that has them.
        if frag_components.is_none_or(|c| !c.contains_key("securitySchemes"))
            && let Some((_, origin)) = &security_schemes
        {
            return Err(MergeError::Disagreement {
                field: "components.securitySchemes".to_string(),
                first: origin.clone(),
                second: frag.name.clone(),
            });
        }
    }

    if let Some((schemes, _)) = security_schemes {
        components.insert("securitySchemes".to_string(), schemes);
    }
    let schemas = components
        .get("schemas")
        .and_then(Value::as_object)
        .map_or(0, Map::len);
    if !components.is_empty() {
        doc.insert("components".to_string(), Value::Object(components));
    }
    doc.insert("paths".to_string(), Value::Object(paths));
    if !tags.is_empty() {
        doc.insert(
            "tags".to_string(),
            Value::Array(tags.into_values().collect()),
        );
    }

    let document = canonical(Value::Object(doc));
    check_refs(&document, &document, &mut String::new())?;
    serde_json::from_value::<openapiv3::OpenAPI>(document.clone()).map_err(|e| {
        MergeError::NotOpenApi {
            message: e.to_string(),
        }
    })?;

    Ok(Merged {
        document,
        operations,
        schemas,
        fragments: fragments.len(),
    })
}

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

/// Outcome of comparing the committed merged document with a fresh merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staleness {
    /// The committed document is byte-identical to a fresh merge.
    UpToDate,
    /// There is no committed document.
    Missing,
    /// The committed document differs; each line says what differs.
    Stale(Vec<String>),
}

/// Compares the committed text (if any) with freshly rendered text.
pub fn staleness(committed: Option<&str>, fresh: &str) -> Staleness {
    let Some(committed) = committed else {
        return Staleness::Missing;
    };
    if committed == fresh {
        return Staleness::UpToDate;
    }
    let Ok(old) = serde_json::from_str::<Value>(committed) else {
        return Staleness::Stale(vec!["committed document is not valid JSON".into()]);
    };
    let Ok(new) = serde_json::from_str::<Value>(fresh) else {
        return Staleness::Stale(vec!["fresh document is not valid JSON".into()]);
    };
    let mut lines = Vec::new();
    let old_ops = operations_of(&old);
    let new_ops = operations_of(&new);
    diff_maps("operation", &old_ops, &new_ops, &mut lines);
    let old_components = components_of(&old);
    let new_components = components_of(&new);
    diff_maps("component", &old_components, &new_components, &mut lines);
    for key in ["openapi", "info", "servers", "security", "tags"] {
        if old.get(key) != new.get(key) {
            lines.push(format!("`{key}` changed"));
        }
    }
    if lines.is_empty() {
        lines.push("same content, different formatting".into());
    }
    Staleness::Stale(lines)
}

fn operations_of(doc: &Value) -> BTreeMap<String, Value> {
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

fn components_of(doc: &Value) -> BTreeMap<String, Value> {
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

fn diff_maps(
    what: &str,
    old: &BTreeMap<String, Value>,
    new: &BTreeMap<String, Value>,
    lines: &mut Vec<String>,
) {
    for (key, value) in new {
        match old.get(key) {
            None => lines.push(format!("{what} added: {key}")),
            Some(previous) if previous != value => lines.push(format!("{what} changed: {key}")),
            Some(_) => {}
        }
    }
    for key in old.keys().filter(|k| !new.contains_key(*k)) {
        lines.push(format!("{what} removed: {key}"));
    }
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

/// Where the workspace keeps its OpenAPI files.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Directory of the fragments.
    pub fragments: PathBuf,
    /// The merged document.
    pub merged: PathBuf,
}

impl Layout {
    /// The layout of a workspace rooted at `root`.
    pub fn of(root: &Path) -> Self {
        Self {
            fragments: root.join("openapi").join("fragments"),
            merged: root.join("openapi").join("blynk-platform.json"),
        }
    }
}

/// Merges the fragments of `layout` and renders the result.
pub fn regenerate(layout: &Layout) -> Result<(Merged, String), MergeError> {
    let fragments = load_fragments(&layout.fragments)?;
    let merged = merge(&fragments)?;
    let text = render(&merged.document);
    Ok((merged, text))
}

/// Reads the committed merged document, `None` if it does not exist.
pub fn read_committed(layout: &Layout) -> Result<Option<String>, MergeError> {
    match fs::read_to_string(&layout.merged) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(&layout.merged, e)),
    }
}

/// Writes `text` to `path`, creating parent directories.
pub fn write(path: &Path, text: &str) -> Result<(), MergeError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
    }
    fs::write(path, text).map_err(|e| io_err(path, e))
}
