//! `summarize` (and `count`, `distinct`): group keys, aggregates with Kusto's default
//! names, `arg_max`/`arg_min` with several result columns.

use super::aggregates::{default_name, simple_name, AggItem};
use super::expr::ExprCtx;
use super::{Col, Env, Planner, Tabular};
use crate::error::{QResult, QueryError};
use crate::udf::arg_extreme::ArgExtreme;
use datafusion::common::Column;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlanBuilder};
use kql::ast;
use kql_value::KqlType;

/// The column name Kusto gives an unnamed `by` key: the column it is computed from for
/// `bin(x, ...)`/`floor(x, ...)`/`bin_at(x, ...)` and plain columns.
pub(crate) fn key_name(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        ast::ExprKind::Call { name, args }
            if matches!(name.name.as_str(), "bin" | "floor" | "bin_at" | "bin_auto")
                && !args.is_empty() =>
        {
            simple_name(&args[0].value)
        }
        _ => simple_name(e),
    }
}

/// `name`, or `name1`, `name2`... if it is taken (Kusto's rule for repeated names).
pub(crate) fn unique_name(name: String, taken: &[String]) -> String {
    if !taken.contains(&name) {
        return name;
    }
    (1..)
        .map(|i| format!("{name}{i}"))
        .find(|n| !taken.contains(n))
        .unwrap_or(name)
}

/// A fresh `Column{n}` name not yet in `taken`.
pub(crate) fn column_n(taken: &[String]) -> String {
    (1..)
        .map(|i| format!("Column{i}"))
        .find(|n| !taken.contains(n))
        .unwrap_or_default()
}

