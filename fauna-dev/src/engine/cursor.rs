//! Cursor and range-bound parsing for snapshot sets: values, then the document.

use std::ops::{Bound, RangeBounds};

use fauna_wire::{Ref, Value};

use super::order::{sorts_before_refs, K};

/// A position in a snapshot set: covered values, document id, collection number.
pub type PosKey = (Vec<K>, i64, u32);

/// Which side of a position a partial cursor stands for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Missing parts are "min".
    Low,
    /// Missing parts are "max".
    High,
}

/// Parses a cursor or bound (`values ++ [ref]`, a prefix, or a scalar) for a set with the given
/// value `reverse` flags. `doc_of` maps a ref to its (id, collection number) sort position.
pub fn position(
    c: &Value,
    revs: &[bool],
    side: Side,
    doc_of: &dyn Fn(&Ref) -> Option<(i64, u32)>,
) -> PosKey {
    let items: Vec<Value> = match c {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    let k = revs.len();
    let mut vals: Vec<K> = items
        .iter()
        .take(k)
        .zip(revs)
        .map(|(v, r)| K::V(v.clone(), *r))
        .collect();
    let min = (i64::MIN, 0u32);
    let max = (i64::MAX, u32::MAX);
    let (id, coll) = if items.len() <= k {
        if side == Side::High {
            vals.push(K::Max);
            max
        } else {
            min
        }
    } else {
        match &items[k] {
            Value::Ref(r) => doc_of(r).unwrap_or(max),
            v if sorts_before_refs(v) => min,
            _ => max,
        }
    };
    (vals, id, coll)
}

/// The tighter of two lower bounds.
pub fn max_lower(a: Bound<PosKey>, b: Bound<PosKey>) -> Bound<PosKey> {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            if x > y || (x == y && matches!(a, Bound::Excluded(_))) {
                a
            } else {
                b
            }
        }
    }
}

/// The tighter of two upper bounds.
pub fn min_upper(a: Bound<PosKey>, b: Bound<PosKey>) -> Bound<PosKey> {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            if x < y || (x == y && matches!(a, Bound::Excluded(_))) {
                a
            } else {
                b
            }
        }
    }
}

/// True when `k` lies within the bounds.
pub fn within<T: Ord>(k: &T, lo: &Bound<T>, hi: &Bound<T>) -> bool {
    (lo.as_ref(), hi.as_ref()).contains(k)
}

/// True when no key can satisfy both bounds.
pub fn empty_range<T: Ord>(lo: &Bound<T>, hi: &Bound<T>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b)) => a >= b,
        _ => false,
    }
}
