//! Issue 13: each finding of the new-user review of `blynk`, as a test that failed before its fix.
//! Sections: crashes, promises, exit codes, leaks, friction, hints.

mod common;

use std::io::Write;
use std::net::TcpListener;

use blynk_sim::{BlynkSim, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TOKEN};
use common::{blynk, imports, ok, write};
use serde_json::Value;

fn no_panic(run: &common::Run) {
    assert!(
        !run.stderr.contains("panicked") && run.code != 101,
        "{}",
        run.stderr
    );
}

/// A port on 127.0.0.1 that refuses connections (bound, then closed).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A server on 127.0.0.1 that answers every request with `reply` (or nothing) and keeps the
/// connection open; returns its port.
fn fake_server(reply: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            // Reply only once the request has arrived: a reply written at accept races the
            // client's request (hyper then reports "connection was not ready" or a parse error
            // depending on which comes first), and the test would depend on that timing.
            let mut request = [0u8; 1024];
            let _ = std::io::Read::read(&mut stream, &mut request);
            let _ = stream.write_all(reply);
            open.push(stream);
        }
    });
    port
}

// ---------------------------------------------------------------------------------------------
// Crashes
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_multi_byte_character_in_a_time_is_bad_input_not_a_panic() {
    let sim = BlynkSim::start().await.unwrap();
    let run = blynk(
        &sim,
        &["history", "1", "1", "--from", "2024-01-01T00:00:00+0é00"],
        &[],
    )
    .await;
    no_panic(&run);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "p.csv",
        "ts,value\n2024-01-01T00:00:00+0é00,1\n",
    );
    let run = blynk(&sim, &["import", "1", "1", &file], &[]).await;
    no_panic(&run);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("p.csv:2:1:"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_output_pipe_ends_the_run_quietly() {
    let sim = BlynkSim::start().await.unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("blynk"));
    cmd.args(["history", "1", "1", "--from", "0"])
        .env("BLYNK_SERVER", sim.base_url())
        .env("BLYNK_TOKEN", DEMO_TOKEN)
        .env_remove("BLYNK_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .stdout(writer)
        .stderr(std::process::Stdio::piped());
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "", "nothing to say when the reader went away");
}

// ---------------------------------------------------------------------------------------------
// Promises
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_file_is_checked_whole_with_the_librarys_checks_before_anything_is_sent() {
    let sim = BlynkSim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut csv = common::points_csv(1_700_000_000_000, 15_000, 100);
    csv.push_str("-1000,1\n");
    let file = write(dir.path(), "p.csv", &csv);
    let run = blynk(&sim, &["import", "1", "1", &file], &[]).await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("p.csv:15002:1:"), "{}", run.stderr);
    assert!(!run.stderr.contains("--resume-from"), "{}", run.stderr);

    let mut jsonl = String::new();
    for i in 0..15_000i64 {
        jsonl.push_str(&format!(
            "{{\"ts\": {}, \"value\": 1}}\n",
            1_700_000_000_000 + i
        ));
    }
    jsonl.push_str("{\"ts\": 1700000000000, \"value\": [500,500]}\n");
    let file = write(dir.path(), "p.jsonl", &jsonl);
    let run = blynk(&sim, &["import", "1", "1", &file], &[]).await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("p.jsonl:15001:"), "{}", run.stderr);
    assert_eq!(imports(&sim), 0, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn set_many_says_what_it_sent_and_refuses_a_datastream_given_twice() {
    let sim = BlynkSim::start().await.unwrap();
    let run = blynk(&sim, &["set-many", "101", "1=22.5", "3=eco"], &[]).await;
    ok(&run);
    assert!(
        run.stdout.contains("2 values sent") && !run.stdout.contains("updated"),
        "{}",
        run.stdout
    );
    let before = sim.requests().len();
    let run = blynk(&sim, &["set-many", "1", "1=1", "1=2"], &[]).await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr.contains("datastream 1 is given twice"),
        "{}",
        run.stderr
    );
    assert_eq!(sim.requests().len(), before, "nothing was sent");
    let json = blynk(&sim, &["set-many", "1", "1=1", "--json"], &[]).await;
    let out: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(out["sent"], 1);
}

