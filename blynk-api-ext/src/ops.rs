//! One method per operation of the API, in Rust-native types, with the input checked before any
//! request is sent. Each method names its operation (from [`blynk_api::operations`]) in errors.

use std::collections::BTreeMap;
use std::future::Future;

use blynk_api::ResponseValue;
use blynk_api::limits;
use blynk_api::operations::{self, Operation};
use blynk_api::types::{
    DataStreamPropertyName, ErrorResponse, UpdateDeviceDataStreamPropertyBodyValue,
};

use crate::client::Blynk;
use crate::engine;
use crate::error::{Error, Result, from_api};
use crate::model::{
    DatastreamValue, DeviceValues, HistoryPage, HistoryPoint, HistoryQuery, Point, Value,
    from_millis, to_millis,
};

/// A widget property of a datastream, for [`Blynk::set_property`].
pub type Property = DataStreamPropertyName;

const DEVICE_VALUES: &Operation = &operations::GET_DEVICE_DATA_STREAMS_V2;
pub(crate) const BATCH_VALUES: &Operation = &operations::GET_BATCH_DEVICE_DATA_STREAMS;
pub(crate) const HISTORY: &Operation = &operations::GET_DEVICE_DATA_STREAM_HISTORY;
const SET_VALUE: &Operation = &operations::UPDATE_DEVICE_DATA_STREAM;
const SET_VALUES: &Operation = &operations::UPDATE_MULTIPLE_DEVICE_DATA_STREAMS;
pub(crate) const IMPORT: &Operation = &operations::IMPORT_DEVICE_BATCH_DATA;
pub(crate) const BATCH_UPDATE: &Operation = &operations::BATCH_UPDATE_DEVICE_DATA_STREAMS;
const SET_PROPERTY: &Operation = &operations::UPDATE_DEVICE_DATA_STREAM_PROPERTY;

fn check_value(operation: &'static Operation, field: &str, value: &Value) -> Result<()> {
    value
        .check()
        .map_err(|reason| Error::invalid(operation, field, reason))
}

fn check_ids(
    operation: &'static Operation,
    field: &str,
    ids: &[i32],
    max: Option<usize>,
) -> Result<()> {
    if ids.is_empty() {
        return Err(Error::invalid(operation, field, "must not be empty"));
    }
    if let Some(max) = max
        && ids.len() > max
    {
        return Err(Error::invalid(
            operation,
            field,
            format!(
                "{} IDs given, the API accepts at most {max} per request",
                ids.len()
            ),
        ));
    }
    Ok(())
}

impl Blynk {
    /// Sends a request of the generated client through the engine (the one door: token,
    /// retries, spans) and maps its failure to an [`Error`] naming `operation`.
    async fn call<T>(
        &self,
        operation: &'static Operation,
        send: impl Future<
            Output = std::result::Result<ResponseValue<T>, blynk_api::Error<ErrorResponse>>,
        >,
    ) -> Result<T> {
        // Boxed once here, so that the wrappers below move a pointer rather than the whole
        // request future (a measurable share of the per-call cost, see the `overhead` bench).
        match engine::scoped(Box::pin(send)).await {
            (Ok(value), _) => Ok(value.into_inner()),
            (Err(e), record) => Err(from_api(operation, e, record).await),
        }
    }

    /// The current values of every datastream of one device (`getDeviceDataStreamsV2`).
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> blynk_api_ext::Result<()> {
    /// for ds in blynk.device_values(101).await? {
    ///     println!("{} ({}): {:?}", ds.label, ds.pin, ds.value);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn device_values(&self, device_id: i32) -> Result<Vec<DatastreamValue>> {
        self.device_values_filtered(device_id, None).await
    }

