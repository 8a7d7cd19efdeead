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
    let mut all = Vec::new();
    let mut after: Option<Value> = None;
    loop {
        let mut page = Expr::paginate(Expr::indexes()).with("size", 1000);
        if let Some(a) = after.take() {
            page = page.with("after", a);
        }
        let q = Expr::map(Expr::lambda("i", Expr::get(Expr::var("i"))), page);
        let page = match client.query(&q).await {
            Ok(p) => p,
            Err(e) if e.status() == Some(403) => return Ok(all),
            Err(e) => return Err(AirbyteError::fauna("listing the indexes")(e)),
        };
        let Some(page) = page.as_object() else {
            return Ok(all);
        };
        if let Some(data) = page.get("data").and_then(Value::as_array) {
            all.extend(data.iter().cloned());
        }
        match page.get("after") {
            Some(a) => after = Some(a.clone()),
            None => return Ok(all),
        }
    }
}

/// The name of the first of `indexes` that serves `collection` with no terms and values
/// `[ts, ref]`.
pub fn fitting_index(indexes: &[Value], collection: &str) -> Option<String> {
    indexes.iter().find_map(|index| {
        let name = index.as_object()?.get("name")?.as_str()?;
        index_problem(name, index, collection)
            .is_none()
            .then(|| name.to_string())
    })
}
