//! The checkpoint state: per stream, where the read stands (cursors and counters only — the
//! committed files are listed by the output's append-only manifest). Written atomically after
//! every committed batch (`spec/state-format.md`); version-1 files are migrated on load.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::durable::{temp_path, write_file_atomically, FileError};
use crate::error::ErrorKind;
pub use crate::id_set::IdsMark;
use crate::sink::CommittedFile;

mod expiring;
mod phase;
mod typed;

pub use expiring::Expiring;
pub use phase::{
    IllegalPosition, OwnPosition, Phase, Rotation, ScanPosition, SnapshotPosition, Window,
    WindowPosition, WindowRanges,
};
pub use typed::TypedColumns;

/// The state file's format version.
pub const STATE_VERSION: u32 = 2;

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
    /// Pinned snapshot read as concurrent ranges of ids (`concurrency` above 1): each range's
    /// progress, in id order. The ranges take turns in the output, a chunk of
    /// [`crate::sync::CHUNK_ITEMS`] documents each, so the output is the same however the
    /// reads are timed or interrupted; `turn` and `taken` say where the rotation stands.
    Parts {
        /// The ranges, in id order, and their turns.
        #[serde(flatten)]
        rotation: Rotation,
    },
    /// Short-retention strategy, first phase read as concurrent ranges of ids (`concurrency`
    /// above 1): the scan of [`Position::After`], its ranges taking turns as in
    /// [`Position::Parts`]; then [`Position::CatchUp`] from the stream's `snapshot_ts`.
    ScanParts {
        /// The ranges, in id order, and their turns.
        #[serde(flatten)]
        rotation: Rotation,
    },
    /// Short-retention strategy, second phase read as concurrent ranges of ts (`concurrency`
    /// above 1 and more than [`crate::sync::CHUNK_ITEMS`] documents changed since `since`):
    /// the catch-up of [`Position::CatchUp`] pinned at `at`, its ranges taking turns as in
    /// [`Position::Parts`]; then [`Position::Reconcile`] at `at`.
    CatchUpParts {
        /// The lowest `ts` the phase reads (microseconds).
        since: i64,
        /// The snapshot the phase reads at.
        #[serde(rename = "pinned")]
        at: i64,
        /// The ranges of ts, in ts order, and their turns.
        #[serde(flatten)]
        rotation: Rotation,
    },
    /// Every document was exported (a full export's end; `sync` continues it as `Synced`).
    Done,
    /// Incremental sync, inside a window: the changes and deletions written in `[from, at]`,
    /// read at snapshot `at` in ts order, from `cursor` (the merged changes/deletions cursor).
    Window {
        /// The window's first ts (the previous window's end + 1).
        from: i64,
        /// The window's end: its snapshot.
        #[serde(rename = "pinned")]
        at: i64,
        /// Where to continue, as Fauna wire JSON.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cursor: Option<String>,
        /// A window over a history gap: changes only, then [`Position::GapReconcile`].
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reconcile: bool,
    },
    /// Incremental sync, a window read as concurrent ranges of ts (`concurrency` above 1):
    /// first its deletions, in ts order, then its changes, the ranges taking turns as in
    /// [`Position::Parts`] (`spec/sync.md`, "Partitioned windows").
    WindowParts {
        /// The window: its span, deletions' progress, ranges of ts and whether it is over a
        /// history gap (then no deletions are read, and [`Position::GapReconcile`] follows).
        #[serde(flatten)]
        window: WindowRanges,
    },
    /// Incremental sync, after the changes of a window over a history gap: the ids the output
    /// holds that are not live at `at` become detected deletion records, in id order from
    /// `cursor`.
    GapReconcile {
        /// The window's end: the snapshot the live ids are read at.
        #[serde(rename = "pinned")]
        at: i64,
        /// Where to continue, as Fauna wire JSON.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cursor: Option<String>,
    },
    /// Incremental sync with deletions tracked, after a window's changes and deletions: every
    /// document of [`StreamState::expiring`] whose ttl is at or before `at` gets a deletion
    /// record at its ttl, in `(ttl, id)` order (the list, from which each commit removes its
    /// entries, is the phase's cursor); then [`Position::GapReconcile`] when `reconcile`, else
    /// [`Position::Synced`] at `at` (`spec/sync.md`, "Expiring documents").
    Expire {
        /// The window's end: entries with a ttl up to it are due.
        #[serde(rename = "pinned")]
        at: i64,
        /// A window over a history gap: the reconciliation follows.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reconcile: bool,
    },
    /// Incremental sync, between runs: everything written up to `to` is committed; the next
    /// window starts at `to + 1`.
    Synced {
        /// The end of the last committed window (µs).
        to: i64,
    },
}

