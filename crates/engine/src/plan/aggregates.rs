//! Aggregation functions in `summarize`: each call becomes a DataFusion aggregate under
//! an internal name, plus an optional finishing expression applied after grouping
//! (list → dynamic array, nearest-rank percentile, casts to Kusto's result types).

use super::expr::{Bound, ExprCtx};
use super::Planner;
use crate::error::{QResult, QueryError};
use crate::types::arrow_type;
use crate::udf::list::{ListFinish, ListFunction};
use datafusion::common::Column;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::{cast, lit, Expr, ExprFunctionExt};
use kql::ast::{self, Span};
use kql_value::{KqlType, Value};

/// What turns an aggregate's raw output into the KQL value (applied after grouping).
type Finish = Box<dyn FnOnce(Expr) -> Expr>;

/// One aggregate computed by the Aggregate node.
#[derive(Clone, Debug)]
pub(crate) struct AggItem {
    pub expr: Expr,
    pub name: String,
}

pub(crate) const AGGREGATES: &[&str] = &[
    "count",
    "countif",
    "sum",
    "sumif",
    "avg",
    "avgif",
    "min",
    "max",
    "minif",
    "maxif",
    "dcount",
    "dcountif",
    "make_list",
    "make_list_if",
    "make_list_with_nulls",
    "make_set",
    "make_set_if",
    "make_bag",
    "make_bag_if",
    "take_any",
    "take_anyif",
    "any",
    "anyif",
    "stdev",
    "stdevif",
    "stdevp",
    "variance",
    "varianceif",
    "variancep",
    "variancepif",
    "stdevpif",
    "covariance",
    "covarianceif",
    "covariancep",
    "covariancepif",
    "percentile",
    "percentiles",
    "percentiles_array",
    "arg_max",
    "arg_min",
    "hll",
    "hll_if",
    "hll_merge",
    "tdigest",
    "tdigest_merge",
    "merge_tdigest",
    "percentilew",
    "percentilesw",
    "percentilesw_array",
    "binary_all_and",
    "binary_all_or",
    "binary_all_xor",
];

pub(crate) fn is_aggregate(name: &str) -> bool {
    AGGREGATES.contains(&name)
}

/// Kusto's default result column name for an unnamed aggregate (`count_`, `avg_X`...).
pub(crate) fn default_name(name: &str, args: &[ast::Arg]) -> String {
    let arg0 = args.first().and_then(|a| simple_name(&a.value));
    let with = |prefix: &str| match &arg0 {
        Some(a) => format!("{prefix}_{a}"),
        None => format!("{prefix}_"),
    };
    match name {
        "count" => with("count"),
        "countif" => "countif_".into(),
        "make_list" | "make_list_if" | "make_list_with_nulls" => with("list"),
        "make_set" | "make_set_if" => with("set"),
        "make_bag" | "make_bag_if" => with("bag"),
        "take_any" | "any" | "take_anyif" | "anyif" => with("any"),
        "percentiles_array" | "percentilesw_array" => with("percentiles"),
        "percentile" | "percentilew" => {
            let p = args
                .get(if name == "percentilew" { 2 } else { 1 })
                .and_then(|a| match &a.value.kind {
                    ast::ExprKind::Literal(ast::Literal::Long(v)) => Some(v.to_string()),
                    ast::ExprKind::Literal(ast::Literal::Real(v)) => {
                        Some(v.to_string().replace('.', "_"))
                    }
                    _ => None,
                })
                .unwrap_or_default();
            format!("{}_{p}", with("percentile"))
        }
        "covariance" | "covarianceif" | "covariancep" | "covariancepif" => {
            let b = args
                .get(1)
                .and_then(|a| simple_name(&a.value))
                .unwrap_or_default();
            format!("{}_{b}", with(name))
        }
        other => with(other),
    }
}

/// The column name of an unnamed expression in `extend`/`project`: a column keeps its
/// name; the sketch functions name theirs after the function and column
/// (`dcount_hll(merged)` → `dcount_hll_merged`); anything else gets `Column{n}`.
pub(crate) fn projected_name(e: &ast::Expr) -> Option<String> {
    if let ast::ExprKind::Call { name, args } = &e.kind {
        if matches!(
            name.name.as_str(),
            "dcount_hll" | "percentile_tdigest" | "percentiles_array_tdigest"
        ) {
            return args
                .first()
                .and_then(|a| simple_name(&a.value))
                .map(|c| format!("{}_{c}", name.name));
        }
    }
    simple_name(e)
}

