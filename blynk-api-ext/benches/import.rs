//! Import-path benchmarks (issue 16 item 6). Prints its figures; run with
//!
//! ```sh
//! cargo bench -p blynk-api-ext --bench import                    # both sections
//! cargo bench -p blynk-api-ext --bench import -- encode          # one section
//! cargo bench -p blynk-api-ext --bench import -- import-memory
//! ```
//!
//! - `encode`: import bodies written by the client's encoder against serde_json serializing the
//!   generated types (`ImportDeviceBatchDataBodyValuesItem`) over the same 1,000,000 points, in
//!   bodies of 10,000 points; median of 11 rounds; target ratio >= 1.0x.
//! - `import-memory`: `import_history` of 10,000,000 points from a lazy iterator, against the
//!   simulator running in a *separate process* (this binary re-run with `serve`; imports answered
//!   200 without being stored), so the peak RSS printed (VmHWM of this process) is the client's
//!   alone; target < 32 MiB.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, UNIX_EPOCH};

use blynk_api_ext::{Blynk, ImportOptions, Point};
use blynk_sim::rules::{Action, FaultRule};
use blynk_sim::{BlynkSim, Datastream, ImportLimit, Principal, Seed};

const BASE_TS: i64 = 1_600_000_000_000;

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
    let (mut our_bytes, mut base_bytes) = (0usize, 0usize);
    for _ in 0..rounds {
        let start = Instant::now();
        let mut bytes = 0;
        blynk_api_ext::internals::encode_import_bodies(1, 1, &points, |body| bytes += body.len());
        ours.push(start.elapsed());
        our_bytes = bytes;

        let start = Instant::now();
        let mut bytes = 0;
        for chunk in items.chunks(blynk_api_ext::limits::MAX_POINTS_PER_IMPORT) {
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
    // The fastest round of each is the least disturbed by other processes on a busy machine.
    let (o_min, b_min) = (ours[0], baseline[0]);
    println!(
        "encode: 1,000,000 points, median of {rounds}: ours {:.1} ms ({:.1} M points/s, {} bytes), \
         serde_json on the generated types {:.1} ms ({:.1} M points/s, {} bytes); \
         ratio {:.2}x on medians, {:.2}x on fastest rounds (target >= 1.0x)",
        o.as_secs_f64() * 1e3,
        N as f64 / o.as_secs_f64() / 1e6,
        our_bytes,
        b.as_secs_f64() * 1e3,
        N as f64 / b.as_secs_f64() / 1e6,
        base_bytes,
        b.as_secs_f64() / o.as_secs_f64(),
        b_min.as_secs_f64() / o_min.as_secs_f64(),
    );
}

/// Runs the simulator in this process (the child side of `import-memory`) and prints its URL.
/// Imports are answered 200 without being applied, so the server holds no points either.
async fn serve() {
    let seed = Seed::builder()
        .product(1, "Sensor", [Datastream::number(1, "V1", "Temperature")])
        .devices(1, [1])
        .token("bench-token", Principal::organisation())
        .build()
        .expect("seed");
    let sim = BlynkSim::builder()
        .seed(seed)
        .import_limit(ImportLimit {
            burst: u32::MAX,
            per_second: 1e9,
        })
        .rule(
            FaultRule::operation("importDeviceBatchData").then(Action::Status {
                status: 200,
                retry_after: None,
            }),
        )
        .start()
        .await
        .expect("simulator");
    println!("{}", sim.base_url());
    // Serve until the parent closes stdin (or kills this process).
    let _ = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    })
    .await;
}

async fn import_memory() {
    const N: u64 = 10_000_000;
    let exe = std::env::current_exe().expect("bench executable");
    let mut child = Command::new(exe)
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("server process");
    let mut url = String::new();
    BufReader::new(child.stdout.take().expect("child stdout"))
        .read_line(&mut url)
        .expect("server URL");
    let blynk = Blynk::builder()
        .base_url(url.trim())
        .token("bench-token")
        .build()
        .expect("client");
    let (peak_before, rss_before) = rss_kib();
    let start = Instant::now();
    let report = blynk
        .import_history(1, 1, lazy_points(N), ImportOptions::default())
        .await
        .expect("import");
    let elapsed = start.elapsed();
    let (peak_after, _) = rss_kib();
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "import-memory: {N} points from an iterator in {} requests, {:.2} s ({:.0} points/s); \
         client peak RSS {:.1} MiB (server in another process; before the import: RSS {:.1} MiB, \
         peak {:.1} MiB); target < 32 MiB",
        report.requests,
        elapsed.as_secs_f64(),
        N as f64 / elapsed.as_secs_f64(),
        peak_after as f64 / 1024.0,
        rss_before as f64 / 1024.0,
        peak_before as f64 / 1024.0,
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        serve().await;
        return;
    }
    let wanted = |name: &str| {
        let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
        filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
    };
    // Memory first, in a fresh process, so that nothing else has grown the heap.
    if wanted("import-memory") {
        import_memory().await;
    }
    if wanted("encode") {
        encode();
    }
}
