//! `evaluate` plugins. Plugins whose output columns depend on the data (`bag_unpack`)
//! run their input first, then plan over the result.

use super::{Col, Env, Planner, Tabular};
use crate::error::{QResult, QueryError};
use crate::types::array_to_values;
use crate::udf::value_fn::ValueFnKind;
use datafusion::logical_expr::Expr;
use kql::ast;
use kql_value::{KqlType, Value};

/// The KQL type that fits every non-null value of a bag key.
fn infer_type(values: &[&serde_json::Value]) -> KqlType {
    let mut t: Option<KqlType> = None;
    for v in values {
        let vt = match v {
            serde_json::Value::Null => continue,
            serde_json::Value::Bool(_) => KqlType::Bool,
            serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => KqlType::Long,
            serde_json::Value::Number(_) => KqlType::Real,
            serde_json::Value::String(_) => KqlType::String,
            _ => KqlType::Dynamic,
        };
        t = Some(match t {
            None => vt,
            Some(p) if p == vt => p,
            Some(KqlType::Long) if vt == KqlType::Real => KqlType::Real,
            Some(KqlType::Real) if vt == KqlType::Long => KqlType::Real,
            _ => KqlType::Dynamic,
        });
    }
    t.unwrap_or(KqlType::Dynamic)
}

