//! Values as the hunting APIs put them on the wire, and rows serialised straight from
//! Arrow batches (no intermediate `serde_json::Value` table, so large results stay cheap).
//!
//! The conventions are Kusto's, shared by Defender and Graph: datetimes ISO 8601 UTC with
//! 7 fractional digits and `Z`; timespans `[-][d.]hh:mm:ss[.fffffff]`; reals as numbers,
//! but NaN/±Infinity as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`; decimals as
//! strings; dynamic as JSON; strings never null (`""`); every other null as `null`.

use bytes::Bytes;
use engine::types::array_to_values;
use engine::{KqlType, QueryResult, Value};
use kql_value::format::{format_datetime_full, format_real, format_timespan};
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value as Json;
use std::sync::Arc;

/// One cell as JSON.
pub(crate) fn cell(v: &Value, ty: KqlType) -> Json {
    if v.is_null() {
        return match ty {
            KqlType::String => Json::String(String::new()),
            _ => Json::Null,
        };
    }
    match ty {
        KqlType::Real => match v.as_f64() {
            Some(f) => real(f),
            None => Json::Null,
        },
        KqlType::Decimal => match v.as_f64() {
            Some(f) => Json::String(format_real(f)),
            None => Json::Null,
        },
        KqlType::DateTime => match v {
            Value::DateTime(ns) => Json::String(format_datetime_full(*ns)),
            _ => Json::Null,
        },
        KqlType::TimeSpan => match v {
            Value::TimeSpan(ns) => Json::String(format_timespan(*ns)),
            _ => Json::Null,
        },
        KqlType::Dynamic => match v {
            Value::Dynamic(j) => j.clone(),
            other => other.to_json(),
        },
        KqlType::String | KqlType::Guid => Json::String(v.to_kql_string()),
        KqlType::Bool | KqlType::Int | KqlType::Long => v.to_json(),
    }
}

/// A real: a JSON number when finite, else Kusto's string form.
pub(crate) fn real(f: f64) -> Json {
    match serde_json::Number::from_f64(f) {
        Some(n) if f.is_finite() => Json::Number(n),
        _ => Json::String(format_real(f)),
    }
}

/// A datetime (ns since the epoch) as the wire text.
pub(crate) fn datetime(ns: i64) -> Json {
    Json::String(format_datetime_full(ns))
}

/// How each row of a result is written.
#[derive(Clone, Copy)]
pub(crate) enum RowShape {
    /// `[v1, v2, ...]` (Kusto v1/v2).
    Array,
    /// `{"Column": v, ...}` (Defender, Graph).
    Object,
}

/// Rows streamed into a response: the result, their shape, and an object appended as
/// the last "row" (Kusto's OneApiErrors of a partial failure).
pub(crate) struct StreamedRows {
    pub result: Arc<QueryResult>,
    pub shape: RowShape,
    pub trailing: Option<Json>,
}

/// A response body put together from ready bytes and result rows, which are converted
/// to JSON one batch at a time as the client reads (no second copy of a large result).
#[derive(Default)]
pub(crate) struct BodyParts {
    parts: Vec<Part>,
    buf: Vec<u8>,
}

enum Part {
    Bytes(Bytes),
    Rows(StreamedRows),
}

impl BodyParts {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Writes `value`, whose last field must be an empty array (`[]`), and streams
    /// `rows` into that array.
    pub fn push_with_rows<T: Serialize>(
        &mut self,
        value: &T,
        rows: Option<StreamedRows>,
    ) -> Result<(), serde_json::Error> {
        let mut text = serde_json::to_vec(value)?;
        let Some(rows) = rows else {
            self.buf.extend_from_slice(&text);
            return Ok(());
        };
        if !text.ends_with(b"[]}") {
            return Err(serde_json::Error::custom(
                "the rows must be the last field of the object",
            ));
        }
        text.truncate(text.len() - 2);
        self.buf.extend_from_slice(&text);
        self.parts
            .push(Part::Bytes(Bytes::from(std::mem::take(&mut self.buf))));
        self.parts.push(Part::Rows(rows));
        self.buf.extend_from_slice(b"]}");
        Ok(())
    }

    /// The whole body at once (tests).
    #[cfg(test)]
    pub fn into_bytes(mut self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.parts
            .push(Part::Bytes(Bytes::from(std::mem::take(&mut self.buf))));
        for p in self.parts {
            match p {
                Part::Bytes(b) => out.extend_from_slice(&b),
                Part::Rows(r) => {
                    for chunk in row_chunks(r) {
                        out.extend_from_slice(&chunk?);
                    }
                }
            }
        }
        Ok(out)
    }

