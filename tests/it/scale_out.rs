//! Issue 26: scale-out — `plan` for 4 shards over collections with generated ids, custom ids
//! (low ones beside 18-digit ones) and `history_days` 0; the 4 shards started at once as
//! separate processes while a writer runs, two of them crashed mid-batch and restarted by
//! index (`JOB_COMPLETION_INDEX`); `finalize`; the joined output must hold exactly the
//! documents at the plan's snapshot, each once, pass `verify`, and `sync` must continue it from
//! the snapshot with the writes made meanwhile. And `finalize` refusing a missing shard, a
//! shard of another plan, a damaged shard file and an expired snapshot, joining and deleting
//! nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fauna_dev::engine::EngineOptions;
use fauna_dev::server::ServerConfig;
use fauna_sync::sink::read_manifest;

use crate::support::{collection_now, execute, query, Fixture};

const SCHEMA: &str = r#"{
  "collections": [{"name": "gen", "history_days": null}, {"name": "custom", "history_days": null},
                  {"name": "short", "history_days": 0}],
  "indexes": [
    {"name": "gen_by_ts", "source": "gen", "values": [{"field": "ts"}, {"field": "ref"}]},
    {"name": "custom_by_ts", "source": "custom", "values": [{"field": "ts"}, {"field": "ref"}]},
    {"name": "short_by_ts", "source": "short", "values": [{"field": "ts"}, {"field": "ref"}]}
  ],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

const CONFIG: &str = r#"{"concurrency": 2,
  "collections": [
    {"name": "gen", "page_size": 40, "page_size_fixed": true,
     "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}},
    {"name": "custom", "page_size": 40, "page_size_fixed": true},
    {"name": "short", "page_size": 40, "page_size_fixed": true}],
  "output": {"format": "jsonl", "batch_rows": 97}}"#;

