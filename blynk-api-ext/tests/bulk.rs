//! Bulk operations against the simulator (`blynk-sim`) on 127.0.0.1: its request log, counters,
//! fault rules and generated history stand in for the server's side of each check.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use blynk_api_ext::clock::{Clock, ManualClock};
use blynk_api_ext::{
    BatchUpdate, BatchUpdateOptions, Blynk, Error, FuturePoints, HistoryQuery, ImportJob,
    ImportOptions, Point, ProgressFn, ReadOptions, Value,
};
use blynk_sim::rules::{Action, FaultRule};
use blynk_sim::{BlynkSim, Datastream, Faults, HistoryGenerator, ImportLimit, Principal, Seed};
use futures::StreamExt;
use serde_json::json;

const BASE_TS: i64 = 1_600_000_000_000;
const IMPORT: &str = "importDeviceBatchData";
const BATCH_READ: &str = "getBatchDeviceDataStreams";
const BATCH_UPDATE: &str = "batchUpdateDeviceDataStreams";
const HISTORY: &str = "getDeviceDataStreamHistory";

/// Product 1 (Temperature 1, Mode 2, Note 3; datastreams 10 and 11 for imports) with `devices`,
/// and `history` generated points on device 1, datastream 1 (point i at BASE_TS + i s, value i).
fn seed_with(devices: impl IntoIterator<Item = i32>, history: u64) -> Seed {
    let mut builder = Seed::builder()
        .product(
            1,
            "Thermostat",
            [
                Datastream::number(1, "V1", "Temperature"),
                Datastream::string(2, "V2", "Mode"),
                Datastream::string(3, "V3", "Note"),
                Datastream::number(10, "V10", "A"),
                Datastream::number(11, "V11", "B"),
            ],
        )
        .devices(1, devices)
        .token("t", Principal::organisation());
    if history > 0 {
        builder = builder.history(1, 1, HistoryGenerator::counting(BASE_TS, 1000, history));
    }
    builder.build().unwrap()
}

async fn start(
    seed: Seed,
    configure: impl FnOnce(blynk_sim::SimBuilder) -> blynk_sim::SimBuilder,
) -> BlynkSim {
    let builder = BlynkSim::builder()
        .seed(seed)
        .import_limit(ImportLimit {
            burst: 1_000_000,
            per_second: 1_000_000.0,
        })
        .log_body_limit(usize::MAX);
    configure(builder).start().await.unwrap()
}

async fn sim(devices: i32) -> BlynkSim {
    start(seed_with(1..=devices, 0), |b| b).await
}

fn client(sim: &BlynkSim) -> Blynk {
    Blynk::builder()
        .base_url(sim.base_url())
        .token("t")
        .build()
        .unwrap()
}

fn points(n: u64) -> impl Iterator<Item = Point> + Send {
    (0..n).map(|i| {
        Point::new(
            UNIX_EPOCH + Duration::from_millis(BASE_TS as u64 + i),
            i as f64,
        )
    })
}

/// The logged requests of one operation that the simulator answered (not injected faults).
fn served(sim: &BlynkSim, operation: &str) -> Vec<blynk_sim::LoggedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.operation == Some(operation) && !r.injected)
        .collect()
}

/// The body size of a logged request.
fn body_bytes(request: &blynk_sim::LoggedRequest) -> usize {
    match (&request.body, &request.body_summary) {
        (_, Some(summary)) => summary.bytes,
        (Some(body), None) => serde_json::to_vec(body).unwrap().len(),
        (None, None) => 0,
    }
}

/// The device ids of each batch read served, in order.
fn batch_reads(sim: &BlynkSim) -> Vec<Vec<i32>> {
    served(sim, BATCH_READ)
        .iter()
        .map(|r| {
            r.query
                .iter()
                .filter(|(k, _)| k == "deviceIds")
                .map(|(_, v)| v.parse().unwrap())
                .collect()
        })
        .collect()
}

/// One import the simulator served: device, datastream and `(ts, value)` of each point.
type Served = (i64, i64, Vec<(i64, serde_json::Value)>);

