//! The loader loop: the manifest's files not yet loaded, in commit order, each applied in one
//! transaction with its bookkeeping row (staging `COPY`, merge, record, commit).
//!
//! A failure that concerns one stream (its table changed by hand, a file that cannot be read
//! or loaded, a privilege on its table) stops that stream's files and the others go on; a
//! failure of the connection or the target stops the load. Either way every committed file
//! stays committed, and a re-run continues with the first file not recorded.

use std::collections::BTreeMap;
use std::time::Instant;

use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::Client;

use super::bookkeeping::{self, Counts};
use super::copy::{encode_file, FileStats};
use super::error::LoadError;
use super::foreign_keys::{self, ForeignKey};
use super::merge;
use super::source::Source;
use super::table::{self, Mode, Table};
use crate::error::ErrorKind;
use crate::sink::CommittedFile;

/// What to load and how.
#[derive(Clone, Debug)]
pub struct Options {
    /// The target schema.
    pub schema: String,
    /// How deletions are kept.
    pub mode: Mode,
    /// Only these streams (all when empty).
    pub streams: Vec<String>,
    /// Foreign keys to declare after the load.
    pub foreign_keys: Vec<ForeignKey>,
    /// Validate them too.
    pub validate_foreign_keys: bool,
    /// How long to wait for another load into the schema.
    pub lock_wait: std::time::Duration,
}

/// One stream's part of a load.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamReport {
    /// The stream.
    pub stream: String,
    /// `schema.table`.
    pub table: String,
    /// Files applied by this run.
    pub files: u64,
    /// Records in them.
    pub records: u64,
    /// What they changed.
    pub counts: Counts,
    /// Seconds spent on them.
    pub seconds: f64,
    /// Why the stream stopped, if it failed.
    pub failed: Option<(ErrorKind, String)>,
}

/// What a load did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Per stream, in order of first appearance in the manifest.
    pub streams: Vec<StreamReport>,
    /// Files the manifest lists (for the selected streams).
    pub listed: u64,
    /// Of them, loaded by earlier runs.
    pub already: u64,
    /// The foreign keys' lines.
    pub foreign_keys: Vec<String>,
    /// Seconds.
    pub seconds: f64,
}

impl Report {
    /// The first failed stream's kind.
    pub fn failure(&self) -> Option<ErrorKind> {
        self.streams
            .iter()
            .find_map(|s| s.failed.as_ref().map(|(k, _)| *k))
    }
}

/// Loads `source` into the connected target; `report` collects what was done even when the
/// load stops with an error.
pub async fn load(
    client: &mut Client,
    target: &str,
    source: &Source,
    options: &Options,
    report: &mut Report,
) -> Result<(), LoadError> {
    let started = Instant::now();
    let schema = options.schema.as_str();
    bookkeeping::lock(client, schema, target, options.lock_wait).await?;
    bookkeeping::ensure(client, schema).await?;
    let loaded = bookkeeping::loaded(client, schema, &source.output_id).await?;
    let selected =
        |stream: &str| options.streams.is_empty() || options.streams.iter().any(|s| s == stream);
    let mut pending: Vec<&CommittedFile> = Vec::new();
    for f in &source.files {
        if !selected(&f.stream) {
            continue;
        }
        report.listed += 1;
        match loaded.get(&f.path) {
            Some(l) if l.sha256 != f.sha256 => {
                return Err(LoadError::Bookkeeping(format!(
                    "{} was loaded into schema {schema} with SHA-256 {}, but the output {} now lists it with {}: the output was rebuilt under the same id; load it into another --schema",
                    f.path, l.sha256, source.shown, f.sha256
                )))
            }
            Some(_) => report.already += 1,
            None => pending.push(f),
        }
    }
    let listed: std::collections::HashSet<&str> =
        source.files.iter().map(|f| f.path.as_str()).collect();
    let unknown = loaded
        .keys()
        .filter(|f| !listed.contains(f.as_str()))
        .count();
    if unknown > 0 {
        tracing::warn!(files = unknown, "The target records loaded files of this output that its manifest no longer lists (the output was set back?); they stay loaded.");
    }
    if !pending.is_empty() {
        foreign_keys::drop_managed(client, schema, &[]).await?;
    }
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    let index = |report: &mut Report, stream: &str| -> usize {
        match report.streams.iter().position(|s| s.stream == stream) {
            Some(i) => i,
            None => {
                report.streams.push(StreamReport {
                    stream: stream.to_string(),
                    table: format!("{schema}.{stream}"),
                    ..StreamReport::default()
                });
                report.streams.len() - 1
            }
        }
    };
    for file in pending {
        let i = index(report, &file.stream);
        if report.streams[i].failed.is_some() {
            continue;
        }
        let file_started = Instant::now();
        let result = async {
            if !tables.contains_key(&file.stream) {
                let t = prepare(client, source, &file.stream, options).await?;
                tables.insert(file.stream.clone(), t);
            }
            let t = &tables[&file.stream];
            apply(client, source, file, t, &source.output_id).await
        }
        .await;
        let s = &mut report.streams[i];
        s.seconds += file_started.elapsed().as_secs_f64();
        match result {
            Ok(counts) => {
                s.files += 1;
                s.records += file.rows;
                s.counts.add(counts);
            }
            Err(e) if e.is_stream_failure() => {
                tracing::error!(stream = %file.stream, error = %e, "The stream's load failed; the other streams go on.");
                s.failed = Some((e.kind(), e.to_string()));
            }
            Err(e) => {
                report.seconds = started.elapsed().as_secs_f64();
                return Err(e);
            }
        }
    }
    foreign_keys::drop_managed(client, schema, &options.foreign_keys).await?;
    report.foreign_keys = foreign_keys::create(
        client,
        schema,
        &options.foreign_keys,
        options.validate_foreign_keys,
    )
    .await?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(())
}

