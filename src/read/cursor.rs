//! An item's `after` cursor, kept as the parts it is made of: a page holds one per item, but a
//! position needs only a few (the first item after a batch, a range's pending item), so the
//! Fauna value — an array holding a ref that holds its collection's ref — is built only then
//! ([`Cursor::value`]) instead of once per document read.

use std::sync::Arc;

use crate::fauna::{Ref, Value};

/// An inclusive `after` cursor that starts a page exactly at its item.
#[derive(Clone, Debug, PartialEq)]
pub enum Cursor {
    /// A value as Fauna (or a reader of no query) gave it.
    Value(Value),
    /// `[Ref(collection, id)]`: a document in id order.
    Document {
        /// The collection.
        collection: Arc<str>,
        /// The document id.
        id: String,
    },
    /// `[ts, Ref(collection, id)]`: an entry of a `[ts, ref]` index.
    Entry {
        /// The entry's ts.
        ts: i64,
        /// The collection.
        collection: Arc<str>,
        /// The document id.
        id: String,
    },
    /// `[first, second]`: where each reader of a merged read stands.
    Pair(Box<[Cursor; 2]>),
}

impl Cursor {
    /// The cursor as the Fauna value a query's `after` takes.
    pub fn value(&self) -> Value {
        match self {
            Cursor::Value(v) => v.clone(),
            Cursor::Document { collection, id } => {
                Value::Array(vec![Value::Ref(Ref::document(collection, id))])
            }
            Cursor::Entry { ts, collection, id } => Value::Array(vec![
                Value::Int(*ts),
                Value::Ref(Ref::document(collection, id)),
            ]),
            Cursor::Pair(pair) => Value::Array(vec![pair[0].value(), pair[1].value()]),
        }
    }
}

impl From<Value> for Cursor {
    fn from(v: Value) -> Cursor {
        Cursor::Value(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cursor_builds_the_value_fauna_takes() {
        let c: Arc<str> = Arc::from("things");
        let doc = Value::Array(vec![Value::Ref(Ref::document("things", "7"))]);
        let entry = Value::Array(vec![
            Value::Int(5),
            Value::Ref(Ref::document("things", "7")),
        ]);
        let document = Cursor::Document {
            collection: c.clone(),
            id: "7".into(),
        };
        let index_entry = Cursor::Entry {
            ts: 5,
            collection: c,
            id: "7".into(),
        };
        assert_eq!(document.value(), doc);
        assert_eq!(index_entry.value(), entry);
        let pair = Cursor::Pair(Box::new([index_entry, Cursor::Value(Value::Bool(false))]));
        assert_eq!(pair.value(), Value::Array(vec![entry, Value::Bool(false)]));
        assert_eq!(Cursor::from(Value::Int(3)).value(), Value::Int(3));
    }
}
