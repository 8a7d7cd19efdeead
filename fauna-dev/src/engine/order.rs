//! The cross-type order of index values (CBOR order of the real server):
//! numbers < bytes < strings < arrays < objects < refs < timestamps < dates < queries/sets <
//! false < true < null. Numbers compare numerically; strings by ICU collation, then bytes;
//! refs by numeric id, then collection.

use std::cmp::Ordering;

use fauna_wire::{Ref, Value};

fn rank(v: &Value) -> u8 {
    match v {
        Value::Int(_) | Value::Double(_) => 0,
        Value::Bytes(_) => 1,
        Value::String(_) => 2,
        Value::Array(_) => 3,
        Value::Object(_) => 4,
        Value::Ref(_) => 5,
        Value::Timestamp(_) => 6,
        Value::Date(_) => 7,
        Value::Query(_) | Value::Set(_) => 8,
        Value::Bool(false) => 9,
        Value::Bool(true) => 10,
        Value::Null => 11,
    }
}

/// True when values of this type sort before refs (used for non-ref cursor tails).
pub fn sorts_before_refs(v: &Value) -> bool {
    rank(v) < 5
}

fn num_cmp(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Int(x), Value::Double(y)) => (*x as f64).total_cmp(y),
        (Value::Double(x), Value::Int(y)) => x.total_cmp(&(*y as f64)),
        (Value::Double(x), Value::Double(y)) => x.total_cmp(y),
        _ => Ordering::Equal,
    }
}

/// Compares two refs: numeric ids numerically (non-numeric ids after, by text), then collection.
pub fn ref_cmp(a: &Ref, b: &Ref) -> Ordering {
    let ids = match (a.id.parse::<i64>(), b.id.parse::<i64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.id.cmp(&b.id),
    };
    ids.then_with(|| match (&a.collection, &b.collection) {
        (Some(x), Some(y)) => ref_cmp(x, y),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    })
}

/// Total order over values.
pub fn value_cmp(a: &Value, b: &Value) -> Ordering {
    let (ra, rb) = (rank(a), rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match (a, b) {
        (Value::Int(_) | Value::Double(_), _) => num_cmp(a, b),
        (Value::Bytes(x), Value::Bytes(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => super::collation::compare_strings(x, y),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y.iter()) {
                let o = value_cmp(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            for ((kp, p), (kq, q)) in x.iter().zip(y.iter()) {
                let o = kp.cmp(kq).then_with(|| value_cmp(p, q));
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Ref(x), Value::Ref(y)) => ref_cmp(x, y),
        (Value::Timestamp(x), Value::Timestamp(y)) => x.cmp(y),
        (Value::Date(x), Value::Date(y)) => x.cmp(y),
        (Value::Query(x), Value::Query(y)) | (Value::Set(x), Value::Set(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

/// One position of an index tuple: a value with its `reverse` flag, or a bound sentinel.
#[derive(Clone, Debug)]
pub enum K {
    /// A value; `true` = reverse order in this position.
    V(Value, bool),
    /// Above everything.
    Max,
}

impl K {
    /// The value, if not a sentinel.
    pub fn value(&self) -> Option<&Value> {
        match self {
            K::V(v, _) => Some(v),
            _ => None,
        }
    }
}

impl Ord for K {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (K::Max, K::Max) => Ordering::Equal,
            (_, K::Max) => Ordering::Less,
            (K::Max, _) => Ordering::Greater,
            (K::V(a, rev), K::V(b, _)) => {
                let o = value_cmp(a, b);
                if *rev {
                    o.reverse()
                } else {
                    o
                }
            }
        }
    }
}

impl PartialOrd for K {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for K {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for K {}
