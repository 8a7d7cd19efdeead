//! The id set of a stream: the ids of the documents its output holds (added by document
//! records, removed by deletion records), kept beside the state so that a reconciliation can
//! tell which of them vanished from Fauna (`spec/state-format.md`, "Id sets").
//!
//! On disk, in `<state>.ids/`: a sorted base file `<stream>.set.<generation>` (one id per
//! line, document order, no repeats) and the generation's delta log `<stream>.delta.<generation>`
//! (`+id` / `-id` lines, appended and fsynced with every batch). When the delta outgrows
//! [`compact_threshold`] of the base it is merged into the next generation's base. The state records the
//! generation and the delta's committed length ([`IdsMark`]), so a crash loses nothing the
//! state recorded and keeps nothing it did not; files of other generations are garbage.
//! Memory stays bounded by the delta: the base is streamed, never loaded.

mod merge;
mod sorted;
mod store;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::durable::{AppendLog, FileError};
use crate::export::Record;

pub use sorted::SortedIds;
pub use store::IdStore;

/// Delta bytes beyond which the delta is merged into a new base while the base is small
/// (about 50,000 ids).
pub const COMPACT_AT: u64 = 1 << 20;

/// The largest delta before a merge (about 400,000 ids): what a merge holds in memory.
pub const MAX_DELTA: u64 = 8 << 20;

/// Delta bytes beyond which the delta is merged into a new base of `base_len` bytes: a
/// quarter of the base, within [`COMPACT_AT`]..=[`MAX_DELTA`]. A merge rewrites the whole
/// base, so a fixed threshold would make a growing set's merges cost the square of its size
/// (each batch of a million-document scan rewrote the base: 1.5 s of its commits); a quarter
/// keeps the rewriting proportional to the ids added, and the cap keeps memory bounded.
pub fn compact_threshold(base_len: u64) -> u64 {
    (base_len / 4).clamp(COMPACT_AT, MAX_DELTA)
}

/// The committed extent of a stream's id set: the base file of `generation` plus the first
/// `delta_len` bytes of its delta log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdsMark {
    /// The base file's generation (0: no base file, the empty set).
    pub generation: u64,
    /// Committed bytes of the generation's delta log.
    pub delta_len: u64,
    /// `false` when the set was started after the stream had committed records (an output
    /// written before fauna-sync kept id sets): it lacks those records' ids, so it cannot
    /// tell which documents vanished.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub complete: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// Where the id sets of the state file `state` live: `<state>.ids/`.
pub fn id_set_dir(state: &Path) -> PathBuf {
    let mut dir = state.as_os_str().to_owned();
    dir.push(".ids");
    PathBuf::from(dir)
}

/// An open id set.
pub struct IdSet {
    dir: PathBuf,
    stream: String,
    generation: u64,
    delta: AppendLog,
    complete: bool,
    /// Files of superseded generations, removed once the state no longer names them.
    stale: Vec<PathBuf>,
}

/// How an id set is opened: from the state's mark, from a version-2.0 id log, or new.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// The mark the state recorded.
    Mark(IdsMark),
    /// A version-2.0 state's exported-id log (`<stream>.ids`, one id per line) of this
    /// committed length, migrated into a base file.
    Log(u64),
    /// No set yet; `started` when the stream already committed records.
    New {
        /// Whether the stream committed records before the set existed.
        started: bool,
    },
}

