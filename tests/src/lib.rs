//! Shared helpers of the contract and end-to-end suites in `tests/tests/`.
//!
//! - [`Spec`] validates JSON against the schemas of the merged OpenAPI document, so a contract test
//!   checks the client against the document, not against what we believe the document says.
//! - [`Recorder`] captures what an httpmock server received, for exact assertions afterwards.
//! - [`Operation`] lists the eight operations with their documented method and path.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use httpmock::HttpMockRequest;
use serde_json::Value;

/// Path of the merged OpenAPI document the client is generated from.
pub fn merged_document_path() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/blynk-platform.json"
    ))
}

/// The merged document, loaded once.
pub struct Spec {
    doc: Value,
}

/// The merged document of the workspace.
pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::fs::read_to_string(merged_document_path()).expect("merged document");
        Spec {
            doc: serde_json::from_str(&text).expect("merged document is JSON"),
        }
    })
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

impl Spec {
    /// The raw document.
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// JSON pointer of an operation, e.g. `/paths/~1api~1v1~1.../get`.
    pub fn operation_pointer(&self, operation_id: &str) -> String {
        for (path, item) in self.doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if op["operationId"] == operation_id {
                    return format!("/paths/{}/{method}", escape(path));
                }
            }
        }
        panic!("operation {operation_id} is not in the document");
    }

    /// The statuses the document declares for an operation, ascending.
    pub fn documented_statuses(&self, operation_id: &str) -> Vec<u16> {
        let pointer = format!("{}/responses", self.operation_pointer(operation_id));
        let mut statuses: Vec<u16> = self
            .doc
            .pointer(&pointer)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .map(|s| s.parse().unwrap())
            .collect();
        statuses.sort_unstable();
        statuses
    }

    /// Whether the document gives `status` of `operation_id` a JSON body.
    pub fn has_json_body(&self, operation_id: &str, status: u16) -> bool {
        let pointer = format!(
            "{}/responses/{status}/content/application~1json/schema",
            self.operation_pointer(operation_id)
        );
        self.doc.pointer(&pointer).is_some()
    }

    fn errors_at(&self, schema_pointer: &str, instance: &Value) -> Vec<String> {
        assert!(
            self.doc.pointer(schema_pointer).is_some(),
            "no schema at {schema_pointer}"
        );
        // The document itself is the root schema, so every `$ref` inside resolves; the root `$ref`
        // selects the schema to apply. OpenAPI 3.0 schemas are a draft-4 dialect.
        let mut root = self.doc.clone();
        root["$ref"] = Value::String(format!("#{schema_pointer}"));
        let validator = jsonschema::draft4::new(&root).expect("schema compiles");
        validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    /// Panics, listing every violation, unless `body` is valid for the operation's request body.
    pub fn assert_request(&self, operation_id: &str, body: &Value) {
        let pointer = format!(
            "{}/requestBody/content/application~1json/schema",
            self.operation_pointer(operation_id)
        );
        let errors = self.errors_at(&pointer, body);
        assert!(
            errors.is_empty(),
            "{operation_id}: request body {body} violates the document: {errors:#?}"
        );
    }

    /// The violations of `body` against the documented `status` response of the operation.
    pub fn response_errors(&self, operation_id: &str, status: u16, body: &Value) -> Vec<String> {
        let pointer = format!(
            "{}/responses/{status}/content/application~1json/schema",
            self.operation_pointer(operation_id)
        );
        self.errors_at(&pointer, body)
    }

    /// Panics, listing every violation, unless `body` is valid for the documented response.
    pub fn assert_response(&self, operation_id: &str, status: u16, body: &Value) {
        let errors = self.response_errors(operation_id, status, body);
        assert!(
            errors.is_empty(),
            "{operation_id} {status}: response body {body} violates the document: {errors:#?}"
        );
    }
}

/// Sets `then` to answer `status` with `body`, after checking that the document allows this body
/// for this status of this operation. Every JSON body the contract suite serves goes through here
/// or through the typed mocks (whose types are generated from the same schemas).
pub fn serve_json(then: httpmock::Then, operation_id: &str, status: u16, body: &Value) {
    spec().assert_response(operation_id, status, body);
    then.status(status)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap());
}

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// Query pairs in the order sent, percent-decoded.
    pub query: Vec<(String, String)>,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Received {
    /// All values of a header.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The one value of a header; panics if absent or repeated.
    pub fn header(&self, name: &str) -> &str {
        match self.header_values(name).as_slice() {
            [one] => one,
            other => panic!("header {name}: expected one value, got {other:?}"),
        }
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }

    /// Query pairs sorted, for comparisons where order does not matter.
    pub fn sorted_query(&self) -> Vec<(String, String)> {
        let mut query = self.query.clone();
        query.sort();
        query
    }
}

/// Records every request a mock matched. Add [`Recorder::matcher`] to a `When`.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Received>>>);

impl Recorder {
    /// A new, empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// An httpmock matcher that records the request and matches everything.
    pub fn matcher(&self) -> impl Fn(&HttpMockRequest) -> bool + Send + Sync + 'static {
        let log = self.0.clone();
        move |request: &HttpMockRequest| {
            let uri = request.uri();
            log.lock().unwrap().push(Received {
                method: request.method_str().to_string(),
                path: uri.path().to_string(),
                query: request.query_params(),
                headers: request
                    .headers_vec()
                    .iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                    .collect(),
                body: request.body_vec(),
            });
            true
        }
    }

    /// Every request recorded so far.
    pub fn all(&self) -> Vec<Received> {
        self.0.lock().unwrap().clone()
    }

    /// The single request recorded; panics if there were none or several.
    pub fn only(&self) -> Received {
        let all = self.all();
        assert_eq!(all.len(), 1, "expected exactly one request, got {all:#?}");
        all.into_iter().next().unwrap()
    }
}

/// One of the eight operations, with its documented method and path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The `operationId`.
    pub id: &'static str,
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path.
    pub path: &'static str,
}

/// All eight operations.
pub const OPERATIONS: [Operation; 8] = [
    Operation {
        id: "getDeviceDataStreamsV2",
        method: "GET",
        path: "/api/v2/organization/device/datastreams",
    },
    Operation {
        id: "getBatchDeviceDataStreams",
        method: "GET",
        path: "/api/v1/organization/device/datastreams/batch",
    },
    Operation {
        id: "getDeviceDataStreamHistory",
        method: "GET",
        path: "/api/v1/organization/device/datastream/history",
    },
    Operation {
        id: "updateDeviceDataStream",
        method: "POST",
        path: "/api/v1/organization/device/datastream",
    },
    Operation {
        id: "updateMultipleDeviceDataStreams",
        method: "POST",
        path: "/api/v1/organization/device/datastreams",
    },
    Operation {
        id: "batchUpdateDeviceDataStreams",
        method: "POST",
        path: "/api/v1/organization/product/devices/batch-update",
    },
    Operation {
        id: "importDeviceBatchData",
        method: "POST",
        path: "/api/v1/organization/device/import/batch",
    },
    Operation {
        id: "updateDeviceDataStreamProperty",
        method: "POST",
        path: "/api/v1/organization/device/datastream/property",
    },
];
