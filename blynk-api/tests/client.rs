//! Smoke tests of the generated client against httpmock servers on 127.0.0.1: every operation
//! exists and hits its documented path and method, and the adapted responses still reach the caller.

use blynk_api::batch_update::BatchUpdateOutcome;
use blynk_api::hooks::Hooks;
use blynk_api::types::{
    DataStreamPropertyName, DataStreamRawValue, ImportDeviceBatchDataBodyValuesItem,
};
use blynk_api::{Client, Error};
use httpmock::Method::{GET, POST};
use httpmock::MockServer;
use serde_json::json;

fn client(server: &MockServer) -> Client {
    Client::new(&server.base_url(), Hooks::none())
}

#[tokio::test]
async fn every_operation_hits_its_documented_path_and_method() {
    let server = MockServer::start_async().await;
    let routes = [
        (
            GET,
            "/api/v2/organization/device/datastreams",
            200,
            json!({"dataStreams": []}),
        ),
        (
            GET,
            "/api/v1/organization/device/datastreams/batch",
            200,
            json!([]),
        ),
        (
            GET,
            "/api/v1/organization/device/datastream/history",
            200,
            json!({"content": [], "totalElements": 0}),
        ),
        (
            POST,
            "/api/v1/organization/device/datastream",
            204,
            json!(null),
        ),
        (
            POST,
            "/api/v1/organization/device/datastreams",
            204,
            json!(null),
        ),
        (
            POST,
            "/api/v1/organization/product/devices/batch-update",
            204,
            json!(null),
        ),
        (
            POST,
            "/api/v1/organization/device/import/batch",
            204,
            json!(null),
        ),
        (
            POST,
            "/api/v1/organization/device/datastream/property",
            204,
            json!(null),
        ),
    ];
    let mocks: Vec<_> = routes
        .iter()
        .map(|(method, path, status, body)| {
            server.mock(|when, then| {
                when.method(method.to_string().as_str()).path(*path);
                let then = then.status(*status);
                if !body.is_null() {
                    then.header("content-type", "application/json")
                        .json_body(body.clone());
                }
            })
        })
        .collect();

    let c = client(&server);
    c.get_device_data_streams_v2()
        .device_id(1)
        .send()
        .await
        .unwrap();
    c.get_batch_device_data_streams()
        .device_ids(vec![1, 2])
        .send()
        .await
        .unwrap();
    c.get_device_data_stream_history()
        .device_id(1)
        .data_stream_id(2)
        .from(0)
        .to(1)
        .send()
        .await
        .unwrap();
    c.update_device_data_stream()
        .body_map(|b| {
            b.device_id(1)
                .data_stream_id(2)
                .value(DataStreamRawValue::Double(1.0))
        })
        .send()
        .await
        .unwrap();
    let mut values = std::collections::BTreeMap::new();
    values.insert("2".to_string(), DataStreamRawValue::String("on".into()));
    c.update_multiple_device_data_streams()
        .body_map(|b| b.device_id(1).values(values))
        .send()
        .await
        .unwrap();
    c.batch_update_device_data_streams()
        .body_map(|b| {
            b.fields(vec!["deviceId".into(), "Temperature".into()])
                .updates(vec![vec![json!(1), json!(20.5)]])
        })
        .send()
        .await
        .unwrap();
    c.import_device_batch_data()
        .body_map(|b| {
            b.device_id(1)
                .data_stream_id(2)
                .values(vec![ImportDeviceBatchDataBodyValuesItem {
                    ts: 1,
                    value: DataStreamRawValue::Double(3.0),
                }])
        })
        .send()
        .await
        .unwrap();
    c.update_device_data_stream_property()
        .body_map(|b| {
            b.device_id(1)
                .data_stream_id(2)
                .property(DataStreamPropertyName::Label)
                .value(
                    blynk_api::types::UpdateDeviceDataStreamPropertyBodyValue::try_from(
                        "Kitchen".to_string(),
                    )
                    .unwrap(),
                )
        })
        .send()
        .await
        .unwrap();

    for (mock, (method, path, ..)) in mocks.iter().zip(&routes) {
        assert_eq!(mock.calls(), 1, "{method:?} {path}");
    }
}

