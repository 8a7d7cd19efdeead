//! Ref constructors: `Collection`, `Index`, native collections, `Ref`, `NewId`.

use fauna_wire::{Ref, Value};

use crate::engine::databases::scoped;
use crate::engine::error::{accumulate, err, expected, R};
use crate::engine::eval::{to_str, Ev};
use crate::engine::parse::{Ast, NodeId, F};
use crate::engine::val::{Env, Val};

impl Ev<'_> {
    /// Evaluates the ref forms.
    pub fn ref_form(
        &mut self,
        n: NodeId,
        f: F,
        args: &[(&'static str, NodeId)],
        env: &Env,
    ) -> R<Val> {
        // `Collections(Database("a"))`: the native collection of a descendant database.
        let native = |ev: &mut Self, name: &str| -> R<Val> {
            let mut r = Ref::native(name);
            r.database = ev.db_arg(args, f.key(), n, env)?;
            Ok(Val::V(Value::Ref(r)))
        };
        let named = |ev: &mut Self, key: &str, parent: &str| -> R<Val> {
            let v = ev.arg(args, key, env)?;
            let s = to_str(&v, Ast::arg(args, key).unwrap_or(n))?;
            let mut r = Ref::in_native(parent, &s);
            r.database = ev.db_arg(args, "scope", n, env)?;
            Ok(Val::V(Value::Ref(r)))
        };
        match f {
            F::Collection => named(self, "collection", "collections"),
            F::Index => named(self, "index", "indexes"),
            F::Database => named(self, "database", "databases"),
            F::Role => named(self, "role", "roles"),
            F::Function => named(self, "function", "functions"),
            F::Collections => native(self, "collections"),
            F::Indexes => native(self, "indexes"),
            F::Databases => native(self, "databases"),
            F::Keys => native(self, "keys"),
            F::Tokens => native(self, "tokens"),
            F::Credentials => native(self, "credentials"),
            F::Functions => native(self, "functions"),
            F::Roles => native(self, "roles"),
            F::AccessProviders => native(self, "access_providers"),
            F::NewId => Ok(Val::V(Value::String(self.ids.next().to_string()))),
            _ => {
                let c = self.arg(args, "ref", env)?;
                let cnode = Ast::arg(args, "ref").unwrap_or(n);
                let Some(idn) = Ast::arg(args, "id") else {
                    return match c {
                        Val::V(Value::String(s)) => legacy_ref(&s)
                            .map(|r| Val::V(Value::Ref(r)))
                            .ok_or_else(|| {
                                crate::engine::error::fail(
                                    cnode,
                                    "invalid expression",
                                    "Invalid ref.",
                                )
                            }),
                        other => expected(cnode, "String", other.type_name()),
                    };
                };
                let idv = self.arg(args, "id", env)?;
                let id = ref_id(&idv, idn);
                // The collection and the id are checked together (`RefFunction`).
                let parent = match c {
                    Val::V(Value::Ref(parent)) => Ok(parent),
                    other => expected(cnode, "Collection Ref", other.type_name()),
                };
                match (parent, id) {
                    (Ok(parent), Ok(id)) => Ok(Val::V(Value::Ref(Ref {
                        id,
                        collection: Some(Box::new(parent)),
                        database: None,
                    }))),
                    (Err(a), Err(b)) => Err(accumulate(Some(a), b).unwrap_or_else(|e| e)),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                }
            }
        }
    }
}

impl Ev<'_> {
    /// The database argument under `key` (`scope` of `Collection(name, scope)`, the argument
    /// of `Collections(scope)`): absent or null, or a ref to an existing database (else
    /// `invalid ref` "Ref refers to undefined database '…'" there).
    fn db_arg(
        &mut self,
        args: &[(&'static str, NodeId)],
        key: &str,
        n: NodeId,
        env: &Env,
    ) -> R<Option<Box<Ref>>> {
        let Some(node) = Ast::arg(args, key) else {
            return Ok(None);
        };
        match self.eval(node, env)? {
            Val::V(Value::Null) => Ok(None),
            Val::V(Value::Ref(db)) if db.native_parent() == Some("databases") => {
                let mut path = self.ref_scope(&db, node)?;
                path.push(db.id.clone());
                self.ref_scope(&scoped(Ref::native("databases"), &path), node)?;
                Ok(Some(Box::new(db)))
            }
            other => expected(
                if node == 0 { n } else { node },
                "Database Ref",
                other.type_name(),
            ),
        }
    }
}

/// The id argument of `Ref(collection, id)`: an integer or a numeric string.
fn ref_id(idv: &Val, idn: NodeId) -> R<String> {
    match idv {
        Val::V(Value::Int(i)) => Ok(i.to_string()),
        Val::V(Value::String(s)) => {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return err(
                    idn,
                    "invalid argument",
                    format!("Number or numeric String expected, non-numeric '{s}' provided."),
                );
            }
            match s.parse::<i64>() {
                Ok(i) => Ok(i.to_string()),
                Err(_) => err(
                    idn,
                    "invalid argument",
                    format!("The id provided is too large: '{s}'"),
                ),
            }
        }
        other => expected(idn, "Number or numeric String", other.type_name()),
    }
}

/// Parses the legacy string ref form `classes/c/1`, `collections/c/1`, `indexes/i`.
fn legacy_ref(s: &str) -> Option<Ref> {
    let parts: Vec<&str> = s.split('/').collect();
    match parts.as_slice() {
        ["classes" | "collections", c, id] => Some(Ref::document(c, id)),
        ["classes" | "collections", c] => Some(Ref::collection(c)),
        ["indexes", i] => Some(Ref::index(i)),
        [native] => Some(Ref::native(native)),
        _ => None,
    }
}
