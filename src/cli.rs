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
use crate::console::{run_plan_with_progress, run_with_progress};
use crate::error::ErrorKind;
use crate::fauna::Secret;
use crate::location::Location;
use crate::output::{
    local_path, verify as verify_output, IdSetsAt, LocalDir, ObjectStorage, StoreUrl, VerifyReport,
};
use crate::run::Mode;
use crate::scale::{
    finalize, make_plan, micros_text, shard_run, PlanShape, ScaleError, ScalePlan, ShardSpec,
    SHARDS_DIR,
};
use crate::state::State;

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
    /// With --plan and --shard: one shard of a scale-out plan (spec/scale-out.md).
    Export(ExportCommand),
    /// Scheduled incremental sync: the first run exports each collection fully at one time T,
    /// every later run reads what changed (and, with deletions tracked, what was deleted)
    /// since the previous run through the collection's [ts, ref] index. Idempotent; safe to
    /// re-run after any failure. See spec/sync.md.
    Sync(SyncArgs),
    /// Scale-out: pins a snapshot, splits the collections into ranges of ids and deals them to
    /// N shards, writing the plan (spec/scale-out.md). Run each shard with `export --plan
    /// --shard i/n`, then `finalize`.
    Plan(PlanArgs),
    /// Scale-out: checks that every shard of the plan finished, intact, and joins them into one
    /// output (one manifest, one state at the plan's snapshot) that `sync` continues. Exit 0
    /// when joined, non-zero naming every missing or damaged shard (nothing joined or deleted).
    Finalize(FinalizeArgs),
    /// Checks an output against its manifest: every committed file present with its size and
    /// SHA-256, and no unlisted batch file. Exit 0 when intact, 1 with the list of problems.
    Verify(VerifyArgs),
    /// Applies an output's files to PostgreSQL tables, each file once, the newest version of
    /// each document winning (docs/loading.md).
    Load(crate::load::LoadArgs),
    /// Starts an in-process fauna-dev seeded with the demo dataset and exports it to
    /// Parquet and JSONL under ./demo-out.
    #[cfg(feature = "demo")]
    Demo(crate::demo::DemoArgs),
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

/// `fauna-sync export`, alone or as one shard of a plan.
#[derive(Debug, Args)]
pub struct ExportCommand {
    /// Everything a run takes.
    #[command(flatten)]
    pub export: ExportArgs,
    /// A scale-out plan (from `fauna-sync plan`): export only one shard of it.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Which shard of --plan, counting from 1: i/n (e.g. 2/4). Default: from
    /// JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's, counting from 0).
    #[arg(long, value_name = "I/N", requires = "plan")]
    pub shard: Option<String>,
}

/// `fauna-sync plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Everything a run takes (the shards must be run with the same output settings).
    #[command(flatten)]
    pub export: ExportArgs,
    /// Shards (processes) to spread the export over.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub shards: u32,
    /// Ranges of ids per shard and collection to aim for (more balance better) [default: 4].
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub ranges_per_shard: u32,
    /// Where to write the plan [default: <out>/_plan.json].
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
}

/// `fauna-sync finalize`.
#[derive(Debug, Args)]
pub struct FinalizeArgs {
    /// Everything a run takes (the output settings must be the plan's).
    #[command(flatten)]
    pub export: ExportArgs,
    /// The plan the shards ran [default: <out>/_plan.json].
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
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
    /// [default: json for new outputs (typed costs ~3x the CPU per document for now); an
    /// existing output keeps the mode it was written in].
    #[arg(long, value_parser = ["typed", "json"])]
    pub columns: Option<String>,
    /// What a batch that would change the typed columns does [default: evolve].
    #[arg(long, value_parser = ["evolve", "freeze", "discard_row", "discard_value"])]
    pub contract: Option<String>,
    /// Typed columns: object levels flattened into columns, 0 to 8, fixed for the life of a
    /// stream's columns [default: 1].
    #[arg(long, value_name = "N")]
    pub flatten_depth: Option<u32>,
    /// Typed columns: joins a flattened path's keys and precedes `v_<type>` in variant names,
    /// 1 to 4 of a-z, 0-9 and _, fixed for the life of a stream's columns [default: __].
    #[arg(long, value_name = "SEP")]
    pub column_separator: Option<String>,
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
    /// Databases to read: own (the key's database, the default), recursive (it and every
    /// database below it), or database paths below it, comma-separated (tenant1,tenant2/eu).
    /// Each (database, collection) is a stream named <path>/<collection>; see spec/trees.md.
    #[arg(long, value_name = "own|recursive|PATHS")]
    pub databases: Option<String>,
    /// Keep only databases whose path matches (repeatable; * within a segment, ** across).
    #[arg(long = "include-database", value_name = "PATTERN")]
    pub include_databases: Vec<String>,
    /// Leave out databases whose path matches (repeatable; t1/** is the tree below t1).
    #[arg(long = "exclude-database", value_name = "PATTERN")]
    pub exclude_databases: Vec<String>,
    /// Write a collection of the same name from every database into one stream (named by the
    /// collection); each database's position is still its own (spec/trees.md).
    #[arg(long)]
    pub merge_databases: bool,
}

