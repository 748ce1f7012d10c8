//! Binding scalar expressions: names, types, Kusto's coercions and null rules, constant
//! folding. Operators with a vectorised DataFusion equivalent whose semantics match
//! Kusto's are planned natively; the rest go through [`ValueFunction`].

use super::aggregates::AggItem;
use super::{Binding, Col, Env, Planner, Tabular};
use crate::error::{suggest, QResult, QueryError};
use crate::types::{arrow_type, value_to_scalar};
use crate::udf::value_fn::{eval_kind, ValueFnKind, ValueFunction};
use datafusion::logical_expr::{binary_expr, cast, lit, Expr, Operator};
use kql::ast::{self, BinaryOp, ExprKind, ListOp, Span, StrOpKind, TypeName};
use kql_value::ops::{self, Arith, Cmp, StrKind};
use kql_value::{KqlType, Value};

/// A bound scalar expression: the DataFusion expression, its KQL type, and its value
/// when it is a constant (folded at bind time).
#[derive(Clone, Debug)]
pub(crate) struct Bound {
    pub expr: Expr,
    pub ty: KqlType,
    pub value: Option<Value>,
}

impl Bound {
    pub fn constant(v: Value, ty: KqlType) -> Bound {
        let v = if ty == KqlType::String && v.is_null() {
            Value::String(String::new())
        } else {
            v
        };
        Bound {
            expr: lit(value_to_scalar(&v, ty)),
            ty,
            value: Some(v),
        }
    }
    pub fn column(expr: Expr, ty: KqlType) -> Bound {
        Bound {
            expr,
            ty,
            value: None,
        }
    }
}

/// What an expression can see while it is bound.
pub(crate) struct ExprCtx<'a> {
    pub input: Option<&'a Tabular>,
    pub env: &'a Env,
    /// The operator being planned, for messages (`'where' operator: ...`).
    pub op: &'static str,
    /// Set while binding `summarize` aggregates: aggregate calls are collected here and
    /// replaced by references to their output columns.
    pub aggs: Option<&'a mut Vec<AggItem>>,
    /// Window functions (`row_number()`, `prev()`...) requested by the expression: the
    /// operator adds a window node computing them under these names.
    pub windows: Vec<(Expr, Col)>,
}

