//! The write-ahead log: one directory of numbered files per table.
//!
//! File `<seq>.wal` (seq zero-padded to 20 digits so names sort) is a 16-byte header
//! (`CHWAL` + 2 zero bytes + format byte 1, then the seq as u64 LE) followed by frames:
//!
//! ```text
//! len: u32 LE | crc: u32 LE = crc32(len bytes ++ payload) | payload: len bytes
//! ```
//!
//! The payload is one RecordBatch as a complete Arrow IPC *stream* (schema message,
//! batch, end marker), so every frame decodes on its own even when the table's schema
//! changed between frames. The checksum covers the length too, so a damaged length is
//! caught as surely as a damaged payload.
//!
//! Recovery rule: only the newest WAL file can have a torn tail (older files were
//! fsynced and closed before a newer one was opened), and a tail can only hold frames
//! that were never acknowledged (acks follow the fsync). So the first bad frame of the
//! newest file ends the log and the file is truncated there; a bad frame anywhere else
//! is real corruption and is reported, never silently skipped.
//!
//! Prepared files: appending to a file makes every fsync also commit the file's new
//! size and blocks to the filesystem journal. So the writer moves to *spare* files
//! that a background thread wrote in full beforehand (header, then zeros, synced):
//! frames then overwrite blocks that already exist, and an fsync only has data to
//! write. A spare is named `<seq>.wal.spare-<id>` (invisible to [`list_files`]) until
//! the writer renames it into place. In any file, a frame header of zeros followed by
//! nothing but zeros is the end of the log, not damage.

use super::error::{Result, StoreError};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::{IpcWriteOptions, StreamWriter};
use datafusion::arrow::ipc::MetadataVersion;
use datafusion::arrow::record_batch::RecordBatch;
use std::fs::{File, OpenOptions};
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const MAGIC: &[u8; 8] = b"CHWAL\0\0\x01";
pub(crate) const HEADER_LEN: u64 = 16;
const FRAME_HEADER_LEN: usize = 8;
/// Larger batches must be split by the caller: one frame is read into memory at once.
pub(crate) const MAX_FRAME_PAYLOAD: usize = 1 << 30;

pub(crate) fn file_name(seq: u64) -> String {
    format!("{seq:020}.wal")
}

/// Encodes `batch` as one complete frame (header and payload).
pub(crate) fn encode_frame(batch: &RecordBatch) -> std::result::Result<Vec<u8>, String> {
    let mut buf = vec![0u8; FRAME_HEADER_LEN];
    {
        // 8-byte alignment (the IPC minimum): a frame is read back from an arbitrary
        // file offset anyway, and the default 64 bytes of padding per buffer doubles
        // the size of the small batches that clicks append.
        let options =
            IpcWriteOptions::try_new(8, false, MetadataVersion::V5).map_err(|e| e.to_string())?;
        let mut w = StreamWriter::try_new_with_options(&mut buf, &batch.schema(), options)
            .map_err(|e| e.to_string())?;
        w.write(batch).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
    }
    let payload_len = buf.len() - FRAME_HEADER_LEN;
    if payload_len > MAX_FRAME_PAYLOAD {
        return Err(format!(
            "a batch of {} rows encodes to {payload_len} bytes, more than the {MAX_FRAME_PAYLOAD}-byte \
             limit of one WAL frame; append it in smaller batches",
            batch.num_rows()
        ));
    }
    let len = (payload_len as u32).to_le_bytes();
    let mut h = crc32fast::Hasher::new();
    h.update(&len);
    h.update(&buf[FRAME_HEADER_LEN..]);
    buf[0..4].copy_from_slice(&len);
    buf[4..8].copy_from_slice(&h.finalize().to_le_bytes());
    Ok(buf)
}

/// The WAL files in `dir`, oldest first. Files that are not ours are ignored.
pub(crate) fn list_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(StoreError::io(format!("listing {}", dir.display()), e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(format!("listing {}", dir.display()), e))?;
        let name = entry.file_name();
        let Some(seq) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".wal"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        out.push((seq, entry.path()));
    }
    out.sort();
    Ok(out)
}

/// Creates `<dir>/<seq>.wal` with its header, durably (file and directory entry).
pub(crate) fn create_file(dir: &Path, seq: u64) -> Result<File> {
    let path = dir.join(file_name(seq));
    let mut f = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::io(format!("creating WAL file {}", path.display()), e))?;
    f.write_all(&header(seq))
        .and_then(|_| f.sync_all())
        .map_err(|e| StoreError::io(format!("writing WAL header {}", path.display()), e))?;
    sync_dir(dir)?;
    Ok(f)
}

/// Zeros written and synced at a time while preparing a spare.
const SPARE_CHUNK: usize = 256 << 10;

