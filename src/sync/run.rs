//! One export run over every chosen collection: plan, reconcile the output with the state,
//! export each collection, summarise.

use std::time::Instant;

use thiserror::Error;

use super::discover::{list_collections, retention, Retention};
use super::full::{ExportError, FullExport, Observer};
use super::state::{Position, State, StateError, StreamState};
use crate::config::{CollectionSettings, Compression, OutputFormat, Settings};
use crate::fauna::{ClientOptions, Expr, FaunaClient, FaunaError, RetryPolicy, Value};
use crate::sink::{self, cleanup, write_manifest, BatchWriter, FileFormat, SinkError};

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Collections exported (or already complete).
    pub collections: u64,
    /// Documents committed in this run.
    pub docs: u64,
    /// Files committed in this run.
    pub files: u64,
    /// Bytes committed in this run.
    pub bytes: u64,
    /// Retries of transient failures.
    pub retries: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Stray files removed on start (left by an earlier interrupted run).
    pub orphans_removed: u64,
}

/// Why a run stopped.
#[derive(Debug, Error)]
pub enum RunError {
    /// A Fauna call outside a collection's export failed.
    #[error("{context}: {source}")]
    Fauna {
        /// What was being done.
        context: String,
        /// The error.
        source: FaunaError,
    },
    /// A collection's export failed.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// The state file is unusable.
    #[error(transparent)]
    State(#[from] StateError),
    /// The output could not be prepared.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The state does not match this run's settings.
    #[error("collection '{collection}' was exported as {was} by an earlier run but this run asks for {now}; use another --out/--state, or delete the old output and state")]
    FormatChanged {
        /// The collection.
        collection: String,
        /// The format in the state.
        was: String,
        /// The format asked for.
        now: String,
    },
}

/// The sink's file format for the settings.
pub fn file_format(settings: &Settings) -> FileFormat {
    match settings.output.format {
        OutputFormat::Parquet => FileFormat::Parquet,
        OutputFormat::Jsonl => FileFormat::Jsonl {
            compression: match settings.output.compression {
                Compression::None => sink::Compression::None,
                Compression::Gzip => sink::Compression::Gzip,
                Compression::Zstd => sink::Compression::Zstd,
            },
        },
    }
}

/// Runs (or resumes) a full export of every configured collection.
pub async fn run_export(settings: &Settings, observer: &dyn Observer) -> Result<Summary, RunError> {
    let started = Instant::now();
    let client = FaunaClient::new(ClientOptions {
        endpoint: settings.endpoint.clone(),
        secret: settings.secret.clone(),
        query_timeout: settings.query_timeout,
        retry: RetryPolicy {
            max_retries: settings.max_retries,
            ..RetryPolicy::default()
        },
    })
    .map_err(|source| RunError::Fauna {
        context: "setting up the client".into(),
        source,
    })?;
    let fauna = |context: &str| {
        let context = context.to_string();
        move |source| RunError::Fauna { context, source }
    };

    let collections: Vec<CollectionSettings> = match &settings.collections {
        Some(c) => c.clone(),
        None => list_collections(&client)
            .await
            .map_err(fauna("listing collections (name them with --collection if the key cannot read Collections())"))?
            .into_iter()
            .map(|name| CollectionSettings {
                name,
                ..settings.defaults.clone()
            })
            .collect(),
    };

    let format = file_format(settings);
    let sink = BatchWriter::new(&settings.output.dir, format)?;
    let mut state = State::load(&settings.output.state)?;

    // One snapshot time per run: an earlier (interrupted) run's, or now.
    let snapshot_ts = match state.streams.values().next() {
        Some(s) => s.snapshot_ts,
        None => match client.query(&Expr::to_micros(Expr::now())).await {
            Ok(Value::Int(t)) => t,
            Ok(other) => {
                return Err(RunError::Fauna {
                    context: "reading the snapshot time".into(),
                    source: FaunaError::InvalidResponse(format!("ToMicros(Now()) gave {other:?}")),
                })
            }
            Err(e) => return Err(fauna("reading the snapshot time")(e)),
        },
    };

    let mut summary = Summary::default();
    for c in &collections {
        match state.streams.get(&c.name) {
            Some(s) if s.format != format.name() => {
                return Err(RunError::FormatChanged {
                    collection: c.name.clone(),
                    was: s.format.clone(),
                    now: format.name().to_string(),
                })
            }
            Some(_) => {}
            None => {
                state.streams.insert(
                    c.name.clone(),
                    StreamState {
                        snapshot_ts,
                        position: Position::Start,
                        next_seq: 1,
                        rows: 0,
                        format: format.name().to_string(),
                        files: vec![],
                    },
                );
            }
        }
        // Files a crash left behind (temporary, or renamed but never recorded) go first.
        let committed: Vec<String> = state
            .streams
            .get(&c.name)
            .map(|s| s.files.iter().map(|f| f.path.clone()).collect())
            .unwrap_or_default();
        let removed = cleanup(&settings.output.dir, &c.name, &committed)?;
        for path in &removed {
            tracing::info!(path = %path.display(), "Removed a file an interrupted run left behind.");
        }
        summary.orphans_removed += removed.len() as u64;
    }
    state.save(&settings.output.state)?;
    write_manifest(&settings.output.dir, &state.committed_files())?;

    for c in &collections {
        let before = state.streams.get(&c.name).cloned();
        if before.as_ref().map(|s| &s.position) != Some(&Position::Done) {
            warn_on_short_retention(&client, c, snapshot_ts).await;
        }
        FullExport {
            client: &client,
            settings: c,
            sink: &sink,
            batch_rows: settings.output.batch_rows,
            state_path: &settings.output.state,
            observer,
        }
        .run(&mut state)
        .await?;
        let after = state.streams.get(&c.name);
        let old_files = before.map(|s| s.files.len()).unwrap_or(0);
        if let Some(s) = after {
            for f in s.files.iter().skip(old_files) {
                summary.docs += f.rows;
                summary.files += 1;
                summary.bytes += f.bytes;
            }
        }
        summary.collections += 1;
    }
    summary.retries = client.retries();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Says up front when a collection keeps history too briefly for a long pinned export.
async fn warn_on_short_retention(client: &FaunaClient, c: &CollectionSettings, snapshot_ts: i64) {
    match retention(client, &c.name).await {
        Ok(r @ (Retention::Days(_) | Retention::Unknown)) => {
            let window = r.window_secs().unwrap_or(i64::MAX);
            if window < 24 * 3600 {
                tracing::warn!(
                    collection = %c.name,
                    snapshot_ts,
                    window_secs = window,
                    "The collection keeps history for only {} minutes: every page is read at the run's snapshot, so the export must finish within that window (resumes included). Raise history_days for long exports.",
                    window / 60
                );
            }
        }
        Ok(Retention::Forever) => {}
        Err(e) => tracing::debug!(collection = %c.name, %e, "Could not read history_days."),
    }
}
