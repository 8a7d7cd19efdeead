//! The one run loop, for `export`, `sync` and Airbyte `read` alike: lock the destination, read
//! the server's time, load the state it resumes from, check every stream, open the output,
//! prepare each stream's entry, then read the streams in order through the one committer. A
//! stream that fails for a reason of its own is reported and the run goes on with the others
//! (`spec/errors.md`, "One collection's failure"); what differs between the modes is the
//! destination ([`Destination`]), each stream's [`ReadMode`], and what the [`Observer`] makes of
//! the run's events.

use std::collections::HashMap;
use std::time::Instant;

use super::checks::{check_collection, sync_index};
use super::client::{client, Use};
use super::destination::{Begun, Destination, OpenOutput, Resumed};
use super::estimate::expected_total;
use super::plan::{Plan, ReadMode, StreamPlan};
use super::prepare::prepare;
use crate::config::Settings;
use crate::fauna::{encode, Expr, FaunaClient, FaunaError, Value};
use crate::id_set::IdStore;
use crate::read::Retention;
use crate::state::Position;
use crate::sync::{
    BatchLimits, CollectionExport, Committer, ExportError, Observer, StreamEnd, StreamFailure,
    StreamSummary, Summary,
};

/// The error of a run: a failure of the run itself, or
/// [`ExportError::StreamsFailed`] when streams failed while the others were read.
pub type RunError = ExportError;

/// Runs `plan` on `destination`, releasing its lock or lease however the run ends.
pub async fn run_with<D: Destination>(
    settings: &Settings,
    plan: &Plan,
    mut destination: D,
    observer: &dyn Observer,
) -> Result<Summary, RunError> {
    let result = run_on(settings, plan, &mut destination, observer).await;
    destination.release().await;
    result
}

/// A stream that passed its checks: how it is read.
struct Ready {
    plan: StreamPlan,
    retention: Retention,
    /// The `[ts, ref]` index of an incremental read.
    index: Option<String>,
}

