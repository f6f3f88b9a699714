//! A bad day, against httpmock servers on 127.0.0.1 with a virtual clock: partial results,
//! retries that cover the token endpoint, client-wide pacing and retry budget, the observer hook
//! and per-call overrides.

mod support {
    pub mod mock;
}

use std::sync::{Arc, Mutex};
use std::time::Duration;

use blynk_api_ext::clock::ManualClock;
use blynk_api_ext::{
    Attempt, AttemptOutcome, AuthError, Blynk, Error, Pacing, ReadOptions, RetryConfig,
};
use httpmock::Method::{GET, POST};
use httpmock::MockServer;
use serde_json::json;
use support::mock::*;

const BATCH: &str = "/api/v1/organization/device/datastreams/batch";

fn device(id: i32) -> serde_json::Value {
    json!({"deviceId": id, "dataStreams": [{"dataStreamId": 1, "pin": "V1",
        "dataStreamLabel": "T", "dataStreamAlias": "t", "value": 1.0}]})
}

// ---------------------------------------------------------------------------------------------
// Partial results
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_failed_fleet_request_keeps_what_the_others_read() {
    let server = MockServer::start_async().await;
    let failing = server.mock(|when, then| {
        when.method(GET).path(BATCH).query_param("deviceIds", "11");
        then.status(500)
            .json_body(json!({"error": {"message": "db down"}}));
    });
    for first in [1, 21] {
        server.mock(|when, then| {
            when.method(GET)
                .path(BATCH)
                .query_param("deviceIds", first.to_string());
            then.status(200).json_body(json!([device(first)]));
        });
    }
    let clock = ManualClock::new();
    let blynk = builder(&server)
        .token("t")
        .clock(clock.clone())
        .build()
        .unwrap();
    let ids: Vec<i32> = (1..=25).collect();
    let fleet = blynk
        .values_for_devices(&ids, ReadOptions::default())
        .await
        .unwrap();

    let read: Vec<i32> = fleet.devices.iter().map(|d| d.device_id).collect();
    assert_eq!(read, [1, 21]);
    assert_eq!(fleet.failed.len(), 1);
    assert_eq!(fleet.failed[0].device_ids, (11..=20).collect::<Vec<_>>());
    assert!(
        matches!(fleet.failed[0].error, Error::Server { status: 500, .. }),
        "{:?}",
        fleet.failed[0].error
    );
    assert!(
        fleet.failed[0].error.is_retryable(),
        "a read may be retried"
    );
    // Devices of the failed request are neither read nor missing.
    let missing: Vec<i32> = (2..=10).chain(22..=25).collect();
    assert_eq!(fleet.missing, missing);
    assert_eq!(
        fleet.failed_device_ids().collect::<Vec<_>>(),
        (11..=20).collect::<Vec<_>>()
    );
    // The read was retried on 500 (4 attempts), then sent once more with its retries in the
    // second pass, before it was given up.
    failing.assert_calls(8);
    assert!(!fleet.is_complete());
    let err = fleet.into_complete().unwrap_err();
    assert!(matches!(err, Error::Server { status: 500, .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// The token endpoint
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_token_endpoint_blip_with_retry_after_is_retried() {
    for status in [429, 500, 502, 503, 504] {
        let server = MockServer::start_async().await;
        // The endpoint answers `status` once, then recovers.
        server
            .mock(|when, then| {
                when.method(POST).path(TOKEN_PATH);
                then.status(status).header("retry-after", "1");
            })
            .up_to_n_times(1);
        server.mock(|when, then| {
            when.method(POST).path(TOKEN_PATH);
            then.status(200).json_body(token_body("tok", 3600, None));
        });
        let clock = ManualClock::new();
        let blynk = builder(&server)
            .client_credentials("cid", "csecret")
            .clock(clock.clone())
            .build()
            .unwrap();
        values_ok(&server);
        blynk.device_values(1).await.unwrap();
        assert_eq!(blynk.token_requests(), 2, "{status}");
        assert_eq!(clock.sleeps(), [Duration::from_secs(1)], "{status}");
    }
}

#[tokio::test]
async fn a_token_endpoint_that_stays_unavailable_is_a_retryable_auth_error() {
    let server = MockServer::start_async().await;
    let token = server.mock(|when, then| {
        when.method(POST).path(TOKEN_PATH);
        then.status(503);
    });
    let api = values_ok(&server);
    let blynk = builder(&server)
        .client_credentials("cid", "csecret")
        .clock(ManualClock::new())
        .build()
        .unwrap();
    let err = blynk.device_values(1).await.unwrap_err();
    let Error::Auth { operation, source } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(operation.id, "getDeviceDataStreamsV2");
    assert!(
        matches!(source, AuthError::OAuth { status: 503, .. }),
        "{source:?}"
    );
    assert!(err.is_retryable());
    token.assert_calls(4);
    api.assert_calls(0);
}

#[tokio::test]
async fn a_refused_client_is_not_retried() {
    let server = MockServer::start_async().await;
    let token = server.mock(|when, then| {
        when.method(POST).path(TOKEN_PATH);
        then.status(400)
            .json_body(json!({"error": "invalid_client"}));
    });
    let blynk = builder(&server)
        .client_credentials("cid", "csecret")
        .clock(ManualClock::new())
        .build()
        .unwrap();
    let err = blynk.device_values(1).await.unwrap_err();
    assert!(!err.is_retryable(), "{err:?}");
    token.assert_calls(1);
}

// ---------------------------------------------------------------------------------------------
// Client-wide pacing and the retry budget
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_retry_after_pauses_the_other_calls_of_the_client() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(POST).path(SET);
        then.status(429).header("retry-after", "3");
    });
    values_ok(&server);
    let clock = ManualClock::new();
    let seen: Arc<Mutex<Vec<Attempt>>> = Arc::default();
    let sink = seen.clone();
    let blynk = builder(&server)
        .token("t")
        .clock(clock.clone())
        .retry(RetryConfig::disabled())
        .observer(move |a: &Attempt| sink.lock().unwrap().push(*a))
        .build()
        .unwrap();
    let err = blynk.set_value(1, 1, 1.0).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    // Another operation, on a clone: it waits out the server's Retry-After first.
    blynk.clone().device_values(1).await.unwrap();
    assert_eq!(clock.sleeps(), [Duration::from_secs(3)]);
    // The observer sees that wait as the second call's pacing delay.
    let seen = seen.lock().unwrap().clone();
    let delays: Vec<(&str, Duration)> = seen
        .iter()
        .map(|a| (a.operation.id, a.pacing_delay))
        .collect();
    assert_eq!(
        delays,
        [
            ("updateDeviceDataStream", Duration::ZERO),
            ("getDeviceDataStreamsV2", Duration::from_secs(3))
        ]
    );
}

#[tokio::test]
async fn without_pacing_a_retry_after_holds_only_its_own_call() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(POST).path(SET);
        then.status(429).header("retry-after", "3");
    });
    values_ok(&server);
    let clock = ManualClock::new();
    let blynk = builder(&server)
        .token("t")
        .clock(clock.clone())
        .retry(RetryConfig::disabled())
        .pacing(Pacing::disabled())
        .build()
        .unwrap();
    blynk.set_value(1, 1, 1.0).await.unwrap_err();
    blynk.device_values(1).await.unwrap();
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn the_retry_budget_stops_a_storm_of_failures_from_multiplying_the_load() {
    let server = MockServer::start_async().await;
    let failing = server.mock(|when, then| {
        when.method(GET).path(VALUES);
        then.status(503);
    });
    let blynk = builder(&server)
        .token("t")
        .clock(ManualClock::new())
        .pacing(Pacing::adaptive().retry_budget(Some(10)))
        .build()
        .unwrap();
    assert_eq!(blynk.retry_budget_left(), Some(10));
    // Two retries (5 tokens each) empty the budget: the first call makes 3 attempts, not 4.
    blynk.device_values(1).await.unwrap_err();
    failing.assert_calls(3);
    // Later calls are not retried at all until successes refill it.
    blynk.device_values(1).await.unwrap_err();
    failing.assert_calls(4);
    assert_eq!(blynk.retry_budget_left(), Some(0));
}

