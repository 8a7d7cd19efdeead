//! The input state (`read --state F`) in every form Airbyte's producers write
//! (`airbyte-protocol.md` §1.4), and the LEGACY state of the Python `source-fauna`, so its
//! users switch without a re-sync. Each stream's input is our own state blob or a translated
//! legacy cursor; streams without state are absent.
//!
//! Accepted: no file; an empty file, `null`, `{}` or `[]`; an array of STREAM, GLOBAL (its
//! `stream_states`) or LEGACY messages, with any extra or null keys (PyAirbyte adds
//! `"global_": null`, `"data": null`…); one such message not in an array; a bare LEGACY blob
//! `{"<stream>": {"full_sync_cursor"…, "updates_cursor"…, "remove_cursor"…}}` (what the platform
//! passes for a legacy connection). A STREAM whose `stream_state` is null (a reset) is skipped;
//! a STREAM whose `stream_state` holds only source-fauna's cursor keys is translated too.
//!
//! A bare object (or LEGACY `data`) whose stream entries are fauna-sync's own per-stream
//! states (a STREAM array flattened by hand or by a tool) is taken as such, and a note says
//! so; an entry that is neither source-fauna's nor fauna-sync's is refused. Streams are keyed
//! by their descriptor (name and namespace); source-fauna's states have no namespace.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::error::AirbyteError;
use super::protocol::StreamDescriptor;
use crate::fauna::{decode, Value};
use crate::state::StreamState;

/// The parsed input state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InputState {
    /// What each stream resumes from; streams without state are absent.
    pub streams: BTreeMap<StreamDescriptor, StreamInput>,
    /// What the reader should be told about how the file was understood (LOG lines).
    pub notes: Vec<String>,
}

/// What a stream resumes from.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamInput {
    /// The `stream_state` fauna-sync emitted, verbatim (the pipeline reads it back).
    State(Json),
    /// The per-stream state of the Python source-fauna, translated.
    Legacy(Box<LegacyCursor>),
}

/// source-fauna's per-stream state: `{"full_sync_cursor": {ts, after?}, "updates_cursor":
/// {ts?, ref?, after?}, "remove_cursor": {ts?, ref?, after?}}`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LegacyCursor {
    /// An interrupted full refresh: its snapshot and where its `Documents()` paging stopped.
    pub full_sync: Option<LegacyFullSync>,
    /// Incremental creations/updates, read through the `[ts, ref]` index.
    pub updates: Option<LegacyPosition>,
    /// Incremental deletions, read from the collection's remove events.
    pub removes: Option<LegacyPosition>,
}

/// `full_sync_cursor`: a full refresh that stopped part-way.
#[derive(Clone, Debug, PartialEq)]
pub struct LegacyFullSync {
    /// The snapshot time of the read (`At(ts, …)`), microseconds.
    pub ts: i64,
    /// The `after` cursor of the `Paginate(Documents(…))` page that was being read when the
    /// sync stopped (decoded from its wire JSON); `None` = start from the first page.
    pub after: Option<Value>,
}

/// `updates_cursor` / `remove_cursor`: the last entry emitted, inclusive. source-fauna resumed
/// at `(ts, ref)` and skipped exactly that entry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LegacyPosition {
    /// The `ts` of the last version (or remove event) emitted, microseconds.
    pub ts: Option<i64>,
    /// The document id of that entry.
    pub ref_id: Option<String>,
    /// Present when a read stopped mid-way: the `after` cursor of the page being read
    /// (decoded from its wire JSON). source-fauna then kept `ts`/`ref` at their older values.
    pub after: Option<Value>,
}

/// The keys of source-fauna's per-stream state.
const LEGACY_KEYS: [&str; 3] = ["full_sync_cursor", "updates_cursor", "remove_cursor"];
/// The keys of an `AirbyteStateMessage` (with PyAirbyte's `global_`).
const MESSAGE_KEYS: [&str; 8] = [
    "type",
    "stream",
    "global",
    "global_",
    "data",
    "sourceStats",
    "destinationStats",
    "emitted_at",
];
const FIX: &str = "Pass the state Airbyte saved from this connector's last sync, or no --state to read from the start";