/// The name an expression gives its column when it is a plain column reference.
pub(crate) fn simple_name(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        ast::ExprKind::Name(id) => Some(id.name.clone()),
        ast::ExprKind::Paren(i) => simple_name(i),
        ast::ExprKind::Member { base, name } => {
            simple_name(base).map(|b| format!("{b}_{}", name.name))
        }
        _ => None,
    }
}

/// The percentiles of `percentile(s)`/`percentilesw` calls: constants (or a constant
/// dynamic array) between 0 and 100.
fn percent_args(function: &str, args: &[Bound], span: Span) -> QResult<Vec<f64>> {
    let ps: Vec<f64> = args
        .iter()
        .flat_map(|p| match &p.value {
            Some(Value::Dynamic(serde_json::Value::Array(a))) => {
                a.iter().filter_map(|j| j.as_f64()).collect::<Vec<_>>()
            }
            Some(v) => v.as_f64().into_iter().collect(),
            None => vec![],
        })
        .collect();
    if ps.is_empty() || ps.iter().any(|p| !(0.0..=100.0).contains(p)) {
        return Err(QueryError::semantic(
            format!("{function}(): percentiles must be constants between 0 and 100"),
            span,
        ));
    }
    Ok(ps)
}

fn limit_arg(b: Option<&Bound>) -> Option<u64> {
    b.and_then(|b| b.value.as_ref())
        .and_then(|v| v.as_i64())
        .map(|v| v.max(0) as u64)
}

