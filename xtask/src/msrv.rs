//! `cargo xtask msrv`: no package in the lock file declares a `rust-version` newer than the
//! workspace's own. Clippy's `incompatible_msrv` lint checks our code's use of the standard library
//! against `rust-version`; it cannot see dependencies, which is what this check covers. It reads
//! `cargo metadata` output, so it covers every package the lock file resolves, for every target.

use std::fmt;

use serde_json::Value;

/// A Rust version as `rust-version` states it (`1.88` or `1.88.0`); a missing part counts as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RustVersion {
    /// Major version.
    pub major: u64,
    /// Minor version.
    pub minor: u64,
    /// Patch version.
    pub patch: u64,
}

impl RustVersion {
    /// Parses `1`, `1.88` or `1.88.0`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let mut next = |required: bool| match parts.next() {
            Some(part) => part.parse::<u64>().ok(),
            None if required => None,
            None => Some(0),
        };
        let version = Self {
            major: next(true)?,
            minor: next(false)?,
            patch: next(false)?,
        };
        parts.next().is_none().then_some(version)
    }
}

impl fmt::Display for RustVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A package that needs a newer Rust than the workspace declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooNew {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
    /// Its `rust-version`.
    pub rust_version: RustVersion,
}

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsrvReport {
    /// The workspace's declared `rust-version` (the lowest among its members).
    pub declared: RustVersion,
    /// Number of packages checked, the workspace's own included.
    pub packages: usize,
    /// Packages whose `rust-version` is newer than `declared`.
    pub too_new: Vec<TooNew>,
}

/// Why the check could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MsrvError {
    /// The metadata is not in the shape `cargo metadata --format-version 1` prints.
    Metadata(String),
    /// A workspace member declares no `rust-version`.
    Undeclared {
        /// The member's package name.
        package: String,
    },
    /// A package's `rust-version` does not parse.
    Unparsable {
        /// The package's name.
        package: String,
        /// The value it declares.
        value: String,
    },
}

impl fmt::Display for MsrvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Metadata(message) => write!(f, "cargo metadata: {message}"),
            Self::Undeclared { package } => {
                write!(f, "workspace member {package} declares no rust-version")
            }
            Self::Unparsable { package, value } => {
                write!(
                    f,
                    "{package} declares rust-version `{value}`, not a version"
                )
            }
        }
    }
}

impl std::error::Error for MsrvError {}

/// Checks the output of `cargo metadata --format-version 1` (with dependencies).
pub fn check_msrv(metadata: &Value) -> Result<MsrvReport, MsrvError> {
    let packages = metadata
        .get("packages")
        .and_then(Value::as_array)
        .ok_or_else(|| MsrvError::Metadata("no `packages` array".into()))?;
    let members: Vec<&str> = metadata
        .get("workspace_members")
        .and_then(Value::as_array)
        .ok_or_else(|| MsrvError::Metadata("no `workspace_members` array".into()))?
        .iter()
        .filter_map(Value::as_str)
        .collect();

    let mut declared: Option<RustVersion> = None;
    let mut checked = Vec::with_capacity(packages.len());
    for package in packages {
        let name = package.get("name").and_then(Value::as_str).unwrap_or("?");
        let id = package.get("id").and_then(Value::as_str).unwrap_or("");
        let rust_version = match package.get("rust_version").and_then(Value::as_str) {
            Some(value) => {
                Some(
                    RustVersion::parse(value).ok_or_else(|| MsrvError::Unparsable {
                        package: name.to_string(),
                        value: value.to_string(),
                    })?,
                )
            }
            None => None,
        };
        if members.contains(&id) {
            let Some(version) = rust_version else {
                return Err(MsrvError::Undeclared {
                    package: name.to_string(),
                });
            };
            declared = Some(declared.map_or(version, |d| d.min(version)));
        }
        checked.push((package, name, rust_version));
    }
    let declared = declared.ok_or_else(|| MsrvError::Metadata("no workspace member".into()))?;

    let too_new = checked
        .iter()
        .filter_map(|(package, name, rust_version)| {
            let rust_version = (*rust_version)?;
            (rust_version > declared).then(|| TooNew {
                name: name.to_string(),
                version: package
                    .get("version")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string(),
                rust_version,
            })
        })
        .collect();
    Ok(MsrvReport {
        declared,
        packages: checked.len(),
        too_new,
    })
}