    /// The current values of some datastreams of one device (`getDeviceDataStreamsV2`).
    /// `datastream_ids` must not be empty.
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> blynk_api_ext::Result<()> {
    /// let values = blynk.device_values_of(101, &[1, 2]).await?;
    /// # let _ = values; Ok(()) }
    /// ```
    pub async fn device_values_of(
        &self,
        device_id: i32,
        datastream_ids: &[i32],
    ) -> Result<Vec<DatastreamValue>> {
        check_ids(DEVICE_VALUES, "datastream_ids", datastream_ids, None)?;
        self.device_values_filtered(device_id, Some(datastream_ids))
            .await
    }

    async fn device_values_filtered(
        &self,
        device_id: i32,
        datastream_ids: Option<&[i32]>,
    ) -> Result<Vec<DatastreamValue>> {
        let mut request = self.api().get_device_data_streams_v2().device_id(device_id);
        if let Some(ids) = datastream_ids {
            request = request.data_stream_ids(ids.to_vec());
        }
        let response = self.call(DEVICE_VALUES, request.send()).await?;
        Ok(response.data_streams.into_iter().map(Into::into).collect())
    }

    /// The current values of up to [`limits::MAX_DEVICES_PER_BATCH_READ`] devices in one request
    /// (`getBatchDeviceDataStreams`), optionally only of some datastreams. Devices the server
    /// skips (unknown, or not visible to the token) are absent from the result.
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> blynk_api_ext::Result<()> {
    /// let devices = blynk.batch_values(&[101, 102, 103], None).await?;
    /// # let _ = devices; Ok(()) }
    /// ```
    pub async fn batch_values(
        &self,
        device_ids: &[i32],
        datastream_ids: Option<&[i32]>,
    ) -> Result<Vec<DeviceValues>> {
        check_ids(
            BATCH_VALUES,
            "device_ids",
            device_ids,
            Some(limits::MAX_DEVICES_PER_BATCH_READ),
        )?;
        if let Some(ids) = datastream_ids {
            check_ids(BATCH_VALUES, "datastream_ids", ids, None)?;
        }
        let mut request = self
            .api()
            .get_batch_device_data_streams()
            .device_ids(device_ids.to_vec());
        if let Some(ids) = datastream_ids {
            request = request.data_stream_ids(ids.to_vec());
        }
        let response = self.call(BATCH_VALUES, request.send()).await?;
        Ok(response
            .into_iter()
            .map(|d| DeviceValues {
                device_id: d.device_id,
                datastreams: d.data_streams.into_iter().map(Into::into).collect(),
            })
            .collect())
    }

    /// One page of a datastream's history (`getDeviceDataStreamHistory`). Pages count from
    /// [`limits::FIRST_HISTORY_PAGE`]; `size` is within
    /// [`limits::MIN_HISTORY_PAGE_SIZE`]`..=`[`limits::MAX_HISTORY_PAGE_SIZE`].
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> blynk_api_ext::Result<()> {
    /// use std::time::{Duration, SystemTime};
    /// use blynk_api_ext::HistoryQuery;
    ///
    /// let to = SystemTime::now();
    /// let query = HistoryQuery { device_id: 101, datastream_id: 1, from: to - Duration::from_secs(86_400), to };
    /// let page = blynk.history_page(&query, 0, 1000).await?;
    /// println!("{} of {} points", page.points.len(), page.total);
    /// # Ok(()) }
    /// ```
    pub async fn history_page(
        &self,
        query: &HistoryQuery,
        page: i32,
        size: u32,
    ) -> Result<HistoryPage> {
        let (from, to) = check_range(query)?;
        let first = i64::from(limits::FIRST_HISTORY_PAGE);
        if i64::from(page) < first {
            return Err(Error::invalid(
                HISTORY,
                "page",
                format!("{page} is negative; pages are numbered from {first}"),
            ));
        }
        let range = limits::MIN_HISTORY_PAGE_SIZE..=limits::MAX_HISTORY_PAGE_SIZE;
        if !range.contains(&size) {
            return Err(Error::invalid(
                HISTORY,
                "size",
                format!(
                    "{size} is outside {}..={}",
                    limits::MIN_HISTORY_PAGE_SIZE,
                    limits::MAX_HISTORY_PAGE_SIZE
                ),
            ));
        }
        let request = self
            .api()
            .get_device_data_stream_history()
            .device_id(query.device_id)
            .data_stream_id(query.datastream_id)
            .from(from)
            .to(to)
            .page(page)
            .size(size);
        let response = self.call(HISTORY, request.send()).await?;
        Ok(HistoryPage {
            points: response
                .content
                .into_iter()
                .map(|p| HistoryPoint {
                    at: from_millis(p.created_at),
                    value: p.value,
                })
                .collect(),
            total: u64::try_from(response.total_elements).unwrap_or(0),
        })
    }

    /// Writes one value to one datastream (`updateDeviceDataStream`).
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> blynk_api_ext::Result<()> {
    /// use blynk_api_ext::Location;
    ///
    /// blynk.set_value(101, 1, 22.5).await?;
    /// blynk.set_value(101, 2, "eco").await?;
    /// blynk.set_value(101, 3, Location::new(24.1, 56.9)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_value(
        &self,
        device_id: i32,
        datastream_id: i32,
        value: impl Into<Value>,
    ) -> Result<()> {
        let value = value.into();
        check_value(SET_VALUE, "value", &value)?;
        let request = self.api().update_device_data_stream().body_map(|b| {
            b.device_id(device_id)
                .data_stream_id(datastream_id)
                .value(value.to_raw())
        });
        self.call(SET_VALUE, request.send()).await
    }

    /// Writes several datastreams of one device at once (`updateMultipleDeviceDataStreams`).
    /// The server silently skips unknown datastreams and values of the wrong type.
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> blynk_api_ext::Result<()> {
    /// blynk.set_values(101, [(1, 22.5.into()), (2, "eco".into())]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_values(
        &self,
        device_id: i32,
        values: impl IntoIterator<Item = (i32, Value)>,
    ) -> Result<()> {
        let mut map = BTreeMap::new();
        for (datastream_id, value) in values {
            check_value(SET_VALUES, &format!("values[{datastream_id}]"), &value)?;
            map.insert(datastream_id.to_string(), value.to_raw());
        }
        if map.is_empty() {
            return Err(Error::invalid(SET_VALUES, "values", "must not be empty"));
        }
        let request = self
            .api()
            .update_multiple_device_data_streams()
            .body_map(|b| b.device_id(device_id).values(map));
        self.call(SET_VALUES, request.send()).await
    }

    /// Imports up to [`limits::MAX_POINTS_PER_IMPORT`] historical points into one datastream
    /// (`importDeviceBatchData`). The server processes the import asynchronously and silently
    /// skips points more than a month in the future. A body over [`crate::MAX_REQUEST_BYTES`] is
    /// refused with [`Error::InvalidInput`] before sending. A failure with an unknown outcome (a
    /// broken connection, a 5xx) may have been applied: [`Blynk::import_history`] reconciles
    /// those.
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> blynk_api_ext::Result<()> {
    /// use std::time::{Duration, SystemTime};
    /// use blynk_api_ext::Point;
    ///
    /// let now = SystemTime::now();
    /// let points: Vec<Point> = (0..60)
    ///     .map(|i| Point::new(now - Duration::from_secs(60 * i), 20.0 + i as f64 / 10.0))
    ///     .collect();
    /// blynk.import(101, 1, &points).await?;
    /// # Ok(()) }
    /// ```
    pub async fn import(&self, device_id: i32, datastream_id: i32, points: &[Point]) -> Result<()> {
        let body = crate::bulk::import::single_import_body(device_id, datastream_id, points)?;
        self.post_json(IMPORT, body).await.map(|_| ())
    }

    /// Updates a widget property of a datastream (`updateDeviceDataStreamProperty`). The value is
    /// at most [`limits::MAX_PROPERTY_VALUE_CHARS`] characters; the server checks its format.
    ///
    /// ```no_run
    /// # async fn run(blynk: blynk_api_ext::Blynk) -> blynk_api_ext::Result<()> {
    /// use blynk_api_ext::Property;
    ///
    /// blynk.set_property(101, 1, Property::Label, "Kitchen").await?;
    /// blynk.set_property(101, 1, Property::Color, "#23C48E").await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_property(
        &self,
        device_id: i32,
        datastream_id: i32,
        property: Property,
        value: &str,
    ) -> Result<()> {
        let chars = value.chars().count();
        if chars > limits::MAX_PROPERTY_VALUE_CHARS {
            return Err(Error::invalid(
                SET_PROPERTY,
                "value",
                format!(
                    "{chars} characters, the API accepts at most {}",
                    limits::MAX_PROPERTY_VALUE_CHARS
                ),
            ));
        }
        let value = UpdateDeviceDataStreamPropertyBodyValue::try_from(value)
            .map_err(|e| Error::invalid(SET_PROPERTY, "value", e.to_string()))?;
        let request = self
            .api()
            .update_device_data_stream_property()
            .body_map(|b| {
                b.device_id(device_id)
                    .data_stream_id(datastream_id)
                    .property(property)
                    .value(value)
            });
        self.call(SET_PROPERTY, request.send()).await
    }
}

fn check_range(query: &HistoryQuery) -> Result<(i64, i64)> {
    let from = to_millis(query.from)
        .ok_or_else(|| Error::invalid(HISTORY, "from", "is before 1970 or too far ahead"))?;
    let to = to_millis(query.to)
        .ok_or_else(|| Error::invalid(HISTORY, "to", "is before 1970 or too far ahead"))?;
    if from > to {
        return Err(Error::invalid(
            HISTORY,
            "from",
            format!("{from} ms is later than to ({to} ms)"),
        ));
    }
    Ok((from, to))
}
