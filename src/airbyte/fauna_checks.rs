//! What `check` and `discover` ask Fauna: does each collection exist and can the key read it,
//! does the configured index fit, and which `[ts, ref]` index serves a collection.

use std::time::Duration;

use crate::config::{CollectionSettings, Settings};
use crate::fauna::{ClientOptions, Expr, FaunaClient, RetryPolicy, Value};
use crate::read::{list_collections, ts_ref_index_problem as index_problem};

use super::error::AirbyteError;

/// A client for `settings` that gives up after `max_retries` retries (check and discover
/// answer quickly rather than retry for minutes).
pub fn client(settings: &Settings, max_retries: usize) -> Result<FaunaClient, AirbyteError> {
    FaunaClient::new(ClientOptions {
        endpoint: settings.endpoint.clone(),
        secret: settings.secret.clone(),
        query_timeout: settings.query_timeout,
        retry: RetryPolicy {
            max_retries: max_retries.min(settings.max_retries),
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
        },
    })
    .map_err(AirbyteError::fauna("setting up the client"))
}

/// The collections to present as streams: the configured ones, else every collection the key
/// can list (with the defaults).
pub async fn collections(
    client: &FaunaClient,
    settings: &Settings,
) -> Result<Vec<CollectionSettings>, AirbyteError> {
    if let Some(configured) = &settings.collections {
        return Ok(configured.clone());
    }
    let names = list_collections(client)
        .await
        .map_err(AirbyteError::fauna("listing the collections"))?;
    Ok(names
        .into_iter()
        .map(|name| CollectionSettings {
            name,
            ..settings.defaults.clone()
        })
        .collect())
}

/// Fails unless collection `name` exists and the key can read its documents. Asked through
/// `Paginate(Documents(…))` rather than `Exists`, which answers false for a key that may read
/// the documents but not `Collections()`. A key without read access to the documents sees the
/// collection as empty (Fauna filters what a key cannot read); when the first page is empty
/// and final, `Get` of an unused id tells the two apart as `export` does (`spec/errors.md`,
/// "How missing read permission is detected").
pub async fn check_collection(client: &FaunaClient, name: &str) -> Result<(), AirbyteError> {
    let page = match client
        .query(&Expr::paginate(Expr::documents(Expr::collection(name))).with("size", 1))
        .await
    {
        Ok(page) => page,
        Err(e) if e.code() == Some("invalid ref") => {
            return Err(AirbyteError::Mismatch(format!(
                "Collection '{name}' does not exist"
            )))
        }
        Err(e) => {
            return Err(AirbyteError::fauna(format!("reading collection '{name}'"))(
                e,
            ))
        }
    };
    let page = page.as_object();
    let empty = page
        .and_then(|p| p.get("data"))
        .and_then(Value::as_array)
        .is_none_or(|d| d.is_empty())
        && page.and_then(|p| p.get("after")).is_none();
    if !empty {
        return Ok(());
    }
    match client
        .query(&Expr::get(Expr::ref_(Expr::collection(name), "0")))
        .await
    {
        Err(e) if e.status() == Some(403) => Err(AirbyteError::fauna(format!(
            "reading the documents of collection '{name}'"
        ))(e)),
        _ => Ok(()),
    }
}

/// Fails unless index `index` exists and serves `collection` with no terms and values
/// `[ts, ref]`.
pub async fn check_index(
    client: &FaunaClient,
    collection: &str,
    index: &str,
) -> Result<(), AirbyteError> {
    let doc = match client.query(&Expr::get(Expr::index(index))).await {
        Ok(doc) => doc,
        Err(e) if e.code() == Some("invalid ref") => {
            return Err(AirbyteError::Mismatch(format!(
                "Index '{index}' does not exist"
            )))
        }
        Err(e) => return Err(AirbyteError::fauna(format!("reading index '{index}'"))(e)),
    };
    if let Some(problem) = index_problem(index, &doc, collection) {
        return Err(AirbyteError::Mismatch(problem));
    }
    // `Get(Index(…))` needs read on `Indexes()` only; the entries need read on the index.
    let probe = Expr::paginate(Expr::match_index(Expr::index(index))).with("size", 1);
    match client.query(&probe).await {
        Err(e) if e.status() == Some(403) => Err(AirbyteError::fauna(format!(
            "reading the entries of index '{index}'"
        ))(e)),
        _ => Ok(()),
    }
}

/// Every index document the key can read (empty when it may not list indexes).
pub async fn readable_indexes(client: &FaunaClient) -> Result<Vec<Value>, AirbyteError> {
    crate::read::readable_indexes(client)
        .await
        .map_err(AirbyteError::fauna("listing the indexes"))
}
