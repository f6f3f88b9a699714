//! Contract suite: every request the generated client sends is what the API document describes, and
//! every documented answer decodes (or fails cleanly). Each test starts its own httpmock server on
//! 127.0.0.1. Captured request bodies and served response bodies are validated against the merged
//! document's schemas (`blynk_tests::Spec`), so a test cannot pass with a shape the spec rejects.
//!
//! The coverage table (operation × documented status → test) is in `tests/README.md`.

use blynk_api::batch_update::BatchUpdateOutcome;
use blynk_api::hooks::Hooks;
use blynk_api::mock::MockServerExt;
use blynk_api::types::{
    BatchUpdateReport, DataStreamPropertyName, DataStreamRawValue, ErrorResponse,
    GetDeviceDataStreamHistoryResponse, GetDeviceDataStreamHistoryResponseContentItem,
    ImportDeviceBatchDataBody, ImportDeviceBatchDataBodyValuesItem,
    UpdateDeviceDataStreamPropertyBody, UpdateDeviceDataStreamPropertyBodyValue,
};
use blynk_api::{Client, Error};
use blynk_tests::{OPERATIONS, Operation, Received, Recorder, serve_json, spec};
use httpmock::MockServer;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const TOKEN: &str = "contract-token-7f3a";

type ApiError = Error<ErrorResponse>;

fn client(server: &MockServer) -> Client {
    Client::new(&server.base_url(), Hooks::with_bearer_token(TOKEN).unwrap())
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}

/// Records every request to `op` and answers `status` (with `body`, validated, when not null).
fn record(server: &MockServer, op: &Operation, status: u16, body: Value) -> Recorder {
    let recorder = Recorder::new();
    let matcher = recorder.matcher();
    server.mock(|when, then| {
        when.method(op.method).path(op.path).is_true(matcher);
        if body.is_null() {
            then.status(status);
        } else {
            serve_json(then, op.id, status, &body);
        }
    });
    recorder
}

fn op(id: &str) -> &'static Operation {
    OPERATIONS.iter().find(|o| o.id == id).unwrap()
}

/// What every request carries: the token, a JSON Accept, and a JSON body exactly when there is one.
fn assert_envelope(received: &Received, op: &Operation) {
    assert_eq!(received.method, op.method, "{}", op.id);
    assert_eq!(received.path, op.path, "{}", op.id);
    assert_eq!(
        received.header("authorization"),
        format!("Bearer {TOKEN}"),
        "{}",
        op.id
    );
    assert_eq!(received.header("accept"), "application/json", "{}", op.id);
    if op.method == "POST" {
        assert_eq!(
            received.header("content-type"),
            "application/json",
            "{}",
            op.id
        );
        spec().assert_request(op.id, &received.json());
    } else {
        assert!(received.body.is_empty(), "{}: a GET has no body", op.id);
        assert!(
            received.header_values("content-type").is_empty(),
            "{}",
            op.id
        );
    }
}

