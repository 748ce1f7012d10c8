//! Operators that start a query: `print`, `range`, `datatable`, `union`, `evaluate`,
//! and `union` as a pipe operator.

use super::expr::ExprCtx;
use super::{Col, Env, Planner, Tabular};
use crate::error::{QResult, QueryError};
use crate::types::{arrow_type, null_scalar, values_to_array};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::logical_expr::{cast, lit, Expr, LogicalPlanBuilder};
use kql::ast::{self, OperatorKind};
use kql_value::ops::{self, Arith};
use kql_value::{KqlType, Value};

/// The most rows `range` may produce (a guard against typos like `step 1tick`).
const MAX_RANGE_ROWS: usize = 100_000_000;

impl Planner<'_> {
    pub fn plan_source(&self, op: &ast::Operator, env: &Env) -> QResult<Tabular> {
        match &op.kind {
            OperatorKind::Print(items) => self.plan_print(items, env),
            OperatorKind::Range {
                column,
                from,
                to,
                step,
            } => self.plan_range(column, from, to, step, env),
            OperatorKind::Datatable { columns, values } => {
                self.plan_datatable(op, columns, values, env)
            }
            OperatorKind::Union(legs) => self.plan_union(None, op, legs, env),
            OperatorKind::Evaluate { plugin, args } => self.plan_evaluate(None, plugin, args, env),
            OperatorKind::Search { tables, predicate } => {
                self.plan_search(None, op, tables, predicate, env)
            }
            OperatorKind::Unsupported(name) => Err(QueryError::semantic(
                format!("The '{name}' operator is not supported"),
                op.keyword_span,
            )),
            _ => Err(QueryError::semantic(
                "This operator needs an input: start the query with a table name and '|'",
                op.keyword_span,
            )),
        }
    }

    fn plan_print(&self, items: &[ast::NamedExpr], env: &Env) -> QResult<Tabular> {
        let mut proj = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let mut cx = ExprCtx::new(None, env, "print");
            let b = self.bind_scalar(&item.expr, &mut cx)?;
            if let Some(cols) = self.multi_columns(item, &b) {
                proj.extend(cols);
                continue;
            }
            let name = match item.names.first() {
                Some(n) => n.name.clone(),
                None => format!("print_{i}"),
            };
            proj.push((b.expr, Col::new(name, b.ty)));
        }
        let one = Tabular {
            plan: LogicalPlanBuilder::empty(true).build()?,
            cols: vec![],
            serialized: true,
            name: None,
        };
        one.project(proj)
    }

    fn plan_range(
        &self,
        column: &ast::Ident,
        from: &ast::Expr,
        to: &ast::Expr,
        step: &ast::Expr,
        env: &Env,
    ) -> QResult<Tabular> {
        let f = self.const_value(from, env, "range")?;
        let t = self.const_value(to, env, "range")?;
        let s = self.const_value(step, env, "range")?;
        let ty = match (f.kql_type(), t.kql_type()) {
            (Some(KqlType::DateTime), _) => KqlType::DateTime,
            (Some(KqlType::TimeSpan), _) => KqlType::TimeSpan,
            (Some(KqlType::Real), _) | (_, Some(KqlType::Real)) => KqlType::Real,
            (Some(KqlType::Decimal), _) => KqlType::Real,
            (Some(KqlType::Int), Some(KqlType::Int)) => KqlType::Int,
            _ => KqlType::Long,
        };
        let mut values = Vec::new();
        let start = f.convert(ty);
        let stop = t.convert(ty);
        if start.is_null() || stop.is_null() || s.is_null() {
            return Err(QueryError::semantic(
                "range: from, to and step must be non-null constants",
                column.span,
            ));
        }
        let step_positive = s.as_f64().map(|x| x > 0.0);
        if step_positive.is_none() || s.as_f64() == Some(0.0) {
            return Err(QueryError::semantic(
                "range: the step must be a non-zero constant",
                step.span,
            ));
        }
        let up = step_positive == Some(true);
        let mut cur = start;
        loop {
            let past = match ops::order(&cur, &stop) {
                Some(std::cmp::Ordering::Greater) => up,
                Some(std::cmp::Ordering::Less) => !up,
                Some(std::cmp::Ordering::Equal) => false,
                None => true,
            };
            if past {
                break;
            }
            values.push(cur.clone());
            if values.len() > MAX_RANGE_ROWS {
                return Err(QueryError::semantic(
                    format!("range would produce more than {MAX_RANGE_ROWS} rows"),
                    step.span,
                ));
            }
            let next = ops::arith(Arith::Add, &cur, &s).convert(ty);
            if next.is_null() || next == cur {
                break;
            }
            cur = next;
        }
        let col = Col::new(column.name.clone(), ty);
        let schema = std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new(vec![
            crate::types::kql_field(&col.name, ty),
        ]));
        let batch = RecordBatch::try_new(schema, vec![values_to_array(&values, ty)])
            .map_err(|e| QueryError::execution(e.to_string()))?;
        self.memory_table(vec![col], vec![batch])
    }

    fn plan_datatable(
        &self,
        op: &ast::Operator,
        columns: &[ast::ColumnDecl],
        values: &[ast::Expr],
        env: &Env,
    ) -> QResult<Tabular> {
        if columns.is_empty() {
            return Err(QueryError::semantic(
                "datatable needs at least one column",
                op.keyword_span,
            ));
        }
        if !values.len().is_multiple_of(columns.len()) {
            return Err(QueryError::semantic(
                format!(
                    "datatable has {} columns but {} values: the values must fill whole rows",
                    columns.len(),
                    values.len()
                ),
                op.span,
            ));
        }
        let mut per_col: Vec<Vec<Value>> = vec![Vec::new(); columns.len()];
        for (i, e) in values.iter().enumerate() {
            let v = self.const_value(e, env, "datatable")?;
            per_col[i % columns.len()].push(v);
        }
        let cols: Vec<Col> = columns
            .iter()
            .map(|c| Col::new(c.name.name.clone(), super::expr::type_of_name(c.ty)))
            .collect();
        let arrays = cols
            .iter()
            .zip(&per_col)
            .map(|(c, vals)| values_to_array(vals, c.ty))
            .collect();
        let schema = std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new(
            cols.iter()
                .map(|c| crate::types::kql_field(&c.name, c.ty))
                .collect::<Vec<_>>(),
        ));
        let batch = RecordBatch::try_new(schema, arrays)
            .map_err(|e| QueryError::execution(e.to_string()))?;
        self.memory_table(cols, vec![batch])
    }

    /// `union`: the superset of the legs' columns (missing ones null); a column whose
    /// type differs between legs becomes one column per type (`x_long`, `x_string`).
    pub fn plan_union(
        &self,
        input: Option<Tabular>,
        op: &ast::Operator,
        legs: &[ast::Expr],
        env: &Env,
    ) -> QResult<Tabular> {
        let mut tabs: Vec<(String, Tabular)> = Vec::new();
        if let Some(t) = input {
            tabs.push((t.name.clone().unwrap_or_default(), t));
        }
        let mut isfuzzy = false;
        let mut withsource: Option<String> = None;
        let mut inner_kind = false;
        for o in &op.options {
            match o.name.name.as_str() {
                "isfuzzy" => {
                    isfuzzy = self
                        .const_value(&o.value, env, "union")
                        .ok()
                        .and_then(|v| v.as_bool())
                        .unwrap_or(false)
                }
                "withsource" => {
                    withsource = Some(match &o.value.kind {
                        ast::ExprKind::Name(id) => id.name.clone(),
                        _ => self.const_value(&o.value, env, "union")?.to_kql_string(),
                    })
                }
                "kind" => {
                    inner_kind =
                        matches!(&o.value.kind, ast::ExprKind::Name(id) if id.name == "inner");
                }
                _ => {}
            }
        }
        for leg in legs {
            // Wildcard table names: `union Email*`.
            if let ast::ExprKind::Name(id) = &leg.kind {
                if id.name.contains('*') {
                    let mut let_names: Vec<String> = env
                        .names()
                        .filter(|n| super::operators::glob_match(&id.name, n))
                        .map(String::from)
                        .collect();
                    let_names.sort();
                    for name in let_names {
                        let ident = ast::Ident {
                            name: name.clone(),
                            span: id.span,
                        };
                        if self.is_tabular(
                            &ast::Expr {
                                kind: ast::ExprKind::Name(ident.clone()),
                                span: id.span,
                            },
                            env,
                        ) {
                            tabs.push((name, self.resolve_table(&ident, env)?));
                        }
                    }
                    for name in self.tables.table_names() {
                        if super::operators::glob_match(&id.name, &name) {
                            if let Some(t) = self.tables.table(&name) {
                                tabs.push((name, t));
                            }
                        }
                    }
                    continue;
                }
            }
            let name = match &leg.kind {
                ast::ExprKind::Name(id) => id.name.clone(),
                _ => format!("union_arg{}", tabs.len()),
            };
            match self.plan_tabular(leg, env) {
                Ok(t) => tabs.push((t.name.clone().unwrap_or(name), t)),
                Err(_) if isfuzzy => {}
                Err(e) => return Err(e),
            }
        }
        if tabs.is_empty() {
            return Err(QueryError::semantic(
                "union has no tables to combine",
                op.keyword_span,
            ));
        }
        self.union_tabulars(tabs, withsource, inner_kind)
    }

    /// Unions named tabulars: the superset of their columns (or the common ones for
    /// `kind=inner`), with an optional column naming each row's source.
    pub fn union_tabulars(
        &self,
        tabs: Vec<(String, Tabular)>,
        withsource: Option<String>,
        inner_kind: bool,
    ) -> QResult<Tabular> {
        // Output columns: name → types seen, in first-seen order.
        let mut names: Vec<String> = Vec::new();
        let mut types: std::collections::HashMap<String, Vec<KqlType>> = Default::default();
        for (_, t) in &tabs {
            for c in &t.cols {
                let e = types.entry(c.name.clone()).or_default();
                if e.is_empty() {
                    names.push(c.name.clone());
                }
                if !e.contains(&c.ty) {
                    e.push(c.ty);
                }
            }
        }
        let mut out_cols: Vec<(String, String, KqlType)> = Vec::new(); // (source name, output name, type)
        for n in &names {
            let ts = &types[n];
            if ts.len() == 1 {
                out_cols.push((n.clone(), n.clone(), ts[0]));
            } else {
                for t in ts {
                    out_cols.push((n.clone(), format!("{n}_{}", t.name()), *t));
                }
            }
        }
        // Names made by type suffixes may collide with real columns: number them.
        let mut seen: Vec<String> = Vec::new();
        #[allow(clippy::needless_range_loop)]
        for i in 0..out_cols.len() {
            let plain = names.contains(&out_cols[i].1) && out_cols[i].0 == out_cols[i].1;
            if !plain && names.contains(&out_cols[i].1) {
                out_cols[i].1 = super::summarize::unique_name(out_cols[i].1.clone(), &names);
            }
            let n = super::summarize::unique_name(out_cols[i].1.clone(), &seen);
            seen.push(n.clone());
            out_cols[i].1 = n;
        }
        if inner_kind {
            out_cols.retain(|(src, _, ty)| {
                tabs.iter()
                    .all(|(_, t)| t.cols.iter().any(|c| &c.name == src && c.ty == *ty))
            });
        }
        let mut plans = Vec::new();
        for (leg_name, t) in &tabs {
            let mut proj: Vec<(Expr, Col)> = Vec::new();
            if let Some(ws) = &withsource {
                proj.push((lit(leg_name.clone()), Col::new(ws.clone(), KqlType::String)));
            }
            for (src, out, ty) in &out_cols {
                let e = match t.cols.iter().position(|c| &c.name == src && c.ty == *ty) {
                    Some(i) => t.col_expr(i),
                    None => cast(lit(null_scalar(*ty)), arrow_type(*ty)),
                };
                proj.push((e, Col::new(out.clone(), *ty)));
            }
            plans.push(t.project(proj)?);
        }
        let cols = plans[0].cols.clone();
        let mut b = LogicalPlanBuilder::from(plans[0].plan.clone());
        for p in &plans[1..] {
            b = b.union(p.plan.clone())?;
        }
        Ok(Tabular {
            plan: b.build()?,
            cols,
            serialized: false,
            name: None,
        })
    }
}
