//! Shared helpers of the client tests: httpmock servers on 127.0.0.1, a client pointed at them,
//! canned answers. Paths are written out here on purpose: the tests are the independent check of
//! the operation table.

#![allow(dead_code)]

use blynk_api_ext::Blynk;
use blynk_api_ext::clock::ManualClock;
use httpmock::Method::{GET, POST};
use httpmock::MockServer;
use serde_json::json;

pub const VALUES: &str = "/api/v2/organization/device/datastreams";
pub const SET: &str = "/api/v1/organization/device/datastream";
pub const TOKEN_PATH: &str = "/oauth2/token";
/// base64("cid:csecret")
pub const BASIC: &str = "Basic Y2lkOmNzZWNyZXQ=";

pub fn builder(server: &MockServer) -> blynk_api_ext::BlynkBuilder {
    Blynk::builder().base_url(server.base_url())
}

pub fn with_token(server: &MockServer) -> Blynk {
    builder(server)
        .token("static-token")
        .clock(ManualClock::new())
        .build()
        .unwrap()
}

pub fn values_ok(server: &MockServer) -> httpmock::Mock<'_> {
    server.mock(|when, then| {
        when.method(GET).path(VALUES);
        then.status(200).json_body(json!({"dataStreams": []}));
    })
}

/// The token endpoint answering `status` with `body` to a request for `grant_type`.
pub fn grant<'a>(
    server: &'a MockServer,
    grant_type: &str,
    status: u16,
    body: serde_json::Value,
) -> httpmock::Mock<'a> {
    server.mock(|when, then| {
        when.method(POST)
            .path(TOKEN_PATH)
            .query_param("grant_type", grant_type);
        then.status(status).json_body(body);
    })
}

/// The values endpoint answering `status` to requests carrying `authorization` (an empty list of
/// datastreams for a 200, no body otherwise).
pub fn values_for<'a>(
    server: &'a MockServer,
    authorization: &str,
    status: u16,
) -> httpmock::Mock<'a> {
    server.mock(|when, then| {
        when.method(GET)
            .path(VALUES)
            .header("authorization", authorization);
        let then = then.status(status);
        if status == 200 {
            then.json_body(json!({"dataStreams": []}));
        }
    })
}

pub fn token_body(token: &str, expires_in: u64, refresh: Option<&str>) -> serde_json::Value {
    let mut body = json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in});
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
    }
    body
}

pub fn first_then(
    server: &MockServer,
    method: httpmock::Method,
    path: &str,
    first: u16,
    retry_after: Option<&str>,
) {
    let retry_after = retry_after.map(str::to_string);
    server
        .mock(|when, then| {
            when.method(method.to_string().as_str()).path(path);
            let then = then.status(first);
            if let Some(r) = retry_after {
                then.header("retry-after", r);
            }
        })
        .up_to_n_times(1);
}
