//! What can stop a run.

use thiserror::Error;

use crate::durable::FileError;
use crate::error::ErrorKind;
use crate::fauna::FaunaError;
use crate::lock::LockError;
use crate::output::OutputError;
use crate::read::ReadError;

use super::summary::Summary;
use crate::state::StateError;

/// Why an export (or one of its streams) stopped.
#[derive(Debug, Error)]
pub enum ExportError {
    /// Reading failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The output failed.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// The state is unusable or could not be written.
    #[error(transparent)]
    State(#[from] StateError),
    /// The id log failed.
    #[error(transparent)]
    File(#[from] FileError),
    /// Another run holds the output.
    #[error(transparent)]
    Locked(#[from] LockError),
    /// A Fauna call outside a collection's read failed.
    #[error("{context}: {source}")]
    Fauna {
        /// What was being done.
        context: String,
        /// The error.
        source: FaunaError,
    },
    /// A collection named in the configuration does not exist or cannot be read.
    #[error("{0}")]
    Collection(String),
    /// The key cannot read a collection's documents.
    #[error("{0}")]
    Permission(String),
    /// The configured index cannot serve the short-retention strategy.
    #[error("collection '{collection}' keeps history too briefly for one pinned snapshot, and its configured index '{index}' is not an active index of that collection with no terms and values [ts, ref]; name such an index in \"index\" (or leave it out to find one), or raise history_days")]
    BadIndex {
        /// The collection.
        collection: String,
        /// The configured index.
        index: String,
    },
    /// The state does not match this run's settings.
    #[error("collection '{collection}' was exported as {was} by an earlier run but this run asks for {now} ({what} changed); use another --out and --state, or delete the old output and state to export again")]
    SettingsChanged {
        /// The collection.
        collection: String,
        /// What changed (`format`, `record schema`).
        what: &'static str,
        /// The earlier value.
        was: String,
        /// The value asked for.
        now: String,
    },
    /// Deletions since the last sync may have been dropped from Fauna's history.
    #[error("collection '{collection}' was last synced {gap_minutes} minutes ago, longer than Fauna keeps its history (history_days plus 15 minutes), so deletions in between may be lost; nothing was read. Set \"history_gap\": \"reconcile\" in the collection's \"deletions\" to detect them by comparing ids (or \"resync\" to read the collection again in full), run sync more often (or raise the collection's history_days), or delete this collection's output and state to export it again")]
    HistoryGap {
        /// The collection.
        collection: String,
        /// Minutes since the last window's end.
        gap_minutes: i64,
    },
    /// A history gap that cannot be reconciled: the output keeps no complete id set.
    #[error("collection '{collection}' was last synced {gap_minutes} minutes ago, longer than Fauna keeps its history, so deletions in between can only be found by comparing ids, and {reason}; nothing was read. Delete this collection's output and state to export it again, or sync more often than the collection keeps history")]
    CannotReconcile {
        /// The collection.
        collection: String,
        /// Minutes since the last window's end.
        gap_minutes: i64,
        /// Why there is no id set to compare with.
        reason: &'static str,
    },
    /// The collection has no index incremental reads can use.
    #[error("collection '{collection}' cannot be synced incrementally: {problem}. Create the index with {fql} (or name a fitting one in \"index\")")]
    NoIndex {
        /// The collection.
        collection: String,
        /// What is missing or wrong.
        problem: String,
        /// The FQL that creates a fitting index.
        fql: String,
    },
    /// The state given for a stream (Airbyte's `--state`) cannot be resumed from; the message
    /// says why and what to do.
    #[error("{0}")]
    InputState(String),
    /// The run stopped at a batch boundary because `--max-duration` was reached.
    #[error("stopped at a batch boundary after the maximum duration; run again to continue")]
    Paused,
    /// The committer lost its state (a panic on its blocking thread).
    #[error("the committer stopped after an internal failure; committed output stays valid")]
    CommitterFailed,
    /// A stream was used that the run did not start.
    #[error("stream '{0}' is not part of this run's state")]
    StreamMissing(String),
    /// Some collections failed (each for a reason of its own) while the others were read and
    /// committed; the summary says what was done and why each failed one failed.
    #[error("{}", failed_message(.0))]
    StreamsFailed(Box<Summary>),
}

impl ExportError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ExportError::Read(e) => e.kind(),
            ExportError::Output(e) => e.kind(),
            ExportError::State(e) => e.kind(),
            ExportError::File(e) => e.kind(),
            ExportError::Locked(e) => e.kind(),
            ExportError::Fauna { source, .. } => source.kind(),
            ExportError::Collection(_) | ExportError::BadIndex { .. } => ErrorKind::Config,
            ExportError::Permission(_) => ErrorKind::Permission,
            ExportError::SettingsChanged { .. }
            | ExportError::HistoryGap { .. }
            | ExportError::CannotReconcile { .. } => ErrorKind::State,
            ExportError::NoIndex { .. } | ExportError::InputState(_) => ErrorKind::Config,
            ExportError::Paused => ErrorKind::Interrupted,
            ExportError::CommitterFailed | ExportError::StreamMissing(_) => ErrorKind::Output,
            ExportError::StreamsFailed(s) => s.failed.first().map_or(ErrorKind::Output, |f| f.kind),
        }
    }

