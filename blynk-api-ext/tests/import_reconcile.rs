//! Imports with no point lost and none stored twice, against the simulator (issue 16).
//!
//! Sections: the harness (a client clock that moves the simulator's clock, the ledger of what
//! the server applied); the fault storm; single outcomes; `skip_existing`; `Blynk::import`'s
//! body limit; the property test over any sequence of chunk outcomes.
//!
//! "Stored twice" cannot be read from the simulator's history, which keeps one point per
//! timestamp, so the ledger counts from the request log what the server *applied*: the points of
//! every import answered 2xx, including those whose answer was then dropped (`ApplyThenDrop`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use blynk_api_ext::clock::{Clock, ManualClock};
use blynk_api_ext::{Blynk, Error, ImportOptions, Point, RetryConfig, from_millis};
use blynk_sim::rules::{Action, FaultRule, Rules};
use blynk_sim::{BlynkSim, Datastream, Principal, Seed};

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

const IMPORT: &str = "importDeviceBatchData";
const HISTORY: &str = "getDeviceDataStreamHistory";
const DEVICE: i32 = 1;
const DATASTREAM: i32 = 10;
const TOKEN: &str = "import-test-token";
/// Point i is at `BASE + i` seconds.
const BASE: i64 = 1_700_000_000_000;

/// The client's clock, tied to the simulator's: sleeping moves both forward at once, so waits
/// for `Retry-After`, backoff and asynchronous processing cost no real time.
#[derive(Clone)]
struct SimClock {
    sim: Arc<BlynkSim>,
    manual: ManualClock,
}

impl Clock for SimClock {
    fn now(&self) -> Instant {
        self.manual.now()
    }

    fn wall(&self) -> SystemTime {
        self.sim.now()
    }

    fn sleep(&self, duration: Duration) -> blynk_api_ext::api::hooks::BoxFuture<'static, ()> {
        self.sim.advance_clock(duration);
        self.manual.sleep(duration)
    }
}

fn seed(existing: impl IntoIterator<Item = (i64, f64)>) -> Seed {
    Seed::builder()
        .product(1, "Meter", [Datastream::number(DATASTREAM, "V0", "Value")])
        .devices(1, [DEVICE])
        .points(DEVICE, DATASTREAM, existing)
        .token(TOKEN, Principal::organisation())
        .build()
        .expect("seed")
}

async fn start(rules: Rules, visibility: Duration, existing: Vec<(i64, f64)>) -> Arc<BlynkSim> {
    let sim = BlynkSim::builder()
        .seed(seed(existing))
        .rules(rules)
        .import_visibility_delay(visibility)
        // Time moves only when the client sleeps: the reads a reconciliation needs do not depend
        // on how fast the machine runs.
        .frozen_clock(true)
        .log_capacity(1_000_000)
        .log_body_limit(4 * 1024 * 1024)
        .start()
        .await
        .expect("simulator");
    Arc::new(sim)
}

fn client(sim: &Arc<BlynkSim>, jitter_seed: u64) -> Blynk {
    Blynk::builder()
        .base_url(sim.base_url())
        .token(TOKEN)
        .clock(SimClock {
            sim: sim.clone(),
            manual: ManualClock::new(),
        })
        .retry(retry(jitter_seed))
        .build()
        .expect("client")
}

/// Many quick retries, so that fault storms end in the test's time.
fn retry(jitter_seed: u64) -> RetryConfig {
    RetryConfig::standard()
        .max_attempts(40)
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(10))
        .max_elapsed(Duration::from_secs(3_600))
        .jitter_seed(jitter_seed)
}

/// The server applies the `nth` import request, then drops the connection before answering.
fn lost_answer(nth: u64) -> FaultRule {
    FaultRule::operation(IMPORT)
        .nth(nth)
        .then(Action::ApplyThenDrop)
}

fn point(i: u64) -> Point {
    Point::new(from_millis(BASE + i as i64 * 1000), i as f64)
}

fn points(n: u64) -> impl Iterator<Item = Point> {
    (0..n).map(point)
}

/// Options for tests: small chunks (many requests, many faults), a 1 s reconciliation deadline.
fn options(max_request_bytes: usize) -> ImportOptions {
    ImportOptions::default()
        .max_request_bytes(max_request_bytes)
        .reconcile_deadline(Duration::from_secs(1))
        .reconcile_poll(Duration::from_millis(100))
}

