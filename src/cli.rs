//! The command line: `export`, `sync` (both the run of [`crate::run`], into the directory or
//! object store `--out` names, with progress on stderr and a closing summary), `verify`, `demo`,
//! and the Airbyte commands (`spec`, `check`, `discover`, `read`: [`crate::airbyte`]).
//!
//! Exit codes (derived from [`ErrorKind`]): 0 success; 1 the run failed (Fauna, network,
//! output, state or data error — what was committed stays valid); 2 invalid command line or
//! configuration (nothing was contacted or written); 75 another run holds the output's lock;
//! 130 interrupted (SIGINT or SIGTERM; a re-run resumes). Human-readable output goes to
//! stderr, so stdout stays free for protocol messages.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{Overrides, Settings};
use crate::error::ErrorKind;
use crate::fauna::Secret;
use crate::output::{local_path, verify_output, verify_store, StoreUrl, VerifyReport};
use crate::progress::Progress;
use crate::run::{run, Mode};
use crate::state::State;
use crate::step_summary::{self, Outcome};
use crate::sync::{ExportError, Summary};

/// Exports Fauna collections to JSONL or Parquet batch files with checkpointed resume.
#[derive(Debug, Parser)]
#[command(
    name = "fauna-sync",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 success; 1 the run failed (committed output stays valid); 2 invalid command line or configuration; 75 another run holds the output's lock; 130 interrupted (SIGINT/SIGTERM; run again to resume)."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Log more (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// One-off full export of collections at one snapshot; re-run the same command to resume.
    Export(ExportArgs),
    /// Scheduled incremental sync: the first run exports each collection fully at one time T,
    /// every later run reads what changed (and, with deletions tracked, what was deleted)
    /// since the previous run through the collection's [ts, ref] index. Idempotent; safe to
    /// re-run after any failure. See spec/sync.md.
    Sync(SyncArgs),
    /// Checks an output against its manifest: every committed file present with its size and
    /// SHA-256, and no unlisted batch file. Exit 0 when intact, 1 with the list of problems.
    Verify(VerifyArgs),
    /// Applies an output's files to PostgreSQL tables, each file once, the newest version of
    /// each document winning (docs/loading.md).
    Load(crate::load::LoadArgs),
    /// Starts an in-process fauna-dev seeded with the demo dataset and exports it to
    /// Parquet and JSONL under ./demo-out.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// Airbyte source: print the connector specification (docs/airbyte.md).
    Spec(crate::airbyte::SpecArgs),
    /// Airbyte source: validate the config, connect, check collections and indexes.
    Check(crate::airbyte::ConfigArgs),
    /// Airbyte source: print the catalog of streams.
    Discover(crate::airbyte::ConfigArgs),
    /// Airbyte source: read the configured streams as Airbyte messages.
    Read(crate::airbyte::ReadArgs),
}

/// `fauna-sync sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Everything `export` takes.
    #[command(flatten)]
    pub export: ExportArgs,
    /// Stop cleanly at the first batch boundary after this long (e.g. 50m, 90s, 2h) and exit
    /// 0 saying there is more to do; the next run continues. Keeps CI job limits from killing
    /// a run mid-batch.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_duration: Option<Duration>,
}

/// `90s`, `50m`, `2h` or a number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration like 90s, 50m or 2h"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("'{text}': use the unit s, m or h (e.g. 50m)")),
    };
    if secs == 0 {
        return Err("the duration must be positive".into());
    }
    Ok(Duration::from_secs(secs))
}

/// `fauna-sync verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The output root to check: a directory, or an s3://, gs://, az://, abfss:// or file://
    /// URL as `export --out` takes.
    #[arg(long, value_name = "DIR|URL")]
    pub out: PathBuf,
    /// The state file that owns the output (default <out>/_state.json): only the manifest
    /// lines it records as committed are checked.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

