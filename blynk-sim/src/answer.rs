//! What an operation answers, free of HTTP: a status, an optional JSON body and an optional
//! `Retry-After`. The rules produce it; the HTTP layer encodes it.

use serde_json::{Value, json};

/// How long a client should wait before retrying, as sent in `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// `Retry-After: <seconds>`.
    Seconds(u64),
    /// `Retry-After: <HTTP date>`, this many seconds after the wall clock's now.
    Date(u64),
}

/// An API answer: status and optional JSON body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Option<Value>,
    pub(crate) retry_after: Option<Wait>,
}

impl Answer {
    pub(crate) fn ok(body: Value) -> Self {
        Self {
            status: 200,
            body: Some(body),
            retry_after: None,
        }
    }

    pub(crate) fn no_content() -> Self {
        Self::bare(204)
    }

    /// An `ErrorResponse` body (`{"error": {"message": ...}}`).
    pub(crate) fn error(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            body: Some(json!({"error": {"message": message.into()}})),
            retry_after: None,
        }
    }

    /// A status without a body (403 and 429 have none in the document).
    pub(crate) fn bare(status: u16) -> Self {
        Self {
            status,
            body: None,
            retry_after: None,
        }
    }

    /// 429 `Too many requests`, with an optional `Retry-After`.
    pub(crate) fn too_many(retry_after: Option<Wait>) -> Self {
        Self {
            status: 429,
            body: None,
            retry_after,
        }
    }

    /// An answer of `status` shaped as the document says: `ErrorResponse` for the statuses that
    /// carry it, nothing for the others.
    pub(crate) fn documented(status: u16, message: &str) -> Self {
        match status {
            400 | 404 | 500 => Self::error(status, message),
            _ => Self::bare(status),
        }
    }
}
