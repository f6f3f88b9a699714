//! [`SimBuilder`] and the running [`BlynkSim`]: how a test starts the simulator, and everything it
//! can ask or change while it runs (faults, rules, counters, the log, violations, the clock,
//! reset and snapshot).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::Clock;
use crate::counters::{Counters, Live};
use crate::faults::{FaultError, FaultState, Faults};
use crate::lock;
use crate::log::{DEFAULT_LOG_BODY_LIMIT, DEFAULT_LOG_CAPACITY, LoggedRequest, RequestLog};
use crate::org::ImportLimit;
use crate::rules::{FaultRule, RuleState, Rules};
use crate::seed::Seed;
use crate::server::{self, Config, Shared};
use crate::validate::{Violation, Violations};

/// A running simulator. It stops when dropped. `Send + Sync`: share it between tasks in an `Arc`
/// or by reference.
pub struct BlynkSim {
    base_url: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for BlynkSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlynkSim")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Configures a [`BlynkSim`].
///
/// ```
/// use std::time::Duration;
/// use blynk_sim::{BlynkSim, Faults, ImportLimit, Seed};
/// use blynk_sim::rules::{Action, FaultRule};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let sim = BlynkSim::builder()
///     .seed(Seed::demo())
///     .faults(Faults { latency_ms: 5, ..Faults::default() })
///     .rule(FaultRule::operation("importDeviceBatchData").nth(3).then(Action::ApplyThenDrop))
///     .import_limit(ImportLimit { burst: 5, per_second: 1.0 })
///     .import_visibility_delay(Duration::from_secs(2))
///     .start()
///     .await?;
/// assert!(sim.base_url().starts_with("http://127.0.0.1:"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SimBuilder {
    seed: Seed,
    faults: Faults,
    rules: Rules,
    import_limit: ImportLimit,
    import_visibility_delay: Duration,
    log_capacity: usize,
    log_body_limit: usize,
    strict: bool,
    validate: bool,
    frozen_clock: bool,
    addr: SocketAddr,
}

