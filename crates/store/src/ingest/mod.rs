//! Ingest decoders: the files hunters actually have, decoded into Arrow batches of the
//! tables' own schemas.
//!
//! | format | input | routing |
//! |---|---|---|
//! | [`Format::Defender`] | Streaming API → Event Hubs (`{"records":[...]}`) or → Storage (one envelope per line) | by `category` = `AdvancedHunting-<Table>` |
//! | [`Format::Csv`] | the portal's "Export" CSV (header row, CRLF, `0`/`1` bools) or any CSV with a header | one table |
//! | [`Format::Jsonl`] | one JSON object per line, keys = column names | one table |
//! | [`Format::Parquet`] | columns named as the table's, any timestamp unit | one table |
//!
//! Any of them may be gzip-compressed (detected by its magic bytes), and
//! [`Format::Auto`] tells them apart by their first bytes (see `detect.rs`).
//!
//! Invariants: no input makes a decoder panic; no record is dropped silently (a bad row
//! is a [`RowError`], a record of an unknown table is counted in [`Decoded::unknown`],
//! a key that is no column of its table is listed in [`Decoded::ignored_columns`]).
//! By default one bad row rejects the whole input ([`IngestError::BadRows`]), so a file
//! is ingested entirely or not at all; [`DecodeOptions::skip_bad_rows`] ingests the rest.
//!
//! Schemas come from the caller's lookup ([`SchemaLookup`]), so this module knows
//! nothing of the store's catalog; [`builtin_schema`] is the lookup of the built-in
//! Defender tables alone.

mod coerce;
mod csv_export;
mod defender_stream;
mod detect;
mod error;
mod jsonl;
mod parquet;
mod sink;

pub use coerce::DEFAULT_MAX_VALUE_BYTES;
pub use error::{IngestError, RowError, MAX_LISTED_ROW_ERRORS};

use datafusion::arrow::record_batch::RecordBatch;
use engine::Col;
use sink::Router;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{Cursor, Read};
use std::path::Path;
use std::sync::Arc;

/// The columns of a table, or `None` when there is no such table.
pub type SchemaLookup<'a> = &'a dyn Fn(&str) -> Option<Vec<Col>>;

/// The schema lookup of the built-in Defender tables (no user tables).
pub fn builtin_schema(table: &str) -> Option<Vec<Col>> {
    engine::catalog::builtin_schema(table)
}

/// An input format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Detect from the first bytes.
    #[default]
    Auto,
    /// Defender Streaming API records, Event Hubs or Storage form.
    Defender,
    Jsonl,
    Csv,
    Parquet,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Defender => "defender",
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "auto" => Format::Auto,
            "defender" | "stream" => Format::Defender,
            "jsonl" | "json" | "ndjson" => Format::Jsonl,
            "csv" => Format::Csv,
            "parquet" => Format::Parquet,
            _ => {
                return Err(format!(
                    "unknown format '{s}' (auto, defender, jsonl, csv, parquet)"
                ))
            }
        })
    }
}

/// Called with the number of rows decoded so far (for progress bars).
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

/// How to decode.
#[derive(Clone)]
pub struct DecodeOptions {
    /// The table of a plain format (JSON lines, CSV, Parquet). When `None`, the source
    /// name's file stem is used (`UrlClickEvents.csv.gz` → `UrlClickEvents`). Must be
    /// `None` for Defender streaming records, which name their own tables.
    pub table: Option<String>,
    /// Rows of a table the lookup does not know create it: its columns are inferred
    /// (from a Parquet file's schema, or from the values) and listed in
    /// [`Decoded::created`] so the caller can create the table.
    pub create_tables: bool,
    /// Ingest the good rows and return the bad ones in [`Decoded::rejected`], instead
    /// of rejecting the whole input.
    pub skip_bad_rows: bool,
    /// Rows per output batch (at most 65 536).
    pub batch_rows: usize,
    /// The largest value accepted, in bytes (Kusto's limit, 1 MiB, by default).
    pub max_value_bytes: usize,
    pub progress: Option<Progress>,
    /// Send each finished batch here as it is built instead of keeping it in
    /// [`Decoded::batches`] (for loading while decoding). When decoding then fails,
    /// what was sent must be discarded.
    pub stream: Option<std::sync::mpsc::SyncSender<(String, RecordBatch)>>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            table: None,
            create_tables: false,
            skip_bad_rows: false,
            batch_rows: 65_536,
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
            progress: None,
            stream: None,
        }
    }
}

