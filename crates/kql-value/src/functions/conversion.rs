//! Conversions and type tests: `tostring`, `toint`, ..., `isnull`, `isempty`, `gettype`,
//! the conditional functions (`iff`, `case`, `coalesce`, `max_of`, `min_of`, `not`) and the
//! bitwise functions (`binary_and`, ..., `bitset_count_ones`).
//!
//! Also hosts the small argument helpers the other function modules of this crate share
//! (`int_arg`, `num_arg`, `text`).

use super::{common_type, returns, EvalContext, ScalarFunction};
use crate::value::{compare_for_sort, KqlType, Value};
use serde_json::Value as Json;
use std::borrow::Cow;
use std::cmp::Ordering;

// ---- shared argument helpers ---------------------------------------------------------

/// An integer argument: ints, longs, reals/decimals (truncated) and numbers inside
/// dynamic. Strings, datetimes, timespans and nulls give `None`.
pub(super) fn int_arg(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i as i64),
        Value::Long(i) => Some(*i),
        Value::Real(f) | Value::Decimal(f) => {
            if f.is_finite() && f.abs() < 9.2e18 {
                Some(f.trunc() as i64)
            } else {
                None
            }
        }
        Value::Bool(b) => Some(*b as i64),
        Value::Dynamic(Json::Number(n)) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 9.2e18)
                .map(|f| f.trunc() as i64)
        }),
        _ => None,
    }
}

/// A numeric argument as f64: ints, longs, reals, decimals and numbers inside dynamic.
pub(super) fn num_arg(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Long(i) => Some(*i as f64),
        Value::Real(f) | Value::Decimal(f) => Some(*f),
        Value::Bool(b) => Some(*b as i64 as f64),
        Value::Dynamic(Json::Number(n)) => n.as_f64(),
        _ => None,
    }
}

/// The text a string function sees for an argument (Kusto's `tostring`): datetimes use
/// the full 7-digit form (`2017-10-15T12:00:00.0000000Z`), as the engine does.
pub(super) fn text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::DateTime(ns) => Cow::Owned(crate::format::format_datetime_full(*ns)),
        other => other.as_str_cow(),
    }
}

/// Lenient guid parsing the engine accepts for `toguid`: 32 hex digits once dashes (and
/// surrounding braces) are removed.
pub(super) fn parse_guid_lenient(s: &str) -> Option<String> {
    let t = s.trim();
    let t = t
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(t);
    if t.len() > 64 {
        return None;
    }
    let hex: String = t.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// Widens a numeric value to `ty` (int → long → real/decimal); other values unchanged.
pub(super) fn coerce_numeric(v: Value, ty: KqlType) -> Value {
    match (&v, ty) {
        (Value::Int(i), KqlType::Long) => Value::Long(*i as i64),
        (Value::Int(i), KqlType::Real) => Value::Real(*i as f64),
        (Value::Long(i), KqlType::Real) => Value::Real(*i as f64),
        (Value::Int(i), KqlType::Decimal) => Value::Decimal(*i as f64),
        (Value::Long(i), KqlType::Decimal) => Value::Decimal(*i as f64),
        (Value::Real(f), KqlType::Decimal) => Value::Decimal(*f),
        (Value::Decimal(f), KqlType::Real) => Value::Real(*f),
        _ => v,
    }
}

/// The common runtime type of some values (nulls ignored), as `common_type` does for
/// static types.
fn runtime_common_type<'a>(vals: impl Iterator<Item = &'a Value>) -> Option<KqlType> {
    let types: Vec<KqlType> = vals.filter_map(|v| v.kql_type()).collect();
    if types.is_empty() {
        None
    } else {
        Some(common_type(&types))
    }
}

fn coerce_to_common<'a>(chosen: Value, all: impl Iterator<Item = &'a Value>) -> Value {
    match runtime_common_type(all) {
        Some(t) if t.is_numeric() => coerce_numeric(chosen, t),
        _ => chosen,
    }
}