/// Calls `id` with a fixed, valid input. Success is `Ok(())`; batch-update's body is decoded.
async fn call(c: &Client, id: &str) -> Result<(), ApiError> {
    match id {
        "getDeviceDataStreamsV2" => {
            c.get_device_data_streams_v2().device_id(1).send().await?;
        }
        "getBatchDeviceDataStreams" => {
            c.get_batch_device_data_streams()
                .device_ids(vec![1, 2])
                .send()
                .await?;
        }
        "getDeviceDataStreamHistory" => {
            c.get_device_data_stream_history()
                .device_id(1)
                .data_stream_id(2)
                .from(0)
                .to(10)
                .send()
                .await?;
        }
        "updateDeviceDataStream" => {
            c.update_device_data_stream()
                .body_map(|b| {
                    b.device_id(1)
                        .data_stream_id(2)
                        .value(DataStreamRawValue::Double(1.0))
                })
                .send()
                .await?;
        }
        "updateMultipleDeviceDataStreams" => {
            let values = BTreeMap::from([("2".to_string(), DataStreamRawValue::Double(1.0))]);
            c.update_multiple_device_data_streams()
                .body_map(|b| b.device_id(1).values(values))
                .send()
                .await?;
        }
        "batchUpdateDeviceDataStreams" => {
            let response = c
                .batch_update_device_data_streams()
                .body_map(|b| {
                    b.fields(vec!["deviceId".into(), "Temperature".into()])
                        .updates(vec![vec![json!(1), json!(20.0)]])
                })
                .send()
                .await?;
            BatchUpdateOutcome::from_response(response).await?;
        }
        "importDeviceBatchData" => {
            c.import_device_batch_data()
                .body_map(|b| {
                    b.device_id(1).data_stream_id(2).values(vec![
                        ImportDeviceBatchDataBodyValuesItem {
                            ts: 1,
                            value: DataStreamRawValue::Double(1.0),
                        },
                    ])
                })
                .send()
                .await?;
        }
        "updateDeviceDataStreamProperty" => {
            c.update_device_data_stream_property()
                .body_map(|b| {
                    b.device_id(1)
                        .data_stream_id(2)
                        .property(DataStreamPropertyName::Label)
                        .value(UpdateDeviceDataStreamPropertyBodyValue::try_from("x").unwrap())
                })
                .send()
                .await?;
        }
        other => panic!("unknown operation {other}"),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn get_device_values_sends_device_and_repeated_datastream_ids() {
    let server = MockServer::start_async().await;
    let op = op("getDeviceDataStreamsV2");
    let rec = record(&server, op, 200, json!({"dataStreams": []}));
    client(&server)
        .get_device_data_streams_v2()
        .device_id(7)
        .data_stream_ids(vec![1, 2])
        .send()
        .await
        .unwrap();
    let r = rec.only();
    assert_envelope(&r, op);
    assert_eq!(
        r.sorted_query(),
        pairs(&[
            ("dataStreamIds", "1"),
            ("dataStreamIds", "2"),
            ("deviceId", "7")
        ])
    );
}

#[tokio::test]
async fn get_device_values_omits_unset_datastream_ids() {
    let server = MockServer::start_async().await;
    let op = op("getDeviceDataStreamsV2");
    let rec = record(&server, op, 200, json!({"dataStreams": []}));
    client(&server)
        .get_device_data_streams_v2()
        .device_id(7)
        .send()
        .await
        .unwrap();
    assert_eq!(rec.only().sorted_query(), pairs(&[("deviceId", "7")]));
}

#[tokio::test]
async fn batch_read_sends_repeated_device_ids() {
    let server = MockServer::start_async().await;
    let op = op("getBatchDeviceDataStreams");
    let rec = record(&server, op, 200, json!([]));
    client(&server)
        .get_batch_device_data_streams()
        .device_ids(vec![3, 1, 2])
        .data_stream_ids(vec![5])
        .send()
        .await
        .unwrap();
    let r = rec.only();
    assert_envelope(&r, op);
    // Order of the caller's IDs is kept on the wire.
    let device_ids: Vec<&str> = r
        .query
        .iter()
        .filter(|(k, _)| k == "deviceIds")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(device_ids, ["3", "1", "2"]);
    assert_eq!(
        r.sorted_query(),
        pairs(&[
            ("dataStreamIds", "5"),
            ("deviceIds", "1"),
            ("deviceIds", "2"),
            ("deviceIds", "3")
        ])
    );
}

#[tokio::test]
async fn batch_read_matches_a_typed_mock_with_array_parameters() {
    let server = MockServer::start_async().await;
    let mock = server.get_batch_device_data_streams(|when, then| {
        when.device_ids(&vec![1, 2]).data_stream_ids(None);
        then.ok(&vec![]);
    });
    // Other IDs, more IDs, or the same IDs in another order must not match the typed mock.
    for other in [vec![1, 2, 3], vec![1, 3], vec![2, 1], vec![1]] {
        let wrong = client(&server)
            .get_batch_device_data_streams()
            .device_ids(other.clone())
            .send()
            .await;
        assert!(
            matches!(wrong, Err(Error::UnexpectedResponse(_))),
            "{other:?}: {wrong:?}"
        );
    }
    client(&server)
        .get_batch_device_data_streams()
        .device_ids(vec![1, 2])
        .send()
        .await
        .unwrap();
    mock.assert();
}

#[tokio::test]
async fn history_sends_every_query_parameter() {
    let server = MockServer::start_async().await;
    let op = op("getDeviceDataStreamHistory");
    let rec = record(&server, op, 200, json!({"content": [], "totalElements": 0}));
    client(&server)
        .get_device_data_stream_history()
        .device_id(7)
        .data_stream_id(3)
        .from(1_700_000_000_000i64)
        .to(1_700_086_400_000i64)
        .page(2)
        .size(500u32)
        .send()
        .await
        .unwrap();
    let r = rec.only();
    assert_envelope(&r, op);
    assert_eq!(
        r.sorted_query(),
        pairs(&[
            ("dataStreamId", "3"),
            ("deviceId", "7"),
            ("from", "1700000000000"),
            ("page", "2"),
            ("size", "500"),
            ("to", "1700086400000"),
        ])
    );
}

#[tokio::test]
async fn history_omits_unset_page_and_size() {
    let server = MockServer::start_async().await;
    let mock = server.get_device_data_stream_history(|when, then| {
        when.device_id(7)
            .data_stream_id(3)
            .from(0)
            .to(10)
            .page(None)
            .size(None);
        then.ok(&GetDeviceDataStreamHistoryResponse {
            content: vec![],
            total_elements: 0,
        });
    });
    client(&server)
        .get_device_data_stream_history()
        .device_id(7)
        .data_stream_id(3)
        .from(0)
        .to(10)
        .send()
        .await
        .unwrap();
    mock.assert();
}

#[tokio::test]
async fn write_one_value_sends_each_value_form_exactly() {
    let op = op("updateDeviceDataStream");
    for (value, expected) in [
        (DataStreamRawValue::Double(21.5), json!(21.5)),
        (DataStreamRawValue::Double(-4.0), json!(-4.0)),
        (DataStreamRawValue::String("on".into()), json!("on")),
        (DataStreamRawValue::Array([24.1, 56.9]), json!([24.1, 56.9])),
    ] {
        let server = MockServer::start_async().await;
        let rec = record(&server, op, 204, Value::Null);
        client(&server)
            .update_device_data_stream()
            .body_map(|b| b.device_id(1).data_stream_id(2).value(value))
            .send()
            .await
            .unwrap();
        let r = rec.only();
        assert_envelope(&r, op);
        assert!(r.query.is_empty());
        assert_eq!(
            r.json(),
            json!({"deviceId": 1, "dataStreamId": 2, "value": expected})
        );
    }
}

#[tokio::test]
async fn write_several_values_sends_a_map_keyed_by_datastream_id() {
    let server = MockServer::start_async().await;
    let op = op("updateMultipleDeviceDataStreams");
    let rec = record(&server, op, 204, Value::Null);
    let values = BTreeMap::from([
        ("1".to_string(), DataStreamRawValue::Double(21.5)),
        ("2".to_string(), DataStreamRawValue::String("on".into())),
        ("3".to_string(), DataStreamRawValue::Array([24.1, 56.9])),
    ]);
    client(&server)
        .update_multiple_device_data_streams()
        .body_map(|b| b.device_id(9).values(values))
        .send()
        .await
        .unwrap();
    let r = rec.only();
    assert_envelope(&r, op);
    assert_eq!(
        r.json(),
        json!({"deviceId": 9, "values": {"1": 21.5, "2": "on", "3": [24.1, 56.9]}})
    );
}

#[tokio::test]
async fn batch_update_sends_fields_rows_nulls_and_debug() {
    let server = MockServer::start_async().await;
    let op = op("batchUpdateDeviceDataStreams");
    let rec = record(&server, op, 204, Value::Null);
    let response = client(&server)
        .batch_update_device_data_streams()
        .body_map(|b| {
            b.fields(vec!["deviceId".into(), "Temperature".into(), "Mode".into()])
                .updates(vec![
                    vec![json!(1), json!(21.5), Value::Null],
                    vec![json!(2), Value::Null, json!("eco")],
                ])
                .debug(true)
        })
        .send()
        .await
        .unwrap();
    assert_eq!(
        BatchUpdateOutcome::from_response(response).await.unwrap(),
        BatchUpdateOutcome::AllApplied
    );
    let r = rec.only();
    assert_envelope(&r, op);
    assert_eq!(
        r.json(),
        json!({
            "fields": ["deviceId", "Temperature", "Mode"],
            "updates": [[1, 21.5, null], [2, null, "eco"]],
            "debug": true
        })
    );
}

#[tokio::test]
async fn import_sends_points_with_timestamps() {
    let server = MockServer::start_async().await;
    let op = op("importDeviceBatchData");
    let rec = record(&server, op, 204, Value::Null);
    client(&server)
        .import_device_batch_data()
        .body_map(|b| {
            b.device_id(4).data_stream_id(2).values(vec![
                ImportDeviceBatchDataBodyValuesItem {
                    ts: 1_700_000_000_000,
                    value: DataStreamRawValue::Double(1.5),
                },
                ImportDeviceBatchDataBodyValuesItem {
                    ts: 1_700_000_060_000,
                    value: DataStreamRawValue::Double(-3.0),
                },
            ])
        })
        .send()
        .await
        .unwrap();
    let r = rec.only();
    assert_envelope(&r, op);
    assert_eq!(
        r.json(),
        json!({"deviceId": 4, "dataStreamId": 2, "values": [
            {"ts": 1_700_000_000_000i64, "value": 1.5},
            {"ts": 1_700_000_060_000i64, "value": -3.0}
        ]})
    );
}

#[tokio::test]
async fn property_update_sends_the_camel_case_property_name() {
    let server = MockServer::start_async().await;
    let op = op("updateDeviceDataStreamProperty");
    let rec = record(&server, op, 204, Value::Null);
    client(&server)
        .update_device_data_stream_property()
        .body_map(|b| {
            b.device_id(1)
                .data_stream_id(2)
                .property(DataStreamPropertyName::OnBackColor)
                .value(UpdateDeviceDataStreamPropertyBodyValue::try_from("#00FF00").unwrap())
        })
        .send()
        .await
        .unwrap();
    let r = rec.only();
    assert_envelope(&r, op);
    assert_eq!(
        r.json(),
        json!({"deviceId": 1, "dataStreamId": 2, "property": "onBackColor", "value": "#00FF00"})
    );
}

#[tokio::test]
async fn property_update_matches_a_typed_body_mock() {
    let server = MockServer::start_async().await;
    let body = UpdateDeviceDataStreamPropertyBody {
        device_id: 1,
        data_stream_id: 2,
        property: DataStreamPropertyName::Label,
        value: UpdateDeviceDataStreamPropertyBodyValue::try_from("Kitchen").unwrap(),
    };
    let mock = server.update_device_data_stream_property(|when, then| {
        when.body(&body);
        then.no_content();
    });
    client(&server)
        .update_device_data_stream_property()
        .body(body.clone())
        .send()
        .await
        .unwrap();
    mock.assert();
}

#[tokio::test]
async fn a_property_value_over_the_documented_length_is_refused_before_sending() {
    let too_long = "x".repeat(blynk_api::limits::MAX_PROPERTY_VALUE_CHARS + 1);
    assert!(UpdateDeviceDataStreamPropertyBodyValue::try_from(too_long.as_str()).is_err());
    let exact = "x".repeat(blynk_api::limits::MAX_PROPERTY_VALUE_CHARS);
    assert!(UpdateDeviceDataStreamPropertyBodyValue::try_from(exact.as_str()).is_ok());
}

#[tokio::test]
async fn every_operation_sends_the_token_only_once_configured() {
    for op in &OPERATIONS {
        let server = MockServer::start_async().await;
        let body = success_body(op.id);
        let status = if body.is_null() { 204 } else { 200 };
        let rec = record(&server, op, status, body.clone());
        call(&client(&server), op.id).await.unwrap();
        assert_envelope(&rec.only(), op);

        let server = MockServer::start_async().await;
        let rec = record(&server, op, status, body);
        let anonymous = Client::new(&server.base_url(), Hooks::none());
        call(&anonymous, op.id).await.unwrap();
        assert!(
            rec.only().header_values("authorization").is_empty(),
            "{}",
            op.id
        );
    }
}

/// A minimal documented success body, or null for operations that answer 204.
fn success_body(id: &str) -> Value {
    match id {
        "getDeviceDataStreamsV2" => json!({"dataStreams": []}),
        "getBatchDeviceDataStreams" => json!([]),
        "getDeviceDataStreamHistory" => json!({"content": [], "totalElements": 0}),
        _ => Value::Null,
    }
}

// ---------------------------------------------------------------------------------------------
// Successful responses
// ---------------------------------------------------------------------------------------------

/// One datastream of each value form, plus the edge cases of the schema.
fn datastreams() -> Value {
    json!([
        {"dataStreamId": 1, "pin": "V1", "dataStreamLabel": "Temperature", "dataStreamAlias": "temp",
         "value": 21.5, "updatedAt": 1_700_000_000_000i64},
        {"dataStreamId": 2, "pin": "V2", "dataStreamLabel": "Mode", "dataStreamAlias": "mode",
         "value": "eco", "updatedAt": 1_700_000_000_001i64},
        {"dataStreamId": 3, "pin": "V3", "dataStreamLabel": "Location", "dataStreamAlias": "gps",
         "value": [24.105078, 56.946285]},
        {"dataStreamId": 4, "pin": "V4", "dataStreamLabel": "Counter", "dataStreamAlias": "count",
         "value": 42, "updatedAt": 1},
        {"dataStreamId": 5, "pin": "V5", "dataStreamLabel": "Offset", "dataStreamAlias": "offset",
         "value": -7.25, "futureField": {"nested": true}},
        {"dataStreamId": 6, "pin": "V6", "dataStreamLabel": "Empty", "dataStreamAlias": "empty"}
    ])
}

fn assert_datastreams(decoded: &[blynk_api::types::DataStreamValue]) {
    assert_eq!(decoded.len(), 6);
    let d = &decoded[0];
    assert_eq!(
        (
            d.data_stream_id,
            d.pin.as_str(),
            d.data_stream_label.as_str(),
            d.data_stream_alias.as_str()
        ),
        (1, "V1", "Temperature", "temp")
    );
    assert_eq!(d.value, Some(DataStreamRawValue::Double(21.5)));
    assert_eq!(d.updated_at, Some(1_700_000_000_000));
    assert_eq!(
        decoded[1].value,
        Some(DataStreamRawValue::String("eco".into()))
    );
    assert_eq!(
        decoded[2].value,
        Some(DataStreamRawValue::Array([24.105078, 56.946285]))
    );
    assert_eq!(decoded[2].updated_at, None);
    assert_eq!(decoded[3].value, Some(DataStreamRawValue::Double(42.0)));
    assert_eq!(decoded[4].value, Some(DataStreamRawValue::Double(-7.25)));
    assert_eq!(decoded[5].value, None);
    assert_eq!(decoded[5].updated_at, None);
}

#[tokio::test]
async fn get_device_values_200_decodes_every_value_form() {
    let server = MockServer::start_async().await;
    let op = op("getDeviceDataStreamsV2");
    record(
        &server,
        op,
        200,
        json!({"dataStreams": datastreams(), "extra": 1}),
    );
    let response = client(&server)
        .get_device_data_streams_v2()
        .device_id(1)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_datastreams(&response.into_inner().data_streams);
}

#[tokio::test]
async fn batch_read_200_decodes_each_device() {
    let server = MockServer::start_async().await;
    let op = op("getBatchDeviceDataStreams");
    record(
        &server,
        op,
        200,
        json!([
            {"deviceId": 1, "dataStreams": datastreams()},
            {"deviceId": -2, "dataStreams": [], "productId": 9}
        ]),
    );
    let devices = client(&server)
        .get_batch_device_data_streams()
        .device_ids(vec![1, -2])
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0].device_id, 1);
    assert_datastreams(&devices[0].data_streams);
    assert_eq!(devices[1].device_id, -2);
    assert!(devices[1].data_streams.is_empty());
}