/// How many times the server applied a point at each timestamp, from the request log.
fn applied(sim: &BlynkSim) -> BTreeMap<i64, u64> {
    let mut counts = BTreeMap::new();
    for entry in sim.requests() {
        if entry.operation != Some(IMPORT) || !(200..300).contains(&entry.status) {
            continue;
        }
        let body = entry.body.expect("import body kept whole by the log");
        for value in body["values"].as_array().expect("values") {
            *counts.entry(value["ts"].as_i64().expect("ts")).or_default() += 1;
        }
    }
    counts
}

/// Asserts each of the first `n` points was applied exactly once and nothing else was.
fn assert_exactly_once(sim: &BlynkSim, n: u64) {
    let counts = applied(sim);
    let missing: Vec<u64> = (0..n)
        .filter(|i| !counts.contains_key(&(BASE + *i as i64 * 1000)))
        .collect();
    let twice: Vec<(&i64, &u64)> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(
        missing.is_empty(),
        "{} points missing: {missing:?}",
        missing.len()
    );
    assert!(
        twice.is_empty(),
        "{} points stored more than once",
        twice.len()
    );
    assert_eq!(counts.len() as u64, n);
}

/// Chunks of about 900 points (some 110 requests per 100,000 points), and a deadline past the
/// simulator's 200 ms: reads at 0, 200 and 600 ms at most.
fn storm_options() -> ImportOptions {
    options(32 * 1024)
        .reconcile_deadline(Duration::from_millis(600))
        .reconcile_poll(Duration::from_millis(200))
}

/// The storm of issue 16 on imports: 30 % 429, 10 % 500, 5 % drops before processing, 5 %
/// applied then dropped (each rule's chance is of the calls the rules before it left).
fn storm(seed: u64) -> Rules {
    let rule = || FaultRule::operation(IMPORT);
    Rules::new()
        .seed(seed)
        .rule(
            rule()
                .probability(0.30)
                .then(Action::too_many_requests(Some(1))),
        )
        .rule(rule().probability(0.10 / 0.70).then(Action::Status {
            status: 500,
            retry_after: None,
        }))
        .rule(
            rule()
                .probability(0.05 / 0.60)
                .then(Action::DropBeforeProcessing),
        )
        .rule(rule().probability(0.05 / 0.55).then(Action::ApplyThenDrop))
}

// ---------------------------------------------------------------------------------------------
// The fault storm
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_storm_stores_every_point_exactly_once_over_several_seeds() {
    const N: u64 = 100_000;
    for seed in [1u64, 2, 3] {
        let sim = start(storm(seed), Duration::from_millis(200), Vec::new()).await;
        let blynk = client(&sim, seed);
        let report = blynk
            .import_history(DEVICE, DATASTREAM, points(N), storm_options())
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        println!("seed {seed}: {report:?}");
        assert_exactly_once(&sim, N);
        assert_eq!(report.accepted, N, "seed {seed}");
        assert!(report.unknown_outcomes > 0, "seed {seed}: no fault hit");
        assert!(
            report.reconciled_present > 0,
            "seed {seed}: no apply-then-drop"
        );
        assert!(report.resent > 0, "seed {seed}: nothing resent");
        // Every history read is a reconciliation read, and reported.
        assert_eq!(sim.calls(HISTORY), report.reconcile_reads, "seed {seed}");
        assert_eq!(report.existing_reads, 0);
        sim.advance_clock(Duration::from_secs(1));
        assert_eq!(sim.history(DEVICE, DATASTREAM).len() as u64, N);
        assert!(sim.violations().is_empty(), "{:?}", sim.violations());
    }
}

// ---------------------------------------------------------------------------------------------
// Single outcomes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn outcomes_known_not_applied_cost_no_history_read() {
    let rules = Rules::new().seed(9).rule(
        FaultRule::operation(IMPORT)
            .probability(0.5)
            .then(Action::too_many_requests(Some(1))),
    );
    let sim = start(rules, Duration::from_millis(200), Vec::new()).await;
    let report = client(&sim, 9)
        .import_history(DEVICE, DATASTREAM, points(5_000), options(8 * 1024))
        .await
        .expect("import");
    assert_exactly_once(&sim, 5_000);
    assert_eq!((report.unknown_outcomes, report.reconcile_reads), (0, 0));
    assert_eq!(sim.calls(HISTORY), 0);
}

