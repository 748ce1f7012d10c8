//! Binding function calls: the functions the planner handles itself (`iff`, `case`,
//! `now`, `ago`, `toscalar`, conversions, window functions, user functions) and then
//! the `kql-value` registry.

use super::expr::{Bound, ExprCtx};
use super::{Binding, Col, Env, Planner};
use crate::error::{suggest, QResult, QueryError};
use crate::types::arrow_type;
use crate::udf::value_fn::ValueFnKind;
use datafusion::logical_expr::{cast, lit, when, Expr};
use kql::ast::{self, Span};
use kql_value::{KqlType, Value};

/// Conversion functions and the type they convert to.
fn conversion_target(name: &str) -> Option<KqlType> {
    Some(match name {
        "tostring" => KqlType::String,
        "toint" => KqlType::Int,
        "tolong" => KqlType::Long,
        "toreal" | "todouble" => KqlType::Real,
        "todecimal" => KqlType::Decimal,
        "tobool" | "toboolean" => KqlType::Bool,
        "todatetime" => KqlType::DateTime,
        "totimespan" | "totime" => KqlType::TimeSpan,
        "todynamic" | "parse_json" | "toobject" => KqlType::Dynamic,
        _ => return None,
    })
}

/// `typeof(long)` as a function argument: the type it names.
fn typeof_arg(e: &ast::Expr) -> Option<KqlType> {
    if let ast::ExprKind::Call { name, args } = &e.kind {
        if name.name == "typeof" && args.len() == 1 {
            if let ast::ExprKind::Name(id) = &args[0].value.kind {
                return KqlType::parse(&id.name);
            }
        }
    }
    None
}

fn check_arity(
    name: &ast::Ident,
    args: &[ast::Arg],
    min: usize,
    max: usize,
    span: Span,
) -> QResult<()> {
    if args.len() < min || args.len() > max {
        let expected = if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(QueryError::semantic(
            format!(
                "The function '{}' expects {expected} argument(s) but was given {}",
                name.name,
                args.len()
            ),
            span,
        ));
    }
    Ok(())
}

/// The common result type of branches (`iff`, `case`): typed nulls adopt the others' type.
pub(crate) fn branch_type(branches: &[&Bound]) -> KqlType {
    let non_null: Vec<KqlType> = branches
        .iter()
        .filter(|b| !matches!(b.value, Some(Value::Null)))
        .map(|b| b.ty)
        .collect();
    let tys = if non_null.is_empty() {
        branches.iter().map(|b| b.ty).collect()
    } else {
        non_null
    };
    let mut t = tys[0];
    for u in &tys[1..] {
        if *u == t {
            continue;
        }
        if t.is_numeric() && u.is_numeric() {
            t = t.max(*u);
        } else {
            return KqlType::Dynamic;
        }
    }
    t
}