impl Planner<'_> {
    pub fn bind_aggregate_call(
        &self,
        name: &ast::Ident,
        args: &[ast::Arg],
        cx: &mut ExprCtx,
        span: Span,
    ) -> QResult<Bound> {
        let n = name.name.as_str();
        if matches!(n, "arg_max" | "arg_min") {
            return Err(QueryError::semantic(
                format!("{n}() must be the whole aggregate expression, e.g. summarize arg_max(Timestamp, *) by AccountUpn"),
                span,
            ));
        }
        // Arguments see the input rows, not other aggregates.
        let mut inner = ExprCtx::new(cx.input, cx.env, cx.op);
        let mut b = Vec::with_capacity(args.len());
        for a in args {
            if matches!(a.value.kind, ast::ExprKind::Star) {
                continue;
            }
            b.push(self.bind_scalar(&a.value, &mut inner)?);
        }
        let need = |k: usize| -> QResult<()> {
            if b.len() < k {
                Err(QueryError::semantic(
                    format!("The aggregation function '{n}' expects at least {k} argument(s)"),
                    span,
                ))
            } else {
                Ok(())
            }
        };
        let pred = |i: usize, b: &[Bound]| -> Expr { b[i].expr.clone() };
        let (agg_expr, finish, ty): (Expr, Option<Finish>, KqlType) = match n {
            "count" => {
                // Kusto counts rows whatever the argument (nulls included).
                let e = agg::count(lit(1i64));
                (e, None, KqlType::Long)
            }
            "countif" => {
                need(1)?;
                let e = agg::count(lit(1i64)).filter(pred(0, &b)).build()?;
                (
                    e,
                    Some(Box::new(|e| {
                        datafusion::functions::expr_fn::coalesce(vec![e, lit(0i64)])
                    })),
                    KqlType::Long,
                )
            }
            "sum" | "sumif" => {
                need(if n == "sum" { 1 } else { 2 })?;
                let ty = match b[0].ty {
                    KqlType::Int | KqlType::Long | KqlType::Bool => KqlType::Long,
                    KqlType::TimeSpan => KqlType::TimeSpan,
                    _ => KqlType::Real,
                };
                let x = if ty == KqlType::TimeSpan {
                    b[0].expr.clone()
                } else {
                    cast(b[0].expr.clone(), arrow_type(ty))
                };
                let mut e = agg::sum(x);
                if n == "sumif" {
                    e = e.filter(pred(1, &b)).build()?;
                }
                (e, None, ty)
            }
            "avg" | "avgif" => {
                need(if n == "avg" { 1 } else { 2 })?;
                let mut e = agg::avg(cast(b[0].expr.clone(), arrow_type(KqlType::Real)));
                if n == "avgif" {
                    e = e.filter(pred(1, &b)).build()?;
                }
                (e, None, KqlType::Real)
            }
            "min" | "max" | "minif" | "maxif" => {
                need(if n.ends_with("if") { 2 } else { 1 })?;
                let x = b[0].expr.clone();
                let mut e = if n.starts_with("min") {
                    agg::min(x)
                } else {
                    agg::max(x)
                };
                if n.ends_with("if") {
                    e = e.filter(pred(1, &b)).build()?;
                }
                (e, None, b[0].ty)
            }
            "dcount" | "dcountif" => {
                need(if n == "dcount" { 1 } else { 2 })?;
                let mut e = agg::approx_distinct(b[0].expr.clone());
                if n == "dcountif" {
                    e = e.filter(pred(1, &b)).build()?;
                }
                (
                    e,
                    Some(Box::new(|e| cast(e, arrow_type(KqlType::Long)))),
                    KqlType::Long,
                )
            }
            "make_list"
            | "make_list_if"
            | "make_list_with_nulls"
            | "make_set"
            | "make_set_if"
            | "make_bag"
            | "make_bag_if" => {
                let is_if = n.ends_with("_if");
                need(if is_if { 2 } else { 1 })?;
                let elem = b[0].ty;
                let limit = limit_arg(b.get(if is_if { 2 } else { 1 }));
                let keep_nulls = n == "make_list_with_nulls";
                let x = b[0].expr.clone();
                let mut filter = if keep_nulls {
                    None
                } else {
                    Some(x.clone().is_not_null())
                };
                if is_if {
                    let p = pred(1, &b);
                    filter = Some(match filter {
                        Some(f) => f.and(p),
                        None => p,
                    });
                }
                let mut e = agg::array_agg(x);
                if let Some(f) = filter {
                    e = e.filter(f).build()?;
                }
                let finish = if n.starts_with("make_bag") {
                    ListFinish::Bag { limit }
                } else {
                    ListFinish::List {
                        keep_nulls,
                        limit,
                        distinct: n.starts_with("make_set"),
                    }
                };
                (
                    e,
                    Some(Box::new(move |e| {
                        ListFunction::call(finish, elem, KqlType::Dynamic, e)
                    })),
                    KqlType::Dynamic,
                )
            }
            "take_any" | "any" | "take_anyif" | "anyif" => {
                let is_if = n.ends_with("if");
                need(if is_if { 2 } else { 1 })?;
                let mut e = agg::first_value(b[0].expr.clone(), vec![]);
                if is_if {
                    e = e.filter(pred(1, &b)).build()?;
                }
                (e, None, b[0].ty)
            }
            "covariance" | "covarianceif" | "covariancep" | "covariancepif" => {
                let is_if = n.ends_with("if");
                need(if is_if { 3 } else { 2 })?;
                let x = cast(b[0].expr.clone(), arrow_type(KqlType::Real));
                let y = cast(b[1].expr.clone(), arrow_type(KqlType::Real));
                let mut e = if n.starts_with("covariancep") {
                    agg::covar_pop(x, y)
                } else {
                    agg::covar_samp(x, y)
                };
                if is_if {
                    e = e.filter(pred(2, &b)).build()?;
                }
                (e, None, KqlType::Real)
            }
            "stdev" | "stdevif" | "stdevp" | "stdevpif" | "variance" | "varianceif"
            | "variancep" | "variancepif" => {
                let is_if = n.ends_with("if");
                need(if is_if { 2 } else { 1 })?;
                let x = cast(b[0].expr.clone(), arrow_type(KqlType::Real));
                let mut e = match n {
                    "stdev" | "stdevif" => agg::stddev(x),
                    "stdevp" | "stdevpif" => agg::stddev_pop(x),
                    "variance" | "varianceif" => agg::var_sample(x),
                    _ => agg::var_pop(x),
                };
                if is_if {
                    e = e.filter(pred(1, &b)).build()?;
                }
                (e, None, KqlType::Real)
            }
            "percentile" | "percentiles" | "percentiles_array" => {
                need(2)?;
                let elem = b[0].ty;
                let ps = percent_args(n, &b[1..], span)?;
                let e = agg::array_agg(b[0].expr.clone())
                    .filter(b[0].expr.clone().is_not_null())
                    .build()?;
                if n == "percentile" || (n == "percentiles" && ps.len() == 1) {
                    let finish = ListFinish::Percentile {
                        percent_bits: ps[0].to_bits(),
                    };
                    (
                        e,
                        Some(Box::new(move |e| ListFunction::call(finish, elem, elem, e))),
                        elem,
                    )
                } else {
                    let finish = ListFinish::Percentiles {
                        percent_bits: ps.iter().map(|p| p.to_bits()).collect(),
                    };
                    (
                        e,
                        Some(Box::new(move |e| {
                            ListFunction::call(finish, elem, KqlType::Dynamic, e)
                        })),
                        KqlType::Dynamic,
                    )
                }
            }
            "hll" | "hll_if" | "hll_merge" | "tdigest" | "tdigest_merge" | "merge_tdigest" => {
                need(1)?;
                let elem = b[0].ty;
                let (x, finish) = match n {
                    "hll" | "hll_if" => (
                        b[0].clone(),
                        ListFinish::List {
                            keep_nulls: false,
                            limit: None,
                            distinct: true,
                        },
                    ),
                    "hll_merge" => (
                        b[0].clone(),
                        ListFinish::List {
                            keep_nulls: false,
                            limit: None,
                            distinct: true,
                        },
                    ),
                    "tdigest" => {
                        let w = b
                            .get(1)
                            .cloned()
                            .unwrap_or_else(|| Bound::constant(Value::Long(1), KqlType::Long));
                        (
                            self.registry_call("pack_array", vec![b[0].clone(), w], span),
                            ListFinish::List {
                                keep_nulls: false,
                                limit: None,
                                distinct: false,
                            },
                        )
                    }
                    _ => (b[0].clone(), ListFinish::Concat),
                };
                let elem = if n == "tdigest" {
                    KqlType::Dynamic
                } else {
                    elem
                };
                let mut e = agg::array_agg(x.expr.clone())
                    .filter(x.expr.clone().is_not_null())
                    .build()?;
                if n == "hll_if" {
                    need(2)?;
                    e = agg::array_agg(x.expr.clone())
                        .filter(x.expr.clone().is_not_null().and(pred(1, &b)))
                        .build()?;
                }
                (
                    e,
                    Some(Box::new(move |e| {
                        ListFunction::call(finish, elem, KqlType::Dynamic, e)
                    })),
                    KqlType::Dynamic,
                )
            }
            "percentilew" | "percentilesw" | "percentilesw_array" => {
                need(3)?;
                let elem = b[0].ty;
                let ps = percent_args(n, &b[2..], span)?;
                let pair = self.registry_call("pack_array", vec![b[0].clone(), b[1].clone()], span);
                let e = agg::array_agg(pair.expr)
                    .filter(b[0].expr.clone().is_not_null())
                    .build()?;
                let as_array = n == "percentilesw_array" || ps.len() > 1;
                let finish = ListFinish::WeightedPercentiles {
                    percent_bits: ps.iter().map(|p| p.to_bits()).collect(),
                    as_array,
                };
                let ret = if as_array { KqlType::Dynamic } else { elem };
                (
                    e,
                    Some(Box::new(move |e| {
                        ListFunction::call(finish, KqlType::Dynamic, ret, e)
                    })),
                    ret,
                )
            }
            "binary_all_and" | "binary_all_or" | "binary_all_xor" => {
                need(1)?;
                let x = cast(b[0].expr.clone(), arrow_type(KqlType::Long));
                let e = match n {
                    "binary_all_and" => agg::bit_and(x),
                    "binary_all_or" => agg::bit_or(x),
                    _ => agg::bit_xor(x),
                };
                (e, None, KqlType::Long)
            }
            other => {
                return Err(QueryError::semantic(
                    format!("The aggregation function '{other}' is not supported yet"),
                    name.span,
                ))
            }
        };
        let internal = self.internal_name();
        if let Some(aggs) = cx.aggs.as_deref_mut() {
            aggs.push(AggItem {
                expr: agg_expr,
                name: internal.clone(),
            });
        }
        let col = Expr::Column(Column::new_unqualified(internal));
        let expr = match finish {
            Some(f) => f(col),
            None => col,
        };
        Ok(Bound::column(expr, ty))
    }
}
