//! Manifests: which Parquet segments make up a table, and how much of the WAL they
//! cover.
//!
//! `<Table>/manifest/<version>.json` (version zero-padded to 20 digits) is written once,
//! atomically (temp file, fsync, rename, fsync of the directory), and never changed.
//! The highest version is the table's state. Because a manifest names the last WAL
//! file whose frames are all inside its segments (`wal_covered_seq`), recovery replays
//! exactly the WAL files after it: nothing twice, nothing lost.

use super::error::{Result, StoreError};
use super::wal::sync_dir;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const FORMAT: u32 = 1;
/// Old versions kept for read-only readers that still look at them.
const KEEP_VERSIONS: usize = 16;

/// One Parquet segment: a file of one day partition, sorted by the time column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Relative to the table directory: `segments/date=YYYY-MM-DD/<uuid-v7>.parquet`.
    pub path: String,
    /// The day partition, `YYYY-MM-DD`.
    pub date: String,
    /// Smallest and largest time-column value (ns since the epoch, UTC); absent when
    /// the table has no time column or the file holds only nulls there.
    pub min_ts: Option<i64>,
    pub max_ts: Option<i64>,
    pub rows: u64,
    pub bytes: u64,
}

/// A table's state at one version. Segments are shared (`Arc`) between versions so the
/// store can tell when no snapshot uses a removed file any more.
#[derive(Debug, Clone, Default)]
pub(crate) struct Manifest {
    pub(crate) version: u64,
    pub(crate) wal_covered_seq: u64,
    pub(crate) segments: Vec<Arc<Segment>>,
}

#[derive(Serialize, Deserialize)]
struct ManifestFile {
    format: u32,
    table: String,
    version: u64,
    /// Every frame of WAL files with a sequence number up to this one is in `segments`.
    wal_covered_seq: u64,
    written_at: String,
    segments: Vec<Segment>,
}

fn file_name(version: u64) -> String {
    format!("{version:020}.json")
}

/// Manifest versions present in `dir`, oldest first.
pub(crate) fn list_versions(dir: &Path) -> Result<Vec<u64>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(StoreError::io(format!("listing {}", dir.display()), e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(format!("listing {}", dir.display()), e))?;
        if let Some(v) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<u64>().ok())
        {
            out.push(v);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The newest manifest in `dir`, or an empty version 0 when there is none.
pub(crate) fn load_latest(dir: &Path, table: &str) -> Result<Manifest> {
    let Some(&version) = list_versions(dir)?.last() else {
        return Ok(Manifest::default());
    };
    load(dir, table, version)
}

fn load(dir: &Path, table: &str, version: u64) -> Result<Manifest> {
    let path = dir.join(file_name(version));
    let corrupt = |message: String| StoreError::CorruptManifest {
        path: path.clone(),
        message,
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| StoreError::io(format!("reading manifest {}", path.display()), e))?;
    let file: ManifestFile = serde_json::from_str(&text)
        .map_err(|e| corrupt(format!("line {}, column {}: {e}", e.line(), e.column())))?;
    if file.format != FORMAT {
        return Err(corrupt(format!(
            "format {} is not supported (this clickhunt reads format {FORMAT})",
            file.format
        )));
    }
    if file.version != version {
        return Err(corrupt(format!(
            "the file says version {}, its name says {version}",
            file.version
        )));
    }
    if file.table != table {
        return Err(corrupt(format!(
            "the file describes table `{}`, it lives under `{table}`",
            file.table
        )));
    }
    for s in &file.segments {
        if !valid_segment_path(&s.path) {
            return Err(corrupt(format!("segment path `{}` is not valid", s.path)));
        }
    }
    Ok(Manifest {
        version,
        wal_covered_seq: file.wal_covered_seq,
        segments: file.segments.into_iter().map(Arc::new).collect(),
    })
}

/// Only paths the store itself writes: no `..`, no absolute paths.
fn valid_segment_path(p: &str) -> bool {
    p.starts_with("segments/")
        && p.ends_with(".parquet")
        && !p.split('/').any(|c| c.is_empty() || c == "." || c == "..")
}

/// Writes `m` as a new version file, atomically and durably.
pub(crate) fn write(dir: &Path, table: &str, m: &Manifest) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| StoreError::io(format!("creating {}", dir.display()), e))?;
    let file = ManifestFile {
        format: FORMAT,
        table: table.to_string(),
        version: m.version,
        wal_covered_seq: m.wal_covered_seq,
        written_at: chrono::Utc::now().to_rfc3339(),
        segments: m.segments.iter().map(|s| (**s).clone()).collect(),
    };
    let text = serde_json::to_string_pretty(&file)
        .map_err(|e| StoreError::Internal(format!("encoding manifest: {e}")))?;
    write_atomically(&dir.join(file_name(m.version)), text.as_bytes())
}

/// Removes versions older than the newest [`KEEP_VERSIONS`]; failures only leave files.
pub(crate) fn prune_old_versions(dir: &Path) {
    if let Ok(versions) = list_versions(dir) {
        let n = versions.len().saturating_sub(KEEP_VERSIONS);
        for v in &versions[..n] {
            let _ = std::fs::remove_file(dir.join(file_name(*v)));
        }
    }
}

/// temp file in the same directory + fsync + rename + fsync of the directory: a reader
/// (or a restart) sees the old file or the new one, never a torn one.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp: PathBuf = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        uuid::Uuid::now_v7()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(StoreError::io(format!("writing {}", path.display()), e));
    }
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_load_latest() {
        let dir = tempfile::tempdir().unwrap();
        let m = Manifest {
            version: 3,
            wal_covered_seq: 9,
            segments: vec![Arc::new(Segment {
                path: "segments/date=2024-03-26/x.parquet".into(),
                date: "2024-03-26".into(),
                min_ts: Some(1),
                max_ts: Some(2),
                rows: 10,
                bytes: 100,
            })],
        };
        write(dir.path(), "T", &m).unwrap();
        write(
            dir.path(),
            "T",
            &Manifest {
                version: 2,
                ..Manifest::default()
            },
        )
        .unwrap();
        let back = load_latest(dir.path(), "T").unwrap();
        assert_eq!(back.version, 3);
        assert_eq!(back.wal_covered_seq, 9);
        assert_eq!(back.segments, m.segments);
    }

    #[test]
    fn corrupt_json_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(file_name(1)), "{\n \"format\": 1,\n oops").unwrap();
        let e = load_latest(dir.path(), "T").unwrap_err().to_string();
        assert!(e.contains("00000000000000000001.json"), "{e}");
        assert!(e.contains("line 3"), "{e}");
    }

    #[test]
    fn segment_paths_cannot_escape_the_table() {
        assert!(valid_segment_path("segments/date=2024-01-01/a.parquet"));
        assert!(!valid_segment_path("segments/../../etc/a.parquet"));
        assert!(!valid_segment_path("/segments/a.parquet"));
    }
}
