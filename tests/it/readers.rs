//! Each reader on its own against fauna-dev: exact items, exact cursors, exact resumes.

use fauna_sync::config::CollectionSettings;
use fauna_sync::fauna::{ClientOptions, FaunaClient, RetryPolicy, Secret, Value};
use fauna_sync::read::{
    split_points, DeletionEvents, Documents, IndexChanges, Item, Reader, Vanished,
};

use crate::support::{execute, Fixture};

const SCHEMA: &str = r#"{
  "collections": [{"name": "c", "history_days": null}],
  "indexes": [{"name": "c_by_ts", "source": "c", "values": [{"field": "ts"}, {"field": "ref"}]}],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

/// 101 and 102 written in one transaction (same ts), 103 later, 101 updated, 104 created and
/// deleted, 102's ttl set (a remove + add in Documents(c) that is not a deletion).
const T: i64 = 1_658_188_683_000_000;

fn docs() -> String {
    [
        format!(r#"{{"id":"101","ts":{},"data":{{"v":1}}}}"#, T + 10),
        format!(r#"{{"id":"102","ts":{},"data":{{"v":1}}}}"#, T + 10),
        format!(r#"{{"id":"103","ts":{},"data":{{"v":1}}}}"#, T + 20),
        format!(r#"{{"id":"104","ts":{},"data":{{"v":1}}}}"#, T + 25),
        format!(r#"{{"id":"101","ts":{},"data":{{"v":2}}}}"#, T + 30),
        format!(r#"{{"id":"104","ts":{},"action":"delete"}}"#, T + 40),
    ]
    .join("\n")
        + "\n"
}

fn settings(page_size: u32) -> CollectionSettings {
    CollectionSettings {
        name: "c".into(),
        index: None,
        data_column: true,
        columns: vec![],
        page_size,
        // The page sizes of these tests place page boundaries: keep them.
        page_size_fixed: true,
        deletion_column: Some("deleted_at".into()),
        history_gap: Default::default(),
        typed: false,
        contract: None,
    }
}

fn client(url: &str) -> FaunaClient {
    FaunaClient::new(ClientOptions {
        endpoint: url.into(),
        secret: Secret::new("fnTestServer"),
        query_timeout: std::time::Duration::from_secs(10),
        retry: RetryPolicy::default(),
    })
    .unwrap()
}

/// Every item from `start` on: (id, ts, deleted?) of exported records, and the cursors.
async fn all<R: Reader>(r: &R, start: Option<Value>) -> (Vec<(String, i64, bool)>, Vec<Item>) {
    let (mut records, mut items) = (Vec::new(), Vec::new());
    let mut cursor = start;
    loop {
        let page = r.page(cursor.take()).await.unwrap();
        for item in &page.items {
            if let Some(rec) = &item.record {
                records.push((rec.id.clone(), rec.ts, rec.deletion.is_some()));
            }
        }
        items.extend(page.items);
        match page.next {
            Some(n) => cursor = Some(n),
            None => return (records, items),
        }
    }
}

fn ids(records: &[(String, i64, bool)]) -> Vec<&str> {
    records.iter().map(|r| r.0.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_at_a_snapshot_in_id_order_resumable_at_any_item() {
    let fx = Fixture::start(SCHEMA, &[("c", docs())]).await;
    let client = client(&fx.server.url());
    let s = settings(2);
    // At T+25: 101 v1, 102, 103, 104 (not yet deleted).
    let r = Documents {
        client: &client,
        settings: &s,
        at: Some(T + 25),
        before_ts: None,
        until: None,
    };
    let (records, items) = all(&r, None).await;
    assert_eq!(
        records,
        [
            ("101".into(), T + 10, false),
            ("102".into(), T + 10, false),
            ("103".into(), T + 20, false),
            ("104".into(), T + 25, false)
        ]
    );
    // Starting at the third item's cursor yields exactly the rest.
    let (rest, _) = all(&r, Some(items[2].cursor.value())).await;
    assert_eq!(ids(&rest), ["103", "104"]);
    // Now, with versions at or after T+30 read but not exported.
    let r = Documents {
        client: &client,
        settings: &s,
        at: None,
        before_ts: Some(T + 30),
        until: None,
    };
    let (records, items) = all(&r, None).await;
    assert_eq!(ids(&records), ["102", "103"]);
    assert_eq!(items.len(), 3, "101 is read, not exported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_of_a_range_stop_before_the_next_ranges_first_document() {
    let fx = Fixture::start(SCHEMA, &[("c", docs())]).await;
    let client = client(&fx.server.url());
    // Page size 2: 103 is the first item of the second page (the first page's `after`), and
    // 102 is inside the first page.
    let s = settings(2);
    for (until, expected) in [("103", vec!["101", "102"]), ("102", vec!["101"])] {
        let r = Documents {
            client: &client,
            settings: &s,
            at: Some(T + 25),
            before_ts: None,
            until: Some(until.into()),
        };
        let (records, items) = all(&r, None).await;
        assert_eq!(ids(&records), expected, "until {until}");
        assert_eq!(items.len(), expected.len());
    }
    // Split points are documents that exist at the snapshot, evenly spread over the ids.
    let points = split_points(&client, "c", Some(T + 25), None, 4)
        .await
        .unwrap();
    assert_eq!(points, ["102", "103"]);
    let points = split_points(&client, "c", Some(T + 25), Some("102"), 2)
        .await
        .unwrap();
    assert_eq!(points, ["103"]);
    let points = split_points(&client, "c", Some(T + 25), Some("103"), 4)
        .await
        .unwrap();
    assert!(points.is_empty(), "103..104 cannot be split: {points:?}");
    assert!(split_points(&client, "c", Some(T + 25), None, 1)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_changes_in_ts_ref_order_never_skip_or_repeat_documents_sharing_a_ts() {
    let fx = Fixture::start(SCHEMA, &[("c", docs())]).await;
    let client = client(&fx.server.url());
    // Page size 1: the page boundary falls between 101 and 102, which share a ts.
    let s = settings(1);
    let r = IndexChanges {
        client: &client,
        settings: &s,
        index: "c_by_ts",
        since: T + 10,
        until: None,
        at: T + 35,
    };
    let (records, items) = all(&r, None).await;
    assert_eq!(
        records,
        [
            ("102".into(), T + 10, false),
            ("103".into(), T + 20, false),
            ("104".into(), T + 25, false),
            ("101".into(), T + 30, false)
        ]
    );
    // Each item's cursor is its own entry [ts, ref]: resuming there yields it and the rest.
    for (k, item) in items.iter().enumerate() {
        let (rest, _) = all(&r, Some(item.cursor.value())).await;
        assert_eq!(rest, records[k..], "from item {k}");
    }
    // A window [T+20, T+25].
    let w = IndexChanges {
        since: T + 20,
        until: Some(T + 25),
        ..r
    };
    assert_eq!(ids(&all(&w, None).await.0), ["103", "104"]);
    // Both documents written in one transaction, at their shared ts.
    let both = IndexChanges {
        since: T + 10,
        until: Some(T + 10),
        at: T + 15,
        ..w
    };
    assert_eq!(ids(&all(&both, None).await.0), ["101", "102"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_events_are_deletions_only_and_a_ttl_change_is_not_one() {
    let fx = Fixture::start(SCHEMA, &[("c", docs())]).await;
    // A ttl change writes remove + add in Documents(c); a real delete writes remove only.
    let r = execute(
        &fx.engine,
        "fnTestServer",
        r#"{"update":{"ref":{"collection":"c"},"id":"102"},"params":{"object":{"ttl":{"@ts":"2100-01-01T00:00:00Z"}}}}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = execute(
        &fx.engine,
        "fnTestServer",
        r#"{"delete":{"ref":{"collection":"c"},"id":"103"}}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let client = client(&fx.server.url());
    let now = match client
        .query(&fauna_sync::fauna::Expr::to_micros(
            fauna_sync::fauna::Expr::now(),
        ))
        .await
        .unwrap()
    {
        Value::Int(t) => t,
        other => panic!("{other:?}"),
    };
    let s = settings(3);
    let r = DeletionEvents {
        client: &client,
        settings: &s,
        since: T,
        at: now,
    };
    let (records, items) = all(&r, None).await;
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0], ("104".into(), T + 40, true));
    assert_eq!((records[1].0.as_str(), records[1].2), ("103", true));
    assert!(records[1].1 > T + 40);
    // Resume at the second deletion's event: only it again.
    let k = items
        .iter()
        .position(|i| i.record.as_ref().is_some_and(|r| r.id == "103"))
        .unwrap();
    let (rest, _) = all(&r, Some(items[k].cursor.value())).await;
    assert_eq!(ids(&rest), ["103"]);
    // Since after the first deletion: only the later one.
    let later = DeletionEvents { since: T + 41, ..r };
    assert_eq!(ids(&all(&later, None).await.0), ["103"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vanished_yields_exported_ids_missing_at_the_time() {
    let fx = Fixture::start(SCHEMA, &[("c", docs())]).await;
    let client = client(&fx.server.url());
    let s = settings(1);
    let dir = tempfile::tempdir().unwrap();
    let exported = sorted_ids(dir.path(), "all", &["101", "102", "103", "104"]);
    // At T+45, 104 is gone (deleted at T+40, the event still held: its real ts).
    let r = Vanished {
        client: &client,
        settings: &s,
        exported: &exported,
        at: T + 45,
        ranges: 1,
    };
    let (records, _) = all(&r, None).await;
    assert_eq!(records, [("104".into(), T + 40, true)]);
    assert!(
        r.page(None).await.unwrap().items[0]
            .record
            .as_ref()
            .unwrap()
            .detected()
            == Some(false)
    );
    // At T+22 nothing exported is gone yet (104 did not exist then, but it was never live).
    let early = Vanished { at: T + 22, ..r };
    let exported_early = sorted_ids(dir.path(), "early", &["101", "102", "103"]);
    let early = Vanished {
        exported: &exported_early,
        ..early
    };
    assert!(all(&early, None).await.0.is_empty());
}

/// A sorted id file holding `ids` (already in document order).
fn sorted_ids(dir: &std::path::Path, name: &str, ids: &[&str]) -> fauna_sync::id_set::SortedIds {
    let path = dir.join(name);
    std::fs::write(
        &path,
        ids.iter().map(|i| format!("{i}\n")).collect::<String>(),
    )
    .unwrap();
    fauna_sync::id_set::SortedIds::open(&path).unwrap()
}

/// 25,000 exported ids that never existed (multiples of 10) around the fixture's live
/// 101..103 and deleted 104, in id order, and their id set.
fn sparse_exported(dir: &std::path::Path) -> (Vec<String>, fauna_sync::id_set::SortedIds) {
    let mut ids: Vec<String> = (1..=25_000).map(|i| (i * 10).to_string()).collect();
    ids.extend(["101", "102", "103", "104"].map(String::from));
    ids.sort_by(|a, b| fauna_sync::export::id_order(a, b));
    ids.dedup();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let exported = sorted_ids(dir, "ids", &refs);
    (ids, exported)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vanished_compares_in_bounded_pages_and_marks_deletions_without_events_detected() {
    let fx = Fixture::start(SCHEMA, &[("c", docs())]).await;
    let client = client(&fx.server.url());
    let s = settings(1);
    // 25,000 exported ids that never existed (no events: detected, stamped `at`) around the
    // live ones 101..103; 104's deletion event is still held.
    let dir = tempfile::tempdir().unwrap();
    let (ids, exported) = sparse_exported(dir.path());
    let r = Vanished {
        client: &client,
        settings: &s,
        exported: &exported,
        at: T + 45,
        ranges: 1,
    };
    let mut pages = 0;
    let mut after = None;
    let mut got = Vec::new();
    loop {
        let page = r.page(after).await.unwrap();
        pages += 1;
        assert!(
            page.items.len() <= 10_000,
            "a page compares at most 10,000 ids"
        );
        got.extend(page.items.into_iter().map(|i| i.record.unwrap()));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let want: Vec<&String> = ids
        .iter()
        .filter(|i| !["101", "102", "103"].contains(&i.as_str()))
        .collect();
    assert_eq!(got.iter().map(|r| &r.id).collect::<Vec<_>>(), want);
    for rec in &got {
        let observed = rec.id == "104";
        assert_eq!(rec.detected(), Some(!observed), "{}", rec.id);
        assert_eq!(rec.ts, if observed { T + 40 } else { T + 45 }, "{}", rec.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vanished_in_concurrent_ranges_yields_what_one_range_does() {
    let fx = Fixture::start(SCHEMA, &[("c", docs())]).await;
    let client = client(&fx.server.url());
    let s = settings(1);
    // 25,000 exported ids that never existed around the live 101..103 and the deleted 104.
    let dir = tempfile::tempdir().unwrap();
    let (_, exported) = sparse_exported(dir.path());
    let one = Vanished {
        client: &client,
        settings: &s,
        exported: &exported,
        at: T + 45,
        ranges: 1,
    };
    let (sequential, _) = all(&one, None).await;
    let four = Vanished { ranges: 4, ..one };
    let (concurrent, items) = all(&four, None).await;
    assert_eq!(concurrent, sequential);
    assert_eq!(concurrent.len(), 25_001);
    // Resumed from a cursor inside the set: the rest, from that id on.
    let from = Value::Array(vec![Value::Ref(fauna_sync::fauna::Ref::document(
        "c", "12340",
    ))]);
    let (rest, _) = all(&four, Some(from)).await;
    let at = sequential.iter().position(|r| r.0 == "12340").unwrap();
    assert_eq!(rest, sequential[at..]);
    assert_eq!(items.len(), 25_001);
}
