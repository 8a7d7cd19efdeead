//! Airbyte `read` gets what `export` and `sync` have (issue 23, item 4), through the binary:
//! - a full refresh of a `history_days` 0 collection that outlives the collection's history
//!   window completes exactly, with the short-retention strategy (its id set in scratch space
//!   for the read), where its pinned snapshot used to expire;
//! - an incremental read over a history gap fails the stream (`"history_gap"`: `reconcile`, the
//!   default, or `stop`) or reads it again in full (`resync`), as configured.
//!
//! Time passes by moving fauna-dev's clock; a pause point stops the read at an exact moment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use fauna_dev::engine::EngineOptions;
use fauna_dev::server::ServerConfig;
use serde_json::{json, Value as Json};

use crate::support::things::{create, delete, update, write_all};
use crate::support::{collection_now, numbered_docs, query, Fixture};

const SCHEMA: &str = r#"{
  "collections": [{"name": "things", "history_days": 0}],
  "indexes": [{"name": "things_by_ts", "source": "things", "values": [{"field": "ts"}, {"field": "ref"}]}],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

/// History (and snapshot reads) kept 10 minutes beyond `history_days` 0; a jump of [`EXPIRE`]
/// leaves it.
const HISTORY: Duration = Duration::from_secs(600);
const EXPIRE: Duration = Duration::from_secs(700);

async fn fixture(docs: i64) -> Fixture {
    Fixture::start_with(
        SCHEMA,
        &[("things", numbered_docs(docs))],
        EngineOptions {
            mvt_offset: HISTORY,
            ..EngineOptions::default()
        },
        ServerConfig::new(),
    )
    .await
}

/// `things` with deletions tracked (so deletions found by the reconciliation are records),
/// pages of 100, a STATE every 500 records; `history_gap` as given.
fn config(dir: &Path, fx: &Fixture, history_gap: Option<&str>) -> PathBuf {
    let mut deletions = json!({"deletion_mode": "deleted_field", "column": "deleted_at"});
    if let Some(gap) = history_gap {
        deletions["history_gap"] = json!(gap);
    }
    let path = dir.join(format!("config-{}.json", history_gap.unwrap_or("default")));
    std::fs::write(
        &path,
        json!({"domain": "127.0.0.1", "port": fx.server.addr().port(), "scheme": "http",
               "secret": "fnTestServer", "max_retries": 0, "output": {"batch_rows": 500},
               "collection": {"name": "things", "page_size": 100, "page_size_fixed": true,
                              "deletions": deletions}})
        .to_string(),
    )
    .unwrap();
    path
}

fn catalog(dir: &Path, mode: &str) -> PathBuf {
    let path = dir.join(format!("catalog-{mode}.json"));
    std::fs::write(
        &path,
        json!({"streams": [{"stream": {"name": "things", "json_schema": {"type": "object"},
                            "supported_sync_modes": ["full_refresh", "incremental"]},
                            "sync_mode": mode, "destination_sync_mode": "append_dedup"}]})
        .to_string(),
    )
    .unwrap();
    path
}

fn read_cmd(config: &Path, catalog: &Path, state: Option<(&Path, &Json)>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    c.arg("read")
        .arg("--config")
        .arg(config)
        .arg("--catalog")
        .arg(catalog)
        .env_remove("FAUNA_SECRET")
        .env_remove("RUST_LOG")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
        .env_remove("FAUNA_SYNC_TEST_PAUSE_AT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some((path, s)) = state {
        std::fs::write(path, json!([s]).to_string()).unwrap();
        c.arg("--state").arg(path);
    }
    c
}

/// The messages on stdout, without their `emitted_at`.
fn messages(o: &Output) -> Vec<Json> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            let mut m: Json = serde_json::from_str(l).unwrap();
            for payload in ["record", "trace"] {
                if let Some(p) = m.get_mut(payload).and_then(Json::as_object_mut) {
                    p.remove("emitted_at");
                }
            }
            m
        })
        .collect()
}

fn of_type<'a>(m: &'a [Json], kind: &str) -> Vec<&'a Json> {
    m.iter().filter(|m| m["type"] == kind).collect()
}

fn last_state(m: &[Json]) -> Json {
    of_type(m, "STATE")
        .last()
        .map(|s| s["state"].clone())
        .unwrap()
}

