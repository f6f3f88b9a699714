//! Credentials and the bearer tokens made from them.
//!
//! A static token is sent as it is. OAuth2 client credentials are exchanged at
//! `POST {server}/oauth2/token?grant_type=client_credentials` (HTTP Basic `client_id:client_secret`),
//! and the token is renewed before it expires: with the refresh token when the server gave one (sent
//! in the form body, never in the URL), falling back to client credentials when the refresh token is
//! refused. A refresh token works once, so renewals are serialised: one request in flight, shared by
//! every caller waiting for a token. After a 401 the token that was refused is dropped and renewed
//! once. Tokens are opaque strings: never parsed.
//!
//! The token endpoint is retried like a read, by the client's [`RetryConfig`]: on 429, 500, 502,
//! 503, 504 and transport errors, honouring `Retry-After`, so one blip during a renewal does not
//! fail a call or a bulk chunk.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;
use serde::Deserialize;

use crate::clock::Clock;
use crate::error::AuthError;
use crate::retry::{Jitter, Outcome, RetryConfig, retry_after};

/// A secret string (token, client secret). Its `Debug` output is redacted and it has no
/// `Display`, so it cannot end up in logs or error messages by accident.
///
/// ```
/// let secret = blynk_api_ext::Secret::new("s3cr3t");
/// assert_eq!(format!("{secret:?}"), "Secret(***)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(Arc::from(secret.into()))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

/// A bearer header value, marked sensitive.
pub(crate) fn bearer(token: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Where requests get their `Authorization` header.
pub(crate) enum Auth {
    Static(HeaderValue),
    OAuth(Box<OAuth>),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Static(_) => f.write_str("Static(***)"),
            Self::OAuth(o) => f
                .debug_struct("OAuth")
                .field("client_id", &o.client_id)
                .field("client_secret", &o.client_secret)
                .finish_non_exhaustive(),
        }
    }
}

impl Auth {
    /// The header to send now, renewing the token first if it is about to expire.
    pub(crate) async fn header(&self) -> Result<HeaderValue, AuthError> {
        match self {
            Self::Static(value) => Ok(value.clone()),
            Self::OAuth(oauth) => oauth.header().await,
        }
    }

    /// After a 401 with `rejected`: a different header to try once, or `None` if there is none.
    pub(crate) async fn after_unauthorized(
        &self,
        rejected: Option<&HeaderValue>,
    ) -> Option<HeaderValue> {
        match self {
            Self::Static(_) => None,
            Self::OAuth(oauth) => oauth.after_unauthorized(rejected).await.ok(),
        }
    }

    /// How many token requests have been made (for tests and metrics).
    pub(crate) fn token_requests(&self) -> u64 {
        match self {
            Self::Static(_) => 0,
            Self::OAuth(oauth) => oauth.requests.load(Ordering::Relaxed),
        }
    }
}

/// OAuth2 client credentials and the token state built from them.
pub(crate) struct OAuth {
    endpoint: reqwest::Url,
    client_id: String,
    client_secret: Secret,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    state: tokio::sync::Mutex<TokenState>,
    requests: AtomicU64,
    retry: RetryConfig,
    jitter: Jitter,
}

#[derive(Default)]
struct TokenState {
    current: Option<Token>,
    refresh_token: Option<Secret>,
}

struct Token {
    header: HeaderValue,
    renew_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Lifetime assumed when the server does not say (`expires_in` absent).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// Renew this long before expiry, or at 90% of the lifetime for short-lived tokens.
const LEEWAY: Duration = Duration::from_secs(30);

impl OAuth {
    pub(crate) fn new(
        endpoint: reqwest::Url,
        client_id: String,
        client_secret: Secret,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
        retry: RetryConfig,
    ) -> Self {
        Self {
            endpoint,
            client_id,
            client_secret,
            http,
            clock,
            state: tokio::sync::Mutex::default(),
            requests: AtomicU64::new(0),
            jitter: Jitter::new(&retry),
            retry,
        }
    }

    async fn header(&self) -> Result<HeaderValue, AuthError> {
        // Holding the lock across the token request is what makes renewal single-flight: callers
        // arriving meanwhile wait, then find the new token.
        let mut state = self.state.lock().await;
        if let Some(token) = &state.current
            && self.clock.now() < token.renew_at
        {
            return Ok(token.header.clone());
        }
        self.renew(&mut state).await
    }

