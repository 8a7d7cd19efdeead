//! Dataset folders (`schema.json` + `documents/<collection>.jsonl`), see
//! `spec/fauna-dev-dataset.md`. The same item formats serve snapshot files.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use fauna_wire::{decode, Object, Timestamp, Value};
use thiserror::Error;

use super::databases::{valid_name, DbData, DbDef};
use super::schema::{parse_privileges, CollDef, IndexDef, KeyDef, KeyRole, RoleDef};
use super::store::{Action, DocHist, State, Version};

/// Why a dataset could not be loaded.
#[derive(Debug, Error)]
pub enum DatasetError {
    /// File system trouble.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Malformed content.
    #[error("{where_}: {msg}")]
    Invalid {
        /// File and line.
        where_: String,
        /// What is wrong.
        msg: String,
    },
}

fn invalid(where_: &str, msg: impl Into<String>) -> DatasetError {
    DatasetError::Invalid {
        where_: where_.to_string(),
        msg: msg.into(),
    }
}

fn list<'a>(o: &'a Object, k: &str) -> &'a [Value] {
    o.get(k).and_then(Value::as_array).unwrap_or(&[])
}

fn opt_data(o: &Object) -> Option<Value> {
    o.get("data").filter(|d| **d != Value::Null).cloned()
}

fn ts_of(o: &Object, default: i64) -> i64 {
    o.get("ts").and_then(Value::as_i64).unwrap_or(default)
}

/// Applies a `schema.json` value to the state. `ts` stamps items without their own `ts`.
pub fn load_schema(
    st: &mut State,
    schema: &Value,
    ts: i64,
    file: &str,
) -> Result<(), DatasetError> {
    let root = schema
        .as_object()
        .ok_or_else(|| invalid(file, "expected an object"))?;
    for c in list(root, "collections") {
        let o = c
            .as_object()
            .ok_or_else(|| invalid(file, "collection: expected an object"))?;
        let name = o
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(file, "collection without name"))?;
        if st.coll(name).is_some() {
            return Err(invalid(file, format!("duplicate collection '{name}'")));
        }
        st.add_collection(CollDef {
            name: name.to_string(),
            ts: ts_of(o, ts),
            history_days: match o.get("history_days") {
                Some(Value::Null) => None,
                Some(v) => Some(
                    v.as_i64()
                        .ok_or_else(|| invalid(file, "history_days: integer expected"))?,
                ),
                None => Some(0),
            },
            ttl_days: o.get("ttl_days").and_then(Value::as_i64),
            data: opt_data(o),
        });
    }
    for r in list(root, "roles") {
        let o = r
            .as_object()
            .ok_or_else(|| invalid(file, "role: expected an object"))?;
        let name = o
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(file, "role without name"))?;
        let raw = o
            .get("privileges")
            .cloned()
            .unwrap_or(Value::Array(Vec::new()));
        let privileges = parse_privileges(&raw)
            .ok_or_else(|| invalid(file, format!("role '{name}': bad privileges")))?;
        st.roles.push(RoleDef {
            name: name.to_string(),
            ts: ts_of(o, ts),
            privileges,
            privileges_raw: raw,
            membership: o.get("membership").cloned(),
            data: opt_data(o),
        });
    }
    for k in list(root, "keys") {
        let o = k
            .as_object()
            .ok_or_else(|| invalid(file, "key: expected an object"))?;
        let secret = o
            .get("secret")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(file, "key without secret"))?;
        let role = match o.get("role") {
            Some(Value::String(s)) => {
                KeyRole::builtin(s).ok_or_else(|| invalid(file, format!("unknown role '{s}'")))?
            }
            Some(Value::Object(r)) => match r.get("role") {
                Some(Value::String(s)) => KeyRole::Roles(vec![s.clone()]),
                _ => return Err(invalid(file, "key role: {\"role\": name} expected")),
            },
            Some(Value::Ref(r)) => KeyRole::Roles(vec![r.id.clone()]),
            Some(Value::Array(a)) => KeyRole::Roles(
                a.iter()
                    .filter_map(|x| x.as_ref().map(|r| r.id.clone()))
                    .collect(),
            ),
            _ => return Err(invalid(file, "key without role")),
        };
        let id = match o.get("id") {
            Some(Value::String(s)) => s
                .parse()
                .map_err(|_| invalid(file, "key id: numeric string expected"))?,
            Some(Value::Int(i)) => *i,
            _ => 1_000 + st.keys.len() as i64,
        };
        st.keys.push(KeyDef {
            id,
            ts: ts_of(o, ts),
            role,
            secret: secret.to_string(),
            hashed_secret: o.get("hashed_secret").and_then(Value::as_str).map_or_else(
                || "$2a$05$fauna.dev.fixed.key.hash".to_string(),
                str::to_string,
            ),
            database: match o.get("database") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Ref(r)) => Some(r.id.clone()),
                Some(_) => return Err(invalid(file, "key database: a name expected")),
            },
            data: opt_data(o),
        });
    }
    for d in list(root, "databases") {
        let o = d
            .as_object()
            .ok_or_else(|| invalid(file, "database: expected an object"))?;
        let name = o
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| valid_name(n))
            .ok_or_else(|| invalid(file, "database without a valid name"))?;
        if st.db(name).is_some() {
            return Err(invalid(file, format!("duplicate database '{name}'")));
        }
        let mut child = State::default();
        load_schema(&mut child, d, ts, &format!("{file} (database {name})"))?;
        let def = DbDef {
            name: name.to_string(),
            ts: ts_of(o, ts),
            data: opt_data(o),
            global_id: match o.get("global_id") {
                Some(Value::Int(g)) => *g,
                _ => 1_000 + st.dbs.len() as i64,
            },
        };
        // Its history starts with its creation at `ts`.
        st.db_events
            .push((def.ts, 1, def.global_id, def.name.clone()));
        st.dbs.push(DbData { def, state: child });
    }
    Ok(())
}

