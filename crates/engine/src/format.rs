//! Writing results as Kusto writes values: JSON (`{"columns":..,"rows":..}`), JSON lines
//! and CSV. Strings are never null; datetimes ISO 8601 with `Z`; timespans as Kusto text;
//! reals NaN/Infinity as strings; decimals as strings; dynamic as JSON.

use crate::error::QResult;
use crate::session::QueryResult;
use crate::types::array_to_values;
use kql_value::format::format_real;
use kql_value::{KqlType, Value};
use serde_json::{json, Value as Json};

/// One cell as JSON.
pub fn value_to_json(v: &Value, ty: KqlType) -> Json {
    match (v, ty) {
        (Value::Null, KqlType::String) => Json::String(String::new()),
        (Value::Null, _) => Json::Null,
        (Value::Real(f), _) | (Value::Decimal(f), KqlType::Real) => {
            if f.is_finite() {
                serde_json::Number::from_f64(*f)
                    .map(Json::Number)
                    .unwrap_or(Json::Null)
            } else {
                Json::String(format_real(*f))
            }
        }
        (Value::Decimal(f), _) => Json::String(format_real(*f)),
        (Value::DateTime(t), _) => Json::String(kql_value::format::format_datetime(*t)),
        (Value::TimeSpan(t), _) => Json::String(kql_value::format::format_timespan(*t)),
        (Value::Dynamic(j), _) => j.clone(),
        (other, _) => other.to_json(),
    }
}

/// Rows of the result as values, column by column converted once.
pub fn result_rows(r: &QueryResult) -> QResult<Vec<Vec<Value>>> {
    let mut rows = Vec::with_capacity(r.num_rows());
    for b in &r.batches {
        let cols = r
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| array_to_values(b.column(i), c.ty))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..b.num_rows() {
            rows.push(cols.iter().map(|c| c[row].clone()).collect());
        }
    }
    Ok(rows)
}

/// `{"columns":[{"name":..,"type":..}],"rows":[[..]]}`
pub fn to_json(r: &QueryResult) -> QResult<Json> {
    let columns: Vec<Json> = r
        .columns
        .iter()
        .map(|c| json!({"name": c.name, "type": c.ty.name()}))
        .collect();
    let rows: Vec<Json> = result_rows(r)?
        .iter()
        .map(|row| {
            Json::Array(
                row.iter()
                    .zip(&r.columns)
                    .map(|(v, c)| value_to_json(v, c.ty))
                    .collect(),
            )
        })
        .collect();
    let mut out = json!({"columns": columns, "rows": rows});
    if let Some(h) = &r.render {
        out["render"] = json!({"visualization": h.visualization, "properties": h.properties.iter().cloned().collect::<serde_json::Map<_, _>>()});
    }
    if r.truncated {
        out["truncated"] = Json::Bool(true);
    }
    Ok(out)
}

/// One JSON object per row, keyed by column name.
pub fn to_jsonl(r: &QueryResult) -> QResult<String> {
    let mut out = String::new();
    for row in result_rows(r)? {
        let obj: serde_json::Map<String, Json> = r
            .columns
            .iter()
            .zip(&row)
            .map(|(c, v)| (c.name.clone(), value_to_json(v, c.ty)))
            .collect();
        out += &Json::Object(obj).to_string();
        out.push('\n');
    }
    Ok(out)
}

/// The text of a cell for tables and CSV.
pub fn value_text(v: &Value, ty: KqlType) -> String {
    match (v, ty) {
        (Value::Null, _) => String::new(),
        (Value::Dynamic(j), _) => match j {
            Json::Null => String::new(),
            other => other.to_string(),
        },
        (Value::DateTime(t), _) => kql_value::format::format_datetime(*t),
        (other, _) => other.to_kql_string(),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// RFC 4180 CSV with a header row.
pub fn to_csv(r: &QueryResult) -> QResult<String> {
    let mut out = r
        .columns
        .iter()
        .map(|c| csv_field(&c.name))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    for row in result_rows(r)? {
        out += &row
            .iter()
            .zip(&r.columns)
            .map(|(v, c)| csv_field(&value_text(v, c.ty)))
            .collect::<Vec<_>>()
            .join(",");
        out.push_str("\r\n");
    }
    Ok(out)
}
