use super::*;

fn doc(id: &str) -> Record {
    Record {
        id: id.into(),
        ts: 1,
        data: None,
        columns: vec![],
        deletion: None,
        ttl: None,
    }
}

fn gone(id: &str) -> Record {
    Record {
        deletion: Some(crate::export::Deletion::Observed),
        ttl: None,
        ..doc(id)
    }
}

fn all(set: &mut IdSet) -> Vec<String> {
    set.compact().unwrap();
    set.sorted().unwrap().range(None, usize::MAX).unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('.'))
        .collect();
    v.sort();
    v
}

#[test]
fn additions_and_removals_in_order_last_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let mut set = IdSet::open(dir.path(), "s", Start::New { started: false }).unwrap();
    set.record(&[doc("10"), doc("2"), doc("b"), doc("2")])
        .unwrap();
    set.record(&[gone("10"), doc("a"), gone("b"), doc("b"), gone("nope")])
        .unwrap();
    assert_eq!(all(&mut set), ["2", "a", "b"]);
    set.record(&[gone("2"), doc("1"), doc("100"), gone("a")])
        .unwrap();
    assert_eq!(all(&mut set), ["1", "100", "b"]);
    assert_eq!(set.mark().generation, 2);
    set.prune();
    assert_eq!(names(dir.path()), ["s.delta.2", "s.set.2"]);
}

#[test]
fn a_reopened_set_drops_what_the_state_never_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut set = IdSet::open(dir.path(), "s", Start::New { started: false }).unwrap();
    let committed = set.record(&[doc("1"), doc("2")]).unwrap();
    set.compact().unwrap(); // a compaction the state never recorded …
    set.record(&[doc("3")]).unwrap(); // … and a batch after it
    drop(set);
    let mut set = IdSet::open(dir.path(), "s", Start::Mark(committed)).unwrap();
    assert_eq!(set.mark(), committed);
    assert_eq!(all(&mut set), ["1", "2"]);
    set.prune();
    assert_eq!(names(dir.path()), ["s.delta.1", "s.set.1"]);
}

#[test]
fn large_deltas_are_merged_into_a_new_generation() {
    let dir = tempfile::tempdir().unwrap();
    let mut set = IdSet::open(dir.path(), "s", Start::New { started: false }).unwrap();
    let batch: Vec<Record> = (0..60_000u64)
        .rev()
        .map(|i| doc(&(100_000_000_000_000_000 + i).to_string()))
        .collect();
    let mut generations = vec![];
    for chunk in batch.chunks(10_000) {
        generations.push(set.record(chunk).unwrap().generation);
    }
    // Lines of 20 bytes: the sixth chunk takes the delta past COMPACT_AT (1 MiB).
    assert_eq!(generations, [0, 0, 0, 0, 0, 1]);
    assert_eq!(set.mark().delta_len, 0);
    let ids = all(&mut set);
    assert_eq!(ids.len(), 60_000);
    assert!(ids.windows(2).all(|w| id_order_lt(&w[0], &w[1])));
}

fn id_order_lt(a: &str, b: &str) -> bool {
    crate::export::id_order(a, b).is_lt()
}

#[test]
fn a_version_2_0_id_log_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.ids"), "3\n1\n3\n2\n9\n").unwrap();
    // The state recorded 8 bytes: "9" was never committed.
    let mut set = IdSet::open(dir.path(), "s", Start::Log(8)).unwrap();
    assert_eq!(set.mark().generation, 1);
    assert_eq!(all(&mut set), ["1", "2", "3"]);
    // The old log is removed only once the state names the new set.
    assert!(dir.path().join("s.ids").exists());
    set.prune();
    assert!(!dir.path().join("s.ids").exists());
}

#[test]
fn a_set_started_late_is_incomplete_and_a_damaged_delta_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let set = IdSet::open(dir.path(), "s", Start::New { started: true }).unwrap();
    assert!(!set.is_complete());
    assert!(!set.mark().complete);
    drop(set);
    std::fs::write(dir.path().join("t.delta.0"), "+1\n*2\n").unwrap();
    let mark = IdsMark {
        generation: 0,
        delta_len: 6,
        complete: true,
    };
    let mut set = IdSet::open(dir.path(), "t", Start::Mark(mark)).unwrap();
    let e = set.compact().unwrap_err();
    assert!(e.to_string().contains("neither +id nor -id"), "{e}");
}

#[test]
fn a_frozen_set_survives_the_next_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut set = IdSet::open(dir.path(), "s", Start::New { started: false }).unwrap();
    set.record(&[doc("1"), doc("2"), doc("3")]).unwrap();
    set.compact().unwrap();
    let frozen = set.sorted().unwrap();
    set.record(&[gone("2")]).unwrap();
    set.compact().unwrap();
    set.prune();
    assert_eq!(frozen.range(None, 10).unwrap(), ["1", "2", "3"]);
    assert_eq!(all(&mut set), ["1", "3"]);
}

#[test]
fn the_delta_grows_with_the_base_up_to_its_cap() {
    assert_eq!(compact_threshold(0), COMPACT_AT);
    assert_eq!(compact_threshold(4 << 20), COMPACT_AT);
    assert_eq!(compact_threshold(12 << 20), 3 << 20);
    assert_eq!(compact_threshold(1 << 40), MAX_DELTA);
}

#[test]
fn a_large_base_is_merged_once_per_quarter_of_it_and_keeps_every_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut set = IdSet::open(dir.path(), "s", Start::New { started: false }).unwrap();
    // 400,000 ids of 20 bytes a line (an 8 MB base), then batches of 20,000 (400 KB).
    let first: Vec<Record> = (0..400_000u64)
        .map(|i| doc(&(10_000_000_000_000_000 + i * 10).to_string()))
        .collect();
    set.record(&first).unwrap();
    set.compact().unwrap();
    let generation = set.mark().generation;
    let mut added = 0u64;
    for batch in 0..4u64 {
        let ids: Vec<Record> = (0..20_000u64)
            .map(|i| doc(&(10_000_000_000_000_001 + (batch * 20_000 + i) * 10).to_string()))
            .collect();
        set.record(&ids).unwrap();
        added += 20_000;
    }
    // 1.7 MB of delta (lines of 21 bytes), under the base's quarter (2 MiB): no merge yet; a
    // fixed 1 MiB would have merged.
    assert_eq!(set.mark().generation, generation);
    set.compact().unwrap();
    let sorted = set.sorted().unwrap();
    let got = sorted.range(None, 1_000_000).unwrap();
    assert_eq!(got.len() as u64, 400_000 + added);
    assert!(got
        .windows(2)
        .all(|w| crate::export::id_order(&w[0], &w[1]).is_lt()));
}
