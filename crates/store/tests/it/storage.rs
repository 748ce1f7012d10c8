//! The storage engine end to end: append → query (memtable and Parquet), crash
//! recovery (a SIGKILLed child writer), torn WAL tails, the writer lock, retention,
//! compaction, time pruning, and an in-memory object store.

use datafusion::arrow::array::{
    ArrayRef, AsArray, BooleanArray, Int32Array, Int64Array, StringArray, TimestampNanosecondArray,
};
use datafusion::arrow::datatypes::{Int64Type, TimestampNanosecondType};
use datafusion::arrow::record_batch::RecordBatch;
use engine::Engine;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::storage::{Store, StoreError, StoreOptions};

const DAY: i64 = 86_400 * 1_000_000_000;
/// 2024-03-26T09:39:50.7688641Z: Defender's 7 fractional digits.
const T0: i64 = 1_711_445_990_768_864_100;

/// Plain (unprepared) WAL files keep the file layout of these tests predictable;
/// `prepared_wal_files_*` covers prepared ones.
fn options() -> StoreOptions {
    StoreOptions {
        background: false,
        gc_grace: Duration::ZERO,
        wal_prepared_bytes: 0,
        ..StoreOptions::default()
    }
}

fn open(dir: &Path) -> Store {
    Store::open_with(dir, options()).unwrap()
}

/// UrlClickEvents rows with the given timestamps (other columns left null).
fn clicks(ts: &[i64], first_id: usize) -> RecordBatch {
    let ids: Vec<String> = (0..ts.len())
        .map(|i| format!("r{}", first_id + i))
        .collect();
    RecordBatch::try_from_iter(vec![
        (
            "Timestamp",
            Arc::new(TimestampNanosecondArray::from(ts.to_vec()).with_timezone("UTC")) as ArrayRef,
        ),
        (
            "Url",
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("https://example.com/{i}")),
            )),
        ),
        ("ReportId", Arc::new(StringArray::from(ids.clone()))),
        (
            "IsClickedThrough",
            Arc::new(BooleanArray::from(vec![true; ts.len()])),
        ),
    ])
    .unwrap()
}

async fn count(engine: &Engine, query: &str) -> i64 {
    let r = engine
        .query(query)
        .await
        .unwrap_or_else(|e| panic!("{query}: {e:?}"));
    r.batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| b.column(0).as_primitive::<Int64Type>().value(0))
        .unwrap_or(0)
}

fn engine_over(store: &Store) -> Engine {
    let engine = Engine::new();
    store.register_into(&engine);
    engine
}

#[tokio::test]
async fn appended_rows_are_queryable_before_and_after_flush_with_ticks_intact() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ts: Vec<i64> = (0..100)
        .map(|i| T0 + i * 1_000_000_007 / 100 * 100)
        .collect();
    let ack = store
        .append("UrlClickEvents", clicks(&ts, 0))
        .await
        .unwrap();
    assert_eq!(ack.rows, 100);
    let engine = engine_over(&store);
    assert_eq!(count(&engine, "UrlClickEvents | count").await, 100);

    let flushed = store.flush().await.unwrap();
    assert_eq!(flushed.len(), 1);
    assert_eq!(flushed[0].rows, 100);
    assert_eq!(count(&engine, "UrlClickEvents | count").await, 100);
    let stats = store.last_scan_stats("UrlClickEvents").unwrap();
    assert_eq!(stats.files_scanned.len(), 1);
    assert_eq!(stats.memtable_rows, 0);
    // The WAL the segment covers is gone.
    assert!(wal_files(dir.path(), "UrlClickEvents").is_empty());

    // Datetimes keep every tick through Parquet, and text too.
    let r = engine
        .query("UrlClickEvents | where ReportId == 'r0' | project Timestamp, Url")
        .await
        .unwrap();
    let b = &r.batches[0];
    assert_eq!(
        b.column(0)
            .as_primitive::<TimestampNanosecondType>()
            .value(0),
        T0
    );
    assert_eq!(
        b.column(1).as_string::<i32>().value(0),
        "https://example.com/r0"
    );
    let text = engine
        .query("UrlClickEvents | where ReportId == 'r0' | project t = tostring(Timestamp)")
        .await
        .unwrap();
    assert_eq!(
        text.batches[0].column(0).as_string::<i32>().value(0),
        "2024-03-26T09:39:50.7688641Z"
    );

    // Reopen: the same rows, from the segment alone.
    store.close().await.unwrap();
    let store = open(dir.path());
    let engine = engine_over(&store);
    assert_eq!(count(&engine, "UrlClickEvents | count").await, 100);
    assert_eq!(
        store.table_stats("UrlClickEvents").unwrap().memtable_rows,
        0
    );
}

