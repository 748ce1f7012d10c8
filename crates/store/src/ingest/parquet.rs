//! Parquet files whose columns are named as the table's. Each column is converted to
//! its KQL type: timestamps of any unit, with or without a time zone, are instants in
//! UTC; text columns go through the same coercions as CSV fields; lists, structs and
//! maps become JSON text. A value that does not convert makes its row bad (the row's
//! number stands in for a line number).

use super::coerce::{from_text, ColumnBuilder};
use super::error::{preview, IngestError};
use super::sink::Router;
use super::PlainTable;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringBuilder,
};
use datafusion::arrow::compute::{cast_with_options, filter, CastOptions};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use engine::{Col, Engine, KqlType};
use std::sync::Arc;

/// Decodes a Parquet file. The parquet crate asserts on some malformed metadata
/// (negative offsets, for one) instead of returning an error; such a panic is caught
/// here and reported as an invalid file, because no input may crash the caller.
pub(crate) fn decode(
    bytes: Vec<u8>,
    table: PlainTable,
    router: &mut Router<'_>,
) -> Result<(), IngestError> {
    let source = router.source;
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_unguarded(bytes, table, router)
    })) {
        Ok(result) => result,
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(IngestError::format(
                source,
                None,
                format!("not a valid Parquet file (the Parquet reader failed: {why})"),
            ))
        }
    }
}

fn decode_unguarded(
    bytes: Vec<u8>,
    table: PlainTable,
    router: &mut Router<'_>,
) -> Result<(), IngestError> {
    let source = router.source;
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .map_err(|e| IngestError::format(source, None, format!("not a valid Parquet file: {e}")))?;
    let file_schema = builder.schema().clone();
    let PlainTable { name, cols } = table;
    let cols = match cols {
        Some(c) => c,
        None => {
            let cols: Vec<Col> = file_schema
                .fields()
                .iter()
                .map(|f| Col::new(f.name().as_str(), engine::types::kql_type_of_field(f)))
                .collect();
            router.add_created(&name, cols.clone());
            cols
        }
    };
    if !cols
        .iter()
        .any(|c| file_schema.field_with_name(&c.name).is_ok())
        && !cols.is_empty()
    {
        return Err(IngestError::format(
            source,
            None,
            format!("no column of the file is a column of table '{name}'"),
        ));
    }
    for f in file_schema.fields() {
        if !cols.iter().any(|c| &c.name == f.name()) {
            router.note_ignored(&name, f.name());
        }
    }
    let reader = builder
        .with_batch_size(router.opts.batch_rows.clamp(1, 1 << 16))
        .build()
        .map_err(|e| IngestError::format(source, None, format!("cannot read Parquet: {e}")))?;
    let schema = Engine::arrow_schema(&cols);
    let mut rows_before = 0usize;
    for batch in reader {
        let batch = batch.map_err(|e| {
            IngestError::format(
                source,
                None,
                format!("cannot read Parquet rows after row {rows_before}: {e}"),
            )
        })?;
        let n = batch.num_rows();
        let mut bad = BadRows::default();
        let mut arrays = Vec::with_capacity(cols.len());
        for c in &cols {
            let a = match batch.column_by_name(&c.name) {
                None => empty_column(c.ty, n),
                Some(a) => convert(a, c, router.opts.max_value_bytes, &mut bad).map_err(|m| {
                    IngestError::format(source, None, format!("column {}: {m}", c.name))
                })?,
            };
            arrays.push(a);
        }
        let arrays = if bad.rows.is_empty() {
            arrays
        } else {
            let mut keep = vec![true; n];
            for (i, col, reason) in bad.rows {
                if keep[i] {
                    keep[i] = false;
                    router.reject(rows_before + i + 1, Some(&col), reason, None);
                }
            }
            let mask = BooleanArray::from(keep);
            arrays
                .iter()
                .map(|a| filter(a, &mask))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| IngestError::format(source, None, e.to_string()))?
        };
        let out = RecordBatch::try_new(schema.clone(), arrays)
            .map_err(|e| IngestError::format(source, None, e.to_string()))?;
        router.emit(&name, out);
        rows_before += n;
    }
    Ok(())
}

