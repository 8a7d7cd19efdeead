//! The stored top-level fields of a document version, kept compact: the response (API 4) JSON
//! text of the fields object in one allocation, decoded on demand. A `Get` renders it by
//! copying the text, so storage costs about the wire size and serving costs a `memcpy`.
//! Fields whose text would not decode back to exactly the same values (non-finite doubles,
//! which travel as strings; top-level keys starting with `@`) stay a tree.

use std::borrow::Cow;

use fauna_wire::{decode, encode_into, write_str, Object, Value};

/// A version's fields.
#[derive(Clone, Debug, PartialEq)]
pub enum Fields {
    /// `{"k":v,…}` exactly as the API 4 response renders the fields, in field order.
    Wire(Box<str>),
    /// The fields as values (when the text form would not round-trip).
    Tree(Box<Object>),
}

impl Fields {
    /// Stores `fields`, as text when that decodes back to the very same values.
    pub fn new(fields: Object) -> Self {
        let mut text = String::with_capacity(64);
        text.push('{');
        for (n, (k, v)) in fields.iter().enumerate() {
            if n > 0 {
                text.push(',');
            }
            write_str(&mut text, k);
            text.push(':');
            encode_into(&mut text, v);
        }
        text.push('}');
        let exact = matches!(decode(text.as_bytes()), Ok(Value::Object(back)) if same_object(&back, &fields));
        if exact {
            Fields::Wire(text.into_boxed_str())
        } else {
            Fields::Tree(Box::new(fields))
        }
    }

    /// The fields as values (decoded from the text form).
    pub fn object(&self) -> Cow<'_, Object> {
        match self {
            Fields::Tree(o) => Cow::Borrowed(o),
            Fields::Wire(text) => match decode(text.as_bytes()) {
                Ok(Value::Object(o)) => Cow::Owned(o),
                // `new` checked that the text decodes to an object.
                _ => Cow::Owned(Object::new()),
            },
        }
    }

    /// The API 4 rendering of the fields without the braces (`"data":{…},"ttl":…`), when
    /// stored as text.
    pub fn wire_inner(&self) -> Option<&str> {
        match self {
            Fields::Wire(text) => text.get(1..text.len().saturating_sub(1)),
            Fields::Tree(_) => None,
        }
    }
}

/// Equality that also tells `0.0` from `-0.0` and NaN payloads apart and respects field order.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Double(x), Value::Double(y)) => x.to_bits() == y.to_bits(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => same_object(x, y),
        _ => a == b,
    }
}

fn same_object(x: &Object, y: &Object) -> bool {
    x.len() == y.len()
        && x
            .iter()
            .zip(y)
            .all(|((kp, p), (kq, q))| kp == kq && same(p, q))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fauna_wire::{Ref, Timestamp};

    fn obj(pairs: Vec<(&str, Value)>) -> Object {
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    #[test]
    fn text_form_round_trips_and_renders_the_response_form() {
        let data = obj(vec![
            ("b", Value::Int(1)),
            ("a", Value::Double(-0.0)),
            ("@odd", Value::String("x\"y".into())),
            ("r", Value::Ref(Ref::document("c", "7"))),
        ]);
        let fields = obj(vec![
            ("data", Value::Object(data)),
            ("ttl", Value::Timestamp(Timestamp::from_micros(5))),
        ]);
        let f = Fields::new(fields.clone());
        assert!(matches!(f, Fields::Wire(_)));
        assert!(same_object(&f.object(), &fields));
        let mut expected = String::new();
        for (n, (k, v)) in fields.iter().enumerate() {
            if n > 0 {
                expected.push(',');
            }
            write_str(&mut expected, k);
            expected.push(':');
            encode_into(&mut expected, v);
        }
        assert_eq!(f.wire_inner(), Some(expected.as_str()));
        assert_eq!(Fields::new(Object::new()).wire_inner(), Some(""));
    }

    #[test]
    fn values_the_text_cannot_carry_stay_a_tree() {
        let nan = obj(vec![(
            "data",
            Value::Object(obj(vec![("x", Value::Double(f64::NAN))])),
        )]);
        assert!(matches!(Fields::new(nan), Fields::Tree(_)));
        let inf = obj(vec![("data", Value::Double(f64::INFINITY))]);
        let f = Fields::new(inf.clone());
        assert_eq!(f, Fields::Tree(Box::new(inf.clone())));
        assert_eq!(f.object().into_owned(), inf);
        let tagged = obj(vec![("@ref", Value::Int(1))]);
        assert!(matches!(Fields::new(tagged), Fields::Tree(_)));
    }
}