async fn run_on<D: Destination>(
    settings: &Settings,
    plan: &Plan,
    destination: &mut D,
    observer: &dyn Observer,
) -> Result<Summary, RunError> {
    let started = Instant::now();
    destination.lock().await?;
    let client = client(settings, Use::Run).map_err(fauna("setting up the client"))?;
    let now = server_time(&client).await?;
    let Resumed { mut state, refused } = destination.resume(now).await?;
    let streams = plan.streams(settings, &client).await?;

    // Every stream is checked before any is read: a typo fails the run up front. A stream that
    // fails for a reason of its own (its given state, privileges, index) is reported at its
    // turn and the others are read; when none is left, nothing is recorded.
    let mut refused: HashMap<String, RunError> = refused.into_iter().collect();
    let mut failures: Vec<(String, RunError)> = Vec::new();
    let mut ready = Vec::with_capacity(streams.len());
    for s in &streams {
        if let Some(e) = refused.remove(&s.collection.name) {
            failures.push((s.collection.name.clone(), e));
            continue;
        }
        match check(&client, s, observer).await {
            Ok(r) => ready.push(r),
            Err(e) if e.stream_scoped() => failures.push((s.collection.name.clone(), e)),
            Err(e) => return Err(e),
        }
    }
    if ready.is_empty() && !failures.is_empty() {
        for s in &streams {
            let name = &s.collection.name;
            observer.stream_started(name)?;
            if let Some((_, e)) = failures.iter().find(|(n, _)| n == name) {
                observer.stream_failed(name, e)?;
            }
        }
        let mut summary = counted(Summary::default(), &client, started);
        summary.failed = failed(&failures);
        observer.run_done(&summary)?;
        return Err(match failures.len() {
            1 => failures.swap_remove(0).1,
            _ => ExportError::StreamsFailed(Box::new(Summary {
                failed: summary.failed,
                ..Summary::default()
            })),
        });
    }
    for (name, e) in &failures {
        tracing::error!(collection = %name, "{e} (going on with the other collections)");
    }

    let names: Vec<String> = ready
        .iter()
        .map(|r| r.plan.collection.name.clone())
        .collect();
    let OpenOutput { output, removed } = destination.open_output(&mut state, &names).await?;
    for path in &removed {
        tracing::info!(path = %path.display(), "Removed a file an interrupted run left behind.");
    }
    // An export's collections share one snapshot: an earlier (interrupted) run's, or now.
    let snapshot_ts = match (&plan.read, state.streams.values().next()) {
        (ReadMode::Export, Some(s)) => s.snapshot_ts,
        _ => now,
    };
    let mut summary = Summary {
        orphans_removed: removed.len() as u64,
        ..Summary::default()
    };
    let mut prepared = Vec::with_capacity(ready.len());
    for r in ready {
        let name = r.plan.collection.name.clone();
        match prepare(
            &client,
            &mut state,
            &r.plan,
            &r.retention,
            snapshot_ts,
            destination.format(),
            destination.fixes_schema(),
            observer,
        )
        .await
        {
            Ok(()) => prepared.push(r),
            Err(e) if e.stream_scoped() => {
                tracing::error!(collection = %name, "{e} (going on with the other collections)");
                failures.push((name, e));
            }
            Err(e) => return Err(e),
        }
    }
    for r in &prepared {
        let position = state
            .streams
            .get(&r.plan.collection.name)
            .map(|s| &s.position);
        if position == Some(&Position::Done) {
            summary.already_complete += 1;
        }
    }
    let Begun { ids, checkpoint } = destination.begin(&state).await?;

    // Counts (for an ETA or an estimate) use their own short timeout and no retries.
    let count_client = if observer.wants_total() {
        client_for_count(settings)
    } else {
        None
    };
    let limits = BatchLimits {
        rows: destination.batch_rows(settings.output.batch_rows),
        bytes: settings.output.batch_bytes,
    };
    let mut committer = Committer::new(state, output, checkpoint, limits);
    committer.set_deadline(plan.max_duration.map(|d| started + d));
    let reading = Reading {
        client: &client,
        count_client: count_client.as_ref(),
        ids: &ids,
        observer,
        concurrency: settings.concurrency,
    };
    for s in &streams {
        let name = s.collection.name.as_str();
        observer.stream_started(name)?;
        let Some(r) = prepared.iter().find(|r| r.plan.collection.name == name) else {
            if let Some((_, e)) = failures.iter().find(|(n, _)| n == name) {
                observer.stream_failed(name, e)?;
            }
            continue;
        };
        let collection_started = Instant::now();
        let before = committer.totals();
        let result = reading.stream(r, &mut committer).await;
        observer.collection_done(name);
        let after = committer.totals();
        let mut stream = StreamSummary {
            name: name.to_string(),
            changed: (after.rows - before.rows) - (after.deletions - before.deletions),
            deleted: after.deletions - before.deletions,
            detected: after.detected - before.detected,
            files: after.batches - before.batches,
            seconds: collection_started.elapsed().as_secs_f64(),
            synced_to: None,
        };
        match result {
            Ok(read) => {
                stream.synced_to = read.window_end();
                let end = StreamEnd {
                    state: committer.stream(name)?,
                    ahead_of_server: read.ahead_of_server(committer.stream(name)?),
                    run_time: now,
                };
                observer.stream_done(name, &end)?;
            }
            Err(ExportError::Paused) => {
                summary.streams.push(stream);
                summary.paused = true;
                break;
            }
            Err(e) if e.stream_scoped() => {
                // Its open batch (if any) is dropped: a later run reads it again from the
                // committed position, which is all the state holds for it.
                let _ = committer.discard(name);
                tracing::error!(collection = %name, "{e} (going on with the other collections)");
                observer.stream_failed(name, &e)?;
                failures.push((name.to_string(), e));
                continue;
            }
            Err(e) => {
                observer.stream_stopped(name);
                return Err(e);
            }
        }
        summary.streams.push(stream);
        summary.collections += 1;
    }
    let totals = committer.totals();
    summary.docs = totals.rows;
    summary.files = totals.batches;
    summary.bytes = totals.bytes;
    let mut summary = counted(summary, &client, started);
    summary.failed = failed(&failures);
    observer.run_done(&summary)?;
    if failures.is_empty() {
        Ok(summary)
    } else {
        Err(ExportError::StreamsFailed(Box::new(summary)))
    }
}

/// `summary` with the client's counts and the run's time.
fn counted(mut summary: Summary, client: &FaunaClient, started: Instant) -> Summary {
    summary.retries = client.retries();
    summary.queries = client.queries();
    summary.queries_before_data = client.queries_before_data();
    summary.read_ops = client.read_ops();
    summary.paging = client.paging_of(crate::read::reads_documents);
    summary.in_flight = client.concurrency();
    summary.seconds = started.elapsed().as_secs_f64();
    summary
}

/// The failures as the summary lists them: those of the checks first, then in reading order.
fn failed(failures: &[(String, RunError)]) -> Vec<StreamFailure> {
    failures
        .iter()
        .map(|(name, e)| StreamFailure::new(name, e))
        .collect()
}

/// The count's client; without one (it could not be set up) nothing is counted.
fn client_for_count(settings: &Settings) -> Option<FaunaClient> {
    client(settings, Use::Count).ok()
}