/// Parses the state file's content (`None`: no `--state` given).
pub fn parse_state(bytes: Option<&[u8]>, path: &str) -> Result<InputState, AirbyteError> {
    let mut out = InputState::default();
    let Some(bytes) = bytes else {
        return Ok(out);
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(out);
    }
    let p = Parser { path };
    let root: Json =
        serde_json::from_slice(bytes).map_err(|e| p.bad(format!("not valid JSON ({e})")))?;
    match &root {
        Json::Null => {}
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                p.message(item, &format!("[{i}]"), &mut out)?;
            }
        }
        Json::Object(o) if o.is_empty() => {}
        Json::Object(o) if is_message(o) => p.message(&root, "(file)", &mut out)?,
        Json::Object(o) => p.legacy_blob(o, &mut out)?,
        other => return Err(p.bad(format!("expected an array or an object, found {other}"))),
    }
    Ok(out)
}

/// Whether a top-level object is one `AirbyteStateMessage` rather than a bare legacy blob.
fn is_message(o: &Map<String, Json>) -> bool {
    if matches!(o.get("type"), Some(Json::String(_))) {
        return true;
    }
    let only_message_keys = o.keys().all(|k| MESSAGE_KEYS.contains(&k.as_str()));
    let data_is_blob = match o.get("data") {
        Some(Json::Object(d)) => !d.keys().any(|k| LEGACY_KEYS.contains(&k.as_str())),
        _ => false,
    };
    only_message_keys
        && (data_is_blob
            || o.get("stream")
                .is_some_and(|s| s.get("stream_descriptor").is_some())
            || o.get("global")
                .is_some_and(|g| g.get("stream_states").is_some()))
}

struct Parser<'a> {
    path: &'a str,
}