#[tokio::test]
async fn batches_that_do_not_fit_are_rejected_with_the_column_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let extra = RecordBatch::try_from_iter(vec![(
        "Bogus",
        Arc::new(Int32Array::from(vec![1])) as ArrayRef,
    )])
    .unwrap();
    let e = store
        .append("UrlClickEvents", extra)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("UrlClickEvents") && e.contains("`Bogus`"), "{e}");
    let bad = RecordBatch::try_from_iter(vec![(
        "Timestamp",
        Arc::new(StringArray::from(vec!["not a date"])) as ArrayRef,
    )])
    .unwrap();
    let e = store
        .append("UrlClickEvents", bad)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("column `Timestamp`"), "{e}");
    let e = store
        .append("UrlClickEvent", clicks(&[T0], 0))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("did you mean `UrlClickEvents`"), "{e}");
    // Text timestamps convert.
    let text = RecordBatch::try_from_iter(vec![(
        "Timestamp",
        Arc::new(StringArray::from(vec!["2024-03-26T09:39:50.7688641Z"])) as ArrayRef,
    )])
    .unwrap();
    store.append("UrlClickEvents", text).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_share_fsyncs_and_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let n_tasks = 16;
    let per_task = 20;
    let start = Instant::now();
    let mut handles = Vec::new();
    for task in 0..n_tasks {
        let s = store.clone();
        handles.push(tokio::spawn(async move {
            let mut frames = Vec::new();
            for i in 0..per_task {
                let id = task * per_task + i;
                let ack = s
                    .append("UrlClickEvents", clicks(&[T0 + id as i64], id))
                    .await
                    .unwrap();
                assert_eq!(ack.rows, 1);
                frames.push((ack.wal_seq, ack.wal_offset));
            }
            frames
        }));
    }
    let mut frames = std::collections::BTreeSet::new();
    for h in handles {
        frames.extend(h.await.unwrap());
    }
    let concurrent = start.elapsed();
    // Small appends that met in the writer share a frame.
    println!(
        "{} small appends in {} WAL frames",
        n_tasks * per_task,
        frames.len()
    );
    let start = Instant::now();
    for i in 0..per_task {
        store
            .append("UrlClickEvents", clicks(&[T0], 10_000 + i))
            .await
            .unwrap();
    }
    let sequential = start.elapsed();
    println!(
        "{} concurrent appends: {concurrent:?} ({:.0}/s); {per_task} sequential: {sequential:?} ({:.0}/s)",
        n_tasks * per_task,
        (n_tasks * per_task) as f64 / concurrent.as_secs_f64(),
        per_task as f64 / sequential.as_secs_f64()
    );
    let engine = engine_over(&store);
    assert_eq!(
        count(&engine, "UrlClickEvents | distinct ReportId | count").await,
        (n_tasks * per_task + per_task) as i64
    );
    assert_eq!(
        count(&engine, "UrlClickEvents | count").await,
        (n_tasks * per_task + per_task) as i64
    );
}

fn wal_files(root: &Path, table: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root.join(table).join("wal"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "wal"));
    v.sort();
    v
}

/// Appends three single-row batches as three frames, then drops the store without
/// flushing (as a crash would leave it).
async fn three_frames(dir: &Path) -> PathBuf {
    let store = open(dir);
    for i in 0..3 {
        store
            .append("UrlClickEvents", clicks(&[T0 + i], i as usize))
            .await
            .unwrap();
    }
    drop(store);
    let files = wal_files(dir, "UrlClickEvents");
    assert_eq!(files.len(), 1);
    files[0].clone()
}

#[tokio::test]
async fn a_torn_last_frame_is_cut_off_and_earlier_frames_survive() {
    let dir = tempfile::tempdir().unwrap();
    let wal = three_frames(dir.path()).await;
    let full = std::fs::metadata(&wal).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&wal).unwrap();
    f.set_len(full - 7).unwrap();
    drop(f);

    let store = open(dir.path());
    let engine = engine_over(&store);
    assert_eq!(count(&engine, "UrlClickEvents | count").await, 2);
    assert_eq!(
        count(&engine, "UrlClickEvents | where ReportId == 'r2' | count").await,
        0
    );
    let repaired = std::fs::metadata(&wal).unwrap().len();
    assert!(repaired < full - 7, "the torn frame was not truncated");
    // New appends after the repair go to a new file; all survive another reopen.
    store
        .append("UrlClickEvents", clicks(&[T0], 9))
        .await
        .unwrap();
    drop(store);
    let store = open(dir.path());
    assert_eq!(
        count(&engine_over(&store), "UrlClickEvents | count").await,
        3
    );
}