fn fauna(context: &str) -> impl FnOnce(FaunaError) -> ExportError {
    let context = context.to_string();
    move |source| ExportError::Fauna { context, source }
}

/// The server's time (µs): the snapshot of new streams, and the time the run began.
async fn server_time(client: &FaunaClient) -> Result<i64, RunError> {
    match client.query(&Expr::to_micros(Expr::now())).await {
        Ok(Value::Int(t)) => Ok(t),
        Ok(other) => Err(fauna("reading the server's time")(
            FaunaError::InvalidResponse(format!("ToMicros(Now()) gave {}", encode(&other))),
        )),
        Err(e) => Err(fauna("reading the server's time")(e)),
    }
}

/// The checks of one stream before anything is read (`super::checks`): its retention and, for
/// an incremental read, its `[ts, ref]` index. An incremental read that may fall back to a
/// full refresh does so, with a warning, when the collection has no fitting index.
async fn check(
    client: &FaunaClient,
    s: &StreamPlan,
    observer: &dyn Observer,
) -> Result<Ready, RunError> {
    let retention = check_collection(client, &s.collection).await?;
    let (read, index) = match s.read {
        ReadMode::Incremental { or_refresh } => match sync_index(client, &s.collection).await {
            Ok(index) => (s.read, Some(index)),
            Err(ExportError::NoIndex { problem, .. }) if or_refresh => {
                let message = format!(
                    "stream '{}' is read in full refresh: incremental needs a [ts, ref] index ({problem})",
                    s.collection.name
                );
                tracing::warn!(collection = %s.collection.name, "{message}");
                observer.warning(&s.collection.name, &message)?;
                (ReadMode::Refresh, None)
            }
            Err(e) => return Err(e),
        },
        ReadMode::Export | ReadMode::Refresh => (s.read, None),
    };
    Ok(Ready {
        plan: StreamPlan {
            collection: s.collection.clone(),
            read,
        },
        retention,
        index,
    })
}

/// What reading the streams needs.
struct Reading<'a> {
    client: &'a FaunaClient,
    count_client: Option<&'a FaunaClient>,
    ids: &'a IdStore,
    observer: &'a dyn Observer,
    concurrency: u32,
}

/// How a stream's read ended.
enum Read {
    /// Its full read (done, or already complete).
    Full,
    /// Its incremental read: the end of the window now committed, `None` when none was read.
    Window(Option<i64>),
}

impl Read {
    fn window_end(&self) -> Option<i64> {
        match self {
            Read::Window(to) => *to,
            Read::Full => None,
        }
    }

    /// The synced time that is ahead of the server's, when no window was read for that reason.
    fn ahead_of_server(&self, state: &crate::state::StreamState) -> Option<i64> {
        match (self, &state.position) {
            (Read::Window(None), Position::Synced { to }) => Some(*to),
            _ => None,
        }
    }
}

impl Reading<'_> {
    /// Reads one stream with an expected total beside it, or before it when the observer needs
    /// the total first.
    async fn stream(&self, r: &Ready, committer: &mut Committer) -> Result<Read, ExportError> {
        let name = r.plan.collection.name.as_str();
        let before = committer.stream(name).ok().cloned();
        let total = expected_total(self.count_client, &r.plan.collection, before.as_ref());
        let collection = CollectionExport {
            client: self.client,
            settings: &r.plan.collection,
            retention: r.retention.clone(),
            ids: self.ids,
            observer: self.observer,
            concurrency: self.concurrency,
        };
        if self.observer.total_first() {
            if let Some((total, done)) = total.await {
                self.observer.total_known(name, total, done);
            }
            self.observer.stream_reading(name)?;
            return read(&collection, r, committer).await;
        }
        self.observer.stream_reading(name)?;
        let read = read(&collection, r, committer);
        // The count runs beside the read and is dropped if the read ends first.
        tokio::pin!(read, total);
        tokio::select! {
            r = &mut read => r,
            t = &mut total => {
                if let Some((total, done)) = t {
                    self.observer.total_known(name, total, done);
                }
                read.await
            }
        }
    }
}

/// Reads the stream with its read mode: a full read, or the incremental one through its index.
async fn read(
    collection: &CollectionExport<'_>,
    r: &Ready,
    committer: &mut Committer,
) -> Result<Read, ExportError> {
    match (&r.plan.read, &r.index) {
        (ReadMode::Incremental { .. }, Some(index)) => collection
            .sync(index, committer)
            .await
            .map(|w| Read::Window(w.to)),
        _ => collection.run(committer).await.map(|()| Read::Full),
    }
}
