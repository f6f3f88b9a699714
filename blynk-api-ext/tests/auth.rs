//! OAuth2 client credentials and tokens against httpmock servers on 127.0.0.1: exchange,
//! renewal, refresh, single-flight, 401 handling, refused clients.

mod support {
    pub mod mock;
}

use std::time::Duration;

use blynk_api_ext::clock::ManualClock;
use blynk_api_ext::{AuthError, Error};
use httpmock::Method::{GET, POST};
use httpmock::MockServer;
use serde_json::json;
use support::mock::*;

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn client_credentials_are_exchanged_with_basic_auth_and_the_token_is_sent() {
    let server = MockServer::start_async().await;
    let token = server.mock(|when, then| {
        when.method(POST)
            .path(TOKEN_PATH)
            .query_param("grant_type", "client_credentials")
            .header("authorization", BASIC)
            .is_true(|req| {
                // Nothing but the grant type in the URL: no id, no secret.
                req.query_params()
                    == vec![("grant_type".to_string(), "client_credentials".to_string())]
            });
        then.status(200)
            .json_body(token_body("tok-1", 86_400, None));
    });
    let api = values_for(&server, "Bearer tok-1", 200);
    let blynk = builder(&server)
        .client_credentials("cid", "csecret")
        .build()
        .unwrap();
    blynk.device_values(1).await.unwrap();
    blynk.device_values(1).await.unwrap();
    token.assert_calls(1);
    api.assert_calls(2);
    assert_eq!(blynk.token_requests(), 1);
}

#[tokio::test]
async fn the_token_is_renewed_with_the_refresh_token_before_it_expires() {
    let server = MockServer::start_async().await;
    let first = grant(
        &server,
        "client_credentials",
        200,
        token_body("tok-1", 3600, Some("ref-1")),
    );
    let refresh = server.mock(|when, then| {
        when.method(POST)
            .path(TOKEN_PATH)
            .query_param("grant_type", "refresh_token")
            .query_param_missing("refresh_token")
            .header("authorization", BASIC)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("refresh_token=ref-1");
        then.status(200)
            .json_body(token_body("tok-2", 3600, Some("ref-2")));
    });
    let old = values_for(&server, "Bearer tok-1", 200);
    let new = values_for(&server, "Bearer tok-2", 200);
    let clock = ManualClock::new();
    let blynk = builder(&server)
        .client_credentials("cid", "csecret")
        .clock(clock.clone())
        .build()
        .unwrap();

    blynk.device_values(1).await.unwrap();
    // Still valid well inside its lifetime...
    clock.advance(Duration::from_secs(3000));
    blynk.device_values(1).await.unwrap();
    refresh.assert_calls(0);
    // ...renewed within the last 30 s before expiry.
    clock.advance(Duration::from_secs(580));
    blynk.device_values(1).await.unwrap();

    first.assert_calls(1);
    refresh.assert_calls(1);
    old.assert_calls(2);
    new.assert_calls(1);
}

#[tokio::test]
async fn a_refused_refresh_token_falls_back_to_client_credentials() {
    let server = MockServer::start_async().await;
    let credentials = grant(
        &server,
        "client_credentials",
        200,
        token_body("tok-n", 60, Some("ref-1")),
    );
    let refresh = grant(
        &server,
        "refresh_token",
        400,
        json!({"error": "invalid_grant", "error_description": "used"}),
    );
    values_ok(&server);
    let clock = ManualClock::new();
    let blynk = builder(&server)
        .client_credentials("cid", "csecret")
        .clock(clock.clone())
        .build()
        .unwrap();
    blynk.device_values(1).await.unwrap();
    clock.advance(Duration::from_secs(120));
    blynk.device_values(1).await.unwrap();
    refresh.assert_calls(1);
    credentials.assert_calls(2);
}

