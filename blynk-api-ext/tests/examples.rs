//! The programs in `examples/` run against a simulator each test starts on 127.0.0.1, and their
//! outcomes are checked against the simulator's own state: the exported CSV holds the simulator's
//! values, an import stores every point once, a second history sync fetches only the new points,
//! and the metrics observer saw every attempt the simulator received.
//!
//! Each example is included as a module; its `main` (and `connect`) are not used here.
//!
//! Sections: export_fleet_csv, import_csv, history_sync, metrics_observer.

#[allow(dead_code)]
#[path = "../examples/export_fleet_csv.rs"]
mod export_fleet_csv;
#[allow(dead_code)]
#[path = "../examples/history_sync.rs"]
mod history_sync;
#[allow(dead_code)]
#[path = "../examples/import_csv.rs"]
mod import_csv;
#[allow(dead_code)]
#[path = "../examples/metrics_observer.rs"]
mod metrics_observer;

use std::collections::BTreeMap;

use blynk_api_ext::api::operations::{GET_DEVICE_DATA_STREAM_HISTORY, IMPORT_DEVICE_BATCH_DATA};
use blynk_api_ext::{BatchUpdate, BatchUpdateOptions, Blynk, ImportError, Location, Value};
use blynk_sim::BlynkSim;
use serde_json::json;

fn client(sim: &BlynkSim) -> Blynk {
    Blynk::builder()
        .base_url(sim.base_url())
        .token(blynk_sim::DEMO_TOKEN)
        .build()
        .expect("client")
}

// ---------------------------------------------------------------------------------------------
// export_fleet_csv
// ---------------------------------------------------------------------------------------------

/// The simulator's current value of a datastream as the export writes it.
fn expected_cell(sim: &BlynkSim, device: i32, datastream: i32) -> String {
    match sim.value(device, datastream) {
        None => String::new(),
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Array(pair)) => format!(
            "{},{}",
            pair[0].as_f64().expect("lon"),
            pair[1].as_f64().expect("lat")
        ),
        Some(n) => n.as_f64().expect("a number").to_string(),
    }
}

