//! Strategies and the committer: readers' pages become committed batches with checkpointed
//! resume (`spec/architecture.md`). Below the run (`crate::run`, which opens the destination
//! and drives each stream through here), above the state, the outputs and the readers.
//!
//! - [`CollectionExport`] (`stream.rs`): one collection's read with its strategy — a pinned
//!   snapshot, or for collections that keep history too briefly, a scan, a catch-up and a
//!   reconciliation (`scan_catch_up.rs`); incremental windows (`incremental.rs`,
//!   `window_parts.rs`), their history gaps and reconciliation (`reconcile.rs`).
//! - [`full_read_strategy`]: which strategy a full read gets.
//! - [`drain`], [`drain_concurrent`]: readers drained concurrently and joined in order.
//! - [`Committer`]: the only code that changes the state; batches, output, checkpoint.
//! - [`Observer`]: what a run tells as it goes; [`Summary`]: what it did; [`ExportError`]:
//!   why it (or one stream) stopped.

mod committer;
mod error;
mod expiring;
mod expiry;
mod incremental;
mod observer;
mod partitions;
mod reconcile;
mod scan_catch_up;
mod strategy;
mod stream;
mod summary;
mod ttl_expiry;
mod window_parts;

pub use committer::{BatchLimits, Committer, DatabaseScope, PositionFn};
pub use error::ExportError;
pub use expiring::Expiring;
pub use incremental::WindowReport;
pub use observer::{Observer, Quiet, StreamEnd};
pub use partitions::{drain, drain_concurrent, Partition, Rotation, RotationPosition, CHUNK_ITEMS};
pub use strategy::full_read_strategy;
pub use stream::CollectionExport;
pub use summary::{StreamFailure, StreamSummary, Summary};
