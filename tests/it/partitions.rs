//! Partitioned exports (`concurrency` above 1): exactly the records of the sequential export,
//! in turns of `CHUNK_ITEMS` per range, the same bytes however the run is timed or killed.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use fauna_dev::engine::EngineOptions;
use fauna_dev::server::ServerConfig;
use fauna_sync::sink::read_manifest;
use fauna_sync::sync::{run_export, Quiet, CHUNK_ITEMS};

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
    let path = dir.join(format!("{name}.json"));
    let text = format!(
        r#"{{"concurrency": {concurrency}, "collections": [{{"name": "things", "page_size": 100}}],
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
