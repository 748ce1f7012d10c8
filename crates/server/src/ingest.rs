//! Ingest over HTTP: `POST /api/ingest` (Defender Streaming API payloads, portal CSV,
//! JSON lines, Parquet; gzip welcome) and Kusto's streaming ingest endpoint
//! `POST /v1/rest/ingest/{db}/{table}`. Decoding is `store::ingest`; a request is
//! acknowledged only after every row is durable (the store's `append` returns after
//! the WAL is fsynced). One bad row rejects the whole request unless `skip_bad_rows`.

use crate::app::{json_response, AppState, Shared};
use crate::auth::Permission;
use crate::failure::Failure;
use crate::query::RequestIds;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use store::ingest::{DecodeOptions, Decoded, Format};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct IngestParams {
    /// The table of a plain-format input (Defender records name their own).
    table: Option<String>,
    /// auto (default), defender, jsonl, csv, parquet.
    format: Option<String>,
    /// Create tables that do not exist from the input's columns.
    #[serde(default)]
    create: bool,
    /// Ingest the good rows and report the bad ones.
    #[serde(default)]
    skip_bad_rows: bool,
    /// Kusto streaming ingest: `Csv`, `Json`, `MultiJson`, `Parquet`, ...
    #[serde(rename = "streamFormat")]
    stream_format: Option<String>,
}

/// What an ingest request did.
struct Summary {
    format: Format,
    rows_by_table: BTreeMap<String, usize>,
    rejected: Vec<String>,
    rejected_total: usize,
    unknown: BTreeMap<String, usize>,
    ignored_columns: BTreeMap<String, Vec<String>>,
    created: Vec<String>,
}

impl Summary {
    fn total(&self) -> usize {
        self.rows_by_table.values().sum()
    }

    fn to_json(&self) -> Json {
        json!({
            "rows": self.total(),
            "format": self.format.name(),
            "tables": self.rows_by_table,
            "created": self.created,
            "rejected": self.rejected_total,
            "rejected_rows": self.rejected,
            "unknown_tables": self.unknown,
            "ignored_columns": self.ignored_columns,
        })
    }
}

pub(crate) async fn ingest(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<IngestParams>,
    body: Bytes,
) -> Response {
    let ids = RequestIds::from_headers(&headers);
    let outcome = async {
        let principal = st.shared.admit(&headers, Permission::Ingest)?;
        let format = match p.format.as_deref() {
            Some(f) => f.parse::<Format>().map_err(Failure::BadRequest)?,
            None => format_from_content_type(&headers),
        };
        ingest_body(&st.shared, &ids, &principal.id, body, format, &p).await
    }
    .await;
    let mut resp = match outcome {
        Ok(s) => json_response(StatusCode::OK, s.to_json().to_string().into_bytes()),
        Err(f) => {
            let body = json!({"error": {"code": f.outcome(), "message": f.message()}});
            let mut r = json_response(
                StatusCode::from_u16(f.status()).unwrap_or(StatusCode::BAD_REQUEST),
                body.to_string().into_bytes(),
            );
            crate::app::set_retry_after(&mut r, &f);
            r
        }
    };
    crate::app::set_request_headers(&mut resp, &ids);
    resp
}