#[tokio::test]
async fn a_corrupt_last_frame_is_discarded_but_corruption_elsewhere_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let wal = three_frames(dir.path()).await;
    let mut bytes = std::fs::read(&wal).unwrap();
    let n = bytes.len();
    bytes[n - 20] ^= 0xff;
    std::fs::write(&wal, &bytes).unwrap();
    let store = open(dir.path());
    assert_eq!(
        count(&engine_over(&store), "UrlClickEvents | count").await,
        2
    );
    // A second file makes the first one "not the newest": damage there is reported.
    store
        .append("UrlClickEvents", clicks(&[T0], 7))
        .await
        .unwrap();
    drop(store);
    let files = wal_files(dir.path(), "UrlClickEvents");
    assert_eq!(files.len(), 2);
    let mut bytes = std::fs::read(&files[0]).unwrap();
    bytes[40] ^= 0xff;
    std::fs::write(&files[0], &bytes).unwrap();
    let e = Store::open_with(dir.path(), options()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, StoreError::CorruptWal { .. }), "{msg}");
    assert!(
        msg.contains(&files[0].file_name().unwrap().to_string_lossy().to_string()),
        "{msg}"
    );
}

#[tokio::test]
async fn prepared_wal_files_are_used_and_recover_like_plain_ones() {
    const PREPARED: u64 = 64 << 10;
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions {
        wal_prepared_bytes: PREPARED,
        ..options()
    };
    let store = Store::open_with(dir.path(), opts.clone()).unwrap();
    // The first append opens a plain file and asks for a spare; wait for it.
    store
        .append("UrlClickEvents", clicks(&[T0], 0))
        .await
        .unwrap();
    let wal_dir = dir.path().join("UrlClickEvents").join("wal");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = std::fs::read_dir(&wal_dir).unwrap().flatten().any(|e| {
            e.file_name().to_string_lossy().contains(".wal.spare-")
                && e.metadata().is_ok_and(|m| m.len() == PREPARED)
        });
        if ready {
            break;
        }
        assert!(Instant::now() < deadline, "no spare WAL file was prepared");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Enough frames to fill the spare and go on into the next one (or past its end).
    let mut id = 1;
    while id < 400 {
        store
            .append("UrlClickEvents", clicks(&[T0 + id as i64], id))
            .await
            .unwrap();
        id += 1;
    }
    let files = wal_files(dir.path(), "UrlClickEvents");
    assert!(
        files.len() >= 2,
        "the writer never moved to the spare: {files:?}"
    );
    let prepared = &files[1];
    let bytes = std::fs::read(prepared).unwrap();
    assert!(bytes.len() as u64 >= PREPARED, "{} bytes", bytes.len());
    drop(store);

    // Every acknowledged row comes back, once.
    let store = Store::open_with(dir.path(), opts.clone()).unwrap();
    let engine = engine_over(&store);
    assert_eq!(count(&engine, "UrlClickEvents | count").await, 400);
    assert_eq!(
        count(&engine, "UrlClickEvents | distinct ReportId | count").await,
        400
    );
    assert!(
        std::fs::read_dir(&wal_dir).unwrap().flatten().all(|e| !e
            .file_name()
            .to_string_lossy()
            .contains(".wal.spare-")
            || e.metadata().is_ok_and(|m| m.len() <= PREPARED)),
        "spares of the old process were not removed"
    );
    drop(store);

    // Data after a zeroed frame header in an older prepared file is corruption.
    let mut bytes = std::fs::read(prepared).unwrap();
    let last = bytes.len() - 1;
    bytes[last] = 1;
    std::fs::write(prepared, &bytes).unwrap();
    let e = Store::open_with(dir.path(), opts).unwrap_err();
    assert!(matches!(e, StoreError::CorruptWal { .. }), "{e}");
}

#[tokio::test]
async fn garbage_wal_and_manifest_files_give_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .append("UrlClickEvents", clicks(&[T0], 0))
        .await
        .unwrap();
    store.flush().await.unwrap();
    store.close().await.unwrap();
    let mdir = dir.path().join("UrlClickEvents/manifest");
    let latest = std::fs::read_dir(&mdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    std::fs::write(&latest, "{\"format\": 1, \"table\": ").unwrap();
    let e = Store::open_with(dir.path(), options())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("corrupt manifest") && e.contains("line 1"),
        "{e}"
    );
    std::fs::remove_file(&latest).unwrap();
    std::fs::write(dir.path().join("catalog.json"), "[1, 2").unwrap();
    let e = Store::open_with(dir.path(), options())
        .unwrap_err()
        .to_string();
    assert!(e.contains("corrupt catalog"), "{e}");
}

