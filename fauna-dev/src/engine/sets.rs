//! Set constructors: `Documents`, `Match`, `Range`, `Events`, `Singleton`, and turning a
//! value into a set for `Paginate`/`Count`.

use std::rc::Rc;

use fauna_wire::{Ref, Value};

use super::databases::{scope_of, unscoped};
use super::error::{accumulate, denied, err, expected, fail, R};
use super::eval::Ev;
use super::paginate::is_events;
use super::parse::{Ast, NodeId, F};
use super::schema::Resource;
use super::scope::{lift, scoped_set};
use super::security::Act;
use super::val::{Env, SetV, Val};

/// The kind of item a native collection holds, as `invalid ref` errors name it.
fn ref_kind(native: &str) -> &'static str {
    match native {
        "collections" => "collection",
        "indexes" => "index",
        "databases" => "database",
        "roles" => "role",
        "functions" => "function",
        "keys" => "key",
        "access_providers" => "access_provider",
        _ => "",
    }
}

/// `invalid argument` "Set does not support events history.".
pub fn no_events<T>(node: NodeId) -> R<T> {
    err(
        node,
        "invalid argument",
        "Set does not support events history.",
    )
}

impl Ev<'_> {
    /// Evaluates the set forms.
    pub fn set_form(
        &mut self,
        n: NodeId,
        f: F,
        args: &[(&'static str, NodeId)],
        env: &Env,
    ) -> R<Val> {
        match f {
            F::Documents => {
                let v = self.arg(args, "documents", env)?;
                let node = Ast::arg(args, "documents").unwrap_or(n);
                let path = match &v {
                    Val::V(Value::Ref(r)) => {
                        self.check_ref_defined(r, node)?;
                        self.ref_scope(r, node)?
                    }
                    _ => Vec::new(),
                };
                let name = self.in_scope(&path, |ev| {
                    let c = ev.coll_of(&v, node)?;
                    Ok(ev.coll_def(c).name.clone())
                })?;
                Ok(Val::Set(Rc::new(scoped_set(path, SetV::Documents(name)))))
            }
            F::Match => {
                let (idx_key, terms_key) = if Ast::arg(args, "index").is_some() {
                    ("index", Some("match"))
                } else {
                    ("match", Ast::arg(args, "terms").map(|_| "terms"))
                };
                let iv = self.arg(args, idx_key, env)?;
                let inode = Ast::arg(args, idx_key).unwrap_or(n);
                let (name, path) = match &iv {
                    Val::V(Value::Ref(r)) if r.native_parent() == Some("indexes") => {
                        self.check_ref_defined(r, inode)?;
                        (r.id.clone(), self.ref_scope(r, inode)?)
                    }
                    Val::V(Value::String(s)) => (s.clone(), Vec::new()),
                    other => return expected(inode, "Index Ref", other.type_name()),
                };
                let (terms, raw) = match terms_key {
                    Some(k) => {
                        let tv = self.arg(args, k, env)?.to_value();
                        let terms = match &tv {
                            Value::Array(a) => a.clone(),
                            other => vec![other.clone()],
                        };
                        (terms, Some(tv))
                    }
                    None => (Vec::new(), None),
                };
                let set = self.in_scope(&path, |ev| ev.match_set(n, inode, name, terms, raw))?;
                Ok(Val::Set(Rc::new(scoped_set(path, set))))
            }
            F::Range => {
                let s = self.arg(args, "range", env)?;
                let snode = Ast::arg(args, "range").unwrap_or(n);
                let set = self.as_set(s, snode)?;
                if is_events(&set) {
                    return no_events(snode);
                }
                let from = self.arg(args, "from", env)?.to_value();
                let to = self.arg(args, "to", env)?.to_value();
                // Both bounds are parsed as cursors and their errors reported together
                // (`FunctionAdapters.Range`): a ref to an undefined collection is `invalid ref`.
                let mut failed = None;
                for (bound, key) in [(&from, "from"), (&to, "to")] {
                    if let Value::Ref(r) = bound {
                        let node = Ast::arg(args, key).unwrap_or(n);
                        if let Err(f) = self.check_ref_defined(r, node) {
                            failed = Some(accumulate(failed, f)?);
                        }
                    }
                }
                if let Some(f) = failed {
                    return Err(f);
                }
                let vec = |v: &Value| match v {
                    Value::Array(a) => a.clone(),
                    other => vec![other.clone()],
                };
                Ok(Val::Set(lift(set, |set| SetV::Range {
                    set,
                    from: vec(&from),
                    to: vec(&to),
                    raw: (from, to),
                })))
            }
            F::Events => {
                let v = self.arg(args, "events", env)?;
                let node = Ast::arg(args, "events").unwrap_or(n);
                let set = self.as_set(v, node)?;
                self.events_of(set, n).map(Val::Set)
            }
            _ => {
                let v = self.arg(args, "singleton", env)?;
                let node = Ast::arg(args, "singleton").unwrap_or(n);
                match v {
                    Val::V(Value::Ref(r)) => Ok(Val::Set(Rc::new(SetV::Singleton(r)))),
                    other => expected(node, "Ref", other.type_name()),
                }
            }
        }
    }

    /// Wraps a set in `Events`, rejecting sets without history.
    pub fn events_of(&self, set: Rc<SetV>, node: NodeId) -> R<Rc<SetV>> {
        let inner = match &*set {
            SetV::Scoped(_, inner) => inner,
            _ => &set,
        };
        match &**inner {
            SetV::Native(n) if n == "databases" => Ok(lift(set, SetV::Events)),
            SetV::Range { .. } | SetV::Events(_) | SetV::Native(_) | SetV::Filter { .. } => {
                no_events(node)
            }
            _ => Ok(lift(set, SetV::Events)),
        }
    }

    /// A value used where a set is expected: sets, document refs, native collection refs
    /// (in the request's database or a descendant).
    pub fn as_set(&mut self, v: Val, node: NodeId) -> R<Rc<SetV>> {
        match v {
            Val::Set(s) => Ok(s),
            Val::V(Value::Ref(r)) => {
                self.check_ref_defined(&r, node)?;
                let path = self.ref_scope(&r, node)?;
                let r = unscoped(r);
                if r.is_native() {
                    return Ok(Rc::new(scoped_set(path, SetV::Native(r.id))));
                }
                Ok(Rc::new(scoped_set(path, SetV::Doc(r))))
            }
            other => expected(node, "Set or Ref", other.type_name()),
        }
    }

    /// `Match(index, terms)` in the read scope: the index must exist and be readable.
    fn match_set(
        &mut self,
        n: NodeId,
        inode: NodeId,
        name: String,
        terms: Vec<Value>,
        raw: Option<Value>,
    ) -> R<SetV> {
        if self.st().index(&name).is_none() {
            return err(
                inode,
                "invalid ref",
                format!("Ref refers to undefined index '{name}'"),
            );
        }
        // Index predicates receive the terms array.
        let res = Resource::Index(name.clone());
        let arg = |_| Val::V(Value::Array(terms.clone()));
        if !self.permits(&res, Act::Read, &arg) && !self.permits(&res, Act::UnrestrictedRead, &arg)
        {
            return Err(denied(n));
        }
        Ok(SetV::Match {
            index: name,
            terms,
            raw,
        })
    }

    /// `invalid ref` when a document ref's collection (or a schema ref) is undefined (in the
    /// database the ref lives in).
    pub fn check_ref_defined(&mut self, r: &Ref, node: NodeId) -> R<()> {
        // An unknown database makes the ref itself unresolved: the error names the ref
        // (`UnresolvedRefError` of the parsed ref), a native collection its database.
        let path = self.ref_scope(r, node).map_err(|e| {
            let (kind, name) = match (r.collection.as_deref(), r.native_parent()) {
                (None, _) => ("database", scope_of(r).pop().unwrap_or_default()),
                (Some(c), None) => ("collection", c.id.clone()),
                (_, Some(native)) => (ref_kind(native), r.id.clone()),
            };
            if kind.is_empty() {
                return e;
            }
            fail(
                node,
                "invalid ref",
                format!("Ref refers to undefined {kind} '{name}'"),
            )
        })?;
        if path.is_empty() {
            return self.check_defined_here(r, node);
        }
        let r = unscoped(r.clone());
        self.in_scope(&path, |ev| ev.check_defined_here(&r, node))
    }

    fn check_defined_here(&self, r: &Ref, node: NodeId) -> R<()> {
        let undefined = |kind: &str, name: &str| {
            Err(fail(
                node,
                "invalid ref",
                format!("Ref refers to undefined {kind} '{name}'"),
            ))
        };
        match r.native_parent() {
            Some("collections") if self.st().coll(&r.id).is_none() => {
                undefined("collection", &r.id)
            }
            Some("indexes") if self.st().index(&r.id).is_none() => undefined("index", &r.id),
            Some("roles") if !self.st().roles.iter().any(|x| x.name == r.id) => {
                undefined("role", &r.id)
            }
            Some("databases") if self.st().db(&r.id).is_none() => undefined("database", &r.id),
            Some(_) => Ok(()),
            None => match r.collection.as_deref() {
                Some(c)
                    if c.native_parent() == Some("collections")
                        && self.st().coll(&c.id).is_none() =>
                {
                    undefined("collection", &c.id)
                }
                _ => Ok(()),
            },
        }
    }
}
