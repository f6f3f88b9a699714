//! Helpers shared by the `blynk` test suites: run the binary against a simulator, write files.

#![allow(dead_code)]

use std::path::Path;

use assert_cmd::Command;
use blynk_sim::{BlynkSim, DEMO_TOKEN};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `blynk` with `args` against `sim` (token auth unless `env` overrides), off the runtime.
pub async fn blynk(sim: &BlynkSim, args: &[&str], env: &[(&str, &str)]) -> Run {
    let config_home = tempfile::tempdir().unwrap();
    let mut cmd = Command::cargo_bin("blynk").unwrap();
    for var in [
        "BLYNK_SERVER",
        "BLYNK_REGION",
        "BLYNK_TOKEN",
        "BLYNK_CLIENT_ID",
        "BLYNK_CLIENT_SECRET",
        "BLYNK_CONFIG",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("XDG_CONFIG_HOME", config_home.path())
        .env("BLYNK_SERVER", sim.base_url())
        .env("BLYNK_TOKEN", DEMO_TOKEN);
    for (k, v) in env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    cmd.args(args);
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    drop(config_home);
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub fn ok(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
}

pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// A `ts,value` CSV of `count` points one second apart from `start`, valued `(i % modulo) / 10`.
pub fn points_csv(start: i64, count: i64, modulo: i64) -> String {
    let mut csv = String::from("ts,value\n");
    for i in 0..count {
        csv.push_str(&format!(
            "{},{}\n",
            start + i * 1000,
            (i % modulo) as f64 / 10.0
        ));
    }
    csv
}

pub fn imports(sim: &BlynkSim) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.operation == Some("importDeviceBatchData"))
        .count()
}

/// How many times each timestamp was applied by an import (answered 2xx, including answers the
/// simulator dropped after applying), from the request log. The simulator's history keeps one
/// point per timestamp, so a point stored twice shows only here. Needs a simulator built with
/// [`whole_bodies`] so that import bodies are logged whole.
pub fn applied_import_points(sim: &BlynkSim) -> std::collections::BTreeMap<i64, u32> {
    let mut applied = std::collections::BTreeMap::new();
    for request in sim.requests() {
        if request.operation != Some("importDeviceBatchData")
            || !(200..300).contains(&request.status)
        {
            continue;
        }
        let body = request
            .body
            .as_ref()
            .expect("import bodies are logged whole (see whole_bodies)");
        for point in body["values"].as_array().expect("an import body") {
            *applied.entry(point["ts"].as_i64().unwrap()).or_insert(0) += 1;
        }
    }
    applied
}

/// A simulator builder whose request log keeps import bodies whole, for
/// [`applied_import_points`].
pub fn whole_bodies() -> blynk_sim::SimBuilder {
    BlynkSim::builder().log_body_limit(blynk_api_ext::api::operations::MAX_REQUEST_BYTES)
}
