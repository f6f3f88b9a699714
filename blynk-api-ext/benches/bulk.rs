//! Bulk-operation benchmarks against the simulator (`blynk-sim`) on 127.0.0.1, with its fault
//! injection for latency, rate limits, server errors and dropped connections. Prints its figures;
//! run with
//!
//! ```sh
//! cargo bench -p blynk-api-ext --bench bulk                 # everything
//! cargo bench -p blynk-api-ext --bench bulk -- bad-day      # one section
//! ```
//!
//! Sections (the import figures are `benches/import.rs`'s): `fleet-paced` (10,000 devices against a server-side token bucket of 50 requests/s, pacing on
//! and off), `bad-day` (20 reads of 1,000 devices under 30% 429, 10% 500 and 5% dropped
//! connections), `bulk-read` (1,000 devices at 20 ms latency against the ideal), `history`
//! (1,000,000 points over 1,000 pages, read-ahead against sequential), `overhead` (one call
//! through the ext client, observer and pacing on, against a bare reqwest call, p50; the
//! simulator runs on its own thread and runtime there, the client on a single-threaded one).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};

use blynk_api_ext::{Attempt, Blynk, HistoryQuery, Pacing, ReadOptions, RetryConfig};
use blynk_sim::{
    BlynkSim, Datastream, Faults, HistoryGenerator, ImportLimit, Principal, RateLimit, Seed,
};

const TOKEN: &str = "bench-token";
const BASE_TS: i64 = 1_600_000_000_000;

/// An organisation of `devices` devices with one number datastream (id 1), and a generated
/// history of `history` points on device 1.
fn seed(devices: i32, history: u64) -> Seed {
    let mut builder = Seed::builder()
        .product(1, "Sensor", [Datastream::number(1, "V1", "Temperature")])
        .devices(1, 1..=devices)
        .token(TOKEN, Principal::organisation());
    if history > 0 {
        builder = builder.history(1, 1, HistoryGenerator::counting(BASE_TS, 1000, history));
    }
    builder.build().expect("seed")
}

/// The simulator with `faults`, no import rate limit, and without checking each exchange against
/// the document (that check is the simulator's cost, not the client's).
async fn sim(seed: Seed, faults: Faults) -> BlynkSim {
    BlynkSim::builder()
        .seed(seed)
        .faults(faults)
        .validate(false)
        .import_limit(ImportLimit {
            burst: 1_000_000,
            per_second: 1_000_000.0,
        })
        .start()
        .await
        .expect("simulator")
}

fn client(sim: &BlynkSim) -> Blynk {
    Blynk::builder()
        .base_url(sim.base_url())
        .token(TOKEN)
        .build()
        .expect("client")
}

/// Counts attempts by status, through the observer hook.
#[derive(Default)]
struct Tally {
    attempts: AtomicU64,
    throttled: AtomicU64,
    failed: AtomicU64,
}

impl Tally {
    fn observe(self: &Arc<Self>) -> impl Fn(&Attempt) + Send + Sync + 'static {
        let tally = self.clone();
        move |a: &Attempt| {
            tally.attempts.fetch_add(1, Ordering::Relaxed);
            match a.outcome.status() {
                Some(429) => tally.throttled.fetch_add(1, Ordering::Relaxed),
                Some(s) if s < 400 => 0,
                _ => tally.failed.fetch_add(1, Ordering::Relaxed),
            };
        }
    }
}

async fn fleet_paced() {
    let ids: Vec<i32> = (1..=10_000).collect();
    for (label, pacing) in [("on", Pacing::adaptive()), ("off", Pacing::disabled())] {
        let sim = sim(
            seed(10_000, 0),
            Faults {
                rate_limit: Some(RateLimit::TokenBucket {
                    capacity: 10,
                    per_second: 50.0,
                    retry_after_secs: None,
                }),
                ..Faults::default()
            },
        )
        .await;
        let tally = Arc::new(Tally::default());
        let blynk = Blynk::builder()
            .base_url(sim.base_url())
            .token(TOKEN)
            .pacing(pacing)
            .observer(tally.observe())
            .build()
            .expect("client");
        let start = Instant::now();
        let fleet = blynk
            .values_for_devices(&ids, ReadOptions::default())
            .await
            .expect("read");
        let elapsed = start.elapsed().as_secs_f64();
        let attempts = tally.attempts.load(Ordering::Relaxed);
        let throttled = tally.throttled.load(Ordering::Relaxed);
        let ok_requests = fleet.requests - fleet.failed.len();
        println!(
            "fleet-paced: 10,000 devices (1,000 requests, concurrency 4), server token bucket 50/s \
             (burst 10), pacing {label}: {elapsed:.1} s, {:.1} successful requests/s ({:.2}x of 50; \
             target >= 0.95x), {attempts} attempts, {throttled} answered 429 ({:.1}%; target <= 5%), \
             {} devices returned, {} requests failed",
            ok_requests as f64 / elapsed,
            ok_requests as f64 / elapsed / 50.0,
            100.0 * throttled as f64 / attempts.max(1) as f64,
            fleet.devices.len(),
            fleet.failed.len(),
        );
    }
}

