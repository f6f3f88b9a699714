//! Merging `components`: a component (schema, parameter, response, ...) may be defined by many
//! fragments, but only identically. `securitySchemes` are stricter: every fragment must state the same
//! ones, since a fragment without them would describe an API without authentication.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::MergeError;
use crate::fragments::Fragment;

const SECURITY_SCHEMES: &str = "securitySchemes";

/// The components merged so far, and where each came from.
#[derive(Default)]
pub(super) struct Components {
    /// Kind (`schemas`, `parameters`, ...) to name to definition.
    kinds: Map<String, Value>,
    /// `(kind, name)` to the fragment that defined it.
    origin: BTreeMap<(String, String), String>,
    /// The security schemes and the fragment that first stated them.
    security_schemes: Option<(Value, String)>,
}

impl Components {
    /// Adds every component of `fragment`.
    pub(super) fn add(&mut self, fragment: &Fragment) -> Result<(), MergeError> {
        let components = fragment.doc.get("components").and_then(Value::as_object);
        for (kind, entries) in components.into_iter().flatten() {
            if kind == SECURITY_SCHEMES {
                self.add_security_schemes(fragment, entries)?;
            } else if let Some(entries) = entries.as_object() {
                self.add_kind(fragment, kind, entries)?;
            }
        }
        // A fragment without securitySchemes disagrees with one that has them.
        if components.is_none_or(|c| !c.contains_key(SECURITY_SCHEMES))
            && let Some((_, origin)) = &self.security_schemes
        {
            return Err(MergeError::Disagreement {
                field: format!("components.{SECURITY_SCHEMES}"),
                first: origin.clone(),
                second: fragment.name.clone(),
            });
        }
        Ok(())
    }

    fn add_security_schemes(
        &mut self,
        fragment: &Fragment,
        schemes: &Value,
    ) -> Result<(), MergeError> {
        match &self.security_schemes {
            Some((existing, origin)) if existing != schemes => Err(MergeError::Disagreement {
                field: format!("components.{SECURITY_SCHEMES}"),
                first: origin.clone(),
                second: fragment.name.clone(),
            }),
            Some(_) => Ok(()),
            None => {
                self.security_schemes = Some((schemes.clone(), fragment.name.clone()));
                Ok(())
            }
        }
    }

    fn add_kind(
        &mut self,
        fragment: &Fragment,
        kind: &str,
        entries: &Map<String, Value>,
    ) -> Result<(), MergeError> {
        let merged_kind = self
            .kinds
            .entry(kind.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(merged_kind) = merged_kind else {
            return Ok(());
        };
        for (name, def) in entries {
            let origin_key = (kind.to_string(), name.clone());
            match merged_kind.get(name) {
                Some(existing) if existing != def => {
                    return Err(MergeError::ConflictingComponent {
                        kind: kind.to_string(),
                        name: name.clone(),
                        first: self.origin.get(&origin_key).cloned().unwrap_or_default(),
                        second: fragment.name.clone(),
                    });
                }
                Some(_) => {}
                None => {
                    merged_kind.insert(name.clone(), def.clone());
                    self.origin.insert(origin_key, fragment.name.clone());
                }
            }
        }
        Ok(())
    }

    /// The merged `components` object and its number of schemas.
    pub(super) fn finish(mut self) -> (Map<String, Value>, usize) {
        if let Some((schemes, _)) = self.security_schemes {
            self.kinds.insert(SECURITY_SCHEMES.to_string(), schemes);
        }
        let schemas = self
            .kinds
            .get("schemas")
            .and_then(Value::as_object)
            .map_or(0, Map::len);
        (self.kinds, schemas)
    }
}
