//! The checks the bulk writes run on each item before sending it, public so that a caller (the
//! `blynk` command, say) can run the very same check over a whole file before sending anything.
//!
//! [`import_point`] is what [`Blynk::import_history`](crate::Blynk::import_history) applies to each
//! point; [`batch_row`] is what [`BatchUpdate::push`](crate::BatchUpdate::push) and
//! [`Blynk::batch_update`](crate::Blynk::batch_update) apply to each row. Errors are
//! [`Error::InvalidInput`] naming the operation, the position and what is wrong.

use std::time::SystemTime;

use crate::bulk::import::{FuturePoints, ImportOptions};
use crate::error::{Error, Result};
use crate::model::{Point, Value, to_millis};
use crate::ops::{BATCH_UPDATE, IMPORT};

/// What the import does with a point that passed [`import_point`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PointVerdict {
    /// It is sent, with this timestamp in milliseconds since the Unix epoch.
    Send {
        /// The point's timestamp, as the API counts time.
        ts: i64,
    },
    /// It is left out and counted, being further ahead of `now` than the options' future horizon
    /// (with [`FuturePoints::Skip`]).
    SkipFuture,
}

/// The checks every imported point gets, wherever it is sent from: a value the API takes, a time
/// not before 1970. Returns the time in epoch milliseconds.
pub(crate) fn point_ts(point: &Point, position: u64) -> Result<i64> {
    point
        .value
        .check()
        .map_err(|reason| Error::invalid(IMPORT, format!("points[{position}].value"), reason))?;
    to_millis(point.at)
        .ok_or_else(|| Error::invalid(IMPORT, format!("points[{position}].at"), "is before 1970"))
}

/// Checks one import point as the import does: a value with a JSON form (finite numbers, a valid
/// location), a timestamp from 1970 on, and not further ahead of `now` than
/// [`ImportOptions::future_horizon`] (skipped or refused, by [`ImportOptions::future_points`]).
/// `position` is the point's input position, named in the error.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use blynk_api_ext::validate::{PointVerdict, import_point};
/// use blynk_api_ext::{ImportOptions, Point};
///
/// let now = SystemTime::now();
/// let options = ImportOptions::default();
/// let ok = Point::new(UNIX_EPOCH + Duration::from_millis(1_500), 21.5);
/// assert_eq!(import_point(&ok, 0, &options, now)?, PointVerdict::Send { ts: 1_500 });
///
/// let bad = Point::new(UNIX_EPOCH, f64::NAN);
/// let err = import_point(&bad, 7, &options, now).unwrap_err();
/// assert!(err.to_string().contains("points[7].value"));
/// # Ok::<(), blynk_api_ext::Error>(())
/// ```
pub fn import_point(
    point: &Point,
    position: u64,
    options: &ImportOptions,
    now: SystemTime,
) -> Result<PointVerdict> {
    let ts = point_ts(point, position)?;
    // A horizon past what a clock can hold (`Duration::MAX`: "never skip") skips nothing.
    if now
        .checked_add(options.horizon)
        .is_some_and(|limit| point.at > limit)
    {
        return match options.future {
            FuturePoints::Skip => Ok(PointVerdict::SkipFuture),
            FuturePoints::Fail => Err(Error::invalid(
                IMPORT,
                format!("points[{position}].at"),
                "is more than the future horizon ahead; the server would drop it",
            )),
        };
    }
    Ok(PointVerdict::Send { ts })
}

/// Checks one batch-update row as [`BatchUpdate::push`](crate::BatchUpdate::push) does: at least
/// one label, one cell per label, and every value with a JSON form. `index` is the row's
/// position, named in the error.
///
/// ```
/// use blynk_api_ext::validate::batch_row;
///
/// let labels = ["Temperature".to_string(), "Mode".to_string()];
/// batch_row(&labels, 0, &[Some(21.5.into()), None])?;
/// let err = batch_row(&labels, 3, &[Some(f64::INFINITY.into()), None]).unwrap_err();
/// assert!(err.to_string().contains("rows[3][0]"));
/// # Ok::<(), blynk_api_ext::Error>(())
/// ```
pub fn batch_row(labels: &[String], index: usize, cells: &[Option<Value>]) -> Result<()> {
    if labels.is_empty() {
        return Err(Error::invalid(
            BATCH_UPDATE,
            "labels",
            "at least 1 label is needed",
        ));
    }
    if cells.len() != labels.len() {
        return Err(Error::invalid(
            BATCH_UPDATE,
            format!("rows[{index}]"),
            format!("{} cells for {} labels", cells.len(), labels.len()),
        ));
    }
    for (column, cell) in cells.iter().enumerate() {
        if let Some(value) = cell {
            value.check().map_err(|reason| {
                Error::invalid(BATCH_UPDATE, format!("rows[{index}][{column}]"), reason)
            })?;
        }
    }
    Ok(())
}
