//! KQL's scalar operators over [`Value`]s: arithmetic with Kusto's type rules,
//! comparisons with Kusto's coercions and null rules, and the string operators
//! (`contains`, `has` term matching, ...). The engine's vectorised kernels must agree
//! with these.

use crate::value::{KqlType, Value};
use serde_json::Value as Json;
use std::cmp::Ordering;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl Arith {
    pub fn symbol(self) -> &'static str {
        match self {
            Arith::Add => "+",
            Arith::Sub => "-",
            Arith::Mul => "*",
            Arith::Div => "/",
            Arith::Mod => "%",
        }
    }
}

/// The result type of `l op r`, or Kusto's complaint.
pub fn arith_type(op: Arith, l: KqlType, r: KqlType) -> Result<KqlType, String> {
    use KqlType::*;
    let t = match (op, l, r) {
        (_, Dynamic, _) | (_, _, Dynamic) => Dynamic,
        (_, a, b) if num_rank(a).is_some() && num_rank(b).is_some() => {
            if a == Bool && b == Bool {
                Long
            } else {
                let (ra, rb) = (num_rank(a).unwrap_or(0), num_rank(b).unwrap_or(0));
                [Int, Long, Real, Decimal][ra.max(rb)]
            }
        }
        (Arith::Sub, DateTime, DateTime) => TimeSpan,
        (Arith::Add | Arith::Sub, DateTime, TimeSpan) => DateTime,
        (Arith::Add, TimeSpan, DateTime) => DateTime,
        (Arith::Add | Arith::Sub | Arith::Mod, TimeSpan, TimeSpan) => TimeSpan,
        (Arith::Div, TimeSpan, TimeSpan) => Real,
        (Arith::Mul | Arith::Div | Arith::Mod, TimeSpan, b) if num_rank(b).is_some() => TimeSpan,
        (Arith::Mul, a, TimeSpan) if num_rank(a).is_some() => TimeSpan,
        _ => {
            return Err(format!(
                "Operator '{}' cannot be applied to operands of type '{}' and '{}'",
                op.symbol(),
                l,
                r
            ))
        }
    };
    Ok(t)
}

/// int < long < real < decimal; bools count as ints in arithmetic.
fn num_rank(t: KqlType) -> Option<usize> {
    match t {
        KqlType::Bool | KqlType::Int => Some(0),
        KqlType::Long => Some(1),
        KqlType::Real => Some(2),
        KqlType::Decimal => Some(3),
        _ => None,
    }
}

