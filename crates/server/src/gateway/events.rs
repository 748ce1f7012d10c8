//! The gateway's events in the store: `UrlClickEvents` rows (one per click, all 15
//! columns) and `EmailUrlInfo` rows (one per URL of a rewritten message).
//!
//! A click appends its own one-row batch and is answered only once the row is
//! durable. The store's WAL writer does the batching: the clicks that arrive while
//! one fsync runs are written as one frame and share the next fsync.

use datafusion::arrow::array::{
    new_null_array, ArrayRef, BooleanArray, StringArray, TimestampNanosecondArray,
};
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use std::sync::Arc;
use store::storage::Store;

/// One `UrlClickEvents` row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ClickRow {
    /// ns since the epoch, at 100 ns precision.
    pub timestamp: i64,
    pub url: String,
    pub action_type: String,
    pub account_upn: String,
    pub workload: String,
    pub network_message_id: String,
    pub threat_types: String,
    pub detection_methods: String,
    pub ip_address: String,
    pub is_clicked_through: bool,
    pub url_chain: String,
    pub report_id: String,
    pub app_name: String,
    pub app_version: String,
    pub source_id: String,
}

/// One `EmailUrlInfo` row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct UrlInfoRow {
    pub timestamp: i64,
    pub network_message_id: String,
    pub url: String,
    pub url_domain: String,
    pub report_id: String,
}

/// Now, in ns since the epoch, cut to Kusto's 100 ns ticks.
pub(crate) fn now_ticks_ns() -> i64 {
    let ns = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    ns - ns.rem_euclid(100)
}

/// Writes events to the store (or nowhere, for an in-memory server).
pub(crate) struct EventSink {
    store: Option<Store>,
}

impl EventSink {
    pub fn new(store: Option<Store>) -> EventSink {
        EventSink { store }
    }

    /// Whether events are kept (a server with a data directory).
    pub fn durable(&self) -> bool {
        self.store.as_ref().is_some_and(|s| !s.is_read_only())
    }

    /// Records a click and returns once it is durable. `Ok(false)`: nothing to write to.
    pub async fn record_click(&self, row: ClickRow) -> Result<bool, String> {
        let Some(store) = self.store.as_ref().filter(|s| !s.is_read_only()) else {
            return Ok(false);
        };
        let schema = store
            .arrow_schema("UrlClickEvents")
            .map_err(|e| format!("UrlClickEvents is not in the store: {e}"))?;
        let batch = click_batch(&schema, &[&row])?;
        store
            .append("UrlClickEvents", batch)
            .await
            .map(|_| true)
            .map_err(|e| e.to_string())
    }

    /// Records a message's URLs and returns once they are durable.
    pub async fn record_urls(&self, rows: Vec<UrlInfoRow>) -> Result<bool, String> {
        let Some(store) = self.store.as_ref().filter(|s| !s.is_read_only()) else {
            return Ok(false);
        };
        if rows.is_empty() {
            return Ok(true);
        }
        let schema = store
            .arrow_schema("EmailUrlInfo")
            .map_err(|e| e.to_string())?;
        let batch = url_info_batch(&schema, &rows)?;
        store
            .append("EmailUrlInfo", batch)
            .await
            .map(|_| true)
            .map_err(|e| e.to_string())
    }
}

fn column(
    schema: &SchemaRef,
    rows: usize,
    name: &str,
    strings: impl Fn(usize) -> Option<String>,
    ts: impl Fn(usize) -> i64,
    flag: impl Fn(usize) -> bool,
) -> Result<ArrayRef, String> {
    let field = schema
        .field_with_name(name)
        .map_err(|e| format!("column {name}: {e}"))?;
    Ok(match field.data_type() {
        DataType::Utf8 => Arc::new((0..rows).map(&strings).collect::<StringArray>()),
        DataType::Timestamp(TimeUnit::Nanosecond, tz) => Arc::new(
            TimestampNanosecondArray::from((0..rows).map(&ts).collect::<Vec<_>>())
                .with_timezone_opt(tz.clone()),
        ),
        DataType::Boolean => Arc::new((0..rows).map(|i| Some(flag(i))).collect::<BooleanArray>()),
        other => return Err(format!("column {name} has an unexpected type {other}")),
    })
}

fn click_batch(schema: &SchemaRef, rows: &[&ClickRow]) -> Result<RecordBatch, String> {
    let n = rows.len();
    let mut arrays = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let name = field.name().as_str();
        let text = |f: fn(&ClickRow) -> &String| {
            column(
                schema,
                n,
                name,
                |i| Some(f(rows[i]).clone()),
                |_| 0,
                |_| false,
            )
        };
        let array = match name {
            "Timestamp" => column(schema, n, name, |_| None, |i| rows[i].timestamp, |_| false)?,
            "IsClickedThrough" => column(
                schema,
                n,
                name,
                |_| None,
                |_| 0,
                |i| rows[i].is_clicked_through,
            )?,
            "Url" => text(|r| &r.url)?,
            "ActionType" => text(|r| &r.action_type)?,
            "AccountUpn" => text(|r| &r.account_upn)?,
            "Workload" => text(|r| &r.workload)?,
            "NetworkMessageId" => text(|r| &r.network_message_id)?,
            "ThreatTypes" => text(|r| &r.threat_types)?,
            "DetectionMethods" => text(|r| &r.detection_methods)?,
            "IPAddress" => text(|r| &r.ip_address)?,
            "UrlChain" => text(|r| &r.url_chain)?,
            "ReportId" => text(|r| &r.report_id)?,
            "AppName" => text(|r| &r.app_name)?,
            "AppVersion" => text(|r| &r.app_version)?,
            "SourceId" => text(|r| &r.source_id)?,
            // A column added to the table later: left empty.
            _ => new_null_array(field.data_type(), n),
        };
        arrays.push(array);
    }
    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| e.to_string())
}

fn url_info_batch(schema: &SchemaRef, rows: &[UrlInfoRow]) -> Result<RecordBatch, String> {
    let n = rows.len();
    let mut arrays = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let name = field.name().as_str();
        let text = |f: fn(&UrlInfoRow) -> &String| {
            column(
                schema,
                n,
                name,
                |i| Some(f(&rows[i]).clone()),
                |_| 0,
                |_| false,
            )
        };
        let array = match name {
            "Timestamp" => column(schema, n, name, |_| None, |i| rows[i].timestamp, |_| false)?,
            "NetworkMessageId" => text(|r| &r.network_message_id)?,
            "Url" => text(|r| &r.url)?,
            "UrlDomain" => text(|r| &r.url_domain)?,
            "UrlLocation" => column(schema, n, name, |_| Some("Body".into()), |_| 0, |_| false)?,
            "ReportId" => text(|r| &r.report_id)?,
            _ => new_null_array(field.data_type(), n),
        };
        arrays.push(array);
    }
    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| e.to_string())
}
