//! The Kusto REST protocol: `/v1/rest/query`, `/v2/rest/query`, `/v1/rest/mgmt`, as
//! `azure-kusto-data`, Kqlmagic, Grafana and the ADX web UI speak it
//! (`shared/design/KUSTO-PROTOCOL.md`).

mod error;
mod frames;
pub(crate) mod mgmt;

use crate::app::{json_response, AppState, Shared};
use crate::auth::Permission;
use crate::failure::Failure;
use crate::query::{self, Api, QuerySpec, RequestIds};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use engine::{KqlType, QueryResult};
use frames::{OutTable, TableRows};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Endpoint {
    V1Query,
    V2Query,
    V1Mgmt,
}

pub(crate) async fn v1_query(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    handle(st, Endpoint::V1Query, headers, q, body).await
}

pub(crate) async fn v2_query(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    handle(st, Endpoint::V2Query, headers, q, body).await
}

pub(crate) async fn v1_mgmt(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    handle(st, Endpoint::V1Mgmt, headers, q, body).await
}

async fn handle(
    st: AppState,
    endpoint: Endpoint,
    headers: HeaderMap,
    q: HashMap<String, String>,
    body: Bytes,
) -> Response {
    let ids = RequestIds::from_headers(&headers);
    let mut resp = match handle_inner(&st.shared, endpoint, &headers, &q, &body, &ids).await {
        Ok(r) => r,
        Err(f) => failure_response(&f, &ids),
    };
    crate::app::set_request_headers(&mut resp, &ids);
    resp
}

/// A Kusto error response for `f`.
pub(crate) fn failure_response(f: &Failure, ids: &RequestIds) -> Response {
    let body = serde_json::to_vec(&error::one_api_error(f, ids)).unwrap_or_default();
    let mut resp = json_response(
        StatusCode::from_u16(f.status()).unwrap_or(StatusCode::BAD_REQUEST),
        body,
    );
    crate::app::set_retry_after(&mut resp, f);
    resp
}

async fn handle_inner(
    shared: &Shared,
    endpoint: Endpoint,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    body: &[u8],
    ids: &RequestIds,
) -> Result<Response, Failure> {
    let req = KustoRequest::parse(q, body)?;
    let command = req.csl.trim_start().starts_with('.');
    let perm = if command && !mgmt::is_read_only(&req.csl) {
        Permission::Manage
    } else {
        Permission::Query
    };
    let principal = shared.admit(headers, perm)?;
    shared.check_database(&req.db)?;
    if command {
        let started = Instant::now();
        let outcome = run_command(shared, &req.csl).await;
        let took = started.elapsed();
        let label = outcome.as_ref().map_or_else(|f| f.outcome(), |_| "ok");
        let rows = outcome.as_ref().map_or(0, |t| t.row_count() as u64);
        shared.metrics.query_done("kusto_mgmt", label, took, rows);
        tracing::info!(
            request_id = %ids.client_request_id,
            activity_id = %ids.activity_id,
            api = "kusto_mgmt",
            principal = %principal.id,
            outcome = label,
            rows,
            ms = took.as_millis() as u64,
            "command"
        );
        let table = outcome?;
        let body = match endpoint {
            Endpoint::V2Query => frames::v2_body(
                &[
                    OutTable {
                        name: "PrimaryResult".into(),
                        kind: "PrimaryResult",
                        ..table
                    },
                    frames::completion_information(ids, rows as usize, &[]),
                ],
                &[],
            ),
            _ => frames::v1_body(&[table]),
        };
        return serialized(body);
    }
    let api = match endpoint {
        Endpoint::V2Query => Api::KustoV2,
        _ => Api::KustoV1,
    };
    let spec = query_spec(shared, &req)?;
    let done = query::run(shared, api, &spec, ids, &principal.id).await?;
    let result = Arc::new(done.result);
    let body = match endpoint {
        Endpoint::V2Query => v2_query_body(result, ids),
        _ => v1_query_body(result, ids),
    };
    serialized(body)
}

fn serialized(
    body: Result<crate::wire::BodyParts, serde_json::Error>,
) -> Result<Response, Failure> {
    body.map(|b| json_response(StatusCode::OK, b.into_body()))
        .map_err(|e| Failure::Internal(format!("serialising the response: {e}")))
}

