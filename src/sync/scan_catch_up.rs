//! The short-retention strategy, for collections whose history (and so a pinned snapshot)
//! lives too briefly for the export (`history_days` 0 keeps about 15 minutes).
//!
//! 1. **Scan**: `Documents(c)` in id order, each page at the time it is read (no `At`); only
//!    versions older than the start time `T0` are exported. Such a version is the document's
//!    version as of `T0`.
//! 2. **Catch-up**: the `[ts, ref]` index from `T0` on, pinned at a fresh time `T`: every
//!    document written since `T0` and live at `T`, as of `T`. If `T` falls out of the window
//!    mid-way, the phase continues from its cursor at a newer `T` (an entry that changed since
//!    moved past the cursor, so nothing is missed and no `(ref, ts)` is read twice).
//! 3. **Reconciliation**: at the same `T`, the ids live in `Documents(c)` are compared with
//!    the log of exported ids; each exported document missing at `T` gets a deletion record.
//!    If `T` expires here, another catch-up round runs from `T + 1` at a newer time.
//!
//! Guarantee (`spec/export-format.md`): every exported row is a distinct `(ref, ts)` version;
//! keeping, per ref, the row with the greatest `ts` and dropping deletion rows yields exactly
//! the collection as of `consistent_at` (the last `T`).

use std::collections::HashSet;

use super::batches::{stream_mut, Item, Page};
use super::emitted::{emitted_ids_path, id_order, EmittedIds};
use super::full::{
    page_parts, query, record_schema, stored_cursor, CollectionExport, DocumentScan, ExportError,
};
use super::state::{Position, State};
use crate::config::CollectionSettings;
use crate::export::Record;
use crate::fauna::{encode, Expr, FaunaClient, FaunaError, Ref, Timestamp, Value};

/// How often the pinned time may expire in a row, without a batch committed in between,
/// before the export gives up.
const MAX_EXPIRIES: u32 = 8;

/// Refs per page of the reconciliation's id listing.
const ID_PAGE_SIZE: i64 = 10_000;