#[tokio::test]
async fn the_export_holds_the_simulators_values_and_names_the_missing_devices() {
    let sim = BlynkSim::start().await.expect("simulator");
    let blynk = client(&sim);
    // Text that needs quoting, a location, and devices left without values (13 to 25).
    let mut update = BatchUpdate::new(["Temperature", "Mode", "Location"]);
    for id in 1..=12 {
        update
            .push(
                id,
                [
                    Some(Value::Number(f64::from(id) + 0.25)),
                    Some(Value::from(format!("eco, \"night\" {id}"))),
                    Some(Value::from(Location::new(24.5, -f64::from(id)))),
                ],
            )
            .expect("row");
    }
    blynk
        .batch_update(&update, BatchUpdateOptions::default())
        .await
        .expect("batch update");

    let mut ids: Vec<i32> = (1..=25).collect();
    ids.extend([999, 3]);
    let args = export_fleet_csv::ExportArgs {
        device_ids: ids,
        datastream_ids: None,
        concurrency: 2,
    };
    let mut out = Vec::new();
    let summary = export_fleet_csv::run(&blynk, &args, &mut out)
        .await
        .expect("export");

    let mut reader = csv::Reader::from_reader(out.as_slice());
    assert_eq!(
        reader.headers().expect("header"),
        vec!["device", "datastream", "label", "value"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    // 25 thermostats, 4 datastreams each, each device once although 3 was asked twice.
    assert_eq!(rows.len(), 100);
    assert_eq!(summary.rows, 100);
    assert_eq!(summary.devices, 25);
    assert_eq!(summary.requests, 3, "26 distinct devices, 10 per request");
    assert_eq!(summary.missing, vec![999]);
    assert!(summary.failed.is_empty());
    let labels = ["Temperature", "Humidity", "Mode", "Location"];
    for (i, row) in rows.iter().enumerate() {
        let device = i as i32 / 4 + 1;
        let datastream = i as i32 % 4 + 1;
        assert_eq!(row[0].parse::<i32>().unwrap(), device, "row {i}");
        assert_eq!(row[1].parse::<i32>().unwrap(), datastream, "row {i}");
        assert_eq!(&row[2], labels[i % 4], "row {i}");
        assert_eq!(
            row[3],
            expected_cell(&sim, device, datastream),
            "row {i}: device {device}, datastream {datastream}"
        );
    }
    assert_eq!(&rows[2][3], "eco, \"night\" 1");
    assert_eq!(&rows[3][3], "24.5,-1");
    assert_eq!(&rows[4 * 12][3], "", "device 13 has no temperature");
    assert_eq!(sim.value(1, 1), Some(json!(1.25)));
}

#[tokio::test]
async fn the_export_keeps_what_was_read_when_a_request_fails() {
    use blynk_api_ext::api::operations::GET_BATCH_DEVICE_DATA_STREAMS;
    use blynk_sim::rules::{Action, FaultRule};

    // The second batch read is refused (403 is not retried): devices 11 to 20 are not read.
    let sim = BlynkSim::builder()
        .rule(
            FaultRule::operation(GET_BATCH_DEVICE_DATA_STREAMS.id)
                .nth(2)
                .then(Action::Status {
                    status: 403,
                    retry_after: None,
                }),
        )
        .start()
        .await
        .expect("simulator");
    let args = export_fleet_csv::ExportArgs {
        device_ids: (1..=30).collect(),
        datastream_ids: Some(vec![1]),
        concurrency: 1,
    };
    let mut out = Vec::new();
    let summary = export_fleet_csv::run(&client(&sim), &args, &mut out)
        .await
        .expect("export");
    let text = String::from_utf8(out).unwrap();
    let devices: Vec<i32> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    let expected: Vec<i32> = (1..=10).chain(21..=30).collect();
    assert_eq!(devices, expected);
    assert_eq!(summary.failed.len(), 1);
    assert_eq!(summary.failed[0].0, (11..=20).collect::<Vec<_>>());
    assert!(summary.missing.is_empty());
    // Device 1 has a temperature from the demo history; the others have none yet.
    assert!(text.starts_with(&format!(
        "device,datastream,label,value\n1,1,Temperature,{}\n2,1,Temperature,\n",
        expected_cell(&sim, 1, 1)
    )));
}

#[test]
fn device_lists_parse_ranges_and_refuse_nonsense() {
    use export_fleet_csv::parse_ids;
    assert_eq!(
        parse_ids("1-3, 7,101-102").unwrap(),
        vec![1, 2, 3, 7, 101, 102]
    );
    assert!(parse_ids("5-1").unwrap_err().contains("backwards"));
    assert!(parse_ids("1,x").unwrap_err().contains("`x`"));
    assert!(parse_ids("").is_err());
    assert!(parse_ids("99999999999").is_err());
}

// ---------------------------------------------------------------------------------------------
// import_csv
// ---------------------------------------------------------------------------------------------

/// Point i of the test files: 2024-03-01 plus i seconds, value (i mod 300) / 4 (within the range
/// of the demo's Temperature, -40..=85: the simulator skips values outside it silently).
const IMPORT_BASE: i64 = 1_709_251_200_000;

fn value_of(i: u64) -> f64 {
    (i % 300) as f64 / 4.0
}

fn import_file(n: u64) -> String {
    let mut csv = String::from("ts,value\n");
    for i in 0..n {
        csv.push_str(&format!(
            "{},{}\n",
            IMPORT_BASE + i as i64 * 1000,
            value_of(i)
        ));
    }
    csv
}

/// A simulator whose request log keeps every import body whole.
async fn logging_sim(rules: Vec<blynk_sim::rules::FaultRule>) -> BlynkSim {
    let mut builder = BlynkSim::builder()
        .log_capacity(100_000)
        .log_body_limit(4 * 1024 * 1024);
    for rule in rules {
        builder = builder.rule(rule);
    }
    builder.start().await.expect("simulator")
}

/// How many times the simulator applied a point at each timestamp of device 2, datastream 1,
/// from its request log (its history keeps one point per timestamp, so it cannot show a
/// duplicate).
fn applied(sim: &BlynkSim) -> BTreeMap<i64, u64> {
    let mut counts = BTreeMap::new();
    for entry in sim.requests() {
        if entry.operation != Some(IMPORT_DEVICE_BATCH_DATA.id) || entry.status >= 300 {
            continue;
        }
        let body = entry.body.expect("import body kept whole");
        assert_eq!(
            (body["deviceId"].as_i64(), body["dataStreamId"].as_i64()),
            (Some(2), Some(1))
        );
        for point in body["values"].as_array().expect("values") {
            *counts.entry(point["ts"].as_i64().expect("ts")).or_default() += 1;
        }
    }
    counts
}

fn import_args(skip_existing: bool, resume_from: u64) -> import_csv::ImportArgs {
    import_csv::ImportArgs {
        device_id: 2,
        datastream_id: 1,
        skip_existing,
        resume_from,
        progress: indicatif::ProgressBar::hidden(),
    }
}

#[tokio::test]
async fn an_import_stores_every_point_once_and_a_rerun_with_skip_existing_sends_nothing() {
    const N: u64 = 25_000;
    let sim = logging_sim(Vec::new()).await;
    let blynk = client(&sim);
    let file = import_file(N);

    let args = import_args(false, 0);
    let mut out = Vec::new();
    let report = import_csv::run(&blynk, &args, file.as_bytes(), &mut out)
        .await
        .expect("import");
    assert_eq!((report.accepted, report.requests), (N, 3));
    assert_eq!(args.progress.position(), N, "the bar reached the end");
    assert_eq!(args.progress.length(), Some(N));
    let counts = applied(&sim);
    assert_eq!(counts.len() as u64, N);
    assert!(counts.values().all(|&c| c == 1), "a point was sent twice");
    let history = sim.history(2, 1);
    assert_eq!(history.len() as u64, N);
    for (i, (ts, value)) in history.iter().enumerate() {
        assert_eq!(
            (*ts, *value),
            (IMPORT_BASE + i as i64 * 1000, value_of(i as u64))
        );
    }
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "device 2, datastream 1: 25000 points stored in 3 requests; 0 already stored, 0 too far \
         in the future (skipped)\n"
    );

    let imports = sim.calls(IMPORT_DEVICE_BATCH_DATA.id);
    let report = import_csv::run(&blynk, &import_args(true, 0), file.as_bytes(), Vec::new())
        .await
        .expect("re-run");
    assert_eq!((report.accepted, report.requests), (0, 0));
    assert_eq!(report.skipped_existing, N);
    assert_eq!(
        sim.calls(IMPORT_DEVICE_BATCH_DATA.id),
        imports,
        "nothing new sent"
    );
    assert!(report.existing_reads > 0, "the range was read instead");
    assert_eq!(sim.history(2, 1).len() as u64, N);
}

#[tokio::test]
async fn an_import_of_one_point_says_so_in_the_singular() {
    let sim = logging_sim(Vec::new()).await;
    let mut out = Vec::new();
    import_csv::run(
        &client(&sim),
        &import_args(false, 0),
        import_file(1).as_bytes(),
        &mut out,
    )
    .await
    .expect("import");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "device 2, datastream 1: 1 point stored in 1 request; 0 already stored, 0 too far in the \
         future (skipped)\n"
    );
}

