//! The checks of a collection before anything is read, shared by every run (export, sync,
//! Airbyte `read`) and by Airbyte `check` and `discover`: it exists, how long it keeps history,
//! the key can read its documents; a configured `[ts, ref]` index exists, fits and its entries
//! are readable. [`collection`] and [`configured_index`] say what they found; the run words it
//! here ([`check_collection`], [`sync_index`]), the Airbyte commands their way.

use super::plan::{ReadMode, StreamPlan};
use super::reading::Ready;
use crate::config::CollectionSettings;
use crate::fauna::{Expr, FaunaClient, FaunaError, Value};
use crate::read::{
    create_ts_ref_index_fql, fitting_index, index_names, readable_indexes, ts_ref_index_problem,
    Retention,
};
use crate::sync::{ExportError, Observer};

/// Whether Fauna's answer means that what was named does not exist: an `invalid ref` (an
/// undefined collection or index) or `instance not found`.
pub fn does_not_exist(e: &FaunaError) -> bool {
    e.status() == Some(404) || e.code() == Some("invalid ref")
}

/// Why a collection cannot be read.
#[derive(Debug)]
pub enum CollectionProblem {
    /// It does not exist ([`does_not_exist`]).
    Missing(FaunaError),
    /// The key cannot read its documents: Fauna leaves them out of pages without an error,
    /// and a probe of an unused id was refused.
    Unreadable(FaunaError),
    /// Asking failed.
    Failed {
        /// What was asked.
        context: String,
        /// The failure.
        source: FaunaError,
    },
}

/// Checks collection `name` and returns its retention. A key that cannot read the collection
/// document itself gets the shortest retention assumed; one that cannot read its documents is
/// refused (`spec/errors.md`, "How missing read permission is detected").
pub async fn collection(client: &FaunaClient, name: &str) -> Result<Retention, CollectionProblem> {
    let failed = |what: &str, source| CollectionProblem::Failed {
        context: format!("{what} collection '{name}'"),
        source,
    };
    let retention = match client.query(&Expr::get(Expr::collection(name))).await {
        Ok(doc) => match doc.as_object().and_then(|o| o.get("history_days")) {
            Some(Value::Int(d)) => Retention::Days(*d),
            _ => Retention::Forever,
        },
        Err(e) if does_not_exist(&e) => return Err(CollectionProblem::Missing(e)),
        Err(e) if e.status() == Some(403) => Retention::Unknown,
        Err(e) => return Err(failed("reading", e)),
    };
    // Fauna leaves documents the key may not read out of pages (and counts) without an
    // error, so an export without read permission would silently be empty. When the first
    // page is empty and final, a `Get` of a document id that is not used tells the two apart:
    // "instance not found" for a key that may read the collection, "permission denied" for
    // one that may not (the server checks the privilege before the document's existence).
    let first_page = Expr::paginate(Expr::documents(Expr::collection(name))).with("size", 1);
    let empty = match client.query(&first_page).await {
        Ok(page) => {
            let page = page.as_object();
            let data_empty = page
                .and_then(|p| p.get("data"))
                .and_then(Value::as_array)
                .is_none_or(|d| d.is_empty());
            data_empty && page.and_then(|p| p.get("after")).is_none()
        }
        Err(e) if does_not_exist(&e) => return Err(CollectionProblem::Missing(e)),
        Err(e) if e.status() == Some(403) => true,
        Err(e) => return Err(failed("reading the documents of", e)),
    };
    if !empty {
        return Ok(retention);
    }
    let probe = Expr::get(Expr::ref_(Expr::collection(name), PROBE_ID));
    match client.query(&probe).await {
        Err(e) if e.status() == Some(403) => Err(CollectionProblem::Unreadable(e)),
        _ => Ok(retention),
    }
}

/// The document id the permission probe reads: valid, and not one Fauna generates.
const PROBE_ID: &str = "0";

/// Why a configured index cannot serve a collection's incremental reads.
#[derive(Debug)]
pub enum IndexProblem {
    /// It does not exist ([`does_not_exist`]).
    Missing(FaunaError),
    /// The key cannot read the index document (read on `Indexes()`).
    Unreadable(FaunaError),
    /// It does not fit: what is wrong, in source-fauna's words.
    Unfit(String),
    /// The key can read the index document but not its entries.
    EntriesUnreadable(FaunaError),
    /// Asking failed.
    Failed(FaunaError),
}

/// Checks that index `index` exists, serves `collection` with no terms and values `[ts, ref]`,
/// is active, and that the key can read its entries.
pub async fn configured_index(
    client: &FaunaClient,
    collection: &str,
    index: &str,
) -> Result<(), IndexProblem> {
    let doc = match client.query(&Expr::get(Expr::index(index))).await {
        Ok(doc) => doc,
        Err(e) if does_not_exist(&e) => return Err(IndexProblem::Missing(e)),
        Err(e) if e.status() == Some(403) => return Err(IndexProblem::Unreadable(e)),
        Err(e) => return Err(IndexProblem::Failed(e)),
    };
    if let Some(problem) = ts_ref_index_problem(index, &doc, collection) {
        return Err(IndexProblem::Unfit(problem));
    }
    readable_entries(client, index).await
}

