//! Typed literals whose inside is raw text: `int(5)`, `real(+inf)`, `datetime(...)`,
//! `timespan(1.02:03:04)`, `guid(...)`, typed nulls; and their JSON form inside `dynamic`.
//!
//! Datetime text is kept as written for the engine to interpret (Kusto accepts many
//! formats); inside `dynamic(...)` it must become a string, so common forms are normalised
//! to ISO 8601 with seven fraction digits, as Kusto prints them.

use crate::ast::{Literal, TypeName};
use crate::lexer::{scaled_nanos, unit_nanos};
use serde_json::{Number, Value};

/// The literal for `keyword(raw)`, or an error message.
pub(super) fn goo_literal(keyword: &str, raw: &str) -> Result<Literal, String> {
    let t = raw.trim();
    let ty = match keyword {
        "boolean" => TypeName::Bool,
        other => TypeName::parse(other).unwrap_or(TypeName::Dynamic),
    };
    if t == "null" {
        return Ok(Literal::Null(ty));
    }
    let invalid = || format!("invalid {keyword} literal '{keyword}({raw})'");
    Ok(match ty {
        TypeName::Int => {
            let v = parse_integer(t).ok_or_else(invalid)?;
            Literal::Int(
                i32::try_from(v).map_err(|_| format!("{v} is out of range for an int"))?,
            )
        }
        TypeName::Long => {
            let v = parse_integer(t).ok_or_else(invalid)?;
            Literal::Long(
                i64::try_from(v).map_err(|_| format!("{v} is out of range for a long"))?,
            )
        }
        TypeName::Real => Literal::Real(parse_real(t).ok_or_else(invalid)?),
        TypeName::Decimal => {
            if !is_decimal_text(t) {
                return Err(invalid());
            }
            Literal::Decimal(t.to_string())
        }
        TypeName::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "1" => Literal::Bool(true),
            "false" | "0" => Literal::Bool(false),
            _ => return Err(invalid()),
        },
        TypeName::DateTime => {
            let text = unquote(t).ok_or_else(invalid)?;
            if text.trim().is_empty() {
                return Err(format!(
                    "empty datetime literal; write e.g. `{keyword}(2024-01-01)` or `{keyword}(null)`"
                ));
            }
            Literal::DateTime(text.trim().to_string())
        }
        TypeName::TimeSpan => Literal::TimeSpan(parse_timespan(t).ok_or_else(|| {
            format!(
                "invalid timespan literal '{keyword}({raw})'; expected e.g. `{keyword}(1d)`, `{keyword}(02:30:00)` or `{keyword}(1.02:03:04.5)`"
            )
        })?),
        TypeName::Guid => {
            let text = unquote(t).ok_or_else(invalid)?;
            if !is_guid(text.trim()) {
                return Err(invalid());
            }
            Literal::Guid(text.trim().to_string())
        }
        TypeName::String | TypeName::Dynamic => return Err(invalid()),
    })
}

/// `keyword(raw)` inside `dynamic(...)`: numbers stay numbers, datetimes, timespans and
/// guids become strings in Kusto's text form, typed nulls become null.
pub(super) fn goo_json(keyword: &str, raw: &str) -> Result<Value, String> {
    Ok(match goo_literal(keyword, raw)? {
        Literal::Null(_) => Value::Null,
        Literal::Bool(b) => Value::Bool(b),
        Literal::Int(v) => Value::Number(Number::from(v)),
        Literal::Long(v) => Value::Number(Number::from(v)),
        Literal::Real(v) => Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| format!("'{keyword}({raw})' cannot be stored in a dynamic value"))?,
        Literal::Decimal(d) => match d.parse::<f64>().ok().and_then(Number::from_f64) {
            Some(n) => Value::Number(n),
            None => Value::String(d),
        },
        Literal::DateTime(text) => Value::String(normalize_datetime(&text).unwrap_or(text)),
        Literal::TimeSpan(ns) => Value::String(format_timespan(ns)),
        Literal::Guid(g) => Value::String(g.to_lowercase()),
        Literal::String(s) => Value::String(s),
        Literal::Dynamic(v) => v,
    })
}

/// Removes one pair of surrounding quotes (decoding doubled quotes), if any.
fn unquote(t: &str) -> Option<String> {
    let first = t.chars().next()?;
    if first != '"' && first != '\'' {
        return Some(t.to_string());
    }
    if t.len() < 2 || !t.ends_with(first) {
        return None;
    }
    Some(t[1..t.len() - 1].to_string())
}