/// Writes a spare for WAL file `seq` in `dir`: header, then zeros up to `len` bytes,
/// synced in small chunks with pauses between them, so that the WAL's own fsyncs
/// (which acknowledge appends) never queue behind a large write-back. Returns the
/// open file and the spare's path; see [`install_spare`].
pub(crate) fn prepare_spare(dir: &Path, seq: u64, len: u64) -> Result<(File, PathBuf)> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!(
        "{}.spare-{}-{id}",
        file_name(seq),
        std::process::id()
    ));
    let write = || -> std::io::Result<File> {
        let mut f = OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .open(&path)?;
        f.write_all(&header(seq))?;
        let zeros = vec![0u8; SPARE_CHUNK];
        let mut at = HEADER_LEN;
        while at < len {
            let started = std::time::Instant::now();
            let n = (len - at).min(zeros.len() as u64) as usize;
            f.write_all(&zeros[..n])?;
            f.sync_data()?;
            at += n as u64;
            // Leave the disk to the WAL's own fsyncs at least half of the time.
            std::thread::sleep(started.elapsed());
        }
        f.sync_all()?;
        Ok(f)
    };
    match write() {
        Ok(f) => Ok((f, path)),
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(StoreError::io(
                format!("preparing WAL file {}", path.display()),
                e,
            ))
        }
    }
}

/// Makes a prepared spare WAL file `seq`, durably (its frames go to that name).
pub(crate) fn install_spare(spare: &Path, dir: &Path, seq: u64) -> Result<()> {
    let path = dir.join(file_name(seq));
    std::fs::rename(spare, &path).map_err(|e| {
        StoreError::io(
            format!("renaming {} to {}", spare.display(), path.display()),
            e,
        )
    })?;
    sync_dir(dir)
}

/// Removes spares left by an earlier process (they never held a frame).
pub(crate) fn remove_spares(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.contains(".wal.spare-"))
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn header(seq: u64) -> [u8; HEADER_LEN as usize] {
    let mut header = [0u8; HEADER_LEN as usize];
    header[..8].copy_from_slice(MAGIC);
    header[8..].copy_from_slice(&seq.to_le_bytes());
    header
}

/// Makes a directory's entries (new, renamed or removed files) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(format!("syncing directory {}", dir.display()), e))
}

/// What one WAL file holds.
#[derive(Debug)]
pub(crate) struct WalContents {
    pub(crate) batches: Vec<RecordBatch>,
    /// Bytes up to the end of the last good frame.
    pub(crate) good_len: u64,
    /// Why reading stopped before the end of the file, if it did.
    pub(crate) damage: Option<Damage>,
}

#[derive(Debug)]
pub(crate) struct Damage {
    pub(crate) offset: u64,
    pub(crate) reason: String,
}

/// Reads every good frame of a WAL file, stopping at the first bad one.
pub(crate) fn read_file(path: &Path, seq: u64) -> Result<WalContents> {
    let bytes = std::fs::read(path)
        .map_err(|e| StoreError::io(format!("reading WAL file {}", path.display()), e))?;
    Ok(parse(&bytes, seq))
}

fn parse(bytes: &[u8], seq: u64) -> WalContents {
    let damaged = |offset: usize, reason: String, batches, good_len| WalContents {
        batches,
        good_len,
        damage: Some(Damage {
            offset: offset as u64,
            reason,
        }),
    };
    if bytes.len() < HEADER_LEN as usize {
        return damaged(0, "the file header is incomplete".into(), vec![], 0);
    }
    if &bytes[..8] != MAGIC {
        return damaged(0, "not a clickhunt WAL file (bad magic)".into(), vec![], 0);
    }
    let file_seq = u64::from_le_bytes(bytes[8..16].try_into().unwrap_or_default());
    if file_seq != seq {
        return damaged(
            8,
            format!("the header says sequence {file_seq}, the name says {seq}"),
            vec![],
            0,
        );
    }
    let mut batches = Vec::new();
    let mut pos = HEADER_LEN as usize;
    while pos < bytes.len() {
        let good = pos as u64;
        let head = &bytes[pos..bytes.len().min(pos + FRAME_HEADER_LEN)];
        if head.iter().all(|b| *b == 0) {
            // The unused part of a prepared file, or damage that looks like it.
            if bytes[pos..].iter().all(|b| *b == 0) {
                break;
            }
            return damaged(
                pos,
                "a zeroed frame header is followed by data".into(),
                batches,
                good,
            );
        }
        if bytes.len() - pos < FRAME_HEADER_LEN {
            return damaged(pos, "a frame header is incomplete".into(), batches, good);
        }
        let len_bytes: [u8; 4] = bytes[pos..pos + 4].try_into().unwrap_or_default();
        let len = u32::from_le_bytes(len_bytes) as usize;
        let crc = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap_or_default());
        let start = pos + FRAME_HEADER_LEN;
        if len > bytes.len() - start {
            return damaged(
                pos,
                format!(
                    "a frame claims {len} bytes but only {} remain",
                    bytes.len() - start
                ),
                batches,
                good,
            );
        }
        let payload = &bytes[start..start + len];
        let mut h = crc32fast::Hasher::new();
        h.update(&len_bytes);
        h.update(payload);
        if h.finalize() != crc {
            return damaged(pos, "frame checksum mismatch".into(), batches, good);
        }
        match decode_payload(payload) {
            Ok(mut b) => batches.append(&mut b),
            Err(e) => {
                return damaged(
                    pos,
                    format!("checksum ok but the batch does not decode: {e}"),
                    batches,
                    good,
                )
            }
        }
        pos = start + len;
    }
    WalContents {
        batches,
        good_len: pos as u64,
        damage: None,
    }
}

