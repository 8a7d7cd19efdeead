//! Documents that expire through their `ttl` (issue 22, bug 2): Fauna writes no event when a
//! ttl passes, so every incremental window ends with an expiry phase that deletes, at exactly
//! its ttl, each document whose latest committed version expired by the window's end
//! (`spec/sync.md`, "Expiring documents"). Time moves with `Engine::advance_clock`, never by
//! sleeping.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fauna_sync::fauna::Timestamp;
use fauna_sync::sink::read_manifest;
use serde_json::{json, Value};

use crate::support::{collection_now, execute, files_below, id_set_of, query, Fixture};

const SCHEMA: &str = r#"{
  "collections": [{"name": "things", "history_days": null}],
  "indexes": [{"name": "things_by_ts", "source": "things", "values": [{"field": "ts"}, {"field": "ref"}]}],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

/// One hour in microseconds.
const HOUR: i64 = 3_600_000_000;

/// A sync config tracking deletions, JSONL batches of `batch_rows`.
fn config(dir: &Path, name: &str, batch_rows: u64) -> PathBuf {
    let path = dir.join(format!("{name}.json"));
    let text = format!(
        r#"{{"concurrency": 1,
            "collection": {{"name": "things",
              "deletions": {{"deletion_mode": "deleted_field", "column": "deleted_at"}}}},
            "output": {{"format": "jsonl", "batch_rows": {batch_rows}}}}}"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the write `query`; its transaction time.
fn write(fx: &Fixture, query: &str) -> i64 {
    let r = execute(&fx.engine, "fnTestServer", query);
    assert!(
        r.status == 200 || r.status == 201,
        "{query}: {} {}",
        r.status,
        r.body
    );
    r.txn_time
}

