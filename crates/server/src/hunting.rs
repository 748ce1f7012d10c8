//! The Defender advanced hunting API (`POST /api/advancedhunting/run`, and the MDE
//! alias `/api/advancedqueries/run`) and Microsoft Graph `runHuntingQuery`
//! (`POST /v1.0/security/runHuntingQuery`), with their result and error shapes
//! (`shared/design/DOMAIN.md` §3).
//!
//! Graph's `Timespan` is applied the way a time-scoped query works in Kusto: every
//! table the query names that has a `Timestamp` (or `TimeGenerated`) column is shadowed
//! by a `let` of the same name filtered to the window, so the query's own filters and
//! the window intersect ("the shorter wins"). Tables reached only through `table("...")`
//! or `union *` are not filtered.

use crate::app::{json_response, AppState, Shared};
use crate::auth::Permission;
use crate::failure::Failure;
use crate::query::{self, Api, Completed, QuerySpec, RequestIds};
use crate::wire::{self, BodyParts, RowShape, StreamedRows};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::{json, Value as Json};
use std::sync::Arc;

pub(crate) const GRAPH_CONTEXT: &str =
    "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults";

/// Which hunting API a request came through (they differ in shapes only).
#[derive(Clone, Copy, PartialEq)]
enum Flavor {
    Defender,
    Graph,
}

pub(crate) async fn defender_run(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(&st.shared, Flavor::Defender, &headers, &body).await
}

pub(crate) async fn graph_run(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(&st.shared, Flavor::Graph, &headers, &body).await
}

/// A request body problem, reported as Defender's `InvalidRequestBody`.
struct BodyError(String);

enum Error {
    Body(BodyError),
    Failure(Failure),
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Error {
        Error::Failure(f)
    }
}

async fn run(shared: &Shared, flavor: Flavor, headers: &HeaderMap, body: &[u8]) -> Response {
    let ids = RequestIds::from_headers(headers);
    let mut resp = match run_inner(shared, flavor, headers, body, &ids).await {
        Ok(r) => r,
        Err(e) => error_response(flavor, &e, &ids),
    };
    crate::app::set_request_headers(&mut resp, &ids);
    resp
}

struct Request {
    query: String,
    timespan: Option<String>,
}

fn parse_body(flavor: Flavor, body: &[u8]) -> Result<Request, BodyError> {
    let incorrect = || BodyError("Request body is incorrect".into());
    let Ok(Json::Object(obj)) = serde_json::from_slice::<Json>(body) else {
        return Err(incorrect());
    };
    // Defender's body parameters are case-sensitive; Graph (OData) also takes camelCase.
    let get = |name: &str| -> Option<&Json> {
        obj.get(name).or_else(|| match flavor {
            Flavor::Graph => obj.get(&name.to_ascii_lowercase()),
            Flavor::Defender => None,
        })
    };
    let query = match get("Query") {
        Some(Json::String(q)) if !q.trim().is_empty() => q.clone(),
        Some(_) => return Err(incorrect()),
        None => {
            return Err(BodyError(
                "Request body is incorrect: the 'Query' parameter is missing".into(),
            ))
        }
    };
    let timespan = match get("Timespan") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(_) => return Err(incorrect()),
    };
    Ok(Request { query, timespan })
}

