//! Deletions detected by reconciliation: exported documents no longer live at a time.

use std::collections::HashSet;

use futures_util::future::try_join_all;

use crate::id_set::SortedIds;

use super::page::{page_parts, query};
use super::paged::{paced_query, PagedStream};
use super::{Cursor, Item, Page, ReadError, Reader};
use crate::config::CollectionSettings;
use crate::export::{id_order, Deletion, Record};
use crate::fauna::{Expr, FaunaClient, Ref, Value};

/// Refs in the first page of the id listing (refs only: about 100 bytes each on the wire);
/// later pages are paced.
const ID_PAGE_SIZE: u32 = 10_000;

/// Exported ids compared per range of a page at most, so a collection that lost most of its
/// documents is reconciled in bounded pages too.
const MAX_EXPORTED_PER_PAGE: usize = 10_000;

/// Exported ids below which a page's ids are not split further: smaller ranges would cost a
/// request each for little listing.
const MIN_EXPORTED_PER_RANGE: usize = 1_000;

/// Pages of deletion records: exported ids that `Documents(c)` no longer holds at `at`.
///
/// A page takes the next exported ids (at most `ranges` times a listing page's worth), splits
/// them into up to `ranges` consecutive ranges and lists the live ids of each range at once:
/// a range's listing starts at its first exported id and stops past its last one, since live
/// ids no exported id falls among cannot make a deletion. Its `next` cursor is the first
/// exported id left over, so a resumed reconciliation starts there.
pub struct Vanished<'a> {
    /// The client.
    pub client: &'a FaunaClient,
    /// The collection's settings.
    pub settings: &'a CollectionSettings,
    /// The ids the output holds, sorted.
    pub exported: &'a SortedIds,
    /// The time the live ids are read at.
    pub at: i64,
    /// Ranges of ids listed at once (the run's concurrency; 1 lists one page after another).
    pub ranges: usize,
}

impl Reader for Vanished<'_> {
    async fn page(&self, after: Option<Value>) -> Result<Page, ReadError> {
        let name = &self.settings.name;
        let from_id = after.as_ref().and_then(cursor_id);
        let stream = PagedStream::starting_at("ids", self.settings, ID_PAGE_SIZE);
        // A range's exported ids fit one listing page at the paced size (a little under it,
        // for documents created since the export).
        let paced = stream.pacer(self.client).size() as usize;
        let per_range = (paced - paced / 8).clamp(1, MAX_EXPORTED_PER_PAGE);
        let ranges = self.ranges.max(1);
        let mut exported = self
            .exported
            .range(from_id.as_deref(), ranges * per_range + 1)?;
        let next = if exported.len() > ranges * per_range {
            let rest = exported.split_off(ranges * per_range);
            Some(after_cursor(name, &rest[0]))
        } else {
            None
        };
        let split = exported
            .len()
            .div_ceil(ranges)
            .max(MIN_EXPORTED_PER_RANGE)
            .min(per_range);
        let found = try_join_all(exported.chunks(split).map(|ids| self.gone(stream, ids))).await?;
        let collection: std::sync::Arc<str> = std::sync::Arc::from(name.as_str());
        let items = found
            .into_iter()
            .flatten()
            .map(|(id, seen)| Item {
                record: self.settings.deletion_column.as_ref().map(|_| {
                    let how = match seen {
                        Some(_) => Deletion::Observed,
                        None => Deletion::Detected,
                    };
                    let columns = self.settings.columns.len();
                    Record::deletion(id.clone(), seen.unwrap_or(self.at), columns, how)
                }),
                cursor: Cursor::Document {
                    collection: collection.clone(),
                    id,
                },
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
}

impl Vanished<'_> {
    /// The ids of `ids` (consecutive exported ids, at least one) not live at `at`, each with
    /// its deletion's `ts` when Fauna still holds the event: the live ids from the first of
    /// `ids` on are listed until the listing passes the last.
    async fn gone(
        &self,
        stream: PagedStream<'_>,
        ids: &[String],
    ) -> Result<Vec<(String, Option<i64>)>, ReadError> {
        let name = &self.settings.name;
        let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
            return Ok(vec![]);
        };
        let mut live: HashSet<String> = HashSet::new();
        let mut cursor = after_cursor(name, first);
        loop {
            let resp = paced_query(self.client, stream, Some(self.at), |size| {
                Expr::at(
                    self.at,
                    Expr::paginate(Expr::documents(Expr::collection(name)))
                        .with("size", size)
                        .with("after", cursor.clone()),
                )
            })
            .await?;
            let (refs, next) = page_parts(name, resp)?;
            live.extend(refs.iter().filter_map(Value::as_ref).map(|r| r.id.clone()));
            match next {
                Some(n) if cursor_id(&n).is_some_and(|id| id_order(&id, last).is_le()) => {
                    cursor = n;
                }
                _ => break,
            }
        }
        let gone: Vec<&String> = ids.iter().filter(|id| !live.contains(*id)).collect();
        let deleted_at = self.deletion_times(&gone).await?;
        Ok(gone.into_iter().cloned().zip(deleted_at).collect())
    }

    /// The `ts` of each document's deletion while Fauna still holds the event; `None` when
    /// it does not (the deletion is then only detected: the document was gone by `at`).
    async fn deletion_times(&self, ids: &[&String]) -> Result<Vec<Option<i64>>, ReadError> {
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
            })
            .collect())
    }
}

/// The `after` cursor of a page of `Documents(collection)` starting at `id`.
fn after_cursor(collection: &str, id: &str) -> Value {
    Value::Array(vec![Value::Ref(Ref::document(collection, id))])
}

/// The document id of an `after` cursor (`[ref]`, or a bare ref).
fn cursor_id(cursor: &Value) -> Option<String> {
    let r = match cursor {
        Value::Array(a) => a.first()?.as_ref()?,
        other => other.as_ref()?,
    };
    Some(r.id.clone())
}
