//! The configured client against httpmock servers on 127.0.0.1: tokens, retries, every error
//! variant, every validation rule, redaction and the security rules.

use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use blynk_api_ext::clock::{Clock, ManualClock};
use blynk_api_ext::{
    AuthError, BatchUpdate, Blynk, BuildError, Error, HistoryQuery, Location, Point, Property,
    RetryConfig, Value,
};
use httpmock::Method::{GET, POST};
use httpmock::MockServer;
use serde_json::json;

const VALUES: &str = "/api/v2/organization/device/datastreams";
const SET: &str = "/api/v1/organization/device/datastream";
const TOKEN_PATH: &str = "/oauth2/token";
/// base64("cid:csecret")
const BASIC: &str = "Basic Y2lkOmNzZWNyZXQ=";

fn builder(server: &MockServer) -> blynk_api_ext::BlynkBuilder {
    Blynk::builder().base_url(server.base_url())
}

fn with_token(server: &MockServer) -> Blynk {
    builder(server)
        .token("static-token")
        .clock(ManualClock::new())
        .build()
        .unwrap()
}

fn values_ok(server: &MockServer) -> httpmock::Mock<'_> {
    server.mock(|when, then| {
        when.method(GET).path(VALUES);
        then.status(200).json_body(json!({"dataStreams": []}));
    })
}

fn token_body(token: &str, expires_in: u64, refresh: Option<&str>) -> serde_json::Value {
    let mut body = json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in});
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
    }
    body
}

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
    let api = server.mock(|when, then| {
        when.method(GET)
            .path(VALUES)
            .header("authorization", "Bearer tok-1");
        then.status(200).json_body(json!({"dataStreams": []}));
    });
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
    let first = server.mock(|when, then| {
        when.method(POST)
            .path(TOKEN_PATH)
            .query_param("grant_type", "client_credentials");
        then.status(200)
            .json_body(token_body("tok-1", 3600, Some("ref-1")));
    });
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
    let old = server.mock(|when, then| {
        when.method(GET)
            .path(VALUES)
            .header("authorization", "Bearer tok-1");
        then.status(200).json_body(json!({"dataStreams": []}));
    });
    let new = server.mock(|when, then| {
        when.method(GET)
            .path(VALUES)
            .header("authorization", "Bearer tok-2");
        then.status(200).json_body(json!({"dataStreams": []}));
    });
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
    let credentials = server.mock(|when, then| {
        when.method(POST)
            .path(TOKEN_PATH)
            .query_param("grant_type", "client_credentials");
        then.status(200)
            .json_body(token_body("tok-n", 60, Some("ref-1")));
    });
    let refresh = server.mock(|when, then| {
        when.method(POST)
            .path(TOKEN_PATH)
            .query_param("grant_type", "refresh_token");
        then.status(400)
            .json_body(json!({"error": "invalid_grant", "error_description": "used"}));
    });
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
    let credentials = server.mock(|when, then| {
        when.method(POST)
            .path(TOKEN_PATH)
            .query_param("grant_type", "client_credentials");
        then.status(200)
            .json_body(token_body("tok-1", 60, Some("ref-1")));
    });
    let refresh = server.mock(|when, then| {
        when.method(POST)
            .path(TOKEN_PATH)
            .query_param("grant_type", "refresh_token");
        then.status(200)
            .delay(Duration::from_millis(100))
            .json_body(token_body("tok-2", 60, Some("ref-2")));
    });
    let api = server.mock(|when, then| {
        when.method(GET)
            .path(VALUES)
            .header("authorization", "Bearer tok-2");
        then.status(200).json_body(json!({"dataStreams": []}));
    });
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
    let credentials = server.mock(|when, then| {
        when.method(POST)
            .path(TOKEN_PATH)
            .query_param("grant_type", "client_credentials");
        then.status(200)
            .json_body(token_body("tok-1", 86_400, Some("ref-1")));
    });
    let refresh = server.mock(|when, then| {
        when.method(POST)
            .path(TOKEN_PATH)
            .query_param("grant_type", "refresh_token");
        then.status(200)
            .json_body(token_body("tok-2", 86_400, Some("ref-2")));
    });
    let revoked = server.mock(|when, then| {
        when.method(GET)
            .path(VALUES)
            .header("authorization", "Bearer tok-1");
        then.status(401);
    });
    let fresh = server.mock(|when, then| {
        when.method(GET)
            .path(VALUES)
            .header("authorization", "Bearer tok-2");
        then.status(200).json_body(json!({"dataStreams": []}));
    });
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
            Error::Unauthorized {
                operation: "getDeviceDataStreamsV2",
                ..
            }
        ),
        "{err:?}"
    );
    token.assert_calls(2);
    api.assert_calls(2);
}

