//! A run: the top layer, above the strategies and committer (`crate::sync`), the outputs
//! (`crate::output`) and the state (`crate::state`). `export`, `sync` and Airbyte `read` are
//! the same run ([`run_with`], `run_loop.rs`) on different [`Destination`]s with different
//! [`Plan`]s and [`Observer`]s.
//!
//! - [`Destination`] (`destination.rs`): what `--out` (or Airbyte's stdout) resolves into once:
//!   the lock or lease, the state, the output, the id store, the checkpoint.
//!   [`FilesDestination`] (`files.rs`) and [`StoreDestination`] (`store.rs`) here; Airbyte's
//!   in `crate::airbyte`.
//! - [`Plan`], [`ReadMode`] (`plan.rs`): the streams and how each is read.
//! - checks (`checks.rs`): a collection and its index, before anything is read; shared with
//!   Airbyte `check` and `discover`.
//! - [`client`] (`client.rs`): the one constructor of a Fauna client from the settings.
//! - `prepare.rs`: each stream's state entry before it is read; `reading.rs`: one stream's read
//!   within the run; `estimate.rs`: the expected total of a full read.

mod checks;
mod client;
mod columns;
mod destination;
mod estimate;
mod files;
mod plan;
mod prepare;
mod reading;
mod run_loop;
mod store;

pub use checks::{
    check_collection, collection, configured_index, does_not_exist, sync_index, CollectionProblem,
    IndexProblem,
};
pub use client::{client, Use, COUNT_BUDGET};
pub use destination::{Begun, Destination, OpenOutput, Resumed};
pub use files::{lock_paths, FilesDestination};
pub use plan::{Mode, Plan, ReadMode, StreamPlan};
pub use prepare::schema_fingerprint;
pub use run_loop::run_with;
pub use store::StoreDestination;

use crate::config::{OutputFormat, Settings};
use crate::output::StoreUrl;
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
/// directory, or an object store when it is a URL (resolved here, once).
pub async fn run(
    settings: &Settings,
    observer: &dyn Observer,
    mode: Mode,
) -> Result<Summary, ExportError> {
    let plan = Plan::of(mode);
    let format = file_format(settings);
    match StoreUrl::parse(&settings.output.dir)? {
        Some(url) => {
            let destination = StoreDestination::new(url, settings, format);
            run_with(settings, &plan, destination, observer).await
        }
        None => {
            let destination = FilesDestination::new(settings, format);
            run_with(settings, &plan, destination, observer).await
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
