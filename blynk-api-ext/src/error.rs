//! The errors of the client: one [`Error`] type for every operation, [`BuildError`] for
//! configuration and [`AuthError`] for obtaining tokens.
//!
//! Every [`Error`] variant names the operation: the entry of the operation table
//! ([`blynk_api::operations`]) whose `operationId` (e.g. `getBatchDeviceDataStreams`) is displayed,
//! the same identity the tracing spans carry, so that a log line says what failed. No variant carries a token, a client secret or a URL with a
//! secret in it: the client never puts secrets in URLs, and tokens never enter error text.

use std::time::Duration;

use blynk_api::operations::Operation;
use blynk_api::types::ErrorResponse;

use crate::engine::CallRecord;

/// The result type of the client's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an operation failed.
///
/// Match on the variant to decide what to do; [`Error::is_retryable`] says whether trying again
/// later may succeed (the client has already retried what its [`RetryConfig`](crate::RetryConfig)
/// allows).
///
/// ```no_run
/// # async fn run(blynk: blynk_api_ext::Blynk) {
/// use blynk_api_ext::Error;
///
/// match blynk.set_value(101, 1, 22.5).await {
///     Ok(()) => {}
///     Err(Error::NotFound { message, .. }) => eprintln!("no such device: {message}"),
///     Err(Error::RateLimited { retry_after, .. }) => eprintln!("slow down; retry after {retry_after:?}"),
///     Err(e) if e.is_retryable() => eprintln!("try again later: {e}"),
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input was refused before any request was sent.
    #[error("{operation}: invalid {field}: {reason}")]
    InvalidInput {
        /// The operation that was called.
        operation: &'static Operation,
        /// The argument or field at fault, e.g. `size` or `values[3].value`.
        field: String,
        /// What is wrong with it and which limit applies.
        reason: String,
    },
    /// The server refused the credentials (401), even after one token refresh where possible.
    #[error("{operation}: unauthorized (401){}", detail(message))]
    Unauthorized {
        /// The operation that was called.
        operation: &'static Operation,
        /// The server's message, if it sent one.
        message: Option<String>,
    },
    /// No token could be obtained for the request.
    #[error("{operation}: could not authenticate: {source}")]
    Auth {
        /// The operation that was called.
        operation: &'static Operation,
        /// Why the token request failed.
        source: AuthError,
    },
    /// The credentials lack the permission the operation needs (403).
    #[error("{operation}: forbidden (403): the token lacks the permission this operation needs")]
    Forbidden {
        /// The operation that was called.
        operation: &'static Operation,
    },
    /// The device, datastream or property does not exist or is not visible to the token (404).
    #[error("{operation}: not found (404): {message}")]
    NotFound {
        /// The operation that was called.
        operation: &'static Operation,
        /// The server's message.
        message: String,
    },
    /// The server refused the request (400).
    #[error("{operation}: bad request (400): {message}")]
    BadRequest {
        /// The operation that was called.
        operation: &'static Operation,
        /// The server's message.
        message: String,
    },
    /// Too many requests (429), after the retries the policy allows.
    #[error("{operation}: rate limited (429){}", retry_hint(retry_after))]
    RateLimited {
        /// The operation that was called.
        operation: &'static Operation,
        /// How long the server asked to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// The server failed (5xx).
    #[error("{operation}: server error ({status}){}", detail(message))]
    Server {
        /// The operation that was called.
        operation: &'static Operation,
        /// The HTTP status.
        status: u16,
        /// The server's message, if the body had one.
        message: Option<String>,
    },
    /// The server redirected to another host, which usually means the wrong region. The client
    /// does not follow such redirects, so the token never reaches another host.
    #[error(
        "{operation}: redirected ({status}) to another host{}: set the server or region the \
         account lives in",
        location.as_deref().map(|l| format!(" ({l})")).unwrap_or_default()
    )]
    Redirected {
        /// The operation that was called.
        operation: &'static Operation,
        /// The HTTP status (301, 302, 307 or 308).
        status: u16,
        /// Where the server pointed.
        location: Option<String>,
    },
    /// A status the API does not document for this operation.
    #[error("{operation}: unexpected status {status}")]
    UnexpectedStatus {
        /// The operation that was called.
        operation: &'static Operation,
        /// The HTTP status.
        status: u16,
        /// The start of the body, for diagnosis.
        body: String,
    },
    /// The request did not complete: connection, TLS, timeout, or the body broke off.
    #[error("{operation}: {}: {source}", if *timeout { "timed out" } else { "transport error" })]
    Transport {
        /// The operation that was called.
        operation: &'static Operation,
        /// Whether a connect or request timeout expired.
        timeout: bool,
        /// The underlying error.
        source: reqwest::Error,
    },
    /// Writing the output (CSV, say) failed.
    #[error("{operation}: could not write the output: {source}")]
    Io {
        /// The operation that was called.
        operation: &'static Operation,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A success response whose body does not match the API document.
    #[error("{operation}: could not decode the response: {message}")]
    Decode {
        /// The operation that was called.
        operation: &'static Operation,
        /// What did not match.
        message: String,
    },
}

