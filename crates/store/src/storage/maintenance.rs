//! Everything that writes a manifest: flush, retention, compaction; and the deletion of
//! segment files no snapshot uses any more.
//!
//! Each of these holds the table's `maintenance` lock from reading the current
//! manifest to installing the next, so versions never fork. Appends and queries never
//! take that lock. The order of a flush is what makes recovery exact:
//!
//! 1. the WAL writer closes the current WAL file and freezes the memtable (the frozen
//!    rows stay queryable);
//! 2. the frozen rows are split by day, sorted, and written as new segments (fsynced);
//! 3. a new manifest listing them and covering that WAL file is written atomically;
//! 4. the view switches to the new manifest and drops the frozen rows (one step for
//!    readers); only then are the covered WAL files deleted.
//!
//! A crash before 3 leaves the WAL intact and the new segments unreferenced (deleted
//! later as orphans); a crash after 3 leaves covered WAL files that the next open
//! skips and deletes.

use super::error::{Result, StoreError};
use super::manifest::{self, Manifest, Segment};
use super::schema::{conform, time_column, Fit};
use super::segment::{self, day_of_date, DayPart, NANOS_PER_DAY};
use super::table::{Grave, TableShared};
use super::{wal, StoreInner};
use datafusion::arrow::record_batch::RecordBatch;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// One table's flush.
#[derive(Debug, Clone, PartialEq)]
pub struct FlushReport {
    pub table: String,
    pub rows: u64,
    pub segments: Vec<Segment>,
}

/// Day partitions dropped from one table.
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionReport {
    pub table: String,
    pub dropped: Vec<Segment>,
}

/// Segments of one day merged into one.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactionReport {
    pub table: String,
    pub date: String,
    pub merged: Vec<Segment>,
    pub into: Vec<Segment>,
}

/// Starts the background task on first use and schedules a flush when the memtable
/// outgrew its size threshold.
pub(crate) fn after_append(inner: &Arc<StoreInner>, t: &Arc<TableShared>) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if inner.options.background && !inner.background_started.swap(true, Ordering::SeqCst) {
        handle.spawn(background(Arc::downgrade(inner)));
    }
    let big = t.read_view().active.bytes() >= inner.options.flush_bytes;
    if big && !t.flush_scheduled.swap(true, Ordering::SeqCst) {
        let (inner, t) = (inner.clone(), t.clone());
        handle.spawn(async move {
            // A failure leaves the rows in the memtable and WAL; the next trigger retries.
            let _ = flush_table(&inner, &t).await;
            t.flush_scheduled.store(false, Ordering::SeqCst);
        });
    }
}

/// Flush by age and delete unused files, until the store is closed or dropped.
async fn background(weak: Weak<StoreInner>) {
    let tick = match weak.upgrade() {
        Some(i) => {
            (i.options.flush_age / 4).clamp(Duration::from_millis(50), Duration::from_secs(5))
        }
        None => return,
    };
    loop {
        tokio::time::sleep(tick).await;
        let Some(inner) = weak.upgrade() else {
            return;
        };
        if inner.closing.load(Ordering::SeqCst) {
            return;
        }
        for t in inner.all_tables() {
            let due = {
                let v = t.read_view();
                v.active.age().is_some_and(|a| a >= inner.options.flush_age)
                    || v.active.bytes() >= inner.options.flush_bytes
            };
            if due && !t.flush_scheduled.swap(true, Ordering::SeqCst) {
                let _ = flush_table(&inner, &t).await;
                t.flush_scheduled.store(false, Ordering::SeqCst);
            }
        }
        collect_garbage(&inner).await;
    }
}

pub(crate) async fn flush_table(
    inner: &Arc<StoreInner>,
    t: &Arc<TableShared>,
) -> Result<Option<FlushReport>> {
    let _guard = t.maintenance.lock().await;
    // Checked under the lock: once `close` has flushed a table, nothing flushes it again.
    if inner.closing.load(Ordering::SeqCst) {
        return Err(StoreError::Closed);
    }
    flush_locked(inner, t).await
}

