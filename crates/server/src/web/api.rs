//! The page's query and schema endpoints.
//!
//! `POST /api/web/query` runs like the Graph hunting API (same admission, limits,
//! timeout, cancellation when the client goes away, and `Timespan` semantics), but its
//! answer carries what the page needs and Graph's shape has no room for: the `render`
//! hint, the run time, and a truncation flag instead of an error at the row limit (the
//! page shows the first rows and says the result was cut, as the portal does). Rows are
//! arrays in column order, streamed from the batches.
//!
//! `GET /api/web/schema` lists the tables with their row counts and columns, and the
//! function names, for the schema pane and the editor's completion.

use crate::app::{json_response, AppState, Shared};
use crate::auth::Permission;
use crate::failure::Failure;
use crate::query::{self, Api, QuerySpec, RequestIds};
use crate::wire::{self, BodyParts, RowShape, StreamedRows};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value as Json};
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryRequest {
    query: String,
    /// Graph's ISO 8601 `Timespan`; absent or null: the query sets its own time range.
    #[serde(default)]
    timespan: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueryAnswer<'a> {
    columns: Vec<ColumnOut<'a>>,
    /// `{"kind": "timechart", "properties": {"title": ..}}` when the query ends in `render`.
    render: Option<Json>,
    row_count: usize,
    /// The row limit; `truncated` says the result was cut there.
    row_limit: u64,
    truncated: bool,
    /// Server-side run time in milliseconds (planning and execution).
    elapsed_ms: f64,
    /// The time window applied from `timespan` (ISO 8601), if any.
    window: Option<[Json; 2]>,
    /// Empty here: the rows are streamed into it.
    rows: Vec<()>,
}

#[derive(Serialize)]
struct ColumnOut<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    ty: &'static str,
}

/// `POST /api/web/query`.
pub(crate) async fn query(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let ids = RequestIds::from_headers(&headers);
    let mut resp = match run_query(&st.shared, &headers, &body, &ids).await {
        Ok(r) => r,
        Err(f) => failure_response(&f),
    };
    crate::app::set_request_headers(&mut resp, &ids);
    super::assets::set_security_headers(resp.headers_mut(), None);
    resp
}

async fn run_query(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
    ids: &RequestIds,
) -> Result<Response, Failure> {
    let principal = shared.admit(headers, Permission::Query)?;
    let req: QueryRequest = serde_json::from_slice(body).map_err(|e| {
        Failure::BadRequest(format!(
            "The request body must be {{\"query\": \"...\", \"timespan\": \"P30D\"}}: {e}"
        ))
    })?;
    if req.query.trim().is_empty() {
        return Err(Failure::BadRequest("The query is empty.".into()));
    }
    let max_rows = shared.config.defender_max_rows;
    let mut spec = QuerySpec::new(req.query);
    spec.set_option("truncationmaxrecords", &max_rows.to_string());
    let mut window = None;
    if let Some(ts) = req.timespan.as_deref().filter(|t| !t.trim().is_empty()) {
        let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
        let (from, to) = crate::timespan::resolve(Some(ts), now).map_err(Failure::BadRequest)?;
        spec.restrict_time(&shared.engine, None, from, to);
        window = Some([wire::datetime(from), wire::datetime(to)]);
    }
    let done = query::run(shared, Api::Web, &spec, ids, &principal.id).await?;
    if wire::result_bytes(&done.result) > shared.config.defender_max_bytes {
        return Err(Failure::ResultTooLarge);
    }
    let result = Arc::new(done.result);
    let answer = QueryAnswer {
        columns: result
            .columns
            .iter()
            .map(|c| ColumnOut {
                name: &c.name,
                ty: c.ty.name(),
            })
            .collect(),
        render: result.render.as_ref().map(render_json),
        row_count: result.num_rows(),
        row_limit: max_rows,
        truncated: result.truncated,
        elapsed_ms: (done.took.as_secs_f64() * 1e6).round() / 1e3,
        window,
        rows: Vec::new(),
    };
    let mut body = BodyParts::default();
    body.push_with_rows(
        &answer,
        Some(StreamedRows {
            result: result.clone(),
            shape: RowShape::Array,
            trailing: None,
        }),
    )
    .map_err(|e| Failure::Internal(format!("serialising the response: {e}")))?;
    Ok(json_response(StatusCode::OK, body.into_body()))
}

