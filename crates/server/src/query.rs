//! Running one query for any API: admission (a query slot), the timeout, metrics and
//! the log line. Protocol options become text the engine understands, prepended to the
//! user's query (`set truncationmaxrecords = ...;`, `let T = T | where ...;`); error
//! positions are mapped back into the user's text.

use crate::app::Shared;
use crate::failure::{Failure, QueryFailure};
use engine::{Engine, KqlType, QueryResult};
use kql_value::format::format_datetime_full;
use std::fmt::Write;
use std::time::{Duration, Instant};

/// Which API a query came in through (a metrics label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Api {
    KustoV1,
    KustoV2,
    Defender,
    Graph,
    /// The web hunting page.
    Web,
}

impl Api {
    pub fn name(self) -> &'static str {
        match self {
            Api::KustoV1 => "kusto_v1",
            Api::KustoV2 => "kusto_v2",
            Api::Defender => "defender",
            Api::Graph => "graph",
            Api::Web => "web",
        }
    }
}

/// A query and how to run it.
#[derive(Debug, Default)]
pub(crate) struct QuerySpec {
    /// What the user wrote.
    pub text: String,
    /// Statements put before it (each ending in `;`), from request options.
    pub prefix: String,
    /// The client's `servertimeout`; the server's limit still applies.
    pub timeout: Option<Duration>,
    /// `query_now` from the request properties (ns since the epoch).
    pub now: Option<i64>,
}

impl QuerySpec {
    pub fn new(text: impl Into<String>) -> QuerySpec {
        QuerySpec {
            text: text.into(),
            ..Default::default()
        }
    }

    pub fn set_option(&mut self, name: &str, value: &str) {
        let _ = writeln!(self.prefix, "set {name} = {value};");
    }

    /// Restricts every table the query names that has `column` (a datetime) to
    /// `[from, to]`, by shadowing the table with a filtered `let` of the same name.
    pub fn restrict_time(&mut self, engine: &Engine, column: Option<&str>, from: i64, to: i64) {
        for table in engine.table_names() {
            if !is_identifier(&table) || !mentions(&self.text, &table) {
                continue;
            }
            let Some(cols) = engine.table_columns(&table) else {
                continue;
            };
            let has = |name: &str| {
                cols.iter()
                    .any(|c| c.name == name && c.ty == KqlType::DateTime)
            };
            let col = match column {
                Some(c) if has(c) => c,
                Some(_) => continue,
                None if has("Timestamp") => "Timestamp",
                None if has("TimeGenerated") => "TimeGenerated",
                None => continue,
            };
            let _ = writeln!(
                self.prefix,
                "let {table} = {table} | where {col} between (datetime({}) .. datetime({}));",
                format_datetime_full(from),
                format_datetime_full(to)
            );
        }
    }

