//! What can go wrong with an output.

use std::path::PathBuf;

use thiserror::Error;

use crate::durable::FileError;
use crate::error::{file_kind, ErrorKind};
use crate::lock::LockError;
use crate::sink::SinkError;

use super::checks::Rewound;
use super::owner::OWNER_FILE;
use super::store_error::{describe, StoreProblem};
use super::verify::Problem;
use crate::sink::MANIFEST_FILE;

impl From<crate::location::BadUrl> for OutputError {
    fn from(e: crate::location::BadUrl) -> Self {
        OutputError::BadUrl {
            url: e.url,
            reason: e.reason,
        }
    }
}

/// A failed output operation.
#[derive(Debug, Error)]
pub enum OutputError {
    /// Writing a batch file or the manifest failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// A file operation failed.
    #[error(transparent)]
    File(#[from] FileError),
    /// The output belongs to another state.
    #[error("the output {root:?} belongs to another state (its _output.json names state {found}, but the state {state} names {expected}); use the state file that made this output, or another --out — fauna-sync never cleans up an output it does not own")]
    NotOwned {
        /// The output root.
        root: PathBuf,
        /// The state file.
        state: String,
        /// The id the state records.
        expected: String,
        /// The id the output records.
        found: String,
    },
    /// The output holds committed files but no state describes them.
    #[error("the output {root:?} already holds {files} committed file(s) but the state {state} does not exist or is new; run with the state that made this output (--state), or choose another --out")]
    Orphaned {
        /// The output root.
        root: PathBuf,
        /// The state file.
        state: String,
        /// Committed files in the manifest.
        files: usize,
    },
    /// Committed files are missing or damaged.
    #[error("the output {} is damaged: {}; restore the files, or delete the output and its state to export again (`fauna-sync verify --out {}` lists every problem)", root.display(), problems.join("; "), root.display())]
    Damaged {
        /// The output root.
        root: PathBuf,
        /// What is wrong, one entry per file.
        problems: Vec<String>,
    },
    /// The state would write a batch the manifest already commits: it was set back (an older
    /// copy restored, or edited), or it has no entry for a committed stream.
    #[error("the state {state} does not match the output {}: {}; this run would overwrite that file — use the state that made this output (or restore its latest copy), or delete the output and its state to export again", root.display(), Problem::Rewound(rewound.clone()))]
    Rewound {
        /// The output root.
        root: PathBuf,
        /// The state (its file or URL).
        state: String,
        /// The first committed file the state would write again.
        rewound: Rewound,
    },
    /// `verify` found neither a manifest nor an owner record: not a fauna-sync output.
    #[error("{out} holds no fauna-sync output (neither {MANIFEST_FILE} nor {OWNER_FILE}); check --out (the path, or the bucket and prefix), or run export or sync with this --out first")]
    NoOutput {
        /// The `--out` given (path or URL).
        out: String,
    },
    /// A stream of messages (Airbyte's stdout) could not be written; a broken pipe means the
    /// reader went away.
    #[error("cannot write {what}: {source}")]
    Stream {
        /// What was being written.
        what: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The output root is not a usable directory.
    #[error("--out {} is not a directory; name a directory (it is created if missing)", .0.display())]
    NotADirectory(PathBuf),
    /// An object-store request failed: a missing bucket, missing or rejected credentials and a
    /// lacking permission are named with what to do ([`StoreProblem`]); the message never holds a
    /// credential.
    #[error("{}", describe(op, url, source))]
    Store {
        /// What was being done (`upload`, `read`, `list`, …).
        op: &'static str,
        /// The object's URL.
        url: String,
        /// Why.
        source: object_store::Error,
    },
    /// `--out` is a URL fauna-sync cannot write to.
    #[error("--out {url}: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong and what to use instead.
        reason: String,
    },
    /// `--out` names a cloud whose client this build left out (its cargo feature).
    #[error("--out {url}: this fauna-sync was built without the `{feature}` feature, which object stores of this kind need; build it with `cargo build --features {feature}` (or the default features)")]
    NotBuilt {
        /// The URL.
        url: String,
        /// The cargo feature.
        feature: &'static str,
    },
    /// A batch sealed without a file reached an output of files (a bug in fauna-sync).
    #[error("batch {seq} of stream {stream:?} has no file to publish; this is a bug in fauna-sync, please report it")]
    NoFile {
        /// The stream.
        stream: String,
        /// The batch sequence number.
        seq: u64,
    },
    /// The state object cannot be used.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// Another run holds the output (its lease, or it committed a newer state).
    #[error(transparent)]
    Locked(#[from] LockError),
}

impl crate::error::KindedError for OutputError {
    fn kind(&self) -> ErrorKind {
        OutputError::kind(self)
    }
}

impl OutputError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            OutputError::Sink(SinkError::TypeMismatch { .. }) => ErrorKind::Data,
            OutputError::Sink(SinkError::Frozen { .. }) => ErrorKind::SchemaFrozen,
            // Refused (EACCES, EPERM, read-only): no re-run can help until it is allowed.
            OutputError::Sink(SinkError::Io { source, .. }) => file_kind(source, ErrorKind::Output),
            OutputError::File(e) => e.kind(),
            // A committed manifest line that does not parse is damage: a re-run cannot help.
            OutputError::Sink(SinkError::Manifest { .. }) => ErrorKind::State,
            OutputError::Sink(_) | OutputError::Stream { .. } | OutputError::NoFile { .. } => {
                ErrorKind::Output
            }
            OutputError::NotOwned { .. }
            | OutputError::Orphaned { .. }
            | OutputError::Damaged { .. }
            | OutputError::Rewound { .. } => ErrorKind::State,
            OutputError::NotADirectory(_)
            | OutputError::BadUrl { .. }
            | OutputError::NotBuilt { .. }
            | OutputError::NoOutput { .. } => ErrorKind::Config,
            OutputError::Store { op, source, .. } => StoreProblem::of(op, source).kind(),
            OutputError::Locked(e) => e.kind(),
            OutputError::State(e) => e.kind(),
        }
    }
}