async fn bad_day() {
    let ids: Vec<i32> = (1..=1000).collect();
    // Each configuration gets 20 reads or 240 s, whichever ends first.
    let cap = Duration::from_secs(240);
    for (label, pacing, retry) in [
        (
            "defaults (adaptive pacing, 4 attempts)",
            Pacing::adaptive(),
            RetryConfig::standard(),
        ),
        (
            "pacing off, 4 attempts",
            Pacing::disabled(),
            RetryConfig::standard(),
        ),
    ] {
        let mut complete = 0;
        let mut runs = 0;
        let mut times = Vec::new();
        let mut attempts = 0;
        let mut devices = 0;
        let began = Instant::now();
        for run in 0..20u64 {
            if began.elapsed() > cap {
                break;
            }
            let sim = sim(
                seed(1000, 0),
                Faults {
                    rate_limit: Some(RateLimit::Fraction {
                        fraction: 0.3,
                        retry_after_secs: None,
                    }),
                    server_error_fraction: 0.1,
                    drop_fraction: 0.05,
                    seed: run + 1,
                    ..Faults::default()
                },
            )
            .await;
            let tally = Arc::new(Tally::default());
            let blynk = Blynk::builder()
                .base_url(sim.base_url())
                .token(TOKEN)
                .pacing(pacing.clone())
                .retry(retry.clone())
                .observer(tally.observe())
                .build()
                .expect("client");
            let start = Instant::now();
            let fleet = blynk
                .values_for_devices(&ids, ReadOptions::default())
                .await
                .expect("read");
            times.push(start.elapsed());
            runs += 1;
            attempts += tally.attempts.load(Ordering::Relaxed);
            devices += fleet.devices.len();
            if fleet.is_complete() && fleet.devices.len() == 1000 {
                complete += 1;
            }
        }
        times.sort();
        println!(
            "bad-day: 1,000 devices under 30% 429 + 10% 500 + 5% dropped connections, {label}: \
             {complete}/{runs} reads returned every device (target 20/20; runs stop at 240 s); \
             {:.1} devices returned per read on average; time per read p50 {:.2} s, max {:.2} s; \
             {:.0} attempts per read (100 requests)",
            devices as f64 / runs.max(1) as f64,
            times[times.len() / 2].as_secs_f64(),
            times[times.len() - 1].as_secs_f64(),
            attempts as f64 / runs.max(1) as f64,
        );
    }
}

async fn bulk_read() {
    let latency_ms = 20;
    let ids: Vec<i32> = (1..=1000).collect();
    for concurrency in [1usize, 4, 10] {
        let sim = sim(
            seed(1000, 0),
            Faults {
                latency_ms,
                ..Faults::default()
            },
        )
        .await;
        let blynk = client(&sim);
        // The floor: one batch read of 10 devices with a bare reqwest client, sequentially.
        let bare = reqwest::Client::new();
        let query: String = (1..=10).map(|i| format!("deviceIds={i}&")).collect();
        let url = format!(
            "{}/api/v1/organization/device/datastreams/batch?{query}",
            sim.base_url()
        );
        let mut floor = Vec::new();
        for _ in 0..21 {
            let start = Instant::now();
            bare.get(&url)
                .bearer_auth(TOKEN)
                .send()
                .await
                .expect("bare read")
                .bytes()
                .await
                .expect("body");
            floor.push(start.elapsed());
        }
        floor.sort();
        let floor = floor[floor.len() / 2];
        // Warm the connection pool so that connection set-up is not billed to the first round.
        blynk
            .values_for_devices(
                &ids[..10 * concurrency],
                ReadOptions::default().concurrency(concurrency),
            )
            .await
            .expect("warm-up");
        let mut runs = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            let fleet = blynk
                .values_for_devices(&ids, ReadOptions::default().concurrency(concurrency))
                .await
                .expect("read");
            assert!(fleet.is_complete());
            runs.push(start.elapsed());
        }
        runs.sort();
        let elapsed = runs[runs.len() / 2];
        let ideal = Duration::from_millis(latency_ms) * (100usize.div_ceil(concurrency) as u32);
        let rounds = 100usize.div_ceil(concurrency) as u32;
        println!(
            "bulk-read: 1,000 devices (100 requests), concurrency {concurrency:>2}, median of 5: \
             {:>7.1} ms; ideal {:>6.1} ms: ratio {:.3}x (target <= 1.1x); one bare reqwest read \
             of 10 devices takes {:.2} ms (p50 of 21), so {rounds} rounds of it take {:.1} ms: \
             ratio to that floor {:.3}x",
            elapsed.as_secs_f64() * 1e3,
            ideal.as_secs_f64() * 1e3,
            elapsed.as_secs_f64() / ideal.as_secs_f64(),
            floor.as_secs_f64() * 1e3,
            (floor * rounds).as_secs_f64() * 1e3,
            elapsed.as_secs_f64() / (floor * rounds).as_secs_f64(),
        );
    }
}

