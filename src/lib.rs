//! fauna-sync: exports Fauna collections to JSONL and Parquet, fully or incrementally, with
//! checkpointed exactly-once resume, to a directory or an object store, and as an Airbyte source.
//!
//! Data flows one way: Fauna pages ([`fauna`]) → readers ([`read`]) → export records
//! ([`export`]) → strategies and the one committer ([`sync`]) → outputs ([`output`], [`sink`])
//! and the checkpointed [`state`]. Layers, top to bottom (`spec/architecture.md`):
//!
//! - the modes: [`cli`] (`export`, `sync`, `verify`, `demo`; `console`, their run on the
//!   terminal, with [`progress`] and [`step_summary`]) and [`airbyte`] (`spec`, `check`,
//!   `discover`, `read`);
//! - [`run`]: the one run of `export`, `sync` and Airbyte `read` — the destination `--out` (or
//!   Airbyte's stdout) resolves into, the checks, the loop;
//! - [`scale`]: scale-out — `plan`, one shard's run, `finalize` — above [`run`];
//! - [`sync`]: the strategies (a pinned snapshot; scan, catch-up and reconciliation; sync
//!   windows — one type each), partitioned reads, the committer, the run's observer and
//!   summary;
//! - [`output`] and [`sink`]: batch files, manifests and checkpoints — the backend protocol
//!   written once over a storage trait with a local-directory and an object-store
//!   implementation;
//! - [`state`]: the checkpoint state, and each strategy's position type read from it;
//!   [`id_set`]: the ids an output holds;
//! - [`read`]: readers and what the database holds; [`export`]: records; [`schema`]: typed
//!   columns (not wired yet);
//! - [`fauna`]: the client; [`config`]: settings (and the column types they declare), with
//!   `--out` parsed once into a [`location`]; [`durable`], [`lock`], [`error`].
// Nothing from outside (config, network, files, state) may panic: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod airbyte;
pub mod cli;
pub mod config;
mod console;
mod crash;
#[cfg(feature = "demo")]
pub mod demo;
pub mod durable;
pub mod error;
pub mod export;
pub mod fauna;
pub mod id_set;
pub mod load;
pub mod location;
pub mod lock;
pub mod output;
pub mod progress;
pub mod read;
pub mod run;
pub mod scale;
pub mod schema;
pub mod sink;
pub mod state;
pub mod step_summary;
pub mod sync;
pub mod tree;