fn v2_query_body(
    r: Arc<QueryResult>,
    ids: &RequestIds,
) -> Result<crate::wire::BodyParts, serde_json::Error> {
    let mut primary = OutTable::primary(r.clone());
    let mut errors = Vec::new();
    let mut texts = Vec::new();
    if r.truncated {
        let (text, err) = error::truncation_error(r.num_rows() as u64, ids);
        primary.trailing_error = Some(serde_json::json!({ "OneApiErrors": [err.clone()] }));
        errors.push(err);
        texts.push(text);
    }
    frames::v2_body(
        &[
            frames::extended_properties(1, r.render.as_ref()),
            primary,
            frames::completion_information(ids, r.num_rows(), &texts),
        ],
        &errors,
    )
}

fn v1_query_body(
    r: Arc<QueryResult>,
    ids: &RequestIds,
) -> Result<crate::wire::BodyParts, serde_json::Error> {
    let primary = OutTable::primary(r.clone());
    if !r.truncated {
        return frames::v1_body(&[primary]);
    }
    // A partial failure needs a QueryStatus table, and with more than two tables the
    // client requires a table of contents last.
    let (text, _) = error::truncation_error(r.num_rows() as u64, ids);
    let now = crate::wire::datetime(chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0));
    let s = |v: &str| Json::String(v.to_string());
    let status = OutTable::json(
        "QueryStatus",
        "QueryStatus",
        &[
            ("Timestamp", KqlType::DateTime),
            ("Severity", KqlType::Int),
            ("SeverityName", KqlType::String),
            ("StatusCode", KqlType::Int),
            ("StatusDescription", KqlType::String),
            ("Count", KqlType::Int),
            ("RequestId", KqlType::Guid),
            ("ActivityId", KqlType::Guid),
            ("SubActivityId", KqlType::Guid),
            ("ClientActivityId", KqlType::String),
        ],
        vec![vec![
            now,
            Json::from(2),
            s("Error"),
            Json::from(-2133196797i64),
            s(&text),
            Json::from(1),
            s(&ids.activity_id),
            s(&ids.activity_id),
            s(&ids.activity_id),
            s(&ids.client_request_id),
        ]],
    );
    let toc = OutTable::json(
        "TableOfContents",
        "TableOfContents",
        &[
            ("Ordinal", KqlType::Long),
            ("Kind", KqlType::String),
            ("Name", KqlType::String),
            ("Id", KqlType::String),
            ("PrettyName", KqlType::String),
        ],
        vec![
            vec![
                Json::from(0),
                s("QueryResult"),
                s("PrimaryResult"),
                s(&uuid::Uuid::new_v4().to_string()),
                s(""),
            ],
            vec![
                Json::from(1),
                s("QueryStatus"),
                s("QueryStatus"),
                s(&uuid::Uuid::new_v4().to_string()),
                s(""),
            ],
        ],
    );
    frames::v1_body(&[primary, status, toc])
}

/// Runs a management command: the discovery commands from the engine, the rest on the
/// store.
async fn run_command(shared: &Shared, text: &str) -> Result<OutTable, Failure> {
    if let Some(cmd) = mgmt::parse_builtin(text) {
        return mgmt::execute(&cmd, &shared.engine, &shared.cluster_info())
            .map_err(Failure::BadRequest);
    }
    let Some(store) = &shared.store else {
        return Err(Failure::BadRequest(format!(
            "Management command not supported by this server (it runs without a data directory): {}",
            text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
        )));
    };
    let result = store
        .execute_management(text)
        .await
        .map_err(|e| Failure::BadRequest(e.to_string()))?;
    if !mgmt::is_read_only(text) {
        store.register_into(&shared.engine);
    }
    Ok(owned_table(&result))
}

/// A (small) command result as ready JSON rows.
fn owned_table(r: &QueryResult) -> OutTable {
    let rows = engine::format::result_rows(r)
        .unwrap_or_default()
        .into_iter()
        .map(|row| {
            row.iter()
                .zip(&r.columns)
                .map(|(v, c)| crate::wire::cell(v, c.ty))
                .collect()
        })
        .collect();
    OutTable {
        name: "Table_0".into(),
        kind: "PrimaryResult",
        columns: r.columns.iter().map(|c| (c.name.clone(), c.ty)).collect(),
        rows: TableRows::Json(rows),
        trailing_error: None,
        command: true,
    }
}

/// A parsed request body (`{"db","csl","properties"}`) or query string.
#[derive(Debug, Default)]
pub(crate) struct KustoRequest {
    pub db: String,
    pub csl: String,
    pub options: Map<String, Json>,
    pub parameters: Map<String, Json>,
}