impl Parser<'_> {
    fn bad(&self, problem: String) -> AirbyteError {
        AirbyteError::Input {
            flag: "--state",
            path: self.path.to_string(),
            problem,
            fix: FIX,
        }
    }

    /// One `AirbyteStateMessage`.
    fn message(&self, item: &Json, at: &str, out: &mut InputState) -> Result<(), AirbyteError> {
        let Json::Object(o) = item else {
            return Err(self.bad(format!("{at} is not a state message object")));
        };
        let non_null = |k: &str| o.get(k).filter(|v| !v.is_null());
        let kind = match o.get("type") {
            Some(Json::String(t)) => t.as_str(),
            None | Some(Json::Null) => {
                if non_null("stream").is_some() {
                    "STREAM"
                } else if non_null("global").is_some() {
                    "GLOBAL"
                } else if non_null("data").is_some() {
                    "LEGACY"
                } else {
                    return Ok(());
                }
            }
            Some(other) => return Err(self.bad(format!("{at}.type is {other}, not a string"))),
        };
        match kind {
            "STREAM" => {
                let stream = non_null("stream").ok_or_else(|| {
                    self.bad(format!("{at} is a STREAM state without \"stream\""))
                })?;
                self.stream_state(stream, &format!("{at}.stream"), out)
            }
            "GLOBAL" => {
                let global = non_null("global").ok_or_else(|| {
                    self.bad(format!("{at} is a GLOBAL state without \"global\""))
                })?;
                let states = match global.get("stream_states") {
                    None | Some(Json::Null) => &[][..],
                    Some(Json::Array(a)) => a.as_slice(),
                    Some(_) => {
                        return Err(self.bad(format!("{at}.global.stream_states is not an array")))
                    }
                };
                for (i, s) in states.iter().enumerate() {
                    self.stream_state(s, &format!("{at}.global.stream_states[{i}]"), out)?;
                }
                Ok(())
            }
            "LEGACY" => match non_null("data") {
                None => Ok(()),
                Some(Json::Object(d)) => self.legacy_blob(d, out),
                Some(_) => Err(self.bad(format!("{at}.data is not an object"))),
            },
            other => Err(self.bad(format!(
                "{at} has state type '{other}'; expected STREAM, GLOBAL or LEGACY"
            ))),
        }
    }

    /// One `AirbyteStreamState`.
    fn stream_state(&self, s: &Json, at: &str, out: &mut InputState) -> Result<(), AirbyteError> {
        let descriptor = s.get("stream_descriptor");
        let name = descriptor
            .and_then(|d| d.get("name"))
            .and_then(Json::as_str)
            .ok_or_else(|| self.bad(format!("{at} has no stream_descriptor.name")))?;
        let namespace = match descriptor.and_then(|d| d.get("namespace")) {
            None | Some(Json::Null) => None,
            Some(Json::String(ns)) => Some(ns.clone()),
            Some(other) => {
                return Err(self.bad(format!(
                    "{at}.stream_descriptor.namespace is {other}, not a string"
                )))
            }
        };
        let key = StreamDescriptor {
            name: name.to_string(),
            namespace,
        };
        match s.get("stream_state") {
            None | Some(Json::Null) => {
                out.streams.remove(&key);
            }
            Some(Json::Object(o))
                if !o.is_empty() && o.keys().all(|k| LEGACY_KEYS.contains(&k.as_str())) =>
            {
                self.legacy_stream(key, o, out)?;
            }
            Some(state) => {
                out.streams.insert(key, StreamInput::State(state.clone()));
            }
        }
        Ok(())
    }

    /// An object of per-stream states without a `type` (or a LEGACY message's `data`): stream
    /// name → source-fauna's per-stream state, or fauna-sync's own (said in a note).
    fn legacy_blob(
        &self,
        blob: &Map<String, Json>,
        out: &mut InputState,
    ) -> Result<(), AirbyteError> {
        let mut ours = Vec::new();
        for (name, v) in blob {
            let key = StreamDescriptor::new(name.as_str());
            match v {
                Json::Null => {}
                Json::Object(o) if o.keys().all(|k| LEGACY_KEYS.contains(&k.as_str())) => {
                    self.legacy_stream(key, o, out)?
                }
                Json::Object(_) => match serde_json::from_value::<StreamState>(v.clone()) {
                    Ok(_) => {
                        out.streams.insert(key, StreamInput::State(v.clone()));
                        ours.push(format!("'{name}'"));
                    }
                    Err(e) => {
                        return Err(self.bad(format!(
                            "the state object has no \"type\", so each key should be a stream and its value that stream's state, but the state of stream '{name}' is neither source-fauna's (keys full_sync_cursor, updates_cursor, remove_cursor) nor one fauna-sync wrote ({e})"
                        )))
                    }
                },
                other => {
                    return Err(self.bad(format!(
                        "the legacy state of stream '{name}' is {other}, not an object"
                    )))
                }
            }
        }
        if !ours.is_empty() {
            out.notes.push(format!(
                "The input state is an object of stream states without \"type\" (Airbyte's LEGACY form); the states of stream(s) {} are fauna-sync's own per-stream states and are resumed from.",
                ours.join(", ")
            ));
        }
        Ok(())
    }

    fn legacy_stream(
        &self,
        key: StreamDescriptor,
        o: &Map<String, Json>,
        out: &mut InputState,
    ) -> Result<(), AirbyteError> {
        let name = key.name.as_str();
        let at = |key: &str| format!("stream '{name}' {key}");
        let cursor = |key: &str| -> Result<Option<&Map<String, Json>>, AirbyteError> {
            match o.get(key) {
                None | Some(Json::Null) => Ok(None),
                Some(Json::Object(c)) => Ok(Some(c)),
                Some(other) => Err(self.bad(format!("{} is {other}, not an object", at(key)))),
            }
        };
        let full_sync = match cursor("full_sync_cursor")? {
            Some(c) => match self.int(c, "ts", &at("full_sync_cursor"))? {
                Some(ts) => Some(LegacyFullSync {
                    ts,
                    after: self.after(c, &at("full_sync_cursor"))?,
                }),
                None => None,
            },
            None => None,
        };
        let position = |key: &str| -> Result<Option<LegacyPosition>, AirbyteError> {
            let Some(c) = cursor(key)? else {
                return Ok(None);
            };
            let ref_id = match c.get("ref") {
                None | Some(Json::Null) => None,
                Some(Json::String(s)) if s.is_empty() => None,
                Some(Json::String(s)) => Some(s.clone()),
                Some(other) => {
                    return Err(self.bad(format!("{}.ref is {other}, not a string", at(key))))
                }
            };
            let pos = LegacyPosition {
                ts: self.int(c, "ts", &at(key))?,
                ref_id,
                after: self.after(c, &at(key))?,
            };
            Ok((pos != LegacyPosition::default()).then_some(pos))
        };
        let cursor = LegacyCursor {
            full_sync,
            updates: position("updates_cursor")?,
            removes: position("remove_cursor")?,
        };
        if cursor == LegacyCursor::default() {
            out.streams.remove(&key);
        } else {
            out.streams
                .insert(key, StreamInput::Legacy(Box::new(cursor)));
        }
        Ok(())
    }

    fn int(&self, c: &Map<String, Json>, key: &str, at: &str) -> Result<Option<i64>, AirbyteError> {
        match c.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.bad(format!("{at}.{key} is {v}, not an integer"))),
        }
    }

    /// An `after` cursor: source-fauna stored it as a wire-JSON string.
    fn after(&self, c: &Map<String, Json>, at: &str) -> Result<Option<Value>, AirbyteError> {
        let text = match c.get("after") {
            None | Some(Json::Null) => return Ok(None),
            Some(Json::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        decode(text.as_bytes())
            .map(Some)
            .map_err(|e| self.bad(format!("{at}.after is not a Fauna cursor ({e})")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fauna::Ref;
    use serde_json::json;

    fn parse(text: &str) -> BTreeMap<StreamDescriptor, StreamInput> {
        parse_state(Some(text.as_bytes()), "state.json")
            .unwrap()
            .streams
    }

    fn ours(pairs: &[(&str, Json)]) -> BTreeMap<StreamDescriptor, StreamInput> {
        pairs
            .iter()
            .map(|(k, v)| (StreamDescriptor::new(*k), StreamInput::State(v.clone())))
            .collect()
    }

    #[test]
    fn empty_forms_mean_no_state() {
        assert_eq!(parse_state(None, "x").unwrap(), InputState::default());
        for text in ["", "  \n", "null", "{}", "[]"] {
            assert!(parse(text).is_empty(), "{text:?}");
        }
    }

    #[test]
    fn platform_and_pyairbyte_stream_arrays() {
        let platform = r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"v":1,"pos":"a"}}},
                          {"type":"STREAM","stream":{"stream_descriptor":{"name":"orders","namespace":null},"stream_state":{"v":1}},"sourceStats":{"recordCount":3.0}}]"#;
        assert_eq!(
            parse(platform),
            ours(&[
                ("users", json!({"v":1,"pos":"a"})),
                ("orders", json!({"v":1}))
            ])
        );
        let pyairbyte = r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":null},"stream_state":{"ts":1005}},
            "global_":null,"data":null,"sourceStats":{"recordCount":1.0,"rejectedRecordCount":null},"destinationStats":null,"global_":null}]"#;
        assert_eq!(parse(pyairbyte), ours(&[("users", json!({"ts":1005}))]));
        // One message outside an array; a reset (null stream_state) is no state.
        assert_eq!(
            parse(
                r#"{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"x":2}}}"#
            ),
            ours(&[("users", json!({"x":2}))])
        );
        assert!(parse(r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":null}}]"#).is_empty());
        // Without "type" a message is recognised by its payload.
        assert_eq!(
            parse(
                r#"[{"type":null,"stream":{"stream_descriptor":{"name":"u"},"stream_state":[1]}}]"#
            ),
            ours(&[("u", json!([1]))])
        );
    }

    #[test]
    fn global_states_yield_their_stream_states() {
        let text = r#"[{"type":"GLOBAL","global":{"shared_state":{"lsn":5},"stream_states":[
            {"stream_descriptor":{"name":"a"},"stream_state":{"n":1}},
            {"stream_descriptor":{"name":"b"},"stream_state":{"n":2}}]}}]"#;
        assert_eq!(
            parse(text),
            ours(&[("a", json!({"n":1})), ("b", json!({"n":2}))])
        );
    }

    fn foo_ref(id: &str) -> Value {
        Value::Ref(Ref::document("foo", id))
    }

    #[test]
    fn source_faunas_legacy_state_is_translated() {
        // What source-fauna 0.1.x saved after an incremental sync with deletions, and in the
        // middle of a full refresh of another stream.
        let blob = r#"{"users":{"updates_cursor":{"ts":1658504456881000,"ref":"337898800783819264"},
                               "remove_cursor":{"ts":1658504400000000,"ref":"337898800783810000"}},
                       "foo":{"full_sync_cursor":{"ts":1658504456881000,
                              "after":"[{\"@ref\":{\"id\":\"337898800783819264\",\"collection\":{\"@ref\":{\"id\":\"foo\",\"collection\":{\"@ref\":{\"id\":\"collections\"}}}}}}]"}},
                       "empty":{}}"#;
        let want: BTreeMap<StreamDescriptor, StreamInput> = [
            (
                StreamDescriptor::new("users"),
                StreamInput::Legacy(Box::new(LegacyCursor {
                    full_sync: None,
                    updates: Some(LegacyPosition {
                        ts: Some(1658504456881000),
                        ref_id: Some("337898800783819264".into()),
                        after: None,
                    }),
                    removes: Some(LegacyPosition {
                        ts: Some(1658504400000000),
                        ref_id: Some("337898800783810000".into()),
                        after: None,
                    }),
                })),
            ),
            (
                StreamDescriptor::new("foo"),
                StreamInput::Legacy(Box::new(LegacyCursor {
                    full_sync: Some(LegacyFullSync {
                        ts: 1658504456881000,
                        after: Some(Value::Array(vec![foo_ref("337898800783819264")])),
                    }),
                    updates: None,
                    removes: None,
                })),
            ),
        ]
        .into_iter()
        .collect();
        assert_eq!(parse(blob), want);
        // The same blob as a LEGACY message, bare or in an array, or as one stream's state.
        assert_eq!(parse(&format!(r#"{{"data":{blob}}}"#)), want);
        assert_eq!(
            parse(&format!(r#"[{{"type":"LEGACY","data":{blob}}}]"#)),
            want
        );
        assert_eq!(
            parse(&format!(
                r#"{{"type":"LEGACY","data":{blob},"emitted_at":1}}"#
            )),
            want
        );
        let per_stream = r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},
            "stream_state":{"updates_cursor":{"ts":5,"ref":"","after":"[5,{\"@ref\":{\"id\":\"9\",\"collection\":{\"@ref\":{\"id\":\"foo\",\"collection\":{\"@ref\":{\"id\":\"collections\"}}}}}},{\"@ref\":{\"id\":\"9\",\"collection\":{\"@ref\":{\"id\":\"foo\",\"collection\":{\"@ref\":{\"id\":\"collections\"}}}}}}]"}}}}]"#;
        assert_eq!(
            parse(per_stream),
            [(
                StreamDescriptor::new("users"),
                StreamInput::Legacy(Box::new(LegacyCursor {
                    updates: Some(LegacyPosition {
                        ts: Some(5),
                        ref_id: None,
                        after: Some(Value::Array(vec![
                            Value::Int(5),
                            foo_ref("9"),
                            foo_ref("9")
                        ])),
                    }),
                    ..LegacyCursor::default()
                }))
            )]
            .into_iter()
            .collect()
        );
    }

    #[test]
    fn a_stream_named_data_is_a_legacy_stream_not_an_envelope() {
        let got = parse(r#"{"data":{"updates_cursor":{"ts":7,"ref":"1"}}}"#);
        assert_eq!(
            got,
            [(
                StreamDescriptor::new("data"),
                StreamInput::Legacy(Box::new(LegacyCursor {
                    updates: Some(LegacyPosition {
                        ts: Some(7),
                        ref_id: Some("1".into()),
                        after: None
                    }),
                    ..LegacyCursor::default()
                }))
            )]
            .into_iter()
            .collect()
        );
    }

    #[test]
    fn namespaces_are_part_of_a_streams_key() {
        let text = r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":"crm"},"stream_state":{"x":1}}},
                       {"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":null},"stream_state":{"x":2}}}]"#;
        let crm = StreamDescriptor {
            name: "users".into(),
            namespace: Some("crm".into()),
        };
        assert_eq!(
            parse(text),
            [
                (crm, StreamInput::State(json!({"x": 1}))),
                (
                    StreamDescriptor::new("users"),
                    StreamInput::State(json!({"x": 2}))
                )
            ]
            .into_iter()
            .collect()
        );
    }

    /// fauna-sync's own per-stream states, as one object without `type` (what a STREAM
    /// array becomes when flattened by hand): taken, and a note says so. Before, each was
    /// read as a source-fauna state without cursors, and every stream was read again.
    #[test]
    fn a_bare_object_of_fauna_syncs_own_stream_states_is_taken_and_said() {
        let users = json!({"snapshot_ts": 5, "position": {"at": "synced", "to": 9}, "next_seq": 2, "rows": 3, "format": "airbyte"});
        let orders = json!({"snapshot_ts": 5, "position": {"at": "done"}, "next_seq": 1, "rows": 0, "format": "airbyte"});
        let blob = json!({"users": users, "orders": orders, "legacy": {"updates_cursor": {"ts": 7, "ref": "1"}}});
        let got = parse_state(Some(blob.to_string().as_bytes()), "s.json").unwrap();
        assert_eq!(
            got.streams[&StreamDescriptor::new("users")],
            StreamInput::State(users)
        );
        assert_eq!(
            got.streams[&StreamDescriptor::new("orders")],
            StreamInput::State(orders)
        );
        assert!(matches!(
            got.streams[&StreamDescriptor::new("legacy")],
            StreamInput::Legacy(_)
        ));
        assert_eq!(
            got.notes,
            ["The input state is an object of stream states without \"type\" (Airbyte's LEGACY form); the states of stream(s) 'orders', 'users' are fauna-sync's own per-stream states and are resumed from."]
        );
        // The same in a LEGACY message.
        let message = json!({"type": "LEGACY", "data": blob}).to_string();
        assert_eq!(
            parse_state(Some(message.as_bytes()), "s.json").unwrap(),
            got
        );
        // Anything else is refused, naming the stream.
        let err = parse_state(Some(br#"{"users": {"cursor": 5}}"#), "s.json")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!("invalid --state file s.json: the state object has no \"type\", so each key should be a stream and its value that stream's state, but the state of stream 'users' is neither source-fauna's (keys full_sync_cursor, updates_cursor, remove_cursor) nor one fauna-sync wrote (missing field `snapshot_ts`). {FIX}")
        );
        let err = parse_state(
            Some(br#"{"users": {"updates_cursor": {"ts": 1}, "extra": 1}}"#),
            "s.json",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("the state of stream 'users' is neither source-fauna's"),
            "{err}"
        );
    }

    #[test]
    fn broken_state_is_named() {
        let err = |t: &str| {
            parse_state(Some(t.as_bytes()), "s.json")
                .unwrap_err()
                .to_string()
        };
        let fix = FIX;
        assert_eq!(
            err("[1]"),
            format!("invalid --state file s.json: [0] is not a state message object. {fix}")
        );
        assert_eq!(
            err(r#"[{"type":"PER_STREAM","stream":{}}]"#),
            format!("invalid --state file s.json: [0] has state type 'PER_STREAM'; expected STREAM, GLOBAL or LEGACY. {fix}")
        );
        assert_eq!(
            err(r#"[{"type":"STREAM","stream":{"stream_state":{}}}]"#),
            format!("invalid --state file s.json: [0].stream has no stream_descriptor.name. {fix}")
        );
        assert_eq!(
            err(r#"{"users":{"updates_cursor":{"ts":"soon"}}}"#),
            format!("invalid --state file s.json: stream 'users' updates_cursor.ts is \"soon\", not an integer. {fix}")
        );
        assert!(err(r#"{"users":{"full_sync_cursor":{"ts":1,"after":"[{"}}}"#)
            .starts_with("invalid --state file s.json: stream 'users' full_sync_cursor.after is not a Fauna cursor ("));
        assert_eq!(
            err(r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"u","namespace":1},"stream_state":{}}}]"#),
            format!("invalid --state file s.json: [0].stream.stream_descriptor.namespace is 1, not a string. {fix}")
        );
        assert_eq!(
            err("7"),
            format!("invalid --state file s.json: expected an array or an object, found 7. {fix}")
        );
    }
}