fn detail(message: &Option<String>) -> String {
    message
        .as_deref()
        .map(|m| format!(": {m}"))
        .unwrap_or_default()
}

fn retry_hint(retry_after: &Option<Duration>) -> String {
    retry_after
        .map(|d| format!(": retry after {} s", d.as_secs_f64()))
        .unwrap_or_default()
}

impl Error {
    /// The operation that failed: its entry in the operation table. It displays as its
    /// `operationId` and compares equal to it (`err.operation() == "importDeviceBatchData"`).
    pub fn operation(&self) -> &'static Operation {
        match self {
            Self::InvalidInput { operation, .. }
            | Self::Unauthorized { operation, .. }
            | Self::Auth { operation, .. }
            | Self::Forbidden { operation }
            | Self::NotFound { operation, .. }
            | Self::BadRequest { operation, .. }
            | Self::RateLimited { operation, .. }
            | Self::Server { operation, .. }
            | Self::Redirected { operation, .. }
            | Self::UnexpectedStatus { operation, .. }
            | Self::Transport { operation, .. }
            | Self::Io { operation, .. }
            | Self::Decode { operation, .. } => operation,
        }
    }

    /// Whether the same call may succeed later: rate limiting, a gateway or availability error
    /// (502, 503, 504), a 500 to a read (a write may have been applied before failing), a
    /// transport failure, or a token endpoint that was unreachable or temporarily unavailable
    /// ([`AuthError::is_retryable`]).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Transport { .. } => true,
            Self::Server {
                status, operation, ..
            } => matches!(status, 502..=504) || (*status == 500 && operation.is_read()),
            Self::Auth { source, .. } => source.is_retryable(),
            _ => false,
        }
    }

    /// The HTTP status behind the error, if there was a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { .. } => Some(401),
            Self::Forbidden { .. } => Some(403),
            Self::NotFound { .. } => Some(404),
            Self::BadRequest { .. } => Some(400),
            Self::RateLimited { .. } => Some(429),
            Self::Server { status, .. }
            | Self::Redirected { status, .. }
            | Self::UnexpectedStatus { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn invalid(
        operation: &'static Operation,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self::InvalidInput {
            operation,
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Why a token could not be obtained from `/oauth2/token`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The token endpoint refused the credentials or the grant.
    #[error("token endpoint answered {status} {code}{}", detail(description))]
    OAuth {
        /// The HTTP status.
        status: u16,
        /// The OAuth error code (`invalid_client`, `invalid_grant`, ...).
        code: String,
        /// The endpoint's description, if any.
        description: Option<String>,
    },
    /// The token endpoint could not be reached.
    #[error("token request failed: {0}")]
    Transport(reqwest::Error),
    /// The token endpoint answered something that is not a token.
    #[error("token endpoint answered an unreadable response: {0}")]
    InvalidResponse(String),
    /// A token could not be attached to a request made through the generated client.
    #[error("{0}")]
    Other(String),
}

impl AuthError {
    /// Whether the token endpoint may answer later: it could not be reached, or answered 429,
    /// 500, 502, 503 or 504 (the client has already retried those as its retry policy allows).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::OAuth { status, .. } => matches!(status, 429 | 500 | 502..=504),
            _ => false,
        }
    }
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The server address is not a usable URL.
    #[error("invalid server URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Plain `http://` to a host that is not loopback, without `allow_insecure_http`.
    #[error(
        "refusing plain http to {host}: tokens would travel unencrypted; use https, or call \
         allow_insecure_http() if this is intended"
    )]
    InsecureUrl {
        /// The host.
        host: String,
    },
    /// Neither a token nor client credentials were configured.
    #[error("no credentials: call token(..) or client_credentials(..) on the builder")]
    MissingCredentials,
    /// The token or client id cannot be sent in an HTTP header.
    #[error("the {0} holds characters that cannot be sent in an HTTP header")]
    InvalidCredential(&'static str),
    /// The HTTP client could not be built (TLS initialisation, for instance).
    #[error("could not build the HTTP client: {0}")]
    Http(reqwest::Error),
}

