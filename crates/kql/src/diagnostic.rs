//! Errors with a place: a message, the span it is about, and optional help
//! ("did you mean 'Timestamp'?"). Rendered with the query line and a caret.

use crate::ast::Span;
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub message: String,
    pub span: Span,
    pub help: Option<String>,
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            span,
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Where the span starts in `source`.
    pub fn line_col(&self, source: &str) -> LineCol {
        line_col(source, self.span.start as usize)
    }

    /// The message, the offending line with a caret under the span, and the help.
    pub fn render(&self, source: &str) -> String {
        let LineCol { line, column } = self.line_col(source);
        let text = source.lines().nth(line - 1).unwrap_or("");
        let width = {
            let start = (self.span.start as usize).min(source.len());
            let end = (self.span.end as usize).clamp(start, source.len());
            let on_line = source
                .get(start..end)
                .map(|s| s.split('\n').next().unwrap_or("").chars().count())
                .unwrap_or(1);
            on_line.max(1)
        };
        let gutter = line.to_string().len();
        let mut out = format!("error: {}\n", self.message);
        out += &format!("{:gutter$}--> line {line}, column {column}\n", "");
        out += &format!("{:gutter$} |\n", "");
        out += &format!("{line} | {text}\n");
        out += &format!(
            "{:gutter$} | {}{}\n",
            "",
            " ".repeat(column - 1),
            "^".repeat(width)
        );
        if let Some(help) = &self.help {
            out += &format!("{:gutter$} = help: {help}\n", "");
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, " ({help})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// The 1-based line and character column of byte `offset` in `source`.
pub fn line_col(source: &str, offset: usize) -> LineCol {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = source[line_start..offset].chars().count() + 1;
    LineCol { line, column }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_the_span() {
        let src = "T\n| where Timestamps > ago(1d)";
        let d = Diagnostic::new("unknown column", Span::new(10, 20))
            .with_help("did you mean 'Timestamp'?");
        let r = d.render(src);
        assert!(r.contains("2 | | where Timestamps > ago(1d)"), "{r}");
        assert!(r.contains("  |         ^^^^^^^^^^"), "{r}");
        assert_eq!(d.line_col(src), LineCol { line: 2, column: 9 });
    }

    #[test]
    fn line_col_never_splits_a_character() {
        let src = "print 'é'";
        assert_eq!(line_col(src, 8).column, 8);
        assert_eq!(line_col(src, 100).line, 1);
    }
}
