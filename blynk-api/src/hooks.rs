//! The one seam through which hand-written layers act on every request of the generated client.
//!
//! Progenitor calls `pre`, `exec` and `post` of [`progenitor_client::ClientHooks`] around each request.
//! The generated [`Client`](crate::Client) carries a [`Hooks`] value and delegates to the
//! [`Interceptor`] inside it, so authentication, retries and tracing (added by `blynk-api-ext`) apply to
//! calls made through the generated client too, with a single HTTP stack. Without an interceptor,
//! requests go out unchanged.
//!
//! The hooks also make every request say `Accept: application/json`: the API answers JSON only, and
//! this keeps the header progenitor would send even for batch-update, whose successes the build
//! script declares as raw bodies (see `build/adapt.rs`, `raw-mixed-success-bodies`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};

/// A boxed, sendable future, as [`Interceptor`] methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Acts on every request the generated client sends.
///
/// `operation` is progenitor's snake-case operation name, e.g. `get_batch_device_data_streams`.
///
/// # Example
///
/// ```
/// use blynk_api::hooks::{BoxFuture, Hooks, Interceptor};
///
/// /// Adds a fixed header to every request.
/// struct Tag;
///
/// impl Interceptor for Tag {
///     fn before<'a>(
///         &'a self,
///         request: &'a mut reqwest::Request,
///         _operation: &'a str,
///     ) -> BoxFuture<'a, Result<(), String>> {
///         request
///             .headers_mut()
///             .insert("x-tag", reqwest::header::HeaderValue::from_static("demo"));
///         Box::pin(async { Ok(()) })
///     }
/// }
///
/// let client = blynk_api::Client::new("http://127.0.0.1:1", Hooks::with_interceptor(Tag));
/// # let _ = client;
/// ```
pub trait Interceptor: Send + Sync + 'static {
    /// Runs before the request is sent and may change it (add `Authorization`, say). An error
    /// aborts the call with [`Error::Custom`] carrying the message; it must not contain secrets.
    fn before<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        operation: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        let _ = (request, operation);
        Box::pin(async { Ok(()) })
    }

    /// Sends the request. The default sends it once; an implementation may retry (with
    /// [`reqwest::Request::try_clone`]) or refresh credentials between attempts.
    fn send<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        operation: &'a str,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>> {
        let _ = operation;
        Box::pin(client.execute(request))
    }
}

/// The state the generated [`Client`](crate::Client) carries for its hooks: an optional
/// [`Interceptor`]. Cheap to clone.
///
/// # Example
///
/// ```
/// let client = blynk_api::Client::new("http://127.0.0.1:1", blynk_api::hooks::Hooks::none());
/// # let _ = client;
/// ```
#[derive(Clone, Default)]
pub struct Hooks {
    interceptor: Option<Arc<dyn Interceptor>>,
}

impl Hooks {
    /// No interceptor: requests go out as generated (plus `Accept: application/json`).
    pub fn none() -> Self {
        Self::default()
    }

    /// Routes every request through `interceptor`.
    pub fn with_interceptor(interceptor: impl Interceptor) -> Self {
        Self {
            interceptor: Some(Arc::new(interceptor)),
        }
    }

    /// Sends `Authorization: Bearer <token>` with every request: the simplest way to authenticate
    /// the generated client with a token obtained elsewhere. `blynk-api-ext` adds OAuth2 client
    /// credentials with refresh.
    ///
    /// The token is marked sensitive and never appears in `Debug` output. A token that cannot be a
    /// header value (control characters, say) is rejected here, before any request is built.
    ///
    /// ```
    /// use blynk_api::hooks::Hooks;
    ///
    /// let hooks = Hooks::with_bearer_token("my-token")?;
    /// assert!(!format!("{hooks:?}").contains("my-token"));
    /// let client = blynk_api::Client::new("https://blynk.cloud", hooks);
    /// # let _ = client;
    /// # Ok::<(), blynk_api::hooks::InvalidToken>(())
    /// ```
    pub fn with_bearer_token(token: impl AsRef<str>) -> Result<Self, InvalidToken> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.as_ref()))
            .map_err(|_| InvalidToken)?;
        value.set_sensitive(true);
        Ok(Self::with_interceptor(BearerToken { value }))
    }

    /// Routes every request through an already shared interceptor.
    pub fn with_shared(interceptor: Arc<dyn Interceptor>) -> Self {
        Self {
            interceptor: Some(interceptor),
        }
    }
}

/// A token that cannot be sent in an HTTP header (it holds control characters or non-visible
/// bytes). The token itself is not part of the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidToken;

impl fmt::Display for InvalidToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the bearer token holds characters that cannot be sent in an HTTP header")
    }
}

impl std::error::Error for InvalidToken {}

/// Adds a fixed `Authorization` header.
struct BearerToken {
    value: HeaderValue,
}

impl Interceptor for BearerToken {
    fn before<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        _operation: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        request
            .headers_mut()
            .insert(AUTHORIZATION, self.value.clone());
        Box::pin(async { Ok(()) })
    }
}

impl fmt::Debug for Hooks {
    // Interceptors hold credentials; say only whether one is installed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field(
                "interceptor",
                &if self.interceptor.is_some() {
                    "installed"
                } else {
                    "none"
                },
            )
            .finish()
    }
}

impl ClientHooks<Hooks> for crate::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        request
            .headers_mut()
            .entry(ACCEPT)
            .or_insert(HeaderValue::from_static("application/json"));
        if let Some(interceptor) = &self.inner().interceptor {
            interceptor
                .before(request, info.operation_id)
                .await
                .map_err(Error::Custom)?;
        }
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        match &self.inner().interceptor {
            Some(interceptor) => {
                interceptor
                    .send(self.client(), request, info.operation_id)
                    .await
            }
            None => self.client().execute(request).await,
        }
    }
}