fn doc(id: &str) -> String {
    format!(r#"{{"ref":{{"collection":"things"}},"id":"{id}"}}"#)
}

fn ttl_expr(ttl: Option<i64>) -> String {
    match ttl {
        Some(t) => format!(r#"{{"epoch":{t},"unit":"microseconds"}}"#),
        None => "null".into(),
    }
}

fn create(id: &str, n: i64, ttl: Option<i64>) -> String {
    format!(
        r#"{{"create":{},"params":{{"object":{{"data":{{"object":{{"n":{n}}}}},"ttl":{}}}}}}}"#,
        doc(id),
        ttl_expr(ttl)
    )
}

/// Sets (or with `None` removes) the document's ttl.
fn set_ttl(id: &str, ttl: Option<i64>) -> String {
    format!(
        r#"{{"update":{},"params":{{"object":{{"ttl":{}}}}}}}"#,
        doc(id),
        ttl_expr(ttl)
    )
}

fn delete(id: &str) -> String {
    format!(r#"{{"delete":{}}}"#, doc(id))
}

/// The server's time.
fn server_now(fx: &Fixture) -> i64 {
    let (status, body) = query(&fx.engine, "fnTestServer", r#"{"to_micros":{"now":null}}"#);
    assert_eq!(status, 200, "{body}");
    body["resource"].as_i64().unwrap()
}

/// Runs the real binary: `sync` of `out` with `config`, optionally crashing at `crash_at`.
fn sync_binary(
    endpoint: &str,
    config: &Path,
    out: &Path,
    crash_at: Option<&str>,
) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    cmd.args(["sync", "--endpoint", endpoint, "--config"])
        .arg(config)
        .arg("--out")
        .arg(out)
        .env("FAUNA_SECRET", "fnTestServer")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT");
    if let Some(c) = crash_at {
        cmd.env("FAUNA_SYNC_TEST_CRASH_AT", c);
    }
    tokio::task::block_in_place(|| cmd.output().unwrap())
}

/// [`sync_binary`] that must succeed.
fn sync_ok(endpoint: &str, config: &Path, out: &Path) {
    let r = sync_binary(endpoint, config, out, None);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
}

/// The output's records (JSONL objects) of the manifest's files from index `skip` on.
fn records(out: &Path, skip: usize) -> Vec<Value> {
    let mut v = Vec::new();
    for f in read_manifest(out).unwrap().into_iter().skip(skip) {
        for line in std::fs::read_to_string(out.join(&f.path)).unwrap().lines() {
            v.push(serde_json::from_str(line).unwrap());
        }
    }
    v
}

/// A document record as the output writes it.
fn live(id: &str, ts: i64, n: i64) -> Value {
    json!({"ref": id, "ts": ts, "data": {"n": n}, "deleted_at": null, "deletion_detected": null})
}

/// A deletion record at `ts` (its ttl, or its deletion's time).
fn gone(id: &str, ts: i64, detected: bool) -> Value {
    json!({"ref": id, "ts": ts, "data": null,
           "deleted_at": Timestamp::from_micros(ts).to_string(), "deletion_detected": detected})
}

/// The copy the records make, applied in order: the latest version per ref; a deletion record
/// removes it. id → (ts, data).
fn apply(records: &[Value], deleted: &str) -> BTreeMap<String, (i64, Value)> {
    let mut copy = BTreeMap::new();
    for r in records {
        let id = r["ref"].as_str().unwrap().to_string();
        if r[deleted].is_null() {
            copy.insert(id, (r["ts"].as_i64().unwrap(), r["data"].clone()));
        } else {
            copy.remove(&id);
        }
    }
    copy
}

/// Every document's records are in ts order.
fn assert_ts_order_per_document(records: &[Value]) {
    let mut last: BTreeMap<&str, i64> = BTreeMap::new();
    for r in records {
        let (id, ts) = (r["ref"].as_str().unwrap(), r["ts"].as_i64().unwrap());
        if let Some(&before) = last.get(id) {
            assert!(before <= ts, "document {id}: ts {ts} after {before}");
        }
        last.insert(id, ts);
    }
}

/// The stream's list of expiring documents as the state file records it: id → ttl.
fn expiring(out: &Path) -> Value {
    let state: Value =
        serde_json::from_slice(&std::fs::read(out.join("_state.json")).unwrap()).unwrap();
    state["streams"]["things"]
        .get("expiring")
        .cloned()
        .unwrap_or(json!({}))
}

fn position(out: &Path) -> Value {
    let state: Value =
        serde_json::from_slice(&std::fs::read(out.join("_state.json")).unwrap()).unwrap();
    state["streams"]["things"]["position"].clone()
}

/// The collection now, as the copy's map.
fn server_copy(fx: &Fixture) -> BTreeMap<String, (i64, Value)> {
    collection_now(fx, "things")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_documents_leave_the_copy_at_their_ttl() {
    let fx = Fixture::start(SCHEMA, &[]).await;
    let url = fx.server.url();
    let out = fx.out("sync");
    let cfg = config(fx.dir.path(), "sync", 1000);
    let base = server_now(&fx);
    let ttl = |hours: i64, k: i64| base + hours * HOUR + k;
    // 1 expires; 2 gets a later ttl, 3 loses its ttl (both after the first sync); 4 expires
    // and is created again with the same id; 5 has none; 6 is deleted before its ttl; 7
    // expires a window later; 9's ttl was moved before the first sync.
    for (id, t) in [
        ("1", Some(ttl(1, 1))),
        ("2", Some(ttl(1, 2))),
        ("3", Some(ttl(1, 3))),
        ("4", Some(ttl(1, 4))),
        ("5", None),
        ("6", Some(ttl(1, 6))),
        ("7", Some(ttl(3, 7))),
        ("9", Some(ttl(1, 9))),
    ] {
        write(&fx, &create(id, id.parse().unwrap(), t));
    }
    write(&fx, &set_ttl("9", Some(ttl(5, 9))));
    sync_ok(&url, &cfg, &out);
    let first = read_manifest(&out).unwrap().len();
    assert_eq!(
        expiring(&out),
        json!({"1": ttl(1, 1), "2": ttl(1, 2), "3": ttl(1, 3), "4": ttl(1, 4), "6": ttl(1, 6),
               "7": ttl(3, 7), "9": ttl(5, 9)})
    );

    let u2 = write(&fx, &set_ttl("2", Some(ttl(5, 2))));
    let u3 = write(&fx, &set_ttl("3", None));
    let d6 = write(&fx, &delete("6"));
    // Created and expired between two syncs: never in the copy.
    write(&fx, &create("8", 8, Some(ttl(1, 8))));
    fx.engine
        .advance_clock(Duration::from_micros(2 * HOUR as u64));
    let c4 = write(&fx, &create("4", 40, None));
    sync_ok(&url, &cfg, &out);
    let window = records(&out, first);
    assert_eq!(
        window,
        [
            live("2", u2, 2),
            live("3", u3, 3),
            gone("6", d6, false),
            // 4's expiry comes before its new creation.
            gone("4", ttl(1, 4), false),
            live("4", c4, 40),
            // The expiry phase, at the window's end.
            gone("1", ttl(1, 1), false),
        ]
    );
    assert_eq!(
        expiring(&out),
        json!({"7": ttl(3, 7), "2": ttl(5, 2), "9": ttl(5, 9)})
    );
    assert_eq!(position(&out)["at"], "synced");
    let second = read_manifest(&out).unwrap().len();

    fx.engine
        .advance_clock(Duration::from_micros(2 * HOUR as u64));
    sync_ok(&url, &cfg, &out);
    assert_eq!(records(&out, second), [gone("7", ttl(3, 7), false)]);
    assert_eq!(expiring(&out), json!({"2": ttl(5, 2), "9": ttl(5, 9)}));

    let all = records(&out, 0);
    assert_ts_order_per_document(&all);
    let copy = apply(&all, "deleted_at");
    assert_eq!(copy, server_copy(&fx));
    assert_eq!(copy.keys().collect::<Vec<_>>(), ["2", "3", "4", "5", "9"]);
    assert_eq!(
        id_set_of(&out.join("_state.json"), "things"),
        ["2", "3", "4", "5", "9"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_in_the_expiry_phase_resumes_with_each_expiry_once() {
    let fx = Fixture::start(SCHEMA, &[("things", crate::support::numbered_docs(5))]).await;
    let url = fx.server.url();
    let (clean, killed) = (fx.out("clean"), fx.out("killed"));
    let cfg = config(fx.dir.path(), "batches", 10);
    let base = server_now(&fx);
    // 40 documents expiring at one ttl (their expiries go in id order) and at others.
    for id in 101..=140_i64 {
        let t = base + HOUR + if id % 2 == 0 { 0 } else { id };
        write(&fx, &create(&id.to_string(), id, Some(t)));
    }
    sync_ok(&url, &cfg, &clean);
    sync_ok(&url, &cfg, &killed);
    let first = read_manifest(&clean).unwrap().len();
    assert_eq!(read_manifest(&killed).unwrap().len(), first);
    fx.engine
        .advance_clock(Duration::from_micros(2 * HOUR as u64));
    sync_ok(&url, &cfg, &clean);

    // The window has no changes: every batch of these runs is the expiry phase's (4 of 10).
    // Each kill lands in the phase (the state says so), with the expiries committed so far
    // listed no more: a batch published but not recorded, a batch half written, a state
    // write cut short (the run's third: one at its start, then one per batch), a batch
    // published again.
    for (crash, left) in [
        ("after-batch-rename:2", 30),
        ("mid-batch:2", 30),
        ("state-write:3", 20),
        ("after-batch-rename:1", 20),
    ] {
        let r = sync_binary(&url, &cfg, &killed, Some(crash));
        assert!(!r.status.success(), "{crash}: expected a crash");
        assert_eq!(
            position(&killed)["at"],
            "expire",
            "{crash}: killed in the expiry phase"
        );
        assert_eq!(
            expiring(&killed).as_object().unwrap().len(),
            left,
            "{crash}: expiries committed"
        );
    }
    sync_ok(&url, &cfg, &killed);
    assert_eq!(position(&killed)["at"], "synced");
    assert_eq!(expiring(&killed), json!({}));

    let mut due: Vec<(i64, i64)> = (101..=140_i64)
        .map(|id| (base + HOUR + if id % 2 == 0 { 0 } else { id }, id))
        .collect();
    due.sort_unstable();
    let want: Vec<Value> = due
        .iter()
        .map(|&(t, id)| gone(&id.to_string(), t, false))
        .collect();
    assert_eq!(records(&clean, first), want);
    assert_eq!(records(&killed, first), want, "each expiry exactly once");
    let batches = |d: &Path| -> Vec<String> {
        files_below(d)
            .into_iter()
            .filter(|f| f.starts_with("things/"))
            .collect()
    };
    assert_eq!(batches(&killed), batches(&clean));
    for f in batches(&clean) {
        assert_eq!(
            std::fs::read(killed.join(&f)).unwrap(),
            std::fs::read(clean.join(&f)).unwrap(),
            "{f}"
        );
    }
    let live_ids: Vec<String> = (1..=5).map(|i| i.to_string()).collect();
    assert_eq!(id_set_of(&killed.join("_state.json"), "things"), live_ids);
    assert_eq!(id_set_of(&clean.join("_state.json"), "things"), live_ids);
    assert_eq!(apply(&records(&killed, 0), "deleted_at"), server_copy(&fx));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_a_history_gap_an_expired_document_is_deleted_at_its_ttl_not_detected() {
    let schema = r#"{
      "collections": [{"name": "things", "history_days": 0}],
      "indexes": [{"name": "things_by_ts", "source": "things", "values": [{"field": "ts"}, {"field": "ref"}]}],
      "keys": [{"secret": "fnTestServer", "role": "server"}]
    }"#;
    let fx = Fixture::start(schema, &[]).await;
    let url = fx.server.url();
    let out = fx.out("gap");
    let cfg = config(fx.dir.path(), "gap", 1000);
    let base = server_now(&fx);
    write(&fx, &create("1", 1, Some(base + HOUR + 1)));
    write(&fx, &create("2", 2, None));
    write(&fx, &create("3", 3, None));
    sync_ok(&url, &cfg, &out);
    let first = read_manifest(&out).unwrap().len();
    write(&fx, &delete("2"));
    // Past the ttl and past the history window: the next window is over a gap.
    fx.engine
        .advance_clock(Duration::from_micros(2 * HOUR as u64));
    sync_ok(&url, &cfg, &out);
    let window = records(&out, first);
    let Value::Number(t) = &window[1]["ts"] else {
        panic!("{window:?}")
    };
    let t = t.as_i64().unwrap();
    // The expiry at its ttl, then the reconciliation's detected deletion at the window's end.
    assert_eq!(
        window,
        [gone("1", base + HOUR + 1, false), gone("2", t, true)]
    );
    assert!(t > base + 2 * HOUR);
    assert_eq!(apply(&records(&out, 0), "deleted_at"), server_copy(&fx));
    assert_eq!(expiring(&out), json!({}));
}

/// An Airbyte config for the fixture's server, tracking deletions of `things`.
fn airbyte_files(fx: &Fixture) -> (PathBuf, PathBuf) {
    let dir = fx.dir.path();
    let (host, port) = (fx.server.addr().ip().to_string(), fx.server.addr().port());
    let config = dir.join("ab.json");
    std::fs::write(
        &config,
        json!({"domain": host, "port": port, "scheme": "http", "secret": "fnTestServer",
            "collection": {"name": "things",
                           "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}}})
        .to_string(),
    )
    .unwrap();
    let catalog = dir.join("catalog.json");
    std::fs::write(
        &catalog,
        json!({"streams": [{"stream": {"name": "things", "json_schema": {"type": "object"},
            "supported_sync_modes": ["full_refresh", "incremental"]},
            "sync_mode": "incremental", "destination_sync_mode": "append_dedup",
            "primary_key": [["ref"]], "cursor_field": ["ts"]}]})
        .to_string(),
    )
    .unwrap();
    (config, catalog)
}

/// `fauna-sync read` with the last STATE message of an earlier read: its RECORD data and its
/// last STATE.
fn airbyte_read(
    fx: &Fixture,
    config: &Path,
    catalog: &Path,
    state: Option<&Value>,
) -> (Vec<Value>, Value) {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    c.arg("read")
        .arg("--config")
        .arg(config)
        .arg("--catalog")
        .arg(catalog);
    if let Some(s) = state {
        let path = fx.dir.path().join("state.json");
        std::fs::write(&path, json!([s]).to_string()).unwrap();
        c.arg("--state").arg(path);
    }
    let o = tokio::task::block_in_place(|| c.output().unwrap());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let messages: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let records = messages
        .iter()
        .filter(|m| m["type"] == "RECORD")
        .map(|m| m["record"]["data"].clone())
        .collect();
    let state = messages
        .iter()
        .rev()
        .find(|m| m["type"] == "STATE")
        .map(|m| m["state"].clone())
        .unwrap();
    (records, state)
}

/// An Airbyte deletion record's fields: ref, ts, and whether it is a deletion.
fn airbyte_rows(records: &[Value]) -> Vec<(String, i64, bool)> {
    records
        .iter()
        .map(|r| {
            (
                r["ref"].as_str().unwrap().to_string(),
                r["ts"].as_i64().unwrap(),
                !r["_ab_cdc_deleted_at"].is_null(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn airbyte_incremental_reads_delete_expired_documents_at_their_ttl() {
    let fx = Fixture::start(SCHEMA, &[]).await;
    let (config, catalog) = airbyte_files(&fx);
    let base = server_now(&fx);
    let ttl = |hours: i64, k: i64| base + hours * HOUR + k;
    for (id, t) in [
        ("1", Some(ttl(1, 1))),
        ("2", Some(ttl(1, 2))),
        ("3", Some(ttl(1, 3))),
        ("4", Some(ttl(1, 4))),
        ("5", None),
        ("7", Some(ttl(3, 7))),
    ] {
        write(&fx, &create(id, id.parse().unwrap(), t));
    }
    let (first, state) = airbyte_read(&fx, &config, &catalog, None);
    assert_eq!(first.len(), 6);
    assert_eq!(
        state["stream"]["stream_state"]["expiring"],
        json!({"1": ttl(1, 1), "2": ttl(1, 2), "3": ttl(1, 3), "4": ttl(1, 4), "7": ttl(3, 7)})
    );
    let u2 = write(&fx, &set_ttl("2", Some(ttl(5, 2))));
    let u3 = write(&fx, &set_ttl("3", None));
    fx.engine
        .advance_clock(Duration::from_micros(2 * HOUR as u64));
    let c4 = write(&fx, &create("4", 40, None));
    let (second, state) = airbyte_read(&fx, &config, &catalog, Some(&state));
    assert_eq!(
        airbyte_rows(&second),
        [
            ("2".to_string(), u2, false),
            ("3".to_string(), u3, false),
            ("4".to_string(), ttl(1, 4), true),
            ("4".to_string(), c4, false),
            ("1".to_string(), ttl(1, 1), true),
        ]
    );
    // The deletion column holds the ttl as source-fauna wrote times.
    let expiry = &second[4];
    assert_eq!(
        expiry["_ab_cdc_deleted_at"],
        Timestamp::from_micros(ttl(1, 1)).to_string()
    );
    assert_eq!(
        state["stream"]["stream_state"]["expiring"],
        json!({"7": ttl(3, 7), "2": ttl(5, 2)})
    );
    fx.engine
        .advance_clock(Duration::from_micros(2 * HOUR as u64));
    let (third, state) = airbyte_read(&fx, &config, &catalog, Some(&state));
    assert_eq!(airbyte_rows(&third), [("7".to_string(), ttl(3, 7), true)]);
    assert_eq!(
        state["stream"]["stream_state"]["expiring"],
        json!({"2": ttl(5, 2)})
    );
    let all: Vec<Value> = first.into_iter().chain(second).chain(third).collect();
    let copy = apply(&all, "_ab_cdc_deleted_at");
    let now: BTreeMap<String, (i64, Value)> = server_copy(&fx);
    assert_eq!(copy, now);
    assert_eq!(copy.keys().collect::<Vec<_>>(), ["2", "3", "4", "5"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_partitioned_window_a_re_created_document_follows_its_expiry() {
    let fx = Fixture::start(SCHEMA, &[("things", crate::support::numbered_docs(1500))]).await;
    let url = fx.server.url();
    let out = fx.out("partitioned");
    let cfg = fx.dir.path().join("four.json");
    std::fs::write(
        &cfg,
        r#"{"concurrency": 4,
            "collection": {"name": "things",
              "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}},
            "output": {"format": "jsonl", "batch_rows": 700}}"#,
    )
    .unwrap();
    let base = server_now(&fx);
    let ttl = |id: i64| base + HOUR + id;
    for id in 2001..=2010_i64 {
        write(&fx, &create(&id.to_string(), id, Some(ttl(id))));
    }
    sync_ok(&url, &cfg, &out);
    let first = read_manifest(&out).unwrap().len();
    // 1,200 changes: the window is read as ranges of ts.
    for block in (1..=1200_i64).collect::<Vec<_>>().chunks(250) {
        let updates: Vec<String> = block
            .iter()
            .map(|id| {
                format!(
                    r#"{{"update":{},"params":{{"object":{{"data":{{"object":{{"n":{id},"v":2}}}}}}}}}}"#,
                    doc(&id.to_string())
                )
            })
            .collect();
        write(&fx, &format!(r#"{{"do":[{}]}}"#, updates.join(",")));
    }
    fx.engine
        .advance_clock(Duration::from_micros(2 * HOUR as u64));
    let c1 = write(&fx, &create("2001", 1, None));
    let c2 = write(&fx, &create("2002", 2, Some(base + 5 * HOUR)));
    sync_ok(&url, &cfg, &out);
    let window = records(&out, first);
    assert_eq!(window.len(), 1200 + 2 + 10);
    // Range 0's first turn of 1,000 updates, then range 3's two re-creations, each after its
    // expiry; range 0's last 200 updates; the expiry phase.
    assert_eq!(
        window[1000..1004],
        [
            gone("2001", ttl(2001), false),
            live("2001", c1, 1),
            gone("2002", ttl(2002), false),
            live("2002", c2, 2),
        ]
    );
    assert!(window[..1000]
        .iter()
        .chain(&window[1004..1204])
        .all(|r| r["deleted_at"].is_null()));
    let phase: Vec<Value> = (2003..=2010)
        .map(|id| gone(&id.to_string(), ttl(id), false))
        .collect();
    assert_eq!(window[1204..], phase[..]);
    assert_ts_order_per_document(&window);
    assert_eq!(expiring(&out), json!({"2002": base + 5 * HOUR}));
    let all = records(&out, 0);
    assert_ts_order_per_document(&all);
    assert_eq!(apply(&all, "deleted_at"), server_copy(&fx));
}
