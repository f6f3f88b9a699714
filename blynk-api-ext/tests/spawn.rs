//! Every public operation of [`Blynk`] runs inside `tokio::spawn` and a `JoinSet`, the way web
//! handlers and job queues run work. This file fails to compile if any operation's future stops
//! being `Send + 'static`-spawnable, or if the client, its options, reports or errors stop being
//! `Send + Sync`.

use std::future::Future;
use std::time::{Duration, UNIX_EPOCH};

use blynk_api_ext::{
    BatchUpdate, BatchUpdateError, BatchUpdateOptions, BatchUpdateSummary, Blynk, BlynkBuilder,
    Error, FleetValues, HistoryQuery, HistoryRequest, HistoryStream, ImportError, ImportJob,
    ImportOptions, ImportReport, Point, Progress, ProgressFn, Property, ReadOptions, RetryConfig,
};
use futures::StreamExt;
use tokio::task::JoinSet;

const fn assert_send_sync<T: Send + Sync>() {}
const fn assert_send<T: Send>() {}

// Compile-time: the client, its configuration, options, reports and errors cross threads freely.
const _: () = {
    assert_send_sync::<Blynk>();
    assert_send_sync::<BlynkBuilder>();
    assert_send_sync::<RetryConfig>();
    assert_send_sync::<ReadOptions>();
    assert_send_sync::<ImportOptions>();
    assert_send_sync::<ProgressFn>();
    assert_send_sync::<Progress>();
    assert_send_sync::<FleetValues>();
    assert_send_sync::<ImportReport>();
    assert_send_sync::<BatchUpdateSummary>();
    assert_send_sync::<BatchUpdate>();
    assert_send_sync::<HistoryRequest>();
    assert_send_sync::<Error>();
    assert_send_sync::<ImportError>();
    assert_send_sync::<BatchUpdateError>();
    assert_send_sync::<blynk_api_ext::BatchUpdateOptions>();
    assert_send_sync::<blynk_api_ext::Pacing>();
    assert_send_sync::<blynk_api_ext::Attempt>();
    assert_send_sync::<blynk_api_ext::ImportManyReport>();
    assert_send_sync::<blynk_api_ext::FailedDevices>();
    assert_send_sync::<blynk_api_ext::FailedRows>();
    // Streams are polled by one task at a time: `Send` is what spawning needs.
    assert_send::<HistoryStream>();
    assert_send::<ImportJob>();
};

/// Requires the future to be spawnable, then spawns it and waits for it.
async fn spawned<F>(future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future).await.expect("task panicked")
}

async fn sim_and_client() -> (blynk_sim::BlynkSim, Blynk) {
    let sim = blynk_sim::BlynkSim::start().await.unwrap();
    let blynk = Blynk::builder()
        .base_url(sim.base_url())
        .token(blynk_sim::DEMO_TOKEN)
        .build()
        .unwrap();
    (sim, blynk)
}

fn history_query() -> HistoryQuery {
    HistoryQuery {
        device_id: 1,
        datastream_id: 1,
        from: UNIX_EPOCH,
        to: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
    }
}

