//! `fauna-sync load --out <output> --into postgres://…`: applies an export or sync output to
//! PostgreSQL tables, exactly once per file, newest version wins (`docs/loading.md`).
//!
//! - [`target`]: the connection (URL, service file, `PG*` variables, `.pgpass`, TLS);
//! - [`source`]: the output, read-only (local or object store): state, manifest, files;
//! - [`table`]: a stream's record schema → its table's columns; create, check, grow;
//! - [`copy`]: batch files → binary `COPY` rows for the staging table;
//! - [`merge`]: staging table → table, version-guarded, set-based;
//! - [`bookkeeping`]: `_fauna_sync_loads`, `_fauna_sync_tables`, `_fauna_sync_tombstones`,
//!   the advisory lock;
//! - [`foreign_keys`]: `--foreign-key` from refs;
//! - [`loader`]: the loop; [`summary`]: what it did, printed and for the job summary.

pub mod bookkeeping;
pub mod copy;
pub mod error;
pub mod foreign_keys;
pub mod loader;
pub mod merge;
pub mod source;
mod sql;
pub mod summary;
pub mod table;
pub mod target;

use std::path::PathBuf;

use clap::Args;

pub use error::LoadError;
pub use loader::{Options, Report, StreamReport};
pub use table::Mode;

use crate::error::ErrorKind;

/// `fauna-sync load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The output to load: a directory, file:///dir, s3://…, gs://…, az://… (as written by
    /// export or sync).
    #[arg(long, value_name = "OUTPUT")]
    pub out: PathBuf,
    /// The target: postgres://user@host:port/database?sslmode=… (the password from
    /// PGPASSWORD, a service file or ~/.pgpass rather than the URL).
    #[arg(long, value_name = "URL")]
    pub into: String,
    /// The schema of the tables (created if missing).
    #[arg(long, default_value = "public", value_name = "NAME")]
    pub schema: String,
    /// hard: a deleted document's row is deleted; soft: it stays with its deletion time.
    #[arg(long, default_value = "hard", value_parser = ["hard", "soft"])]
    pub mode: String,
    /// Load only this collection (repeatable); default every stream of the output.
    #[arg(long = "collection", value_name = "NAME")]
    pub collections: Vec<String>,
    /// Declare a foreign key from a ref after the load, e.g. 'orders.data.customer ->
    /// customers' (repeatable; NOT VALID unless --validate-foreign-keys).
    #[arg(long = "foreign-key", value_name = "SPEC")]
    pub foreign_keys: Vec<String>,
    /// Validate the declared foreign keys (a dangling ref leaves the key NOT VALID and says so).
    #[arg(long)]
    pub validate_foreign_keys: bool,
    /// The output's state when it is not <out>/_state.json.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// How long to wait for another load into the same schema to finish before giving up
    /// (exit 75); also covers the server noticing a killed load's vanished session.
    #[arg(long, default_value = "30", value_name = "SECONDS")]
    pub lock_wait: u64,
}

/// Runs `fauna-sync load`; returns the exit code.
pub async fn run(args: LoadArgs) -> i32 {
    match run_inner(&args).await {
        Ok(code) => code,
        Err(e) => {
            let kind = e.kind();
            eprintln!("error: {e}");
            eprintln!("{}", advice(kind));
            crate::step_summary::append_markdown_from_env(&summary::failed_markdown(
                &args.out.display().to_string(),
                &e.to_string(),
                kind,
            ));
            kind.exit_code()
        }
    }
}

async fn run_inner(args: &LoadArgs) -> Result<i32, LoadError> {
    let options = options(args)?;
    let target = target::Target::from_url(&args.into)?;
    let source = source::Source::open(&args.out, args.state.as_deref()).await?;
    let mut client = target.connect().await?;
    let mut report = Report::default();
    // Biased: an interruption is looked at first on every wake, so a file whose transaction
    // is still open when SIGINT/SIGTERM arrives is rolled back rather than raced to its
    // commit (an unbiased select picks a ready branch at random at each of its awaits).
    let result = tokio::select! {
        biased;
        _ = interrupted() => None,
        r = loader::load(&mut client, target.redacted(), &source, &options, &mut report) => Some(r),
    };
    let shown = format!("{} schema {}", target.redacted(), options.schema);
    match result {
        None => {
            summary::print(&report, &source.shown, &shown);
            eprintln!("interrupted: every committed file stays loaded; run the same command again to continue.");
            crate::step_summary::append_markdown_from_env(&summary::failed_markdown(
                &source.shown,
                "interrupted",
                ErrorKind::Interrupted,
            ));
            Ok(ErrorKind::Interrupted.exit_code())
        }
        Some(Err(e)) => {
            summary::print(&report, &source.shown, &shown);
            Err(e)
        }
        Some(Ok(())) => {
            summary::print(&report, &source.shown, &shown);
            crate::step_summary::append_markdown_from_env(&summary::markdown(
                &report,
                &source.shown,
                &shown,
            ));
            match report.failure() {
                Some(kind) => {
                    eprintln!("{}", advice(kind));
                    Ok(kind.exit_code())
                }
                None => Ok(0),
            }
        }
    }
}

fn options(args: &LoadArgs) -> Result<Options, LoadError> {
    if args.schema.is_empty() || args.schema.len() > table::MAX_IDENT_BYTES {
        return Err(LoadError::Usage(format!(
            "--schema {:?}: a PostgreSQL schema name of 1 to {} bytes",
            args.schema,
            table::MAX_IDENT_BYTES
        )));
    }
    let foreign_keys = args
        .foreign_keys
        .iter()
        .map(|s| foreign_keys::ForeignKey::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(LoadError::Usage)?;
    Ok(Options {
        schema: args.schema.clone(),
        mode: if args.mode == "soft" {
            Mode::Soft
        } else {
            Mode::Hard
        },
        streams: args.collections.clone(),
        foreign_keys,
        validate_foreign_keys: args.validate_foreign_keys,
        lock_wait: std::time::Duration::from_secs(args.lock_wait),
    })
}

/// What to do after a failure of this kind.
fn advice(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Config => "Fix the command line, the URL or the output named above; nothing was loaded by this run.",
        ErrorKind::Auth => "Use the right user and password (PGPASSWORD, a service file or ~/.pgpass); nothing was loaded by this run.",
        ErrorKind::Permission => "Grant the PostgreSQL role the privilege named above (or load as the tables' owner); every file loaded before stays loaded.",
        ErrorKind::Transient | ErrorKind::Output | ErrorKind::Interrupted => {
            "Every file loaded before stays loaded; run the same command again to continue."
        }
        ErrorKind::Data => "Fix the file or the output named above; every file loaded before stays loaded, and a re-run continues with the failing file.",
        ErrorKind::State => "The table or the output is not as fauna-sync left it (see above); every file loaded before stays loaded.",
        ErrorKind::Locked => "Nothing was changed.",
        ErrorKind::SchemaFrozen => "Nothing of the batch was committed; what was committed before stays valid. Set the contract to evolve (or discard_row/discard_value) to accept the change, or fix the documents, then run again.",
    }
}

/// Waits for SIGINT or SIGTERM.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
