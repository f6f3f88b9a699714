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

#[derive(Serialize)]
struct WirePoint<'a> {
    ts: i64,
    value: WireValue<'a>,
}

/// Builds one JSON body item by item, refusing the item that would pass a limit.
pub(crate) struct ChunkEncoder {
    buf: Vec<u8>,
    items: usize,
    max_items: usize,
    max_bytes: usize,
    /// Bytes the closing suffix will add.
    suffix_len: usize,
    opened: usize,
}

impl ChunkEncoder {
    /// `prefix` opens the body up to the array; `suffix_len` is the length of what closes it.
    pub(crate) fn new(
        prefix: &[u8],
        suffix_len: usize,
        max_items: usize,
        max_bytes: usize,
    ) -> Self {
        let mut buf = Vec::with_capacity(max_bytes.min(1 << 21));
        buf.extend_from_slice(prefix);
        let opened = buf.len();
        Self {
            buf,
            items: 0,
            max_items,
            max_bytes,
            suffix_len,
            opened,
        }
    }

    pub(crate) fn items(&self) -> usize {
        self.items
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items == 0
    }

    /// Appends one item; `false` (and nothing appended) if the chunk is full or the item would
    /// push the body past the byte limit.
    pub(crate) fn push(&mut self, item: &impl Serialize) -> bool {
        if self.items >= self.max_items {
            return false;
        }
        let mark = self.buf.len();
        if self.items > 0 {
            self.buf.push(b',');
        }
        let fits = serde_json::to_writer(&mut self.buf, item).is_ok()
            && self.buf.len() + self.suffix_len <= self.max_bytes;
        if !fits {
            self.buf.truncate(mark);
            return false;
        }
        self.items += 1;
        true
    }

    /// Closes the body with `suffix` and returns it; the encoder is ready for the next chunk.
    pub(crate) fn finish(&mut self, suffix: &[u8]) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.buf.len() + suffix.len());
        body.extend_from_slice(&self.buf);
        body.extend_from_slice(suffix);
        self.buf.truncate(self.opened);
        self.items = 0;
        body
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

/// Encodes one import point.
pub(crate) fn import_point(ts: i64, value: &Value) -> impl Serialize + '_ {
    WirePoint {
        ts,
        value: WireValue(value),
    }
}

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
