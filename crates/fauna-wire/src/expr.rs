//! FQL v4 request expressions: function calls ("forms") as JSON objects identified by their
//! keys, arrays evaluated element-wise, and literal values.
//!
//! ```
//! use fauna_wire::Expr;
//! let q = Expr::paginate(Expr::documents(Expr::collection("foo"))).with("size", 64);
//! assert_eq!(q.to_json(), r#"{"paginate":{"documents":{"collection":"foo"}},"size":64}"#);
//! ```

use std::borrow::Cow;

use crate::encode::{encode_literal_into, write_str};
use crate::reference::Ref;
use crate::value::Value;

/// A request expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A literal value (objects are written as `{"object": …}`).
    Lit(Value),
    /// A function call: its keys and arguments, in order.
    Form(Vec<(Cow<'static, str>, Expr)>),
    /// An array, evaluated element-wise.
    Array(Vec<Expr>),
    /// An object whose field values are expressions: `{"object": {…}}`.
    Object(Vec<(String, Expr)>),
}

impl Expr {
    /// Writes the expression as request JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Expr::Lit(v) => encode_literal_into(out, v),
            Expr::Form(fields) => {
                out.push('{');
                for (n, (k, v)) in fields.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    write_str(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
            Expr::Array(items) => {
                out.push('[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Expr::Object(fields) => {
                // A lone tag key is escaped, or the server would read a tagged value.
                let lone_tag = crate::encode::is_lone_tag(fields.iter().map(|(k, _)| k));
                out.push_str(if lone_tag {
                    r#"{"object":{"@obj":{"#
                } else {
                    r#"{"object":{"#
                });
                for (n, (k, v)) in fields.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    write_str(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push_str(if lone_tag { "}}}" } else { "}}" });
            }
        }
    }

    /// Adds an optional argument to a form (`size`, `after`, `ts`, `default`, …).
    /// On anything but a form this returns the expression unchanged.
    pub fn with(mut self, key: &'static str, arg: impl Into<Expr>) -> Expr {
        if let Expr::Form(fields) = &mut self {
            fields.push((Cow::Borrowed(key), arg.into()));
        }
        self
    }

    fn form1(key: &'static str, arg: impl Into<Expr>) -> Expr {
        Expr::Form(vec![(Cow::Borrowed(key), arg.into())])
    }

    fn form2(k1: &'static str, a1: impl Into<Expr>, k2: &'static str, a2: impl Into<Expr>) -> Expr {
        Expr::Form(vec![
            (Cow::Borrowed(k1), a1.into()),
            (Cow::Borrowed(k2), a2.into()),
        ])
    }

    /// An object literal whose values are expressions.
    pub fn object<K: Into<String>>(fields: impl IntoIterator<Item = (K, Expr)>) -> Expr {
        Expr::Object(fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// An array of expressions.
    pub fn array(items: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::Array(items.into_iter().collect())
    }

    /// `null`.
    pub fn null() -> Expr {
        Expr::Lit(Value::Null)
    }

    /// `Now()`.
    pub fn now() -> Expr {
        Expr::form1("now", Expr::null())
    }

    /// `ToMicros(t)`.
    pub fn to_micros(t: impl Into<Expr>) -> Expr {
        Expr::form1("to_micros", t)
    }

    /// `Time(text)`.
    pub fn time(text: &str) -> Expr {
        Expr::form1("time", text)
    }

    /// `Collection(name)`.
    pub fn collection(name: &str) -> Expr {
        Expr::form1("collection", name)
    }

    /// `Index(name)`.
    pub fn index(name: &str) -> Expr {
        Expr::form1("index", name)
    }

    /// `Collections()`.
    pub fn collections() -> Expr {
        Expr::form1("collections", Expr::null())
    }

    /// `Databases()`: the child databases of the request's database.
    pub fn databases() -> Expr {
        Expr::form1("databases", Expr::null())
    }

    /// `Indexes()`.
    pub fn indexes() -> Expr {
        Expr::form1("indexes", Expr::null())
    }

    /// `Ref(collection, id)`.
    pub fn ref_(collection: impl Into<Expr>, id: &str) -> Expr {
        Expr::form2("ref", collection, "id", id)
    }

    /// `Documents(collection)`.
    pub fn documents(collection: impl Into<Expr>) -> Expr {
        Expr::form1("documents", collection)
    }

    /// `Match(index)`; add terms with `.with("terms", …)`.
    pub fn match_index(index: impl Into<Expr>) -> Expr {
        Expr::form1("match", index)
    }

    /// `Range(set, from, to)`.
    pub fn range(set: impl Into<Expr>, from: impl Into<Expr>, to: impl Into<Expr>) -> Expr {
        Expr::Form(vec![
            ("range".into(), set.into()),
            ("from".into(), from.into()),
            ("to".into(), to.into()),
        ])
    }

    /// `Events(set_or_ref)`.
    pub fn events(set: impl Into<Expr>) -> Expr {
        Expr::form1("events", set)
    }

    /// `Singleton(ref)`.
    pub fn singleton(r: impl Into<Expr>) -> Expr {
        Expr::form1("singleton", r)
    }

    /// `Paginate(set)`; add `size`, `after`, `before`, `ts`, `events`, `sources` with `.with`.
    pub fn paginate(set: impl Into<Expr>) -> Expr {
        Expr::form1("paginate", set)
    }

    /// `Get(ref_or_set)`.
    pub fn get(r: impl Into<Expr>) -> Expr {
        Expr::form1("get", r)
    }

    /// `Exists(ref_or_set)`.
    pub fn exists(r: impl Into<Expr>) -> Expr {
        Expr::form1("exists", r)
    }

    /// `At(ts, expr)`.
    pub fn at(ts: impl Into<Expr>, expr: impl Into<Expr>) -> Expr {
        Expr::form2("at", ts, "expr", expr)
    }

    /// `Let([{name: value}…], in)` with sequential bindings.
    pub fn let_(bindings: Vec<(&str, Expr)>, body: impl Into<Expr>) -> Expr {
        let bindings = bindings
            .into_iter()
            .map(|(k, v)| Expr::Form(vec![(Cow::Owned(k.to_string()), v)]));
        Expr::form2("let", Expr::array(bindings), "in", body)
    }

    /// `Var(name)`.
    pub fn var(name: &str) -> Expr {
        Expr::form1("var", name)
    }

    /// `Lambda(param, expr)`.
    pub fn lambda(param: &str, expr: impl Into<Expr>) -> Expr {
        Expr::form2("lambda", param, "expr", expr)
    }

    /// `Map(collection, lambda)` (the wire puts the lambda first).
    pub fn map(lambda: impl Into<Expr>, collection: impl Into<Expr>) -> Expr {
        Expr::form2("map", lambda, "collection", collection)
    }

    /// `Filter(collection, lambda)`.
    pub fn filter(lambda: impl Into<Expr>, collection: impl Into<Expr>) -> Expr {
        Expr::form2("filter", lambda, "collection", collection)
    }

    /// `Select(path, from)`; add a default with `.with("default", …)`.
    pub fn select(path: impl Into<Expr>, from: impl Into<Expr>) -> Expr {
        Expr::form2("select", path, "from", from)
    }

    /// `If(cond, then, else)`.
    pub fn if_(cond: impl Into<Expr>, then: impl Into<Expr>, otherwise: impl Into<Expr>) -> Expr {
        Expr::Form(vec![
            ("if".into(), cond.into()),
            ("then".into(), then.into()),
            ("else".into(), otherwise.into()),
        ])
    }

    /// `Do(e1, e2, …)`.
    pub fn do_(items: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::form1("do", Expr::array(items))
    }

    /// `Equals(a, b)`.
    pub fn equals(a: impl Into<Expr>, b: impl Into<Expr>) -> Expr {
        Expr::form1("equals", Expr::array([a.into(), b.into()]))
    }

    /// `Abort(message)`.
    pub fn abort(message: impl Into<Expr>) -> Expr {
        Expr::form1("abort", message)
    }

    /// `Format(format, values…)`.
    pub fn format(format: &str, values: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::form2("format", format, "values", Expr::array(values))
    }

    /// `Count(set_or_array)`.
    pub fn count(set: impl Into<Expr>) -> Expr {
        Expr::form1("count", set)
    }

    /// `Query(lambda)`.
    pub fn query(lambda: impl Into<Expr>) -> Expr {
        Expr::form1("query", lambda)
    }

    /// `CreateCollection(params)`.
    pub fn create_collection(params: impl Into<Expr>) -> Expr {
        Expr::form1("create_collection", params)
    }

    /// `CreateIndex(params)`.
    pub fn create_index(params: impl Into<Expr>) -> Expr {
        Expr::form1("create_index", params)
    }

    /// `CreateRole(params)`.
    pub fn create_role(params: impl Into<Expr>) -> Expr {
        Expr::form1("create_role", params)
    }

    /// `CreateKey(params)`.
    pub fn create_key(params: impl Into<Expr>) -> Expr {
        Expr::form1("create_key", params)
    }

    /// `Create(collection_or_ref, params)`.
    pub fn create(target: impl Into<Expr>, params: impl Into<Expr>) -> Expr {
        Expr::form2("create", target, "params", params)
    }

    /// `Update(ref, params)`.
    pub fn update(r: impl Into<Expr>, params: impl Into<Expr>) -> Expr {
        Expr::form2("update", r, "params", params)
    }

    /// `Replace(ref, params)`.
    pub fn replace(r: impl Into<Expr>, params: impl Into<Expr>) -> Expr {
        Expr::form2("replace", r, "params", params)
    }

    /// `Delete(ref)`.
    pub fn delete(r: impl Into<Expr>) -> Expr {
        Expr::form1("delete", r)
    }
}

impl From<Value> for Expr {
    fn from(v: Value) -> Self {
        Expr::Lit(v)
    }
}

impl From<&str> for Expr {
    fn from(s: &str) -> Self {
        Expr::Lit(Value::String(s.to_string()))
    }
}

impl From<String> for Expr {
    fn from(s: String) -> Self {
        Expr::Lit(Value::String(s))
    }
}

impl From<i64> for Expr {
    fn from(i: i64) -> Self {
        Expr::Lit(Value::Int(i))
    }
}

impl From<bool> for Expr {
    fn from(b: bool) -> Self {
        Expr::Lit(Value::Bool(b))
    }
}

impl From<Ref> for Expr {
    fn from(r: Ref) -> Self {
        Expr::Lit(Value::Ref(r))
    }
}

impl From<Vec<Expr>> for Expr {
    fn from(items: Vec<Expr>) -> Self {
        Expr::Array(items)
    }
}
