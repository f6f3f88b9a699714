//! Peak memory of the `blynk-sim` program under load, read from `/proc/<pid>/status` (`VmHWM`, the
//! resident set's high-water mark). Two fresh processes:
//!
//! 1. 100 imports of 10,000 points each (1,000,000 points kept as history), 4 at a time, with
//!    and without validation against the document;
//! 2. 1,000,000 small API requests (device value reads), 32 at a time.
//!
//! The target is a peak under 64 MiB for each. Linux only. Prints its figures:
//!
//! ```sh
//! cargo bench -p blynk-sim --bench memory
//! ```

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use futures::StreamExt;
use serde_json::{Value, json};

const TARGET_MIB: f64 = 64.0;

struct Sim {
    child: Child,
    base_url: String,
}

impl Sim {
    fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_blynk-sim"))
            .args(["--port", "0", "--import-burst", "1000000"])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start blynk-sim");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("first line");
        // Keep reading, so the program never writes to a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let base_url = line
            .trim()
            .rsplit(' ')
            .next()
            .expect("listening on <url>")
            .to_string();
        Sim { child, base_url }
    }

    /// `(VmRSS, VmHWM)` in MiB.
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status (Linux only)");
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .expect("field")
                / 1024.0
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn verdict(peak: f64) -> &'static str {
    if peak < TARGET_MIB {
        "under the 64 MiB target"
    } else {
        "OVER the 64 MiB target"
    }
}

async fn imports(client: &reqwest::Client, extra: &[&str]) {
    let sim = Sim::start(extra);
    let (rss0, _) = sim.memory();
    let url = format!("{}/api/v1/organization/device/import/batch", sim.base_url);
    let start = Instant::now();
    let bodies = (0..100i64).map(|i| {
        let values: Vec<Value> = (0..10_000i64)
            .map(|j| json!({"ts": 1_600_000_000_000 + (i * 10_000 + j) * 1000, "value": (j % 100) as f64 / 2.0}))
            .collect();
        json!({"deviceId": i % 40 + 1, "dataStreamId": 2, "values": values})
    });
    let statuses: Vec<u16> = futures::stream::iter(bodies)
        .map(|body| {
            let request = client
                .post(&url)
                .bearer_auth(blynk_sim::DEMO_TOKEN)
                .json(&body);
            async move { request.send().await.expect("import").status().as_u16() }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    let elapsed = start.elapsed();
    let (rss, peak) = sim.memory();
    println!(
        "memory: 100 imports of 10,000 points (1,000,000 points kept){} in {:.1} s: RSS {rss0:.1} MiB at start, {rss:.1} MiB after, peak {peak:.1} MiB ({})",
        if extra.is_empty() {
            ""
        } else {
            ", without validation"
        },
        elapsed.as_secs_f64(),
        verdict(peak)
    );
}

async fn requests(client: &reqwest::Client, total: usize) {
    let sim = Sim::start(&[]);
    let (rss0, _) = sim.memory();
    let url = format!(
        "{}/api/v2/organization/device/datastreams?deviceId=1",
        sim.base_url
    );
    let start = Instant::now();
    let ok = futures::stream::iter(0..total)
        .map(|_| {
            let request = client.get(&url).bearer_auth(blynk_sim::DEMO_TOKEN);
            async move {
                let response = request.send().await.expect("request");
                let status = response.status().as_u16();
                let _ = response.bytes().await;
                status
            }
        })
        .buffer_unordered(32)
        .filter(|s| std::future::ready(*s == 200))
        .count()
        .await;
    assert_eq!(ok, total);
    let elapsed = start.elapsed();
    let (rss, peak) = sim.memory();
    println!(
        "memory: {total} requests in {:.1} s ({:.0} a second): RSS {rss0:.1} MiB at start, {rss:.1} MiB after, peak {peak:.1} MiB ({})",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        verdict(peak)
    );
}

fn main() {
    let total = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        imports(&client, &[]).await;
        imports(&client, &["--no-validation"]).await;
        requests(&client, total).await;
    });
}
