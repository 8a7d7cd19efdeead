//! Pages of document versions written since a time, through a `[ts, ref]` index.

use super::document_page::document_records;
use super::page::{page_parts, paginate, query};
use super::paged::PagedStream;
use std::sync::Arc;

use super::{Cursor, Item, Page, ReadError, Reader};
use crate::config::CollectionSettings;
use crate::fauna::{Expr, FaunaClient, Value};

/// Documents whose latest version (as of `at`) was written in `[since, until]`, in `(ts, ref)`
/// order, read through the `[ts, ref]` index `index` pinned `At(at)`. Each item's cursor is
/// its own index entry `[ts, ref]`, so a page can start exactly at any item: documents
/// sharing a `ts` are never skipped or repeated. Only the first two values of an entry are
/// used: an index whose values go on after `[ts, ref]` may hold several entries of one
/// document (one per element of an array value), and each document is read once
/// ([`one_per_document`]).
pub struct IndexChanges<'a> {
    /// The client.
    pub client: &'a FaunaClient,
    /// The collection's settings.
    pub settings: &'a CollectionSettings,
    /// The index (terms `[]`, values starting `[ts, ref]`).
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
        let stream = PagedStream::configured("changes", self.settings);
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
        let collection: Arc<str> = Arc::from(name.as_str());
        for record in records {
            let cursor = Cursor::Entry {
                ts: record.ts,
                collection: collection.clone(),
                id: record.id.clone(),
            };
            items.push(Item {
                record: Some(record),
                cursor,
            });
        }
        let (items, next) = one_per_document(after.as_ref(), items, next);
        Ok(Page { items, next })
    }
}

/// `(ts, document id)` of an index entry or cursor `[ts, ref, …]`.
fn key(v: &Value) -> Option<(i64, &str)> {
    match v.as_array()? {
        [Value::Int(ts), Value::Ref(r), ..] => Some((*ts, r.id.as_str())),
        _ => None,
    }
}

/// `(ts, document id)` of an item's cursor.
fn item_key(item: &Item) -> Option<(i64, &str)> {
    match &item.cursor {
        Cursor::Entry { ts, id, .. } => Some((*ts, id.as_str())),
        Cursor::Value(v) => key(v),
        _ => None,
    }
}

/// Whether `v` is Fauna's cursor of an index with values beyond `[ts, ref]`: `[ts, ref, x…,
/// ref]`, longer than the `[ts, ref, ref]` of a `[ts, ref]` index.
fn is_long(v: &Value) -> bool {
    v.as_array().is_some_and(|a| a.len() > 3)
}

