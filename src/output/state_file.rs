//! The state file checkpoint.

use std::path::PathBuf;

use super::{Checkpoint, Receipt};
use crate::state::{State, StateError};

/// Saves the whole (small) state atomically to one file after every change.
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// A checkpoint writing `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StateFile { path: path.into() }
    }
}

impl Checkpoint for StateFile {
    fn save(&mut self, state: &State, _: &str, _: Option<&Receipt>) -> Result<(), StateError> {
        state.save(&self.path)
    }
}
