//! The one door every request goes through: a token is attached, the client-wide
//! [`Pacing`](crate::Pacing) lets the attempt start, the request is sent, retried by the
//! [`RetryConfig`](crate::RetryConfig) within the retry budget, renewed once after a 401; each
//! attempt is a tracing span named after the operation of the table ([`blynk_api::operations`])
//! and is reported to the [`Observer`](crate::Observer).
//!
//! The engine is installed into the generated [`blynk_api::Client`] as its
//! [`Interceptor`](blynk_api::hooks::Interceptor), so it applies equally to the wrappers of this
//! crate and to direct use of [`Blynk::api`](crate::Blynk::api). The generated client can only
//! carry a message out of a hook, so the engine also records what the wrappers need typed (the
//! [`AuthError`] of a failed token request, the `Retry-After` of the last attempt, parsed once) in
//! a [`CallRecord`] scoped to the call's task ([`scoped`]); wrappers read it instead of asking for
//! a token themselves.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use blynk_api::hooks::{BoxFuture, Interceptor};
use blynk_api::operations::{self, Operation};
use reqwest::StatusCode;
use reqwest::header::AUTHORIZATION;
use tracing::Instrument;

use crate::auth::Auth;
use crate::clock::Clock;
use crate::error::AuthError;
use crate::observe::{Attempt, AttemptOutcome, Observers};
use crate::pacing::{Pacer, RETRY_COST, RETRY_TIMEOUT_COST};
use crate::retry::{Jitter, Outcome, RetryConfig, retry_after};

/// What the engine learnt about one call, for the wrapper that made it.
#[derive(Debug, Default)]
pub(crate) struct CallRecord {
    /// Why no token could be attached, if that is why the call failed.
    pub(crate) auth: Option<AuthError>,
    /// The `Retry-After` of the last response, parsed.
    pub(crate) retry_after: Option<Duration>,
}

tokio::task_local! {
    static CALL: RefCell<CallRecord>;
}

/// Runs `call` with a fresh [`CallRecord`] and returns both.
pub(crate) async fn scoped<F: Future>(call: F) -> (F::Output, CallRecord) {
    CALL.scope(RefCell::new(CallRecord::default()), async move {
        let output = call.await;
        let record = CALL.with(|record| record.take());
        (output, record)
    })
    .await
}

fn record(update: impl FnOnce(&mut CallRecord)) {
    // Outside `scoped` (direct use of the generated client) there is nobody to tell.
    let _ = CALL.try_with(|record| update(&mut record.borrow_mut()));
}

/// The operation progenitor names by its method name, or the first of the table if the name is
/// unknown (it cannot be: every generated method comes from the table's document).
fn operation_of(span_name: &str) -> &'static Operation {
    operations::ALL
        .iter()
        .copied()
        .find(|op| op.span_name == span_name)
        .unwrap_or(operations::ALL[0])
}

/// Everything a client shares across its clones and per-call overrides.
pub(crate) struct Shared {
    pub(crate) auth: Auth,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) pacer: Pacer,
    pub(crate) observer: Observers,
}

/// The engine of one client, or of one per-call override of it.
pub(crate) struct Engine {
    pub(crate) shared: Arc<Shared>,
    pub(crate) retry: RetryConfig,
    /// A request timeout for this override, instead of the HTTP client's.
    pub(crate) timeout: Option<Duration>,
    jitter: Jitter,
}

/// The last attempt's result and its parsed `Retry-After`.
pub(crate) type Sent = (reqwest::Result<reqwest::Response>, Option<Duration>);

impl Engine {
    pub(crate) fn new(shared: Arc<Shared>, retry: RetryConfig, timeout: Option<Duration>) -> Self {
        Self {
            shared,
            jitter: Jitter::new(&retry),
            retry,
            timeout,
        }
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        &*self.shared.clock
    }

    /// Attaches the current token.
    pub(crate) async fn authorize(&self, request: &mut reqwest::Request) -> Result<(), AuthError> {
        let header = self.shared.auth.header().await?;
        request.headers_mut().insert(AUTHORIZATION, header);
        Ok(())
    }