#[tokio::test]
async fn history_200_decodes_points_and_total() {
    let server = MockServer::start_async().await;
    let op = op("getDeviceDataStreamHistory");
    record(
        &server,
        op,
        200,
        json!({
            "content": [
                {"value": 1.5, "createdAt": 1_700_000_000_000i64},
                {"value": -3, "createdAt": 1_700_000_060_000i64, "extra": "ignored"},
                {"value": 0, "createdAt": 0}
            ],
            "totalElements": 1234,
            "pageable": {"page": 0}
        }),
    );
    let page = client(&server)
        .get_device_data_stream_history()
        .device_id(1)
        .data_stream_id(2)
        .from(0)
        .to(10)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.total_elements, 1234);
    assert_eq!(
        page.content,
        vec![
            GetDeviceDataStreamHistoryResponseContentItem {
                value: 1.5,
                created_at: 1_700_000_000_000
            },
            GetDeviceDataStreamHistoryResponseContentItem {
                value: -3.0,
                created_at: 1_700_000_060_000
            },
            GetDeviceDataStreamHistoryResponseContentItem {
                value: 0.0,
                created_at: 0
            },
        ]
    );
}

#[tokio::test]
async fn writes_204_are_successes() {
    for id in [
        "updateDeviceDataStream",
        "updateMultipleDeviceDataStreams",
        "importDeviceBatchData",
        "updateDeviceDataStreamProperty",
        "batchUpdateDeviceDataStreams",
    ] {
        let server = MockServer::start_async().await;
        let rec = record(&server, op(id), 204, Value::Null);
        call(&client(&server), id).await.unwrap();
        assert_eq!(rec.all().len(), 1, "{id}");
    }
}

