//! datetime and timespan functions: `now`, `ago`, `datetime_add`, `datetime_diff`,
//! `datetime_part`, `startof*`/`endof*`, `dayofweek`..., `format_datetime`,
//! `make_datetime`, `unixtime_*_todatetime`, time zones, and `bin`/`floor`/`bin_at`.

use super::conversion::{int_arg, num_arg, text};
use super::{returns, EvalContext, ScalarFunction};
use crate::format::{NANOS_PER_DAY, NANOS_PER_SEC, NANOS_PER_TICK};
use crate::value::{KqlType, Value};
use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveDateTime, Timelike};

#[path = "datetime_format.rs"]
mod fmt;
#[path = "datetime_tz.rs"]
mod tz;

const NANOS_PER_HOUR: i64 = 3600 * NANOS_PER_SEC;
const NANOS_PER_MINUTE: i64 = 60 * NANOS_PER_SEC;
/// Nanoseconds from 0001-01-01 (.NET/Kusto tick zero) to the Unix epoch.
const EPOCH_OFFSET_NANOS: i128 = 62_135_596_800 * NANOS_PER_SEC as i128;

// ---- calendar helpers ----------------------------------------------------------------

fn to_naive(ns: i64) -> Option<NaiveDateTime> {
    let secs = ns.div_euclid(NANOS_PER_SEC);
    let sub = ns.rem_euclid(NANOS_PER_SEC) as u32;
    DateTime::from_timestamp(secs, sub).map(|d| d.naive_utc())
}

fn from_naive(dt: NaiveDateTime) -> Option<i64> {
    dt.and_utc().timestamp_nanos_opt()
}

fn dt_arg(v: &Value) -> Option<i64> {
    match v {
        Value::DateTime(ns) => Some(*ns),
        Value::String(_) | Value::Dynamic(serde_json::Value::String(_)) => {
            match v.convert(KqlType::DateTime) {
                Value::DateTime(ns) => Some(ns),
                _ => None,
            }
        }
        _ => None,
    }
}

fn ts_arg(v: &Value) -> Option<i64> {
    match v {
        Value::TimeSpan(ns) => Some(*ns),
        Value::String(_) | Value::Dynamic(serde_json::Value::String(_)) => {
            match v.convert(KqlType::TimeSpan) {
                Value::TimeSpan(ns) => Some(ns),
                _ => None,
            }
        }
        _ => None,
    }
}

fn date_value(ns: Option<i64>) -> Value {
    ns.map(Value::DateTime).unwrap_or(Value::Null)
}

fn start_of_day(ns: i64) -> Option<i64> {
    ns.checked_sub(ns.rem_euclid(NANOS_PER_DAY))
}

/// Days since Sunday (1970-01-01 was a Thursday).
fn weekday_from_sunday(ns: i64) -> i64 {
    (ns.div_euclid(NANOS_PER_DAY) + 4).rem_euclid(7)
}

fn start_of_week(ns: i64) -> Option<i64> {
    start_of_day(ns)?.checked_sub(weekday_from_sunday(ns) * NANOS_PER_DAY)
}

fn month_start(y: i32, m: u32) -> Option<i64> {
    from_naive(NaiveDate::from_ymd_opt(y, m, 1)?.and_hms_opt(0, 0, 0)?)
}

fn add_months(ns: i64, months: i64) -> Option<i64> {
    let dt = to_naive(ns)?;
    let m = u32::try_from(months.unsigned_abs()).ok()?;
    let moved = if months >= 0 {
        dt.checked_add_months(Months::new(m))?
    } else {
        dt.checked_sub_months(Months::new(m))?
    };
    from_naive(moved)
}

#[derive(Clone, Copy, PartialEq)]
enum Period {
    Day,
    Week,
    Month,
    Year,
}

fn start_of(ns: i64, p: Period, offset: i64) -> Option<i64> {
    match p {
        Period::Day => start_of_day(ns)?.checked_add(offset.checked_mul(NANOS_PER_DAY)?),
        Period::Week => start_of_week(ns)?.checked_add(offset.checked_mul(7 * NANOS_PER_DAY)?),
        Period::Month => {
            let dt = to_naive(ns)?;
            add_months(month_start(dt.year(), dt.month())?, offset)
        }
        Period::Year => {
            let dt = to_naive(ns)?;
            add_months(month_start(dt.year(), 1)?, offset.checked_mul(12)?)
        }
    }
}

fn end_of(ns: i64, p: Period, offset: i64) -> Option<i64> {
    start_of(ns, p, offset.checked_add(1)?)?.checked_sub(NANOS_PER_TICK)
}

fn period_fn(args: &[Value], p: Period, end: bool) -> Value {
    let Some(ns) = dt_arg(&args[0]) else {
        return Value::Null;
    };
    let Some(offset) = args.get(1).map_or(Some(0), int_arg) else {
        return Value::Null;
    };
    date_value(if end {
        end_of(ns, p, offset)
    } else {
        start_of(ns, p, offset)
    })
}

fn norm_part(part: &str) -> String {
    part.trim()
        .chars()
        .filter(|c| *c != '_')
        .collect::<String>()
        .to_ascii_lowercase()
}

/// ISO 8601 week number.
fn iso_week(dt: NaiveDateTime) -> i64 {
    dt.iso_week().week() as i64
}

