//! Scale-out on existing engines (`spec/scale-out.md`): one snapshot, many machines, one
//! output, with no scheduler of fauna-sync's own — a Kubernetes Indexed Job, a CI matrix or
//! any runner that starts N processes with an index.
//!
//! - [`make_plan`] (`fauna-sync plan`, `make.rs`): pins T, splits each collection into
//!   ranges of ids that exist at T and deals them to the shards; [`ScalePlan`]
//!   (`plan_file.rs`) is `plan.json`.
//! - [`shard_run`] (`export --plan --shard i/n`, `shard.rs`): one shard's run, into
//!   `<out>/_shards.d/<i>/`, every page at T.
//! - [`finalize`] (`finalize.rs`): checks the shards and joins them into one output whose
//!   state `sync` continues from T.

mod error;
mod finalize;
mod make;
mod place;
mod plan_file;
mod shard;

pub use error::ScaleError;
pub use finalize::{finalize, Joined};
pub use make::{make_plan, micros_text, PlanShape};
pub use place::{read_file, write_file, Place};
pub use plan_file::{output_settings, PlannedCollection, PlannedRange, ScalePlan, PLAN_VERSION};
pub use shard::{shard_dir, shard_rel, shard_run, ShardRecord, ShardSpec, SHARDS_DIR, SHARD_FILE};
