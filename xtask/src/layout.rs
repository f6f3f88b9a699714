//! Where the workspace keeps its OpenAPI files, and the file operations `cargo xtask` performs on
//! them: merging the fragments found there, reading the committed document, writing outputs.
//!
//! The merged document is written twice, byte for byte: `openapi/blynk-platform.json` is the one a
//! reader of the repository finds next to the fragments, and `blynk-api/openapi/blynk-platform.json`
//! is the copy `blynk-api`'s build script reads, inside the package so the crate builds from its own
//! `.crate` file. `regen --check` holds both to a fresh merge.

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
    /// The copy of the merged document packaged with `blynk-api`, read by its build script.
    pub packaged: PathBuf,
}

impl Layout {
    /// The layout of a workspace rooted at `root`.
    pub fn of(root: &Path) -> Self {
        Self {
            fragments: root.join("openapi").join("fragments"),
            merged: root.join("openapi").join("blynk-platform.json"),
            packaged: root
                .join("blynk-api")
                .join("openapi")
                .join("blynk-platform.json"),
        }
    }

    /// Every file `regen` writes the merged document to, with what it is for (for messages).
    pub fn outputs(&self) -> [(&Path, &'static str); 2] {
        [
            (self.merged.as_path(), "the merged document"),
            (self.packaged.as_path(), "the copy packaged with blynk-api"),
        ]
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
