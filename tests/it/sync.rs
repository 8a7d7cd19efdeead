//! `sync` against fauna-dev: the scenarios of Airbyte source-fauna's database tests, the
//! hand-off from a full export, deletions, an index that is missing or wrong, a cursor in
//! the future, and a history gap.

use std::path::Path;
use std::time::Duration;

use fauna_sync::config::Settings;
use fauna_sync::run::{run, Mode};
use fauna_sync::sink::read_manifest;
use fauna_sync::state::State;
use fauna_sync::sync::{Quiet, Summary};

use crate::support::{execute, load_settings, Fixture};

const SCHEMA: &str = r#"{
  "collections": [{"name": "foo", "history_days": null}, {"name": "bare", "history_days": null}],
  "indexes": [
    {"name": "foo_ts", "source": "foo", "values": [{"field": "ts"}, {"field": "ref"}]},
    {"name": "foo_by_a", "source": "foo", "terms": [{"field": ["data", "a"]}], "values": [{"field": "ts"}, {"field": "ref"}]}
  ],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

const DELETIONS: &str = r#"{"collection": {"name": "foo", "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}}, "output": {"format": "jsonl"}}"#;

fn settings(fx: &Fixture, out: &Path, config: &str) -> Settings {
    let path = fx.dir.path().join("sync.config.json");
    std::fs::write(&path, config).unwrap();
    load_settings(&path, &fx.server.url(), out)
}

fn write(fx: &Fixture, query: &str) {
    let r = execute(&fx.engine, "fnTestServer", query);
    assert!(
        r.status == 200 || r.status == 201,
        "{query}: {} {}",
        r.status,
        r.body
    );
}

fn create(id: &str, a: i64) -> String {
    format!(
        r#"{{"create":{{"ref":{{"collection":"foo"}},"id":"{id}"}},"params":{{"object":{{"data":{{"object":{{"a":{a}}}}}}}}}}}"#
    )
}