impl Planner<'_> {
    pub fn plan_evaluate(
        &self,
        input: Option<Tabular>,
        plugin: &ast::Ident,
        args: &[ast::Arg],
        env: &Env,
    ) -> QResult<Tabular> {
        match (plugin.name.as_str(), input) {
            ("bag_unpack", Some(t)) => self.plan_bag_unpack(t, plugin, args, env),
            ("pivot", Some(t)) => self.plan_pivot(t, plugin, args, env),
            ("ipv4_lookup", Some(t)) => {
                self.plan_ip_lookup(t, plugin, args, env, "ipv4_is_in_range")
            }
            ("ipv6_lookup", Some(t)) => {
                self.plan_ip_lookup(t, plugin, args, env, "ipv6_is_in_range")
            }
            (name, _) => Err(QueryError::semantic(
                format!("The '{name}' plugin is not supported"),
                plugin.span,
            )),
        }
    }

    fn plan_bag_unpack(
        &self,
        t: Tabular,
        plugin: &ast::Ident,
        args: &[ast::Arg],
        env: &Env,
    ) -> QResult<Tabular> {
        let Some(first) = args.first() else {
            return Err(QueryError::semantic(
                "bag_unpack needs the dynamic column to unpack",
                plugin.span,
            ));
        };
        let bag = self.bind_scalar_in(&first.value, env, Some(&t), "evaluate")?;
        let bag = self.convert_bound(bag, KqlType::Dynamic);
        let mut prefix = String::new();
        let mut conflict = "error".to_string();
        let mut ignored: Vec<String> = Vec::new();
        for (i, a) in args.iter().enumerate().skip(1) {
            let v = self.const_value(&a.value, env, "evaluate")?;
            match a.name.as_ref().map(|n| n.name.as_str()) {
                Some("columnsConflict") => conflict = v.to_kql_string(),
                Some("ignoredProperties") => {
                    if let Value::Dynamic(serde_json::Value::Array(a)) = v {
                        ignored = a
                            .iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect();
                    }
                }
                Some("OutputColumnPrefix") | None if i == 1 => prefix = v.to_kql_string(),
                _ => {}
            }
        }
        // Discover the keys and their types from the data.
        let plan = datafusion::logical_expr::LogicalPlanBuilder::from(t.plan.clone())
            .project(vec![bag.expr.clone()])?
            .build()?;
        let mut keys: Vec<String> = Vec::new();
        let mut samples: std::collections::HashMap<String, Vec<serde_json::Value>> =
            Default::default();
        for b in self.execute_now(&plan)? {
            for v in array_to_values(b.column(0), KqlType::Dynamic)? {
                if let Value::Dynamic(serde_json::Value::Object(m)) = v {
                    for (k, x) in m {
                        if ignored.contains(&k) {
                            continue;
                        }
                        if !samples.contains_key(&k) {
                            keys.push(k.clone());
                        }
                        samples.entry(k).or_default().push(x);
                    }
                }
            }
        }
        keys.sort();
        let source_col = match &first.value.kind {
            ast::ExprKind::Name(id) => t.find(&id.name),
            _ => None,
        };
        let mut proj: Vec<(Expr, Col)> = Vec::new();
        for (i, c) in t.cols.iter().enumerate() {
            if Some(i) == source_col {
                continue;
            }
            proj.push((t.col_expr(i), c.clone()));
        }
        for k in &keys {
            let name = format!("{prefix}{k}");
            let vals: Vec<&serde_json::Value> = samples[k].iter().collect();
            let ty = infer_type(&vals);
            let get = self.value_call(
                "bag_unpack",
                ValueFnKind::Member,
                vec![
                    bag.clone(),
                    super::expr::Bound::constant(Value::String(k.clone()), KqlType::String),
                ],
                KqlType::Dynamic,
                false,
            );
            let typed = self.convert_bound(get, ty);
            match proj.iter().position(|(_, c)| c.name == name) {
                Some(p) => match conflict.as_str() {
                    "replace_source" => proj[p] = (typed.expr, Col::new(name, ty)),
                    "keep_source" => {}
                    _ => {
                        return Err(QueryError::semantic(
                            format!("bag_unpack: the property '{k}' clashes with an existing column; use columnsConflict='replace_source' or 'keep_source', or a prefix"),
                            plugin.span,
                        ))
                    }
                },
                None => proj.push((typed.expr, Col::new(name, ty))),
            }
        }
        t.project(proj)
    }

    /// `evaluate pivot(Col[, agg(x)][, key, ...])`: one column per distinct value of
    /// `Col`, holding the aggregate of that value's rows, grouped by the other columns.
    fn plan_pivot(
        &self,
        t: Tabular,
        plugin: &ast::Ident,
        args: &[ast::Arg],
        env: &Env,
    ) -> QResult<Tabular> {
        let Some(first) = args.first() else {
            return Err(QueryError::semantic(
                "pivot needs the column whose values become columns",
                plugin.span,
            ));
        };
        let ast::ExprKind::Name(pivot_col) = &first.value.kind else {
            return Err(QueryError::semantic(
                "pivot's first argument must be a column name",
                first.value.span,
            ));
        };
        let Some(pi) = t.find(&pivot_col.name) else {
            return Err(self.unknown_column("evaluate", &pivot_col.name, pivot_col.span, &t));
        };
        let span = plugin.span;
        let (agg, keys_from) = match args.get(1).map(|a| &a.value.kind) {
            Some(ast::ExprKind::Call { name, .. })
                if super::aggregates::is_aggregate(&name.name) =>
            {
                (Some(&args[1].value), 2)
            }
            _ => (None, 1),
        };
        // Columns the aggregate reads are not grouping keys.
        let mut agg_cols: Vec<String> = Vec::new();
        if let Some(ast::Expr {
            kind: ast::ExprKind::Call { args: a, .. },
            ..
        }) = agg
        {
            for x in a {
                if let Some(n) = super::aggregates::simple_name(&x.value) {
                    agg_cols.push(n);
                }
            }
        }
        let keys: Vec<ast::NamedExpr> = if args.len() > keys_from {
            args[keys_from..]
                .iter()
                .map(|a| ast::NamedExpr {
                    names: vec![],
                    expr: a.value.clone(),
                    span: a.value.span,
                })
                .collect()
        } else {
            t.cols
                .iter()
                .enumerate()
                .filter(|(i, c)| *i != pi && !agg_cols.contains(&c.name))
                .map(|(_, c)| name_expr(&c.name, span))
                .collect()
        };
        // The distinct values, as text, in order.
        let text = self.convert_bound(
            super::expr::Bound::column(t.col_expr(pi), t.cols[pi].ty),
            KqlType::String,
        );
        let plan = datafusion::logical_expr::LogicalPlanBuilder::from(t.plan.clone())
            .project(vec![text.expr.alias("v")])?
            .distinct()?
            .build()?;
        let mut values: Vec<String> = Vec::new();
        for b in self.execute_now(&plan)? {
            for v in array_to_values(b.column(0), KqlType::String)? {
                values.push(v.to_kql_string());
            }
        }
        values.sort();
        values.dedup();
        let ident = |n: &str| ast::Ident {
            name: n.to_string(),
            span,
        };
        let call = |n: &str, a: Vec<ast::Expr>| ast::Expr {
            kind: ast::ExprKind::Call {
                name: ident(n),
                args: a
                    .into_iter()
                    .map(|value| ast::Arg { name: None, value })
                    .collect(),
            },
            span,
        };
        let mut aggs = Vec::new();
        for v in &values {
            let cond = ast::Expr {
                kind: ast::ExprKind::Binary {
                    op: ast::BinaryOp::Eq,
                    left: Box::new(call(
                        "tostring",
                        vec![name_expr(&pivot_col.name, span).expr],
                    )),
                    right: Box::new(ast::Expr {
                        kind: ast::ExprKind::Literal(ast::Literal::String(v.clone())),
                        span,
                    }),
                },
                span,
            };
            let expr = match agg {
                None => call("countif", vec![cond]),
                Some(ast::Expr {
                    kind: ast::ExprKind::Call { name, args: a },
                    ..
                }) => {
                    let base = name.name.as_str();
                    let conditional = match base {
                        "count" => "countif".to_string(),
                        "take_any" | "any" => "take_anyif".to_string(),
                        "make_list" | "make_set" | "make_bag" => format!("{base}_if"),
                        other => format!("{other}if"),
                    };
                    if !super::aggregates::is_aggregate(&conditional) {
                        return Err(QueryError::semantic(
                            format!("pivot does not support the aggregation '{base}'"),
                            name.span,
                        ));
                    }
                    let mut xs: Vec<ast::Expr> = a
                        .iter()
                        .filter(|x| !matches!(x.value.kind, ast::ExprKind::Star))
                        .map(|x| x.value.clone())
                        .collect();
                    xs.push(cond);
                    call(&conditional, xs)
                }
                Some(other) => {
                    return Err(QueryError::semantic(
                        "pivot's second argument must be an aggregation",
                        other.span,
                    ))
                }
            };
            aggs.push(ast::NamedExpr {
                names: vec![ident(v)],
                expr,
                span,
            });
        }
        self.plan_summarize(t, &aggs, &keys, env)
    }

    /// `evaluate ipv4_lookup(Lookup, ip_column, range_column[, return_unmatched])`: each
    /// row joined with the lookup rows whose IP range holds its address.
    fn plan_ip_lookup(
        &self,
        t: Tabular,
        plugin: &ast::Ident,
        args: &[ast::Arg],
        env: &Env,
        in_range: &'static str,
    ) -> QResult<Tabular> {
        use datafusion::common::{Column, JoinType};
        use datafusion::logical_expr::LogicalPlanBuilder;
        if args.len() < 3 {
            return Err(QueryError::semantic(
                format!(
                    "{} needs the lookup table, the address column and the range column",
                    plugin.name
                ),
                plugin.span,
            ));
        }
        let lookup = self.plan_tabular(&args[0].value, env)?;
        let col_of = |t: &Tabular, a: &ast::Arg| -> QResult<usize> {
            let n = super::aggregates::simple_name(&a.value).unwrap_or_default();
            t.find(&n)
                .ok_or_else(|| self.unknown_column("evaluate", &n, a.value.span, t))
        };
        let ip = col_of(&t, &args[1])?;
        let range = col_of(&lookup, &args[2])?;
        let unmatched = match args.get(3) {
            Some(a) => self
                .const_value(&a.value, env, "evaluate")?
                .as_bool()
                .unwrap_or(false),
            None => false,
        };
        let lq = self.internal_name();
        let rq = self.internal_name();
        let lplan = LogicalPlanBuilder::from(t.plan.clone())
            .alias(lq.clone())?
            .build()?;
        let rplan = LogicalPlanBuilder::from(lookup.plan.clone())
            .alias(rq.clone())?
            .build()?;
        let lcol = |i: usize| Expr::Column(Column::new(Some(lq.clone()), t.cols[i].name.clone()));
        let rcol =
            |i: usize| Expr::Column(Column::new(Some(rq.clone()), lookup.cols[i].name.clone()));
        let cond = self.registry_call(
            in_range,
            vec![
                super::expr::Bound::column(lcol(ip), t.cols[ip].ty),
                super::expr::Bound::column(rcol(range), lookup.cols[range].ty),
            ],
            plugin.span,
        );
        let join_type = if unmatched {
            JoinType::Left
        } else {
            JoinType::Inner
        };
        let plan = LogicalPlanBuilder::from(lplan)
            .join_on(rplan, join_type, vec![cond.expr])?
            .build()?;
        let joined = Tabular {
            plan,
            cols: vec![],
            serialized: false,
            name: None,
        };
        let mut proj: Vec<(Expr, Col)> = (0..t.cols.len())
            .map(|i| (lcol(i), t.cols[i].clone()))
            .collect();
        let mut taken: Vec<String> = t.cols.iter().map(|c| c.name.clone()).collect();
        for (i, c) in lookup.cols.iter().enumerate() {
            let name = super::summarize::unique_name(c.name.clone(), &taken);
            taken.push(name.clone());
            proj.push((rcol(i), Col::new(name, c.ty)));
        }
        joined.project(proj)
    }
}

fn name_expr(name: &str, span: kql::ast::Span) -> ast::NamedExpr {
    let e = ast::Expr {
        kind: ast::ExprKind::Name(ast::Ident {
            name: name.to_string(),
            span,
        }),
        span,
    };
    ast::NamedExpr {
        names: vec![],
        expr: e,
        span,
    }
}
