//! The command-line arguments of `spec`, `check`, `discover` and `read` (the `Command` variants
//! in `crate::cli` hold these) and the entry points that run them on stdout. The Python CDK's
//! `--debug` and other connectors' extra flags are accepted and ignored.

use std::io::stdout;
use std::path::PathBuf;

use clap::Args;

use super::commands::{check_command, discover_command, read_command, spec_command};
use super::protocol::MessageWriter;

/// `fauna-sync spec`.
#[derive(Debug, Args)]
pub struct SpecArgs {
    /// The Python CDK's `--debug`: accepted and ignored (use -v for more logs).
    #[arg(long, hide = true)]
    pub debug: bool,
    /// Flags of other Airbyte connectors (`--manifest-path …`): accepted and ignored.
    #[arg(hide = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub ignored: Vec<String>,
}

/// `fauna-sync check|discover`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The source config (JSON).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The Python CDK's `--debug`: accepted and ignored (use -v for more logs).
    #[arg(long, hide = true)]
    pub debug: bool,
    /// Flags of other Airbyte connectors (`--manifest-path …`): accepted and ignored.
    #[arg(hide = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub ignored: Vec<String>,
}

/// `fauna-sync read`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// The source config (JSON).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The configured catalog (JSON).
    #[arg(long, value_name = "FILE")]
    pub catalog: PathBuf,
    /// The input state (JSON), if any.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// The Python CDK's `--debug`: accepted and ignored (use -v for more logs).
    #[arg(long, hide = true)]
    pub debug: bool,
    /// Flags of other Airbyte connectors (`--manifest-path …`): accepted and ignored.
    #[arg(hide = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub ignored: Vec<String>,
}

/// Runs `spec`; returns the exit code.
pub fn run_spec(_: SpecArgs) -> i32 {
    spec_command(&mut MessageWriter::new(stdout()))
}

/// Runs `check`; returns the exit code (always 0 unless stdout fails).
pub async fn run_check(args: ConfigArgs) -> i32 {
    check_command(&args.config, &mut MessageWriter::new(stdout())).await
}

/// Runs `discover`; returns the exit code.
pub async fn run_discover(args: ConfigArgs) -> i32 {
    discover_command(&args.config, &mut MessageWriter::new(stdout())).await
}

/// Runs `read`; returns the exit code.
pub async fn run_read(args: ReadArgs) -> i32 {
    // Buffered: a batch's RECORDs are written with one flush (every other message flushes).
    let out = MessageWriter::new(std::io::BufWriter::with_capacity(64 << 10, stdout()));
    read_command(&args.config, &args.catalog, args.state.as_deref(), out).await
}
