//! A stream's state between reads: the `stream_state` blob fauna-sync emits (its
//! `spec/state-format.md` entry plus the stream's name), and the state a read resumes from —
//! ours as emitted, refused when it is another stream's; source-fauna's translated; or none.

use serde_json::Value as Json;

use crate::fauna::{decode, encode, RefKind, Value};
use crate::state::{Position, Rotation, StreamState};

use super::error::AirbyteError;
use super::input_state::{LegacyCursor, StreamInput};
use super::protocol::StreamDescriptor;

/// The format name recorded in Airbyte streams' state.
pub(super) const FORMAT: &str = "airbyte";

/// The key of the blob naming the stream it belongs to.
const STREAM_KEY: &str = "stream";

const FIX: &str = "Pass each stream the state this connector emitted for it, or reset the stream to read it from the start";

/// The `stream_state` of `name`: its state entry, and the stream's name so that a state given
/// to another stream is recognised. An id set's extent is left out: a read keeps its id sets
/// in scratch space for that read only.
pub(super) fn state_blob(name: &str, state: &StreamState) -> Result<Json, serde_json::Error> {
    let mut blob = serde_json::to_value(state)?;
    if let Json::Object(o) = &mut blob {
        o.remove(IDS_KEY);
        o.insert(STREAM_KEY.into(), Json::String(name.to_string()));
    }
    Ok(blob)
}

/// The key of a stream state's id set extent.
const IDS_KEY: &str = "ids";

/// The state `stream` resumes from: ours as emitted, source-fauna's translated, or `None`.
/// A blob fauna-sync did not write, or wrote for another stream, is refused.
pub(super) fn input_stream(
    stream: &StreamDescriptor,
    input: Option<&StreamInput>,
    snapshot_ts: i64,
    path: &str,
) -> Result<Option<StreamState>, AirbyteError> {
    let refused = |problem: String| AirbyteError::Input {
        flag: "--state",
        path: path.to_string(),
        problem,
        fix: FIX,
    };
    let name = stream.name.as_str();
    match input {
        None => Ok(None),
        Some(StreamInput::State(json)) => {
            if let Some(owner) = json.get(STREAM_KEY).and_then(Json::as_str) {
                // A database tree's stream is named `<namespace>/<name>` (`spec/trees.md`).
                let in_tree = stream.namespace.as_deref().is_some_and(|ns| {
                    owner.strip_prefix(ns).and_then(|o| o.strip_prefix('/')) == Some(name)
                });
                if owner != name && !in_tree {
                    return Err(refused(format!(
                        "the state given for stream {} is the state of stream '{owner}' (its \"{STREAM_KEY}\" says so)",
                        stream.label()
                    )));
                }
            }
            let state = serde_json::from_value::<StreamState>(json.clone()).map_err(|e| {
                refused(format!(
                    "the state of stream '{name}' is not one fauna-sync wrote ({e})"
                ))
            })?;
            if let Some(other) = foreign_collection(&state.position, name) {
                return Err(refused(format!(
                    "the state given for stream {} is the state of stream '{other}' (its cursor names a document of collection '{other}')",
                    stream.label()
                )));
            }
            // An id set another read kept (in its scratch space) is gone.
            Ok(Some(StreamState {
                ids: None,
                ids_len: None,
                ..state
            }))
        }
        Some(StreamInput::Legacy(c)) => Ok(legacy(c, snapshot_ts)),
    }
}

/// A collection other than `name` whose documents the position's cursors name: states
/// emitted before the blob named its stream still tell whose they are once they are read.
fn foreign_collection(position: &Position, name: &str) -> Option<String> {
    cursors(position)
        .into_iter()
        .filter_map(|c| decode(c.as_bytes()).ok())
        .find_map(|v| other_document(&v, name))
}

/// The cursors (wire JSON) a position holds.
fn cursors(position: &Position) -> Vec<&str> {
    fn parts(rotation: &Rotation) -> Vec<&str> {
        rotation
            .ranges
            .iter()
            .filter_map(|p| p.cursor.as_deref())
            .collect()
    }
    match position {
        Position::After { cursor } => vec![cursor.as_str()],
        Position::CatchUp { cursor, .. }
        | Position::Reconcile { cursor, .. }
        | Position::Window { cursor, .. }
        | Position::GapReconcile { cursor, .. } => cursor.as_deref().into_iter().collect(),
        Position::Parts { rotation: r }
        | Position::ScanParts { rotation: r }
        | Position::CatchUpParts { rotation: r, .. } => parts(r),
        Position::WindowParts { window } => {
            let mut all = parts(&window.rotation);
            all.extend(window.deletions.as_deref());
            all
        }
        Position::Start | Position::Done | Position::Expire { .. } | Position::Synced { .. } => {
            Vec::new()
        }
    }
}

