//! Kusto's text forms: datetimes (ISO 8601, 100 ns ticks), timespans
//! (`[-][d.]hh:mm:ss[.fffffff]`), reals (.NET's shortest round-trip form), and the
//! parsers for the same texts.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde_json::Value as Json;

pub const NANOS_PER_TICK: i64 = 100;
pub const NANOS_PER_SEC: i64 = 1_000_000_000;
pub const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SEC;

/// `2015-12-31T23:59:59.9Z`-style text as Kusto writes it: whole seconds have no
/// fraction, otherwise all 7 fractional digits (ticks).
pub fn format_datetime(ns: i64) -> String {
    let secs = ns.div_euclid(NANOS_PER_SEC);
    let sub = ns.rem_euclid(NANOS_PER_SEC);
    let Some(dt) = DateTime::<Utc>::from_timestamp(secs, sub as u32) else {
        return String::new();
    };
    let base = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    if sub == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{:07}Z", sub / NANOS_PER_TICK)
    }
}

/// The form used inside dynamic values (always 7 fractional digits, as Kusto does).
pub fn format_datetime_full(ns: i64) -> String {
    let secs = ns.div_euclid(NANOS_PER_SEC);
    let sub = ns.rem_euclid(NANOS_PER_SEC);
    match DateTime::<Utc>::from_timestamp(secs, sub as u32) {
        Some(dt) => format!(
            "{}.{:07}Z",
            dt.format("%Y-%m-%dT%H:%M:%S"),
            sub / NANOS_PER_TICK
        ),
        None => String::new(),
    }
}

/// `[-][d.]hh:mm:ss[.fffffff]`
pub fn format_timespan(ns: i64) -> String {
    let neg = ns < 0;
    let abs = (ns as i128).unsigned_abs();
    let ticks = abs / NANOS_PER_TICK as u128;
    let frac = ticks % 10_000_000;
    let total_secs = ticks / 10_000_000;
    let days = total_secs / 86_400;
    let h = (total_secs / 3600) % 24;
    let m = (total_secs / 60) % 60;
    let s = total_secs % 60;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if days > 0 {
        out += &format!("{days}.");
    }
    out += &format!("{h:02}:{m:02}:{s:02}");
    if frac > 0 {
        out += &format!(".{frac:07}");
    }
    out
}

/// .NET's `double.ToString()` (shortest round-trip, exponent from 1E+15 / below 1E-05).
pub fn format_real(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let abs = v.abs();
    if (1e-5..1e15).contains(&abs) {
        let s = format!("{v}");
        return s;
    }
    // Exponent form: mantissa digits with .NET's E+XX / E-XX.
    let s = format!("{v:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}E{sign}{:02}", exp.abs())
}