#[tokio::test]
async fn successes_refill_the_retry_budget() {
    let server = MockServer::start_async().await;
    first_then(&server, GET, VALUES, 503, None);
    values_ok(&server);
    let blynk = builder(&server)
        .token("t")
        .clock(ManualClock::new())
        .pacing(Pacing::adaptive().retry_budget(Some(10)))
        .build()
        .unwrap();
    blynk.device_values(1).await.unwrap();
    // The retry cost 5; its success returned them.
    assert_eq!(blynk.retry_budget_left(), Some(10));
}

#[tokio::test]
async fn throttling_switches_the_adaptive_rate_on() {
    let server = MockServer::start_async().await;
    first_then(&server, GET, VALUES, 429, Some("0"));
    values_ok(&server);
    let blynk = builder(&server)
        .token("t")
        .clock(ManualClock::new())
        .build()
        .unwrap();
    assert_eq!(blynk.adaptive_rate(), None);
    blynk.device_values(1).await.unwrap();
    let rate = blynk.adaptive_rate().expect("on after a 429");
    assert!(rate >= 0.5, "{rate}");
}

// ---------------------------------------------------------------------------------------------
// The observer
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_observer_sees_every_attempt_with_its_outcome_and_waits() {
    let server = MockServer::start_async().await;
    first_then(&server, GET, VALUES, 503, None);
    values_ok(&server);
    let seen: Arc<Mutex<Vec<Attempt>>> = Arc::default();
    let sink = seen.clone();
    let clock = ManualClock::new();
    let blynk = builder(&server)
        .token("very-secret-token")
        .clock(clock.clone())
        .observer(move |a: &Attempt| sink.lock().unwrap().push(*a))
        .build()
        .unwrap();
    blynk.device_values(1).await.unwrap();

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen.iter()
            .all(|a| a.operation.id == "getDeviceDataStreamsV2")
    );
    assert_eq!(
        (seen[0].attempt, seen[0].outcome, seen[0].will_retry),
        (1, AttemptOutcome::Status(503), true)
    );
    assert_eq!(seen[0].backoff, Duration::ZERO);
    assert_eq!(
        (seen[1].attempt, seen[1].outcome, seen[1].will_retry),
        (2, AttemptOutcome::Status(200), false)
    );
    assert_eq!(seen[1].backoff, clock.sleeps()[0]);
    assert_eq!(seen[1].pacing_delay, Duration::ZERO);
    assert!(!format!("{seen:?}").contains("very-secret-token"));
}

