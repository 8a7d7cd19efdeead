//! Integration tests of fauna-sync's public API, one module per layer.

mod export;
mod integrity;
mod interruptions;
mod short_retention;
mod sink;
mod support;