/// Dataset lines: `ids` with `{"n": i}`, one µs apart.
fn docs(ids: impl IntoIterator<Item = u64>) -> String {
    ids.into_iter()
        .enumerate()
        .map(|(i, id)| {
            format!(
                r#"{{"id":"{id}","ts":{},"data":{{"n":{i}}}}}"#,
                1_658_188_683_000_000 + i as i64
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

async fn fixture() -> Fixture {
    let generated = (0..1500u64).map(|i| 380_000_000_000_000_000 + i * 7_919_000_000);
    let custom = (1..=300u64).chain((0..100).map(|i| 390_000_000_000_000_000 + i));
    Fixture::start_with(
        SCHEMA,
        &[
            ("gen", docs(generated)),
            ("custom", docs(custom)),
            ("short", docs(1..=700)),
        ],
        EngineOptions {
            mvt_offset: Duration::from_secs(600),
            ..EngineOptions::default()
        },
        ServerConfig::new(),
    )
    .await
}

fn cmd(fx: &Fixture, args: &[&str], out: &Path) -> Command {
    // Options go before the command's own arguments, which may end with a value.
    let config = fx.dir.path().join("config.json");
    if !config.exists() {
        std::fs::write(&config, CONFIG).unwrap();
    }
    let mut c = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    c.arg(args[0])
        .arg("--endpoint")
        .arg(fx.server.url())
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(out)
        .args(&args[1..])
        .env("FAUNA_SECRET", "fnTestServer")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
        .env_remove("FAUNA_SYNC_TEST_PAUSE_AT")
        .env_remove("JOB_COMPLETION_INDEX")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn run(mut c: Command) -> Output {
    tokio::task::block_in_place(move || c.output().unwrap())
}

fn ok(o: Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    err
}

fn failed(o: Output) -> (Option<i32>, String) {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "expected a failure: {err}");
    (o.status.code(), err)
}

fn wait(child: Child) -> Output {
    tokio::task::block_in_place(move || child.wait_with_output().unwrap())
}

/// The plan's snapshot.
fn snapshot_of(plan: &Path) -> i64 {
    let plan: serde_json::Value = serde_json::from_slice(&std::fs::read(plan).unwrap()).unwrap();
    plan["snapshot_ts"].as_i64().unwrap()
}

/// The documents of `collection` at `ts`: id → (ts, data).
fn collection_at(
    fx: &Fixture,
    collection: &str,
    ts: i64,
) -> BTreeMap<String, (i64, serde_json::Value)> {
    let (status, body) = query(
        &fx.engine,
        "fnTestServer",
        &format!(
            r#"{{"at":{{"@ts":"{}"}},"expr":{{"map":{{"lambda":"x","expr":{{"get":{{"var":"x"}}}}}},"collection":{{"paginate":{{"documents":{{"collection":"{collection}"}}}},"size":100000}}}}}}"#,
            fauna_sync::fauna::Timestamp::from_micros(ts)
        ),
    );
    assert_eq!(status, 200, "{body}");
    body["resource"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["ref"]["@ref"]["id"].as_str().unwrap().to_string(),
                (d["ts"].as_i64().unwrap(), d["data"].clone()),
            )
        })
        .collect()
}

/// Every record of `stream` in the output, in manifest order: (id, ts, data, deleted).
fn records(out: &Path, stream: &str) -> Vec<(String, i64, serde_json::Value, bool)> {
    let mut all = Vec::new();
    for f in read_manifest(out)
        .unwrap()
        .into_iter()
        .filter(|f| f.stream == stream)
    {
        for line in std::fs::read_to_string(out.join(&f.path)).unwrap().lines() {
            let r: serde_json::Value = serde_json::from_str(line).unwrap();
            all.push((
                r["ref"].as_str().unwrap().to_string(),
                r["ts"].as_i64().unwrap(),
                r["data"].clone(),
                r.get("deleted_at").is_some_and(|d| !d.is_null()),
            ));
        }
    }
    all
}

/// A writer of updates, creations and (in `gen`, whose deletions are tracked) deletions,
/// running until stopped.
struct Writer {
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl Writer {
    fn start(fx: &Fixture) -> Writer {
        let engine = fx.engine.clone();
        let (stop, written) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
        );
        let (s, w) = (stop.clone(), written.clone());
        let thread = std::thread::spawn(move || {
            let mut round = 0u64;
            let gen = |i: u64| 380_000_000_000_000_000 + (i % 1500) * 7_919_000_000;
            while !s.load(Ordering::SeqCst) {
                round += 1;
                // Updates of dataset documents whose index is not a multiple of 3, deletions
                // of those whose index is (each once), creations of new ids, and every other
                // round the deletion of the document created the round before.
                let mut ops = vec![
                    format!(
                        r#"{{"update":{{"ref":{{"collection":"gen"}},"id":"{}"}},"params":{{"object":{{"data":{{"object":{{"w":{round}}}}}}}}}}}"#,
                        gen(3 * round + 1)
                    ),
                    format!(
                        r#"{{"update":{{"ref":{{"collection":"custom"}},"id":"{}"}},"params":{{"object":{{"data":{{"object":{{"w":{round}}}}}}}}}}}"#,
                        round % 300 + 1
                    ),
                    format!(
                        r#"{{"create":{{"ref":{{"collection":"short"}},"id":"{}"}},"params":{{"object":{{"data":{{"object":{{"w":{round}}}}}}}}}}}"#,
                        100_000 + round
                    ),
                    format!(
                        r#"{{"create":{{"ref":{{"collection":"gen"}},"id":"{}"}},"params":{{"object":{{"data":{{"object":{{"w":{round}}}}}}}}}}}"#,
                        500_000_000_000_000_000 + round
                    ),
                ];
                if round < 500 {
                    ops.push(format!(
                        r#"{{"delete":{{"ref":{{"collection":"gen"}},"id":"{}"}}}}"#,
                        gen(3 * round)
                    ));
                }
                if round.is_multiple_of(2) {
                    ops.push(format!(
                        r#"{{"delete":{{"ref":{{"collection":"gen"}},"id":"{}"}}}}"#,
                        500_000_000_000_000_000 + round - 1
                    ));
                }
                let r = execute(
                    &engine,
                    "fnTestServer",
                    &format!(r#"{{"do":[{}]}}"#, ops.join(",")),
                );
                assert!(r.status == 200 || r.status == 201, "{}", r.body);
                w.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Writer {
            stop,
            written,
            thread,
        }
    }

    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap();
        self.written.load(Ordering::SeqCst)
    }
}

const COLLECTIONS: [&str; 3] = ["gen", "custom", "short"];

fn root_files(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_shards_two_crashed_and_restarted_join_into_the_export_at_the_snapshot() {
    let fx = fixture().await;
    let out = fx.out("out");
    let err = ok(run(cmd(
        &fx,
        &["plan", "--shards", "4", "--ranges-per-shard", "3"],
        &out,
    )));
    assert!(err.contains("over 4 shard(s)"), "{err}");
    let plan = out.join("_plan.json");
    let t = snapshot_of(&plan);
    let at_t: BTreeMap<&str, _> = COLLECTIONS
        .iter()
        .map(|c| (*c, collection_at(&fx, c, t)))
        .collect();
    // Custom low ids got ranges of their own: some range of `custom` ends below id 300.
    let planned: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&plan).unwrap()).unwrap();
    let custom = planned["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "custom")
        .unwrap();
    assert!(
        custom["ranges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["until"].as_str().is_some_and(|u| u.len() <= 3)),
        "{custom}"
    );

    let writer = Writer::start(&fx);
    let shards: Vec<Child> = (1..=4u32)
        .map(|i| {
            let mut c = cmd(&fx, &["export", "--plan"], &out);
            c.arg(&plan).arg("--shard").arg(format!("{i}/4"));
            if i.is_multiple_of(2) {
                c.env("FAUNA_SYNC_TEST_CRASH_AT", "mid-batch:2");
            }
            c.spawn().unwrap()
        })
        .collect();
    for (i, child) in (1..=4u32).zip(shards) {
        let o = wait(child);
        if i.is_multiple_of(2) {
            let (code, _) = failed(o);
            assert_eq!(code, None, "shard {i} was killed");
        } else {
            ok(o);
        }
    }
    // Two shards unfinished: finalize names them and joins nothing.
    let (code, err) = failed(run(cmd(&fx, &["finalize"], &out)));
    assert_ne!(code, Some(0));
    assert!(
        err.contains("shard 2/4") && err.contains("shard 4/4") && err.contains("unfinished"),
        "{err}"
    );
    assert!(
        !err.contains("shard 1/4") && !err.contains("shard 3/4"),
        "{err}"
    );
    assert_eq!(root_files(&out), ["_plan.json", "_shards.d"]);

    // Restarted by index, as a Kubernetes Indexed Job does (0-based).
    for index in ["1", "3"] {
        let mut c = cmd(&fx, &["export", "--plan"], &out);
        c.arg(&plan).env("JOB_COMPLETION_INDEX", index);
        ok(run(c));
    }
    let err = ok(run(cmd(&fx, &["finalize"], &out)));
    assert!(err.contains("finalized plan"), "{err}");
    ok(run({
        let mut c = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
        c.arg("verify").arg("--out").arg(&out);
        c
    }));
    // Exactly the documents at T, each once.
    for c in COLLECTIONS {
        let got = records(&out, c);
        let mut seen = BTreeMap::new();
        for (id, ts, data, deleted) in got {
            assert!(!deleted, "{c}: a deletion record in a full export");
            assert!(
                seen.insert(id.clone(), (ts, data)).is_none(),
                "{c}: {id} twice"
            );
        }
        assert_eq!(
            &seen, &at_t[c],
            "{c}: the joined output is not the collection at T"
        );
    }
    // finalize again: nothing more to do.
    let err = ok(run(cmd(&fx, &["finalize"], &out)));
    assert!(err.contains("already finalized"), "{err}");

    // The next sync continues from T: with the writes made meanwhile, the copy (latest per
    // id, deletions applied) equals each collection now.
    assert!(writer.stop() > 0);
    let err = ok(run(cmd(&fx, &["sync"], &out)));
    assert!(
        !err.contains("exported"),
        "a sync after finalize must not export again: {err}"
    );
    for c in COLLECTIONS {
        let mut copy: BTreeMap<String, (i64, serde_json::Value)> = BTreeMap::new();
        for (id, ts, data, deleted) in records(&out, c) {
            if deleted {
                copy.remove(&id);
            } else {
                copy.insert(id, (ts, data));
            }
        }
        assert_eq!(copy, collection_now(&fx, c), "{c} after the sync");
    }
}

fn plan_into(fx: &Fixture, out: &Path, plan: &Path, shards: &str) {
    let mut c = cmd(fx, &["plan", "--shards", shards, "--plan"], out);
    c.arg(plan);
    ok(run(c));
}

fn shard(fx: &Fixture, out: &Path, plan: &Path, shard: &str) -> Output {
    let mut c = cmd(fx, &["export", "--plan"], out);
    c.arg(plan).arg("--shard").arg(shard);
    run(c)
}

fn finalize_fails(fx: &Fixture, out: &Path, plan: &Path, expect: &[&str]) {
    let before = crate::support::files_below(out);
    let mut c = cmd(fx, &["finalize", "--plan"], out);
    c.arg(plan);
    let (code, err) = failed(run(c));
    assert!(code.is_some_and(|c| c != 0), "{err}");
    for e in expect {
        assert!(err.contains(e), "expected {e:?} in: {err}");
    }
    assert!(
        !out.join("_manifest.jsonl").exists() && !out.join("_state.json").exists(),
        "joined: {err}"
    );
    assert_eq!(
        crate::support::files_below(out),
        before,
        "finalize changed files: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalize_refuses_missing_foreign_damaged_and_expired_shards() {
    let fx = fixture().await;
    let out = fx.out("out");
    let (plan_a, plan_b) = (fx.dir.path().join("a.json"), fx.dir.path().join("b.json"));
    plan_into(&fx, &out, &plan_a, "2");
    ok(shard(&fx, &out, &plan_a, "1/2"));
    // A missing shard.
    finalize_fails(&fx, &out, &plan_a, &["shard 2/2", "missing"]);
    // The wrong numbering is refused before anything is read.
    let (code, err) = failed(shard(&fx, &out, &plan_a, "3/2"));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--shard '3/2' is not i/n with 1 <= i <= n"),
        "{err}"
    );
    // A shard of another plan: running it into this output is refused, and so is finalizing
    // plan B over plan A's shard.
    plan_into(&fx, &out, &plan_b, "2");
    let (code, err) = failed(shard(&fx, &out, &plan_b, "1/2"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("holds shard 1/2 of plan"), "{err}");
    finalize_fails(
        &fx,
        &out,
        &plan_b,
        &["shard 1/2", "from another plan", "shard 2/2", "missing"],
    );
    // Settings that differ from the plan's.
    let mut c = cmd(&fx, &["export", "--format", "parquet", "--plan"], &out);
    c.arg(&plan_a).arg("--shard").arg("2/2");
    let (code, err) = failed(run(c));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("the settings differ from the plan's (format"),
        "{err}"
    );
    // A damaged shard file.
    ok(shard(&fx, &out, &plan_a, "2/2"));
    let shard2: PathBuf = out.join("_shards.d").join("2");
    let victim = read_manifest(&shard2).unwrap().remove(0);
    let path = shard2.join(&victim.path);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    finalize_fails(&fx, &out, &plan_a, &["shard 2/2", "damaged", &victim.path]);
    bytes[0] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    // An expired snapshot: past `short`'s history window.
    fx.engine.advance_clock(Duration::from_secs(3600));
    finalize_fails(
        &fx,
        &out,
        &plan_a,
        &["past the history window of collection 'short'"],
    );
}

/// Every record of `stream` in the output held in `objects` (relative key → bytes).
fn records_in(
    objects: &BTreeMap<String, Vec<u8>>,
    stream: &str,
) -> Vec<(String, i64, serde_json::Value, bool)> {
    let manifest = String::from_utf8(objects["_manifest.jsonl"].clone()).unwrap();
    let mut all = Vec::new();
    for line in manifest.lines() {
        let f: serde_json::Value = serde_json::from_str(line).unwrap();
        if f["stream"] != stream {
            continue;
        }
        let file = f["file"].as_str().unwrap();
        for line in std::str::from_utf8(&objects[file]).unwrap().lines() {
            let r: serde_json::Value = serde_json::from_str(line).unwrap();
            all.push((
                r["ref"].as_str().unwrap().to_string(),
                r["ts"].as_i64().unwrap(),
                r["data"].clone(),
                r.get("deleted_at").is_some_and(|d| !d.is_null()),
            ));
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_to_s3_one_crashed_join_into_the_export_at_the_snapshot() {
    let Some(moto) = crate::object_store::Moto::start() else {
        return;
    };
    moto.bucket("scale");
    let fx = fixture().await;
    let config = fx.dir.path().join("config.json");
    std::fs::write(&config, CONFIG).unwrap();
    let url = fx.server.url();
    let out = "s3://scale/out";
    let cmd = |args: &[&str]| {
        let mut c = moto.command(&[args[0]]);
        c.args(["--endpoint", &url, "--config"])
            .arg(&config)
            .args(["--out", out])
            .args(&args[1..])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    };
    ok(run(cmd(&["plan", "--shards", "3"])));
    let store = moto.store("scale");
    let plan = crate::object_store::objects(store.as_ref(), "out").await;
    let plan: serde_json::Value = serde_json::from_slice(&plan["_plan.json"]).unwrap();
    let t = plan["snapshot_ts"].as_i64().unwrap();
    let at_t: BTreeMap<&str, _> = COLLECTIONS
        .iter()
        .map(|c| (*c, collection_at(&fx, c, t)))
        .collect();
    let writer = Writer::start(&fx);
    let shards: Vec<Child> = (1..=3u32)
        .map(|i| {
            let mut c = cmd(&[
                "export",
                "--shard",
                &format!("{i}/3"),
                "--plan",
                "s3://scale/out/_plan.json",
            ]);
            if i == 2 {
                c.env("FAUNA_SYNC_TEST_CRASH_AT", "mid-batch:3");
            }
            c.spawn().unwrap()
        })
        .collect();
    for (i, child) in (1..=3u32).zip(shards) {
        let o = wait(child);
        if i == 2 {
            assert_eq!(failed(o).0, None, "shard 2 was killed");
        } else {
            ok(o);
        }
    }
    let (_, err) = failed(run(cmd(&["finalize"])));
    assert!(
        err.contains("shard 2/3") && err.contains("unfinished"),
        "{err}"
    );
    let keys = crate::object_store::objects(store.as_ref(), "out").await;
    assert!(
        !keys.contains_key("_manifest.jsonl") && !keys.contains_key("_state.json"),
        "joined"
    );
    let mut again = cmd(&["export", "--plan", "s3://scale/out/_plan.json"]);
    again.env("JOB_COMPLETION_INDEX", "1");
    ok(run(again));
    let err = ok(run(cmd(&["finalize"])));
    assert!(err.contains("finalized plan"), "{err}");
    let mut verify = moto.command(&["verify", "--out", out]);
    verify.stdout(Stdio::piped()).stderr(Stdio::piped());
    ok(run(verify));
    let objects = crate::object_store::objects(store.as_ref(), "out").await;
    for c in COLLECTIONS {
        let mut seen = BTreeMap::new();
        for (id, ts, data, deleted) in records_in(&objects, c) {
            assert!(!deleted);
            assert!(
                seen.insert(id.clone(), (ts, data)).is_none(),
                "{c}: {id} twice"
            );
        }
        assert_eq!(
            &seen, &at_t[c],
            "{c}: the joined output is not the collection at T"
        );
    }
    assert!(writer.stop() > 0);
    ok(run(cmd(&["sync"])));
    let objects = crate::object_store::objects(store.as_ref(), "out").await;
    for c in COLLECTIONS {
        let mut copy = BTreeMap::new();
        for (id, ts, data, deleted) in records_in(&objects, c) {
            if deleted {
                copy.remove(&id);
            } else {
                copy.insert(id, (ts, data));
            }
        }
        assert_eq!(copy, collection_now(&fx, c), "{c} after the sync");
    }
}
