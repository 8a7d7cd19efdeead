//! The CATALOG: one stream per collection, its JSON schema from the collection's record schema.

use serde_json::{json, Map, Value as Json};

use crate::config::{CollectionSettings, Settings};
use crate::export::record_schema;
use crate::fauna::{Expr, FaunaClient, Value};
use crate::read::{fitting_index, list_collections};
use crate::run::{client_in, Use};
use crate::schema::{record_json_schema, ObservedSchema, SchemaObserver};
use crate::tree::{Access, DatabasePath, DATABASE_COLUMN};

use super::checks::{check_collection, check_index};
use super::error::AirbyteError;
use super::protocol::{AirbyteStream, Catalog, SyncMode};
use super::record::{CDC_DELETED_AT, CDC_UPDATED_AT};

/// Retries of transient failures during discover.
const DISCOVER_RETRIES: usize = 3;

/// Asks Fauna for the streams: the configured collections (each must exist and be readable;
/// a configured index must fit) or every readable collection; incremental where a `[ts, ref]`
/// index serves the collection.
pub async fn discover(settings: &Settings) -> Result<Catalog, AirbyteError> {
    refuse_merged(settings)?;
    if !settings.databases.is_tree() {
        return discover_in(settings, &DatabasePath::root()).await;
    }
    // A database tree: each database's streams, its path as their namespace.
    let tree = crate::run::databases(settings).await?;
    let mut streams = Vec::new();
    for path in &tree.databases {
        match discover_in(settings, path).await {
            Ok(catalog) => streams.extend(catalog.streams),
            Err(AirbyteError::Fauna { source, .. })
                if matches!(source.status(), Some(401 | 403)) && settings.collections.is_none() =>
            {
                let label = path.label();
                tracing::warn!(database = %path, "The key cannot list the collections of {label} (Fauna: {source}); it is left out.");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Catalog { streams })
}

/// Airbyte keeps a tree's streams apart by namespace and one STATE per stream: merged
/// databases (`merge_databases`) are a configuration error there.
pub fn refuse_merged(settings: &Settings) -> Result<(), AirbyteError> {
    if !settings.databases.merge {
        return Ok(());
    }
    Err(AirbyteError::Config(crate::config::ConfigError::new(
        "databases.merge",
        "Airbyte reads a database tree as one stream per database and collection, the database's path as its namespace",
        "Leave \"merge\" out; a destination that ignores namespaces keeps every database's rows apart by the database column.",
    )))
}

/// The streams of the database at `path`.
async fn discover_in(settings: &Settings, path: &DatabasePath) -> Result<Catalog, AirbyteError> {
    let purpose = Use::Answer {
        retries: DISCOVER_RETRIES,
    };
    let client = client_in(settings, purpose, path, Access::Read)
        .map_err(AirbyteError::fauna("setting up the client"))?;
    let tree = settings.databases.is_tree();
    let configured = settings.collections.is_some();
    let mut colls = collections(&client, settings).await?;
    if tree && configured {
        // Every database of a tree need not have every configured collection.
        let present = list_collections(&client)
            .await
            .map_err(AirbyteError::fauna("listing the collections"))?;
        colls.retain(|c| present.contains(&c.name));
    }
    let mut indexes = None;
    let mut streams = Vec::with_capacity(colls.len());
    for coll in &colls {
        if configured {
            check_collection(&client, &coll.name).await?;
        }
        let incremental = match &coll.index {
            Some(index) => {
                check_index(&client, &coll.name, index).await?;
                true
            }
            None => {
                if indexes.is_none() {
                    indexes = Some(readable_indexes(&client).await?);
                }
                fitting_index(indexes.as_deref().unwrap_or(&[]), &coll.name).is_some()
            }
        };
        let mut s = stream(coll, incremental);
        if settings.discover_sample > 0 && coll.data_column {
            let observed = sample(&client, &coll.name, settings.discover_sample).await?;
            type_data(&mut s.json_schema, &observed, settings.discover_sample);
        }
        if tree {
            in_tree(&mut s, path);
        }
        streams.push(s);
    }
    Ok(Catalog { streams })
}

/// The observed schema of the first `size` documents of `collection` (one page).
async fn sample(
    client: &FaunaClient,
    collection: &str,
    size: u32,
) -> Result<ObservedSchema, AirbyteError> {
    let page =
        Expr::paginate(Expr::documents(Expr::collection(collection))).with("size", i64::from(size));
    let q = Expr::map(Expr::lambda("x", Expr::get(Expr::var("x"))), page);
    let resp = client.query(&q).await.map_err(AirbyteError::fauna(
        "sampling documents for typed properties",
    ))?;
    let mut observer = SchemaObserver::default();
    let docs = field(&resp, "data")
        .and_then(Value::as_array)
        .unwrap_or_default();
    for doc in docs {
        let id = field(doc, "ref")
            .and_then(Value::as_ref)
            .map(|r| r.id.as_str());
        let ts = field(doc, "ts").and_then(Value::as_i64);
        if let (Some(id), Some(ts)) = (id, ts) {
            observer.observe(field(doc, "data").unwrap_or(&Value::Null), ts, id);
        }
    }
    Ok(observer.finish())
}

/// The field `key` of the object `v`.
fn field<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.as_object().and_then(|o| o.get(key))
}

/// Gives the stream schema's `data` the typed properties of `observed` (export forms, as
/// [`record_json_schema`]), open to other properties and labelled as a sample of `size`.
fn type_data(schema: &mut Json, observed: &ObservedSchema, size: u32) {
    let typed = record_json_schema(observed);
    let Some(props) = typed.pointer("/properties/data/properties").cloned() else {
        return;
    };
    if let Some(data) = schema.pointer_mut("/properties/data") {
        *data = json!({
            "type": ["null", "object"],
            "properties": props,
            "additionalProperties": true,
            "description": format!(
                "Typed from a sample of the first {} of at most {size} documents read at discover; other fields and types may occur.",
                observed.documents()
            ),
        });
    }
}

/// The collections to present as streams: the configured ones, else every collection the key
/// can list (with the defaults).
async fn collections(
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

/// Every index document the key can read (empty when it may not list indexes).
async fn readable_indexes(client: &FaunaClient) -> Result<Vec<Value>, AirbyteError> {
    crate::read::readable_indexes(client)
        .await
        .map_err(AirbyteError::fauna("listing the indexes"))
}

/// The stream of one collection.
pub fn stream(settings: &CollectionSettings, incremental: bool) -> AirbyteStream {
    let mut modes = vec![SyncMode::FullRefresh];
    if incremental {
        modes.push(SyncMode::Incremental);
    }
    AirbyteStream {
        name: settings.name.clone(),
        namespace: None,
        json_schema: json_schema(settings),
        supported_sync_modes: modes,
        source_defined_cursor: true,
        default_cursor_field: vec!["ts".into()],
        source_defined_primary_key: vec![vec!["ref".into()]],
        is_resumable: true,
    }
}

/// `s` as a stream of the database at `path` in a tree: its namespace is the path (none for
/// the key's own database), its records carry the database column, and its rows are keyed by
/// database and ref, so one table can hold every database's.
pub fn in_tree(s: &mut AirbyteStream, path: &DatabasePath) {
    s.namespace = (!path.is_root()).then(|| path.to_string());
    if let Some(props) = s.json_schema["properties"].as_object_mut() {
        props.insert(DATABASE_COLUMN.into(), json!({"type": "string"}));
    }
    s.source_defined_primary_key = vec![vec![DATABASE_COLUMN.into()], vec!["ref".into()]];
}

/// The JSON schema of the stream's records (what [`super::record_data`] emits): `ref`, `ts`,
/// `data` (unless turned off; null when a document has none), the additional columns (nullable:
/// optional paths hold null), and with deletions the deletion column and Airbyte's CDC columns.
/// Deletion records carry only `ref`, `ts`, the deletion column and the CDC columns.
pub fn json_schema(settings: &CollectionSettings) -> Json {
    let schema = record_schema(settings);
    let mut props = Map::new();
    props.insert("ref".into(), json!({"type": "string"}));
    props.insert("ts".into(), json!({"type": "integer"}));
    if schema.data_column {
        props.insert("data".into(), json!({"type": ["null", "object"]}));
    }
    for col in &settings.columns {
        let mut p = Map::new();
        p.insert("type".into(), json!(["null", col.column_type.name()]));
        if let Some(f) = &col.format {
            p.insert("format".into(), json!(f));
        }
        if let Some(t) = &col.airbyte_type {
            p.insert("airbyte_type".into(), json!(t));
        }
        props.insert(col.name.clone(), Json::Object(p));
    }
    if let Some(col) = &schema.deletion_column {
        props.insert(col.clone(), timestamp_column("timestamp_without_timezone"));
        for name in [CDC_UPDATED_AT, CDC_DELETED_AT] {
            props.insert(name.into(), timestamp_column("timestamp_with_timezone"));
        }
    }
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": props,
    })
}

