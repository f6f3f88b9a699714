//! `cargo xtask msrv`: locked packages against the workspace's declared `rust-version`.

use serde_json::{Value, json};
use xtask::{MsrvError, RustVersion, check_msrv};

fn package(name: &str, id: &str, rust_version: Option<&str>) -> Value {
    json!({"name": name, "id": id, "version": "1.2.3", "rust_version": rust_version})
}

fn metadata(packages: Vec<Value>) -> Value {
    json!({"packages": packages, "workspace_members": ["path+file:///ws/app#0.1.0"]})
}

fn v(major: u64, minor: u64, patch: u64) -> RustVersion {
    RustVersion {
        major,
        minor,
        patch,
    }
}

#[test]
fn versions_parse_with_missing_parts_as_zero() {
    assert_eq!(RustVersion::parse("1.88"), Some(v(1, 88, 0)));
    assert_eq!(RustVersion::parse("1.88.1"), Some(v(1, 88, 1)));
    assert_eq!(RustVersion::parse("1"), Some(v(1, 0, 0)));
    for bad in ["", "1.", "1.x", "1.2.3.4", "v1.88", " 1.88"] {
        assert_eq!(RustVersion::parse(bad), None, "{bad:?}");
    }
    assert!(v(1, 89, 0) > v(1, 88, 9));
}

#[test]
fn dependencies_at_or_below_the_declared_version_pass() {
    let report = check_msrv(&metadata(vec![
        package("app", "path+file:///ws/app#0.1.0", Some("1.88")),
        package("same", "registry+x#same@1.2.3", Some("1.88.0")),
        package("older", "registry+x#older@1.2.3", Some("1.60")),
        package("undeclared", "registry+x#undeclared@1.2.3", None),
    ]))
    .unwrap();
    assert_eq!(report.declared, v(1, 88, 0));
    assert_eq!(report.packages, 4);
    assert!(report.too_new.is_empty(), "{:?}", report.too_new);
}

#[test]
fn a_dependency_needing_a_newer_rust_is_named() {
    let report = check_msrv(&metadata(vec![
        package("app", "path+file:///ws/app#0.1.0", Some("1.88")),
        package("newer", "registry+x#newer@1.2.3", Some("1.88.1")),
        package("fine", "registry+x#fine@1.2.3", Some("1.70")),
    ]))
    .unwrap();
    let names: Vec<_> = report.too_new.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["newer"]);
    assert_eq!(report.too_new[0].rust_version, v(1, 88, 1));
}

#[test]
fn a_member_without_rust_version_and_an_unparsable_one_are_errors() {
    let err = check_msrv(&metadata(vec![package(
        "app",
        "path+file:///ws/app#0.1.0",
        None,
    )]))
    .unwrap_err();
    assert_eq!(
        err,
        MsrvError::Undeclared {
            package: "app".into()
        }
    );

    let err = check_msrv(&metadata(vec![
        package("app", "path+file:///ws/app#0.1.0", Some("1.88")),
        package("odd", "registry+x#odd@1.2.3", Some("latest")),
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("odd"), "{err}");
    assert!(check_msrv(&json!({})).is_err());
}

#[test]
fn the_workspace_lock_file_fits_the_declared_rust_version() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("msrv")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("needs a newer Rust than rust-version"),
        "{stdout}"
    );
}