impl CollectionExport<'_> {
    /// The short-retention strategy through the `[ts, ref]` index `index`: runs (or resumes)
    /// the three phases; updates and saves `state` after every batch.
    pub(crate) async fn scan_catch_up(
        &self,
        index: &str,
        state: &mut State,
    ) -> Result<(), ExportError> {
        let name = self.settings.name.as_str();
        let schema = record_schema(self.settings);
        let Some(stream) = state.streams.get(name) else {
            return Ok(());
        };
        let mut emitted = EmittedIds::open(
            emitted_ids_path(self.state_path, name),
            stream.ids_len.unwrap_or(0),
        )?;
        let mut expiries = 0;
        let mut rows_at_last_expiry: Option<u64> = None;
        loop {
            let stream = stream_mut(state, name)?;
            let since_start = stream.snapshot_ts;
            let position = stream.position.clone();
            let outcome = match position {
                Position::Done => return Ok(()),
                Position::Start | Position::After { .. } => {
                    let cursor = match &position {
                        Position::After { cursor } => Some(stored_cursor(name, cursor)?),
                        _ => None,
                    };
                    let scan = DocumentScan {
                        client: self.client,
                        settings: self.settings,
                        at: None,
                        before_ts: Some(since_start),
                    };
                    let end = Position::CatchUp {
                        since: since_start,
                        at: None,
                        cursor: None,
                    };
                    self.batches(&schema, Some(&mut emitted))
                        .drain(
                            state,
                            cursor,
                            |c| scan.page(c),
                            |c| match c {
                                Some(c) => Position::After { cursor: encode(c) },
                                None => end.clone(),
                            },
                        )
                        .await
                }
                Position::CatchUp { since, at, cursor } => {
                    let at = match at {
                        Some(at) => at,
                        None => {
                            let now = self.now().await?;
                            let stream = stream_mut(state, name)?;
                            stream.position = Position::CatchUp {
                                since,
                                at: Some(now),
                                cursor: cursor.clone(),
                            };
                            state.save(self.state_path)?;
                            now
                        }
                    };
                    let cursor = cursor.map(|c| stored_cursor(name, &c)).transpose()?;
                    let changes = IndexChanges {
                        client: self.client,
                        settings: self.settings,
                        index,
                        since,
                        at,
                    };
                    self.batches(&schema, Some(&mut emitted))
                        .drain(
                            state,
                            cursor,
                            |c| changes.page(c),
                            |c| match c {
                                Some(c) => Position::CatchUp {
                                    since,
                                    at: Some(at),
                                    cursor: Some(encode(c)),
                                },
                                None => Position::Reconcile { at, cursor: None },
                            },
                        )
                        .await
                }
                Position::Reconcile { at, cursor } => {
                    let cursor = cursor.map(|c| stored_cursor(name, &c)).transpose()?;
                    let exported = emitted.sorted_ids()?;
                    let deletions = Deletions {
                        client: self.client,
                        settings: self.settings,
                        exported: &exported,
                        at,
                    };
                    let result = self
                        .batches(&schema, None)
                        .drain(
                            state,
                            cursor,
                            |c| deletions.page(c),
                            |c| match c {
                                Some(c) => Position::Reconcile {
                                    at,
                                    cursor: Some(encode(c)),
                                },
                                None => Position::Done,
                            },
                        )
                        .await;
                    if result.is_ok() {
                        let stream = stream_mut(state, name)?;
                        stream.consistent_at = Some(at);
                        state.save(self.state_path)?;
                    }
                    result
                }
            };
            match outcome {
                Ok(()) => {}
                Err(ExportError::SnapshotExpired {
                    collection,
                    snapshot_ts,
                    detail,
                }) => {
                    let stream = stream_mut(state, name)?;
                    // Only expiries without progress in between count towards the limit.
                    expiries = if rows_at_last_expiry == Some(stream.rows) {
                        expiries + 1
                    } else {
                        1
                    };
                    rows_at_last_expiry = Some(stream.rows);
                    if expiries > MAX_EXPIRIES {
                        return Err(ExportError::SnapshotExpired {
                            collection,
                            snapshot_ts,
                            detail,
                        });
                    }
                    stream.position = match stream.position.clone() {
                        // Continue the catch-up from its cursor at a newer time.
                        Position::CatchUp { since, cursor, .. } => Position::CatchUp {
                            since,
                            at: None,
                            cursor,
                        },
                        // Everything written up to `at` is exported; catch up on what came after.
                        Position::Reconcile { at, .. } => Position::CatchUp {
                            since: at + 1,
                            at: None,
                            cursor: None,
                        },
                        other => other,
                    };
                    tracing::info!(
                        collection = name,
                        snapshot_ts,
                        "The pinned time fell out of the collection's history window; continuing at a newer time."
                    );
                    state.save(self.state_path)?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn now(&self) -> Result<i64, ExportError> {
        let q = Expr::to_micros(Expr::now());
        match query(self.client, &self.settings.name, None, &q).await? {
            Value::Int(t) => Ok(t),
            other => Err(ExportError::Fauna {
                collection: self.settings.name.clone(),
                source: FaunaError::InvalidResponse(format!("ToMicros(Now()) gave {other:?}")),
            }),
        }
    }
}

/// Pages of documents written since `since`, through the `[ts, ref]` index, pinned at `at`.
struct IndexChanges<'a> {
    client: &'a FaunaClient,
    settings: &'a CollectionSettings,
    index: &'a str,
    since: i64,
    at: i64,
}

impl IndexChanges<'_> {
    async fn page(&self, after: Option<Value>) -> Result<Page, ExportError> {
        let name = &self.settings.name;
        let set = Expr::range(
            Expr::match_index(Expr::index(self.index)),
            Expr::array([Expr::from(self.since)]),
            Expr::array(Vec::new()),
        );
        let mut page = Expr::paginate(set).with("size", i64::from(self.settings.page_size));
        if let Some(a) = after {
            page = page.with("after", a);
        }
        let q = Expr::at(
            self.at,
            Expr::map(
                Expr::lambda("e", Expr::get(Expr::select(1i64, Expr::var("e")))),
                page,
            ),
        );
        let resp = query(self.client, name, Some(self.at), &q).await?;
        let (docs, next) = page_parts(name, resp)?;
        let mut items = Vec::with_capacity(docs.len());
        for doc in docs {
            let record = super::document::document_record(doc, self.settings)?;
            // The entry's own values: an inclusive cursor that starts exactly here.
            let cursor = Value::Array(vec![
                Value::Int(record.ts),
                Value::Ref(Ref::document(name, &record.id)),
            ]);
            items.push(Item {
                record: Some(record),
                cursor,
            });
        }
        Ok(Page { items, next })
    }
}

/// Pages of deletion records: exported ids that `Documents(c)` no longer holds at `at`.
struct Deletions<'a> {
    client: &'a FaunaClient,
    settings: &'a CollectionSettings,
    /// Exported ids in document order, without repeats.
    exported: &'a [String],
    at: i64,
}