/// A nullable date-time column of this Airbyte type: the deletion column holds source-fauna's
/// zone-less time, the CDC columns RFC 3339 UTC.
fn timestamp_column(airbyte_type: &str) -> Json {
    json!({
        "type": ["null", "string"],
        "format": "date-time",
        "airbyte_type": airbyte_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ColumnSpec;
    use crate::export::ColumnType;

    fn coll() -> CollectionSettings {
        CollectionSettings {
            name: "users".into(),
            index: None,
            data_column: true,
            columns: vec![],
            page_size: 64,
            page_size_fixed: false,
            deletion_column: None,
            history_gap: Default::default(),
            typed: false,
            contract: None,
        }
    }

    #[test]
    fn a_plain_collection() {
        let s = serde_json::to_value(stream(&coll(), false)).unwrap();
        assert_eq!(
            s,
            json!({
                "name": "users",
                "json_schema": {
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "type": "object",
                    "properties": {
                        "ref": {"type": "string"},
                        "ts": {"type": "integer"},
                        "data": {"type": ["null", "object"]}
                    }
                },
                "supported_sync_modes": ["full_refresh"],
                "source_defined_cursor": true,
                "default_cursor_field": ["ts"],
                "source_defined_primary_key": [["ref"]],
                "is_resumable": true
            })
        );
    }

    #[test]
    fn columns_deletions_and_incremental() {
        let mut c = coll();
        c.data_column = false;
        c.deletion_column = Some("gone_at".into());
        c.columns = vec![ColumnSpec {
            name: "when".into(),
            path: vec!["data".into(), "when".into()],
            column_type: ColumnType::String,
            format: Some("date-time".into()),
            airbyte_type: Some("timestamp_with_timezone".into()),
            required: true,
        }];
        let s = serde_json::to_value(stream(&c, true)).unwrap();
        let ts = json!({"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"});
        let naive = json!({"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_without_timezone"});
        assert_eq!(
            s["json_schema"]["properties"],
            json!({
                "ref": {"type": "string"},
                "ts": {"type": "integer"},
                "when": ts,
                "gone_at": naive,
                "_ab_cdc_updated_at": ts,
                "_ab_cdc_deleted_at": ts
            })
        );
        assert_eq!(
            s["supported_sync_modes"],
            json!(["full_refresh", "incremental"])
        );
    }
}
