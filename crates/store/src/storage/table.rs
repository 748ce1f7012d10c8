//! One table's live state: its manifest, its memtable, its WAL position, and the
//! snapshots readers take of them.
//!
//! Locking: `view` is a short `RwLock` (readers clone `Arc`s and batch handles under
//! it; the WAL writer pushes one batch under it), so queries never wait on I/O and the
//! writer never waits on a query. `wal` is touched only by the WAL writer thread.
//! `maintenance` serialises everything that writes a manifest (flush, retention,
//! compaction) for this table.

use super::error::{Result, StoreError};
use super::manifest::{self, Manifest, Segment};
use super::memtable::Memtable;
use super::provider::ScanStats;
use super::schema::{conform, Fit};
use super::wal;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Instant;

#[derive(Debug)]
pub(crate) struct TableShared {
    pub(crate) name: String,
    /// `<root>/<name>`.
    pub(crate) dir: PathBuf,
    pub(crate) schema: RwLock<SchemaRef>,
    pub(crate) view: RwLock<TableView>,
    pub(crate) wal: Mutex<WalState>,
    pub(crate) maintenance: tokio::sync::Mutex<()>,
    pub(crate) last_scan: Mutex<Option<ScanStats>>,
    /// An automatic flush has been scheduled and not finished.
    pub(crate) flush_scheduled: AtomicBool,
    /// Set by `.drop table`: appends fail, the WAL writer closes its file.
    pub(crate) dropped: AtomicBool,
    /// Segments removed from the manifest, deleted once no snapshot uses them.
    pub(crate) graveyard: Mutex<Vec<Grave>>,
    /// Orphaned segment files (from a crash between segment write and manifest write)
    /// are looked for once per open.
    pub(crate) orphans_checked: AtomicBool,
    /// Read-only stores: what the directory looked like at the last reload.
    pub(crate) fingerprint: Mutex<Option<Fingerprint>>,
}

#[derive(Debug, Default)]
pub(crate) struct TableView {
    pub(crate) manifest: Arc<Manifest>,
    /// Rows being flushed: still served from memory until the manifest that holds
    /// them is installed.
    pub(crate) frozen: Option<Frozen>,
    pub(crate) active: Memtable,
}

#[derive(Debug)]
pub(crate) struct Frozen {
    pub(crate) mem: Memtable,
    /// The last WAL file whose frames are all in `mem` (or in segments already).
    pub(crate) covered_seq: u64,
}

#[derive(Debug, Default)]
pub(crate) struct WalState {
    /// The highest WAL sequence number in use or covered.
    pub(crate) last_seq: u64,
    pub(crate) file: Option<OpenWal>,
    /// The next WAL file, being prepared in the background (see `wal::prepare_spare`).
    pub(crate) spare: Option<Spare>,
    /// A spare failed: no new one before this time.
    pub(crate) spare_retry_at: Option<Instant>,
    /// After a write failure that could not be undone, appends are refused until the
    /// store is reopened (which repairs the tail).
    pub(crate) poisoned: Option<String>,
}

#[derive(Debug)]
pub(crate) struct OpenWal {
    pub(crate) seq: u64,
    pub(crate) file: File,
    /// Where the next frame goes.
    pub(crate) len: u64,
    /// The file's size when it was opened: frames below it overwrite prepared zeros.
    pub(crate) prepared: u64,
}

/// A spare WAL file for sequence `seq`, ready when its preparing thread answers.
#[derive(Debug)]
pub(crate) struct Spare {
    pub(crate) seq: u64,
    pub(crate) ready: std::sync::mpsc::Receiver<Result<(File, PathBuf)>>,
}

#[derive(Debug)]
pub(crate) struct Grave {
    pub(crate) path: String,
    pub(crate) segment: Weak<Segment>,
    pub(crate) since: Instant,
}

#[derive(Debug, PartialEq, Eq, Clone)]
pub(crate) struct Fingerprint {
    manifest_version: Option<u64>,
    wal: Vec<(u64, u64, Option<std::time::SystemTime>)>,
}

/// What a reader sees: one manifest version plus the memtable batches of that moment.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) manifest: Arc<Manifest>,
    pub(crate) batches: Vec<RecordBatch>,
}

/// The result of replaying a table's WAL on open.
struct Recovered {
    manifest: Manifest,
    active: Memtable,
    last_seq: u64,
}

impl TableShared {
    pub(crate) fn manifest_dir(&self) -> PathBuf {
        self.dir.join("manifest")
    }

    pub(crate) fn wal_dir(&self) -> PathBuf {
        self.dir.join("wal")
    }

    pub(crate) fn schema(&self) -> SchemaRef {
        self.schema
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn read_view(&self) -> std::sync::RwLockReadGuard<'_, TableView> {
        self.view.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write_view(&self) -> std::sync::RwLockWriteGuard<'_, TableView> {
        self.view.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let v = self.read_view();
        let mut batches = Vec::new();
        if let Some(f) = &v.frozen {
            batches.extend_from_slice(f.mem.batches());
        }
        batches.extend_from_slice(v.active.batches());
        Snapshot {
            manifest: v.manifest.clone(),
            batches,
        }
    }