/// Kusto's streaming ingest (`KustoClient.execute_streaming_ingest`).
pub(crate) async fn kusto_streaming_ingest(
    State(st): State<AppState>,
    Path((db, table)): Path<(String, String)>,
    headers: HeaderMap,
    Query(p): Query<IngestParams>,
    body: Bytes,
) -> Response {
    let ids = RequestIds::from_headers(&headers);
    let outcome = async {
        let principal = st.shared.admit(&headers, Permission::Ingest)?;
        st.shared.check_database(&db)?;
        let format = match p.stream_format.as_deref().map(str::to_ascii_lowercase) {
            None => Format::Auto,
            Some(f) => match f.as_str() {
                "csv" => Format::Csv,
                "json" | "multijson" | "singlejson" => Format::Jsonl,
                "parquet" => Format::Parquet,
                other => {
                    return Err(Failure::BadRequest(format!(
                        "streamFormat '{other}' is not supported (Csv, Json, MultiJson, Parquet)"
                    )))
                }
            },
        };
        let params = IngestParams {
            table: Some(table),
            ..Default::default()
        };
        ingest_body(&st.shared, &ids, &principal.id, body, format, &params).await
    }
    .await;
    let mut resp = match outcome {
        Ok(s) => {
            let table = json!({"Tables": [{
                "TableName": "Table_0",
                "Columns": [
                    {"ColumnName": "Table", "DataType": "String", "ColumnType": "string"},
                    {"ColumnName": "Rows", "DataType": "Int64", "ColumnType": "long"},
                ],
                "Rows": s.rows_by_table.iter().map(|(t, n)| json!([t, n])).collect::<Vec<_>>(),
            }]});
            json_response(StatusCode::OK, table.to_string().into_bytes())
        }
        Err(f) => crate::kusto::failure_response(&f, &ids),
    };
    crate::app::set_request_headers(&mut resp, &ids);
    resp
}

fn format_from_content_type(headers: &HeaderMap) -> Format {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("text/csv") {
        Format::Csv
    } else if ct.contains("ndjson") || ct.contains("jsonl") || ct.contains("json-seq") {
        Format::Jsonl
    } else if ct.contains("parquet") {
        Format::Parquet
    } else {
        Format::Auto
    }
}

async fn ingest_body(
    shared: &Shared,
    ids: &RequestIds,
    principal: &str,
    body: Bytes,
    format: Format,
    p: &IngestParams,
) -> Result<Summary, Failure> {
    let Some(store) = shared.store.clone() else {
        return Err(Failure::BadRequest(
            "this server runs without a data directory: start it with `clickhunt serve --data DIR` to ingest".into(),
        ));
    };
    let opts = DecodeOptions {
        table: p.table.clone(),
        create_tables: p.create,
        skip_bad_rows: p.skip_bad_rows,
        ..Default::default()
    };
    let source = p.table.clone().unwrap_or_else(|| "request".to_string());
    let catalog = store.catalog();
    let decoded: Decoded = tokio::task::spawn_blocking(move || {
        let lookup = |t: &str| catalog.get(t).map(|d| d.columns.clone());
        store::ingest::decode(&body, &source, format, &opts, &lookup)
    })
    .await
    .map_err(|e| Failure::Internal(format!("ingest decoder failed: {e}")))?
    .map_err(|e| Failure::BadRequest(e.to_string()))?;
    let mut created = Vec::new();
    for t in &decoded.created {
        let cols = t
            .columns
            .iter()
            .map(|c| format!("['{}']:{}", c.name.replace('\'', "\\'"), c.ty.name()))
            .collect::<Vec<_>>()
            .join(", ");
        let command = format!(".create table ['{}'] ({cols})", t.name);
        store
            .execute_management(&command)
            .await
            .map_err(|e| Failure::BadRequest(format!("creating table '{}': {e}", t.name)))?;
        created.push(t.name.clone());
    }
    if !created.is_empty() {
        store.register_into(&shared.engine);
    }
    let rows_by_table = decoded.rows_by_table();
    for (table, batch) in decoded.batches {
        let rows = batch.num_rows() as u64;
        store
            .append(&table, batch)
            .await
            .map_err(|e| Failure::BadRequest(format!("appending to '{table}': {e}")))?;
        shared.metrics.ingested(&table, rows);
    }
    let summary = Summary {
        format: decoded.format,
        rows_by_table,
        rejected_total: decoded.rejected.len(),
        rejected: decoded
            .rejected
            .iter()
            .take(store::ingest::MAX_LISTED_ROW_ERRORS)
            .map(|e| e.to_string())
            .collect(),
        unknown: decoded.unknown,
        ignored_columns: decoded
            .ignored_columns
            .into_iter()
            .map(|(t, c)| (t, c.into_iter().collect()))
            .collect(),
        created,
    };
    tracing::info!(
        request_id = %ids.client_request_id,
        principal,
        rows = summary.total(),
        format = summary.format.name(),
        "ingest"
    );
    Ok(summary)
}
