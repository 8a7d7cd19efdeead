//! Where a run keeps its streams' id sets, and for how long.

use std::path::{Path, PathBuf};

/// The directory of a run's id sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdStore {
    /// Kept with the state between runs (beside a state file, or uploaded beside a state
    /// object): every stream that tracks deletions keeps its id set, so a later run can
    /// reconcile a history gap, and so does the short-retention strategy.
    Kept(PathBuf),
    /// A scratch directory for this run only (Airbyte `read`, whose destination holds the
    /// rows): only the short-retention strategy's reconciliation uses it, within the run.
    Scratch(PathBuf),
}

impl IdStore {
    /// The directory.
    pub fn dir(&self) -> &Path {
        match self {
            IdStore::Kept(dir) | IdStore::Scratch(dir) => dir,
        }
    }

    /// Whether the id sets outlive the run (so a later run may compare with them).
    pub fn kept(&self) -> bool {
        matches!(self, IdStore::Kept(_))
    }
}
