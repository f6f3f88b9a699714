//! The HTTP layer: reads a request, finds its operation in `blynk_api::operations`, counts it,
//! checks it against the document, lets `Prefer: code=`, the fault rules and the global faults have
//! their say, runs the operation's rules, logs the exchange and encodes the answer.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use blynk_api::operations::{self, MAX_REQUEST_BYTES, Operation};
use serde_json::Value;

use crate::answer::{Answer, Wait};
use crate::auth::{TOKEN_OPERATION, TOKEN_PATH, basic_auth, oauth_error};
use crate::clock::Clock;
use crate::counters::Live;
use crate::faults::{Decision, FaultState};
use crate::log::{Entry, Kept, RequestLog, keep};
use crate::ops::{self, Call};
use crate::org::{ImportLimit, Org};
use crate::query::{self, Query, param};
use crate::rules::{Action, RetryAfter, RuleState};
use crate::seed::Seed;
use crate::validate::{self, Violations};
use crate::{admin, lock};

/// Settings fixed at start.
pub(crate) struct Config {
    pub(crate) seed: Seed,
    pub(crate) import_limit: ImportLimit,
    pub(crate) import_visibility_delay: Duration,
    pub(crate) log_body_limit: usize,
    pub(crate) strict: bool,
    pub(crate) validate: bool,
}

pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) clock: Arc<Clock>,
    pub(crate) org: Mutex<Org>,
    pub(crate) faults: Mutex<FaultState>,
    pub(crate) rules: Mutex<RuleState>,
    pub(crate) log: Mutex<RequestLog>,
    pub(crate) live: Live,
    pub(crate) violations: Mutex<Violations>,
}

impl Shared {
    /// A fresh organisation from the seed.
    pub(crate) fn fresh_org(config: &Config, clock: &Arc<Clock>) -> Org {
        let mut org = Org::new(config.seed.clone(), config.import_limit, clock.clone());
        org.import_visibility_delay = config.import_visibility_delay;
        org
    }
}

/// How the answer reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deliver {
    Whole,
    Truncated,
    /// Close the connection instead of answering.
    Dropped,
}

/// What happens to a request once it is read.
enum Plan {
    /// Run the operation's rules, then deliver the answer so.
    Apply(Deliver),
    /// Answer this without running the rules.
    Inject(Answer),
    /// Close the connection without running the rules.
    DropBefore,
}

/// One request as read.
struct Received<'a> {
    operation: Option<&'static str>,
    method: &'a Method,
    path: &'a str,
    query: Query,
    bytes: Bytes,
    json: Option<Value>,
}

pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    if let Some(endpoint) = path.strip_prefix("/__sim/") {
        return admin::handle(&shared, &parts.method, endpoint, body).await;
    }
    let api = operations::route(parts.method.as_str(), path);
    let is_token = parts.method == Method::POST && path == TOKEN_PATH;
    let operation = api.map(|op| op.id).or(is_token.then_some(TOKEN_OPERATION));
    let _in_flight = operation.map(|name| shared.live.enter(name));
    let mut received = Received {
        operation,
        method: &parts.method,
        path,
        query: query::parse(parts.uri.query().unwrap_or("").as_bytes()),
        bytes: Bytes::new(),
        json: None,
    };
    match axum::body::to_bytes(body, MAX_REQUEST_BYTES + 1).await {
        Ok(b) if b.len() <= MAX_REQUEST_BYTES => received.bytes = b,
        _ => {
            let answer = Answer::error(
                400,
                format!(
                    "Request body is larger than the {} MB limit ({MAX_REQUEST_BYTES} bytes)",
                    MAX_REQUEST_BYTES / 1_000_000
                ),
            );
            return finish(&shared, received, api, answer, false, Deliver::Whole);
        }
    }
    received.json = serde_json::from_slice(&received.bytes).ok();

    let Some(op) = api else {
        if !is_token {
            let answer = Answer::error(404, "No such endpoint");
            return finish(&shared, received, None, answer, false, Deliver::Whole);
        }
        // The token endpoint: fault rules for `oauth2Token` apply; global faults do not.
        let action = lock(&shared.rules).decide(TOKEN_OPERATION, &[]);
        let plan = match action {
            Some(action) => plan_of(action, true).await,
            None => Plan::Apply(Deliver::Whole),
        };
        return carry_out(&shared, received, None, plan, |r| {
            token(&shared, &parts.headers, r)
        });
    };

    let violations = if shared.config.validate {
        validate::request(op, &received.query, received.json.as_ref(), &received.bytes)
    } else {
        Vec::new()
    };
    if !violations.is_empty() {
        let first = violations[0].clone();
        lock(&shared.violations).extend(violations);
        if shared.config.strict {
            let answer = Answer::error(400, format!("Strict mode: {}", first.sentence()));
            return finish(&shared, received, api, answer, false, Deliver::Whole);
        }
    }

    let plan = match prefer(op, &parts.headers) {
        Some(Ok(plan)) => plan,
        // A misuse of the simulator, not an answer of the API: not checked against the document.
        Some(Err(answer)) => return finish(&shared, received, api, answer, true, Deliver::Whole),
        None => decide(&shared, op, &received).await,
    };
    carry_out(&shared, received, api, plan, |r| {
        apply(&shared, op, &parts.headers, r)
    })
}