#[tokio::test]
async fn fifty_concurrent_calls_with_an_expired_token_make_one_token_request() {
    let server = MockServer::start_async().await;
    let credentials = grant(
        &server,
        "client_credentials",
        200,
        token_body("tok-1", 60, Some("ref-1")),
    );
    let refresh = server.mock(|when, then| {
        when.method(POST)
            .path(TOKEN_PATH)
            .query_param("grant_type", "refresh_token");
        then.status(200)
            .delay(Duration::from_millis(100))
            .json_body(token_body("tok-2", 60, Some("ref-2")));
    });
    let api = values_for(&server, "Bearer tok-2", 200);
    values_ok(&server);
    let clock = ManualClock::new();
    let blynk = builder(&server)
        .client_credentials("cid", "csecret")
        .clock(clock.clone())
        .build()
        .unwrap();
    blynk.device_values(1).await.unwrap();
    clock.advance(Duration::from_secs(120));

    let calls: Vec<_> = (0..50)
        .map(|_| {
            let blynk = blynk.clone();
            tokio::spawn(async move { blynk.device_values(1).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    credentials.assert_calls(1);
    refresh.assert_calls(1);
    api.assert_calls(50);
    assert_eq!(blynk.token_requests(), 2);
}

#[tokio::test]
async fn a_401_renews_the_token_once_and_retries_once() {
    let server = MockServer::start_async().await;
    let credentials = grant(
        &server,
        "client_credentials",
        200,
        token_body("tok-1", 86_400, Some("ref-1")),
    );
    let refresh = grant(
        &server,
        "refresh_token",
        200,
        token_body("tok-2", 86_400, Some("ref-2")),
    );
    let revoked = values_for(&server, "Bearer tok-1", 401);
    let fresh = values_for(&server, "Bearer tok-2", 200);
    let blynk = builder(&server)
        .client_credentials("cid", "csecret")
        .clock(ManualClock::new())
        .build()
        .unwrap();
    blynk.device_values(1).await.unwrap();
    credentials.assert_calls(1);
    refresh.assert_calls(1);
    revoked.assert_calls(1);
    fresh.assert_calls(1);
}

#[tokio::test]
async fn a_second_401_is_unauthorized_without_a_loop() {
    let server = MockServer::start_async().await;
    let token = server.mock(|when, then| {
        when.method(POST).path(TOKEN_PATH);
        then.status(200).json_body(token_body("tok", 86_400, None));
    });
    let api = server.mock(|when, then| {
        when.method(GET).path(VALUES);
        then.status(401);
    });
    let blynk = builder(&server)
        .client_credentials("cid", "csecret")
        .clock(ManualClock::new())
        .build()
        .unwrap();
    let err = blynk.device_values(1).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unauthorized { operation, .. } if operation.id == "getDeviceDataStreamsV2"
        ),
        "{err:?}"
    );
    token.assert_calls(2);
    api.assert_calls(2);
}

#[tokio::test]
async fn a_static_token_is_not_retried_after_401() {
    let server = MockServer::start_async().await;
    let api = values_for(&server, "Bearer static-token", 401);
    let err = with_token(&server).device_values(1).await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }));
    api.assert_calls(1);
}

#[tokio::test]
async fn a_refused_client_is_an_auth_error_naming_the_oauth_code() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(POST).path(TOKEN_PATH);
        then.status(400)
            .json_body(json!({"error": "invalid_client", "error_description": "bad secret"}));
    });
    let api = values_ok(&server);
    let blynk = builder(&server)
        .client_credentials("cid", "csecret")
        .build()
        .unwrap();
    let err = blynk.device_values(1).await.unwrap_err();
    let Error::Auth {
        operation,
        source:
            AuthError::OAuth {
                status,
                code,
                description,
            },
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(
        (operation.id, *status, code.as_str()),
        ("getDeviceDataStreamsV2", 400, "invalid_client")
    );
    assert_eq!(description.as_deref(), Some("bad secret"));
    assert!(!err.to_string().contains("csecret"));
    api.assert_calls(0);
}
