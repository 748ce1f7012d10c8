//! The store's error type. Every message names what the user can act on: the table,
//! the file (and byte offset or line), the command position.

use std::path::PathBuf;

/// Everything the store can fail with. Nothing in the store panics on bad input or bad
/// files; it returns one of these.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (or another `Store` in this process) holds the writer lock.
    #[error(
        "data directory {dir} is in use: another clickhunt process holds its writer lock \
         ({lock}); stop it, or open the directory read-only"
    )]
    Locked { dir: PathBuf, lock: PathBuf },

    /// A filesystem operation failed; `context` says which and on what path.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    #[error("unknown table `{name}`{hint}")]
    UnknownTable { name: String, hint: String },

    /// A batch or command does not fit the table's schema.
    #[error("table `{table}`: {message}")]
    Schema { table: String, message: String },

    /// A WAL frame in the middle of the log is damaged (a torn tail is repaired, not
    /// reported).
    #[error("corrupt WAL file {path} at byte {offset}: {reason}")]
    CorruptWal {
        path: PathBuf,
        offset: u64,
        reason: String,
    },

    #[error("corrupt manifest {path}: {message}")]
    CorruptManifest { path: PathBuf, message: String },

    #[error("corrupt catalog {path}: {message}")]
    CorruptCatalog { path: PathBuf, message: String },

    /// Reading or writing a Parquet segment failed.
    #[error("segment {path}: {message}")]
    Segment { path: String, message: String },

    /// A management command could not be parsed; the position is 1-based.
    #[error("line {line}, column {column}: {message}")]
    Command {
        message: String,
        line: usize,
        column: usize,
        /// Byte offset into the command text.
        offset: usize,
    },

    /// A well-formed command that cannot be carried out (dropping a built-in table...).
    #[error("{0}")]
    Rejected(String),

    #[error("the store at {0} is open read-only")]
    ReadOnly(PathBuf),

    #[error("the store is closed")]
    Closed,

    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn schema(table: &str, message: impl Into<String>) -> StoreError {
        StoreError::Schema {
            table: table.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn segment(path: impl Into<String>, message: impl ToString) -> StoreError {
        StoreError::Segment {
            path: path.into(),
            message: message.to_string(),
        }
    }

    /// An unknown table, with a "did you mean" when a known name is close.
    pub(crate) fn unknown_table<'a>(
        name: &str,
        known: impl IntoIterator<Item = &'a str>,
    ) -> StoreError {
        let lower = name.to_ascii_lowercase();
        let best = known
            .into_iter()
            .map(|k| (edit_distance(&lower, &k.to_ascii_lowercase()), k))
            .filter(|(d, k)| *d <= 2.max(k.len() / 4))
            .min_by_key(|(d, _)| *d);
        StoreError::UnknownTable {
            name: name.to_string(),
            hint: best
                .map(|(_, k)| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default(),
        }
    }
}

/// Levenshtein distance; table lists are short, so the quadratic version is fine.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
