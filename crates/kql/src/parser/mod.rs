//! The KQL parser: recursive descent for statements and tabular operators, Pratt parsing for
//! scalar expressions.
//!
//! Errors are recorded as [`Diagnostic`]s and the failing rule returns [`Fail`]. Only the
//! statement level recovers: it skips to the next `|` or `;` that is not nested in brackets
//! and goes on, so independent mistakes are all reported while one mistake produces one
//! diagnostic. Nesting is bounded ([`MAX_DEPTH`], [`MAX_HEIGHT`]) so that no input can
//! overflow the stack, here or in the code that later walks (or drops) the tree.

mod expr;
mod literals;
mod operators;
#[cfg(test)]
mod tests;

use crate::ast::*;
use crate::diagnostic::{line_col, Diagnostic};
use crate::lexer::{lex, Tok, Token, P};

/// Parses a whole query: `set` and `let` statements and query statements separated by `;`.
///
/// Returns every diagnostic (up to a cap) if anything is wrong; never panics.
pub fn parse(source: &str) -> Result<Query, Vec<Diagnostic>> {
    let mut p = Parser {
        src: source,
        toks: lex(source),
        pos: 0,
        diags: Vec::new(),
        depth: 0,
        height: 0,
        stack_base: stack_address(),
    };
    let query = p.query();
    if p.diags.is_empty() {
        Ok(query)
    } else {
        Err(p.diags)
    }
}

/// Recursion depth (brackets, calls, operator precedence levels) before we give up.
const MAX_DEPTH: u32 = 200;
/// Bound on the height of the tree, which also grows through long left-leaning chains
/// (`a + b + ...`, `T | where ... | where ...`, `a.b.c...`); dropping or walking a tree
/// recurses once per level.
const MAX_HEIGHT: u32 = 1000;
/// More diagnostics than this only bury the first, which is usually the real one.
const MAX_DIAGS: usize = 10;

/// The failing rule has already recorded its diagnostic.
#[derive(Debug)]
struct Fail;

type PResult<T> = Result<T, Fail>;

struct Parser<'a> {
    src: &'a str,
    /// Always ends with [`Tok::Eof`].
    toks: Vec<Token>,
    pos: usize,
    diags: Vec<Diagnostic>,
    depth: u32,
    height: u32,
    /// [`stack_address`] when parsing began.
    stack_base: usize,
}

/// The address of a local variable: how deep the stack is right now. Comparing it with the
/// value at the start of [`parse`] bounds the parser's stack use whatever the frame sizes
/// (debug builds have much larger frames than release builds).
#[inline(never)]
fn stack_address() -> usize {
    let probe = 0u8;
    std::hint::black_box(&probe) as *const u8 as usize
}

/// Stack the parser may use: well inside the 2 MiB that Rust gives spawned threads.
const STACK_BUDGET: usize = 1024 * 1024;

/// Tabular operators this parser understands, for "did you mean" suggestions.
const OPERATORS: &[&str] = &[
    "where",
    "filter",
    "extend",
    "project",
    "project-away",
    "project-keep",
    "project-rename",
    "project-reorder",
    "summarize",
    "sort",
    "order",
    "top",
    "take",
    "limit",
    "distinct",
    "count",
    "join",
    "lookup",
    "union",
    "mv-expand",
    "mv-apply",
    "parse",
    "parse-where",
    "render",
    "make-series",
    "evaluate",
    "serialize",
    "getschema",
    "as",
    "invoke",
    "search",
    "sample",
    "top-nested",
];

/// Kusto operators that parse but that the engine does not run: they become
/// [`OperatorKind::Unsupported`] so the engine can name them.
const UNSUPPORTED_OPERATORS: &[&str] = &[
    "scan",
    "partition",
    "reduce",
    "facet",
    "fork",
    "make-graph",
    "graph-match",
    "graph-shortest-paths",
    "graph-merge",
    "graph-to-table",
    "graph-mark-components",
    "sample-distinct",
    "parse-kv",
    "project-smart",
    "consume",
    "top-hitters",
    "assert-schema",
    "macro-expand",
    "externaldata",
    "find",
];