impl IdSet {
    /// Opens the stream's set at what the state recorded, dropping anything beyond it.
    pub fn open(dir: &Path, stream: &str, start: Start) -> Result<Self, FileError> {
        let mut set = match start {
            Start::Mark(m) => IdSet {
                dir: dir.to_path_buf(),
                stream: stream.to_string(),
                generation: m.generation,
                delta: AppendLog::open(delta_path(dir, stream, m.generation), m.delta_len)?,
                complete: m.complete,
                stale: Vec::new(),
            },
            Start::Log(len) => {
                let log = AppendLog::open(dir.join(format!("{}.ids", file_stem(stream))), len)?;
                let bytes = log.read_committed()?;
                let ops = String::from_utf8_lossy(&bytes)
                    .lines()
                    .map(|id| (id.to_string(), true))
                    .collect();
                merge::write_base(None, ops, &base_path(dir, stream, 1))?;
                IdSet {
                    dir: dir.to_path_buf(),
                    stream: stream.to_string(),
                    generation: 1,
                    delta: AppendLog::open(delta_path(dir, stream, 1), 0)?,
                    complete: true,
                    stale: Vec::new(),
                }
            }
            Start::New { started } => IdSet {
                dir: dir.to_path_buf(),
                stream: stream.to_string(),
                generation: 0,
                delta: AppendLog::open(delta_path(dir, stream, 0), 0)?,
                complete: !started,
                stale: Vec::new(),
            },
        };
        // Files of other generations are garbage the state never named (or no longer does):
        // removed now. The version-2.0 log waits until the state names the new set.
        set.stale = set.other_files()?;
        if !matches!(start, Start::Log(_)) {
            set.prune();
        }
        Ok(set)
    }

    /// What the state must record for the set as it stands.
    pub fn mark(&self) -> IdsMark {
        IdsMark {
            generation: self.generation,
            delta_len: self.delta.len(),
            complete: self.complete,
        }
    }

    /// Whether the set holds every id the output holds.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Records a committed batch durably: document records add their ids, deletion records
    /// remove them; merges the delta into a new base once it is large. Returns the new mark.
    pub fn record(&mut self, records: &[Record]) -> Result<IdsMark, FileError> {
        let mut buf = Vec::new();
        for r in records {
            buf.push(if r.deletion.is_some() { b'-' } else { b'+' });
            buf.extend_from_slice(r.id.as_bytes());
            buf.push(b'\n');
        }
        self.append(&buf)
    }

    /// Adds `ids` (documents the output holds) durably, as [`record`](IdSet::record) does
    /// for document records (a scale-out finalize joins its shards' sets so). Returns the new
    /// mark.
    pub fn add_ids(&mut self, ids: &[String]) -> Result<IdsMark, FileError> {
        let mut buf = Vec::with_capacity(ids.len() * 20);
        for id in ids {
            buf.push(b'+');
            buf.extend_from_slice(id.as_bytes());
            buf.push(b'\n');
        }
        self.append(&buf)
    }

    /// Appends `lines` (`+id`/`-id` lines) to the delta durably and merges the delta into a
    /// new base once it passes [`compact_threshold`] of the base. Returns the new mark.
    fn append(&mut self, lines: &[u8]) -> Result<IdsMark, FileError> {
        self.delta.append(lines)?;
        // The base's size matters only once the delta passes the smallest threshold.
        if self.delta.len() >= COMPACT_AT
            && self.delta.len()
                >= compact_threshold(base_len(&self.dir, &self.stream, self.generation)?)
        {
            self.compact()?;
        }
        Ok(self.mark())
    }

    /// Merges the delta into the next generation's base (nothing when the delta is empty).
    /// The previous generation's files stay until [`prune`](IdSet::prune), after the state
    /// recorded the new mark.
    pub fn compact(&mut self) -> Result<(), FileError> {
        if self.delta.is_empty() {
            return Ok(());
        }
        let ops = merge::parse_delta(&self.delta.read_committed()?, self.delta.path())?;
        let next = self.generation + 1;
        let old_base = base_path(&self.dir, &self.stream, self.generation);
        let base = (self.generation > 0).then_some(old_base.as_path());
        merge::write_base(base, ops, &base_path(&self.dir, &self.stream, next))?;
        let delta = AppendLog::open(delta_path(&self.dir, &self.stream, next), 0)?;
        self.stale.push(old_base);
        self.stale.push(self.delta.path().to_path_buf());
        self.delta = delta;
        self.generation = next;
        Ok(())
    }