#[tokio::test]
async fn a_stopped_import_resumes_with_skip_existing_and_stores_each_point_once() {
    use blynk_sim::rules::{Action, FaultRule};

    const N: u64 = 25_000;
    // The second import request is refused with 403 (not retried): the first 10,000 points are
    // stored, the rest are not.
    let refuse = FaultRule::operation(IMPORT_DEVICE_BATCH_DATA.id)
        .nth(2)
        .then(Action::Status {
            status: 403,
            retry_after: None,
        });
    let sim = logging_sim(vec![refuse]).await;
    let blynk = client(&sim);
    let file = import_file(N);

    let err = import_csv::run(&blynk, &import_args(false, 0), file.as_bytes(), Vec::new())
        .await
        .expect_err("the 403 stops it");
    let stopped = err.downcast_ref::<ImportError>().expect("an ImportError");
    assert_eq!((stopped.accepted, stopped.resume_from), (10_000, 10_000));
    assert_eq!(applied(&sim).len(), 10_000);

    // Re-running the whole file with skip_existing sends exactly the rest.
    let args = import_args(true, 0);
    let report = import_csv::run(&blynk, &args, file.as_bytes(), Vec::new())
        .await
        .expect("re-run");
    assert_eq!(report.skipped_existing, 10_000);
    assert_eq!(report.accepted, N - 10_000);
    assert_eq!(args.progress.position(), N);
    let counts = applied(&sim);
    assert_eq!(counts.len() as u64, N);
    assert!(counts.values().all(|&c| c == 1), "a point was sent twice");
    assert_eq!(sim.history(2, 1).len() as u64, N);
}

#[tokio::test]
async fn resume_from_skips_the_rows_already_done() {
    const N: u64 = 12_000;
    let sim = logging_sim(Vec::new()).await;
    let blynk = client(&sim);
    let file = import_file(N);
    let args = import_args(false, 10_000);
    let report = import_csv::run(&blynk, &args, file.as_bytes(), Vec::new())
        .await
        .expect("import");
    assert_eq!((report.accepted, report.end), (2_000, N));
    assert_eq!(args.progress.position(), N);
    let counts = applied(&sim);
    assert_eq!(counts.keys().next(), Some(&(IMPORT_BASE + 10_000 * 1000)));
    assert_eq!(counts.len(), 2_000);
}

