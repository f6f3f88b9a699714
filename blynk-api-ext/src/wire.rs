//! Request bodies encoded once, straight into the bytes that are sent.
//!
//! Bulk writes must respect two limits per request: a number of items (from the document) and
//! [`MAX_REQUEST_BYTES`] of body. Encoding each item directly into the request buffer tells the
//! exact size as it grows, so a chunk is cut at the last item that fits, without encoding anything
//! twice and without holding more than one chunk in memory. The bodies are the same JSON the
//! generated client would send (the contract suite validates them against the document), and they
//! go out through the same engine: token, retries and tracing apply unchanged.

use blynk_api::operations::Operation;
use blynk_api::{ClientInfo, limits};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use serde::ser::SerializeSeq;

use crate::client::Blynk;
use crate::engine::CallRecord;
use crate::error::{Error, from_api};
use crate::model::Value;

/// The largest request body the client sends: the 2 MB request limit Blynk documents, read as
/// 2,000,000 bytes (the stricter reading), from the operation table.
pub const MAX_REQUEST_BYTES: usize = blynk_api::operations::MAX_REQUEST_BYTES;

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

/// What [`ChunkEncoder::push`] did with an item.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// The item was added to the body being filled.
    Added,
    /// The body being filled could not take the item: here it is, complete, with `items` items;
    /// the item opens the next body.
    Full { body: Vec<u8>, items: usize },
    /// The item alone passes the byte limit: it can never be sent. Nothing changed.
    TooLarge,
    /// The item has no JSON form (a non-finite number). Nothing changed.
    Unencodable,
}

/// The one chunker of the crate: builds JSON bodies item by item and hands back each full body,
/// cut at the last item that fits both the item limit and the byte limit. Each item is encoded
/// once: the item that does not fit is moved, as bytes, into the next body.
pub(crate) struct ChunkEncoder {
    buf: Vec<u8>,
    prefix: Vec<u8>,
    suffix: &'static [u8],
    items: usize,
    max_items: usize,
    max_bytes: usize,
}

impl ChunkEncoder {
    /// `prefix` opens each body up to its array; `suffix` closes it.
    pub(crate) fn new(
        prefix: &[u8],
        suffix: &'static [u8],
        max_items: usize,
        max_bytes: usize,
    ) -> Self {
        let mut encoder = Self {
            buf: Vec::new(),
            prefix: prefix.to_vec(),
            suffix,
            items: 0,
            max_items: max_items.max(1),
            max_bytes,
        };
        encoder.open(1 << 16);
        encoder
    }

    /// Starts a new body, sized like the previous one so that it rarely grows.
    fn open(&mut self, capacity: usize) {
        self.buf = Vec::with_capacity(capacity.clamp(1 << 12, self.max_bytes.max(1 << 12)));
        self.buf.extend_from_slice(&self.prefix);
    }

    /// Appends one item written by `write` (which returns `false` if the item has no JSON form).
    fn push_with(&mut self, write: impl FnOnce(&mut Vec<u8>) -> bool) -> Pushed {
        let mark = self.buf.len();
        if self.items > 0 {
            self.buf.push(b',');
        }
        let item_start = self.buf.len();
        if !write(&mut self.buf) {
            self.buf.truncate(mark);
            return Pushed::Unencodable;
        }
        if self.items < self.max_items && self.buf.len() + self.suffix.len() <= self.max_bytes {
            self.items += 1;
            return Pushed::Added;
        }
        let item_len = self.buf.len() - item_start;
        if self.prefix.len() + item_len + self.suffix.len() > self.max_bytes {
            self.buf.truncate(mark);
            return Pushed::TooLarge;
        }
        let item = self.buf[item_start..].to_vec();
        self.buf.truncate(mark);
        let items = self.items;
        let body = self.take_body();
        self.buf.extend_from_slice(&item);
        self.items = 1;
        Pushed::Full { body, items }
    }

    /// Appends one item serialized by serde_json.
    pub(crate) fn push(&mut self, item: &impl Serialize) -> Pushed {
        self.push_with(|buf| serde_json::to_writer(buf, item).is_ok())
    }

