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

/// Fails unless collection `name` exists. Asked through `Paginate(Documents(…))` rather than
/// `Exists`, which answers false for a key that may read the documents but not `Collections()`.
/// A key without read access to the documents sees the collection as empty (Fauna filters what
/// a key cannot read), which no query can tell apart.
pub async fn check_collection(client: &FaunaClient, name: &str) -> Result<(), AirbyteError> {
    match client
        .query(&Expr::paginate(Expr::documents(Expr::collection(name))).with("size", 1))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("invalid ref") => Err(AirbyteError::Mismatch(format!(
            "Collection '{name}' does not exist"
        ))),
        Err(e) => Err(AirbyteError::fauna(format!("reading collection '{name}'"))(
            e,
        )),
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
    match index_problem(index, &doc, collection) {
        Some(problem) => Err(AirbyteError::Mismatch(problem)),
        None => Ok(()),
    }
}

/// Every index document the key can read (empty when it may not list indexes).
pub async fn readable_indexes(client: &FaunaClient) -> Result<Vec<Value>, AirbyteError> {
    crate::read::readable_indexes(client)
        .await
        .map_err(AirbyteError::fauna("listing the indexes"))
}
