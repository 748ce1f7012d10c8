//! The WAL writer: one thread that owns every open WAL file and does group commit.
//!
//! Appenders encode their frame on their own task, send it here and wait. The thread
//! takes every request that is waiting, writes all frames, then fsyncs each touched
//! file once: N concurrent appends cost one fsync, not N. Small batches (a click, a
//! message's URLs) come unencoded: the thread writes the small appends of a group to
//! one table as one frame, so a stream of tiny appends does not pay for a frame (and
//! its schema message) each. Only after the fsync does it
//! put the batches in the memtable (in WAL order) and answer, so an acknowledged row is
//! durable and immediately queryable. A plain thread (not a tokio task) keeps blocking
//! fsyncs off the async runtime and lets `Store::open` work without one.
//!
//! Each table writes to a *prepared* WAL file when one is ready (see `wal`): a
//! helper thread writes the next file in full while the current one fills up, so
//! the fsyncs that acknowledge appends never have to grow a file.

use super::error::{Result, StoreError};
use super::table::{Frozen, OpenWal, Spare, TableShared, WalState};
use super::wal;
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::record_batch::RecordBatch;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Requests taken in one group, at most.
const MAX_GROUP: usize = 4096;

/// What an acknowledged append tells the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendAck {
    pub rows: usize,
    /// The WAL file (`<Table>/wal/<wal_seq>.wal`) and byte offset of the frame (small
    /// appends written together share one).
    pub wal_seq: u64,
    pub wal_offset: u64,
}

/// A batch of at most this many bytes of Arrow data is sent unencoded and merged
/// with the group's other small appends to its table.
pub(crate) const MERGE_BELOW_BYTES: usize = 64 << 10;