// ---- conversions ---------------------------------------------------------------------

fn to(ty: KqlType, args: &[Value]) -> Value {
    args[0].convert(ty)
}

fn to_string(args: &[Value]) -> Value {
    match &args[0] {
        Value::Null => Value::string(""),
        v => Value::String(text(v).into_owned()),
    }
}

fn to_guid(args: &[Value]) -> Value {
    match &args[0] {
        Value::Guid(g) => Value::Guid(g.clone()),
        Value::String(s) | Value::Dynamic(Json::String(s)) => parse_guid_lenient(s)
            .map(Value::Guid)
            .unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn to_datetime(args: &[Value]) -> Value {
    match &args[0] {
        Value::DateTime(d) => Value::DateTime(*d),
        v => v.convert(KqlType::DateTime),
    }
}

fn is_null_value(v: &Value) -> bool {
    matches!(v, Value::Null | Value::Dynamic(Json::Null))
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null | Value::Dynamic(Json::Null) => true,
        Value::String(s) | Value::Dynamic(Json::String(s)) => s.is_empty(),
        _ => false,
    }
}

fn get_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Long(_) => "long",
        Value::Real(_) => "real",
        Value::Decimal(_) => "decimal",
        Value::String(_) => "string",
        Value::DateTime(_) => "datetime",
        Value::TimeSpan(_) => "timespan",
        Value::Guid(_) => "guid",
        Value::Dynamic(j) => match j {
            Json::Null => "null",
            Json::Bool(_) => "bool",
            Json::Number(n) => {
                if let Some(i) = n.as_i64() {
                    if i32::try_from(i).is_ok() {
                        "int"
                    } else {
                        "long"
                    }
                } else if n.is_u64() {
                    "long"
                } else {
                    "real"
                }
            }
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "dictionary",
        },
    }
}

// ---- conditionals --------------------------------------------------------------------

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Dynamic(Json::Bool(b)) => *b,
        Value::Int(i) => *i != 0,
        Value::Long(i) => *i != 0,
        _ => false,
    }
}

fn iff(args: &[Value]) -> Value {
    let chosen = if truthy(&args[0]) {
        args[1].clone()
    } else {
        args[2].clone()
    };
    coerce_to_common(chosen, args[1..].iter())
}

fn case(args: &[Value]) -> Value {
    if args.len() < 3 || args.len().is_multiple_of(2) {
        return Value::Null;
    }
    let values = args
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 1 || *i == args.len() - 1)
        .map(|(_, v)| v);
    let mut chosen = args[args.len() - 1].clone();
    for pair in args[..args.len() - 1].chunks(2) {
        if truthy(&pair[0]) {
            chosen = pair[1].clone();
            break;
        }
    }
    coerce_to_common(chosen, values)
}

fn coalesce(args: &[Value]) -> Value {
    let found = args.iter().find(|v| !is_empty_value(v)).cloned();
    match found {
        Some(v) => coerce_to_common(v, args.iter()),
        None => {
            if args.iter().any(|v| matches!(v, Value::String(_))) {
                Value::string("")
            } else {
                Value::Null
            }
        }
    }
}

fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Long(x), Value::Long(y)) => x.cmp(y),
        (Value::DateTime(x), Value::DateTime(y)) | (Value::TimeSpan(x), Value::TimeSpan(y)) => {
            x.cmp(y)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Guid(x), Value::Guid(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => match (num_arg(a), num_arg(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => compare_for_sort(a, b),
        },
    }
}

fn extreme_of(args: &[Value], want: Ordering) -> Value {
    let common = runtime_common_type(args.iter());
    let mut best: Option<Value> = None;
    for v in args {
        if is_null_value(v) {
            continue;
        }
        if let Value::Real(f) | Value::Decimal(f) = v {
            if f.is_nan() {
                continue;
            }
        }
        let v = match common {
            Some(t) if t.is_numeric() => coerce_numeric(v.clone(), t),
            _ => v.clone(),
        };
        best = match best {
            None => Some(v),
            Some(b) => {
                if compare_values(&v, &b) == want {
                    Some(v)
                } else {
                    Some(b)
                }
            }
        };
    }
    best.unwrap_or(Value::Null)
}

fn common_return(args: &[KqlType]) -> Result<KqlType, String> {
    Ok(common_type(args))
}

fn iff_return(args: &[KqlType]) -> Result<KqlType, String> {
    Ok(common_type(args.get(1..).unwrap_or(&[])))
}

fn case_return(args: &[KqlType]) -> Result<KqlType, String> {
    if args.len() < 3 || args.len().is_multiple_of(2) {
        return Err("case() expects pairs of predicate and value followed by an else value".into());
    }
    let vals: Vec<KqlType> = args
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 1 || *i == args.len() - 1)
        .map(|(_, t)| *t)
        .collect();
    Ok(common_type(&vals))
}

// ---- bitwise -------------------------------------------------------------------------

