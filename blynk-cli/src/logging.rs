//! `-v`, `-vv`, `-vvv` and `RUST_LOG`: the client's tracing on stderr. Each request attempt is a
//! span (`blynk.attempt`: operation, attempt, method, path, status) reported when it closes, with
//! its duration. The client never puts a token, a secret or a query in its spans.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// The filter for a verbosity: none (then `RUST_LOG` alone), or more detail per `-v`.
pub fn filter(verbose: u8, rust_log: Option<&str>) -> Option<EnvFilter> {
    let base = match verbose {
        0 => None,
        1 => Some("blynk_api_ext=debug,blynk_api=debug"),
        2 => Some("blynk_api_ext=debug,blynk_api=debug,reqwest=debug,hyper_util=debug"),
        _ => Some("trace"),
    };
    let directives = match (base, rust_log.filter(|s| !s.trim().is_empty())) {
        (None, None) => return None,
        (Some(base), None) => base.to_string(),
        (None, Some(env)) => env.to_string(),
        (Some(base), Some(env)) => format!("{base},{env}"),
    };
    Some(EnvFilter::builder().parse_lossy(directives))
}

/// Installs the subscriber for this process (called once, by `blynk` itself).
pub fn init(verbose: u8, rust_log: Option<&str>) {
    if let Some(filter) = filter(verbose, rust_log) {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_span_events(FmtSpan::CLOSE)
            .with_ansi(false)
            .try_init();
    }
}