/// For `close`, which has already set `closing`.
pub(crate) async fn flush_table_unchecked(
    inner: &Arc<StoreInner>,
    t: &Arc<TableShared>,
) -> Result<Option<FlushReport>> {
    let _guard = t.maintenance.lock().await;
    flush_locked(inner, t).await
}

async fn flush_locked(inner: &StoreInner, t: &Arc<TableShared>) -> Result<Option<FlushReport>> {
    if t.dropped.load(Ordering::SeqCst) {
        return Ok(None);
    }
    let Some(writer) = &inner.writer else {
        return Ok(None);
    };
    let Some(covered) = writer.rotate(t.clone()).await? else {
        return Ok(None);
    };
    remove_orphans_once(inner, t).await;
    let batches: Vec<RecordBatch> = t
        .read_view()
        .frozen
        .as_ref()
        .map(|f| f.mem.batches().to_vec())
        .unwrap_or_default();
    let parts = encode_days(t, batches, None, today()).await?;
    let mut new = Vec::new();
    for (part, bytes) in parts {
        new.push(put_part(inner, t, part, bytes).await?);
    }
    let rows = new.iter().map(|s| s.rows).sum();
    let report = FlushReport {
        table: t.name.clone(),
        rows,
        segments: new.iter().map(|s| (**s).clone()).collect(),
    };
    let old = t.read_view().manifest.clone();
    let mut m = Manifest::clone(&old);
    m.version += 1;
    m.wal_covered_seq = covered;
    m.segments.extend(new);
    manifest::write(&t.manifest_dir(), &t.name, &m)?;
    {
        let mut v = t.write_view();
        v.manifest = Arc::new(m);
        v.frozen = None;
    }
    for (seq, path) in wal::list_files(&t.wal_dir())? {
        if seq <= covered {
            let _ = std::fs::remove_file(path);
        }
    }
    manifest::prune_old_versions(&t.manifest_dir());
    Ok(Some(report))
}

/// One day's file of a bulk load, open: each stage adds a sorted run of rows.
pub(crate) struct DayWriter {
    writer: datafusion::parquet::arrow::ArrowWriter<Vec<u8>>,
    min_ts: Option<i64>,
    max_ts: Option<i64>,
    rows: u64,
}

/// Writes a stage of a bulk load: its rows fitted, sorted and split by day, each day
/// added to that day's open file (on all cores), whose row groups hold up to
/// `segment::MAX_ROW_GROUP_ROWS` rows across stages. Nothing is stored yet.
pub(crate) async fn write_stage(
    t: &TableShared,
    mut writers: BTreeMap<i64, DayWriter>,
    batches: Vec<RecordBatch>,
) -> Result<BTreeMap<i64, DayWriter>> {
    let schema = t.schema();
    let name = t.name.clone();
    off_runtime(move || {
        // `BulkLoad::add` has fitted every batch to the schema already.
        let tc = time_column(&schema);
        let parts = segment::partition_by_day(&schema, &batches, tc, today())
            .map_err(|m| StoreError::schema(&name, m))?;
        let seg_err = |m: String| StoreError::segment(format!("{name}/segments"), m);
        let mut jobs: Vec<(DayPart, DayWriter)> = Vec::new();
        for p in parts {
            let w = match writers.remove(&p.day) {
                Some(w) => w,
                None => DayWriter {
                    // Row groups fill up across stages (see `day_writer`).
                    writer: segment::day_writer(&schema, tc, segment::MAX_ROW_GROUP_ROWS, false)
                        .map_err(seg_err)?,
                    min_ts: None,
                    max_ts: None,
                    rows: 0,
                },
            };
            jobs.push((p, w));
        }
        let done = on_all_cores(jobs, |(p, mut w)| {
            w.writer
                .write(&p.batch)
                .map_err(|e| seg_err(e.to_string()))?;
            w.rows += p.batch.num_rows() as u64;
            w.min_ts = w.min_ts.into_iter().chain(p.min_ts).min();
            w.max_ts = w.max_ts.into_iter().chain(p.max_ts).max();
            Ok((p.day, w))
        })?;
        writers.extend(done);
        Ok(writers)
    })
    .await
}

