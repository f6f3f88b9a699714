//! The merge rules of `cargo xtask regen`, on small fragments and on the real ones.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use xtask::{Fragment, Layout, MergeError, Staleness, merge, render, staleness};

fn header() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "T", "version": "1.0.0"},
        "servers": [{"url": "https://example.test"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": "DataStreams", "description": "Device datastream operations"}],
    })
}

/// A fragment with one GET operation whose 200 body is `#/components/schemas/Thing`.
fn fragment(name: &str, path: &str, op_id: &str, thing: Value) -> Fragment {
    let mut doc = header();
    doc["components"] = json!({
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        "schemas": {"Thing": thing},
    });
    doc["paths"] = json!({
        path: {"get": {
            "operationId": op_id,
            "responses": {"200": {
                "description": "ok",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}
            }}
        }}
    });
    Fragment {
        name: name.to_string(),
        doc,
    }
}

fn thing() -> Value {
    json!({"type": "object", "properties": {"a": {"type": "string"}}})
}

#[test]
fn identical_schemas_appear_once() {
    let merged = merge(&[
        fragment("a.json", "/a", "getA", thing()),
        fragment("b.json", "/b", "getB", thing()),
    ])
    .unwrap();
    assert_eq!(merged.operations, 2);
    assert_eq!(merged.schemas, 1);
    assert_eq!(merged.document["components"]["schemas"]["Thing"], thing());
    assert_eq!(merged.document["paths"].as_object().unwrap().len(), 2);
}

#[test]
fn a_conflicting_schema_names_the_schema_and_both_fragments() {
    let err = merge(&[
        fragment("a.json", "/a", "getA", thing()),
        fragment("b.json", "/b", "getB", json!({"type": "string"})),
    ])
    .unwrap_err();
    assert!(matches!(err, MergeError::ConflictingComponent { .. }));
    let message = err.to_string();
    for culprit in ["Thing", "a.json", "b.json"] {
        assert!(message.contains(culprit), "{message}");
    }
}

#[test]
fn a_duplicate_operation_id_is_rejected() {
    let err = merge(&[
        fragment("a.json", "/a", "getThing", thing()),
        fragment("b.json", "/b", "getThing", thing()),
    ])
    .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, MergeError::DuplicateOperationId { .. }));
    for culprit in ["getThing", "a.json", "b.json"] {
        assert!(message.contains(culprit), "{message}");
    }
}

#[test]
fn a_duplicate_path_and_method_is_rejected() {
    let err = merge(&[
        fragment("a.json", "/same", "getA", thing()),
        fragment("b.json", "/same", "getB", thing()),
    ])
    .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, MergeError::DuplicatePathMethod { .. }));
    for culprit in ["GET /same", "a.json", "b.json"] {
        assert!(message.contains(culprit), "{message}");
    }
}

#[test]
fn the_same_path_with_different_methods_is_united() {
    let a = fragment("a.json", "/same", "getA", thing());
    let mut b = fragment("b.json", "/same", "postB", thing());
    let op = b.doc["paths"]["/same"]["get"].take();
    b.doc["paths"]["/same"] = json!({"post": op});
    let merged = merge(&[a, b]).unwrap();
    let item = merged.document["paths"]["/same"].as_object().unwrap();
    assert!(item.contains_key("get") && item.contains_key("post"));
    assert_eq!(merged.operations, 2);
}

#[test]
fn an_unresolved_ref_names_the_reference_and_where_it_is() {
    let mut a = fragment("a.json", "/a", "getA", thing());
    a.doc["paths"]["/a"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] =
        json!({"$ref": "#/components/schemas/Missing"});
    let err = merge(&[a]).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, MergeError::UnresolvedRef { .. }));
    assert!(
        message.contains("#/components/schemas/Missing"),
        "{message}"
    );
    assert!(
        message.contains("/paths/~1a/get/responses/200"),
        "{message}"
    );
}

#[test]
fn disagreeing_info_servers_security_and_schemes_are_reported() {
    for (field, change) in [
        ("info", json!({"title": "Other", "version": "2.0.0"})),
        ("servers", json!([{"url": "https://other.test"}])),
        ("security", json!([])),
    ] {
        let a = fragment("a.json", "/a", "getA", thing());
        let mut b = fragment("b.json", "/b", "getB", thing());
        b.doc[field] = change;
        let err = merge(&[a, b]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&format!("`{field}`")), "{message}");
        assert!(
            message.contains("a.json") && message.contains("b.json"),
            "{message}"
        );
    }
    let a = fragment("a.json", "/a", "getA", thing());
    let mut b = fragment("b.json", "/b", "getB", thing());
    b.doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] = json!("basic");
    let message = merge(&[a, b]).unwrap_err().to_string();
    assert!(message.contains("securitySchemes"), "{message}");
}

