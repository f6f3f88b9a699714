//! Many imports at once: [`Blynk::import_many`] runs them concurrently across devices and one
//! after the other for the datastreams of one device (Blynk rate-limits imports per device).

use std::collections::HashMap;
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

/// The outcome of one job of [`Blynk::import_many`].
#[derive(Debug)]
#[non_exhaustive]
pub struct JobOutcome {
    /// The device.
    pub device_id: i32,
    /// The datastream.
    pub datastream_id: i32,
    /// What the import did, or where it stopped (with the position to resume from).
    pub result: Result<ImportReport, ImportError>,
}

/// What [`Blynk::import_many`] did: one outcome per job, in the order of the jobs. A failed job
/// does not discard or stop the others.
///
/// All-or-nothing is one call away: [`into_complete`](Self::into_complete).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ImportManyReport {
    /// One outcome per job, in the order the jobs were given.
    pub jobs: Vec<JobOutcome>,
}

impl ImportManyReport {
    /// Whether every job completed.
    pub fn is_complete(&self) -> bool {
        self.jobs.iter().all(|job| job.result.is_ok())
    }

    /// Points accepted over all jobs, the failed ones' accepted points included.
    pub fn accepted(&self) -> u64 {
        self.jobs
            .iter()
            .map(|job| match &job.result {
                Ok(report) => report.accepted,
                Err(error) => error.accepted,
            })
            .sum()
    }

    /// The jobs that stopped, in the order of the jobs.
    pub fn failed(&self) -> impl Iterator<Item = &ImportError> + '_ {
        self.jobs.iter().filter_map(|job| job.result.as_ref().err())
    }

    /// All or nothing: every job's report, in the order of the jobs, or the first job's error
    /// (in that order) if any stopped.
    pub fn into_complete(self) -> Result<Vec<ImportReport>, ImportError> {
        self.jobs.into_iter().map(|job| job.result).collect()
    }
}

impl Blynk {
    /// Runs many imports: concurrently across devices (at most `concurrency` devices at once),
    /// one after the other for the datastreams of one device, since Blynk rate-limits imports per
    /// device. Outcomes come back in the order of `jobs`; one failure does not stop the others.
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
    /// let outcome = blynk.import_many(jobs, 4, ImportOptions::default()).await;
    /// println!("{} points accepted", outcome.accepted());
    /// for failed in outcome.failed() {
    ///     eprintln!("{failed}");
    /// }
    /// # }
    /// ```
    pub async fn import_many(
        &self,
        jobs: Vec<ImportJob>,
        concurrency: usize,
        options: ImportOptions,
    ) -> ImportManyReport {
        let count = jobs.len();
        let mut by_device: Vec<Vec<(usize, ImportJob)>> = Vec::new();
        let mut slot_of: HashMap<i32, usize> = HashMap::new();
        for (index, job) in jobs.into_iter().enumerate() {
            let slot = *slot_of.entry(job.device_id).or_insert_with(|| {
                by_device.push(Vec::new());
                by_device.len() - 1
            });
            if let Some(list) = by_device.get_mut(slot) {
                list.push((index, job));
            }
        }
        let options = &options;
        let per_device = stream::iter(by_device)
            .map(|list| async move {
                let mut outcomes = Vec::with_capacity(list.len());
                for (index, job) in list {
                    let (device_id, datastream_id) = (job.device_id, job.datastream_id);
                    let result = self
                        .import_stream(device_id, datastream_id, job.points, options.clone())
                        .await;
                    outcomes.push((
                        index,
                        JobOutcome {
                            device_id,
                            datastream_id,
                            result,
                        },
                    ));
                }
                outcomes
            })
            .buffer_unordered(concurrency.max(1));
        let mut slots: Vec<Option<JobOutcome>> = (0..count).map(|_| None).collect();
        let mut per_device = std::pin::pin!(per_device);
        while let Some(outcomes) = per_device.next().await {
            for (index, outcome) in outcomes {
                if let Some(slot) = slots.get_mut(index) {
                    *slot = Some(outcome);
                }
            }
        }
        ImportManyReport {
            jobs: slots.into_iter().flatten().collect(),
        }
    }
}
