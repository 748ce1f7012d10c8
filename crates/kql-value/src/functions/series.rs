//! Series functions over dynamic numeric arrays: element-wise arithmetic and comparisons,
//! fills, statistics, filters, seasonality, outliers, regression and decomposition.
//!
//! Element types follow Kusto: an array whose numbers are all integers is a `long`
//! series and integer-preserving operations (`series_add`, `series_abs`, ...) keep
//! integers; any real element makes the series `real`. `series_divide`, `series_pow`,
//! `series_exp`, `series_log` and the analytic functions always produce reals.
//! Non-numeric elements and positions past the end of the shorter input are null.
//!
//! Multi-column functions return one property bag whose keys are the column names, in
//! column order (the engine expands them into columns named `<fn>_<arg>_<key>` or the
//! names given in `extend (a, b, ...) =`):
//!
//! | function | bag keys (column type) |
//! |---|---|
//! | `series_stats` | min (real), min_idx (long), max (real), max_idx (long), avg, stdev, variance (real) |
//! | `series_stats_dynamic` | the same plus sum (real), len (long) — this one *is* a dynamic result |
//! | `series_fit_line`, `series_fit_line_dynamic` | rsquare, slope, variance, rvariance, interception (real), line_fit (dynamic) |
//! | `series_decompose` | baseline, seasonal, trend, residual (dynamic) |
//! | `series_decompose_anomalies` | ad_flag, ad_score, baseline (dynamic) |
//! | `series_periods_detect` | periods, scores (dynamic; Kusto names them `..._periods` and `..._periods_scores`) |

use super::dynamic::{arr_arg, bool_arg, int_arg, is_null_arg, json_f64, json_real, sf, str_arg};
use super::{returns, EvalContext, ScalarFunction};
use crate::value::Value;
use serde_json::{Map, Value as Json};

// ---- inputs --------------------------------------------------------------------------------

/// One operand of an element-wise function: an array or a broadcast scalar.
enum Operand<'a> {
    Array(&'a [Json]),
    Scalar(Json),
}

impl Operand<'_> {
    fn len(&self) -> Option<usize> {
        match self {
            Operand::Array(a) => Some(a.len()),
            Operand::Scalar(_) => None,
        }
    }
    fn get(&self, i: usize) -> Option<&Json> {
        match self {
            Operand::Array(a) => a.get(i),
            Operand::Scalar(j) => Some(j),
        }
    }
    /// True when every number is an integer (a `long` series or scalar).
    fn integral(&self) -> bool {
        match self {
            Operand::Array(a) => a.iter().all(|j| match j {
                Json::Number(n) => n.is_i64(),
                _ => true,
            }),
            Operand::Scalar(Json::Number(n)) => n.is_i64(),
            Operand::Scalar(_) => true,
        }
    }
}

fn operand(args: &[Value], i: usize) -> Option<Operand<'_>> {
    match args.get(i)? {
        Value::Dynamic(Json::Array(a)) => Some(Operand::Array(a)),
        v @ (Value::Int(_) | Value::Long(_) | Value::Real(_) | Value::Decimal(_)) => {
            Some(Operand::Scalar(v.to_json()))
        }
        Value::Dynamic(j @ Json::Number(_)) => Some(Operand::Scalar(j.clone())),
        _ => None,
    }
}

/// The numeric view of a series (non-numbers are None).
fn numbers(a: &[Json]) -> Vec<Option<f64>> {
    a.iter().map(json_f64).collect()
}

fn series_arg(args: &[Value], i: usize) -> Option<Vec<Option<f64>>> {
    arr_arg(args, i).map(|a| numbers(a))
}

fn real_array(v: impl IntoIterator<Item = f64>) -> Json {
    Json::Array(v.into_iter().map(json_real).collect())
}

fn null() -> Value {
    Value::Dynamic(Json::Null)
}

// ---- element-wise ----------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

fn binary_arith(a: &[Value], op: Arith) -> Value {
    let (Some(x), Some(y)) = (operand(a, 0), operand(a, 1)) else {
        return null();
    };
    let n = match (x.len(), y.len()) {
        (Some(p), Some(q)) => p.max(q),
        (Some(p), None) | (None, Some(p)) => p,
        (None, None) => return null(),
    };
    let ints = x.integral() && y.integral() && matches!(op, Arith::Add | Arith::Sub | Arith::Mul);
    let out = (0..n)
        .map(|i| {
            let (Some(Json::Number(p)), Some(Json::Number(q))) = (x.get(i), y.get(i)) else {
                return Json::Null;
            };
            if ints {
                if let (Some(p), Some(q)) = (p.as_i64(), q.as_i64()) {
                    return Json::from(match op {
                        Arith::Add => p.wrapping_add(q),
                        Arith::Sub => p.wrapping_sub(q),
                        _ => p.wrapping_mul(q),
                    });
                }
            }
            let (p, q) = (
                p.as_f64().unwrap_or(f64::NAN),
                q.as_f64().unwrap_or(f64::NAN),
            );
            json_real(match op {
                Arith::Add => p + q,
                Arith::Sub => p - q,
                Arith::Mul => p * q,
                Arith::Div => p / q,
                Arith::Pow => p.powf(q),
            })
        })
        .collect();
    Value::Dynamic(Json::Array(out))
}

