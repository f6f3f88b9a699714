//! Where to connect and with what: flags, then the environment (both through clap), then the
//! config file. Secrets are never printed.

use std::path::{Path, PathBuf};

use blynk_api_ext::{Blynk, Region};
use serde::Deserialize;

use crate::fail::Failure;

/// The connection settings as given on the command line or in the environment.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConnectionArgs {
    /// Server base URL, e.g. https://fra1.blynk.cloud or http://127.0.0.1:8080.
    #[arg(long, env = "BLYNK_SERVER", global = true)]
    pub server: Option<String>,
    /// Region: global, fra1, lon1, ny3, sgp1 or blr1 (ignored when --server is set).
    #[arg(long, env = "BLYNK_REGION", global = true)]
    pub region: Option<String>,
    /// Bearer token (prefer the BLYNK_TOKEN variable: flags show in process lists).
    #[arg(long, env = "BLYNK_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// OAuth2 client ID.
    #[arg(long, env = "BLYNK_CLIENT_ID", global = true)]
    pub client_id: Option<String>,
    /// OAuth2 client secret (prefer the BLYNK_CLIENT_SECRET variable).
    #[arg(
        long,
        env = "BLYNK_CLIENT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub client_secret: Option<String>,
    /// Config file (TOML: server, region, token, client_id, client_secret).
    /// Default: $XDG_CONFIG_HOME/blynk/config.toml or ~/.config/blynk/config.toml.
    #[arg(long, env = "BLYNK_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Allow plain http to hosts other than loopback.
    #[arg(long, global = true)]
    pub allow_insecure_http: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    server: Option<String>,
    region: Option<String>,
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn default_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME") {
        return Some(PathBuf::from(dir).join("blynk/config.toml"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config/blynk/config.toml"))
}

fn read_file(path: &Path, explicit: bool) -> Result<FileConfig, Failure> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| {
            Failure::config(
                format!("config file {} is invalid: {}", path.display(), e.message()),
                "keys are server, region, token, client_id, client_secret",
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            Ok(FileConfig::default())
        }
        Err(e) => Err(Failure::config(
            format!("cannot read config file {}: {e}", path.display()),
            "check the path given with --config or BLYNK_CONFIG",
        )),
    }
}

impl ConnectionArgs {
    /// Builds the client: flags and environment first, then the config file for what is unset.
    pub fn client(&self) -> Result<Blynk, Failure> {
        let (path, explicit) = match &self.config {
            Some(p) => (Some(p.clone()), true),
            None => (default_config_path(), false),
        };
        let file = match &path {
            Some(p) => read_file(p, explicit)?,
            None => FileConfig::default(),
        };
        let server = self.server.clone().or(file.server);
        let region = self.region.clone().or(file.region);
        let token = self.token.clone().or(file.token);
        let client_id = self.client_id.clone().or(file.client_id);
        let client_secret = self.client_secret.clone().or(file.client_secret);

        let mut builder = Blynk::builder();
        builder = match (server, region) {
            (Some(url), _) => builder.base_url(url),
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
                    "set BLYNK_TOKEN, or BLYNK_CLIENT_ID and BLYNK_CLIENT_SECRET (or use a config file)",
                ));
            }
        };
        if self.allow_insecure_http {
            builder = builder.allow_insecure_http();
        }
        builder.build().map_err(|e| {
            Failure::config(
                e.to_string(),
                "check BLYNK_SERVER / BLYNK_REGION and the credentials",
            )
        })
    }
}
