//! `Get` and `Exists`: documents at the read time, schema documents, first element of a set.

use std::rc::Rc;
use std::sync::Arc;

use fauna_wire::{Ref, Value};

use crate::engine::databases::{scope_of, scoped, unscoped};
use crate::engine::error::{denied, err, expected, Failure, R};
use crate::engine::eval::{to_micros, Ev};
use crate::engine::paginate::{doc_coll, is_events};
use crate::engine::parse::{NodeId, F};
use crate::engine::schema::Resource;
use crate::engine::security::Act;
use crate::engine::store::{Action, Version};
use crate::engine::val::{DocV, Env, SetV, Val};

/// Outcome of a document lookup.
pub enum Found {
    /// The version.
    Doc(Rc<DocV>),
    /// Not there (or not yet / no longer).
    Missing,
    /// Not allowed to read it.
    Denied,
}

impl Ev<'_> {
    /// Evaluates `Get` / `Exists`.
    pub fn get_form(
        &mut self,
        n: NodeId,
        f: F,
        args: &[(&'static str, NodeId)],
        env: &Env,
    ) -> R<Val> {
        let (v, anode) = self.main_arg(n, f, args, env)?;
        let saved = self.valid_ts;
        if let Some((t, tnode)) = self.opt(args, "ts", env)? {
            let ts = to_micros(&t, tnode)?;
            self.valid_ts = if ts >= self.txn_ts { None } else { Some(ts) };
        }
        let res = self.lookup(v, anode, f == F::Exists);
        self.valid_ts = saved;
        let found = match res {
            Ok(x) => x,
            Err(e) if f == F::Exists && !matches!(e, Failure::Plain { .. }) => Found::Missing,
            Err(e) => return Err(e),
        };
        if f == F::Exists {
            return Ok(Val::V(Value::Bool(matches!(found, Found::Doc(_)))));
        }
        match found {
            Found::Doc(d) => Ok(Val::Doc(d)),
            Found::Denied => Err(denied(n)),
            Found::Missing => {
                let what = match &self.last_missing_kind {
                    Some(w) => w.clone(),
                    None => "Document".into(),
                };
                err(n, "instance not found", format!("{what} not found."))
            }
        }
    }

    fn lookup(&mut self, v: Val, node: NodeId, _exists: bool) -> R<Found> {
        self.last_missing_kind = None;
        match v {
            Val::V(Value::Ref(r)) => self.lookup_ref(r, node),
            Val::Set(s) => {
                if is_events(&s) {
                    return expected(node, "Ref or Set", "Set");
                }
                let (path, inner) = match &*s {
                    SetV::Scoped(path, inner) => (path.clone(), inner.clone()),
                    _ => (Vec::new(), s.clone()),
                };
                let first = self.in_scope(&path, |ev| {
                    Ok(ev.set_elements(&inner, node, 1)?.0.into_iter().next())
                })?;
                match first {
                    Some(e) => self.lookup_ref(scoped(e.r, &path), node),
                    None => {
                        self.last_missing_kind = Some("Set".into());
                        Ok(Found::Missing)
                    }
                }
            }
            other => expected(node, "Ref or Set", other.type_name()),
        }
    }

    /// Finds the version of `r` valid at the read time (a document found keeps `r`), in the
    /// database `r` lives in.
    pub fn lookup_ref(&mut self, r: Ref, node: NodeId) -> R<Found> {
        self.check_ref_defined(&r, node)?;
        let path = scope_of(&r);
        if path.is_empty() {
            return self.lookup_here(r, node);
        }
        let inner = unscoped(r.clone());
        Ok(
            match self.in_scope(&path, |ev| ev.lookup_here(inner, node))? {
                Found::Doc(d) => Found::Doc(Rc::new(DocV {
                    r,
                    v: d.v.clone(),
                    created: d.created,
                })),
                other => other,
            },
        )
    }

    fn lookup_here(&mut self, r: Ref, _node: NodeId) -> R<Found> {
        let t = self.read_ts();
        let snap = self.txn_ts;
        let st = self.st();
        if let Some(cname) = doc_coll(&r) {
            let Some(c) = st.coll(cname) else {
                return Ok(Found::Missing);
            };
            if !self.reads(self.reader(cname), cname, &r) {
                return Ok(Found::Denied);
            }
            self.check_mvt(c, t)?;
            let Ok(id) = r.id.parse::<i64>() else {
                return Ok(Found::Missing);
            };
            let v = st.colls[c as usize]
                .docs
                .get(&id)
                .and_then(|h| h.live_at(t, snap));
            if let Some(v) = v {
                self.meter.read(v.size, 1);
            }
            return Ok(match v {
                Some(v) => Found::Doc(Rc::new(DocV {
                    r,
                    v: v.clone(),
                    created: false,
                })),
                None => Found::Missing,
            });
        }
        let schema = |ts: i64, fields| {
            Rc::new(DocV {
                r: r.clone(),
                v: Arc::new(Version::new(ts, Action::Create, fields)),
                created: false,
            })
        };
        let allowed = |res: &str| self.allows(&Resource::Native(res.into()), Act::Read);
        match r.native_parent() {
            Some("collections") => {
                if !allowed("collections") {
                    return Ok(Found::Denied);
                }
                Ok(match st.coll(&r.id) {
                    Some(c) => {
                        let d = &st.colls[c as usize].def;
                        Found::Doc(schema(d.ts, d.fields()))
                    }
                    None => Found::Missing,
                })
            }
            Some("indexes") => {
                if !allowed("indexes") {
                    return Ok(Found::Denied);
                }
                Ok(match st.index(&r.id) {
                    Some(i) => Found::Doc(schema(i.def.ts, i.def.fields())),
                    None => Found::Missing,
                })
            }
            Some("roles") => {
                if !allowed("roles") {
                    return Ok(Found::Denied);
                }
                Ok(match st.roles.iter().find(|x| x.name == r.id) {
                    Some(x) => Found::Doc(schema(x.ts, x.fields())),
                    None => Found::Missing,
                })
            }
            Some("databases") => {
                if !allowed("databases") {
                    return Ok(Found::Denied);
                }
                Ok(match st.db(&r.id) {
                    Some(d) => Found::Doc(schema(d.def.ts, d.def.fields())),
                    None => Found::Missing,
                })
            }
            Some("keys") => {
                if !allowed("keys") {
                    return Ok(Found::Denied);
                }
                let found = st
                    .keys
                    .iter()
                    .find(|k| k.id.to_string() == r.id)
                    .map(|k| Found::Doc(schema(k.ts, k.fields())));
                match found {
                    Some(f) => Ok(f),
                    None => {
                        self.last_missing_kind = Some("Key".into());
                        Ok(Found::Missing)
                    }
                }
            }
            _ => Ok(Found::Missing),
        }
    }
}

impl Ev<'_> {
    /// `KeyFromSecret(secret)`: the key with that secret, if it lives in the request's
    /// database or a descendant and may be read (`KeyFromSecretFunction`); else 404
    /// `instance not found` "No key found for secret ….".
    pub fn key_from_secret(
        &mut self,
        n: NodeId,
        args: &[(&'static str, NodeId)],
        env: &Env,
    ) -> R<Val> {
        let (v, node) = self.main_arg(n, F::KeyFromSecret, args, env)?;
        let secret = crate::engine::eval::to_str(&v, node)?;
        let not_found = || {
            err(
                n,
                "instance not found",
                format!("No key found for secret {secret}."),
            )
        };
        let Some((key, path)) = crate::engine::secrets::find_key(self.own(), &secret) else {
            return not_found();
        };
        let r = scoped(Ref::in_native("keys", &key.id.to_string()), &path);
        match self.lookup_ref(r, n) {
            Ok(Found::Doc(d)) => Ok(Val::Doc(d)),
            _ => not_found(),
        }
    }
}
