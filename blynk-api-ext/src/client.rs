//! The configured client: where (region or URL), who (token or OAuth2 client), how patient
//! (timeouts, retries). Built once, cheap to clone, `Send + Sync`.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use blynk_api::hooks::Hooks;

use crate::auth::{Auth, OAuth, Secret, bearer};
use crate::clock::{Clock, SystemClock};
use crate::engine::{Engine, Shared};
use crate::error::BuildError;
use crate::observe::{Observer, Observers};
use crate::pacing::{Pacer, Pacing};
use crate::retry::RetryConfig;

/// A Blynk.Cloud region. Blynk asks users to set theirs explicitly; requests to the wrong one may
/// be redirected, which the client reports as [`Error::Redirected`](crate::Error::Redirected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Region {
    /// `blynk.cloud`, the default.
    #[default]
    Global,
    /// `fra1.blynk.cloud` (Frankfurt).
    Fra1,
    /// `lon1.blynk.cloud` (London).
    Lon1,
    /// `ny3.blynk.cloud` (New York).
    Ny3,
    /// `sgp1.blynk.cloud` (Singapore).
    Sgp1,
    /// `blr1.blynk.cloud` (Bangalore).
    Blr1,
}

impl Region {
    /// Every region.
    pub const ALL: [Region; 6] = [
        Region::Global,
        Region::Fra1,
        Region::Lon1,
        Region::Ny3,
        Region::Sgp1,
        Region::Blr1,
    ];

    /// The host name of the region.
    ///
    /// ```
    /// assert_eq!(blynk_api_ext::Region::Fra1.host(), "fra1.blynk.cloud");
    /// ```
    pub fn host(self) -> &'static str {
        match self {
            Region::Global => "blynk.cloud",
            Region::Fra1 => "fra1.blynk.cloud",
            Region::Lon1 => "lon1.blynk.cloud",
            Region::Ny3 => "ny3.blynk.cloud",
            Region::Sgp1 => "sgp1.blynk.cloud",
            Region::Blr1 => "blr1.blynk.cloud",
        }
    }

    /// The region's base URL, `https://<host>`.
    pub fn base_url(self) -> String {
        format!("https://{}", self.host())
    }
}

impl std::str::FromStr for Region {
    type Err = String;

    /// Parses `global`/`blynk.cloud`, or a region code (`fra1`) or host (`fra1.blynk.cloud`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        if wanted == "global" || wanted == "default" {
            return Ok(Region::Global);
        }
        Region::ALL
            .into_iter()
            .find(|r| r.host() == wanted || r.host().split('.').next() == Some(wanted.as_str()))
            .ok_or_else(|| {
                format!("unknown region `{s}`; expected one of global, fra1, lon1, ny3, sgp1, blr1")
            })
    }
}

/// The default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default timeout of one attempt, body included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The `User-Agent` the client sends.
pub const USER_AGENT: &str = concat!("blynk-rs/", env!("CARGO_PKG_VERSION"));

/// The Blynk Platform API client. Cheap to clone (an `Arc` inside); clones share the connection
/// pool, the token and its renewal.
///
/// # Example
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use blynk_api_ext::{Blynk, Region};
///
/// let blynk = Blynk::builder()
///     .region(Region::Fra1)
///     .client_credentials("my-client-id", "my-client-secret")
///     .build()?;
/// blynk.set_value(101, 1, 22.5).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Blynk {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) api: blynk_api::Client,
    pub(crate) engine: Arc<Engine>,
    pub(crate) base_url: String,
    http: reqwest::Client,
}

impl fmt::Debug for Blynk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let engine = &self.inner.engine;
        f.debug_struct("Blynk")
            .field("base_url", &self.inner.base_url)
            .field("auth", &engine.shared.auth)
            .field("retry", &engine.retry)
            .field("timeout", &engine.timeout)
            .field("observer", &engine.shared.observer)
            .finish_non_exhaustive()
    }
}