impl Default for SimBuilder {
    fn default() -> Self {
        Self {
            seed: Seed::demo(),
            faults: Faults::default(),
            rules: Rules::default(),
            import_limit: ImportLimit::default(),
            import_visibility_delay: Duration::ZERO,
            log_capacity: DEFAULT_LOG_CAPACITY,
            log_body_limit: DEFAULT_LOG_BODY_LIMIT,
            strict: false,
            validate: true,
            frozen_clock: false,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

fn invalid(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string())
}

impl SimBuilder {
    /// The organisation to start with (default [`Seed::demo`]).
    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = seed;
        self
    }

    /// Global faults from the start (default none).
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Fault rules from the start, replacing any given before.
    pub fn rules(mut self, rules: impl Into<Rules>) -> Self {
        self.rules = rules.into();
        self
    }

    /// Appends one fault rule.
    pub fn rule(mut self, rule: FaultRule) -> Self {
        self.rules.rules.push(rule);
        self
    }

    /// The per-device import rate limit (default 20 at once, 10 a second).
    pub fn import_limit(mut self, limit: ImportLimit) -> Self {
        self.import_limit = limit;
        self
    }

    /// How long after an accepted import its points become visible to history reads, on the
    /// simulator's clock (default 0: at once).
    pub fn import_visibility_delay(mut self, delay: Duration) -> Self {
        self.import_visibility_delay = delay;
        self
    }

    /// Stops the simulator's clock at the moment it starts: from then on it moves only through
    /// [`BlynkSim::advance_clock`] (or `POST /__sim/clock`). For tests whose outcome depends on
    /// the simulator's time (import visibility, token expiry, rate limits), so that a slow or busy
    /// machine cannot change it. Default off: the clock follows the wall clock.
    pub fn frozen_clock(mut self, frozen: bool) -> Self {
        self.frozen_clock = frozen;
        self
    }

    /// Entries the request log keeps (default 10,000; the oldest go first, also when the kept
    /// bodies pass [`crate::LOG_BODY_BUDGET`]).
    pub fn log_capacity(mut self, entries: usize) -> Self {
        self.log_capacity = entries;
        self
    }

    /// Bodies above this many bytes are logged as a summary (default 4 KiB).
    pub fn log_body_limit(mut self, bytes: usize) -> Self {
        self.log_body_limit = bytes;
        self
    }

    /// Answer requests that break the document with 400 naming the rule (default off: they are
    /// served and listed in [`BlynkSim::violations`]).
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Check every exchange against the document (default on). Off saves the schema checks'
    /// time (a few milliseconds per 10,000-point import) in benchmarks; `strict` then has nothing
    /// to act on.
    pub fn validate(mut self, validate: bool) -> Self {
        self.validate = validate;
        self
    }

    /// Listen on this port of 127.0.0.1 (default 0: a port the OS assigns).
    pub fn port(mut self, port: u16) -> Self {
        self.addr = SocketAddr::from(([127, 0, 0, 1], port));
        self
    }

    /// Listen on this address (loopback is the safe choice).
    pub fn address(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Checks the configuration, binds and starts serving in the background of the current tokio
    /// runtime. A bad seed, fault or rule is an `InvalidInput` error saying what is wrong.
    pub async fn start(self) -> std::io::Result<BlynkSim> {
        self.seed.check().map_err(invalid)?;
        self.faults.validate().map_err(invalid)?;
        self.rules.validate().map_err(invalid)?;
        crate::faults::check_rate("import_limit.per_second", self.import_limit.per_second)
            .map_err(invalid)?;
        let clock = Arc::new(if self.frozen_clock {
            Clock::frozen_at(std::time::SystemTime::now())
        } else {
            Clock::default()
        });
        let config = Config {
            seed: self.seed,
            import_limit: self.import_limit,
            import_visibility_delay: self.import_visibility_delay,
            log_body_limit: self.log_body_limit,
            strict: self.strict,
            validate: self.validate,
        };
        let shared = Arc::new(Shared {
            org: Mutex::new(Shared::fresh_org(&config, &clock)),
            faults: Mutex::new(FaultState::new(self.faults, clock.now())),
            rules: Mutex::new(RuleState::new(self.rules)),
            log: Mutex::new(RequestLog::new(self.log_capacity)),
            live: Live::default(),
            violations: Mutex::new(Violations::default()),
            config,
            clock,
        });
        let app = axum::Router::new()
            .fallback(server::handle)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(self.addr).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(BlynkSim {
            base_url: format!("http://{addr}"),
            addr,
            shared,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

impl Shared {
    /// Back to the seed: state, log, counters, violations, rule counts and fault sequences. The
    /// configuration (rules, faults, strictness) and the clock stay.
    pub(crate) fn reset(&self) {
        *lock(&self.org) = Shared::fresh_org(&self.config, &self.clock);
        lock(&self.log).clear();
        self.live.reset();
        lock(&self.violations).clear();
        lock(&self.rules).restart();
        let mut faults = lock(&self.faults);
        *faults = FaultState::new(faults.faults.clone(), self.clock.now());
    }
}

impl BlynkSim {
    /// Starts the demo organisation on 127.0.0.1, on a port the OS assigns.
    pub async fn start() -> std::io::Result<Self> {
        SimBuilder::default().start().await
    }

    /// A builder.
    pub fn builder() -> SimBuilder {
        SimBuilder::default()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// The requests the log keeps (the newest, up to its capacity), oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.shared.log).entries()
    }

    /// Requests logged since the start or the last clear, including those the ring buffer no
    /// longer keeps.
    pub fn request_count(&self) -> u64 {
        lock(&self.shared.log).total()
    }

    /// Forgets the requests received so far. Over HTTP: `DELETE /__sim/requests`.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// Replaces the global faults (and restarts their random sequence from their seed). Over
    /// HTTP: `PUT /__sim/faults` with the same JSON. Shares outside `0..=1` and NaN are refused.
    pub fn set_faults(&self, faults: Faults) -> Result<(), FaultError> {
        faults.validate()?;
        *lock(&self.shared.faults) = FaultState::new(faults, self.shared.clock.now());
        Ok(())
    }

    /// Replaces the fault rules; their counts start from 0. Over HTTP: `PUT /__sim/rules`.
    pub fn set_rules(&self, rules: impl Into<Rules>) -> Result<(), FaultError> {
        let rules = rules.into();
        rules.validate()?;
        *lock(&self.shared.rules) = RuleState::new(rules);
        Ok(())
    }

    /// Appends a fault rule; it counts calls from now. Over HTTP: `POST /__sim/rules`.
    pub fn add_rule(&self, rule: FaultRule) -> Result<(), FaultError> {
        Rules::from(vec![rule.clone()]).validate()?;
        lock(&self.shared.rules).push(rule);
        Ok(())
    }

    /// The fault rules in force.
    pub fn rules(&self) -> Vec<FaultRule> {
        lock(&self.shared.rules).rules()
    }

    /// Requests being handled now.
    pub fn in_flight(&self) -> usize {
        self.shared.live.in_flight()
    }

    /// The most requests handled at once since the start or [`BlynkSim::reset_counters`].
    pub fn max_in_flight(&self) -> usize {
        self.shared.live.max_in_flight()
    }

    /// Requests received for an operation (`importDeviceBatchData`, or `oauth2Token`), counted on
    /// arrival, whatever the answer.
    pub fn calls(&self, operation: &str) -> u64 {
        self.shared.live.calls(operation)
    }

    /// All counters at once. Over HTTP: `GET /__sim/counters`.
    pub fn counters(&self) -> Counters {
        self.shared.live.snapshot()
    }

    /// Zeroes the per-operation counts and the in-flight maximum. Over HTTP:
    /// `DELETE /__sim/counters`.
    pub fn reset_counters(&self) {
        self.shared.live.reset();
    }

    /// The kept violations of the document, oldest first. Over HTTP: `GET /__sim/violations`.
    pub fn violations(&self) -> Vec<Violation> {
        lock(&self.shared.violations).list()
    }

    /// Forgets the violations seen so far.
    pub fn clear_violations(&self) {
        lock(&self.shared.violations).clear();
    }

    /// Back to the seed (see `POST /__sim/reset`).
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// The organisation now, as a seed that loads again. Over HTTP: `GET /__sim/state`.
    pub fn state(&self) -> Seed {
        lock(&self.shared.org).snapshot()
    }

    /// Moves the simulator's clock forward (token expiry, the future-point horizon, rate limits,
    /// import visibility). Over HTTP: `POST /__sim/clock`.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// The simulator's clock now.
    pub fn now(&self) -> std::time::SystemTime {
        self.shared.clock.now()
    }

    /// The current value of a datastream, as JSON.
    pub fn value(&self, device_id: i32, datastream_id: i32) -> Option<serde_json::Value> {
        lock(&self.shared.org)
            .current(device_id, datastream_id)
            .map(|(v, _)| v)
    }

    /// The history of a datastream visible to reads now: `(ts, value)` in time order.
    pub fn history(&self, device_id: i32, datastream_id: i32) -> Vec<(i64, f64)> {
        lock(&self.shared.org).history_of(device_id, datastream_id)
    }

    /// A widget property set through the API.
    pub fn property(&self, device_id: i32, datastream_id: i32, name: &str) -> Option<String> {
        lock(&self.shared.org).property_of(device_id, datastream_id, name)
    }

    /// Serves until the task ends (for the binary).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for BlynkSim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