/// `fauna-sync export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// JSON configuration file (the Airbyte source-fauna config works unchanged);
    /// see spec/config.schema.json.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Fauna endpoint URL, e.g. http://127.0.0.1:8443 (overrides domain/port/scheme).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The Fauna secret (prefer the FAUNA_SECRET environment variable).
    #[arg(
        long,
        env = "FAUNA_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub secret: Option<String>,
    /// A collection to export (repeatable). Default: the configured ones, else every
    /// collection the key can read.
    #[arg(long = "collection", value_name = "NAME")]
    pub collections: Vec<String>,
    /// Output format [default: jsonl].
    #[arg(long, value_parser = ["jsonl", "parquet"])]
    pub format: Option<String>,
    /// Output root: a directory, or an object store URL: s3://bucket/prefix (S3 and
    /// S3-compatible, AWS_ENDPOINT_URL), gs://bucket/prefix, az://container/prefix (or
    /// abfss://container@account.dfs.core.windows.net/prefix), file:///dir; credentials from
    /// each cloud's usual environment variables [default: fauna-export].
    #[arg(long, value_name = "DIR|URL")]
    pub out: Option<PathBuf>,
    /// Documents per page (1..=100000) [default: 1000]: the first page's size; later pages
    /// grow while responses are fast and small, and shrink on timeouts.
    #[arg(long, value_name = "N")]
    pub page_size: Option<u32>,
    /// Partitions of a collection read at once (1..=64) [default: 4].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<u32>,
    /// Ask for exactly the page size in every page instead of adapting it.
    #[arg(long)]
    pub fixed_page_size: bool,
    /// Rows per batch file [default: 100000].
    #[arg(long, value_name = "N")]
    pub batch_rows: Option<u64>,
    /// Also close a batch file once its records reach this many bytes as uncompressed JSONL.
    #[arg(long, value_name = "BYTES")]
    pub batch_bytes: Option<u64>,
    /// JSONL compression (Parquet is always zstd) [default: none].
    #[arg(long, value_parser = ["none", "gzip", "zstd"])]
    pub compression: Option<String>,
    /// Typed columns from the wire's types beside `data`, or the `data` JSON column only
    /// [default: typed for new outputs; an existing output keeps the mode it was written in].
    #[arg(long, value_parser = ["typed", "json"])]
    pub columns: Option<String>,
    /// What a batch that would change the typed columns does [default: evolve].
    #[arg(long, value_parser = ["evolve", "freeze", "discard_row", "discard_value"])]
    pub contract: Option<String>,
    /// Checkpoint state file (default <out>/_state.json).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Check the SHA-256 of every committed file before resuming (presence and size are
    /// always checked).
    #[arg(long)]
    pub verify: bool,
    /// Allow plain http:// to a host other than this machine (the secret then crosses the
    /// network unencrypted).
    #[arg(long)]
    pub allow_insecure_http: bool,
}

/// `fauna-sync demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the demo output.
    #[arg(long, default_value = "demo-out", value_name = "DIR")]
    pub out: PathBuf,
    /// A dataset folder to seed fauna-dev with (spec/fauna-dev-dataset.md) instead of the
    /// built-in demo dataset.
    #[arg(long, value_name = "DIR")]
    pub dataset: Option<PathBuf>,
}

/// Runs the command line; returns the process exit code.
pub async fn main(cli: Cli) -> i32 {
    match cli.command {
        Command::Export(args) => match settings(args) {
            Ok(settings) => export(&settings).await,
            Err(code) => code,
        },
        Command::Sync(args) => match settings(args.export) {
            Ok(settings) => {
                run_with_progress(
                    &settings,
                    Mode::Sync {
                        max_duration: args.max_duration,
                    },
                )
                .await
            }
            Err(code) => code,
        },
        Command::Verify(args) => match StoreUrl::parse(&args.out) {
            Ok(Some(url)) => verify_url(&url, args.state.as_deref()).await,
            Ok(None) => verify(&VerifyArgs {
                out: local_path(&args.out),
                state: args.state.map(|s| local_path(&s)),
            }),
            Err(e) => {
                eprintln!("error: {e}");
                e.kind().exit_code()
            }
        },
        Command::Load(args) => crate::load::run(args).await,
        #[cfg(feature = "demo")]
        Command::Demo(args) => crate::demo::run(args).await,
        Command::Spec(args) => crate::airbyte::run_spec(args),
        Command::Check(args) => crate::airbyte::run_check(args).await,
        Command::Discover(args) => crate::airbyte::run_discover(args).await,
        Command::Read(args) => crate::airbyte::run_read(args).await,
    }
}