/// Text of a dynamic value as `tostring` gives it: JSON for arrays/objects, the bare
/// text for strings.
pub fn json_to_kql_text(j: &Json) -> String {
    match j {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else if let Some(u) = n.as_u64() {
                u.to_string()
            } else {
                format_real(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn naive_to_ns(dt: NaiveDateTime) -> Option<i64> {
    Utc.from_utc_datetime(&dt).timestamp_nanos_opt()
}

/// Parses the datetime texts Kusto accepts in `datetime(...)` and `todatetime()`:
/// ISO 8601 with `T` or space, 0–7+ fractional digits (truncated to ticks), optional `Z`
/// or offset; date only; RFC 822/2822; `MM/dd/yyyy [HH:mm[:ss]]`.
pub fn parse_datetime(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Some(ns) = parse_iso(t) {
        return Some(ns);
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(t) {
        return dt.timestamp_nanos_opt();
    }
    for fmt in [
        "%a, %d %b %Y %H:%M:%S GMT",
        "%d %b %Y %H:%M:%S GMT",
        "%a, %d %b %Y %H:%M GMT",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, fmt) {
            return naive_to_ns(dt);
        }
    }
    for fmt in ["%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%Y/%m/%d %H:%M:%S"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, fmt) {
            return naive_to_ns(dt);
        }
    }
    for fmt in ["%m/%d/%Y", "%m-%d-%Y", "%Y/%m/%d", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(t, fmt) {
            return naive_to_ns(d.and_time(NaiveTime::MIN));
        }
    }
    None
}

fn parse_iso(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    // Date part: YYYY-MM-DD (or YYYY-MM / YYYY).
    let digits = |s: &[u8]| s.iter().all(|c| c.is_ascii_digit());
    if b.len() < 4 || !digits(&b[..4]) {
        return None;
    }
    let year: i32 = t[..4].parse().ok()?;
    let mut month = 1u32;
    let mut day = 1u32;
    let mut i = 4;
    if b.len() > i && b[i] == b'-' {
        let m_end = i + 1 + b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        month = t.get(i + 1..m_end)?.parse().ok()?;
        i = m_end;
        if b.len() > i && b[i] == b'-' {
            let d_end = i + 1 + b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            day = t.get(i + 1..d_end)?.parse().ok()?;
            i = d_end;
        }
    } else if b.len() != 4 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let rest = &t[i..];
    let rest = rest
        .strip_prefix('T')
        .or_else(|| rest.strip_prefix(' '))
        .unwrap_or(rest)
        .trim();
    if rest.is_empty() {
        return naive_to_ns(date.and_time(NaiveTime::MIN));
    }
    // Split off zone.
    let (clock, offset_secs) = split_zone(rest)?;
    let mut parts = clock.splitn(3, ':');
    let h: u32 = parts.next()?.trim().parse().ok()?;
    let m: u32 = parts.next().unwrap_or("0").parse().ok()?;
    let (s, frac_ns) = match parts.next() {
        None => (0, 0i64),
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            let s: u32 = whole.parse().ok()?;
            if !frac.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let mut ns = 0i64;
            for (k, c) in frac.bytes().take(9).enumerate() {
                ns += (c - b'0') as i64 * 10i64.pow(8 - k as u32);
            }
            (s, ns - ns % NANOS_PER_TICK)
        }
    };
    let time = NaiveTime::from_hms_opt(h, m, s)?;
    let base = naive_to_ns(date.and_time(time))?;
    base.checked_add(frac_ns)?
        .checked_sub(offset_secs as i64 * NANOS_PER_SEC)
}

fn split_zone(rest: &str) -> Option<(&str, i32)> {
    if let Some(c) = rest.strip_suffix('Z').or_else(|| rest.strip_suffix('z')) {
        return Some((c.trim(), 0));
    }
    if let Some(c) = rest
        .strip_suffix("UTC")
        .or_else(|| rest.strip_suffix("GMT"))
    {
        return Some((c.trim(), 0));
    }
    // +hh:mm / -hh:mm after the seconds.
    if let Some(pos) = rest.rfind(['+', '-']) {
        if pos >= 5 {
            let zone = &rest[pos + 1..];
            let (zh, zm) = zone.split_once(':').unwrap_or((zone, "0"));
            if let (Ok(zh), Ok(zm)) = (zh.parse::<i32>(), zm.parse::<i32>()) {
                let sign = if rest.as_bytes()[pos] == b'-' { -1 } else { 1 };
                return Some((&rest[..pos], sign * (zh * 3600 + zm * 60)));
            }
        }
    }
    Some((rest, 0))
}

/// Parses `[-][d.]hh:mm[:ss[.fffffff]]` and unit forms (`1d`, `1.5h`, `30m`, `10s`,
/// `100ms`, `10microsecond`, `1tick`) into nanoseconds.
pub fn parse_timespan(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Some(ns) = parse_unit_timespan(t) {
        return Some(ns);
    }
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if !body.contains(':') {
        // A bare number is days.
        let days: f64 = body.parse().ok()?;
        let ns = (days * NANOS_PER_DAY as f64).round();
        return Some(if neg { -ns as i64 } else { ns as i64 });
    }
    let parts: Vec<&str> = body.split(':').collect();
    if parts.len() < 2 || parts.len() > 3 {
        return None;
    }
    let (days, hours) = match parts[0].split_once('.') {
        Some((d, h)) => (d.parse::<i64>().ok()?, h.parse::<i64>().ok()?),
        None => (0, parts[0].parse::<i64>().ok()?),
    };
    let minutes: i64 = parts[1].parse().ok()?;
    let (secs, frac) = match parts.get(2) {
        None => (0, 0),
        Some(s) => {
            let (w, f) = s.split_once('.').unwrap_or((s, ""));
            if !f.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let mut ns = 0i64;
            for (k, c) in f.bytes().take(9).enumerate() {
                ns += (c - b'0') as i64 * 10i64.pow(8 - k as u32);
            }
            (w.parse::<i64>().ok()?, ns)
        }
    };
    if minutes >= 60 || secs >= 60 {
        return None;
    }
    let total = days
        .checked_mul(NANOS_PER_DAY)?
        .checked_add(hours.checked_mul(3600 * NANOS_PER_SEC)?)?
        .checked_add(minutes * 60 * NANOS_PER_SEC)?
        .checked_add(secs * NANOS_PER_SEC + frac)?;
    Some(if neg { -total } else { total })
}

/// Nanoseconds per unit for the timespan unit suffixes Kusto accepts.
pub fn timespan_unit_nanos(unit: &str) -> Option<i64> {
    Some(match unit {
        "d" | "day" | "days" => NANOS_PER_DAY,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600 * NANOS_PER_SEC,
        "m" | "min" | "minute" | "minutes" => 60 * NANOS_PER_SEC,
        "s" | "sec" | "second" | "seconds" => NANOS_PER_SEC,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1_000_000,
        "microsecond" | "microseconds" => 1_000,
        "nanosecond" | "nanoseconds" => 1,
        "tick" | "ticks" => NANOS_PER_TICK,
        _ => return None,
    })
}

fn parse_unit_timespan(t: &str) -> Option<i64> {
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t),
    };
    let split = body.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = body.split_at(split);
    let per = timespan_unit_nanos(unit)?;
    let ns = if let Ok(i) = num.parse::<i64>() {
        i.checked_mul(per)?
    } else {
        let f: f64 = num.parse().ok()?;
        (f * per as f64).round() as i64
    };
    Some(if neg { -ns } else { ns })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_round_trips_with_ticks() {
        let ns = parse_datetime("2024-03-26T09:39:50.7688641Z").unwrap();
        assert_eq!(format_datetime(ns), "2024-03-26T09:39:50.7688641Z");
        assert_eq!(
            format_datetime(parse_datetime("2015-12-31 23:59:59.9").unwrap()),
            "2015-12-31T23:59:59.9000000Z"
        );
        assert_eq!(
            format_datetime(parse_datetime("2017-01-01").unwrap()),
            "2017-01-01T00:00:00Z"
        );
        assert_eq!(
            parse_datetime("2017-01-01T10:00:00+02:00"),
            parse_datetime("2017-01-01 08:00")
        );
        assert!(parse_datetime("not a date").is_none());
        assert!(parse_datetime("2017-13-01").is_none());
    }

    #[test]
    fn timespan_text() {
        assert_eq!(format_timespan(14 * NANOS_PER_DAY), "14.00:00:00");
        assert_eq!(format_timespan(-12 * 3600 * NANOS_PER_SEC), "-12:00:00");
        assert_eq!(
            format_timespan(parse_timespan("04:32:02.4").unwrap()),
            "04:32:02.4000000"
        );
        assert_eq!(
            parse_timespan("1.02:03:04"),
            Some(NANOS_PER_DAY + 7384 * NANOS_PER_SEC)
        );
        assert_eq!(parse_timespan("1tick"), Some(100));
        assert_eq!(parse_timespan("1.5h"), Some(5400 * NANOS_PER_SEC));
        assert_eq!(parse_timespan("2"), Some(2 * NANOS_PER_DAY));
    }

    #[test]
    fn reals_like_dotnet() {
        assert_eq!(format_real(1.0), "1");
        assert_eq!(format_real(0.1), "0.1");
        assert_eq!(format_real(1e20), "1E+20");
        assert_eq!(format_real(1e-7), "1E-07");
        assert_eq!(format_real(f64::NAN), "NaN");
    }
}