#[tokio::test]
async fn an_applied_chunk_whose_answer_is_lost_is_found_after_the_server_processes_it() {
    let rules = Rules::new().rule(lost_answer(2));
    let sim = start(rules, Duration::from_millis(200), Vec::new()).await;
    let report = client(&sim, 1)
        .import_history(DEVICE, DATASTREAM, points(300), options(4 * 1024))
        .await
        .expect("import");
    assert_exactly_once(&sim, 300);
    assert_eq!(report.unknown_outcomes, 1);
    assert_eq!(report.resent, 0);
    assert!(report.reconciled_present > 0);
    // Not visible at once: read, wait 100 ms, read, wait 200 ms, read (visible at 200 ms).
    assert_eq!(report.reconcile_reads, 3);
}

/// A client that retries writes on server errors still never retries an import blindly: the
/// import settles the lost answer against the history. (A blind retry of the applied chunk would
/// store its points twice.)
#[tokio::test]
async fn imports_are_not_retried_blindly_even_when_the_client_retries_writes() {
    let rules = Rules::new().rule(lost_answer(1));
    let sim = start(rules, Duration::ZERO, Vec::new()).await;
    let retries_writes = client(&sim, 1).with_retry(retry(1).retry_writes_on_server_errors(true));
    let report = retries_writes
        .import_history(DEVICE, DATASTREAM, points(300), options(4 * 1024))
        .await
        .expect("import");
    assert_exactly_once(&sim, 300);
    assert_eq!(report.unknown_outcomes, 1);
    assert_eq!(report.resent, 0);
    assert!(report.reconciled_present > 0);
}

/// "Never" said as `Duration::MAX` (no future horizon, no reconciliation deadline) used to
/// overflow a clock and panic; it now means no limit.
#[tokio::test]
async fn unbounded_horizon_and_deadline_are_no_limit() {
    let sim = start(
        Rules::new().rule(lost_answer(2)),
        Duration::from_millis(200),
        Vec::new(),
    )
    .await;
    let report = client(&sim, 1)
        .import_history(
            DEVICE,
            DATASTREAM,
            points(300),
            options(4 * 1024)
                .future_horizon(Duration::MAX)
                .reconcile_deadline(Duration::MAX),
        )
        .await
        .expect("import");
    assert_exactly_once(&sim, 300);
    assert_eq!((report.unknown_outcomes, report.resent), (1, 0));
    assert_eq!(report.skipped_future, 0);
}

#[tokio::test]
async fn a_server_error_is_reconciled_and_only_missing_points_are_resent() {
    let rules = Rules::new().rule(FaultRule::operation(IMPORT).nth(1).then(Action::Status {
        status: 500,
        retry_after: None,
    }));
    let sim = start(rules, Duration::ZERO, Vec::new()).await;
    let report = client(&sim, 1)
        .import_history(DEVICE, DATASTREAM, points(300), options(4 * 1024))
        .await
        .expect("import");
    assert_exactly_once(&sim, 300);
    assert_eq!(report.unknown_outcomes, 1);
    assert!(report.resent > 0);
    assert_eq!(report.reconciled_present, 0);
}

#[tokio::test]
async fn a_point_whose_outcome_stays_unknown_is_named_in_the_error() {
    // Every import fails with 500 and every history read too: nothing can be settled.
    let rules = Rules::new()
        .rule(FaultRule::operation(IMPORT).then(Action::Status {
            status: 500,
            retry_after: None,
        }))
        .rule(FaultRule::operation(HISTORY).then(Action::Status {
            status: 400,
            retry_after: None,
        }));
    let sim = start(rules, Duration::ZERO, Vec::new()).await;
    let err = client(&sim, 1)
        .import_history(DEVICE, DATASTREAM, points(50), options(64 * 1024))
        .await
        .expect_err("must fail");
    assert_eq!(err.resume_from, 0);
    let positions: Vec<u64> = err.unresolved.iter().map(|p| p.position).collect();
    assert_eq!(positions, (0..50).collect::<Vec<_>>());
    assert_eq!(err.unresolved[7].at, point(7).at);
    assert!(err.resume_needs_skip_existing());
    assert!(
        matches!(err.source, Error::BadRequest { .. }),
        "{:?}",
        err.source
    );
    let text = err.to_string();
    assert!(text.contains("50 points unresolved"), "{text}");
    assert!(text.contains("with skip_existing"), "{text}");
}

