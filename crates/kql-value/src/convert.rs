//! Kusto's conversions (`tobool`, `toint`, `tolong`, `toreal`, `todecimal`, `tostring`,
//! `todatetime`, `totimespan`, `toguid`, `todynamic`): bad input gives null, never an error.

use crate::format::{parse_datetime, parse_timespan};
use crate::value::{KqlType, Value};
use serde_json::Value as Json;

pub fn convert(v: &Value, ty: KqlType) -> Value {
    if let Value::Null = v {
        return match ty {
            KqlType::String => Value::String(String::new()),
            _ => Value::Null,
        };
    }
    match ty {
        KqlType::String => Value::String(v.to_kql_string()),
        KqlType::Bool => to_bool(v).map(Value::Bool).unwrap_or(Value::Null),
        KqlType::Int => to_i64(v)
            .and_then(|i| i32::try_from(i).ok())
            .map(Value::Int)
            .unwrap_or(Value::Null),
        KqlType::Long => to_i64(v).map(Value::Long).unwrap_or(Value::Null),
        KqlType::Real => to_f64(v).map(Value::Real).unwrap_or(Value::Null),
        KqlType::Decimal => to_f64(v)
            .filter(|f| f.is_finite())
            .map(Value::Decimal)
            .unwrap_or(Value::Null),
        KqlType::DateTime => match v {
            Value::DateTime(d) => Value::DateTime(*d),
            Value::String(s) => parse_datetime(s)
                .map(Value::DateTime)
                .unwrap_or(Value::Null),
            Value::Dynamic(Json::String(s)) => parse_datetime(s)
                .map(Value::DateTime)
                .unwrap_or(Value::Null),
            // Kusto reads a number as ticks since 0001-01-01? No: todatetime(long) is
            // not defined in the docs; treat numbers as invalid.
            _ => Value::Null,
        },
        KqlType::TimeSpan => match v {
            Value::TimeSpan(t) => Value::TimeSpan(*t),
            Value::String(s) => parse_timespan(s)
                .map(Value::TimeSpan)
                .unwrap_or(Value::Null),
            Value::Dynamic(Json::String(s)) => parse_timespan(s)
                .map(Value::TimeSpan)
                .unwrap_or(Value::Null),
            // A number converts as ticks.
            Value::Int(_) | Value::Long(_) | Value::Dynamic(Json::Number(_)) => v
                .as_i64()
                .and_then(|t| t.checked_mul(100))
                .map(Value::TimeSpan)
                .unwrap_or(Value::Null),
            Value::Real(f) | Value::Decimal(f) => {
                if f.is_finite() {
                    Value::TimeSpan((f * 100.0) as i64)
                } else {
                    Value::Null
                }
            }
            _ => Value::Null,
        },
        KqlType::Guid => {
            let s = v.to_kql_string();
            parse_guid(&s).map(Value::Guid).unwrap_or(Value::Null)
        }
        KqlType::Dynamic => match v {
            Value::Dynamic(j) => Value::Dynamic(j.clone()),
            Value::String(s) => Value::Dynamic(parse_json_lenient(s)),
            other => Value::Dynamic(other.to_json()),
        },
    }
}

fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::String(s) | Value::Dynamic(Json::String(s)) => {
            let t = s.trim();
            if t.eq_ignore_ascii_case("true") {
                Some(true)
            } else if t.eq_ignore_ascii_case("false") {
                Some(false)
            } else {
                t.parse::<f64>().ok().map(|f| f != 0.0)
            }
        }
        other => other.as_bool(),
    }
}

fn to_i64(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) | Value::Dynamic(Json::String(s)) => {
            let t = s.trim();
            t.parse::<i64>().ok().or_else(|| {
                t.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f.trunc() as i64)
            })
        }
        Value::Real(f) | Value::Decimal(f) => {
            if f.is_finite() && f.abs() < 9.3e18 {
                Some(f.trunc() as i64)
            } else {
                None
            }
        }
        Value::Guid(_) => None,
        Value::Dynamic(Json::Array(_) | Json::Object(_)) => None,
        other => other.as_i64(),
    }
}

fn to_f64(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) | Value::Dynamic(Json::String(s)) => {
            let t = s.trim();
            match t {
                "NaN" | "nan" => Some(f64::NAN),
                "Infinity" | "inf" | "+inf" => Some(f64::INFINITY),
                "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
                _ => t.parse::<f64>().ok(),
            }
        }
        Value::DateTime(_) | Value::TimeSpan(_) => v.as_i64().map(|n| (n / 100) as f64),
        Value::Guid(_) => None,
        other => other.as_f64(),
    }
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (also without dashes or in braces), lower-cased.
pub fn parse_guid(s: &str) -> Option<String> {
    let t = s.trim().trim_start_matches('{').trim_end_matches('}');
    let hex: String = t.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    if t.len() == 36 {
        let b = t.as_bytes();
        if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
            return None;
        }
    } else if t.len() != 32 {
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

/// `parse_json`/`todynamic` of a string: valid JSON becomes its value; anything else
/// stays a string value (Kusto does not fail).
pub fn parse_json_lenient(s: &str) -> Json {
    match serde_json::from_str::<Json>(s) {
        Ok(j) => j,
        Err(_) => Json::String(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_is_null() {
        assert_eq!(convert(&Value::string("abc"), KqlType::Long), Value::Null);
        assert_eq!(
            convert(&Value::string("12"), KqlType::Long),
            Value::Long(12)
        );
        assert_eq!(convert(&Value::string("1.7"), KqlType::Int), Value::Int(1));
        assert_eq!(convert(&Value::Real(2.9), KqlType::Long), Value::Long(2));
        assert_eq!(convert(&Value::string("x"), KqlType::DateTime), Value::Null);
        assert_eq!(convert(&Value::Null, KqlType::String), Value::string(""));
        assert_eq!(
            convert(&Value::string("true"), KqlType::Bool),
            Value::Bool(true)
        );
    }

    #[test]
    fn guid_forms() {
        assert_eq!(
            parse_guid("74BE27DE-1E4E-49D9-B579-FE0B331D3642").as_deref(),
            Some("74be27de-1e4e-49d9-b579-fe0b331d3642")
        );
        assert!(parse_guid("nope").is_none());
    }
}
