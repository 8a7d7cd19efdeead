//! Partitioned exports (`concurrency` above 1): exactly the records of the sequential export,
//! in turns of `CHUNK_ITEMS` per range, the same bytes however the run is timed or killed.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use fauna_dev::engine::EngineOptions;
use fauna_dev::server::ServerConfig;
use fauna_sync::run::run_export;
use fauna_sync::sink::read_manifest;
use fauna_sync::sync::{Quiet, CHUNK_ITEMS};

use crate::support::{files_below, load_settings, numbered_docs, Fixture};

const SCHEMA: &str = r#"{
  "collections": [{"name": "things", "history_days": null}],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

/// Documents 1..=DOCS: four ranges of about 1,250, more than one chunk each.
const DOCS: i64 = 5000;

/// The ids of the committed records, in manifest and line order (JSONL).
fn committed(out: &Path) -> Vec<i64> {
    let mut ids = Vec::new();
    for f in read_manifest(out).unwrap() {
        let text = std::fs::read_to_string(out.join(&f.path)).unwrap();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            ids.push(v["ref"].as_str().unwrap().parse().unwrap());
        }
    }
    ids
}

/// The order the spec promises for ranges `[1, 1250)`, `[1250, 2500)`, `[2500, 3750)`,
/// `[3750, 5000]` (the split points of ids 1..=5000 in four): a chunk of each range in turn.
fn expected_turns() -> Vec<i64> {
    let mut ranges: Vec<std::ops::RangeInclusive<i64>> =
        vec![1..=1249, 1250..=2499, 2500..=3749, 3750..=5000];
    let chunk = CHUNK_ITEMS as usize;
    let mut out = Vec::new();
    while ranges.iter().any(|r| !r.is_empty()) {
        for r in ranges.iter_mut() {
            let taken: Vec<i64> = r.clone().take(chunk).collect();
            if let Some(&last) = taken.last() {
                *r = last + 1..=*r.end();
            }
            out.extend(taken);
        }
    }
    out
}

fn config(dir: &Path, name: &str, concurrency: u32) -> std::path::PathBuf {
    config_paged(dir, name, concurrency, false)
}