    /// Sends `request` with pacing and retries; returns the last attempt's result.
    pub(crate) async fn run(
        &self,
        client: &reqwest::Client,
        mut request: reqwest::Request,
        operation: &'static Operation,
    ) -> Sent {
        let shared = &*self.shared;
        let clock = self.clock();
        let started = clock.now();
        let idempotent = operation.is_read();
        let mut reauthorized = false;
        let mut attempt = 0u32;
        let mut throttled_attempts = 0u32;
        let mut backoff = Duration::ZERO;
        let mut retried = false;
        let mut retry_cost = 0u32;
        loop {
            attempt += 1;
            let pacing_delay = shared.pacer.acquire(clock).await;
            let span = tracing::info_span!(
                "blynk.attempt",
                operation = operation.id,
                attempt,
                "http.request.method" = %request.method(),
                "url.path" = request.url().path(),
                "http.response.status_code" = tracing::field::Empty,
                "error.type" = tracing::field::Empty,
            );
            // Our requests have in-memory bodies, so they can always be cloned; if one could
            // not, it is sent once, without retries.
            let Some(mut this_attempt) = request.try_clone() else {
                return (client.execute(request).instrument(span).await, None);
            };
            if let Some(timeout) = self.timeout {
                *this_attempt.timeout_mut() = Some(timeout);
            }
            let sent_at = clock.now();
            // Boxed so that the (large) request future is not moved through the wrappers; not
            // instrumented when no subscriber wants the span (the common case), which spares
            // entering and leaving it at every poll.
            let send = Box::pin(client.execute(this_attempt));
            let result = if span.is_disabled() {
                send.await
            } else {
                send.instrument(span.clone()).await
            };
            let ended = clock.now();
            let duration = ended.saturating_duration_since(sent_at);
            let (outcome, observed, server_wait) = match &result {
                Ok(response) => {
                    let status = response.status();
                    span.record("http.response.status_code", status.as_u16());
                    (
                        Outcome::Response(status),
                        AttemptOutcome::Status(status.as_u16()),
                        // A success has nothing to wait for: spare it the header lookup.
                        (!status.is_success())
                            .then(|| retry_after(response.headers(), clock.wall()))
                            .flatten(),
                    )
                }
                Err(e) => {
                    let (outcome, observed) = if e.is_connect() {
                        (Outcome::ConnectFailed, AttemptOutcome::ConnectFailed)
                    } else if e.is_timeout() {
                        (Outcome::OtherTransport, AttemptOutcome::TimedOut)
                    } else {
                        (Outcome::OtherTransport, AttemptOutcome::Transport)
                    };
                    span.record("error.type", observed.error_kind().unwrap_or("transport"));
                    (outcome, observed, None)
                }
            };
            let throttled = outcome == Outcome::Response(StatusCode::TOO_MANY_REQUESTS);
            throttled_attempts += u32::from(throttled);
            let pause = match outcome {
                Outcome::Response(StatusCode::TOO_MANY_REQUESTS)
                | Outcome::Response(StatusCode::SERVICE_UNAVAILABLE) => server_wait,
                _ => None,
            };
            shared.pacer.record(ended, sent_at, throttled, pause);
            let report = |will_retry: bool| {
                shared.observer.attempt(&Attempt {
                    operation,
                    attempt,
                    outcome: observed,
                    duration,
                    backoff,
                    pacing_delay,
                    will_retry,
                });
            };
            if outcome == Outcome::Response(StatusCode::UNAUTHORIZED) && !reauthorized {
                reauthorized = true;
                let rejected = request.headers().get(AUTHORIZATION).cloned();
                // Boxed: renewing holds a whole token request, which would otherwise swell
                // the state of every call, renewing or not.
                let renewal = Box::pin(shared.auth.after_unauthorized(rejected.as_ref()));
                if let Some(fresh) = renewal.await {
                    span.in_scope(|| tracing::debug!("401: token renewed, trying once more"));
                    report(true);
                    request.headers_mut().insert(AUTHORIZATION, fresh);
                    backoff = Duration::ZERO;
                    continue;
                }
            }
            let success = matches!(outcome, Outcome::Response(s) if s.is_success());
            let delay = if success {
                None
            } else {
                self.jitter.with(|rng| {
                    self.retry.next_delay(
                        outcome,
                        server_wait,
                        idempotent,
                        attempt,
                        throttled_attempts,
                        ended.saturating_duration_since(started),
                        rng,
                    )
                })
            };
            let timed_out = observed == AttemptOutcome::TimedOut;
            // A 429 was not processed and is the pacer's to slow down: it draws nothing from
            // the retry budget, which is there for failures (5xx, transport, timeouts).
            let delay = delay.filter(|_| {
                let granted = throttled || shared.pacer.try_retry(timed_out);
                if !granted {
                    span.in_scope(|| tracing::debug!("retry budget spent: not retrying"));
                }
                granted
            });
            report(delay.is_some());
            match delay {
                Some(delay) => {
                    span.in_scope(|| {
                        tracing::debug!(delay_ms = delay.as_millis() as u64, "retrying");
                    });
                    retried = true;
                    retry_cost = if throttled {
                        0
                    } else if timed_out {
                        RETRY_TIMEOUT_COST
                    } else {
                        RETRY_COST
                    };
                    backoff = delay;
                    drop(result);
                    clock.sleep(delay).await;
                }
                None => {
                    if success {
                        shared.pacer.succeeded(retried, retry_cost);
                    }
                    return (result, server_wait);
                }
            }
        }
    }
}

impl Interceptor for Engine {
    fn before<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        _operation: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        // A fixed token needs no waiting: attach it here and hand back a ready future, sparing
        // every call the state machine below.
        if let Auth::Static(header) = &self.shared.auth {
            request.headers_mut().insert(AUTHORIZATION, header.clone());
            return Box::pin(std::future::ready(Ok(())));
        }
        Box::pin(async move {
            self.authorize(request).await.map_err(|e| {
                let message = e.to_string();
                record(|r| r.auth = Some(e));
                message
            })
        })
    }

    fn send<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        operation: &'a str,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>> {
        Box::pin(async move {
            let (result, wait) = self.run(client, request, operation_of(operation)).await;
            record(|r| r.retry_after = wait);
            result
        })
    }
}
