//! Tabular operators (after `|`) and source operators (`print`, `range`, `datatable`,
//! `union`, `search`, `evaluate`, and unsupported ones that start a query).
//!
//! Operator names are words joined by adjacent hyphens (`project-away`), recognised only
//! here, so `a-b` stays a subtraction everywhere else. Keywords inside operators (`by`,
//! `on`, `with`, `to`, ...) are matched by position, so they remain usable as column names.

use super::*;

type OpHandler<'a> = fn(&mut Parser<'a>, &str, Span, &mut Vec<OpOption>) -> PResult<OperatorKind>;

impl<'a> Parser<'a> {
    /// The operator name at the current token (`mv-expand` is three tokens) and its token
    /// count, without consuming it.
    fn peek_operator_name(&self) -> Option<(String, usize)> {
        let Tok::Ident(w) = self.tok() else {
            return None;
        };
        let mut name = w.clone();
        let mut n = 1;
        while self.is_p_at(n, P::Minus) && self.adjacent(n - 1) && self.adjacent(n) {
            match self.tok_at(n + 1) {
                Tok::Ident(part) => {
                    name.push('-');
                    name.push_str(part);
                    n += 2;
                }
                _ => break,
            }
        }
        Some((name, n))
    }

    fn operator_name(&mut self) -> Option<(String, Span)> {
        let (name, n) = self.peek_operator_name()?;
        let start = self.span();
        for _ in 0..n {
            self.bump();
        }
        Some((name, self.span_from(start)))
    }

    /// An operator after `|` (the `|` is already consumed).
    pub(super) fn operator(&mut self) -> PResult<Operator> {
        let Some((name, kw)) = self.operator_name() else {
            return Err(self.missing_operator());
        };
        let Some(handler) = Self::operator_handler(&name) else {
            return Err(self.unknown_operator(&name, kw));
        };
        let mut options = Vec::new();
        let kind = handler(self, &name, kw, &mut options)?;
        Ok(Operator {
            kind,
            span: self.span_from(kw),
            keyword_span: kw,
            options,
        })
    }