impl Blynk {
    /// A builder, defaulting to [`Region::Global`], standard retries and the system clock.
    pub fn builder() -> BlynkBuilder {
        BlynkBuilder::default()
    }

    /// The generated client, for anything these wrappers do not cover. Authentication, retries
    /// and tracing apply to it too.
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> Result<(), Box<dyn std::error::Error>> {
    /// let page = blynk
    ///     .api()
    ///     .get_device_data_stream_history()
    ///     .device_id(101)
    ///     .data_stream_id(1)
    ///     .from(0)
    ///     .to(1_700_000_000_000i64)
    ///     .send()
    ///     .await?;
    /// # let _ = page; Ok(()) }
    /// ```
    pub fn api(&self) -> &blynk_api::Client {
        &self.inner.api
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// How many token requests this client has made (always 0 with a static token).
    pub fn token_requests(&self) -> u64 {
        self.inner.engine.shared.auth.token_requests()
    }

    /// Tokens left in the client-wide retry budget, or `None` without a budget
    /// ([`Pacing::retry_budget`]).
    pub fn retry_budget_left(&self) -> Option<u32> {
        self.inner.engine.shared.pacer.budget_left()
    }

    /// The adaptive request rate in force (requests per second), once 429s have switched it on;
    /// `None` before (or with the adaptive rate off).
    pub fn adaptive_rate(&self) -> Option<f64> {
        self.inner.engine.shared.pacer.current_rate()
    }

    /// A clone of this client with another retry policy, for one call or a few. It shares
    /// everything else (connections, token, pacing, retry budget, observer); making it costs a
    /// few small allocations.
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> blynk_api_ext::Result<()> {
    /// use blynk_api_ext::RetryConfig;
    ///
    /// // This write must not be retried on server errors, whatever the client's policy.
    /// blynk.with_retry(RetryConfig::disabled()).set_value(101, 1, 0).await?;
    /// # Ok(()) }
    /// ```
    pub fn with_retry(&self, retry: RetryConfig) -> Blynk {
        self.with_engine(retry, self.inner.engine.timeout)
    }

    /// A clone of this client whose attempts time out after `timeout` (instead of the
    /// configured request timeout), sharing everything else, like [`with_retry`](Self::with_retry).
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> blynk_api_ext::Result<()> {
    /// use std::time::Duration;
    ///
    /// let values = blynk.with_timeout(Duration::from_secs(2)).device_values(101).await?;
    /// # let _ = values; Ok(()) }
    /// ```
    pub fn with_timeout(&self, timeout: Duration) -> Blynk {
        self.with_engine(self.inner.engine.retry.clone(), Some(timeout))
    }

    fn with_engine(&self, retry: RetryConfig, timeout: Option<Duration>) -> Blynk {
        let engine = Arc::new(Engine::new(
            self.inner.engine.shared.clone(),
            retry,
            timeout,
        ));
        let api = blynk_api::Client::new_with_client(
            &self.inner.base_url,
            self.inner.http.clone(),
            Hooks::with_shared(engine.clone()),
        );
        Blynk {
            inner: Arc::new(Inner {
                api,
                engine,
                base_url: self.inner.base_url.clone(),
                http: self.inner.http.clone(),
            }),
        }
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        self.inner.engine.clock()
    }
}

enum Server {
    Region(Region),
    Url(String),
}

enum Credentials {
    None,
    Token(Secret),
    Client { id: String, secret: Secret },
}

/// Configures a [`Blynk`] client.
///
/// ```
/// use std::time::Duration;
/// use blynk_api_ext::{Blynk, Region, RetryConfig};
///
/// let blynk = Blynk::builder()
///     .region(Region::Lon1)
///     .token("my-token")
///     .request_timeout(Duration::from_secs(10))
///     .retry(RetryConfig::standard().max_attempts(3))
///     .build()?;
/// assert_eq!(blynk.base_url(), "https://lon1.blynk.cloud");
/// assert!(!format!("{blynk:?}").contains("my-token"));
/// # Ok::<(), blynk_api_ext::BuildError>(())
/// ```
pub struct BlynkBuilder {
    server: Server,
    credentials: Credentials,
    connect_timeout: Duration,
    request_timeout: Duration,
    http: Option<reqwest::Client>,
    retry: RetryConfig,
    pacing: Pacing,
    observer: Observers,
    allow_insecure_http: bool,
    clock: Arc<dyn Clock>,
}

impl Default for BlynkBuilder {
    fn default() -> Self {
        Self {
            server: Server::Region(Region::Global),
            credentials: Credentials::None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            http: None,
            retry: RetryConfig::standard(),
            pacing: Pacing::adaptive(),
            observer: Observers::default(),
            allow_insecure_http: false,
            clock: Arc::new(SystemClock),
        }
    }
}

impl fmt::Debug for BlynkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let server = match &self.server {
            Server::Region(r) => r.base_url(),
            Server::Url(u) => u.clone(),
        };
        let credentials = match &self.credentials {
            Credentials::None => "none".to_string(),
            Credentials::Token(_) => "token(***)".to_string(),
            Credentials::Client { id, .. } => format!("client_credentials({id}, ***)"),
        };
        f.debug_struct("BlynkBuilder")
            .field("server", &server)
            .field("credentials", &credentials)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .field("pacing", &self.pacing)
            .field("observer", &self.observer)
            .finish_non_exhaustive()
    }
}

impl BlynkBuilder {
    /// Talk to a Blynk.Cloud region.
    pub fn region(mut self, region: Region) -> Self {
        self.server = Server::Region(region);
        self
    }

    /// Talk to this base URL (a private server, a simulator, a test server). Plain `http` is
    /// accepted for loopback addresses only, unless [`allow_insecure_http`](Self::allow_insecure_http).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.server = Server::Url(url.into());
        self
    }

    /// Authenticate with a bearer token obtained elsewhere.
    pub fn token(mut self, token: impl Into<Secret>) -> Self {
        self.credentials = Credentials::Token(token.into());
        self
    }

    /// Authenticate with OAuth2 client credentials; tokens are obtained and renewed automatically.
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
    ) -> Self {
        self.credentials = Credentials::Client {
            id: client_id.into(),
            secret: client_secret.into(),
        };
        self
    }

