//! Generated batches as files in every format ingest reads: Parquet (zstd), JSON lines,
//! the portal's CSV export, and Defender Streaming API (Storage) records.

use super::world::Rng;
use super::GenerateError;
use datafusion::arrow::array::{
    Array, AsArray, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampNanosecondArray,
};
use datafusion::arrow::datatypes::{Int32Type, Int64Type, TimestampNanosecondType};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;
use engine::{Col, KqlType};
use kql_value::format::{format_datetime, format_datetime_full};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// A file format the generator writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Parquet,
    Jsonl,
    /// The advanced hunting portal's CSV export.
    Csv,
    /// Streaming API → Storage records, one JSON envelope per line.
    Defender,
}

impl FileFormat {
    /// The file name extension; Defender files are JSON lines too.
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Parquet => "parquet",
            FileFormat::Jsonl => "jsonl",
            FileFormat::Csv => "csv",
            FileFormat::Defender => "defender.jsonl",
        }
    }
}

impl std::str::FromStr for FileFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "parquet" => FileFormat::Parquet,
            "jsonl" | "json" => FileFormat::Jsonl,
            "csv" => FileFormat::Csv,
            "defender" | "stream" => FileFormat::Defender,
            _ => {
                return Err(format!(
                    "unknown format '{s}' (parquet, jsonl, csv, defender)"
                ))
            }
        })
    }
}

/// Writes one table's file.
pub(crate) enum TableFile {
    Parquet(Box<ArrowWriter<BufWriter<File>>>),
    Text(Box<TextFile>),
}

pub(crate) struct TextFile {
    w: BufWriter<File>,
    format: FileFormat,
    table: String,
    cols: Vec<Col>,
    tenant_id: String,
    rng: Rng,
    line: String,
}

impl TableFile {
    pub(crate) fn create(
        path: &Path,
        table: &str,
        cols: &[Col],
        format: FileFormat,
        tenant_id: &str,
        seed: u64,
    ) -> Result<TableFile, GenerateError> {
        let file = File::create(path).map_err(|e| GenerateError::io(path, e))?;
        let w = BufWriter::with_capacity(1 << 20, file);
        if format == FileFormat::Parquet {
            // Statistics only where readers prune by them: min/max of every string
            // value would cost more than the rest of the encoding. zstd level 1, as
            // the store's segments: level 3 spent a fifth of the time compressing.
            let mut props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default()))
                .set_max_row_group_row_count(Some(1 << 18))
                .set_statistics_enabled(EnabledStatistics::None)
                .set_column_statistics_enabled(
                    ColumnPath::from("Timestamp"),
                    EnabledStatistics::Chunk,
                );
            // Ids are (nearly) unique: a dictionary costs time and saves nothing.
            for id in [
                "ReportId",
                "NetworkMessageId",
                "InternetMessageId",
                "SourceId",
            ] {
                if cols.iter().any(|c| c.name == id) {
                    props = props.set_column_dictionary_enabled(ColumnPath::from(id), false);
                }
            }
            let props = props.build();
            let writer = ArrowWriter::try_new(w, engine::Engine::arrow_schema(cols), Some(props))
                .map_err(|e| GenerateError::Write(format!("{}: {e}", path.display())))?;
            return Ok(TableFile::Parquet(Box::new(writer)));
        }
        let mut t = TextFile {
            w,
            format,
            table: table.to_string(),
            cols: cols.to_vec(),
            tenant_id: tenant_id.to_string(),
            rng: Rng::new(seed ^ 0x7E57),
            line: String::with_capacity(4096),
        };
        if format == FileFormat::Csv {
            let header: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
            let mut h = header.join(",");
            h.push_str("\r\n");
            t.w.write_all(h.as_bytes())
                .map_err(|e| GenerateError::io(path, e))?;
        }
        Ok(TableFile::Text(Box::new(t)))
    }

    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<(), GenerateError> {
        match self {
            TableFile::Parquet(w) => w
                .write(batch)
                .map_err(|e| GenerateError::Write(e.to_string())),
            TableFile::Text(t) => t.write(batch),
        }
    }

    pub(crate) fn finish(self) -> Result<(), GenerateError> {
        match self {
            TableFile::Parquet(w) => w
                .close()
                .map(drop)
                .map_err(|e| GenerateError::Write(e.to_string())),
            TableFile::Text(mut t) => t.w.flush().map_err(|e| GenerateError::Write(e.to_string())),
        }
    }
}