#[tokio::test]
async fn a_bad_row_stops_the_import_before_anything_is_sent() {
    let sim = BlynkSim::start().await.expect("simulator");
    let blynk = client(&sim);
    let cases = [
        (
            "ts,value\n1000,1\n2000,abc\n",
            "line 3: value `abc` is not a number",
        ),
        (
            "ts,value\n1000,1\nnoon,2\n",
            "line 3: ts `noon` is not epoch milliseconds",
        ),
        ("ts,value\n-5,1\n", "line 2: ts -5 is before 1970"),
        ("ts,value\n1000,NaN\n", "line 2: "),
        ("ts,value\n1000,1,2\n", "line 2: 3 fields"),
        (
            "time,value\n1000,1\n",
            "line 1: the header must be `ts,value`, not `time,value`",
        ),
    ];
    for (file, expected) in cases {
        let err = import_csv::run(&blynk, &import_args(false, 0), file.as_bytes(), Vec::new())
            .await
            .expect_err(file);
        // Not a panic, not a raw CSV error: a line number and what is wrong.
        assert!(err.to_string().starts_with(expected), "{file:?}: {err}");
    }
    let err = import_csv::run(
        &blynk,
        &import_args(false, 5),
        "ts,value\n1,1\n".as_bytes(),
        Vec::new(),
    )
    .await
    .expect_err("past the end");
    assert!(err.to_string().contains("1 data rows"), "{err}");
    let out_of_order = "ts,value\n2000,1\n1000,2\n";
    let err = import_csv::run(
        &blynk,
        &import_args(true, 0),
        out_of_order.as_bytes(),
        Vec::new(),
    )
    .await
    .expect_err("out of order");
    assert!(err.to_string().contains("line 3"), "{err}");
    assert_eq!(sim.calls(IMPORT_DEVICE_BATCH_DATA.id), 0);
    assert_eq!(sim.calls(GET_DEVICE_DATA_STREAM_HISTORY.id), 0);
}

// ---------------------------------------------------------------------------------------------
// history_sync
// ---------------------------------------------------------------------------------------------

/// The demo's device 1, datastream 1 has 1,440 points, one a minute from 2024-01-01; its last.
const DEMO_LAST_TS: i64 = 1_704_067_200_000 + 1439 * 60_000;

fn sync_args(dir: &tempfile::TempDir) -> history_sync::SyncArgs {
    history_sync::SyncArgs {
        checkpoint: dir.path().join("checkpoint.json"),
        streams: vec![(1, 1), (2, 1)],
        since: std::time::UNIX_EPOCH,
        until: std::time::SystemTime::now(),
    }
}

/// The `from` of each history request in the log, for a device.
fn history_froms(sim: &BlynkSim, device: i32) -> Vec<i64> {
    sim.requests()
        .iter()
        .filter(|r| r.operation == Some(GET_DEVICE_DATA_STREAM_HISTORY.id))
        .filter(|r| {
            r.query
                .iter()
                .any(|(k, v)| k == "deviceId" && *v == device.to_string())
        })
        .filter_map(|r| {
            r.query
                .iter()
                .find(|(k, _)| k == "from")
                .map(|(_, v)| v.parse().unwrap())
        })
        .collect()
}

async fn sync(
    blynk: &Blynk,
    args: &history_sync::SyncArgs,
) -> (Vec<history_sync::StreamSync>, String) {
    let mut out = Vec::new();
    let report = history_sync::run(blynk, args, &mut out)
        .await
        .expect("sync");
    (report, String::from_utf8(out).unwrap())
}

fn new_points(from_ts: i64, n: i64) -> Vec<blynk_api_ext::Point> {
    (1..=n)
        .map(|i| {
            blynk_api_ext::Point::new(blynk_api_ext::from_millis(from_ts + i * 1000), i as f64)
        })
        .collect()
}

