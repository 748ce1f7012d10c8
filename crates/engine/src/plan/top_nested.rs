//! `top-nested`: hierarchical top-N. Level k keeps the top N_k values of its expression
//! within each combination of the earlier levels' kept values, ranked by its
//! aggregation; every level contributes its value column and its aggregate column.

use super::aggregates::simple_name;
use super::{Col, Env, Planner, Tabular};
use crate::error::{QResult, QueryError};
use datafusion::common::Column;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{
    lit, Expr, ExprFunctionExt, JoinType, LogicalPlanBuilder, SortExpr,
};
use kql::ast;
use kql_value::KqlType;

impl Planner<'_> {
    pub fn plan_top_nested(
        &self,
        t: Tabular,
        op: &ast::Operator,
        levels: &[ast::TopNestedLevel],
        env: &Env,
    ) -> QResult<Tabular> {
        let mut of_named: Vec<ast::NamedExpr> = Vec::new();
        let mut kept: Option<Tabular> = None;
        let mut order: Vec<String> = Vec::new();
        for (k, level) in levels.iter().enumerate() {
            if level.others.is_some() {
                return Err(QueryError::semantic(
                    "top-nested 'with others' is not supported yet",
                    op.keyword_span,
                ));
            }
            let of_name = match level.of.names.first() {
                Some(n) => n.name.clone(),
                None => simple_name(&level.of.expr).unwrap_or_else(|| format!("Column{}", k + 1)),
            };
            let mut of = level.of.clone();
            of.names = vec![ast::Ident {
                name: of_name.clone(),
                span: level.of.span,
            }];
            of_named.push(of);
            let agg_name = match level.by.names.first() {
                Some(n) => n.name.clone(),
                None => format!("aggregated_{of_name}"),
            };
            let mut agg = level.by.clone();
            agg.names = vec![ast::Ident {
                name: agg_name.clone(),
                span: level.by.span,
            }];
            let grouped = self.plan_summarize(t.clone(), &[agg], &of_named, env)?;
            // Rank within the parent values.
            let parents: Vec<Expr> = (0..k).map(|i| grouped.col_expr(i)).collect();
            let agg_col = grouped.col_expr(k + 1);
            let desc = level.descending.unwrap_or(true);
            let mut w = row_number().order_by(vec![SortExpr::new(agg_col, !desc, !desc)]);
            if !parents.is_empty() {
                w = w.partition_by(parents);
            }
            let rank = self.internal_name();
            let ranked = self.with_windows(
                &grouped,
                vec![(w.build()?, Col::new(rank.clone(), KqlType::Long))],
            )?;
            let limited = match &level.count {
                Some(c) => {
                    let n = self.const_count(c, env, "top-nested")?;
                    let plan = LogicalPlanBuilder::from(ranked.plan.clone())
                        .filter(Expr::Column(Column::new_unqualified(rank)).lt_eq(lit(n as i64)))?
                        .build()?;
                    ranked.with_plan(plan)
                }
                None => ranked,
            };
            let items = limited.passthrough().into_iter().take(k + 2).collect();
            let level_rows = limited.project(items)?;
            order.push(of_name.clone());
            order.push(agg_name.clone());
            kept = Some(match kept {
                None => level_rows,
                Some(prev) => self.join_parent_levels(prev, level_rows, k)?,
            });
        }
        let Some(out) = kept else {
            return Err(QueryError::semantic(
                "top-nested needs at least one level",
                op.keyword_span,
            ));
        };
        let items = order
            .iter()
            .filter_map(|n| out.find(n).map(|i| (out.col_expr(i), out.cols[i].clone())))
            .collect();
        out.project(items)
    }

    /// Rows of `level` (keys 0..k, its value, its aggregate) whose parent keys were kept
    /// in `prev`, with the earlier levels' aggregates.
    fn join_parent_levels(&self, prev: Tabular, level: Tabular, k: usize) -> QResult<Tabular> {
        let lq = self.internal_name();
        let rq = self.internal_name();
        let lplan = LogicalPlanBuilder::from(prev.plan.clone())
            .alias(lq.clone())?
            .build()?;
        let rplan = LogicalPlanBuilder::from(level.plan.clone())
            .alias(rq.clone())?
            .build()?;
        let lcol = |n: &str| Expr::Column(Column::new(Some(lq.clone()), n));
        let rcol = |n: &str| Expr::Column(Column::new(Some(rq.clone()), n));
        let on: Vec<Expr> = level.cols[..k]
            .iter()
            .map(|c| lcol(&c.name).eq(rcol(&c.name)))
            .collect();
        let plan = LogicalPlanBuilder::from(lplan)
            .join_on(rplan, JoinType::Inner, on)?
            .build()?;
        let joined = Tabular {
            plan,
            cols: vec![],
            serialized: false,
            name: None,
        };
        let mut proj: Vec<(Expr, Col)> = prev
            .cols
            .iter()
            .map(|c| (lcol(&c.name), c.clone()))
            .collect();
        for c in &level.cols[k..] {
            proj.push((rcol(&c.name), c.clone()));
        }
        joined.project(proj)
    }
}
