//! Retries against httpmock servers on 127.0.0.1: Retry-After, backoff, what is retried for
//! reads and writes, time budgets, refused connections, the generated client.

mod support {
    pub mod mock;
}

use std::time::Duration;

use blynk_api_ext::clock::{Clock, ManualClock};
use blynk_api_ext::{Blynk, Error, RetryConfig};
use httpmock::Method::{GET, POST};
use httpmock::MockServer;
use serde_json::json;
use support::mock::*;

// ---------------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------------

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
        (operation.id, *status, message.as_deref()),
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
        (operation.id, *retry_after),
        ("getDeviceDataStreamsV2", Some(Duration::from_secs(100)))
    );
    assert!(err.is_retryable());
    assert!(err.to_string().contains("retry after 100 s"), "{err}");
    limited.assert_calls(1);
    assert!(clock.sleeps().is_empty());
}

/// A `Retry-After` of `u64::MAX` seconds used to panic the client's next call: the shared pause
/// overflowed a `Duration`. It is read as a day; the call that got it gives up (a day is past
/// `max_elapsed`), and the shared pause holds the next call for `max_elapsed` (60 s), not a day.
#[tokio::test]
async fn a_retry_after_beyond_any_clock_is_bounded_and_panics_nothing() {
    let server = MockServer::start_async().await;
    first_then(&server, GET, VALUES, 429, Some("18446744073709551615"));
    values_ok(&server);
    let clock = ManualClock::new();
    let blynk = builder(&server)
        .token("t")
        .clock(clock.clone())
        .build()
        .unwrap();
    let err = blynk.device_values(1).await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(86_400)),
        "{err:?}"
    );
    blynk.device_values(1).await.unwrap();
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(60)]);
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
    let ok = values_for(&server, "Bearer t", 200);
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