impl Position {
    /// Whether the stream is inside a full read (a pinned snapshot, or a scan, catch-up and
    /// reconciliation), which a full refresh resumes.
    pub fn in_full_read(&self) -> bool {
        matches!(
            self,
            Position::Start
                | Position::After { .. }
                | Position::Parts { .. }
                | Position::ScanParts { .. }
                | Position::CatchUp { .. }
                | Position::CatchUpParts { .. }
                | Position::Reconcile { .. }
        )
    }
}

/// One range of a [`Position::Parts`], [`Position::ScanParts`], [`Position::CatchUpParts`] or
/// [`Position::WindowParts`] read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangePosition {
    /// Where the range continues, as an `after` cursor in Fauna wire JSON (`None`: at the
    /// range's start: the collection's start, or `since`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// A range of ts (a window's or a catch-up's): its lowest `ts` (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// An export's range: the id of the document it stops before, the next range's first; a
    /// range of ts: its highest `ts` (inclusive). `None`: the collection's end, or the
    /// pinned time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Every document of the range is committed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub done: bool,
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
    /// The record schema the stream's files were written with (columns, data and deletion
    /// columns); a run with another schema is refused. Absent in states migrated from
    /// version 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<serde_json::Value>,
    /// How the stream is read.
    #[serde(default, skip_serializing_if = "is_snapshot")]
    pub strategy: Strategy,
    /// The `[ts, ref]` index the catch-up reads (short-retention strategy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// Version 2.0 files only: the committed length of the exported-id log that
    /// [`StreamState::ids`] replaced; migrated when the stream is opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids_len: Option<u64>,
    /// The committed extent of the stream's id set (the ids the output holds), when the
    /// stream keeps one (deletions tracked, or the short-retention strategy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<IdsMark>,
    /// Once done with the short-retention strategy: the time the output is consistent at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistent_at: Option<i64>,
    /// While a stream's first full read is in progress: the time (its snapshot time) from
    /// which every id of its id set was live, since the set holds only that read's ids, each
    /// read at or after it. The short-retention reconciliation is skipped when Fauna shows no
    /// deletion since then; absent (a resync over an output holding earlier ids, a state of
    /// an older version), it always runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids_live_since: Option<i64>,
    /// Deletions tracked: the committed documents whose latest version has a ttl, for the
    /// expiry phase of each sync window ([`Position::Expire`]).
    #[serde(default, skip_serializing_if = "Expiring::is_empty")]
    pub expiring: Expiring,
    /// `columns: typed`: the stream's column plan and observed schema; absent for the `data`
    /// JSON column only (`columns: json`, and every stream written before typed columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typed: Option<Box<TypedColumns>>,
}

pub(crate) fn is_zero_usize(n: &usize) -> bool {
    *n == 0
}

pub(crate) fn is_zero_u64(n: &u64) -> bool {
    *n == 0
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
            schema: None,
            strategy: Strategy::Snapshot,
            index: None,
            ids_len: None,
            ids: None,
            consistent_at: None,
            ids_live_since: None,
            expiring: Expiring::default(),
            typed: None,
        }
    }
}

/// The whole state file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Format version ([`STATE_VERSION`]).
    pub version: u32,
    /// The id of the output this state describes; the output root records the same id
    /// (`_output.json`), and a mismatch is refused. Empty until the output is first opened.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output_id: String,
    /// The manifest's committed length in bytes: lines beyond it were appended by a run that
    /// crashed before recording them, and are dropped on resume.
    #[serde(default)]
    pub manifest_len: u64,
    /// Progress per collection; a stream whose strategy and position do not go together is
    /// refused when read ([`StreamState::phase`]).
    #[serde(deserialize_with = "phase::check_streams")]
    pub streams: BTreeMap<String, StreamState>,
}

/// A loaded state and, when it was migrated from version 1, the committed files that
/// version listed (the output rebuilds its manifest from them).
#[derive(Debug)]
pub struct Loaded {
    /// The state, at [`STATE_VERSION`].
    pub state: State,
    /// Version 1's committed files, in order; `None` for a current state.
    pub v1_files: Option<Vec<CommittedFile>>,
}

/// Version 1's stream entry: today's fields plus the list of committed files.
#[derive(Deserialize)]
struct StreamV1 {
    #[serde(flatten)]
    stream: StreamState,
    files: Vec<CommittedFile>,
}