/// Closes a bulk load's day files and stores them, without listing them anywhere.
pub(crate) async fn finish_day_files(
    inner: &StoreInner,
    t: &TableShared,
    writers: BTreeMap<i64, DayWriter>,
) -> Result<Vec<Arc<Segment>>> {
    let name = t.name.clone();
    let files = off_runtime(move || {
        writers
            .into_iter()
            .map(|(day, w)| {
                let bytes = w
                    .writer
                    .into_inner()
                    .map_err(|e| StoreError::segment(format!("{name}/segments"), e.to_string()))?;
                Ok((day, w.min_ts, w.max_ts, w.rows, bytes))
            })
            .collect::<Result<Vec<_>>>()
    })
    .await?;
    let mut out: Vec<Arc<Segment>> = Vec::new();
    for (day, min_ts, max_ts, rows, bytes) in files {
        match put_segment(inner, t, day, (min_ts, max_ts), rows, bytes).await {
            Ok(s) => out.push(s),
            Err(e) => {
                for s in &out {
                    let _ = inner.segments.delete(&t.name, &s.path).await;
                }
                return Err(e);
            }
        }
    }
    Ok(out)
}

/// Lists already written segments in a new manifest version of `t`.
pub(crate) async fn install_segments(
    inner: &StoreInner,
    t: &Arc<TableShared>,
    segments: Vec<Arc<Segment>>,
) -> Result<()> {
    let _guard = t.maintenance.lock().await;
    if inner.closing.load(Ordering::SeqCst) {
        return Err(StoreError::Closed);
    }
    if t.dropped.load(Ordering::SeqCst) {
        return Err(StoreError::unknown_table(&t.name, std::iter::empty()));
    }
    let old = t.read_view().manifest.clone();
    let mut m = Manifest::clone(&old);
    m.version += 1;
    m.segments.extend(segments);
    manifest::write(&t.manifest_dir(), &t.name, &m)?;
    install(t, m, &[]);
    manifest::prune_old_versions(&t.manifest_dir());
    Ok(())
}

/// `f` over `items` on as many threads as there are cores (items dealt round-robin),
/// results in the items' order; the first error wins.
fn on_all_cores<T: Send, R: Send>(
    items: Vec<T>,
    f: impl Fn(T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len())
        .max(1);
    if workers == 1 {
        return items.into_iter().map(f).collect();
    }
    let mut shares: Vec<Vec<(usize, T)>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        shares[i % workers].push((i, item));
    }
    let f = &f;
    let mut done: Vec<(usize, R)> = std::thread::scope(|s| {
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| {
                s.spawn(move || {
                    share
                        .into_iter()
                        .map(|(i, item)| f(item).map(|r| (i, r)))
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.join().map_err(|_| {
                StoreError::Internal("a segment encoding thread panicked".into())
            })??);
        }
        Ok::<_, StoreError>(all)
    })?;
    done.sort_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, r)| r).collect())
}

/// Fits, partitions, sorts and encodes rows off the async runtime. `only_day` forces
/// every row into one partition (compaction of a day keeps its day).
async fn encode_days(
    t: &TableShared,
    batches: Vec<RecordBatch>,
    only_day: Option<i64>,
    fallback_day: i64,
) -> Result<Vec<(DayPart, Vec<u8>)>> {
    let schema = t.schema();
    let name = t.name.clone();
    off_runtime(move || {
        let fitted = batches
            .iter()
            .map(|b| conform(b, &schema, Fit::Lenient))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|m| StoreError::schema(&name, m))?;
        let tc = time_column(&schema);
        let mut parts = segment::partition_by_day(&schema, &fitted, tc, fallback_day)
            .map_err(|m| StoreError::schema(&name, m))?;
        if let Some(day) = only_day {
            if parts.len() > 1 || parts.iter().any(|p| p.day != day) {
                let all: Vec<RecordBatch> = parts.iter().map(|p| p.batch.clone()).collect();
                let min_ts = parts.iter().filter_map(|p| p.min_ts).min();
                let max_ts = parts.iter().filter_map(|p| p.max_ts).max();
                let batch = datafusion::arrow::compute::concat_batches(&schema, &all)
                    .map_err(|e| StoreError::schema(&name, e.to_string()))?;
                parts = vec![DayPart {
                    day,
                    batch,
                    min_ts,
                    max_ts,
                }];
            }
        }
        // Days are encoded on all cores (a big flush, a compaction spanning days).
        on_all_cores(parts, |p| {
            let bytes = segment::encode(&p.batch, tc)
                .map_err(|m| StoreError::segment(format!("{name}/segments"), m))?;
            Ok((p, bytes))
        })
    })
    .await
}

