//! `cargo xtask`: project tooling.
//!
//! - `cargo xtask regen` merges `openapi/fragments/*.json` into `openapi/blynk-platform.json` and
//!   writes the same bytes to `blynk-api/openapi/blynk-platform.json`, the copy packaged with
//!   `blynk-api`.
//! - `cargo xtask regen --check` fails, saying what differs, when either file is stale or missing.
//! - `cargo xtask import-seed FILE` splits the API reference into one fragment per operation.
//! - `cargo xtask msrv` fails when a package in the lock file needs a newer Rust than the
//!   workspace's `rust-version`.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use xtask::{Layout, Staleness};

const USAGE: &str = "usage:
  cargo xtask regen            merge openapi/fragments/*.json into openapi/blynk-platform.json
                               and its copy blynk-api/openapi/blynk-platform.json
  cargo xtask regen --check    exit 1 if either merged document is stale or missing
  cargo xtask import-seed FILE split the API reference into openapi/fragments/<operationId>.json
  cargo xtask msrv             exit 1 if a locked dependency needs a newer Rust than rust-version";

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
        ["regen"] => regen(&layout, &root),
        ["regen", "--check"] => check(&layout, &root),
        ["import-seed", file] => import_seed(&layout, Path::new(file)),
        ["msrv"] => msrv(&root),
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

/// `path` relative to the workspace root, for messages.
fn shown(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn regen(layout: &Layout, root: &Path) -> Result<ExitCode, Box<dyn Error>> {
    let (merged, text) = xtask::regenerate(layout)?;
    for (path, _) in layout.outputs() {
        xtask::write(path, &text)?;
    }
    let [(merged_path, _), (packaged_path, _)] = layout.outputs();
    println!(
        "regen: wrote {} and {}: {}",
        shown(merged_path, root),
        shown(packaged_path, root),
        merged.summary()
    );
    Ok(ExitCode::SUCCESS)
}

fn check(layout: &Layout, root: &Path) -> Result<ExitCode, Box<dyn Error>> {
    let (merged, text) = xtask::regenerate(layout)?;
    let mut code = ExitCode::SUCCESS;
    for (path, role) in layout.outputs() {
        let committed = xtask::read_if_present(path)?;
        let shown = shown(path, root);
        match xtask::staleness(committed.as_deref(), &text) {
            Staleness::UpToDate => {
                println!("regen --check: {shown} is up to date: {}", merged.summary());
            }
            Staleness::Missing => {
                println!(
                    "regen --check: {shown} ({role}) is missing (fresh merge: {}); run `cargo xtask regen`",
                    merged.summary()
                );
                code = ExitCode::FAILURE;
            }
            Staleness::Stale(lines) => {
                println!(
                    "regen --check: {shown} ({role}) is stale (fresh merge: {}); run `cargo xtask regen`",
                    merged.summary()
                );
                for line in lines {
                    println!("  - {line}");
                }
                code = ExitCode::FAILURE;
            }
        }
    }
    Ok(code)
}

fn import_seed(layout: &Layout, file: &Path) -> Result<ExitCode, Box<dyn Error>> {
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

fn msrv(root: &Path) -> Result<ExitCode, Box<dyn Error>> {
    // `cargo run` sets CARGO to the cargo that runs us; use the same one.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--manifest-path",
        ])
        .arg(root.join("Cargo.toml"))
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let report = xtask::check_msrv(&metadata)?;
    if report.too_new.is_empty() {
        println!(
            "msrv: no package of {} in the lock file needs a newer Rust than rust-version {}",
            report.packages, report.declared
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "msrv: {} of {} packages need a newer Rust than rust-version {}:",
        report.too_new.len(),
        report.packages,
        report.declared
    );
    for package in &report.too_new {
        println!(
            "  - {} {} needs {}",
            package.name, package.version, package.rust_version
        );
    }
    println!("raise rust-version, or pin those packages to versions that support it");
    Ok(ExitCode::FAILURE)
}
