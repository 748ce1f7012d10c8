//! Scalar expressions: a Pratt parser over KQL's precedence levels
//! (`or` < `and` < comparisons and string/list operators < `+ -` < `* / %` < unary <
//! postfix), plus primaries: literals, names, calls, `dynamic(...)` and parentheses.
//!
//! Parentheses and call arguments hold full pipelines (`toscalar(T | count)`), so this
//! module calls back into [`Parser::pipe_expr`].

use super::literals;
use super::*;
use serde_json::{Map, Number, Value};

#[derive(Clone, Copy)]
enum Infix {
    Bin(BinaryOp),
    List(ListOp),
    Between { negated: bool },
}

#[derive(Clone, Copy)]
struct InfixOp {
    kind: Infix,
    prec: u8,
    /// How many tokens spell the operator (`!in~` is three).
    ntoks: usize,
}

const PREC_OR: u8 = 1;
const PREC_AND: u8 = 2;
const PREC_REL: u8 = 3;
const PREC_ADD: u8 = 4;
const PREC_MUL: u8 = 5;

/// The string operators by name, as (kind, case-sensitive); `!` is handled separately.
fn str_op(word: &str) -> Option<(StrOpKind, bool)> {
    Some(match word {
        "contains" => (StrOpKind::Contains, false),
        "contains_cs" | "containscs" => (StrOpKind::Contains, true),
        "startswith" => (StrOpKind::StartsWith, false),
        "startswith_cs" => (StrOpKind::StartsWith, true),
        "endswith" => (StrOpKind::EndsWith, false),
        "endswith_cs" => (StrOpKind::EndsWith, true),
        "has" => (StrOpKind::Has, false),
        "has_cs" => (StrOpKind::Has, true),
        "hasprefix" => (StrOpKind::HasPrefix, false),
        "hasprefix_cs" => (StrOpKind::HasPrefix, true),
        "hassuffix" => (StrOpKind::HasSuffix, false),
        "hassuffix_cs" => (StrOpKind::HasSuffix, true),
        _ => return None,
    })
}

