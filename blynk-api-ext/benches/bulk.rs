//! Bulk-operation benchmarks against a fake Blynk server on 127.0.0.1 with configurable latency.
//! Prints its figures; run with
//!
//! ```sh
//! cargo bench -p blynk-api-ext --bench bulk            # everything
//! cargo bench -p blynk-api-ext --bench bulk -- import-memory   # one section
//! ```
//!
//! Sections: `import-memory` (peak RSS of a 1,000,000-point import from an iterator; run first,
//! in a fresh process, so that nothing else has grown the heap), `encode` (import body encoding
//! against serde_json on the same points), `bulk-read` (1,000 devices at 20 ms latency),
//! `history` (1,000,000 points over 1,000 pages, read-ahead against sequential), `overhead`
//! (one call through the ext client against a bare reqwest call, p50).

#[path = "../tests/support/fake.rs"]
mod fake;

use std::time::{Duration, Instant, UNIX_EPOCH};

use blynk_api_ext::{Blynk, HistoryQuery, ImportOptions, Point, ReadOptions};
use fake::{BASE_TS, Config, Fake};

fn client(fake: &Fake) -> Blynk {
    Blynk::builder()
        .base_url(&fake.url)
        .token("bench-token")
        .build()
        .expect("client")
}

/// Peak and current resident set size of this process, in KiB (Linux).
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn lazy_points(n: u64) -> impl Iterator<Item = Point> {
    (0..n).map(|i| {
        Point::new(
            UNIX_EPOCH + Duration::from_millis(BASE_TS as u64 + i * 1000),
            (i % 1000) as f64 / 10.0,
        )
    })
}

async fn import_memory() {
    let fake = Fake::start(Config::default()).await;
    let blynk = client(&fake);
    let (peak_before, rss_before) = rss_kib();
    let start = Instant::now();
    let report = blynk
        .import_history(1, 1, lazy_points(1_000_000), ImportOptions::default())
        .await
        .expect("import");
    let elapsed = start.elapsed();
    let (peak_after, _) = rss_kib();
    println!(
        "import-memory: 1,000,000 points from an iterator in {} requests, {:.2} s ({:.0} points/s); \
         peak RSS {:.1} MiB (before the import: RSS {:.1} MiB, peak {:.1} MiB); target < 64 MiB",
        report.requests,
        elapsed.as_secs_f64(),
        1_000_000.0 / elapsed.as_secs_f64(),
        peak_after as f64 / 1024.0,
        rss_before as f64 / 1024.0,
        peak_before as f64 / 1024.0,
    );
}

fn encode() {
    use blynk_api::types::{DataStreamRawValue, ImportDeviceBatchDataBodyValuesItem};

    /// The import body borrowing its points, so that the baseline times serialization only.
    #[derive(serde::Serialize)]
    struct Body<'a> {
        #[serde(rename = "deviceId")]
        device_id: i32,
        #[serde(rename = "dataStreamId")]
        data_stream_id: i32,
        values: &'a [ImportDeviceBatchDataBodyValuesItem],
    }
    const N: usize = 1_000_000;
    let points: Vec<Point> = lazy_points(N as u64).collect();
    // The same points as the generated types, for serde_json.
    let items: Vec<ImportDeviceBatchDataBodyValuesItem> = points
        .iter()
        .map(|p| ImportDeviceBatchDataBodyValuesItem {
            ts: blynk_api_ext::to_millis(p.at).unwrap_or_default(),
            value: match &p.value {
                blynk_api_ext::Value::Number(n) => DataStreamRawValue::Double(*n),
                _ => DataStreamRawValue::Double(0.0),
            },
        })
        .collect();
    let rounds = 11;
    let mut ours = Vec::new();
    let mut baseline = Vec::new();
    let mut our_bytes = 0usize;
    let mut base_bytes = 0usize;
    for _ in 0..rounds {
        let start = Instant::now();
        let mut bytes = 0;
        blynk_api_ext::internals::encode_import_bodies(1, 1, &points, |body| bytes += body.len());
        ours.push(start.elapsed());
        our_bytes = bytes;

        let start = Instant::now();
        let mut bytes = 0;
        for chunk in items.chunks(10_000) {
            let body = Body {
                device_id: 1,
                data_stream_id: 1,
                values: chunk,
            };
            bytes += serde_json::to_vec(&body).map(|b| b.len()).unwrap_or(0);
        }
        baseline.push(start.elapsed());
        base_bytes = bytes;
    }
    ours.sort();
    baseline.sort();
    let (o, b) = (ours[rounds / 2], baseline[rounds / 2]);
    println!(
        "encode: 1,000,000 points, median of {rounds}: ours {:.1} ms ({:.1} M points/s, {} bytes), \
         serde_json on the generated types {:.1} ms ({:.1} M points/s, {} bytes); ratio {:.2}x (target >= 0.9x)",
        o.as_secs_f64() * 1e3,
        N as f64 / o.as_secs_f64() / 1e6,
        our_bytes,
        b.as_secs_f64() * 1e3,
        N as f64 / b.as_secs_f64() / 1e6,
        base_bytes,
        b.as_secs_f64() / o.as_secs_f64(),
    );
}

