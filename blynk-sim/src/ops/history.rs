//! `getDeviceDataStreamHistory`: one page of a datastream's history in `from..=to`, with the total,
//! page sizes `MIN_HISTORY_PAGE_SIZE..=MAX_HISTORY_PAGE_SIZE`, pages numbered from
//! `FIRST_HISTORY_PAGE`.

use blynk_api::limits::{
    DEFAULT_HISTORY_PAGE_SIZE, FIRST_HISTORY_PAGE, MAX_HISTORY_PAGE_SIZE, MIN_HISTORY_PAGE_SIZE,
};
use serde_json::{Value, json};

use super::Call;
use crate::answer::Answer;
use crate::org::Org;
use crate::query::int_param;
use crate::seed::Principal;

pub(super) fn page(org: &mut Org, p: &Principal, call: &Call<'_>) -> Result<Answer, Answer> {
    Org::view(p)?;
    let q = call.query;
    let device_id: i32 = int_param(q, "deviceId", true)?.unwrap_or_default();
    let ds_id: i32 = int_param(q, "dataStreamId", true)?.unwrap_or_default();
    let from: i64 = int_param(q, "from", true)?.unwrap_or_default();
    let to: i64 = int_param(q, "to", true)?.unwrap_or_default();
    let page: i64 = int_param(q, "page", false)?.unwrap_or(i64::from(FIRST_HISTORY_PAGE));
    let size: i64 = int_param(q, "size", false)?.unwrap_or(i64::from(DEFAULT_HISTORY_PAGE_SIZE));
    let sizes = i64::from(MIN_HISTORY_PAGE_SIZE)..=i64::from(MAX_HISTORY_PAGE_SIZE);
    if !sizes.contains(&size) {
        return Err(Answer::error(
            400,
            format!(
                "Page size must be between {MIN_HISTORY_PAGE_SIZE} and {MAX_HISTORY_PAGE_SIZE}, got {size}"
            ),
        ));
    }
    if page < i64::from(FIRST_HISTORY_PAGE) {
        return Err(Answer::error(
            400,
            format!("Page must not be below {FIRST_HISTORY_PAGE}, got {page}"),
        ));
    }
    if from > to {
        return Err(Answer::error(400, "from must not be later than to"));
    }
    org.settle_imports();
    let device = org.device(p, device_id)?;
    org.datastream(device, ds_id)?;
    let (total, points) = match org.history.get(&(device_id, ds_id)) {
        Some(series) => {
            let skip = (page - i64::from(FIRST_HISTORY_PAGE)).saturating_mul(size);
            let skip = usize::try_from(skip).unwrap_or(usize::MAX);
            let take = usize::try_from(size).unwrap_or(0);
            (series.count(from, to), series.page(from, to, skip, take))
        }
        None => (0, Vec::new()),
    };
    let content: Vec<Value> = points
        .into_iter()
        .map(|(ts, v)| json!({"value": v, "createdAt": ts}))
        .collect();
    Ok(Answer::ok(
        json!({"content": content, "totalElements": total}),
    ))
}
