//! The build script's document adaptations, limits and mock repair, tested on the real document.

#[path = "../build/adapt.rs"]
mod adapt;
#[path = "../build/limits.rs"]
mod limits;
#[path = "../build/mocks.rs"]
mod mocks;

use serde_json::{Value, json};

fn published() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/blynk-platform.json"
    ))
    .expect("merged document");
    serde_json::from_str(&text).expect("valid JSON")
}

fn op<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .find(|op| op["operationId"] == id)
        .unwrap_or_else(|| panic!("operation {id}"))
}

fn statuses(doc: &Value, id: &str) -> Vec<String> {
    op(doc, id)["responses"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

fn operation_ids(doc: &Value) -> Vec<String> {
    let mut ids: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn the_published_document_is_rejected_by_preflight_naming_an_operation() {
    let err = adapt::preflight(&published()).unwrap_err();
    assert!(err.contains("operation "), "{err}");
    assert!(err.contains("different kinds"), "{err}");
}

#[test]
fn the_client_adaptations_make_every_operation_generable() {
    let doc = adapt::adapt(&published(), adapt::FOR_CLIENT).unwrap();
    adapt::preflight(&doc).unwrap();
}

#[test]
fn name_success_bodies_moves_the_batch_update_report_to_a_named_identical_schema() {
    let original = published();
    let inline = op(&original, "batchUpdateDeviceDataStreams")["responses"]["200"]["content"]
        ["application/json"]["schema"]
        .clone();
    assert!(
        inline.get("$ref").is_none(),
        "the seed declares the report inline"
    );

    let mut doc = original.clone();
    (adapt::NAME_SUCCESS_BODIES.apply)(&mut doc).unwrap();

    let schema = &op(&doc, "batchUpdateDeviceDataStreams")["responses"]["200"]["content"]["application/json"]
        ["schema"];
    assert_eq!(
        *schema,
        json!({"$ref": "#/components/schemas/BatchUpdateReport"})
    );
    assert_eq!(doc["components"]["schemas"]["BatchUpdateReport"], inline);
}

#[test]
fn name_success_bodies_refuses_a_taken_name() {
    let mut doc = published();
    doc["components"]["schemas"]["BatchUpdateReport"] = json!({"type": "string"});
    let err = (adapt::NAME_SUCCESS_BODIES.apply)(&mut doc).unwrap_err();
    assert!(err.contains("batchUpdateDeviceDataStreams"), "{err}");
    assert!(err.contains("BatchUpdateReport"), "{err}");
}

#[test]
fn drop_bodyless_errors_removes_403_and_429_only() {
    let original = published();
    let mut doc = original.clone();
    (adapt::DROP_BODYLESS_ERRORS.apply)(&mut doc).unwrap();
    for id in operation_ids(&original) {
        let before = statuses(&original, &id);
        let after = statuses(&doc, &id);
        assert!(before.contains(&"403".to_string()) && before.contains(&"429".to_string()));
        let expected: Vec<String> = before
            .into_iter()
            .filter(|s| s != "403" && s != "429")
            .collect();
        assert_eq!(after, expected, "{id}");
        for status in &after {
            assert_eq!(
                op(&doc, &id)["responses"][status],
                op(&original, &id)["responses"][status],
                "{id} {status} must be untouched"
            );
        }
    }
}

#[test]
fn raw_mixed_success_bodies_makes_both_batch_update_successes_raw() {
    let mut doc = published();
    (adapt::NAME_SUCCESS_BODIES.apply)(&mut doc).unwrap();
    let before = doc.clone();
    (adapt::RAW_MIXED_SUCCESS_BODIES.apply)(&mut doc).unwrap();
    let responses = &op(&doc, "batchUpdateDeviceDataStreams")["responses"];
    for status in ["200", "204"] {
        assert_eq!(
            responses[status]["content"],
            json!({"application/octet-stream": {}}),
            "{status}"
        );
    }
    for id in operation_ids(&doc) {
        if id != "batchUpdateDeviceDataStreams" {
            assert_eq!(op(&doc, &id), op(&before, &id), "{id} must be untouched");
        }
    }
}

#[test]
fn raw_mixed_success_bodies_refuses_an_inline_report_it_could_not_name() {
    let mut doc = published();
    let err = (adapt::RAW_MIXED_SUCCESS_BODIES.apply)(&mut doc).unwrap_err();
    assert!(err.contains("batchUpdateDeviceDataStreams"), "{err}");
    assert!(err.contains("NAMED_SUCCESS_BODIES"), "{err}");
}

#[test]
fn no_adaptation_changes_what_a_request_carries() {
    let original = published();
    for list in [adapt::FOR_CLIENT, adapt::FOR_MOCKS] {
        let doc = adapt::adapt(&original, list).unwrap();
        assert_eq!(doc["servers"], original["servers"]);
        assert_eq!(doc["info"], original["info"]);
        assert_eq!(
            doc["paths"].as_object().unwrap().keys().collect::<Vec<_>>(),
            original["paths"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>()
        );
        for id in operation_ids(&original) {
            for part in ["parameters", "requestBody", "operationId"] {
                assert_eq!(op(&doc, &id)[part], op(&original, &id)[part], "{id} {part}");
            }
        }
    }
}

#[test]
fn mocks_keep_every_documented_status() {
    let original = published();
    let doc = adapt::adapt(&original, adapt::FOR_MOCKS).unwrap();
    for id in operation_ids(&original) {
        assert_eq!(statuses(&doc, &id), statuses(&original, &id), "{id}");
    }
}

#[test]
fn preflight_names_an_operation_with_a_new_unhandled_shape() {
    let mut doc = adapt::adapt(&published(), adapt::FOR_CLIENT).unwrap();
    // A spec update adds a second, inline JSON success to the history operation.
    let history =
        doc["paths"]["/api/v1/organization/device/datastream/history"]["get"]["responses"]
            .as_object_mut()
            .unwrap();
    history.insert(
        "206".into(),
        json!({"description": "partial", "content": {"application/json": {"schema": {"type": "object"}}}}),
    );
    let err = adapt::preflight(&doc).unwrap_err();
    assert!(err.contains("getDeviceDataStreamHistory"), "{err}");
    assert!(err.contains("success"), "{err}");
    assert!(!err.contains('\n'), "one sentence: {err}");
}

#[test]
fn preflight_names_a_json_response_without_schema() {
    let mut doc = adapt::adapt(&published(), adapt::FOR_CLIENT).unwrap();
    doc["paths"]["/api/v1/organization/device/datastream/history"]["get"]["responses"]["500"]["content"]
        ["application/json"] = json!({});
    let err = adapt::preflight(&doc).unwrap_err();
    assert!(err.contains("getDeviceDataStreamHistory"), "{err}");
    assert!(err.contains("no schema"), "{err}");
}

#[test]
fn preflight_rejects_openapi_3_1() {
    let mut doc = adapt::adapt(&published(), adapt::FOR_CLIENT).unwrap();
    doc["openapi"] = json!("3.1.0");
    assert!(adapt::preflight(&doc).unwrap_err().contains("3.1.0"));
}

#[test]
fn limits_are_read_from_the_document() {
    let doc = published();
    let value = |name: &str| {
        let limit = limits::LIMITS.iter().find(|l| l.name == name).unwrap();
        limits::read(&doc, limit).unwrap()
    };
    assert_eq!(value("MAX_DEVICES_PER_BATCH_READ"), 10);
    assert_eq!(value("MAX_ROWS_PER_BATCH_UPDATE"), 10_000);
    assert_eq!(value("MAX_POINTS_PER_IMPORT"), 10_000);
    assert_eq!(value("MIN_HISTORY_PAGE_SIZE"), 1);
    assert_eq!(value("MAX_HISTORY_PAGE_SIZE"), 1_000);
    assert_eq!(value("DEFAULT_HISTORY_PAGE_SIZE"), 50);
    assert_eq!(value("FIRST_HISTORY_PAGE"), 0);
    assert_eq!(value("MAX_PROPERTY_VALUE_CHARS"), 200);
}

#[test]
fn a_limit_follows_a_spec_change() {
    let mut doc = published();
    doc["paths"]["/api/v1/organization/device/datastreams/batch"]["get"]["parameters"][0]["schema"]
        ["maxItems"] = json!(25);
    let rendered = limits::render(&doc).unwrap();
    assert!(rendered.contains("pub const MAX_DEVICES_PER_BATCH_READ: usize = 25;"));
}

#[test]
fn a_missing_limit_fails_naming_operation_and_keyword() {
    let mut doc = published();
    doc["paths"]["/api/v1/organization/device/datastream/property"]["post"]["requestBody"]
        ["content"]["application/json"]["schema"]["properties"]["value"]
        .as_object_mut()
        .unwrap()
        .remove("maxLength");
    let err = limits::render(&doc).unwrap_err();
    assert!(err.contains("updateDeviceDataStreamProperty"), "{err}");
    assert!(err.contains("maxLength"), "{err}");
}

#[test]
fn the_generated_limits_match_the_document() {
    assert_eq!(blynk_api::limits::MAX_DEVICES_PER_BATCH_READ, 10);
    assert_eq!(blynk_api::limits::MAX_ROWS_PER_BATCH_UPDATE, 10_000);
    assert_eq!(blynk_api::limits::MAX_POINTS_PER_IMPORT, 10_000);
    assert_eq!(blynk_api::limits::MAX_HISTORY_PAGE_SIZE, 1_000);
    assert_eq!(blynk_api::limits::MAX_PROPERTY_VALUE_CHARS, 200);
}

const ARRAY_MOCK: &str = r#"
impl GetBatchDeviceDataStreamsWhen {
    pub fn device_ids(self, value: &::std::vec::Vec<i32>) -> Self {
        Self(self.0.query_param("deviceIds", value.to_string()))
    }
    pub fn data_stream_ids<'a, T>(self, value: T) -> Self
    where
        T: Into<Option<&'a ::std::vec::Vec<i32>>>,
    {
        if let Some(value) = value.into() {
            Self(self.0.query_param("dataStreamIds", value.to_string()))
        } else {
            Self(self.0.query_param_missing("dataStreamIds"))
        }
    }
    pub fn device_id(self, value: i32) -> Self {
        Self(self.0.query_param("deviceId", value.to_string()))
    }
}
"#;

#[test]
fn mock_repair_rewrites_array_query_matchers_only() {
    let repaired = mocks::repair(ARRAY_MOCK).unwrap();
    assert_eq!(
        repaired
            .matches("crate::mock_support::query_param_list(self.0, \"deviceIds\", value)")
            .count(),
        1,
        "{repaired}"
    );
    assert!(repaired.contains("query_param_list(self.0, \"dataStreamIds\", value)"));
    assert!(repaired.contains("query_param_missing(\"dataStreamIds\")"));
    assert!(repaired.contains("self.0.query_param(\"deviceId\", value.to_string())"));
}

#[test]
fn mock_repair_fails_on_an_array_matcher_of_unknown_shape() {
    let code = r#"
impl XWhen {
    pub fn ids(self, value: &::std::vec::Vec<i32>) -> Self {
        Self(self.0.query_param("ids", format!("{:?}", value)))
    }
}
"#;
    let err = mocks::repair(code).unwrap_err();
    assert!(err.contains("`ids`"), "{err}");
}

#[path = "../build/operations.rs"]
mod operations;

#[test]
fn a_platform_fact_whose_sentence_changed_fails_the_table_naming_it() {
    let mut doc = published();
    let paths = doc["paths"].as_object_mut().unwrap();
    for item in paths.values_mut() {
        for op in item.as_object_mut().unwrap().values_mut() {
            if op["operationId"] == "importDeviceBatchData" {
                op["description"] = json!("Points more than 2 months ahead are skipped.");
            }
        }
    }
    let err = operations::render(&doc).unwrap_err();
    assert!(err.contains("IMPORT_FUTURE_WINDOW_SECS"), "{err}");
    assert!(err.contains("importDeviceBatchData"), "{err}");
}

#[test]
fn a_document_without_property_names_fails_the_table() {
    let mut doc = published();
    doc["components"]["schemas"]
        .as_object_mut()
        .unwrap()
        .remove("DataStreamPropertyName");
    let err = operations::render(&doc).unwrap_err();
    assert!(err.contains("DataStreamPropertyName"), "{err}");
}
