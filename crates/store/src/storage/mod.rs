//! The storage engine: WAL with group commit → memtable → zstd Parquet segments in
//! day partitions → versioned manifest, plus retention, compaction and the DataFusion
//! `TableProvider` that queries a snapshot of it all.
//!
//! Layout under the data directory (see `docs/ARCHITECTURE.md`):
//!
//! ```text
//! LOCK                                   writer lock (flock), holds the writer's pid
//! catalog.json                           tables, schemas, retention
//! <Table>/wal/<seq>.wal                  checksummed frames of Arrow IPC (wal.rs)
//! <Table>/manifest/<version>.json        segments + WAL position covered (manifest.rs)
//! <Table>/segments/date=YYYY-MM-DD/<uuid-v7>.parquet   via object_store (segment.rs)
//! ```
//!
//! Rooms: `writer.rs` (group commit thread), `table.rs` (one table's state and
//! snapshots), `maintenance.rs` (flush, retention, compaction, file GC),
//! `provider.rs` (query path), `management.rs` (Kusto control commands).

mod error;
mod lock;
mod maintenance;
mod management;
mod manifest;
mod memtable;
mod provider;
mod schema;
mod segment;
mod table;
mod wal;
mod writer;

pub use error::StoreError;
pub use maintenance::{CompactionReport, FlushReport, RetentionReport};
pub use manifest::Segment;
pub use provider::ScanStats;
pub use writer::AppendAck;

pub(crate) use manifest::write_atomically;

use crate::catalog::Catalog;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use engine::{Col, Engine};
use error::Result;
use lock::DirLock;
use object_store::ObjectStore;
use schema::{conform, Fit};
use segment::SegmentStore;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use table::TableShared;
use writer::WalWriter;

/// Tuning knobs. The defaults suit a laptop-sized deployment.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Flush a table's memtable once it holds this many bytes of Arrow data.
    pub flush_bytes: usize,
    /// ...or once its oldest row is this old (checked by the background task).
    pub flush_age: Duration,
    /// Compaction merges the segments of a day that are smaller than this.
    pub compact_below_bytes: u64,
    /// A bulk load encodes a stage (a row group per day) each time this many bytes of
    /// rows are buffered.
    pub bulk_stage_bytes: usize,
    /// A segment removed by compaction or retention is deleted once no snapshot in
    /// this process uses it and this long has passed (read-only processes on the
    /// same directory may still be reading it).
    pub gc_grace: Duration,
    /// Where segments live; `None` is the data directory itself (`LocalFileSystem`).
    pub object_store: Option<Arc<dyn ObjectStore>>,
    /// Run the background task (flush by age, file GC) on the tokio runtime of the
    /// first append. Off, flushing happens by size, explicitly, and on `close`.
    pub background: bool,
    /// WAL files are prepared (written with zeros and synced ahead of use) at this
    /// size, so that acknowledging an append costs an fsync of data only, without
    /// growing the file. 0 appends to plain files.
    pub wal_prepared_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            flush_bytes: 64 << 20,
            flush_age: Duration::from_secs(300),
            compact_below_bytes: 64 << 20,
            bulk_stage_bytes: 512 << 20,
            gc_grace: Duration::from_secs(60),
            object_store: None,
            background: true,
            wal_prepared_bytes: 32 << 20,
        }
    }
}

/// Rows of one table on their way in as a unit: see [`Store::bulk_load`].
pub struct BulkLoad {
    store: Store,
    table: Arc<TableShared>,
    buffered: Vec<RecordBatch>,
    buffered_bytes: usize,
    /// One open file per day (`None` while a stage is being written into them).
    writers: Option<BTreeMap<i64, maintenance::DayWriter>>,
    /// The stage being written (one at a time, beside the caller's decoding).
    in_flight: Option<tokio::task::JoinHandle<Result<BTreeMap<i64, maintenance::DayWriter>>>>,
    rows: u64,
}

impl BulkLoad {
    /// Adds rows (fitted to the table's schema as [`Store::append`] does). Every
    /// [`StoreOptions::bulk_stage_bytes`] of buffered rows are sorted, split by day and
    /// encoded as one more row group of each day's file; the files are stored on commit.
    pub async fn add(&mut self, batch: RecordBatch) -> Result<(), StoreError> {
        let batch = conform(&batch, &self.table.schema(), Fit::Strict)
            .map_err(|m| StoreError::schema(&self.table.name, m))?;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.rows += batch.num_rows() as u64;
        self.buffered_bytes += batch.get_array_memory_size();
        self.buffered.push(batch);
        if self.buffered_bytes >= self.store.inner.options.bulk_stage_bytes {
            self.stage().await?;
        }
        Ok(())
    }

