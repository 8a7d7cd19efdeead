//! Exclusive ownership of an output and its state by one run: an advisory `flock` on a lock
//! file, released by the operating system when the process ends, however it ends.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::error::ErrorKind;

/// The lock file's name in an output root.
pub const LOCK_FILE: &str = ".fauna-sync.lock";

/// Why a lock could not be taken.
#[derive(Debug, Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("another fauna-sync run holds {} ({holder}); wait for it to finish (or stop it) and run again — two runs on one output would corrupt each other", path.display())]
    Held {
        /// The lock file.
        path: PathBuf,
        /// What the holder wrote into the lock file (pid, command, start time).
        holder: String,
    },
    /// The lock file could not be created or locked.
    #[error("cannot lock {}: {source}{}", path.display(), crate::error::refused_hint(source))]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl LockError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            LockError::Held { .. } => ErrorKind::Locked,
            LockError::Io { source, .. } => crate::error::file_kind(source, ErrorKind::Output),
        }
    }
}

/// A held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct RunLock {
    _files: Vec<File>,
}

impl RunLock {
    /// Locks every path in `paths` (lock files, created if missing), in order, without waiting.
    pub fn acquire(paths: &[PathBuf]) -> Result<RunLock, LockError> {
        let mut files = Vec::new();
        for path in paths {
            files.push(lock_one(path)?);
        }
        Ok(RunLock { _files: files })
    }
}

fn lock_one(path: &Path) -> Result<File, LockError> {
    let io = |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(LockError::Held {
                path: path.to_path_buf(),
                holder: if holder.is_empty() {
                    "holder unknown".into()
                } else {
                    holder.to_string()
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    let me = format!(
        "pid {}, started {}",
        std::process::id(),
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
    );
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.write_all(me.as_bytes()).map_err(io)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_fails_fast_naming_the_holder_and_is_free_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        let first = RunLock::acquire(std::slice::from_ref(&path)).unwrap();
        let e = RunLock::acquire(std::slice::from_ref(&path)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Locked);
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        drop(first);
        RunLock::acquire(&[path]).unwrap();
    }
}
