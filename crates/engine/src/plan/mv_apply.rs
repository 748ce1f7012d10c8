//! `mv-apply`: expand dynamic arrays per row, run a subquery on each row's expanded
//! rows, and join each row with its subquery result.
//!
//! The subquery is planned once over all rows: every input row gets an id, and the
//! operators whose result depends on row grouping (`summarize`, `top`, `take`, `count`,
//! `project`, `distinct`) are planned per id.

use super::expr::ExprCtx;
use super::{Col, Env, Planner, Tabular};
use crate::error::{QResult, QueryError};
use datafusion::common::Column;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{
    lit, Expr, ExprFunctionExt, JoinType, LogicalPlanBuilder, SortExpr,
};
use kql::ast::{self, ExprKind, OperatorKind, Span};
use kql_value::KqlType;

const ROW_ID: &str = "__rowid";

fn name_expr(name: &str, span: Span) -> ast::Expr {
    ast::Expr {
        kind: ExprKind::Name(ast::Ident {
            name: name.to_string(),
            span,
        }),
        span,
    }
}

fn named(name: &str, span: Span) -> ast::NamedExpr {
    ast::NamedExpr {
        names: vec![],
        expr: name_expr(name, span),
        span,
    }
}

impl Planner<'_> {
    pub fn plan_mv_apply(
        &self,
        t: Tabular,
        op: &ast::Operator,
        items: &[ast::MvExpandItem],
        on: &ast::Expr,
        env: &Env,
    ) -> QResult<Tabular> {
        let with_id =
            self.with_windows(&t, vec![(row_number(), Col::new(ROW_ID, KqlType::Long))])?;
        let expanded = self.plan_mv_expand(with_id.clone(), op, items, env)?;
        let result = self.plan_per_row(on, expanded, env)?;
        let Some(rid) = result.find(ROW_ID) else {
            return Err(QueryError::semantic(
                "mv-apply: the subquery must keep the rows' identity",
                on.span,
            ));
        };
        let lq = self.internal_name();
        let rq = self.internal_name();
        let lplan = LogicalPlanBuilder::from(with_id.plan.clone())
            .alias(lq.clone())?
            .build()?;
        let rplan = LogicalPlanBuilder::from(result.plan.clone())
            .alias(rq.clone())?
            .build()?;
        let lcol = |n: &str| Expr::Column(Column::new(Some(lq.clone()), n));
        let rcol = |n: &str| Expr::Column(Column::new(Some(rq.clone()), n));
        let plan = LogicalPlanBuilder::from(lplan)
            .join_on(
                rplan,
                JoinType::Inner,
                vec![lcol(ROW_ID).eq(rcol(&result.cols[rid].name))],
            )?
            .sort(vec![SortExpr::new(lcol(ROW_ID), true, true)])?
            .build()?;
        let joined = Tabular {
            plan,
            cols: vec![],
            serialized: true,
            name: None,
        };
        let mut proj: Vec<(Expr, Col)> = Vec::new();
        for c in &t.cols {
            match result.cols.iter().find(|r| r.name == c.name) {
                Some(r) => proj.push((rcol(&r.name), r.clone())),
                None => proj.push((lcol(&c.name), c.clone())),
            }
        }
        for r in &result.cols {
            if r.name != ROW_ID && t.find(&r.name).is_none() {
                proj.push((rcol(&r.name), r.clone()));
            }
        }
        joined.project(proj)
    }

    /// Plans `e` (a subquery over `$input`) so that grouping operators work per row id.
    fn plan_per_row(&self, e: &ast::Expr, input: Tabular, env: &Env) -> QResult<Tabular> {
        match &e.kind {
            ExprKind::Name(id) if id.name == "$input" => Ok(input),
            ExprKind::Paren(inner) => self.plan_per_row(inner, input, env),
            ExprKind::Pipe { input: inner, op } => {
                let t = self.plan_per_row(inner, input, env)?;
                self.plan_per_row_operator(t, op, env)
            }
            _ => Err(QueryError::semantic(
                "mv-apply's subquery must start with an operator, e.g. on (summarize make_list(x))",
                e.span,
            )),
        }
    }

    fn plan_per_row_operator(&self, t: Tabular, op: &ast::Operator, env: &Env) -> QResult<Tabular> {
        let span = op.keyword_span;
        match &op.kind {
            OperatorKind::Summarize { aggregates, by } => {
                let mut keys = vec![named(ROW_ID, span)];
                keys.extend(by.iter().cloned());
                self.plan_summarize(t, aggregates, &keys, env)
            }
            OperatorKind::Count => {
                let count = ast::NamedExpr {
                    names: vec![ast::Ident {
                        name: "Count".into(),
                        span,
                    }],
                    expr: ast::Expr {
                        kind: ExprKind::Call {
                            name: ast::Ident {
                                name: "count".into(),
                                span,
                            },
                            args: vec![],
                        },
                        span,
                    },
                    span,
                };
                self.plan_summarize(t, &[count], &[named(ROW_ID, span)], env)
            }
            OperatorKind::Project(items) | OperatorKind::Distinct(items) => {
                let mut items = items.clone();
                if !items
                    .iter()
                    .any(|i| matches!(&i.expr.kind, ExprKind::Name(n) if n.name == ROW_ID))
                {
                    items.push(named(ROW_ID, span));
                }
                let op2 = ast::Operator {
                    kind: if matches!(op.kind, OperatorKind::Project(_)) {
                        OperatorKind::Project(items)
                    } else {
                        OperatorKind::Distinct(items)
                    },
                    span: op.span,
                    keyword_span: op.keyword_span,
                    options: op.options.clone(),
                };
                self.plan_operator(t, &op2, env)
            }
            OperatorKind::Top { count, by } => {
                let n = self.const_count(count, env, "top")?;
                self.plan_per_row_limit(t, n, by, env)
            }
            OperatorKind::Take(count) => {
                let n = self.const_count(count, env, "take")?;
                self.plan_per_row_limit(t, n, &[], env)
            }
            _ => self.plan_operator(t, op, env),
        }
    }

    /// The first `n` rows of each row id, in `by` order (descending by default).
    fn plan_per_row_limit(
        &self,
        t: Tabular,
        n: usize,
        by: &[ast::SortKey],
        env: &Env,
    ) -> QResult<Tabular> {
        let rid = t
            .find(ROW_ID)
            .map(|i| t.col_expr(i))
            .ok_or_else(|| QueryError::execution("mv-apply: the row identity was lost"))?;
        let mut order = Vec::new();
        for k in by {
            let mut cx = ExprCtx::new(Some(&t), env, "top");
            let b = self.bind_scalar(&k.expr, &mut cx)?;
            let desc = k.descending.unwrap_or(true);
            order.push(SortExpr::new(b.expr, !desc, k.nulls_first.unwrap_or(!desc)));
        }
        if order.is_empty() {
            order.push(SortExpr::new(rid.clone(), true, true));
        }
        let rn = self.internal_name();
        let w = row_number()
            .partition_by(vec![rid.clone()])
            .order_by(order.clone())
            .build()?;
        let numbered = self.with_windows(&t, vec![(w, Col::new(rn.clone(), KqlType::Long))])?;
        let keep = Expr::Column(Column::new_unqualified(rn)).lt_eq(lit(n as i64));
        let mut sort = vec![SortExpr::new(rid, true, true)];
        sort.extend(order);
        let plan = LogicalPlanBuilder::from(numbered.plan.clone())
            .filter(keep)?
            .sort(sort)?
            .build()?;
        let filtered = numbered.with_plan(plan);
        let items = filtered
            .passthrough()
            .into_iter()
            .take(t.cols.len())
            .collect();
        let mut out = filtered.project(items)?;
        out.serialized = true;
        Ok(out)
    }
}