impl KustoRequest {
    pub fn parse(q: &HashMap<String, String>, body: &[u8]) -> Result<KustoRequest, Failure> {
        let mut obj = if body.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else {
            match serde_json::from_slice::<Json>(body) {
                Ok(Json::Object(m)) => m,
                Ok(_) => {
                    return Err(Failure::BadRequest(
                        "The request body must be a JSON object: {\"db\": ..., \"csl\": ..., \"properties\": ...}".into(),
                    ))
                }
                Err(e) => {
                    return Err(Failure::BadRequest(format!(
                        "The request body is not valid JSON: {e}"
                    )))
                }
            }
        };
        let mut take = |key: &str| -> Json {
            obj.remove(key)
                .or_else(|| q.get(key).map(|s| Json::String(s.clone())))
                .unwrap_or(Json::Null)
        };
        let db = match take("db") {
            Json::String(s) => s,
            _ => String::new(),
        };
        let csl = match take("csl") {
            Json::String(s) if !s.trim().is_empty() => s,
            _ => {
                return Err(Failure::BadRequest(
                    "The request has no query text: send it as \"csl\"".into(),
                ))
            }
        };
        let properties = match take("properties") {
            Json::String(s) if s.trim().is_empty() => Map::new(),
            Json::String(s) => match serde_json::from_str::<Json>(&s) {
                Ok(Json::Object(m)) => m,
                _ => {
                    return Err(Failure::BadRequest(
                        "\"properties\" must be a JSON object (or a string holding one)".into(),
                    ))
                }
            },
            Json::Object(m) => m,
            Json::Null => Map::new(),
            _ => {
                return Err(Failure::BadRequest(
                    "\"properties\" must be a JSON object (or a string holding one)".into(),
                ))
            }
        };
        let section = |name: &str| -> Map<String, Json> {
            properties
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_object().cloned())
                .unwrap_or_default()
        };
        Ok(KustoRequest {
            db,
            csl,
            options: section("Options"),
            parameters: section("Parameters"),
        })
    }
}

fn json_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Null => None,
        other => Some(other.to_string()),
    }
}

fn json_bool(v: &Json) -> Option<bool> {
    match v {
        Json::Bool(b) => Some(*b),
        Json::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        Json::Number(n) => n.as_i64().map(|n| n != 0),
        _ => None,
    }
}

/// A `servertimeout`: Kusto's `00:01:00`, `1.00:00:00`, `1m`, or Python's `str(timedelta)`
/// (`0:01:00`, `1 day, 2:00:00`).
pub(crate) fn parse_timeout(text: &str) -> Option<Duration> {
    let t = text.trim();
    let normalized = match t.split_once(" day") {
        Some((days, rest)) => {
            let rest = rest.trim_start_matches('s').trim_start_matches(',').trim();
            format!("{}.{}", days.trim(), rest)
        }
        None => t.to_string(),
    };
    let ns = kql_value::format::parse_timespan(&normalized)?;
    (ns > 0).then(|| Duration::from_nanos(ns as u64))
}

/// The request's options as statements and limits.
fn query_spec(shared: &Shared, req: &KustoRequest) -> Result<QuerySpec, Failure> {
    let mut spec = QuerySpec::new(req.csl.clone());
    let mut scope = (None, None, None);
    for (key, v) in &req.options {
        let bad = |what: &str| {
            Failure::BadRequest(format!(
                "Request property '{key}' has an invalid value {v}: expected {what}"
            ))
        };
        match key.to_ascii_lowercase().as_str() {
            "truncationmaxrecords" => {
                let n = json_text(v)
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .ok_or_else(|| bad("a non-negative number"))?;
                spec.set_option("truncationmaxrecords", &n.to_string());
            }
            "notruncation" => match json_bool(v) {
                Some(true) => spec.set_option("notruncation", "true"),
                Some(false) => {}
                None => return Err(bad("true or false")),
            },
            "servertimeout" => {
                let t = json_text(v)
                    .and_then(|s| parse_timeout(&s))
                    .ok_or_else(|| bad("a timespan such as 00:01:00"))?;
                spec.timeout = Some(t);
            }
            "query_now" => {
                let t = json_text(v)
                    .and_then(|s| kql_value::format::parse_datetime(&s))
                    .ok_or_else(|| bad("a datetime"))?;
                spec.now = Some(t);
            }
            "query_language" => {
                let lang = json_text(v).unwrap_or_default().to_ascii_lowercase();
                if !matches!(lang.as_str(), "" | "csl" | "kql") {
                    return Err(Failure::BadRequest(format!(
                        "query_language '{lang}' is not supported: this server runs KQL only"
                    )));
                }
            }
            "query_datetimescope_column" => scope.0 = json_text(v),
            "query_datetimescope_from" => {
                scope.1 = Some(
                    json_text(v)
                        .and_then(|s| kql_value::format::parse_datetime(&s))
                        .ok_or_else(|| bad("a datetime"))?,
                )
            }
            "query_datetimescope_to" => {
                scope.2 = Some(
                    json_text(v)
                        .and_then(|s| kql_value::format::parse_datetime(&s))
                        .ok_or_else(|| bad("a datetime"))?,
                )
            }
            // Other request properties (request_readonly, queryconsistency, caching
            // hints, ...) do not change results here.
            _ => {}
        }
    }
    if scope.1.is_some() || scope.2.is_some() {
        spec.restrict_time(
            &shared.engine,
            scope.0.as_deref(),
            scope.1.unwrap_or(i64::MIN / 2),
            scope.2.unwrap_or(i64::MAX / 2),
        );
    }
    spec.text = substitute_parameters(&spec.text, &req.parameters);
    Ok(spec)
}

