//! Outputs and checkpoints: where committed batches and the state go.
//!
//! An [`Output`] writes a batch of records as they arrive ([`Batch`]), then makes it durable
//! and visible and hands back a [`Receipt`]; a [`Checkpoint`] makes the state durable after the
//! output committed. Only the committer (`crate::sync`) calls them, in that order, so a crash
//! between the two leaves a batch the state does not record, which the output removes on the
//! next start. Publishing and saving are async (an object store's client is).
//!
//! The backend protocol is written once over a small [`Storage`] trait (`storage.rs`) with two
//! implementations, a local directory ([`LocalDir`]) and an object store ([`ObjectStorage`]):
//! - [`open_output`] (`open.rs`): ownership (`_output.json`, `owner.rs`), the manifest cut at
//!   the state's committed mark, the damage check (`checks.rs`, `verify.rs`'s
//!   `check_files`), the cleanup of leftovers; it returns a [`StorageOutput`]
//!   (`storage_output.rs`), the one [`Output`] of batch files.
//! - [`verify`] (`verify.rs`): `fauna-sync verify` on either.
//! - [`ExclusiveRun`] (`exclusive.rs`): one run at a time — lock files ([`LockFiles`]) or the
//!   [`Lease`] (`lease.rs`), confirmed before each commit.
//! - The state: a state file ([`StateFile`]), or the state object written conditionally
//!   ([`ObjectState`]); id sets beside a state object are copied to a scratch directory and
//!   uploaded as they change ([`ObjectIdSets`], [`CheckpointWithIds`]). [`StoreRun`] opens an
//!   object store's lease, state and id sets in order.
//! - `store_url.rs`: `--out` URLs and the clients (one cargo feature per cloud);
//!   `store_error.rs`: what a store's failure means for the user.

mod checks;
mod error;
mod exclusive;
mod lease;
mod local_dir;
mod object_ids;
mod object_state;
mod object_storage;
mod open;
mod owner;
mod state_file;
mod storage;
mod storage_output;
mod store_error;
mod store_run;
mod store_url;
mod verify;

pub use checks::{IdSetsAt, Rewound};
pub use error::OutputError;
pub use exclusive::{ExclusiveRun, LockFiles};
pub use lease::{Lease, LEASE_FILE, LEASE_TTL};
pub use local_dir::LocalDir;
pub use object_ids::{CheckpointWithIds, ObjectIdSets};
pub use object_state::{ObjectState, STATE_OBJECT};
pub use object_storage::{ObjectStorage, MULTIPART_BYTES};
pub use open::{open_output, OpenArgs, Opened};
pub use owner::{new_output_id, OwnerRecord, OWNER_FILE};
pub use state_file::StateFile;
pub use storage::{Manifest, Storage};
pub use storage_output::StorageOutput;
pub use store_error::StoreProblem;
pub use store_run::{released, ReleaseGuard, StoreRun};
pub use store_url::{local_path, BadUrl, Cloud, Location, StoreUrl};
pub use verify::{verify, Problem, VerifyReport};

use async_trait::async_trait;
use std::sync::Arc;

use crate::export::{Record, RecordSchema};
use crate::sink::CommittedFile;
use crate::state::{State, StateError};

/// What an output says about a committed batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The stream.
    pub stream: String,
    /// The batch's sequence number.
    pub seq: u64,
    /// Records committed.
    pub rows: u64,
    /// Bytes committed.
    pub bytes: u64,
    /// Where the batch went (a root-relative file path), if it has a name.
    pub location: Option<String>,
    /// The output's durable mark after this batch (files: the manifest's committed length),
    /// recorded in the state so a resumed run drops whatever came after.
    pub mark: u64,
}

/// A destination for committed batches. A batch is written as its records arrive, through
/// the [`Batch`] that [`begin`](Output::begin) opens (the committer drives it on a writer
/// thread), then [`publish`](Output::publish)ed once it is [`finish`](Batch::finish)ed.
#[async_trait]
pub trait Output: Send {
    /// Opens batch `seq` of `stream`. Redoing the same `seq` after a crash replaces what the
    /// crash left.
    fn begin(
        &mut self,
        stream: &str,
        seq: u64,
        schema: Arc<RecordSchema>,
    ) -> Result<Box<dyn Batch>, OutputError>;

    /// Makes a finished batch part of the output, durably (files: its manifest line; object
    /// stores: the upload and the manifest), and returns the receipt.
    async fn publish(&mut self, sealed: Sealed) -> Result<Receipt, OutputError>;
}

/// An open batch of an [`Output`]. Dropping it unfinished aborts it: nothing of it becomes
/// visible (a temporary file is removed, now or by the next start's cleanup).
pub trait Batch: Send {
    /// Takes the next records of the batch (in order).
    fn write(&mut self, records: &[Record]) -> Result<(), OutputError>;

    /// Ends the batch (at least one record was written): files are complete and durable under
    /// their final name, not yet listed.
    fn finish(self: Box<Self>) -> Result<Sealed, OutputError>;
}

/// A finished batch, ready to be published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// The stream.
    pub stream: String,
    /// The batch's sequence number.
    pub seq: u64,
    /// Records in the batch.
    pub rows: u64,
    /// Bytes written.
    pub bytes: u64,
    /// The batch file, for outputs of files.
    pub file: Option<CommittedFile>,
}

/// A durable home for the state.
#[async_trait]
pub trait Checkpoint: Send {
    /// Makes `state` durable. `changed` names the stream whose entry changed and `receipt`
    /// the batch that changed it, if any (a protocol checkpoint reports per stream).
    async fn save(
        &mut self,
        state: &State,
        changed: &str,
        receipt: Option<&Receipt>,
    ) -> Result<(), StateError>;
}
