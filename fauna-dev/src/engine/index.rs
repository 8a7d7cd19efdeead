//! Index entries: derived from a document's whole history as rows with validity intervals,
//! kept in ordered maps per term tuple, plus the add/remove event log.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use fauna_wire::{Object, Ref, Value};

use super::order::K;
use super::schema::{FieldPath, FieldSpec, IndexDef, PathElem};
use super::store::{Action, Version};

/// An index entry's sort key: covered values, then document, then start time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EKey {
    /// Covered values (shared with the entry's events).
    pub vals: Arc<[K]>,
    /// Document id.
    pub id: i64,
    /// Collection number.
    pub coll: u32,
    /// Valid from.
    pub start: i64,
}

/// An index event's key in storage order: ts, remove(0)/add(1), document, values.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EvKey {
    /// Event time.
    pub ts: i64,
    /// 0 = remove, 1 = add.
    pub action: u8,
    /// Document id.
    pub id: i64,
    /// Collection number.
    pub coll: u32,
    /// Covered values (shared with the entry).
    pub vals: Arc<[K]>,
}

/// The entries and events of one term tuple.
#[derive(Clone, Debug, Default)]
pub struct TermSet {
    /// Entries with their end of validity (`None` = still live).
    pub live: BTreeMap<EKey, Option<i64>>,
    /// Add/remove events.
    pub events: BTreeSet<EvKey>,
}

/// All entries of one index.
#[derive(Clone, Debug, Default)]
pub struct IndexStore {
    /// By term tuple.
    pub terms: BTreeMap<Vec<K>, TermSet>,
}

/// One derived entry with its validity interval.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Term tuple.
    pub terms: Vec<K>,
    /// Value tuple.
    pub vals: Vec<K>,
    /// Valid from.
    pub start: i64,
    /// Valid until (exclusive).
    pub end: Option<i64>,
}

fn extract(spec: &FieldSpec, v: &Version, fields: &Object, r: &Ref) -> Vec<Value> {
    let x = match &spec.path {
        FieldPath::Ts => Value::Int(v.ts),
        FieldPath::Ref => Value::Ref(r.clone()),
        FieldPath::Path(p) => {
            let mut cur: Option<&Value> = None;
            for (i, e) in p.iter().enumerate() {
                cur = match (i, cur, e) {
                    (0, _, PathElem::Key(k)) => fields.get(k),
                    (_, Some(Value::Object(o)), PathElem::Key(k)) => o.get(k),
                    (_, Some(Value::Array(a)), PathElem::Idx(n)) => {
                        usize::try_from(*n).ok().and_then(|n| a.get(n))
                    }
                    _ => None,
                };
                if cur.is_none() {
                    break;
                }
            }
            cur.cloned().unwrap_or(Value::Null)
        }
    };
    match x {
        Value::Array(a) if a.is_empty() => vec![Value::Null],
        Value::Array(a) => a,
        other => vec![other],
    }
}

fn product(specs: &[FieldSpec], v: &Version, fields: &Object, r: &Ref) -> Vec<Vec<K>> {
    let mut out: Vec<Vec<K>> = vec![Vec::new()];
    for s in specs {
        let xs = extract(s, v, fields, r);
        let mut next = Vec::with_capacity(out.len() * xs.len());
        for prefix in &out {
            for x in &xs {
                let mut t = prefix.clone();
                t.push(K::V(x.clone(), s.reverse));
                next.push(t);
            }
        }
        out = next;
    }
    out
}

fn all_null(t: &[K]) -> bool {
    !t.is_empty() && t.iter().all(|k| matches!(k.value(), Some(Value::Null)))
}

/// The (terms, values) tuples a version contributes to an index.
pub fn tuples(def: &IndexDef, v: &Version, r: &Ref) -> Vec<(Vec<K>, Vec<K>)> {
    if v.action == Action::Delete {
        return Vec::new();
    }
    let mut out = Vec::new();
    // Stored fields are decoded only when a field path needs them.
    let needs_fields = def
        .terms
        .iter()
        .chain(&def.values)
        .any(|s| matches!(s.path, FieldPath::Path(_)));
    let fields = if needs_fields {
        v.fields()
    } else {
        Cow::Owned(Object::default())
    };
    let terms = product(&def.terms, v, &fields, r);
    let vals = product(&def.values, v, &fields, r);
    for t in &terms {
        if all_null(t) {
            continue;
        }
        for x in &vals {
            if all_null(x) {
                continue;
            }
            let pair = (t.clone(), x.clone());
            if !out.contains(&pair) {
                out.push(pair);
            }
        }
    }
    out
}

/// Derives all rows of a document history. As on the real server (`Indexer.Tuple`), the
/// document's `ttl` is part of an entry: changing it ends the entry and starts a new one
/// (a `remove` and an `add` event at that time). Expiry itself changes nothing.
pub fn rows(def: &IndexDef, versions: &[Arc<Version>], r: &Ref) -> Vec<Row> {
    let mut open: Vec<(Vec<K>, Vec<K>, i64)> = Vec::new();
    let mut out = Vec::new();
    let mut ttl = None;
    for v in versions {
        let now = tuples(def, v, r);
        let ttl_changed = std::mem::replace(&mut ttl, v.ttl()) != ttl;
        let mut still = Vec::with_capacity(open.len());
        for (t, x, start) in open.drain(..) {
            if !ttl_changed && now.iter().any(|(t2, x2)| *t2 == t && *x2 == x) {
                still.push((t, x, start));
            } else {
                out.push(Row {
                    terms: t,
                    vals: x,
                    start,
                    end: Some(v.ts),
                });
            }
        }
        for (t, x) in now {
            if !still.iter().any(|(t2, x2, _)| *t2 == t && *x2 == x) {
                still.push((t, x, v.ts));
            }
        }
        open = still;
    }
    for (t, x, start) in open {
        out.push(Row {
            terms: t,
            vals: x,
            start,
            end: None,
        });
    }
    out
}

impl IndexStore {
    /// Adds (`add`) or removes a document's rows.
    pub fn apply(&mut self, rows: &[Row], id: i64, coll: u32, add: bool) {
        for row in rows {
            let ts = self.terms.entry(row.terms.clone()).or_default();
            let vals: Arc<[K]> = row.vals.as_slice().into();
            let key = EKey {
                vals: Arc::clone(&vals),
                id,
                coll,
                start: row.start,
            };
            let mut evs = vec![EvKey {
                ts: row.start,
                action: 1,
                id,
                coll,
                vals: Arc::clone(&vals),
            }];
            if let Some(end) = row.end {
                evs.push(EvKey {
                    ts: end,
                    action: 0,
                    id,
                    coll,
                    vals,
                });
            }
            if add {
                ts.live.insert(key, row.end);
                ts.events.extend(evs);
            } else {
                ts.live.remove(&key);
                for e in &evs {
                    ts.events.remove(e);
                }
            }
        }
        if !add {
            self.terms
                .retain(|_, t| !t.live.is_empty() || !t.events.is_empty());
        }
    }
}
