//! Kusto's OneApiError body, as `azure-kusto-data` parses it into `KustoApiError`
//! (`@message` becomes the exception text; `is_semantic_error()` looks for
//! `"Semantic error:"` in it).

use crate::failure::Failure;
use crate::query::RequestIds;
use engine::ErrorKind;
use serde_json::{json, Value as Json};

const BAD_REQUEST: &str = "Request is invalid and cannot be executed.";

/// The `{"error": {...}}` object for `f`.
pub(crate) fn one_api_error(f: &Failure, ids: &RequestIds) -> Json {
    let (code, ty, message, permanent, inner) = match f {
        Failure::Query(q) => {
            let (ty, inner_code, label) = match q.kind {
                ErrorKind::Syntax => (
                    "Kusto.Data.Exceptions.SyntaxException",
                    "SYN0002",
                    "Syntax error",
                ),
                ErrorKind::Semantic => (
                    "Kusto.Data.Exceptions.SemanticException",
                    "SEM0100",
                    "Semantic error",
                ),
                ErrorKind::Execution => (
                    "Kusto.Data.Exceptions.KustoBadRequestException",
                    "General_BadRequest",
                    "",
                ),
            };
            let text = if label.is_empty() {
                q.detail()
            } else {
                format!("{label}: {inner_code}: {}", q.detail())
            };
            ("General_BadRequest", ty, text, true, Some(inner_code))
        }
        Failure::BadRequest(m) => (
            "General_BadRequest",
            "Kusto.Data.Exceptions.KustoBadRequestException",
            m.clone(),
            true,
            None,
        ),
        Failure::NotFound(m) => (
            "General_BadRequest",
            "Kusto.Data.Exceptions.EntityNotFoundException",
            m.clone(),
            true,
            None,
        ),
        Failure::ResultTooLarge => (
            "LimitsExceeded",
            "Kusto.Data.Exceptions.KustoServicePartialQueryFailureLimitsExceededException",
            f.message(),
            true,
            None,
        ),
        Failure::Timeout => (
            "Request_ExecutionTimeout",
            "Kusto.Data.Exceptions.KustoRequestExecutionTimeoutException",
            f.message(),
            false,
            None,
        ),
        Failure::Unauthenticated(m) => (
            "Unauthorized",
            "Kusto.Data.Exceptions.UnauthorizedOperationException",
            m.clone(),
            true,
            None,
        ),
        Failure::Forbidden(m) => (
            "Forbidden",
            "Kusto.Data.Exceptions.ForbiddenOperationException",
            m.clone(),
            true,
            None,
        ),
        Failure::RateLimited { .. } | Failure::Busy { .. } => (
            "LimitsExceeded",
            "Kusto.DataNode.Exceptions.KustoRequestThrottledException",
            f.message(),
            false,
            None,
        ),
        Failure::Internal(_) => (
            "Internal_Error",
            "Kusto.Data.Exceptions.KustoServiceException",
            f.message(),
            false,
            None,
        ),
    };
    let top_message = match f {
        Failure::Query(_) | Failure::BadRequest(_) | Failure::NotFound(_) => BAD_REQUEST.into(),
        _ => message.clone(),
    };
    error_object(code, &top_message, ty, &message, permanent, inner, ids)
}

/// The partial-failure error of a result cut at the truncation limit.
pub(crate) fn truncation_error(limit: u64, ids: &RequestIds) -> (String, Json) {
    let text = format!(
        "Query execution has exceeded the allowed limits (80DA0003): The results of this query exceed the set limit of {limit} records, so not all records were returned (E_QUERY_RESULT_SET_TOO_LARGE, 0x80DA0003). See https://aka.ms/kustoquerylimits for more information and possible solutions.."
    );
    let obj = error_object(
        "LimitsExceeded",
        "Request is invalid and cannot be executed.",
        "Kusto.Data.Exceptions.KustoServicePartialQueryFailureLimitsExceededException",
        &text,
        false,
        None,
        ids,
    );
    (text, obj)
}

fn error_object(
    code: &str,
    message: &str,
    ty: &str,
    description: &str,
    permanent: bool,
    inner_code: Option<&str>,
    ids: &RequestIds,
) -> Json {
    let context = json!({
        "timestamp": crate::wire::datetime(chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)),
        "serviceAlias": "CLICKHUNT",
        "machineName": "clickhunt",
        "processName": "clickhunt",
        "processId": std::process::id(),
        "threadId": 0,
        "clientRequestId": ids.client_request_id,
        "activityId": ids.activity_id,
        "subActivityId": ids.activity_id,
        "activityType": "clickhunt.Query",
        "parentActivityId": ids.activity_id,
        "activityStack": format!("(Activity stack: CRID={} ARID={})", ids.client_request_id, ids.activity_id),
    });
    let mut err = json!({
        "code": code,
        "message": message,
        "@type": ty,
        "@message": description,
        "@context": context,
        "@permanent": permanent,
    });
    if let Some(c) = inner_code {
        err["innererror"] = json!({
            "code": c,
            "message": description,
            "@type": ty,
            "@message": description,
            "@context": context,
            "@permanent": permanent,
            "@errorCode": c,
        });
    }
    json!({ "error": err })
}
