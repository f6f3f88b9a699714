//! `blynk-sim`: runs the simulator as a program.
//!
//! ```sh
//! cargo run -p blynk-sim -- --port 8080
//! cargo run -p blynk-sim -- --seed my-org.json --rules rules.json --strict
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use blynk_sim::rules::Rules;
use blynk_sim::{BlynkSim, Faults, ImportLimit, RateLimit, Seed};
use clap::Parser;

const AFTER_HELP: &str = "\
Demo credentials (built-in demo organisation, when --seed is not given):
  organisation token    demo-token
  client credentials    demo-client / demo-secret   (POST /oauth2/token, HTTP Basic)
  viewer token          demo-viewer-token           (user alice, OWN_DEVICES_VIEW, devices 1-5)

Simulator endpoints (no authentication):
  GET|DELETE        /__sim/requests     the request log (ring buffer); clear it
  GET|DELETE        /__sim/counters     in-flight and per-operation counts; zero them
  GET|PUT|POST|DELETE /__sim/rules      fault rules: list, replace, append, remove
  GET|PUT           /__sim/faults       global faults (the --*-fraction options)
  GET|DELETE        /__sim/violations   exchanges that broke the API document
  POST              /__sim/reset        back to the seed
  GET               /__sim/state        the organisation now, as seed JSON for --seed
  POST              /__sim/clock        {\"advance_ms\": n} moves the simulator's clock

Any API request may carry `Prefer: code=429` (any documented status) to get that answer.

Rules file (--rules), e.g. the next two imports 429, the third applied then dropped:
  {\"seed\": 7, \"rules\": [
    {\"operation\": \"importDeviceBatchData\", \"times\": 2,
     \"action\": {\"kind\": \"status\", \"status\": 429, \"retry_after\": {\"seconds\": 1}}},
    {\"operation\": \"importDeviceBatchData\", \"nth\": 3, \"action\": {\"kind\": \"apply_then_drop\"}}]}";

/// A share of requests: 0 to 1, not NaN.
fn fraction(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("must be a share between 0 and 1, got {text}"))
    }
}

/// A rate: finite, at least 0.
fn rate(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(format!("must be a finite rate of at least 0, got {text}"))
    }
}

/// A local Blynk Platform API server with the documented semantics.
#[derive(Debug, Parser)]
#[command(version, about, after_help = AFTER_HELP)]
struct Args {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// A seed file (JSON, the shape GET /__sim/state writes); the built-in demo organisation
    /// otherwise.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// A fault rules file (JSON: {"seed": n, "rules": [...]} or a list of rules).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Answer requests that break the API document with 400 naming the rule.
    #[arg(long, conflicts_with = "no_validation")]
    strict: bool,
    /// Do not check exchanges against the API document (saves time in benchmarks).
    #[arg(long)]
    no_validation: bool,
    /// Imported points become visible to history reads this many milliseconds after the import.
    #[arg(long, default_value_t = 0)]
    import_visibility_delay_ms: u64,
    /// Imports per device allowed at once.
    #[arg(long, default_value_t = ImportLimit::default().burst)]
    import_burst: u32,
    /// Imports per device and second, refilled.
    #[arg(long, default_value_t = ImportLimit::default().per_second, value_parser = rate)]
    import_per_second: f64,
    /// Requests the log keeps (the oldest go first).
    #[arg(long, default_value_t = blynk_sim::DEFAULT_LOG_CAPACITY)]
    log_capacity: usize,
    /// Latency added to every API response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of API requests answered 429 (0 to 1).
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    rate_limit_fraction: f64,
    /// Retry-After seconds sent with injected 429s.
    #[arg(long)]
    retry_after_secs: Option<u64>,
    /// Share of API requests answered 500 (0 to 1).
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    server_error_fraction: f64,
    /// Share of API requests whose connection is dropped (0 to 1).
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    drop_fraction: f64,
    /// Share of API responses truncated (0 to 1).
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    truncate_fraction: f64,
    /// Seed of the fault decisions.
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
}

fn load<T>(
    path: &Path,
    what: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, String> {
    std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| parse(&text))
        .map_err(|e| format!("cannot load {what} {}: {e}", path.display()))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let seed = match &args.seed {
        Some(path) => load(path, "seed", |t| {
            Seed::from_json(t).map_err(|e| e.to_string())
        }),
        None => Ok(Seed::demo()),
    };
    let rules = match &args.rules {
        Some(path) => load(path, "rules", |t| {
            Rules::from_json(t).map_err(|e| e.to_string())
        }),
        None => Ok(Rules::default()),
    };
    let (seed, rules) = match (seed, rules) {
        (Ok(seed), Ok(rules)) => (seed, rules),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
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
        .rules(rules)
        .strict(args.strict)
        .validate(!args.no_validation)
        .import_visibility_delay(Duration::from_millis(args.import_visibility_delay_ms))
        .import_limit(ImportLimit {
            burst: args.import_burst,
            per_second: args.import_per_second,
        })
        .log_capacity(args.log_capacity)
        .port(args.port)
        .start()
        .await
    {
        Ok(sim) => sim,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("error: cannot listen on 127.0.0.1:{}: {e}", args.port);
            return ExitCode::FAILURE;
        }
    };
    // Printing fails only when nobody reads standard output; the server runs on regardless.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "blynk-sim listening on {}", sim.base_url());
    if args.seed.is_none() {
        let _ = writeln!(
            out,
            "demo credentials: token {} | client credentials {} / {} | viewer token {}",
            blynk_sim::DEMO_TOKEN,
            blynk_sim::DEMO_CLIENT_ID,
            blynk_sim::DEMO_CLIENT_SECRET,
            blynk_sim::DEMO_VIEWER_TOKEN
        );
    }
    let _ = writeln!(
        out,
        "simulator endpoints: {}",
        blynk_sim::ENDPOINTS.join(", ")
    );
    sim.wait().await;
    ExitCode::SUCCESS
}
