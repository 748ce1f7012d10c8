//! Kusto's scalar types and values, independent of any columnar representation.
//!
//! The engine moves data as Arrow arrays; functions whose semantics are intricate and
//! whose speed is not critical are written once here, over [`Value`], and adapted to
//! Arrow by the engine. Hot paths (comparisons, `has`, `contains` on columns) are
//! vectorised in the engine and must agree with the functions here.

use serde_json::Value as Json;
use std::cmp::Ordering;
use std::fmt;

/// A KQL scalar type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KqlType {
    Bool,
    Int,
    Long,
    Real,
    Decimal,
    String,
    DateTime,
    TimeSpan,
    Guid,
    Dynamic,
}

impl KqlType {
    /// The name Kusto reports (`getschema`, result schemas, the conformance corpus).
    pub fn name(self) -> &'static str {
        match self {
            KqlType::Bool => "bool",
            KqlType::Int => "int",
            KqlType::Long => "long",
            KqlType::Real => "real",
            KqlType::Decimal => "decimal",
            KqlType::String => "string",
            KqlType::DateTime => "datetime",
            KqlType::TimeSpan => "timespan",
            KqlType::Guid => "guid",
            KqlType::Dynamic => "dynamic",
        }
    }

    /// Parses a type name with Kusto's synonyms.
    pub fn parse(s: &str) -> Option<KqlType> {
        Some(match s {
            "bool" | "boolean" => KqlType::Bool,
            "int" | "int32" => KqlType::Int,
            "long" | "int64" => KqlType::Long,
            "real" | "double" | "float" => KqlType::Real,
            "decimal" => KqlType::Decimal,
            "string" => KqlType::String,
            "datetime" | "date" => KqlType::DateTime,
            "timespan" | "time" => KqlType::TimeSpan,
            "guid" | "uuid" | "uniqueid" => KqlType::Guid,
            "dynamic" => KqlType::Dynamic,
            _ => return None,
        })
    }

    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            KqlType::Int | KqlType::Long | KqlType::Real | KqlType::Decimal
        )
    }

    /// The .NET type name Kusto's v1/v2 protocol reports (`DataType`).
    pub fn clr_name(self) -> &'static str {
        match self {
            KqlType::Bool => "Boolean",
            KqlType::Int => "Int32",
            KqlType::Long => "Int64",
            KqlType::Real => "Double",
            KqlType::Decimal => "Decimal",
            KqlType::String => "String",
            KqlType::DateTime => "DateTime",
            KqlType::TimeSpan => "TimeSpan",
            KqlType::Guid => "Guid",
            KqlType::Dynamic => "Object",
        }
    }
}

