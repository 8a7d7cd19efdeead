//! Deletions detected by reconciliation: exported documents no longer live at a time.

use std::collections::HashSet;

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

/// Exported ids compared per page at most, so a collection that lost most of its documents
/// is reconciled in bounded pages too.
const MAX_EXPORTED_PER_PAGE: usize = 10_000;

/// Pages of deletion records: exported ids that `Documents(c)` no longer holds at `at`.
pub struct Vanished<'a> {
    /// The client.
    pub client: &'a FaunaClient,
    /// The collection's settings.
    pub settings: &'a CollectionSettings,
    /// The ids the output holds, sorted.
    pub exported: &'a SortedIds,
    /// The time the live ids are read at.
    pub at: i64,
}

impl Reader for Vanished<'_> {
    async fn page(&self, after: Option<Value>) -> Result<Page, ReadError> {
        let name = &self.settings.name;
        let from_id = after.as_ref().and_then(cursor_id);
        let stream = PagedStream::starting_at("ids", self.settings, ID_PAGE_SIZE);
        let resp = paced_query(self.client, stream, Some(self.at), |size| {
            let mut page =
                Expr::paginate(Expr::documents(Expr::collection(name))).with("size", size);
            if let Some(a) = &after {
                page = page.with("after", a.clone());
            }
            Expr::at(self.at, page)
        })
        .await?;
        let (refs, next) = page_parts(name, resp)?;
        let live: HashSet<&str> = refs
            .iter()
            .filter_map(Value::as_ref)
            .map(|r| r.id.as_str())
            .collect();
        let to_id = next.as_ref().and_then(cursor_id);
        // Exported ids in [from, to) that are not live; at most a bounded number per page,
        // the next page starting at the first id left over.
        let mut exported = self
            .exported
            .range(from_id.as_deref(), MAX_EXPORTED_PER_PAGE + 1)?;
        if let Some(t) = &to_id {
            let end = exported.partition_point(|id| id_order(id, t).is_lt());
            exported.truncate(end);
        }
        let next = if exported.len() > MAX_EXPORTED_PER_PAGE {
            let rest = exported.split_off(MAX_EXPORTED_PER_PAGE);
            Some(Value::Array(vec![Value::Ref(Ref::document(
                name, &rest[0],
            ))]))
        } else {
            next
        };
        let gone: Vec<&String> = exported
            .iter()
            .filter(|id| !live.contains(id.as_str()))
            .collect();
        let deleted_at = self.deletion_times(&gone).await?;
        let collection: std::sync::Arc<str> = std::sync::Arc::from(name.as_str());
        let items = gone
            .into_iter()
            .zip(deleted_at)
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
                    id: id.clone(),
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

/// The document id of an `after` cursor (`[ref]`, or a bare ref).
fn cursor_id(cursor: &Value) -> Option<String> {
    let r = match cursor {
        Value::Array(a) => a.first()?.as_ref()?,
        other => other.as_ref()?,
    };
    Some(r.id.clone())
}
