//! Each rule of the simulator, over raw HTTP on 127.0.0.1.

use std::time::{Duration, Instant};

use blynk_sim::{
    BlynkSim, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TOKEN, DEMO_VIEWER_TOKEN, Faults,
    ImportLimit, Principal, RateLimit, Scope, Seed, SeedError, StaticToken,
};
use serde_json::{Value, json};

const VALUES: &str = "/api/v2/organization/device/datastreams";
const BATCH: &str = "/api/v1/organization/device/datastreams/batch";
const HISTORY: &str = "/api/v1/organization/device/datastream/history";
const SET: &str = "/api/v1/organization/device/datastream";
const SET_MANY: &str = "/api/v1/organization/device/datastreams";
const BATCH_UPDATE: &str = "/api/v1/organization/product/devices/batch-update";
const IMPORT: &str = "/api/v1/organization/device/import/batch";
const PROPERTY: &str = "/api/v1/organization/device/datastream/property";

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Option<Value>,
}

async fn call(sim: &BlynkSim, method: &str, path: &str, body: Option<Value>, token: &str) -> Reply {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", sim.base_url());
    let mut request = match method {
        "GET" => client.get(url),
        _ => client.post(url),
    };
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).ok(),
    }
}

async fn get(sim: &BlynkSim, path: &str) -> Reply {
    call(sim, "GET", path, None, DEMO_TOKEN).await
}

async fn post(sim: &BlynkSim, path: &str, body: Value) -> Reply {
    call(sim, "POST", path, Some(body), DEMO_TOKEN).await
}

