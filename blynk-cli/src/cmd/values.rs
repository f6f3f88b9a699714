//! `blynk values`: the current values of one device, or of many devices in batches of the size
//! the API allows.

use blynk_api_ext::{Blynk, ReadOptions};
use serde_json::json;

use super::Context;
use crate::exit::Exit;
use crate::fail::Failure;
use crate::output::{count, datastream_json, datastream_rows, print, print_json, ranges, table};

/// Most devices one `--devices` list may name (a typo such as `1-10000000` is refused).
const MAX_LISTED_DEVICES: usize = 1_000_000;

/// The arguments of `blynk values`.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["device", "devices"])))]
pub struct Args {
    /// The device (its help text is `DEVICE_HELP`).
    #[arg(help = super::DEVICE_HELP)]
    pub device: Option<i32>,
    /// Many devices: IDs and ranges, e.g. `1-250,300` (read in batches of the size the API
    /// allows).
    #[arg(long, conflicts_with = "device", value_name = "LIST")]
    pub devices: Option<String>,
    /// Only these datastreams, e.g. `1,2`.
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub datastreams: Vec<i32>,
    /// Requests in flight at once, for --devices.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
}

/// Which devices to read.
#[derive(Debug)]
pub enum Plan {
    /// One device.
    One {
        /// The device.
        device: i32,
        /// Only these datastreams (all when empty).
        datastreams: Vec<i32>,
    },
    /// Many devices.
    Many {
        /// The devices, in the order given.
        ids: Vec<i32>,
        /// Only these datastreams (all when empty).
        datastreams: Vec<i32>,
        /// Requests in flight at once.
        concurrency: usize,
    },
}

/// `1-250,300` into IDs, in order.
pub fn parse_devices(spec: &str) -> Result<Vec<i32>, Failure> {
    let bad = |part: &str| {
        Failure::input(
            format!("`{part}` in --devices is not an ID or a range"),
            "write IDs and ranges like 1-250,300",
        )
    };
    let mut ids: Vec<i32> = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        // A leading minus belongs to the first number: `-5--1` is -5 to -1.
        let split = part
            .char_indices()
            .skip(1)
            .find(|&(_, c)| c == '-')
            .map(|(i, _)| (&part[..i], &part[i + 1..]));
        match split {
            Some((a, b)) => {
                let (a, b): (i32, i32) = (
                    a.trim().parse().map_err(|_| bad(part))?,
                    b.trim().parse().map_err(|_| bad(part))?,
                );
                let len =
                    usize::try_from(i64::from(b) - i64::from(a) + 1).map_err(|_| bad(part))?;
                if a > b || ids.len().saturating_add(len) > MAX_LISTED_DEVICES {
                    return Err(bad(part));
                }
                ids.extend(a..=b);
            }
            None => ids.push(part.parse().map_err(|_| bad(part))?),
        }
        if ids.len() > MAX_LISTED_DEVICES {
            return Err(Failure::input(
                format!("--devices names more than {MAX_LISTED_DEVICES} devices"),
                "split the list into several runs",
            ));
        }
    }
    if ids.is_empty() {
        return Err(Failure::input(
            "--devices names no device",
            "write IDs and ranges like 1-250,300",
        ));
    }
    Ok(ids)
}

impl Args {
    /// Checks the device list and the concurrency.
    pub fn plan(&self) -> Result<Plan, Failure> {
        if self.concurrency == 0 {
            return Err(Failure::input(
                "--concurrency must be at least 1",
                "use --concurrency 4, say",
            ));
        }
        Ok(match (self.device, &self.devices) {
            (_, Some(spec)) => Plan::Many {
                ids: parse_devices(spec)?,
                datastreams: self.datastreams.clone(),
                concurrency: self.concurrency,
            },
            (Some(device), None) => Plan::One {
                device,
                datastreams: self.datastreams.clone(),
            },
            // clap's group requires one of them.
            (None, None) => {
                return Err(Failure::new(
                    Exit::Usage,
                    "no device given",
                    "name a device, or use --devices 1-250,300",
                ));
            }
        })
    }
}

