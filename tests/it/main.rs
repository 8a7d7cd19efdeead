//! Integration tests of fauna-sync's public API, one module per layer.

mod adaptive_paging;
mod bad_input;
mod cli;
mod config_cli;
mod export;
mod fault_storm;
mod fuzz_seeds;
mod indexes;
mod integrity;
mod interruptions;
mod moved_windows;
mod object_store;
mod output_checks;
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
mod ttl_expiry;
