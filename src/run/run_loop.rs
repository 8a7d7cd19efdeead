//! The one run loop, for `export`, `sync` and Airbyte `read` alike: lock the destination, read
//! the server's time, load the state it resumes from, check every stream, open the output,
//! prepare each stream's entry, then read the streams in order through the one committer. A
//! stream that fails for a reason of its own is reported and the run goes on with the others
//! (`spec/errors.md`, "One collection's failure"); what differs between the modes is the
//! destination ([`Destination`]), each stream's [`ReadMode`], and what the [`Observer`] makes of
//! the run's events.

use std::collections::HashMap;
use std::time::Instant;

use super::checks::check_stream;
use super::client::{self, Use};
use super::columns::columns_mode;
use super::databases::{scope, unreachable, DatabaseClients};
use super::destination::{Begun, Destination, OpenOutput, Resumed};
use super::gone::{delete_gone, gone_streams};
use super::plan::{Plan, ReadMode, StreamPlan};
use super::prepare::prepare;
use super::reading::{Reading, Ready};
use crate::config::Settings;
use crate::fauna::{encode, Expr, FaunaClient, FaunaError, Value};
use crate::state::{Position, State};
use crate::sync::{
    BatchLimits, Committer, ExportError, Observer, StreamEnd, StreamFailure, StreamSummary, Summary,
};

/// Streams that failed for a reason of their own, in the order they failed, and why.
type Failures = Vec<(String, ExportError)>;

/// Runs `plan` on `destination`, releasing its lock or lease however the run ends.
pub async fn run_with<D: Destination>(
    settings: &Settings,
    plan: &Plan,
    mut destination: D,
    observer: &dyn Observer,
) -> Result<Summary, ExportError> {
    let result = run_on(settings, plan, &mut destination, observer).await;
    destination.release().await;
    result
}