    /// Time allowed to establish a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for one attempt, response body included (default 30 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Use this `reqwest::Client` (its timeouts, proxy, TLS and redirect settings then apply
    /// instead of this builder's; reqwest's default redirect policy also drops `Authorization`
    /// on a redirect to another host).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The retry policy (default [`RetryConfig::standard`]).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// The client-wide pacing and retry budget (default [`Pacing::adaptive`]: adaptive rate,
    /// no ceiling, a budget of 500 tokens).
    pub fn pacing(mut self, pacing: Pacing) -> Self {
        self.pacing = pacing;
        self
    }

    /// Receives every attempt of every request ([`Observer`]); none by default.
    pub fn observer(mut self, observer: impl Observer) -> Self {
        self.observer = Observers::new(observer);
        self
    }

    /// Allow plain `http` to hosts that are not loopback. Tokens then travel unencrypted.
    pub fn allow_insecure_http(mut self) -> Self {
        self.allow_insecure_http = true;
        self
    }

    /// The clock used for token expiry and retry waits (default: the system clock). Tests pass a
    /// [`ManualClock`](crate::clock::ManualClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Blynk, BuildError> {
        let raw = match &self.server {
            Server::Region(region) => region.base_url(),
            Server::Url(url) => url.clone(),
        };
        let base_url = check_url(&raw, self.allow_insecure_http)?;
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .user_agent(USER_AGENT)
                .connect_timeout(self.connect_timeout)
                .timeout(self.request_timeout)
                .redirect(same_origin_redirects())
                .build()
                .map_err(BuildError::Http)?,
        };
        let auth =
            match self.credentials {
                Credentials::None => return Err(BuildError::MissingCredentials),
                Credentials::Token(token) => Auth::Static(
                    bearer(token.expose()).ok_or(BuildError::InvalidCredential("token"))?,
                ),
                Credentials::Client { id, secret } => {
                    if reqwest::header::HeaderValue::from_str(&id).is_err() {
                        return Err(BuildError::InvalidCredential("client id"));
                    }
                    let endpoint = reqwest::Url::parse(&format!("{base_url}/oauth2/token"))
                        .map_err(|e| BuildError::InvalidUrl {
                            url: raw.clone(),
                            reason: e.to_string(),
                        })?;
                    Auth::OAuth(Box::new(OAuth::new(
                        endpoint,
                        id,
                        secret,
                        http.clone(),
                        self.clock.clone(),
                        self.retry.clone(),
                    )))
                }
            };
        let shared = Arc::new(Shared {
            auth,
            pacer: Pacer::new(self.pacing, self.clock.now(), self.retry.max_elapsed_time()),
            clock: self.clock,
            observer: self.observer,
        });
        let engine = Arc::new(Engine::new(shared, self.retry, None));
        let api = blynk_api::Client::new_with_client(
            &base_url,
            http.clone(),
            Hooks::with_shared(engine.clone()),
        );
        Ok(Blynk {
            inner: Arc::new(Inner {
                api,
                engine,
                base_url,
                http,
            }),
        })
    }
}