// ---------------------------------------------------------------------------------------------
// Exit codes
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_token_endpoint_is_a_network_failure() {
    let sim = BlynkSim::start().await.unwrap();
    let server = format!("http://127.0.0.1:{}", closed_port());
    let run = blynk(
        &sim,
        &["values", "1"],
        &[
            ("BLYNK_SERVER", &server),
            ("BLYNK_TOKEN", ""),
            ("BLYNK_CLIENT_ID", DEMO_CLIENT_ID),
            ("BLYNK_CLIENT_SECRET", DEMO_CLIENT_SECRET),
        ],
    )
    .await;
    assert_eq!(run.code, 10, "{}", run.stderr);
    assert!(!run.stderr.contains(DEMO_CLIENT_SECRET), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn values_without_a_device_is_a_usage_error() {
    let sim = BlynkSim::start().await.unwrap();
    assert_eq!(blynk(&sim, &["values"], &[]).await.code, 2);
}

// ---------------------------------------------------------------------------------------------
// Leaks
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn credentials_and_queries_in_the_server_url_are_never_echoed() {
    let sim = BlynkSim::start().await.unwrap();
    let port = sim.base_url().rsplit(':').next().unwrap().to_string();
    for server in [
        format!("http://user:supersecret@127.0.0.1:{port}"),
        format!("http://127.0.0.1:{port}/?token=supersecret"),
    ] {
        for json in [false, true] {
            let mut args = vec!["values", "1"];
            if json {
                args.push("--json");
            }
            let run = blynk(&sim, &args, &[("BLYNK_SERVER", &server)]).await;
            assert_eq!(run.code, 3, "{}", run.stderr);
            assert!(!run.stderr.contains("supersecret"), "{}", run.stderr);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_value_of_the_wrong_type_is_not_printed() {
    let sim = BlynkSim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "c.toml", "token = 123456789\n");
    let run = blynk(
        &sim,
        &["values", "1"],
        &[("BLYNK_TOKEN", ""), ("BLYNK_CONFIG", &config)],
    )
    .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("`token` must be a string"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("123456789"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_text_reaches_the_terminal_with_control_characters_escaped() {
    let sim = BlynkSim::start().await.unwrap();
    ok(&blynk(
        &sim,
        &["set", "1", "3", "eco\n\u{1b}[31mred", "--text"],
        &[],
    )
    .await);
    assert_eq!(
        sim.value(1, 3),
        Some(serde_json::json!("eco\n\u{1b}[31mred"))
    );
    let run = blynk(&sim, &["values", "1"], &[]).await;
    ok(&run);
    assert!(!run.stdout.contains('\u{1b}'), "{:?}", run.stdout);
    assert!(
        run.stdout.contains("eco\\n\\u{1b}[31mred"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout.lines().count(), 5, "one line per datastream");
    let json = blynk(&sim, &["values", "1", "--json"], &[]).await;
    assert!(!json.stdout.contains('\u{1b}'));
    let out: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(out[2]["value"], "eco\n\u{1b}[31mred", "the data is intact");
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_output_shows_requests_but_never_the_token() {
    let sim = BlynkSim::start().await.unwrap();
    let run = blynk(&sim, &["values", "1", "-v"], &[]).await;
    ok(&run);
    assert!(run.stderr.contains("blynk.attempt"), "{}", run.stderr);
    assert!(
        run.stderr.contains("getDeviceDataStreamValues") || run.stderr.contains("operation"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(DEMO_TOKEN), "{}", run.stderr);
    let run = blynk(&sim, &["values", "1"], &[("RUST_LOG", "trace")]).await;
    ok(&run);
    assert!(!run.stderr.is_empty(), "RUST_LOG is honoured");
    assert!(!run.stderr.contains(DEMO_TOKEN), "{}", run.stderr);
    let run = blynk(
        &sim,
        &["values", "1", "-vvv"],
        &[
            ("BLYNK_TOKEN", ""),
            ("BLYNK_CLIENT_ID", DEMO_CLIENT_ID),
            ("BLYNK_CLIENT_SECRET", DEMO_CLIENT_SECRET),
        ],
    )
    .await;
    ok(&run);
    assert!(!run.stderr.contains(DEMO_CLIENT_SECRET), "{}", run.stderr);
    let quiet = blynk(&sim, &["values", "1"], &[]).await;
    assert_eq!(quiet.stderr, "");
}

// ---------------------------------------------------------------------------------------------
// Friction
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn negative_numbers_need_no_double_dash() {
    let sim = BlynkSim::start().await.unwrap();
    ok(&blynk(&sim, &["set", "1", "1", "-5"], &[]).await);
    assert_eq!(sim.value(1, 1), Some(serde_json::json!(-5.0)));
    ok(&blynk(&sim, &["set", "1", "4", "-74.0,40.7"], &[]).await);
    assert_eq!(sim.value(1, 4), Some(serde_json::json!([-74.0, 40.7])));
    let run = blynk(
        &sim,
        &[
            "history",
            "1",
            "1",
            "--from",
            "-1000",
            "--to",
            "1704067200000",
        ],
        &[],
    )
    .await;
    ok(&run);
    assert_eq!(run.stdout, "ts,value\n1704067200000,26\n");
    ok(&blynk(&sim, &["history", "1", "1", "--from", "-7d"], &[]).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn network_failures_say_which_kind_they_are() {
    let sim = BlynkSim::start().await.unwrap();
    let refused = format!("http://127.0.0.1:{}", closed_port());
    let tls_to_plain = sim.base_url().replace("http://", "https://");
    let other_protocol = format!(
        "http://127.0.0.1:{}",
        fake_server(b"SSH-2.0-OpenSSH_9.6\r\n")
    );
    let silent = format!("http://127.0.0.1:{}", fake_server(b""));
    let cases: [(&str, &[&str], &str); 4] = [
        (&refused, &[], "connection refused"),
        (&tls_to_plain, &[], "does not speak TLS"),
        (&other_protocol, &[], "another protocol than HTTP"),
        (&silent, &["--timeout", "300ms"], "no answer"),
    ];
    let mut messages = Vec::new();
    for (server, extra, expected) in cases {
        let args = [&["values", "1"][..], extra].concat();
        let run = blynk(&sim, &args, &[("BLYNK_SERVER", server)]).await;
        assert_eq!(run.code, 10, "{server}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{server}: {}", run.stderr);
        messages.push(run.stderr);
    }
    assert!(!messages[0].contains("in time"), "{}", messages[0]);
    assert!(
        messages[1].contains("http://"),
        "hint names http://: {}",
        messages[1]
    );
    assert!(messages[3].contains("--timeout"), "{}", messages[3]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_insecure_http_refusal_names_the_flag() {
    let sim = BlynkSim::start().await.unwrap();
    let run = blynk(
        &sim,
        &["values", "1"],
        &[("BLYNK_SERVER", "http://example.com")],
    )
    .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("--allow-insecure-http"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("allow_insecure_http()"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn help_explains_the_arguments_and_shows_connection_flags_once() {
    let sim = BlynkSim::start().await.unwrap();
    let set = blynk(&sim, &["set", "--help"], &[]).await;
    ok(&set);
    for arg in ["<DEVICE>  ", "<DATASTREAM>  ", "<VALUE>  "] {
        assert!(set.stdout.contains(arg), "{arg} has help: {}", set.stdout);
    }
    assert!(!set.stdout.contains("--server <URL>"), "{}", set.stdout);
    let import = blynk(&sim, &["import", "--help"], &[]).await;
    assert!(
        import.stdout.contains("The points: CSV"),
        "{}",
        import.stdout
    );
    let top = blynk(&sim, &["--help"], &[]).await;
    assert_eq!(
        top.stdout.matches("--server <URL>").count(),
        1,
        "{}",
        top.stdout
    );
    assert!(
        top.stdout.contains("-1h") || top.stdout.contains("history"),
        "{}",
        top.stdout
    );
    let history = blynk(&sim, &["history", "--help"], &[]).await;
    assert!(history.stdout.contains("-7d") && history.stdout.contains("epoch milliseconds"));
    let usage = blynk(&sim, &["set", "1", "1"], &[]).await;
    assert_eq!(usage.code, 2);
    assert!(
        !usage.stderr.contains("--server") && !usage.stderr.contains("--token"),
        "{}",
        usage.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_json_under_json_and_history_writes_nothing_before_its_checks() {
    let sim = BlynkSim::start().await.unwrap();
    let run = blynk(&sim, &["values", "999", "--json"], &[]).await;
    assert_eq!(run.code, 7);
    let error: Value = serde_json::from_str(run.stderr.trim()).unwrap();
    assert_eq!(error["error"]["code"], 7);
    assert_eq!(error["error"]["kind"], "not found");
    let usage = blynk(&sim, &["values", "--json", "--bogus"], &[]).await;
    assert_eq!(usage.code, 2);
    let error: Value = serde_json::from_str(usage.stderr.trim()).unwrap();
    assert_eq!(error["error"]["kind"], "usage");
    for args in [
        &["history", "1", "1", "--from", "0", "--page-size", "0"][..],
        &["history", "1", "1", "--from", "yesterday"],
        &["history", "1", "1", "--from", "0", "--to", "x"],
        &["history", "999", "1", "--from", "0"],
    ] {
        let run = blynk(&sim, args, &[]).await;
        assert_ne!(run.code, 0, "{args:?}");
        assert_eq!(run.stdout, "", "{args:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Hints and wording
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn hints_fit_what_happened() {
    let sim = BlynkSim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "p.csv", "ts,value\n1700000000000,1\n");
    let run = blynk(&sim, &["import", "999", "1", &file], &[]).await;
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(!run.stderr.contains("--resume-from"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "no point was imported, so once that is fixed run `blynk import 999 1 {file}` again"
        )),
        "{}",
        run.stderr
    );

    let rows = write(dir.path(), "rows.csv", "deviceId,Temperature\n1,20\n");
    let run = blynk(
        &sim,
        &["batch-update", &rows],
        &[("BLYNK_TOKEN", blynk_sim::DEMO_VIEWER_TOKEN)],
    )
    .await;
    assert_ne!(run.code, 0);
    assert!(!run.stderr.contains("were sent"), "{}", run.stderr);
    assert!(
        run.stderr.contains("no row of this run was sent"),
        "{}",
        run.stderr
    );

    let missing = dir.path().join("nope.csv");
    let run = blynk(&sim, &["import", "1", "1", missing.to_str().unwrap()], &[]).await;
    assert_eq!(run.code, 4);
    assert!(!run.stderr.contains("line and column"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_update_resumes_from_a_data_row() {
    let sim = BlynkSim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rows = write(
        dir.path(),
        "rows.csv",
        "deviceId,Temperature\n12,20\n13,21\n14,22\n",
    );
    let run = blynk(
        &sim,
        &["batch-update", &rows, "--resume-from", "2", "--json"],
        &[],
    )
    .await;
    ok(&run);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["rows"], 1);
    assert_ne!(
        sim.value(12, 1),
        Some(serde_json::json!(20.0)),
        "row 1 skipped"
    );
    assert_eq!(sim.value(14, 1), Some(serde_json::json!(22.0)));
    assert_ne!(
        sim.value(13, 1),
        Some(serde_json::json!(21.0)),
        "row 2 skipped"
    );
    let past = blynk(&sim, &["batch-update", &rows, "--resume-from", "4"], &[]).await;
    assert_eq!(past.code, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn counts_are_singular_for_one_and_missing_devices_are_ranges() {
    let sim = BlynkSim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "p.csv", "ts,value\n1700000000000,1\n");
    let run = blynk(&sim, &["import", "1", "1", &file], &[]).await;
    ok(&run);
    assert!(
        run.stdout.starts_with("imported 1 point in 1 request "),
        "{}",
        run.stdout
    );
    let run = blynk(&sim, &["values", "--devices", "1-2,990-999,2000"], &[]).await;
    ok(&run);
    assert!(
        run.stderr.contains(": 990-999,2000 (11 devices)"),
        "{}",
        run.stderr
    );
}
