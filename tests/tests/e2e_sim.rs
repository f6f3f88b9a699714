//! End to end: the ext client against the simulator, through every operation and the bulk
//! features over many chunks and pages; then every response the simulator sent, and every request
//! body it received, checked against the merged document.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use blynk_api_ext::{
    BatchUpdate, Blynk, HistoryQuery, ImportOptions, Location, Point, Property, ReadOptions,
    RetryConfig, Value,
};
use blynk_sim::{BlynkSim, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Faults, RateLimit};
use blynk_tests::spec;
use futures::StreamExt;
use serde_json::json;

fn client(sim: &BlynkSim) -> Blynk {
    Blynk::builder()
        .base_url(sim.base_url())
        .client_credentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        .build()
        .unwrap()
}

/// A simulator whose log keeps every body whole, so that [`assert_conformance`] sees them all.
fn whole_bodies() -> blynk_sim::SimBuilder {
    BlynkSim::builder()
        .log_body_limit(usize::MAX)
        .log_capacity(usize::MAX)
}

/// Every logged API exchange: documented statuses carry bodies the document accepts, and every
/// JSON request body matches its request schema; and the simulator's own runtime validation found
/// nothing either. Returns how many responses were checked.
fn assert_conformance(sim: &BlynkSim) -> usize {
    assert_eq!(
        sim.violations(),
        [],
        "the simulator's runtime validation found violations"
    );
    let mut checked = 0;
    for entry in sim.requests() {
        assert!(
            entry.body_summary.is_none() && entry.response_summary.is_none(),
            "bodies are kept whole"
        );
        let Some(op) = entry.operation.filter(|op| *op != "oauth2Token") else {
            continue;
        };
        if let Some(body) = &entry.body
            && entry.method == "POST"
        {
            spec().assert_request(op, body);
        }
        let documented = spec().documented_statuses(op);
        assert!(
            documented.contains(&entry.status),
            "{op} answered {} which the document does not declare",
            entry.status
        );
        match &entry.response {
            Some(body) => spec().assert_response(op, entry.status, body),
            None => assert!(
                !spec().has_json_body(op, entry.status),
                "{op} {} needs a body",
                entry.status
            ),
        }
        checked += 1;
    }
    checked
}

#[tokio::test]
async fn every_operation_through_the_ext_client() {
    let sim = whole_bodies().start().await.unwrap();
    let blynk = client(&sim);

    blynk.set_value(2, 1, 21.5).await.unwrap();
    blynk.set_value(2, 3, "eco").await.unwrap();
    blynk
        .set_value(2, 4, Location::new(24.1, 56.9))
        .await
        .unwrap();
    assert_eq!(sim.value(2, 1), Some(json!(21.5)));

    let values = blynk.device_values(2).await.unwrap();
    assert_eq!(values.len(), 4);
    assert_eq!(values[0].value, Some(Value::Number(21.5)));
    assert_eq!(values[2].value, Some(Value::Text("eco".into())));
    assert_eq!(
        values[3].value,
        Some(Value::Location(Location::new(24.1, 56.9)))
    );
    assert!(values[0].updated_at.is_some());
    assert_eq!(blynk.device_values_of(2, &[3]).await.unwrap().len(), 1);

    blynk
        .set_values(3, [(1, 19.0.into()), (2, 55.0.into())])
        .await
        .unwrap();
    assert_eq!(sim.value(3, 2), Some(json!(55.0)));

    let batch = blynk.batch_values(&[2, 3, 999], None).await.unwrap();
    assert_eq!(
        batch.iter().map(|d| d.device_id).collect::<Vec<_>>(),
        [2, 3]
    );

    let query = HistoryQuery {
        device_id: 1,
        datastream_id: 1,
        from: UNIX_EPOCH,
        to: SystemTime::now(),
    };
    let page = blynk.history_page(&query, 1, 500).await.unwrap();
    assert_eq!((page.points.len(), page.total), (500, 1440));

    let at = SystemTime::now() - Duration::from_secs(3600);
    blynk
        .import(
            4,
            2,
            &[
                Point::new(at, 40.0),
                Point::new(at + Duration::from_secs(60), 41.0),
            ],
        )
        .await
        .unwrap();
    assert_eq!(sim.history(4, 2).len(), 2);

    blynk
        .set_property(2, 1, Property::Label, "Kitchen")
        .await
        .unwrap();
    assert_eq!(sim.property(2, 1, "label").as_deref(), Some("Kitchen"));

    let update = BatchUpdate::new(["Temperature"])
        .row(5, [Some(18.0.into())])
        .unwrap()
        .row(999, [Some(18.0.into())])
        .unwrap();
    let summary = blynk
        .batch_update(&update, blynk_api_ext::BatchUpdateOptions::default())
        .await
        .unwrap();
    assert_eq!(summary.counters.device_not_found, 1);
    assert_eq!(sim.value(5, 1), Some(json!(18.0)));

    // The simulator's errors reach the caller typed.
    let err = blynk.device_values(999).await.unwrap_err();
    assert!(
        matches!(err, blynk_api_ext::Error::NotFound { .. }),
        "{err:?}"
    );
    let err = blynk.set_value(2, 1, "hot").await.unwrap_err();
    assert!(
        matches!(err, blynk_api_ext::Error::BadRequest { .. }),
        "{err:?}"
    );

    // The generated client, through the same authentication.
    let raw = blynk
        .api()
        .get_device_data_streams_v2()
        .device_id(2)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.into_inner().data_streams.len(), 4);

    assert_eq!(assert_conformance(&sim), 14);
}

