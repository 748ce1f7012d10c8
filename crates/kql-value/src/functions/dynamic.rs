//! Functions over `dynamic` values: arrays (`array_*`, `pack_array`, `zip`, `range`,
//! `repeat`), property bags (`bag_*`, `bag_pack`), sets (`set_*`, `jaccard_index`),
//! JSON (`parse_json`, `dynamic_to_json`, `extract_json`, `treepath`).
//!
//! The helpers marked `pub(super)` (argument access, element equality, JSONPath) are
//! shared with `series.rs` and `network.rs`.

use super::{returns, EvalContext, EvalFn, ReturnTypeFn, ScalarFunction};
use crate::convert::parse_json_lenient;
use crate::format::{format_datetime_full, format_timespan, json_to_kql_text};
use crate::value::{KqlType, Value};
use serde_json::{Map, Value as Json};
use std::cmp::Ordering;
use std::collections::HashSet;

/// Kusto caps generated arrays (`range`, `repeat`) at 2^20 elements.
pub(super) const MAX_GENERATED: usize = 1 << 20;

// ---- shared helpers --------------------------------------------------------------------

/// A non-volatile function declaration.
pub(super) const fn sf(
    name: &'static str,
    aliases: &'static [&'static str],
    min_args: usize,
    max_args: usize,
    return_type: ReturnTypeFn,
    eval: EvalFn,
    doc: &'static str,
) -> ScalarFunction {
    ScalarFunction {
        name,
        aliases,
        min_args,
        max_args,
        return_type,
        eval,
        volatile: false,
        doc,
    }
}

/// The JSON array inside a dynamic argument.
pub(super) fn arr_arg(args: &[Value], i: usize) -> Option<&Vec<Json>> {
    match args.get(i) {
        Some(Value::Dynamic(Json::Array(a))) => Some(a),
        _ => None,
    }
}

/// The JSON object inside a dynamic argument.
fn bag_arg(args: &[Value], i: usize) -> Option<&Map<String, Json>> {
    match args.get(i) {
        Some(Value::Dynamic(Json::Object(o))) => Some(o),
        _ => None,
    }
}

/// An integer argument (`None` when absent, null or not a number; reals truncate).
pub(super) fn int_arg(args: &[Value], i: usize) -> Option<i64> {
    match args.get(i) {
        Some(
            v @ (Value::Int(_)
            | Value::Long(_)
            | Value::Real(_)
            | Value::Decimal(_)
            | Value::Dynamic(Json::Number(_))),
        ) => v.as_i64(),
        _ => None,
    }
}

/// A boolean argument (`None` when absent or null).
pub(super) fn bool_arg(args: &[Value], i: usize) -> Option<bool> {
    match args.get(i) {
        None | Some(Value::Null) => None,
        Some(v) => v.as_bool(),
    }
}

/// A string argument as text (`None` when absent or null).
pub(super) fn str_arg(args: &[Value], i: usize) -> Option<String> {
    match args.get(i) {
        None | Some(Value::Null) => None,
        Some(v) if v.is_null() => None,
        Some(v) => Some(v.to_kql_string()),
    }
}

pub(super) fn is_null_arg(args: &[Value], i: usize) -> bool {
    args.get(i).is_none_or(|v| v.is_null())
}

fn dynamic(j: Json) -> Value {
    Value::Dynamic(j)
}

/// A number inside a dynamic value as f64 (bools are not numbers here).
pub(super) fn json_f64(j: &Json) -> Option<f64> {
    match j {
        Json::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// A real as a JSON number (NaN and infinities become Kusto's text forms).
pub(super) fn json_real(v: f64) -> Json {
    Value::Real(v).to_json()
}

/// Equality of two dynamic elements: numbers compare by value (1 == 1.0), the rest
/// structurally.
pub(super) fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

/// A hashable key with the same equality as [`json_eq`] (for set functions).
pub(super) fn json_key(j: &Json) -> String {
    match j {
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                format!("n{i}")
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f.abs() < 9.2e18 {
                    format!("n{}", f as i64)
                } else {
                    format!("f{}", f.to_bits())
                }
            }
        }
        Json::String(s) => format!("s{s}"),
        other => format!("j{}", serde_json::to_string(other).unwrap_or_default()),
    }
}

/// Distinct elements in order of first appearance.
fn distinct<'a>(items: impl Iterator<Item = &'a Json>) -> Vec<Json> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for j in items {
        if seen.insert(json_key(j)) {
            out.push(j.clone());
        }
    }
    out
}

// ---- JSONPath (subset) -------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
pub(super) enum PathSeg {
    Key(String),
    Index(i64),
}

/// Parses `$`, `$.a.b`, `$['a']["b"]`, `$.a[0]`, `$.a[-1]`. Wildcards and filters are
/// not supported (None).
pub(super) fn parse_json_path(path: &str) -> Option<Vec<PathSeg>> {
    let p = path.trim();
    let rest = p.strip_prefix('$')?;
    let chars: Vec<char> = rest.chars().collect();
    let mut segs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                if i < chars.len() && chars[i] == '[' {
                    continue;
                }
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if name.is_empty() || name == "*" {
                    return None;
                }
                segs.push(PathSeg::Key(name));
            }
            '[' => {
                i += 1;
                while i < chars.len() && chars[i] == ' ' {
                    i += 1;
                }
                let q = *chars.get(i)?;
                if q == '\'' || q == '"' {
                    i += 1;
                    let mut name = String::new();
                    while i < chars.len() && chars[i] != q {
                        if chars[i] == '\\' && i + 1 < chars.len() {
                            i += 1;
                        }
                        name.push(chars[i]);
                        i += 1;
                    }
                    if i >= chars.len() {
                        return None;
                    }
                    i += 1; // closing quote
                    while i < chars.len() && chars[i] == ' ' {
                        i += 1;
                    }
                    if chars.get(i) != Some(&']') {
                        return None;
                    }
                    i += 1;
                    segs.push(PathSeg::Key(name));
                } else {
                    let start = i;
                    while i < chars.len() && chars[i] != ']' {
                        i += 1;
                    }
                    if i >= chars.len() {
                        return None;
                    }
                    let text: String = chars[start..i].iter().collect();
                    i += 1;
                    let idx: i64 = text.trim().parse().ok()?;
                    segs.push(PathSeg::Index(idx));
                }
            }
            ' ' => i += 1,
            _ => return None,
        }
    }
    Some(segs)
}

fn resolve_index(len: usize, idx: i64) -> Option<usize> {
    let len_i = len as i64;
    let k = if idx < 0 { len_i + idx } else { idx };
    if k >= 0 && k < len_i {
        Some(k as usize)
    } else {
        None
    }
}

/// Follows a parsed path into a JSON value.
pub(super) fn json_path_get<'a>(root: &'a Json, path: &[PathSeg]) -> Option<&'a Json> {
    let mut cur = root;
    for seg in path {
        cur = match (seg, cur) {
            (PathSeg::Key(k), Json::Object(o)) => o.get(k)?,
            (PathSeg::Index(i), Json::Array(a)) => &a[resolve_index(a.len(), *i)?],
            _ => return None,
        };
    }
    Some(cur)
}

/// A bag key argument: `$...` is a JSONPath, anything else a plain top-level key.
fn key_path(key: &str) -> Option<Vec<PathSeg>> {
    if key.trim_start().starts_with('$') {
        parse_json_path(key)
    } else {
        Some(vec![PathSeg::Key(key.to_string())])
    }
}