/// The settings of `export`/`sync`, or the exit code of a configuration error (printed).
fn settings(args: ExportArgs) -> Result<Settings, i32> {
    {
        {
            let overrides = Overrides {
                secret: args.secret.map(Secret::new),
                endpoint: args.endpoint,
                collections: args.collections,
                format: args.format,
                out: args.out.map(|o| local_path(&o)),
                page_size: args.page_size,
                concurrency: args.concurrency,
                fixed_page_size: args.fixed_page_size,
                batch_rows: args.batch_rows,
                batch_bytes: args.batch_bytes,
                compression: args.compression,
                columns: args.columns,
                contract: args.contract,
                state: args.state.map(|s| local_path(&s)),
                verify: args.verify,
                allow_insecure_http: args.allow_insecure_http,
            };
            Settings::load(args.config.as_deref(), overrides).map_err(|e| {
                eprintln!("error: {e}");
                ErrorKind::Config.exit_code()
            })
        }
    }
}

/// `fauna-sync verify`; returns the exit code.
fn verify(args: &VerifyArgs) -> i32 {
    if args.out.exists() && !args.out.is_dir() {
        eprintln!(
            "error: --out {} is not a directory; name an output root",
            args.out.display()
        );
        return ErrorKind::Config.exit_code();
    }
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| args.out.join("_state.json"));
    let state = match State::load(&state_path) {
        Ok(s) if state_path.exists() && !s.output_id.is_empty() => Some(s),
        Ok(_) => None,
        Err(e) => {
            eprintln!("error: {e}");
            return ErrorKind::State.exit_code();
        }
    };
    let ids = crate::id_set::id_set_dir(&state_path);
    match verify_output(&args.out, state.as_ref(), &ids) {
        Ok(report) if report.problems.is_empty() => {
            eprintln!(
                "verified {}: {} file(s), {:.1} MB, all intact",
                args.out.display(),
                report.files,
                report.bytes as f64 / 1e6
            );
            0
        }
        Ok(report) => {
            eprintln!(
                "{} problem(s) in {} ({} file(s) listed):",
                report.problems.len(),
                args.out.display(),
                report.files
            );
            for p in &report.problems {
                eprintln!("  {p}");
            }
            1
        }
        Err(e) => {
            eprintln!("error: {e}");
            e.kind().exit_code()
        }
    }
}

/// `fauna-sync verify --out URL`: the state object (default `<URL>/_state.json`) gives the
/// committed manifest length; returns the exit code.
async fn verify_url(url: &StoreUrl, state: Option<&std::path::Path>) -> i32 {
    let result = async {
        let store = url.connect()?;
        let rel = match state.and_then(|s| s.to_str()) {
            Some(s) => s
                .strip_prefix(url.to_string().trim_end_matches('/'))
                .map(|r| r.trim_start_matches('/').to_string())
                .ok_or_else(|| crate::output::OutputError::BadUrl {
                    url: s.to_string(),
                    reason: format!("--state must name an object under {url}"),
                })?,
            None => crate::output::STATE_OBJECT.to_string(),
        };
        let (_, state) = crate::output::ObjectState::load(store.clone(), url, &rel).await?;
        let state = Some(state).filter(|s| !s.output_id.is_empty());
        verify_store(store.as_ref(), url, state.as_ref(), &format!("{rel}.ids")).await
    }
    .await;
    match result {
        Ok(report) => print_report(&url.to_string(), &report),
        Err(e) => {
            eprintln!("error: {e}");
            e.kind().exit_code()
        }
    }
}

