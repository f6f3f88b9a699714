//! Where to connect and with what: flags, then the environment, then the config file. Secrets are
//! never printed: not the token or client secret, not a password or query in a server URL, not
//! the value of a config key of the wrong type.
//!
//! The environment is read here rather than by clap, so that a variable does not count as a flag
//! given on the command line (clap would then print `--server` and `--token` in usage lines as if
//! they were required), and so that tests pass their own environment.

use std::path::{Path, PathBuf};
use std::time::Duration;

use blynk_api_ext::{Blynk, BuildError, Region};

use crate::fail::Failure;

/// Reads an environment variable (the process environment in `blynk`, a map in tests).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The connection settings as given on the command line.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Connection (flags, then environment, then config file)")]
pub struct ConnectionArgs {
    /// Server base URL, e.g. https://fra1.blynk.cloud or http://127.0.0.1:8080 [env: BLYNK_SERVER]
    #[arg(long, global = true, value_name = "URL")]
    pub server: Option<String>,
    /// Region: global, fra1, lon1, ny3, sgp1 or blr1, when no server is set [env: BLYNK_REGION]
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Bearer token; prefer the variable, flags show in process lists [env: BLYNK_TOKEN]
    #[arg(long, global = true)]
    pub token: Option<String>,
    /// OAuth2 client ID [env: BLYNK_CLIENT_ID]
    #[arg(long, global = true, value_name = "ID")]
    pub client_id: Option<String>,
    /// OAuth2 client secret; prefer the variable [env: BLYNK_CLIENT_SECRET]
    #[arg(long, global = true, value_name = "SECRET")]
    pub client_secret: Option<String>,
    /// Config file, TOML with the keys server, region, token, client_id, client_secret
    /// (default: $XDG_CONFIG_HOME/blynk/config.toml or ~/.config/blynk/config.toml) [env: BLYNK_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Allow plain http to hosts other than loopback (tokens then travel unencrypted)
    #[arg(long, global = true)]
    pub allow_insecure_http: bool,
    /// Time allowed for each request: 30s, 500ms, 2m, or seconds (default 30s; failed
    /// requests that are safe to repeat are retried)
    #[arg(long, global = true, value_name = "DURATION", value_parser = crate::time::parse_timeout)]
    pub timeout: Option<Duration>,
}

/// The keys a config file may hold.
const KEYS: [&str; 5] = ["server", "region", "token", "client_id", "client_secret"];

#[derive(Debug, Default)]
struct FileConfig {
    values: std::collections::BTreeMap<String, String>,
}

impl FileConfig {
    fn get(&self, key: &str) -> Option<String> {
        self.values.get(key).cloned()
    }
}

fn default_config_path(env: Env) -> Option<PathBuf> {
    if let Some(dir) = env("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("blynk/config.toml"));
    }
    env("HOME").map(|home| PathBuf::from(home).join(".config/blynk/config.toml"))
}

/// The config file's keys, each checked to be a string. Errors name the key and never the
/// value, which may be a secret.
fn parse_file(path: &Path, text: &str) -> Result<FileConfig, Failure> {
    let hint = "keys are server, region, token, client_id, client_secret, each a \"quoted\" string";
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text.get(..s.start).unwrap_or("").matches('\n').count() + 1);
        let at = line.map(|l| format!(":{l}")).unwrap_or_default();
        // The parser's message names what it expected, not the text it found.
        let what = e.message().lines().next().unwrap_or("not TOML").to_string();
        Failure::config(
            format!(
                "config file {}{at} is not valid TOML: {what}",
                path.display()
            ),
            hint,
        )
    })?;
    let mut values = std::collections::BTreeMap::new();
    for (key, value) in table {
        if !KEYS.contains(&key.as_str()) {
            return Err(Failure::config(
                format!("config file {}: unknown key `{key}`", path.display()),
                hint,
            ));
        }
        match value {
            toml::Value::String(s) => {
                values.insert(key, s);
            }
            other => {
                return Err(Failure::config(
                    format!(
                        "config file {}: `{key}` must be a string, found a {}",
                        path.display(),
                        other.type_str()
                    ),
                    hint,
                ));
            }
        }
    }
    Ok(FileConfig { values })
}

fn read_file(path: &Path, explicit: bool) -> Result<FileConfig, Failure> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_file(path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            Ok(FileConfig::default())
        }
        Err(e) => Err(Failure::config(
            format!("cannot read config file {}: {e}", path.display()),
            "check the path given with --config or BLYNK_CONFIG",
        )),
    }
}

/// `url` with any user, password, query and fragment replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_string(),
    };
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    let (path, extra) = tail.split_at(path_end);
    let extra = if extra.is_empty() { "" } else { "?***" };
    format!("{scheme}{authority}{path}{extra}")
}

/// Refuses a server URL that carries credentials or a query: they would end up in logs.
fn check_server_url(url: &str) -> Result<(), Failure> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if authority.contains('@') {
        return Err(Failure::config(
            format!(
                "the server URL {} holds a user name or password",
                redact_url(url)
            ),
            "give only scheme, host and port; put credentials in BLYNK_TOKEN or BLYNK_CLIENT_ID/BLYNK_CLIENT_SECRET",
        ));
    }
    if rest.contains(['?', '#']) {
        return Err(Failure::config(
            format!(
                "the server URL {} holds a query or fragment",
                redact_url(url)
            ),
            "give only scheme, host and port; put the token in BLYNK_TOKEN, never in the URL",
        ));
    }
    Ok(())
}

