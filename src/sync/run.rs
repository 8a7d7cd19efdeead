//! One export run over every chosen collection: lock the output, load the state, check the
//! collections, open the output (ownership, damage, leftovers), read each collection through
//! the one committer, summarise.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::committer::{BatchLimits, Committer};
use super::error::ExportError;
use super::observer::Observer;
use super::state::{Position, State, Strategy, StreamState};
use super::stream::CollectionExport;
use crate::config::{CollectionSettings, Compression, OutputFormat, Settings};
use crate::error::ErrorKind;
use crate::fauna::limiter::LimitStats;
use crate::fauna::pacing::PacerStats;
use crate::fauna::{ClientOptions, Expr, FaunaClient, FaunaError, RetryPolicy, Value};
use crate::lock::{RunLock, LOCK_FILE};
use crate::output::{Checkpoint, FilesOutput, Output, OutputError, StateFile, StoreRun};
use crate::read::{list_collections, ts_ref_index, Retention};
use crate::sink::{self, FileFormat};

/// The error of a run.
pub type RunError = ExportError;

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Collections exported (or already complete).
    pub collections: u64,
    /// Collections that an earlier run had already completed.
    pub already_complete: u64,
    /// Documents committed in this run.
    pub docs: u64,
    /// Files committed in this run.
    pub files: u64,
    /// Bytes committed in this run.
    pub bytes: u64,
    /// Retries of transient failures.
    pub retries: u64,
    /// Queries Fauna answered.
    pub queries: u64,
    /// Of them, those answered before the first page of data was asked for.
    pub queries_before_data: u64,
    /// Fauna read ops billed (`x-byte-read-ops`).
    pub read_ops: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Stray files removed on start (left by an earlier interrupted run).
    pub orphans_removed: u64,
    /// Per collection (`sync`): what this run committed for it.
    pub streams: Vec<StreamSummary>,
    /// The run stopped at a batch boundary at `--max-duration`; more is left to do.
    pub paused: bool,
    /// Page sizes of the document reads (not a reconciliation's id pages): the largest
    /// reached (`size`) and how often they changed.
    pub paging: PacerStats,
    /// The limit of queries in flight, as it ended, and how often it changed.
    pub in_flight: LimitStats,
    /// Collections that failed for a reason of their own (those that failed their checks
    /// first, then in the order they were read); the run went on with the others
    /// (`spec/errors.md`, "One collection's failure").
    pub failed: Vec<StreamFailure>,
}

/// A collection the run could not read, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamFailure {
    /// The collection.
    pub name: String,
    /// The failure's kind (the first failure's decides the exit code).
    pub kind: ErrorKind,
    /// What failed and what to do.
    pub message: String,
}