async fn bulk_read() {
    let latency = Duration::from_millis(20);
    let ids: Vec<i32> = (1..=1000).collect();
    for concurrency in [1usize, 4, 10, 25] {
        let fake = Fake::start(Config {
            latency,
            ..Config::default()
        })
        .await;
        let blynk = client(&fake);
        // Warm the connection pool so that connection set-up is not billed to the first round.
        blynk
            .values_for_devices(
                &ids[..10 * concurrency],
                ReadOptions::default().concurrency(concurrency),
            )
            .await
            .expect("warm-up");
        let start = Instant::now();
        let fleet = blynk
            .values_for_devices(&ids, ReadOptions::default().concurrency(concurrency))
            .await
            .expect("read");
        let elapsed = start.elapsed();
        let ideal = latency * (100usize.div_ceil(concurrency) as u32);
        println!(
            "bulk-read: 1,000 devices, concurrency {concurrency:>2}: {:>7.1} ms for {} requests; \
             ideal {:>6.1} ms; ratio {:.2}x (target <= 1.2x)",
            elapsed.as_secs_f64() * 1e3,
            fleet.requests,
            ideal.as_secs_f64() * 1e3,
            elapsed.as_secs_f64() / ideal.as_secs_f64(),
        );
    }
}

async fn history() {
    for latency_ms in [0u64, 5] {
        for read_ahead in [0usize, 4] {
            let fake = Fake::start(Config {
                history_total: 1_000_000,
                latency: Duration::from_millis(latency_ms),
                ..Config::default()
            })
            .await;
            let blynk = client(&fake);
            let query = HistoryQuery {
                device_id: 1,
                datastream_id: 1,
                from: UNIX_EPOCH,
                to: UNIX_EPOCH + Duration::from_secs(2_000_000_000),
            };
            let start = Instant::now();
            let points = blynk
                .history(query)
                .read_ahead(read_ahead)
                .collect_points()
                .await
                .expect("history");
            let elapsed = start.elapsed();
            println!(
                "history: 1,000,000 points over {} pages, server latency {latency_ms} ms, read-ahead {read_ahead}: \
                 {:.2} s ({:.0} points/s)",
                fake.history_pages().len(),
                elapsed.as_secs_f64(),
                points.len() as f64 / elapsed.as_secs_f64(),
            );
        }
    }
}

async fn overhead() {
    let fake = Fake::start(Config::default()).await;
    let blynk = client(&fake);
    let bare = reqwest::Client::new();
    let url = format!(
        "{}/api/v2/organization/device/datastreams?deviceId=1",
        fake.url
    );
    let calls = 3000;
    let mut ext = Vec::with_capacity(calls);
    let mut raw = Vec::with_capacity(calls);
    for round in 0..calls + 200 {
        let start = Instant::now();
        blynk.device_values(1).await.expect("ext call");
        let e = start.elapsed();
        let start = Instant::now();
        let body = bare
            .get(&url)
            .header("authorization", "Bearer bench-token")
            .send()
            .await
            .expect("bare call")
            .bytes()
            .await
            .expect("body");
        let r = start.elapsed();
        assert!(!body.is_empty());
        if round >= 200 {
            ext.push(e);
            raw.push(r);
        }
    }
    ext.sort();
    raw.sort();
    let p = |v: &[Duration], q: f64| v[((v.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    println!(
        "overhead: {calls} calls each, alternating: ext client p50 {:.0} µs p90 {:.0} µs; bare reqwest p50 {:.0} µs p90 {:.0} µs; \
         p50 ratio {:.2}x (target <= 1.1x)",
        p(&ext, 0.5),
        p(&ext, 0.9),
        p(&raw, 0.5),
        p(&raw, 0.9),
        p(&ext, 0.5) / p(&raw, 0.5),
    );
}

fn main() {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if wants("import-memory") {
        runtime.block_on(import_memory());
    }
    if wants("encode") {
        encode();
    }
    if wants("bulk-read") {
        runtime.block_on(bulk_read());
    }
    if wants("history") {
        runtime.block_on(history());
    }
    if wants("overhead") {
        runtime.block_on(overhead());
    }
}