fn parse_integer(t: &str) -> Option<i128> {
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, t[1..].trim_start()),
        b'+' => (false, t[1..].trim_start()),
        _ => (false, t),
    };
    let v = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        if hex.is_empty() || hex.len() > 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        i128::from_str_radix(hex, 16).ok()?
    } else {
        if digits.is_empty() || digits.len() > 30 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<i128>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Reals, including `nan`, `inf`, `+inf`, `-inf`.
fn parse_real(t: &str) -> Option<f64> {
    let lower = t.to_ascii_lowercase();
    match lower.as_str() {
        "nan" => return Some(f64::NAN),
        "inf" | "+inf" | "infinity" | "+infinity" => return Some(f64::INFINITY),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    // Only plain decimal notation: Rust's parser would also take "infinity" spellings.
    if !t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let v = t.parse::<f64>().ok()?;
    v.is_finite().then_some(v)
}

fn is_decimal_text(t: &str) -> bool {
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    !body.is_empty()
        && body.bytes().any(|b| b.is_ascii_digit())
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && body.parse::<f64>().is_ok()
}

/// 8-4-4-4-12 hex digits, or 32 hex digits, optionally in braces.
fn is_guid(t: &str) -> bool {
    let t = t
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(t);
    let b = t.as_bytes();
    match b.len() {
        32 => b.iter().all(u8::is_ascii_hexdigit),
        36 => b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        }),
        _ => false,
    }
}

/// Timespan text inside `time(...)`/`timespan(...)`: `[-][d.]hh:mm[:ss[.fffffff]]`,
/// a number with a unit (`2d`, `15 seconds`), or a plain number of days.
pub(super) fn parse_timespan(t: &str) -> Option<i64> {
    let (neg, body) = match t.as_bytes().first()? {
        b'-' => (true, t[1..].trim_start()),
        b'+' => (false, t[1..].trim_start()),
        _ => (false, t),
    };
    let ns = if body.contains(':') {
        clock_timespan(body)?
    } else {
        let num_end = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let (num, unit) = body.split_at(num_end);
        let unit = unit.trim();
        let nanos = if unit.is_empty() {
            86_400_000_000_000
        } else {
            unit_nanos(unit)?
        };
        let (int, frac) = split_decimal(num)?;
        scaled_nanos(int, frac, nanos)?
    };
    Some(if neg { -ns } else { ns })
}

/// `digits[.digits]` into its parts (at least one digit overall).
fn split_decimal(num: &str) -> Option<(&str, &str)> {
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    let ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    (ok(int) && ok(frac) && !(int.is_empty() && frac.is_empty())).then_some((int, frac))
}

fn clock_timespan(body: &str) -> Option<i64> {
    let parts: Vec<&str> = body.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let digits = |s: &str| !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit());
    let (days, hours) = match parts[0].split_once('.') {
        Some((d, h)) => (d, h),
        None => ("0", parts[0]),
    };
    if !digits(days) || !digits(hours) || !digits(parts[1]) {
        return None;
    }
    let mut total = scaled_nanos(days, "", 86_400_000_000_000)?;
    total = total.checked_add(scaled_nanos(hours, "", 3_600_000_000_000)?)?;
    total = total.checked_add(scaled_nanos(parts[1], "", 60_000_000_000)?)?;
    if let Some(sec) = parts.get(2) {
        let (s, f) = split_decimal(sec)?;
        if s.is_empty() || s.len() > 9 {
            return None;
        }
        total = total.checked_add(scaled_nanos(s, f, 1_000_000_000)?)?;
    }
    Some(total)
}

/// Kusto's timespan text: `[-][d.]hh:mm:ss[.fffffff]` (ticks; sub-tick nanoseconds are
/// dropped).
pub(super) fn format_timespan(ns: i64) -> String {
    let ticks = ns / 100;
    let sign = if ticks < 0 { "-" } else { "" };
    let t = ticks.unsigned_abs();
    let days = t / 864_000_000_000;
    let rem = t % 864_000_000_000;
    let h = rem / 36_000_000_000;
    let m = rem / 600_000_000 % 60;
    let s = rem / 10_000_000 % 60;
    let frac = rem % 10_000_000;
    let mut out = String::from(sign);
    if days > 0 {
        out += &format!("{days}.");
    }
    out += &format!("{h:02}:{m:02}:{s:02}");
    if frac > 0 {
        out += &format!(".{frac:07}");
    }
    out
}

