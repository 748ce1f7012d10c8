//! Post-processing of `array_agg` results into KQL values: `make_list`/`make_set` as
//! dynamic arrays, `make_bag` as a merged bag, `percentile(s)` by nearest rank.

use crate::types::{array_to_values, arrow_type, value_to_scalar, values_to_array};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use kql_value::{compare_for_sort, KqlType, Value};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ListFinish {
    /// A dynamic array of the elements (nulls dropped unless `keep_nulls`), at most `limit`.
    List {
        keep_nulls: bool,
        limit: Option<u64>,
        distinct: bool,
    },
    /// Property bags merged into one (first value of a key wins).
    Bag { limit: Option<u64> },
    /// Nearest-rank percentile(s) in percent (as bits of f64 for Eq/Hash).
    Percentile { percent_bits: u64 },
    /// Several percentiles as a dynamic array.
    Percentiles { percent_bits: Vec<u64> },
    /// Arrays concatenated (merging tdigest sketches).
    Concat,
    /// Weighted nearest-rank percentile(s) over `[value, weight]` pairs.
    WeightedPercentiles {
        percent_bits: Vec<u64>,
        as_array: bool,
    },
    /// `make-series`: items are `[bin, value]` pairs; the result is a dense array of
    /// `count` values with `default` (JSON text) where a bin has no value.
    Series { count: usize, default: String },
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ListFunction {
    finish: ListFinish,
    elem: KqlType,
    ret: KqlType,
    signature: Signature,
}

impl ListFunction {
    pub fn call(finish: ListFinish, elem: KqlType, ret: KqlType, arg: Expr) -> Expr {
        ScalarUDF::new_from_impl(ListFunction {
            finish,
            elem,
            ret,
            signature: Signature::any(1, Volatility::Immutable),
        })
        .call(vec![arg])
    }

    fn finish(&self, items: Vec<Value>) -> Value {
        match &self.finish {
            ListFinish::List {
                keep_nulls,
                limit,
                distinct,
            } => {
                let mut out: Vec<serde_json::Value> = Vec::new();
                // make_set of arrays is the set of their elements.
                let items: Vec<Value> = if *distinct {
                    items
                        .into_iter()
                        .flat_map(|v| match v {
                            Value::Dynamic(serde_json::Value::Array(a)) => {
                                a.into_iter().map(Value::Dynamic).collect()
                            }
                            other => vec![other],
                        })
                        .collect()
                } else {
                    items
                };
                for v in items {
                    if v.is_null() && !keep_nulls {
                        continue;
                    }
                    let j = v.to_json();
                    if *distinct && out.contains(&j) {
                        continue;
                    }
                    out.push(j);
                    if limit.is_some_and(|l| out.len() as u64 >= l) {
                        break;
                    }
                }
                Value::Dynamic(serde_json::Value::Array(out))
            }
            ListFinish::Bag { limit } => {
                let mut bag = serde_json::Map::new();
                for v in items {
                    if let Value::Dynamic(serde_json::Value::Object(m)) = v {
                        for (k, x) in m {
                            if limit.is_some_and(|l| bag.len() as u64 >= l) {
                                break;
                            }
                            bag.entry(k).or_insert(x);
                        }
                    }
                }
                Value::Dynamic(serde_json::Value::Object(bag))
            }
            ListFinish::Percentile { percent_bits } => {
                nearest_rank(items, f64::from_bits(*percent_bits))
            }
            ListFinish::Concat => {
                let mut out = Vec::new();
                for v in items {
                    if let Value::Dynamic(serde_json::Value::Array(a)) = v {
                        out.extend(a);
                    }
                }
                Value::Dynamic(serde_json::Value::Array(out))
            }
            ListFinish::WeightedPercentiles {
                percent_bits,
                as_array,
            } => {
                let pairs: Vec<(serde_json::Value, f64)> = items
                    .into_iter()
                    .filter_map(|v| match v {
                        Value::Dynamic(serde_json::Value::Array(p)) if p.len() == 2 => {
                            Some((p[0].clone(), p[1].as_f64().unwrap_or(0.0)))
                        }
                        _ => None,
                    })
                    .collect();
                let vals: Vec<serde_json::Value> = percent_bits
                    .iter()
                    .map(|p| {
                        kql_value::functions::sketches::weighted_nearest_rank(
                            pairs.clone(),
                            f64::from_bits(*p),
                        )
                    })
                    .collect();
                if *as_array {
                    Value::Dynamic(serde_json::Value::Array(vals))
                } else {
                    vals.into_iter()
                        .next()
                        .map(Value::Dynamic)
                        .unwrap_or(Value::Null)
                }
            }
            ListFinish::Series { count, default } => {
                let default: serde_json::Value =
                    serde_json::from_str(default).unwrap_or(serde_json::Value::Null);
                let mut out = vec![default; *count];
                for v in items {
                    if let Value::Dynamic(serde_json::Value::Array(pair)) = v {
                        if let (Some(i), Some(x)) =
                            (pair.first().and_then(|i| i.as_i64()), pair.get(1))
                        {
                            if i >= 0 && (i as usize) < *count && !x.is_null() {
                                out[i as usize] = x.clone();
                            }
                        }
                    }
                }
                Value::Dynamic(serde_json::Value::Array(out))
            }
            ListFinish::Percentiles { percent_bits } => {
                let vals: Vec<serde_json::Value> = percent_bits
                    .iter()
                    .map(|p| nearest_rank(items.clone(), f64::from_bits(*p)).to_json())
                    .collect();
                Value::Dynamic(serde_json::Value::Array(vals))
            }
        }
    }
}

/// The nearest-rank percentile: the smallest value with at least p% of values ≤ it.
pub fn nearest_rank(mut items: Vec<Value>, p: f64) -> Value {
    items.retain(|v| !v.is_null());
    if items.is_empty() {
        return Value::Null;
    }
    items.sort_by(compare_for_sort);
    let n = items.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    let idx = rank.clamp(1, n) - 1;
    items.swap_remove(idx)
}

impl ScalarUDFImpl for ListFunction {
    fn name(&self) -> &str {
        "kql_list_finish"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(arrow_type(self.ret))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = matches!(args.args[0], ColumnarValue::Scalar(_));
        let arr = args.args[0].to_array(if scalar { 1 } else { args.number_rows })?;
        let mut out = Vec::with_capacity(arr.len());
        match arr.data_type() {
            DataType::List(_) => {
                let list = arr.as_list::<i32>();
                for i in 0..list.len() {
                    let items = if list.is_null(i) {
                        vec![]
                    } else {
                        array_to_values(&list.value(i), self.elem)?
                    };
                    out.push(self.finish(items));
                }
            }
            _ => {
                for _ in 0..arr.len() {
                    out.push(self.finish(vec![]));
                }
            }
        }
        if scalar {
            Ok(ColumnarValue::Scalar(value_to_scalar(
                out.first().unwrap_or(&Value::Null),
                self.ret,
            )))
        } else {
            Ok(ColumnarValue::Array(values_to_array(&out, self.ret)))
        }
    }
}