#[tokio::test]
async fn a_second_writer_is_refused_and_read_only_follows_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path());
    let e = Store::open_with(dir.path(), options()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, StoreError::Locked { .. }), "{msg}");
    assert!(msg.contains("another clickhunt process"), "{msg}");
    assert!(
        msg.contains(&dir.path().canonicalize().unwrap().display().to_string()),
        "{msg}"
    );

    let reader = Store::open_read_only_with(dir.path(), options()).unwrap();
    let engine = engine_over(&reader);
    assert_eq!(count(&engine, "UrlClickEvents | count").await, 0);
    writer
        .append("UrlClickEvents", clicks(&[T0, T0 + 1], 0))
        .await
        .unwrap();
    assert_eq!(count(&engine, "UrlClickEvents | count").await, 2);
    writer.flush().await.unwrap();
    writer
        .append("UrlClickEvents", clicks(&[T0 + 2], 2))
        .await
        .unwrap();
    assert_eq!(count(&engine, "UrlClickEvents | count").await, 3);
    let e = reader
        .append("UrlClickEvents", clicks(&[T0], 0))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::ReadOnly(_)), "{e}");

    // After close, the lock is free for the next writer.
    writer.close().await.unwrap();
    let again = open(dir.path());
    assert_eq!(
        count(&engine_over(&again), "UrlClickEvents | count").await,
        3
    );
}

fn segment_files(root: &Path, table: &str) -> Vec<PathBuf> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        if let Ok(d) = std::fs::read_dir(p) {
            for e in d.flatten() {
                let path = e.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "parquet") {
                    out.push(path);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&root.join(table).join("segments"), &mut out);
    out
}

#[tokio::test]
async fn retention_drops_whole_old_days() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let now = chrono::DateTime::from_timestamp_nanos(T0);
    let days = [-40, -35, -10, 0];
    let ts: Vec<i64> = days.iter().map(|d| T0 + d * DAY).collect();
    store
        .append("UrlClickEvents", clicks(&ts, 0))
        .await
        .unwrap();
    store.flush().await.unwrap();
    assert_eq!(segment_files(dir.path(), "UrlClickEvents").len(), 4);

    let dropped = store.apply_retention(now).await.unwrap();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].dropped.len(), 2);
    let engine = engine_over(&store);
    assert_eq!(count(&engine, "UrlClickEvents | count").await, 2);
    assert_eq!(segment_files(dir.path(), "UrlClickEvents").len(), 2);

    store
        .execute_management(".alter table UrlClickEvents policy retention softdelete = 5d")
        .await
        .unwrap();
    store.apply_retention(now).await.unwrap();
    assert_eq!(count(&engine, "UrlClickEvents | count").await, 1);
    // Survives a reopen (the manifest, not memory, says what is gone).
    store.close().await.unwrap();
    let store = open(dir.path());
    assert_eq!(
        count(&engine_over(&store), "UrlClickEvents | count").await,
        1
    );
}

#[tokio::test]
async fn compaction_merges_small_files_of_a_day_and_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for round in 0..3 {
        let ts: Vec<i64> = (0..50).map(|i| T0 + (49 - i) * 1_000 + round).collect();
        store
            .append("UrlClickEvents", clicks(&ts, round as usize * 50))
            .await
            .unwrap();
        store.flush().await.unwrap();
    }
    store
        .append("UrlClickEvents", clicks(&[T0 + DAY], 999))
        .await
        .unwrap();
    store.flush().await.unwrap();
    assert_eq!(
        store.table_stats("UrlClickEvents").unwrap().segments.len(),
        4
    );
    let engine = engine_over(&store);
    let before = count(&engine, "UrlClickEvents | distinct ReportId | count").await;

    let reports = store.compact().await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].merged.len(), 3);
    let segs = store.table_stats("UrlClickEvents").unwrap().segments;
    assert_eq!(segs.len(), 2);
    assert_eq!(segment_files(dir.path(), "UrlClickEvents").len(), 2);
    assert_eq!(count(&engine, "UrlClickEvents | count").await, 151);
    assert_eq!(
        count(&engine, "UrlClickEvents | distinct ReportId | count").await,
        before
    );
    let merged = segs.iter().find(|s| s.rows == 150).unwrap();
    assert_eq!(merged.min_ts, Some(T0));
    assert_eq!(merged.max_ts, Some(T0 + 49_000 + 2));
    // Sorted by Timestamp inside the file: the first row read is the earliest.
    let r = engine
        .query(
            "UrlClickEvents | where Timestamp < datetime(2024-03-27) | take 1 | project Timestamp",
        )
        .await
        .unwrap();
    assert_eq!(
        r.batches[0]
            .column(0)
            .as_primitive::<TimestampNanosecondType>()
            .value(0),
        T0
    );
}