    /// Starts encoding the buffered rows in the background, after the previous stage.
    async fn stage(&mut self) -> Result<(), StoreError> {
        self.wait_in_flight().await?;
        let batches = std::mem::take(&mut self.buffered);
        self.buffered_bytes = 0;
        let writers = self.writers.take().unwrap_or_default();
        let table = self.table.clone();
        self.in_flight = Some(tokio::spawn(async move {
            maintenance::write_stage(&table, writers, batches).await
        }));
        Ok(())
    }

    async fn wait_in_flight(&mut self) -> Result<(), StoreError> {
        if let Some(task) = self.in_flight.take() {
            let writers = task.await.map_err(|e| {
                StoreError::Internal(format!("writing a bulk load stage failed: {e}"))
            })??;
            self.writers = Some(writers);
        }
        Ok(())
    }

    /// Rows added so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Encodes what is buffered, stores one segment per day and lists them all in a
    /// new manifest version: from here on queries see all the rows. Returns the rows.
    pub async fn commit(mut self) -> Result<u64, StoreError> {
        if !self.buffered.is_empty() {
            self.stage().await?;
        }
        self.wait_in_flight().await?;
        let writers = self.writers.take().unwrap_or_default();
        let inner = &self.store.inner;
        let segments = maintenance::finish_day_files(inner, &self.table, writers).await?;
        if let Err(e) = maintenance::install_segments(inner, &self.table, segments.clone()).await {
            for s in &segments {
                let _ = inner.segments.delete(&self.table.name, &s.path).await;
            }
            return Err(e);
        }
        Ok(self.rows)
    }

    /// Drops the load: nothing of it was stored, nothing becomes visible.
    pub async fn abort(mut self) {
        let _ = self.wait_in_flight().await;
    }
}

/// A data directory opened for writing (one per directory, enforced by a lock) or
/// read-only (any number, beside a writer). Cheap to clone; clones share everything.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<StoreInner>,
}

#[derive(Debug)]
pub(crate) struct StoreInner {
    root: PathBuf,
    options: StoreOptions,
    read_only: bool,
    lock: Mutex<Option<DirLock>>,
    catalog: RwLock<Catalog>,
    tables: RwLock<BTreeMap<String, Arc<TableShared>>>,
    segments: Arc<SegmentStore>,
    writer: Option<WalWriter>,
    /// Set by `close`: no new appends or maintenance start.
    closing: AtomicBool,
    background_started: AtomicBool,
    /// Serialises management commands that change the catalog.
    ddl: tokio::sync::Mutex<()>,
}

/// One table's storage state, for diagnostics and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct TableStats {
    pub manifest_version: u64,
    pub wal_covered_seq: u64,
    pub segments: Vec<Segment>,
    pub memtable_rows: usize,
    pub memtable_bytes: usize,
}

