//! What a run did: the totals, each stream's share, and the streams that failed.

use crate::error::ErrorKind;
use crate::fauna::limiter::LimitStats;
use crate::fauna::pacing::PacerStats;

use super::error::ExportError;

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Collections exported (or already complete).
    pub collections: u64,
    /// Collections that an earlier run had already completed.
    pub already_complete: u64,
    /// Documents committed in this run.
    pub docs: u64,
    /// Files committed in this run.
    pub files: u64,
    /// Bytes committed in this run.
    pub bytes: u64,
    /// Retries of transient failures.
    pub retries: u64,
    /// Queries Fauna answered.
    pub queries: u64,
    /// Of them, those answered before the first page of data was asked for.
    pub queries_before_data: u64,
    /// Fauna read ops billed (`x-byte-read-ops`).
    pub read_ops: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Stray files removed on start (left by an earlier interrupted run).
    pub orphans_removed: u64,
    /// Per collection (`sync`): what this run committed for it.
    pub streams: Vec<StreamSummary>,
    /// The run stopped at a batch boundary at `--max-duration`; more is left to do.
    pub paused: bool,
    /// Page sizes of the document reads (not a reconciliation's id pages): the largest
    /// reached (`size`) and how often they changed.
    pub paging: PacerStats,
    /// The limit of queries in flight, as it ended, and how often it changed.
    pub in_flight: LimitStats,
    /// Collections that failed for a reason of their own (those that failed their checks
    /// first, then in the order they were read); the run went on with the others
    /// (`spec/errors.md`, "One collection's failure").
    pub failed: Vec<StreamFailure>,
}

/// A collection the run could not read, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamFailure {
    /// The collection.
    pub name: String,
    /// The failure's kind (the first failure's decides the exit code).
    pub kind: ErrorKind,
    /// What failed and what to do.
    pub message: String,
}

impl StreamFailure {
    /// The failure `e` of stream `name`.
    pub fn new(name: &str, e: &ExportError) -> Self {
        StreamFailure {
            name: name.to_string(),
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// What a run committed for one collection.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamSummary {
    /// The collection.
    pub name: String,
    /// Records of new or changed documents.
    pub changed: u64,
    /// Deletion records.
    pub deleted: u64,
    /// Deletion records found by reconciliation (among `deleted`).
    pub detected: u64,
    /// Files.
    pub files: u64,
    /// Seconds spent on the collection.
    pub seconds: f64,
    /// The end of the last committed window (`sync`), µs.
    pub synced_to: Option<i64>,
    /// Typed columns: values written to variant columns (a path's second and later types).
    pub variant_values: u64,
    /// Typed columns: documents or values the schema contract left out.
    pub discarded: u64,
}