#[tokio::test]
async fn the_second_sync_fetches_only_the_new_points() {
    let sim = BlynkSim::start().await.expect("simulator");
    let blynk = client(&sim);
    let dir = tempfile::tempdir().unwrap();
    let args = sync_args(&dir);

    let (first, out) = sync(&blynk, &args).await;
    let expected: String = sim
        .history(1, 1)
        .iter()
        .map(|(ts, v)| format!("1,1,{ts},{v}\n"))
        .collect();
    assert_eq!(out, expected, "run 1 writes the whole history of (1, 1)");
    assert_eq!(out.lines().count(), 1440);
    assert_eq!(first[0].fetched, 1440);
    assert_eq!(first[0].checkpoint_ms, Some(DEMO_LAST_TS));
    assert_eq!(
        (first[1].fetched, first[1].checkpoint_ms),
        (0, None),
        "(2, 1) has no history"
    );
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&args.checkpoint).unwrap()).unwrap();
    assert_eq!(
        saved,
        json!({"streams": [{"device": 1, "datastream": 1, "last_ts": DEMO_LAST_TS}]})
    );

    // New points after the checkpoint of (1, 1), and the first ones of (2, 1).
    blynk
        .import(1, 1, &new_points(DEMO_LAST_TS, 5))
        .await
        .unwrap();
    blynk
        .import(2, 1, &new_points(DEMO_LAST_TS, 3))
        .await
        .unwrap();
    sim.clear_requests();

    let (second, out) = sync(&blynk, &args).await;
    let mut expected: String = (1..=5)
        .map(|i| format!("1,1,{},{i}\n", DEMO_LAST_TS + i * 1000))
        .collect();
    expected.extend((1..=3).map(|i| format!("2,1,{},{i}\n", DEMO_LAST_TS + i * 1000)));
    assert_eq!(out, expected, "run 2 writes the new points only");
    assert_eq!((second[0].fetched, second[1].fetched), (5, 3));
    assert_eq!(second[0].from_ms, DEMO_LAST_TS + 1);
    assert_eq!(
        history_froms(&sim, 1),
        vec![DEMO_LAST_TS + 1],
        "one page read, from the checkpoint"
    );
    assert_eq!(
        history_froms(&sim, 2),
        vec![0],
        "(2, 1) still had no checkpoint"
    );
    assert_eq!(second[0].checkpoint_ms, Some(DEMO_LAST_TS + 5000));
    assert_eq!(second[1].checkpoint_ms, Some(DEMO_LAST_TS + 3000));

    let (third, out) = sync(&blynk, &args).await;
    assert_eq!(out, "", "nothing new");
    assert!(third.iter().all(|s| s.fetched == 0 && s.error.is_none()));
    assert_eq!(third[0].checkpoint_ms, Some(DEMO_LAST_TS + 5000));
}

#[tokio::test]
async fn a_stream_that_fails_keeps_its_checkpoint_and_the_others_go_on() {
    use blynk_sim::rules::{Action, FaultRule};

    let sim = BlynkSim::builder()
        .rule(
            FaultRule::operation(GET_DEVICE_DATA_STREAM_HISTORY.id)
                .device(1)
                .times(1)
                .then(Action::Status {
                    status: 403,
                    retry_after: None,
                }),
        )
        .start()
        .await
        .expect("simulator");
    let blynk = client(&sim);
    blynk
        .import(2, 1, &new_points(DEMO_LAST_TS, 3))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let args = sync_args(&dir);

    let (first, out) = sync(&blynk, &args).await;
    assert!(
        first[0].error.as_deref().unwrap().contains("403"),
        "{first:?}"
    );
    assert_eq!(first[0].checkpoint_ms, None);
    assert_eq!(
        (first[1].fetched, first[1].checkpoint_ms),
        (3, Some(DEMO_LAST_TS + 3000))
    );
    assert_eq!(out.lines().count(), 3);

    // The rule fired once: the next run fetches (1, 1) whole, and nothing of (2, 1) again.
    let (second, out) = sync(&blynk, &args).await;
    assert_eq!((second[0].fetched, second[1].fetched), (1440, 0));
    assert_eq!(second[0].checkpoint_ms, Some(DEMO_LAST_TS));
    assert_eq!(out.lines().count(), 1440);
}

#[tokio::test]
async fn a_damaged_checkpoint_stops_the_sync_before_any_request() {
    let sim = BlynkSim::start().await.expect("simulator");
    let dir = tempfile::tempdir().unwrap();
    let args = sync_args(&dir);
    std::fs::write(&args.checkpoint, "{\"streams\": [{\"device\": 1").unwrap();
    let err = history_sync::run(&client(&sim), &args, Vec::new())
        .await
        .expect_err("damaged");
    assert!(err.to_string().contains("is damaged"), "{err}");
    assert_eq!(sim.calls(GET_DEVICE_DATA_STREAM_HISTORY.id), 0);
}

