//! Request bodies encoded once, straight into the bytes that are sent.
//!
//! Bulk writes must respect two limits per request: a number of items (from the document) and
//! [`MAX_REQUEST_BYTES`] of body. Encoding each item directly into the request buffer tells the
//! exact size as it grows, so a chunk is cut at the last item that fits, without encoding anything
//! twice and without holding more than one chunk in memory. The bodies are the same JSON the
//! generated client would send (the contract suite validates them against the document), and they
//! go out through the same engine: token, retries and tracing apply unchanged.

use blynk_api::ClientInfo;
use blynk_api::hooks::Interceptor;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use serde::ser::SerializeSeq;

use crate::client::Blynk;
use crate::error::{Error, from_api};
use crate::model::Value;

/// The largest request body the client sends. Blynk documents a 2 MB request limit; this reads it
/// as 2,000,000 bytes, the stricter reading.
pub const MAX_REQUEST_BYTES: usize = 2_000_000;

/// A [`Value`] as the API encodes it: a number, a string, or `[lon, lat]`.
pub(crate) struct WireValue<'a>(pub(crate) &'a Value);

impl Serialize for WireValue<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Number(n) => serializer.serialize_f64(*n),
            Value::Text(s) => serializer.serialize_str(s),
            Value::Location(l) => {
                let mut seq = serializer.serialize_seq(Some(2))?;
                seq.serialize_element(&l.lon)?;
                seq.serialize_element(&l.lat)?;
                seq.end()
            }
        }
    }
}

/// Builds one JSON body item by item, refusing the item that would pass a limit.
pub(crate) struct ChunkEncoder {
    buf: Vec<u8>,
    prefix: Vec<u8>,
    items: usize,
    max_items: usize,
    max_bytes: usize,
    /// Bytes the closing suffix will add.
    suffix_len: usize,
}

impl ChunkEncoder {
    /// `prefix` opens the body up to the array; `suffix_len` is the length of what closes it.
    pub(crate) fn new(
        prefix: &[u8],
        suffix_len: usize,
        max_items: usize,
        max_bytes: usize,
    ) -> Self {
        let mut encoder = Self {
            buf: Vec::new(),
            prefix: prefix.to_vec(),
            items: 0,
            max_items,
            max_bytes,
            suffix_len,
        };
        encoder.open(1 << 16);
        encoder
    }

    /// Starts a new body, sized like the previous one so that it rarely grows.
    fn open(&mut self, capacity: usize) {
        self.buf = Vec::with_capacity(capacity.clamp(1 << 12, self.max_bytes));
        self.buf.extend_from_slice(&self.prefix);
    }

    pub(crate) fn items(&self) -> usize {
        self.items
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items == 0
    }

    /// Appends one item written by `write`; `false` (and nothing appended) if the chunk is full or
    /// the item would push the body past the byte limit.
    fn push_with(&mut self, write: impl FnOnce(&mut Vec<u8>) -> bool) -> bool {
        if self.items >= self.max_items {
            return false;
        }
        let mark = self.buf.len();
        if self.items > 0 {
            self.buf.push(b',');
        }
        let fits = write(&mut self.buf) && self.buf.len() + self.suffix_len <= self.max_bytes;
        if !fits {
            self.buf.truncate(mark);
            return false;
        }
        self.items += 1;
        true
    }

    /// Appends one item serialized by serde_json.
    pub(crate) fn push(&mut self, item: &impl Serialize) -> bool {
        self.push_with(|buf| serde_json::to_writer(buf, item).is_ok())
    }

    /// Appends one import point, `{"ts":…,"value":…}`, formatting numbers with the same
    /// formatters serde_json uses (itoa, zmij), which is what keeps encoding at serde_json's speed.
    pub(crate) fn push_point(&mut self, ts: i64, value: &Value) -> bool {
        self.push_with(|buf| {
            buf.extend_from_slice(b"{\"ts\":");
            buf.extend_from_slice(itoa::Buffer::new().format(ts).as_bytes());
            buf.extend_from_slice(b",\"value\":");
            let ok = write_value(buf, value);
            buf.push(b'}');
            ok
        })
    }

