//! Document writes: `Create`, `Update`, `Replace`, `Delete`, `Insert`, `Remove`.

use std::rc::Rc;
use std::sync::Arc;

use fauna_wire::{Object, Ref, Timestamp, Value};

use crate::engine::error::{denied, err, expected, R};
use crate::engine::eval::{to_micros, to_str, Ev, Undo};
use crate::engine::paginate::doc_coll;
use crate::engine::parse::{value_type, Ast, NodeId, F};
use crate::engine::schema::Resource;
use crate::engine::security::Act;
use crate::engine::store::{Action, Version};
use crate::engine::val::{DocV, Env, Val};

/// Deep merge for `Update`: objects merge, `null` removes.
pub fn merge(base: &mut Object, patch: &Object) {
    for (k, v) in patch {
        match v {
            Value::Null => {
                base.shift_remove(k);
            }
            Value::Object(p) => match base.get_mut(k) {
                Some(Value::Object(b)) => merge(b, p),
                _ => {
                    let mut fresh = Object::default();
                    merge(&mut fresh, p);
                    base.insert(k.clone(), Value::Object(fresh));
                }
            },
            other => {
                base.insert(k.clone(), other.clone());
            }
        }
    }
}

fn strip_nulls(o: &Object) -> Object {
    let mut out = Object::default();
    merge(&mut out, o);
    out
}