/// Runs CPU work (sorting, encoding) on tokio's blocking pool, off the async runtime.
async fn off_runtime<R: Send + 'static>(
    f: impl FnOnce() -> Result<R> + Send + 'static,
) -> Result<R> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Internal(format!("segment encoding task failed: {e}")))?
}

/// Today's day number (days since 1970-01-01, UTC): the partition of rows without a time.
fn today() -> i64 {
    chrono::Utc::now()
        .timestamp_nanos_opt()
        .unwrap_or(0)
        .div_euclid(NANOS_PER_DAY)
}

/// Stores one day's encoded file and describes it.
async fn put_segment(
    inner: &StoreInner,
    t: &TableShared,
    day: i64,
    (min_ts, max_ts): (Option<i64>, Option<i64>),
    rows: u64,
    bytes: Vec<u8>,
) -> Result<Arc<Segment>> {
    let date = segment::date_string(day);
    let path = segment::new_segment_path(&date);
    let len = bytes.len() as u64;
    inner.segments.put(&t.name, &path, bytes).await?;
    Ok(Arc::new(Segment {
        path,
        date,
        min_ts,
        max_ts,
        rows,
        bytes: len,
    }))
}

/// [`put_segment`] for a day partition of a flush or compaction.
async fn put_part(
    inner: &StoreInner,
    t: &TableShared,
    part: DayPart,
    bytes: Vec<u8>,
) -> Result<Arc<Segment>> {
    let rows = part.batch.num_rows() as u64;
    put_segment(inner, t, part.day, (part.min_ts, part.max_ts), rows, bytes).await
}

/// Installs `m` (already written) and hands the segments it no longer lists to the
/// graveyard.
fn install(t: &TableShared, m: Manifest, removed: &[Arc<Segment>]) {
    t.write_view().manifest = Arc::new(m);
    let mut graves = t.graveyard.lock().unwrap_or_else(|e| e.into_inner());
    for s in removed {
        graves.push(Grave {
            path: s.path.clone(),
            segment: Arc::downgrade(s),
            since: Instant::now(),
        });
    }
}