    /// Whether the failure concerns only the collection being read, so the run reports it
    /// and goes on with the next one (`spec/errors.md`, "One collection's failure"): its
    /// history, index, documents, privileges, settings or input state. Failures of the run itself — the
    /// secret, the network, the output, the lock, the state, an interruption, a missing
    /// collection (a typo, refused before anything is read) — stop the run.
    pub fn stream_scoped(&self) -> bool {
        match self {
            ExportError::Read(ReadError::Fauna { source, .. })
            | ExportError::Fauna { source, .. } => fauna_stream_scoped(source),
            ExportError::Read(
                ReadError::SnapshotExpired { .. }
                | ReadError::Record(_)
                | ReadError::BadPage { .. },
            ) => true,
            ExportError::Output(e) => e.kind() == ErrorKind::Data,
            ExportError::Permission(_)
            | ExportError::BadIndex { .. }
            | ExportError::SettingsChanged { .. }
            | ExportError::HistoryGap { .. }
            | ExportError::CannotReconcile { .. }
            | ExportError::NoIndex { .. }
            | ExportError::InputState(_) => true,
            ExportError::Read(ReadError::IdSet(_))
            | ExportError::State(_)
            | ExportError::File(_)
            | ExportError::Locked(_)
            | ExportError::Collection(_)
            | ExportError::Paused
            | ExportError::CommitterFailed
            | ExportError::StreamMissing(_)
            | ExportError::StreamsFailed(_) => false,
        }
    }
}

/// Whether Fauna's refusal concerns what was asked (a privilege, a missing index or
/// document, a response that cannot be read) rather than the connection or the secret: a
/// 401, a network failure and retries used up (the next collection would meet the same)
/// stop the run.
fn fauna_stream_scoped(e: &FaunaError) -> bool {
    match e {
        FaunaError::Status { status, .. } => *status != 401 && !e.is_retryable(),
        FaunaError::InvalidResponse(_) => true,
        _ => false,
    }
}

/// The failed collections' reasons: one failure's message as it is, several each after
/// its collection's name.
fn failed_message(s: &Summary) -> String {
    match s.failed.as_slice() {
        [one] => one.message.clone(),
        many => format!(
            "{} collections failed: {}",
            many.len(),
            many.iter()
                .map(|f| format!("'{}': {}", f.name, f.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

impl From<crate::sink::SinkError> for ExportError {
    fn from(e: crate::sink::SinkError) -> Self {
        ExportError::Output(OutputError::Sink(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{StreamFailure, Summary};

    fn status(status: u16) -> FaunaError {
        FaunaError::Status {
            status,
            details: vec![],
        }
    }

    #[test]
    fn failures_of_one_collection_are_stream_scoped_and_the_runs_are_not() {
        let fauna = |source| ExportError::Fauna {
            context: "reading".into(),
            source,
        };
        let gap = ExportError::HistoryGap {
            collection: "users".into(),
            gap_minutes: 60,
        };
        assert!(gap.stream_scoped());
        assert!(fauna(status(403)).stream_scoped());
        assert!(fauna(status(404)).stream_scoped());
        assert!(fauna(FaunaError::InvalidResponse("x".into())).stream_scoped());
        assert!(!fauna(status(401)).stream_scoped());
        assert!(!fauna(status(503)).stream_scoped());
        assert!(!ExportError::Paused.stream_scoped());
        assert!(!ExportError::Collection("collection 'x' does not exist".into()).stream_scoped());
        assert!(!ExportError::CommitterFailed.stream_scoped());
    }

    #[test]
    fn failed_collections_take_the_first_ones_kind_and_name_each() {
        let failure = |name: &str, kind, message: &str| StreamFailure {
            name: name.into(),
            kind,
            message: message.into(),
        };
        let mut s = Summary {
            failed: vec![failure("users", ErrorKind::State, "gap")],
            ..Summary::default()
        };
        let one = ExportError::StreamsFailed(Box::new(s.clone()));
        assert_eq!(
            (one.kind(), one.to_string().as_str()),
            (ErrorKind::State, "gap")
        );
        s.failed
            .push(failure("orders", ErrorKind::Config, "no index"));
        let two = ExportError::StreamsFailed(Box::new(s));
        assert_eq!(two.kind(), ErrorKind::State);
        assert_eq!(
            two.to_string(),
            "2 collections failed: 'users': gap; 'orders': no index"
        );
    }
}
