//! [`ObservedSchema::observe`] for many documents at a time: the paths live in a trie found by
//! key (a map lookup per field, no path built or compared per value), and become the schema's
//! map once, at the end.

use std::collections::HashMap;

use super::{FirstSeen, ObservedSchema, Path, PathStats, Seg};
use crate::fauna::Value;

/// Observes documents; [`finish`](SchemaObserver::finish) gives exactly the schema that
/// [`ObservedSchema::observe`] of the same documents gives.
#[derive(Default)]
pub struct SchemaObserver {
    documents: u64,
    /// Node 0 is `data` itself (its stats unused).
    nodes: Vec<Node>,
}

struct Node {
    path: Path,
    stats: PathStats,
    keys: HashMap<Box<str>, usize>,
    items: Option<usize>,
}

impl SchemaObserver {
    /// Adds one document version's `data` (see [`ObservedSchema::observe`]).
    pub fn observe(&mut self, data: &Value, ts: i64, id: &str) {
        self.documents += 1;
        if let Value::Object(fields) = data {
            if self.nodes.is_empty() {
                self.nodes.push(Node::at(Path(Vec::new())));
            }
            let first = FirstSeen {
                ts,
                id: id.to_string(),
            };
            for (k, v) in fields {
                let node = self.key_child(0, k);
                self.observe_at(node, v, &first);
            }
        }
    }

    /// The schema observed.
    pub fn finish(self) -> ObservedSchema {
        let paths = self
            .nodes
            .into_iter()
            .skip(1)
            .map(|n| (n.path, n.stats))
            .collect();
        ObservedSchema::from_parts(self.documents, paths)
    }

    fn observe_at(&mut self, node: usize, v: &Value, first: &FirstSeen) {
        let Some(stats) = self.nodes.get_mut(node).map(|n| &mut n.stats) else {
            return;
        };
        if !stats.add(v, first) {
            return;
        }
        match v {
            Value::Object(fields) => {
                for (k, child) in fields {
                    let c = self.key_child(node, k);
                    self.observe_at(c, child, first);
                }
            }
            Value::Array(items) => {
                let c = self.items_child(node);
                for item in items {
                    self.observe_at(c, item, first);
                }
            }
            _ => {}
        }
    }

    fn key_child(&mut self, node: usize, key: &str) -> usize {
        if let Some(&c) = self.nodes.get(node).and_then(|n| n.keys.get(key)) {
            return c;
        }
        let c = self.nodes.len();
        let path = match self.nodes.get_mut(node) {
            Some(n) => {
                n.keys.insert(key.into(), c);
                n.path.child(Seg::Key(key.to_string()))
            }
            None => Path(vec![Seg::Key(key.to_string())]),
        };
        self.nodes.push(Node::at(path));
        c
    }

    fn items_child(&mut self, node: usize) -> usize {
        if let Some(c) = self.nodes.get(node).and_then(|n| n.items) {
            return c;
        }
        let c = self.nodes.len();
        let path = match self.nodes.get_mut(node) {
            Some(n) => {
                n.items = Some(c);
                n.path.child(Seg::Items)
            }
            None => Path(vec![Seg::Items]),
        };
        self.nodes.push(Node::at(path));
        c
    }
}

impl Node {
    fn at(path: Path) -> Self {
        Node {
            path,
            stats: PathStats::default(),
            keys: HashMap::new(),
            items: None,
        }
    }
}
