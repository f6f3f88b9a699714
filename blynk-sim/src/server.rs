//! The HTTP layer: reads the request, applies faults, dispatches to the rules in `state.rs`,
//! logs the exchange and encodes the answer.

use std::sync::{Arc, Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

use crate::faults::{Decision, FaultState, Faults};
use crate::state::{Answer, MAX_BODY_BYTES, Org, Query};

/// One request the simulator received, and what it answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedRequest {
    /// The operation, when the path and method are one of the API's (`getDeviceDataStreamsV2`,
    /// ...), or `oauth2Token`.
    pub operation: Option<&'static str>,
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query pairs, decoded, in order.
    pub query: Vec<(String, String)>,
    /// The JSON body, if there was one and it parsed.
    pub body: Option<Value>,
    /// Status answered.
    pub status: u16,
    /// JSON body answered, if any.
    pub response: Option<Value>,
    /// Whether the answer came from fault injection rather than the API's rules.
    pub injected: bool,
}

pub(crate) struct Shared {
    pub(crate) org: Mutex<Org>,
    pub(crate) faults: Mutex<FaultState>,
    pub(crate) log: Mutex<Vec<LoggedRequest>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The API's operations by method and path.
pub(crate) fn operation_of(method: &Method, path: &str) -> Option<&'static str> {
    Some(match (method.as_str(), path) {
        ("GET", "/api/v2/organization/device/datastreams") => "getDeviceDataStreamsV2",
        ("GET", "/api/v1/organization/device/datastreams/batch") => "getBatchDeviceDataStreams",
        ("GET", "/api/v1/organization/device/datastream/history") => "getDeviceDataStreamHistory",
        ("POST", "/api/v1/organization/device/datastream") => "updateDeviceDataStream",
        ("POST", "/api/v1/organization/device/datastreams") => "updateMultipleDeviceDataStreams",
        ("POST", "/api/v1/organization/product/devices/batch-update") => {
            "batchUpdateDeviceDataStreams"
        }
        ("POST", "/api/v1/organization/device/import/batch") => "importDeviceBatchData",
        ("POST", "/api/v1/organization/device/datastream/property") => {
            "updateDeviceDataStreamProperty"
        }
        ("POST", "/oauth2/token") => "oauth2Token",
        _ => return None,
    })
}

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn parse_pairs(s: &str) -> Query {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

fn basic_auth(value: Option<&HeaderValue>) -> Option<(String, String)> {
    let encoded = value?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let query = parse_pairs(parts.uri.query().unwrap_or(""));
    let operation = operation_of(&parts.method, &path);

    if path == "/__sim/faults" && parts.method == Method::PUT {
        return admin_faults(&shared, body).await;
    }
    if path == "/__sim/requests" && parts.method == Method::GET {
        let log = lock(&shared.log).clone();
        return json_response(200, &serde_json::to_value(log).unwrap_or_default(), None);
    }

    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES + 1).await {
        Ok(b) if b.len() <= MAX_BODY_BYTES => b,
        _ => {
            let answer = Answer::error(400, "Request body is larger than the 2 MB limit");
            return finish(
                &shared,
                operation,
                &parts.method,
                path,
                query,
                None,
                answer,
                false,
                false,
            );
        }
    };
    let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();

    let is_api = operation.is_some_and(|op| op != "oauth2Token");
    let (decision, latency) = if is_api {
        let mut faults = lock(&shared.faults);
        (faults.decide(), faults.latency())
    } else {
        (
            Decision::Serve { truncate: false },
            std::time::Duration::ZERO,
        )
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let answer = match decision {
        Decision::RateLimited { retry_after_secs } => Answer {
            status: 429,
            body: None,
            retry_after: retry_after_secs,
        },
        Decision::ServerError => Answer::error(500, "Injected server error"),
        Decision::Drop => {
            log(
                &shared,
                operation,
                &parts.method,
                path,
                query,
                parsed,
                0,
                None,
                true,
            );
            return dropped();
        }
        Decision::Serve { .. } => dispatch(
            &shared,
            operation,
            &parts.headers,
            &query,
            &bytes,
            parsed.as_ref(),
        ),
    };
    let injected = !matches!(decision, Decision::Serve { .. });
    let truncate = matches!(decision, Decision::Serve { truncate: true });
    finish(
        &shared,
        operation,
        &parts.method,
        path,
        query,
        parsed,
        answer,
        injected,
        truncate,
    )
}

fn dispatch(
    shared: &Shared,
    operation: Option<&'static str>,
    headers: &axum::http::HeaderMap,
    query: &Query,
    bytes: &Bytes,
    body: Option<&Value>,
) -> Answer {
    let Some(operation) = operation else {
        return Answer::error(404, "No such endpoint");
    };
    let mut org = lock(&shared.org);
    if operation == "oauth2Token" {
        // grant_type and refresh_token from the query or a form body.
        let mut params = query.clone();
        if let Ok(text) = std::str::from_utf8(bytes) {
            params.extend(parse_pairs(text));
        }
        let get = |k: &str| {
            params
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let client = basic_auth(headers.get(header::AUTHORIZATION));
        return org.token(client, get("grant_type"), get("refresh_token"));
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let principal = match org.authenticate(authorization) {
        Ok(p) => p,
        Err(answer) => return answer,
    };
    let needs_body = operation.starts_with("update")
        || operation == "batchUpdateDeviceDataStreams"
        || operation == "importDeviceBatchData";
    let empty = Value::Null;
    let body = match body {
        Some(b) => b,
        None if needs_body => return Answer::error(400, "The request body is not valid JSON"),
        None => &empty,
    };
    let result = match operation {
        "getDeviceDataStreamsV2" => org.get_values(&principal, query),
        "getBatchDeviceDataStreams" => org.get_batch(&principal, query),
        "getDeviceDataStreamHistory" => org.get_history(&principal, query),
        "updateDeviceDataStream" => org.update_one(&principal, body),
        "updateMultipleDeviceDataStreams" => org.update_many(&principal, body),
        "batchUpdateDeviceDataStreams" => org.batch_update(&principal, body),
        "importDeviceBatchData" => org.import(&principal, body),
        "updateDeviceDataStreamProperty" => org.property(&principal, body),
        _ => Err(Answer::error(404, "No such endpoint")),
    };
    result.unwrap_or_else(|answer| answer)
}

#[allow(clippy::too_many_arguments)]
fn log(
    shared: &Shared,
    operation: Option<&'static str>,
    method: &Method,
    path: String,
    query: Query,
    body: Option<Value>,
    status: u16,
    response: Option<Value>,
    injected: bool,
) {
    lock(&shared.log).push(LoggedRequest {
        operation,
        method: method.to_string(),
        path,
        query,
        body,
        status,
        response,
        injected,
    });
}

#[allow(clippy::too_many_arguments)]
fn finish(
    shared: &Shared,
    operation: Option<&'static str>,
    method: &Method,
    path: String,
    query: Query,
    body: Option<Value>,
    answer: Answer,
    injected: bool,
    truncate: bool,
) -> Response {
    log(
        shared,
        operation,
        method,
        path,
        query,
        body,
        answer.status,
        answer.body.clone(),
        injected,
    );
    match (&answer.body, truncate) {
        (Some(json), true) => truncated(answer.status, json),
        (Some(json), false) => json_response(answer.status, json, answer.retry_after),
        (None, _) => {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = status(answer.status);
            if let Some(secs) = answer.retry_after
                && let Ok(v) = HeaderValue::from_str(&secs.to_string())
            {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn json_response(code: u16, json: &Value, retry_after: Option<u64>) -> Response {
    let mut response = Response::new(Body::from(serde_json::to_vec(json).unwrap_or_default()));
    *response.status_mut() = status(code);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(secs) = retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// Announces the whole body, sends half of it, then breaks the connection.
fn truncated(code: u16, json: &Value) -> Response {
    let bytes = serde_json::to_vec(json).unwrap_or_default();
    let full = bytes.len();
    let half = Bytes::from(bytes[..full / 2].to_vec());
    // The pause lets the status line, headers and first half reach the client before the break.
    let stream = futures::StreamExt::chain(
        futures::stream::iter(vec![Ok::<_, std::io::Error>(half)]),
        futures::stream::once(async {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            Err(std::io::Error::other("injected truncation"))
        }),
    );
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status(code);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&full.to_string()) {
        headers.insert(header::CONTENT_LENGTH, v);
    }
    response
}

/// Breaks the connection before a complete response.
fn dropped() -> Response {
    let stream = futures::stream::iter(vec![Err::<Bytes, _>(std::io::Error::other(
        "injected dropped connection",
    ))]);
    let mut response = Response::new(Body::from_stream(stream));
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("64"));
    response
}

async fn admin_faults(shared: &Shared, body: Body) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return json_response(
            400,
            &serde_json::json!({"error": {"message": "body too large"}}),
            None,
        );
    };
    match serde_json::from_slice::<Faults>(&bytes) {
        Ok(faults) => {
            *lock(&shared.faults) = FaultState::new(faults);
            Response::new(Body::empty())
        }
        Err(e) => json_response(
            400,
            &serde_json::json!({"error": {"message": e.to_string()}}),
            None,
        ),
    }
}