fn delete(id: &str) -> String {
    format!(r#"{{"delete":{{"ref":{{"collection":"foo"}},"id":"{id}"}}}}"#)
}

async fn sync(s: &Settings) -> Summary {
    run(s, &Quiet, Mode::Sync { max_duration: None })
        .await
        .unwrap()
}

/// The records (ref, ts, deleted?) of the manifest's files from index `from` on.
fn records_since(out: &Path, from: usize) -> Vec<(String, i64, bool)> {
    let mut v = Vec::new();
    for f in read_manifest(out).unwrap().into_iter().skip(from) {
        for line in std::fs::read_to_string(out.join(&f.path)).unwrap().lines() {
            let r: serde_json::Value = serde_json::from_str(line).unwrap();
            v.push((
                r["ref"].as_str().unwrap().to_string(),
                r["ts"].as_i64().unwrap(),
                !r["deleted_at"].is_null(),
            ));
        }
    }
    v
}

fn ids(r: &[(String, i64, bool)]) -> Vec<(&str, bool)> {
    r.iter().map(|(id, _, d)| (id.as_str(), *d)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_fauna_database_test_scenarios() {
    let fx = Fixture::start(SCHEMA, &[]).await;
    let out = fx.out("sync");
    let s = settings(&fx, &out, DELETIONS);
    // Documents 101-104 created in one transaction.
    write(
        &fx,
        &format!(
            r#"{{"do":[{},{},{},{}]}}"#,
            create("101", 1),
            create("102", 2),
            create("103", 3),
            create("104", 4)
        ),
    );
    let first = sync(&s).await;
    assert_eq!(first.streams[0].changed, 4);
    let all = records_since(&out, 0);
    assert_eq!(
        ids(&all),
        [
            ("101", false),
            ("102", false),
            ("103", false),
            ("104", false)
        ]
    );
    let created_ts = all[0].1;
    assert!(all.iter().all(|r| r.1 == created_ts), "one transaction");
    let state = State::load(&out.join("_state.json")).unwrap();
    let snapshot = state.streams["foo"].snapshot_ts;
    // The hand-off: the full export at its snapshot, then a window from exactly there to
    // now (empty here), where the stream rests.
    match state.streams["foo"].position {
        fauna_sync::state::Position::Synced { to } => assert!(to > snapshot),
        ref other => panic!("{other:?}"),
    }
    assert_eq!(first.streams[0].synced_to.map(|t| t > snapshot), Some(true));

    // A second sync returns nothing.
    let files = read_manifest(&out).unwrap().len();
    let second = sync(&s).await;
    assert_eq!((second.docs, second.streams[0].changed), (0, 0));
    assert_eq!(read_manifest(&out).unwrap().len(), files);

    // Update 102 and create 200 → exactly those two, in ts order.
    write(
        &fx,
        r#"{"update":{"ref":{"collection":"foo"},"id":"102"},"params":{"object":{"data":{"object":{"a":20}}}}}"#,
    );
    write(&fx, &create("200", 200));
    let files = read_manifest(&out).unwrap().len();
    sync(&s).await;
    let got = records_since(&out, files);
    assert_eq!(ids(&got), [("102", false), ("200", false)]);
    assert!(got[0].1 < got[1].1);
    let line =
        std::fs::read_to_string(out.join(&read_manifest(&out).unwrap()[files].path)).unwrap();
    assert!(line.contains(r#""data":{"a":20}"#), "{line}");

    // Delete 101 and 103 → two deletion records, in deletion order, after their creation.
    write(&fx, &delete("103"));
    write(&fx, &delete("101"));
    let files = read_manifest(&out).unwrap().len();
    let third = sync(&s).await;
    assert_eq!((third.streams[0].changed, third.streams[0].deleted), (0, 2));
    let got = records_since(&out, files);
    assert_eq!(ids(&got), [("103", true), ("101", true)]);
    assert!(got[0].1 > created_ts && got[1].1 > got[0].1);

    // A later delete of 102 → one record.
    write(&fx, &delete("102"));
    let files = read_manifest(&out).unwrap().len();
    sync(&s).await;
    assert_eq!(ids(&records_since(&out, files)), [("102", true)]);

    // No change → nothing.
    let files = read_manifest(&out).unwrap().len();
    let idle = sync(&s).await;
    assert_eq!(idle.docs, 0);
    assert_eq!(read_manifest(&out).unwrap().len(), files);

    // Applying every record in order (latest wins, a deletion removes) gives the collection.
    let mut live = std::collections::BTreeMap::new();
    for (id, ts, deleted) in records_since(&out, 0) {
        if deleted {
            live.remove(&id);
        } else {
            live.insert(id, ts);
        }
    }
    assert_eq!(live.keys().collect::<Vec<_>>(), ["104", "200"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_deleted_and_recreated_in_one_window_ends_up_present() {
    let fx = Fixture::start(SCHEMA, &[]).await;
    let out = fx.out("recreate");
    let s = settings(&fx, &out, DELETIONS);
    write(&fx, &create("1", 1));
    sync(&s).await;
    write(&fx, &delete("1"));
    write(&fx, &create("1", 2));
    let files = read_manifest(&out).unwrap().len();
    sync(&s).await;
    // The deletion sorts before the re-creation: applied in order, the document is present.
    assert_eq!(
        ids(&records_since(&out, files)),
        [("1", true), ("1", false)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_deletion_tracking_only_changes_are_read() {
    let fx = Fixture::start(SCHEMA, &[]).await;
    let out = fx.out("nodel");
    let s = settings(
        &fx,
        &out,
        r#"{"collection": {"name": "foo"}, "output": {"format": "jsonl"}}"#,
    );
    write(&fx, &create("1", 1));
    write(&fx, &create("2", 2));
    sync(&s).await;
    write(&fx, &delete("1"));
    write(
        &fx,
        r#"{"update":{"ref":{"collection":"foo"},"id":"2"},"params":{"object":{"data":{"object":{"a":3}}}}}"#,
    );
    let files = read_manifest(&out).unwrap().len();
    let r = sync(&s).await;
    assert_eq!((r.streams[0].changed, r.streams[0].deleted), (1, 0));
    assert_eq!(ids(&records_since(&out, files)), [("2", false)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_unfit_index_is_a_clear_error_naming_the_fql() {
    let fx = Fixture::start(SCHEMA, &[]).await;
    let out = fx.out("noindex");
    let s = settings(
        &fx,
        &out,
        r#"{"collection": {"name": "bare"}, "output": {"format": "jsonl"}}"#,
    );
    let e = run(&s, &Quiet, Mode::Sync { max_duration: None })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), fauna_sync::error::ErrorKind::Config);
    assert_eq!(
        e.to_string(),
        r#"collection 'bare' cannot be synced incrementally: no index the key can read has source the collection, no terms and values [ts, ref]. Create the index with CreateIndex({name: "bare_by_ts", source: Collection("bare"), terms: [], values: [{field: ["ts"]}, {field: ["ref"]}]}) (or name a fitting one in "index")"#
    );
    assert!(!out.join("_state.json").exists(), "nothing recorded");
    for (index, problem) in [
        (
            "foo_by_a",
            "collection 'foo' cannot be synced incrementally: Index 'foo_by_a' should have no terms, but it has terms [data.a]. Create",
        ),
        ("nope", "its configured index 'nope' does not exist"),
    ] {
        let s = settings(
            &fx,
            &out,
            &format!(r#"{{"collection": {{"name": "foo", "index": "{index}"}}}}"#),
        );
        let e = run(&s, &Quiet, Mode::Sync { max_duration: None })
            .await
            .unwrap_err();
        assert!(e.to_string().contains(problem), "{e}");
        assert!(
            e.to_string().contains(r#"CreateIndex({name: "foo_by_ts""#),
            "{e}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_in_the_future_reads_nothing_and_keeps_the_state() {
    let fx = Fixture::start(SCHEMA, &[]).await;
    let out = fx.out("future");
    let s = settings(&fx, &out, DELETIONS);
    write(&fx, &create("1", 1));
    sync(&s).await;
    // Move the cursor a day ahead, as a clock problem or a hand edit might.
    let path = out.join("_state.json");
    let mut state = State::load(&path).unwrap();
    let stream = state.streams.get_mut("foo").unwrap();
    let future = stream.snapshot_ts + 86_400_000_000;
    stream.position = fauna_sync::state::Position::Synced { to: future };
    state.save(&path).unwrap();
    write(&fx, &create("2", 2));
    let r = sync(&s).await;
    assert_eq!((r.docs, r.streams[0].synced_to), (0, None));
    assert_eq!(
        State::load(&path).unwrap().streams["foo"].position,
        fauna_sync::state::Position::Synced { to: future }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_output_is_continued_by_sync() {
    let fx = Fixture::start(SCHEMA, &[]).await;
    let out = fx.out("handoff");
    let s = settings(&fx, &out, DELETIONS);
    write(&fx, &create("1", 1));
    let e = fauna_sync::run::run_export(&s, &Quiet).await.unwrap();
    assert_eq!(e.docs, 1);
    write(&fx, &create("2", 2));
    write(&fx, &delete("1"));
    let files = read_manifest(&out).unwrap().len();
    sync(&s).await;
    assert_eq!(
        ids(&records_since(&out, files)),
        [("2", false), ("1", true)]
    );
}

/// A fixture whose collection keeps history for 300 ms (15 minutes on a real server).
async fn short_history() -> Fixture {
    use fauna_dev::engine::EngineOptions;
    use fauna_dev::server::ServerConfig;
    let schema = r#"{
      "collections": [{"name": "foo", "history_days": 0}],
      "indexes": [{"name": "foo_ts", "source": "foo", "values": [{"field": "ts"}, {"field": "ref"}]}],
      "keys": [{"secret": "fnTestServer", "role": "server"}]
    }"#;
    Fixture::start_with(
        schema,
        &[],
        EngineOptions {
            mvt_offset: std::time::Duration::from_millis(300),
            ..EngineOptions::default()
        },
        ServerConfig::new(),
    )
    .await
}

/// Waits until the history window has passed: the events of earlier writes are gone.
async fn outlive_history() {
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
}

fn update(id: &str, a: i64) -> String {
    format!(
        r#"{{"update":{{"ref":{{"collection":"foo"}},"id":"{id}"}},"params":{{"object":{{"data":{{"object":{{"a":{a}}}}}}}}}}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_gap_is_reconciled_with_detected_deletions() {
    let fx = short_history().await;
    let out = fx.out("gap");
    let s = settings(&fx, &out, DELETIONS);
    for id in ["1", "2", "3", "4"] {
        write(&fx, &create(id, 1));
    }
    sync(&s).await;
    // In the gap: a delete, an update, a create, a delete + re-create of one id, and a
    // document created and deleted (never exported).
    write(&fx, &delete("1"));
    write(&fx, &update("2", 20));
    write(&fx, &create("5", 5));
    write(&fx, &delete("3"));
    write(&fx, &create("3", 30));
    write(&fx, &create("6", 6));
    write(&fx, &delete("6"));
    outlive_history().await;
    let files = read_manifest(&out).unwrap().len();
    let r = sync(&s).await;
    let to = r.streams[0].synced_to.unwrap();
    // The changes in ts order, then the deletions found by comparing ids, stamped with the
    // window's end.
    let got = records_since(&out, files);
    assert_eq!(
        ids(&got),
        [("2", false), ("5", false), ("3", false), ("1", true)]
    );
    assert_eq!(got[3].1, to);
    let (changed, deleted, detected) = (
        r.streams[0].changed,
        r.streams[0].deleted,
        r.streams[0].detected,
    );
    assert_eq!((changed, deleted, detected), (3, 1, 1));
    let last = read_manifest(&out).unwrap().pop().unwrap();
    let text = std::fs::read_to_string(out.join(&last.path)).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(
        line,
        serde_json::json!({
            "ref": "1", "ts": to, "data": null,
            "deleted_at": fauna_sync::fauna::Timestamp::from_micros(to).to_string(),
            "deletion_detected": true,
        })
    );
    // The id set now holds exactly the live ids; the stream rests at the window's end.
    assert_eq!(
        crate::support::id_set_of(&out.join("_state.json"), "foo"),
        ["2", "3", "4", "5"]
    );
    let state = State::load(&out.join("_state.json")).unwrap();
    assert_eq!(
        state.streams["foo"].position,
        fauna_sync::state::Position::Synced { to }
    );
    // Within the history window again: deletions are observed as events.
    write(&fx, &delete("4"));
    let files = read_manifest(&out).unwrap().len();
    let r = sync(&s).await;
    assert_eq!(ids(&records_since(&out, files)), [("4", true)]);
    assert_eq!(r.streams[0].detected, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_resumed_after_its_history_expired_reconciles_instead_of_missing_deletions() {
    let fx = short_history().await;
    let url = fx.server.url();
    let out = fx.out("resumed");
    let config = fx.dir.path().join("resumed.json");
    std::fs::write(&config, DELETIONS).unwrap();
    let run = |crash: Option<&str>| sync_crashing(&url, &out, &config, crash);
    write(&fx, &create("1", 1));
    assert!(run(None).status.success());
    // A window of 12 changes and then a deletion, killed after its first batch (5 records) …
    for i in 10..22 {
        write(&fx, &create(&i.to_string(), i));
    }
    write(&fx, &delete("1"));
    let files = read_manifest(&out).unwrap().len();
    assert!(!run(Some("after-batch-rename:2")).status.success());
    // … and resumed only after the history window passed: the deletion's event is gone.
    outlive_history().await;
    let o = run(None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("(1 detected by reconciliation)"),
        "{stderr}"
    );
    let got = records_since(&out, files);
    let deleted: Vec<&str> = got.iter().filter(|r| r.2).map(|r| r.0.as_str()).collect();
    assert_eq!(deleted, ["1"], "{got:?}");
    assert_eq!(got.iter().filter(|r| !r.2).count(), 12, "every change once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_mid_reconciliation_resumes_with_every_deletion_once() {
    let fx = short_history().await;
    let url = fx.server.url();
    let out = fx.out("killed-reconcile");
    let config = fx.dir.path().join("killed-reconcile.json");
    std::fs::write(&config, DELETIONS).unwrap();
    let run = |crash: Option<&str>| sync_crashing(&url, &out, &config, crash);
    for i in 1..=20 {
        write(&fx, &create(&i.to_string(), i));
    }
    assert!(run(None).status.success());
    for i in 1..=12 {
        write(&fx, &delete(&i.to_string()));
    }
    outlive_history().await;
    // Batches of 5 deletion records: killed as the second is committed, then resumed (past
    // the history window again: the same reconciliation, from its cursor).
    let deleted = killed_and_resumed_reconciliation(&out, run, "after-batch-rename:2");
    assert_eq!(deleted, (1..=12).collect::<Vec<i64>>());
    assert_eq!(
        crate::support::id_set_of(&out.join("_state.json"), "foo"),
        (13..=20).map(|i| i.to_string()).collect::<Vec<_>>()
    );
}

/// 3,000 exported ids make one reconciliation page listed as 3 concurrent ranges of 1,000 ids
/// (concurrency 4); its 428 deletion records, from every range, go into batches of 100.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_mid_reconciliation_of_concurrent_id_ranges_resumes_with_every_deletion_once()
{
    let fx = short_history().await;
    let url = fx.server.url();
    let out = fx.out("killed-ranges");
    let config = fx.dir.path().join("killed-ranges.json");
    std::fs::write(
        &config,
        r#"{"collection": {"name": "foo", "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}},
            "output": {"format": "jsonl", "batch_rows": 100}, "concurrency": 4}"#,
    )
    .unwrap();
    let run = |crash: Option<&str>| sync_crashing(&url, &out, &config, crash);
    for i in 1..=3000 {
        write(&fx, &create(&i.to_string(), i));
    }
    assert!(run(None).status.success());
    let gone: Vec<i64> = (1..=3000).filter(|i| i % 7 == 0).collect();
    for i in &gone {
        write(&fx, &delete(&i.to_string()));
    }
    outlive_history().await;
    // Killed as the third batch (deletions of the second range) is committed, then resumed
    // from the cursor of its last committed record.
    let deleted = killed_and_resumed_reconciliation(&out, run, "after-batch-rename:3");
    assert_eq!(deleted, gone);
    assert_eq!(
        crate::support::id_set_of(&out.join("_state.json"), "foo"),
        (1..=3000)
            .filter(|i| i % 7 != 0)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn airbyte_incremental_over_a_history_gap_fails_with_a_trace_naming_it() {
    let fx = short_history().await;
    let dir = fx.dir.path();
    let (host, port) = (fx.server.addr().ip().to_string(), fx.server.addr().port());
    let config = dir.join("ab.json");
    std::fs::write(
        &config,
        serde_json::json!({"domain": host, "port": port, "scheme": "http", "secret": "fnTestServer",
            "collection": {"name": "foo", "deletions": {"deletion_mode": "deleted_field"}}})
        .to_string(),
    )
    .unwrap();
    let catalog = dir.join("catalog.json");
    std::fs::write(
        &catalog,
        serde_json::json!({"streams": [{"stream": {"name": "foo", "json_schema": {"type": "object"},
            "supported_sync_modes": ["full_refresh", "incremental"]},
            "sync_mode": "incremental", "destination_sync_mode": "append"}]})
        .to_string(),
    )
    .unwrap();
    let read = |state: Option<&serde_json::Value>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
        c.arg("read")
            .arg("--config")
            .arg(&config)
            .arg("--catalog")
            .arg(&catalog);
        if let Some(s) = state {
            let path = dir.join("state.json");
            std::fs::write(&path, serde_json::json!([s]).to_string()).unwrap();
            c.arg("--state").arg(path);
        }
        let o = c.output().unwrap();
        let messages: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (o.status.code(), messages)
    };
    write(&fx, &create("1", 1));
    let (code, first) = read(None);
    assert_eq!(code, Some(0));
    let state = first
        .iter()
        .rev()
        .find(|m| m["type"] == "STATE")
        .map(|m| m["state"].clone())
        .unwrap();
    write(&fx, &delete("1"));
    outlive_history().await;
    let (code, messages) = read(Some(&state));
    assert_eq!(code, Some(1));
    let error = messages
        .iter()
        .find(|m| m["type"] == "TRACE" && m["trace"]["type"] == "ERROR")
        .unwrap();
    assert_eq!(error["trace"]["error"]["failure_type"], "system_error");
    let text = error["trace"]["error"]["message"].as_str().unwrap();
    assert!(
        text.contains("Airbyte read keeps none: reset the stream"),
        "{text}"
    );
    assert!(!messages
        .iter()
        .any(|m| m["type"] == "RECORD" || m["type"] == "STATE"));
}

/// `"history_gap": "resync"` (issue 23, item 4): over a gap the collection is exported again in
/// full and the windows go on from there. This collection keeps history briefly, so the export
/// is a scan, a catch-up and a reconciliation, which compares with the output's id set: the
/// deletion inside the gap is found (detected) after all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_gap_is_resynced_when_configured() {
    use fauna_dev::engine::EngineOptions;
    use fauna_dev::server::ServerConfig;
    let schema = r#"{
      "collections": [{"name": "foo", "history_days": 0}],
      "indexes": [{"name": "foo_ts", "source": "foo", "values": [{"field": "ts"}, {"field": "ref"}]}],
      "keys": [{"secret": "fnTestServer", "role": "server"}]
    }"#;
    let options = EngineOptions {
        mvt_offset: Duration::from_secs(600),
        ..EngineOptions::default()
    };
    let fx = Fixture::start_with(schema, &[], options, ServerConfig::new()).await;
    let out = fx.out("gap-resync");
    let s = settings(
        &fx,
        &out,
        r#"{"collection": {"name": "foo", "deletions": {"deletion_mode": "deleted_field", "history_gap": "resync"}}, "output": {"format": "jsonl"}}"#,
    );
    for id in ["1", "2", "3"] {
        write(&fx, &create(id, 1));
    }
    sync(&s).await;
    let files = read_manifest(&out).unwrap().len();
    write(&fx, &delete("1"));
    write(&fx, &update("2", 20));
    fx.engine.advance_clock(Duration::from_secs(700));
    let r = sync(&s).await;
    assert_eq!(
        ids(&records_since(&out, files)),
        [("2", false), ("3", false), ("1", true)],
        "{r:?}"
    );
    assert_eq!((r.streams[0].deleted, r.streams[0].detected), (1, 1));
    let state = State::load(&out.join("_state.json")).unwrap();
    let foo = &state.streams["foo"];
    assert!(matches!(
        foo.position,
        fauna_sync::state::Position::Synced { .. }
    ));
    assert_eq!(foo.strategy, fauna_sync::state::Strategy::ScanCatchUp);
    // The next sync goes on from the resync's end: a window, nothing in it.
    let files = read_manifest(&out).unwrap().len();
    sync(&s).await;
    assert_eq!(records_since(&out, files), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_gap_is_stopped_when_configured_or_when_the_id_set_is_incomplete() {
    let fx = short_history().await;
    let out = fx.out("gap-stop");
    let stop = r#"{"collection": {"name": "foo", "deletions": {"deletion_mode": "deleted_field", "history_gap": "stop"}}, "output": {"format": "jsonl"}}"#;
    let s = settings(&fx, &out, stop);
    write(&fx, &create("1", 1));
    write(&fx, &create("2", 2));
    sync(&s).await;
    write(&fx, &delete("1"));
    outlive_history().await;
    let before = std::fs::read(out.join("_state.json")).unwrap();
    let e = run(&s, &Quiet, Mode::Sync { max_duration: None })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), fauna_sync::error::ErrorKind::State);
    assert!(
        e.to_string().starts_with(
            "collection 'foo' was last synced 0 minutes ago, longer than Fauna keeps its history"
        ),
        "{e}"
    );
    assert_eq!(
        std::fs::read(out.join("_state.json")).unwrap(),
        before,
        "state kept"
    );
    // An output whose id set was started late (written by an earlier version) cannot be
    // reconciled either: it says so.
    let mut state: serde_json::Value = serde_json::from_slice(&before).unwrap();
    state["streams"]["foo"]
        .as_object_mut()
        .unwrap()
        .remove("ids");
    std::fs::write(out.join("_state.json"), serde_json::to_vec(&state).unwrap()).unwrap();
    let s = settings(&fx, &out, DELETIONS);
    let e = run(&s, &Quiet, Mode::Sync { max_duration: None })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), fauna_sync::error::ErrorKind::State);
    assert!(
        e.to_string()
            .contains("this output's id set was started after its first records"),
        "{e}"
    );
    // Without deletion tracking the gap does not matter: changes come from the index.
    let s = settings(
        &fx,
        &fx.out("gap-nodel"),
        r#"{"collection": {"name": "foo"}, "output": {"format": "jsonl"}}"#,
    );
    sync(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletions_on_a_short_retention_collection_after_its_scan_and_catch_up() {
    let schema = r#"{
      "collections": [{"name": "foo", "history_days": 0}],
      "indexes": [{"name": "foo_ts", "source": "foo", "values": [{"field": "ts"}, {"field": "ref"}]}],
      "keys": [{"secret": "fnTestServer", "role": "server"}]
    }"#;
    let fx = Fixture::start(schema, &[]).await;
    let out = fx.out("short");
    let s = settings(&fx, &out, DELETIONS);
    for id in ["1", "2", "3"] {
        write(&fx, &create(id, 1));
    }
    sync(&s).await;
    write(&fx, &delete("3"));
    let files = read_manifest(&out).unwrap().len();
    let r = sync(&s).await;
    assert_eq!(ids(&records_since(&out, files)), [("3", true)], "{r:?}");
}

/// The binary's `sync` with the config file `config`, crashing at `crash` if given.
/// Runs a sync over a history gap killed at `crash` (a commit of its reconciliation), checks
/// that it stopped in `gap_reconcile`, resumes it and returns the ids of the deletion records
/// the two runs wrote, sorted — after asserting they wrote nothing else and each id once.
fn killed_and_resumed_reconciliation(
    out: &Path,
    run: impl Fn(Option<&str>) -> std::process::Output,
    crash: &str,
) -> Vec<i64> {
    let files = read_manifest(out).unwrap().len();
    assert!(!run(Some(crash)).status.success());
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("_state.json")).unwrap()).unwrap();
    assert_eq!(state["streams"]["foo"]["position"]["at"], "gap_reconcile");
    let o = run(None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = records_since(out, files);
    assert!(got.iter().all(|r| r.2), "only deletions: {got:?}");
    let mut deleted: Vec<i64> = got.iter().map(|r| r.0.parse().unwrap()).collect();
    deleted.sort();
    let n = deleted.len();
    deleted.dedup();
    assert_eq!(deleted.len(), n, "each deletion once: {got:?}");
    deleted
}

fn sync_crashing(
    url: &str,
    out: &Path,
    config: &Path,
    crash: Option<&str>,
) -> std::process::Output {
    let mut c = sync_cmd(url, out, &["--config", config.to_str().unwrap()]);
    if let Some(p) = crash {
        c.env("FAUNA_SYNC_TEST_CRASH_AT", p);
    }
    c.output().unwrap()
}

/// The binary's `sync` against `url` into `out`.
fn sync_cmd(url: &str, out: &Path, extra: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    c.args([
        "sync",
        "--endpoint",
        url,
        "--collection",
        "foo",
        "--format",
        "jsonl",
    ])
    .args(["--page-size", "5", "--batch-rows", "5", "--out"])
    .arg(out)
    .args(extra)
    .env("FAUNA_SECRET", "fnTestServer")
    .env_remove("FAUNA_SYNC_TEST_CRASH_AT");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_duration_stops_at_a_batch_boundary_and_overlapping_syncs_fail_fast() {
    use fauna_dev::engine::EngineOptions;
    use fauna_dev::server::ServerConfig;
    let docs: String = (1..=100)
        .map(|i| {
            format!(
                "{{\"id\":\"{i}\",\"ts\":{},\"data\":{{\"n\":{i}}}}}\n",
                1_658_188_683_000_000i64 + i
            )
        })
        .collect();
    let fx = Fixture::start_with(
        SCHEMA,
        &[("foo", docs)],
        EngineOptions::default(),
        ServerConfig::new().latency(Duration::from_millis(80)),
    )
    .await;
    let url = fx.server.url();
    let out = fx.out("limited");
    // A slow run: another sync on the same output fails at once with exit 75.
    // One pinned page of 5 at a time: 20 pages of 80 ms take longer than the limit.
    let mut slow = sync_cmd(
        &url,
        &out,
        &[
            "--max-duration",
            "1s",
            "--fixed-page-size",
            "--concurrency",
            "1",
        ],
    );
    slow.stderr(std::process::Stdio::piped());
    let slow = slow.spawn().unwrap();
    for _ in 0..200 {
        if out.join("_output.json").exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut other = sync_cmd(&url, &out, &[]);
    let other = tokio::task::spawn_blocking(move || other.output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        other.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
    // The limited run stops cleanly at a batch boundary, exit 0, saying there is more to do.
    let slow = tokio::task::spawn_blocking(move || slow.wait_with_output().unwrap())
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&slow.stderr).into_owned();
    assert_eq!(slow.status.code(), Some(0), "{err}");
    assert!(
        err.contains("stopped at --max-duration, more to do"),
        "{err}"
    );
    let partial = records_since(&out, 0).len();
    assert!(
        partial > 0 && partial < 100 && partial.is_multiple_of(5),
        "{partial} records"
    );
    // Writes land while the next run reads; it continues exactly where the first stopped.
    let writer = {
        let engine = fx.engine.clone();
        tokio::spawn(async move {
            for i in 200..210 {
                let r = execute(&engine, "fnTestServer", &create(&i.to_string(), i));
                assert!(r.status == 200 || r.status == 201, "{}", r.body);
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        })
    };
    let mut rest = sync_cmd(&url, &out, &[]);
    let rest = tokio::task::spawn_blocking(move || rest.output().unwrap())
        .await
        .unwrap();
    assert!(
        rest.status.success(),
        "{}",
        String::from_utf8_lossy(&rest.stderr)
    );
    writer.await.unwrap();
    let mut last = sync_cmd(&url, &out, &[]);
    let last = tokio::task::spawn_blocking(move || last.output().unwrap())
        .await
        .unwrap();
    assert!(last.status.success());
    // Every document exactly once, including those written during the run.
    let mut seen: Vec<String> = records_since(&out, 0).into_iter().map(|r| r.0).collect();
    seen.sort_by_key(|id| id.parse::<u64>().unwrap());
    let want: Vec<String> = (1..=100).chain(200..210).map(|i| i.to_string()).collect();
    assert_eq!(seen, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connect_readonly_role_is_enough_for_sync_with_deletions() {
    // The seed documentation's role: read on Collections(), Indexes(), the collection and its
    // index — nothing else.
    let schema = r#"{
      "collections": [{"name": "foo", "history_days": null}],
      "indexes": [{"name": "foo_ts", "source": "foo", "values": [{"field": "ts"}, {"field": "ref"}]}],
      "roles": [{"name": "connect-readonly", "privileges": [
        {"resource": {"collections": null}, "actions": {"read": true}},
        {"resource": {"indexes": null}, "actions": {"read": true}},
        {"resource": {"collection": "foo"}, "actions": {"read": true}},
        {"resource": {"index": "foo_ts"}, "actions": {"read": true}}]}],
      "keys": [{"secret": "fnTestServer", "role": "server"},
               {"secret": "fnReadOnly", "role": {"role": "connect-readonly"}}]
    }"#;
    let fx = Fixture::start(schema, &[]).await;
    let out = fx.out("readonly");
    let config = fx.dir.path().join("ro.json");
    std::fs::write(&config, DELETIONS).unwrap();
    let s = fauna_sync::config::Settings::load(
        Some(&config),
        fauna_sync::config::Overrides {
            secret: Some(fauna_sync::fauna::Secret::new("fnReadOnly")),
            endpoint: Some(fx.server.url()),
            out: Some(out.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    write(&fx, &create("1", 1));
    write(&fx, &create("2", 2));
    sync(&s).await;
    write(&fx, &delete("1"));
    write(
        &fx,
        r#"{"update":{"ref":{"collection":"foo"},"id":"2"},"params":{"object":{"data":{"object":{"a":5}}}}}"#,
    );
    let files = read_manifest(&out).unwrap().len();
    sync(&s).await;
    assert_eq!(
        ids(&records_since(&out, files)),
        [("1", true), ("2", false)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_github_step_summary_set_each_run_appends_its_table() {
    let fx = Fixture::start(SCHEMA, &[]).await;
    let url = fx.server.url();
    let out = fx.out("summary");
    let summary = fx.dir.path().join("step-summary.md");
    let run = || {
        sync_cmd(&url, &out, &[])
            .env("GITHUB_STEP_SUMMARY", &summary)
            .output()
            .unwrap()
    };
    write(&fx, &create("1", 1));
    write(&fx, &create("2", 2));
    assert!(run().status.success());
    assert!(run().status.success());
    let text = std::fs::read_to_string(&summary).unwrap();
    let heading = format!("### fauna-sync sync → `{}`", out.display());
    assert_eq!(text.matches(&heading).count(), 2, "{text}");
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("| foo |")).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(rows[0].starts_with("| foo | 2 | 0 | 0 | 1 |"), "{text}");
    assert!(rows[1].starts_with("| foo | 0 | 0 | 0 | 0 |"), "{text}");
    assert!(
        text.contains("**done**: 2 record(s) in 1 file(s)"),
        "{text}"
    );
    assert!(
        text.contains("**no changes**: 0 record(s) in 0 file(s)"),
        "{text}"
    );
    assert!(!text.contains("fnTestServer"), "no secret");
    // A failed run says so, with its exit code.
    let no_retries = fx.dir.path().join("no-retries.json");
    std::fs::write(&no_retries, r#"{"max_retries": 0}"#).unwrap();
    let bad = sync_cmd(
        "http://127.0.0.1:1",
        &fx.out("nowhere"),
        &["--config", no_retries.to_str().unwrap()],
    )
    .env("GITHUB_STEP_SUMMARY", &summary)
    .output()
    .unwrap();
    assert!(!bad.status.success());
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.contains("**failed** (exit 1)"), "{text}");
}
