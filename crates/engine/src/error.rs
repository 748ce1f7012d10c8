//! Query errors: a message with an optional place in the query text and help.

use kql::ast::Span;
use kql::Diagnostic;
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub struct QueryError {
    pub message: String,
    pub span: Option<Span>,
    pub help: Option<String>,
    pub kind: ErrorKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The query text does not parse.
    Syntax,
    /// Names, types, or unsupported constructs.
    Semantic,
    /// Failure while running (resources, runtime errors).
    Execution,
}

impl QueryError {
    pub fn semantic(message: impl Into<String>, span: Span) -> QueryError {
        QueryError {
            message: message.into(),
            span: Some(span),
            help: None,
            kind: ErrorKind::Semantic,
        }
    }

    pub fn execution(message: impl Into<String>) -> QueryError {
        QueryError {
            message: message.into(),
            span: None,
            help: None,
            kind: ErrorKind::Execution,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> QueryError {
        self.help = Some(help.into());
        self
    }

    /// As a diagnostic for rendering with a caret (spanless errors point at the start).
    pub fn to_diagnostic(&self) -> Diagnostic {
        Diagnostic {
            message: self.message.clone(),
            span: self.span.unwrap_or_default(),
            help: self.help.clone(),
        }
    }

    /// 1-based line and column in `source`, when the error has a place.
    pub fn line_col(&self, source: &str) -> Option<kql::LineCol> {
        self.span.map(|s| kql::line_col(source, s.start as usize))
    }

    /// The message, the query line and a caret, and the help.
    pub fn render(&self, source: &str) -> String {
        match self.span {
            Some(_) => self.to_diagnostic().render(source),
            None => format!("error: {}\n", self.message),
        }
    }
}

impl From<Diagnostic> for QueryError {
    fn from(d: Diagnostic) -> QueryError {
        QueryError {
            message: d.message,
            span: Some(d.span),
            help: d.help,
            kind: ErrorKind::Syntax,
        }
    }
}

impl From<datafusion::error::DataFusionError> for QueryError {
    fn from(e: datafusion::error::DataFusionError) -> QueryError {
        QueryError::execution(crate::limits::describe_datafusion_error(&e))
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(h) = &self.help {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for QueryError {}

pub type QResult<T> = std::result::Result<T, QueryError>;

/// "did you mean 'X'?" for the closest candidate, if any is close enough.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let lower = name.to_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = if c.to_lowercase() == lower {
            1.0
        } else {
            strsim::jaro_winkler(&lower, &c.to_lowercase())
        };
        if score >= 0.8 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| format!("did you mean '{c}'?"))
}
