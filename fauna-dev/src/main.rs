//! `fauna-dev`: see `fauna-dev --help` and `fauna-dev/README.md`.

/// mimalloc, as in fauna-sync: each query builds and frees many small values.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    fauna_dev::server::cli::main()
}