async fn run_inner(
    shared: &Shared,
    flavor: Flavor,
    headers: &HeaderMap,
    body: &[u8],
    ids: &RequestIds,
) -> Result<Response, Error> {
    let principal = shared.admit(headers, Permission::Query)?;
    let req = parse_body(flavor, body).map_err(Error::Body)?;
    let max_rows = shared.config.defender_max_rows;
    let mut spec = QuerySpec::new(req.query);
    spec.set_option("truncationmaxrecords", &max_rows.to_string());
    let api = match flavor {
        Flavor::Defender => Api::Defender,
        Flavor::Graph => {
            let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
            let (from, to) = crate::timespan::resolve(req.timespan.as_deref(), now)
                .map_err(|m| Error::Failure(Failure::BadRequest(m)))?;
            spec.restrict_time(&shared.engine, None, from, to);
            Api::Graph
        }
    };
    let done = query::run(shared, api, &spec, ids, &principal.id).await?;
    let r = &done.result;
    if r.truncated
        || r.num_rows() as u64 > max_rows
        || wire::result_bytes(r) > shared.config.defender_max_bytes
    {
        return Err(Failure::ResultTooLarge.into());
    }
    let stats = stats(&done);
    let result = Arc::new(done.result);
    let schema = result
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.ty.clr_name()));
    let rows = StreamedRows {
        result: result.clone(),
        shape: RowShape::Object,
        trailing: None,
    };
    let mut body = BodyParts::default();
    match flavor {
        Flavor::Defender => body.push_with_rows(
            &DefenderResult {
                stats,
                schema: schema
                    .map(|(name, ty)| DefenderColumn { name, ty })
                    .collect(),
                results: Vec::new(),
            },
            Some(rows),
        ),
        Flavor::Graph => body.push_with_rows(
            &GraphResult {
                context: GRAPH_CONTEXT,
                schema: schema.map(|(name, ty)| GraphColumn { name, ty }).collect(),
                results: Vec::new(),
            },
            Some(rows),
        ),
    }
    .map_err(|e| Failure::Internal(format!("serialising the response: {e}")))?;
    Ok(json_response(StatusCode::OK, body.into_body()))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DefenderResult<'a> {
    stats: Json,
    schema: Vec<DefenderColumn<'a>>,
    /// Empty here; the rows are streamed into it.
    results: Vec<()>,
}

#[derive(Serialize)]
struct DefenderColumn<'a> {
    #[serde(rename = "Name")]
    name: &'a str,
    #[serde(rename = "Type")]
    ty: &'static str,
}

#[derive(Serialize)]
struct GraphResult<'a> {
    #[serde(rename = "@odata.context")]
    context: &'static str,
    schema: Vec<GraphColumn<'a>>,
    /// Empty here; the rows are streamed into it.
    results: Vec<()>,
}

#[derive(Serialize)]
struct GraphColumn<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    ty: &'static str,
}

/// Defender's `Stats`. The engine does not measure CPU or cache use per query, so the
/// CPU times are the wall-clock run time and the cache counters are zero.
fn stats(done: &Completed) -> Json {
    let secs = done.took.as_secs_f64();
    let bytes = wire::result_bytes(&done.result);
    let cpu = kql_value::format::format_timespan(done.took.as_nanos() as i64 / 100 * 100);
    json!({
        "ExecutionTime": (secs * 1000.0).round() / 1000.0,
        "resource_usage": {
            "cache": {
                "memory": {"hits": 0, "misses": 0, "total": 0},
                "disk": {"hits": 0, "misses": 0, "total": 0},
            },
            "cpu": {"user": cpu, "kernel": "00:00:00", "total cpu": cpu},
            "memory": {"peak_per_node": bytes},
        },
        "dataset_statistics": [{"table_row_count": done.result.num_rows(), "table_size": bytes}],
    })
}

fn error_response(flavor: Flavor, e: &Error, ids: &RequestIds) -> Response {
    let (status, code, message, retry) = match e {
        Error::Body(b) => (400, "InvalidRequestBody", b.0.clone(), None),
        Error::Failure(f) => {
            let code = match f {
                Failure::Unauthenticated(_) if flavor == Flavor::Graph => {
                    "InvalidAuthenticationToken"
                }
                Failure::Unauthenticated(_) => "Unauthorized",
                Failure::Forbidden(_) => "Forbidden",
                Failure::RateLimited { .. } | Failure::Busy { .. } => "TooManyRequests",
                Failure::NotFound(_) => "NotFound",
                Failure::Internal(_) => "InternalServerError",
                _ => "BadRequest",
            };
            // Timeouts are a query failure (400) in these APIs, not a gateway error.
            let status = match f {
                Failure::Timeout => 400,
                other => other.status(),
            };
            (status, code, f.message(), f.retry_after())
        }
    };
    let body = match flavor {
        Flavor::Defender => json!({"error": {
            "code": code,
            "message": message,
            "target": ids.activity_id,
        }}),
        Flavor::Graph => json!({"error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "request-id": ids.activity_id,
                "client-request-id": ids.client_request_id,
            },
        }}),
    };
    let mut r = json_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        body.to_string().into_bytes(),
    );
    if let Some(secs) = retry {
        r.headers_mut()
            .insert(axum::http::header::RETRY_AFTER, secs.into());
    }
    r
}
