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
