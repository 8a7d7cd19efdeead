//! The evaluator: walks the expression tree against one consistent state.

use std::rc::Rc;
use std::time::Instant;

use fauna_wire::{PathStep, Value};

use super::databases::{DbData, DbDef};
use super::error::{accumulate, err, expected, fail, Failure, R};
use super::ids::IdSource;
use super::meter::Meter;
use super::parse::{Ast, Kind, NodeId, Pat, F};
use super::schema::{CollDef, KeyDef};
use super::security::Identity;
use super::store::{DocHist, State};
use super::val::{bind, lookup, Env, LambdaV, Val};
use super::EngineOptions;

/// Read-only or writable access to the state.
pub enum St<'a> {
    /// A read snapshot.
    R(&'a State),
    /// The state under the write lock.
    W(&'a mut State),
}

/// How to roll back one applied write.
pub enum Undo {
    /// Restore a document's history.
    Doc(u32, i64, Option<DocHist>),
    /// Drop the last collection.
    PopColl,
    /// Drop the last index.
    PopIndex,
    /// Drop the last role.
    PopRole,
    /// Drop the last key.
    PopKey,
    /// Drop the last child database.
    PopDb,
    /// Put back a child database at its position (undoes a delete).
    InsertDb(usize, Box<DbData>),
    /// Restore a child database's definition.
    DbDef(usize, DbDef),
    /// Restore the whole list of keys.
    Keys(Vec<KeyDef>),
    /// Drop the `Databases()` events from this position on.
    DbEvents(usize),
    /// Restore a collection definition.
    CollDef(u32, CollDef),
}

/// Evaluation context of one query.
pub struct Ev<'a> {
    /// The parsed request.
    pub ast: &'a Ast,
    /// The state.
    pub st: St<'a>,
    /// Engine options.
    pub opts: &'a EngineOptions,
    /// Id generator.
    pub ids: &'a IdSource,
    /// Who is asking.
    pub ident: &'a Identity,
    /// Transaction (or snapshot) time.
    pub txn_ts: i64,
    /// Valid-time override from `At`.
    pub valid_ts: Option<i64>,
    /// Render for API 2.0/2.1.
    pub legacy: bool,
    /// Undo log of applied writes.
    pub undo: Vec<Undo>,
    /// What the last failed lookup was looking for ("Set", "Key"; default "Document").
    pub last_missing_kind: Option<String>,
    /// A `GET /?q=` query: write forms fail.
    pub read_only: bool,
    /// When evaluation times out.
    pub deadline: Option<Instant>,
    /// Evaluation steps so far (the deadline is checked every [`DEADLINE_EVERY`] steps).
    pub steps: u32,
    /// Billing counters.
    pub meter: &'a Meter,
    /// The descendant database reads happen in, relative to the request's (empty: its own).
    pub scope: Vec<String>,
}

/// An empty database: what a read scope that vanished mid-query reads.
fn empty_state() -> &'static State {
    static EMPTY: std::sync::OnceLock<State> = std::sync::OnceLock::new();
    EMPTY.get_or_init(State::default)
}

/// How many evaluation steps pass between two deadline checks.
const DEADLINE_EVERY: u32 = 64;

/// `503 time out`: the query ran past its `X-Query-Timeout` (the real server's
/// `TimeoutException("Query eval has timed out.")` rendered by `exceptionToResponse`).
pub fn timed_out() -> Failure {
    Failure::Plain {
        status: 503,
        code: "time out",
        description: "Read timed out (Query eval has timed out.)".into(),
    }
}

impl<'a> Ev<'a> {
    /// The state for reading: the request's database, or the descendant in [`Ev::scope`].
    pub fn st(&self) -> &State {
        let own: &State = match &self.st {
            St::R(s) => s,
            St::W(s) => s,
        };
        if self.scope.is_empty() {
            return own;
        }
        own.sub(&self.scope).unwrap_or_else(|| empty_state())
    }

