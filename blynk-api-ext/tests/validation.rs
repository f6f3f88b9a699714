//! Input refused before anything is sent, and the limits themselves accepted.

mod support {
    pub mod mock;
}

use std::time::{Duration, UNIX_EPOCH};

use blynk_api_ext::{
    BatchUpdate, BatchUpdateOptions, Error, HistoryQuery, Location, Point, Property, Value,
};
use httpmock::MockServer;
use support::mock::*;

// ---------------------------------------------------------------------------------------------
// Validation: refused before anything is sent
// ---------------------------------------------------------------------------------------------

fn assert_invalid(err: Error, operation: &str, field: &str, reason_part: &str) {
    let Error::InvalidInput {
        operation: op,
        field: f,
        reason,
    } = &err
    else {
        panic!("expected InvalidInput, got {err:?}");
    };
    assert_eq!(*op, operation);
    assert_eq!(f, field);
    assert!(reason.contains(reason_part), "{reason}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn invalid_input_is_refused_before_any_request() {
    let server = MockServer::start_async().await;
    let anything = server.mock(|when, then| {
        when.any_request();
        then.status(204);
    });
    let blynk = with_token(&server);
    let t = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
    let query = HistoryQuery {
        device_id: 1,
        datastream_id: 2,
        from: t(0),
        to: t(10),
    };

    assert_invalid(
        blynk
            .set_property(1, 2, Property::Label, &"é".repeat(201))
            .await
            .unwrap_err(),
        "updateDeviceDataStreamProperty",
        "value",
        "201 characters, the API accepts at most 200",
    );
    assert_invalid(
        blynk.history_page(&query, 0, 0).await.unwrap_err(),
        "getDeviceDataStreamHistory",
        "size",
        "0 is outside 1..=1000",
    );
    assert_invalid(
        blynk.history_page(&query, 0, 1001).await.unwrap_err(),
        "getDeviceDataStreamHistory",
        "size",
        "1001 is outside 1..=1000",
    );
    assert_invalid(
        blynk.history_page(&query, -1, 10).await.unwrap_err(),
        "getDeviceDataStreamHistory",
        "page",
        "negative",
    );
    let backwards = HistoryQuery {
        from: t(10),
        to: t(0),
        ..query
    };
    assert_invalid(
        blynk.history_page(&backwards, 0, 10).await.unwrap_err(),
        "getDeviceDataStreamHistory",
        "from",
        "later than to",
    );
    assert_invalid(
        blynk.set_value(1, 2, f64::NAN).await.unwrap_err(),
        "updateDeviceDataStream",
        "value",
        "not a finite number",
    );
    assert_invalid(
        blynk.set_value(1, 2, f64::INFINITY).await.unwrap_err(),
        "updateDeviceDataStream",
        "value",
        "not a finite number",
    );
    assert_invalid(
        blynk
            .set_value(1, 2, Location::new(181.0, 0.0))
            .await
            .unwrap_err(),
        "updateDeviceDataStream",
        "value",
        "longitude 181",
    );
    assert_invalid(
        blynk
            .set_value(1, 2, Location::new(0.0, -90.5))
            .await
            .unwrap_err(),
        "updateDeviceDataStream",
        "value",
        "latitude -90.5",
    );
    assert_invalid(
        blynk.batch_values(&[], None).await.unwrap_err(),
        "getBatchDeviceDataStreams",
        "device_ids",
        "must not be empty",
    );
    assert_invalid(
        blynk
            .batch_values(&(1..=11).collect::<Vec<_>>(), None)
            .await
            .unwrap_err(),
        "getBatchDeviceDataStreams",
        "device_ids",
        "11 IDs given, the API accepts at most 10",
    );
    assert_invalid(
        blynk.device_values_of(1, &[]).await.unwrap_err(),
        "getDeviceDataStreamsV2",
        "datastream_ids",
        "must not be empty",
    );
    assert_invalid(
        blynk
            .set_values(1, [(5, Value::Number(f64::NEG_INFINITY))])
            .await
            .unwrap_err(),
        "updateMultipleDeviceDataStreams",
        "values[5]",
        "not a finite",
    );
    assert_invalid(
        blynk.set_values(1, []).await.unwrap_err(),
        "updateMultipleDeviceDataStreams",
        "values",
        "must not be empty",
    );
    assert_invalid(
        blynk.import(1, 2, &[]).await.unwrap_err(),
        "importDeviceBatchData",
        "points",
        "must not be empty",
    );
    let many: Vec<Point> = (0..10_001).map(|i| Point::new(t(i), 1.0)).collect();
    assert_invalid(
        blynk.import(1, 2, &many).await.unwrap_err(),
        "importDeviceBatchData",
        "points",
        "10001 points given, the API accepts at most 10000",
    );
    assert_invalid(
        blynk
            .import(1, 2, &[Point::new(t(1), f64::NAN)])
            .await
            .unwrap_err(),
        "importDeviceBatchData",
        "points[0].value",
        "finite",
    );
    let narrow = BatchUpdate::new(["A", "B"]).row(1, [Some(1.0.into())]);
    assert_invalid(
        narrow.unwrap_err(),
        "batchUpdateDeviceDataStreams",
        "rows[0]",
        "1 cells for 2 labels",
    );
    let nan = BatchUpdate::new(["A"]).row(1, [Some(f64::NAN.into())]);
    assert_invalid(
        nan.unwrap_err(),
        "batchUpdateDeviceDataStreams",
        "rows[0][0]",
        "finite",
    );
    let no_labels = BatchUpdate::new(Vec::<String>::new()).row(1, []);
    assert_invalid(
        no_labels.unwrap_err(),
        "batchUpdateDeviceDataStreams",
        "labels",
        "at least 1 label",
    );
    // No rows: nothing to send, nothing sent.
    assert_eq!(
        blynk
            .batch_update(&BatchUpdate::new(["A"]), BatchUpdateOptions::default())
            .await
            .unwrap()
            .requests,
        0
    );

    anything.assert_calls(0);
}

#[tokio::test]
async fn limits_themselves_are_accepted() {
    let server = MockServer::start_async().await;
    let anything = server.mock(|when, then| {
        when.any_request();
        then.status(204);
    });
    let blynk = with_token(&server);
    blynk
        .set_property(1, 2, Property::Label, &"é".repeat(200))
        .await
        .unwrap();
    blynk
        .set_value(1, 2, Location::new(-180.0, 90.0))
        .await
        .unwrap();
    let points: Vec<Point> = (0..10_000)
        .map(|i| Point::new(UNIX_EPOCH + Duration::from_millis(i), 1.0))
        .collect();
    blynk.import(1, 2, &points).await.unwrap();
    anything.assert_calls(3);
}
