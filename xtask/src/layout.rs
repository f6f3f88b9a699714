//! Where the workspace keeps its OpenAPI files, and the file operations `cargo xtask` performs on
//! them: merging the fragments found there, reading the committed document, writing outputs.

use std::fs;
use std::path::{Path, PathBuf};

use crate::document::render;
use crate::error::{MergeError, io_err};
use crate::fragments::load_fragments;
use crate::merge::{Merged, merge};

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
    read_if_present(&layout.merged)
}

/// Reads `path`, `None` if it does not exist.
pub fn read_if_present(path: &Path) -> Result<Option<String>, MergeError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path, e)),
    }
}

/// Writes `text` to `path`, creating parent directories.
pub fn write(path: &Path, text: &str) -> Result<(), MergeError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
    }
    fs::write(path, text).map_err(|e| io_err(path, e))
}
