//! The generated operation table agrees with the document, read here independently.

use blynk_api::operations::{self, Kind, Location, Method};
use serde_json::Value;

fn published() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/blynk-platform.json"
    ))
    .expect("merged document");
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn every_operation_of_the_document_is_in_the_table_with_its_method_path_and_statuses() {
    let doc = published();
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            let row = operations::by_id(id).unwrap_or_else(|| panic!("{id} missing"));
            assert_eq!(row.path, path);
            assert_eq!(row.method.as_str(), method.to_uppercase());
            let mut statuses: Vec<u16> = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.parse().unwrap())
                .collect();
            statuses.sort();
            assert_eq!(row.statuses, statuses.as_slice(), "{id}");
            assert_eq!(operations::route(method, path), Some(row));
            seen += 1;
        }
    }
    assert_eq!(seen, operations::ALL.len());
    assert_eq!(seen, 8);
}

#[test]
fn literal_facts_of_the_api_reference() {
    // Independent literals: the table must say what the reference says.
    let import = &operations::IMPORT_DEVICE_BATCH_DATA;
    assert_eq!(import.id, "importDeviceBatchData");
    assert_eq!(import.span_name, "import_device_batch_data");
    assert_eq!(import.method, Method::Post);
    assert_eq!(import.path, "/api/v1/organization/device/import/batch");
    assert!(!import.is_read());
    let values = import.field("values").unwrap();
    assert_eq!(values.location, Location::Body);
    assert_eq!(
        (values.min_items, values.max_items),
        (Some(1), Some(10_000))
    );
    assert_eq!(import.field("deviceId").unwrap().kind, Kind::Int32);

    let history = &operations::GET_DEVICE_DATA_STREAM_HISTORY;
    assert!(history.is_read());
    let size = history.field("size").unwrap();
    assert_eq!((size.minimum, size.maximum), (Some(1), Some(1000)));
    assert_eq!(history.field("from").unwrap().kind, Kind::Int64);

    let batch = &operations::GET_BATCH_DEVICE_DATA_STREAMS;
    assert_eq!(
        batch.field("deviceIds").unwrap().kind,
        Kind::Array(&Kind::Int32)
    );
    assert_eq!(batch.field("deviceIds").unwrap().max_items, Some(10));
    assert!(!batch.documents(404));

    let property = &operations::UPDATE_DEVICE_DATA_STREAM_PROPERTY;
    assert_eq!(property.field("value").unwrap().max_length, Some(200));
    assert_eq!(property.field("property").unwrap().kind, Kind::Enum);

    assert_eq!(operations::PROPERTY_NAMES.len(), 34);
    assert_eq!(operations::PROPERTY_NAMES[0], "label");
    assert!(operations::PROPERTY_NAMES.contains(&"backColor"));
    assert_eq!(operations::MAX_REQUEST_BYTES, 2_000_000);
    assert_eq!(operations::IMPORT_FUTURE_WINDOW_SECS, 30 * 86_400);
}

#[test]
fn unknown_routes_and_ids_are_none() {
    assert_eq!(operations::by_id("nope"), None);
    assert_eq!(
        operations::route("DELETE", "/api/v1/organization/device/import/batch"),
        None
    );
    assert_eq!(operations::route("get", "/oauth2/token"), None);
    assert_eq!(
        operations::route("get", "/api/v2/organization/device/datastreams").map(|o| o.id),
        Some("getDeviceDataStreamsV2")
    );
}