    pub fn into_body(mut self) -> axum::body::Body {
        if !self.buf.is_empty() {
            self.parts.push(Part::Bytes(Bytes::from(self.buf)));
        }
        let chunks = self.parts.into_iter().flat_map(
            |p| -> Box<dyn Iterator<Item = std::io::Result<Bytes>> + Send> {
                match p {
                    Part::Bytes(b) => Box::new(std::iter::once(Ok(b))),
                    Part::Rows(r) => Box::new(row_chunks(r)),
                }
            },
        );
        axum::body::Body::from_stream(futures::stream::iter(chunks))
    }
}

/// One chunk of JSON rows per batch, comma-separated across chunks.
fn row_chunks(rows: StreamedRows) -> impl Iterator<Item = std::io::Result<Bytes>> + Send {
    let StreamedRows {
        result,
        shape,
        mut trailing,
    } = rows;
    let mut next = 0;
    let mut any = false;
    std::iter::from_fn(move || {
        while next < result.batches.len() {
            let i = next;
            next += 1;
            if result.batches[i].num_rows() == 0 {
                continue;
            }
            let mut out = Vec::with_capacity(64 * 1024);
            if any {
                out.push(b',');
            }
            any = true;
            return Some(
                write_batch(&mut out, &result, i, shape)
                    .map(|_| Bytes::from(out))
                    .map_err(std::io::Error::other),
            );
        }
        let e = trailing.take()?;
        let mut out = Vec::new();
        if any {
            out.push(b',');
        }
        Some(
            serde_json::to_writer(&mut out, &e)
                .map(|_| Bytes::from(out))
                .map_err(std::io::Error::other),
        )
    })
}

fn write_batch(
    out: &mut Vec<u8>,
    r: &QueryResult,
    batch: usize,
    shape: RowShape,
) -> Result<(), String> {
    let b = &r.batches[batch];
    let cols = r
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| array_to_values(b.column(i), c.ty))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    for row in 0..b.num_rows() {
        if row > 0 {
            out.push(b',');
        }
        let written = match shape {
            RowShape::Array => serde_json::to_writer(
                &mut *out,
                &ArrayRow {
                    cols: &cols,
                    types: &r.columns,
                    row,
                },
            ),
            RowShape::Object => serde_json::to_writer(
                &mut *out,
                &ObjectRow {
                    cols: &cols,
                    types: &r.columns,
                    row,
                },
            ),
        };
        written.map_err(|e| e.to_string())?;
    }
    Ok(())
}

struct ArrayRow<'a> {
    cols: &'a [Vec<Value>],
    types: &'a [engine::Col],
    row: usize,
}

impl Serialize for ArrayRow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.cols.len()))?;
        for (c, col) in self.cols.iter().zip(self.types) {
            seq.serialize_element(&cell(&c[self.row], col.ty))?;
        }
        seq.end()
    }
}

struct ObjectRow<'a> {
    cols: &'a [Vec<Value>],
    types: &'a [engine::Col],
    row: usize,
}

impl Serialize for ObjectRow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.cols.len()))?;
        for (c, col) in self.cols.iter().zip(self.types) {
            map.serialize_entry(&col.name, &cell(&c[self.row], col.ty))?;
        }
        map.end()
    }
}

/// The bytes of the result's Arrow data (for Defender's `table_size`).
pub(crate) fn result_bytes(r: &QueryResult) -> usize {
    r.batches.iter().map(|b| b.get_array_memory_size()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_follow_kusto_conventions() {
        assert_eq!(cell(&Value::Null, KqlType::String), Json::String("".into()));
        assert_eq!(cell(&Value::Null, KqlType::Long), Json::Null);
        assert_eq!(cell(&Value::Real(f64::NAN), KqlType::Real), "NaN");
        assert_eq!(
            cell(&Value::Real(f64::NEG_INFINITY), KqlType::Real),
            "-Infinity"
        );
        assert_eq!(cell(&Value::Real(1.5), KqlType::Real), 1.5);
        assert_eq!(cell(&Value::Decimal(12.5), KqlType::Decimal), "12.5");
        assert_eq!(
            cell(
                &Value::DateTime(1_598_769_515_766_435_600),
                KqlType::DateTime
            ),
            "2020-08-30T06:38:35.7664356Z"
        );
        assert_eq!(
            cell(
                &Value::DateTime(1_598_769_515_000_000_000),
                KqlType::DateTime
            ),
            "2020-08-30T06:38:35.0000000Z"
        );
        assert_eq!(
            cell(&Value::TimeSpan(93_784_500_000_000), KqlType::TimeSpan),
            "1.02:03:04.5000000"
        );
        assert_eq!(
            cell(
                &Value::Dynamic(serde_json::json!({"a": [1]})),
                KqlType::Dynamic
            ),
            serde_json::json!({"a": [1]})
        );
    }
}
