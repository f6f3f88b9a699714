//! Current values of any number of devices: [`Blynk::values_for_devices`] reads them
//! [`limits::MAX_DEVICES_PER_BATCH_READ`] per request, concurrently, and returns them in the
//! caller's order, with the devices the server skipped listed as missing.

use std::collections::{HashMap, HashSet};

use futures::stream::{self, StreamExt};

use crate::bulk::progress::{ProgressFn, report};
use crate::client::Blynk;
use crate::error::{Error, Result};
use crate::model::DeviceValues;
use crate::ops::BATCH_VALUES;
use blynk_api::limits;

/// Options of [`Blynk::values_for_devices`].
///
/// ```
/// use blynk_api_ext::{ProgressFn, ReadOptions};
///
/// let options = ReadOptions::default()
///     .concurrency(8)
///     .datastreams([1, 2])
///     .progress(ProgressFn::new(|p| eprintln!("{}/{:?} devices", p.done, p.total)));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct ReadOptions {
    concurrency: usize,
    datastream_ids: Option<Vec<i32>>,
    progress: Option<ProgressFn>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            datastream_ids: None,
            progress: None,
        }
    }
}

impl ReadOptions {
    /// Requests in flight at once (default 4, at least 1).
    pub fn concurrency(mut self, requests: usize) -> Self {
        self.concurrency = requests.max(1);
        self
    }

    /// Read only these datastreams.
    pub fn datastreams(mut self, ids: impl Into<Vec<i32>>) -> Self {
        self.datastream_ids = Some(ids.into());
        self
    }

    /// Report devices read.
    pub fn progress(mut self, progress: ProgressFn) -> Self {
        self.progress = Some(progress);
        self
    }
}

/// The values of many devices.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetValues {
    /// Devices the server answered for, in the caller's order, each once.
    pub devices: Vec<DeviceValues>,
    /// Devices the server skipped (unknown, or not visible to the token), in the caller's order.
    pub missing: Vec<i32>,
    /// Requests made.
    pub requests: usize,
}

impl Blynk {
    /// The current values of any number of devices: duplicates removed, split into requests of
    /// [`limits::MAX_DEVICES_PER_BATCH_READ`] devices run concurrently, results in the caller's
    /// order, and the devices the server skipped listed in [`FleetValues::missing`].
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> blynk_api_ext::Result<()> {
    /// use blynk_api_ext::ReadOptions;
    ///
    /// let ids: Vec<i32> = (1..=250).collect();
    /// let fleet = blynk.values_for_devices(&ids, ReadOptions::default().concurrency(8)).await?;
    /// println!("{} devices read in {} requests, {} missing", fleet.devices.len(), fleet.requests, fleet.missing.len());
    /// # Ok(()) }
    /// ```
    pub async fn values_for_devices(
        &self,
        device_ids: &[i32],
        options: ReadOptions,
    ) -> Result<FleetValues> {
        let mut seen = HashSet::with_capacity(device_ids.len());
        let unique: Vec<i32> = device_ids
            .iter()
            .copied()
            .filter(|id| seen.insert(*id))
            .collect();
        if let Some(ids) = &options.datastream_ids
            && ids.is_empty()
        {
            return Err(Error::invalid(
                BATCH_VALUES,
                "datastream_ids",
                "must not be empty",
            ));
        }
        let total = unique.len() as u64;
        // Owned chunks: a closure taking `&[i32]` would make the future depend on a
        // higher-ranked lifetime and stop it from being `Send` inside `tokio::spawn`.
        let chunks: Vec<Vec<i32>> = unique
            .chunks(limits::MAX_DEVICES_PER_BATCH_READ)
            .map(<[i32]>::to_vec)
            .collect();
        let requests = chunks.len();
        let filter = options.datastream_ids.as_deref();
        let mut pending = stream::iter(chunks)
            .map(|chunk| async move { (chunk.len(), self.batch_values(&chunk, filter).await) })
            .buffer_unordered(options.concurrency);
        let mut found: HashMap<i32, DeviceValues> = HashMap::with_capacity(unique.len());
        let mut done = 0u64;
        while let Some((asked, result)) = pending.next().await {
            for device in result? {
                found.entry(device.device_id).or_insert(device);
            }
            done += asked as u64;
            report(&options.progress, done, Some(total));
        }
        let mut devices = Vec::with_capacity(found.len());
        let mut missing = Vec::new();
        for &id in &unique {
            match found.remove(&id) {
                Some(device) => devices.push(device),
                None => missing.push(id),
            }
        }
        Ok(FleetValues {
            devices,
            missing,
            requests,
        })
    }
}
