//! Many imports at once: [`Blynk::import_many`] runs them concurrently across devices and one
//! after the other for the datastreams of one device (Blynk rate-limits imports per device).

use std::fmt;

use futures::stream::{self, BoxStream, StreamExt};

use crate::bulk::import::{ImportError, ImportOptions, ImportReport};
use crate::client::Blynk;
use crate::error::Result;
use crate::model::Point;

/// One datastream's import for [`Blynk::import_many`].
pub struct ImportJob {
    /// The device.
    pub device_id: i32,
    /// The datastream.
    pub datastream_id: i32,
    /// Its points.
    pub points: BoxStream<'static, Point>,
}

impl ImportJob {
    /// A job from any iterator of points.
    pub fn new(
        device_id: i32,
        datastream_id: i32,
        points: impl IntoIterator<Item = Point, IntoIter: Send + 'static>,
    ) -> Self {
        Self {
            device_id,
            datastream_id,
            points: stream::iter(points).boxed(),
        }
    }
}

impl fmt::Debug for ImportJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportJob")
            .field("device_id", &self.device_id)
            .field("datastream_id", &self.datastream_id)
            .finish_non_exhaustive()
    }
}

impl Blynk {
    /// Runs many imports: concurrently across devices (at most `concurrency` devices at once),
    /// one after the other for the datastreams of one device, since Blynk rate-limits imports per
    /// device. Results come back in the order of `jobs`; one failure does not stop the others.
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk, points: Vec<blynk_api_ext::Point>) {
    /// use blynk_api_ext::{ImportJob, ImportOptions};
    ///
    /// let jobs = vec![
    ///     ImportJob::new(101, 1, points.clone()),
    ///     ImportJob::new(101, 2, points.clone()),
    ///     ImportJob::new(102, 1, points),
    /// ];
    /// for result in blynk.import_many(jobs, 4, ImportOptions::default()).await {
    ///     println!("{result:?}");
    /// }
    /// # }
    /// ```
    pub async fn import_many(
        &self,
        jobs: Vec<ImportJob>,
        concurrency: usize,
        options: ImportOptions,
    ) -> Vec<Result<ImportReport, ImportError>> {
        let count = jobs.len();
        let mut by_device: Vec<(i32, Vec<(usize, ImportJob)>)> = Vec::new();
        for (index, job) in jobs.into_iter().enumerate() {
            match by_device.iter_mut().find(|(d, _)| *d == job.device_id) {
                Some((_, list)) => list.push((index, job)),
                None => by_device.push((job.device_id, vec![(index, job)])),
            }
        }
        let options = &options;
        let per_device = stream::iter(by_device)
            .map(|(_, list)| async move {
                let mut results = Vec::with_capacity(list.len());
                for (index, job) in list {
                    let result = self
                        .import_stream(
                            job.device_id,
                            job.datastream_id,
                            job.points,
                            options.clone(),
                        )
                        .await;
                    results.push((index, result));
                }
                results
            })
            .buffer_unordered(concurrency.max(1));
        let mut slots: Vec<Option<Result<ImportReport, ImportError>>> =
            (0..count).map(|_| None).collect();
        let mut per_device = std::pin::pin!(per_device);
        while let Some(results) = per_device.next().await {
            for (index, result) in results {
                if let Some(slot) = slots.get_mut(index) {
                    *slot = Some(result);
                }
            }
        }
        slots.into_iter().flatten().collect()
    }
}
