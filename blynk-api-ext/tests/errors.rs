//! Every error variant against httpmock servers on 127.0.0.1: statuses, bodies, timeouts,
//! redirects.

mod support {
    pub mod mock;
}

use std::time::Duration;

use blynk_api_ext::Error;
use httpmock::Method::{GET, POST};
use httpmock::MockServer;
use serde_json::json;
use support::mock::*;

// ---------------------------------------------------------------------------------------------
// Error variants
// ---------------------------------------------------------------------------------------------

async fn error_for(status: u16, body: Option<serde_json::Value>) -> Error {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(POST).path(SET);
        let then = then.status(status);
        if let Some(b) = body {
            then.json_body(b);
        }
    });
    with_token(&server).set_value(1, 2, 3.0).await.unwrap_err()
}

#[tokio::test]
async fn each_status_maps_to_its_variant_with_the_operation() {
    let msg = |m: &str| Some(json!({"error": {"message": m}}));
    let err = error_for(400, msg("bad value")).await;
    assert!(
        matches!(&err, Error::BadRequest { operation, message } if operation.id == "updateDeviceDataStream" && message == "bad value"),
        "{err:?}"
    );
    let err = error_for(404, msg("Device with identifier 1 is not found")).await;
    assert!(
        matches!(&err, Error::NotFound { message, .. } if message.contains("identifier 1")),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(404));
    assert!(matches!(
        error_for(403, None).await,
        Error::Forbidden { operation } if operation.id == "updateDeviceDataStream"
    ));
    let err = error_for(500, msg("db down")).await;
    assert!(
        matches!(&err, Error::Server { status: 500, message: Some(m), .. } if m == "db down"),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    let err = error_for(418, None).await;
    assert!(
        matches!(err, Error::UnexpectedStatus { status: 418, .. }),
        "{err:?}"
    );
    let err = error_for(401, None).await;
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert_eq!(err.operation(), "updateDeviceDataStream");
}

#[tokio::test]
async fn a_malformed_body_is_a_decode_error() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET).path(VALUES);
        then.status(200).body("{\"dataStreams\": [");
    });
    let err = with_token(&server).device_values(1).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decode { operation, .. } if operation.id == "getDeviceDataStreamsV2"
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_slow_server_is_a_timeout() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(POST).path(SET);
        then.status(204).delay(Duration::from_secs(3));
    });
    let err = builder(&server)
        .token("t")
        .request_timeout(Duration::from_millis(200))
        .build()
        .unwrap()
        .set_value(1, 2, 3.0)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport { timeout: true, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed_and_carries_no_token() {
    let elsewhere = MockServer::start_async().await;
    let stolen = elsewhere.mock(|when, then| {
        when.any_request();
        then.status(200).json_body(json!({"dataStreams": []}));
    });
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET).path(VALUES);
        then.status(307).header("location", elsewhere.url(VALUES));
    });
    let err = with_token(&server).device_values(1).await.unwrap_err();
    let Error::Redirected {
        status, location, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 307);
    assert_eq!(location.as_deref(), Some(elsewhere.url(VALUES).as_str()));
    stolen.assert_calls(0);
}

#[tokio::test]
async fn a_redirect_within_the_same_server_is_followed() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET).path("/moved");
        then.status(200).json_body(json!({"dataStreams": []}));
    });
    server.mock(|when, then| {
        when.method(GET).path(VALUES);
        then.status(302).header("location", "/moved");
    });
    with_token(&server).device_values(1).await.unwrap();
}
