//! Pins that the simulator's public API works from spawned tasks and from test harnesses that run
//! on several threads: the types are `Send + Sync` and the futures `Send` (this file stops
//! compiling if one regresses), and a simulator shared between tasks and threads answers them all.

use std::sync::Arc;

use blynk_sim::rules::{Action, FaultRule, RetryAfter, Rules};
use blynk_sim::{
    BlynkSim, BodySummary, Counters, DEMO_TOKEN, FaultError, Faults, HistoryGenerator, ImportLimit,
    LoggedRequest, Principal, RateLimit, Seed, SeedBuilder, SeedError, SimBuilder, Violation,
};

const fn send_sync<T: Send + Sync>() {}
fn send<T: Send>(_: &T) {}

const _: () = {
    send_sync::<BlynkSim>();
    send_sync::<SimBuilder>();
    send_sync::<Seed>();
    send_sync::<SeedBuilder>();
    send_sync::<HistoryGenerator>();
    send_sync::<Principal>();
    send_sync::<Faults>();
    send_sync::<RateLimit>();
    send_sync::<ImportLimit>();
    send_sync::<FaultRule>();
    send_sync::<Rules>();
    send_sync::<Action>();
    send_sync::<RetryAfter>();
    send_sync::<Counters>();
    send_sync::<LoggedRequest>();
    send_sync::<BodySummary>();
    send_sync::<Violation>();
    send_sync::<FaultError>();
    send_sync::<SeedError>();
};

#[test]
fn the_futures_of_the_api_are_send() {
    let start = BlynkSim::start();
    send(&start);
    let built = BlynkSim::builder().seed(Seed::demo()).start();
    send(&built);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sim = runtime.block_on(BlynkSim::start()).unwrap();
    send(&sim.wait());
}

async fn read(base_url: &str, device: i32) -> u16 {
    reqwest::Client::new()
        .get(format!(
            "{base_url}/api/v2/organization/device/datastreams?deviceId={device}"
        ))
        .bearer_auth(DEMO_TOKEN)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_simulator_started_in_a_task_serves_tasks_of_a_join_set() {
    let sim = Arc::new(tokio::spawn(BlynkSim::start()).await.unwrap().unwrap());
    let mut tasks = tokio::task::JoinSet::new();
    for device in 1..=8 {
        let sim = sim.clone();
        tasks.spawn(async move {
            if device == 1 {
                sim.add_rule(FaultRule::operation("updateDeviceDataStream").nth(1))
                    .unwrap();
            }
            let status = read(sim.base_url(), device).await;
            (status, sim.calls("getDeviceDataStreamsV2"))
        });
    }
    let mut statuses = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (status, calls) = done.unwrap();
        assert!(calls >= 1);
        statuses.push(status);
    }
    assert_eq!(statuses, [200; 8]);
    assert_eq!(sim.calls("getDeviceDataStreamsV2"), 8);
    assert_eq!(sim.rules().len(), 1);
}

#[test]
fn a_simulator_is_usable_from_several_threads_at_once() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = runtime.block_on(BlynkSim::start()).unwrap();
    let handle = runtime.handle();
    std::thread::scope(|scope| {
        for device in 1..=4 {
            let sim = &sim;
            scope.spawn(move || {
                assert_eq!(handle.block_on(read(sim.base_url(), device)), 200);
                let _ = sim.requests();
                let _ = sim.counters();
                sim.set_faults(Faults::default()).unwrap();
            });
        }
    });
    assert_eq!(sim.calls("getDeviceDataStreamsV2"), 4);
    assert_eq!(sim.request_count(), 4);
}
