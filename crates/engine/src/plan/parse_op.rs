//! `parse` and `parse-where`: a pattern of literals, `*` and typed captures compiled to
//! one regex (`kind=simple` by default; `kind=regex` takes captures as regexes).

use super::{Col, Env, Planner, Tabular};
use crate::error::{QResult, QueryError};
use crate::udf::value_fn::ValueFnKind;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder};
use kql::ast::{self, ExprKind, ParsePart};
use kql_value::KqlType;

/// The regex that captures a column: in `kind=regex` strings are greedy and numbers
/// match digits; in simple/relaxed mode everything is captured lazily (the last column
/// takes the rest) and converted afterwards.
fn capture_regex(kind: &str, ty: KqlType, last: bool) -> &'static str {
    if kind == "regex" {
        return match ty {
            KqlType::Int | KqlType::Long => r"(-?\d+)",
            KqlType::Real | KqlType::Decimal => r"(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)",
            _ => "(.*)",
        };
    }
    if last {
        "(.*)"
    } else {
        "(.*?)"
    }
}

/// In simple/relaxed mode a number followed by `*` (or nothing) is its digits; one
/// followed by a literal is whatever comes before the literal, converted afterwards.
fn simple_number_regex(ty: KqlType, next_is_literal: bool) -> Option<&'static str> {
    if next_is_literal {
        return None;
    }
    match ty {
        KqlType::Int | KqlType::Long => Some(r"(-?\d+)"),
        KqlType::Real | KqlType::Decimal => Some(r"(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"),
        _ => None,
    }
}

impl Planner<'_> {
    pub fn plan_parse(
        &self,
        t: Tabular,
        op: &ast::Operator,
        source: &ast::Expr,
        pattern: &[ParsePart],
        filter: bool,
        env: &Env,
    ) -> QResult<Tabular> {
        let mut kind = "simple".to_string();
        let mut flags = String::new();
        for o in &op.options {
            match o.name.name.as_str() {
                "kind" => {
                    if let ExprKind::Name(id) = &o.value.kind {
                        kind = id.name.clone();
                    }
                }
                "flags" => {
                    flags = match &o.value.kind {
                        ExprKind::Name(id) => id.name.clone(),
                        _ => self.const_value(&o.value, env, "parse")?.to_kql_string(),
                    }
                }
                _ => {}
            }
        }
        let op_name = if filter { "parse-where" } else { "parse" };
        let src = self.bind_scalar_in(source, env, Some(&t), op_name)?;
        let src = self.convert_bound(src, KqlType::String);
        let mut re = if kind == "regex" {
            let f: String = flags.chars().filter(|c| "imsU".contains(*c)).collect();
            if f.is_empty() {
                String::new()
            } else {
                format!("(?{f})")
            }
        } else {
            String::from("(?s)")
        };
        re.push('^');
        let mut captures: Vec<Col> = Vec::new();
        let n = pattern.len();
        for (i, p) in pattern.iter().enumerate() {
            let last = i + 1 == n;
            match p {
                ParsePart::Literal(s) => {
                    if kind == "regex" {
                        re.push_str(s);
                    } else {
                        re.push_str(&regex::escape(s));
                    }
                }
                ParsePart::Wildcard => {
                    re.push_str(if last || kind == "regex" { ".*" } else { ".*?" })
                }
                ParsePart::Column { name, ty } => {
                    let ty = ty.map(super::expr::type_of_name).unwrap_or(KqlType::String);
                    let next_is_literal = matches!(pattern.get(i + 1), Some(ParsePart::Literal(_)));
                    let r = match (kind.as_str(), simple_number_regex(ty, next_is_literal)) {
                        ("regex", _) | (_, None) => capture_regex(&kind, ty, last),
                        (_, Some(r)) => r,
                    };
                    re.push_str(r);
                    captures.push(Col::new(name.name.clone(), ty));
                }
            }
        }
        if regex::Regex::new(&re).is_err() {
            return Err(QueryError::semantic(
                format!("invalid parse pattern (regex {re})"),
                op.keyword_span,
            ));
        }
        let mut typed: Vec<(super::expr::Bound, Col)> = Vec::new();
        for (g, c) in captures.iter().enumerate() {
            let cap = self.value_call(
                "parse",
                ValueFnKind::RegexCapture {
                    pattern: re.clone(),
                    group: g + 1,
                },
                vec![src.clone()],
                KqlType::String,
                false,
            );
            typed.push((self.convert_bound(cap, c.ty), c.clone()));
        }
        // The row matches when the pattern does and (except in relaxed mode) every typed
        // capture converts; otherwise every capture is empty.
        let mut ok = self.value_call(
            "parse",
            ValueFnKind::Regex,
            vec![
                src.clone(),
                super::expr::Bound::constant(kql_value::Value::String(re.clone()), KqlType::String),
            ],
            KqlType::Bool,
            false,
        );
        if kind != "relaxed" {
            for (b, c) in &typed {
                if c.ty != KqlType::String {
                    let present =
                        super::expr::Bound::column(b.expr.clone().is_not_null(), KqlType::Bool);
                    ok = self.bind_logical(ast::BinaryOp::And, ok, present);
                }
            }
        }
        let mut proj: Vec<(Expr, Col)> = t.passthrough();
        for (b, c) in typed {
            let empty = super::expr::Bound::constant(kql_value::Value::Null, c.ty);
            let v = if kind == "relaxed" {
                b
            } else {
                self.bind_case(vec![(ok.clone(), b)], empty)
            };
            match t.find(&c.name) {
                Some(i) => proj[i] = (v.expr, c),
                None => proj.push((v.expr, c)),
            }
        }
        let base = if filter {
            let plan = LogicalPlanBuilder::from(t.plan.clone())
                .filter(ok.expr)?
                .build()?;
            t.with_plan(plan)
        } else {
            t.clone()
        };
        base.project(proj)
    }
}
