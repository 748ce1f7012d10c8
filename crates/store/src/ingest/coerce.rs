//! Values as real exports write them, coerced to a column's KQL type: timestamps with
//! 0–7 fractional digits with or without `Z`, bools as `true`/`false`/`0`/`1`, numbers
//! given as strings, JSON `null` in string columns, JSON objects and arrays in string
//! and dynamic columns. Every conversion either succeeds or says why, never panics.

use super::error::preview;
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, DurationNanosecondBuilder, Float64Builder, Int32Builder,
    Int64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use kql_value::KqlType;
use serde_json::Value as Json;
use std::borrow::Cow;
use std::sync::Arc;

/// Kusto's limit on one string value (1 MiB); larger values are bad rows.
pub const DEFAULT_MAX_VALUE_BYTES: usize = 1 << 20;

/// One value, converted and ready to append to its column.
#[derive(Debug, PartialEq)]
pub(crate) enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Real(f64),
    Time(i64),
    Span(i64),
    Text(Cow<'a, str>),
}

/// Converts a JSON value (absent = `None`) to `ty`.
pub(crate) fn from_json(
    v: Option<&Json>,
    ty: KqlType,
    max_bytes: usize,
) -> Result<Cell<'_>, String> {
    let cell = match v {
        None | Some(Json::Null) => Cell::Null,
        Some(Json::String(s)) => return from_text(s, ty, max_bytes),
        Some(Json::Bool(b)) => match ty {
            KqlType::Bool => Cell::Bool(*b),
            KqlType::Int => Cell::Int(*b as i32),
            KqlType::Long => Cell::Long(*b as i64),
            KqlType::Real | KqlType::Decimal => Cell::Real(*b as i64 as f64),
            KqlType::String | KqlType::Dynamic => {
                Cell::Text(Cow::Borrowed(if *b { "true" } else { "false" }))
            }
            _ => return Err(format!("expected {}, found {b}", ty.name())),
        },
        Some(Json::Number(n)) => match ty {
            KqlType::Bool => match n.as_i64() {
                Some(0) => Cell::Bool(false),
                Some(1) => Cell::Bool(true),
                _ => return Err(format!("expected bool (true, false, 0 or 1), found {n}")),
            },
            KqlType::Int => Cell::Int(json_integer(n, ty).and_then(|i| {
                i32::try_from(i).map_err(|_| format!("{n} is out of range for int"))
            })?),
            KqlType::Long => Cell::Long(json_integer(n, ty)?),
            KqlType::Real | KqlType::Decimal => match n.as_f64() {
                Some(f) => Cell::Real(f),
                None => return Err(format!("expected real, found {n}")),
            },
            KqlType::String | KqlType::Dynamic => Cell::Text(Cow::Owned(n.to_string())),
            _ => return Err(format!("expected {}, found the number {n}", ty.name())),
        },
        Some(j @ (Json::Array(_) | Json::Object(_))) => match ty {
            KqlType::String | KqlType::Dynamic => Cell::Text(Cow::Owned(j.to_string())),
            _ => {
                let what = if j.is_array() {
                    "an array"
                } else {
                    "an object"
                };
                return Err(format!("expected {}, found {what}", ty.name()));
            }
        },
    };
    check_size(cell, max_bytes)
}

fn json_integer(n: &serde_json::Number, ty: KqlType) -> Result<i64, String> {
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    if n.is_u64() {
        return Err(format!("{n} is out of range for {}", ty.name()));
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => Ok(f as i64),
        _ => Err(format!("expected {}, found {n}", ty.name())),
    }
}

