//! Event pages: set events (add/remove) of Documents, Match and Singleton sets, and document
//! events (create/update/delete with the data diff) of one document's history.

use std::ops::Bound;

use fauna_wire::{Date, Object, Ref, Timestamp, Value};

use super::cursor::empty_range;
use super::error::{denied, err, expected, R};
use super::eval::Ev;
use super::order::K;
use super::paginate::{doc_coll, Dir};
use super::parse::{value_type, NodeId};
use super::predicates::Reader;
use super::schema::Resource;
use super::security::Act;
use super::sets::no_events;
use super::store::{Action, Version};
use super::val::{PageV, SetV, Val};

/// Sort position of an event: ts, action rank (remove/delete 0, others 1), doc id, collection.
type EvPos = (i64, u8, i64, u32);

/// One event with its position.
struct Event {
    pos: EvPos,
    action: &'static str,
    doc: Ref,
    data: Option<Value>,
    /// Render `data` in the cursor too (set events of indexes with values).
    data_in_cursor: bool,
}

fn rank(action: &str) -> Option<u8> {
    match action {
        "remove" | "delete" => Some(0),
        "add" | "create" | "update" => Some(1),
        _ => None,
    }
}

impl Ev<'_> {
    fn doc_key(&self) -> &'static str {
        if self.legacy {
            "instance"
        } else {
            "document"
        }
    }

    fn event_val(&self, e: &Event, with_data: bool) -> Val {
        let mut o = vec![
            ("ts".to_string(), Val::V(Value::Int(e.pos.0))),
            ("action".to_string(), Val::V(Value::String(e.action.into()))),
            (
                self.doc_key().to_string(),
                Val::V(Value::Ref(e.doc.clone())),
            ),
        ];
        if with_data {
            if let Some(d) = &e.data {
                o.push(("data".into(), Val::V(d.clone())));
            }
        }
        Val::Obj(o)
    }

    /// Parses an event cursor into a position and its echo.
    fn event_cursor(&self, c: &Value, node: NodeId, doc_events: bool) -> R<(EvPos, Val)> {
        let min_doc = (i64::MIN, 0u32);
        let max_doc = (i64::MAX, u32::MAX);
        let scalar = |t: i64| {
            let action = if doc_events { "create" } else { "add" };
            (
                (t, 0, min_doc.0, min_doc.1),
                Val::Obj(vec![
                    ("ts".into(), Val::V(Value::Int(t))),
                    ("action".into(), Val::V(Value::String(action.into()))),
                ]),
            )
        };
        match c {
            Value::Int(t) => Ok(scalar(*t)),
            Value::Timestamp(t) => Ok(scalar(t.to_micros().unwrap_or(i64::MAX))),
            Value::Date(d) => Ok(scalar(date_micros(*d))),
            Value::Null => Ok((
                (i64::MAX, u8::MAX, max_doc.0, max_doc.1),
                Val::V(Value::Null),
            )),
            Value::Object(o) => self.object_cursor(o, node),
            other => expected(node, "Object, Integer, Time, or Date", value_type(other)),
        }
    }

    fn object_cursor(&self, o: &Object, node: NodeId) -> R<(EvPos, Val)> {
        let allowed = [
            "ts", "action", "document", "resource", "instance", "data", "values",
        ];
        if !o.contains_key("ts") || !o.keys().all(|k| allowed.contains(&k.as_str())) {
            let keys: Vec<&str> = o.keys().map(String::as_str).collect();
            return err(
                node,
                "invalid argument",
                format!("Cannot create event cursor with keys {}", keys.join(", ")),
            );
        }
        let ts = match o.get("ts") {
            Some(Value::Int(t)) => *t,
            Some(Value::Timestamp(t)) => t.to_micros().unwrap_or(i64::MAX),
            Some(other) => return expected(node, "Integer or Time", value_type(other)),
            None => 0,
        };
        let mut echo = vec![("ts".to_string(), Val::V(Value::Int(ts)))];
        let action = match o.get("action") {
            Some(Value::String(a)) => match rank(a) {
                Some(r) => {
                    echo.push(("action".into(), Val::V(Value::String(a.clone()))));
                    r
                }
                None => {
                    return err(
                        node,
                        "invalid argument",
                        format!("String 'add', or 'remove' expected, String '{a}' provided."),
                    )
                }
            },
            Some(other) => return expected(node, "String", value_type(other)),
            None => u8::MAX,
        };
        let doc = ["document", "resource", "instance"]
            .iter()
            .find_map(|k| o.get(*k));
        let (id, coll) = match doc {
            Some(Value::Ref(r)) => {
                echo.push((self.doc_key().into(), Val::V(Value::Ref(r.clone()))));
                self.doc_pos(r).unwrap_or((i64::MAX, u32::MAX))
            }
            Some(Value::Null) | None => (i64::MAX, u32::MAX),
            Some(other) => return expected(node, "Ref", value_type(other)),
        };
        Ok(((ts, action, id, coll), Val::Obj(echo)))
    }

    /// Whether an event survives the minimum-valid-time truncation.
    fn above_mvt(&self, c: u32, ts: i64, add: bool) -> bool {
        let mvt = self.mvt(c);
        ts > mvt || (ts == mvt && add)
    }

    fn gather(
        &self,
        set: &SetV,
        node: NodeId,
        lo: &Bound<EvPos>,
        hi: &Bound<EvPos>,
    ) -> R<(Vec<Event>, bool)> {
        let st = self.st();
        let mut out = Vec::new();
        let in_range = |p: &EvPos| super::cursor::within(p, lo, hi);
        match set {
            SetV::Documents(name) => {
                let Some(c) = st.coll(name) else {
                    return err(
                        node,
                        "invalid ref",
                        format!("Ref refers to undefined collection '{name}'"),
                    );
                };
                let cd = &st.colls[c as usize];
                let reader = self.reader(name);
                if reader == Reader::Nothing {
                    return Ok((out, false));
                }
                let l = match lo {
                    Bound::Included(p) => Bound::Included((p.0, p.1, p.2)),
                    Bound::Excluded(p) => Bound::Excluded((p.0, p.1, p.2)),
                    Bound::Unbounded => Bound::Unbounded,
                };
                let h = match hi {
                    Bound::Included(p) => Bound::Included((p.0, p.1, p.2)),
                    Bound::Excluded(p) => Bound::Excluded((p.0, p.1, p.2)),
                    Bound::Unbounded => Bound::Unbounded,
                };
                if empty_range(&l, &h) {
                    return Ok((out, false));
                }
                for (ts, a, id) in cd.events.range((l, h)) {
                    if !self.above_mvt(c, *ts, *a == 1) {
                        continue;
                    }
                    let doc = Ref::document(name, &id.to_string());
                    if !self.reads(reader, name, &doc) {
                        continue;
                    }
                    out.push(Event {
                        pos: (*ts, *a, *id, c),
                        action: if *a == 1 { "add" } else { "remove" },
                        doc,
                        data: None,
                        data_in_cursor: false,
                    });
                }
                Ok((out, false))
            }
            SetV::Match { index, terms, .. } => {
                let Some(idx) = st.index(index) else {
                    return err(
                        node,
                        "invalid ref",
                        format!("Ref refers to undefined index '{index}'"),
                    );
                };
                let readers = self.index_readers(index, terms);
                let tk: Vec<K> = terms.iter().map(|v| K::V(v.clone(), false)).collect();
                let with_vals = !idx.def.values.is_empty();
                if let Some(ts) = idx.store.terms.get(&tk) {
                    for e in &ts.events {
                        let pos = (e.ts, e.action, e.id, e.coll);
                        if !in_range(&pos) || !self.above_mvt(e.coll, e.ts, e.action == 1) {
                            continue;
                        }
                        let cname = &st.colls[e.coll as usize].def.name;
                        let doc = Ref::document(cname, &e.id.to_string());
                        let reader = readers.get(e.coll as usize).copied();
                        if !self.reads(reader.unwrap_or(Reader::Nothing), cname, &doc) {
                            continue;
                        }
                        out.push(Event {
                            pos,
                            action: if e.action == 1 { "add" } else { "remove" },
                            doc,
                            data: with_vals.then(|| {
                                Value::Array(
                                    e.vals.iter().filter_map(|k| k.value().cloned()).collect(),
                                )
                            }),
                            data_in_cursor: true,
                        });
                    }
                }
                Ok((out, false))
            }
            SetV::Singleton(r) | SetV::Doc(r) => {
                let doc_events = matches!(set, SetV::Doc(_));
                let (Some(cname), Ok(id)) = (doc_coll(r), r.id.parse::<i64>()) else {
                    return Ok((out, doc_events));
                };
                let Some(c) = st.coll(cname) else {
                    return err(
                        node,
                        "invalid ref",
                        format!("Ref refers to undefined collection '{cname}'"),
                    );
                };
                let res = Resource::Coll(cname.to_string());
                let doc_ref = |_| Val::V(Value::Ref(r.clone()));
                if doc_events && !self.permits(&res, Act::HistoryRead, &doc_ref) {
                    return Err(denied(node));
                }
                if !doc_events && !self.reads(self.reader(cname), cname, r) {
                    return Ok((out, false));
                }
                let Some(h) = st.colls[c as usize].docs.get(&id) else {
                    return Ok((out, doc_events));
                };
                let mut prev: Option<&Version> = None;
                let mut live = false;
                for v in &h.versions {
                    let r_ = Ref::document(cname, &r.id);
                    if doc_events {
                        let a = v.action;
                        let pos = (v.ts, u8::from(a != Action::Delete), id, c);
                        if in_range(&pos) && self.above_mvt(c, v.ts, a == Action::Create) {
                            out.push(Event {
                                pos,
                                action: a.name(),
                                doc: r_,
                                data: Some(diff(prev, v)),
                                data_in_cursor: false,
                            });
                        }
                    } else {
                        let now = v.action != Action::Delete;
                        if now != live {
                            let pos = (v.ts, u8::from(now), id, c);
                            if in_range(&pos) && self.above_mvt(c, v.ts, now) {
                                out.push(Event {
                                    pos,
                                    action: if now { "add" } else { "remove" },
                                    doc: r_,
                                    data: None,
                                    data_in_cursor: false,
                                });
                            }
                            live = now;
                        }
                    }
                    prev = Some(v);
                }
                Ok((out, doc_events))
            }
            SetV::Native(n) if n == "databases" => {
                if !self.allows(&Resource::Native(n.clone()), Act::Read) {
                    return Err(denied(node));
                }
                for (ts, a, gid, name) in &st.db_events {
                    let pos = (*ts, *a, *gid, 0);
                    if in_range(&pos) {
                        out.push(Event {
                            pos,
                            action: if *a == 1 { "add" } else { "remove" },
                            doc: Ref::in_native("databases", name),
                            data: None,
                            data_in_cursor: false,
                        });
                    }
                }
                Ok((out, false))
            }
            _ => no_events(node),
        }
    }

    /// A page of events of `set`.
    pub fn events_page(&mut self, set: &SetV, dir: Dir, size: usize, node: NodeId) -> R<PageV> {
        let doc_events = matches!(set, SetV::Doc(_));
        let t = self.read_ts();
        let top: Bound<EvPos> = Bound::Included((t, u8::MAX, i64::MAX, u32::MAX));
        let mut page = PageV::default();
        let (lo, hi, echo, forward) = match &dir {
            Dir::After(None) => (Bound::Unbounded, top, None, true),
            Dir::After(Some(c)) => {
                let (p, e) = self.event_cursor(c, node, doc_events)?;
                (Bound::Included(p), top, Some(e), true)
            }
            Dir::Before(c) => {
                let (p, e) = self.event_cursor(c, node, doc_events)?;
                let topk = (t, u8::MAX, i64::MAX, u32::MAX);
                let hi = if p <= topk { Bound::Excluded(p) } else { top };
                (Bound::Unbounded, hi, Some(e), false)
            }
        };
        let (mut evs, _) = self.gather(set, node, &lo, &hi)?;
        evs.sort_by_key(|e| e.pos);
        if size == 0 {
            page.before = echo.clone();
            page.after = echo;
            return Ok(page);
        }
        if forward {
            if evs.len() > size {
                let e = &evs[size];
                page.after = Some(self.event_val(e, e.data_in_cursor));
                evs.truncate(size);
            }
            page.before = echo;
        } else {
            let start = evs.len().saturating_sub(size);
            if start > 0 {
                let e = &evs[start];
                page.before = Some(self.event_val(e, e.data_in_cursor));
            }
            evs.drain(..start);
            page.after = echo;
        }
        page.data = evs.iter().map(|e| self.event_val(e, true)).collect();
        Ok(page)
    }
}

