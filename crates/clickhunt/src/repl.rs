//! `clickhunt` with no arguments (or `clickhunt repl`): an interactive KQL shell with
//! multi-line input, history, completion of table, column, function and operator names,
//! results that fit the terminal and errors with a caret under the mistake.

use engine::Engine;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Config, Context, Editor, Helper};
use std::path::PathBuf;

/// Operators and keywords offered after `|` and elsewhere.
const KEYWORDS: &[&str] = &[
    "where",
    "extend",
    "project",
    "project-away",
    "project-keep",
    "project-rename",
    "project-reorder",
    "summarize",
    "join",
    "lookup",
    "union",
    "sort",
    "order",
    "top",
    "take",
    "limit",
    "distinct",
    "count",
    "mv-expand",
    "mv-apply",
    "parse",
    "parse-where",
    "make-series",
    "render",
    "evaluate",
    "serialize",
    "getschema",
    "search",
    "invoke",
    "let",
    "set",
    "print",
    "range",
    "datatable",
    "by",
    "on",
    "kind",
    "asc",
    "desc",
    "contains",
    "has",
    "has_any",
    "has_all",
    "startswith",
    "endswith",
    "matches regex",
    "between",
    "and",
    "or",
    "in",
    "timechart",
    "columnchart",
    "barchart",
    "piechart",
];

struct KqlHelper {
    words: Vec<String>,
}

impl KqlHelper {
    fn new(engine: &Engine) -> KqlHelper {
        let mut words: Vec<String> = KEYWORDS.iter().map(|s| s.to_string()).collect();
        for t in engine.table_names() {
            if let Some(cols) = engine.table_columns(&t) {
                words.extend(cols.into_iter().map(|c| c.name));
            }
            words.push(t);
        }
        words.extend(engine::completion_functions().map(String::from));
        words.sort();
        words.dedup();
        KqlHelper { words }
    }
}

impl Completer for KqlHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '-'))
            .map(|(i, c)| i + c.len_utf8())
            .unwrap_or(0);
        let prefix = &before[start..];
        if prefix.is_empty() {
            return Ok((pos, vec![]));
        }
        let lower = prefix.to_lowercase();
        let hits = self
            .words
            .iter()
            .filter(|w| w.to_lowercase().starts_with(&lower))
            .map(|w| Pair {
                display: w.clone(),
                replacement: w.clone(),
            })
            .collect();
        Ok((start, hits))
    }
}

/// Whether the text still needs more lines: open brackets or quotes, or a last line
/// that ends with `|` or `,`.
pub fn needs_more(text: &str) -> bool {
    let mut depth: i32 = 0;
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    let mut in_comment = false;
    while let Some(c) = chars.next() {
        if in_comment {
            if c == '\n' {
                in_comment = false;
            }
            continue;
        }
        match quote {
            Some(q) => {
                if c == '\\' {
                    chars.next();
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '/' if chars.peek() == Some(&'/') => in_comment = true,
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                _ => {}
            },
        }
    }
    let last = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or("").trim())
        .rfind(|l| !l.is_empty())
        .unwrap_or("");
    depth > 0 || quote.is_some() || last.ends_with('|') || last.ends_with(',')
}

impl Validator for KqlHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if needs_more(ctx.input()) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

impl Hinter for KqlHelper {
    type Hint = String;
}
impl Highlighter for KqlHelper {}
impl Helper for KqlHelper {}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".clickhunt_history"))
}

/// Runs the shell until end of input. `run` executes one query or command text and
/// prints its result or error.
pub fn run_repl(engine: &Engine, mut run: impl FnMut(&str)) -> rustyline::Result<()> {
    let mut ed: Editor<KqlHelper, DefaultHistory> =
        Editor::with_config(Config::builder().auto_add_history(true).build())?;
    ed.set_helper(Some(KqlHelper::new(engine)));
    let hist = history_path();
    if let Some(h) = &hist {
        let _ = ed.load_history(h);
    }
    eprintln!("clickhunt KQL shell: end a query with Enter (open brackets or a trailing '|' continue it); Ctrl-D quits.");
    loop {
        match ed.readline("kql> ") {
            Ok(line) => {
                let text = line.trim();
                if text.is_empty() {
                    continue;
                }
                if matches!(text, "exit" | "quit" | ".quit" | ".exit") {
                    break;
                }
                run(text);
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e),
        }
    }
    if let Some(h) = &hist {
        let _ = ed.save_history(h);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::needs_more;

    #[test]
    fn continues_open_queries() {
        assert!(needs_more("UrlClickEvents\n| where Url has 'x' |"));
        assert!(needs_more("print strcat('a',"));
        assert!(needs_more("datatable(a:long) ["));
        assert!(!needs_more("UrlClickEvents | take 1"));
        assert!(!needs_more("print ')' // (unbalanced in a comment"));
    }
}