/// Adds the indexes of a `schema.json` value (after documents are loaded).
pub fn load_indexes(
    st: &mut State,
    schema: &Value,
    ts: i64,
    file: &str,
) -> Result<(), DatasetError> {
    let Some(root) = schema.as_object() else {
        return Ok(());
    };
    for i in list(root, "indexes") {
        let o = i
            .as_object()
            .ok_or_else(|| invalid(file, "index: expected an object"))?;
        let name = o
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(file, "index without name"))?;
        let (source, source_raw) = match o.get("source") {
            Some(Value::String(s)) => (vec![s.clone()], Value::Ref(fauna_wire::Ref::collection(s))),
            Some(Value::Ref(r)) => (vec![r.id.clone()], Value::Ref(r.clone())),
            _ => {
                return Err(invalid(
                    file,
                    format!("index '{name}': source collection name expected"),
                ))
            }
        };
        if source.iter().any(|s| st.coll(s).is_none()) {
            return Err(invalid(
                file,
                format!("index '{name}': unknown source collection"),
            ));
        }
        let def = IndexDef::from_params(
            name.to_string(),
            ts_of(o, ts),
            source,
            source_raw,
            o,
            opt_data(o),
        )
        .map_err(|k| invalid(file, format!("index '{name}': bad {k}")))?;
        st.add_index(def);
    }
    for d in list(root, "databases") {
        let name = d
            .as_object()
            .and_then(|o| o.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(i) = st.db_pos(name) {
            load_indexes(&mut st.dbs[i].state, d, ts, file)?;
        }
    }
    Ok(())
}

/// Pending document histories: (collection, id) → versions.
pub type Pending = BTreeMap<(u32, i64), Vec<Version>>;