/// .NET `GetWeekOfYear(FirstFourDayWeek, Monday)`: like ISO, but days at the end of the
/// year are never moved into week 1 of the next year.
fn dotnet_week(dt: NaiveDateTime) -> i64 {
    let iso = dt.iso_week();
    if iso.year() > dt.year() {
        // Late-December days ISO puts in week 1: .NET keeps counting.
        let prev = dt - chrono::Duration::days(7);
        dotnet_week(prev) + 1
    } else {
        iso.week() as i64
    }
}

fn datetime_part(part: &str, ns: i64) -> Option<i64> {
    let dt = to_naive(ns)?;
    let sub = ns.rem_euclid(NANOS_PER_SEC);
    Some(match norm_part(part).as_str() {
        "year" => dt.year() as i64,
        "quarter" => (dt.month0() / 3 + 1) as i64,
        "month" => dt.month() as i64,
        "weekofyear" | "week" => iso_week(dt),
        "day" => dt.day() as i64,
        "dayofyear" => dt.ordinal() as i64,
        "hour" => dt.hour() as i64,
        "minute" => dt.minute() as i64,
        "second" => dt.second() as i64,
        "millisecond" => sub / 1_000_000,
        "microsecond" => sub / 1_000,
        "nanosecond" => sub,
        _ => return None,
    })
}

fn datetime_add(part: &str, amount: i64, ns: i64) -> Option<i64> {
    let unit = match norm_part(part).as_str() {
        "year" => return add_months(ns, amount.checked_mul(12)?),
        "quarter" => return add_months(ns, amount.checked_mul(3)?),
        "month" => return add_months(ns, amount),
        "week" => 7 * NANOS_PER_DAY,
        "day" => NANOS_PER_DAY,
        "hour" => NANOS_PER_HOUR,
        "minute" => NANOS_PER_MINUTE,
        "second" => NANOS_PER_SEC,
        "millisecond" => 1_000_000,
        "microsecond" => 1_000,
        "nanosecond" => 1,
        _ => return None,
    };
    let r = ns.checked_add(amount.checked_mul(unit)?)?;
    to_naive(r).map(|_| r)
}

fn datetime_diff(part: &str, a: i64, b: i64) -> Option<i64> {
    let (da, db) = (to_naive(a)?, to_naive(b)?);
    let months = |d: NaiveDateTime| d.year() as i64 * 12 + d.month0() as i64;
    let floor_diff = |unit: i64| a.div_euclid(unit) - b.div_euclid(unit);
    Some(match norm_part(part).as_str() {
        "year" => da.year() as i64 - db.year() as i64,
        "quarter" => months(da).div_euclid(3) - months(db).div_euclid(3),
        "month" => months(da) - months(db),
        "week" => start_of_week(a)?.checked_sub(start_of_week(b)?)? / (7 * NANOS_PER_DAY),
        "day" => floor_diff(NANOS_PER_DAY),
        "hour" => floor_diff(NANOS_PER_HOUR),
        "minute" => floor_diff(NANOS_PER_MINUTE),
        "second" => floor_diff(NANOS_PER_SEC),
        "millisecond" => floor_diff(1_000_000),
        "microsecond" => floor_diff(1_000),
        "nanosecond" => a.checked_sub(b)?,
        _ => return None,
    })
}

/// Seconds (possibly fractional) to nanoseconds, rounded to a tick.
fn seconds_to_nanos(s: f64) -> Option<i64> {
    let ticks = (s * 1e7).round();
    if !ticks.is_finite() || ticks.abs() > 9.2e16 {
        return None;
    }
    Some(ticks as i64 * NANOS_PER_TICK)
}

fn make_datetime(args: &[Value]) -> Value {
    if args.len() == 1 {
        return date_value(dt_arg(&args[0]));
    }
    if args.len() < 3 {
        return Value::Null;
    }
    let ints: Option<Vec<i64>> = args[..args.len().min(5)].iter().map(int_arg).collect();
    let Some(ints) = ints else {
        return Value::Null;
    };
    let second = match args.get(5) {
        None => 0.0,
        Some(v) => match num_arg(v) {
            Some(s) => s,
            None => return Value::Null,
        },
    };
    let get = |i: usize| ints.get(i).copied().unwrap_or(0);
    let (Ok(y), Ok(m), Ok(d), Ok(h), Ok(mi)) = (
        i32::try_from(get(0)),
        u32::try_from(get(1)),
        u32::try_from(get(2)),
        u32::try_from(get(3)),
        u32::try_from(get(4)),
    ) else {
        return Value::Null;
    };
    if !(0.0..60.0).contains(&second) {
        return Value::Null;
    }
    let base = NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|date| date.and_hms_opt(h, mi, 0))
        .and_then(from_naive);
    let frac = seconds_to_nanos(second);
    date_value(base.zip(frac).and_then(|(b, f)| b.checked_add(f)))
}

fn make_timespan(args: &[Value]) -> Value {
    if args.len() == 1 {
        return match &args[0] {
            Value::TimeSpan(t) => Value::TimeSpan(*t),
            v => v.convert(KqlType::TimeSpan),
        };
    }
    let nums: Option<Vec<f64>> = args.iter().map(num_arg).collect();
    let Some(nums) = nums else {
        return Value::Null;
    };
    let (d, h, m, s) = match nums.as_slice() {
        [h, m] => (0.0, *h, *m, 0.0),
        [h, m, s] => (0.0, *h, *m, *s),
        [d, h, m, s] => (*d, *h, *m, *s),
        _ => return Value::Null,
    };
    let whole = ((d.trunc() * 24.0 + h.trunc()) * 60.0 + m.trunc()) * 60.0;
    seconds_to_nanos(whole + s)
        .map(Value::TimeSpan)
        .unwrap_or(Value::Null)
}

