//! How fast the simulator starts in-process and answers its first request. Prints its figures:
//!
//! ```sh
//! cargo bench -p blynk-sim --bench start
//! ```

use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let rounds = 200;
        let mut starts = Vec::with_capacity(rounds);
        let mut firsts = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let t = Instant::now();
            let sim = blynk_sim::BlynkSim::start().await.expect("start");
            starts.push(t.elapsed());
            let t = Instant::now();
            let status = client
                .get(format!(
                    "{}/api/v2/organization/device/datastreams?deviceId=1",
                    sim.base_url()
                ))
                .bearer_auth(blynk_sim::DEMO_TOKEN)
                .send()
                .await
                .expect("request")
                .status();
            firsts.push(t.elapsed());
            assert_eq!(status, 200);
        }
        starts.sort();
        firsts.sort();
        println!(
            "start: {rounds} in-process starts with the demo seed: p50 {:.3} ms, p99 {:.3} ms; \
             first request (new connection): p50 {:.3} ms, p99 {:.3} ms",
            percentile(&starts, 0.5),
            percentile(&starts, 0.99),
            percentile(&firsts, 0.5),
            percentile(&firsts, 0.99),
        );
    });
}
