//! A stream's expiring documents: the ids whose latest committed version has a `ttl`, with it.
//! Fauna writes no event when a ttl passes, so the committer keeps this list from the records
//! it commits (saved with the state), and each sync window ends by deleting the ones due
//! (`spec/sync.md`, "Expiring documents").

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::export::{Deletion, Record};

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

/// What the records of the open batch change in the list, applied to the state's list when
/// the batch commits (and forgotten when it is discarded).
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// Each record's change, in commit order.
    changes: Vec<(String, Option<i64>)>,
    /// The latest change per id, for lookups while the batch is open.
    latest: HashMap<String, Option<i64>>,
}

impl Pending {
    /// The ttl of `id`'s latest version as of the open batch: its change in the batch, else
    /// the committed list's.
    pub fn ttl(&self, committed: &Expiring, id: &str) -> Option<i64> {
        match self.latest.get(id) {
            Some(t) => *t,
            None => committed.get(id),
        }
    }

    /// The expiry that must come before `record`: when `record` is a version written at or
    /// after the ttl of the document's latest version (the document expired, and was created
    /// again with the same id), the deletion record of that expiry, at exactly its ttl.
    pub fn expired_before(
        &self,
        committed: &Expiring,
        record: &Record,
        columns: usize,
    ) -> Option<Record> {
        if record.deletion.is_some() {
            return None;
        }
        let ttl = self.ttl(committed, &record.id)?;
        (ttl <= record.ts)
            .then(|| Record::deletion(record.id.clone(), ttl, columns, Deletion::Observed))
    }

    /// Counts `record` into the batch: a version sets its id's ttl (or clears it), a deletion
    /// clears it.
    pub fn record(&mut self, record: &Record) {
        let ttl = match record.deletion {
            Some(_) => None,
            None => record.ttl,
        };
        self.changes.push((record.id.clone(), ttl));
        self.latest.insert(record.id.clone(), ttl);
    }

    /// The batch's changes, in order; the batch is then empty.
    pub fn take(&mut self) -> Vec<(String, Option<i64>)> {
        self.latest.clear();
        std::mem::take(&mut self.changes)
    }
}

/// Applies a committed batch's `changes` to `list`.
pub(crate) fn apply(list: &mut Expiring, changes: Vec<(String, Option<i64>)>) {
    for (id, ttl) in changes {
        list.set(&id, ttl);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: &str, ts: i64, ttl: Option<i64>) -> Record {
        Record {
            id: id.into(),
            ts,
            data: None,
            columns: vec![],
            deletion: None,
            ttl,
        }
    }

    fn list(entries: &[(&str, i64)]) -> Expiring {
        let mut l = Expiring::default();
        for (id, t) in entries {
            l.set(id, Some(*t));
        }
        l
    }

    #[test]
    fn a_later_version_replaces_the_entry_and_a_version_without_ttl_removes_it() {
        let mut l = list(&[("1", 50), ("2", 40), ("3", 40)]);
        assert_eq!(l.due(45).collect::<Vec<_>>(), [(40, "2"), (40, "3")]);
        l.set("2", Some(90));
        l.set("3", None);
        l.set("4", None);
        assert_eq!(l.due(i64::MAX).collect::<Vec<_>>(), [(50, "1"), (90, "2")]);
        assert_eq!((l.get("2"), l.get("3"), l.len()), (Some(90), None, 2));
        assert_eq!(l.due(49).count(), 0);
    }

    #[test]
    fn the_list_is_saved_in_ttl_order_and_read_back() {
        let l = list(&[("10", 7), ("9", 7), ("2", 3)]);
        let text = serde_json::to_string(&l).unwrap();
        assert_eq!(text, r#"{"2":3,"10":7,"9":7}"#);
        assert_eq!(serde_json::from_str::<Expiring>(&text).unwrap(), l);
        for bad in [r#"{"1":"x"}"#, r#"[1]"#, r#"{"1":2,"1":3}"#] {
            assert!(serde_json::from_str::<Expiring>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_open_batch_sees_its_own_changes_before_the_committed_list() {
        let committed = list(&[("1", 50), ("2", 60)]);
        let mut p = Pending::default();
        p.record(&version("1", 10, Some(80)));
        p.record(&Record::deletion("2".into(), 20, 0, Deletion::Observed));
        p.record(&version("3", 30, Some(70)));
        assert_eq!(
            (
                p.ttl(&committed, "1"),
                p.ttl(&committed, "2"),
                p.ttl(&committed, "3")
            ),
            (Some(80), None, Some(70))
        );
        let mut l = committed.clone();
        apply(&mut l, p.take());
        assert_eq!(l, list(&[("1", 80), ("3", 70)]));
        assert_eq!(p.ttl(&committed, "1"), Some(50), "taken: nothing pending");
    }

    #[test]
    fn a_version_written_at_or_after_the_ttl_follows_the_expiry() {
        let committed = list(&[("1", 50)]);
        let p = Pending::default();
        assert_eq!(
            p.expired_before(&committed, &version("1", 49, None), 2),
            None
        );
        assert_eq!(
            p.expired_before(&committed, &version("1", 50, None), 2),
            Some(Record::deletion("1".into(), 50, 2, Deletion::Observed))
        );
        let gone = Record::deletion("1".into(), 60, 0, Deletion::Detected);
        assert_eq!(p.expired_before(&committed, &gone, 0), None);
        assert_eq!(
            p.expired_before(&committed, &version("2", 99, None), 0),
            None
        );
    }

    /// The figures of `spec/state-format.md` ("Expiring documents"): the state file's size and
    /// save time, and the Airbyte STATE message's size and making, with `n` expiring documents.
    #[test]
    #[ignore = "a measurement: cargo test --lib --config 'profile.dev.package.fauna-sync.opt-level=3' expiring_state_size -- --ignored --nocapture"]
    fn expiring_state_size_and_save_time() {
        use crate::sync::{State, StreamState};
        use std::time::Instant;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("_state.json");
        for n in [0_i64, 1_000, 10_000, 100_000, 1_000_000] {
            let mut stream = StreamState::new(1_788_400_000_000_000, "jsonl");
            for i in 0..n {
                // Ids and ttls as Fauna writes them: 18 and 16 digits.
                let id = (370_000_000_000_000_000 + i * 7_919).to_string();
                stream
                    .expiring
                    .set(&id, Some(1_788_400_000_000_000 + i * 1_000_003));
            }
            let mut state = State::new();
            state.streams.insert("players".into(), stream);
            let runs = if n >= 1_000_000 { 3 } else { 10 };
            let t = Instant::now();
            for _ in 0..runs {
                state.save(&path).unwrap();
            }
            let save = t.elapsed() / runs;
            let bytes = std::fs::metadata(&path).unwrap().len();
            let t = Instant::now();
            let message =
                serde_json::to_string(&serde_json::to_value(&state.streams["players"]).unwrap())
                    .unwrap();
            let airbyte = t.elapsed();
            let t = Instant::now();
            let loaded = State::load(&path).unwrap();
            let load = t.elapsed();
            assert_eq!(loaded, state);
            println!(
                "{n:>9} expiring: state file {bytes:>11} bytes, save {save:>10.1?}, load {load:>10.1?}; Airbyte stream_state {:>11} bytes, made in {airbyte:>10.1?}",
                message.len()
            );
        }
    }
}