fn unixtime(args: &[Value], nanos_per_unit: i64) -> Value {
    match &args[0] {
        Value::Int(_) | Value::Long(_) => int_arg(&args[0])
            .and_then(|v| v.checked_mul(nanos_per_unit))
            .filter(|ns| to_naive(*ns).is_some())
            .map(Value::DateTime)
            .unwrap_or(Value::Null),
        v => match num_arg(v) {
            Some(x) => {
                let ticks = (x * (nanos_per_unit as f64 / NANOS_PER_TICK as f64)).round();
                if ticks.is_finite() && ticks.abs() < 9.2e16 {
                    Value::DateTime(ticks as i64 * NANOS_PER_TICK)
                } else {
                    Value::Null
                }
            }
            None => Value::Null,
        },
    }
}

fn tz_convert(args: &[Value], to_local: bool) -> Value {
    let Some(ns) = dt_arg(&args[0]) else {
        return Value::Null;
    };
    let Some(zone) = tz::zone(text(&args[1]).trim()) else {
        return Value::Null;
    };
    date_value(if to_local {
        zone.utc_to_local(ns)
    } else {
        zone.local_to_utc(ns)
    })
}

// ---- bin / bin_at ----------------------------------------------------------------------

fn floor_i128(v: i128, size: i128) -> i128 {
    v.div_euclid(size) * size
}

/// Floors a datetime to a multiple of `size` nanoseconds counted from 0001-01-01
/// (Kusto's tick zero), so weekly bins start on Mondays.
fn bin_datetime(ns: i64, size: i64, origin: i128) -> Option<i64> {
    if size <= 0 {
        return None;
    }
    let v = ns as i128 + origin;
    i64::try_from(floor_i128(v, size as i128) - origin).ok()
}

fn bin_real(v: f64, size: f64) -> Option<f64> {
    if size.is_nan() || size <= 0.0 {
        return None;
    }
    Some((v / size).floor() * size)
}

fn bin(args: &[Value]) -> Value {
    let (v, s) = (&args[0], &args[1]);
    match (v, s) {
        (Value::DateTime(ns), _) => {
            let size = match s {
                Value::TimeSpan(t) => Some(*t),
                Value::DateTime(t) => Some(*t),
                // A plain number is a count of ticks.
                other => num_arg(other).and_then(|x| seconds_to_nanos(x / 1e7)),
            };
            date_value(size.and_then(|size| bin_datetime(*ns, size, EPOCH_OFFSET_NANOS)))
        }
        (Value::TimeSpan(t), _) => {
            let size = match s {
                Value::TimeSpan(x) => Some(*x),
                other => num_arg(other).and_then(|x| seconds_to_nanos(x / 1e7)),
            };
            size.and_then(|size| bin_datetime(*t, size, 0))
                .map(Value::TimeSpan)
                .unwrap_or(Value::Null)
        }
        (Value::Int(a), Value::Int(b)) => {
            if *b <= 0 {
                Value::Null
            } else {
                i32::try_from(floor_i128(*a as i128, *b as i128))
                    .map(Value::Int)
                    .unwrap_or(Value::Null)
            }
        }
        (Value::Int(_) | Value::Long(_), Value::Int(_) | Value::Long(_)) => {
            match (int_arg(v), int_arg(s)) {
                (Some(a), Some(b)) if b > 0 => i64::try_from(floor_i128(a as i128, b as i128))
                    .map(Value::Long)
                    .unwrap_or(Value::Null),
                _ => Value::Null,
            }
        }
        (Value::Decimal(_), _) | (_, Value::Decimal(_)) => match (num_arg(v), num_arg(s)) {
            (Some(a), Some(b)) => bin_real(a, b).map(Value::Decimal).unwrap_or(Value::Null),
            _ => Value::Null,
        },
        _ => match (num_arg(v), num_arg(s)) {
            (Some(a), Some(b)) => bin_real(a, b).map(Value::Real).unwrap_or(Value::Null),
            _ => Value::Null,
        },
    }
}

fn bin_at(args: &[Value]) -> Value {
    let (v, s, at) = (&args[0], &args[1], &args[2]);
    match v {
        Value::DateTime(ns) => {
            let (Some(size), Some(fixed)) = (ts_arg(s), dt_arg(at)) else {
                return Value::Null;
            };
            let origin = -(fixed as i128);
            date_value(bin_datetime(*ns, size, origin))
        }
        Value::TimeSpan(t) => {
            let size = match s {
                Value::TimeSpan(x) => Some(*x),
                other => num_arg(other).and_then(|x| seconds_to_nanos(x / 1e7)),
            };
            let (Some(size), Some(fixed)) = (size, ts_arg(at)) else {
                return Value::Null;
            };
            bin_datetime(*t, size, -(fixed as i128))
                .map(Value::TimeSpan)
                .unwrap_or(Value::Null)
        }
        Value::Int(_) | Value::Long(_)
            if matches!(s, Value::Int(_) | Value::Long(_))
                && matches!(at, Value::Int(_) | Value::Long(_)) =>
        {
            match (int_arg(v), int_arg(s), int_arg(at)) {
                (Some(x), Some(size), Some(fixed)) if size > 0 => {
                    let r = floor_i128(x as i128 - fixed as i128, size as i128) + fixed as i128;
                    let long = i64::try_from(r).ok();
                    match (v, s, at) {
                        (Value::Int(_), Value::Int(_), Value::Int(_)) => long
                            .and_then(|l| i32::try_from(l).ok())
                            .map(Value::Int)
                            .unwrap_or(Value::Null),
                        _ => long.map(Value::Long).unwrap_or(Value::Null),
                    }
                }
                _ => Value::Null,
            }
        }
        _ => match (num_arg(v), num_arg(s), num_arg(at)) {
            (Some(x), Some(size), Some(fixed)) => bin_real(x - fixed, size)
                .map(|r| Value::Real(r + fixed))
                .unwrap_or(Value::Null),
            _ => Value::Null,
        },
    }
}

