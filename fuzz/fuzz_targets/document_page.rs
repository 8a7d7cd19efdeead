//! Fuzz target `document_page`: see `fauna_sync_fuzz::document_page` (fuzz/src/lib.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fauna_sync_fuzz::document_page(data));