fn date_micros(d: Date) -> i64 {
    Timestamp::at_start_of(d).to_micros().unwrap_or(i64::MAX)
}

/// The `data` diff of a version against its predecessor.
fn diff(prev: Option<&Version>, v: &Version) -> Value {
    if v.action == Action::Delete {
        return Value::Null;
    }
    let new = v.field("data");
    let old = prev
        .filter(|p| p.action != Action::Delete)
        .and_then(|p| p.field("data"));
    match (old, new) {
        (Some(Value::Object(o)), Some(Value::Object(n))) => Value::Object(object_diff(&o, &n)),
        (_, Some(n)) => n,
        (_, None) => Value::Object(Object::default()),
    }
}

fn object_diff(o: &Object, n: &Object) -> Object {
    let mut out = Object::default();
    for (k, nv) in n {
        match (o.get(k), nv) {
            (Some(Value::Object(a)), Value::Object(b)) => {
                let d = object_diff(a, b);
                if !d.is_empty() {
                    out.insert(k.clone(), Value::Object(d));
                }
            }
            (Some(ov), nv) if ov == nv => {}
            _ => {
                out.insert(k.clone(), nv.clone());
            }
        }
    }
    for k in o.keys() {
        if !n.contains_key(k) {
            out.insert(k.clone(), Value::Null);
        }
    }
    out
}
