//! Each attempt is a tracing span with the operation and OpenTelemetry's HTTP field names.
//!
//! This test sets a thread-local subscriber, so it lives alone in its own test binary: tracing
//! caches, process-wide, whether a callsite is enabled, and a test on another thread reaching the
//! span's callsite first with no subscriber would cache it as disabled (the cause of this test's
//! old flakiness). The interest cache is also rebuilt once the subscriber is set. Metrics tests
//! go through the [`Observer`](blynk_api_ext::Observer) hook instead, which has no global state.

mod support {
    pub mod mock;
}

use std::sync::{Arc, Mutex};

use blynk_api_ext::clock::ManualClock;
use httpmock::Method::GET;
use httpmock::MockServer;
use support::mock::*;

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
    tracing::callsite::rebuild_interest_cache();

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
        log.contains("operation=\"getDeviceDataStreamsV2\""),
        "{log}"
    );
    assert!(
        log.contains("attempt=1") && log.contains("attempt=2"),
        "{log}"
    );
    assert!(
        log.contains("http.response.status_code=503")
            && log.contains("http.response.status_code=200"),
        "{log}"
    );
    assert!(
        log.contains("http.request.method=GET")
            && log.contains("url.path=\"/api/v2/organization/device/datastreams\""),
        "{log}"
    );
    assert!(!log.contains("very-secret-token"), "{log}");
}