/// Parses one document version line of `collection` into `pending`; returns its ts.
pub fn doc_line(
    st: &State,
    coll: &str,
    line: &str,
    where_: &str,
    pending: &mut Pending,
) -> Result<i64, DatasetError> {
    let c = st
        .coll(coll)
        .ok_or_else(|| invalid(where_, format!("unknown collection '{coll}'")))?;
    let v = decode(line.as_bytes()).map_err(|e| invalid(where_, e.to_string()))?;
    let Value::Object(mut o) = v else {
        return Err(invalid(where_, "expected an object"));
    };
    let id: i64 = match o.get("id") {
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| invalid(where_, "id: numeric string expected"))?,
        Some(Value::Int(i)) => *i,
        _ => return Err(invalid(where_, "missing id")),
    };
    let ts = o
        .get("ts")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid(where_, "ts: integer micros expected"))?;
    let versions = pending.entry((c, id)).or_default();
    let had = st.colls[c as usize].docs.contains_key(&id) || !versions.is_empty();
    let action = match o.get("action").and_then(Value::as_str) {
        Some(a) => {
            Action::parse(a).ok_or_else(|| invalid(where_, format!("unknown action '{a}'")))?
        }
        None if had => Action::Update,
        None => Action::Create,
    };
    if versions.last().is_some_and(|l| l.ts >= ts) {
        return Err(invalid(
            where_,
            "versions of a document must have increasing ts",
        ));
    }
    let mut fields = Object::default();
    if action != Action::Delete {
        // Moved, not cloned: the line's tree is dropped right after.
        match o.swap_remove("data") {
            Some(Value::Object(d)) => {
                fields.insert("data".into(), Value::Object(d));
            }
            None | Some(Value::Null) => {}
            Some(_) => return Err(invalid(where_, "data: object expected")),
        }
        match o.get("ttl") {
            Some(Value::Timestamp(t)) => {
                fields.insert("ttl".into(), Value::Timestamp(*t));
            }
            Some(Value::Int(m)) => {
                fields.insert("ttl".into(), Value::Timestamp(Timestamp::from_micros(*m)));
            }
            None | Some(Value::Null) => {}
            Some(_) => return Err(invalid(where_, "ttl: @ts expected")),
        }
    }
    versions.push(Version::new(ts, action, fields));
    Ok(ts)
}

/// Installs pending histories (appending to existing ones).
pub fn install(st: &mut State, pending: Pending) {
    for ((c, id), versions) in pending {
        let mut h: DocHist = st.colls[c as usize]
            .docs
            .get(&id)
            .cloned()
            .unwrap_or_default();
        h.versions.extend(versions.into_iter().map(Arc::new));
        h.versions.sort_by_key(|v| v.ts);
        st.set_history(c, id, Some(h));
    }
}

/// Loads a dataset folder into `st`; returns the largest loaded ts. Loaded times must not be
/// in the future (`now`).
pub fn load_dir(st: &mut State, dir: &Path, now: i64) -> Result<i64, DatasetError> {
    let schema_path = dir.join("schema.json");
    let schema_text = read(&schema_path)?;
    let file = schema_path.display().to_string();
    let schema = decode(schema_text.as_bytes()).map_err(|e| invalid(&file, e.to_string()))?;
    load_schema(st, &schema, now, &file)?;
    let max_ts = load_documents(st, &schema, dir, now)?;
    load_indexes(st, &schema, now, &file)?;
    Ok(max_ts)
}

fn read(p: &Path) -> Result<String, DatasetError> {
    std::fs::read_to_string(p).map_err(|e| DatasetError::Io {
        path: p.display().to_string(),
        source: e,
    })
}

/// Loads `dir/documents/*.jsonl` into `st`, and each child database's from
/// `dir/databases/<name>/`; returns the largest ts.
fn load_documents(
    st: &mut State,
    schema: &Value,
    dir: &Path,
    now: i64,
) -> Result<i64, DatasetError> {
    let mut max_ts = 0;
    let docs_dir = dir.join("documents");
    if docs_dir.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(&docs_dir)
            .map_err(|e| DatasetError::Io {
                path: docs_dir.display().to_string(),
                source: e,
            })?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        entries.sort();
        let mut pending = Pending::new();
        for p in entries {
            let coll = p
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let text = read(&p)?;
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let where_ = format!("{}:{}", p.display(), i + 1);
                let ts = doc_line(st, &coll, line, &where_, &mut pending)?;
                if ts > now {
                    return Err(invalid(&where_, "ts lies in the future"));
                }
                max_ts = max_ts.max(ts);
            }
        }
        install(st, pending);
    }
    let children = schema
        .as_object()
        .map(|o| list(o, "databases"))
        .unwrap_or_default();
    for d in children {
        let name = d
            .as_object()
            .and_then(|o| o.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(i) = st.db_pos(name) {
            let sub = dir.join("databases").join(name);
            max_ts = max_ts.max(load_documents(&mut st.dbs[i].state, d, &sub, now)?);
        }
    }
    Ok(max_ts)
}
