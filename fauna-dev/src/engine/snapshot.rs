//! Snapshot files: the whole state (schema with ts, keys with secrets, every document version,
//! the clock) as JSON lines. Line 1: `{"fauna_dev_snapshot":1,"clock":…,"schema":{…}}` where
//! `schema` follows the dataset `schema.json` format; then one line per version:
//! `{"database"?:"a/b","collection":"c","id":"1","ts":…,"action":"create","data":{…},"ttl"?:…}`.
//! Child databases nest in `schema` under `databases` (with `name`, `ts`, `global_id`, `data`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use fauna_wire::{decode, encode, Object, Value};

use super::dataset::{doc_line, install, load_indexes, load_schema, DatasetError, Pending};
use super::schema::KeyRole;
use super::store::State;

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    let mut o = Object::default();
    for (k, v) in pairs {
        if v != Value::Null || k == "history_days" {
            o.insert(k.to_string(), v);
        }
    }
    Value::Object(o)
}

fn schema_value(st: &State) -> Value {
    let colls = st
        .colls
        .iter()
        .map(|c| {
            obj(vec![
                ("name", c.def.name.clone().into()),
                ("ts", Value::Int(c.def.ts)),
                (
                    "history_days",
                    c.def.history_days.map_or(Value::Null, Value::Int),
                ),
                ("ttl_days", c.def.ttl_days.map_or(Value::Null, Value::Int)),
                ("data", c.def.data.clone().unwrap_or(Value::Null)),
            ])
        })
        .collect();
    let indexes = st
        .indexes
        .iter()
        .map(|i| {
            obj(vec![
                ("name", i.def.name.clone().into()),
                ("ts", Value::Int(i.def.ts)),
                ("source", i.def.source_raw.clone()),
                ("terms", i.def.terms_raw.clone().unwrap_or(Value::Null)),
                ("values", i.def.values_raw.clone().unwrap_or(Value::Null)),
                ("unique", i.def.unique.map_or(Value::Null, Value::Bool)),
                ("serialized", Value::Bool(i.def.serialized)),
                ("data", i.def.data.clone().unwrap_or(Value::Null)),
            ])
        })
        .collect();
    let roles = st
        .roles
        .iter()
        .map(|r| {
            obj(vec![
                ("name", r.name.clone().into()),
                ("ts", Value::Int(r.ts)),
                ("privileges", r.privileges_raw.clone()),
                ("membership", r.membership.clone().unwrap_or(Value::Null)),
                ("data", r.data.clone().unwrap_or(Value::Null)),
            ])
        })
        .collect();
    let keys = st
        .keys
        .iter()
        .map(|k| {
            let role = match &k.role {
                KeyRole::Roles(_) => k.role.to_value(),
                other => other.to_value(),
            };
            obj(vec![
                ("id", k.id.to_string().into()),
                ("ts", Value::Int(k.ts)),
                ("secret", k.secret.clone().into()),
                ("hashed_secret", k.hashed_secret.clone().into()),
                ("role", role),
                (
                    "database",
                    k.database.clone().map_or(Value::Null, Value::String),
                ),
                ("data", k.data.clone().unwrap_or(Value::Null)),
            ])
        })
        .collect();
    let dbs = st
        .dbs
        .iter()
        .map(|d| {
            let mut o = match schema_value(&d.state) {
                Value::Object(o) => o,
                _ => Object::default(),
            };
            o.insert("name".into(), d.def.name.clone().into());
            o.insert("ts".into(), Value::Int(d.def.ts));
            o.insert("global_id".into(), Value::Int(d.def.global_id));
            if let Some(data) = &d.def.data {
                o.insert("data".into(), data.clone());
            }
            Value::Object(o)
        })
        .collect();
    obj(vec![
        ("collections", Value::Array(colls)),
        ("indexes", Value::Array(indexes)),
        ("roles", Value::Array(roles)),
        ("keys", Value::Array(keys)),
        ("databases", Value::Array(dbs)),
    ])
}

/// Writes one line per version of every document in `st` and its descendants (`path`: the
/// database's path from the root, written as `"database":"a/b"`).
fn write_versions(f: &mut impl Write, st: &State, path: &str) -> std::io::Result<()> {
    for c in &st.colls {
        for (id, h) in &c.docs {
            for v in &h.versions {
                let line = obj(vec![
                    (
                        "database",
                        if path.is_empty() {
                            Value::Null
                        } else {
                            path.into()
                        },
                    ),
                    ("collection", c.def.name.clone().into()),
                    ("id", id.to_string().into()),
                    ("ts", Value::Int(v.ts)),
                    ("action", v.action.name().into()),
                    ("data", v.field("data").unwrap_or(Value::Null)),
                    ("ttl", v.field("ttl").unwrap_or(Value::Null)),
                ]);
                writeln!(f, "{}", encode(&line))?;
            }
        }
    }
    for d in &st.dbs {
        let sub = if path.is_empty() {
            d.def.name.clone()
        } else {
            format!("{path}/{}", d.def.name)
        };
        write_versions(f, &d.state, &sub)?;
    }
    Ok(())
}

/// Writes the state to `path` (atomically via a temporary file).
pub fn save(st: &State, clock: i64, path: &Path) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        let header = obj(vec![
            ("fauna_dev_snapshot", Value::Int(1)),
            ("clock", Value::Int(clock)),
            ("schema", schema_value(st)),
        ]);
        writeln!(f, "{}", encode(&header))?;
        write_versions(&mut f, st, "")?;
        f.flush()?;
    }
    std::fs::rename(&tmp, path)
}

/// Reads a snapshot file into a fresh state; returns it with the saved clock.
pub fn load(path: &Path) -> Result<(State, i64), DatasetError> {
    let text = std::fs::read_to_string(path).map_err(|e| DatasetError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let file = path.display().to_string();
    let bad = |m: &str| DatasetError::Invalid {
        where_: file.clone(),
        msg: m.to_string(),
    };
    let mut lines = text.lines();
    let header =
        decode(lines.next().unwrap_or_default().as_bytes()).map_err(|e| bad(&e.to_string()))?;
    let h = header
        .as_object()
        .ok_or_else(|| bad("header: object expected"))?;
    if h.get("fauna_dev_snapshot") != Some(&Value::Int(1)) {
        return Err(bad("not a fauna-dev snapshot"));
    }
    let clock = h.get("clock").and_then(Value::as_i64).unwrap_or(0);
    let schema = h.get("schema").cloned().unwrap_or(Value::Null);
    let mut st = State::default();
    load_schema(&mut st, &schema, clock, &file)?;
    let mut pending: BTreeMap<Vec<String>, Pending> = BTreeMap::new();
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let where_ = format!("{file}:{}", i + 2);
        let v = decode(line.as_bytes()).map_err(|e| bad(&e.to_string()))?;
        let o = v.as_object();
        let coll = o
            .and_then(|o| o.get("collection"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad("version without collection"))?
            .to_string();
        let path: Vec<String> = match o.and_then(|o| o.get("database")).and_then(Value::as_str) {
            Some(p) => p.split('/').map(str::to_string).collect(),
            None => Vec::new(),
        };
        let db = st
            .sub(&path)
            .ok_or_else(|| bad(&format!("{where_}: unknown database")))?;
        doc_line(db, &coll, line, &where_, pending.entry(path).or_default())?;
    }
    for (path, p) in pending {
        if let Some(db) = st.sub_mut(&path) {
            install(db, p);
        }
    }
    load_indexes(&mut st, &schema, clock, &file)?;
    Ok((st, clock))
}
