//! The simulator as a testing product, over HTTP on 127.0.0.1: the bounded request log, runtime
//! validation against the document and strict mode, reset and snapshots, `Prefer: code=`, and the
//! `blynk-sim` program's options.

use blynk_sim::{BlynkSim, DEMO_TOKEN, Seed};
use serde_json::{Value, json};

const VALUES: &str = "/api/v2/organization/device/datastreams";
const BATCH: &str = "/api/v1/organization/device/datastreams/batch";
const HISTORY: &str = "/api/v1/organization/device/datastream/history";
const SET: &str = "/api/v1/organization/device/datastream";
const IMPORT: &str = "/api/v1/organization/device/import/batch";
const PROPERTY: &str = "/api/v1/organization/device/datastream/property";

async fn send(
    sim: &BlynkSim,
    method: &str,
    path: &str,
    body: Option<Value>,
    prefer: Option<&str>,
) -> (u16, Option<Value>) {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", sim.base_url());
    let mut request = match method {
        "GET" => client.get(url),
        "DELETE" => client.delete(url),
        _ => client.post(url),
    }
    .bearer_auth(DEMO_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    if let Some(prefer) = prefer {
        request = request.header("Prefer", prefer);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).ok())
}

async fn get(sim: &BlynkSim, path: &str) -> (u16, Option<Value>) {
    send(sim, "GET", path, None, None).await
}

async fn post(sim: &BlynkSim, path: &str, body: Value) -> (u16, Option<Value>) {
    send(sim, "POST", path, Some(body), None).await
}

fn import_of(n: usize) -> Value {
    let values: Vec<Value> = (0..n)
        .map(|i| json!({"ts": 1_600_000_000_000i64 + i as i64 * 1000, "value": 1.5}))
        .collect();
    json!({"deviceId": 1, "dataStreamId": 2, "values": values})
}

// ---------------------------------------------------------------------------------------------
// The request log
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_log_keeps_its_capacity_of_newest_entries_and_clears_over_http() {
    let sim = BlynkSim::builder().log_capacity(3).start().await.unwrap();
    for device in 1..=5 {
        get(&sim, &format!("{VALUES}?deviceId={device}")).await;
    }
    let kept: Vec<String> = sim
        .requests()
        .iter()
        .map(|r| r.query[0].1.clone())
        .collect();
    assert_eq!(kept, ["3", "4", "5"]);
    assert_eq!(sim.request_count(), 5);
    let (_, listed) = get(&sim, "/__sim/requests").await;
    assert_eq!(listed.unwrap().as_array().unwrap().len(), 3);
    assert_eq!(
        send(&sim, "DELETE", "/__sim/requests", None, None).await.0,
        200
    );
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn large_bodies_are_logged_as_a_summary_with_size_count_and_hash() {
    let sim = BlynkSim::start().await.unwrap();
    let body = import_of(2_000);
    assert_eq!(post(&sim, IMPORT, body.clone()).await.0, 204);
    assert_eq!(
        post(
            &sim,
            SET,
            json!({"deviceId": 1, "dataStreamId": 3, "value": "eco"})
        )
        .await
        .0,
        204
    );
    let log = sim.requests();
    let summary = log[0].body_summary.clone().expect("summarised");
    assert!(log[0].body.is_none());
    assert_eq!(summary.items, Some(2_000));
    assert_eq!(summary.bytes, serde_json::to_vec(&body).unwrap().len());
    assert_eq!(summary.fnv1a.len(), 16);
    assert!(
        log[1].body.is_some() && log[1].body_summary.is_none(),
        "small bodies stay whole"
    );
    let (_, page) = get(
        &sim,
        &format!("{HISTORY}?deviceId=1&dataStreamId=2&from=0&to=9999999999999&size=1000"),
    )
    .await;
    assert_eq!(page.unwrap()["content"].as_array().unwrap().len(), 1000);
    let answer = sim.requests()[2]
        .response_summary
        .clone()
        .expect("large answers too");
    assert_eq!(answer.items, Some(1000));
}

// ---------------------------------------------------------------------------------------------
// Runtime validation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn requests_that_break_the_document_are_listed_with_operation_rule_and_value() {
    let sim = BlynkSim::start().await.unwrap();
    let ids: String = (1..=11).map(|i| format!("deviceIds={i}&")).collect();
    assert_eq!(get(&sim, &format!("{BATCH}?{ids}")).await.0, 400);
    let long = "x".repeat(201);
    post(
        &sim,
        PROPERTY,
        json!({"deviceId": 1, "dataStreamId": 1, "property": "label", "value": long}),
    )
    .await;
    let violations = sim.violations();
    let max_items = violations
        .iter()
        .find(|v| v.rule == "maxItems")
        .expect("11 device ids break maxItems 10");
    assert_eq!(max_items.operation, "getBatchDeviceDataStreams");
    assert_eq!(max_items.direction, "request");
    assert!(max_items.at.contains("deviceIds"));
    assert!(
        violations
            .iter()
            .any(|v| v.direction == "response" && v.rule == "status" && v.value == "400"),
        "the batch read's 400 is itself undocumented: {violations:#?}"
    );
    let max_length = violations
        .iter()
        .find(|v| v.rule == "maxLength")
        .expect("maxLength");
    assert_eq!(max_length.operation, "updateDeviceDataStreamProperty");
    assert!(max_length.value.contains("xxxx"));
    let (code, report) = get(&sim, "/__sim/violations").await;
    assert_eq!(code, 200);
    let report = report.unwrap();
    assert_eq!(report["total"], violations.len());
    assert_eq!(
        report["violations"][0]["operation"],
        "getBatchDeviceDataStreams"
    );
    send(&sim, "DELETE", "/__sim/violations", None, None).await;
    assert!(sim.violations().is_empty());
}

