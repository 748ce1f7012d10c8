//! `mv-expand` support: zips the expanded dynamic values of one row into a list of
//! JSON tuples `[index?, v1, v2, ...]` that DataFusion's unnest turns into rows.
//! Arrays expand per element, property bags per key (`{"k": v}` or `["k", v]`), a null
//! gives one row with null, an empty array or bag gives no row, other values one row.

use datafusion::arrow::array::{Array, AsArray, ListBuilder, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use serde_json::Value as Json;
use std::sync::Arc;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MvZip {
    with_index: bool,
    bag_as_array: bool,
    limit: Option<u64>,
    signature: Signature,
}

impl MvZip {
    pub fn call(args: Vec<Expr>, with_index: bool, bag_as_array: bool, limit: Option<u64>) -> Expr {
        let n = args.len();
        ScalarUDF::new_from_impl(MvZip {
            with_index,
            bag_as_array,
            limit,
            signature: Signature::any(n, Volatility::Immutable),
        })
        .call(args)
    }

    fn items(&self, text: Option<&str>) -> Vec<Json> {
        let Some(t) = text else {
            return vec![Json::Null];
        };
        let j: Json = serde_json::from_str(t).unwrap_or_else(|_| Json::String(t.to_string()));
        match j {
            Json::Array(a) => a,
            Json::Object(m) => m
                .into_iter()
                .map(|(k, v)| {
                    if self.bag_as_array {
                        Json::Array(vec![Json::String(k), v])
                    } else {
                        let mut o = serde_json::Map::new();
                        o.insert(k, v);
                        Json::Object(o)
                    }
                })
                .collect(),
            other => vec![other],
        }
    }
}

impl ScalarUDFImpl for MvZip {
    fn name(&self) -> &str {
        "kql_mv_zip"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new_list_field(
            DataType::Utf8,
            true,
        ))))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let cols = args
            .args
            .iter()
            .map(|a| cast(&a.to_array(n)?, &DataType::Utf8).map_err(Into::into))
            .collect::<Result<Vec<_>>>()?;
        let mut b = ListBuilder::new(StringBuilder::new());
        for row in 0..n {
            let lists: Vec<Vec<Json>> = cols
                .iter()
                .map(|c| {
                    let s = c.as_string::<i32>();
                    self.items((!s.is_null(row)).then(|| s.value(row)))
                })
                .collect();
            let mut len = lists.iter().map(|l| l.len()).max().unwrap_or(0);
            if let Some(l) = self.limit {
                len = len.min(l as usize);
            }
            for i in 0..len {
                let mut tuple = Vec::with_capacity(lists.len() + 1);
                if self.with_index {
                    tuple.push(Json::from(i as i64));
                }
                for l in &lists {
                    tuple.push(l.get(i).cloned().unwrap_or(Json::Null));
                }
                b.values().append_value(Json::Array(tuple).to_string());
            }
            b.append(true);
        }
        Ok(ColumnarValue::Array(Arc::new(b.finish())))
    }
}