    /// The parser for an operator's arguments. A table of functions rather than one big
    /// `match` keeps each stack frame small, which matters for nested subqueries in debug
    /// builds.
    fn operator_handler(name: &str) -> Option<OpHandler<'a>> {
        Some(match name {
            "where" | "filter" => Self::op_where,
            "extend" => Self::op_extend,
            "project" => Self::op_project,
            "project-away" | "project-keep" => Self::op_project_away_keep,
            "project-rename" => Self::op_project_rename,
            "project-reorder" => Self::op_project_reorder,
            "summarize" => Self::op_summarize,
            "sort" | "order" => Self::op_sort,
            "top" => Self::op_top,
            "take" | "limit" => Self::op_take,
            "distinct" => Self::op_distinct,
            "count" => Self::op_count,
            "join" | "lookup" => Self::op_join,
            "union" => Self::op_union,
            "mv-expand" | "mvexpand" => Self::op_mv_expand,
            "mv-apply" | "mvapply" => Self::op_mv_apply,
            "parse" | "parse-where" => Self::op_parse,
            "render" => Self::op_render,
            "make-series" => Self::op_make_series,
            "evaluate" => Self::op_evaluate,
            "serialize" => Self::op_serialize,
            "getschema" => Self::op_getschema,
            "as" => Self::op_as,
            "invoke" => Self::op_invoke,
            "search" => Self::op_search,
            "sample" => Self::op_sample,
            "top-nested" => Self::op_top_nested,
            "print" | "range" | "datatable" => Self::op_source_after_pipe,
            n if UNSUPPORTED_OPERATORS.contains(&n) => Self::op_unsupported,
            _ => return None,
        })
    }

    fn op_where(&mut self, name: &str, _: Span, _: &mut Vec<OpOption>) -> PResult<OperatorKind> {
        Ok(OperatorKind::Where(self.expr_after(&format!("'{name}'"))?))
    }

    fn op_extend(&mut self, _: &str, _: Span, _: &mut Vec<OpOption>) -> PResult<OperatorKind> {
        Ok(OperatorKind::Extend(self.named_exprs("'extend'")?))
    }

    fn op_project(&mut self, _: &str, _: Span, _: &mut Vec<OpOption>) -> PResult<OperatorKind> {
        Ok(OperatorKind::Project(self.named_exprs("'project'")?))
    }

    fn op_project_away_keep(
        &mut self,
        name: &str,
        _: Span,
        _: &mut Vec<OpOption>,
    ) -> PResult<OperatorKind> {
        let patterns = self.column_patterns(name)?;
        Ok(if name == "project-away" {
            OperatorKind::ProjectAway(patterns)
        } else {
            OperatorKind::ProjectKeep(patterns)
        })
    }

    fn op_project_rename(
        &mut self,
        _: &str,
        _: Span,
        _: &mut Vec<OpOption>,
    ) -> PResult<OperatorKind> {
        Ok(OperatorKind::ProjectRename(self.project_rename()?))
    }

    fn op_project_reorder(
        &mut self,
        _: &str,
        _: Span,
        _: &mut Vec<OpOption>,
    ) -> PResult<OperatorKind> {
        Ok(OperatorKind::ProjectReorder(self.project_reorder()?))
    }

    fn op_summarize(
        &mut self,
        _: &str,
        _: Span,
        options: &mut Vec<OpOption>,
    ) -> PResult<OperatorKind> {
        *options = self.options(&[])?;
        self.summarize()
    }

    fn op_sort(
        &mut self,
        name: &str,
        _: Span,
        options: &mut Vec<OpOption>,
    ) -> PResult<OperatorKind> {
        *options = self.options(&[])?;
        self.expect_kw("by", &format!("'by' after '{name}'"))?;
        Ok(OperatorKind::Sort(self.sort_keys()?))
    }

    fn op_top(&mut self, _: &str, _: Span, options: &mut Vec<OpOption>) -> PResult<OperatorKind> {
        *options = self.options(&[])?;
        let count = self.expr_after("'top'")?;
        self.expect_kw("by", "'by' after the count in 'top'")?;
        Ok(OperatorKind::Top {
            count,
            by: self.sort_keys()?,
        })
    }

    fn op_take(
        &mut self,
        name: &str,
        _: Span,
        options: &mut Vec<OpOption>,
    ) -> PResult<OperatorKind> {
        *options = self.options(&[])?;
        Ok(OperatorKind::Take(self.expr_after(&format!("'{name}'"))?))
    }

    fn op_distinct(
        &mut self,
        _: &str,
        _: Span,
        options: &mut Vec<OpOption>,
    ) -> PResult<OperatorKind> {
        *options = self.options(&[])?;
        Ok(OperatorKind::Distinct(self.named_exprs("'distinct'")?))
    }

    fn op_count(&mut self, _: &str, _: Span, _: &mut Vec<OpOption>) -> PResult<OperatorKind> {
        Ok(OperatorKind::Count)
    }

    fn op_join(
        &mut self,
        name: &str,
        _: Span,
        options: &mut Vec<OpOption>,
    ) -> PResult<OperatorKind> {
        *options = self.options(&["kind", "withsource"])?;
        let right = Box::new(self.join_right(name)?);
        self.expect_kw(
            "on",
            &format!("'on' and the join keys after the right side of '{name}'"),
        )?;
        let on = self.join_keys()?;
        Ok(if name == "join" {
            OperatorKind::Join { right, on }
        } else {
            OperatorKind::Lookup { right, on }
        })
    }

    fn op_union(&mut self, _: &str, _: Span, options: &mut Vec<OpOption>) -> PResult<OperatorKind> {
        *options = self.options(&["kind", "withsource", "isfuzzy"])?;
        Ok(OperatorKind::Union(self.union_legs()?))
    }

    /// `limit N` after `mv-expand`/`mv-apply` items, kept as a `limit` option.
    fn mv_limit(&mut self, options: &mut Vec<OpOption>) -> PResult<()> {
        if self.is_kw("limit") {
            let span = self.bump();
            let value = self.expr_after("'limit'")?;
            options.push(OpOption {
                name: Ident {
                    name: "limit".into(),
                    span,
                },
                value,
            });
        }
        Ok(())
    }

    fn op_mv_expand(
        &mut self,
        name: &str,
        _: Span,
        options: &mut Vec<OpOption>,
    ) -> PResult<OperatorKind> {
        *options = self.options(&["bagexpansion", "with_itemindex", "kind"])?;
        let items = self.mv_items(name)?;
        self.mv_limit(options)?;
        Ok(OperatorKind::MvExpand(items))
    }

    fn op_mv_apply(
        &mut self,
        name: &str,
        _: Span,
        options: &mut Vec<OpOption>,
    ) -> PResult<OperatorKind> {
        *options = self.options(&["bagexpansion", "with_itemindex", "kind"])?;
        let items = self.mv_items(name)?;
        self.mv_limit(options)?;
        self.expect_kw(
            "on",
            "'on' and a subquery in parentheses after the 'mv-apply' items",
        )?;
        let open = self.expect_p(P::LParen, "'(' and a subquery after 'on'")?;
        let on = self.implicit_subquery()?;
        self.expect_close(P::RParen, open)?;
        Ok(OperatorKind::MvApply {
            items,
            on: Box::new(on),
        })
    }

    fn op_parse(
        &mut self,
        name: &str,
        _: Span,
        options: &mut Vec<OpOption>,
    ) -> PResult<OperatorKind> {
        *options = self.options(&["kind", "flags"])?;
        let source = self.expr_after(&format!("'{name}'"))?;
        self.expect_kw("with", "'with' and a pattern after the expression to parse")?;
        Ok(OperatorKind::Parse {
            source,
            pattern: self.parse_pattern()?,
            filter: name == "parse-where",
        })
    }

    fn op_render(&mut self, _: &str, _: Span, _: &mut Vec<OpOption>) -> PResult<OperatorKind> {
        self.render()
    }

    fn op_make_series(
        &mut self,
        _: &str,
        _: Span,
        options: &mut Vec<OpOption>,
    ) -> PResult<OperatorKind> {
        *options = self.options(&["kind"])?;
        self.make_series()
    }

    fn op_evaluate(
        &mut self,
        _: &str,
        _: Span,
        options: &mut Vec<OpOption>,
    ) -> PResult<OperatorKind> {
        *options = self.options(&[])?;
        self.evaluate()
    }

    fn op_serialize(&mut self, _: &str, _: Span, _: &mut Vec<OpOption>) -> PResult<OperatorKind> {
        let cols = if self.can_start_expr() {
            self.named_exprs("'serialize'")?
        } else {
            Vec::new()
        };
        Ok(OperatorKind::Serialize(cols))
    }

    fn op_getschema(&mut self, _: &str, _: Span, _: &mut Vec<OpOption>) -> PResult<OperatorKind> {
        Ok(OperatorKind::GetSchema)
    }

    fn op_as(&mut self, _: &str, _: Span, options: &mut Vec<OpOption>) -> PResult<OperatorKind> {
        *options = self.options(&[])?;
        Ok(OperatorKind::As(self.name("a name after 'as'")?))
    }

    fn op_invoke(&mut self, _: &str, _: Span, _: &mut Vec<OpOption>) -> PResult<OperatorKind> {
        let function = self.name("a function name after 'invoke'")?;
        let open = self.expect_p(P::LParen, "'(' after the function name")?;
        Ok(OperatorKind::Invoke {
            function,
            args: self.call_args(open)?,
        })
    }

    fn op_search(
        &mut self,
        _: &str,
        _: Span,
        options: &mut Vec<OpOption>,
    ) -> PResult<OperatorKind> {
        *options = self.options(&["kind"])?;
        self.search()
    }

    fn op_sample(&mut self, _: &str, _: Span, _: &mut Vec<OpOption>) -> PResult<OperatorKind> {
        Ok(OperatorKind::Sample(self.expr_after("'sample'")?))
    }

    fn op_top_nested(&mut self, _: &str, _: Span, _: &mut Vec<OpOption>) -> PResult<OperatorKind> {
        self.top_nested()
    }

    fn op_source_after_pipe(
        &mut self,
        name: &str,
        kw: Span,
        _: &mut Vec<OpOption>,
    ) -> PResult<OperatorKind> {
        let msg = format!("'{name}' starts a query; it cannot follow '|'");
        Err(self.err_help(
            msg,
            kw,
            format!(
                "start a new statement with '{name}', or use it inside union (...) or join (...)"
            ),
        ))
    }

    fn op_unsupported(
        &mut self,
        name: &str,
        _: Span,
        _: &mut Vec<OpOption>,
    ) -> PResult<OperatorKind> {
        self.skip_unsupported(name)
    }

    /// No operator name after `|`; `||` gets a hint, since it usually means `or`.
    fn missing_operator(&mut self) -> Fail {
        const WHAT: &str = "an operator after '|' (such as where, extend, project, summarize)";
        let double_bar = self.is_p(P::Pipe)
            && self.pos > 0
            && matches!(self.toks[self.pos - 1].kind, Tok::Punct(P::Pipe))
            && self.toks[self.pos - 1].span.end == self.span().start;
        if double_bar {
            let msg = format!("expected {WHAT}, found '|'");
            // Consumed, so that recovery does not read what follows as an operator.
            let span = self.bump();
            return self.err_help(
                msg,
                span,
                "use 'or' to combine conditions; '|' passes rows to the next operator",
            );
        }
        self.unexpected(WHAT)
    }

    fn unknown_operator(&mut self, name: &str, span: Span) -> Fail {
        let msg = format!("unknown operator '{name}' after '|'");
        let candidates: Vec<&str> = OPERATORS
            .iter()
            .chain(UNSUPPORTED_OPERATORS.iter())
            .copied()
            .collect();
        match suggest(name, &candidates) {
            Some(s) => self.err_help(msg, span, format!("did you mean '{s}'?")),
            None => self.err_help(
                msg,
                span,
                "expected an operator such as where, extend, project, summarize, join, sort, take",
            ),
        }
    }

    /// A source operator at the start of a tabular expression.
    pub(super) fn source_operator(&mut self) -> PResult<Operator> {
        let Some((name, kw)) = self.operator_name() else {
            return Err(self.unexpected("a table name or a source such as print, range, datatable"));
        };
        let mut options = Vec::new();
        let kind = match name.as_str() {
            "print" => {
                let cols = if self.can_start_expr() {
                    self.named_exprs("'print'")?
                } else {
                    Vec::new()
                };
                OperatorKind::Print(cols)
            }
            "range" => self.range()?,
            "datatable" => self.datatable()?,
            "union" => {
                options = self.options(&["kind", "withsource", "isfuzzy"])?;
                OperatorKind::Union(self.union_legs()?)
            }
            "search" => {
                options = self.options(&["kind"])?;
                self.search()?
            }
            "evaluate" => {
                options = self.options(&[])?;
                self.evaluate()?
            }
            other => self.skip_unsupported(other)?,
        };
        Ok(Operator {
            kind,
            span: self.span_from(kw),
            keyword_span: kw,
            options,
        })
    }

    /// Skips an unsupported operator's arguments: balanced brackets up to the next
    /// top-level `|` or `;` (or a closing bracket that belongs to an enclosing construct).
    fn skip_unsupported(&mut self, name: &str) -> PResult<OperatorKind> {
        let mut depth = 0usize;
        loop {
            match self.tok() {
                Tok::Eof => break,
                Tok::Punct(P::Pipe | P::Semi) if depth == 0 => break,
                Tok::Punct(P::RParen | P::RBracket | P::RBrace) if depth == 0 => break,
                Tok::Punct(P::LParen | P::LBracket | P::LBrace) => depth += 1,
                Tok::Punct(P::RParen | P::RBracket | P::RBrace) => depth -= 1,
                Tok::Error(_) => {
                    let f = self.lex_error_here();
                    return Err(f.unwrap_or(Fail));
                }
                _ => {}
            }
            self.bump();
        }
        Ok(OperatorKind::Unsupported(name.to_string()))
    }

    /// `name=value` options before an operator's arguments: the listed names and any
    /// `hint.*` name.
    fn options(&mut self, allowed: &[&str]) -> PResult<Vec<OpOption>> {
        let mut out = Vec::new();
        while let Some((name, n)) = self.peek_option(allowed) {
            let start = self.span();
            for _ in 0..n {
                self.bump();
            }
            let name_span = self.span_from(start);
            self.bump(); // =
            let value = self.option_value(&name)?;
            out.push(OpOption {
                name: Ident {
                    name,
                    span: name_span,
                },
                value,
            });
        }
        Ok(out)
    }

    fn peek_option(&self, allowed: &[&str]) -> Option<(String, usize)> {
        let Tok::Ident(first) = self.tok() else {
            return None;
        };
        let mut name = first.clone();
        let mut n = 1;
        while self.is_p_at(n, P::Dot) {
            match self.tok_at(n + 1) {
                Tok::Ident(w) => {
                    name.push('.');
                    name.push_str(w);
                    n += 2;
                }
                _ => return None,
            }
        }
        if !self.is_p_at(n, P::Assign) {
            return None;
        }
        (allowed.contains(&name.as_str()) || name.starts_with("hint.")).then_some((name, n))
    }

    /// An option value: a word (`inner`, `shuffle`, `Ui`) is a name, never a call.
    fn option_value(&mut self, option: &str) -> PResult<Expr> {
        match self.tok() {
            Tok::Ident(w) => {
                let kind = match w.as_str() {
                    "true" | "True" | "TRUE" => ExprKind::Literal(Literal::Bool(true)),
                    "false" | "False" | "FALSE" => ExprKind::Literal(Literal::Bool(false)),
                    _ => ExprKind::Name(Ident {
                        name: w.clone(),
                        span: self.span(),
                    }),
                };
                let span = self.bump();
                Ok(Expr { kind, span })
            }
            _ if self.is_bracket_name_at(0) => {
                let name = self.name("a value")?;
                Ok(Expr {
                    span: name.span,
                    kind: ExprKind::Name(name),
                })
            }
            Tok::Str(_)
            | Tok::Long(_)
            | Tok::Real(_)
            | Tok::TimeSpan(_)
            | Tok::Goo { .. }
            | Tok::Guid(_)
            | Tok::Punct(P::Minus | P::Plus) => self.expr(),
            _ => Err(self.unexpected(&format!("a value for '{option}'"))),
        }
    }

    /// `expr`, `Name = expr` or `(A, B) = expr`, comma-separated.
    fn named_exprs(&mut self, what: &str) -> PResult<Vec<NamedExpr>> {
        let mut out = vec![self.named_expr(what)?];
        while self.eat_p(P::Comma) {
            out.push(self.named_expr("','")?);
        }
        Ok(out)
    }

    fn named_expr(&mut self, what: &str) -> PResult<NamedExpr> {
        let start = self.span();
        let mut names = Vec::new();
        let name_len = if self.is_ident_at(0) {
            1
        } else if self.is_bracket_name_at(0) {
            3
        } else {
            0
        };
        let expr = if name_len > 0 && self.is_p_at(name_len, P::Assign) {
            names.push(self.name("a column name")?);
            self.bump();
            self.expr_after("'='")?
        } else if self.tuple_names_len().is_some() {
            let open = self.bump();
            loop {
                names.push(self.name("a column name")?);
                if !self.eat_p(P::Comma) {
                    break;
                }
            }
            self.expect_close(P::RParen, open)?;
            self.bump(); // =
            self.expr_after("'='")?
        } else {
            self.expr_after(what)?
        };
        Ok(NamedExpr {
            names,
            span: self.span_from(start),
            expr,
        })
    }

    /// `(A, B) =` at the current token: the number of tokens before `=`.
    fn tuple_names_len(&self) -> Option<usize> {
        if !self.is_p(P::LParen) {
            return None;
        }
        let mut i = 1;
        loop {
            if self.is_ident_at(i) {
                i += 1;
            } else if self.is_bracket_name_at(i) {
                i += 3;
            } else {
                return None;
            }
            if self.is_p_at(i, P::Comma) {
                i += 1;
                continue;
            }
            if self.is_p_at(i, P::RParen) && self.is_p_at(i + 1, P::Assign) {
                return Some(i + 1);
            }
            return None;
        }
    }

    fn summarize(&mut self) -> PResult<OperatorKind> {
        let mut aggregates = Vec::new();
        if !self.is_kw("by") {
            if !self.can_start_expr() {
                return Err(self.unexpected("an aggregation or 'by' after 'summarize'"));
            }
            aggregates = self.named_exprs("'summarize'")?;
        }
        let by = if self.eat_kw("by") {
            self.named_exprs("'by'")?
        } else {
            Vec::new()
        };
        Ok(OperatorKind::Summarize { aggregates, by })
    }

    /// `expr [asc|desc] [nulls first|last], ...`
    fn sort_keys(&mut self) -> PResult<Vec<SortKey>> {
        let mut keys = Vec::new();
        loop {
            let what = if keys.is_empty() { "'by'" } else { "','" };
            let expr = self.expr_after(what)?;
            let descending = if self.eat_kw("asc") {
                Some(false)
            } else if self.eat_kw("desc") {
                Some(true)
            } else {
                None
            };
            let nulls_first = if self.eat_kw("nulls") {
                if self.eat_kw("first") {
                    Some(true)
                } else if self.eat_kw("last") {
                    Some(false)
                } else {
                    return Err(self.unexpected("'first' or 'last' after 'nulls'"));
                }
            } else {
                None
            };
            keys.push(SortKey {
                expr,
                descending,
                nulls_first,
            });
            if !self.eat_p(P::Comma) {
                return Ok(keys);
            }
        }
    }

    /// The right side of `join`/`lookup`: `(pipeline)`, a name, or a call.
    fn join_right(&mut self, op: &str) -> PResult<Expr> {
        if !self.can_start_expr() || self.is_p(P::Minus) || self.is_p(P::Plus) {
            return Err(self.unexpected(&format!("a table or '(' after '{op}'")));
        }
        let e = self.primary_for_table()?;
        Ok(e)
    }

    /// A name, call or parenthesized pipeline with member/index access, but no operators.
    fn primary_for_table(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = match self.primary() {
            Ok(e) => self.postfix(e),
            Err(f) => Err(f),
        };
        self.leave();
        r
    }

    /// `on` keys: expressions separated by `,`; top-level `and` also separates keys
    /// (`$left.a == $right.b and $left.c == $right.d` gives two keys).
    fn join_keys(&mut self) -> PResult<Vec<Expr>> {
        let mut keys = Vec::new();
        loop {
            let what = if keys.is_empty() { "'on'" } else { "','" };
            let e = self.expr_after(what)?;
            let mut stack = vec![e];
            let mut flat = Vec::new();
            while let Some(e) = stack.pop() {
                match e.kind {
                    ExprKind::Binary {
                        op: BinaryOp::And,
                        left,
                        right,
                    } => {
                        stack.push(*right);
                        stack.push(*left);
                    }
                    kind => flat.push(Expr { kind, span: e.span }),
                }
            }
            keys.extend(flat);
            if !self.eat_p(P::Comma) {
                return Ok(keys);
            }
        }
    }

    /// `union` legs: `T`, `Device*` (a name pattern), `(pipeline)`, `view()`.
    fn union_legs(&mut self) -> PResult<Vec<Expr>> {
        let mut legs = Vec::new();
        loop {
            if let Some(pattern) = self.wildcard_pattern() {
                legs.push(Expr {
                    span: pattern.span,
                    kind: ExprKind::Name(Ident {
                        name: pattern.pattern,
                        span: pattern.span,
                    }),
                });
            } else if self.can_start_expr() && !self.is_p(P::Minus) && !self.is_p(P::Plus) {
                legs.push(self.primary_for_table()?);
            } else {
                let what = if legs.is_empty() {
                    "a table after 'union'"
                } else {
                    "a table after ','"
                };
                return Err(self.unexpected(what));
            }
            if !self.eat_p(P::Comma) {
                return Ok(legs);
            }
        }
    }

    /// A run of touching identifier/`*`/digit tokens containing a `*`: `Device*`, `*Id`.
    fn wildcard_pattern(&mut self) -> Option<ColumnPattern> {
        let n = self.pattern_run_len();
        let has_star = (0..n).any(|i| self.is_p_at(i, P::Star));
        if n == 0 || !has_star {
            return None;
        }
        Some(self.take_pattern_run(n))
    }

    fn pattern_run_len(&self) -> usize {
        let mut n = 0;
        loop {
            match self.tok_at(n) {
                Tok::Ident(_) | Tok::Punct(P::Star) => {}
                Tok::Long(_) if n > 0 => {}
                _ => return n,
            }
            n += 1;
            if !self.adjacent(n - 1) {
                return n;
            }
        }
    }

    fn take_pattern_run(&mut self, n: usize) -> ColumnPattern {
        let start = self.span();
        for _ in 0..n {
            self.bump();
        }
        let span = self.span_from(start);
        ColumnPattern {
            pattern: self.src.get(span.range()).unwrap_or("").to_string(),
            span,
        }
    }

    fn column_pattern(&mut self, op: &str) -> PResult<ColumnPattern> {
        if self.is_bracket_name_at(0) {
            let name = self.name("a column name")?;
            return Ok(ColumnPattern {
                pattern: name.name,
                span: name.span,
            });
        }
        let n = self.pattern_run_len();
        if n == 0 {
            return Err(self.unexpected(&format!("a column name or pattern after '{op}'")));
        }
        Ok(self.take_pattern_run(n))
    }

    fn column_patterns(&mut self, op: &str) -> PResult<Vec<ColumnPattern>> {
        let mut out = vec![self.column_pattern(op)?];
        while self.eat_p(P::Comma) {
            out.push(self.column_pattern(op)?);
        }
        Ok(out)
    }

    fn project_rename(&mut self) -> PResult<Vec<(Ident, Ident)>> {
        let mut out = Vec::new();
        loop {
            let new = self.name("a new column name after 'project-rename'")?;
            self.expect_p(P::Assign, "'=' after the new name in 'project-rename'")?;
            let old = self.name("the existing column name after '='")?;
            out.push((new, old));
            if !self.eat_p(P::Comma) {
                return Ok(out);
            }
        }
    }

    fn project_reorder(&mut self) -> PResult<Vec<(ColumnPattern, Option<String>)>> {
        let mut out = Vec::new();
        loop {
            let pattern = self.column_pattern("project-reorder")?;
            let order = if self.is_kw("asc") || self.is_kw("desc") {
                let w = self.src[self.span().range()].to_string();
                self.bump();
                Some(w)
            } else if self.is_kw("granny")
                && self.is_p_at(1, P::Minus)
                && self.adjacent(0)
                && self.adjacent(1)
                && (self.is_kw_at(2, "asc") || self.is_kw_at(2, "desc"))
            {
                let start = self.span();
                self.bump();
                self.bump();
                self.bump();
                Some(self.src[self.span_from(start).range()].to_string())
            } else {
                None
            };
            out.push((pattern, order));
            if !self.eat_p(P::Comma) {
                return Ok(out);
            }
        }
    }

    /// `mv-expand`/`mv-apply` items: `[Name =] expr [to typeof(type)]`, comma-separated.
    fn mv_items(&mut self, op: &str) -> PResult<Vec<MvExpandItem>> {
        let mut items = Vec::new();
        loop {
            let name_len = if self.is_ident_at(0) {
                1
            } else if self.is_bracket_name_at(0) {
                3
            } else {
                0
            };
            let name = if name_len > 0 && self.is_p_at(name_len, P::Assign) {
                let n = self.name("a column name")?;
                self.bump();
                Some(n)
            } else {
                None
            };
            let what = if name.is_some() {
                "'='".to_string()
            } else if items.is_empty() {
                format!("'{op}'")
            } else {
                "','".to_string()
            };
            let expr = self.expr_after(&what)?;
            let to_type = if self.is_kw("to") && self.is_kw_at(1, "typeof") {
                self.bump();
                self.bump();
                let open = self.expect_p(P::LParen, "'(' after 'typeof'")?;
                let ty = self.type_name()?.0;
                self.expect_close(P::RParen, open)?;
                Some(ty)
            } else {
                None
            };
            items.push(MvExpandItem {
                name,
                expr,
                to_type,
            });
            if !self.eat_p(P::Comma) {
                return Ok(items);
            }
        }
    }

    /// The `mv-apply ... on (...)` subquery: operators applied to the per-row table, which
    /// is written as the name `$input` (see [`OperatorKind::MvApply`]).
    fn implicit_subquery(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.implicit_subquery_inner();
        self.leave();
        r
    }

    fn implicit_subquery_inner(&mut self) -> PResult<Expr> {
        let known = self.peek_operator_name().is_some_and(|(n, _)| {
            OPERATORS.contains(&n.as_str()) || UNSUPPORTED_OPERATORS.contains(&n.as_str())
        });
        let leading_pipe = self.is_p(P::Pipe);
        if !known && !leading_pipe {
            if !self.can_start_expr() {
                return Err(self.unexpected(
                    "an operator such as 'where', 'summarize' or 'top' in the 'mv-apply' subquery",
                ));
            }
            return self.pipe_expr();
        }
        if leading_pipe {
            self.bump();
        }
        let at = self.span().start as usize;
        let mut e = Expr {
            kind: ExprKind::Name(Ident {
                name: "$input".into(),
                span: Span::new(at, at),
            }),
            span: Span::new(at, at),
        };
        let height = self.height;
        let r = loop {
            let op = match self.operator() {
                Ok(op) => op,
                Err(f) => break Err(f),
            };
            e = pipe(e, op);
            if let Err(f) = self.link() {
                break Err(f);
            }
            if !self.eat_p(P::Pipe) {
                break Ok(e);
            }
        };
        self.height = height;
        r
    }

    /// `parse` patterns: string literals, `*`, and `Name[:type]`.
    fn parse_pattern(&mut self) -> PResult<Vec<ParsePart>> {
        let mut parts = Vec::new();
        loop {
            match self.tok() {
                Tok::Str(_) => parts.push(ParsePart::Literal(self.strings().0)),
                Tok::Punct(P::Star) => {
                    self.bump();
                    parts.push(ParsePart::Wildcard);
                }
                _ if self.is_name_at(0) => {
                    let name = self.name("a column name")?;
                    let ty = if self.eat_p(P::Colon) {
                        Some(self.type_name()?.0)
                    } else {
                        None
                    };
                    parts.push(ParsePart::Column { name, ty });
                }
                Tok::Punct(P::Pipe | P::Semi | P::RParen | P::RBrace) | Tok::Eof
                    if !parts.is_empty() =>
                {
                    return Ok(parts);
                }
                _ => {
                    let what = if parts.is_empty() {
                        "a pattern after 'with' (strings, '*' and column names)"
                    } else {
                        "a string, '*' or a column name in the pattern"
                    };
                    return Err(self.unexpected(what));
                }
            }
        }
    }

    /// `render chart [with (name = value, ...)]`; also the legacy form without `with`.
    fn render(&mut self) -> PResult<OperatorKind> {
        let chart = self
            .name("a chart type after 'render' (such as timechart, barchart, piechart, table)")?;
        let mut properties = Vec::new();
        if self.eat_kw("with") {
            if self.is_p(P::LParen) {
                let open = self.bump();
                if !self.is_p(P::RParen) {
                    self.render_properties(&mut properties)?;
                }
                self.expect_close(P::RParen, open)?;
            } else {
                self.render_properties(&mut properties)?;
            }
        } else if self.is_ident_at(0) && self.is_p_at(1, P::Assign) {
            self.render_properties(&mut properties)?;
        }
        Ok(OperatorKind::Render { chart, properties })
    }

    /// Properties separated by commas (or spaces, in the legacy form). A list value such as
    /// `ycolumns=a, b` gives one property per column, in order, all named `ycolumns`.
    fn render_properties(&mut self, out: &mut Vec<OpOption>) -> PResult<()> {
        loop {
            let name = self.name("a property name such as title or kind")?;
            self.expect_p(P::Assign, "'=' after the property name")?;
            let value = self.option_value(&name.name)?;
            out.push(OpOption {
                name: name.clone(),
                value,
            });
            loop {
                if self.is_ident_at(0) && self.is_p_at(1, P::Assign) {
                    break;
                }
                if !self.is_p(P::Comma) {
                    return Ok(());
                }
                let name_len = if self.is_ident_at(1) {
                    1
                } else if self.is_bracket_name_at(1) {
                    3
                } else {
                    0
                };
                if name_len > 0 && !self.is_p_at(1 + name_len, P::Assign) {
                    self.bump();
                    let value = self.option_value(&name.name)?;
                    out.push(OpOption {
                        name: name.clone(),
                        value,
                    });
                } else {
                    self.bump();
                    break;
                }
            }
        }
    }

    fn make_series(&mut self) -> PResult<OperatorKind> {
        let mut aggregates = Vec::new();
        loop {
            let name_len = if self.is_ident_at(0) {
                1
            } else if self.is_bracket_name_at(0) {
                3
            } else {
                0
            };
            let name = if name_len > 0 && self.is_p_at(name_len, P::Assign) {
                let n = self.name("a column name")?;
                self.bump();
                Some(n)
            } else {
                None
            };
            let what = if name.is_some() {
                "'='"
            } else if aggregates.is_empty() {
                "'make-series'"
            } else {
                "','"
            };
            let expr = self.expr_after(what)?;
            let default = if self.is_kw("default") && self.is_p_at(1, P::Assign) {
                self.bump();
                self.bump();
                Some(self.expr_after("'default ='")?)
            } else {
                None
            };
            aggregates.push(MakeSeriesAgg {
                name,
                expr,
                default,
            });
            if !self.eat_p(P::Comma) {
                break;
            }
        }
        self.expect_kw(
            "on",
            "'on' and the axis column after the 'make-series' aggregations",
        )?;
        if !self.can_start_expr() {
            return Err(self.unexpected("the axis column after 'on'"));
        }
        let on = self.additive_expr()?;
        let (from, to, step);
        if self.is_kw("in") && self.is_kw_at(1, "range") {
            self.bump();
            self.bump();
            let open = self.expect_p(P::LParen, "'(' after 'in range'")?;
            from = Some(self.expr_after("'range('")?);
            self.expect_p(P::Comma, "',' after the start of the range")?;
            to = Some(self.expr_after("','")?);
            self.expect_p(P::Comma, "',' after the end of the range")?;
            step = self.expr_after("','")?;
            self.expect_close(P::RParen, open)?;
        } else {
            from = if self.eat_kw("from") {
                Some(self.expr_after("'from'")?)
            } else {
                None
            };
            to = if self.eat_kw("to") {
                Some(self.expr_after("'to'")?)
            } else {
                None
            };
            self.expect_kw("step", "'step' and the bin size in 'make-series'")?;
            step = self.expr_after("'step'")?;
        }
        let by = if self.eat_kw("by") {
            self.named_exprs("'by'")?
        } else {
            Vec::new()
        };
        Ok(OperatorKind::MakeSeries {
            aggregates,
            on,
            from,
            to,
            step,
            by,
        })
    }

    fn evaluate(&mut self) -> PResult<OperatorKind> {
        let plugin = self.name("a plugin name after 'evaluate'")?;
        let open = self.expect_p(P::LParen, "'(' after the plugin name")?;
        let args = self.call_args(open)?;
        Ok(OperatorKind::Evaluate { plugin, args })
    }

    /// `search [in (T1, T2)] predicate`
    fn search(&mut self) -> PResult<OperatorKind> {
        let mut tables = Vec::new();
        if self.is_kw("in") && self.is_p_at(1, P::LParen) {
            self.bump();
            let open = self.bump();
            loop {
                let p = self.column_pattern("search in (")?;
                tables.push(Ident {
                    name: p.pattern,
                    span: p.span,
                });
                if !self.eat_p(P::Comma) {
                    break;
                }
            }
            self.expect_close(P::RParen, open)?;
        }
        let predicate = self.expr_after("'search'")?;
        Ok(OperatorKind::Search { tables, predicate })
    }

    /// `top-nested [N] of Expr [with others = Expr] by Agg [asc|desc], top-nested ...`
    fn top_nested(&mut self) -> PResult<OperatorKind> {
        let mut levels = Vec::new();
        loop {
            let count = if self.is_kw("of") {
                None
            } else {
                Some(self.expr_after("'top-nested'")?)
            };
            self.expect_kw("of", "'of' and a column in 'top-nested'")?;
            let of = self.named_expr("'of'")?;
            let others = if self.is_kw("with") && self.is_kw_at(1, "others") {
                self.bump();
                self.bump();
                self.expect_p(P::Assign, "'=' after 'with others'")?;
                Some(self.expr_after("'='")?)
            } else {
                None
            };
            self.expect_kw("by", "'by' and an aggregation in 'top-nested'")?;
            let by = self.named_expr("'by'")?;
            let descending = if self.eat_kw("asc") {
                Some(false)
            } else if self.eat_kw("desc") {
                Some(true)
            } else {
                None
            };
            levels.push(TopNestedLevel {
                count,
                of,
                others,
                by,
                descending,
            });
            let next_level = self.is_p(P::Comma)
                && self.is_kw_at(1, "top")
                && self.is_p_at(2, P::Minus)
                && self.is_kw_at(3, "nested")
                && self.adjacent(1)
                && self.adjacent(2);
            if !next_level {
                return Ok(OperatorKind::TopNested(levels));
            }
            for _ in 0..4 {
                self.bump();
            }
        }
    }

    fn range(&mut self) -> PResult<OperatorKind> {
        let column = self.name("a column name after 'range'")?;
        self.expect_kw("from", "'from' after the column name in 'range'")?;
        let from = self.expr_after("'from'")?;
        self.expect_kw("to", "'to' after the start of the range")?;
        let to = self.expr_after("'to'")?;
        self.expect_kw("step", "'step' after the end of the range")?;
        let step = self.expr_after("'step'")?;
        Ok(OperatorKind::Range {
            column,
            from,
            to,
            step,
        })
    }

    /// `datatable(a:int, b:string) [1, "x", ...]` (a trailing comma is fine).
    fn datatable(&mut self) -> PResult<OperatorKind> {
        let open = self.expect_p(P::LParen, "'(' and the columns after 'datatable'")?;
        let columns = self.column_decls()?;
        self.expect_close(P::RParen, open)?;
        let lb = self.expect_p(
            P::LBracket,
            "'[' and the values after the datatable columns",
        )?;
        let mut values = Vec::new();
        while !self.is_p(P::RBracket) {
            let what = if values.is_empty() { "'['" } else { "','" };
            values.push(self.expr_after(what)?);
            if !self.eat_p(P::Comma) {
                break;
            }
        }
        self.expect_close(P::RBracket, lb)?;
        Ok(OperatorKind::Datatable { columns, values })
    }
}