/// The widest numeric type, or the temporal type of the first argument.
fn bin_type(args: &[KqlType]) -> Result<KqlType, String> {
    let first = args.first().copied().unwrap_or(KqlType::Real);
    if matches!(first, KqlType::DateTime | KqlType::TimeSpan) {
        return Ok(first);
    }
    let nums: Vec<KqlType> = args.iter().copied().filter(|t| t.is_numeric()).collect();
    if nums.len() == args.len() && !nums.is_empty() {
        Ok(nums.into_iter().max().unwrap_or(first))
    } else {
        Ok(first)
    }
}

fn part_fn(args: &[Value], f: fn(NaiveDateTime) -> i64, ty: KqlType) -> Value {
    let Some(dt) = dt_arg(&args[0]).and_then(to_naive) else {
        return Value::Null;
    };
    let v = f(dt);
    match ty {
        KqlType::Int => Value::Int(v as i32),
        _ => Value::Long(v),
    }
}

macro_rules! period {
    ($name:expr, $p:expr, $end:expr, $doc:expr) => {
        ScalarFunction {
            name: $name,
            aliases: &[],
            min_args: 1,
            max_args: 2,
            return_type: returns!(DateTime),
            eval: |a, _| period_fn(a, $p, $end),
            volatile: false,
            doc: $doc,
        }
    };
}

macro_rules! part {
    ($name:expr, $ty:ident, $f:expr, $doc:expr) => {
        ScalarFunction {
            name: $name,
            aliases: &[],
            min_args: 1,
            max_args: 1,
            return_type: returns!($ty),
            eval: |a, _| part_fn(a, $f, KqlType::$ty),
            volatile: false,
            doc: $doc,
        }
    };
}

macro_rules! unix {
    ($name:expr, $per:expr, $doc:expr) => {
        ScalarFunction {
            name: $name,
            aliases: &[],
            min_args: 1,
            max_args: 1,
            return_type: returns!(DateTime),
            eval: |a, _| unixtime(a, $per),
            volatile: false,
            doc: $doc,
        }
    };
}

