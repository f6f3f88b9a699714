//! Bulk operations against a dynamic fake server on 127.0.0.1 (`support/fake.rs`).

mod support {
    pub mod fake;
}

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use blynk_api_ext::clock::{Clock, ManualClock};
use blynk_api_ext::{
    BatchUpdate, BatchUpdateOptions, Blynk, Error, FuturePoints, HistoryQuery, ImportJob,
    ImportOptions, Point, ProgressFn, ReadOptions, Value,
};
use futures::StreamExt;
use serde_json::json;
use support::fake::{BASE_TS, Config, Fake};

fn client(fake: &Fake) -> Blynk {
    Blynk::builder()
        .base_url(&fake.url)
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

// ---------------------------------------------------------------------------------------------
// Values for many devices
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn fleet_reads_split_at_ten_devices() {
    for n in [0usize, 1, 10, 11, 25] {
        let fake = Fake::start(Config::default()).await;
        let ids: Vec<i32> = (1..=n as i32).collect();
        let fleet = client(&fake)
            .values_for_devices(&ids, ReadOptions::default())
            .await
            .unwrap();
        assert_eq!(fleet.requests, n.div_ceil(10), "{n}");
        assert_eq!(fake.batch_reads().len(), n.div_ceil(10), "{n}");
        assert!(fake.batch_reads().iter().all(|b| b.len() <= 10));
        let got: Vec<i32> = fleet.devices.iter().map(|d| d.device_id).collect();
        assert_eq!(got, ids, "{n}");
        assert!(fleet.missing.is_empty());
    }
}

#[tokio::test]
async fn fleet_reads_keep_the_callers_order_and_drop_duplicates() {
    let fake = Fake::start(Config::default()).await;
    let ids = [42, 7, 42, 19, 7, 3, 88, 1, 2, 4, 5, 6, 8, 9, 3];
    let fleet = client(&fake)
        .values_for_devices(&ids, ReadOptions::default())
        .await
        .unwrap();
    let got: Vec<i32> = fleet.devices.iter().map(|d| d.device_id).collect();
    assert_eq!(got, [42, 7, 19, 3, 88, 1, 2, 4, 5, 6, 8, 9]);
    let sent: Vec<i64> = fake.batch_reads().concat();
    assert_eq!(sent.len(), 12, "each device asked once: {sent:?}");
    assert_eq!(
        fleet.devices[0].datastreams[0].value,
        Some(Value::Number(4.2))
    );
}

#[tokio::test]
async fn devices_the_server_skips_are_reported_missing() {
    let fake = Fake::start(Config {
        missing: HashSet::from([3, 15]),
        ..Config::default()
    })
    .await;
    let ids: Vec<i32> = (1..=20).collect();
    let fleet = client(&fake)
        .values_for_devices(&ids, ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(fleet.missing, [3, 15]);
    assert_eq!(fleet.devices.len(), 18);
}

#[tokio::test]
async fn fleet_reads_run_concurrently_up_to_the_bound() {
    let fake = Fake::start(Config {
        latency: Duration::from_millis(50),
        ..Config::default()
    })
    .await;
    let ids: Vec<i32> = (1..=100).collect();
    let done = Arc::new(AtomicU64::new(0));
    let seen = done.clone();
    client(&fake)
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
    assert!(fake.max_in_flight() <= 3, "{}", fake.max_in_flight());
    assert!(fake.max_in_flight() >= 2, "{}", fake.max_in_flight());
    assert_eq!(done.load(Ordering::SeqCst), 100);
}

// ---------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------

async fn keeping() -> Fake {
    Fake::start(Config {
        keep_points: true,
        ..Config::default()
    })
    .await
}

fn received_ts(fake: &Fake) -> Vec<i64> {
    fake.imports()
        .iter()
        .flat_map(|i| i.points.iter().map(|(ts, _)| *ts))
        .collect()
}

#[tokio::test]
async fn imports_are_chunked_at_ten_thousand_points_in_order() {
    for n in [0u64, 1, 10, 11, 9_999, 10_000, 10_001, 25_000] {
        let fake = keeping().await;
        let report = client(&fake)
            .import_history(7, 3, points(n), ImportOptions::default())
            .await
            .unwrap();
        let expected_requests = n.div_ceil(10_000);
        assert_eq!(report.requests, expected_requests, "{n}");
        assert_eq!(report.accepted, n);
        assert_eq!(report.end, n);
        let imports = fake.imports();
        assert_eq!(imports.len() as u64, expected_requests, "{n}");
        assert!(
            imports
                .iter()
                .all(|i| i.count <= 10_000 && i.device_id == 7 && i.datastream_id == 3)
        );
        let expected: Vec<i64> = (0..n as i64).map(|i| BASE_TS + i).collect();
        assert_eq!(
            received_ts(&fake),
            expected,
            "{n}: every point once, in order"
        );
    }
}

#[tokio::test]
async fn import_chunks_stop_at_the_two_megabyte_body_limit() {
    let fake = keeping().await;
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
    let report = client(&fake)
        .import_history(1, 1, input, ImportOptions::default())
        .await
        .unwrap();
    let imports = fake.imports();
    assert_eq!(report.accepted, 5_000);
    assert!(imports.len() >= 3, "{}", imports.len());
    for (i, chunk) in imports.iter().enumerate() {
        assert!(
            chunk.body_bytes <= blynk_api_ext::MAX_REQUEST_BYTES,
            "chunk {i}: {}",
            chunk.body_bytes
        );
        if i + 1 < imports.len() {
            // Full: one more point (and its comma) would not have fitted.
            assert!(
                chunk.body_bytes + one_point + 1 > blynk_api_ext::MAX_REQUEST_BYTES,
                "chunk {i}"
            );
        }
    }
    assert_eq!(received_ts(&fake).len(), 5_000);
}

#[tokio::test]
async fn a_failed_chunk_reports_where_to_resume_and_resuming_loses_and_repeats_nothing() {
    let fake = Fake::start(Config {
        keep_points: true,
        fail_imports: HashSet::from([2]),
        // Known not applied; a 5xx would be reconciled instead (tests/import_reconcile.rs).
        fail_status: Some(400),
        ..Config::default()
    })
    .await;
    let blynk = client(&fake);
    let err = blynk
        .import_history(1, 1, points(25_000), ImportOptions::default())
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
            1,
            points(25_000).skip(err.resume_from as usize),
            ImportOptions::default().offset(err.resume_from),
        )
        .await
        .unwrap();
    assert_eq!(report.accepted, 15_000);
    assert_eq!(report.end, 25_000);
    let expected: Vec<i64> = (0..25_000).map(|i| BASE_TS + i).collect();
    assert_eq!(received_ts(&fake), expected);
}

#[tokio::test]
async fn points_too_far_in_the_future_are_skipped_and_counted() {
    let fake = keeping().await;
    let clock = ManualClock::new();
    let now = clock.wall();
    let blynk = Blynk::builder()
        .base_url(&fake.url)
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
        .import_history(1, 1, input.clone(), ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (report.accepted, report.skipped_future, report.end),
        (2, 2, 4)
    );
    let values: Vec<serde_json::Value> = fake.imports()[0]
        .points
        .iter()
        .map(|(_, v)| v.clone())
        .collect();
    assert_eq!(values, [json!(1.0), json!(3.0)]);

    let err = blynk
        .import_history(
            1,
            1,
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
    assert_eq!(fake.imports().len(), 1, "nothing more was sent");
}

#[tokio::test]
async fn a_bad_point_stops_the_import_before_its_chunk_is_sent() {
    let fake = keeping().await;
    let input = points(15_000).enumerate().map(|(i, mut p)| {
        if i == 12_345 {
            p.value = Value::Number(f64::NAN);
        }
        p
    });
    let err = client(&fake)
        .import_history(1, 1, input, ImportOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err.source, Error::InvalidInput { field, .. } if field == "points[12345].value"),
        "{err:?}"
    );
    assert_eq!((err.accepted, err.resume_from), (10_000, 10_000));
    assert_eq!(fake.imports().len(), 1);
}

#[tokio::test]
async fn import_progress_counts_input_points() {
    let fake = Fake::start(Config::default()).await;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    client(&fake)
        .import_history(
            1,
            1,
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
    let fake = Fake::start(Config {
        latency: Duration::from_millis(30),
        ..Config::default()
    })
    .await;
    let jobs = vec![
        ImportJob::new(1, 10, points(15_000).collect::<Vec<_>>()),
        ImportJob::new(2, 10, points(10_000).collect::<Vec<_>>()),
        ImportJob::new(1, 11, points(15_000).collect::<Vec<_>>()),
        ImportJob::new(3, 10, points(5).collect::<Vec<_>>()),
    ];
    let results = client(&fake)
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
    assert!(fake.max_in_flight() >= 2, "devices ran concurrently");
    // Device 1: all of datastream 10 before any of datastream 11.
    let order: Vec<i64> = fake
        .imports()
        .iter()
        .filter(|i| i.device_id == 1)
        .map(|i| i.datastream_id)
        .collect();
    assert_eq!(order, [10, 10, 11, 11]);
}

#[tokio::test]
async fn a_failed_job_of_import_many_keeps_the_others() {
    // The first import request of all (whichever device it is) fails with a 400.
    let fake = Fake::start(Config {
        fail_imports: HashSet::from([1]),
        fail_status: Some(400),
        ..Config::default()
    })
    .await;
    let jobs = vec![
        ImportJob::new(1, 10, points(50).collect::<Vec<_>>()),
        ImportJob::new(2, 10, points(70).collect::<Vec<_>>()),
    ];
    let outcome = client(&fake)
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
    // Concurrency 1 runs device 1 first: its job failed, device 2's completed.
    assert!(outcome.jobs[0].result.is_err());
    assert_eq!(outcome.jobs[1].result.as_ref().unwrap().accepted, 70);
    assert_eq!(outcome.accepted(), 70);
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

#[tokio::test]
async fn batch_updates_are_chunked_at_ten_thousand_rows() {
    for n in [0usize, 1, 10_000, 10_001, 25_000] {
        let fake = Fake::start(Config::default()).await;
        let summary = client(&fake)
            .batch_update(&rows(n), BatchUpdateOptions::default())
            .await
            .unwrap();
        assert_eq!(summary.requests as usize, n.div_ceil(10_000), "{n}");
        assert_eq!(summary.rows as usize, n);
        assert!(summary.all_applied());
        let sent: Vec<i64> = fake
            .updates()
            .iter()
            .flat_map(|u| u.rows.iter().map(|r| r[0].as_i64().unwrap()))
            .collect();
        assert_eq!(sent, (1..=n as i64).collect::<Vec<_>>(), "{n}");
    }
}

#[tokio::test]
async fn batch_update_rows_carry_nulls_and_values() {
    let fake = Fake::start(Config::default()).await;
    client(&fake)
        .batch_update(&rows(2), BatchUpdateOptions::default())
        .await
        .unwrap();
    let update = &fake.updates()[0];
    assert_eq!(
        update.rows,
        vec![
            vec![json!(1), json!(0.0), json!(null)],
            vec![json!(2), json!(1.0), json!("eco")]
        ]
    );
    assert!(!update.debug);
}

#[tokio::test]
async fn batch_update_chunks_stop_at_the_two_megabyte_body_limit() {
    let fake = Fake::start(Config::default()).await;
    let text = "y".repeat(2_000);
    let mut update = BatchUpdate::new(["Note"]);
    for i in 0..3_000 {
        update.push(i + 1, [Some(text.as_str().into())]).unwrap();
    }
    let summary = client(&fake)
        .batch_update(&update, BatchUpdateOptions::default())
        .await
        .unwrap();
    let updates = fake.updates();
    assert_eq!(summary.rows, 3_000);
    assert!(updates.len() >= 3);
    assert!(
        updates
            .iter()
            .all(|u| u.body_bytes <= blynk_api_ext::MAX_REQUEST_BYTES)
    );
    let row_len = serde_json::to_vec(&json!([1000, text])).unwrap().len();
    for u in &updates[..updates.len() - 1] {
        assert!(u.body_bytes + row_len + 1 > blynk_api_ext::MAX_REQUEST_BYTES);
    }
}

#[tokio::test]
async fn batch_update_reports_are_merged_across_chunks() {
    let fake = Fake::start(Config {
        missing: HashSet::from([6, 10_004, 25_000]),
        ..Config::default()
    })
    .await;
    let summary = client(&fake)
        .batch_update(&rows(25_000), BatchUpdateOptions::default())
        .await
        .unwrap();
    assert_eq!(summary.requests, 3);
    assert_eq!(summary.fully_applied_requests, 0);
    assert_eq!(summary.counters.device_not_found, 3);
    assert_eq!(summary.counters.total(), 3);
    assert!(!summary.all_applied());

    // Debug mode: reasons mapped to the caller's row numbers (device N is row N-1).
    let fake = Fake::start(Config {
        missing: HashSet::from([6, 10_004, 25_000]),
        ..Config::default()
    })
    .await;
    let summary = client(&fake)
        .batch_update(&rows(25_000).debug(true), BatchUpdateOptions::default())
        .await
        .unwrap();
    let mapped: Vec<Option<usize>> = summary.skipped.iter().map(|s| s.row).collect();
    assert_eq!(mapped, [Some(5), Some(10_003), Some(24_999)]);
    assert!(summary.skipped[1].reason.contains("device 10004"));
    assert!(fake.updates().iter().all(|u| u.debug));
}

#[tokio::test]
async fn a_failed_batch_update_chunk_is_listed_with_its_rows_and_the_others_still_go() {
    // Requests 2 and 3 (both attempts of the second chunk) are answered 429.
    let fake = Fake::start(Config {
        throttle_requests: (2..=3).collect(),
        ..Config::default()
    })
    .await;
    let blynk = Blynk::builder()
        .base_url(&fake.url)
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
    let err = summary.into_complete().unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
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
        let fake = Fake::start(Config {
            history_total: total,
            ..Config::default()
        })
        .await;
        let points = client(&fake)
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
        let pages: Vec<u64> = fake
            .history_pages()
            .iter()
            .map(|(p, _)| *p)
            .collect::<Vec<_>>();
        let mut sorted = pages.clone();
        sorted.sort_unstable();
        let expected: Vec<u64> = (0..total.div_ceil(1000).max(1)).collect();
        assert_eq!(
            sorted, expected,
            "{total}: each page once, no page past the end"
        );
        assert!(fake.history_pages().iter().all(|(_, size)| *size == 1000));
    }
}

#[tokio::test]
async fn dropping_a_history_stream_stops_requesting_pages() {
    let fake = Fake::start(Config {
        history_total: 100_000,
        ..Config::default()
    })
    .await;
    let mut stream = client(&fake).history(query()).read_ahead(1).into_stream();
    let mut read = 0;
    while let Some(point) = stream.next().await {
        point.unwrap();
        read += 1;
        if read == 1_500 {
            break;
        }
    }
    drop(stream);
    let requested = fake.history_pages().len();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        fake.history_pages().len(),
        requested,
        "no request after the drop"
    );
    assert!(
        requested <= 4,
        "read-ahead of 1 fetched {requested} pages for 1.5 pages read"
    );
}

#[tokio::test]
async fn history_is_written_as_csv() {
    let fake = Fake::start(Config {
        history_total: 3,
        ..Config::default()
    })
    .await;
    let mut out = Vec::new();
    let written = client(&fake)
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
    let fake = Fake::start(Config {
        history_total: 10,
        ..Config::default()
    })
    .await;
    let err = client(&fake)
        .history(query())
        .page_size(0)
        .collect_points()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { ref field, .. } if field == "size"),
        "{err:?}"
    );
    assert_eq!(fake.requests(), 0);
}