/// Converts text (a CSV field, a JSON string) to `ty`. Empty text is `""` for strings
/// and null for every other type.
pub(crate) fn from_text(s: &str, ty: KqlType, max_bytes: usize) -> Result<Cell<'_>, String> {
    if s.len() > max_bytes {
        return Err(too_big(s.len(), max_bytes));
    }
    if ty == KqlType::String {
        return Ok(Cell::Text(Cow::Borrowed(s)));
    }
    let t = s.trim();
    if t.is_empty() {
        return Ok(Cell::Null);
    }
    let bad = || format!("expected {}, found {}", ty.name(), preview(s));
    Ok(match ty {
        KqlType::Bool => match t {
            "1" => Cell::Bool(true),
            "0" => Cell::Bool(false),
            _ if t.eq_ignore_ascii_case("true") => Cell::Bool(true),
            _ if t.eq_ignore_ascii_case("false") => Cell::Bool(false),
            _ => {
                return Err(format!(
                    "expected bool (true, false, 0 or 1), found {}",
                    preview(s)
                ))
            }
        },
        KqlType::Int => {
            let i = text_integer(t).ok_or_else(bad)?;
            Cell::Int(i32::try_from(i).map_err(|_| format!("{t} is out of range for int"))?)
        }
        KqlType::Long => Cell::Long(text_integer(t).ok_or_else(bad)?),
        KqlType::Real | KqlType::Decimal => Cell::Real(t.parse::<f64>().map_err(|_| bad())?),
        KqlType::DateTime => Cell::Time(kql_value::format::parse_datetime(t).ok_or_else(bad)?),
        KqlType::TimeSpan => Cell::Span(kql_value::format::parse_timespan(t).ok_or_else(bad)?),
        KqlType::Guid => {
            uuid::Uuid::parse_str(t).map_err(|_| bad())?;
            Cell::Text(Cow::Borrowed(t))
        }
        KqlType::Dynamic => {
            // JSON text stays as written; any other text is a dynamic string.
            if serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok() {
                Cell::Text(Cow::Borrowed(t))
            } else {
                return check_size(
                    Cell::Text(Cow::Owned(Json::String(s.to_string()).to_string())),
                    max_bytes,
                );
            }
        }
        KqlType::String => unreachable!("handled above"),
    })
}

fn text_integer(t: &str) -> Option<i64> {
    if let Ok(i) = t.parse::<i64>() {
        return Some(i);
    }
    // "3.0", "1e3": integral values written as reals.
    let f = t.parse::<f64>().ok()?;
    (f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64).then_some(f as i64)
}

fn check_size(cell: Cell<'_>, max_bytes: usize) -> Result<Cell<'_>, String> {
    match &cell {
        Cell::Text(t) if t.len() > max_bytes => Err(too_big(t.len(), max_bytes)),
        _ => Ok(cell),
    }
}

fn too_big(len: usize, max: usize) -> String {
    format!("value is {len} bytes, more than the limit of {max} bytes for one value")
}

/// An Arrow builder for one column of a KQL type.
pub(crate) enum ColumnBuilder {
    Bool(BooleanBuilder),
    Int(Int32Builder),
    Long(Int64Builder),
    Real(Float64Builder),
    Time(TimestampNanosecondBuilder),
    Span(DurationNanosecondBuilder),
    /// `never_null`: KQL strings have no null; guid and dynamic do.
    Text {
        b: StringBuilder,
        never_null: bool,
    },
}

impl ColumnBuilder {
    pub(crate) fn new(ty: KqlType, capacity: usize) -> ColumnBuilder {
        match ty {
            KqlType::Bool => ColumnBuilder::Bool(BooleanBuilder::with_capacity(capacity)),
            KqlType::Int => ColumnBuilder::Int(Int32Builder::with_capacity(capacity)),
            KqlType::Long => ColumnBuilder::Long(Int64Builder::with_capacity(capacity)),
            KqlType::Real | KqlType::Decimal => {
                ColumnBuilder::Real(Float64Builder::with_capacity(capacity))
            }
            KqlType::DateTime => {
                ColumnBuilder::Time(TimestampNanosecondBuilder::with_capacity(capacity))
            }
            KqlType::TimeSpan => {
                ColumnBuilder::Span(DurationNanosecondBuilder::with_capacity(capacity))
            }
            KqlType::String | KqlType::Guid | KqlType::Dynamic => ColumnBuilder::Text {
                b: StringBuilder::with_capacity(capacity, capacity * 16),
                never_null: ty == KqlType::String,
            },
        }
    }

    /// Appends a cell produced by [`from_json`]/[`from_text`] for this column's type.
    pub(crate) fn append(&mut self, cell: Cell<'_>) {
        match (self, cell) {
            (ColumnBuilder::Bool(b), Cell::Bool(v)) => b.append_value(v),
            (ColumnBuilder::Int(b), Cell::Int(v)) => b.append_value(v),
            (ColumnBuilder::Long(b), Cell::Long(v)) => b.append_value(v),
            (ColumnBuilder::Real(b), Cell::Real(v)) => b.append_value(v),
            (ColumnBuilder::Time(b), Cell::Time(v)) => b.append_value(v),
            (ColumnBuilder::Span(b), Cell::Span(v)) => b.append_value(v),
            (ColumnBuilder::Text { b, .. }, Cell::Text(v)) => b.append_value(v),
            (
                ColumnBuilder::Text {
                    b,
                    never_null: true,
                },
                _,
            ) => b.append_value(""),
            (ColumnBuilder::Text { b, .. }, _) => b.append_null(),
            (ColumnBuilder::Bool(b), _) => b.append_null(),
            (ColumnBuilder::Int(b), _) => b.append_null(),
            (ColumnBuilder::Long(b), _) => b.append_null(),
            (ColumnBuilder::Real(b), _) => b.append_null(),
            (ColumnBuilder::Time(b), _) => b.append_null(),
            (ColumnBuilder::Span(b), _) => b.append_null(),
        }
    }

    pub(crate) fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
            ColumnBuilder::Int(b) => Arc::new(b.finish()),
            ColumnBuilder::Long(b) => Arc::new(b.finish()),
            ColumnBuilder::Real(b) => Arc::new(b.finish()),
            ColumnBuilder::Time(b) => Arc::new(b.finish().with_timezone("UTC")),
            ColumnBuilder::Span(b) => Arc::new(b.finish()),
            ColumnBuilder::Text { b, .. } => Arc::new(b.finish()),
        }
    }
}