async fn history() {
    for latency_ms in [0u64, 5] {
        for read_ahead in [0usize, 4] {
            let sim = sim(
                seed(1, 1_000_000),
                Faults {
                    latency_ms,
                    ..Faults::default()
                },
            )
            .await;
            let blynk = client(&sim);
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
                "history: {} points over {} pages, server latency {latency_ms} ms, read-ahead {read_ahead}: \
                 {:.2} s ({:.0} points/s)",
                points.len(),
                sim.calls("getDeviceDataStreamHistory"),
                elapsed.as_secs_f64(),
                points.len() as f64 / elapsed.as_secs_f64(),
            );
        }
    }
}

/// The simulator on its own OS thread and single-threaded runtime, as a server process would be:
/// every call, whichever client makes it, crosses the same thread boundary. (Sharing the
/// client's runtime made results depend on which worker each connection's server task landed
/// on, swinging the ratio by ±10% from run to run.) Returns its base URL; the thread lives until
/// the process ends.
fn sim_on_own_thread(seed: Seed) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        runtime.block_on(async move {
            let sim = sim(seed, Faults::default()).await;
            tx.send(sim.base_url().to_string()).expect("send base URL");
            std::future::pending::<()>().await;
            drop(sim);
        });
    });
    rx.recv().expect("simulator started")
}

/// One call of each kind per round, in a shuffled order, so that drift in the machine's speed
/// falls on every kind alike.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// `Blynk::device_values` with an observer and adaptive pacing (the defaults plus a metrics
    /// observer): what the target is about.
    ExtOn,
    /// `Blynk::device_values` with no observer and pacing off.
    ExtOff,
    /// `Blynk::device_values` with the defaults, given a plain `reqwest::Client::new()` (no
    /// timeouts, no User-Agent): the ext client's own cost, apart from reqwest's for those.
    ExtPlainHttp,
    /// A bare `reqwest::Client::new()` GET of the same URL with the same token, body read as bytes.
    Bare,
    /// The same, plus decoding the JSON into the generated type, as any typed client must.
    BareDecoded,
    /// A bare GET through a reqwest client configured as the ext client builds its own (timeouts,
    /// User-Agent).
    Configured,
}

const KINDS: [Kind; 6] = [
    Kind::ExtOn,
    Kind::ExtOff,
    Kind::ExtPlainHttp,
    Kind::Bare,
    Kind::BareDecoded,
    Kind::Configured,
];

