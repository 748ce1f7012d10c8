//! KQL types and their Arrow representation, and conversions between Arrow arrays and
//! [`Value`]s for the functions that are evaluated row by row.

use crate::error::{QResult, QueryError};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, DurationNanosecondArray, DurationNanosecondBuilder,
    Float64Builder, Int32Builder, Int64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{Result, ScalarValue};
use kql_value::{KqlType, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Field metadata key that records a column's KQL type where Arrow cannot tell
/// (guid and dynamic are both stored as UTF-8 text).
pub const KQL_TYPE_KEY: &str = "kql.type";

pub fn arrow_type(ty: KqlType) -> DataType {
    match ty {
        KqlType::Bool => DataType::Boolean,
        KqlType::Int => DataType::Int32,
        KqlType::Long => DataType::Int64,
        KqlType::Real | KqlType::Decimal => DataType::Float64,
        KqlType::String | KqlType::Guid | KqlType::Dynamic => DataType::Utf8,
        KqlType::DateTime => DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
        KqlType::TimeSpan => DataType::Duration(TimeUnit::Nanosecond),
    }
}

/// An Arrow field for a KQL column, with the KQL type in its metadata.
pub fn kql_field(name: &str, ty: KqlType) -> Field {
    Field::new(name, arrow_type(ty), true).with_metadata(HashMap::from([(
        KQL_TYPE_KEY.to_string(),
        ty.name().to_string(),
    )]))
}

/// The KQL type of an Arrow field: its metadata if present, else inferred from the
/// Arrow type (for Parquet files and tables not created by clickhunt).
pub fn kql_type_of_field(field: &Field) -> KqlType {
    if let Some(t) = field
        .metadata()
        .get(KQL_TYPE_KEY)
        .and_then(|t| KqlType::parse(t))
    {
        return t;
    }
    kql_type_of_arrow(field.data_type())
}

pub fn kql_type_of_arrow(dt: &DataType) -> KqlType {
    match dt {
        DataType::Boolean => KqlType::Bool,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 => {
            KqlType::Int
        }
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => KqlType::Long,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => KqlType::Real,
        DataType::Decimal128(..) | DataType::Decimal256(..) => KqlType::Decimal,
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => KqlType::DateTime,
        DataType::Duration(_) | DataType::Interval(_) => KqlType::TimeSpan,
        DataType::List(_) | DataType::LargeList(_) | DataType::Struct(_) | DataType::Map(..) => {
            KqlType::Dynamic
        }
        DataType::Dictionary(_, v) => kql_type_of_arrow(v),
        _ => KqlType::String,
    }
}

/// A typed null literal.
pub fn null_scalar(ty: KqlType) -> ScalarValue {
    match ty {
        KqlType::Bool => ScalarValue::Boolean(None),
        KqlType::Int => ScalarValue::Int32(None),
        KqlType::Long => ScalarValue::Int64(None),
        KqlType::Real | KqlType::Decimal => ScalarValue::Float64(None),
        KqlType::String | KqlType::Guid | KqlType::Dynamic => ScalarValue::Utf8(None),
        KqlType::DateTime => ScalarValue::TimestampNanosecond(None, Some("UTC".into())),
        KqlType::TimeSpan => ScalarValue::DurationNanosecond(None),
    }
}

/// A literal of type `ty` holding `v` (converted if needed; unconvertible → null).
pub fn value_to_scalar(v: &Value, ty: KqlType) -> ScalarValue {
    let v = if v.kql_type() == Some(ty) || v.is_null() && ty != KqlType::Dynamic {
        v.clone()
    } else {
        v.convert(ty)
    };
    match (ty, v) {
        (KqlType::String, v) => ScalarValue::Utf8(Some(v.to_kql_string())),
        (_, Value::Null) => null_scalar(ty),
        (KqlType::Bool, Value::Bool(b)) => ScalarValue::Boolean(Some(b)),
        (KqlType::Int, Value::Int(i)) => ScalarValue::Int32(Some(i)),
        (KqlType::Long, Value::Long(i)) => ScalarValue::Int64(Some(i)),
        (KqlType::Real, Value::Real(f)) | (KqlType::Decimal, Value::Decimal(f)) => {
            ScalarValue::Float64(Some(f))
        }
        (KqlType::DateTime, Value::DateTime(t)) => {
            ScalarValue::TimestampNanosecond(Some(t), Some("UTC".into()))
        }
        (KqlType::TimeSpan, Value::TimeSpan(t)) => ScalarValue::DurationNanosecond(Some(t)),
        (KqlType::Guid, Value::Guid(g)) => ScalarValue::Utf8(Some(g)),
        (KqlType::Dynamic, Value::Dynamic(j)) => {
            if j.is_null() {
                ScalarValue::Utf8(None)
            } else {
                ScalarValue::Utf8(Some(j.to_string()))
            }
        }
        _ => null_scalar(ty),
    }
}

/// `array` as `Utf8` text (cast unless it is already).
pub(crate) fn as_utf8(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(match array.data_type() {
        DataType::Utf8 => array.clone(),
        _ => cast(array, &DataType::Utf8)?,
    })
}

/// Reads an Arrow array as KQL values of type `ty`.
pub fn array_to_values(array: &ArrayRef, ty: KqlType) -> Result<Vec<Value>> {
    let n = array.len();
    let mut out = Vec::with_capacity(n);
    match ty {
        KqlType::Bool => {
            let a = cast(array, &DataType::Boolean)?;
            let a = a.as_boolean();
            for i in 0..n {
                out.push(if a.is_null(i) {
                    Value::Null
                } else {
                    Value::Bool(a.value(i))
                });
            }
        }
        KqlType::Int => {
            let a = cast(array, &DataType::Int32)?;
            let a = a.as_primitive::<datafusion::arrow::datatypes::Int32Type>();
            for i in 0..n {
                out.push(if a.is_null(i) {
                    Value::Null
                } else {
                    Value::Int(a.value(i))
                });
            }
        }
        KqlType::Long => {
            let a = cast(array, &DataType::Int64)?;
            let a = a.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
            for i in 0..n {
                out.push(if a.is_null(i) {
                    Value::Null
                } else {
                    Value::Long(a.value(i))
                });
            }
        }
        KqlType::Real | KqlType::Decimal => {
            let a = cast(array, &DataType::Float64)?;
            let a = a.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
            for i in 0..n {
                out.push(if a.is_null(i) {
                    Value::Null
                } else if ty == KqlType::Real {
                    Value::Real(a.value(i))
                } else {
                    Value::Decimal(a.value(i))
                });
            }
        }
        KqlType::DateTime => {
            let a = cast(array, &DataType::Timestamp(TimeUnit::Nanosecond, None))?;
            let a = a.as_primitive::<datafusion::arrow::datatypes::TimestampNanosecondType>();
            for i in 0..n {
                out.push(if a.is_null(i) {
                    Value::Null
                } else {
                    Value::DateTime(a.value(i))
                });
            }
        }
        KqlType::TimeSpan => {
            let a = match array.data_type() {
                DataType::Duration(TimeUnit::Nanosecond) => array.clone(),
                DataType::Int64 => cast(array, &DataType::Int64)?,
                _ => cast(array, &DataType::Duration(TimeUnit::Nanosecond))?,
            };
            if let Some(d) = a.as_any().downcast_ref::<DurationNanosecondArray>() {
                for i in 0..n {
                    out.push(if d.is_null(i) {
                        Value::Null
                    } else {
                        Value::TimeSpan(d.value(i))
                    });
                }
            } else {
                let d = a.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
                for i in 0..n {
                    out.push(if d.is_null(i) {
                        Value::Null
                    } else {
                        Value::TimeSpan(d.value(i))
                    });
                }
            }
        }
        KqlType::String | KqlType::Guid => {
            let a = as_utf8(array)?;
            let a = a.as_string::<i32>();
            for i in 0..n {
                out.push(if a.is_null(i) {
                    if ty == KqlType::String {
                        Value::String(String::new())
                    } else {
                        Value::Null
                    }
                } else if ty == KqlType::String {
                    Value::String(a.value(i).to_string())
                } else {
                    Value::Guid(a.value(i).to_string())
                });
            }
        }
        KqlType::Dynamic => {
            let a = as_utf8(array)?;
            let a = a.as_string::<i32>();
            for i in 0..n {
                out.push(if a.is_null(i) {
                    Value::Dynamic(serde_json::Value::Null)
                } else {
                    Value::Dynamic(
                        serde_json::from_str(a.value(i))
                            .unwrap_or_else(|_| serde_json::Value::String(a.value(i).to_string())),
                    )
                });
            }
        }
    }
    Ok(out)
}

/// Builds an Arrow array of type `ty` from values (converting where needed).
pub fn values_to_array(values: &[Value], ty: KqlType) -> ArrayRef {
    let conv = |v: &Value| -> Value {
        if v.is_null() || v.kql_type() == Some(ty) {
            v.clone()
        } else {
            v.convert(ty)
        }
    };
    match ty {
        KqlType::Bool => {
            let mut b = BooleanBuilder::with_capacity(values.len());
            for v in values {
                match conv(v) {
                    Value::Bool(x) => b.append_value(x),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }
        KqlType::Int => {
            let mut b = Int32Builder::with_capacity(values.len());
            for v in values {
                match conv(v) {
                    Value::Int(x) => b.append_value(x),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        KqlType::Long => {
            let mut b = Int64Builder::with_capacity(values.len());
            for v in values {
                match conv(v) {
                    Value::Long(x) => b.append_value(x),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        KqlType::Real | KqlType::Decimal => {
            let mut b = Float64Builder::with_capacity(values.len());
            for v in values {
                match conv(v) {
                    Value::Real(x) | Value::Decimal(x) => b.append_value(x),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        KqlType::DateTime => {
            let mut b = TimestampNanosecondBuilder::with_capacity(values.len());
            for v in values {
                match conv(v) {
                    Value::DateTime(x) => b.append_value(x),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish().with_timezone("UTC"))
        }
        KqlType::TimeSpan => {
            let mut b = DurationNanosecondBuilder::with_capacity(values.len());
            for v in values {
                match conv(v) {
                    Value::TimeSpan(x) => b.append_value(x),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        KqlType::String => {
            let mut b = StringBuilder::with_capacity(values.len(), values.len() * 8);
            for v in values {
                b.append_value(v.to_kql_string());
            }
            Arc::new(b.finish())
        }
        KqlType::Guid => {
            let mut b = StringBuilder::with_capacity(values.len(), values.len() * 36);
            for v in values {
                match conv(v) {
                    Value::Guid(g) => b.append_value(g),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        KqlType::Dynamic => {
            let mut b = StringBuilder::with_capacity(values.len(), values.len() * 8);
            for v in values {
                match v {
                    Value::Null | Value::Dynamic(serde_json::Value::Null) => b.append_null(),
                    Value::Dynamic(j) => b.append_value(j.to_string()),
                    other => b.append_value(other.to_json().to_string()),
                }
            }
            Arc::new(b.finish())
        }
    }
}

/// `schema` with every text column (`Utf8`, `Utf8View`) as `text`, field metadata kept.
pub fn with_text_type(schema: &Schema, text: DataType) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::Utf8View => f.as_ref().clone().with_data_type(text.clone()),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `batch`'s columns cast to the types of `schema` (same columns, in order).
pub fn cast_batch(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| cast(c, f.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}

/// Results with text as `Utf8`, whatever the scans produced (the store reads text as
/// `Utf8View`): users of [`QueryResult`](crate::QueryResult) see one type per KQL type.
pub(crate) fn canonical_text(batches: Vec<RecordBatch>) -> QResult<Vec<RecordBatch>> {
    let Some(first) = batches.first() else {
        return Ok(batches);
    };
    let schema = first.schema();
    if !schema
        .fields()
        .iter()
        .any(|f| f.data_type() == &DataType::Utf8View)
    {
        return Ok(batches);
    }
    let target = with_text_type(&schema, DataType::Utf8);
    batches
        .iter()
        .map(|b| cast_batch(b, &target).map_err(|e| QueryError::execution(e.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_arrow() {
        for (ty, vals) in [
            (KqlType::Long, vec![Value::Long(1), Value::Null]),
            (
                KqlType::DateTime,
                vec![Value::DateTime(1_700_000_000_123_456_700), Value::Null],
            ),
            (KqlType::TimeSpan, vec![Value::TimeSpan(-5_000)]),
            (
                KqlType::Dynamic,
                vec![Value::Dynamic(serde_json::json!({"a": [1, 2.5]}))],
            ),
            (KqlType::String, vec![Value::string("x"), Value::string("")]),
        ] {
            let a = values_to_array(&vals, ty);
            assert_eq!(array_to_values(&a, ty).unwrap(), vals, "{ty}");
        }
    }
}
