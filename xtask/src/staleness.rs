//! `regen --check`: compares a committed document with a fresh merge and, when they differ, says
//! which operations, components and top-level fields changed rather than printing a text diff.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::document::{components_of, operations_of};

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
    diff_maps(
        "operation",
        &operations_of(&old),
        &operations_of(&new),
        &mut lines,
    );
    diff_maps(
        "component",
        &components_of(&old),
        &components_of(&new),
        &mut lines,
    );
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