    /// Opens a table directory: latest manifest plus the WAL after it. A writer also
    /// repairs a torn WAL tail and deletes WAL files the manifest already covers.
    pub(crate) fn open(root: &Path, name: &str, schema: SchemaRef, writable: bool) -> Result<Self> {
        let dir = root.join(name);
        let rec = recover(&dir, name, &schema, writable)?;
        Ok(TableShared {
            name: name.to_string(),
            dir,
            schema: RwLock::new(schema),
            view: RwLock::new(TableView {
                manifest: Arc::new(rec.manifest),
                frozen: None,
                active: rec.active,
            }),
            wal: Mutex::new(WalState {
                last_seq: rec.last_seq,
                file: None,
                spare: None,
                spare_retry_at: None,
                poisoned: None,
            }),
            maintenance: tokio::sync::Mutex::new(()),
            last_scan: Mutex::new(None),
            flush_scheduled: AtomicBool::new(false),
            dropped: AtomicBool::new(false),
            graveyard: Mutex::new(Vec::new()),
            orphans_checked: AtomicBool::new(false),
            fingerprint: Mutex::new(None),
        })
    }

    /// Read-only stores follow a writer in another process: when the manifest or WAL
    /// directory changed since the last look, state is reloaded from disk.
    pub(crate) fn refresh_read_only(&self) -> Result<()> {
        let schema = self.schema();
        for _ in 0..5 {
            let before = fingerprint(&self.dir)?;
            {
                let fp = self.fingerprint.lock().unwrap_or_else(|e| e.into_inner());
                if fp.as_ref() == Some(&before) {
                    return Ok(());
                }
            }
            let rec = match recover(&self.dir, &self.name, &schema, false) {
                Ok(r) => r,
                // The writer deleted a WAL file between listing and reading: try again.
                Err(StoreError::Io { .. }) => continue,
                Err(e) => return Err(e),
            };
            // A flush that finished while we read would make us miss or double rows.
            let after = fingerprint(&self.dir)?;
            if after.manifest_version != before.manifest_version {
                continue;
            }
            let mut v = self.write_view();
            v.manifest = Arc::new(rec.manifest);
            v.frozen = None;
            v.active = rec.active;
            drop(v);
            // A file time can stay the same across writes a few ms apart: a file
            // written within the last second is read again next time.
            let settled = before.wal.iter().all(|(_, _, modified)| {
                modified.is_some_and(|m| m.elapsed().is_ok_and(|age| age.as_secs() >= 1))
            });
            *self.fingerprint.lock().unwrap_or_else(|e| e.into_inner()) = settled.then_some(before);
            return Ok(());
        }
        Ok(())
    }
}

fn fingerprint(dir: &Path) -> Result<Fingerprint> {
    let manifest_version = manifest::list_versions(&dir.join("manifest"))?
        .last()
        .copied();
    let mut wal = Vec::new();
    for (seq, path) in wal::list_files(&dir.join("wal"))? {
        // Frames written to a prepared file change its time, not its size.
        let (len, modified) = std::fs::metadata(&path)
            .map(|m| (m.len(), m.modified().ok()))
            .unwrap_or((0, None));
        wal.push((seq, len, modified));
    }
    Ok(Fingerprint {
        manifest_version,
        wal,
    })
}

fn recover(dir: &Path, name: &str, schema: &SchemaRef, writable: bool) -> Result<Recovered> {
    let manifest = manifest::load_latest(&dir.join("manifest"), name)?;
    let covered = manifest.wal_covered_seq;
    let files = wal::list_files(&dir.join("wal"))?;
    if writable {
        wal::remove_spares(&dir.join("wal"));
    }
    let mut last_seq = covered;
    let mut active = Memtable::default();
    let newest = files.last().map(|(s, _)| *s);
    for (seq, path) in &files {
        last_seq = last_seq.max(*seq);
        if *seq <= covered {
            // Flushed already; the crash came between manifest write and WAL cleanup.
            if writable {
                let _ = std::fs::remove_file(path);
            }
            continue;
        }
        let contents = wal::read_file(path, *seq)?;
        if let Some(d) = &contents.damage {
            if Some(*seq) != newest {
                return Err(StoreError::CorruptWal {
                    path: path.clone(),
                    offset: d.offset,
                    reason: format!(
                        "{} (only the newest WAL file may end in a torn frame)",
                        d.reason
                    ),
                });
            }
            if writable {
                if contents.good_len < wal::HEADER_LEN {
                    std::fs::remove_file(path).map_err(|e| {
                        StoreError::io(format!("removing torn WAL file {}", path.display()), e)
                    })?;
                } else {
                    wal::truncate(path, contents.good_len)?;
                }
            }
        }
        for b in contents.batches {
            let fitted = conform(&b, schema, Fit::Lenient).map_err(|e| StoreError::CorruptWal {
                path: path.clone(),
                offset: 0,
                reason: format!("a frame does not fit table `{name}`: {e}"),
            })?;
            active.push(fitted);
        }
    }
    Ok(Recovered {
        manifest,
        active,
        last_seq,
    })
}