    /// The request's own database, whatever the read scope.
    pub fn own(&self) -> &State {
        match &self.st {
            St::R(s) => s,
            St::W(s) => s,
        }
    }

    /// The state for writing (only in write transactions).
    pub fn st_mut(&mut self, node: NodeId) -> R<&mut State> {
        if self.valid_ts.is_some() {
            return err(
                node,
                "invalid write time",
                "Cannot write outside of snapshot time.",
            );
        }
        match &mut self.st {
            St::W(s) => Ok(s),
            St::R(_) => err(node, "invalid expression", "Write in a read-only context."),
        }
    }

    /// The valid time reads happen at.
    pub fn read_ts(&self) -> i64 {
        self.valid_ts.unwrap_or(self.txn_ts)
    }

    /// Rolls back all applied writes.
    pub fn rollback(&mut self) {
        let undo = std::mem::take(&mut self.undo);
        let St::W(st) = &mut self.st else { return };
        for u in undo.into_iter().rev() {
            match u {
                Undo::Doc(c, id, h) => {
                    st.set_history(c, id, h);
                }
                Undo::PopColl => {
                    if let Some(c) = st.colls.pop() {
                        st.coll_names.remove(&c.def.name);
                    }
                }
                Undo::PopIndex => {
                    if let Some(i) = st.indexes.pop() {
                        st.index_names.remove(&i.def.name);
                    }
                }
                Undo::PopRole => {
                    st.roles.pop();
                }
                Undo::PopKey => {
                    st.keys.pop();
                }
                Undo::PopDb => {
                    st.dbs.pop();
                }
                Undo::InsertDb(i, db) => st.dbs.insert(i.min(st.dbs.len()), *db),
                Undo::DbDef(i, def) => {
                    if let Some(d) = st.dbs.get_mut(i) {
                        d.def = def;
                    }
                }
                Undo::Keys(keys) => st.keys = keys,
                Undo::DbEvents(len) => st.db_events.truncate(len),
                Undo::CollDef(c, d) => {
                    if let Some(cd) = st.colls.get_mut(c as usize) {
                        cd.def = d;
                    }
                }
            }
        }
    }

    /// Fails with [`timed_out`] once the deadline has passed.
    pub fn check_deadline(&self) -> R<()> {
        match self.deadline {
            Some(d) if Instant::now() >= d => Err(timed_out()),
            _ => Ok(()),
        }
    }

    /// Evaluates a node.
    pub fn eval(&mut self, n: NodeId, env: &Env) -> R<Val> {
        if self.steps.is_multiple_of(DEADLINE_EVERY) {
            self.check_deadline()?;
        }
        self.steps = self.steps.wrapping_add(1);
        let ast = self.ast;
        match &ast.node(n).kind {
            Kind::Lit(v) => Ok(Val::V(v.clone())),
            Kind::Arr(items) => {
                // Like the server's `evalList`: every element is evaluated, errors accumulate.
                let mut out = Vec::with_capacity(items.len());
                let mut failed = None;
                for i in items {
                    match self.eval(*i, env) {
                        Ok(v) => out.push(v),
                        Err(f) => failed = Some(accumulate(failed, f)?),
                    }
                }
                failed.map_or(Ok(Val::Arr(out)), Err)
            }
            Kind::Obj(fields) => {
                let mut out = Vec::with_capacity(fields.len());
                let mut failed = None;
                for (k, i) in fields {
                    match self.eval(*i, env) {
                        Ok(v) => out.push((k.clone(), v)),
                        Err(f) => failed = Some(accumulate(failed, f)?),
                    }
                }
                failed.map_or(Ok(Val::Obj(out)), Err)
            }
            Kind::Var(name) => lookup(env, name).cloned().ok_or_else(|| {
                fail(
                    n,
                    "invalid expression",
                    format!("Variable '{name}' is not defined."),
                )
            }),
            Kind::Let(binds, body) => {
                let mut e = env.clone();
                for (name, b) in binds {
                    let v = self.eval(*b, &e)?;
                    e = bind(&e, name.clone(), v);
                }
                self.eval(*body, &e)
            }
            Kind::Lambda(_, _, raw) => Ok(Val::Lambda(Rc::new(LambdaV {
                node: n,
                env: env.clone(),
                raw: raw.clone(),
            }))),
            Kind::Call(f, args) => self.call(n, *f, args, env),
        }
    }

