//! The request log: a ring buffer of what was received and answered (default
//! [`DEFAULT_LOG_CAPACITY`] entries, oldest dropped first), with bodies above a size kept only as
//! a [`BodySummary`], so memory stays bounded however long the simulator runs.

use std::collections::VecDeque;

use serde::Serialize;
use serde_json::Value;

/// Entries the log keeps by default.
pub const DEFAULT_LOG_CAPACITY: usize = 10_000;
/// Bodies larger than this many bytes are logged as a [`BodySummary`] by default.
pub const DEFAULT_LOG_BODY_LIMIT: usize = 4 * 1024;

/// What the log keeps of a body too large to keep whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// Status answered (0 when the connection was dropped before an answer).
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

/// A body as the log keeps it: whole when small, summarised when large.
pub(crate) fn keep(
    bytes: &[u8],
    json: Option<Value>,
    limit: usize,
) -> (Option<Value>, Option<BodySummary>) {
    if bytes.len() <= limit {
        (json, None)
    } else {
        let summary = BodySummary::of(bytes, json.as_ref());
        (None, Some(summary))
    }
}

/// The ring buffer.
pub(crate) struct RequestLog {
    entries: VecDeque<LoggedRequest>,
    capacity: usize,
    /// Requests logged since the start or the last clear, including those no longer kept.
    total: u64,
}

impl RequestLog {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            capacity,
            total: 0,
        }
    }

    pub(crate) fn push(&mut self, entry: LoggedRequest) {
        self.total += 1;
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub(crate) fn entries(&self) -> Vec<LoggedRequest> {
        self.entries.iter().cloned().collect()
    }

    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.total = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(status: u16) -> LoggedRequest {
        LoggedRequest {
            operation: None,
            method: "GET".into(),
            path: "/".into(),
            query: Vec::new(),
            body: None,
            body_summary: None,
            status,
            response: None,
            response_summary: None,
            injected: false,
            dropped: false,
        }
    }

    #[test]
    fn the_log_keeps_the_newest_entries_up_to_its_capacity() {
        let mut log = RequestLog::new(3);
        for status in 1..=5 {
            log.push(entry(status));
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
        let (kept, summary) = keep(&bytes, Some(body.clone()), 64);
        assert!(kept.is_none());
        let summary = summary.unwrap();
        assert_eq!(summary.items, Some(100));
        assert_eq!(summary.bytes, bytes.len());
        assert_eq!(summary, BodySummary::of(&bytes, Some(&body)));
        assert_ne!(summary.fnv1a, BodySummary::of(b"other", None).fnv1a);
        let (kept, summary) = keep(b"{}", Some(json!({})), 64);
        assert_eq!((kept, summary), (Some(json!({})), None));
    }
}
