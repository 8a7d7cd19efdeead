//! [`Storage`] in a local directory, with today's durability: whole files through a temporary
//! file, fsync and rename (and an fsync of the directory); the manifest appended and fsynced
//! (`crate::durable::AppendLog`); batch files renamed into place by the sink as they are
//! finished. Every blocking file call runs on tokio's blocking pool.

use std::io::Read;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use super::storage::{Manifest, Storage};
use super::OutputError;
use crate::durable::{
    create_dir_durable, fsync_dir, write_file_atomically, AppendLog, FileError, RESUME_FROM,
};
use crate::sink::{CommittedFile, SinkError, MANIFEST_FILE};

/// An output directory.
#[derive(Clone, Debug)]
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    /// The directory `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalDir { root: root.into() }
    }

    fn path(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }
}

/// Runs the blocking file call `f`, an `op` on `path`, on tokio's blocking pool.
async fn blocking<T, F>(op: &'static str, path: &Path, f: F) -> Result<T, OutputError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, OutputError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| FileError::new(op, path, std::io::Error::other(e)))?
}

#[async_trait]
impl Storage for LocalDir {
    fn root(&self) -> PathBuf {
        self.root.clone()
    }

    fn name_of(&self, rel: &str) -> String {
        self.path(rel).display().to_string()
    }

    async fn create_root(&self) -> Result<(), OutputError> {
        let root = self.root.clone();
        blocking("create", &self.root, move || {
            if root.exists() && !root.is_dir() {
                return Err(OutputError::NotADirectory(root));
            }
            Ok(create_dir_durable(&root)?)
        })
        .await
    }

    async fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, OutputError> {
        let path = self.path(rel);
        blocking("read", &self.path(rel), move || {
            match std::fs::read(&path) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(SinkError::io("read", &path, e).into()),
            }
        })
        .await
    }

    async fn size(&self, rel: &str) -> Result<Option<u64>, OutputError> {
        let path = self.path(rel);
        blocking("inspect", &self.path(rel), move || {
            Ok(std::fs::metadata(&path).ok().map(|m| m.len()))
        })
        .await
    }

    async fn sha256(&self, rel: &str) -> Result<Option<String>, OutputError> {
        let path = self.path(rel);
        blocking("read", &self.path(rel), move || Ok(sha256_hex(&path))).await
    }

    async fn write(&self, rel: &str, bytes: Vec<u8>) -> Result<(), OutputError> {
        let path = self.path(rel);
        blocking("write", &self.path(rel), move || {
            Ok(write_file_atomically(&path, &bytes)?)
        })
        .await
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), OutputError> {
        let (from, to) = (self.path(from), self.path(to));
        blocking("copy", &to.clone(), move || {
            if let Some(dir) = to.parent() {
                create_dir_durable(dir)?;
            }
            let temp = crate::durable::temp_path(&to);
            let _ = std::fs::remove_file(&temp);
            if std::fs::hard_link(&from, &temp).is_err() {
                std::fs::copy(&from, &temp).map_err(|e| SinkError::io("copy", &from, e))?;
                std::fs::File::open(&temp)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| SinkError::io("fsync", &temp, e))?;
            }
            std::fs::rename(&temp, &to).map_err(|e| SinkError::io("rename", &temp, e))?;
            if let Some(dir) = to.parent() {
                crate::durable::fsync_dir(dir)?;
            }
            Ok(())
        })
        .await
    }

    async fn list(&self, dir: &str) -> Result<Vec<String>, OutputError> {
        let dir = self.path(dir);
        blocking("list", &dir.clone(), move || {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(SinkError::io("list", dir, e).into()),
            };
            let mut names = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|e| SinkError::io("list", &dir, e))?;
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                let is_dir = entry
                    .file_type()
                    .map_err(|e| SinkError::io("inspect", entry.path(), e))?
                    .is_dir();
                if !is_dir {
                    names.push(name);
                }
            }
            names.sort();
            Ok(names)
        })
        .await
    }

    async fn list_stream_files(&self) -> Result<Vec<String>, OutputError> {
        let root = self.root.clone();
        blocking("list", &self.root, move || {
            let entries = std::fs::read_dir(&root).map_err(|e| SinkError::io("list", &root, e))?;
            let mut files = Vec::new();
            for dir in entries.flatten() {
                if !dir.path().is_dir() {
                    continue;
                }
                let dir_name = dir.file_name().to_string_lossy().into_owned();
                let Ok(inner) = std::fs::read_dir(dir.path()) else {
                    continue;
                };
                for e in inner.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    files.push(format!("{dir_name}/{name}"));
                }
            }
            Ok(files)
        })
        .await
    }

    async fn delete(&self, dir: &str, names: &[String]) -> Result<Vec<PathBuf>, OutputError> {
        let dir = self.path(dir);
        let names = names.to_vec();
        blocking("remove files in", &dir.clone(), move || {
            let mut removed = Vec::new();
            for name in names {
                let path = dir.join(name);
                match std::fs::remove_file(&path) {
                    Ok(()) => removed.push(path),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(SinkError::io("remove", path, e).into()),
                }
            }
            if !removed.is_empty() {
                fsync_dir(&dir)?;
            }
            Ok(removed)
        })
        .await
    }

    async fn open_manifest(
        &self,
        committed: u64,
    ) -> Result<(Box<dyn Manifest>, Vec<u8>), OutputError> {
        let root = self.root.clone();
        let path = root.join(MANIFEST_FILE);
        blocking("open", &path, move || {
            // A manifest shorter than the state recorded is damage; failing to open it is not.
            let log = AppendLog::open(root.join(MANIFEST_FILE), committed).map_err(|e| {
                if e.op == RESUME_FROM {
                    OutputError::Damaged {
                        root: root.clone(),
                        problems: vec![e.to_string()],
                    }
                } else {
                    OutputError::from(e)
                }
            })?;
            let bytes = log.read_committed()?;
            let path = log.path().to_path_buf();
            let manifest: Box<dyn Manifest> = Box::new(LocalManifest {
                log: Some(log),
                path,
            });
            Ok((manifest, bytes))
        })
        .await
    }

    fn batch_dir(&self) -> Result<PathBuf, OutputError> {
        Ok(self.root.clone())
    }

    async fn place(&self, _: &CommittedFile) -> Result<(), OutputError> {
        // The sink renamed the file into place and fsynced it and its directory.
        Ok(())
    }
}

/// The manifest file, appended to.
struct LocalManifest {
    /// Away on the blocking pool during an append.
    log: Option<AppendLog>,
    path: PathBuf,
}

#[async_trait]
impl Manifest for LocalManifest {
    async fn append(&mut self, line: Vec<u8>) -> Result<u64, OutputError> {
        let failed = |e: std::io::Error| FileError::new("append to", &self.path, e);
        let mut log = self
            .log
            .take()
            .ok_or_else(|| failed(std::io::Error::other("an earlier append did not finish")))?;
        let (log, mark) = tokio::task::spawn_blocking(move || {
            let mark = log.append(&line);
            (log, mark)
        })
        .await
        .map_err(|e| failed(std::io::Error::other(e)))?;
        self.log = Some(log);
        Ok(mark?)
    }
}

fn sha256_hex(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Some(format!("{:x}", hasher.finalize()))
}