    /// Removes the files of superseded generations (call after the state recorded the mark).
    /// Best effort: what stays is removed when the set is next opened.
    pub fn prune(&mut self) {
        let current = [
            base_path(&self.dir, &self.stream, self.generation),
            delta_path(&self.dir, &self.stream, self.generation),
        ];
        for path in self.stale.drain(..).filter(|p| !current.contains(p)) {
            if let Err(e) = std::fs::remove_file(&path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::debug!(path = %path.display(), error = %e, "could not remove a superseded id file");
                }
            }
        }
    }

    /// The set as one sorted file; the delta must be empty ([`compact`](IdSet::compact)
    /// first). The handle keeps reading this generation after later compactions.
    pub fn sorted(&self) -> Result<SortedIds, FileError> {
        if !self.delta.is_empty() {
            return Err(FileError::new(
                "read",
                self.delta.path(),
                std::io::Error::other("the id set's delta is not merged"),
            ));
        }
        if self.generation == 0 {
            return Ok(SortedIds::empty());
        }
        SortedIds::open(&base_path(&self.dir, &self.stream, self.generation))
    }

    /// This stream's files in the directory that the current generation does not use.
    fn other_files(&self) -> Result<Vec<PathBuf>, FileError> {
        let keep = [
            base_path(&self.dir, &self.stream, self.generation),
            delta_path(&self.dir, &self.stream, self.generation),
        ];
        let prefixes = [
            format!("{}.set.", file_stem(&self.stream)),
            format!("{}.delta.", file_stem(&self.stream)),
        ];
        let legacy = format!("{}.ids", file_stem(&self.stream));
        let entries =
            std::fs::read_dir(&self.dir).map_err(|e| FileError::new("list", &self.dir, e))?;
        let mut stale = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let ours = prefixes.iter().any(|p| {
                name.strip_prefix(p.as_str())
                    .is_some_and(|g| g.bytes().all(|b| b.is_ascii_digit()) && !g.is_empty())
            });
            let path = entry.path();
            if (ours || name == legacy) && !keep.contains(&path) {
                stale.push(path);
            }
        }
        Ok(stale)
    }
}

/// The file names (in the id set directory) holding what `mark` records for `stream`: the
/// base of its generation (none for generation 0) and the delta when it is not empty. Outputs
/// that keep the set elsewhere (object stores) copy exactly these.
pub fn files_of(stream: &str, mark: IdsMark) -> Vec<String> {
    let mut files = Vec::with_capacity(2);
    if mark.generation > 0 {
        files.push(format!("{}.set.{}", file_stem(stream), mark.generation));
    }
    if mark.delta_len > 0 {
        files.push(format!("{}.delta.{}", file_stem(stream), mark.generation));
    }
    files
}

/// The start of the file names of `stream`'s id set: the stream's name, with the `/` of a
/// database tree's stream (`tenant1/orders`, `spec/trees.md`) as `=`, which no Fauna name
/// holds, so the files of every stream lie side by side in one directory and never collide.
///
/// ```
/// assert_eq!(fauna_sync::id_set::file_stem("t1/eu/orders"), "t1=eu=orders");
/// assert_eq!(fauna_sync::id_set::file_stem("orders"), "orders");
/// ```
pub fn file_stem(stream: &str) -> String {
    stream.replace('/', "=")
}

/// The size of the base file of `generation` (0 for generation 0, which has none).
fn base_len(dir: &Path, stream: &str, generation: u64) -> Result<u64, FileError> {
    if generation == 0 {
        return Ok(0);
    }
    let path = base_path(dir, stream, generation);
    match std::fs::metadata(&path) {
        Ok(m) => Ok(m.len()),
        // A missing base is reported where the set is read ([`IdSet::sorted`]).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(FileError::new("read", &path, e)),
    }
}

fn base_path(dir: &Path, stream: &str, generation: u64) -> PathBuf {
    dir.join(format!("{}.set.{generation}", file_stem(stream)))
}

fn delta_path(dir: &Path, stream: &str, generation: u64) -> PathBuf {
    dir.join(format!("{}.delta.{generation}", file_stem(stream)))
}

#[cfg(test)]
mod tests;