/// Prints a verify report; returns the exit code.
fn print_report(out: &str, report: &VerifyReport) -> i32 {
    if report.problems.is_empty() {
        eprintln!(
            "verified {out}: {} file(s), {:.1} MB, all intact",
            report.files,
            report.bytes as f64 / 1e6
        );
        return 0;
    }
    eprintln!(
        "{} problem(s) in {out} ({} file(s) listed):",
        report.problems.len(),
        report.files
    );
    for p in &report.problems {
        eprintln!("  {p}");
    }
    1
}

/// Waits for SIGINT (Ctrl-C) or, on Unix, SIGTERM (containers, systemd, Kubernetes).
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// What to do after a failure of this kind.
fn advice(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Transient | ErrorKind::Output => {
            "Committed files stay valid; run the same command again to resume."
        }
        ErrorKind::Config => "Fix the configuration or command line; nothing was exported.",
        ErrorKind::Auth => "Use a valid secret (FAUNA_SECRET); committed files stay valid.",
        ErrorKind::Permission => {
            "Grant the privilege or access named above (to the key's role, or to the user or credentials writing the output), or use another key; committed files stay valid."
        }
        ErrorKind::Data => {
            "Fix the document or the column settings named above (or, when Fauna's response could not be read, the endpoint); committed files stay valid, and a re-run resumes at the failing batch."
        }
        ErrorKind::State => "The output was left untouched.",
        ErrorKind::Locked => "Nothing was changed.",
        ErrorKind::SchemaFrozen => "Nothing of the batch was committed; what was committed before stays valid. Set the contract to evolve (or discard_row/discard_value) to accept the change, or fix the documents, then run again.",
        ErrorKind::Interrupted => "Committed files stay valid; run the same command again to resume.",
    }
}

/// Runs one export with progress display and a closing summary; returns the exit code.
pub async fn export(settings: &Settings) -> i32 {
    run_with_progress(settings, Mode::Export).await
}

/// Runs an export or a sync with progress display and a closing summary; returns the exit
/// code.
pub async fn run_with_progress(settings: &Settings, mode: Mode) -> i32 {
    let progress = Progress::new();
    let result = tokio::select! {
        r = run(settings, &progress, mode) => Some(r),
        _ = interrupted() => None,
    };
    progress.finish();
    let command = match mode {
        Mode::Export => "export",
        Mode::Sync { .. } => "sync",
    };
    let out = settings.output.dir.display().to_string();
    match result {
        Some(Ok(summary)) => {
            match mode {
                Mode::Export => print_summary(&summary, settings),
                Mode::Sync { .. } => print_sync_summary(&summary, settings),
            }
            step_summary::append_from_env(command, &out, &Outcome::Done(&summary));
            0
        }
        Some(Err(ExportError::StreamsFailed(summary))) => {
            match mode {
                Mode::Export => print_summary(&summary, settings),
                Mode::Sync { .. } => print_sync_summary(&summary, settings),
            }
            print_failed(&summary);
            step_summary::append_from_env(command, &out, &Outcome::Done(&summary));
            summary
                .failed
                .first()
                .map_or(ErrorKind::Output, |f| f.kind)
                .exit_code()
        }
        Some(Err(e)) => {
            let kind = e.kind();
            eprintln!("error: {e}");
            eprintln!("{}", advice(kind));
            let error = e.to_string();
            step_summary::append_from_env(command, &out, &Outcome::Failed { error, kind });
            kind.exit_code()
        }
        None => {
            eprintln!(
                "interrupted: committed files stay valid; run the same command again to resume."
            );
            step_summary::append_from_env(command, &out, &Outcome::Interrupted);
            ErrorKind::Interrupted.exit_code()
        }
    }
}

/// One line per collection that failed while the others were read, with its reason.
fn print_failure_lines(s: &Summary) {
    for f in &s.failed {
        eprintln!("{}: failed: {}", f.name, f.message);
    }
}

/// After the summary of a run in which collections failed: which, and what to do
/// (`spec/errors.md`, "One collection's failure").
fn print_failed(s: &Summary) {
    let names: Vec<&str> = s.failed.iter().map(|f| f.name.as_str()).collect();
    eprintln!(
        "error: {} of {} collection(s) failed: {} (reasons above); what the others read is committed",
        s.failed.len(),
        s.failed.len() + s.streams.len(),
        names.join(", ")
    );
    eprintln!("Fix what is named above and run again: each failed collection continues from its own committed state.");
}

