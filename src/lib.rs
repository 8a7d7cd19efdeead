//! fauna-sync: exports Fauna collections to JSONL and Parquet, fully or incrementally, with
//! checkpointed resume.
//!
//! Data flows one way: Fauna pages ([`fauna`]) → typed values → export records ([`export`]) →
//! sinks → committed state.

pub mod airbyte;
pub mod cli;
pub mod config;
mod crash;
#[cfg(feature = "demo")]
pub mod demo;
pub mod durable;
pub mod error;
pub mod export;
pub mod fauna;
pub mod id_set;
pub mod load;
pub mod lock;
pub mod output;
pub mod progress;
pub mod read;
pub mod schema;
pub mod sink;
pub mod step_summary;
pub mod sync;