#[tokio::test]
async fn a_chunk_not_applied_stops_the_import_with_a_clean_resume_point() {
    let rules = Rules::new().rule(FaultRule::operation(IMPORT).nth(3).then(Action::Status {
        status: 403,
        retry_after: None,
    }));
    let sim = start(rules, Duration::ZERO, Vec::new()).await;
    let blynk = client(&sim, 1);
    let err = blynk
        .import_history(DEVICE, DATASTREAM, points(400), options(4 * 1024))
        .await
        .expect_err("403");
    assert!(err.unresolved.is_empty());
    assert!(!err.resume_needs_skip_existing());
    assert_eq!(err.accepted, err.resume_from);
    assert_eq!(sim.calls(HISTORY), 0);
    blynk
        .import_history(
            DEVICE,
            DATASTREAM,
            points(400).skip(err.resume_from as usize),
            options(4 * 1024).offset(err.resume_from),
        )
        .await
        .expect("resume");
    assert_exactly_once(&sim, 400);
}

// ---------------------------------------------------------------------------------------------
// skip_existing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn skip_existing_sends_only_the_points_not_stored() {
    // Every third point of 25,000 is already there (three windows).
    let existing: Vec<(i64, f64)> = (0..25_000u64)
        .filter(|i| i % 3 == 0)
        .map(|i| (BASE + i as i64 * 1000, i as f64))
        .collect();
    let stored = existing.len() as u64;
    let sim = start(Rules::new(), Duration::ZERO, existing).await;
    let report = client(&sim, 1)
        .import_history(
            DEVICE,
            DATASTREAM,
            points(25_000),
            options(2_000_000).skip_existing(true),
        )
        .await
        .expect("import");
    assert_eq!(report.skipped_existing, stored);
    assert_eq!(report.accepted, 25_000 - stored);
    let counts = applied(&sim);
    assert_eq!(counts.len() as u64, 25_000 - stored);
    assert!(counts.keys().all(|ts| (ts - BASE) / 1000 % 3 != 0));
    assert!(counts.values().all(|c| *c == 1));

    // Pages of 1,000 over the points stored in each window's range: 4 + 4 + 2.
    assert_eq!(report.existing_reads, 10);
    assert_eq!(sim.calls(HISTORY), 10);
}

#[tokio::test]
async fn skip_existing_refuses_input_out_of_time_order_before_sending_its_window() {
    let sim = start(Rules::new(), Duration::ZERO, Vec::new()).await;
    let mut input: Vec<Point> = points(12_000).collect();
    input.swap(11_000, 11_001);
    let err = client(&sim, 1)
        .import_history(
            DEVICE,
            DATASTREAM,
            input,
            options(2_000_000).skip_existing(true),
        )
        .await
        .expect_err("unsorted");
    assert!(
        matches!(&err.source, Error::InvalidInput { field, .. } if field == "points[11001].at"),
        "{:?}",
        err.source
    );
    // The first window (10,000 points) was stored; the second was not sent.
    assert_eq!((err.accepted, err.resume_from), (10_000, 10_000));
    assert_eq!(sim.calls(IMPORT), 1);
}

#[tokio::test]
async fn rerunning_with_skip_existing_after_apply_then_drop_stores_each_point_once() {
    // The first run's third request is applied, then its connection dropped, and history reads
    // fail, so the run stops with unresolved points; the re-run settles them by reading.
    let rules =
        Rules::new()
            .rule(lost_answer(3))
            .rule(FaultRule::operation(HISTORY).times(1).then(Action::Status {
                status: 403,
                retry_after: None,
            }));
    let sim = start(rules, Duration::ZERO, Vec::new()).await;
    let blynk = client(&sim, 1);
    let err = blynk
        .import_history(DEVICE, DATASTREAM, points(500), options(4 * 1024))
        .await
        .expect_err("history read refused");
    assert!(!err.unresolved.is_empty());
    assert!(err.resume_needs_skip_existing());
    let report = blynk
        .import_history(
            DEVICE,
            DATASTREAM,
            points(500).skip(err.resume_from as usize),
            options(4 * 1024)
                .offset(err.resume_from)
                .skip_existing(true),
        )
        .await
        .expect("re-run");
    assert_eq!(report.skipped_existing, err.unresolved.len() as u64);
    assert_exactly_once(&sim, 500);
}

