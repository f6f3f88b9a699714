//! Generates the Blynk Platform client from `openapi/blynk-platform.json` with progenitor.
//!
//! The document read is the package's own copy, `blynk-api/openapi/blynk-platform.json`, written by
//! `cargo xtask regen` byte for byte from the workspace's `openapi/blynk-platform.json` (and held equal
//! to it by `regen --check`), so the crate also builds from its published package.
//!
//! Steps: read the merged document; read the limits it states and the operation table
//! (`build/operations.rs`); adapt a copy of it for progenitor
//! (`build/adapt.rs`, each adaptation named and explained there); check the adapted copy; generate
//! the client, and the typed httpmock helpers; write them to `$OUT_DIR`. Any failure is one sentence on
//! stderr and a non-zero exit, never a panic backtrace.

#[path = "build/adapt.rs"]
mod adapt;
#[path = "build/limits.rs"]
mod limits;
#[path = "build/mocks.rs"]
mod mocks;
#[path = "build/operations.rs"]
mod operations;

use std::path::{Path, PathBuf};

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle};
use serde_json::Value;

fn main() {
    if let Err(message) = run() {
        eprintln!("error: blynk-api code generation: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env_var("OUT_DIR")?);
    // The packaged copy, not `../openapi/`: a published crate has nothing outside its own directory.
    let document = manifest_dir.join("openapi").join("blynk-platform.json");
    for input in [
        document.as_path(),
        Path::new("build.rs"),
        Path::new("build/adapt.rs"),
        Path::new("build/limits.rs"),
        Path::new("build/mocks.rs"),
        Path::new("build/operations.rs"),
    ] {
        println!("cargo:rerun-if-changed={}", input.display());
    }

    let text = std::fs::read_to_string(&document)
        .map_err(|e| format!("cannot read {}: {e}", document.display()))?;
    let published: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not valid JSON: {e}", document.display()))?;

    write(&out_dir.join("limits.rs"), &limits::render(&published)?)?;
    write(
        &out_dir.join("operations.rs"),
        &operations::render(&published)?,
    )?;

    let client_doc = adapt::adapt(&published, adapt::FOR_CLIENT)?;
    adapt::preflight(&client_doc)?;
    let client = generate(&client_doc, |generator, spec| {
        generator.generate_tokens(spec)
    })?;
    write(&out_dir.join("codegen.rs"), &client)?;

    let mock_doc = adapt::adapt(&published, adapt::FOR_MOCKS)?;
    let mocks = generate(&mock_doc, |generator, spec| {
        generator.httpmock(spec, "crate")
    })?;
    let mocks = mocks::repair(&mocks)?;
    write(&out_dir.join("mocks.rs"), &mocks)?;
    Ok(())
}

fn env_var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set; run through cargo"))
}

fn settings() -> GenerationSettings {
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_inner_type(quote::quote! { crate::hooks::Hooks })
        .with_hooks(HooksMode::Expected)
        .with_derive("schemars::JsonSchema")
        .with_derive("PartialEq")
        // Maps serialize in key order, so a request body is the same bytes every time.
        .with_map_type("::std::collections::BTreeMap");
    settings
}

/// Runs one progenitor generator on an adapted document and pretty-prints the result.
///
/// Progenitor reports some unsupported shapes by panicking; `adapt::preflight` rules out the ones
/// known for this API, and anything else is caught here and turned into one sentence.
fn generate(
    doc: &Value,
    run: impl FnOnce(
        &mut Generator,
        &openapiv3::OpenAPI,
    ) -> Result<proc_macro2::TokenStream, progenitor::Error>,
) -> Result<String, String> {
    let spec: openapiv3::OpenAPI = serde_json::from_value(doc.clone())
        .map_err(|e| format!("the adapted document is not OpenAPI 3.0: {e}"))?;
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut generator = Generator::new(&settings());
        run(&mut generator, &spec)
    }));
    let _ = std::panic::take_hook();
    let tokens = match outcome {
        Ok(Ok(tokens)) => tokens,
        Ok(Err(e)) => return Err(format!("progenitor rejected the document: {e}")),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_else(|| "unknown panic".to_string());
            return Err(format!(
                "progenitor panicked ({what}); a shape in the document is not covered by \
                 blynk-api/build/adapt.rs"
            ));
        }
    };
    let file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("progenitor emitted invalid Rust: {e}"))?;
    Ok(prettyplease::unparse(&file))
}

fn write(path: &Path, contents: &str) -> Result<(), String> {
    // Leave an unchanged file alone so that its timestamp does not force a rebuild.
    if std::fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    std::fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