impl Store {
    /// Opens (creating if needed) a data directory as its single writer, replaying
    /// the WAL of every table.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        Store::open_with(root, StoreOptions::default())
    }

    pub fn open_with(root: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        Store::open_inner(root, options, false)
    }

    /// Opens an existing data directory for queries only. Takes no lock, so it works
    /// beside a writer; each scan picks up the writer's newest manifest and WAL.
    pub fn open_read_only(root: &Path) -> Result<Store, StoreError> {
        Store::open_read_only_with(root, StoreOptions::default())
    }

    pub fn open_read_only_with(root: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        Store::open_inner(root, options, true)
    }

    fn open_inner(root: &Path, options: StoreOptions, read_only: bool) -> Result<Store> {
        if read_only {
            if !root.is_dir() {
                return Err(StoreError::io(
                    format!("opening data directory {} read-only", root.display()),
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
                ));
            }
        } else {
            std::fs::create_dir_all(root).map_err(|e| {
                StoreError::io(format!("creating data directory {}", root.display()), e)
            })?;
        }
        let root = std::fs::canonicalize(root)
            .map_err(|e| StoreError::io(format!("resolving {}", root.display()), e))?;
        let lock = if read_only {
            None
        } else {
            Some(DirLock::acquire(&root)?)
        };
        let catalog = Catalog::load(&root)?;
        if !read_only && !Catalog::path(&root).exists() {
            catalog.save(&root)?;
        }
        let (store, local_root): (Arc<dyn ObjectStore>, Option<PathBuf>) =
            match &options.object_store {
                Some(s) => (s.clone(), None),
                None => {
                    let fs = object_store::local::LocalFileSystem::new_with_prefix(&root)
                        .map_err(|e| StoreError::segment(root.display().to_string(), e))?
                        .with_automatic_cleanup(true);
                    (Arc::new(fs), Some(root.clone()))
                }
            };
        let mut tables = BTreeMap::new();
        for def in catalog.tables() {
            let schema = Engine::arrow_schema(&def.columns);
            let t = TableShared::open(&root, &def.name, schema, !read_only)?;
            tables.insert(def.name.clone(), Arc::new(t));
        }
        let writer = if read_only {
            None
        } else {
            Some(WalWriter::start(options.wal_prepared_bytes)?)
        };
        Ok(Store {
            inner: Arc::new(StoreInner {
                root,
                options,
                read_only,
                lock: Mutex::new(lock),
                catalog: RwLock::new(catalog),
                tables: RwLock::new(tables),
                segments: Arc::new(SegmentStore::new(store, local_root)?),
                writer,
                closing: AtomicBool::new(false),
                background_started: AtomicBool::new(false),
                ddl: tokio::sync::Mutex::new(()),
            }),
        })
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    /// A copy of the catalog as it is now.
    pub fn catalog(&self) -> Catalog {
        self.inner
            .catalog
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The Arrow schema batches appended to `table` are fitted to.
    pub fn arrow_schema(&self, table: &str) -> Result<SchemaRef, StoreError> {
        Ok(self.inner.table(table)?.schema())
    }

    /// Appends rows to `table` and returns once they are durable (fsynced WAL) and
    /// visible to queries. Columns are matched by name and converted where Arrow can
    /// (e.g. text to datetime); unknown columns or unconvertible values are an error,
    /// missing columns are null.
    pub async fn append(&self, table: &str, batch: RecordBatch) -> Result<AppendAck, StoreError> {
        let inner = &self.inner;
        let Some(writer) = &inner.writer else {
            return Err(StoreError::ReadOnly(inner.root.clone()));
        };
        if inner.closing.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        let t = inner.table(table)?;
        let batch =
            conform(&batch, &t.schema(), Fit::Strict).map_err(|m| StoreError::schema(table, m))?;
        if batch.num_rows() == 0 {
            return Ok(AppendAck {
                rows: 0,
                wal_seq: 0,
                wal_offset: 0,
            });
        }
        let frame = if batch.get_array_memory_size() <= writer::MERGE_BELOW_BYTES {
            None // encoded by the writer, together with the other small appends
        } else {
            Some(wal::encode_frame(&batch).map_err(|m| StoreError::schema(table, m))?)
        };
        let ack = writer.append(t.clone(), frame, batch).await?;
        maintenance::after_append(&self.inner, &t);
        Ok(ack)
    }

    /// A bulk load into `table`: rows are encoded to Parquet as they are added (no WAL,
    /// no memtable; one file per day, each stage a sorted run in it), stored and listed in one
    /// manifest version on [`BulkLoad::commit`] — or not at all ([`BulkLoad::abort`],
    /// or a crash before the manifest: unlisted files are removed at a later open). For
    /// loading files, where all-or-nothing matters and the rows are on disk elsewhere.
    pub async fn bulk_load(&self, table: &str) -> Result<BulkLoad, StoreError> {
        let inner = &self.inner;
        if inner.writer.is_none() {
            return Err(StoreError::ReadOnly(inner.root.clone()));
        }
        if inner.closing.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        let t = inner.table(table)?;
        Ok(BulkLoad {
            store: self.clone(),
            table: t,
            buffered: Vec::new(),
            buffered_bytes: 0,
            writers: None,
            in_flight: None,
            rows: 0,
        })
    }

    /// Flushes every table's memtable to Parquet segments and a new manifest.
    pub async fn flush(&self) -> Result<Vec<FlushReport>, StoreError> {
        self.inner.check_writable()?;
        let mut out = Vec::new();
        for t in self.inner.all_tables() {
            if let Some(r) = maintenance::flush_table(&self.inner, &t).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Drops whole day partitions older than each table's retention at `now`.
    pub async fn apply_retention(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<RetentionReport>, StoreError> {
        self.inner.check_writable()?;
        maintenance::apply_retention(&self.inner, now).await
    }

    /// Merges small segments within each day partition.
    pub async fn compact(&self) -> Result<Vec<CompactionReport>, StoreError> {
        self.inner.check_writable()?;
        maintenance::compact(&self.inner).await
    }

    /// Flushes everything, stops the WAL writer and releases the directory lock.
    /// Other clones of this `Store` fail with [`StoreError::Closed`] afterwards.
    pub async fn close(self) -> Result<(), StoreError> {
        let inner = &self.inner;
        if inner.read_only || inner.closing.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let mut first_err = None;
        for t in inner.all_tables() {
            if let Err(e) = maintenance::flush_table_unchecked(inner, &t).await {
                first_err.get_or_insert(e);
            }
        }
        maintenance::collect_garbage(inner).await;
        if let Some(w) = &inner.writer {
            w.shutdown().await;
        }
        if let Some(mut l) = inner.lock.lock().unwrap_or_else(|e| e.into_inner()).take() {
            l.release();
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Registers every catalog table into `engine`, replacing what was there. Call it
    /// again after a management command that created or changed a table.
    pub fn register_into(&self, engine: &Engine) {
        let defs: Vec<(String, Vec<Col>)> = self
            .catalog()
            .tables()
            .map(|d| (d.name.clone(), d.columns.clone()))
            .collect();
        for (name, cols) in defs {
            if let Some(p) = self.table_provider(&name) {
                engine.register_table(&name, cols, p);
            }
        }
    }

    /// A DataFusion provider for `table` (a fresh snapshot per scan).
    pub fn table_provider(&self, table: &str) -> Option<Arc<dyn TableProvider>> {
        let t = self.inner.table(table).ok()?;
        let schema = t.schema();
        Some(Arc::new(provider::StoreTable {
            view_schema: engine::types::with_text_type(&schema, DataType::Utf8View),
            schema,
            table: t,
            segments: self.inner.segments.clone(),
            read_only: self.inner.read_only,
        }))
    }

    /// What the most recent scan of `table` read and pruned.
    pub fn last_scan_stats(&self, table: &str) -> Option<ScanStats> {
        let t = self.inner.table(table).ok()?;
        let s = t
            .last_scan
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        s
    }

    /// Segments, manifest version and memtable size of `table`.
    pub fn table_stats(&self, table: &str) -> Result<TableStats, StoreError> {
        let t = self.inner.table(table)?;
        if self.inner.read_only {
            t.refresh_read_only()?;
        }
        let v = t.read_view();
        let frozen_rows = v.frozen.as_ref().map_or(0, |f| f.mem.rows());
        let frozen_bytes = v.frozen.as_ref().map_or(0, |f| f.mem.bytes());
        Ok(TableStats {
            manifest_version: v.manifest.version,
            wal_covered_seq: v.manifest.wal_covered_seq,
            segments: v.manifest.segments.iter().map(|s| (**s).clone()).collect(),
            memtable_rows: v.active.rows() + frozen_rows,
            memtable_bytes: v.active.bytes() + frozen_bytes,
        })
    }

    /// Read-only stores: reloads the catalog (tables created by the writer appear).
    /// Table contents refresh by themselves on each scan.
    pub fn refresh(&self) -> Result<(), StoreError> {
        let inner = &self.inner;
        let catalog = Catalog::load(&inner.root)?;
        let mut tables = inner.tables.write().unwrap_or_else(|e| e.into_inner());
        tables.retain(|name, _| catalog.get(name).is_some());
        for def in catalog.tables() {
            let schema = Engine::arrow_schema(&def.columns);
            match tables.get(&def.name) {
                Some(t) => *t.schema.write().unwrap_or_else(|e| e.into_inner()) = schema,
                None => {
                    let t = TableShared::open(&inner.root, &def.name, schema, !inner.read_only)?;
                    tables.insert(def.name.clone(), Arc::new(t));
                }
            }
        }
        *inner.catalog.write().unwrap_or_else(|e| e.into_inner()) = catalog;
        Ok(())
    }
}

impl StoreInner {
    fn table(&self, name: &str) -> Result<Arc<TableShared>> {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
        match tables.get(name) {
            Some(t) => Ok(t.clone()),
            None => Err(StoreError::unknown_table(
                name,
                tables.keys().map(String::as_str),
            )),
        }
    }

    fn all_tables(&self) -> Vec<Arc<TableShared>> {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
        tables.values().cloned().collect()
    }

    fn check_writable(&self) -> Result<()> {
        if self.read_only {
            return Err(StoreError::ReadOnly(self.root.clone()));
        }
        if self.closing.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        Ok(())
    }

    fn retention_of(&self, table: &str) -> Option<Duration> {
        let c = self.catalog.read().unwrap_or_else(|e| e.into_inner());
        c.get(table).map(|d| d.retention)
    }
}
