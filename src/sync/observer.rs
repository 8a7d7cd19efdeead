//! What a run tells as it goes: pages and batches (from the strategies and the committer) and
//! each stream's course (from the run). Every hook is optional: the CLI shows progress bars,
//! Airbyte `read` writes its stream statuses, estimates, warnings and closing LOG. A hook that
//! writes somewhere (Airbyte: stdout) may fail; the run then stops with that error.

use super::error::ExportError;
use super::summary::Summary;
use crate::output::OutputError;
use crate::state::StreamState;

/// Hooks for progress display and status messages; all optional.
pub trait Observer: Send + Sync {
    /// A page of `docs` documents was read.
    fn page_read(&self, _collection: &str, _docs: u64) {}
    /// A batch file was committed.
    fn batch_committed(&self, _collection: &str, _rows: u64, _bytes: u64) {}
    /// The run is done with the collection (read to its end, stopped or failed).
    fn collection_done(&self, _collection: &str) {}
    /// Whether the observer shows an expected total (the run then counts documents, briefly).
    fn wants_total(&self) -> bool {
        false
    }
    /// Whether the total must be known before the stream's first record (Airbyte's ESTIMATE
    /// precedes its records); otherwise it is counted beside the read and told if it comes
    /// first.
    fn total_first(&self) -> bool {
        false
    }
    /// The collection is expected to hold `total` documents, `done` of which an earlier run
    /// committed.
    fn total_known(&self, _collection: &str, _total: u64, _done: u64) {}
    /// The stream's turn has come (its checks are done; it may still fail before reading).
    fn stream_started(&self, _stream: &str) -> Result<(), OutputError> {
        Ok(())
    }
    /// The stream's records are about to be read.
    fn stream_reading(&self, _stream: &str) -> Result<(), OutputError> {
        Ok(())
    }
    /// The stream failed for a reason of its own; the run goes on with the others.
    fn stream_failed(&self, _stream: &str, _error: &ExportError) -> Result<(), OutputError> {
        Ok(())
    }
    /// The run itself failed while reading this stream.
    fn stream_stopped(&self, _stream: &str) {}
    /// The stream was read to its end.
    fn stream_done(&self, _stream: &str, _end: &StreamEnd<'_>) -> Result<(), OutputError> {
        Ok(())
    }
    /// Something the user should know about a stream (the run also logs it as a warning).
    fn warning(&self, _stream: &str, _message: &str) -> Result<(), OutputError> {
        Ok(())
    }
    /// Every stream had its turn (some may have failed): what the run did.
    fn run_done(&self, _summary: &Summary) -> Result<(), OutputError> {
        Ok(())
    }
}

/// How a stream's read ended.
#[derive(Clone, Copy, Debug)]
pub struct StreamEnd<'a> {
    /// Its committed state.
    pub state: &'a StreamState,
    /// Incremental: the synced time (µs) that is ahead of the server's, when nothing was read
    /// for that reason.
    pub ahead_of_server: Option<i64>,
    /// The server's time when the run began (µs).
    pub run_time: i64,
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}
