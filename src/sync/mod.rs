//! Strategies and the committer: readers' pages become committed batches with checkpointed
//! resume (`spec/architecture.md`).
//!
//! - [`stream`]: one collection's read with its strategy — a pinned snapshot, or for
//!   collections that keep history too briefly, a scan, a catch-up and a reconciliation
//!   ([`scan_catch_up`]).
//! - [`partitions`]: readers drained concurrently and joined in order.
//! - [`committer`]: the only code that changes the state; batches, output, checkpoint.
//! - [`run`]: one export run over every collection.

mod checks;
mod committer;
mod error;
mod expiring;
mod expiry;
mod incremental;
mod observer;
mod partitions;
mod reconcile;
mod run;
mod scan_catch_up;
mod state;
mod stream;
mod ttl_expiry;
mod window_parts;

pub use checks::{check_collection, sync_index};
pub use committer::{BatchLimits, Committer, PositionFn};
pub use error::ExportError;
pub use expiring::Expiring;
pub use incremental::WindowReport;
pub use observer::{Observer, Quiet};
pub use partitions::{drain, drain_concurrent, Partition, Rotation, RotationPosition, CHUNK_ITEMS};
pub use run::{
    client, file_format, lock_paths, run, run_export, schema_fingerprint, Mode, RunError,
    StreamFailure, StreamSummary, Summary,
};
pub use state::{
    IdsMark, Loaded, PartPosition, Position, State, StateError, Strategy, StreamState,
    STATE_VERSION,
};
pub use stream::CollectionExport;
