//! The programs in `examples/` run against a simulator each test starts on 127.0.0.1, and their
//! outcomes are checked against the simulator's own state: the exported CSV holds the simulator's
//! values, an import stores every point once, a second history sync fetches only the new points,
//! and the metrics observer saw every attempt the simulator received.
//!
//! Each example is included as a module; its `main` (and `connect`) are not used here.
//!
//! Sections: export_fleet_csv, import_csv, history_sync, metrics_observer.

#[allow(dead_code)]
#[path = "../examples/export_fleet_csv.rs"]
mod export_fleet_csv;

use blynk_api_ext::{BatchUpdate, BatchUpdateOptions, Blynk, Location, Value};
use blynk_sim::BlynkSim;
use serde_json::json;

fn client(sim: &BlynkSim) -> Blynk {
    Blynk::builder()
        .base_url(sim.base_url())
        .token(blynk_sim::DEMO_TOKEN)
        .build()
        .expect("client")
}

// ---------------------------------------------------------------------------------------------
// export_fleet_csv
// ---------------------------------------------------------------------------------------------

/// The simulator's current value of a datastream as the export writes it.
fn expected_cell(sim: &BlynkSim, device: i32, datastream: i32) -> String {
    match sim.value(device, datastream) {
        None => String::new(),
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Array(pair)) => format!(
            "{},{}",
            pair[0].as_f64().expect("lon"),
            pair[1].as_f64().expect("lat")
        ),
        Some(n) => n.as_f64().expect("a number").to_string(),
    }
}

#[tokio::test]
async fn the_export_holds_the_simulators_values_and_names_the_missing_devices() {
    let sim = BlynkSim::start().await.expect("simulator");
    let blynk = client(&sim);
    // Text that needs quoting, a location, and devices left without values (13 to 25).
    let mut update = BatchUpdate::new(["Temperature", "Mode", "Location"]);
    for id in 1..=12 {
        update
            .push(
                id,
                [
                    Some(Value::Number(f64::from(id) + 0.25)),
                    Some(Value::from(format!("eco, \"night\" {id}"))),
                    Some(Value::from(Location::new(24.5, -f64::from(id)))),
                ],
            )
            .expect("row");
    }
    blynk
        .batch_update(&update, BatchUpdateOptions::default())
        .await
        .expect("batch update");

    let mut ids: Vec<i32> = (1..=25).collect();
    ids.extend([999, 3]);
    let args = export_fleet_csv::ExportArgs {
        device_ids: ids,
        datastream_ids: None,
        concurrency: 2,
    };
    let mut out = Vec::new();
    let summary = export_fleet_csv::run(&blynk, &args, &mut out)
        .await
        .expect("export");

    let mut reader = csv::Reader::from_reader(out.as_slice());
    assert_eq!(
        reader.headers().expect("header"),
        vec!["device", "datastream", "label", "value"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    // 25 thermostats, 4 datastreams each, each device once although 3 was asked twice.
    assert_eq!(rows.len(), 100);
    assert_eq!(summary.rows, 100);
    assert_eq!(summary.devices, 25);
    assert_eq!(summary.requests, 3, "26 distinct devices, 10 per request");
    assert_eq!(summary.missing, vec![999]);
    assert!(summary.failed.is_empty());
    let labels = ["Temperature", "Humidity", "Mode", "Location"];
    for (i, row) in rows.iter().enumerate() {
        let device = i as i32 / 4 + 1;
        let datastream = i as i32 % 4 + 1;
        assert_eq!(row[0].parse::<i32>().unwrap(), device, "row {i}");
        assert_eq!(row[1].parse::<i32>().unwrap(), datastream, "row {i}");
        assert_eq!(&row[2], labels[i % 4], "row {i}");
        assert_eq!(
            row[3],
            expected_cell(&sim, device, datastream),
            "row {i}: device {device}, datastream {datastream}"
        );
    }
    assert_eq!(&rows[2][3], "eco, \"night\" 1");
    assert_eq!(&rows[3][3], "24.5,-1");
    assert_eq!(&rows[4 * 12][3], "", "device 13 has no temperature");
    assert_eq!(sim.value(1, 1), Some(json!(1.25)));
}

#[tokio::test]
async fn the_export_keeps_what_was_read_when_a_request_fails() {
    use blynk_api_ext::api::operations::GET_BATCH_DEVICE_DATA_STREAMS;
    use blynk_sim::rules::{Action, FaultRule};

    // The second batch read is refused (403 is not retried): devices 11 to 20 are not read.
    let sim = BlynkSim::builder()
        .rule(
            FaultRule::operation(GET_BATCH_DEVICE_DATA_STREAMS.id)
                .nth(2)
                .then(Action::Status {
                    status: 403,
                    retry_after: None,
                }),
        )
        .start()
        .await
        .expect("simulator");
    let args = export_fleet_csv::ExportArgs {
        device_ids: (1..=30).collect(),
        datastream_ids: Some(vec![1]),
        concurrency: 1,
    };
    let mut out = Vec::new();
    let summary = export_fleet_csv::run(&client(&sim), &args, &mut out)
        .await
        .expect("export");
    let text = String::from_utf8(out).unwrap();
    let devices: Vec<i32> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    let expected: Vec<i32> = (1..=10).chain(21..=30).collect();
    assert_eq!(devices, expected);
    assert_eq!(summary.failed.len(), 1);
    assert_eq!(summary.failed[0].0, (11..=20).collect::<Vec<_>>());
    assert!(summary.missing.is_empty());
    // Device 1 has a temperature from the demo history; the others have none yet.
    assert!(text.starts_with(&format!(
        "device,datastream,label,value\n1,1,Temperature,{}\n2,1,Temperature,\n",
        expected_cell(&sim, 1, 1)
    )));
}

#[test]
fn device_lists_parse_ranges_and_refuse_nonsense() {
    use export_fleet_csv::parse_ids;
    assert_eq!(
        parse_ids("1-3, 7,101-102").unwrap(),
        vec![1, 2, 3, 7, 101, 102]
    );
    assert!(parse_ids("5-1").unwrap_err().contains("backwards"));
    assert!(parse_ids("1,x").unwrap_err().contains("`x`"));
    assert!(parse_ids("").is_err());
    assert!(parse_ids("99999999999").is_err());
}