/// Passes request `Parameters` into `declare query_parameters(...)`: the default of each
/// declared parameter that has a value in the request is replaced by that value. Values
/// are KQL literals in text (Kusto's rule for non-string parameters); a JSON string for
/// a `string` parameter is quoted. Positions after the declaration may shift, which
/// only affects error positions.
fn substitute_parameters(text: &str, params: &Map<String, Json>) -> String {
    if params.is_empty() || !text.contains("query_parameters") {
        return text.to_string();
    }
    let Ok(ast) = kql::parse(text) else {
        return text.to_string();
    };
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for st in &ast.statements {
        let kql::ast::Statement::Let(l) = st else {
            continue;
        };
        // A `let` from `declare query_parameters` starts at the name, not at `let`.
        if text[l.span.start as usize..].starts_with("let") {
            continue;
        }
        let kql::ast::LetValue::Expr(default) = &l.value else {
            continue;
        };
        let Some(value) = params.get(&l.name.name) else {
            continue;
        };
        let declared = &text[l.name.span.end as usize..default.span.start as usize];
        let is_string = declared.contains("string");
        let literal = match value {
            Json::String(s) if is_string => Json::String(s.clone()).to_string(),
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        edits.push((
            default.span.start as usize,
            default.span.end as usize,
            literal,
        ));
    }
    let mut out = text.to_string();
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (start, end, lit) in edits {
        if start <= end && end <= out.len() {
            out.replace_range(start..end, &lit);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_as_string_or_object() {
        let q = HashMap::new();
        let r = KustoRequest::parse(
            &q,
            br#"{"db":"hunting","csl":"print 1","properties":"{\"Options\":{\"servertimeout\":\"0:01:00\"},\"Parameters\":{}}"}"#,
        )
        .unwrap();
        assert_eq!(r.options["servertimeout"], "0:01:00");
        let r = KustoRequest::parse(
            &q,
            br#"{"csl":"print 1","properties":{"Options":{"notruncation":true}}}"#,
        )
        .unwrap();
        assert_eq!(r.options["notruncation"], true);
        assert!(KustoRequest::parse(&q, b"{}").is_err());
        let mut q = HashMap::new();
        q.insert("csl".to_string(), "print 2".to_string());
        assert_eq!(KustoRequest::parse(&q, b"").unwrap().csl, "print 2");
    }

    #[test]
    fn timeouts_in_kusto_and_python_forms() {
        assert_eq!(parse_timeout("00:01:00"), Some(Duration::from_secs(60)));
        assert_eq!(parse_timeout("0:01:00"), Some(Duration::from_secs(60)));
        assert_eq!(
            parse_timeout("1 day, 2:00:00"),
            Some(Duration::from_secs(26 * 3600))
        );
        assert_eq!(
            parse_timeout("1.02:00:00"),
            Some(Duration::from_secs(26 * 3600))
        );
        assert_eq!(parse_timeout("nonsense"), None);
    }

    #[test]
    fn parameters_replace_declared_defaults() {
        let mut p = Map::new();
        p.insert("n".into(), Json::from(3));
        p.insert("s".into(), Json::String("a\"b".into()));
        let text = "declare query_parameters(n:long = 5, s:string = 'x');\nprint n, s";
        let out = substitute_parameters(text, &p);
        assert_eq!(
            out,
            "declare query_parameters(n:long = 3, s:string = \"a\\\"b\");\nprint n, s"
        );
        let user_let = "let n = 5; print n";
        assert_eq!(substitute_parameters(user_let, &p), user_let);
    }
}