/// Maps an error of the generated client into an [`Error`] for `operation`, with what the engine
/// recorded about the call (the typed token failure, the `Retry-After` it parsed).
pub(crate) async fn from_api(
    operation: &'static Operation,
    error: blynk_api::Error<ErrorResponse>,
    record: CallRecord,
) -> Error {
    use blynk_api::Error as E;
    match error {
        E::InvalidRequest(reason) => Error::invalid(operation, "request", reason),
        E::CommunicationError(source)
        | E::ResponseBodyError(source)
        | E::InvalidUpgrade(source) => Error::Transport {
            operation,
            timeout: source.is_timeout(),
            source,
        },
        E::ErrorResponse(body) => {
            let status = body.status().as_u16();
            let message = body.into_inner().error.message;
            from_status(operation, status, Some(message), None, None)
        }
        E::InvalidResponsePayload(bytes, e) => Error::Decode {
            operation,
            message: format!("{e} (body starts: {})", excerpt(&bytes)),
        },
        E::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            let retry_after = record.retry_after;
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = response.bytes().await.unwrap_or_default();
            let message = serde_json::from_slice::<ErrorResponse>(&body)
                .ok()
                .map(|e| e.error.message);
            match from_status(operation, status, message, retry_after, location) {
                Error::UnexpectedStatus {
                    operation, status, ..
                } => Error::UnexpectedStatus {
                    operation,
                    status,
                    body: excerpt(&body),
                },
                other => other,
            }
        }
        E::Custom(message) => Error::Auth {
            operation,
            source: record.auth.unwrap_or(AuthError::Other(message)),
        },
    }
}

fn from_status(
    operation: &'static Operation,
    status: u16,
    message: Option<String>,
    retry_after: Option<Duration>,
    location: Option<String>,
) -> Error {
    match status {
        400 => Error::BadRequest {
            operation,
            message: message.unwrap_or_default(),
        },
        401 => Error::Unauthorized { operation, message },
        403 => Error::Forbidden { operation },
        404 => Error::NotFound {
            operation,
            message: message.unwrap_or_default(),
        },
        429 => Error::RateLimited {
            operation,
            retry_after,
        },
        301 | 302 | 303 | 307 | 308 => Error::Redirected {
            operation,
            status,
            location,
        },
        500..=599 => Error::Server {
            operation,
            status,
            message,
        },
        _ => Error::UnexpectedStatus {
            operation,
            status,
            body: String::new(),
        },
    }
}

/// The first 200 characters of a body, lossily decoded.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(800)]);
    text.chars().take(200).collect()
}