fn build_error(e: BuildError, url: Option<&str>) -> Failure {
    let shown = url.map(redact_url).unwrap_or_default();
    match e {
        BuildError::InvalidUrl { reason, .. } => Failure::config(
            format!("invalid server URL {shown}: {reason}"),
            "use a URL such as https://fra1.blynk.cloud or http://127.0.0.1:8080",
        ),
        BuildError::InsecureUrl { host } => Failure::config(
            format!("refusing plain http to {host}: the token would travel unencrypted"),
            "use https, or pass --allow-insecure-http if this is intended",
        ),
        BuildError::InvalidCredential(what) => Failure::config(
            format!("the {what} holds characters that cannot be sent in an HTTP header"),
            "check the credentials for stray spaces, newlines or quotes",
        ),
        other => Failure::config(other.to_string(), "check the server and the credentials"),
    }
}

impl ConnectionArgs {
    /// Builds the client: flags first, then the environment, then the config file.
    pub fn client(&self, env: Env) -> Result<Blynk, Failure> {
        let (path, explicit) = match (&self.config, env("BLYNK_CONFIG")) {
            (Some(p), _) => (Some(p.clone()), true),
            (None, Some(p)) if !p.is_empty() => (Some(PathBuf::from(p)), true),
            _ => (default_config_path(env), false),
        };
        let file = match &path {
            Some(p) => read_file(p, explicit)?,
            None => FileConfig::default(),
        };
        let pick = |flag: &Option<String>, var: &str, key: &str| {
            flag.clone()
                .or_else(|| env(var).filter(|v| !v.is_empty()))
                .or_else(|| file.get(key))
        };
        let server = pick(&self.server, "BLYNK_SERVER", "server");
        let region = pick(&self.region, "BLYNK_REGION", "region");
        let token = pick(&self.token, "BLYNK_TOKEN", "token");
        let client_id = pick(&self.client_id, "BLYNK_CLIENT_ID", "client_id");
        let client_secret = pick(&self.client_secret, "BLYNK_CLIENT_SECRET", "client_secret");

        let mut builder = Blynk::builder();
        builder = match (&server, region) {
            (Some(url), _) => {
                check_server_url(url)?;
                builder.base_url(url.clone())
            }
            (None, Some(region)) => builder.region(region.parse::<Region>().map_err(|e| {
                Failure::config(
                    e,
                    "set BLYNK_REGION to global, fra1, lon1, ny3, sgp1 or blr1",
                )
            })?),
            (None, None) => builder,
        };
        builder = match (token, client_id, client_secret) {
            (Some(token), _, _) => builder.token(token),
            (None, Some(id), Some(secret)) => builder.client_credentials(id, secret),
            (None, Some(_), None) => {
                return Err(Failure::config(
                    "a client ID was given without its secret",
                    "set BLYNK_CLIENT_SECRET too",
                ));
            }
            _ => {
                return Err(Failure::config(
                    "no credentials",
                    "set BLYNK_TOKEN, or BLYNK_CLIENT_ID and BLYNK_CLIENT_SECRET, or use a config file",
                ));
            }
        };
        if self.allow_insecure_http {
            builder = builder.allow_insecure_http();
        }
        if let Some(timeout) = self.timeout {
            builder = builder
                .request_timeout(timeout)
                .connect_timeout(timeout.min(blynk_api_ext::DEFAULT_CONNECT_TIMEOUT));
        }
        builder
            .build()
            .map_err(|e| build_error(e, server.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_credentials_or_query() {
        assert_eq!(
            redact_url("http://user:supersecret@127.0.0.1:8080/x?token=abc#f"),
            "http://***@127.0.0.1:8080/x?***"
        );
        assert_eq!(
            redact_url("https://fra1.blynk.cloud"),
            "https://fra1.blynk.cloud"
        );
        assert_eq!(redact_url("a@b"), "***@b");
    }

    #[test]
    fn server_urls_with_credentials_or_a_query_are_refused_without_echoing_them() {
        for url in [
            "http://user:supersecret@127.0.0.1:8080",
            "http://127.0.0.1:8080/?token=supersecret",
            "http://127.0.0.1:8080#supersecret",
        ] {
            let failure = check_server_url(url).unwrap_err();
            assert!(!failure.message.contains("supersecret"), "{failure:?}");
        }
        assert!(check_server_url("http://127.0.0.1:8080/api").is_ok());
    }

    #[test]
    fn config_type_errors_name_the_key_not_the_value() {
        let failure = parse_file(Path::new("c.toml"), "token = 123456789\n").unwrap_err();
        assert!(
            failure.message.contains("`token` must be a string"),
            "{failure:?}"
        );
        assert!(!failure.message.contains("123456789"), "{failure:?}");
        let failure = parse_file(Path::new("c.toml"), "token = \"s3cr3t\nx").unwrap_err();
        assert!(!failure.message.contains("s3cr3t"), "{failure:?}");
        let failure = parse_file(Path::new("c.toml"), "tokn = \"x\"\n").unwrap_err();
        assert!(
            failure.message.contains("unknown key `tokn`"),
            "{failure:?}"
        );
    }
}