/// Evaluates `l op r` giving a value of `arith_type(op, ..)`; null in, null out; integer
/// division truncates, `%` is the Euclidean remainder (never negative, as Kusto), integer
/// division by zero is null.
pub fn arith(op: Arith, l: &Value, r: &Value) -> Value {
    if l.is_null() || r.is_null() {
        return Value::Null;
    }
    use Value::*;
    match (l, r) {
        (Dynamic(a), b) => {
            let Some(av) = json_scalar(a) else {
                return Null;
            };
            return match arith(op, &av, b) {
                Null => Null,
                v => Dynamic(v.to_json()),
            };
        }
        (a, Dynamic(b)) => {
            let Some(bv) = json_scalar(b) else {
                return Null;
            };
            return match arith(op, a, &bv) {
                Null => Null,
                v => Dynamic(v.to_json()),
            };
        }
        (DateTime(a), DateTime(b)) if op == Arith::Sub => {
            return a.checked_sub(*b).map(TimeSpan).unwrap_or(Null)
        }
        (DateTime(a), TimeSpan(b)) => {
            return match op {
                Arith::Add => a.checked_add(*b).map(DateTime).unwrap_or(Null),
                Arith::Sub => a.checked_sub(*b).map(DateTime).unwrap_or(Null),
                _ => Null,
            }
        }
        (TimeSpan(a), DateTime(b)) if op == Arith::Add => {
            return a.checked_add(*b).map(DateTime).unwrap_or(Null)
        }
        (TimeSpan(a), TimeSpan(b)) => {
            return match op {
                Arith::Add => a.checked_add(*b).map(TimeSpan).unwrap_or(Null),
                Arith::Sub => a.checked_sub(*b).map(TimeSpan).unwrap_or(Null),
                Arith::Div => Real(*a as f64 / *b as f64),
                Arith::Mod => {
                    if *b == 0 {
                        Null
                    } else {
                        TimeSpan(a.rem_euclid(*b))
                    }
                }
                Arith::Mul => Null,
            }
        }
        (TimeSpan(a), n) => {
            let Some(f) = n.as_f64() else { return Null };
            return match op {
                Arith::Mul => ts_from_f64(*a as f64 * f),
                Arith::Div => {
                    if f == 0.0 {
                        Null
                    } else {
                        ts_from_f64(*a as f64 / f)
                    }
                }
                _ => Null,
            };
        }
        (n, TimeSpan(b)) if op == Arith::Mul => {
            let Some(f) = n.as_f64() else { return Null };
            return ts_from_f64(*b as f64 * f);
        }
        _ => {}
    }
    let (Some(lt), Some(rt)) = (l.kql_type(), r.kql_type()) else {
        return Null;
    };
    match arith_type(op, lt, rt) {
        Ok(KqlType::Int) => {
            let (Some(a), Some(b)) = (l.as_i64(), r.as_i64()) else {
                return Null;
            };
            int_arith(op, a, b).map(|v| Int(v as i32)).unwrap_or(Null)
        }
        Ok(KqlType::Long) => {
            let (Some(a), Some(b)) = (l.as_i64(), r.as_i64()) else {
                return Null;
            };
            int_arith(op, a, b).map(Long).unwrap_or(Null)
        }
        Ok(KqlType::Real) => {
            let (Some(a), Some(b)) = (l.as_f64(), r.as_f64()) else {
                return Null;
            };
            Real(real_arith(op, a, b))
        }
        Ok(KqlType::Decimal) => {
            let (Some(a), Some(b)) = (l.as_f64(), r.as_f64()) else {
                return Null;
            };
            let v = real_arith(op, a, b);
            if v.is_finite() {
                Decimal(v)
            } else {
                Null
            }
        }
        _ => Null,
    }
}

fn ts_from_f64(f: f64) -> Value {
    if f.is_finite() && f.abs() < 9.2e18 {
        Value::TimeSpan(f.round() as i64)
    } else {
        Value::Null
    }
}

/// Integer arithmetic with wrapping on overflow (as .NET's unchecked longs) and null on
/// division by zero.
pub fn int_arith(op: Arith, a: i64, b: i64) -> Option<i64> {
    Some(match op {
        Arith::Add => a.wrapping_add(b),
        Arith::Sub => a.wrapping_sub(b),
        Arith::Mul => a.wrapping_mul(b),
        Arith::Div => {
            if b == 0 {
                return None;
            }
            a.wrapping_div(b)
        }
        Arith::Mod => {
            if b == 0 {
                return None;
            }
            a.wrapping_rem(b).rem_euclid_safe(b)
        }
    })
}

trait RemEuclidSafe {
    fn rem_euclid_safe(self, b: i64) -> i64;
}

impl RemEuclidSafe for i64 {
    /// Makes a remainder non-negative: Kusto's `-14 % 12` is 10 and `14 % -12` is 2.
    fn rem_euclid_safe(self, b: i64) -> i64 {
        if self < 0 {
            self.wrapping_add(b.wrapping_abs())
        } else {
            self
        }
    }
}

pub fn real_arith(op: Arith, a: f64, b: f64) -> f64 {
    match op {
        Arith::Add => a + b,
        Arith::Sub => a - b,
        Arith::Mul => a * b,
        Arith::Div => a / b,
        Arith::Mod => {
            let r = a % b;
            if r < 0.0 {
                r + b.abs()
            } else {
                r
            }
        }
    }
}