impl Ev<'_> {
    /// The `params` argument: an object (null: empty).
    pub fn params(&mut self, args: &[(&'static str, NodeId)], env: &Env, n: NodeId) -> R<Object> {
        let Some(pn) = Ast::arg(args, "params") else {
            return Ok(Object::default());
        };
        match self.eval(pn, env)?.to_value() {
            Value::Object(o) => Ok(o),
            Value::Null => Ok(Object::default()),
            other => expected(if pn == 0 { n } else { pn }, "Object", value_type(&other)),
        }
    }

    fn data_fields(&self, p: &Object, node: NodeId, base: Option<&Object>, c: u32) -> R<Object> {
        let mut f = Object::default();
        match (p.get("data"), base) {
            (Some(Value::Object(d)), Some(b)) => {
                let mut merged = match b.get("data") {
                    Some(Value::Object(x)) => x.clone(),
                    _ => Object::default(),
                };
                merge(&mut merged, d);
                f.insert("data".into(), Value::Object(merged));
            }
            (Some(Value::Object(d)), None) => {
                f.insert("data".into(), Value::Object(strip_nulls(d)));
            }
            (Some(Value::Null), _) | (None, None) => {}
            (None, Some(b)) => {
                if let Some(d) = b.get("data") {
                    f.insert("data".into(), d.clone());
                }
            }
            (Some(other), _) => {
                return err(
                    node,
                    "validation failed",
                    format!(
                        "document data is not valid. {} provided.",
                        value_type(other)
                    ),
                )
            }
        }
        match (p.get("ttl"), base) {
            (Some(Value::Timestamp(t)), _) => {
                f.insert("ttl".into(), Value::Timestamp(*t));
            }
            (Some(Value::Null), _) => {}
            (Some(other), _) => return expected(node, "Time", value_type(other)),
            (None, Some(b)) => {
                if let Some(t) = b.get("ttl") {
                    f.insert("ttl".into(), t.clone());
                }
            }
            (None, None) => {
                if let Some(days) = self.coll_def(c).ttl_days {
                    let t = self
                        .txn_ts
                        .saturating_add(days.saturating_mul(86_400_000_000));
                    f.insert("ttl".into(), Value::Timestamp(Timestamp::from_micros(t)));
                }
            }
        }
        Ok(f)
    }

    fn write(&mut self, node: NodeId, c: u32, id: i64, v: Version) -> R<()> {
        self.meter.write(v.size);
        let old = self.st_mut(node)?.put_version(c, id, v);
        self.push_undo(Undo::Doc(c, id, old));
        Ok(())
    }

    fn current(&self, c: u32, id: i64) -> Option<Arc<Version>> {
        let t = self.txn_ts;
        self.st().colls[c as usize]
            .docs
            .get(&id)
            .and_then(|h| h.live_at(t, t))
            .cloned()
    }

    /// `act` may be granted: statically, or by a predicate still to be evaluated.
    fn allowed(&self, cname: &str, act: Act) -> bool {
        let res = Resource::Coll(cname.to_string());
        self.allows(&res, act) || !self.role_predicates(&res, act).is_empty()
    }

    /// `act` is granted, predicates receiving `arg(arity)`.
    fn granted(&self, cname: &str, act: Act, arg: &dyn Fn(usize) -> Val) -> bool {
        self.permits(&Resource::Coll(cname.to_string()), act, arg)
    }

    /// Evaluates the document write forms.
    pub fn doc_write(
        &mut self,
        n: NodeId,
        f: F,
        args: &[(&'static str, NodeId)],
        env: &Env,
    ) -> R<Val> {
        let (target, tnode) = self.main_arg(n, f, args, env)?;
        let Val::V(Value::Ref(r)) = target else {
            return expected(tnode, "Ref", target.type_name());
        };
        self.check_ref_defined(&r, tnode)?;
        self.check_unscoped(&r, tnode)?;
        if f == F::Update && r.native_parent() == Some("collections") {
            return self.update_collection(n, &r, args, env);
        }
        if matches!(f, F::Update | F::Replace | F::Delete) && r.native_parent() == Some("databases")
        {
            let p = self.params(args, env, n)?;
            return self.write_database(n, f, &r, &p);
        }
        if f == F::Delete && r.native_parent() == Some("keys") {
            return self.delete_key(n, &r);
        }
        let (cname, id) = if f == F::Create && r.native_parent() == Some("collections") {
            (r.id.clone(), None)
        } else {
            match (doc_coll(&r), r.id.parse::<i64>()) {
                (Some(c), Ok(id)) => (c.to_string(), Some(id)),
                _ => return expected(tnode, "Document Ref", "Ref"),
            }
        };
        let Some(c) = self.st().coll(&cname) else {
            return err(
                tnode,
                "invalid ref",
                format!("Ref refers to undefined collection '{cname}'"),
            );
        };
        let ts = self.txn_ts;
        let not_found = |n| err(n, "instance not found", "Document not found.");
        match f {
            F::Create => {
                let ok = match id {
                    None => self.allowed(&cname, Act::Create),
                    Some(_) => {
                        self.allowed(&cname, Act::CreateWithId)
                            || (self.allowed(&cname, Act::Create)
                                && self.allowed(&cname, Act::HistoryWrite))
                    }
                };
                if !ok {
                    return Err(denied(tnode));
                }
                let explicit_id = id.is_some();
                let p = self.params(args, env, n)?;
                let id = match id {
                    Some(id) => {
                        if self.current(c, id).is_some() {
                            return err(
                                tnode,
                                "instance already exists",
                                "Document already exists.",
                            );
                        }
                        id
                    }
                    None => self.ids.next(),
                };
                let fields = self.data_fields(&p, n, None, c)?;
                let r = Ref::document(&cname, &id.to_string());
                let data = Val::V(Value::Object(fields.clone()));
                let with_ref = |arity: usize| match arity {
                    1 => data.clone(),
                    _ => Val::Arr(vec![data.clone(), Val::V(Value::Ref(r.clone()))]),
                };
                let history = |_| {
                    Val::Arr(vec![
                        Val::V(Value::Ref(r.clone())),
                        Val::V(Value::Timestamp(Timestamp::from_micros(ts))),
                        Val::V(Value::String("create".into())),
                        data.clone(),
                    ])
                };
                let ok = if explicit_id {
                    self.granted(&cname, Act::CreateWithId, &with_ref)
                        || (self.granted(&cname, Act::Create, &|_| data.clone())
                            && self.granted(&cname, Act::HistoryWrite, &history))
                } else {
                    self.granted(&cname, Act::Create, &|_| data.clone())
                };
                if !ok {
                    return Err(denied(tnode));
                }
                let v = Version::new(ts, Action::Create, fields);
                self.write(n, c, id, v.clone())?;
                let stored = self.current(c, id).unwrap_or_else(|| Arc::new(v));
                Ok(Val::Doc(Rc::new(DocV {
                    r: Ref::document(&cname, &id.to_string()),
                    v: stored,
                    created: true,
                })))
            }
            F::Update | F::Replace => {
                let Some(id) = id else { return not_found(n) };
                if !self.allowed(&cname, Act::Write) {
                    return Err(denied(n));
                }
                let Some(cur) = self.current(c, id) else {
                    return not_found(n);
                };
                let p = self.params(args, env, n)?;
                let fields = if f == F::Update {
                    self.data_fields(&p, n, Some(&cur.fields()), c)?
                } else {
                    self.data_fields(&p, n, None, c)?
                };
                let (old, new) = (
                    Val::V(Value::Object(cur.fields().into_owned())),
                    Val::V(Value::Object(fields.clone())),
                );
                let args3 = |arity: usize| {
                    let mut a = vec![old.clone(), new.clone()];
                    if arity == 3 {
                        a.push(Val::V(Value::Ref(r.clone())));
                    }
                    Val::Arr(a)
                };
                if !self.granted(&cname, Act::Write, &args3) {
                    return Err(denied(n));
                }
                let v = Version::new(ts, Action::Update, fields);
                self.write(n, c, id, v.clone())?;
                let stored = self.current(c, id).unwrap_or_else(|| Arc::new(v));
                Ok(Val::Doc(Rc::new(DocV {
                    r,
                    v: stored,
                    created: false,
                })))
            }
            F::Delete => {
                let Some(id) = id else { return not_found(n) };
                if !self.allowed(&cname, Act::Delete) {
                    return Err(denied(n));
                }
                let Some(cur) = self.current(c, id) else {
                    return not_found(n);
                };
                if !self.granted(&cname, Act::Delete, &|_| Val::V(Value::Ref(r.clone()))) {
                    return Err(denied(n));
                }
                self.write(
                    n,
                    c,
                    id,
                    Version::new(ts, Action::Delete, Object::default()),
                )?;
                Ok(Val::Doc(Rc::new(DocV {
                    r,
                    v: cur,
                    created: false,
                })))
            }
            _ => {
                let Some(id) = id else { return not_found(n) };
                if !self.allowed(&cname, Act::HistoryWrite) {
                    return Err(denied(n));
                }
                let tv = self.arg(args, "ts", env)?;
                let tsn = Ast::arg(args, "ts").unwrap_or(n);
                let at = to_micros(&tv, tsn)?;
                if at > self.txn_ts {
                    return err(
                        n,
                        "invalid write time",
                        "Cannot write outside of snapshot time.",
                    );
                }
                let av = self.arg(args, "action", env)?;
                let anode = Ast::arg(args, "action").unwrap_or(n);
                let a = to_str(&av, anode)?;
                let Some(action) = Action::parse(&a) else {
                    return err(
                        anode,
                        "invalid argument",
                        format!("String 'create', 'update', or 'delete' expected, String '{a}' provided."),
                    );
                };
                let history = |ev: &Self, data: &Object| {
                    let arg = Val::Arr(vec![
                        Val::V(Value::Ref(r.clone())),
                        Val::V(Value::Timestamp(Timestamp::from_micros(at))),
                        Val::V(Value::String(a.clone())),
                        Val::V(Value::Object(data.clone())),
                    ]);
                    ev.granted(&cname, Act::HistoryWrite, &|_| arg.clone())
                };
                if f == F::Remove {
                    if !history(self, &Object::default()) {
                        return Err(denied(n));
                    }
                    let old = self.st().colls[c as usize].docs.get(&id).cloned();
                    if self.st_mut(n)?.remove_version(c, id, at, action) {
                        self.push_undo(Undo::Doc(c, id, old));
                    }
                    return Ok(Val::V(Value::Null));
                }
                let p = self.params(args, env, n)?;
                let fields = if action == Action::Delete {
                    Object::default()
                } else {
                    self.data_fields(&p, n, None, c)?
                };
                if !history(self, &fields) {
                    return Err(denied(n));
                }
                let data = fields.get("data").cloned().unwrap_or(Value::Null);
                self.write(n, c, id, Version::new(at, action, fields))?;
                let dk = if self.legacy { "instance" } else { "document" };
                Ok(Val::Obj(vec![
                    ("ts".into(), Val::V(Value::Int(at))),
                    ("action".into(), Val::V(Value::String(a))),
                    (dk.into(), Val::V(Value::Ref(r))),
                    (
                        "data".into(),
                        Val::V(if action == Action::Delete {
                            Value::Null
                        } else {
                            data
                        }),
                    ),
                ]))
            }
        }
    }

    fn update_collection(
        &mut self,
        n: NodeId,
        r: &Ref,
        args: &[(&'static str, NodeId)],
        env: &Env,
    ) -> R<Val> {
        if !self.allows(&Resource::Native("collections".into()), Act::Write) {
            return Err(denied(n));
        }
        let p = self.params(args, env, n)?;
        let Some(c) = self.st().coll(&r.id) else {
            return err(
                n,
                "invalid ref",
                format!("Ref refers to undefined collection '{}'", r.id),
            );
        };
        let ts = self.txn_ts;
        let old = self.coll_def(c).clone();
        let mut def = old.clone();
        def.ts = ts;
        if let Some(v) = p.get("history_days") {
            def.history_days = v.as_i64();
        }
        if let Some(v) = p.get("ttl_days") {
            def.ttl_days = v.as_i64();
        }
        if let Some(d) = p.get("data") {
            def.data = match d {
                Value::Null => None,
                other => Some(other.clone()),
            };
        }
        let fields = def.fields();
        self.st_mut(n)?.colls[c as usize].def = def;
        self.push_undo(Undo::CollDef(c, old));
        Ok(Val::Doc(Rc::new(DocV {
            r: r.clone(),
            v: Arc::new(Version::new(ts, Action::Update, fields)),
            created: false,
        })))
    }
}
