//! No input crashes `blynk`: arbitrary argument vectors and arbitrary file bytes go through
//! argument parsing and the checks before sending (thousands of cases in-process, and a sample
//! through the real binary), and each run ends with an exit code of the documented table.
//! `blynk-cli/fuzz` holds a fuzz target for longer runs by hand.

use std::ffi::OsString;

use blynk_cli::exit::Exit;
use proptest::prelude::*;

/// Words people (and typos) put on a `blynk` command line.
fn token() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "values",
        "set",
        "set-many",
        "history",
        "import",
        "batch-update",
        "property",
        "help",
        "--from",
        "--to",
        "--devices",
        "--datastreams",
        "--page-size",
        "--format",
        "--resume-from",
        "--skip-existing",
        "--reconcile-wait",
        "--json",
        "-v",
        "-vvv",
        "--text",
        "--debug",
        "--concurrency",
        "--timeout",
        "--read-ahead",
        "--server",
        "--token",
        "--region",
        "--config",
        "--",
        "-",
        "csv",
        "jsonl",
        "table",
        "now",
        "label",
        "color",
        "min",
        "=",
        ",",
        "-1h",
        "-7d",
        "1=2",
        "1=-5",
        "-74.0,40.7",
        "NaN",
        "inf",
        "1e400",
        "",
    ])
    .prop_map(str::to_string);
    prop_oneof![
        3 => words,
        2 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<i32>().prop_map(|n| n.to_string()),
        1 => "[+-]?[0-9]{1,4}(ms|s|m|h|d|w|mo|y)?",
        1 => "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:?[0-9]{2}|[+-]\\PC{1,4}|\\PC{0,3})",
        1 => "-?[0-9]{1,6}(-[0-9]{1,10})?(,-?[0-9]{1,6}(--?[0-9]{1,6})?){0,3}",
        1 => "[0-9]{1,3}=\\PC{0,8}",
        2 => "\\PC{0,16}",
        1 => any::<String>(),
    ]
}

fn argv() -> impl Strategy<Value = Vec<OsString>> {
    prop::collection::vec(token(), 0..9).prop_map(|words| {
        std::iter::once("blynk".to_string())
            .chain(words)
            .map(OsString::from)
            .collect()
    })
}

/// Bytes that look like input files, and bytes that do not.
fn file_bytes() -> impl Strategy<Value = Vec<u8>> {
    let cell = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        "[+-]?[0-9]{1,3}(h|d)?",
        "\\PC{0,10}",
        Just("2024-01-01T00:00:00+0é00".to_string()),
        Just("\"a,b\"".to_string()),
        Just("[500,500]".to_string()),
    ];
    let row = prop::collection::vec(cell, 0..4).prop_map(|cells| cells.join(","));
    let header = prop::sample::select(vec![
        "ts,value",
        "deviceId,Temperature,Mode",
        "deviceId",
        "x",
    ]);
    let csv = (header, prop::collection::vec(row, 0..12)).prop_map(|(h, rows)| {
        let mut text = format!("{h}\n");
        for r in rows {
            text.push_str(&r);
            text.push('\n');
        }
        text.into_bytes()
    });
    let json_value = prop_oneof![
        any::<f64>().prop_map(|n| serde_json::json!(n)),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        "\\PC{0,8}".prop_map(|s| serde_json::json!(s)),
        (any::<f64>(), any::<f64>()).prop_map(|(a, b)| serde_json::json!([a, b])),
        Just(serde_json::json!([500, 500])),
        Just(serde_json::json!(null)),
        Just(serde_json::json!({})),
    ];
    let jsonl = prop::collection::vec((json_value.clone(), json_value), 0..8).prop_map(|points| {
        let mut text = String::new();
        for (ts, value) in points {
            text.push_str(&serde_json::json!({"ts": ts, "value": value}).to_string());
            text.push('\n');
        }
        text.into_bytes()
    });
    prop_oneof![
        2 => csv,
        2 => jsonl,
        1 => prop::collection::vec(any::<u8>(), 0..300),
    ]
}

/// What a run may end with before anything is sent: it goes on, or it is refused as usage or
/// input.
fn is_pre_send(exit: Exit) -> bool {
    matches!(exit, Exit::Ok | Exit::Usage | Exit::Input)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_arguments_never_panic_and_end_in_a_pre_send_code(args in argv()) {
        let exit = blynk_cli::precheck(&args);
        prop_assert!(is_pre_send(exit), "{args:?} -> {exit:?}");
    }

    #[test]
    fn arbitrary_files_never_panic_and_are_refused_as_input(
        bytes in file_bytes(),
        jsonl in any::<bool>(),
        resume in 0u64..20,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let name = if jsonl { "points.jsonl" } else { "points.csv" };
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let path = path.to_string_lossy().into_owned();
        let resume = resume.to_string();
        for args in [
            vec!["blynk", "import", "1", "1", &path, "--resume-from", &resume],
            vec!["blynk", "import", "1", "1", &path, "--skip-existing"],
            vec!["blynk", "batch-update", &path, "--resume-from", &resume],
        ] {
            let args: Vec<OsString> = args.into_iter().map(OsString::from).collect();
            let exit = blynk_cli::precheck(&args);
            prop_assert!(matches!(exit, Exit::Ok | Exit::Input), "{args:?} -> {exit:?}");
        }
    }
}

proptest! {
    // Each case starts a process: fewer cases, through the real binary and its exit code.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_binary_exits_with_a_documented_code(args in argv()) {
        // Nothing listens on port 9 of loopback: runs that get past the checks fail to connect.
        let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("blynk"))
            .args(args.iter().skip(1))
            .env_clear()
            .env("BLYNK_SERVER", "http://127.0.0.1:9")
            .env("BLYNK_TOKEN", "t")
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .arg("--timeout")
            .arg("2s")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let code = output.status.code();
        prop_assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        prop_assert!(
            Exit::ALL.iter().any(|e| Some(i32::from(e.code())) == code),
            "{args:?} -> {code:?}: {stderr}"
        );
    }
}
