//! Deletions observed as `remove` events of `Documents(c)`.

use super::page::page_parts;
use super::paged::{paced_query, PagedStream};
use super::{Item, Page, ReadError, Reader};
use crate::config::CollectionSettings;
use crate::export::{Deletion, Record};
use crate::fauna::{Expr, FaunaClient, Value};

/// Events in the first page: they are small (`{ts, action, document}`); later pages are paced.
const EVENT_PAGE_SIZE: u32 = 1000;

/// Documents of a collection deleted in `[since, at]`, in event order, read `At(at)`.
///
/// A `remove` event is a deletion only when the document does not exist at the event's time:
/// a ttl change also writes `remove` + `add` at one ts (`spec/export-format.md`). Each item's
/// cursor is its event (`{ts, action, document}`), an inclusive `after` cursor; `add` events
/// yield no record but still carry their cursor.
pub struct DeletionEvents<'a> {
    /// The client.
    pub client: &'a FaunaClient,
    /// The collection's settings.
    pub settings: &'a CollectionSettings,
    /// The lowest event ts read (inclusive).
    pub since: i64,
    /// The snapshot every page is read at.
    pub at: i64,
}

impl Reader for DeletionEvents<'_> {
    async fn page(&self, after: Option<Value>) -> Result<Page, ReadError> {
        let name = &self.settings.name;
        let after = after.unwrap_or(Value::Int(self.since));
        // [event, still there at the event's time?] for removes; [event, true] for adds.
        let check = Expr::lambda(
            "e",
            Expr::array([
                Expr::var("e"),
                Expr::if_(
                    Expr::equals(Expr::select("action", Expr::var("e")), "remove"),
                    Expr::exists(Expr::select("document", Expr::var("e")))
                        .with("ts", Expr::select("ts", Expr::var("e"))),
                    true,
                ),
            ]),
        );
        let stream = PagedStream::starting_at("events", self.settings, EVENT_PAGE_SIZE);
        let resp = paced_query(self.client, stream, Some(self.at), |size| {
            let page = Expr::paginate(Expr::documents(Expr::collection(name)))
                .with("events", true)
                .with("size", size)
                .with("after", after.clone());
            Expr::at(self.at, Expr::map(check.clone(), page))
        })
        .await?;
        let (events, next) = page_parts(name, resp)?;
        let bad = |detail: String| ReadError::BadPage {
            collection: name.clone(),
            detail,
        };
        let mut items = Vec::with_capacity(events.len());
        for pair in events {
            let Value::Array(mut pair) = pair else {
                return Err(bad("an event check is not a pair".into()));
            };
            let (still_there, event) = match (pair.pop(), pair.pop()) {
                (Some(Value::Bool(b)), Some(e)) => (b, e),
                _ => return Err(bad("an event check is not [event, bool]".into())),
            };
            let fields = event
                .as_object()
                .ok_or_else(|| bad(format!("an event is not an object: {event:?}")))?;
            let ts = fields.get("ts").and_then(Value::as_i64);
            let id = fields
                .get("document")
                .and_then(Value::as_ref)
                .map(|r| r.id.clone());
            let (Some(ts), Some(id)) = (ts, id) else {
                return Err(bad(format!("an event without ts or document: {event:?}")));
            };
            let deleted =
                fields.get("action").and_then(Value::as_str) == Some("remove") && !still_there;
            let columns = self.settings.columns.len();
            let record = deleted.then(|| Record::deletion(id, ts, columns, Deletion::Observed));
            items.push(Item {
                record,
                cursor: event.into(),
            });
        }
        Ok(Page { items, next })
    }
}
