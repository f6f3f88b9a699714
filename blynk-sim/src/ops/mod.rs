//! The rules of each operation, one file per operation family, each a function from the caller
//! and the request to an [`Answer`]. [`run`] finds the function of an operation of
//! `blynk_api::operations`.
//!
//! - `reads`: `getDeviceDataStreamsV2`, `getBatchDeviceDataStreams`
//! - `history`: `getDeviceDataStreamHistory`
//! - `update`: `updateDeviceDataStream`, `updateMultipleDeviceDataStreams`
//! - `batch_update`: `batchUpdateDeviceDataStreams`
//! - `import`: `importDeviceBatchData`
//! - `property`: `updateDeviceDataStreamProperty`

mod batch_update;
mod history;
mod import;
mod property;
mod reads;
mod update;

use blynk_api::operations::{self, Operation};
use serde_json::Value;

use crate::answer::Answer;
use crate::org::Org;
use crate::query::Query;
use crate::seed::Principal;

/// What an operation's rules read from a request.
pub(crate) struct Call<'a> {
    pub(crate) query: &'a Query,
    /// The JSON body (`Null` for reads).
    pub(crate) body: &'a Value,
}

type Rules = fn(&mut Org, &Principal, &Call<'_>) -> Result<Answer, Answer>;

const TABLE: [(&Operation, Rules); 8] = [
    (
        &operations::GET_DEVICE_DATA_STREAMS_V2,
        reads::device_values,
    ),
    (
        &operations::GET_BATCH_DEVICE_DATA_STREAMS,
        reads::batch_values,
    ),
    (&operations::GET_DEVICE_DATA_STREAM_HISTORY, history::page),
    (&operations::UPDATE_DEVICE_DATA_STREAM, update::one),
    (
        &operations::UPDATE_MULTIPLE_DEVICE_DATA_STREAMS,
        update::many,
    ),
    (
        &operations::BATCH_UPDATE_DEVICE_DATA_STREAMS,
        batch_update::apply,
    ),
    (&operations::IMPORT_DEVICE_BATCH_DATA, import::apply),
    (
        &operations::UPDATE_DEVICE_DATA_STREAM_PROPERTY,
        property::set,
    ),
];

/// Applies the rules of `operation` for an authenticated caller.
pub(crate) fn run(
    org: &mut Org,
    operation: &Operation,
    principal: &Principal,
    call: &Call<'_>,
) -> Answer {
    match TABLE.iter().find(|(op, _)| op.id == operation.id) {
        Some((_, rules)) => rules(org, principal, call).unwrap_or_else(|answer| answer),
        None => Answer::error(
            500,
            format!("The simulator has no rules for {}", operation.id),
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_operation_of_the_document_has_rules() {
        for op in blynk_api::operations::ALL {
            assert!(
                super::TABLE.iter().any(|(o, _)| o.id == op.id),
                "{} has no rules",
                op.id
            );
        }
    }
}
