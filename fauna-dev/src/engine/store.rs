//! In-memory storage: collections with full per-document version history, the derived
//! Documents event log and index entries, schema items and keys.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use fauna_wire::{Object, Ref, Value};

use super::databases::DbData;
use super::fields::Fields;
use super::index::{rows, IndexStore};
use super::schema::{CollDef, IndexDef, KeyDef, RoleDef};

/// What a version did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Created the document.
    Create,
    /// Updated it.
    Update,
    /// Deleted it.
    Delete,
}

impl Action {
    /// The event action name.
    pub fn name(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }

    /// Parses an event action name.
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "create" => Action::Create,
            "update" => Action::Update,
            "delete" => Action::Delete,
            _ => return None,
        })
    }
}

/// One version of a document.
#[derive(Clone, Debug, PartialEq)]
pub struct Version {
    /// Valid time, microseconds.
    pub ts: i64,
    /// What the write did.
    pub action: Action,
    /// The version's stored size ([`super::meter::doc_bytes`]), for the metric headers.
    pub size: u64,
    /// The `ttl` field in micros, if set (read on every visibility check).
    ttl: Option<i64>,
    /// Stored top-level fields (`data`, `ttl`, or a schema item's fields).
    fields: Fields,
}

impl Version {
    /// A version; its stored size is computed here, once per write, so reads cost nothing.
    pub fn new(ts: i64, action: Action, fields: Object) -> Self {
        let ttl = match fields.get("ttl") {
            Some(Value::Timestamp(t)) => t.to_micros(),
            _ => None,
        };
        let (fields, size) = Fields::new(fields);
        Version {
            ts,
            action,
            size,
            ttl,
            fields,
        }
    }

    /// The `ttl` in micros, if set.
    pub fn ttl(&self) -> Option<i64> {
        self.ttl
    }

    /// The stored top-level fields (decoded when kept as text: not free).
    pub fn fields(&self) -> Cow<'_, Object> {
        self.fields.object()
    }

    /// One stored top-level field.
    pub fn field(&self, key: &str) -> Option<Value> {
        match self.fields.object() {
            Cow::Borrowed(o) => o.get(key).cloned(),
            Cow::Owned(mut o) => o.swap_remove(key),
        }
    }

    /// The API 4 response rendering of the fields (`"data":{…},…`, no braces), if kept as text.
    pub fn wire_fields(&self) -> Option<&str> {
        self.fields.wire_inner()
    }
}

/// A document's history, ascending by ts.
#[derive(Clone, Debug, Default)]
pub struct DocHist {
    /// Versions.
    pub versions: Vec<Arc<Version>>,
}

impl DocHist {
    /// The version valid at `t` (may be a delete), if any.
    pub fn at(&self, t: i64) -> Option<&Arc<Version>> {
        let last = self.versions.last()?;
        if last.ts <= t {
            return Some(last);
        }
        let n = self.versions.partition_point(|v| v.ts <= t);
        n.checked_sub(1).and_then(|i| self.versions.get(i))
    }

    /// The live version at `t` visible at snapshot `snap` (not deleted, ttl not expired).
    pub fn live_at(&self, t: i64, snap: i64) -> Option<&Arc<Version>> {
        self.at(t)
            .filter(|v| v.action != Action::Delete && v.ttl().is_none_or(|x| x > snap))
    }
}

/// A collection with its documents.
#[derive(Clone, Debug)]
pub struct CollData {
    /// Definition.
    pub def: CollDef,
    /// Documents by numeric id.
    pub docs: BTreeMap<i64, DocHist>,
    /// Documents set events: (ts, 0 remove / 1 add, id).
    pub events: BTreeSet<(i64, u8, i64)>,
    /// Some document ever had a `ttl`.
    pub has_ttl: bool,
}

/// An index with its entries.
#[derive(Clone, Debug)]
pub struct IndexData {
    /// Definition.
    pub def: IndexDef,
    /// Source collection numbers.
    pub sources: Vec<u32>,
    /// Entries.
    pub store: IndexStore,
}

/// The whole database.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// Collections, by number (creation order).
    pub colls: Vec<CollData>,
    /// Collection numbers by name.
    pub coll_names: HashMap<String, u32>,
    /// Indexes in creation order.
    pub indexes: Vec<IndexData>,
    /// Index positions by name.
    pub index_names: HashMap<String, usize>,
    /// Roles in creation order.
    pub roles: Vec<RoleDef>,
    /// Keys in creation order.
    pub keys: Vec<KeyDef>,
    /// Child databases in creation order.
    pub dbs: Vec<DbData>,
    /// `Databases()` set events: (ts, 0 remove / 1 add, global id, name).
    pub db_events: Vec<(i64, u8, i64, String)>,
}

/// The `Documents` set events of a history: `add` when the document appears, `remove` when
/// it is deleted, and both when its `ttl` changes (the `ttl` is part of the entry, as in the
/// real server's `Indexer.Tuple`; an expiring `ttl` writes no event).
fn membership(versions: &[Arc<Version>]) -> Vec<(i64, u8)> {
    let mut out = Vec::new();
    let mut live = false;
    let mut ttl = None;
    for v in versions {
        let now = v.action != Action::Delete;
        let now_ttl = if now { v.ttl() } else { None };
        if now != live {
            out.push((v.ts, u8::from(now)));
        } else if now && now_ttl != ttl {
            out.push((v.ts, 0));
            out.push((v.ts, 1));
        }
        live = now;
        ttl = now_ttl;
    }
    out
}