    /// Appends one import point, `{"ts":…,"value":…}`, formatting numbers with the same
    /// formatters serde_json uses (itoa, zmij), which is what keeps encoding at serde_json's speed.
    pub(crate) fn push_point(&mut self, ts: i64, value: &Value) -> Pushed {
        // The common case, a finite number that fits: its exact length is known before writing,
        // so the body grows once and nothing is written then taken back.
        if let Value::Number(n) = value
            && n.is_finite()
        {
            let mut ts_text = itoa::Buffer::new();
            let ts_text = ts_text.format(ts).as_bytes();
            let mut n_text = zmij::Buffer::new();
            let n_text = n_text.format_finite(*n).as_bytes();
            const OPEN: &[u8] = b"{\"ts\":";
            const VALUE: &[u8] = b",\"value\":";
            let comma = usize::from(self.items > 0);
            let len = comma + OPEN.len() + ts_text.len() + VALUE.len() + n_text.len() + 1;
            if self.items < self.max_items
                && self.buf.len() + len + self.suffix.len() <= self.max_bytes
            {
                self.buf.reserve(len);
                if comma == 1 {
                    self.buf.push(b',');
                }
                self.buf.extend_from_slice(OPEN);
                self.buf.extend_from_slice(ts_text);
                self.buf.extend_from_slice(VALUE);
                self.buf.extend_from_slice(n_text);
                self.buf.push(b'}');
                self.items += 1;
                return Pushed::Added;
            }
        }
        self.push_with(|buf| {
            buf.extend_from_slice(b"{\"ts\":");
            buf.extend_from_slice(itoa::Buffer::new().format(ts).as_bytes());
            buf.extend_from_slice(b",\"value\":");
            let ok = write_value(buf, value);
            buf.push(b'}');
            ok
        })
    }

    /// The last body, if it holds any item, with its item count; the encoder is then empty.
    pub(crate) fn finish(&mut self) -> Option<(Vec<u8>, usize)> {
        if self.items == 0 {
            return None;
        }
        let items = self.items;
        Some((self.take_body(), items))
    }

    fn take_body(&mut self) -> Vec<u8> {
        let mut body = std::mem::take(&mut self.buf);
        body.extend_from_slice(self.suffix);
        self.items = 0;
        self.open(body.len());
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

/// The chunker of import bodies for `device_id` and `datastream_id`.
pub(crate) fn import_encoder(device_id: i32, datastream_id: i32, max_bytes: usize) -> ChunkEncoder {
    let prefix = format!(r#"{{"deviceId":{device_id},"dataStreamId":{datastream_id},"values":["#);
    ChunkEncoder::new(
        prefix.as_bytes(),
        b"]}",
        limits::MAX_POINTS_PER_IMPORT,
        max_bytes,
    )
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

/// The chunker of batch-update bodies for these labels, in debug mode or not.
pub(crate) fn batch_update_encoder(
    labels: &[String],
    debug: bool,
    max_bytes: usize,
) -> ChunkEncoder {
    let mut fields = vec!["deviceId"];
    fields.extend(labels.iter().map(String::as_str));
    let fields = serde_json::to_string(&fields).unwrap_or_else(|_| "[]".to_string());
    let prefix = format!(r#"{{"fields":{fields},"updates":["#);
    let suffix: &'static [u8] = if debug {
        br#"],"debug":true}"#
    } else {
        br#"],"debug":false}"#
    };
    ChunkEncoder::new(
        prefix.as_bytes(),
        suffix,
        limits::MAX_ROWS_PER_BATCH_UPDATE,
        max_bytes,
    )
}

impl Blynk {
    /// Sends a pre-encoded JSON body to `operation` (method and path from the operation table)
    /// through the engine, the one door of every request, and returns the success response.
    pub(crate) async fn post_json(
        &self,
        operation: &'static Operation,
        body: Vec<u8>,
    ) -> Result<reqwest::Response, Error> {
        let api = self.api();
        let transport = |source: reqwest::Error| Error::Transport {
            operation,
            timeout: source.is_timeout(),
            source,
        };
        let method = reqwest::Method::from_bytes(operation.method.as_str().as_bytes())
            .unwrap_or(reqwest::Method::POST);
        let mut request = api
            .client()
            .request(method, format!("{}{}", api.baseurl(), operation.path))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(
                "api-version",
                HeaderValue::from_static(<blynk_api::Client as ClientInfo<_>>::api_version()),
            )
            .body(body)
            .build()
            .map_err(transport)?;
        let engine = &self.inner.engine;
        engine
            .authorize(&mut request)
            .await
            .map_err(|source| Error::Auth { operation, source })?;
        match engine.run(api.client(), request, operation).await {
            (Ok(response), _) if response.status().is_success() => Ok(response),
            (Ok(response), retry_after) => {
                let record = CallRecord {
                    auth: None,
                    retry_after,
                };
                let error = blynk_api::Error::UnexpectedResponse(response);
                Err(from_api(operation, error, record).await)
            }
            (Err(source), _) => Err(transport(source)),
        }
    }
}
