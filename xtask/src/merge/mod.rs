//! The merge itself: fragments in, one document out, refusing anything that would make the result
//! ambiguous. Each part of a document is merged by its own collector, which remembers which fragment
//! each entry came from so a refusal names both culprits: [`paths`] (operations, their ids and
//! shared path-item fields), [`components`] (schemas and the security schemes), and the tags and
//! header fields here. The finished document is checked by [`crate::validate`].

mod components;
mod paths;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::document::canonical;
use crate::error::MergeError;
use crate::fragments::Fragment;
use crate::validate;

/// Top-level fields every fragment must state identically.
const MUST_AGREE: [&str; 4] = ["openapi", "info", "servers", "security"];

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

/// Merges fragments into one document, following the rules in the crate documentation.
pub fn merge(fragments: &[Fragment]) -> Result<Merged, MergeError> {
    let Some(first) = fragments.first() else {
        return Err(MergeError::NoFragments {
            dir: "(none)".into(),
        });
    };

    let mut paths = paths::Paths::default();
    let mut components = components::Components::default();
    let mut tags = Tags::default();
    for fragment in fragments {
        check_header(first, fragment)?;
        tags.add(fragment)?;
        paths.add(fragment)?;
        components.add(fragment)?;
    }

    let mut doc = Map::new();
    for field in MUST_AGREE {
        if let Some(v) = first.doc.get(field) {
            doc.insert(field.to_string(), v.clone());
        }
    }
    let operations = paths.operations();
    let (components, schemas) = components.finish();
    if !components.is_empty() {
        doc.insert("components".to_string(), Value::Object(components));
    }
    doc.insert("paths".to_string(), Value::Object(paths.finish()));
    if let Some(tags) = tags.finish() {
        doc.insert("tags".to_string(), tags);
    }

    let document = canonical(Value::Object(doc));
    validate::check(&document)?;
    Ok(Merged {
        document,
        operations,
        schemas,
        fragments: fragments.len(),
    })
}

/// Refuses a fragment whose header fields differ from the first fragment's.
fn check_header(first: &Fragment, fragment: &Fragment) -> Result<(), MergeError> {
    for field in MUST_AGREE {
        if fragment.doc.get(field) != first.doc.get(field) {
            return Err(MergeError::Disagreement {
                field: field.to_string(),
                first: first.name.clone(),
                second: fragment.name.clone(),
            });
        }
    }
    Ok(())
}

/// Tags by name: a tag may appear in many fragments, but only with one definition.
#[derive(Default)]
struct Tags {
    by_name: BTreeMap<String, Value>,
    origin: BTreeMap<String, String>,
}

impl Tags {
    fn add(&mut self, fragment: &Fragment) -> Result<(), MergeError> {
        let listed = fragment.doc.get("tags").and_then(Value::as_array);
        for tag in listed.into_iter().flatten() {
            let name = tag
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            match self.by_name.get(&name) {
                Some(existing) if existing != tag => {
                    return Err(MergeError::Disagreement {
                        field: format!("tags[{name}]"),
                        first: self.origin.get(&name).cloned().unwrap_or_default(),
                        second: fragment.name.clone(),
                    });
                }
                Some(_) => {}
                None => {
                    self.by_name.insert(name.clone(), tag.clone());
                    self.origin.insert(name, fragment.name.clone());
                }
            }
        }
        Ok(())
    }

    /// The `tags` array, sorted by name, or `None` when no fragment has tags.
    fn finish(self) -> Option<Value> {
        (!self.by_name.is_empty()).then(|| Value::Array(self.by_name.into_values().collect()))
    }
}