#[tokio::test]
async fn import_with_a_typed_mock_answers_no_content() {
    let server = MockServer::start_async().await;
    let body = ImportDeviceBatchDataBody {
        device_id: 1,
        data_stream_id: 2,
        values: vec![ImportDeviceBatchDataBodyValuesItem {
            ts: 1,
            value: DataStreamRawValue::Double(1.0),
        }],
    };
    let mock = server.import_device_batch_data(|when, then| {
        when.body(&body);
        then.no_content();
    });
    let response = client(&server)
        .import_device_batch_data()
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    mock.assert();
}

async fn batch_update_outcome(server: &MockServer) -> Result<BatchUpdateOutcome, ApiError> {
    let response = client(server)
        .batch_update_device_data_streams()
        .body_map(|b| {
            b.fields(vec!["deviceId".into(), "Temperature".into()])
                .updates(vec![vec![json!(1), json!(20.0)]])
        })
        .send()
        .await?;
    BatchUpdateOutcome::from_response(response).await
}

#[tokio::test]
async fn batch_update_200_counter_mode_decodes_every_counter() {
    let server = MockServer::start_async().await;
    record(
        &server,
        op("batchUpdateDeviceDataStreams"),
        200,
        json!({"invalidRowSize": 1, "nullDeviceId": 2, "nonNumericDeviceId": 3,
               "deviceNotFound": 4, "noAccessToDevice": 5, "wrongProduct": 6}),
    );
    let outcome = batch_update_outcome(&server).await.unwrap();
    assert_eq!(
        outcome,
        BatchUpdateOutcome::Partial(BatchUpdateReport {
            invalid_row_size: Some(1),
            null_device_id: Some(2),
            non_numeric_device_id: Some(3),
            device_not_found: Some(4),
            no_access_to_device: Some(5),
            wrong_product: Some(6),
            skipped_rows: vec![],
        })
    );
}

