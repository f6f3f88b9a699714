//! A small, dynamic stand-in for the Blynk API on 127.0.0.1, for the bulk tests and benchmarks:
//! batch reads answer for the devices asked (minus the "missing" ones), history is generated
//! (point i at `BASE_TS + i × 1000` ms with value i), imports and batch updates are recorded, and
//! failures and latency can be injected. Unlike httpmock it computes answers from requests and
//! keeps no request history unless asked to.

#![allow(dead_code)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub const BASE_TS: i64 = 1_600_000_000_000;

/// What one import request carried.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub device_id: i64,
    pub datastream_id: i64,
    pub body_bytes: usize,
    /// `(ts, value)` of every point, if `keep_points`.
    pub points: Vec<(i64, Value)>,
    pub count: usize,
}

/// What one batch-update request carried.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub body_bytes: usize,
    pub rows: Vec<Vec<Value>>,
    pub debug: bool,
}

#[derive(Default)]
pub struct Config {
    pub latency: Duration,
    pub missing: HashSet<i64>,
    pub history_total: u64,
    pub keep_points: bool,
    /// Import requests numbered from 1 that fail with this status (500 unless set).
    pub fail_imports: HashSet<u64>,
    pub fail_status: Option<u16>,
    /// Requests numbered from 1 (all kinds) answered 429 with `Retry-After: 0`.
    pub throttle_requests: HashSet<u64>,
}

pub struct Shared {
    pub config: Config,
    pub requests: AtomicU64,
    pub batch_reads: Mutex<Vec<Vec<i64>>>,
    pub history_pages: Mutex<Vec<(u64, u64)>>,
    pub imports: Mutex<Vec<Import>>,
    pub import_requests: AtomicU64,
    pub updates: Mutex<Vec<Update>>,
    pub in_flight: AtomicU64,
    pub max_in_flight: AtomicU64,
}

pub struct Fake {
    pub url: String,
    pub shared: Arc<Shared>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Fake {
    pub async fn start(config: Config) -> Fake {
        let shared = Arc::new(Shared {
            config,
            requests: AtomicU64::new(0),
            batch_reads: Mutex::default(),
            history_pages: Mutex::default(),
            imports: Mutex::default(),
            import_requests: AtomicU64::new(0),
            updates: Mutex::default(),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
        });
        let app = Router::new()
            .route(
                "/api/v2/organization/device/datastreams",
                get(device_values),
            )
            .route(
                "/api/v1/organization/device/datastreams/batch",
                get(batch_read),
            )
            .route(
                "/api/v1/organization/device/datastream/history",
                get(history),
            )
            .route("/api/v1/organization/device/import/batch", post(import))
            .route(
                "/api/v1/organization/product/devices/batch-update",
                post(batch_update),
            )
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Fake {
            url: format!("http://{addr}"),
            shared,
            _shutdown: tx,
        }
    }

    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    pub fn imports(&self) -> Vec<Import> {
        self.shared.imports.lock().unwrap().clone()
    }

    pub fn updates(&self) -> Vec<Update> {
        self.shared.updates.lock().unwrap().clone()
    }

    pub fn batch_reads(&self) -> Vec<Vec<i64>> {
        self.shared.batch_reads.lock().unwrap().clone()
    }

    pub fn history_pages(&self) -> Vec<(u64, u64)> {
        self.shared.history_pages.lock().unwrap().clone()
    }

    pub fn max_in_flight(&self) -> u64 {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }
}

/// Common bookkeeping: count, throttle, latency. Returns a response to send instead, if any.
async fn enter(shared: &Shared) -> Option<Response> {
    let n = shared.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    if shared.config.throttle_requests.contains(&n) {
        return Some((StatusCode::TOO_MANY_REQUESTS, [("retry-after", "0")]).into_response());
    }
    None
}

fn query_pairs(query: &Option<String>) -> Vec<(String, String)> {
    query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn device_values(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(r) = enter(&shared).await {
        return r;
    }
    axum::Json(json!({"dataStreams": [
        {"dataStreamId": 1, "pin": "V1", "dataStreamLabel": "Temperature",
         "dataStreamAlias": "temp", "value": 21.5, "updatedAt": BASE_TS}
    ]}))
    .into_response()
}

async fn batch_read(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    if let Some(r) = enter(&shared).await {
        return r;
    }
    let ids: Vec<i64> = query_pairs(&query)
        .into_iter()
        .filter(|(k, _)| k == "deviceIds")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    if ids.len() > 10 {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {"message": "too many devices"}})),
        )
            .into_response();
    }
    shared.batch_reads.lock().unwrap().push(ids.clone());
    let body: Vec<Value> = ids
        .iter()
        .rev() // the server's order is not the caller's
        .filter(|id| !shared.config.missing.contains(id))
        .map(|id| {
            json!({"deviceId": id, "dataStreams": [
                {"dataStreamId": 1, "pin": "V1", "dataStreamLabel": "Temperature",
                 "dataStreamAlias": "temp", "value": *id as f64 / 10.0, "updatedAt": BASE_TS}
            ]})
        })
        .collect();
    axum::Json(Value::Array(body)).into_response()
}