pub(crate) async fn apply_retention(
    inner: &Arc<StoreInner>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<RetentionReport>> {
    let now_ns = now.timestamp_nanos_opt().unwrap_or(i64::MAX);
    let mut out = Vec::new();
    for t in inner.all_tables() {
        let Some(retention) = inner.retention_of(&t.name) else {
            continue;
        };
        let cutoff = now_ns.saturating_sub(i64::try_from(retention.as_nanos()).unwrap_or(i64::MAX));
        let _guard = t.maintenance.lock().await;
        if inner.closing.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        let old = t.read_view().manifest.clone();
        // A day goes when all of it is older than the cutoff.
        let expired = |s: &Segment| {
            day_of_date(&s.date).is_some_and(|d| (d + 1).saturating_mul(NANOS_PER_DAY) <= cutoff)
        };
        let (dropped, kept): (Vec<Arc<Segment>>, Vec<Arc<Segment>>) =
            old.segments.iter().cloned().partition(|s| expired(s));
        if dropped.is_empty() {
            continue;
        }
        let m = Manifest {
            version: old.version + 1,
            wal_covered_seq: old.wal_covered_seq,
            segments: kept,
        };
        manifest::write(&t.manifest_dir(), &t.name, &m)?;
        install(&t, m, &dropped);
        manifest::prune_old_versions(&t.manifest_dir());
        out.push(RetentionReport {
            table: t.name.clone(),
            dropped: dropped.iter().map(|s| (**s).clone()).collect(),
        });
    }
    collect_garbage(inner).await;
    Ok(out)
}

pub(crate) async fn compact(inner: &Arc<StoreInner>) -> Result<Vec<CompactionReport>> {
    let mut out = Vec::new();
    for t in inner.all_tables() {
        let _guard = t.maintenance.lock().await;
        if inner.closing.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        remove_orphans_once(inner, &t).await;
        let current = t.read_view().manifest.clone();
        let mut by_day: BTreeMap<String, Vec<Arc<Segment>>> = BTreeMap::new();
        for s in &current.segments {
            if s.bytes < inner.options.compact_below_bytes {
                by_day.entry(s.date.clone()).or_default().push(s.clone());
            }
        }
        for (date, small) in by_day {
            if small.len() < 2 {
                continue;
            }
            let Some(day) = day_of_date(&date) else {
                continue;
            };
            let mut batches = Vec::new();
            for s in &small {
                batches.extend(inner.segments.read(&t.name, s).await?);
            }
            let parts = encode_days(&t, batches, Some(day), day).await?;
            let mut new = Vec::new();
            for (part, bytes) in parts {
                new.push(put_part(inner, &t, part, bytes).await?);
            }
            let old = t.read_view().manifest.clone();
            let gone: HashSet<&str> = small.iter().map(|s| s.path.as_str()).collect();
            let mut segments: Vec<Arc<Segment>> = old
                .segments
                .iter()
                .filter(|s| !gone.contains(s.path.as_str()))
                .cloned()
                .collect();
            segments.extend(new.iter().cloned());
            let m = Manifest {
                version: old.version + 1,
                wal_covered_seq: old.wal_covered_seq,
                segments,
            };
            manifest::write(&t.manifest_dir(), &t.name, &m)?;
            install(&t, m, &small);
            out.push(CompactionReport {
                table: t.name.clone(),
                date,
                merged: small.iter().map(|s| (**s).clone()).collect(),
                into: new.iter().map(|s| (**s).clone()).collect(),
            });
        }
        manifest::prune_old_versions(&t.manifest_dir());
    }
    collect_garbage(inner).await;
    Ok(out)
}

/// Deletes graveyard files that no snapshot references and whose grace period is over.
pub(crate) async fn collect_garbage(inner: &StoreInner) {
    for t in inner.all_tables() {
        let due: Vec<String> = {
            let mut graves = t.graveyard.lock().unwrap_or_else(|e| e.into_inner());
            let (due, keep): (Vec<Grave>, Vec<Grave>) =
                std::mem::take(&mut *graves).into_iter().partition(|g| {
                    g.segment.strong_count() == 0 && g.since.elapsed() >= inner.options.gc_grace
                });
            *graves = keep;
            due.into_iter().map(|g| g.path).collect()
        };
        for path in due {
            if inner.segments.delete(&t.name, &path).await.is_err() {
                // Left for the orphan sweep of a later open.
                continue;
            }
        }
    }
}

/// Segment files that no manifest lists: written by a flush or compaction that
/// crashed before its manifest. Checked once per table per open, under the table's
/// maintenance lock (so no flush of this process is mid-way).
async fn remove_orphans_once(inner: &StoreInner, t: &TableShared) {
    if t.orphans_checked.swap(true, Ordering::SeqCst) {
        return;
    }
    let Ok(files) = inner.segments.list(&t.name).await else {
        return;
    };
    let mut known: HashSet<String> = t
        .read_view()
        .manifest
        .segments
        .iter()
        .map(|s| s.path.clone())
        .collect();
    known.extend(
        t.graveyard
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|g| g.path.clone()),
    );
    let grace = chrono::Duration::from_std(inner.options.gc_grace).unwrap_or(chrono::Duration::MAX);
    let cutoff = chrono::Utc::now() - grace;
    for (path, modified) in files {
        if !known.contains(&path) && modified <= cutoff {
            let _ = inner.segments.delete(&t.name, &path).await;
        }
    }
}