impl<'a> Parser<'a> {
    // ----- token access -------------------------------------------------------------

    fn last(&self) -> usize {
        self.toks.len() - 1
    }

    fn tok(&self) -> &Tok {
        &self.toks[self.pos].kind
    }

    fn tok_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.last())].kind
    }

    fn span(&self) -> Span {
        self.toks[self.pos].span
    }

    /// Consumes the current token (never past the end) and returns its span.
    fn bump(&mut self) -> Span {
        let s = self.span();
        if self.pos < self.last() {
            self.pos += 1;
        }
        s
    }

    /// End of the last consumed token: where the construct being parsed ends.
    fn prev_end(&self) -> usize {
        if self.pos == 0 {
            0
        } else {
            self.toks[self.pos - 1].span.end as usize
        }
    }

    fn span_from(&self, start: Span) -> Span {
        Span::new(
            start.start as usize,
            self.prev_end().max(start.start as usize),
        )
    }

    fn is_eof(&self) -> bool {
        matches!(self.tok(), Tok::Eof)
    }

    fn is_p(&self, p: P) -> bool {
        self.is_p_at(0, p)
    }

    fn is_p_at(&self, n: usize, p: P) -> bool {
        matches!(self.tok_at(n), Tok::Punct(q) if *q == p)
    }

    fn is_kw(&self, kw: &str) -> bool {
        self.is_kw_at(0, kw)
    }

    fn is_kw_at(&self, n: usize, kw: &str) -> bool {
        matches!(self.tok_at(n), Tok::Ident(w) if w == kw)
    }

    fn is_ident_at(&self, n: usize) -> bool {
        matches!(self.tok_at(n), Tok::Ident(_))
    }

    fn eat_p(&mut self, p: P) -> bool {
        if self.is_p(p) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    /// Whether token `n` ends exactly where token `n + 1` starts (`project-away`, `in~`).
    fn adjacent(&self, n: usize) -> bool {
        let i = (self.pos + n).min(self.last());
        let j = (i + 1).min(self.last());
        i != j && self.toks[i].span.end == self.toks[j].span.start
    }

    /// `[ 'name' ]`, a bracketed identifier, at token `n`.
    fn is_bracket_name_at(&self, n: usize) -> bool {
        self.is_p_at(n, P::LBracket)
            && matches!(self.tok_at(n + 1), Tok::Str(_))
            && self.is_p_at(n + 2, P::RBracket)
    }

    /// An identifier (keywords included) or a bracketed name at token `n`.
    fn is_name_at(&self, n: usize) -> bool {
        self.is_ident_at(n) || self.is_bracket_name_at(n)
    }

    // ----- diagnostics --------------------------------------------------------------

    fn full(&self) -> bool {
        self.diags.len() >= MAX_DIAGS
    }

    fn err(&mut self, message: impl Into<String>, span: Span) -> Fail {
        self.push_diag(Diagnostic::new(message, span))
    }

    fn err_help(
        &mut self,
        message: impl Into<String>,
        span: Span,
        help: impl Into<String>,
    ) -> Fail {
        self.push_diag(Diagnostic::new(message, span).with_help(help))
    }

    fn push_diag(&mut self, d: Diagnostic) -> Fail {
        if !self.full() {
            self.diags.push(d);
        }
        Fail
    }

    /// The lexer's diagnostic if the current token is a lexical error.
    fn lex_error_here(&mut self) -> Option<Fail> {
        if let Tok::Error(e) = self.tok() {
            let mut d = Diagnostic::new(e.message.clone(), e.span);
            d.help = e.help.clone();
            return Some(self.push_diag(d));
        }
        None
    }

    /// A human description of the current token for "found ..." messages.
    fn found(&self) -> String {
        self.describe(self.pos)
    }

    fn describe(&self, idx: usize) -> String {
        let t = &self.toks[idx.min(self.last())];
        if matches!(t.kind, Tok::Eof) {
            return "end of query".into();
        }
        let text = self.src.get(t.span.range()).unwrap_or("");
        let first_line = text.lines().next().unwrap_or("");
        let mut short: String = first_line.chars().take(40).collect();
        if short.len() < text.len() {
            short.push('…');
        }
        match t.kind {
            Tok::Str(_) => format!("string {short}"),
            _ => format!("'{short}'"),
        }
    }

    /// "expected {what}, found {current}"; defers to the lexer's message on a bad token.
    fn unexpected(&mut self, what: &str) -> Fail {
        if let Some(f) = self.lex_error_here() {
            return f;
        }
        let msg = format!("expected {what}, found {}", self.found());
        let span = self.span();
        self.err(msg, span)
    }

    fn expect_p(&mut self, p: P, what: &str) -> PResult<Span> {
        if self.is_p(p) {
            Ok(self.bump())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn expect_kw(&mut self, kw: &str, what: &str) -> PResult<Span> {
        if self.is_kw(kw) {
            Ok(self.bump())
        } else {
            Err(self.unexpected(what))
        }
    }

    /// The closing bracket for `open`, or "expected ')' to close '(' opened at line L, column C".
    fn expect_close(&mut self, close: P, open: Span) -> PResult<Span> {
        if self.is_p(close) {
            return Ok(self.bump());
        }
        let open_text = match close {
            P::RParen => "(",
            P::RBracket => "[",
            _ => "{",
        };
        let lc = line_col(self.src, open.start as usize);
        let what = format!(
            "'{}' to close '{}' opened at line {}, column {}",
            close.text(),
            open_text,
            lc.line,
            lc.column
        );
        Err(self.unexpected(&what))
    }

    // ----- nesting limits -----------------------------------------------------------

    /// Goes one nesting level deeper, failing cleanly past [`MAX_DEPTH`] or when the
    /// parser has used [`STACK_BUDGET`] bytes of stack. Every successful `enter` is paired
    /// with a `leave`, on success and on failure.
    fn enter(&mut self) -> PResult<()> {
        if self.depth >= MAX_DEPTH
            || self.depth + self.height >= MAX_HEIGHT
            || stack_address().abs_diff(self.stack_base) > STACK_BUDGET
        {
            return Err(self.too_deep());
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Counts one more link of a left-leaning chain; the caller restores `height`.
    fn link(&mut self) -> PResult<()> {
        self.height += 1;
        if self.depth + self.height >= MAX_HEIGHT {
            return Err(self.too_deep());
        }
        Ok(())
    }

    fn too_deep(&mut self) -> Fail {
        let span = self.span();
        self.err_help(
            "the query is nested too deeply to parse",
            span,
            "split it up with `let` statements",
        )
    }

    // ----- recovery -----------------------------------------------------------------

    /// Skips to the first `;` (and `|` if `at_pipe`) at bracket depth 0, counting depth from
    /// token `from` (where the failed construct began), but never backwards: the stop token
    /// may be the current one.
    fn recover(&mut self, from: usize, at_pipe: bool) {
        let mut depth = 0usize;
        let mut i = from;
        while i < self.last() {
            let stop = match &self.toks[i].kind {
                Tok::Punct(P::LParen | P::LBracket | P::LBrace) => {
                    depth += 1;
                    false
                }
                Tok::Punct(P::RParen | P::RBracket | P::RBrace) => {
                    depth = depth.saturating_sub(1);
                    false
                }
                Tok::Punct(P::Semi) => depth == 0,
                Tok::Punct(P::Pipe) => at_pipe && depth == 0,
                _ => false,
            };
            if stop && i >= self.pos {
                break;
            }
            i += 1;
        }
        self.pos = i.max(self.pos);
    }

    // ----- statements ---------------------------------------------------------------

    fn query(&mut self) -> Query {
        let mut statements = Vec::new();
        loop {
            while self.eat_p(P::Semi) {}
            if self.is_eof() || self.full() {
                break;
            }
            let (depth, height) = (self.depth, self.height);
            self.statement(&mut statements);
            self.depth = depth;
            self.height = height;
            if self.is_eof() || self.is_p(P::Semi) {
                continue;
            }
            if !self.full() {
                let _ = self.unexpected("';' between statements");
            }
            let from = self.pos;
            self.bump();
            self.recover(from, false);
        }
        Query { statements }
    }

    /// Parses one statement, recovering inside it; pushes nothing if it had errors.
    fn statement(&mut self, out: &mut Vec<Statement>) {
        let start = self.pos;
        if self.is_kw("let") && !self.is_p_at(1, P::Pipe) {
            if let Some(s) = self.top_let() {
                out.push(Statement::Let(s));
            }
        } else if self.is_kw("set") && self.is_ident_at(1) {
            match self.set_statement() {
                Ok(s) => out.push(s),
                Err(Fail) => self.recover(start, false),
            }
        } else if self.is_kw("declare") && self.is_kw_at(1, "query_parameters") {
            match self.declare_query_parameters() {
                Ok(lets) => out.extend(lets.into_iter().map(Statement::Let)),
                Err(Fail) => self.recover(start, false),
            }
        } else if (self.is_kw("declare") && self.is_kw_at(1, "pattern"))
            || (self.is_kw("alias") && self.is_kw_at(1, "database"))
            || (self.is_kw("restrict") && self.is_kw_at(1, "access"))
        {
            out.push(Statement::Query(self.unsupported_statement()));
        } else if let Some(e) = self.pipeline_recovering() {
            out.push(Statement::Query(e));
        }
    }

    /// `declare pattern`, `alias database`, `restrict access`: kept as an unsupported source
    /// so the engine can name the statement instead of the parser rejecting it.
    fn unsupported_statement(&mut self) -> Expr {
        let first = self.bump();
        let name = match self.tok() {
            Tok::Ident(w) => format!("{} {}", &self.src[first.range()], w),
            _ => self.src[first.range()].to_string(),
        };
        let start = self.pos;
        self.recover(start, false);
        let span = self.span_from(first);
        Expr {
            kind: ExprKind::Source(Box::new(Operator {
                kind: OperatorKind::Unsupported(name),
                span,
                keyword_span: first,
                options: Vec::new(),
            })),
            span,
        }
    }

    /// A top-level `let`: errors in a tabular value recover at the next `|`.
    fn top_let(&mut self) -> Option<LetStatement> {
        let start = self.pos;
        let let_span = self.bump();
        let head: PResult<Ident> = (|| {
            let name = self.name("a name after 'let'")?;
            self.expect_p(P::Assign, "'=' after the name in 'let'")?;
            Ok(name)
        })();
        let Ok(name) = head else {
            self.recover(start, false);
            return None;
        };
        if self.is_function_start() {
            match self.function_def() {
                Ok(f) => Some(LetStatement {
                    name,
                    span: self.span_from(let_span),
                    value: LetValue::Function(f),
                }),
                Err(Fail) => {
                    self.recover(start, false);
                    None
                }
            }
        } else {
            let value = self.pipeline_recovering()?;
            Some(LetStatement {
                name,
                span: self.span_from(let_span),
                value: LetValue::Expr(value),
            })
        }
    }

    /// A `let` inside a function body (no recovery: the enclosing statement recovers).
    fn inner_let(&mut self) -> PResult<LetStatement> {
        let let_span = self.bump();
        let name = self.name("a name after 'let'")?;
        self.expect_p(P::Assign, "'=' after the name in 'let'")?;
        let value = if self.is_function_start() {
            LetValue::Function(self.function_def()?)
        } else {
            if !self.can_start_expr() {
                return Err(self.unexpected("an expression after '='"));
            }
            LetValue::Expr(self.pipe_expr()?)
        };
        Ok(LetStatement {
            name,
            value,
            span: self.span_from(let_span),
        })
    }

    /// `(` followed by `)` or `name :` — a function definition rather than a
    /// parenthesized expression — or `view (`.
    fn is_function_start(&self) -> bool {
        if self.is_kw("view") && self.is_p_at(1, P::LParen) {
            return true;
        }
        self.is_p(P::LParen)
            && (self.is_p_at(1, P::RParen)
                || (self.is_ident_at(1) && self.is_p_at(2, P::Colon))
                || (self.is_bracket_name_at(1) && self.is_p_at(4, P::Colon)))
    }

    fn function_def(&mut self) -> PResult<FunctionDef> {
        self.enter()?;
        let r = self.function_def_inner();
        self.leave();
        r
    }

    fn function_def_inner(&mut self) -> PResult<FunctionDef> {
        let start = self.span();
        let is_view = self.eat_kw("view");
        let open = self.expect_p(P::LParen, "'(' to start the parameter list")?;
        let mut params = Vec::new();
        if !self.is_p(P::RParen) {
            loop {
                params.push(self.param()?);
                if !self.eat_p(P::Comma) {
                    break;
                }
            }
        }
        self.expect_close(P::RParen, open)?;
        let lbrace = self.expect_p(P::LBrace, "'{' to start the function body")?;
        let mut lets = Vec::new();
        let body = loop {
            while self.eat_p(P::Semi) {}
            if self.is_kw("let") && self.is_name_at(1) {
                lets.push(self.inner_let()?);
                if !self.is_p(P::RBrace) {
                    self.expect_p(P::Semi, "';' after the 'let' statement")?;
                }
                continue;
            }
            if self.is_p(P::RBrace) || !self.can_start_expr() {
                return Err(self.unexpected("an expression for the function body"));
            }
            break self.pipe_expr()?;
        };
        while self.eat_p(P::Semi) {}
        self.expect_close(P::RBrace, lbrace)?;
        Ok(FunctionDef {
            params,
            lets,
            body: Box::new(body),
            is_view,
            span: self.span_from(start),
        })
    }

    fn param(&mut self) -> PResult<Param> {
        let name = self.name("a parameter name")?;
        self.expect_p(P::Colon, "':' and a type after the parameter name")?;
        let ty = if self.is_p(P::LParen) {
            let open = self.bump();
            if self.is_p(P::Star) && self.is_p_at(1, P::RParen) {
                self.bump();
                self.bump();
                ParamType::Tabular(None)
            } else {
                let cols = self.column_decls()?;
                self.expect_close(P::RParen, open)?;
                ParamType::Tabular(Some(cols))
            }
        } else {
            ParamType::Scalar(self.type_name()?.0)
        };
        let default = if self.eat_p(P::Assign) {
            Some(self.expr_after("'='")?)
        } else {
            None
        };
        Ok(Param { name, ty, default })
    }

    /// `a:int, b:string` (also `*` entries, which are skipped: the schema is open).
    fn column_decls(&mut self) -> PResult<Vec<ColumnDecl>> {
        let mut cols = Vec::new();
        loop {
            if self.is_p(P::Star) {
                self.bump();
            } else {
                let name = self.name("a column name")?;
                self.expect_p(P::Colon, "':' and a type after the column name")?;
                let ty = self.type_name()?.0;
                cols.push(ColumnDecl { name, ty });
            }
            if !self.eat_p(P::Comma) {
                return Ok(cols);
            }
        }
    }

    fn type_name(&mut self) -> PResult<(TypeName, Span)> {
        if let Tok::Ident(w) = self.tok() {
            if let Some(t) = TypeName::parse(w) {
                return Ok((t, self.bump()));
            }
            let msg = format!(
                "unknown type '{w}'; expected one of bool, int, long, real, decimal, string, datetime, timespan, guid, dynamic"
            );
            let span = self.span();
            return Err(self.err(msg, span));
        }
        Err(self.unexpected("a type name (such as string, long, datetime)"))
    }

    /// `set name [= value]`
    fn set_statement(&mut self) -> PResult<Statement> {
        let set_span = self.bump();
        let name = self.name("an option name after 'set'")?;
        let value = if self.eat_p(P::Assign) {
            Some(self.expr_after("'='")?)
        } else {
            None
        };
        Ok(Statement::Set {
            name,
            value,
            span: self.span_from(set_span),
        })
    }

    /// `declare query_parameters(a:string = "x", ...)`: each parameter becomes a `let` of
    /// its default, since this engine has no way to pass parameters in.
    fn declare_query_parameters(&mut self) -> PResult<Vec<LetStatement>> {
        self.bump();
        self.bump();
        let open = self.expect_p(P::LParen, "'(' after 'declare query_parameters'")?;
        let mut lets = Vec::new();
        if !self.is_p(P::RParen) {
            loop {
                let param = self.param()?;
                match param.default {
                    Some(value) => lets.push(LetStatement {
                        span: param.name.span.to(value.span),
                        name: param.name,
                        value: LetValue::Expr(value),
                    }),
                    None => {
                        let msg =
                            format!("query parameter '{}' has no default value", param.name.name);
                        return Err(self.err_help(
                            msg,
                            param.name.span,
                            "query parameters cannot be passed in here; give it a default, e.g. `name:string = \"x\"`",
                        ));
                    }
                }
                if !self.eat_p(P::Comma) {
                    break;
                }
            }
        }
        self.expect_close(P::RParen, open)?;
        Ok(lets)
    }

    // ----- pipelines ----------------------------------------------------------------

    /// A statement-level tabular (or scalar) expression with `|` operators, recovering at
    /// the next top-level `|` after an error. Returns None if anything failed.
    fn pipeline_recovering(&mut self) -> Option<Expr> {
        let start = self.pos;
        let mut ok = true;
        let mut input: Option<Expr> = None;
        let mut after = String::new();
        if self.is_p(P::Pipe) {
            let span = self.span();
            self.err_help(
                "A query must start with a table name (or a source such as print, range, datatable), not '|'",
                span,
                "put the table to read first, e.g. `UrlClickEvents`",
            );
            ok = false;
        } else if !self.can_start_expr() {
            let _ = self
                .unexpected("a query (a table name or a source such as print, range, datatable)");
            self.recover(start, true);
            ok = false;
        } else {
            match self.source_or_expr() {
                Ok(e) => {
                    after = self.after_text(&e);
                    input = Some(e);
                }
                Err(Fail) => {
                    ok = false;
                    self.recover(start, true);
                }
            }
        }
        let height = self.height;
        loop {
            if self.full() {
                ok = false;
                break;
            }
            if self.is_p(P::Pipe) {
                let op_start = self.pos;
                self.bump();
                let (depth, h) = (self.depth, self.height);
                match self.operator() {
                    Ok(op) => {
                        after = format!("the '{}' operator", self.op_name(&op));
                        if let Some(i) = input.take() {
                            input = Some(pipe(i, op));
                            if self.link().is_err() {
                                ok = false;
                                input = None;
                                self.recover(self.pos, true);
                            }
                        }
                    }
                    Err(Fail) => {
                        self.depth = depth;
                        self.height = h;
                        ok = false;
                        input = None;
                        self.recover(op_start, true);
                    }
                }
            } else if self.is_p(P::Semi) || self.is_eof() {
                break;
            } else {
                let what = if after.is_empty() {
                    "'|' or ';'".to_string()
                } else {
                    format!("'|' or ';' after {after}")
                };
                if self.is_p(P::RParen) || self.is_p(P::RBracket) || self.is_p(P::RBrace) {
                    let msg = format!("unmatched {}; expected {what}", self.found());
                    let span = self.span();
                    self.err(msg, span);
                } else if self.is_p(P::Assign) {
                    let msg = format!("expected {what}, found '='");
                    let span = self.span();
                    self.err_help(msg, span, "use '==' to compare values");
                } else if self.starts_line() && !matches!(self.tok(), Tok::Error(_)) {
                    let msg = format!("expected {what}, found {}", self.found());
                    let span = self.span();
                    self.err_help(
                        msg,
                        span,
                        "did you forget a ';' at the end of the previous line?",
                    );
                } else {
                    let _ = self.unexpected(&what);
                }
                ok = false;
                input = None;
                let from = self.pos;
                self.bump();
                self.recover(from, true);
            }
        }
        self.height = height;
        if ok {
            input
        } else {
            None
        }
    }

    /// Whether a line break separates the current token from the previous one.
    fn starts_line(&self) -> bool {
        let start = self.span().start as usize;
        self.src
            .get(self.prev_end().min(start)..start)
            .is_some_and(|gap| gap.contains('\n'))
    }

    /// How to name an expression in "expected '|' after ..." messages.
    fn after_text(&self, e: &Expr) -> String {
        match &e.kind {
            ExprKind::Source(op) => format!("the '{}' operator", self.op_name(op)),
            _ => {
                let text = self.src.get(e.span.range()).unwrap_or("");
                if text.len() <= 40 && !text.contains('\n') {
                    format!("'{text}'")
                } else {
                    "the expression".into()
                }
            }
        }
    }

    fn op_name(&self, op: &Operator) -> String {
        let text = self.src.get(op.keyword_span.range()).unwrap_or("operator");
        match &op.kind {
            OperatorKind::Unsupported(n) => n.clone(),
            _ => text.to_string(),
        }
    }

    /// A tabular or scalar expression with `|` operators, without recovery (inside
    /// brackets, call arguments, function bodies).
    fn pipe_expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let height = self.height;
        let r = self.pipe_expr_inner();
        self.height = height;
        self.leave();
        r
    }

    fn pipe_expr_inner(&mut self) -> PResult<Expr> {
        let e = self.source_or_expr()?;
        self.pipe_tail(e)
    }

    fn pipe_tail(&mut self, mut e: Expr) -> PResult<Expr> {
        while self.is_p(P::Pipe) {
            self.bump();
            let op = self.operator()?;
            e = pipe(e, op);
            self.link()?;
        }
        Ok(e)
    }

    /// A source operator (`print`, `range`, `datatable`, `union`, `search`, `evaluate`,
    /// and the unsupported `find`/`externaldata`) or any expression.
    fn source_or_expr(&mut self) -> PResult<Expr> {
        if self.at_source() {
            self.source_expr()
        } else {
            self.expr()
        }
    }

    fn source_expr(&mut self) -> PResult<Expr> {
        let op = self.source_operator()?;
        Ok(Expr {
            span: op.span,
            kind: ExprKind::Source(Box::new(op)),
        })
    }

    /// Whether a source operator starts here; the words stay usable as names elsewhere
    /// (`range(1, 5, 2)` is a function, `union` after `(` ... `,` is a column).
    fn at_source(&self) -> bool {
        let Tok::Ident(w) = self.tok() else {
            return false;
        };
        let next_is_name = self.is_ident_at(1) || self.is_bracket_name_at(1);
        match w.as_str() {
            "print" => true,
            "range" => next_is_name,
            "datatable" => self.is_p_at(1, P::LParen),
            "union" | "search" => {
                !matches!(
                    self.tok_at(1),
                    Tok::Punct(P::RParen | P::Comma | P::Dot | P::EqEq | P::Semi | P::Pipe)
                ) && !self.is_eof_at(1)
            }
            "evaluate" => self.is_ident_at(1),
            "externaldata" => self.is_p_at(1, P::LParen) || self.is_ident_at(1),
            "find" => {
                matches!(self.tok_at(1), Tok::Str(_))
                    || self.is_kw_at(1, "in")
                    || self.is_kw_at(1, "where")
                    || self.is_kw_at(1, "withsource")
                    || self.is_kw_at(1, "kind")
            }
            _ => false,
        }
    }

    fn is_eof_at(&self, n: usize) -> bool {
        matches!(self.tok_at(n), Tok::Eof)
    }
}

fn pipe(input: Expr, op: Operator) -> Expr {
    let span = input.span.to(op.span);
    Expr {
        kind: ExprKind::Pipe {
            input: Box::new(input),
            op: Box::new(op),
        },
        span,
    }
}

/// Levenshtein distance, for "did you mean" suggestions (short words only).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate within a third of the word's length (at least 1, case-insensitive).
fn suggest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    if word.chars().count() > 40 {
        return None;
    }
    let lower = word.to_lowercase();
    let limit = (lower.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(&lower, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
