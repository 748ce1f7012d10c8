//! Sketch functions over the values `hll()` and `tdigest()` produce. clickhunt's
//! sketches are exact: an `hll` is the JSON array of the distinct values seen, a
//! `tdigest` the JSON array of `[value, weight]` pairs; so `dcount_hll` and
//! `percentile_tdigest` give exact answers (Kusto's are estimates within their error).

use super::dynamic::{arr_arg, json_f64, json_key, sf};
use super::{returns, ScalarFunction};
use crate::value::{KqlType, Value};
use serde_json::Value as Json;

/// The smallest value whose cumulative weight reaches `p` percent of the total.
pub fn weighted_nearest_rank(mut pairs: Vec<(Json, f64)>, p: f64) -> Json {
    pairs.retain(|(v, w)| !v.is_null() && *w > 0.0);
    if pairs.is_empty() {
        return Json::Null;
    }
    pairs.sort_by(|a, b| match (json_f64(&a.0), json_f64(&b.0)) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => json_key(&a.0).cmp(&json_key(&b.0)),
    });
    let total: f64 = pairs.iter().map(|(_, w)| w).sum();
    let target = (p / 100.0) * total;
    let mut cum = 0.0;
    for (v, w) in &pairs {
        cum += w;
        if cum >= target - 1e-9 {
            return v.clone();
        }
    }
    pairs.last().map(|(v, _)| v.clone()).unwrap_or(Json::Null)
}

/// The `[value, weight]` pairs of a tdigest value.
fn digest_pairs(j: &Json) -> Vec<(Json, f64)> {
    match j {
        Json::Array(a) => a
            .iter()
            .filter_map(|p| match p {
                Json::Array(vw) if vw.len() == 2 => {
                    Some((vw[0].clone(), json_f64(&vw[1]).unwrap_or(1.0)))
                }
                _ => None,
            })
            .collect(),
        _ => vec![],
    }
}

fn merge_arrays(args: &[Value], distinct: bool) -> Value {
    let mut out: Vec<Json> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for i in 0..args.len() {
        if let Some(a) = arr_arg(args, i) {
            for x in a {
                if !distinct || seen.insert(json_key(x)) {
                    out.push(x.clone());
                }
            }
        }
    }
    Value::Dynamic(Json::Array(out))
}

pub(crate) const FUNCTIONS: &[ScalarFunction] = &[
    sf(
        "hll_merge",
        &[],
        1,
        64,
        returns!(Dynamic),
        |a, _| merge_arrays(a, true),
        "Merges hll sketches into one.",
    ),
    sf(
        "dcount_hll",
        &[],
        1,
        1,
        returns!(Long),
        |a, _| match arr_arg(a, 0) {
            Some(v) => Value::Long(v.len() as i64),
            None => Value::Null,
        },
        "The distinct count an hll sketch holds.",
    ),
    sf(
        "merge_tdigest",
        &["tdigest_merge"],
        1,
        64,
        returns!(Dynamic),
        |a, _| merge_arrays(a, false),
        "Merges tdigest sketches into one.",
    ),
    sf(
        "percentile_tdigest",
        &[],
        2,
        3,
        returns!(Dynamic),
        |a, _| {
            let (Some(d), Some(p)) = (a.first(), a.get(1).and_then(|p| p.as_f64())) else {
                return Value::Null;
            };
            let Value::Dynamic(j) = d else {
                return Value::Null;
            };
            let v = weighted_nearest_rank(digest_pairs(j), p);
            // A third argument names the result type (typeof(long)); the planner types
            // the column, the value converts here.
            match a.get(2).and_then(|t| KqlType::parse(&t.to_kql_string())) {
                Some(t) => Value::Dynamic(v).convert(t),
                None => Value::Dynamic(v),
            }
        },
        "The value at percentile p of a tdigest sketch.",
    ),
    sf(
        "rank_tdigest",
        &[],
        2,
        2,
        returns!(Real),
        |a, _| {
            let (Some(Value::Dynamic(j)), Some(x)) = (a.first(), a.get(1).and_then(|x| x.as_f64()))
            else {
                return Value::Null;
            };
            let rank: f64 = digest_pairs(j)
                .iter()
                .filter(|(v, _)| json_f64(v).is_some_and(|f| f <= x))
                .map(|(_, w)| w)
                .sum();
            Value::Real(rank)
        },
        "The weighted count of values at or below x in a tdigest sketch.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn weighted_percentiles_match_the_docs() {
        let pairs = vec![
            (json!(10), 8.0),
            (json!(20), 6.0),
            (json!(30), 3.0),
            (json!(40), 1.0),
        ];
        assert_eq!(weighted_nearest_rank(pairs.clone(), 50.0), json!(20));
        assert_eq!(weighted_nearest_rank(pairs.clone(), 75.0), json!(20));
        assert_eq!(weighted_nearest_rank(pairs, 99.9), json!(40));
    }
}
