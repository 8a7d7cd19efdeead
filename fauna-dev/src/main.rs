//! `fauna-dev`: see `fauna-dev --help` and `fauna-dev/README.md`.

fn main() -> anyhow::Result<()> {
    fauna_dev::server::cli::main()
}