/// The stream's table: made, checked, grown, in its own transaction.
async fn prepare(
    client: &mut Client,
    source: &Source,
    stream: &str,
    options: &Options,
) -> Result<Table, LoadError> {
    let schema = source.schemas.get(stream).ok_or_else(|| LoadError::File {
        file: stream.to_string(),
        reason: "the output's state records no record schema for this stream (run `fauna-sync sync` once with this output to record it)".into(),
        kind: ErrorKind::State,
    })?;
    let name = table::table_name(stream).map_err(|reason| LoadError::Table {
        table: format!("{}.{stream}", options.schema),
        reason,
    })?;
    let columns =
        table::columns(schema, source.plans.get(stream)).map_err(|reason| LoadError::Table {
            table: format!("{}.{name}", options.schema),
            reason,
        })?;
    let t = Table {
        schema: options.schema.clone(),
        name,
        columns,
        mode: options.mode,
    };
    let tx = client
        .transaction()
        .await
        .map_err(|e| LoadError::db("begin a transaction", &e))?;
    table::ensure(&tx, stream, &t).await?;
    tx.commit()
        .await
        .map_err(|e| LoadError::db(format!("commit the table {}", t.shown()), &e))?;
    Ok(t)
}

/// Applies one file in one transaction with its bookkeeping row.
async fn apply(
    client: &mut Client,
    source: &Source,
    file: &CommittedFile,
    table: &Table,
    output_id: &str,
) -> Result<Counts, LoadError> {
    let context = format!("load {} into {}", file.path, table.shown());
    let local = source.fetch(file).await?;
    let size = std::fs::metadata(&local.path)
        .map_err(|e| LoadError::File {
            file: file.path.clone(),
            reason: format!("listed in the manifest but cannot be read: {e}"),
            kind: ErrorKind::State,
        })?
        .len();
    if size != file.bytes {
        return Err(LoadError::File {
            file: file.path.clone(),
            reason: format!(
                "has {size} bytes, the manifest says {} (changed since it was committed; `fauna-sync verify`)",
                file.bytes
            ),
            kind: ErrorKind::State,
        });
    }
    let tx = client
        .transaction()
        .await
        .map_err(|e| LoadError::db(context.clone(), &e))?;
    let copy = merge::stage(&tx, table).await?;
    let sink = tx
        .copy_in::<_, Bytes>(&copy)
        .await
        .map_err(|e| LoadError::db(context.clone(), &e))?;
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Bytes>(4);
    let reader = {
        let path = local.path.clone();
        let name = file.path.clone();
        let format = file.format;
        let columns = table.columns.clone();
        let known = local.sha256.clone();
        tokio::task::spawn_blocking(move || {
            encode_file(
                &path,
                &name,
                format,
                &columns,
                known.as_deref(),
                &mut |chunk| sender.blocking_send(chunk).is_ok(),
            )
        })
    };
    let mut sink = std::pin::pin!(sink);
    let mut sent: Result<(), tokio_postgres::Error> = Ok(());
    while let Some(chunk) = receiver.recv().await {
        if let Err(e) = sink.send(chunk).await {
            sent = Err(e);
            break;
        }
    }
    drop(receiver);
    let stats: FileStats = reader.await.map_err(|e| LoadError::File {
        file: file.path.clone(),
        reason: format!("the reading task failed: {e}"),
        kind: ErrorKind::Data,
    })??;
    sent.map_err(|e| LoadError::db(context.clone(), &e))?;
    if stats.sha256 != file.sha256 {
        return Err(LoadError::File {
            file: file.path.clone(),
            reason: "does not match its SHA-256 in the manifest (changed since it was committed; `fauna-sync verify`)".into(),
            kind: ErrorKind::State,
        });
    }
    if stats.rows != file.rows {
        return Err(LoadError::File {
            file: file.path.clone(),
            reason: format!(
                "holds {} records, the manifest says {}",
                stats.rows, file.rows
            ),
            kind: ErrorKind::Data,
        });
    }
    sink.as_mut()
        .finish()
        .await
        .map_err(|e| LoadError::db(context.clone(), &e))?;
    crate::crash::point("load-after-copy");
    let counts = merge::merge(&tx, &file.stream, table, &stats, &context).await?;
    crate::crash::point("load-after-merge");
    bookkeeping::record(&tx, &table.schema, output_id, file, counts).await?;
    crate::crash::point("load-before-commit");
    tx.commit()
        .await
        .map_err(|e| LoadError::db(context.clone(), &e))?;
    crate::crash::point("load-after-commit");
    tracing::debug!(file = %file.path, table = %table.shown(), inserted = counts.inserted, updated = counts.updated, deleted = counts.deleted, stale = counts.stale, "File loaded.");
    Ok(counts)
}