impl fmt::Debug for DecodeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeOptions")
            .field("table", &self.table)
            .field("create_tables", &self.create_tables)
            .field("skip_bad_rows", &self.skip_bad_rows)
            .field("batch_rows", &self.batch_rows)
            .field("max_value_bytes", &self.max_value_bytes)
            .finish_non_exhaustive()
    }
}

/// A table to create before appending its batches: its columns were inferred.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTable {
    pub name: String,
    pub columns: Vec<Col>,
}

/// What an input decoded to.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The format decoded (never `Auto`).
    pub format: Format,
    /// (table, batch) in input order; each batch has the table's Arrow schema
    /// (`engine::Engine::arrow_schema` of its columns). Empty when the batches were
    /// streamed ([`DecodeOptions::stream`]).
    pub batches: Vec<(String, RecordBatch)>,
    /// Rows decoded per table (kept or streamed).
    pub rows: BTreeMap<String, usize>,
    /// Rows skipped because they were bad (only with `skip_bad_rows`).
    pub rejected: Vec<RowError>,
    /// Records of tables the lookup does not know (and were not created), by table.
    pub unknown: BTreeMap<String, usize>,
    /// Tables to create (with `create_tables`), before appending their batches.
    pub created: Vec<NewTable>,
    /// Keys/columns of the input that are no column of their table, by table.
    pub ignored_columns: BTreeMap<String, BTreeSet<String>>,
}

impl Decoded {
    /// Rows decoded per table.
    pub fn rows_by_table(&self) -> BTreeMap<String, usize> {
        self.rows.clone()
    }

    pub fn total_rows(&self) -> usize {
        self.rows.values().sum()
    }
}

/// Decodes an input held in memory. `source` names it in errors.
pub fn decode(
    input: &[u8],
    source: &str,
    format: Format,
    opts: &DecodeOptions,
    schema_of: SchemaLookup<'_>,
) -> Result<Decoded, IngestError> {
    decode_reader(Cursor::new(input), source, format, opts, schema_of)
}

/// Decodes a file; its path is the source name.
pub fn decode_file(
    path: &Path,
    format: Format,
    opts: &DecodeOptions,
    schema_of: SchemaLookup<'_>,
) -> Result<Decoded, IngestError> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| IngestError::io(&source, e))?;
    decode_reader(
        std::io::BufReader::with_capacity(1 << 20, file),
        &source,
        format,
        opts,
        schema_of,
    )
}

/// Decodes a stream. JSON lines and CSV are decoded as they are read; Parquet and Event
/// Hubs messages are read whole first.
pub fn decode_reader<R: Read>(
    input: R,
    source: &str,
    format: Format,
    opts: &DecodeOptions,
    schema_of: SchemaLookup<'_>,
) -> Result<Decoded, IngestError> {
    let mut router = Router::new(source, opts, schema_of);
    let format = decode_into(Box::new(input), format, &mut router, 0)?;
    router.finish(format)
}

/// How many bytes are read to detect the format.
const HEAD_BYTES: usize = 16 << 10;

