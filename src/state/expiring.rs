//! A stream's expiring documents: the ids whose latest committed version has a `ttl`, with it,
//! saved with the stream's state. The committer keeps the list (`crate::sync`), and each sync
//! window ends by deleting the ones due (`spec/sync.md`, "Expiring documents").

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Ids whose latest committed version has a ttl, in `(ttl, id)` order. Saved as a JSON object
/// `{"<id>": <ttl µs>, …}` in that order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expiring {
    by_ttl: BTreeSet<(i64, String)>,
    by_id: HashMap<String, i64>,
}

impl Expiring {
    /// The ttl of `id`'s latest committed version, if it has one.
    pub fn get(&self, id: &str) -> Option<i64> {
        self.by_id.get(id).copied()
    }

    /// Records `id`'s latest committed version: its ttl, or `None` (no ttl, or deleted).
    pub fn set(&mut self, id: &str, ttl: Option<i64>) {
        if self.by_id.get(id).copied() == ttl {
            return;
        }
        if let Some(old) = self.by_id.remove(id) {
            self.by_ttl.remove(&(old, id.to_string()));
        }
        if let Some(t) = ttl {
            self.by_id.insert(id.to_string(), t);
            self.by_ttl.insert((t, id.to_string()));
        }
    }

    /// The entries whose ttl is at or before `at`, in `(ttl, id)` order.
    pub fn due(&self, at: i64) -> impl Iterator<Item = (i64, &str)> + '_ {
        self.by_ttl
            .iter()
            .take_while(move |(t, _)| *t <= at)
            .map(|(t, id)| (*t, id.as_str()))
    }

    /// Every entry, in `(ttl, id)` order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, i64)> + '_ {
        self.by_ttl.iter().map(|(t, id)| (id.as_str(), *t))
    }

    /// Entries.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no committed document has a ttl.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

impl Serialize for Expiring {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.by_ttl.len()))?;
        for (ttl, id) in &self.by_ttl {
            map.serialize_entry(id, ttl)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Expiring {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Expiring;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of document ids and their ttls in microseconds")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Expiring, A::Error> {
                let mut list = Expiring::default();
                while let Some((id, ttl)) = map.next_entry::<String, i64>()? {
                    if list.get(&id).is_some() {
                        return Err(serde::de::Error::custom(format!(
                            "document {id} is listed twice among the expiring documents"
                        )));
                    }
                    list.set(&id, Some(ttl));
                }
                Ok(list)
            }
        }
        d.deserialize_map(Entries)
    }
}