// ---------------------------------------------------------------------------------------------
// metrics_observer
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_metrics_observer_sees_every_attempt_the_simulator_received() {
    use std::sync::Arc;
    use std::time::Duration;

    use blynk_api_ext::api::operations::{
        self, GET_BATCH_DEVICE_DATA_STREAMS, GET_DEVICE_DATA_STREAMS_V2,
    };
    use blynk_api_ext::clock::ManualClock;
    use blynk_sim::rules::{Action, FaultRule};
    use metrics_observer::{BUCKETS, Metrics, MetricsObserver, Workload};

    // A 429 with Retry-After: 2 on the 2nd batch read, a 503 on the 2nd history page.
    let sim = BlynkSim::builder()
        .rule(
            FaultRule::operation(GET_BATCH_DEVICE_DATA_STREAMS.id)
                .nth(2)
                .then(Action::too_many_requests(Some(2))),
        )
        .rule(
            FaultRule::operation(GET_DEVICE_DATA_STREAM_HISTORY.id)
                .nth(2)
                .then(Action::Status {
                    status: 503,
                    retry_after: None,
                }),
        )
        .start()
        .await
        .expect("simulator");
    let metrics = Arc::new(Metrics::default());
    // Waits cost no real time on a manual clock, and every one of them is recorded.
    let clock = ManualClock::new();
    let blynk = Blynk::builder()
        .base_url(sim.base_url())
        .token(blynk_sim::DEMO_TOKEN)
        .clock(clock.clone())
        .observer(MetricsObserver(metrics.clone()))
        .build()
        .expect("client");
    let workload = Workload {
        device_ids: (1..=25).collect(),
        history: Some((1, 1)),
    };
    let mut out = Vec::new();
    metrics_observer::run(&blynk, &metrics, &workload, &mut out)
        .await
        .expect("workload");

    let m = metrics.snapshot();
    let count = |op: &str, outcome: &str| {
        m.attempts
            .get(&(op, outcome.to_string()))
            .copied()
            .unwrap_or(0)
    };
    // Every request the simulator received, per operation, was an attempt the observer saw.
    let mut seen_total = 0;
    for op in operations::ALL {
        let seen: u64 = m
            .attempts
            .iter()
            .filter(|((o, _), _)| *o == op.id)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(seen, sim.calls(op.id), "{}", op.id);
        seen_total += seen;
        let latency = m.latency.get(op.id).map_or(0, |h| h.count);
        assert_eq!(latency, seen, "every attempt of {} timed", op.id);
    }
    assert_eq!(seen_total, sim.request_count());
    // 3 batch reads + the retried one; 2 history pages + the retried one; one device read.
    assert_eq!(count(GET_BATCH_DEVICE_DATA_STREAMS.id, "200"), 3);
    assert_eq!(count(GET_BATCH_DEVICE_DATA_STREAMS.id, "429"), 1);
    assert_eq!(count(GET_DEVICE_DATA_STREAM_HISTORY.id, "200"), 2);
    assert_eq!(count(GET_DEVICE_DATA_STREAM_HISTORY.id, "503"), 1);
    assert_eq!(count(GET_DEVICE_DATA_STREAMS_V2.id, "200"), 1);
    assert_eq!(seen_total, 8);
    assert_eq!(m.retries.values().sum::<u64>(), 2);
    // The Retry-After was honoured, and all the client waited is in backoff and pacing.
    assert!(m.backoff >= Duration::from_secs(2), "{:?}", m.backoff);
    let slept: Duration = clock.sleeps().iter().sum();
    assert_eq!(m.backoff + m.pacing, slept);
    for h in m.latency.values() {
        assert_eq!(h.buckets.iter().sum::<u64>() + h.over, h.count);
    }

    // The Prometheus text: one attempts line per (operation, outcome), cumulative buckets.
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(
        "blynk_attempts_total{operation=\"getBatchDeviceDataStreams\",outcome=\"429\"} 1\n"
    ));
    assert!(text.contains(
        "blynk_attempt_duration_seconds_bucket{operation=\"getBatchDeviceDataStreams\",le=\"+Inf\"} 4\n"
    ));
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("blynk_attempt_duration_seconds_bucket"))
            .count(),
        3 * (BUCKETS.len() + 1)
    );
    assert!(text.contains(&format!(
        "blynk_backoff_seconds_total {}\n",
        m.backoff.as_secs_f64()
    )));
}
