//! `blynk-sim`: runs the simulator as a program.
//!
//! ```sh
//! cargo run -p blynk-sim -- --port 8080
//! cargo run -p blynk-sim -- --seed my-org.json --latency-ms 50 --rate-limit-fraction 0.1
//! ```

use std::process::ExitCode;

use blynk_sim::{BlynkSim, Faults, RateLimit, Seed};
use clap::Parser;

/// A local Blynk Platform API server with the documented semantics.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// A seed file (JSON); the built-in demo organisation otherwise.
    #[arg(long)]
    seed: Option<std::path::PathBuf>,
    /// Latency added to every API response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of API requests answered 429.
    #[arg(long, default_value_t = 0.0)]
    rate_limit_fraction: f64,
    /// Retry-After seconds sent with injected 429s.
    #[arg(long)]
    retry_after_secs: Option<u64>,
    /// Share of API requests answered 500.
    #[arg(long, default_value_t = 0.0)]
    server_error_fraction: f64,
    /// Share of API requests whose connection is dropped.
    #[arg(long, default_value_t = 0.0)]
    drop_fraction: f64,
    /// Share of API responses truncated.
    #[arg(long, default_value_t = 0.0)]
    truncate_fraction: f64,
    /// Seed of the fault decisions.
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let seed = match &args.seed {
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| Seed::from_json(&t).map_err(|e| e.to_string()))
        {
            Ok(seed) => seed,
            Err(e) => {
                eprintln!("error: cannot load seed {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        },
        None => Seed::demo(),
    };
    let faults = Faults {
        latency_ms: args.latency_ms,
        rate_limit: (args.rate_limit_fraction > 0.0).then_some(RateLimit::Fraction {
            fraction: args.rate_limit_fraction,
            retry_after_secs: args.retry_after_secs,
        }),
        server_error_fraction: args.server_error_fraction,
        drop_fraction: args.drop_fraction,
        truncate_fraction: args.truncate_fraction,
        seed: args.fault_seed,
    };
    let sim = match BlynkSim::builder()
        .seed(seed)
        .faults(faults)
        .port(args.port)
        .start()
        .await
    {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("error: cannot listen on 127.0.0.1:{}: {e}", args.port);
            return ExitCode::FAILURE;
        }
    };
    println!("blynk-sim listening on {}", sim.base_url());
    if args.seed.is_none() {
        println!(
            "demo credentials: token {} | client credentials {} / {} | viewer token {}",
            blynk_sim::DEMO_TOKEN,
            blynk_sim::DEMO_CLIENT_ID,
            blynk_sim::DEMO_CLIENT_SECRET,
            blynk_sim::DEMO_VIEWER_TOKEN
        );
    }
    println!(
        "faults: PUT {}/__sim/faults; request log: GET {}/__sim/requests",
        sim.base_url(),
        sim.base_url()
    );
    sim.wait().await;
    ExitCode::SUCCESS
}