impl<'a> ExprCtx<'a> {
    pub fn new(input: Option<&'a Tabular>, env: &'a Env, op: &'static str) -> ExprCtx<'a> {
        ExprCtx {
            input,
            env,
            op,
            aggs: None,
            windows: Vec::new(),
        }
    }
}

pub(crate) fn type_of_name(t: TypeName) -> KqlType {
    match t {
        TypeName::Bool => KqlType::Bool,
        TypeName::Int => KqlType::Int,
        TypeName::Long => KqlType::Long,
        TypeName::Real => KqlType::Real,
        TypeName::Decimal => KqlType::Decimal,
        TypeName::String => KqlType::String,
        TypeName::DateTime => KqlType::DateTime,
        TypeName::TimeSpan => KqlType::TimeSpan,
        TypeName::Guid => KqlType::Guid,
        TypeName::Dynamic => KqlType::Dynamic,
    }
}

pub(crate) fn literal_value(l: &ast::Literal, span: Span) -> QResult<(Value, KqlType)> {
    Ok(match l {
        ast::Literal::Null(t) => (Value::Null, type_of_name(*t)),
        ast::Literal::Bool(b) => (Value::Bool(*b), KqlType::Bool),
        ast::Literal::Int(i) => (Value::Int(*i), KqlType::Int),
        ast::Literal::Long(i) => (Value::Long(*i), KqlType::Long),
        ast::Literal::Real(f) => (Value::Real(*f), KqlType::Real),
        ast::Literal::Decimal(s) => match s.trim().parse::<f64>() {
            Ok(f) => (Value::Decimal(f), KqlType::Decimal),
            Err(_) => {
                return Err(QueryError::semantic(
                    format!("invalid decimal literal '{s}'"),
                    span,
                ))
            }
        },
        ast::Literal::String(s) => (Value::String(s.clone()), KqlType::String),
        ast::Literal::DateTime(text) if text.contains(',') => {
            // datetime(2025, 6, 14[, 10, 30, 0]): year, month, day and optional time parts.
            let parts: Vec<Option<i64>> = text.split(',').map(|p| p.trim().parse().ok()).collect();
            let f = kql_value::lookup("make_datetime");
            let args: Vec<Value> = parts
                .iter()
                .map(|p| p.map(Value::Long).unwrap_or(Value::Null))
                .collect();
            match f.map(|f| (f.eval)(&args, &kql_value::EvalContext::default())) {
                Some(Value::DateTime(ns)) if parts.iter().all(|p| p.is_some()) => {
                    (Value::DateTime(ns), KqlType::DateTime)
                }
                _ => {
                    return Err(QueryError::semantic(
                        format!("invalid datetime literal '{text}'"),
                        span,
                    ))
                }
            }
        }
        ast::Literal::DateTime(text) => {
            let t = text.trim().trim_matches(|c| c == '"' || c == '\'');
            match kql_value::format::parse_datetime(t) {
                Some(ns) => (Value::DateTime(ns), KqlType::DateTime),
                None => {
                    return Err(QueryError::semantic(
                        format!("invalid datetime literal '{text}'"),
                        span,
                    )
                    .with_help(
                        "write datetimes as datetime(2024-01-31) or datetime(2024-01-31T10:00:00Z)",
                    ))
                }
            }
        }
        ast::Literal::TimeSpan(ns) => (Value::TimeSpan(*ns), KqlType::TimeSpan),
        ast::Literal::Guid(text) => match kql_value::convert::parse_guid(text) {
            Some(g) => (Value::Guid(g), KqlType::Guid),
            None => {
                return Err(QueryError::semantic(
                    format!("invalid guid literal '{text}'"),
                    span,
                ))
            }
        },
        ast::Literal::Dynamic(j) => (Value::Dynamic(j.clone()), KqlType::Dynamic),
    })
}

fn is_native_numeric(t: KqlType) -> bool {
    matches!(t, KqlType::Int | KqlType::Long | KqlType::Real)
}

impl Planner<'_> {
    /// Binds `e` against `input` (if any) with no aggregates allowed.
    pub fn bind_scalar_in(
        &self,
        e: &ast::Expr,
        env: &Env,
        input: Option<&Tabular>,
        op: &'static str,
    ) -> QResult<Bound> {
        let mut cx = ExprCtx::new(input, env, op);
        let b = self.bind_scalar(e, &mut cx)?;
        if !cx.windows.is_empty() {
            return Err(QueryError::semantic(
                "Window functions such as row_number() and prev() can only be used in extend, project or where",
                e.span,
            ));
        }
        Ok(b)
    }

    pub fn bind_scalar_standalone(
        &self,
        e: &ast::Expr,
        env: &Env,
        op: &'static str,
    ) -> QResult<Bound> {
        self.bind_scalar_in(e, env, None, op)
    }

    /// The constant value of `e`, or an error saying a constant is needed.
    pub fn const_value(&self, e: &ast::Expr, env: &Env, op: &'static str) -> QResult<Value> {
        // Constant evaluation never needs the planner's mutable state, but binding
        // shares code with the general path.
        let b = self.bind_scalar_standalone(e, env, op)?;
        b.value.ok_or_else(|| {
            QueryError::semantic(
                format!("'{op}': a constant value was expected here"),
                e.span,
            )
        })
    }

    /// A call to a row-wise function, folded when every argument is constant.
    pub fn value_call(
        &self,
        name: &str,
        kind: ValueFnKind,
        args: Vec<Bound>,
        ret: KqlType,
        volatile: bool,
    ) -> Bound {
        if !volatile && args.iter().all(|a| a.value.is_some()) {
            let vals: Vec<Value> = args
                .iter()
                .map(|a| a.value.clone().unwrap_or(Value::Null))
                .collect();
            let v = eval_kind(&kind, &vals, self.now);
            let v = if v.is_null() || v.kql_type() == Some(ret) {
                v
            } else {
                v.convert(ret)
            };
            return Bound::constant(v, ret);
        }
        let types = args.iter().map(|a| a.ty).collect();
        let exprs = args.into_iter().map(|a| a.expr).collect();
        Bound::column(
            ValueFunction::new(name, kind, types, ret, volatile, self.now).call(exprs),
            ret,
        )
    }

