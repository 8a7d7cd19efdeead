//! Checks made on every collection before any is read: it exists, how long it keeps
//! history, and whether the key can read its documents.

use super::error::ExportError;
use crate::config::CollectionSettings;
use crate::fauna::{Expr, FaunaClient, Value};
use crate::read::{
    create_ts_ref_index_fql, fitting_index, index_names, readable_indexes, ts_ref_index_problem,
    Retention,
};

/// Checks `c` and returns its retention. A missing collection and a key that sees documents
/// through `Count` but cannot read them are errors; a key that cannot read the collection
/// document itself gets the shortest retention assumed.
pub async fn check_collection(
    client: &FaunaClient,
    c: &CollectionSettings,
) -> Result<Retention, ExportError> {
    let retention = match client.query(&Expr::get(Expr::collection(&c.name))).await {
        Ok(doc) => match doc.as_object().and_then(|o| o.get("history_days")) {
            Some(Value::Int(d)) => Retention::Days(*d),
            _ => Retention::Forever,
        },
        Err(e) if e.status() == Some(403) => Retention::Unknown,
        Err(e) if e.status() == Some(400) || e.status() == Some(404) => {
            return Err(ExportError::Collection(format!(
                "collection '{}' does not exist (Fauna: {e}); check the name (names are case-sensitive) or remove it from the configuration",
                c.name
            )))
        }
        Err(e) => {
            return Err(ExportError::Fauna {
                context: format!("reading collection '{}'", c.name),
                source: e,
            })
        }
    };
    // Fauna leaves documents the key may not read out of pages (and counts) without an
    // error, so an export without read permission would silently be empty. When the first
    // page is empty and final, a `Get` of a document id that is not used tells the two apart:
    // "instance not found" for a key that may read the collection, "permission denied" for
    // one that may not (the server checks the privilege before the document's existence).
    let first_page = Expr::paginate(Expr::documents(Expr::collection(&c.name))).with("size", 1);
    let empty = match client.query(&first_page).await {
        Ok(page) => {
            let page = page.as_object();
            let data_empty = page
                .and_then(|p| p.get("data"))
                .and_then(Value::as_array)
                .is_none_or(|d| d.is_empty());
            data_empty && page.and_then(|p| p.get("after")).is_none()
        }
        Err(e) if e.status() == Some(403) => true,
        Err(e) => {
            return Err(ExportError::Fauna {
                context: format!("reading the documents of collection '{}'", c.name),
                source: e,
            })
        }
    };
    if !empty {
        return Ok(retention);
    }
    let probe = Expr::get(Expr::ref_(Expr::collection(&c.name), PROBE_ID));
    match client.query(&probe).await {
        Err(e) if e.status() == Some(403) => Err(ExportError::Permission(format!(
            "the key cannot read the documents of collection '{}' (Fauna: {e}); give its role read on Collection(\"{}\") — the connect-readonly role of spec/errors.md has read on Collections(), Indexes(), the collection and its index — or use another key",
            c.name, c.name
        ))),
        _ => Ok(retention),
    }
}

/// The document id the permission probe reads: valid, and not one Fauna generates.
const PROBE_ID: &str = "0";

/// The `[ts, ref]` index `sync` reads `c`'s changes through: the configured one, checked
/// precisely, or the first fitting one the key can read; a clear error with the FQL that
/// creates one (under a name no index the key can see has) otherwise.
pub async fn sync_index(
    client: &FaunaClient,
    c: &CollectionSettings,
) -> Result<String, ExportError> {
    let problem = match &c.index {
        Some(name) => match client.query(&Expr::get(Expr::index(name))).await {
            Ok(doc) => match ts_ref_index_problem(name, &doc, &c.name) {
                None => readable_entries(client, name).await,
                Some(p) => Err(p),
            },
            Err(e) if e.status() == Some(400) || e.status() == Some(404) => {
                Err(format!("its configured index '{name}' does not exist"))
            }
            Err(e) if e.status() == Some(403) => Err(format!(
                "the key cannot read its configured index '{name}' (grant read on Indexes() and Index(\"{name}\"))"
            )),
            Err(e) => {
                return Err(ExportError::Fauna {
                    context: format!("reading index '{name}'"),
                    source: e,
                })
            }
        },
        None => match readable_indexes(client).await {
            Ok(all) => match fitting_index(&all, &c.name) {
                Some(name) => readable_entries(client, &name).await,
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

/// `name` if the key may read the index's entries: `Get(Index(…))` needs read on `Indexes()`
/// only, so a key can see an index it may not read, which would fail only after a full export.
async fn readable_entries(client: &FaunaClient, name: &str) -> Result<String, String> {
    let probe = Expr::paginate(Expr::match_index(Expr::index(name))).with("size", 1);
    match client.query(&probe).await {
        Err(e) if e.status() == Some(403) => Err(format!(
            "the key cannot read the entries of its index '{name}' (grant read on Index(\"{name}\"))"
        )),
        _ => Ok(name.to_string()),
    }
}