#[tokio::test]
async fn time_filters_prune_segments() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ts: Vec<i64> = (0..5)
        .flat_map(|d| (0..10).map(move |i| T0 + d * DAY + i))
        .collect();
    store
        .append("UrlClickEvents", clicks(&ts, 0))
        .await
        .unwrap();
    store.flush().await.unwrap();
    let engine = engine_over(&store);

    assert_eq!(count(&engine, "UrlClickEvents | count").await, 50);
    let all = store.last_scan_stats("UrlClickEvents").unwrap();
    assert_eq!((all.files_scanned.len(), all.files_pruned.len()), (5, 0));

    // Day 3 is 2024-03-29; T0 is 09:39 so `> 2024-03-29 12:00` keeps days 3 (max) and 4.
    let n = count(
        &engine,
        "UrlClickEvents | where Timestamp > datetime(2024-03-29 00:00) | count",
    )
    .await;
    assert_eq!(n, 20);
    let s = store.last_scan_stats("UrlClickEvents").unwrap();
    assert_eq!(
        (s.files_scanned.len(), s.files_pruned.len()),
        (2, 3),
        "{s:?}"
    );
    assert!(s.time_from.is_some() && s.time_to.is_none());

    let n = count(
        &engine,
        "UrlClickEvents | where Timestamp between (datetime(2024-03-27) .. datetime(2024-03-27 23:59)) | count",
    )
    .await;
    assert_eq!(n, 10);
    let s = store.last_scan_stats("UrlClickEvents").unwrap();
    assert_eq!(s.files_scanned.len(), 1, "{s:?}");

    let n = count(
        &engine,
        "UrlClickEvents | where Timestamp >= datetime(2024-03-27) and Timestamp < datetime(2024-03-29) and Url has 'example' | count",
    )
    .await;
    assert_eq!(n, 20);
    let s = store.last_scan_stats("UrlClickEvents").unwrap();
    assert_eq!(s.files_scanned.len(), 2, "{s:?}");

    // `ago()` is folded to a literal before the scan, so it prunes too (the data is
    // from 2024, the clock is later).
    assert_eq!(
        count(
            &engine,
            "UrlClickEvents | where Timestamp > ago(1d) | count"
        )
        .await,
        0
    );
    let s = store.last_scan_stats("UrlClickEvents").unwrap();
    assert_eq!(
        (s.files_scanned.len(), s.files_pruned.len()),
        (0, 5),
        "{s:?}"
    );

    // Memtable rows are always scanned (and filtered by DataFusion).
    store
        .append("UrlClickEvents", clicks(&[T0 + 10 * DAY], 100))
        .await
        .unwrap();
    let n = count(
        &engine,
        "UrlClickEvents | where Timestamp > datetime(2024-04-01) | count",
    )
    .await;
    assert_eq!(n, 1);
    let s = store.last_scan_stats("UrlClickEvents").unwrap();
    assert_eq!((s.files_scanned.len(), s.memtable_rows), (0, 1), "{s:?}");
}

#[tokio::test]
async fn segments_can_live_in_an_in_memory_object_store() {
    let dir = tempfile::tempdir().unwrap();
    let mem = Arc::new(object_store::memory::InMemory::new());
    let opts = StoreOptions {
        object_store: Some(mem.clone()),
        ..options()
    };
    let store = Store::open_with(dir.path(), opts.clone()).unwrap();
    let ts: Vec<i64> = (0..3).map(|d| T0 + d * DAY).collect();
    store
        .append("UrlClickEvents", clicks(&ts, 0))
        .await
        .unwrap();
    store.flush().await.unwrap();
    assert!(segment_files(dir.path(), "UrlClickEvents").is_empty());
    let engine = engine_over(&store);
    assert_eq!(
        count(
            &engine,
            "UrlClickEvents | where Timestamp > datetime(2024-03-27) | count"
        )
        .await,
        2
    );
    store
        .append("UrlClickEvents", clicks(&[T0 + 5], 9))
        .await
        .unwrap();
    store.flush().await.unwrap();
    assert_eq!(store.compact().await.unwrap().len(), 1);
    store.close().await.unwrap();
    let store = Store::open_with(dir.path(), opts).unwrap();
    assert_eq!(
        count(&engine_over(&store), "UrlClickEvents | count").await,
        4
    );
}

