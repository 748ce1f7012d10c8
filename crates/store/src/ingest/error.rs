//! What can go wrong while decoding: a whole input that cannot be read
//! ([`IngestError`]) and single rows that cannot be ingested ([`RowError`]).

use std::fmt;

/// How many bad rows an [`IngestError::BadRows`] lists; the rest are only counted.
pub const MAX_LISTED_ROW_ERRORS: usize = 10;

/// One row that could not be ingested, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// The input's name as the caller gave it (a file path, an upload name).
    pub source: String,
    /// 1-based line where the row starts (JSON, CSV); for Parquet the 1-based row number.
    pub line: usize,
    /// The column at fault, when one is.
    pub column: Option<String>,
    pub reason: String,
    /// The row's own text (JSON or CSV), so rejected rows can be fixed and re-ingested.
    /// `None` for Parquet rows.
    pub raw: Option<String>,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.source, self.line)?;
        if let Some(c) = &self.column {
            write!(f, "column {c}: ")?;
        }
        f.write_str(&self.reason)
    }
}

/// Why an input was not ingested at all.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{source_name}: cannot read: {error}")]
    Io {
        source_name: String,
        error: std::io::Error,
    },
    #[error("{source_name}: the input is empty")]
    Empty { source_name: String },
    /// The input is not in the format given or detected (not Parquet, no `records`
    /// array, a CSV header that matches no column...).
    #[error("{source_name}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Format {
        source_name: String,
        line: Option<usize>,
        message: String,
    },
    /// Rows of a plain format (JSON lines, CSV, Parquet) need a table name.
    #[error("{source_name}: no table given for {format} input (name one, or name the file <Table>.{ext})", ext = format.to_lowercase())]
    NoTable { source_name: String, format: String },
    /// The named table does not exist and `create_tables` is off.
    #[error("{source_name}: table '{table}'{} does not exist (name an existing table, or create this one from the file's columns with create_tables / --create-tables)", if *from_file_name { " (named after the file)" } else { "" })]
    UnknownTable {
        source_name: String,
        table: String,
        /// The name was taken from the file's name, not given.
        from_file_name: bool,
    },
    /// A table name was given for input that routes rows by its own `category`.
    #[error("{source_name}: a table name was given, but Defender streaming records are routed by their category")]
    TableForRoutedInput { source_name: String },
    /// Default mode: any bad row rejects the whole input. Lists the first rows at fault.
    #[error("{}", bad_rows_message(source_name, *total, rows))]
    BadRows {
        source_name: String,
        /// How many rows were bad in all.
        total: usize,
        /// The first [`MAX_LISTED_ROW_ERRORS`] of them.
        rows: Vec<RowError>,
    },
}

fn bad_rows_message(source: &str, total: usize, rows: &[RowError]) -> String {
    let mut m = format!(
        "{source}: {total} bad row{} (nothing was ingested; skip bad rows to ingest the rest):",
        if total == 1 { "" } else { "s" }
    );
    for r in rows {
        m.push_str("\n  line ");
        m.push_str(&r.line.to_string());
        if let Some(c) = &r.column {
            m.push_str(", column ");
            m.push_str(c);
        }
        m.push_str(": ");
        m.push_str(&r.reason);
    }
    if total > rows.len() {
        m.push_str(&format!("\n  ... and {} more", total - rows.len()));
    }
    m
}

impl IngestError {
    pub(crate) fn io(source: &str, error: std::io::Error) -> IngestError {
        IngestError::Io {
            source_name: source.to_string(),
            error,
        }
    }

    pub(crate) fn format(source: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        IngestError::Format {
            source_name: source.to_string(),
            line,
            message: message.into(),
        }
    }
}

/// At most `max` characters of `s`, for quoting a bad value in a message.
pub(crate) fn preview(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}... ({} bytes)", s.len())
    }
}
