//! The import body encoder against serde_json: whatever the points, every body parses back to
//! exactly the points given, in order, within the API's limits (issue 16 item 6 made the number
//! path hand-written, so it is checked here against the generic one).

use blynk_api_ext::{Point, Value, from_millis, limits};
use proptest::prelude::*;

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<f64>()
            .prop_filter("finite", |n| n.is_finite())
            .prop_map(Value::Number),
        (-1e6f64..1e6).prop_map(Value::Number),
        "[a-z\"\\\\ ]{0,12}".prop_map(Value::Text),
    ]
}

proptest! {
    #[test]
    fn bodies_parse_back_to_the_points_in_order(
        points in proptest::collection::vec((0i64..4_000_000_000_000, value()), 1..300),
    ) {
        let input: Vec<Point> = points
            .iter()
            .map(|(ts, v)| Point { at: from_millis(*ts), value: v.clone() })
            .collect();
        let mut decoded = Vec::new();
        blynk_api_ext::internals::encode_import_bodies(7, 9, &input, |body| {
            assert!(body.len() <= blynk_api_ext::MAX_REQUEST_BYTES);
            let json: serde_json::Value = serde_json::from_slice(&body).expect("valid JSON");
            assert_eq!((json["deviceId"].as_i64(), json["dataStreamId"].as_i64()), (Some(7), Some(9)));
            let values = json["values"].as_array().expect("values");
            assert!(!values.is_empty() && values.len() <= limits::MAX_POINTS_PER_IMPORT);
            decoded.extend(values.iter().cloned());
        });
        prop_assert_eq!(decoded.len(), points.len());
        for ((ts, v), got) in points.iter().zip(&decoded) {
            prop_assert_eq!(got["ts"].as_i64(), Some(*ts));
            match v {
                Value::Number(n) => prop_assert_eq!(got["value"].as_f64(), Some(*n)),
                Value::Text(s) => prop_assert_eq!(got["value"].as_str(), Some(s.as_str())),
                Value::Location(_) => unreachable!(),
            }
        }
    }
}

#[test]
fn bodies_are_cut_at_the_point_limit_without_losing_a_point() {
    let input: Vec<Point> = (0..25_003i64)
        .map(|i| Point::new(from_millis(i), i as f64 / 3.0))
        .collect();
    let mut sizes = Vec::new();
    let mut next = 0i64;
    blynk_api_ext::internals::encode_import_bodies(1, 1, &input, |body| {
        let json: serde_json::Value = serde_json::from_slice(&body).expect("valid JSON");
        let values = json["values"].as_array().expect("values");
        for v in values {
            assert_eq!(v["ts"].as_i64(), Some(next));
            assert_eq!(v["value"].as_f64(), Some(next as f64 / 3.0));
            next += 1;
        }
        sizes.push(values.len());
    });
    assert_eq!(sizes, [10_000, 10_000, 5_003]);
}
