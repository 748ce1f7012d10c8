//! One DataFusion scalar UDF that evaluates KQL functions and operators over
//! [`Value`]s (from `kql-value`), instantiated per call site with the argument KQL types
//! and the result type fixed at bind time. String operators with a constant needle take a
//! vectorised path that never builds `Value`s.

use crate::types::{array_to_values, arrow_type, value_to_scalar, values_to_array};
use crate::udf::text_scan::{for_each_text, map_text_slices, match_text};
use datafusion::arrow::array::{Array, BooleanBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use kql_value::ops::{self, Arith, Cmp, StrKind, StrMatcher};
use kql_value::{EvalContext, KqlType, Value};
use std::sync::Arc;

/// What a [`ValueFunction`] computes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ValueFnKind {
    /// A function from the `kql-value` registry, by name.
    Registry(&'static str),
    Arith(Arith),
    Cmp(Cmp),
    /// `=~` (false) / `!~` (true)
    EqCi {
        negated: bool,
    },
    Str {
        kind: StrKind,
        case_sensitive: bool,
        negated: bool,
    },
    /// `matches regex`
    Regex,
    /// `in~` / `!in~` / `in` / `!in`: first arg is the value, the rest the list.
    In {
        case_insensitive: bool,
        negated: bool,
    },
    /// `has_any` / `has_all`: first arg the text, the rest terms.
    HasAnyAll {
        all: bool,
    },
    /// `d.key` / `d[index]` on a dynamic value: args (base, key).
    Member,
    /// Logical `not` of a possibly-null value (Kusto's `not()`).
    Not,
    /// `tolong()`, `tostring()`, ... and implicit conversions: bad input → null.
    Convert(KqlType),
    /// Capture group `group` of `pattern` in the text (null when it does not match).
    RegexCapture {
        pattern: String,
        group: usize,
    },
}

/// Evaluates `kind` on one row of values (also used to fold constants at bind time).
pub fn eval_kind(kind: &ValueFnKind, args: &[Value], now: i64) -> Value {
    let f = ValueFunction::new("fold", kind.clone(), vec![], KqlType::Dynamic, false, now);
    f.eval_row(args, &EvalContext { now })
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ValueFunction {
    name: String,
    kind: ValueFnKind,
    arg_types: Vec<KqlType>,
    ret: KqlType,
    now: i64,
    signature: Signature,
}

impl ValueFunction {
    pub fn new(
        name: impl Into<String>,
        kind: ValueFnKind,
        arg_types: Vec<KqlType>,
        ret: KqlType,
        volatile: bool,
        now: i64,
    ) -> ValueFunction {
        let vol = if volatile {
            Volatility::Volatile
        } else {
            Volatility::Immutable
        };
        let signature = if arg_types.is_empty() {
            Signature::nullary(vol)
        } else {
            Signature::any(arg_types.len(), vol)
        };
        ValueFunction {
            name: name.into(),
            kind,
            arg_types,
            ret,
            now,
            signature,
        }
    }

    /// The call expression over already-bound arguments.
    pub fn call(self, args: Vec<Expr>) -> Expr {
        ScalarUDF::new_from_impl(self).call(args)
    }

    fn eval_row(&self, args: &[Value], ctx: &EvalContext) -> Value {
        match &self.kind {
            ValueFnKind::Registry(name) => match kql_value::lookup(name) {
                Some(f) => (f.eval)(args, ctx),
                None => Value::Null,
            },
            ValueFnKind::Arith(op) => ops::arith(*op, &args[0], &args[1]),
            ValueFnKind::Cmp(op) => ops::compare(*op, &args[0], &args[1]),
            ValueFnKind::EqCi { negated } => {
                if args[0].is_null() || args[1].is_null() {
                    return Value::Bool(*negated);
                }
                Value::Bool(
                    ops::equals_ci(&args[0].as_str_cow(), &args[1].as_str_cow()) != *negated,
                )
            }
            ValueFnKind::Str {
                kind,
                case_sensitive,
                negated,
            } => {
                let hay = args[0].as_str_cow();
                let needle = args[1].as_str_cow();
                Value::Bool(ops::string_op(*kind, *case_sensitive, &hay, &needle) != *negated)
            }
            ValueFnKind::Regex => {
                let hay = args[0].as_str_cow();
                match crate::udf::regex_cache::with_regex(&args[1].as_str_cow(), |re| {
                    re.is_match(&hay)
                }) {
                    Some(b) => Value::Bool(b),
                    None => Value::Null,
                }
            }
            ValueFnKind::In {
                case_insensitive,
                negated,
            } => {
                let found = in_list(&args[0], &args[1..], *case_insensitive);
                Value::Bool(found != *negated)
            }
            ValueFnKind::HasAnyAll { all } => {
                let hay = args[0].as_str_cow();
                let terms = flatten_terms(&args[1..]);
                let mut it = terms
                    .iter()
                    .map(|t| ops::string_op(StrKind::Has, false, &hay, t));
                Value::Bool(if *all { it.all(|b| b) } else { it.any(|b| b) })
            }
            ValueFnKind::Member => member(&args[0], &args[1]),
            ValueFnKind::Not => match args[0].as_bool() {
                Some(b) => Value::Bool(!b),
                None => Value::Null,
            },
            ValueFnKind::Convert(ty) => args[0].convert(*ty),
            ValueFnKind::RegexCapture { pattern, group } => {
                let hay = args[0].as_str_cow();
                crate::udf::regex_cache::with_regex(pattern, |re| {
                    re.captures(&hay)
                        .and_then(|c| c.get(*group).map(|m| Value::String(m.as_str().to_string())))
                })
                .flatten()
                .unwrap_or(Value::Null)
            }
        }
    }
}

/// The text of a string literal argument.
fn scalar_text(v: &ScalarValue) -> Option<&str> {
    match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
        | ScalarValue::LargeUtf8(Some(s)) => Some(s),
        _ => None,
    }
}

/// Items of an `in` list, with dynamic arrays flattened (`x in (dynamic([1,2]))`).
fn flatten_items(items: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for it in items {
        match it {
            Value::Dynamic(serde_json::Value::Array(a)) => {
                out.extend(a.iter().filter_map(ops::json_scalar));
            }
            other => out.push(other.clone()),
        }
    }
    out
}

fn flatten_terms(items: &[Value]) -> Vec<String> {
    flatten_items(items)
        .iter()
        .map(|v| v.to_kql_string())
        .collect()
}

fn in_list(x: &Value, items: &[Value], ci: bool) -> bool {
    if x.is_null() {
        return false;
    }
    flatten_items(items).iter().any(|it| {
        if ci {
            ops::equals_ci(&x.as_str_cow(), &it.as_str_cow())
        } else {
            ops::compare(Cmp::Eq, x, it) == Value::Bool(true)
        }
    })
}

/// `d.key` / `d["key"]` / `d[i]` (negative `i` counts from the end); missing → null.
fn member(base: &Value, key: &Value) -> Value {
    let json = match base {
        Value::Dynamic(j) => j,
        _ => return Value::Null,
    };
    let got = match (json, key) {
        (serde_json::Value::Object(m), k) => m.get(k.as_str_cow().as_ref()).cloned(),
        (serde_json::Value::Array(a), k) => k.as_i64().and_then(|i| {
            let idx = if i < 0 { a.len() as i64 + i } else { i };
            usize::try_from(idx).ok().and_then(|i| a.get(i).cloned())
        }),
        _ => None,
    };
    Value::Dynamic(got.unwrap_or(serde_json::Value::Null))
}

impl ScalarUDFImpl for ValueFunction {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(arrow_type(self.ret))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        if let (
            ValueFnKind::Str {
                kind,
                case_sensitive,
                negated,
            },
            [ColumnarValue::Array(hay), ColumnarValue::Scalar(needle)],
        ) = (&self.kind, args.args.as_slice())
        {
            if self.arg_types[0] == KqlType::String {
                // No value per row; each Arrow buffer searched once.
                let m = StrMatcher::new(*kind, scalar_text(needle).unwrap_or(""), *case_sensitive);
                return Ok(ColumnarValue::Array(Arc::new(match_text(
                    hay, &m, *negated,
                )?)));
            }
        }
        // `tostring(parse_url(x).Host)` over a text column: no per-row values.
        if let (
            ValueFnKind::Registry("__parse_url_part_text"),
            [ColumnarValue::Array(url), ColumnarValue::Scalar(part)],
        ) = (&self.kind, args.args.as_slice())
        {
            if let (Some(part), KqlType::String) = (scalar_text(part), self.arg_types[0]) {
                let out = map_text_slices(url, &format!("parse_url_part_text/{part}"), |s| {
                    kql_value::functions::url_part(s, part)
                })?;
                return Ok(ColumnarValue::Array(Arc::new(out)));
            }
        }
        // `x matches regex "p"` over a text column: the regex compiled once, no per-row
        // values.
        if let (ValueFnKind::Regex, [ColumnarValue::Array(hay), ColumnarValue::Scalar(p)]) =
            (&self.kind, args.args.as_slice())
        {
            if let (Some(pattern), KqlType::String) = (scalar_text(p), self.arg_types[0]) {
                let matched = crate::udf::regex_cache::with_regex(pattern, |re| {
                    let mut b = BooleanBuilder::with_capacity(hay.len());
                    for_each_text(hay, |s| b.append_value(re.is_match(s))).map(|()| b.finish())
                });
                if let Some(m) = matched {
                    return Ok(ColumnarValue::Array(Arc::new(m?)));
                }
            }
        }
        // `x has_any ("a", "b")` over a text column with constant terms: matchers built
        // once, no per-row values.
        if let (ValueFnKind::HasAnyAll { all }, Some(ColumnarValue::Array(hay))) =
            (&self.kind, args.args.first())
        {
            if self.arg_types[0] == KqlType::String
                && args.args[1..]
                    .iter()
                    .all(|a| matches!(a, ColumnarValue::Scalar(_)))
            {
                let mut terms = Vec::new();
                for (a, ty) in args.args[1..].iter().zip(&self.arg_types[1..]) {
                    terms.extend(array_to_values(&a.to_array(1)?, *ty)?);
                }
                let matchers: Vec<StrMatcher> = flatten_terms(&terms)
                    .iter()
                    .map(|t| StrMatcher::new(StrKind::Has, t, false))
                    .collect();
                let mut b = BooleanBuilder::with_capacity(hay.len());
                for_each_text(hay, |s| {
                    let folded = ops::fold_case(s);
                    let hit = if *all {
                        matchers.iter().all(|m| m.matches_folded(&folded))
                    } else {
                        matchers.iter().any(|m| m.matches_folded(&folded))
                    };
                    b.append_value(hit);
                })?;
                return Ok(ColumnarValue::Array(Arc::new(b.finish())));
            }
        }
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = if all_scalar { 1 } else { n };
        let mut columns: Vec<Vec<Value>> = Vec::with_capacity(args.args.len());
        for (a, ty) in args.args.iter().zip(&self.arg_types) {
            let arr = a.to_array(rows)?;
            columns.push(array_to_values(&arr, *ty)?);
        }
        let ctx = EvalContext { now: self.now };
        let mut out = Vec::with_capacity(rows);
        let mut row = Vec::with_capacity(columns.len());
        for i in 0..rows {
            row.clear();
            row.extend(columns.iter().map(|c| c[i].clone()));
            out.push(self.eval_row(&row, &ctx));
        }
        if all_scalar {
            let v = out.pop().unwrap_or(Value::Null);
            Ok(ColumnarValue::Scalar(value_to_scalar(&v, self.ret)))
        } else {
            Ok(ColumnarValue::Array(values_to_array(&out, self.ret)))
        }
    }
}
