//! The README's `blynk` section works copy-paste: every line of its shell block runs, in order,
//! against a simulator this test starts (in place of the one the block starts on port 8080), and
//! every `blynk` line exits 0. The exit-code tables of both READMEs are the `Exit` enum's.

use std::path::Path;

use blynk_sim::BlynkSim;

/// The shell block of the README's "The `blynk` command" section.
fn block() -> Vec<String> {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("## The `blynk` command")
        .nth(1)
        .expect("the README has a `blynk` section");
    let body = section
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the section opens with a sh block");
    body.lines().map(str::to_string).collect()
}

/// `line` without its trailing `# comment` (outside quotes, which the block does not need).
fn command(line: &str) -> &str {
    match line.find("  #") {
        Some(i) => line[..i].trim_end(),
        None => line.trim_end(),
    }
}

#[test]
fn the_readme_exit_code_tables_are_the_enums_table() {
    for (name, readme) in [
        ("README.md", include_str!("../../README.md")),
        ("blynk-cli/README.md", include_str!("../README.md")),
    ] {
        assert!(
            readme.contains(&blynk_cli::exit::Exit::markdown_table()),
            "the exit-code table of {name} differs from Exit::markdown_table():\n{}",
            blynk_cli::exit::Exit::markdown_table()
        );
    }
}

#[test]
fn the_block_installs_the_tool_and_points_it_at_the_simulator() {
    let lines = block();
    let commands: Vec<&str> = lines.iter().map(|l| command(l)).collect();
    assert!(
        commands.contains(&"cargo install --path blynk-cli"),
        "{commands:?}"
    );
    assert!(
        commands.contains(&"cargo run -p blynk-sim -- --port 8080 &"),
        "{commands:?}"
    );
    assert!(
        commands.contains(&"export BLYNK_SERVER=http://127.0.0.1:8080 BLYNK_TOKEN=demo-token"),
        "{commands:?}"
    );
    assert_eq!(blynk_sim::DEMO_TOKEN, "demo-token");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_blynk_line_of_the_readme_runs_against_the_simulator() {
    let sim = BlynkSim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("blynk");
    let bin_dir = bin.parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    for line in block() {
        let cmd = command(&line).to_string();
        if cmd.is_empty() || cmd.starts_with("cargo ") || cmd.starts_with("export ") {
            continue;
        }
        if cfg!(not(feature = "demo")) && cmd == "blynk demo" {
            continue;
        }
        let server = sim.base_url().to_string();
        let (cwd, path) = (dir.path().to_path_buf(), path.clone());
        let shown = cmd.clone();
        let output = tokio::task::spawn_blocking(move || run(&cmd, &cwd, &path, &server))
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "`{shown}`: {stderr}");
        if shown.starts_with("blynk ") {
            ran += 1;
        }
    }
    assert!(ran >= 10, "only {ran} blynk lines ran");
    assert!(
        std::fs::read_to_string(dir.path().join("history.csv"))
            .unwrap()
            .lines()
            .count()
            > 1000,
        "the exported history is what the import lines read"
    );
}

fn run(cmd: &str, cwd: &Path, path: &str, server: &str) -> std::process::Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", path)
        .env("HOME", cwd)
        .env("XDG_CONFIG_HOME", cwd)
        .env("BLYNK_SERVER", server)
        .env("BLYNK_TOKEN", blynk_sim::DEMO_TOKEN)
        .output()
        .unwrap()
}