#[tokio::test]
async fn a_static_token_is_not_retried_after_401() {
    let server = MockServer::start_async().await;
    let api = server.mock(|when, then| {
        when.method(GET)
            .path(VALUES)
            .header("authorization", "Bearer static-token");
        then.status(401);
    });
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
        (*operation, *status, code.as_str()),
        ("getDeviceDataStreamsV2", 400, "invalid_client")
    );
    assert_eq!(description.as_deref(), Some("bad secret"));
    assert!(!err.to_string().contains("csecret"));
    api.assert_calls(0);
}

// ---------------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------------

fn first_then(
    server: &MockServer,
    method: httpmock::Method,
    path: &str,
    first: u16,
    retry_after: Option<&str>,
) {
    let retry_after = retry_after.map(str::to_string);
    server
        .mock(|when, then| {
            when.method(method.to_string().as_str()).path(path);
            let then = then.status(first);
            if let Some(r) = retry_after {
                then.header("retry-after", r);
            }
        })
        .up_to_n_times(1);
}

#[tokio::test]
async fn a_429_waits_the_retry_after_seconds_then_succeeds() {
    let server = MockServer::start_async().await;
    first_then(&server, GET, VALUES, 429, Some("7"));
    let ok = values_ok(&server);
    let clock = ManualClock::new();
    let blynk = builder(&server)
        .token("t")
        .clock(clock.clone())
        .build()
        .unwrap();
    blynk.device_values(1).await.unwrap();
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(7)]);
    ok.assert_calls(1);
}

#[tokio::test]
async fn a_429_honours_an_http_date_retry_after() {
    let server = MockServer::start_async().await;
    let clock = ManualClock::new();
    let at = httpdate::fmt_http_date(clock.wall() + Duration::from_secs(45));
    first_then(&server, GET, VALUES, 429, Some(&at));
    values_ok(&server);
    let blynk = builder(&server)
        .token("t")
        .clock(clock.clone())
        .build()
        .unwrap();
    blynk.device_values(1).await.unwrap();
    let slept = clock.sleeps();
    assert_eq!(slept.len(), 1);
    // HTTP dates have whole seconds: the wait is 44..=45 s.
    assert!(
        slept[0] <= Duration::from_secs(45) && slept[0] > Duration::from_secs(43),
        "{slept:?}"
    );
}

#[tokio::test]
async fn a_read_is_retried_on_503_with_capped_jittered_backoff() {
    let server = MockServer::start_async().await;
    let failing = server.mock(|when, then| {
        when.method(GET).path(VALUES);
        then.status(503);
    });
    let clock = ManualClock::new();
    let retry = RetryConfig::standard()
        .max_attempts(5)
        .initial_backoff(Duration::from_millis(100))
        .max_backoff(Duration::from_millis(300))
        .jitter_seed(3);
    let blynk = builder(&server)
        .token("t")
        .clock(clock.clone())
        .retry(retry)
        .build()
        .unwrap();
    let err = blynk.device_values(1).await.unwrap_err();
    assert!(matches!(err, Error::Server { status: 503, .. }), "{err:?}");
    assert!(err.is_retryable());
    failing.assert_calls(5);
    let sleeps = clock.sleeps();
    let ceilings = [100u64, 200, 300, 300];
    assert_eq!(sleeps.len(), 4);
    for (slept, ceiling) in sleeps.iter().zip(ceilings) {
        assert!(*slept <= Duration::from_millis(ceiling), "{sleeps:?}");
    }
}

