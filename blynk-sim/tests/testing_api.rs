//! The simulator's testing API over HTTP on 127.0.0.1: fault rules, counters, asynchronous import
//! visibility, generated history. No test sleeps to synchronise: the simulator's clock is moved
//! and its counters are read.

use std::time::Duration;

use blynk_sim::rules::{Action, FaultRule, MAX_HTTP_DATE_SECS, RetryAfter, Rules};
use blynk_sim::{BlynkSim, DEMO_TOKEN, Datastream, HistoryGenerator, Principal, Seed};
use serde_json::{Value, json};

const VALUES: &str = "/api/v2/organization/device/datastreams";
const HISTORY: &str = "/api/v1/organization/device/datastream/history";
const SET: &str = "/api/v1/organization/device/datastream";
const IMPORT: &str = "/api/v1/organization/device/import/batch";
const IMPORT_ID: &str = "importDeviceBatchData";
const READ_ID: &str = "getDeviceDataStreamsV2";

/// Status, Retry-After and body; `Err` when the connection broke.
async fn send(
    sim: &BlynkSim,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Option<String>, Option<Value>), reqwest::Error> {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", sim.base_url());
    let mut request = match method {
        "GET" => client.get(url),
        "PUT" => client.put(url),
        "DELETE" => client.delete(url),
        _ => client.post(url),
    };
    request = request.bearer_auth(DEMO_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = response.bytes().await?;
    Ok((status, retry_after, serde_json::from_slice(&bytes).ok()))
}

async fn status(sim: &BlynkSim, method: &str, path: &str, body: Option<Value>) -> u16 {
    send(sim, method, path, body).await.unwrap().0
}

fn import_body(device: i32, ts: i64) -> Value {
    json!({"deviceId": device, "dataStreamId": 2, "values": [{"ts": ts, "value": 42.0}]})
}

// ---------------------------------------------------------------------------------------------
// Counters
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn calls_are_counted_per_operation_and_reset() {
    let sim = BlynkSim::start().await.unwrap();
    for _ in 0..3 {
        status(&sim, "GET", &format!("{VALUES}?deviceId=1"), None).await;
    }
    status(
        &sim,
        "POST",
        IMPORT,
        Some(import_body(1, 1_600_000_000_000)),
    )
    .await;
    status(&sim, "GET", &format!("{VALUES}?deviceId=999"), None).await;
    assert_eq!(sim.calls(READ_ID), 4, "counted whatever the answer");
    assert_eq!(sim.calls(IMPORT_ID), 1);
    assert_eq!(sim.calls("updateDeviceDataStream"), 0);
    let (code, _, counters) = send(&sim, "GET", "/__sim/counters", None).await.unwrap();
    assert_eq!(code, 200);
    let counters = counters.unwrap();
    assert_eq!(counters["calls"][READ_ID], 4);
    assert_eq!(counters["in_flight"], 0);
    sim.reset_counters();
    assert_eq!(sim.calls(READ_ID), 0);
    status(&sim, "GET", &format!("{VALUES}?deviceId=1"), None).await;
    status(&sim, "DELETE", "/__sim/counters", None).await;
    assert_eq!(sim.counters().calls.len(), 0);
}

#[tokio::test]
async fn requests_in_flight_are_counted_while_they_are_held() {
    let sim = std::sync::Arc::new(
        BlynkSim::builder()
            .rule(FaultRule::operation(READ_ID).then(Action::Delay(Duration::from_secs(2))))
            .start()
            .await
            .unwrap(),
    );
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let sim = sim.clone();
        tasks
            .spawn(async move { status(&sim, "GET", &format!("{VALUES}?deviceId=1"), None).await });
    }
    // Wait for the condition (all four held by the delay), not for a time.
    tokio::time::timeout(Duration::from_secs(30), async {
        while sim.in_flight() < 4 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("four requests in flight");
    while let Some(code) = tasks.join_next().await {
        assert_eq!(code.unwrap(), 200);
    }
    assert_eq!(sim.in_flight(), 0);
    assert_eq!(sim.max_in_flight(), 4);
}

// ---------------------------------------------------------------------------------------------
// Fault rules
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_scripted_sequence_answers_429_twice_then_applies_and_drops() {
    let sim = BlynkSim::builder()
        .rules(
            Rules::new()
                .rule(
                    FaultRule::operation(IMPORT_ID)
                        .times(2)
                        .then(Action::too_many_requests(Some(1))),
                )
                .rule(
                    FaultRule::operation(IMPORT_ID)
                        .nth(3)
                        .then(Action::ApplyThenDrop),
                ),
        )
        .start()
        .await
        .unwrap();
    let ts = 1_600_000_000_000;
    for _ in 0..2 {
        let (code, retry_after, body) = send(&sim, "POST", IMPORT, Some(import_body(1, ts)))
            .await
            .unwrap();
        assert_eq!((code, retry_after.as_deref(), body), (429, Some("1"), None));
    }
    assert!(sim.history(1, 2).is_empty(), "429s apply nothing");
    let third = send(&sim, "POST", IMPORT, Some(import_body(1, ts))).await;
    assert!(third.is_err(), "the connection is dropped: {third:?}");
    assert_eq!(
        sim.history(1, 2),
        [(ts, 42.0)],
        "but the import was applied"
    );
    assert_eq!(
        status(&sim, "POST", IMPORT, Some(import_body(1, ts + 1))).await,
        204
    );
    let log = sim.requests();
    let dropped: Vec<_> = log.iter().filter(|r| r.dropped).collect();
    assert_eq!(dropped.len(), 1);
    assert_eq!((dropped[0].status, dropped[0].injected), (204, true));
    assert_eq!(sim.calls(IMPORT_ID), 4);
}

#[tokio::test]
async fn a_rule_for_one_device_leaves_the_others_alone() {
    let sim = BlynkSim::builder()
        .rule(
            FaultRule::operation(READ_ID)
                .device(2)
                .then(Action::Status {
                    status: 500,
                    retry_after: None,
                }),
        )
        .start()
        .await
        .unwrap();
    assert_eq!(
        status(&sim, "GET", &format!("{VALUES}?deviceId=1"), None).await,
        200
    );
    let (code, _, body) = send(&sim, "GET", &format!("{VALUES}?deviceId=2"), None)
        .await
        .unwrap();
    assert_eq!(code, 500);
    assert!(
        body.unwrap()["error"]["message"].is_string(),
        "500 has the documented ErrorResponse body"
    );
    assert_eq!(
        status(
            &sim,
            "POST",
            SET,
            Some(json!({"deviceId": 2, "dataStreamId": 3, "value": "eco"}))
        )
        .await,
        204
    );
}

#[tokio::test]
async fn a_rule_can_fail_the_token_endpoint_and_any_leaves_it_alone() {
    let sim = BlynkSim::builder()
        .rule(FaultRule::any().then(Action::DropBeforeProcessing))
        .rule(
            FaultRule::operation(blynk_sim::TOKEN_OPERATION)
                .nth(1)
                .then(Action::Status {
                    status: 400,
                    retry_after: None,
                }),
        )
        .start()
        .await
        .unwrap();
    let token = || async {
        let response = reqwest::Client::new()
            .post(format!(
                "{}/oauth2/token?grant_type=client_credentials",
                sim.base_url()
            ))
            .basic_auth(
                blynk_sim::DEMO_CLIENT_ID,
                Some(blynk_sim::DEMO_CLIENT_SECRET),
            )
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap())
    };
    let (status, body) = token().await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request", "the OAuth error shape");
    let (status, body) = token().await;
    assert_eq!(
        status, 200,
        "only the first; FaultRule::any() is for API operations"
    );
    assert!(body["access_token"].is_string());
    assert_eq!(sim.calls(blynk_sim::TOKEN_OPERATION), 2);
}

#[tokio::test]
async fn retry_after_can_be_an_http_date() {
    let sim = BlynkSim::builder()
        .rule(FaultRule::any().then(Action::Status {
            status: 429,
            retry_after: Some(RetryAfter::HttpDate(30)),
        }))
        .start()
        .await
        .unwrap();
    let (code, retry_after, _) = send(&sim, "GET", &format!("{VALUES}?deviceId=1"), None)
        .await
        .unwrap();
    assert_eq!(code, 429);
    let date = httpdate::parse_http_date(&retry_after.unwrap()).unwrap();
    assert!(date > std::time::SystemTime::now(), "a date in the future");
}

#[tokio::test]
async fn a_drop_before_processing_applies_nothing_and_a_truncated_body_applies() {
    let sim = BlynkSim::start().await.unwrap();
    let set = |v: &str| Some(json!({"deviceId": 1, "dataStreamId": 3, "value": v}));
    sim.add_rule(
        FaultRule::operation("updateDeviceDataStream")
            .nth(1)
            .then(Action::DropBeforeProcessing),
    )
    .unwrap();
    assert!(send(&sim, "POST", SET, set("away")).await.is_err());
    assert_eq!(sim.value(1, 3), None, "not applied");
    sim.set_rules(vec![
        FaultRule::operation(READ_ID)
            .nth(1)
            .then(Action::TruncatedBody),
    ])
    .unwrap();
    assert!(
        send(&sim, "GET", &format!("{VALUES}?deviceId=1"), None)
            .await
            .is_err()
    );
    assert_eq!(
        status(&sim, "GET", &format!("{VALUES}?deviceId=1"), None).await,
        200,
        "only the first"
    );
}

#[tokio::test]
async fn probabilistic_rules_replay_under_their_seed() {
    let sim = BlynkSim::start().await.unwrap();
    let rules = Rules::new()
        .rule(FaultRule::operation(READ_ID).probability(0.5))
        .seed(9);
    let mut runs = Vec::new();
    for _ in 0..2 {
        sim.set_rules(rules.clone()).unwrap();
        let mut statuses = Vec::new();
        for _ in 0..30 {
            statuses.push(status(&sim, "GET", &format!("{VALUES}?deviceId=1"), None).await);
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&500) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn rules_are_set_listed_appended_and_removed_over_http() {
    let sim = BlynkSim::start().await.unwrap();
    let rule = json!({"operation": IMPORT_ID, "nth": 1, "action": {"kind": "status", "status": 429, "retry_after": {"seconds": 2}}});
    assert_eq!(
        status(
            &sim,
            "PUT",
            "/__sim/rules",
            Some(json!({"seed": 1, "rules": [rule]}))
        )
        .await,
        200
    );
    assert_eq!(
        status(
            &sim,
            "POST",
            "/__sim/rules",
            Some(json!({"action": {"kind": "apply_then_drop"}, "device": 7}))
        )
        .await,
        200
    );
    let (_, _, listed) = send(&sim, "GET", "/__sim/rules", None).await.unwrap();
    assert_eq!(listed.unwrap().as_array().unwrap().len(), 2);
    assert_eq!(sim.rules()[1].device, Some(7));
    let (code, retry_after, _) = send(&sim, "POST", IMPORT, Some(import_body(1, 1)))
        .await
        .unwrap();
    assert_eq!((code, retry_after.as_deref()), (429, Some("2")));
    assert_eq!(status(&sim, "DELETE", "/__sim/rules", None).await, 200);
    assert!(sim.rules().is_empty());
}

#[tokio::test]
async fn bad_rules_are_refused_with_what_is_wrong() {
    let sim = BlynkSim::start().await.unwrap();
    for (rules, needle) in [
        (
            json!([{"operation": "importEverything", "action": {"kind": "apply_then_drop"}}]),
            "importEverything",
        ),
        (
            json!([{"probability": 2.0, "action": {"kind": "apply_then_drop"}}]),
            "probability",
        ),
        (
            json!([{"nth": 1, "times": 2, "action": {"kind": "apply_then_drop"}}]),
            "not both",
        ),
        (json!([{"action": {"kind": "teleport"}}]), "teleport"),
        // A date past year 9999 used to panic the request it answered.
        (
            json!([{"action": {"kind": "status", "status": 503,
                               "retry_after": {"http_date": u64::MAX}}}]),
            "http_date",
        ),
    ] {
        let (code, _, body) = send(&sim, "PUT", "/__sim/rules", Some(rules.clone()))
            .await
            .unwrap();
        let message = body.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(code, 400, "{rules}");
        assert!(message.contains(needle), "{rules}: {message}");
    }
    assert!(sim.add_rule(FaultRule::operation("nope")).is_err());
    assert!(
        sim.add_rule(FaultRule::any().then(Action::Status {
            status: 429,
            retry_after: Some(RetryAfter::HttpDate(MAX_HTTP_DATE_SECS + 1)),
        }))
        .is_err()
    );
    // The furthest date allowed is answered, as a date.
    sim.add_rule(FaultRule::any().then(Action::Status {
        status: 429,
        retry_after: Some(RetryAfter::HttpDate(MAX_HTTP_DATE_SECS)),
    }))
    .unwrap();
    let reply = reqwest::Client::new()
        .get(format!("{}{VALUES}?deviceId=1", sim.base_url()))
        .bearer_auth(DEMO_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 429);
    let date = reply.headers()["retry-after"].to_str().unwrap().to_string();
    assert!(httpdate::parse_http_date(&date).is_ok(), "{date}");
    let start = BlynkSim::builder()
        .rule(FaultRule::any().probability(f64::NAN))
        .start()
        .await;
    let err = start.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("probability"), "{err}");
}

#[tokio::test]
async fn fault_shares_outside_0_to_1_and_nan_are_refused() {
    let sim = BlynkSim::start().await.unwrap();
    let (code, _, body) = send(
        &sim,
        "PUT",
        "/__sim/faults",
        Some(json!({"drop_fraction": 5.0})),
    )
    .await
    .unwrap();
    assert_eq!(code, 400);
    assert!(
        body.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("drop_fraction")
    );
    let nan = blynk_sim::Faults {
        server_error_fraction: f64::NAN,
        ..Default::default()
    };
    assert!(sim.set_faults(nan.clone()).is_err());
    assert!(BlynkSim::builder().faults(nan).start().await.is_err());
}

#[tokio::test]
async fn a_faults_body_with_an_unknown_field_is_refused_naming_it() {
    // A typo must not leave the faults silently off.
    let sim = BlynkSim::start().await.unwrap();
    for (body, name) in [
        (json!({"rate_limit_fraction": 0.5}), "rate_limit_fraction"),
        (
            json!({"rate_limit": {"kind": "fraction", "fraction": 0.5, "retry_after": 1}}),
            "retry_after",
        ),
    ] {
        let (code, _, answer) = send(&sim, "PUT", "/__sim/faults", Some(body))
            .await
            .unwrap();
        assert_eq!(code, 400);
        let message = answer.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains(name), "{message}");
    }
    let (_, _, now) = send(&sim, "GET", "/__sim/faults", None).await.unwrap();
    let now: blynk_sim::Faults = serde_json::from_value(now.unwrap()).unwrap();
    assert_eq!(now, blynk_sim::Faults::default());
}

// ---------------------------------------------------------------------------------------------
// Asynchronous imports and generated history
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_frozen_clock_moves_only_when_advanced() {
    let sim = BlynkSim::builder()
        .frozen_clock(true)
        .start()
        .await
        .unwrap();
    let start = sim.now();
    // A request in between: serving takes real time, the clock does not move.
    assert_eq!(
        status(
            &sim,
            "POST",
            IMPORT,
            Some(import_body(1, 1_600_000_000_000))
        )
        .await,
        204
    );
    assert_eq!(sim.now(), start);
    sim.advance_clock(Duration::from_secs(5));
    assert_eq!(sim.now(), start + Duration::from_secs(5));
}

#[tokio::test]
async fn imported_points_become_visible_after_the_delay_on_the_simulators_clock() {
    let sim = BlynkSim::builder()
        .import_visibility_delay(Duration::from_secs(10))
        .frozen_clock(true)
        .start()
        .await
        .unwrap();
    let ts = 1_600_000_000_000i64;
    assert_eq!(
        status(&sim, "POST", IMPORT, Some(import_body(1, ts))).await,
        204
    );
    let page = format!("{HISTORY}?deviceId=1&dataStreamId=2&from=0&to={}", ts + 1);
    let (_, _, body) = send(&sim, "GET", &page, None).await.unwrap();
    assert_eq!(
        body.unwrap()["totalElements"],
        0,
        "accepted, still processing"
    );
    assert!(sim.history(1, 2).is_empty());
    sim.advance_clock(Duration::from_secs(9));
    assert!(sim.history(1, 2).is_empty());
    sim.advance_clock(Duration::from_secs(1));
    let (_, _, body) = send(&sim, "GET", &page, None).await.unwrap();
    assert_eq!(
        body.unwrap()["content"],
        json!([{"value": 42.0, "createdAt": ts}])
    );
}

#[tokio::test]
async fn a_generated_history_of_a_million_points_pages_without_being_stored() {
    let base = 1_700_000_000_000i64;
    let seed = Seed::builder()
        .product(1, "Meter", [Datastream::number(1, "V1", "Power")])
        .devices(1, 1..=3)
        .history(2, 1, HistoryGenerator::counting(base, 1000, 1_000_000))
        .token(DEMO_TOKEN, Principal::organisation())
        .build()
        .unwrap();
    let sim = BlynkSim::builder().seed(seed).start().await.unwrap();
    let page = |n: u32| {
        format!(
            "{HISTORY}?deviceId=2&dataStreamId=1&from={base}&to={}&page={n}&size=1000",
            base + 2_000_000_000
        )
    };
    let (code, _, body) = send(&sim, "GET", &page(999), None).await.unwrap();
    assert_eq!(code, 200);
    let body = body.unwrap();
    assert_eq!(body["totalElements"], 1_000_000);
    let content = body["content"].as_array().unwrap();
    assert_eq!(content.len(), 1000);
    assert_eq!(
        content[0],
        json!({"value": 999_000.0, "createdAt": base + 999_000 * 1000})
    );
    assert_eq!(content[999]["value"], 999_999.0);
    let (_, _, past_end) = send(&sim, "GET", &page(1000), None).await.unwrap();
    assert_eq!(past_end.unwrap()["content"], json!([]));
    // The last generated point is the current value.
    assert_eq!(sim.value(2, 1), Some(json!(999_999.0)));
}
