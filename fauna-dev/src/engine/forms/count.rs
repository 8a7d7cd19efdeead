//! `Count`, `IsEmpty`, `IsNonEmpty` over arrays, pages and sets.

use fauna_wire::Value;

use crate::engine::error::{expected, R};
use crate::engine::eval::Ev;
use crate::engine::parse::{NodeId, F};
use crate::engine::val::{Env, SetV, Val};

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
        let limit = if f == F::Count { usize::MAX } else { 1 };
        let count = match v {
            Val::Page(p) => p.data.len(),
            Val::Arr(a) => a.len(),
            Val::V(Value::Array(a)) => a.len(),
            Val::Set(s) => match &*s {
                SetV::Events(inner) => {
                    let page = self.events_page(
                        inner,
                        crate::engine::paginate::Dir::After(None),
                        usize::MAX - 1,
                        node,
                    )?;
                    page.data.len()
                }
                other => self.set_elements(other, node, limit)?.0.len(),
            },
            Val::V(Value::Ref(r)) => {
                let s = self.as_set(Val::V(Value::Ref(r)), node)?;
                self.set_elements(&s, node, limit)?.0.len()
            }
            other => return expected(node, "Array or Set", other.type_name()),
        };
        Ok(Val::V(match f {
            F::Count => Value::Int(count as i64),
            F::IsEmpty => Value::Bool(count == 0),
            _ => Value::Bool(count > 0),
        }))
    }
}