/// Runs the command line; returns the process exit code.
pub async fn main(cli: Cli) -> i32 {
    match cli.command {
        Command::Export(args) => match settings(args.export) {
            Ok(settings) => match &args.plan {
                Some(plan) => {
                    let job_index = std::env::var("JOB_COMPLETION_INDEX").ok();
                    shard_command(&settings, plan, args.shard.as_deref(), job_index.as_deref())
                        .await
                }
                None => export(&settings).await,
            },
            Err(code) => code,
        },
        Command::Plan(args) => match settings(args.export) {
            Ok(settings) => {
                let shape = crate::scale::PlanShape {
                    shards: args.shards,
                    ranges_per_shard: args.ranges_per_shard,
                };
                plan_command(&settings, shape, args.plan.as_deref()).await
            }
            Err(code) => code,
        },
        Command::Finalize(args) => match settings(args.export) {
            Ok(settings) => finalize_command(&settings, args.plan.as_deref()).await,
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
        Command::Verify(args) => match Location::parse(&args.out) {
            Ok(Location::Store(url)) => verify_url(&url, args.state.as_deref()).await,
            Ok(Location::Dir(out)) => {
                verify(&VerifyArgs {
                    out,
                    state: args.state.map(|s| local_path(&s)),
                })
                .await
            }
            Err(e) => {
                eprintln!("error: {e}");
                ErrorKind::Config.exit_code()
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
                flatten_depth: args.flatten_depth,
                column_separator: args.column_separator,
                state: args.state.map(|s| local_path(&s)),
                verify: args.verify,
                allow_insecure_http: args.allow_insecure_http,
                databases: crate::config::DatabaseOverrides {
                    select: args.databases,
                    include: args.include_databases,
                    exclude: args.exclude_databases,
                    merge: args.merge_databases,
                },
            };
            Settings::load(args.config.as_deref(), overrides).map_err(|e| {
                eprintln!("error: {e}");
                ErrorKind::Config.exit_code()
            })
        }
    }
}

/// `fauna-sync verify`; returns the exit code.
async fn verify(args: &VerifyArgs) -> i32 {
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
    let ids = LocalDir::new(crate::id_set::id_set_dir(&state_path));
    let ids = IdSetsAt {
        storage: &ids,
        dir: "",
    };
    match verify_output(&LocalDir::new(&args.out), state.as_ref(), ids).await {
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
        let storage = ObjectStorage::new(store, url.clone());
        let ids_dir = format!("{rel}.ids");
        let ids = IdSetsAt {
            storage: &storage,
            dir: &ids_dir,
        };
        verify_output(&storage, state.as_ref(), ids).await
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

/// The plan file: `--plan`, else `<out>/_plan.json` (a path, or an object's URL).
fn plan_path(settings: &Settings, plan: Option<&std::path::Path>) -> PathBuf {
    plan.map(local_path)
        .unwrap_or_else(|| settings.output.out.as_path().join(PLAN_FILE))
}

/// The default plan file's name at the output root.
const PLAN_FILE: &str = "_plan.json";

/// Prints a scale-out error with what to do; returns the exit code.
fn scale_failed(e: &ScaleError) -> i32 {
    eprintln!("error: {e}");
    e.kind().exit_code()
}

/// Reads the plan at `path` (a file or an object).
async fn read_plan(path: &std::path::Path) -> Result<ScalePlan, ScaleError> {
    let bytes = crate::scale::read_file(path).await?;
    ScalePlan::parse(&bytes, &path.display().to_string())
}

/// `fauna-sync plan`; returns the exit code.
async fn plan_command(
    settings: &Settings,
    shape: PlanShape,
    plan: Option<&std::path::Path>,
) -> i32 {
    let path = plan_path(settings, plan);
    let made = match make_plan(settings, shape).await {
        Ok(p) => p,
        Err(e) => return scale_failed(&e),
    };
    if let Err(e) = crate::scale::write_file(&path, made.to_bytes()).await {
        return scale_failed(&e);
    }
    let ranges: usize = made.collections.iter().map(|c| c.ranges.len()).sum();
    let shortest = if made.shortest_window.is_empty() {
        String::new()
    } else {
        format!(" (collection '{}')", made.shortest_window)
    };
    eprintln!(
        "planned {} collection(s) in {ranges} range(s) over {} shard(s) at {}, readable until {}{shortest} -> {}",
        made.collections.len(),
        made.shards,
        made.snapshot,
        micros_text(made.readable_until),
        path.display()
    );
    eprintln!(
        "next: fauna-sync export --plan {} --shard i/{} for i in 1..={} (or JOB_COMPLETION_INDEX 0..{}), then fauna-sync finalize --plan {}",
        path.display(),
        made.shards,
        made.shards,
        made.shards - 1,
        path.display()
    );
    0
}

/// `fauna-sync export --plan --shard`; returns the exit code.
async fn shard_command(
    settings: &Settings,
    plan: &std::path::Path,
    shard: Option<&str>,
    job_index: Option<&str>,
) -> i32 {
    let prepared = async {
        let plan = read_plan(&local_path(plan)).await?;
        let spec = ShardSpec::from_args(shard, job_index)?;
        let (shard_settings, run) = shard_run(settings, &plan, spec).await?;
        eprintln!(
            "shard {} of plan {} at {}: {} collection(s) -> {}",
            spec.shown(),
            plan.plan_id,
            plan.snapshot,
            run.pinned.as_ref().map_or(0, |p| p.ranges.len()),
            shard_settings.output.out
        );
        Ok::<_, ScaleError>((shard_settings, run))
    };
    match prepared.await {
        Ok((shard_settings, run)) => {
            run_plan_with_progress(&shard_settings, &run, Mode::Export).await
        }
        Err(e) => scale_failed(&e),
    }
}

/// `fauna-sync finalize`; returns the exit code.
async fn finalize_command(settings: &Settings, plan: Option<&std::path::Path>) -> i32 {
    let path = plan_path(settings, plan);
    let plan = match read_plan(&path).await {
        Ok(p) => p,
        Err(e) => return scale_failed(&e),
    };
    match finalize(settings, &plan).await {
        Ok(joined) => {
            for (name, (files, rows)) in &joined.streams {
                eprintln!("{name}: {rows} record(s) in {files} file(s)");
            }
            let (files, rows) = joined
                .streams
                .values()
                .fold((0, 0), |(f, r), (f2, r2)| (f + f2, r + r2));
            let what = if joined.already {
                "already finalized"
            } else {
                "finalized"
            };
            eprintln!(
                "{what} plan {} ({} shard(s)) at {}: {} collection(s), {rows} record(s) in {files} file(s) -> {}; `fauna-sync sync` continues from the snapshot. The shards' parts ({}) may be removed.",
                plan.plan_id,
                plan.shards,
                plan.snapshot,
                joined.streams.len(),
                settings.output.out,
                settings.output.out.join(SHARDS_DIR)
            );
            0
        }
        Err(e) => scale_failed(&e),
    }
}

/// Runs one export with progress display and a closing summary; returns the exit code.
pub async fn export(settings: &Settings) -> i32 {
    run_with_progress(settings, Mode::Export).await
}
