//! `parse` and `parse-where`: a pattern of literals, `*` and typed captures compiled to
//! one regex (`kind=simple` by default; `kind=regex` takes captures as regexes).

use super::{Col, Env, Planner, Tabular};
use crate::error::{QResult, QueryError};
use crate::udf::value_fn::ValueFnKind;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder};
use kql::ast::{self, ExprKind, ParsePart};
use kql_value::KqlType;

fn capture_regex(ty: KqlType, last: bool) -> &'static str {
    match ty {
        KqlType::Int | KqlType::Long => r"(-?\d+)",
        KqlType::Real | KqlType::Decimal => r"(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)",
        _ => {
            if last {
                "(.*)"
            } else {
                "(.*?)"
            }
        }
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
        let mut re = String::from("(?s)");
        if !flags.is_empty() {
            re = format!("(?{}s)", flags.replace('U', ""));
        }
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
                ParsePart::Wildcard => re.push_str(if last { ".*" } else { ".*?" }),
                ParsePart::Column { name, ty } => {
                    let ty = ty.map(super::expr::type_of_name).unwrap_or(KqlType::String);
                    re.push_str(capture_regex(ty, last && kind != "relaxed"));
                    captures.push(Col::new(name.name.clone(), ty));
                }
            }
        }
        if kind == "simple" || kind == "relaxed" {
            // A pattern ending in a literal must match through to the end of it only.
        }
        if regex::Regex::new(&re).is_err() {
            return Err(QueryError::semantic(format!("invalid parse pattern (regex {re})"), op.keyword_span));
        }
        let mut proj: Vec<(Expr, Col)> = t.passthrough();
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
            let typed = self.convert_bound(cap, c.ty);
            match t.find(&c.name) {
                Some(i) => proj[i] = (typed.expr, c.clone()),
                None => proj.push((typed.expr, c.clone())),
            }
        }
        let base = if filter {
            let m = self.value_call("parse-where", ValueFnKind::Regex, vec![src, super::expr::Bound::constant(kql_value::Value::String(re.clone()), KqlType::String)], KqlType::Bool, false);
            let plan = LogicalPlanBuilder::from(t.plan.clone()).filter(m.expr)?.build()?;
            t.with_plan(plan)
        } else {
            t.clone()
        };
        // Re-express the projection over `base` (same columns as `t`).
        let proj = proj
            .into_iter()
            .map(|(e, c)| (e, c))
            .collect::<Vec<_>>();
        base.project(proj)
    }
}