impl Planner<'_> {
    pub fn plan_summarize(
        &self,
        t: Tabular,
        aggregates: &[ast::NamedExpr],
        by: &[ast::NamedExpr],
        env: &Env,
    ) -> QResult<Tabular> {
        let mut out_cols: Vec<Col> = Vec::new();
        let mut group_exprs = Vec::new();
        let mut taken: Vec<String> = Vec::new();
        for k in by {
            let b = self.bind_scalar_in(&k.expr, env, Some(&t), "summarize")?;
            let name = match k.names.first() {
                Some(n) => n.name.clone(),
                None => key_name(&k.expr).unwrap_or_else(|| column_n(&taken)),
            };
            taken.push(name.clone());
            group_exprs.push(b.expr.alias(name.clone()));
            out_cols.push(Col::new(name, b.ty));
        }
        let mut items: Vec<AggItem> = Vec::new();
        let mut finals: Vec<(Expr, Col)> = Vec::new();
        for a in aggregates {
            if let ast::ExprKind::Call { name, args } = &a.expr.kind {
                if matches!(name.name.as_str(), "arg_max" | "arg_min") {
                    self.plan_arg_extreme(
                        &t,
                        env,
                        name,
                        args,
                        &a.names,
                        &taken.clone(),
                        &mut items,
                        &mut finals,
                        &mut taken,
                    )?;
                    continue;
                }
            }
            if let Some(expanded) = expand_percentiles(a) {
                for item in expanded {
                    let mut cx = ExprCtx::new(Some(&t), env, "summarize");
                    cx.aggs = Some(&mut items);
                    let b = self.bind_scalar(&item.expr, &mut cx)?;
                    let name = match item.names.first() {
                        Some(n) => n.name.clone(),
                        None => match &item.expr.kind {
                            ast::ExprKind::Call { name, args } => default_name(&name.name, args),
                            _ => column_n(&taken),
                        },
                    };
                    let name = unique_name(name, &taken);
                    taken.push(name.clone());
                    finals.push((b.expr, Col::new(name, b.ty)));
                }
                continue;
            }
            let mut cx = ExprCtx::new(Some(&t), env, "summarize");
            cx.aggs = Some(&mut items);
            let b = self.bind_scalar(&a.expr, &mut cx)?;
            let name = match a.names.first() {
                Some(n) => n.name.clone(),
                None => match &a.expr.kind {
                    ast::ExprKind::Call { name, args }
                        if super::aggregates::is_aggregate(&name.name) =>
                    {
                        default_name(&name.name, args)
                    }
                    _ => column_n(&taken),
                },
            };
            if b.value.is_none() && !expr_uses_aggregate(&b.expr) {
                return Err(QueryError::semantic(
                    "summarize expressions must use an aggregation function such as count(), sum() or make_set()",
                    a.expr.span,
                ));
            }
            let name = unique_name(name, &taken);
            taken.push(name.clone());
            finals.push((b.expr, Col::new(name, b.ty)));
        }
        let aggr_exprs: Vec<Expr> = items
            .iter()
            .map(|i| i.expr.clone().alias(i.name.clone()))
            .collect();
        let plan = LogicalPlanBuilder::from(t.plan.clone())
            .aggregate(group_exprs, aggr_exprs)?
            .build()?;
        let mut projection: Vec<(Expr, Col)> = out_cols
            .iter()
            .map(|c| {
                (
                    Expr::Column(Column::new_unqualified(c.name.clone())),
                    c.clone(),
                )
            })
            .collect();
        projection.extend(finals);
        let grouped = Tabular {
            plan,
            cols: vec![],
            serialized: false,
            name: None,
        };
        grouped.project(projection)
    }

    #[allow(clippy::too_many_arguments)]
    fn plan_arg_extreme(
        &self,
        t: &Tabular,
        env: &Env,
        name: &ast::Ident,
        args: &[ast::Arg],
        names: &[ast::Ident],
        keys: &[String],
        items: &mut Vec<AggItem>,
        finals: &mut Vec<(Expr, Col)>,
        taken: &mut Vec<String>,
    ) -> QResult<()> {
        let is_max = name.name == "arg_max";
        let Some(first) = args.first() else {
            return Err(QueryError::semantic(
                format!(
                    "{}() expects the expression to maximize and the columns to return",
                    name.name
                ),
                name.span,
            ));
        };
        let target = self.bind_scalar_in(&first.value, env, Some(t), "summarize")?;
        let mut outputs: Vec<(String, Expr, KqlType)> = Vec::new();
        let target_name = simple_name(&first.value)
            .unwrap_or_else(|| format!("{}_", if is_max { "max" } else { "min" }));
        outputs.push((target_name.clone(), target.expr.clone(), target.ty));
        for a in &args[1..] {
            if matches!(a.value.kind, ast::ExprKind::Star) {
                for (i, c) in t.cols.iter().enumerate() {
                    if keys.contains(&c.name) || outputs.iter().any(|(n, ..)| n == &c.name) {
                        continue;
                    }
                    outputs.push((c.name.clone(), t.col_expr(i), c.ty));
                }
            } else {
                let b = self.bind_scalar_in(&a.value, env, Some(t), "summarize")?;
                let n = match &a.name {
                    Some(n) => n.name.clone(),
                    None => simple_name(&a.value).unwrap_or_else(|| column_n(taken)),
                };
                outputs.push((n, b.expr, b.ty));
            }
        }
        // Keys of a primitive type take the one-pass UDAF; others (strings, bools...)
        // `first_value` ordered by the key, whose semantics the UDAF reproduces.
        let native_key = target
            .expr
            .get_type(t.plan.schema().as_ref())
            .is_ok_and(|dt| ArgExtreme::supports_key(&dt));
        let order = target.expr.clone().sort(!is_max, false);
        for (i, (n, e, ty)) in outputs.into_iter().enumerate() {
            let final_name = names.get(i).map(|id| id.name.clone()).unwrap_or(n);
            let internal = self.internal_name();
            let ae = if i == 0 {
                if is_max {
                    agg::max(e)
                } else {
                    agg::min(e)
                }
            } else if native_key {
                ArgExtreme::call(is_max, e, target.expr.clone())
            } else {
                agg::first_value(e, vec![order.clone()])
            };
            items.push(AggItem {
                expr: ae,
                name: internal.clone(),
            });
            taken.push(final_name.clone());
            finals.push((
                Expr::Column(Column::new_unqualified(internal)),
                Col::new(final_name, ty),
            ));
        }
        Ok(())
    }
}

/// `percentiles(x, 50, 90)` / `percentilesw(x, w, 50, 90)` → one `percentile(x, p)` /
/// `percentilew(x, w, p)` per percentile, each its own column (tuple names apply in order).
fn expand_percentiles(a: &ast::NamedExpr) -> Option<Vec<ast::NamedExpr>> {
    let ast::ExprKind::Call { name, args } = &a.expr.kind else {
        return None;
    };
    let (single, fixed) = match name.name.as_str() {
        "percentiles" => ("percentile", 1),
        "percentilesw" => ("percentilew", 2),
        _ => return None,
    };
    if args.len() <= fixed + 1 {
        return None;
    }
    Some(
        args[fixed..]
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut call_args = args[..fixed].to_vec();
                call_args.push(p.clone());
                ast::NamedExpr {
                    names: a.names.get(i).cloned().into_iter().collect(),
                    expr: ast::Expr {
                        kind: ast::ExprKind::Call {
                            name: ast::Ident {
                                name: single.into(),
                                span: name.span,
                            },
                            args: call_args,
                        },
                        span: a.expr.span,
                    },
                    span: a.span,
                }
            })
            .collect(),
    )
}

/// Whether a bound summarize expression refers to an aggregate output.
fn expr_uses_aggregate(e: &Expr) -> bool {
    let mut found = false;
    let _ = e.apply(|x| {
        if let Expr::Column(c) = x {
            if c.name.starts_with("__kql_") {
                found = true;
            }
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
    found
}

use datafusion::common::tree_node::TreeNode;