fn statuses(m: &[Json]) -> Vec<String> {
    m.iter()
        .filter(|m| m["type"] == "TRACE" && m["trace"]["type"] == "STREAM_STATUS")
        .map(|m| {
            m["trace"]["stream_status"]["status"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// One record as a destination that deduplicates by `ref` sees it: (ref, ts, data, deleted).
type Row = (String, i64, Json, bool);

fn rows(m: &[Json]) -> Vec<Row> {
    of_type(m, "RECORD")
        .iter()
        .map(|r| {
            let d = &r["record"]["data"];
            (
                d["ref"].as_str().unwrap().to_string(),
                d["ts"].as_i64().unwrap(),
                d["data"].clone(),
                !d["_ab_cdc_deleted_at"].is_null(),
            )
        })
        .collect()
}

/// Applies rows in order: the latest version or deletion per ref wins, deletions remove.
fn apply(rows: &[Row]) -> BTreeMap<String, (i64, Json)> {
    let mut latest: BTreeMap<String, (i64, Option<Json>)> = BTreeMap::new();
    for (id, ts, data, deleted) in rows {
        if latest.get(id).is_some_and(|(t, _)| t > ts) {
            continue;
        }
        latest.insert(id.clone(), (*ts, (!deleted).then(|| data.clone())));
    }
    latest
        .into_iter()
        .filter_map(|(id, (ts, data))| data.map(|d| (id, (ts, d))))
        .collect()
}

/// Waits for the read to pause (its marker file), blocking this worker thread.
fn wait_for(marker: &Path) {
    tokio::task::block_in_place(|| {
        while !marker.exists() {
            std::thread::sleep(Duration::from_millis(5));
        }
    });
}

/// Before: a full refresh read `things` at one pinned snapshot, which expired when the read
/// outlived the history window: the stream failed (INCOMPLETE, exit 1) with the records of the
/// first batches emitted and nothing to resume with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_refresh_longer_than_the_history_window_completes_exactly() {
    // Enough documents that a pinned read still has pages to ask for after the pause (four
    // ranges read at most 2,000 documents ahead each).
    let fx = fixture(10_000).await;
    let dir = fx.dir.path();
    let (cfg, cat) = (config(dir, &fx, None), catalog(dir, "full_refresh"));
    let go = dir.join("go");
    // stdout to a file: a pipe nobody reads while the read is paused would stop it first.
    let stdout = dir.join("stdout.jsonl");
    let mut c = read_cmd(&cfg, &cat, None);
    c.env("FAUNA_SYNC_TEST_PAUSE_AT", "after-batch-rename:2")
        .env("FAUNA_SYNC_TEST_PAUSE_FILE", &go)
        .stdout(std::fs::File::create(&stdout).unwrap());
    let child = c.spawn().unwrap();
    wait_for(&dir.join("go.paused"));
    // 1,000 records are out. Meanwhile: updates of documents read and not yet read, deletions
    // of both, a deletion and re-creation, new documents; then the history window passes.
    let mut ops: Vec<String> = (1..=100).map(|id| update(id, 1)).collect();
    ops.extend((9901..=9950).map(|id| update(id, 1)));
    ops.extend((200..=219).chain(9990..=9999).map(delete));
    ops.push(delete(300));
    ops.push(create(300, 2));
    ops.extend((20001..=20020).map(|id| create(id, 1)));
    write_all(&fx, ops);
    fx.engine.advance_clock(EXPIRE);
    std::fs::write(&go, b"").unwrap();
    let mut o = tokio::task::block_in_place(|| child.wait_with_output().unwrap());
    o.stdout = std::fs::read(&stdout).unwrap();
    let m = messages(&o);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(statuses(&m), ["STARTED", "RUNNING", "COMPLETE"]);

    // The short-retention strategy read it, and outlived the window: its start is gone.
    let state = last_state(&m)["stream"]["stream_state"].clone();
    assert_eq!(state["strategy"], "scan_catch_up");
    assert_eq!(state["position"], json!({"at": "done"}));
    assert!(
        state.get("ids").is_none(),
        "scratch ids are not in the STATE: {state}"
    );
    let consistent_at = state["consistent_at"].as_i64().unwrap();
    let (status, body) = query(
        &fx.engine,
        "fnTestServer",
        &format!(
            r#"{{"at": {}, "expr": {{"paginate": {{"documents": {{"collection": "things"}}}}}}}}"#,
            state["snapshot_ts"]
        ),
    );
    assert_eq!(status, 400, "{body}");
    assert!(consistent_at > state["snapshot_ts"].as_i64().unwrap());

    // Exactly: every row a distinct version, and deduplicated by ref (deletions removing) the
    // collection as it is (nothing was written after the read resumed).
    let rows = rows(&m);
    let versions: BTreeSet<(String, i64)> = rows.iter().map(|r| (r.0.clone(), r.1)).collect();
    assert_eq!(versions.len(), rows.len(), "a version was emitted twice");
    let deleted: BTreeSet<i64> = rows
        .iter()
        .filter(|r| r.3)
        .map(|r| r.0.parse().unwrap())
        .collect();
    let expected_deleted: BTreeSet<i64> = (200..=219).collect();
    assert_eq!(
        deleted, expected_deleted,
        "deletions of documents emitted before them (the others were never emitted)"
    );
    assert_eq!(apply(&rows), collection_now(&fx, "things"));
    // The STATEs count every record.
    let counted: f64 = of_type(&m, "STATE")
        .iter()
        .map(|s| s["state"]["sourceStats"]["recordCount"].as_f64().unwrap())
        .sum();
    assert_eq!(counted, rows.len() as f64);
}

/// A first incremental read of `things` (five documents), then a delete, an update and a
/// create, then the history window passes: the state the next read gets is over a gap.
async fn over_a_gap(fx: &Fixture, dir: &Path) -> Json {
    let cfg = config(dir, fx, None);
    let first = tokio::task::block_in_place(|| {
        read_cmd(&cfg, &catalog(dir, "incremental"), None)
            .output()
            .unwrap()
    });
    assert_eq!(first.status.code(), Some(0));
    let state = last_state(&messages(&first));
    write_all(fx, [delete(1), update(2, 1), create(6, 1)]);
    fx.engine.advance_clock(EXPIRE);
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_read_over_a_history_gap_fails_the_stream_unless_it_resyncs() {
    let fx = fixture(5).await;
    let dir = fx.dir.path();
    let state = over_a_gap(&fx, dir).await;
    let was = state["stream"]["stream_state"]["position"].clone();
    assert_eq!(was["at"], "synced");
    let cat = catalog(dir, "incremental");
    let read = |gap: Option<&str>| {
        let cfg = config(dir, &fx, gap);
        let o = tokio::task::block_in_place(|| {
            read_cmd(&cfg, &cat, Some((&dir.join("state.json"), &state)))
                .output()
                .unwrap()
        });
        (o.status.code(), messages(&o))
    };
    let minutes = EXPIRE.as_secs() / 60;

    // Failing (the default, which cannot reconcile without the destination's ids, and "stop"):
    // the stream ends INCOMPLETE, no record, no STATE, its error last.
    for (gap, message) in [
        (None, format!("collection 'things' was last synced {minutes} minutes ago, longer than Fauna keeps its history, so deletions in between can only be found by comparing ids, and this output keeps no id set to compare with (Airbyte read keeps none: reset the stream, or set \"history_gap\": \"resync\" to read it again in full); nothing was read. Delete this collection's output and state to export it again, or sync more often than the collection keeps history")),
        (Some("stop"), format!("collection 'things' was last synced {minutes} minutes ago, longer than Fauna keeps its history (history_days plus 15 minutes), so deletions in between may be lost; nothing was read. Set \"history_gap\": \"reconcile\" in the collection's \"deletions\" to detect them by comparing ids (or \"resync\" to read the collection again in full), run sync more often (or raise the collection's history_days), or delete this collection's output and state to export it again")),
    ] {
        let (code, m) = read(gap);
        assert_eq!(code, Some(1), "{gap:?}: {m:#?}");
        assert_eq!(statuses(&m), ["STARTED", "RUNNING", "INCOMPLETE"], "{gap:?}");
        assert!(of_type(&m, "RECORD").is_empty() && of_type(&m, "STATE").is_empty());
        let error = m.last().unwrap();
        assert_eq!(
            *error,
            json!({"type": "TRACE", "trace": {"type": "ERROR", "error": {
                "message": message, "failure_type": "system_error",
                "stream_descriptor": {"name": "things"}}}}),
            "{gap:?}"
        );
    }

    // Resync: a warning, then the collection read again in full (its short-retention strategy,
    // as a first read) and the stream synced from there. Document 1, deleted in the gap, gets
    // no deletion record: that is what a resync cannot recover.
    let (code, m) = read(Some("resync"));
    assert_eq!(code, Some(0), "{m:#?}");
    assert_eq!(statuses(&m), ["STARTED", "RUNNING", "COMPLETE"]);
    let warnings: Vec<&Json> = of_type(&m, "LOG")
        .into_iter()
        .filter(|l| l["log"]["level"] == "WARN")
        .collect();
    assert_eq!(
        warnings
            .iter()
            .map(|l| l["log"]["message"].as_str().unwrap())
            .collect::<Vec<_>>(),
        [format!("collection 'things' was last synced {minutes} minutes ago, longer than Fauna keeps its history: it is read again in full (\"history_gap\": \"resync\"), then incrementally from there. Documents deleted since its last sync are not seen as deleted: their records stay in the output")]
    );
    let rows = rows(&m);
    let now = collection_now(&fx, "things");
    assert_eq!(
        rows.iter()
            .map(|r| (r.0.clone(), (r.1, r.2.clone()), r.3))
            .collect::<Vec<_>>(),
        now.iter()
            .map(|(id, v)| (id.clone(), v.clone(), false))
            .collect::<Vec<_>>(),
        "every live document once, in id order, and nothing else"
    );
    let end = last_state(&m)["stream"]["stream_state"].clone();
    assert_eq!(end["position"]["at"], "synced");
    assert_eq!(end["strategy"], "scan_catch_up");
    assert!(end["position"]["to"].as_i64() > was["to"].as_i64());

    // The next read goes on incrementally from there: nothing new.
    let cfg = config(dir, &fx, Some("resync"));
    let next = tokio::task::block_in_place(|| {
        read_cmd(&cfg, &cat, Some((&dir.join("next.json"), &last_state(&m))))
            .output()
            .unwrap()
    });
    assert_eq!(next.status.code(), Some(0));
    assert!(of_type(&messages(&next), "RECORD").is_empty());
}
