//! Current values of any number of devices: [`Blynk::values_for_devices`] reads them
//! [`limits::MAX_DEVICES_PER_BATCH_READ`] per request, concurrently, and returns them in the
//! caller's order, with the devices the server skipped listed as missing. A request that fails
//! after its retries with a retryable error is sent once more when the others are done (a
//! second pass) before its devices are reported failed.

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

/// The values of many devices: what was read, what the server skipped, and what failed.
/// Nothing that succeeded is discarded because another request failed.
///
/// All-or-nothing is one call away: [`into_complete`](Self::into_complete).
#[derive(Debug)]
#[non_exhaustive]
pub struct FleetValues {
    /// Devices the server answered for, in the caller's order, each once.
    pub devices: Vec<DeviceValues>,
    /// Devices the server skipped (unknown, or not visible to the token), in the caller's order.
    pub missing: Vec<i32>,
    /// Requests that failed after their retries: their devices (in the caller's order) and why.
    /// Empty when every request succeeded.
    pub failed: Vec<FailedDevices>,
    /// Batch requests the devices were split into (each may have been sent more than once: its
    /// retries, and the second pass).
    pub requests: usize,
}

/// The devices of one request that failed after its retries, and why.
#[derive(Debug)]
#[non_exhaustive]
pub struct FailedDevices {
    /// The devices the request asked for, in the caller's order.
    pub device_ids: Vec<i32>,
    /// Why it failed.
    pub error: Error,
}

impl FleetValues {
    /// Whether every request succeeded (devices may still be [`missing`](Self::missing)).
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }

    /// The devices whose request failed, in the caller's order.
    pub fn failed_device_ids(&self) -> impl Iterator<Item = i32> + '_ {
        self.failed
            .iter()
            .flat_map(|f| f.device_ids.iter().copied())
    }

    /// All or nothing: `self` if every request succeeded, otherwise the error of the first
    /// failed request (in the caller's order).
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> blynk_api_ext::Result<()> {
    /// use blynk_api_ext::ReadOptions;
    ///
    /// let ids: Vec<i32> = (1..=250).collect();
    /// let fleet = blynk
    ///     .values_for_devices(&ids, ReadOptions::default())
    ///     .await?
    ///     .into_complete()?;
    /// # let _ = fleet; Ok(()) }
    /// ```
    pub fn into_complete(mut self) -> Result<Self> {
        if self.failed.is_empty() {
            return Ok(self);
        }
        Err(self.failed.swap_remove(0).error)
    }
}

impl Blynk {
    /// The current values of any number of devices: duplicates removed, split into requests of
    /// [`limits::MAX_DEVICES_PER_BATCH_READ`] devices run concurrently, results in the caller's
    /// order, the devices the server skipped listed in [`FleetValues::missing`], and the
    /// requests that failed after their retries in [`FleetValues::failed`] with their errors:
    /// one failed request does not discard the others. A request that failed with a retryable
    /// error ([`Error::is_retryable`]) is sent once more, with its full retry policy, after all
    /// the others; only if that fails too are its devices reported failed. The only error returned is invalid
    /// input, before anything is sent; use [`FleetValues::into_complete`] for all or nothing.
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> blynk_api_ext::Result<()> {
    /// use blynk_api_ext::ReadOptions;
    ///
    /// let ids: Vec<i32> = (1..=250).collect();
    /// let fleet = blynk.values_for_devices(&ids, ReadOptions::default().concurrency(8)).await?;
    /// println!("{} devices read in {} requests, {} missing", fleet.devices.len(), fleet.requests, fleet.missing.len());
    /// for failed in &fleet.failed {
    ///     eprintln!("devices {:?}: {}", failed.device_ids, failed.error);
    /// }
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
        let mut pending = stream::iter(chunks.into_iter().enumerate())
            .map(|(index, chunk)| async move {
                let result = self.batch_values(&chunk, filter).await;
                (index, chunk, result)
            })
            .buffer_unordered(options.concurrency);
        let mut found: HashMap<i32, DeviceValues> = HashMap::with_capacity(unique.len());
        let mut failed: Vec<(usize, FailedDevices)> = Vec::new();
        let mut again: Vec<(usize, Vec<i32>)> = Vec::new();
        let mut done = 0u64;
        while let Some((index, chunk, result)) = pending.next().await {
            match result {
                Ok(answered) => {
                    done += chunk.len() as u64;
                    for device in answered {
                        found.entry(device.device_id).or_insert(device);
                    }
                    report(&options.progress, done, Some(total));
                }
                Err(error) if error.is_retryable() => again.push((index, chunk)),
                Err(error) => {
                    done += chunk.len() as u64;
                    failed.push((
                        index,
                        FailedDevices {
                            device_ids: chunk,
                            error,
                        },
                    ));
                    report(&options.progress, done, Some(total));
                }
            }
        }
        drop(pending);
        // The second pass: what failed on a bad moment is asked again once the rest is done.
        let mut second = stream::iter(again)
            .map(|(index, chunk)| async move {
                let result = self.batch_values(&chunk, filter).await;
                (index, chunk, result)
            })
            .buffer_unordered(options.concurrency);
        while let Some((index, chunk, result)) = second.next().await {
            done += chunk.len() as u64;
            match result {
                Ok(answered) => {
                    for device in answered {
                        found.entry(device.device_id).or_insert(device);
                    }
                }
                Err(error) => failed.push((
                    index,
                    FailedDevices {
                        device_ids: chunk,
                        error,
                    },
                )),
            }
            report(&options.progress, done, Some(total));
        }
        drop(second);
        failed.sort_by_key(|(index, _)| *index);
        let failed: Vec<FailedDevices> = failed.into_iter().map(|(_, f)| f).collect();
        let not_asked: HashSet<i32> = failed
            .iter()
            .flat_map(|f| f.device_ids.iter().copied())
            .collect();
        let mut devices = Vec::with_capacity(found.len());
        let mut missing = Vec::new();
        for &id in &unique {
            match found.remove(&id) {
                Some(device) => devices.push(device),
                None if not_asked.contains(&id) => {}
                None => missing.push(id),
            }
        }
        Ok(FleetValues {
            devices,
            missing,
            failed,
            requests,
        })
    }
}
