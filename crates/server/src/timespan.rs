//! Graph's `Timespan`: an ISO 8601 duration or interval, resolved to `[from, to]`
//! (ns since the epoch). Forms: `P30D` (the last 30 days), `start/end`, `P30D/end`,
//! `start/P30D`, and a single `start` (until now). Years count 365 days and months
//! 30 days, since Graph does not say which calendar it uses.

use kql_value::format::{parse_datetime, NANOS_PER_DAY, NANOS_PER_SEC};

/// Graph's default window: the last 30 days.
pub(crate) const DEFAULT_DAYS: i64 = 30;

/// `[from, to]` for `text` at `now`, or an error message.
pub(crate) fn resolve(text: Option<&str>, now: i64) -> Result<(i64, i64), String> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok((now - DEFAULT_DAYS * NANOS_PER_DAY, now));
    };
    let bad = || {
        format!(
            "Invalid Timespan '{text}': expected an ISO 8601 duration or interval such as P30D, \
             2024-01-01T00:00:00Z/2024-01-31T00:00:00Z, P7D/2024-01-31T00:00:00Z or 2024-01-01T00:00:00Z/P7D"
        )
    };
    let range = match text.split_once('/') {
        None => match duration(text) {
            Some(d) => (now - d, now),
            None => (instant(text).ok_or_else(bad)?, now),
        },
        Some((a, b)) => match (duration(a), duration(b)) {
            (Some(_), Some(_)) => return Err(bad()),
            (Some(d), None) => {
                let end = instant(b).ok_or_else(bad)?;
                (end - d, end)
            }
            (None, Some(d)) => {
                let start = instant(a).ok_or_else(bad)?;
                (start, start + d)
            }
            (None, None) => (instant(a).ok_or_else(bad)?, instant(b).ok_or_else(bad)?),
        },
    };
    if range.0 > range.1 {
        return Err(format!(
            "Invalid Timespan '{text}': its start is after its end"
        ));
    }
    Ok(range)
}

fn instant(text: &str) -> Option<i64> {
    let t = text.trim();
    // Only date-like text: `parse_datetime` also accepts forms Graph would not.
    if !t.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    parse_datetime(t)
}

/// `P[nY][nM][nW][nD][T[nH][nM][nS]]` in ns (fractions allowed on the last number).
fn duration(text: &str) -> Option<i64> {
    let t = text.trim();
    let body = t.strip_prefix('P').or_else(|| t.strip_prefix('p'))?;
    if body.is_empty() {
        return None;
    }
    let mut total = 0f64;
    let mut in_time = false;
    let mut num = String::new();
    let mut any = false;
    for c in body.chars() {
        match c.to_ascii_uppercase() {
            'T' if !in_time && num.is_empty() => in_time = true,
            '0'..='9' | '.' | ',' => num.push(if c == ',' { '.' } else { c }),
            unit => {
                let n: f64 = num.parse().ok()?;
                num.clear();
                let secs = match (unit, in_time) {
                    ('Y', false) => 365.0 * 86_400.0,
                    ('M', false) => 30.0 * 86_400.0,
                    ('W', false) => 7.0 * 86_400.0,
                    ('D', false) => 86_400.0,
                    ('H', true) => 3_600.0,
                    ('M', true) => 60.0,
                    ('S', true) => 1.0,
                    _ => return None,
                };
                total += n * secs;
                any = true;
            }
        }
    }
    if !num.is_empty() || !any {
        return None;
    }
    Some((total * NANOS_PER_SEC as f64).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = NANOS_PER_DAY;

    fn at(s: &str) -> i64 {
        parse_datetime(s).unwrap()
    }

    #[test]
    fn durations_and_intervals() {
        let now = at("2024-03-31T00:00:00Z");
        assert_eq!(resolve(None, now), Ok((now - 30 * DAY, now)));
        assert_eq!(resolve(Some("P90D"), now), Ok((now - 90 * DAY, now)));
        assert_eq!(resolve(Some("PT12H"), now), Ok((now - DAY / 2, now)));
        assert_eq!(
            resolve(Some("2024-03-01T00:00:00Z/2024-03-02T00:00:00Z"), now),
            Ok((at("2024-03-01T00:00:00Z"), at("2024-03-02T00:00:00Z")))
        );
        assert_eq!(
            resolve(Some("P7D/2024-03-08T00:00:00Z"), now),
            Ok((at("2024-03-01T00:00:00Z"), at("2024-03-08T00:00:00Z")))
        );
        assert_eq!(
            resolve(Some("2024-03-01T00:00:00Z/P1DT12H"), now),
            Ok((at("2024-03-01T00:00:00Z"), at("2024-03-02T12:00:00Z")))
        );
        assert_eq!(
            resolve(Some("2024-03-30T00:00:00Z"), now),
            Ok((at("2024-03-30T00:00:00Z"), now))
        );
        assert!(resolve(Some("P"), now).is_err());
        assert!(resolve(Some("30 days"), now).is_err());
        assert!(resolve(Some("P1D/P2D"), now).is_err());
        assert!(resolve(Some("2024-03-02T00:00:00Z/2024-03-01T00:00:00Z"), now).is_err());
    }
}
