//! The SPEC message: the connector specification derived from `spec/config.schema.json`, the one
//! config schema, with every `$ref` inlined (Airbyte's UI and CAT reject `$ref`), the `output`
//! section dropped (in Airbyte the destination decides where records go) and `secret` required
//! (Airbyte passes the config file only; there is no FAUNA_SECRET there).

use serde_json::{Map, Value as Json};
use thiserror::Error;

use super::protocol::Spec;

/// The config schema, compiled in.
const CONFIG_SCHEMA: &str = include_str!("../../spec/config.schema.json");

/// The protocol version this connector speaks.
pub const PROTOCOL_VERSION: &str = "0.2.0";

/// `docs/airbyte.md` in the repository (the workspace's `repository` URL).
pub const DOCUMENTATION_URL: &str = "https://example.invalid/fauna-sync/blob/main/docs/airbyte.md";

/// Top-level config properties that have no meaning under Airbyte.
const NOT_FOR_AIRBYTE: [&str; 1] = ["output"];

/// The compiled-in schema cannot be turned into a spec (a bug in `spec/config.schema.json`).
#[derive(Debug, Error, PartialEq, Eq)]
#[error("spec/config.schema.json cannot be used as the Airbyte spec: {0}. This is a bug in fauna-sync; please report it.")]
pub struct SpecError(String);

/// The SPEC payload.
pub fn spec() -> Result<Spec, SpecError> {
    Ok(Spec {
        documentation_url: DOCUMENTATION_URL.to_string(),
        connection_specification: connection_specification()?,
        supports_incremental: true,
        protocol_version: PROTOCOL_VERSION.to_string(),
    })
}

/// `connectionSpecification`: the config schema with `$ref`s inlined.
pub fn connection_specification() -> Result<Json, SpecError> {
    let mut root: Json =
        serde_json::from_str(CONFIG_SCHEMA).map_err(|e| SpecError(format!("invalid JSON: {e}")))?;
    let obj = root
        .as_object_mut()
        .ok_or_else(|| SpecError("the root is not an object".into()))?;
    let definitions = match obj.remove("definitions") {
        Some(Json::Object(d)) => d,
        Some(_) => return Err(SpecError("`definitions` is not an object".into())),
        None => Map::new(),
    };
    obj.remove("$id");
    if let Some(Json::Object(props)) = obj.get_mut("properties") {
        for key in NOT_FOR_AIRBYTE {
            props.remove(key);
        }
    }
    obj.insert("required".into(), Json::from(vec!["secret"]));
    inline_refs(&mut root, &definitions, 0)?;
    Ok(root)
}

/// Replaces every `{"$ref": "#/definitions/x", …}` by definition `x` (its own keys, e.g. a
/// `description`, win over the definition's).
fn inline_refs(
    node: &mut Json,
    definitions: &Map<String, Json>,
    depth: usize,
) -> Result<(), SpecError> {
    const MAX_DEPTH: usize = 32;
    if depth > MAX_DEPTH {
        return Err(SpecError("`$ref`s nest too deeply (a cycle?)".into()));
    }
    match node {
        Json::Object(obj) => {
            if let Some(target) = obj.remove("$ref") {
                let name = target
                    .as_str()
                    .and_then(|t| t.strip_prefix("#/definitions/"))
                    .ok_or_else(|| SpecError(format!("unsupported $ref {target}")))?;
                let Some(Json::Object(def)) = definitions.get(name) else {
                    return Err(SpecError(format!("$ref to a missing definition '{name}'")));
                };
                for (k, v) in def {
                    obj.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            for v in obj.values_mut() {
                inline_refs(v, definitions, depth + 1)?;
            }
        }
        Json::Array(items) => {
            for v in items {
                inline_refs(v, definitions, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys_anywhere(node: &Json, found: &mut Vec<String>) {
        match node {
            Json::Object(o) => {
                for (k, v) in o {
                    found.push(k.clone());
                    keys_anywhere(v, found);
                }
            }
            Json::Array(a) => a.iter().for_each(|v| keys_anywhere(v, found)),
            _ => {}
        }
    }

    #[test]
    fn refs_are_inlined_and_forbidden_keywords_absent() {
        let spec = connection_specification().unwrap();
        let mut keys = vec![];
        keys_anywhere(&spec, &mut keys);
        for bad in ["$ref", "definitions", "anyOf", "allOf", "not", "$id"] {
            assert!(!keys.iter().any(|k| k == bad), "{bad} left in the spec");
        }
        assert_eq!(spec["required"], json!(["secret"]));
        assert_eq!(spec["additionalProperties"], json!(true));
        assert_eq!(spec["properties"]["secret"]["airbyte_secret"], json!(true));
        assert!(spec["properties"].get("output").is_none());
        // The collection definition is inlined, with the property's own description kept.
        let coll = &spec["properties"]["collection"];
        assert_eq!(coll["type"], json!("object"));
        // source-fauna 0.1.x's form has no name: it is not required.
        assert_eq!(coll.get("required"), None);
        assert_eq!(
            coll["description"],
            json!("One collection (the Airbyte source-fauna form); without `name`, settings for every collection (source-fauna 0.1.x).")
        );
        let deletions = &coll["properties"]["deletions"];
        assert_eq!(
            deletions["oneOf"][1]["properties"]["deletion_mode"]["const"],
            json!("deleted_field")
        );
        assert_eq!(
            spec["properties"]["collections"]["items"]["properties"]["additional_columns"]["items"]
                ["required"],
            json!(["name", "path", "type"])
        );
    }

    #[test]
    fn a_missing_definition_or_a_foreign_ref_is_an_error() {
        let defs = Map::new();
        let mut node = json!({"a": {"$ref": "#/definitions/nope"}});
        assert_eq!(
            inline_refs(&mut node, &defs, 0).unwrap_err(),
            SpecError("$ref to a missing definition 'nope'".into())
        );
        let mut node = json!({"a": {"$ref": "http://x/y.json"}});
        assert_eq!(
            inline_refs(&mut node, &defs, 0).unwrap_err(),
            SpecError("unsupported $ref \"http://x/y.json\"".into())
        );
    }
}
