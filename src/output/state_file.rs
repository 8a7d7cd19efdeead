//! The state file checkpoint.

use std::path::PathBuf;

use async_trait::async_trait;

use super::{Checkpoint, Receipt};
use crate::durable::FileError;
use crate::state::{State, StateError};

/// Saves the whole (small) state atomically to one file after every change (temporary file,
/// fsync, rename), on tokio's blocking pool.
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// A checkpoint writing `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StateFile { path: path.into() }
    }
}

#[async_trait]
impl Checkpoint for StateFile {
    async fn save(
        &mut self,
        state: &State,
        _: &str,
        _: Option<&Receipt>,
    ) -> Result<(), StateError> {
        let bytes = state.encode(&self.path)?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || State::save_encoded(&path, &bytes))
            .await
            .map_err(|e| {
                StateError::Write(FileError::new(
                    "write",
                    &self.path,
                    std::io::Error::other(e),
                ))
            })?
    }
}
