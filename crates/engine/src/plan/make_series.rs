//! `make-series`: aggregates per (keys, bin of the axis) gathered into dense dynamic
//! arrays over a fixed axis `[from, to)` in `step`s, with a default for empty bins.

use super::aggregates::{default_name, is_aggregate, simple_name};
use super::expr::Bound;
use super::{Col, Env, Planner, Tabular};
use crate::error::{QResult, QueryError};
use crate::udf::list::{ListFinish, ListFunction};
use crate::udf::value_fn::ValueFnKind;
use datafusion::common::Column;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::{lit, Expr, LogicalPlanBuilder};
use kql::ast::{self, ExprKind};
use kql_value::ops::Arith;
use kql_value::{KqlType, Value};

/// Most bins a series may have.
const MAX_BINS: i64 = 10_000_000;

impl Planner<'_> {
    #[allow(clippy::too_many_arguments)]
    pub fn plan_make_series(
        &self,
        t: Tabular,
        op: &ast::Operator,
        aggregates: &[ast::MakeSeriesAgg],
        on: &ast::Expr,
        from: Option<&ast::Expr>,
        to: Option<&ast::Expr>,
        step: &ast::Expr,
        by: &[ast::NamedExpr],
        env: &Env,
    ) -> QResult<Tabular> {
        let nonempty = op.options.iter().any(|o| {
            o.name.name == "kind"
                && matches!(&o.value.kind, ExprKind::Name(id) if id.name == "nonempty")
        });
        let axis = self.bind_scalar_in(on, env, Some(&t), "make-series")?;
        let step_v = self.const_value(step, env, "make-series")?;
        let (from_v, to_v) = match (from, to) {
            (Some(f), Some(tt)) => (
                self.const_value(f, env, "make-series")?,
                self.const_value(tt, env, "make-series")?,
            ),
            _ => {
                let (lo, hi) = self.axis_bounds(&t, &axis)?;
                let f = match from {
                    Some(f) => self.const_value(f, env, "make-series")?,
                    None => lo,
                };
                // Without `to`, the last value's bin is included.
                let tt = match to {
                    Some(tt) => self.const_value(tt, env, "make-series")?,
                    None => kql_value::ops::arith(Arith::Add, &hi, &step_v),
                };
                (f, tt)
            }
        };
        let from_v = from_v.convert(axis.ty);
        let to_v = to_v.convert(axis.ty);
        let span = kql_value::ops::arith(Arith::Sub, &to_v, &from_v);
        let ratio = kql_value::ops::arith(Arith::Div, &span, &step_v);
        let count = match ratio.as_f64() {
            Some(r) if r.is_finite() && r >= 0.0 => (r.ceil() as i64).clamp(0, MAX_BINS) as usize,
            _ if from_v.is_null() || to_v.is_null() => 0,
            _ => {
                return Err(QueryError::semantic(
                    "make-series: from, to and step must be constants of the axis' type (to after from, step positive)",
                    step.span,
                ))
            }
        };
        // Rows inside the axis, with their bin number.
        let from_b = Bound::constant(from_v.clone(), axis.ty);
        let to_b = Bound::constant(to_v.clone(), axis.ty);
        let ge = self.bind_cmp(
            kql_value::ops::Cmp::GtEq,
            axis.clone(),
            from_b.clone(),
            on.span,
        )?;
        let lt = self.bind_cmp(kql_value::ops::Cmp::Lt, axis.clone(), to_b, on.span)?;
        let inside = self.bind_logical(ast::BinaryOp::And, ge, lt);
        let diff = self.bind_arith(Arith::Sub, axis.clone(), from_b, on.span)?;
        let step_ty = step_v.kql_type().unwrap_or(KqlType::Long);
        let q = self.bind_arith(
            Arith::Div,
            diff,
            Bound::constant(step_v.clone(), step_ty),
            step.span,
        )?;
        let q = self.value_call(
            "floor",
            ValueFnKind::Convert(KqlType::Real),
            vec![q],
            KqlType::Real,
            false,
        );
        let bin = self.convert_bound(q, KqlType::Long);
        let bin_name = self.internal_name();
        let plan = LogicalPlanBuilder::from(t.plan.clone())
            .filter(inside.expr)?
            .build()?;
        let inside_rows = t.with_plan(plan);
        let mut proj = inside_rows.passthrough();
        proj.push((bin.expr, Col::new(bin_name.clone(), KqlType::Long)));
        let binned = inside_rows.project(proj)?;
        // Aggregate per (keys, bin). Constant "aggregates" take any value of the bin.
        let mut named = Vec::new();
        let mut names = Vec::new();
        for a in aggregates {
            let name = match (&a.name, &a.expr.kind) {
                (Some(n), _) => n.name.clone(),
                (None, ExprKind::Call { name, args }) if is_aggregate(&name.name) => {
                    default_name(&name.name, args)
                }
                _ => format!("Column{}", names.len() + 1),
            };
            let expr = match &a.expr.kind {
                ExprKind::Call { name, .. } if is_aggregate(&name.name) => a.expr.clone(),
                _ => ast::Expr {
                    kind: ExprKind::Call {
                        name: ast::Ident {
                            name: "take_any".into(),
                            span: a.expr.span,
                        },
                        args: vec![ast::Arg {
                            name: None,
                            value: a.expr.clone(),
                        }],
                    },
                    span: a.expr.span,
                },
            };
            let internal = self.internal_name();
            named.push(ast::NamedExpr {
                names: vec![ast::Ident {
                    name: internal.clone(),
                    span: a.expr.span,
                }],
                expr,
                span: a.expr.span,
            });
            names.push((name, internal));
        }
        let mut keys = by.to_vec();
        keys.push(ast::NamedExpr {
            names: vec![],
            expr: ast::Expr {
                kind: ExprKind::Name(ast::Ident {
                    name: bin_name.clone(),
                    span: on.span,
                }),
                span: on.span,
            },
            span: on.span,
        });
        let per_bin = self.plan_summarize(binned, &named, &keys, env)?;
        // Gather each key's bins into dense arrays.
        let key_count = by.len();
        let group: Vec<Expr> = (0..key_count)
            .map(|i| per_bin.col_expr(i).alias(per_bin.cols[i].name.clone()))
            .collect();
        let bin_ref = Bound::column(per_bin.col_expr(key_count), KqlType::Long);
        let mut aggr = Vec::new();
        let mut out_cols: Vec<Col> = per_bin.cols[..key_count].to_vec();
        for (k, (name, internal)) in names.iter().enumerate() {
            let i = per_bin.find(internal).unwrap_or(key_count + 1 + k);
            let value = Bound::column(per_bin.col_expr(i), per_bin.cols[i].ty);
            let vty = value.ty;
            let pair = self.registry_call("pack_array", vec![bin_ref.clone(), value], on.span);
            let default = match &aggregates[k].default {
                Some(d) => self.const_value(d, env, "make-series")?.convert(vty),
                None => Value::Long(0).convert(vty),
            };
            let finish = ListFinish::Series {
                count,
                default: default.to_json().to_string(),
            };
            aggr.push(
                ListFunction::call(
                    finish,
                    KqlType::Dynamic,
                    KqlType::Dynamic,
                    agg::array_agg(pair.expr),
                )
                .alias(name.clone()),
            );
            out_cols.push(Col::new(name.clone(), KqlType::Dynamic));
        }
        let rows = agg::count(lit(1i64)).alias("__rows");
        aggr.push(rows);
        let mut plan = LogicalPlanBuilder::from(per_bin.plan.clone()).aggregate(group, aggr)?;
        if !nonempty || key_count > 0 {
            plan = plan.filter(Expr::Column(Column::new_unqualified("__rows")).gt(lit(0i64)))?;
        }
        let plan = plan.build()?;
        let gathered = Tabular {
            plan,
            cols: vec![],
            serialized: false,
            name: None,
        };
        let mut proj: Vec<(Expr, Col)> = out_cols
            .iter()
            .map(|c| {
                (
                    Expr::Column(Column::new_unqualified(c.name.clone())),
                    c.clone(),
                )
            })
            .collect();
        // The axis: the start of every bin.
        let mut axis_vals = Vec::with_capacity(count);
        let mut cur = from_v.clone();
        for _ in 0..count {
            axis_vals.push(cur.to_json());
            cur = kql_value::ops::arith(Arith::Add, &cur, &step_v).convert(axis.ty);
        }
        let axis_name = simple_name(on).unwrap_or_else(|| "Column1".into());
        let axis_const = Bound::constant(
            Value::Dynamic(serde_json::Value::Array(axis_vals)),
            KqlType::Dynamic,
        );
        proj.push((axis_const.expr, Col::new(axis_name, KqlType::Dynamic)));
        gathered.project(proj)
    }

    /// The smallest and largest axis values in `t`.
    fn axis_bounds(&self, t: &Tabular, axis: &Bound) -> QResult<(Value, Value)> {
        let plan = LogicalPlanBuilder::from(t.plan.clone())
            .aggregate(
                Vec::<Expr>::new(),
                vec![
                    agg::min(axis.expr.clone()).alias("lo"),
                    agg::max(axis.expr.clone()).alias("hi"),
                ],
            )?
            .build()?;
        let batches = self.execute_now(&plan)?;
        let b = batches.iter().find(|b| b.num_rows() > 0);
        let get = |i: usize| -> QResult<Value> {
            Ok(match b {
                Some(b) => crate::types::array_to_values(b.column(i), axis.ty)?
                    .pop()
                    .unwrap_or(Value::Null),
                None => Value::Null,
            })
        };
        Ok((get(0)?, get(1)?))
    }
}
