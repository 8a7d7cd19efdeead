//! Whether a collection lost any document since a time, told cheaply: the reconciliation's
//! shortcut after a short-retention scan (`spec/export-format.md`, "Consistency", step 3).

use super::page::{page_parts, query};
use super::ReadError;
use crate::fauna::{Expr, FaunaClient, Value};

/// Events looked at: one page. More than that since the scan began, and the listing of live
/// ids is the cheaper way to tell.
const EVENTS_LOOKED_AT: i64 = 1000;

/// `true` when `Documents(c)` has no `remove` event from `since` on (inclusive), read at `at`,
/// and the collection's history still reaches back to `since`. Both are read in one query, the
/// history's reach after the events: a read `At(since)` that succeeds after them means no
/// event since `since` had been dropped from the history when they were read. `false` when it
/// cannot tell: a `remove` (a deletion, or a ttl change, which writes `remove` + `add`), more
/// than [`EVENTS_LOOKED_AT`] events, or `since` out of the history window.
pub async fn no_removals_since(
    client: &FaunaClient,
    collection: &str,
    since: i64,
    at: i64,
) -> Result<bool, ReadError> {
    let documents = || Expr::paginate(Expr::documents(Expr::collection(collection)));
    let events = Expr::at(
        at,
        documents()
            .with("events", true)
            .with("size", EVENTS_LOOKED_AT)
            .with("after", since),
    );
    let reach = Expr::at(since, documents().with("size", 1));
    let resp = match query(
        client,
        collection,
        Some(since),
        &Expr::array([events, reach]),
    )
    .await
    {
        Ok(resp) => resp,
        Err(ReadError::SnapshotExpired { .. }) => return Ok(false),
        Err(e) => return Err(e),
    };
    let Value::Array(mut pages) = resp else {
        return Err(ReadError::BadPage {
            collection: collection.to_string(),
            detail: format!("the removal check is not a pair: {resp:?}"),
        });
    };
    let Some(page) = pages.drain(..).next() else {
        return Err(ReadError::BadPage {
            collection: collection.to_string(),
            detail: "the removal check is empty".into(),
        });
    };
    let (events, next) = page_parts(collection, page)?;
    if next.is_some() {
        return Ok(false);
    }
    Ok(events.iter().all(|e| {
        e.as_object()
            .and_then(|f| f.get("action"))
            .and_then(Value::as_str)
            .is_some_and(|a| a != "remove")
    }))
}
