//! The id sets of an object-store output (`spec/output-layout.md` §8.5): objects under
//! `<state object>.ids/` beside the state, so a fresh runner resumes with nothing but the URL.
//!
//! A run works on them in a local scratch directory (the id set is files: a sorted base and an
//! append-only delta, `crate::id_set`): at start it downloads the files the state's marks name
//! and deletes any other object there (left by a crash); before each state write it uploads the
//! changed stream's files the new mark names (the delta whole — it stays under about 1 MiB —
//! and a new base once per compaction); after the write it deletes the superseded
//! generation's objects. A crash between upload and state write leaves objects the state does
//! not name yet: a longer delta is cut back to the recorded length on download, other files
//! are garbage removed by the next start.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use super::object_state::ObjectState;
use super::storage::{join, Storage};
use super::verify::Problem;
use super::{Checkpoint, OutputError, Receipt};
use crate::durable::FileError;
use crate::id_set::{files_of, IdsMark};
use crate::state::{State, StateError};

/// A run's copy of the output's id sets.
pub struct ObjectIdSets {
    storage: Arc<dyn Storage>,
    /// `<state object>.ids`, relative to the output root.
    rel: String,
    local: tempfile::TempDir,
    /// Per stream, the mark whose files the store holds.
    stored: HashMap<String, IdsMark>,
    /// Uploaded file → its uploaded length (a base never changes once written).
    uploaded: HashMap<String, u64>,
}

impl ObjectIdSets {
    /// Downloads the files `state` names into a scratch directory and removes every other
    /// object under `<state_rel>.ids/`.
    pub async fn fetch(
        storage: Arc<dyn Storage>,
        state_rel: &str,
        state: &State,
    ) -> Result<Self, OutputError> {
        let local = tempfile::Builder::new()
            .prefix("fauna-sync-ids-")
            .tempdir()
            .map_err(|e| OutputError::File(FileError::new("create", std::env::temp_dir(), e)))?;
        let mut sets = ObjectIdSets {
            storage,
            rel: format!("{state_rel}.ids"),
            local,
            stored: HashMap::new(),
            uploaded: HashMap::new(),
        };
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        for (stream, s) in &state.streams {
            let Some(mark) = s.ids else { continue };
            for name in files_of(stream, mark) {
                let bytes = sets.download(&name).await?;
                let path = sets.local.path().join(&name);
                std::fs::write(&path, &bytes)
                    .map_err(|e| OutputError::File(FileError::new("write", &path, e)))?;
                sets.uploaded.insert(name.clone(), bytes.len() as u64);
                wanted.insert(name);
            }
            sets.stored.insert(stream.clone(), mark);
        }
        // Objects no state names: left by a crash between an upload and the state write.
        let doomed: Vec<String> = sets
            .storage
            .list(&sets.rel)
            .await?
            .into_iter()
            .filter(|name| !wanted.contains(name))
            .collect();
        for name in doomed {
            sets.delete(&name).await;
        }
        Ok(sets)
    }

    /// The scratch directory the run's id sets live in.
    pub fn dir(&self) -> &Path {
        self.local.path()
    }

    /// Uploads what the mark of `stream` in `state` names and the store lacks.
    async fn upload(&mut self, state: &State, stream: &str) -> Result<(), OutputError> {
        let Some(mark) = state.streams.get(stream).and_then(|s| s.ids) else {
            return Ok(());
        };
        for name in files_of(stream, mark) {
            let path = self.local.path().join(&name);
            // A base never changes and a delta only grows: its length says whether it changed.
            let len = std::fs::metadata(&path)
                .map_err(|e| OutputError::File(FileError::new("inspect", &path, e)))?
                .len();
            if self.uploaded.get(&name) == Some(&len) {
                continue;
            }
            let bytes = std::fs::read(&path)
                .map_err(|e| OutputError::File(FileError::new("read", &path, e)))?;
            let len = bytes.len() as u64;
            self.storage.write(&join(&self.rel, &name), bytes).await?;
            self.uploaded.insert(name, len);
        }
        Ok(())
    }

    /// Deletes the objects of the generation `state` no longer names for `stream`.
    async fn prune(&mut self, state: &State, stream: &str) {
        let Some(mark) = state.streams.get(stream).and_then(|s| s.ids) else {
            return;
        };
        if let Some(old) = self.stored.insert(stream.to_string(), mark) {
            if old.generation != mark.generation {
                for name in files_of(stream, old) {
                    self.delete(&name).await;
                    self.uploaded.remove(&name);
                }
            }
        }
    }

    async fn download(&self, name: &str) -> Result<Vec<u8>, OutputError> {
        let rel = join(&self.rel, name);
        self.storage
            .read(&rel)
            .await?
            .ok_or_else(|| OutputError::Damaged {
                root: self.storage.root(),
                problems: vec![Problem::IdSetMissing {
                    file: self.storage.name_of(&rel),
                    stream: name.split('.').next().unwrap_or_default().to_string(),
                }
                .to_string()],
            })
    }

    /// Best effort: what stays is removed by the next start.
    async fn delete(&self, name: &str) {
        if let Err(e) = self.storage.delete(&self.rel, &[name.to_string()]).await {
            tracing::debug!(object = %self.storage.name_of(&join(&self.rel, name)), error = %e, "could not delete a superseded id set object");
        }
    }
}

/// The state object's checkpoint with the id sets uploaded before each write and superseded
/// ones deleted after it.
pub struct CheckpointWithIds {
    /// The state object.
    pub state: ObjectState,
    /// The id sets.
    pub ids: ObjectIdSets,
}

#[async_trait]
impl Checkpoint for CheckpointWithIds {
    async fn save(
        &mut self,
        state: &State,
        changed: &str,
        receipt: Option<&Receipt>,
    ) -> Result<(), StateError> {
        self.ids
            .upload(state, changed)
            .await
            .map_err(|e| StateError::Store(Box::new(e)))?;
        self.state.save(state, changed, receipt).await?;
        self.ids.prune(state, changed).await;
        Ok(())
    }
}
