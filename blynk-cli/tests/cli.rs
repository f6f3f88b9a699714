//! The `blynk` command against the simulator on 127.0.0.1 (started in the test process).

mod common;

use blynk_sim::{BlynkSim, DEMO_TOKEN, DEMO_VIEWER_TOKEN};
use common::{blynk, imports, ok, points_csv, write};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn values_of_one_device_print_an_aligned_table() {
    let sim = BlynkSim::start().await.unwrap();
    let run = blynk(&sim, &["values", "1"], &[]).await;
    ok(&run);
    let golden = "\
ID  PIN  LABEL        VALUE  UPDATED
1   V1   Temperature  25.9   2024-01-01T23:59:00.000Z
2   V2   Humidity     -      -
3   V3   Mode         -      -
4   V4   Location     -      -
";
    assert_eq!(run.stdout, golden);
}

#[tokio::test(flavor = "multi_thread")]
async fn values_of_many_devices_are_chunked_and_report_missing() {
    let sim = BlynkSim::start().await.unwrap();
    let run = blynk(
        &sim,
        &[
            "values",
            "--devices",
            "1-12,999",
            "--datastreams",
            "1",
            "--json",
        ],
        &[],
    )
    .await;
    ok(&run);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["devices"].as_array().unwrap().len(), 12);
    assert_eq!(out["missing"], json!([999]));
    assert_eq!(out["requests"], 2);
    assert_eq!(out["devices"][0]["dataStreams"][0]["label"], "Temperature");

    let run = blynk(&sim, &["values", "--devices", "101-102,999"], &[]).await;
    ok(&run);
    assert!(
        run.stdout
            .starts_with("DEVICE  ID  PIN  LABEL     VALUE  UPDATED\n101     10  V1   Speed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("missing (unknown or not visible to the token): 999"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn set_and_set_many_write_values() {
    let sim = BlynkSim::start().await.unwrap();
    ok(&blynk(&sim, &["set", "5", "1", "22.5"], &[]).await);
    ok(&blynk(&sim, &["set", "5", "3", "42", "--text"], &[]).await);
    ok(&blynk(
        &sim,
        &["set-many", "6", "1=19", "3=eco", "4=24.1,56.9"],
        &[],
    )
    .await);
    assert_eq!(sim.value(5, 1), Some(json!(22.5)));
    assert_eq!(sim.value(5, 3), Some(json!("42")));
    assert_eq!(sim.value(6, 3), Some(json!("eco")));
    assert_eq!(sim.value(6, 4), Some(json!([24.1, 56.9])));
    let run = blynk(&sim, &["set-many", "6", "oops"], &[]).await;
    assert_eq!(run.code, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn history_streams_as_csv_json_lines_or_a_table() {
    let sim = BlynkSim::start().await.unwrap();
    let range = [
        "--from",
        "2024-01-01T00:00:00Z",
        "--to",
        "2024-01-01T00:02:00Z",
    ];
    let csv = blynk(&sim, &[&["history", "1", "1"][..], &range].concat(), &[]).await;
    ok(&csv);
    assert_eq!(
        csv.stdout,
        "ts,value\n1704067200000,26\n1704067260000,25.9\n1704067320000,25.8\n"
    );
    let jsonl = blynk(
        &sim,
        &[&["history", "1", "1", "--format", "jsonl"][..], &range].concat(),
        &[],
    )
    .await;
    assert_eq!(
        jsonl.stdout.lines().next(),
        Some(r#"{"ts":1704067200000,"value":26.0}"#)
    );
    let table = blynk(
        &sim,
        &[&["history", "1", "1", "--format", "table"][..], &range].concat(),
        &[],
    )
    .await;
    assert_eq!(
        table.stdout,
        "TIME                      VALUE\n2024-01-01T00:00:00.000Z  26\n2024-01-01T00:01:00.000Z  25.9\n2024-01-01T00:02:00.000Z  25.8\n"
    );
    let epoch = blynk(
        &sim,
        &[
            "history",
            "1",
            "1",
            "--from",
            "1704067200000",
            "--to",
            "1704067200000",
        ],
        &[],
    )
    .await;
    assert_eq!(epoch.stdout, "ts,value\n1704067200000,26\n");
    let all = blynk(
        &sim,
        &["history", "1", "1", "--from", "0", "--page-size", "100"],
        &[],
    )
    .await;
    assert_eq!(all.stdout.lines().count(), 1 + 1440);
    let bad = blynk(&sim, &["history", "1", "1", "--from", "yesterday"], &[]).await;
    assert_eq!(bad.code, 4);
    assert!(
        bad.stderr.contains("--from") && bad.stderr.contains("hint:"),
        "{}",
        bad.stderr
    );
    // The message says what is wrong, the hint what is accepted: the list of forms once.
    assert!(
        bad.stderr
            .contains("--from: `yesterday` is not a time (hint: use RFC 3339"),
        "{}",
        bad.stderr
    );
    assert_eq!(
        bad.stderr.matches("epoch milliseconds").count(),
        1,
        "{}",
        bad.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_then_an_export_returns_exactly_the_imported_points() {
    let sim = BlynkSim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let start = 1_700_000_000_000i64;
    let csv = points_csv(start, 25_000, 1000);
    let file = write(dir.path(), "points.csv", &csv);
    let run = blynk(&sim, &["import", "3", "2", &file], &[]).await;
    ok(&run);
    assert_eq!(
        run.stdout,
        "imported 25000 points in 3 requests (0 skipped as more than 30 days ahead)\n"
    );
    let export = blynk(
        &sim,
        &[
            "history",
            "3",
            "2",
            "--from",
            &start.to_string(),
            "--to",
            &(start + 25_000_000).to_string(),
        ],
        &[],
    )
    .await;
    ok(&export);
    assert_eq!(export.stdout, csv);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_lines_files_import_every_value_form() {
    let sim = BlynkSim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "points.jsonl",
        "{\"ts\": \"2024-03-01T00:00:00Z\", \"value\": 12.5}\n\n{\"ts\": 1709251260000, \"value\": 13}\n",
    );
    let run = blynk(&sim, &["import", "4", "1", &file, "--json"], &[]).await;
    ok(&run);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["accepted"], 2);
    assert_eq!(
        sim.history(4, 1),
        [(1_709_251_200_000, 12.5), (1_709_251_260_000, 13.0)]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_files_name_the_line_and_column_and_send_nothing() {
    let sim = BlynkSim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "header.csv",
            "time,value\n1,2\n",
            ":1:1:",
            "header must be `ts,value`",
        ),
        (
            "number.csv",
            "ts,value\n1700000000000,1\n1700000001000,abc\n",
            ":3:2:",
            "bad number",
        ),
        (
            "timestamp.csv",
            "ts,value\n1700000000000,1\n2024-13-01T00:00:00Z,2\n",
            ":3:1:",
            "bad timestamp",
        ),
        (
            "fields.csv",
            "ts,value\n1700000000000,1,9\n",
            ":2:3:",
            "expected 2 fields",
        ),
        (
            "value.jsonl",
            "{\"ts\": 1, \"value\": 1}\n{\"ts\": 2, \"value\": {}}\n",
            ":2:11:",
            "bad value",
        ),
        (
            "json.jsonl",
            "{\"ts\": 1, \"value\": 1}\n{\"ts\": 2,\n",
            ":2:",
            "bad JSON",
        ),
    ];
    for (name, text, position, message) in cases {
        let file = write(dir.path(), name, text);
        let run = blynk(&sim, &["import", "1", "1", &file], &[]).await;
        assert_eq!(run.code, 4, "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("{name}{position}")),
            "{name}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(message), "{name}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    }
    assert_eq!(imports(&sim), 0, "nothing was sent");

    let file = write(dir.path(), "rows.csv", "deviceId,Temperature\n1,20\nx,21\n");
    let run = blynk(&sim, &["batch-update", &file], &[]).await;
    assert_eq!(run.code, 4);
    assert!(
        run.stderr.contains("rows.csv:3:1: bad device ID"),
        "{}",
        run.stderr
    );
    let file = write(dir.path(), "noid.csv", "device,Temperature\n1,20\n");
    assert!(
        blynk(&sim, &["batch-update", &file], &[])
            .await
            .stderr
            .contains("noid.csv:1:1:")
    );
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.operation != Some("batchUpdateDeviceDataStreams"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_resumes_from_an_offset() {
    let sim = BlynkSim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("ts,value\n");
    for i in 0..25 {
        csv.push_str(&format!("{},{i}\n", 1_700_000_000_000i64 + i * 1000));
    }
    let file = write(dir.path(), "points.csv", &csv);
    let run = blynk(
        &sim,
        &["import", "7", "2", &file, "--resume-from", "10", "--json"],
        &[],
    )
    .await;
    ok(&run);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        (out["accepted"].as_u64(), out["end"].as_u64()),
        (Some(15), Some(25))
    );
    let values: Vec<f64> = sim.history(7, 2).into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, (10..25).map(f64::from).collect::<Vec<_>>());
    let past = blynk(
        &sim,
        &["import", "7", "2", &file, "--resume-from", "26"],
        &[],
    )
    .await;
    assert_eq!(past.code, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_update_reads_a_csv_and_reports_skips() {
    let sim = BlynkSim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "rows.csv",
        "deviceId,Temperature,Mode\n8,20.5,\n9,,\"eco, quiet\"\n101,1,\n999,1,\n",
    );
    let run = blynk(&sim, &["batch-update", &file, "--debug"], &[]).await;
    ok(&run);
    assert_eq!(
        run.stdout,
        "4 rows in 1 request: some rows skipped\ndata row 3: Row 2: device 101 belongs to another product\ndata row 4: Row 3: device 999 not found\n"
    );
    assert_eq!(sim.value(8, 1), Some(json!(20.5)));
    assert_eq!(sim.value(9, 3), Some(json!("eco, quiet")));
    let run = blynk(&sim, &["batch-update", &file, "--json"], &[]).await;
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["counters"]["deviceNotFound"], 1);
    assert_eq!(out["counters"]["wrongProduct"], 1);
    assert_eq!(out["allApplied"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn property_updates_a_widget_property() {
    let sim = BlynkSim::start().await.unwrap();
    ok(&blynk(&sim, &["property", "2", "1", "label", "Office"], &[]).await);
    assert_eq!(sim.property(2, 1, "label").as_deref(), Some("Office"));
    let unknown = blynk(&sim, &["property", "2", "1", "colour", "#000000"], &[]).await;
    assert_eq!(unknown.code, 4);
    let refused = blynk(&sim, &["property", "2", "1", "color", "green"], &[]).await;
    assert_eq!(refused.code, 4, "the server's 400");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_kind_of_error_has_its_exit_code_and_a_hint() {
    let sim = BlynkSim::start().await.unwrap();
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], i32);
    let cases: [Case; 6] = [
        (&["values", "999"], &[], 7),
        (
            &["set", "1", "1", "20"],
            &[("BLYNK_TOKEN", DEMO_VIEWER_TOKEN)],
            6,
        ),
        (&["values", "1"], &[("BLYNK_TOKEN", "not-a-token")], 5),
        (&["values", "1"], &[("BLYNK_TOKEN", "")], 3),
        (
            &["history", "1", "1", "--from", "0", "--page-size", "0"],
            &[],
            4,
        ),
        (
            &["values", "1"],
            &[("BLYNK_SERVER", "http://127.0.0.1:9")],
            10,
        ),
    ];
    for (args, env, code) in cases {
        let run = blynk(&sim, args, env).await;
        assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.starts_with("error: ") && run.stderr.contains("(hint: "),
            "{}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
    let usage = blynk(&sim, &["values", "--bogus"], &[]).await;
    assert_eq!(usage.code, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn configuration_comes_from_flags_then_environment_then_file_and_secrets_stay_hidden() {
    let sim = BlynkSim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "config.toml",
        &format!(
            "server = \"{}\"\ntoken = \"{DEMO_TOKEN}\"\n",
            sim.base_url()
        ),
    );
    // From the file alone.
    let run = blynk(
        &sim,
        &["values", "1", "--json"],
        &[
            ("BLYNK_SERVER", ""),
            ("BLYNK_TOKEN", ""),
            ("BLYNK_CONFIG", &config),
        ],
    )
    .await;
    ok(&run);
    // The environment beats the file; a flag beats the environment.
    let secret = "super-secret-wrong-token";
    let run = blynk(
        &sim,
        &["values", "1"],
        &[("BLYNK_TOKEN", secret), ("BLYNK_CONFIG", &config)],
    )
    .await;
    assert_eq!(run.code, 5);
    assert!(!run.stderr.contains(secret) && !run.stdout.contains(secret));
    let run = blynk(
        &sim,
        &["values", "1", "--token", DEMO_TOKEN],
        &[("BLYNK_TOKEN", secret)],
    )
    .await;
    ok(&run);
    // Client credentials from the environment.
    let run = blynk(
        &sim,
        &["values", "1"],
        &[
            ("BLYNK_TOKEN", ""),
            ("BLYNK_CLIENT_ID", blynk_sim::DEMO_CLIENT_ID),
            ("BLYNK_CLIENT_SECRET", blynk_sim::DEMO_CLIENT_SECRET),
        ],
    )
    .await;
    ok(&run);
    // Help shows the variables but not their values.
    let help = blynk(&sim, &["--help"], &[("BLYNK_TOKEN", secret)]).await;
    assert!(
        help.stdout.contains("BLYNK_TOKEN") && !help.stdout.contains(secret),
        "{}",
        help.stdout
    );
    let bad = write(dir.path(), "bad.toml", "tokn = \"x\"\n");
    let run = blynk(&sim, &["values", "1"], &[("BLYNK_CONFIG", &bad)]).await;
    assert_eq!(run.code, 3);
}

#[cfg(feature = "demo")]
#[tokio::test(flavor = "multi_thread")]
async fn demo_walks_through_every_operation() {
    let sim = BlynkSim::start().await.unwrap();
    let run = blynk(
        &sim,
        &["demo"],
        &[("BLYNK_SERVER", ""), ("BLYNK_TOKEN", "")],
    )
    .await;
    ok(&run);
    for expected in [
        "25 devices read in 3 requests",
        "25000 points imported in 3 requests",
        "25000 points read in 25 pages",
        "some rows skipped",
        "label is now \"Living room\"",
        "Requests made: 38 in all",
    ] {
        assert!(
            run.stdout.contains(expected),
            "missing {expected:?} in\n{}",
            run.stdout
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_import_says_where_to_resume_and_resuming_completes_it_exactly() {
    // One import per device, then the per-device rate limit answers 429 (Retry-After: 1) until the
    // simulator's clock moves on: the second chunk fails after the client's retries.
    let sim = BlynkSim::builder()
        .import_limit(blynk_sim::ImportLimit {
            burst: 1,
            per_second: 0.0001,
        })
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let start = 1_700_000_000_000i64;
    let csv = points_csv(start, 25_000, 500);
    let file = write(dir.path(), "points.csv", &csv);
    let failed = blynk(&sim, &["import", "11", "2", &file], &[]).await;
    assert_eq!(failed.code, 8, "{}", failed.stderr);
    assert!(
        failed
            .stderr
            .contains("import stopped after 10000 points stored by this run"),
        "{}",
        failed.stderr
    );
    // Every answer arrived: resuming needs no --skip-existing.
    assert!(
        failed.stderr.contains(&format!(
            "(hint: the server limits imports per device: wait a minute, then continue with \
             `blynk import 11 2 {file} --resume-from 10000`)"
        )),
        "{}",
        failed.stderr
    );

    sim.advance_clock(std::time::Duration::from_secs(100_000));
    let resumed = blynk(
        &sim,
        &["import", "11", "2", &file, "--resume-from", "10000"],
        &[],
    )
    .await;
    assert_eq!(
        resumed.code, 8,
        "the bucket refills one import at a time: {}",
        resumed.stderr
    );
    assert!(
        resumed.stderr.contains("--resume-from 20000"),
        "{}",
        resumed.stderr
    );
    sim.advance_clock(std::time::Duration::from_secs(100_000));
    ok(&blynk(
        &sim,
        &["import", "11", "2", &file, "--resume-from", "20000"],
        &[],
    )
    .await);

    let history = sim.history(11, 2);
    assert_eq!(history.len(), 25_000);
    let expected: Vec<(i64, f64)> = (0..25_000i64)
        .map(|i| (start + i * 1000, (i % 500) as f64 / 10.0))
        .collect();
    assert_eq!(history, expected);
}