pub(crate) enum Request {
    Append {
        table: Arc<TableShared>,
        /// The encoded frame; `None` for a small batch (see [`MERGE_BELOW_BYTES`]).
        frame: Option<Vec<u8>>,
        batch: RecordBatch,
        reply: oneshot::Sender<Result<AppendAck>>,
    },
    /// Close the table's WAL file and freeze its memtable for a flush. Answers the
    /// covered WAL sequence, or `None` when there is nothing to flush.
    Rotate {
        table: Arc<TableShared>,
        reply: oneshot::Sender<Result<Option<u64>>>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

#[derive(Debug)]
pub(crate) struct WalWriter {
    tx: std::sync::Mutex<Option<mpsc::Sender<Request>>>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl WalWriter {
    /// `prepared_bytes`: the size WAL files are prepared with (0: no spares).
    pub(crate) fn start(prepared_bytes: u64) -> Result<WalWriter> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("clickhunt-wal".into())
            .spawn(move || run(rx, prepared_bytes))
            .map_err(|e| StoreError::io("starting the WAL writer thread", e))?;
        Ok(WalWriter {
            tx: std::sync::Mutex::new(Some(tx)),
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    fn send(&self, req: Request) -> Result<()> {
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        match tx.as_ref() {
            Some(tx) => tx.send(req).map_err(|_| StoreError::Closed),
            None => Err(StoreError::Closed),
        }
    }

    pub(crate) async fn append(
        &self,
        table: Arc<TableShared>,
        frame: Option<Vec<u8>>,
        batch: RecordBatch,
    ) -> Result<AppendAck> {
        let (reply, rx) = oneshot::channel();
        self.send(Request::Append {
            table,
            frame,
            batch,
            reply,
        })?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    pub(crate) async fn rotate(&self, table: Arc<TableShared>) -> Result<Option<u64>> {
        let (reply, rx) = oneshot::channel();
        self.send(Request::Rotate { table, reply })?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Finishes waiting requests, closes every file and stops the thread.
    pub(crate) async fn shutdown(&self) {
        let (reply, rx) = oneshot::channel();
        if self.send(Request::Shutdown { reply }).is_ok() {
            let _ = rx.await;
        }
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
    }
}

type Reply = oneshot::Sender<Result<AppendAck>>;

/// A frame written and waiting for the group's fsync: its rows (one batch, for the
/// memtable) and the appends it answers.
struct Pending {
    table: Arc<TableShared>,
    batch: RecordBatch,
    replies: Vec<(Reply, AppendAck)>,
}

/// A small append waiting to share a frame.
struct Small {
    table: Arc<TableShared>,
    batch: RecordBatch,
    reply: Reply,
}

fn run(rx: mpsc::Receiver<Request>, prepared_bytes: u64) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(r) => group.push(r),
                Err(_) => break,
            }
        }
        let mut pending: Vec<Pending> = Vec::new();
        let mut small: Vec<Small> = Vec::new();
        for req in group {
            match req {
                Request::Append {
                    table,
                    frame: Some(frame),
                    batch,
                    reply,
                } => {
                    let rows = batch.num_rows();
                    let appends = vec![(reply, rows)];
                    write_pending(
                        &mut pending,
                        table,
                        Ok(frame),
                        batch,
                        appends,
                        prepared_bytes,
                    );
                }
                Request::Append {
                    table,
                    frame: None,
                    batch,
                    reply,
                } => small.push(Small {
                    table,
                    batch,
                    reply,
                }),
                Request::Rotate { table, reply } => {
                    write_merged(&mut small, &mut pending, prepared_bytes);
                    commit(&mut pending, Some(&table));
                    let _ = reply.send(rotate(&table));
                }
                Request::Shutdown { reply } => {
                    write_merged(&mut small, &mut pending, prepared_bytes);
                    commit(&mut pending, None);
                    let _ = reply.send(());
                    return;
                }
            }
        }
        write_merged(&mut small, &mut pending, prepared_bytes);
        commit(&mut pending, None);
    }
}

/// Writes the small appends of each table (and schema) as one frame.
fn write_merged(small: &mut Vec<Small>, pending: &mut Vec<Pending>, prepared_bytes: u64) {
    while let Some(first) = small.first() {
        let table = first.table.clone();
        let schema = first.batch.schema();
        let (same, rest): (Vec<Small>, Vec<Small>) = std::mem::take(small)
            .into_iter()
            .partition(|s| Arc::ptr_eq(&s.table, &table) && s.batch.schema() == schema);
        *small = rest;
        let merged = concat_batches(&schema, same.iter().map(|s| &s.batch))
            .map_err(|e| StoreError::schema(&table.name, e.to_string()));
        let appends = same
            .into_iter()
            .map(|s| (s.reply, s.batch.num_rows()))
            .collect();
        match merged {
            Ok(batch) => {
                let frame =
                    wal::encode_frame(&batch).map_err(|m| StoreError::schema(&table.name, m));
                write_pending(pending, table, frame, batch, appends, prepared_bytes);
            }
            Err(e) => fail(appends, e),
        }
    }
}

/// Writes `frame` (the encoded `batch`) and queues it for the group's fsync, or
/// answers its appends (reply, rows) with the failure.
fn write_pending(
    pending: &mut Vec<Pending>,
    table: Arc<TableShared>,
    frame: Result<Vec<u8>>,
    batch: RecordBatch,
    appends: Vec<(Reply, usize)>,
    prepared_bytes: u64,
) {
    match frame.and_then(|f| write_frame(&table, &f, prepared_bytes)) {
        Ok((wal_seq, wal_offset)) => pending.push(Pending {
            table,
            batch,
            replies: appends
                .into_iter()
                .map(|(reply, rows)| {
                    let ack = AppendAck {
                        rows,
                        wal_seq,
                        wal_offset,
                    };
                    (reply, ack)
                })
                .collect(),
        }),
        Err(e) => fail(appends, e),
    }
}

/// Answers appends with `e` (one append gets it as it is).
fn fail(appends: Vec<(Reply, usize)>, e: StoreError) {
    if appends.len() == 1 {
        if let Some((reply, _)) = appends.into_iter().next() {
            let _ = reply.send(Err(e));
        }
        return;
    }
    let msg = e.to_string();
    for (reply, _) in appends {
        let _ = reply.send(Err(StoreError::Rejected(msg.clone())));
    }
}

/// Appends one frame to the table's current WAL file. A new file is opened when
/// there is none, and the writer moves on to a ready spare when the current file has
/// no prepared room left for the frame.
fn write_frame(table: &TableShared, frame: &[u8], prepared_bytes: u64) -> Result<(u64, u64)> {
    if table.dropped.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(StoreError::unknown_table(&table.name, []));
    }
    let mut st = table.wal.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(why) = &st.poisoned {
        return Err(StoreError::Rejected(format!(
            "table `{}`: appends are disabled after a WAL write failure ({why}); reopen the store",
            table.name
        )));
    }
    let full = st
        .file
        .as_ref()
        .is_none_or(|f| f.len + frame.len() as u64 > f.prepared);
    if full {
        let dir = table.wal_dir();
        if let Some((file, path)) = ready_spare(&mut st) {
            let prepared = prepared_bytes.max(wal::HEADER_LEN);
            switch_to_spare(&mut st, &dir, (file, prepared), &path)?;
        } else if st.file.is_none() {
            std::fs::create_dir_all(&dir)
                .map_err(|e| StoreError::io(format!("creating {}", dir.display()), e))?;
            let seq = st.last_seq + 1;
            let file = wal::create_file(&dir, seq)?;
            st.last_seq = seq;
            st.file = Some(OpenWal {
                seq,
                file,
                len: wal::HEADER_LEN,
                prepared: wal::HEADER_LEN,
            });
        }
        if prepared_bytes > 0 {
            request_spare(&mut st, &dir, prepared_bytes);
        }
    }
    let Some(open) = st.file.as_mut() else {
        return Err(StoreError::Internal("WAL file vanished".into()));
    };
    let offset = open.len;
    let seq = open.seq;
    if let Err(e) = open.file.write_all_at(frame, offset) {
        let path = table.wal_dir().join(wal::file_name(seq));
        // Never leave half a frame in front of the next one.
        match open.file.set_len(offset) {
            Ok(()) => open.prepared = open.prepared.min(offset),
            Err(e2) => st.poisoned = Some(format!("{e}; then truncating failed: {e2}")),
        }
        return Err(StoreError::io(
            format!("writing WAL file {}", path.display()),
            e,
        ));
    }
    open.len += frame.len() as u64;
    Ok((seq, offset))
}

/// The spare for the next sequence number, if its thread has finished it.
fn ready_spare(st: &mut WalState) -> Option<(File, PathBuf)> {
    let spare = st.spare.take()?;
    match spare.ready.try_recv() {
        Ok(Ok((file, path))) if spare.seq == st.last_seq + 1 => Some((file, path)),
        Ok(Ok((_, path))) => {
            let _ = std::fs::remove_file(path);
            None
        }
        // Appends work without spares; try again later.
        Ok(Err(_)) | Err(mpsc::TryRecvError::Disconnected) => {
            st.spare_retry_at = Some(Instant::now() + SPARE_RETRY);
            None
        }
        Err(mpsc::TryRecvError::Empty) => {
            st.spare = Some(spare);
            None
        }
    }
}

/// After a spare failed, the next attempt waits this long.
const SPARE_RETRY: Duration = Duration::from_secs(10);

/// Starts preparing the spare for the next sequence number, unless one is on its way.
fn request_spare(st: &mut WalState, dir: &Path, prepared_bytes: u64) {
    if st.spare.is_some() || st.spare_retry_at.is_some_and(|t| Instant::now() < t) {
        return;
    }
    let seq = st.last_seq + 1;
    let (tx, ready) = mpsc::channel();
    let dir = dir.to_path_buf();
    let started = std::thread::Builder::new()
        .name("clickhunt-wal-spare".into())
        .spawn(move || {
            let _ = tx.send(wal::prepare_spare(&dir, seq, prepared_bytes));
        });
    if started.is_ok() {
        st.spare = Some(Spare { seq, ready });
    }
}

/// Makes the spare the current WAL file. Frames already written to the old file
/// are synced first: only the newest file may ever end in a torn frame.
fn switch_to_spare(
    st: &mut WalState,
    dir: &Path,
    (file, prepared): (File, u64),
    spare: &Path,
) -> Result<()> {
    let seq = st.last_seq + 1;
    if let Some(old) = st.file.take() {
        if let Err(e) = sync_file(&old.file, dir, old.seq, &mut st.poisoned) {
            let _ = std::fs::remove_file(spare);
            return Err(e);
        }
    }
    if let Err(e) = wal::install_spare(spare, dir, seq) {
        let _ = std::fs::remove_file(spare);
        // The new name may exist without a durable directory entry: never reuse it.
        st.last_seq = seq;
        return Err(e);
    }
    st.last_seq = seq;
    st.file = Some(OpenWal {
        seq,
        file,
        len: wal::HEADER_LEN,
        prepared,
    });
    Ok(())
}

/// fsyncs the files of pending appends (of one table, or all), then makes the rows
/// visible and answers. After a failed fsync nothing of that table is acknowledged.
fn commit(pending: &mut Vec<Pending>, only: Option<&Arc<TableShared>>) {
    let (mut mine, rest): (Vec<Pending>, Vec<Pending>) = std::mem::take(pending)
        .into_iter()
        .partition(|p| only.is_none_or(|t| Arc::ptr_eq(t, &p.table)));
    *pending = rest;
    while let Some(first) = mine.first() {
        let table = first.table.clone();
        let (batch, others): (Vec<Pending>, Vec<Pending>) = mine
            .into_iter()
            .partition(|p| Arc::ptr_eq(&p.table, &table));
        mine = others;
        let replies = match sync(&table) {
            Ok(()) => {
                let mut replies = Vec::new();
                let mut view = table.write_view();
                for p in batch {
                    view.active.push(p.batch);
                    replies.extend(p.replies);
                }
                replies
            }
            Err(e) => {
                let msg = e.to_string();
                for (reply, _) in batch.into_iter().flat_map(|p| p.replies) {
                    let _ = reply.send(Err(StoreError::Rejected(format!(
                        "table `{}`: append not durable: {msg}",
                        table.name
                    ))));
                }
                continue;
            }
        };
        for (reply, ack) in replies {
            let _ = reply.send(Ok(ack));
        }
    }
}

fn sync(table: &TableShared) -> Result<()> {
    let mut guard = table.wal.lock().unwrap_or_else(|e| e.into_inner());
    let st = &mut *guard;
    let Some(open) = st.file.as_ref() else {
        return Err(StoreError::Internal("WAL file closed before sync".into()));
    };
    sync_file(&open.file, &table.wal_dir(), open.seq, &mut st.poisoned)
}

/// fsyncs WAL file `seq` of `dir`. A file's state after a failed fsync is unknown:
/// the table's appends stop (`poisoned`).
fn sync_file(file: &File, dir: &Path, seq: u64, poisoned: &mut Option<String>) -> Result<()> {
    file.sync_data().map_err(|e| {
        let path = dir.join(wal::file_name(seq));
        *poisoned = Some(format!("fsync of {} failed: {e}", path.display()));
        StoreError::io(format!("syncing WAL file {}", path.display()), e)
    })
}

/// Closes the current WAL file and moves the active memtable to `frozen`.
fn rotate(table: &TableShared) -> Result<Option<u64>> {
    let mut st = table.wal.lock().unwrap_or_else(|e| e.into_inner());
    st.file = None;
    let covered = st.last_seq;
    let mut view = table.write_view();
    if view.active.is_empty() && view.frozen.is_none() {
        return Ok(None);
    }
    let active = view.active.take();
    match view.frozen.as_mut() {
        // A previous flush failed after freezing: flush both together.
        Some(f) => {
            f.mem.extend(active);
            f.covered_seq = covered;
        }
        None => {
            view.frozen = Some(Frozen {
                mem: active,
                covered_seq: covered,
            })
        }
    }
    Ok(Some(covered))
}