#[tokio::test]
async fn bulk_features_over_many_chunks_and_pages() {
    let sim = whole_bodies().start().await.unwrap();
    let blynk = client(&sim);

    // 45 devices plus unknown ones: 5 requests of at most 10.
    let mut ids: Vec<i32> = (1..=40).chain(101..=105).collect();
    ids.extend([998, 999]);
    let fleet = blynk
        .values_for_devices(&ids, ReadOptions::default().concurrency(3))
        .await
        .unwrap();
    assert_eq!(fleet.requests, 5);
    assert_eq!(fleet.devices.len(), 45);
    assert_eq!(fleet.missing, [998, 999]);

    // 25,000 points in 3 chunks, then read back over 25 pages.
    let base = SystemTime::now() - Duration::from_secs(86_400);
    let points =
        (0..25_000u64).map(|i| Point::new(base + Duration::from_millis(i * 100), (i % 80) as f64));
    let report = blynk
        .import_history(6, 1, points, ImportOptions::default())
        .await
        .unwrap();
    assert_eq!((report.accepted, report.requests), (25_000, 3));
    let query = HistoryQuery {
        device_id: 6,
        datastream_id: 1,
        from: base,
        to: SystemTime::now(),
    };
    let mut stream = blynk.history(query).read_ahead(2).into_stream();
    let mut count = 0u64;
    while let Some(point) = stream.next().await {
        let point = point.unwrap();
        assert_eq!(point.value, (count % 80) as f64);
        count += 1;
    }
    assert_eq!(count, 25_000);

    // 12,000 rows, mostly for unknown devices: 2 chunks, counters merged.
    let mut update = BatchUpdate::new(["Humidity"]);
    for i in 0..12_000 {
        update
            .push(
                if i % 1000 == 0 { 7 } else { 100_000 + i },
                [Some(50.0.into())],
            )
            .unwrap();
    }
    let summary = blynk
        .batch_update(&update, blynk_api_ext::BatchUpdateOptions::default())
        .await
        .unwrap();
    assert_eq!(summary.requests, 2);
    assert_eq!(summary.counters.device_not_found, 11_988);

    assert!(assert_conformance(&sim) >= 35);
}

#[tokio::test]
async fn retries_ride_out_injected_rate_limits() {
    let sim = whole_bodies()
        .faults(Faults {
            rate_limit: Some(RateLimit::Fraction {
                fraction: 0.3,
                retry_after_secs: Some(0),
            }),
            seed: 5,
            ..Faults::default()
        })
        .start()
        .await
        .unwrap();
    let blynk = Blynk::builder()
        .base_url(sim.base_url())
        .token(blynk_sim::DEMO_TOKEN)
        .retry(RetryConfig::standard().max_attempts(8))
        .build()
        .unwrap();
    for i in 0..20 {
        blynk.set_value(10, 1, f64::from(i)).await.unwrap();
        blynk.device_values(10).await.unwrap();
    }
    let limited = sim.requests().iter().filter(|r| r.status == 429).count();
    assert!(limited > 0, "faults were injected");
    assert_eq!(sim.value(10, 1), Some(json!(19.0)));
    assert_conformance(&sim);
}
