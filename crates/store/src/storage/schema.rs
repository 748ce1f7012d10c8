//! Fitting record batches to a table's Arrow schema.
//!
//! Columns are matched by name, not position: ingest decoders, the gateway and older
//! WAL frames (written before `.create-merge table` added a column) all produce batches
//! whose column order or set may differ from the table's current schema.

use datafusion::arrow::array::{new_null_array, ArrayRef};
use datafusion::arrow::compute::{can_cast_types, cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};

/// How strictly a batch is fitted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fit {
    /// Appends: columns the table lacks are an error, values that do not convert are
    /// an error (a silent null would lose data).
    Strict,
    /// Replay and reads of data the store already accepted: extra columns are dropped,
    /// unconvertible values become null.
    Lenient,
}

/// Returns `batch` with exactly `schema`'s fields, in order. Missing columns are null.
pub(crate) fn conform(
    batch: &RecordBatch,
    schema: &SchemaRef,
    fit: Fit,
) -> Result<RecordBatch, String> {
    if batch.schema_ref() == schema {
        return Ok(batch.clone());
    }
    let in_schema = batch.schema();
    if fit == Fit::Strict {
        let extra: Vec<&str> = in_schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .filter(|n| schema.field_with_name(n).is_err())
            .collect();
        if !extra.is_empty() {
            let known: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(format!(
                "the batch has column(s) {} that the table does not have (table columns: {})",
                quote_list(&extra),
                known.join(", ")
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for f in in_schema.fields() {
            if !seen.insert(f.name()) {
                return Err(format!("the batch has column `{}` twice", f.name()));
            }
        }
    }
    let options = CastOptions {
        safe: fit == Fit::Lenient,
        ..CastOptions::default()
    };
    let columns = schema
        .fields()
        .iter()
        .map(|field| -> Result<ArrayRef, String> {
            let Ok(idx) = in_schema.index_of(field.name()) else {
                return Ok(new_null_array(field.data_type(), batch.num_rows()));
            };
            let col = batch.column(idx);
            if col.data_type() == field.data_type() {
                return Ok(col.clone());
            }
            if !can_cast_types(col.data_type(), field.data_type()) {
                if fit == Fit::Lenient {
                    return Ok(new_null_array(field.data_type(), batch.num_rows()));
                }
                return Err(format!(
                    "column `{}` is {} in the batch but {} in the table, and cannot be converted",
                    field.name(),
                    col.data_type(),
                    describe(field.data_type())
                ));
            }
            cast_with_options(col, field.data_type(), &options).map_err(|e| {
                format!(
                    "column `{}`: cannot convert {} to {}: {e}",
                    field.name(),
                    col.data_type(),
                    describe(field.data_type())
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
    .map_err(|e| e.to_string())
}

fn describe(dt: &DataType) -> String {
    match dt {
        DataType::Timestamp(_, _) => "datetime (Timestamp(ns, UTC))".into(),
        DataType::Duration(_) => "timespan (Duration(ns))".into(),
        other => other.to_string(),
    }
}

fn quote_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The column a table is partitioned and pruned by: `Timestamp` when it is a datetime,
/// else the first datetime column, else none.
pub(crate) fn time_column(schema: &SchemaRef) -> Option<usize> {
    let is_ts = |dt: &DataType| matches!(dt, DataType::Timestamp(_, _));
    if let Ok(i) = schema.index_of("Timestamp") {
        if is_ts(schema.field(i).data_type()) {
            return Some(i);
        }
    }
    schema.fields().iter().position(|f| is_ts(f.data_type()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, Int32Array, StringArray, TimestampNanosecondArray};
    use datafusion::arrow::datatypes::{Field, Schema, TimeUnit};
    use std::sync::Arc;

    fn table() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new(
                "Timestamp",
                DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
                true,
            ),
            Field::new("N", DataType::Int64, true),
            Field::new("S", DataType::Utf8, true),
        ]))
    }

    #[test]
    fn reorders_casts_and_fills_missing() {
        let input = RecordBatch::try_from_iter(vec![
            ("N", Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef),
            (
                "Timestamp",
                Arc::new(StringArray::from(vec![
                    "2024-03-26T09:39:50.7688641Z",
                    "2024-03-26T00:00:00Z",
                ])),
            ),
        ])
        .unwrap();
        let out = conform(&input, &table(), Fit::Strict).unwrap();
        assert_eq!(out.schema(), table());
        let ts = out
            .column(0)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        assert_eq!(ts.value(0) % 1_000_000_000, 768_864_100);
        assert_eq!(out.column(2).null_count(), 2);
    }

    #[test]
    fn strict_rejects_unknown_columns_and_bad_values() {
        let extra = RecordBatch::try_from_iter(vec![(
            "Nope",
            Arc::new(Int32Array::from(vec![1])) as ArrayRef,
        )])
        .unwrap();
        let e = conform(&extra, &table(), Fit::Strict).unwrap_err();
        assert!(e.contains("`Nope`"), "{e}");
        let bad = RecordBatch::try_from_iter(vec![(
            "N",
            Arc::new(StringArray::from(vec!["x"])) as ArrayRef,
        )])
        .unwrap();
        let e = conform(&bad, &table(), Fit::Strict).unwrap_err();
        assert!(e.contains("column `N`"), "{e}");
        assert!(conform(&bad, &table(), Fit::Lenient).is_ok());
    }
}
