//! `bin(datetime, timespan)` with a constant step: a floor to the step counted from
//! Kusto's origin, in one pass of integer arithmetic over the ticks (DataFusion's
//! `date_bin` handles months and intervals per value, and cost a quarter of
//! `summarize count() by bin(Timestamp, 1h)`).

use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampNanosecondType};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::Arc;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BinTime {
    /// The step in ns (> 0).
    step: i64,
    /// Kusto's origin (0001-01-01) moved to within one step of the epoch: bins start at
    /// `origin + k * step`.
    origin: i64,
    signature: Signature,
}

const YEAR_ONE_NS: i128 = -62_135_596_800 * 1_000_000_000;

impl BinTime {
    /// The call `bin(ts, step_ns)`; `step_ns` must be positive.
    pub fn call(ts: Expr, step_ns: i64) -> Expr {
        ScalarUDF::new_from_impl(BinTime::new(step_ns)).call(vec![ts])
    }

    fn new(step_ns: i64) -> BinTime {
        let step = step_ns.max(1);
        BinTime {
            step,
            origin: YEAR_ONE_NS.rem_euclid(step as i128) as i64,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }

    fn floor(&self, v: i64) -> i64 {
        let from_origin = v.saturating_sub(self.origin);
        from_origin
            .div_euclid(self.step)
            .saturating_mul(self.step)
            .saturating_add(self.origin)
    }
}

fn utc_ns() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

impl ScalarUDFImpl for BinTime {
    fn name(&self) -> &str {
        "__kql_bin_time"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(utc_ns())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        match args.args.first() {
            Some(ColumnarValue::Array(a)) => {
                let a = cast(a, &utc_ns())?;
                let binned = a
                    .as_primitive::<TimestampNanosecondType>()
                    .unary::<_, TimestampNanosecondType>(|v| self.floor(v))
                    .with_timezone("UTC");
                Ok(ColumnarValue::Array(Arc::new(binned)))
            }
            Some(ColumnarValue::Scalar(s)) => {
                let s = s.cast_to(&utc_ns())?;
                let v = match s {
                    ScalarValue::TimestampNanosecond(v, _) => v.map(|v| self.floor(v)),
                    _ => None,
                };
                Ok(ColumnarValue::Scalar(ScalarValue::TimestampNanosecond(
                    v,
                    Some("UTC".into()),
                )))
            }
            None => Ok(ColumnarValue::Scalar(ScalarValue::TimestampNanosecond(
                None,
                Some("UTC".into()),
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(step: i64) -> BinTime {
        BinTime::new(step)
    }

    /// Agrees with flooring from 0001-01-01 in 128-bit arithmetic (Kusto's definition),
    /// before and after the epoch, for steps that do and do not divide a day.
    #[test]
    fn floors_from_year_one() {
        let hour = 3_600_000_000_000i64;
        for step in [
            1,
            7,
            hour,
            24 * hour,
            7 * 24 * hour,
            90 * 60_000_000_000 + 13,
        ] {
            let b = bin(step);
            for v in [
                0i64,
                1,
                -1,
                step - 1,
                step,
                -step,
                1_785_000_000_123_456_789,
                -9_000_000_000_000_000_000,
                9_000_000_000_000_000_000,
            ] {
                let want =
                    (v as i128 - YEAR_ONE_NS).div_euclid(step as i128) * step as i128 + YEAR_ONE_NS;
                assert_eq!(b.floor(v) as i128, want, "step {step} v {v}");
            }
        }
        // 7-day bins start on Mondays: 2026-11-23 was one.
        let week = bin(7 * 24 * hour);
        let thursday = 1_795_651_200_000_000_000; // 2026-11-26T00:00:00Z
        assert_eq!(week.floor(thursday), 1_795_392_000_000_000_000); // 2026-11-23
                                                                     // The ends of the range saturate instead of overflowing.
        for step in [7, hour] {
            let _ = bin(step).floor(i64::MIN);
            let _ = bin(step).floor(i64::MAX);
        }
    }
}
