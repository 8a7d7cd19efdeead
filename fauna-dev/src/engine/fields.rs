//! The stored top-level fields of a document version, kept compact: the response (API 4) JSON
//! text of the fields object in one allocation, decoded on demand. A `Get` renders it by
//! copying the text, so storage costs about the wire size and serving costs a `memcpy`.
//! Fields whose text would not decode back to exactly the same values (non-finite doubles,
//! which travel as strings; top-level keys starting with `@`) stay a tree.

use std::borrow::Cow;

use fauna_wire::{decode, encode_into, write_str, Date, Object, Timestamp, Value};

/// A version's fields.
#[derive(Clone, Debug, PartialEq)]
pub enum Fields {
    /// `{"k":v,…}` exactly as the API 4 response renders the fields, in field order.
    Wire(Box<str>),
    /// The fields as values (when the text form would not round-trip).
    Tree(Box<Object>),
}

impl Fields {
    /// Stores `fields`, as text when that decodes back to the very same values. Also returns
    /// the stored size ([`super::meter::doc_bytes`]), measured in the same pass.
    pub fn new(fields: Object) -> (Self, u64) {
        let mut text = String::with_capacity(64);
        let mut size = 2 + 8;
        text.push('{');
        for (n, (k, v)) in fields.iter().enumerate() {
            if n > 0 {
                text.push(',');
            }
            write_str(&mut text, k);
            text.push(':');
            let before = text.len();
            encode_into(&mut text, v);
            size += k.len() + 4 + (text.len() - before);
        }
        text.push('}');
        // Plain values round-trip by the codec's contract; anything else is checked.
        let exact = fields.iter().all(|(k, v)| !k.starts_with('@') && plain(v))
            || matches!(decode(text.as_bytes()), Ok(Value::Object(back)) if same_object(&back, &fields));
        let stored = if exact {
            Fields::Wire(text.into_boxed_str())
        } else {
            Fields::Tree(Box::new(fields))
        };
        (stored, size as u64)
    }

    /// The fields as values (decoded from the text form).
    pub fn object(&self) -> Cow<'_, Object> {
        match self {
            Fields::Tree(o) => Cow::Borrowed(o),
            Fields::Wire(text) => match decode(text.as_bytes()) {
                Ok(Value::Object(o)) => Cow::Owned(o),
                // `new` checked that the text decodes to an object.
                _ => Cow::Owned(Object::default()),
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

/// A value whose text form decodes back to it: doubles that print and parse back to the same
/// bits (finite ones always should), times and dates that print and parse back (years beyond
/// 9999 might not), and no opaque `@query` / `@set` texts.
fn plain(v: &Value) -> bool {
    match v {
        Value::Timestamp(t) => Timestamp::parse(&t.to_string()).is_ok_and(|x| x == *t),
        Value::Date(d) => Date::parse(&d.to_string()).is_ok_and(|x| x == *d),
        Value::Double(d) => {
            d.is_finite()
                && fauna_wire::java_double(*d)
                    .parse::<f64>()
                    .is_ok_and(|x| x.to_bits() == d.to_bits())
        }
        Value::Array(a) => a.iter().all(plain),
        Value::Object(o) => o.values().all(plain),
        Value::Query(_) | Value::Set(_) => false,
        _ => true,
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
        && x.iter()
            .zip(y)
            .all(|((kp, p), (kq, q))| kp == kq && same(p, q))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fauna_wire::Ref;

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
            ("d", Value::Double(0.1 + 0.2)),
            ("big", Value::Double(1e300)),
        ]);
        let fields = obj(vec![
            ("data", Value::Object(data)),
            ("ttl", Value::Timestamp(Timestamp::from_micros(5))),
        ]);
        let (f, size) = Fields::new(fields.clone());
        assert!(matches!(f, Fields::Wire(_)));
        assert_eq!(size, crate::engine::meter::doc_bytes(&fields));
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
        assert_eq!(Fields::new(Object::default()).0.wire_inner(), Some(""));
        // An opaque query text is checked by decoding: this one round-trips.
        let q = obj(vec![(
            "data",
            Value::Query(r#"{"lambda":"x","expr":1}"#.into()),
        )]);
        let (f, _) = Fields::new(q.clone());
        assert!(matches!(f, Fields::Wire(_)));
        assert_eq!(f.object().into_owned(), q);
    }

    #[test]
    fn values_the_text_cannot_carry_stay_a_tree() {
        let nan = obj(vec![(
            "data",
            Value::Object(obj(vec![("x", Value::Double(f64::NAN))])),
        )]);
        assert!(matches!(Fields::new(nan).0, Fields::Tree(_)));
        let inf = obj(vec![("data", Value::Double(f64::INFINITY))]);
        let (f, _) = Fields::new(inf.clone());
        assert_eq!(f, Fields::Tree(Box::new(inf.clone())));
        assert_eq!(f.object().into_owned(), inf);
        let tagged = obj(vec![("@ref", Value::Int(1))]);
        assert!(matches!(Fields::new(tagged).0, Fields::Tree(_)));
        // Whichever form extreme times take, they read back unchanged.
        for far in [
            Value::Date(Date::from_ymd(12_345, 6, 7).unwrap()),
            Value::Date(Date::from_ymd(-44, 3, 15).unwrap()),
            Value::Timestamp(Timestamp::new(-62_135_596_801, 5).unwrap()),
            Value::Timestamp(Timestamp::new(253_402_300_800, 999_999_999).unwrap()),
        ] {
            let fields = obj(vec![("data", Value::Object(obj(vec![("t", far)])))]);
            let (f, _) = Fields::new(fields.clone());
            assert!(
                same_object(&f.object(), &fields),
                "{fields:?} read back as {f:?}"
            );
        }
    }
}