/// Carries out a plan: `run` applies the request when the plan says so.
fn carry_out(
    shared: &Shared,
    received: Received<'_>,
    api: Option<&'static Operation>,
    plan: Plan,
    run: impl FnOnce(&Received<'_>) -> Answer,
) -> Response {
    match plan {
        Plan::Inject(answer) => finish(shared, received, api, answer, true, Deliver::Whole),
        Plan::DropBefore => finish(
            shared,
            received,
            api,
            Answer::bare(0),
            true,
            Deliver::Dropped,
        ),
        Plan::Apply(deliver) => {
            let answer = run(&received);
            let injected = deliver != Deliver::Whole;
            finish(shared, received, api, answer, injected, deliver)
        }
    }
}

/// `Prefer: code=429`: answer that documented status (errors without running the rules; a
/// documented success runs them as usual).
fn prefer(op: &'static Operation, headers: &HeaderMap) -> Option<Result<Plan, Answer>> {
    let value = headers.get("prefer")?.to_str().ok()?;
    let code = value
        .split([',', ';', ' '])
        .find_map(|part| part.trim().strip_prefix("code="))?;
    let status = match code.parse::<u16>() {
        Ok(status) if op.documents(status) => status,
        _ => {
            return Some(Err(Answer::error(
                400,
                format!(
                    "Prefer: code={code} is not a status the document gives {} (it documents {:?})",
                    op.id, op.statuses
                ),
            )));
        }
    };
    Some(Ok(if status < 300 {
        Plan::Apply(Deliver::Whole)
    } else {
        Plan::Inject(Answer::documented(
            status,
            &format!("Status {status} chosen by the Prefer header"),
        ))
    }))
}

/// The devices a request is about, for rules that name one.
fn devices_of(query: &Query, body: Option<&Value>) -> Vec<i32> {
    let mut ids: Vec<i32> = query
        .iter()
        .filter(|(k, _)| k == "deviceId" || k == "deviceIds")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let as_id = |v: &Value| v.as_i64().and_then(|n| i32::try_from(n).ok());
    if let Some(body) = body {
        ids.extend(body.get("deviceId").and_then(as_id));
        if let Some(rows) = body.get("updates").and_then(Value::as_array) {
            ids.extend(rows.iter().filter_map(|r| r.get(0).and_then(as_id)));
        }
    }
    ids
}

/// What a fault rule's action means for the request (waiting out a delay).
async fn plan_of(action: Action, token_endpoint: bool) -> Plan {
    match action {
        Action::Status {
            status,
            retry_after,
        } => {
            let mut answer = match status {
                // The token endpoint answers errors in the OAuth shape.
                400 if token_endpoint => oauth_error("invalid_request", "Injected by a fault rule"),
                _ if token_endpoint => Answer::bare(status),
                _ => Answer::documented(status, "Injected by a fault rule"),
            };
            answer.retry_after = retry_after.map(|r| match r {
                RetryAfter::Seconds(s) => Wait::Seconds(s),
                RetryAfter::HttpDate(s) => Wait::Date(s),
            });
            Plan::Inject(answer)
        }
        Action::Delay(d) => {
            crate::clock::sleep_precisely(d).await;
            Plan::Apply(Deliver::Whole)
        }
        Action::DropBeforeProcessing => Plan::DropBefore,
        Action::ApplyThenDrop => Plan::Apply(Deliver::Dropped),
        Action::TruncatedBody => Plan::Apply(Deliver::Truncated),
    }
}

/// The fault rules first, then the global faults.
async fn decide(shared: &Shared, op: &'static Operation, received: &Received<'_>) -> Plan {
    let devices = devices_of(&received.query, received.json.as_ref());
    let action = lock(&shared.rules).decide(op.id, &devices);
    let (decision, latency) = {
        let mut faults = lock(&shared.faults);
        let decision = faults.decide(shared.clock.now());
        (decision, faults.latency())
    };
    if !latency.is_zero() {
        crate::clock::sleep_precisely(latency).await;
    }
    if let Some(action) = action {
        return plan_of(action, false).await;
    }
    match decision {
        Decision::RateLimited { retry_after_secs } => {
            Plan::Inject(Answer::too_many(retry_after_secs.map(Wait::Seconds)))
        }
        Decision::ServerError => Plan::Inject(Answer::error(500, "Injected server error")),
        Decision::Drop => Plan::DropBefore,
        Decision::Serve { truncate: true } => Plan::Apply(Deliver::Truncated),
        Decision::Serve { truncate: false } => Plan::Apply(Deliver::Whole),
    }
}

/// Authenticates and runs the operation's rules.
fn apply(
    shared: &Shared,
    op: &'static Operation,
    headers: &HeaderMap,
    received: &Received<'_>,
) -> Answer {
    let mut org = lock(&shared.org);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let principal = match org.authenticate(authorization) {
        Ok(p) => p,
        Err(answer) => return answer,
    };
    let null = Value::Null;
    let body = match (&received.json, op.method) {
        (Some(b), _) => b,
        (None, operations::Method::Get) => &null,
        (None, _) => return Answer::error(400, "The request body is not valid JSON"),
    };
    let call = Call {
        query: &received.query,
        body,
    };
    ops::run(&mut org, op, &principal, &call)
}

/// `POST /oauth2/token`: `grant_type` and `refresh_token` from the query or a form body.
fn token(shared: &Shared, headers: &HeaderMap, received: &Received<'_>) -> Answer {
    let mut params = received.query.clone();
    params.extend(query::parse(&received.bytes));
    let client = basic_auth(headers.get(header::AUTHORIZATION));
    lock(&shared.org).token(
        client,
        param(&params, "grant_type"),
        param(&params, "refresh_token"),
    )
}

/// Checks the answer against the document, logs the exchange and encodes the answer.
fn finish(
    shared: &Shared,
    received: Received<'_>,
    op: Option<&'static Operation>,
    answer: Answer,
    injected: bool,
    deliver: Deliver,
) -> Response {
    let encoded = answer
        .body
        .as_ref()
        .map(|b| serde_json::to_vec(b).unwrap_or_default());
    if let Some(op) = op
        && !injected
        && shared.config.validate
    {
        let violations = validate::response(op, answer.status, answer.body.as_ref());
        if !violations.is_empty() {
            lock(&shared.violations).extend(violations);
        }
    }
    let limit = shared.config.log_body_limit;
    let body = keep(&received.bytes, received.json.as_ref(), limit);
    let response = match &encoded {
        Some(bytes) => keep(bytes, answer.body.as_ref(), limit),
        None => Kept::Nothing,
    };
    lock(&shared.log).push(Entry {
        operation: received.operation,
        method: received.method.to_string(),
        path: received.path.to_string(),
        query: received.query,
        body,
        status: answer.status,
        response,
        injected,
        dropped: deliver == Deliver::Dropped,
    });
    match deliver {
        Deliver::Dropped => dropped(),
        Deliver::Truncated => truncated(answer.status, encoded.unwrap_or_default()),
        Deliver::Whole => whole(&answer, encoded),
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn retry_after(wait: Wait) -> Option<HeaderValue> {
    let text = match wait {
        Wait::Seconds(s) => s.to_string(),
        // Rules are validated to at most 100 years ahead; the bound is kept here too, because
        // an HTTP date past year 9999 panics the formatter.
        Wait::Date(s) => httpdate::fmt_http_date(
            SystemTime::now() + Duration::from_secs(s.min(crate::rules::MAX_HTTP_DATE_SECS)),
        ),
    };
    HeaderValue::from_str(&text).ok()
}

fn whole(answer: &Answer, encoded: Option<Vec<u8>>) -> Response {
    let has_body = encoded.is_some();
    let mut response = Response::new(encoded.map(Body::from).unwrap_or_else(Body::empty));
    *response.status_mut() = status(answer.status);
    let headers = response.headers_mut();
    if has_body {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    if let Some(v) = answer.retry_after.and_then(retry_after) {
        headers.insert(header::RETRY_AFTER, v);
    }
    response
}

/// Plain JSON, for the `/__sim` endpoints.
pub(crate) fn json_response(code: u16, json: &Value) -> Response {
    whole(
        &Answer {
            status: code,
            body: None,
            retry_after: None,
        },
        Some(serde_json::to_vec(json).unwrap_or_default()),
    )
}

/// Announces the whole body, sends half of it, then breaks the connection. A body-less answer
/// announces 64 bytes and sends none.
fn truncated(code: u16, bytes: Vec<u8>) -> Response {
    let full = if bytes.is_empty() { 64 } else { bytes.len() };
    let half = Bytes::from(bytes[..bytes.len() / 2].to_vec());
    // The pause lets the status line, headers and first half reach the client before the break.
    let stream = futures::StreamExt::chain(
        futures::stream::iter(vec![Ok::<_, std::io::Error>(half)]),
        futures::stream::once(async {
            tokio::time::sleep(Duration::from_millis(20)).await;
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
