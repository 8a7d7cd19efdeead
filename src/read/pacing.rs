//! Paged queries whose size comes from the stream's [`Pacer`]: a page that fails as too large
//! is asked again smaller, and each successful page tells the pacer its size, bytes and time.

use super::page::read_error;
use super::ReadError;
use crate::config::CollectionSettings;
use crate::fauna::pacing::{Outcome, Pacer};
use crate::fauna::{Expr, FaunaClient, ResponseBody, Value};

/// The page size of one read stream: its pacer's key, start and whether it is pinned.
#[derive(Clone, Copy, Debug)]
pub struct Stream<'a> {
    /// The reader kind (`documents`, `changes`, `events`, `ids`).
    pub kind: &'static str,
    /// The collection.
    pub collection: &'a str,
    /// The first page's size.
    pub start: u32,
    /// Whether the size stays at `start`.
    pub fixed: bool,
}

/// Whether the read stream `name` (`kind:collection`) reads documents (a snapshot's ranges,
/// sync windows, catch-ups): the run summary's paging line is about those, not about a
/// reconciliation's refs-only pages (`ids`, 10,000 at a time) or deletion events (`events`).
pub fn reads_documents(name: &str) -> bool {
    matches!(name.split_once(':'), Some(("documents" | "changes", _)))
}

impl<'a> Stream<'a> {
    /// A stream starting at the collection's `page_size`, pinned by its `page_size_fixed`.
    pub fn configured(kind: &'static str, settings: &'a CollectionSettings) -> Self {
        Stream {
            kind,
            collection: &settings.name,
            start: settings.page_size,
            fixed: settings.page_size_fixed,
        }
    }

    /// A stream starting at `start` (a reader's own size), pinned like the collection's.
    pub fn starting_at(kind: &'static str, settings: &'a CollectionSettings, start: u32) -> Self {
        Stream {
            start,
            ..Self::configured(kind, settings)
        }
    }

    /// The stream's pacer in `client`.
    pub fn pacer(&self, client: &FaunaClient) -> std::sync::Arc<Pacer> {
        client.pacer(
            &format!("{}:{}", self.kind, self.collection),
            self.start,
            self.fixed,
        )
    }
}

/// Runs the page query `build(size)` at the stream's current size (read `At(at)` when `at` is
/// given, for [`ReadError::SnapshotExpired`]); on a too-large failure the pacer halves the size
/// and the page is asked again with the same cursor.
pub async fn paced_query<T: PagedBody>(
    client: &FaunaClient,
    stream: Stream<'_>,
    at: Option<i64>,
    build: impl Fn(i64) -> Expr,
) -> Result<T, ReadError> {
    let pacer = stream.pacer(client);
    client.mark_data_page();
    loop {
        let size = pacer.size();
        let q = build(i64::from(size));
        match client.query_measured::<T>(&q, pacer.can_shrink(size)).await {
            Ok(m) => {
                let outcome = Outcome {
                    requested: size,
                    items: m.value.items(),
                    bytes: m.bytes,
                    elapsed: m.elapsed,
                };
                pacer.succeeded(&outcome);
                let next = pacer.size();
                if next < size {
                    tracing::debug!(
                        collection = %stream.collection,
                        stream = stream.kind,
                        items = outcome.items,
                        bytes = outcome.bytes,
                        elapsed_ms = outcome.elapsed.as_millis() as u64,
                        "page size {size} -> {next}"
                    );
                }
                return Ok(m.value);
            }
            Err(e) if e.is_too_large() => match pacer.too_large(size) {
                Some(smaller) => {
                    client.count_retry();
                    tracing::warn!(
                        collection = %stream.collection,
                        "{e}; asking for {smaller} items instead of {size}"
                    );
                }
                None => return Err(read_error(stream.collection, at, e)),
            },
            Err(e) => return Err(read_error(stream.collection, at, e)),
        }
    }
}

/// A page response, which tells the pacer how many items it held.
pub trait PagedBody: ResponseBody {
    /// The number of items.
    fn items(&self) -> usize;
}

impl PagedBody for Value {
    /// The length of the page's `data` array (`{"data": […]}`), 0 for anything else.
    fn items(&self) -> usize {
        self.as_object()
            .and_then(|o| o.get("data"))
            .and_then(Value::as_array)
            .map_or(0, <[Value]>::len)
    }
}