fn print_sync_summary(s: &Summary, settings: &Settings) {
    for c in &s.streams {
        let to = c
            .synced_to
            .map(|t| format!(", synced to {}", crate::fauna::Timestamp::from_micros(t)))
            .unwrap_or_default();
        let detected = match c.detected {
            0 => String::new(),
            n => format!(" ({n} detected by reconciliation)"),
        };
        if c.changed + c.deleted == 0 {
            eprintln!("{}: no changes{to} ({:.1} s)", c.name, c.seconds);
        } else {
            eprintln!(
                "{}: {} new or updated, {} deleted{detected}, {} file(s){to} ({:.1} s)",
                c.name, c.changed, c.deleted, c.files, c.seconds
            );
        }
    }
    print_failure_lines(s);
    print_typed_lines(s);
    let changes = s.streams.iter().map(|c| c.changed + c.deleted).sum::<u64>();
    let status = if !s.failed.is_empty() && s.paused {
        "stopped at --max-duration, and some collections failed (above)"
    } else if !s.failed.is_empty() {
        "some collections failed (above)"
    } else if s.paused {
        "stopped at --max-duration, more to do: run again to continue"
    } else if changes == 0 {
        "no changes"
    } else {
        "done"
    };
    eprintln!(
        "synced {} collection(s): {} record(s) in {} file(s), {:.1} s, {} queries ({} read ops), {} retries, {status} -> {}",
        s.streams.len(),
        s.docs,
        s.files,
        s.seconds,
        s.queries,
        s.read_ops,
        s.retries,
        settings.output.dir.display()
    );
    if s.queries > 0 {
        eprintln!("{}", paging_line(s));
    }
}

/// The second summary line: what adaptive paging and the in-flight limit did, and the queries
/// answered before the first page of data, e.g. `paging: 1612 documents per page at the end
/// (grew 14 times, shrank 0, 0 too large); queries in flight: 6 of 6 allowed (halved 0 times);
/// 81 queries, 6 of them before the first page` (`spec/paging.md`).
fn paging_line(s: &Summary) -> String {
    let p = &s.paging;
    let l = &s.in_flight;
    format!(
        "paging: {} documents per page at the end (grew {} times, shrank {}, {} too large); queries in flight: {} of {} allowed (halved {} times); {} queries, {} of them before the first page",
        p.size, p.grows, p.shrinks, p.too_large, l.limit, l.max, l.shrinks, s.queries, s.queries_before_data
    )
}

fn print_summary(s: &Summary, settings: &Settings) {
    let mb = s.bytes as f64 / 1e6;
    let rate = if s.seconds > 0.0 {
        s.docs as f64 / s.seconds
    } else {
        0.0
    };
    print_failure_lines(s);
    let complete = if s.already_complete == s.collections && s.docs == 0 && s.collections > 0 {
        " (already complete: nothing left to export)"
    } else {
        ""
    };
    eprintln!(
        "exported {} collection(s): {} docs in {} file(s), {:.1} MB, {:.1} s ({:.0} docs/s), {} retries{}{} -> {}",
        s.collections,
        s.docs,
        s.files,
        mb,
        s.seconds,
        rate,
        s.retries,
        if s.orphans_removed > 0 {
            format!(", {} leftover file(s) of an interrupted run removed", s.orphans_removed)
        } else {
            String::new()
        },
        complete,
        settings.output.dir.display()
    );
    if s.docs > 0 {
        eprintln!("{}", paging_line(s));
    }
    print_typed_lines(s);
}

/// Per collection with typed columns: the values that went to variant columns and what the
/// schema contract left out, when there are any.
fn print_typed_lines(s: &Summary) {
    for c in &s.streams {
        if c.variant_values + c.discarded > 0 {
            eprintln!(
                "{}: typed columns: {} value(s) in variant columns, {} left out by the schema contract",
                c.name, c.variant_values, c.discarded
            );
        }
    }
}
