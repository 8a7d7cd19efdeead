//! The `fauna-dev` command line: flags, start-up (dataset, state), serving until a signal,
//! and saving state on the way out.

use std::io::{IsTerminal as _, Write as _};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;

use super::faults::{Fault, FaultConfig};
use super::{serve, ServerConfig, DEFAULT_PORT};
use crate::engine::{Engine, EngineOptions};

/// A local server speaking the Fauna FQL v4 wire protocol (POST / with a JSON query).
#[derive(Parser)]
#[command(name = "fauna-dev", version, about, long_about = None)]
pub struct Args {
    /// Port to listen on; 0 picks a free port. The bound address is printed on stdout as
    /// `fauna-dev listening on http://HOST:PORT` once the server accepts connections.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,

    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// The root (admin) secret.
    #[arg(
        long,
        env = "FAUNA_DEV_ROOT_SECRET",
        default_value = "secret",
        hide_env_values = true
    )]
    pub root_secret: String,

    /// Load this dataset folder at start (see spec/fauna-dev-dataset.md).
    #[arg(long, value_name = "DIR")]
    pub dataset: Option<PathBuf>,

    /// Snapshot file: loaded at start if it exists, written on SIGINT/SIGTERM.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Milliseconds added to every response.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency: u64,

    /// Milliseconds every query spends evaluating: counted in `x-query-time` and against
    /// `X-Query-Timeout` (unlike `--latency`), to reproduce query timeouts.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub eval_delay: u64,

    /// Probability (0..1) that a query request fails with an injected fault instead of being
    /// evaluated (so nothing is written).
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_rate)]
    pub fault_rate: f64,

    /// Seed of the fault sequence, for reproducible runs.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub fault_seed: u64,

    /// Faults to choose among, comma-separated: 429 (rate limit for read), 503 (read timed
    /// out), drop (close the connection without a response), 413 (request too large; not
    /// in the default).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "429,503,drop"
    )]
    pub faults: Vec<Fault>,

    /// Inject faults only into queries with a Paginate asking for more than N items (other
    /// queries are always evaluated).
    #[arg(long, value_name = "N")]
    pub fault_pages_above: Option<u64>,

    /// Answer every query with a Paginate asking for more than N items with 503 `time out`
    /// "Read timed out" (a page too big for the query timeout), without evaluating it;
    /// independent of --fault-rate.
    #[arg(long, value_name = "N")]
    pub max_page_items: Option<u64>,

    /// Minimum-valid-time offset below `now - history_days`, in seconds (real server: 900).
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    pub mvt_offset_secs: u64,

    /// Length of one `history_days` day in seconds (real server: 86400); shrink it to test
    /// history expiry.
    #[arg(long, value_name = "SECS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..))]
    pub day_secs: u64,

    /// Never gzip responses, even when the client accepts gzip.
    #[arg(long)]
    pub no_gzip: bool,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let rate: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    FaultConfig::new(rate)
        .map(|_| rate)
        .map_err(|e| e.to_string())
}

impl Args {
    /// The engine settings these flags ask for.
    pub fn engine_options(&self) -> EngineOptions {
        EngineOptions {
            root_secret: self.root_secret.clone(),
            mvt_offset: Duration::from_secs(self.mvt_offset_secs),
            day_length: Duration::from_secs(self.day_secs),
            eval_delay: Duration::from_millis(self.eval_delay),
        }
    }

    /// The transport settings these flags ask for.
    pub fn server_config(&self) -> anyhow::Result<ServerConfig> {
        let mut config = ServerConfig::new()
            .bind(self.bind)
            .port(self.port)
            .latency(Duration::from_millis(self.latency))
            .gzip(!self.no_gzip);
        if self.fault_rate > 0.0 || self.max_page_items.is_some() {
            let mut faults = FaultConfig::new(self.fault_rate)?
                .seed(self.fault_seed)
                .kinds(&self.faults);
            if let Some(n) = self.fault_pages_above {
                faults = faults.pages_above(n);
            }
            if let Some(n) = self.max_page_items {
                faults = faults.max_page_items(n);
            }
            config = config.faults(faults);
        }
        Ok(config)
    }
}

