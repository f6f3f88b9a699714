//! Tests of the pacer: in simulated time (a `ManualClock`), against a server-side token bucket,
//! random refusals, and both.

use super::*;
use crate::clock::ManualClock;

#[tokio::test]
async fn nothing_waits_before_the_first_throttle() {
    let clock = ManualClock::new();
    let pacer = Pacer::new(Pacing::adaptive(), clock.now(), Duration::from_secs(60));
    for _ in 0..1000 {
        assert_eq!(pacer.acquire(&clock).await, Duration::ZERO);
        pacer.record(clock.now(), clock.now(), false, None);
    }
    assert_eq!(pacer.current_rate(), None);
}

#[tokio::test]
async fn a_throttle_lowers_the_rate_and_success_raises_it_again() {
    let clock = ManualClock::new();
    let pacer = Pacer::new(Pacing::adaptive(), clock.now(), Duration::from_secs(60));
    // 100 requests a second for two seconds, then a 429.
    for _ in 0..200 {
        pacer.acquire(&clock).await;
        pacer.record(clock.now(), clock.now(), false, None);
        clock.advance(Duration::from_millis(10));
    }
    pacer.record(clock.now(), clock.now(), true, None);
    let throttled = pacer.current_rate().unwrap();
    assert!(throttled < 100.0 && throttled > 40.0, "{throttled}");
    // Successes over the next seconds bring the rate back up.
    for _ in 0..400 {
        pacer.acquire(&clock).await;
        pacer.record(clock.now(), clock.now(), false, None);
    }
    let recovered = pacer.current_rate().unwrap();
    assert!(recovered > throttled, "{recovered} <= {throttled}");
}

#[tokio::test]
async fn throttles_of_requests_sent_before_a_cut_do_not_cut_again() {
    let clock = ManualClock::new();
    let pacer = Pacer::new(Pacing::adaptive(), clock.now(), Duration::from_secs(60));
    for _ in 0..200 {
        pacer.acquire(&clock).await;
        pacer.record(clock.now(), clock.now(), false, None);
        clock.advance(Duration::from_millis(10));
    }
    // Four requests in flight together; all four come back 429.
    let sent = clock.now();
    clock.advance(Duration::from_millis(5));
    pacer.record(clock.now(), sent, true, None);
    let once = pacer.current_rate().unwrap();
    for _ in 0..3 {
        pacer.record(clock.now(), sent, true, None);
    }
    assert_eq!(pacer.current_rate(), Some(once));
    // A 429 to a request sent after the cut, before enough responses to judge the cut by,
    // does not cut again either.
    pacer.record(clock.now(), clock.now(), true, None);
    assert!(pacer.current_rate().unwrap() >= once);
}

/// A server in simulated time, answering one request at a time after `rtt`.
struct Run {
    sent: u32,
    throttled: u32,
    accepted: u32,
    elapsed: Duration,
}

async fn simulate(
    requests: u32,
    rtt: Duration,
    mut server: impl FnMut(f64) -> bool,
) -> (Run, Pacer) {
    let clock = ManualClock::new();
    let start = clock.now();
    let pacer = Pacer::new(Pacing::adaptive(), start, Duration::from_secs(60));
    let mut run = Run {
        sent: 0,
        throttled: 0,
        accepted: 0,
        elapsed: Duration::ZERO,
    };
    for _ in 0..requests {
        pacer.acquire(&clock).await;
        let sent = clock.now();
        let refused = server((sent - start).as_secs_f64());
        clock.advance(rtt);
        pacer.record(clock.now(), sent, refused, None);
        run.sent += 1;
        if refused {
            run.throttled += 1;
        } else {
            run.accepted += 1;
        }
    }
    run.elapsed = clock.now() - start;
    (run, pacer)
}

/// A server-side token bucket of `per_second` requests with a burst of 10.
fn token_bucket(per_second: f64) -> impl FnMut(f64) -> bool {
    let (mut tokens, mut last) = (10.0_f64, 0.0_f64);
    move |now| {
        tokens = (tokens + (now - last) * per_second).min(10.0);
        last = now;
        if tokens >= 1.0 {
            tokens -= 1.0;
            false
        } else {
            true
        }
    }
}

#[tokio::test]
async fn settles_just_under_a_server_rate_limit() {
    let (run, _) = simulate(3000, Duration::from_millis(2), token_bucket(50.0)).await;
    let rate = f64::from(run.accepted) / run.elapsed.as_secs_f64();
    let share = f64::from(run.throttled) / f64::from(run.sent);
    eprintln!(
        "token bucket 50/s: {rate:.1} accepted/s, {:.1}% 429",
        share * 100.0
    );
    assert!(rate > 0.93 * 50.0, "{rate}");
    assert!(share < 0.05, "{share}");
}

