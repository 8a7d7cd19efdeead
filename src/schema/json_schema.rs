//! The observed schema as JSON Schema of export records (the JSONL sidecar and Airbyte's
//! typed `discover`, once wired).

use serde_json::{json, Map, Value as Json};

use super::{ObservedSchema, Path, Seg, WireType};

/// JSON Schema (draft-07, Airbyte's dialect) of an export record `{ref, ts, data}` whose
/// `data` has the observed paths: each path's types in their export form (`int` → integer,
/// `double` → number, `time` → date-time string with `airbyte_type`
/// `timestamp_with_timezone`, `date` → date string, `bytes` → base64url string, `ref` →
/// object `{id, collection, type}`, `set`/`query` → string, objects with their observed
/// properties, arrays with their elements' types), `null` added where a null was seen, several
/// types as `anyOf`. Objects allow other properties: a later document may add fields.
pub fn record_json_schema(schema: &ObservedSchema) -> Json {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {
            "ref": {"type": "string"},
            "ts": {"type": "integer"},
            "data": object_schema(schema, &Path::default()),
        },
        "required": ["ref", "ts"],
        "additionalProperties": true,
    })
}

/// The schema of the values seen at `path`.
fn path_schema(schema: &ObservedSchema, path: &Path) -> Json {
    let Some(stats) = schema.get(path) else {
        return json!({});
    };
    let mut options: Vec<Json> = stats
        .types
        .keys()
        .map(|ty| type_schema(schema, path, *ty))
        .collect();
    if stats.nulls > 0 {
        options.push(json!({"type": "null"}));
    }
    match options.len() {
        0 => json!({}),
        1 => options.pop().unwrap_or_default(),
        _ => json!({ "anyOf": options }),
    }
}

fn type_schema(schema: &ObservedSchema, path: &Path, ty: WireType) -> Json {
    match ty {
        WireType::Int => json!({"type": "integer"}),
        WireType::Double => json!({"type": "number"}),
        WireType::String | WireType::Set | WireType::Query => json!({"type": "string"}),
        WireType::Boolean => json!({"type": "boolean"}),
        WireType::Time => json!({
            "type": "string", "format": "date-time", "airbyte_type": "timestamp_with_timezone"
        }),
        WireType::Date => json!({"type": "string", "format": "date"}),
        WireType::Bytes => json!({"type": "string", "contentEncoding": "base64url"}),
        WireType::Ref => json!({
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "collection": {"type": "string"},
                "type": {"type": "string"},
            },
            "required": ["id", "type"],
        }),
        WireType::Object => object_schema(schema, path),
        WireType::Array => json!({
            "type": "array",
            "items": path_schema(schema, &path.child(Seg::Items)),
        }),
    }
}

/// An object with the observed keys below `path` as properties.
fn object_schema(schema: &ObservedSchema, path: &Path) -> Json {
    let mut properties = Map::new();
    let depth = path.len() + 1;
    for child in schema
        .paths()
        .range(path.clone()..)
        .map(|(p, _)| p)
        .take_while(|p| p.0.starts_with(&path.0))
        .filter(|p| p.len() == depth)
    {
        if let Some(Seg::Key(k)) = child.0.last() {
            properties.insert(k.clone(), path_schema(schema, child));
        }
    }
    json!({"type": "object", "properties": properties, "additionalProperties": true})
}
