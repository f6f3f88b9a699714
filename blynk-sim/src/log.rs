//! The request log: a ring buffer of what was received and answered (default
//! [`DEFAULT_LOG_CAPACITY`] entries and at most [`LOG_BODY_BUDGET`] bytes of bodies, oldest dropped
//! first), with bodies kept as JSON text and those above a size only as a [`BodySummary`], so
//! memory stays bounded however long the simulator runs.

use std::collections::VecDeque;

use serde::Serialize;
use serde_json::Value;

/// Entries the log keeps by default.
pub const DEFAULT_LOG_CAPACITY: usize = 10_000;
/// Bodies larger than this many bytes are logged as a [`BodySummary`] by default.
pub const DEFAULT_LOG_BODY_LIMIT: usize = 4 * 1024;

/// What the log keeps of a body too large to keep whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BodySummary {
    /// Size in bytes.
    pub bytes: usize,
    /// Points (`values`), rows (`updates`), history entries (`content`) or array items, when the
    /// body has them.
    pub items: Option<usize>,
    /// FNV-1a 64 hash of the bytes, in hex: equal bodies have equal hashes.
    pub fnv1a: String,
}

impl BodySummary {
    pub(crate) fn of(bytes: &[u8], json: Option<&Value>) -> Self {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        let items = json.and_then(|j| {
            ["values", "updates", "content"]
                .iter()
                .find_map(|k| j.get(k).and_then(Value::as_array))
                .or_else(|| j.as_array())
                .map(Vec::len)
        });
        Self {
            bytes: bytes.len(),
            items,
            fnv1a: format!("{hash:016x}"),
        }
    }
}

/// One request the simulator received, and what it answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
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
    /// The JSON body, if there was one, it parsed, and it was small enough to keep.
    pub body: Option<Value>,
    /// The body's summary, when it was too large to keep.
    pub body_summary: Option<BodySummary>,
    /// Status answered; for a connection dropped after applying, the status the rules produced;
    /// 0 for one dropped before processing.
    pub status: u16,
    /// JSON body answered, if any and small enough to keep.
    pub response: Option<Value>,
    /// The answer's summary, when it was too large to keep.
    pub response_summary: Option<BodySummary>,
    /// Whether the answer came from fault injection rather than the API's rules.
    pub injected: bool,
    /// Whether the connection was dropped after the request was applied (`ApplyThenDrop`).
    pub dropped: bool,
}

/// A body as the log keeps it: the JSON text when small (parsed again when read, which costs far
/// less memory than a kept `Value`), a summary when large.
#[derive(Debug, Clone)]
pub(crate) enum Kept {
    Nothing,
    Json(Box<[u8]>),
    Summary(BodySummary),
}

impl Kept {
    fn bytes(&self) -> usize {
        match self {
            Kept::Json(b) => b.len(),
            _ => 0,
        }
    }

    fn split(&self) -> (Option<Value>, Option<BodySummary>) {
        match self {
            Kept::Nothing => (None, None),
            Kept::Json(b) => (serde_json::from_slice(b).ok(), None),
            Kept::Summary(s) => (None, Some(s.clone())),
        }
    }
}

/// Keeps `bytes` whole when at most `limit` long and JSON, as a summary when longer.
pub(crate) fn keep(bytes: &[u8], json: Option<&Value>, limit: usize) -> Kept {
    match json {
        _ if bytes.len() > limit => Kept::Summary(BodySummary::of(bytes, json)),
        Some(_) => Kept::Json(bytes.into()),
        None => Kept::Nothing,
    }
}

/// One entry as stored.
pub(crate) struct Entry {
    pub(crate) operation: Option<&'static str>,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Kept,
    pub(crate) status: u16,
    pub(crate) response: Kept,
    pub(crate) injected: bool,
    pub(crate) dropped: bool,
}