fn message(reply: &Reply) -> String {
    reply.body.as_ref().unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Start-up and tokens
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn it_listens_on_loopback_and_stops_when_dropped() {
    let sim = BlynkSim::start().await.unwrap();
    assert!(sim.base_url().starts_with("http://127.0.0.1:"));
    assert_ne!(sim.address().port(), 0);
    let url = sim.base_url().to_string();
    assert_eq!(get(&sim, &format!("{VALUES}?deviceId=1")).await.status, 200);
    drop(sim);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let fresh = reqwest::Client::new();
    assert!(
        fresh
            .get(format!("{url}{VALUES}?deviceId=1"))
            .send()
            .await
            .is_err()
    );
}

async fn token_request(
    sim: &BlynkSim,
    id: &str,
    secret: &str,
    query: &str,
    form: Option<(&str, &str)>,
) -> Reply {
    let client = reqwest::Client::new();
    let mut request = client
        .post(format!("{}/oauth2/token?{query}", sim.base_url()))
        .basic_auth(id, Some(secret));
    if let Some(form) = form {
        request = request.form(&[form]);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    Reply {
        status,
        headers,
        body: response.json().await.ok(),
    }
}

#[tokio::test]
async fn client_credentials_give_a_token_that_expires() {
    let sim = BlynkSim::start().await.unwrap();
    let reply = token_request(
        &sim,
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        "grant_type=client_credentials",
        None,
    )
    .await;
    assert_eq!(reply.status, 200);
    let body = reply.body.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap().to_string();
    let path = format!("{VALUES}?deviceId=1");
    assert_eq!(call(&sim, "GET", &path, None, &token).await.status, 200);
    sim.advance_clock(Duration::from_secs(3601));
    assert_eq!(call(&sim, "GET", &path, None, &token).await.status, 401);
}

#[tokio::test]
async fn wrong_client_credentials_are_an_oauth_error() {
    let sim = BlynkSim::start().await.unwrap();
    let reply = token_request(
        &sim,
        DEMO_CLIENT_ID,
        "nope",
        "grant_type=client_credentials",
        None,
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body.unwrap()["error"], "invalid_client");
    let reply = token_request(
        &sim,
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        "grant_type=password",
        None,
    )
    .await;
    assert_eq!(reply.body.unwrap()["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn a_refresh_token_works_once_from_the_form_body_or_the_query() {
    let sim = BlynkSim::start().await.unwrap();
    let first = token_request(
        &sim,
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        "grant_type=client_credentials",
        None,
    )
    .await;
    let refresh = first.body.unwrap()["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let second = token_request(
        &sim,
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        "grant_type=refresh_token",
        Some(("refresh_token", &refresh)),
    )
    .await;
    assert_eq!(second.status, 200);
    let again = token_request(
        &sim,
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        "grant_type=refresh_token",
        Some(("refresh_token", &refresh)),
    )
    .await;
    assert_eq!(again.status, 400);
    assert_eq!(again.body.unwrap()["error"], "invalid_grant");
    let next = second.body.unwrap()["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let by_query = token_request(
        &sim,
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        &format!("grant_type=refresh_token&refresh_token={next}"),
        None,
    )
    .await;
    assert_eq!(by_query.status, 200);
}

#[tokio::test]
async fn requests_without_a_valid_token_are_401() {
    let sim = BlynkSim::start().await.unwrap();
    let path = format!("{VALUES}?deviceId=1");
    assert_eq!(call(&sim, "GET", &path, None, "").await.status, 401);
    assert_eq!(call(&sim, "GET", &path, None, "forged").await.status, 401);
}

// ---------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn device_values_list_the_products_datastreams_and_filter() {
    let sim = BlynkSim::start().await.unwrap();
    let all = get(&sim, &format!("{VALUES}?deviceId=1"))
        .await
        .body
        .unwrap();
    let labels: Vec<&str> = all["dataStreams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["dataStreamLabel"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Temperature", "Humidity", "Mode", "Location"]);
    // Seeded history gives Temperature a value; Humidity has none yet.
    assert!(all["dataStreams"][0]["value"].is_number());
    assert!(all["dataStreams"][1].get("value").is_none());
    let some = get(
        &sim,
        &format!("{VALUES}?deviceId=1&dataStreamIds=2&dataStreamIds=3"),
    )
    .await
    .body
    .unwrap();
    assert_eq!(some["dataStreams"].as_array().unwrap().len(), 2);
    let missing = get(&sim, &format!("{VALUES}?deviceId=999")).await;
    assert_eq!(missing.status, 404);
    assert!(message(&missing).contains("Device with identifier 999"));
}

#[tokio::test]
async fn a_batch_read_of_more_than_ten_devices_is_400() {
    let sim = BlynkSim::start().await.unwrap();
    let ids: String = (1..=11).map(|i| format!("deviceIds={i}&")).collect();
    let reply = get(&sim, &format!("{BATCH}?{ids}")).await;
    assert_eq!(reply.status, 400);
    assert!(message(&reply).contains("10"));
    let ids: String = (1..=10).map(|i| format!("deviceIds={i}&")).collect();
    assert_eq!(get(&sim, &format!("{BATCH}?{ids}")).await.status, 200);
}

#[tokio::test]
async fn a_batch_read_skips_unknown_and_inaccessible_devices() {
    let sim = BlynkSim::start().await.unwrap();
    let body = get(
        &sim,
        &format!("{BATCH}?deviceIds=2&deviceIds=999&deviceIds=101"),
    )
    .await
    .body
    .unwrap();
    let ids: Vec<i64> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["deviceId"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [2, 101]);
    // alice owns devices 1..=5 and has OWN_DEVICES_VIEW only.
    let body = call(
        &sim,
        "GET",
        &format!("{BATCH}?deviceIds=1&deviceIds=6"),
        None,
        DEMO_VIEWER_TOKEN,
    )
    .await
    .body
    .unwrap();
    let ids: Vec<i64> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["deviceId"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1]);
}

#[tokio::test]
async fn history_pages_through_the_range_with_the_total() {
    let sim = BlynkSim::start().await.unwrap();
    let base = "deviceId=1&dataStreamId=1&from=0&to=9999999999999";
    let first = get(&sim, &format!("{HISTORY}?{base}&page=0&size=1000"))
        .await
        .body
        .unwrap();
    assert_eq!(first["totalElements"], 1440);
    assert_eq!(first["content"].as_array().unwrap().len(), 1000);
    let second = get(&sim, &format!("{HISTORY}?{base}&page=1&size=1000"))
        .await
        .body
        .unwrap();
    assert_eq!(second["content"].as_array().unwrap().len(), 440);
    let default = get(&sim, &format!("{HISTORY}?{base}")).await.body.unwrap();
    assert_eq!(
        default["content"].as_array().unwrap().len(),
        50,
        "default page size"
    );
    let narrow = get(
        &sim,
        &format!("{HISTORY}?deviceId=1&dataStreamId=1&from=1704067200000&to=1704067259999"),
    )
    .await
    .body
    .unwrap();
    assert_eq!(narrow["totalElements"], 1);
}

#[tokio::test]
async fn a_history_page_size_outside_1_to_1000_is_400() {
    let sim = BlynkSim::start().await.unwrap();
    let base = "deviceId=1&dataStreamId=1&from=0&to=1";
    for size in [0, 1001] {
        let reply = get(&sim, &format!("{HISTORY}?{base}&size={size}")).await;
        assert_eq!(reply.status, 400, "{size}");
        assert!(message(&reply).contains("between 1 and 1000"));
    }
    assert_eq!(
        get(&sim, &format!("{HISTORY}?{base}&page=-1")).await.status,
        400
    );
}

// ---------------------------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_single_update_with_the_wrong_type_is_400() {
    let sim = BlynkSim::start().await.unwrap();
    let reply = post(
        &sim,
        SET,
        json!({"deviceId": 2, "dataStreamId": 1, "value": "hot"}),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert!(message(&reply).contains("does not match"));
    let reply = post(
        &sim,
        SET,
        json!({"deviceId": 2, "dataStreamId": 1, "value": 500.0}),
    )
    .await;
    assert_eq!(reply.status, 400, "outside -40..85");
    assert_eq!(
        post(
            &sim,
            SET,
            json!({"deviceId": 2, "dataStreamId": 1, "value": 21.5})
        )
        .await
        .status,
        204
    );
    assert_eq!(sim.value(2, 1), Some(json!(21.5)));
    assert_eq!(
        post(
            &sim,
            SET,
            json!({"deviceId": 2, "dataStreamId": 4, "value": [24.1, 56.9]})
        )
        .await
        .status,
        204
    );
    assert_eq!(
        post(
            &sim,
            SET,
            json!({"deviceId": 2, "dataStreamId": 10, "value": 1})
        )
        .await
        .status,
        404,
        "datastream of another product"
    );
}

#[tokio::test]
async fn a_multiple_update_skips_mismatches_silently() {
    let sim = BlynkSim::start().await.unwrap();
    let reply = post(
        &sim,
        SET_MANY,
        json!({"deviceId": 3, "values": {"1": 22.0, "2": "wet", "3": "eco", "77": 1}}),
    )
    .await;
    assert_eq!(reply.status, 204);
    assert_eq!(sim.value(3, 1), Some(json!(22.0)));
    assert_eq!(
        sim.value(3, 2),
        None,
        "a string for a number datastream is skipped"
    );
    assert_eq!(sim.value(3, 3), Some(json!("eco")));
}

#[tokio::test]
async fn a_batch_update_takes_the_product_from_the_first_valid_device_and_counts_skips() {
    let sim = BlynkSim::start().await.unwrap();
    let reply = post(
        &sim,
        BATCH_UPDATE,
        json!({
            "fields": ["deviceId", "Temperature", "Mode"],
            "updates": [
                [999, 1.0, "x"],          // unknown device: skipped, not the product source
                [7, 20.5, null],          // first valid: product 1
                [101, 30.0, "y"],         // tracker: wrong product
                [null, 1.0, "z"],         // null device
                ["abc", 1.0, "z"],        // non-numeric
                [8, 1.0],                 // wrong width
                [9, "warm", "eco"]        // type mismatch in a cell: cell skipped, row applied
            ]
        }),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body.unwrap(),
        json!({"deviceNotFound": 1, "wrongProduct": 1, "nullDeviceId": 1, "nonNumericDeviceId": 1, "invalidRowSize": 1})
    );
    assert_eq!(sim.value(7, 1), Some(json!(20.5)));
    assert_eq!(sim.value(9, 3), Some(json!("eco")));
    assert_eq!(sim.value(9, 1), None);
}

#[tokio::test]
async fn a_batch_update_in_debug_mode_lists_at_most_100_reasons() {
    let sim = BlynkSim::start().await.unwrap();
    let mut updates = vec![json!([1, 20.0])];
    updates.extend((0..150).map(|i| json!([10_000 + i, 20.0])));
    let reply = post(
        &sim,
        BATCH_UPDATE,
        json!({"fields": ["deviceId", "Temperature"], "updates": updates, "debug": true}),
    )
    .await;
    assert_eq!(reply.status, 200);
    let reasons = reply.body.unwrap()["skippedRows"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(reasons.len(), 100);
    assert_eq!(reasons[0], "Row 1: device 10000 not found");
}

#[tokio::test]
async fn a_batch_update_is_204_when_every_row_applies_and_400_without_a_valid_device() {
    let sim = BlynkSim::start().await.unwrap();
    let ok = post(
        &sim,
        BATCH_UPDATE,
        json!({"fields": ["deviceId", "Humidity"], "updates": [[1, 40.0], [2, 41.0]]}),
    )
    .await;
    assert_eq!(ok.status, 204);
    assert_eq!(sim.value(2, 2), Some(json!(41.0)));
    let none = post(
        &sim,
        BATCH_UPDATE,
        json!({"fields": ["deviceId", "Humidity"], "updates": [[999, 40.0]]}),
    )
    .await;
    assert_eq!(none.status, 400);
    assert!(message(&none).contains("No valid device"));
    let bad_fields = post(
        &sim,
        BATCH_UPDATE,
        json!({"fields": ["Humidity", "deviceId"], "updates": [[1, 40.0]]}),
    )
    .await;
    assert_eq!(bad_fields.status, 400);
}

#[tokio::test]
async fn an_import_over_10000_points_is_400() {
    let sim = BlynkSim::start().await.unwrap();
    let values: Vec<Value> = (0..10_001)
        .map(|i| json!({"ts": 1_600_000_000_000i64 + i, "value": 1.0}))
        .collect();
    let reply = post(
        &sim,
        IMPORT,
        json!({"deviceId": 1, "dataStreamId": 2, "values": values}),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert!(message(&reply).contains("10000"));
}

#[tokio::test]
async fn an_import_skips_points_more_than_a_month_ahead() {
    let sim = BlynkSim::start().await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let day = 86_400_000i64;
    let reply = post(
        &sim,
        IMPORT,
        json!({"deviceId": 1, "dataStreamId": 2, "values": [
            {"ts": now - day, "value": 1.0},
            {"ts": now + 10 * day, "value": 2.0},
            {"ts": now + 40 * day, "value": 3.0}
        ]}),
    )
    .await;
    assert_eq!(reply.status, 204);
    let values: Vec<f64> = sim.history(1, 2).into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, [1.0, 2.0]);
}

#[tokio::test]
async fn imports_are_rate_limited_per_device_with_429() {
    let sim = BlynkSim::builder()
        .import_limit(ImportLimit {
            burst: 2,
            per_second: 0.001,
        })
        .start()
        .await
        .unwrap();
    let body = |device: i32| json!({"deviceId": device, "dataStreamId": 1, "values": [{"ts": 1_600_000_000_000i64, "value": 1.0}]});
    assert_eq!(post(&sim, IMPORT, body(1)).await.status, 204);
    assert_eq!(post(&sim, IMPORT, body(1)).await.status, 204);
    let limited = post(&sim, IMPORT, body(1)).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.headers["retry-after"], "1");
    assert!(limited.body.is_none(), "429 has no body");
    assert_eq!(
        post(&sim, IMPORT, body(2)).await.status,
        204,
        "another device has its own budget"
    );
}

#[tokio::test]
async fn property_names_and_value_formats_are_validated() {
    let sim = BlynkSim::start().await.unwrap();
    let set = |property: &str, value: &str| json!({"deviceId": 1, "dataStreamId": 1, "property": property, "value": value});
    assert_eq!(
        post(&sim, PROPERTY, set("label", "Kitchen")).await.status,
        204
    );
    assert_eq!(sim.property(1, 1, "label").as_deref(), Some("Kitchen"));
    assert_eq!(
        post(&sim, PROPERTY, set("color", "#23C48E")).await.status,
        204
    );
    for (property, value) in [
        ("color", "green"),
        ("max", "lots"),
        ("isHidden", "maybe"),
        ("url", "ftp://x"),
        ("colour", "#000000"),
    ] {
        let reply = post(&sim, PROPERTY, set(property, value)).await;
        assert_eq!(reply.status, 400, "{property}={value}");
        assert!(!message(&reply).is_empty());
    }
    assert_eq!(
        post(&sim, PROPERTY, set("label", &"x".repeat(201)))
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn user_scoped_tokens_are_limited_by_their_scopes() {
    let mut seed = Seed::demo();
    seed.tokens.push(StaticToken {
        token: "org-viewer".into(),
        principal: Principal::user("bob", [Scope::OrgDevicesView]),
    });
    seed.tokens.push(StaticToken {
        token: "controller".into(),
        principal: Principal::user("alice", [Scope::OwnDevicesView, Scope::OrgDevicesControl]),
    });
    seed.tokens.push(StaticToken {
        token: "nobody".into(),
        principal: Principal::user("carol", []),
    });
    let sim = BlynkSim::builder().seed(seed).start().await.unwrap();
    let read = |id: i32| format!("{VALUES}?deviceId={id}");
    // OWN_DEVICES_VIEW: own devices only.
    assert_eq!(
        call(&sim, "GET", &read(1), None, DEMO_VIEWER_TOKEN)
            .await
            .status,
        200
    );
    assert_eq!(
        call(&sim, "GET", &read(6), None, DEMO_VIEWER_TOKEN)
            .await
            .status,
        404
    );
    // ORG_DEVICES_VIEW: every device.
    assert_eq!(
        call(&sim, "GET", &read(6), None, "org-viewer").await.status,
        200
    );
    // No view permission at all.
    assert_eq!(
        call(&sim, "GET", &read(1), None, "nobody").await.status,
        403
    );
    // Writes need ORG_DEVICES_CONTROL, and only on visible devices.
    let write = |id: i32| Some(json!({"deviceId": id, "dataStreamId": 1, "value": 20.0}));
    assert_eq!(
        call(&sim, "POST", SET, write(1), DEMO_VIEWER_TOKEN)
            .await
            .status,
        403
    );
    assert_eq!(
        call(&sim, "POST", SET, write(1), "controller").await.status,
        204
    );
    assert_eq!(
        call(&sim, "POST", SET, write(6), "controller").await.status,
        404
    );
    // Import needs ORG_DEVICE_DATA_IMPORT.
    let import =
        Some(json!({"deviceId": 1, "dataStreamId": 1, "values": [{"ts": 1, "value": 1.0}]}));
    assert_eq!(
        call(&sim, "POST", IMPORT, import, "controller")
            .await
            .status,
        403
    );
    // Batch update rows on invisible devices are counted as noAccessToDevice.
    let update =
        Some(json!({"fields": ["deviceId", "Temperature"], "updates": [[1, 20.0], [6, 20.0]]}));
    let reply = call(&sim, "POST", BATCH_UPDATE, update, "controller").await;
    assert_eq!(reply.body.unwrap(), json!({"noAccessToDevice": 1}));
}

#[tokio::test]
async fn bodies_over_two_megabytes_are_refused() {
    let sim = BlynkSim::start().await.unwrap();
    let big = "x".repeat(2_000_001);
    let reply = post(
        &sim,
        SET,
        json!({"deviceId": 1, "dataStreamId": 3, "value": big}),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert!(message(&reply).contains("2 MB"));
}

#[tokio::test]
async fn errors_have_the_error_response_shape() {
    let sim = BlynkSim::start().await.unwrap();
    let reply = get(&sim, &format!("{VALUES}?deviceId=999")).await;
    let body = reply.body.unwrap();
    assert_eq!(body.as_object().unwrap().len(), 1);
    assert!(body["error"]["message"].is_string());
}

// ---------------------------------------------------------------------------------------------
// Faults and the request log
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn latency_is_added() {
    let sim = BlynkSim::builder()
        .faults(Faults {
            latency_ms: 150,
            ..Faults::default()
        })
        .start()
        .await
        .unwrap();
    let start = Instant::now();
    get(&sim, &format!("{VALUES}?deviceId=1")).await;
    assert!(start.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn injected_429s_come_with_or_without_retry_after() {
    let sim = BlynkSim::start().await.unwrap();
    for retry_after in [Some(3), None] {
        sim.set_faults(Faults {
            rate_limit: Some(RateLimit::Fraction {
                fraction: 1.0,
                retry_after_secs: retry_after,
            }),
            ..Faults::default()
        })
        .unwrap();
        let reply = get(&sim, &format!("{VALUES}?deviceId=1")).await;
        assert_eq!(reply.status, 429);
        assert_eq!(
            reply
                .headers
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string()),
            retry_after.map(|s| s.to_string())
        );
    }
    sim.set_faults(Faults {
        rate_limit: Some(RateLimit::TokenBucket {
            capacity: 2,
            per_second: 0.001,
            retry_after_secs: Some(1),
        }),
        ..Faults::default()
    })
    .unwrap();
    let statuses: Vec<u16> = futures_statuses(&sim, 4).await;
    assert_eq!(statuses, [200, 200, 429, 429]);
}

async fn futures_statuses(sim: &BlynkSim, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(get(sim, &format!("{VALUES}?deviceId=1")).await.status);
    }
    out
}

#[tokio::test]
async fn injected_server_errors_and_their_share_replay_under_a_seed() {
    let faults = Faults {
        server_error_fraction: 0.5,
        seed: 11,
        ..Faults::default()
    };
    let sim = BlynkSim::builder()
        .faults(faults.clone())
        .start()
        .await
        .unwrap();
    let first = futures_statuses(&sim, 40).await;
    assert!(first.contains(&500) && first.contains(&200));
    sim.set_faults(faults).unwrap();
    assert_eq!(
        futures_statuses(&sim, 40).await,
        first,
        "same seed, same sequence"
    );
    let reply = get(&sim, &format!("{VALUES}?deviceId=1")).await;
    if reply.status == 500 {
        assert!(message(&reply).contains("Injected"));
    }
}

#[tokio::test]
async fn dropped_connections_and_truncated_bodies_fail_on_the_client() {
    let sim = BlynkSim::builder()
        .faults(Faults {
            drop_fraction: 1.0,
            ..Faults::default()
        })
        .start()
        .await
        .unwrap();
    let url = format!("{}{VALUES}?deviceId=1", sim.base_url());
    let outcome = async {
        reqwest::Client::new()
            .get(&url)
            .bearer_auth(DEMO_TOKEN)
            .send()
            .await?
            .bytes()
            .await
    }
    .await;
    assert!(outcome.is_err(), "{outcome:?}");

    sim.set_faults(Faults {
        truncate_fraction: 1.0,
        ..Faults::default()
    })
    .unwrap();
    let response = reqwest::Client::new()
        .get(&url)
        .bearer_auth(DEMO_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.is_err(), "the body breaks off");
}

#[tokio::test]
async fn faults_can_be_changed_over_http() {
    let sim = BlynkSim::start().await.unwrap();
    let response = reqwest::Client::new()
        .put(format!("{}/__sim/faults", sim.base_url()))
        .json(&json!({"server_error_fraction": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(get(&sim, &format!("{VALUES}?deviceId=1")).await.status, 500);
}

#[tokio::test]
async fn the_request_log_records_what_was_received_in_order() {
    let sim = BlynkSim::start().await.unwrap();
    get(&sim, &format!("{BATCH}?deviceIds=1&deviceIds=2")).await;
    post(
        &sim,
        SET,
        json!({"deviceId": 1, "dataStreamId": 3, "value": "eco"}),
    )
    .await;
    let log = sim.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].operation, Some("getBatchDeviceDataStreams"));
    assert_eq!(
        log[0].query,
        [
            ("deviceIds".to_string(), "1".to_string()),
            ("deviceIds".to_string(), "2".to_string())
        ]
    );
    assert_eq!(log[0].status, 200);
    assert_eq!(log[1].operation, Some("updateDeviceDataStream"));
    assert_eq!(
        log[1].body,
        Some(json!({"deviceId": 1, "dataStreamId": 3, "value": "eco"}))
    );
    assert_eq!(log[1].status, 204);
    sim.clear_requests();
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn a_seed_loads_from_json() {
    let text = serde_json::to_string(&Seed::demo()).unwrap();
    let seed = Seed::from_json(&text).unwrap();
    assert_eq!(seed, Seed::demo());
    let custom = Seed::from_json(r#"{
        "products": [{"id": 7, "name": "P", "datastreams": [{"id": 70, "pin": "V0", "label": "Level", "alias": "level", "type": "number", "min": 0, "max": 10}]}],
        "devices": [{"id": 700, "product_id": 7, "name": "D"}],
        "tokens": [{"token": "t"}]
    }"#).unwrap();
    let sim = BlynkSim::builder().seed(custom).start().await.unwrap();
    assert_eq!(
        call(
            &sim,
            "POST",
            SET,
            Some(json!({"deviceId": 700, "dataStreamId": 70, "value": 11})),
            "t"
        )
        .await
        .status,
        400
    );
    assert_eq!(
        call(
            &sim,
            "POST",
            SET,
            Some(json!({"deviceId": 700, "dataStreamId": 70, "value": 9})),
            "t"
        )
        .await
        .status,
        204
    );
}

/// A token lifetime no clock can add is refused when the seed loads; it used to panic every
/// token request.
#[tokio::test]
async fn a_token_lifetime_beyond_a_hundred_years_is_refused() {
    let mut seed = Seed::demo();
    seed.token_ttl_secs = u64::MAX;
    let text = serde_json::to_string(&seed).unwrap();
    assert_eq!(
        Seed::from_json(&text).unwrap_err(),
        SeedError::TokenTtl(u64::MAX)
    );
    let err = BlynkSim::builder().seed(seed).start().await.unwrap_err();
    assert!(err.to_string().contains("token_ttl_secs"), "{err}");
    let mut longest = Seed::demo();
    longest.token_ttl_secs = blynk_sim::MAX_TOKEN_TTL_SECS;
    let sim = BlynkSim::builder().seed(longest).start().await.unwrap();
    let reply = reqwest::Client::new()
        .post(format!(
            "{}/oauth2/token?grant_type=client_credentials",
            sim.base_url()
        ))
        .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
}

/// A misspelt key anywhere in a seed is refused with its name, instead of being ignored: a
/// silently dropped `scopes` would leave a user token with no permissions, a dropped `min` would
/// accept values the test meant to refuse.
#[test]
fn a_seed_with_an_unknown_key_is_refused_naming_it() {
    let valid = json!({
        "products": [{"id": 7, "name": "P", "datastreams": [
            {"id": 70, "pin": "V0", "label": "Level", "alias": "level", "type": "number", "min": 0}
        ]}],
        "devices": [{"id": 700, "product_id": 7, "name": "D", "owner": "bob"}],
        "clients": [{"client_id": "c", "client_secret": "s", "user": "bob", "scopes": ["OWN_DEVICES_VIEW"]}],
        "tokens": [{"token": "t", "user": "bob", "scopes": ["OWN_DEVICES_VIEW"]}],
        "history": [{"device_id": 700, "datastream_id": 70, "points": [[1, 1.0]],
                     "generated": {"start_ms": 10, "step_ms": 1, "count": 2}}],
        "values": [{"device_id": 700, "datastream_id": 70, "value": 1, "updated_at": 1}],
        "properties": [{"device_id": 700, "datastream_id": 70, "property": "label", "value": "x"}]
    });
    let seed = Seed::from_json(&valid.to_string()).unwrap();
    assert_eq!(seed.tokens[0].principal.scopes.len(), 1);
    assert_eq!(seed.clients[0].principal.user.as_deref(), Some("bob"));
    // Each place a key can go, with one misspelt key added.
    let places: [(&str, &str); 10] = [
        ("", "token_ttl"),
        ("/products/0", "datastream"),
        ("/products/0/datastreams/0", "minimum"),
        ("/devices/0", "product"),
        ("/clients/0", "scope"),
        ("/tokens/0", "scope"),
        ("/history/0", "point"),
        ("/history/0/generated", "step"),
        ("/values/0", "updated"),
        ("/properties/0", "name"),
    ];
    for (pointer, key) in places {
        let mut doc = valid.clone();
        doc.pointer_mut(pointer)
            .and_then(|v| v.as_object_mut())
            .unwrap()
            .insert(key.to_string(), json!(1));
        match Seed::from_json(&doc.to_string()) {
            Err(SeedError::Json(message)) => assert!(
                message.contains(&format!("unknown field `{key}`")),
                "{pointer}: {message}"
            ),
            other => panic!("{pointer}.{key} was accepted: {other:?}"),
        }
    }
    // What `GET /__sim/state` writes loads back.
    let text = serde_json::to_string(&seed).unwrap();
    assert_eq!(Seed::from_json(&text).unwrap(), seed);
}