#[tokio::test]
async fn random_429s_do_not_drag_the_rate_down() {
    // 30% of requests refused whatever the rate; unpaced, 500 requests a second.
    let mut rng = fastrand::Rng::with_seed(3);
    let (run, pacer) = simulate(5000, Duration::from_millis(2), move |_| rng.f64() < 0.3).await;
    let rate = f64::from(run.sent) / run.elapsed.as_secs_f64();
    eprintln!(
        "random 30%: {rate:.1} requests/s, adaptive rate at the end {:?}",
        pacer.current_rate()
    );
    // Without telling random refusals apart, every 429 cut the rate to its floor (0.5/s).
    assert!(rate > 0.4 * 500.0, "{rate}");
}

#[tokio::test]
async fn a_limit_on_top_of_random_429s_is_still_found() {
    let mut rng = fastrand::Rng::with_seed(5);
    let mut bucket = token_bucket(50.0);
    let (run, _) = simulate(3000, Duration::from_millis(2), move |now| {
        rng.f64() < 0.2 || bucket(now)
    })
    .await;
    let rate = f64::from(run.sent) / run.elapsed.as_secs_f64();
    let share = f64::from(run.throttled) / f64::from(run.sent);
    eprintln!(
        "random 20% + 50/s: {rate:.1} requests/s, {:.1}% 429",
        share * 100.0
    );
    assert!(rate < 100.0, "{rate}");
}

#[tokio::test]
async fn retry_after_pauses_every_caller() {
    let clock = ManualClock::new();
    let pacer = Pacer::new(
        Pacing::adaptive().adaptive_rate(false),
        clock.now(),
        Duration::from_secs(60),
    );
    pacer.record(clock.now(), clock.now(), true, Some(Duration::from_secs(2)));
    assert_eq!(pacer.acquire(&clock).await, Duration::from_secs(2));
    assert_eq!(pacer.acquire(&clock).await, Duration::ZERO);
    let off = Pacer::new(Pacing::disabled(), clock.now(), Duration::from_secs(60));
    off.record(clock.now(), clock.now(), true, Some(Duration::from_secs(2)));
    assert_eq!(off.acquire(&clock).await, Duration::ZERO);
}

#[tokio::test]
async fn a_fixed_ceiling_spaces_requests() {
    let clock = ManualClock::new();
    let pacer = Pacer::new(
        Pacing::disabled().max_requests_per_second(4.0),
        clock.now(),
        Duration::from_secs(60),
    );
    let start = clock.now();
    for _ in 0..9 {
        pacer.acquire(&clock).await;
    }
    assert_eq!(clock.now() - start, Duration::from_secs(2));
}

#[test]
fn the_retry_budget_runs_out_and_refills_on_success() {
    let pacer = Pacer::new(
        Pacing::adaptive().retry_budget(Some(12)),
        Instant::now(),
        Duration::from_secs(60),
    );
    assert!(pacer.try_retry(false));
    assert!(pacer.try_retry(false));
    assert!(!pacer.try_retry(false));
    assert_eq!(pacer.budget_left(), Some(2));
    pacer.succeeded(true, RETRY_COST);
    assert_eq!(pacer.budget_left(), Some(7));
    pacer.succeeded(false, 0);
    assert_eq!(pacer.budget_left(), Some(8));
    let unlimited = Pacer::new(Pacing::disabled(), Instant::now(), Duration::from_secs(60));
    assert!((0..1000).all(|_| unlimited.try_retry(true)));
}

/// A budget of `u32::MAX` tokens used to overflow on the refund that brings it back to full.
#[test]
fn the_largest_budget_refills_to_its_size_without_overflowing() {
    let pacer = Pacer::new(
        Pacing::adaptive().retry_budget(Some(u32::MAX)),
        Instant::now(),
        Duration::from_secs(60),
    );
    assert!(pacer.try_retry(false));
    for _ in 0..4 {
        pacer.succeeded(false, 0);
    }
    assert_eq!(pacer.budget_left(), Some(u32::MAX - 1));
    pacer.succeeded(true, RETRY_COST);
    assert_eq!(pacer.budget_left(), Some(u32::MAX));
}

/// "No ceiling" said as an infinite rate (or NaN) is no ceiling, not the slowest one.
#[tokio::test]
async fn an_infinite_ceiling_is_no_ceiling() {
    for rate in [f64::INFINITY, f64::NAN] {
        let clock = ManualClock::new();
        let pacer = Pacer::new(
            Pacing::disabled().max_requests_per_second(rate),
            clock.now(),
            Duration::from_secs(60),
        );
        for _ in 0..100 {
            assert_eq!(pacer.acquire(&clock).await, Duration::ZERO, "{rate}");
        }
    }
}

/// A shared `Retry-After` holds the next call for at most the pause limit (the client's
/// `max_elapsed`).
#[tokio::test]
async fn a_shared_pause_lasts_at_most_the_pause_limit() {
    let clock = ManualClock::new();
    let pacer = Pacer::new(
        Pacing::adaptive().adaptive_rate(false),
        clock.now(),
        Duration::from_secs(60),
    );
    pacer.record(
        clock.now(),
        clock.now(),
        true,
        Some(Duration::from_secs(86_400)),
    );
    assert_eq!(pacer.acquire(&clock).await, Duration::from_secs(60));
}