/// Parses the command line and runs the server until SIGINT/SIGTERM.
pub fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("fauna-dev")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run(args))
}

/// Runs the server described by `args` until SIGINT/SIGTERM.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let config = args.server_config()?;
    let engine = Arc::new(Engine::new(args.engine_options()));
    if let Some(state) = args.state.as_deref().filter(|p| p.exists()) {
        load_state(&engine, state)?;
    } else if let Some(dir) = &args.dataset {
        engine
            .load_dataset(dir)
            .with_context(|| format!("cannot load the dataset {}", dir.display()))?;
        tracing::info!(dataset = %dir.display(), "dataset loaded");
    }
    let server = serve(config, Arc::clone(&engine)).await?;
    announce(&server.url());
    wait_for_signal().await?;
    tracing::info!("shutting down");
    server.shutdown().await;
    if let Some(state) = &args.state {
        save_state(&engine, state)?;
    }
    Ok(())
}

/// Prints the listening line on stdout for whoever started us, and flushes it.
fn announce(url: &str) {
    let mut out = std::io::stdout().lock();
    // A closed stdout must not stop the server.
    let _ = writeln!(out, "fauna-dev listening on {url}").and_then(|()| out.flush());
}

fn load_state(engine: &Engine, path: &Path) -> anyhow::Result<()> {
    engine
        .load_snapshot(path)
        .with_context(|| format!("cannot load the state {}", path.display()))?;
    tracing::info!(state = %path.display(), "state loaded");
    Ok(())
}

/// Writes the snapshot next to `path` first, then renames it, so a crash never leaves half a file.
fn save_state(engine: &Engine, path: &Path) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    engine
        .save_snapshot(&tmp)
        .and_then(|()| std::fs::rename(&tmp, path).map_err(anyhow::Error::from))
        .with_context(|| format!("cannot save the state {}", path.display()))?;
    tracing::info!(state = %path.display(), "state saved");
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot listen for SIGINT")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")?;
    Ok(())
}

/// Logs go to stderr; `RUST_LOG` filters them (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("fauna-dev").chain(args.iter().copied()))
    }

    #[test]
    fn defaults() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.port, 8443);
        assert_eq!(a.bind.to_string(), "127.0.0.1");
        assert_eq!(a.faults, Fault::ALL.to_vec());
        assert_eq!(a.engine_options().mvt_offset, Duration::from_secs(900));
        assert_eq!(a.engine_options().day_length, Duration::from_secs(86_400));
        assert!(a.server_config().unwrap().faults.is_none());
    }

    #[test]
    fn fault_flags() {
        let a = parse(&[
            "--fault-rate",
            "1",
            "--faults",
            "503,drop",
            "--fault-seed",
            "7",
        ])
        .unwrap();
        assert_eq!(a.faults, vec![Fault::TimedOut, Fault::Dropped]);
        let expected = FaultConfig::new(1.0)
            .unwrap()
            .seed(7)
            .kinds(&[Fault::TimedOut, Fault::Dropped]);
        assert_eq!(a.server_config().unwrap().faults, Some(expected));
    }

    #[test]
    fn page_flags() {
        let a = parse(&["--max-page-items", "100"]).unwrap();
        let expected = FaultConfig::new(0.0).unwrap().max_page_items(100);
        assert_eq!(a.server_config().unwrap().faults, Some(expected));
        let a = parse(&[
            "--fault-rate",
            "1",
            "--faults",
            "413",
            "--fault-pages-above",
            "500",
        ])
        .unwrap();
        let expected = FaultConfig::new(1.0)
            .unwrap()
            .kinds(&[Fault::TooLarge])
            .pages_above(500);
        assert_eq!(a.server_config().unwrap().faults, Some(expected));
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(parse(&["--fault-rate", "2"]).is_err());
        assert!(parse(&["--fault-rate", "x"]).is_err());
        assert!(parse(&["--faults", "500"]).is_err());
        assert!(parse(&["--port", "70000"]).is_err());
        assert!(parse(&["--bind", "localhost:1"]).is_err());
        assert!(parse(&["--day-secs", "0"]).is_err());
    }
}