impl Entry {
    fn kept_bytes(&self) -> usize {
        self.body.bytes() + self.response.bytes()
    }

    fn to_logged(&self) -> LoggedRequest {
        let (body, body_summary) = self.body.split();
        let (response, response_summary) = self.response.split();
        LoggedRequest {
            operation: self.operation,
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            body,
            body_summary,
            status: self.status,
            response,
            response_summary,
            injected: self.injected,
            dropped: self.dropped,
        }
    }
}

/// The ring buffer: at most `capacity` entries and [`LOG_BODY_BUDGET`] bytes of kept bodies; the
/// oldest entries go first.
pub(crate) struct RequestLog {
    entries: VecDeque<Entry>,
    capacity: usize,
    kept_bytes: usize,
    /// Requests logged since the start or the last clear, including those no longer kept.
    total: u64,
}

/// Most bytes of whole bodies the log keeps, whatever its capacity in entries.
pub const LOG_BODY_BUDGET: usize = 16 * 1024 * 1024;

impl RequestLog {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            capacity,
            kept_bytes: 0,
            total: 0,
        }
    }

    pub(crate) fn push(&mut self, entry: Entry) {
        self.total += 1;
        if self.capacity == 0 {
            return;
        }
        self.kept_bytes += entry.kept_bytes();
        self.entries.push_back(entry);
        while self.entries.len() > self.capacity
            || (self.kept_bytes > LOG_BODY_BUDGET && self.entries.len() > 1)
        {
            if let Some(old) = self.entries.pop_front() {
                self.kept_bytes -= old.kept_bytes();
            }
        }
    }

    pub(crate) fn entries(&self) -> Vec<LoggedRequest> {
        self.entries.iter().map(Entry::to_logged).collect()
    }

    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    pub(crate) fn clear(&mut self) {
        self.entries = VecDeque::new();
        self.kept_bytes = 0;
        self.total = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(status: u16, body: Kept) -> Entry {
        Entry {
            operation: None,
            method: "GET".into(),
            path: "/".into(),
            query: Vec::new(),
            body,
            status,
            response: Kept::Nothing,
            injected: false,
            dropped: false,
        }
    }

    #[test]
    fn the_log_keeps_the_newest_entries_up_to_its_capacity() {
        let mut log = RequestLog::new(3);
        for status in 1..=5 {
            log.push(entry(status, Kept::Nothing));
        }
        let kept: Vec<u16> = log.entries().iter().map(|e| e.status).collect();
        assert_eq!(kept, [3, 4, 5]);
        assert_eq!(log.total(), 5);
        log.clear();
        assert!(log.entries().is_empty());
    }

    #[test]
    fn large_bodies_are_summarised_with_their_item_count_and_hash() {
        let body =
            json!({"values": (0..100).map(|i| json!({"ts": i, "value": i})).collect::<Vec<_>>()});
        let bytes = serde_json::to_vec(&body).unwrap();
        let Kept::Summary(summary) = keep(&bytes, Some(&body), 64) else {
            panic!("summarised")
        };
        assert_eq!(summary.items, Some(100));
        assert_eq!(summary.bytes, bytes.len());
        assert_eq!(summary, BodySummary::of(&bytes, Some(&body)));
        assert_ne!(summary.fnv1a, BodySummary::of(b"other", None).fnv1a);
        let small = keep(b"{}", Some(&json!({})), 64);
        assert_eq!(small.split(), (Some(json!({})), None));
    }

    #[test]
    fn the_log_drops_its_oldest_entries_beyond_its_byte_budget() {
        let mut log = RequestLog::new(usize::MAX);
        let body = vec![b'1'; LOG_BODY_BUDGET / 4];
        for status in 1..=6 {
            log.push(entry(status, Kept::Json(body.clone().into())));
        }
        let kept: Vec<u16> = log.entries().iter().map(|e| e.status).collect();
        assert_eq!(kept, [3, 4, 5, 6]);
    }
}
