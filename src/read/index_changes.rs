//! Pages of document versions written since a time, through a `[ts, ref]` index.

use super::document_page::document_records;
use super::pacing::Stream;
use super::page::{page_parts, paginate, query};
use super::{Item, Page, ReadError, Reader};
use crate::config::CollectionSettings;
use crate::fauna::{Expr, FaunaClient, Ref, Value};

/// Documents whose latest version (as of `at`) was written in `[since, until]`, in `(ts, ref)`
/// order, read through the `[ts, ref]` index `index` pinned `At(at)`. Each item's cursor is
/// its own index entry `[ts, ref]`, so a page can start exactly at any item: documents
/// sharing a `ts` are never skipped or repeated.
pub struct IndexChanges<'a> {
    /// The client.
    pub client: &'a FaunaClient,
    /// The collection's settings.
    pub settings: &'a CollectionSettings,
    /// The index (terms `[]`, values `[ts, ref]`).
    pub index: &'a str,
    /// The lowest `ts` read (inclusive).
    pub since: i64,
    /// The highest `ts` read (inclusive); `None` = up to `at`.
    pub until: Option<i64>,
    /// The snapshot every page is read at.
    pub at: i64,
}

impl Reader for IndexChanges<'_> {
    async fn page(&self, after: Option<Value>) -> Result<Page, ReadError> {
        let name = &self.settings.name;
        let upper = match self.until {
            Some(u) => Expr::array([Expr::from(u)]),
            None => Expr::array(Vec::new()),
        };
        let set = Expr::range(
            Expr::match_index(Expr::index(self.index)),
            Expr::array([Expr::from(self.since)]),
            upper,
        );
        let stream = Stream::configured("changes", self.settings);
        let (records, next) =
            document_records(self.client, stream, Some(self.at), self.settings, |size| {
                Expr::at(
                    self.at,
                    Expr::map(
                        Expr::lambda("e", Expr::get(Expr::select(1i64, Expr::var("e")))),
                        paginate(set.clone(), size, after.clone()),
                    ),
                )
            })
            .await?;
        let mut items = Vec::with_capacity(records.len());
        for record in records {
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

/// Whether more than `n` documents changed in `[since, at]` (one page of index entries, no
/// document read): a window worth splitting into ranges read at once.
pub async fn changes_exceed(
    client: &FaunaClient,
    collection: &str,
    index: &str,
    since: i64,
    at: i64,
    n: u32,
) -> Result<bool, ReadError> {
    let set = Expr::range(
        Expr::match_index(Expr::index(index)),
        Expr::array([Expr::from(since)]),
        Expr::array(Vec::new()),
    );
    let q = Expr::at(at, paginate(set, i64::from(n), None));
    let resp = query(client, collection, Some(at), &q).await?;
    let (_, next) = page_parts(collection, resp)?;
    Ok(next.is_some())
}
