//! Pages of `Map(Paginate(Documents(c)), Lambda(x, Get(x)))` in id order.

use super::document_page::document_records;
use super::page::paginate;
use super::paged::PagedStream;
use std::sync::Arc;

use super::{Cursor, Item, Page, ReadError, Reader};
use crate::config::CollectionSettings;
use crate::export::id_order;
use crate::fauna::{Expr, FaunaClient, Value};

/// Every document of a collection, in id order, each page read `At(at)` or at read time.
pub struct Documents<'a> {
    /// The client.
    pub client: &'a FaunaClient,
    /// The collection's settings (name, page size, columns).
    pub settings: &'a CollectionSettings,
    /// Read every page `At` this time; `None` = each page at the time it is read.
    pub at: Option<i64>,
    /// Export only versions older than this `ts` (the others are read but not exported).
    pub before_ts: Option<i64>,
    /// Stop before the first document at or after this id in Fauna's id order (the next
    /// range's first, see [`super::split_points`]; by order, not equality, so a range read
    /// without a snapshot ends in place even if that document is gone); `None` = to the end.
    pub until: Option<String>,
}

impl Reader for Documents<'_> {
    async fn page(&self, after: Option<Value>) -> Result<Page, ReadError> {
        let name = &self.settings.name;
        let stream = PagedStream::configured("documents", self.settings);
        let (records, mut next) =
            document_records(self.client, stream, self.at, self.settings, |size| {
                let page = paginate(Expr::documents(Expr::collection(name)), size, after.clone());
                let q = Expr::map(Expr::lambda("x", Expr::get(Expr::var("x"))), page);
                match self.at {
                    Some(at) => Expr::at(at, q),
                    None => q,
                }
            })
            .await?;
        let mut items = Vec::with_capacity(records.len());
        let collection: Arc<str> = Arc::from(name.as_str());
        for record in records {
            if self.reaches_until(&record.id) {
                return Ok(Page { items, next: None });
            }
            let cursor = Cursor::Document {
                collection: collection.clone(),
                id: record.id.clone(),
            };
            let keep = self.before_ts.is_none_or(|limit| record.ts < limit);
            items.push(Item {
                record: keep.then_some(record),
                cursor,
            });
        }
        if let (Some(until), Some(n)) = (&self.until, &next) {
            if cursor_id(n).is_some_and(|id| id_order(id, until).is_ge()) {
                next = None;
            }
        }
        Ok(Page { items, next })
    }
}

impl Documents<'_> {
    /// Whether the document `id` belongs to the next range.
    fn reaches_until(&self, id: &str) -> bool {
        self.until
            .as_deref()
            .is_some_and(|until| id_order(id, until).is_ge())
    }
}

/// The document id of a `Documents` cursor (`[ref]`).
pub fn cursor_id(cursor: &Value) -> Option<&str> {
    match cursor {
        Value::Array(items) => items.first()?.as_ref().map(|r| r.id.as_str()),
        _ => None,
    }
}
