//! `format_datetime` and `format_timespan` format strings (.NET-style custom specifiers:
//! `yyyy MM dd HH hh mm ss f..fffffff F..FFFFFFF tt`, `d..dddddddd` days for timespans).

use chrono::{Datelike, Timelike};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

enum Token {
    Spec(char, usize),
    Literal(String),
}

fn tokenize(fmt: &str, specs: &str) -> Vec<Token> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if specs.contains(c) {
            let mut n = 1;
            while i + n < chars.len() && chars[i + n] == c {
                n += 1;
            }
            out.push(Token::Spec(c, n));
            i += n;
        } else if c == '\'' || c == '"' {
            let mut lit = String::new();
            i += 1;
            while i < chars.len() && chars[i] != c {
                lit.push(chars[i]);
                i += 1;
            }
            i += 1;
            out.push(Token::Literal(lit));
        } else if c == '\\' && i + 1 < chars.len() {
            out.push(Token::Literal(chars[i + 1].to_string()));
            i += 2;
        } else {
            out.push(Token::Literal(c.to_string()));
            i += 1;
        }
    }
    out
}

/// The first `n` digits of a 7-digit tick fraction; `trim` drops trailing zeros (`F`).
fn fraction(ticks: i64, n: usize, trim: bool) -> String {
    let digits = format!("{ticks:07}");
    let n = n.min(7);
    let s = &digits[..n];
    if trim {
        s.trim_end_matches('0').to_string()
    } else {
        s.to_string()
    }
}

fn pad(v: i64, n: usize) -> String {
    format!("{v:0n$}")
}

/// Formats a datetime (Unix nanoseconds); `None` if out of range.
pub(super) fn format_datetime(ns: i64, fmt: &str) -> Option<String> {
    let secs = ns.div_euclid(1_000_000_000);
    let sub = ns.rem_euclid(1_000_000_000);
    let dt = chrono::DateTime::from_timestamp(secs, sub as u32)?.naive_utc();
    let ticks = sub / 100;
    let mut out = String::new();
    for tok in tokenize(fmt, "dfFhHmMsyt") {
        match tok {
            Token::Literal(s) => out.push_str(&s),
            Token::Spec(c, n) => {
                let piece = match (c, n) {
                    ('d', 1) => dt.day().to_string(),
                    ('d', 2) => pad(dt.day() as i64, 2),
                    ('d', 3) => DAYS[dt.weekday().num_days_from_sunday() as usize][..3].to_string(),
                    ('d', _) => DAYS[dt.weekday().num_days_from_sunday() as usize].to_string(),
                    ('f', n) => fraction(ticks, n, false),
                    ('F', n) => fraction(ticks, n, true),
                    ('h', n) => {
                        let h = match dt.hour() % 12 {
                            0 => 12,
                            h => h,
                        };
                        if n == 1 {
                            h.to_string()
                        } else {
                            pad(h as i64, 2)
                        }
                    }
                    ('H', 1) => dt.hour().to_string(),
                    ('H', _) => pad(dt.hour() as i64, 2),
                    ('m', 1) => dt.minute().to_string(),
                    ('m', _) => pad(dt.minute() as i64, 2),
                    ('M', 1) => dt.month().to_string(),
                    ('M', 2) => pad(dt.month() as i64, 2),
                    ('M', 3) => MONTHS[dt.month0() as usize][..3].to_string(),
                    ('M', _) => MONTHS[dt.month0() as usize].to_string(),
                    ('s', 1) => dt.second().to_string(),
                    ('s', _) => pad(dt.second() as i64, 2),
                    ('y', 1) => (dt.year() % 100).to_string(),
                    ('y', 2) => pad((dt.year() % 100) as i64, 2),
                    ('y', n) => pad(dt.year() as i64, n),
                    ('t', 1) => (if dt.hour() < 12 { "A" } else { "P" }).to_string(),
                    ('t', _) => (if dt.hour() < 12 { "AM" } else { "PM" }).to_string(),
                    (c, n) => c.to_string().repeat(n),
                };
                out.push_str(&piece);
            }
        }
    }
    Some(out)
}

/// Formats a timespan (nanoseconds). Negative spans get a leading `-`.
pub(super) fn format_timespan(ns: i64, fmt: &str) -> String {
    let neg = ns < 0;
    let abs = (ns as i128).unsigned_abs();
    let ticks_total = abs / 100;
    let frac = (ticks_total % 10_000_000) as i64;
    let secs = ticks_total / 10_000_000;
    let days = (secs / 86_400) as i64;
    let hours = ((secs / 3600) % 24) as i64;
    let minutes = ((secs / 60) % 60) as i64;
    let seconds = (secs % 60) as i64;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    for tok in tokenize(fmt, "dfFhHms") {
        match tok {
            Token::Literal(s) => out.push_str(&s),
            Token::Spec(c, n) => {
                let piece = match c {
                    'd' => pad(days, n.min(8)),
                    'h' | 'H' => pad(hours, n.min(2)),
                    'm' => pad(minutes, n.min(2)),
                    's' => pad(seconds, n.min(2)),
                    'f' => fraction(frac, n, false),
                    _ => fraction(frac, n, true),
                };
                out.push_str(&piece);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_formats() {
        let dt = crate::format::parse_datetime("2017-01-29 09:00:05").unwrap();
        assert_eq!(
            format_datetime(dt, "yy-MM-dd [HH:mm:ss]").unwrap(),
            "17-01-29 [09:00:05]"
        );
        assert_eq!(
            format_datetime(dt, "yyyy-M-dd [H:mm:ss]").unwrap(),
            "2017-1-29 [9:00:05]"
        );
        assert_eq!(
            format_datetime(dt, "yy-MM-dd [hh:mm:ss tt]").unwrap(),
            "17-01-29 [09:00:05 AM]"
        );
        let f = crate::format::parse_datetime("2009-06-15T13:45:30.6175425").unwrap();
        assert_eq!(format_datetime(f, "fffffff").unwrap(), "6175425");
        assert_eq!(format_datetime(f, "ff").unwrap(), "61");
        assert_eq!(format_datetime(f, "h tt").unwrap(), "1 PM");
        let z = crate::format::parse_datetime("2009-06-15T13:45:30.05").unwrap();
        assert_eq!(format_datetime(z, "F").unwrap(), "");
        assert_eq!(format_datetime(z, "FF").unwrap(), "05");
        assert_eq!(format_datetime(z, "ddd, MMM d").unwrap(), "Mon, Jun 15");
    }

    #[test]
    fn timespan_formats() {
        let t = crate::format::parse_timespan("29.09:00:05.12345").unwrap();
        assert_eq!(format_timespan(t, "dd.hh:mm:ss:FF"), "29.09:00:05:12");
        assert_eq!(
            format_timespan(t, "ddd.h:mm:ss [fffffff]"),
            "029.9:00:05 [1234500]"
        );
        assert_eq!(format_timespan(-3_600_000_000_000, "hh:mm"), "-01:00");
    }
}
