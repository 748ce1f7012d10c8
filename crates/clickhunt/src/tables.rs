//! Loading tables for `clickhunt query` from files: JSON lines, CSV (with a header row)
//! and Parquet. Columns of a built-in table take its schema (values are converted the way
//! Defender exports need: `0/1` bools, timestamps with 0–7 fractional digits, `null`
//! strings); other tables infer each column's type from its values.

use anyhow::{anyhow, bail, Context, Result};
use engine::{Col, Engine, KqlType, Value};
use std::path::Path;

/// Loads `path` as table `name` into the engine.
pub fn load_table(engine: &Engine, name: &str, path: &Path) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (cols, rows) = match ext.as_str() {
        "csv" => read_csv(path)?,
        "jsonl" | "json" | "ndjson" => read_jsonl(path)?,
        "parquet" => return load_parquet(engine, name, path),
        other => bail!(
            "{}: unknown file type '.{other}' (use .jsonl, .csv or .parquet)",
            path.display()
        ),
    };
    let schema = engine
        .table_columns(name)
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| infer_columns(&cols, &rows));
    let mut columns: Vec<Vec<Value>> = vec![Vec::with_capacity(rows.len()); schema.len()];
    for row in &rows {
        for (ci, c) in schema.iter().enumerate() {
            let raw = cols
                .iter()
                .position(|n| n == &c.name)
                .and_then(|i| row.get(i))
                .cloned()
                .unwrap_or(Value::Null);
            columns[ci].push(coerce(&raw, c.ty));
        }
    }
    let arrow_schema = Engine::arrow_schema(&schema);
    let arrays = schema
        .iter()
        .zip(&columns)
        .map(|(c, v)| engine::types::values_to_array(v, c.ty))
        .collect();
    let batch = datafusion::arrow::record_batch::RecordBatch::try_new(arrow_schema, arrays)?;
    engine
        .register_batches(name, schema, vec![batch])
        .map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// A raw value (string or JSON) as `ty`; empty and `null` strings are empty.
fn coerce(raw: &Value, ty: KqlType) -> Value {
    match (raw, ty) {
        (Value::String(s), KqlType::Dynamic) if s.is_empty() => Value::Null,
        (Value::String(s), t) if s.is_empty() && t != KqlType::String => Value::Null,
        (Value::Dynamic(serde_json::Value::Null), KqlType::String) => Value::String(String::new()),
        (Value::Dynamic(serde_json::Value::String(s)), KqlType::String) => Value::String(s.clone()),
        (Value::Dynamic(serde_json::Value::String(s)), t) => Value::String(s.clone()).convert(t),
        (v, t) => v.convert(t),
    }
}

fn infer_columns(names: &[String], rows: &[Vec<Value>]) -> Vec<Col> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut ty: Option<KqlType> = None;
            for r in rows {
                let t = match r.get(i) {
                    Some(Value::Dynamic(j)) => match j {
                        serde_json::Value::Null => continue,
                        serde_json::Value::Bool(_) => KqlType::Bool,
                        serde_json::Value::Number(n) if n.is_i64() => KqlType::Long,
                        serde_json::Value::Number(_) => KqlType::Real,
                        serde_json::Value::String(s) => string_type(s),
                        _ => KqlType::Dynamic,
                    },
                    Some(Value::String(s)) if s.is_empty() => continue,
                    Some(Value::String(s)) => string_type(s),
                    _ => continue,
                };
                ty = Some(match ty {
                    None => t,
                    Some(p) if p == t => p,
                    Some(KqlType::Long) if t == KqlType::Real => KqlType::Real,
                    Some(KqlType::Real) if t == KqlType::Long => KqlType::Real,
                    _ => KqlType::String,
                });
            }
            Col::new(n.clone(), ty.unwrap_or(KqlType::String))
        })
        .collect()
}

/// Datetimes in ISO form are datetimes; everything else in text stays a string.
fn string_type(s: &str) -> KqlType {
    if s.len() >= 10 && s.as_bytes()[4] == b'-' && kql_value::format::parse_datetime(s).is_some() {
        KqlType::DateTime
    } else {
        KqlType::String
    }
}

fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Vec<Value>>)> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let headers: Vec<String> = rdr
        .headers()
        .with_context(|| format!("{}: no header row", path.display()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.with_context(|| format!("{}: line {}", path.display(), i + 2))?;
        rows.push(rec.iter().map(|f| Value::String(f.to_string())).collect());
    }
    Ok((headers, rows))
}

fn read_jsonl(path: &Path) -> Result<(Vec<String>, Vec<Vec<Value>>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut names: Vec<String> = Vec::new();
    let mut objs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}: line {}: invalid JSON", path.display(), i + 1))?;
        let serde_json::Value::Object(m) = v else {
            bail!("{}: line {}: expected a JSON object", path.display(), i + 1);
        };
        for k in m.keys() {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
        objs.push(m);
    }
    let rows = objs
        .into_iter()
        .map(|m| {
            names
                .iter()
                .map(|n| Value::Dynamic(m.get(n).cloned().unwrap_or(serde_json::Value::Null)))
                .collect()
        })
        .collect();
    Ok((names, rows))
}

fn load_parquet(engine: &Engine, name: &str, path: &Path) -> Result<()> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
    let mut batches = Vec::new();
    for b in reader {
        batches.push(b?);
    }
    let Some(first) = batches.first() else {
        return Ok(());
    };
    let schema = first.schema();
    let cols: Vec<Col> = match engine.table_columns(name).filter(|c| !c.is_empty()) {
        Some(c) => c,
        None => schema
            .fields()
            .iter()
            .map(|f| Col::new(f.name().clone(), engine::types::kql_type_of_field(f)))
            .collect(),
    };
    // Reorder/fill the file's columns into the table's.
    let n = first.num_rows();
    let _ = n;
    let mut out = Vec::new();
    for b in &batches {
        let arrays = cols
            .iter()
            .map(|c| match b.schema().index_of(&c.name) {
                Ok(i) => b.column(i).clone(),
                Err(_) => datafusion::arrow::array::new_null_array(
                    &engine::types::arrow_type(c.ty),
                    b.num_rows(),
                ),
            })
            .collect::<Vec<_>>();
        let fields: Vec<_> = cols
            .iter()
            .zip(&arrays)
            .map(|(c, a)| {
                datafusion::arrow::datatypes::Field::new(
                    c.name.clone(),
                    a.data_type().clone(),
                    true,
                )
            })
            .collect();
        out.push(datafusion::arrow::record_batch::RecordBatch::try_new(
            std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new(fields)),
            arrays,
        )?);
    }
    engine
        .register_batches(name, cols, out)
        .map_err(|e| anyhow!("{}: {e}", path.display()))
}
