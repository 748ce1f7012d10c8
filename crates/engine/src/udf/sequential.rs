//! Kusto's functions over serialized rows that restart on a predicate
//! (`row_number(1, restart)`, `row_cumsum(x, restart)`, `row_rank_dense(x, restart)`,
//! `row_rank_min(x, restart)`): one window UDF that walks the rows in order.

use crate::types::{array_to_values, arrow_type, values_to_array};
use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{Field, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::expr::{WindowFunction, WindowFunctionDefinition};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Expr, PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl,
};
use kql_value::ops::{arith, Arith};
use kql_value::{KqlType, Value};
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SeqKind {
    /// args: [restart]
    RowNumber { start: i64 },
    /// args: [x, restart]
    CumSum,
    /// args: [x, restart]
    RankDense,
    /// args: [x, restart]
    RankMin,
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Sequential {
    kind: SeqKind,
    arg_types: Vec<KqlType>,
    ret: KqlType,
    signature: Signature,
}

impl Sequential {
    pub fn call(kind: SeqKind, args: Vec<Expr>, arg_types: Vec<KqlType>, ret: KqlType) -> Expr {
        let udf = Sequential {
            kind,
            signature: Signature::any(arg_types.len(), Volatility::Immutable),
            arg_types,
            ret,
        };
        Expr::from(WindowFunction::new(
            WindowFunctionDefinition::WindowUDF(Arc::new(WindowUDF::new_from_impl(udf))),
            args,
        ))
    }
}

impl WindowUDFImpl for Sequential {
    fn name(&self) -> &str {
        "kql_sequential"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn partition_evaluator(
        &self,
        _: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(SeqEval {
            kind: self.kind.clone(),
            arg_types: self.arg_types.clone(),
            ret: self.ret,
        }))
    }
    fn field(&self, args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            args.name(),
            arrow_type(self.ret),
            true,
        )))
    }
}

#[derive(Debug)]
struct SeqEval {
    kind: SeqKind,
    arg_types: Vec<KqlType>,
    ret: KqlType,
}

impl PartitionEvaluator for SeqEval {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let cols = values
            .iter()
            .zip(&self.arg_types)
            .map(|(a, t)| array_to_values(a, *t))
            .collect::<Result<Vec<_>>>()?;
        let restart_col = match self.kind {
            SeqKind::RowNumber { .. } => cols.first(),
            _ => cols.get(1),
        };
        let restart = |i: usize| restart_col.and_then(|c| c[i].as_bool()).unwrap_or(false);
        let mut out = Vec::with_capacity(num_rows);
        let mut counter: i64 = 0;
        let mut sum = Value::Null;
        let mut rank: i64 = 0;
        let mut prev: Option<Value> = None;
        #[allow(clippy::needless_range_loop)]
        for i in 0..num_rows {
            let reset = i == 0 || restart(i);
            match &self.kind {
                SeqKind::RowNumber { start } => {
                    counter = if reset { *start } else { counter + 1 };
                    out.push(Value::Long(counter));
                }
                SeqKind::CumSum => {
                    let x = &cols[0][i];
                    sum = if reset || sum.is_null() {
                        x.convert(self.ret)
                    } else {
                        arith(Arith::Add, &sum, x).convert(self.ret)
                    };
                    out.push(sum.clone());
                }
                SeqKind::RankDense | SeqKind::RankMin => {
                    let x = cols[0][i].clone();
                    if reset {
                        counter = 1;
                        rank = 1;
                    } else {
                        counter += 1;
                        if prev.as_ref() != Some(&x) {
                            rank = if self.kind == SeqKind::RankDense {
                                rank + 1
                            } else {
                                counter
                            };
                        }
                    }
                    prev = Some(x);
                    out.push(Value::Long(rank));
                }
            }
        }
        Ok(values_to_array(&out, self.ret))
    }
}