/// The render hint with its property names lower-cased (`with (Title="x")` and
/// `with (title="x")` mean the same in Kusto). A property given a list
/// (`ycolumns=a, b`) arrives as one pair per item and leaves as an array.
fn render_json(h: &engine::RenderHint) -> Json {
    let mut grouped: Vec<(String, Vec<Json>)> = Vec::new();
    for (k, v) in &h.properties {
        let key = k.to_ascii_lowercase();
        match grouped.iter_mut().find(|(n, _)| *n == key) {
            Some((_, values)) => values.push(v.clone()),
            None => grouped.push((key, vec![v.clone()])),
        }
    }
    let props: Map<String, Json> = grouped
        .into_iter()
        .map(|(k, mut values)| {
            let v = if values.len() == 1 {
                values.remove(0)
            } else {
                Json::Array(values)
            };
            (k, v)
        })
        .collect();
    json!({"kind": h.visualization, "properties": props})
}

/// The page's error shape: `{"error": {"code", "message", "line", "column", "help"}}`,
/// with the 1-based position in the query text the user sent.
pub(crate) fn failure_response(f: &Failure) -> Response {
    let (line, column, help) = match f {
        Failure::Query(q) => (
            q.position.map(|p| p.0),
            q.position.map(|p| p.1),
            q.help.clone(),
        ),
        _ => (None, None, None),
    };
    let body = json!({"error": {
        "code": f.outcome(),
        "message": f.message(),
        "line": line,
        "column": column,
        "help": help,
    }});
    let mut r = json_response(
        StatusCode::from_u16(f.status()).unwrap_or(StatusCode::BAD_REQUEST),
        body.to_string().into_bytes(),
    );
    crate::app::set_retry_after(&mut r, f);
    super::assets::set_security_headers(r.headers_mut(), None);
    r
}

/// How long the row counts of the schema pane may take before they are left out.
const COUNT_TIMEOUT: Duration = Duration::from_secs(20);

/// `GET /api/web/schema`.
pub(crate) async fn schema(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let shared = &st.shared;
    let mut resp = match shared.admit(&headers, Permission::Query) {
        Ok(_) => {
            let counts = row_counts(shared).await;
            let tables: Vec<Json> = shared
                .engine
                .table_names()
                .into_iter()
                .filter_map(|name| {
                    let cols = shared.engine.table_columns(&name)?;
                    let columns: Vec<Json> = cols
                        .iter()
                        .map(|c| json!({"name": c.name, "type": c.ty.name()}))
                        .collect();
                    let rows = counts.get(&name).copied();
                    Some(json!({"name": name, "rows": rows, "columns": columns}))
                })
                .collect();
            let mut functions: Vec<&str> = engine::completion_functions().collect();
            functions.sort_unstable();
            functions.dedup();
            let body = json!({
                "database": shared.config.database,
                "tables": tables,
                "functions": functions,
                "rowLimit": shared.config.defender_max_rows,
            });
            json_response(StatusCode::OK, body.to_string().into_bytes())
        }
        Err(f) => failure_response(&f),
    };
    super::assets::set_security_headers(resp.headers_mut(), None);
    resp
}

/// Rows per table: from the store's manifest and memtable where the store has the
/// table (no scan), else by counting (in-memory tables), on the query runtime.
async fn row_counts(shared: &Shared) -> std::collections::HashMap<String, u64> {
    let mut counts = std::collections::HashMap::new();
    let mut to_count = Vec::new();
    for name in shared.engine.table_names() {
        match shared.store.as_ref().map(|s| s.table_stats(&name)) {
            Some(Ok(stats)) => {
                let rows =
                    stats.segments.iter().map(|s| s.rows).sum::<u64>() + stats.memtable_rows as u64;
                counts.insert(name, rows);
            }
            _ => to_count.push(name),
        }
    }
    if to_count.is_empty() {
        return counts;
    }
    let engine = shared.engine.clone();
    let task = shared.query_runtime.handle().spawn(async move {
        let mut out = Vec::new();
        for name in to_count {
            let text = format!(
                "['{}'] | count",
                name.replace('\\', "\\\\").replace('\'', "\\'")
            );
            if let Ok(r) = engine.query(&text).await {
                let n = r
                    .batches
                    .iter()
                    .find(|b| b.num_rows() > 0)
                    .and_then(|b| {
                        engine::types::array_to_values(b.column(0), engine::KqlType::Long).ok()
                    })
                    .and_then(|v| v.first().and_then(|v| v.as_f64()));
                if let Some(n) = n {
                    out.push((name, n as u64));
                }
            }
        }
        out
    });
    let abort = task.abort_handle();
    match tokio::time::timeout(COUNT_TIMEOUT, task).await {
        Ok(Ok(found)) => counts.extend(found),
        Ok(Err(_)) => {}
        Err(_) => abort.abort(),
    }
    counts
}
