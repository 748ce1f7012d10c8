//! The row-shaping operators: where, extend, project and its family, sort, top, take,
//! distinct, count, serialize, getschema, render, invoke, sample, as.

use super::expr::ExprCtx;
use super::summarize::column_n;
use super::{Col, Env, Planner, RenderHint, Tabular};
use crate::error::{suggest, QResult, QueryError};
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, SortExpr};
use kql::ast::{self, OperatorKind, Span};
use kql_value::{KqlType, Value};

/// Whether `name` matches a `project-away`-style pattern with `*` wildcards.
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == name;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = name;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(p) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(pos) => rest = &rest[pos + p.len()..],
                None => return false,
            }
        }
    }
    true
}

impl Planner<'_> {
    pub fn plan_operator(&self, t: Tabular, op: &ast::Operator, env: &Env) -> QResult<Tabular> {
        match &op.kind {
            OperatorKind::Where(pred) => self.plan_where(t, pred, env),
            OperatorKind::Extend(items) => self.plan_extend(t, items, env, "extend"),
            OperatorKind::Project(items) => self.plan_project(t, items, env),
            OperatorKind::ProjectAway(pats) => {
                let keep = self.match_patterns(&t, pats, false)?;
                let items = t
                    .passthrough()
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| !keep.contains(i))
                    .map(|(_, x)| x)
                    .collect();
                t.project(items)
            }
            OperatorKind::ProjectKeep(pats) => {
                let keep = self.match_patterns(&t, pats, false)?;
                let items = t
                    .passthrough()
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| keep.contains(i))
                    .map(|(_, x)| x)
                    .collect();
                t.project(items)
            }
            OperatorKind::ProjectRename(pairs) => {
                let mut items = t.passthrough();
                for (new, old) in pairs {
                    let Some(i) = t.find(&old.name) else {
                        return Err(self.unknown_column("project-rename", &old.name, old.span, &t));
                    };
                    items[i].1.name = new.name.clone();
                }
                t.project(items)
            }
            OperatorKind::ProjectReorder(pats) => {
                let mut order: Vec<usize> = Vec::new();
                for (p, dir) in pats {
                    let mut matched: Vec<usize> = (0..t.cols.len())
                        .filter(|i| glob_match(&p.pattern, &t.cols[*i].name) && !order.contains(i))
                        .collect();
                    if matched.is_empty() && !p.is_wildcard() {
                        return Err(self.unknown_column("project-reorder", &p.pattern, p.span, &t));
                    }
                    match dir.as_deref() {
                        Some("asc") | Some("granny-asc") => {
                            matched.sort_by(|a, b| t.cols[*a].name.cmp(&t.cols[*b].name))
                        }
                        Some("desc") | Some("granny-desc") => {
                            matched.sort_by(|a, b| t.cols[*b].name.cmp(&t.cols[*a].name))
                        }
                        _ => {}
                    }
                    order.extend(matched);
                }
                for i in 0..t.cols.len() {
                    if !order.contains(&i) {
                        order.push(i);
                    }
                }
                let all = t.passthrough();
                t.project(order.into_iter().map(|i| all[i].clone()).collect())
            }
            OperatorKind::Summarize { aggregates, by } => {
                self.plan_summarize(t, aggregates, by, env)
            }
            OperatorKind::Sort(keys) => self.plan_sort(t, keys, env, None),
            OperatorKind::Top { count, by } => {
                let n = self.const_count(count, env, "top")?;
                self.plan_sort(t, by, env, Some(n))
            }
            OperatorKind::Take(count) => {
                let n = self.const_count(count, env, "take")?;
                let plan = LogicalPlanBuilder::from(t.plan.clone())
                    .limit(0, Some(n))?
                    .build()?;
                Ok(t.with_plan(plan))
            }
            OperatorKind::Sample(count) => {
                let n = self.const_count(count, env, "sample")?;
                let plan = LogicalPlanBuilder::from(t.plan.clone())
                    .limit(0, Some(n))?
                    .build()?;
                Ok(t.with_plan(plan))
            }
            OperatorKind::Distinct(items) => {
                let projected =
                    if items.len() == 1 && matches!(items[0].expr.kind, ast::ExprKind::Star) {
                        t
                    } else {
                        self.plan_project(t, items, env)?
                    };
                let plan = LogicalPlanBuilder::from(projected.plan.clone())
                    .distinct()?
                    .build()?;
                let mut out = projected.with_plan(plan);
                out.serialized = false;
                Ok(out)
            }
            OperatorKind::Count => {
                let plan = LogicalPlanBuilder::from(t.plan.clone())
                    .aggregate(
                        Vec::<Expr>::new(),
                        vec![datafusion::functions_aggregate::expr_fn::count(
                            datafusion::logical_expr::lit(1i64),
                        )
                        .alias("Count")],
                    )?
                    .build()?;
                Ok(Tabular {
                    plan,
                    cols: vec![Col::new("Count", KqlType::Long)],
                    serialized: true,
                    name: None,
                })
            }
            OperatorKind::Serialize(items) => {
                let mut out = self.plan_extend(t, items, env, "serialize")?;
                out.serialized = true;
                Ok(out)
            }
            OperatorKind::GetSchema => self.plan_getschema(&t),
            OperatorKind::Render { chart, properties } => {
                let mut props = Vec::new();
                for p in properties {
                    let v = match &p.value.kind {
                        ast::ExprKind::Name(id) => serde_json::Value::String(id.name.clone()),
                        _ => self
                            .const_value(&p.value, env, "render")
                            .map(|v| v.to_json())
                            .unwrap_or(serde_json::Value::Null),
                    };
                    props.push((p.name.name.clone(), v));
                }
                *self.render.borrow_mut() = Some(RenderHint {
                    visualization: chart.name.clone(),
                    properties: props,
                });
                Ok(t)
            }
            OperatorKind::As(id) => {
                let mut t = t;
                t.name = Some(id.name.clone());
                Ok(t)
            }
            OperatorKind::Invoke { function, args } => {
                let Some(super::Binding::Function(f, fenv)) = env.get(&function.name).cloned()
                else {
                    return Err(QueryError::semantic(
                        format!("'{}' is not a function defined with let", function.name),
                        function.span,
                    ));
                };
                let Some(first) = f.params.first() else {
                    return Err(QueryError::semantic(
                        "invoke needs a function whose first parameter is a table",
                        function.span,
                    ));
                };
                let mut inner = fenv.clone();
                inner.insert(first.name.name.clone(), super::Binding::Tabular(t));
                let rest = ast::FunctionDef {
                    params: f.params[1..].to_vec(),
                    lets: f.lets.clone(),
                    body: f.body.clone(),
                    is_view: f.is_view,
                    span: f.span,
                };
                let mut env2 =
                    self.bind_function_args(&rest, &inner, args, env, function.span, None)?;
                for l in &rest.lets {
                    self.bind_let(l, &mut env2)?;
                }
                self.plan_tabular(&rest.body, &env2)
            }
            OperatorKind::Join { right, on } => self.plan_join(t, op, right, on, env, false),
            OperatorKind::Lookup { right, on } => self.plan_join(t, op, right, on, env, true),
            OperatorKind::Union(legs) => self.plan_union(Some(t), op, legs, env),
            OperatorKind::MvExpand(items) => self.plan_mv_expand(t, op, items, env),
            OperatorKind::Parse {
                source,
                pattern,
                filter,
            } => self.plan_parse(t, op, source, pattern, *filter, env),
            OperatorKind::Evaluate { plugin, args } => {
                self.plan_evaluate(Some(t), plugin, args, env)
            }
            OperatorKind::MakeSeries {
                aggregates,
                on,
                from,
                to,
                step,
                by,
            } => self.plan_make_series(
                t,
                op,
                aggregates,
                on,
                from.as_ref(),
                to.as_ref(),
                step,
                by,
                env,
            ),
            OperatorKind::MvApply { items, on } => self.plan_mv_apply(t, op, items, on, env),
            OperatorKind::TopNested(levels) => self.plan_top_nested(t, op, levels, env),
            OperatorKind::Search { tables, predicate } => {
                self.plan_search(Some(t), op, tables, predicate, env)
            }
            OperatorKind::Print(_)
            | OperatorKind::Range { .. }
            | OperatorKind::Datatable { .. } => Err(QueryError::semantic(
                "This operator starts a query and cannot follow '|'",
                op.keyword_span,
            )),
            OperatorKind::Unsupported(name) => Err(QueryError::semantic(
                format!("The '{name}' operator is not supported"),
                op.keyword_span,
            )),
        }
    }

    pub fn unknown_column(&self, op: &str, name: &str, span: Span, t: &Tabular) -> QueryError {
        let mut err = QueryError::semantic(
            format!(
                "'{op}' operator: Failed to resolve column or scalar expression named '{name}'"
            ),
            span,
        );
        if let Some(s) = suggest(name, t.names()) {
            err = err.with_help(s);
        }
        err
    }

    fn match_patterns(
        &self,
        t: &Tabular,
        pats: &[ast::ColumnPattern],
        _keep: bool,
    ) -> QResult<Vec<usize>> {
        let mut out = Vec::new();
        for p in pats {
            let matched: Vec<usize> = (0..t.cols.len())
                .filter(|i| glob_match(&p.pattern, &t.cols[*i].name))
                .collect();
            if matched.is_empty() && !p.is_wildcard() {
                return Err(self.unknown_column("project-away", &p.pattern, p.span, t));
            }
            out.extend(matched);
        }
        Ok(out)
    }

    pub fn const_count(&self, e: &ast::Expr, env: &Env, op: &'static str) -> QResult<usize> {
        let v = self.const_value(e, env, op)?;
        match v.as_i64() {
            Some(n) if n >= 0 => Ok(n as usize),
            _ => Err(QueryError::semantic(
                format!("'{op}': the row count must be a non-negative number"),
                e.span,
            )),
        }
    }

    /// Adds a window node computing `windows` (if any) below a projection.
    /// Adds window nodes computing `windows` (if any) below a projection. A window
    /// function whose arguments use another's result (`row_number(1, prev(x) != x)`)
    /// goes in a later node.
    pub(crate) fn with_windows(&self, t: &Tabular, windows: Vec<(Expr, Col)>) -> QResult<Tabular> {
        let mut t = t.clone();
        let mut remaining = windows;
        while !remaining.is_empty() {
            let pending: Vec<String> = remaining.iter().map(|(_, c)| c.name.clone()).collect();
            let (ready, later): (Vec<_>, Vec<_>) = remaining
                .into_iter()
                .partition(|(e, _)| !e.column_refs().iter().any(|c| pending.contains(&c.name)));
            if ready.is_empty() {
                return Err(QueryError::execution(
                    "window functions depend on each other in a cycle",
                ));
            }
            let exprs: Vec<Expr> = ready
                .iter()
                .map(|(e, c)| e.clone().alias(c.name.clone()))
                .collect();
            let plan = LogicalPlanBuilder::from(t.plan.clone())
                .window(exprs)?
                .build()?;
            let mut cols = t.cols.clone();
            cols.extend(ready.into_iter().map(|(_, c)| c));
            t = Tabular {
                plan,
                cols,
                serialized: t.serialized,
                name: t.name.clone(),
            };
            remaining = later;
        }
        Ok(t)
    }

    fn plan_where(&self, t: Tabular, pred: &ast::Expr, env: &Env) -> QResult<Tabular> {
        let mut cx = ExprCtx::new(Some(&t), env, "where");
        let b = self.bind_scalar(pred, &mut cx)?;
        let windows = std::mem::take(&mut cx.windows);
        let b = self.convert_bound(b, KqlType::Bool);
        if let Some(v) = &b.value {
            if v.as_bool() == Some(true) {
                return Ok(t);
            }
        }
        let n = t.cols.len();
        let base = self.with_windows(&t, windows)?;
        let plan = LogicalPlanBuilder::from(base.plan.clone())
            .filter(b.expr)?
            .build()?;
        let filtered = base.with_plan(plan);
        if filtered.cols.len() == n {
            return Ok(filtered);
        }
        let items = filtered.passthrough().into_iter().take(n).collect();
        filtered.project(items)
    }

    pub fn plan_extend(
        &self,
        mut t: Tabular,
        items: &[ast::NamedExpr],
        env: &Env,
        op: &'static str,
    ) -> QResult<Tabular> {
        for item in items {
            let mut cx = ExprCtx::new(Some(&t), env, op);
            let b = self.bind_scalar(&item.expr, &mut cx)?;
            let windows = std::mem::take(&mut cx.windows);
            if let Some(cols) = self.multi_columns(item, &b) {
                let base = self.with_windows(&t, windows)?;
                let n = t.cols.len();
                let mut proj: Vec<(Expr, Col)> = base.passthrough().into_iter().take(n).collect();
                for (e, c) in cols {
                    match t.find(&c.name) {
                        Some(i) => proj[i] = (e, c),
                        None => proj.push((e, c)),
                    }
                }
                t = base.project(proj)?;
                continue;
            }
            if item.names.len() > 1 {
                return Err(QueryError::semantic(
                    "Assigning several columns from one expression needs a function that returns several columns (such as series_decompose_anomalies)",
                    item.span,
                ));
            }
            let taken: Vec<String> = t.cols.iter().map(|c| c.name.clone()).collect();
            let name = match item.names.first() {
                Some(n) => n.name.clone(),
                None => super::aggregates::projected_name(&item.expr)
                    .unwrap_or_else(|| column_n(&taken)),
            };
            let base = self.with_windows(&t, windows)?;
            let n = t.cols.len();
            let mut proj: Vec<(Expr, Col)> = base.passthrough().into_iter().take(n).collect();
            let col = Col::new(name.clone(), b.ty);
            match t.find(&name) {
                Some(i) => proj[i] = (b.expr, col),
                None => proj.push((b.expr, col)),
            }
            t = base.project(proj)?;
        }
        Ok(t)
    }

    fn plan_project(&self, t: Tabular, items: &[ast::NamedExpr], env: &Env) -> QResult<Tabular> {
        let mut proj: Vec<(Expr, Col)> = Vec::new();
        let mut windows = Vec::new();
        let mut taken: Vec<String> = Vec::new();
        for item in items {
            let mut cx = ExprCtx::new(Some(&t), env, "project");
            let b = self.bind_scalar(&item.expr, &mut cx)?;
            windows.extend(std::mem::take(&mut cx.windows));
            if let Some(cols) = self.multi_columns(item, &b) {
                taken.extend(cols.iter().map(|(_, c)| c.name.clone()));
                proj.extend(cols);
                continue;
            }
            let name = match item.names.first() {
                Some(n) => n.name.clone(),
                None => super::aggregates::projected_name(&item.expr)
                    .unwrap_or_else(|| column_n(&taken)),
            };
            taken.push(name.clone());
            proj.push((b.expr, Col::new(name, b.ty)));
        }
        let base = self.with_windows(&t, windows)?;
        base.project(proj)
    }

    fn plan_sort(
        &self,
        t: Tabular,
        keys: &[ast::SortKey],
        env: &Env,
        fetch: Option<usize>,
    ) -> QResult<Tabular> {
        let mut sort = Vec::new();
        for k in keys {
            let b = self.bind_scalar_in(
                &k.expr,
                env,
                Some(&t),
                if fetch.is_some() { "top" } else { "sort" },
            )?;
            let desc = k.descending.unwrap_or(true);
            let nulls_first = k.nulls_first.unwrap_or(!desc);
            sort.push(SortExpr::new(b.expr, !desc, nulls_first));
        }
        let mut b = LogicalPlanBuilder::from(t.plan.clone());
        b = match fetch {
            Some(n) => b.sort_with_limit(sort, Some(n))?,
            None => b.sort(sort)?,
        };
        let mut out = t.with_plan(b.build()?);
        out.serialized = true;
        Ok(out)
    }

    fn plan_getschema(&self, t: &Tabular) -> QResult<Tabular> {
        let cols = vec![
            Col::new("ColumnName", KqlType::String),
            Col::new("ColumnOrdinal", KqlType::Int),
            Col::new("DataType", KqlType::String),
            Col::new("ColumnType", KqlType::String),
        ];
        let mut names = Vec::new();
        let mut ords = Vec::new();
        let mut dts = Vec::new();
        let mut kts = Vec::new();
        for (i, c) in t.cols.iter().enumerate() {
            names.push(Value::String(c.name.clone()));
            ords.push(Value::Int(i as i32));
            dts.push(Value::String(dotnet_type(c.ty).to_string()));
            kts.push(Value::String(c.ty.name().to_string()));
        }
        let arrays = vec![
            crate::types::values_to_array(&names, KqlType::String),
            crate::types::values_to_array(&ords, KqlType::Int),
            crate::types::values_to_array(&dts, KqlType::String),
            crate::types::values_to_array(&kts, KqlType::String),
        ];
        let schema = std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new(
            cols.iter()
                .map(|c| crate::types::kql_field(&c.name, c.ty))
                .collect::<Vec<_>>(),
        ));
        let batch = datafusion::arrow::record_batch::RecordBatch::try_new(schema, arrays)
            .map_err(|e| QueryError::execution(e.to_string()))?;
        self.memory_table(cols, vec![batch])
    }
}

/// The .NET type name `getschema` reports in `DataType`.
pub(crate) fn dotnet_type(t: KqlType) -> &'static str {
    match t {
        KqlType::Bool => "System.SByte",
        KqlType::Int => "System.Int32",
        KqlType::Long => "System.Int64",
        KqlType::Real => "System.Double",
        KqlType::Decimal => "System.Data.SqlTypes.SqlDecimal",
        KqlType::String => "System.String",
        KqlType::DateTime => "System.DateTime",
        KqlType::TimeSpan => "System.TimeSpan",
        KqlType::Guid => "System.Guid",
        KqlType::Dynamic => "System.Object",
    }
}
