//! Why a request failed, independent of the protocol. Each API renders a [`Failure`] in
//! its own error shape (Kusto OneApiError, Defender `{"error":{code,message,target}}`,
//! Graph OData error).

use engine::{ErrorKind, QueryError};

/// A query that the engine rejected or failed to run, with its place in the text the
/// user wrote (not the text the server sent to the engine).
#[derive(Clone, Debug)]
pub(crate) struct QueryFailure {
    pub kind: ErrorKind,
    pub message: String,
    pub help: Option<String>,
    /// 1-based line and column in the user's query text.
    pub position: Option<(usize, usize)>,
}

impl QueryFailure {
    /// `err` came from running `prefix + user_text`; positions are mapped back into
    /// `user_text`.
    pub fn new(err: QueryError, user_text: &str, prefix_len: usize) -> QueryFailure {
        let position = err.span.map(|s| {
            let start = (s.start as usize).saturating_sub(prefix_len);
            let lc = kql::line_col(user_text, start);
            (lc.line, lc.column)
        });
        QueryFailure {
            kind: err.kind,
            message: err.message,
            help: err.help,
            position,
        }
    }

    /// The message with the help and the position, e.g.
    /// `'where' operator: Failed to resolve ... [line:position=1:9]`.
    pub fn detail(&self) -> String {
        let mut out = self.message.clone();
        if let Some(h) = &self.help {
            out.push_str(&format!(" ({h})"));
        }
        if let Some((line, col)) = self.position {
            out.push_str(&format!(" [line:position={line}:{col}]"));
        }
        out
    }

    /// `Syntax error: ...`, `Semantic error: ...`, or the bare detail for run-time errors.
    pub fn labelled(&self) -> String {
        match self.kind {
            ErrorKind::Syntax => format!("Syntax error: {}", self.detail()),
            ErrorKind::Semantic => format!("Semantic error: {}", self.detail()),
            ErrorKind::Execution => self.detail(),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Failure {
    /// The request itself is malformed (body, parameters).
    BadRequest(String),
    Query(QueryFailure),
    /// The query ran longer than its timeout.
    Timeout,
    /// More rows than the API returns (Defender's 100,000-row limit).
    ResultTooLarge,
    Unauthenticated(String),
    Forbidden(String),
    /// Per-key request rate exceeded.
    RateLimited {
        retry_after_secs: u64,
    },
    /// Too many queries running; waited and gave up.
    Busy {
        retry_after_secs: u64,
    },
    NotFound(String),
    /// Something broke on our side (I/O, a bug); details are logged, not sent.
    Internal(String),
}

/// The text Defender shows when a query runs too long.
pub(crate) const TIMEOUT_MESSAGE: &str = "Query exceeded the timeout period.";

/// The text of Defender's API when a result is over its limits.
pub(crate) const RESULT_TOO_LARGE_MESSAGE: &str = "Query execution has exceeded the allowed result size. Optimize your query by limiting the number of results and try again.";

impl Failure {
    pub fn status(&self) -> u16 {
        match self {
            Failure::BadRequest(_) | Failure::Query(_) | Failure::ResultTooLarge => 400,
            Failure::Timeout => 504,
            Failure::Unauthenticated(_) => 401,
            Failure::Forbidden(_) => 403,
            Failure::RateLimited { .. } | Failure::Busy { .. } => 429,
            Failure::NotFound(_) => 404,
            Failure::Internal(_) => 500,
        }
    }

    /// The human message (Kusto's `@message`, Defender's and Graph's `message`).
    pub fn message(&self) -> String {
        match self {
            Failure::BadRequest(m)
            | Failure::Unauthenticated(m)
            | Failure::Forbidden(m)
            | Failure::NotFound(m) => m.clone(),
            Failure::Query(q) => q.labelled(),
            Failure::Timeout => TIMEOUT_MESSAGE.to_string(),
            Failure::ResultTooLarge => RESULT_TOO_LARGE_MESSAGE.to_string(),
            Failure::RateLimited { retry_after_secs } => format!(
                "The request rate limit of this API key was exceeded. Try again in {retry_after_secs} seconds."
            ),
            Failure::Busy { retry_after_secs } => format!(
                "Too many queries are running on this server. Try again in {retry_after_secs} seconds."
            ),
            Failure::Internal(_) => {
                "An unexpected error occurred during query execution. Please try again in a few minutes.".to_string()
            }
        }
    }

    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Failure::RateLimited { retry_after_secs } | Failure::Busy { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            _ => None,
        }
    }

    /// A short label for metrics and logs.
    pub fn outcome(&self) -> &'static str {
        match self {
            Failure::BadRequest(_) => "bad_request",
            Failure::Query(q) => match q.kind {
                ErrorKind::Syntax => "syntax_error",
                ErrorKind::Semantic => "semantic_error",
                ErrorKind::Execution => "execution_error",
            },
            Failure::Timeout => "timeout",
            Failure::ResultTooLarge => "result_too_large",
            Failure::Unauthenticated(_) => "unauthenticated",
            Failure::Forbidden(_) => "forbidden",
            Failure::RateLimited { .. } => "rate_limited",
            Failure::Busy { .. } => "busy",
            Failure::NotFound(_) => "not_found",
            Failure::Internal(_) => "internal_error",
        }
    }
}
