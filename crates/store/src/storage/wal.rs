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

use super::error::{Result, StoreError};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use std::fs::{File, OpenOptions};
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

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
        let mut w = StreamWriter::try_new(&mut buf, &batch.schema()).map_err(|e| e.to_string())?;
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
    let mut header = [0u8; HEADER_LEN as usize];
    header[..8].copy_from_slice(MAGIC);
    header[8..].copy_from_slice(&seq.to_le_bytes());
    f.write_all(&header)
        .and_then(|_| f.sync_all())
        .map_err(|e| StoreError::io(format!("writing WAL header {}", path.display()), e))?;
    sync_dir(dir)?;
    Ok(f)
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