impl StreamFailure {
    fn new(name: &str, e: &ExportError) -> Self {
        StreamFailure {
            name: name.to_string(),
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// What a run committed for one collection.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamSummary {
    /// The collection.
    pub name: String,
    /// Records of new or changed documents.
    pub changed: u64,
    /// Deletion records.
    pub deleted: u64,
    /// Deletion records found by reconciliation (among `deleted`).
    pub detected: u64,
    /// Files.
    pub files: u64,
    /// Seconds spent on the collection.
    pub seconds: f64,
    /// The end of the last committed window (`sync`), µs.
    pub synced_to: Option<i64>,
}

/// What a run does with each collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A one-off full export.
    Export,
    /// A full export the first time, then one incremental window per run.
    Sync {
        /// Stop at the first batch boundary after this long.
        max_duration: Option<Duration>,
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

/// The lock files of a run: one in the output root, and one beside the state file when the
/// state lives elsewhere.
pub fn lock_paths(settings: &Settings) -> Vec<PathBuf> {
    let mut paths = vec![settings.output.dir.join(LOCK_FILE)];
    if settings.output.state.parent() != Some(settings.output.dir.as_path()) {
        let mut p = settings.output.state.as_os_str().to_owned();
        p.push(".lock");
        paths.push(PathBuf::from(p));
    }
    paths
}

/// The client of a run. Its limit of queries in flight starts at `concurrency` (one page
/// request per range) plus two (a window's two readers, the progress count) and is lowered on
/// rate limits; its pages share one byte budget (`spec/paging.md`).
pub fn client(settings: &Settings) -> Result<FaunaClient, ExportError> {
    let client = FaunaClient::new(ClientOptions {
        endpoint: settings.endpoint.clone(),
        secret: settings.secret.clone(),
        query_timeout: settings.query_timeout,
        retry: RetryPolicy {
            max_retries: settings.max_retries,
            ..RetryPolicy::default()
        },
    })
    .map_err(|source| ExportError::Fauna {
        context: "setting up the client".into(),
        source,
    })?;
    client.set_max_concurrency(settings.concurrency as usize + 2);
    // The ranges share half the response budget (each holds a page being read and one being
    // committed): pages in memory do not grow with concurrency.
    let share = 2 * u64::from(settings.concurrency.max(1));
    let budget = crate::fauna::pacing::PAGE_BYTE_BUDGET / share;
    client.set_page_byte_budget(budget.max(512 << 10));
    Ok(client)
}

fn fauna(context: &str) -> impl FnOnce(FaunaError) -> ExportError {
    let context = context.to_string();
    move |source| ExportError::Fauna { context, source }
}

/// The record schema settings of a collection, as recorded in the state.
pub fn schema_fingerprint(c: &CollectionSettings) -> serde_json::Value {
    let mut fingerprint = serde_json::json!({
        "data_column": c.data_column,
        "columns": c.columns.iter().map(|col| serde_json::json!({
            "name": col.name, "path": col.path, "type": col.column_type.name(),
            "required": col.required,
        })).collect::<Vec<_>>(),
        "deletion_column": c.deletion_column,
    });
    // Outputs that track deletions also say which were detected; earlier ones did not.
    if c.deletion_column.is_some() {
        fingerprint["detected_column"] = crate::export::DETECTED_COLUMN.into();
    }
    fingerprint
}

/// Runs (or resumes) a full export of every configured collection.
pub async fn run_export(settings: &Settings, observer: &dyn Observer) -> Result<Summary, RunError> {
    run(settings, observer, Mode::Export).await
}

/// Runs (or resumes) an export or a sync of every configured collection.
pub async fn run(
    settings: &Settings,
    observer: &dyn Observer,
    mode: Mode,
) -> Result<Summary, RunError> {
    // An object-store --out: its lease is taken here and released however the run ends.
    match StoreRun::start(settings).await? {
        None => run_on(settings, observer, mode, None).await,
        Some(mut store) => {
            let result = run_on(settings, observer, mode, Some(&mut store)).await;
            store.release().await;
            result
        }
    }
}

async fn run_on(
    settings: &Settings,
    observer: &dyn Observer,
    mode: Mode,
    mut store: Option<&mut StoreRun>,
) -> Result<Summary, RunError> {
    let started = Instant::now();
    let out = &settings.output.dir;
    if store.is_none() && out.exists() && !out.is_dir() {
        return Err(OutputError::NotADirectory(out.clone()).into());
    }
    let _lock = match store {
        Some(_) => None,
        None => Some(RunLock::acquire(&lock_paths(settings))?),
    };
    let loaded = match store.as_deref_mut() {
        Some(s) => s.take_loaded(),
        None => State::load_migrating(&settings.output.state)?,
    };
    let mut state = loaded.state;
    let client = client(settings)?;

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

    // Every collection is checked before any is read: a typo fails the run up front. A
    // collection that fails for a reason of its own (privileges, index) is reported and the
    // others are read; when none is left, its error is the run's, and nothing is recorded.
    let mut failed = Vec::new();
    let mut checked = Vec::with_capacity(collections.len());
    for c in collections {
        match check(&client, &c, mode).await {
            Ok(found) => checked.push((c, found)),
            Err(e) if e.stream_scoped() => failed.push((c.name, e)),
            Err(e) => return Err(e),
        }
    }
    if checked.is_empty() && !failed.is_empty() {
        return Err(match failed.len() {
            1 => failed.swap_remove(0).1,
            _ => streams_failed(Summary::default(), &failed),
        });
    }
    for (name, e) in &failed {
        tracing::error!(collection = %name, "{e} (going on with the other collections)");
    }

    let format = file_format(settings);
    let names: Vec<String> = checked.iter().map(|(c, _)| c.name.clone()).collect();
    let (output, opened): (Box<dyn Output>, _) = match store.as_deref_mut() {
        Some(s) => {
            s.open_output(format, &mut state, &names, settings.output.verify)
                .await?
        }
        None => {
            let (output, opened) = FilesOutput::open(
                out,
                format,
                &mut state,
                &settings.output.state,
                loaded.v1_files,
                &names,
                settings.output.verify,
            )?;
            (Box::new(output), opened)
        }
    };
    for path in &opened.removed {
        tracing::info!(path = %path.display(), "Removed a file an interrupted run left behind.");
    }

    // One snapshot time per run: an earlier (interrupted) run's, or now.
    let snapshot_ts = match state.streams.values().next() {
        Some(s) => s.snapshot_ts,
        None => match client.query(&Expr::to_micros(Expr::now())).await {
            Ok(Value::Int(t)) => t,
            Ok(other) => {
                return Err(fauna("reading the snapshot time")(
                    FaunaError::InvalidResponse(format!("ToMicros(Now()) gave {other:?}")),
                ))
            }
            Err(e) => return Err(fauna("reading the snapshot time")(e)),
        },
    };

    let mut summary = Summary {
        orphans_removed: opened.removed.len() as u64,
        ..Summary::default()
    };
    let mut ready = Vec::with_capacity(checked.len());
    for (c, found) in checked {
        match prepare(
            &client,
            &mut state,
            &c,
            &found.retention,
            snapshot_ts,
            format,
        )
        .await
        {
            Ok(()) => ready.push((c, found)),
            Err(e) if e.stream_scoped() => {
                tracing::error!(collection = %c.name, "{e} (going on with the other collections)");
                failed.push((c.name, e));
            }
            Err(e) => return Err(e),
        }
    }
    for (c, _) in &ready {
        if state.streams.get(&c.name).map(|s| &s.position) == Some(&Position::Done) {
            summary.already_complete += 1;
        }
    }
    // The id sets live beside the state: a local directory, or for an object store a scratch
    // copy of its objects.
    let ids_dir = match store.as_deref_mut() {
        Some(s) => {
            let dir = s.fetch_id_sets(&state).await?;
            s.save(&state).await?;
            dir
        }
        None => {
            state.save(&settings.output.state)?;
            crate::id_set::id_set_dir(&settings.output.state)
        }
    };

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
    let checkpoint: Box<dyn Checkpoint> = match store {
        Some(s) => s.checkpoint()?,
        None => Box::new(StateFile::new(&settings.output.state)),
    };
    let mut committer = Committer::new(state, output, checkpoint, limits);
    if let Mode::Sync {
        max_duration: Some(d),
    } = mode
    {
        committer.set_deadline(Some(started + d));
    }
    for (c, found) in &ready {
        let collection_started = Instant::now();
        let before = committer.totals();
        let result = match (mode, &found.index) {
            (Mode::Sync { .. }, Some(index)) => {
                let collection = CollectionExport {
                    client: &client,
                    settings: c,
                    ids_dir: Some(ids_dir.clone()),
                    observer,
                    concurrency: settings.concurrency,
                };
                collection.sync(index, &mut committer).await.map(|w| w.to)
            }
            _ => export_one(
                &client,
                count_client.as_ref(),
                c,
                &ids_dir,
                observer,
                settings.concurrency,
                &mut committer,
            )
            .await
            .map(|()| None),
        };
        observer.collection_done(&c.name);
        let after = committer.totals();
        let mut stream = StreamSummary {
            name: c.name.clone(),
            changed: (after.rows - before.rows) - (after.deletions - before.deletions),
            deleted: after.deletions - before.deletions,
            detected: after.detected - before.detected,
            files: after.batches - before.batches,
            seconds: collection_started.elapsed().as_secs_f64(),
            synced_to: None,
        };
        match result {
            Ok(to) => stream.synced_to = to,
            Err(ExportError::Paused) => {
                summary.streams.push(stream);
                summary.paused = true;
                break;
            }
            Err(e) if e.stream_scoped() => {
                // Its open batch (if any) is dropped: a later run reads it again from the
                // committed position, which is all the state holds for it.
                let _ = committer.discard(&c.name);
                tracing::error!(collection = %c.name, "{e} (going on with the other collections)");
                failed.push((c.name.clone(), e));
                continue;
            }
            Err(e) => return Err(e),
        }
        summary.streams.push(stream);
        summary.collections += 1;
    }
    let totals = committer.totals();
    summary.docs = totals.rows;
    summary.files = totals.batches;
    summary.bytes = totals.bytes;
    summary.retries = client.retries();
    summary.queries = client.queries();
    summary.queries_before_data = client.queries_before_data();
    summary.read_ops = client.read_ops();
    summary.paging = client.paging_of(crate::read::reads_documents);
    summary.in_flight = client.concurrency();
    summary.seconds = started.elapsed().as_secs_f64();
    if failed.is_empty() {
        Ok(summary)
    } else {
        Err(streams_failed(summary, &failed))
    }
}

/// What the checks found for a collection.
struct Checked {
    retention: Retention,
    /// The `[ts, ref]` index a sync reads its changes through.
    index: Option<String>,
}

/// The checks of one collection before anything is read (`super::checks`).
async fn check(
    client: &FaunaClient,
    c: &CollectionSettings,
    mode: Mode,
) -> Result<Checked, ExportError> {
    let retention = super::checks::check_collection(client, c).await?;
    let index = match mode {
        Mode::Sync { .. } => Some(super::checks::sync_index(client, c).await?),
        Mode::Export => None,
    };
    Ok(Checked { retention, index })
}

/// The collection's entry in the state: a new one (with its strategy), or the existing one
/// if this run's format and record schema are the ones it was written with.
async fn prepare(
    client: &FaunaClient,
    state: &mut State,
    c: &CollectionSettings,
    retention: &Retention,
    snapshot_ts: i64,
    format: FileFormat,
) -> Result<(), ExportError> {
    let schema = schema_fingerprint(c);
    match state.streams.get_mut(&c.name) {
        Some(s) if s.format != format.name() => Err(ExportError::SettingsChanged {
            collection: c.name.clone(),
            what: "format",
            was: s.format.clone(),
            now: format.name().to_string(),
        }),
        Some(s) => match &s.schema {
            Some(was) if *was != schema => Err(ExportError::SettingsChanged {
                collection: c.name.clone(),
                what: "record schema",
                was: format!("record schema {was}"),
                now: format!("record schema {schema}"),
            }),
            Some(_) => Ok(()),
            // Migrated from version 1: adopt this run's schema.
            None => {
                s.schema = Some(schema);
                Ok(())
            }
        },
        None => {
            let mut stream = StreamState::new(snapshot_ts, format.name());
            stream.schema = Some(schema);
            if let Some(index) = short_retention_index(client, c, retention, snapshot_ts).await? {
                stream.strategy = Strategy::ScanCatchUp;
                stream.index = Some(index);
            }
            state.streams.insert(c.name.clone(), stream);
            Ok(())
        }
    }
}

/// The run's error when collections failed: `summary` with each failure.
fn streams_failed(mut summary: Summary, failed: &[(String, ExportError)]) -> ExportError {
    summary.failed = failed
        .iter()
        .map(|(name, e)| StreamFailure::new(name, e))
        .collect();
    ExportError::StreamsFailed(Box::new(summary))
}

/// One collection's full export, with an ETA count beside it when the observer shows one.
async fn export_one(
    client: &FaunaClient,
    count_client: Option<&FaunaClient>,
    c: &CollectionSettings,
    ids_dir: &std::path::Path,
    observer: &dyn Observer,
    concurrency: u32,
    committer: &mut Committer,
) -> Result<(), ExportError> {
    {
        let before = committer.stream(&c.name).ok().cloned();
        let total = expected_total(count_client, c, before.as_ref());
        let collection = CollectionExport {
            client,
            settings: c,
            ids_dir: Some(ids_dir.to_path_buf()),
            observer,
            concurrency,
        };
        let export = collection.run(committer);
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
    Ok(())
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
pub(crate) async fn short_retention_index(
    client: &FaunaClient,
    c: &CollectionSettings,
    r: &Retention,
    snapshot_ts: i64,
) -> Result<Option<String>, RunError> {
    let window = match r.window_secs() {
        Some(w) if w < 24 * 3600 => w,
        _ => return Ok(None),
    };
    let index = match ts_ref_index(client, &c.name, c.index.as_deref()).await {
        Ok(found) => found,
        Err(e) if c.index.is_some() => {
            return Err(ExportError::Fauna {
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
            return Err(ExportError::BadIndex {
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
