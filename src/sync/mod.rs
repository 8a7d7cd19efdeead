//! Strategies and the committer: readers' pages become committed batches with checkpointed
//! resume (`spec/architecture.md`). Below the run (`crate::run`, which opens the destination
//! and drives each stream through here), above the state, the outputs and the readers.
//!
//! - [`CollectionExport`] (`stream.rs`): one collection's read, run by the strategy its state
//!   names — one type each, seeing only its own position type (`crate::state::Phase`):
//!   `SnapshotStrategy` (`snapshot.rs`: a pinned snapshot, one range or ranges of ids);
//!   `ScanCatchUpStrategy` (`scan_catch_up.rs`: for collections that keep history too briefly,
//!   a scan, a catch-up and a reconciliation); `WindowStrategy` (`incremental.rs`: sync
//!   windows, read as ranges of ts in `window_ranges.rs`, their expiry phase in `ttl_expiry.rs`,
//!   history gaps in `history_gap.rs`). The reconciliation phase (`reconcile.rs`) and a pinned
//!   time falling out of the history window (`snapshot_expiry.rs`) are written once for them.
//! - [`full_read_strategy`]: which strategy a full read gets.
//! - [`drain`], [`drain_concurrent`]: readers drained concurrently and joined in order, or
//!   ranges taking turns.
//! - [`Committer`]: the only code that changes the state; batches, output, checkpoint.
//! - [`Observer`]: what a run tells as it goes; [`Summary`]: what it did; [`ExportError`]:
//!   why it (or one stream) stopped.

mod committer;
mod drain;
mod error;
mod expiring;
mod history_gap;
mod incremental;
mod observer;
mod reconcile;
mod scan_catch_up;
mod snapshot;
mod snapshot_expiry;
mod strategy;
mod stream;
mod summary;
mod ttl_expiry;
mod window_ranges;

pub use committer::{BatchLimits, Committer, DatabaseScope, PositionFn};
pub use drain::{drain, drain_concurrent, Partition, RotationPosition, CHUNK_ITEMS};
pub use error::ExportError;
pub use expiring::Expiring;
pub use incremental::WindowReport;
pub use observer::{Observer, Quiet, StreamEnd};
pub use strategy::full_read_strategy;
pub use stream::CollectionExport;
pub use summary::{StreamFailure, StreamSummary, Summary};
