//! Integration tests of fauna-sync's public API, one module per layer.

mod config_cli;
mod export;
mod interruptions;
mod short_retention;
mod sink;
mod support;
