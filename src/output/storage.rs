//! What the output protocol needs of the place an output lives: a few operations on files
//! named by root-relative `/`-separated paths. Two implementations: a local directory
//! ([`super::LocalDir`]) and an object store ([`super::ObjectStorage`]); the protocol
//! (ownership, manifest cut, damage check, cleanup, verify, id sets: `open.rs`, `verify.rs`,
//! `checks.rs`, `id_sets.rs`) is written once over this trait. Where the two truly differ —
//! the manifest appended and fsynced vs rewritten whole on a condition, a batch file renamed
//! into place vs uploaded (multipart when large) — the difference is inside the
//! implementations ([`Manifest`], [`Storage::place`]).
//!
//! Async because the object store is; the local directory runs its blocking file calls on
//! tokio's blocking pool. `async-trait` (already built for `object_store`) boxes the futures so
//! that the protocol can hold a `dyn Storage`.

use std::path::PathBuf;

use async_trait::async_trait;

use super::OutputError;
use crate::sink::CommittedFile;

/// Where an output lives.
#[async_trait]
pub trait Storage: Send + Sync {
    /// The root as messages name it (a directory, or the URL).
    fn root(&self) -> PathBuf;

    /// `rel` as messages name it (a path, or a URL).
    fn name_of(&self, rel: &str) -> String;

    /// Creates the root if it is missing, durably (a local directory; nothing for a store).
    async fn create_root(&self) -> Result<(), OutputError>;

    /// The content of `rel`; `None` when it does not exist.
    async fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, OutputError>;

    /// The size of `rel`; `None` when it does not exist.
    async fn size(&self, rel: &str) -> Result<Option<u64>, OutputError>;

    /// The SHA-256 (lowercase hex) of `rel`'s content; `None` when it cannot be read whole.
    async fn sha256(&self, rel: &str) -> Result<Option<String>, OutputError>;

    /// Writes `rel` whole, atomically and durably (a directory: temporary file, fsync, rename,
    /// fsync of the directory; a store: one PUT).
    async fn write(&self, rel: &str, bytes: Vec<u8>) -> Result<(), OutputError>;

    /// Makes `to` a copy of `from` (both root-relative; `to`'s directory is made), atomically
    /// and durably: a directory links the file (no bytes copied; a copy where links are
    /// impossible), a store copies it server-side. A scale-out finalize joins shards so.
    async fn copy(&self, from: &str, to: &str) -> Result<(), OutputError>;

    /// The names of the files directly in the directory `dir` (none when it is missing).
    async fn list(&self, dir: &str) -> Result<Vec<String>, OutputError>;

    /// The root-relative paths (`dir/name`) of the files one directory below the root, where
    /// batch files live (a store leaves out directories whose name has a `.`: no stream's).
    async fn list_stream_files(&self) -> Result<Vec<String>, OutputError>;

    /// Deletes the files `names` of the directory `dir` (a missing one is no error) and makes
    /// that durable; returns how messages name the deleted ones.
    async fn delete(&self, dir: &str, names: &[String]) -> Result<Vec<PathBuf>, OutputError>;

    /// Opens the manifest for appending at the state's `committed` length: lines beyond it
    /// (a batch a crash left unrecorded) are cut, a shorter manifest is damage. Returns it with
    /// its committed bytes.
    async fn open_manifest(
        &self,
        committed: u64,
    ) -> Result<(Box<dyn Manifest>, Vec<u8>), OutputError>;

    /// The directory batch files are encoded in (a directory: the root itself, each file
    /// renamed into place by the sink; a store: a scratch directory).
    fn batch_dir(&self) -> Result<PathBuf, OutputError>;

    /// Makes a sealed batch file (encoded under [`batch_dir`](Storage::batch_dir)) part of the
    /// storage under its final name: nothing for a directory (it is in place, durably), an
    /// upload for a store.
    async fn place(&self, file: &CommittedFile) -> Result<(), OutputError>;
}

/// The manifest of an open output.
#[async_trait]
pub trait Manifest: Send {
    /// Adds `line` durably (a directory: appended and fsynced; a store: the object rewritten
    /// on the version this run wrote last) and returns the manifest's new committed length.
    async fn append(&mut self, line: Vec<u8>) -> Result<u64, OutputError>;
}

/// `rel` below the directory `dir` (`""`: the root).
pub(crate) fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}
