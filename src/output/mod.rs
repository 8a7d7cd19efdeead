//! Outputs and checkpoints: where committed batches and the state go.
//!
//! An [`Output`] writes a batch of records as they arrive ([`Batch`]), then makes it durable
//! and visible and hands back a [`Receipt`]; a [`Checkpoint`] makes the state durable after the output committed. Only the committer
//! (`crate::sync`) calls them, in that order, so a crash between the two leaves a batch the
//! state does not record, which the output removes on the next start. Implementations: batch
//! files in a directory ([`FilesOutput`]) with the state file ([`StateFile`]); the same
//! layout in an object store ([`ObjectOutput`]) with the state object beside it
//! ([`ObjectState`]), one run at a time by a [`Lease`] ([`StoreRun`] opens them).

mod checks;
mod error;
mod files;
mod lease;
mod object_ids;
mod object_state;
mod object_store_output;
mod owner;
mod state_file;
mod store_error;
mod store_run;
mod store_url;
mod verify;

pub use checks::Rewound;
pub use error::OutputError;
pub use files::{FilesOutput, Opened};
pub use lease::{Lease, LEASE_FILE, LEASE_TTL};
pub use object_ids::{CheckpointWithIds, ObjectIdSets};
pub use object_state::{ObjectState, STATE_OBJECT};
pub use object_store_output::{ObjectOutput, MULTIPART_BYTES};
pub use owner::{new_output_id, OwnerRecord, OWNER_FILE};
pub use state_file::StateFile;
pub use store_error::StoreProblem;
pub use store_run::{ReleaseGuard, StoreRun};
pub use store_url::{local_path, Cloud, StoreUrl};
pub use verify::{verify_output, verify_store, Problem, VerifyReport};

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
    fn publish(&mut self, sealed: Sealed) -> Result<Receipt, OutputError>;
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
pub trait Checkpoint: Send {
    /// Makes `state` durable. `changed` names the stream whose entry changed and `receipt`
    /// the batch that changed it, if any (a protocol checkpoint reports per stream).
    fn save(
        &mut self,
        state: &State,
        changed: &str,
        receipt: Option<&Receipt>,
    ) -> Result<(), StateError>;
}
