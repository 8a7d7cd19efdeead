//! The Fauna v4 value model.

use std::hash::BuildHasherDefault;

use indexmap::IndexMap;

use crate::reference::Ref;
use crate::time::{Date, Timestamp};

/// A JSON object's fields in their original order (Fauna preserves insertion order), hashed
/// with aHash under process-wide keys: SipHash, the default, cost ~7% of an export's CPU on
/// the keys of every decoded document, and per-map random keys cost ~1% more to draw. Make
/// one with `Object::default()`.
pub type Object = IndexMap<String, Value, BuildHasherDefault<ahash::AHasher>>;

/// Every value Fauna v4 can store or return.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A 64-bit integer (written without `.` or `E`).
    Int(i64),
    /// A double (written with `.` or `E`). NaN and infinities travel as strings on the wire.
    Double(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object; on the wire it is `@obj`-escaped when a key starts with `@`.
    Object(Object),
    /// A ref (`@ref`).
    Ref(Ref),
    /// A timestamp (`@ts`), nanosecond precision.
    Timestamp(Timestamp),
    /// A date (`@date`).
    Date(Date),
    /// A byte array (`@bytes`).
    Bytes(Vec<u8>),
    /// A query (`@query`): the compact JSON text inside the tag, kept opaque.
    Query(String),
    /// A set ref (`@set`): the compact JSON text inside the tag, kept opaque.
    Set(String),
}

impl Value {
    /// The object's fields, if this is an object.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The ref, if this is a ref.
    pub fn as_ref(&self) -> Option<&Ref> {
        match self {
            Value::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Follows `path` like FQL `Select`: object keys by string, array elements by index, and on
    /// refs the fields `id`, `collection` and `database`. `None` when a step is missing.
    pub fn select<'a>(&'a self, path: &[PathStep<'_>]) -> Option<Selected<'a>> {
        let mut cur = Selected::Borrowed(self);
        for step in path {
            cur = match (cur, step) {
                (Selected::Borrowed(Value::Object(o)), PathStep::Key(k)) => {
                    Selected::Borrowed(o.get(*k)?)
                }
                (Selected::Borrowed(Value::Array(a)), PathStep::Index(i)) => {
                    Selected::Borrowed(a.get(usize::try_from(*i).ok()?)?)
                }
                (Selected::Borrowed(Value::Ref(r)), PathStep::Key(k)) => ref_field(r, k)?,
                (Selected::Owned(Value::Ref(r)), PathStep::Key(k)) => match ref_field(&r, k)? {
                    Selected::Owned(v) => Selected::Owned(v),
                    Selected::Borrowed(v) => Selected::Owned(v.clone()),
                },
                _ => return None,
            };
        }
        Some(cur)
    }
}

fn ref_field<'a>(r: &'a Ref, key: &str) -> Option<Selected<'a>> {
    match key {
        "id" => Some(Selected::Owned(Value::String(r.id.clone()))),
        "collection" => r
            .collection
            .as_deref()
            .map(|c| Selected::Owned(Value::Ref(c.clone()))),
        "database" => r
            .database
            .as_deref()
            .map(|d| Selected::Owned(Value::Ref(d.clone()))),
        _ => None,
    }
}

/// One step of a `Select` path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathStep<'a> {
    /// An object key or a ref field.
    Key(&'a str),
    /// An array index.
    Index(i64),
}

/// The result of [`Value::select`]: borrowed from the value, or built (the parts of a ref).
#[derive(Debug, PartialEq)]
pub enum Selected<'a> {
    /// A value inside the selected-from value.
    Borrowed(&'a Value),
    /// A value made from a ref's parts.
    Owned(Value),
}

impl Selected<'_> {
    /// The selected value.
    pub fn value(&self) -> &Value {
        match self {
            Selected::Borrowed(v) => v,
            Selected::Owned(v) => v,
        }
    }

    /// The selected value, owned.
    pub fn into_owned(self) -> Value {
        match self {
            Selected::Borrowed(v) => v.clone(),
            Selected::Owned(v) => v,
        }
    }
}

impl From<Ref> for Value {
    fn from(r: Ref) -> Self {
        Value::Ref(r)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_walks_objects_arrays_and_refs() {
        let mut inner = Object::default();
        inner.insert("parent".into(), Value::Ref(Ref::document("players", "7")));
        inner.insert("tags".into(), Value::Array(vec!["a".into(), "b".into()]));
        let mut doc = Object::default();
        doc.insert("data".into(), Value::Object(inner));
        let doc = Value::Object(doc);
        let get = |p: &[PathStep]| doc.select(p).map(Selected::into_owned);
        use PathStep::{Index, Key};
        assert_eq!(get(&[Key("data"), Key("tags"), Index(1)]), Some("b".into()));
        assert_eq!(
            get(&[Key("data"), Key("parent"), Key("id")]),
            Some("7".into())
        );
        assert_eq!(
            get(&[Key("data"), Key("parent"), Key("collection"), Key("id")]),
            Some("players".into())
        );
        assert_eq!(get(&[Key("data"), Key("missing")]), None);
        assert_eq!(get(&[Key("data"), Key("tags"), Index(-1)]), None);
    }
}
