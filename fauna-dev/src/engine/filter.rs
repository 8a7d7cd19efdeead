//! `Filter(lambda, set)`: a set of the elements of `set` for which the lambda returns true
//! (`LambdaFilterSet`). Pages read the source in chunks and keep the matching elements, so a
//! page holds `size` matching elements and cursors are the source's element cursors.

use std::ops::Bound;
use std::rc::Rc;

use super::cursor::PosKey;
use super::error::{err, R};
use super::eval::{to_bool, Ev};
use super::paginate::{Elem, Source};
use super::parse::{Ast, Kind, NodeId};
use super::val::{SetV, Val};

/// Source elements read per chunk while filtering.
const CHUNK: usize = 256;

/// One filter predicate: the lambda and the node errors are reported at.
pub type Predicate = (Val, NodeId);

/// The predicates of the `Filter` layers of a set (through `Range`), innermost first.
pub fn predicates(set: &SetV) -> Vec<Predicate> {
    let mut out = Vec::new();
    let mut cur = set;
    loop {
        match cur {
            SetV::Filter { set, lambda, node } => {
                out.push((lambda.clone(), *node));
                cur = set;
            }
            SetV::Range { set, .. } => cur = set,
            _ => break,
        }
    }
    out.reverse();
    out
}

/// True when the lambda's body contains a write (not allowed in a set filter).
pub fn lambda_writes(ast: &Ast, lambda: &Val) -> bool {
    let Val::Lambda(l) = lambda else { return false };
    let inside = |mut id: NodeId| {
        while let Some(n) = ast.nodes.get(id as usize) {
            if id == l.node {
                return true;
            }
            id = n.parent;
        }
        false
    };
    ast.nodes
        .iter()
        .enumerate()
        .any(|(i, n)| matches!(&n.kind, Kind::Call(f, _) if f.writes()) && inside(i as NodeId))
}

impl Ev<'_> {
    /// `Filter(lambda, set)`.
    pub fn filter_set(&mut self, set: Rc<SetV>, lambda: Val, lnode: NodeId) -> R<Val> {
        if lambda_writes(self.ast, &lambda) {
            return err(
                lnode,
                "invalid argument",
                "Invalid lambda. Lambda in this context may not write or call a user function.",
            );
        }
        Ok(Val::Set(Rc::new(SetV::Filter {
            set,
            lambda,
            node: lnode,
        })))
    }

    /// Like [`Ev::collect`], keeping only elements that pass every predicate.
    #[allow(clippy::too_many_arguments)]
    pub fn collect_filtered(
        &mut self,
        src: &Source,
        lo: &Bound<PosKey>,
        hi: &Bound<PosKey>,
        desc: bool,
        limit: usize,
        preds: &[Predicate],
        k: usize,
    ) -> R<Vec<Elem>> {
        if preds.is_empty() {
            return self.collect(src, lo, hi, desc, limit);
        }
        let (mut lo, mut hi) = (lo.clone(), hi.clone());
        let mut out = Vec::new();
        while out.len() < limit {
            let chunk = self.collect(src, &lo, &hi, desc, CHUNK)?;
            let exhausted = chunk.len() < CHUNK;
            if let Some(last) = chunk.last() {
                if desc {
                    hi = Bound::Excluded(last.key.clone());
                } else {
                    lo = Bound::Excluded(last.key.clone());
                }
            }
            for e in chunk {
                if self.passes(&e, preds, k)? {
                    out.push(e);
                    if out.len() == limit {
                        break;
                    }
                }
            }
            if exhausted {
                break;
            }
        }
        Ok(out)
    }

    fn passes(&mut self, e: &Elem, preds: &[Predicate], k: usize) -> R<bool> {
        for (lambda, node) in preds {
            let keep = self.apply(lambda, e.data(k), *node)?;
            if !to_bool(&keep, *node)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