async fn run_on<D: Destination>(
    settings: &Settings,
    plan: &Plan,
    destination: &mut D,
    observer: &dyn Observer,
) -> Result<Summary, ExportError> {
    let started = Instant::now();
    destination.lock().await?;
    let client = client::client(settings, Use::Run).map_err(fauna("setting up the client"))?;
    let now = server_time(&client).await?;
    let Resumed { mut state, refused } = destination.resume(now).await?;
    let mut clients = DatabaseClients::new(client, Use::Run);
    let (streams, tree) = plan.streams(settings, &mut clients).await?;
    let gone = match &tree {
        Some(tree) => gone_streams(settings, &state, tree),
        None => Vec::new(),
    };
    let (ready, mut failures) = check_all(&clients, &streams, refused, observer).await?;
    if ready.is_empty() && !failures.is_empty() {
        return Err(nothing_to_read(
            &streams, failures, &clients, started, observer,
        )?);
    }
    for (name, e) in &failures {
        tracing::error!(collection = %name, "{e} (going on with the other collections)");
    }

    // The streams whose files the run writes: a merged database's go to its collection's.
    let mut names: Vec<String> = Vec::new();
    let written = ready
        .iter()
        .map(|r| match r.plan.merged_into() {
            Some(group) => group.to_string(),
            None => r.plan.name(),
        })
        .chain(
            gone.iter()
                .map(|(name, _, collection)| match settings.databases.merge {
                    true => collection.clone(),
                    false => name.clone(),
                }),
        );
    for name in written {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let OpenOutput { output, removed } = destination.open_output(&mut state, &names).await?;
    for path in &removed {
        tracing::info!(path = %path.display(), "Removed a file an interrupted run left behind.");
    }
    // An export's collections share one snapshot: a plan's, an earlier (interrupted) run's,
    // or now.
    let snapshot_ts = match (&plan.pinned, &plan.read, state.streams.values().next()) {
        (Some(pinned), _, _) => pinned.snapshot_ts,
        (None, ReadMode::Export, Some(s)) => s.snapshot_ts,
        _ => now,
    };
    let mut prepared = Vec::with_capacity(ready.len());
    for r in ready {
        let format = (
            destination.format(),
            destination.fixes_schema(),
            settings.databases.is_tree(),
        );
        let client = clients.get(&r.plan.database)?;
        let ranges = plan
            .pinned
            .as_ref()
            .and_then(|p| p.ranges.get(&r.plan.collection.name))
            .map(Vec::as_slice);
        let start = (snapshot_ts, ranges);
        let prepared_entry = prepare(client, &mut state, &r, start, format, observer)
            .await
            .and_then(|()| {
                let name = r.plan.name();
                let entry = state
                    .streams
                    .get_mut(&name)
                    .ok_or_else(|| ExportError::StreamMissing(name.clone()))?;
                columns_mode(
                    entry,
                    &r.plan.collection,
                    settings.output.columns,
                    &settings.output.flatten,
                    format.0,
                )
            });
        match prepared_entry {
            Ok(typed) => {
                let mut r = r;
                r.plan.collection.typed = typed;
                prepared.push(r)
            }
            Err(e) if e.stream_scoped() => {
                let name = r.plan.name();
                tracing::error!(collection = %name, "{e} (going on with the other collections)");
                failures.push((name, e));
            }
            Err(e) => return Err(e),
        }
    }
    let mut summary = Summary {
        orphans_removed: removed.len() as u64,
        already_complete: already_complete(&state, &prepared),
        ..Summary::default()
    };
    let Begun { ids, checkpoint } = destination.begin(&state).await?;

    let limits = BatchLimits {
        rows: destination.batch_rows(settings.output.batch_rows),
        bytes: settings.output.batch_bytes,
    };
    let mut committer = Committer::new(state, output, checkpoint, limits);
    committer.set_contract(settings.output.contract);
    for r in &prepared {
        if let Some(contract) = r.plan.collection.contract {
            committer.set_stream_contract(&r.plan.name(), contract);
        }
    }
    committer.set_deadline(plan.max_duration.map(|d| started + d));
    let gone = delete_gone(settings, &gone, &ids, &mut committer, now, observer).await?;
    summary.streams.extend(gone);
    // Counts (for an ETA or an estimate) use their own short timeout and no retries; without
    // such a client (it could not be set up) nothing is counted.
    let count_clients = match observer.wants_total() {
        true => count_clients(settings, &prepared),
        false => None,
    };
    let reading = Reading {
        clients: &clients,
        count_clients: count_clients.as_ref(),
        ids: &ids,
        observer,
        concurrency: settings.concurrency,
        run_time: now,
    };
    for s in &streams {
        let name = s.name();
        let name = name.as_str();
        // The strategies name the stream by its collection; the committer knows its database.
        let collection = s.collection.name.as_str();
        observer.stream_started(name)?;
        let Some(r) = prepared.iter().find(|r| r.plan.name() == name) else {
            if let Some((_, e)) = failures.iter().find(|(n, _)| n == name) {
                observer.stream_failed(name, e)?;
            }
            continue;
        };
        let collection_started = Instant::now();
        let before = committer.totals();
        committer.enter(scope(settings, &r.plan.database));
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
            variant_values: after.variant_values - before.variant_values,
            discarded: after.discarded - before.discarded,
        };
        match result {
            Ok(end) => {
                stream.synced_to = end.synced_to;
                let state = committer.stream(collection)?;
                observer.stream_done(name, &end.of(state))?;
            }
            Err(ExportError::Paused) => {
                summary.streams.push(stream);
                summary.paused = true;
                break;
            }
            Err(e) if e.stream_scoped() => {
                // Its open batch (if any) is dropped: a later run reads it again from the
                // committed position, which is all the state holds for it.
                let _ = committer.discard(collection);
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
    let mut summary = counted(summary, &clients, started);
    summary.failed = failed(&failures);
    observer.run_done(&summary)?;
    if failures.is_empty() {
        Ok(summary)
    } else {
        Err(ExportError::StreamsFailed(Box::new(summary)))
    }
}

/// Checks every stream before any is read: a typo fails the run up front (the error), a stream
/// that fails for a reason of its own (its given state, privileges, index) is kept with its
/// error, to be reported at its turn while the others are read.
async fn check_all(
    clients: &DatabaseClients,
    streams: &[StreamPlan],
    refused: Vec<(String, ExportError)>,
    observer: &dyn Observer,
) -> Result<(Vec<Ready>, Failures), ExportError> {
    let mut refused: HashMap<String, ExportError> = refused.into_iter().collect();
    let mut failures = Failures::new();
    let mut ready = Vec::with_capacity(streams.len());
    for s in streams {
        let name = s.name();
        if let Some(e) = refused.remove(&name) {
            failures.push((name, e));
            continue;
        }
        let checked = check_stream(clients.get(&s.database)?, s, observer).await;
        match checked.map_err(|e| unreachable(&s.database, e)) {
            Ok(r) => ready.push(r),
            Err(e) if e.stream_scoped() => failures.push((name, e)),
            Err(e) => return Err(e),
        }
    }
    Ok((ready, failures))
}

/// Every stream failed its checks: each is reported at its turn and nothing is opened or
/// recorded; the run's error is the failure (or, for several, all of them).
fn nothing_to_read(
    streams: &[StreamPlan],
    mut failures: Failures,
    clients: &DatabaseClients,
    started: Instant,
    observer: &dyn Observer,
) -> Result<ExportError, ExportError> {
    for s in streams {
        let name = s.name();
        observer.stream_started(&name)?;
        if let Some((_, e)) = failures.iter().find(|(n, _)| *n == name) {
            observer.stream_failed(&name, e)?;
        }
    }
    let mut summary = counted(Summary::default(), clients, started);
    summary.failed = failed(&failures);
    observer.run_done(&summary)?;
    Ok(match failures.len() {
        1 => failures.swap_remove(0).1,
        _ => ExportError::StreamsFailed(Box::new(Summary {
            failed: summary.failed,
            ..Summary::default()
        })),
    })
}

/// The streams an earlier run already read to their end.
fn already_complete(state: &State, prepared: &[Ready]) -> u64 {
    prepared
        .iter()
        .filter(|r| state.streams.get(&r.plan.name()).map(|s| &s.position) == Some(&Position::Done))
        .count() as u64
}

/// `summary` with the clients' counts and the run's time (the paging figures are those of the
/// key's own database).
fn counted(mut summary: Summary, clients: &DatabaseClients, started: Instant) -> Summary {
    let client = clients.root();
    summary.retries = client.retries();
    summary.queries = client.queries();
    summary.queries_before_data = client.queries_before_data();
    summary.read_ops = client.read_ops();
    for c in clients.below() {
        summary.retries += c.retries();
        summary.queries += c.queries();
        summary.queries_before_data += c.queries_before_data();
        summary.read_ops += c.read_ops();
    }
    summary.paging = client.paging_of(crate::read::reads_documents);
    summary.in_flight = client.concurrency();
    summary.seconds = started.elapsed().as_secs_f64();
    summary
}

/// The failures as the summary lists them: those of the checks first, then in reading order.
fn failed(failures: &[(String, ExportError)]) -> Vec<StreamFailure> {
    failures
        .iter()
        .map(|(name, e)| StreamFailure::new(name, e))
        .collect()
}

/// The clients of the expected totals, one per database of the `prepared` streams; `None`
/// when one cannot be set up (nothing is counted then).
fn count_clients(settings: &Settings, prepared: &[Ready]) -> Option<DatabaseClients> {
    let root = client::client(settings, Use::Count).ok()?;
    let mut clients = DatabaseClients::new(root, Use::Count);
    for r in prepared {
        clients.add(settings, &r.plan.database).ok()?;
    }
    Some(clients)
}

fn fauna(context: &str) -> impl FnOnce(FaunaError) -> ExportError {
    let context = context.to_string();
    move |source| ExportError::Fauna { context, source }
}

/// The server's time (µs): the snapshot of new streams, and the time the run began.
async fn server_time(client: &FaunaClient) -> Result<i64, ExportError> {
    match client.query(&Expr::to_micros(Expr::now())).await {
        Ok(Value::Int(t)) => Ok(t),
        Ok(other) => Err(fauna("reading the server's time")(
            FaunaError::InvalidResponse(format!("ToMicros(Now()) gave {}", encode(&other))),
        )),
        Err(e) => Err(fauna("reading the server's time")(e)),
    }
}

/// How a stream's read ended, for its [`StreamEnd`].
pub(super) struct Ended {
    /// Incremental: the end of the window now committed.
    pub synced_to: Option<i64>,
    /// Incremental: no window was read (a synced time ahead of the server's).
    pub nothing_read: bool,
    /// The server's time when the run began.
    pub run_time: i64,
}

impl Ended {
    /// The stream's end as the observer is told, with its committed `state`.
    fn of<'a>(&self, state: &'a crate::state::StreamState) -> StreamEnd<'a> {
        let ahead_of_server = match (&state.position, self.nothing_read) {
            (Position::Synced { to }, true) => Some(*to),
            _ => None,
        };
        StreamEnd {
            state,
            ahead_of_server,
            run_time: self.run_time,
        }
    }
}
