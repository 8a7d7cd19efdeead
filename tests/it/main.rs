//! Integration tests of fauna-sync's public API, one module per layer.

mod adaptive_paging;
mod bad_input;
mod config_cli;
mod export;
mod fault_storm;
mod fuzz_seeds;
mod integrity;
mod interruptions;
mod load_pg;
mod moved_windows;
mod object_store;
mod partitions;
mod privilege;
mod readers;
mod secrets;
mod short_retention;
mod sink;
mod state_files;
mod stream_failures;
mod support;
mod sync;
mod sync_random;
mod torture;
