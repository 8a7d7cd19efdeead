//! The folds `Count`, `Sum`, `Mean` and the tests `IsEmpty`, `IsNonEmpty`, over arrays, pages
//! and sets. Like the real server's `AbstractFoldFunction`, a fold over a page gives a page
//! whose data is the one result, keeping the page's cursors.

use std::rc::Rc;

use fauna_wire::Value;

use crate::engine::error::{err, expected, R};
use crate::engine::eval::Ev;
use crate::engine::paginate::Dir;
use crate::engine::parse::{value_type, NodeId, F};
use crate::engine::scope::rescope;
use crate::engine::val::{Env, PageV, SetV, Val};

/// A running `Sum`: integer until a double comes along.
enum Acc {
    Int(i64),
    Double(f64),
}

impl Ev<'_> {
    /// Evaluates the counting forms.
    pub fn count_like(
        &mut self,
        n: NodeId,
        f: F,
        args: &[(&'static str, NodeId)],
        env: &Env,
    ) -> R<Val> {
        let (v, node) = self.main_arg(n, f, args, env)?;
        if matches!(f, F::IsEmpty | F::IsNonEmpty) {
            let count = match v {
                Val::Page(p) => p.data.len(),
                other => self.elements(other, node, 1)?.len(),
            };
            return Ok(Val::V(Value::Bool((count == 0) == (f == F::IsEmpty))));
        }
        match v {
            Val::Page(p) => {
                let folded = fold(f, &p.data, node)?;
                Ok(Val::Page(Rc::new(PageV {
                    before: p.before.clone(),
                    after: p.after.clone(),
                    data: vec![folded],
                })))
            }
            other => {
                let limit = if f == F::Count {
                    usize::MAX
                } else {
                    usize::MAX - 1
                };
                let elems = self.elements(other, node, limit)?;
                fold(f, &elems, node)
            }
        }
    }

    /// The elements of an array or a set (documents' refs, or index values), up to `limit`.
    fn elements(&mut self, v: Val, node: NodeId, limit: usize) -> R<Vec<Val>> {
        match v {
            Val::Arr(a) => Ok(a),
            Val::V(Value::Array(a)) => Ok(a.into_iter().map(Val::V).collect()),
            Val::Set(s) => self.set_values(&s, node, limit),
            Val::V(Value::Ref(r)) => {
                let s = self.as_set(Val::V(Value::Ref(r)), node)?;
                self.set_values(&s, node, limit)
            }
            other => expected(node, "Array, Set, or Page", other.type_name()),
        }
    }

    /// The elements of a set, read in its database.
    fn set_values(&mut self, s: &SetV, node: NodeId, limit: usize) -> R<Vec<Val>> {
        let (path, s) = match s {
            SetV::Scoped(path, inner) => (path.as_slice(), &**inner),
            other => (&[][..], other),
        };
        let mut out = self.in_scope(path, |ev| match s {
            SetV::Events(inner) => {
                let page = ev.events_page(inner, Dir::After(None), usize::MAX - 1, node)?;
                Ok(page.data)
            }
            other => {
                let (elems, k) = ev.set_elements(other, node, limit)?;
                Ok(elems.iter().map(|e| e.data(k)).collect())
            }
        })?;
        out.iter_mut().for_each(|v| rescope(v, path));
        Ok(out)
    }
}

/// Folds the elements: their number, their sum, or their mean (a double; an empty
/// collection has none).
fn fold(f: F, elems: &[Val], node: NodeId) -> R<Val> {
    if f == F::Count {
        return Ok(Val::V(Value::Int(elems.len() as i64)));
    }
    let mut acc = Acc::Int(0);
    for e in elems {
        acc = match (acc, e.to_value()) {
            (Acc::Int(a), Value::Int(b)) => Acc::Int(a.wrapping_add(b)),
            (Acc::Int(a), Value::Double(b)) => Acc::Double(a as f64 + b),
            (Acc::Double(a), Value::Int(b)) => Acc::Double(a + b as f64),
            (Acc::Double(a), Value::Double(b)) => Acc::Double(a + b),
            (_, other) => return expected(node, "Number", value_type(&other)),
        };
    }
    Ok(Val::V(match (f, acc) {
        (F::Sum, Acc::Int(a)) => Value::Int(a),
        (F::Sum, Acc::Double(a)) => Value::Double(a),
        _ if elems.is_empty() => {
            return err(node, "invalid argument", "Non-empty array expected.");
        }
        (_, Acc::Int(a)) => Value::Double(a as f64 / elems.len() as f64),
        (_, Acc::Double(a)) => Value::Double(a / elems.len() as f64),
    }))
}
