//! Outputs and checkpoints: where committed batches and the state go.
//!
//! An [`Output`] makes one batch of records durable and hands back a [`Receipt`]; a
//! [`Checkpoint`] makes the state durable after the output committed. Only the committer
//! (`crate::sync`) calls them, in that order, so a crash between the two leaves a batch the
//! state does not record, which the output removes on the next start. Implementations: batch
//! files in a directory ([`FilesOutput`]) with the state file ([`StateFile`]); the same
//! layout in an object store ([`ObjectOutput`]) with the state object beside it
//! ([`ObjectState`]), one run at a time by a [`Lease`] ([`StoreRun`] opens them).

mod error;
mod files;
mod lease;
mod object_ids;
mod object_state;
mod object_store_output;
mod owner;
mod state_file;
mod store_run;
mod store_url;
mod verify;

pub use error::OutputError;
pub use files::{FilesOutput, Opened};
pub use lease::{Lease, LEASE_FILE, LEASE_TTL};
pub use object_ids::{CheckpointWithIds, ObjectIdSets};
pub use object_state::{ObjectState, STATE_OBJECT};
pub use object_store_output::{ObjectOutput, MULTIPART_BYTES};
pub use owner::{OwnerRecord, OWNER_FILE};
pub use state_file::StateFile;
pub use store_run::{ReleaseGuard, StoreRun};
pub use store_url::{local_path, Cloud, StoreUrl};
pub use verify::{verify_output, verify_store, Problem, VerifyReport};

use crate::export::{Record, RecordSchema};
use crate::sync::{State, StateError};

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

/// A destination for committed batches.
pub trait Output: Send {
    /// Commits `records` (non-empty) as batch `seq` of `stream`, durably, and returns the
    /// receipt. Redoing the same `seq` after a crash replaces what the crash left.
    fn commit(
        &mut self,
        stream: &str,
        seq: u64,
        schema: &RecordSchema,
        records: &[Record],
    ) -> Result<Receipt, OutputError>;
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