fn json_path_remove(root: &mut Json, path: &[PathSeg]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = root;
    for seg in parents {
        cur = match (seg, cur) {
            (PathSeg::Key(k), Json::Object(o)) => match o.get_mut(k) {
                Some(c) => c,
                None => return,
            },
            (PathSeg::Index(i), Json::Array(a)) => match resolve_index(a.len(), *i) {
                Some(k) => &mut a[k],
                None => return,
            },
            _ => return,
        };
    }
    match (last, cur) {
        (PathSeg::Key(k), Json::Object(o)) => {
            o.shift_remove(k);
        }
        (PathSeg::Index(i), Json::Array(a)) => {
            if let Some(k) = resolve_index(a.len(), *i) {
                a.remove(k);
            }
        }
        _ => {}
    }
}

/// Sets `path` to `value`, creating intermediate bags. A replaced key moves to the end
/// of its bag (as Kusto does). False when the path runs through a non-bag.
fn json_path_set(root: &mut Json, path: &[PathSeg], value: Json) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut cur = root;
    for seg in parents {
        cur = match (seg, cur) {
            (PathSeg::Key(k), Json::Object(o)) => {
                let child = o
                    .entry(k.clone())
                    .or_insert_with(|| Json::Object(Map::new()));
                if child.is_null() {
                    *child = Json::Object(Map::new());
                }
                child
            }
            (PathSeg::Index(i), Json::Array(a)) => match resolve_index(a.len(), *i) {
                Some(k) => &mut a[k],
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, cur) {
        (PathSeg::Key(k), Json::Object(o)) => {
            o.shift_remove(k);
            o.insert(k.clone(), value);
            true
        }
        (PathSeg::Index(i), Json::Array(a)) => match resolve_index(a.len(), *i) {
            Some(k) => {
                a[k] = value;
                true
            }
            None => false,
        },
        _ => false,
    }
}

// ---- JSON ----------------------------------------------------------------------------------

fn parse_json(a: &[Value], _: &EvalContext) -> Value {
    match &a[0] {
        Value::Null => Value::Dynamic(Json::Null),
        // An empty (or blank) string parses to null, not to an empty string value.
        Value::String(s) if s.trim().is_empty() => Value::Dynamic(Json::Null),
        Value::String(s) => dynamic(parse_json_lenient(s)),
        Value::Dynamic(j) => dynamic(j.clone()),
        other => dynamic(other.to_json()),
    }
}

fn sort_keys(j: &Json) -> Json {
    match j {
        Json::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            let mut m = Map::new();
            for k in keys {
                m.insert(k.clone(), sort_keys(&o[k.as_str()]));
            }
            Json::Object(m)
        }
        Json::Array(a) => Json::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

fn dynamic_to_json(a: &[Value], _: &EvalContext) -> Value {
    let j = a[0].to_json();
    Value::String(serde_json::to_string(&sort_keys(&j)).unwrap_or_default())
}

/// `extract_json(path, text[, type])`. The optional third argument is the target type's
/// name as a string (`"long"`, or `"typeof(long)"`); the engine must give the call that
/// type statically (the registry's return type is `string`).
fn extract_json(a: &[Value], _: &EvalContext) -> Value {
    let target = str_arg(a, 2).and_then(|t| {
        let t = t.trim();
        let t = t
            .strip_prefix("typeof(")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or(t);
        KqlType::parse(t.trim())
    });
    let empty = || match target {
        None | Some(KqlType::String) => Value::String(String::new()),
        Some(KqlType::Dynamic) => Value::Dynamic(Json::Null),
        Some(_) => Value::Null,
    };
    let (Some(path), Some(text)) = (str_arg(a, 0), str_arg(a, 1)) else {
        return empty();
    };
    let Some(segs) = parse_json_path(&path) else {
        return empty();
    };
    let Ok(doc) = serde_json::from_str::<Json>(&text) else {
        return empty();
    };
    let Some(found) = json_path_get(&doc, &segs) else {
        return empty();
    };
    match target {
        Some(KqlType::Dynamic) => Value::Dynamic(found.clone()),
        None | Some(KqlType::String) => Value::String(json_to_kql_text(found)),
        Some(ty) => {
            if found.is_null() {
                return Value::Null;
            }
            Value::Dynamic(found.clone()).convert(ty)
        }
    }
}

fn treepath_walk(j: &Json, prefix: &str, out: &mut Vec<String>, seen: &mut HashSet<String>) {
    match j {
        Json::Object(o) => {
            for (k, v) in o {
                let p = format!("{prefix}['{k}']");
                if seen.insert(p.clone()) {
                    out.push(p.clone());
                }
                treepath_walk(v, &p, out, seen);
            }
        }
        Json::Array(a) => {
            let p = format!("{prefix}[0]");
            if !a.is_empty() && seen.insert(p.clone()) {
                out.push(p.clone());
            }
            for v in a {
                treepath_walk(v, &p, out, seen);
            }
        }
        _ => {}
    }
}

fn treepath(a: &[Value], _: &EvalContext) -> Value {
    match &a[0] {
        Value::Dynamic(j @ (Json::Object(_) | Json::Array(_))) => {
            let mut out = Vec::new();
            treepath_walk(j, "", &mut out, &mut HashSet::new());
            dynamic(Json::Array(out.into_iter().map(Json::String).collect()))
        }
        Value::Dynamic(Json::Null) | Value::Null => Value::Dynamic(Json::Null),
        _ => dynamic(Json::Array(vec![])),
    }
}

// ---- arrays --------------------------------------------------------------------------------

fn array_length(a: &[Value], _: &EvalContext) -> Value {
    match arr_arg(a, 0) {
        Some(v) => Value::Long(v.len() as i64),
        None => Value::Null,
    }
}

fn pack_array(a: &[Value], _: &EvalContext) -> Value {
    dynamic(Json::Array(a.iter().map(Value::to_json).collect()))
}

fn array_concat(a: &[Value], _: &EvalContext) -> Value {
    let mut out = Vec::new();
    for i in 0..a.len() {
        match arr_arg(a, i) {
            Some(v) => out.extend(v.iter().cloned()),
            None => return Value::Dynamic(Json::Null),
        }
    }
    dynamic(Json::Array(out))
}

fn cond_of(j: &Json) -> Option<bool> {
    match j {
        Json::Bool(b) => Some(*b),
        Json::Number(n) => n.as_f64().map(|f| f != 0.0),
        _ => None,
    }
}

fn array_iff(a: &[Value], _: &EvalContext) -> Value {
    let Some(cond) = arr_arg(a, 0) else {
        return Value::Dynamic(Json::Null);
    };
    let pick = |v: &Value, i: usize| -> Json {
        match v {
            Value::Dynamic(Json::Array(arr)) => arr.get(i).cloned().unwrap_or(Json::Null),
            other => other.to_json(),
        }
    };
    let out = cond
        .iter()
        .enumerate()
        .map(|(i, c)| match cond_of(c) {
            Some(true) => pick(&a[1], i),
            Some(false) => pick(&a[2], i),
            None => Json::Null,
        })
        .collect();
    dynamic(Json::Array(out))
}

fn array_index_of(a: &[Value], _: &EvalContext) -> Value {
    let Some(arr) = arr_arg(a, 0) else {
        return Value::Null;
    };
    let needle = a[1].to_json();
    let len = arr.len() as i64;
    let start = if is_null_arg(a, 2) {
        0
    } else {
        match int_arg(a, 2) {
            Some(s) => s,
            None => return Value::Null,
        }
    };
    let length = if is_null_arg(a, 3) {
        -1
    } else {
        match int_arg(a, 3) {
            Some(l) => l,
            None => return Value::Null,
        }
    };
    let occurrence = if is_null_arg(a, 4) {
        1
    } else {
        match int_arg(a, 4) {
            Some(o) => o,
            None => return Value::Null,
        }
    };
    if occurrence < 0 || length < -1 {
        return Value::Null;
    }
    if occurrence == 0 {
        return Value::Long(-1);
    }
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    if start >= len {
        return Value::Long(-1);
    }
    let end = if length == -1 {
        len
    } else {
        start.saturating_add(length).min(len)
    };
    let mut seen = 0;
    for i in start..end {
        if json_eq(&arr[i as usize], &needle) {
            seen += 1;
            if seen == occurrence {
                return Value::Long(i);
            }
        }
    }
    Value::Long(-1)
}

fn array_reverse(a: &[Value], _: &EvalContext) -> Value {
    match arr_arg(a, 0) {
        Some(v) => dynamic(Json::Array(v.iter().rev().cloned().collect())),
        None => Value::Dynamic(Json::Null),
    }
}

fn rotate(a: &[Value], left: bool) -> Value {
    let Some(arr) = arr_arg(a, 0) else {
        return Value::Dynamic(Json::Null);
    };
    let Some(n) = int_arg(a, 1) else {
        return Value::Dynamic(Json::Null);
    };
    let mut v = arr.clone();
    if !v.is_empty() {
        let len = v.len() as i64;
        let n = if left { n } else { n.saturating_neg() };
        let k = n.rem_euclid(len) as usize;
        v.rotate_left(k);
    }
    dynamic(Json::Array(v))
}

fn shift(a: &[Value], left: bool) -> Value {
    let Some(arr) = arr_arg(a, 0) else {
        return Value::Dynamic(Json::Null);
    };
    let Some(n) = int_arg(a, 1) else {
        return Value::Dynamic(Json::Null);
    };
    let fill = a.get(2).map(Value::to_json).unwrap_or(Json::Null);
    let len = arr.len() as i64;
    // Positive = elements move toward lower indexes.
    let n = if left { n } else { n.saturating_neg() };
    let out = (0..len)
        .map(|i| {
            let src = i.checked_add(n);
            match src {
                Some(s) if s >= 0 && s < len => arr[s as usize].clone(),
                _ => fill.clone(),
            }
        })
        .collect();
    dynamic(Json::Array(out))
}

fn array_slice(a: &[Value], _: &EvalContext) -> Value {
    let Some(arr) = arr_arg(a, 0) else {
        return Value::Dynamic(Json::Null);
    };
    let (Some(start), Some(end)) = (int_arg(a, 1), int_arg(a, 2)) else {
        return Value::Dynamic(Json::Null);
    };
    let len = arr.len() as i64;
    let fix = |i: i64| if i < 0 { len.saturating_add(i) } else { i };
    let start = fix(start).max(0);
    let end = fix(end).min(len - 1);
    if start > end || start >= len {
        return dynamic(Json::Array(vec![]));
    }
    dynamic(Json::Array(arr[start as usize..=end as usize].to_vec()))
}

fn array_split(a: &[Value], _: &EvalContext) -> Value {
    let Some(arr) = arr_arg(a, 0) else {
        return Value::Dynamic(Json::Null);
    };
    let len = arr.len() as i64;
    let raw: Vec<i64> = match &a[1] {
        Value::Dynamic(Json::Array(ix)) => {
            let mut v = Vec::with_capacity(ix.len());
            for j in ix {
                match Value::Dynamic(j.clone()).as_i64() {
                    Some(i) => v.push(i),
                    None => return Value::Dynamic(Json::Null),
                }
            }
            v
        }
        other => match other.as_i64() {
            Some(i) if !other.is_null() => vec![i],
            _ => return Value::Dynamic(Json::Null),
        },
    };
    let mut out = Vec::with_capacity(raw.len() + 1);
    let mut prev = 0i64;
    for i in raw {
        let i = if i < 0 { len.saturating_add(i) } else { i }.clamp(0, len);
        let lo = prev.min(len);
        let hi = i.max(lo);
        out.push(Json::Array(arr[lo as usize..hi as usize].to_vec()));
        prev = hi;
    }
    out.push(Json::Array(arr[prev.min(len) as usize..].to_vec()));
    dynamic(Json::Array(out))
}

fn array_sum(a: &[Value], _: &EvalContext) -> Value {
    let Some(arr) = arr_arg(a, 0) else {
        return Value::Null;
    };
    let mut sum = 0.0;
    for j in arr {
        match json_f64(j) {
            Some(f) => sum += f,
            None => return Value::Null,
        }
    }
    Value::Real(sum)
}

/// Rank for sorting mixed arrays: numbers, then strings, then everything else.
fn sort_rank(j: &Json) -> u8 {
    match j {
        Json::Number(_) => 0,
        Json::String(_) => 1,
        _ => 2,
    }
}

fn sort_cmp(x: &Json, y: &Json) -> Ordering {
    let (rx, ry) = (sort_rank(x), sort_rank(y));
    if rx != ry {
        return rx.cmp(&ry);
    }
    match (x, y) {
        (Json::Number(a), Json::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(i), Some(j)) => i.cmp(&j),
            _ => a
                .as_f64()
                .unwrap_or(f64::NAN)
                .total_cmp(&b.as_f64().unwrap_or(f64::NAN)),
        },
        (Json::String(a), Json::String(b)) => a.cmp(b),
        (Json::Bool(a), Json::Bool(b)) => a.cmp(b),
        _ => Ordering::Equal,
    }
}

/// `array_sort_asc/desc(a1[, a2, ...][, nulls_last])`. With one array the result is the
/// sorted array; with several it is an array of the reordered arrays (the engine expands
/// it into columns `<arg>_sorted` at the top of `print`/`extend`, and `[i]` indexes it).
fn array_sort(a: &[Value], desc: bool) -> Value {
    let mut arrays = a;
    let mut nulls_last = true;
    if let Some(last @ (Value::Bool(_) | Value::Dynamic(Json::Bool(_)))) = a.last() {
        if a.len() > 1 {
            nulls_last = last.as_bool().unwrap_or(true);
            arrays = &a[..a.len() - 1];
        }
    }
    let Some(first) = arr_arg(arrays, 0) else {
        return Value::Dynamic(Json::Null);
    };
    let mut order: Vec<usize> = (0..first.len()).collect();
    order.sort_by(|&i, &j| {
        let (x, y) = (&first[i], &first[j]);
        match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if nulls_last {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (false, true) => {
                if nulls_last {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, false) => {
                let o = sort_cmp(x, y);
                if desc {
                    o.reverse()
                } else {
                    o
                }
            }
        }
    });
    let reorder = |v: &Vec<Json>| -> Json {
        if v.len() != first.len() {
            Json::Null
        } else {
            Json::Array(order.iter().map(|&i| v[i].clone()).collect())
        }
    };
    if arrays.len() == 1 {
        return dynamic(reorder(first));
    }
    let out = (0..arrays.len())
        .map(|k| match arr_arg(arrays, k) {
            Some(v) => reorder(v),
            None => Json::Null,
        })
        .collect();
    dynamic(Json::Array(out))
}

fn zip(a: &[Value], _: &EvalContext) -> Value {
    let mut arrays = Vec::with_capacity(a.len());
    for i in 0..a.len() {
        match arr_arg(a, i) {
            Some(v) => arrays.push(v),
            None => return Value::Dynamic(Json::Null),
        }
    }
    let n = arrays.iter().map(|v| v.len()).max().unwrap_or(0);
    let out = (0..n)
        .map(|i| {
            Json::Array(
                arrays
                    .iter()
                    .map(|v| v.get(i).cloned().unwrap_or(Json::Null))
                    .collect(),
            )
        })
        .collect();
    dynamic(Json::Array(out))
}

fn strcat_array(a: &[Value], _: &EvalContext) -> Value {
    let Some(arr) = arr_arg(a, 0) else {
        return Value::String(String::new());
    };
    let delim = a.get(1).map(Value::to_kql_string).unwrap_or_default();
    let parts: Vec<String> = arr.iter().map(json_to_kql_text).collect();
    Value::String(parts.join(&delim))
}

// ---- range / repeat -------------------------------------------------------------------------

fn range(a: &[Value], _: &EvalContext) -> Value {
    let null = Value::Dynamic(Json::Null);
    if a.iter().take(3).any(Value::is_null) {
        return null;
    }
    let mut out = Vec::new();
    match (&a[0], &a[1]) {
        (Value::DateTime(s), Value::DateTime(e)) | (Value::TimeSpan(s), Value::TimeSpan(e)) => {
            let is_dt = matches!(a[0], Value::DateTime(_));
            let step = match a.get(2) {
                None => 3_600_000_000_000,
                Some(Value::TimeSpan(t)) => *t,
                Some(_) => return null,
            };
            if step == 0 {
                return null;
            }
            let mut v = *s;
            while out.len() < MAX_GENERATED && ((step > 0 && v <= *e) || (step < 0 && v >= *e)) {
                out.push(Json::String(if is_dt {
                    format_datetime_full(v)
                } else {
                    format_timespan(v)
                }));
                match v.checked_add(step) {
                    Some(n) => v = n,
                    None => break,
                }
            }
        }
        (s, e) => {
            let step_v = a.get(2).cloned().unwrap_or(Value::Long(1));
            let integral = |v: &Value| matches!(v, Value::Int(_) | Value::Long(_));
            if !(s.kql_type().is_some_and(KqlType::is_numeric)
                && e.kql_type().is_some_and(KqlType::is_numeric)
                && step_v.kql_type().is_some_and(KqlType::is_numeric))
            {
                return null;
            }
            if integral(s) && integral(e) && integral(&step_v) {
                let (Some(mut v), Some(e), Some(step)) = (s.as_i64(), e.as_i64(), step_v.as_i64())
                else {
                    return null;
                };
                if step == 0 {
                    return null;
                }
                while out.len() < MAX_GENERATED && ((step > 0 && v <= e) || (step < 0 && v >= e)) {
                    out.push(Json::from(v));
                    match v.checked_add(step) {
                        Some(n) => v = n,
                        None => break,
                    }
                }
            } else {
                let (Some(mut v), Some(e), Some(step)) = (s.as_f64(), e.as_f64(), step_v.as_f64())
                else {
                    return null;
                };
                if step == 0.0 || !step.is_finite() || !v.is_finite() || e.is_nan() {
                    return null;
                }
                while out.len() < MAX_GENERATED
                    && ((step > 0.0 && v <= e) || (step < 0.0 && v >= e))
                {
                    out.push(json_real(v));
                    v += step;
                }
            }
        }
    }
    dynamic(Json::Array(out))
}

fn repeat(a: &[Value], _: &EvalContext) -> Value {
    let Some(n) = int_arg(a, 1) else {
        return Value::Dynamic(Json::Null);
    };
    if n < 0 {
        return Value::Dynamic(Json::Null);
    }
    let n = (n as u64).min(MAX_GENERATED as u64) as usize;
    let v = a[0].to_json();
    dynamic(Json::Array(vec![v; n]))
}

// ---- sets ----------------------------------------------------------------------------------

fn all_arrays(a: &[Value]) -> Option<Vec<&Vec<Json>>> {
    (0..a.len()).map(|i| arr_arg(a, i)).collect()
}

fn set_union(a: &[Value], _: &EvalContext) -> Value {
    match all_arrays(a) {
        Some(arrs) => dynamic(Json::Array(distinct(arrs.into_iter().flatten()))),
        None => Value::Dynamic(Json::Null),
    }
}

fn set_intersect(a: &[Value], _: &EvalContext) -> Value {
    let Some(arrs) = all_arrays(a) else {
        return Value::Dynamic(Json::Null);
    };
    let others: Vec<HashSet<String>> = arrs[1..]
        .iter()
        .map(|v| v.iter().map(json_key).collect())
        .collect();
    let out = distinct(arrs[0].iter())
        .into_iter()
        .filter(|j| {
            let k = json_key(j);
            others.iter().all(|s| s.contains(&k))
        })
        .collect();
    dynamic(Json::Array(out))
}

fn set_difference(a: &[Value], _: &EvalContext) -> Value {
    let Some(arrs) = all_arrays(a) else {
        return Value::Dynamic(Json::Null);
    };
    let others: HashSet<String> = arrs[1..]
        .iter()
        .flat_map(|v| v.iter().map(json_key))
        .collect();
    let out = distinct(arrs[0].iter())
        .into_iter()
        .filter(|j| !others.contains(&json_key(j)))
        .collect();
    dynamic(Json::Array(out))
}

fn set_has_element(a: &[Value], _: &EvalContext) -> Value {
    let Some(arr) = arr_arg(a, 0) else {
        return Value::Null;
    };
    let needle = a[1].to_json();
    Value::Bool(arr.iter().any(|j| json_eq(j, &needle)))
}

fn jaccard_index(a: &[Value], _: &EvalContext) -> Value {
    let (Some(x), Some(y)) = (arr_arg(a, 0), arr_arg(a, 1)) else {
        return Value::Null;
    };
    let sx: HashSet<String> = x.iter().map(json_key).collect();
    let sy: HashSet<String> = y.iter().map(json_key).collect();
    let inter = sx.intersection(&sy).count();
    let union = sx.union(&sy).count();
    Value::Real(inter as f64 / union as f64)
}

// ---- bags ----------------------------------------------------------------------------------

fn bag_pack(a: &[Value], _: &EvalContext) -> Value {
    if !a.len().is_multiple_of(2) {
        return Value::Dynamic(Json::Null);
    }
    let mut m = Map::new();
    for pair in a.chunks(2) {
        let key = pair[0].to_kql_string();
        m.insert(key, pair[1].to_json());
    }
    dynamic(Json::Object(m))
}

fn bag_pack_type(args: &[KqlType]) -> Result<KqlType, String> {
    if !args.len().is_multiple_of(2) {
        Err("bag_pack() expects an even number of arguments (key/value pairs)".into())
    } else {
        Ok(KqlType::Dynamic)
    }
}

fn bag_keys(a: &[Value], _: &EvalContext) -> Value {
    match bag_arg(a, 0) {
        Some(o) => dynamic(Json::Array(o.keys().cloned().map(Json::String).collect())),
        None => Value::Dynamic(Json::Null),
    }
}

fn bag_has_key(a: &[Value], _: &EvalContext) -> Value {
    if is_null_arg(a, 0) {
        return Value::Null;
    }
    let Some(key) = str_arg(a, 1) else {
        return Value::Null;
    };
    let Value::Dynamic(root @ Json::Object(_)) = &a[0] else {
        return Value::Bool(false);
    };
    match key_path(&key) {
        Some(p) if !p.is_empty() => Value::Bool(json_path_get(root, &p).is_some()),
        _ => Value::Bool(false),
    }
}

fn bag_merge(a: &[Value], _: &EvalContext) -> Value {
    let mut m = Map::new();
    for v in a {
        if let Value::Dynamic(Json::Object(o)) = v {
            for (k, val) in o {
                if !m.contains_key(k) {
                    m.insert(k.clone(), val.clone());
                }
            }
        }
    }
    dynamic(Json::Object(m))
}

fn bag_remove_keys(a: &[Value], _: &EvalContext) -> Value {
    let Value::Dynamic(root @ Json::Object(_)) = &a[0] else {
        return Value::Dynamic(Json::Null);
    };
    let mut out = root.clone();
    let keys: Vec<String> = match &a[1] {
        Value::Dynamic(Json::Array(ks)) => ks
            .iter()
            .filter_map(|k| match k {
                Json::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        v if v.is_null() => vec![],
        v => vec![v.to_kql_string()],
    };
    for k in keys {
        if let Some(p) = key_path(&k) {
            json_path_remove(&mut out, &p);
        }
    }
    dynamic(out)
}

fn bag_set_key(a: &[Value], _: &EvalContext) -> Value {
    let Value::Dynamic(root @ Json::Object(_)) = &a[0] else {
        return Value::Dynamic(Json::Null);
    };
    let Some(key) = str_arg(a, 1) else {
        return Value::Dynamic(root.clone());
    };
    let mut out = root.clone();
    if let Some(p) = key_path(&key) {
        let mut attempt = out.clone();
        if json_path_set(&mut attempt, &p, a[2].to_json()) {
            out = attempt;
        }
    }
    dynamic(out)
}

fn bag_zip(a: &[Value], _: &EvalContext) -> Value {
    let Some(keys) = arr_arg(a, 0) else {
        return Value::Dynamic(Json::Null);
    };
    let values = arr_arg(a, 1);
    let mut m = Map::new();
    for (i, k) in keys.iter().enumerate() {
        if let Json::String(k) = k {
            let v = values
                .and_then(|vs| vs.get(i))
                .cloned()
                .unwrap_or(Json::Null);
            m.insert(k.clone(), v);
        }
    }
    dynamic(Json::Object(m))
}

fn array_sort_asc(a: &[Value], _: &EvalContext) -> Value {
    array_sort(a, false)
}
fn array_sort_desc(a: &[Value], _: &EvalContext) -> Value {
    array_sort(a, true)
}

pub(crate) const FUNCTIONS: &[ScalarFunction] = &[
    sf(
        "parse_json",
        &["todynamic", "toobject", "parsejson"],
        1,
        1,
        returns!(Dynamic),
        parse_json,
        "Interprets a string as JSON and returns the value as dynamic.",
    ),
    sf(
        "dynamic_to_json",
        &[],
        1,
        1,
        returns!(String),
        dynamic_to_json,
        "Canonical JSON text of a dynamic value (bag keys sorted).",
    ),
    sf(
        "extract_json",
        &["extractjson"],
        2,
        3,
        returns!(String),
        extract_json,
        "Gets an element out of JSON text with a JSONPath; optional type name converts it.",
    ),
    sf(
        "treepath",
        &[],
        1,
        1,
        returns!(Dynamic),
        treepath,
        "Enumerates the path expressions of all nodes in a dynamic object.",
    ),
    sf(
        "array_length",
        &[],
        1,
        1,
        returns!(Long),
        array_length,
        "Number of elements in a dynamic array; null for non-arrays.",
    ),
    sf(
        "pack_array",
        &[],
        1,
        usize::MAX,
        returns!(Dynamic),
        pack_array,
        "Packs all arguments into a dynamic array.",
    ),
    sf(
        "array_concat",
        &[],
        1,
        usize::MAX,
        returns!(Dynamic),
        array_concat,
        "Concatenates dynamic arrays.",
    ),
    sf(
        "array_iff",
        &["array_iif"],
        3,
        3,
        returns!(Dynamic),
        array_iff,
        "Element-wise iff over a condition array; scalars broadcast.",
    ),
    sf(
        "array_index_of",
        &[],
        2,
        5,
        returns!(Long),
        array_index_of,
        "Zero-based position of a value in an array (start, length, occurrence optional).",
    ),
    sf(
        "array_reverse",
        &[],
        1,
        1,
        returns!(Dynamic),
        array_reverse,
        "The array in reverse order.",
    ),
    sf(
        "array_rotate_left",
        &[],
        2,
        2,
        returns!(Dynamic),
        |a, _| rotate(a, true),
        "Rotates array elements to the left.",
    ),
    sf(
        "array_rotate_right",
        &[],
        2,
        2,
        returns!(Dynamic),
        |a, _| rotate(a, false),
        "Rotates array elements to the right.",
    ),
    sf(
        "array_shift_left",
        &[],
        2,
        3,
        returns!(Dynamic),
        |a, _| shift(a, true),
        "Shifts array elements left, filling with null or the given value.",
    ),
    sf(
        "array_shift_right",
        &[],
        2,
        3,
        returns!(Dynamic),
        |a, _| shift(a, false),
        "Shifts array elements right, filling with null or the given value.",
    ),
    sf(
        "array_slice",
        &[],
        3,
        3,
        returns!(Dynamic),
        array_slice,
        "Elements from start to end (inclusive; negative indexes count from the end).",
    ),
    sf(
        "array_split",
        &[],
        2,
        2,
        returns!(Dynamic),
        array_split,
        "Splits an array at the given index or indexes.",
    ),
    sf(
        "array_sum",
        &[],
        1,
        1,
        returns!(Real),
        array_sum,
        "Sum of the elements of a numeric array.",
    ),
    sf(
        "array_sort_asc",
        &[],
        1,
        usize::MAX,
        returns!(Dynamic),
        array_sort_asc,
        "Sorts the first array ascending and reorders the others alike. Several arrays give an array of arrays.",
    ),
    sf(
        "array_sort_desc",
        &[],
        1,
        usize::MAX,
        returns!(Dynamic),
        array_sort_desc,
        "Sorts the first array descending and reorders the others alike. Several arrays give an array of arrays.",
    ),
    sf(
        "zip",
        &[],
        2,
        16,
        returns!(Dynamic),
        zip,
        "Zips arrays into an array of tuples (missing elements are null).",
    ),
    sf(
        "strcat_array",
        &[],
        2,
        2,
        returns!(String),
        strcat_array,
        "Joins the elements of an array with a delimiter.",
    ),
    sf(
        "range",
        &[],
        2,
        3,
        returns!(Dynamic),
        range,
        "Array of equally spaced values from start to stop (numbers, datetimes, timespans).",
    ),
    sf(
        "repeat",
        &[],
        2,
        2,
        returns!(Dynamic),
        repeat,
        "Array holding value count times.",
    ),
    sf(
        "set_union",
        &[],
        2,
        usize::MAX,
        returns!(Dynamic),
        set_union,
        "Distinct values found in any of the arrays.",
    ),
    sf(
        "set_intersect",
        &[],
        2,
        usize::MAX,
        returns!(Dynamic),
        set_intersect,
        "Distinct values found in all of the arrays.",
    ),
    sf(
        "set_difference",
        &[],
        2,
        usize::MAX,
        returns!(Dynamic),
        set_difference,
        "Distinct values of the first array found in none of the others.",
    ),
    sf(
        "set_has_element",
        &[],
        2,
        2,
        returns!(Bool),
        set_has_element,
        "True if the array contains the value.",
    ),
    sf(
        "jaccard_index",
        &[],
        2,
        2,
        returns!(Real),
        jaccard_index,
        "Jaccard index of the distinct values of two arrays.",
    ),
    sf(
        "bag_pack",
        &["pack", "pack_dictionary"],
        0,
        usize::MAX,
        bag_pack_type,
        bag_pack,
        "Builds a property bag from key/value pairs.",
    ),
    sf(
        "bag_keys",
        &[],
        1,
        1,
        returns!(Dynamic),
        bag_keys,
        "The keys of a property bag.",
    ),
    sf(
        "bag_has_key",
        &[],
        2,
        2,
        returns!(Bool),
        bag_has_key,
        "True if the bag has the key (or JSONPath).",
    ),
    sf(
        "bag_merge",
        &[],
        2,
        64,
        returns!(Dynamic),
        bag_merge,
        "Merges property bags; the first bag with a key wins.",
    ),
    sf(
        "bag_remove_keys",
        &[],
        2,
        2,
        returns!(Dynamic),
        bag_remove_keys,
        "The bag without the given keys (or JSONPaths).",
    ),
    sf(
        "bag_set_key",
        &[],
        3,
        3,
        returns!(Dynamic),
        bag_set_key,
        "The bag with the key (or JSONPath) set to the value.",
    ),
    sf(
        "bag_zip",
        &[],
        2,
        2,
        returns!(Dynamic),
        bag_zip,
        "A property bag from an array of keys and an array of values.",
    ),
];

#[cfg(test)]
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
    fn s(x: &str) -> Value {
        Value::string(x)
    }

    #[test]
    fn array_basics() {
        assert_eq!(
            call("array_length", &[d(json!([1, 2, 3, "four"]))]),
            Value::Long(4)
        );
        assert_eq!(call("array_length", &[d(json!({}))]), Value::Null);
        assert_eq!(
            call("array_concat", &[d(json!([1, 2, 4])), d(json!([1, 2]))]),
            d(json!([1, 2, 4, 1, 2]))
        );
        assert_eq!(
            call(
                "array_reverse",
                &[d(json!(["this", "is", "an", "example"]))]
            ),
            d(json!(["example", "an", "is", "this"]))
        );
        assert_eq!(
            call("array_sum", &[d(json!([1, 2, 3, 4]))]),
            Value::Real(10.0)
        );
        let f = crate::functions::lookup("array_sum").unwrap();
        assert_eq!((f.return_type)(&[KqlType::Dynamic]), Ok(KqlType::Real));
    }

    #[test]
    fn array_iff_cases() {
        assert_eq!(
            call(
                "array_iff",
                &[
                    d(json!([true, false, true])),
                    d(json!([1, 2, 3])),
                    d(json!([4, 5, 6]))
                ]
            ),
            d(json!([1, 5, 3]))
        );
        assert_eq!(
            call("array_iif", &[d(json!([1, 0, 50])), s("yes"), s("no")]),
            d(json!(["yes", "no", "yes"]))
        );
        assert_eq!(
            call(
                "array_iff",
                &[
                    d(json!([
                        "some string value",
                        "2022-01-01T00:00:00.0000000Z",
                        null
                    ])),
                    Value::Long(1),
                    Value::Long(0)
                ]
            ),
            d(json!([null, null, null]))
        );
        assert_eq!(
            call(
                "array_iff",
                &[
                    d(json!([true, true, true])),
                    d(json!([1, 2])),
                    d(json!([3, 4]))
                ]
            ),
            d(json!([1, 2, null]))
        );
    }

    #[test]
    fn array_index_of_cases() {
        let arr = d(json!(["this", "is", "an", "example", "an", "example"]));
        let l = Value::Long;
        let cases: Vec<(Vec<Value>, i64)> = vec![
            (vec![s("an")], 2),
            (vec![s("example"), l(1), l(3)], 3),
            (vec![s("example"), l(1), l(2)], -1),
            (vec![s("is"), l(2), l(4)], -1),
            (vec![s("example"), l(2), l(-1)], 3),
            (vec![s("an"), l(1), l(-1), l(2)], 4),
            (vec![s("an"), l(1), l(-1), l(3)], -1),
            (vec![s("an"), l(-3)], 4),
            (vec![s("is"), l(-4)], -1),
        ];
        for (rest, want) in cases {
            let mut args = vec![arr.clone()];
            args.extend(rest.clone());
            assert_eq!(call("array_index_of", &args), Value::Long(want), "{rest:?}");
        }
        assert_eq!(
            call("array_index_of", &[arr.clone(), s("an"), l(0), l(-2)]),
            Value::Null
        );
    }

    #[test]
    fn rotate_shift_slice_split() {
        let a = d(json!([1, 2, 3, 4, 5]));
        let l = Value::Long;
        assert_eq!(
            call("array_rotate_left", &[a.clone(), l(2)]),
            d(json!([3, 4, 5, 1, 2]))
        );
        assert_eq!(
            call("array_rotate_left", &[a.clone(), l(-2)]),
            d(json!([4, 5, 1, 2, 3]))
        );
        assert_eq!(
            call("array_rotate_right", &[a.clone(), l(2)]),
            d(json!([4, 5, 1, 2, 3]))
        );
        assert_eq!(
            call("array_rotate_right", &[a.clone(), l(-2)]),
            d(json!([3, 4, 5, 1, 2]))
        );
        assert_eq!(
            call("array_rotate_right", &[a.clone(), l(i64::MIN)]),
            call("array_rotate_right", &[a.clone(), l(i64::MIN)])
        );
        assert_eq!(
            call("array_shift_left", &[a.clone(), l(2)]),
            d(json!([3, 4, 5, null, null]))
        );
        assert_eq!(
            call("array_shift_left", &[a.clone(), l(2), l(-1)]),
            d(json!([3, 4, 5, -1, -1]))
        );
        assert_eq!(
            call("array_shift_left", &[a.clone(), l(-2), l(-1)]),
            d(json!([-1, -1, 1, 2, 3]))
        );
        assert_eq!(
            call("array_shift_right", &[a.clone(), l(2)]),
            d(json!([null, null, 1, 2, 3]))
        );
        assert_eq!(
            call("array_shift_right", &[a.clone(), l(2), l(-1)]),
            d(json!([-1, -1, 1, 2, 3]))
        );
        assert_eq!(
            call("array_shift_right", &[a.clone(), l(-2), l(-1)]),
            d(json!([3, 4, 5, -1, -1]))
        );
        assert_eq!(
            call("array_shift_right", &[a.clone(), l(i64::MIN)]),
            d(json!([null, null, null, null, null]))
        );
        assert_eq!(
            call("array_slice", &[d(json!([1, 2, 3])), l(1), l(2)]),
            d(json!([2, 3]))
        );
        assert_eq!(
            call("array_slice", &[a.clone(), l(2), l(-1)]),
            d(json!([3, 4, 5]))
        );
        assert_eq!(
            call("array_slice", &[a.clone(), l(-3), l(-2)]),
            d(json!([3, 4]))
        );
        assert_eq!(
            call("array_slice", &[a.clone(), l(10), l(20)]),
            d(json!([]))
        );
        assert_eq!(
            call("array_slice", &[a.clone(), l(i64::MIN), l(i64::MAX)]),
            a
        );
        assert_eq!(
            call("array_split", &[a.clone(), l(2)]),
            d(json!([[1, 2], [3, 4, 5]]))
        );
        assert_eq!(
            call("array_split", &[a.clone(), d(json!([1, 3]))]),
            d(json!([[1], [2, 3], [4, 5]]))
        );
        assert_eq!(
            call("array_split", &[a.clone(), d(json!([4, 1, 99, -100]))]),
            d(json!([[1, 2, 3, 4], [], [5], [], []]))
        );
    }

    #[test]
    fn sorting() {
        let r = call(
            "array_sort_asc",
            &[
                d(json!([1, 3, 4, 5, 2])),
                d(json!(["a", "b", "c", "d", "e"])),
            ],
        );
        assert_eq!(r, d(json!([[1, 2, 3, 4, 5], ["a", "e", "b", "c", "d"]])));
        let r = call(
            "array_sort_desc",
            &[
                d(json!([1, 3, 4, 5, 2])),
                d(json!(["a", "b", "c", "d", "e"])),
            ],
        );
        assert_eq!(r, d(json!([[5, 4, 3, 2, 1], ["d", "c", "b", "e", "a"]])));
        let colors = d(json!([null, "blue", "yellow", "green", null]));
        assert_eq!(
            call("array_sort_asc", std::slice::from_ref(&colors)),
            d(json!(["blue", "green", "yellow", null, null]))
        );
        assert_eq!(
            call("array_sort_asc", &[colors.clone(), Value::Bool(false)]),
            d(json!([null, null, "blue", "green", "yellow"]))
        );
        assert_eq!(
            call("array_sort_desc", std::slice::from_ref(&colors)),
            d(json!(["yellow", "green", "blue", null, null]))
        );
        assert_eq!(
            call("array_sort_desc", &[colors, Value::Bool(false)]),
            d(json!([null, null, "yellow", "green", "blue"]))
        );
        // Mismatched lengths give null for that array.
        assert_eq!(
            call("array_sort_asc", &[d(json!([2, 1])), d(json!([1]))]),
            d(json!([[1, 2], null]))
        );
        let ts = d(json!([
            "2019-07-15T00:00:00.0000000Z",
            "2019-07-02T00:00:00.0000000Z",
            "2019-07-22T00:00:00.0000000Z"
        ]));
        let r = call("array_sort_asc", &[ts, d(json!(["chmod", "ls", "dir"]))]);
        assert_eq!(
            r,
            d(json!([
                [
                    "2019-07-02T00:00:00.0000000Z",
                    "2019-07-15T00:00:00.0000000Z",
                    "2019-07-22T00:00:00.0000000Z"
                ],
                ["ls", "chmod", "dir"]
            ]))
        );
        assert_eq!(
            call("array_sort_asc", &[d(json!([3, 1.5, "a", 2]))]),
            d(json!([1.5, 2, 3, "a"]))
        );
    }

    #[test]
    fn strcat_array_and_split_compose() {
        assert_eq!(
            call("strcat_array", &[d(json!([1, 2, 3])), s("->")]),
            s("1->2->3")
        );
        assert_eq!(
            call("strcat_array", &[d(json!([1, 2, 3])), s("\"")]),
            s("1\"2\"3")
        );
        let sorted = call(
            "array_sort_asc",
            &[d(json!(["John", "Paul", "Jane", "Kao"]))],
        );
        assert_eq!(
            call("strcat_array", &[sorted, s(",")]),
            s("Jane,John,Kao,Paul")
        );
    }

    #[test]
    fn zip_and_pack_array() {
        assert_eq!(
            call("zip", &[d(json!([1, 3, 5])), d(json!([2, 4, 6]))]),
            d(json!([[1, 2], [3, 4], [5, 6]]))
        );
        assert_eq!(
            call("zip", &[d(json!(["A", 1, 1.5])), d(json!([{}, "B"]))]),
            d(json!([["A", {}], [1, "B"], [1.5, null]]))
        );
        assert_eq!(
            call(
                "pack_array",
                &[
                    Value::Long(1),
                    s("2"),
                    Value::TimeSpan(2_000_000_000),
                    Value::Null
                ]
            ),
            d(json!([1, "2", "00:00:02", null]))
        );
    }

    #[test]
    fn sets() {
        let a1 = d(json!([1, 2, 1, 4]));
        let a2 = d(json!([1, 2]));
        assert_eq!(
            call(
                "set_difference",
                &[a1.clone(), a2.clone(), d(json!([1, 2, 8]))]
            ),
            d(json!([4]))
        );
        assert_eq!(
            call(
                "set_difference",
                &[d(json!([1, 2, 3])), d(json!([1, 2, 3]))]
            ),
            d(json!([]))
        );
        assert_eq!(
            call("set_intersect", &[a1.clone(), a2.clone(), d(json!([8, 1]))]),
            d(json!([1]))
        );
        assert_eq!(
            call("set_intersect", &[d(json!([1, 2, 3])), d(json!([4, 5]))]),
            d(json!([]))
        );
        assert_eq!(
            call("set_union", &[a1.clone(), a2, d(json!([8]))]),
            d(json!([1, 2, 4, 8]))
        );
        let arr = d(json!(["A4", "A2", "A7", "A2"]));
        assert_eq!(
            call("set_union", &[arr.clone(), arr]),
            d(json!(["A4", "A2", "A7"]))
        );
        assert_eq!(
            call(
                "set_has_element",
                &[d(json!(["this", "is", "an", "example"])), s("example")]
            ),
            Value::Bool(true)
        );
        assert_eq!(
            call(
                "jaccard_index",
                &[d(json!([1, 2, 3])), d(json!([1, 2, 3, 4]))]
            ),
            Value::Real(0.75)
        );
    }

    #[test]
    fn bags() {
        let packed = call(
            "bag_pack",
            &[
                s("Level"),
                s("Information"),
                s("ProcessID"),
                Value::Long(1234),
                s("Data"),
                call("pack", &[s("url"), s("www.bing.com")]),
            ],
        );
        assert_eq!(
            serde_json::to_string(&packed.to_json()).unwrap(),
            r#"{"Level":"Information","ProcessID":1234,"Data":{"url":"www.bing.com"}}"#
        );
        let f = crate::functions::lookup("bag_pack").unwrap();
        assert!((f.return_type)(&[KqlType::String]).is_err());

        assert_eq!(
            call("bag_keys", &[d(json!({"a": "b", "c": {"d": 123}}))]),
            d(json!(["a", "c"]))
        );
        assert_eq!(call("bag_keys", &[d(json!({}))]), d(json!([])));
        assert_eq!(call("bag_keys", &[d(json!("a"))]), d(Json::Null));
        assert_eq!(call("bag_keys", &[d(json!([]))]), d(Json::Null));

        let merged = call(
            "bag_merge",
            &[
                d(json!({"A1": 12, "B1": 2, "C1": 3})),
                d(json!({"A2": 81, "B2": 82, "A1": 1})),
            ],
        );
        assert_eq!(
            serde_json::to_string(&merged.to_json()).unwrap(),
            r#"{"A1":12,"B1":2,"C1":3,"A2":81,"B2":82}"#
        );

        let nested =
            d(json!({"key1": 123, "key2": {"prop1": "abc", "prop2": "xyz"}, "key3": [100, 200]}));
        assert_eq!(
            call("bag_has_key", &[nested.clone(), s("$.key2.prop1")]),
            Value::Bool(true)
        );
        assert_eq!(
            call(
                "bag_has_key",
                &[d(json!({"key1": 123, "key3": "abc"})), s("key2")]
            ),
            Value::Bool(false)
        );
        assert_eq!(
            call(
                "bag_remove_keys",
                &[nested, d(json!(["$.key2.prop1", "key3"]))]
            ),
            d(json!({"key1": 123, "key2": {"prop2": "xyz"}}))
        );
        assert_eq!(
            call(
                "bag_remove_keys",
                &[
                    d(json!({"key1": 123, "key2": "abc"})),
                    d(json!(["key2", "key4"]))
                ]
            ),
            d(json!({"key1": 123}))
        );

        let set = call(
            "bag_set_key",
            &[
                d(json!({"key1": 123, "key2": {"prop1": 123, "prop2": "xyz"}})),
                s("$.key2.prop1"),
                s("abc"),
            ],
        );
        assert_eq!(
            serde_json::to_string(&set.to_json()).unwrap(),
            r#"{"key1":123,"key2":{"prop2":"xyz","prop1":"abc"}}"#
        );
        assert_eq!(
            call(
                "bag_set_key",
                &[d(json!({"key1": 123})), s("$.key2.prop1"), s("abc")]
            ),
            d(json!({"key1": 123, "key2": {"prop1": "abc"}}))
        );
        assert_eq!(
            call(
                "bag_set_key",
                &[
                    d(json!({"key1": 1, "key3": "abc"})),
                    s("key3"),
                    Value::Long(3)
                ]
            ),
            d(json!({"key1": 1, "key3": 3}))
        );
    }

    #[test]
    fn bag_zip_cases() {
        let z = |k: Json, v: Json| call("bag_zip", &[d(k), d(v)]);
        assert_eq!(
            z(json!(["a", "b", "c"]), json!([1, "2", 3.4])),
            d(json!({"a": 1, "b": "2", "c": 3.4}))
        );
        assert_eq!(
            z(json!(["a", "b", "c"]), json!([1, "2"])),
            d(json!({"a": 1, "b": "2", "c": null}))
        );
        assert_eq!(
            z(json!(["a", "b"]), json!([1, "2", 2.5])),
            d(json!({"a": 1, "b": "2"}))
        );
        assert_eq!(
            z(json!(["a", 8, "b"]), json!([1, "2", 2.5])),
            d(json!({"a": 1, "b": 2.5}))
        );
        assert_eq!(
            z(json!(["a", 8, "b"]), json!(1)),
            d(json!({"a": null, "b": null}))
        );
        assert!(z(json!("a"), json!([1, "2", 2.5])).is_null());
    }

    #[test]
    fn json_functions() {
        let v = call(
            "parse_json",
            &[s(r#"{"duration":{"value":118.0,"count":5.0}}"#)],
        );
        assert_eq!(
            serde_json::to_string(&v.to_json()).unwrap(),
            r#"{"duration":{"value":118.0,"count":5.0}}"#
        );
        let inner = call("parse_json", &[s(r#"{"a":123, "b":"{\"c\":456}"}"#)]);
        let b = match inner {
            Value::Dynamic(Json::Object(o)) => o["b"].clone(),
            _ => panic!(),
        };
        assert_eq!(
            call("todynamic", &[Value::Dynamic(b).convert(KqlType::String)]),
            d(json!({"c": 456}))
        );
        assert_eq!(call("parse_json", &[s("not json")]), d(json!("not json")));
        assert!(call("parse_json", &[s("")]).is_null());

        let bag = d(json!({
            "Y10": {}, "X8": {"c3": 1, "d8": 5, "a4": 6}, "D1": 114, "A1": 12,
            "B1": 2, "C1": 3, "A14": [15, 13, 18]
        }));
        assert_eq!(
            call("dynamic_to_json", &[bag]),
            s(
                r#"{"A1":12,"A14":[15,13,18],"B1":2,"C1":3,"D1":114,"X8":{"a4":6,"c3":1,"d8":5},"Y10":{}}"#
            )
        );

        let doc = s(r#"{"name": "John", "age": 30, "city": "New York", "a": [{"b": 1}]}"#);
        assert_eq!(call("extract_json", &[s("$.name"), doc.clone()]), s("John"));
        assert_eq!(
            call("extract_json", &[s("$.name"), doc.clone(), s("string")]),
            s("John")
        );
        assert_eq!(
            call("extractjson", &[s("$.age"), doc.clone(), s("long")]),
            Value::Long(30)
        );
        assert_eq!(call("extract_json", &[s("$.a[0].b"), doc.clone()]), s("1"));
        assert_eq!(
            call("extract_json", &[s("$['a'][0]"), doc.clone()]),
            s(r#"{"b":1}"#)
        );
        assert_eq!(call("extract_json", &[s("$.nope"), doc.clone()]), s(""));
        assert_eq!(
            call("extract_json", &[s("$.nope"), doc, s("typeof(long)")]),
            Value::Null
        );
        assert_eq!(call("extract_json", &[s("$.x"), s("{oops")]), s(""));
    }

    #[test]
    fn treepath_cases() {
        assert_eq!(
            call("treepath", &[d(json!({"a": "b", "c": 123}))]),
            d(json!(["['a']", "['c']"]))
        );
        assert_eq!(
            call(
                "treepath",
                &[d(json!({"prop1": [1, 2, 3, 4], "prop2": "value2"}))]
            ),
            d(json!(["['prop1']", "['prop1'][0]", "['prop2']"]))
        );
        assert_eq!(
            call(
                "treepath",
                &[d(
                    json!({"listProperty": [100, 200, 300, "abcde", {"x": "y"}]})
                )]
            ),
            d(json!([
                "['listProperty']",
                "['listProperty'][0]",
                "['listProperty'][0]['x']"
            ]))
        );
    }

    #[test]
    fn range_and_repeat() {
        let l = Value::Long;
        assert_eq!(call("range", &[l(1), l(8), l(3)]), d(json!([1, 4, 7])));
        assert_eq!(call("range", &[l(1), l(3)]), d(json!([1, 2, 3])));
        assert_eq!(call("range", &[l(5), l(1), l(-2)]), d(json!([5, 3, 1])));
        assert_eq!(call("range", &[l(5), l(1)]), d(json!([])));
        assert!(call("range", &[l(1), l(5), l(0)]).is_null());
        assert_eq!(
            call("range", &[Value::Real(1.0), l(3), l(1)]),
            d(json!([1.0, 2.0, 3.0]))
        );
        let h = 3_600_000_000_000i64;
        assert_eq!(
            call("range", &[Value::TimeSpan(h), Value::TimeSpan(5 * h)]),
            d(json!([
                "01:00:00", "02:00:00", "03:00:00", "04:00:00", "05:00:00"
            ]))
        );
        let start = crate::format::parse_datetime("2007-01-01").unwrap();
        let end = crate::format::parse_datetime("2007-12-31").unwrap();
        let r = call(
            "range",
            &[
                Value::DateTime(start),
                Value::DateTime(end),
                Value::TimeSpan(24 * h),
            ],
        );
        let Value::Dynamic(Json::Array(days)) = r else {
            panic!()
        };
        assert_eq!(days.len(), 365);
        assert_eq!(days[1], json!("2007-01-02T00:00:00.0000000Z"));
        let Value::Dynamic(Json::Array(big)) = call("range", &[l(1), l(1_000_000_000)]) else {
            panic!()
        };
        assert_eq!(big.len(), 1_048_576);
        let Value::Dynamic(Json::Array(edge)) = call("range", &[l(i64::MAX - 1), l(i64::MAX)])
        else {
            panic!()
        };
        assert_eq!(edge.len(), 2);

        assert_eq!(call("repeat", &[l(1), l(3)]), d(json!([1, 1, 1])));
        assert_eq!(call("repeat", &[s("a"), l(0)]), d(json!([])));
        assert!(call("repeat", &[s("a"), l(-1)]).is_null());
    }

    /// No other module registers one of this crate's dynamic/network/series/encoding
    /// names (the registry would silently keep only one).
    #[test]
    fn names_are_not_registered_twice() {
        let mut seen = std::collections::HashMap::new();
        for f in crate::functions::modules() {
            for n in std::iter::once(f.name).chain(f.aliases.iter().copied()) {
                if let Some(prev) = seen.insert(n, f.name) {
                    panic!("{n} registered by both {prev} and {}", f.name);
                }
            }
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        let odd = [
            Value::Null,
            Value::Bool(true),
            Value::Long(i64::MIN),
            Value::Real(f64::NAN),
            Value::string(""),
            Value::DateTime(i64::MAX),
            Value::TimeSpan(i64::MIN),
            d(json!(null)),
            d(json!([])),
            d(json!({})),
            d(json!([null, {"a": [1]}, "x", 1.5])),
        ];
        for f in FUNCTIONS {
            let n = f.min_args.clamp(1, 4);
            for a in &odd {
                for b in &odd {
                    let mut args = vec![a.clone(); n];
                    if n > 1 {
                        args[1] = b.clone();
                    }
                    if f.name == "bag_pack" && !n.is_multiple_of(2) {
                        args.push(Value::Null);
                    }
                    let _ = (f.eval)(&args, &EvalContext::default());
                }
            }
        }
    }
}