/// The first document ref in `v` of a collection other than `name`.
fn other_document(v: &Value, name: &str) -> Option<String> {
    match v {
        Value::Ref(r) => match r.kind() {
            RefKind::Document(c) if c != name => Some(c.to_string()),
            _ => None,
        },
        Value::Array(items) => items.iter().find_map(|i| other_document(i, name)),
        Value::Object(o) => o.values().find_map(|i| other_document(i, name)),
        _ => None,
    }
}

/// source-fauna's cursor as a position: an interrupted full refresh resumes at its page; an
/// incremental cursor continues from its `ts` (the entries at exactly that `ts` are read again:
/// at least once at the switch, and destinations deduplicate by `ref`).
fn legacy(c: &LegacyCursor, snapshot_ts: i64) -> Option<StreamState> {
    let mut s = StreamState::new(snapshot_ts, FORMAT);
    if let Some(full) = &c.full_sync {
        s.snapshot_ts = full.ts;
        s.position = match &full.after {
            Some(after) => Position::After {
                cursor: encode(after),
            },
            None => Position::Start,
        };
        return Some(s);
    }
    let ts = [&c.updates, &c.removes]
        .into_iter()
        .flatten()
        .filter_map(|p| p.ts)
        .min()?;
    s.position = Position::Synced { to: ts - 1 };
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fauna::Ref;
    use crate::state::RangePosition;
    use serde_json::json;

    fn users() -> StreamDescriptor {
        StreamDescriptor::new("users")
    }

    fn input(blob: Json) -> Result<Option<StreamState>, String> {
        input_stream(&users(), Some(&StreamInput::State(blob)), 1, "s.json")
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_blob_names_its_stream_and_reads_back() {
        let mut s = StreamState::new(7, FORMAT);
        s.position = Position::Synced { to: 9 };
        let blob = state_blob("users", &s).unwrap();
        assert_eq!(blob["stream"], "users");
        assert_eq!(input(blob), Ok(Some(s.clone())));
        // Blobs emitted before the name was added are taken as they are.
        assert_eq!(input(serde_json::to_value(&s).unwrap()), Ok(Some(s)));
    }

    /// Another stream's state given to `users` used to be read as `users`' own: a synced
    /// position skipped what `users` had not read, a cursor paged `users` after `orders`' ids.
    #[test]
    fn another_streams_state_is_refused_naming_both() {
        let fix = FIX;
        let orders = state_blob("orders", &StreamState::new(7, FORMAT)).unwrap();
        assert_eq!(
            input(orders),
            Err(format!("invalid --state file s.json: the state given for stream 'users' is the state of stream 'orders' (its \"stream\" says so). {fix}"))
        );
        let mut s = StreamState::new(7, FORMAT);
        let cursor = Value::Array(vec![Value::Ref(Ref::document("orders", "10"))]);
        s.position = Position::Parts {
            rotation: Rotation {
                ranges: vec![RangePosition {
                    cursor: Some(encode(&cursor)),
                    ..Default::default()
                }],
                turn: 0,
                taken: 0,
            },
        };
        assert_eq!(
            input(serde_json::to_value(&s).unwrap()),
            Err(format!("invalid --state file s.json: the state given for stream 'users' is the state of stream 'orders' (its cursor names a document of collection 'orders'). {fix}"))
        );
        // The stream's own cursor is its own.
        let own = Value::Array(vec![Value::Ref(Ref::document("users", "10"))]);
        s.position = Position::After {
            cursor: encode(&own),
        };
        assert!(input(serde_json::to_value(&s).unwrap()).is_ok());
        assert_eq!(
            input(json!({"anything": 2})),
            Err(format!("invalid --state file s.json: the state of stream 'users' is not one fauna-sync wrote (missing field `snapshot_ts`). {fix}"))
        );
    }
}