#[tokio::test]
async fn the_observer_sees_transport_failures_by_kind() {
    let seen: Arc<Mutex<Vec<Attempt>>> = Arc::default();
    let sink = seen.clone();
    // Nothing listens on this port.
    let blynk = Blynk::builder()
        .base_url("http://127.0.0.1:1")
        .token("t")
        .clock(ManualClock::new())
        .retry(RetryConfig::standard().max_attempts(2))
        .observer(move |a: &Attempt| sink.lock().unwrap().push(*a))
        .build()
        .unwrap();
    blynk.device_values(1).await.unwrap_err();
    let outcomes: Vec<AttemptOutcome> = seen.lock().unwrap().iter().map(|a| a.outcome).collect();
    assert_eq!(
        outcomes,
        [AttemptOutcome::ConnectFailed, AttemptOutcome::ConnectFailed]
    );
    assert_eq!(outcomes[0].error_kind(), Some("connect"));
}

// ---------------------------------------------------------------------------------------------
// Per-call overrides
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_per_call_retry_policy_applies_to_that_call_only_and_shares_the_token() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(POST).path(TOKEN_PATH);
        then.status(200).json_body(token_body("tok", 3600, None));
    });
    let failing = server.mock(|when, then| {
        when.method(GET).path(VALUES);
        then.status(503);
    });
    let blynk = builder(&server)
        .client_credentials("cid", "csecret")
        .clock(ManualClock::new())
        .build()
        .unwrap();
    let once = blynk.with_retry(RetryConfig::disabled());
    once.device_values(1).await.unwrap_err();
    failing.assert_calls(1);
    blynk.device_values(1).await.unwrap_err();
    failing.assert_calls(5);
    // One token, shared by the client and its override.
    assert_eq!(blynk.token_requests(), 1);
    assert_eq!(once.token_requests(), 1);
}

#[tokio::test]
async fn a_per_call_timeout_applies_to_that_call_only() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET).path(VALUES);
        then.status(200)
            .json_body(json!({"dataStreams": []}))
            .delay(Duration::from_millis(400));
    });
    let blynk = builder(&server)
        .token("t")
        .clock(ManualClock::new())
        .build()
        .unwrap();
    let err = blynk
        .with_retry(RetryConfig::disabled())
        .with_timeout(Duration::from_millis(50))
        .device_values(1)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport { timeout: true, .. }),
        "{err:?}"
    );
    blynk.device_values(1).await.unwrap();
}