    async fn after_unauthorized(
        &self,
        rejected: Option<&HeaderValue>,
    ) -> Result<HeaderValue, AuthError> {
        let mut state = self.state.lock().await;
        match &state.current {
            // Someone renewed it while this request was out: use theirs.
            Some(token) if Some(&token.header) != rejected && self.clock.now() < token.renew_at => {
                Ok(token.header.clone())
            }
            _ => {
                state.current = None;
                self.renew(&mut state).await
            }
        }
    }

    async fn renew(&self, state: &mut TokenState) -> Result<HeaderValue, AuthError> {
        let response = match state.refresh_token.take() {
            Some(refresh) => match self.request(Some(&refresh)).await {
                Ok(response) => response,
                // A refused refresh token (used, expired, revoked): start over.
                Err(e @ AuthError::OAuth { .. }) if !e.is_retryable() => self.request(None).await?,
                Err(e) => {
                    state.refresh_token = Some(refresh);
                    return Err(e);
                }
            },
            None => self.request(None).await?,
        };
        let header = bearer(&response.access_token).ok_or_else(|| {
            AuthError::InvalidResponse("access_token cannot be sent in a header".into())
        })?;
        let lifetime = response
            .expires_in
            .map_or(DEFAULT_LIFETIME, Duration::from_secs);
        let leeway = LEEWAY.min(lifetime / 10);
        state.current = Some(Token {
            header: header.clone(),
            renew_at: self.clock.now() + lifetime.saturating_sub(leeway),
        });
        state.refresh_token = response.refresh_token.map(Secret::new);
        Ok(header)
    }

    /// One token request, retried like a read (the token endpoint changes nothing that a second
    /// request would change again).
    async fn request(&self, refresh: Option<&Secret>) -> Result<TokenResponse, AuthError> {
        let started = self.clock.now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (result, outcome, server_wait) = self.attempt(refresh).await;
            let delay = self.jitter.with(|rng| {
                self.retry.next_delay(
                    outcome,
                    server_wait,
                    true,
                    attempt,
                    // The token endpoint counts every attempt, 429s included.
                    0,
                    self.clock.now().saturating_duration_since(started),
                    rng,
                )
            });
            match (result, delay) {
                (Ok(token), _) => return Ok(token),
                (Err(e), Some(delay)) => {
                    tracing::debug!(attempt, delay_ms = delay.as_millis() as u64, error = %e, "token request failed; retrying");
                    self.clock.sleep(delay).await;
                }
                (Err(e), None) => return Err(e),
            }
        }
    }

    /// One attempt at the token endpoint, with what retrying needs to know about it.
    async fn attempt(
        &self,
        refresh: Option<&Secret>,
    ) -> (Result<TokenResponse, AuthError>, Outcome, Option<Duration>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let grant = if refresh.is_some() {
            "refresh_token"
        } else {
            "client_credentials"
        };
        let mut request = self
            .http
            .post(self.endpoint.clone())
            .query(&[("grant_type", grant)])
            .basic_auth(&self.client_id, Some(self.client_secret.expose()));
        if let Some(refresh) = refresh {
            request = request.form(&[("refresh_token", refresh.expose())]);
        }
        let transport = |e: reqwest::Error| {
            let outcome = if e.is_connect() {
                Outcome::ConnectFailed
            } else {
                Outcome::OtherTransport
            };
            (Err(AuthError::Transport(e)), outcome, None)
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return transport(e),
        };
        let status = response.status();
        let server_wait = retry_after(response.headers(), self.clock.wall());
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => return transport(e),
        };
        let outcome = Outcome::Response(status);
        if status.is_success() {
            let token = serde_json::from_slice(&body)
                .map_err(|e| AuthError::InvalidResponse(format!("{e}")));
            return (token, outcome, None);
        }
        let error = match serde_json::from_slice::<OAuthErrorBody>(&body) {
            Ok(e) => AuthError::OAuth {
                status: status.as_u16(),
                code: e.error,
                description: e.error_description,
            },
            Err(_) => AuthError::OAuth {
                status: status.as_u16(),
                code: format!("http_{}", status.as_u16()),
                description: None,
            },
        };
        (Err(error), outcome, server_wait)
    }
}