#[tokio::test]
async fn a_server_slower_than_the_deadline_gets_the_points_twice_when_resending_is_on() {
    // The documented limit of the default: the applied chunk becomes visible only after an hour,
    // long past the 1 s deadline, so its points are sent again.
    let rules = Rules::new().rule(lost_answer(2));
    let sim = start(rules, Duration::from_secs(3_600), Vec::new()).await;
    let report = client(&sim, 1)
        .import_history(DEVICE, DATASTREAM, points(300), options(4 * 1024))
        .await
        .expect("import");
    assert_eq!(report.unknown_outcomes, 1);
    assert!(report.resent > 0);
    let twice = applied(&sim).values().filter(|c| **c > 1).count() as u64;
    assert_eq!(twice, report.resent);
}

#[tokio::test]
async fn with_resending_off_a_deadline_passed_names_the_points_and_a_later_run_stores_them_once() {
    let rules = Rules::new().rule(lost_answer(2));
    let sim = start(rules, Duration::from_secs(3_600), Vec::new()).await;
    let blynk = client(&sim, 1);
    let err = blynk
        .import_history(
            DEVICE,
            DATASTREAM,
            points(300),
            options(4 * 1024).resend_after_deadline(false),
        )
        .await
        .expect_err("the lost chunk is not visible within the deadline");
    // Exactly the points of the lost request are named, and none was sent twice.
    let lost: Vec<u64> = err.unresolved.iter().map(|p| p.position).collect();
    assert!(!lost.is_empty());
    assert_eq!(err.resume_from, lost[0]);
    assert!(lost.windows(2).all(|w| w[1] == w[0] + 1), "{lost:?}");
    assert!(err.resume_needs_skip_existing());
    assert_eq!(err.report.resent, 0);
    assert!(applied(&sim).values().all(|c| *c == 1));
    assert!(
        matches!(err.source, Error::Transport { .. }),
        "{:?}",
        err.source
    );

    // The server catches up; the re-run with skip_existing sends only what is missing.
    sim.advance_clock(Duration::from_secs(3_600));
    let report = blynk
        .import_history(
            DEVICE,
            DATASTREAM,
            points(300).skip(err.resume_from as usize),
            options(4 * 1024)
                .offset(err.resume_from)
                .skip_existing(true)
                .resend_after_deadline(false),
        )
        .await
        .expect("re-run");
    assert_eq!(report.skipped_existing, lost.len() as u64);
    assert_exactly_once(&sim, 300);
}

#[tokio::test]
async fn a_timestamp_is_never_split_between_two_windows() {
    // Points 9,998 to 10,004 share one timestamp: the first window grows to hold them all, so
    // one range read covers the whole input, and all 7 points at that timestamp are sent.
    let shared = BASE + 9_998 * 1000;
    let input: Vec<Point> = (0..10_005u64)
        .map(|i| {
            let ts = if i >= 9_998 {
                shared
            } else {
                BASE + i as i64 * 1000
            };
            Point::new(from_millis(ts), i as f64)
        })
        .collect();
    let sim = start(Rules::new(), Duration::ZERO, Vec::new()).await;
    let report = client(&sim, 1)
        .import_history(
            DEVICE,
            DATASTREAM,
            input,
            options(2_000_000).skip_existing(true),
        )
        .await
        .expect("import");
    assert_eq!(report.existing_reads, 1);
    assert_eq!(report.accepted, 10_005);
    assert_eq!(applied(&sim).get(&shared), Some(&7));
}

#[tokio::test]
async fn input_out_of_time_order_is_reconciled_without_skip_existing() {
    let rules = Rules::new()
        .rule(lost_answer(2))
        .rule(FaultRule::operation(IMPORT).nth(4).then(Action::Status {
            status: 502,
            retry_after: None,
        }));
    let sim = start(rules, Duration::from_millis(200), Vec::new()).await;
    let mut input: Vec<Point> = points(600).collect();
    input.reverse();
    let report = client(&sim, 1)
        .import_history(DEVICE, DATASTREAM, input, options(4 * 1024))
        .await
        .expect("import");
    assert_eq!(report.unknown_outcomes, 2);
    assert_exactly_once(&sim, 600);
}