#[tokio::test]
async fn batch_update_200_debug_mode_decodes_skip_reasons() {
    let server = MockServer::start_async().await;
    let report = BatchUpdateReport {
        skipped_rows: vec![
            "Row 2: device 999 not found".into(),
            "Row 5: wrong product".into(),
        ],
        ..Default::default()
    };
    let op = op("batchUpdateDeviceDataStreams");
    spec().assert_response(op.id, 200, &serde_json::to_value(&report).unwrap());
    let mock = server.batch_update_device_data_streams(|_, then| {
        then.ok(&report);
    });
    let outcome = batch_update_outcome(&server).await.unwrap();
    mock.assert();
    let BatchUpdateOutcome::Partial(decoded) = outcome else {
        panic!("expected a report, got {outcome:?}");
    };
    assert_eq!(decoded.skipped_rows, report.skipped_rows);
    assert_eq!(decoded.device_not_found, None);
}

#[tokio::test]
async fn batch_update_204_is_all_applied() {
    let server = MockServer::start_async().await;
    server.batch_update_device_data_streams(|_, then| {
        then.no_content();
    });
    assert_eq!(
        batch_update_outcome(&server).await.unwrap(),
        BatchUpdateOutcome::AllApplied
    );
}

// ---------------------------------------------------------------------------------------------
// Error responses, for every operation, driven by the statuses the document declares
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn documented_error_bodies_decode_to_their_message() {
    let mut checked = 0;
    for op in &OPERATIONS {
        for status in spec().documented_statuses(op.id) {
            if status < 400 || !spec().has_json_body(op.id, status) {
                continue;
            }
            let server = MockServer::start_async().await;
            let message = format!("{} failed with {status}", op.id);
            record(
                &server,
                op,
                status,
                json!({"error": {"message": message}, "code": 17}),
            );
            let err = call(&client(&server), op.id).await.unwrap_err();
            let Error::ErrorResponse(body) = err else {
                panic!("{} {status}: expected ErrorResponse, got {err:?}", op.id);
            };
            assert_eq!(body.status().as_u16(), status, "{}", op.id);
            assert_eq!(body.error.message, message);
            checked += 1;
        }
    }
    // 400/404/500 as the document declares them: 2 + 1 + 3 + 3 + 3 + 2 + 3 + 3.
    assert_eq!(checked, 20);
}