    /// `b` converted to `ty` (null where it does not convert).
    pub fn convert_bound(&self, b: Bound, ty: KqlType) -> Bound {
        if b.ty == ty {
            return b;
        }
        if let Some(v) = &b.value {
            return Bound::constant(v.convert(ty), ty);
        }
        if is_native_numeric(b.ty)
            && is_native_numeric(ty)
            && !(b.ty == KqlType::Real && ty != KqlType::Real)
        {
            return Bound::column(cast(b.expr, arrow_type(ty)), ty);
        }
        self.value_call("convert", ValueFnKind::Convert(ty), vec![b], ty, false)
    }

    pub fn bind_scalar(&self, e: &ast::Expr, cx: &mut ExprCtx) -> QResult<Bound> {
        match &e.kind {
            ExprKind::Literal(l) => {
                let (v, ty) = literal_value(l, e.span)?;
                Ok(Bound::constant(v, ty))
            }
            ExprKind::Name(id) => self.bind_name(id, cx),
            ExprKind::Paren(inner) => {
                if self.is_tabular(inner, cx.env) {
                    return Err(QueryError::semantic(
                        "A scalar expression was expected, but this is a table; wrap it in toscalar() to use its first value",
                        e.span,
                    ));
                }
                self.bind_scalar(inner, cx)
            }
            ExprKind::Star => Err(QueryError::semantic(
                "'*' can only be used as an argument of functions such as arg_max(x, *)",
                e.span,
            )),
            ExprKind::Member { base, name } => {
                if let Some(b) = self.url_part_call(base, &name.name, cx, "__parse_url_part")? {
                    return Ok(b);
                }
                let b = self.bind_scalar(base, cx)?;
                let key = Bound::constant(Value::String(name.name.clone()), KqlType::String);
                self.member_access(b, key, e.span)
            }
            ExprKind::Index { base, index } => {
                let b = self.bind_scalar(base, cx)?;
                let k = self.bind_scalar(index, cx)?;
                self.member_access(b, k, e.span)
            }
            ExprKind::Unary { op, expr } => {
                let b = self.bind_scalar(expr, cx)?;
                match op {
                    ast::UnaryOp::Plus => Ok(b),
                    ast::UnaryOp::Neg => {
                        let zero = match b.ty {
                            KqlType::Int => Value::Int(0),
                            KqlType::Real | KqlType::Decimal => Value::Real(0.0),
                            KqlType::TimeSpan => Value::TimeSpan(0),
                            _ => Value::Long(0),
                        };
                        let zty = zero.kql_type().unwrap_or(KqlType::Long);
                        self.bind_arith(Arith::Sub, Bound::constant(zero, zty), b, e.span)
                    }
                }
            }
            ExprKind::Binary { op, left, right } => {
                let l = self.bind_scalar(left, cx)?;
                let r = self.bind_scalar(right, cx)?;
                self.bind_binary(*op, l, r, e.span)
            }
            ExprKind::List { op, expr, items } => self.bind_list(*op, expr, items, cx, e.span),
            ExprKind::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let x = self.bind_scalar(expr, cx)?;
                let lo = self.bind_scalar(low, cx)?;
                let hi = self.bind_scalar(high, cx)?;
                let ge = self.bind_cmp(Cmp::GtEq, x.clone(), lo, e.span)?;
                let le = self.bind_cmp(Cmp::LtEq, x, hi, e.span)?;
                let both = self.bind_logical(BinaryOp::And, ge, le);
                if *negated {
                    Ok(self.value_call("not", ValueFnKind::Not, vec![both], KqlType::Bool, false))
                } else {
                    Ok(both)
                }
            }
            ExprKind::Call { name, args } => self.bind_call(name, args, cx, e.span),
            ExprKind::Pipe { .. } | ExprKind::Source(_) => Err(QueryError::semantic(
                "A scalar expression was expected, but this is a table; wrap it in toscalar() to use its first value",
                e.span,
            )),
        }
    }

    fn bind_name(&self, id: &ast::Ident, cx: &mut ExprCtx) -> QResult<Bound> {
        if let Some(t) = cx.input {
            if let Some(i) = t.find(&id.name) {
                return Ok(Bound::column(t.col_expr(i), t.cols[i].ty));
            }
            // Sentinel's flavour of the Defender tables calls the event time
            // TimeGenerated: queries written for either run unchanged.
            let alias = match id.name.as_str() {
                "TimeGenerated" => Some("Timestamp"),
                "Timestamp" => Some("TimeGenerated"),
                _ => None,
            };
            if let Some(i) = alias.and_then(|a| t.find(a)) {
                if cx.env.get(&id.name).is_none() {
                    return Ok(Bound::column(t.col_expr(i), t.cols[i].ty));
                }
            }
        }
        match cx.env.get(&id.name) {
            Some(Binding::Scalar(b)) => return Ok(b.clone()),
            Some(Binding::Function(f, fenv)) if f.params.is_empty() && !self.is_tabular(&f.body, fenv) => {
                let (f, fenv) = (f.clone(), fenv.clone());
                return self.call_scalar_function(&f, &fenv, &[], cx, id.span);
            }
            Some(Binding::Tabular(_)) | Some(Binding::Function(..)) => {
                return Err(QueryError::semantic(
                    format!("'{}' is a table, but a scalar value was expected here; wrap it in toscalar() to use its first value", id.name),
                    id.span,
                ))
            }
            _ => {}
        }
        let mut err = QueryError::semantic(
            format!(
                "'{}' operator: Failed to resolve scalar expression named '{}'",
                cx.op, id.name
            ),
            id.span,
        );
        let candidates: Vec<&str> = cx
            .input
            .map(|t| t.names().collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .chain(cx.env.names())
            .collect();
        if let Some(s) = suggest(&id.name, candidates) {
            err = err.with_help(s);
        }
        Err(err)
    }

    /// `parse_url(x).Host` (any string part) as one call of `function` that extracts
    /// just that part, without a bag per row: `__parse_url_part` (the same dynamic
    /// string) or `__parse_url_part_text` (its text, for `tostring`).
    pub(crate) fn url_part_call(
        &self,
        base: &ast::Expr,
        part: &str,
        cx: &mut ExprCtx,
        function: &'static str,
    ) -> QResult<Option<Bound>> {
        let ExprKind::Call { name, args } = &base.kind else {
            return Ok(None);
        };
        if !matches!(name.name.as_str(), "parse_url" | "parseurl")
            || cx.env.get(&name.name).is_some() // a user function of that name
            || !kql_value::functions::URL_STRING_PARTS.contains(&part)
            || args.len() != 1
            || args[0].name.is_some()
        {
            return Ok(None);
        }
        let url = self.bind_scalar(&args[0].value, cx)?;
        let key = Bound::constant(Value::String(part.to_string()), KqlType::String);
        Ok(Some(self.registry_call(
            function,
            vec![url, key],
            base.span,
        )))
    }

    fn member_access(&self, base: Bound, key: Bound, span: Span) -> QResult<Bound> {
        let base = match base.ty {
            KqlType::Dynamic => base,
            KqlType::String => self.convert_bound(base, KqlType::Dynamic),
            other => {
                return Err(QueryError::semantic(
                    format!("Member access and indexing need a dynamic value, but this is of type '{other}'"),
                    span,
                ))
            }
        };
        Ok(self.value_call(
            "member",
            ValueFnKind::Member,
            vec![base, key],
            KqlType::Dynamic,
            false,
        ))
    }

    pub fn bind_binary(&self, op: BinaryOp, l: Bound, r: Bound, span: Span) -> QResult<Bound> {
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let l = self.convert_bound(l, KqlType::Bool);
                let r = self.convert_bound(r, KqlType::Bool);
                Ok(self.bind_logical(op, l, r))
            }
            BinaryOp::Add => self.bind_arith(Arith::Add, l, r, span),
            BinaryOp::Sub => self.bind_arith(Arith::Sub, l, r, span),
            BinaryOp::Mul => self.bind_arith(Arith::Mul, l, r, span),
            BinaryOp::Div => self.bind_arith(Arith::Div, l, r, span),
            BinaryOp::Mod => self.bind_arith(Arith::Mod, l, r, span),
            BinaryOp::Eq => self.bind_cmp(Cmp::Eq, l, r, span),
            BinaryOp::NotEq => self.bind_cmp(Cmp::NotEq, l, r, span),
            BinaryOp::Lt => self.bind_cmp(Cmp::Lt, l, r, span),
            BinaryOp::LtEq => self.bind_cmp(Cmp::LtEq, l, r, span),
            BinaryOp::Gt => self.bind_cmp(Cmp::Gt, l, r, span),
            BinaryOp::GtEq => self.bind_cmp(Cmp::GtEq, l, r, span),
            BinaryOp::EqCi | BinaryOp::NotEqCi => {
                let negated = op == BinaryOp::NotEqCi;
                if l.ty == KqlType::String
                    && r.ty == KqlType::String
                    && (l.value.is_none() || r.value.is_none())
                {
                    use datafusion::functions::expr_fn::lower;
                    let eq = binary_expr(
                        lower(l.expr),
                        if negated {
                            Operator::NotEq
                        } else {
                            Operator::Eq
                        },
                        lower(r.expr),
                    );
                    return Ok(Bound::column(eq, KqlType::Bool));
                }
                Ok(self.value_call(
                    "=~",
                    ValueFnKind::EqCi { negated },
                    vec![l, r],
                    KqlType::Bool,
                    false,
                ))
            }
            BinaryOp::MatchesRegex => {
                if let Some(p) = &r.value {
                    if regex::Regex::new(&p.to_kql_string()).is_err() {
                        return Err(QueryError::semantic(
                            format!("invalid regular expression '{}'", p.to_kql_string()),
                            span,
                        ));
                    }
                }
                Ok(self.value_call(
                    "matches regex",
                    ValueFnKind::Regex,
                    vec![l, r],
                    KqlType::Bool,
                    false,
                ))
            }
            BinaryOp::Str(s) => {
                let kind = match s.kind {
                    StrOpKind::Contains => StrKind::Contains,
                    StrOpKind::StartsWith => StrKind::StartsWith,
                    StrOpKind::EndsWith => StrKind::EndsWith,
                    StrOpKind::Has => StrKind::Has,
                    StrOpKind::HasPrefix => StrKind::HasPrefix,
                    StrOpKind::HasSuffix => StrKind::HasSuffix,
                };
                let l = self.convert_bound(l, KqlType::String);
                let r = self.convert_bound(r, KqlType::String);
                Ok(self.value_call(
                    &s.text(),
                    ValueFnKind::Str {
                        kind,
                        case_sensitive: s.case_sensitive,
                        negated: s.negated,
                    },
                    vec![l, r],
                    KqlType::Bool,
                    false,
                ))
            }
        }
    }

    pub fn bind_logical(&self, op: BinaryOp, l: Bound, r: Bound) -> Bound {
        if let (Some(a), Some(b)) = (&l.value, &r.value) {
            let (a, b) = (a.as_bool(), b.as_bool());
            let v = match op {
                BinaryOp::And => match (a, b) {
                    (Some(false), _) | (_, Some(false)) => Value::Bool(false),
                    (Some(true), Some(true)) => Value::Bool(true),
                    _ => Value::Null,
                },
                _ => match (a, b) {
                    (Some(true), _) | (_, Some(true)) => Value::Bool(true),
                    (Some(false), Some(false)) => Value::Bool(false),
                    _ => Value::Null,
                },
            };
            return Bound::constant(v, KqlType::Bool);
        }
        let e = if op == BinaryOp::And {
            l.expr.and(r.expr)
        } else {
            l.expr.or(r.expr)
        };
        Bound::column(e, KqlType::Bool)
    }

    pub fn bind_arith(&self, op: Arith, l: Bound, r: Bound, span: Span) -> QResult<Bound> {
        let ty = ops::arith_type(op, l.ty, r.ty).map_err(|m| QueryError::semantic(m, span))?;
        let native = is_native_numeric(ty)
            && (is_native_numeric(l.ty) || l.ty == KqlType::Bool)
            && (is_native_numeric(r.ty) || r.ty == KqlType::Bool)
            && match op {
                Arith::Add | Arith::Sub | Arith::Mul => true,
                Arith::Div => {
                    ty == KqlType::Real
                        || r.value
                            .as_ref()
                            .and_then(|v| v.as_i64())
                            .is_some_and(|v| v != 0)
                }
                Arith::Mod => false,
            };
        if native && (l.value.is_none() || r.value.is_none()) {
            let dt = arrow_type(ty);
            let o = match op {
                Arith::Add => Operator::Plus,
                Arith::Sub => Operator::Minus,
                Arith::Mul => Operator::Multiply,
                Arith::Div => Operator::Divide,
                Arith::Mod => Operator::Modulo,
            };
            let le = if l.ty == ty {
                l.expr
            } else {
                cast(l.expr, dt.clone())
            };
            let re = if r.ty == ty { r.expr } else { cast(r.expr, dt) };
            return Ok(Bound::column(binary_expr(le, o, re), ty));
        }
        Ok(self.value_call(op.symbol(), ValueFnKind::Arith(op), vec![l, r], ty, false))
    }

    pub fn bind_cmp(&self, op: Cmp, l: Bound, r: Bound, span: Span) -> QResult<Bound> {
        if !ops::comparable(l.ty, r.ty) {
            return Err(QueryError::semantic(
                format!(
                    "Cannot compare values of types {} and {}. Try adding explicit casts",
                    l.ty, r.ty
                ),
                span,
            ));
        }
        // `IsClickedThrough != "0"` (the schema page's own example): the text constant
        // as the bool Kusto compares it as (`ops::text_as_bool`), so the comparison
        // runs natively.
        let as_bool = |b: Bound| match &b.value {
            Some(Value::String(t)) => match ops::text_as_bool(t) {
                Some(v) => Bound::constant(Value::Bool(v), KqlType::Bool),
                None => b,
            },
            _ => b,
        };
        let (l, r) = match (l.ty, r.ty) {
            (KqlType::Bool, KqlType::String) if l.value.is_none() => (l, as_bool(r)),
            (KqlType::String, KqlType::Bool) if r.value.is_none() => (as_bool(l), r),
            _ => (l, r),
        };
        let same_native = l.ty == r.ty && !matches!(l.ty, KqlType::Dynamic | KqlType::Decimal);
        let both_numeric = is_native_numeric(l.ty) && is_native_numeric(r.ty);
        if (same_native || both_numeric) && (l.value.is_none() || r.value.is_none()) {
            let (le, re) = if both_numeric && l.ty != r.ty {
                let wide = l.ty.max(r.ty);
                (
                    cast(l.expr, arrow_type(wide)),
                    cast(r.expr, arrow_type(wide)),
                )
            } else {
                (l.expr, r.expr)
            };
            let o = match op {
                Cmp::Eq => Operator::Eq,
                Cmp::NotEq => Operator::NotEq,
                Cmp::Lt => Operator::Lt,
                Cmp::LtEq => Operator::LtEq,
                Cmp::Gt => Operator::Gt,
                Cmp::GtEq => Operator::GtEq,
            };
            let e = binary_expr(le, o, re);
            let e = if op == Cmp::NotEq {
                Expr::IsNotFalse(Box::new(e))
            } else {
                e
            };
            return Ok(Bound::column(e, KqlType::Bool));
        }
        let name = match op {
            Cmp::Eq => "==",
            Cmp::NotEq => "!=",
            Cmp::Lt => "<",
            Cmp::LtEq => "<=",
            Cmp::Gt => ">",
            Cmp::GtEq => ">=",
        };
        Ok(self.value_call(name, ValueFnKind::Cmp(op), vec![l, r], KqlType::Bool, false))
    }

    /// The values of a tabular expression's first column (for `in (T | project x)`).
    pub fn tabular_values(&self, e: &ast::Expr, env: &Env) -> QResult<(Vec<Value>, KqlType)> {
        let t = self.plan_tabular(e, env)?;
        let Some(first) = t.cols.first().cloned() else {
            return Ok((vec![], KqlType::Dynamic));
        };
        let plan = datafusion::logical_expr::LogicalPlanBuilder::from(t.plan.clone())
            .project(vec![t.col_expr(0)])?
            .build()?;
        let batches = self.execute_now(&plan)?;
        let mut out = Vec::new();
        for b in batches {
            out.extend(crate::types::array_to_values(b.column(0), first.ty)?);
        }
        Ok((out, first.ty))
    }

    fn bind_list(
        &self,
        op: ListOp,
        expr: &ast::Expr,
        items: &[ast::Expr],
        cx: &mut ExprCtx,
        span: Span,
    ) -> QResult<Bound> {
        let x = self.bind_scalar(expr, cx)?;
        let mut bound: Vec<Bound> = Vec::new();
        for it in items {
            if self.is_tabular(it, cx.env) {
                let (vals, ty) = self.tabular_values(it, cx.env)?;
                bound.extend(vals.into_iter().map(|v| Bound::constant(v, ty)));
            } else {
                let b = self.bind_scalar(it, cx)?;
                // A dynamic array constant lists its elements.
                if let Some(Value::Dynamic(serde_json::Value::Array(a))) = &b.value {
                    for j in a {
                        if let Some(v) = ops::json_scalar(j) {
                            let ty = v.kql_type().unwrap_or(KqlType::Dynamic);
                            bound.push(Bound::constant(v, ty));
                        }
                    }
                } else {
                    bound.push(b);
                }
            }
        }
        let all_const = bound.iter().all(|b| b.value.is_some());
        match op {
            ListOp::In | ListOp::NotIn | ListOp::InCi | ListOp::NotInCi => {
                let negated = matches!(op, ListOp::NotIn | ListOp::NotInCi);
                let ci = matches!(op, ListOp::InCi | ListOp::NotInCi);
                if all_const && x.value.is_none() && x.ty != KqlType::Dynamic {
                    if ci && x.ty == KqlType::String {
                        use datafusion::functions::expr_fn::lower;
                        let list = bound
                            .iter()
                            .map(|b| {
                                lit(b
                                    .value
                                    .as_ref()
                                    .map(|v| v.to_kql_string().to_lowercase())
                                    .unwrap_or_default())
                            })
                            .collect();
                        let e = datafusion::logical_expr::in_list(lower(x.expr), list, negated);
                        return Ok(Bound::column(e, KqlType::Bool));
                    }
                    if !ci {
                        let list: Vec<Expr> = bound
                            .iter()
                            .filter_map(|b| {
                                let v = b.value.as_ref()?;
                                let c = v.convert(x.ty);
                                (!c.is_null()).then(|| lit(value_to_scalar(&c, x.ty)))
                            })
                            .collect();
                        if list.is_empty() {
                            return Ok(Bound::constant(Value::Bool(negated), KqlType::Bool));
                        }
                        let e = datafusion::logical_expr::in_list(x.expr, list, negated);
                        let e = if negated {
                            Expr::IsNotFalse(Box::new(e))
                        } else {
                            e
                        };
                        return Ok(Bound::column(e, KqlType::Bool));
                    }
                }
                let mut args = vec![x];
                args.extend(bound);
                Ok(self.value_call(
                    "in",
                    ValueFnKind::In {
                        case_insensitive: ci,
                        negated,
                    },
                    args,
                    KqlType::Bool,
                    false,
                ))
            }
            ListOp::HasAny | ListOp::HasAll => {
                if bound.is_empty() && op == ListOp::HasAny {
                    return Ok(Bound::constant(Value::Bool(false), KqlType::Bool));
                }
                let x = self.convert_bound(x, KqlType::String);
                let mut args = vec![x];
                args.extend(bound);
                let _ = span;
                Ok(self.value_call(
                    if op == ListOp::HasAny {
                        "has_any"
                    } else {
                        "has_all"
                    },
                    ValueFnKind::HasAnyAll {
                        all: op == ListOp::HasAll,
                    },
                    args,
                    KqlType::Bool,
                    false,
                ))
            }
        }
    }
}
