//! Reads in descendant databases: a ref or set carrying a `database` is read inside that
//! database ([`Ev::scope`]), and the refs of the answer are given their `database` back, as
//! the real server renders refs of other scopes (`Renderable.scopeRef`). Writes never reach
//! another database: `Cannot write a scoped ref.`

use std::rc::Rc;

use fauna_wire::{Ref, Value};

use super::databases::{scope_of, scoped};
use super::error::{err, fail, R};
use super::eval::Ev;
use super::parse::NodeId;
use super::val::{PageV, SetV, Val};

impl Ev<'_> {
    /// The path of the database `r` lives in, relative to the read scope; `invalid ref`
    /// "Ref refers to undefined database '…'" if one of them does not exist.
    pub fn ref_scope(&self, r: &Ref, node: NodeId) -> R<Vec<String>> {
        let path = scope_of(r);
        let mut st = self.st();
        for name in &path {
            st = &st
                .db(name)
                .ok_or_else(|| {
                    fail(
                        node,
                        "invalid ref",
                        format!("Ref refers to undefined database '{name}'"),
                    )
                })?
                .state;
        }
        Ok(path)
    }

    /// Runs `f` with reads inside the descendant database at `path` (relative to the read
    /// scope).
    pub fn in_scope<T>(&mut self, path: &[String], f: impl FnOnce(&mut Self) -> R<T>) -> R<T> {
        if path.is_empty() {
            return f(self);
        }
        let depth = self.scope.len();
        self.scope.extend(path.iter().cloned());
        let out = f(self);
        self.scope.truncate(depth);
        out
    }

    /// `invalid argument` "Cannot write a scoped ref." when `r` lives in another database.
    pub fn check_unscoped(&self, r: &Ref, node: NodeId) -> R<()> {
        if scope_of(r).is_empty() {
            Ok(())
        } else {
            err(node, "invalid argument", "Cannot write a scoped ref.")
        }
    }
}

/// A set over `inner`, read in the database at `path` (`inner` itself when `path` is empty).
pub fn scoped_set(path: Vec<String>, inner: SetV) -> SetV {
    if path.is_empty() {
        inner
    } else {
        SetV::Scoped(path, Rc::new(inner))
    }
}

/// Wraps `set` with `wrap`, keeping a scope outermost so a whole set is read in one database.
pub fn lift(set: Rc<SetV>, wrap: impl FnOnce(Rc<SetV>) -> SetV) -> Rc<SetV> {
    match &*set {
        SetV::Scoped(path, inner) => Rc::new(SetV::Scoped(path.clone(), lift(inner.clone(), wrap))),
        _ => Rc::new(wrap(set)),
    }
}

/// Gives every ref in `v` (an answer read inside the database at `path`) its `database`.
pub fn rescope(v: &mut Val, path: &[String]) {
    if path.is_empty() {
        return;
    }
    match v {
        Val::V(x) => rescope_value(x, path),
        Val::Arr(a) => a.iter_mut().for_each(|x| rescope(x, path)),
        Val::Obj(o) => o.iter_mut().for_each(|(_, x)| rescope(x, path)),
        Val::Page(p) => rescope_page(Rc::make_mut(p), path),
        Val::Doc(_) | Val::Set(_) | Val::Lambda(_) => {}
    }
}

/// [`rescope`] for a page: data and cursors.
pub fn rescope_page(p: &mut PageV, path: &[String]) {
    for v in p.before.iter_mut().chain(p.after.iter_mut()) {
        rescope(v, path);
    }
    p.data.iter_mut().for_each(|x| rescope(x, path));
}

fn rescope_value(v: &mut Value, path: &[String]) {
    match v {
        Value::Ref(r) => *r = scoped(std::mem::replace(r, Ref::native("")), path),
        Value::Array(a) => a.iter_mut().for_each(|x| rescope_value(x, path)),
        Value::Object(o) => o.values_mut().for_each(|x| rescope_value(x, path)),
        _ => {}
    }
}
