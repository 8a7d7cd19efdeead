//! What can stop a reader.

use thiserror::Error;

use crate::error::ErrorKind;
use crate::export::RecordError;
use crate::fauna::FaunaError;

/// A failed read.
#[derive(Debug, Error)]
pub enum ReadError {
    /// Fauna refused or failed.
    #[error("collection '{collection}': {source}")]
    Fauna {
        /// The collection.
        collection: String,
        /// The error.
        source: FaunaError,
    },
    /// The pinned snapshot fell out of the collection's history retention.
    #[error("collection '{collection}': the snapshot at {snapshot_ts} is older than the collection keeps history ({detail}); delete the state file and the collection's output to export again from a fresh snapshot, or raise the collection's history_days")]
    SnapshotExpired {
        /// The collection.
        collection: String,
        /// The snapshot time.
        snapshot_ts: i64,
        /// Fauna's message.
        detail: String,
    },
    /// A document could not become a record.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The id set a reconciliation compares with could not be read.
    #[error("the id set beside the state cannot be read: {0}; delete the state file, its .ids directory and the output to export again")]
    IdSet(#[from] crate::durable::FileError),
    /// The server's page was not a page.
    #[error("collection '{collection}': unexpected page shape: {detail}")]
    BadPage {
        /// The collection.
        collection: String,
        /// What was wrong.
        detail: String,
    },
}

impl ReadError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ReadError::Fauna { source, .. } => source.kind(),
            ReadError::SnapshotExpired { .. } => ErrorKind::State,
            ReadError::Record(_) | ReadError::BadPage { .. } => ErrorKind::Data,
            ReadError::IdSet(_) => ErrorKind::State,
        }
    }
}
