//! The configured client: https rules, redaction, the user agent, native types.

mod support {
    pub mod mock;
}

use std::time::{Duration, UNIX_EPOCH};

use blynk_api_ext::{Blynk, BuildError, Location, Value};
use httpmock::Method::GET;
use httpmock::MockServer;
use serde_json::json;
use support::mock::*;

// ---------------------------------------------------------------------------------------------
// Security and redaction
// ---------------------------------------------------------------------------------------------

#[test]
fn plain_http_off_loopback_is_refused_unless_allowed() {
    let err = Blynk::builder()
        .base_url("http://blynk.example.com")
        .token("t")
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::InsecureUrl { .. }), "{err:?}");
    Blynk::builder()
        .base_url("http://blynk.example.com")
        .token("t")
        .allow_insecure_http()
        .build()
        .unwrap();
    assert!(matches!(
        Blynk::builder().build().unwrap_err(),
        BuildError::MissingCredentials
    ));
    assert!(matches!(
        Blynk::builder().token("bad\ntoken").build().unwrap_err(),
        BuildError::InvalidCredential("token")
    ));
}

#[test]
fn secrets_are_redacted_from_debug_output() {
    let builder = Blynk::builder().client_credentials("cid", "super-secret-value");
    assert!(!format!("{builder:?}").contains("super-secret-value"));
    let blynk = builder.build().unwrap();
    let shown = format!("{blynk:?} {:?}", blynk.api());
    assert!(!shown.contains("super-secret-value"), "{shown}");
    assert!(shown.contains("cid"));
    let blynk = Blynk::builder()
        .token("super-secret-token")
        .build()
        .unwrap();
    let shown = format!("{blynk:?} {:?}", blynk.api());
    assert!(!shown.contains("super-secret-token"), "{shown}");
}

#[tokio::test]
async fn the_user_agent_names_the_library() {
    let server = MockServer::start_async().await;
    let api = server.mock(|when, then| {
        when.method(GET)
            .path(VALUES)
            .header("user-agent", blynk_api_ext::USER_AGENT);
        then.status(200).json_body(json!({"dataStreams": []}));
    });
    with_token(&server).device_values(1).await.unwrap();
    api.assert_calls(1);
    assert!(blynk_api_ext::USER_AGENT.starts_with("blynk-rs/"));
}

#[tokio::test]
async fn wrappers_decode_into_native_types() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET).path(VALUES);
        then.status(200).json_body(json!({"dataStreams": [
            {"dataStreamId": 1, "pin": "V1", "dataStreamLabel": "T", "dataStreamAlias": "t", "value": 21.5, "updatedAt": 1500},
            {"dataStreamId": 2, "pin": "V2", "dataStreamLabel": "G", "dataStreamAlias": "g", "value": [24.1, 56.9]},
            {"dataStreamId": 3, "pin": "V3", "dataStreamLabel": "M", "dataStreamAlias": "m", "value": "eco"}
        ]}));
    });
    let values = with_token(&server).device_values(7).await.unwrap();
    assert_eq!(values[0].value, Some(Value::Number(21.5)));
    assert_eq!(
        values[0].updated_at,
        Some(UNIX_EPOCH + Duration::from_millis(1500))
    );
    assert_eq!(
        values[1].value,
        Some(Value::Location(Location::new(24.1, 56.9)))
    );
    assert_eq!(values[2].value, Some(Value::Text("eco".into())));
    assert_eq!(values[2].updated_at, None);
}