#[tokio::test]
async fn forbidden_without_body_keeps_its_status() {
    for op in &OPERATIONS {
        assert!(spec().documented_statuses(op.id).contains(&403));
        let server = MockServer::start_async().await;
        let mock = server.mock(|when, then| {
            when.method(op.method).path(op.path);
            then.status(403).header("x-request-id", "abc");
        });
        let err = call(&client(&server), op.id).await.unwrap_err();
        let Error::UnexpectedResponse(response) = err else {
            panic!("{}: expected UnexpectedResponse, got {err:?}", op.id);
        };
        assert_eq!(response.status().as_u16(), 403, "{}", op.id);
        assert_eq!(response.headers()["x-request-id"], "abc");
        mock.assert();
    }
}

#[tokio::test]
async fn too_many_requests_keeps_status_and_retry_after() {
    for op in &OPERATIONS {
        assert!(spec().documented_statuses(op.id).contains(&429));
        for retry_after in ["30", "Wed, 21 Oct 2026 07:28:00 GMT"] {
            let server = MockServer::start_async().await;
            server.mock(|when, then| {
                when.method(op.method).path(op.path);
                then.status(429).header("retry-after", retry_after);
            });
            let err = call(&client(&server), op.id).await.unwrap_err();
            let Error::UnexpectedResponse(response) = err else {
                panic!("{}: expected UnexpectedResponse, got {err:?}", op.id);
            };
            assert_eq!(response.status().as_u16(), 429);
            assert_eq!(response.headers()["retry-after"], retry_after, "{}", op.id);
        }
    }
}