pub(crate) const FUNCTIONS: &[ScalarFunction] = &[
    ScalarFunction {
        name: "now",
        aliases: &[],
        min_args: 0,
        max_args: 1,
        return_type: returns!(DateTime),
        eval: |a, ctx: &EvalContext| match a.first() {
            None => Value::DateTime(ctx.now),
            Some(off) => date_value(ts_arg(off).and_then(|o| ctx.now.checked_add(o))),
        },
        volatile: false,
        doc: "The query's current UTC time, optionally offset by a timespan.",
    },
    ScalarFunction {
        name: "ago",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(DateTime),
        eval: |a, ctx| date_value(ts_arg(&a[0]).and_then(|t| ctx.now.checked_sub(t))),
        volatile: false,
        doc: "now() minus the timespan.",
    },
    ScalarFunction {
        name: "datetime_add",
        aliases: &[],
        min_args: 3,
        max_args: 3,
        return_type: returns!(DateTime),
        eval: |a, _| match (int_arg(&a[1]), dt_arg(&a[2])) {
            (Some(n), Some(dt)) => date_value(datetime_add(&text(&a[0]), n, dt)),
            _ => Value::Null,
        },
        volatile: false,
        doc: "datetime_add(part, amount, datetime): calendar arithmetic (months clamp the day).",
    },
    ScalarFunction {
        name: "datetime_diff",
        aliases: &[],
        min_args: 3,
        max_args: 3,
        return_type: returns!(Long),
        eval: |a, _| match (dt_arg(&a[1]), dt_arg(&a[2])) {
            (Some(x), Some(y)) => datetime_diff(&text(&a[0]), x, y)
                .map(Value::Long)
                .unwrap_or(Value::Null),
            _ => Value::Null,
        },
        volatile: false,
        doc: "datetime_diff(part, dt1, dt2): calendar periods between dt2 and dt1.",
    },
    ScalarFunction {
        name: "datetime_part",
        aliases: &["datepart"],
        min_args: 2,
        max_args: 2,
        return_type: returns!(Long),
        eval: |a, _| {
            dt_arg(&a[1])
                .and_then(|dt| datetime_part(&text(&a[0]), dt))
                .map(Value::Long)
                .unwrap_or(Value::Null)
        },
        volatile: false,
        doc: "datetime_part(part, datetime): year, quarter, month, week_of_year, day, ...",
    },
    period!(
        "startofday",
        Period::Day,
        false,
        "Start of the day, shifted by an optional offset in days."
    ),
    period!(
        "startofweek",
        Period::Week,
        false,
        "Start of the week (Sunday), shifted by an optional offset in weeks."
    ),
    period!(
        "startofmonth",
        Period::Month,
        false,
        "Start of the month, shifted by an optional offset in months."
    ),
    period!(
        "startofyear",
        Period::Year,
        false,
        "Start of the year, shifted by an optional offset in years."
    ),
    period!(
        "endofday",
        Period::Day,
        true,
        "End of the day (last tick), shifted by an optional offset."
    ),
    period!(
        "endofweek",
        Period::Week,
        true,
        "End of the week (Saturday, last tick), shifted by an optional offset."
    ),
    period!(
        "endofmonth",
        Period::Month,
        true,
        "End of the month (last tick), shifted by an optional offset."
    ),
    period!(
        "endofyear",
        Period::Year,
        true,
        "End of the year (last tick), shifted by an optional offset."
    ),
    ScalarFunction {
        name: "dayofweek",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(TimeSpan),
        eval: |a, _| {
            dt_arg(&a[0])
                .map(|ns| Value::TimeSpan(weekday_from_sunday(ns) * NANOS_PER_DAY))
                .unwrap_or(Value::Null)
        },
        volatile: false,
        doc: "Days since the preceding Sunday, as a timespan.",
    },
    part!(
        "dayofmonth",
        Int,
        |d| d.day() as i64,
        "Day of the month (1-31)."
    ),
    part!(
        "dayofyear",
        Int,
        |d| d.ordinal() as i64,
        "Day of the year (1-366)."
    ),
    part!(
        "hourofday",
        Long,
        |d| d.hour() as i64,
        "Hour of the day (0-23)."
    ),
    part!("getyear", Long, |d| d.year() as i64, "The year."),
    part!("getmonth", Long, |d| d.month() as i64, "The month (1-12)."),
    part!(
        "monthofyear",
        Long,
        |d| d.month() as i64,
        "The month (1-12)."
    ),
    part!("week_of_year", Long, iso_week, "ISO 8601 week number."),
    part!(
        "weekofyear",
        Long,
        dotnet_week,
        "Week number (deprecated; use week_of_year)."
    ),
    ScalarFunction {
        name: "format_datetime",
        aliases: &[],
        min_args: 2,
        max_args: 2,
        return_type: returns!(String),
        eval: |a, _| {
            Value::String(
                dt_arg(&a[0])
                    .and_then(|ns| fmt::format_datetime(ns, &text(&a[1])))
                    .unwrap_or_default(),
            )
        },
        volatile: false,
        doc: "format_datetime(datetime, format), e.g. 'yyyy-MM-dd [HH:mm:ss]'.",
    },
    ScalarFunction {
        name: "format_timespan",
        aliases: &[],
        min_args: 2,
        max_args: 2,
        return_type: returns!(String),
        eval: |a, _| {
            Value::String(
                ts_arg(&a[0])
                    .map(|ns| fmt::format_timespan(ns, &text(&a[1])))
                    .unwrap_or_default(),
            )
        },
        volatile: false,
        doc: "format_timespan(timespan, format), e.g. 'dd.hh:mm:ss'.",
    },
    ScalarFunction {
        name: "make_datetime",
        aliases: &[],
        min_args: 1,
        max_args: 6,
        return_type: returns!(DateTime),
        eval: |a, _| make_datetime(a),
        volatile: false,
        doc: "make_datetime(year, month, day[, hour[, minute[, second]]]).",
    },
    ScalarFunction {
        name: "make_timespan",
        aliases: &[],
        min_args: 1,
        max_args: 4,
        return_type: returns!(TimeSpan),
        eval: |a, _| make_timespan(a),
        volatile: false,
        doc: "make_timespan([days,] hours, minutes[, seconds]).",
    },
    unix!(
        "unixtime_seconds_todatetime",
        NANOS_PER_SEC,
        "Unix seconds to datetime."
    ),
    unix!(
        "unixtime_milliseconds_todatetime",
        1_000_000,
        "Unix milliseconds to datetime."
    ),
    unix!(
        "unixtime_microseconds_todatetime",
        1_000,
        "Unix microseconds to datetime."
    ),
    unix!(
        "unixtime_nanoseconds_todatetime",
        1,
        "Unix nanoseconds to datetime."
    ),
    ScalarFunction {
        name: "datetime_utc_to_local",
        aliases: &[],
        min_args: 2,
        max_args: 2,
        return_type: returns!(DateTime),
        eval: |a, _| tz_convert(a, true),
        volatile: false,
        doc: "datetime_utc_to_local(datetime, timezone): UTC to the zone's wall-clock time.",
    },
    ScalarFunction {
        name: "datetime_local_to_utc",
        aliases: &[],
        min_args: 2,
        max_args: 2,
        return_type: returns!(DateTime),
        eval: |a, _| tz_convert(a, false),
        volatile: false,
        doc: "datetime_local_to_utc(datetime, timezone): a zone's wall-clock time to UTC.",
    },
    ScalarFunction {
        name: "bin",
        aliases: &["floor"],
        min_args: 2,
        max_args: 2,
        return_type: bin_type,
        eval: |a, _| bin(a),
        volatile: false,
        doc: "bin(value, size): rounds down to a multiple of size (datetimes from 0001-01-01).",
    },
    ScalarFunction {
        name: "bin_at",
        aliases: &[],
        min_args: 3,
        max_args: 3,
        return_type: bin_type,
        eval: |a, _| bin_at(a),
        volatile: false,
        doc: "bin_at(value, size, fixed_point): bins aligned so that fixed_point is a bin start.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{format_datetime, parse_datetime, parse_timespan};
    use crate::functions::lookup;

    fn eval(name: &str, args: &[Value]) -> Value {
        let f = lookup(name).unwrap_or_else(|| panic!("{name} not registered"));
        (f.eval)(
            args,
            &EvalContext {
                now: dt_ns("2024-01-02T03:04:05Z"),
            },
        )
    }

    fn dt_ns(s: &str) -> i64 {
        parse_datetime(s).unwrap_or_else(|| panic!("bad datetime {s}"))
    }

    fn dt(s: &str) -> Value {
        Value::DateTime(dt_ns(s))
    }

    fn ts(s: &str) -> Value {
        Value::TimeSpan(parse_timespan(s).unwrap_or_else(|| panic!("bad timespan {s}")))
    }

    fn s(x: &str) -> Value {
        Value::string(x)
    }

    fn l(x: i64) -> Value {
        Value::Long(x)
    }

    fn show(v: Value) -> String {
        match v {
            Value::DateTime(ns) => format_datetime(ns),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn now_and_ago() {
        assert_eq!(eval("now", &[]), dt("2024-01-02T03:04:05Z"));
        assert_eq!(eval("ago", &[ts("1d")]), dt("2024-01-01T03:04:05Z"));
        assert_eq!(eval("now", &[ts("-1h")]), dt("2024-01-02T02:04:05Z"));
    }

    #[test]
    fn add_and_diff() {
        let base = dt("2017-01-01");
        let add = |p: &str, n: i64| show(eval("datetime_add", &[s(p), l(n), base.clone()]));
        assert_eq!(add("year", 1), "2018-01-01T00:00:00Z");
        assert_eq!(add("quarter", 1), "2017-04-01T00:00:00Z");
        assert_eq!(add("month", 1), "2017-02-01T00:00:00Z");
        assert_eq!(add("week", 1), "2017-01-08T00:00:00Z");
        assert_eq!(add("day", 1), "2017-01-02T00:00:00Z");
        assert_eq!(add("hour", 1), "2017-01-01T01:00:00Z");
        assert_eq!(add("minute", 1), "2017-01-01T00:01:00Z");
        assert_eq!(add("second", 1), "2017-01-01T00:00:01Z");
        assert_eq!(add("year", -5), "2012-01-01T00:00:00Z");
        assert_eq!(add("quarter", 12), "2020-01-01T00:00:00Z");
        assert_eq!(add("month", -15), "2015-10-01T00:00:00Z");
        assert_eq!(add("week", 100), "2018-12-02T00:00:00Z");
        assert_eq!(
            show(eval("datetime_add", &[s("month"), l(1), dt("2017-01-31")])),
            "2017-02-28T00:00:00Z"
        );
        let diff = |p: &str, a: &str, b: &str| eval("datetime_diff", &[s(p), dt(a), dt(b)]);
        assert_eq!(diff("year", "2017-01-01", "2000-12-31"), l(17));
        assert_eq!(diff("quarter", "2017-07-01", "2017-03-30"), l(2));
        assert_eq!(diff("month", "2017-01-01", "2015-12-30"), l(13));
        assert_eq!(diff("week", "2017-10-29 00:00", "2017-09-30 23:59"), l(5));
        assert_eq!(diff("day", "2017-10-29 00:00", "2017-09-30 23:59"), l(29));
        assert_eq!(diff("hour", "2017-10-31 01:00", "2017-10-30 23:59"), l(2));
        assert_eq!(
            diff("minute", "2017-10-30 23:05:01", "2017-10-30 23:00:59"),
            l(5)
        );
        assert_eq!(
            diff(
                "second",
                "2017-10-30 23:00:10.100",
                "2017-10-30 23:00:00.900"
            ),
            l(10)
        );
        assert_eq!(
            diff(
                "millisecond",
                "2017-10-30 23:00:00.200100",
                "2017-10-30 23:00:00.100900"
            ),
            l(100)
        );
        assert_eq!(
            diff(
                "microsecond",
                "2017-10-30 23:00:00.1009001",
                "2017-10-30 23:00:00.1008009"
            ),
            l(100)
        );
        assert_eq!(
            diff(
                "nanosecond",
                "2017-10-30 23:00:00.0000000",
                "2017-10-30 23:00:00.0000007"
            ),
            l(-700)
        );
    }

    #[test]
    fn parts() {
        let d = dt("2017-10-30 01:02:03.7654321");
        let part = |p: &str| eval("datetime_part", &[s(p), d.clone()]);
        assert_eq!(part("year"), l(2017));
        assert_eq!(part("quarter"), l(4));
        assert_eq!(part("month"), l(10));
        assert_eq!(part("week_of_year"), l(44));
        assert_eq!(part("day"), l(30));
        assert_eq!(part("dayOfYear"), l(303));
        assert_eq!(part("hour"), l(1));
        assert_eq!(part("minute"), l(2));
        assert_eq!(part("second"), l(3));
        assert_eq!(part("millisecond"), l(765));
        assert_eq!(part("microsecond"), l(765432));
        assert_eq!(part("nanosecond"), l(765432100));
        assert_eq!(
            eval("dayofweek", &[dt("1947-11-30 10:00:05")]),
            ts("00:00:00")
        );
        assert_eq!(eval("dayofweek", &[dt("1970-05-11")]), ts("1.00:00:00"));
        assert_eq!(eval("dayofweek", &[dt("1970-05-12")]), ts("2.00:00:00"));
        assert_eq!(
            eval("dayofmonth", &[dt("2015-12-14 11:15")]),
            Value::Int(14)
        );
        assert_eq!(
            eval("dayofyear", &[dt("2015-12-14 23:59:59.999")]),
            Value::Int(348)
        );
        assert_eq!(eval("hourofday", &[dt("2015-12-14 18:54")]), l(18));
        assert_eq!(eval("getyear", &[dt("2015-10-12")]), l(2015));
        assert_eq!(eval("monthofyear", &[dt("2015-12-14")]), l(12));
        assert_eq!(eval("week_of_year", &[dt("2020-12-31")]), l(53));
        assert_eq!(eval("week_of_year", &[dt("2019-12-30")]), l(1));
        assert_eq!(eval("weekofyear", &[dt("2019-12-30")]), l(53));
    }

    #[test]
    fn starts_and_ends() {
        let d = dt("2017-01-01 10:10:17");
        let run = |f: &str, off: i64| show(eval(f, &[d.clone(), l(off)]));
        assert_eq!(run("startofday", -1), "2016-12-31T00:00:00Z");
        assert_eq!(run("startofday", 1), "2017-01-02T00:00:00Z");
        assert_eq!(run("startofweek", -1), "2016-12-25T00:00:00Z");
        assert_eq!(run("startofweek", 0), "2017-01-01T00:00:00Z");
        assert_eq!(run("startofweek", 1), "2017-01-08T00:00:00Z");
        assert_eq!(run("startofmonth", -1), "2016-12-01T00:00:00Z");
        assert_eq!(run("startofmonth", 1), "2017-02-01T00:00:00Z");
        assert_eq!(run("startofyear", -1), "2016-01-01T00:00:00Z");
        assert_eq!(run("startofyear", 1), "2018-01-01T00:00:00Z");
        assert_eq!(run("endofday", -1), "2016-12-31T23:59:59.9999999Z");
        assert_eq!(run("endofday", 1), "2017-01-02T23:59:59.9999999Z");
        assert_eq!(run("endofweek", -1), "2016-12-31T23:59:59.9999999Z");
        assert_eq!(run("endofweek", 0), "2017-01-07T23:59:59.9999999Z");
        assert_eq!(run("endofweek", 1), "2017-01-14T23:59:59.9999999Z");
        assert_eq!(run("endofmonth", -1), "2016-12-31T23:59:59.9999999Z");
        assert_eq!(run("endofmonth", 1), "2017-02-28T23:59:59.9999999Z");
        assert_eq!(run("endofyear", 0), "2017-12-31T23:59:59.9999999Z");
        assert_eq!(run("endofyear", 1), "2018-12-31T23:59:59.9999999Z");
        assert_eq!(
            show(eval("endofmonth", &[dt("2020-02-29 23:59:59.999")])),
            "2020-02-29T23:59:59.9999999Z"
        );
        assert_eq!(
            show(eval("startofweek", &[dt("2017-01-07 23:59:59.999")])),
            "2017-01-01T00:00:00Z"
        );
    }

    #[test]
    fn formatting() {
        let d = dt("2017-01-29 09:00:05");
        assert_eq!(
            eval("format_datetime", &[d.clone(), s("yy-MM-dd [HH:mm:ss]")]),
            s("17-01-29 [09:00:05]")
        );
        assert_eq!(
            eval("format_datetime", &[d.clone(), s("yyyy-M-dd [H:mm:ss]")]),
            s("2017-1-29 [9:00:05]")
        );
        assert_eq!(
            eval("format_datetime", &[d, s("yy-MM-dd [hh:mm:ss tt]")]),
            s("17-01-29 [09:00:05 AM]")
        );
        let t = ts("29.09:00:05.12345");
        assert_eq!(
            eval("format_timespan", &[t.clone(), s("dd.hh:mm:ss:FF")]),
            s("29.09:00:05:12")
        );
        assert_eq!(
            eval("format_timespan", &[t, s("ddd.h:mm:ss [fffffff]")]),
            s("029.9:00:05 [1234500]")
        );
    }

    #[test]
    fn constructors() {
        assert_eq!(
            eval("make_datetime", &[l(2017), l(10), l(1)]),
            dt("2017-10-01")
        );
        assert_eq!(
            eval("make_datetime", &[l(2017), l(10), l(1), l(12), l(10)]),
            dt("2017-10-01 12:10")
        );
        assert_eq!(
            eval(
                "make_datetime",
                &[l(2017), l(10), l(1), l(12), l(11), Value::Real(0.1234567)]
            ),
            dt("2017-10-01T12:11:00.1234567Z")
        );
        assert_eq!(eval("make_datetime", &[l(2017), l(13), l(1)]), Value::Null);
        assert_eq!(
            eval("make_timespan", &[l(1), l(12), l(30), Value::Real(55.123)]),
            ts("1.12:30:55.123")
        );
        assert_eq!(eval("make_timespan", &[l(1), l(30)]), ts("01:30:00"));
        assert_eq!(
            eval("unixtime_seconds_todatetime", &[l(1546300800)]),
            dt("2019-01-01")
        );
        assert_eq!(
            eval("unixtime_milliseconds_todatetime", &[l(1546300800000)]),
            dt("2019-01-01")
        );
        assert_eq!(
            eval("unixtime_microseconds_todatetime", &[l(1546300800000000)]),
            dt("2019-01-01")
        );
        assert_eq!(
            eval("unixtime_nanoseconds_todatetime", &[l(1546300800000000000)]),
            dt("2019-01-01")
        );
        assert_eq!(
            eval("unixtime_seconds_todatetime", &[Value::Real(1546300800.5)]),
            dt("2019-01-01T00:00:00.5Z")
        );
    }

    #[test]
    fn time_zones() {
        let local = dt("2020-02-02 20:02:20");
        let conv = |tzn: &str| show(eval("datetime_local_to_utc", &[local.clone(), s(tzn)]));
        assert_eq!(conv("US/Pacific"), "2020-02-03T04:02:20Z");
        assert_eq!(conv("America/Chicago"), "2020-02-03T02:02:20Z");
        assert_eq!(conv("Europe/Paris"), "2020-02-02T19:02:20Z");
        let bru = |h: &str| {
            let utc = eval("datetime_local_to_utc", &[dt(h), s("Europe/Brussels")]);
            let back = eval(
                "datetime_utc_to_local",
                &[utc.clone(), s("Europe/Brussels")],
            );
            (show(utc), show(back))
        };
        assert_eq!(
            bru("2022-03-27 01:00"),
            ("2022-03-27T00:00:00Z".into(), "2022-03-27T01:00:00Z".into())
        );
        assert_eq!(
            bru("2022-03-27 02:00"),
            ("2022-03-27T00:00:00Z".into(), "2022-03-27T01:00:00Z".into())
        );
        assert_eq!(
            bru("2022-03-27 03:00"),
            ("2022-03-27T01:00:00Z".into(), "2022-03-27T03:00:00Z".into())
        );
        assert_eq!(
            bru("2022-03-27 04:00"),
            ("2022-03-27T02:00:00Z".into(), "2022-03-27T04:00:00Z".into())
        );
        assert_eq!(
            eval("datetime_utc_to_local", &[local, s("Not/AZone")]),
            Value::Null
        );
    }

    #[test]
    fn binning() {
        assert_eq!(eval("bin", &[Value::Real(4.5), l(1)]), Value::Real(4.0));
        assert_eq!(eval("bin", &[ts("16d"), ts("7d")]), ts("14d"));
        assert_eq!(
            show(eval("bin", &[dt("1970-05-11 13:45:07"), ts("1d")])),
            "1970-05-11T00:00:00Z"
        );
        assert_eq!(
            show(eval("bin", &[dt("2022-03-02 23:04"), ts("1h")])),
            "2022-03-02T23:00:00Z"
        );
        // Weekly bins count from 0001-01-01, a Monday.
        assert_eq!(
            show(eval("bin", &[dt("2017-05-17"), ts("7d")])),
            "2017-05-15T00:00:00Z"
        );
        for (a, want) in [(-1, -3), (0, 0), (1, 0), (2, 0), (3, 3), (4, 3)] {
            assert_eq!(eval("bin", &[l(a), l(3)]), l(want));
            assert_eq!(eval("floor", &[l(a), l(3)]), l(want));
        }
        for (a, want) in [
            (0.3, 0.0),
            (0.5, 0.5),
            (0.9, 0.5),
            (1.1, 1.0),
            (-0.1, -0.5),
            (-0.5, -0.5),
            (-0.6, -1.0),
        ] {
            assert_eq!(
                eval("bin", &[Value::Real(a), Value::Real(0.5)]),
                Value::Real(want)
            );
        }
        assert_eq!(eval("bin", &[l(5), l(0)]), Value::Null);
        assert_eq!(eval("bin", &[l(5), l(-1)]), Value::Null);
        assert_eq!(bin_type(&[KqlType::Long, KqlType::Real]), Ok(KqlType::Real));
        assert_eq!(
            bin_type(&[KqlType::DateTime, KqlType::TimeSpan]),
            Ok(KqlType::DateTime)
        );
        assert_eq!(
            eval("bin_at", &[Value::Real(6.5), Value::Real(2.5), l(7)]),
            Value::Real(4.5)
        );
        assert_eq!(
            eval("bin_at", &[ts("1h"), ts("1d"), ts("12h")]),
            ts("-12:00:00")
        );
        assert_eq!(
            show(eval(
                "bin_at",
                &[
                    dt("2017-05-15 10:20:00"),
                    ts("1d"),
                    dt("1970-01-01 12:00:00")
                ]
            )),
            "2017-05-14T12:00:00Z"
        );
        assert_eq!(
            show(eval(
                "bin_at",
                &[
                    dt("2017-05-17 10:20:00"),
                    ts("7d"),
                    dt("2017-06-04 00:00:00")
                ]
            )),
            "2017-05-14T00:00:00Z"
        );
        assert_eq!(
            show(eval(
                "bin_at",
                &[dt("2018-02-23T16:14"), ts("1d"), dt("2018-02-24 15:14:00")]
            )),
            "2018-02-23T15:14:00Z"
        );
    }
}
