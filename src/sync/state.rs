//! The checkpoint state: per collection, where the export stands and which files are committed.
//! Written atomically after every committed batch (`spec/state-format.md`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::sink::{temp_file_name, write_file_atomically, CommittedFile, SinkError};

/// The state file's format version.
pub const STATE_VERSION: u32 = 1;

/// Where a stream's read stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum Position {
    /// Nothing read yet.
    Start,
    /// Continue with this `after` cursor (wire JSON text, inclusive).
    After {
        /// The cursor, as Fauna wire JSON.
        cursor: String,
    },
    /// Short-retention strategy, second phase: reading the `[ts, ref]` index for documents
    /// changed since `since`, pinned at `at`, from `cursor` (inclusive; `None` = from `since`).
    CatchUp {
        /// The lowest `ts` this phase reads (microseconds).
        since: i64,
        /// The snapshot the phase reads at; `None` until the phase starts (it is then taken
        /// from `Now()`, and again whenever it falls out of the history window).
        #[serde(default, rename = "pinned", skip_serializing_if = "Option::is_none")]
        at: Option<i64>,
        /// Where to continue, as Fauna wire JSON.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cursor: Option<String>,
    },
    /// Short-retention strategy, last phase: exported documents missing at `at` become
    /// deletion records, in id order from `cursor`.
    Reconcile {
        /// The snapshot the phase (and the catch-up before it) read at.
        #[serde(rename = "pinned")]
        at: i64,
        /// Where to continue, as Fauna wire JSON.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cursor: Option<String>,
    },
    /// Every document was exported.
    Done,
}

/// How a stream is read (`spec/export-format.md`, "Consistency").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Every page at one pinned snapshot: each document exactly once, as of `snapshot_ts`.
    #[default]
    Snapshot,
    /// For collections that keep history too briefly: a scan, a catch-up through the
    /// `[ts, ref]` index and a reconciliation of deletions; every version exactly once,
    /// consistent as of `consistent_at` once deduplicated by ref.
    ScanCatchUp,
}

/// One collection's progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamState {
    /// The snapshot every page is read at (`At(snapshot_ts, …)`), microseconds.
    pub snapshot_ts: i64,
    /// The read position after the last committed batch.
    pub position: Position,
    /// The next batch file's sequence number.
    pub next_seq: u64,
    /// Records committed so far.
    pub rows: u64,
    /// The output format the files were written in (`jsonl`, `parquet`, …).
    pub format: String,
    /// Committed files, in order.
    pub files: Vec<CommittedFile>,
    /// How the stream is read.
    #[serde(default, skip_serializing_if = "is_snapshot")]
    pub strategy: Strategy,
    /// The `[ts, ref]` index the catch-up reads (short-retention strategy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// The committed length in bytes of the stream's exported-id log (short-retention strategy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids_len: Option<u64>,
    /// Once done with the short-retention strategy: the time the output is consistent at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistent_at: Option<i64>,
}

fn is_snapshot(s: &Strategy) -> bool {
    *s == Strategy::Snapshot
}

impl StreamState {
    /// A stream about to start.
    pub fn new(snapshot_ts: i64, format: &str) -> Self {
        StreamState {
            snapshot_ts,
            position: Position::Start,
            next_seq: 1,
            rows: 0,
            format: format.to_string(),
            files: vec![],
            strategy: Strategy::Snapshot,
            index: None,
            ids_len: None,
            consistent_at: None,
        }
    }
}

/// The whole state file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Format version ([`STATE_VERSION`]).
    pub version: u32,
    /// Progress per collection.
    pub streams: BTreeMap<String, StreamState>,
}

/// A state file that cannot be used.
#[derive(Debug, Error)]
pub enum StateError {
    /// Reading failed.
    #[error("cannot read the state file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not a state file of this version.
    #[error("the state file {path} is not usable: {reason}. Delete it (and the output it describes) to start over")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Writing failed.
    #[error(transparent)]
    Write(#[from] SinkError),
}

impl State {
    /// An empty state.
    pub fn new() -> Self {
        State {
            version: STATE_VERSION,
            streams: BTreeMap::new(),
        }
    }

    /// Loads the state, or an empty one when the file does not exist. A temporary file left
    /// by a crash during an earlier save is removed: the last complete state is the one in force.
    pub fn load(path: &Path) -> Result<State, StateError> {
        let temp = temp_path(path);
        if temp.exists() {
            tracing::info!(path = %temp.display(), "Removed a state file an interrupted save left half-written.");
            std::fs::remove_file(&temp).map_err(|source| StateError::Read {
                path: temp.display().to_string(),
                source,
            })?;
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::new()),
            Err(source) => {
                return Err(StateError::Read {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        let state: State = serde_json::from_slice(&bytes).map_err(|e| StateError::Invalid {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        if state.version != STATE_VERSION {
            return Err(StateError::Invalid {
                path: path.display().to_string(),
                reason: format!("version {} (expected {STATE_VERSION})", state.version),
            });
        }
        Ok(state)
    }

    /// Writes the state atomically (temporary file, fsync, rename, fsync of the directory).
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| StateError::Invalid {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        bytes.push(b'\n');
        if crate::sync::crash_point_armed("state-write") {
            // Simulate a crash in the middle of writing: half the bytes in a temporary file,
            // never renamed. The previous state must survive untouched.
            let _ = std::fs::write(temp_path(path), &bytes[..bytes.len() / 2]);
            std::process::abort();
        }
        write_file_atomically(path, &bytes)?;
        Ok(())
    }

    /// Every committed file of every stream, in stream order.
    pub fn committed_files(&self) -> Vec<CommittedFile> {
        self.streams
            .values()
            .flat_map(|s| s.files.iter().cloned())
            .collect()
    }
}

/// Where [`write_file_atomically`] writes `path` before renaming it.
fn temp_path(path: &Path) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(temp_file_name(&name))
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}