#[tokio::test]
async fn undocumented_statuses_are_unexpected_responses() {
    for op in &OPERATIONS {
        let documented = spec().documented_statuses(op.id);
        for status in [200u16, 204, 302, 400, 404, 418, 502, 503] {
            if documented.contains(&status) {
                continue;
            }
            let server = MockServer::start_async().await;
            server.mock(|when, then| {
                when.method(op.method).path(op.path);
                then.status(status)
                    .body("{\"error\": {\"message\": \"off the record\"}}");
            });
            let err = call(&client(&server), op.id).await.unwrap_err();
            let Error::UnexpectedResponse(response) = err else {
                panic!(
                    "{} {status}: expected UnexpectedResponse, got {err:?}",
                    op.id
                );
            };
            assert_eq!(response.status().as_u16(), status, "{}", op.id);
        }
    }
}

#[tokio::test]
async fn malformed_or_truncated_success_json_is_an_error_not_a_panic() {
    for op in OPERATIONS
        .iter()
        .filter(|op| spec().has_json_body(op.id, 200))
    {
        // Deliberately off-spec bodies, so not validated: empty, truncated, not JSON, and JSON of
        // the wrong shape for this operation.
        let wrong_shape = match op.id {
            "getDeviceDataStreamsV2" => "{\"dataStreams\": 5}",
            "getBatchDeviceDataStreams" => "{\"deviceId\": 1}",
            "getDeviceDataStreamHistory" => "{\"content\": 5}",
            _ => "{\"skippedRows\": 5}",
        };
        assert!(
            !spec()
                .response_errors(op.id, 200, &serde_json::from_str(wrong_shape).unwrap())
                .is_empty()
        );
        for body in [
            "",
            "{\"dataStreams\": [",
            "[{\"deviceId\": 1,",
            "<html>",
            wrong_shape,
        ] {
            let server = MockServer::start_async().await;
            server.mock(|when, then| {
                when.method(op.method).path(op.path);
                then.status(200)
                    .header("content-type", "application/json")
                    .body(body);
            });
            let err = call(&client(&server), op.id).await.unwrap_err();
            assert!(
                matches!(err, Error::InvalidResponsePayload(..)),
                "{} with {body:?}: {err:?}",
                op.id
            );
        }
    }
}

