//! Quickstart: the generated client against a local stand-in for Blynk.Cloud.
//!
//! Starts an httpmock server on 127.0.0.1 that answers like the Blynk Platform API, then reads
//! values, pages through history, writes a value and runs a batch update with the generated client.
//!
//! ```sh
//! cargo run -p blynk-api --example quickstart
//! ```

use blynk_api::batch_update::BatchUpdateOutcome;
use blynk_api::hooks::Hooks;
use blynk_api::types::DataStreamRawValue;
use blynk_api::{Client, Error};
use httpmock::Method::{GET, POST};
use httpmock::MockServer;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET)
            .path("/api/v1/organization/device/datastreams/batch")
            .query_param("deviceIds", "101")
            .query_param("deviceIds", "102");
        then.status(200).json_body(json!([
            {"deviceId": 101, "dataStreams": [
                {"dataStreamId": 1, "pin": "V1", "dataStreamLabel": "Temperature",
                 "dataStreamAlias": "temp", "value": 21.5, "updatedAt": 1_700_000_000_000i64}]},
            {"deviceId": 102, "dataStreams": [
                {"dataStreamId": 3, "pin": "V3", "dataStreamLabel": "Location",
                 "dataStreamAlias": "gps", "value": [24.1, 56.9]}]}
        ]));
    });
    server.mock(|when, then| {
        when.method(GET)
            .path("/api/v1/organization/device/datastream/history");
        then.status(200).json_body(json!({
            "content": [{"value": 20.0, "createdAt": 1_700_000_000_000i64},
                        {"value": 20.5, "createdAt": 1_700_000_060_000i64}],
            "totalElements": 2
        }));
    });
    server.mock(|when, then| {
        when.method(POST)
            .path("/api/v1/organization/device/datastream")
            .json_body(json!({"deviceId": 101, "dataStreamId": 1, "value": 22.0}));
        then.status(204);
    });
    server.mock(|when, then| {
        when.method(POST)
            .path("/api/v1/organization/product/devices/batch-update");
        then.status(200).json_body(json!({"deviceNotFound": 1}));
    });
    server.mock(|when, then| {
        when.method(GET)
            .path("/api/v2/organization/device/datastreams");
        then.status(404)
            .json_body(json!({"error": {"message": "Device with identifier 999 is not found."}}));
    });

    println!("local Blynk stand-in on {}", server.base_url());
    let client = Client::new(&server.base_url(), Hooks::none());

    let devices = client
        .get_batch_device_data_streams()
        .device_ids(vec![101, 102])
        .send()
        .await?
        .into_inner();
    for device in &devices {
        for ds in &device.data_streams {
            let value = match &ds.value {
                Some(DataStreamRawValue::Double(v)) => v.to_string(),
                Some(DataStreamRawValue::String(s)) => s.clone(),
                Some(DataStreamRawValue::Array([lon, lat])) => format!("lon {lon}, lat {lat}"),
                None => "-".to_string(),
            };
            println!(
                "device {} {} ({}): {value}",
                device.device_id, ds.data_stream_label, ds.pin
            );
        }
    }

    let page = client
        .get_device_data_stream_history()
        .device_id(101)
        .data_stream_id(1)
        .from(0)
        .to(1_800_000_000_000i64)
        .size(blynk_api::limits::MAX_HISTORY_PAGE_SIZE)
        .send()
        .await?
        .into_inner();
    println!(
        "history: {} of {} points",
        page.content.len(),
        page.total_elements
    );

    client
        .update_device_data_stream()
        .body_map(|b| {
            b.device_id(101)
                .data_stream_id(1)
                .value(DataStreamRawValue::Double(22.0))
        })
        .send()
        .await?;
    println!("wrote 22.0 to device 101, datastream 1");

    let response = client
        .batch_update_device_data_streams()
        .body_map(|b| {
            b.fields(vec!["deviceId".into(), "Temperature".into()])
                .updates(vec![
                    vec![json!(101), json!(19.0)],
                    vec![json!(999), json!(19.0)],
                ])
        })
        .send()
        .await?;
    match BatchUpdateOutcome::from_response(response).await? {
        BatchUpdateOutcome::AllApplied => println!("batch update: all rows applied"),
        BatchUpdateOutcome::Partial(report) => println!(
            "batch update: partial, {} row(s) for unknown devices",
            report.device_not_found.unwrap_or(0)
        ),
    }

    match client
        .get_device_data_streams_v2()
        .device_id(999)
        .send()
        .await
    {
        Err(Error::ErrorResponse(body)) => {
            println!("device 999: {} {}", body.status(), body.error.message)
        }
        other => println!("device 999: unexpected {other:?}"),
    }
    Ok(())
}
