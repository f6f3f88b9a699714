//! Property tests of what the simulator reads from outside: rule files, seed files, and API requests
//! with arbitrary query strings and bodies. Nothing panics, and every bad input gets a clear answer.

use blynk_sim::rules::Rules;
use blynk_sim::{BlynkSim, DEMO_TOKEN, Seed};
use proptest::prelude::*;
use serde_json::Value;

/// Arbitrary JSON, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
        prop_oneof![
            Just("deviceId"),
            Just("dataStreamId"),
            Just("values"),
            Just("value"),
            Just("ts"),
            Just("fields"),
            Just("updates"),
            Just("property"),
            Just("operation"),
            Just("action"),
            Just("kind")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("deviceId".to_string()),
                    Just("dataStreamId".to_string()),
                    Just("values".to_string()),
                    Just("value".to_string()),
                    Just("ts".to_string()),
                    Just("fields".to_string()),
                    Just("updates".to_string()),
                    Just("property".to_string()),
                    Just("rules".to_string()),
                    Just("action".to_string()),
                    ".{0,6}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn rule_and_seed_files_never_panic(text in ".{0,200}", value in json()) {
        let _ = Rules::from_json(&text);
        let _ = Seed::from_json(&text);
        let as_text = value.to_string();
        if let Err(e) = Rules::from_json(&as_text) {
            prop_assert!(!e.to_string().is_empty());
        }
        let _ = Seed::from_json(&as_text);
    }
}

const PATHS: [(&str, &str); 8] = [
    ("GET", "/api/v2/organization/device/datastreams"),
    ("GET", "/api/v1/organization/device/datastreams/batch"),
    ("GET", "/api/v1/organization/device/datastream/history"),
    ("POST", "/api/v1/organization/device/datastream"),
    ("POST", "/api/v1/organization/device/datastreams"),
    ("POST", "/api/v1/organization/product/devices/batch-update"),
    ("POST", "/api/v1/organization/device/import/batch"),
    ("POST", "/api/v1/organization/device/datastream/property"),
];

#[test]
fn arbitrary_requests_get_a_clear_answer() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sim = runtime.block_on(BlynkSim::start()).unwrap();
    let client = reqwest::Client::new();
    let query = proptest::collection::vec(
        (
            prop_oneof![
                Just("deviceId"),
                Just("deviceIds"),
                Just("dataStreamId"),
                Just("dataStreamIds"),
                Just("from"),
                Just("to"),
                Just("page"),
                Just("size")
            ],
            prop_oneof!["-?[0-9]{1,12}", ".{0,6}"],
        ),
        0..8,
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(96));
    runner
        .run(&(0..PATHS.len(), query, json()), |(op, query, body)| {
            let (method, path) = PATHS[op];
            let url = reqwest::Url::parse_with_params(&format!("{}{path}", sim.base_url()), &query)
                .unwrap();
            let (status, answer) = runtime.block_on(async {
                let request = match method {
                    "GET" => client.get(url),
                    _ => client.post(url).json(&body),
                };
                let response = request.bearer_auth(DEMO_TOKEN).send().await.unwrap();
                let status = response.status().as_u16();
                let bytes = response.bytes().await.unwrap();
                (status, serde_json::from_slice::<Value>(&bytes).ok())
            });
            prop_assert!(
                [200, 204, 400, 403, 404, 429].contains(&status),
                "{method} {path} {query:?} {body}: {status}"
            );
            if status == 400 || status == 404 {
                let message = answer.as_ref().and_then(|a| a["error"]["message"].as_str());
                prop_assert!(message.is_some_and(|m| !m.is_empty()), "{answer:?}");
            }
            Ok(())
        })
        .unwrap();
}