fn decode_into(
    mut input: Box<dyn Read + '_>,
    format: Format,
    router: &mut Router<'_>,
    gzip_depth: usize,
) -> Result<Format, IngestError> {
    let source = router.source;
    let in_gzip = gzip_depth > 0;
    let head = read_head(&mut input, HEAD_BYTES).map_err(|e| read_error(source, e, in_gzip))?;
    let at_eof = head.len() < HEAD_BYTES;
    let kind = detect::sniff(&head);
    let reader = Cursor::new(head.clone()).chain(input);
    if kind == detect::Kind::Gzip {
        if gzip_depth >= 2 {
            return Err(IngestError::format(
                source,
                None,
                "gzip nested more than twice",
            ));
        }
        let inner = flate2::read::MultiGzDecoder::new(reader);
        return decode_into(Box::new(inner), format, router, gzip_depth + 1);
    }
    if at_eof && detect::is_blank(&head) {
        return Err(IngestError::Empty {
            source_name: source.to_string(),
        });
    }
    let format = match (format, kind) {
        (Format::Auto, detect::Kind::Parquet) => Format::Parquet,
        (Format::Auto, detect::Kind::EventHub) => Format::Defender,
        (Format::Auto, detect::Kind::Csv) => Format::Csv,
        (Format::Auto, _) => Format::Auto, // JSON lines: plain or stream, by the first line
        (f, _) => f,
    };
    let read_err = |e| read_error(source, e, in_gzip);
    match format {
        Format::Parquet => {
            let bytes = read_all(reader).map_err(read_err)?;
            let table = plain_table(router, "Parquet")?;
            parquet::decode(bytes, table, router)?;
            Ok(Format::Parquet)
        }
        Format::Defender if kind == detect::Kind::EventHub => {
            no_table_for_routed(router)?;
            let bytes = read_all(reader).map_err(read_err)?;
            defender_stream::decode_event_hub(&bytes, router)?;
            Ok(Format::Defender)
        }
        Format::Defender => {
            no_table_for_routed(router)?;
            jsonl::decode(reader, router, jsonl::Mode::Stream, in_gzip)
        }
        Format::Csv => {
            let table = plain_table(router, "CSV")?;
            csv_export::decode(reader, table, router, in_gzip)?;
            Ok(Format::Csv)
        }
        Format::Jsonl => jsonl::decode(reader, router, jsonl::Mode::Plain, in_gzip),
        Format::Auto => jsonl::decode(reader, router, jsonl::Mode::Auto, in_gzip),
    }
}

fn no_table_for_routed(router: &Router<'_>) -> Result<(), IngestError> {
    match router.opts.table {
        Some(_) => Err(IngestError::TableForRoutedInput {
            source_name: router.source.to_string(),
        }),
        None => Ok(()),
    }
}

/// The one table of a plain-format input, with its columns (`None`: to be inferred).
pub(crate) struct PlainTable {
    pub(crate) name: String,
    pub(crate) cols: Option<Vec<Col>>,
}

fn plain_table(router: &Router<'_>, format: &str) -> Result<PlainTable, IngestError> {
    let source = router.source;
    let given = router.opts.table.clone();
    let from_name = given.is_none();
    let Some(name) = given.or_else(|| table_from_source_name(source)) else {
        return Err(IngestError::NoTable {
            source_name: source.to_string(),
            format: format.to_string(),
        });
    };
    if let Some(cols) = router.schema_of(&name) {
        return Ok(PlainTable {
            name,
            cols: Some(cols),
        });
    }
    if router.opts.create_tables && valid_table_name(&name) {
        return Ok(PlainTable { name, cols: None });
    }
    if router.opts.create_tables {
        return Err(IngestError::format(
            source,
            None,
            format!(
                "'{name}' is not a valid table name (letters, digits and '_', not starting with a digit)"
            ),
        ));
    }
    Err(IngestError::UnknownTable {
        source_name: source.to_string(),
        table: name,
        from_file_name: from_name,
    })
}

/// The table a file is named after: its name up to the first dot
/// (`out/UrlClickEvents.csv.gz` → `UrlClickEvents`).
pub fn table_from_source_name(source: &str) -> Option<String> {
    let file = source.rsplit(['/', '\\']).next()?;
    let stem = file.split('.').next()?;
    (!stem.is_empty()).then(|| stem.to_string())
}

/// Table names the store can create: an identifier of at most 255 characters.
pub fn valid_table_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 255
}

fn read_head(r: &mut dyn Read, n: usize) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    r.take(n as u64).read_to_end(&mut head)?;
    Ok(head)
}

fn read_all(mut r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::new();
    r.read_to_end(&mut v)?;
    Ok(v)
}

/// Read errors inside gzip data mean the compressed data is bad, not the disk.
pub(crate) fn read_error(source: &str, e: std::io::Error, in_gzip: bool) -> IngestError {
    use std::io::ErrorKind::*;
    match e.kind() {
        InvalidData | InvalidInput | UnexpectedEof if in_gzip => {
            IngestError::format(source, None, format!("corrupt or truncated gzip data: {e}"))
        }
        _ => IngestError::io(source, e),
    }
}
