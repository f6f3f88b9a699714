//! Issue 12 item 6: `blynk values --devices` when some batch reads fail: what was read is printed,
//! the failed devices are listed as ranges on stderr with the reason, and the run exits with the
//! documented partial-results code (11); when every request fails, the failure's own code.

mod common;

use blynk_cli::exit::Exit;
use blynk_sim::BlynkSim;
use blynk_sim::rules::FaultRule;
use common::blynk;
use serde_json::Value;

/// A simulator whose batch reads of device 15 always fail with 500 (after the client's retries).
async fn sim_failing_device_15() -> BlynkSim {
    BlynkSim::builder()
        .rule(FaultRule::operation("getBatchDeviceDataStreams").device(15))
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_batch_read_prints_the_rest_lists_the_failed_range_and_exits_11() {
    let sim = sim_failing_device_15().await;
    let run = blynk(
        &sim,
        &["values", "--devices", "1-30", "--datastreams", "1"],
        &[],
    )
    .await;
    assert_eq!(run.code, i32::from(Exit::Partial.code()), "{}", run.stderr);
    let devices: Vec<&str> = run
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(devices.len(), 20, "{}", run.stdout);
    assert!(devices.contains(&"1") && devices.contains(&"30"));
    assert!(!devices.contains(&"15"));
    assert!(
        run.stderr.contains(
            "not read: 11-20 (10 devices): getBatchDeviceDataStreams: server error (500)"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("error: 10 devices of 30 not read: 11-20 (1 request of 3 failed)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("blynk values --devices 11-20"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn under_json_the_failed_requests_are_part_of_the_output() {
    let sim = sim_failing_device_15().await;
    let run = blynk(&sim, &["values", "--devices", "1-30", "--json"], &[]).await;
    assert_eq!(run.code, 11, "{}", run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["devices"].as_array().unwrap().len(), 20);
    assert_eq!(
        out["failed"][0]["deviceIds"],
        serde_json::json!((11..=20).collect::<Vec<_>>())
    );
    assert_eq!(out["failed"][0]["error"]["code"], 9);
    let error: Value = serde_json::from_str(run.stderr.trim()).unwrap();
    assert_eq!(error["error"]["kind"], "partial");
}

#[tokio::test(flavor = "multi_thread")]
async fn when_every_request_fails_the_code_is_the_failures_own() {
    let sim = sim_failing_device_15().await;
    let run = blynk(&sim, &["values", "--devices", "12-18"], &[]).await;
    assert_eq!(run.code, 9, "{}", run.stderr);
    let complete = blynk(&sim, &["values", "--devices", "1-10,21-30"], &[]).await;
    assert_eq!(complete.code, 0, "{}", complete.stderr);
}