impl Planner<'_> {
    pub fn bind_call(
        &self,
        name: &ast::Ident,
        args: &[ast::Arg],
        cx: &mut ExprCtx,
        span: Span,
    ) -> QResult<Bound> {
        let n = name.name.as_str();
        // User functions shadow built-ins.
        if let Some(Binding::Function(f, fenv)) = cx.env.get(n) {
            let (f, fenv) = (f.clone(), fenv.clone());
            return self.call_scalar_function(&f, &fenv, args, cx, span);
        }
        // Sketch merges are aggregates in summarize and scalar functions elsewhere.
        let scalar_too = matches!(n, "hll_merge" | "merge_tdigest" | "tdigest_merge");
        if super::aggregates::is_aggregate(n)
            && !(scalar_too && (cx.aggs.is_none() || args.len() > 1))
        {
            if cx.aggs.is_some() {
                return self.bind_aggregate_call(name, args, cx, span);
            }
            return Err(QueryError::semantic(
                format!("'{n}' is an aggregation function: it can only be used in summarize (or make-series)"),
                name.span,
            ));
        }
        if let Some(b) = self.bind_window_call(name, args, cx, span)? {
            return Ok(b);
        }
        match n {
            "now" => {
                check_arity(name, args, 0, 1, span)?;
                let offset = match args.first() {
                    Some(a) => self.bind_scalar(&a.value, cx)?.value.and_then(|v| v.as_i64()).unwrap_or(0),
                    None => 0,
                };
                return Ok(Bound::constant(Value::DateTime(self.now + offset), KqlType::DateTime));
            }
            "ago" => {
                check_arity(name, args, 1, 1, span)?;
                let t = self.bind_scalar(&args[0].value, cx)?;
                let now = Bound::constant(Value::DateTime(self.now), KqlType::DateTime);
                let t = self.convert_bound(t, KqlType::TimeSpan);
                return self.bind_arith(kql_value::ops::Arith::Sub, now, t, span);
            }
            "iff" | "iif" => {
                check_arity(name, args, 3, 3, span)?;
                let c = self.bind_scalar(&args[0].value, cx)?;
                let a = self.bind_scalar(&args[1].value, cx)?;
                let b = self.bind_scalar(&args[2].value, cx)?;
                return Ok(self.bind_case(vec![(c, a)], b));
            }
            "case" => {
                if args.len() < 3 || args.len().is_multiple_of(2) {
                    return Err(QueryError::semantic(
                        "case() expects pairs of predicate and value followed by an else value",
                        span,
                    ));
                }
                let mut pairs = Vec::new();
                for pair in args[..args.len() - 1].chunks(2) {
                    let c = self.bind_scalar(&pair[0].value, cx)?;
                    let v = self.bind_scalar(&pair[1].value, cx)?;
                    pairs.push((c, v));
                }
                let e = self.bind_scalar(&args[args.len() - 1].value, cx)?;
                return Ok(self.bind_case(pairs, e));
            }
            "isnull" | "isnotnull" => {
                check_arity(name, args, 1, 1, span)?;
                let x = self.bind_scalar(&args[0].value, cx)?;
                let want_null = n == "isnull";
                if let Some(v) = &x.value {
                    let is = v.is_null() && x.ty != KqlType::String;
                    return Ok(Bound::constant(Value::Bool(is == want_null), KqlType::Bool));
                }
                if x.ty == KqlType::String {
                    return Ok(Bound::constant(Value::Bool(!want_null), KqlType::Bool));
                }
                let e = if want_null { x.expr.is_null() } else { x.expr.is_not_null() };
                return Ok(Bound::column(e, KqlType::Bool));
            }
            "isempty" | "isnotempty" if args.len() == 1 => {
                let x = self.bind_scalar(&args[0].value, cx)?;
                let want_empty = n == "isempty";
                if x.ty == KqlType::String && x.value.is_none() {
                    let empty = x.expr.clone().is_null().or(x.expr.eq(lit("")));
                    let e = if want_empty { empty } else { Expr::Not(Box::new(empty)) };
                    return Ok(Bound::column(e, KqlType::Bool));
                }
                let is_empty = self.value_call("isempty", ValueFnKind::Registry("isempty"), vec![x], KqlType::Bool, false);
                return Ok(if want_empty {
                    is_empty
                } else {
                    self.value_call("not", ValueFnKind::Not, vec![is_empty], KqlType::Bool, false)
                });
            }
            "not" => {
                check_arity(name, args, 1, 1, span)?;
                let x = self.bind_scalar(&args[0].value, cx)?;
                if x.ty == KqlType::Bool && x.value.is_none() {
                    return Ok(Bound::column(Expr::Not(Box::new(x.expr)), KqlType::Bool));
                }
                return Ok(self.value_call("not", ValueFnKind::Not, vec![x], KqlType::Bool, false));
            }
            "toscalar" => {
                check_arity(name, args, 1, 1, span)?;
                if !self.is_tabular(&args[0].value, cx.env) {
                    return self.bind_scalar(&args[0].value, cx);
                }
                let t = self.plan_tabular(&args[0].value, cx.env)?;
                let Some(first) = t.cols.first().cloned() else {
                    return Ok(Bound::constant(Value::Null, KqlType::Dynamic));
                };
                let plan = datafusion::logical_expr::LogicalPlanBuilder::from(t.plan.clone())
                    .project(vec![t.col_expr(0)])?
                    .limit(0, Some(1))?
                    .build()?;
                let batches = self.execute_now(&plan)?;
                let v = batches
                    .iter()
                    .find(|b| b.num_rows() > 0)
                    .map(|b| crate::types::array_to_values(b.column(0), first.ty))
                    .transpose()?
                    .and_then(|mut v| v.drain(..).next())
                    .unwrap_or(Value::Null);
                return Ok(Bound::constant(v, first.ty));
            }
            "column_ifexists" => {
                check_arity(name, args, 2, 2, span)?;
                let col = self.const_value(&args[0].value, cx.env, "column_ifexists")?;
                if let Some(t) = cx.input {
                    if let Some(i) = t.find(&col.to_kql_string()) {
                        return Ok(Bound::column(t.col_expr(i), t.cols[i].ty));
                    }
                }
                return self.bind_scalar(&args[1].value, cx);
            }
            "pack_all" => {
                let Some(t) = cx.input else {
                    return Ok(Bound::constant(Value::Dynamic(serde_json::json!({})), KqlType::Dynamic));
                };
                let mut bargs = Vec::new();
                for (i, c) in t.cols.iter().enumerate() {
                    bargs.push(Bound::constant(Value::String(c.name.clone()), KqlType::String));
                    bargs.push(Bound::column(t.col_expr(i), c.ty));
                }
                return Ok(self.registry_call("bag_pack", bargs, span));
            }
            "column_names_of" => {
                check_arity(name, args, 1, 1, span)?;
                let t = self.plan_tabular(&args[0].value, cx.env)?;
                let names = t.cols.iter().map(|c| serde_json::Value::String(c.name.clone())).collect();
                return Ok(Bound::constant(Value::Dynamic(serde_json::Value::Array(names)), KqlType::Dynamic));
            }
            "bag_pack_columns" => {
                let mut bargs = Vec::new();
                for a in args {
                    let Some(col) = super::aggregates::simple_name(&a.value) else {
                        return Err(QueryError::semantic("bag_pack_columns takes column names", a.value.span));
                    };
                    bargs.push(Bound::constant(Value::String(col), KqlType::String));
                    bargs.push(self.bind_scalar(&a.value, cx)?);
                }
                return Ok(self.registry_call("bag_pack", bargs, span));
            }
            "assert" => {
                check_arity(name, args, 2, 2, span)?;
                let c = self.bind_scalar(&args[0].value, cx)?;
                let c = self.convert_bound(c, KqlType::Bool);
                if let Some(v) = &c.value {
                    if v.as_bool() != Some(true) {
                        let msg = self.const_value(&args[1].value, cx.env, "assert")?.to_kql_string();
                        return Err(QueryError::semantic(format!("assert() failed: {msg}"), span));
                    }
                }
                return Ok(c);
            }
            "bin_auto" => {
                check_arity(name, args, 1, 1, span)?;
                let x = self.bind_scalar(&args[0].value, cx)?;
                let Some(size) = self.options.bin_auto_size.clone() else {
                    return Err(QueryError::semantic(
                        "bin_auto() needs 'set query_bin_auto_size = ...;' before the query",
                        span,
                    ));
                };
                let size_ty = size.kql_type().unwrap_or(KqlType::Long);
                let mut bargs = vec![x.clone(), Bound::constant(size, size_ty)];
                if let Some(at) = self.options.bin_auto_at.clone() {
                    let at_ty = at.kql_type().unwrap_or(x.ty);
                    bargs.push(Bound::constant(at, at_ty));
                    return Ok(self.registry_call("bin_at", bargs, span));
                }
                return Ok(self.registry_call("bin", bargs, span));
            }
            "typeof" => {
                return Err(QueryError::semantic(
                    "typeof() can only be used where a type is expected, e.g. mv-expand x to typeof(long)",
                    span,
                ))
            }
            _ => {}
        }
        if matches!(n, "bin" | "floor") && args.len() == 2 {
            let x = self.bind_scalar(&args[0].value, cx)?;
            let step = self.bind_scalar(&args[1].value, cx)?;
            if let (KqlType::DateTime, None, Some(Value::TimeSpan(ns))) =
                (x.ty, &x.value, &step.value)
            {
                if *ns > 0 {
                    return Ok(Bound::column(
                        crate::udf::bin_time::BinTime::call(x.expr, *ns),
                        KqlType::DateTime,
                    ));
                }
            }
            return self.registry_call_checked(
                kql_value::lookup(n).ok_or_else(|| {
                    QueryError::semantic(format!("Unknown function: '{n}'"), name.span)
                })?,
                vec![x, step],
                span,
            );
        }
        if let Some(target) = conversion_target(n) {
            // `tostring(parse_url(x).Host)`: the text of the part, vectorised.
            if let (KqlType::String, [arg]) = (target, args) {
                if let (ast::ExprKind::Member { base, name: part }, None) =
                    (&arg.value.kind, &arg.name)
                {
                    if let Some(b) =
                        self.url_part_call(base, &part.name, cx, "__parse_url_part_text")?
                    {
                        return Ok(b);
                    }
                }
            }
            if !args.is_empty() {
                let x = self.bind_scalar(&args[0].value, cx)?;
                if args.len() == 1 {
                    return Ok(self.convert_bound(x, target));
                }
            }
        }
        let Some(f) = kql_value::lookup(n) else {
            let mut err = QueryError::semantic(format!("Unknown function: '{n}'"), name.span);
            let mut candidates: Vec<String> = cx.env.names().map(String::from).collect();
            candidates.extend(kql_value::functions::names().map(String::from));
            candidates.extend(super::aggregates::AGGREGATES.iter().map(|s| s.to_string()));
            let candidates = candidates.iter().map(|s| s.as_str());
            if let Some(s) = suggest(n, candidates) {
                err = err.with_help(s);
            }
            return Err(err);
        };
        check_arity(name, args, f.min_args, f.max_args, span)?;
        let mut bound = Vec::with_capacity(args.len());
        let mut typed_result: Option<KqlType> = None;
        for a in args {
            if let Some(t) = typeof_arg(&a.value) {
                typed_result = Some(t);
                bound.push(Bound::constant(
                    Value::String(t.name().to_string()),
                    KqlType::String,
                ));
                continue;
            }
            bound.push(self.bind_scalar(&a.value, cx)?);
        }
        let b = self.registry_call_checked(f, bound, span)?;
        Ok(match typed_result {
            Some(t) => self.convert_bound(b, t),
            None => b,
        })
    }

    /// Calls a registry function by name on bound arguments (for internal use).
    pub fn registry_call(&self, name: &'static str, args: Vec<Bound>, span: Span) -> Bound {
        match kql_value::lookup(name) {
            Some(f) => self
                .registry_call_checked(f, args, span)
                .unwrap_or_else(|_| Bound::constant(Value::Null, KqlType::Dynamic)),
            None => Bound::constant(Value::Null, KqlType::Dynamic),
        }
    }

    fn registry_call_checked(
        &self,
        f: &'static kql_value::ScalarFunction,
        args: Vec<Bound>,
        span: Span,
    ) -> QResult<Bound> {
        let types: Vec<KqlType> = args.iter().map(|a| a.ty).collect();
        let ret = (f.return_type)(&types)
            .map_err(|m| QueryError::semantic(format!("{}(): {m}", f.name), span))?;
        Ok(self.value_call(f.name, ValueFnKind::Registry(f.name), args, ret, f.volatile))
    }

    /// `iff`/`case` as a native CASE expression (lazy, vectorised).
    pub fn bind_case(&self, pairs: Vec<(Bound, Bound)>, otherwise: Bound) -> Bound {
        let mut branches: Vec<&Bound> = pairs.iter().map(|(_, v)| v).collect();
        branches.push(&otherwise);
        let ty = branch_type(&branches);
        // Fold when the conditions are constant.
        if pairs.iter().all(|(c, _)| c.value.is_some()) {
            for (c, v) in &pairs {
                if c.value.as_ref().and_then(|v| v.as_bool()) == Some(true) {
                    return self.convert_bound(v.clone(), ty);
                }
            }
            return self.convert_bound(otherwise, ty);
        }
        let conv = |b: Bound| -> Expr {
            let b = self.convert_bound(b, ty);
            if matches!(b.value, Some(Value::Null)) {
                cast(b.expr, arrow_type(ty))
            } else {
                b.expr
            }
        };
        let mut it = pairs.into_iter();
        let (c0, v0) = it.next().expect("case has at least one pair");
        let mut builder = when(self.convert_bound(c0, KqlType::Bool).expr, conv(v0));
        for (c, v) in it {
            builder = builder.when(self.convert_bound(c, KqlType::Bool).expr, conv(v));
        }
        match builder.otherwise(conv(otherwise)) {
            Ok(e) => Bound::column(e, ty),
            Err(_) => Bound::constant(Value::Null, ty),
        }
    }

    pub fn call_scalar_function(
        &self,
        f: &ast::FunctionDef,
        fenv: &Env,
        args: &[ast::Arg],
        cx: &mut ExprCtx,
        span: Span,
    ) -> QResult<Bound> {
        let mut inner = self.bind_function_args(f, fenv, args, cx.env, span, cx.input)?;
        for l in &f.lets {
            self.bind_let(l, &mut inner)?;
        }
        if self.is_tabular(&f.body, &inner) {
            return Err(QueryError::semantic(
                "This function returns a table, but a scalar value was expected here",
                span,
            ));
        }
        let mut inner_cx = ExprCtx {
            input: cx.input,
            env: &inner,
            op: cx.op,
            aggs: cx.aggs.as_deref_mut(),
            windows: Vec::new(),
        };
        let b = self.bind_scalar(&f.body, &mut inner_cx)?;
        let w = std::mem::take(&mut inner_cx.windows);
        cx.windows.extend(w);
        Ok(b)
    }

    /// Window functions over serialized rows: `row_number`, `prev`, `next`, `row_cumsum`.
    fn bind_window_call(
        &self,
        name: &ast::Ident,
        args: &[ast::Arg],
        cx: &mut ExprCtx,
        span: Span,
    ) -> QResult<Option<Bound>> {
        use datafusion::functions_window::expr_fn::{lag, lead, row_number};
        use datafusion::logical_expr::{
            ExprFunctionExt, WindowFrame, WindowFrameBound, WindowFrameUnits,
        };
        let n = name.name.as_str();
        if !matches!(
            n,
            "row_number" | "prev" | "next" | "row_cumsum" | "row_rank_dense" | "row_rank_min"
        ) {
            return Ok(None);
        }
        if let Some(t) = cx.input {
            if !t.serialized {
                return Err(QueryError::semantic(
                    format!("Function '{n}' cannot be invoked in current context: the row set must be serialized first (use sort, top, serialize or order by)"),
                    span,
                ));
            }
        }
        let mut bound = Vec::new();
        for a in args {
            bound.push(self.bind_scalar(&a.value, cx)?);
        }
        // With a restart predicate: the sequential window function.
        let restart_arg = match n {
            "row_number" | "row_cumsum" | "row_rank_dense" | "row_rank_min" => 1,
            _ => 0,
        };
        if restart_arg > 0 && bound.len() == restart_arg + 1 {
            use crate::udf::sequential::{SeqKind, Sequential};
            let (kind, ty) = match n {
                "row_number" => (
                    SeqKind::RowNumber {
                        start: bound[0]
                            .value
                            .as_ref()
                            .and_then(|v| v.as_i64())
                            .unwrap_or(1),
                    },
                    KqlType::Long,
                ),
                "row_cumsum" => (
                    SeqKind::CumSum,
                    if bound[0].ty == KqlType::Int {
                        KqlType::Long
                    } else {
                        bound[0].ty
                    },
                ),
                "row_rank_dense" => (SeqKind::RankDense, KqlType::Long),
                _ => (SeqKind::RankMin, KqlType::Long),
            };
            let restart = self.convert_bound(bound[restart_arg].clone(), KqlType::Bool);
            let (args, types) = if n == "row_number" {
                (vec![restart.expr], vec![KqlType::Bool])
            } else {
                (
                    vec![bound[0].expr.clone(), restart.expr],
                    vec![bound[0].ty, KqlType::Bool],
                )
            };
            let col_name = self.internal_name();
            cx.windows.push((
                Sequential::call(kind, args, types, ty),
                Col::new(col_name.clone(), ty),
            ));
            return Ok(Some(Bound::column(
                Expr::Column(datafusion::common::Column::new_unqualified(col_name)),
                ty,
            )));
        }
        let (expr, ty) = match n {
            "row_number" => {
                check_arity(name, args, 0, 2, span)?;
                let start = bound
                    .first()
                    .and_then(|b| b.value.as_ref())
                    .and_then(|v| v.as_i64())
                    .unwrap_or(1);
                if bound.len() > 1 {
                    return Err(QueryError::semantic(
                        "row_number with a restart predicate is not supported yet",
                        span,
                    ));
                }
                let col_name = self.internal_name();
                cx.windows
                    .push((row_number(), Col::new(col_name.clone(), KqlType::Long)));
                let e = Expr::Column(datafusion::common::Column::new_unqualified(col_name));
                return Ok(Some(Bound::column(
                    cast(e, arrow_type(KqlType::Long)) + lit(start - 1),
                    KqlType::Long,
                )));
            }
            "row_rank_dense" | "row_rank_min" => {
                check_arity(name, args, 1, 1, span)?;
                // The rows are serialized in the term's order (that is what these
                // functions are for): rank over that order keeps it.
                let order = vec![bound[0].expr.clone().sort(true, true)];
                let f = if n == "row_rank_dense" {
                    datafusion::functions_window::expr_fn::dense_rank()
                } else {
                    datafusion::functions_window::expr_fn::rank()
                };
                let col_name = self.internal_name();
                cx.windows.push((
                    f.order_by(order).build()?,
                    Col::new(col_name.clone(), KqlType::Long),
                ));
                let e = Expr::Column(datafusion::common::Column::new_unqualified(col_name));
                return Ok(Some(Bound::column(
                    cast(e, arrow_type(KqlType::Long)),
                    KqlType::Long,
                )));
            }
            "prev" | "next" => {
                check_arity(name, args, 1, 3, span)?;
                let ty = bound[0].ty;
                let offset = bound
                    .get(1)
                    .and_then(|b| b.value.as_ref())
                    .and_then(|v| v.as_i64())
                    .unwrap_or(1);
                let default = bound.get(2).map(|b| {
                    crate::types::value_to_scalar(b.value.as_ref().unwrap_or(&Value::Null), ty)
                });
                let x = bound[0].expr.clone();
                let e = if n == "prev" {
                    lag(x, Some(offset), default)
                } else {
                    lead(x, Some(offset), default)
                };
                (e, ty)
            }
            _ => {
                check_arity(name, args, 1, 2, span)?;
                if bound.len() == 2 {
                    return Err(QueryError::semantic(
                        "row_cumsum with a restart predicate is not supported yet",
                        span,
                    ));
                }
                let ty = if bound[0].ty == KqlType::Int {
                    KqlType::Long
                } else {
                    bound[0].ty
                };
                let frame = WindowFrame::new_bounds(
                    WindowFrameUnits::Rows,
                    WindowFrameBound::Preceding(datafusion::common::ScalarValue::UInt64(None)),
                    WindowFrameBound::CurrentRow,
                );
                let e = Expr::from(datafusion::logical_expr::expr::WindowFunction::new(
                    datafusion::logical_expr::expr::WindowFunctionDefinition::AggregateUDF(
                        datafusion::functions_aggregate::sum::sum_udaf(),
                    ),
                    vec![cast(bound[0].expr.clone(), arrow_type(ty))],
                ))
                .window_frame(frame)
                .build()?;
                (e, ty)
            }
        };
        let col_name = self.internal_name();
        cx.windows.push((expr, Col::new(col_name.clone(), ty)));
        Ok(Some(Bound::column(
            Expr::Column(datafusion::common::Column::new_unqualified(col_name)),
            ty,
        )))
    }
}