async fn history(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    if let Some(r) = enter(&shared).await {
        return r;
    }
    let pairs = query_pairs(&query);
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .and_then(|(_, v)| v.parse::<u64>().ok())
    };
    let page = get("page").unwrap_or(0);
    let size = get("size").unwrap_or(50);
    if !(1..=1000).contains(&size) {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {"message": "size"}})),
        )
            .into_response();
    }
    shared.history_pages.lock().unwrap().push((page, size));
    let total = shared.config.history_total;
    let start = page * size;
    let end = (start + size).min(total);
    let content: Vec<Value> = (start..end.max(start))
        .map(|i| json!({"value": i as f64, "createdAt": BASE_TS + i as i64 * 1000}))
        .collect();
    axum::Json(json!({"content": content, "totalElements": total})).into_response()
}

async fn import(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    if let Some(r) = enter(&shared).await {
        return r;
    }
    let n = shared.import_requests.fetch_add(1, Ordering::SeqCst) + 1;
    if shared.config.fail_imports.contains(&n) {
        let status = StatusCode::from_u16(shared.config.fail_status.unwrap_or(500)).unwrap();
        return (
            status,
            axum::Json(json!({"error": {"message": "injected failure"}})),
        )
            .into_response();
    }
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": {"message": e.to_string()}})),
            )
                .into_response();
        }
    };
    let values = parsed["values"].as_array().cloned().unwrap_or_default();
    if values.is_empty() || values.len() > 10_000 || body.len() > 2_000_000 {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {"message": "bad import size"}})),
        )
            .into_response();
    }
    let record = Import {
        device_id: parsed["deviceId"].as_i64().unwrap_or(-1),
        datastream_id: parsed["dataStreamId"].as_i64().unwrap_or(-1),
        body_bytes: body.len(),
        count: values.len(),
        points: if shared.config.keep_points {
            values
                .iter()
                .map(|v| (v["ts"].as_i64().unwrap(), v["value"].clone()))
                .collect()
        } else {
            Vec::new()
        },
    };
    shared.imports.lock().unwrap().push(record);
    StatusCode::NO_CONTENT.into_response()
}

async fn batch_update(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    if let Some(r) = enter(&shared).await {
        return r;
    }
    let parsed: Value = serde_json::from_slice(&body).unwrap();
    let rows = parsed["updates"].as_array().cloned().unwrap_or_default();
    let debug = parsed["debug"].as_bool().unwrap_or(false);
    if rows.is_empty() || rows.len() > 10_000 || body.len() > 2_000_000 {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {"message": "bad batch size"}})),
        )
            .into_response();
    }
    let skipped: Vec<(usize, i64)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r[0].as_i64().map(|d| (i, d)))
        .filter(|(_, d)| shared.config.missing.contains(d))
        .collect();
    shared.updates.lock().unwrap().push(Update {
        body_bytes: body.len(),
        rows: rows
            .iter()
            .map(|r| r.as_array().cloned().unwrap_or_default())
            .collect(),
        debug,
    });
    if skipped.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let report = if debug {
        json!({"skippedRows": skipped.iter().take(100).map(|(i, d)| format!("Row {i}: device {d} not found")).collect::<Vec<_>>()})
    } else {
        json!({"deviceNotFound": skipped.len()})
    };
    axum::Json(report).into_response()
}
