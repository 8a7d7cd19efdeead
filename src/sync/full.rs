//! Full export of one collection at one snapshot: pages of `Documents(c)` read with
//! `At(snapshot_ts, …)`, buffered into batches, each batch committed (file, then state) before
//! the next. The state's position is always the exact first document not yet committed, so a
//! resumed run writes every document exactly once.

use std::path::Path;

use thiserror::Error;

use super::document::{document_record, RecordError};
use super::state::{Position, State, StateError, StreamState};
use crate::config::CollectionSettings;
use crate::export::{Record, RecordSchema};
use crate::fauna::{decode, encode, Expr, FaunaClient, FaunaError, Ref, Value};
use crate::sink::{write_manifest, BatchWriter, SinkError};

/// What can stop a collection's export.
#[derive(Debug, Error)]
pub enum ExportError {
    /// Fauna refused or failed.
    #[error("collection '{collection}': {source}")]
    Fauna {
        /// The collection.
        collection: String,
        /// The error.
        source: FaunaError,
    },
    /// The pinned snapshot fell out of the collection's history retention.
    #[error("collection '{collection}': the snapshot at {snapshot_ts} is older than the collection keeps history ({detail}); delete the state file and the collection's output to export again from a fresh snapshot, or raise the collection's history_days")]
    SnapshotExpired {
        /// The collection.
        collection: String,
        /// The snapshot time.
        snapshot_ts: i64,
        /// Fauna's message.
        detail: String,
    },
    /// A document could not become a record.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Writing a batch failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// Writing the state failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The server's page was not a page.
    #[error("collection '{collection}': unexpected page shape: {detail}")]
    BadPage {
        /// The collection.
        collection: String,
        /// What was wrong.
        detail: String,
    },
}

/// Hooks for progress display; all optional.
pub trait Observer: Send + Sync {
    /// A page of `docs` documents was read.
    fn page_read(&self, _collection: &str, _docs: u64) {}
    /// A batch file was committed.
    fn batch_committed(&self, _collection: &str, _rows: u64, _bytes: u64) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

/// The record schema of a collection's stream.
pub fn record_schema(settings: &CollectionSettings) -> RecordSchema {
    RecordSchema {
        data_column: settings.data_column,
        columns: settings
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.column_type))
            .collect(),
        deletion_column: settings.deletion_column.clone(),
    }
}

/// The state of `name`, which [`FullExport::run`] found there when it started.
fn stream_mut<'s>(state: &'s mut State, name: &str) -> Result<&'s mut StreamState, ExportError> {
    state
        .streams
        .get_mut(name)
        .ok_or_else(|| ExportError::BadPage {
            collection: name.to_string(),
            detail: "the stream vanished from the state".into(),
        })
}

/// Everything one collection's export needs.
pub struct FullExport<'a> {
    /// The client.
    pub client: &'a FaunaClient,
    /// The collection's settings.
    pub settings: &'a CollectionSettings,
    /// The sink.
    pub sink: &'a BatchWriter,
    /// Rows per batch file.
    pub batch_rows: u64,
    /// The state file path.
    pub state_path: &'a Path,
    /// Progress hooks.
    pub observer: &'a dyn Observer,
}

impl FullExport<'_> {
    /// Exports the collection from wherever `state` says it stands; updates and saves `state`
    /// after every committed batch.
    pub async fn run(&self, state: &mut State) -> Result<(), ExportError> {
        let name = self.settings.name.clone();
        let schema = record_schema(self.settings);
        let Some(stream) = state.streams.get(&name) else {
            return Ok(());
        };
        let snapshot_ts = stream.snapshot_ts;
        let mut cursor: Option<Value> = match &stream.position {
            Position::Done => return Ok(()),
            Position::Start => None,
            Position::After { cursor } => {
                Some(decode(cursor.as_bytes()).map_err(|e| ExportError::BadPage {
                    collection: name.clone(),
                    detail: format!("stored cursor unreadable: {e}"),
                })?)
            }
        };
        let mut buf: Vec<Record> = Vec::new();
        loop {
            let (docs, next) = self.fetch_page(snapshot_ts, cursor.as_ref()).await?;
            self.observer.page_read(&name, docs.len() as u64);
            for doc in docs {
                buf.push(document_record(doc, self.settings)?);
            }
            let batch = self.batch_rows as usize;
            while buf.len() >= batch || (next.is_none() && !buf.is_empty()) {
                let rest = buf.split_off(buf.len().min(batch));
                let stream = stream_mut(state, &name)?;
                let file = self
                    .sink
                    .write_batch(&name, stream.next_seq, &schema, &buf)?;
                self.observer.batch_committed(&name, file.rows, file.bytes);
                buf = rest;
                stream.next_seq += 1;
                stream.rows += file.rows;
                stream.files.push(file);
                // The position is the first document not yet committed.
                stream.position = match (buf.first(), &next) {
                    (Some(first), _) => Position::After {
                        cursor: encode(&Value::Array(vec![Value::Ref(Ref::document(
                            &name, &first.id,
                        ))])),
                    },
                    (None, Some(n)) => Position::After { cursor: encode(n) },
                    (None, None) => Position::Done,
                };
                crate::sync::crash_point("after-batch-rename");
                state.save(self.state_path)?;
                write_manifest(self.sink.root(), &state.committed_files())?;
            }
            match next {
                Some(n) => cursor = Some(n),
                None => {
                    // An empty last page commits no batch; mark the stream done all the same.
                    let stream = stream_mut(state, &name)?;
                    if stream.position != Position::Done {
                        stream.position = Position::Done;
                        state.save(self.state_path)?;
                    }
                    return Ok(());
                }
            }
        }
    }

    /// One page at the snapshot: the documents and the next cursor.
    async fn fetch_page(
        &self,
        snapshot_ts: i64,
        after: Option<&Value>,
    ) -> Result<(Vec<Value>, Option<Value>), ExportError> {
        let name = &self.settings.name;
        let mut page = Expr::paginate(Expr::documents(Expr::collection(name)))
            .with("size", i64::from(self.settings.page_size));
        if let Some(a) = after {
            page = page.with("after", a.clone());
        }
        let q = Expr::at(
            snapshot_ts,
            Expr::map(Expr::lambda("x", Expr::get(Expr::var("x"))), page),
        );
        let resp = self.client.query(&q).await.map_err(|e| {
            let expired = e.status() == Some(400)
                && e.code() == Some("bad request")
                && e.to_string()
                    .contains("less than minimum allowed timestamp");
            if expired {
                ExportError::SnapshotExpired {
                    collection: name.clone(),
                    snapshot_ts,
                    detail: e.to_string(),
                }
            } else {
                ExportError::Fauna {
                    collection: name.clone(),
                    source: e,
                }
            }
        })?;
        let bad = |detail: &str| ExportError::BadPage {
            collection: name.clone(),
            detail: detail.to_string(),
        };
        let Value::Object(mut page) = resp else {
            return Err(bad("not an object"));
        };
        let docs = match page.swap_remove("data") {
            Some(Value::Array(d)) => d,
            _ => return Err(bad("no data array")),
        };
        Ok((docs, page.swap_remove("after")))
    }
}
