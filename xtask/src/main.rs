//! `cargo xtask`: project tooling.
//!
//! - `cargo xtask regen` merges `openapi/fragments/*.json` into `openapi/blynk-platform.json`.
//! - `cargo xtask regen --check` fails, saying what differs, when the committed document is stale.
//! - `cargo xtask import-seed FILE` splits the API reference into one fragment per operation.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use xtask::{Layout, Staleness};

const USAGE: &str = "usage:
  cargo xtask regen            merge openapi/fragments/*.json into openapi/blynk-platform.json
  cargo xtask regen --check    exit 1 if the committed merged document is stale or missing
  cargo xtask import-seed FILE split the API reference into openapi/fragments/<operationId>.json";

fn workspace_root() -> PathBuf {
    // XTASK_ROOT lets tests point the tool at a scratch copy of the tree.
    if let Some(root) = std::env::var_os("XTASK_ROOT") {
        return PathBuf::from(root);
    }
    // xtask lives one level below the workspace root, wherever cargo was run from.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let layout = Layout::of(&root);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["regen"] => regen(&layout, &root, false),
        ["regen", "--check"] => regen(&layout, &root, true),
        ["import-seed", file] => import_seed(&layout, Path::new(file)),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn regen(layout: &Layout, root: &Path, check: bool) -> Result<ExitCode, xtask::MergeError> {
    let (merged, text) = xtask::regenerate(layout)?;
    let shown = layout
        .merged
        .strip_prefix(root)
        .unwrap_or(&layout.merged)
        .display()
        .to_string();
    if !check {
        xtask::write(&layout.merged, &text)?;
        println!("regen: wrote {shown}: {}", merged.summary());
        return Ok(ExitCode::SUCCESS);
    }
    let committed = xtask::read_committed(layout)?;
    match xtask::staleness(committed.as_deref(), &text) {
        Staleness::UpToDate => {
            println!("regen --check: {shown} is up to date: {}", merged.summary());
            Ok(ExitCode::SUCCESS)
        }
        Staleness::Missing => {
            println!(
                "regen --check: {shown} is missing (fresh merge: {}); run `cargo xtask regen`",
                merged.summary()
            );
            Ok(ExitCode::FAILURE)
        }
        Staleness::Stale(lines) => {
            println!(
                "regen --check: {shown} is stale (fresh merge: {}); run `cargo xtask regen`",
                merged.summary()
            );
            for line in lines {
                println!("  - {line}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

fn import_seed(layout: &Layout, file: &Path) -> Result<ExitCode, xtask::MergeError> {
    let text = std::fs::read_to_string(file).map_err(|e| xtask::MergeError::Io {
        path: file.to_path_buf(),
        message: e.to_string(),
    })?;
    let fragments = xtask::split_seed(&text)?;
    for fragment in &fragments {
        xtask::write(
            &layout.fragments.join(&fragment.name),
            &xtask::render(&fragment.doc),
        )?;
    }
    println!(
        "import-seed: wrote {} fragments to {}",
        fragments.len(),
        layout.fragments.display()
    );
    Ok(ExitCode::SUCCESS)
}
