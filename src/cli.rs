//! The command line: `fauna-sync export` and `fauna-sync demo`.
//!
//! Exit codes: 0 success; 1 the export failed (Fauna, network, output or state error — what
//! was committed stays valid and a re-run resumes); 2 invalid command line or configuration
//! (nothing was contacted or written); 130 interrupted (Ctrl-C; a re-run resumes).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::config::{Overrides, Settings};
use crate::fauna::Secret;
use crate::sync::{run_export, Observer, Summary};

/// Exports Fauna collections to JSONL or Parquet batch files with checkpointed resume.
#[derive(Debug, Parser)]
#[command(name = "fauna-sync", version, about, long_about = None)]
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
    /// Starts an in-process fauna-dev seeded with the demo dataset and exports it to
    /// Parquet and JSONL under ./demo-out.
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
    /// Output format.
    #[arg(long, value_parser = ["jsonl", "parquet"])]
    pub format: Option<String>,
    /// Output root directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Documents per page (1..=100000).
    #[arg(long, value_name = "N")]
    pub page_size: Option<u32>,
    /// Rows per batch file.
    #[arg(long, value_name = "N")]
    pub batch_rows: Option<u64>,
    /// Also close a batch file once its records reach this many bytes as uncompressed JSONL.
    #[arg(long, value_name = "BYTES")]
    pub batch_bytes: Option<u64>,
    /// JSONL compression.
    #[arg(long, value_parser = ["none", "gzip", "zstd"])]
    pub compression: Option<String>,
    /// Checkpoint state file (default <out>/_state.json).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

/// `fauna-sync demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the demo output.
    #[arg(long, default_value = "demo-out", value_name = "DIR")]
    pub out: PathBuf,
    /// The dataset to seed fauna-dev with.
    #[arg(long, value_name = "DIR")]
    pub dataset: Option<PathBuf>,
}

/// Runs the command line; returns the process exit code.
pub async fn main(cli: Cli) -> i32 {
    match cli.command {
        Command::Export(args) => {
            let overrides = Overrides {
                secret: args.secret.map(Secret::new),
                endpoint: args.endpoint,
                collections: args.collections,
                format: args.format,
                out: args.out,
                page_size: args.page_size,
                batch_rows: args.batch_rows,
                batch_bytes: args.batch_bytes,
                compression: args.compression,
                state: args.state,
            };
            let settings = match Settings::load(args.config.as_deref(), overrides) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return 2;
                }
            };
            export(&settings).await
        }
        Command::Demo(args) => crate::demo::run(args).await,
        Command::Spec(args) => crate::airbyte::run_spec(args),
        Command::Check(args) => crate::airbyte::run_check(args).await,
        Command::Discover(args) => crate::airbyte::run_discover(args).await,
        Command::Read(args) => crate::airbyte::run_read(args).await,
    }
}

/// Runs one export with progress display and a closing summary; returns the exit code.
pub async fn export(settings: &Settings) -> i32 {
    let progress = Progress::new();
    let result = tokio::select! {
        r = run_export(settings, &progress) => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    progress.finish();
    match result {
        Some(Ok(summary)) => {
            print_summary(&summary, settings);
            0
        }
        Some(Err(e)) => {
            eprintln!("error: {e}");
            eprintln!("Committed files stay valid; run the same command again to resume.");
            1
        }
        None => {
            eprintln!(
                "interrupted: committed files stay valid; run the same command again to resume."
            );
            130
        }
    }
}

fn print_summary(s: &Summary, settings: &Settings) {
    let mb = s.bytes as f64 / 1e6;
    let rate = if s.seconds > 0.0 {
        s.docs as f64 / s.seconds
    } else {
        0.0
    };
    println!(
        "exported {} collection(s): {} docs in {} file(s), {:.1} MB, {:.1} s ({:.0} docs/s), {} retries{} -> {}",
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
        settings.output.dir.display()
    );
}

/// Progress bars on a terminal, plain log lines otherwise.
struct Progress {
    bars: Option<MultiProgress>,
    per_stream: Mutex<Vec<(String, ProgressBar)>>,
}

impl Progress {
    fn new() -> Self {
        let bars = std::io::stderr().is_terminal().then(MultiProgress::new);
        Progress {
            bars,
            per_stream: Mutex::new(Vec::new()),
        }
    }

    fn bar(&self, stream: &str) -> Option<ProgressBar> {
        let multi = self.bars.as_ref()?;
        let mut bars = self.per_stream.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, b)) = bars.iter().find(|(s, _)| s == stream) {
            return Some(b.clone());
        }
        let b = multi.add(ProgressBar::new_spinner());
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} {prefix:>12} {human_pos} docs  {per_sec}  {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.set_prefix(stream.to_string());
        b.enable_steady_tick(Duration::from_millis(200));
        bars.push((stream.to_string(), b.clone()));
        Some(b)
    }

    fn finish(&self) {
        let bars = self.per_stream.lock().unwrap_or_else(|p| p.into_inner());
        for (_, b) in bars.iter() {
            b.finish();
        }
    }
}

impl Observer for Progress {
    fn page_read(&self, collection: &str, docs: u64) {
        if let Some(b) = self.bar(collection) {
            b.inc(docs);
        }
    }

    fn wants_total(&self) -> bool {
        self.bars.is_some()
    }

    fn total_known(&self, collection: &str, total: u64, done: u64) {
        if let Some(b) = self.bar(collection) {
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix:>12} [{wide_bar}] {human_pos}/{human_len} docs  {per_sec}  ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.set_length(total);
            b.inc(done);
        }
    }

    fn batch_committed(&self, collection: &str, rows: u64, bytes: u64) {
        if self.bars.is_none() {
            tracing::info!(collection, rows, bytes, "Batch committed.");
        }
    }
}
