//! Outputs and checkpoints: where committed batches and the state go.
//!
//! An [`Output`] makes one batch of records durable and hands back a [`Receipt`]; a
//! [`Checkpoint`] makes the state durable after the output committed. Only the committer
//! (`crate::sync`) calls them, in that order, so a crash between the two leaves a batch the
//! state does not record, which the output removes on the next start. Implementations: batch
//! files in a directory ([`FilesOutput`]) with the state file ([`StateFile`]); the Airbyte
//! stdout writer and object stores come next.

mod error;
mod files;
mod owner;
mod state_file;
mod verify;

pub use error::OutputError;
pub use files::FilesOutput;
pub use owner::{OwnerRecord, OWNER_FILE};
pub use state_file::StateFile;
pub use verify::{verify_output, Problem, VerifyReport};

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
