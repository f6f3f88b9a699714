//! The bodies `blynk-api-ext` encodes itself for bulk writes (imports and batch updates, written
//! straight into the request buffer) against the document's request schemas, and against what the
//! generated client sends for the same input.

use std::time::{Duration, UNIX_EPOCH};

use blynk_api::types::{DataStreamRawValue, ImportDeviceBatchDataBodyValuesItem};
use blynk_api_ext::{BatchUpdate, Blynk, ImportOptions, Location, Point, Value};
use blynk_tests::{OPERATIONS, Recorder, spec};
use httpmock::MockServer;
use serde_json::json;

fn record(server: &MockServer, id: &str) -> Recorder {
    let op = OPERATIONS.iter().find(|o| o.id == id).unwrap();
    let recorder = Recorder::new();
    let matcher = recorder.matcher();
    server.mock(|when, then| {
        when.method(op.method).path(op.path).is_true(matcher);
        then.status(204);
    });
    recorder
}

fn blynk(server: &MockServer) -> Blynk {
    Blynk::builder()
        .base_url(server.base_url())
        .token("bulk-token")
        .build()
        .unwrap()
}

fn values() -> Vec<Value> {
    vec![
        Value::Number(21.5),
        Value::Number(-3.0),
        Value::Number(1e21),
        Value::Text("on \"quoted\" \u{e9}\n".into()),
        Value::Location(Location::new(-122.4194, 37.7749)),
    ]
}

#[tokio::test]
async fn import_bodies_match_the_document_and_the_generated_client() {
    let server = MockServer::start_async().await;
    let rec = record(&server, "importDeviceBatchData");
    let points: Vec<Point> = values()
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            Point::new(
                UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + i as u64),
                v,
            )
        })
        .collect();
    blynk(&server)
        .import_history(4, 2, points.clone(), ImportOptions::default())
        .await
        .unwrap();
    let received = rec.only();
    assert_eq!(received.header("content-type"), "application/json");
    assert_eq!(received.header("authorization"), "Bearer bulk-token");
    assert_eq!(received.header("api-version"), "1.0.0");
    let body = received.json();
    spec().assert_request("importDeviceBatchData", &body);

    // What the generated client would send for the same points.
    let generated = blynk_api::types::ImportDeviceBatchDataBody {
        device_id: 4,
        data_stream_id: 2,
        values: points
            .iter()
            .enumerate()
            .map(|(i, p)| ImportDeviceBatchDataBodyValuesItem {
                ts: 1_700_000_000_000 + i as i64,
                value: match &p.value {
                    Value::Number(n) => DataStreamRawValue::Double(*n),
                    Value::Text(s) => DataStreamRawValue::String(s.clone()),
                    Value::Location(l) => DataStreamRawValue::Array([l.lon, l.lat]),
                },
            })
            .collect(),
    };
    assert_eq!(body, serde_json::to_value(&generated).unwrap());
}

#[tokio::test]
async fn batch_update_bodies_match_the_document() {
    for debug in [false, true] {
        let server = MockServer::start_async().await;
        let rec = record(&server, "batchUpdateDeviceDataStreams");
        let mut update = BatchUpdate::new(["Temperature", "Mode", "Where"]).debug(debug);
        update
            .push(
                101,
                [
                    Some(21.5.into()),
                    None,
                    Some(Location::new(24.1, 56.9).into()),
                ],
            )
            .unwrap();
        update.push(102, [None, Some("eco".into()), None]).unwrap();
        blynk(&server)
            .batch_update(&update, blynk_api_ext::BatchUpdateOptions::default())
            .await
            .unwrap();
        let body = rec.only().json();
        spec().assert_request("batchUpdateDeviceDataStreams", &body);
        assert_eq!(
            body,
            json!({
                "fields": ["deviceId", "Temperature", "Mode", "Where"],
                "updates": [[101, 21.5, null, [24.1, 56.9]], [102, null, "eco", null]],
                "debug": debug
            })
        );
    }
}