/// [`config`], with the page size pinned at 100 when `fixed` (the queries are then countable).
fn config_paged(dir: &Path, name: &str, concurrency: u32, fixed: bool) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.json"));
    let text = format!(
        r#"{{"concurrency": {concurrency},
            "collections": [{{"name": "things", "page_size": 100, "page_size_fixed": {fixed}}}],
            "output": {{"format": "jsonl", "batch_rows": 700}}}}"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_export_holds_exactly_the_sequential_records_in_turns_of_one_chunk() {
    let fx = Fixture::start(SCHEMA, &[("things", numbered_docs(DOCS))]).await;
    let url = fx.server.url();
    let sequential = fx.out("sequential");
    let cfg = config(fx.dir.path(), "one", 1);
    let one = run_export(&load_settings(&cfg, &url, &sequential), &Quiet)
        .await
        .unwrap();
    let partitioned = fx.out("partitioned");
    let cfg = config(fx.dir.path(), "four", 4);
    let four = run_export(&load_settings(&cfg, &url, &partitioned), &Quiet)
        .await
        .unwrap();

    let seq = committed(&sequential);
    assert_eq!(seq, (1..=DOCS).collect::<Vec<_>>(), "sequential: id order");
    let par = committed(&partitioned);
    assert_eq!(
        par,
        expected_turns(),
        "partitioned: a chunk per range in turn"
    );
    let mut sorted = par.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, seq, "the same records, each once");
    assert_eq!((one.docs, four.docs), (DOCS as u64, DOCS as u64));
    assert_eq!(one.files, four.files, "batches of 700 rows either way");
    // Four ranges read at once: the queries are the split-point probes plus each range's
    // pages (one page more per bounded range, which ends on the next range's first id).
    assert!(
        four.queries > one.queries,
        "{} vs {}",
        four.queries,
        one.queries
    );
    // Line for line, each record is the sequential export's record.
    let lines = |out: &Path| -> BTreeMap<i64, String> {
        read_manifest(out)
            .unwrap()
            .iter()
            .flat_map(|f| {
                std::fs::read_to_string(out.join(&f.path))
                    .unwrap()
                    .lines()
                    .map(|l| {
                        let v: serde_json::Value = serde_json::from_str(l).unwrap();
                        (v["ref"].as_str().unwrap().parse().unwrap(), l.to_string())
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    assert_eq!(lines(&partitioned), lines(&sequential));
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(partitioned.join("_state.json")).unwrap()).unwrap();
    assert_eq!(state["streams"]["things"]["position"]["at"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timing_does_not_change_a_partitioned_export() {
    // The same export against a server that adds 2 ms to every response and refuses a fifth of
    // the requests with 429 (retried after a jittered backoff): the ranges' pages arrive in
    // another order, the files do not change.
    let calm = Fixture::start(SCHEMA, &[("things", numbered_docs(DOCS))]).await;
    let a = calm.out("calm");
    let cfg = config(calm.dir.path(), "four", 4);
    run_export(&load_settings(&cfg, &calm.server.url(), &a), &Quiet)
        .await
        .unwrap();
    let stormy = Fixture::start_with(
        SCHEMA,
        &[("things", numbered_docs(DOCS))],
        EngineOptions::default(),
        ServerConfig::new()
            .latency(Duration::from_millis(2))
            .faults(
                fauna_dev::server::FaultConfig::new(0.2)
                    .unwrap()
                    .seed(7)
                    .kinds(&[fauna_dev::server::Fault::RateLimited]),
            ),
    )
    .await;
    let b = stormy.out("stormy");
    let cfg = config(stormy.dir.path(), "four", 4);
    run_export(&load_settings(&cfg, &stormy.server.url(), &b), &Quiet)
        .await
        .unwrap();
    assert!(stormy.server.faults_injected() > 0);
    assert_same_batches(&b, &a);
    assert_eq!(committed(&a), expected_turns());
}

/// The batch files of `out` equal those of `clean`, byte for byte.
fn assert_same_batches(out: &Path, clean: &Path) {
    let batches = |d: &Path| -> Vec<String> {
        files_below(d)
            .into_iter()
            .filter(|f| f.starts_with("things/"))
            .collect()
    };
    let listing = batches(out);
    assert_eq!(listing, batches(clean));
    for f in &listing {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(clean.join(f)).unwrap(),
            "{f}"
        );
    }
}

/// Runs the real binary with four ranges and an optional crash point.
fn run_binary(endpoint: &str, out: &Path, crash_at: Option<&str>) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    cmd.args(["export", "--endpoint", endpoint, "--collection", "things"])
        .args([
            "--concurrency",
            "4",
            "--page-size",
            "100",
            "--batch-rows",
            "700",
        ])
        .arg("--out")
        .arg(out)
        .env("FAUNA_SECRET", "fnTestServer")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT");
    if let Some(c) = crash_at {
        cmd.env("FAUNA_SYNC_TEST_CRASH_AT", c);
    }
    cmd.output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_with_ranges_in_flight_resumes_to_the_same_bytes() {
    let fx = Fixture::start(SCHEMA, &[("things", numbered_docs(DOCS))]).await;
    let url = fx.server.url();
    let clean = fx.out("clean");
    let ok = tokio::task::block_in_place(|| run_binary(&url, &clean, None));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(committed(&clean), expected_turns());

    let out = fx.out("killed");
    let mut in_flight = 0;
    for crash in [
        "after-page:3",
        "mid-batch:2",
        "after-batch-rename:1",
        "state-write:2",
        "after-page:5",
        "after-batch-rename:2",
        "mid-batch:1",
    ] {
        let r = tokio::task::block_in_place(|| run_binary(&url, &out, Some(crash)));
        assert!(!r.status.success(), "{crash}: expected a crash");
        let Ok(bytes) = std::fs::read(out.join("_state.json")) else {
            continue;
        };
        let state: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let position = &state["streams"]["things"]["position"];
        if position["at"] == "parts" {
            let open = position["parts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["cursor"].is_string() && p["done"] != true)
                .count();
            if open >= 2 {
                in_flight += 1;
            }
        }
    }
    assert!(
        in_flight >= 3,
        "the kills should catch several ranges in flight ({in_flight})"
    );
    let r = tokio::task::block_in_place(|| run_binary(&url, &out, None));
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(committed(&out), expected_turns());
    assert_same_batches(&out, &clean);
}

const WINDOW_SCHEMA: &str = r#"{
  "collections": [{"name": "things", "history_days": null}],
  "indexes": [{"name": "things_by_ts", "source": "things", "values": [{"field": "ts"}, {"field": "ref"}]}],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

fn sync_config(dir: &Path, name: &str, concurrency: u32) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.json"));
    let text = format!(
        r#"{{"concurrency": {concurrency},
            "collection": {{"name": "things", "page_size": 100,
              "deletions": {{"deletion_mode": "deleted_field", "column": "deleted_at"}}}},
            "output": {{"format": "jsonl", "batch_rows": 700}}}}"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn write(fx: &Fixture, query: &str) {
    let r = crate::support::execute(&fx.engine, "fnTestServer", query);
    assert!(
        r.status == 200 || r.status == 201,
        "{} {}",
        r.status,
        r.body
    );
}

/// Writes in `do` blocks of 250: ids 1..=3000 updated, 3001..=3200 deleted, 3201..=3250 deleted
/// and then created again (a deletion and a live version of one document in one window).
fn change_the_collection(fx: &Fixture) {
    let doc = |id: i64| format!(r#"{{"ref":{{"collection":"things"}},"id":"{id}"}}"#);
    let update = |id: i64| {
        format!(
            r#"{{"update":{},"params":{{"object":{{"data":{{"object":{{"n":{id},"v":2}}}}}}}}}}"#,
            doc(id)
        )
    };
    let delete = |id: i64| format!(r#"{{"delete":{}}}"#, doc(id));
    let create = |id: i64| {
        format!(
            r#"{{"create":{},"params":{{"object":{{"data":{{"object":{{"n":{id},"v":3}}}}}}}}}}"#,
            doc(id)
        )
    };
    let blocks = |ids: Vec<i64>, f: &dyn Fn(i64) -> String| {
        for chunk in ids.chunks(250) {
            let body: Vec<String> = chunk.iter().map(|&i| f(i)).collect();
            write(fx, &format!(r#"{{"do":[{}]}}"#, body.join(",")));
        }
    };
    blocks((1..=1500).collect(), &update);
    blocks((3001..=3200).collect(), &delete);
    blocks((3201..=3250).collect(), &delete);
    blocks((1501..=3000).collect(), &update);
    blocks((3201..=3250).collect(), &create);
}

/// (ref, ts, deleted?) of the records committed after the first `skip` files.
fn window_records(out: &Path, skip: usize) -> Vec<(i64, i64, bool)> {
    let mut v = Vec::new();
    for f in read_manifest(out).unwrap().into_iter().skip(skip) {
        for line in std::fs::read_to_string(out.join(&f.path)).unwrap().lines() {
            let r: serde_json::Value = serde_json::from_str(line).unwrap();
            v.push((
                r["ref"].as_str().unwrap().parse().unwrap(),
                r["ts"].as_i64().unwrap(),
                !r["deleted_at"].is_null(),
            ));
        }
    }
    v
}

/// Every document's records are in ts order (applying them in order gives its last state).
fn assert_ts_order_per_document(records: &[(i64, i64, bool)]) {
    let mut last: BTreeMap<i64, i64> = BTreeMap::new();
    for &(id, ts, _) in records {
        if let Some(&before) = last.get(&id) {
            assert!(before <= ts, "document {id}: ts {ts} after {before}");
        }
        last.insert(id, ts);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_window_holds_exactly_the_sequential_records_each_document_in_ts_order() {
    use fauna_sync::run::{run, Mode};
    let fx = Fixture::start(WINDOW_SCHEMA, &[("things", numbered_docs(DOCS))]).await;
    let url = fx.server.url();
    let (one, four) = (fx.out("one"), fx.out("four"));
    let s1 = load_settings(&sync_config(fx.dir.path(), "one", 1), &url, &one);
    let s4 = load_settings(&sync_config(fx.dir.path(), "four", 4), &url, &four);
    let sync = |s| run(s, &Quiet, Mode::Sync { max_duration: None });
    sync(&s1).await.unwrap();
    sync(&s4).await.unwrap();
    let (f1, f4) = (
        read_manifest(&one).unwrap().len(),
        read_manifest(&four).unwrap().len(),
    );
    change_the_collection(&fx);
    let r1 = sync(&s1).await.unwrap();
    let r4 = sync(&s4).await.unwrap();
    assert_eq!((r1.docs, r4.docs), (3300, 3300));
    assert_eq!((r4.streams[0].deleted, r4.streams[0].changed), (250, 3050));
    let (w1, w4) = (window_records(&one, f1), window_records(&four, f4));
    // The sequential window merges by ts; the partitioned one reads the deletions first.
    let mut by_ts = w1.clone();
    by_ts.sort_by_key(|&(id, ts, deleted)| (ts, !deleted, id));
    assert_eq!(w1, by_ts);
    let first_change = w4.iter().position(|r| !r.2).unwrap();
    assert_eq!(first_change, 250, "the 250 deletions come first");
    assert!(w4[first_change..].iter().all(|r| !r.2));
    assert_ts_order_per_document(&w4);
    // The very same records, each once.
    let (mut a, mut b) = (w1.clone(), w4.clone());
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b);
    assert_eq!(b.len(), 3300);
    // Both outputs hold the same ids.
    let ids = |out: &Path| crate::support::id_set_of(&out.join("_state.json"), "things");
    assert_eq!(ids(&four), ids(&one));
    assert_eq!(ids(&four).len(), (DOCS - 200) as usize);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_with_window_ranges_in_flight_resumes_with_every_version_once() {
    use fauna_sync::run::{run, Mode};
    let fx = Fixture::start(WINDOW_SCHEMA, &[("things", numbered_docs(DOCS))]).await;
    let url = fx.server.url();
    let (clean, killed) = (fx.out("clean"), fx.out("killed"));
    let cfg = sync_config(fx.dir.path(), "four", 4);
    let sync = |out: &Path| {
        let s = load_settings(&cfg, &url, out);
        async move { run(&s, &Quiet, Mode::Sync { max_duration: None }).await }
    };
    sync(&clean).await.unwrap();
    sync(&killed).await.unwrap();
    let (fc, fk) = (
        read_manifest(&clean).unwrap().len(),
        read_manifest(&killed).unwrap().len(),
    );
    change_the_collection(&fx);
    sync(&clean).await.unwrap();
    let mut in_flight = 0;
    for crash in [
        "after-page:2",
        "after-batch-rename:1",
        "mid-batch:2",
        "after-page:4",
        "state-write:2",
        "after-batch-rename:2",
    ] {
        let r = tokio::task::block_in_place(|| {
            std::process::Command::new(env!("CARGO_BIN_EXE_fauna-sync"))
                .args(["sync", "--endpoint", &url, "--config"])
                .arg(&cfg)
                .arg("--out")
                .arg(&killed)
                .env("FAUNA_SECRET", "fnTestServer")
                .env("FAUNA_SYNC_TEST_CRASH_AT", crash)
                .output()
                .unwrap()
        });
        assert!(!r.status.success(), "{crash}: expected a crash");
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(killed.join("_state.json")).unwrap()).unwrap();
        if state["streams"]["things"]["position"]["at"] == "window_parts" {
            in_flight += 1;
        }
    }
    assert!(
        in_flight >= 3,
        "kills inside the partitioned window: {in_flight}"
    );
    sync(&killed).await.unwrap();
    let (mut a, mut b) = (window_records(&clean, fc), window_records(&killed, fk));
    assert_ts_order_per_document(&b);
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(b, a, "every version once, as in the uninterrupted sync");
    let ids = |out: &Path| crate::support::id_set_of(&out.join("_state.json"), "things");
    assert_eq!(ids(&killed), ids(&clean));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_ids_far_below_generated_ones_split_where_documents_are() {
    // Ids 1..=300 chosen by hand, then 2,700 ids as Fauna generates them (~10^17): evenly
    // spaced guesses all land on the first generated id, so there are two ranges, each split
    // point a real document, and every document is read once.
    let mut docs = String::new();
    let ids: Vec<i64> = (1..=300)
        .chain((1..=2700).map(|i| 100_000_000_000_000_000 + i))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        docs.push_str(&format!(
            "{{\"id\":\"{id}\",\"ts\":{},\"data\":{{\"n\":{i}}}}}\n",
            1_658_188_683_000_000_i64 + i as i64
        ));
    }
    let fx = Fixture::start(SCHEMA, &[("things", docs)]).await;
    let out = fx.out("custom");
    let cfg = config_paged(fx.dir.path(), "four", 4, true);
    let summary = run_export(&load_settings(&cfg, &fx.server.url(), &out), &Quiet)
        .await
        .unwrap();
    assert_eq!(summary.docs, 3000);
    // Range 0 (the 300) fits in one turn; range 1 then has every turn: id order.
    assert_eq!(committed(&out), ids);
    // Two ranges of 3 and 27 pages (range 0's last page ends exactly at range 1's first
    // document): the sequential export's 30 pages plus the two split-point probes.
    let one = fx.out("one");
    let cfg = config_paged(fx.dir.path(), "one", 1, true);
    let sequential = run_export(&load_settings(&cfg, &fx.server.url(), &one), &Quiet)
        .await
        .unwrap();
    assert_eq!(committed(&one), ids);
    assert_eq!(summary.queries, sequential.queries + 2);
}