/// `Get(Index(…))` needs read on `Indexes()` only, so a key can see an index whose entries it
/// may not read, which would fail only after a full export.
async fn readable_entries(client: &FaunaClient, index: &str) -> Result<(), IndexProblem> {
    let probe = Expr::paginate(Expr::match_index(Expr::index(index))).with("size", 1);
    match client.query(&probe).await {
        Err(e) if e.status() == Some(403) => Err(IndexProblem::EntriesUnreadable(e)),
        _ => Ok(()),
    }
}

/// The run's check of `c`: its retention, or why it cannot be read. A missing collection (a
/// typo) fails the run; a key that cannot read it fails that collection.
pub async fn check_collection(
    client: &FaunaClient,
    c: &CollectionSettings,
) -> Result<Retention, ExportError> {
    collection(client, &c.name).await.map_err(|p| match p {
        CollectionProblem::Missing(e) => ExportError::Collection(format!(
            "collection '{}' does not exist (Fauna: {e}); check the name (names are case-sensitive) or remove it from the configuration",
            c.name
        )),
        CollectionProblem::Unreadable(e) => ExportError::Permission(format!(
            "the key cannot read the documents of collection '{}' (Fauna: {e}); give its role read on Collection(\"{}\") — the connect-readonly role of spec/errors.md has read on Collections(), Indexes(), the collection and its index — or use another key",
            c.name, c.name
        )),
        CollectionProblem::Failed { context, source } => ExportError::Fauna { context, source },
    })
}

/// The `[ts, ref]` index incremental reads of `c` go through: the configured one, checked
/// precisely, or the first fitting one the key can read; a clear error with the FQL that
/// creates one (under a name no index the key can see has) otherwise.
pub async fn sync_index(
    client: &FaunaClient,
    c: &CollectionSettings,
) -> Result<String, ExportError> {
    let problem = match &c.index {
        Some(name) => match configured_index(client, &c.name, name).await {
            Ok(()) => Ok(name.clone()),
            Err(IndexProblem::Missing(_)) => {
                Err(format!("its configured index '{name}' does not exist"))
            }
            Err(IndexProblem::Unreadable(_)) => Err(format!(
                "the key cannot read its configured index '{name}' (grant read on Indexes() and Index(\"{name}\"))"
            )),
            Err(IndexProblem::Unfit(problem)) => Err(problem),
            Err(IndexProblem::EntriesUnreadable(_)) => Err(entries_unreadable(name)),
            Err(IndexProblem::Failed(source)) => {
                return Err(ExportError::Fauna {
                    context: format!("reading index '{name}'"),
                    source,
                })
            }
        },
        None => match readable_indexes(client).await {
            Ok(all) => match fitting_index(&all, &c.name) {
                Some(name) => match readable_entries(client, &name).await {
                    Ok(()) => Ok(name),
                    Err(_) => Err(entries_unreadable(&name)),
                },
                None => Err(
                    "no index the key can read has source the collection, no terms and values [ts, ref]"
                        .into(),
                ),
            },
            Err(e) => {
                return Err(ExportError::Fauna {
                    context: format!("listing the indexes of collection '{}'", c.name),
                    source: e,
                })
            }
        },
    };
    match problem {
        Ok(name) => Ok(name),
        Err(problem) => {
            // The suggested index must not clash with one that exists (the unfit configured
            // one included).
            let mut taken = index_names(&readable_indexes(client).await.unwrap_or_default());
            taken.extend(c.index.iter().cloned());
            Err(ExportError::NoIndex {
                collection: c.name.clone(),
                problem,
                fql: create_ts_ref_index_fql(&c.name, &taken),
            })
        }
    }
}

/// A key that may not read the entries of index `name`, and the grant it needs.
fn entries_unreadable(name: &str) -> String {
    format!(
        "the key cannot read the entries of its index '{name}' (grant read on Index(\"{name}\"))"
    )
}

/// The checks of one stream of a run: its collection's retention and, for an incremental
/// read, its `[ts, ref]` index. An incremental read that may fall back to a full refresh does
/// so, with a warning, when the collection has no fitting index.
pub(super) async fn check_stream(
    client: &FaunaClient,
    s: &StreamPlan,
    observer: &dyn Observer,
) -> Result<Ready, ExportError> {
    let retention = check_collection(client, &s.collection).await?;
    let (read, index) = match s.read {
        ReadMode::Incremental { or_refresh } => match sync_index(client, &s.collection).await {
            Ok(index) => (s.read, Some(index)),
            Err(ExportError::NoIndex { problem, .. }) if or_refresh => {
                let name = s.name();
                let message = format!(
                    "stream '{name}' is read in full refresh: incremental needs a [ts, ref] index ({problem})"
                );
                tracing::warn!(collection = %name, "{message}");
                observer.warning(&name, &message)?;
                (ReadMode::Refresh, None)
            }
            Err(e) => return Err(e),
        },
        ReadMode::Export | ReadMode::Refresh => (s.read, None),
    };
    Ok(Ready {
        plan: StreamPlan {
            collection: s.collection.clone(),
            read,
            database: s.database.clone(),
            merged: s.merged,
        },
        retention,
        index,
    })
}