impl Deletions<'_> {
    async fn page(&self, after: Option<Value>) -> Result<Page, ExportError> {
        let name = &self.settings.name;
        let from_id = after.as_ref().and_then(cursor_id);
        let mut page =
            Expr::paginate(Expr::documents(Expr::collection(name))).with("size", ID_PAGE_SIZE);
        if let Some(a) = after {
            page = page.with("after", a);
        }
        let resp = query(self.client, name, Some(self.at), &Expr::at(self.at, page)).await?;
        let (refs, next) = page_parts(name, resp)?;
        let live: HashSet<&str> = refs
            .iter()
            .filter_map(Value::as_ref)
            .map(|r| r.id.as_str())
            .collect();
        let to_id = next.as_ref().and_then(cursor_id);
        // Exported ids in [from, to) that are not live.
        let start = match &from_id {
            Some(f) => self.exported.partition_point(|id| id_order(id, f).is_lt()),
            None => 0,
        };
        let end = match &to_id {
            Some(t) => self.exported.partition_point(|id| id_order(id, t).is_lt()),
            None => self.exported.len(),
        };
        let gone: Vec<&String> = self.exported[start..end.max(start)]
            .iter()
            .filter(|id| !live.contains(id.as_str()))
            .collect();
        let deleted_at = self.deletion_times(&gone).await?;
        let items = gone
            .into_iter()
            .zip(deleted_at)
            .map(|(id, ts)| Item {
                record: self.settings.deletion_column.as_ref().map(|_| Record {
                    id: id.clone(),
                    ts,
                    data: None,
                    columns: vec![Value::Null; self.settings.columns.len()],
                    deleted_at: Some(Timestamp::from_micros(ts).to_string()),
                }),
                cursor: Value::Array(vec![Value::Ref(Ref::document(name, id))]),
            })
            .collect::<Vec<_>>();
        if self.settings.deletion_column.is_none() && !items.is_empty() {
            tracing::warn!(
                collection = %name,
                count = items.len(),
                "Documents exported earlier in this run were deleted before it finished; they stay in the output because the collection has no deletion column (set \"deletions\" in the config to get deletion records)."
            );
        }
        Ok(Page { items, next })
    }

    /// The `ts` of each document's deletion while Fauna still holds the event, else `at` (an
    /// upper bound: the document was gone by then).
    async fn deletion_times(&self, ids: &[&String]) -> Result<Vec<i64>, ExportError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let name = &self.settings.name;
        let refs = Expr::array(ids.iter().map(|id| Expr::ref_(Expr::collection(name), id)));
        let last_event = Expr::lambda(
            "r",
            Expr::paginate(Expr::events(Expr::var("r")))
                .with("before", Expr::null())
                .with("size", 1),
        );
        let q = Expr::at(self.at, Expr::map(last_event, refs));
        let resp = query(self.client, name, Some(self.at), &q).await?;
        let pages = resp.as_array().unwrap_or(&[]);
        Ok((0..ids.len())
            .map(|i| {
                pages
                    .get(i)
                    .and_then(|p| p.as_object())
                    .and_then(|p| p.get("data"))
                    .and_then(Value::as_array)
                    .and_then(|events| events.last())
                    .and_then(Value::as_object)
                    .filter(|e| e.get("action").and_then(Value::as_str) == Some("delete"))
                    .and_then(|e| e.get("ts"))
                    .and_then(Value::as_i64)
                    .unwrap_or(self.at)
            })
            .collect())
    }
}

/// The document id of an `after` cursor (`[ref]`, or a bare ref).
fn cursor_id(cursor: &Value) -> Option<String> {
    let r = match cursor {
        Value::Array(a) => a.first()?.as_ref()?,
        other => other.as_ref()?,
    };
    Some(r.id.clone())
}
