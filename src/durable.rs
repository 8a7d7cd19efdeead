//! Durable files, shared by the sink (batch files, manifest) and the checkpoint (state, id
//! logs): atomic replacement (write a temporary file in the target directory, `fsync` it,
//! rename it over the final name, `fsync` the directory), durable directory creation and
//! append-only logs truncated to a committed length.
//!
//! After a crash the final name holds either the complete old content or the complete new
//! content, never a mix; a leftover temporary file (`.<name>.tmp`) is garbage.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// A file-system operation that failed, with the path and what was being done.
#[derive(Debug, thiserror::Error)]
#[error("cannot {op} {}: {source}{}", path.display(), crate::error::refused_hint(source))]
pub struct FileError {
    /// What was being done (`create`, `write`, `fsync`, `rename into place`, …).
    pub op: &'static str,
    /// The file or directory.
    pub path: PathBuf,
    /// The underlying error.
    pub source: io::Error,
}

impl FileError {
    /// A failed `op` on `path`.
    pub fn new(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        FileError {
            op,
            path: path.into(),
            source,
        }
    }

    /// The kind: permission when the operation was refused (EACCES, EPERM, a read-only file
    /// system), else an output failure.
    pub fn kind(&self) -> crate::error::ErrorKind {
        crate::error::file_kind(&self.source, crate::error::ErrorKind::Output)
    }
}

/// The operation of an [`AppendLog::open`] failure that is damage: the file is shorter than
/// its committed length.
pub const RESUME_FROM: &str = "resume from";

/// The temporary name a file is written under before it is renamed to `final_name`.
pub fn temp_file_name(final_name: &str) -> String {
    format!(".{final_name}.tmp")
}

/// Where [`write_file_atomically`] writes `path` before renaming it.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(temp_file_name(&name))
}

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
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_durable(parent)?;
    }
    let mut file = AtomicFile::create(path)?;
    file.writer()
        .write_all(bytes)
        .map_err(|e| FileError::new("write", file.temp_path(), e))?;
    file.commit().map(|_| ())
}

/// Size and SHA-256 of the bytes written through a [`HashWriter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digested {
    /// Bytes written.
    pub bytes: u64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// A writer that counts and hashes everything written through it.
pub struct HashWriter<W> {
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
pub struct AtomicFile {
    writer: HashWriter<File>,
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl AtomicFile {
    /// Creates (or truncates) the temporary file for `target` in `target`'s directory.
    pub fn create(target: &Path) -> Result<Self, FileError> {
        let name = target.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            FileError::new(
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
            .map_err(|e| FileError::new("create", &temp, e))?;
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
    pub fn commit(mut self) -> Result<Digested, FileError> {
        self.writer
            .flush()
            .map_err(|e| FileError::new("flush", &self.temp, e))?;
        self.writer
            .inner
            .sync_all()
            .map_err(|e| FileError::new("fsync", &self.temp, e))?;
        fs::rename(&self.temp, &self.target)
            .map_err(|e| FileError::new("rename into place", &self.target, e))?;
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
pub fn fsync_dir(dir: &Path) -> Result<(), FileError> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| FileError::new("fsync directory", dir, e))?;
    }
    Ok(())
}

/// Creates `dir` and its missing ancestors, `fsync`ing the parent of each directory created.
pub fn create_dir_durable(dir: &Path) -> Result<(), FileError> {
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
    fs::create_dir_all(dir).map_err(|e| FileError::new("create directory", dir, e))?;
    for created in missing.into_iter().rev() {
        if let Some(parent) = created.parent() {
            fsync_dir(parent)?;
        }
    }
    Ok(())
}

/// An append-only file whose committed length is recorded elsewhere (in the checkpoint).
/// Opening it drops whatever a crash appended beyond that length; every append is `fsync`ed
/// before its new length is returned, so the checkpoint that records the length is written
/// only after the bytes are durable.
pub struct AppendLog {
    path: PathBuf,
    file: File,
    len: u64,
}

impl AppendLog {
    /// Opens (creating it and its directory if missing) the log at its committed length
    /// `committed`, truncating anything beyond. A file shorter than `committed` was truncated
    /// or replaced behind the checkpoint's back: that is an error.
    pub fn open(path: impl Into<PathBuf>, committed: u64) -> Result<Self, FileError> {
        let path = path.into();
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_dir_durable(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| FileError::new("open", &path, e))?;
        let on_disk = file
            .metadata()
            .map_err(|e| FileError::new("inspect", &path, e))?
            .len();
        if on_disk < committed {
            return Err(FileError::new(
                RESUME_FROM,
                &path,
                io::Error::other(format!(
                    "it holds {on_disk} bytes but the checkpoint recorded {committed}: it was truncated or replaced since"
                )),
            ));
        }
        if on_disk > committed {
            file.set_len(committed)
                .map_err(|e| FileError::new("truncate", &path, e))?;
            file.sync_all()
                .map_err(|e| FileError::new("fsync", &path, e))?;
        }
        Ok(AppendLog {
            path,
            file,
            len: committed,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The committed length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing is committed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `bytes` durably; returns the new committed length.
    pub fn append(&mut self, bytes: &[u8]) -> Result<u64, FileError> {
        use std::io::{Seek, SeekFrom};
        self.file
            .seek(SeekFrom::Start(self.len))
            .map_err(|e| FileError::new("seek", &self.path, e))?;
        self.file
            .write_all(bytes)
            .map_err(|e| FileError::new("write", &self.path, e))?;
        self.file
            .sync_data()
            .map_err(|e| FileError::new("fsync", &self.path, e))?;
        self.len += bytes.len() as u64;
        Ok(self.len)
    }

    /// The committed content.
    pub fn read_committed(&self) -> Result<Vec<u8>, FileError> {
        let mut bytes = fs::read(&self.path).map_err(|e| FileError::new("read", &self.path, e))?;
        bytes.truncate(self.len as usize);
        Ok(bytes)
    }
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
    fn an_append_log_reopens_at_its_committed_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d/log");
        let mut log = AppendLog::open(&path, 0).unwrap();
        let committed = log.append(b"one\n").unwrap();
        log.append(b"two (never recorded)\n").unwrap();
        drop(log);
        let log = AppendLog::open(&path, committed).unwrap();
        assert_eq!(log.read_committed().unwrap(), b"one\n");
        assert_eq!(fs::read(&path).unwrap(), b"one\n");
        let e = AppendLog::open(&path, 99).err().unwrap();
        assert!(e.to_string().contains("the checkpoint recorded 99"), "{e}");
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
        assert!(err.op == "create directory", "{msg}");
        assert!(msg.contains("file"), "{msg}");
    }
}
