//! Where a type was first seen: the earliest (ts, document id).

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::export::id_order;

/// The document version that first showed something: its `ts` (microseconds) and id.
/// Ordered by `ts`, then id in Fauna's id order, then the id text, so "first" is the minimum
/// and does not depend on the order documents were observed in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FirstSeen {
    /// The version's timestamp, microseconds since the epoch.
    pub ts: i64,
    /// The document id.
    pub id: String,
}

impl FirstSeen {
    /// The earlier of `self` and `other`, kept in `self`.
    pub fn keep_earlier(&mut self, other: &FirstSeen) {
        if other < self {
            *self = other.clone();
        }
    }
}

impl Ord for FirstSeen {
    fn cmp(&self, other: &Self) -> Ordering {
        self.ts
            .cmp(&other.ts)
            .then_with(|| id_order(&self.id, &other.id))
            .then_with(|| self.id.cmp(&other.id))
    }
}

impl PartialOrd for FirstSeen {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