/// `2024-01-01`, `2024/01/01`, `01-31-2024`, `01/31/2024`, each with an optional
/// `[T ]hh:mm[:ss[.f]]` and `Z`, as `2024-01-01T00:00:00.0000000Z`; None for other forms.
pub(super) fn normalize_datetime(text: &str) -> Option<String> {
    let t = text.trim();
    let t = t.strip_suffix('Z').unwrap_or(t);
    let (date, time) = match t.find(['T', ' ']) {
        Some(i) => (&t[..i], t[i + 1..].trim()),
        None => (t, ""),
    };
    let fields: Vec<&str> = date.split(['-', '/']).collect();
    if fields.len() != 3
        || fields
            .iter()
            .any(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let num = |s: &str| s.parse::<u32>().ok();
    let (y, mo, d) = if fields[0].len() == 4 {
        (num(fields[0])?, num(fields[1])?, num(fields[2])?)
    } else if fields[2].len() == 4 {
        (num(fields[2])?, num(fields[0])?, num(fields[1])?)
    } else {
        return None;
    };
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) {
        return None;
    }
    let (mut h, mut mi, mut s, mut frac) = (0, 0, 0, String::new());
    if !time.is_empty() {
        let parts: Vec<&str> = time.split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return None;
        }
        let two = |p: &str| {
            (!p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<u32>().ok())
                .flatten()
        };
        h = two(parts[0])?;
        mi = two(parts[1])?;
        if let Some(sec) = parts.get(2) {
            let (si, sf) = sec.split_once('.').unwrap_or((sec, ""));
            s = two(si)?;
            if !sf.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            frac = sf.chars().take(7).collect();
        }
        if h > 23 || mi > 59 || s > 59 {
            return None;
        }
    }
    while frac.len() < 7 {
        frac.push('0');
    }
    Some(format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac}Z"
    ))
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        _ => 28,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        let h = 3_600_000_000_000i64;
        assert_eq!(
            parse_timespan("1.02:03:04"),
            Some(24 * h + 2 * h + 3 * 60_000_000_000 + 4_000_000_000)
        );
        assert_eq!(parse_timespan("00:01:00"), Some(60_000_000_000));
        assert_eq!(
            parse_timespan("0.12:34:56.7"),
            Some(12 * h + 34 * 60_000_000_000 + 56_700_000_000)
        );
        assert_eq!(parse_timespan("-1.00:00:00"), Some(-24 * h));
        assert_eq!(parse_timespan("2d"), Some(48 * h));
        assert_eq!(parse_timespan("15 seconds"), Some(15_000_000_000));
        assert_eq!(parse_timespan("2"), Some(48 * h));
        assert_eq!(parse_timespan("1.5h"), Some(h * 3 / 2));
        assert_eq!(parse_timespan("abc"), None);
        assert_eq!(parse_timespan("99999999999999999999d"), None);
        assert_eq!(parse_timespan("1:2:3:4"), None);
    }

    #[test]
    fn timespan_text() {
        assert_eq!(format_timespan(3_600_000_000_000), "01:00:00");
        assert_eq!(format_timespan(86_400_000_000_000), "1.00:00:00");
        assert_eq!(format_timespan(1_500_000_000), "00:00:01.5000000");
        assert_eq!(format_timespan(-43_200_000_000_000), "-12:00:00");
        assert_eq!(format_timespan(i64::MIN), "-106751.23:47:16.8547758");
    }

    #[test]
    fn datetimes() {
        assert_eq!(
            normalize_datetime("01-01-2022").as_deref(),
            Some("2022-01-01T00:00:00.0000000Z")
        );
        assert_eq!(
            normalize_datetime("2015-12-31 23:59:59.9").as_deref(),
            Some("2015-12-31T23:59:59.9000000Z")
        );
        assert_eq!(
            normalize_datetime("2024-01-01T10:00:00.1234567Z").as_deref(),
            Some("2024-01-01T10:00:00.1234567Z")
        );
        assert_eq!(normalize_datetime("2023-02-29"), None);
        assert_eq!(normalize_datetime("yesterday"), None);
    }

    #[test]
    fn typed_literals() {
        assert_eq!(goo_literal("int", "5"), Ok(Literal::Int(5)));
        assert_eq!(goo_literal("int", " -5 "), Ok(Literal::Int(-5)));
        assert!(goo_literal("int", "3000000000").is_err());
        assert_eq!(goo_literal("long", "0x1F"), Ok(Literal::Long(31)));
        assert_eq!(
            goo_literal("real", "+inf"),
            Ok(Literal::Real(f64::INFINITY))
        );
        assert_eq!(
            goo_literal("double", "-inf"),
            Ok(Literal::Real(f64::NEG_INFINITY))
        );
        assert!(matches!(goo_literal("real", "nan"), Ok(Literal::Real(v)) if v.is_nan()));
        assert_eq!(goo_literal("real", "5"), Ok(Literal::Real(5.0)));
        assert_eq!(
            goo_literal("decimal", "1.5"),
            Ok(Literal::Decimal("1.5".into()))
        );
        assert_eq!(goo_literal("bool", "true"), Ok(Literal::Bool(true)));
        assert_eq!(
            goo_literal("datetime", "\"01-01-2022\""),
            Ok(Literal::DateTime("01-01-2022".into()))
        );
        assert_eq!(
            goo_literal("guid", "null"),
            Ok(Literal::Null(TypeName::Guid))
        );
        assert!(goo_literal("guid", "nope").is_err());
        assert_eq!(
            goo_literal("timespan", "null"),
            Ok(Literal::Null(TypeName::TimeSpan))
        );
        assert_eq!(
            goo_literal("decimal", "null"),
            Ok(Literal::Null(TypeName::Decimal))
        );
        assert!(goo_literal("long", "abc").is_err());
    }
}
