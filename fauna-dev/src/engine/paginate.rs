//! `Paginate` over snapshot sets: ordered scans with inclusive `after` / exclusive `before`
//! cursors, range bounds, the valid time, permissions and TTL.

use std::ops::Bound;
use std::rc::Rc;

use fauna_wire::{Ref, Value};

use super::cursor::{empty_range, max_lower, min_upper, position, within, PosKey, Side};
use super::error::{bad_request, denied, err, expected, R};
use super::eval::{to_bool, to_int, to_micros, Ev};
use super::index::EKey;
use super::meter::entry_bytes;
use super::parse::{Ast, NodeId};
use super::predicates::Reader;
use super::schema::Resource;
use super::scope::rescope_page;
use super::security::Act;
use super::val::{Env, PageV, SetV, Val};
use fauna_wire::Timestamp;

/// Default page size.
pub const DEFAULT_SIZE: i64 = 64;
/// Page sizes are clamped to this.
pub const MAX_SIZE: i64 = 100_000;

/// One element of a snapshot set.
pub struct Elem {
    /// Sort position.
    pub key: PosKey,
    /// Covered values.
    pub vals: Vec<Value>,
    /// The document.
    pub r: Ref,
}

/// Where a snapshot set's elements come from.
pub enum Source {
    /// `Documents(c)`.
    Docs(u32),
    /// An index's entries for a term tuple.
    Index(usize, Vec<Value>),
    /// An explicit, materialised list.
    List(Vec<Elem>),
}

/// A pagination direction with its cursor.
pub enum Dir {
    /// Forward from a cursor (inclusive) or from the start.
    After(Option<Value>),
    /// Backward from a cursor (exclusive).
    Before(Value),
}

impl Elem {
    /// The page element: ref, the single value, or the array of values.
    pub fn data(&self, k: usize) -> Val {
        match k {
            0 => Val::V(Value::Ref(self.r.clone())),
            1 => Val::V(self.vals.first().cloned().unwrap_or(Value::Null)),
            _ => Val::Arr(self.vals.iter().cloned().map(Val::V).collect()),
        }
    }

    /// The cursor: values, then the ref.
    pub fn cursor(&self) -> Val {
        let mut a: Vec<Val> = self.vals.iter().cloned().map(Val::V).collect();
        a.push(Val::V(Value::Ref(self.r.clone())));
        Val::Arr(a)
    }
}

