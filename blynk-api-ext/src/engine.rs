//! What happens to every request: a token is attached, the request is sent, retried by the
//! [`RetryConfig`](crate::RetryConfig), renewed once after a 401, and each attempt is a tracing span.
//!
//! The engine is installed into the generated [`blynk_api::Client`] as its
//! [`Interceptor`](blynk_api::hooks::Interceptor), so it applies equally to the wrappers of this
//! crate and to direct use of [`Blynk::api`](crate::Blynk::api).

use std::sync::{Arc, Mutex};

use blynk_api::hooks::{BoxFuture, Interceptor};
use reqwest::header::AUTHORIZATION;
use reqwest::{Method, StatusCode};
use tracing::Instrument;

use crate::auth::Auth;
use crate::clock::Clock;
use crate::retry::{Outcome, RetryConfig};

pub(crate) struct Engine {
    pub(crate) auth: Auth,
    pub(crate) retry: RetryConfig,
    pub(crate) clock: Arc<dyn Clock>,
    rng: Mutex<fastrand::Rng>,
}

impl Engine {
    pub(crate) fn new(auth: Auth, retry: RetryConfig, clock: Arc<dyn Clock>) -> Self {
        let rng = retry
            .seed()
            .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        Self {
            auth,
            retry,
            clock,
            rng: Mutex::new(rng),
        }
    }

    async fn run(
        &self,
        client: &reqwest::Client,
        mut request: reqwest::Request,
        operation: &str,
    ) -> reqwest::Result<reqwest::Response> {
        let started = self.clock.now();
        let idempotent = request.method() == Method::GET;
        let mut reauthorized = false;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let span = tracing::info_span!(
                "blynk.attempt",
                operation,
                attempt,
                method = %request.method(),
                path = request.url().path(),
                status = tracing::field::Empty,
            );
            // Our requests have in-memory bodies, so they can always be cloned; if one could
            // not, it is sent once, without retries.
            let Some(this_attempt) = request.try_clone() else {
                return client.execute(request).instrument(span).await;
            };
            let result = client.execute(this_attempt).instrument(span.clone()).await;
            let outcome = match &result {
                Ok(response) => {
                    span.record("status", response.status().as_u16());
                    Outcome::Response(response.status(), response.headers())
                }
                Err(e) if e.is_connect() => Outcome::ConnectFailed,
                Err(_) => Outcome::OtherTransport,
            };
            if let Outcome::Response(StatusCode::UNAUTHORIZED, _) = outcome
                && !reauthorized
            {
                reauthorized = true;
                let rejected = request.headers().get(AUTHORIZATION).cloned();
                if let Some(fresh) = self.auth.after_unauthorized(rejected.as_ref()).await {
                    span.in_scope(|| tracing::debug!("401: token renewed, trying once more"));
                    request.headers_mut().insert(AUTHORIZATION, fresh);
                    continue;
                }
            }
            let delay = {
                let mut rng = match self.rng.lock() {
                    Ok(rng) => rng,
                    Err(poisoned) => poisoned.into_inner(),
                };
                self.retry.next_delay(
                    outcome,
                    idempotent,
                    attempt,
                    self.clock.now().saturating_duration_since(started),
                    self.clock.wall(),
                    &mut rng,
                )
            };
            match delay {
                Some(delay) => {
                    span.in_scope(|| {
                        tracing::debug!(delay_ms = delay.as_millis() as u64, "retrying");
                    });
                    drop(result);
                    self.clock.sleep(delay).await;
                }
                None => return result,
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
        Box::pin(async move {
            let header = self.auth.header().await.map_err(|e| e.to_string())?;
            request.headers_mut().insert(AUTHORIZATION, header);
            Ok(())
        })
    }

    fn send<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        operation: &'a str,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>> {
        Box::pin(self.run(client, request, operation))
    }
}