    fn full_text(&self) -> String {
        format!("{}{}", self.prefix, self.text)
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `name` occurs in `text` as a whole word.
fn mentions(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name).any(|(i, m)| {
        let before = text[..i].chars().next_back();
        let after = text[i + m.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// A `set servertimeout = <timespan>;` statement in the query text.
fn timeout_from_text(text: &str) -> Option<Duration> {
    if !text.contains("servertimeout") {
        return None;
    }
    let ast = kql::parse(text).ok()?;
    ast.statements.iter().find_map(|st| match st {
        kql::ast::Statement::Set {
            name,
            value: Some(v),
            ..
        } if name.name == "servertimeout" => match &v.kind {
            kql::ast::ExprKind::Literal(kql::ast::Literal::TimeSpan(ns)) if *ns > 0 => {
                Some(Duration::from_nanos(*ns as u64))
            }
            _ => None,
        },
        _ => None,
    })
}

/// A finished query.
pub(crate) struct Completed {
    pub result: QueryResult,
    pub took: Duration,
}

/// Identifies a request in logs and responses.
#[derive(Clone, Debug)]
pub(crate) struct RequestIds {
    /// The client's `x-ms-client-request-id`, or one we made up.
    pub client_request_id: String,
    /// Ours, per request (`x-ms-activity-id`).
    pub activity_id: String,
}

impl RequestIds {
    pub fn from_headers(headers: &axum::http::HeaderMap) -> RequestIds {
        let activity_id = uuid::Uuid::new_v4().to_string();
        let client_request_id = headers
            .get("x-ms-client-request-id")
            .or_else(|| headers.get("client-request-id"))
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(200).collect())
            .unwrap_or_else(|| format!("clickhunt;{activity_id}"));
        RequestIds {
            client_request_id,
            activity_id,
        }
    }
}

/// Runs `spec` with the server's limits. Dropping the future (the client went away)
/// cancels the work.
pub(crate) async fn run(
    shared: &Shared,
    api: Api,
    spec: &QuerySpec,
    ids: &RequestIds,
    principal: &str,
) -> Result<Completed, Failure> {
    let started = Instant::now();
    let outcome = run_inner(shared, spec).await;
    let took = started.elapsed();
    let (label, rows) = match &outcome {
        Ok(r) => ("ok", r.num_rows() as u64),
        Err(f) => (f.outcome(), 0),
    };
    shared.metrics.query_done(api.name(), label, took, rows);
    if let Err(f) = &outcome {
        if matches!(f, Failure::Busy { .. } | Failure::Timeout) {
            shared.metrics.rejected(f.outcome());
        }
    }
    tracing::info!(
        request_id = %ids.client_request_id,
        activity_id = %ids.activity_id,
        api = api.name(),
        principal,
        outcome = label,
        rows,
        ms = took.as_millis() as u64,
        "query"
    );
    tracing::debug!(request_id = %ids.client_request_id, query = %spec.text, "query text");
    if let Err(Failure::Internal(detail)) = &outcome {
        tracing::error!(request_id = %ids.client_request_id, error = %detail, "query failed");
    }
    outcome.map(|result| Completed { result, took })
}

async fn run_inner(shared: &Shared, spec: &QuerySpec) -> Result<QueryResult, Failure> {
    let limit = shared.config.query_timeout;
    let timeout = spec
        .timeout
        .or_else(|| timeout_from_text(&spec.text))
        .map_or(limit, |t| t.min(limit));
    let slot = shared.limits.acquire().await?;
    let _gauge = shared.metrics.start_query();
    let text = spec.full_text();
    let now = spec
        .now
        .unwrap_or_else(|| chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0));
    // The engine plans synchronously (a big `range` or `datatable` is built while
    // planning), so the query runs in its own task: the timeout answers on time even
    // then, and the slot stays taken until the work has really stopped.
    let engine = shared.engine.clone();
    let task = shared.query_runtime.handle().spawn(async move {
        let _slot = slot;
        engine.query_at(&text, now).await
    });
    let _abort = AbortOnDrop(task.abort_handle());
    match tokio::time::timeout(timeout, task).await {
        Err(_) => Err(Failure::Timeout),
        Ok(Err(join)) => Err(Failure::Internal(format!("the query task failed: {join}"))),
        Ok(Ok(Err(e))) => Err(Failure::Query(QueryFailure::new(
            e,
            &spec.text,
            spec.prefix.len(),
        ))),
        Ok(Ok(Ok(r))) => Ok(r),
    }
}

/// Cancels the query task when the request goes away (timeout or client disconnect).
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_whole_words_only() {
        assert!(mentions("UrlClickEvents | take 1", "UrlClickEvents"));
        assert!(mentions("union (EmailEvents), X", "EmailEvents"));
        assert!(!mentions("MyUrlClickEvents2 | take 1", "UrlClickEvents"));
    }

    #[test]
    fn servertimeout_from_set_statement() {
        assert_eq!(
            timeout_from_text("set servertimeout = 2m;\nprint 1"),
            Some(Duration::from_secs(120))
        );
        assert_eq!(timeout_from_text("print 1"), None);
    }
}