fn is_bool_word(w: &str) -> Option<bool> {
    match w {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

impl<'a> Parser<'a> {
    /// Whether the current token can begin an expression (used to say "expected an
    /// expression after X" at the right place instead of deeper in the grammar).
    pub(super) fn can_start_expr(&self) -> bool {
        match self.tok() {
            Tok::Ident(_)
            | Tok::Str(_)
            | Tok::Long(_)
            | Tok::Real(_)
            | Tok::TimeSpan(_)
            | Tok::Goo { .. }
            | Tok::Guid(_)
            | Tok::Error(_) => true,
            Tok::Punct(P::LParen | P::Minus | P::Plus | P::Star) => true,
            Tok::Punct(P::LBracket) => self.is_bracket_name_at(0),
            _ => false,
        }
    }

    /// An expression, or "expected an expression after {what}, found ...".
    pub(super) fn expr_after(&mut self, what: &str) -> PResult<Expr> {
        if !self.can_start_expr() {
            return Err(self.unexpected(&format!("an expression after {what}")));
        }
        self.expr()
    }

    /// A scalar expression (no `|`: pipes end it).
    pub(super) fn expr(&mut self) -> PResult<Expr> {
        self.binary(0)
    }

    /// An expression that binds tighter than comparisons (`make-series ... on X in range`).
    pub(super) fn additive_expr(&mut self) -> PResult<Expr> {
        self.binary(PREC_ADD)
    }

    fn binary(&mut self, min_prec: u8) -> PResult<Expr> {
        self.enter()?;
        let height = self.height;
        let r = match self.unary() {
            Ok(left) => self.binary_tail(left, min_prec),
            Err(f) => Err(f),
        };
        self.height = height;
        self.leave();
        r
    }

    fn binary_tail(&mut self, mut left: Expr, min_prec: u8) -> PResult<Expr> {
        while let Some(op) = self.peek_infix() {
            if op.prec < min_prec {
                break;
            }
            let op_start = self.span();
            for _ in 0..op.ntoks {
                self.bump();
            }
            let op_span = self.span_from(op_start);
            let op_text = self
                .src
                .get(op_span.range())
                .unwrap_or("operator")
                .to_string();
            left = match op.kind {
                Infix::Bin(b) => {
                    if !self.can_start_expr() {
                        return Err(self.unexpected(&format!("an expression after '{op_text}'")));
                    }
                    let right = self.binary(op.prec + 1)?;
                    Expr {
                        span: left.span.to(right.span),
                        kind: ExprKind::Binary {
                            op: b,
                            left: Box::new(left),
                            right: Box::new(right),
                        },
                    }
                }
                Infix::List(l) => {
                    let items = self.list_items(&op_text)?;
                    Expr {
                        span: self.span_from(left.span),
                        kind: ExprKind::List {
                            op: l,
                            expr: Box::new(left),
                            items,
                        },
                    }
                }
                Infix::Between { negated } => {
                    let open = self.expect_p(P::LParen, &format!("'(' after '{op_text}'"))?;
                    let low = self.expr_after(&format!("'{op_text} ('"))?;
                    self.expect_p(
                        P::DotDot,
                        &format!("'..' between the bounds of '{op_text}'"),
                    )?;
                    let high = self.expr_after("'..'")?;
                    self.expect_close(P::RParen, open)?;
                    Expr {
                        span: self.span_from(left.span),
                        kind: ExprKind::Between {
                            expr: Box::new(left),
                            low: Box::new(low),
                            high: Box::new(high),
                            negated,
                        },
                    }
                }
            };
            self.link()?;
        }
        Ok(left)
    }

    fn peek_infix(&self) -> Option<InfixOp> {
        let bin = |b, prec| {
            Some(InfixOp {
                kind: Infix::Bin(b),
                prec,
                ntoks: 1,
            })
        };
        match self.tok() {
            Tok::Punct(p) => match p {
                P::EqEq => bin(BinaryOp::Eq, PREC_REL),
                P::NotEq | P::LtGt => bin(BinaryOp::NotEq, PREC_REL),
                P::Lt => bin(BinaryOp::Lt, PREC_REL),
                P::Le => bin(BinaryOp::LtEq, PREC_REL),
                P::Gt => bin(BinaryOp::Gt, PREC_REL),
                P::Ge => bin(BinaryOp::GtEq, PREC_REL),
                P::EqTilde => bin(BinaryOp::EqCi, PREC_REL),
                P::BangTilde => bin(BinaryOp::NotEqCi, PREC_REL),
                P::Plus => bin(BinaryOp::Add, PREC_ADD),
                P::Minus => bin(BinaryOp::Sub, PREC_ADD),
                P::Star => bin(BinaryOp::Mul, PREC_MUL),
                P::Slash => bin(BinaryOp::Div, PREC_MUL),
                P::Percent => bin(BinaryOp::Mod, PREC_MUL),
                P::Bang if self.adjacent(0) => match self.tok_at(1) {
                    Tok::Ident(w) => self.word_infix(w, true, 1),
                    _ => None,
                },
                _ => None,
            },
            Tok::Ident(w) => self.word_infix(w, false, 0),
            _ => None,
        }
    }

    /// A word operator at token `at` (after a `!` when `negated`).
    fn word_infix(&self, word: &str, negated: bool, at: usize) -> Option<InfixOp> {
        let ntoks = at + 1;
        let rel = |kind| {
            Some(InfixOp {
                kind,
                prec: PREC_REL,
                ntoks,
            })
        };
        if let Some((kind, case_sensitive)) = str_op(word) {
            return rel(Infix::Bin(BinaryOp::Str(StrOp {
                kind,
                negated,
                case_sensitive,
            })));
        }
        match (word, negated) {
            ("or", false) => Some(InfixOp {
                kind: Infix::Bin(BinaryOp::Or),
                prec: PREC_OR,
                ntoks,
            }),
            ("and", false) => Some(InfixOp {
                kind: Infix::Bin(BinaryOp::And),
                prec: PREC_AND,
                ntoks,
            }),
            ("notcontains", false) => rel(Infix::Bin(BinaryOp::Str(StrOp {
                kind: StrOpKind::Contains,
                negated: true,
                case_sensitive: false,
            }))),
            ("notcontainscs", false) => rel(Infix::Bin(BinaryOp::Str(StrOp {
                kind: StrOpKind::Contains,
                negated: true,
                case_sensitive: true,
            }))),
            ("in", _) => {
                let ci = self.is_p_at(ntoks, P::Tilde) && self.adjacent(at);
                let op = match (negated, ci) {
                    (false, false) => ListOp::In,
                    (true, false) => ListOp::NotIn,
                    (false, true) => ListOp::InCi,
                    (true, true) => ListOp::NotInCi,
                };
                Some(InfixOp {
                    kind: Infix::List(op),
                    prec: PREC_REL,
                    ntoks: ntoks + usize::from(ci),
                })
            }
            ("has_any", false) => rel(Infix::List(ListOp::HasAny)),
            ("has_all", false) => rel(Infix::List(ListOp::HasAll)),
            ("between", _) => rel(Infix::Between { negated }),
            ("notbetween", false) => rel(Infix::Between { negated: true }),
            ("matches", false) if self.is_kw_at(at + 1, "regex") => Some(InfixOp {
                kind: Infix::Bin(BinaryOp::MatchesRegex),
                prec: PREC_REL,
                ntoks: ntoks + 1,
            }),
            _ => None,
        }
    }

    /// The right side of `in`, `has_any`, ...: `(a, b)`, `(T | project x)`, `(dynamic([..]))`,
    /// or (leniently) a single expression without parentheses.
    fn list_items(&mut self, op_text: &str) -> PResult<Vec<Expr>> {
        if self.is_p(P::LParen) {
            let open = self.bump();
            let mut items = Vec::new();
            if !self.is_p(P::RParen) {
                loop {
                    if !self.can_start_expr() {
                        return Err(self.unexpected(&format!("a value in the '{op_text}' list")));
                    }
                    items.push(self.pipe_expr()?);
                    if !self.eat_p(P::Comma) {
                        break;
                    }
                }
            }
            self.expect_close(P::RParen, open)?;
            Ok(items)
        } else if self.can_start_expr() {
            Ok(vec![self.binary(PREC_ADD)?])
        } else {
            Err(self.unexpected(&format!("'(' and a list of values after '{op_text}'")))
        }
    }

    fn unary(&mut self) -> PResult<Expr> {
        if self.is_p(P::Minus) || self.is_p(P::Plus) {
            return self.signed();
        }
        let e = self.primary()?;
        self.postfix(e)
    }

    /// `-x`, `+x`; a sign directly before a number folds into the literal.
    fn signed(&mut self) -> PResult<Expr> {
        let negate = self.is_p(P::Minus);
        let op_span = self.bump();
        // Fold a sign into a numeric literal: `-5` is a literal, which is also the only way
        // to write i64::MIN.
        if let Some(lit) = self.signed_number(negate, op_span)? {
            return self.postfix(lit);
        }
        if !self.can_start_expr() {
            let what = format!("an expression after '{}'", if negate { "-" } else { "+" });
            return Err(self.unexpected(&what));
        }
        self.enter()?;
        let inner = self.unary();
        self.leave();
        let inner = inner?;
        Ok(Expr {
            span: op_span.to(inner.span),
            kind: ExprKind::Unary {
                op: if negate { UnaryOp::Neg } else { UnaryOp::Plus },
                expr: Box::new(inner),
            },
        })
    }

    /// A numeric literal right after a sign, folded into one literal.
    fn signed_number(&mut self, negate: bool, sign: Span) -> PResult<Option<Expr>> {
        let lit = match *self.tok() {
            Tok::Long(v) => {
                let span = sign.to(self.span());
                let lit = self.long_literal(v, negate, span)?;
                self.bump();
                lit
            }
            Tok::Real(v) => {
                self.bump();
                Literal::Real(if negate { -v } else { v })
            }
            Tok::TimeSpan(v) => {
                self.bump();
                Literal::TimeSpan(if negate { -v } else { v })
            }
            _ => return Ok(None),
        };
        Ok(Some(Expr {
            kind: ExprKind::Literal(lit),
            span: self.span_from(sign),
        }))
    }

    fn long_literal(&mut self, v: u64, negate: bool, span: Span) -> PResult<Literal> {
        let value = if negate {
            0i128 - i128::from(v)
        } else {
            i128::from(v)
        };
        match i64::try_from(value) {
            Ok(n) => Ok(Literal::Long(n)),
            Err(_) => Err(self.err_help(
                format!("integer literal {value} is out of range for a long"),
                span,
                "write it as a real, e.g. `1e19`, if you need a larger number",
            )),
        }
    }

    /// A literal, name, call, `dynamic(...)`, `(pipeline)` or `*`. Each kind has its own
    /// function so that this one, which is on every recursion path, has a small frame.
    pub(super) fn primary(&mut self) -> PResult<Expr> {
        match self.tok() {
            Tok::Ident(_) => self.primary_word(),
            Tok::Str(_)
            | Tok::Long(_)
            | Tok::Real(_)
            | Tok::TimeSpan(_)
            | Tok::Guid(_)
            | Tok::Goo { .. } => self.primary_literal(),
            Tok::Punct(P::LParen) => self.paren(),
            Tok::Punct(P::LBracket) if self.is_bracket_name_at(0) => self.name_expr(),
            Tok::Punct(P::Star) => {
                let span = self.bump();
                Ok(Expr {
                    kind: ExprKind::Star,
                    span,
                })
            }
            Tok::Punct(P::Bang) => {
                let msg = format!("expected an expression, found {}", self.found());
                let span = self.span();
                Err(self.err_help(msg, span, "use not(...) to negate a condition"))
            }
            _ => Err(self.unexpected("an expression")),
        }
    }

    fn primary_word(&mut self) -> PResult<Expr> {
        let Tok::Ident(w) = self.tok() else {
            return Err(self.unexpected("a name"));
        };
        if let Some(b) = is_bool_word(w) {
            let span = self.bump();
            return Ok(Expr {
                kind: ExprKind::Literal(Literal::Bool(b)),
                span,
            });
        }
        if self.is_p_at(1, P::LParen) {
            if w == "dynamic" {
                return self.dynamic_literal();
            }
            return self.call();
        }
        self.name_expr()
    }

    fn name_expr(&mut self) -> PResult<Expr> {
        let name = self.name("a name")?;
        Ok(Expr {
            span: name.span,
            kind: ExprKind::Name(name),
        })
    }

    fn primary_literal(&mut self) -> PResult<Expr> {
        let start = self.span();
        let lit = match self.tok() {
            Tok::Str(_) => {
                let (s, span) = self.strings();
                return Ok(Expr {
                    kind: ExprKind::Literal(Literal::String(s)),
                    span,
                });
            }
            Tok::Long(v) => {
                let v = *v;
                self.long_literal(v, false, start)?
            }
            Tok::Real(v) => Literal::Real(*v),
            Tok::TimeSpan(v) => Literal::TimeSpan(*v),
            Tok::Guid(g) => Literal::Guid(g.clone()),
            Tok::Goo { keyword, raw, .. } => match literals::goo_literal(keyword, raw) {
                Ok(l) => l,
                Err(msg) => return Err(self.err(msg, start)),
            },
            _ => return Err(self.unexpected("a literal")),
        };
        self.bump();
        Ok(Expr {
            kind: ExprKind::Literal(lit),
            span: start,
        })
    }

    fn paren(&mut self) -> PResult<Expr> {
        let open = self.bump();
        if !self.can_start_expr() {
            return Err(self.unexpected("an expression after '('"));
        }
        let inner = self.pipe_expr()?;
        self.expect_close(P::RParen, open)?;
        Ok(Expr {
            kind: ExprKind::Paren(Box::new(inner)),
            span: self.span_from(open),
        })
    }

    /// Adjacent string literals concatenate: `"a" 'b'` is `"ab"`.
    pub(super) fn strings(&mut self) -> (String, Span) {
        let start = self.span();
        let mut out = String::new();
        while let Tok::Str(s) = self.tok() {
            out.push_str(s);
            self.bump();
        }
        (out, self.span_from(start))
    }

    /// A name: an identifier (keywords allowed) or `['bracketed name']`.
    pub(super) fn name(&mut self, what: &str) -> PResult<Ident> {
        match self.tok() {
            Tok::Ident(w) => {
                let name = w.clone();
                let span = self.bump();
                Ok(Ident { name, span })
            }
            _ if self.is_bracket_name_at(0) => {
                let open = self.bump();
                let (name, _) = self.strings();
                self.bump();
                Ok(Ident {
                    name,
                    span: self.span_from(open),
                })
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn call(&mut self) -> PResult<Expr> {
        let name = self.name("a function name")?;
        let open = self.bump();
        let args = self.call_args(open)?;
        Ok(Expr {
            span: self.span_from(name.span),
            kind: ExprKind::Call { name, args },
        })
    }

    /// Arguments after `(` up to and including `)`: `a`, `name = value`, `*`, pipelines.
    /// Schema arguments such as `typeof(x:int)` become `name = type-name` arguments.
    pub(super) fn call_args(&mut self, open: Span) -> PResult<Vec<Arg>> {
        let mut args = Vec::new();
        if self.eat_p(P::RParen) {
            return Ok(args);
        }
        loop {
            let mut name = None;
            if self.is_name_at(0) {
                let after = if self.is_ident_at(0) { 1 } else { 3 };
                if self.is_p_at(after, P::Assign) {
                    name = Some(self.name("an argument name")?);
                    self.bump();
                } else if self.is_p_at(after, P::Colon) && self.is_ident_at(after + 1) {
                    let n = self.name("an argument name")?;
                    self.bump();
                    let ty = self.name("a type")?;
                    args.push(Arg {
                        name: Some(n),
                        value: Expr {
                            span: ty.span,
                            kind: ExprKind::Name(ty),
                        },
                    });
                    if self.eat_p(P::Comma) {
                        continue;
                    }
                    self.expect_close(P::RParen, open)?;
                    return Ok(args);
                }
            }
            if !self.can_start_expr() {
                let what = if args.is_empty() && name.is_none() {
                    "an argument or ')'"
                } else {
                    "an argument"
                };
                return Err(self.unexpected(what));
            }
            let value = self.pipe_expr()?;
            args.push(Arg { name, value });
            if self.eat_p(P::Comma) {
                continue;
            }
            self.expect_close(P::RParen, open)?;
            return Ok(args);
        }
    }

    /// Member access, indexing: `x.a["b"][0]`, `parse_json(s).a`.
    pub(super) fn postfix(&mut self, e: Expr) -> PResult<Expr> {
        let height = self.height;
        let r = self.postfix_chain(e);
        self.height = height;
        r
    }

    fn postfix_chain(&mut self, mut e: Expr) -> PResult<Expr> {
        loop {
            if self.is_p(P::Dot) && self.is_p_at(1, P::LBracket) && !self.is_bracket_name_at(1) {
                // `x.[expr]` indexes like `x[expr]`.
                self.bump();
                continue;
            } else if self.is_p(P::Dot) {
                self.bump();
                let name = self.name("a property name after '.'")?;
                if self.is_p(P::LParen) {
                    let msg = format!(
                        "calls after '.' such as '.{}(...)' are not supported (cross-cluster and cross-database references are not available)",
                        name.name
                    );
                    return Err(self.err(msg, name.span));
                }
                e = Expr {
                    span: e.span.to(name.span),
                    kind: ExprKind::Member {
                        base: Box::new(e),
                        name,
                    },
                };
            } else if self.is_p(P::LBracket) {
                let open = self.bump();
                if !self.can_start_expr() {
                    return Err(self.unexpected("an index after '['"));
                }
                let index = self.expr()?;
                self.expect_close(P::RBracket, open)?;
                e = Expr {
                    span: self.span_from(e.span),
                    kind: ExprKind::Index {
                        base: Box::new(e),
                        index: Box::new(index),
                    },
                };
            } else {
                return Ok(e);
            }
            self.link()?;
        }
    }

    /// `dynamic(<json>)` with KQL extras: single quotes, typed literals inside.
    fn dynamic_literal(&mut self) -> PResult<Expr> {
        let start = self.bump();
        let open = self.bump();
        if self.is_p(P::RParen) {
            return Err(self.unexpected("a value inside 'dynamic(...)'"));
        }
        let value = self.json_value()?;
        self.expect_close(P::RParen, open)?;
        Ok(Expr {
            kind: ExprKind::Literal(Literal::Dynamic(value)),
            span: self.span_from(start),
        })
    }

    fn json_value(&mut self) -> PResult<Value> {
        self.enter()?;
        let r = self.json_value_inner();
        self.leave();
        r
    }

    fn json_value_inner(&mut self) -> PResult<Value> {
        const WHAT: &str = "a value (string, number, true, false, null, [...] or {...})";
        let start = self.span();
        match self.tok() {
            Tok::Punct(P::LBrace) => {
                let open = self.bump();
                let mut map = Map::new();
                while !self.is_p(P::RBrace) {
                    let key = match self.tok() {
                        Tok::Str(_) => self.strings().0,
                        Tok::Ident(w) => {
                            let k = w.clone();
                            self.bump();
                            k
                        }
                        _ => return Err(self.unexpected("a property name or '}'")),
                    };
                    self.expect_p(P::Colon, "':' after the property name")?;
                    let v = self.json_value()?;
                    map.insert(key, v);
                    if !self.eat_p(P::Comma) {
                        break;
                    }
                }
                self.expect_close(P::RBrace, open)?;
                Ok(Value::Object(map))
            }
            Tok::Punct(P::LBracket) => {
                let open = self.bump();
                let mut items = Vec::new();
                while !self.is_p(P::RBracket) {
                    items.push(self.json_value()?);
                    if !self.eat_p(P::Comma) {
                        break;
                    }
                }
                self.expect_close(P::RBracket, open)?;
                Ok(Value::Array(items))
            }
            Tok::Str(_) => Ok(Value::String(self.strings().0)),
            Tok::Punct(P::Minus | P::Plus) => {
                let negate = self.is_p(P::Minus);
                self.bump();
                match *self.tok() {
                    Tok::Long(v) => {
                        self.bump();
                        Ok(if !negate {
                            Value::Number(Number::from(v))
                        } else if v <= i64::MAX as u64 + 1 {
                            Value::Number(Number::from((0i128 - i128::from(v)) as i64))
                        } else {
                            json_f64(-(v as f64))
                        })
                    }
                    Tok::Real(v) => {
                        self.bump();
                        Ok(json_f64(if negate { -v } else { v }))
                    }
                    Tok::TimeSpan(v) => {
                        self.bump();
                        Ok(Value::String(literals::format_timespan(if negate {
                            -v
                        } else {
                            v
                        })))
                    }
                    _ => Err(self.unexpected("a number after the sign")),
                }
            }
            Tok::Long(v) => {
                let v = *v;
                self.bump();
                Ok(Value::Number(Number::from(v)))
            }
            Tok::Real(v) => {
                let v = *v;
                self.bump();
                Ok(json_f64(v))
            }
            Tok::TimeSpan(v) => {
                let v = *v;
                self.bump();
                Ok(Value::String(literals::format_timespan(v)))
            }
            Tok::Guid(g) => {
                let g = g.to_lowercase();
                self.bump();
                Ok(Value::String(g))
            }
            Tok::Goo { keyword, raw, .. } => match literals::goo_json(keyword, raw) {
                Ok(v) => {
                    self.bump();
                    Ok(v)
                }
                Err(msg) => Err(self.err(msg, start)),
            },
            Tok::Ident(w) if w == "dynamic" && self.is_p_at(1, P::LParen) => {
                // A nested `dynamic(...)` is just its value.
                self.bump();
                let open = self.bump();
                let v = self.json_value()?;
                self.expect_close(P::RParen, open)?;
                Ok(v)
            }
            Tok::Ident(w) => {
                let v = match w.as_str() {
                    "null" => Value::Null,
                    w => match is_bool_word(w) {
                        Some(b) => Value::Bool(b),
                        None => return Err(self.unexpected(WHAT)),
                    },
                };
                self.bump();
                Ok(v)
            }
            _ => Err(self.unexpected(WHAT)),
        }
    }
}

/// Lexed reals are finite, so this never produces null in practice.
fn json_f64(v: f64) -> Value {
    Number::from_f64(v)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}