fn decode_payload(payload: &[u8]) -> std::result::Result<Vec<RecordBatch>, String> {
    let reader = StreamReader::try_new(Cursor::new(payload), None).map_err(|e| e.to_string())?;
    reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

/// Cuts a file back to its last good frame so new frames never follow garbage.
pub(crate) fn truncate(path: &Path, len: u64) -> Result<()> {
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| StoreError::io(format!("opening {} to repair it", path.display()), e))?;
    f.set_len(len)
        .and_then(|_| f.sync_all())
        .map_err(|e| StoreError::io(format!("truncating {} to {len} bytes", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch(n: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(0..n)),
                Arc::new(StringArray::from_iter_values((0..n).map(|i| i.to_string()))),
            ],
        )
        .unwrap()
    }

    fn file_with(frames: &[Vec<u8>]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&7u64.to_le_bytes());
        for f in frames {
            out.extend_from_slice(f);
        }
        out
    }

    #[test]
    fn frames_round_trip_and_every_truncation_is_detected() {
        let frames = vec![
            encode_frame(&batch(3)).unwrap(),
            encode_frame(&batch(5)).unwrap(),
        ];
        let bytes = file_with(&frames);
        let all = parse(&bytes, 7);
        assert!(all.damage.is_none());
        assert_eq!(all.batches.len(), 2);
        assert_eq!(all.good_len, bytes.len() as u64);
        let first_end = 16 + frames[0].len();
        for cut in 16..bytes.len() {
            let r = parse(&bytes[..cut], 7);
            let expect = if cut >= first_end { 1 } else { 0 };
            assert_eq!(r.batches.len(), expect, "cut at {cut}");
            assert_eq!(
                r.damage.is_some(),
                cut != 16 && cut != first_end,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_zero_tail_ends_the_log_and_torn_writes_into_it_are_detected() {
        let frames = vec![
            encode_frame(&batch(3)).unwrap(),
            encode_frame(&batch(5)).unwrap(),
        ];
        let written = file_with(&frames);
        let mut prepared = written.clone();
        prepared.resize(written.len() + 4096, 0);
        let all = parse(&prepared, 7);
        assert!(all.damage.is_none(), "{:?}", all.damage);
        assert_eq!(all.batches.len(), 2);
        assert_eq!(all.good_len, written.len() as u64);
        // Only a prefix of the last frame reached the disk: the rest is still zeros.
        let first_end = 16 + frames[0].len();
        for cut in first_end..written.len() {
            let mut torn = prepared.clone();
            torn[cut..written.len()].fill(0);
            if torn == prepared {
                continue; // the frame ends in zeros anyway
            }
            let r = parse(&torn, 7);
            assert_eq!(r.batches.len(), 1, "cut at {cut}");
            assert_eq!(r.good_len, first_end as u64, "cut at {cut}");
            assert_eq!(r.damage.is_some(), cut != first_end, "cut at {cut}");
        }
        // A later page reached the disk but the one with the frame header did not.
        let mut torn = prepared.clone();
        torn[first_end..first_end + 8].fill(0);
        let r = parse(&torn, 7);
        assert_eq!(r.batches.len(), 1);
        assert!(r.damage.unwrap().reason.contains("zeroed frame header"));
    }

    #[test]
    fn a_spare_is_a_header_and_zeros_until_installed() {
        let dir = tempfile::tempdir().unwrap();
        let (f, spare) = prepare_spare(dir.path(), 3, (2 << 20) + 5).unwrap();
        assert!(list_files(dir.path()).unwrap().is_empty());
        let bytes = std::fs::read(&spare).unwrap();
        assert_eq!(bytes.len(), (2 << 20) + 5);
        let r = parse(&bytes, 3);
        assert!(r.damage.is_none() && r.batches.is_empty());
        assert_eq!(r.good_len, HEADER_LEN);
        install_spare(&spare, dir.path(), 3).unwrap();
        let frame = encode_frame(&batch(2)).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&f, &frame, HEADER_LEN).unwrap();
        let files = list_files(dir.path()).unwrap();
        assert_eq!(files.len(), 1);
        let r = read_file(&files[0].1, 3).unwrap();
        assert!(r.damage.is_none());
        assert_eq!(r.batches.len(), 1);
        // Spares a crashed process left behind are removed; WAL files are not.
        prepare_spare(dir.path(), 4, 4096).unwrap();
        remove_spares(dir.path());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn flipped_bytes_are_detected() {
        let frames = vec![encode_frame(&batch(4)).unwrap()];
        let bytes = file_with(&frames);
        for i in 16..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            let r = parse(&b, 7);
            assert!(r.damage.is_some(), "flip at {i} went unnoticed");
            assert!(r.batches.is_empty());
        }
    }
}
