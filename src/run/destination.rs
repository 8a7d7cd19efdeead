//! Where a run's records and state go. `--out` (a directory, or an object-store URL) and
//! Airbyte's stdout each resolve once into a [`Destination`], which opens everything the run
//! needs, in the order the run asks: the lock or lease ([`lock`](Destination::lock)), the state
//! it resumes from ([`resume`](Destination::resume)), the output
//! ([`open_output`](Destination::open_output)), then the id store and the checkpoint the
//! committer takes ([`begin`](Destination::begin)); [`release`](Destination::release) lets go
//! of the lock or lease however the run ends. Implementations: [`super::FilesDestination`],
//! [`super::StoreDestination`], and Airbyte `read`'s (`crate::airbyte`).

use std::future::Future;
use std::path::PathBuf;

use crate::id_set::IdStore;
use crate::output::{Checkpoint, Output};
use crate::state::State;
use crate::sync::ExportError;

/// The state a run resumes from.
#[derive(Debug, Default)]
pub struct Resumed {
    /// The state (each stream's entry, if it has one).
    pub state: State,
    /// Streams whose given state was refused, and why: each fails, the others are read.
    pub refused: Vec<(String, ExportError)>,
}

/// An opened output.
pub struct OpenOutput {
    /// Where batches go.
    pub output: Box<dyn Output>,
    /// Files an interrupted run left behind, removed.
    pub removed: Vec<PathBuf>,
}

/// What the committer takes once the streams are prepared.
pub struct Begun {
    /// Where the streams' id sets live.
    pub ids: IdStore,
    /// Where the state goes after every commit.
    pub checkpoint: Box<dyn Checkpoint>,
}

/// A destination of a run's records and state.
pub trait Destination: Send {
    /// The format name a new stream's state records (`jsonl`, `parquet`, …; Airbyte:
    /// `airbyte`).
    fn format(&self) -> &'static str;

    /// Whether what the output holds fixes each stream's format and record schema, so a run
    /// that asks for others is refused (files: one schema per stream's files). Airbyte's
    /// destinations follow the catalog instead.
    fn fixes_schema(&self) -> bool {
        true
    }

    /// The most records per batch, given the configured number (Airbyte checkpoints often).
    fn batch_rows(&self, configured: u64) -> u64 {
        configured
    }

    /// Takes the lock or the lease: fails at once when another run holds it.
    fn lock(&mut self) -> impl Future<Output = Result<(), ExportError>> + Send;

    /// The state the run resumes from; `now` is the server's time as the run began.
    fn resume(&mut self, now: i64) -> impl Future<Output = Result<Resumed, ExportError>> + Send;

    /// Opens the output for `streams` (ownership, damage, leftovers); records the output's id
    /// and committed length in `state`.
    fn open_output(
        &mut self,
        state: &mut State,
        streams: &[String],
    ) -> impl Future<Output = Result<OpenOutput, ExportError>> + Send;

    /// Saves `state` as the run begins reading and hands over the id store and checkpoint.
    fn begin(&mut self, state: &State) -> impl Future<Output = Result<Begun, ExportError>> + Send;

    /// Lets go of the lock or lease (and any scratch space).
    fn release(&mut self) -> impl Future<Output = ()> + Send;
}