/// Version 1's state file.
#[derive(Deserialize)]
struct StateV1 {
    streams: BTreeMap<String, StreamV1>,
}

/// A state file that cannot be used.
#[derive(Debug, Error)]
pub enum StateError {
    /// Reading failed.
    #[error(
        "cannot read the state file {path}: {source}{}",
        crate::error::refused_hint(source)
    )]
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
    Write(#[from] FileError),
    /// Another run committed first (an object store's conditional write refused this one).
    #[error(transparent)]
    Locked(#[from] crate::lock::LockError),
    /// Writing the state object (or the id sets beside it) to an object store failed (the
    /// output's error).
    #[error("{0}")]
    Store(Box<dyn crate::error::KindedError>),
}

impl StateError {
    /// The kind of failure: an unreadable or invalid state is a state problem, a failed write
    /// an output problem.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StateError::Read { source, .. } => crate::error::file_kind(source, ErrorKind::State),
            StateError::Invalid { .. } => ErrorKind::State,
            StateError::Write(e) => e.kind(),
            StateError::Locked(e) => e.kind(),
            StateError::Store(e) => e.kind(),
        }
    }
}

impl State {
    /// An empty state.
    pub fn new() -> Self {
        State {
            version: STATE_VERSION,
            output_id: String::new(),
            manifest_len: 0,
            streams: BTreeMap::new(),
        }
    }

    /// Loads the state, or an empty one when the file does not exist. A temporary file left
    /// by a crash during an earlier save is removed: the last complete state is the one in
    /// force. A version-1 file is migrated (its file list is returned for the output).
    pub fn load(path: &Path) -> Result<State, StateError> {
        Ok(State::load_migrating(path)?.state)
    }

    /// [`State::load`], returning version 1's committed files when the file was migrated.
    pub fn load_migrating(path: &Path) -> Result<Loaded, StateError> {
        let invalid = |reason: String| StateError::Invalid {
            path: path.display().to_string(),
            reason,
        };
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
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Loaded {
                    state: State::new(),
                    v1_files: None,
                })
            }
            Err(source) => {
                return Err(StateError::Read {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        #[derive(Deserialize)]
        struct Version {
            version: u32,
        }
        if serde_json::from_slice::<serde_json::Value>(&bytes).is_ok_and(|v| !v.is_object()) {
            return Err(invalid(
                "not a fauna-sync state file (not a JSON object)".into(),
            ));
        }
        let version = serde_json::from_slice::<Version>(&bytes)
            .map_err(|e| invalid(format!("not a fauna-sync state file ({e})")))?
            .version;
        match version {
            STATE_VERSION => {
                let state: State =
                    serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
                Ok(Loaded {
                    state,
                    v1_files: None,
                })
            }
            1 => {
                let v1: StateV1 = serde_json::from_slice(&bytes)
                    .map_err(|e| invalid(format!("version 1: {e}")))?;
                let mut files = Vec::new();
                let mut state = State::new();
                for (name, s) in v1.streams {
                    if let Err(e) = s.stream.phase() {
                        return Err(invalid(format!("version 1: {}", e.of_stream(&name))));
                    }
                    files.extend(s.files);
                    state.streams.insert(name, s.stream);
                }
                tracing::info!(path = %path.display(), "Migrating a version-1 state file to version {STATE_VERSION} (spec/state-format.md).");
                Ok(Loaded {
                    state,
                    v1_files: Some(files),
                })
            }
            v => Err(invalid(format!(
                "version {v} (this fauna-sync reads versions 1 and {STATE_VERSION})"
            ))),
        }
    }

    /// Writes the state atomically (temporary file, fsync, rename, fsync of the directory).
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let bytes = self.encode(path)?;
        State::save_encoded(path, &bytes)
    }

    /// The bytes [`save`](State::save) writes (`path` names the file in errors).
    pub fn encode(&self, path: &Path) -> Result<Vec<u8>, StateError> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| StateError::Invalid {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Writes [`encode`](State::encode)d bytes to `path` atomically.
    pub fn save_encoded(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
        if crate::crash::armed("state-write") {
            // Simulate a crash in the middle of writing: half the bytes in a temporary file,
            // never renamed. The previous state must survive untouched.
            let _ = std::fs::write(temp_path(path), &bytes[..bytes.len() / 2]);
            std::process::abort();
        }
        write_file_atomically(path, bytes)?;
        Ok(())
    }
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}