fn recent_points(n: u64) -> Vec<Point> {
    let now = std::time::SystemTime::now();
    (0..n)
        .map(|i| Point::new(now - Duration::from_secs(60 * (i + 1)), i as f64))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_single_operation_runs_in_a_spawned_task() {
    let (_sim, blynk) = sim_and_client().await;

    let b = blynk.clone();
    assert!(
        !spawned(async move { b.device_values(1).await })
            .await
            .unwrap()
            .is_empty()
    );
    let b = blynk.clone();
    let ids = vec![1, 2];
    spawned(async move { b.device_values_of(1, &ids).await })
        .await
        .unwrap();
    let b = blynk.clone();
    let devices = vec![1, 2, 3];
    spawned(async move { b.batch_values(&devices, None).await })
        .await
        .unwrap();
    let b = blynk.clone();
    spawned(async move { b.batch_values(&[1], Some(&[1, 2])).await })
        .await
        .unwrap();
    let b = blynk.clone();
    spawned(async move { b.history_page(&history_query(), 0, 10).await })
        .await
        .unwrap();
    let b = blynk.clone();
    spawned(async move { b.set_value(1, 1, 21.5).await })
        .await
        .unwrap();
    let b = blynk.clone();
    spawned(async move { b.set_values(1, [(1, 22.0.into()), (3, "eco".into())]).await })
        .await
        .unwrap();
    let b = blynk.clone();
    let points = recent_points(3);
    spawned(async move { b.import(2, 1, &points).await })
        .await
        .unwrap();
    let b = blynk.clone();
    spawned(async move { b.set_property(1, 1, Property::Label, "Kitchen").await })
        .await
        .unwrap();
    // Per-call overrides are clients too.
    let b = blynk.with_retry(RetryConfig::disabled());
    spawned(async move { b.device_values(1).await })
        .await
        .unwrap();
    let b = blynk.with_timeout(Duration::from_secs(5));
    spawned(async move { b.device_values(1).await })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bulk_operation_runs_in_a_spawned_task_with_options_and_progress() {
    let (_sim, blynk) = sim_and_client().await;
    let progress = ProgressFn::new(|_| {});

    let b = blynk.clone();
    let ids: Vec<i32> = (1..=25).collect();
    let options = ReadOptions::default()
        .concurrency(3)
        .progress(progress.clone());
    let fleet = spawned(async move { b.values_for_devices(&ids, options).await })
        .await
        .unwrap();
    assert_eq!(fleet.devices.len(), 25);

    let b = blynk.clone();
    let options = ImportOptions::default().progress(progress.clone());
    spawned(async move { b.import_history(3, 1, recent_points(5), options).await })
        .await
        .unwrap();

    let b = blynk.clone();
    let stream = futures::stream::iter(recent_points(5));
    spawned(async move {
        b.import_stream(4, 1, stream, ImportOptions::default())
            .await
    })
    .await
    .unwrap();

    let b = blynk.clone();
    let jobs = vec![
        ImportJob::new(5, 1, recent_points(2)),
        ImportJob::new(6, 1, recent_points(2)),
    ];
    let outcome = spawned(async move {
        b.import_many(jobs, 2, ImportOptions::default().progress(progress))
            .await
    })
    .await;
    assert!(outcome.is_complete());

    let b = blynk.clone();
    let update = BatchUpdate::new(["Temperature"])
        .row(1, [Some(20.0.into())])
        .unwrap();
    spawned(async move { b.batch_update(&update, BatchUpdateOptions::default()).await })
        .await
        .unwrap();

    let b = blynk.clone();
    let points = spawned(async move { b.history(history_query()).collect_points().await })
        .await
        .unwrap();
    assert!(!points.is_empty());

    let b = blynk.clone();
    let written = spawned(async move {
        let mut out = Vec::new();
        b.history(history_query()).write_csv(&mut out).await
    })
    .await
    .unwrap();
    assert_eq!(written as usize, points.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_stream_moves_into_a_task_and_is_polled_there() {
    let (_sim, blynk) = sim_and_client().await;
    let mut stream = blynk.history(history_query()).page_size(100).into_stream();
    let count = spawned(async move {
        let mut count = 0usize;
        while let Some(point) = stream.next().await {
            point.unwrap();
            count += 1;
        }
        count
    })
    .await;
    assert_eq!(count, 1440);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_run_side_by_side_in_a_join_set() {
    let (_sim, blynk) = sim_and_client().await;
    let mut set = JoinSet::new();
    let b = blynk.clone();
    set.spawn(async move { b.device_values(1).await.map(|_| ()) });
    let b = blynk.clone();
    set.spawn(async move { b.batch_values(&[1, 2], None).await.map(|_| ()) });
    let b = blynk.clone();
    set.spawn(async move { b.set_value(7, 1, 30.0).await });
    let b = blynk.clone();
    set.spawn(async move {
        let ids: Vec<i32> = (1..=40).collect();
        b.values_for_devices(&ids, ReadOptions::default())
            .await
            .map(|_| ())
    });
    let b = blynk.clone();
    set.spawn(async move {
        b.import_history(8, 1, recent_points(4), ImportOptions::default())
            .await
            .map(|_| ())
            .map_err(|e| e.source)
    });
    let b = blynk.clone();
    set.spawn(async move {
        let update = BatchUpdate::new(["Humidity"]).row(9, [Some(50.0.into())])?;
        b.batch_update(&update, BatchUpdateOptions::default())
            .await
            .map(|_| ())
            .map_err(|e| e.source)
    });
    let b = blynk.clone();
    set.spawn(async move {
        b.history(history_query())
            .read_ahead(2)
            .collect_points()
            .await
            .map(|_| ())
    });
    let mut finished = 0;
    while let Some(result) = set.join_next().await {
        result.expect("task panicked").unwrap();
        finished += 1;
    }
    assert_eq!(finished, 7);
}