/// Follows redirects within the same scheme, host and port (at most 5); stops at any other, so
/// the `Authorization` header never reaches another host. The 3xx then reaches the caller as
/// [`Error::Redirected`].
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if !same_origin {
            attempt.stop()
        } else if attempt.previous().len() > 5 {
            attempt.error("more than 5 redirects")
        } else {
            attempt.follow()
        }
    })
}

/// Validates the base URL: http(s), a host, no credentials, query or fragment, and https unless
/// the host is loopback or insecure http was allowed. Returns it without a trailing slash.
fn check_url(raw: &str, allow_insecure_http: bool) -> Result<String, BuildError> {
    let invalid = |reason: &str| BuildError::InvalidUrl {
        url: raw.to_string(),
        reason: reason.to_string(),
    };
    let url = reqwest::Url::parse(raw).map_err(|e| invalid(&e.to_string()))?;
    let host = url
        .host_str()
        .ok_or_else(|| invalid("no host"))?
        .to_string();
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials do not belong in the URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a base URL has no query or fragment"));
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure_http || is_loopback(&host) => {}
        "http" => return Err(BuildError::InsecureUrl { host }),
        other => return Err(invalid(&format!("scheme `{other}` is not http(s)"))),
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_required_off_loopback() {
        assert!(matches!(
            check_url("http://blynk.example.com", false),
            Err(BuildError::InsecureUrl { .. })
        ));
        assert!(check_url("http://blynk.example.com", true).is_ok());
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
            "https://fra1.blynk.cloud/",
        ] {
            assert!(check_url(ok, false).is_ok(), "{ok}");
        }
        assert_eq!(
            check_url("https://fra1.blynk.cloud/", false).unwrap(),
            "https://fra1.blynk.cloud"
        );
    }

    #[test]
    fn urls_with_secrets_or_junk_are_refused() {
        for bad in [
            "https://user:pw@blynk.cloud",
            "https://blynk.cloud?token=x",
            "ftp://blynk.cloud",
            "not a url",
        ] {
            assert!(
                matches!(check_url(bad, false), Err(BuildError::InvalidUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn regions_parse_from_code_or_host() {
        assert_eq!("fra1".parse::<Region>(), Ok(Region::Fra1));
        assert_eq!("SGP1.blynk.cloud".parse::<Region>(), Ok(Region::Sgp1));
        assert_eq!("blynk.cloud".parse::<Region>(), Ok(Region::Global));
        assert!("mars1".parse::<Region>().is_err());
    }
}