    /// Closes the body with `suffix` and returns it; the encoder is ready for the next chunk.
    pub(crate) fn finish(&mut self, suffix: &[u8]) -> Vec<u8> {
        let mut body = std::mem::take(&mut self.buf);
        body.extend_from_slice(suffix);
        self.items = 0;
        self.open(body.len() + suffix.len());
        body
    }
}

/// Writes a checked value (finite numbers only); `false` if it has no JSON form.
fn write_value(buf: &mut Vec<u8>, value: &Value) -> bool {
    let number = |buf: &mut Vec<u8>, n: f64| {
        if !n.is_finite() {
            return false;
        }
        buf.extend_from_slice(zmij::Buffer::new().format_finite(n).as_bytes());
        true
    };
    match value {
        Value::Number(n) => number(buf, *n),
        Value::Text(s) => serde_json::to_writer(buf, s).is_ok(),
        Value::Location(l) => {
            buf.push(b'[');
            let ok = number(buf, l.lon);
            buf.push(b',');
            let ok = ok && number(buf, l.lat);
            buf.push(b']');
            ok
        }
    }
}

/// The body of one import request, for `device_id` and `datastream_id`.
pub(crate) fn import_encoder(device_id: i32, datastream_id: i32, max_bytes: usize) -> ChunkEncoder {
    let prefix = format!(r#"{{"deviceId":{device_id},"dataStreamId":{datastream_id},"values":["#);
    ChunkEncoder::new(
        prefix.as_bytes(),
        IMPORT_SUFFIX.len(),
        blynk_api::limits::MAX_POINTS_PER_IMPORT,
        max_bytes,
    )
}

pub(crate) const IMPORT_SUFFIX: &[u8] = b"]}";

/// One row of a batch update: the device ID then the cells (`null` to skip).
pub(crate) struct WireRow<'a> {
    pub(crate) device_id: i32,
    pub(crate) cells: &'a [Option<Value>],
}

impl Serialize for WireRow<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.cells.len() + 1))?;
        seq.serialize_element(&self.device_id)?;
        for cell in self.cells {
            seq.serialize_element(&cell.as_ref().map(WireValue))?;
        }
        seq.end()
    }
}

/// The body of one batch-update request for these labels.
pub(crate) fn batch_update_encoder(labels: &[String], max_bytes: usize) -> ChunkEncoder {
    let mut fields = vec!["deviceId"];
    fields.extend(labels.iter().map(String::as_str));
    let fields = serde_json::to_string(&fields).unwrap_or_else(|_| "[]".to_string());
    let prefix = format!(r#"{{"fields":{fields},"updates":["#);
    ChunkEncoder::new(
        prefix.as_bytes(),
        BATCH_UPDATE_SUFFIX_FALSE.len(),
        blynk_api::limits::MAX_ROWS_PER_BATCH_UPDATE,
        max_bytes,
    )
}

/// How a batch-update body ends, by debug mode (the longer one bounds the size of both).
pub(crate) const BATCH_UPDATE_SUFFIX_FALSE: &[u8] = br#"],"debug":false}"#;
pub(crate) const BATCH_UPDATE_SUFFIX_TRUE: &[u8] = br#"],"debug":true}"#;

impl Blynk {
    /// Sends a pre-encoded JSON body through the engine and returns the success response.
    pub(crate) async fn post_json(
        &self,
        operation: &'static str,
        span_name: &'static str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<reqwest::Response, Error> {
        self.authorize(operation).await?;
        let api = self.api();
        let url = format!("{}{path}", api.baseurl());
        let mut request = api
            .client()
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(
                "api-version",
                HeaderValue::from_static(<blynk_api::Client as ClientInfo<_>>::api_version()),
            )
            .body(body)
            .build()
            .map_err(|source| Error::Transport {
                operation,
                timeout: false,
                source,
            })?;
        let engine = &self.inner.engine;
        engine
            .before(&mut request, span_name)
            .await
            .map_err(|message| Error::Auth {
                operation,
                source: crate::error::AuthError::Other(message),
            })?;
        match engine.send(api.client(), request, span_name).await {
            Ok(response) if response.status().is_success() => Ok(response),
            Ok(response) => Err(from_api(
                operation,
                blynk_api::Error::UnexpectedResponse(response),
                self.clock().wall(),
            )
            .await),
            Err(source) => Err(Error::Transport {
                operation,
                timeout: source.is_timeout(),
                source,
            }),
        }
    }
}
