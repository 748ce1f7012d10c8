//! The gateway's events in the store: `UrlClickEvents` rows (one per click, all 15
//! columns) and `EmailUrlInfo` rows (one per URL of a rewritten message).
//!
//! Clicks are batched: a click hands its row to one recorder task and waits for the
//! acknowledgement. The recorder appends everything that arrived while the previous
//! append was being fsynced as one batch, so under load many clicks share one WAL
//! frame and one fsync instead of each paying for its own, and a click is answered
//! only once its row is durable.

use datafusion::arrow::array::{
    new_null_array, ArrayRef, BooleanArray, StringArray, TimestampNanosecondArray,
};
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use std::sync::{Arc, OnceLock};
use store::storage::Store;
use tokio::sync::{mpsc, oneshot};

/// Rows appended in one batch at most.
const MAX_BATCH: usize = 8192;
/// Clicks waiting for the recorder at most; more wait for room (backpressure).
const QUEUE: usize = 65_536;

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

type Pending = (ClickRow, oneshot::Sender<Result<(), String>>);

/// Writes events to the store (or nowhere, for an in-memory server).
pub(crate) struct EventSink {
    store: Option<Store>,
    clicks: OnceLock<mpsc::Sender<Pending>>,
}

impl EventSink {
    pub fn new(store: Option<Store>) -> EventSink {
        EventSink {
            store,
            clicks: OnceLock::new(),
        }
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
        // Started on first use: handlers run inside the server's runtime.
        let tx = self.clicks.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(record_clicks(store.clone(), rx));
            tx
        });
        let (ack, done) = oneshot::channel();
        tx.send((row, ack))
            .await
            .map_err(|_| "the click recorder has stopped".to_string())?;
        done.await
            .map_err(|_| "the click recorder has stopped".to_string())?
            .map(|_| true)
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

async fn record_clicks(store: Store, mut rx: mpsc::Receiver<Pending>) {
    let schema = match store.arrow_schema("UrlClickEvents") {
        Ok(s) => s,
        Err(e) => {
            let message = format!("UrlClickEvents is not in the store: {e}");
            while let Some((_, ack)) = rx.recv().await {
                let _ = ack.send(Err(message.clone()));
            }
            return;
        }
    };
    let mut pending: Vec<Pending> = Vec::new();
    while let Some(first) = rx.recv().await {
        pending.push(first);
        while pending.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => pending.push(p),
                Err(_) => break,
            }
        }
        let rows: Vec<&ClickRow> = pending.iter().map(|(r, _)| r).collect();
        let result = match click_batch(&schema, &rows) {
            Ok(batch) => store
                .append("UrlClickEvents", batch)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            tracing::error!("recording {} clicks failed: {e}", pending.len());
        }
        for (_, ack) in pending.drain(..) {
            let _ = ack.send(result.clone());
        }
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
