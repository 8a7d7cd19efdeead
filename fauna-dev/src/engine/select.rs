//! `Select` paths, including the `all: true` variant (`select_all`), as the real server's
//! `ReadAdaptor.valueAtPath0`: with `all`, a string step applied to an array is applied to every
//! element (missing ones dropped, array results spliced in), and an array at the end of the path
//! is flattened completely.

use fauna_wire::{PathStep, Value};

use super::val::Val;

/// The value at `path` in `v`; `all` selects from every element of arrays on the way.
pub fn value_at_path(v: &Val, path: &[PathStep<'_>], all: bool) -> Option<Val> {
    if !all {
        return v.select(path);
    }
    if let Some(items) = array_items(v) {
        return match path.split_first() {
            Some((PathStep::Index(i), rest)) => {
                value_at_path(items.get(usize::try_from(*i).ok()?)?, rest, all)
            }
            _ => Some(flatten(&items, path)),
        };
    }
    let Some((first, rest)) = path.split_first() else {
        return Some(v.clone());
    };
    let next = v.select(std::slice::from_ref(first))?;
    value_at_path(&next, rest, all)
}

/// `Select(…, all: true)`'s result: always an array, `[]` when nothing was found (the default
/// is never used, as on the real server).
pub fn select_all(v: &Val, path: &[PathStep<'_>]) -> Val {
    match value_at_path(v, path, true) {
        None => Val::Arr(Vec::new()),
        Some(found) if array_items(&found).is_some() => found,
        Some(other) => Val::Arr(vec![other]),
    }
}

fn array_items(v: &Val) -> Option<Vec<Val>> {
    match v {
        Val::Arr(a) => Some(a.clone()),
        Val::V(Value::Array(a)) => Some(a.iter().cloned().map(Val::V).collect()),
        _ => None,
    }
}

fn flatten(items: &[Val], path: &[PathStep<'_>]) -> Val {
    let mut out = Vec::new();
    for item in items {
        match value_at_path(item, path, true) {
            None => {}
            Some(found) => match array_items(&found) {
                Some(inner) => out.extend(inner),
                None => out.push(found),
            },
        }
    }
    Val::Arr(out)
}
