//! Functions whose result is several columns (`series_stats`, `series_fit_line`,
//! `series_decompose_anomalies`, `array_sort_asc(a, b)` ...): the registry returns one
//! dynamic value (a bag, or an array for the array sorts) and the planner spreads it into
//! columns named `<function>_<argument>_<part>` unless the query names them
//! (`extend (flag, score, baseline) = series_decompose_anomalies(y)`).

use super::aggregates::simple_name;
use super::expr::Bound;
use super::{Col, Planner};
use crate::udf::value_fn::ValueFnKind;
use kql::ast;
use kql_value::{KqlType, Value};

/// The parts of a multi-column function: (key in the bag, name suffix, type).
fn parts(function: &str) -> Option<&'static [(&'static str, &'static str, KqlType)]> {
    use KqlType::{Dynamic as D, Long as L, Real as R};
    Some(match function {
        "series_stats" => &[
            ("min", "min", R),
            ("min_idx", "min_idx", L),
            ("max", "max", R),
            ("max_idx", "max_idx", L),
            ("avg", "avg", R),
            ("stdev", "stdev", R),
            ("variance", "variance", R),
        ],
        "series_fit_line" => &[
            ("rsquare", "rsquare", R),
            ("slope", "slope", R),
            ("variance", "variance", R),
            ("rvariance", "rvariance", R),
            ("interception", "interception", R),
            ("line_fit", "line_fit", D),
        ],
        "series_decompose" => &[
            ("baseline", "baseline", D),
            ("seasonal", "seasonal", D),
            ("trend", "trend", D),
            ("residual", "residual", D),
        ],
        "series_decompose_anomalies" => &[
            ("ad_flag", "ad_flag", D),
            ("ad_score", "ad_score", D),
            ("baseline", "baseline", D),
        ],
        "series_periods_detect" => &[("periods", "periods", D), ("scores", "periods_scores", D)],
        _ => return None,
    })
}

impl Planner<'_> {
    /// The columns of `item` when it calls a multi-column function; None otherwise.
    pub fn multi_columns(
        &self,
        item: &ast::NamedExpr,
        bound: &Bound,
    ) -> Option<Vec<(datafusion::logical_expr::Expr, Col)>> {
        let ast::ExprKind::Call { name, args } = &item.expr.kind else {
            return None;
        };
        let arg0 = args
            .first()
            .and_then(|a| simple_name(&a.value))
            .unwrap_or_default();
        let mut specs: Vec<(Value, String, KqlType)> = Vec::new();
        if let Some(ps) = parts(&name.name) {
            if item.names.len() == 1 {
                return None;
            }
            for (key, suffix, ty) in ps {
                specs.push((
                    Value::String(key.to_string()),
                    format!("{}_{arg0}_{suffix}", name.name),
                    *ty,
                ));
            }
        } else if matches!(name.name.as_str(), "array_sort_asc" | "array_sort_desc") {
            let arrays: Vec<&ast::Arg> = args
                .iter()
                .filter(|a| !matches!(a.value.kind, ast::ExprKind::Literal(ast::Literal::Bool(_))))
                .collect();
            if arrays.len() < 2 {
                return None;
            }
            for (i, a) in arrays.iter().enumerate() {
                let base = simple_name(&a.value).unwrap_or_else(|| format!("array{}", i + 1));
                specs.push((
                    Value::Long(i as i64),
                    format!("{base}_sorted"),
                    KqlType::Dynamic,
                ));
            }
        } else {
            return None;
        }
        let mut out = Vec::with_capacity(specs.len());
        for (i, (key, default_name, ty)) in specs.into_iter().enumerate() {
            let key_ty = key.kql_type().unwrap_or(KqlType::String);
            let part = self.value_call(
                "part",
                ValueFnKind::Member,
                vec![bound.clone(), Bound::constant(key, key_ty)],
                KqlType::Dynamic,
                false,
            );
            let part = self.convert_bound(part, ty);
            let name = item
                .names
                .get(i)
                .map(|n| n.name.clone())
                .unwrap_or(default_name);
            out.push((part.expr, Col::new(name, ty)));
        }
        Some(out)
    }
}
