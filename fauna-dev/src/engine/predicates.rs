//! Role privileges whose action is a `Query(Lambda(…))` predicate. Like the real server
//! (`DynamicPolicy`, `RoleEvalAction.lambdaArgs`), the predicate runs read-only at the snapshot
//! time with unrestricted reads, gets the action's documented arguments, and grants only when
//! it returns `true` (errors deny).

use fauna_wire::{Ref, Value};

use super::eval::{Ev, St};
use super::parse::{self, Kind, Pat};
use super::schema::{KeyRole, Resource};
use super::security::{Act, Identity};
use super::val::{Env, Val};

/// Whether a collection's documents can be read: all of them, each one by its `read`
/// predicate, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// Static `read` or `unrestricted_read` (or an `unrestricted_read` predicate that held).
    All,
    /// Only documents whose `read` predicate holds.
    PerDoc,
    /// None.
    Nothing,
}

impl Ev<'_> {
    /// Checks `act` on `res` statically. In a descendant database (a read scope) only the
    /// built-in roles' reads reach (`Permissions.isInScope`); custom roles and writes hold only
    /// in the request's own database.
    pub fn allows(&self, res: &Resource, act: Act) -> bool {
        if !self.scope.is_empty() && (!act.is_read() || matches!(self.ident.0, KeyRole::Roles(_))) {
            return false;
        }
        self.ident.allows(self.st(), res, act)
    }

    /// The predicates custom roles attach to `act` on `res` (none in a descendant database).
    pub fn role_predicates(&self, res: &Resource, act: Act) -> Vec<&str> {
        if !self.scope.is_empty() {
            return Vec::new();
        }
        self.ident.predicates(self.st(), res, act)
    }

    /// Checks `act` on `res`; a predicate receives `arg(arity)` (arity: the lambda's number
    /// of parameters, 1 for a single name).
    pub fn permits(&self, res: &Resource, act: Act, arg: &dyn Fn(usize) -> Val) -> bool {
        if self.allows(res, act) {
            return true;
        }
        self.role_predicates(res, act)
            .into_iter()
            .any(|q| self.predicate_holds(q, arg))
    }

    /// How each collection's documents (indexed by collection number) may be read through
    /// `index` matched with `terms`: all of them when the index's `unrestricted_read` holds,
    /// else as [`Ev::reader`] says.
    pub fn index_readers(&self, index: &str, terms: &[Value]) -> Vec<Reader> {
        let res = Resource::Index(index.to_string());
        let unrestricted = self.permits(&res, Act::UnrestrictedRead, &|_| {
            Val::V(Value::Array(terms.to_vec()))
        });
        self.st()
            .colls
            .iter()
            .map(|c| {
                if unrestricted {
                    Reader::All
                } else {
                    self.reader(&c.def.name)
                }
            })
            .collect()
    }

    /// How documents of collection `cname` may be read.
    pub fn reader(&self, cname: &str) -> Reader {
        let res = Resource::Coll(cname.to_string());
        if self.permits(&res, Act::UnrestrictedRead, &|_| Val::V(Value::Null))
            || self.allows(&res, Act::Read)
        {
            return Reader::All;
        }
        if self.role_predicates(&res, Act::Read).is_empty() {
            Reader::Nothing
        } else {
            Reader::PerDoc
        }
    }

    /// Whether the document `r` of `cname` is readable under `reader`.
    pub fn reads(&self, reader: Reader, cname: &str, r: &Ref) -> bool {
        match reader {
            Reader::All => true,
            Reader::Nothing => false,
            Reader::PerDoc => self.permits(&Resource::Coll(cname.to_string()), Act::Read, &|_| {
                Val::V(Value::Ref(r.clone()))
            }),
        }
    }

    fn predicate_holds(&self, query: &str, arg: &dyn Fn(usize) -> Val) -> bool {
        let Ok(Value::Object(mut o)) = fauna_wire::decode_json(query.as_bytes()) else {
            return false;
        };
        o.shift_remove("api_version");
        let Ok(ast) = parse::parse(&Value::Object(o)) else {
            return false;
        };
        let ident = Identity(KeyRole::ServerReadOnly);
        let mut ev = Ev {
            ast: &ast,
            st: St::R(self.st()),
            opts: self.opts,
            ids: self.ids,
            ident: &ident,
            txn_ts: self.txn_ts,
            valid_ts: None,
            legacy: false,
            undo: Vec::new(),
            last_missing_kind: None,
            read_only: true,
            deadline: self.deadline,
            steps: 0,
            meter: self.meter,
            scope: Vec::new(),
        };
        let Ok(lambda) = ev.eval(0, &Env::None) else {
            return false;
        };
        let arity = match &lambda {
            Val::Lambda(l) => match &ast.node(l.node).kind {
                Kind::Lambda(Pat::Arr(ps), ..) => ps.len(),
                _ => 1,
            },
            _ => return false,
        };
        matches!(
            ev.apply(&lambda, arg(arity), 0),
            Ok(Val::V(Value::Bool(true)))
        )
    }
}