#[tokio::test]
async fn size_threshold_flushes_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(
        dir.path(),
        StoreOptions {
            flush_bytes: 1,
            ..options()
        },
    )
    .unwrap();
    store
        .append("UrlClickEvents", clicks(&[T0], 0))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while store
        .table_stats("UrlClickEvents")
        .unwrap()
        .segments
        .is_empty()
    {
        assert!(Instant::now() < deadline, "no automatic flush");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        count(&engine_over(&store), "UrlClickEvents | count").await,
        1
    );
}

// ---------------------------------------------------------------------------------
// Crash test: a child process (this test binary, re-executed) appends and prints each
// acknowledged batch id; the parent SIGKILLs it and checks every acknowledged batch is
// present exactly once.
// ---------------------------------------------------------------------------------

const CRASH_ENV: &str = "CLICKHUNT_CRASH_CHILD";
const CRASH_BASE_ENV: &str = "CLICKHUNT_CRASH_BASE";
const ROWS_PER_BATCH: i32 = 10;

/// Not a test of its own: the child half of `acknowledged_rows_survive_sigkill`.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CRASH_ENV) else {
        return;
    };
    let base: i64 = std::env::var(CRASH_BASE_ENV)
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        // Small thresholds so flushes (segment + manifest + WAL deletion) race the kill.
        let store = Store::open_with(
            Path::new(&dir),
            StoreOptions {
                flush_bytes: 16 << 10,
                flush_age: Duration::from_millis(100),
                gc_grace: Duration::ZERO,
                ..StoreOptions::default()
            },
        )
        .unwrap();
        store
            .execute_management(
                ".create-merge table Crash (Timestamp:datetime, BatchId:long, Row:int)",
            )
            .await
            .unwrap();
        let next = Arc::new(std::sync::atomic::AtomicI64::new(base));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (store, next) = (store.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                let stop = Instant::now() + Duration::from_secs(60);
                while Instant::now() < stop {
                    let id = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let n = ROWS_PER_BATCH as usize;
                    let batch = RecordBatch::try_from_iter(vec![
                        (
                            "Timestamp",
                            Arc::new(
                                TimestampNanosecondArray::from(vec![T0 + id * 1_000_000_000; n])
                                    .with_timezone("UTC"),
                            ) as ArrayRef,
                        ),
                        ("BatchId", Arc::new(Int64Array::from(vec![id; n]))),
                        (
                            "Row",
                            Arc::new(Int32Array::from_iter_values(0..ROWS_PER_BATCH)),
                        ),
                    ])
                    .unwrap();
                    store.append("Crash", batch).await.unwrap();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ACK {id}").unwrap();
                    out.flush().unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

/// Runs the child until `want` acks are read, then SIGKILLs it. Returns the acks.
fn run_and_kill(dir: &Path, base: i64, want: usize) -> Vec<i64> {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "storage::crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_ENV, dir)
        .env(CRASH_BASE_ENV, base.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acks = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if let Some(id) = line.strip_prefix("ACK ") {
            acks.push(id.trim().parse::<i64>().unwrap());
            if acks.len() >= want {
                break;
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        acks.len() >= want,
        "the child stopped after {} acks",
        acks.len()
    );
    acks
}

#[tokio::test]
async fn acknowledged_rows_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked = Vec::new();
    // Twice: the second child starts from a replayed WAL and is killed again.
    for round in 0..2 {
        acked.extend(run_and_kill(dir.path(), round * 1_000_000, 300));
    }
    let store = open(dir.path());
    let engine = engine_over(&store);
    let r = engine
        .query("Crash | summarize n = count() by BatchId")
        .await
        .unwrap();
    let mut present: BTreeMap<i64, i64> = BTreeMap::new();
    for b in &r.batches {
        let ids = b.column(0).as_primitive::<Int64Type>();
        let ns = b.column(1).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            present.insert(ids.value(i), ns.value(i));
        }
    }
    for (id, n) in &present {
        assert_eq!(
            *n, ROWS_PER_BATCH as i64,
            "batch {id} is present {n} rows, not {ROWS_PER_BATCH}"
        );
    }
    for id in &acked {
        assert!(
            present.contains_key(id),
            "acknowledged batch {id} is missing"
        );
    }
    let stats = store.table_stats("Crash").unwrap();
    println!(
        "crash test: {} acked, {} present, {} segments, {} rows in memtable",
        acked.len(),
        present.len(),
        stats.segments.len(),
        stats.memtable_rows
    );
}

#[tokio::test]
async fn the_parquet_scan_receives_the_time_predicate_and_projection() {
    use datafusion::logical_expr::{col, lit};
    use datafusion::prelude::SessionContext;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .append("UrlClickEvents", clicks(&[T0, T0 + DAY], 0))
        .await
        .unwrap();
    store.flush().await.unwrap();
    let ctx = SessionContext::new();
    ctx.register_table("clicks", store.table_provider("UrlClickEvents").unwrap())
        .unwrap();
    let ts = datafusion::common::ScalarValue::TimestampNanosecond(Some(T0 + 1), Some("UTC".into()));
    let df = ctx
        .table("clicks")
        .await
        .unwrap()
        .filter(col("\"Timestamp\"").gt(lit(ts)))
        .unwrap()
        .select(vec![col("\"Url\"")])
        .unwrap();
    let plan = df.clone().create_physical_plan().await.unwrap();
    let text = datafusion::physical_plan::displayable(plan.as_ref())
        .indent(true)
        .to_string();
    assert!(text.contains("predicate=Timestamp@"), "{text}");
    assert!(
        text.contains("projection=[Timestamp, Url]")
            || text.contains("projection=[Url, Timestamp]"),
        "{text}"
    );
    let batches = df.collect().await.unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    let s = store.last_scan_stats("UrlClickEvents").unwrap();
    assert_eq!((s.files_scanned.len(), s.files_pruned.len()), (1, 1));
}

/// Throughput in the current profile; run with
/// `cargo test -p store --test it storage::measure -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn measure_append_flush_and_scan() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let schema = store.arrow_schema("UrlClickEvents").unwrap();
    let rows_per_batch = 10_000usize;
    let batches = 50;
    let make = |b: usize| {
        let cols: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .map(|f| -> ArrayRef {
                match f.name().as_str() {
                    "Timestamp" => Arc::new(
                        TimestampNanosecondArray::from_iter_values(
                            (0..rows_per_batch)
                                .map(|i| T0 + ((b * rows_per_batch + i) as i64) * 10_000_000),
                        )
                        .with_timezone("UTC"),
                    ),
                    "IsClickedThrough" => Arc::new(BooleanArray::from(vec![false; rows_per_batch])),
                    name => Arc::new(StringArray::from_iter_values(
                        (0..rows_per_batch)
                            .map(|i| format!("{name}-{}", (b * rows_per_batch + i) % 5000)),
                    )),
                }
            })
            .collect();
        RecordBatch::try_new(schema.clone(), cols).unwrap()
    };
    let prepared: Vec<RecordBatch> = (0..batches).map(make).collect();
    let total = (rows_per_batch * batches) as f64;
    let start = Instant::now();
    for b in prepared {
        store.append("UrlClickEvents", b).await.unwrap();
    }
    let append = start.elapsed();
    let start = Instant::now();
    store.flush().await.unwrap();
    let flush = start.elapsed();
    let engine = engine_over(&store);
    let start = Instant::now();
    assert_eq!(count(&engine, "UrlClickEvents | count").await, total as i64);
    let full = start.elapsed();
    let start = Instant::now();
    assert_eq!(
        count(&engine, "UrlClickEvents | where Url == 'Url-42' | count").await,
        100
    );
    let scan = start.elapsed();
    let bytes: u64 = store
        .table_stats("UrlClickEvents")
        .unwrap()
        .segments
        .iter()
        .map(|s| s.bytes)
        .sum();
    println!(
        "append {total} rows in {rows_per_batch}-row batches: {append:?} ({:.0} rows/s); flush: {flush:?} ({:.0} rows/s, {bytes} bytes of Parquet); count: {full:?}; `where Url == ..`: {scan:?}",
        total / append.as_secs_f64(),
        total / flush.as_secs_f64()
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Garbage after the last good frame (a torn or scribbled tail) is cut off and
    /// the acknowledged frame before it survives; no input panics.
    #[test]
    fn garbage_after_the_last_frame_never_loses_earlier_frames(
        garbage in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..300),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = open(dir.path());
            store.append("UrlClickEvents", clicks(&[T0], 0)).await.unwrap();
            drop(store);
            let wal = wal_files(dir.path(), "UrlClickEvents").remove(0);
            let mut f = std::fs::OpenOptions::new().append(true).open(&wal).unwrap();
            f.write_all(&garbage).unwrap();
            drop(f);
            let store = open(dir.path());
            assert_eq!(count(&engine_over(&store), "UrlClickEvents | count").await, 1);
        });
    }
}

