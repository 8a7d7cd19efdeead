//! Fuzz target `config`: see `fauna_sync_fuzz::config` (fuzz/src/lib.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fauna_sync_fuzz::config(data));
