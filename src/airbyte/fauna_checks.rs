//! What `check` and `discover` ask Fauna: does each collection exist and can the key read it,
//! does the configured index fit, and which `[ts, ref]` index serves a collection.

use std::time::Duration;

use crate::config::{CollectionSettings, Settings};
use crate::fauna::{ClientOptions, Expr, FaunaClient, RetryPolicy, Value};
use crate::sync::list_collections;

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

/// Why index document `index` (named `name`, as `Get(Index(name))` returns it) cannot serve
/// `collection`'s changes, or `None` when it has source `collection`, no terms, values exactly
/// `[ts, ref]` (not reversed) and is active.
pub fn index_problem(name: &str, index: &Value, collection: &str) -> Option<String> {
    let Some(o) = index.as_object() else {
        return Some(format!("Index '{name}' could not be read"));
    };
    let source = o.get("source");
    let source_ok = source.and_then(Value::as_ref).is_some_and(|r| {
        r.id == collection && r.collection.as_deref().map(|c| c.id.as_str()) == Some("collections")
    });
    if !source_ok {
        let actual = match source.and_then(Value::as_ref) {
            Some(r) => format!("'{}'", r.id),
            None => "that is not a single collection".to_string(),
        };
        return Some(format!(
            "Index '{name}' should have source '{collection}', but it has source {actual}"
        ));
    }
    match o.get("terms") {
        None | Some(Value::Null) => {}
        Some(Value::Array(t)) if t.is_empty() => {}
        Some(other) => {
            return Some(format!(
                "Index '{name}' should have no terms, but it has terms {}",
                describe_fields(other)
            ))
        }
    }
    let values = o.get("values").unwrap_or(&Value::Null);
    let values_ok = match values.as_array() {
        Some([ts, r]) => field(ts).as_deref() == Some("ts") && field(r).as_deref() == Some("ref"),
        _ => false,
    };
    if !values_ok {
        let actual = match values {
            Value::Null => "no values".to_string(),
            v => format!("values {}", describe_fields(v)),
        };
        return Some(format!(
            "Index '{name}' should have values [ts, ref] (neither reversed), but it has {actual}"
        ));
    }
    if o.get("active").is_some_and(|a| *a != Value::Bool(true)) {
        return Some(format!(
            "Index '{name}' is not active yet (Fauna is still building it); wait until it is active"
        ));
    }
    None
}

/// The single-segment field of an index term or value, unless it is reversed or a binding.
fn field(v: &Value) -> Option<String> {
    let o = v.as_object()?;
    if o.get("reverse").is_some_and(|r| *r != Value::Bool(false)) {
        return None;
    }
    match o.get("field")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) if a.len() == 1 => a[0].as_str().map(str::to_string),
        _ => None,
    }
}

/// `[ts, data.name (reverse), binding b]`: index terms or values as a reader would write them.
fn describe_fields(v: &Value) -> String {
    let one = |item: &Value| -> String {
        let Some(o) = item.as_object() else {
            return "?".into();
        };
        let mut text = match (o.get("field"), o.get("binding")) {
            (Some(Value::String(s)), _) => s.clone(),
            (Some(Value::Array(path)), _) => path
                .iter()
                .map(|p| match p {
                    Value::String(s) => s.clone(),
                    Value::Int(i) => i.to_string(),
                    _ => "?".into(),
                })
                .collect::<Vec<_>>()
                .join("."),
            (_, Some(Value::String(b))) => format!("binding {b}"),
            _ => "?".into(),
        };
        if o.get("reverse") == Some(&Value::Bool(true)) {
            text.push_str(" (reverse)");
        }
        text
    };
    match v.as_array() {
        Some(items) => format!("[{}]", items.iter().map(one).collect::<Vec<_>>().join(", ")),
        None => "?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fauna::decode;

    fn index(values: &str, extra: &str) -> Value {
        decode(
            format!(
                r#"{{"name":"i","source":{{"@ref":{{"id":"users","collection":{{"@ref":{{"id":"collections"}}}}}}}},"values":{values}{extra}}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn a_fitting_index_has_no_problem() {
        let good = index(r#"[{"field":"ts"},{"field":["ref"]}]"#, r#","active":true"#);
        assert_eq!(index_problem("i", &good, "users"), None);
        let no_active_field = index(r#"[{"field":["ts"]},{"field":"ref","reverse":false}]"#, "");
        assert_eq!(index_problem("i", &no_active_field, "users"), None);
    }

    #[test]
    fn each_problem_is_named_precisely() {
        let good = r#"[{"field":"ts"},{"field":"ref"}]"#;
        assert_eq!(
            index_problem("i", &index(good, ""), "orders").unwrap(),
            "Index 'i' should have source 'orders', but it has source 'users'"
        );
        assert_eq!(
            index_problem(
                "i",
                &index(good, r#","terms":[{"field":["data","email"]}]"#),
                "users"
            )
            .unwrap(),
            "Index 'i' should have no terms, but it has terms [data.email]"
        );
        assert_eq!(
            index_problem("i", &index(r#"[{"field":"ts","reverse":true},{"field":"ref"}]"#, ""), "users").unwrap(),
            "Index 'i' should have values [ts, ref] (neither reversed), but it has values [ts (reverse), ref]"
        );
        assert_eq!(
            index_problem("i", &index(r#"[{"field":"ts"},{"field":"ref"},{"field":["data","x"]}]"#, ""), "users").unwrap(),
            "Index 'i' should have values [ts, ref] (neither reversed), but it has values [ts, ref, data.x]"
        );
        assert_eq!(
            index_problem("i", &index("null", ""), "users").unwrap(),
            "Index 'i' should have values [ts, ref] (neither reversed), but it has no values"
        );
        assert_eq!(
            index_problem("i", &index(good, r#","active":false"#), "users").unwrap(),
            "Index 'i' is not active yet (Fauna is still building it); wait until it is active"
        );
    }
}
