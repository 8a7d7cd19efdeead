//! Runtime values of evaluation: plain wire values plus documents, sets, pages and lambdas.

use std::rc::Rc;
use std::sync::Arc;

use fauna_wire::{Object, PathStep, Ref, Value};

use super::parse::{value_type, NodeId};
use super::store::Version;

/// A value during evaluation.
#[derive(Clone, Debug)]
pub enum Val {
    /// A plain value (possibly a whole stored subtree).
    V(Value),
    /// An evaluated array.
    Arr(Vec<Val>),
    /// An evaluated object, in field order.
    Obj(Vec<(String, Val)>),
    /// A document version.
    Doc(Rc<DocV>),
    /// A set.
    Set(Rc<SetV>),
    /// A page.
    Page(Rc<PageV>),
    /// A lambda closure.
    Lambda(Rc<LambdaV>),
}

/// A document version as returned by `Get`.
#[derive(Debug)]
pub struct DocV {
    /// The document's ref.
    pub r: Ref,
    /// The version.
    pub v: Arc<Version>,
    /// Newly created in this transaction (HTTP 201).
    pub created: bool,
}

/// A page of a set.
#[derive(Clone, Debug, Default)]
pub struct PageV {
    /// The backward cursor.
    pub before: Option<Val>,
    /// The forward cursor.
    pub after: Option<Val>,
    /// The elements.
    pub data: Vec<Val>,
}

/// A lambda: its node and captured environment.
#[derive(Debug)]
pub struct LambdaV {
    /// The `Kind::Lambda` node.
    pub node: NodeId,
    /// Captured bindings.
    pub env: Env,
    /// The `@query` rendering.
    pub raw: Rc<str>,
}

/// Lexical environment: a persistent list of bindings.
pub type Env = Option<Rc<Binding>>;

/// One binding of an [`Env`].
#[derive(Debug)]
pub struct Binding {
    /// The name.
    pub name: String,
    /// The value.
    pub val: Val,
    /// Outer bindings.
    pub next: Env,
}

/// Looks a variable up.
pub fn lookup<'e>(env: &'e Env, name: &str) -> Option<&'e Val> {
    let mut cur = env.as_deref();
    while let Some(b) = cur {
        if b.name == name {
            return Some(&b.val);
        }
        cur = b.next.as_deref();
    }
    None
}

/// Adds a binding.
pub fn bind(env: &Env, name: String, val: Val) -> Env {
    Some(Rc::new(Binding {
        name,
        val,
        next: env.clone(),
    }))
}

/// A set expression.
#[derive(Clone, Debug)]
pub enum SetV {
    /// `Documents(Collection(c))`.
    Documents(String),
    /// `Match(Index(i), terms)`; `terms_given` false when no terms were passed.
    Match {
        /// Index name.
        index: String,
        /// The term tuple.
        terms: Vec<Value>,
        /// The terms argument as given (for rendering), if any.
        raw: Option<Value>,
    },
    /// `Range(set, from, to)`.
    Range {
        /// The ranged set.
        set: Rc<SetV>,
        /// Lower bound (prefix or cursor).
        from: Vec<Value>,
        /// Upper bound (prefix or cursor).
        to: Vec<Value>,
        /// The raw bounds for rendering.
        raw: (Value, Value),
    },
    /// `Events(set)`.
    Events(Rc<SetV>),
    /// `Singleton(ref)`.
    Singleton(Ref),
    /// A document ref used as a set (its history / itself).
    Doc(Ref),
    /// A native collection (`Collections()` …) used as a set of its members.
    Native(String),
    /// A set read inside the descendant database at the path (always outermost).
    Scoped(Vec<String>, Rc<SetV>),
    /// `Filter(lambda, set)`.
    Filter {
        /// The filtered set.
        set: Rc<SetV>,
        /// The predicate.
        lambda: Val,
        /// Where predicate errors are reported (the `filter` argument).
        node: NodeId,
    },
}

impl Val {
    /// The server's type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::V(v) => value_type(v),
            Val::Arr(_) => "Array",
            Val::Obj(_) | Val::Doc(_) => "Object",
            Val::Set(_) => "Set",
            Val::Page(_) => "Page",
            Val::Lambda(_) => "Lambda",
        }
    }

    /// Converts to a plain value (documents become objects, sets/lambdas opaque tags).
    pub fn to_value(&self) -> Value {
        match self {
            Val::V(v) => v.clone(),
            Val::Arr(a) => Value::Array(a.iter().map(Val::to_value).collect()),
            Val::Obj(o) => {
                let mut m = Object::with_capacity_and_hasher(o.len(), Default::default());
                for (k, v) in o {
                    m.insert(k.clone(), v.to_value());
                }
                Value::Object(m)
            }
            Val::Doc(d) => Value::Object(doc_object(d)),
            Val::Page(p) => {
                let mut m = Object::default();
                if let Some(b) = &p.before {
                    m.insert("before".into(), b.to_value());
                }
                if let Some(a) = &p.after {
                    m.insert("after".into(), a.to_value());
                }
                m.insert(
                    "data".into(),
                    Value::Array(p.data.iter().map(Val::to_value).collect()),
                );
                Value::Object(m)
            }
            Val::Set(_) | Val::Lambda(_) => {
                let mut s = String::new();
                super::render::render(&mut s, self, false);
                fauna_wire::decode(s.as_bytes()).unwrap_or(Value::Null)
            }
        }
    }

    /// The elements, if an array (plain or evaluated).
    pub fn into_vec(self) -> Option<Vec<Val>> {
        match self {
            Val::Arr(a) => Some(a),
            Val::V(Value::Array(a)) => Some(a.into_iter().map(Val::V).collect()),
            _ => None,
        }
    }

    /// Follows a `Select` path.
    pub fn select(&self, path: &[PathStep<'_>]) -> Option<Val> {
        let Some((first, rest)) = path.split_first() else {
            return Some(self.clone());
        };
        match (self, first) {
            (Val::V(v), _) => v.select(path).map(|s| Val::V(s.into_owned())),
            (Val::Arr(a), PathStep::Index(i)) => a.get(usize::try_from(*i).ok()?)?.select(rest),
            (Val::Obj(o), PathStep::Key(k)) => o
                .iter()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.select(rest)),
            (Val::Doc(d), PathStep::Key(k)) => match *k {
                "ref" => Val::V(Value::Ref(d.r.clone())).select(rest),
                "ts" => Val::V(Value::Int(d.v.ts)).select(rest),
                _ => {
                    let f = d.v.field(k)?;
                    f.select(rest).map(|s| Val::V(s.into_owned()))
                }
            },
            (Val::Page(p), PathStep::Key(k)) => match *k {
                "data" => Val::Arr(p.data.clone()).select(rest),
                "before" => p.before.as_ref()?.select(rest),
                "after" => p.after.as_ref()?.select(rest),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A document as a plain object: `ref`, `ts`, then its fields.
pub fn doc_object(d: &DocV) -> Object {
    let fields = d.v.fields();
    let mut m = Object::with_capacity_and_hasher(fields.len() + 2, Default::default());
    m.insert("ref".into(), Value::Ref(d.r.clone()));
    m.insert("ts".into(), Value::Int(d.v.ts));
    for (k, v) in fields.iter() {
        m.insert(k.clone(), v.clone());
    }
    m
}

impl From<Value> for Val {
    fn from(v: Value) -> Self {
        Val::V(v)
    }
}
