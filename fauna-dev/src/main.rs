//! `fauna-dev`: see `fauna-dev --help` and `fauna-dev/README.md`.
// Nothing from outside (config, network, files, state) may panic: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

/// mimalloc, as in fauna-sync: each query builds and frees many small values.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    fauna_dev::server::cli::main()
}
