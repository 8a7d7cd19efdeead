//! Full export of one collection at one snapshot: pages of `Documents(c)` read with
//! `At(snapshot_ts, …)`, buffered into batches, each batch committed (file, then state) before
//! the next. The state's position is always the exact first document not yet committed, so a
//! resumed run writes every document exactly once.

use std::path::Path;

use thiserror::Error;

use super::batches::{BatchLimits, Batches, Item, Page};
use super::document::{document_record, RecordError};
use super::emitted::EmittedIds;
use super::state::{Position, State, StateError, Strategy};
use crate::config::CollectionSettings;
use crate::export::RecordSchema;
use crate::fauna::{decode, encode, Expr, FaunaClient, FaunaError, Ref, Value};
use crate::sink::{BatchWriter, SinkError};

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
    /// Whether the observer shows an expected total (the run then counts documents, briefly).
    fn wants_total(&self) -> bool {
        false
    }
    /// The collection is expected to hold `total` documents, `done` of which an earlier run
    /// committed.
    fn total_known(&self, _collection: &str, _total: u64, _done: u64) {}
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

/// Everything one collection's export needs, whichever strategy reads it.
pub struct CollectionExport<'a> {
    /// The client.
    pub client: &'a FaunaClient,
    /// The collection's settings.
    pub settings: &'a CollectionSettings,
    /// The sink.
    pub sink: &'a BatchWriter,
    /// When a batch file is full.
    pub limits: BatchLimits,
    /// The state file path.
    pub state_path: &'a Path,
    /// Progress hooks.
    pub observer: &'a dyn Observer,
}

/// Decodes a cursor stored in the state.
pub(crate) fn stored_cursor(collection: &str, cursor: &str) -> Result<Value, ExportError> {
    decode(cursor.as_bytes()).map_err(|e| ExportError::BadPage {
        collection: collection.to_string(),
        detail: format!("stored cursor unreadable: {e}"),
    })
}

impl CollectionExport<'_> {
    /// Exports the collection from wherever `state` says it stands, with the strategy the
    /// stream was started with; updates and saves `state` after every committed batch.
    pub async fn run(&self, state: &mut State) -> Result<(), ExportError> {
        let Some(stream) = state.streams.get(&self.settings.name) else {
            return Ok(());
        };
        match (stream.strategy, stream.index.clone()) {
            (Strategy::ScanCatchUp, Some(index)) => self.scan_catch_up(&index, state).await,
            _ => self.pinned(state).await,
        }
    }

    /// The batch committer of this collection's stream.
    pub(crate) fn batches<'b>(
        &'b self,
        schema: &'b RecordSchema,
        emitted: Option<&'b mut EmittedIds>,
    ) -> Batches<'b> {
        Batches {
            name: &self.settings.name,
            schema,
            sink: self.sink,
            limits: self.limits,
            state_path: self.state_path,
            observer: self.observer,
            emitted,
        }
    }

    /// The pinned-snapshot strategy: every page `At(snapshot_ts)`.
    async fn pinned(&self, state: &mut State) -> Result<(), ExportError> {
        let name = self.settings.name.as_str();
        let schema = record_schema(self.settings);
        let Some(stream) = state.streams.get(name) else {
            return Ok(());
        };
        let snapshot_ts = stream.snapshot_ts;
        let cursor = match &stream.position {
            Position::Start => None,
            Position::After { cursor } => Some(stored_cursor(name, cursor)?),
            _ => return Ok(()),
        };
        let scan = DocumentScan {
            client: self.client,
            settings: self.settings,
            at: Some(snapshot_ts),
            before_ts: None,
        };
        self.batches(&schema, None)
            .drain(
                state,
                cursor,
                |c| scan.page(c),
                |c| match c {
                    Some(c) => Position::After { cursor: encode(c) },
                    None => Position::Done,
                },
            )
            .await
    }
}

/// Pages of `Map(Paginate(Documents(c)), Lambda(x, Get(x)))`, pinned at a snapshot or not.
pub(crate) struct DocumentScan<'a> {
    /// The client.
    pub client: &'a FaunaClient,
    /// The collection's settings.
    pub settings: &'a CollectionSettings,
    /// Read every page `At` this time; `None` = each page at the time it is read.
    pub at: Option<i64>,
    /// Export only versions older than this `ts` (the others are read but skipped).
    pub before_ts: Option<i64>,
}

impl DocumentScan<'_> {
    /// One page from `after` on.
    pub async fn page(&self, after: Option<Value>) -> Result<Page, ExportError> {
        let name = &self.settings.name;
        let mut page = Expr::paginate(Expr::documents(Expr::collection(name)))
            .with("size", i64::from(self.settings.page_size));
        if let Some(a) = after {
            page = page.with("after", a);
        }
        let mut q = Expr::map(Expr::lambda("x", Expr::get(Expr::var("x"))), page);
        if let Some(at) = self.at {
            q = Expr::at(at, q);
        }
        let resp = query(self.client, name, self.at, &q).await?;
        let (docs, next) = page_parts(name, resp)?;
        let mut items = Vec::with_capacity(docs.len());
        for doc in docs {
            let ts = doc
                .as_object()
                .and_then(|o| o.get("ts"))
                .and_then(Value::as_i64);
            let record = document_record(doc, self.settings)?;
            let cursor = Value::Array(vec![Value::Ref(Ref::document(name, &record.id))]);
            let keep = match (self.before_ts, ts) {
                (Some(limit), Some(ts)) => ts < limit,
                _ => true,
            };
            items.push(Item {
                record: keep.then_some(record),
                cursor,
            });
        }
        Ok(Page { items, next })
    }
}

/// Runs a read query; a read below the collection's minimum valid time at `at` becomes
/// [`ExportError::SnapshotExpired`].
pub(crate) async fn query(
    client: &FaunaClient,
    collection: &str,
    at: Option<i64>,
    q: &Expr,
) -> Result<Value, ExportError> {
    client.query(q).await.map_err(|e| match at {
        Some(snapshot_ts) if is_expired(&e) => ExportError::SnapshotExpired {
            collection: collection.to_string(),
            snapshot_ts,
            detail: e.to_string(),
        },
        _ => ExportError::Fauna {
            collection: collection.to_string(),
            source: e,
        },
    })
}

/// Whether Fauna refused a read below the minimum valid time.
fn is_expired(e: &FaunaError) -> bool {
    e.status() == Some(400)
        && e.code() == Some("bad request")
        && e.to_string()
            .contains("less than minimum allowed timestamp")
}

/// A page's `data` array and `after` cursor.
pub(crate) fn page_parts(
    collection: &str,
    resp: Value,
) -> Result<(Vec<Value>, Option<Value>), ExportError> {
    let bad = |detail: &str| ExportError::BadPage {
        collection: collection.to_string(),
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