/// Accumulates the type of a new table's column from the values seen in it: the
/// narrowest of bool, long, real, datetime, dynamic and string that holds them all.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TypeGuess(Option<KqlType>);

impl TypeGuess {
    pub(crate) fn json(&mut self, v: &Json) {
        let t = match v {
            Json::Null => return,
            Json::Bool(_) => KqlType::Bool,
            Json::Number(n) if n.is_i64() => KqlType::Long,
            Json::Number(_) => KqlType::Real,
            Json::String(s) if s.is_empty() => return,
            Json::String(s) => text_type(s, false),
            Json::Array(_) | Json::Object(_) => KqlType::Dynamic,
        };
        self.merge(t);
    }

    /// Text from CSV: numbers, `true`/`false` and ISO datetimes are recognised.
    pub(crate) fn text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        self.merge(text_type(s, true));
    }

    fn merge(&mut self, t: KqlType) {
        self.0 = Some(match self.0 {
            None => t,
            Some(p) if p == t => p,
            Some(KqlType::Long | KqlType::Real) if matches!(t, KqlType::Long | KqlType::Real) => {
                KqlType::Real
            }
            _ => KqlType::String,
        });
    }

    pub(crate) fn finish(self) -> KqlType {
        self.0.unwrap_or(KqlType::String)
    }
}

fn text_type(s: &str, numbers_too: bool) -> KqlType {
    let b = s.as_bytes();
    if b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b[..4].iter().all(u8::is_ascii_digit)
        && kql_value::format::parse_datetime(s).is_some()
    {
        return KqlType::DateTime;
    }
    if numbers_too {
        if s.parse::<i64>().is_ok() {
            return KqlType::Long;
        }
        if s.parse::<f64>().is_ok() && s.bytes().any(|c| c.is_ascii_digit()) {
            return KqlType::Real;
        }
        if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") {
            return KqlType::Bool;
        }
    }
    KqlType::String
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = DEFAULT_MAX_VALUE_BYTES;

    #[test]
    fn export_conventions() {
        assert_eq!(from_text("1", KqlType::Bool, MAX), Ok(Cell::Bool(true)));
        assert_eq!(from_text("True", KqlType::Bool, MAX), Ok(Cell::Bool(true)));
        assert_eq!(from_text("", KqlType::Int, MAX), Ok(Cell::Null));
        assert_eq!(
            from_text("", KqlType::String, MAX),
            Ok(Cell::Text("".into()))
        );
        assert_eq!(
            from_json(Some(&Json::Null), KqlType::String, MAX),
            Ok(Cell::Null)
        );
        assert_eq!(from_text("42", KqlType::Long, MAX), Ok(Cell::Long(42)));
        assert_eq!(from_text("3.0", KqlType::Int, MAX), Ok(Cell::Int(3)));
        assert!(from_text("3000000000", KqlType::Int, MAX).is_err());
        assert!(from_text("maybe", KqlType::Bool, MAX).is_err());
        assert_eq!(
            from_text("2026-07-19T17:02:06.1314605", KqlType::DateTime, MAX),
            from_text("2026-07-19T17:02:06.1314605Z", KqlType::DateTime, MAX)
        );
        assert_eq!(
            from_text("abc", KqlType::Dynamic, MAX),
            Ok(Cell::Text("\"abc\"".into()))
        );
        assert_eq!(
            from_text("[\"a\"]", KqlType::Dynamic, MAX),
            Ok(Cell::Text("[\"a\"]".into()))
        );
        assert!(from_text(&"x".repeat(MAX + 1), KqlType::String, MAX).is_err());
    }
}