/// A column of a batch, downcast once.
enum View<'a> {
    Str(&'a StringArray, KqlType),
    Time(&'a TimestampNanosecondArray),
    Int(&'a Int32Array),
    Long(&'a Int64Array),
    Bool(&'a BooleanArray),
    Missing,
}

fn views<'a>(batch: &'a RecordBatch, cols: &[Col]) -> Vec<View<'a>> {
    cols.iter()
        .map(|c| match batch.column_by_name(&c.name) {
            None => View::Missing,
            Some(a) => match c.ty {
                KqlType::DateTime => a
                    .as_primitive_opt::<TimestampNanosecondType>()
                    .map_or(View::Missing, View::Time),
                KqlType::Int => a
                    .as_primitive_opt::<Int32Type>()
                    .map_or(View::Missing, View::Int),
                KqlType::Long => a
                    .as_primitive_opt::<Int64Type>()
                    .map_or(View::Missing, View::Long),
                KqlType::Bool => a.as_boolean_opt().map_or(View::Missing, View::Bool),
                ty => a
                    .as_string_opt::<i32>()
                    .map_or(View::Missing, |s| View::Str(s, ty)),
            },
        })
        .collect()
}

impl TextFile {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), GenerateError> {
        let cols = std::mem::take(&mut self.cols);
        let v = views(batch, &cols);
        let time_col = cols.iter().position(|c| c.name == "Timestamp");
        for row in 0..batch.num_rows() {
            self.line.clear();
            match self.format {
                FileFormat::Csv => csv_row(&mut self.line, &v, row),
                FileFormat::Defender => {
                    let t = time_col
                        .and_then(|i| match &v[i] {
                            View::Time(a) if a.is_valid(row) => Some(a.value(row)),
                            _ => None,
                        })
                        .unwrap_or(0);
                    self.envelope_start(t);
                    json_object(&mut self.line, &cols, &v, row, true);
                    self.line.push_str(",\"Tenant\":\"DefaultTenant\"}\n");
                }
                _ => {
                    json_object(&mut self.line, &cols, &v, row, false);
                    self.line.push('\n');
                }
            }
            self.w
                .write_all(self.line.as_bytes())
                .map_err(|e| GenerateError::Write(e.to_string()))?;
        }
        self.cols = cols;
        Ok(())
    }

    /// `{"time":...,"properties":` of a Storage record: Defender receives a row 0.5 to
    /// 2.5 minutes after it happened; `_TimeReceivedBySvc` sometimes lacks its `Z`.
    fn envelope_start(&mut self, t: i64) {
        let lag = (30 + self.rng.below(120) as i64) * 1_000_000_000
            + self.rng.below(10_000_000) as i64 * 100;
        let received = format_datetime_full(t);
        let received = if self.rng.chance(0.3) {
            received.trim_end_matches('Z')
        } else {
            &received
        };
        let l = &mut self.line;
        l.push_str("{\"time\":\"");
        l.push_str(&format_datetime_full(t + lag));
        l.push_str("\",\"tenantId\":\"");
        l.push_str(&self.tenant_id);
        l.push_str("\",\"operationName\":\"Publish\",\"category\":\"AdvancedHunting-");
        l.push_str(&self.table);
        l.push_str("\",\"_TimeReceivedBySvc\":\"");
        l.push_str(received);
        l.push_str("\",\"properties\":");
    }
}

/// `{"Col":value,...}`; `stream`: empty strings are JSON null, as streamed records have.
fn json_object(out: &mut String, cols: &[Col], v: &[View<'_>], row: usize, stream: bool) {
    out.push('{');
    for (i, (c, view)) in cols.iter().zip(v).enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_str(out, &c.name);
        out.push(':');
        match view {
            View::Str(a, ty) => {
                if a.is_null(row) || (stream && a.value(row).is_empty()) {
                    out.push_str("null");
                } else if *ty == KqlType::Dynamic {
                    out.push_str(a.value(row));
                } else {
                    json_str(out, a.value(row));
                }
            }
            View::Time(a) if a.is_valid(row) => {
                out.push('"');
                out.push_str(&format_datetime(a.value(row)));
                out.push('"');
            }
            View::Int(a) if a.is_valid(row) => out.push_str(&a.value(row).to_string()),
            View::Long(a) if a.is_valid(row) => out.push_str(&a.value(row).to_string()),
            View::Bool(a) if a.is_valid(row) => {
                out.push_str(if a.value(row) { "true" } else { "false" })
            }
            _ => out.push_str("null"),
        }
    }
    out.push('}');
}

/// The portal's export: bools as 0/1, empty fields for empty values, CRLF.
fn csv_row(out: &mut String, v: &[View<'_>], row: usize) {
    for (i, view) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match view {
            View::Str(a, _) if a.is_valid(row) => csv_field(out, a.value(row)),
            View::Time(a) if a.is_valid(row) => out.push_str(&format_datetime(a.value(row))),
            View::Int(a) if a.is_valid(row) => out.push_str(&a.value(row).to_string()),
            View::Long(a) if a.is_valid(row) => out.push_str(&a.value(row).to_string()),
            View::Bool(a) if a.is_valid(row) => out.push(if a.value(row) { '1' } else { '0' }),
            _ => {}
        }
    }
    out.push_str("\r\n");
}

fn csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\r', '\n']) {
        out.push('"');
        for ch in s.chars() {
            if ch == '"' {
                out.push('"');
            }
            out.push(ch);
        }
        out.push('"');
    } else {
        out.push_str(s);
    }
}

fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