fn binary2(args: &[Value], f: fn(i64, i64) -> Option<i64>) -> Value {
    match (int_arg(&args[0]), int_arg(&args[1])) {
        (Some(a), Some(b)) => f(a, b).map(Value::Long).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn shift_amount(n: i64) -> Option<u32> {
    if n < 0 {
        None
    } else {
        Some((n & 63) as u32)
    }
}

pub(crate) const FUNCTIONS: &[ScalarFunction] = &[
    ScalarFunction {
        name: "tostring",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _: &EvalContext| to_string(a),
        volatile: false,
        doc: "Converts the input to its string representation.",
    },
    ScalarFunction {
        name: "toint",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Int),
        eval: |a, _| to(KqlType::Int, a),
        volatile: false,
        doc: "Converts the input to an int; null when it cannot.",
    },
    ScalarFunction {
        name: "tolong",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Long),
        eval: |a, _| to(KqlType::Long, a),
        volatile: false,
        doc: "Converts the input to a long; null when it cannot.",
    },
    ScalarFunction {
        name: "toreal",
        aliases: &["todouble"],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Real),
        eval: |a, _| to(KqlType::Real, a),
        volatile: false,
        doc: "Converts the input to a real; null when it cannot.",
    },
    ScalarFunction {
        name: "todecimal",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Decimal),
        eval: |a, _| to(KqlType::Decimal, a),
        volatile: false,
        doc: "Converts the input to a decimal; null when it cannot.",
    },
    ScalarFunction {
        name: "tobool",
        aliases: &["toboolean"],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Bool),
        eval: |a, _| to(KqlType::Bool, a),
        volatile: false,
        doc: "Converts the input to a bool; null when it cannot.",
    },
    ScalarFunction {
        name: "todatetime",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(DateTime),
        eval: |a, _| to_datetime(a),
        volatile: false,
        doc: "Converts the input to a datetime; null when it cannot.",
    },
    ScalarFunction {
        name: "totimespan",
        aliases: &["totime"],
        min_args: 1,
        max_args: 1,
        return_type: returns!(TimeSpan),
        eval: |a, _| to(KqlType::TimeSpan, a),
        volatile: false,
        doc: "Converts the input to a timespan; null when it cannot.",
    },
    ScalarFunction {
        name: "toguid",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Guid),
        eval: |a, _| to_guid(a),
        volatile: false,
        doc: "Converts a string to a guid; null when it is not one.",
    },
    ScalarFunction {
        name: "isnull",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Bool),
        eval: |a, _| Value::Bool(is_null_value(&a[0])),
        volatile: false,
        doc: "True if the argument is null (an empty string is not null).",
    },
    ScalarFunction {
        name: "isnotnull",
        aliases: &["notnull"],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Bool),
        eval: |a, _| Value::Bool(!is_null_value(&a[0])),
        volatile: false,
        doc: "True if the argument is not null.",
    },
    ScalarFunction {
        name: "isempty",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Bool),
        eval: |a, _| Value::Bool(is_empty_value(&a[0])),
        volatile: false,
        doc: "True if the argument is an empty string or null.",
    },
    ScalarFunction {
        name: "isnotempty",
        aliases: &["notempty"],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Bool),
        eval: |a, _| Value::Bool(!is_empty_value(&a[0])),
        volatile: false,
        doc: "True if the argument is neither an empty string nor null.",
    },
    ScalarFunction {
        name: "gettype",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| Value::string(get_type(&a[0])),
        volatile: false,
        doc: "The runtime type of the argument (`array`/`dictionary` for dynamic values).",
    },
    ScalarFunction {
        name: "not",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Bool),
        eval: |a, _| match &a[0] {
            Value::Bool(b) | Value::Dynamic(Json::Bool(b)) => Value::Bool(!b),
            Value::Int(i) => Value::Bool(*i == 0),
            Value::Long(i) => Value::Bool(*i == 0),
            _ => Value::Null,
        },
        volatile: false,
        doc: "Reverses the value of its bool argument.",
    },
    ScalarFunction {
        name: "iff",
        aliases: &["iif"],
        min_args: 3,
        max_args: 3,
        return_type: iff_return,
        eval: |a, _| iff(a),
        volatile: false,
        doc: "iff(condition, then, else): `then` when the condition is true, else `else`.",
    },
    ScalarFunction {
        name: "case",
        aliases: &[],
        min_args: 3,
        max_args: usize::MAX,
        return_type: case_return,
        eval: |a, _| case(a),
        volatile: false,
        doc: "case(p1, v1, p2, v2, ..., else): the value of the first true predicate.",
    },
    ScalarFunction {
        name: "coalesce",
        aliases: &[],
        min_args: 2,
        max_args: 64,
        return_type: common_return,
        eval: |a, _| coalesce(a),
        volatile: false,
        doc: "The first argument that is neither null nor an empty string.",
    },
    ScalarFunction {
        name: "max_of",
        aliases: &[],
        min_args: 2,
        max_args: 64,
        return_type: common_return,
        eval: |a, _| extreme_of(a, Ordering::Greater),
        volatile: false,
        doc: "The largest of the arguments, ignoring nulls.",
    },
    ScalarFunction {
        name: "min_of",
        aliases: &[],
        min_args: 2,
        max_args: 64,
        return_type: common_return,
        eval: |a, _| extreme_of(a, Ordering::Less),
        volatile: false,
        doc: "The smallest of the arguments, ignoring nulls.",
    },
    ScalarFunction {
        name: "binary_and",
        aliases: &[],
        min_args: 2,
        max_args: 2,
        return_type: returns!(Long),
        eval: |a, _| binary2(a, |x, y| Some(x & y)),
        volatile: false,
        doc: "Bitwise AND of two integers.",
    },
    ScalarFunction {
        name: "binary_or",
        aliases: &[],
        min_args: 2,
        max_args: 2,
        return_type: returns!(Long),
        eval: |a, _| binary2(a, |x, y| Some(x | y)),
        volatile: false,
        doc: "Bitwise OR of two integers.",
    },
    ScalarFunction {
        name: "binary_xor",
        aliases: &[],
        min_args: 2,
        max_args: 2,
        return_type: returns!(Long),
        eval: |a, _| binary2(a, |x, y| Some(x ^ y)),
        volatile: false,
        doc: "Bitwise XOR of two integers.",
    },
    ScalarFunction {
        name: "binary_not",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Long),
        eval: |a, _| {
            int_arg(&a[0])
                .map(|x| Value::Long(!x))
                .unwrap_or(Value::Null)
        },
        volatile: false,
        doc: "Bitwise NOT of an integer.",
    },
    ScalarFunction {
        name: "binary_shift_left",
        aliases: &[],
        min_args: 2,
        max_args: 2,
        return_type: returns!(Long),
        eval: |a, _| binary2(a, |x, n| shift_amount(n).map(|n| x.wrapping_shl(n))),
        volatile: false,
        doc: "Shifts an integer left by a number of bits.",
    },
    ScalarFunction {
        name: "binary_shift_right",
        aliases: &[],
        min_args: 2,
        max_args: 2,
        return_type: returns!(Long),
        eval: |a, _| binary2(a, |x, n| shift_amount(n).map(|n| x.wrapping_shr(n))),
        volatile: false,
        doc: "Shifts an integer right (arithmetic shift) by a number of bits.",
    },
    ScalarFunction {
        name: "bitset_count_ones",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Long),
        eval: |a, _| {
            int_arg(&a[0])
                .map(|x| Value::Long(x.count_ones() as i64))
                .unwrap_or(Value::Null)
        },
        volatile: false,
        doc: "Number of set bits in the binary representation of an integer.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::{lookup, names};

    fn eval(name: &str, args: &[Value]) -> Value {
        let f = lookup(name).unwrap_or_else(|| panic!("{name} not registered"));
        (f.eval)(args, &EvalContext::default())
    }

    fn s(x: &str) -> Value {
        Value::string(x)
    }

    #[test]
    fn conversions() {
        assert_eq!(eval("tostring", &[Value::Long(123)]), s("123"));
        assert_eq!(eval("tostring", &[Value::Null]), s(""));
        assert_eq!(eval("tostring", &[Value::Real(1.5)]), s("1.5"));
        assert_eq!(eval("toint", &[s("123")]), Value::Int(123));
        assert_eq!(eval("toint", &[s("")]), Value::Null);
        assert_eq!(eval("toint", &[Value::Real(2.3)]), Value::Int(2));
        assert_eq!(eval("tolong", &[Value::Real(123.5)]), Value::Long(123));
        assert_eq!(eval("tolong", &[s("")]), Value::Null);
        assert_eq!(eval("todouble", &[s("123.5")]), Value::Real(123.5));
        assert_eq!(eval("todouble", &[s("")]), Value::Null);
        assert_eq!(
            eval("todecimal", &[s("123.45678")]),
            Value::Decimal(123.45678)
        );
        assert_eq!(eval("tobool", &[s("true")]), Value::Bool(true));
        assert_eq!(
            eval("totimespan", &[s("0.00:03:00")]),
            Value::TimeSpan(180_000_000_000)
        );
        assert_eq!(
            eval("todatetime", &[s("2015-12-31 23:59:59.9")]),
            Value::DateTime(crate::format::parse_datetime("2015-12-31T23:59:59.9Z").unwrap())
        );
    }

    #[test]
    fn toguid_is_lenient_about_dashes() {
        let want = Value::Guid("01234567-89ab-cdef-0123-456789abcdef".into());
        assert_eq!(
            eval("toguid", &[s("0123456789abcdef0123456789abcdef")]),
            want
        );
        assert_eq!(
            eval("toguid", &[s("0123456789ab-cdef-0123-456789abcdef")]),
            want
        );
        assert_eq!(
            eval("toguid", &[s("a string that is not a guid")]),
            Value::Null
        );
    }

    #[test]
    fn null_and_empty_tests() {
        assert_eq!(eval("isnull", &[s("")]), Value::Bool(false));
        assert_eq!(eval("isnull", &[Value::Null]), Value::Bool(true));
        assert_eq!(
            eval("isnull", &[Value::Dynamic(Json::Null)]),
            Value::Bool(true)
        );
        assert_eq!(eval("isempty", &[s("")]), Value::Bool(true));
        assert_eq!(eval("isempty", &[s(" ")]), Value::Bool(false));
        assert_eq!(eval("isnotempty", &[s("x")]), Value::Bool(true));
        assert_eq!(eval("isnotnull", &[Value::Long(1)]), Value::Bool(true));
        let empty_array = Value::Dynamic(serde_json::json!([]));
        assert_eq!(
            eval("isempty", std::slice::from_ref(&empty_array)),
            Value::Bool(false)
        );
        assert_eq!(eval("isnull", &[empty_array]), Value::Bool(false));
    }

    #[test]
    fn gettype_names() {
        assert_eq!(eval("gettype", &[s("a")]), s("string"));
        assert_eq!(eval("gettype", &[Value::Long(111)]), s("long"));
        assert_eq!(
            eval("gettype", &[Value::Dynamic(serde_json::json!(1))]),
            s("int")
        );
        assert_eq!(
            eval("gettype", &[Value::Dynamic(serde_json::json!({"a": 1}))]),
            s("dictionary")
        );
        assert_eq!(
            eval("gettype", &[Value::Dynamic(serde_json::json!([1]))]),
            s("array")
        );
        assert_eq!(eval("gettype", &[Value::Real(123.45)]), s("real"));
        assert_eq!(eval("gettype", &[Value::Dynamic(Json::Null)]), s("null"));
    }

    #[test]
    fn conditionals() {
        // loco-builtins-not-columnar
        assert_eq!(eval("not", &[Value::Bool(true)]), Value::Bool(false));
        assert_eq!(eval("not", &[Value::Null]), Value::Null);
        // loco-iff-scalar
        assert_eq!(
            eval(
                "iif",
                &[Value::Bool(false), Value::Bool(true), Value::Bool(false)]
            ),
            Value::Bool(false)
        );
        assert_eq!(
            eval("iff", &[Value::Bool(true), s("ifTrue"), s("ifFalse")]),
            s("ifTrue")
        );
        // doc-logical-operators-04: a null condition picks the else branch.
        assert_eq!(
            eval("iff", &[Value::Null, Value::Bool(true), Value::Bool(false)]),
            Value::Bool(false)
        );
        assert_eq!(
            eval(
                "iff",
                &[Value::Bool(true), Value::Long(1), Value::Real(2.5)]
            ),
            Value::Real(1.0)
        );
        // doc-case-function-00
        let bucket = |size: i64| {
            eval(
                "case",
                &[
                    Value::Bool(size <= 3),
                    s("Small"),
                    Value::Bool(size <= 10),
                    s("Medium"),
                    s("Large"),
                ],
            )
        };
        assert_eq!(bucket(1), s("Small"));
        assert_eq!(bucket(7), s("Medium"));
        assert_eq!(bucket(15), s("Large"));
        // doc-coalesce-function-00
        assert_eq!(
            eval("coalesce", &[Value::Null, Value::Long(42), Value::Long(33)]),
            Value::Long(42)
        );
        assert_eq!(eval("coalesce", &[s(""), s("x")]), s("x"));
        assert_eq!(eval("coalesce", &[s(""), s("")]), s(""));
    }

    #[test]
    fn max_min_of() {
        let longs = [10, 1, -3, 17].map(Value::Long);
        assert_eq!(eval("max_of", &longs), Value::Long(17));
        assert_eq!(eval("min_of", &longs), Value::Long(-3));
        // doc-max-of-function-01 / doc-min-of-function-01: nulls are ignored.
        assert_eq!(eval("max_of", &[Value::Null, Value::Int(2)]), Value::Int(2));
        assert_eq!(eval("min_of", &[Value::Int(1), Value::Null]), Value::Int(1));
        assert_eq!(eval("max_of", &[Value::Null, Value::Null]), Value::Null);
        assert_eq!(
            eval("max_of", &[Value::DateTime(5), Value::DateTime(9)]),
            Value::DateTime(9)
        );
        assert_eq!(
            eval("max_of", &[Value::Long(1), Value::Real(0.5)]),
            Value::Real(1.0)
        );
        assert_eq!(
            common_return(&[KqlType::Int, KqlType::Int]),
            Ok(KqlType::Int)
        );
    }

    #[test]
    fn bitwise() {
        assert_eq!(
            eval("binary_and", &[Value::Long(6), Value::Long(3)]),
            Value::Long(2)
        );
        assert_eq!(
            eval("binary_or", &[Value::Long(5), Value::Long(3)]),
            Value::Long(7)
        );
        assert_eq!(
            eval("binary_xor", &[Value::Long(5), Value::Long(3)]),
            Value::Long(6)
        );
        assert_eq!(eval("binary_not", &[Value::Long(0)]), Value::Long(-1));
        assert_eq!(
            eval("binary_shift_left", &[Value::Long(1), Value::Long(4)]),
            Value::Long(16)
        );
        assert_eq!(
            eval("binary_shift_right", &[Value::Long(16), Value::Long(4)]),
            Value::Long(1)
        );
        assert_eq!(
            eval("bitset_count_ones", &[Value::Long(42)]),
            Value::Long(3)
        );
        assert_eq!(
            eval("binary_and", &[Value::Null, Value::Long(3)]),
            Value::Null
        );
    }

    /// Every registered function, every arity up to 4, fed edge values: no panic.
    #[test]
    fn registry_robustness_sweep() {
        let huge = "ab(c[".repeat(40_000);
        let edges = vec![
            Value::Null,
            Value::string(""),
            Value::Long(i64::MIN),
            Value::Long(i64::MAX),
            Value::Int(i32::MIN),
            Value::Real(f64::NAN),
            Value::Real(f64::INFINITY),
            Value::Real(-1e300),
            Value::Decimal(f64::NAN),
            Value::Bool(true),
            Value::DateTime(i64::MIN),
            Value::DateTime(i64::MAX),
            Value::TimeSpan(i64::MIN),
            Value::TimeSpan(0),
            Value::Guid("not-a-guid".into()),
            Value::Dynamic(serde_json::json!([1, "a", null, [2], {"k": -1}])),
            Value::Dynamic(serde_json::json!({"a": [1.5e308, -1]})),
            Value::Dynamic(Json::Null),
            Value::string(huge.clone()),
            Value::string("(((["),
            Value::string("\u{10FFFF}\u{0}é"),
        ];
        let normals = [Value::Long(2), Value::string("a.b-c"), Value::Real(0.5)];
        let ctx = EvalContext {
            now: 1_700_000_000_000_000_000,
        };
        let mut failures = Vec::new();
        let mut all: Vec<&str> = names().collect();
        all.sort_unstable();
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        for name in all {
            let f = lookup(name).expect("listed name resolves");
            if f.name != name {
                continue; // aliases share the implementation
            }
            let hi = f.max_args.min(4);
            for arity in f.min_args..=hi.max(f.min_args) {
                if arity > f.max_args {
                    break;
                }
                let mut calls: Vec<Vec<Value>> = Vec::new();
                for e in &edges {
                    calls.push(vec![e.clone(); arity]);
                    for pos in 0..arity {
                        for n in &normals {
                            let mut args = vec![n.clone(); arity];
                            args[pos] = e.clone();
                            calls.push(args);
                        }
                    }
                }
                for args in calls {
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        (f.eval)(&args, &ctx)
                    }));
                    if result.is_err() {
                        let shown: Vec<String> = args
                            .iter()
                            .map(|a| {
                                let t = format!("{a:?}");
                                t.chars().take(40).collect()
                            })
                            .collect();
                        failures.push(format!("{name}({})", shown.join(", ")));
                    }
                }
            }
        }
        std::panic::set_hook(default_hook);
        failures.dedup();
        assert!(failures.is_empty(), "panics:\n{}", failures.join("\n"));
    }
}
