//! One export run over every chosen collection: plan, reconcile the output with the state,
//! export each collection, summarise.

use std::time::{Duration, Instant};

use thiserror::Error;

use super::batches::BatchLimits;
use super::discover::{list_collections, retention, ts_ref_index, Retention};
use super::full::{CollectionExport, ExportError, Observer};
use super::state::{Position, State, StateError, Strategy, StreamState};
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
    /// The configured index cannot serve the short-retention strategy.
    #[error("collection '{collection}' keeps history too briefly for one pinned snapshot, and its configured index '{index}' is not an active index of that collection with no terms and values [ts, ref]; name such an index in \"index\" (or leave it out to find one), or raise history_days")]
    BadIndex {
        /// The collection.
        collection: String,
        /// The configured index.
        index: String,
    },
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
                let mut stream = StreamState::new(snapshot_ts, format.name());
                if let Some(index) = short_retention_index(&client, c, snapshot_ts).await? {
                    stream.strategy = Strategy::ScanCatchUp;
                    stream.index = Some(index);
                }
                state.streams.insert(c.name.clone(), stream);
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

    // Counts (for an ETA) use their own short timeout and no retries; only when shown.
    let count_client = if observer.wants_total() {
        FaunaClient::new(ClientOptions {
            endpoint: settings.endpoint.clone(),
            secret: settings.secret.clone(),
            query_timeout: COUNT_BUDGET,
            retry: RetryPolicy {
                max_retries: 0,
                ..RetryPolicy::default()
            },
        })
        .ok()
    } else {
        None
    };
    let limits = BatchLimits {
        rows: settings.output.batch_rows,
        bytes: settings.output.batch_bytes,
    };
    for c in &collections {
        let before = state.streams.get(&c.name).cloned();
        {
            let total = expected_total(count_client.as_ref(), c, before.as_ref());
            let collection = CollectionExport {
                client: &client,
                settings: c,
                sink: &sink,
                limits,
                state_path: &settings.output.state,
                observer,
            };
            let export = collection.run(&mut state);
            // The count runs beside the export and is dropped if the export ends first.
            tokio::pin!(export, total);
            tokio::select! {
                r = &mut export => r?,
                t = &mut total => {
                    if let Some((total, done)) = t {
                        observer.total_known(&c.name, total, done);
                    }
                    export.await?
                }
            }
        }
        let after = state.streams.get(&c.name);
        let old_files = before.as_ref().map(|s| s.files.len()).unwrap_or(0);
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

/// How long a document count may take to be worth showing an ETA for.
const COUNT_BUDGET: Duration = Duration::from_secs(2);

/// The stream's expected number of documents and those already committed, when there is a
/// count client (the observer shows totals) and Fauna counts them within [`COUNT_BUDGET`] (the
/// client's query timeout: the server stops counting then, so a large collection costs no more
/// than that).
async fn expected_total(
    client: Option<&FaunaClient>,
    c: &CollectionSettings,
    stream: Option<&StreamState>,
) -> Option<(u64, u64)> {
    let (client, stream) = (client?, stream?);
    if stream.position == Position::Done {
        return None;
    }
    let count = Expr::count(Expr::documents(Expr::collection(&c.name)));
    let q = match stream.strategy {
        Strategy::Snapshot => Expr::at(stream.snapshot_ts, count),
        // An estimate: the collection keeps changing while it is read.
        Strategy::ScanCatchUp => count,
    };
    match tokio::time::timeout(COUNT_BUDGET * 2, client.query(&q)).await {
        Ok(Ok(Value::Int(n))) => Some((u64::try_from(n).ok()?, stream.rows)),
        Ok(Ok(_)) => None,
        Ok(Err(e)) => {
            tracing::debug!(collection = %c.name, %e, "No document count (no ETA).");
            None
        }
        Err(_) => None,
    }
}

/// Chooses how a new stream is read. A collection that keeps history for less than a day is
/// read with the short-retention strategy through its `[ts, ref]` index (returned here); without
/// such an index it is read at a pinned snapshot, with a warning that names the fix.
async fn short_retention_index(
    client: &FaunaClient,
    c: &CollectionSettings,
    snapshot_ts: i64,
) -> Result<Option<String>, RunError> {
    let r = match retention(client, &c.name).await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(collection = %c.name, %e, "Could not read history_days.");
            Retention::Unknown
        }
    };
    let window = match r.window_secs() {
        Some(w) if w < 24 * 3600 => w,
        _ => return Ok(None),
    };
    let index = match ts_ref_index(client, &c.name, c.index.as_deref()).await {
        Ok(found) => found,
        Err(e) if c.index.is_some() => {
            return Err(RunError::Fauna {
                context: format!(
                    "reading the index '{}' of collection '{}'",
                    c.index.as_deref().unwrap_or_default(),
                    c.name
                ),
                source: e,
            })
        }
        Err(e) => {
            tracing::debug!(collection = %c.name, %e, "Could not list indexes.");
            None
        }
    };
    match (&index, &c.index) {
        (Some(index), _) => tracing::info!(
            collection = %c.name,
            index = %index,
            window_secs = window,
            "The collection keeps history for only {} minutes: exporting with a scan, a catch-up through the index and a reconciliation of deletions instead of one pinned snapshot (spec/export-format.md).",
            window / 60
        ),
        (None, Some(configured)) => {
            return Err(RunError::BadIndex {
                collection: c.name.clone(),
                index: configured.clone(),
            })
        }
        (None, None) => tracing::warn!(
            collection = %c.name,
            snapshot_ts,
            window_secs = window,
            "The collection keeps history for only {} minutes and has no index with values [ts, ref]: every page is read at the run's snapshot, so the export must finish within that window (resumes included). Create one — CreateIndex({{name: \"{}_by_ts\", source: Collection(\"{}\"), values: [{{field: [\"ts\"]}}, {{field: [\"ref\"]}}]}}) — or raise history_days.",
            window / 60,
            c.name,
            c.name
        ),
    }
    Ok(index)
}