#[tokio::test]
async fn a_planned_scan_pins_its_segments_through_a_compaction() {
    use datafusion::prelude::SessionContext;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for i in 0..2 {
        store
            .append("UrlClickEvents", clicks(&[T0 + i], i as usize))
            .await
            .unwrap();
        store.flush().await.unwrap();
    }
    let ctx = SessionContext::new();
    ctx.register_table("clicks", store.table_provider("UrlClickEvents").unwrap())
        .unwrap();
    let plan = ctx
        .table("clicks")
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();

    // Compaction replaces both files; the plan still holds the old snapshot.
    assert_eq!(store.compact().await.unwrap().len(), 1);
    assert_eq!(segment_files(dir.path(), "UrlClickEvents").len(), 3);
    let rows: usize = datafusion::physical_plan::collect(plan.clone(), ctx.task_ctx())
        .await
        .unwrap()
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(rows, 2);

    // Once the plan is gone, the next maintenance pass deletes the old files.
    drop(plan);
    store.compact().await.unwrap();
    assert_eq!(segment_files(dir.path(), "UrlClickEvents").len(), 1);
}

#[tokio::test]
async fn a_bulk_load_is_visible_all_at_once_on_commit_and_not_at_all_on_abort() {
    let dir = tempfile::tempdir().unwrap();
    // A tiny stage size: every batch is written as segments at once.
    let store = Store::open_with(
        dir.path(),
        StoreOptions {
            bulk_stage_bytes: 1,
            ..options()
        },
    )
    .unwrap();
    let engine = engine_over(&store);
    store
        .append("UrlClickEvents", clicks(&[T0], 0))
        .await
        .unwrap();
    let q = "UrlClickEvents | count";

    let mut load = store.bulk_load("UrlClickEvents").await.unwrap();
    load.add(clicks(&[T0, T0 + DAY], 1)).await.unwrap();
    load.add(clicks(&[T0 + 2 * DAY], 3)).await.unwrap();
    assert_eq!(load.rows(), 3);
    assert!(
        segment_files(dir.path(), "UrlClickEvents").is_empty(),
        "nothing stored yet"
    );
    assert_eq!(count(&engine, q).await, 1, "loading rows are not visible");
    load.abort().await;
    assert!(segment_files(dir.path(), "UrlClickEvents").is_empty());
    assert_eq!(count(&engine, q).await, 1);

    // Three stages over three days: one file per day, a row group per stage.
    let mut load = store.bulk_load("UrlClickEvents").await.unwrap();
    load.add(clicks(&[T0, T0 + DAY], 1)).await.unwrap();
    load.add(clicks(&[T0 + 2 * DAY], 3)).await.unwrap();
    load.add(clicks(&[T0 + 1, T0 + DAY + 1], 4)).await.unwrap();
    assert_eq!(count(&engine, q).await, 1);
    assert_eq!(load.commit().await.unwrap(), 5);
    assert_eq!(segment_files(dir.path(), "UrlClickEvents").len(), 3);
    assert_eq!(count(&engine, q).await, 6);
    assert_eq!(
        count(
            &engine,
            "UrlClickEvents | where Timestamp == datetime(2024-03-26T09:39:50.7688641Z) | count"
        )
        .await,
        2,
        "ticks intact"
    );
    assert_eq!(
        count(&engine, "UrlClickEvents | where Timestamp between (datetime(2024-03-27) .. datetime(2024-03-28)) | count").await,
        2,
        "each day's row groups are found by time"
    );
    // Durable: a reopened store lists the committed segments.
    store.close().await.unwrap();
    let store = open(dir.path());
    assert_eq!(count(&engine_over(&store), q).await, 6);
    // A batch that does not fit the table is refused by name.
    let mut load = store.bulk_load("UrlClickEvents").await.unwrap();
    let bad = RecordBatch::try_from_iter(vec![(
        "NoSuchColumn",
        Arc::new(StringArray::from(vec!["x"])) as ArrayRef,
    )])
    .unwrap();
    let e = load.add(bad).await.unwrap_err().to_string();
    assert!(e.contains("NoSuchColumn"), "{e}");
    load.abort().await;
    assert!(matches!(
        store.bulk_load("NoSuchTable").await,
        Err(StoreError::UnknownTable { .. })
    ));
}