#[derive(Default)]
struct BadRows {
    /// (row in batch, column, reason)
    rows: Vec<(usize, String, String)>,
}

/// A column the file lacks: `""` for strings, null otherwise.
fn empty_column(ty: KqlType, n: usize) -> ArrayRef {
    let mut b = ColumnBuilder::new(ty, n);
    for _ in 0..n {
        b.append(super::coerce::Cell::Null);
    }
    b.finish()
}

fn is_text(dt: &DataType) -> bool {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_text(v),
        _ => false,
    }
}

fn is_nested(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::List(_)
            | DataType::LargeList(_)
            | DataType::ListView(_)
            | DataType::FixedSizeList(..)
            | DataType::Struct(_)
            | DataType::Map(..)
    )
}

fn convert(a: &ArrayRef, c: &Col, max: usize, bad: &mut BadRows) -> Result<ArrayRef, String> {
    let n = a.len();
    if is_text(a.data_type()) {
        let s = cast_with_options(a, &DataType::Utf8, &CastOptions::default())
            .map_err(|e| e.to_string())?;
        let s = s.as_string::<i32>();
        let mut b = ColumnBuilder::new(c.ty, n);
        for i in 0..n {
            if s.is_null(i) {
                b.append(super::coerce::Cell::Null);
                continue;
            }
            match from_text(s.value(i), c.ty, max) {
                Ok(cell) => b.append(cell),
                Err(reason) => {
                    bad.rows.push((i, c.name.clone(), reason));
                    b.append(super::coerce::Cell::Null);
                }
            }
        }
        return Ok(b.finish());
    }
    if matches!(c.ty, KqlType::String | KqlType::Dynamic) && is_nested(a.data_type()) {
        return json_text(a, c.ty == KqlType::String);
    }
    let target = engine::types::arrow_type(c.ty);
    let opts = CastOptions {
        safe: true,
        ..Default::default()
    };
    let out = cast_with_options(a, &target, &opts).map_err(|_| {
        format!(
            "cannot read Parquet type {} as {}",
            a.data_type(),
            c.ty.name()
        )
    })?;
    // A safe cast turns what it cannot convert into null: those rows are bad.
    if out.null_count() > a.null_count() {
        let fmt = ArrayFormatter::try_new(a.as_ref(), &FormatOptions::default()).ok();
        for i in 0..n {
            if a.is_valid(i) && out.is_null(i) {
                let v = fmt
                    .as_ref()
                    .map(|f| f.value(i).to_string())
                    .unwrap_or_default();
                bad.rows.push((
                    i,
                    c.name.clone(),
                    format!("{} does not fit {}", preview(&v), c.ty.name()),
                ));
            }
        }
    }
    if c.ty == KqlType::String && out.null_count() > 0 {
        let s = out.as_string::<i32>();
        let mut b = StringBuilder::with_capacity(n, s.value_data().len());
        for i in 0..n {
            b.append_value(if s.is_null(i) { "" } else { s.value(i) });
        }
        return Ok(Arc::new(b.finish()));
    }
    Ok(out)
}

/// Nested values as JSON text, one per row (null stays null, or `""` for strings).
fn json_text(a: &ArrayRef, never_null: bool) -> Result<ArrayRef, String> {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "v",
        a.data_type().clone(),
        true,
    )]));
    let batch = RecordBatch::try_new(schema, vec![a.clone()]).map_err(|e| e.to_string())?;
    let mut w = datafusion::arrow::json::LineDelimitedWriter::new(Vec::new());
    w.write(&batch).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())?;
    let text = String::from_utf8(w.into_inner()).map_err(|e| e.to_string())?;
    let mut b = StringBuilder::with_capacity(a.len(), text.len());
    for line in text.lines() {
        // `{"v":<json>}`, or `{}` for a null.
        match line
            .strip_prefix("{\"v\":")
            .and_then(|l| l.strip_suffix('}'))
        {
            Some(v) => b.append_value(v),
            None if never_null => b.append_value(""),
            None => b.append_null(),
        }
    }
    let out = b.finish();
    if out.len() != a.len() {
        return Err("cannot convert nested values to JSON".to_string());
    }
    Ok(Arc::new(out))
}