/// Each import served, in order.
fn imports(sim: &BlynkSim) -> Vec<Served> {
    served(sim, IMPORT)
        .iter()
        .map(|r| {
            let body = r.body.as_ref().expect("import body kept");
            let points = body["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p["ts"].as_i64().unwrap(), p["value"].clone()))
                .collect();
            (
                body["deviceId"].as_i64().unwrap(),
                body["dataStreamId"].as_i64().unwrap(),
                points,
            )
        })
        .collect()
}

fn received_ts(sim: &BlynkSim) -> Vec<i64> {
    imports(sim)
        .into_iter()
        .flat_map(|(_, _, points)| points.into_iter().map(|(ts, _)| ts))
        .collect()
}

/// The rows of each batch update served, and its debug flag.
fn updates(sim: &BlynkSim) -> Vec<(Vec<serde_json::Value>, bool)> {
    served(sim, BATCH_UPDATE)
        .iter()
        .map(|r| {
            let body = r.body.as_ref().expect("batch update body kept");
            (
                body["updates"].as_array().unwrap().clone(),
                body["debug"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Values for many devices
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn fleet_reads_split_at_ten_devices() {
    let sim = sim(25).await;
    for n in [0usize, 1, 10, 11, 25] {
        sim.clear_requests();
        let ids: Vec<i32> = (1..=n as i32).collect();
        let fleet = client(&sim)
            .values_for_devices(&ids, ReadOptions::default())
            .await
            .unwrap();
        assert_eq!(fleet.requests, n.div_ceil(10), "{n}");
        let reads = batch_reads(&sim);
        assert_eq!(reads.len(), n.div_ceil(10), "{n}");
        assert!(reads.iter().all(|b| b.len() <= 10));
        let got: Vec<i32> = fleet.devices.iter().map(|d| d.device_id).collect();
        assert_eq!(got, ids, "{n}");
        assert!(fleet.missing.is_empty() && fleet.is_complete());
    }
}

#[tokio::test]
async fn fleet_reads_keep_the_callers_order_and_drop_duplicates() {
    let seed = Seed::builder()
        .product(1, "P", [Datastream::number(1, "V1", "Temperature")])
        .devices(1, 1..=88)
        .value(42, 1, json!(4.2), BASE_TS)
        .token("t", Principal::organisation())
        .build()
        .unwrap();
    let sim = start(seed, |b| b).await;
    let ids = [42, 7, 42, 19, 7, 3, 88, 1, 2, 4, 5, 6, 8, 9, 3];
    let fleet = client(&sim)
        .values_for_devices(&ids, ReadOptions::default())
        .await
        .unwrap();
    let got: Vec<i32> = fleet.devices.iter().map(|d| d.device_id).collect();
    assert_eq!(got, [42, 7, 19, 3, 88, 1, 2, 4, 5, 6, 8, 9]);
    let sent: Vec<i32> = batch_reads(&sim).concat();
    assert_eq!(sent.len(), 12, "each device asked once: {sent:?}");
    assert_eq!(
        fleet.devices[0].datastreams[0].value,
        Some(Value::Number(4.2))
    );
}

#[tokio::test]
async fn devices_the_server_skips_are_reported_missing() {
    let sim = start(
        seed_with((1..=20).filter(|id| *id != 3 && *id != 15), 0),
        |b| b,
    )
    .await;
    let ids: Vec<i32> = (1..=20).collect();
    let fleet = client(&sim)
        .values_for_devices(&ids, ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(fleet.missing, [3, 15]);
    assert_eq!(fleet.devices.len(), 18);
}

#[tokio::test]
async fn fleet_reads_run_concurrently_up_to_the_bound() {
    let sim = start(seed_with(1..=100, 0), |b| {
        b.faults(Faults {
            latency_ms: 50,
            ..Faults::default()
        })
    })
    .await;
    let ids: Vec<i32> = (1..=100).collect();
    let done = Arc::new(AtomicU64::new(0));
    let seen = done.clone();
    client(&sim)
        .values_for_devices(
            &ids,
            ReadOptions::default()
                .concurrency(3)
                .progress(ProgressFn::new(move |p| {
                    assert_eq!(p.total, Some(100));
                    seen.store(p.done, Ordering::SeqCst);
                })),
        )
        .await
        .unwrap();
    assert!(sim.max_in_flight() <= 3, "{}", sim.max_in_flight());
    assert!(sim.max_in_flight() >= 2, "{}", sim.max_in_flight());
    assert_eq!(done.load(Ordering::SeqCst), 100);
}

#[tokio::test]
async fn a_failed_fleet_request_is_reported_and_the_others_are_kept() {
    // Every attempt of the request carrying device 11 fails (4 attempts: reads retry on 500).
    let sim = start(seed_with(1..=25, 0), |b| {
        b.rule(
            FaultRule::operation(BATCH_READ)
                .device(11)
                .then(Action::Status {
                    status: 500,
                    retry_after: None,
                }),
        )
    })
    .await;
    let blynk = Blynk::builder()
        .base_url(sim.base_url())
        .token("t")
        .clock(ManualClock::new())
        .build()
        .unwrap();
    let ids: Vec<i32> = (1..=25).collect();
    let fleet = blynk
        .values_for_devices(&ids, ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(fleet.devices.len(), 15);
    assert!(fleet.missing.is_empty());
    assert_eq!(
        fleet.failed_device_ids().collect::<Vec<_>>(),
        (11..=20).collect::<Vec<_>>()
    );
    // Two requests succeeded; the failing one was tried 4 times (reads are retried on 500),
    // then 4 times more in the second pass.
    assert_eq!(sim.calls(BATCH_READ), 2 + 4 + 4);
    assert!(fleet.into_complete().is_err());
}

// ---------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn imports_are_chunked_at_ten_thousand_points_in_order() {
    let sim = sim(7).await;
    for n in [0u64, 1, 10, 11, 9_999, 10_000, 10_001, 25_000] {
        sim.clear_requests();
        let report = client(&sim)
            .import_history(7, 10, points(n), ImportOptions::default())
            .await
            .unwrap();
        let expected_requests = n.div_ceil(10_000);
        assert_eq!(report.requests, expected_requests, "{n}");
        assert_eq!(report.accepted, n);
        assert_eq!(report.end, n);
        let imports = imports(&sim);
        assert_eq!(imports.len() as u64, expected_requests, "{n}");
        assert!(
            imports
                .iter()
                .all(|(d, ds, p)| p.len() <= 10_000 && *d == 7 && *ds == 10)
        );
        let expected: Vec<i64> = (0..n as i64).map(|i| BASE_TS + i).collect();
        assert_eq!(
            received_ts(&sim),
            expected,
            "{n}: every point once, in order"
        );
    }
}

#[tokio::test]
async fn import_chunks_stop_at_the_two_megabyte_body_limit() {
    let sim = sim(1).await;
    let text = "x".repeat(1000);
    let input: Vec<Point> = (0..5_000u64)
        .map(|i| {
            Point::new(
                UNIX_EPOCH + Duration::from_millis(BASE_TS as u64 + i),
                text.as_str(),
            )
        })
        .collect();
    let one_point = serde_json::to_vec(&json!({"ts": BASE_TS, "value": text}))
        .unwrap()
        .len();
    let report = client(&sim)
        .import_history(1, 3, input, ImportOptions::default())
        .await
        .unwrap();
    let requests = served(&sim, IMPORT);
    assert_eq!(report.accepted, 5_000);
    assert!(requests.len() >= 3, "{}", requests.len());
    for (i, request) in requests.iter().enumerate() {
        let bytes = body_bytes(request);
        assert!(
            bytes <= blynk_api_ext::MAX_REQUEST_BYTES,
            "chunk {i}: {bytes}"
        );
        if i + 1 < requests.len() {
            // Full: one more point (and its comma) would not have fitted.
            assert!(
                bytes + one_point + 1 > blynk_api_ext::MAX_REQUEST_BYTES,
                "chunk {i}: {bytes}"
            );
        }
    }
    assert_eq!(received_ts(&sim).len(), 5_000);
}

#[tokio::test]
async fn a_failed_chunk_reports_where_to_resume_and_resuming_loses_and_repeats_nothing() {
    let sim = start(seed_with(1..=1, 0), |b| {
        // Known not applied; a 5xx would be reconciled instead (tests/import_reconcile.rs).
        b.rule(FaultRule::operation(IMPORT).nth(2).then(Action::Status {
            status: 400,
            retry_after: None,
        }))
    })
    .await;
    let blynk = client(&sim);
    let err = blynk
        .import_history(1, 10, points(25_000), ImportOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.accepted, 10_000);
    assert_eq!(err.resume_from, 10_000);
    assert!(!err.resume_needs_skip_existing());
    assert!(
        matches!(err.source, Error::BadRequest { .. }),
        "{:?}",
        err.source
    );
    assert!(
        err.to_string().contains("resume from input position 10000"),
        "{err}"
    );

    let report = blynk
        .import_history(
            1,
            10,
            points(25_000).skip(err.resume_from as usize),
            ImportOptions::default().offset(err.resume_from),
        )
        .await
        .unwrap();
    assert_eq!(report.accepted, 15_000);
    assert_eq!(report.end, 25_000);
    let expected: Vec<i64> = (0..25_000).map(|i| BASE_TS + i).collect();
    assert_eq!(received_ts(&sim), expected);
    let stored: Vec<i64> = sim.history(1, 10).iter().map(|(ts, _)| *ts).collect();
    assert_eq!(stored, expected, "the server holds every point once");
}

#[tokio::test]
async fn points_too_far_in_the_future_are_skipped_and_counted() {
    let sim = sim(1).await;
    let clock = ManualClock::new();
    let now = clock.wall();
    let blynk = Blynk::builder()
        .base_url(sim.base_url())
        .token("t")
        .clock(clock)
        .build()
        .unwrap();
    let input = vec![
        Point::new(now - Duration::from_secs(60), 1.0),
        Point::new(now + Duration::from_secs(40 * 86_400), 2.0),
        Point::new(now + Duration::from_secs(29 * 86_400), 3.0),
        Point::new(now + Duration::from_secs(31 * 86_400), 4.0),
    ];
    let report = blynk
        .import_history(1, 10, input.clone(), ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (report.accepted, report.skipped_future, report.end),
        (2, 2, 4)
    );
    let values: Vec<serde_json::Value> =
        imports(&sim)[0].2.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(values, [json!(1.0), json!(3.0)]);

    let err = blynk
        .import_history(
            1,
            10,
            input,
            ImportOptions::default().future_points(FuturePoints::Fail),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err.source, Error::InvalidInput { field, .. } if field == "points[1].at"),
        "{err:?}"
    );
    assert_eq!((err.accepted, err.resume_from), (0, 0));
    assert_eq!(sim.calls(IMPORT), 1, "nothing more was sent");
}

#[tokio::test]
async fn a_bad_point_stops_the_import_before_its_chunk_is_sent() {
    let sim = sim(1).await;
    let input = points(15_000).enumerate().map(|(i, mut p)| {
        if i == 12_345 {
            p.value = Value::Number(f64::NAN);
        }
        p
    });
    let err = client(&sim)
        .import_history(1, 10, input, ImportOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err.source, Error::InvalidInput { field, .. } if field == "points[12345].value"),
        "{err:?}"
    );
    assert_eq!((err.accepted, err.resume_from), (10_000, 10_000));
    assert_eq!(sim.calls(IMPORT), 1);
}

#[tokio::test]
async fn import_progress_counts_input_points() {
    let sim = sim(1).await;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    client(&sim)
        .import_history(
            1,
            10,
            points(25_000).collect::<Vec<_>>(),
            ImportOptions::default().progress(ProgressFn::new(move |p| {
                s.lock().unwrap().push((p.done, p.total))
            })),
        )
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.last(), Some(&(25_000, Some(25_000))));
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
}

#[tokio::test]
async fn imports_run_concurrently_across_devices_and_in_order_per_device() {
    let sim = start(seed_with(1..=3, 0), |b| {
        b.faults(Faults {
            latency_ms: 30,
            ..Faults::default()
        })
    })
    .await;
    let jobs = vec![
        ImportJob::new(1, 10, points(15_000).collect::<Vec<_>>()),
        ImportJob::new(2, 10, points(10_000).collect::<Vec<_>>()),
        ImportJob::new(1, 11, points(15_000).collect::<Vec<_>>()),
        ImportJob::new(3, 10, points(5).collect::<Vec<_>>()),
    ];
    let results = client(&sim)
        .import_many(jobs, 3, ImportOptions::default())
        .await;
    let ids: Vec<(i32, i32)> = results
        .jobs
        .iter()
        .map(|j| (j.device_id, j.datastream_id))
        .collect();
    assert_eq!(ids, [(1, 10), (2, 10), (1, 11), (3, 10)]);
    assert!(results.is_complete());
    assert_eq!(results.accepted(), 40_005);
    let reports = results.into_complete().unwrap();
    let accepted: Vec<u64> = reports.iter().map(|r| r.accepted).collect();
    assert_eq!(accepted, [15_000, 10_000, 15_000, 5]);
    assert!(sim.max_in_flight() >= 2, "devices ran concurrently");
    // Device 1: all of datastream 10 before any of datastream 11.
    let order: Vec<i64> = imports(&sim)
        .iter()
        .filter(|(device, _, _)| *device == 1)
        .map(|(_, ds, _)| *ds)
        .collect();
    assert_eq!(order, [10, 10, 11, 11]);
}

#[tokio::test]
async fn a_failed_job_of_import_many_keeps_the_others() {
    // The first import request of all (device 1's, at concurrency 1) is refused with a 400.
    let sim = start(seed_with(1..=2, 0), |b| {
        b.rule(FaultRule::operation(IMPORT).nth(1).then(Action::Status {
            status: 400,
            retry_after: None,
        }))
    })
    .await;
    let jobs = vec![
        ImportJob::new(1, 10, points(50).collect::<Vec<_>>()),
        ImportJob::new(2, 10, points(70).collect::<Vec<_>>()),
    ];
    let outcome = client(&sim)
        .import_many(jobs, 1, ImportOptions::default())
        .await;
    assert!(!outcome.is_complete());
    assert_eq!(outcome.jobs.len(), 2);
    let failed: Vec<&blynk_api_ext::ImportError> = outcome.failed().collect();
    assert_eq!(failed.len(), 1);
    assert!(
        matches!(failed[0].source, Error::BadRequest { .. }),
        "{failed:?}"
    );
    assert!(outcome.jobs[0].result.is_err());
    assert_eq!(outcome.jobs[1].result.as_ref().unwrap().accepted, 70);
    assert_eq!(outcome.accepted(), 70);
    assert_eq!(sim.history(2, 10).len(), 70);
    assert!(outcome.into_complete().is_err());
}

// ---------------------------------------------------------------------------------------------
// Batch update
// ---------------------------------------------------------------------------------------------

fn rows(n: usize) -> BatchUpdate {
    let mut update = BatchUpdate::new(["Temperature", "Mode"]);
    for i in 0..n {
        update
            .push(
                i as i32 + 1,
                [
                    Some(Value::Number(i as f64)),
                    if i % 2 == 0 { None } else { Some("eco".into()) },
                ],
            )
            .unwrap();
    }
    update
}

fn status(status: u16) -> Action {
    Action::Status {
        status,
        retry_after: None,
    }
}

#[tokio::test]
async fn batch_updates_are_chunked_at_ten_thousand_rows() {
    let sim = sim(25_000).await;
    for n in [1usize, 10_000, 10_001, 25_000] {
        sim.clear_requests();
        let summary = client(&sim)
            .batch_update(&rows(n), BatchUpdateOptions::default())
            .await
            .unwrap();
        assert_eq!(summary.requests as usize, n.div_ceil(10_000), "{n}");
        assert_eq!(summary.rows as usize, n);
        assert!(summary.all_applied());
        let sent: Vec<i64> = updates(&sim)
            .iter()
            .flat_map(|(rows, _)| rows.iter().map(|r| r[0].as_i64().unwrap()))
            .collect();
        assert_eq!(sent, (1..=n as i64).collect::<Vec<_>>(), "{n}");
    }
    assert_eq!(sim.value(25_000, 1), Some(json!(24_999.0)));
}

#[tokio::test]
async fn batch_update_rows_carry_nulls_and_values() {
    let sim = sim(2).await;
    client(&sim)
        .batch_update(&rows(2), BatchUpdateOptions::default())
        .await
        .unwrap();
    let (rows, debug) = &updates(&sim)[0];
    assert_eq!(rows, &vec![json!([1, 0.0, null]), json!([2, 1.0, "eco"])]);
    assert!(!debug);
    assert_eq!(sim.value(2, 2), Some(json!("eco")));
    assert_eq!(
        sim.value(1, 2),
        None,
        "null leaves the datastream unchanged"
    );
}

#[tokio::test]
async fn batch_update_chunks_stop_at_the_two_megabyte_body_limit() {
    let sim = sim(3_000).await;
    let text = "y".repeat(2_000);
    let mut update = BatchUpdate::new(["Note"]);
    for i in 0..3_000 {
        update.push(i + 1, [Some(text.as_str().into())]).unwrap();
    }
    let summary = client(&sim)
        .batch_update(&update, BatchUpdateOptions::default())
        .await
        .unwrap();
    let requests = served(&sim, BATCH_UPDATE);
    assert_eq!(summary.rows, 3_000);
    assert!(requests.len() >= 3);
    let sizes: Vec<usize> = requests.iter().map(body_bytes).collect();
    assert!(sizes.iter().all(|b| *b <= blynk_api_ext::MAX_REQUEST_BYTES));
    let row_len = serde_json::to_vec(&json!([1000, text])).unwrap().len();
    for bytes in &sizes[..sizes.len() - 1] {
        assert!(bytes + row_len + 1 > blynk_api_ext::MAX_REQUEST_BYTES);
    }
}

#[tokio::test]
async fn batch_update_reports_are_merged_across_chunks() {
    let absent = [6, 10_004, 25_000];
    let seed = || seed_with((1..=25_000).filter(|id| !absent.contains(id)), 0);
    let sim = start(seed(), |b| b).await;
    let summary = client(&sim)
        .batch_update(&rows(25_000), BatchUpdateOptions::default())
        .await
        .unwrap();
    assert_eq!(summary.requests, 3);
    assert_eq!(summary.fully_applied_requests, 0);
    assert_eq!(summary.counters.device_not_found, 3);
    assert_eq!(summary.counters.total(), 3);
    assert!(!summary.all_applied());

    // Debug mode: reasons mapped to the caller's row numbers (device N is row N-1).
    let sim = start(seed(), |b| b).await;
    let summary = client(&sim)
        .batch_update(&rows(25_000).debug(true), BatchUpdateOptions::default())
        .await
        .unwrap();
    let mapped: Vec<Option<usize>> = summary.skipped.iter().map(|s| s.row).collect();
    assert_eq!(mapped, [Some(5), Some(10_003), Some(24_999)]);
    assert!(summary.skipped[1].reason.contains("device 10004"));
    assert!(updates(&sim).iter().all(|(_, debug)| *debug));
}

#[tokio::test]
async fn a_fleet_request_that_fails_its_retries_is_sent_again_after_the_others() {
    // One request at a time: the second request's four attempts are answered 500, the second
    // pass (the fourth request sent) succeeds.
    let sim = start(seed_with(1..=30, 0), |mut b| {
        for nth in 2..=5 {
            b = b.rule(FaultRule::operation(BATCH_READ).nth(nth).then(status(500)));
        }
        b
    })
    .await;
    let blynk = Blynk::builder()
        .base_url(sim.base_url())
        .token("t")
        .clock(ManualClock::new())
        .build()
        .unwrap();
    let ids: Vec<i32> = (1..=30).collect();
    let fleet = blynk
        .values_for_devices(&ids, ReadOptions::default().concurrency(1))
        .await
        .unwrap();
    assert!(fleet.is_complete(), "{:?}", fleet.failed);
    let read: Vec<i32> = fleet.devices.iter().map(|d| d.device_id).collect();
    assert_eq!(read, ids);
    assert_eq!(sim.calls(BATCH_READ), 7);
    // Served last: the second pass came after the third request.
    let served = batch_reads(&sim);
    assert_eq!(served.len(), 3);
    assert_eq!(served[2], (11..=20).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_failed_batch_update_chunk_is_listed_with_its_rows_and_the_others_still_go() {
    // Both attempts of the second chunk are answered 429.
    let sim = start(seed_with(1..=25_000, 0), |b| {
        b.rule(FaultRule::operation(BATCH_UPDATE).nth(2).then(status(429)))
            .rule(FaultRule::operation(BATCH_UPDATE).nth(3).then(status(429)))
    })
    .await;
    let blynk = Blynk::builder()
        .base_url(sim.base_url())
        .token("t")
        .clock(ManualClock::new())
        .retry(blynk_api_ext::RetryConfig::standard().max_attempts(2))
        .build()
        .unwrap();
    let summary = blynk
        .batch_update(&rows(25_000), BatchUpdateOptions::default())
        .await
        .unwrap();
    assert_eq!(summary.rows, 15_000);
    assert_eq!(summary.requests, 2);
    assert_eq!(summary.failed.len(), 1);
    assert_eq!(summary.failed[0].rows, 10_000..20_000);
    assert!(
        matches!(summary.failed[0].error, Error::RateLimited { .. }),
        "{:?}",
        summary.failed[0].error
    );
    assert!(!summary.all_applied());
    // The rows of the other chunks were applied.
    assert_eq!(sim.value(10_000, 1), Some(json!(9_999.0)));
    assert_eq!(sim.value(10_001, 1), None);
    assert_eq!(sim.value(20_001, 1), Some(json!(20_000.0)));
    let err = summary.into_complete().unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
}

#[tokio::test]
async fn a_forbidden_batch_update_stops_and_says_where_to_resume() {
    let sim = start(seed_with(1..=25_000, 0), |b| {
        b.rule(FaultRule::operation(BATCH_UPDATE).nth(2).then(status(403)))
    })
    .await;
    let err = client(&sim)
        .batch_update(&rows(25_000), BatchUpdateOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.resume_from, 10_000);
    assert_eq!(err.summary.rows, 10_000);
    assert!(
        matches!(err.source, Error::Forbidden { .. }),
        "{:?}",
        err.source
    );
    assert_eq!(sim.calls(BATCH_UPDATE), 2, "nothing sent after the 403");
}

// ---------------------------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------------------------

fn query() -> HistoryQuery {
    HistoryQuery {
        device_id: 1,
        datastream_id: 1,
        from: UNIX_EPOCH,
        to: SystemTime::now(),
    }
}

/// `(page, size)` of each history request served.
fn history_pages(sim: &BlynkSim) -> Vec<(u64, u64)> {
    served(sim, HISTORY)
        .iter()
        .map(|r| {
            let get = |name: &str| {
                r.query
                    .iter()
                    .find(|(k, _)| k == name)
                    .map_or(0, |(_, v)| v.parse().unwrap())
            };
            (get("page"), get("size"))
        })
        .collect()
}

#[tokio::test]
async fn history_streams_every_page_and_ends_exactly_at_total() {
    for (total, read_ahead) in [
        (0u64, 0usize),
        (1, 0),
        (999, 0),
        (1000, 0),
        (2500, 0),
        (3000, 2),
        (2500, 3),
    ] {
        let sim = start(seed_with(1..=1, total), |b| b).await;
        let points = client(&sim)
            .history(query())
            .read_ahead(read_ahead)
            .collect_points()
            .await
            .unwrap();
        assert_eq!(points.len() as u64, total, "{total}");
        assert!(
            points.iter().enumerate().all(|(i, p)| p.value == i as f64),
            "{total}: in order"
        );
        let pages = history_pages(&sim);
        let mut sorted: Vec<u64> = pages.iter().map(|(p, _)| *p).collect();
        sorted.sort_unstable();
        let expected: Vec<u64> = (0..total.div_ceil(1000).max(1)).collect();
        assert_eq!(
            sorted, expected,
            "{total}: each page once, no page past the end"
        );
        assert!(pages.iter().all(|(_, size)| *size == 1000));
    }
}

#[tokio::test]
async fn dropping_a_history_stream_stops_requesting_pages() {
    let sim = start(seed_with(1..=1, 100_000), |b| b).await;
    let mut stream = client(&sim).history(query()).read_ahead(1).into_stream();
    let mut read = 0;
    while let Some(point) = stream.next().await {
        point.unwrap();
        read += 1;
        if read == 1_500 {
            break;
        }
    }
    drop(stream);
    // Dropping cancels what is in flight: whatever reached the server was counted already, and
    // nothing more can start. The counter is read twice with the stream gone; no sleep needed.
    let requested = sim.calls(HISTORY);
    tokio::task::yield_now().await;
    assert_eq!(sim.calls(HISTORY), requested, "no request after the drop");
    assert!(
        requested <= 4,
        "read-ahead of 1 fetched {requested} pages for 1.5 pages read"
    );
}

#[tokio::test]
async fn history_is_written_as_csv() {
    let sim = start(seed_with(1..=1, 3), |b| b).await;
    let mut out = Vec::new();
    let written = client(&sim)
        .history(query())
        .page_size(2)
        .write_csv(&mut out)
        .await
        .unwrap();
    assert_eq!(written, 3);
    let expected = format!(
        "ts,value\n{},0\n{},1\n{},2\n",
        BASE_TS,
        BASE_TS + 1000,
        BASE_TS + 2000
    );
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

#[tokio::test]
async fn an_invalid_page_size_fails_the_stream_before_any_request() {
    let sim = start(seed_with(1..=1, 10), |b| b).await;
    let err = client(&sim)
        .history(query())
        .page_size(0)
        .collect_points()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { ref field, .. } if field == "size"),
        "{err:?}"
    );
    assert_eq!(sim.request_count(), 0);
}