#[tokio::test]
async fn valid_traffic_records_no_violations() {
    let sim = BlynkSim::start().await.unwrap();
    get(&sim, &format!("{VALUES}?deviceId=1")).await;
    get(
        &sim,
        &format!("{BATCH}?deviceIds=1&deviceIds=2&dataStreamIds=1"),
    )
    .await;
    get(
        &sim,
        &format!("{HISTORY}?deviceId=1&dataStreamId=1&from=0&to=9999999999999&size=10"),
    )
    .await;
    post(
        &sim,
        SET,
        json!({"deviceId": 1, "dataStreamId": 4, "value": [24.1, 56.9]}),
    )
    .await;
    post(&sim, IMPORT, import_of(10)).await;
    post(
        &sim,
        "/api/v1/organization/product/devices/batch-update",
        json!({"fields": ["deviceId", "Humidity"], "updates": [[1, 40.0], [999, 1.0]]}),
    )
    .await;
    get(&sim, &format!("{VALUES}?deviceId=999")).await;
    assert_eq!(sim.violations(), []);
}

#[tokio::test]
async fn strict_mode_answers_a_violating_request_400_naming_the_rule() {
    let sim = BlynkSim::builder().strict(true).start().await.unwrap();
    let (code, body) = get(
        &sim,
        &format!("{HISTORY}?deviceId=1&dataStreamId=1&from=0&to=1&size=5000"),
    )
    .await;
    assert_eq!(code, 400);
    let message = body.unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("maximum") && message.contains("size"),
        "{message}"
    );
    let (code, _) = post(&sim, SET, json!({"deviceId": 1, "dataStreamId": 3})).await;
    assert_eq!(code, 400, "a missing required property");
    assert_eq!(sim.value(1, 3), None, "nothing applied");
    assert_eq!(get(&sim, &format!("{VALUES}?deviceId=1")).await.0, 200);
}

#[tokio::test]
async fn validation_can_be_turned_off() {
    let sim = BlynkSim::builder().validate(false).start().await.unwrap();
    let ids: String = (1..=11).map(|i| format!("deviceIds={i}&")).collect();
    assert_eq!(get(&sim, &format!("{BATCH}?{ids}")).await.0, 400);
    assert_eq!(sim.violations(), []);
}

// ---------------------------------------------------------------------------------------------
// Prefer: code=
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn prefer_picks_a_documented_status_with_a_valid_body() {
    let sim = BlynkSim::start().await.unwrap();
    let set = json!({"deviceId": 1, "dataStreamId": 3, "value": "eco"});
    let (code, body) = send(&sim, "POST", SET, Some(set.clone()), Some("code=429")).await;
    assert_eq!((code, body), (429, None));
    let (code, body) = send(&sim, "POST", SET, Some(set.clone()), Some("code=404")).await;
    assert_eq!(code, 404);
    assert!(body.unwrap()["error"]["message"].is_string());
    assert_eq!(sim.value(1, 3), None, "an error answer applies nothing");
    let (code, body) = send(
        &sim,
        "GET",
        &format!("{VALUES}?deviceId=1"),
        None,
        Some("code=400"),
    )
    .await;
    assert_eq!(code, 400, "400 is not documented for this read");
    assert!(
        body.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a status the document gives")
    );
    assert_eq!(
        send(&sim, "POST", SET, Some(set), Some("code=204")).await.0,
        204
    );
    assert_eq!(
        sim.value(1, 3),
        Some(json!("eco")),
        "a documented success runs the rules"
    );
    assert_eq!(sim.violations(), []);
}