    /// Evaluates a required argument.
    pub fn arg(&mut self, args: &[(&'static str, NodeId)], key: &str, env: &Env) -> R<Val> {
        match Ast::arg(args, key) {
            Some(a) => self.eval(a, env),
            None => Ok(Val::V(Value::Null)),
        }
    }

    /// Evaluates form `f`'s own argument (the one under its key) and gives its node, where
    /// errors about it are positioned (the form's node `n` when it is absent).
    pub fn main_arg(
        &mut self,
        n: NodeId,
        f: F,
        args: &[(&'static str, NodeId)],
        env: &Env,
    ) -> R<(Val, NodeId)> {
        let key = f.key();
        Ok((self.arg(args, key, env)?, Ast::arg(args, key).unwrap_or(n)))
    }

    /// Evaluates an optional argument.
    pub fn opt(
        &mut self,
        args: &[(&'static str, NodeId)],
        key: &str,
        env: &Env,
    ) -> R<Option<(Val, NodeId)>> {
        match Ast::arg(args, key) {
            Some(a) => Ok(Some((self.eval(a, env)?, a))),
            None => Ok(None),
        }
    }

    /// Applies a lambda to one argument.
    pub fn apply(&mut self, lam: &Val, arg: Val, node: NodeId) -> R<Val> {
        let Val::Lambda(l) = lam else {
            return err(
                node,
                "invalid expression",
                format!("Lambda expected, {} provided.", lam.type_name()),
            );
        };
        let ast = self.ast;
        let Kind::Lambda(pat, body, _) = &ast.node(l.node).kind else {
            return err(node, "invalid expression", "Invalid lambda.");
        };
        let mut env = l.env.clone();
        self.bind_pat(pat, arg, &mut env, node)?;
        self.eval(*body, &env)
    }

    fn bind_pat(&mut self, pat: &Pat, arg: Val, env: &mut Env, node: NodeId) -> R<()> {
        match pat {
            Pat::Ignore => Ok(()),
            Pat::Name(n) => {
                *env = bind(env, n.clone(), arg);
                Ok(())
            }
            Pat::Arr(ps) => {
                let provided = arg.type_name();
                let Some(items) = arg.into_vec() else {
                    return expected(node, "Array", provided);
                };
                if items.len() != ps.len() {
                    return err(
                        node,
                        "invalid argument",
                        format!(
                            "Lambda expects an array with {} elements. Array contains {}.",
                            ps.len(),
                            items.len()
                        ),
                    );
                }
                for (p, v) in ps.iter().zip(items) {
                    self.bind_pat(p, v, env, node)?;
                }
                Ok(())
            }
        }
    }

    fn call(&mut self, n: NodeId, f: F, args: &[(&'static str, NodeId)], env: &Env) -> R<Val> {
        self.meter.call();
        if self.read_only && f.writes() {
            // The real server's effect check (`InvalidEffect`) before the call runs.
            return err(
                n,
                "invalid expression",
                "Call performs a write, which is not allowed in get requests.",
            );
        }
        match f {
            F::If => {
                let c = self.arg(args, "if", env)?;
                let node = Ast::arg(args, "if").unwrap_or(n);
                let b = to_bool(&c, node)?;
                self.arg(args, if b { "then" } else { "else" }, env)
            }
            F::Do => {
                let Some(a) = Ast::arg(args, "do") else {
                    return Ok(Val::V(Value::Null));
                };
                match &self.ast.node(a).kind {
                    Kind::Arr(items) => {
                        let mut last = Val::V(Value::Null);
                        for i in items {
                            last = self.eval(*i, env)?;
                        }
                        Ok(last)
                    }
                    _ => self.eval(a, env),
                }
            }
            F::Equals => {
                let vs = self.varargs(args, "equals", env)?;
                let first = vs.first().map(Val::to_value);
                Ok(Val::V(Value::Bool(
                    vs.iter().skip(1).all(|v| Some(v.to_value()) == first),
                )))
            }
            F::Add => {
                let node = Ast::arg(args, "add").unwrap_or(n);
                let vs = self.varargs(args, "add", env)?;
                let (mut int, mut double, mut is_double) = (0i64, 0f64, false);
                for (i, v) in vs.iter().enumerate() {
                    match v.to_value() {
                        Value::Int(x) => {
                            int = int.wrapping_add(x);
                            double += x as f64;
                        }
                        Value::Double(x) => {
                            is_double = true;
                            double += x;
                        }
                        other => {
                            let at = self.ast.element(node, i).unwrap_or(node);
                            return expected(at, "Number", super::parse::value_type(&other));
                        }
                    }
                }
                Ok(Val::V(if is_double {
                    Value::Double(double)
                } else {
                    Value::Int(int)
                }))
            }
            F::And | F::Or => {
                let key = f.key();
                let node = Ast::arg(args, key).unwrap_or(n);
                let vs = self.varargs(args, key, env)?;
                let mut acc = f == F::And;
                for v in &vs {
                    let b = to_bool(v, node)?;
                    acc = if f == F::And { acc && b } else { acc || b };
                }
                Ok(Val::V(Value::Bool(acc)))
            }
            F::Not => {
                let v = self.arg(args, "not", env)?;
                Ok(Val::V(Value::Bool(!to_bool(
                    &v,
                    Ast::arg(args, "not").unwrap_or(n),
                )?)))
            }
            F::Abort => {
                let v = self.arg(args, "abort", env)?;
                let node = Ast::arg(args, "abort").unwrap_or(n);
                let msg = to_str(&v, node)?;
                err(n, "transaction aborted", msg)
            }
            F::Format => self.format(n, args, env),
            F::Select | F::SelectAll => self.select(n, f, args, env),
            F::Map | F::Filter | F::Foreach => self.map_like(n, f, args, env),
            F::Count | F::IsEmpty | F::IsNonEmpty | F::Sum | F::Mean => {
                self.count_like(n, f, args, env)
            }
            F::KeyFromSecret => self.key_from_secret(n, args, env),
            F::Query => {
                let v = self.arg(args, "query", env)?;
                match v {
                    Val::Lambda(_) => Ok(v),
                    other => err(
                        Ast::arg(args, "query").unwrap_or(n),
                        "invalid argument",
                        format!("Lambda expected, {} provided.", other.type_name()),
                    ),
                }
            }
            F::Now | F::ToMicros | F::Time | F::Date | F::Epoch => self.time_form(n, f, args, env),
            F::Collection
            | F::Index
            | F::Database
            | F::Role
            | F::Function
            | F::Collections
            | F::Indexes
            | F::Databases
            | F::Keys
            | F::Tokens
            | F::Credentials
            | F::Functions
            | F::Roles
            | F::AccessProviders
            | F::Ref
            | F::NewId => self.ref_form(n, f, args, env),
            F::Documents | F::Match | F::Range | F::Events | F::Singleton => {
                self.set_form(n, f, args, env)
            }
            F::Paginate => self.paginate(n, args, env),
            F::Get | F::Exists => self.get_form(n, f, args, env),
            F::At => {
                let t = self.arg(args, "at", env)?;
                let node = Ast::arg(args, "at").unwrap_or(n);
                let ts = to_micros(&t, node)?;
                let saved = self.valid_ts;
                self.valid_ts = if ts >= self.txn_ts { None } else { Some(ts) };
                let r = self.arg(args, "expr", env);
                self.valid_ts = saved;
                r
            }
            F::CreateCollection
            | F::CreateIndex
            | F::CreateRole
            | F::CreateKey
            | F::CreateDatabase => self.schema_write(n, f, args, env),
            F::Create | F::Update | F::Replace | F::Delete | F::Insert | F::Remove => {
                self.doc_write(n, f, args, env)
            }
        }
    }

    /// A variadic argument: an array's elements, or a single value.
    pub fn varargs(
        &mut self,
        args: &[(&'static str, NodeId)],
        key: &str,
        env: &Env,
    ) -> R<Vec<Val>> {
        let v = self.arg(args, key, env)?;
        Ok(match v {
            Val::Arr(a) => a,
            Val::V(Value::Array(a)) => a.into_iter().map(Val::V).collect(),
            other => vec![other],
        })
    }

    fn select(&mut self, n: NodeId, f: F, args: &[(&'static str, NodeId)], env: &Env) -> R<Val> {
        let (path_v, pnode) = self.main_arg(n, f, args, env)?;
        let from = self.arg(args, "from", env)?;
        let all_v = self.opt(args, "all", env)?;
        let mut keys: Vec<Value> = Vec::new();
        match path_v {
            Val::V(v @ (Value::String(_) | Value::Int(_))) => keys.push(v),
            other => {
                let t = other.type_name();
                let Some(items) = other.into_vec() else {
                    return expected(pnode, "Path", t);
                };
                for i in items {
                    match i {
                        Val::V(v @ (Value::String(_) | Value::Int(_))) => keys.push(v),
                        o => return expected(pnode, "Integer or String", o.type_name()),
                    }
                }
            }
        }
        let steps: Vec<PathStep> = keys
            .iter()
            .map(|k| match k {
                Value::Int(i) => PathStep::Index(*i),
                Value::String(s) => PathStep::Key(s),
                _ => PathStep::Index(-1),
            })
            .collect();
        let all = match all_v {
            Some((v, node)) => to_bool(&v, node)?,
            None => f == F::SelectAll,
        };
        if all {
            return Ok(super::select::select_all(&from, &steps));
        }
        if let Some(v) = super::select::value_at_path(&from, &steps, false) {
            return Ok(v);
        }
        if let Some(d) = Ast::arg(args, "default") {
            return self.eval(d, env);
        }
        let shown: Vec<String> = keys
            .iter()
            .map(|k| match k {
                Value::Int(i) => i.to_string(),
                Value::String(s) => s.clone(),
                _ => String::new(),
            })
            .collect();
        err(
            Ast::arg(args, "from").unwrap_or(n),
            "value not found",
            format!("Value not found at path [{}].", shown.join(",")),
        )
    }

    fn format(&mut self, n: NodeId, args: &[(&'static str, NodeId)], env: &Env) -> R<Val> {
        let fv = self.arg(args, "format", env)?;
        let fmt = to_str(&fv, Ast::arg(args, "format").unwrap_or(n))?;
        let vals = if Ast::arg(args, "values").is_some() {
            self.varargs(args, "values", env)?
        } else {
            Vec::new()
        };
        let mut out = String::new();
        let mut it = vals.iter();
        let mut chars = fmt.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('%') => out.push('%'),
                Some('n') => out.push('\n'),
                Some(conv @ ('s' | 'S' | 'd' | 'f' | 'b' | 't' | '@')) => {
                    let Some(v) = it.next() else {
                        return err(
                            n,
                            "invalid argument",
                            format!("Missing format argument for '%{conv}'."),
                        );
                    };
                    let s = format_value(v);
                    out.push_str(&if conv == 'S' { s.to_uppercase() } else { s });
                }
                Some(other) => {
                    return err(
                        n,
                        "invalid argument",
                        format!("Invalid conversion format '{other}'."),
                    )
                }
                None => return err(n, "invalid argument", "Invalid conversion format ''."),
            }
        }
        Ok(Val::V(Value::String(out)))
    }

    fn map_like(&mut self, n: NodeId, f: F, args: &[(&'static str, NodeId)], env: &Env) -> R<Val> {
        let (lam, lnode) = self.main_arg(n, f, args, env)?;
        if !matches!(lam, Val::Lambda(_)) {
            return err(
                lnode,
                "invalid expression",
                format!("Lambda expected, {} provided.", lam.type_name()),
            );
        }
        let coll = self.arg(args, "collection", env)?;
        let cnode = Ast::arg(args, "collection").unwrap_or(n);
        let (items, page) = match coll {
            Val::Set(s) if f == F::Filter => return self.filter_set(s, lam, lnode),
            Val::Page(p) => {
                let p = Rc::try_unwrap(p).unwrap_or_else(|rc| (*rc).clone());
                let mut p = p;
                let data = std::mem::take(&mut p.data);
                (data, Some(p))
            }
            other => {
                let t = other.type_name();
                match other.into_vec() {
                    Some(v) => (v, None),
                    None => return expected(cnode, "Array or Page", t),
                }
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            match f {
                F::Map => out.push(self.apply(&lam, it, lnode)?),
                F::Filter => {
                    let keep = self.apply(&lam, it.clone(), lnode)?;
                    if to_bool(&keep, lnode)? {
                        out.push(it);
                    }
                }
                _ => {
                    self.apply(&lam, it.clone(), lnode)?;
                    out.push(it);
                }
            }
        }
        Ok(match page {
            Some(mut p) => {
                p.data = out;
                Val::Page(Rc::new(p))
            }
            None => Val::Arr(out),
        })
    }

    /// Looks up a user collection by a ref value; `invalid ref` if undefined.
    pub fn coll_of(&self, v: &Val, node: NodeId) -> R<u32> {
        match v {
            Val::V(Value::Ref(r)) if r.native_parent() == Some("collections") => {
                self.st().coll(&r.id).ok_or_else(|| {
                    fail(
                        node,
                        "invalid ref",
                        format!("Ref refers to undefined collection '{}'", r.id),
                    )
                })
            }
            other => expected(node, "Collection Ref", other.type_name()),
        }
    }

    /// Schema backups for undo.
    pub fn push_undo(&mut self, u: Undo) {
        self.undo.push(u);
    }

    /// The named user collection's definition.
    pub fn coll_def(&self, c: u32) -> &CollDef {
        &self.st().colls[c as usize].def
    }
}

/// Casts to a boolean.
pub fn to_bool(v: &Val, node: NodeId) -> R<bool> {
    match v {
        Val::V(Value::Bool(b)) => Ok(*b),
        o => expected(node, "Boolean", o.type_name()),
    }
}

/// Casts to a string.
pub fn to_str(v: &Val, node: NodeId) -> R<String> {
    match v {
        Val::V(Value::String(s)) => Ok(s.clone()),
        o => expected(node, "String", o.type_name()),
    }
}

/// Casts to an integer.
pub fn to_int(v: &Val, node: NodeId) -> R<i64> {
    match v {
        Val::V(Value::Int(i)) => Ok(*i),
        o => expected(node, "Integer", o.type_name()),
    }
}

/// Casts a time argument (integer micros or `@ts`) to micros.
pub fn to_micros(v: &Val, node: NodeId) -> R<i64> {
    match v {
        Val::V(Value::Int(i)) => Ok(*i),
        Val::V(Value::Timestamp(t)) => Ok(t.to_micros().unwrap_or(i64::MAX)),
        o => expected(node, "Integer or Time", o.type_name()),
    }
}

fn format_value(v: &Val) -> String {
    match v {
        Val::V(Value::String(s)) => s.clone(),
        Val::V(Value::Int(i)) => i.to_string(),
        Val::V(Value::Double(d)) => fauna_wire::java_double(*d),
        Val::V(Value::Bool(b)) => b.to_string(),
        Val::V(Value::Null) => "null".into(),
        Val::V(Value::Timestamp(t)) => t.to_string(),
        Val::V(Value::Date(d)) => d.to_string(),
        other => {
            let mut s = String::new();
            super::render::render(&mut s, other, false);
            s
        }
    }
}