impl fmt::Display for KqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One KQL scalar value. `Null` is typeless: the static type travels beside it.
///
/// Invariants: datetimes are nanoseconds since the Unix epoch (UTC) and timespans are
/// nanoseconds, both multiples of 100 ns (a Kusto tick) when they come from Kusto text;
/// strings are never null (an absent string is `""`); guids are lower-case text.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Real(f64),
    /// Kept as f64 for now; decimal arithmetic beyond 15 digits is not exact.
    Decimal(f64),
    String(String),
    DateTime(i64),
    TimeSpan(i64),
    Guid(String),
    Dynamic(Json),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null | Value::Dynamic(Json::Null))
    }

    /// The type this value has on its own (None for `Null`).
    pub fn kql_type(&self) -> Option<KqlType> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => KqlType::Bool,
            Value::Int(_) => KqlType::Int,
            Value::Long(_) => KqlType::Long,
            Value::Real(_) => KqlType::Real,
            Value::Decimal(_) => KqlType::Decimal,
            Value::String(_) => KqlType::String,
            Value::DateTime(_) => KqlType::DateTime,
            Value::TimeSpan(_) => KqlType::TimeSpan,
            Value::Guid(_) => KqlType::Guid,
            Value::Dynamic(_) => KqlType::Dynamic,
        })
    }

    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// A numeric view: ints, longs, reals, decimals, bools (0/1) and numbers inside dynamic.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(v) => Some(*v as f64),
            Value::Long(v) => Some(*v as f64),
            Value::Real(v) | Value::Decimal(v) => Some(*v),
            Value::Bool(b) => Some(*b as i64 as f64),
            Value::DateTime(v) | Value::TimeSpan(v) => Some(*v as f64),
            Value::Dynamic(Json::Number(n)) => n.as_f64(),
            Value::Dynamic(Json::Bool(b)) => Some(*b as i64 as f64),
            _ => None,
        }
    }

    /// An integer view; reals are truncated toward zero.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v as i64),
            Value::Long(v) => Some(*v),
            Value::Real(v) | Value::Decimal(v) => {
                if v.is_finite() {
                    Some(v.trunc() as i64)
                } else {
                    None
                }
            }
            Value::Bool(b) => Some(*b as i64),
            Value::DateTime(v) | Value::TimeSpan(v) => Some(*v),
            Value::Dynamic(Json::Number(n)) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.trunc() as i64)
            }),
            Value::Dynamic(Json::Bool(b)) => Some(*b as i64),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Int(v) => Some(*v != 0),
            Value::Long(v) => Some(*v != 0),
            Value::Real(v) | Value::Decimal(v) => Some(*v != 0.0),
            Value::Dynamic(Json::Bool(b)) => Some(*b),
            Value::String(s) => match s.as_str() {
                "true" | "True" | "TRUE" | "1" => Some(true),
                "false" | "False" | "FALSE" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// The string a function sees when it takes a string argument: Kusto converts
    /// any scalar to its text form (`tostring`).
    pub fn to_kql_string(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(v) => v.to_string(),
            Value::Long(v) => v.to_string(),
            Value::Real(v) | Value::Decimal(v) => crate::format::format_real(*v),
            Value::String(s) => s.clone(),
            Value::DateTime(v) => crate::format::format_datetime(*v),
            Value::TimeSpan(v) => crate::format::format_timespan(*v),
            Value::Guid(g) => g.clone(),
            Value::Dynamic(Json::Null) => String::new(),
            Value::Dynamic(Json::String(s)) => s.clone(),
            Value::Dynamic(j) => crate::format::json_to_kql_text(j),
        }
    }

    /// Borrowed text for string values (no allocation); other values are converted.
    pub fn as_str_cow(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Value::String(s) | Value::Guid(s) => std::borrow::Cow::Borrowed(s),
            Value::Dynamic(Json::String(s)) => std::borrow::Cow::Borrowed(s),
            other => std::borrow::Cow::Owned(other.to_kql_string()),
        }
    }

    /// The value as it appears inside a `dynamic`: datetimes and timespans become
    /// their Kusto text, guids strings.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(v) => Json::from(*v),
            Value::Long(v) => Json::from(*v),
            Value::Real(v) | Value::Decimal(v) => serde_json::Number::from_f64(*v)
                .map(Json::Number)
                .unwrap_or_else(|| Json::String(crate::format::format_real(*v))),
            Value::String(s) => Json::String(s.clone()),
            Value::DateTime(v) => Json::String(crate::format::format_datetime_full(*v)),
            Value::TimeSpan(v) => Json::String(crate::format::format_timespan(*v)),
            Value::Guid(g) => Json::String(g.clone()),
            Value::Dynamic(j) => j.clone(),
        }
    }

    /// Casts to `ty` the way `toint`/`tolong`/`todouble`/`tostring`/`todatetime`/...
    /// do: bad input gives null, never an error.
    pub fn convert(&self, ty: KqlType) -> Value {
        crate::convert::convert(self, ty)
    }
}

/// Kusto's total order for sorting values of one column: nulls are the smallest value;
/// NaN sorts above every number.
pub fn compare_for_sort(a: &Value, b: &Value) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        _ => {}
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::DateTime(x), Value::DateTime(y)) | (Value::TimeSpan(x), Value::TimeSpan(y)) => {
            x.cmp(y)
        }
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Long(x), Value::Long(y)) => x.cmp(y),
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => a.to_kql_string().cmp(&b.to_kql_string()),
        },
    }
}
