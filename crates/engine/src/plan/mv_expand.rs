//! `mv-expand`: one row per element of dynamic arrays (several expanded in parallel),
//! with `with_itemindex`, `bagexpansion`, `limit` and `to typeof(...)`.

use super::aggregates::simple_name;
use super::summarize::column_n;
use super::{Col, Env, Planner, Tabular};
use crate::error::{QResult, QueryError};
use crate::udf::mv_zip::MvZip;
use crate::udf::value_fn::{ValueFnKind, ValueFunction};
use datafusion::common::{Column, UnnestOptions};
use datafusion::logical_expr::{lit, Expr, LogicalPlanBuilder};
use kql::ast::{self, ExprKind};
use kql_value::KqlType;

impl Planner<'_> {
    pub fn plan_mv_expand(
        &self,
        t: Tabular,
        op: &ast::Operator,
        items: &[ast::MvExpandItem],
        env: &Env,
    ) -> QResult<Tabular> {
        let mut with_index: Option<String> = None;
        let mut bag_as_array = false;
        let mut limit: Option<u64> = None;
        for o in &op.options {
            match o.name.name.as_str() {
                "with_itemindex" => {
                    with_index = Some(match &o.value.kind {
                        ExprKind::Name(id) => id.name.clone(),
                        _ => self
                            .const_value(&o.value, env, "mv-expand")?
                            .to_kql_string(),
                    })
                }
                "bagexpansion" | "kind" => {
                    bag_as_array = matches!(&o.value.kind, ExprKind::Name(id) if id.name == "array")
                }
                "limit" => {
                    limit = self
                        .const_value(&o.value, env, "mv-expand")?
                        .as_i64()
                        .map(|v| v.max(0) as u64)
                }
                _ => {}
            }
        }
        // Bind the expanded expressions and decide their output columns.
        let mut exprs = Vec::new();
        let mut outs: Vec<(String, KqlType)> = Vec::new();
        let mut taken: Vec<String> = t.cols.iter().map(|c| c.name.clone()).collect();
        for it in items {
            let b = self.bind_scalar_in(&it.expr, env, Some(&t), "mv-expand")?;
            let b = self.convert_bound(b, KqlType::Dynamic);
            let name = match &it.name {
                Some(n) => n.name.clone(),
                None => simple_name(&it.expr).unwrap_or_else(|| column_n(&taken)),
            };
            taken.push(name.clone());
            let ty = it
                .to_type
                .map(super::expr::type_of_name)
                .unwrap_or(KqlType::Dynamic);
            exprs.push(b.expr);
            outs.push((name, ty));
        }
        if exprs.is_empty() {
            return Err(QueryError::semantic(
                "mv-expand needs a column to expand",
                op.keyword_span,
            ));
        }
        let zip_name = self.internal_name();
        let mut proj: Vec<(Expr, Col)> = t.passthrough();
        proj.push((
            MvZip::call(exprs, with_index.is_some(), bag_as_array, limit),
            Col::new(zip_name.clone(), KqlType::Dynamic),
        ));
        let zipped = t.project(proj)?;
        let plan = LogicalPlanBuilder::from(zipped.plan.clone())
            .unnest_column_with_options(
                Column::new_unqualified(zip_name.clone()),
                UnnestOptions::new().with_preserve_nulls(false),
            )?
            .build()?;
        let unnested = zipped.with_plan(plan);
        let tuple = unnested.col_expr(t.cols.len());
        let element = |k: usize, ty: KqlType, now: i64| -> Expr {
            let get = ValueFunction::new(
                "mv-expand",
                ValueFnKind::Member,
                vec![KqlType::Dynamic, KqlType::Long],
                KqlType::Dynamic,
                false,
                now,
            )
            .call(vec![tuple.clone(), lit(k as i64)]);
            if ty == KqlType::Dynamic {
                get
            } else {
                ValueFunction::new(
                    "to",
                    ValueFnKind::Convert(ty),
                    vec![KqlType::Dynamic],
                    ty,
                    false,
                    now,
                )
                .call(vec![get])
            }
        };
        let offset = usize::from(with_index.is_some());
        let mut out: Vec<(Expr, Col)> = Vec::new();
        for (i, c) in t.cols.iter().enumerate() {
            match outs.iter().position(|(n, _)| n == &c.name) {
                Some(k) => out.push((
                    element(k + offset, outs[k].1, self.now),
                    Col::new(c.name.clone(), outs[k].1),
                )),
                None => out.push((unnested.col_expr(i), c.clone())),
            }
        }
        for (k, (n, ty)) in outs.iter().enumerate() {
            if t.find(n).is_none() {
                out.push((element(k + offset, *ty, self.now), Col::new(n.clone(), *ty)));
            }
        }
        if let Some(ix) = with_index {
            let idx = ValueFunction::new(
                "to",
                ValueFnKind::Convert(KqlType::Long),
                vec![KqlType::Dynamic],
                KqlType::Long,
                false,
                self.now,
            )
            .call(vec![element(0, KqlType::Dynamic, self.now)]);
            out.push((idx, Col::new(ix, KqlType::Long)));
        }
        unnested.project(out)
    }
}
