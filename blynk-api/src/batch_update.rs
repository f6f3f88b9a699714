//! Decoding batch-update's two successes: `204` (every row applied) and `200` (a report of skips).
//!
//! The build script declares both successes of `batchUpdateDeviceDataStreams` as raw bodies, because
//! progenitor 0.15 accepts one success type per operation. [`BatchUpdateOutcome::from_response`]
//! turns that raw body back into the typed report.

use futures::TryStreamExt;

use crate::types::{BatchUpdateReport, ErrorResponse};
use crate::{ByteStream, Error, ResponseValue};

/// What a successful batch update did.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchUpdateOutcome {
    /// `204 No Content`: every row was applied.
    AllApplied,
    /// `200 OK`: some rows were skipped; the report says which or how many.
    Partial(BatchUpdateReport),
}

impl BatchUpdateOutcome {
    /// Reads the body of a batch-update success and decodes it.
    ///
    /// A `204` is [`AllApplied`](Self::AllApplied) whatever its body. Any other success status is
    /// decoded as a [`BatchUpdateReport`]; a body that is not one is
    /// [`Error::InvalidResponsePayload`] with the bytes received.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn run(client: blynk_api::Client) -> Result<(), blynk_api::Error<blynk_api::types::ErrorResponse>> {
    /// use blynk_api::batch_update::BatchUpdateOutcome;
    ///
    /// let response = client
    ///     .batch_update_device_data_streams()
    ///     .body_map(|b| {
    ///         b.fields(vec!["deviceId".into(), "Temperature".into()])
    ///             .updates(vec![vec![serde_json::json!(101), serde_json::json!(21.5)]])
    ///     })
    ///     .send()
    ///     .await?;
    /// match BatchUpdateOutcome::from_response(response).await? {
    ///     BatchUpdateOutcome::AllApplied => println!("all rows applied"),
    ///     BatchUpdateOutcome::Partial(report) => println!("skipped: {report:?}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn from_response(
        response: ResponseValue<ByteStream>,
    ) -> Result<Self, Error<ErrorResponse>> {
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(Self::AllApplied);
        }
        let mut body = Vec::new();
        let mut stream = response.into_inner().into_inner();
        while let Some(chunk) = stream.try_next().await.map_err(Error::ResponseBodyError)? {
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body)
            .map(Self::Partial)
            .map_err(|e| Error::InvalidResponsePayload(body.into(), e))
    }
}
