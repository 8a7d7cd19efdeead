//! A run: the top layer, above the strategies and committer (`crate::sync`), the outputs
//! (`crate::output`) and the state (`crate::state`). `export`, `sync` and Airbyte `read` are
//! the same run ([`run_with`], `run_loop.rs`) on different [`Destination`]s with different
//! [`Plan`]s and [`Observer`]s.
//!
//! - [`Destination`] (`destination.rs`): what `--out` (parsed once into a
//!   [`Location`](crate::location::Location) in the settings; [`run`] dispatches on it) or
//!   Airbyte's stdout resolves into: the lock or lease, the state, the output, the id store,
//!   the checkpoint. [`FilesDestination`] (`files.rs`) and [`StoreDestination`] (`store.rs`)
//!   here differ only in what is not the output protocol (lock files vs the lease, a state file
//!   with its id sets beside it vs a state object with a scratch copy of them); both open the
//!   output with `crate::output::open_output`. Airbyte's is in `crate::airbyte`.
//! - [`Plan`], [`ReadMode`] (`plan.rs`): the streams and how each is read.
//! - checks (`checks.rs`): a collection and its index, before anything is read; shared with
//!   Airbyte `check` and `discover`.
//! - [`client`] (`client.rs`): the one constructor of a Fauna client from the settings.
//! - [`DatabaseClients`], [`databases`] (`databases.rs`): the databases of a run over a tree
//!   and one client for each (`spec/trees.md`).
//! - `prepare.rs`: each stream's state entry before it is read; `reading.rs`: one stream's read
//!   within the run; `estimate.rs`: the expected total of a full read.

mod checks;
mod client;
mod columns;
mod databases;
mod destination;
mod estimate;
mod files;
mod gone;
mod plan;
mod prepare;
mod reading;
mod run_loop;
mod store;

pub use checks::{
    check_collection, collection, configured_index, does_not_exist, sync_index, CollectionProblem,
    IndexProblem,
};
pub use client::{client, client_in, Use, COUNT_BUDGET};
pub use databases::{databases, scope, DatabaseClients};
pub use destination::{Begun, Destination, OpenOutput, Resumed};
pub use files::{lock_paths, FilesDestination};
pub use plan::{Mode, Pinned, Plan, ReadMode, StreamPlan};
pub use prepare::schema_fingerprint;
pub use run_loop::run_with;
pub use store::StoreDestination;

use crate::config::{OutputFormat, Settings};
use crate::location::Location;
use crate::sink::FileFormat;
use crate::sync::{ExportError, Observer, Summary};

/// The sink's file format for the settings.
pub fn file_format(settings: &Settings) -> FileFormat {
    match settings.output.format {
        OutputFormat::Parquet => FileFormat::Parquet,
        OutputFormat::Jsonl => FileFormat::Jsonl {
            compression: settings.output.compression,
        },
    }
}

/// Runs (or resumes) an export or a sync of every configured collection into `--out`: a local
/// directory, or an object store (parsed once, in the settings).
pub async fn run(
    settings: &Settings,
    observer: &dyn Observer,
    mode: Mode,
) -> Result<Summary, ExportError> {
    run_plan(settings, observer, &Plan::of(mode)).await
}

/// Runs (or resumes) `plan` into `--out` (a directory or an object store, resolved once in
/// the settings).
pub async fn run_plan(
    settings: &Settings,
    observer: &dyn Observer,
    plan: &Plan,
) -> Result<Summary, ExportError> {
    let format = file_format(settings);
    match &settings.output.out {
        Location::Store(url) => {
            let destination = StoreDestination::new(url.clone(), settings, format);
            run_with(settings, plan, destination, observer).await
        }
        Location::Dir(dir) => {
            let destination = FilesDestination::new(dir, settings, format);
            run_with(settings, plan, destination, observer).await
        }
    }
}

/// Runs (or resumes) a full export of every configured collection.
pub async fn run_export(
    settings: &Settings,
    observer: &dyn Observer,
) -> Result<Summary, ExportError> {
    run(settings, observer, Mode::Export).await
}