impl Ev<'_> {
    /// `Paginate(set, …)`.
    pub fn paginate(&mut self, n: NodeId, args: &[(&'static str, NodeId)], env: &Env) -> R<Val> {
        let sv = self.arg(args, "paginate", env)?;
        let snode = Ast::arg(args, "paginate").unwrap_or(n);
        let mut set = self.as_set(sv, snode)?;
        if let Some((e, enode)) = self.opt(args, "events", env)? {
            if to_bool(&e, enode)? && !is_events(&set) {
                set = self.events_of(set, n)?;
            }
        }
        let mut size = DEFAULT_SIZE;
        if let Some((s, snode2)) = self.opt(args, "size", env)? {
            size = to_int(&s, snode2)?.clamp(0, MAX_SIZE);
        }
        let dir = if let Some((c, _)) = self.opt(args, "after", env)? {
            Dir::After(Some(c.to_value()))
        } else if let Some((c, _)) = self.opt(args, "before", env)? {
            Dir::Before(c.to_value())
        } else if let Some((c, cnode)) = self.opt(args, "cursor", env)? {
            match c.to_value() {
                Value::Null => Dir::After(None),
                Value::Object(o) if o.len() == 1 && o.contains_key("after") => {
                    Dir::After(o.get("after").cloned())
                }
                Value::Object(o) if o.len() == 1 && o.contains_key("before") => {
                    Dir::Before(o.get("before").cloned().unwrap_or(Value::Null))
                }
                _ => {
                    return err(
                        cnode,
                        "invalid argument",
                        "Invalid cursor object. Expected an object with either 'before' or 'after' key in it.",
                    )
                }
            }
        } else {
            Dir::After(None)
        };
        let sources = match self.opt(args, "sources", env)? {
            Some((v, node)) => to_bool(&v, node)?,
            None => false,
        };
        let saved = self.valid_ts;
        if let Some((t, tnode)) = self.opt(args, "ts", env)? {
            let ts = to_micros(&t, tnode)?;
            self.valid_ts = if ts >= self.txn_ts { None } else { Some(ts) };
        }
        let size = size as usize;
        let (path, inner) = match &*set {
            SetV::Scoped(path, inner) => (path.clone(), inner.clone()),
            _ => (Vec::new(), set.clone()),
        };
        let res = self.in_scope(&path, |ev| match &*inner {
            SetV::Events(inner) => ev.events_page(inner, dir, size, snode),
            _ => ev.snapshot_page(&inner, dir, size, snode),
        });
        self.valid_ts = saved;
        let mut page = res?;
        rescope_page(&mut page, &path);
        if sources {
            for d in &mut page.data {
                let v = std::mem::replace(d, Val::V(Value::Null));
                *d = Val::Obj(vec![
                    ("value".into(), v),
                    ("sources".into(), Val::Arr(vec![Val::Set(set.clone())])),
                ]);
            }
        }
        Ok(Val::Page(Rc::new(page)))
    }

    /// The minimum valid time of a collection at this transaction.
    pub fn mvt(&self, c: u32) -> i64 {
        let def = self.coll_def(c);
        match def.history_days {
            None => i64::MIN,
            Some(days) => {
                let day = i64::try_from(self.opts.day_length.as_micros()).unwrap_or(i64::MAX);
                let off = i64::try_from(self.opts.mvt_offset.as_micros()).unwrap_or(i64::MAX);
                self.txn_ts
                    .saturating_sub(days.saturating_mul(day))
                    .saturating_sub(off)
                    .max(0)
            }
        }
    }

    /// Fails a snapshot read below the collection's minimum valid time.
    pub fn check_mvt(&self, c: u32, t: i64) -> R<()> {
        if self.valid_ts.is_none() {
            return Ok(());
        }
        let mvt = self.mvt(c);
        if t < mvt {
            return Err(bad_request(format!(
                "Requested timestamp {} less than minimum allowed timestamp {}.",
                Timestamp::from_micros(t),
                Timestamp::from_micros(mvt)
            )));
        }
        Ok(())
    }

    /// Source, value reverse flags and range bounds of a snapshot set.
    #[allow(clippy::type_complexity)]
    pub fn source_of(
        &self,
        set: &SetV,
        node: NodeId,
    ) -> R<(Source, Vec<bool>, Bound<PosKey>, Bound<PosKey>)> {
        let st = self.st();
        let t = self.read_ts();
        let snap = self.txn_ts;
        Ok(match set {
            SetV::Documents(c) => {
                let Some(c) = st.coll(c) else {
                    return err(
                        node,
                        "invalid ref",
                        format!("Ref refers to undefined collection '{c}'"),
                    );
                };
                (
                    Source::Docs(c),
                    Vec::new(),
                    Bound::Unbounded,
                    Bound::Unbounded,
                )
            }
            SetV::Match { index, terms, .. } => {
                let Some(pos) = st.index_names.get(index).copied() else {
                    return err(
                        node,
                        "invalid ref",
                        format!("Ref refers to undefined index '{index}'"),
                    );
                };
                let revs = st.indexes[pos]
                    .def
                    .values
                    .iter()
                    .map(|v| v.reverse)
                    .collect();
                (
                    Source::Index(pos, terms.clone()),
                    revs,
                    Bound::Unbounded,
                    Bound::Unbounded,
                )
            }
            SetV::Range { set, from, to, .. } => {
                let (src, revs, _, _) = self.source_of(set, node)?;
                let lo = position(&Value::Array(from.clone()), &revs, Side::Low, &|r| {
                    self.doc_pos(r)
                });
                let hi = position(&Value::Array(to.clone()), &revs, Side::High, &|r| {
                    self.doc_pos(r)
                });
                (src, revs, Bound::Included(lo), Bound::Included(hi))
            }
            SetV::Singleton(r) | SetV::Doc(r) => {
                if matches!(set, SetV::Doc(_)) {
                    if let Some(cname) = doc_coll(r) {
                        let res = Resource::Coll(cname.to_string());
                        if !self.permits(&res, Act::HistoryRead, &|_| Val::V(Value::Ref(r.clone())))
                        {
                            return Err(denied(node));
                        }
                    }
                }
                let mut list = Vec::new();
                match (doc_coll(r), r.id.parse::<i64>()) {
                    (Some(cname), Ok(id)) => {
                        if let Some(c) = st.coll(cname) {
                            self.check_mvt(c, t)?;
                            let live = st.colls[c as usize]
                                .docs
                                .get(&id)
                                .and_then(|h| h.live_at(t, snap))
                                .is_some();
                            let readable = matches!(set, SetV::Doc(_))
                                || self.reads(self.reader(cname), cname, r);
                            if live && readable {
                                list.push(Elem {
                                    key: (Vec::new(), id, c),
                                    vals: Vec::new(),
                                    r: r.clone(),
                                });
                            }
                        }
                    }
                    _ => list.push(Elem {
                        key: (Vec::new(), 0, 0),
                        vals: Vec::new(),
                        r: r.clone(),
                    }),
                }
                (
                    Source::List(list),
                    Vec::new(),
                    Bound::Unbounded,
                    Bound::Unbounded,
                )
            }
            SetV::Native(name) => {
                if !self.allows(&Resource::Native(name.clone()), Act::Read) {
                    return Err(denied(node));
                }
                let refs: Vec<Ref> = match name.as_str() {
                    "collections" => st
                        .colls
                        .iter()
                        .map(|c| Ref::collection(&c.def.name))
                        .collect(),
                    "indexes" => st.indexes.iter().map(|i| Ref::index(&i.def.name)).collect(),
                    "roles" => st
                        .roles
                        .iter()
                        .map(|r| Ref::in_native("roles", &r.name))
                        .collect(),
                    "keys" => st
                        .keys
                        .iter()
                        .map(|k| Ref::in_native("keys", &k.id.to_string()))
                        .collect(),
                    "databases" => st
                        .dbs
                        .iter()
                        .map(|d| Ref::in_native("databases", &d.def.name))
                        .collect(),
                    _ => Vec::new(),
                };
                // Databases are positioned by their global id (as their events are).
                let list = refs
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| Elem {
                        key: (
                            Vec::new(),
                            match name.as_str() {
                                "databases" => st.dbs.get(i).map_or(0, |d| d.def.global_id),
                                _ => i as i64,
                            },
                            0,
                        ),
                        vals: Vec::new(),
                        r,
                    })
                    .collect();
                (
                    Source::List(list),
                    Vec::new(),
                    Bound::Unbounded,
                    Bound::Unbounded,
                )
            }
            SetV::Filter { set, .. } => return self.source_of(set, node),
            SetV::Events(_) | SetV::Scoped(..) => return expected(node, "Set", "Set"),
        })
    }

    /// Sort position of a ref inside a set (documents: numeric id; schema items: list order).
    pub fn doc_pos(&self, r: &Ref) -> Option<(i64, u32)> {
        let st = self.st();
        if r.native_parent() == Some("keys") {
            let pos = st.keys.iter().position(|k| k.id.to_string() == r.id)?;
            return Some((pos as i64, 0));
        }
        if let Ok(id) = r.id.parse::<i64>() {
            let coll = doc_coll(r).and_then(|c| st.coll(c)).unwrap_or(0);
            return Some((id, coll));
        }
        let pos = match r.native_parent()? {
            "collections" => st.coll(&r.id).map(|c| c as usize),
            "indexes" => st.index_names.get(&r.id).copied(),
            "roles" => st.roles.iter().position(|x| x.name == r.id),
            "databases" => return st.db(&r.id).map(|d| (d.def.global_id, 0)),
            _ => None,
        }?;
        Some((pos as i64, 0))
    }

    /// Collects up to `limit` visible elements within the bounds, ascending or descending.
    pub fn collect(
        &self,
        src: &Source,
        lo: &Bound<PosKey>,
        hi: &Bound<PosKey>,
        desc: bool,
        limit: usize,
    ) -> R<Vec<Elem>> {
        let st = self.st();
        let t = self.read_ts();
        let snap = self.txn_ts;
        let mut out = Vec::new();
        if limit == 0 || empty_range(lo, hi) {
            return Ok(out);
        }
        match src {
            Source::Docs(c) => {
                self.check_mvt(*c, t)?;
                let cd = &st.colls[*c as usize];
                let reader = self.reader(&cd.def.name);
                if reader == Reader::Nothing {
                    return Ok(out);
                }
                let conv = |b: &Bound<PosKey>| match b {
                    Bound::Unbounded => Bound::Unbounded,
                    Bound::Included(k) => Bound::Included(k.1),
                    Bound::Excluded(k) => Bound::Excluded(k.1),
                };
                let (l, h) = (conv(lo), conv(hi));
                if empty_range(&l, &h) {
                    return Ok(out);
                }
                let mut push = |id: &i64, h: &super::store::DocHist| {
                    if h.live_at(t, snap).is_some() {
                        let r = Ref::document(&cd.def.name, itoa::Buffer::new().format(*id));
                        if self.reads(reader, &cd.def.name, &r) {
                            out.push(Elem {
                                key: (Vec::new(), *id, *c),
                                vals: Vec::new(),
                                r,
                            });
                        }
                    }
                    out.len() < limit
                };
                let range = cd.docs.range((l, h));
                if desc {
                    for (id, h) in range.rev() {
                        if !push(id, h) {
                            break;
                        }
                    }
                } else {
                    for (id, h) in range {
                        if !push(id, h) {
                            break;
                        }
                    }
                }
            }
            Source::Index(pos, terms) => {
                let idx = &st.indexes[*pos];
                for c in &idx.sources {
                    self.check_mvt(*c, t)?;
                }
                let readers = self.index_readers(&idx.def.name, terms);
                let tk: Vec<super::order::K> = terms
                    .iter()
                    .map(|v| super::order::K::V(v.clone(), false))
                    .collect();
                let Some(ts) = idx.store.terms.get(&tk) else {
                    return Ok(out);
                };
                let ek = |k: &PosKey, start: i64| EKey {
                    vals: k.0.as_slice().into(),
                    id: k.1,
                    coll: k.2,
                    start,
                };
                let l = match lo {
                    Bound::Unbounded => Bound::Unbounded,
                    Bound::Included(k) => Bound::Included(ek(k, i64::MIN)),
                    Bound::Excluded(k) => Bound::Excluded(ek(k, i64::MAX)),
                };
                let h = match hi {
                    Bound::Unbounded => Bound::Unbounded,
                    Bound::Included(k) => Bound::Included(ek(k, i64::MAX)),
                    Bound::Excluded(k) => Bound::Excluded(ek(k, i64::MIN)),
                };
                if empty_range(&l, &h) {
                    return Ok(out);
                }
                let mut push = |k: &EKey, end: &Option<i64>| {
                    let cd = &st.colls[k.coll as usize];
                    let reader = readers.get(k.coll as usize).copied();
                    let visible = k.start <= t
                        && end.is_none_or(|e| t < e)
                        && reader.is_some_and(|r| r != Reader::Nothing)
                        && (!cd.has_ttl
                            || cd
                                .docs
                                .get(&k.id)
                                .and_then(|h| h.live_at(t, snap))
                                .is_some());
                    if visible {
                        let r = Ref::document(&cd.def.name, itoa::Buffer::new().format(k.id));
                        if self.reads(reader.unwrap_or(Reader::Nothing), &cd.def.name, &r) {
                            out.push(Elem {
                                key: (k.vals.to_vec(), k.id, k.coll),
                                vals: k.vals.iter().filter_map(|x| x.value().cloned()).collect(),
                                r,
                            });
                        }
                    }
                    out.len() < limit
                };
                let range = ts.live.range((l, h));
                if desc {
                    for (k, end) in range.rev() {
                        if !push(k, end) {
                            break;
                        }
                    }
                } else {
                    for (k, end) in range {
                        if !push(k, end) {
                            break;
                        }
                    }
                }
            }
            Source::List(list) => {
                let mut idx: Vec<usize> = (0..list.len())
                    .filter(|i| within(&list[*i].key, lo, hi))
                    .collect();
                idx.sort_by(|a, b| list[*a].key.cmp(&list[*b].key));
                if desc {
                    idx.reverse();
                }
                for i in idx.into_iter().take(limit) {
                    let e = &list[i];
                    out.push(Elem {
                        key: e.key.clone(),
                        vals: e.vals.clone(),
                        r: e.r.clone(),
                    });
                }
            }
        }
        // The real server spreads Documents and term-less indexes over 8 partitions.
        let partitions = match src {
            Source::Docs(_) => 8,
            Source::Index(pos, _) if st.indexes[*pos].def.terms.is_empty() => 8,
            _ => 1,
        };
        let bytes = out.iter().map(|e| entry_bytes(&e.vals)).sum();
        self.meter.read(bytes, partitions);
        Ok(out)
    }

    fn snapshot_page(&mut self, set: &SetV, dir: Dir, size: usize, node: NodeId) -> R<PageV> {
        let (src, revs, lo, hi) = self.source_of(set, node)?;
        let k = revs.len();
        let preds = super::filter::predicates(set);
        let echo = |c: &Value| -> Val {
            match c {
                Value::Array(_) => Val::V(c.clone()),
                other => Val::V(Value::Array(vec![other.clone()])),
            }
        };
        let mut page = PageV::default();
        match dir {
            Dir::After(c) => {
                let lo = match &c {
                    Some(c) => max_lower(
                        lo,
                        Bound::Included(position(c, &revs, Side::Low, &|r| self.doc_pos(r))),
                    ),
                    None => lo,
                };
                if size == 0 {
                    page.before = c.as_ref().map(echo);
                    page.after = page.before.clone();
                    return Ok(page);
                }
                let mut elems =
                    self.collect_filtered(&src, &lo, &hi, false, size + 1, &preds, k)?;
                if elems.len() > size {
                    page.after = elems.pop().map(|e| e.cursor());
                }
                page.before = c.as_ref().map(echo);
                page.data = elems.iter().map(|e| e.data(k)).collect();
            }
            Dir::Before(c) => {
                let hi = min_upper(
                    hi,
                    Bound::Excluded(position(&c, &revs, Side::Low, &|r| self.doc_pos(r))),
                );
                if size == 0 {
                    page.before = Some(echo(&c));
                    page.after = page.before.clone();
                    return Ok(page);
                }
                let mut elems = self.collect_filtered(&src, &lo, &hi, true, size + 1, &preds, k)?;
                let more = elems.len() > size;
                elems.truncate(size);
                elems.reverse();
                if more {
                    page.before = elems.first().map(Elem::cursor);
                }
                page.after = Some(echo(&c));
                page.data = elems.iter().map(|e| e.data(k)).collect();
            }
        }
        Ok(page)
    }

    /// All elements of a snapshot set (for `Count`, `Get` of a set, …), up to `limit`.
    pub fn set_elements(
        &mut self,
        set: &SetV,
        node: NodeId,
        limit: usize,
    ) -> R<(Vec<Elem>, usize)> {
        let (src, revs, lo, hi) = self.source_of(set, node)?;
        let preds = super::filter::predicates(set);
        let k = revs.len();
        Ok((
            self.collect_filtered(&src, &lo, &hi, false, limit, &preds, k)?,
            k,
        ))
    }
}

/// True for an `Events` set (in whatever database).
pub fn is_events(set: &SetV) -> bool {
    match set {
        SetV::Events(_) => true,
        SetV::Scoped(_, inner) => is_events(inner),
        _ => false,
    }
}

/// The user collection name of a document ref.
pub fn doc_coll(r: &Ref) -> Option<&str> {
    r.collection
        .as_deref()
        .filter(|c| c.native_parent() == Some("collections"))
        .map(|c| c.id.as_str())
}