#[tokio::test]
async fn malformed_error_json_is_an_error_not_a_panic() {
    for op in &OPERATIONS {
        let server = MockServer::start_async().await;
        server.mock(|when, then| {
            when.method(op.method).path(op.path);
            then.status(500).body("{\"error\": ");
        });
        let err = call(&client(&server), op.id).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidResponsePayload(..)),
            "{}: {err:?}",
            op.id
        );
    }
}

#[test]
fn every_operation_has_its_documented_statuses() {
    let expected: [(&str, &[u16]); 8] = [
        ("getDeviceDataStreamsV2", &[200, 403, 404, 429, 500]),
        ("getBatchDeviceDataStreams", &[200, 403, 429, 500]),
        (
            "getDeviceDataStreamHistory",
            &[200, 400, 403, 404, 429, 500],
        ),
        ("updateDeviceDataStream", &[204, 400, 403, 404, 429, 500]),
        (
            "updateMultipleDeviceDataStreams",
            &[204, 400, 403, 404, 429, 500],
        ),
        (
            "batchUpdateDeviceDataStreams",
            &[200, 204, 400, 403, 429, 500],
        ),
        ("importDeviceBatchData", &[204, 400, 403, 404, 429, 500]),
        (
            "updateDeviceDataStreamProperty",
            &[204, 400, 403, 404, 429, 500],
        ),
    ];
    for (id, statuses) in expected {
        assert_eq!(spec().documented_statuses(id), statuses, "{id}");
    }
}

#[test]
fn the_validator_rejects_what_the_document_rejects() {
    // The schema check must be able to fail, or the suite proves nothing.
    let s = spec();
    assert!(
        !s.response_errors(
            "getDeviceDataStreamsV2",
            200,
            &json!({"dataStreams": [{"pin": "V1"}]})
        )
        .is_empty()
    );
    assert!(
        !s.response_errors("getDeviceDataStreamHistory", 200, &json!({"content": []}))
            .is_empty()
    );
    assert!(
        !s.response_errors(
            "getDeviceDataStreamsV2",
            200,
            &json!({"dataStreams": [{
            "dataStreamId": 1, "pin": "V1", "dataStreamLabel": "l", "dataStreamAlias": "a",
            "value": [1.0, 2.0, 3.0]}]})
        )
        .is_empty()
    );
    assert!(
        !s.response_errors("batchUpdateDeviceDataStreams", 400, &json!({"error": {}}))
            .is_empty()
    );
    assert!(
        std::panic::catch_unwind(|| {
            s.assert_request(
                "importDeviceBatchData",
                &json!({"deviceId": 1, "dataStreamId": 2, "values": []}),
            )
        })
        .is_err()
    );
}