#[test]
fn an_operation_without_an_operation_id_is_rejected() {
    let mut a = fragment("a.json", "/a", "getA", thing());
    a.doc["paths"]["/a"]["get"]
        .as_object_mut()
        .unwrap()
        .remove("operationId");
    let err = merge(&[a]).unwrap_err();
    assert!(matches!(err, MergeError::MissingOperationId { .. }));
    let message = err.to_string();
    assert!(message.contains("GET /a in a.json"), "{message}");
}

#[test]
fn a_tag_defined_differently_names_both_fragments() {
    let a = fragment("a.json", "/a", "getA", thing());
    let mut b = fragment("b.json", "/b", "getB", thing());
    b.doc["tags"][0]["description"] = json!("Something else");
    let message = merge(&[a, b]).unwrap_err().to_string();
    assert!(message.contains("tags[DataStreams]"), "{message}");
    assert!(
        message.contains("a.json") && message.contains("b.json"),
        "{message}"
    );
}

#[test]
fn a_fragment_without_the_security_schemes_disagrees() {
    let a = fragment("a.json", "/a", "getA", thing());
    let mut b = fragment("b.json", "/b", "getB", thing());
    b.doc["components"]
        .as_object_mut()
        .unwrap()
        .remove("securitySchemes");
    let message = merge(&[a, b]).unwrap_err().to_string();
    assert!(message.contains("components.securitySchemes"), "{message}");
    assert!(
        message.contains("a.json") && message.contains("b.json"),
        "{message}"
    );
}

#[test]
fn shared_path_item_fields_must_be_identical() {
    let param = |name: &str| json!([{"name": name, "in": "query", "schema": {"type": "string"}}]);
    let mut a = fragment("a.json", "/same", "getA", thing());
    a.doc["paths"]["/same"]["parameters"] = param("x");
    let mut b = fragment("b.json", "/same", "postB", thing());
    let op = b.doc["paths"]["/same"]["get"].take();
    b.doc["paths"]["/same"] = json!({"post": op, "parameters": param("x")});
    let merged = merge(&[a.clone(), b.clone()]).unwrap();
    assert_eq!(merged.document["paths"]["/same"]["parameters"], param("x"));

    b.doc["paths"]["/same"]["parameters"] = param("y");
    let message = merge(&[a, b]).unwrap_err().to_string();
    assert!(message.contains("paths[/same].parameters"), "{message}");
}

#[test]
fn the_merge_is_deterministic_whatever_the_fragment_key_order() {
    let a = fragment("a.json", "/a", "getA", thing());
    let b = fragment("b.json", "/b", "getB", thing());
    let first = render(&merge(&[a.clone(), b.clone()]).unwrap().document);
    // Same content, keys written in another order.
    let reordered: Value = serde_json::from_str(&serde_json::to_string(&b.doc).unwrap()).unwrap();
    let second = render(
        &merge(&[
            a,
            Fragment {
                name: "b.json".into(),
                doc: reordered,
            },
        ])
        .unwrap()
        .document,
    );
    assert_eq!(first, second);
    assert!(first.ends_with("}\n"));
}

#[test]
fn staleness_detects_a_missing_and_a_stale_document() {
    let merged = merge(&[fragment("a.json", "/a", "getA", thing())]).unwrap();
    let fresh = render(&merged.document);
    assert_eq!(staleness(None, &fresh), Staleness::Missing);
    assert_eq!(staleness(Some(&fresh), &fresh), Staleness::UpToDate);

    let changed = merge(&[
        fragment("a.json", "/a", "getA", json!({"type": "integer"})),
        fragment("b.json", "/b", "getB", json!({"type": "integer"})),
    ])
    .unwrap();
    let Staleness::Stale(lines) = staleness(Some(&fresh), &render(&changed.document)) else {
        panic!("expected stale");
    };
    assert!(
        lines.contains(&"operation added: GET /b (getB)".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"component changed: schemas/Thing".to_string()),
        "{lines:?}"
    );

    let Staleness::Stale(lines) = staleness(Some(fresh.trim_end()), &fresh) else {
        panic!("expected stale");
    };
    assert_eq!(
        lines,
        vec!["same content, different formatting".to_string()]
    );
}

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn the_real_fragments_merge_into_the_committed_document() {
    let (merged, text) = xtask::regenerate(&Layout::of(root())).unwrap();
    assert_eq!(merged.operations, 8);
    assert_eq!(merged.fragments, 8);
    assert_eq!(merged.schemas, 4);
    let committed = xtask::read_committed(&Layout::of(root())).unwrap();
    assert_eq!(
        committed.as_deref(),
        Some(text.as_str()),
        "run `cargo xtask regen`"
    );
    let packaged = xtask::read_if_present(&Layout::of(root()).packaged).unwrap();
    assert!(
        packaged.as_deref() == Some(text.as_str()),
        "blynk-api's copy is stale: run `cargo xtask regen`"
    );
}