impl State {
    /// The collection number of `name`.
    pub fn coll(&self, name: &str) -> Option<u32> {
        self.coll_names.get(name).copied()
    }

    /// The index named `name`.
    pub fn index(&self, name: &str) -> Option<&IndexData> {
        self.index_names
            .get(name)
            .and_then(|i| self.indexes.get(*i))
    }

    /// Adds a collection; returns its number.
    pub fn add_collection(&mut self, def: CollDef) -> u32 {
        let n = self.colls.len() as u32;
        self.coll_names.insert(def.name.clone(), n);
        self.colls.push(CollData {
            def,
            docs: BTreeMap::new(),
            events: BTreeSet::new(),
            has_ttl: false,
        });
        n
    }

    /// Adds an index and builds its entries from existing documents.
    pub fn add_index(&mut self, def: IndexDef) {
        let sources: Vec<u32> = def.source.iter().filter_map(|s| self.coll(s)).collect();
        let mut store = IndexStore::default();
        for &c in &sources {
            let cd = &self.colls[c as usize];
            for (id, h) in &cd.docs {
                let r = Ref::document(&cd.def.name, &id.to_string());
                store.apply(&rows(&def, &h.versions, &r), *id, c, true);
            }
        }
        self.index_names
            .insert(def.name.clone(), self.indexes.len());
        self.indexes.push(IndexData {
            def,
            sources,
            store,
        });
    }

    /// Replaces a document's whole history (`None` removes it), maintaining events and index
    /// entries. Returns the previous history.
    pub fn set_history(&mut self, coll: u32, id: i64, new: Option<DocHist>) -> Option<DocHist> {
        let cd = self.colls.get_mut(coll as usize)?;
        let r = Ref::document(&cd.def.name, &id.to_string());
        let old = cd.docs.remove(&id);
        let old_v: &[Arc<Version>] = old.as_ref().map_or(&[], |h| &h.versions);
        let new_v: &[Arc<Version>] = new.as_ref().map_or(&[], |h| &h.versions);
        for (ts, a) in membership(old_v) {
            cd.events.remove(&(ts, a, id));
        }
        for (ts, a) in membership(new_v) {
            cd.events.insert((ts, a, id));
        }
        if new_v.iter().any(|v| v.ttl().is_some()) {
            cd.has_ttl = true;
        }
        for idx in &mut self.indexes {
            if !idx.sources.contains(&coll) {
                continue;
            }
            let old_rows = rows(&idx.def, old_v, &r);
            let new_rows = rows(&idx.def, new_v, &r);
            if old_rows != new_rows {
                idx.store.apply(&old_rows, id, coll, false);
                idx.store.apply(&new_rows, id, coll, true);
            }
        }
        if let Some(h) = new {
            if !h.versions.is_empty() {
                cd.docs.insert(id, h);
            }
        }
        old
    }

    /// Writes a version at its ts: replaces a version at the same ts (several writes in one
    /// transaction collapse), otherwise inserts it in ts order. Returns the previous history.
    pub fn put_version(&mut self, coll: u32, id: i64, v: Version) -> Option<DocHist> {
        let mut h = self
            .colls
            .get(coll as usize)
            .and_then(|c| c.docs.get(&id))
            .cloned()
            .unwrap_or_default();
        let pos = h.versions.partition_point(|x| x.ts < v.ts);
        let mut v = v;
        if let Some(same) = h.versions.get(pos).filter(|x| x.ts == v.ts) {
            let earlier_live = pos > 0 && h.versions[pos - 1].action != Action::Delete;
            match (same.action, v.action) {
                (Action::Create, Action::Update) => v.action = Action::Create,
                (Action::Create, Action::Delete) if !earlier_live => {
                    h.versions.remove(pos);
                    return self.set_history(coll, id, Some(h));
                }
                (Action::Delete, Action::Create) if earlier_live => v.action = Action::Update,
                _ => {}
            }
            h.versions[pos] = Arc::new(v);
        } else {
            h.versions.insert(pos, Arc::new(v));
        }
        self.set_history(coll, id, Some(h))
    }

    /// Removes the version at `ts` with `action`. As in the real server (`removeVersion`),
    /// storage knows only live and deleted versions: `create` and `update` both remove the
    /// live version at `ts`. The version after it is then a `create` or an `update` by what
    /// precedes it. Returns whether a version was removed.
    pub fn remove_version(&mut self, coll: u32, id: i64, ts: i64, action: Action) -> bool {
        let Some(mut h) = self
            .colls
            .get(coll as usize)
            .and_then(|c| c.docs.get(&id))
            .cloned()
        else {
            return false;
        };
        let live = action != Action::Delete;
        let Some(pos) = h
            .versions
            .iter()
            .position(|v| v.ts == ts && (v.action != Action::Delete) == live)
        else {
            return false;
        };
        h.versions.remove(pos);
        if let Some(next) = h.versions.get(pos) {
            let after_live = pos > 0 && h.versions[pos - 1].action != Action::Delete;
            let want = match next.action {
                Action::Delete => Action::Delete,
                _ if after_live => Action::Update,
                _ => Action::Create,
            };
            if want != next.action {
                let mut v = (**next).clone();
                v.action = want;
                h.versions[pos] = Arc::new(v);
            }
        }
        self.set_history(coll, id, Some(h));
        true
    }
}
