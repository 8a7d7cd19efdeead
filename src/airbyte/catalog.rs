//! The configured catalog (`read --catalog F`): which streams to read and how. Parsed leniently
//! (unknown keys, any `destination_sync_mode`) but a stream that is not a collection of the
//! config, a repeated stream or a sync mode other than `full_refresh`/`incremental` is refused.

use crate::tree::{stream_name, DatabasePath};
use std::collections::HashSet;

use serde_json::Value as Json;

use super::error::AirbyteError;
use super::protocol::{StreamDescriptor, SyncMode};

/// One stream of the configured catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfiguredStream {
    /// The stream (collection) name.
    pub name: String,
    /// The stream's namespace, echoed in every message about the stream (fauna-sync's
    /// catalog sets none; a catalog may).
    pub namespace: Option<String>,
    /// How to read it as requested (`incremental` on a stream without an index is the
    /// pipeline's to downgrade, saying so).
    pub sync_mode: SyncMode,
    /// The destination's mode, as sent (a source does not need it; kept for logs).
    pub destination_sync_mode: Option<String>,
    /// Refresh generation, when the platform sends one.
    pub generation_id: Option<i64>,
}

const FIX: &str =
    "Pass the configured catalog Airbyte generated from this connector's discover output";

/// Parses the configured catalog in `bytes` (read from `path`). With `known` (the configured
/// collections), a stream not among them is an error; without it (every readable collection
/// is a stream) the pipeline checks the names against Fauna.
pub fn parse_catalog(
    bytes: &[u8],
    path: &str,
    known: Option<&[String]>,
) -> Result<Vec<ConfiguredStream>, AirbyteError> {
    let bad = |problem: String| AirbyteError::Input {
        flag: "--catalog",
        path: path.to_string(),
        problem,
        fix: FIX,
    };
    let root: Json =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("not valid JSON ({e})")))?;
    let streams = root
        .get("streams")
        .and_then(Json::as_array)
        .ok_or_else(|| bad("it has no \"streams\" array".into()))?;
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(streams.len());
    for (i, entry) in streams.iter().enumerate() {
        let name = entry
            .get("stream")
            .and_then(|s| s.get("name"))
            .and_then(Json::as_str)
            .ok_or_else(|| bad(format!("streams[{i}] has no stream.name")))?;
        let sync_mode = match entry.get("sync_mode") {
            Some(Json::String(m)) if m == "full_refresh" => SyncMode::FullRefresh,
            Some(Json::String(m)) if m == "incremental" => SyncMode::Incremental,
            Some(other) => {
                return Err(bad(format!(
                    "stream '{name}' has sync_mode {other}; use \"full_refresh\" or \"incremental\""
                )))
            }
            None => return Err(bad(format!("stream '{name}' has no sync_mode"))),
        };
        if let Some(known) = known {
            if !known.iter().any(|k| k == name) {
                return Err(bad(format!(
                    "stream '{name}' is not a collection of this config (its streams: {})",
                    known
                        .iter()
                        .map(|k| format!("'{k}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        // Streams are told apart by name and namespace: a database tree's collections of one
        // name differ by namespace (`spec/trees.md`); without a tree, `read` tells them apart
        // by name alone.
        let namespace = entry.get("stream").and_then(|s| s.get("namespace"));
        if !seen.insert((name.to_string(), namespace.cloned().unwrap_or(Json::Null))) {
            return Err(bad(format!("stream '{name}' is listed twice")));
        }
        out.push(ConfiguredStream {
            name: name.to_string(),
            sync_mode,
            destination_sync_mode: entry
                .get("destination_sync_mode")
                .and_then(Json::as_str)
                .map(str::to_string),
            generation_id: entry.get("generation_id").and_then(Json::as_i64),
            namespace: match entry.get("stream").and_then(|s| s.get("namespace")) {
                None | Some(Json::Null) => None,
                Some(Json::String(ns)) => Some(ns.clone()),
                Some(other) => {
                    return Err(bad(format!(
                        "stream '{name}' has namespace {other}; a namespace is a string"
                    )))
                }
            },
        });
    }
    Ok(out)
}

impl ConfiguredStream {
    /// The stream's descriptor: its name and namespace.
    pub fn descriptor(&self) -> StreamDescriptor {
        StreamDescriptor {
            name: self.name.clone(),
            namespace: self.namespace.clone(),
        }
    }

    /// The database of the stream in a read over a database tree: its namespace's path (the
    /// key's own database without one); `None` when the namespace is no database path.
    pub fn database(&self) -> Option<DatabasePath> {
        DatabasePath::parse(self.namespace.as_deref().unwrap_or("")).ok()
    }

    /// The run's name of the stream: in a read over a database tree, its database's path and
    /// its name (`spec/trees.md`), else its name.
    pub fn key(&self, tree: bool) -> String {
        match (tree, self.database()) {
            (true, Some(path)) => stream_name(&path, &self.name),
            _ => self.name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str, known: Option<&[String]>) -> String {
        parse_catalog(text.as_bytes(), "cat.json", known)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn pyairbytes_catalog_parses() {
        let text = r#"{"streams":[{"stream":{"name":"users","json_schema":{"type":"object","properties":{"id":{"type":"string"}}},
          "supported_sync_modes":["full_refresh","incremental"],"source_defined_cursor":true,
          "default_cursor_field":["ts"],"source_defined_primary_key":[["id"]],"is_resumable":true},
         "sync_mode":"incremental","cursor_field":["ts"],"destination_sync_mode":"soft_delete",
         "primary_key":[["id"]],"generation_id":1,"minimum_generation_id":1,"sync_id":1,"include_files":false}]}"#;
        let known = vec!["users".to_string(), "orders".to_string()];
        assert_eq!(
            parse_catalog(text.as_bytes(), "c", Some(&known)).unwrap(),
            vec![ConfiguredStream {
                name: "users".into(),
                sync_mode: SyncMode::Incremental,
                destination_sync_mode: Some("soft_delete".into()),
                generation_id: Some(1),
                namespace: None,
            }]
        );
        let namespaced = r#"{"streams":[{"stream":{"name":"users","namespace":"crm"},"sync_mode":"full_refresh"}]}"#;
        let got = parse_catalog(namespaced.as_bytes(), "c", Some(&known)).unwrap();
        assert_eq!(
            got[0].descriptor(),
            StreamDescriptor {
                name: "users".into(),
                namespace: Some("crm".into())
            }
        );
        assert_eq!(
            parse_catalog(br#"{"streams":[]}"#, "c", None).unwrap(),
            vec![]
        );
    }

    #[test]
    fn invalid_catalogs_are_named() {
        let fix =
            "Pass the configured catalog Airbyte generated from this connector's discover output";
        assert_eq!(
            err("{", None),
            format!("invalid --catalog file cat.json: not valid JSON (EOF while parsing an object at line 1 column 1). {fix}")
        );
        assert_eq!(
            err("{}", None),
            format!("invalid --catalog file cat.json: it has no \"streams\" array. {fix}")
        );
        assert_eq!(
            err(r#"{"streams":[{"stream":{"name":"x"},"sync_mode":"INVALID"}]}"#, None),
            format!("invalid --catalog file cat.json: stream 'x' has sync_mode \"INVALID\"; use \"full_refresh\" or \"incremental\". {fix}")
        );
        let known = vec!["users".to_string(), "orders".to_string()];
        assert_eq!(
            err(r#"{"streams":[{"stream":{"name":"nope"},"sync_mode":"full_refresh"}]}"#, Some(&known)),
            format!("invalid --catalog file cat.json: stream 'nope' is not a collection of this config (its streams: 'users', 'orders'). {fix}")
        );
        assert_eq!(
            err(
                r#"{"streams":[{"stream":{"name":"users"},"sync_mode":"full_refresh"},{"stream":{"name":"users"},"sync_mode":"incremental"}]}"#,
                None
            ),
            format!("invalid --catalog file cat.json: stream 'users' is listed twice. {fix}")
        );
        assert_eq!(
            err(r#"{"streams":[{"stream":{"name":"x","namespace":5},"sync_mode":"full_refresh"}]}"#, None),
            format!("invalid --catalog file cat.json: stream 'x' has namespace 5; a namespace is a string. {fix}")
        );
        assert_eq!(
            err(r#"{"streams":[{"sync_mode":"full_refresh"}]}"#, None),
            format!("invalid --catalog file cat.json: streams[0] has no stream.name. {fix}")
        );
        let e = parse_catalog(b"[", "c", None).unwrap_err();
        assert_eq!(e.kind().airbyte_failure_type(), "config_error");
    }
}