#[test]
fn the_fragments_are_the_seed_documents() {
    let seed = root().join("../shared/seed/000_9c08b99a120da1ab.txt");
    let Ok(text) = std::fs::read_to_string(&seed) else {
        // The seed sits beside the project on developer machines only.
        eprintln!("skipped: {} not present", seed.display());
        return;
    };
    let from_seed = xtask::split_seed(&text).unwrap();
    let on_disk = xtask::load_fragments(&Layout::of(root()).fragments).unwrap();
    assert_eq!(from_seed.len(), 8);
    for fragment in from_seed {
        let disk = on_disk.iter().find(|f| f.name == fragment.name).unwrap();
        assert_eq!(disk.doc, fragment.doc, "{}", fragment.name);
    }
}

/// Runs the xtask binary with `args` on the tree rooted at `dir`.
fn run_xtask(dir: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("XTASK_ROOT", dir)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

fn run_check(dir: &Path) -> (bool, String) {
    run_xtask(dir, &["regen", "--check"])
}

/// A scratch tree holding a copy of the workspace's fragments and nothing else.
fn scratch_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fragments = dir.path().join("openapi/fragments");
    std::fs::create_dir_all(&fragments).unwrap();
    for entry in std::fs::read_dir(root().join("openapi/fragments")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, fragments.join(path.file_name().unwrap())).unwrap();
    }
    dir
}

/// Copies the committed merged document to both places `regen` writes it.
fn copy_committed_outputs(dir: &Path) {
    let layout = Layout::of(dir);
    for (path, _) in layout.outputs() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::copy(root().join("openapi/blynk-platform.json"), path).unwrap();
    }
}

#[test]
fn check_mode_exits_non_zero_on_a_stale_or_missing_document() {
    let dir = scratch_tree();
    let fragments = dir.path().join("openapi/fragments");

    let (ok, out) = run_check(dir.path());
    assert!(!ok && out.contains("missing"), "{out}");

    copy_committed_outputs(dir.path());
    let (ok, out) = run_check(dir.path());
    assert!(ok, "{out}");
    assert!(
        out.contains("8 operations, 4 schemas, from 8 fragments"),
        "{out}"
    );

    // A spec update: a fragment changes a description.
    let fragment = fragments.join("getDeviceDataStreamsV2.json");
    let text = std::fs::read_to_string(&fragment).unwrap();
    std::fs::write(
        &fragment,
        text.replace("\"Device ID\"", "\"The device ID\""),
    )
    .unwrap();
    let (ok, out) = run_check(dir.path());
    assert!(!ok, "{out}");
    assert!(
        out.contains("operation changed: GET /api/v2/organization/device/datastreams (getDeviceDataStreamsV2)"),
        "{out}"
    );
}

#[test]
fn check_mode_fails_when_the_packaged_copy_is_missing() {
    let dir = scratch_tree();
    copy_committed_outputs(dir.path());
    std::fs::remove_file(Layout::of(dir.path()).packaged).unwrap();

    let (ok, out) = run_check(dir.path());
    assert!(!ok, "{out}");
    assert!(
        out.contains("regen --check: openapi/blynk-platform.json is up to date"),
        "{out}"
    );
    assert!(
        out.contains(
            "blynk-api/openapi/blynk-platform.json (the copy packaged with blynk-api) is missing"
        ),
        "{out}"
    );
}

#[test]
fn check_mode_fails_when_the_packaged_copy_differs_from_the_merged_document() {
    let dir = scratch_tree();
    copy_committed_outputs(dir.path());
    let packaged = Layout::of(dir.path()).packaged;
    let text = std::fs::read_to_string(&packaged).unwrap();
    let edited = text.replace("\"Device ID\"", "\"The device ID\"");
    assert_ne!(edited, text, "the edit must change the copy");
    std::fs::write(&packaged, edited).unwrap();

    let (ok, out) = run_check(dir.path());
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "blynk-api/openapi/blynk-platform.json (the copy packaged with blynk-api) is stale"
        ),
        "{out}"
    );
    assert!(
        out.contains("operation changed: GET /api/v2/organization/device/datastreams (getDeviceDataStreamsV2)"),
        "{out}"
    );
}

#[test]
fn regen_writes_the_merged_document_and_its_packaged_copy() {
    let dir = scratch_tree();
    let (ok, out) = run_xtask(dir.path(), &["regen"]);
    assert!(ok, "{out}");
    let committed = std::fs::read_to_string(root().join("openapi/blynk-platform.json")).unwrap();
    let layout = Layout::of(dir.path());
    for (path, _) in layout.outputs() {
        let written = std::fs::read_to_string(path).unwrap();
        assert!(written == committed, "{} differs", path.display());
    }
    let (ok, out) = run_check(dir.path());
    assert!(ok, "{out}");
}