fn overhead() {
    let base = sim_on_own_thread(seed(10, 0));
    // A single-threaded client runtime: with two, placement of tasks on workers adds the same
    // ±10% noise as above.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    runtime.block_on(async move {
        let tally = Arc::new(Tally::default());
        let on = Blynk::builder()
            .base_url(&base)
            .token(TOKEN)
            .observer(tally.observe())
            .build()
            .expect("client");
        let off = Blynk::builder()
            .base_url(&base)
            .token(TOKEN)
            .pacing(Pacing::disabled())
            .build()
            .expect("client");
        let plain = Blynk::builder()
            .base_url(&base)
            .token(TOKEN)
            .http_client(reqwest::Client::new())
            .build()
            .expect("client");
        let bare = reqwest::Client::new();
        let configured = reqwest::Client::builder()
            .user_agent(blynk_api_ext::USER_AGENT)
            .connect_timeout(blynk_api_ext::DEFAULT_CONNECT_TIMEOUT)
            .timeout(blynk_api_ext::DEFAULT_REQUEST_TIMEOUT)
            .build()
            .expect("configured client");
        let url = format!("{base}/api/v2/organization/device/datastreams?deviceId=1");
        let bare_get = |client: &reqwest::Client| {
            client
                .get(&url)
                .header("authorization", format!("Bearer {TOKEN}"))
                .send()
        };
        let mut rng = fastrand::Rng::with_seed(7);
        let (warm_up, rounds, blocks) = (500, 10_000, 3);
        let mut ratios = Vec::new();
        for block in 1..=blocks {
            let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); KINDS.len()];
            for round in 0..warm_up + rounds {
                let mut order = KINDS;
                rng.shuffle(&mut order);
                for kind in order {
                    let start = Instant::now();
                    match kind {
                        Kind::ExtOn => assert!(!on.device_values(1).await.expect("ext").is_empty()),
                        Kind::ExtOff => {
                            assert!(!off.device_values(1).await.expect("ext").is_empty())
                        }
                        Kind::ExtPlainHttp => {
                            assert!(!plain.device_values(1).await.expect("ext").is_empty())
                        }
                        Kind::Bare => {
                            let body = bare_get(&bare).await.expect("bare").bytes().await;
                            assert!(!body.expect("body").is_empty());
                        }
                        Kind::BareDecoded => {
                            let body = bare_get(&bare).await.expect("bare").bytes().await;
                            let typed: blynk_api::types::GetDeviceDataStreamsV2Response =
                                serde_json::from_slice(&body.expect("body")).expect("decode");
                            assert!(!typed.data_streams.is_empty());
                        }
                        Kind::Configured => {
                            let body = bare_get(&configured)
                                .await
                                .expect("configured")
                                .bytes()
                                .await;
                            assert!(!body.expect("body").is_empty());
                        }
                    }
                    let elapsed = start.elapsed();
                    if round >= warm_up {
                        times[kind as usize].push(elapsed);
                    }
                }
            }
            for t in &mut times {
                t.sort();
            }
            let p = |kind: Kind, q: f64| {
                let v = &times[kind as usize];
                v[((v.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6
            };
            let ratio = |kind: Kind, to: Kind| p(kind, 0.5) / p(to, 0.5);
            ratios.push(ratio(Kind::ExtOn, Kind::Bare));
            println!(
                "overhead, block {block} of {blocks}: {rounds} rounds of one call of each kind in \
                 shuffled order; p50 (p90) in µs: ext client with observer and pacing on {:.1} \
                 ({:.1}), without observer and pacing off {:.1} ({:.1}), given a plain reqwest client \
                 {:.1}; bare reqwest GET {:.1} \
                 ({:.1}), decoding the JSON too {:.1}, with the client's timeouts and User-Agent \
                 {:.1}. Ratio at p50, observer and pacing on, to the bare GET: {:.3}x (target <= \
                 1.05x); to the decoding GET {:.3}x; to the configured GET {:.3}x; pacing off and \
                 no observer to the bare GET {:.3}x; given a plain reqwest client, to the bare GET \
                 {:.3}x",
                p(Kind::ExtOn, 0.5),
                p(Kind::ExtOn, 0.9),
                p(Kind::ExtOff, 0.5),
                p(Kind::ExtOff, 0.9),
                p(Kind::ExtPlainHttp, 0.5),
                p(Kind::Bare, 0.5),
                p(Kind::Bare, 0.9),
                p(Kind::BareDecoded, 0.5),
                p(Kind::Configured, 0.5),
                ratio(Kind::ExtOn, Kind::Bare),
                ratio(Kind::ExtOn, Kind::BareDecoded),
                ratio(Kind::ExtOn, Kind::Configured),
                ratio(Kind::ExtOff, Kind::Bare),
                ratio(Kind::ExtPlainHttp, Kind::Bare),
            );
        }
        ratios.sort_by(f64::total_cmp);
        println!(
            "overhead: median over {blocks} blocks of the p50 ratio, observer and pacing on, to \
             the bare GET: {:.3}x (target <= 1.05x); {} attempts observed",
            ratios[ratios.len() / 2],
            tally.attempts.load(Ordering::Relaxed),
        );
    });
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
    if wants("fleet-paced") {
        runtime.block_on(fleet_paced());
    }
    if wants("bad-day") {
        runtime.block_on(bad_day());
    }
    if wants("bulk-read") {
        runtime.block_on(bulk_read());
    }
    if wants("history") {
        runtime.block_on(history());
    }
    if wants("overhead") {
        overhead();
    }
}
