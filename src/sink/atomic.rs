//! Atomic file replacement: write a temporary file in the target directory, `fsync` it,
//! rename it over the final name, `fsync` the directory.
//!
//! After a crash the final name holds either the complete old content or the complete new
//! content, never a mix; a leftover temporary file (`.<name>.tmp`) is garbage.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::layout::temp_file_name;
use super::SinkError;

/// Replaces `path` atomically with `bytes`, creating missing parent directories (durably).
///
/// ```
/// use fauna_sync::sink::write_file_atomically;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("state.json");
/// write_file_atomically(&path, b"{\"v\":1}").unwrap();
/// write_file_atomically(&path, b"{\"v\":2}").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"{\"v\":2}");
/// assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1); // no temporary left
/// ```
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<(), SinkError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_durable(parent)?;
    }
    let mut file = AtomicFile::create(path)?;
    file.writer()
        .write_all(bytes)
        .map_err(|e| SinkError::io("write", file.temp_path(), e))?;
    file.commit().map(|_| ())
}

/// Size and SHA-256 of the bytes written through a [`HashWriter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Digested {
    /// Bytes written.
    pub bytes: u64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// A writer that counts and hashes everything written through it.
pub(crate) struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A file being written under its temporary name. Dropping it without
/// [`commit`](AtomicFile::commit) removes the temporary file.
pub(crate) struct AtomicFile {
    writer: HashWriter<File>,
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl AtomicFile {
    /// Creates (or truncates) the temporary file for `target` in `target`'s directory.
    pub fn create(target: &Path) -> Result<Self, SinkError> {
        let name = target.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            SinkError::io(
                "create",
                target,
                io::Error::new(io::ErrorKind::InvalidInput, "not a UTF-8 file name"),
            )
        })?;
        let temp = target.with_file_name(temp_file_name(name));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)
            .map_err(|e| SinkError::io("create", &temp, e))?;
        Ok(AtomicFile {
            writer: HashWriter {
                inner: file,
                hasher: Sha256::new(),
                bytes: 0,
            },
            temp,
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// The temporary file's path (for error messages).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// The writer into the temporary file (unbuffered: wrap it in a `BufWriter` for small
    /// writes).
    pub fn writer(&mut self) -> &mut HashWriter<File> {
        &mut self.writer
    }

    /// Flushes and `fsync`s the file, renames it to its final name and `fsync`s the
    /// directory. Returns the size and hash of the content.
    pub fn commit(mut self) -> Result<Digested, SinkError> {
        self.writer
            .flush()
            .map_err(|e| SinkError::io("flush", &self.temp, e))?;
        self.writer
            .inner
            .sync_all()
            .map_err(|e| SinkError::io("fsync", &self.temp, e))?;
        fs::rename(&self.temp, &self.target)
            .map_err(|e| SinkError::io("rename into place", &self.target, e))?;
        self.committed = true;
        if let Some(dir) = self.target.parent() {
            fsync_dir(dir)?;
        }
        let hasher = std::mem::take(&mut self.writer.hasher);
        Ok(Digested {
            bytes: self.writer.bytes,
            sha256: format!("{:x}", hasher.finalize()),
        })
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: a leftover is removed by `cleanup` later.
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// `fsync`s a directory so that entries created, renamed or removed in it are durable.
/// A no-op where directories cannot be opened as files (Windows).
pub(crate) fn fsync_dir(dir: &Path) -> Result<(), SinkError> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| SinkError::io("fsync directory", dir, e))?;
    }
    Ok(())
}

/// Creates `dir` and its missing ancestors, `fsync`ing the parent of each directory created.
pub(crate) fn create_dir_durable(dir: &Path) -> Result<(), SinkError> {
    if dir.is_dir() {
        return Ok(());
    }
    // The directories to create, innermost first.
    let mut missing = vec![dir];
    let mut cur = dir;
    while let Some(parent) = cur.parent().filter(|p| !p.as_os_str().is_empty()) {
        if parent.is_dir() {
            break;
        }
        missing.push(parent);
        cur = parent;
    }
    fs::create_dir_all(dir).map_err(|e| SinkError::io("create directory", dir, e))?;
    for created in missing.into_iter().rev() {
        if let Some(parent) = created.parent() {
            fsync_dir(parent)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn commit_renames_and_reports_size_and_hash() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f.txt");
        let mut f = AtomicFile::create(&target).unwrap();
        assert_eq!(names(dir.path()), [".f.txt.tmp"]);
        f.writer().write_all(b"abc").unwrap();
        let d = f.commit().unwrap();
        assert_eq!(d.bytes, 3);
        assert_eq!(
            d.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(names(dir.path()), ["f.txt"]);
        assert_eq!(fs::read(&target).unwrap(), b"abc");
    }

    #[test]
    fn dropping_without_commit_removes_the_temporary_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("state.json");
        write_file_atomically(&target, b"old").unwrap();
        let mut f = AtomicFile::create(&target).unwrap();
        f.writer().write_all(b"new but unfinished").unwrap();
        drop(f);
        assert_eq!(names(dir.path()), ["state.json"]);
        assert_eq!(fs::read(&target).unwrap(), b"old");
    }

    #[test]
    fn missing_parents_are_created() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a/b/c.json");
        write_file_atomically(&target, b"{}").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"{}");
        assert_eq!(names(&dir.path().join("a/b")), ["c.json"]);
    }

    #[test]
    fn errors_name_the_path_and_the_operation() {
        let dir = tempfile::tempdir().unwrap();
        // The parent "is" a file, so the directory cannot be created.
        fs::write(dir.path().join("file"), b"x").unwrap();
        let err = write_file_atomically(&dir.path().join("file/state.json"), b"{}").unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(
                err,
                SinkError::Io {
                    op: "create directory",
                    ..
                }
            ),
            "{msg}"
        );
        assert!(msg.contains("file"), "{msg}");
    }
}