/// A scalar inside a dynamic value, as a typed value (numbers as long or real).
pub fn json_scalar(j: &Json) -> Option<Value> {
    match j {
        Json::Null => Some(Value::Null),
        Json::Bool(b) => Some(Value::Bool(*b)),
        Json::Number(n) => Some(match n.as_i64() {
            Some(i) => Value::Long(i),
            None => Value::Real(n.as_f64()?),
        }),
        Json::String(s) => Some(Value::String(s.clone())),
        _ => None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cmp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

/// Whether two types can be compared (Kusto rejects e.g. `string < long`).
pub fn comparable(l: KqlType, r: KqlType) -> bool {
    use KqlType::*;
    l == r
        || l == Dynamic
        || r == Dynamic
        || (num_rank(l).is_some() && num_rank(r).is_some())
        || matches!((l, r), (Bool, String) | (String, Bool))
        || matches!((l, r), (Guid, String) | (String, Guid))
}

/// The bool a text compares as against a bool (`IsClickedThrough != "0"`); `None` for
/// text that is no bool (then the two are never equal).
pub fn text_as_bool(t: &str) -> Option<bool> {
    match t {
        "1" | "true" | "True" => Some(true),
        "0" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Orders two non-null values of comparable types.
pub fn order(l: &Value, r: &Value) -> Option<Ordering> {
    use Value::*;
    match (l, r) {
        (Dynamic(a), b) => {
            let av = json_scalar(a);
            match av {
                Some(av) if !av.is_null() => order(&av, b),
                Some(_) => None,
                None => match b {
                    Dynamic(bj) => (a == bj).then_some(Ordering::Equal),
                    _ => None,
                },
            }
        }
        (a, Dynamic(b)) => order(&Dynamic(b.clone()), a).map(Ordering::reverse),
        (String(a), String(b))
        | (Guid(a), Guid(b))
        | (Guid(a), String(b))
        | (String(a), Guid(b)) => Some(a.cmp(b)),
        (Bool(a), String(b)) | (String(b), Bool(a)) => {
            let o = a.cmp(&text_as_bool(b)?);
            Some(if matches!(l, Bool(_)) { o } else { o.reverse() })
        }
        (DateTime(a), DateTime(b)) | (TimeSpan(a), TimeSpan(b)) => Some(a.cmp(b)),
        (Int(_) | Long(_) | Bool(_), Int(_) | Long(_) | Bool(_)) => {
            Some(l.as_i64()?.cmp(&r.as_i64()?))
        }
        _ => {
            let (a, b) = (l.as_f64()?, r.as_f64()?);
            if matches!(l, DateTime(_) | TimeSpan(_)) != matches!(r, DateTime(_) | TimeSpan(_)) {
                return None;
            }
            a.partial_cmp(&b)
        }
    }
}

/// `l op r` with Kusto's null rules: `==` with a null operand is false and `!=` true
/// (so `where x != "a"` keeps rows where x is null); ordering comparisons with null
/// are null.
pub fn compare(op: Cmp, l: &Value, r: &Value) -> Value {
    if l.is_null() || r.is_null() {
        return match op {
            Cmp::Eq => Value::Bool(false),
            Cmp::NotEq => Value::Bool(true),
            _ => Value::Null,
        };
    }
    let Some(o) = order(l, r) else {
        return match op {
            Cmp::Eq => Value::Bool(false),
            Cmp::NotEq => Value::Bool(true),
            _ => Value::Null,
        };
    };
    Value::Bool(match op {
        Cmp::Eq => o == Ordering::Equal,
        Cmp::NotEq => o != Ordering::Equal,
        Cmp::Lt => o == Ordering::Less,
        Cmp::LtEq => o != Ordering::Greater,
        Cmp::Gt => o == Ordering::Greater,
        Cmp::GtEq => o != Ordering::Less,
    })
}

/// `=~`: equality under Unicode case folding (simple lower-casing).
pub fn equals_ci(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StrKind {
    Contains,
    StartsWith,
    EndsWith,
    Has,
    HasPrefix,
    HasSuffix,
}

impl StrKind {
    pub const ALL: [StrKind; 6] = [
        StrKind::Contains,
        StrKind::StartsWith,
        StrKind::EndsWith,
        StrKind::Has,
        StrKind::HasPrefix,
        StrKind::HasSuffix,
    ];
}

/// A string operator with a fixed needle, prepared once and applied to many values.
/// Case-insensitive matching lower-cases both sides; ASCII haystacks take a
/// no-allocation path.
#[derive(Clone, Debug)]
pub struct StrMatcher {
    kind: StrKind,
    case_sensitive: bool,
    needle: String,
    finder: memchr::memmem::Finder<'static>,
    /// Whether the needle's first/last characters are term characters: only then does
    /// the matching position need a term boundary there.
    lead_term: bool,
    trail_term: bool,
    /// Case-insensitive search of an ASCII needle in ASCII text without folding it
    /// (no copy per value).
    ascii_ci: Option<aho_corasick::AhoCorasick>,
}

/// Lower-cases text for case-insensitive matching, borrowing when it is already lower-case
/// ASCII.
pub fn fold_case(hay: &str) -> std::borrow::Cow<'_, str> {
    if hay.is_ascii() {
        if hay.bytes().any(|b| b.is_ascii_uppercase()) {
            std::borrow::Cow::Owned(hay.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(hay)
        }
    } else {
        std::borrow::Cow::Owned(hay.to_lowercase())
    }
}

fn is_term_char(c: char) -> bool {
    c.is_alphanumeric()
}

impl StrMatcher {
    pub fn new(kind: StrKind, needle: &str, case_sensitive: bool) -> StrMatcher {
        let needle = if case_sensitive {
            needle.to_string()
        } else {
            needle.to_lowercase()
        };
        let lead_term = needle.chars().next().is_some_and(is_term_char);
        let trail_term = needle.chars().last().is_some_and(is_term_char);
        let ascii_ci = (!case_sensitive && needle.is_ascii() && !needle.is_empty())
            .then(|| {
                aho_corasick::AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build([needle.as_str()])
                    .ok()
            })
            .flatten();
        StrMatcher {
            kind,
            case_sensitive,
            ascii_ci,
            finder: memchr::memmem::Finder::new(needle.as_bytes()).into_owned(),
            needle,
            lead_term,
            trail_term,
        }
    }

    pub fn matches(&self, hay: &str) -> bool {
        if self.case_sensitive {
            self.matches_prepared(hay)
        } else if let Some(ac) = self.ascii_ci.as_ref().filter(|_| hay.is_ascii()) {
            self.matches_ascii_ci(ac, hay)
        } else {
            self.matches_prepared(&fold_case(hay))
        }
    }

    /// Every position where the needle starts in `buf` (overlapping occurrences too), for
    /// matching many values that are slices of one buffer with [`StrMatcher::matches_at`].
    /// `None` when this operator has no such path: starts/ends-with (already cheap per
    /// value), an empty needle, or a case-insensitive needle that is not ASCII.
    /// Case-insensitive positions are only valid for the ASCII values of `buf`.
    pub fn find_all(&self, buf: &[u8]) -> Option<Vec<u32>> {
        if matches!(self.kind, StrKind::StartsWith | StrKind::EndsWith) || self.needle.is_empty() {
            return None;
        }
        if self.case_sensitive {
            self.occurrences(buf)
                .map(|p| u32::try_from(p).ok())
                .collect()
        } else {
            let ac = self.ascii_ci.as_ref()?;
            ac.find_overlapping_iter(buf)
                .map(|m| u32::try_from(m.start()).ok())
                .collect()
        }
    }

    /// Whether `hay` matches, given every position where the needle starts in it (from
    /// [`StrMatcher::find_all`] over a buffer `hay` is a slice of, rebased; ascending).
    /// For case-insensitive matching `hay` must be ASCII.
    pub fn matches_at(&self, hay: &str, mut starts: impl Iterator<Item = usize>) -> bool {
        match self.kind {
            StrKind::Contains => starts.any(|p| p + self.needle.len() <= hay.len()),
            StrKind::StartsWith | StrKind::EndsWith => self.matches(hay),
            StrKind::Has | StrKind::HasPrefix | StrKind::HasSuffix => {
                starts.any(|p| self.term_at(hay, p))
            }
        }
    }

    /// Every byte position where the (case-sensitive) needle starts in `hay`,
    /// overlapping occurrences too ("aa" is a suffix of the term "aaa" at its second
    /// position, not its first).
    fn occurrences<'a>(&'a self, hay: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
        let mut from = 0;
        std::iter::from_fn(move || {
            let pos = from + self.finder.find(hay.get(from..)?)?;
            from = pos + 1;
            Some(pos)
        })
    }

    /// Whether the needle occurring at byte `pos` of `hay` makes a `has` match of this
    /// kind: a term boundary before it (unless `hassuffix`) and after it (unless
    /// `hasprefix`), where the needle's own end characters are term characters.
    fn term_at(&self, hay: &str, pos: usize) -> bool {
        let (Some(before), Some(after)) = (hay.get(..pos), hay.get(pos + self.needle.len()..))
        else {
            return false;
        };
        let check_start = self.lead_term && self.kind != StrKind::HasSuffix;
        let check_end = self.trail_term && self.kind != StrKind::HasPrefix;
        (!check_start || before.chars().next_back().is_none_or(|c| !is_term_char(c)))
            && (!check_end || after.chars().next().is_none_or(|c| !is_term_char(c)))
    }

    /// Whether positions from [`StrMatcher::find_all`] need the value to be ASCII
    /// (case-insensitive matching; other values go through [`StrMatcher::matches`]).
    pub fn positions_need_ascii(&self) -> bool {
        !self.case_sensitive
    }

    /// The needle as matched (lower-cased when case-insensitive) and the case mode:
    /// positions from [`StrMatcher::find_all`] depend on nothing else.
    pub fn search_key(&self) -> (&str, bool) {
        (&self.needle, self.case_sensitive)
    }

    /// [`StrMatcher::matches`] for ASCII text and an ASCII needle, ignoring case.
    fn matches_ascii_ci(&self, ac: &aho_corasick::AhoCorasick, hay: &str) -> bool {
        let n = self.needle.len();
        let bytes = hay.as_bytes();
        match self.kind {
            StrKind::Contains => ac.is_match(hay),
            StrKind::StartsWith => {
                bytes.len() >= n && bytes[..n].eq_ignore_ascii_case(self.needle.as_bytes())
            }
            StrKind::EndsWith => {
                bytes.len() >= n
                    && bytes[bytes.len() - n..].eq_ignore_ascii_case(self.needle.as_bytes())
            }
            StrKind::Has | StrKind::HasPrefix | StrKind::HasSuffix => ac
                .find_overlapping_iter(hay)
                .any(|m| self.term_at(hay, m.start())),
        }
    }

    /// As [`StrMatcher::matches`] on text already passed through [`fold_case`]: several
    /// case-insensitive matchers over one value fold it once.
    pub fn matches_folded(&self, folded: &str) -> bool {
        self.matches_prepared(folded)
    }

    fn matches_prepared(&self, hay: &str) -> bool {
        let n = self.needle.as_str();
        match self.kind {
            StrKind::Contains => self.finder.find(hay.as_bytes()).is_some(),
            StrKind::StartsWith => hay.starts_with(n),
            StrKind::EndsWith => hay.ends_with(n),
            StrKind::Has | StrKind::HasPrefix | StrKind::HasSuffix => {
                n.is_empty()
                    || self
                        .occurrences(hay.as_bytes())
                        .any(|pos| self.term_at(hay, pos))
            }
        }
    }
}

/// One-off string operator evaluation (the engine caches [`StrMatcher`]s instead).
pub fn string_op(kind: StrKind, case_sensitive: bool, hay: &str, needle: &str) -> bool {
    StrMatcher::new(kind, needle, case_sensitive).matches(hay)
}

#[cfg(test)]
mod tests {
    /// The ASCII case-insensitive path (no folding) agrees with folding first, for every
    /// text and needle over a small alphabet with case, a term character and a separator.
    #[test]
    fn ascii_case_insensitive_matching_agrees_with_folding() {
        fn strings(max: usize) -> Vec<String> {
            let mut out = vec![String::new()];
            let mut frontier = vec![String::new()];
            for _ in 0..max {
                let mut next = Vec::new();
                for s in &frontier {
                    for c in ['a', 'A', 'b', '1', '-'] {
                        next.push(format!("{s}{c}"));
                    }
                }
                out.extend(next.iter().cloned());
                frontier = next;
            }
            out
        }
        let hays = strings(5);
        let needles = strings(3);
        for kind in StrKind::ALL {
            for n in &needles {
                let m = StrMatcher::new(kind, n, false);
                for h in &hays {
                    assert_eq!(
                        m.matches(h),
                        m.matches_folded(&fold_case(h)),
                        "{kind:?} {n:?} in {h:?}"
                    );
                }
            }
        }
    }

    use super::*;

    #[test]
    fn kusto_modulo_and_division() {
        assert_eq!(
            arith(Arith::Mod, &Value::Long(-14), &Value::Long(12)),
            Value::Long(10)
        );
        assert_eq!(
            arith(Arith::Mod, &Value::Long(14), &Value::Long(-12)),
            Value::Long(2)
        );
        assert_eq!(
            arith(Arith::Mod, &Value::Long(-14), &Value::Long(-12)),
            Value::Long(10)
        );
        assert_eq!(
            arith(Arith::Div, &Value::Long(7), &Value::Long(2)),
            Value::Long(3)
        );
        assert_eq!(
            arith(Arith::Div, &Value::Long(1), &Value::Long(0)),
            Value::Null
        );
        assert_eq!(
            arith(Arith::Div, &Value::Int(7), &Value::Real(2.0)),
            Value::Real(3.5)
        );
    }

    #[test]
    fn temporal_arithmetic() {
        let d = Value::DateTime(1_000);
        assert_eq!(
            arith(Arith::Sub, &d, &Value::DateTime(400)),
            Value::TimeSpan(600)
        );
        assert_eq!(
            arith(Arith::Add, &d, &Value::TimeSpan(5)),
            Value::DateTime(1_005)
        );
        assert_eq!(
            arith(Arith::Mul, &Value::TimeSpan(10), &Value::Long(3)),
            Value::TimeSpan(30)
        );
        assert!(arith_type(Arith::Add, KqlType::String, KqlType::Long).is_err());
    }

    #[test]
    fn term_matching() {
        let has = |h: &str, n: &str| string_op(StrKind::Has, false, h, n);
        assert!(has("North America", "america"));
        assert!(!has("KustoExplorerQueryRun", "Explorer"));
        assert!(!has("North America", "amer"));
        assert!(has("b .b-", " "));
        assert!(has("anything", ""));
        assert!(has("https://evil.example/login", "evil.example"));
        assert!(string_op(StrKind::HasPrefix, false, "North America", "ame"));
        assert!(!string_op(
            StrKind::HasPrefix,
            false,
            "North America",
            "mer"
        ));
        assert!(string_op(StrKind::HasSuffix, false, "North America", "ica"));
        assert!(!string_op(StrKind::HasSuffix, true, "North America", "icA"));
        assert!(string_op(StrKind::Contains, false, "FabriKam", "BRik"));
        assert!(!string_op(StrKind::Contains, true, "Fabrikam", "Kam"));
        assert!(!string_op(StrKind::Has, false, "Straße Nord", "STRASSE"));
        assert!(string_op(StrKind::Has, false, "ÄRGER heute", "ärger"));
    }

    #[test]
    fn comparisons_coerce_like_kusto() {
        assert_eq!(
            compare(Cmp::Eq, &Value::Bool(true), &Value::Long(1)),
            Value::Bool(true)
        );
        assert_eq!(
            compare(Cmp::NotEq, &Value::Bool(false), &Value::string("0")),
            Value::Bool(false)
        );
        assert_eq!(
            compare(Cmp::Eq, &Value::Null, &Value::Long(1)),
            Value::Bool(false)
        );
        assert_eq!(
            compare(Cmp::NotEq, &Value::Null, &Value::Long(1)),
            Value::Bool(true)
        );
        assert_eq!(compare(Cmp::Lt, &Value::Null, &Value::Long(1)), Value::Null);
        assert_eq!(
            compare(Cmp::Lt, &Value::Int(1), &Value::Real(1.5)),
            Value::Bool(true)
        );
    }
}