#[derive(Clone, Copy)]
enum Cmp {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

fn binary_cmp(a: &[Value], op: Cmp) -> Value {
    let (Some(x), Some(y)) = (operand(a, 0), operand(a, 1)) else {
        return null();
    };
    let n = match (x.len(), y.len()) {
        (Some(p), Some(q)) => p.max(q),
        (Some(p), None) | (None, Some(p)) => p,
        (None, None) => return null(),
    };
    let out = (0..n)
        .map(|i| {
            let (Some(Json::Number(p)), Some(Json::Number(q))) = (x.get(i), y.get(i)) else {
                return Json::Null;
            };
            let ord = match (p.as_i64(), q.as_i64()) {
                (Some(p), Some(q)) => Some(p.cmp(&q)),
                _ => p
                    .as_f64()
                    .unwrap_or(f64::NAN)
                    .partial_cmp(&q.as_f64().unwrap_or(f64::NAN)),
            };
            let Some(o) = ord else {
                return Json::Bool(matches!(op, Cmp::Ne));
            };
            Json::Bool(match op {
                Cmp::Gt => o.is_gt(),
                Cmp::Ge => o.is_ge(),
                Cmp::Lt => o.is_lt(),
                Cmp::Le => o.is_le(),
                Cmp::Eq => o.is_eq(),
                Cmp::Ne => o.is_ne(),
            })
        })
        .collect();
    Value::Dynamic(Json::Array(out))
}

#[derive(Clone, Copy)]
enum Unary {
    Abs,
    Ceiling,
    Floor,
    Sign,
    Exp,
    Log,
}

fn unary(a: &[Value], op: Unary) -> Value {
    let Some(arr) = arr_arg(a, 0) else {
        return null();
    };
    let ints = Operand::Array(arr).integral() && !matches!(op, Unary::Exp | Unary::Log);
    let out = arr
        .iter()
        .map(|j| {
            let Json::Number(n) = j else {
                return Json::Null;
            };
            if ints {
                if let Some(i) = n.as_i64() {
                    return Json::from(match op {
                        Unary::Abs => i.wrapping_abs(),
                        Unary::Sign => i.signum(),
                        _ => i,
                    });
                }
            }
            let f = n.as_f64().unwrap_or(f64::NAN);
            json_real(match op {
                Unary::Abs => f.abs(),
                Unary::Ceiling => f.ceil(),
                Unary::Floor => f.floor(),
                Unary::Sign => {
                    if f > 0.0 {
                        1.0
                    } else if f < 0.0 {
                        -1.0
                    } else {
                        f
                    }
                }
                Unary::Exp => f.exp(),
                Unary::Log => f.ln(),
            })
        })
        .collect();
    Value::Dynamic(Json::Array(out))
}

// ---- fills -----------------------------------------------------------------------------------

/// Whether an element is "missing": null (or non-numeric) by default, or equal to the
/// given placeholder.
fn missing_fn(args: &[Value], i: usize) -> impl Fn(&Json) -> bool {
    let placeholder = if is_null_arg(args, i) {
        None
    } else {
        args[i].as_f64()
    };
    move |j: &Json| match placeholder {
        None => !matches!(j, Json::Number(_)),
        Some(p) => json_f64(j) == Some(p),
    }
}

fn fill_directional(a: &[Value], forward: bool) -> Value {
    let Some(arr) = arr_arg(a, 0) else {
        return null();
    };
    let missing = missing_fn(a, 1);
    let mut out = arr.clone();
    let mut last: Option<Json> = None;
    let idx: Vec<usize> = if forward {
        (0..out.len()).collect()
    } else {
        (0..out.len()).rev().collect()
    };
    for i in idx {
        if missing(&out[i]) {
            if let Some(v) = &last {
                out[i] = v.clone();
            }
        } else {
            last = Some(out[i].clone());
        }
    }
    Value::Dynamic(Json::Array(out))
}

fn fill_const(a: &[Value], _: &EvalContext) -> Value {
    let Some(arr) = arr_arg(a, 0) else {
        return null();
    };
    let value = a[1].to_json();
    let missing = missing_fn(a, 2);
    Value::Dynamic(Json::Array(
        arr.iter()
            .map(|j| if missing(j) { value.clone() } else { j.clone() })
            .collect(),
    ))
}

/// `series_fill_linear(series[, placeholder[, fill_edges[, constant]]])`. Integer
/// series get truncated interpolations.
fn fill_linear(a: &[Value], _: &EvalContext) -> Value {
    let Some(arr) = arr_arg(a, 0) else {
        return null();
    };
    let missing = missing_fn(a, 1);
    let fill_edges = bool_arg(a, 2).unwrap_or(true);
    let known: Vec<usize> = (0..arr.len()).filter(|&i| !missing(&arr[i])).collect();
    if known.is_empty() {
        let c = match a.get(3) {
            None => json_real(0.0),
            Some(v) => v.to_json(),
        };
        return Value::Dynamic(Json::Array(vec![c; arr.len()]));
    }
    let ints = Operand::Array(arr).integral();
    let mut out = arr.clone();
    let value_at = |i: usize| json_f64(&arr[i]).unwrap_or(f64::NAN);
    let make = |v: f64| {
        if ints && v.is_finite() {
            Json::from(v.trunc() as i64)
        } else {
            json_real(v)
        }
    };
    for w in known.windows(2) {
        let (i0, i1) = (w[0], w[1]);
        let (v0, v1) = (value_at(i0), value_at(i1));
        for (k, slot) in out.iter_mut().enumerate().take(i1).skip(i0 + 1) {
            let t = (k - i0) as f64 / (i1 - i0) as f64;
            *slot = make(v0 + (v1 - v0) * t);
        }
    }
    if fill_edges {
        let (first, last) = (known[0], known[known.len() - 1]);
        for slot in out.iter_mut().take(first) {
            *slot = arr[first].clone();
        }
        for slot in out.iter_mut().skip(last + 1) {
            *slot = arr[last].clone();
        }
    }
    Value::Dynamic(Json::Array(out))
}

// ---- statistics ------------------------------------------------------------------------------

struct Stats {
    min: f64,
    min_idx: usize,
    max: f64,
    max_idx: usize,
    avg: f64,
    stdev: f64,
    variance: f64,
    sum: f64,
    len: usize,
}

fn stats_of(values: &[Option<f64>], ignore_nonfinite: bool) -> Option<Stats> {
    let mut pts = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(f) if f.is_finite() => pts.push((i, *f)),
            _ if ignore_nonfinite => {}
            _ => return None,
        }
    }
    if pts.is_empty() {
        return None;
    }
    let (mut min_idx, mut min) = pts[0];
    let (mut max_idx, mut max) = pts[0];
    let mut sum = 0.0;
    for &(i, f) in &pts {
        if f < min {
            min = f;
            min_idx = i;
        }
        if f > max {
            max = f;
            max_idx = i;
        }
        sum += f;
    }
    let n = pts.len() as f64;
    let avg = sum / n;
    let variance = if pts.len() > 1 {
        pts.iter().map(|(_, f)| (f - avg) * (f - avg)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    Some(Stats {
        min,
        min_idx,
        max,
        max_idx,
        avg,
        stdev: variance.sqrt(),
        variance,
        sum,
        len: pts.len(),
    })
}

fn stats_bag(a: &[Value], dynamic: bool) -> Value {
    let Some(values) = series_arg(a, 0) else {
        return null();
    };
    let st = stats_of(&values, bool_arg(a, 1).unwrap_or(false));
    let mut m = Map::new();
    let r = |f: fn(&Stats) -> f64| st.as_ref().map(|s| json_real(f(s))).unwrap_or(Json::Null);
    let l = |f: fn(&Stats) -> usize| {
        st.as_ref()
            .map(|s| Json::from(f(s) as i64))
            .unwrap_or(Json::Null)
    };
    m.insert("min".into(), r(|s| s.min));
    m.insert("min_idx".into(), l(|s| s.min_idx));
    m.insert("max".into(), r(|s| s.max));
    m.insert("max_idx".into(), l(|s| s.max_idx));
    m.insert("avg".into(), r(|s| s.avg));
    m.insert("stdev".into(), r(|s| s.stdev));
    m.insert("variance".into(), r(|s| s.variance));
    if dynamic {
        m.insert(
            "sum".into(),
            st.as_ref()
                .map(|s| json_real(s.sum))
                .unwrap_or(json_real(0.0)),
        );
        m.insert(
            "len".into(),
            Json::from(st.as_ref().map(|s| s.len).unwrap_or(0) as i64),
        );
    }
    Value::Dynamic(Json::Object(m))
}

/// Pairs of numeric elements of two operands (scalars broadcast), truncated to the
/// shorter array; pairs with a non-number are skipped.
fn numeric_pairs(a: &[Value]) -> Option<Vec<(f64, f64)>> {
    let (x, y) = (operand(a, 0)?, operand(a, 1)?);
    let n = match (x.len(), y.len()) {
        (Some(p), Some(q)) => p.min(q),
        (Some(p), None) | (None, Some(p)) => p,
        (None, None) => return None,
    };
    Some(
        (0..n)
            .filter_map(|i| Some((json_f64(x.get(i)?)?, json_f64(y.get(i)?)?)))
            .collect(),
    )
}

fn dot_product(a: &[Value], _: &EvalContext) -> Value {
    match numeric_pairs(a) {
        Some(p) if !p.is_empty() => Value::Real(p.iter().map(|(x, y)| x * y).sum()),
        _ => Value::Null,
    }
}

fn cosine_similarity(a: &[Value], _: &EvalContext) -> Value {
    let Some(p) = numeric_pairs(a) else {
        return Value::Null;
    };
    if p.is_empty() {
        return Value::Null;
    }
    let dot: f64 = p.iter().map(|(x, y)| x * y).sum();
    let m1 = a
        .get(2)
        .filter(|v| !v.is_null())
        .and_then(Value::as_f64)
        .unwrap_or_else(|| p.iter().map(|(x, _)| x * x).sum::<f64>().sqrt());
    let m2 = a
        .get(3)
        .filter(|v| !v.is_null())
        .and_then(Value::as_f64)
        .unwrap_or_else(|| p.iter().map(|(_, y)| y * y).sum::<f64>().sqrt());
    Value::Real(dot / (m1 * m2))
}

fn pearson(a: &[Value], _: &EvalContext) -> Value {
    let (Some(x), Some(y)) = (series_arg(a, 0), series_arg(a, 1)) else {
        return Value::Null;
    };
    let pts: Vec<(f64, f64)> = x
        .iter()
        .zip(y.iter())
        .filter_map(|(p, q)| Some(((*p)?, (*q)?)))
        .collect();
    if pts.is_empty() {
        return Value::Null;
    }
    let n = pts.len() as f64;
    let (sx, sy) = pts.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (mut cov, mut vx, mut vy) = (0.0, 0.0, 0.0);
    for (x, y) in &pts {
        cov += (x - mx) * (y - my);
        vx += (x - mx) * (x - mx);
        vy += (y - my) * (y - my);
    }
    Value::Real(cov / (vx.sqrt() * vy.sqrt()))
}

// ---- filters ---------------------------------------------------------------------------------

fn coeffs(a: &[Value], i: usize) -> Option<Vec<f64>> {
    let c: Vec<f64> = series_arg(a, i)?
        .into_iter()
        .map(|v| v.unwrap_or(0.0))
        .collect();
    (!c.is_empty()).then_some(c)
}

fn iir(a: &[Value], _: &EvalContext) -> Value {
    let (Some(x), Some(b), Some(den)) = (series_arg(a, 0), coeffs(a, 1), coeffs(a, 2)) else {
        return null();
    };
    let x: Vec<f64> = x.into_iter().map(|v| v.unwrap_or(0.0)).collect();
    let mut y = vec![0.0; x.len()];
    for i in 0..x.len() {
        let mut acc = 0.0;
        for (k, bk) in b.iter().enumerate().take(i + 1) {
            acc += bk * x[i - k];
        }
        for (k, ak) in den.iter().enumerate().skip(1).take(i) {
            acc -= ak * y[i - k];
        }
        y[i] = acc / den[0];
    }
    Value::Dynamic(real_array(y))
}

fn fir(a: &[Value], _: &EvalContext) -> Value {
    let (Some(x), Some(f)) = (series_arg(a, 0), coeffs(a, 1)) else {
        return null();
    };
    let has_negative = f.iter().any(|c| *c < 0.0);
    let normalize = bool_arg(a, 2).unwrap_or(!has_negative);
    if normalize && has_negative {
        return null();
    }
    let center = bool_arg(a, 3).unwrap_or(false);
    let norm = if normalize {
        f.iter().sum::<f64>()
    } else {
        1.0
    };
    let shift = if center { (f.len() / 2) as i64 } else { 0 };
    let n = x.len() as i64;
    let out = (0..n).map(|i| {
        let mut acc = 0.0;
        for (k, c) in f.iter().enumerate() {
            let j = i + shift - k as i64;
            if (0..n).contains(&j) {
                acc += c * x[j as usize].unwrap_or(0.0);
            }
        }
        acc / norm
    });
    Value::Dynamic(real_array(out))
}

// ---- periods, seasonality, outliers ----------------------------------------------------------

/// Scores of candidate periods by autocorrelation (unbiased estimator) at the lag.
/// Candidates are at least 4 bins and less than half the series, local maxima of the
/// autocorrelation, not multiples of a better period; ordered by score.
///
/// This approximates Kusto's detector: it finds the same periods on the documented
/// examples, but scores are not Kusto's.
fn detect_periods(x: &[f64], min_p: f64, max_p: f64) -> Vec<(usize, f64)> {
    let n = x.len();
    if n < 8 {
        return vec![];
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let d: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let var = d.iter().map(|v| v * v).sum::<f64>() / n as f64;
    if var <= 0.0 || !var.is_finite() {
        return vec![];
    }
    let lo = (min_p.ceil().max(4.0)) as usize;
    let hi_limit = (n - 1) / 2;
    let hi = if max_p.is_finite() {
        (max_p.floor().max(0.0) as usize).min(hi_limit)
    } else {
        hi_limit
    };
    if lo > hi {
        return vec![];
    }
    let acf = |p: usize| -> f64 {
        if p == 0 || p >= n {
            return 0.0;
        }
        let c: f64 = (0..n - p).map(|i| d[i] * d[i + p]).sum();
        c / (n - p) as f64 / var
    };
    let mut cands: Vec<(usize, f64)> = (lo..=hi)
        .map(|p| (p, acf(p)))
        .filter(|&(p, s)| s > 0.0 && s >= acf(p - 1) && s >= acf(p + 1))
        .collect();
    cands.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<(usize, f64)> = Vec::new();
    for (p, s) in cands {
        if chosen.iter().any(|(q, _)| p % q == 0) {
            continue;
        }
        chosen.push((p, s.min(1.0)));
    }
    chosen
}

fn periods_detect(a: &[Value], _: &EvalContext) -> Value {
    let Some(x) = series_arg(a, 0) else {
        return null();
    };
    let x: Vec<f64> = x.into_iter().map(|v| v.unwrap_or(0.0)).collect();
    let min_p = a.get(1).and_then(Value::as_f64).unwrap_or(0.0);
    let max_p = a.get(2).and_then(Value::as_f64).unwrap_or(f64::INFINITY);
    let k = int_arg(a, 3).unwrap_or(1).clamp(0, 1024) as usize;
    let found = detect_periods(&x, min_p, max_p);
    let mut periods = Vec::with_capacity(k);
    let mut scores = Vec::with_capacity(k);
    for i in 0..k {
        let (p, s) = found.get(i).copied().unwrap_or((0, 0.0));
        periods.push(json_real(p as f64));
        scores.push(json_real(s));
    }
    let mut m = Map::new();
    m.insert("periods".into(), Json::Array(periods));
    m.insert("scores".into(), Json::Array(scores));
    Value::Dynamic(Json::Object(m))
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// The period to use: `seasonality` > 0 as given; -1 detects (score ≥ threshold);
/// anything else means none.
fn choose_period(x: &[f64], seasonality: i64, threshold: f64) -> Option<usize> {
    match seasonality {
        p if p > 0 => usize::try_from(p).ok(),
        -1 => detect_periods(x, 4.0, f64::INFINITY)
            .first()
            .filter(|(_, s)| *s >= threshold)
            .map(|(p, _)| *p),
        _ => None,
    }
}

/// Median of each phase over the first `train` points, repeated over `n` points.
fn seasonal_component(x: &[f64], period: usize, train: usize, n: usize) -> Vec<f64> {
    let per_phase: Vec<f64> = (0..period)
        .map(|ph| {
            let mut v: Vec<f64> = (ph..train.min(x.len()))
                .step_by(period)
                .map(|i| x[i])
                .filter(|f| f.is_finite())
                .collect();
            median(&mut v)
        })
        .collect();
    (0..n).map(|i| per_phase[i % period]).collect()
}

fn seasonal(a: &[Value], _: &EvalContext) -> Value {
    let Some(x) = series_arg(a, 0) else {
        return null();
    };
    let x: Vec<f64> = x.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect();
    let seasonality = if is_null_arg(a, 1) {
        -1
    } else {
        int_arg(a, 1).unwrap_or(-1)
    };
    let clean: Vec<f64> = x
        .iter()
        .map(|v| if v.is_finite() { *v } else { 0.0 })
        .collect();
    let out = match choose_period(&clean, seasonality, 0.7) {
        Some(p) => seasonal_component(&x, p, x.len(), x.len()),
        None => vec![0.0; x.len()],
    };
    Value::Dynamic(real_array(out))
}

/// Linear interpolation percentile (0–100) of sorted data.
fn percentile(sorted: &[f64], pct: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = (pct / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Tukey-fence scores: 0 inside [P_low, P_high], else the distance beyond the nearer
/// fence in units of P_high − P_low (so ±1.5 is Tukey's classic fence).
fn outlier_scores(x: &[Option<f64>], low_pct: f64, high_pct: f64) -> Vec<f64> {
    let mut sorted: Vec<f64> = x
        .iter()
        .flatten()
        .copied()
        .filter(|f| f.is_finite())
        .collect();
    sorted.sort_by(|a, b| a.total_cmp(b));
    if sorted.is_empty() {
        return vec![0.0; x.len()];
    }
    let lo = percentile(&sorted, low_pct);
    let hi = percentile(&sorted, high_pct);
    let iqr = hi - lo;
    x.iter()
        .map(|v| match v {
            Some(f) if f.is_finite() => {
                if *f > hi {
                    if iqr > 0.0 {
                        (f - hi) / iqr
                    } else {
                        f64::INFINITY
                    }
                } else if *f < lo {
                    if iqr > 0.0 {
                        (f - lo) / iqr
                    } else {
                        f64::NEG_INFINITY
                    }
                } else {
                    0.0
                }
            }
            _ => 0.0,
        })
        .collect()
}

fn kind_percentiles(kind: &str, a: &[Value], lo_i: usize, hi_i: usize) -> Option<(f64, f64)> {
    match kind {
        "tukey" => Some((25.0, 75.0)),
        "ctukey" | "" => {
            let lo = a
                .get(lo_i)
                .filter(|v| !v.is_null())
                .and_then(Value::as_f64)
                .unwrap_or(10.0);
            let hi = a
                .get(hi_i)
                .filter(|v| !v.is_null())
                .and_then(Value::as_f64)
                .unwrap_or(90.0);
            ((2.0..=98.0).contains(&lo) && (2.0..=98.0).contains(&hi) && lo < hi)
                .then_some((lo, hi))
        }
        _ => None,
    }
}

fn outliers(a: &[Value], _: &EvalContext) -> Value {
    let Some(mut x) = series_arg(a, 0) else {
        return null();
    };
    let kind = str_arg(a, 1).unwrap_or_else(|| "ctukey".into());
    let Some((lo, hi)) = kind_percentiles(kind.trim(), a, 3, 4) else {
        return null();
    };
    if !is_null_arg(a, 2) {
        if let Some(ignore) = a[2].as_f64() {
            for v in x.iter_mut() {
                if *v == Some(ignore) {
                    *v = None;
                }
            }
        }
    }
    Value::Dynamic(real_array(outlier_scores(&x, lo, hi)))
}

// ---- regression and decomposition -----------------------------------------------------------

struct LineFit {
    rsquare: f64,
    slope: f64,
    variance: f64,
    rvariance: f64,
    interception: f64,
    line: Vec<f64>,
}

/// Least squares of `y` against x = 1..n over the first `train` points; the line covers
/// all `n` points.
fn fit_line(y: &[f64], train: usize, n: usize) -> LineFit {
    let pts: Vec<(f64, f64)> = y
        .iter()
        .take(train)
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, v)| ((i + 1) as f64, *v))
        .collect();
    let m = pts.len() as f64;
    if pts.is_empty() {
        return LineFit {
            rsquare: f64::NAN,
            slope: f64::NAN,
            variance: f64::NAN,
            rvariance: f64::NAN,
            interception: f64::NAN,
            line: vec![f64::NAN; n],
        };
    }
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / m;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / m;
    let sxx: f64 = pts.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    let sxy: f64 = pts.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let interception = my - slope * mx;
    let syy: f64 = pts.iter().map(|(_, y)| (y - my) * (y - my)).sum();
    let sse: f64 = pts
        .iter()
        .map(|(x, y)| {
            let e = y - (interception + slope * x);
            e * e
        })
        .sum();
    let denom = if pts.len() > 1 { m - 1.0 } else { 1.0 };
    LineFit {
        rsquare: if syy > 0.0 { 1.0 - sse / syy } else { 1.0 },
        slope,
        variance: syy / denom,
        rvariance: sse / denom,
        interception,
        line: (1..=n).map(|x| interception + slope * x as f64).collect(),
    }
}

fn fit_line_bag(a: &[Value], _: &EvalContext) -> Value {
    let Some(x) = series_arg(a, 0) else {
        return null();
    };
    let y: Vec<f64> = x.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect();
    let f = fit_line(&y, y.len(), y.len());
    let mut m = Map::new();
    m.insert("rsquare".into(), json_real(f.rsquare));
    m.insert("slope".into(), json_real(f.slope));
    m.insert("variance".into(), json_real(f.variance));
    m.insert("rvariance".into(), json_real(f.rvariance));
    m.insert("interception".into(), json_real(f.interception));
    m.insert("line_fit".into(), real_array(f.line));
    Value::Dynamic(Json::Object(m))
}

struct Decomposition {
    baseline: Vec<f64>,
    seasonal: Vec<f64>,
    trend: Vec<f64>,
    residual: Vec<f64>,
    train: usize,
}

fn decompose(
    x: &[f64],
    seasonality: i64,
    trend: &str,
    test_points: usize,
    threshold: f64,
) -> Option<Decomposition> {
    let n = x.len();
    let train = n.saturating_sub(test_points);
    let clean: Vec<f64> = x[..train]
        .iter()
        .map(|v| if v.is_finite() { *v } else { 0.0 })
        .collect();
    let seasonal = match choose_period(&clean, seasonality, threshold) {
        Some(p) => seasonal_component(x, p, train, n),
        None => vec![0.0; n],
    };
    let deseason: Vec<f64> = x.iter().zip(&seasonal).map(|(v, s)| v - s).collect();
    let trend_v: Vec<f64> = match trend {
        "avg" => {
            let pts: Vec<f64> = deseason[..train]
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect();
            let avg = if pts.is_empty() {
                0.0
            } else {
                pts.iter().sum::<f64>() / pts.len() as f64
            };
            vec![avg; n]
        }
        "linefit" => fit_line(&deseason, train, n).line,
        "none" => vec![0.0; n],
        _ => return None,
    };
    let baseline: Vec<f64> = seasonal.iter().zip(&trend_v).map(|(s, t)| s + t).collect();
    let residual: Vec<f64> = x.iter().zip(&baseline).map(|(v, b)| v - b).collect();
    Some(Decomposition {
        baseline,
        seasonal,
        trend: trend_v,
        residual,
        train,
    })
}

struct DecomposeArgs {
    x: Vec<f64>,
    seasonality: i64,
    trend: String,
    test_points: usize,
}

fn decompose_args(
    a: &[Value],
    season_i: usize,
    trend_i: usize,
    test_i: usize,
    default_trend: &str,
) -> Option<DecomposeArgs> {
    let x: Vec<f64> = series_arg(a, 0)?
        .into_iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect();
    let seasonality = if is_null_arg(a, season_i) {
        -1
    } else {
        int_arg(a, season_i)?
    };
    let trend = str_arg(a, trend_i).unwrap_or_else(|| default_trend.to_string());
    let test_points = if is_null_arg(a, test_i) {
        0
    } else {
        int_arg(a, test_i)?.max(0) as usize
    };
    Some(DecomposeArgs {
        x,
        seasonality,
        trend: trend.trim().to_string(),
        test_points,
    })
}

fn real_or(a: &[Value], i: usize, default: f64) -> f64 {
    a.get(i)
        .filter(|v| !v.is_null())
        .and_then(Value::as_f64)
        .unwrap_or(default)
}

/// `series_decompose(series[, seasonality, trend, test_points, seasonality_threshold])`
/// → bag {baseline, seasonal, trend, residual}.
fn decompose_bag(a: &[Value], _: &EvalContext) -> Value {
    let Some(d) = decompose_args(a, 1, 2, 3, "avg") else {
        return null();
    };
    let Some(r) = decompose(
        &d.x,
        d.seasonality,
        &d.trend,
        d.test_points,
        real_or(a, 4, 0.6),
    ) else {
        return null();
    };
    let mut m = Map::new();
    m.insert("baseline".into(), real_array(r.baseline));
    m.insert("seasonal".into(), real_array(r.seasonal));
    m.insert("trend".into(), real_array(r.trend));
    m.insert("residual".into(), real_array(r.residual));
    Value::Dynamic(Json::Object(m))
}

/// `series_decompose_forecast(series, points[, seasonality, trend, seasonality_threshold])`
/// → the baseline array (the last `points` are the forecast).
fn decompose_forecast(a: &[Value], _: &EvalContext) -> Value {
    let Some(d) = decompose_args(a, 2, 3, 1, "linefit") else {
        return null();
    };
    match decompose(
        &d.x,
        d.seasonality,
        &d.trend,
        d.test_points,
        real_or(a, 4, 0.6),
    ) {
        Some(r) => Value::Dynamic(real_array(r.baseline)),
        None => null(),
    }
}

/// `series_decompose_anomalies(series[, threshold, seasonality, trend, test_points,
/// ad_method, seasonality_threshold])` → bag {ad_flag, ad_score, baseline}: flags are
/// +1/−1/0 (long), scores are outlier scores of the residual.
fn decompose_anomalies(a: &[Value], _: &EvalContext) -> Value {
    let threshold = real_or(a, 1, 1.5);
    let Some(d) = decompose_args(a, 2, 3, 4, "linefit") else {
        return null();
    };
    let method = str_arg(a, 5).unwrap_or_else(|| "ctukey".into());
    let Some((lo, hi)) = kind_percentiles(method.trim(), &[], 9, 9) else {
        return null();
    };
    let Some(r) = decompose(
        &d.x,
        d.seasonality,
        &d.trend,
        d.test_points,
        real_or(a, 6, 0.6),
    ) else {
        return null();
    };
    // Fences come from the training residuals; every point is scored against them.
    let train_res: Vec<Option<f64>> = r.residual[..r.train]
        .iter()
        .map(|v| v.is_finite().then_some(*v))
        .collect();
    let mut sorted: Vec<f64> = train_res.iter().flatten().copied().collect();
    sorted.sort_by(|x, y| x.total_cmp(y));
    let scores: Vec<f64> = if sorted.is_empty() {
        vec![0.0; r.residual.len()]
    } else {
        let (p_lo, p_hi) = (percentile(&sorted, lo), percentile(&sorted, hi));
        let iqr = p_hi - p_lo;
        r.residual
            .iter()
            .map(|v| {
                if !v.is_finite() {
                    0.0
                } else if *v > p_hi {
                    if iqr > 0.0 {
                        (v - p_hi) / iqr
                    } else {
                        0.0
                    }
                } else if *v < p_lo {
                    if iqr > 0.0 {
                        (v - p_lo) / iqr
                    } else {
                        0.0
                    }
                } else {
                    0.0
                }
            })
            .collect()
    };
    let flags: Vec<Json> = scores
        .iter()
        .map(|s| {
            Json::from(if *s > threshold {
                1
            } else if *s < -threshold {
                -1
            } else {
                0
            })
        })
        .collect();
    let mut m = Map::new();
    m.insert("ad_flag".into(), Json::Array(flags));
    m.insert("ad_score".into(), real_array(scores));
    m.insert("baseline".into(), real_array(r.baseline));
    Value::Dynamic(Json::Object(m))
}

pub(crate) const FUNCTIONS: &[ScalarFunction] = &[
    sf("series_add", &[], 2, 2, returns!(Dynamic), |a, _| binary_arith(a, Arith::Add), "Element-wise sum of two series (or a series and a scalar)."),
    sf("series_subtract", &[], 2, 2, returns!(Dynamic), |a, _| binary_arith(a, Arith::Sub), "Element-wise difference of two series."),
    sf("series_multiply", &[], 2, 2, returns!(Dynamic), |a, _| binary_arith(a, Arith::Mul), "Element-wise product of two series."),
    sf("series_divide", &[], 2, 2, returns!(Dynamic), |a, _| binary_arith(a, Arith::Div), "Element-wise quotient of two series (reals)."),
    sf("series_pow", &[], 2, 2, returns!(Dynamic), |a, _| binary_arith(a, Arith::Pow), "Element-wise power of two series (reals)."),
    sf("series_greater", &[], 2, 2, returns!(Dynamic), |a, _| binary_cmp(a, Cmp::Gt), "Element-wise > of two series."),
    sf("series_greater_equals", &[], 2, 2, returns!(Dynamic), |a, _| binary_cmp(a, Cmp::Ge), "Element-wise >= of two series."),
    sf("series_less", &[], 2, 2, returns!(Dynamic), |a, _| binary_cmp(a, Cmp::Lt), "Element-wise < of two series."),
    sf("series_less_equals", &[], 2, 2, returns!(Dynamic), |a, _| binary_cmp(a, Cmp::Le), "Element-wise <= of two series."),
    sf("series_equals", &[], 2, 2, returns!(Dynamic), |a, _| binary_cmp(a, Cmp::Eq), "Element-wise == of two series."),
    sf("series_not_equals", &[], 2, 2, returns!(Dynamic), |a, _| binary_cmp(a, Cmp::Ne), "Element-wise != of two series."),
    sf("series_abs", &[], 1, 1, returns!(Dynamic), |a, _| unary(a, Unary::Abs), "Element-wise absolute value."),
    sf("series_ceiling", &[], 1, 1, returns!(Dynamic), |a, _| unary(a, Unary::Ceiling), "Element-wise ceiling."),
    sf("series_floor", &[], 1, 1, returns!(Dynamic), |a, _| unary(a, Unary::Floor), "Element-wise floor."),
    sf("series_sign", &[], 1, 1, returns!(Dynamic), |a, _| unary(a, Unary::Sign), "Element-wise sign (-1, 0, 1)."),
    sf("series_exp", &[], 1, 1, returns!(Dynamic), |a, _| unary(a, Unary::Exp), "Element-wise e^x."),
    sf("series_log", &[], 1, 1, returns!(Dynamic), |a, _| unary(a, Unary::Log), "Element-wise natural logarithm."),
    sf("series_fill_forward", &[], 1, 2, returns!(Dynamic), |a, _| fill_directional(a, true), "Fills missing values with the previous value."),
    sf("series_fill_backward", &[], 1, 2, returns!(Dynamic), |a, _| fill_directional(a, false), "Fills missing values with the next value."),
    sf("series_fill_const", &[], 2, 3, returns!(Dynamic), fill_const, "Fills missing values with a constant."),
    sf("series_fill_linear", &[], 1, 4, returns!(Dynamic), fill_linear, "Linearly interpolates missing values (edges filled by default)."),
    sf("series_stats", &[], 1, 2, returns!(Dynamic), |a, _| stats_bag(a, false), "Multi-column: bag {min, min_idx, max, max_idx, avg, stdev, variance} for the engine to expand."),
    sf("series_stats_dynamic", &[], 1, 2, returns!(Dynamic), |a, _| stats_bag(a, true), "Statistics of a series as a bag (min, min_idx, max, max_idx, avg, stdev, variance, sum, len)."),
    sf("series_dot_product", &[], 2, 2, returns!(Real), dot_product, "Dot product of two series (or a series and a scalar)."),
    sf("series_cosine_similarity", &[], 2, 4, returns!(Real), cosine_similarity, "Cosine similarity of two series."),
    sf("series_pearson_correlation", &[], 2, 2, returns!(Real), pearson, "Pearson correlation coefficient of two series."),
    sf("series_iir", &[], 3, 3, returns!(Dynamic), iir, "Infinite impulse response filter (numerators, denominators)."),
    sf("series_fir", &[], 2, 4, returns!(Dynamic), fir, "Finite impulse response filter (filter[, normalize[, center]])."),
    sf("series_periods_detect", &[], 4, 4, returns!(Dynamic), periods_detect, "Multi-column: bag {periods, scores} of the most significant periods (approximate scores)."),
    sf("series_seasonal", &[], 1, 2, returns!(Dynamic), seasonal, "Seasonal component: median of each phase of the detected or given period."),
    sf("series_outliers", &[], 1, 5, returns!(Dynamic), outliers, "Tukey-fence anomaly scores of a series."),
    sf("series_fit_line", &[], 1, 1, returns!(Dynamic), fit_line_bag, "Multi-column: bag {rsquare, slope, variance, rvariance, interception, line_fit} for the engine to expand."),
    sf("series_fit_line_dynamic", &[], 1, 1, returns!(Dynamic), fit_line_bag, "Linear regression of a series as a bag (rsquare, slope, variance, rvariance, interception, line_fit)."),
    sf("series_decompose", &[], 1, 5, returns!(Dynamic), decompose_bag, "Multi-column: bag {baseline, seasonal, trend, residual} for the engine to expand."),
    sf("series_decompose_anomalies", &[], 1, 7, returns!(Dynamic), decompose_anomalies, "Multi-column: bag {ad_flag, ad_score, baseline} for the engine to expand."),
    sf("series_decompose_forecast", &[], 2, 5, returns!(Dynamic), decompose_forecast, "Forecast by decomposition: the baseline with the last points extrapolated."),
];

#[cfg(test)]
#[allow(clippy::approx_constant)] // documented sample values, not constants
mod tests {
    use super::*;
    use serde_json::json;

    fn call(name: &str, args: &[Value]) -> Value {
        let f = crate::functions::lookup(name).unwrap_or_else(|| panic!("{name} missing"));
        (f.eval)(args, &EvalContext::default())
    }
    fn d(j: Json) -> Value {
        Value::Dynamic(j)
    }
    fn reals(v: &Value) -> Vec<f64> {
        match v {
            Value::Dynamic(Json::Array(a)) => a.iter().map(|j| j.as_f64().unwrap()).collect(),
            other => panic!("not an array: {other:?}"),
        }
    }
    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-6 * b.abs().max(1.0)
    }
    fn assert_reals(v: &Value, want: &[f64]) {
        let got = reals(v);
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!(close(*g, *w), "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn arithmetic() {
        let s1 = d(json!([1, 2, 4]));
        let s2 = d(json!([4, 2, 1]));
        assert_eq!(
            call("series_add", &[s1.clone(), s2.clone()]),
            d(json!([5, 4, 5]))
        );
        assert_eq!(
            call("series_subtract", &[s1.clone(), s2.clone()]),
            d(json!([-3, 0, 3]))
        );
        assert_eq!(
            call("series_multiply", &[s1.clone(), s2.clone()]),
            d(json!([4, 4, 4]))
        );
        assert_eq!(
            call("series_divide", &[s1.clone(), s2.clone()]),
            d(json!([0.25, 1.0, 4.0]))
        );
        assert_eq!(
            call(
                "series_pow",
                &[d(json!([1, 2, 3, 4])), d(json!([1, 2, 3, 0.5]))]
            ),
            d(json!([1.0, 4.0, 27.0, 2.0]))
        );
        assert_eq!(
            call("series_add", &[d(json!([1, 2, 3])), d(json!([1.5, null]))]),
            d(json!([2.5, null, null]))
        );
        assert_eq!(
            call("series_add", &[d(json!([1, 2])), Value::Long(10)]),
            d(json!([11, 12]))
        );
        assert_eq!(
            call("series_greater", &[s1.clone(), s2.clone()]),
            d(json!([false, false, true]))
        );
        assert_eq!(
            call("series_greater_equals", &[s1.clone(), s2.clone()]),
            d(json!([false, true, true]))
        );
        assert_eq!(
            call("series_less", &[s1.clone(), s2.clone()]),
            d(json!([true, false, false]))
        );
        assert_eq!(
            call("series_less_equals", &[s1.clone(), s2.clone()]),
            d(json!([true, true, false]))
        );
        assert_eq!(
            call("series_equals", &[s1.clone(), s2.clone()]),
            d(json!([false, true, false]))
        );
        assert_eq!(
            call("series_not_equals", &[s1, s2]),
            d(json!([true, false, true]))
        );
    }

    #[test]
    fn unary_functions() {
        assert_eq!(
            call("series_abs", &[d(json!([-6.5, 0, 8.2]))]),
            d(json!([6.5, 0.0, 8.2]))
        );
        assert_eq!(
            call("series_ceiling", &[d(json!([-1.5, 1, 2.5]))]),
            d(json!([-1.0, 1.0, 3.0]))
        );
        assert_eq!(
            call("series_floor", &[d(json!([-1.5, 1, 2.5]))]),
            d(json!([-2.0, 1.0, 2.0]))
        );
        assert_eq!(
            call("series_sign", &[d(json!([-6, 0, 8]))]),
            d(json!([-1, 0, 1]))
        );
        assert_reals(
            &call("series_exp", &[d(json!([1, 2, 3]))]),
            &[2.718281828459045, 7.38905609893065, 20.085536923187668],
        );
        assert_eq!(
            call("series_log", &[d(json!([1, 2, 3]))]),
            d(json!([0.0, 0.6931471805599453, 1.0986122886681098]))
        );
    }

    #[test]
    fn fills() {
        let arr = d(json!([
            111, null, 36, 41, null, null, 16, 61, 33, null, null
        ]));
        assert_eq!(
            call("series_fill_backward", std::slice::from_ref(&arr)),
            d(json!([111, 36, 36, 41, 16, 16, 16, 61, 33, null, null]))
        );
        assert_eq!(
            call(
                "series_fill_forward",
                &[d(json!([
                    null, null, 36, 41, null, null, 16, 61, 33, null, null
                ]))]
            ),
            d(json!([null, null, 36, 41, 41, 41, 16, 61, 33, 33, 33]))
        );
        let arr2 = d(json!([111, null, 36, 41, 23, null, 16, 61, 33, null, null]));
        assert_eq!(
            call("series_fill_const", &[arr2.clone(), Value::Real(0.0)]),
            d(json!([111, 0.0, 36, 41, 23, 0.0, 16, 61, 33, 0.0, 0.0]))
        );
        assert_eq!(
            call("series_fill_const", &[arr2, Value::Long(-1)]),
            d(json!([111, -1, 36, 41, 23, -1, 16, 61, 33, -1, -1]))
        );

        let reals_arr = d(json!([
            null, 111.0, null, 36.0, 41.0, null, null, 16.0, 61.0, 33.0, null, null
        ]));
        assert_reals(
            &call("series_fill_linear", std::slice::from_ref(&reals_arr)),
            &[
                111.0,
                111.0,
                73.5,
                36.0,
                41.0,
                32.666666666666664,
                24.333333333333336,
                16.0,
                61.0,
                33.0,
                33.0,
                33.0,
            ],
        );
        let wo_edges = call(
            "series_fill_linear",
            &[reals_arr, Value::Null, Value::Bool(false)],
        );
        assert_eq!(
            match &wo_edges {
                Value::Dynamic(Json::Array(a)) => (a[0].clone(), a[10].clone()),
                _ => panic!(),
            },
            (Json::Null, Json::Null)
        );
        let ints = d(json!([
            null, 111, null, 36, 41, null, null, 16, 61, 33, null, null
        ]));
        assert_eq!(
            call("series_fill_linear", &[ints]),
            d(json!([111, 111, 73, 36, 41, 32, 24, 16, 61, 33, 33, 33]))
        );
        let nulls = d(json!([null, null, null, null]));
        assert_eq!(
            call("series_fill_linear", std::slice::from_ref(&nulls)),
            d(json!([0.0, 0.0, 0.0, 0.0]))
        );
        assert_eq!(
            call(
                "series_fill_linear",
                &[nulls, Value::Null, Value::Bool(true), Value::Real(3.14159)]
            ),
            d(json!([3.14159, 3.14159, 3.14159, 3.14159]))
        );
    }

    #[test]
    fn stats() {
        let x = d(json!([
            23, 46, 23, 87, 4, 8, 3, 75, 2, 56, 13, 75, 32, 16, 29
        ]));
        let got = call("series_stats_dynamic", std::slice::from_ref(&x));
        let Value::Dynamic(Json::Object(m)) = &got else {
            panic!()
        };
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["min", "min_idx", "max", "max_idx", "avg", "stdev", "variance", "sum", "len"]
        );
        assert_eq!(m["min"], json!(2.0));
        assert_eq!(m["min_idx"], json!(8));
        assert_eq!(m["max"], json!(87.0));
        assert_eq!(m["max_idx"], json!(3));
        assert!(close(m["avg"].as_f64().unwrap(), 32.8));
        assert!(close(m["stdev"].as_f64().unwrap(), 28.50363385354827));
        assert!(close(m["variance"].as_f64().unwrap(), 812.4571428571429));
        assert_eq!(m["sum"], json!(492.0));
        assert_eq!(m["len"], json!(15));
        let Value::Dynamic(Json::Object(m)) = call("series_stats", &[x]) else {
            panic!()
        };
        assert_eq!(m.len(), 7);
        let Value::Dynamic(Json::Object(m)) =
            call("series_stats_dynamic", &[d(json!([1, null, 3]))])
        else {
            panic!()
        };
        assert_eq!(m["avg"], Json::Null);
        let Value::Dynamic(Json::Object(m)) = call(
            "series_stats_dynamic",
            &[d(json!([1, null, 3])), Value::Bool(true)],
        ) else {
            panic!()
        };
        assert_eq!(m["avg"], json!(2.0));
        assert_eq!(m["max_idx"], json!(2));
    }

    #[test]
    fn products_and_correlation() {
        let f = crate::functions::lookup("series_dot_product").unwrap();
        assert_eq!(
            (f.return_type)(&[
                crate::value::KqlType::Dynamic,
                crate::value::KqlType::Dynamic
            ]),
            Ok(crate::value::KqlType::Real)
        );
        assert_eq!(
            call(
                "series_dot_product",
                &[d(json!([1, 2, 4])), d(json!([4, 2, 1]))]
            ),
            Value::Real(12.0)
        );
        assert_eq!(
            call(
                "series_dot_product",
                &[d(json!([3, 6, 12])), Value::Long(3)]
            ),
            Value::Real(63.0)
        );
        assert_eq!(
            call("series_dot_product", &[d(json!([])), d(json!([1]))]),
            Value::Null
        );
        let c = call(
            "series_cosine_similarity",
            &[
                d(json!([0.1, 0.2, 0.1, 0.2])),
                d(json!([0.11, 0.2, 0.11, 0.21])),
            ],
        );
        assert!(close(c.as_f64().unwrap(), 0.9993534382550399));
        let c = call(
            "series_cosine_similarity",
            &[d(json!([0.1, 0.2, 0.1, 0.2])), d(json!([1, 2, 3, 4]))],
        );
        assert!(close(c.as_f64().unwrap(), 0.9237604307034012));
        let p = call(
            "series_pearson_correlation",
            &[d(json!([1, 2, 3, 4, 5])), d(json!([2, 4, 6, 8, 10]))],
        );
        assert!(close(p.as_f64().unwrap(), 0.9999999999999998));
    }

    #[test]
    fn filters() {
        let y = call(
            "series_iir",
            &[d(json!([0, 1, 2, 3, 4])), d(json!([1])), d(json!([1, -1]))],
        );
        assert_reals(&y, &[0.0, 1.0, 3.0, 6.0, 10.0]);
        let val = d(json!([
            0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 20, 40, 100, 40, 20, 10, 0, 0, 0
        ]));
        let ma = call("series_fir", &[val.clone(), d(json!([1, 1, 1, 1, 1]))]);
        let got = reals(&ma);
        assert!(close(got[12], 34.0) && close(got[14], 44.0) && close(got[13], 42.0));
        let centered = call(
            "series_fir",
            &[
                val,
                d(json!([1, 1, 1, 1, 1])),
                Value::Bool(true),
                Value::Bool(true),
            ],
        );
        let got = reals(&centered);
        assert!(close(got[12], 44.0));
        let diff = call(
            "series_fir",
            &[
                d(json!([0, 0, 2, 2, 3])),
                d(json!([1, -1])),
                Value::Bool(false),
                Value::Bool(false),
            ],
        );
        assert_reals(&diff, &[0.0, 0.0, 2.0, 0.0, 1.0]);
        assert!(call(
            "series_fir",
            &[d(json!([1, 2])), d(json!([1, -1])), Value::Bool(true)]
        )
        .is_null());
    }

    #[test]
    fn seasonal_cases() {
        let s1 = d(json!([
            2, 5, 3, 4, 3, 2, 1, 2, 3, 4, 3, 2, 1, 2, 3, 4, 3, 2, 1, 2, 3, 4, 3, 2, 1
        ]));
        assert_reals(
            &call("series_seasonal", &[s1]),
            &[
                1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0, 2.0, 3.0, 4.0,
                3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0,
            ],
        );
        let s2 = d(json!([
            8, 12, 14, 12, 10, 10, 12, 14, 12, 10, 10, 12, 14, 12, 10, 10, 12, 14, 12, 10
        ]));
        assert_reals(
            &call("series_seasonal", &[s2]),
            &[
                10.0, 12.0, 14.0, 12.0, 10.0, 10.0, 12.0, 14.0, 12.0, 10.0, 10.0, 12.0, 14.0, 12.0,
                10.0, 10.0, 12.0, 14.0, 12.0, 10.0,
            ],
        );
        let s3 = d(json!([1, 3, 5, 2, 4, 6, 1, 3, 5, 2, 4, 6]));
        assert_reals(
            &call("series_seasonal", std::slice::from_ref(&s3)),
            &[0.0; 12],
        );
        assert_reals(
            &call(
                "series_seasonal",
                &[d(json!([1, 3, 5, 1, 3, 5, 2, 4, 6])), Value::Long(3)],
            ),
            &[1.0, 3.0, 5.0, 1.0, 3.0, 5.0, 1.0, 3.0, 5.0],
        );
        assert_reals(
            &call("series_seasonal", &[s3, Value::Long(3)]),
            &[1.5, 3.5, 5.5, 1.5, 3.5, 5.5, 1.5, 3.5, 5.5, 1.5, 3.5, 5.5],
        );
    }

    #[test]
    fn periods() {
        let y = d(json!([
            80, 139, 87, 110, 68, 54, 50, 51, 53, 133, 86, 141, 97, 156, 94, 149, 95, 140, 77, 61,
            50, 54, 47, 133, 72, 152, 94, 148, 105, 162, 101, 160, 87, 63, 53, 55, 54, 151, 103,
            189, 108, 183, 113, 175, 113, 178, 90, 71, 62, 62, 65, 165, 109, 181, 115, 182, 121,
            178, 114, 170
        ]));
        let r = call(
            "series_periods_detect",
            &[y, Value::Real(0.0), Value::Real(50.0), Value::Long(2)],
        );
        let Value::Dynamic(Json::Object(m)) = r else {
            panic!()
        };
        assert_eq!(m["periods"][0], json!(14.0));
        assert_eq!(m["periods"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn outliers_and_fit() {
        let s = call(
            "series_outliers",
            &[d(json!([30, 28, 5, 27, 31, 38, 29, 80, 25, 37, 30]))],
        );
        let got = reals(&s);
        assert!(got[2] < -1.5 && got[7] > 1.5 && got[0] == 0.0);

        let y = d(json!([2, 5, 6, 8, 11, 15, 17, 18, 25, 26, 30, 30]));
        let Value::Dynamic(Json::Object(m)) = call("series_fit_line", &[y]) else {
            panic!()
        };
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "rsquare",
                "slope",
                "variance",
                "rvariance",
                "interception",
                "line_fit"
            ]
        );
        assert!((m["rsquare"].as_f64().unwrap() - 0.982).abs() < 1e-3);
        assert!((m["slope"].as_f64().unwrap() - 2.730).abs() < 1e-3);
        assert!((m["interception"].as_f64().unwrap() + 1.666).abs() < 1e-3);
        assert!((m["line_fit"][0].as_f64().unwrap() - 1.064).abs() < 1e-3);
        assert!((m["variance"].as_f64().unwrap() - 98.628).abs() < 1e-3);
        assert!((m["rvariance"].as_f64().unwrap() - 1.686).abs() < 1e-2);
    }

    #[test]
    fn decomposition() {
        let mut v = Vec::new();
        for t in 0..70 {
            let base = [10.0, 12.0, 15.0, 13.0, 11.0, 10.0, 9.0][t % 7];
            v.push(base + t as f64 * 0.1);
        }
        v[40] += 30.0;
        let x = d(json!(v));
        let Value::Dynamic(Json::Object(m)) = call("series_decompose", std::slice::from_ref(&x))
        else {
            panic!()
        };
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(keys, ["baseline", "seasonal", "trend", "residual"]);
        let Value::Dynamic(Json::Object(m)) =
            call("series_decompose_anomalies", std::slice::from_ref(&x))
        else {
            panic!()
        };
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(keys, ["ad_flag", "ad_score", "baseline"]);
        assert_eq!(m["ad_flag"][40], json!(1));
        assert_eq!(m["ad_flag"][10], json!(0));
        let f = call("series_decompose_forecast", &[x, Value::Long(7)]);
        assert_eq!(reals(&f).len(), 70);
    }

    #[test]
    fn never_panics_on_odd_input() {
        let odd = [
            Value::Null,
            Value::Long(i64::MIN),
            Value::Real(f64::NAN),
            Value::string("x"),
            d(json!(null)),
            d(json!([])),
            d(json!([0])),
            d(json!([
                null,
                "a",
                1.5,
                9223372036854775807i64,
                -9223372036854775808i64
            ])),
            d(json!([
                1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
            ])),
        ];
        for f in FUNCTIONS {
            for n in f.min_args..=f.max_args.min(f.min_args + 2) {
                for a in &odd {
                    for b in &odd {
                        let mut args = vec![a.clone(); n];
                        for item in args.iter_mut().skip(1) {
                            *item = b.clone();
                        }
                        let _ = (f.eval)(&args, &EvalContext::default());
                    }
                }
            }
        }
    }
}