// ---------------------------------------------------------------------------------------------
// Reset and snapshots
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reset_returns_to_the_seed() {
    let sim = BlynkSim::start().await.unwrap();
    post(
        &sim,
        SET,
        json!({"deviceId": 1, "dataStreamId": 3, "value": "eco"}),
    )
    .await;
    post(&sim, IMPORT, import_of(5)).await;
    assert_eq!(sim.value(1, 3), Some(json!("eco")));
    assert_eq!(send(&sim, "POST", "/__sim/reset", None, None).await.0, 200);
    assert_eq!(sim.value(1, 3), None);
    assert!(sim.history(1, 2).is_empty());
    assert_eq!(sim.history(1, 1).len(), 1440, "the seed's history is back");
    assert!(sim.requests().is_empty());
    assert_eq!(sim.calls("updateDeviceDataStream"), 0);
    let fresh = BlynkSim::start().await.unwrap();
    assert_eq!(sim.state(), fresh.state());
}

#[tokio::test]
async fn the_state_is_seed_json_that_loads_again() {
    let sim = BlynkSim::start().await.unwrap();
    post(
        &sim,
        SET,
        json!({"deviceId": 2, "dataStreamId": 4, "value": [24.1, 56.9]}),
    )
    .await;
    post(&sim, IMPORT, import_of(3)).await;
    post(
        &sim,
        PROPERTY,
        json!({"deviceId": 1, "dataStreamId": 1, "property": "color", "value": "#FF0000"}),
    )
    .await;
    let (code, state) = get(&sim, "/__sim/state").await;
    assert_eq!(code, 200);
    let text = state.unwrap().to_string();
    let seed = Seed::from_json(&text).unwrap();
    let again = BlynkSim::builder()
        .seed(seed.clone())
        .start()
        .await
        .unwrap();
    assert_eq!(again.value(2, 4), Some(json!([24.1, 56.9])));
    assert_eq!(again.history(1, 2), sim.history(1, 2));
    assert_eq!(again.property(1, 1, "color").as_deref(), Some("#FF0000"));
    assert_eq!(again.state(), seed, "a snapshot of a snapshot is the same");
}

// ---------------------------------------------------------------------------------------------
// The program
// ---------------------------------------------------------------------------------------------

fn program(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_blynk-sim"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn help_names_the_demo_credentials_and_every_simulator_endpoint() {
    let help = String::from_utf8(program(&["--help"]).stdout).unwrap();
    for needle in [
        blynk_sim::DEMO_TOKEN,
        blynk_sim::DEMO_CLIENT_ID,
        blynk_sim::DEMO_CLIENT_SECRET,
        blynk_sim::DEMO_VIEWER_TOKEN,
        "Prefer: code=",
        "--rules",
        "--strict",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}");
    }
    for endpoint in blynk_sim::ENDPOINTS {
        let (methods, path) = endpoint.split_once(' ').unwrap();
        let line = help
            .lines()
            .find(|l| l.contains(path) && l.trim_start().starts_with(methods));
        assert!(line.is_some(), "--help lacks {endpoint}");
    }
}

#[test]
fn the_program_refuses_bad_fractions_rules_and_seeds_saying_what_is_wrong() {
    for (args, needle) in [
        (vec!["--rate-limit-fraction", "5"], "between 0 and 1"),
        (vec!["--drop-fraction", "NaN"], "between 0 and 1"),
        (vec!["--import-per-second=-1"], "at least 0"),
    ] {
        let out = program(&args);
        assert!(!out.status.success());
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let dir = std::env::temp_dir().join(format!("blynk-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("rules.json");
    std::fs::write(
        &rules,
        r#"[{"operation": "importAll", "action": {"kind": "apply_then_drop"}}]"#,
    )
    .unwrap();
    let out = program(&["--rules", rules.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr).unwrap().contains("importAll"));
    let seed = dir.join("seed.json");
    std::fs::write(
        &seed,
        r#"{"products": [], "devices": [{"id": 1, "product_id": 9, "name": "d"}]}"#,
    )
    .unwrap();
    let out = program(&["--seed", seed.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr).unwrap().contains("product 9"));
    std::fs::remove_dir_all(&dir).unwrap();
}