#[tokio::test]
async fn a_write_is_not_retried_on_500_by_default() {
    let server = MockServer::start_async().await;
    let failing = server.mock(|when, then| {
        when.method(POST).path(SET);
        then.status(500)
            .json_body(json!({"error": {"message": "boom"}}));
    });
    let clock = ManualClock::new();
    let blynk = builder(&server)
        .token("t")
        .clock(clock.clone())
        .build()
        .unwrap();
    let err = blynk.set_value(1, 2, 3.0).await.unwrap_err();
    let Error::Server {
        operation,
        status,
        message,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (*operation, *status, message.as_deref()),
        ("updateDeviceDataStream", 500, Some("boom"))
    );
    failing.assert_calls(1);
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn a_write_is_retried_on_5xx_when_opted_in() {
    let server = MockServer::start_async().await;
    first_then(&server, POST, SET, 502, None);
    let ok = server.mock(|when, then| {
        when.method(POST).path(SET);
        then.status(204);
    });
    let blynk = builder(&server)
        .token("t")
        .clock(ManualClock::new())
        .retry(RetryConfig::standard().retry_writes_on_server_errors(true))
        .build()
        .unwrap();
    blynk.set_value(1, 2, 3.0).await.unwrap();
    ok.assert_calls(1);
}

#[tokio::test]
async fn a_write_is_retried_on_429() {
    let server = MockServer::start_async().await;
    first_then(&server, POST, SET, 429, Some("1"));
    let ok = server.mock(|when, then| {
        when.method(POST).path(SET);
        then.status(204);
    });
    let clock = ManualClock::new();
    builder(&server)
        .token("t")
        .clock(clock.clone())
        .build()
        .unwrap()
        .set_value(1, 2, 3.0)
        .await
        .unwrap();
    ok.assert_calls(1);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(1)]);
}

#[tokio::test]
async fn a_retry_after_beyond_the_time_budget_is_returned_as_rate_limited() {
    let server = MockServer::start_async().await;
    let limited = server.mock(|when, then| {
        when.method(GET).path(VALUES);
        then.status(429).header("retry-after", "100");
    });
    let clock = ManualClock::new();
    let err = builder(&server)
        .token("t")
        .clock(clock.clone())
        .build()
        .unwrap()
        .device_values(1)
        .await
        .unwrap_err();
    let Error::RateLimited {
        operation,
        retry_after,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (*operation, *retry_after),
        ("getDeviceDataStreamsV2", Some(Duration::from_secs(100)))
    );
    assert!(err.is_retryable());
    assert!(err.to_string().contains("retry after 100 s"), "{err}");
    limited.assert_calls(1);
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported_as_transport() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let clock = ManualClock::new();
    let blynk = Blynk::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .token("t")
        .clock(clock.clone())
        .retry(RetryConfig::standard().max_attempts(3))
        .build()
        .unwrap();
    let err = blynk.set_value(1, 2, 3.0).await.unwrap_err();
    assert!(
        matches!(err, Error::Transport { timeout: false, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(clock.sleeps().len(), 2);
}

#[tokio::test]
async fn retries_apply_to_the_generated_client_too() {
    let server = MockServer::start_async().await;
    first_then(&server, GET, VALUES, 503, None);
    let ok = server.mock(|when, then| {
        when.method(GET)
            .path(VALUES)
            .header("authorization", "Bearer t");
        then.status(200).json_body(json!({"dataStreams": []}));
    });
    let blynk = builder(&server)
        .token("t")
        .clock(ManualClock::new())
        .build()
        .unwrap();
    blynk
        .api()
        .get_device_data_streams_v2()
        .device_id(1)
        .send()
        .await
        .unwrap();
    ok.assert_calls(1);
}

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
        matches!(&err, Error::BadRequest { operation: "updateDeviceDataStream", message } if message == "bad value"),
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
        Error::Forbidden {
            operation: "updateDeviceDataStream"
        }
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
            Error::Decode {
                operation: "getDeviceDataStreamsV2",
                ..
            }
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
            .batch_update(&BatchUpdate::new(["A"]))
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

/// Collects everything tracing writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn each_attempt_is_a_span_with_operation_attempt_and_status_and_no_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start_async().await;
    first_then(&server, GET, VALUES, 503, None);
    values_ok(&server);
    let blynk = builder(&server)
        .token("very-secret-token")
        .clock(ManualClock::new())
        .build()
        .unwrap();
    blynk.device_values(1).await.unwrap();

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("operation=\"get_device_data_streams_v2\""),
        "{log}"
    );
    assert!(
        log.contains("attempt=1") && log.contains("attempt=2"),
        "{log}"
    );
    assert!(
        log.contains("status=503") && log.contains("status=200"),
        "{log}"
    );
    assert!(!log.contains("very-secret-token"), "{log}");
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