// ---------------------------------------------------------------------------------------------
// Blynk::import's body limit
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn one_import_over_the_body_limit_is_refused_before_sending() {
    let sim = start(Rules::new(), Duration::ZERO, Vec::new()).await;
    // 10,000 points of 250 characters: about 2.7 MB.
    let long = "x".repeat(250);
    let input: Vec<Point> = (0..10_000u64)
        .map(|i| Point::new(from_millis(BASE + i as i64), long.as_str()))
        .collect();
    let err = client(&sim, 1)
        .import(DEVICE, DATASTREAM, &input)
        .await
        .expect_err("too large");
    assert!(
        matches!(&err, Error::InvalidInput { reason, .. } if reason.contains("2000000 bytes")),
        "{err}"
    );
    assert_eq!(sim.calls(IMPORT), 0);
    // The same points in fewer bytes go through.
    client(&sim, 1)
        .import(DEVICE, DATASTREAM, &points(10_000).collect::<Vec<_>>())
        .await
        .expect("fits");
    assert_eq!(sim.calls(IMPORT), 1);
}

// ---------------------------------------------------------------------------------------------
// Property: any sequence of chunk outcomes ends with each point stored exactly once
// ---------------------------------------------------------------------------------------------

mod property {
    use super::*;
    use proptest::prelude::*;

    /// What the server does with one import request.
    #[derive(Debug, Clone, Copy)]
    enum Fate {
        Applied,
        RateLimited,
        ServerError,
        DroppedBefore,
        AppliedThenLost,
        Refused,
    }

    fn fate() -> impl Strategy<Value = Fate> {
        prop_oneof![
            4 => Just(Fate::Applied),
            2 => Just(Fate::RateLimited),
            2 => Just(Fate::ServerError),
            2 => Just(Fate::DroppedBefore),
            2 => Just(Fate::AppliedThenLost),
            1 => Just(Fate::Refused),
        ]
    }

    fn rules(fates: &[Fate]) -> Rules {
        let mut rules = Rules::new();
        for (n, fate) in fates.iter().enumerate() {
            let action = match fate {
                Fate::Applied => continue,
                Fate::RateLimited => Action::too_many_requests(Some(1)),
                Fate::ServerError => Action::Status {
                    status: 500,
                    retry_after: None,
                },
                Fate::DroppedBefore => Action::DropBeforeProcessing,
                Fate::AppliedThenLost => Action::ApplyThenDrop,
                Fate::Refused => Action::Status {
                    status: 400,
                    retry_after: None,
                },
            };
            rules = rules.rule(FaultRule::operation(IMPORT).nth(n as u64 + 1).then(action));
        }
        rules
    }

    /// One import under `fates` (request by request), then, if it stopped, the resume its error
    /// asks for (with no faults left): every point must end up applied exactly once.
    async fn case(fates: Vec<Fate>, n: u64, visibility_ms: u64) {
        let sim = start(
            rules(&fates),
            Duration::from_millis(visibility_ms),
            Vec::new(),
        )
        .await;
        let blynk = client(&sim, 1);
        let opts = || options(400);
        match blynk
            .import_history(DEVICE, DATASTREAM, points(n), opts())
            .await
        {
            Ok(report) => assert_eq!(report.accepted, n),
            Err(err) => {
                assert!(err.unresolved.is_empty(), "history reads never fail here");
                // Every point before resume_from is applied exactly once.
                let counts = applied(&sim);
                for i in 0..err.resume_from {
                    assert_eq!(counts.get(&(BASE + i as i64 * 1000)), Some(&1), "point {i}");
                }
                sim.set_rules(Rules::new()).expect("rules");
                let resume = opts()
                    .offset(err.resume_from)
                    .skip_existing(err.resume_needs_skip_existing());
                sim.advance_clock(Duration::from_secs(1));
                blynk
                    .import_history(
                        DEVICE,
                        DATASTREAM,
                        points(n).skip(err.resume_from as usize),
                        resume,
                    )
                    .await
                    .expect("resume");
            }
        }
        assert_exactly_once(&sim, n);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn any_sequence_of_chunk_outcomes_stores_each_point_exactly_once(
            fates in proptest::collection::vec(fate(), 0..24),
            n in 1u64..120,
            visibility_ms in prop_oneof![Just(0u64), Just(200), Just(700)],
        ) {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(case(fates, n, visibility_ms));
        }
    }
}