/// Keeps each document of a page once, for an index whose values go on after `[ts, ref]`:
/// its entries of one document are adjacent (they share `ts` and `ref`) but may straddle pages.
/// - repeats inside the page are dropped;
/// - a document whose entries go on into the next page is left to that page, which then starts
///   at `[ts, ref]`, its first entry — unless it is the page's only document: then it is kept
///   and the next page starts at Fauna's long cursor, inside its entries;
/// - a page that starts at such a long cursor drops that document's entries (already read).
///
/// A `[ts, ref]` index has one entry per document and cursors of 3 values: its pages pass
/// unchanged.
pub(crate) fn one_per_document(
    after: Option<&Value>,
    items: Vec<Item>,
    next: Option<Value>,
) -> (Vec<Item>, Option<Value>) {
    let inside = after.filter(|a| is_long(a)).and_then(key);
    let mut kept: Vec<Item> = Vec::with_capacity(items.len());
    for item in items {
        let k = item_key(&item);
        if k.is_some() && (k == inside || k == kept.last().and_then(item_key)) {
            continue;
        }
        kept.push(item);
    }
    let Some(next) = next else {
        return (kept, None);
    };
    let Some(continues) = is_long(&next).then(|| key(&next)).flatten() else {
        return (kept, Some(next));
    };
    let last = kept.last().and_then(item_key);
    let stays_inside = match last {
        Some(k) if k == continues => kept.len() == 1,
        Some(_) => false,
        None => inside == Some(continues),
    };
    if stays_inside {
        return (kept, Some(next));
    }
    if last == Some(continues) {
        kept.pop();
    }
    let start = match next.as_array() {
        Some([ts, r, ..]) => Value::Array(vec![ts.clone(), r.clone()]),
        _ => next,
    };
    (kept, Some(start))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fauna::Ref;

    fn r(id: &str) -> Value {
        Value::Ref(Ref::document("c", id))
    }

    fn item(ts: i64, id: &str) -> Item {
        Item {
            record: None,
            cursor: Value::Array(vec![Value::Int(ts), r(id)]).into(),
        }
    }

    /// Fauna's cursor of a `[ts, ref, tag]` index at the entry `(ts, id, tag)`.
    fn long(ts: i64, id: &str, tag: &str) -> Value {
        Value::Array(vec![
            Value::Int(ts),
            r(id),
            Value::String(tag.into()),
            r(id),
        ])
    }

    fn ids(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|i| {
                item_key(i)
                    .map(|(t, d)| format!("{t}:{d}"))
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn pages_of_a_ts_ref_index_pass_unchanged() {
        let items = vec![item(1, "1"), item(2, "2")];
        let next = Value::Array(vec![Value::Int(3), r("3"), r("3")]);
        let (kept, n) = one_per_document(None, items.clone(), Some(next.clone()));
        assert_eq!((kept, n), (items, Some(next)));
    }

    #[test]
    fn a_document_with_several_entries_is_read_once_across_pages() {
        // Entries (ts, id, tag): (1,1,a) (2,2,a) (2,2,b) | (2,2,c) (3,3,a) (3,3,b) | (3,3,c).
        // Page 1 (size 3): document 2 goes on, so it is left to page 2, which starts at [2, 2].
        let (kept, next) = one_per_document(
            None,
            vec![item(1, "1"), item(2, "2"), item(2, "2")],
            Some(long(2, "2", "c")),
        );
        assert_eq!(ids(&kept), ["1:1"]);
        assert_eq!(next, Some(Value::Array(vec![Value::Int(2), r("2")])));
        // Page 2 from [2, 2]: (2,2,a) (2,2,b) (2,2,c).
        let (kept, next) = one_per_document(
            next.as_ref(),
            vec![item(2, "2"), item(2, "2"), item(2, "2")],
            Some(long(3, "3", "a")),
        );
        assert_eq!(ids(&kept), ["2:2"]);
        assert_eq!(next, Some(Value::Array(vec![Value::Int(3), r("3")])));
    }

    #[test]
    fn a_document_with_more_entries_than_a_page_is_kept_once_and_skipped_after() {
        // Page size 2; document 5 has entries a, b, c, d, e, then document 6.
        let (kept, next) = one_per_document(
            Some(&Value::Array(vec![Value::Int(5), r("5")])),
            vec![item(5, "5"), item(5, "5")],
            Some(long(5, "5", "c")),
        );
        assert_eq!(ids(&kept), ["5:5"]);
        assert_eq!(next, Some(long(5, "5", "c")));
        // Still inside document 5: nothing, and the next page stays inside too.
        let (kept, next) = one_per_document(
            next.as_ref(),
            vec![item(5, "5"), item(5, "5")],
            Some(long(5, "5", "e")),
        );
        assert!(kept.is_empty());
        assert_eq!(next, Some(long(5, "5", "e")));
        // The rest of document 5, then document 6 and the end.
        let (kept, next) = one_per_document(
            Some(&long(5, "5", "e")),
            vec![item(5, "5"), item(6, "6")],
            None,
        );
        assert_eq!(ids(&kept), ["6:6"]);
        assert_eq!(next, None);
        // A page inside document 5 that reaches document 6's first entry.
        let (kept, next) = one_per_document(
            Some(&long(5, "5", "d")),
            vec![item(5, "5"), item(5, "5")],
            Some(long(6, "6", "a")),
        );
        assert!(kept.is_empty());
        assert_eq!(next, Some(Value::Array(vec![Value::Int(6), r("6")])));
    }
}
