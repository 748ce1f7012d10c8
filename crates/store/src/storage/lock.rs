//! The single-writer lock on a data directory.
//!
//! Two writers on one directory would interleave WAL files and race on manifest
//! versions, so a writer holds an exclusive advisory lock on `<root>/LOCK` for as long
//! as it is open. The lock is tied to the open file, so the kernel releases it when the
//! process dies (including SIGKILL): a crash never leaves a stale lock behind.

use super::error::{Result, StoreError};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::Path;

/// Holds the writer lock until dropped (or [`DirLock::release`]d).
#[derive(Debug)]
pub(crate) struct DirLock {
    file: Option<File>,
}

impl DirLock {
    pub(crate) fn acquire(root: &Path) -> Result<DirLock> {
        let path = root.join("LOCK");
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::io(format!("opening lock file {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    dir: root.to_path_buf(),
                    lock: path,
                })
            }
            Err(TryLockError::Error(e)) => {
                return Err(StoreError::io(format!("locking {}", path.display()), e))
            }
        }
        // The pid is for humans looking at a busy directory; the lock is what counts.
        let _ = file.set_len(0);
        let _ = writeln!(file, "pid {}", std::process::id());
        Ok(DirLock { file: Some(file) })
    }

    /// Releases the lock now (the directory can be reopened by another writer).
    pub(crate) fn release(&mut self) {
        if let Some(f) = self.file.take() {
            let _ = f.unlock();
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        self.release();
    }
}
