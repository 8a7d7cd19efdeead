//! The short-retention strategy (`spec/export-format.md`, "Consistency"): a collection with
//! `history_days` 0 whose export outlives the (scaled) history window while documents are
//! created, updated and deleted concurrently.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fauna_dev::engine::{Engine, EngineOptions};
use fauna_dev::server::ServerConfig;
use fauna_sync::config::Settings;
use fauna_sync::run::run_export;
use fauna_sync::sink::read_manifest;
use fauna_sync::state::{Position, State, Strategy};
use fauna_sync::sync::Quiet;
use serde_json::{json, Value};

use crate::support::{execute, files_below, id_set_of, load_settings, Fixture};

const SCHEMA: &str = r#"{
  "collections": [{"name": "events", "history_days": 0}],
  "indexes": [{"name": "events_by_ts", "source": "events", "values": [{"field": "ts"}, {"field": "ref"}]}],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

const SEEDED: u64 = 300;

fn seed() -> String {
    (1..=SEEDED)
        .map(|i| {
            format!(
                r#"{{"id":"{}","ts":{},"data":{{"n":{i},"v":0}}}}"#,
                1000 + i,
                1_658_188_683_000_000 + i
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// One write the concurrent writer made: its transaction time, the id, and the data after it
/// (`None` = deleted).
type Write = (i64, String, Option<Value>);

fn write(engine: &Engine, query: Value) -> i64 {
    let body = query.to_string();
    let resp = execute(engine, "secret", &body);
    assert!(matches!(resp.status, 200 | 201), "{body} → {}", resp.body);
    resp.txn_time
}

fn doc_ref(id: &str) -> Value {
    json!({"ref": {"collection": "events"}, "id": id})
}

/// Creates, updates and deletes documents (a fixed, seeded sequence) until told to stop or
/// `max` writes are done; returns the log.
fn writer(engine: Arc<Engine>, stop: Arc<AtomicBool>, max: usize) -> Vec<Write> {
    let mut live: Vec<String> = (1..=SEEDED).map(|i| (1000 + i).to_string()).collect();
    let mut next_new = 5000u64;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut log = Vec::new();
    while log.len() < max && !stop.load(Ordering::SeqCst) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let pick = (rng % live.len() as u64) as usize;
        match rng % 5 {
            0 | 1 => {
                let id = live[pick].clone();
                let data = json!({"n": id.parse::<i64>().unwrap(), "v": log.len()});
                let ts = write(
                    &engine,
                    json!({"update": doc_ref(&id), "params": {"object": {"data": {"object": data}}}}),
                );
                // Update merges: the data is the new object (same keys).
                log.push((ts, id, Some(data)));
            }
            2 => {
                let id = live.swap_remove(pick);
                let ts = write(&engine, json!({"delete": doc_ref(&id)}));
                log.push((ts, id, None));
            }
            _ => {
                next_new += 1;
                let id = next_new.to_string();
                let data = json!({"n": next_new, "v": log.len()});
                let ts = write(
                    &engine,
                    json!({"create": doc_ref(&id), "params": {"object": {"data": {"object": data}}}}),
                );
                live.push(id.clone());
                log.push((ts, id, Some(data)));
            }
        }
        std::thread::sleep(Duration::from_millis(4));
    }
    log
}

/// The collection as of `at`: the seed with every logged write up to `at` applied.
fn expected_at(log: &[Write], at: i64) -> BTreeMap<String, Value> {
    let mut docs: BTreeMap<String, Value> = (1..=SEEDED)
        .map(|i| ((1000 + i).to_string(), json!({"n": i, "v": 0})))
        .collect();
    for (ts, id, data) in log.iter().filter(|(ts, ..)| *ts <= at) {
        let _ = ts;
        match data {
            Some(d) => docs.insert(id.clone(), d.clone()),
            None => docs.remove(id),
        };
    }
    docs
}

/// Every committed row (JSONL), in file order.
fn rows(out: &Path) -> Vec<Value> {
    read_manifest(out)
        .unwrap()
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(out.join(&f.path))
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn settings(endpoint: &str, out: &Path) -> Settings {
    let config = out.with_extension("config.json");
    std::fs::write(
        &config,
        r#"{"collection": {"name": "events", "page_size": 10, "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}},
            "output": {"batch_rows": 25}}"#,
    )
    .unwrap();
    load_settings(&config, endpoint, out)
}

/// fauna-dev keeping history for 300 ms and answering after at least 30 ms, so that an export
/// of the seed (30 pages in the scan alone) outlives the window many times over.
async fn short_history_fixture() -> Fixture {
    Fixture::start_with(
        SCHEMA,
        &[("events", seed())],
        EngineOptions {
            mvt_offset: Duration::from_millis(300),
            ..EngineOptions::default()
        },
        ServerConfig::new().latency(Duration::from_millis(30)),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_outliving_the_history_window_under_concurrent_writes_is_consistent_once_deduplicated(
) {
    let fx = short_history_fixture().await;
    let out = fx.out("out");
    let settings = settings(&fx.server.url(), &out);

    let stop = Arc::new(AtomicBool::new(false));
    let handle = {
        let (engine, stop) = (fx.engine.clone(), stop.clone());
        std::thread::spawn(move || writer(engine, stop, 400))
    };
    let summary = run_export(&settings, &Quiet).await;
    stop.store(true, Ordering::SeqCst);
    let log = handle.join().unwrap();
    let summary = summary.unwrap();
    assert!(
        log.len() >= 20,
        "the writer ran concurrently: {} writes",
        log.len()
    );

    assert_eq!(summary.docs, rows(&out).len() as u64);
    assert_consistent(&fx.engine, &out, &log);
}

/// The output of a finished short-retention export: it outlived the window, no version is
/// written twice, and deduplicated by ref it is exactly the collection at `consistent_at`.
fn assert_consistent(engine: &Engine, out: &Path, log: &[Write]) {
    let state = State::load(&out.join("_state.json")).unwrap();
    let stream = &state.streams["events"];
    assert_eq!(stream.strategy, Strategy::ScanCatchUp);
    assert_eq!(stream.index.as_deref(), Some("events_by_ts"));
    assert_eq!(stream.position, Position::Done);
    let consistent_at = stream.consistent_at.expect("a consistent time once done");
    assert!(consistent_at > stream.snapshot_ts);

    // The export outlived the window: its start can no longer be read.
    let (status, body) = crate::support::query(
        engine,
        "fnTestServer",
        &format!(
            r#"{{"at": {}, "expr": {{"paginate": {{"documents": {{"collection": "events"}}}}}}}}"#,
            stream.snapshot_ts
        ),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string()
            .contains("less than minimum allowed timestamp"),
        "{body}"
    );

    // Every row is a distinct version.
    let rows = rows(out);
    let mut versions = BTreeSet::new();
    for r in &rows {
        let key = (
            r["ref"].as_str().unwrap().to_string(),
            r["ts"].as_i64().unwrap(),
        );
        assert!(
            versions.insert(key.clone()),
            "version {key:?} exported twice"
        );
    }

    // Keep the newest row per ref, drop deletions: exactly the collection at consistent_at.
    let mut newest: BTreeMap<String, &Value> = BTreeMap::new();
    for r in &rows {
        let id = r["ref"].as_str().unwrap().to_string();
        match newest.get(&id) {
            Some(old) if old["ts"].as_i64() > r["ts"].as_i64() => {}
            _ => {
                newest.insert(id, r);
            }
        }
    }
    let got: BTreeMap<String, Value> = newest
        .into_iter()
        .filter(|(_, r)| r["deleted_at"].is_null())
        .map(|(id, r)| (id, r["data"].clone()))
        .collect();
    let want = expected_at(log, consistent_at);
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);

    // Deletion rows only for documents that were exported and then deleted, with a ts after
    // every exported version of that document.
    let deletions: Vec<&Value> = rows.iter().filter(|r| !r["deleted_at"].is_null()).collect();
    for d in &deletions {
        let id = d["ref"].as_str().unwrap();
        assert!(d["data"].is_null());
        assert!(rows
            .iter()
            .filter(|r| r["ref"] == d["ref"] && r["deleted_at"].is_null())
            .all(|r| r["ts"].as_i64() < d["ts"].as_i64()));
        assert!(!want.contains_key(id));
    }
    // The id set beside the state holds exactly the ids the output holds: those live at
    // `consistent_at`.
    let mut live: Vec<String> = want.keys().cloned().collect();
    live.sort_by(|a, b| fauna_sync::export::id_order(a, b));
    assert_eq!(id_set_of(&out.join("_state.json"), "events"), live);
    assert!(files_below(out).iter().all(|f| !f.contains(".tmp")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_of_the_binary_during_a_short_retention_export_resume_to_the_same_guarantee() {
    let fx = short_history_fixture().await;
    let out = fx.out("out");
    let _ = settings(&fx.server.url(), &out); // writes the config file
    let run = |crash: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
        cmd.args(["export", "--endpoint", &fx.server.url(), "--config"])
            .arg(out.with_extension("config.json"))
            .arg("--out")
            .arg(&out)
            .env("FAUNA_SECRET", "fnTestServer")
            .env_remove("FAUNA_SYNC_TEST_CRASH_AT");
        if let Some(c) = crash {
            cmd.env("FAUNA_SYNC_TEST_CRASH_AT", c);
        }
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };

    let stop = Arc::new(AtomicBool::new(false));
    let handle = {
        let (engine, stop) = (fx.engine.clone(), stop.clone());
        std::thread::spawn(move || writer(engine, stop, 400))
    };
    // Crashes in the scan (between pages, after a rename, in a state write) and, as the writer
    // keeps changing documents, in the catch-up and reconciliation.
    for crash in [
        "after-page:4",
        "after-batch-rename:3",
        "state-write:4",
        "after-batch-rename:9",
        "after-page:6",
        "after-batch-rename:4",
        "after-page:3",
    ] {
        let r = run(Some(crash)).await.unwrap();
        let state = State::load(&out.join("_state.json")).unwrap();
        if state.streams.get("events").map(|s| &s.position) == Some(&Position::Done) {
            break;
        }
        assert!(!r.status.success(), "{crash}: expected a crash");
    }
    let r = run(None).await.unwrap();
    stop.store(true, Ordering::SeqCst);
    let log = handle.join().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_consistent(&fx.engine, &out, &log);
}

/// Runs the binary on `out` with `config` and `extra` arguments and environment.
fn binary(
    url: &str,
    config: &Path,
    out: &Path,
    args: &[&str],
    env: &[(&str, String)],
) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    cmd.args(["export", "--endpoint", url, "--config"])
        .arg(config)
        .arg("--out")
        .arg(out)
        .args(args)
        .env("FAUNA_SECRET", "fnTestServer")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
        .env_remove("FAUNA_SYNC_TEST_PAUSE_AT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Rows with their `ts` left out (it is a transaction time of the fixture's clock): ref, data
/// and whether the row is a deletion, in file order.
fn rows_without_ts(out: &Path) -> Vec<(String, Value, bool)> {
    rows(out)
        .into_iter()
        .map(|r| {
            let deleted = !r["deleted_at"].is_null();
            (
                r["ref"].as_str().unwrap().to_string(),
                r["data"].clone(),
                deleted,
            )
        })
        .collect()
}

/// An export into `out` with `args`, paused the `n`-th time it reaches `point`
/// (`<name>:<n>`): its run (to await) and the file that lets it go on once written.
async fn paused_at(
    fx: &Fixture,
    out: &Path,
    point: &str,
    args: &[&str],
) -> (
    tokio::task::JoinHandle<std::process::Output>,
    std::path::PathBuf,
) {
    let _ = settings(&fx.server.url(), out);
    // The hook creates `<pause>.paused`: a name without a dot keeps `with_extension` right.
    let name = out.file_name().unwrap_or_default().to_string_lossy();
    let pause = out.with_file_name(format!("{name}-pause"));
    let mut cmd = binary(
        &fx.server.url(),
        &out.with_extension("config.json"),
        out,
        args,
        &[
            ("FAUNA_SYNC_TEST_PAUSE_AT", point.into()),
            ("FAUNA_SYNC_TEST_PAUSE_FILE", pause.display().to_string()),
        ],
    );
    let run = tokio::task::spawn_blocking(move || cmd.output().unwrap());
    let paused = pause.with_extension("paused");
    while !paused.exists() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (run, pause)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_scan_exports_the_sequential_scans_records_under_the_same_writes() {
    let mut exports = Vec::new();
    for concurrency in ["1", "4"] {
        let fx = short_history_fixture().await;
        let out = fx.out("out");
        let (run, pause) =
            paused_at(&fx, &out, "scan-start:1", &["--concurrency", concurrency]).await;
        // The scan's start time and split points are chosen (4 ranges: 1075, 1150 and 1225
        // start the last three); before any page is read, the split points are deleted, other
        // documents of every range updated, deleted and created.
        let mut log = Vec::new();
        for id in ["1075", "1150", "1225", "1010", "1290"] {
            let ts = write(&fx.engine, json!({"delete": doc_ref(id)}));
            log.push((ts, id.to_string(), None));
        }
        for (id, create) in [
            ("1001", false),
            ("1074", false),
            ("1076", false),
            ("1226", false),
            ("1300", false),
            ("5001", true),
            ("1010", true),
        ] {
            let data = json!({"n": id.parse::<i64>().unwrap(), "v": log.len()});
            let verb = if create { "create" } else { "update" };
            let ts = write(
                &fx.engine,
                json!({verb: doc_ref(id), "params": {"object": {"data": {"object": data}}}}),
            );
            log.push((ts, id.to_string(), Some(data)));
        }
        // The scan's start falls out of the history window.
        fx.engine.advance_clock(Duration::from_secs(1));
        std::fs::write(&pause, b"").unwrap();
        let r = run.await.unwrap();
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        assert_consistent(&fx.engine, &out, &log);
        exports.push(rows_without_ts(&out));
    }
    // The scan: the seed less 5 deleted and 5 updated; the catch-up: 5 updates and 2 creates.
    assert_eq!(exports[0].len(), SEEDED as usize - 5 - 5 + 7);
    assert_eq!(exports[0], exports[1]);
}

const NUMBERED_SCHEMA: &str = r#"{
  "collections": [{"name": "events", "history_days": 0}],
  "indexes": [{"name": "events_by_ts", "source": "events", "values": [{"field": "ts"}, {"field": "ref"}]}],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_killed_with_ranges_in_flight_resumes_to_the_same_files() {
    // Ids 1..=5000: four ranges from 1, 1250, 2500 and 3750, more than a chunk each.
    let fx = Fixture::start(
        NUMBERED_SCHEMA,
        &[("events", crate::support::numbered_docs(5000))],
    )
    .await;
    let url = fx.server.url();
    let config = fx.dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"concurrency": 4,
            "collection": {"name": "events", "page_size": 100, "page_size_fixed": true},
            "output": {"format": "jsonl", "batch_rows": 300}}"#,
    )
    .unwrap();
    let run = |out: &Path, crash: Option<&str>| {
        let env: Vec<(&str, String)> = crash
            .map(|c| ("FAUNA_SYNC_TEST_CRASH_AT", c.to_string()))
            .into_iter()
            .collect();
        binary(&url, &config, out, &[], &env).output().unwrap()
    };
    let whole = fx.out("whole");
    assert!(run(&whole, None).status.success());
    let out = fx.out("killed");
    // Killed before the sixth take of 100 documents is committed: five of range 0 taken, 300
    // committed; every range's progress and the turn are in the state.
    assert!(!run(&out, Some("after-page:6")).status.success());
    let state = State::load(&out.join("_state.json")).unwrap();
    let Position::ScanParts { rotation } = &state.streams["events"].position else {
        panic!("{:?}", state.streams["events"].position);
    };
    let (parts, turn, taken) = (&rotation.ranges, &rotation.turn, &rotation.taken);
    assert_eq!((*turn, *taken), (0, 300));
    let untils: Vec<Option<&str>> = parts.iter().map(|p| p.until.as_deref()).collect();
    assert_eq!(untils, [Some("1250"), Some("2500"), Some("3750"), None]);
    let starts: Vec<String> = parts
        .iter()
        .map(|p| {
            let cursor: Value = serde_json::from_str(p.cursor.as_deref().unwrap()).unwrap();
            cursor[0]["@ref"]["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(starts, ["301", "1250", "2500", "3750"]);
    for crash in ["after-page:15", "after-batch-rename:4", "state-write:3"] {
        assert!(!run(&out, Some(crash)).status.success(), "{crash}");
    }
    let r = run(&out, None);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));

    // The same files, byte for byte, as the uninterrupted run: chunks of 1,000 in turns.
    let files = |out: &Path| -> Vec<(String, Vec<u8>)> {
        read_manifest(out)
            .unwrap()
            .iter()
            .map(|f| (f.path.clone(), std::fs::read(out.join(&f.path)).unwrap()))
            .collect()
    };
    assert_eq!(files(&out), files(&whole));
    let ids: Vec<i64> = rows(&out)
        .iter()
        .map(|r| r["ref"].as_str().unwrap().parse().unwrap())
        .collect();
    let mut want = Vec::new();
    let mut ranges = [1..1250, 1250..2500, 2500..3750, 3750..5001];
    while ranges.iter().any(|r| !r.is_empty()) {
        for r in ranges.iter_mut() {
            let end = (r.start + 1000).min(r.end);
            want.extend(r.start..end);
            r.start = end;
        }
    }
    assert_eq!(ids, want);
    let state = State::load(&out.join("_state.json")).unwrap();
    assert_eq!(state.streams["events"].position, Position::Done);
    assert_eq!(state.streams["events"].rows, 5000);
}

/// One transaction of `ops` (id, data after it — `None` deletes — and whether it creates),
/// logged at its time.
fn write_block(engine: &Engine, log: &mut Vec<Write>, ops: &[(String, Option<Value>, bool)]) {
    let body: Vec<Value> = ops
        .iter()
        .map(|(id, data, create)| match data {
            None => json!({"delete": doc_ref(id)}),
            Some(d) => {
                let verb = if *create { "create" } else { "update" };
                json!({verb: doc_ref(id), "params": {"object": {"data": {"object": d}}}})
            }
        })
        .collect();
    let ts = write(engine, json!({ "do": body }));
    log.extend(ops.iter().map(|(id, d, _)| (ts, id.clone(), d.clone())));
}

/// The writes made while the scan is paused at its start (after `T0`): 1,100 changes (seeds
/// 1001–1200 updated, 5001–5900 created), the clock 100 s on, then 100 more (seeds 1201–1250
/// updated, 5901–5950 created) and seeds 1251–1270 deleted, the clock 200 s on. Split into 4
/// ranges of ts of equal span over `[T0, T ≈ T0 + 300 s]`, the first block lies in range 0
/// (more than a chunk: 1,000 of it come out, then the second block, range 1, then the
/// first block's last 100): the moved clock dwarfs the real time the test takes (the blocks
/// would change ranges only if writing them took over 50 s).
fn catch_up_writes(engine: &Engine) -> Vec<Write> {
    let data = |id: i64, v: i64| Some(json!({"n": id, "v": v}));
    let mut first: Vec<(String, Option<Value>, bool)> = (1001..=1200)
        .map(|id| (id.to_string(), data(id, 1), false))
        .collect();
    first.extend((5001..=5900).map(|id| (id.to_string(), data(id, 1), true)));
    let mut second: Vec<(String, Option<Value>, bool)> = (1201..=1250)
        .map(|id| (id.to_string(), data(id, 2), false))
        .collect();
    second.extend((5901..=5950).map(|id| (id.to_string(), data(id, 2), true)));
    second.extend((1251..=1270).map(|id| (id.to_string(), None, false)));
    let mut log = Vec::new();
    for ops in first.chunks(250) {
        write_block(engine, &mut log, ops);
    }
    engine.advance_clock(Duration::from_secs(100));
    for ops in second.chunks(250) {
        write_block(engine, &mut log, ops);
    }
    engine.advance_clock(Duration::from_secs(200));
    log
}

/// The rows of an export whose scan started before the writes of [`catch_up_writes`] (`log`):
/// the untouched seeds in id order, then every document written since, as the index lists it
/// (by `ts`, then id) — read as ranges of ts (`partitioned`), the first 1,000, the 100 of the
/// second block, the rest of the first.
fn catch_up_rows(log: &[Write], partitioned: bool) -> Vec<(String, Value, bool)> {
    let last = expected_at(log, i64::MAX);
    let written: BTreeMap<&str, i64> = log.iter().map(|(ts, id, _)| (id.as_str(), *ts)).collect();
    let mut rows: Vec<(String, Value, bool)> = last
        .iter()
        .filter(|(id, _)| !written.contains_key(id.as_str()))
        .map(|(id, d)| (id.clone(), d.clone(), false))
        .collect();
    let mut changed: Vec<(i64, &String, &Value)> = last
        .iter()
        .filter_map(|(id, d)| written.get(id.as_str()).map(|ts| (*ts, id, d)))
        .collect();
    changed.sort_by_key(|(ts, id, _)| (*ts, (*id).clone()));
    let mut changed: Vec<(String, Value, bool)> = changed
        .into_iter()
        .map(|(_, id, d)| (id.clone(), d.clone(), false))
        .collect();
    assert_eq!(changed.len(), 1200);
    if partitioned {
        let rest: Vec<_> = changed.drain(1000..1100).collect();
        changed.extend(rest);
    }
    rows.extend(changed);
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_catch_up_exports_the_sequential_catch_ups_records_under_the_same_writes() {
    let mut exports = Vec::new();
    for concurrency in ["1", "4"] {
        let fx = short_history_fixture().await;
        let out = fx.out("out");
        let (run, pause) =
            paused_at(&fx, &out, "scan-start:1", &["--concurrency", concurrency]).await;
        let log = catch_up_writes(&fx.engine);
        std::fs::write(&pause, b"").unwrap();
        let r = run.await.unwrap();
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        assert_consistent(&fx.engine, &out, &log);
        let rows = rows_without_ts(&out);
        // The scan: the 30 seeds untouched; the catch-up: 1,200 documents, in ts order read as
        // one range, in turns of 1,000 per range of ts read as four.
        assert_eq!(
            rows,
            catch_up_rows(&log, concurrency == "4"),
            "{concurrency}"
        );
        exports.push(rows);
    }
    assert_eq!(exports[0].len(), 30 + 1200);
    let (mut a, mut b) = (exports[0].clone(), exports[1].clone());
    a.sort_by(|x, y| x.0.cmp(&y.0));
    b.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(a, b, "the very same records");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catch_up_killed_with_ranges_of_ts_in_flight_resumes_with_every_document_once() {
    let fx = short_history_fixture().await;
    let out = fx.out("out");
    let config = {
        let _ = settings(&fx.server.url(), &out);
        out.with_extension("config.json")
    };
    let url = fx.server.url();
    let run = |env: Vec<(&'static str, String)>| {
        let mut cmd = binary(&url, &config, &out, &["--concurrency", "4"], &env);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };
    let position = || -> Value {
        let state: Value =
            serde_json::from_slice(&std::fs::read(out.join("_state.json")).unwrap()).unwrap();
        state["streams"]["events"]["position"].clone()
    };
    // Killed as soon as the catch-up's ranges are recorded, nothing of them read.
    let pause = fx.dir.path().join("pause");
    let first = run(vec![
        ("FAUNA_SYNC_TEST_PAUSE_AT", "scan-start:1".into()),
        ("FAUNA_SYNC_TEST_PAUSE_FILE", pause.display().to_string()),
        ("FAUNA_SYNC_TEST_CRASH_AT", "catch-up-start:1".into()),
    ]);
    let paused = pause.with_extension("paused");
    while !paused.exists() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let log = catch_up_writes(&fx.engine);
    std::fs::write(&pause, b"").unwrap();
    assert!(!first.await.unwrap().status.success(), "expected a crash");
    let state = State::load(&out.join("_state.json")).unwrap();
    let stream = &state.streams["events"];
    let Position::CatchUpParts {
        since,
        at,
        rotation,
    } = &stream.position
    else {
        panic!("{:?}", stream.position);
    };
    let (parts, turn, taken) = (&rotation.ranges, &rotation.turn, &rotation.taken);
    assert_eq!(*since, stream.snapshot_ts);
    assert!(*at > log.last().unwrap().0);
    assert_eq!((parts.len(), *turn, *taken), (4, 0, 0));
    assert!(parts.iter().all(|p| p.cursor.is_none() && !p.done));
    assert_eq!(parts[0].since, Some(*since));
    assert_eq!(parts[3].until, None);
    assert_eq!(stream.rows, 30, "the scan's untouched seeds");

    // Killed again and again with ranges in flight (between takes, after a batch's rename,
    // in a batch, in a state write), each run resuming from the last one's state.
    let mut in_flight = 0;
    for crash in [
        "after-page:3",
        "after-batch-rename:2",
        "mid-batch:2",
        "after-page:4",
        "state-write:3",
        "after-page:5",
    ] {
        let r = run(vec![("FAUNA_SYNC_TEST_CRASH_AT", crash.into())])
            .await
            .unwrap();
        assert!(!r.status.success(), "{crash}: expected a crash");
        let p = position();
        if p["at"] == "catch_up_parts" {
            let started = p["parts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|part| part.get("cursor").is_some() || part.get("done").is_some());
            in_flight += usize::from(started);
        }
    }
    assert_eq!(
        in_flight, 6,
        "every kill with the catch-up's ranges in flight"
    );
    let r = run(Vec::new()).await.unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_consistent(&fx.engine, &out, &log);
    // Every document once, in the uninterrupted partitioned read's order.
    assert_eq!(rows_without_ts(&out), catch_up_rows(&log, true));
}

/// An export (`-v`) into `out`, paused at `point` (`<name>:<n>`); `during` changes the server
/// meanwhile. Returns whether the listing of live ids was skipped, the rows, and the refs of
/// the deletion rows.
async fn export_paused_at(
    fx: &Fixture,
    out: &Path,
    point: &str,
    during: impl FnOnce(),
) -> (bool, Vec<Value>, Vec<String>) {
    let (run, pause) = paused_at(fx, out, point, &["-v"]).await;
    during();
    std::fs::write(&pause, b"").unwrap();
    let r = run.await.unwrap();
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{stderr}");
    let all = rows(out);
    let deleted = all
        .iter()
        .filter(|r| !r["deleted_at"].is_null())
        .map(|r| r["ref"].as_str().unwrap_or_default().to_string())
        .collect();
    (stderr.contains("nothing to reconcile"), all, deleted)
}

/// The reconciliation's listing of live ids is skipped only when nothing exported can be
/// missing: an exported document whose ttl passes before the catch-up's time gets its
/// deletion record from the listing (Fauna writes no event when a ttl passes), and so does one
/// deleted once its page is read (within the history window: Fauna's events show it); a quiet
/// export skips it and is exact. A resync over earlier ids: see
/// `sync::a_history_gap_is_resynced_when_configured`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciliation_is_skipped_only_when_nothing_exported_can_be_missing() {
    let fx = Fixture::start(SCHEMA, &[("events", seed())]).await;
    // 1001 (in the scan's first page) expires 30 s from now.
    let now = write(
        &fx.engine,
        json!({"update": doc_ref("1002"), "params": {"object": {}}}),
    );
    let ttl = now + 30_000_000;
    write(
        &fx.engine,
        json!({"update": doc_ref("1001"), "params": {"object": {"ttl": {"epoch": ttl, "unit": "microseconds"}}}}),
    );
    let (skipped, rows, deleted) = export_paused_at(&fx, &fx.out("ttl"), "after-page:1", || {
        fx.engine.advance_clock(Duration::from_secs(60))
    })
    .await;
    assert!(!skipped);
    assert_eq!(deleted, ["1001"]);
    assert_eq!(rows.len(), SEEDED as usize + 1);

    let (skipped, rows, deleted) =
        export_paused_at(&fx, &fx.out("deleted"), "after-page:1", || {
            write(&fx.engine, json!({"delete": doc_ref("1005")}));
        })
        .await;
    assert!(!skipped);
    assert_eq!(deleted, ["1005"]);
    assert_eq!(rows.len(), SEEDED as usize - 1 + 1);

    // Quiet (1001 expired and 1005 deleted before this export began): skipped, exact.
    let out = fx.out("quiet");
    let (skipped, rows, deleted) = export_paused_at(&fx, &out, "scan-start:1", || {}).await;
    assert!(skipped);
    assert!(deleted.is_empty());
    let refs: BTreeSet<&str> = rows.iter().filter_map(|r| r["ref"].as_str()).collect();
    let expected: BTreeSet<String> = (2..=SEEDED)
        .filter(|i| *i != 5)
        .map(|i| (1000 + i).to_string())
        .collect();
    assert_eq!(refs, expected.iter().map(String::as_str).collect());
    assert_eq!(rows.len(), expected.len());
    let state = State::load(&out.join("_state.json")).unwrap();
    let events = &state.streams["events"];
    assert_eq!(events.position, Position::Done);
    assert!(events.consistent_at.is_some());
    assert_eq!(events.ids_live_since, None);
}
