//! `blynk demo`: the whole library against an in-process simulator, with no account.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use blynk_api_ext::{
    BatchUpdate, Blynk, HistoryQuery, ImportOptions, Location, Point, Property, ReadOptions, limits,
};
use blynk_sim::{BlynkSim, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use futures::StreamExt;

use crate::fail::Failure;
use crate::output::count as counted;

/// Prints a line of the demo; a reader that went away ends the demo quietly.
macro_rules! say {
    ($($arg:tt)*) => {
        crate::output::print(&format!("{}\n", format_args!($($arg)*)))?
    };
}

fn step(n: u32, text: &str) -> Result<(), Failure> {
    crate::output::print(&format!("\n{n}. {text}\n"))
}

fn requests_since(sim: &BlynkSim, before: usize) -> usize {
    sim.requests().len() - before
}

/// Runs the demo.
pub async fn run() -> Result<(), Failure> {
    let sim = BlynkSim::start().await.map_err(|e| {
        Failure::new(
            crate::exit::Exit::Other,
            format!("cannot start the simulator: {e}"),
            "is 127.0.0.1 available?",
        )
    })?;
    say!(
        "blynk demo: simulator running on {} (demo organisation: devices 1-40 and 101-105)",
        sim.base_url()
    );
    let blynk = Blynk::builder()
        .base_url(sim.base_url())
        .client_credentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        .build()
        .map_err(|e| Failure::config(e.to_string(), "report this"))?;

    step(1, "Write values: one at a time, then several at once")?;
    let before = sim.requests().len();
    blynk.set_value(1, 1, 21.5).await?;
    blynk.set_value(1, 4, Location::new(24.105, 56.946)).await?;
    blynk
        .set_values(1, [(2, 45.0.into()), (3, "eco".into())])
        .await?;
    say!(
        "   device 1: Temperature 21.5, Location 24.105,56.946, Humidity 45, Mode eco ({} requests, one of them for the OAuth2 token)",
        requests_since(&sim, before)
    );

    step(2, "Read one device's values")?;
    for ds in blynk.device_values(1).await? {
        say!(
            "   {:<12} {:>3}  {}",
            crate::screen::escape(&ds.label),
            crate::screen::escape(&ds.pin),
            crate::screen::escape(&crate::output::show_value(&ds.value))
        );
    }

    step(
        3,
        &format!(
            "Batch read over 25 devices (the API takes {} per request)",
            limits::MAX_DEVICES_PER_BATCH_READ
        ),
    )?;
    let before = sim.requests().len();
    let ids: Vec<i32> = (1..=25).collect();
    let fleet = blynk
        .values_for_devices(&ids, ReadOptions::default().concurrency(3))
        .await?;
    say!(
        "   {} devices read in {} requests ({} made), {} missing",
        fleet.devices.len(),
        fleet.requests,
        requests_since(&sim, before),
        fleet.missing.len()
    );

    step(
        4,
        &format!(
            "Import 25000 points of history (the API takes {} per request)",
            limits::MAX_POINTS_PER_IMPORT
        ),
    )?;
    let before = sim.requests().len();
    let start = SystemTime::now() - Duration::from_secs(25_000 * 60);
    let points = (0..25_000u64).map(|i| {
        Point::new(
            start + Duration::from_secs(i * 60),
            18.0 + (i % 100) as f64 / 10.0,
        )
    });
    let report = blynk
        .import_history(2, 1, points, ImportOptions::default())
        .await
        .map_err(|e| Failure::from(e.source))?;
    say!(
        "   {} points imported in {} requests ({} made)",
        report.accepted,
        report.requests,
        requests_since(&sim, before)
    );

    step(5, "Read that history back as a stream over all pages")?;
    let before = sim.requests().len();
    let query = HistoryQuery {
        device_id: 2,
        datastream_id: 1,
        from: start,
        to: SystemTime::now(),
    };
    let mut stream = blynk.history(query).read_ahead(2).into_stream();
    let (mut count, mut sum) = (0u64, 0.0);
    while let Some(point) = stream.next().await {
        sum += point?.value;
        count += 1;
    }
    say!(
        "   {count} points read in {} pages, mean {:.2}",
        requests_since(&sim, before),
        sum / count.max(1) as f64
    );

    step(6, "Batch update across devices, with a partial report")?;
    let before = sim.requests().len();
    let mut update = BatchUpdate::new(["Temperature", "Mode"]).debug(true);
    for device in 1..=10 {
        update
            .push(device, [Some(20.0.into()), Some("comfort".into())])
            .map_err(Failure::from)?;
    }
    update
        .push(101, [Some(20.0.into()), None])
        .map_err(Failure::from)?;
    update
        .push(999, [Some(20.0.into()), None])
        .map_err(Failure::from)?;
    let summary = blynk
        .batch_update(&update, blynk_api_ext::BatchUpdateOptions::default())
        .await
        .map_err(|e| Failure::from(e.source))?;
    say!(
        "   {} in {} ({} made): {}",
        counted(summary.rows, "row"),
        counted(summary.requests, "request"),
        requests_since(&sim, before),
        if summary.all_applied() {
            "all applied"
        } else {
            "some rows skipped"
        }
    );
    for skipped in &summary.skipped {
        match skipped.row {
            Some(row) => say!(
                "   skipped row {row} of the update: {}",
                crate::screen::escape(&skipped.reason)
            ),
            None => say!("   skipped: {}", crate::screen::escape(&skipped.reason)),
        }
    }

    step(7, "Update a widget property")?;
    blynk
        .set_property(1, 1, Property::Label, "Living room")
        .await?;
    say!(
        "   device 1, datastream 1: label is now {:?}",
        sim.property(1, 1, "label").unwrap_or_default()
    );

    let mut by_operation: BTreeMap<&str, usize> = BTreeMap::new();
    for request in sim.requests() {
        *by_operation
            .entry(request.operation.unwrap_or("other"))
            .or_default() += 1;
    }
    say!("\nRequests made: {} in all", sim.requests().len());
    for (operation, n) in by_operation {
        say!("   {n:>4}  {operation}");
    }
    say!(
        "\nThe same commands work against Blynk.Cloud once BLYNK_REGION and BLYNK_TOKEN (or BLYNK_CLIENT_ID/BLYNK_CLIENT_SECRET) are set."
    );
    Ok(())
}