async fn batch_update(
    c: &Client,
) -> Result<BatchUpdateOutcome, Error<blynk_api::types::ErrorResponse>> {
    let response = c
        .batch_update_device_data_streams()
        .body_map(|b| {
            b.fields(vec!["deviceId".into(), "Temperature".into()])
                .updates(vec![vec![json!(1), json!(20.5)]])
        })
        .send()
        .await?;
    BatchUpdateOutcome::from_response(response).await
}

#[tokio::test]
async fn batch_update_204_is_all_applied() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(POST)
            .path("/api/v1/organization/product/devices/batch-update");
        then.status(204);
    });
    assert_eq!(
        batch_update(&client(&server)).await.unwrap(),
        BatchUpdateOutcome::AllApplied
    );
}

#[tokio::test]
async fn batch_update_200_decodes_the_named_report() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(POST)
            .path("/api/v1/organization/product/devices/batch-update");
        then.status(200)
            .header("content-type", "application/json")
            .json_body(json!({"deviceNotFound": 2, "wrongProduct": 1}));
    });
    let BatchUpdateOutcome::Partial(report) = batch_update(&client(&server)).await.unwrap() else {
        panic!("expected a report");
    };
    assert_eq!(report.device_not_found, Some(2));
    assert_eq!(report.wrong_product, Some(1));
    assert_eq!(report.invalid_row_size, None);
}

#[tokio::test]
async fn batch_update_200_with_a_broken_body_is_an_error() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(POST)
            .path("/api/v1/organization/product/devices/batch-update");
        then.status(200).body("{\"deviceNotFound\": ");
    });
    let err = batch_update(&client(&server)).await.unwrap_err();
    assert!(matches!(err, Error::InvalidResponsePayload(..)), "{err:?}");
}

#[tokio::test]
async fn batch_update_still_asks_for_json() {
    let server = MockServer::start_async().await;
    let mock = server.mock(|when, then| {
        when.method(POST)
            .path("/api/v1/organization/product/devices/batch-update")
            .header("accept", "application/json");
        then.status(204);
    });
    batch_update(&client(&server)).await.unwrap();
    mock.assert();
}

#[tokio::test]
async fn forbidden_and_too_many_requests_keep_status_and_headers() {
    for status in [403u16, 429] {
        let server = MockServer::start_async().await;
        server.mock(|when, then| {
            when.method(GET)
                .path("/api/v2/organization/device/datastreams");
            then.status(status).header("retry-after", "7");
        });
        let err = client(&server)
            .get_device_data_streams_v2()
            .device_id(1)
            .send()
            .await
            .unwrap_err();
        let Error::UnexpectedResponse(response) = err else {
            panic!("{status}: expected UnexpectedResponse, got {err:?}");
        };
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.headers()["retry-after"], "7");
    }
}

#[tokio::test]
async fn documented_errors_decode_to_the_error_message() {
    for status in [400u16, 404, 500] {
        let server = MockServer::start_async().await;
        server.mock(|when, then| {
            when.method(GET)
                .path("/api/v1/organization/device/datastream/history");
            then.status(status)
                .header("content-type", "application/json")
                .json_body(json!({"error": {"message": format!("failed with {status}")}}));
        });
        let err = client(&server)
            .get_device_data_stream_history()
            .device_id(1)
            .data_stream_id(2)
            .from(0)
            .to(1)
            .send()
            .await
            .unwrap_err();
        let Error::ErrorResponse(body) = err else {
            panic!("{status}: expected ErrorResponse, got {err:?}");
        };
        assert_eq!(body.status().as_u16(), status);
        assert_eq!(body.error.message, format!("failed with {status}"));
    }
}