impl Plan {
    /// Reads and prints the values.
    pub async fn run(self, blynk: &Blynk, ctx: &Context) -> Result<(), Failure> {
        match self {
            Plan::One {
                device,
                datastreams,
            } => {
                let values = if datastreams.is_empty() {
                    blynk.device_values(device).await?
                } else {
                    blynk.device_values_of(device, &datastreams).await?
                };
                if ctx.json {
                    print_json(&values.iter().map(datastream_json).collect())
                } else {
                    print(&table(
                        &["ID", "PIN", "LABEL", "VALUE", "UPDATED"],
                        &datastream_rows(None, &values),
                    ))
                }
            }
            Plan::Many {
                ids,
                datastreams,
                concurrency,
            } => {
                let mut options = ReadOptions::default().concurrency(concurrency);
                if !datastreams.is_empty() {
                    options = options.datastreams(datastreams);
                }
                let fleet = blynk.values_for_devices(&ids, options).await?;
                let failed: Vec<(Vec<i32>, Failure)> = fleet
                    .failed
                    .into_iter()
                    .map(|f| (f.device_ids, Failure::from(f.error)))
                    .collect();
                if ctx.json {
                    let devices: Vec<_> = fleet
                        .devices
                        .iter()
                        .map(|d| {
                            json!({
                                "deviceId": d.device_id,
                                "dataStreams": d.datastreams.iter().map(datastream_json).collect::<Vec<_>>(),
                            })
                        })
                        .collect();
                    let failed_json: Vec<_> = failed
                        .iter()
                        .map(|(ids, f)| {
                            json!({
                                "deviceIds": ids,
                                "error": {"code": f.exit.code(), "kind": f.exit.name(), "message": f.message},
                            })
                        })
                        .collect();
                    print_json(&json!({
                        "devices": devices,
                        "missing": fleet.missing,
                        "failed": failed_json,
                        "requests": fleet.requests,
                    }))?;
                } else {
                    let rows: Vec<Vec<String>> = fleet
                        .devices
                        .iter()
                        .flat_map(|d| datastream_rows(Some(d.device_id), &d.datastreams))
                        .collect();
                    print(&table(
                        &["DEVICE", "ID", "PIN", "LABEL", "VALUE", "UPDATED"],
                        &rows,
                    ))?;
                    if !fleet.missing.is_empty() {
                        super::note(&format!(
                            "missing (unknown or not visible to the token): {} ({})",
                            ranges(&fleet.missing),
                            count(fleet.missing.len() as u64, "device"),
                        ));
                    }
                    for (ids, failure) in &failed {
                        super::note(&format!(
                            "not read: {} ({}): {}",
                            ranges(ids),
                            count(ids.len() as u64, "device"),
                            failure.message
                        ));
                    }
                }
                partial(failed, fleet.requests, ids.len())
            }
        }
    }
}

/// The outcome of a fleet read with `failed` requests out of `requests`: success when none
/// failed, the failure itself when every request failed (nothing was read), and
/// [`Exit::Partial`] when some were read.
fn partial(failed: Vec<(Vec<i32>, Failure)>, requests: usize, asked: usize) -> Result<(), Failure> {
    let failed_requests = failed.len();
    let ids: Vec<i32> = failed
        .iter()
        .flat_map(|(ids, _)| ids.iter().copied())
        .collect();
    let Some((_, first)) = failed.into_iter().next() else {
        return Ok(());
    };
    let list = ranges(&ids);
    if failed_requests == requests {
        return Err(first);
    }
    Err(Failure::new(
        Exit::Partial,
        format!(
            "{} of {asked} not read: {list} ({} of {} failed)",
            count(ids.len() as u64, "device"),
            count(failed_requests as u64, "request"),
            requests
        ),
        format!("the reasons are above; to read those again: blynk values --devices {list}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_lists_expand_ranges_in_order() {
        assert_eq!(parse_devices("1-3,7, 5-5").unwrap(), [1, 2, 3, 7, 5]);
        assert_eq!(parse_devices("-3--1,-7").unwrap(), [-3, -2, -1, -7]);
        assert!(parse_devices("3-1").is_err());
        assert!(parse_devices("a").is_err());
        assert!(parse_devices(",").is_err());
        assert!(parse_devices("-2147483648-2147483647").is_err());
        assert!(parse_devices("1-é").is_err());
    }
}
