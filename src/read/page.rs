//! What every reader yields, and the query helpers they share.

use std::future::Future;

use super::{Cursor, ReadError};
use crate::export::Record;
use crate::fauna::{Expr, FaunaClient, FaunaError, Value};

/// One item of a page: the record it yields (`None` when it is read but not exported) and the
/// cursor that starts a page exactly at it.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// The record, if the item is exported.
    pub record: Option<Record>,
    /// An `after` cursor (inclusive) that starts at this item, built as a value only when
    /// asked for.
    pub cursor: Cursor,
}

/// One page: its items in order and the cursor of the next page (`None` on the last).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    /// The items.
    pub items: Vec<Item>,
    /// The next page's `after` cursor.
    pub next: Option<Value>,
}

/// A source of pages, resumable at any item's cursor.
pub trait Reader: Send + Sync {
    /// One page starting at `after` (inclusive; `None` = the reader's start).
    fn page(&self, after: Option<Value>) -> impl Future<Output = Result<Page, ReadError>> + Send;
}

/// Runs a read query; a read below the collection's minimum valid time at `at` becomes
/// [`ReadError::SnapshotExpired`].
pub async fn query(
    client: &FaunaClient,
    collection: &str,
    at: Option<i64>,
    q: &Expr,
) -> Result<Value, ReadError> {
    client
        .query(q)
        .await
        .map_err(|e| read_error(collection, at, e))
}

/// A failed read query as a [`ReadError`]: [`ReadError::SnapshotExpired`] for a read at `at`
/// below the minimum valid time.
pub(crate) fn read_error(collection: &str, at: Option<i64>, e: FaunaError) -> ReadError {
    match at {
        Some(snapshot_ts) if is_expired(&e) => ReadError::SnapshotExpired {
            collection: collection.to_string(),
            snapshot_ts,
            detail: e.to_string(),
        },
        _ => ReadError::Fauna {
            collection: collection.to_string(),
            source: e,
        },
    }
}

/// The server's current time, in microseconds.
pub async fn now(client: &FaunaClient, collection: &str) -> Result<i64, ReadError> {
    match query(client, collection, None, &Expr::to_micros(Expr::now())).await? {
        Value::Int(t) => Ok(t),
        other => Err(ReadError::Fauna {
            collection: collection.to_string(),
            source: FaunaError::InvalidResponse(format!("ToMicros(Now()) gave {other:?}")),
        }),
    }
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
) -> Result<(Vec<Value>, Option<Value>), ReadError> {
    let bad = |detail: &str| ReadError::BadPage {
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

/// The paginate expression over `set` with `size` and an optional `after` cursor.
pub(crate) fn paginate(set: Expr, size: i64, after: Option<Value>) -> Expr {
    let page = Expr::paginate(set).with("size", size);
    match after {
        Some(a) => page.with("after", a),
        None => page,
    }
}
